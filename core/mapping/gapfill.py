"""Gap-filling of the forest's NDVI features: a date cloudy at a pixel no longer leaves the pixel unmapped.

Without it a pixel whose NDVI is missing (cloud, mask, fill value) on any one date gets no class:
with ten dates of 10 % cloud each, two thirds of the map would be nodata. ``gap_fill``:

* ``none``: as before, any missing date leaves the pixel unmapped;
* ``linear`` (the default): a missing value is interpolated linearly in time between the pixel's
  nearest clear dates before and after (by the dates' positions in the series: dates are taken as
  evenly spaced unless their days are given), the nearest clear value at either end;
* ``fused``: a missing value is taken from the run's fused NDVI of the same date where it has one
  (a job whose targets include that date), else as ``linear``.

Either way a pixel needs clear values on at least ``min_clear`` of the dates (default half of
them, at least one): a pixel seen on fewer would be mostly invented, and stays unmapped.

Filling works on the chunks the features are read in (a pixel's time series is all it needs), so
memory does not grow with the scene (:data:`FILL_BYTES` of temporaries); :class:`GapStats` counts what was filled for the reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..options import Choice, check_range, choice


class GapFill(Choice):
    """How missing NDVI values of the forest's features are filled: ``none``, ``linear`` or ``fused``."""

    NONE = "none"
    LINEAR = "linear"
    FUSED = "fused"


#: the share of a pixel's dates that must be clear for it to be gap-filled and mapped
DEFAULT_MIN_CLEAR = 0.5
#: rows filled at a time inside a chunk, at most (bounds the temporaries of the interpolation)
FILL_ROWS = 32
#: bytes of the interpolation's temporaries (about 8 arrays of 8 bytes per value) at most: fewer rows on wide scenes
FILL_BYTES = 64 << 20


@dataclass(frozen=True)
class GapFilling:
    """The gap-filling of one crop map.

    Attributes:
        how: :class:`GapFill`.
        min_clear: the share of dates (0-1] a pixel needs clear to be filled and mapped.
        fused: for ``fused``, the raster holding the fused NDVI of each date that has one, by the date's position.
        days: the dates' days (any origin) for the interpolation's weights; None: evenly spaced.
    """

    how: GapFill | str = GapFill.LINEAR
    min_clear: float = DEFAULT_MIN_CLEAR
    fused: dict[int, str] = field(default_factory=dict, hash=False)
    days: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        """Coerce the choice; check the share."""
        object.__setattr__(self, "how", choice(GapFill, self.how, "gap_fill"))
        check_range(self.min_clear, "gap_fill_min_clear", 0, 1, low_open=True)

    @property
    def active(self) -> bool:
        """Whether anything is filled."""
        return self.how is not GapFill.NONE

    def needed(self, n_dates: int) -> int:
        """Clear dates a pixel needs (at least one)."""
        return max(1, math.ceil(self.min_clear * n_dates - 1e-9))

    def describe(self, n_dates: int) -> str:
        """The filling in the reports' words."""
        if not self.active:
            return "no gap-filling: a pixel missing on any date is unmapped"
        how = "linear interpolation in time between the pixel's clear dates"
        if self.how is GapFill.FUSED:
            how = f"the fused NDVI of the same date ({len(self.fused)} date(s)), else {how}"
        return f"gap-filling by {how}; a pixel needs {self.needed(n_dates)} of {n_dates} dates clear"


@dataclass
class GapStats:
    """What the filling did over a whole map: pixels seen, filled, and left unmapped for too few clear dates."""

    pixels: int = 0
    filled: int = 0
    too_few: int = 0
    none_clear: int = 0

    def note(self, filling: GapFilling, n_dates: int) -> str:
        """One sentence for the reports."""
        n = max(1, self.pixels)
        text = f"{100 * self.filled / n:.1f} % of the pixels were gap-filled ({filling.describe(n_dates)})"
        if self.too_few:
            text += (
                f"; {100 * self.too_few / n:.1f} % stay unmapped: clear on fewer than {filling.needed(n_dates)} of the "
                f"{n_dates} dates (lower 'gap_fill_min_clear' to map them, with more invented values)"
            )
        return text + "."


