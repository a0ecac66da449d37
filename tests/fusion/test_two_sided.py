"""A single-season model trained both ways predicts a target from the pairs before *and* after it.

The two predictions are blended pixel by pixel, each weighted by how little the coarse NDVI changed
between its nearest pair and the target (``core/fusion/prediction.py``, two_sided_predictor).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import torch
from osgeo import gdal

from tsstfn_crop_mapper.core.fusion.base import FusionInputs
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.model import TSSTFN
from tsstfn_crop_mapper.core.fusion.prediction import CHANGE_NOISE, two_sided_predictor, two_sided_weights
from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
from tsstfn_crop_mapper.core.fusion.strategies import own_next
from tsstfn_crop_mapper.core.fusion.tsstfn import TsstfnParams, predict, two_sided_alignment
from tsstfn_crop_mapper.core.inputs.grid import Grid

DAYS = [dt.date(2001, 5, 24), dt.date(2001, 7, 11), dt.date(2001, 8, 12)]


def _latest_fine(batch: np.ndarray) -> np.ndarray:
    """A stand-in network: the nearest base pair's fine image (its last fine channel)."""
    return batch[:, -2].astype(np.float32)


def _batch(fine: float, coarse: float, target: float, size: int = 16) -> np.ndarray:
    return np.stack([np.full((size, size), v, np.float32) for v in (coarse, fine, target)])[None]


def test_the_side_whose_coarse_image_changed_less_weighs_more():
    before, after = _batch(0.2, 0.3, 0.6), _batch(0.7, 0.58, 0.6)  # MODIS changed 0.30 since, 0.02 until
    blended = two_sided_predictor(_latest_fine, 3, 2.0)(np.concatenate([before, after], axis=1))
    wa, wb = 1 / (0.30 + CHANGE_NOISE), 1 / (0.02 + CHANGE_NOISE)
    assert np.allclose(blended, (wa * 0.2 + wb * 0.7) / (wa + wb), atol=1e-6)
    assert 0.6 < float(blended.mean()) < 0.7  # nearer the pair that looks like the target
    same = two_sided_predictor(_latest_fine, 3, 2.0)(np.concatenate([_batch(0.2, 0.5, 0.6), _batch(0.4, 0.7, 0.6)], axis=1))
    assert np.allclose(same, 0.3, atol=1e-6)  # equal changes: the mean


def test_a_side_without_a_prediction_leaves_the_other():
    before, after = _batch(0.2, 0.6, 0.6), _batch(0.7, 0.3, 0.6)
    before[0, 1, :4] = np.nan  # the fine gap of the preferred side: the stand-in network gives NaN there
    blended = two_sided_predictor(_latest_fine, 3, 2.0)(np.concatenate([before, after], axis=1))
    assert np.allclose(blended[0, :4], 0.7) and np.all(blended[0, 4:] < 0.3)
    nothing = np.concatenate([before, after], axis=1)
    nothing[:, [1, 4]] = np.nan
    assert np.isnan(two_sided_predictor(_latest_fine, 3, 2.0)(nothing)).all()


def test_a_coarse_gap_is_filled_from_its_neighbours_before_the_weight():
    batch = _batch(0.2, 0.3, 0.6)
    batch[0, 0, 5:8, 5:8] = np.nan
    weights = two_sided_weights(batch, 2.0)
    assert np.isfinite(weights).all() and np.allclose(weights, 1 / (0.3 + CHANGE_NOISE))


def test_only_a_single_season_model_trained_both_ways_predicts_from_both_sides():
    both = {"config": {"both_directions": True}}
    target = dt.date(2001, 6, 30)
    got = two_sided_alignment(both, DAYS, target, 1, two_seasons=False)
    assert got is not None and got == own_next(DAYS, target, 1) and got.prediction == (((1, 1.0),),)
    assert got.reference_label == ()  # the target is not one of the base dates
    assert two_sided_alignment(both, DAYS, target, 2, two_seasons=False).prediction == (((2, 1.0),), ((1, 1.0),))
    assert two_sided_alignment(both, DAYS, dt.date(2001, 9, 1), 1, two_seasons=False) is None  # nothing after
    assert two_sided_alignment(both, DAYS, dt.date(2001, 8, 1), 2, two_seasons=False) is None  # one after, two read
    assert two_sided_alignment(both, DAYS, target, 1, two_seasons=True) is None
    assert two_sided_alignment({"config": {"both_directions": False}}, DAYS, target, 1, two_seasons=False) is None


def _write(path, value: np.ndarray) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), value.shape[1], value.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform((0, 30, 0, 0, 0, -30))
    ds.GetRasterBand(1).WriteArray(value)
    ds = None
    return str(path)


