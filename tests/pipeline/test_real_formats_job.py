"""A job as the real world gives it: Landsat C2 L2 band files as the fine sensor, MODIS NDVI as one
multi-band stack (a band per date, dated in the band descriptions), no CRS anywhere (assume_aligned),
a label raster on the pixel grid; run through the command line as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

IDENTITY = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # what GDAL reports for a raster without georeferencing


def test_landsat_modis_stack_no_crs_job_runs_end_to_end(realistic_job):
    run = subprocess.run(
        [sys.executable, "-m", "tsstfn_crop_mapper", "run", str(realistic_job)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    out = realistic_job.parent / "run"
    fused = gdal.Open(str(out / "fused_ndvi_20210730.tif"))
    assert (fused.RasterXSize, fused.RasterYSize) == (96, 96) and not fused.GetProjection()  # the same pixel grid
    assert fused.GetGeoTransform() == IDENTITY and np.isfinite(fused.ReadAsArray()).mean() > 0.99
    report = (out / "report" / "run_report.md").read_text()
    assert "| STARFM |" in report and "| fused |" in report and "2021-09-05" in report
    assert (out / "crop_map_fused.tif").exists() and (out / "crop_map.gpkg").exists()
    assert "kappa (fused)" in run.stdout


def test_mixing_crs_and_no_crs_is_one_sentence(realistic_job, scene, tmp_path):
    job = json.loads(realistic_job.read_text())
    modis_with_crs = str(Path(scene["root"]) / scene["prediction"][0]["modis"])
    job["prediction"][0]["coarse"] = {"path": modis_with_crs, "product": "mod09gq"}
    job["output_dir"] = str(tmp_path / "out")
    job["samples"] = str(realistic_job.parent / job["samples"])
    (tmp_path / "job.json").write_text(json.dumps(job))
    cmd = [sys.executable, "-m", "tsstfn_crop_mapper", "run", str(tmp_path / "job.json")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "Some rasters have a coordinate reference system" in run.stderr and "and some have none" in run.stderr
    assert not (tmp_path / "out" / "aligned").exists()  # caught before any raster was aligned
