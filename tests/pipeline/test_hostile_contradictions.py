"""Inputs that contradict themselves (issue 24): one raster twice, a date against the file's own, red = NIR, a MODIS
raster in the fine column and the other way round, a target without base pairs of its season. Each: exit status 2 on
the command line, one sentence naming the field, date and file, no traceback, inputs byte-identical, refused before
any pixel is aligned; and the dialog's per-row check refuses the same rows at their cell."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from osgeo import gdal

from tsstfn_crop_mapper.core import cli
from tsstfn_crop_mapper.core.errors import PlaceError
from tsstfn_crop_mapper.core.pipeline.rows import RowChecker

from .test_hostile import base, hashes  # noqa: F401 (the fixture)


def _set(group: str, k: int, key: str, value) -> None:
    def setup(d: dict, tmp: Path) -> None:
        d[group][k][key] = value(d, tmp) if callable(value) else value

    return setup


def _copy(d: dict, tmp: Path, src: str, name: str) -> str:
    dst = tmp / "in" / name
    shutil.copy(src, dst)
    return str(dst)


def _same_image_both_sensors(d, tmp):
    """One neutral-named copy of a fine image as the pair's coarse and fine raster."""
    path = _copy(d, tmp, d["prediction"][1]["fine"], "image.tif")
    d["prediction"][1].update(coarse=path, fine=path)


def _modis_named_in_fine(d, tmp):
    d["prediction"][2]["fine"] = _copy(d, tmp, d["prediction"][2]["coarse"], "MOD09GQ.A2021108.h26v04.copy.tif")


def _coarse_pixels_in_fine(d, tmp):
    """A neutral name, but 250 m pixels over the scene: a MODIS raster in the fine column."""
    path = str(tmp / "in" / "image_250m.tif")
    gdal.Translate(path, d["prediction"][2]["fine"], xRes=250, yRes=250)
    d["prediction"][2]["fine"] = path


def _fine_pixels_in_coarse(d, tmp):
    """A neutral name, but 4 m pixels (finer than the fine images' 10 m) in the coarse column."""
    path = str(tmp / "in" / "image_4m.tif")
    gdal.Translate(path, d["prediction"][2]["fine"], xRes=4, yRes=4)
    d["prediction"][2]["coarse"] = path


def _red_is_nir(d, tmp):
    d["prediction"][0]["fine"] = {"path": d["prediction"][0]["fine"], "red_band": 2, "nir_band": 2}


CASES = [
    ("same-fine-two-dates", _set("prediction", 1, "fine", lambda d, t: d["prediction"][0]["fine"]),
     r"'prediction', pair of 2021-04-08: its fine \(Sentinel-2/Landsat\) raster 'T51TXM_20210406T025549_B04B08_10m.tif' "
     r"is also the fine \(Sentinel-2/Landsat\) raster of 2021-04-06 in 'prediction'; one raster is one sensor"),
    ("same-coarse-two-lists", _set("targets", 0, "coarse", lambda d, t: d["prediction"][9]["coarse"]),
     r"'targets', pair of 2021-07-30: its MODIS \(coarse\) raster 'MOD09GQ.A2021176.*' is also the MODIS \(coarse\) "
     r"raster of 2021-06-25 in 'prediction'"),
    ("same-file-both-sensors", _same_image_both_sensors, r"'prediction', pair of 2021-04-08: its fine .* 'image.tif' is "
     r"also the MODIS \(coarse\) raster of 2021-04-08"),
    ("fine-date-contradicts-name", _set("prediction", 1, "date", "2021-04-09"),
     r"'prediction', pair of 2021-04-09: the date 2021-04-09 contradicts the fine \(Sentinel-2/Landsat\) raster "
     r"'T51TXM_20210408T025549_B04B08_10m.tif', whose name or metadata says 2021-04-08; correct the date"),
    ("coarse-date-contradicts-name", _set("targets", 0, "date", "2021-08-20"),
     r"'targets', pair of 2021-08-20: the date 2021-08-20 contradicts the MODIS \(coarse\) raster "
     r"'MOD09GQ.A2021211.h26v04.061.tif', whose name or metadata says 2021-07-30"),
    ("red-is-nir", _red_is_nir, r"'prediction', pair of 2021-04-06: 'T51TXM_.*' \(product s2_l2a\): red and NIR are both "
     r"band 2 \(red_band, nir_band\)"),
    ("modis-name-in-fine", _modis_named_in_fine, r"'MOD09GQ.A2021108.h26v04.copy.tif' cannot be the fine "
     r"\(Sentinel-2/Landsat\) raster: named like a MODIS raster, not a fine-sensor image; put it in the coarse column"),
    ("coarse-pixels-in-fine", _coarse_pixels_in_fine, r"'image_250m.tif' cannot be the fine \(Sentinel-2/Landsat\) "
     r"raster: pixels of 250 m: a coarse \(MODIS\) raster"),
    ("fine-name-in-coarse", _set("prediction", 2, "coarse", lambda d, t: _copy(d, t, d["prediction"][2]["fine"],
                                                                              "T51TXM_20210418T025549_B04B08_10m.tif")),
     r"'T51TXM_20210418T025549_B04B08_10m.tif' cannot be the MODIS \(coarse\) raster: named like a Sentinel-2 or "
     r"Landsat raster, not MODIS; put it in the fine column"),
    ("fine-pixels-in-coarse", _fine_pixels_in_coarse, r"'image_4m.tif' cannot be the MODIS \(coarse\) raster: pixels of "
     r"4 m, finer than the fine images' 10 m"),
    ("mask-is-an-image", _set("prediction", 1, "fine", lambda d, t: {"path": d["prediction"][1]["fine"],
                                                                     "mask": d["prediction"][3]["fine"]}),
     r"'prediction', pair of 2021-04-08: the mask of its fine \(Sentinel-2/Landsat\) raster, "
     r"'T51TXM_20210421T025549_B04B08_10m.tif', is an image of the job, not a cloud mask"),
    ("target-next-year", _set("targets", 0, "date", "2022-07-30"),
     r"'targets': target 2022-07-30 needs 5 base pairs \(n_base\) of its own season before it, but the base pairs "
     r"before it are from 2021 and earlier \(the latest 2021-06-25\); give base pairs of 2022"),
    ("target-before-the-season", _set("targets", 0, "date", "2021-04-01"),
     r"'targets': target 2021-04-01 needs 5 base pairs .* none of the base pairs lies before it \(the first is 2021-04-06\)"),
]  # fmt: skip


