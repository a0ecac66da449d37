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
    h = starfm_oracle.window_size(resolution, distance) // 2  # the bottom rows, in reach of the last row
    assert np.isfinite(ref[-h:]).mean() > 0.9 and np.array_equal(np.isfinite(ours[-h:]), np.isfinite(ref[-h:]))
    assert np.nanmax(np.abs(ours[-h:] - ref[-h:])) <= 0.001


def _bottom_trap(pairs: int):
    """Every NDVI value in the bottom 20 rows (a gradient across), a uniform change: some bottom pixel
    is always similar to whatever the program's phantom row past the end holds."""
    rng = np.random.default_rng(0)
    size = 72
    f0 = np.kron(rng.uniform(0.1, 0.85, (size // 12, size // 12)), np.ones((12, 12)))
    f0[-20:, :] = np.linspace(0.1, 0.9, size)[None, :]
    f1 = np.clip(f0 + 0.05, -0.95, 0.95)
    blur = lambda a: uniform_filter(a, 9, mode="nearest")  # noqa: E731
    q = lambda a: np.rint(a * 1e4) / 1e4  # noqa: E731
    cp = q(np.clip(blur(f0) + 0.1, -0.95, 0.95))
    return [q(f0), q(f1)][:pairs], [q(blur(f0)), q(blur(f1))][:pairs], cp


@pytest.mark.parametrize("pairs", [1, 2])
def test_gaos_program_reads_a_row_past_the_end_with_an_odd_window_and_the_padded_oracle_does_not(gao, tmp_path, pairs):
    """WIN_SIZE 31 (155 m at 10 m): unpadded, the program's last 15 rows take the phantom row past the
    end of file (starfm_oracle's docstring); padded with fill rows, it equals ours on every row."""
    fine, coarse, target = _bottom_trap(pairs)
    h = starfm_oracle.window_size(10.0, 155) // 2
    assert h == 15 and starfm_oracle.fill_rows(10.0, 155) == 16
    ours = starfm(fine, coarse, target, StarfmParams(window_m=155), pixel_size=10.0)
    raw = starfm_oracle.run(gao, tmp_path / "raw", fine, coarse, target, pad_rows=False)
    padded = starfm_oracle.run(gao, tmp_path / "padded", fine, coarse, target)
    off = np.nanmax(np.abs(raw - ours), axis=1)
    assert (off[:-h] <= 0.001).all()  # above the reach of the phantom row: equal
    assert (off[-h:] > 0.005).sum() >= h // 2  # within it: wrong
    assert np.array_equal(np.isfinite(padded), np.isfinite(ours))
    assert np.nanmax(np.abs(padded - ours)) <= 0.001  # every row, the bottom ones included
    # an even window (50 at 750 m and 30 m) reads no row too many: padding changes nothing
    even_raw = starfm_oracle.run(gao, tmp_path / "even_raw", fine, coarse, target, 30.0, 750, pad_rows=False)
    even = starfm_oracle.run(gao, tmp_path / "even", fine, coarse, target, 30.0, 750)
    np.testing.assert_array_equal(even_raw, even)
