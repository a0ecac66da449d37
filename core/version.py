"""The version of TSSTFN Crop Mapper; ``metadata.txt`` carries the same number for QGIS."""

__version__ = "0.1.0"
