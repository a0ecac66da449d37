"""STARFM's rules, its tiled writer and its torch backend (the comparison with Gao's C program is in
test_starfm_reference.py)."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from conftest import make_raster
from tsstfn_crop_mapper.core.files import read_array
from tsstfn_crop_mapper.core.fusion.starfm import StarfmParams, image_slice, starfm, starfm_to_file
from tsstfn_crop_mapper.core.inputs.grid import Grid

P = StarfmParams(window_m=35.0)  # 7 x 7 px at 10 m


def _scene(seed=0, size=40):
    rng = np.random.default_rng(seed)
    f0 = np.kron(rng.uniform(0.15, 0.85, (size // 10, size // 10)), np.ones((10, 10))) + rng.normal(0, 0.01, (size, size))
    c0 = uniform_filter(f0, 9, mode="nearest")
    return f0, c0


def test_window_and_uncertainties_follow_gaos_program():
    assert StarfmParams().offsets(10.0) == (15, 15)  # 155 m at 10 m: 31 x 31
    assert StarfmParams(window_m=1500).offsets(30.0) == (50, 49)  # 100 px: the C code's window is not centred
    assert StarfmParams().uncertainties() == (50, 50, 70)  # 36 per image: differences 50, weight threshold 70


def test_uniform_temporal_change_is_transferred():
    # fields of constant NDVI further apart than the similarity threshold; coarse = fine blurred
    f0 = np.kron(np.array([[0.2, 0.5], [0.8, 0.35]]), np.ones((10, 10)))
    c0 = uniform_filter(f0, 5, mode="nearest")
    out = starfm([f0], [c0], c0 + 0.1, P)
    np.testing.assert_allclose(out, f0 + 0.1, atol=1e-6)


def test_no_prediction_outside_ndvi_range_and_missing_fine_centre_is_predicted():
    f0, c0 = _scene(1)
    f0[5:8, 5:8] = np.nan  # a cloud in the base image
    out = starfm([f0], [c0], c0 + 0.05, P)
    assert np.isfinite(out[5:8, 5:8]).all()  # predicted from the similar neighbours, as Gao's program does
    high = starfm([f0], [c0], c0 + 0.5, P)
    assert np.isnan(high[f0 + 0.5 > 1.2]).mean() > 0.9 and np.nanmax(high) < 1.0  # Gao's fill outside (-1, 1)


def test_whole_image_sigma_makes_the_tiled_writer_equal_the_whole_array(tmp_path):
    f0, c0 = _scene(2, size=300)
    cp = c0 + np.linspace(0, 0.2, 300)[None, :]
    paths = [make_raster(tmp_path / f"{n}.tif", a) for n, a in (("f0", f0), ("c0", c0), ("cp", cp))]
    grid = Grid.from_raster(paths[0])
    out = read_array(starfm_to_file([paths[0]], [paths[1]], paths[2], grid, tmp_path / "o.tif", P))
    whole = starfm([read_array(p) for p in paths[:1]], [read_array(paths[1])], read_array(paths[2]), P)
    np.testing.assert_array_equal(np.isfinite(out), np.isfinite(whole))
    np.testing.assert_allclose(out, whole, atol=1e-7)
    # a strip alone has another sigma: what the tiled path must not use
    assert image_slice(f0[:40], P) != image_slice(f0, P)


def test_bad_arguments():
    f0, c0 = _scene()
    with pytest.raises(ValueError, match="one or more base pairs"):
        starfm([f0], [], c0, P)
    with pytest.raises(ValueError, match="smaller than one"):
        starfm([f0], [c0], c0, StarfmParams(window_m=2.0), pixel_size=10.0)


def test_torch_backend_matches_numpy():
    f0, c0 = _scene(5)
    f0[3, 4] = np.nan
    cp = c0 + 0.1
    np.testing.assert_allclose(starfm([f0], [c0], cp, P, device="cpu"), _via_torch([f0], [c0], cp), atol=1e-6)


def _via_torch(fine, coarse, target):
    """The torch code path, on the CPU here (the same code runs on CUDA)."""
    import tsstfn_crop_mapper.core.fusion.starfm as mod

    original = mod._NumpyOps
    try:
        mod._NumpyOps = lambda: mod._TorchOps("cpu")
        return starfm(fine, coarse, target, P)
    finally:
        mod._NumpyOps = original
