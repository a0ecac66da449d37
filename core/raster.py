"""Reading NDVI from GDAL rasters and writing GeoTIFFs safely.

An :class:`NdviSource` says how to get NDVI out of one raster: a single NDVI band, or red and NIR
bands of a known product with its scale, offset and fill value. Nodata, fill values and cloud masks
become NaN, never zeros. All reads accept a window so that large rasters are processed in blocks.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from .errors import InputError

gdal.UseExceptions()
log = logging.getLogger("tsstfn")

Window = tuple[int, int, int, int]  # xoff, yoff, xsize, ysize


@dataclass(frozen=True)
class Product:
    """How a product stores reflectance: ``reflectance = (DN + add_offset) * scale``."""

    name: str
    red_band: int | None
    nir_band: int | None
    scale: float
    add_offset: float
    fill: float | None
    valid_dn: tuple[float, float] | None  # valid DN range, outside is masked and reported


PRODUCTS: dict[str, Product] = {
    # single-band NDVI, values in [-1, 1] (give scale=0.0001 for NDVI stored as integers x 10000)
    "ndvi": Product("ndvi", None, None, 1.0, 0.0, None, None),
    # MOD09GQ / MYD09GQ: sur_refl_b01 (red), sur_refl_b02 (NIR), scale 0.0001, fill -28672
    "mod09gq": Product("mod09gq", 1, 2, 0.0001, 0.0, -28672, (-100, 16000)),
    # Sentinel-2 L2A processing baseline 04.00+ (from 25 January 2022): BOA_ADD_OFFSET -1000
    "s2_l2a": Product("s2_l2a", 1, 2, 0.0001, -1000.0, 0, (1, 65534)),
    # Sentinel-2 L2A before baseline 04.00: no offset
    "s2_l2a_legacy": Product("s2_l2a_legacy", 1, 2, 0.0001, 0.0, 0, (1, 65534)),
}

#: Sentinel-2 scene classification classes treated as invalid: no data, saturated/defective,
#: cloud shadow, cloud medium/high probability, thin cirrus, snow.
SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)


@dataclass(frozen=True)
class NdviSource:
    """One raster and how to read NDVI from it.

    Attributes:
        path: the raster (anything GDAL opens).
        product: a key of :data:`PRODUCTS`.
        band: the NDVI band (product ``ndvi``).
        red_band, nir_band: override the product's red/NIR band numbers.
        nir_path: NIR in another file (Sentinel-2 ``B08`` beside ``B04``); ``path`` is then red.
        scale, add_offset: override the product's; for ``ndvi`` ``scale`` rescales the band.
        nodata: override the file's nodata value.
        mask_path: cloud/QA mask raster, resampled (nearest) onto this raster's grid.
        mask_kind: ``scl`` (Sentinel-2 scene classification), ``modis_state`` (MOD09GA state_1km
            bits) or ``binary`` (non-zero means cloud).
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
    mask_kind: str = "scl"
    name: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return self.name or Path(self.path).name

    def with_name(self, name: str) -> NdviSource:
        return replace(self, name=name)


def open_raster(path: str, label: str | None = None) -> gdal.Dataset:
    """Open a raster read-only, with a clear error naming it."""
    label = label or Path(str(path)).name
    if not str(path) or (not os.path.exists(path) and not str(path).startswith(("/vsi", "NETCDF:", "HDF"))):
        raise InputError(f"Raster '{label}' not found at '{path}'. Check the path or re-add the layer.")
    try:
        ds = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise InputError(f"GDAL cannot read '{label}' ({path}): {exc}. Is it a raster file?") from None
    if ds is None or ds.RasterCount == 0:
        raise InputError(f"'{label}' ({path}) holds no raster band.")
    return ds


