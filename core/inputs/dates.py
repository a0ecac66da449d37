"""Acquisition dates from file/layer names, GDAL metadata, band descriptions and timelines.

Names: each reader of :mod:`.readers` carries the date patterns of its family, and they are tried
in the registry's order (first plausible date wins):

* Landsat Collection-1/2 product IDs ``LC08_L2SP_190028_20200409_20200822_02_T1`` (the first date)
  and pre-collection scene IDs ``LC81260382015287LGN00`` (year 2015, day 287);
* Sentinel-2 products ``S2B_MSIL2A_20210731T025549_N0301_R032_T51TXM_20210731T054429`` (the
  first date is the sensing date, the second the processing date) and tile band files
  ``T51TXM_20210731T025549_B04_10m``;
* MODIS granules ``MOD09GQ.A2021212.h26v04.061.2021214043538`` (``AYYYYDDD``, day of year) and
  MODIStsp's ``MOD13Q1_NDVI_2020_065``;
* a reader registered later (:func:`.readers.register`), then the generic ones: ISO dates
  ``2021-07-31``, ``2021_07_31``, ``2021.07.31``, compact dates ``20210731`` not part of a longer
  number, year + day of year ``2020068_...`` (seven digits between separators) and
  ``30-07-2021`` / ``07/30/2021`` / ``30.07.2021`` (:func:`.readers.base.day_month`: a number above
  12 is the day; else a dot means day first, another separator month first).

Only dates from 1972 (Landsat 1) to 2100 count. Then GDAL metadata keys (each reader's
``metadata_keys``: ``DATE_ACQUIRED``, ``DATATAKE_1_DATATAKE_SENSING_START``, ``RANGEBEGINNINGDATE``,
ENVI's ``acquisition time``, ``ACQUISITION_DATE``, ..., ``TIFFTAG_DATETIME`` last), then the first
band's description (ENVI ``band names``, e.g. ``TM05-24-01``, where two-digit years are read too).

Stacks (one band per date) get one date per band (:func:`band_dates`): from the bands'
descriptions or metadata, else from a timeline file beside the stack (:func:`timeline_for`), or
from what the user gives: a start date and a step in days, or a start date and MODIS composites
(:func:`composite_dates`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from osgeo import gdal

from ..errors import DateError, TsstfnError
from ..files import open_raster
from . import readers

log = logging.getLogger("tsstfn")

#: timeline files beside a stack ``x.tif``, asked in this order (``{name}`` = ``x.tif``, ``{stem}`` = ``x``)
TIMELINE_NAMES = (
    "{name}.timeline.txt",
    "{stem}.timeline.txt",
    "{stem}_timeline.txt",
    "{stem}.dates.txt",
    "{stem}_dates.txt",
    "timeline.txt",
    "timeline.csv",
    "dates.txt",
)


def _plausible(date: dt.date | None) -> dt.date | None:
    """Satellite dates only: 1972 (Landsat 1) to 2100; rejects ids that look like dates."""
    if date is not None and 1972 <= date.year <= 2100:
        return date
    return None


def date_from_name(name: str) -> dt.date | None:
    """The acquisition date in a file or layer name (the readers' patterns, in their order), or None."""
    return next((d for d in readers.dates_in(Path(name).name) if _plausible(d)), None)


def date_from_text(text: str) -> dt.date | None:
    """The date in a band name, band description or metadata value (name patterns, then two-digit years), or None."""
    return next((d for d in readers.text_dates_in(text) if _plausible(d)), None)


def metadata_keys() -> tuple[str, ...]:
    """The GDAL metadata keys that hold an acquisition date, in the order they are asked (the readers' ``metadata_keys``)."""
    return readers.metadata_keys()


def date_from_metadata(metadata: Mapping[str, str]) -> dt.date | None:
    """The acquisition date in GDAL metadata (any domain flattened into one mapping), or None."""
    upper = {k.upper().replace(" ", "_"): v for k, v in metadata.items()}
    for key in metadata_keys():
        value = upper.get(key)
        if not value:
            continue
        value = value.strip().strip("{}").strip()
        m = re.match(r"(\d{4})[-:/.](\d{2})[-:/.](\d{2})", value) or re.match(r"(\d{4})(\d{2})(\d{2})", value)
        if m:
            try:
                if d := _plausible(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))):
                    return d
            except ValueError:
                continue
    return None


