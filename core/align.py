"""Spatial alignment (paper 2.1): every NDVI raster onto one Sentinel-2 grid.

MODIS rasters (sinusoidal or any CRS) are turned into NDVI at their own resolution, then warped
with GDAL's cubic resampling onto the grid (CRS, transform, size) of the Sentinel-2 reference.
CRSs are compared by meaning (``OSRSpatialReference::IsSame``), never by WKT text.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from .errors import CancelledError, InputError
from .raster import NdviSource, atomic_output, create_geotiff, open_raster, read_ndvi, srs_of, temporary_path

log = logging.getLogger("tsstfn")
BLOCK = 1024  # rows/cols per block when computing NDVI at source resolution


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (WKT), GDAL geotransform and size in pixels."""

    crs_wkt: str
    geotransform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    @classmethod
    def from_dataset(cls, ds: gdal.Dataset, label: str = "") -> Grid:
        srs_of(ds, label or ds.GetDescription())  # a grid needs a CRS
        return cls(ds.GetProjection(), tuple(ds.GetGeoTransform()), ds.RasterXSize, ds.RasterYSize)

    @classmethod
    def from_raster(cls, path: str, label: str = "") -> Grid:
        return cls.from_dataset(open_raster(path, label), label or Path(path).name)

    @property
    def srs(self) -> osr.SpatialReference:
        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.crs_wkt)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        return srs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) for a north-up grid."""
        x0, dx, _, y0, _, dy = self.geotransform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def resolution(self) -> tuple[float, float]:
        return abs(self.geotransform[1]), abs(self.geotransform[5])

    def same_as(self, other: Grid) -> bool:
        """Same size, same transform (to a micro-pixel) and the same CRS by meaning."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        tol = 1e-6 * max(self.resolution)
        if any(abs(a - b) > tol for a, b in zip(self.geotransform, other.geotransform)):
            return False
        return same_crs(self.srs, other.srs)

    def window_grid(self, xoff: int, yoff: int, width: int, height: int) -> Grid:
        x0, dx, rx, y0, ry, dy = self.geotransform
        return Grid(self.crs_wkt, (x0 + xoff * dx, dx, rx, y0 + yoff * dy, ry, dy), width, height)

    def crop(self, bounds: tuple[float, float, float, float], bounds_wkt: str | None = None) -> Grid:
        """The sub-grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outwards to whole pixels."""
        if bounds_wkt:
            src = osr.SpatialReference()
            src.ImportFromWkt(bounds_wkt)
            src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            bounds = transform_bounds(bounds, src, self.srs)
        x0, dx, _, y0, _, dy = self.geotransform
        c0 = max(0, math.floor((bounds[0] - x0) / dx))
        c1 = min(self.width, math.ceil((bounds[2] - x0) / dx))
        r0 = max(0, math.floor((bounds[3] - y0) / dy))
        r1 = min(self.height, math.ceil((bounds[1] - y0) / dy))
        if c1 <= c0 or r1 <= r0:
            raise InputError("The area of interest does not overlap the Sentinel-2 grid; check its extent and CRS.")
        return self.window_grid(c0, r0, c1 - c0, r1 - r0)


def same_crs(a: osr.SpatialReference, b: osr.SpatialReference) -> bool:
    """True when two CRSs mean the same (data axis order ignored)."""
    return bool(a.IsSame(b, ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES"]))


def transform_bounds(bounds, src: osr.SpatialReference, dst: osr.SpatialReference) -> tuple[float, float, float, float]:
    """Bounds transformed with densified edges (21 points a side)."""
    if same_crs(src, dst):
        return tuple(bounds)
    ct = osr.CoordinateTransformation(src, dst)
    return tuple(ct.TransformBounds(bounds[0], bounds[1], bounds[2], bounds[3], 21))


def overlap_fraction(ds: gdal.Dataset, grid: Grid, label: str) -> float:
    """Fraction of ``grid``'s area that ``ds`` covers; an :class:`InputError` when it is zero."""
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
    is_cancelled=lambda: False,
) -> Path:
    """Write ``source``'s NDVI on ``grid`` as a float32 GeoTIFF (NaN nodata), atomically.

    NDVI is computed at the source's own resolution first (index-then-blend, as in the paper),
    block by block over the part of the source that covers the grid, then warped with GDAL.

    Raises:
        InputError: no CRS, no overlap, or no valid pixel over the grid.
    """
    ds = open_raster(source.path, source.label)
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
                if is_cancelled():
                    raise CancelledError()
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
                    warpOptions=["NUM_THREADS=ALL_CPUS"],
                    multithread=True,
                )
                warp = None  # noqa: F841 (closes the file)
            finally:
                if native.exists():
                    native.unlink()
        _check_not_empty(tmp, source.label)
    return out_path


def _copy_ndvi(source, ds, grid: Grid, path, is_cancelled, offset=(0, 0)) -> None:
    out = create_geotiff(path, grid)
    band = out.GetRasterBand(1)
    for y in range(0, grid.height, BLOCK):
        if is_cancelled():
            raise CancelledError()
        h = min(BLOCK, grid.height - y)
        for x in range(0, grid.width, BLOCK):
            w = min(BLOCK, grid.width - x)
            band.WriteArray(read_ndvi(source, (offset[0] + x, offset[1] + y, w, h), ds=ds), x, y)
    out.FlushCache()


def _check_not_empty(path, label: str) -> None:
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    for y in range(0, ds.RasterYSize, BLOCK):
        block = band.ReadAsArray(0, y, ds.RasterXSize, min(BLOCK, ds.RasterYSize - y))
        if np.isfinite(block).any():
            return
    raise InputError(
        f"Layer '{label}' has no valid pixel over the study area (all nodata, fill or masked as cloud). "
        "Remove it from the job or choose another date."
    )


def reference_grid(
    path: str, label: str = "", aoi: tuple[float, float, float, float] | None = None, aoi_wkt: str | None = None
) -> Grid:
    """The Sentinel-2 grid everything is aligned to, optionally cropped to an area of interest."""
    grid = Grid.from_raster(path, label)
    return grid.crop(aoi, aoi_wkt) if aoi else grid


def remove_quietly(*paths) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass
