"""The benchmark: each target held out and predicted by every method, scored against its real fine image."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pytest

from conftest import make_paired_set
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.pipeline.benchmark import COLUMNS, benchmark_from_dict, load_benchmark, run_benchmark


@pytest.fixture(scope="module")
def benchmarked(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    spec = load_benchmark(make_paired_set(root / "data"))
    return spec, run_benchmark(spec, root / "out"), root / "out"


def test_benchmark_writes_the_fields_standard_table(benchmarked):
    spec, result, out = benchmarked
    with open(out / "benchmark.csv") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == COLUMNS == ("date", "method", "rmse", "mae", "bias", "r2", "ssim", "n")
    got = {(r[0], r[1]) for r in rows[1:]}
    assert got == {(d, m) for d in ("2020-05-17", "2020-06-18") for m in spec.methods} - {("2020-06-18", "starfm2")}
    assert any("2020-06-18 starfm2" in s and "No base pair follows" in s for s in result.skipped)
    by = {(r[0], r[1]): r for r in rows[1:]}
    for (_, method), r in by.items():
        assert 0 <= float(r[2]) < 0.5 and int(r[7]) > 2000, method
    # coarse_cubic is the blurred, biased coarse image: every method of fusion must beat it here
    for date in ("2020-05-17", "2020-06-18"):
        assert float(by[(date, "starfm")][2]) < float(by[(date, "coarse_cubic")][2])
    md = (out / "benchmark.md").read_text()
    assert "single-season training" in md and "assume_aligned" in md and "Not run:" in md
    assert (out / "target_20200517.png").read_bytes()[:4] == b"\x89PNG" and (out / "target_20200618.png").exists()


def test_the_held_out_target_is_not_a_base_or_training_pair(benchmarked):
    from tsstfn_crop_mapper.core.fusion.tsstfn import TsstfnParams, training_alignments
    from tsstfn_crop_mapper.core.pipeline.pairs import dated

    spec, _, _ = benchmarked
    dates = [p.date for p in dated(spec.pairs)]
    for target in spec.targets:
        base = [d for d in dates if d != target]
        from tsstfn_crop_mapper.core.fusion.base import FusionInputs
        from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
        from tsstfn_crop_mapper.core.inputs.grid import Grid

        inputs = FusionInputs(Grid("", (0, 1, 0, 0, 0, 1), 48, 48), (), tuple(AlignedPair(d, "c", "f") for d in base), ())
        labels = [base[a.reference_label[0][0]] for a in training_alignments(inputs, TsstfnParams("STR_A", 1))]
        assert target not in labels and labels == base[1:]  # each pair learnt from the one before it


def test_bad_datasets_are_one_sentence(tmp_path):
    path = make_paired_set(tmp_path)
    import json
    from pathlib import Path

    data = json.loads(Path(path).read_text())
    with pytest.raises(InputError, match="'targets': 2020-07-01 is not the date of a pair"):
        run_benchmark(benchmark_from_dict({**data, "targets": ["2020-07-01"]}, tmp_path), tmp_path / "o")
    with pytest.raises(InputError, match="Unknown dataset field\\(s\\) \\['target'\\]"):
        benchmark_from_dict({**data, "target": []}, tmp_path)
    with pytest.raises(InputError, match="unknown fusion method 'estarfm'"):
        benchmark_from_dict({**data, "methods": ["estarfm"]}, tmp_path)
    with pytest.raises(InputError, match="'pixel_size_m': rasters without a CRS \\(assume_aligned\\) carry no pixel size"):
        run_benchmark(benchmark_from_dict({k: v for k, v in data.items() if k != "pixel_size_m"}, tmp_path), tmp_path / "o")
    no_size = {k: v for k, v in data.items() if k != "pixel_size_m"}
    with pytest.raises(InputError, match="carry no pixel size.*STARFM"):  # the blend runs STARFM though none is compared
        run_benchmark(
            benchmark_from_dict({**no_size, "methods": ["tsstfn"], "train": {"starfm_blend": True}}, tmp_path), tmp_path / "o"
        )


def test_single_season_job_learns_from_its_own_season(scene, tmp_path):
    """A job without reference pairs trains on the prediction season (STR_A) and still maps crops."""
    import json
    from pathlib import Path

    from tsstfn_crop_mapper.core.fusion.modelfile import load_model
    from tsstfn_crop_mapper.core.pipeline.job import job_from_dict
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    m = json.loads((Path(scene["root"]) / "scene.json").read_text())
    data = {k: m[k] for k in ("prediction", "targets", "samples", "modis_product", "sentinel2_product")}
    data.update(reference=[], output_dir=str(tmp_path / "o"), n_base=3, compare=[], class_field="crop")
    data["train"] = {"width": 4, "patch": 32, "cl_paths": 1, "max_epochs": 1, "batch_size": 8}
    with pytest.raises(InputError, match="single-season training .* set strategy STR_A"):
        run_job(job_from_dict(data, scene["root"]))
    result = run_job(job_from_dict({**data, "strategy": "STR_A"}, scene["root"]))
    _, meta = load_model(result.model)
    assert meta["single_season"] and meta["reference_dates"] == []
    assert 0 <= result.accuracy["fused"]["kappa"] <= 1
    assert all(dt.date.fromisoformat(d) for d in meta["targets"])
    assert np.isfinite(result.fusion_metrics[dt.date(2021, 9, 5)]["tsstfn"]["rmse"])


def test_benchmark_reports_tsstfns_error_by_its_uncertainty(tmp_path):
    import json
    from pathlib import Path

    dataset = make_paired_set(tmp_path / "data")
    data = json.loads(Path(dataset).read_text())
    data.update(methods=["tsstfn"], mc_passes=4)
    (tmp_path / "data" / "u.json").write_text(json.dumps(data))
    result = run_benchmark(load_benchmark(tmp_path / "data" / "u.json"), tmp_path / "out")
    assert set(result.calibration) == {"2020-05-17", "2020-06-18"}
    cal = result.calibration["2020-05-17"]
    assert len(cal["bins"]) == 5 and sum(b["n"] for b in cal["bins"]) == cal["n"] > 2000
    md = (tmp_path / "out" / "benchmark.md").read_text()
    assert "## TSSTFN: error against its uncertainty (4 MC-dropout passes)" in md and "Spearman rank correlation" in md
    assert (tmp_path / "out" / "target_20200517" / "uncertainty_20200517.tif").exists()
    with pytest.raises(InputError, match="'mc_passes': 1 is not 0"):
        benchmark_from_dict({**data, "mc_passes": 1}, tmp_path / "data")
