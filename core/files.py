"""Files on disk through GDAL: opening with clear errors, safe (atomic) writing, the project's GeoTIFFs.

Every output is written to a hidden temporary file beside its final path and renamed into place
only when complete (:func:`atomic_output`), so a cancelled or failed run never leaves a
half-written file that looks finished.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

import numpy as np
from osgeo import gdal

from .errors import InputError

if TYPE_CHECKING:
    from .callbacks import CancelFn

gdal.UseExceptions()

Window = tuple[int, int, int, int]  # xoff, yoff, xsize, ysize
PathLike = Union[str, "os.PathLike[str]"]


class GridLike(Protocol):
    """What the writers need of a grid: its CRS, geotransform and size (:class:`~.inputs.grid.Grid` is one).

    A protocol, so that this module, below ``inputs``, needs no import of the grid's module.
    """

    @property
    def crs_wkt(self) -> str:
        """The CRS as WKT (empty for a pixel grid)."""

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL's geotransform."""

    @property
    def width(self) -> int:
        """Columns."""

    @property
    def height(self) -> int:
        """Rows."""


#: creation options of every float GeoTIFF the project writes
GTIFF_OPTIONS = ("TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER", "BLOCKXSIZE=256", "BLOCKYSIZE=256")


def open_raster(path: PathLike, label: str | None = None) -> gdal.Dataset:
    """Open a raster read-only.

    Args:
        path: anything GDAL opens (a file, a ``/vsi`` path, an HDF subdataset name).
        label: what the messages call it (the QGIS layer name); defaults to the file name.

    Returns:
        The open dataset.

    Raises:
        InputError: the file is missing, not a raster, or holds no band; the message names it.
    """
    text = str(path)
    label = label or Path(text).name
    if not text or (not os.path.exists(text) and not text.startswith(("/vsi", "NETCDF:", "HDF"))):
        raise InputError(f"Raster '{label}' not found at '{text}'. Check the path or re-add the layer.")
    try:
        ds = gdal.Open(text, gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise InputError(f"GDAL cannot read '{label}' ({text}): {exc}. Is it a raster file?") from None
    if ds is None or ds.RasterCount == 0:
        raise InputError(f"'{label}' ({text}) holds no raster band.")
    return ds


#: blocks' end (bytes) of the GeoTIFFs checked so far, by ``(realpath, inode, size, mtime_ns)``: a stack with one row per
#: band (a validation checks each row) scans its header once; a file copied again (another inode, size or time) is rescanned
_BLOCKS_END: dict[tuple[str, int, int, int], int] = {}
_BLOCKS_END_MAX = 256
_BLOCKS_END_LOCK = threading.Lock()


def _blocks_end(ds: gdal.Dataset) -> int:
    """The largest ``offset + size`` of the pixel blocks a GeoTIFF's header lists.

    For at most 4096 blocks per band: the first and the last ones beyond that.
    """
    end = 0
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        bx, by = band.GetBlockSize()
        nx, ny = -(-ds.RasterXSize // max(bx, 1)), -(-ds.RasterYSize // max(by, 1))
        blocks = range(nx * ny) if nx * ny <= 4096 else [*range(64), *range(nx * ny - 4032, nx * ny)]
        for k in blocks:
            offset = band.GetMetadataItem(f"BLOCK_OFFSET_{k % nx}_{k // nx}", "TIFF")
            length = band.GetMetadataItem(f"BLOCK_SIZE_{k % nx}_{k // nx}", "TIFF")
            if offset and length:
                end = max(end, int(offset) + int(length))
        if ds.GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE") == "PIXEL":
            break  # one set of blocks for every band
    return end


def check_not_truncated(path: PathLike, label: str | None = None, ds: gdal.Dataset | None = None) -> None:
    """A GeoTIFF whose header places pixel blocks beyond the end of the file (a copy cut short) is refused.

    Reads only the header (each block's offset and size, for at most 4096 blocks per band: the first and the
    last ones beyond that), so a truncated download is named in the first seconds, not when alignment reaches it.
    The header is read once per file as it stands (its real path, inode, size and modification time): the rows of a
    stack, one per band, share one reading.

    Raises:
        InputError: naming the file, its size and where its blocks end.
    """
    text = str(path)
    label = label or Path(text).name
    try:
        st = os.stat(text)
    except OSError:
        return  # a /vsi path or a subdataset: its reader says what is wrong
    key = (os.path.realpath(text), st.st_ino, st.st_size, st.st_mtime_ns)
    with _BLOCKS_END_LOCK:
        end = _BLOCKS_END.pop(key, None)
        if end is not None:
            _BLOCKS_END[key] = end  # most recently used last
    if end is None:
        ds = ds or open_raster(text, label)
        end = _blocks_end(ds) if ds.GetDriver().ShortName == "GTiff" else 0  # other formats: their reader's errors
        with _BLOCKS_END_LOCK:
            _BLOCKS_END[key] = end
            while len(_BLOCKS_END) > _BLOCKS_END_MAX:
                del _BLOCKS_END[next(iter(_BLOCKS_END))]  # the least recently used
    if end > st.st_size:
        raise InputError(
            f"'{label}' is cut short: its header places pixel data up to byte {end}, but the file has {st.st_size} bytes "
            "(an interrupted download or copy); copy it again."
        )


def read_window(band: gdal.Band, window: Window | None) -> np.ndarray:
    """The whole ``band`` or one ``(xoff, yoff, xsize, ysize)`` window of it.

    Raises:
        InputError: GDAL cannot read the pixels (a truncated or corrupt file), naming the file.
    """
    try:
        return band.ReadAsArray() if window is None else band.ReadAsArray(*window)
    except RuntimeError as exc:
        path = band.GetDataset().GetDescription()
        name = Path(path).name
        detail = str(exc).replace(f"{path}, ", "").replace(path, name)
        raise InputError(
            f"GDAL cannot read the pixels of '{name}' ({detail}); the file may be truncated or corrupt: copy it again."
        ) from None


def nodata_to_nan(values: np.ndarray, fills: Iterable[float | None]) -> np.ndarray:
    """``values`` as float64 with every value of ``fills`` (None entries ignored, NaN allowed) set to NaN."""
    out = values.astype(np.float64)
    for fill in fills:
        if fill is not None:
            out[np.isnan(out) if np.isnan(fill) else out == fill] = np.nan
    return out


NDVI_CHECK_PX = 512
"""The width, in pixels, of the sample :func:`check_ndvi_raster` reads (it is decimated to it)."""
NDVI_CHECK_STRIPS = 8
"""How many block rows, spread over the raster, the sample comes from."""


def check_ndvi_raster(path: PathLike, label: str = "") -> None:
    """A user's raster given where NDVI is expected holds NDVI (a sample's min/max within [-1.5, 1.5]).

    The margin lets predictions a little beyond [-1, 1] pass; reflectance DNs or NDVI x 10000 do not.
    The sample is :data:`NDVI_CHECK_STRIPS` block rows spread over the raster, each decimated to
    :data:`NDVI_CHECK_PX` columns, so a whole tile costs a few block rows, not the file. (GDAL's
    statistics would be saved beside the user's file as an ``.aux.xml``, even through a band view.)

    Raises:
        InputError: values far outside [-1, 1] (a red/NIR product, or NDVI x 10000), naming the file.
    """
    label = label or source_label(path)
    ds = open_raster(path, label)  # keep the dataset alive while its band is used
    check_not_truncated(path, label, ds)
    band = ds.GetRasterBand(1)
    width, height = ds.RasterXSize, ds.RasterYSize
    rows = max(1, min(band.GetBlockSize()[1], height))
    starts = np.unique(np.linspace(0, height - rows, NDVI_CHECK_STRIPS).astype(int) // rows * rows)
    try:
        sample = [
            band.ReadAsArray(0, int(y), width, min(rows, height - int(y)), buf_xsize=min(width, NDVI_CHECK_PX),
                             buf_ysize=min(rows, height - int(y), 16), buf_type=gdal.GDT_Float64)
            for y in starts
        ]  # fmt: skip
    except RuntimeError as exc:
        raise InputError(
            f"GDAL cannot read the pixels of '{label}' ({str(exc).replace(str(path), label)}); the file may be truncated "
            "or corrupt: copy it again."
        ) from None
    values = nodata_to_nan(np.concatenate(sample), [band.GetNoDataValue()])
    values = values[np.isfinite(values)]
    if not values.size:  # no valid pixel: the readers report that themselves
        return
    low, high = float(values.min()), float(values.max())
    if low < -1.5 or high > 1.5:
        raise InputError(
            f"'{label}' holds values from {low:.6g} to {high:.6g}, not NDVI in [-1, 1]: is it a red/NIR product, or NDVI "
            "x 10000? Run 'Align NDVI to a fine grid' on it first, which computes NDVI with the product's scale."
        )


def source_label(path: PathLike) -> str:
    """What messages call ``path``: its file name, or for a band view (:func:`band_views`) its source and band."""
    text = str(path)
    if text.startswith(VIEWS):
        ds = open_raster(text)
        sources = [f for f in ds.GetFileList() or [] if f != text]
        band = text.rsplit("_b", 1)[-1].removesuffix(".vrt")
        return f"{Path(sources[0]).name} (band {band})" if sources else Path(text).name
    return Path(text).name


def read_array(path: PathLike, window: Window | None = None, band: int = 1) -> np.ndarray:
    """A float32 band of one of the project's own rasters, its nodata as NaN."""
    ds = open_raster(path)
    return read_band(ds.GetRasterBand(band), window)


def read_band(band: gdal.Band, window: Window | None = None) -> np.ndarray:
    """:func:`read_array` of an open band (its dataset kept open by the caller, e.g. across strips)."""
    return nodata_to_nan(read_window(band, window), [band.GetNoDataValue()]).astype(np.float32)


VIEWS = "/vsimem/tsstfn_views/"
"""Where :func:`band_views` keeps its virtual rasters."""


def band_views(path: PathLike, bands: Iterable[int] | None = None, scale: float | None = None) -> list[str]:
    """Single-band virtual rasters (GDAL VRTs in memory) of ``bands`` of a multi-band raster, in order.

    A stack with one band per date becomes a series of single-band rasters that the classifier reads
    like separate dates. ``bands`` None: every band. ``scale``: the values multiplied by it (float32;
    0.0001 for NDVI stored x 10000), nodata kept. A single-band raster without ``scale`` is returned
    as it is.

    Raises:
        InputError: a band number outside the raster, naming it.
    """
    ds = open_raster(path)
    wanted = list(bands) if bands is not None else list(range(1, ds.RasterCount + 1))
    if ds.RasterCount == 1 and wanted == [1] and scale is None:
        return [str(path)]
    bad = [b for b in wanted if not 1 <= b <= ds.RasterCount]
    if bad:
        raise InputError(
            f"'{Path(str(path)).name}' has {ds.RasterCount} band(s); band {bad[0]} does not exist. Check the band range."
        )
    views = []
    for b in wanted:
        view = f"{VIEWS}{uuid.uuid4().hex}_b{b}.vrt"
        if scale is None:
            gdal.Translate(view, ds, format="VRT", bandList=[b])
        else:
            nodata = ds.GetRasterBand(b).GetNoDataValue()
            gdal.Translate(view, ds, format="VRT", bandList=[b], outputType=gdal.GDT_Float32,
                           scaleParams=[[0.0, 1.0, 0.0, scale]], noData=None if nodata is None else nodata * scale)  # fmt: skip
        views.append(view)
    return views


def temporary_path(final: PathLike) -> Path:
    """A hidden temporary path beside ``final`` (same file system, so that the rename is atomic)."""
    final = Path(final)
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.part{final.suffix}")


@contextmanager
def atomic_output(final: PathLike, inputs: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``final``, on any error remove it.

    Args:
        final: the output's path.
        inputs: paths the output must never replace.

    Yields:
        The temporary path to write to.

    Raises:
        InputError: ``final`` is one of ``inputs``.
    """
    final = Path(final)
    for item in inputs:
        if item and os.path.exists(item) and os.path.exists(final) and os.path.samefile(item, final):
            raise InputError(f"Output '{final}' is one of the inputs; choose another output name.")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        with _close_errors_raised(final):
            yield tmp
        os.replace(tmp, final)
        aux = Path(str(tmp) + ".aux.xml")
        if aux.exists():
            os.replace(aux, str(final) + ".aux.xml")
    except BaseException as exc:
        for leftover in (tmp, Path(str(tmp) + ".aux.xml")):
            if leftover.exists():
                leftover.unlink()
        if is_disk_full(exc) or is_write_error(exc):
            detail = "" if is_disk_full(exc) else f" (GDAL: {str(exc).strip().rstrip('.')})"
            raise InputError(
                f"Could not write '{final.name}': the disk is full or a file-size limit was reached{detail}. Free some "
                "space (or choose an output folder on another disk) and run again; the files already complete were kept."
            ) from None
        raise


_CLOSING = threading.local()  # per thread: the lists of GDAL close errors of the atomic outputs being written


def _gdal_close_hook(unraisable: Any) -> None:
    """``sys.unraisablehook``: an error GDAL raised while closing a dataset goes to the output being written."""
    if getattr(unraisable.object, "__name__", "") in ("delete_Dataset", "delete_DataSource") and unraisable.exc_value:
        stack = getattr(_CLOSING, "stack", None)
        if stack:
            stack[-1].append(str(unraisable.exc_value))
        else:  # a dataset closed after its write failed (its output was removed already): no traceback
            import logging

            logging.getLogger("tsstfn").debug("GDAL error while closing a dataset: %s", unraisable.exc_value)
        return
    previous = getattr(_gdal_close_hook, "previous", sys.__unraisablehook__)
    previous(unraisable)


@contextmanager
def _close_errors_raised(final: Path) -> Iterator[None]:
    """GDAL's errors while closing a dataset (``ds = None``: the last blocks, the TIFF directory) raise ``OSError``.

    Python cannot raise from a destructor, so GDAL's exception there was printed ("Exception ignored in
    delete_Dataset", a traceback) and lost, and a file without its directory was renamed into place.
    """
    if sys.unraisablehook is not _gdal_close_hook:  # pytest and others set their own: chain to it
        _gdal_close_hook.previous = sys.unraisablehook  # type: ignore[attr-defined]
        sys.unraisablehook = _gdal_close_hook
    stack = _CLOSING.__dict__.setdefault("stack", [])
    errors: list[str] = []
    stack.append(errors)
    try:
        yield
    finally:
        stack.pop()
    if errors:
        raise OSError(errno.EIO, f"GDAL could not finish writing '{final.name}': {errors[0]}")


def is_write_error(exc: BaseException) -> bool:
    """True for GDAL's errors of a failed write (a block, the TIFF directory, closing), whatever the cause."""
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, OSError)) and any(
        s in text
        for s in (
            "write error", "could not finish writing", "failed to write", "tiffrewritedirectory", "tiffwritedirectory",
            "tiffreaddirectory:failed to read directory", "tiffappendtostrip",
        )
    )  # fmt: skip


def is_cog(path: PathLike) -> bool:
    """True when the GeoTIFF at ``path`` is laid out as a Cloud-Optimized GeoTIFF (GDAL's COG driver wrote it)."""
    return open_raster(path).GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def make_cog(path: PathLike) -> Path:
    """Rewrite one of the run's GeoTIFFs as a Cloud-Optimized GeoTIFF in place, atomically.

    GDAL's COG driver: tiled, DEFLATE, internal overviews (MODE for class rasters with a palette,
    AVERAGE for continuous ones); colours, class names, descriptions and metadata are kept.
    """
    ds = open_raster(path)
    band = ds.GetRasterBand(1)
    paletted = band.GetRasterColorTable() is not None
    floating = band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64)
    ds = band = None
    options = ["COMPRESS=DEFLATE", f"OVERVIEW_RESAMPLING={'MODE' if paletted else 'AVERAGE'}", "BLOCKSIZE=512"]
    if floating:
        options.append("PREDICTOR=YES")
    with atomic_output(path) as tmp:
        gdal.Translate(str(tmp), str(path), format="COG", creationOptions=options)
    return Path(path)


def is_disk_full(exc: BaseException) -> bool:
    """True for an error from a full disk, a quota or a file-size limit (OS errors and GDAL's write errors)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, OSError)) and any(
        s in text for s in ("no space left", "file too large", "disk quota", "free disk space")
    )


def check_writable(folder: PathLike) -> None:
    """The folder exists (or is created) and a file can be written in it.

    Raises:
        InputError: naming the folder and why not.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".tsstfn_write_test_{uuid.uuid4().hex[:8]}"  # no .part: another run's clean-up leaves it
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"Cannot write into the output folder '{folder}': {exc.strerror or exc}. Choose another folder."
        ) from None


