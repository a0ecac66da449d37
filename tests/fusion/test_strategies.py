import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tsstfn_crop_mapper.core.errors import DateError
from tsstfn_crop_mapper.core.fusion.strategies import (
    STRATEGIES,
    MonthDay,
    align,
    apply_recipe,
    describe,
    interpolate_recipe,
    nearest_recipe,
    reference_offsets,
)

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


# The paper's Table 1 and its preset ------------------------------------------------------------

TABLE1_REF = [
    D(2020, m, d) for m, d in ((4, 18), (4, 28), (5, 6), (5, 8), (5, 18), (5, 28), (7, 7), (7, 12), (7, 15), (8, 19), (9, 10))
]
TABLE1_PRED = [D(2021, m, d) for m, d in ((4, 6), (4, 8), (4, 18), (4, 21), (5, 16), (5, 21), (6, 2), (6, 12), (6, 22), (6, 25))]
TABLE1_TARGETS = [D(2021, 7, 30), D(2021, 8, 31), D(2021, 9, 5)]


@pytest.fixture(scope="module")
def paper_job(tmp_path_factory):
    """A job with ``"preset": "paper"`` on the paper's Table 1 dates, through the job parser (files need not exist)."""
    from tsstfn_crop_mapper.core.pipeline.job import job_from_dict

    def pair(d, fine=True):
        return {"date": d.isoformat(), "coarse": f"m_{d:%Y%m%d}.tif", **({"fine": f"s_{d:%Y%m%d}.tif"} if fine else {})}

    data = {
        "preset": "paper",
        "reference": [pair(d) for d in TABLE1_REF],
        "prediction": [pair(d) for d in TABLE1_PRED],
        "targets": [pair(d, fine=False) for d in TABLE1_TARGETS],
        "output_dir": "out",
    }
    return job_from_dict(data, tmp_path_factory.mktemp("paper_job"))


def _paper_alignments(job, target):
    params = job.tsstfn_params()
    ref, pred = [p.date for p in job.reference], [p.date for p in job.prediction]
    return {s: align(s, ref, pred, target, params.n_base, params.reference_target) for s in STRATEGIES}


def _table1_inputs():
    """Fusion inputs on the paper's Table 1 dates (file names only: for alignments, not for reading)."""
    from tsstfn_crop_mapper.core.fusion.base import FusionInputs
    from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    return FusionInputs(
        Grid("", (0.0, 10.0, 0.0, 0.0, 0.0, -10.0), 8, 8),
        tuple(AlignedPair(d, "c.tif", "f.tif") for d in TABLE1_REF),
        tuple(AlignedPair(d, "c.tif", "f.tif") for d in TABLE1_PRED),
        tuple(AlignedPair(d, "c.tif") for d in TABLE1_TARGETS),
    )


def _names(recipes, dates):
    """Each recipe as ``Aug19`` or ``Aug19*0.50+Sep10*0.50``."""
    return ["+".join(f"{dates[i]:%b%d}" + (f"*{w:.2f}" if len(r) > 1 else "") for i, w in r) for r in recipes]


def test_the_paper_preset_labels_every_target_at_day_243_not_the_leap_years_244(paper_job):
    assert paper_job.reference_target == MonthDay(8, 31) and paper_job.n_base == 7
    assert MonthDay(8, 31).doy(2021) == 243 and MonthDay(8, 31).doy(2020) == 244
    assert MonthDay(2, 29).doy(2021) == 60  # 29 February of a common year: 1 March
    for target in TABLE1_TARGETS:
        for strategy, a in _paper_alignments(paper_job, target).items():
            assert a.reference_label_doy == 243, (strategy, target)
    # a full date is its own day of year: 31 August 2020 is day 244, nearer to 10 September
    a = align("STR_D", TABLE1_REF, TABLE1_PRED, TABLE1_TARGETS[1], 7, D(2020, 8, 31))
    assert _names([a.reference_label], TABLE1_REF) == ["Sep10"]


