import datetime as dt

import numpy as np
import pytest

from tsstfn_crop_mapper.core.errors import DateError
from tsstfn_crop_mapper.core.fusion.strategies import align, apply_recipe, interpolate_recipe, nearest_recipe

D = dt.date
REF = [D(2020, 5, 1), D(2020, 5, 11), D(2020, 5, 21), D(2020, 7, 20), D(2020, 8, 9)]
PRED = [D(2021, 5, 6), D(2021, 5, 16), D(2021, 6, 5)]
TARGET = D(2021, 7, 30)  # DOY 211; 2020 is a leap year: 20 Jul = 202, 9 Aug = 222


def _dates(recipes, dates):
    return [[(dates[i].isoformat(), round(w, 4)) for i, w in r] for r in recipes]


def test_recipes_by_hand():
    doys = np.array([10.0, 20.0, 40.0])
    assert interpolate_recipe(doys, [0, 1, 2], 25) == ((1, 0.75), (2, 0.25))
    assert interpolate_recipe(doys, [0, 1, 2], 5) == ((0, 1.0),)  # no extrapolation
    assert interpolate_recipe(doys, [0, 1, 2], 20) == ((1, 1.0),)
    assert nearest_recipe(doys, [0, 1, 2], 30) == ((1, 1.0),)  # tie -> earlier
    assert nearest_recipe(doys, [0, 1, 2], 31) == ((2, 1.0),)


def test_str_a_each_year_its_own_latest():
    a = align("STR_A", REF, PRED, TARGET, 2)
    assert _dates(a.reference_label and [a.reference_label], REF) == [[("2020-07-20", 1.0)]]  # |202-211| < |222-211|? tie 9/11
    assert _dates(a.reference, REF) == [[("2020-05-11", 1.0)], [("2020-05-21", 1.0)]]
    assert _dates(a.prediction, PRED) == [[("2021-05-16", 1.0)], [("2021-06-05", 1.0)]]


def test_str_b_interpolates_reference_to_prediction_dates():
    a = align("STR_B", REF, PRED, TARGET, 2)
    # label at DOY 211 between 20 Jul (202) and 9 Aug (222): weights 11/20 and 9/20
    assert _dates([a.reference_label], REF) == [[("2020-07-20", 0.55), ("2020-08-09", 0.45)]]
    # 16 May 2021 = DOY 136, between 11 May 2020 (132) and 21 May 2020 (142): 0.6 / 0.4
    # 5 Jun 2021 = DOY 156, after the last base image before the label (21 May, 142): nearest end
    assert _dates(a.reference, REF) == [[("2020-05-11", 0.6), ("2020-05-21", 0.4)], [("2020-05-21", 1.0)]]
    assert _dates(a.prediction, PRED) == [[("2021-05-16", 1.0)], [("2021-06-05", 1.0)]]
    assert a.positions == (136, 156)


def test_str_c_interpolates_both_years_onto_common_dates():
    a = align("STR_C", REF, PRED, TARGET, 2)
    # union of base days within both ranges [126, 142]: 126 (6 May 21), 132 (11 May 20), 136, 142 -> last 2
    assert a.positions == (136, 142)
    assert _dates(a.reference, REF) == [[("2020-05-11", 0.6), ("2020-05-21", 0.4)], [("2020-05-21", 1.0)]]
    assert _dates(a.prediction, PRED) == [[("2021-05-16", 1.0)], [("2021-05-16", 0.7), ("2021-06-05", 0.3)]]


def test_str_d_nearest_reference_image():
    a = align("STR_D", REF, PRED, TARGET, 2)
    assert _dates([a.reference_label], REF) == [[("2020-07-20", 1.0)]]
    assert _dates(a.reference, REF) == [[("2020-05-11", 1.0)], [("2020-05-21", 1.0)]]


def test_str_e_nearest_in_both_years_on_common_dates():
    a = align("STR_E", REF, PRED, TARGET, 3)
    # union of base days (no range limit): 122, 126, 132, 136, 142, 156 -> last 3
    assert a.positions == (136, 142, 156)
    assert _dates(a.reference, REF) == [[("2020-05-11", 1.0)], [("2020-05-21", 1.0)], [("2020-05-21", 1.0)]]
    assert _dates(a.prediction, PRED) == [[("2021-05-16", 1.0)], [("2021-05-16", 1.0)], [("2021-06-05", 1.0)]]


def test_reference_target_override_and_errors():
    a = align("STR_B", REF, PRED, TARGET, 2, reference_target=D(2020, 8, 9))
    assert _dates([a.reference_label], REF) == [[("2020-08-09", 1.0)]]
    with pytest.raises(
        DateError, match="4 base pairs are needed before the reference label \\(2020-07-20\\) in the reference year.*only 3"
    ):
        align("STR_A", REF, PRED, TARGET, 4)
    with pytest.raises(DateError, match="unique and sorted"):
        align("STR_A", REF, [PRED[1], PRED[0]], TARGET, 1)
    with pytest.raises(DateError, match="interpolates the reference-year label"):
        align("STR_B", REF[:3], PRED, TARGET, 1)


def test_apply_recipe_nan_rule():
    a = np.array([[1.0, np.nan, np.nan]])
    b = np.array([[3.0, 5.0, np.nan]])
    out = apply_recipe(((0, 0.25), (1, 0.75)), [a, b])
    np.testing.assert_allclose(out[0, :2], [2.5, 5.0])  # the cloudy side takes the other side
    assert np.isnan(out[0, 2])  # nothing sees the ground: NaN
    np.testing.assert_array_equal(apply_recipe(((1, 1.0),), lambda i: [a, b][i]), b.astype(np.float32))
