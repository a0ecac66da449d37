"""Stacks for the network: the aligned pairs of each year combined by a strategy's recipes.

An :class:`AlignedPair` is a date with its coarse (MODIS) and fine (Sentinel-2) NDVI already on
the fine grid (:func:`~..inputs.align.ndvi_to_grid`). Readers read windows lazily, so prediction
never loads a scene.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..files import Window, read_array
from .strategies import Alignment, Recipe, apply_recipe
from .training import TrainingStack


@dataclass(frozen=True)
class AlignedPair:
    """One date's NDVI on the fine grid.

    Attributes:
        date: the acquisition date.
        coarse: path of the aligned coarse (MODIS) NDVI.
        fine: path of the aligned fine (Sentinel-2) NDVI; None for a target date, or the real
            (often cloudy) image of a target, used only to score the fusion.
    """

    date: dt.date
    coarse: str
    fine: str | None = None


def _paths(pairs: Sequence[AlignedPair], fine: bool) -> list[str]:
    out = []
    for p in pairs:
        path = p.fine if fine else p.coarse
        if path is None:
            raise ValueError(f"the pair of {p.date} has no fine image")
        out.append(path)
    return out


def _blend(recipe: Recipe, paths: Sequence[str], window: Window | None) -> np.ndarray:
    return apply_recipe(recipe, lambda i: read_array(paths[i], window))


def _base_channels(recipes: Sequence[Recipe], pairs: Sequence[AlignedPair], window: Window | None) -> list[np.ndarray]:
    coarse, fine = _paths(pairs, False), _paths(pairs, True)
    out = []
    for r in recipes:
        out += [_blend(r, coarse, window), _blend(r, fine, window)]
    return out


def reference_inputs(
    alignment: Alignment, pairs: Sequence[AlignedPair], window: Window | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference-year inputs ``(2N+1, h, w)`` and label ``(h, w)`` for ``window`` (None: the whole grid)."""
    channels = _base_channels(alignment.reference, pairs, window)
    channels.append(_blend(alignment.reference_label, _paths(pairs, False), window))
    label = _blend(alignment.reference_label, _paths(pairs, True), window)
    return np.stack(channels), label


def training_stack(alignment: Alignment, pairs: Sequence[AlignedPair]) -> TrainingStack:
    """The reference year's training inputs and label for one alignment, as arrays."""
    inputs, label = reference_inputs(alignment, pairs)
    return TrainingStack(inputs, label)


def prediction_reader(
    alignment: Alignment, pairs: Sequence[AlignedPair], target_coarse: str
) -> Callable[[int, int, int, int], np.ndarray]:
    """``read(x, y, w, h) -> (2N+1, h, w)``: the prediction year's inputs, window by window."""

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        window = (x, y, w, h)
        channels = _base_channels(alignment.prediction, pairs, window)
        channels.append(read_array(target_coarse, window))
        return np.stack(channels)

    return read