#: files that belong to a data set beside its main file (a Shapefile's parts, GDAL's side files)
SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".ovr", ".aux.xml", ".msk", ".hdr")


def input_files(inputs: Iterable[PathLike | None]) -> list[Path]:
    """Every file an input consists of: the file itself and its side files (a Shapefile's ``.dbf``, ``.aux.xml``)."""
    out: list[Path] = []
    for given in inputs:
        if not given or str(given).startswith("/vsi"):
            continue
        path = Path(given)
        out.append(path)
        for suffix in SIDECARS:
            for side in (path.with_suffix(suffix), Path(str(path) + suffix)):
                if side != path and os.path.lexists(side):
                    out.append(side)
    return out


def file_key(path: PathLike) -> str:
    """What makes two paths one file: the real path (links followed, case folded where the OS folds it); as given when absent."""
    text = str(path)
    return os.path.normcase(os.path.realpath(text)) if os.path.exists(text) else text


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b):
            return True
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        real, top = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    except (OSError, ValueError):
        return False
    return real == top or top in real.parents


def check_outputs_not_inputs(
    outputs: dict[str, PathLike | None],
    inputs: Iterable[PathLike | None],
    folder: PathLike | None = None,
    folders: Iterable[str] = (),
) -> None:
    """No output replaces an input: the one guard of ``run``, ``classify``, Processing and the dialog.

    Args:
        outputs: every file (or folder) a command writes, by what it is (``--out``, ``report``); None: not written.
        inputs: every file it reads (side files such as a Shapefile's ``.dbf`` count too).
        folder: the output folder, where no input may lie at all (a run's outputs are found by pattern); None:
            only the outputs themselves are compared.
        folders: keys of ``outputs`` that are folders: no input may lie inside them.

    Raises:
        InputError: naming the output, the input and what to do.
    """
    files = input_files(inputs)
    if folder is not None:
        for f in files:
            if _inside(f, Path(folder)):
                raise InputError(
                    f"The input '{f}' lies in the output folder '{folder}', where the run's outputs could replace it; "
                    "choose another output folder or move the input."
                )
    for key, out in outputs.items():
        if not out:
            continue
        for f in files:
            if _same_file(Path(out), f) or (key in folders and _inside(f, Path(out))):
                raise InputError(
                    f"The output '{out}' ({key}) would replace the input '{f}'; choose another output path "
                    "(inputs are never overwritten)."
                )


