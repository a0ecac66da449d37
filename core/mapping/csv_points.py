"""Samples as a CSV table with coordinates (``id, longitude, latitude, label``): read as points by OGR.

A CSV carries no CRS. Columns named like longitude/latitude (``longitude``, ``lon``, ``lng``,
``x``; ``latitude``, ``lat``, ``y``) are the point's coordinates; when every value lies within
[-180, 180] x [-90, 90] they are taken as WGS 84 degrees (the convention of sits, GBIF and field
GPS exports). Projected coordinates in a CSV cannot say their CRS: load such a table in QGIS,
assign the CRS and save it as a GeoPackage.
"""

from __future__ import annotations

from osgeo import gdal, ogr, osr

X_NAMES = ("longitude", "lon", "long", "lng", "x")
Y_NAMES = ("latitude", "lat", "y")


def is_csv(path: str) -> bool:
    """True for a ``.csv`` (or ``.txt``/``.tsv``) table."""
    return str(path).lower().endswith((".csv", ".tsv", ".txt"))


def open_csv_points(path: str) -> gdal.Dataset | None:
    """The CSV as a vector dataset whose features are points from its coordinate columns (None: unreadable)."""
    options = [
        f"X_POSSIBLE_NAMES={','.join(X_NAMES)}",
        f"Y_POSSIBLE_NAMES={','.join(Y_NAMES)}",
        "KEEP_GEOM_COLUMNS=NO",
        "AUTODETECT_TYPE=YES",
    ]
    try:
        return gdal.OpenEx(str(path), gdal.OF_VECTOR, allowed_drivers=["CSV"], open_options=options)
    except RuntimeError:
        return None


def csv_srs(layer: ogr.Layer) -> osr.SpatialReference | None:
    """WGS 84 when the layer's points all lie within longitude/latitude bounds; None otherwise (no CRS known)."""
    xmin, xmax, ymin, ymax = layer.GetExtent()
    layer.ResetReading()
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        return None
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs
