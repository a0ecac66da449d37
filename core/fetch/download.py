"""The windowed download: only the AOI of each COG asset, through GDAL's ``/vsicurl/``, onto the job's grids.

* Fine scenes (red, NIR as two bands; the mask as its own file) are warped onto **one fine grid**:
  the AOI's box in the request's CRS (default: the UTM zone of its centre) at the collection's
  pixel size, snapped to whole pixels; the scenes of one day are mosaicked: each pixel, both bands
  and the mask, from the first scene whose image has data there (a mask without nodata, QA_PIXEL or
  the MODIS state, cannot say where its scene ends).
* Files are warped and written :data:`WINDOW_ROWS` rows at a time in the product's own type: the
  memory is a window's, whatever the AOI.
* MODIS items stay on **their own sinusoidal grid** (the AOI's box snapped to the MODIS pixel grid,
  one pixel of margin); the job warps them onto the fine grid.
* Values are the product's DNs, with its scale, offset and nodata written into the GeoTIFF (band
  scale/offset/nodata and ``TSSTFN_*`` metadata) and the items, assets and dates recorded. Sentinel-2
  scenes processed before baseline 04.00 get the baseline's 1000 added, so that every Sentinel-2
  file is the product ``s2_l2a`` ((DN - 1000) / 10000, the same reflectance).
* Every file is written to a temporary file and renamed when complete (:func:`~..files.atomic_output`);
  a file already complete for the same items on the same grid is kept (resume); a cancel stops within
  one asset's read.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..errors import CancelledError, InputError
from ..files import atomic_output
from .catalog import CollectionSpec, get_collection
from .pairing import Pair
from .remote import gdal_path, remote_options
from .request import FetchRequest
from .search import Scene

gdal.UseExceptions()
#: the MODIS sinusoidal grid: sphere radius, grid origin and 250 m pixel
MODIS_PROJ4 = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
MODIS_ORIGIN = (-20015109.354, 10007554.677)
_MASK_SUFFIX = {"scl": "_SCL", "qa_pixel": "_QA_PIXEL", "modis_state": "_state_QA", "mod13_reliability": "_pixel_reliability"}


@dataclass(frozen=True)
class Grid:
    """A target grid: CRS (WKT), bounds ``(xmin, ymin, xmax, ymax)`` and pixel size."""

    crs_wkt: str
    bounds: tuple[float, float, float, float]
    pixel: float

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        xmin, ymin, xmax, ymax = self.bounds
        return round((xmax - xmin) / self.pixel), round((ymax - ymin) / self.pixel)


def _srs(text: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.SetFromUserInput(text)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _project_box(aoi: tuple[float, float, float, float], srs: osr.SpatialReference) -> tuple[float, float, float, float]:
    wgs84 = _srs("EPSG:4326")
    transform = osr.CoordinateTransformation(wgs84, srs)
    xmin, ymin, xmax, ymax = transform.TransformBounds(*aoi, 21)
    return xmin, ymin, xmax, ymax


def utm_crs(aoi: tuple[float, float, float, float]) -> str:
    """``EPSG:326xx`` / ``EPSG:327xx``: the UTM zone of the AOI's centre."""
    lon, lat = (aoi[0] + aoi[2]) / 2, (aoi[1] + aoi[3]) / 2
    zone = min(60, int((lon + 180) // 6) + 1)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def fine_grid(r: FetchRequest) -> Grid:
    """The one fine grid of a request: the AOI's box in its CRS, snapped outward to whole pixels."""
    spec = get_collection(r.fine_collection)
    pixel = r.pixel_m or spec.pixel_m
    srs = _srs(r.crs or utm_crs(r.aoi))
    xmin, ymin, xmax, ymax = _project_box(r.aoi, srs)
    box = (math.floor(xmin / pixel) * pixel, math.floor(ymin / pixel) * pixel, math.ceil(xmax / pixel) * pixel,
           math.ceil(ymax / pixel) * pixel)  # fmt: skip
    return Grid(srs.ExportToWkt(), box, pixel)


def modis_grid(r: FetchRequest) -> Grid:
    """The AOI on the MODIS sinusoidal grid (whole MODIS pixels, one pixel of margin)."""
    spec = get_collection(r.coarse_collection)
    pixel = spec.pixel_m
    srs = _srs(MODIS_PROJ4)
    xmin, ymin, xmax, ymax = _project_box(r.aoi, srs)
    x0, y0 = MODIS_ORIGIN
    box = (x0 + (math.floor((xmin - x0) / pixel) - 1) * pixel, y0 - (math.ceil((y0 - ymin) / pixel) + 1) * pixel,
           x0 + (math.ceil((xmax - x0) / pixel) + 1) * pixel, y0 - (math.floor((y0 - ymax) / pixel) - 1) * pixel)  # fmt: skip
    return Grid(srs.ExportToWkt(), box, pixel)


@dataclass(frozen=True)
class FileTask:
    """One file to write: the roles (bands) of ``scenes`` warped onto ``grid``.

    Attributes:
        path: the final path.
        kind: ``fine``, ``fine_mask``, ``coarse`` or ``coarse_mask``.
        roles: the asset roles written as bands, in order (``red``, ``nir``; ``ndvi``; ``mask``).
        scenes: the items mosaicked into it (first valid pixel wins).
        grid: the target grid.
        spec: the collection.
        date: the row's date (recorded as ``ACQUISITION_DATE``).
    """

    path: Path
    kind: str
    roles: tuple[str, ...]
    scenes: tuple[Scene, ...]
    grid: Grid
    spec: CollectionSpec = field(hash=False)
    date: dt.date

    @property
    def is_mask(self) -> bool:
        """True for a mask file (nearest neighbour, no scale)."""
        return self.kind.endswith("mask")

    @property
    def dtype(self) -> int:
        """The GDAL data type written."""
        if self.is_mask:
            return gdal.GDT_Int16 if self.spec.mask_kind == "mod13_reliability" else gdal.GDT_UInt16
        return gdal.GDT_Int16 if self.spec.coarse else gdal.GDT_UInt16

    @property
    def nodata(self) -> float | None:
        """The nodata value written (none for a bit-field mask, whose 0 is a valid 'clear')."""
        if self.is_mask:
            return {"scl": 0, "mod13_reliability": -1}.get(self.spec.mask_kind)
        return self.spec.nodata

    @property
    def bytes(self) -> int:
        """The uncompressed size of the file (the download is about this, the file on disk less)."""
        width, height = self.grid.size
        return width * height * len(self.roles) * 2

    @property
    def item_ids(self) -> str:
        """The items it holds, as recorded in its metadata (what resume compares)."""
        return ",".join(s.id for s in self.scenes)


def _stem(pair: Pair, spec: CollectionSpec, scenes: tuple[Scene, ...]) -> str:
    first = scenes[0]
    tile = "-".join(dict.fromkeys(s.tile for s in scenes if s.tile)) or "aoi"
    if spec.sensor == "sentinel2":
        return f"{first.platform}_MSIL2A_{first.date:%Y%m%d}T{first.time}_{tile}"
    if spec.sensor == "landsat":
        return f"landsat_{first.platform}_{first.date:%Y%m%d}_{tile}"
    return f"{first.id.split('.')[0]}_{tile}_{pair.date:%Y%m%d}"  # the row's date: the fine day it pairs with


def plan_files(pairs: list[Pair], r: FetchRequest) -> list[FileTask]:
    """The files of the rows to download: the fine image and mask on the fine grid, MODIS and its mask on its own."""
    fine_spec, coarse_spec = get_collection(r.fine_collection), get_collection(r.coarse_collection)
    fine, coarse = fine_grid(r), modis_grid(r)
    out = Path(r.out_dir)
    tasks: list[FileTask] = []
    for pair in pairs:
        if not pair.downloads:
            continue
        if pair.fine:
            stem = _stem(pair, fine_spec, pair.fine)
            folder = out / fine_spec.sensor
            tasks.append(FileTask(folder / f"{stem}.tif", "fine", fine_spec.data_roles, pair.fine, fine, fine_spec, pair.date))
            suffix = _MASK_SUFFIX[fine_spec.mask_kind]
            tasks.append(FileTask(folder / f"{stem}{suffix}.tif", "fine_mask", ("mask",), pair.fine, fine, fine_spec, pair.date))
        stem = _stem(pair, coarse_spec, pair.coarse)
        folder = out / "modis"
        roles = coarse_spec.data_roles
        tasks.append(FileTask(folder / f"{stem}.tif", "coarse", roles, pair.coarse, coarse, coarse_spec, pair.date))
        suffix = _MASK_SUFFIX[coarse_spec.mask_kind]
        tasks.append(
            FileTask(folder / f"{stem}{suffix}.tif", "coarse_mask", ("mask",), pair.coarse, coarse, coarse_spec, pair.date)
        )
    return tasks


def estimate_bytes(tasks: list[FileTask]) -> int:
    """About how many bytes the download reads (the AOI's pixels of every asset; COG tiles add a margin)."""
    return int(sum(t.bytes for t in tasks) * 1.3)


def _same_grid(ds: gdal.Dataset, grid: Grid) -> bool:
    """True when ``ds`` lies on ``grid``: the same size, geotransform (to a thousandth of a pixel) and CRS."""
    if (ds.RasterXSize, ds.RasterYSize) != grid.size:
        return False
    xmin, _, _, ymax = grid.bounds
    want = (xmin, grid.pixel, 0.0, ymax, 0.0, -grid.pixel)
    if any(abs(a - b) > 1e-3 * grid.pixel for a, b in zip(ds.GetGeoTransform(), want)):
        return False
    wkt = ds.GetProjection()
    return bool(wkt) and bool(_srs(wkt).IsSame(_srs(grid.crs_wkt)))


def is_complete(task: FileTask) -> bool:
    """True when ``task.path`` exists, opens, holds the same items and lies on the task's grid (a resumed fetch keeps it).

    A file of another AOI, pixel size or CRS (the same name, the same items) is rewritten.
    """
    if not task.path.exists():
        return False
    try:
        ds = gdal.Open(str(task.path))
    except RuntimeError:
        return False
    return (
        ds is not None
        and ds.GetMetadataItem("STAC_ITEMS") == task.item_ids
        and ds.RasterCount == len(task.roles)
        and _same_grid(ds, task.grid)
    )


#: rows warped and written at a time: the memory of a file's download is a window's, whatever the AOI
WINDOW_ROWS = 512
#: what a mask file holds where no scene has data: QA_PIXEL's fill bit, SCL's and MOD13's no data
_MASK_FILL = {"qa_pixel": 1, "scl": 0, "mod13_reliability": -1}
_NUMPY = {gdal.GDT_UInt16: np.uint16, gdal.GDT_Int16: np.int16}


def _shift(scene: Scene, task: FileTask) -> int:
    """DN added to a scene's values: 1000 for a Sentinel-2 scene before baseline 04.00 (see the module docstring)."""
    if task.is_mask or task.spec.sensor != "sentinel2" or not scene.baseline:
        return 0
    try:
        return 1000 if float(scene.baseline) < 4.0 else 0
    except ValueError:
        return 0


def _warp(
    href: str, task: FileTask, rows: tuple[int, int], dtype: int, nodata: float | None, is_cancelled: CancelFn
) -> np.ndarray:
    """The rows ``rows[0]:rows[1]`` of one asset on the task's grid, in its native type (nearest neighbour)."""
    width, _ = task.grid.size
    xmin, _, xmax, ymax = task.grid.bounds
    top, bottom = ymax - rows[0] * task.grid.pixel, ymax - rows[1] * task.grid.pixel

    def callback(complete: float, message: str, data: object) -> int:
        return 0 if is_cancelled() else 1

    try:
        with remote_options():
            ds = gdal.Warp(
                "", gdal_path(href), format="MEM", outputBounds=(xmin, bottom, xmax, top), width=width,
                height=rows[1] - rows[0], dstSRS=task.grid.crs_wkt, resampleAlg="near", outputType=dtype,
                dstNodata=nodata, srcNodata=nodata, callback=callback, multithread=False,
            )  # fmt: skip
    except RuntimeError as exc:
        check_cancelled(is_cancelled)
        raise InputError(
            f"Could not read the AOI of '{href}' ({str(exc)[:300]}); check the network, or whether the service needs "
            "signing (signing: pc) or credentials, and run again: complete files are kept."
        ) from None
    if ds is None:
        check_cancelled(is_cancelled)
        raise InputError(f"Could not read the AOI of '{href}'; run again: complete files are kept.")
    check_cancelled(is_cancelled)
    return ds.GetRasterBand(1).ReadAsArray()


def _window(task: FileTask, rows: tuple[int, int], is_cancelled: CancelFn) -> list[np.ndarray]:
    """The bands of ``task`` over ``rows``, mosaicked: each pixel, every band and the mask, from one scene.

    The scene of a pixel is the first whose image (its first data band) has data there, so that a mask
    pixel always describes the image pixel of the same place and day (a mask without nodata, QA_PIXEL or
    the MODIS state, cannot say by itself where a scene ends). Where no scene has data, the image holds
    its nodata and the mask its fill (:data:`_MASK_FILL`).
    """
    image_nodata = task.spec.nodata
    image_type = gdal.GDT_Int16 if task.spec.coarse else gdal.GDT_UInt16
    lead = task.spec.data_roles[0]
    choice: np.ndarray | None = None  # per pixel: the index of the scene it comes from (-1: none)
    read: dict[tuple[int, str], np.ndarray] = {}  # an image task's lead band, read once
    if len(task.scenes) > 1:
        for i, scene in enumerate(task.scenes):
            values = _warp(scene.assets[lead], task, rows, image_type, image_nodata, is_cancelled)
            if not task.is_mask:
                read[i, lead] = values
            valid = values != image_nodata
            if choice is None:
                choice = np.full(valid.shape, -1, np.int8)
            choice[(choice < 0) & valid] = i
    out_type = _NUMPY[task.dtype]
    warp_nodata = task.nodata if task.nodata is not None or not task.is_mask else _MASK_FILL.get(task.spec.mask_kind)
    bands = []
    for role in task.roles:
        mosaic: np.ndarray | None = None
        for i, scene in enumerate(task.scenes):
            if choice is not None and not (choice == i).any():
                continue
            if (i, role) in read:
                values = read.pop((i, role))
            else:
                values = _warp(scene.assets[role], task, rows, task.dtype, warp_nodata, is_cancelled)
            shift = _shift(scene, task)
            if shift:
                big = values.astype(np.int32)
                values = np.where(big != task.nodata, np.minimum(big + shift, np.iinfo(out_type).max), big).astype(out_type)
            if choice is None:
                mosaic = values
                break
            if mosaic is None:
                fill = _MASK_FILL.get(task.spec.mask_kind) if task.is_mask else image_nodata
                mosaic = np.full(values.shape, fill if fill is not None else 0, out_type)
            take = choice == i
            mosaic[take] = values[take]
        if mosaic is None:  # no scene has data in these rows
            width, _ = task.grid.size
            fill = _MASK_FILL.get(task.spec.mask_kind) if task.is_mask else image_nodata
            mosaic = np.full((rows[1] - rows[0], width), fill if fill is not None else 0, out_type)
        bands.append(mosaic)
    return bands


def write_task(task: FileTask, is_cancelled: CancelFn = never_cancelled) -> Path:
    """Read, mosaic and write one file atomically, :data:`WINDOW_ROWS` rows at a time (see the module docstring)."""
    width, height = task.grid.size
    nodata = task.nodata
    with atomic_output(task.path) as tmp:
        driver = gdal.GetDriverByName("GTiff")
        options = ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"]
        ds = driver.Create(str(tmp), width, height, len(task.roles), task.dtype, options)
        xmin, _, _, ymax = task.grid.bounds
        ds.SetGeoTransform((xmin, task.grid.pixel, 0.0, ymax, 0.0, -task.grid.pixel))
        ds.SetProjection(task.grid.crs_wkt)
        for i, role in enumerate(task.roles, start=1):
            band = ds.GetRasterBand(i)
            band.SetDescription(role)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if not task.is_mask:
                band.SetScale(task.spec.scale)
                band.SetOffset(task.spec.offset)
        step = max(1, WINDOW_ROWS)
        for top in range(0, height, step):
            rows = (top, min(height, top + step))
            for i, values in enumerate(_window(task, rows, is_cancelled), start=1):
                ds.GetRasterBand(i).WriteArray(values, 0, top)
        first = task.scenes[0]
        ds.SetMetadata({
            "ACQUISITION_DATE": task.date.isoformat(),
            "STAC_COLLECTION": task.spec.id,
            "STAC_ITEMS": task.item_ids,
            "STAC_ASSETS": " ".join(s.assets[r].split("?")[0] for s in task.scenes for r in task.roles),
            "COMPOSITE_DAYS": f"{first.date.isoformat()}/{first.end.isoformat()}" if first.composite else "",
            "TSSTFN_PRODUCT": task.spec.mask_kind if task.is_mask else task.spec.product,
            "TSSTFN_SCALE": "" if task.is_mask else repr(task.spec.scale),
            "TSSTFN_OFFSET": "" if task.is_mask else repr(task.spec.offset),
            "TSSTFN_NODATA": "" if nodata is None else repr(nodata),
        })  # fmt: skip
        ds.FlushCache()
        ds = None
    return task.path


@dataclass
class DownloadResult:
    """What a download did: the files written now and those already complete (kept)."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def download(
    tasks: list[FileTask], progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled
) -> DownloadResult:
    """Write every file of ``tasks``, keeping those already complete (resume).

    Raises:
        CancelledError: cancelled; the files complete so far are kept, none is half-written.
        InputError: an asset could not be read, naming it.
    """
    result = DownloadResult()
    for i, task in enumerate(tasks):
        if progress:
            progress(i / max(len(tasks), 1), f"{task.path.name} ({i + 1} of {len(tasks)})")
        if is_cancelled():
            raise CancelledError(f"Download cancelled; {len(result.written) + len(result.kept)} complete file(s) kept.")
        if is_complete(task):
            result.kept.append(task.path)
            continue
        write_task(task, is_cancelled)
        result.written.append(task.path)
    if progress:
        progress(1.0, f"{len(result.written)} file(s) written, {len(result.kept)} already complete")
    return result