def check_output_folder(folder: PathLike, what: str = "Output folder") -> None:
    """``folder`` can be an output folder: not a file, not under a file (nothing is created).

    Raises:
        InputError: naming ``what`` and the path.
    """
    folder = Path(folder)
    if "\x00" in str(folder):
        raise InputError(f"{what} {str(folder)!r} holds a NUL character; choose a plain folder name.")
    if os.path.lexists(folder) and not folder.is_dir():
        raise InputError(f"{what} '{folder}' is a file (or a broken link); choose a folder.")
    for parent in folder.parents:
        if parent.is_file():
            raise InputError(f"{what} '{folder}' lies under the file '{parent}'; choose a folder.")


def check_free_space(folder: PathLike, need_bytes: float, what: str) -> None:
    """The disk under ``folder`` (or its nearest existing parent) has room for ``need_bytes``.

    Raises:
        InputError: naming ``what``, the estimate and the free space, and what to do.
    """
    import shutil

    here = Path(folder)
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        free = shutil.disk_usage(here).free
    except OSError:
        return
    if need_bytes > free:
        raise InputError(
            f"{what} need about {need_bytes / 1e9:.3g} GB, and '{folder}' has {free / 1e9:.3g} GB free; free some space, "
            "choose an output folder on a larger disk, or make the area smaller (an AOI, or rasters with sane headers)."
        )


def check_output_file(path: PathLike, what: str) -> None:
    """``path`` can become an output file: not a folder, not under a file, in a folder that can be written.

    The folder is created when missing (it is the output's own folder).

    Raises:
        InputError: naming ``what`` (``--out``, ``OUTPUT``), the path and what to do.
    """
    path = Path(path)
    if "\x00" in str(path):
        raise InputError(f"{what}: the path {str(path)!r} holds a NUL character; choose a plain file name.")
    if path.is_dir():
        raise InputError(f"{what}: '{path}' is a folder; give the output a file name, e.g. '{path / 'crop_map.tif'}'.")
    for parent in path.parents:
        if parent.is_file():
            raise InputError(f"{what}: '{path}' lies under the file '{parent}'; choose a path in a folder.")
    if os.path.islink(path) and not os.path.exists(path):
        raise InputError(f"{what}: '{path}' is a broken link; remove it or choose another path.")
    try:
        check_can_create(path.parent)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None


def check_can_create(folder: PathLike) -> None:
    """``folder`` exists and can be written into, or can be created there; nothing is created (a check before work).

    Raises:
        InputError: the nearest existing folder above it is a file or cannot be written, naming it.
    """
    here = Path(folder)
    while not os.path.lexists(here) and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise InputError(f"Cannot write into the output folder '{folder}': '{here}' is a file. Choose another folder.")
    if not os.access(here, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write into the output folder '{here}': Permission denied. Choose another folder.")


def create_geotiff(
    path: PathLike,
    grid: GridLike,
    bands: int = 1,
    dtype: int = gdal.GDT_Float32,
    nodata: float | None = float("nan"),
    options: Iterable[str] | None = None,
) -> gdal.Dataset:
    """A tiled, compressed GeoTIFF on ``grid``, open for writing.

    A grid without a CRS (pixel-aligned data) gives a GeoTIFF without one.
    """
    opts = list(options or GTIFF_OPTIONS)
    if dtype not in (gdal.GDT_Float32, gdal.GDT_Float64):
        opts = [o for o in opts if not o.startswith("PREDICTOR")]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), grid.width, grid.height, bands, dtype, opts)
    ds.SetGeoTransform(grid.geotransform)
    if grid.crs_wkt:
        ds.SetProjection(grid.crs_wkt)
    if nodata is not None:
        for b in range(1, bands + 1):
            ds.GetRasterBand(b).SetNoDataValue(nodata)
    return ds


