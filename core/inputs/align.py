"""Spatial alignment (paper 2.1): every NDVI raster onto one fine-sensor grid.

MODIS rasters (sinusoidal or any CRS) are turned into NDVI at their own resolution, then warped
with GDAL's cubic resampling onto the grid (CRS, transform, size) of the Sentinel-2 reference.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..callbacks import CancelFn, check_cancelled, never_cancelled
from ..errors import InputError
from ..files import atomic_output, create_geotiff, open_raster, temporary_path
from .containers import resolve_source
from .grid import LOCAL_CRS_WORDS, Grid, has_real_crs, transform_bounds
from .ndvi import NdviSource, read_ndvi
from .products import get_product

log = logging.getLogger("tsstfn")
BLOCK = 1024  # rows/cols per block when computing NDVI at source resolution


def overlap_fraction(ds: gdal.Dataset, grid: Grid, label: str) -> float:
    """Fraction of ``grid``'s area that ``ds`` covers.

    Raises:
        InputError: ``ds`` does not overlap ``grid``; the message names the layer and both extents.
    """
    src_grid = Grid.from_dataset(ds, label)
    b = transform_bounds(src_grid.bounds, src_grid.srs, grid.srs)
    g = grid.bounds
    ix = max(0.0, min(b[2], g[2]) - max(b[0], g[0]))
    iy = max(0.0, min(b[3], g[3]) - max(b[1], g[1]))
    fraction = ix * iy / ((g[2] - g[0]) * (g[3] - g[1]))
    if fraction <= 0:
        raise InputError(
            f"Layer '{label}' does not overlap the study area: it covers x {b[0]:.0f}..{b[2]:.0f}, "
            f"y {b[1]:.0f}..{b[3]:.0f} while the Sentinel-2 grid covers x {g[0]:.0f}..{g[2]:.0f}, "
            f"y {g[1]:.0f}..{g[3]:.0f} (in the grid's CRS). Check that it is the right tile and CRS."
        )
    return fraction


def _source_window(ds: gdal.Dataset, grid: Grid, label: str, margin: int = 4) -> tuple[int, int, int, int]:
    """The window of ``ds`` that covers ``grid`` plus ``margin`` pixels (for cubic resampling)."""
    src_grid = Grid.from_dataset(ds, label)
    b = transform_bounds(grid.bounds, grid.srs, src_grid.srs)
    x0, dx, _, y0, _, dy = src_grid.geotransform
    cols = sorted(((b[0] - x0) / dx, (b[2] - x0) / dx))
    rows = sorted(((b[1] - y0) / dy, (b[3] - y0) / dy))
    c0 = max(0, math.floor(cols[0]) - margin)
    c1 = min(ds.RasterXSize, math.ceil(cols[1]) + margin)
    r0 = max(0, math.floor(rows[0]) - margin)
    r1 = min(ds.RasterYSize, math.ceil(rows[1]) + margin)
    return c0, r0, max(1, c1 - c0), max(1, r1 - r0)


def ndvi_to_grid(
    source: NdviSource,
    grid: Grid,
    out_path: str | Path,
    resampling: str = "cubic",
    is_cancelled: CancelFn = never_cancelled,
) -> Path:
    """Write ``source``'s NDVI on ``grid`` as a float32 GeoTIFF (NaN nodata), atomically.

    NDVI is computed at the source's own resolution first (index-then-blend, as in the paper),
    block by block over the part of the source that covers the grid, then warped with GDAL.

    Args:
        source: the raster and how to read NDVI from it.
        grid: the target grid.
        out_path: the GeoTIFF to write.
        resampling: GDAL resampling algorithm.
        is_cancelled: checked between blocks.

    Returns:
        ``out_path``.

    Raises:
        InputError: no CRS, no overlap, or no valid pixel over the grid.
    """
    source = resolve_source(source)
    ds = open_raster(source.path, source.label)
    if not grid.has_crs:
        return _copy_onto_pixel_grid(source, ds, grid, Path(out_path), is_cancelled)
    fraction = overlap_fraction(ds, grid, source.label)
    if fraction < 0.999:
        log.warning("%s covers only %.1f%% of the study area; the rest will be NaN", source.label, 100 * fraction)
    src_grid = Grid.from_dataset(ds, source.label)
    out_path = Path(out_path)
    with atomic_output(out_path, inputs=(source.path,)) as tmp:
        if src_grid.same_as(grid):
            _copy_ndvi(source, ds, grid, tmp, is_cancelled)
        else:
            xoff, yoff, w, h = _source_window(ds, grid, source.label)
            native = temporary_path(out_path.with_suffix(".native.tif"))
            try:
                _copy_ndvi(source, ds, src_grid.window_grid(xoff, yoff, w, h), native, is_cancelled, (xoff, yoff))
                check_cancelled(is_cancelled)
                warp = gdal.Warp(
                    str(tmp),
                    str(native),
                    format="GTiff",
                    outputBounds=grid.bounds,
                    width=grid.width,
                    height=grid.height,
                    dstSRS=grid.crs_wkt,
                    resampleAlg=resampling,
                    srcNodata=float("nan"),
                    dstNodata=float("nan"),
                    outputType=gdal.GDT_Float32,
                    creationOptions=["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3"],
                    # NUM_THREADS computes on every core; no `multithread` (I/O overlap): with it GDAL swallows read errors
                    # and writes NaN (OSGeo/gdal#3372, #11904), seen once as an all-NaN tile in a two-worker region run
                    warpOptions=["NUM_THREADS=ALL_CPUS"],
                )
                warp = None  # noqa: F841 (closes the file)
            finally:
                if native.exists():
                    native.unlink()
        _check_not_empty(tmp, source.label, source)
    return out_path


def _copy_onto_pixel_grid(source: NdviSource, ds: gdal.Dataset, grid: Grid, out_path: Path, is_cancelled: CancelFn) -> Path:
    """A raster on a pixel grid (no CRS, or a local one): used as it is, when it has the grid's size."""
    if has_real_crs(ds):
        raise InputError(
            f"'{source.label}' has a coordinate reference system while the job assumes pixel-aligned rasters without one "
            "(assume_aligned): give every input a CRS (and drop assume_aligned), or none."
        )
    if (ds.RasterXSize, ds.RasterYSize) != (grid.width, grid.height):
        raise InputError(
            f"'{source.label}' is {ds.RasterXSize} x {ds.RasterYSize} px, not on the {grid.width} x {grid.height} px grid of "
            "the other rasters; without a CRS (assume_aligned) every input must be on one pixel grid."
        )
    with atomic_output(out_path, inputs=(source.path,)) as tmp:
        _copy_ndvi(source, ds, grid, tmp, is_cancelled)
        _check_not_empty(tmp, source.label, source)
    return out_path