@pytest.mark.parametrize("setup, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_contradictory_job_on_the_command_line(base, tmp_path, capsys, monkeypatch, setup, message):  # noqa: F811
    from tsstfn_crop_mapper.core.inputs import align

    aligned = []
    monkeypatch.setattr(align, "ndvi_to_grid", lambda *a, **k: aligned.append(a) or pytest.fail("aligned"))
    setup(base, tmp_path)
    job = tmp_path / "in" / "job.json"
    job.write_text(json.dumps(base))
    before = hashes(tmp_path)
    assert cli.main(["run", str(job)]) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    assert aligned == []  # refused from names and headers, before any pixel is aligned
    after = hashes(tmp_path)
    assert {k: after.get(k) for k in before} == before
    assert not (tmp_path / "out").exists() or [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def _rows(d: dict) -> dict:
    """The job's mapping as the dialog's tables give it (dated rows, products)."""
    keys = ("reference", "prediction", "targets", "coarse_product", "fine_product")
    return {k: json.loads(json.dumps(d[k])) for k in keys}


def _place(data: dict) -> tuple[tuple, str]:
    with pytest.raises(PlaceError) as info:
        RowChecker().check(data, (7, 1))
    return info.value.place, str(info.value)


def test_the_dialog_refuses_the_same_rows_at_their_cell(base, tmp_path):  # noqa: F811
    data = _rows(base)
    RowChecker().check(data, (7, 1))  # the good job's rows pass
    bad = _rows(base)
    bad["prediction"][1]["date"] = "2021-04-09"
    place, message = _place(bad)
    assert place == ("prediction", 1, "date") and "whose name or metadata says 2021-04-08" in message
    bad = _rows(base)
    _red_is_nir(bad, tmp_path)
    place, message = _place(bad)
    assert place == ("column", None, "fine.red_band") and "red and NIR are both band 2" in message
    bad = _rows(base)
    _fine_pixels_in_coarse(bad, tmp_path)
    place, message = _place(bad)
    assert place == ("prediction", 2, "coarse") and "finer than the fine images' 10 m" in message
    bad = _rows(base)
    _coarse_pixels_in_fine(bad, tmp_path)
    place, message = _place(bad)
    assert place == ("prediction", 2, "fine") and "pixels of 250 m" in message
    bad = _rows(base)
    bad["prediction"][1]["fine"] = bad["prediction"][0]["fine"]
    place, message = _place(bad)
    assert place == ("prediction", 1, "fine") and "is already in Prediction row 1" in message


def _patch_64(d: dict) -> None:
    d["train"]["patch"] = 64


def _same_fine_twice(d: dict) -> None:
    d["pairs"][2]["fine"] = d["pairs"][0]["fine"]


@pytest.mark.parametrize(
    "change, message",
    [
        (_patch_64, r"^error: Dataset field 'train.patch': 64 px is larger than the scene \(48 x 48 px\); use a patch of "
         r"at most 48 px\.$"),
        (lambda d: d.update(n_base=2), r"^error: Dataset field 'n_base': TSSTFN reads 2 base pairs, but 1 pair\(s\) lie "
         r"before target 2020-05-17; lower n_base"),
        (lambda d: d.update(n_base=3, targets=["2020-06-18"]), r"'n_base': TSSTFN reads 3 base pairs, but with 2020-06-18 "
         r"held out, 3 pairs are left to learn from \(n_base \+ 1 needed\)"),
        (_same_fine_twice, r"'pairs', pair of 2020-06-02: its fine \(Sentinel-2/Landsat\) raster 'fine_0.tif' is also"),
    ],
    ids=["patch", "n-base-before-target", "n-base-to-learn", "same-raster"],
)  # fmt: skip
def test_a_benchmark_tsstfn_cannot_run_exits_2(tmp_path, capsys, change, message):
    """Before, TSSTFN was skipped with a WARNING and the benchmark exited 0 with no TSSTFN row."""
    from conftest import make_paired_set

    path = Path(make_paired_set(tmp_path / "data"))
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    before = hashes(tmp_path / "data")
    assert cli.main(["benchmark", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    assert hashes(tmp_path / "data") == before
    assert not (tmp_path / "out" / "benchmark.csv").exists() and not (tmp_path / "out" / "aligned").exists()


def _output_is_a_file(d: dict, tmp: Path) -> None:
    (tmp / "in" / "afile").write_text("x")
    d["output_dir"] = str(tmp / "in" / "afile")


def _huge_patch(d: dict, tmp: Path) -> None:
    d["train"]["patch"] = 4096


def _truncated_last(d: dict, tmp: Path) -> None:
    path = _copy(d, tmp, d["prediction"][9]["fine"], "T51TXM_20210625T025549_B04B08_10m.tif")
    with open(path, "r+b") as fh:
        fh.truncate(Path(path).stat().st_size - 100)
    d["prediction"][9]["fine"] = path


def _samples_no_crs(d: dict, tmp: Path) -> None:
    path = tmp / "in" / "nocrs.shp"
    gdal.VectorTranslate(str(path), d["samples"], format="ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    d["samples"] = str(path)


def _declared_huge(d: dict, tmp: Path) -> None:
    src = gdal.Open(d["prediction"][0]["fine"])
    path = tmp / "in" / "huge.vrt"
    vrt = gdal.GetDriverByName("VRT").Create(str(path), 200_000, 200_000, 2, gdal.GDT_UInt16)
    vrt.SetGeoTransform(src.GetGeoTransform())
    vrt.SetProjection(src.GetProjection())
    vrt = None
    d["prediction"][0]["fine"] = str(path)


HEADER_ONLY = [
    ("output-is-a-file", _output_is_a_file, r"Cannot write into the output folder '.*afile'"),
    ("huge-patch", _huge_patch, r"'train.patch': 4096 px is larger than the scene \(96 x 96 px\)"),
    ("truncated-last-base-pair", _truncated_last, r"'T51TXM_20210625T025549_B04B08_10m.tif' is cut short"),
    ("samples-without-crs", _samples_no_crs, r"Samples 'nocrs.shp' have no CRS"),
    ("declared-200000-px", _declared_huge, r"study grid of 200000 x 200000 px need about .* GB free"),
]


@pytest.mark.parametrize("setup, message", [c[1:] for c in HEADER_ONLY], ids=[c[0] for c in HEADER_ONLY])
def test_header_only_checks_come_before_any_heavy_work(base, tmp_path, capsys, monkeypatch, setup, message):  # noqa: F811
    """The error arrives before the packages are imported (torch: 20 s on a loaded machine) and before alignment."""
    from tsstfn_crop_mapper.core import deps
    from tsstfn_crop_mapper.core.inputs import align

    steps: list[str] = []
    monkeypatch.setattr(deps, "check_dependencies", lambda *a, **k: steps.append("import torch, scikit-learn"))
    monkeypatch.setattr(align, "ndvi_to_grid", lambda *a, **k: steps.append("align") or pytest.fail("aligned"))
    setup(base, tmp_path)
    (tmp_path / "in" / "job.json").write_text(json.dumps(base))
    assert cli.main(["run", str(tmp_path / "in" / "job.json")]) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    assert steps == []  # nothing heavy ran before the error


def test_classify_refuses_a_truncated_raster_in_one_sentence(scene, tmp_path, capsys):
    """Its NDVI check read the pixels first and ended in GDAL's RuntimeError, a traceback."""
    root = Path(scene["root"])
    cut = tmp_path / "ndvi_cut.tif"
    shutil.copy(root / "truth" / "ndvi_20210831.tif", cut)
    with open(cut, "r+b") as fh:
        fh.truncate(cut.stat().st_size - 200)
    before = hashes(tmp_path)
    args = [str(root / "truth" / "ndvi_20210730.tif"), str(cut), "--samples", str(root / scene["samples"])]
    assert cli.main(["classify", *args, "--out", str(tmp_path / "out" / "map.tif")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and re.search(r"^error: 'ndvi_cut.tif' is cut short: .* copy it again\.$", err, re.M), err
    after = hashes(tmp_path)
    assert {k: after.get(k) for k in before} == before