def write_array(
    path: PathLike,
    array: np.ndarray,
    grid: GridLike,
    nodata: float | None = float("nan"),
    dtype: int = gdal.GDT_Float32,
    description: str = "",
) -> Path:
    """Write a 2-D (or bands-first 3-D) array as a GeoTIFF on ``grid``, atomically; returns the path."""
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


def write_text(path: PathLike, text: str) -> Path:
    """Write a text file atomically; returns its path."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def map_rasters(
    fn: Callable[..., np.ndarray],
    inputs: Sequence[PathLike],
    out_path: PathLike,
    grid: GridLike,
    description: str = "",
    rows: int = 512,
    is_cancelled: CancelFn | None = None,
) -> Path:
    """Write ``fn(*strips)`` of single-band rasters on ``grid`` into a float32 GeoTIFF, strip by strip, atomically.

    Memory holds one strip of each input, whatever the scene size.
    """
    with atomic_output(out_path, tuple(str(p) for p in inputs)) as tmp:
        ds = create_geotiff(tmp, grid)
        band = ds.GetRasterBand(1)
        band.SetDescription(description)
        try:
            for y in range(0, grid.height, rows):
                if is_cancelled is not None and is_cancelled():
                    from .errors import CancelledError

                    raise CancelledError()
                window = (0, y, grid.width, min(rows, grid.height - y))
                band.WriteArray(np.asarray(fn(*(read_array(p, window) for p in inputs)), dtype=np.float32), 0, y)
            ds.FlushCache()
        finally:  # closed before atomic_output renames or removes the file (a traceback must not keep it open)
            ds = band = None
    return Path(out_path)


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