def check_crs(sources: Sequence[NdviSource], assume_aligned: bool) -> None:
    """Every raster of a job carries a CRS, or (``assume_aligned``) none does; reads headers only.

    A local/engineering CRS (ENVI ``Arbitrary``) counts as none (:func:`~.grid.has_real_crs`).

    Raises:
        InputError: a mix of rasters with and without a CRS, naming one of each; a raster without a
            CRS in a job that does not assume pixel-aligned rasters.
    """
    with_crs: list[str] = []
    without: list[str] = []
    local: list[str] = []
    for source in sources:
        resolved = resolve_source(source)
        ds = open_raster(resolved.path, resolved.label)
        (with_crs if has_real_crs(ds) else without).append(resolved.label)
        if ds.GetProjection() and not has_real_crs(ds):
            local.append(resolved.label)
    note = f" ('{local[0]}' has {LOCAL_CRS_WORDS})" if local else ""
    if with_crs and without:
        raise InputError(
            f"Some rasters have a coordinate reference system ('{with_crs[0]}') and some have none ('{without[0]}'){note}: "
            "give every input a CRS, or none and set assume_aligned (all on one pixel grid)."
        )
    if without and not assume_aligned:
        raise InputError(
            f"'{without[0]}' has no coordinate reference system{note} (nor has any other input). If every input is on one "
            "pixel grid (a fusion benchmark set), set assume_aligned: true; otherwise assign each raster its CRS "
            "(gdal_edit.py -a_srs EPSG:XXXX <file>)."
        )
    if with_crs and assume_aligned:
        log.warning("assume_aligned is set but every input has a CRS: aligning by CRS as usual")


def _copy_ndvi(
    source: NdviSource, ds: gdal.Dataset, grid: Grid, path: Path, is_cancelled: CancelFn, offset: tuple[int, int] = (0, 0)
) -> None:
    out = create_geotiff(path, grid)
    band = out.GetRasterBand(1)
    for y in range(0, grid.height, BLOCK):
        check_cancelled(is_cancelled)
        h = min(BLOCK, grid.height - y)
        for x in range(0, grid.width, BLOCK):
            w = min(BLOCK, grid.width - x)
            band.WriteArray(read_ndvi(source, (offset[0] + x, offset[1] + y, w, h), ds=ds), x, y)
    out.FlushCache()


def _raw_values(source: NdviSource) -> tuple[float, float, str] | None:
    """The range and data type of the raw values of ``source``'s first band (a sample), or None where all are nodata."""
    try:
        ds = gdal.Open(str(source.path))
        band = ds.GetRasterBand(source.red_band or source.band or 1)
        h = min(ds.RasterYSize, 512)
        values = band.ReadAsArray(0, 0, min(ds.RasterXSize, 4096), h).astype(np.float64)
    except (RuntimeError, AttributeError):
        return None
    nodata = source.nodata if source.nodata is not None else band.GetNoDataValue()
    valid = np.isfinite(values) & ((values != nodata) if nodata is not None and np.isfinite(nodata) else True)
    if not valid.any():
        return None
    return float(values[valid].min()), float(values[valid].max()), gdal.GetDataTypeName(band.DataType)


def _check_not_empty(path: Path, label: str, source: NdviSource | None = None) -> None:
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    for y in range(0, ds.RasterYSize, BLOCK):
        block = band.ReadAsArray(0, y, ds.RasterXSize, min(BLOCK, ds.RasterYSize - y))
        if np.isfinite(block).any():
            return
    raw = _raw_values(source) if source is not None and not source.mask_path else None  # a mask: clouds may hide all
    if raw is not None:  # pixels there, none a valid NDVI: the product or scale is wrong, not the sky
        product = get_product(source.product)  # type: ignore[union-attr]
        raise InputError(
            f"Layer '{label}' holds values ({raw[0]:g} to {raw[1]:g}, {raw[2]}) but none of them gives a valid NDVI as "
            f"product {product.name} (scale {source.scale if source.scale is not None else product.scale:g}): is "  # type: ignore[union-attr]
            "it another product, another scale or a class raster? Choose the product and scale that match the file."
        )
    raise InputError(
        f"Layer '{label}' has no valid pixel over the study area (all nodata, fill or masked as cloud). "
        "Remove it from the job or choose another date."
    )
