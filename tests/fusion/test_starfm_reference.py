"""The project's STARFM against Feng Gao's C program (v1.2.1), built in a temporary folder.

Skipped, with the reason, where ../shared/reference/starfm-c or a C compiler is missing. The
reference never enters the repository (tests/starfm_oracle.py builds it from ../shared).
"""

from __future__ import annotations

import numpy as np
import pytest
import starfm_oracle
from scipy.ndimage import gaussian_filter, uniform_filter

from tsstfn_crop_mapper.core.fusion.starfm import StarfmParams, starfm


@pytest.fixture(scope="module")
def gao(tmp_path_factory):
    try:
        return starfm_oracle.build(tmp_path_factory.mktemp("starfm_c"))
    except starfm_oracle.UnavailableError as exc:
        pytest.skip(str(exc))


def _inputs(seed: int, size: int = 72):
    """Fields and texture, two base dates, a target with a gradual change, clouds in the first fine image."""
    rng = np.random.default_rng(seed)
    fields = np.kron(rng.uniform(0.1, 0.85, (size // 12, size // 12)), np.ones((12, 12)))
    f0 = np.clip(fields + gaussian_filter(rng.normal(0, 0.05, (size, size)), 1), -0.95, 0.95)
    f0[:10, :14] = -0.25  # water
    f1 = np.clip(f0 + 0.08 * gaussian_filter(rng.normal(0, 1, (size, size)), 6), -0.95, 0.95)
    blur = lambda a: uniform_filter(a, 9, mode="nearest")  # noqa: E731 (the coarse sensor)
    c0, c1 = blur(f0) + 0.02, blur(f1) - 0.01
    cp = blur(f0 + 0.15 * np.linspace(0, 1, size)[None, :])
    f0[30:36, 20:31] = np.nan  # a cloud in the base image (the C program predicts it from its neighbours)
    q = lambda a: np.where(np.isfinite(a), np.rint(np.nan_to_num(a) * 1e4) / 1e4, np.nan)  # noqa: E731
    return [q(f0), q(f1)], [q(c0), q(c1)], q(cp)


@pytest.mark.parametrize("pairs", [1, 2])
@pytest.mark.parametrize("resolution, distance", [(10.0, 155), (30.0, 750)])
def test_starfm_equals_gaos_program(gao, tmp_path, pairs, resolution, distance):
    fine, coarse, target = _inputs(pairs)
    fine, coarse = fine[:pairs], coarse[:pairs]
    ref = starfm_oracle.run(gao, tmp_path, fine, coarse, target, resolution=resolution, max_search_distance=distance)
    ours = starfm(fine, coarse, target, StarfmParams(window_m=distance), pixel_size=resolution)
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(ref))  # the same pixels predicted
    assert np.isfinite(ref[30:36, 20:31]).all()  # including those under the base image's cloud
    both = np.isfinite(ours)
    rmse = float(np.sqrt(np.mean((ours[both] - ref[both]) ** 2)))
    assert rmse <= 0.002, rmse
    assert np.abs(ours[both] - ref[both]).max() <= 0.001  # in practice: the C program's rounding to 1e-4
