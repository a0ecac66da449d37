"""Numbers from users: NaN, infinity and absurd sizes are refused by the one range check, with finite upper bounds a
machine can do; a training run that never improved is a failure, not a result."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.mapping.classify import ForestParams
from tsstfn_crop_mapper.core.options import check_range, parse_bands
from tsstfn_crop_mapper.core.pipeline.job import job_from_dict

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_check_range_refuses_what_is_not_finite(value):
    with pytest.raises(InputError, match="is not a finite number"):
        check_range(value, "x", 0)
    with pytest.raises(InputError, match="is not a finite number"):
        check_range(value, "x")  # no bounds at all: still refused


@pytest.mark.parametrize(
    "field, value",
    [("width", 10**6), ("patch", 10**6 * 16), ("batch_size", 10**7), ("max_epochs", 10**9), ("patience", 10**9),
     ("cl_paths", 10**4), ("seed", -1), ("seed", 2**32), ("learning_rate", INF), ("learning_rate", NAN),
     ("learning_rate", 1e6), ("dropout", NAN), ("samples_per_epoch", 10**12), ("validation_fraction", NAN),
     ("lstm_rows", (4, 2, 10**6))],
)  # fmt: skip
def test_train_options_have_finite_bounds(field, value):
    with pytest.raises(InputError, match=f"'train.{field}'"):
        TrainConfig(**{field: value})


@pytest.mark.parametrize(
    "field, value",
    [("n_estimators", 10**8), ("max_depth", 10**9), ("random_state", -1), ("random_state", 2**32), ("n_jobs", -5)],
)
def test_forest_options_have_finite_bounds(field, value):
    with pytest.raises(InputError, match=f"'forest.{field}'"):
        ForestParams(**{field: value})


@pytest.mark.parametrize(
    "key, value",
    [("test_fraction", NAN), ("mmu_ha", INF), ("mmu_ha", 1e12), ("mc_passes", 10**9), ("block_m", NAN),
     ("block_m", INF), ("n_base", 10**6), ("kfold", 10**6), ("pixel_size_m", INF), ("aoi", [0, 0, INF, 1]),
     ("aoi", [NAN, 0, 1, 1])],
)  # fmt: skip
def test_job_numbers_are_finite_and_bounded(scene, tmp_path, key, value):
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.pipeline.job import job_to_dict

    d = job_to_dict(scene_job(scene["root"], tmp_path / "out"))
    d[key] = value
    with pytest.raises(InputError, match=f"'{key}|'aoi"):
        job_from_dict(json.loads(json.dumps(d)))


def test_nan_in_a_json_job_file_is_refused_on_the_command_line(scene, tmp_path, capsys):
    from tsstfn_crop_mapper.core import cli
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.pipeline.job import job_to_dict

    d = job_to_dict(scene_job(scene["root"], tmp_path / "out"))
    text = json.dumps(d).replace('"test_fraction": 0.3', '"test_fraction": NaN')
    (tmp_path / "job.json").write_text(text)
    assert cli.main(["run", str(tmp_path / "job.json")]) == 2
    assert "'test_fraction': nan is not a finite number" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["3-1", "0", "0-4", "-2", "1-100000", "a-b", ""])
def test_band_ranges_go_up_from_one(text):
    with pytest.raises(InputError, match="'--bands'"):
        parse_bands(text, "--bands")


def test_training_that_never_improved_is_a_failure(monkeypatch):
    """Every validation NaN (an exploding network): no model is returned as if trained."""
    from tsstfn_crop_mapper.core.fusion import training
    from tsstfn_crop_mapper.core.fusion.training import TrainingStack, train

    rng = np.random.default_rng(0)
    channels = [np.full((64, 64), 0.2 + 0.1 * t, np.float32) + rng.uniform(0, 0.1, (64, 64)).astype(np.float32)
                for t in range(5)]  # fmt: skip
    stack = TrainingStack(np.stack(channels), channels[-1] + 0.1)
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: math.nan)
    cfg = TrainConfig(width=4, patch=32, batch_size=4, max_epochs=3, patience=2, cl_paths=1, device="cpu")
    with pytest.raises(InputError, match="Training never improved.*train.learning_rate"):
        train([stack], cfg)


@pytest.mark.parametrize(
    "change, message",
    [(("normalisation", {"mean": 0.3, "std": 0.0}), "normalisation std 0.0 is not positive"),
     (("normalisation", {"mean": "0.3", "std": 0.1}), "normalisation mean '0.3' is not a finite number"),
     (("normalisation", ["mean", "std"]), r"normalisation \['mean', 'std'\] is not a mapping"),
     (("n_base", "2"), "n_base '2' is not a number of base pairs"),
     (("config", {**TrainConfig(width=4, patch=32, cl_paths=1).as_dict(), "width": "4"}), "its training options are not valid")],
)  # fmt: skip
def test_model_metadata_with_a_recomputed_hash_is_checked_at_load(tmp_path, change, message):
    """A file edited with its hash recomputed is consistent, not sound: its metadata's types and ranges are checked."""
    import io

    import torch

    from tsstfn_crop_mapper.core.errors import ModelFileError
    from tsstfn_crop_mapper.core.fusion import modelfile
    from tsstfn_crop_mapper.core.fusion.training import build_model

    cfg = TrainConfig(width=4, patch=32, cl_paths=1, device="cpu")
    meta = {"n_base": 2, "config": cfg.as_dict(), "normalisation": {"mean": 0.3, "std": 0.2}, "strategy": "STR_B"}
    path = modelfile.save_model(tmp_path / "m.tsstfn", build_model(meta), meta)
    payload = torch.load(io.BytesIO(path.read_bytes()), weights_only=True)
    key, value = change
    payload["meta"] = {**payload["meta"], key: value}
    payload["sha256"] = modelfile._content_hash(payload["state_dict"], payload["meta"])
    torch.save(payload, tmp_path / "edited.tsstfn")
    with pytest.raises(ModelFileError, match=f"Model 'edited.tsstfn': {message}"):
        modelfile.load_model(tmp_path / "edited.tsstfn", "cpu")


def test_the_command_line_gives_its_signal_handlers_back_after_an_error(tmp_path):
    """An embedding process (or the next test) keeps its own Ctrl+C after a failed command."""
    import signal

    from tsstfn_crop_mapper.core import cli

    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["run", str(tmp_path / "missing.json")]) == 2
    assert signal.getsignal(signal.SIGINT) is before
