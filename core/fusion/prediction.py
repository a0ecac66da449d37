"""Tiled, batched prediction of fine NDVI with a trained TSSTFN, streamed to a GeoTIFF.

Memory is bounded by one strip of patches (``patch x width``) and one batch, not by the scene.
The output is NaN where the target-date MODIS is NaN or every base Sentinel-2 is NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import CancelFn, ProgressFn, never_cancelled
from ..files import PathLike
from .tiling import ReadWindow, tiled_to_geotiff
from .training import fill_base_gaps

if TYPE_CHECKING:
    from ..inputs.grid import Grid


def make_predictor(
    model: Any, meta: dict, device: Any = None, mc_passes: int = 0, seed: int = 0, tta: bool = False
) -> Callable[[np.ndarray], np.ndarray]:
    """``(B, 2N+1, P, P)`` NDVI with NaN -> ``(B, P, P)`` NDVI, NaN where the inputs give nothing.

    With ``mc_passes`` K > 1 (Monte-Carlo dropout, Gal & Ghahramani 2016): ``(B, 2, P, P)``, the
    deterministic prediction and the standard deviation of K passes with the network's channel
    dropout switched on (batch norm stays in inference mode). The K passes run one after the other
    on the same batch, so memory is that of one pass; the torch generator is seeded once (``seed``)
    so a run repeats exactly. ``tta``: each batch predicted under the eight flips and rotations and
    averaged (:func:`tta_predictor`; the job's ``train.tta``, also for a loaded model).
    """
    import torch

    mean, std = meta["normalisation"]["mean"], meta["normalisation"]["std"]
    device = device or next(model.parameters()).device
    use_amp = device.type == "cuda"
    dropouts = [m for m in model.modules() if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d))]
    if mc_passes > 1:
        torch.manual_seed(seed)

    def forward(x: Any) -> np.ndarray:
        with torch.inference_mode(), torch.autocast(device.type, enabled=use_amp):
            return model(x).float()[:, 0].cpu().numpy().astype(np.float64) * std + mean

    output = str(meta["config"].get("output", "modis_residual"))

    def predict(batch: np.ndarray) -> np.ndarray:
        filled = fill_base_gaps(batch, output, float(meta["config"].get("prior_smoothing_px", 0.0)))
        x = torch.from_numpy(np.nan_to_num((filled - mean) / std, nan=0.0).astype(np.float32)).to(device)
        out = forward(x)
        no_target = np.isnan(batch[:, -1])
        no_base = np.isnan(batch[:, 1:-1:2]).all(axis=1)
        out[no_target | no_base] = np.nan
        if mc_passes < 2:
            return out.astype(np.float32)
        total, total_sq = np.zeros_like(out), np.zeros_like(out)
        try:
            for m in dropouts:
                m.train()
            for _ in range(mc_passes):
                sample = forward(x)
                total += sample
                total_sq += sample * sample
        finally:
            for m in dropouts:
                m.eval()
        var = np.maximum(total_sq / mc_passes - (total / mc_passes) ** 2, 0.0) * mc_passes / (mc_passes - 1)
        spread = np.sqrt(var)
        spread[np.isnan(out)] = np.nan
        return np.stack([out, spread], axis=1).astype(np.float32)

    return tta_predictor(predict) if tta else predict


def tta_predictor(predict: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``predict`` averaged over the eight flips and 90-degree rotations of each batch (test-time augmentation).

    Each transformed batch is predicted and transformed back before the mean; NaN stays where
    ``predict`` gives NaN (the same pixels under every symmetry).
    """

    def each(batch: np.ndarray) -> np.ndarray:
        total = None
        for k in range(8):
            x = np.rot90(batch, k % 4, axes=(-2, -1))
            if k >= 4:
                x = x[..., ::-1]
            y = predict(np.ascontiguousarray(x)).astype(np.float64)
            if k >= 4:
                y = y[..., ::-1]
            y = np.rot90(y, -(k % 4), axes=(-2, -1))
            total = y if total is None else total + y
        assert total is not None
        return (total / 8).astype(np.float32)

    return each


#: the coarse NDVI change (about MODIS's NDVI noise) below which two base pairs are equally near their
#: target in :func:`two_sided_predictor`: smaller changes do not say which pair resembles it more
CHANGE_NOISE = 0.02


def nan_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image (H, W)`` smoothed by a Gaussian of ``sigma`` pixels over its valid values; NaN where none is near."""
    from scipy.ndimage import gaussian_filter

    valid = np.isfinite(image)
    if sigma <= 0:
        return image.astype(np.float64)
    weight = gaussian_filter(valid.astype(np.float64), sigma, mode="nearest")
    total = gaussian_filter(np.where(valid, image, 0.0).astype(np.float64), sigma, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 1e-6, total / weight, np.nan)


def two_sided_weights(batch: np.ndarray, sigma: float, noise: float = CHANGE_NOISE) -> np.ndarray:
    """The weight ``(B, P, P)`` of a prediction from ``batch`` ``(B, 2N+1, P, P)``: the nearer its pair, the more.

    Nearness is the coarse NDVI change between the nearest base pair (the last position) and the
    target, smoothed over about a MODIS pixel (``sigma``): ``1 / (|change| + noise)``, as STARFM's
    two-pair form weighs each pair by its coarse temporal difference (Gao et al. 2006). NaN where
    either coarse image is missing nearby.
    """
    out = np.empty((batch.shape[0], *batch.shape[2:]), dtype=np.float64)
    for b in range(batch.shape[0]):
        change = np.abs(nan_blur(batch[b, -1].astype(np.float64) - batch[b, -3], sigma))
        out[b] = 1.0 / (change + noise)
    return out


def two_sided_predictor(
    predict: Callable[[np.ndarray], np.ndarray], channels: int, sigma: float
) -> Callable[[np.ndarray], np.ndarray]:
    """A predictor of batches ``(B, 2 * channels, P, P)``: the inputs forward in time, then backward.

    Each half is predicted with ``predict``; the two are blended pixel by pixel with
    :func:`two_sided_weights`, each side alone where the other is NaN. The result keeps the shape
    ``predict`` returns; with an uncertainty channel ``(B, 2, P, P)`` it is the standard deviation of
    the weighted mixture of the two sides, ``sqrt(sum w (std^2 + (mean_side - mean)^2) / sum w)``: it
    grows where two confident sides disagree.
    """

    def both(batch: np.ndarray) -> np.ndarray:
        forward, backward = batch[:, :channels], batch[:, channels:]
        a, b = predict(forward).astype(np.float64), predict(backward).astype(np.float64)
        wa, wb = two_sided_weights(forward, sigma), two_sided_weights(backward, sigma)
        if a.ndim == 4:  # (B, 2, P, P): prediction and spread
            wa, wb = wa[:, None], wb[:, None]
        # no coarse image near on one side: the sides weigh equally there
        wa, wb = np.where(np.isnan(wa), np.nan_to_num(wb, nan=1.0), wa), np.where(np.isnan(wb), np.nan_to_num(wa, nan=1.0), wb)
        wa, wb = np.where(np.isnan(a), 0.0, wa), np.where(np.isnan(b), 0.0, wb)
        total = wa + wb
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (wa * np.nan_to_num(a) + wb * np.nan_to_num(b)) / total
            if a.ndim == 4:  # the spread of the mixture: each side's own, plus how far the sides disagree
                mean = out[:, :1]

                def spread(side: np.ndarray) -> np.ndarray:
                    return np.nan_to_num(side[:, 1:]) ** 2 + (np.nan_to_num(side[:, :1]) - mean) ** 2

                var = (wa * spread(a) + wb * spread(b))[:, 0] / total[:, 0]
                out[:, 1] = np.sqrt(np.maximum(var, 0.0))
        out[np.broadcast_to(total == 0, out.shape)] = np.nan
        return out.astype(np.float32)

    return both


def predict_to_file(
    model: Any,
    meta: dict,
    read: ReadWindow,
    grid: Grid,
    out_path: PathLike,
    batch_size: int = 16,
    overlap: int = 10,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    description: str = "TSSTFN NDVI",
    uncertainty_path: PathLike | None = None,
    mc_passes: int = 8,
    two_sided: bool = False,
    tta: bool = False,
) -> Path:
    """Predict over ``grid`` reading inputs with ``read(x, y, w, h) -> (2N+1, h, w)``; atomic write.

    With ``uncertainty_path``, the Monte-Carlo dropout standard deviation of ``mc_passes`` passes is
    written there too (see :func:`make_predictor`). ``two_sided``: ``read`` gives ``(2 (2N+1), h, w)``,
    the inputs from the pairs before the target then those after it, blended by
    :func:`two_sided_predictor`.
    """
    passes = mc_passes if uncertainty_path else 0
    paths = [out_path, uncertainty_path] if uncertainty_path else [out_path]
    texts = [description, f"{description}: standard deviation of {passes} MC-dropout passes"][: len(paths)]
    predict = make_predictor(model, meta, mc_passes=passes, tta=tta)
    if two_sided:
        sigma = float(meta["config"].get("prior_smoothing_px", 0.0))
        predict = two_sided_predictor(predict, 2 * int(meta["n_base"]) + 1, sigma)
    return tiled_to_geotiff(
        read,
        predict,
        grid,
        paths,
        meta["config"]["patch"],
        overlap,
        batch_size,
        texts,
        progress,
        is_cancelled,
    )
