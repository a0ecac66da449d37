"""TSSTFN Crop Mapper: a QGIS plugin for crop-type mapping with MODIS/Sentinel-2 NDVI fusion.

QGIS imports this package and calls :func:`classFactory`. Nothing heavy is imported here: the
``core`` subpackage is numpy + GDAL + (lazily) torch and scikit-learn, usable without QGIS.
"""

from .core.version import __version__

__all__ = ["__version__", "classFactory"]


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Entry point QGIS calls with its ``QgisInterface``."""
    from .plugin import TsstfnCropMapperPlugin

    return TsstfnCropMapperPlugin(iface)
