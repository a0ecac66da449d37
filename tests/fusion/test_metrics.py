import numpy as np
import pytest
from skimage.metrics import structural_similarity

from tsstfn_crop_mapper.core.fusion.metrics import fusion_metrics


def test_metrics_by_hand():
    truth = np.array([[0.2, 0.4], [0.6, np.nan]])
    pred = np.array([[0.3, 0.4], [0.4, 0.9]])
    m = fusion_metrics(pred, truth)
    # differences 0.1, 0.0, -0.2 on the 3 valid pixels
    assert m["n"] == 3
    assert m["rmse"] == pytest.approx(np.sqrt((0.01 + 0 + 0.04) / 3))
    assert m["mae"] == pytest.approx(0.3 / 3)
    assert m["bias"] == pytest.approx(-0.1 / 3)
    assert m["r2"] == pytest.approx(1 - 0.05 / 0.08)


def test_ssim_uses_the_stated_data_range():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.2, 0.8, (40, 40))
    pred = truth + rng.normal(0, 0.05, truth.shape)
    m = fusion_metrics(pred, truth)
    assert m["ssim_data_range"] == 2.0
    assert m["ssim"] == pytest.approx(structural_similarity(truth, pred, data_range=2.0), abs=1e-9)
    assert fusion_metrics(pred, truth, data_range=1.0)["ssim"] < m["ssim"]  # the range matters
    assert fusion_metrics(pred, truth)["rmse"] == pytest.approx(np.sqrt(np.mean((pred - truth) ** 2)))


def test_metrics_of_files_read_in_strips_equal_the_whole_arrays(tmp_path):
    from tsstfn_crop_mapper.core.files import write_array
    from tsstfn_crop_mapper.core.fusion.metrics import fusion_metrics_of_files
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    rng = np.random.default_rng(0)
    truth = rng.normal(0.5, 0.2, (300, 90)).astype(np.float32)
    pred = (truth + rng.normal(0, 0.05, truth.shape)).astype(np.float32)
    truth[100:140, 50:70] = np.nan  # a cloud across a strip boundary
    pred[128:131] = np.nan
    grid = Grid("", (0, 10, 0, 0, 0, -10), 90, 300, 10.0)
    write_array(tmp_path / "t.tif", truth, grid)
    write_array(tmp_path / "p.tif", pred, grid)
    whole = fusion_metrics(pred, truth)
    strips = fusion_metrics_of_files(str(tmp_path / "p.tif"), str(tmp_path / "t.tif"), rows=64)
    assert strips["n"] == whole["n"]
    for key in ("rmse", "mae", "bias", "r2", "ssim"):
        assert strips[key] == pytest.approx(whole[key], rel=1e-9), key
