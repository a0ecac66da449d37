"""Time alignment of the reference (training) year to the prediction year (paper 2.2.3, 4.1).

The model reads ``n_base`` MODIS/Sentinel-2 pairs plus the target-date MODIS, always in the same
positions. The years' clear dates never match, so each strategy decides which images (or blends of
images) of each year fill those positions. The answer is a *recipe* per position: a tuple of
``(index, weight)`` terms over that year's sorted dates, weights summing to 1.

=======  =====================================================  =====================================
name     reference (training) year                              prediction year
=======  =====================================================  =====================================
STR_A    its own ``n_base`` latest images before the label       its own ``n_base`` latest images
STR_B    linear interpolation (by day of year) to the            its own ``n_base`` latest images
         prediction year's base dates
STR_C    linear interpolation to a common set of dates           linear interpolation to the same dates
STR_D    the nearest image (by day of year) to each              its own ``n_base`` latest images
         prediction-year base date
STR_E    the nearest image to a common set of dates              the nearest image to the same dates
=======  =====================================================  =====================================

The label (the reference-year Sentinel-2 the network learns to produce) sits at ``reference_target``
(by default the target's day of year): interpolated between the bracketing reference images for
STR_B and STR_C, the nearest reference image for STR_A, STR_D and STR_E. Reference base images
are those strictly before that label. ``docs/strategies.md`` explains each choice against the
paper's Figures 7 and 11.

NaN rule (:func:`apply_recipe`): a blended pixel is the weighted mean of the terms that are valid
there, weights renormalised; a pixel missing in every term stays NaN. So an interpolation whose one
side is cloudy takes the other side, and nothing is invented where no image sees the ground.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import DateError
from ..inputs.dates import doy
from ..options import Choice

Recipe = tuple[tuple[int, float], ...]


class Strategy(Choice):
    """The paper's time-alignment strategies; the value is the name used in job files."""

    STR_A = "STR_A"
    STR_B = "STR_B"
    STR_C = "STR_C"
    STR_D = "STR_D"
    STR_E = "STR_E"


STRATEGIES = tuple(s.value for s in Strategy)


class MonthDay(NamedTuple):
    """A day of the year without the year (``--08-31`` in job files): the paper's label day."""

    month: int
    day: int

    def doy(self, year: int) -> int:
        """This day's day of year in ``year`` (29 February of a common year counts as 1 March)."""
        return doy(dt.date(year, self.month, 1)) + self.day - 1

    def __str__(self) -> str:
        """ISO 8601's ``--MM-DD``."""
        return f"--{self.month:02d}-{self.day:02d}"


DESCRIPTIONS = {
    "STR_A": "Each year uses its own latest images, position by position (no time alignment).",
    "STR_B": "Reference-year images interpolated in time to the prediction year's dates.",
    "STR_C": "Both years interpolated in time onto one common set of dates.",
    "STR_D": "Each prediction-year date takes the nearest reference-year image in time.",
    "STR_E": "Both years take their nearest image to one common set of dates.",
}


@dataclass(frozen=True)
class Alignment:
    """Which images fill the model's positions, for one prediction target.

    ``reference`` and ``prediction`` hold ``n_base`` recipes (oldest first) over the reference-year
    and prediction-year date lists given to :func:`align`; ``reference_label`` is the recipe of the
    training label (and of the reference-year target MODIS); ``positions`` are the days of year
    the positions stand for in the prediction year.
    """

    strategy: str
    reference: tuple[Recipe, ...]
    prediction: tuple[Recipe, ...]
    reference_label: Recipe
    positions: tuple[int, ...]
    reference_label_doy: int


def _doys(dates: Sequence[dt.date]) -> np.ndarray:
    return np.array([doy(d) for d in dates], dtype=float)


