"""Base class of the plugin's algorithms: core's callables wired to QgsProcessingFeedback, core's
errors turned into QgsProcessingException (a message in the log, never a traceback).

An algorithm implements ``check`` (the parameters' validation with the same core functions and
sentences as the command line, run by ``checkParameterValues`` before any work: the dialog, ``processing.run``
and ``qgis_process`` all call it first) and ``execute`` (the work).
"""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException

from ..core.errors import TsstfnError


class TsstfnAlgorithm(QgsProcessingAlgorithm):
    ALG_NAME = ""
    DISPLAY = ""
    HELP = ""
    FOLDER_KEY: str | None = None  # job algorithms: the parameter that overrides the job's output folder

    def name(self) -> str:
        return self.ALG_NAME

    def displayName(self) -> str:  # noqa: N802
        return self.DISPLAY

    def group(self) -> str:
        return "TSSTFN Crop Mapper"

    def groupId(self) -> str:  # noqa: N802
        return "tsstfn"

    def shortHelpString(self) -> str:  # noqa: N802
        return self.HELP

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
