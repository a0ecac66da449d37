"""Acquisition dates from file/layer names and GDAL metadata.

Names: each reader of :mod:`.readers` carries the date patterns of its family, and they are tried
in the registry's order (first plausible date wins):

* Sentinel-2 products ``S2B_MSIL2A_20210731T025549_N0301_R032_T51TXM_20210731T054429`` (the
  first date is the sensing date, the second the processing date) and tile band files
  ``T51TXM_20210731T025549_B04_10m``;
* MODIS granules ``MOD09GQ.A2021212.h26v04.061.2021214043538`` (``AYYYYDDD``, day of year);
* a reader registered later (:func:`.readers.register`), then the generic ones: ISO dates
  ``2021-07-31``, ``2021_07_31``, ``2021.07.31`` and compact dates ``20210731`` not part of a
  longer number (a Landsat scene ``LC08_L2SP_190028_20200409_20200822_02_T1``: the first,
  the acquisition date).

Only dates from 1972 (Landsat 1) to 2100 count. Then GDAL metadata keys (``ACQUISITION_DATE``,
``DATATAKE_1_DATATAKE_SENSING_START``, ``PRODUCT_START_TIME``, ``RANGEBEGINNINGDATE``,
``TIFFTAG_DATETIME``, ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from osgeo import gdal

from ..errors import DateError
from . import readers

METADATA_KEYS = (
    "ACQUISITION_DATE",
    "ACQUISITIONDATE",
    "DATE_ACQUIRED",
    "DATATAKE_1_DATATAKE_SENSING_START",
    "SENSING_TIME",
    "PRODUCT_START_TIME",
    "RANGEBEGINNINGDATE",
    "DATE",
    "TIFFTAG_DATETIME",
)


def _plausible(date: dt.date | None) -> dt.date | None:
    """Satellite dates only: 1972 (Landsat 1) to 2100; rejects ids that look like dates."""
    if date is not None and 1972 <= date.year <= 2100:
        return date
    return None


def date_from_name(name: str) -> dt.date | None:
    """The acquisition date in a file or layer name (the readers' patterns, in their order), or None."""
    return next((d for d in readers.dates_in(Path(name).name) if _plausible(d)), None)


def date_from_metadata(metadata: Mapping[str, str]) -> dt.date | None:
    """The acquisition date in GDAL metadata (any domain flattened into one mapping), or None."""
    upper = {k.upper(): v for k, v in metadata.items()}
    for key in METADATA_KEYS:
        value = upper.get(key)
        if not value:
            continue
        m = re.match(r"\s*(\d{4})[-:/.](\d{2})[-:/.](\d{2})", value) or re.match(r"\s*(\d{4})(\d{2})(\d{2})", value)
        if m:
            try:
                if d := _plausible(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))):
                    return d
            except ValueError:
                continue
    return None


def raster_metadata(path: str) -> dict[str, str]:
    """GDAL metadata of a raster, default domain and band 1, flattened."""
    try:
        ds = gdal.Open(str(path))
    except RuntimeError:  # unreadable: no metadata to offer
        return {}
    if ds is None:
        return {}
    meta = dict(ds.GetMetadata() or {})
    if ds.RasterCount:
        meta.update({k: v for k, v in (ds.GetRasterBand(1).GetMetadata() or {}).items() if k not in meta})
    return meta


def date_from_band(path: str, band: int = 1) -> dt.date | None:
    """The date in a band's description or metadata (a stack with one band per date), or None."""
    try:
        ds = gdal.Open(str(path))
    except RuntimeError:  # unreadable: the caller reports it where it reads the pixels
        return None
    if ds is None or not 1 <= band <= ds.RasterCount:
        return None
    b = ds.GetRasterBand(band)
    return date_from_name(b.GetDescription() or "") or date_from_metadata(b.GetMetadata() or {})


def band_dates(path: str) -> list[dt.date | None]:
    """The date of each band of a multi-band raster (a stack), from its descriptions or metadata; [] for one band."""
    try:
        ds = gdal.Open(str(path))
    except RuntimeError:
        return []
    if ds is None or ds.RasterCount < 2:
        return []
    return [date_from_band(path, b) for b in range(1, ds.RasterCount + 1)]


def detect_date(name: str, metadata: Mapping[str, str] | None = None, path: str | None = None) -> dt.date:
    """Date of the image called ``name``: from its name, then its metadata (read from ``path``).

    Raises:
        DateError: naming the layer, when neither holds a date; the caller can supply one.
    """
    if d := date_from_name(name):
        return d
    if metadata is None and path is not None:
        metadata = raster_metadata(path)
    if metadata and (d := date_from_metadata(metadata)):
        return d
    raise DateError(
        f"Could not find the acquisition date of '{name}': its name holds no recognised date "
        "(e.g. 2021-07-31, 20210731, a Sentinel-2 product name or a MODIS AYYYYDDD) and its metadata "
        "has none. Type the date in the table, give it in the job file ('date': 'YYYY-MM-DD'), "
        "or rename the file."
    )


def parse_date(value: str | dt.date, field: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text (job files, dialogs) with a message naming the field."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DateError(f"'{field}': '{value}' is not a date; write it as YYYY-MM-DD.") from None


def doy(date: dt.date) -> int:
    """Day of year, 1-based."""
    return date.timetuple().tm_yday
