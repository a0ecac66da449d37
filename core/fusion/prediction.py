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
    model: Any, meta: dict, device: Any = None, mc_passes: int = 0, seed: int = 0
) -> Callable[[np.ndarray], np.ndarray]:
    """``(B, 2N+1, P, P)`` NDVI with NaN -> ``(B, P, P)`` NDVI, NaN where the inputs give nothing.

    With ``mc_passes`` K > 1 (Monte-Carlo dropout, Gal & Ghahramani 2016): ``(B, 2, P, P)``, the
    deterministic prediction and the standard deviation of K passes with the network's channel
    dropout switched on (batch norm stays in inference mode). The K passes run one after the other
    on the same batch, so memory is that of one pass; the torch generator is seeded once (``seed``)
    so a run repeats exactly.
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

    return predict


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
) -> Path:
    """Predict over ``grid`` reading inputs with ``read(x, y, w, h) -> (2N+1, h, w)``; atomic write.

    With ``uncertainty_path``, the Monte-Carlo dropout standard deviation of ``mc_passes`` passes is
    written there too (see :func:`make_predictor`).
    """
    passes = mc_passes if uncertainty_path else 0
    paths = [out_path, uncertainty_path] if uncertainty_path else [out_path]
    texts = [description, f"{description}: standard deviation of {passes} MC-dropout passes"][: len(paths)]
    return tiled_to_geotiff(
        read,
        make_predictor(model, meta, mc_passes=passes),
        grid,
        paths,
        meta["config"]["patch"],
        overlap,
        batch_size,
        texts,
        progress,
        is_cancelled,
    )
