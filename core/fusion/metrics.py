"""Fusion quality of a predicted NDVI against a real Sentinel-2 NDVI, NaN-aware.

SSIM is scikit-image's ``structural_similarity`` with ``data_range`` always given (default 2.0,
the span of NDVI): left to its float default, it assumes a range of 2 for floats in [-1, 1] in some
versions and 1 in others, a trap that inflates published SSIMs. The SSIM is averaged over the
pixels whose whole 7 x 7 window is valid in both images.
"""

from __future__ import annotations

import numpy as np

NDVI_DATA_RANGE = 2.0


def _valid(pred, truth):
    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    return pred, truth, np.isfinite(pred) & np.isfinite(truth)


def fusion_metrics(pred, truth, data_range: float = NDVI_DATA_RANGE, win_size: int = 7) -> dict:
    """RMSE, MAE, bias (pred - truth), R^2, SSIM (with its ``data_range``) and the valid pixel count."""
    from scipy.ndimage import minimum_filter
    from skimage.metrics import structural_similarity

    pred, truth, valid = _valid(pred, truth)
    n = int(valid.sum())
    if n == 0:
        return {
            "rmse": np.nan,
            "mae": np.nan,
            "bias": np.nan,
            "r2": np.nan,
            "ssim": np.nan,
            "ssim_data_range": data_range,
            "n": 0,
        }
    diff = pred[valid] - truth[valid]
    ss_res = float((diff**2).sum())
    ss_tot = float(((truth[valid] - truth[valid].mean()) ** 2).sum())
    fill = float(truth[valid].mean())
    if min(truth.shape) < win_size:  # too small for one SSIM window
        return {
            "rmse": float(np.sqrt(np.mean(diff**2))),
            "mae": float(np.mean(np.abs(diff))),
            "bias": float(np.mean(diff)),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else np.nan,
            "ssim": np.nan,
            "ssim_data_range": data_range,
            "n": n,
        }
    _, smap = structural_similarity(
        np.where(valid, truth, fill), np.where(valid, pred, fill), data_range=data_range, win_size=win_size, full=True
    )
    whole = minimum_filter(valid.astype(np.uint8), size=win_size, mode="constant", cval=0).astype(bool)
    return {
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "mae": float(np.mean(np.abs(diff))),
        "bias": float(np.mean(diff)),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else np.nan,
        "ssim": float(smap[whole].mean()) if whole.any() else np.nan,
        "ssim_data_range": data_range,
        "n": n,
    }


def error_by_uncertainty(pred, std, truth, n_bins: int = 5) -> dict:
    """Does the predicted uncertainty rank the errors? The mean |error| in quantile bins of ``std``.

    Returns:
        ``{"bins": [{"std_low", "std_high", "mean_std", "mean_abs_error", "n"}, ...], "spearman": rho, "n": pixels}``
        over the pixels where all three are valid; ``spearman`` is the rank correlation of ``std``
        and |error| (SciPy), positive when larger uncertainty goes with larger error.
    """
    from scipy.stats import spearmanr

    pred, truth, valid = _valid(pred, truth)
    std = np.asarray(std, dtype=np.float64)
    valid &= np.isfinite(std)
    err, s = np.abs(pred - truth)[valid], std[valid]
    if s.size < n_bins * 2:
        return {"bins": [], "spearman": float("nan"), "n": int(s.size)}
    edges = np.quantile(s, np.linspace(0.0, 1.0, n_bins + 1))
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_bins - 1)
    bins = [
        {
            "std_low": float(edges[b]),
            "std_high": float(edges[b + 1]),
            "mean_std": float(s[which == b].mean()) if (which == b).any() else float("nan"),
            "mean_abs_error": float(err[which == b].mean()) if (which == b).any() else float("nan"),
            "n": int((which == b).sum()),
        }
        for b in range(n_bins)
    ]
    return {"bins": bins, "spearman": float(spearmanr(s, err).statistic), "n": int(s.size)}
