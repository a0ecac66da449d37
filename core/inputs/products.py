"""The sensors and products the plugin reads, and the kinds of cloud/QA mask: one table each.

A :class:`Product` says how a raster stores NDVI or the red and NIR reflectance it is computed from
(``reflectance = (DN + add_offset) * scale``), which role it plays (coarse or fine sensor), where
its bands are inside the containers users download (HDF subdatasets, SAFE folders, Landsat scene
folders; :mod:`.readers`), and which mask kind its QA layer is. A :class:`MaskKind` says which
values of a mask raster mark a pixel invalid, and which values such a mask can hold at all (so that
a mask of the wrong kind is caught, not silently misread).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..options import Registry


@dataclass(frozen=True)
class Product:
    """How a product stores NDVI, or the reflectance NDVI is computed from.

    Attributes:
        name: the key used in job files and the dialog.
        sensor: ``modis``, ``sentinel2``, ``landsat`` or ``any``.
        role: ``coarse``, ``fine`` or ``any`` (which column of a pair it belongs in).
        kind: ``ndvi`` (one band holds NDVI) or ``red_nir`` (NDVI from red and NIR reflectance).
        red_band: band number of red in a multi-band file (None: the source must say).
        nir_band: band number of near infrared.
        scale: reflectance (or NDVI) per DN.
        add_offset: added to the DN before scaling.
        fill: the product's fill DN (masked besides the file's nodata).
        valid_dn: the valid DN range; values outside are masked and reported.
        description: one line for the dialog and the docs.
        subdatasets: inside an HDF file, the names of the subdatasets of ``red``, ``nir``,
            ``ndvi`` and ``mask`` (matched case-insensitively at the end of the subdataset's name).
        mask_kind: the :class:`MaskKind` of its QA layer.
    """

    name: str
    sensor: str
    role: str
    kind: str
    red_band: int | None
    nir_band: int | None
    scale: float
    add_offset: float
    fill: float | None
    valid_dn: tuple[float, float] | None
    description: str = ""
    subdatasets: dict[str, str] = field(default_factory=dict, hash=False)
    mask_kind: str | None = None

    @property
    def is_ndvi(self) -> bool:
        """True for a product whose band already holds NDVI."""
        return self.kind == "ndvi"


#: the products; new ones go at the end (Processing stores a product as its position in this table)
PRODUCTS: Registry[Product] = Registry("product", lambda p: p.name)
MODIS_SR = {"red": "sur_refl_b01_1", "nir": "sur_refl_b02_1"}
for _product in (
    Product("ndvi", "any", "any", "ndvi", None, None, 1.0, 0.0, None, None,
            "single-band NDVI in [-1, 1] (give scale 0.0001 for NDVI stored x 10000)"),
    Product("mod09gq", "modis", "coarse", "red_nir", 1, 2, 0.0001, 0.0, -28672, (-100, 16000),
            "MOD09GQ / MYD09GQ 250 m: red (sur_refl_b01), NIR (sur_refl_b02), x 0.0001, fill -28672",
            MODIS_SR, "modis_state"),
    Product("s2_l2a", "sentinel2", "fine", "red_nir", 1, 2, 0.0001, -1000.0, 0, (1, 65534),
            "Sentinel-2 L2A B04, B08, processing baseline 04.00+ (from 25 January 2022): (DN - 1000) / 10000",
            {}, "scl"),
    Product("s2_l2a_legacy", "sentinel2", "fine", "red_nir", 1, 2, 0.0001, 0.0, 0, (1, 65534),
            "Sentinel-2 L2A B04, B08 before baseline 04.00: DN / 10000", {}, "scl"),
    Product("red_nir", "any", "any", "red_nir", None, None, 1.0, 0.0, None, None,
            "any red and NIR reflectance: give red_band, nir_band (or nir_path) and scale"),
    Product("mod09ga", "modis", "coarse", "red_nir", 1, 2, 0.0001, 0.0, -28672, (-100, 16000),
            "MOD09GA / MYD09GA 500 m: red, NIR (sur_refl_b01/b02), x 0.0001, fill -28672; QA state_1km",
            {**MODIS_SR, "mask": "state_1km_1"}, "modis_state"),
    Product("mod13q1", "modis", "coarse", "ndvi", None, None, 0.0001, 0.0, -3000, (-2000, 10000),
            "MOD13Q1 / MYD13Q1 250 m 16-day NDVI, x 0.0001, fill -3000; QA pixel reliability",
            {"ndvi": "250m 16 days NDVI", "mask": "250m 16 days pixel reliability"}, "mod13_reliability"),
    Product("mcd43a4", "modis", "coarse", "red_nir", 1, 2, 0.0001, 0.0, 32767, (0, 32766),
            "MCD43A4 500 m NBAR: red (Nadir_Reflectance_Band1), NIR (Band2), x 0.0001, fill 32767; QA band 1 quality",
            {"red": "Nadir_Reflectance_Band1", "nir": "Nadir_Reflectance_Band2",
             "mask": "BRDF_Albedo_Band_Mandatory_Quality_Band1"}, "mcd43_quality"),
    Product("landsat_c2l2", "landsat", "fine", "red_nir", None, None, 2.75e-5, -0.2 / 2.75e-5, 0, (7273, 43636),
            "Landsat Collection 2 Level-2 SR (L4/L5/L7 SR_B3, SR_B4; L8/L9 SR_B4, SR_B5): x 2.75e-5 - 0.2, fill 0; QA_PIXEL",
            {}, "qa_pixel"),
):  # fmt: skip
    PRODUCTS.register(_product)


def get_product(name: str, label: str = "") -> Product:
    """The product called ``name``; an :class:`~..errors.InputError` starting with ``label`` lists the known ones."""
    return PRODUCTS.lookup(name, f"'{label}': " if label else "")


#: Sentinel-2 scene classification classes treated as invalid: no data, saturated/defective,
#: cloud shadow, cloud medium/high probability, thin cirrus, snow.
SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)


def _scl_invalid(mask: np.ndarray) -> np.ndarray:
    return np.isin(mask, SCL_INVALID)


def _modis_state_invalid(mask: np.ndarray) -> np.ndarray:
    cloud_state = mask & 0b11  # 00 clear, 01 cloudy, 10 mixed, 11 not set (assumed clear)
    shadow = (mask >> 2) & 1
    internal_cloud = (mask >> 10) & 1
    return (cloud_state == 1) | (cloud_state == 2) | (shadow == 1) | (internal_cloud == 1)


def _binary_invalid(mask: np.ndarray) -> np.ndarray:
    return mask != 0


def _cfmask_invalid(mask: np.ndarray) -> np.ndarray:
    return np.isin(mask, (2, 3, 4, 255))  # shadow, snow, cloud, fill (0 clear and 1 water are kept)


def _qa_pixel_invalid(mask: np.ndarray) -> np.ndarray:
    return (mask & 0b111111) != 0  # bits 0-5: fill, dilated cloud, cirrus, cloud, cloud shadow, snow


def _reliability_invalid(mask: np.ndarray) -> np.ndarray:
    return ~np.isin(mask, (0, 1))  # MOD13: 0 good, 1 marginal; -1 fill, 2 snow/ice, 3 cloudy


def _mcd43_invalid(mask: np.ndarray) -> np.ndarray:
    return ~np.isin(mask, (0, 1))  # MCD43: 0 full inversion, 1 magnitude inversion; 255 fill


@dataclass(frozen=True)
class MaskKind:
    """A kind of cloud/QA mask raster.

    Attributes:
        name: the key used in job files and the dialog.
        description: one line for the dialog and the docs.
        invalid: integer mask values (any shape) -> True where the pixel must not be used.
        domain: every value such a mask can hold (None: any integer); another value means the mask
            is of another kind.
    """

    name: str
    description: str
    invalid: Callable[[np.ndarray], np.ndarray]
    domain: tuple[int, ...] | None = None


MASK_KINDS: Registry[MaskKind] = Registry("mask kind", lambda m: m.name)
for _kind in (
    MaskKind("scl", "Sentinel-2 scene classification: classes 0, 1, 3, 8, 9, 10, 11 invalid", _scl_invalid, tuple(range(12))),
    MaskKind("modis_state", "MOD09GA state_1km bits: cloudy, mixed, shadow or internal cloud invalid", _modis_state_invalid),
    MaskKind("binary", "any non-zero value is cloud", _binary_invalid),
    MaskKind("cfmask", "Landsat ESPA CFMask: 0 clear, 1 water kept; 2 shadow, 3 snow, 4 cloud, 255 fill invalid",
             _cfmask_invalid, (0, 1, 2, 3, 4, 255)),
    MaskKind("qa_pixel", "Landsat Collection 2 QA_PIXEL bits 0-5: fill, dilated cloud, cirrus, cloud, shadow, snow invalid",
             _qa_pixel_invalid),
    MaskKind("mod13_reliability", "MOD13 pixel reliability: 0 good, 1 marginal kept; -1 fill, 2 snow, 3 cloudy invalid",
             _reliability_invalid, (-1, 0, 1, 2, 3)),
    MaskKind("mcd43_quality", "MCD43 mandatory quality: 0 full, 1 magnitude inversion kept; 255 fill invalid",
             _mcd43_invalid, (0, 1, 255)),
):  # fmt: skip
    MASK_KINDS.register(_kind)


def get_mask_kind(name: str, where: str = "") -> MaskKind:
    """The mask kind called ``name``; an :class:`~..errors.InputError` starting with ``where`` lists the known ones."""
    return MASK_KINDS.lookup(name, where)
