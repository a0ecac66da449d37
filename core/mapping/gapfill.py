"""Gap-filling of the forest's NDVI features: a date cloudy at a pixel no longer leaves the pixel unmapped.

Without it a pixel whose NDVI is missing (cloud, mask, fill value) on any one date gets no class:
with ten dates of 10 % cloud each, two thirds of the map would be nodata. ``gap_fill``:

* ``none``: as before, any missing date leaves the pixel unmapped;
* ``linear`` (the default): a missing value is interpolated linearly in time between the pixel's
  nearest clear dates before and after, weighted by the dates' days (:func:`days_of`; by their
  positions in the series only where a date is unknown, and the reports say so), the nearest clear
  value at either end. In a job's fused map the fused dates are among those clear dates.

(A ``fused`` filling, a cloudy date taken from a fused NDVI of the same date, was removed: a job
fuses only its critical-season targets, never a date of its early-season series, so it never
filled anything; :func:`gap_fill_choice` says so to a job file that still names it.)

Either way a pixel needs clear values on at least ``min_clear`` of the dates (default half of
them, at least one): a pixel seen on fewer would be mostly invented, and stays unmapped.

Filling works on the chunks the features are read in (a pixel's time series is all it needs), so
memory does not grow with the scene (:data:`FILL_BYTES` of temporaries); :class:`GapStats` counts what was filled for the reports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..options import Choice, check_range, choice


class GapFill(Choice):
    """How missing NDVI values of the forest's features are filled: ``none`` or ``linear``."""

    NONE = "none"
    LINEAR = "linear"


def gap_fill_choice(value: object, field: str = "gap_fill") -> GapFill:
    """``value`` as a :class:`GapFill` (jobs, ``classify``, Processing, the dialog).

    Raises:
        InputError: naming ``field``; for the removed ``fused``, why and what to use.
    """
    if isinstance(value, str) and value.strip().lower() == "fused":
        raise InputError(
            f"Job field '{field}': 'fused' is no longer offered: a run fuses only its critical-season targets, never a "
            "cloudy date of the early-season series, so it filled nothing; use 'linear' (in a job's fused map the "
            "fused dates are among the clear dates it interpolates between) or 'none'."
        )
    return choice(GapFill, value, field)


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
        days: the dates' days (any origin, increasing; :func:`days_of`) for the interpolation's weights; None: the
            dates are unknown and taken as evenly spaced (by position).
    """

    how: GapFill | str = GapFill.LINEAR
    min_clear: float = DEFAULT_MIN_CLEAR
    days: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        """Coerce the choice; check the share."""
        object.__setattr__(self, "how", gap_fill_choice(self.how))
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
        how = "linear interpolation in time between the pixel's clear dates, " + (
            "weighted by their days"
            if self.days is not None
            else "by their positions in the series (the dates are unknown, so taken as evenly spaced)"
        )
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


def fill_stack(
    stack: np.ndarray,
    filling: GapFilling,
    stats: GapStats | None = None,
    counted: slice | None = None,
) -> np.ndarray:
    """``stack`` ``(T, H, W)`` with its gaps filled in place (see the module); pixels with too few clear dates all NaN.

    Args:
        stack: float NDVI, NaN where missing.
        filling: how (its ``days`` weigh the interpolation).
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


def days_of(dates: Sequence[dt.date | None] | None) -> tuple[float, ...] | None:
    """The day numbers of a series' ``dates`` for the interpolation's weights, or None where they cannot weigh it.

    None (the filling then goes by position, and says so) when a date is unknown (a band of a stack
    without dates) or the dates go back in time (then the series is no time line).
    """
    if not dates or any(d is None for d in dates):
        return None
    days = tuple(float(d.toordinal()) for d in dates if d is not None)
    return days if all(b >= a for a, b in zip(days, days[1:])) else None
