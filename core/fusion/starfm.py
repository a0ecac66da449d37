"""STARFM (Gao et al., 2006, IEEE TGRS 44(8)) with the rules of Feng Gao's own program (v1.2.1).

The project's STARFM follows ``StarFM_compute.c`` rule for rule, so that its numbers are the
numbers of the literature (``tests/fusion/test_starfm_reference.py`` builds the C program and
compares). Like the C program it works in integer units of ``1 / scale_factor`` (NDVI x 10000):
inputs are quantised to that unit, differences and uncertainties are counted in it.

For each fine pixel (the *centre*), within a search window of ``W = int(2 * window_m / pixel)``
pixels (offsets ``-(W // 2) .. W - 1 - W // 2``) and for each base pair:

1. *candidates*: neighbours whose fine and coarse values are valid (not missing, within
   [-1, 1]) and spectrally similar to the centre: ``|F(n) - F(c)| < slice``, with ``slice =
   int(2 * sigma / n_classes + 0.5)`` and ``sigma`` the standard deviation of the whole fine
   image (not of a tile). Where the centre's fine value is missing, Gao's code (through a 16-bit
   overflow of the difference with its fill value -32768) takes every neighbour with NDVI >= 0 as
   similar; we do the same, so that both predict the same pixels;
2. *filter*: a candidate is dropped only when both its spectral difference ``|C - F|`` exceeds the
   smallest one at the centre (over the pairs) plus its uncertainty *and* its temporal difference
   ``|C - Cp|`` exceeds the smallest one at the centre plus its uncertainty;
3. *weights*: ``t = |C - F| + 1`` with one pair (the temporal term is left out), ``t = (|C - Cp| +
   1) (|C - F| + 1)`` with two or more; a candidate with ``t`` below the combined uncertainty
   gets weight 1, any other ``1 / (t (1 + d * pixel / window_m))`` (``d`` the distance in pixels);
   weights are normalised over all candidates of all pairs;
4. *prediction*: ``sum w (F + Cp - C)``; none where no candidate is left or where the result is
   outside (-1, 1) (Gao's program writes its fill value there).

Uncertainties follow the C code too: ``coarse_uncertainty`` and ``fine_uncertainty`` are per image
(36 units by default); a difference of two images has ``int(sqrt(u1^2 + u2^2))`` and the weight
threshold is ``int(sqrt(r_msr^2 + r_lsr^2))`` (50 and 70 units by default).

One deviation: a candidate whose coarse value at the prediction date is missing is skipped (the C
code subtracts its fill value, -32768, from the prediction).

Vectorised over window offsets (one whole-image array operation per offset and pair): numpy on
the CPU, torch on CUDA (``device``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..files import PathLike, atomic_output, check_ndvi_raster, create_geotiff, open_raster, read_array
from ..options import check_range, check_types
from .base import FusionOutput, FusionRequest

if TYPE_CHECKING:
    from ..inputs.grid import Grid

STRIP_ROWS = 128  # rows computed at a time by the raster writer (plus the window's halo)


@dataclass(frozen=True)
class StarfmParams:
    """STARFM's parameters, named after those of Gao's program.

    Attributes:
        window_m: ``MAX_SEARCH_DISTANCE``: half the search window, in metres (155 m: 31 x 31 px at
            10 m; Gao used 750-1500 m for 30 m Landsat).
        n_classes: ``NUM_SLICE_PURE_TEST``: the similarity threshold is ``2 sigma / n_classes``.
        fine_uncertainty: ``LANDSAT_UNCERTAINTY / SCALE_FACTOR`` (NDVI).
        coarse_uncertainty: ``MODIS_UNCERTAINTY / SCALE_FACTOR`` (NDVI).
        scale_factor: ``SCALE_FACTOR``: the integer unit the program counts in (NDVI x 10000).
    """

    window_m: float = 155.0
    n_classes: int = 4
    fine_uncertainty: float = 0.0036
    coarse_uncertainty: float = 0.0036
    scale_factor: float = 10000.0

    def __post_init__(self) -> None:
        """Check every field's type and range."""
        check_types(self, "method_params.starfm.")
        check_range(self.window_m, "method_params.starfm.window_m", 0, 1e5, low_open=True)
        check_range(self.n_classes, "method_params.starfm.n_classes", 1, 1000)
        check_range(self.fine_uncertainty, "method_params.starfm.fine_uncertainty", 0)
        check_range(self.coarse_uncertainty, "method_params.starfm.coarse_uncertainty", 0)
        check_range(self.scale_factor, "method_params.starfm.scale_factor", 0, low_open=True)

    def offsets(self, pixel_size: float) -> tuple[int, int]:
        """Rows (and columns) of the window before and after the centre at ``pixel_size`` metres."""
        size = int(2.0 * self.window_m / pixel_size)
        if size < 1:
            raise ValueError(f"a STARFM window of {self.window_m} m is smaller than one {pixel_size} m pixel")
        return size // 2, size - 1 - size // 2

    def uncertainties(self) -> tuple[int, int, int]:
        """``(r_msr, r_lsr, combined)`` uncertainties in units, truncated as the C code does."""
        uc = int(round(self.coarse_uncertainty * self.scale_factor))
        uf = int(round(self.fine_uncertainty * self.scale_factor))
        r_msr = int(math.sqrt(uc * uc + uc * uc))
        r_lsr = int(math.sqrt(uc * uc + uf * uf))
        return r_msr, r_lsr, int(math.sqrt(r_msr * r_msr + r_lsr * r_lsr))


