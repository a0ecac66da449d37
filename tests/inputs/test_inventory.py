import json
from pathlib import Path

from tsstfn_crop_mapper.core.inputs.inventory import RasterInfo, build_tables, kind_of


def test_synthetic_scene_sorts_into_the_paper_tables(scene):
    root = Path(scene["root"])
    files = sorted(p for p in root.rglob("*.tif") if p.parent.name.endswith(("2020", "2021")))
    infos = [RasterInfo(p.name, str(p), 231.66 if p.name.startswith("MOD") else 10.0) for p in files]
    tables = build_tables(infos)
    m = json.loads((root / "scene.json").read_text())
    assert [r["date"] for r in tables.reference] == [e["date"] for e in m["reference"]]
    assert [r["date"] for r in tables.prediction] == [e["date"] for e in m["prediction"]]
    assert [r["date"] for r in tables.targets] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    assert tables.targets[0]["fine_mask"].endswith("SCL_20m.tif") and tables.targets[0]["fine"]
    assert tables.undated == [] and tables.incomplete == []


def test_kinds_undated_and_incomplete():
    assert kind_of(RasterInfo("MYD09GQ.A2021100.h26v04", "x")) == "modis"
    assert kind_of(RasterInfo("ndvi_coarse_2021-04-10", "x", 500.0)) == "modis"
    assert kind_of(RasterInfo("T51TXM_20210410T0255_SCL_20m", "x", 20.0)) == "scl"
    assert kind_of(RasterInfo("s2_ndvi_2021-04-10", "x")) == "sentinel2"
    t = build_tables([RasterInfo("s2_2021-04-10", "/nope/a.tif"), RasterInfo("mystery", "/nope/b.tif")])
    assert t.undated == ["mystery"] and t.incomplete == ["2021-04-10: MODIS missing"]


def test_a_raster_goes_only_where_its_product_fits(tmp_path):
    from osgeo import gdal

    from conftest import make_raster
    from tsstfn_crop_mapper.core.inputs.inventory import raster_info, unfit_reason
    from tsstfn_crop_mapper.core.inputs.products import get_product

    s2, modis, ndvi = get_product("s2_l2a"), get_product("mod09gq"), get_product("ndvi")
    red_nir = make_raster(tmp_path / "T51TXM_20210730_B04B08.tif", [[[900]], [[3000]]], dtype=gdal.GDT_UInt16)
    truth = make_raster(tmp_path / "ndvi_20210730.tif", [[0.5]])
    coarse = make_raster(
        tmp_path / "MOD09GQ.A2021211.tif", [[[900]], [[3000]]], gt=(640000.0, 250, 0, 5150000.0, 0, -250), dtype=gdal.GDT_Int16
    )
    info = raster_info(red_nir)
    assert (info.band_count, info.integer, info.classes, info.has_crs) == (2, True, False, True)
    assert unfit_reason(info, s2, "fine") is None
    assert "named like a Sentinel-2 or Landsat raster" in unfit_reason(info, modis, "coarse")
    assert "1 band(s), but 's2_l2a' needs red (band 1) and NIR (band 2)" in unfit_reason(raster_info(truth), s2, "fine")
    assert unfit_reason(raster_info(truth), ndvi, "fine") is None
    assert "named like a MODIS raster" in unfit_reason(raster_info(coarse), s2, "fine")
    assert unfit_reason(raster_info(coarse), modis, "coarse") is None
    renamed = make_raster(
        tmp_path / "coarse_2021-07-30.tif", [[[9]], [[30]]], gt=(640000.0, 250, 0, 5150000.0, 0, -250), dtype=gdal.GDT_Int16
    )
    assert "pixels of 250 m" in unfit_reason(raster_info(renamed), s2, "fine")
    labels = make_raster(tmp_path / "labels.tif", [[1, 2]], dtype=gdal.GDT_Byte)
    ds = gdal.Open(labels, gdal.GA_Update)
    table = gdal.ColorTable()
    table.SetColorEntry(1, (255, 0, 0, 255))
    ds.GetRasterBand(1).SetColorTable(table)
    ds = None
    assert "a class raster" in unfit_reason(raster_info(labels), modis, "coarse")
    scl = make_raster(tmp_path / "T51TXM_20210730_SCL_20m.tif", [[4]], dtype=gdal.GDT_Byte)
    assert "a cloud/QA mask" in unfit_reason(raster_info(scl), ndvi, "fine")
    floats = make_raster(tmp_path / "MOD09GQ.A2021212.tif", [[[0.1]], [[0.3]]], gt=(640000.0, 250, 0, 5150000.0, 0, -250))
    assert "floating-point values, but 'mod09gq' stores integer counts" in unfit_reason(raster_info(floats), modis, "coarse")
    tables = build_tables([raster_info(p) for p in (red_nir, truth, coarse, labels)], (7, 1), modis, s2)
    assert [r["fine"] for r in tables.targets] == [red_nir] and tables.targets[0]["coarse"] == coarse
    assert any(line.startswith("ndvi_20210730.tif: 1 band(s)") for line in tables.skipped)
    assert any("labels.tif: a class raster" in line for line in tables.skipped)


def test_fill_tells_modis_on_the_fine_grid_by_its_folder_on_the_real_kranj_set():
    """Kranj (../shared): MODIS already resampled to 30 m, named only by date; its folder says modis/."""
    import pytest

    root = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "kranj_2020_landsat_modis"
    if not root.exists():
        pytest.skip(f"the real Kranj set is not at {root}")
    from tsstfn_crop_mapper.core.inputs.inventory import raster_info

    landsat = sorted((root / "landsat" / "unfilled").glob("*.tif"))[:3]
    modis = sorted((root / "modis" / "filled").glob("*.tif"))[:3]
    assert landsat and modis
    assert {kind_of(raster_info(str(p))) for p in modis} == {"modis"}
    assert {kind_of(raster_info(str(p))) for p in landsat} == {"sentinel2"}  # the fine column, under ..._modis/
