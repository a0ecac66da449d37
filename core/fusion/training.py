"""Training TSSTFN on the reference year.

Inputs are normalised as ``(ndvi - mean) / std`` with the statistics of the training stacks,
NaN becomes 0 (the mean) on input and is excluded from the loss. Loss: masked MSE (the paper does
not name its loss); the early-stopping score is the validation RMSE in NDVI units.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..callbacks import CancelFn, never_cancelled
from ..errors import InputError
from .config import OutputMode, TrainConfig
from .tiling import origins

log = logging.getLogger("tsstfn")
#: batches read ahead of the network by the prefetch thread (bounded: memory holds this many more)
PREFETCH_BATCHES = 2


@dataclass
class TrainingStack:
    """One training example scene: inputs (2N+1, H, W) and the label (H, W), NDVI with NaN, in memory."""

    inputs: np.ndarray
    label: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)``."""
        c, h, w = self.inputs.shape
        return int(c), int(h), int(w)

    @contextmanager
    def arrays(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(inputs, label)`` for reading a batch of windows (copy what you keep)."""
        yield self.inputs, self.label

    def moments(self) -> tuple[float, float, int]:
        """Sum, sum of squares and count of the valid input NDVI."""
        return _moments(self.inputs)


@dataclass
class DiskStack(TrainingStack):
    """A training stack in two ``.npy`` files on disk, mapped only while a batch is read.

    Each :meth:`arrays` maps the files and unmaps them when the batch is copied out, so the pages a
    batch touched leave the process (they stay in the OS file cache): resident memory holds one
    batch, whatever the scene size. ``stats`` are the input moments computed while writing.
    """

    inputs_path: str = ""
    label_path: str = ""
    stats: tuple[float, float, int] = (0.0, 0.0, 0)
    size: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def open(cls, inputs_path: str | Path, label_path: str | Path, stats: tuple[float, float, int]) -> DiskStack:
        """The stack written at the two paths (their headers are read, no pixel)."""
        inputs = np.load(inputs_path, mmap_mode="r")
        label = np.load(label_path, mmap_mode="r")
        if tuple(label.shape) != tuple(inputs.shape[1:]):
            raise ValueError(f"{label_path} is {label.shape}, {inputs_path} is {inputs.shape}")
        size = (int(inputs.shape[0]), int(inputs.shape[1]), int(inputs.shape[2]))
        del inputs, label
        return cls(np.empty((0, 0, 0), np.float32), np.empty((0, 0), np.float32), str(inputs_path), str(label_path), stats, size)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` from the file header."""
        return self.size

    @contextmanager
    def arrays(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The two files mapped read-only, unmapped on exit."""
        inputs = np.load(self.inputs_path, mmap_mode="r")
        label = np.load(self.label_path, mmap_mode="r")
        try:
            yield inputs, label
        finally:
            del inputs, label

    def moments(self) -> tuple[float, float, int]:
        """The moments computed while the stack was written."""
        return self.stats


def _moments(values: np.ndarray) -> tuple[float, float, int]:
    v = values[np.isfinite(values)].astype(np.float64)
    return float(v.sum()), float((v**2).sum()), int(v.size)


@dataclass
class Progress:
    """Where training is: ``batch`` of ``batches`` in ``epoch``, the running loss, the epoch's validation RMSE."""

    epoch: int
    batch: int
    batches: int
    train_loss: float
    val_rmse: float | None


@dataclass
class TrainResult:
    """A trained model (the best weights by validation RMSE), its metadata and its history."""

    model: Any
    meta: dict
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_rmse: float = math.inf
    stopped_early: bool = False
    cancelled: bool = False
    #: the windows (rows of :func:`patch_windows`) of the patches that validated, held out of training
    validation_windows: np.ndarray | None = None


def resolve_device(device: str = "auto") -> Any:
    """The ``torch.device`` for ``auto`` (CUDA when PyTorch sees a GPU), ``cpu`` or ``cuda[:N]``.

    Raises:
        InputError: a CUDA device was asked for but PyTorch sees none.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"Device '{device}' was asked for but PyTorch sees no CUDA GPU; choose 'cpu' or 'auto'.")
    return torch.device(device)


def available_devices() -> list[tuple[str, str]]:
    """``(id, description)`` of the devices PyTorch can use, CPU first."""
    import torch

    out = [("cpu", "CPU")]
    if torch.cuda.is_available():
        out += [(f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}") for i in range(torch.cuda.device_count())]
    return out


def normalisation(stacks: Sequence[TrainingStack]) -> tuple[float, float]:
    """Mean and standard deviation of the valid NDVI of the training inputs."""
    total, squares, n = (sum(m) for m in zip(*(s.moments() for s in stacks)))
    if n == 0:
        raise InputError("The training stacks hold no valid NDVI; check the reference-year inputs.")
    mean = total / n
    return float(mean), float(max(math.sqrt(max(squares / n - mean * mean, 0.0)), 1e-3))


def patch_windows(stacks: Sequence[TrainingStack], config: TrainConfig) -> np.ndarray:
    """Every training patch (half-overlapping) whose label is at most ``max_nan_fraction`` NaN.

    Reads the labels one strip of patch rows at a time; nothing is kept but the windows.

    Returns:
        ``(n, 5)`` int array: stack index, ``x``, ``y``, ``w``, ``h`` of each patch.
    """
    rows = []
    for k, s in enumerate(stacks):
        _, h, w = s.shape
        if h < config.patch or w < config.patch:
            raise InputError(
                f"The scene ({w} x {h} px) is smaller than the training patch ({config.patch} px); lower the patch size."
            )
        overlap = config.patch // 2 if config.overlap is None else config.overlap
        xs = origins(w, config.patch, overlap)
        for y in origins(h, config.patch, overlap):
            with s.arrays() as (_, label):
                strip = np.isnan(label[y : y + config.patch])
            for x in xs:
                if strip[:, x : x + config.patch].mean() <= config.max_nan_fraction:
                    rows.append((k, x, y, config.patch, config.patch))
    if not rows:
        raise InputError("Every training patch is mostly NaN (clouds or nodata); add clearer reference pairs.")
    return np.asarray(rows, dtype=np.int64)


def read_patches(stacks: Sequence[TrainingStack], windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inputs ``(n, 2N+1, P, P)`` and labels ``(n, P, P)`` of ``windows`` (rows of :func:`patch_windows`)."""
    c = stacks[0].shape[0]
    p = int(windows[0, 3]) if len(windows) else 0
    x_out = np.empty((len(windows), c, p, p), dtype=np.float32)
    y_out = np.empty((len(windows), p, p), dtype=np.float32)
    for k in np.unique(windows[:, 0]):
        sel = np.nonzero(windows[:, 0] == k)[0]
        with stacks[int(k)].arrays() as (inputs, label):
            for i in sel:
                _, x, y, w, h = (int(v) for v in windows[i])
                x_out[i] = inputs[:, y : y + h, x : x + w]
                y_out[i] = label[y : y + h, x : x + w]
    return x_out, y_out


def patches(
    stacks: Sequence[TrainingStack], config: TrainConfig
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """All training patches in memory (small scenes and tests; training itself reads them lazily).

    Returns:
        Inputs ``(n, 2N+1, P, P)``, labels ``(n, P, P)`` and each patch's window ``(x, y, w, h)``.
    """
    windows = patch_windows(stacks, config)
    x, y = read_patches(stacks, windows)
    return x, y, [(int(w[1]), int(w[2]), int(w[3]), int(w[4])) for w in windows]


def prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """``items`` produced by a background thread, at most ``depth`` ahead of the consumer (a bounded prefetch).

    An exception in the producer is raised in the consumer; a consumer that stops early stops the producer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((done, None))
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer)
            q.put((done, exc))

    thread = threading.Thread(target=produce, name="tsstfn-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def spatial_split(
    windows: Sequence[tuple[int, int, int, int]], fraction: float, patch: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation patches that share no pixel: validation by whole spatial blocks.

    The scene is cut into blocks of ``2 * patch`` pixels (``patch`` where that leaves fewer than two
    blocks); blocks are drawn at random (seeded) until their patches make ``fraction`` of all.
    Validation patches lie wholly inside a drawn block, training patches wholly outside every drawn
    block; patches that straddle a drawn block's edge are used for neither. The same pixels are
    never in both, for every training stack (all stacks share one grid).

    Returns:
        ``(train, validation)`` indices into ``windows``; validation is empty when the scene is
        too small for two blocks of one patch.
    """
    all_idx = np.arange(len(windows))
    if len(windows) < 2 or fraction <= 0:
        return all_idx, np.array([], dtype=int)
    xs = np.array([w[0] for w in windows])
    ys = np.array([w[1] for w in windows])
    x1 = np.array([w[0] + w[2] for w in windows])
    y1 = np.array([w[1] + w[3] for w in windows])
    width, height = int(x1.max()), int(y1.max())
    rng = np.random.default_rng(seed)
    for block in (2 * patch, patch):
        bx, by = -(-width // block), -(-height // block)
        if bx * by < 2:
            continue
        inside = (xs // block == (x1 - 1) // block) & (ys // block == (y1 - 1) // block)
        block_of = np.where(inside, (ys // block) * bx + xs // block, -1)
        per_block = np.bincount(block_of[block_of >= 0], minlength=bx * by)  # patches wholly inside each block
        chosen: set[int] = set()
        drawn = 0
        for b in rng.permutation(bx * by):
            if drawn >= fraction * len(windows):
                break
            if len(chosen) + 1 >= bx * by:
                break  # keep at least one block for training
            chosen.add(int(b))
            drawn += int(per_block[b])
        val = np.nonzero(np.isin(block_of, list(chosen)) & (block_of >= 0))[0]
        touches = np.zeros(len(windows), dtype=bool)
        for b in chosen:
            c0, r0 = (b % bx) * block, (b // bx) * block
            touches |= (xs < c0 + block) & (x1 > c0) & (ys < r0 + block) & (y1 > r0)
        train = np.nonzero(~touches)[0]
        if len(val) and len(train):
            return train, val
    return all_idx, np.array([], dtype=int)


def epoch_sizes(n_train: int, val_idx: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Training patches per epoch and the validation patches kept, under ``samples_per_epoch``.

    Without it every training patch is drawn each epoch and every validation patch scores. With it
    an epoch draws ``samples_per_epoch`` training patches (all of them when there are fewer) and
    validation keeps a seeded subset of ``validation_fraction`` of the drawn total, the same one
    every epoch so that early stopping compares like with like.
    """
    if config.samples_per_epoch is None or config.samples_per_epoch >= n_train:
        return n_train, val_idx
    per_epoch = config.samples_per_epoch
    keep = max(1, round(per_epoch * config.validation_fraction / max(1e-9, 1 - config.validation_fraction)))
    if len(val_idx) > keep:
        val_idx = np.sort(rng.choice(val_idx, size=keep, replace=False))
    return per_epoch, val_idx


def fill_base_gaps(batch: np.ndarray, output: str, sigma: float = 0.0) -> np.ndarray:
    """For an output with a prior (``fine_residual``, ``change_residual``): the prior's inputs without gaps.

    ``batch`` is ``(B, 2N+1, P, P)`` (M_1, S_1, ..., M_N, S_N, M_target). The network adds its
    correction to the latest base Sentinel-2 channel; where that image has a gap (cloud), the
    same day's MODIS is the best value the inputs hold for it, better than the mean a NaN becomes.
    For ``change_residual`` (``sigma`` > 0), a MODIS gap is first filled with the Gaussian-weighted
    mean of its valid neighbours in the patch: otherwise the mean a NaN becomes would enter the
    smoothed coarse change and bias the prior around every gap. Other output modes get ``batch``
    unchanged.
    """
    mode = OutputMode(output)
    if not mode.has_prior:
        return batch
    out = batch.copy()
    if mode is OutputMode.CHANGE_RESIDUAL and sigma > 0:
        from scipy.ndimage import gaussian_filter

        for b, c in zip(*np.nonzero(np.isnan(out[:, 0::2]).any(axis=(2, 3)))):
            image = out[b, 2 * c]
            valid = np.isfinite(image)
            if valid.any():
                weight = gaussian_filter(valid.astype(np.float64), sigma, mode="nearest")
                mean = gaussian_filter(np.where(valid, image, 0.0).astype(np.float64), sigma, mode="nearest")
                near = weight > 1e-6
                image[~valid & near] = (mean[~valid & near] / weight[~valid & near]).astype(image.dtype)
    fine, coarse = out[:, 1:-1:2], out[:, 0:-1:2]
    gaps = np.isnan(fine)
    fine[gaps] = coarse[gaps]
    return out


def augment_batch(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each patch of ``x (B, C, P, P)`` and ``y (B, P, P)`` under a random one of the eight flips/rotations."""
    xs, ys = np.empty_like(x), np.empty_like(y)
    for i, k in enumerate(rng.integers(0, 8, size=len(x))):
        a, b = np.rot90(x[i], k % 4, axes=(1, 2)), np.rot90(y[i], k % 4)
        if k >= 4:
            a, b = a[:, :, ::-1], b[:, ::-1]
        xs[i], ys[i] = a, b
    return xs, ys


def build_model(meta: dict) -> Any:
    """An untrained :class:`~.model.TSSTFN` with the architecture ``meta`` records."""
    from .model import TSSTFN

    c = meta["config"]
    return TSSTFN(
        meta["n_base"], c["patch"], c["width"], c["dropout"], tuple(c["lstm_rows"]), c["cl_paths"], c["output"],
        c.get("prior_smoothing_px", 8.0),
    )  # fmt: skip


def train(
    stacks: Sequence[TrainingStack],
    config: TrainConfig,
    meta: dict | None = None,
    progress: Callable[[Progress], None] | None = None,
    is_cancelled: CancelFn = never_cancelled,
    labels: Sequence[object] | None = None,
) -> TrainResult:
    """Train a TSSTFN; returns the best weights (by validation RMSE) even when cancelled.

    ``meta`` carries what the model file must remember (dates, strategy); ``n_base`` is derived.
    ``labels`` names each stack's label image (stacks sharing one learn the same image): a scene too
    small for a validation block validates on every stack of the last stack's label, none of which
    is then trained on (None: each stack its own label).
    """
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = resolve_device(config.device)
    n_base = (stacks[0].shape[0] - 1) // 2
    mean, std = normalisation(stacks)
    meta = {**(meta or {}), "n_base": n_base, "config": config.as_dict(), "normalisation": {"mean": mean, "std": std}}
    model = build_model(meta).to(device)
    windows = patch_windows(stacks, config)
    boxes = [(int(w[1]), int(w[2]), int(w[3]), int(w[4])) for w in windows]
    train_idx, val_idx = spatial_split(boxes, config.validation_fraction, config.patch, config.seed)
    if len(val_idx) == 0 and config.validation_fraction > 0 and len(set(labels or range(len(stacks)))) > 1:
        # a scene too small for a validation block: validate on the last training label's stack instead
        names = list(labels) if labels is not None else list(range(len(stacks)))
        held = np.array([names[k] == names[len(stacks) - 1] for k in range(len(stacks))])
        last = held[windows[:, 0]]
        train_idx, val_idx = np.nonzero(~last)[0], np.nonzero(last)[0]
        log.info("the scene is too small for a validation block: validating on the last training label's patches")
    if len(val_idx) == 0:
        log.warning("no room for a validation block apart from the training patches; early stopping follows the training loss")
    per_epoch, val_idx = epoch_sizes(len(train_idx), val_idx, config, rng)
    log.info(
        "training on %d of %d patches per epoch, validating on %d (pixels or dates held apart), device %s",
        per_epoch,
        len(train_idx),
        len(val_idx),
        device,
    )

    output = str(config.output.value)
    augment_rng = np.random.default_rng([config.seed, 1])  # used in the prefetch thread only

    def load(idx: np.ndarray, augment: bool = False) -> tuple[np.ndarray, np.ndarray]:  # read, normalise (prefetch thread)
        x, y = read_patches(stacks, windows[idx])
        x = fill_base_gaps(x, output, config.prior_smoothing_px)
        if augment:
            x, y = augment_batch(x, y, augment_rng)
        return np.nan_to_num((x - mean) / std, nan=0.0), (y - mean) / std

    def load_training(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return load(idx, config.augment)

    def to_tensor(idx: np.ndarray) -> tuple[Any, Any]:
        return tensors(load(idx))

    def tensors(xy: tuple[np.ndarray, np.ndarray]) -> tuple[Any, Any]:
        return torch.from_numpy(xy[0]).to(device), torch.from_numpy(xy[1][:, None]).to(device)

    use_amp = config.amp and device.type == "cuda"
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    result = TrainResult(model, meta, validation_windows=windows[val_idx])
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    since_best = 0
    batches = max(1, math.ceil(per_epoch / config.batch_size))
    if config.output.has_prior and len(val_idx):
        # the untrained network is its prior (the latest fine image): an epoch must beat it to be kept
        result.best_val_rmse = evaluate(model, to_tensor, val_idx, config.batch_size, std)
        log.info("the network's prior (%s) scores validation RMSE %.4f before training", config.output, result.best_val_rmse)
    started = time.monotonic()
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        shuffled = rng.permutation(train_idx)[:per_epoch]
        losses = []
        batch_indices = (shuffled[b * config.batch_size : (b + 1) * config.batch_size] for b in range(batches))
        for b, xy in enumerate(prefetch(map(load_training, batch_indices), PREFETCH_BATCHES)):
            if is_cancelled():
                result.cancelled = True
                break
            x, y = tensors(xy)
            valid = torch.isfinite(y)
            with torch.autocast(device.type, enabled=use_amp):
                pred = model(x)
            loss = ((pred.float() - torch.nan_to_num(y)) ** 2)[valid].mean()
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            losses.append(float(loss.detach()))
            if progress:
                progress(Progress(epoch, b + 1, batches, float(np.mean(losses)), None))
        if result.cancelled:  # keep the weights of this partial epoch if they validate better
            if len(val_idx):
                val_rmse = evaluate(model, to_tensor, val_idx, config.batch_size, std)
                if val_rmse < result.best_val_rmse:
                    result.best_val_rmse, result.best_epoch = val_rmse, epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            break
        val_rmse = (
            evaluate(model, to_tensor, val_idx, config.batch_size, std) if len(val_idx) else float(np.sqrt(np.mean(losses)) * std)
        )
        result.history.append({"epoch": epoch, "train_mse": float(np.mean(losses)), "val_rmse": val_rmse})
        if progress:
            progress(Progress(epoch, batches, batches, float(np.mean(losses)), val_rmse))
        if val_rmse < result.best_val_rmse:
            result.best_val_rmse, result.best_epoch, since_best = val_rmse, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        per_epoch_s = (time.monotonic() - started) / epoch
        most = (config.max_epochs - epoch) * per_epoch_s
        least = min(config.max_epochs - epoch, config.patience - since_best) * per_epoch_s
        log.info(
            "epoch %d/%d: training loss %.4f, validation RMSE %.4f (best %.4f at epoch %d), %.0f s per epoch, "
            "%s left at most (%s if validation stops improving)",
            epoch, config.max_epochs, float(np.mean(losses)), val_rmse, result.best_val_rmse, result.best_epoch,
            per_epoch_s, _duration(most), _duration(least),
        )  # fmt: skip
        if since_best >= config.patience:
            result.stopped_early = True
            break
    if not result.cancelled and not math.isfinite(result.best_val_rmse):  # every epoch's validation was NaN or infinite
        last = result.history[-1] if result.history else {}
        raise InputError(
            f"Training never improved: the validation RMSE was {last.get('val_rmse', float('nan')):g} (training loss "
            f"{last.get('train_mse', float('nan')):g}) at every one of {len(result.history)} epoch(s), so the network "
            "learnt nothing and no fused NDVI was made. Lower 'train.learning_rate' (the default is 0.001) and check "
            "that the inputs hold valid NDVI."
        )
    if result.best_epoch == 0 and not result.cancelled:
        log.info("no epoch beat the prior on the validation patches: the network keeps its prior (%s)", config.output)
    model.load_state_dict(best_state)
    model.eval()
    result.meta["training"] = {
        "best_epoch": result.best_epoch,
        "best_val_rmse": result.best_val_rmse,
        "epochs": len(result.history),
        "stopped_early": result.stopped_early,
        "cancelled": result.cancelled,
    }
    return result


def _duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s`` or ``1 h 05 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def evaluate(model: Any, to_tensor: Callable, idx: np.ndarray, batch_size: int, std: float) -> float:
    """Validation RMSE in NDVI units of ``model`` on the patches ``idx``."""
    import torch

    model.eval()
    se, n = 0.0, 0
    with torch.inference_mode():
        for b in range(0, len(idx), batch_size):
            x, y = to_tensor(idx[b : b + batch_size])
            pred = model(x).float()
            valid = torch.isfinite(y)
            se += float(((pred - torch.nan_to_num(y)) ** 2)[valid].sum())
            n += int(valid.sum())
    model.train()
    return math.sqrt(se / max(n, 1)) * std
