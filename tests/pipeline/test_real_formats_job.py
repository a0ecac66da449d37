"""A job as the real world gives it: Landsat C2 L2 band files as the fine sensor, MODIS NDVI as one
multi-band stack (a band per date, dated in the band descriptions), no CRS anywhere (assume_aligned),
a label raster on the pixel grid; run through the command line as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.pipeline.job import dated
from tsstfn_crop_mapper.core.pipeline.run import prepare

IDENTITY = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # what GDAL reports for a raster without georeferencing


def _write(path: Path, bands: list[np.ndarray], dtype: int, descriptions: list[str] | None = None) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), bands[0].shape[1], bands[0].shape[0], len(bands), dtype)
    ds.SetGeoTransform(IDENTITY)  # and no projection
    for i, b in enumerate(bands, 1):
        ds.GetRasterBand(i).WriteArray(b)
        if descriptions:
            ds.GetRasterBand(i).SetDescription(descriptions[i - 1])
    ds = None
    return str(path)


@pytest.fixture(scope="module")
def realistic(scene, tmp_path_factory):
    """The synthetic scene rewritten as Landsat scene folders, MODIS stacks per year and a label raster, without CRS."""
    root = Path(scene["root"])
    out = tmp_path_factory.mktemp("realistic")
    aligned = prepare(scene_job(root, out / "tmp"), out / "tmp" / "aligned")  # MODIS NDVI on the fine grid
    modis = {p.date: p.coarse for p in (*aligned.reference, *aligned.prediction, *aligned.targets)}
    job: dict = {"reference": [], "prediction": [], "targets": []}
    stacks = {}
    for year in (2020, 2021):
        dates = sorted(d for d in modis if d.year == year)
        stacks[year] = (
            _write(
                out / f"MOD13Q1_NDVI_{year}_stack.tif",
                [np.rint(gdal.Open(modis[d]).ReadAsArray() * 10000).astype(np.int16) for d in dates],
                gdal.GDT_Int16,
                [f"NDVI {d.isoformat()}" for d in dates],
            ),
            dates,
        )
    scene_json = json.loads((root / "scene.json").read_text())
    for role in ("reference", "prediction", "targets"):
        for entry in dated(scene_job(root, out / "tmp").__getattribute__(role)):
            stack, dates = stacks[entry.date.year]
            coarse = {"path": stack, "band": dates.index(entry.date) + 1, "scale": 0.0001}
            pair: dict = {"coarse": coarse}
            if entry.fine is not None and (role != "targets" or entry.date.month == 9):
                s2 = gdal.Open(entry.fine.path).ReadAsArray().astype(np.float64)  # B04, B08: DN = reflectance x 10000 + 1000
                scene_id = f"LC08_L2SP_118027_{entry.date:%Y%m%d}_{entry.date:%Y%m%d}_02_T1"
                folder = out / scene_id
                folder.mkdir()
                for band, values in ((4, s2[0]), (5, s2[1])):
                    dn = np.where(values > 0, ((values - 1000) / 10000 + 0.2) / 2.75e-5, 0)
                    _write(folder / f"{scene_id}_SR_B{band}.TIF", [dn.astype(np.uint16)], gdal.GDT_UInt16)
                pair["fine"] = {"path": str(folder), "mask": False}
            job[role].append(pair)
    labels = gdal.Open(str(root / scene_json["labels"]["2021"])).ReadAsArray()
    _write(out / "labels_2021_pixels.tif", [labels.astype(np.uint8)], gdal.GDT_Byte)
    job.update(
        output_dir="run",
        fine_product="landsat_c2l2",
        coarse_product="ndvi",
        assume_aligned=True,
        pixel_size_m=10,
        samples="labels_2021_pixels.tif",
        n_base=5,
        compare=["starfm", "coarse_cubic"],
        method_params={"starfm": {"window_m": 50}},
        formats=["gtiff", "gpkg"],
        train={**TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1).as_dict(), "device": "cpu"},
    )
    path = out / "job.json"
    path.write_text(json.dumps(job, indent=1))
    return path


def test_landsat_modis_stack_no_crs_job_runs_end_to_end(realistic):
    run = subprocess.run(
        [sys.executable, "-m", "tsstfn_crop_mapper", "run", str(realistic)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    out = realistic.parent / "run"
    fused = gdal.Open(str(out / "fused_ndvi_20210730.tif"))
    assert (fused.RasterXSize, fused.RasterYSize) == (96, 96) and not fused.GetProjection()  # the same pixel grid
    assert fused.GetGeoTransform() == IDENTITY and np.isfinite(fused.ReadAsArray()).mean() > 0.99
    report = (out / "report" / "run_report.md").read_text()
    assert "| STARFM |" in report and "| fused |" in report and "2021-09-05" in report
    assert (out / "crop_map_fused.tif").exists() and (out / "crop_map.gpkg").exists()
    assert "kappa (fused)" in run.stdout


def test_mixing_crs_and_no_crs_is_one_sentence(realistic, scene, tmp_path):
    job = json.loads(realistic.read_text())
    modis_with_crs = str(Path(scene["root"]) / scene["prediction"][0]["modis"])
    job["prediction"][0]["coarse"] = {"path": modis_with_crs, "product": "mod09gq"}
    job["output_dir"] = str(tmp_path / "out")
    job["samples"] = str(realistic.parent / job["samples"])
    (tmp_path / "job.json").write_text(json.dumps(job))
    cmd = [sys.executable, "-m", "tsstfn_crop_mapper", "run", str(tmp_path / "job.json")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "Some rasters have a coordinate reference system" in run.stderr and "and some have none" in run.stderr
    assert not (tmp_path / "out" / "aligned").exists()  # caught before any raster was aligned
