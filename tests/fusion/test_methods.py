"""The registry of fusion methods: its entries, and the recipe of docs/extending.md (one module plus one entry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.files import read_array, write_array
from tsstfn_crop_mapper.core.fusion import methods
from tsstfn_crop_mapper.core.fusion.base import FusionInputs, FusionMethod, FusionOutput, FusionRequest, NumberParam
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
from tsstfn_crop_mapper.core.pipeline.job import load_job, save_job
from tsstfn_crop_mapper.core.pipeline.run import run_job

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=1, patience=1, cl_paths=1)


def test_the_registry_holds_the_methods_reports_name():
    assert list(methods.METHODS) == ["tsstfn", "starfm", "starfm2", "coarse_cubic", "latest_fine"]
    assert [m.name for m in methods.METHODS.values() if m.learns] == ["tsstfn"]
    with pytest.raises(
        InputError, match="unknown fusion method 'estarfm'; use tsstfn, starfm, starfm2, coarse_cubic, latest_fine"
    ):
        methods.get_method("estarfm")
    with pytest.raises(ValueError, match="already registered"):
        methods.register(methods.METHODS["starfm"])


def test_targets_must_not_carry_their_truth(tmp_path):
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    grid = Grid("", (0, 1, 0, 0, 0, -1), 2, 2)
    with pytest.raises(ValueError, match="carry their fine image"):
        FusionInputs(grid, (), (), (AlignedPair(dt.date(2021, 7, 30), "c.tif", "truth.tif"),))


# --- the recipe: a module ... -------------------------------------------------------------


@dataclass(frozen=True)
class OffsetParams:
    """Parameters of the toy method."""

    gain: float = 1.0


def offset_fuse(request: FusionRequest) -> FusionOutput:
    """Target coarse NDVI plus the latest base pair's mean fine-minus-coarse offset (times ``gain``)."""
    out = {}
    for t in request.inputs.targets:
        base = request.inputs.latest_base_before(t.date)
        offset = float(np.nanmean(read_array(base.fine) - read_array(base.coarse)))
        out[t.date] = write_array(
            request.path_for(t.date), read_array(t.coarse) + request.params.gain * offset, request.inputs.grid
        )
    return FusionOutput(out)


# --- ... plus one entry --------------------------------------------------------------------


OFFSET = FusionMethod(
    "offset", "coarse + offset", "a toy method", OffsetParams, offset_fuse, "offset_ndvi",
    needs_pixel_size=True,  # say it measures in metres: rasters without a CRS then need pixel_size_m
    seconds_per_target_mpx=100.0,  # its cost, for the estimate
    dialog_params=(NumberParam("gain", "Offset gain", 0.0, 2.0, "", "How much of the offset is added."),),
)  # fmt: skip


@pytest.fixture()
def offset_method():
    with methods.METHODS.registered(OFFSET) as method:
        yield method
    assert "offset" not in methods.METHODS


def test_a_new_method_is_one_module_plus_one_entry(offset_method, scene, tmp_path):
    job = scene_job(
        scene["root"],
        tmp_path / "run",
        train=TINY,
        n_base=5,
        compare=["offset", "coarse_cubic"],
        method_params={"offset": {"gain": 0.5}},
    )
    # job files carry the new method and its parameters
    assert load_job(save_job(job, tmp_path / "job.json")) == job
    result = run_job(job)
    assert set(result.compared) == {"offset"}
    first = min(result.compared["offset"])
    assert result.compared["offset"][first] == Path(job.output_dir) / f"offset_ndvi_{first:%Y%m%d}.tif"
    assert gdal.Open(str(result.compared["offset"][first])).RasterXSize == 96
    for scores in result.fusion_metrics.values():
        assert list(scores) == ["tsstfn", "offset", "coarse_cubic"]
    assert "| coarse + offset |" in result.report.read_text()
    with pytest.raises(InputError, match="'method_params.offset' has unknown key"):
        scene_job(scene["root"], tmp_path / "x", compare=["offset"], method_params={"offset": {"gian": 2}})


