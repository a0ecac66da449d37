"""ENVI files and the benchmark sets that come as them (often without CRS: pixel-aligned by assumption).

An ENVI raster is a data file (no extension, or ``.dat``, ``.img``, ``.bsq``, ``.bil``, ``.bip``,
``.raw``) with a text header ``.hdr`` beside it, as fusion benchmark sets ship (ESTARFM's
``tm0812`` + ``tm0812.hdr``). GDAL reads the data file as it is; the header given instead is
resolved to its data file. Such sets often carry no CRS, or ``map info = {Arbitrary, ...}`` (a
local CRS, which counts as none: :func:`..grid.has_real_crs`); the job then says ``assume_aligned``.

Dates: the header's ``acquisition time``, else its ``band names`` (GDAL's band descriptions, e.g.
``Resize (Band 1:TM05-24-01)``, read by every reader's ``text_dates``: the generic reader's
``MM-DD-YY``). A header with ``wavelength`` has spectral bands: its band names are not dates.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...errors import InputError
from ..ndvi import NdviSource
from .base import Reader

_DATA_SUFFIXES = ("", ".dat", ".img", ".bsq", ".bil", ".bip", ".raw")


def _header_of(file: Path) -> Path | None:
    """The ``.hdr`` beside a data file (``x.hdr`` or ``x.dat.hdr``), else None."""
    for header in (file.with_suffix(".hdr"), file.with_name(f"{file.name}.hdr")):
        if header.is_file():
            return header
    return None


def matches(path: str) -> bool:
    """A ``.hdr`` header, or a data file with one beside it."""
    file = Path(path)
    if not file.name or path.startswith("/vsi") or ":" in file.name:
        return False
    try:
        return file.suffix.lower() == ".hdr" or _header_of(file) is not None
    except (OSError, ValueError):  # a name the file system refuses: no ENVI file
        return False


def resolve(source: NdviSource) -> NdviSource:
    """A header becomes its data file; a data file stays as it is.

    Raises:
        InputError: a header without a data file beside it.
    """
    header = Path(source.path)
    if header.suffix.lower() != ".hdr":
        return source
    stem = header.with_suffix("")
    for suffix in _DATA_SUFFIXES:
        data = stem.with_name(stem.name + suffix)
        if data.is_file():
            return replace(source, path=str(data), name=source.name or header.name)
    raise InputError(
        f"'{source.label}' is an ENVI header without its data file: none of {stem.name}, "
        f"{', '.join(stem.name + s for s in _DATA_SUFFIXES if s)} is beside it."
    )


READER = Reader(
    "envi",
    "ENVI files (data + .hdr), as fusion benchmark sets ship them, often without CRS: read as they are.",
    matches,
    resolve,
    products=("ndvi", "red_nir"),
    priority=40,
    metadata_keys=("ACQUISITION_TIME",),
)
