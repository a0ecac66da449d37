"""Rough resources of a run, shown by the dialog before it starts (and warned about when too big).

Forward work of one 192 px patch at width 64 is 140 GFLOP (``bench/bench_speed.py``); it scales
with the square of the width and the patch area. A training step costs about three forwards.
Throughput assumptions (FLOP/s actually reached by this network, see docs/benchmarks.md):
CPU 20 GFLOP/s, CUDA GPU 20 TFLOP/s. Estimates, not promises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..fusion.tiling import origins, training_windows

GFLOP_PER_PATCH_W64_P192 = 140.0
THROUGHPUT = {"cpu": 20e9, "cuda": 20e12}


@dataclass(frozen=True)
class Estimate:
    """Memory (GB), disk (GB) and time (minutes) a run needs, and the memory this machine has free."""

    memory_gb: float
    disk_gb: float
    minutes: float
    available_memory_gb: float | None

    def warnings(self) -> list[str]:
        """What the dialog should warn about: too little memory, many hours."""
        out = []
        if self.available_memory_gb is not None and self.memory_gb > 0.8 * self.available_memory_gb:
            out.append(
                f"needs about {self.memory_gb:.1f} GB of memory, this machine has {self.available_memory_gb:.1f} GB available: "
                "crop to an area of interest or use fewer targets"
            )
        if self.minutes > 120:
            out.append(f"may take about {self.minutes / 60:.0f} h: lower the width, the epochs, or use a GPU")
        return out


def available_memory_gb() -> float | None:
    """Free physical memory in GB, or None where the system does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


def estimate_run(
    width: int,
    height: int,
    n_pairs: int,
    n_targets: int,
    n_base: int,
    model_width: int,
    patch: int,
    max_epochs: int,
    device: str = "cpu",
) -> Estimate:
    """Rough resources of a run over a ``width`` x ``height`` grid (see the module docstring)."""
    channels = 2 * n_base + 2
    stacks = n_targets * channels * width * height * 4
    n_train = len(training_windows(height, width, patch)) * n_targets
    patches_memory = n_train * channels * patch * patch * 4
    params = 46.9e6 * (model_width / 64) ** 2
    memory = (stacks + patches_memory + 16 * params + 2e9) / 1e9  # weights, Adam, gradients, activations
    disk = (2 * n_pairs + 6 * n_targets) * width * height * 4 * 0.6 / 1e9
    per_patch = GFLOP_PER_PATCH_W64_P192 * 1e9 * (model_width / 64) ** 2 * (patch / 192) ** 2
    n_pred = len(origins(width, patch, 10)) * len(origins(height, patch, 10)) * n_targets
    flops = per_patch * (3 * n_train * max_epochs * 0.5 + n_pred)  # early stopping: about half the epochs
    speed = THROUGHPUT["cuda" if device.startswith("cuda") else "cpu"]
    return Estimate(memory, disk, flops / speed / 60, available_memory_gb())


def prediction_minutes(width: int, height: int, n_targets: int, model_width: int, patch: int, device: str = "cpu") -> float:
    """Minutes one prediction pass of every target takes over a ``width`` x ``height`` grid (rough)."""
    per_patch = GFLOP_PER_PATCH_W64_P192 * 1e9 * (model_width / 64) ** 2 * (patch / 192) ** 2
    n_pred = len(origins(width, patch, 10)) * len(origins(height, patch, 10)) * n_targets
    return per_patch * n_pred / THROUGHPUT["cuda" if device.startswith("cuda") else "cpu"] / 60