def srs_of(ds: gdal.Dataset, label: str) -> osr.SpatialReference:
    """The dataset's CRS; a missing CRS is an :class:`InputError` that says how to set one."""
    wkt = ds.GetProjection()
    if not wkt:
        raise InputError(
            f"Layer '{label}' has no coordinate reference system. Set it in QGIS (Layer Properties > "
            "Source > Assigned CRS, then export) or with: gdal_edit.py -a_srs EPSG:XXXX <file>"
        )
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _band(ds: gdal.Dataset, number: int, label: str) -> gdal.Band:
    if not 1 <= number <= ds.RasterCount:
        raise InputError(f"'{label}' has {ds.RasterCount} band(s); band {number} does not exist. Check the band settings.")
    return ds.GetRasterBand(number)


def _read(band: gdal.Band, window: Window | None) -> np.ndarray:
    if window is None:
        return band.ReadAsArray()
    return band.ReadAsArray(*window)


def _invalid_from_mask(mask: np.ndarray, kind: str) -> np.ndarray:
    mask = mask.astype(np.int64)
    if kind == "scl":
        return np.isin(mask, SCL_INVALID)
    if kind == "modis_state":
        cloud_state = mask & 0b11  # 00 clear, 01 cloudy, 10 mixed, 11 not set (assumed clear)
        shadow = (mask >> 2) & 1
        internal_cloud = (mask >> 10) & 1
        return (cloud_state == 1) | (cloud_state == 2) | (shadow == 1) | (internal_cloud == 1)
    if kind == "binary":
        return mask != 0
    raise InputError(f"Unknown mask kind '{kind}'; use 'scl', 'modis_state' or 'binary'.")


def read_mask_invalid(source: NdviSource, ds: gdal.Dataset, window: Window | None) -> np.ndarray | None:
    """Boolean array, True where the mask says cloud/invalid, on ``ds``'s grid (nearest resampling)."""
    if not source.mask_path:
        return None
    mds = open_raster(source.mask_path, f"mask of {source.label}")
    if (mds.RasterXSize, mds.RasterYSize) != (ds.RasterXSize, ds.RasterYSize) or mds.GetGeoTransform() != ds.GetGeoTransform():
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
    return _invalid_from_mask(_read(mds.GetRasterBand(1), window), source.mask_kind)


def _nodata_to_nan(values: np.ndarray, band: gdal.Band, override: float | None, extra_fill: float | None) -> np.ndarray:
    out = values.astype(np.float64)
    for nd in (override if override is not None else band.GetNoDataValue(), extra_fill):
        if nd is not None:
            out[np.isnan(out) if np.isnan(nd) else out == nd] = np.nan
    return out


def read_ndvi(source: NdviSource, window: Window | None = None, ds: gdal.Dataset | None = None) -> np.ndarray:
    """NDVI of ``source`` (whole raster or ``window``) as float32, NaN where unknown.

    Single-band NDVI outside [-1, 1] after scaling raises :class:`InputError` suggesting the scale
    (NDVI stored x 10000 is the usual cause). For red/NIR products, DNs outside the product's valid
    range are masked and counted in the log, never clipped.
    """
    product = PRODUCTS.get(source.product)
    if product is None:
        raise InputError(f"'{source.label}': unknown product '{source.product}'; use one of {', '.join(PRODUCTS)}.")
    ds = ds or open_raster(source.path, source.label)
    if product.name == "ndvi":
        band = _band(ds, source.band, source.label)
        ndvi = _nodata_to_nan(_read(band, window), band, source.nodata, None)
        scale = source.scale if source.scale is not None else (band.GetScale() or 1.0)
        offset = source.add_offset if source.add_offset is not None else (band.GetOffset() or 0.0)
        ndvi = ndvi * scale + offset
        finite = ndvi[np.isfinite(ndvi)]
        if finite.size and (finite.min() < -1.0001 or finite.max() > 1.0001):
            hint = " It looks like NDVI x 10000: set the scale to 0.0001." if finite.max() > 100 else ""
            raise InputError(
                f"'{source.label}' has NDVI values from {finite.min():.4g} to {finite.max():.4g}, outside [-1, 1]."
                f"{hint} Check the product and scale settings of this layer."
            )
    else:
        red_band = _band(ds, source.red_band or product.red_band, source.label)
        nir_ds = open_raster(source.nir_path, f"NIR of {source.label}") if source.nir_path else ds
        nir_band = _band(nir_ds, source.nir_band or (1 if source.nir_path else product.nir_band), source.label)
        red_dn = _nodata_to_nan(_read(red_band, window), red_band, source.nodata, product.fill)
        nir_dn = _nodata_to_nan(_read(nir_band, window), nir_band, source.nodata, product.fill)
        if product.valid_dn is not None:
            lo, hi = product.valid_dn
            bad = ((red_dn < lo) | (red_dn > hi) | (nir_dn < lo) | (nir_dn > hi)) & np.isfinite(red_dn) & np.isfinite(nir_dn)
            if bad.any():
                log.warning(
                    "%s: %d pixel(s) outside the valid DN range %s were masked", source.label, int(bad.sum()), product.valid_dn
                )
                red_dn[bad] = np.nan
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


