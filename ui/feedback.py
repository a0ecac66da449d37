"""Showing core's messages to the analyst: message bar and log, never a traceback."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog

LOG_TAG = "TSSTFN Crop Mapper"


def log(message: str, level=Qgis.Info) -> None:
    QgsMessageLog.logMessage(message, LOG_TAG, level)
