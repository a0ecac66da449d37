"""The output formats of a crop map: one table read by job validation, export, the dialog and the layer loader.

Adding a format is one entry here (see ``docs/extending.md``): vector formats are written by GDAL's
polygonize through the OGR driver named here, raster formats by ``gdal.Translate`` from the run's
working GeoTIFF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .options import Registry


@dataclass(frozen=True)
class OutputFormat:
    """One way to write the crop map.

    Attributes:
        key: the name used in job files, settings and Processing (``gtiff``).
        label: what the dialog shows (``GeoTIFF``).
        kind: ``raster`` (the class raster) or ``vector`` (its polygons).
        driver: the GDAL (raster) or OGR (vector) driver that writes it.
        suffix: the end of the file name, extension included (``.tif``); unique among the formats.
        qgis_provider: the QGIS data provider that loads it (``gdal`` or ``ogr``).
        preference: the layer loader adds, of each kind, the written format with the lowest number.
        creation_options: GDAL creation options.
    """

    key: str
    label: str
    kind: str
    driver: str
    suffix: str
    qgis_provider: str
    preference: int = 10
    creation_options: tuple[str, ...] = ()


OUTPUT_FORMATS: Registry[OutputFormat] = Registry("format", lambda f: f.key, lambda f: f.suffix)

#: the format of the working crop map every run writes first (the other raster formats derive from it)
WORKING_RASTER = "gtiff"


def register_format(fmt: OutputFormat) -> OutputFormat:
    """Add ``fmt`` to :data:`OUTPUT_FORMATS` (its key and suffix must be new); returns it."""
    if fmt.kind not in ("raster", "vector"):
        raise ValueError(f"format kind must be 'raster' or 'vector', not {fmt.kind!r}")
    return OUTPUT_FORMATS.register(fmt)


def get_format(key: str, field: str = "formats") -> OutputFormat:
    """The format called ``key``; an :class:`~.errors.InputError` naming ``field`` lists the known ones."""
    return OUTPUT_FORMATS.lookup(key, f"Job field '{field}': ")


def format_for_path(path: str | Path, kind: str | None = None) -> OutputFormat:
    """The format whose suffix ends ``path`` (the longest match), optionally of one ``kind``."""
    name = Path(path).name.lower()
    matches = [f for f in OUTPUT_FORMATS.values() if name.endswith(f.suffix) and (kind is None or f.kind == kind)]
    if not matches:
        known = ", ".join(f.suffix for f in OUTPUT_FORMATS.values() if kind is None or f.kind == kind)
        raise InputError(f"Unsupported output '{Path(path).name}': use one of {known}.")
    return max(matches, key=lambda f: len(f.suffix))


def formats_of_kind(kind: str) -> list[OutputFormat]:
    """The registered formats of ``kind`` (``raster`` or ``vector``), most preferred first."""
    return sorted((f for f in OUTPUT_FORMATS.values() if f.kind == kind), key=lambda f: f.preference)


register_format(OutputFormat("gtiff", "GeoTIFF", "raster", "GTiff", ".tif", "gdal", 0, ("TILED=YES", "COMPRESS=DEFLATE")))
register_format(OutputFormat("shp", "Shapefile", "vector", "ESRI Shapefile", ".shp", "ogr", 5))
register_format(OutputFormat("gpkg", "GeoPackage", "vector", "GPKG", ".gpkg", "ogr", 0))
