"""Training TSSTFN on the reference year.

Inputs are normalised as ``(ndvi - mean) / std`` with the statistics of the training stacks,
NaN becomes 0 (the mean) on input and is excluded from the loss. Loss: masked MSE (the paper does
not name its loss); the early-stopping score is the validation RMSE in NDVI units.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..callbacks import CancelFn, never_cancelled
from ..errors import InputError
from .config import TrainConfig
from .tiling import training_windows

log = logging.getLogger("tsstfn")


@dataclass
class TrainingStack:
    """One training example scene: inputs (2N+1, H, W) and the label (H, W), NDVI with NaN."""

    inputs: np.ndarray
    label: np.ndarray


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
    """Mean and standard deviation of the valid NDVI of the training inputs (every 7th value)."""
    values = np.concatenate([s.inputs[np.isfinite(s.inputs)].ravel()[::7] for s in stacks])
    if values.size == 0:
        raise InputError("The training stacks hold no valid NDVI; check the reference-year inputs.")
    return float(values.mean()), float(max(values.std(), 1e-3))


def patches(
    stacks: Sequence[TrainingStack], config: TrainConfig
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """All training patches (half-overlapping) whose label is at most ``max_nan_fraction`` NaN.

    Returns:
        Inputs ``(n, 2N+1, P, P)``, labels ``(n, P, P)`` and each patch's window ``(x, y, w, h)``.
    """
    xs, ys, where = [], [], []
    for s in stacks:
        _, h, w = s.inputs.shape
        if h < config.patch or w < config.patch:
            raise InputError(
                f"The scene ({w} x {h} px) is smaller than the training patch ({config.patch} px); lower the patch size."
            )
        for x, y, pw, ph in training_windows(h, w, config.patch, config.overlap):
            label = s.label[y : y + ph, x : x + pw]
            if np.isnan(label).mean() <= config.max_nan_fraction:
                xs.append(s.inputs[:, y : y + ph, x : x + pw])
                ys.append(label)
                where.append((x, y, pw, ph))
    if not xs:
        raise InputError("Every training patch is mostly NaN (clouds or nodata); add clearer reference pairs.")
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32), where


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
        chosen: set[int] = set()
        for b in rng.permutation(bx * by):
            if np.isin(block_of, list(chosen)).sum() >= fraction * len(windows):
                break
            if len(chosen) + 1 >= bx * by:
                break  # keep at least one block for training
            chosen.add(int(b))
        val = np.nonzero(np.isin(block_of, list(chosen)) & (block_of >= 0))[0]
        touches = np.zeros(len(windows), dtype=bool)
        for b in chosen:
            c0, r0 = (b % bx) * block, (b // bx) * block
            touches |= (xs < c0 + block) & (x1 > c0) & (ys < r0 + block) & (y1 > r0)
        train = np.nonzero(~touches)[0]
        if len(val) and len(train):
            return train, val
    return all_idx, np.array([], dtype=int)


def build_model(meta: dict) -> Any:
    """An untrained :class:`~.model.TSSTFN` with the architecture ``meta`` records."""
    from .model import TSSTFN

    c = meta["config"]
    return TSSTFN(meta["n_base"], c["patch"], c["width"], c["dropout"], tuple(c["lstm_rows"]), c["cl_paths"], c["output"])


def train(
    stacks: Sequence[TrainingStack],
    config: TrainConfig,
    meta: dict | None = None,
    progress: Callable[[Progress], None] | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> TrainResult:
    """Train a TSSTFN; returns the best weights (by validation RMSE) even when cancelled.

    ``meta`` carries what the model file must remember (dates, strategy); ``n_base`` is derived.
    """
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = resolve_device(config.device)
    n_base = (stacks[0].inputs.shape[0] - 1) // 2
    mean, std = normalisation(stacks)
    meta = {**(meta or {}), "n_base": n_base, "config": config.as_dict(), "normalisation": {"mean": mean, "std": std}}
    model = build_model(meta).to(device)
    x_all, y_all, windows = patches(stacks, config)
    train_idx, val_idx = spatial_split(windows, config.validation_fraction, config.patch, config.seed)
    if len(val_idx) == 0:
        log.warning("no room for a validation block apart from the training patches; early stopping follows the training loss")
    log.info("training on %d patches, validating on %d (spatial blocks), device %s", len(train_idx), len(val_idx), device)

    def to_tensor(idx):
        x = np.nan_to_num((x_all[idx] - mean) / std, nan=0.0)
        y = (y_all[idx] - mean) / std
        return torch.from_numpy(x).to(device), torch.from_numpy(y[:, None]).to(device)

    use_amp = config.amp and device.type == "cuda"
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    result = TrainResult(model, meta)
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    since_best = 0
    batches = max(1, math.ceil(len(train_idx) / config.batch_size))
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        shuffled = rng.permutation(train_idx)
        losses = []
        for b in range(batches):
            if is_cancelled():
                result.cancelled = True
                break
            x, y = to_tensor(shuffled[b * config.batch_size : (b + 1) * config.batch_size])
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
            if since_best >= config.patience:
                result.stopped_early = True
                break
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
