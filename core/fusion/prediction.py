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

if TYPE_CHECKING:
    from ..inputs.grid import Grid


def make_predictor(model: Any, meta: dict, device: Any = None) -> Callable[[np.ndarray], np.ndarray]:
    """``(B, 2N+1, P, P)`` NDVI with NaN -> ``(B, P, P)`` NDVI, NaN where the inputs give nothing."""
    import torch

    mean, std = meta["normalisation"]["mean"], meta["normalisation"]["std"]
    device = device or next(model.parameters()).device
    use_amp = device.type == "cuda"

    def predict(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.nan_to_num((batch - mean) / std, nan=0.0).astype(np.float32)).to(device)
        with torch.inference_mode(), torch.autocast(device.type, enabled=use_amp):
            out = model(x).float()[:, 0].cpu().numpy() * std + mean
        no_target = np.isnan(batch[:, -1])
        no_base = np.isnan(batch[:, 1:-1:2]).all(axis=1)
        out[no_target | no_base] = np.nan
        return out

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
) -> Path:
    """Predict over ``grid`` reading inputs with ``read(x, y, w, h) -> (2N+1, h, w)``; atomic write."""
    return tiled_to_geotiff(
        read,
        make_predictor(model, meta),
        grid,
        out_path,
        meta["config"]["patch"],
        overlap,
        batch_size,
        description,
        progress,
        is_cancelled,
    )
