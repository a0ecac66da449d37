"""Fixes of the fetch's code review: mosaicked masks from the scene of their image pixel, resume on the task's grid,
windowed writing, the cloud over the AOI over a day's mosaic without no-data, and the critical season's edge cases."""

from __future__ import annotations

import datetime as dt
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fetch.conftest import AOI, request_dict, write_cog
from osgeo import gdal, osr

from tsstfn_crop_mapper.core.fetch import download as dl
from tsstfn_crop_mapper.core.fetch.catalog import get_collection
from tsstfn_crop_mapper.core.fetch.download import FileTask, fine_grid, plan_files, write_task
from tsstfn_crop_mapper.core.fetch.pairing import pair_scenes
from tsstfn_crop_mapper.core.fetch.request import FetchRequest, critical, request_from_dict
from tsstfn_crop_mapper.core.fetch.run import find_pairs, run_fetch
from tsstfn_crop_mapper.core.fetch.search import Scene, aoi_cloud, measure_clouds
from tsstfn_crop_mapper.core.inputs.products import get_mask_kind

D = dt.date
QA_CLEAR, QA_CLOUD = 21824, 22280  # Landsat C2 QA_PIXEL: clear; dilated cloud + cloud (high confidence)


def _aoi_utm() -> tuple[float, float, float, float]:
    wgs, utm = osr.SpatialReference(), osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    utm.ImportFromEPSG(32632)
    for s in (wgs, utm):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(wgs, utm).TransformBounds(*AOI, 21)


