"""The run estimate: a FLOP guess without a measurement, a range from a measured speed with one."""

import pytest

from tsstfn_crop_mapper.core.pipeline.estimate import Speed, estimate_run, measure_speed


def test_measured_speed_gives_a_range_over_the_epochs():
    speed = measure_speed(4, 32, 3, "cpu", batch_size=2, cl_paths=1, steps=1)
    # no comparison of the two times: on a loaded machine a prediction can take longer than a step (timings: bench/)
    assert speed.train_patch_s > 0 and speed.predict_patch_s > 0 and (speed.width, speed.patch) == (4, 32)
    guess = estimate_run(256, 256, 10, 2, 3, 4, 32, 100)
    assert not guess.measured and "a guess" in guess.time_text()
    est = estimate_run(256, 256, 10, 2, 3, 4, 32, 100, speed=speed, patience=12)
    low, high = est.minutes_range
    assert est.measured and 0 < low < high and "measured on this device" in est.time_text()
    slower = Speed(10 * speed.train_patch_s, 10 * speed.predict_patch_s, "cpu", 4, 32)
    assert estimate_run(256, 256, 10, 2, 3, 4, 32, 100, speed=slower).minutes_range[1] > 5 * high
    other_size = estimate_run(256, 256, 10, 2, 3, 8, 32, 100, speed=speed)  # measured for width 4, not 8
    assert not other_size.measured


def test_whole_tile_estimate_draws_patches_per_epoch_and_counts_starfm():
    from tsstfn_crop_mapper.core.fusion.tiling import training_windows

    speed = Speed(0.05, 0.015, "cpu", 8, 64)
    args = (10980, 10980, 21, 3, 7, 8, 64, 1, "cpu", speed)
    every = estimate_run(*args, patience=1)
    sampled = estimate_run(*args, patience=1, samples_per_epoch=4000)
    patches = 3 * len(training_windows(10980, 10980, 64))  # about 350k over three targets
    saved_minutes = 0.9 * (patches - 4000 / 0.9) * speed.train_patch_s / 60  # training time no longer spent
    assert every.minutes - sampled.minutes == pytest.approx(saved_minutes, rel=0.15)  # validation shrinks too
    compared = estimate_run(*args, patience=1, samples_per_epoch=4000, compare=["starfm", "coarse_cubic"])
    assert compared.minutes > sampled.minutes + 30  # STARFM's entry: 7 s per target and megapixel; the baseline: none
    assert every.memory_gb == sampled.memory_gb  # patches are read lazily: drawing fewer saves time, not memory
    # the peaks measured in docs/benchmarks.md (GNU time), 768 px to a whole tile: within 0.8-1.0x of the estimate
    for size, peak in ((768, 0.63), (1536, 0.68), (3072, 0.76), (10980, 1.45)):
        assert 0.8 <= peak / estimate_run(size, size, 21, 3, 7, 8, 64, 1, "cpu", speed).memory_gb <= 1.0, size
    assert estimate_run(768, 20000, 21, 3, 7, 8, 64, 1, "cpu", speed).memory_gb < 1.0  # tall scenes do not need more
    assert sampled.disk_gb > 40  # the aligned rasters and three training stacks of 16 channels


