"""Core of TSSTFN Crop Mapper: numpy + GDAL + torch + scikit-learn, never QGIS.

Every entry point (the QGIS dialog, the Processing algorithms, the command line) calls the
functions in this package. Heavy libraries (torch, scikit-learn) are imported lazily inside
the functions that need them, so importing ``core`` stays fast.
"""
