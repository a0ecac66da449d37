"""The raster grid every input is aligned to: CRS, geotransform and size.

CRSs are compared by meaning (``OSRSpatialReference::IsSame``), never by WKT text.

**A local CRS is no CRS.** A raster "has a CRS" only when its CRS has a geographic base
(:func:`has_real_crs`): ENVI's ``map info = {Arbitrary, ...}``, GDAL's ``LOCAL_CS`` and WKT2's
``ENGCRS`` (an engineering CRS) place pixels in a plane nobody else shares, so such a raster is a
*pixel grid* like one without any CRS: it cannot be reprojected or overlaid, it needs
``assume_aligned``, and its pixel size comes from its geotransform unless that is GDAL's default
identity (:func:`pixel_size_of`), else from the job's ``pixel_size_m``. Every check that asks whether
a raster has a CRS asks these functions.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from osgeo import gdal, osr

from ..errors import InputError
from ..files import open_raster

log = logging.getLogger("tsstfn")

#: what a local CRS is called in messages
LOCAL_CRS_WORDS = "a local/engineering CRS (e.g. ENVI's 'Arbitrary'), which counts as none"


def is_local_crs(srs: osr.SpatialReference | None) -> bool:
    """Whether ``srs`` is a local or engineering CRS (``LOCAL_CS``, ``ENGCRS``, ENVI ``Arbitrary``): no geographic base.

    None (no CRS at all) is not local; ask :func:`has_real_crs` for "is there a usable CRS".
    """
    if srs is None:
        return False
    if srs.IsLocal():
        return True
    return not (srs.IsGeographic() or srs.IsProjected() or srs.IsGeocentric() or srs.IsCompound())


def _srs(wkt: str) -> osr.SpatialReference | None:
    if not wkt:
        return None
    srs = osr.SpatialReference()
    try:
        srs.ImportFromWkt(wkt)
    except RuntimeError:  # text GDAL gave but cannot parse back: no CRS to use
        return None
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def real_crs_wkt(ds: gdal.Dataset) -> str:
    """The dataset's CRS as WKT, or ``""`` when it has none or only a local one (:func:`is_local_crs`)."""
    wkt = ds.GetProjection() or ""
    srs = _srs(wkt)
    return "" if srs is None or is_local_crs(srs) else wkt


def has_real_crs(ds: gdal.Dataset) -> bool:
    """Whether the dataset has a CRS with a geographic base: the one test of "does this raster have a CRS"."""
    return bool(real_crs_wkt(ds))


def is_identity(geotransform: tuple[float, ...] | list[float]) -> bool:
    """Whether a geotransform is GDAL's default for a raster without one: origin 0, unit pixels, no rotation."""
    x0, dx, rx, y0, ry, dy = geotransform
    return x0 == 0 and y0 == 0 and rx == 0 and ry == 0 and abs(dx) == 1 and abs(dy) == 1


def pixel_size_of(ds: gdal.Dataset) -> float | None:
    """The pixel side of a raster without a (real) CRS, from its geotransform; None when that is the identity.

    A local CRS in metres (ENVI ``map info = {Arbitrary, 1, 1, 0, 0, 30, 30, 0, units=Meters}``)
    says 30; GDAL's default ``(0, 1, 0, 0, 0, 1)`` says nothing (the job's ``pixel_size_m`` then).
    Units other than metres are converted with the local CRS's linear unit.
    """
    gt = ds.GetGeoTransform()
    if is_identity(gt):
        return None
    srs = _srs(ds.GetProjection() or "")
    unit = srs.GetLinearUnits() if srs is not None and is_local_crs(srs) else 1.0
    return math.sqrt(abs(gt[1] * gt[5])) * (unit or 1.0)