def test_a_job_mapping_is_estimated_by_the_runs_own_rules():
    """Single-season stacks, MC-dropout passes, the forest only with samples; a benchmark adds its held-out targets."""
    from types import SimpleNamespace

    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.fusion.tiling import origins
    from tsstfn_crop_mapper.core.pipeline.estimate import (
        CLASSIFY_SECONDS_PER_MPX,
        STARTUP_SECONDS,
        estimate_benchmark,
        estimate_job,
        training_stack_count,
        uncertainty_pass_count,
    )

    speed = Speed(0.2, 0.05, "cpu", 4, 32)
    train = {"width": 4, "patch": 32, "max_epochs": 2, "patience": 12}
    data = {"reference": [], "prediction": [{}] * 2, "targets": [{}] * 14, "n_base": 1, "uncertainty": "off",
            "compare": [], "train": train}  # fmt: skip
    one_season = estimate_job(data, 45, 44, speed)
    assert training_stack_count(0, 2, 14, 1) == 1 and training_stack_count(0, 5, 2, 1, both_directions=True) == 8
    assert training_stack_count(2, 2, 14, 1) == 14  # with a reference year: one stack per target
    assert training_stack_count(5, 2, 3, 1, extra_labels=True) == 8  # and at most one more per reference pair
    assert estimate_job({**data, "reference": [{}] * 2}, 45, 44, speed).minutes > one_season.minutes
    n_pred = 14 * len(origins(45, 32, 10)) * len(origins(44, 32, 10))
    passes = estimate_job({**data, "uncertainty": "on", "mc_passes": 8}, 45, 44, speed)
    assert passes.minutes - one_season.minutes == pytest.approx(8 * n_pred * speed.predict_patch_s / 60)
    saved = estimate_job({**data, "model": "saved.tsstfn"}, 45, 44, speed)
    assert saved.minutes < one_season.minutes and saved.minutes_range[0] == saved.minutes_range[1]  # no training
    mapped = estimate_job({**data, "samples": "samples.gpkg"}, 45, 44, speed)
    assert mapped.minutes - one_season.minutes == pytest.approx(CLASSIFY_SECONDS_PER_MPX * 0.05 / 60)  # the floor: 0.05 Mpx
    assert uncertainty_pass_count("auto", 8, "cuda:0", 45, 44, 14, 4, 32) == 8
    assert uncertainty_pass_count("auto", 8, "cpu", 10980, 10980, 3, 64, 192) == 0  # hours on a CPU: off
    assert uncertainty_pass_count("off", 8, "cuda", 45, 44, 14, 4, 32) == 0
    spec = SimpleNamespace(methods=("tsstfn", "starfm"), train=TrainConfig(width=4, patch=32, max_epochs=2), n_base=1,
                           pairs=(1, 2, 3), targets=(1, 2), mc_passes=0)  # fmt: skip
    both = estimate_benchmark(spec, 45, 44, speed)
    one = estimate_benchmark(SimpleNamespace(**{**vars(spec), "targets": (1,)}), 45, 44, speed)
    assert both.measured and both.minutes == pytest.approx(2 * one.minutes - STARTUP_SECONDS / 60)  # one process


def test_auto_is_resolved_as_the_run_resolves_it(monkeypatch):
    """'auto' is the GPU on a GPU machine, for the estimate's MC-dropout passes as for the run's (one function)."""
    from types import SimpleNamespace

    from tsstfn_crop_mapper.core.fusion.tsstfn import Uncertainty
    from tsstfn_crop_mapper.core.pipeline import estimate
    from tsstfn_crop_mapper.core.pipeline.estimate import device_kind, estimate_job
    from tsstfn_crop_mapper.core.pipeline.run import uncertainty_passes

    assert device_kind("cpu") == "cpu" and device_kind("cuda:1") == "cuda:1"
    torch = pytest.importorskip("torch")
    assert device_kind("auto") == ("cuda" if torch.cuda.is_available() else "cpu")  # resolve_device's own rule here

    speed = Speed(0.2, 0.05, "cpu", 8, 64)
    data = {"reference": [], "prediction": [{}] * 2, "targets": [{}] * 3, "n_base": 1, "uncertainty": "auto", "mc_passes": 8,
            "compare": [], "train": {"width": 8, "patch": 64, "max_epochs": 2, "patience": 12}}  # fmt: skip
    size = (4000, 4000)  # a CPU needs far more than AUTO_UNCERTAINTY_MINUTES for 8 passes: auto is off there
    job = SimpleNamespace(uncertainty=Uncertainty.AUTO, mc_passes=8, targets=[None] * 3, reference=[],
                          train=SimpleNamespace(device="auto", width=8, patch=64, as_dict=dict))  # fmt: skip
    grid = SimpleNamespace(width=size[0], height=size[1])

    def times(e):
        return e.minutes, e.minutes_range

    on = {**data, "uncertainty": "on"}
    for machine, passes in (("cpu", 0), ("cuda", 8)):  # the rule as a machine without and with a GPU resolves 'auto'
        monkeypatch.setattr(estimate, "device_kind", lambda d, m=machine: m if d == "auto" else d)
        assert uncertainty_passes(job, grid) == passes  # the run
        auto = estimate_job({**data, "train": {**data["train"], "device": "auto"}}, *size, speed)
        named = estimate_job({**(on if passes else data), "train": {**data["train"], "device": machine}}, *size, speed)
        assert times(auto) == times(named), machine  # the estimate: the same passes as the run
    monkeypatch.undo()
    off = estimate_job({**data, "train": {**data["train"], "device": "cpu"}}, *size, speed)
    gpu = estimate_job({**on, "train": {**data["train"], "device": "cuda"}}, *size, speed)
    assert times(gpu) != times(off)  # the passes count: the check above can tell the two machines apart


