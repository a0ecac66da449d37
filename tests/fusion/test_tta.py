"""Test-time augmentation (``train.tta``): a prediction averaged over the eight flips and rotations."""

from __future__ import annotations

import numpy as np
import torch

from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.model import TSSTFN
from tsstfn_crop_mapper.core.fusion.prediction import make_predictor, tta_predictor


def test_an_equivariant_prediction_is_unchanged_and_a_directional_one_is_symmetrised():
    rng = np.random.default_rng(0)
    batch = rng.random((2, 3, 8, 8)).astype(np.float32)
    batch[0, 1, 2, 3] = np.nan
    same = tta_predictor(lambda b: b[:, 1].copy())(batch)
    assert np.allclose(same, batch[:, 1], equal_nan=True) and np.isnan(same[0, 2, 3])
    ramp = np.arange(8, dtype=np.float32)[None, None, :].repeat(8, axis=1)  # grows to the right
    symmetrised = tta_predictor(lambda b: np.broadcast_to(ramp, (len(b), 8, 8)).copy())(batch)
    assert np.allclose(symmetrised, 3.5)  # every direction once: the ramp's mean everywhere
    spread = tta_predictor(lambda b: np.stack([b[:, 1], b[:, 2]], axis=1))(batch)  # (B, 2, P, P) too
    assert spread.shape == (2, 2, 8, 8) and np.allclose(spread[:, 1], batch[:, 2])


def test_the_tta_switch_averages_a_real_network_over_the_eight_symmetries():
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "modis_residual").eval()
    with torch.no_grad():  # a network that is not equivariant: its random weights see orientation
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = np.random.default_rng(1).random((2, 3, 32, 32)).astype(np.float32)
    meta = {"n_base": 1, "normalisation": {"mean": 0.0, "std": 1.0}}
    meta = {**meta, "config": TrainConfig().as_dict()}
    plain = make_predictor(model, meta)(x)
    tta = make_predictor(model, meta, tta=True)(x)
    assert plain.shape == tta.shape == (2, 32, 32) and not np.allclose(plain, tta, atol=1e-4)
    rotated = make_predictor(model, meta, tta=True)(np.rot90(x, 1, axes=(2, 3)).copy())
    assert np.allclose(np.rot90(tta, 1, axes=(1, 2)), rotated, atol=1e-4)  # averaged over the group: equivariant