def srs_of(ds: gdal.Dataset, label: str) -> osr.SpatialReference:
    """The dataset's CRS (a local CRS counts as none, :func:`has_real_crs`).

    Raises:
        InputError: the dataset has no CRS, or a local one; the message says how to set one.
    """
    wkt = real_crs_wkt(ds)
    srs = _srs(wkt)
    if srs is None:
        local = " (only " + LOCAL_CRS_WORDS + ")" if ds.GetProjection() else ""
        raise InputError(
            f"Layer '{label}' has no coordinate reference system{local}. Set it in QGIS (Layer Properties > "
            "Source > Assigned CRS, then export) or with: gdal_edit.py -a_srs EPSG:XXXX <file>; or, if every "
            "input is on one pixel grid, tick 'rasters without CRS' (assume_aligned)."
        )
    return srs


def same_crs(a: osr.SpatialReference, b: osr.SpatialReference) -> bool:
    """True when two CRSs mean the same (data axis order ignored)."""
    return bool(a.IsSame(b, ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES"]))


def transform_bounds(
    bounds: tuple[float, float, float, float], src: osr.SpatialReference, dst: osr.SpatialReference
) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` from ``src`` to ``dst`` with densified edges (21 points a side)."""
    if same_crs(src, dst):
        return (bounds[0], bounds[1], bounds[2], bounds[3])
    ct = osr.CoordinateTransformation(src, dst)
    b = ct.TransformBounds(bounds[0], bounds[1], bounds[2], bounds[3], 21)
    return (b[0], b[1], b[2], b[3])


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (WKT), GDAL geotransform and size in pixels.

    A *pixel grid* has no CRS (``crs_wkt`` empty; a local CRS counts as none): rasters on it are
    pixel-aligned by assumption (``assume_aligned``), and ``pixel_size_m`` says how large a pixel is
    (from the geotransform, :func:`pixel_size_of`, or the job).
    """

    crs_wkt: str
    geotransform: tuple[float, float, float, float, float, float]
    width: int
    height: int
    pixel_size_m: float | None = None

    @classmethod
    def from_dataset(cls, ds: gdal.Dataset, label: str = "", allow_no_crs: bool = False) -> Grid:
        """The grid of an open dataset, which must have a CRS unless ``allow_no_crs``.

        A raster without a CRS, or with a local one, gives a pixel grid (``crs_wkt`` empty) whose
        ``pixel_size_m`` is :func:`pixel_size_of` (None for GDAL's identity geotransform).
        """
        wkt = real_crs_wkt(ds)
        if not (allow_no_crs and not wkt):
            srs_of(ds, label or ds.GetDescription())
        gt = ds.GetGeoTransform()
        size = None if wkt else pixel_size_of(ds)
        return cls(wkt, (gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]), ds.RasterXSize, ds.RasterYSize, size)

    @classmethod
    def from_raster(cls, path: str, label: str = "", allow_no_crs: bool = False) -> Grid:
        """The grid of the raster at ``path``, which must have a CRS unless ``allow_no_crs``."""
        return cls.from_dataset(open_raster(path, label), label or Path(path).name, allow_no_crs)

    @property
    def has_crs(self) -> bool:
        """False for a pixel grid."""
        return bool(self.crs_wkt)

    @property
    def srs(self) -> osr.SpatialReference:
        """The CRS as an OSR object in traditional GIS (x, y) axis order."""
        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.crs_wkt)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        return srs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of a north-up grid."""
        x0, dx, _, y0, _, dy = self.geotransform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (in metres as ``pixel_size_m`` says, for a pixel grid)."""
        if self.pixel_size_m:
            return self.pixel_size_m, self.pixel_size_m
        return abs(self.geotransform[1]), abs(self.geotransform[5])

    @property
    def pixel_area_ha(self) -> float:
        """The area of one pixel in hectares.

        A pixel grid: ``pixel_size_m`` squared. A projected CRS: the pixel's sides in its linear unit.
        A geographic CRS: the pixel at the grid's centre latitude on the WGS 84 mean-radius sphere
        (areas vary with latitude; an equal-area projection is the better choice for area work).
        """
        if not self.has_crs:
            return (self.pixel_size_m or 1.0) ** 2 / 10000.0
        dx, dy = abs(self.geotransform[1]), abs(self.geotransform[5])
        srs = self.srs
        if srs.IsProjected():
            return dx * dy * srs.GetLinearUnits() ** 2 / 10000.0
        radius = 6371008.8
        lat = math.radians((self.bounds[1] + self.bounds[3]) / 2.0)
        return math.radians(dx) * radius * math.cos(lat) * math.radians(dy) * radius / 10000.0

    @property
    def pixel_side_m(self) -> float:
        """The side of a square pixel of :attr:`pixel_area_ha`, in metres (block sizes, default windows)."""
        return math.sqrt(self.pixel_area_ha * 10000.0)

    def same_as(self, other: Grid) -> bool:
        """Same size, same transform (to a micro-pixel) and the same CRS by meaning (two pixel grids: same size)."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        if not self.has_crs or not other.has_crs:
            return not self.has_crs and not other.has_crs
        tol = 1e-6 * max(self.resolution)
        if any(abs(a - b) > tol for a, b in zip(self.geotransform, other.geotransform)):
            return False
        return same_crs(self.srs, other.srs)

    def window_grid(self, xoff: int, yoff: int, width: int, height: int) -> Grid:
        """The sub-grid of the window ``(xoff, yoff, width, height)``."""
        x0, dx, rx, y0, ry, dy = self.geotransform
        return Grid(self.crs_wkt, (x0 + xoff * dx, dx, rx, y0 + yoff * dy, ry, dy), width, height, self.pixel_size_m)

    def crop(self, bounds: tuple[float, float, float, float], bounds_wkt: str | None = None) -> Grid:
        """The sub-grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outwards to whole pixels.

        Raises:
            InputError: the bounds do not overlap the grid.
        """
        if bounds_wkt and self.has_crs:
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


def check_on_grid(paths: list[str], grid: Grid, grid_label: str) -> None:
    """Every raster of ``paths`` lies on ``grid`` (same size, transform and CRS): inputs that are read pixel by pixel.

    Raises:
        InputError: naming the first raster off the grid and what differs.
    """
    for path in paths:
        name = Path(path).name
        other = Grid.from_raster(path, name, allow_no_crs=not grid.has_crs)
        other = Grid(other.crs_wkt, other.geotransform, other.width, other.height, grid.pixel_size_m)
        if not other.same_as(grid):
            raise InputError(
                f"'{name}' is not on the grid of '{grid_label}' ({other.width} x {other.height} px vs {grid.width} x "
                f"{grid.height}, or another origin or CRS). Align it onto that grid first ('Align NDVI to a fine grid')."
            )


def reference_grid(
    path: str,
    label: str = "",
    aoi: tuple[float, float, float, float] | None = None,
    aoi_wkt: str | None = None,
    assume_aligned: bool = False,
    pixel_size_m: float | None = None,
) -> Grid:
    """The grid everything is aligned to (the first fine image's), optionally cropped to an area of interest.

    With ``assume_aligned`` a raster without a CRS (or with a local one) gives a pixel grid: its
    pixel size is the geotransform's where that is not the identity (:func:`pixel_size_of`; a
    different ``pixel_size_m`` is logged and not used), else ``pixel_size_m``.
    """
    grid = Grid.from_raster(path, label, allow_no_crs=assume_aligned)
    if not grid.has_crs:
        own = grid.pixel_size_m
        if own and pixel_size_m and abs(own - pixel_size_m) > 1e-6 * own:
            log.warning(
                "%s: its geotransform gives %g m pixels; the job's pixel_size_m (%g) is not used",
                label or Path(path).name, own, pixel_size_m,
            )  # fmt: skip
        grid = Grid(grid.crs_wkt, grid.geotransform, grid.width, grid.height, own or pixel_size_m)
    return grid.crop(aoi, aoi_wkt) if aoi else grid
