"""The whole fetch path offline: recorded STAC responses and small COGs on a local server -> search -> pairing ->
windowed download -> reprojection -> naming -> Fill (core's inventory, as the dialog's Fill calls it) -> job file."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import numpy as np
import pytest
from fetch.conftest import request_dict
from osgeo import gdal

from tsstfn_crop_mapper.core.errors import CancelledError, InputError
from tsstfn_crop_mapper.core.fetch.download import fine_grid, plan_files
from tsstfn_crop_mapper.core.fetch.request import JOB_FILE, load_request, request_from_dict
from tsstfn_crop_mapper.core.fetch.run import find_pairs, run_fetch
from tsstfn_crop_mapper.core.inputs.inventory import build_tables, raster_info
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi
from tsstfn_crop_mapper.core.inputs.products import get_product
from tsstfn_crop_mapper.core.pipeline.job import job_from_dict
from tsstfn_crop_mapper.core.pipeline.run import preflight

D = dt.date


def test_search_pairs_each_clear_scene_with_the_composite_that_covers_it(stac, tmp_path):
    found = find_pairs(request_from_dict(request_dict(stac, tmp_path / "out")))
    rows = [(p.date, p.role, [s.id for s in p.coarse], p.critical) for p in found.pairs]
    assert rows == [
        (D(2021, 5, 10), "reference", ["MOD09Q1.A2021129.h18v04.061.2022042044048"], False),
        (D(2021, 7, 20), "reference", ["MOD09Q1.A2021201.h18v04.061.2022042044048"], True),
        (D(2021, 8, 15), "cloudy", ["MOD09Q1.A2021225.h18v04.061.2022042044048"], True),
        (D(2022, 5, 12), "prediction", ["MOD09Q1.A2022129.h18v04.061.2022042044048"], False),
        (D(2022, 7, 20), "target", ["MOD09Q1.A2022201.h18v04.061.2022042044048"], True),
        (D(2022, 8, 5), "target", ["MOD09Q1.A2022217.h18v04.061.2022042044048"], True),
    ]
    assert found.pairs[2].cloud == 70.0 and found.pairs[0].sensor_label == "Sentinel-2 L2A"
    es = [body for service, body in stac.searches if service == "es"]
    assert es and es[-1]["collections"] == ["sentinel-2-l2a"] and es[-1]["query"] == {"eo:cloud_cover": {"lte": 80.0}}
    assert "2022-07-22" not in json.dumps([p.date.isoformat() for p in found.pairs])  # 90 %: cut by the service


def test_download_is_windowed_reprojected_named_for_fill_and_resumes(stac, tmp_path):
    out = tmp_path / "fetched"
    request = request_from_dict(request_dict(stac, out))
    before, served = stac.range_requests, dict(stac.bytes_served)
    start = time.perf_counter()
    result = run_fetch(request)
    if os.environ.get("TSSTFN_FETCH_MEASURE"):  # numbers for the docs: python -m pytest -s ... with this set
        read = {n: b - served.get(n, 0) for n, b in stac.bytes_served.items() if b > served.get(n, 0)}
        size = sum((stac.root / n).stat().st_size for n in read)
        print(
            f"\nfetch: {len(result.files)} files in {time.perf_counter() - start:.2f} s; {sum(read.values())} bytes "
            f"read of {size} bytes of COGs; {stac.range_requests - before} range requests"
        )
    assert stac.range_requests > before  # read through HTTP ranges (/vsicurl/), not whole files
    name = "S2A_32TNR_20210510_0_L2A_red.tif"  # a 600 x 600 px COG of which the AOI is about 95 x 90 px
    assert 0 < stac.bytes_served[name] - served.get(name, 0) < 0.35 * (stac.root / name).stat().st_size  # 4 tiles of 25
    names = sorted(p.relative_to(out).as_posix() for p in result.files)
    assert names == [
        "modis/MOD09Q1_h18v04_20210510.tif", "modis/MOD09Q1_h18v04_20210510_state_QA.tif",
        "modis/MOD09Q1_h18v04_20210720.tif", "modis/MOD09Q1_h18v04_20210720_state_QA.tif",
        "modis/MOD09Q1_h18v04_20220512.tif", "modis/MOD09Q1_h18v04_20220512_state_QA.tif",
        "modis/MOD09Q1_h18v04_20220720.tif", "modis/MOD09Q1_h18v04_20220720_state_QA.tif",
        "modis/MOD09Q1_h18v04_20220805.tif", "modis/MOD09Q1_h18v04_20220805_state_QA.tif",
        "sentinel2/S2A_MSIL2A_20210510T102021_T32TNR.tif", "sentinel2/S2A_MSIL2A_20210510T102021_T32TNR_SCL.tif",
        "sentinel2/S2A_MSIL2A_20210720T102021_T32TNR.tif", "sentinel2/S2A_MSIL2A_20210720T102021_T32TNR_SCL.tif",
        "sentinel2/S2A_MSIL2A_20220512T102021_T32TNR.tif", "sentinel2/S2A_MSIL2A_20220512T102021_T32TNR_SCL.tif",
    ]  # fmt: skip
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary file left
    # one fine grid (UTM 32N, 10 m, the AOI's box), MODIS on its sinusoidal grid
    grid = fine_grid(request)
    fine = gdal.Open(str(out / "sentinel2/S2A_MSIL2A_20210510T102021_T32TNR.tif"))
    assert (fine.RasterXSize, fine.RasterYSize) == grid.size and fine.RasterCount == 2
    assert "32632" in fine.GetSpatialRef().ExportToWkt() or fine.GetSpatialRef().GetUTMZone() == 32
    assert fine.GetGeoTransform()[1] == 10.0 and fine.RasterXSize < 120
    band = fine.GetRasterBand(1)
    assert (band.GetScale(), band.GetOffset(), band.GetNoDataValue()) == (1e-4, -0.1, 0.0)
    assert fine.GetMetadataItem("STAC_ITEMS") == "S2A_32TNR_20210510_0_L2A"
    assert fine.GetMetadataItem("TSSTFN_PRODUCT") == "s2_l2a"
    modis = gdal.Open(str(out / "modis/MOD09Q1_h18v04_20210510.tif"))
    assert "Sinusoidal" in modis.GetProjection() and abs(modis.GetGeoTransform()[1] - 231.656358) < 1e-3
    assert modis.GetMetadataItem("COMPOSITE_DAYS") == "2021-05-09/2021-05-16"
    assert modis.GetRasterBand(1).GetNoDataValue() == -28672
    # the scene processed before baseline 04.00 reads as the same reflectance as the others
    legacy = read_ndvi(NdviSource(str(out / "sentinel2/S2A_MSIL2A_20220512T102021_T32TNR.tif"), "s2_l2a"))
    assert np.nanmin(legacy) > 0.19 and np.nanmax(legacy) < 0.81
    legacy_ds = gdal.Open(str(out / "sentinel2/S2A_MSIL2A_20220512T102021_T32TNR.tif"))
    dn = legacy_ds.GetRasterBand(1).ReadAsArray()
    assert 1400 <= dn[dn > 0].min() and dn.max() <= 1600  # red reflectance 0.04-0.06 stored as the baseline-04 DN

    # Fill: core's inventory (what the dialog's Fill calls) places every file
    infos = [raster_info(str(p)) for p in sorted(out.rglob("*.tif"))]
    tables = build_tables(infos, (7, 1), get_product("mod09gq"), get_product("s2_l2a"))
    assert [r["date"] for r in tables.reference] == ["2021-05-10", "2021-07-20"]
    assert [r["date"] for r in tables.prediction] == ["2022-05-12"]
    assert [r["date"] for r in tables.targets] == ["2022-07-20", "2022-08-05"]
    assert all(r["fine_mask"] and r["fine_mask"].endswith("_SCL.tif") for r in tables.reference)
    assert tables.undated == [] and all("mask" in s for s in tables.skipped)  # only the MODIS QA files left out

    # the job file reads as a job, masks and all; the fetch job file repeats the fetch
    job = job_from_dict(json.loads(result.job_file.read_text()), out)
    assert [p.date for p in job.reference] == [D(2021, 5, 10), D(2021, 7, 20)] and len(job.targets) == 2
    assert job.reference[0].coarse.mask_kind == "modis_state" and job.reference[0].fine.mask_path.endswith("_SCL.tif")
    ready = {**json.loads(result.job_file.read_text()), "n_base": 1, "train": {"patch": 32}}  # a tiny scene, one base pair
    preflight(job_from_dict(ready, out))  # the run's own first-second checks pass (dates, grids, folders)
    again = load_request(out / JOB_FILE)
    assert again == request
    stamps = {p: p.stat().st_mtime_ns for p in result.files}
    second = run_fetch(again)
    assert second.download.written == [] and len(second.download.kept) == len(result.files)
    assert {p: p.stat().st_mtime_ns for p in result.files} == stamps


def test_a_cancelled_download_keeps_complete_files_and_leaves_nothing_half_written(stac, tmp_path):
    out = tmp_path / "cancelled"
    request = request_from_dict(request_dict(stac, out))
    found = find_pairs(request)

    def cancel_after_three_files() -> bool:
        return len(list(out.rglob("*.tif"))) >= 3

    with pytest.raises(CancelledError):
        run_fetch(request, found, is_cancelled=cancel_after_three_files)
    written = sorted(p.name for p in out.rglob("*.tif"))
    assert 0 < len(written) < len(plan_files(found.pairs, request))
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    for name in written:  # every file left is complete
        path = next(out.rglob(name))
        assert gdal.Open(str(path)).GetMetadataItem("STAC_ITEMS")
    resumed = run_fetch(request, found)
    assert sorted(p.name for p in resumed.download.kept) == written


def test_cloud_over_the_aoi_measured_on_the_scl_asset(stac, tmp_path):
    found = find_pairs(request_from_dict(request_dict(stac, tmp_path / "o", sample_masks=True)))
    measured = {p.date: p.fine[0].aoi_cloud for p in found.pairs if p.fine}
    assert measured[D(2021, 5, 10)] == 0.0  # the scene's 5 % is elsewhere: the AOI is clear
    assert measured[D(2021, 8, 15)] > 0  # its cloudy rows reach the AOI


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"aoi": [10, 45, 9, 46]}, "west < east"),
        ({"reference": ["2022-04-01", "2022-09-30"]}, "must end before"),
        ({"cloud_max": 120}, "percentage"),
        ({"fine_collection": "modis-09Q1-061"}, "is MODIS"),
        ({"coarse_collection": "sentinel-3"}, "not one the fetch knows"),
        ({"endpoint": "ftp://x"}, "http(s) URL"),
        ({"prediction": "2022-04-01"}, "two dates"),
        ({"critical_start": "13-01"}, "month and day"),
        ({"colour": 1}, "Unknown fetch field"),
    ],
)
def test_wrong_fetch_fields_are_refused_naming_the_field(tmp_path, change, words):
    data = {"aoi": [10, 45, 10.01, 45.01], "reference": ["2021-04-01", "2021-09-30"],
            "prediction": ["2022-04-01", "2022-09-30"], "out_dir": str(tmp_path), **change}  # fmt: skip
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        request_from_dict(data)


def test_an_unreachable_service_is_one_clear_sentence(tmp_path):
    data = request_dict(type("S", (), {"url": lambda self, s: "http://127.0.0.1:9"})(), tmp_path)
    with pytest.raises(InputError, match="could not be searched"):
        find_pairs(request_from_dict(data))


def test_recorded_planetary_computer_items_give_their_assets(stac, tmp_path):
    from fetch.stac_server import recorded

    from tsstfn_crop_mapper.core.fetch.catalog import get_collection
    from tsstfn_crop_mapper.core.fetch.search import scene_from_item

    s2 = scene_from_item(recorded("pc_search_sentinel2.json")["features"][0], get_collection("sentinel-2-l2a"))
    assert s2.assets["red"].endswith("_B04_10m.tif") and s2.assets["mask"].endswith("_SCL_20m.tif")
    assert (s2.tile, s2.platform, s2.baseline) == ("T60VUK", "S2A", "02.12")
    landsat = scene_from_item(recorded("pc_items_landsat.json")["features"][0], get_collection("landsat-c2-l2"))
    assert landsat.assets["nir"].endswith("_SR_B5.TIF") and landsat.platform == "LC09" and landsat.tile == "084082"
    es = recorded("earth_search_search.json")["features"]
    es_landsat = scene_from_item(es[1], get_collection("landsat-c2-l2"))
    assert es_landsat.assets["mask"].endswith("_QA_PIXEL.TIF")
    ndvi = scene_from_item(recorded("modis_13q1_061_item.json"), get_collection("modis-13Q1-061"))
    assert ndvi.composite and (ndvi.date, ndvi.end) == (D(2022, 2, 2), D(2022, 2, 17)) and ndvi.tile == "h09v05"
    assert set(ndvi.assets) == {"ndvi", "mask"}


def test_a_catalogue_without_the_query_extension_is_cut_here(stac, tmp_path):
    stac.without_query = True
    try:
        found = find_pairs(request_from_dict(request_dict(stac, tmp_path / "q")))
    finally:
        stac.without_query = False
    assert "query" not in [body for service, body in stac.searches if service == "es"][-1]
    assert D(2022, 7, 22) not in [p.date for p in found.pairs]  # 90 % of the scene: cut by scene_cloud_max here
    assert len(found.pairs) == 6


@pytest.mark.parametrize("href", ["/etc/passwd", "file:///etc/passwd", "/vsizip/x.zip/a.tif", "<VRTDataset/>"])
def test_an_asset_that_is_not_a_url_is_refused(stac, tmp_path, href):
    from dataclasses import replace

    from tsstfn_crop_mapper.core.fetch.download import write_task

    request = request_from_dict(request_dict(stac, tmp_path / "x"))
    task = plan_files(find_pairs(request).pairs, request)[0]
    hostile = replace(task, scenes=tuple(replace(s, assets={k: href for k in s.assets}) for s in task.scenes))
    with pytest.raises(InputError, match="not an http"):
        write_task(hostile)
    assert not task.path.exists()
