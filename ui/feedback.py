"""Showing core's messages to the analyst: message bar and log, never a traceback."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog
from qgis.PyQt.QtWidgets import QMessageBox

from ..core.deps import dependency_message, find_problems

LOG_TAG = "TSSTFN Crop Mapper"


def log(message: str, level=Qgis.Info) -> None:
    QgsMessageLog.logMessage(message, LOG_TAG, level)


def report_missing_dependencies(iface, ask=QMessageBox.critical) -> bool:
    """Return True when every dependency imports; otherwise show the install command and return False."""
    problems = find_problems()
    if not problems:
        return True
    message = dependency_message(problems)
    log(message, Qgis.Critical)
    ask(iface.mainWindow() if iface is not None else None, "TSSTFN Crop Mapper: missing packages", message)
    return False