def interpolate_recipe(doys: np.ndarray, indices: Sequence[int], at: float) -> Recipe:
    """Linear interpolation at day ``at`` between the images ``indices`` (sorted by day).

    Outside their range the nearest end image is used (no extrapolation).
    """
    days = doys[list(indices)]
    if at <= days[0]:
        return ((indices[0], 1.0),)
    if at >= days[-1]:
        return ((indices[-1], 1.0),)
    hi = int(np.searchsorted(days, at, side="left"))
    if days[hi] == at:
        return ((indices[hi], 1.0),)
    lo = hi - 1
    w = (at - days[lo]) / (days[hi] - days[lo])
    return ((indices[lo], float(1.0 - w)), (indices[hi], float(w)))


def nearest_recipe(doys: np.ndarray, indices: Sequence[int], at: float) -> Recipe:
    """The image of ``indices`` nearest in day of year to ``at``; ties go to the earlier image."""
    days = doys[list(indices)]
    k = int(np.argmin(np.abs(days - at) + 1e-6 * (days > at)))
    return ((indices[k], 1.0),)


def _latest(candidates: list[int], n: int, year_name: str, before: str, dates: Sequence[dt.date]) -> list[int]:
    if len(candidates) < n:
        have = ", ".join(dates[i].isoformat() for i in candidates) or "none"
        raise DateError(
            f"{n} base pairs are needed before {before} in the {year_name} year, but only {len(candidates)} "
            f"are available ({have}). Add pairs or lower the number of base pairs."
        )
    return candidates[-n:]


def align(
    strategy: str,
    reference_dates: Sequence[dt.date],
    prediction_dates: Sequence[dt.date],
    target: dt.date,
    n_base: int,
    reference_target: int | dt.date | MonthDay | None = None,
) -> Alignment:
    """The recipes of ``strategy`` for predicting ``target``.

    Args:
        strategy: one of :data:`STRATEGIES`.
        reference_dates: dates of the reference year's MODIS/Sentinel-2 pairs, sorted, unique.
        prediction_dates: dates of the prediction year's pairs (the base pairs), sorted, unique.
        target: the prediction-year date to predict.
        n_base: number of base pairs the model reads.
        reference_target: day of year, date or :class:`MonthDay` of the training label in the
            reference year; defaults to the target's day of year. The paper fixed it to 31 August.
            A ``MonthDay`` counts as its day of year in the *target's* year, the frame in which
            every position is compared (31 August is day 243 for a 2021 target, whatever the
            reference year; taken in the leap year 2020 it would be day 244 and pick 10 September
            instead of the paper's 19 August). A date is taken as it is (its own day of year).
    """
    strategy = str(strategy).upper()
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy '{strategy}'; use one of {', '.join(STRATEGIES)}.")
    for name, dates in (("reference", reference_dates), ("prediction", prediction_dates)):
        if list(dates) != sorted(set(dates)):
            raise DateError(f"The {name} year's dates must be unique and sorted; got {[d.isoformat() for d in dates]}.")
    if n_base < 1:
        raise ValueError("n_base must be at least 1")
    rdoy, pdoy = _doys(reference_dates), _doys(prediction_dates)
    if reference_target is None:
        label_doy = float(doy(target))
    elif isinstance(reference_target, MonthDay):
        label_doy = float(reference_target.doy(target.year))
    elif isinstance(reference_target, dt.date):
        label_doy = float(doy(reference_target))
    else:
        label_doy = float(reference_target)

    all_ref = list(range(len(reference_dates)))
    if not all_ref:
        raise DateError("The reference year has no MODIS/Sentinel-2 pairs.")
    if strategy in ("STR_B", "STR_C"):
        before = [i for i in all_ref if rdoy[i] < label_doy]
        after = [i for i in all_ref if rdoy[i] >= label_doy]
        if not before or not after:
            raise DateError(
                f"{strategy} interpolates the reference-year label at day {int(label_doy)}; it needs a reference "
                "image before and one on or after that day. Add pairs or choose STR_A, STR_D or STR_E."
            )
        label = interpolate_recipe(rdoy, before + after[:1], label_doy)
    else:
        label = nearest_recipe(rdoy, all_ref, label_doy)
    first_label_index = min(i for i, _ in label)
    ref_cands = [i for i in all_ref if i < first_label_index]  # base images precede every label image
    pred_cands = [i for i, d in enumerate(prediction_dates) if d < target]
    label_date = "the reference label (" + " + ".join(reference_dates[i].isoformat() for i, _ in label) + ")"
    ref_r: tuple[Recipe, ...]
    pred_r: tuple[Recipe, ...]

    if strategy == "STR_A":
        ref = _latest(ref_cands, n_base, "reference", label_date, reference_dates)
        pred = _latest(pred_cands, n_base, "prediction", target.isoformat(), prediction_dates)
        ref_r = tuple(((i, 1.0),) for i in ref)
        pred_r = tuple(((i, 1.0),) for i in pred)
        positions = tuple(int(pdoy[i]) for i in pred)
    elif strategy in ("STR_B", "STR_D"):
        pred = _latest(pred_cands, n_base, "prediction", target.isoformat(), prediction_dates)
        if not ref_cands:
            raise DateError(f"No reference-year image lies before {label_date}; {strategy} has nothing to align.")
        pick: Callable = interpolate_recipe if strategy == "STR_B" else nearest_recipe
        ref_r = tuple(pick(rdoy, ref_cands, pdoy[i]) for i in pred)
        pred_r = tuple(((i, 1.0),) for i in pred)
        positions = tuple(int(pdoy[i]) for i in pred)
    else:  # STR_C, STR_E: a common set of dates
        if not ref_cands or not pred_cands:
            raise DateError(f"{strategy} needs base images in both years before the target.")
        days = sorted(set(rdoy[ref_cands]) | set(pdoy[pred_cands]))
        if strategy == "STR_C":  # interpolation only where both years bracket the day
            lo = max(rdoy[ref_cands].min(), pdoy[pred_cands].min())
            hi = min(rdoy[ref_cands].max(), pdoy[pred_cands].max())
            days = [d for d in days if lo <= d <= hi]
        if len(days) < n_base:
            raise DateError(
                f"{strategy} found only {len(days)} common dates for {n_base} base positions. "
                "Add pairs or lower the number of base pairs."
            )
        days = days[-n_base:]
        pick = interpolate_recipe if strategy == "STR_C" else nearest_recipe
        ref_r = tuple(pick(rdoy, ref_cands, d) for d in days)
        pred_r = tuple(pick(pdoy, pred_cands, d) for d in days)
        positions = tuple(int(d) for d in days)
    return Alignment(strategy, ref_r, pred_r, label, positions, int(label_doy))


