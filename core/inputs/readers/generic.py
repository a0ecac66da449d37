"""Plain GeoTIFFs and stacks (and anything else GDAL opens): read as they are; the last reader asked.

Names carry ISO dates ``2021-07-31``, ``2021_07_31``, ``2021.07.31`` or compact ``20210731`` (not
part of a longer number); a stack's bands carry theirs in their descriptions (``NDVI 2021-07-31``).
A name with ``QA``, ``CLOUD(S)`` or ``MASK`` as a word is a mask, not an image.
"""

from __future__ import annotations

import datetime as dt
import re

from .base import DatePattern, Hints, Reader, unchanged, ymd


def matches(path: str) -> bool:
    """Any path: the generic reader is the fallback."""
    return True


def _iso(m: re.Match[str]) -> dt.date:
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


READER = Reader(
    "generic",
    "GeoTIFFs, NDVI or red/NIR stacks and any raster GDAL opens: read as they are (the fallback, asked last).",
    matches,
    unchanged,
    products=("ndvi", "red_nir"),
    dates=(
        DatePattern(re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)"), _iso, every=True),
        DatePattern(re.compile(r"(?<!\d)(\d{8})(?!\d)"), lambda m: ymd(m.group(1)), every=True),
    ),
    hints=Hints(
        mask=re.compile(r"(^|[^A-Z])(QA|CLOUDS?|MASK)([^A-Z]|$)", re.I),
        container=re.compile(r"^/vsi", re.I),
    ),
    priority=1000,
)
