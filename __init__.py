"""TSSTFN Crop Mapper: a QGIS plugin for crop-type mapping with MODIS/Sentinel-2 NDVI fusion.

QGIS imports this package and calls :func:`classFactory`. Nothing heavy is imported here: the
``core`` subpackage is numpy + GDAL + (lazily) torch and scikit-learn, usable without QGIS.
"""

import os
import signal
import sys


def _stopped_while_starting(signum: int, frame: object) -> None:
    """Ctrl+C before the command line has its own handler: one line, no traceback (nothing is written yet)."""
    sys.stderr.write("stopped; nothing half-written was left\n")
    os._exit(128 + signum)


if sys.argv[:1] == ["-m"]:  # ``python -m tsstfn_crop_mapper``: runpy imports the package before __main__ runs
    signal.signal(signal.SIGINT, _stopped_while_starting)  # core/cli.py's main replaces it first thing

from .core.version import __version__  # noqa: E402

__all__ = ["__version__", "classFactory"]


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Entry point QGIS calls with its ``QgisInterface``."""
    from .plugin import TsstfnCropMapperPlugin

    return TsstfnCropMapperPlugin(iface)
