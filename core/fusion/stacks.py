"""Stacks for the network: the aligned pairs of each year combined by a strategy's recipes.

An :class:`AlignedPair` is a date with its coarse (MODIS) and fine (Sentinel-2) NDVI already on
the fine grid (:func:`~..inputs.align.ndvi_to_grid`). Readers read windows lazily, so prediction
never loads a scene.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..callbacks import CancelFn, check_cancelled, never_cancelled
from ..files import Window, open_raster, read_array
from .strategies import Alignment, Recipe, apply_recipe
from .training import DiskStack, TrainingStack


@dataclass(frozen=True)
class AlignedPair:
    """One date's NDVI on the fine grid.

    Attributes:
        date: the acquisition date.
        coarse: path of the aligned coarse (MODIS) NDVI.
        fine: path of the aligned fine (Sentinel-2) NDVI; None for a target date, or the real
            (often cloudy) image of a target, used only to score the fusion.
    """

    date: dt.date
    coarse: str
    fine: str | None = None


def _paths(pairs: Sequence[AlignedPair], fine: bool) -> list[str]:
    out = []
    for p in pairs:
        path = p.fine if fine else p.coarse
        if path is None:
            raise ValueError(f"the pair of {p.date} has no fine image")
        out.append(path)
    return out


def _blend(recipe: Recipe, paths: Sequence[str], window: Window | None) -> np.ndarray:
    return apply_recipe(recipe, lambda i: read_array(paths[i], window))


def _base_channels(recipes: Sequence[Recipe], pairs: Sequence[AlignedPair], window: Window | None) -> list[np.ndarray]:
    coarse, fine = _paths(pairs, False), _paths(pairs, True)
    out = []
    for r in recipes:
        out += [_blend(r, coarse, window), _blend(r, fine, window)]
    return out


def reference_inputs(
    alignment: Alignment, pairs: Sequence[AlignedPair], window: Window | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference-year inputs ``(2N+1, h, w)`` and label ``(h, w)`` for ``window`` (None: the whole grid)."""
    channels = _base_channels(alignment.reference, pairs, window)
    channels.append(_blend(alignment.reference_label, _paths(pairs, False), window))
    label = _blend(alignment.reference_label, _paths(pairs, True), window)
    return np.stack(channels), label


def training_stack(
    alignment: Alignment,
    pairs: Sequence[AlignedPair],
    workdir: Path | None = None,
    name: str = "stack",
    is_cancelled: CancelFn = never_cancelled,
) -> TrainingStack:
    """The reference year's training inputs and label for one alignment.

    Without ``workdir``: arrays in memory. With it: two ``.npy`` files written there strip by strip
    (a :class:`~.training.DiskStack`), so that neither building nor training holds the scene.
    """
    if workdir is None:
        inputs, label = reference_inputs(alignment, pairs)
        return TrainingStack(inputs, label)
    from ..files import atomic_output

    first = _paths(pairs, False)[0]
    ds = open_raster(first)
    width, height = ds.RasterXSize, ds.RasterYSize
    block_w, block_h = ds.GetRasterBand(1).GetBlockSize()
    ds = None
    channels = 2 * len(alignment.reference) + 1
    rows, cols = strip_shape(width, height, channels + 1, block_w, block_h)
    workdir.mkdir(parents=True, exist_ok=True)
    stem = workdir / name
    total, squares, n = 0.0, 0.0, 0
    with atomic_output(f"{stem}_inputs.npy") as tmp_in, atomic_output(f"{stem}_label.npy") as tmp_label:
        with open(tmp_in, "wb") as f_in, open(tmp_label, "wb") as f_label:
            off_in = _npy_header(f_in, (channels, height, width))
            off_label = _npy_header(f_label, (height, width))
            for y in range(0, height, rows):
                h = min(rows, height - y)
                for x in range(0, width, cols):
                    check_cancelled(is_cancelled)
                    w = min(cols, width - x)
                    inputs, label = reference_inputs(alignment, pairs, (x, y, w, h))
                    inputs, label = inputs.astype("<f4", copy=False), label.astype("<f4", copy=False)
                    for c in range(channels):
                        valid = inputs[c][np.isfinite(inputs[c])].astype(np.float64)
                        total, squares, n = total + float(valid.sum()), squares + float(valid @ valid), n + int(valid.size)
                        _write_rows(f_in, off_in + 4 * c * height * width, inputs[c], x, y, width)
                    _write_rows(f_label, off_label, label, x, y, width)
    return DiskStack.open(f"{stem}_inputs.npy", f"{stem}_label.npy", (total, squares, n))


