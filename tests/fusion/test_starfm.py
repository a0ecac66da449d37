import numpy as np
import pytest

from tsstfn_crop_mapper.core.fusion.starfm import StarfmParams, starfm, starfm_reference

P = StarfmParams(half_window=3, n_classes=4, uncertainty=0.005)


def test_identical_coarse_and_fine_reproduce_the_fine_image():
    rng = np.random.default_rng(0)
    f0 = rng.uniform(0.1, 0.8, (20, 20))
    fp = f0 + rng.uniform(-0.1, 0.1, f0.shape)
    np.testing.assert_allclose(starfm([f0], [f0], fp, P), fp, atol=1e-6)  # S = 0 everywhere
    np.testing.assert_allclose(starfm([f0], [f0 + 0.05], f0 + 0.05, P), f0, atol=1e-6)  # T = 0: no change


def test_uniform_temporal_change_is_transferred_exactly():
    # fields of constant NDVI; the coarse image is the fine one blurred; everything rises by 0.1
    f0 = np.kron(np.array([[0.2, 0.5], [0.8, 0.35]]), np.ones((10, 10)))  # classes further apart than the threshold
    from scipy.ndimage import uniform_filter

    c0 = uniform_filter(f0, 5, mode="nearest")
    out = starfm([f0], [c0], c0 + 0.1, P)
    np.testing.assert_allclose(out, f0 + 0.1, atol=1e-5)


@pytest.mark.parametrize("pairs", [1, 2])
def test_vectorised_equals_slow_reference(pairs):
    rng = np.random.default_rng(pairs)
    fine = [rng.uniform(0.1, 0.8, (12, 14)) for _ in range(pairs)]
    coarse = [f + rng.normal(0, 0.05, f.shape) for f in fine]
    target = coarse[0] + rng.normal(0.1, 0.03, fine[0].shape)
    fine[0][3, 4] = np.nan
    target[7, 7] = np.nan
    fast = starfm(fine, coarse, target, P)
    slow = starfm_reference(fine, coarse, target, P)
    np.testing.assert_allclose(fast, slow, atol=1e-4, equal_nan=True)
    assert np.isnan(fast[7, 7])


def test_torch_backend_matches_numpy():
    from tsstfn_crop_mapper.core.fusion.starfm import _TorchOps

    rng = np.random.default_rng(5)
    f0 = rng.uniform(0.1, 0.8, (16, 16))
    c0 = f0 + rng.normal(0, 0.05, f0.shape)
    cp = c0 + 0.1
    # the torch code path (on CPU here, the same code runs on CUDA)
    import tsstfn_crop_mapper.core.fusion.starfm as mod

    original = mod._NumpyOps
    try:
        mod._NumpyOps = lambda: _TorchOps("cpu")
        via_torch = starfm([f0], [c0], cp, P)
    finally:
        mod._NumpyOps = original
    np.testing.assert_allclose(via_torch, starfm([f0], [c0], cp, P), atol=1e-5)
