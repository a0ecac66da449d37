"""Too few samples per class to hold any out: a map and its pixel-count areas, the accuracy not measured and said so."""

import csv
import datetime as dt

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import make_points, make_raster
from tsstfn_crop_mapper.core import cli
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping import samples as samples_mod
from tsstfn_crop_mapper.core.mapping.workflow import classify_rasters, raster_dates
from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob

W, H = 24, 12
X0, Y0 = 640000.0, 5150000.0


def _grid():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    return Grid(srs.ExportToWkt(), (X0, 10.0, 0.0, Y0, 0.0, -10.0), W, H)


def _scene(tmp_path, counts=(("Soy_Corn", 12), ("Forest", 3), ("Pasture", 3))):
    """Three NDVI dates: Soy_Corn left (low), Forest middle (high), Pasture right (mid); points of each class."""
    col = np.arange(W)[None, :].repeat(H, 0)
    level = np.where(col < 8, 0.2, np.where(col < 16, 0.85, 0.5)).astype(np.float32)
    names = ["ndvi_2021-05-01.tif", "ndvi_2021-06-01.tif", "ndvi_2021-07-01.tif"]
    paths = [make_raster(tmp_path / n, level + 0.01 * i) for i, n in enumerate(names)]
    first_col = {"Soy_Corn": 0, "Forest": 8, "Pasture": 16}
    pts = []
    for name, n in counts:
        for k in range(n):
            r, c = 1 + (k // 6) * 2, first_col[name] + 1 + k % 6
            pts.append((X0 + 10 * c + 5, Y0 - 10 * r - 5, name))
    return paths, make_points(tmp_path / "samples.gpkg", pts)


def test_the_rule_names_each_class_too_small_and_keeps_the_samples(tmp_path):
    _, points = _scene(tmp_path)
    s = samples_mod.read_samples(points, "crop", _grid(), accuracy="when_possible")
    assert s.not_measured == (
        "accuracy not measured: class 'Forest' has 3 samples and 'Pasture' 3; a held-out accuracy needs at least 10 "
        "per class (add samples)"
    )
    assert len(s.codes) == 18
    with pytest.raises(InputError, match="class 'Forest' has 3 sample\\(s\\); at least 10 are needed.*'when_possible'"):
        samples_mod.read_samples(points, "crop", _grid(), accuracy="required")
    enough = samples_mod.read_samples(points, "crop", _grid(), min_per_class=3, accuracy="when_possible")
    assert enough.not_measured == ""
    with pytest.raises(InputError, match="Job field 'accuracy': 'maybe' is not one of when_possible, required"):
        samples_mod.read_samples(points, "crop", _grid(), accuracy="maybe")


def test_one_class_stays_a_refusal(tmp_path):
    _, points = _scene(tmp_path, counts=(("Forest", 3),))
    with pytest.raises(InputError, match="hold one class \\(Forest\\).*at least two classes"):
        samples_mod.read_samples(points, "crop", _grid(), accuracy="when_possible")


def test_few_samples_give_a_map_and_pixel_areas_without_kappa(tmp_path):
    paths, points = _scene(tmp_path)
    out = tmp_path / "out"
    result = classify_rasters(paths, points, "crop", out / "map.tif", out / "report", cog=False)
    a = result.assessment
    assert a.accuracy is None and len(a.test_index) == 0
    assert a.not_measured.startswith("accuracy not measured: class 'Forest' has 3 samples and 'Pasture' 3")
    assert a.as_dict()["kappa"] is None and a.as_dict()["not_measured"] == a.not_measured
    assert result.area is None  # no error-adjusted areas without test samples
    arr = gdal.Open(str(result.crop_map)).ReadAsArray()
    truth = np.where(np.arange(W) < 8, 1, np.where(np.arange(W) < 16, 2, 3))[None, :].repeat(H, 0)
    names = {1: "Forest", 2: "Pasture", 3: "Soy_Corn"}  # text classes: codes in sorted order
    mapped = np.vectorize(lambda c: {"Soy_Corn": 1, "Forest": 2, "Pasture": 3}[names[c]])(arr)
    assert (mapped == truth).mean() > 0.9  # three classes mapped, not the majority class everywhere
    rows = list(csv.DictReader(result.pixel_areas.read_text().splitlines()))
    assert sum(int(r["pixels"]) for r in rows) == W * H
    assert all(float(r["pixel_count_area_ha"]) == pytest.approx(int(r["pixels"]) * 0.01) for r in rows)
    report = (out / "report" / "accuracy.md").read_text()
    assert "Accuracy not measured: class 'Forest' has 3 samples" in report and "kappa" in report.lower()
    assert "samples per leaf were lowered from 20 to 1" in report
    assert not (out / "report" / "accuracy_confusion.csv").exists() and not (out / "report" / "areas.csv").exists()


def test_required_refuses_before_the_run(tmp_path):
    paths, points = _scene(tmp_path)
    job = ClassifyJob(tuple(paths), points, str(tmp_path / "out"), accuracy="required")
    with pytest.raises(InputError, match="class 'Forest' has 3 sample"):
        classify_rasters(**job.arguments())
    assert not (tmp_path / "out" / "crop_map.tif").exists()
    with pytest.raises(InputError, match="Job field 'accuracy'"):
        ClassifyJob(tuple(paths), points, str(tmp_path / "out"), accuracy="always")


def test_the_command_line_says_it_on_its_last_line(tmp_path, capsys):
    paths, points = _scene(tmp_path)
    args = ["classify", *paths, "--samples", points, "--out", str(tmp_path / "m.tif"), "--no-cog"]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("accuracy not measured: class 'Forest' has 3 samples and 'Pasture' 3"), lines
    assert not any(line.startswith("kappa") for line in lines)
    assert cli.main([*args, "--accuracy", "required"]) == 2
    assert "class 'Forest' has 3 sample(s)" in capsys.readouterr().err


# Part 2: dates typed for the rows ------------------------------------------------------------------


def _undated(tmp_path, n=3):
    return [make_raster(tmp_path / f"img_{k}.tif", np.full((H, W), 0.1 * (k + 1), np.float32)) for k in range(n)]


def test_typed_dates_reach_the_gap_filling(tmp_path):
    paths = _undated(tmp_path)
    assert raster_dates(paths) == [None, None, None]  # by position
    typed = [dt.date(2021, 5, 1), None, dt.date(2021, 8, 1)]
    assert raster_dates(paths, None, typed) == typed
    job = ClassifyJob(tuple(paths), "s.gpkg", str(tmp_path / "o"), dates=("2021-05-01", "", "2021-08-01"))
    assert job.dates == ("2021-05-01", "", "2021-08-01") and job.arguments()["dates"] == ["2021-05-01", "", "2021-08-01"]
    assert ClassifyJob.from_dict(job.to_dict()) == job
    assert ClassifyJob(tuple(paths), "s.gpkg", "o", dates=("", "", "")).dates is None  # nothing typed


def test_typed_dates_are_checked_naming_the_row(tmp_path):
    paths = _undated(tmp_path)
    with pytest.raises(InputError, match="row 2 \\('img_1.tif'\\): '2021-13-01' is not a date"):
        ClassifyJob(tuple(paths), "s.gpkg", "o", dates=("2021-05-01", "2021-13-01", ""))
    with pytest.raises(InputError, match="row 3 \\('img_2.tif', 2021-04-01\\) is not after row 1"):
        ClassifyJob(tuple(paths), "s.gpkg", "o", dates=("2021-05-01", "", "2021-04-01"))
    with pytest.raises(InputError, match="2 date\\(s\\) for 3 raster"):
        ClassifyJob(tuple(paths), "s.gpkg", "o", dates=("2021-05-01", ""))
    named = make_raster(tmp_path / "ndvi_2021-06-01.tif", np.zeros((H, W), np.float32))
    with pytest.raises(InputError, match="do not increase: row 2 \\('ndvi_2021-06-01.tif', 2021-06-01\\)"):
        raster_dates([paths[0], named], None, [dt.date(2021, 7, 1), None])  # typed, then a name's earlier date
    stack = make_raster(tmp_path / "stack.tif", np.zeros((3, H, W), np.float32))
    with pytest.raises(InputError, match="stack of 3 bands without band dates; one typed date"):
        raster_dates([stack], None, [dt.date(2021, 5, 1)])