def _open(path: str) -> gdal.Dataset | None:
    try:
        return gdal.Open(str(path))
    except RuntimeError:  # unreadable: the caller reports it where it reads the pixels
        return None


def raster_metadata(path: str) -> dict[str, str]:
    """GDAL metadata of a raster, flattened: default domain, the ENVI header's fields, then band 1's."""
    ds = _open(path)
    if ds is None:
        return {}
    meta = dict(ds.GetMetadata() or {})
    for key, value in (ds.GetMetadata("ENVI") or {}).items():
        meta.setdefault(key, value)
    if ds.RasterCount:
        meta.update({k: v for k, v in (ds.GetRasterBand(1).GetMetadata() or {}).items() if k not in meta})
    return meta


def is_spectral(ds: gdal.Dataset) -> bool:
    """Whether the bands are wavelengths of one image (an ENVI ``wavelength`` list, a band's wavelength metadata)."""
    if "wavelength" in {k.lower() for k in (ds.GetMetadata("ENVI") or {})}:
        return True
    keys = {k.upper() for b in range(1, min(ds.RasterCount, 3) + 1) for k in (ds.GetRasterBand(b).GetMetadata() or {})}
    return bool(keys & {"WAVELENGTH", "CENTRAL_WAVELENGTH_UM", "CENTRAL_WAVELENGTH"})


def _band_date(ds: gdal.Dataset, band: int) -> dt.date | None:
    b = ds.GetRasterBand(band)
    return date_from_text(b.GetDescription() or "") or date_from_metadata(b.GetMetadata() or {})


def date_from_band(path: str, band: int = 1) -> dt.date | None:
    """The date in a band's description or metadata (a stack with one band per date), or None."""
    ds = _open(path)
    if ds is None or not 1 <= band <= ds.RasterCount:
        return None
    return _band_date(ds, band)