def test_auto_without_an_nvidia_gpu_imports_no_torch(tmp_path):
    """Without nvidia-smi (no NVIDIA GPU) 'auto' is the CPU, and neither the rule nor the estimate imports PyTorch."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tsstfn_crop_mapper.core.pipeline.estimate import device_kind, estimate_job\n"
        "assert device_kind('auto') == 'cpu'\n"
        "data = {'prediction': [{}] * 2, 'targets': [{}], 'n_base': 1, 'uncertainty': 'auto', 'train': {'device': 'auto'}}\n"
        "estimate_job(data, 100, 100)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {**os.environ, "PATH": str(tmp_path)}  # no nvidia-smi on it, even on a GPU machine
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_test_time_augmentation_and_two_sided_prediction_count_as_prediction_passes():
    from tsstfn_crop_mapper.core.pipeline.estimate import prediction_factor

    assert prediction_factor({}, single_season=True) == 1.0
    assert prediction_factor({"tta": True}, single_season=False) == 8.0
    assert prediction_factor({"both_directions": True}, single_season=True) == 2.0
    assert prediction_factor({"both_directions": True}, single_season=False) == 1.0  # two seasons: one side
    one = estimate_run(2048, 2048, 8, 3, 1, 8, 32, 30, "cpu")
    eight = estimate_run(2048, 2048, 8, 3, 1, 8, 32, 30, "cpu", prediction_factor=8.0)
    assert eight.minutes > one.minutes and eight.memory_gb == one.memory_gb  # passes one after the other
    two = estimate_run(2048, 2048, 8, 3, 1, 8, 32, 30, "cpu", prediction_factor=2.0, prediction_sides=2)
    assert two.minutes > one.minutes and two.memory_gb > one.memory_gb  # the other side's strip is held too
    from tsstfn_crop_mapper.core.pipeline.estimate import uncertainty_pass_count

    args = ("auto", 8, "cpu", 1024, 1024, 3, 8, 32)  # 8 passes: about 2.6 min on a CPU, 16 x 8: over 3
    assert uncertainty_pass_count(*args) == 8 and uncertainty_pass_count(*args, factor=16.0) == 0  # tta on two sides


def test_the_starfm_blend_adds_a_starfm_run_to_each_target():
    from tsstfn_crop_mapper.core.fusion.blend import blend_methods
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_job

    assert blend_methods({}, two_sided=True) == ()
    assert blend_methods({"starfm_blend": True}) == ("starfm",)
    assert blend_methods({"starfm_blend": True}, two_sided=True) == ("starfm2",)
    job = {"prediction": [{}] * 4, "targets": [{}, {}], "n_base": 1, "uncertainty": "off", "train": {"device": "cpu"}}
    plain = estimate_job({**job, "preset": "robust", "train": {"device": "cpu", "starfm_blend": False}}, 4000, 4000)
    blended = estimate_job({**job, "preset": "robust"}, 4000, 4000)  # the robust preset blends
    assert blended.minutes > plain.minutes


def test_a_two_season_blend_counts_the_prediction_years_stacks_it_writes():
    """Up to three prediction-year stacks (fusion.blend.CHECK_PAIRS), each as large as a training stack."""
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_job

    train = {"device": "cpu", "extra_labels": False, "samples_per_epoch": 256}
    job = {"reference": [{}] * 5, "prediction": [{}] * 6, "targets": [{}], "n_base": 2, "uncertainty": "off"}
    plain = estimate_job({**job, "preset": "robust", "train": {**train, "starfm_blend": False}}, 1000, 1000)
    blended = estimate_job({**job, "preset": "robust", "train": train}, 1000, 1000)
    stack_gb = (2 * 2 + 2) * 1000 * 1000 * 4 / 1e9
    assert blended.disk_gb == pytest.approx(plain.disk_gb + 3 * stack_gb)  # 4 pairs have 2 before them: the latest 3
    fewer = estimate_job({**job, "prediction": [{}] * 3, "preset": "robust", "train": train}, 1000, 1000)
    fewer_plain = estimate_job(
        {**job, "prediction": [{}] * 3, "preset": "robust", "train": {**train, "starfm_blend": False}}, 1000, 1000
    )
    assert fewer.disk_gb == pytest.approx(fewer_plain.disk_gb + stack_gb)  # one pair has 2 before it
