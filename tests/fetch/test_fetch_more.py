"""More of the fetch: MOD13Q1 NDVI composites, signing for the Planetary Computer, a real raster served as Landsat
COGs (when ../shared/data/real is there), and the real services (when the network reaches them)."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import numpy as np
import pytest
from fetch.conftest import modis_cogs, request_dict, write_cog
from fetch.stac_server import FakeScene, StacServer
from osgeo import gdal, osr

from tsstfn_crop_mapper.core.fetch.download import MODIS_PROJ4
from tsstfn_crop_mapper.core.fetch.request import request_from_dict
from tsstfn_crop_mapper.core.fetch.run import find_pairs, run_fetch
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "kranj_2020_landsat_modis"


def test_mod13q1_composites_give_ndvi_with_their_reliability(stac, tmp_path):
    root = stac.root
    files = modis_cogs(root, "MOD13Q1_ndvi_cogs", red=0, nir=0)
    ndvi_cog = write_cog(root / "MOD13Q1_ndvi.tif", [np.full((30, 30), 6500, np.int16)], MODIS_PROJ4,
                         *_origin(root / files["sur_refl_b01"]), gdal.GDT_Int16, -3000).name  # fmt: skip
    reliability = write_cog(root / "MOD13Q1_rel.tif", [np.zeros((30, 30), np.int16)], MODIS_PROJ4,
                            *_origin(root / files["sur_refl_b01"]), gdal.GDT_Int16).name  # fmt: skip
    first = dt.datetime(2021, 5, 9)
    scene = FakeScene("pc", "modis-13Q1-061", "MOD13Q1.A2021129.h18v04.061.2021146000000", first,
                      first + dt.timedelta(days=15, hours=23), None, None, (5.0, 40.0, 15.0, 50.0),
                      {"250m_16_days_NDVI": f"{stac.base}/{ndvi_cog}",
                       "250m_16_days_pixel_reliability": f"{stac.base}/{reliability}"},
                      {"modis:horizontal-tile": 18, "modis:vertical-tile": 4})  # fmt: skip
    stac.scenes.append(scene)
    try:
        request = request_from_dict(request_dict(stac, tmp_path / "o", coarse_collection="modis-13Q1-061"))
        found = find_pairs(request)
        assert [(p.date.isoformat(), p.role) for p in found.pairs] == [
            ("2021-05-10", "reference"), ("2021-07-20", "unpaired"), ("2021-08-15", "cloudy"), ("2022-05-12", "unpaired")
        ]  # fmt: skip
        assert found.pairs[0].coarse[0].id == scene.id  # the 16-day composite covers 10 May
        result = run_fetch(request, found)
        ndvi = next(p for p in result.files if p.name == "MOD13Q1_h18v04_20210510.tif")
        values = read_ndvi(NdviSource(str(ndvi), "mod13q1"))
        assert np.allclose(values[np.isfinite(values)], 0.65)
        assert ndvi.with_name("MOD13Q1_h18v04_20210510_pixel_reliability.tif").exists()
    finally:
        stac.scenes.remove(scene)


def _origin(path: Path) -> tuple[tuple[float, float], float]:
    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    return (gt[0], gt[3]), gt[1]


def test_planetary_computer_urls_are_signed_and_no_token_is_written(stac, tmp_path, monkeypatch):
    import planetary_computer

    signed = []

    def fake_sign(obj):  # the real one asks Azure for a SAS token (no network here); it gets every search page
        for feature in obj.get("features", []):
            for asset in feature["assets"].values():
                asset["href"] += "?st=2024&se=2025&sp=rl&sig=secret"
            signed.append(feature["id"])
        return obj

    monkeypatch.setattr(planetary_computer, "sign_inplace", fake_sign)
    request = request_from_dict(request_dict(stac, tmp_path / "signed", signing="pc"))
    result = run_fetch(request)
    assert signed and result.download.written
    for path in result.files:
        ds = gdal.Open(str(path))
        assert "sig=" not in ds.GetMetadataItem("STAC_ASSETS") and ds.GetMetadataItem("STAC_ASSETS")


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/real is absent: the real raster is not served as COGs")
def test_a_real_landsat_raster_served_as_cogs_comes_back_on_the_utm_grid(tmp_path):
    source = REAL / "landsat" / "unfilled" / "2020068_191-28_kranj.tif"
    wkt = gdal.Open(str(source)).GetProjection()
    srs = osr.SpatialReference(wkt=wkt).ExportToProj4()
    root = tmp_path / "cogs"
    root.mkdir()
    # the file's pixels are 29.9 x 30 m: the COGs are made from a copy with square 30 m pixels (same values)
    square = gdal.Warp("", str(source), format="MEM", xRes=30, yRes=30, resampleAlg="near")
    gt = square.GetGeoTransform()
    refl = [square.GetRasterBand(b).ReadAsArray().astype(np.float64) for b in (3, 4)]
    valid = np.all([(r > 0) & (r < 20000) for r in refl], axis=0)
    dns = [np.where(valid, np.round((r / 10000 + 0.2) / 2.75e-5), 0).astype(np.uint16) for r in refl]
    red = write_cog(root / "red.tif", [dns[0]], srs, (gt[0], gt[3]), 30, gdal.GDT_UInt16, 0)
    nir = write_cog(root / "nir.tif", [dns[1]], srs, (gt[0], gt[3]), 30, gdal.GDT_UInt16, 0)
    qa = write_cog(root / "qa.tif", [np.full(dns[0].shape, 21824, np.uint16)], srs, (gt[0], gt[3]), 30, gdal.GDT_UInt16)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    here = osr.SpatialReference(wkt=wkt)
    here.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    w, s, e, n = osr.CoordinateTransformation(here, wgs).TransformBounds(
        gt[0], gt[3] - 30 * square.RasterYSize, gt[0] + 30 * square.RasterXSize, gt[3], 21
    )
    aoi = (w + 0.003, s + 0.003, e - 0.003, n - 0.003)  # inside the raster
    scenes = [FakeScene("pc", "landsat-c2-l2", "LC08_L2SP_191028_20200308_02_T1", dt.datetime(2020, 3, 8, 9, 55), None,
                        2.0, None, (w, s, e, n), {"red": "", "nir08": "", "qa_pixel": ""},
                        {"landsat:wrs_path": "191", "landsat:wrs_row": "028"})]  # fmt: skip
    server = StacServer(root, scenes)
    with server:
        scenes[0].hrefs = {"red": f"{server.base}/{red.name}", "nir08": f"{server.base}/{nir.name}",
                           "qa_pixel": f"{server.base}/{qa.name}"}  # fmt: skip
        first = dt.datetime(2020, 3, 5)
        files = modis_cogs(root, "MOD09Q1_2020065", aoi=aoi)
        scenes.append(FakeScene("pc", "modis-09Q1-061", "MOD09Q1.A2020065.h18v04.061.2020074000000", first,
                                first + dt.timedelta(days=7, hours=23), None, None, (10, 40, 20, 50),
                                {k: f"{server.base}/{v}" for k, v in files.items()},
                                {"modis:horizontal-tile": 18, "modis:vertical-tile": 4}))  # fmt: skip
        data = {"aoi": list(aoi), "reference": ["2019-03-01", "2019-04-30"], "prediction": ["2020-03-01", "2020-04-30"],
                "out_dir": str(tmp_path / "out"), "endpoint": server.url("pc"), "coarse_endpoint": server.url("pc"),
                "fine_collection": "landsat-c2-l2"}  # fmt: skip
        result = run_fetch(request_from_dict(data))
    fine = next(p for p in result.files if p.name == "landsat_LC08_20200308_191028.tif")
    out = gdal.Open(str(fine))
    assert out.GetSpatialRef().GetUTMZone() == 33 and out.GetGeoTransform()[1] == 30.0
    got = read_ndvi(NdviSource(str(fine), "landsat_c2l2", red_band=1, nir_band=2))
    # the same raster warped by GDAL directly onto the downloaded grid, NDVI from its reflectance
    xmin, ymax = out.GetGeoTransform()[0], out.GetGeoTransform()[3]
    bounds = (xmin, ymax - 30 * out.RasterYSize, xmin + 30 * out.RasterXSize, ymax)
    ref = gdal.Warp("", square, format="MEM", outputBounds=bounds, xRes=30, yRes=30, dstSRS=out.GetProjection(),
                    resampleAlg="near", dstNodata=-3.4e38)  # fmt: skip
    r, nr = (ref.GetRasterBand(b).ReadAsArray().astype(np.float64) for b in (3, 4))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nr - r) / (nr + r)
    both = np.isfinite(got) & np.isfinite(expected) & (r > 0) & (r < 20000)
    assert both.sum() > 0.8 * got.size
    assert np.abs(got[both] - expected[both]).max() < 2e-3  # only the DN rounding differs


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(
    not (_reachable("earth-search.aws.element84.com") and _reachable("planetarycomputer.microsoft.com")),
    reason="the real STAC services (Earth Search, Planetary Computer) are not reachable from this machine",
)
def test_the_real_services_give_pairs_for_a_small_aoi(tmp_path):
    data = {"aoi": [-93.70, 42.00, -93.68, 42.02], "reference": ["2021-06-01", "2021-06-30"],
            "prediction": ["2022-06-01", "2022-07-31"], "out_dir": str(tmp_path), "cloud_max": 100}  # fmt: skip
    found = find_pairs(request_from_dict(data))
    assert found.fine_items and found.coarse_items
    pair = next(p for p in found.pairs if p.downloads)
    assert pair.fine[0].assets["red"].startswith("https://") and pair.coarse[0].assets["red"].startswith("https://")
