"""Training options of TSSTFN (torch-free, so that job files parse without importing PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import InputError
from ..options import (
    MAX_BATCH,
    MAX_CL_PATHS,
    MAX_EPOCHS,
    MAX_PATCH,
    MAX_SEED,
    MAX_WIDTH,
    Choice,
    check_device,
    check_range,
    check_types,
    choice,
)


class OutputMode(Choice):
    """What the last convolution produces.

    ``direct``: the fine NDVI itself (the paper's). ``modis_residual``: a correction added to the
    target-date MODIS. ``fine_residual``: a correction added to the latest base Sentinel-2 image (the
    "latest clear fine image" a user would otherwise take), its gaps filled with that date's MODIS;
    the last convolution starts at zero, so the untrained network *is* that image and training can
    only move it where validation says it helps. ``change_residual``: the same, with the prior the
    latest base Sentinel-2 plus the coarse change since its date (target MODIS minus that date's
    MODIS), smoothed to about the MODIS pixel (``prior_smoothing_px``): the classic "latest fine
    image plus the coarse change" (docs/model.md, "Learning a correction to a prior").
    """

    MODIS_RESIDUAL = "modis_residual"
    DIRECT = "direct"
    FINE_RESIDUAL = "fine_residual"
    CHANGE_RESIDUAL = "change_residual"

    @property
    def has_prior(self) -> bool:
        """True when the untrained network already predicts a physical prior (its last convolution starts at zero)."""
        return self in (OutputMode.FINE_RESIDUAL, OutputMode.CHANGE_RESIDUAL)


@dataclass(frozen=True)
class TrainConfig:
    """Training parameters of TSSTFN.

    The paper's values: ``width`` 64, ``patch`` 192, ``batch_size`` 16, ``learning_rate`` 1e-3,
    ``validation_fraction`` 0.1, ``patience`` 12, ``dropout`` 0.3, ``cl_paths`` 9 and ``output``
    ``direct``. The defaults differ in ``output`` (``modis_residual``, see docs/model.md) and are
    the paper's otherwise; ``max_epochs`` (200) is not given in the paper.

    Attributes:
        width: filters of the first UNet block.
        patch: patch side in pixels of the fine grid, a multiple of 16.
        overlap: overlap of training patches in pixels (None: half a patch).
        batch_size: patches per optimiser step.
        learning_rate: Adam's learning rate.
        validation_fraction: share of the training patches kept for early stopping.
        patience: epochs without a better validation RMSE before training stops.
        max_epochs: the most epochs trained.
        samples_per_epoch: training patches drawn at random (seeded, a new draw each epoch, without
            replacement) per epoch; None trains on every patch each epoch. A whole Sentinel-2 tile
            has about 350k half-overlapping 64 px patches over three targets: an epoch over all of
            them takes hours on a CPU, so large scenes train on a sample of them per epoch, as
            torchgeo's random samplers do. The validation patches are then a fixed (seeded) subset
            of the validation blocks' patches, ``validation_fraction`` of the drawn total.
        max_nan_fraction: patches whose label has more NaN are skipped.
        dropout: channel dropout probability.
        lstm_rows: image rows per LSTM step at the three CL levels.
        cl_paths: parallel CBAM+LSTM paths per CL module.
        output: an :class:`OutputMode`.
        prior_smoothing_px: the Gaussian sigma (fine pixels) that smooths the coarse change of the
            ``change_residual`` prior: about half the MODIS pixel (8: 250 m over 30 m Landsat; 12 at
            10 m Sentinel-2, where a 32 px patch then sees little more than its mean); 0: none.
        augment: train on each patch under a random one of the eight flips and 90-degree rotations
            (NDVI keeps its meaning under them; the paper does not augment).
        both_directions: single-season training also learns each pair from the ``n_base`` pairs
            *after* it (nearest last), so that every clear pair is a label for its neighbours on
            both sides (twice the labels of a short season; the network has no time input).
        extra_labels: two-season training also learns, besides each target's label, every
            reference-year pair after the base positions as a label (its real image, not an
            interpolation), read from the same base positions; a label whose reference-year base
            images lie further from the positions than the targets' own do is left out. The network
            has no time input, so these are more examples of the same mapping. Off where
            ``reference_target`` fixes the label's day.
        tta: test-time augmentation: each patch is predicted under the eight flips and 90-degree
            rotations and the eight predictions averaged (eight times the prediction time).
        starfm_blend: the fused NDVI is the network's blended with one-pair STARFM's by the weight
            that minimises the squared error on the validation patches after training
            (``core/fusion/blend.py``); the weight is saved with the model. STARFM runs with the
            job's ``method_params.starfm``. A target predicted from both sides is blended with
            two-pair STARFM only by a weight learnt the same way on labels with pairs on both sides.
        seed: seeds PyTorch and the patch order.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        amp: mixed precision on CUDA.
    """

    width: int = 64
    patch: int = 192
    overlap: int | None = None
    batch_size: int = 16
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    patience: int = 12
    max_epochs: int = 200
    samples_per_epoch: int | None = None
    max_nan_fraction: float = 0.5
    dropout: float = 0.3
    lstm_rows: tuple[int, int, int] = (4, 2, 4)
    cl_paths: int = 9
    output: OutputMode = OutputMode.MODIS_RESIDUAL
    prior_smoothing_px: float = 8.0
    augment: bool = False
    both_directions: bool = False
    extra_labels: bool = False
    tta: bool = False
    starfm_blend: bool = False
    seed: int = 0
    device: str = "auto"
    amp: bool = True

    def __post_init__(self) -> None:
        """Check every field's type and range, coerce the choices (``output``, ``device``, ``lstm_rows``)."""
        check_types(self, "train.")
        object.__setattr__(self, "output", choice(OutputMode, self.output, "train.output"))
        object.__setattr__(self, "device", check_device(self.device))
        rows = tuple(self.lstm_rows)
        if len(rows) != 3 or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in rows):
            raise InputError(f"Job field 'train.lstm_rows': {list(rows)} is not three positive integers (rows per LSTM step).")
        object.__setattr__(self, "lstm_rows", (rows[0], rows[1], rows[2]))
        if any(r > 1024 for r in rows):
            raise InputError(f"Job field 'train.lstm_rows': {list(rows)} is out of range; each must be <= 1024.")
        bounds = {"width": MAX_WIDTH, "batch_size": MAX_BATCH, "patience": MAX_EPOCHS, "max_epochs": MAX_EPOCHS}
        for name, high in (*bounds.items(), ("cl_paths", MAX_CL_PATHS)):
            check_range(getattr(self, name), f"train.{name}", 1, high)
        check_range(self.seed, "train.seed", 0, MAX_SEED)
        check_range(self.patch, "train.patch", 16, MAX_PATCH)
        if self.patch % 16:
            raise InputError(
                f"Job field 'train.patch': {self.patch} is not a multiple of 16 (the network pools four times); "
                f"use {max(16, self.patch // 16 * 16)} or {self.patch // 16 * 16 + 16}."
            )
        check_range(self.overlap, "train.overlap", 0, self.patch, high_open=True)
        check_range(self.samples_per_epoch, "train.samples_per_epoch", 1, 10**9)
        check_range(self.learning_rate, "train.learning_rate", 0, 10, low_open=True)
        check_range(self.validation_fraction, "train.validation_fraction", 0, 1, high_open=True)
        check_range(self.max_nan_fraction, "train.max_nan_fraction", 0, 1)
        check_range(self.dropout, "train.dropout", 0, 1, high_open=True)
        check_range(self.prior_smoothing_px, "train.prior_smoothing_px", 0, 256)

    def as_dict(self) -> dict:
        """The options as plain JSON values (enums as their names), as job and model files store them."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["output"] = self.output.value
        out["lstm_rows"] = list(self.lstm_rows)
        return out
