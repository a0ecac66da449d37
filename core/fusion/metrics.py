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


def _ssim_sum(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray, data_range: float, win_size: int, core: slice):
    """Sum and count of the SSIM map over ``core`` rows' pixels whose whole window is valid."""
    from scipy.ndimage import minimum_filter
    from skimage.metrics import structural_similarity

    if min(truth.shape) < win_size or not valid.any():
        return 0.0, 0
    fill = float(truth[valid].mean())  # never reaches a counted pixel: their windows are wholly valid
    _, smap = structural_similarity(
        np.where(valid, truth, fill), np.where(valid, pred, fill), data_range=data_range, win_size=win_size, full=True
    )
    whole = minimum_filter(valid.astype(np.uint8), size=win_size, mode="constant", cval=0).astype(bool)
    return float(smap[core][whole[core]].sum()), int(whole[core].sum())


def fusion_metrics_of_files(
    pred_path: str, truth_path: str, data_range: float = NDVI_DATA_RANGE, win_size: int = 7, rows: int = 512
) -> dict:
    """:func:`fusion_metrics` of two rasters on one grid, read in strips of ``rows`` (memory: one strip).

    Strips overlap by half an SSIM window, so the result equals :func:`fusion_metrics` of the whole
    arrays (to rounding).
    """
    from ..files import open_raster, read_array

    ds = open_raster(truth_path)
    height = ds.RasterYSize
    width = ds.RasterXSize
    ds = None
    half = win_size // 2
    n, s_d, s_d2, s_ad, s_t, s_t2, ssim_sum, ssim_n = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    for y in range(0, height, rows):
        top, bottom = max(0, y - half), min(height, y + rows + half)
        window = (0, top, width, bottom - top)
        pred, truth, valid = _valid(read_array(pred_path, window), read_array(truth_path, window))
        core = slice(y - top, y - top + min(rows, height - y))
        v = valid[core]
        d = (pred[core] - truth[core])[v]
        t = truth[core][v]
        n += int(v.sum())
        s_d, s_d2, s_ad = s_d + float(d.sum()), s_d2 + float((d**2).sum()), s_ad + float(np.abs(d).sum())
        s_t, s_t2 = s_t + float(t.sum()), s_t2 + float((t**2).sum())
        if min(height, width) >= win_size:
            a, b = _ssim_sum(pred, truth, valid, data_range, win_size, core)
            ssim_sum, ssim_n = ssim_sum + a, ssim_n + b
    if n == 0:
        return {**dict.fromkeys(("rmse", "mae", "bias", "r2", "ssim"), np.nan), "ssim_data_range": data_range, "n": 0}
    ss_tot = s_t2 - s_t * s_t / n
    return {
        "rmse": float(np.sqrt(s_d2 / n)),
        "mae": s_ad / n,
        "bias": s_d / n,
        "r2": 1.0 - s_d2 / ss_tot if ss_tot > 0 else np.nan,
        "ssim": ssim_sum / ssim_n if ssim_n else np.nan,
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