def slice_value(std_units: float, n_classes: int) -> int:
    """The spectral-similarity threshold, in units, of a fine image whose standard deviation is ``std_units``."""
    return int(std_units * 2.0 / n_classes + 0.5)


def image_slice(fine: np.ndarray, params: StarfmParams) -> int:
    """:func:`slice_value` of a whole fine NDVI image (valid values strictly inside (-1, 1), as the C code)."""
    units = _quantise(np.asarray(fine, dtype=np.float64), params.scale_factor)
    inside = units[np.isfinite(units) & (np.abs(units) < params.scale_factor)]
    return slice_value(float(inside.std()) if inside.size else 0.0, params.n_classes)


def _quantise(a: np.ndarray, scale: float) -> np.ndarray:
    return np.rint(a * scale)


class _NumpyOps:
    """CPU backend: numpy in float32, exact for the integer units (no OpenMP pool, which stalls in Qt worker threads)."""

    def asarray(self, a: np.ndarray) -> Any:
        return np.asarray(a, dtype=np.float32)

    def pad(self, a: Any, before: int, after: int, fill: float = float("nan")) -> Any:
        return np.pad(a, ((before, after), (before, after)), mode="constant", constant_values=False if a.dtype == bool else fill)

    def zeros_like(self, a: Any) -> Any:
        return np.zeros_like(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    where, isfinite, isnan, abs = staticmethod(np.where), staticmethod(np.isfinite), staticmethod(np.isnan), staticmethod(np.abs)


class _TorchOps:
    """GPU backend: the same operations on torch tensors, in float32."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch, self.dev = torch, torch.device(device)
        self.dtype = torch.float32
        self.isfinite, self.isnan, self.abs = torch.isfinite, torch.isnan, torch.abs

    def asarray(self, a: np.ndarray) -> Any:
        return self.torch.as_tensor(np.asarray(a, dtype=np.float64), device=self.dev).to(self.dtype)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        t = self.torch
        a = a if isinstance(a, t.Tensor) else t.tensor(a, device=self.dev, dtype=self.dtype)
        b = b if isinstance(b, t.Tensor) else t.tensor(b, device=self.dev, dtype=self.dtype)
        return t.where(cond, a, b)

    def pad(self, a: Any, before: int, after: int, fill: float = float("nan")) -> Any:
        pad = self.torch.nn.functional.pad
        if a.dtype == self.torch.bool:
            return pad(a[None, None].to(self.torch.uint8), (before, after, before, after))[0, 0].bool()
        return pad(a[None, None], (before, after, before, after), value=fill)[0, 0]

    def zeros_like(self, a: Any) -> Any:
        return self.torch.zeros_like(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.cpu().numpy()


def starfm(
    fine_base: Sequence[np.ndarray],
    coarse_base: Sequence[np.ndarray],
    coarse_target: np.ndarray,
    params: StarfmParams = StarfmParams(),
    pixel_size: float = 10.0,
    slices: Sequence[int] | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Fine NDVI at the target date from one or more base pairs (arrays on the fine grid, NaN missing).

    Args:
        fine_base: fine NDVI of each base pair.
        coarse_base: coarse NDVI of the same dates, resampled onto the fine grid.
        coarse_target: coarse NDVI of the date to predict, on the fine grid.
        params: STARFM's parameters.
        pixel_size: the fine pixel's side in metres (sets the window and the distance weight).
        slices: each pair's similarity threshold in units (:func:`image_slice` of the whole image);
            None computes it from the arrays given (right only when they are the whole image).
        device: ``cpu`` computes with numpy, ``cuda``/``cuda:N`` with torch on that GPU.

    Returns:
        The prediction (float32), NaN where no candidate is left or the result is outside (-1, 1).
    """
    if len(fine_base) != len(coarse_base) or not fine_base:
        raise ValueError("STARFM needs one or more base pairs, each with a fine and a coarse image")
    ops: Any = _NumpyOps() if device == "cpu" else _TorchOps(device)
    s = params.scale_factor
    if slices is None:
        slices = [image_slice(f, params) for f in fine_base]
    r_msr_unc, r_lsr_unc, combined = params.uncertainties()
    before, after = params.offsets(pixel_size)
    one_pair = len(fine_base) == 1

    def units(a: np.ndarray) -> Any:
        return ops.asarray(_quantise(np.asarray(a, dtype=np.float64), s))

    def in_range(a: Any) -> Any:  # the C code's valid data: not fill, within [-1, 1]
        return ops.where(ops.isfinite(a) & (a >= -s) & (a <= s), a, float("nan"))

    fines = [units(f) for f in fine_base]
    coarses = [units(c) for c in coarse_base]
    cp = units(coarse_target)
    h, w = cp.shape
    # the smallest spectral and temporal differences at the centre, over the pairs (start: the range)
    min_lsr, min_msr = ops.zeros_like(cp) + s, ops.zeros_like(cp) + s
    for f, c in zip(fines, coarses):
        d_lsr, d_msr = ops.abs(c - f), ops.abs(c - cp)
        min_lsr = ops.where(d_lsr < min_lsr, d_lsr, min_lsr)  # NaN (missing centre) never wins
        min_msr = ops.where(d_msr < min_msr, d_msr, min_msr)
    lsr_limit, msr_limit = min_lsr + r_lsr_unc, min_msr + r_msr_unc
    cp_in = in_range(cp)
    num, den = ops.zeros_like(cp), ops.zeros_like(cp)
    with np.errstate(invalid="ignore", divide="ignore"):
        for f, c, sl in zip(fines, coarses, slices):
            # every neighbour term that does not depend on the centre, once per pair
            f_in, c_in = in_range(f), in_range(c)
            ok = ops.isfinite(f_in) & ops.isfinite(c_in) & ops.isfinite(cp_in)
            r_lsr, r_msr = ops.abs(c_in - f_in), ops.abs(c_in - cp_in)
            t = r_lsr + 1.0 if one_pair else (r_msr + 1.0) * (r_lsr + 1.0)
            near = ok & (t < combined)
            inv_t = ops.where(ok & ~near, 1.0 / t, 0.0)
            term = ops.where(ok, f_in + cp_in - c_in, 0.0)
            f_pad, ok_pad, near_pad = ops.pad(f_in, before, after), ops.pad(ok, before, after), ops.pad(near, before, after)
            lsr_pad, msr_pad = ops.pad(r_lsr, before, after), ops.pad(r_msr, before, after)
            inv_pad, term_pad = ops.pad(inv_t, before, after, 0.0), ops.pad(term, before, after, 0.0)
            centre_missing = ops.isnan(f)
            any_missing = bool(centre_missing.any())
            for dy in range(-before, after + 1):
                for dx in range(-before, after + 1):
                    win = (slice(before + dy, before + dy + h), slice(before + dx, before + dx + w))
                    fn = f_pad[win]
                    use = ops.abs(fn - f) < sl
                    if any_missing:
                        use = use | (centre_missing & (fn >= 0))
                    use = use & ok_pad[win] & ~((lsr_pad[win] > lsr_limit) & (msr_pad[win] > msr_limit))
                    distance = 1.0 + math.sqrt(dx * dx + dy * dy) * pixel_size / params.window_m
                    weight = ops.where(use, ops.where(near_pad[win], 1.0, inv_pad[win] / distance), 0.0)
                    num = num + weight * term_pad[win]
                    den = den + weight
        out = ops.where(den > 0, num / ops.where(den > 0, den, 1.0), float("nan"))
        out = ops.where((out > -s) & (out < s), out / s, float("nan"))
    return ops.to_numpy(out).astype(np.float32)


def blockwise_slice(blocks: Iterable[np.ndarray], params: StarfmParams) -> int:
    """:func:`image_slice` of a fine image given as blocks of rows (its standard deviation from their moments)."""
    n, total, squares = 0, 0.0, 0.0
    for block in blocks:
        units = _quantise(np.asarray(block, dtype=np.float64), params.scale_factor)
        inside = units[np.isfinite(units) & (np.abs(units) < params.scale_factor)]
        n += inside.size
        total += float(inside.sum())
        squares += float((inside * inside).sum())
    std = math.sqrt(max(0.0, squares / n - (total / n) ** 2)) if n else 0.0
    return slice_value(std, params.n_classes)


def whole_image_slices(fine_base: Sequence[PathLike], params: StarfmParams, block: int = 1024) -> list[int]:
    """Each fine raster's similarity threshold from its whole-image standard deviation (read in blocks)."""
    out = []
    for path in fine_base:
        ds = open_raster(path)
        windows = ((0, y, ds.RasterXSize, min(block, ds.RasterYSize - y)) for y in range(0, ds.RasterYSize, block))
        out.append(blockwise_slice((read_array(path, w) for w in windows), params))
    return out


def check_starfm_inputs(
    fine_base: Sequence[PathLike], coarse_base: Sequence[PathLike], coarse_target: PathLike, grid: Grid
) -> None:
    """STARFM's input rasters are NDVI on ``grid``.

    The checks :func:`starfm_to_file` runs first, for callers that validate before they start
    (Processing's ``checkParameterValues``).

    Raises:
        InputError: a raster off the grid or not NDVI, naming it.
    """
    if len(fine_base) != len(coarse_base) or not fine_base:
        raise ValueError("STARFM needs one or more base pairs, each with a fine and a coarse image")
    from ..inputs.grid import check_on_grid

    inputs = [str(p) for p in (*fine_base, *coarse_base, coarse_target)]
    check_on_grid(inputs, grid, Path(str(fine_base[0])).name)
    for p in inputs:
        check_ndvi_raster(p)


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
    device: str = "cpu",
) -> Path:
    """STARFM over a whole scene into a GeoTIFF, atomically; equal to :func:`starfm` on the whole arrays.

    The scene is computed in strips of rows, each read with the window's halo, so memory holds a
    strip, not the scene; the similarity thresholds come from the whole fine images (a first pass).

    Args:
        fine_base: fine NDVI of each base pair (one or more), single-band rasters on ``grid``.
        coarse_base: coarse NDVI of the same dates, already resampled onto ``grid``.
        coarse_target: coarse NDVI of the date to predict, on ``grid``.
        grid: the fine grid (its pixel size sets the window).
        out_path: the GeoTIFF to write.
        params: STARFM's parameters.
        description: the band description.
        progress: ``progress(fraction, message)``.
        is_cancelled: checked before every strip.
        device: ``cpu`` or a CUDA device.

    Returns:
        ``out_path``.
    """
    check_starfm_inputs(fine_base, coarse_base, coarse_target, grid)
    pixel = grid.resolution[0]
    before, after = params.offsets(pixel)
    slices = whole_image_slices(fine_base, params)
    with atomic_output(out_path) as tmp:
        ds = create_geotiff(tmp, grid)
        band = ds.GetRasterBand(1)
        band.SetDescription(description)
        try:
            for y0 in range(0, grid.height, STRIP_ROWS):
                check_cancelled(is_cancelled)
                h = min(STRIP_ROWS, grid.height - y0)
                top, bottom = max(0, y0 - before), min(grid.height, y0 + h + after)
                win = (0, top, grid.width, bottom - top)
                pred = starfm(
                    [read_array(f, win) for f in fine_base],
                    [read_array(c, win) for c in coarse_base],
                    read_array(coarse_target, win),
                    params,
                    pixel,
                    slices,
                    device,
                )
                band.WriteArray(pred[y0 - top : y0 - top + h], 0, y0)
                if progress:
                    progress((y0 + h) / grid.height, f"rows {y0 + h}/{grid.height}")
            ds.FlushCache()
        finally:  # closed before atomic_output renames or removes the file (see tiling.tiled_to_geotiff)
            ds = band = None
    return Path(out_path)


def fuse(request: FusionRequest) -> FusionOutput:
    """The registry's entry point: each target from the latest base pair before it."""
    return _fuse(request, two_sided=False)


def fuse_two_sided(request: FusionRequest) -> FusionOutput:
    """The registry's ``starfm2``: each target from the nearest base pairs before and after it."""
    return _fuse(request, two_sided=True)


def _fuse(request: FusionRequest, two_sided: bool) -> FusionOutput:
    params: StarfmParams = request.params
    targets = request.inputs.targets
    out = {}
    for k, t in enumerate(targets):
        check_cancelled(request.is_cancelled)
        bases = [request.inputs.latest_base_before(t.date)]
        if two_sided:
            bases.append(request.inputs.earliest_base_after(t.date))
        fine = [str(b.fine) for b in bases]
        out[t.date] = starfm_to_file(
            fine, [b.coarse for b in bases], t.coarse, request.inputs.grid, request.path_for(t.date), params,
            f"STARFM NDVI {t.date.isoformat()} from {', '.join(b.date.isoformat() for b in bases)}", None,
            request.is_cancelled,
        )  # fmt: skip
        request.report((k + 1) / len(targets), t.date.isoformat())
    return FusionOutput(out)
