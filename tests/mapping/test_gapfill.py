"""Gap-filling of the forest's features: by hand on a series, chunk by chunk as the map reads it, and in map_crops."""

import numpy as np
import pytest

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping import classify, gapfill
from tsstfn_crop_mapper.core.mapping import samples as samples_mod
from tsstfn_crop_mapper.core.mapping.gapfill import GapFilling, GapStats, fill_stack
from tsstfn_crop_mapper.core.mapping.workflow import MappingOptions, classify_rasters, map_crops

NAN = np.nan


def _series(*values):
    return np.array(values, dtype=np.float32)[:, None, None]


def test_linear_filling_by_hand():
    linear = GapFilling("linear", 0.5)
    np.testing.assert_allclose(fill_stack(_series(0.2, NAN, NAN, 0.8), linear).ravel(), [0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(fill_stack(_series(NAN, 0.3, 0.5, NAN), linear).ravel(), [0.3, 0.3, 0.5, 0.5])  # ends
    days = GapFilling("linear", 0.5, days=(0, 10, 40))  # uneven dates weigh by days
    np.testing.assert_allclose(fill_stack(_series(0.0, NAN, 0.8), days).ravel(), [0.0, 0.2, 0.8])
    few = fill_stack(_series(0.2, NAN, NAN, NAN), linear)  # 1 of 4 clear, 2 needed
    assert np.isnan(few).all()
    assert np.isnan(fill_stack(_series(0.2, NAN, NAN, NAN), GapFilling("none")).ravel()[1:]).all()
    fused = fill_stack(_series(0.2, NAN, NAN, 0.8), GapFilling("fused", 0.5), {1: np.full((1, 1), 0.9, np.float32)})
    np.testing.assert_allclose(fused.ravel(), [0.2, 0.9, 0.85, 0.8])  # date 1 from the fused NDVI, date 2 between
    assert GapFilling(min_clear=0.5).needed(5) == 3 and GapFilling(min_clear=0.01).needed(5) == 1
    with pytest.raises(InputError, match="gap_fill"):
        GapFilling("spline")
    with pytest.raises(InputError, match="gap_fill_min_clear"):
        GapFilling(min_clear=0.0)


def test_stats_count_filled_and_too_few():
    stack = np.full((4, 3, 2), 0.5, np.float32)
    stack[1, 0, 0] = NAN  # filled
    stack[:3, 1, 1] = NAN  # 1 of 4 clear: too few
    stack[:, 2, 0] = NAN  # none clear
    stats = GapStats()
    fill_stack(stack, GapFilling("linear", 0.5), stats=stats)
    assert (stats.pixels, stats.filled, stats.too_few, stats.none_clear) == (6, 1, 1, 1)
    assert "16.7 % of the pixels were gap-filled" in stats.note(GapFilling(), 4) and "fewer than 2 of the 4" in stats.note(
        GapFilling(), 4
    )


@pytest.mark.parametrize(("chunk", "fill_bytes"), [(256, 64 << 20), (7, 1)])
def test_filled_strips_equal_the_whole_scene_filled(tmp_path, monkeypatch, chunk, fill_bytes):
    """Filling chunk by chunk (the map's reads) gives the features of the whole scene filled at once, and counts each
    pixel once (halo rows not twice)."""
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(0, 1, (29, 13)).astype(np.float32) for _ in range(5)]
    for a in arrays:
        a[rng.random(a.shape) < 0.3] = NAN
    paths = [make_raster(tmp_path / f"d{i}.tif", a) for i, a in enumerate(arrays)]
    filling = GapFilling("linear", 0.4)
    whole, whole_valid = classify.window_features(fill_stack(np.stack(arrays), filling))
    monkeypatch.setattr(classify, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(gapfill, "FILL_BYTES", fill_bytes)  # 1: one row filled at a time
    stats = GapStats()
    for y0, h, f, valid in classify.feature_strips(paths, 13, 29, 4, filling=filling, stats=stats):
        np.testing.assert_array_equal(valid, whole_valid[y0 : y0 + h])
        np.testing.assert_allclose(f[valid], whole[y0 : y0 + h][valid])
    assert stats.pixels == 29 * 13
    clear = np.isfinite(np.stack(arrays)).sum(axis=0)
    assert stats.filled == int(((clear < 5) & (clear >= 2)).sum()) and stats.too_few == int(((clear < 2) & (clear > 0)).sum())


def _cloudy_scene(tmp_path, h=40, w=40, cloud=0.15):
    """Two classes with distinct seasons over 6 dates; each date loses ``cloud`` of its pixels."""
    rng = np.random.default_rng(7)
    truth = np.where((np.arange(w)[None, :] // 10) % 2 == 0, 1, 2).repeat(h, 0).astype(np.int32)
    paths = []
    for t in range(6):
        ndvi = np.where(truth == 1, 0.2 + 0.12 * t, 0.8 - 0.1 * t) + rng.normal(0, 0.03, truth.shape)
        ndvi[rng.random(truth.shape) < cloud] = NAN
        paths.append(make_raster(tmp_path / f"ndvi_{t}.tif", ndvi.astype(np.float32)))
    rows, cols = np.mgrid[1:h:3, 1:w:3]
    rows, cols = rows.ravel(), cols.ravel()
    samples = samples_mod.Samples(rows, cols, truth[rows, cols], np.arange(len(rows)), {1: "a", 2: "b"})
    return paths, Grid.from_raster(paths[0]), samples


def test_gap_filling_maps_the_cloudy_pixels_and_says_so(tmp_path):
    paths, grid, samples = _cloudy_scene(tmp_path)
    forest = classify.ForestParams(n_estimators=10, min_samples_leaf=1)
    made = {}
    for how in ("none", "linear"):
        options = MappingOptions(200.0, forest=forest, gap_fill=how)
        made[how] = map_crops(paths, grid, samples, options, tmp_path / f"map_{how}.tif", tmp_path / how, estimate_areas=False)
    # 6 dates of 15 % cloud: about 0.85 ** 6 = 38 % of the pixels are clear on all; filled, all but a few
    assert made["none"].mapped_fraction < 0.5 and made["linear"].mapped_fraction > 0.99
    assert made["linear"].assessment.accuracy.kappa > 0.9
    note = made["linear"].gap_stats.note(GapFilling(), 6)
    assert made["linear"].gap_stats.filled / made["linear"].gap_stats.pixels > 0.5
    assert made["linear"].assessment.as_dict()["gap_filled_fraction"] > 0.5  # in the run report's JSON
    assert "gap_filled_fraction" not in made["none"].assessment.as_dict()
    report = (tmp_path / "linear" / "accuracy.md").read_text()
    assert "## Notes" in report and note in report
    without = (tmp_path / "none" / "accuracy.md").read_text()
    assert "without gap-filling a pixel gets a class only where each of its 6 dates" in without


def test_classify_refuses_fused_filling(tmp_path):
    paths, _, _ = _cloudy_scene(tmp_path, 12, 12)
    with pytest.raises(InputError, match="Gap-filling 'fused' .* which classify does not make; use 'linear'"):
        classify_rasters(paths, "none.gpkg", "crop", tmp_path / "map.tif", tmp_path / "report", gap_fill="fused")


def test_fused_filling_takes_the_fused_date(tmp_path):
    """'fused': a cloudy date's pixels from the fused NDVI of that date (a job's target on the same day)."""
    paths, grid, samples = _cloudy_scene(tmp_path, cloud=0.0)
    cloudy = gdal_array_copy(paths[2], tmp_path / "cloudy.tif", lambda a: np.where(np.arange(a.shape[1])[None] < 20, NAN, a))
    fused = gdal_array_copy(paths[2], tmp_path / "fused.tif", lambda a: a)
    series = [*paths[:2], cloudy, *paths[3:]]
    forest = classify.ForestParams(n_estimators=5, min_samples_leaf=1)
    options = MappingOptions(200.0, forest=forest, gap_fill="fused")
    made = map_crops(series, grid, samples, options, tmp_path / "map.tif", tmp_path / "r", estimate_areas=False,
                     fused_fill={2: fused})  # fmt: skip
    assert made.mapped_fraction == 1.0 and made.gap_stats.filled == 40 * 20
    assert "the fused NDVI of the same date (1 date(s))" in (tmp_path / "r" / "accuracy.md").read_text()
    stack = np.stack([np.full((1, 1), v, np.float32) for v in (0.2, NAN, 0.6)])
    filled = fill_stack(stack, GapFilling("fused"), {1: np.full((1, 1), 0.9, np.float32)})
    assert filled[1, 0, 0] == pytest.approx(0.9)  # not the 0.4 of the linear filling


def gdal_array_copy(src: str, dst, change) -> str:
    from osgeo import gdal

    ds = gdal.Open(src)
    return make_raster(dst, change(ds.ReadAsArray()).astype(np.float32))


def test_job_fields_of_names_seasons_and_filling(scene, tmp_path):
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob
    from tsstfn_crop_mapper.core.pipeline.job import input_paths, job_from_dict, job_to_dict

    (tmp_path / "names.csv").write_text("1,soja\n")
    job = scene_job(scene["root"], tmp_path / "o", class_names={"1": "soja", "2": "milho"}, season_field="year", season=2021,
                    class_names_file="names.csv", gap_fill="none", gap_fill_min_clear=0.25)  # fmt: skip
    assert job.class_names == {1: "soja", 2: "milho"} and job.season == "2021" and job.gap_fill.value == "none"
    assert str(scene["root"] / "names.csv") in input_paths(job)  # relative to the job file; an input outputs never replace
    again = job_from_dict(job_to_dict(job), scene["root"])
    assert (again.class_names, again.season, again.gap_fill, again.gap_fill_min_clear) == ({1: "soja", 2: "milho"}, "2021",
                                                                                            job.gap_fill, 0.25)  # fmt: skip
    for patch, message in (
        ({"gap_fill": "spline"}, "'gap_fill': 'spline' is not one of none, linear, fused"),
        ({"gap_fill_min_clear": 0}, "'gap_fill_min_clear': 0 is out of range"),
        ({"class_names": {"soja": "milho"}}, "'class_names': neither 'soja' nor 'milho' is an integer class code"),
        ({"season_field": "year"}, "'season': give the season to keep"),
    ):
        with pytest.raises(InputError, match=message):
            scene_job(scene["root"], tmp_path / "o", **patch)
    with pytest.raises(InputError, match="Gap-filling 'fused' .* classify does not make"):
        ClassifyJob(("a.tif",), "s.gpkg", str(tmp_path), gap_fill="fused")
