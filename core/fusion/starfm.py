"""STARFM (Gao et al., 2006, IEEE TGRS 44(8)): the weight-function fusion baseline of the paper.

For each fine pixel, within a ``(2 * half_window + 1)^2`` moving window:

1. *similar pixels*: neighbours whose base fine NDVI differs from the centre's by at most
   ``2 * std(F0) / n_classes``, kept only if they are at least as good as the centre (spectral
   difference ``S = |F0 - C0|`` and temporal difference ``T = |C0 - Cp|`` not above the centre's
   plus ``uncertainty``), as in Gao's sample filtering;
2. weights ``1 / (S' * T' * D)`` with ``S' = S + uncertainty``, ``T' = T + uncertainty`` and
   ``D = 1 + d / half_window`` (``d`` the distance in pixels), normalised over the candidates of
   all base pairs;
3. prediction ``sum W * (F0 + Cp - C0)``.

Exact cases of the method: a centre with no coarse change (``T = 0``) keeps its fine value; a
centre whose fine and coarse base values agree (``S = 0``) takes the coarse value at the
prediction date. Coarse images are the MODIS NDVI already resampled onto the fine grid.

Vectorised over window offsets (one whole-image array operation per offset): numpy on the CPU, torch
on CUDA (``device``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..files import PathLike, read_array
from .base import FusionOutput, FusionRequest
from .tiling import tiled_to_geotiff

if TYPE_CHECKING:
    from ..inputs.grid import Grid


@dataclass(frozen=True)
class StarfmParams:
    """STARFM's parameters.

    Attributes:
        half_window: 15 px (a 310 m window at 10 m, about one MODIS pixel plus its border; Gao
            used 1500 m for 30 m Landsat).
        n_classes: the spectral-similarity threshold is ``2 * std(fine) / n_classes``.
        uncertainty: of the fine and coarse NDVI (0.005).
    """

    half_window: int = 15
    n_classes: int = 4
    uncertainty: float = 0.005


class _NumpyOps:
    """CPU backend: numpy (no OpenMP thread pool, which stalls inside Qt worker threads)."""

    def __init__(self) -> None:
        self.asarray = lambda a: np.asarray(a, dtype=np.float32)
        self.abs, self.where, self.isfinite, self.isnan = np.abs, np.where, np.isfinite, np.isnan
        self.to_numpy = lambda a: np.asarray(a)

    def pad(self, a, hw):
        return np.pad(a, hw, mode="constant", constant_values=np.nan)

    def zeros(self, shape):
        return np.zeros(shape, dtype=np.float32)

    def full(self, shape, value):
        return np.full(shape, value, dtype=np.float32)


class _TorchOps:
    """GPU backend: the same operations on torch tensors."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch, self.dev = torch, torch.device(device)
        self.asarray = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=self.dev)
        self.abs, self.isfinite, self.isnan = torch.abs, torch.isfinite, torch.isnan
        self.to_numpy = lambda a: a.cpu().numpy()

    def where(self, cond, a, b):
        t = self.torch
        a = a if isinstance(a, t.Tensor) else t.tensor(a, device=self.dev)
        b = b if isinstance(b, t.Tensor) else t.tensor(b, device=self.dev)
        return t.where(cond, a, b)

    def pad(self, a, hw):
        return self.torch.nn.functional.pad(a[None, None], (hw, hw, hw, hw), value=float("nan"))[0, 0]

    def zeros(self, shape):
        return self.torch.zeros(shape, device=self.dev)

    def full(self, shape, value):
        return self.torch.full(shape, value, device=self.dev)


def starfm(
    fine_base: Sequence[np.ndarray],
    coarse_base: Sequence[np.ndarray],
    coarse_target: np.ndarray,
    params: StarfmParams = StarfmParams(),
    device: str = "cpu",
) -> np.ndarray:
    """Predict fine NDVI at the target date from one or two base pairs (arrays on the fine grid).

    ``device`` ``cpu`` computes with numpy, ``cuda``/``cuda:N`` with torch on that GPU.
    """
    ops: Any = _NumpyOps() if device == "cpu" else _TorchOps(device)
    cp = ops.asarray(coarse_target)
    h, w = cp.shape
    hw = params.half_window
    unc = params.uncertainty
    num, den = ops.zeros((h, w)), ops.zeros((h, w))
    exact = ops.full((h, w), float("nan"))
    for f0_np, c0_np in zip(fine_base, coarse_base):
        f0, c0 = ops.asarray(f0_np), ops.asarray(c0_np)
        s = ops.abs(f0 - c0)
        tt = ops.abs(c0 - cp)
        threshold = 2.0 * float(np.nanstd(f0_np)) / params.n_classes
        fp, sp, tp, c0p, cpp = (ops.pad(a, hw) for a in (f0, s, tt, c0, cp))
        with np.errstate(invalid="ignore", divide="ignore"):
            for dy in range(-hw, hw + 1):
                for dx in range(-hw, hw + 1):
                    win = (slice(hw + dy, hw + dy + h), slice(hw + dx, hw + dx + w))
                    fn, sn, tn = fp[win], sp[win], tp[win]
                    similar = (ops.abs(fn - f0) <= threshold) & (sn <= s + unc) & (tn <= tt + unc)
                    similar = similar & ops.isfinite(fn) & ops.isfinite(sn) & ops.isfinite(tn)
                    d = 1.0 + (dx * dx + dy * dy) ** 0.5 / hw
                    weight = ops.where(similar, 1.0 / ((sn + unc) * (tn + unc) * d), 0.0)
                    num = num + ops.where(similar, weight * (fn + cpp[win] - c0p[win]), 0.0)
                    den = den + weight
        # exact cases at the centre (the first base pair that has one wins)
        exact = ops.where(ops.isnan(exact) & (tt == 0), f0, exact)
        exact = ops.where(ops.isnan(exact) & (s == 0), cp, exact)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ops.where(den > 0, num / ops.where(den > 0, den, 1.0), float("nan"))
    out = ops.where(ops.isfinite(exact), exact, out)
    out = ops.where(ops.isfinite(cp), out, float("nan"))
    return ops.to_numpy(out).astype(np.float32)


