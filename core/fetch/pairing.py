"""Pairing: each clear fine scene with the MODIS item of its day (or the composite that covers it), and the targets.

Rules:

* fine scenes of one day (several tiles or path/rows over the AOI) make one date, mosaicked;
* a fine date is *clear* when its cloud over the AOI (measured, else the scenes' ``eo:cloud_cover``)
  is at most ``cloud_max``; cloudy dates are listed (the table shows them) but not downloaded;
* its MODIS item: one of the same day, else the composite whose days cover it (several MODIS tiles
  of one composite are mosaicked); a date without one is listed as unpaired;
* a reference-season date is a reference pair; a prediction-season date before the critical
  season is a base pair; in the prediction season's critical period every MODIS composite that no
  clear fine date uses is a target (the dates TSSTFN predicts), and a clear fine date there is a
  target too, its fine image kept to score the fusion.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from .request import FetchRequest, critical
from .search import Scene


@dataclass(frozen=True)
class Pair:
    """One row of the search table and of the job.

    Attributes:
        date: the row's date (the fine date; a target's composite's first day).
        season: ``reference`` or ``prediction``.
        role: ``reference``, ``prediction`` (a base pair), ``target``, ``cloudy`` or ``unpaired``.
        fine: the fine scenes of the date (empty for a target without one).
        coarse: the MODIS items (one per tile) paired with it.
        critical: the date falls in the critical season.
        cloud: the fine date's cloud over the AOI in percent (measured: over the day's mosaic; else the worst
            scene's ``eo:cloud_cover``), None without fine.
    """

    date: dt.date
    season: str
    role: str
    fine: tuple[Scene, ...]
    coarse: tuple[Scene, ...]
    critical: bool
    cloud: float | None

    @property
    def downloads(self) -> bool:
        """True for the rows that are downloaded (pairs and targets)."""
        return self.role in ("reference", "prediction", "target")

    @property
    def sensor_label(self) -> str:
        """``Sentinel-2 L2A``, ``Landsat C2 L2`` or ``MODIS only``."""
        from .catalog import get_collection

        return get_collection(self.fine[0].collection).label if self.fine else "MODIS only"

    @property
    def coarse_label(self) -> str:
        """The paired MODIS item(s), as the table shows them."""
        return ", ".join(s.id for s in self.coarse) if self.coarse else "none"


def _season(day: dt.date, r: FetchRequest) -> str | None:
    if r.reference[0] <= day <= r.reference[1]:
        return "reference"
    if r.prediction[0] <= day <= r.prediction[1]:
        return "prediction"
    return None


def _composites(coarse: list[Scene]) -> dict[tuple[dt.date, dt.date], tuple[Scene, ...]]:
    """MODIS items by the days they cover; of Terra (MOD) and Aqua (MYD) items of the same days, Terra's."""
    groups: dict[tuple[dt.date, dt.date], list[Scene]] = defaultdict(list)
    for scene in coarse:
        groups[scene.date, scene.end].append(scene)
    out = {}
    for key, scenes in sorted(groups.items()):
        platforms = {s.platform for s in scenes}
        keep = "MOD" if "MOD" in platforms else min(platforms)
        out[key] = tuple(sorted((s for s in scenes if s.platform == keep), key=lambda s: s.tile))
    return out


def modis_for(day: dt.date, composites: dict[tuple[dt.date, dt.date], tuple[Scene, ...]]) -> tuple[Scene, ...]:
    """The MODIS items for ``day``: those of the same day, else of the shortest composite that covers it."""
    same = [v for (first, last), v in composites.items() if first == last == day]
    if same:
        return same[0]
    covering = sorted(((last - first, v) for (first, last), v in composites.items() if first <= day <= last), key=lambda t: t[0])
    return covering[0][1] if covering else ()


def pair_scenes(fine: list[Scene], coarse: list[Scene], r: FetchRequest) -> list[Pair]:
    """The table's rows, by date (rules in the module docstring)."""
    by_day: dict[dt.date, list[Scene]] = defaultdict(list)
    for scene in fine:
        by_day[scene.date].append(scene)
    composites = _composites(coarse)
    rows: list[Pair] = []
    used: set[tuple[dt.date, dt.date]] = set()
    for day in sorted(by_day):
        season = _season(day, r)
        if season is None:
            continue
        scenes = tuple(sorted(by_day[day], key=lambda s: s.tile))
        clouds = [s.cloud_over_aoi for s in scenes]  # measured: each scene holds the day's mosaic share (search.py)
        cloud = max((c for c in clouds if c is not None), default=None)
        modis = modis_for(day, composites)
        in_critical = critical(day, r)
        if cloud is not None and cloud > r.cloud_max:
            role = "cloudy"
        elif not modis:
            role = "unpaired"
        elif season == "reference":
            role = "reference"
        else:
            role = "target" if in_critical else "prediction"
        if role in ("reference", "prediction", "target"):
            used.add((modis[0].date, modis[0].end))
        rows.append(Pair(day, season, role, scenes, modis, in_critical, cloud))
    for (first, last), modis in composites.items():
        if _season(first, r) == "prediction" and critical(first, r) and (first, last) not in used:
            rows.append(Pair(first, "prediction", "target", (), modis, True, None))
    return sorted(rows, key=lambda p: (p.date, 0 if p.fine else 1))
