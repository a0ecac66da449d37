"""Rough resources of a run, shown by the dialog before it starts (and warned about when too big).

Forward work of one 192 px patch at width 64 is 140 GFLOP (``bench/bench_speed.py``); it scales
with the square of the width and the patch area. A training step costs about three forwards.
Throughput assumptions (FLOP/s actually reached by this network, see docs/benchmarks.md):
CPU 20 GFLOP/s, CUDA GPU 20 TFLOP/s. Estimates, not promises.

Small networks reach far less than those FLOP/s (overheads dominate), so the dialog calibrates:
:func:`measure_speed` times a few training steps and predictions of the job's own network on the
user's device (seconds), and :func:`estimate_run` then gives the time as a range over the epochs
early stopping may train (from the patience plus one to the maximum). docs/benchmarks.md compares
such ranges with measured runs (``bench/bench_estimate.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..fusion.blend import CHECK_PAIRS, blend_methods
from ..fusion.tiling import origins, training_windows

GFLOP_PER_PATCH_W64_P192 = 140.0
THROUGHPUT = {"cpu": 20e9, "cuda": 20e12}


#: seconds of the steps besides the network on this project's 2-core CPU, per megapixel of the grid (fitted to the
#: 768-3072 px runs of docs/benchmarks.md, "Memory against scene size", and checked on the whole-tile run:
#: alignment, per aligned raster
ALIGN_SECONDS_PER_RASTER_MPX = 0.15
#: writing the training stacks, per target and stack channel
STACK_SECONDS_PER_CHANNEL_MPX = 0.1
#: the window features and the forest of both crop maps
CLASSIFY_SECONDS_PER_MPX = 11.0
#: reading a prediction patch's inputs, per channel and pixel (a strip per row of patches)
READ_SECONDS_PER_CHANNEL_PX = 6e-8
#: a run's fixed cost: PyTorch, scikit-learn and GDAL imported, the inputs opened and checked, the network built,
#: the manifest, run record and report written (measured on the smallest real set, docs/benchmarks.md,
#: "Estimates against measured time")
STARTUP_SECONDS = 10.0
#: each target besides the network's patches: its inputs opened and read, its fused NDVI (and the compared methods'
#: rasters) written, converted to a COG and hashed, its scores and difference raster
OUTPUT_SECONDS_PER_TARGET = 3.0


@dataclass(frozen=True)
class Speed:
    """Seconds one patch takes on a device, measured by :func:`measure_speed` for one network size."""

    train_patch_s: float
    predict_patch_s: float
    device: str
    width: int
    patch: int


@dataclass(frozen=True)
class Estimate:
    """Memory (GB), disk (GB) and time (minutes) a run needs, and the memory this machine has free.

    ``minutes`` is the middle guess; ``minutes_range`` the range over the epochs early stopping may
    train; ``measured`` says whether the time comes from a measurement on this device.
    """

    memory_gb: float
    disk_gb: float
    minutes: float
    available_memory_gb: float | None
    minutes_range: tuple[float, float] = (0.0, 0.0)
    measured: bool = False

    def time_text(self) -> str:
        """The time as the dialog shows it: a range, and whether it was measured."""
        low, high = self.minutes_range if self.minutes_range[1] else (self.minutes, self.minutes)

        def fmt(m: float) -> str:
            return f"{m * 60:.0f} s" if m < 1 else f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"

        span = fmt(low) if fmt(low) == fmt(high) else f"{fmt(low)} to {fmt(high)}"
        return span + (" (measured on this device)" if self.measured else " (a guess: press 'Measure speed')")

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
    speed: Speed | None = None,
    patience: int = 12,
    batch_size: int = 16,
    samples_per_epoch: int | None = None,
    compare: Sequence[str] = (),
    *,
    training_stacks: int | None = None,
    check_stacks: int = 0,
    uncertainty_passes: int = 0,
    classify: bool = True,
    prediction_factor: float = 1.0,
    prediction_sides: int = 1,
) -> Estimate:
    """Rough resources of a run over a ``width`` x ``height`` grid (see the module docstring).

    With ``speed`` (measured for this ``model_width`` and ``patch``) the time is a range over
    ``patience + 1`` to ``max_epochs`` epochs; without, it is the FLOP-based guess. With
    ``samples_per_epoch`` an epoch trains that many patches (and validates a tenth as many).

    Args:
        width: the grid's columns.
        height: the grid's rows.
        n_pairs: the reference and prediction-year pairs.
        n_targets: the target dates.
        n_base: base pairs the network reads.
        model_width: the network's width.
        patch: the training patch's side in pixels.
        max_epochs: the most epochs training may run.
        device: ``cpu`` or ``cuda``/``cuda:N`` (the guess's throughput).
        speed: a measurement of this network on this device (:func:`measure_speed`), or None.
        patience: early stopping's patience in epochs.
        batch_size: patches per training step.
        samples_per_epoch: patches drawn per epoch (None: every training window).
        compare: the fusion methods compared beside the learning method (registry names); each adds
            its entry's ``seconds_per_target_mpx`` per target and megapixel (:func:`compare_seconds`).
        training_stacks: the training stacks (labels) the network learns from: one per target with a
            reference year, one per pair after the first ``n_base`` in a single season
            (:func:`training_stack_count`); None: ``n_targets``.
        check_stacks: the stacks a two-season STARFM blend scores the network on (written, not trained on).
        uncertainty_passes: MC-dropout predictions after the fused one (:func:`uncertainty_pass_count`).
        prediction_factor: network passes per prediction patch (:func:`prediction_factor`): 8 with
            test-time augmentation, twice where a target is predicted from both sides.
        prediction_sides: 2 where targets are predicted from both sides: their inputs are read twice
            and a second strip of them is held.
        classify: whether the run maps crops (the forest's time counts only then).
    """
    channels = 2 * n_base + 2
    stacks_n = n_targets if training_stacks is None else max(0, training_stacks)
    stacks = (stacks_n + check_stacks) * channels * width * height * 4  # training stacks on disk (.npy), read lazily
    windows = len(training_windows(height, width, patch)) * stacks_n
    n_train = windows if samples_per_epoch is None else min(windows, round(samples_per_epoch / 0.9))
    memory = memory_gb(model_width, patch, channels, batch_size, width)
    memory += (prediction_sides - 1) * (channels - 1) * patch * width * 4 / 1e9  # the other side's strip
    disk = (2 * n_pairs + 6 * n_targets) * width * height * 4 * 0.6 / 1e9 + stacks / 1e9
    n_pred = len(origins(width, patch, 10)) * len(origins(height, patch, 10)) * n_targets
    mpx = max(width * height / 1e6, 0.05)
    other_s = (
        STARTUP_SECONDS
        + OUTPUT_SECONDS_PER_TARGET * n_targets
        + mpx
        * (
            ALIGN_SECONDS_PER_RASTER_MPX * 2 * (n_pairs + n_targets)
            + STACK_SECONDS_PER_CHANNEL_MPX * (stacks_n + check_stacks) * channels
            + (CLASSIFY_SECONDS_PER_MPX if classify else 0.0)
        )
        + compare_seconds(compare, n_targets, mpx)
    )
    read_s = READ_SECONDS_PER_CHANNEL_PX * (channels - 1) * patch * patch * prediction_sides
    epochs = (min(max_epochs, patience + 1), max_epochs)  # early stopping cannot stop sooner
    passes = (1 + max(0, uncertainty_passes)) * prediction_factor  # the fused NDVI, then each MC-dropout pass
    if speed is not None and speed.width == model_width and speed.patch == patch:
        # 9:1 split: a tenth of the patches only validates (scored every epoch); a training patch costs a
        # step, a validation or prediction patch a forward pass, and every prediction patch reads its inputs
        per_epoch = 0.9 * n_train * speed.train_patch_s + 0.1 * n_train * speed.predict_patch_s
        predict = n_pred * (passes * speed.predict_patch_s + read_s)
        seconds = [e * per_epoch + predict + other_s for e in epochs]
        low, high = seconds[0] / 60, seconds[1] / 60
        return Estimate(memory, disk, (low + high) / 2, available_memory_gb(), (low, high), True)
    per_patch = GFLOP_PER_PATCH_W64_P192 * 1e9 * (model_width / 64) ** 2 * (patch / 192) ** 2
    flops = per_patch * (3 * n_train * max_epochs * 0.5 + passes * n_pred)  # early stopping: about half the epochs
    speed_flops = THROUGHPUT["cuda" if device.startswith("cuda") else "cpu"]
    middle = flops / speed_flops / 60 + other_s / 60
    return Estimate(memory, disk, middle, available_memory_gb(), (middle / 3, middle * 3), False)


def estimate_job(data: Mapping[str, Any], width: int, height: int, speed: Speed | None = None) -> Estimate:
    """:func:`estimate_run` of a job as its file or the dialog states it (a mapping), over a ``width`` x ``height`` grid.

    Missing fields take the job's preset's values, then the defaults of ``Job`` and ``TrainConfig``;
    the training stacks, the MC-dropout passes and whether crops are mapped follow the run's own
    rules (:func:`training_stack_count`, :func:`uncertainty_pass_count`). The dialog, the command
    line and ``bench/bench_estimate.py`` all call this.
    """
    from dataclasses import fields

    from ..fusion.config import TrainConfig
    from .job import Job
    from .presets import PRESETS

    preset = PRESETS.get(str(data.get("preset") or ""), {})
    job_defaults = {f.name: f.default for f in fields(Job)}
    train_defaults = {f.name: f.default for f in fields(TrainConfig)}

    def value(key: str) -> Any:
        return data[key] if data.get(key) is not None else preset.get(key, job_defaults.get(key))

    train = {
        **train_defaults,
        **(preset.get("train") or {}),
        **{k: v for k, v in (data.get("train") or {}).items() if v is not None},
    }
    reference, prediction = data.get("reference") or [], data.get("prediction") or []
    n_targets = max(1, len(data.get("targets") or []))
    n_base = int(value("n_base"))
    device = device_kind(str(train.get("device") or "cpu"))  # 'auto' as the run resolves it: CUDA on a GPU machine
    uncertainty = value("uncertainty")
    uncertainty = getattr(uncertainty, "value", uncertainty)
    uncertainty = {True: "on", False: "off"}.get(uncertainty, uncertainty) if isinstance(uncertainty, bool) else uncertainty
    grid = (width, height, n_targets, int(train["width"]), int(train["patch"]))
    factor = prediction_factor(train, single_season=not reference)
    return estimate_run(
        width,
        height,
        len(reference) + len(prediction),
        n_targets,
        n_base,
        int(train["width"]),
        int(train["patch"]),
        int(train["max_epochs"]),
        device,
        speed,
        patience=int(train["patience"]),
        batch_size=int(train["batch_size"]),
        samples_per_epoch=train.get("samples_per_epoch"),
        # the blend's STARFM, counted for every target: an upper bound (only a weight below 1 blends)
        compare=tuple(value("compare") or ()) + blend_methods(train, prediction_sides(train, not reference) == 2),
        training_stacks=0  # a saved model: nothing to train
        if data.get("model")
        else training_stack_count(
            len(reference),
            len(prediction),
            n_targets,
            n_base,
            bool(train.get("both_directions")),
            bool(train.get("extra_labels")),
        ),  # fmt: skip
        # a two-season blend's prediction-year stacks (fusion.blend.CHECK_PAIRS), written after training
        check_stacks=min(CHECK_PAIRS, max(0, len(prediction) - n_base))
        if reference and train.get("starfm_blend") and not data.get("model")
        else 0,
        uncertainty_passes=uncertainty_pass_count(str(uncertainty), int(value("mc_passes")), device, *grid, factor=factor),
        classify=bool(data.get("samples")),
        prediction_factor=factor,
        prediction_sides=prediction_sides(train, single_season=not reference),
    )


def estimate_benchmark(spec: Any, width: int, height: int, speed: Speed | None = None) -> Estimate:
    """The ``benchmark`` command's resources on a dataset (a ``BenchmarkSpec``) over a ``width`` x ``height`` grid.

    Each target is held out in turn: a learning method trains on the other pairs of the season (one
    stack per pair with ``n_base`` pairs before it) and predicts the one target; the other methods
    each predict it once. The times of the targets add up; memory is one target's.
    """
    from ..fusion.methods import get_method

    learns = [name for name in spec.methods if get_method(name, "methods").learns]
    others = tuple(name for name in spec.methods if name not in learns)
    train = spec.train
    n = len(spec.pairs)
    one = estimate_run(
        width,
        height,
        n - 1,
        1,
        spec.n_base,
        train.width,
        train.patch,
        train.max_epochs,
        device_kind(train.device),
        speed,
        patience=train.patience,
        batch_size=train.batch_size,
        samples_per_epoch=train.samples_per_epoch,
        compare=others + (blend_methods(train.as_dict(), prediction_sides(train.as_dict(), True) == 2) if learns else ()),
        training_stacks=training_stack_count(0, n - 1, 1, spec.n_base, train.both_directions) if learns else 0,
        uncertainty_passes=spec.mc_passes,
        classify=False,
        prediction_factor=prediction_factor(train.as_dict(), single_season=True),
        prediction_sides=prediction_sides(train.as_dict(), single_season=True),
    )
    k = len(spec.targets)
    once = (k - 1) * STARTUP_SECONDS / 60  # one process: its fixed cost counts once
    low, high = (m * k - once for m in one.minutes_range)
    return Estimate(one.memory_gb, one.disk_gb * k, one.minutes * k - once, one.available_memory_gb, (low, high), one.measured)


def prediction_sides(train: Any, single_season: bool) -> int:
    """2 where a single-season model trained in both directions predicts targets from both sides, else 1.

    Counted for every target (a target with no pair after it is predicted from one side): an upper
    bound. With a saved model (``model``) the model file decides; the job's ``train`` stands in for it.
    """
    return 2 if single_season and train.get("both_directions") else 1


def prediction_factor(train: Any, single_season: bool) -> float:
    """Network passes per prediction patch of the options ``train`` (a mapping), at most.

    Test-time augmentation (``tta``) predicts each patch eight times, on each side
    (:func:`prediction_sides`).
    """
    return (8.0 if train.get("tta") else 1.0) * prediction_sides(train, single_season)


def device_kind(device: str) -> str:
    """The device a run with ``train.device`` = ``device`` computes on; any name but ``auto`` as it is.

    ``auto`` as :func:`~..fusion.training.resolve_device` resolves it: ``cuda`` when PyTorch sees a GPU, else
    ``cpu``. The run's MC-dropout rule (:func:`uncertainty_pass_count` through ``run.uncertainty_passes``) and the
    estimate of a job both resolve ``auto`` here. Without an NVIDIA GPU (``nvidia-smi`` lists none) and with PyTorch not yet
    imported, ``auto`` is ``cpu`` without importing it (an import holds QGIS's GUI thread for seconds).
    """
    import sys

    if device != "auto":
        return device
    if "torch" not in sys.modules:
        from ..deps import has_nvidia_gpu

        if not has_nvidia_gpu():
            return "cpu"
    from ..fusion.training import resolve_device

    return str(resolve_device("auto").type)


def training_stack_count(
    n_reference: int, n_prediction: int, n_targets: int, n_base: int, both_directions: bool = False, extra_labels: bool = False
) -> int:
    """The training stacks a run writes (``fusion.tsstfn.training_alignments``).

    With a reference year one per target (and with ``extra_labels`` at most one more per reference
    pair: an upper bound); in a single season one per pair that has ``n_base`` pairs before it (and
    as many again learnt from the pairs after them with ``both_directions``).
    """
    if n_reference:
        return n_targets + (n_reference if extra_labels else 0)
    return max(0, n_prediction - n_base) * (2 if both_directions else 1)


def uncertainty_pass_count(
    uncertainty: str,
    mc_passes: int,
    device: str,
    width: int,
    height: int,
    n_targets: int,
    model_width: int,
    patch: int,
    auto_minutes: float = 3.0,
    factor: float = 1.0,
) -> int:
    """MC-dropout passes a run makes after the fused prediction.

    ``mc_passes`` when ``on`` or on a GPU, none when ``off``; with ``auto`` on a CPU only when
    :func:`prediction_minutes` says they take at most ``auto_minutes``, each pass costing
    ``factor`` predictions (:func:`prediction_factor`: test-time augmentation, two sides).
    """
    if uncertainty == "off":
        return 0
    if uncertainty == "on" or device.startswith("cuda"):
        return mc_passes
    minutes = mc_passes * factor * prediction_minutes(width, height, n_targets, model_width, patch, "cpu")
    return mc_passes if minutes <= auto_minutes else 0


def compare_seconds(compare: Sequence[str], n_targets: int, mpx: float) -> float:
    """Seconds the compared methods take: each registered method's ``seconds_per_target_mpx``, per target and megapixel.

    Raises:
        InputError: a name the registry does not know.
    """
    from ..fusion.methods import get_method

    return sum(get_method(name).seconds_per_target_mpx for name in compare) * n_targets * mpx


#: resident memory of a run besides the network: Python, GDAL, PyTorch, scikit-learn
BASE_MEMORY_GB = 0.5
#: and per pixel of the grid's width: whole-width strips (prediction inputs and accumulators, feature chunks)
#: and one row of GDAL blocks per source in its cache (capped at 256 MB on the command line)
MEMORY_GB_PER_WIDTH_PX = 8e-5


def memory_gb(model_width: int, patch: int, channels: int, batch_size: int, grid_width: int) -> float:
    """Peak memory of a run in GB: it grows with the grid's width, not its area (every stage streams).

    The libraries, the whole-width strips, the weights with gradients and Adam's moments, and a
    batch's activations (forward and backward, the prefetched batches included). Checked against
    measured runs of 768 px to a whole 10980 px tile in docs/benchmarks.md ("Memory against scene
    size", "A whole Sentinel-2 tile"): within 0.8-1.0x of each.
    """
    params = 46.9e6 * (model_width / 64) ** 2
    activations = 12 * batch_size * (channels + 4 * model_width) * patch * patch * 4
    return BASE_MEMORY_GB + MEMORY_GB_PER_WIDTH_PX * grid_width + (16 * params + activations) / 1e9


def measure_speed(
    model_width: int, patch: int, n_base: int, device: str = "cpu", batch_size: int = 16, cl_paths: int = 9, steps: int = 2
) -> Speed:
    """Time ``steps`` training steps and predictions of the network on random patches (after one warm-up).

    A few seconds on a CPU at small widths; the result is per patch, so the job's scene size does
    not matter. Memory: one batch, as in training.
    """
    import time

    import torch

    from ..fusion.model import TSSTFN

    dev = torch.device(device)
    batch = max(1, min(batch_size, 16))  # the job's own batch: smaller ones overstate the per-patch time on a CPU
    model = TSSTFN(n_base, patch, model_width, cl_paths=cl_paths).to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 2 * n_base + 1, patch, patch, device=dev)
    y = torch.randn(batch, 1, patch, patch, device=dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def train_step() -> None:
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()

    model.train()
    train_step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t) / (steps * batch)
    model.eval()
    with torch.inference_mode():
        model(x)
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            model(x)
        sync()
    predict_s = (time.perf_counter() - t) / (steps * batch)
    return Speed(train_s, predict_s, device, model_width, patch)


def prediction_minutes(width: int, height: int, n_targets: int, model_width: int, patch: int, device: str = "cpu") -> float:
    """Minutes one prediction pass of every target takes over a ``width`` x ``height`` grid (rough)."""
    per_patch = GFLOP_PER_PATCH_W64_P192 * 1e9 * (model_width / 64) ** 2 * (patch / 192) ** 2
    n_pred = len(origins(width, patch, 10)) * len(origins(height, patch, 10)) * n_targets
    return per_patch * n_pred / THROUGHPUT["cuda" if device.startswith("cuda") else "cpu"] / 60
