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
from ..files import Window, read_array
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
    from ..files import atomic_output, open_raster

    first = _paths(pairs, False)[0]
    ds = open_raster(first)
    width, height = ds.RasterXSize, ds.RasterYSize
    ds = None
    channels = 2 * len(alignment.reference) + 1
    rows = max(8, STRIP_BYTES // (4 * (channels + 1) * width))
    workdir.mkdir(parents=True, exist_ok=True)
    stem = workdir / name
    total, squares, n = 0.0, 0.0, 0
    with atomic_output(f"{stem}_inputs.npy") as tmp_in, atomic_output(f"{stem}_label.npy") as tmp_label:
        with open(tmp_in, "wb") as f_in, open(tmp_label, "wb") as f_label:
            off_in = _npy_header(f_in, (channels, height, width))
            off_label = _npy_header(f_label, (height, width))
            for y in range(0, height, rows):
                check_cancelled(is_cancelled)
                h = min(rows, height - y)
                inputs, label = reference_inputs(alignment, pairs, (0, y, width, h))
                inputs, label = inputs.astype("<f4", copy=False), label.astype("<f4", copy=False)
                for c in range(channels):
                    valid = inputs[c][np.isfinite(inputs[c])].astype(np.float64)
                    total, squares, n = total + float(valid.sum()), squares + float(valid @ valid), n + int(valid.size)
                    f_in.seek(off_in + 4 * (c * height * width + y * width))
                    f_in.write(np.ascontiguousarray(inputs[c]).tobytes())
                f_label.seek(off_label + 4 * y * width)
                f_label.write(np.ascontiguousarray(label).tobytes())
    return DiskStack.open(f"{stem}_inputs.npy", f"{stem}_label.npy", (total, squares, n))


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
    """``read(x, y, w, h) -> (2N+1, h, w)``: the prediction year's inputs, window by window."""

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        window = (x, y, w, h)
        channels = _base_channels(alignment.prediction, pairs, window)
        channels.append(read_array(target_coarse, window))
        return np.stack(channels)

    return read
