"""Hostile input to ``classify`` (command line): outputs that are inputs, bad options, links and a second map in one
folder; each ends with exit status 2 and one sentence, inputs byte-identical, or (a second map) the first kept."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from osgeo import gdal

from tsstfn_crop_mapper.core import cli

from .test_hostile import hashes


@pytest.fixture
def inputs(scene, tmp_path):
    """Copies of the scene's NDVI dates, samples and fields in tmp/in; the outputs go to tmp/out."""
    root = Path(scene["root"])
    src = tmp_path / "in"
    src.mkdir()
    dates = [str(shutil.copy(root / p, src / f"ndvi_{i}.tif")) for i, (_, p) in enumerate(sorted(scene["truth"].items()))]
    samples = str(shutil.copy(root / scene["samples"], src / "samples.gpkg"))
    gdal.VectorTranslate(str(src / "samples.shp"), samples, format="ESRI Shapefile")
    fields = str(shutil.copy(root / scene["fields"], src / "map_fields.gpkg"))
    return {"dates": dates, "samples": samples, "fields": fields, "in": src, "out": tmp_path / "out"}


def _args(i: dict, *extra: str, out: str | None = None) -> list[str]:
    return ["classify", *i["dates"], "--samples", i["samples"], "--out", out or str(i["out"] / "map.tif"), *extra]


def _refused(args: list[str], capsys, message: str, *folders: Path) -> None:
    before = hashes(*folders)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    assert hashes(*folders) == before


CASES = [
    ("out-is-a-raster", lambda i: _args(i, out=i["dates"][0]), r"The output '.*ndvi_0.tif' \(crop map\) would replace"),
    ("out-is-samples-part", lambda i: ["classify", *i["dates"], "--samples", str(i["in"] / "samples.shp"), "--out",
                                       str(i["in"] / "samples.dbf")], r"would replace the input '.*samples.dbf'"),
    ("confidence-is-samples", lambda i: _args(i, "--confidence", i["samples"]), r"\(confidence\) would replace the input"),
    ("fields-gpkg-is-fields", lambda i: _args(i, "--fields", i["fields"], out=str(i["in"] / "map.tif")),
     r"\(per-field polygons 1\) would replace the input '.*map_fields.gpkg'"),
    ("report-holds-inputs", lambda i: _args(i, "--report", str(i["in"])), r"\(report\) would replace the input"),
    ("out-is-a-folder", lambda i: _args(i, out=str(i["in"])), r"is a folder; give the output a file name"),
    ("out-under-a-file", lambda i: _args(i, out=str(Path(i["samples"]) / "map.tif")), r"lies under the file '.*samples"),
    ("test-fraction-nan", lambda i: _args(i, "--test-fraction", "nan"), r"'test_fraction': nan is not a finite number"),
    ("test-fraction-big", lambda i: _args(i, "--test-fraction", "1.5"), r"'test_fraction': 1.5 is out of range"),
    ("bands-down", lambda i: _args(i, "--bands", "3-1"), r"'--bands': '3-1' is not a band range"),
    ("bands-zero", lambda i: _args(i, "--bands", "0-2"), r"'--bands': '0-2' is not a band range"),
    ("scale-zero", lambda i: _args(i, "--scale", "0"), r"'scale': 0.0 is out of range"),
    ("scale-nan", lambda i: _args(i, "--scale", "nan"), r"'scale': nan is not a finite number"),
    ("scale-inf", lambda i: _args(i, "--scale", "inf"), r"'scale': inf is not a finite number"),
    ("block-negative", lambda i: _args(i, "--block-m", "-5"), r"'block_m': -5.0 is out of range"),
    ("kfold-one", lambda i: _args(i, "--kfold", "1"), r"K-fold by block: 1 is not a number of folds"),
]  # fmt: skip