@pytest.mark.parametrize("target", TABLE1_TARGETS, ids=str)
def test_every_statement_of_the_strategies_page_holds_under_the_paper_preset(paper_job, target):
    """docs/strategies.md's rules table and its checks against the paper, for each of the paper's targets."""
    a = _paper_alignments(paper_job, target)
    ref, pred = TABLE1_REF, TABLE1_PRED
    doy_ref = {i: int(d.strftime("%j")) for i, d in enumerate(ref)}
    doy_pred = [int(d.strftime("%j")) for d in pred]
    latest7 = list(range(3, 10))  # 2021's seven latest base dates, 21 April .. 25 June
    # labels: STR_B/C interpolate 19 August and 10 September half and half; STR_A/D/E take 19 August
    for s in ("STR_B", "STR_C"):
        assert _names([a[s].reference_label], ref) == ["Aug19*0.50+Sep10*0.50"], s
    for s in ("STR_A", "STR_D", "STR_E"):
        assert _names([a[s].reference_label], ref) == ["Aug19"], s
    # STR_A: each year its own 7 latest base images; the 2020 ones end before the label (15 July)
    assert _names(a["STR_A"].reference, ref) == ["May06", "May08", "May18", "May28", "Jul07", "Jul12", "Jul15"]
    assert _names(a["STR_A"].prediction, pred) == [f"{pred[i]:%b%d}" for i in latest7]
    # STR_B: 2020 interpolated at 2021's dates; positions are 2021's latest dates, starting 21 April
    assert a["STR_B"].positions == tuple(doy_pred[i] for i in latest7) and pred[latest7[0]] == D(2021, 4, 21)
    for recipe, day in zip(a["STR_B"].reference, a["STR_B"].positions):
        assert len(recipe) == 2 and sum(w * doy_ref[i] for i, w in recipe) == pytest.approx(day)  # bracketed
    assert _names(a["STR_B"].reference[:1], ref) == ["Apr18*0.80+Apr28*0.20"]
    # STR_D: the nearest 2020 image to each 2021 date, on 2021's dates
    assert _names(a["STR_D"].reference, ref) == ["Apr18", "May18", "May18", "May28", "May28", "Jul07", "Jul07"]
    assert a["STR_D"].positions == a["STR_B"].positions
    # STR_C: common days from the union, within the span both years cover: from 18 May (day 139)
    assert a["STR_C"].positions == (139, 141, 149, 153, 163, 173, 176)
    for side, days in ((a["STR_C"].reference, doy_ref), (a["STR_C"].prediction, dict(enumerate(doy_pred)))):
        for recipe, day in zip(side, a["STR_C"].positions):
            assert sum(w * days[i] for i, w in recipe) == pytest.approx(day)  # interpolated at the common day
    # STR_E: the union's latest days, unrestricted: 25 June 2021 faces 7-15 July 2020 at the end
    assert a["STR_E"].positions == (153, 163, 173, 176, 189, 194, 197)
    assert _names(a["STR_E"].reference, ref) == ["May28", "May28", "Jul07", "Jul07", "Jul07", "Jul12", "Jul15"]
    assert _names(a["STR_E"].prediction, pred) == ["Jun02", "Jun12", "Jun22", "Jun25", "Jun25", "Jun25", "Jun25"]
    # "STR_A and STR_E corresponded to the end of June 2021 and early July 2020"
    for s in ("STR_A", "STR_E"):
        assert _names(a[s].prediction[-1:], pred) == ["Jun25"] and ref[a[s].reference[-1][0][0]].month == 7
    # "STR_C started as early as May, while STR_B started as early as April"
    assert min(i for i, _ in a["STR_C"].reference[0]) == 4 and pred[a["STR_B"].prediction[0][0][0]].month == 4
    # reference base images precede every label image
    for s, al in a.items():
        first_label = min(i for i, _ in al.reference_label)
        assert all(i < first_label for r in al.reference for i, _ in r), s


