"""The run estimate: a FLOP guess without a measurement, a range from a measured speed with one."""

import pytest

from tsstfn_crop_mapper.core.pipeline.estimate import Speed, estimate_run, measure_speed


def test_measured_speed_gives_a_range_over_the_epochs():
    speed = measure_speed(4, 32, 3, "cpu", batch_size=2, cl_paths=1, steps=1)
    assert speed.train_patch_s > speed.predict_patch_s > 0 and (speed.width, speed.patch) == (4, 32)
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
    with pytest.warns(DeprecationWarning, match="compare="):  # the old switch, until the dialog passes compare
        assert estimate_run(*args, patience=1, samples_per_epoch=4000, starfm=True).minutes == compared.minutes
    assert every.memory_gb == sampled.memory_gb  # patches are read lazily: drawing fewer saves time, not memory
    # the peaks measured in docs/benchmarks.md (GNU time), 768 px to a whole tile: within 0.8-1.0x of the estimate
    for size, peak in ((768, 0.63), (1536, 0.68), (3072, 0.76), (10980, 1.45)):
        assert 0.8 <= peak / estimate_run(size, size, 21, 3, 7, 8, 64, 1, "cpu", speed).memory_gb <= 1.0, size
    assert estimate_run(768, 20000, 21, 3, 7, 8, 64, 1, "cpu", speed).memory_gb < 1.0  # tall scenes do not need more
    assert sampled.disk_gb > 40  # the aligned rasters and three training stacks of 16 channels
