"""The STAC services and collections the fetch knows, with the asset keys each one publishes.

Collection ids and asset keys are those of the services' own responses (recorded in
``tests/data/stac/``, see its ``SOURCES.md``): Earth Search v1 names Sentinel-2 L2A bands by common
name (``red``, ``nir``, ``scl``), the Planetary Computer by band (``B04``, ``B08``, ``SCL``); both name
Landsat Collection 2 Level-2 ``red``, ``nir08``, ``qa_pixel``; MODIS 6.1 is on the Planetary
Computer only (``modis-09Q1-061``: ``sur_refl_b01``, ``sur_refl_b02``, ``sur_refl_state_250m``;
``modis-13Q1-061``: ``250m_16_days_NDVI``, ``250m_16_days_pixel_reliability``). An asset is looked up
by its keys in order, then by its ``eo:bands`` common name, so an institution's own STAC API that
copies either convention works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from ..errors import InputError

#: short names of the public endpoints (any other STAC API is given by its URL)
ENDPOINTS: dict[str, str] = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}
_PC_HOSTS = ("planetarycomputer.microsoft.com",)


@dataclass(frozen=True)
class CollectionSpec:
    """How one collection stores what the fusion needs.

    Attributes:
        id: the STAC collection id.
        sensor: ``sentinel2``, ``landsat`` or ``modis``.
        product: the project's product (:data:`~..inputs.products.PRODUCTS`) the written files hold.
        assets: role (``red``, ``nir``, ``ndvi``, ``mask``) -> asset keys to try, in order.
        mask_kind: the project's mask kind of the ``mask`` asset.
        pixel_m: the native pixel size in metres.
        nodata: the DN written where there is no data.
        scale: reflectance (or NDVI) per DN of the written file.
        offset: added after scaling (GDAL's convention: value = DN * scale + offset).
        label: what the table and messages call the sensor.
    """

    id: str
    sensor: str
    product: str
    assets: dict[str, tuple[str, ...]]
    mask_kind: str
    pixel_m: float
    nodata: float
    scale: float
    offset: float
    label: str

    @property
    def coarse(self) -> bool:
        """True for a MODIS collection (kept on its own grid)."""
        return self.sensor == "modis"

    @property
    def data_roles(self) -> tuple[str, ...]:
        """The image roles written as bands: ``("ndvi",)`` or ``("red", "nir")``."""
        return ("ndvi",) if "ndvi" in self.assets else ("red", "nir")


_S2: dict[str, tuple[str, ...]] = {"red": ("red", "B04"), "nir": ("nir", "B08"), "mask": ("scl", "SCL")}
_LANDSAT: dict[str, tuple[str, ...]] = {"red": ("red", "SR_B4"), "nir": ("nir08", "SR_B5"), "mask": ("qa_pixel", "QA_PIXEL")}
COLLECTIONS: dict[str, CollectionSpec] = {
    spec.id: spec
    for spec in (
        CollectionSpec("sentinel-2-l2a", "sentinel2", "s2_l2a", _S2, "scl", 10.0, 0, 1e-4, -0.1, "Sentinel-2 L2A"),
        CollectionSpec("landsat-c2-l2", "landsat", "landsat_c2l2", _LANDSAT, "qa_pixel", 30.0, 0, 2.75e-5, -0.2,
                       "Landsat C2 L2"),
        CollectionSpec("modis-09Q1-061", "modis", "mod09gq",
                       {"red": ("sur_refl_b01",), "nir": ("sur_refl_b02",), "mask": ("sur_refl_state_250m",)},
                       "modis_state", 231.656358263958, -28672, 1e-4, 0.0, "MOD09Q1 8-day"),
        CollectionSpec("modis-13Q1-061", "modis", "mod13q1",
                       {"ndvi": ("250m_16_days_NDVI",), "mask": ("250m_16_days_pixel_reliability",)},
                       "mod13_reliability", 231.656358263958, -3000, 1e-4, 0.0, "MOD13Q1 16-day NDVI"),
    )
}  # fmt: skip
FINE_COLLECTIONS = tuple(k for k, v in COLLECTIONS.items() if not v.coarse)
COARSE_COLLECTIONS = tuple(k for k, v in COLLECTIONS.items() if v.coarse)
#: common names in eo:bands that stand for a role when no key matches
_COMMON = {"red": ("red",), "nir": ("nir", "nir08")}


def get_collection(collection_id: str, what: str = "collection") -> CollectionSpec:
    """The spec of ``collection_id``.

    Raises:
        InputError: an unknown id, naming the known ones.
    """
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise InputError(
            f"The {what} '{collection_id}' is not one the fetch knows; choose one of {', '.join(COLLECTIONS)}."
        ) from None


def endpoint_url(endpoint: str) -> str:
    """The URL of ``endpoint``: a short name of :data:`ENDPOINTS` or a URL (any STAC API).

    Raises:
        InputError: neither a known name nor an http(s) URL.
    """
    url = ENDPOINTS.get(endpoint.strip(), endpoint.strip())
    if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise InputError(
            f"The STAC endpoint '{endpoint}' is neither {' nor '.join(ENDPOINTS)} nor an http(s) URL; give the "
            "URL of a STAC API (its landing page, e.g. https://earth-search.aws.element84.com/v1)."
        )
    return url.rstrip("/")


def needs_signing(url: str, signing: str = "auto") -> bool:
    """True when asset URLs from ``url`` must be signed with ``planetary-computer`` (``signing``: auto, pc, none)."""
    if signing == "auto":
        return urlparse(url).hostname in _PC_HOSTS
    return signing == "pc"


def asset_key(assets: dict, role: str, spec: CollectionSpec) -> str | None:
    """The key of the asset playing ``role`` in an item's ``assets``: by the spec's keys, then by eo:bands common name."""
    for key in spec.assets.get(role, ()):
        if key in assets:
            return key
    for key, asset in assets.items():
        bands = asset.get("eo:bands") or []
        if len(bands) == 1 and bands[0].get("common_name") in _COMMON.get(role, ()):
            return key
    return None
