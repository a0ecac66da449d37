"""``train.starfm_blend``: the fused NDVI is the network's blended with STARFM's by a weight learnt on validation.

The weight minimises the squared error on the validation patches (``core/fusion/blend.py``); it is saved
with the model, and the prediction blends a scene-wide STARFM run with it.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest
import torch
from osgeo import gdal

from tsstfn_crop_mapper.core.fusion.base import FusionInputs
from tsstfn_crop_mapper.core.fusion.blend import blend_files, least_squares_weight, patch_starfm
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.model import TSSTFN
from tsstfn_crop_mapper.core.fusion.modelfile import ModelFileError, check_meta
from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
from tsstfn_crop_mapper.core.fusion.starfm import StarfmParams, image_slice, starfm, starfm_to_file
from tsstfn_crop_mapper.core.fusion.tsstfn import TsstfnParams, fit, predict
from tsstfn_crop_mapper.core.inputs.grid import Grid

DAYS = [dt.date(2001, 5, 24), dt.date(2001, 6, 20), dt.date(2001, 7, 11), dt.date(2001, 8, 12)]


def _write(path, value: np.ndarray) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), value.shape[1], value.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform((0, 30, 0, 0, 0, -30))
    ds.GetRasterBand(1).SetNoDataValue(float("nan"))
    ds.GetRasterBand(1).WriteArray(value)
    ds = None
    return str(path)


def _read(path) -> np.ndarray:
    ds = gdal.Open(str(path))
    return ds.ReadAsArray().astype(np.float64)


def test_the_weight_minimises_the_squared_error_of_the_blend():
    rng = np.random.default_rng(0)
    e = rng.normal(0, 1, 10000)
    assert least_squares_weight(np.zeros(5), e[:5]) == 1.0  # a perfect network takes it all
    assert least_squares_weight(e[:5], np.zeros(5)) == 0.0  # a perfect STARFM takes it all
    assert least_squares_weight(e, -e) == pytest.approx(0.5)  # opposite errors cancel at one half
    assert least_squares_weight(e, e) == 1.0  # nothing to gain: the network alone
    other = rng.normal(0, 1, 10000)
    w = least_squares_weight(e, other)  # independent errors of equal size: about one half
    assert 0.4 < w < 0.6
    grid = np.linspace(0, 1, 101)
    losses = [np.sum((g * e + (1 - g) * 2 * other) ** 2) for g in grid]
    assert least_squares_weight(e, 2 * other) == pytest.approx(grid[int(np.argmin(losses))], abs=0.01)
    assert least_squares_weight(e, e + 5) == 1.0  # clipped to [0, 1]


def test_starfm_of_patches_side_by_side_equals_starfm_of_each_patch():
    rng = np.random.default_rng(1)
    params, pixel = StarfmParams(window_m=60.0), 30.0  # a 4 px window: 1 and 2 px each side
    x = (0.2 + 0.5 * rng.random((3, 3, 12, 12))).astype(np.float32)
    x[1, 1, 3:5, 3:5] = np.nan  # a fine gap
    got = patch_starfm(x, params, pixel)
    slices = [image_slice(x[:, -2], params)]  # the threshold of all patches together, as patch_starfm takes it
    for i in range(3):
        alone = starfm([x[i, -2]], [x[i, -3]], x[i, -1], params, pixel, slices)
        np.testing.assert_array_equal(got[i], alone)


def test_blend_files_weighs_keeps_the_network_where_starfm_has_no_value_and_scales_the_spread(tmp_path):
    h, w = 300, 20  # more rows than one strip
    rng = np.random.default_rng(2)
    net, oth, spread = (rng.random((h, w)).astype(np.float32) for _ in range(3))
    oth[:7, :3] = np.nan
    paths = [_write(tmp_path / f"{n}.tif", a) for n, a in (("net", net), ("oth", oth), ("spread", spread))]
    grid = Grid("", (0, 30, 0, 0, 0, -30), w, h, 30.0)
    out = blend_files(paths[0], paths[1], 0.3, grid, tmp_path / "out.tif", "blend", paths[2], tmp_path / "unc.tif")
    expected = np.where(np.isnan(oth), net, 0.3 * net + 0.7 * oth)
    np.testing.assert_allclose(_read(out), expected, atol=1e-6)
    np.testing.assert_allclose(_read(tmp_path / "unc.tif"), np.where(np.isnan(oth), spread, 0.3 * spread), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.tif", "oth.tif", "out.tif", "spread.tif", "unc.tif"]


def _scene(tmp_path, h=40, w=56):
    rng = np.random.default_rng(0)
    coarse = {d: 0.3 + 0.1 * k for k, d in enumerate(DAYS)}
    fine = {d: (0.2 + 0.5 * rng.random((h, w))).astype(np.float32) for d in DAYS}
    pairs = tuple(
        AlignedPair(d, _write(tmp_path / f"m{k}.tif", np.full((h, w), coarse[d], np.float32)), _write(tmp_path / f"s{k}.tif", f))
        for k, (d, f) in enumerate(fine.items())
    )  # fmt: skip
    return Grid("", (0, 30, 0, 0, 0, -30), w, h, 30.0), pairs


def test_the_fused_ndvi_is_the_network_and_starfm_blended_by_the_models_weight(tmp_path, caplog):
    grid, pairs = _scene(tmp_path)
    base, target = pairs[:2], dt.date(2001, 7, 1)
    t = AlignedPair(target, _write(tmp_path / "mt.tif", np.full((grid.height, grid.width), 0.55, np.float32)))
    inputs = FusionInputs(grid, (), base, (t,))
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    config = TrainConfig(width=4, patch=32, cl_paths=2, output="change_residual", starfm_blend=True)
    meta = {"n_base": 1, "config": config.as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}}
    starfm_params = StarfmParams(window_m=150.0)

    def run(name, job_config, model_meta):
        params = TsstfnParams(n_base=1, train=job_config, starfm=starfm_params)
        out = predict(model, model_meta, inputs, params, lambda d: tmp_path / f"{name}_{d:%Y%m%d}.tif")
        return out[target]

    network = _read(run("network", replace_blend(config, False), meta))
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        unweighted = _read(run("unweighted", config, meta))  # the model learnt no weight: the network alone
    assert "trained without it" in caplog.text
    np.testing.assert_array_equal(unweighted, network)
    blended_path = run("blended", config, {**meta, "starfm_blend": {"weight": 0.25}})
    alone = starfm_to_file([base[-1].fine], [base[-1].coarse], t.coarse, grid, tmp_path / "starfm.tif", starfm_params)
    other = _read(alone)
    expected = np.where(np.isnan(other), network, 0.25 * network + 0.75 * other)
    np.testing.assert_allclose(_read(blended_path), expected, atol=1e-5)
    ds = gdal.Open(str(blended_path))
    description = ds.GetRasterBand(1).GetDescription()
    assert "blended with STARFM from 2001-06-20 (network weight 0.25)" in description
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def replace_blend(config: TrainConfig, value: bool) -> TrainConfig:
    from dataclasses import replace

    return replace(config, starfm_blend=value)


def test_training_learns_a_weight_no_worse_than_either_method_on_validation(tmp_path):
    grid, pairs = _scene(tmp_path, 64, 64)
    t = AlignedPair(dt.date(2001, 9, 1), _write(tmp_path / "mt.tif", np.full((64, 64), 0.7, np.float32)))
    config = TrainConfig(width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", starfm_blend=True)
    params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
    _, meta = fit(FusionInputs(grid, (), pairs, (t,)), params)
    found = meta["starfm_blend"]
    assert 0.0 <= found["weight"] <= 1.0 and found["pixels"] > 0
    assert found["rmse_blend"] <= min(found["rmse_network"], found["rmse_starfm"]) + 1e-9  # w = 0 and 1 are candidates
    check_meta(meta, "model")  # what the model file will check on loading


def test_a_model_file_with_a_weight_outside_zero_to_one_is_refused():
    meta = {"n_base": 1, "config": TrainConfig().as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}}
    check_meta({**meta, "starfm_blend": {"weight": 0.4}}, "m.tsstfn")
    for bad in (1.5, -0.1, "0.5", True, None):
        with pytest.raises(ModelFileError, match="'m.tsstfn': its STARFM blend weight"):
            check_meta({**meta, "starfm_blend": {"weight": bad}}, "m.tsstfn")
    with pytest.raises(ModelFileError, match="blend weight"):
        check_meta({**meta, "starfm_blend": [0.5]}, "m.tsstfn")