def test_the_pages_alignments_are_the_paper_presets(paper_job):
    """The block of docs/strategies.md is what ``describe`` prints for the paper's dates under the preset."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "strategies.md").read_text()
    block = page.split("## Checks against the paper's statements", 1)[1].split("```\n", 2)[1]
    for target in TABLE1_TARGETS:
        a = _paper_alignments(paper_job, target)
        printed = "\n".join(describe(a[s], TABLE1_REF, TABLE1_PRED) for s in STRATEGIES)
        assert printed + "\n" == block, target


def test_the_sequential_forecast_pairs_fused_dates_with_distant_reference_images(paper_job, caplog):
    """Measured, not fixed (docs/strategies.md): on the paper's dates the reference year has no base image
    after 15 July (19 August is the label), so a fused 30 July meets 15 July (-14 days) and a fused 31 August
    meets it too (-46); the individual forecast of STR_B is aligned to the day. Training says so."""
    import logging

    from tsstfn_crop_mapper.core.fusion.tsstfn import Forecast, fused_offsets, training_alignments

    params = paper_job.tsstfn_params()
    individual = _paper_alignments(paper_job, TABLE1_TARGETS[1])["STR_B"]
    assert reference_offsets(individual, TABLE1_REF, TABLE1_PRED) == (0.0,) * 7
    expected = {"STR_B": [(-14.0, TABLE1_TARGETS[0])], "STR_D": [(-14.0, TABLE1_TARGETS[0])], "STR_C": []}
    for strategy, offsets in expected.items():
        dates = sorted(TABLE1_PRED + TABLE1_TARGETS[:1])
        a = align(strategy, TABLE1_REF, dates, TABLE1_TARGETS[1], 7, params.reference_target)
        assert fused_offsets(a, TABLE1_REF, dates, TABLE1_TARGETS[:1]) == offsets, strategy
    dates = sorted(TABLE1_PRED + TABLE1_TARGETS[:2])
    a = align("STR_B", TABLE1_REF, dates, TABLE1_TARGETS[2], 7, params.reference_target)
    assert reference_offsets(a, TABLE1_REF, dates)[-2:] == (-14.0, -46.0)
    assert _names(a.reference[-2:], TABLE1_REF) == ["Jul15", "Jul15"]

    inputs = _table1_inputs()
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        training_alignments(inputs, params)
    assert not caplog.records  # individual: nothing to say
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        training_alignments(inputs, replace(params, forecast=Forecast.SEQUENTIAL))
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "STR_B, sequential forecast of 2021-08-31: the fused 2021-07-30 is paired with reference-year images -14 days away",
        "STR_B, sequential forecast of 2021-09-05: the fused 2021-07-30 is paired with reference-year images -14 days away",
        "STR_B, sequential forecast of 2021-09-05: the fused 2021-08-31 is paired with reference-year images -46 days away",
    ]


def test_extra_labels_learn_each_later_reference_pair_from_the_same_positions():
    """``train.extra_labels`` (two seasons): each reference pair after the base positions is a label of its own,
    read from the first target's base positions; one whose base images are worse aligned than the targets' is not."""
    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.fusion.tsstfn import Forecast, TsstfnParams, training_alignments

    inputs = _table1_inputs()
    plain = TsstfnParams("STR_B", 7)
    extra = replace(plain, train=TrainConfig(extra_labels=True))
    own = training_alignments(inputs, plain)
    more = training_alignments(inputs, extra)
    assert more[-len(own) :] == own  # the targets' own stacks last (a too small scene validates on the last), unchanged
    added = more[: -len(own)]
    # 7 July is left out: its base images would end at 28 May, 14-27 days from the June positions, where
    # the targets' own are interpolated to the day (offset 0)
    assert [_names([a.reference_label], TABLE1_REF) for a in added] == [["Jul12"], ["Jul15"], ["Aug19"], ["Sep10"]]
    for a in added:
        assert a.positions == own[0].positions and a.prediction == own[0].prediction
        assert reference_offsets(a, TABLE1_REF, TABLE1_PRED) == (0.0,) * 7
    # the sequential forecast's own stacks already pair dates 46 days apart: 7 July is then no worse
    sequential = training_alignments(inputs, replace(extra, forecast=Forecast.SEQUENTIAL))
    added = [_names([a.reference_label], TABLE1_REF)[0] for a in sequential[:-3]]
    assert added == ["Jul07", "Jul12", "Jul15", "Aug19", "Sep10"]
    # STR_C and STR_E draw their positions from the days before the label: a label whose positions are not the
    # targets' is left out (28 May or 7 July would be learnt from days around and inside the targets' base window)
    for strategy in ("STR_A", "STR_C", "STR_D", "STR_E"):
        own = training_alignments(inputs, replace(plain, strategy=strategy))
        more = training_alignments(inputs, replace(extra, strategy=strategy))
        assert more[-len(own) :] == own, strategy
        for a in more[: -len(own)]:
            assert a.positions == own[0].positions and TABLE1_REF[a.reference_label[0][0]].timetuple().tm_yday > a.positions[-1]
    # a fixed label day (the paper's 31 August) has no other label to add
    assert training_alignments(inputs, replace(extra, reference_target=MonthDay(8, 31))) == training_alignments(
        inputs, replace(plain, reference_target=MonthDay(8, 31))
    )