def _half_scenes(root: Path, base: str, kind: str) -> tuple[dict[str, str], dict[str, str], int]:
    """Two scenes of one day: the first covers the AOI's west half, the second its east half (each 1.5 km beyond).

    ``kind`` ``landsat`` (30 m red/NIR, nodata 0, QA_PIXEL without nodata: the first clear, the second cloudy) or
    ``s2`` (SCL at 20 m, nodata 0: the first clear, the second cloud). Returns the two scenes' asset URLs and the
    fine grid's column of the split.
    """
    xmin, ymin, xmax, ymax = _aoi_utm()
    pixel = 30 if kind == "landsat" else 20
    split = round((xmin + xmax) / 2 / 60) * 60  # on the 20 m and 30 m pixels of the scenes and the fine grid
    top = math.ceil((ymax + 1500) / 60) * 60
    height = int((top - (ymin - 1500)) // pixel)
    west_x = math.floor((xmin - 1500) / 60) * 60
    out = []
    for name, x0, x1, seed in (("west", west_x, split, 1), ("east", split, split + (split - west_x), 2)):
        width = int((x1 - x0) // pixel)
        assets = {}
        if kind == "landsat":
            rng = np.random.default_rng(seed)
            red = rng.integers(8000, 9000, (height, width)).astype(np.uint16)
            nir = rng.integers(20000, 21000, (height, width)).astype(np.uint16)
            qa = np.full((height, width), QA_CLEAR if name == "west" else QA_CLOUD, np.uint16)
            layers = (("red", red, 0), ("nir08", nir, 0), ("qa_pixel", qa, None))
            for key, values, nodata in layers:
                path = write_cog(root / f"{base}_{name}_{key}.tif", [values], "EPSG:32632", (x0, top), pixel,
                                 gdal.GDT_UInt16, nodata)  # fmt: skip
                assets[key] = path.name
        else:
            scl = np.full((height, width), 4 if name == "west" else 9, np.uint8)
            assets["scl"] = write_cog(root / f"{base}_{name}_scl.tif", [scl], "EPSG:32632", (x0, top), pixel,
                                      gdal.GDT_Byte, 0).name  # fmt: skip
        out.append(assets)
    grid_x0 = math.floor(xmin / 30) * 30
    return out[0], out[1], int((split - grid_x0) // 30)


def _landsat_scene(stac, name: str, files: dict[str, str], tile: str) -> Scene:
    assets = {"red": files["red"], "nir": files["nir08"], "mask": files["qa_pixel"]}
    return Scene(name, "landsat-c2-l2", "landsat", D(2021, 6, 1), D(2021, 6, 1),
                 {k: f"{stac.base}/{v}" for k, v in assets.items()}, 10.0, None, "LC08", tile)  # fmt: skip


def test_a_mosaicked_landsat_mask_keeps_the_second_scenes_clouds(stac, tmp_path):
    west, east, split = _half_scenes(stac.root, "ls_mosaic", "landsat")
    scenes = (_landsat_scene(stac, "LC08_west", west, "191028"), _landsat_scene(stac, "LC08_east", east, "191029"))
    request = request_from_dict(request_dict(stac, tmp_path / "o", fine_collection="landsat-c2-l2"))
    grid, spec = fine_grid(request), get_collection("landsat-c2-l2")
    image = write_task(FileTask(tmp_path / "o/ls.tif", "fine", ("red", "nir"), scenes, grid, spec, D(2021, 6, 1)))
    mask = write_task(FileTask(tmp_path / "o/ls_QA_PIXEL.tif", "fine_mask", ("mask",), scenes, grid, spec, D(2021, 6, 1)))
    red = gdal.Open(str(image)).ReadAsArray()[0]
    qa = gdal.Open(str(mask)).ReadAsArray()
    assert red.shape == grid.size[::-1] and 0 < split < red.shape[1]
    assert (red > 0).all()  # the two halves fill the AOI
    assert (qa[:, :split] == QA_CLEAR).all()  # the first scene's half: its own clear mask
    assert (qa[:, split:] == QA_CLOUD).all()  # the second scene's half: its clouds (was 0, read as clear)
    invalid = get_mask_kind("qa_pixel").invalid(qa.astype(np.int64))
    assert not invalid[:, :split].any() and invalid[:, split:].all()


def test_resume_rewrites_files_of_another_aoi(stac, tmp_path):
    out = tmp_path / "resumed"
    first = run_fetch(request_from_dict(request_dict(stac, out)))
    moved = (AOI[0] + 0.004, AOI[1] + 0.002, AOI[2] + 0.006, AOI[3] + 0.002)  # another box: the same items and names
    request = request_from_dict(request_dict(stac, out, aoi=list(moved)))
    second = run_fetch(request)
    assert second.download.kept == [] and sorted(second.download.written) == sorted(first.download.written)
    grid = fine_grid(request)
    for task in plan_files(second.pairs, request):
        ds = gdal.Open(str(task.path))
        assert (ds.RasterXSize, ds.RasterYSize) == task.grid.size
        assert ds.GetGeoTransform()[0] == pytest.approx(task.grid.bounds[0])
    assert grid.size != fine_grid(request_from_dict(request_dict(stac, out))).size
    assert run_fetch(request).download.written == []  # the same grid again: kept


def test_resume_rewrites_files_of_another_pixel_size_and_keeps_modis(stac, tmp_path):
    out = tmp_path / "pixel"
    run_fetch(request_from_dict(request_dict(stac, out)))
    again = run_fetch(request_from_dict(request_dict(stac, out, pixel_m=20)))
    assert again.download.written and all("sentinel2" in p.parts for p in again.download.written)
    assert again.download.kept and all("modis" in p.parts for p in again.download.kept)
    assert gdal.Open(str(again.download.written[0])).GetGeoTransform()[1] == 20.0


def test_download_writes_in_windows_with_the_same_result(stac, tmp_path, monkeypatch):
    request = request_from_dict(request_dict(stac, tmp_path / "whole"))
    tasks = [t for t in plan_files(find_pairs(request).pairs, request) if t.date == D(2022, 5, 12) and t.kind == "fine"]
    assert tasks and tasks[0].scenes[0].baseline == "02.12"  # the baseline shift is applied per window too
    whole = gdal.Open(str(write_task(tasks[0]))).ReadAsArray()
    heights = []
    original = dl._warp

    def spy(href, task, rows, *args):
        heights.append(rows[1] - rows[0])
        return original(href, task, rows, *args)

    monkeypatch.setattr(dl, "_warp", spy)
    monkeypatch.setattr(dl, "WINDOW_ROWS", 16)
    windowed_task = FileTask(tmp_path / "win.tif", *[getattr(tasks[0], f) for f in ("kind", "roles", "scenes", "grid",
                                                                                  "spec", "date")])  # fmt: skip
    windowed = gdal.Open(str(write_task(windowed_task))).ReadAsArray()
    assert max(heights) == 16 and len(heights) == 2 * -(-tasks[0].grid.size[1] // 16)  # red and NIR, every window
    assert np.array_equal(whole, windowed) and windowed.dtype == np.uint16


def _peak(task: FileTask) -> int:
    tracemalloc.start()
    try:
        write_task(task)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_download_memory_does_not_grow_with_the_aoi(stac, tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "WINDOW_ROWS", 8)
    tasks = []
    for i, north in enumerate((AOI[3], AOI[1] + 16 * (AOI[3] - AOI[1]))):  # the AOI, then 16 times as tall
        request = request_from_dict(request_dict(stac, tmp_path / f"m{i}", aoi=[*AOI[:3], north]))
        tasks.append(next(t for t in plan_files(find_pairs(request).pairs, request) if t.kind == "fine"))
    for i, task in enumerate(tasks):  # once first: GDAL's /vsicurl/ cache then holds the tiles, the server reads nothing
        write_task(FileTask(tmp_path / f"warm{i}.tif", *[getattr(task, f) for f in ("kind", "roles", "scenes", "grid",
                                                                                   "spec", "date")]))  # fmt: skip
    # each peak at its steady state (the lower of two writes): a first write may allocate once for good
    small, large = (min(_peak(task) for _ in range(2)) for task in tasks)
    width, height = tasks[1].grid.size
    assert height > 15 * tasks[0].grid.size[1]
    # whole bands in int64, as before, would add two such bands of the growth
    grown = width * (height - tasks[0].grid.size[1]) * 8
    assert large - small < grown / 2, (small, large, grown)


def _s2_scene(stac, name: str, files: dict[str, str], tile: str) -> Scene:
    return Scene(name, "sentinel-2-l2a", "sentinel2", D(2021, 6, 1), D(2021, 6, 1),
                 {"red": "", "nir": "", "mask": f"{stac.base}/{files['scl']}"}, 60.0, None, "S2A", tile)  # fmt: skip


def test_cloud_over_the_aoi_leaves_no_data_out_and_measures_a_day_over_its_mosaic(stac, tmp_path):
    west, east, _ = _half_scenes(stac.root, "s2_halves", "s2")
    a, b = _s2_scene(stac, "S2_west", west, "T32TNR"), _s2_scene(stac, "S2_east", east, "T32TNS")
    assert aoi_cloud(a, AOI) == 0.0  # clear where it has data; outside its footprint (SCL 0) is no cloud
    assert aoi_cloud(b, AOI) == 100.0
    measured = measure_clouds([a, b], AOI)
    assert measured[0].aoi_cloud == measured[1].aoi_cloud and 40 < measured[0].aoi_cloud < 60  # half the day's AOI
    coarse = Scene("MOD09Q1.A2021145", "modis-09Q1-061", "modis", D(2021, 5, 25), D(2021, 6, 1), {}, None, None, "MOD")
    request = request_from_dict(request_dict(stac, tmp_path, cloud_max=60))
    (row,) = pair_scenes(measured, [coarse], request)
    assert row.cloud == measured[0].aoi_cloud and row.role == "reference"  # not its worst scene's 100 %


def test_landsat_cloud_leaves_the_qa_fill_out(stac, tmp_path):
    west, east, _ = _half_scenes(stac.root, "ls_cloud", "landsat")
    east_scene = _landsat_scene(stac, "LC08_east", east, "191029")
    assert aoi_cloud(east_scene, AOI) == 100.0  # outside the scene: fill, not clear (was about 50 %)
    assert aoi_cloud(_landsat_scene(stac, "LC08_west", west, "191028"), AOI) == 0.0


def _request(tmp_path, **kw) -> FetchRequest:
    data = {"aoi": [10, 45, 10.01, 45.01], "reference": ["2021-10-01", "2022-03-31"],
            "prediction": ["2022-10-01", "2023-03-31"], "out_dir": str(tmp_path), **kw}  # fmt: skip
    return request_from_dict(data)


def _scene(item_id, sensor, first, last=None):
    collection = "sentinel-2-l2a" if sensor == "sentinel2" else "modis-09Q1-061"
    return Scene(item_id, collection, sensor, first, last or first, {}, 1.0, None, "S2A" if sensor != "modis" else "MOD")


def test_a_critical_season_over_new_year_ending_on_29_february(tmp_path):
    request = _request(tmp_path, critical_start="11-01", critical_end="02-29")
    assert critical(D(2023, 2, 28), request) and not critical(D(2023, 3, 1), request)  # a common year: 28 Feb
    assert critical(D(2024, 2, 29), request) and critical(D(2022, 12, 31), request)
    assert critical(D(2023, 1, 1), request) and not critical(D(2022, 10, 31), request)
    fine = [_scene("s1", "sentinel2", D(2021, 10, 20)), _scene("s2", "sentinel2", D(2022, 10, 15)),
            _scene("s3", "sentinel2", D(2022, 12, 10))]  # fmt: skip
    coarse = [_scene(f"m{i}", "modis", first, first + dt.timedelta(days=7))
              for i, first in enumerate((D(2021, 10, 16), D(2022, 10, 8), D(2022, 12, 3), D(2023, 1, 17),
                                         D(2023, 2, 26), D(2023, 3, 6)))]  # fmt: skip
    rows = [(p.date, p.role, p.critical) for p in pair_scenes(fine, coarse, request)]
    assert rows == [
        (D(2021, 10, 20), "reference", False), (D(2022, 10, 15), "prediction", False),
        (D(2022, 12, 10), "target", True), (D(2023, 1, 17), "target", True), (D(2023, 2, 26), "target", True),
    ]  # fmt: skip


def test_the_default_critical_season_is_one_constant(tmp_path):
    from tsstfn_crop_mapper.core.inputs import inventory
    from tsstfn_crop_mapper.core.profile import record

    request = _request(tmp_path)
    assert (request.critical_start, request.critical_end) == inventory.CRITICAL_SEASON
    assert record.CRITICAL_SEASON is inventory.CRITICAL_SEASON
    assert inventory.build_tables.__defaults__[0] == inventory.CRITICAL_SEASON[0]
