"""``classify`` on the command line: NDVI the user has, samples, the same core as Processing's Classify crops."""

import shutil
from pathlib import Path

from osgeo import gdal

from tsstfn_crop_mapper.core import cli


def test_classify_writes_maps_areas_and_reports(scene, tmp_path, capsys):
    root = Path(scene["root"])
    dates = [str(root / p) for _, p in sorted(scene["truth"].items())]
    args = ["classify", *dates, "--samples", str(root / scene["samples"]), "--class-field", "crop", "--out",
            str(tmp_path / "map.tif"), "--kfold", "2", "--block-m", "300", "--confidence", str(tmp_path / "conf.tif"),
            "--fields", str(root / scene["fields"]), "--field-id", "field_id"]  # fmt: skip
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "kappa (split by spatial blocks of 300 m)" in out and "kappa (2-fold by block)" in out
    assert "| class | pixel-count area (ha) | error-adjusted area (ha) |" in out and "per-field map" in out
    for name in ("map.tif", "conf.tif", "map_fields.tif"):
        assert gdal.Open(str(tmp_path / name)).GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG", name
    assert (tmp_path / "map_areas.csv").exists() and (tmp_path / "map_fields.gpkg").exists()
    legends = {p.name: p.read_text() for p in tmp_path.glob("*.qml")}  # the legend QGIS loads with each class map
    assert set(legends) == {"map.qml", "map_fields.qml"} and all(t.count("<paletteEntry") == 3 for t in legends.values())
    assert {p.name for p in (tmp_path / "report").iterdir()} >= {"accuracy.md", "areas.md", "areas.csv"}


def test_classify_refuses_reflectance_in_one_sentence(scene, tmp_path, capsys):
    root = Path(scene["root"])
    inputs = tmp_path / "in"
    inputs.mkdir()
    s2 = str(shutil.copy(root / scene["prediction"][0]["sentinel2"], inputs / "T51TXM_B04B08.tif"))  # red and NIR bands
    args = ["classify", s2, "--samples", str(root / scene["samples"]), "--out", str(tmp_path / "m.tif")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "'T51TXM_B04B08.tif (band 1)' holds values" in err  # the user's file, not the band's virtual raster
    assert "not NDVI in [-1, 1]: is it a red/NIR product" in err and "Traceback" not in err
    assert not (tmp_path / "m.tif").exists()
    assert [p.name for p in inputs.iterdir()] == ["T51TXM_B04B08.tif"]  # no statistics saved beside the input


def test_a_cloudy_date_leaves_pixels_unmapped_and_says_so(scene, tmp_path, capsys, caplog):
    """One date half nodata: those pixels get no class, and the share and its reason are printed and logged."""
    import numpy as np

    root = Path(scene["root"])
    dates = [str(root / p) for _, p in sorted(scene["truth"].items())]
    src = gdal.Open(dates[0])
    values = src.ReadAsArray().astype(np.float32)
    values[: values.shape[0] // 2] = np.nan  # the northern half cloudy on that date
    cloudy = str(tmp_path / "ndvi_20210730_cloudy.tif")
    out = gdal.GetDriverByName("GTiff").Create(cloudy, src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Float32)
    out.SetGeoTransform(src.GetGeoTransform())
    out.SetProjection(src.GetProjection())
    out.GetRasterBand(1).WriteArray(values)
    out = None
    args = ["classify", cloudy, *dates[1:], "--samples", str(root / scene["samples"]), "--class-field", "crop",
            "--out", str(tmp_path / "map" / "map.tif")]  # fmt: skip
    assert cli.main([*args, "--gap-fill", "none"]) == 0
    printed = capsys.readouterr().out
    assert "pixels mapped: 50.0 %" in printed
    assert "50 % of the map is unmapped (nodata)" in caplog.text and "one cloudy, masked or nodata date" in caplog.text
    assert cli.main(args) == 0  # gap-filled by default: the cloudy date is interpolated from its neighbours
    printed = capsys.readouterr().out
    assert "pixels mapped: 100.0 %" in printed and "pixels gap-filled: 50.0 % (linear)" in printed


def test_run_takes_a_classify_job_file_with_relative_paths(scene, tmp_path, capsys):
    """The file the dialog's classify-only mode saves: ``run`` maps it, paths read from the file's folder."""
    import json

    from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob, load_classify_job, save_classify_job

    root = Path(scene["root"])
    dates = [str(root / p) for _, p in sorted(scene["truth"].items())]
    job = ClassifyJob(tuple(dates), str(root / scene["samples"]), str(tmp_path / "out"), "crop",
                      dates=("2021-07-30", "", "2021-09-05"))  # fmt: skip
    path = save_classify_job(job, tmp_path / "classify.json")
    assert load_classify_job(path) == job  # the file round-trips
    data = json.loads(path.read_text())
    data["output_dir"] = "out"  # relative: from the file's folder
    path.write_text(json.dumps(data))
    assert cli.main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"crop map: {tmp_path / 'out' / 'crop_map.tif'}" in out and "kappa" in out
    data["rasters"] = [*data["rasters"][:2], "no_such.tif"]
    path.write_text(json.dumps(data))
    assert cli.main(["run", str(path)]) == 2  # a wrong classify job: one sentence naming the file
    assert "no_such.tif" in capsys.readouterr().err


def test_a_classify_job_given_where_a_fusion_job_is_read_says_what_it_is(scene, tmp_path):
    import pytest

    from tsstfn_crop_mapper.core.errors import InputError
    from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob, save_classify_job
    from tsstfn_crop_mapper.core.pipeline.job import load_job

    root = Path(scene["root"])
    job = ClassifyJob(tuple(str(root / p) for _, p in sorted(scene["truth"].items())), str(root / scene["samples"]),
                      str(tmp_path / "out"))  # fmt: skip
    path = save_classify_job(job, tmp_path / "classify.json")
    with pytest.raises(InputError, match="This is a classify job .* classify-only mode"):
        load_job(path)  # (Processing's 'Run a crop-mapping job' reads job files so)
