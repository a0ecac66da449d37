"""Hostile input through the command line: every bad job ends with exit status 2, one sentence naming the field or
file, no traceback, and inputs byte-identical afterwards; nothing is lost, nothing half-written is left."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

import tsstfn_crop_mapper
from tsstfn_crop_mapper.core import cli
from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.pipeline.job import job_to_dict

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1)
PLUGINS = str(Path(tsstfn_crop_mapper.__file__).resolve().parent.parent)


def hashes(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders``."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for f in folders for p in sorted(Path(f).rglob("*")) if p.is_file()
    }


@pytest.fixture
def base(scene, tmp_path):
    """A good job's dictionary (outputs in tmp/out) and a folder tmp/in for the test's own bad inputs."""
    (tmp_path / "in").mkdir()
    return job_to_dict(scene_job(scene["root"], tmp_path / "out", train=TINY, n_base=5, compare=[]))


def _copy(src: str, tmp: Path, name: str) -> str:
    dst = tmp / "in" / name
    shutil.copy(src, dst)
    return str(dst)


def _samples_at(d: dict, tmp: Path) -> None:
    """The samples kept as <output_dir>/crop_map.gpkg, the name of an output."""
    Path(d["output_dir"]).mkdir()
    d["samples"] = _copy(d["samples"], tmp, "x.gpkg")
    d["samples"] = str(shutil.move(d["samples"], Path(d["output_dir"]) / "crop_map.gpkg"))


def _samples_without_crs(d: dict, tmp: Path) -> None:
    """The samples as a Shapefile without its .prj (the commonest way a vector file loses its CRS)."""
    path = tmp / "in" / "nocrs.shp"
    gdal.VectorTranslate(str(path), d["samples"], format="ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    assert ogr.Open(str(path)).GetLayer(0).GetSpatialRef() is None
    d["samples"] = str(path)


def _gpkg_without_crs(d: dict, tmp: Path) -> None:
    """A GeoPackage layer written without a CRS: GDAL reports its "Undefined geographic SRS"."""
    path = tmp / "in" / "nocrs.gpkg"
    gdal.VectorTranslate(str(path), d["samples"], options="-a_srs EPSG:4326")  # then unset the layer's srs_id
    ds = ogr.Open(str(path), 1)
    ds.ExecuteSQL("UPDATE gpkg_geometry_columns SET srs_id = 0")
    ds.ExecuteSQL("UPDATE gpkg_contents SET srs_id = 0")
    ds = None
    d["samples"] = str(path)


def _wrong_crs(d: dict, tmp: Path) -> None:
    """UTM coordinates labelled as WGS 84 degrees (a CRS assigned, not reprojected)."""
    gdal.VectorTranslate(str(tmp / "in" / "wrongcrs.gpkg"), d["samples"], options="-a_srs EPSG:4326")
    d["samples"] = str(tmp / "in" / "wrongcrs.gpkg")


def _fine_grid(d: dict) -> tuple[tuple, int, int, str]:
    ds = gdal.Open(d["prediction"][0]["fine"])
    return ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize, ds.GetProjection()


def _label_raster(d: dict, tmp: Path, shift_m: float = 0.0, classes: int = 3) -> str:
    gt, w, h, wkt = _fine_grid(d)
    path = tmp / "in" / "labels.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), w, h, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((gt[0] + shift_m, *gt[1:]))
    ds.SetProjection(wkt)
    labels = (np.arange(w * h).reshape(h, w) % classes + 1).astype(np.uint8)
    ds.GetRasterBand(1).WriteArray(labels)
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds = None
    return str(path)


def _labels_far_away(d: dict, tmp: Path) -> None:
    d["samples"], d["class_field"] = _label_raster(d, tmp, shift_m=100_000.0), ""


def _single_class(d: dict, tmp: Path) -> None:
    d["samples"], d["class_field"] = _label_raster(d, tmp, classes=1), ""


def _samples_not_vector(d: dict, tmp: Path) -> None:
    (tmp / "in" / "samples.gpkg").write_text("field,crop\n1,soybean\n")
    d["samples"] = str(tmp / "in" / "samples.gpkg")


def _truncated_raster(d: dict, tmp: Path) -> None:
    path = _copy(d["reference"][2]["fine"], tmp, "truncated.tif")
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    d["reference"][2]["fine"] = path


def _corrupt_raster(d: dict, tmp: Path) -> None:
    """Its header intact, its compressed tiles overwritten: found when the pixels are read."""
    path = _copy(d["reference"][2]["fine"], tmp, "corrupt.tif")
    ds = gdal.Open(path)
    offset = int(ds.GetRasterBand(1).GetMetadataItem("BLOCK_OFFSET_0_0", "TIFF"))
    ds = None
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * 2000)
    d["reference"][2]["fine"] = path


def _reflectance_as_ndvi(d: dict, tmp: Path) -> None:
    d["fine_product"] = "ndvi"  # the fine rasters are red/NIR reflectance x 10000


def _ndvi_as_reflectance(d: dict, tmp: Path) -> None:
    """A two-band float NDVI raster where Sentinel-2 L2A red/NIR DNs are expected."""
    gt, w, h, wkt = _fine_grid(d)
    path = tmp / "in" / "ndvi_pair.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), w, h, 2, gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    ds.SetProjection(wkt)
    for b in (1, 2):
        ds.GetRasterBand(b).WriteArray(np.random.default_rng(b).uniform(0.1, 0.9, (h, w)))
    ds = None
    d["prediction"][0]["fine"] = str(path)


def _corrupt_model(d: dict, tmp: Path) -> None:
    (tmp / "in" / "m.tsstfn").write_bytes(b"PK\x03\x04" + os.urandom(200))
    d["model"] = str(tmp / "in" / "m.tsstfn")


def _coarse_elsewhere(d: dict, tmp: Path) -> None:
    path = str(tmp / "in" / "far.tif")
    src = gdal.Open(d["targets"][0]["coarse"])
    gt = src.GetGeoTransform()
    far = gdal.Translate(
        path, src, outputBounds=[gt[0] + 5e6, gt[3], gt[0] + 5e6 + gt[1] * src.RasterXSize, gt[3] + gt[5] * src.RasterYSize]
    )
    far = None  # noqa: F841 (closes the file)
    d["targets"][0]["coarse"] = path


def _all_nodata(d: dict, tmp: Path) -> None:
    gt, w, h, wkt = _fine_grid(d)
    path = tmp / "in" / "empty.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), w, h, 2, gdal.GDT_UInt16)
    ds.SetGeoTransform(gt)
    ds.SetProjection(wkt)
    for b in (1, 2):
        ds.GetRasterBand(b).SetNoDataValue(0)
        ds.GetRasterBand(b).Fill(0)
    ds = None
    d["reference"][1]["fine"] = str(path)


def _output_under_a_file(d: dict, tmp: Path) -> None:
    (tmp / "in" / "not_a_folder").write_text("a file")
    d["output_dir"] = str(tmp / "in" / "not_a_folder" / "out")


def _field(key: str, value: object):
    def setup(d: dict, tmp: Path) -> None:
        node = d
        *parents, leaf = key.split(".")
        for k in parents:
            node = node[k]
        node[leaf] = value

    return setup


CASES = [
    ("name-path", _field("name", "../x"), r"'name': '../x' is not a plain name"),
    ("bool-string", _field("save_model", "false"), r"'save_model': 'false' is not true or false"),
    ("int-float", _field("n_base", 6.9), r"'n_base': 6.9 is not an integer"),
    ("number-string", _field("test_fraction", "0.3"), r"'test_fraction': '0.3' is not a number"),
    ("epochs", _field("train.max_epochs", 0), r"'train.max_epochs': 0 is out of range; it must be >= 1"),
    ("patch-16", _field("train.patch", 40), r"'train.patch': 40 is not a multiple of 16"),
    ("patch-scene", _field("train.patch", 128), r"'train.patch': 128 px is larger than the scene \(96 x 96 px\)"),
    ("device", _field("train.device", "gpu"), r"'train.device': 'gpu' is not a device"),
    ("lstm-rows", _field("train.lstm_rows", [4, 2]), r"'train.lstm_rows': \[4, 2\] is not three positive integers"),
    ("trees", _field("forest.n_estimators", 0), r"'forest.n_estimators': 0 is out of range"),
    ("output-not-writable", _output_under_a_file, r"Cannot write into the output folder '.*not_a_folder/out'"),
    ("samples-in-output", _samples_at, r"The input '.*crop_map.gpkg' lies in the output folder"),
    ("samples-no-crs", _samples_without_crs, r"Samples 'nocrs.shp' have no CRS"),
    ("gpkg-undefined-crs", _gpkg_without_crs, r"Samples 'nocrs.gpkg' have no CRS"),
    ("labels-far-away", _labels_far_away, r"Label raster 'labels.tif' is not on the study grid: .* \(740000, 5150000\)"),
    ("single-class", _single_class, r"'labels.tif' hold one class \(1\) .* at least two classes"),  # codes: no names
    ("samples-not-vector", _samples_not_vector, r"Samples 'samples.gpkg' are neither a vector file"),
    ("truncated-raster", _truncated_raster, r"'truncated.tif' is cut short: its header places pixel data up to byte \d+, but"),
    ("corrupt-raster", _corrupt_raster, r"^error: GDAL cannot read the pixels of 'corrupt.tif' \(band 1: .*copy it again"),
    ("samples-wrong-crs", _wrong_crs, r"None of the samples in 'wrongcrs.gpkg' falls inside the study area"),
    ("reflectance-as-ndvi", _reflectance_as_ndvi, r"'T51TXM_.*' has NDVI values from .* outside \[-1, 1\]\. .*red/NIR"),
    (
        "ndvi-as-reflectance",
        _ndvi_as_reflectance,
        r"'ndvi_pair.tif': 100 % of its pixels lie outside the valid range of "
        r"product s2_l2a \(1 to 65534; values from 0.1",
    ),
    ("corrupt-model", _corrupt_model, r"'m.tsstfn' is not a readable TSSTFN model file"),
    ("coarse-elsewhere", _coarse_elsewhere, r"'far.tif' does not overlap"),
    ("all-nodata", _all_nodata, r"'empty.tif' has no valid pixel"),
]


@pytest.mark.parametrize("setup, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_job_on_the_command_line(scene, base, tmp_path, capsys, setup, message):
    setup(base, tmp_path)
    job = tmp_path / "in" / "job.json"
    job.write_text(json.dumps(base))
    before = hashes(scene["root"], tmp_path / "in", tmp_path / "out")
    assert cli.main(["run", str(job)]) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert __import__("re").search(message, lines[0]), lines[0]
    after = hashes(scene["root"], tmp_path / "in", tmp_path / "out")
    assert {k: after.get(k) for k in before} == before  # every input (and file already there) byte-identical
    assert [p for p in after if ".part" in p] == []  # nothing half-written


def test_bad_job_fails_in_the_first_second_before_any_raster_is_opened(base, tmp_path, monkeypatch, capsys):
    opened = []
    for fn in ("Open", "OpenEx"):
        real = getattr(gdal, fn)
        monkeypatch.setattr(gdal, fn, lambda *a, _real=real, **k: opened.append(a[0]) or _real(*a, **k))
    bad = [("train.max_epochs", 0), ("forest.max_depth", "deep"), ("train.lstm_rows", [4]), ("name", "a/b")]
    for key, value in bad:
        d = json.loads(json.dumps(base))
        _field(key, value)(d, tmp_path)
        (tmp_path / "job.json").write_text(json.dumps(d))
        t0 = time.perf_counter()
        assert cli.main(["run", str(tmp_path / "job.json")]) == 2
        assert time.perf_counter() - t0 < 1.0, key
        assert f"'{key}'" in capsys.readouterr().err
    assert opened == []  # not one raster (nor vector) was opened
    assert not (tmp_path / "out").exists()


def _cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "tsstfn_crop_mapper", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, **kw,
    )  # fmt: skip


def test_a_bad_job_in_a_subprocess_says_one_sentence(base, tmp_path):
    _field("train.batch_size", "8")(base, tmp_path)
    (tmp_path / "job.json").write_text(json.dumps(base))
    proc = _cli(["run", str(tmp_path / "job.json")])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "error: Job field 'train.batch_size': '8' is not an integer."


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_with_one_line_and_the_next_run_cleans_up(scene, base, tmp_path, sig):
    base["train"].update(max_epochs=500, patience=500)  # long enough to be stopped while training
    (tmp_path / "job.json").write_text(json.dumps(base))
    proc = _cli(["run", str(tmp_path / "job.json")])
    deadline = time.time() + 120
    out = Path(base["output_dir"])
    while not list(out.glob("aligned/targets/*.tif")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "stopped; nothing half-written was left"
    assert list(out.rglob("*.part*")) == [] and not (out / "tsstfn_run.tsstfn").exists()
    assert json.loads((out / "run_manifest.json").read_text())["status"] == "stopped"
    # a run killed outright (power cut) leaves a .part file: the next run in the folder removes it
    (out / ".fused_ndvi_20210730.tif.0a1b.part").write_bytes(b"half")
    base["train"].update(max_epochs=1, patience=1)
    (tmp_path / "job.json").write_text(json.dumps(base))
    assert cli.main(["run", str(tmp_path / "job.json")]) == 0
    assert list(out.rglob("*.part*")) == []


def test_disk_full_is_one_sentence_and_the_model_is_kept(base, tmp_path):
    """A file-size limit (RLIMIT_FSIZE; SIGXFSZ ignored) between the model (~0.7 MB) and the forest file (~0.8 MB)."""
    (tmp_path / "job.json").write_text(json.dumps(base))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (780_000, 780_000))

    proc = _cli(["run", str(tmp_path / "job.json")], preexec_fn=limit)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "disk is full or a file-size limit was reached" in err.strip().splitlines()[-1]
    out = Path(base["output_dir"])
    model = out / "tsstfn_run.tsstfn"
    assert model.exists() and model.stat().st_size > 500_000
    from tsstfn_crop_mapper.core.fusion.modelfile import load_model

    load_model(model)  # complete and intact
    assert list(out.rglob("*.part*")) == []


def test_a_different_run_is_moved_aside_never_mixed(base, tmp_path, capsys):
    from tsstfn_crop_mapper.core.errors import CancelledError
    from tsstfn_crop_mapper.core.pipeline.job import job_from_dict
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    out = Path(base["output_dir"])
    (tmp_path / "a.json").write_text(json.dumps(base))
    assert cli.main(["run", str(tmp_path / "a.json")]) == 0
    assert json.loads((out / "run_manifest.json").read_text())["status"] == "complete"
    assert cli.main(["run", str(tmp_path / "a.json")]) == 0  # the same run again: nothing is moved aside
    assert not (out / "previous_runs").exists()
    first = hashes(out)

    other = job_from_dict({**base, "n_base": 4})  # another run, stopped once its first targets are aligned
    with pytest.raises(CancelledError):
        run_job(other, is_cancelled=lambda: any(out.glob("aligned/targets/*.tif")))
    moved = list((out / "previous_runs").iterdir())
    assert len(moved) == 1
    assert not (out / "crop_map_fused.tif").exists() and not (out / "report").exists()  # no old output beside new
    for name in ("crop_map_fused.tif", "report/run_report.md", "tsstfn_run.tsstfn"):
        assert hashlib.sha256((moved[0] / name).read_bytes()).hexdigest() == first[str(out / name)]  # kept, unchanged
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["status"] == "stopped" and manifest["job"]["n_base"] == 4


def test_a_folder_another_live_run_writes_into_is_refused(base, tmp_path, capsys):
    out = Path(base["output_dir"])
    out.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        manifest = {"status": "running", "pid": other.pid, "host": socket.gethostname(), "started": "2026-11-25T10:00:00"}
        (out / "run_manifest.json").write_text(json.dumps(manifest))
        (tmp_path / "job.json").write_text(json.dumps(base))
        assert cli.main(["run", str(tmp_path / "job.json")]) == 2
        err = capsys.readouterr().err
        assert f"error: Another run (process {other.pid}, started 2026-11-25T10:00:00) is writing into" in err
    finally:
        other.kill()
        other.wait()
    assert cli.main(["run", str(tmp_path / "job.json")]) == 0  # its process gone, the folder is free again


def test_edited_or_mismatched_model_on_the_command_line(base, tmp_path, capsys):
    """The model of a first run, then the same model with edited metadata, and with a job asking for another strategy."""
    import io

    import torch

    (tmp_path / "a.json").write_text(json.dumps(base))
    assert cli.main(["run", str(tmp_path / "a.json")]) == 0
    model = Path(base["output_dir"]) / "tsstfn_run.tsstfn"
    payload = torch.load(io.BytesIO(model.read_bytes()), weights_only=True)
    edited = {**payload, "meta": {**payload["meta"], "normalisation": {"mean": 0.9, "std": 0.1}}}
    torch.save(edited, tmp_path / "in" / "edited.tsstfn")
    shutil.copy(model, tmp_path / "in" / "good.tsstfn")
    cases = [
        ({"model": str(tmp_path / "in" / "edited.tsstfn")}, "'edited.tsstfn' failed its content check"),
        ({"model": str(tmp_path / "in" / "good.tsstfn"), "strategy": "STR_C"},
         "Model 'good.tsstfn' was trained with strategy STR_B; the job asks for STR_C. Set 'strategy' to \"STR_B\""),
        ({"model": str(tmp_path / "in" / "good.tsstfn"), "n_base": 4},
         "Model 'good.tsstfn' reads 5 base pairs; the job asks for 4"),
    ]  # fmt: skip
    capsys.readouterr()
    for patch, message in cases:
        (tmp_path / "b.json").write_text(json.dumps({**base, **patch, "output_dir": str(tmp_path / "b")}))
        before = hashes(tmp_path / "in")
        assert cli.main(["run", str(tmp_path / "b.json")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert hashes(tmp_path / "in") == before
        assert [p for p in (tmp_path / "b").rglob("*") if p.is_file()] == []  # refused before any work
