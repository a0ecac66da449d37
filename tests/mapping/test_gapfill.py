"""Gap-filling of the forest's features: by hand on a series, chunk by chunk as the map reads it, and in map_crops."""

from pathlib import Path

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


def test_fused_filling_is_refused_everywhere_with_the_reason(tmp_path):
    """'fused' filled nothing (a run fuses only critical-season targets, never an early-season date): removed."""
    from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob

    paths, _, _ = _cloudy_scene(tmp_path, 12, 12)
    why = "'gap_fill': 'fused' is no longer offered: a run fuses only its critical-season targets"
    with pytest.raises(InputError, match=why):
        classify_rasters(paths, "none.gpkg", "crop", tmp_path / "map.tif", tmp_path / "report", gap_fill="fused")
    with pytest.raises(InputError, match=why):
        ClassifyJob(("a.tif",), "s.gpkg", str(tmp_path), gap_fill="fused")
    with pytest.raises(InputError, match=why):
        MappingOptions(200.0, gap_fill="FUSED")
    assert [g.value for g in gapfill.GapFill] == ["none", "linear"]


def _dates(*iso):
    import datetime as dt

    return [dt.date.fromisoformat(d) for d in iso]


def test_linear_filling_weighs_by_the_real_dates():
    """1 Apr, 6 Apr, 30 Jul: a gap on 6 Apr is 5/120 of the way, not half way (the review's case)."""
    days = gapfill.days_of(_dates("2021-04-01", "2021-04-06", "2021-07-30"))
    filled = fill_stack(_series(0.2, NAN, 0.8), GapFilling("linear", 0.5, days=days)).ravel()
    assert filled[1] == pytest.approx(0.2 + 0.6 * 5 / 120, abs=1e-6)
    assert gapfill.days_of(_dates("2021-04-01", "2021-03-01")) is None  # back in time: by position
    assert gapfill.days_of([*_dates("2021-04-01"), None]) is None and gapfill.days_of(None) is None
    assert "weighted by their days" in GapFilling(days=days).describe(3)
    assert "by their positions in the series (the dates are unknown" in GapFilling().describe(3)


def _cloudy_on(tmp_path, names, day=1):
    """Two classes over dated rasters; the date ``day`` cloudy on the left half, whose NDVI is known exactly."""
    truth = np.where(np.arange(40)[None, :] // 10 % 2 == 0, 1, 2).repeat(40, 0)
    ramp = np.array([0.2, 0.25, 0.9, 0.5])  # class 1's season; class 2's is flat
    paths = []
    for t, name in enumerate(names):
        ndvi = np.where(truth == 1, ramp[t], 0.6).astype(np.float32)
        if t == day:
            ndvi[:, :20] = NAN
        paths.append(make_raster(tmp_path / name, ndvi))
    rows, cols = np.mgrid[1:40:3, 1:40:3]
    rows, cols = rows.ravel(), cols.ravel()
    samples = samples_mod.Samples(rows, cols, truth[rows, cols], np.arange(len(rows)), {1: "a", 2: "b"})
    return paths, Grid.from_raster(paths[0]), samples


def test_map_crops_and_classify_fill_by_the_rasters_dates(tmp_path, monkeypatch):
    """map_crops weighs by the dates it is given; classify_rasters reads them from names (or a stack's band
    descriptions); a plain band range without dates goes by position and the report says so."""
    names = ["ndvi_2021-04-01.tif", "ndvi_2021-04-06.tif", "ndvi_2021-07-30.tif", "ndvi_2021-08-31.tif"]
    paths, grid, samples = _cloudy_on(tmp_path, names)
    seen = []
    real_fill = gapfill.fill_stack

    def spy(stack, filling, *args, **kwargs):
        out = real_fill(stack, filling, *args, **kwargs)
        seen.append((filling.days, float(out[1, 0, 0])))
        return out

    monkeypatch.setattr(gapfill, "fill_stack", spy)
    forest = classify.ForestParams(n_estimators=5, min_samples_leaf=1)
    options = MappingOptions(200.0, forest=forest)
    dates = _dates("2021-04-01", "2021-04-06", "2021-07-30", "2021-08-31")
    made = map_crops(paths, grid, samples, options, tmp_path / "map.tif", tmp_path / "r", estimate_areas=False, dates=dates)
    assert made.mapped_fraction == 1.0
    by_days = pytest.approx(0.2 + 0.7 * 5 / 120, abs=1e-6)  # 0.229, not the 0.55 of the position
    assert seen and all(v == by_days for _, v in seen)
    assert "weighted by their days" in (tmp_path / "r" / "accuracy.md").read_text()
    from tsstfn_crop_mapper.core.mapping.workflow import raster_dates

    assert raster_dates(paths) == dates
    stack = _stack(tmp_path / "stack.tif", paths, describe=True)
    assert raster_dates([stack], [1, 2, 3]) == dates[:3]
    plain = _stack(tmp_path / "plain.tif", paths, describe=False)
    assert raster_dates([plain], [2, 3]) == [None, None]
    truth = np.where(np.arange(40)[None, :] // 10 % 2 == 0, 1, 2).repeat(40, 0)
    labels = make_raster(tmp_path / "labels.tif", truth.astype(np.float32))  # a label raster: every pixel a sample
    for rasters, filled in (([stack], by_days), ([plain], pytest.approx(0.2 + 0.7 / 2, abs=1e-6))):
        seen.clear()
        out = tmp_path / Path(rasters[0]).stem
        classify_rasters(rasters, labels, "crop", out / "map.tif", out / "report", forest=forest, cog=False)
        assert seen and all(v == filled for _, v in seen)
    assert "weighted by their days" in (tmp_path / "stack" / "report" / "accuracy.md").read_text()
    assert (
        "by their positions in the series (the dates are unknown" in (tmp_path / "plain" / "report" / "accuracy.md").read_text()
    )


def _stack(path, paths, describe):
    from osgeo import gdal

    src = [gdal.Open(p) for p in paths]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), src[0].RasterXSize, src[0].RasterYSize, len(src), gdal.GDT_Float32)
    ds.SetGeoTransform(src[0].GetGeoTransform())
    ds.SetProjection(src[0].GetProjection())
    for k, s in enumerate(src):
        band = ds.GetRasterBand(k + 1)
        band.WriteArray(s.ReadAsArray())
        if describe:
            band.SetDescription("NDVI " + paths[k].rsplit("ndvi_", 1)[1][:10])
    ds = None
    return str(path)


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
        ({"gap_fill": "spline"}, "'gap_fill': 'spline' is not one of none, linear"),
        ({"gap_fill": "fused"}, "'gap_fill': 'fused' is no longer offered"),
        ({"gap_fill_min_clear": 0}, "'gap_fill_min_clear': 0 is out of range"),
        ({"class_names": {"soja": "milho"}}, "'class_names': neither 'soja' nor 'milho' is an integer class code"),
        ({"season_field": "year"}, "'season': give the season to keep"),
    ):
        with pytest.raises(InputError, match=message):
            scene_job(scene["root"], tmp_path / "o", **patch)
    assert ClassifyJob(("a.tif",), "s.gpkg", str(tmp_path), gap_fill="none").gap_fill.value == "none"