@pytest.mark.parametrize("make, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_refuses_in_one_sentence(inputs, capsys, make, message):
    _refused(make(inputs), capsys, message, inputs["in"])
    assert not inputs["out"].exists() or not any(p.suffix == ".tif" for p in inputs["out"].rglob("*"))


def test_classify_into_a_read_only_folder(inputs, capsys):
    inputs["out"].mkdir()
    inputs["out"].chmod(0o555)
    try:
        if os.access(inputs["out"], os.W_OK):
            pytest.skip("running as root: permissions do not apply")
        _refused(_args(inputs), capsys, r"Cannot write into the output folder '.*out'", inputs["in"])
    finally:
        inputs["out"].chmod(0o755)


def test_links_and_a_file_named_previous_runs_are_refused(inputs, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    inputs["out"].mkdir()
    (inputs["out"] / "report").symlink_to(elsewhere)
    _refused(_args(inputs), capsys, r"report.* is a link", inputs["in"])
    (inputs["out"] / "report").unlink()
    (inputs["out"] / "previous_runs").write_text("a file")
    _refused(_args(inputs), capsys, r"'.*previous_runs' is a file", inputs["in"])
    assert list(elsewhere.iterdir()) == []


def test_a_second_map_in_one_folder_moves_the_first_aside(inputs, capsys):
    assert cli.main(_args(inputs, "--no-cog")) == 0
    first = hashes(inputs["out"])
    assert cli.main(_args(inputs, "--no-cog", "--test-fraction", "0.4")) == 0
    moved = list((inputs["out"] / "previous_runs").iterdir())
    assert len(moved) == 1
    kept = hashes(moved[0])
    for name in ("map.tif", "map_areas.csv", "report/accuracy.md", "report/areas.csv"):
        assert kept[str(moved[0] / name)] == first[str(inputs["out"] / name)], name  # the first map, unchanged
    assert (inputs["out"] / "report" / "accuracy.md").exists()


def _recoded(i: dict, sql: str) -> str:
    """The samples with ``class_id`` changed by an SQL update (a copy in tmp/in)."""
    from osgeo import ogr

    path = i["in"] / "recoded.gpkg"
    shutil.copy(i["samples"], path)
    ds = ogr.Open(str(path), 1)
    ds.ExecuteSQL(sql)
    ds = None
    return str(path)


CODE_CASES = [
    ("code-zero", "UPDATE samples SET class_id = 0 WHERE class_id = 3", r"class code 0 in the class field cannot be"),
    ("code-above-255", "UPDATE samples SET class_id = 1001 WHERE class_id = 3", r"class code 1001 .* 1 to 255"),
    ("code-negative", "UPDATE samples SET class_id = -1 WHERE class_id = 3", r"class code -1 "),
    ("all-null", "UPDATE samples SET class_id = NULL", r"Field 'class_id' of samples 'recoded.gpkg' is empty \(NULL\)"),
    ("empty-layer", "DELETE FROM samples", r"Samples 'recoded.gpkg' hold no features"),
]


@pytest.mark.parametrize("sql, message", [c[1:] for c in CODE_CASES], ids=[c[0] for c in CODE_CASES])
def test_class_codes_the_map_cannot_hold_and_empty_classes(inputs, capsys, sql, message):
    from osgeo import ogr

    ds = ogr.Open(inputs["samples"])
    layer = ds.GetLayer(0).GetName()
    ds = None
    samples = _recoded(inputs, sql.replace("samples", layer))
    args = ["classify", *inputs["dates"], "--samples", samples, "--class-field", "class_id", "--out",
            str(inputs["out"] / "map.tif")]  # fmt: skip
    _refused(args, capsys, message, inputs["in"])
    assert not (inputs["out"] / "map.tif").exists()


def test_label_raster_codes_beyond_a_byte(scene, inputs, capsys):
    import numpy as np

    src = gdal.Open(inputs["dates"][0])
    path = inputs["in"] / "labels.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Int16)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    ds.GetRasterBand(1).WriteArray((np.arange(src.RasterXSize * src.RasterYSize) % 3 * 500).reshape(src.RasterYSize, -1))
    ds = None
    args = ["classify", *inputs["dates"], "--samples", str(path), "--out", str(inputs["out"] / "map.tif")]
    _refused(args, capsys, r"'labels.tif': class code 500 in the label raster cannot be", inputs["in"])
