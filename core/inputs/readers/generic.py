"""Plain GeoTIFFs and stacks (and anything else GDAL opens): read as they are; the last reader asked.

Dates in names, in this order (the first plausible one wins):

* ISO dates ``2021-07-31``, ``2021_07_31``, ``2021.07.31`` (also inside ``2021-07-31T02:55:49``);
* compact dates ``20210731`` not part of a longer number;
* year and day of year ``2020068`` (seven digits) at the start of the name or after a separator,
  followed by a separator or the end (``2020068_191-28_kranj.tif``, ``ndvi.2020068.tif``): eight
  digits are a compact date, longer numbers nothing, a day past the year's end no date;
* day and month with a four-digit year, ``30-07-2021``, ``07/30/2021``, ``30.07.2021``: a number above
  12 is the day; otherwise a dot means day first and ``-``, ``/``, ``_`` month first
  (:func:`~.base.day_month`).

Band names, descriptions and metadata values may also write two-digit years, ``05-24-01``
(ESTARFM's ENVI band names ``TM05-24-01``), read by the same rule (``72``-``99`` are 19xx).
A stack's bands carry theirs in their descriptions (``NDVI 2021-07-31``). Metadata keys:
``ACQUISITION_DATE``, ``ACQUISITIONDATE``, ``DATE``, then ``TIFFTAG_DATETIME`` (when the file was
written: the last resort). A name with ``QA``, ``CLOUD(S)`` or ``MASK`` as a word is a mask, not an
image; a raster without a date named ``labels``, ``classes``, ``samples``, ``landcover``, ... holds classes.
"""

from __future__ import annotations

import datetime as dt
import re

from .base import DatePattern, Hints, Reader, day_month, unchanged, year_doy, ymd


def matches(path: str) -> bool:
    """Any path: the generic reader is the fallback."""
    return True


def _iso(m: re.Match[str]) -> dt.date:
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _day_month(m: re.Match[str]) -> dt.date | None:
    return day_month(m.group(1), m.group(3), m.group(4), m.group(2))


READER = Reader(
    "generic",
    "GeoTIFFs, NDVI or red/NIR stacks and any raster GDAL opens: read as they are (the fallback, asked last).",
    matches,
    unchanged,
    products=("ndvi", "red_nir"),
    dates=(
        DatePattern(re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)"), _iso, every=True),
        DatePattern(re.compile(r"(?<!\d)(\d{8})(?!\d)"), lambda m: ymd(m.group(1)), every=True),
        DatePattern(re.compile(r"(?:^|[ _.\-])(\d{4})(\d{3})(?=[ _.\-]|$)"), lambda m: year_doy(m[1], m[2]), every=True),
        DatePattern(re.compile(r"(?<!\d)(\d{2})([-_/.])(\d{2})\2(\d{4})(?!\d)"), _day_month, every=True),
    ),
    text_dates=(DatePattern(re.compile(r"(?<!\d)(\d{2})([-/.])(\d{2})\2(\d{2})(?!\d)"), _day_month, every=True),),
    metadata_keys=("ACQUISITION_DATE", "ACQUISITIONDATE", "DATE", "TIFFTAG_DATETIME"),
    hints=Hints(
        mask=re.compile(r"(^|[^A-Z])(QA|CLOUDS?|MASK)([^A-Z]|$)", re.I),
        container=re.compile(r"^/vsi", re.I),
        labels=re.compile(r"(^|[^A-Z])(LABELS?|CLASS(ES)?|CLASSIFICATION|SAMPLES?|LAND_?COVER|LULC|CROP_?MAP)([^A-Z]|$)", re.I),
    ),
    priority=1000,
)
