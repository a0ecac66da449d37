"""TSSTFN learning a correction to a physical prior (``fine_residual``, ``change_residual``) and its levers.

The untrained network *is* its prior; training keeps an epoch only when it beats the prior on the
validation patches; augmentation keeps NDVI and label together; single-season training can learn each
pair from its later neighbours too.
"""

import datetime as dt
import logging

import numpy as np
import pytest
import torch

from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.fusion.config import OutputMode, TrainConfig
from tsstfn_crop_mapper.core.fusion.model import TSSTFN, GaussianBlur
from tsstfn_crop_mapper.core.fusion.prediction import make_predictor
from tsstfn_crop_mapper.core.fusion.strategies import own_latest, own_next
from tsstfn_crop_mapper.core.fusion.training import TrainingStack, augment_batch, fill_base_gaps, train

SMALL = TrainConfig(width=4, patch=32, batch_size=4, max_epochs=6, patience=3, cl_paths=2, seed=0, learning_rate=3e-3)


def _prior(x: np.ndarray, output: str, sigma: float = 8.0) -> np.ndarray:
    """The prior of ``output`` for a batch ``(B, 3, P, P)`` (one base pair), computed with numpy/scipy."""
    from scipy.ndimage import gaussian_filter

    fine = x[:, 1]
    if output == "fine_residual":
        return fine
    change = x[:, 2] - x[:, 0]
    return fine + np.stack([gaussian_filter(c, sigma, mode="nearest", truncate=3.0) for c in change])


@pytest.mark.parametrize("output", ["fine_residual", "change_residual"])
def test_the_untrained_network_is_its_prior(output):
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, output).eval()
    x = np.random.default_rng(1).normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        got = model(torch.from_numpy(x))[:, 0].numpy()
    assert np.allclose(got, _prior(x, output), atol=1e-5)
    assert OutputMode(output).has_prior and not OutputMode("modis_residual").has_prior


def test_gaussian_blur_keeps_constants_and_sigma_zero_is_the_identity():
    x = torch.full((1, 1, 20, 20), 0.37)
    assert torch.allclose(GaussianBlur(4.0)(x), x)
    y = torch.rand(1, 1, 20, 20)
    assert torch.equal(GaussianBlur(0.0)(y), y)
    smoothed = GaussianBlur(3.0)(y)
    assert smoothed.std() < y.std() and abs(float(smoothed.mean() - y.mean())) < 0.05


def test_base_gaps_are_filled_with_the_same_dates_modis_only_for_a_prior():
    batch = np.arange(2 * 5 * 2 * 2, dtype=np.float32).reshape(2, 5, 2, 2)
    batch[0, 1, 0, 0] = np.nan  # S_1 gap: takes M_1
    batch[1, 3, 1, 1] = np.nan  # S_2 gap: takes M_2
    batch[0, 4, 0, 1] = np.nan  # target MODIS gap: stays
    filled = fill_base_gaps(batch, "change_residual")
    assert filled[0, 1, 0, 0] == batch[0, 0, 0, 0] and filled[1, 3, 1, 1] == batch[1, 2, 1, 1]
    assert np.isnan(filled[0, 4, 0, 1]) and np.isnan(batch[0, 1, 0, 0])  # the input is not changed
    assert fill_base_gaps(batch, "modis_residual") is batch


def test_augmentation_moves_inputs_and_label_together_by_one_of_eight_symmetries():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3, 8, 8)).astype(np.float32)
    y = x[:, 1] * 2.0  # the label is a function of one channel, pixel by pixel
    xs, ys = augment_batch(x, y, np.random.default_rng(5))
    assert np.array_equal(ys, xs[:, 1] * 2.0)
    seen = set()
    for i in range(len(x)):
        images = [np.rot90(x[i], k, axes=(1, 2)) for k in range(4)]
        images += [im[:, :, ::-1] for im in images]
        match = [k for k, im in enumerate(images) if np.array_equal(im, xs[i])]
        assert match, "each augmented patch is a flip/rotation of its own patch"
        seen.add(match[0])
    assert len(seen) == 8


def test_own_next_mirrors_own_latest_nearest_image_last():
    dates = [dt.date(2020, 3, 8), dt.date(2020, 3, 17), dt.date(2020, 4, 2), dt.date(2020, 4, 9)]
    forward = own_latest(dates, dates[3], 2)
    backward = own_next(dates, dates[0], 2)
    assert forward.reference == ((((1, 1.0),), ((2, 1.0),)))
    assert backward.reference == ((((2, 1.0),), ((1, 1.0),)))  # 2 April, then the nearer 17 March last
    assert backward.reference_label == ((0, 1.0),)
    with pytest.raises(Exception, match="after 2020-04-02"):
        own_next(dates, dates[2], 2)


