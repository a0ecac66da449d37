"""A saved model is used only with the settings that place its base positions as in its training."""

import datetime as dt

import pytest

from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.fusion import tsstfn
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.modelfile import save_model
from tsstfn_crop_mapper.core.fusion.strategies import MonthDay
from tsstfn_crop_mapper.core.fusion.training import build_model
from tsstfn_crop_mapper.core.fusion.tsstfn import TsstfnParams

CFG = TrainConfig(width=4, patch=32, cl_paths=1)


def _saved(tmp_path, **meta):
    full = {
        "n_base": 3,
        "strategy": "STR_B",
        "forecast": "individual",
        "reference_target": None,
        "preset": None,
        "single_season": False,
        "config": CFG.as_dict(),
        "normalisation": {"mean": 0.5, "std": 0.2},
        **meta,
    }
    return str(save_model(tmp_path / "season.tsstfn", build_model(full), full))


def _params(path, **kw):
    return TsstfnParams(**{"n_base": 3, "train": CFG, "model": path, **kw})


def test_a_model_loads_with_its_own_settings(tmp_path):
    path = _saved(tmp_path, forecast="sequential", reference_target="--08-31")
    _, meta = tsstfn.load(_params(path, forecast="sequential", reference_target=MonthDay(8, 31)), single_season=False)
    assert meta["forecast"] == "sequential"


@pytest.mark.parametrize(
    "saved, job, single_season, message",
    [
        ({}, {"forecast": "sequential"}, None,
         "Model 'season.tsstfn' was trained for the individual forecast; the job asks for the sequential forecast. "
         "Set 'forecast' to \"individual\" or train a new model \\(leave 'model' out\\): a sequential forecast adds"),
        ({"forecast": "sequential"}, {}, None,
         "trained for the sequential forecast; the job asks for the individual forecast. Set 'forecast' to \"sequential\""),
        ({"reference_target": "--08-31"}, {}, None,
         "Model 'season.tsstfn' was trained with the label at --08-31; the job asks for each target's own day. "
         "Set 'reference_target' to \"--08-31\" or train a new model"),
        ({}, {"reference_target": MonthDay(8, 31)}, None,
         "was trained with the label at each target's own day; the job asks for --08-31. "
         "Remove 'reference_target' from the job or"),
        ({}, {"reference_target": MonthDay(8, 31), "preset": "paper"}, None,
         "Remove 'reference_target' from the job \\(its preset 'paper' sets it\\)"),
        ({"reference_target": "2020-08-19"}, {"reference_target": dt.date(2020, 8, 31)}, None,
         "label at 2020-08-19; the job asks for 2020-08-31"),
        ({}, {"n_base": 4}, None, "reads 3 base pairs; the job asks for 4. Set 'n_base' to 3"),
        ({}, {"strategy": "STR_D"}, None, "was trained with strategy STR_B; the job asks for STR_D. Set 'strategy' to \"STR_B\""),
        ({"single_season": True}, {}, False,
         "was trained on one season \\(no reference pairs\\); the job asks for two seasons \\(reference pairs\\). "
         "Leave the job's 'reference' list empty or train"),
        ({}, {}, True, "trained on two seasons \\(reference pairs\\); the job asks for one season.*Give the job reference pairs"),
    ],
)  # fmt: skip
def test_a_setting_that_moves_the_base_positions_must_match(tmp_path, saved, job, single_season, message):
    path = _saved(tmp_path, **saved)
    with pytest.raises(InputError, match=message):
        tsstfn.load(_params(path, **job), single_season=single_season)


def test_a_model_saved_before_the_forecast_was_recorded_counts_as_individual(tmp_path):
    """Older model files lack ``forecast``, ``reference_target`` and ``single_season``: individual, own day, two seasons."""
    meta = {"n_base": 3, "strategy": "STR_B", "config": CFG.as_dict(), "normalisation": {"mean": 0.5, "std": 0.2}}
    old = str(save_model(tmp_path / "old.tsstfn", build_model(meta), meta))
    assert tsstfn.load(_params(old), single_season=False)[1]["n_base"] == 3
    with pytest.raises(InputError, match="'old.tsstfn' was trained for the individual forecast"):
        tsstfn.load(_params(old, forecast="sequential"))
