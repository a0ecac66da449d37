"""Patches (paper 2.1): training patches overlap by half; prediction patches by 10 pixels, feathered.

Prediction streams through the scene one strip of patches at a time (:func:`predict_tiled`):
memory holds one strip of accumulators (``patch x width``), never the scene, so a 10980 x 10980
Sentinel-2 tile goes through like a small one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..files import PathLike, atomic_output, create_geotiff

if TYPE_CHECKING:
    from ..inputs.grid import Grid


def origins(size: int, patch: int, overlap: int) -> list[int]:
    """Start offsets of patches covering ``[0, size)``.

    The stride is ``patch - overlap`` and the last patch is flush with the end. A size smaller than
    the patch gives one patch at 0 (the reader pads).
    """
    if patch <= overlap:
        raise ValueError(f"patch ({patch}) must be larger than overlap ({overlap})")
    if size <= patch:
        return [0]
    stride = patch - overlap
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def training_windows(height: int, width: int, patch: int = 192, overlap: int | None = None) -> list[tuple[int, int, int, int]]:
    """Training windows ``(x, y, w, h)``, overlapping by half a patch by default."""
    overlap = patch // 2 if overlap is None else overlap
    return [(x, y, patch, patch) for y in origins(height, patch, overlap) for x in origins(width, patch, overlap)]


def feather_weights(patch: int, overlap: int) -> np.ndarray:
    """2-D blending weights: 1 inside, a linear ramp over ``overlap`` pixels at each edge, never 0.

    Any positive weights reassemble a constant field exactly (the sum of weights divides out);
    the ramp makes overlapping predictions fade into each other, so seams do not show.
    """
    if overlap <= 0:
        return np.ones((patch, patch), dtype=np.float64)
    d = np.minimum(np.arange(patch), np.arange(patch)[::-1]).astype(np.float64)
    ramp = np.minimum(1.0, (d + 1.0) / (overlap + 1.0))
    return np.outer(ramp, ramp)


ReadWindow = Callable[[int, int, int, int], np.ndarray]  # (x, y, w, h) -> (C, h, w)
PredictBatch = Callable[[np.ndarray], np.ndarray]  # (B, C, p, p) -> (B, p, p) or (B, K, p, p)
WriteRows = Callable[[int, np.ndarray], None]  # (y0, rows (h, width), or (K, h, width) for K outputs)


def _read_padded(read: ReadWindow, x: int, y: int, patch: int, width: int, height: int) -> np.ndarray:
    w, h = min(patch, width - x), min(patch, height - y)
    block = read(x, y, w, h)
    if (h, w) != (patch, patch):  # scene smaller than a patch: reflect-pad (edge for 1-pixel sides)
        pad = ((0, 0), (0, patch - h), (0, patch - w))
        block = np.pad(block, pad, mode="reflect") if min(h, w) > 1 else np.pad(block, pad, mode="edge")
    return block


def predict_tiled(
    read: ReadWindow,
    predict: PredictBatch,
    write_rows: WriteRows,
    width: int,
    height: int,
    patch: int,
    overlap: int = 10,
    batch_size: int = 16,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> None:
    """Run ``predict`` over the scene in overlapping patches and stream blended rows to ``write_rows``.

    ``predict`` gives one output per patch ``(B, p, p)`` or several ``(B, K, p, p)`` (a prediction
    and its uncertainty, say), each blended alike; ``write_rows`` then gets ``(K, h, width)``.
    Rows are written top to bottom, each exactly once, as soon as no later patch touches them.
    Cancellation is checked before every batch and raises :class:`CancelledError`.
    """
    xs = origins(width, patch, overlap)
    ys = origins(height, patch, overlap)
    weights = feather_weights(patch, overlap)
    total = len(xs) * len(ys)
    done = 0
    acc_top = 0  # scene row of acc[:, 0]
    acc: np.ndarray | None = None  # (K, rows, width), allocated with the first batch's K
    wsum = np.zeros((0, width))
    single = True
    for row_index, y in enumerate(ys):
        bottom = min(y + patch, height)
        for batch_start in range(0, len(xs), batch_size):
            check_cancelled(is_cancelled)
            batch_x = xs[batch_start : batch_start + batch_size]
            inputs = np.stack([_read_padded(read, x, y, patch, width, height) for x in batch_x])
            outputs = np.asarray(predict(inputs), dtype=np.float64)
            if outputs.ndim == 3:
                outputs = outputs[:, None]
            else:
                single = False
            if acc is None:
                acc = np.zeros((outputs.shape[1], 0, width))
            grow = bottom - (acc_top + acc.shape[1])  # make the accumulators reach the bottom of this strip
            if grow > 0:
                acc = np.concatenate([acc, np.zeros((acc.shape[0], grow, width))], axis=1)
                wsum = np.vstack([wsum, np.zeros((grow, width))])
            for x, out in zip(batch_x, outputs):
                h, w = min(patch, height - y), min(patch, width - x)
                wt = weights[:h, :w]
                pred = out[:, :h, :w]
                valid = np.isfinite(pred[0])  # the first output decides where there is a prediction
                r0 = y - acc_top
                acc[:, r0 : r0 + h, x : x + w] += np.where(valid, np.nan_to_num(pred) * wt, 0.0)
                wsum[r0 : r0 + h, x : x + w] += np.where(valid, wt, 0.0)
            done += len(batch_x)
            if progress:
                progress(done / total, f"patch {done}/{total}")
        # rows above the next strip's top are final
        final_until = ys[row_index + 1] if row_index + 1 < len(ys) else height
        n_final = final_until - acc_top
        if n_final > 0 and acc is not None:
            w_final = wsum[:n_final]
            with np.errstate(invalid="ignore", divide="ignore"):
                rows = np.where(w_final > 0, acc[:, :n_final] / np.where(w_final > 0, w_final, 1), np.nan)
            write_rows(acc_top, (rows[0] if single else rows).astype(np.float32))
            acc, wsum = acc[:, n_final:], wsum[n_final:]
            acc_top = final_until


def tiled_to_geotiff(
    read: ReadWindow,
    predict: Callable[[np.ndarray], np.ndarray],
    grid: Grid,
    out_path: PathLike | Sequence[PathLike],
    patch: int,
    overlap: int,
    batch_size: int,
    description: str | Sequence[str],
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> Path:
    """Stream ``predict`` over ``grid`` in feathered patches into float32 GeoTIFFs, atomically.

    One path and description per output of ``predict`` (a single path for a single output);
    returns the first path. On failure or cancellation none of them is left.
    """
    paths: list[PathLike] = [out_path] if isinstance(out_path, (str, os.PathLike)) else list(out_path)
    texts = [description] if isinstance(description, str) else list(description)
    with ExitStack() as stack:
        bands = []
        datasets = []
        for path, text in zip(paths, texts):
            tmp = stack.enter_context(atomic_output(path))
            ds = create_geotiff(tmp, grid)
            band = ds.GetRasterBand(1)
            band.SetDescription(text)
            datasets.append(ds)
            bands.append(band)

        def write(y: int, rows: np.ndarray) -> None:
            for band, r in zip(bands, rows[None] if rows.ndim == 2 else rows):
                band.WriteArray(r, 0, y)

        try:
            predict_tiled(read, predict, write, grid.width, grid.height, patch, overlap, batch_size, progress, is_cancelled)
            for ds in datasets:
                ds.FlushCache()
        finally:  # closed before atomic_output renames (or, on failure, removes) the files; a dataset kept
            bands.clear()  # alive by a traceback would be closed by the garbage collector after GDAL's own teardown
            datasets.clear()
            ds = band = None
    return Path(paths[0])