def test_single_season_both_directions_learns_every_pair_from_both_sides():
    from tsstfn_crop_mapper.core.fusion.base import FusionInputs
    from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
    from tsstfn_crop_mapper.core.fusion.tsstfn import TsstfnParams, training_alignments
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    days = [dt.date(2001, 5, 24), dt.date(2001, 7, 11), dt.date(2001, 8, 12)]
    base = tuple(AlignedPair(d, f"m{d}", f"s{d}") for d in days)
    grid = Grid("", (0, 30, 0, 0, 0, -30), 4, 4, 30.0)
    inputs = FusionInputs(grid, (), base, (AlignedPair(dt.date(2001, 9, 1), "mt"),))
    one_way = training_alignments(inputs, TsstfnParams(n_base=1))
    both = training_alignments(inputs, TsstfnParams(n_base=1, train=TrainConfig(both_directions=True)))
    labels = lambda alignments: sorted(a.reference_label[0][0] for a in alignments)  # noqa: E731
    assert labels(one_way) == [1, 2] and labels(both) == [0, 1, 1, 2]


def _stacks(offset: float, size: int = 64) -> list[TrainingStack]:
    """Scenes whose label is the latest Sentinel-2 plus ``offset`` (the coarse inputs stay constant)."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(2):
        fine = (0.3 + 0.1 * k + 0.1 * rng.standard_normal((size, size))).astype(np.float32)
        coarse = np.full((size, size), 0.3 + 0.1 * k, np.float32)
        out.append(TrainingStack(np.stack([coarse, fine, coarse]), fine + np.float32(offset)))
    return out


def test_training_keeps_the_prior_when_no_epoch_beats_it(caplog):
    """The label *is* the prior: any trained weights can only do worse on the validation patches."""
    config = TrainConfig(**{**SMALL.as_dict(), "output": "fine_residual"})
    stacks = _stacks(0.0)
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        result = train(stacks, config)
    assert result.best_epoch == 0 and result.best_val_rmse < 1e-6
    assert "keeps its prior" in caplog.text and "epoch 1/6" in caplog.text and "left" in caplog.text
    predict = make_predictor(result.model, result.meta)
    batch = stacks[0].inputs[None, :, :32, :32]
    assert np.allclose(predict(batch)[0], batch[0, 1], atol=1e-5)


def test_training_moves_away_from_the_prior_where_validation_says_it_helps():
    config = TrainConfig(**{**SMALL.as_dict(), "output": "fine_residual"})
    result = train(_stacks(0.2), config)  # every label is 0.2 above the prior: learnable by one bias
    assert result.best_epoch >= 1
    first_val = result.history[0]["val_rmse"]
    assert result.best_val_rmse <= first_val and result.best_val_rmse < 0.2


def test_a_scene_too_small_for_a_validation_block_validates_on_its_last_label(caplog):
    config = TrainConfig(**{**SMALL.as_dict(), "output": "fine_residual", "max_epochs": 1})
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        result = train(_stacks(0.0, size=32), config)  # one patch per scene: no room for a block
    assert "validating on the last training label" in caplog.text and result.best_val_rmse < 1e-6


def test_the_prior_smoothing_is_checked():
    with pytest.raises(InputError, match="prior_smoothing_px"):
        TrainConfig(prior_smoothing_px=float("nan"))
    with pytest.raises(InputError, match="output"):
        TrainConfig(output="latest")


def test_modis_gaps_leave_no_false_change_in_the_smoothed_prior():
    """A gap in the target MODIS is filled from its valid neighbours: no change around it where nothing changed."""
    x = np.full((1, 3, 32, 32), 0.8, np.float32)
    x[0, 2, 10:18, 10:18] = np.nan  # the target MODIS has a gap; no real change anywhere
    filled = fill_base_gaps(x, "change_residual", 8.0)
    assert np.isnan(x[0, 2, 12, 12]) and np.allclose(filled[:, 2], 0.8, atol=1e-6)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    mean, std = 0.5, 0.25
    with torch.no_grad():
        prior = model(torch.from_numpy(np.nan_to_num((filled - mean) / std)))[0, 0].numpy() * std + mean
    assert np.allclose(prior, 0.8, atol=1e-4)
    gappy = fill_base_gaps(np.full((1, 3, 8, 8), np.nan, np.float32), "change_residual", 8.0)
    assert np.isnan(gappy).all()  # nothing valid to fill from: stays NaN (the prediction is NaN there)


def test_the_small_scene_fallback_validates_on_every_stack_of_one_label(caplog):
    """Both directions of a season learn label images twice: the held-out label is in no training stack."""
    config = TrainConfig(**{**SMALL.as_dict(), "output": "fine_residual", "max_epochs": 1})
    stacks = _stacks(0.0, size=32) + _stacks(0.0, size=32)[:1]
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        train(stacks, config, labels=["B", "A", "A"])  # the last stack's label, A, is also stack 1's
    assert "training on 1 of 1 patches per epoch, validating on 2" in caplog.text
