"""The fetch job: where to search, for what area, seasons and clouds, and where to write; read from and written to JSON.

A fetch writes its own job file (``fetch_job.json``) into its folder, so that
``python -m tsstfn_crop_mapper fetch --job <folder>/fetch_job.json`` repeats it (files already
complete are kept).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import InputError
from ..inputs.inventory import CRITICAL_SEASON
from ..options import refuse_unknown_fields
from .catalog import COARSE_COLLECTIONS, FINE_COLLECTIONS, endpoint_url, get_collection

JOB_FILE = "fetch_job.json"


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch.

    Attributes:
        aoi: ``[west, south, east, north]`` in degrees (EPSG:4326).
        reference: the reference season ``(first, last)`` day (last year's pairs).
        prediction: the prediction season ``(first, last)`` day.
        out_dir: the folder the files, ``fetch_job.json`` and ``job.json`` go to.
        geometry: the AOI polygon as GeoJSON (EPSG:4326) when it is not its bounding box; searched with
            ``intersects`` (the download still covers its bounding box).
        endpoint: the fine scenes' STAC API: a name of :data:`~.catalog.ENDPOINTS` or a URL.
        coarse_endpoint: the MODIS items' STAC API (MODIS 6.1 is on the Planetary Computer).
        fine_collection: a fine collection id (``sentinel-2-l2a``, ``landsat-c2-l2``).
        coarse_collection: a MODIS collection id (``modis-09Q1-061``, ``modis-13Q1-061``).
        cloud_max: the most cloud over the AOI, in percent, a fine scene may have.
        scene_cloud_max: the most ``eo:cloud_cover`` of the whole scene asked of the service (a first cut).
        sample_masks: estimate the cloud over the AOI from the scene's SCL/QA asset (a small read each) instead
            of the whole scene's ``eo:cloud_cover``.
        critical_start: the critical season's first day, ``(month, day)``.
        critical_end: its last day.
        crs: the fine grid's CRS (``EPSG:32633``); empty: the UTM zone of the AOI's centre.
        pixel_m: the fine grid's pixel size; 0: the collection's own.
        signing: ``auto`` (the Planetary Computer's URLs are signed), ``pc`` or ``none``.
        max_items: at most this many items per search.
    """

    aoi: tuple[float, float, float, float]
    reference: tuple[dt.date, dt.date]
    prediction: tuple[dt.date, dt.date]
    out_dir: str
    geometry: dict | None = field(default=None, hash=False)
    endpoint: str = "earth-search"
    coarse_endpoint: str = "planetary-computer"
    fine_collection: str = "sentinel-2-l2a"
    coarse_collection: str = "modis-09Q1-061"
    cloud_max: float = 20.0
    scene_cloud_max: float = 80.0
    sample_masks: bool = False
    critical_start: tuple[int, int] = CRITICAL_SEASON[0]
    critical_end: tuple[int, int] = CRITICAL_SEASON[1]
    crs: str = ""
    pixel_m: float = 0.0
    signing: str = "auto"
    max_items: int = 500

    def __post_init__(self) -> None:
        """Check every field; each error names it and says what to give."""
        check_request(self)


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"Fetch field '{where}': '{value}' is not a date (YYYY-MM-DD).") from None


def _season(value: object, where: str) -> tuple[dt.date, dt.date]:
    if isinstance(value, str) and "/" in value:
        value = value.split("/", 1)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"Fetch field '{where}' must be two dates, the first and last day (YYYY-MM-DD/YYYY-MM-DD).")
    first, last = _date(value[0], where), _date(value[1], where)
    if last < first:
        raise InputError(f"Fetch field '{where}': the last day {last} is before the first {first}; swap them.")
    return first, last


def _month_day(value: object, where: str) -> tuple[int, int]:
    try:
        parts = value.split("-") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        month, day = (int(v) for v in parts)
        dt.date(2000, month, day)
    except (ValueError, TypeError, AttributeError):
        raise InputError(f"Fetch field '{where}': '{value}' is not a month and day (MM-DD, e.g. 07-01).") from None
    return month, day


