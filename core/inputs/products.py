"""The sensors and products the plugin reads, and the kinds of cloud/QA mask: one table each.

A :class:`Product` says how a raster stores NDVI or the red and NIR reflectance it is computed from
(``reflectance = (DN + add_offset) * scale``) and which role it plays (coarse or fine sensor). A
:class:`MaskKind` says which values of a mask raster mark a pixel invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..options import Registry


@dataclass(frozen=True)
class Product:
    """How a product stores NDVI, or the reflectance NDVI is computed from.

    Attributes:
        name: the key used in job files and the dialog.
        sensor: ``modis``, ``sentinel2`` or ``any``.
        role: ``coarse``, ``fine`` or ``any`` (which column of a pair it belongs in).
        red_band: band number of red (None: a single-band NDVI product).
        nir_band: band number of near infrared.
        scale: reflectance per DN.
        add_offset: added to the DN before scaling.
        fill: the product's fill DN (masked besides the file's nodata).
        valid_dn: the valid DN range; values outside are masked and reported.
        description: one line for the dialog and the docs.
    """

    name: str
    sensor: str
    role: str
    red_band: int | None
    nir_band: int | None
    scale: float
    add_offset: float
    fill: float | None
    valid_dn: tuple[float, float] | None
    description: str = ""

    @property
    def is_ndvi(self) -> bool:
        """True for a product whose band already holds NDVI."""
        return self.red_band is None


PRODUCTS: Registry[Product] = Registry("product", lambda p: p.name)
for _product in (
        Product(
            "ndvi", "any", "any", None, None, 1.0, 0.0, None, None,
            "single-band NDVI in [-1, 1] (give scale 0.0001 for NDVI stored x 10000)",
        ),
        Product(
            "mod09gq", "modis", "coarse", 1, 2, 0.0001, 0.0, -28672, (-100, 16000),
            "MOD09GQ / MYD09GQ: band 1 red (sur_refl_b01), band 2 NIR (sur_refl_b02), x 0.0001, fill -28672",
        ),
        Product(
            "s2_l2a", "sentinel2", "fine", 1, 2, 0.0001, -1000.0, 0, (1, 65534),
            "Sentinel-2 L2A B04, B08, processing baseline 04.00+ (from 25 January 2022): (DN - 1000) / 10000",
        ),
        Product(
            "s2_l2a_legacy", "sentinel2", "fine", 1, 2, 0.0001, 0.0, 0, (1, 65534),
            "Sentinel-2 L2A B04, B08 before baseline 04.00: DN / 10000",
        ),
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


@dataclass(frozen=True)
class MaskKind:
    """A kind of cloud/QA mask raster.

    Attributes:
        name: the key used in job files and the dialog.
        description: one line for the dialog and the docs.
        invalid: integer mask values (any shape) -> True where the pixel must not be used.
    """

    name: str
    description: str
    invalid: Callable[[np.ndarray], np.ndarray]


MASK_KINDS: Registry[MaskKind] = Registry("mask kind", lambda m: m.name)
MASK_KINDS.register(MaskKind("scl", "Sentinel-2 scene classification: classes 0, 1, 3, 8, 9, 10, 11 invalid", _scl_invalid))
MASK_KINDS.register(
    MaskKind("modis_state", "MOD09GA state_1km bits: cloudy, mixed, shadow or internal cloud invalid", _modis_state_invalid)
)
MASK_KINDS.register(MaskKind("binary", "any non-zero value is cloud", _binary_invalid))


def get_mask_kind(name: str, where: str = "") -> MaskKind:
    """The mask kind called ``name``; an :class:`~..errors.InputError` starting with ``where`` lists the known ones."""
    return MASK_KINDS.lookup(name, where)
