"""Searching a STAC API for the fine scenes and MODIS items over an AOI (``pystac-client``, imported lazily).

:func:`search` returns :class:`Scene` records, one per item: its day (a composite's first day, with
its last), the asset URLs of red, NIR (or NDVI) and the mask, the scene's ``eo:cloud_cover``, and,
when asked, the cloud over the AOI measured on the mask asset (:func:`aoi_cloud`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..errors import DependencyError, InputError, TsstfnError
from .catalog import CollectionSpec, asset_key, endpoint_url, get_collection, needs_signing

log = logging.getLogger("tsstfn")
INSTALL_HINT = (
    "Searching STAC catalogues needs the Python packages pystac-client and planetary-computer: install them with the "
    "plugin's installer, or run  python -m pip install pystac-client planetary-computer"
)


@dataclass(frozen=True)
class Scene:
    """One STAC item as the fetch uses it.

    Attributes:
        id: the item id.
        collection: its collection id.
        sensor: ``sentinel2``, ``landsat`` or ``modis``.
        date: the acquisition day (a composite's first day).
        end: the last day it covers (``date`` for a single acquisition).
        assets: role (``red``, ``nir``, ``ndvi``, ``mask``) -> URL (signed where the service needs it).
        cloud: the whole scene's ``eo:cloud_cover`` in percent (None when the item has none).
        aoi_cloud: the cloud over the AOI in percent from its mask asset (None when not measured).
        platform: ``S2A``, ``LC08``, ``MOD``, ...
        tile: the MGRS tile, WRS-2 path/row or MODIS ``hXXvYY``.
        time: the acquisition time ``HHMMSS`` (000000 for a composite).
        baseline: the Sentinel-2 processing baseline (``05.09``), else "".
    """

    id: str
    collection: str
    sensor: str
    date: dt.date
    end: dt.date
    assets: dict[str, str] = field(hash=False)
    cloud: float | None = None
    aoi_cloud: float | None = None
    platform: str = ""
    tile: str = ""
    time: str = "000000"
    baseline: str = ""

    @property
    def composite(self) -> bool:
        """True for an item covering several days (a MODIS 8- or 16-day composite)."""
        return self.end > self.date

    @property
    def cloud_over_aoi(self) -> float | None:
        """The best estimate of the cloud over the AOI: measured on the mask, else the scene's."""
        return self.aoi_cloud if self.aoi_cloud is not None else self.cloud

    def covers(self, day: dt.date) -> bool:
        """True when ``day`` falls in the days this item covers."""
        return self.date <= day <= self.end


def _day(text: str | None) -> tuple[dt.date, str] | None:
    if not text:
        return None
    stamp = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return stamp.date(), stamp.strftime("%H%M%S")


def _platform(props: dict, item_id: str, sensor: str) -> str:
    if sensor == "sentinel2":
        name = str(props.get("platform", "")).lower()
        return "S2" + (name[-1].upper() if name.startswith("sentinel-2") else "X")
    if sensor == "landsat":
        return item_id[:4].upper()
    return item_id.split(".")[0][:3].upper() or "MOD"


def _tile(props: dict, item_id: str, sensor: str) -> str:
    if sensor == "sentinel2":
        code = props.get("s2:mgrs_tile") or str(props.get("grid:code", "")).replace("MGRS-", "")
        return f"T{code}" if code else ""
    if sensor == "landsat":
        return f"{props.get('landsat:wrs_path', '')}{props.get('landsat:wrs_row', '')}"
    h, v = props.get("modis:horizontal-tile"), props.get("modis:vertical-tile")
    return f"h{int(h):02d}v{int(v):02d}" if h is not None and v is not None else ""


def scene_from_item(item: dict, spec: CollectionSpec) -> Scene:
    """A :class:`Scene` from one item's GeoJSON mapping.

    Raises:
        InputError: the item has no date or lacks an asset the spec needs, naming the item and the keys.
    """
    props = item.get("properties") or {}
    item_id = str(item.get("id", "?"))
    start = _day(props.get("datetime")) or _day(props.get("start_datetime"))
    if start is None:
        raise InputError(f"STAC item '{item_id}' has neither datetime nor start_datetime; the catalogue is not usable.")
    end = _day(props.get("end_datetime")) if props.get("datetime") is None else None
    assets = item.get("assets") or {}
    hrefs = {}
    for role in (*spec.data_roles, "mask"):
        key = asset_key(assets, role, spec)
        if key is None:
            raise InputError(
                f"STAC item '{item_id}' of '{spec.id}' has no {role} asset (looked for {', '.join(spec.assets[role])}; it "
                f"has {', '.join(sorted(assets))}); this catalogue names its assets differently."
            )
        hrefs[role] = str(assets[key]["href"])
    cloud = props.get("eo:cloud_cover")
    return Scene(
        item_id, spec.id, spec.sensor, start[0], end[0] if end else start[0], hrefs,
        float(cloud) if isinstance(cloud, (int, float)) else None, None,
        _platform(props, item_id, spec.sensor), _tile(props, item_id, spec.sensor), start[1] if not end else "000000",
        str(props.get("s2:processing_baseline", "")),
    )  # fmt: skip


def _signer(url: str, signing: str) -> Callable | None:
    if not needs_signing(url, signing):
        return None
    try:
        import planetary_computer
    except ImportError:
        raise DependencyError(INSTALL_HINT) from None
    return planetary_computer.sign_inplace


def search(
    endpoint: str,
    collection: str,
    bbox: tuple[float, float, float, float],
    start: dt.date,
    end: dt.date,
    geometry: dict | None = None,
    scene_cloud_max: float | None = None,
    signing: str = "auto",
    max_items: int = 500,
) -> list[Scene]:
    """The items of ``collection`` over the AOI between ``start`` and ``end``, oldest first.

    Args:
        endpoint: a name of :data:`~.catalog.ENDPOINTS` or a STAC API's URL.
        collection: a collection id of :data:`~.catalog.COLLECTIONS`.
        bbox: the AOI's ``[west, south, east, north]`` in degrees.
        start: the first day.
        end: the last day.
        geometry: the AOI polygon (GeoJSON, EPSG:4326), searched with ``intersects`` instead of the box.
        scene_cloud_max: ask only for items with ``eo:cloud_cover`` at most this (fine collections).
        signing: ``auto``, ``pc`` or ``none`` (:func:`~.catalog.needs_signing`).
        max_items: at most this many items.

    Raises:
        DependencyError: pystac-client (or planetary-computer, for a service that needs signing) is missing.
        InputError: the service cannot be reached or answers with an error, naming it.
    """
    spec = get_collection(collection)
    url = endpoint_url(endpoint)
    try:
        from pystac_client import Client
    except ImportError:
        raise DependencyError(INSTALL_HINT) from None
    modifier = _signer(url, signing)
    where = {"intersects": geometry} if geometry else {"bbox": list(bbox)}
    query = {"eo:cloud_cover": {"lte": scene_cloud_max}} if scene_cloud_max is not None and not spec.coarse else None
    try:
        client = Client.open(url, modifier=modifier) if modifier else Client.open(url)
        if query and not client.conforms_to("QUERY"):  # a catalogue without the query extension: cut here instead
            query = None
        found = client.search(
            collections=[spec.id], datetime=f"{start.isoformat()}/{end.isoformat()}", query=query,
            max_items=max_items, **where,
        )  # fmt: skip
        items = list(found.items_as_dicts())  # signed by the modifier; no pystac objects needed
    except TsstfnError:
        raise
    except Exception as exc:  # noqa: BLE001 (requests, pystac-client and JSON errors: one message naming the service)
        raise InputError(
            f"The STAC service {url} could not be searched for '{spec.id}' ({type(exc).__name__}: {str(exc)[:300]}). "
            "Check the network (and a proxy), the endpoint's URL, or try again later."
        ) from None
    scenes = sorted((scene_from_item(item, spec) for item in items), key=lambda s: (s.date, s.time, s.id))
    if scene_cloud_max is not None:
        scenes = [s for s in scenes if s.cloud is None or s.cloud <= scene_cloud_max]
    log.info("%s: %d item(s) of %s from %s to %s", url, len(scenes), spec.id, start, end)
    return scenes


#: a mask's fill where a scene has no data (left out of the cloud's share): SCL 0, QA_PIXEL's fill bit, MOD13's -1
_FILL = {"scl": 0, "qa_pixel": 1, "mod13_reliability": -1}


def _no_data(kind: str, values: np.ndarray) -> np.ndarray:
    """True where the mask of ``kind`` says the scene has no data (outside its footprint, its fill)."""
    if kind == "qa_pixel":
        return (values & 1) != 0
    fill = _FILL.get(kind)
    return values == fill if fill is not None else np.zeros(values.shape, bool)


def _mask_over_aoi(scene: Scene, bbox: tuple[float, float, float, float], max_pixels: int) -> np.ndarray | None:
    """The scene's mask over the AOI's box in EPSG:4326, at most ``max_pixels`` across; fill outside its footprint."""
    from osgeo import gdal

    from .remote import gdal_path, remote_options

    spec = get_collection(scene.collection)
    west, south, east, north = bbox
    aspect = (north - south) / max(east - west, 1e-9)
    width = max_pixels if aspect <= 1 else max(1, int(max_pixels / aspect))
    height = max(1, int(width * aspect))
    fill = _FILL.get(spec.mask_kind)
    try:
        with remote_options():
            ds = gdal.Warp(
                "", gdal_path(scene.assets["mask"]), format="MEM", outputBounds=bbox, outputBoundsSRS="EPSG:4326",
                dstSRS="EPSG:4326", width=width, height=height, resampleAlg="near", dstNodata=fill,
                outputType=gdal.GDT_Int32,
            )  # fmt: skip
        return ds.GetRasterBand(1).ReadAsArray().astype(np.int64)
    except RuntimeError as exc:
        log.warning("%s: the mask over the AOI could not be read (%s); its scene cloud cover is used", scene.id, exc)
        return None


def _cloud_share(kind: str, masks: list[np.ndarray]) -> float | None:
    """The share (percent) of the pixels with data that ``masks`` (one day's, mosaicked in order) mark invalid."""
    from ..inputs.products import get_mask_kind

    mosaic = masks[0].copy()
    for values in masks[1:]:  # first scene with data wins, as the download mosaics them
        empty = _no_data(kind, mosaic)
        mosaic[empty] = values[empty]
    data = ~_no_data(kind, mosaic)
    if not data.any():
        return None
    return float(100.0 * get_mask_kind(kind).invalid(mosaic)[data].mean())


def aoi_cloud(scene: Scene, bbox: tuple[float, float, float, float], max_pixels: int = 128) -> float | None:
    """The share (percent) of the AOI's pixels with data that the scene's mask asset marks invalid.

    A small read: the mask over the AOI's box, at most ``max_pixels`` across (an overview of the COG).
    Pixels outside the scene's footprint or marked fill are left out of the share. None when the mask
    cannot be read or has no data over the AOI (the scene's ``eo:cloud_cover`` is used instead).
    """
    values = _mask_over_aoi(scene, bbox, max_pixels)
    return None if values is None else _cloud_share(get_collection(scene.collection).mask_kind, [values])


def measure_clouds(
    scenes: list[Scene],
    bbox: tuple[float, float, float, float],
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> list[Scene]:
    """``scenes`` with :attr:`Scene.aoi_cloud` measured on their mask assets (one small read each).

    The scenes of one day are measured together, over their mosaic (first scene by tile with data wins,
    as the download mosaics them): each gets the day's share, so that a day is not its worst scene and
    a scene's area outside its footprint is not cloud.
    """
    by_day: dict[dt.date, list[Scene]] = {}
    for scene in scenes:
        by_day.setdefault(scene.date, []).append(scene)
    measured: dict[str, float | None] = {}
    done = 0
    for day_scenes in by_day.values():
        masks: list[np.ndarray] = []
        read: list[Scene] = []
        for scene in sorted(day_scenes, key=lambda s: s.tile):
            check_cancelled(is_cancelled)
            if progress:
                progress(done / max(len(scenes), 1), f"cloud over the AOI of {scene.id}")
            done += 1
            values = _mask_over_aoi(scene, bbox, 128)
            if values is not None:
                masks.append(values)
                read.append(scene)
        share = _cloud_share(get_collection(read[0].collection).mask_kind, masks) if masks else None
        measured.update({s.id: share for s in read})
    return [replace(s, aoi_cloud=measured.get(s.id)) for s in scenes]
