"""core/profile against small real GDAL files: a run folder written as a run writes it (tests/profile/make_run.py)."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/profile's helper (the folder name is the stdlib's 'profile')
from make_run import FIELD, MASKED, PREDICTION, REFERENCE, TARGETS, centre, coarse_index, date, make_run
from osgeo import gdal, osr

from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.profile import ProfileReader, open_run, read_csv, real_layer, write_csv


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("profile"), size=48)


def _by(samples):
    return {(s.role, s.date): s for s in samples}


def test_every_value_is_the_raster_value_at_the_pixel(small):
    a, col, row = small["arrays"], 35, 20  # the right half: the masked date is clear here
    place, samples = ProfileReader(small["run"]).series_at(*centre(col, row))
    assert (place.col, place.row) == (col, row)
    got = _by(samples)
    for d in PREDICTION + TARGETS:
        assert got["observed", date(d)].value == pytest.approx(a["fine"][d][row, col], abs=1e-6)
        ci, ri = coarse_index(col, row)
        assert got["coarse", date(d)].value == pytest.approx(a["coarse"][d][ri, ci], abs=1e-6)  # its own 40 m pixel, scaled
    for d in TARGETS:
        for role in ("fused", "uncertainty", "starfm"):
            assert got[role, date(d)].value == pytest.approx(a[role][d][row, col], abs=1e-6), (role, d)
    for d in REFERENCE:  # the reference year on the prediction year's axis
        s = got["reference", date(d)]
        assert s.value == pytest.approx(a["fine"][d][row, col], abs=1e-6) and s.plot_date == date(d).replace(year=2021)
    assert ("masked", date(MASKED)) not in got
    assert {s.role for s in samples} == {"observed", "coarse", "fused", "uncertainty", "starfm", "reference"}


def test_a_masked_date_is_a_gap_with_the_hidden_value_beside_it(small):
    col, row = 5, 20  # the left half is cloud on 2021-08-31
    got = _by(ProfileReader(small["run"]).series_at(*centre(col, row))[1])
    assert math.isnan(got["observed", date(MASKED)].value) and got["observed", date(MASKED)].n == 0
    assert got["masked", date(MASKED)].value == pytest.approx(small["arrays"]["fine"][MASKED][row, col], abs=1e-6)
    assert not math.isnan(got["observed", date(TARGETS[0])].value)


def test_a_point_in_another_crs_reads_the_same_pixel(small):
    x, y = centre(12, 40)
    utm, wgs = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32651)
    wgs.ImportFromEPSG(4326)
    for s in (utm, wgs):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(utm, wgs).TransformPoint(x, y)
    place, _ = ProfileReader(small["run"]).series_at(lon, lat, wgs.ExportToWkt())
    assert (place.col, place.row) == (12, 40)


def test_outside_the_area_is_one_sentence(small):
    with pytest.raises(InputError, match="outside the area of run 'small_run'.*click inside it"):
        ProfileReader(small["run"]).series_at(*centre(60, 5))


def test_field_mean_and_spread(small):
    reader = ProfileReader(small["run"])
    c0, r0, c1, r1 = FIELD
    place, samples = reader.field_series(*centre(c0 + 3, r0 + 2))
    assert place.field_id == "7" and place.n_pixels == (c1 - c0) * (r1 - r0)
    got = _by(samples)
    for d in TARGETS:
        block = small["arrays"]["fused"][d][r0:r1, c0:c1]
        s = got["fused", date(d)]
        assert s.value == pytest.approx(float(block.mean()), abs=1e-6) and s.std == pytest.approx(float(block.std()), abs=1e-6)
        assert s.n == block.size
    half = small["arrays"]["fine"][MASKED][r0:r1, c0:c1]
    clear = half[:, small["size"] // 2 - c0 :]  # the field straddles the cloud's edge
    assert got["observed", date(MASKED)].value == pytest.approx(float(clear.mean()), abs=1e-6)
    assert got["observed", date(MASKED)].n == clear.size
    assert reader.field_series(*centre(45, 45)) is None  # no field there


def test_csv_holds_the_same_numbers_and_is_written_atomically(small, tmp_path):
    _, samples = ProfileReader(small["run"]).series_at(*centre(5, 20))
    path = write_csv(samples, tmp_path / "profile.csv")
    back = read_csv(path)
    assert [(s.role, s.date, s.label) for s in back] == [(s.role, s.date, s.label) for s in samples]
    for a, b in zip(samples, back):
        assert (math.isnan(a.value) and math.isnan(b.value)) or a.value == b.value
    assert not list(tmp_path.glob(".*part*"))


def test_the_record_is_the_runs_own(small, tmp_path):
    rec = open_run(small["run"])
    assert rec.kind == "run" and rec.name == "small_run" and rec.target_dates == [date(d) for d in TARGETS]
    assert rec.season == (date("2021-07-01"), date("2021-09-30")) and rec.methods() == ["starfm"]
    assert real_layer(rec, date(MASKED)).source.mask_path  # the target's real (cloudy) image, with its mask
    with pytest.raises(InputError, match="holds no run of this plugin"):
        open_run(tmp_path)


def test_a_moved_input_is_named_and_left_out(small, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    report = copy / "run" / "report" / "run_report.json"
    data = json.loads(report.read_text())
    data["job"]["prediction"][0]["fine"] = str(tmp_path / "gone.tif")
    report.write_text(json.dumps(data))
    rec = open_run(copy / "run")
    assert any("2021-04-20" in n and "no longer there" in n for n in rec.notes)
    assert date("2021-04-20") not in [la.date for la in rec.of_role("observed")]


def test_a_stopped_run_reads_its_manifest_and_finished_files(small, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    (copy / "run" / "report" / "run_report.json").unlink()
    rec = open_run(copy / "run")
    assert rec.target_dates == [date(d) for d in TARGETS] and rec.methods() == ["starfm"]


def _tif(path, arr):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[1], arr.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, 1.0))  # a benchmark of rasters without CRS
    ds.GetRasterBand(1).WriteArray(arr)
    ds = None


def test_a_benchmark_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "aligned").mkdir()
    arrays = {}
    for d in ("20200501", "20200517", "20200602"):
        for kind in ("s2", "modis"):
            arrays[kind, d] = rng.uniform(0, 1, (16, 16)).astype(np.float32)
            _tif(tmp_path / "aligned" / f"{kind}_{d}.tif", arrays[kind, d])
    (tmp_path / "target_20200517").mkdir()
    for prefix in ("fused_ndvi", "starfm_ndvi", "coarse_cubic_ndvi"):
        arrays[prefix] = rng.uniform(0, 1, (16, 16)).astype(np.float32)
        _tif(tmp_path / "target_20200517" / f"{prefix}_20200517.tif", arrays[prefix])
    (tmp_path / "benchmark.csv").write_text("date,method,rmse,mae,bias,r2,ssim,n\n")
    reader = ProfileReader(tmp_path)
    assert reader.record.kind == "benchmark" and reader.record.methods() == ["starfm", "coarse_cubic"]
    assert real_layer(reader.record, date("2020-05-17")).path.endswith("s2_20200517.tif")
    place, samples = reader.series_at(3.5, 9.5)  # a pixel grid: x, y are column and row
    got = _by(samples)
    assert (place.col, place.row) == (3, 9)
    assert got["fused", date("2020-05-17")].value == pytest.approx(arrays["fused_ndvi"][9, 3])
    assert got["starfm", date("2020-05-17")].value == pytest.approx(arrays["starfm_ndvi"][9, 3])
    assert got["observed", date("2020-06-02")].value == pytest.approx(arrays["s2", "20200602"][9, 3])
    assert got["coarse", date("2020-05-01")].value == pytest.approx(arrays["modis", "20200501"][9, 3])


def test_compare_panels_real_is_fused_minus_difference(small, tmp_path):
    from tsstfn_crop_mapper.core.profile import compare_panels

    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    run = copy / "run"
    a, d = small["arrays"], TARGETS[1]
    real = a["fine"][d].copy()
    real[a["mask"] == 1] = np.nan  # the run's difference is NaN under the cloud
    ds = gdal.Open(str(run / "fused_ndvi_20210831.tif"))
    out = gdal.GetDriverByName("GTiff").CreateCopy(str(run / "difference_20210831.tif"), ds)
    out.GetRasterBand(1).WriteArray(a["fused"][d] - real)
    out = ds = None
    rec = open_run(run)
    panels = compare_panels(rec, date(d), tmp_path / "scratch")
    assert [p.title for p in panels] == [
        "TSSTFN 2021-08-31",
        "real 2021-08-31",
        "STARFM 2021-08-31",
        "TSSTFN - real",
        "STARFM - real",
    ]
    got = {p.title: gdal.Open(p.path).ReadAsArray() for p in panels}
    np.testing.assert_allclose(got["real 2021-08-31"], real, atol=1e-6)
    np.testing.assert_allclose(got["STARFM - real"], a["starfm"][d] - real, atol=1e-6)
    assert not list(run.glob("*.vrt"))  # nothing written into the run folder
    with pytest.raises(InputError, match="no fused NDVI on 2021-08-01; its target dates are 2021-07-30"):
        compare_panels(rec, date("2021-08-01"), tmp_path / "scratch")


def test_the_chart_shades_the_critical_season_or_else_the_dates_the_run_fused():
    from tsstfn_crop_mapper.core.profile.record import shaded_season

    assert shaded_season([date("2021-07-30"), date("2021-08-31")]) == (
        (date("2021-07-01"), date("2021-09-30")),
        "critical season",
    )
    # a spring benchmark (Kranj): the chart shades 17 March to 2 April, not an empty summer
    assert shaded_season([date("2020-03-17"), date("2020-04-02")]) == ((date("2020-03-17"), date("2020-04-02")), "fused dates")
    assert shaded_season([date("2021-06-15"), date("2021-08-31")])[1] == "fused dates"  # one date outside it
    assert shaded_season([date("2020-04-02")]) == ((date("2020-03-29"), date("2020-04-06")), "fused dates")  # seen
