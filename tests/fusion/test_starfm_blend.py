"""``train.starfm_blend``: the fused NDVI is the network's blended with STARFM's by a weight learnt on validation.

The weight minimises the squared error on the validation patches (``core/fusion/blend.py``); it is saved
with the model, and the prediction blends a scene-wide STARFM run with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

import numpy as np
import pytest
import torch
from osgeo import gdal

from tsstfn_crop_mapper.core.fusion.base import FusionInputs
from tsstfn_crop_mapper.core.fusion.blend import blend_files, least_squares_weight, starfm_on_windows
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


def test_starfm_on_validation_windows_equals_a_scene_wide_starfm_of_the_nearest_pair():
    """Windows at the edges and inside, of a stack of three base pairs: STARFM reads the last one, with its margin."""
    from tsstfn_crop_mapper.core.fusion.training import TrainingStack

    rng = np.random.default_rng(1)
    params, pixel = StarfmParams(window_m=150.0), 30.0  # a 10 px window
    h, w = 40, 44
    inputs = (0.1 + 0.7 * rng.random((7, h, w))).astype(np.float32)  # n_base 3: every channel different
    inputs[5, 10:13, 20:24] = np.nan  # a gap in the nearest fine image
    stacks = [TrainingStack(inputs, inputs[0]), TrainingStack(inputs[::-1].copy(), inputs[0])]
    windows = np.array([(0, 0, 0, 16, 16), (0, 28, 24, 16, 16), (0, 14, 12, 16, 16), (1, 20, 0, 16, 16)])
    got = starfm_on_windows(stacks, windows, params, pixel)
    for (k, x, y, ww, hh), patch in zip(windows, got):
        full = stacks[k].inputs
        scene = starfm([full[-2]], [full[-3]], full[-1], params, pixel, [image_slice(full[-2], params)])
        np.testing.assert_array_equal(patch, scene[y : y + hh, x : x + ww])
    assert not np.array_equal(got[0], starfm([inputs[1]], [inputs[0]], inputs[-1], params, pixel)[:16, :16])  # not the oldest


def test_two_pair_starfm_on_windows_reads_the_nearest_pair_of_each_side():
    from tsstfn_crop_mapper.core.fusion.training import TrainingStack

    rng = np.random.default_rng(2)
    params, pixel = StarfmParams(window_m=150.0), 30.0
    before, after = ((0.1 + 0.7 * rng.random((5, 36, 40))).astype(np.float32) for _ in range(2))
    after[-1] = before[-1]  # one label: the same target coarse image on both sides
    stacks = [TrainingStack(before, before[0]), TrainingStack(after, before[0])]
    boxes = [(0, 0, 16, 16), (24, 20, 16, 16)]
    first = np.array([(0, *b) for b in boxes])
    second = np.array([(1, *b) for b in boxes])
    got = starfm_on_windows(stacks, first, params, pixel, second)
    slices = [image_slice(before[-2], params), image_slice(after[-2], params)]
    scene = starfm([before[-2], after[-2]], [before[-3], after[-3]], before[-1], params, pixel, slices)
    for (x, y, w, h), patch in zip(boxes, got):
        np.testing.assert_array_equal(patch, scene[y : y + h, x : x + w])


def test_blend_files_weighs_keeps_the_network_where_starfm_has_no_value_and_mixes_the_spread(tmp_path):
    h, w = 300, 20  # more rows than one strip
    rng = np.random.default_rng(2)
    net, oth, spread = (rng.random((h, w)).astype(np.float32) for _ in range(3))
    oth[:7, :3] = np.nan
    paths = [_write(tmp_path / f"{n}.tif", a) for n, a in (("net", net), ("oth", oth), ("spread", spread))]
    grid = Grid("", (0, 30, 0, 0, 0, -30), w, h, 30.0)
    out = blend_files(paths[0], paths[1], 0.3, grid, tmp_path / "out.tif", "blend", paths[2], tmp_path / "unc.tif")
    expected = np.where(np.isnan(oth), net, 0.3 * net + 0.7 * oth)
    np.testing.assert_allclose(_read(out), expected, atol=1e-6)
    mixture = np.sqrt(0.3 * spread.astype(np.float64) ** 2 + 0.3 * 0.7 * (net.astype(np.float64) - oth) ** 2)
    np.testing.assert_allclose(_read(tmp_path / "unc.tif"), np.where(np.isnan(oth), spread, mixture), atol=1e-6)
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


def test_a_target_predicted_from_both_sides_is_blended_only_with_a_two_sided_weight(tmp_path):
    """The one-sided weight says nothing about a two-sided prediction: only a weight learnt two-sided applies."""
    grid, pairs = _scene(tmp_path)
    target = dt.date(2001, 7, 1)  # between 20 June and 11 July: one pair after it
    t = AlignedPair(target, _write(tmp_path / "mt.tif", np.full((grid.height, grid.width), 0.55, np.float32)))
    inputs = FusionInputs(grid, (), pairs, (t,))
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    config = TrainConfig(width=4, patch=32, cl_paths=2, output="change_residual", both_directions=True, starfm_blend=True)
    meta = {"n_base": 1, "config": config.as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}}
    outs = {}
    for name, model_meta in (("plain", meta), ("weighted", {**meta, "starfm_blend": {"weight": 0.25}})):
        params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
        outs[name] = predict(model, model_meta, inputs, params, lambda d, n=name: tmp_path / f"{n}_{d:%Y%m%d}.tif")[target]
    np.testing.assert_array_equal(_read(outs["weighted"]), _read(outs["plain"]))
    ds = gdal.Open(str(outs["weighted"]))
    assert "before and after" in ds.GetRasterBand(1).GetDescription() and "STARFM" not in ds.GetRasterBand(1).GetDescription()
    # a model that learnt a two-sided weight (a season with pairs between others): two-pair STARFM, that weight
    two = {**meta, "starfm_blend": {"weight": 0.9, "two_sided": {"weight": 0.25}}}
    params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
    blended = predict(model, two, inputs, params, lambda d: tmp_path / f"two_{d:%Y%m%d}.tif")[target]
    near = [pairs[1], pairs[2]]  # 20 June and 11 July around 1 July
    alone = starfm_to_file([p.fine for p in near], [p.coarse for p in near], t.coarse, grid, tmp_path / "starfm2.tif",
                           StarfmParams(window_m=150.0))  # fmt: skip
    other, network = _read(alone), _read(outs["plain"])
    np.testing.assert_allclose(_read(blended), np.where(np.isnan(other), network, 0.25 * network + 0.75 * other), atol=1e-5)


def replace_blend(config: TrainConfig, value: bool) -> TrainConfig:
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


def test_a_season_with_pairs_between_others_learns_a_two_sided_weight_too(tmp_path):
    grid, pairs = _scene(tmp_path, 64, 64)
    t = AlignedPair(dt.date(2001, 9, 1), _write(tmp_path / "mt.tif", np.full((64, 64), 0.7, np.float32)))
    config = TrainConfig(
        width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", both_directions=True, starfm_blend=True
    )
    params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
    _, meta = fit(FusionInputs(grid, (), pairs, (t,)), params)  # 4 pairs: 20 June and 11 July have one on each side
    two = meta["starfm_blend"]["two_sided"]
    assert 0.0 <= two["weight"] <= 1.0 and two["pixels"] > 0
    assert two["rmse_blend"] <= min(two["rmse_network"], two["rmse_starfm"]) + 1e-9
    check_meta(meta, "model")
    one_way = TsstfnParams(n_base=1, train=replace(config, both_directions=False), starfm=StarfmParams(window_m=150.0))
    _, meta = fit(FusionInputs(grid, (), pairs, (t,)), one_way)
    assert "two_sided" not in meta["starfm_blend"]  # trained one way: no two-sided prediction to weigh


def test_in_a_scene_too_small_for_a_validation_block_the_two_sided_weight_uses_only_the_held_out_label(tmp_path, caplog):
    """48 px with 32 px patches: the fallback holds out both stacks of one label; the other label's were trained on."""
    grid, pairs = _scene(tmp_path, 48, 48)
    t = AlignedPair(dt.date(2001, 9, 1), _write(tmp_path / "mt.tif", np.full((48, 48), 0.7, np.float32)))
    config = TrainConfig(
        width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", both_directions=True, starfm_blend=True
    )
    params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        _, meta = fit(FusionInputs(grid, (), pairs, (t,)), params)
    assert "validating on the last training label's patches" in caplog.text
    two = meta["starfm_blend"]["two_sided"]
    assert 0 < two["pixels"] <= 4 * 32 * 32  # the held-out label's four boxes, not also the trained label's


