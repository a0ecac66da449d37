"""TSSTFN blended with STARFM, by a weight learnt on the validation patches (``train.starfm_blend``).

Two predictors whose errors are not the same are better combined than either alone (Bates & Granger
1969). The weight is the one that minimises the squared error of ``w * network + (1 - w) * STARFM``
on the network's validation patches: pixels held out of training (whole spatial blocks), on which
STARFM, which learns nothing, is held out too. It is a single number per model, clipped to [0, 1],
estimated on thousands of pixels and never on a target; 1 keeps the network alone. STARFM on the
patches uses the same pair the network's prior reads (the nearest base pair, channels ``-3`` and
``-2``) and the target's coarse NDVI (channel ``-1``); at prediction STARFM runs over the scene with
one pair, or two where the network predicts from both sides (``docs/model.md``).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import CancelFn, check_cancelled, never_cancelled
from ..files import PathLike, atomic_output, create_geotiff, read_array
from .starfm import StarfmParams, starfm

if TYPE_CHECKING:
    from ..inputs.grid import Grid

log = logging.getLogger("tsstfn")

#: validation patches STARFM is run on to learn the weight (a seeded sample of them; seconds on a CPU)
MAX_PATCHES = 64
STRIP_ROWS = 256


def least_squares_weight(error_a: np.ndarray, error_b: np.ndarray) -> float:
    """The ``w`` in [0, 1] that minimises ``sum((w * error_a + (1 - w) * error_b) ** 2)`` (1 when the errors are equal)."""
    a, b = np.asarray(error_a, dtype=np.float64).ravel(), np.asarray(error_b, dtype=np.float64).ravel()
    d = a - b
    den = float(d @ d)
    if den <= 0.0:
        return 1.0
    return float(np.clip(-float(b @ d) / den, 0.0, 1.0))


def patch_starfm(x: np.ndarray, params: StarfmParams, pixel_size: float) -> np.ndarray:
    """One-pair STARFM of each patch ``(n, 2N+1, P, P)`` from its nearest base pair and its target's coarse NDVI.

    The patches are laid side by side, NaN gutters as wide as the search window between them, so that
    one call computes them all and no window reaches a neighbour's pixels; each patch's similarity
    threshold comes from all of them (the scene's, in a scene-wide run).
    """
    n, _, p, q = x.shape
    gutter = max(params.offsets(pixel_size))
    stride = q + gutter
    mosaic = np.full((3, p, n * stride), np.nan, dtype=np.float32)
    for i in range(n):
        mosaic[:, :, i * stride : i * stride + q] = x[i, -3:]
    out = starfm([mosaic[1]], [mosaic[0]], mosaic[2], params, pixel_size)
    return np.stack([out[:, i * stride : i * stride + q] for i in range(n)])


def validation_weight(predict: Any, x: np.ndarray, y: np.ndarray, params: StarfmParams, pixel_size: float) -> dict[str, float]:
    """The blend's weight on validation patches: inputs ``x`` ``(n, 2N+1, P, P)``, labels ``y`` ``(n, P, P)``.

    ``predict`` is the network's patch predictor (:func:`~.prediction.make_predictor`). Scored where the
    label, the network and STARFM all have a value.

    Returns:
        ``weight`` (the network's) and the validation RMSE of the network, of STARFM and of the blend,
        with the number of ``pixels``.
    """
    network = np.asarray(predict(x), dtype=np.float64)
    other = patch_starfm(x, params, pixel_size).astype(np.float64)
    ok = np.isfinite(y) & np.isfinite(network) & np.isfinite(other)
    e_net, e_starfm = network[ok] - y[ok], other[ok] - y[ok]
    if not e_net.size:
        return {"weight": 1.0, "pixels": 0}
    w = least_squares_weight(e_net, e_starfm)

    def rmse(e: np.ndarray) -> float:
        return float(np.sqrt(np.mean(e * e)))

    return {
        "weight": w,
        "rmse_network": rmse(e_net),
        "rmse_starfm": rmse(e_starfm),
        "rmse_blend": rmse(w * e_net + (1 - w) * e_starfm),
        "pixels": int(e_net.size),
    }


def blend_files(
    network: PathLike,
    other: PathLike,
    weight: float,
    grid: Grid,
    out_path: PathLike,
    description: str,
    spread: PathLike | None = None,
    spread_out: PathLike | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> Path:
    """``weight * network + (1 - weight) * other`` where ``other`` has a value, else the network's; atomic writes.

    ``spread``: the network's MC-dropout standard deviation, written to ``spread_out`` scaled by the
    network's share (STARFM brings no spread of its own).
    """
    texts = [description] + ([f"{description}: the network's MC-dropout spread x {weight:.2f}"] if spread else [])
    with atomic_output(out_path) as tmp, atomic_output(spread_out) if spread and spread_out else nullcontext() as tmp_spread:
        targets = [create_geotiff(tmp, grid)] + ([create_geotiff(tmp_spread, grid)] if tmp_spread else [])
        try:
            for ds, text in zip(targets, texts):
                ds.GetRasterBand(1).SetDescription(text)
            for y0 in range(0, grid.height, STRIP_ROWS):
                check_cancelled(is_cancelled)
                win = (0, y0, grid.width, min(STRIP_ROWS, grid.height - y0))
                net, oth = read_array(network, win).astype(np.float64), read_array(other, win).astype(np.float64)
                has = np.isfinite(oth)
                share = np.where(has, weight, 1.0)
                fused = np.where(has, weight * net + (1 - weight) * oth, net)
                targets[0].GetRasterBand(1).WriteArray(fused.astype(np.float32), 0, y0)
                if spread and len(targets) > 1:
                    targets[1].GetRasterBand(1).WriteArray((share * read_array(spread, win)).astype(np.float32), 0, y0)
            for ds in targets:
                ds.FlushCache()
        finally:  # closed before atomic_output renames or removes the files
            targets = ds = None  # type: ignore[assignment]
    return Path(out_path)