def strip_shape(width: int, height: int, bands: int, block_w: int, block_h: int) -> tuple[int, int]:
    """Rows and columns of the windows a training stack is built from: whole source blocks, within the byte budget.

    The aligned rasters are tiled (256 x 256 blocks, compressed): a window that cuts a block row
    makes GDAL decompress that row again for the next window unless its cache holds the block row
    of every source (a whole tile's 22 sources do not fit), so windows are whole block rows high
    and as many whole blocks wide as :data:`STRIP_BYTES` allows for ``bands`` float32 bands.
    """
    block_h = max(1, min(block_h, height))
    rows = max(block_h, STRIP_BYTES // (4 * bands * width) // block_h * block_h)
    if rows > block_h or block_w >= width:
        return rows, width
    cols = max(block_w, STRIP_BYTES // (4 * bands * rows) // block_w * block_w)
    return rows, min(cols, width)


def _write_rows(fh: BinaryIO, offset: int, block: np.ndarray, x: int, y: int, width: int) -> None:
    """Write ``block`` (h, w) at column ``x``, row ``y`` of a C-ordered float32 array ``width`` wide at ``offset``."""
    h, w = block.shape
    if w == width:  # whole rows: one write
        fh.seek(offset + 4 * y * width)
        fh.write(np.ascontiguousarray(block).tobytes())
        return
    for r in range(h):
        fh.seek(offset + 4 * ((y + r) * width + x))
        fh.write(block[r].tobytes())


#: bytes of one strip of a training stack while it is written to disk
STRIP_BYTES = 16 << 20


def _npy_header(fh: BinaryIO, shape: tuple[int, ...]) -> int:
    """Write a float32 ``.npy`` header for ``shape``, size the file; returns the data offset."""
    np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": shape})
    offset = fh.tell()
    fh.truncate(offset + 4 * int(np.prod(shape)))
    return offset


def prediction_reader(
    alignment: Alignment, pairs: Sequence[AlignedPair], target_coarse: str
) -> Callable[[int, int, int, int], np.ndarray]:
    """``read(x, y, w, h) -> (2N+1, h, w)``: the prediction year's inputs, window by window.

    Prediction asks for every patch of one row of patches in turn: the reader reads that row's
    whole-width strip once (one read per source raster instead of one per patch and source, which
    cost three times the network's own time on a whole tile) and cuts the patches from it. Memory:
    one strip, ``(2N+1) x patch x width`` floats.
    """
    width = open_raster(target_coarse).RasterXSize
    strip: list = [None, None]  # the rows (y, h) read last and their inputs

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        if strip[0] != (y, h):
            strip[:] = [None, None]  # the old strip goes before the new one is read
            window = (0, y, width, h)
            channels = _base_channels(alignment.prediction, pairs, window)
            strip[:] = [(y, h), np.stack([*channels, read_array(target_coarse, window)])]
        return strip[1][:, :, x : x + w]

    return read


def two_sided_reader(
    before: Callable[[int, int, int, int], np.ndarray], after: Callable[[int, int, int, int], np.ndarray]
) -> Callable[[int, int, int, int], np.ndarray]:
    """``read(x, y, w, h) -> (2 (2N+1), h, w)``: the inputs from the pairs before the target, then after it."""

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        return np.concatenate([before(x, y, w, h), after(x, y, w, h)])

    return read