def test_a_two_season_model_learns_no_two_sided_weight(tmp_path):
    """Its stacks' base and label recipes index two different years: no stack learns 'from after'."""
    grid, pairs = _scene(tmp_path, 64, 64)
    reference = tuple(replace(p, date=p.date.replace(year=2000)) for p in pairs)
    coarse = _write(tmp_path / "mt.tif", np.full((64, 64), 0.6, np.float32))
    targets = (AlignedPair(dt.date(2001, 6, 1), coarse), AlignedPair(dt.date(2001, 8, 20), coarse))
    config = TrainConfig(
        width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", both_directions=True, starfm_blend=True
    )
    # one label day for both targets (as the paper preset's fixed label), the later target's base index above it
    params = TsstfnParams("STR_A", 1, reference_target=dt.date(2000, 6, 20), train=config, starfm=StarfmParams(window_m=150.0))
    _, meta = fit(FusionInputs(grid, reference, pairs, targets), params)
    assert "weight" in meta["starfm_blend"] and "two_sided" not in meta["starfm_blend"]


def test_a_two_season_weight_is_learnt_on_both_years_held_out_pixels(tmp_path, caplog):
    """The reference year's validation flatters the network (it learnt that year): the prediction year's own pairs,
    each predicted from the pairs before it and never trained on, weigh in with an equal-sized sample."""
    import re

    grid, pairs = _scene(tmp_path, 64, 64)
    reference = tuple(replace(p, date=p.date.replace(year=2000)) for p in pairs)
    targets = (AlignedPair(dt.date(2001, 8, 1), _write(tmp_path / "mt.tif", np.full((64, 64), 0.6, np.float32))),)
    config = TrainConfig(width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", starfm_blend=True)
    params = TsstfnParams("STR_B", 1, train=config, starfm=StarfmParams(window_m=150.0))
    work = tmp_path / "work"
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        _, meta = fit(FusionInputs(grid, reference, pairs, targets), params, workdir=work)
    found = meta["starfm_blend"]
    pixels = {
        which: int(m.group(1))
        for which in ("reference-year validation only", "prediction-year pairs only", "both years' held-out pixels")
        for m in [re.search(re.escape(which) + r": blend with STARFM: .*; (\d+) px\)", caplog.text)]
        if m
    }
    assert len(pixels) == 3 and all(pixels.values())
    both = pixels["both years' held-out pixels"]
    assert both == pixels["reference-year validation only"] + pixels["prediction-year pairs only"]
    assert found["pixels"] == both
    assert found["prediction_year"]["pixels"] == pixels["prediction-year pairs only"]
    assert 0.0 <= found["weight"] <= 1.0 and found["rmse_blend"] <= min(found["rmse_network"], found["rmse_starfm"]) + 1e-9
    check_meta(meta, "model")
    assert not work.exists()  # the prediction year's stacks go with the training stacks
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        _, meta = fit(FusionInputs(grid, reference, pairs[:3], targets), replace(params, n_base=3))
    assert "prediction_year" not in meta["starfm_blend"]  # no base pair has 3 before it: the reference year alone
    assert "the weight is the reference year's alone" in caplog.text


def test_a_failure_scoring_the_prediction_year_keeps_the_reference_years_weight(tmp_path, caplog, monkeypatch):
    from tsstfn_crop_mapper.core.fusion import tsstfn

    def no_memory(*args, **kwargs):
        raise MemoryError("no room for the prediction year's stacks")

    monkeypatch.setattr(tsstfn, "_prediction_year_checks", no_memory)
    grid, pairs = _scene(tmp_path, 64, 64)
    reference = tuple(replace(p, date=p.date.replace(year=2000)) for p in pairs)
    targets = (AlignedPair(dt.date(2001, 8, 1), _write(tmp_path / "mt.tif", np.full((64, 64), 0.6, np.float32))),)
    config = TrainConfig(width=4, patch=32, cl_paths=1, max_epochs=1, patience=1, output="change_residual", starfm_blend=True)
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        _, meta = fit(FusionInputs(grid, reference, pairs, targets), TsstfnParams("STR_B", 1, train=config))
    assert meta["starfm_blend"]["pixels"] > 0 and "prediction_year" not in meta["starfm_blend"]
    assert "could not be scored (no room for the prediction year's stacks); the weight is the reference year's" in caplog.text


def test_a_model_file_with_a_weight_outside_zero_to_one_is_refused():
    meta = {"n_base": 1, "config": TrainConfig().as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}}
    check_meta({**meta, "starfm_blend": {"weight": 0.4}}, "m.tsstfn")
    for bad in (1.5, -0.1, "0.5", True, None):
        with pytest.raises(ModelFileError, match="'m.tsstfn': its STARFM blend weight"):
            check_meta({**meta, "starfm_blend": {"weight": bad}}, "m.tsstfn")
    with pytest.raises(ModelFileError, match="blend weight"):
        check_meta({**meta, "starfm_blend": [0.5]}, "m.tsstfn")
    with pytest.raises(ModelFileError, match="blend weight 2"):
        check_meta({**meta, "starfm_blend": {"weight": 0.5, "two_sided": {"weight": 2}}}, "m.tsstfn")