def read_timeline(path: str | Path) -> list[dt.date]:
    """The dates of a timeline file: one date per line, in band order.

    A line holds one date (ISO ``2013-09-14`` is best; any form :func:`date_from_text` reads goes),
    alone or as a field of a CSV row (the first date of the line counts). Blank lines and lines
    starting with ``#`` are skipped, and so is a first line without a date (a CSV header).

    Raises:
        DateError: the file cannot be read, or a line other than the first holds no date (names it).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DateError(f"Cannot read the timeline '{path}': {exc}.") from None
    dates: list[dt.date] = []
    seen_line = False
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = [f.strip().strip('"') for f in re.split(r"[,;\t]", text)]
        date = next((d for f in fields if (d := date_from_text(f))), None)
        if date is None and seen_line:
            raise DateError(f"Timeline '{Path(path).name}' line {number}: '{text}' is no date; write one YYYY-MM-DD per line.")
        seen_line = True
        if date is not None:
            dates.append(date)
    return dates


def timeline_for(path: str, count: int) -> Path | None:
    """The timeline file beside the stack at ``path`` that holds ``count`` dates, or None.

    Asked in the order of :data:`TIMELINE_NAMES` (``sits.tif.timeline.txt``, ``sits.timeline.txt``,
    ``sits_timeline.txt``, ``sits.dates.txt``, ``sits_dates.txt``, then the folder's ``timeline.txt``,
    ``timeline.csv``, ``dates.txt``), then any other ``*timeline*.txt`` / ``*timeline*.csv`` in the
    folder; a file with another number of dates is passed over.
    """
    file = Path(path)
    if not file.parent.is_dir():
        return None
    named = [file.with_name(n.format(name=file.name, stem=file.stem)) for n in TIMELINE_NAMES]
    others = sorted(p for p in file.parent.glob("*timeline*") if p.suffix.lower() in (".txt", ".csv"))
    for candidate in dict.fromkeys([*named, *others]):
        if not candidate.is_file():
            continue
        try:
            dates = read_timeline(candidate)
        except DateError:
            continue
        if len(dates) == count:
            return candidate
        log.info("%s: %d dates, not the %d bands of %s", candidate.name, len(dates), count, file.name)
    return None


def stepped_dates(start: dt.date, count: int, step_days: int) -> list[dt.date]:
    """``count`` dates from ``start``, ``step_days`` apart."""
    return [start + dt.timedelta(days=step_days * k) for k in range(count)]


def composite_dates(start: dt.date, count: int, days: int = 16) -> list[dt.date]:
    """``count`` MODIS composite dates from ``start``: day of year + ``days``, restarting at 1 January each year.

    MOD13Q1 (16-day) composites begin on days 1, 17, 33, ..., 353 of every year, so after
    2013-12-19 (day 353) comes 2014-01-01; 8-day products (MOD09A1) use ``days=8``
    (1, 9, ..., 361). ``start`` is the first composite's first day.
    """
    out = [start]
    while len(out) < count:
        last = out[-1]
        following = last + dt.timedelta(days=days)
        out.append(following if following.year == last.year else dt.date(last.year + 1, 1, 1))
    return out


def band_dates(
    path: str,
    start: dt.date | str | None = None,
    step_days: int | None = None,
    composite: int | None = None,
    timeline: str | Path | None = None,
) -> list[dt.date | None]:
    """The date of each band of the raster at ``path`` (a stack of dates), one entry per band.

    What the user gives comes first: a ``timeline`` file, or ``start`` with ``step_days`` (every
    band that many days after the one before) or with ``composite`` (MODIS composites of that many
    days, :func:`composite_dates`). Otherwise the bands' descriptions or metadata (``NDVI 2021-07-30``, ENVI
    band names; not for spectral bands, :func:`is_spectral`), then a timeline file beside the stack
    (:func:`timeline_for`). A band nothing dates is None.

    Args:
        path: the stack (anything GDAL opens).
        start: the first band's date (``YYYY-MM-DD`` text or a date).
        step_days: days between consecutive bands.
        composite: the composite period in days (16 for MOD13Q1, 8 for MOD09A1).
        timeline: a timeline file (:func:`read_timeline`).

    Raises:
        InputError: the raster cannot be opened.
        DateError: ``start`` without a step or composite (or with both), a step below 1, a timeline
            that cannot be read or whose number of dates is not the number of bands.
    """
    ds = open_raster(path)
    count = ds.RasterCount
    if timeline is not None:
        dates = read_timeline(timeline)
        if len(dates) != count:
            raise DateError(
                f"Timeline '{Path(timeline).name}' holds {len(dates)} dates but '{Path(path).name}' has {count} bands; "
                "give one date per band, in band order."
            )
        return list(dates)
    if start is not None or step_days is not None or composite is not None:
        if start is None:
            raise DateError(f"'{Path(path).name}': give the first band's date with the step or composite period.")
        first = parse_date(start, "start")
        if (step_days is None) == (composite is None):
            raise DateError(
                f"'{Path(path).name}': give either a step in days or a composite period (16 for MOD13Q1), not "
                f"{'both' if step_days is not None else 'neither'}."
            )
        if (step_days or composite or 0) < 1:
            raise DateError(f"'{Path(path).name}': the step or composite period must be at least 1 day.")
        if composite is not None:
            return list(composite_dates(first, count, composite))
        return list(stepped_dates(first, count, int(step_days or 0)))
    found: list[dt.date | None] = [None] * count
    if not is_spectral(ds):
        found = [_band_date(ds, b) for b in range(1, count + 1)]
    if count > 1 and not any(found):
        if file := timeline_for(path, count):
            log.info("%s: band dates from %s", Path(path).name, file.name)
            return list(read_timeline(file))
    return found


def stack_dates(path: str) -> list[dt.date | None]:
    """The band dates of a stack of dates (:func:`band_dates` holding two different dates or more), else [].

    A multi-band image of one date (every band named ``TM05-24-01``, or red and NIR) is no stack.
    """
    try:
        dates = band_dates(path)
    except TsstfnError as exc:  # unreadable: the inventory reports it where it opens the raster
        log.debug("no band dates for %s: %s", path, exc)
        return []
    return dates if len({d for d in dates if d is not None}) >= 2 else []


def detect_date(name: str, metadata: Mapping[str, str] | None = None, path: str | None = None) -> dt.date:
    """Date of the image called ``name``: its name, its metadata, then its first band's description (from ``path``).

    Raises:
        DateError: naming the layer, when neither holds a date; the caller can supply one.
    """
    if d := date_from_name(name):
        return d
    if metadata is None and path is not None:
        metadata = raster_metadata(path)
    if metadata and (d := date_from_metadata(metadata)):
        return d
    if path is not None and (d := date_from_band(path, 1)):
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
