"""Base class of the plugin's algorithms: core's callables wired to QgsProcessingFeedback, core's
errors turned into QgsProcessingException (a message in the log, never a traceback)."""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException

from ..core.errors import TsstfnError


class TsstfnAlgorithm(QgsProcessingAlgorithm):
    ALG_NAME = ""
    DISPLAY = ""
    HELP = ""

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

    @staticmethod
    def call_core(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TsstfnError as exc:
            raise QgsProcessingException(str(exc)) from None
