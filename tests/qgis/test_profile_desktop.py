"""The profile tool in the real QGIS desktop under Xvfb, on a demo run (issue 22's acceptance test).

A small demo run (the demo scene at 96 px, one epoch, MC dropout on) is made first; the desktop then
opens it (Open run…), a real mouse click through the map tool hits a pixel that a cloud hides on
2021-08-31 and that lies inside a field, and scripts/desktop_profile.py reports what the chart drew.
Every plotted value is checked here against the rasters read with GDAL: the fine images' NDVI from
their red and NIR bands (the product's scale and offset), the MODIS pixel under the point, the fused
NDVI, its MC-dropout std (the ± 2 std band), STARFM; the cloudy date is a gap; the field click gives
the field's mean; the CSV export holds the same numbers. Skipped where xvfb-run or qgis is missing.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

sys.path.insert(0, str(Path(__file__).parent))
from test_desktop import _desktop  # noqa: E402 (the same Xvfb profile set-up as the first-run test)

pytestmark = pytest.mark.skipif(
    not (shutil.which("xvfb-run") and shutil.which("qgis")), reason="needs xvfb-run and the QGIS desktop (apt install qgis xvfb)"
)
CLOUDY = "2021-08-31"
SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)  # the scene classes the 'scl' mask kind hides


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from tsstfn_crop_mapper.core.demo.job import DEMO_TRAIN, scene_job
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    root = tmp_path_factory.mktemp("profile_demo")
    manifest = generate_scene(root / "scene", size=96, seed=42)
    train = replace(DEMO_TRAIN, max_epochs=1, width=4, patch=32)
    job = scene_job(
        root / "scene", root / "demo_run", train=train, name="demo_run", fields=manifest["fields"], field_id="field_id",
        uncertainty="on", mc_passes=2,
    )  # fmt: skip
    run_job(job)
    return root / "demo_run", json.loads((root / "demo_run" / "report" / "run_report.json").read_text())["job"]


def _pixel(path, x, y, band=1):
    """The value of band ``band`` of ``path`` at the pixel under the map point (x, y) in the study grid's CRS (UTM 51N)."""
    ds = gdal.Open(str(path))
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32651)
    own = osr.SpatialReference(wkt=ds.GetProjection())
    for s in (utm, own):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    px, py, _ = osr.CoordinateTransformation(utm, own).TransformPoint(x, y)
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    col, row = int(math.floor((px - x0) / dx)), int(math.floor((py - y0) / dy))
    return float(ds.GetRasterBand(band).ReadAsArray(col, row, 1, 1)[0, 0])


def _ndvi(path, x, y, offset, fill=None):
    red, nir = _pixel(path, x, y, 1), _pixel(path, x, y, 2)
    if fill is not None and fill in (red, nir):
        return float("nan")
    red, nir = (red + offset) * 1e-4, (nir + offset) * 1e-4
    return (nir - red) / (nir + red)


def _field_ids(run_dir, fields):
    """The field id of each study-grid pixel (pixel centres inside a polygon), rasterized by GDAL here."""
    fused = gdal.Open(str(next(run_dir.glob("fused_ndvi_*.tif"))))
    mem = gdal.GetDriverByName("MEM").Create("", fused.RasterXSize, fused.RasterYSize, 1, gdal.GDT_Int32)
    mem.SetGeoTransform(fused.GetGeoTransform())
    mem.SetProjection(fused.GetProjection())
    src = ogr.Open(fields)
    gdal.RasterizeLayer(mem, [1], src.GetLayer(0), options=["ATTRIBUTE=field_id"])
    return mem.GetRasterBand(1).ReadAsArray(), fused.GetGeoTransform()


def _choose_pixel(run_dir, job):
    """A pixel inside a field whose 2021-08-31 fine image is cloud (SCL 3, 8, 9 or 10) there."""
    ids, gt = _field_ids(run_dir, job["fields"])
    target = next(t for t in job["targets"] if t["date"] == CLOUDY)
    for row in range(4, ids.shape[0] - 4):
        for col in range(4, ids.shape[1] - 4):
            if ids[row, col] <= 0:
                continue
            x, y = gt[0] + (col + 0.5) * gt[1], gt[3] + (row + 0.5) * gt[5]
            if _pixel(target["fine"]["mask"], x, y) in (3, 8, 9, 10) and (ids == ids[row, col]).sum() > 20:
                return col, row, x, y, ids
    pytest.fail("the demo scene has no cloud over a field on 2021-08-31")


