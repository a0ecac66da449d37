"""Base class of the plugin's algorithms: core's callables wired to QgsProcessingFeedback, core's
errors turned into QgsProcessingException (a message in the log, never a traceback).

An algorithm implements ``check`` (the parameters' validation with the same core functions and
sentences as the command line, run by ``checkParameterValues`` before any work: the dialog, ``processing.run``
and ``qgis_process`` all call it first) and ``execute`` (the work).
"""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException

from ..core.errors import TsstfnError

DOCS = "https://github.com/tsstfn-crop-mapper/tsstfn_crop_mapper/blob/main"
#: algorithm -> (group id, group name): the provider is "TSSTFN Crop Mapper", its groups name stages
GROUPS = {
    "runjob": ("workflow", "Whole workflow"),
    "region": ("workflow", "Whole workflow"),
    "train": ("fusion", "NDVI fusion"),
    "predict": ("fusion", "NDVI fusion"),
    "starfm": ("fusion", "NDVI fusion"),
    "benchmark": ("fusion", "NDVI fusion"),
    "align": ("inputs", "Input preparation"),
    "classify": ("mapping", "Crop mapping"),
    "exportpolygons": ("mapping", "Crop mapping"),
}
#: help of parameters that mean the same in every algorithm (an algorithm's PARAM_HELP overrides)
COMMON_HELP = {
    "JOB": "A job file (JSON or YAML) as the dialog's 'Save job…' or the command line write it (docs/data-model.md).",
    "OUTPUT_FOLDER": "Where the outputs go; a different earlier run there is moved to previous_runs/, never overwritten.",
    "MODEL": "A .tsstfn model file written by this plugin (its hash and metadata are checked before use).",
    "FORECAST": "individual: each target from the original base pairs (the paper's S_I); sequential: each prediction "
    "joins the base pairs (S_F).",
    "PRESET": "A consistent set of options: 'paper' is Zhan et al.'s configuration; '(the job file's)' keeps the file's.",
}


class TsstfnAlgorithm(QgsProcessingAlgorithm):
    ALG_NAME = ""
    DISPLAY = ""
    HELP = ""
    PARAM_HELP: dict[str, str] = {}
    FOLDER_KEY: str | None = None  # job algorithms: the parameter that overrides the job's output folder

    def name(self) -> str:
        return self.ALG_NAME

    def displayName(self) -> str:  # noqa: N802
        return self.DISPLAY

    def group(self) -> str:
        return GROUPS[self.ALG_NAME][1]

    def groupId(self) -> str:  # noqa: N802
        return GROUPS[self.ALG_NAME][0]

    def helpUrl(self) -> str:  # noqa: N802
        return f"{DOCS}/README.md#processing-and-qgis_process"

    def addParameter(self, parameter, createOutput=True):  # noqa: N802, N803
        """Every parameter carries its help (shown as a tooltip and in the help panel)."""
        text = self.PARAM_HELP.get(parameter.name()) or COMMON_HELP.get(parameter.name())
        if text:
            parameter.setHelp(text)
        return super().addParameter(parameter, createOutput)

    def shortHelpString(self) -> str:  # noqa: N802
        rows = "".join(f"<dt><b>{p.description()}</b></dt><dd>{p.help()}</dd>" for p in self.parameterDefinitions() if p.help())
        return f"{self.HELP}<h3>Parameters</h3><dl>{rows}</dl><p>User guide: {self.helpUrl()}</p>"

    def createInstance(self):  # noqa: N802
        return type(self)()

    @staticmethod
    def callbacks(feedback):
        def progress(fraction: float, message: str = "") -> None:
            feedback.setProgress(100.0 * fraction)
            if message:
                feedback.setProgressText(message)

        return progress, feedback.isCanceled

    def check(self, parameters, context) -> None:
        """Validate the parameters (raise the core's TsstfnError); the default checks nothing."""

    def execute(self, parameters, context, feedback) -> dict:
        raise NotImplementedError

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS's own checks, then ``check``: the dialog shows a failure before the run starts, in one sentence."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        try:
            self.check(parameters, context)
        except TsstfnError as exc:
            return False, str(exc)
        return True, ""

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        try:
            return self.execute(parameters, context, feedback)
        except TsstfnError as exc:
            raise QgsProcessingException(str(exc)) from None
