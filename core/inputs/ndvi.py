"""Reading NDVI from a raster: a single NDVI band, or red and NIR bands of a known product.

An :class:`NdviSource` says how to get NDVI out of one raster. Nodata, fill values and masked
(cloudy) pixels become NaN, never zeros. Every read takes a window, so that large rasters are
processed in blocks.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..errors import InputError
from ..files import Window, nodata_to_nan, open_raster, read_window
from .grid import has_real_crs
from .products import get_mask_kind, get_product

log = logging.getLogger("tsstfn")


@dataclass(frozen=True)
class NdviSource:
    """One raster and how to read NDVI from it.

    Attributes:
        path: the raster (anything GDAL opens).
        product: a key of :data:`~.products.PRODUCTS`.
        band: the NDVI band (product ``ndvi``).
        red_band: overrides the product's red band number.
        nir_band: overrides the product's NIR band number.
        nir_path: NIR in another file (Sentinel-2 ``B08`` beside ``B04``); ``path`` is then red.
        scale: overrides the product's; for ``ndvi`` it rescales the band.
        add_offset: overrides the product's.
        nodata: overrides the file's nodata value (an undeclared fill such as -9999).
        mask_path: cloud/QA mask raster, resampled (nearest) onto this raster's grid.
        mask_kind: a key of :data:`~.products.MASK_KINDS` (None: the product's QA kind, else ``scl``).
        mask_band: the mask's band.
        mask_valid: the mask values that mark a valid pixel, instead of a mask kind.
        name: what messages call it (the QGIS layer name); defaults to the file name.
    """

    path: str
    product: str = "ndvi"
    band: int = 1
    red_band: int | None = None
    nir_band: int | None = None
    nir_path: str | None = None
    scale: float | None = None
    add_offset: float | None = None
    nodata: float | None = None
    mask_path: str | None = None
    mask_kind: str | None = None
    mask_band: int = 1
    mask_valid: tuple[int, ...] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        """Check the product and mask kind names; a list of valid mask values becomes a tuple."""
        get_product(self.product, self.label)
        self._check_numbers()
        if self.mask_kind is not None:
            get_mask_kind(self.mask_kind, f"'{self.label}': ")
        if self.mask_valid is not None:
            object.__setattr__(self, "mask_valid", tuple(int(v) for v in self.mask_valid))

    def _check_numbers(self) -> None:
        """Bands are whole numbers from 1; scale and offset finite numbers, the scale not 0 (issue 24)."""
        import math
        from numbers import Integral, Real

        for key in ("band", "red_band", "nir_band", "mask_band"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, Integral) or not 1 <= int(v) <= 100_000):
                raise InputError(f"Raster '{self.label}': '{key}' {v!r} is not a band number (1, 2, ...).")
        for key in ("scale", "add_offset", "nodata"):
            v = getattr(self, key)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, Real):
                raise InputError(f"Raster '{self.label}': '{key}' {v!r} is not a number.")
            if key != "nodata" and not math.isfinite(v):
                raise InputError(f"Raster '{self.label}': '{key}' {v!r} is not a finite number.")
        if self.scale == 0:
            raise InputError(
                f"Raster '{self.label}': 'scale' 0 would turn every value into 0; give the factor that turns the values "
                "into NDVI or reflectance (e.g. 0.0001), or none for the product's own."
            )

    @property
    def effective_mask_kind(self) -> str:
        """The mask kind used: the source's, else its product's QA kind, else ``scl``."""
        return self.mask_kind or get_product(self.product).mask_kind or "scl"

    @property
    def label(self) -> str:
        """The name messages use: the layer name, else the file name."""
        return self.name or Path(self.path).name

    def with_name(self, name: str) -> NdviSource:
        """The same source, called ``name`` in messages."""
        return replace(self, name=name)


def _band(ds: gdal.Dataset, number: int, label: str) -> gdal.Band:
    if not 1 <= number <= ds.RasterCount:
        raise InputError(f"'{label}' has {ds.RasterCount} band(s); band {number} does not exist. Check the band settings.")
    return ds.GetRasterBand(number)


def _nodata(source: NdviSource, band: gdal.Band) -> float | None:
    return source.nodata if source.nodata is not None else band.GetNoDataValue()


def _mask_outside(dns: tuple[np.ndarray, ...], valid: tuple[float, float], label: str, product: str) -> None:
    """Mask (NaN, in the first array) the pixels of ``dns`` outside the product's valid DN range, saying how many.

    A few are saturated or defective pixels; most of them means the raster is not of this product.

    Raises:
        InputError: more than half the valid pixels are outside the range, naming the file.
    """
    finite = np.all([np.isfinite(d) for d in dns], axis=0)
    bad = finite & np.any([(d < valid[0]) | (d > valid[1]) for d in dns], axis=0)
    if not bad.any():
        return
    n_bad, n = int(bad.sum()), int(finite.sum())
    if n >= 100 and n_bad > n / 2:
        values = np.concatenate([d[finite] for d in dns])
        raise InputError(
            f"'{label}': {100 * n_bad / n:.0f} % of its pixels lie outside the valid range of product {product} "
            f"({valid[0]:g} to {valid[1]:g}; values from {values.min():.6g} to {values.max():.6g}). Is it another "
            "product (NDVI already, another scale or sensor)? Choose the product that matches the file."
        )
    log.warning("%s: %d pixel(s) outside the valid DN range %s were masked", label, n_bad, valid)
    dns[0][bad] = np.nan


def read_mask_invalid(source: NdviSource, ds: gdal.Dataset, window: Window | None) -> np.ndarray | None:
    """True where ``source``'s mask marks a pixel invalid, on ``ds``'s grid (nearest resampling); None without a mask.

    Raises:
        InputError: the mask holds values its kind never holds (a mask of another kind).
    """
    if not source.mask_path:
        return None
    mds = open_raster(source.mask_path, f"mask of {source.label}")
    same_size = (mds.RasterXSize, mds.RasterYSize) == (ds.RasterXSize, ds.RasterYSize)
    if not (has_real_crs(ds) and has_real_crs(mds)):  # a pixel grid (no CRS or a local one): pixel-aligned or nothing
        if not same_size:
            raise InputError(
                f"The mask of '{source.label}' ({Path(source.mask_path).name}) is {mds.RasterXSize} x {mds.RasterYSize} px, "
                f"the image {ds.RasterXSize} x {ds.RasterYSize}; without a CRS (or with a local one) a mask must be on the "
                "image's own pixel grid."
            )
    elif not same_size or mds.GetGeoTransform() != ds.GetGeoTransform():
        gt = ds.GetGeoTransform()
        bounds = (gt[0], gt[3] + gt[5] * ds.RasterYSize, gt[0] + gt[1] * ds.RasterXSize, gt[3])
        mds = gdal.Warp(
            "",
            mds,
            format="VRT",
            outputBounds=bounds,
            width=ds.RasterXSize,
            height=ds.RasterYSize,
            dstSRS=ds.GetProjection() or None,
            resampleAlg="near",
        )
    values = read_window(_band(mds, source.mask_band, f"mask of {source.label}"), window).astype(np.int64)
    if source.mask_valid is not None:
        return ~np.isin(values, source.mask_valid)
    kind = get_mask_kind(source.effective_mask_kind)
    if kind.domain is not None:
        foreign = values[~np.isin(values, kind.domain)]
        if foreign.size:
            raise InputError(
                f"The mask of '{source.label}' ({Path(source.mask_path).name}) holds values such as "
                f"{', '.join(str(v) for v in np.unique(foreign)[:5])} that a '{kind.name}' mask never holds "
                f"({kind.description}). Choose its mask kind, or list its valid values (mask_valid)."
            )
    return kind.invalid(values)


def red_nir_bands(source: NdviSource) -> tuple[int, int]:
    """The band numbers of red and NIR of a red/NIR source: its own, else its product's (1 and 1 with a NIR file).

    Raises:
        InputError: neither the source nor its product says them, naming the raster.
    """
    product = get_product(source.product, source.label)
    red = source.red_band or product.red_band or (1 if source.nir_path else None)
    nir = source.nir_band or (1 if source.nir_path else product.nir_band)
    if red is None or nir is None:
        raise InputError(
            f"'{source.label}' (product {product.name}): say which bands hold red and NIR (red_band, nir_band), "
            "or give the NIR file (nir_path)."
        )
    if red == nir and (not source.nir_path or os.path.realpath(source.nir_path) == os.path.realpath(source.path)):
        raise InputError(
            f"'{source.label}' (product {product.name}): red and NIR are both band {red} (red_band, nir_band), which "
            "gives an NDVI of 0 everywhere; give the band that holds each."
        )
    return red, nir


def read_ndvi(source: NdviSource, window: Window | None = None, ds: gdal.Dataset | None = None) -> np.ndarray:
    """NDVI of ``source`` (the whole raster or one window) as float32, NaN where unknown.

    Args:
        source: the raster and how to read it.
        window: ``(xoff, yoff, xsize, ysize)``; None reads everything.
        ds: the raster already open (saves reopening it block after block).

    Returns:
        NDVI in [-1, 1] with NaN for nodata, fill, masked and undefined pixels.

    Raises:
        InputError: single-band NDVI outside [-1, 1] after scaling (the message suggests the scale;
            NDVI stored x 10000 is the usual cause), an unknown product or a missing band. For
            red/NIR products, DNs outside the product's valid range are masked and counted in the
            log, never clipped.
    """
    product = get_product(source.product, source.label)
    ds = ds or open_raster(source.path, source.label)
    if product.is_ndvi:
        band = _band(ds, source.band, source.label)
        dn = nodata_to_nan(read_window(band, window), [_nodata(source, band), product.fill])
        if product.valid_dn is not None:
            _mask_outside((dn,), product.valid_dn, source.label, product.name)
        if product.name == "ndvi":  # the band's own scale, unless the source says
            scale = source.scale if source.scale is not None else (band.GetScale() or 1.0)
            offset = source.add_offset if source.add_offset is not None else (band.GetOffset() or 0.0)
        else:  # a known product: its scale (HDF files declare theirs in other conventions)
            scale = source.scale if source.scale is not None else product.scale
            offset = source.add_offset if source.add_offset is not None else product.add_offset
        ndvi = dn * scale + offset
        finite = ndvi[np.isfinite(ndvi)]
        if finite.size and (finite.min() < -1.0001 or finite.max() > 1.0001):
            hint = (
                " It looks like NDVI x 10000 (set the scale to 0.0001) or reflectance: if it is a red/NIR product, "
                "choose that product instead of NDVI."
                if finite.max() > 100
                else ""
            )
            raise InputError(
                f"'{source.label}' has NDVI values from {finite.min():.4g} to {finite.max():.4g}, outside [-1, 1]."
                f"{hint} Check the product and scale settings of this layer."
            )
    else:
        red_number, nir_number = red_nir_bands(source)
        red_band = _band(ds, red_number, source.label)
        nir_ds = open_raster(source.nir_path, f"NIR of {source.label}") if source.nir_path else ds
        nir_band = _band(nir_ds, nir_number, f"NIR of {source.label}")
        red_dn = nodata_to_nan(read_window(red_band, window), [_nodata(source, red_band), product.fill])
        nir_dn = nodata_to_nan(read_window(nir_band, window), [_nodata(source, nir_band), product.fill])
        if product.valid_dn is not None:
            _mask_outside((red_dn, nir_dn), product.valid_dn, source.label, product.name)
        scale = source.scale if source.scale is not None else product.scale
        offset = source.add_offset if source.add_offset is not None else product.add_offset
        red = (red_dn + offset) * scale
        nir = (nir_dn + offset) * scale
        with np.errstate(invalid="ignore", divide="ignore"):
            total = nir + red
            ndvi = np.where(total > 0, (nir - red) / total, np.nan)
            out_of_range = np.isfinite(ndvi) & ((ndvi < -1) | (ndvi > 1))
        if out_of_range.any():  # a negative reflectance after the offset: undefined NDVI
            log.warning(
                "%s: %d pixel(s) with a negative reflectance give NDVI outside [-1, 1]; masked",
                source.label,
                int(out_of_range.sum()),
            )
            ndvi[out_of_range] = np.nan
    invalid = read_mask_invalid(source, ds, window)
    if invalid is not None:
        ndvi[invalid] = np.nan
    return ndvi.astype(np.float32)
