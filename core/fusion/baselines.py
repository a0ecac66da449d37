"""The trivial baselines every fusion method must beat.

* ``coarse_cubic``: the target date's coarse NDVI, cubic-resampled onto the fine grid (what the
  alignment already wrote);
* ``latest_fine``: the latest clear fine image before the target date (no change assumed).

Neither writes a file: each returns the aligned raster it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .base import FusionOutput, FusionRequest


@dataclass(frozen=True)
class NoParams:
    """A method without parameters."""


def coarse_cubic(request: FusionRequest) -> FusionOutput:
    """The target's aligned coarse NDVI as the prediction."""
    return FusionOutput({t.date: Path(t.coarse) for t in request.inputs.targets}, written=False)


def latest_fine(request: FusionRequest) -> FusionOutput:
    """The latest fine image before each target as the prediction."""
    out = {}
    for t in request.inputs.targets:
        fine = request.inputs.latest_base_before(t.date).fine
        assert fine is not None
        out[t.date] = Path(fine)
    return FusionOutput(out, written=False)