def check_request(r: FetchRequest) -> None:
    """Raise :class:`~..errors.InputError` naming the first unusable field of ``r``."""
    west, south, east, north = r.aoi
    if not all(math.isfinite(v) for v in r.aoi) or not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(
            f"Fetch field 'aoi' {list(r.aoi)} is not a box [west, south, east, north] in degrees with west < east and "
            "south < north; draw the area again or give its extent in EPSG:4326."
        )
    if (east - west) * (north - south) > 4.0:
        raise InputError(
            f"The area of interest spans {east - west:.2f} x {north - south:.2f} degrees; fetch at most about "
            "2 x 2 degrees at a time (a county, not a country): split it into tiles."
        )
    if r.reference[1] >= r.prediction[0]:
        raise InputError("Fetch field 'reference': the reference season must end before the prediction season starts.")
    for name, value in (("cloud_max", r.cloud_max), ("scene_cloud_max", r.scene_cloud_max)):
        if not 0 <= value <= 100:
            raise InputError(f"Fetch field '{name}' {value} is not a percentage (0 to 100).")
    fine, coarse = get_collection(r.fine_collection, "fine collection"), get_collection(r.coarse_collection, "MODIS collection")
    if fine.coarse:
        raise InputError(f"Fetch field 'fine_collection': '{fine.id}' is MODIS; choose one of {', '.join(FINE_COLLECTIONS)}.")
    if not coarse.coarse:
        raise InputError(
            f"Fetch field 'coarse_collection': '{coarse.id}' is not MODIS; choose one of {', '.join(COARSE_COLLECTIONS)}."
        )
    endpoint_url(r.endpoint)
    endpoint_url(r.coarse_endpoint)
    if r.signing not in ("auto", "pc", "none"):
        raise InputError(f"Fetch field 'signing' '{r.signing}' is not one of auto, pc, none.")
    if r.pixel_m < 0 or not math.isfinite(r.pixel_m):
        raise InputError(f"Fetch field 'pixel_m' {r.pixel_m} is not a pixel size in metres (0: the collection's own).")
    if not str(r.out_dir).strip():
        raise InputError("Fetch field 'out_dir' is empty; choose the folder the images go to.")


def request_from_dict(data: object, base_dir: str | Path = ".") -> FetchRequest:
    """A checked :class:`FetchRequest` from a fetch job's mapping (relative ``out_dir`` against ``base_dir``).

    Raises:
        InputError: an unknown, missing or malformed field, naming it.
    """
    if not isinstance(data, dict):
        raise InputError("A fetch job file must hold a mapping of fields (JSON object).")
    refuse_unknown_fields(data, {f.name for f in fields(FetchRequest)}, "fetch")
    for required in ("aoi", "reference", "prediction", "out_dir"):
        if required not in data:
            raise InputError(f"Fetch field '{required}' is missing.")
    kw = dict(data)
    aoi = data["aoi"]
    if not isinstance(aoi, (list, tuple)) or len(aoi) != 4 or not all(isinstance(v, (int, float)) for v in aoi):
        raise InputError("Fetch field 'aoi' must be [west, south, east, north] (four numbers, degrees).")
    kw["aoi"] = tuple(float(v) for v in aoi)
    kw["reference"] = _season(data["reference"], "reference")
    kw["prediction"] = _season(data["prediction"], "prediction")
    for key in ("critical_start", "critical_end"):
        if key in data:
            kw[key] = _month_day(data[key], key)
    if not str(data["out_dir"] or "").strip():
        raise InputError("Fetch field 'out_dir' is empty; choose the folder the images go to.")
    out = Path(str(data["out_dir"]))
    kw["out_dir"] = str(out if out.is_absolute() else Path(base_dir) / out)
    for key in ("cloud_max", "scene_cloud_max", "pixel_m"):
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], (int, float))):
            raise InputError(f"Fetch field '{key}': {data[key]!r} is not a number.")
    if "geometry" in data and data["geometry"] is not None and not isinstance(data["geometry"], dict):
        raise InputError("Fetch field 'geometry' must be a GeoJSON geometry (a mapping) in EPSG:4326.")
    return FetchRequest(**kw)


def request_to_dict(r: FetchRequest) -> dict:
    """``r`` as a fetch job file's mapping (dates as ISO text, month-days as ``MM-DD``)."""
    data = asdict(r)
    data["aoi"] = list(r.aoi)
    data["reference"] = [d.isoformat() for d in r.reference]
    data["prediction"] = [d.isoformat() for d in r.prediction]
    for key in ("critical_start", "critical_end"):
        data[key] = "{:02d}-{:02d}".format(*getattr(r, key))
    return data


def load_request(path: str | Path) -> FetchRequest:
    """The fetch job in the JSON file ``path``.

    Raises:
        InputError: the file cannot be read or is not a valid fetch job, naming it.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the fetch job file '{path}': {exc}.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"The fetch job file '{path}' is not valid JSON ({exc}); fix or re-create it.") from None
    return request_from_dict(data, path.parent)


def critical(date: dt.date, r: FetchRequest) -> bool:
    """True when ``date`` falls in the critical season (``critical_start`` .. ``critical_end``, both included).

    Compared as (month, day), so 29 February as the last day ends the season on 28 February in a common
    year, and a season that crosses New Year (start after end, e.g. 11-01 to 02-28) holds the days from
    its start to the year's end and from the year's start to its end.
    """
    day, start, end = (date.month, date.day), tuple(r.critical_start), tuple(r.critical_end)
    return start <= day <= end if start <= end else (day >= start or day <= end)