@pytest.mark.parametrize("both_directions", [True, False])
def test_an_untrained_change_residual_model_blends_its_two_priors_over_a_tiled_scene(tmp_path, both_directions):
    """The untrained network is its prior (latest fine + coarse change): the blend is known exactly."""
    h, w = 40, 56  # several overlapping 32 px patches
    rng = np.random.default_rng(0)
    coarse = {DAYS[0]: 0.30, DAYS[1]: 0.55, DAYS[2]: 0.62}
    target, target_coarse = dt.date(2001, 7, 1), 0.50
    fine = {d: (0.2 + 0.5 * rng.random((h, w))).astype(np.float32) for d in DAYS}
    base = tuple(
        AlignedPair(
            d, _write(tmp_path / f"m{k}.tif", np.full((h, w), coarse[d], np.float32)), _write(tmp_path / f"s{k}.tif", fine[d])
        )
        for k, d in enumerate(DAYS)
    )
    t = AlignedPair(target, _write(tmp_path / "mt.tif", np.full((h, w), target_coarse, np.float32)))
    grid = Grid("", (0, 30, 0, 0, 0, -30), w, h, 30.0)
    config = TrainConfig(width=4, patch=32, cl_paths=2, output="change_residual", both_directions=both_directions)
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    meta = {"n_base": 1, "config": config.as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}}
    params = TsstfnParams(n_base=1, train=config)
    out = predict(model, meta, FusionInputs(grid, (), base, (t,)), params, lambda d: tmp_path / f"fused_{d:%Y%m%d}.tif")
    got = gdal.Open(str(out[target])).ReadAsArray()
    before = fine[DAYS[0]] + (target_coarse - coarse[DAYS[0]])  # 20 days before, MODIS changed 0.20
    after = fine[DAYS[1]] + (target_coarse - coarse[DAYS[1]])  # 10 days after, MODIS changed 0.05
    if not both_directions:
        assert np.allclose(got, before, atol=1e-4)
        return
    wa, wb = 1 / (0.20 + CHANGE_NOISE), 1 / (0.05 + CHANGE_NOISE)
    assert np.allclose(got, (wa * before + wb * after) / (wa + wb), atol=1e-4)
    assert "before and after" in gdal.Open(str(out[target])).GetRasterBand(1).GetDescription() + str(
        gdal.Open(str(out[target])).GetMetadata()
    )


def test_the_jobs_tta_switch_reaches_a_prediction_with_a_saved_model(tmp_path):
    """The job's ``train.tta`` decides, not the saved model's training-time options (found in review)."""
    h = w = 32
    rng = np.random.default_rng(0)
    day0, target = dt.date(2001, 5, 24), dt.date(2001, 6, 10)
    base = (AlignedPair(day0, _write(tmp_path / "m0.tif", rng.random((h, w)).astype(np.float32)),
                        _write(tmp_path / "s0.tif", rng.random((h, w)).astype(np.float32))),)  # fmt: skip
    t = AlignedPair(target, _write(tmp_path / "mt.tif", rng.random((h, w)).astype(np.float32)))
    grid = Grid("", (0, 30, 0, 0, 0, -30), w, h, 30.0)
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "modis_residual").eval()
    with torch.no_grad():  # orientation-sensitive weights, so TTA changes the output
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    saved_meta = {"n_base": 1, "config": TrainConfig(width=4, patch=32, cl_paths=2, tta=False).as_dict(),
                  "normalisation": {"mean": 0.0, "std": 1.0}}  # fmt: skip
    inputs = FusionInputs(grid, (), base, (t,))

    def run(job_tta: bool, name: str) -> np.ndarray:
        params = TsstfnParams(n_base=1, train=TrainConfig(width=4, patch=32, cl_paths=2, tta=job_tta))
        out = predict(model, saved_meta, inputs, params, lambda d: tmp_path / f"{name}_{d:%Y%m%d}.tif")
        return gdal.Open(str(out[target])).ReadAsArray()

    plain, asked = run(False, "plain"), run(True, "tta")
    assert not np.allclose(plain, asked, atol=1e-5), "the job's train.tta had no effect"


def test_the_blended_uncertainty_grows_where_the_two_sides_disagree():
    """Two confident sides that disagree by 0.5 NDVI: the mixture's spread, not 0 (found in review)."""
    p = 8

    def stand_in(batch):  # prediction = nearest fine, spread 0 (a confident network)
        return np.stack([batch[:, -2], np.zeros_like(batch[:, -2])], axis=1).astype(np.float32)

    def side(fine, coarse, target):
        return np.stack([np.full((p, p), v, np.float32) for v in (coarse, fine, target)])[None]

    batch = np.concatenate([side(0.2, 0.5, 0.5), side(0.7, 0.5, 0.5)], axis=1)  # equal weights
    out = two_sided_predictor(stand_in, 3, 2.0)(batch)
    assert np.allclose(out[:, 0], 0.45)
    assert np.allclose(out[:, 1], 0.25)  # sqrt(0.5 * 0.25^2 + 0.5 * 0.25^2)