def own_latest(dates: Sequence[dt.date], target: dt.date, n_base: int) -> Alignment:
    """STR_A within one season (single-season training): the ``n_base`` latest images before ``target``.

    Dates are compared as dates, not days of year, so a season may cross New Year. When ``target``
    is one of ``dates`` (a training label) it is the label; the recipes serve both sides.

    Raises:
        DateError: fewer than ``n_base`` images precede ``target``.
    """
    before = [i for i, d in enumerate(dates) if d < target]
    chosen = _latest(before, n_base, "this season's", target.isoformat(), dates)
    recipes = tuple(((i, 1.0),) for i in chosen)
    label: Recipe = ((list(dates).index(target), 1.0),) if target in dates else ()
    return Alignment(Strategy.STR_A.value, recipes, recipes, label, tuple(doy(dates[i]) for i in chosen), doy(target))


def own_next(dates: Sequence[dt.date], label: dt.date, n_base: int) -> Alignment:
    """:func:`own_latest` mirrored in time: ``label`` learnt from the ``n_base`` images *after* it.

    The positions hold the nearest later image last, where :func:`own_latest` puts the latest
    earlier one, so the network sees the same gap structure with time running backwards. Used as
    an extra training label of single-season training (``train.both_directions``), and by such a
    model to predict a target from the pairs after it too (``label`` not among ``dates``: no label
    recipe), blended with its prediction from the pairs before it.

    Raises:
        DateError: fewer than ``n_base`` images follow ``label``.
    """
    after = [i for i, d in enumerate(dates) if d > label]
    if len(after) < n_base:
        raise DateError(f"{n_base} images are needed after {label.isoformat()}, but only {len(after)} follow it.")
    chosen = after[:n_base][::-1]
    recipes = tuple(((i, 1.0),) for i in chosen)
    label_recipe: Recipe = ((list(dates).index(label), 1.0),) if label in dates else ()
    return Alignment(Strategy.STR_A.value, recipes, recipes, label_recipe, tuple(doy(dates[i]) for i in chosen), doy(label))