def starfm_to_file(
    fine_base: Sequence[PathLike],
    coarse_base: Sequence[PathLike],
    coarse_target: PathLike,
    grid: Grid,
    out_path: PathLike,
    params: StarfmParams = StarfmParams(),
    description: str = "STARFM NDVI",
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> Path:
    """STARFM over a whole scene, streamed in overlapping patches (memory bounded), into a GeoTIFF.

    Args:
        fine_base: fine NDVI of each base pair (one or two), single-band rasters on ``grid``.
        coarse_base: coarse NDVI of the same dates, already resampled onto ``grid``.
        coarse_target: coarse NDVI of the date to predict, on ``grid``.
        grid: the fine grid.
        out_path: the GeoTIFF to write (atomically).
        params: STARFM's parameters.
        description: the band description.
        progress: ``progress(fraction, message)``.
        is_cancelled: checked before every batch of patches.

    Returns:
        ``out_path``.
    """
    if len(fine_base) != len(coarse_base) or not fine_base:
        raise ValueError("STARFM needs one or more base pairs, each with a fine and a coarse image")
    n = len(fine_base)

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        win = (x, y, w, h)
        return np.stack(
            [*(read_array(f, win) for f in fine_base), *(read_array(c, win) for c in coarse_base), read_array(coarse_target, win)]
        )

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.stack([starfm(list(b[:n]), list(b[n : 2 * n]), b[2 * n], params) for b in batch])

    return tiled_to_geotiff(read, predict, grid, out_path, 256, 4 * params.half_window, 1, description, progress, is_cancelled)


def fuse(request: FusionRequest) -> FusionOutput:
    """The registry's entry point: each target from the latest base pair before it."""
    params: StarfmParams = request.params
    targets = request.inputs.targets
    out = {}
    for k, t in enumerate(targets):
        check_cancelled(request.is_cancelled)
        base = request.inputs.latest_base_before(t.date)
        assert base.fine is not None
        out[t.date] = starfm_to_file(
            [base.fine], [base.coarse], t.coarse, request.inputs.grid, request.path_for(t.date), params,
            f"STARFM NDVI {t.date.isoformat()}", None, request.is_cancelled,
        )  # fmt: skip
        request.report((k + 1) / len(targets), t.date.isoformat())
    return FusionOutput(out)


def starfm_reference(
    fine_base: Sequence[np.ndarray],
    coarse_base: Sequence[np.ndarray],
    coarse_target: np.ndarray,
    params: StarfmParams = StarfmParams(),
) -> np.ndarray:
    """A slow, per-pixel transcription of the same rules, for testing :func:`starfm`."""
    cp = np.asarray(coarse_target, dtype=np.float64)
    h, w = cp.shape
    hw, unc = params.half_window, params.uncertainty
    out = np.full((h, w), np.nan)
    thresholds = [2.0 * np.nanstd(f) / params.n_classes for f in fine_base]
    for i in range(h):
        for j in range(w):
            if not np.isfinite(cp[i, j]):
                continue
            num = den = 0.0
            exact = None
            for f0, c0, thr in zip(fine_base, coarse_base, thresholds):
                s_c, t_c = abs(f0[i, j] - c0[i, j]), abs(c0[i, j] - cp[i, j])
                if exact is None and t_c == 0:
                    exact = f0[i, j]
                if exact is None and s_c == 0:
                    exact = cp[i, j]
                for y in range(max(0, i - hw), min(h, i + hw + 1)):
                    for x in range(max(0, j - hw), min(w, j + hw + 1)):
                        s_n, t_n = abs(f0[y, x] - c0[y, x]), abs(c0[y, x] - cp[y, x])
                        if not (np.isfinite(f0[y, x]) and np.isfinite(s_n) and np.isfinite(t_n)):
                            continue
                        if abs(f0[y, x] - f0[i, j]) <= thr and s_n <= s_c + unc and t_n <= t_c + unc:
                            wgt = 1.0 / ((s_n + unc) * (t_n + unc) * (1.0 + np.hypot(y - i, x - j) / hw))
                            num += wgt * (f0[y, x] + cp[y, x] - c0[y, x])
                            den += wgt
            out[i, j] = exact if exact is not None else (num / den if den > 0 else np.nan)
    return out
