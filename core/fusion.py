"""Stacks for the network: the aligned pairs of each year combined by a strategy's recipes.

A :class:`Pair` is a date with its MODIS and Sentinel-2 NDVI already on the Sentinel-2 grid
(:func:`~.align.ndvi_to_grid`). Readers read windows lazily, so prediction never loads a scene.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .raster import read_array
from .strategies import Alignment, Recipe, apply_recipe
from .training import TrainingStack


@dataclass(frozen=True)
class Pair:
    date: dt.date
    modis: str  # aligned MODIS NDVI (on the Sentinel-2 grid)
    sentinel2: str | None  # aligned Sentinel-2 NDVI; None for a target date


def _blend(recipe: Recipe, paths: list[str | None], window) -> np.ndarray:
    return apply_recipe(recipe, lambda i: read_array(paths[i], window))


def _base_channels(recipes, pairs: list[Pair], window) -> list[np.ndarray]:
    modis = [p.modis for p in pairs]
    s2 = [p.sentinel2 for p in pairs]
    out = []
    for r in recipes:
        out += [_blend(r, modis, window), _blend(r, s2, window)]
    return out


def reference_inputs(alignment: Alignment, pairs: list[Pair], window=None) -> tuple[np.ndarray, np.ndarray]:
    """Reference-year inputs (2N+1, h, w) and label (h, w) for ``window`` (None: whole grid)."""
    channels = _base_channels(alignment.reference, pairs, window)
    channels.append(_blend(alignment.reference_label, [p.modis for p in pairs], window))
    label = _blend(alignment.reference_label, [p.sentinel2 for p in pairs], window)
    return np.stack(channels), label


def training_stack(alignment: Alignment, pairs: list[Pair]) -> TrainingStack:
    inputs, label = reference_inputs(alignment, pairs)
    return TrainingStack(inputs, label)


def prediction_reader(alignment: Alignment, pairs: list[Pair], target_modis: str):
    """``read(x, y, w, h) -> (2N+1, h, w)`` for the prediction year."""

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        window = (x, y, w, h)
        channels = _base_channels(alignment.prediction, pairs, window)
        channels.append(read_array(target_modis, window))
        return np.stack(channels)

    return read


def align_pairs(
    entries: list[dict],
    root,
    grid,
    workdir,
    modis_product: str = "mod09gq",
    s2_product: str = "s2_l2a",
    is_cancelled=lambda: False,
) -> list[Pair]:
    """Align the MODIS and Sentinel-2 of each ``{"date", "modis", "sentinel2"[, "sentinel2_mask"]}``
    entry (paths relative to ``root``) onto ``grid``, writing NDVI GeoTIFFs into ``workdir``."""
    from pathlib import Path

    from .align import ndvi_to_grid
    from .dates import parse_date
    from .raster import NdviSource

    root, workdir = Path(root), Path(workdir)
    pairs = []
    for e in entries:
        date = parse_date(e["date"])
        stamp = date.strftime("%Y%m%d")
        modis = ndvi_to_grid(
            NdviSource(str(root / e["modis"]), modis_product), grid, workdir / f"modis_{stamp}.tif", is_cancelled=is_cancelled
        )
        s2 = None
        if e.get("sentinel2"):
            source = NdviSource(
                str(root / e["sentinel2"]),
                s2_product,
                mask_path=str(root / e["sentinel2_mask"]) if e.get("sentinel2_mask") else None,
            )
            s2 = ndvi_to_grid(source, grid, workdir / f"s2_{stamp}.tif", is_cancelled=is_cancelled)
        pairs.append(Pair(date, str(modis), str(s2) if s2 else None))
    return pairs
