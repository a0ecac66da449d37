"""Sorting a list of rasters into the job's tables: reference pairs, base pairs, targets.

Rules (the dialog shows the result and lets the analyst edit it):

* the date comes from the name or metadata (:func:`~.dates.detect_date`); rasters without one are
  listed in ``undated``; a stack whose bands are dated (``band_dates``) gives one entry per band;
* a raster is MODIS when its name says so (``MOD09``, ``MYD13``, ``MCD43``, ``MODIS``, ...) or its pixels are 100 m
  or larger; a Sentinel-2 SCL raster (``SCL`` in the name) is the cloud mask of the Sentinel-2 raster
  of its date; everything else is Sentinel-2;
* the latest year is the prediction year, the year before it the reference year;
* prediction-year dates on or after ``season_cutoff`` (default 1 July) are targets (their
  Sentinel-2, if any, is kept to score the fusion); earlier ones with both rasters are base pairs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..errors import DateError
from .dates import detect_date

_MODIS = re.compile(r"(MOD\d\d|MYD\d\d|MCD\d\d|MODIS)", re.I)
_SCL = re.compile(r"(^|[^A-Z])SCL([^A-Z]|$)", re.I)


@dataclass(frozen=True)
class RasterInfo:
    """A layer as the inventory sees it: its name, its source, its pixel size and, for a stack, each band's date."""

    name: str
    path: str
    pixel_size: float = 10.0
    band_dates: tuple[dt.date | None, ...] = ()


@dataclass
class Tables:
    """The job's tables as rows ``{date, coarse, fine, fine_mask}``, and what could not be placed.

    A raster is a path, or ``{path, band}`` for a band of a stack.
    """

    reference: list[dict] = field(default_factory=list)
    prediction: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    undated: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # dates missing MODIS or Sentinel-2


def kind_of(info: RasterInfo) -> str:
    """``modis``, ``sentinel2`` or ``scl``: what a layer is, by its name and pixel size."""
    if _SCL.search(info.name):
        return "scl"
    if _MODIS.search(info.name) or info.pixel_size >= 100:
        return "modis"
    return "sentinel2"


def build_tables(rasters: list[RasterInfo], season_cutoff: tuple[int, int] = (7, 1)) -> Tables:
    """Sort ``rasters`` into the reference, prediction and target tables by date (rules in the module docstring)."""
    tables = Tables()
    by_date: dict[dt.date, dict[str, object]] = {}
    for info in rasters:
        if any(info.band_dates):  # a dated stack: one entry per dated band
            for band, date in enumerate(info.band_dates, start=1):
                if date is not None:
                    by_date.setdefault(date, {})[kind_of(info)] = {"path": info.path, "band": band}
            continue
        try:
            date = detect_date(info.name, path=info.path)
        except DateError:
            tables.undated.append(info.name)
            continue
        by_date.setdefault(date, {})[kind_of(info)] = info.path
    if not by_date:
        return tables
    prediction_year = max(d.year for d in by_date)
    for date in sorted(by_date):
        entry = by_date[date]
        row = {
            "date": date.isoformat(),
            "coarse": entry.get("modis"),
            "fine": entry.get("sentinel2"),
            "fine_mask": entry.get("scl"),
        }
        if date.year == prediction_year and date >= dt.date(date.year, *season_cutoff):
            if row["coarse"]:
                tables.targets.append(row)
            else:
                tables.incomplete.append(f"{date.isoformat()}: target date without MODIS")
            continue
        if not (row["coarse"] and row["fine"]):
            tables.incomplete.append(f"{date.isoformat()}: {'MODIS' if not row['coarse'] else 'Sentinel-2'} missing")
            continue
        if date.year == prediction_year:
            tables.prediction.append(row)
        elif date.year == prediction_year - 1:
            tables.reference.append(row)
    return tables
