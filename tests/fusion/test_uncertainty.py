"""Monte-Carlo dropout uncertainty: the deterministic prediction is unchanged, the spread is honest and repeatable."""

import numpy as np
import pytest
import torch

from tsstfn_crop_mapper.core.errors import CancelledError
from tsstfn_crop_mapper.core.files import read_array
from tsstfn_crop_mapper.core.fusion.metrics import error_by_uncertainty
from tsstfn_crop_mapper.core.fusion.model import TSSTFN
from tsstfn_crop_mapper.core.fusion.prediction import make_predictor, predict_to_file
from tsstfn_crop_mapper.core.fusion.tiling import predict_tiled
from tsstfn_crop_mapper.core.inputs.grid import Grid

META = {"normalisation": {"mean": 0.5, "std": 0.2}, "config": {"patch": 32}}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TSSTFN(n_base=2, patch=32, width=4, cl_paths=1).eval()


def _batch(seed=0, n=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 0.9, (n, 5, 32, 32)).astype(np.float32)


def test_mc_passes_keep_the_prediction_and_add_a_repeatable_spread(model):
    batch = _batch()
    batch[0, -1, :4, :4] = np.nan  # no target MODIS there: no prediction, no spread
    plain = make_predictor(model, META)(batch)
    both = make_predictor(model, META, mc_passes=8)(batch)
    assert both.shape == (3, 2, 32, 32)
    np.testing.assert_array_equal(both[:, 0], plain)  # the fused NDVI is the deterministic pass
    spread = both[:, 1]
    assert np.isnan(spread[0, :4, :4]).all() and np.isnan(plain[0, :4, :4]).all()
    assert (spread[np.isfinite(spread)] > 0).all()  # dropout on: the passes differ
    np.testing.assert_array_equal(make_predictor(model, META, mc_passes=8)(batch), both)  # seeded: repeatable
    assert not any(m.training for m in model.modules())  # dropout switched back off
    np.testing.assert_array_equal(make_predictor(model, META)(batch), plain)


def test_the_spread_is_the_standard_deviation_of_the_passes(model):
    """By hand: K passes with dropout on, their sample standard deviation."""
    batch = _batch(1, n=1)
    got = make_predictor(model, META, mc_passes=5, seed=3)(batch)[:, 1]
    torch.manual_seed(3)
    x = torch.from_numpy(np.nan_to_num((batch - 0.5) / 0.2)).float()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout2d):
            m.train()
    with torch.inference_mode():
        passes = np.stack([model(x)[:, 0].numpy().astype(np.float64) * 0.2 + 0.5 for _ in range(5)])
    model.eval()
    np.testing.assert_allclose(got, passes.std(axis=0, ddof=1), rtol=1e-4, atol=1e-6)


def test_tiled_outputs_blend_each_channel(tmp_path):
    """Two outputs per patch are blended alike and streamed together; constant channels stay constant."""
    rows = {}

    def predict(batch):
        return np.stack([np.full(batch.shape[:1] + batch.shape[2:], 0.7), np.full(batch.shape[:1] + batch.shape[2:], 0.05)], 1)

    predict_tiled(lambda x, y, w, h: np.zeros((5, h, w)), predict, lambda y, r: rows.__setitem__(y, r), 70, 50, 32, 10, 4)
    out = np.concatenate([rows[y] for y in sorted(rows)], axis=1)
    assert out.shape == (2, 50, 70)
    np.testing.assert_allclose(out[0], 0.7)
    np.testing.assert_allclose(out[1], 0.05)


def test_prediction_and_uncertainty_files_are_written_together_or_not_at_all(model, tmp_path):
    grid = Grid("", (0.0, 1.0, 0.0, 0.0, 0.0, -1.0), 40, 36, 10.0)
    inputs = _batch(2, n=1)[0]
    inputs = np.tile(inputs, (1, 2, 2))[:, :36, :40]
    read = lambda x, y, w, h: inputs[:, y : y + h, x : x + w]  # noqa: E731
    out = predict_to_file(model, META, read, grid, tmp_path / "f.tif", uncertainty_path=tmp_path / "u.tif", mc_passes=4)
    fused, std = read_array(out), read_array(tmp_path / "u.tif")
    assert fused.shape == std.shape == (36, 40) and np.isfinite(std).all() and (std > 0).all()
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(CancelledError):
        predict_to_file(model, META, read, grid, tmp_path / "g.tif", batch_size=1, is_cancelled=cancel,
                        uncertainty_path=tmp_path / "v.tif")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif", "u.tif"]  # neither g nor v, nor a .part


def test_error_by_uncertainty_bins_and_rank_correlation():
    rng = np.random.default_rng(0)
    std = rng.uniform(0.01, 0.1, (60, 60))
    truth = rng.uniform(0, 1, (60, 60))
    pred = truth + rng.standard_normal((60, 60)) * std  # errors scale with std
    cal = error_by_uncertainty(pred, std, truth)
    errors = [b["mean_abs_error"] for b in cal["bins"]]
    assert len(errors) == 5 and errors == sorted(errors) and cal["spearman"] > 0.3
    assert sum(b["n"] for b in cal["bins"]) == cal["n"] == 3600
    flat = error_by_uncertainty(truth + 0.05, std, truth)  # the same error everywhere: no rank correlation
    assert abs(flat["spearman"]) < 0.05 or np.isnan(flat["spearman"])