def test_a_click_in_the_desktop_plots_the_raster_values(demo_run, tmp_path):
    run_dir, job = demo_run
    col, row, x, y, ids = _choose_pixel(run_dir, job)
    out = tmp_path / "shots"
    env = {
        "TSSTFN_RUN": str(run_dir),
        "TSSTFN_PIXEL": f"{col},{row}",
        "TSSTFN_FIELD_PIXEL": f"{col},{row}",
        "TSSTFN_DATE": CLOUDY,
    }
    proc = _desktop(out, "scripts/desktop_profile.py", env, timeout=300)
    path = out / "profile.json"
    assert path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(path.read_text())
    assert not r["errors"] and r.get("done"), r["errors"]
    assert r["open_ok"] and r["tool_active"] and r["pixel"] == [col, row], r
    assert "TSSTFN NDVI 2021-07-30" in r["layers"] and "STARFM NDVI 2021-08-31" in r["layers"]
    drawn = {label: dict(points) for label, points in r["plotted"].items()}
    # observed: every prediction-year fine image, NDVI from its own red and NIR DNs
    observed = drawn["Sentinel-2/Landsat (observed)"]
    pairs = job["prediction"] + job["targets"]
    assert len(observed) == len(pairs)
    for p in pairs:
        fine = p["fine"]["path"] if isinstance(p["fine"], dict) else p["fine"]
        expected = _ndvi(fine, x, y, -1000.0, 0)
        mask = p["fine"].get("mask") if isinstance(p["fine"], dict) else None
        cloudy = mask is not None and _pixel(mask, x, y) in SCL_INVALID
        assert cloudy or p["date"] != CLOUDY
        if cloudy:
            assert observed[p["date"]] is None  # a gap
            assert drawn["Sentinel-2/Landsat (observed), masked"][p["date"]] == pytest.approx(expected, abs=1e-5)
        else:
            assert observed[p["date"]] == pytest.approx(expected, abs=1e-5), p["date"]
    coarse = drawn["MODIS (coarse)"]
    for p in pairs:  # MODIS's own 250 m pixel under the point
        assert coarse[p["date"]] == pytest.approx(_ndvi(p["coarse"], x, y, 0.0, -28672), abs=1e-5), p["date"]
    for t in job["targets"]:
        stamp = t["date"].replace("-", "")
        fused = _pixel(run_dir / f"fused_ndvi_{stamp}.tif", x, y)
        assert drawn["TSSTFN (fused)"][t["date"]] == pytest.approx(fused, abs=1e-6)
        std = _pixel(run_dir / f"uncertainty_{stamp}.tif", x, y)
        assert drawn["_band_high"][t["date"]] - fused == pytest.approx(2 * std, abs=1e-6)
        assert fused - drawn["_band_low"][t["date"]] == pytest.approx(2 * std, abs=1e-6)
        assert drawn["STARFM"][t["date"]] == pytest.approx(_pixel(run_dir / f"starfm_ndvi_{stamp}.tif", x, y), abs=1e-6)
    assert r["hover"].startswith(f"{CLOUDY}  TSSTFN (fused): ") and "(2 std)" in r["hover"]
    # the CSV export: the same numbers
    with open(r["export_csv"]) as fh:
        rows = {(e["role"], e["date"]): e for e in csv.DictReader(fh)}
    assert rows["observed", CLOUDY]["value"] == ""
    for t in job["targets"]:
        assert float(rows["fused", t["date"]]["value"]) == pytest.approx(drawn["TSSTFN (fused)"][t["date"]], abs=1e-9)
        assert float(rows["starfm", t["date"]]["value"]) == pytest.approx(drawn["STARFM"][t["date"]], abs=1e-9)
    assert Path(r["export_png"]).stat().st_size > 10000 and "<svg" in Path(r["export_svg"]).read_text()[:400]
    # the field toggle: the field's mean over its pixels
    field = ids == ids[row, col]
    assert r["field_id"] == str(ids[row, col]) and r["field_pixels"] == int(field.sum())
    field_drawn = {label: dict(points) for label, points in r["field_plotted"].items()}
    for t in job["targets"]:
        arr = gdal.Open(str(run_dir / f"fused_ndvi_{t['date'].replace('-', '')}.tif")).ReadAsArray()
        assert field_drawn["TSSTFN (fused)"][t["date"]] == pytest.approx(float(np.nanmean(arr[field])), abs=1e-5)
    # the compare view: fused beside real (fused - the run's difference) and STARFM, differences on their ramp
    assert r["compare_titles"] == [
        f"TSSTFN {CLOUDY}", f"real {CLOUDY}", f"STARFM {CLOUDY}", "TSSTFN - real", "STARFM - real",
    ], r["compare_titles"]  # fmt: skip
    assert r["compare_linked"]
    for name in ("profile_chart", "profile_field", "profile_compare"):
        assert (out / f"{name}.png").stat().st_size > 20000