def test_a_new_method_is_one_entry_for_the_benchmark_the_estimate_and_the_checks(offset_method, scene, tmp_path):
    """The entry's properties reach the job's checks, the benchmark's default methods and the estimate."""
    import json

    from conftest import make_paired_set
    from tsstfn_crop_mapper.core.pipeline.benchmark import benchmark_from_dict, run_benchmark
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_run
    from tsstfn_crop_mapper.core.pipeline.job import job_from_dict, job_to_dict, validate_job

    # job files: compare and method_params
    job = scene_job(scene["root"], tmp_path / "run", compare=["offset"], method_params={"offset": {"gain": 0.5}})
    again = job_from_dict(json.loads(json.dumps(job_to_dict(job))), scene["root"])
    assert again.compare == ("offset",) and again.params_of("offset") == OffsetParams(0.5)
    # needs_pixel_size: rasters without a CRS need pixel_size_m for it (and only for a method that says so)
    with pytest.raises(InputError, match="'pixel_size_m'.*coarse \\+ offset"):
        validate_job(replace(job, assume_aligned=True))
    validate_job(replace(job, assume_aligned=True, pixel_size_m=10.0))
    validate_job(replace(job, assume_aligned=True, compare=("coarse_cubic",)))
    # the estimate counts its cost per target and megapixel
    args = (1000, 1000, 10, 3, 3, 4, 32, 1)
    assert estimate_run(*args, compare=["offset"]).minutes == pytest.approx(estimate_run(*args).minutes + 3 * 100.0 / 60)
    # the benchmark scores every registered method by default, with its method_params
    data = json.loads(Path(make_paired_set(tmp_path / "paired")).read_text())
    data["method_params"]["offset"] = {"gain": 0.5}
    spec = benchmark_from_dict(data, tmp_path / "paired")
    assert spec.methods == tuple(methods.METHODS) and "offset" in spec.methods
    result = run_benchmark(spec, tmp_path / "bench")
    rows = [r for r in result.rows if r["method"] == "offset"]
    cubic = {r["date"]: r for r in result.rows if r["method"] == "coarse_cubic"}
    assert len(rows) == 2 and all(np.isfinite(r["rmse"]) for r in rows)
    assert all(r["rmse"] != cubic[r["date"]]["rmse"] for r in rows)  # its own prediction


def _dated_inputs(scene):
    """FusionInputs with the scene's dates (no pixel is read to align dates)."""
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    d = dt.date.fromisoformat
    grid = Grid("", (0, 10, 0, 0, 0, -10), 96, 96)
    ref = tuple(AlignedPair(d(e["date"]), "c", "f") for e in scene["reference"])
    base = tuple(AlignedPair(d(e["date"]), "c", "f") for e in scene["prediction"])
    targets = tuple(AlignedPair(d(e["date"]), "c") for e in scene["targets"])
    return FusionInputs(grid, ref, base, targets)


@pytest.mark.parametrize("strategy", ["STR_B", "STR_C", "STR_D", "STR_E"])
def test_sequential_training_uses_the_positions_prediction_uses(scene, strategy):
    """The model of a sequential forecast is trained for the base positions it is applied to."""
    from tsstfn_crop_mapper.core.fusion.strategies import align
    from tsstfn_crop_mapper.core.fusion.tsstfn import Forecast, TsstfnParams, training_alignments

    inputs = _dated_inputs(scene)
    individual = training_alignments(inputs, TsstfnParams(strategy=strategy, n_base=5))
    sequential = training_alignments(inputs, TsstfnParams(strategy=strategy, n_base=5, forecast=Forecast.SEQUENTIAL))
    ref_dates = [p.date for p in inputs.reference]
    base_dates = [p.date for p in inputs.base]
    targets = [t.date for t in inputs.targets]
    assert individual[0] == sequential[0]  # the first target has no earlier prediction
    for k in (1, 2):
        # what prediction aligns: the base pairs plus the fused earlier targets
        applied = align(strategy, ref_dates, sorted(base_dates + targets[:k]), targets[k], 5)
        assert sequential[k] == applied
        assert sequential[k].positions != individual[k].positions  # the base positions moved
        if strategy in ("STR_B", "STR_D"):  # this year's dates are the positions: the last is the earlier target
            assert max(sequential[k].positions) == targets[k - 1].timetuple().tm_yday