def test_a_job_run_passes_its_dates_to_both_maps(tmp_path, monkeypatch):
    """run_job's crop maps: the early map by the base dates, the fused map by the base dates then the targets'."""
    from types import SimpleNamespace

    from tsstfn_crop_mapper.core.fusion.stacks import AlignedPair
    from tsstfn_crop_mapper.core.mapping import workflow
    from tsstfn_crop_mapper.core.pipeline import run
    from tsstfn_crop_mapper.core.pipeline.result import JobResult

    base, targets = _dates("2021-04-01", "2021-04-06", "2021-06-20"), _dates("2021-07-30", "2021-08-31")
    prep = SimpleNamespace(
        grid=Grid.from_raster(make_raster(tmp_path / "g.tif", np.zeros((4, 4), np.float32))),
        prediction=[AlignedPair(d, f"c{d}.tif", f"f{d}.tif") for d in base],
        targets=[AlignedPair(d, f"c{d}.tif") for d in targets],
    )
    result = JobResult(tmp_path)
    result.fused = {d: tmp_path / f"fused_{d}.tif" for d in targets}
    job = SimpleNamespace(block_m=500.0, split="random", test_fraction=0.3, forest=classify.ForestParams(), kfold=0,
                          gap_fill="linear", gap_fill_min_clear=0.5, fields=None, strategy="STR_B", forecast="direct",
                          probabilities=False, confidence=False)  # fmt: skip
    calls = []

    def fake(paths, *args, **kwargs):
        calls.append((list(paths), kwargs["dates"]))
        if len(calls) == 2:
            raise StopIteration  # the second map is all this test needs
        made = SimpleNamespace(crop_map=tmp_path / "m.tif", pixel_areas=tmp_path / "a.csv", mapped_fraction=1.0)
        made.assessment = SimpleNamespace(as_dict=dict)
        return made

    monkeypatch.setattr(workflow, "map_crops", fake)
    with pytest.raises(StopIteration):
        run._map_crops(
            job,
            prep,
            samples_mod.Samples(*[np.zeros(0)] * 4, {}),
            result,
            tmp_path,
            run.Steps(None, {"classify": 1.0, "export": 0.1}),
            bool,
        )
    (early, early_dates), (fused, fused_dates) = calls
    assert early_dates == base and len(early) == 3
    assert fused_dates == base + targets and fused[3:] == [str(result.fused[d]) for d in targets]