# Writing -----------------------------------------------------------------------------------

GTIFF_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER", "BLOCKXSIZE=256", "BLOCKYSIZE=256"]


def temporary_path(final: str | Path) -> Path:
    """A temporary path beside ``final`` (same file system, so that the rename is atomic)."""
    final = Path(final)
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.part{final.suffix}")


@contextmanager
def atomic_output(final: str | Path, inputs: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``final``, on any error remove it.

    Refuses to overwrite any of ``inputs`` (an output must never replace an input).
    """
    final = Path(final)
    for item in inputs:
        if item and os.path.exists(item) and os.path.exists(final) and os.path.samefile(item, final):
            raise InputError(f"Output '{final}' is one of the inputs; choose another output name.")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        yield tmp
        os.replace(tmp, final)
        aux = Path(str(tmp) + ".aux.xml")
        if aux.exists():
            os.replace(aux, str(final) + ".aux.xml")
    except BaseException:
        for leftover in (tmp, Path(str(tmp) + ".aux.xml")):
            if leftover.exists():
                leftover.unlink()
        raise


def create_geotiff(
    path: str | Path, grid, bands: int = 1, dtype=gdal.GDT_Float32, nodata: float | None = float("nan"), options=None
) -> gdal.Dataset:
    """A tiled, compressed GeoTIFF on ``grid`` (a :class:`~.align.Grid`)."""
    opts = list(options or GTIFF_OPTIONS)
    if dtype not in (gdal.GDT_Float32, gdal.GDT_Float64):
        opts = [o for o in opts if not o.startswith("PREDICTOR")]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), grid.width, grid.height, bands, dtype, opts)
    ds.SetGeoTransform(grid.geotransform)
    ds.SetProjection(grid.crs_wkt)
    if nodata is not None:
        for b in range(1, bands + 1):
            ds.GetRasterBand(b).SetNoDataValue(nodata)
    return ds


def write_array(
    path: str | Path, array: np.ndarray, grid, nodata: float | None = float("nan"), dtype=gdal.GDT_Float32, description: str = ""
) -> Path:
    """Write a 2-D (or 3-D, bands first) array as a GeoTIFF on ``grid``, atomically."""
    arr = array[None] if array.ndim == 2 else array
    with atomic_output(path) as tmp:
        ds = create_geotiff(tmp, grid, arr.shape[0], dtype, nodata)
        for i, a in enumerate(arr, start=1):
            band = ds.GetRasterBand(i)
            band.WriteArray(a)
            if description:
                band.SetDescription(description if arr.shape[0] == 1 else f"{description} {i}")
        ds.FlushCache()
        ds = None
    return Path(path)


def read_array(path: str | Path, window: Window | None = None, band: int = 1) -> np.ndarray:
    """A float32 band with nodata as NaN (for the project's own intermediate files)."""
    ds = open_raster(str(path))
    b = ds.GetRasterBand(band)
    return _nodata_to_nan(_read(b, window), b, None, None).astype(np.float32)


def tempdir(prefix: str = "tsstfn_") -> str:
    return tempfile.mkdtemp(prefix=prefix)