def check_fused_filling(filling: GapFilling, what: str = "classify") -> None:
    """``fused`` needs fused rasters, which only a job's run makes.

    Raises:
        InputError: naming the option and what to use instead.
    """
    if filling.how is GapFill.FUSED and not filling.fused:
        raise InputError(
            f"Gap-filling 'fused' takes a pixel's missing NDVI from the fused NDVI of the same date, which {what} does "
            "not make; use 'linear' (interpolation between the pixel's clear dates) or 'none'."
        )


def fill_stack(
    stack: np.ndarray,
    filling: GapFilling,
    fused: dict[int, np.ndarray] | None = None,
    stats: GapStats | None = None,
    counted: slice | None = None,
) -> np.ndarray:
    """``stack`` ``(T, H, W)`` with its gaps filled in place (see the module); pixels with too few clear dates all NaN.

    Args:
        stack: float NDVI, NaN where missing.
        filling: how.
        fused: for ``fused``, the fused NDVI ``(H, W)`` of date ``t`` where the run has one.
        stats: counts of the rows ``counted`` (a chunk's own rows, not its halo) are added here.
        counted: the rows to count (None: all).
    """
    if not filling.active:
        if stats is not None:
            own = stack[:, counted] if counted is not None else stack
            clear = np.isfinite(own)
            stats.pixels += int(own[0].size)
            stats.none_clear += int((~clear.any(axis=0)).sum())
        return stack
    t, h, w = stack.shape
    rows = max(1, min(FILL_ROWS, FILL_BYTES // max(1, t * w * 64)))
    need = filling.needed(t)
    positions = np.asarray(filling.days if filling.days is not None else np.arange(t), dtype=np.float64)
    if len(positions) != t:
        raise ValueError(f"{len(positions)} days for {t} dates")
    first, last = (0, h) if counted is None else (counted.start or 0, h if counted.stop is None else counted.stop)
    for y0 in range(0, h, rows):
        part = stack[:, y0 : y0 + rows]
        clear = np.isfinite(part)
        n_clear = clear.sum(axis=0)
        few = n_clear < need
        gaps = ~clear & ~few[None]
        if stats is not None:
            a, b = max(first, y0) - y0, min(last, y0 + part.shape[1]) - y0
            if b > a:
                stats.pixels += int(n_clear[a:b].size)
                stats.filled += int(gaps[:, a:b].any(axis=0).sum())
                stats.too_few += int((few[a:b] & (n_clear[a:b] > 0)).sum())
                stats.none_clear += int((n_clear[a:b] == 0).sum())
        if filling.how is GapFill.FUSED and fused:
            for k, values in fused.items():
                take = gaps[k] & np.isfinite(values[y0 : y0 + rows])
                part[k][take] = values[y0 : y0 + rows][take]
            clear = np.isfinite(part)
            gaps = ~clear & ~few[None]
        if gaps.any():
            _interpolate(part, clear, gaps, positions)
        part[:, few] = np.nan
    return stack


def _interpolate(part: np.ndarray, clear: np.ndarray, gaps: np.ndarray, positions: np.ndarray) -> None:
    """Fill ``gaps`` of ``part`` ``(T, h, W)`` linearly between the clear dates around them, the nearest at the ends."""
    t = part.shape[0]
    index = np.arange(t)[:, None, None]
    prev = np.maximum.accumulate(np.where(clear, index, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(clear, index, t)[::-1], axis=0)[::-1]
    has_prev, has_next = prev >= 0, nxt < t
    p, n = np.clip(prev, 0, t - 1), np.clip(nxt, 0, t - 1)
    v_prev = np.take_along_axis(part, p, axis=0)
    v_next = np.take_along_axis(part, n, axis=0)
    x, x0, x1 = positions[index.ravel()][:, None, None], positions[p], positions[n]
    span = np.where(x1 > x0, x1 - x0, 1.0)
    w = np.clip((x - x0) / span, 0.0, 1.0)
    between = v_prev + w * (v_next - v_prev)
    value = np.where(has_prev & has_next, between, np.where(has_prev, v_prev, v_next))
    part[gaps] = value[gaps].astype(part.dtype, copy=False)


def fused_by_position(paths: Sequence[str], dates: Sequence[object], fused: dict[object, str]) -> dict[int, str]:
    """The position of each of ``paths``' ``dates`` that has a fused raster in ``fused`` (by date), and that raster."""
    return {i: fused[d] for i, d in enumerate(dates) if d in fused and fused[d] != paths[i]}