def test_a_sequential_forecast_blends_starfm_from_a_real_pair_never_a_fused_date(tmp_path):
    grid, pairs = _scene(tmp_path)
    base, targets = pairs[:2], (dt.date(2001, 7, 1), dt.date(2001, 7, 20))
    ts = tuple(
        AlignedPair(d, _write(tmp_path / f"mt{k}.tif", np.full((grid.height, grid.width), 0.5 + 0.05 * k, np.float32)))
        for k, d in enumerate(targets)
    )
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    config = TrainConfig(width=4, patch=32, cl_paths=2, output="change_residual", starfm_blend=True)
    meta = {"n_base": 1, "config": config.as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}, "starfm_blend": {"weight": 0.5}}
    params = TsstfnParams(n_base=1, train=config, forecast="sequential", starfm=StarfmParams(window_m=150.0))
    out = predict(model, meta, FusionInputs(grid, (), base, ts), params, lambda d: tmp_path / f"fused_{d:%Y%m%d}.tif")
    for d in targets:
        ds = gdal.Open(str(out[d]))
        assert "blended with STARFM from 2001-06-20 " in ds.GetRasterBand(1).GetDescription()  # not the fused 1 July


def test_a_cancelled_blend_leaves_no_output_and_no_temporary_file(tmp_path):
    from tsstfn_crop_mapper.core.errors import CancelledError

    grid, pairs = _scene(tmp_path)
    t = AlignedPair(dt.date(2001, 7, 1), _write(tmp_path / "mt.tif", np.full((grid.height, grid.width), 0.55, np.float32)))
    torch.manual_seed(0)
    model = TSSTFN(1, 32, 4, 0.3, (4, 2, 4), 2, "change_residual").eval()
    config = TrainConfig(width=4, patch=32, cl_paths=2, output="change_residual", starfm_blend=True)
    meta = {"n_base": 1, "config": config.as_dict(), "normalisation": {"mean": 0.0, "std": 1.0}, "starfm_blend": {"weight": 0.5}}
    params = TsstfnParams(n_base=1, train=config, starfm=StarfmParams(window_m=150.0))
    before = set(tmp_path.iterdir())

    def during_starfm() -> bool:  # cancels once STARFM's temporary output exists: after the network's prediction
        return any(p.name.startswith(".starfm_") for p in tmp_path.iterdir())

    with pytest.raises(CancelledError):
        predict(model, meta, FusionInputs(grid, (), pairs[:2], (t,)), params, lambda d: tmp_path / "fused.tif", None, None, None,
                during_starfm)  # fmt: skip
    assert set(tmp_path.iterdir()) == before  # no fused NDVI, no network or STARFM temporary file