def apply_recipe(recipe: Recipe, images: Sequence[np.ndarray] | Callable[[int], np.ndarray]) -> np.ndarray:
    """Blend images by ``recipe`` with the NaN rule of this module.

    ``images`` is a sequence of arrays or a function ``index -> array`` (so that windows are read
    only when needed).
    """
    if not recipe:
        raise ValueError("an empty recipe blends nothing")
    get = images if callable(images) else images.__getitem__
    total: np.ndarray = np.zeros(())
    weight: np.ndarray = np.zeros(())
    for index, w in recipe:
        a = np.asarray(get(index), dtype=np.float64)
        valid = np.isfinite(a)
        total = total + np.where(valid, a * w, 0.0)
        weight = weight + valid * w
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)
    return out.astype(np.float32)


def describe(alignment: Alignment, reference_dates: Sequence[dt.date], prediction_dates: Sequence[dt.date]) -> str:
    """A readable account of ``alignment``: the label, each year's images per position, the positions' days.

    Each recipe is written as its dates (``Aug19``) with their weights when it blends
    (``Aug19*0.50+Sep10*0.50``). ``docs/strategies.md`` shows this for the paper's dates; a test
    keeps the page equal to it.

    Args:
        alignment: what :func:`align` returned.
        reference_dates: the reference dates given to :func:`align`.
        prediction_dates: the prediction dates given to :func:`align`.
    """

    def show(recipe: Recipe, dates: Sequence[dt.date]) -> str:
        if len(recipe) == 1:
            return f"{dates[recipe[0][0]]:%b%d}"
        return "+".join(f"{dates[i]:%b%d}*{w:.2f}" for i, w in recipe)

    pad = " " * len(alignment.strategy)
    rows = [
        ("label", [show(alignment.reference_label, reference_dates)] + [f"(day {alignment.reference_label_doy})"]),
        ("reference", [show(r, reference_dates) for r in alignment.reference]),
        ("prediction", [show(r, prediction_dates) for r in alignment.prediction]),
        ("positions", [str(d) for d in alignment.positions]),
    ]
    return "\n".join(f"{alignment.strategy if k == 0 else pad} {name:<10} {' '.join(v)}" for k, (name, v) in enumerate(rows))


def recipe_day(recipe: Recipe, dates: Sequence[dt.date]) -> float:
    """The day of year a recipe stands for: its images' days of year, weighted."""
    return float(sum(w * doy(dates[i]) for i, w in recipe))


def reference_offsets(
    alignment: Alignment, reference_dates: Sequence[dt.date], prediction_dates: Sequence[dt.date]
) -> tuple[float, ...]:
    """Per position, how many days the reference year's image(s) lie after the prediction year's.

    0 where the reference year is interpolated to the prediction year's day (STR_B, STR_C inside
    the reference images' span); the gap to the nearest image for STR_D and STR_E; negative where
    the reference image is earlier, e.g. -14 when a fused 30 July meets 15 July because the
    reference year has no base image after it (``docs/strategies.md``).

    Args:
        alignment: what :func:`align` returned.
        reference_dates: the reference dates given to :func:`align`.
        prediction_dates: the prediction dates given to :func:`align`.
    """
    return tuple(
        round(recipe_day(r, reference_dates) - recipe_day(p, prediction_dates), 2)
        for r, p in zip(alignment.reference, alignment.prediction)
    )
