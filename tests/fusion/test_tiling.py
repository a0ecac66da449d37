import numpy as np
import pytest

from tsstfn_crop_mapper.core.errors import CancelledError
from tsstfn_crop_mapper.core.fusion.tiling import feather_weights, origins, predict_tiled, training_windows


def test_origins_cover_and_end_flush():
    assert origins(100, 32, 10) == [0, 22, 44, 66, 68]
    assert origins(20, 32, 10) == [0]
    assert origins(64, 32, 16) == [0, 16, 32]
    assert len(training_windows(384, 384, 192)) == 9  # half overlap: 0, 96, 192 per axis


def _run(field, patch=32, overlap=10, batch=3, predict=lambda b: b[:, 0]):
    h, w = field.shape
    out = np.full((h, w), -99.0, dtype=np.float32)
    seen = []

    def write(y0, rows):
        seen.append((y0, rows.shape[0]))
        out[y0 : y0 + rows.shape[0]] = rows

    predict_tiled(lambda x, y, ww, hh: field[None, y : y + hh, x : x + ww], predict, write, w, h, patch, overlap, batch)
    assert sum(n for _, n in seen) == h and [y for y, _ in seen] == sorted(y for y, _ in seen)
    return out


@pytest.mark.parametrize("shape", [(100, 77), (32, 32), (20, 50), (131, 64)])
def test_identity_round_trip_reproduces_constant_and_smooth_fields(shape):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for field in (np.full(shape, 0.42), np.sin(xx / 9.0) * np.cos(yy / 13.0)):
        np.testing.assert_allclose(_run(field.astype(np.float32)), field, atol=1e-6)


def test_feathered_blend_has_no_seams():
    # a model with a patch-dependent offset: feathering makes the transition gradual
    field = np.zeros((64, 120), dtype=np.float32)
    counter = iter(range(1000))
    out = _run(field, patch=32, overlap=10, batch=1, predict=lambda b: b[:, 0] + next(counter) % 2)
    jumps = np.abs(np.diff(out, axis=1)).max()
    assert jumps <= 1.0 / 11 + 1e-6  # spread over the 10-pixel overlap instead of a step of 1
    w = feather_weights(32, 10)
    assert w.min() > 0 and w[16, 16] == 1.0


def test_nan_predictions_stay_nan_and_cancel_stops():
    field = np.ones((40, 40), dtype=np.float32)
    field[:5, :5] = np.nan
    out = _run(field)
    assert np.isnan(out[:5, :5]).all() and np.isfinite(out[5:, 5:]).all()
    calls = []
    with pytest.raises(CancelledError):
        predict_tiled(
            lambda x, y, w, h: field[None, y : y + h, x : x + w],
            lambda b: b[:, 0],
            lambda y, r: calls.append(y),
            40,
            40,
            16,
            4,
            1,
            is_cancelled=lambda: len(calls) >= 1,
        )
