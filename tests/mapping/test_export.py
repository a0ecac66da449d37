import numpy as np
import pytest
from osgeo import gdal, ogr

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.mapping.classify import style_class_band
from tsstfn_crop_mapper.core.mapping.export import polygonize

NAMES = {1: "soybean", 2: "corn", 3: "other"}


@pytest.fixture()
def class_map(tmp_path):
    arr = np.zeros((20, 30), dtype=np.uint8)
    arr[:10, :15] = 1
    arr[:10, 15:] = 2
    arr[10:, :] = 3
    arr[15:, 25:] = 0  # nodata corner
    arr[3, 3] = 2  # a one-pixel speck inside soybean
    path = make_raster(tmp_path / "map.tif", arr, nodata=0, dtype=gdal.GDT_Byte)
    ds = gdal.Open(path, gdal.GA_Update)
    style_class_band(ds.GetRasterBand(1), NAMES)
    ds = None
    return path, arr


@pytest.mark.parametrize("ext", ["shp", "gpkg"])
def test_polygons_match_the_raster(class_map, tmp_path, ext):
    path, arr = class_map
    out = polygonize(path, tmp_path / f"crops.{ext}", NAMES)
    ds = ogr.Open(str(out))
    lyr = ds.GetLayer(0)
    areas = {}
    for f in lyr:
        code = f.GetField("class_id")
        assert f.GetField("class_name") == NAMES[code]
        assert f.GetField("area_ha") == pytest.approx(f.GetGeometryRef().GetArea() / 1e4, rel=1e-6)
        areas[code] = areas.get(code, 0) + f.GetField("area_ha")
    for code in (1, 2, 3):
        assert areas[code] == pytest.approx((arr == code).sum() * 100 / 1e4)  # 10 m pixels
    assert 0 not in areas  # nodata gives no polygon
    assert lyr.GetSpatialRef().GetAuthorityCode(None) == "32651"
    assert not list(tmp_path.glob(".crops*"))


def test_minimum_mapping_unit_removes_specks(class_map, tmp_path):
    path, arr = class_map
    out = polygonize(path, tmp_path / "mmu.gpkg", NAMES, mmu_ha=0.05)  # 5 pixels
    ds = ogr.Open(str(out))  # keep the dataset alive while its layer is used
    lyr = ds.GetLayer(0)
    areas = [f.GetField("area_ha") for f in lyr]
    assert min(areas) >= 0.05
    assert sum(areas) == pytest.approx((arr > 0).sum() / 100)


def test_exported_files_open_in_qgis_with_the_right_crs(class_map, tmp_path, qgis_app):
    from qgis.core import QgsCoordinateReferenceSystem, QgsVectorLayer

    path, _ = class_map
    for ext in ("shp", "gpkg"):
        layer = QgsVectorLayer(str(polygonize(path, tmp_path / f"q.{ext}", NAMES)), "crops", "ogr")
        assert layer.isValid() and layer.crs() == QgsCoordinateReferenceSystem("EPSG:32651")
        assert layer.featureCount() > 0


def test_unsupported_format(class_map, tmp_path):
    with pytest.raises(InputError, match="Unsupported output 'x.kml': use one of .shp, .gpkg"):
        polygonize(class_map[0], tmp_path / "x.kml")


@pytest.fixture()
def extra_formats():
    from tsstfn_crop_mapper.core import formats

    yield formats
    for key in ("fgb", "cog"):
        formats.OUTPUT_FORMATS.pop(key, None)


def test_a_new_output_format_is_one_entry(class_map, tmp_path, extra_formats):
    """The recipe of docs/extending.md: register a format, and export writes it."""
    from tsstfn_crop_mapper.core.mapping.export import export_crop_map

    formats = extra_formats
    formats.register_format(formats.OutputFormat("fgb", "FlatGeobuf", "vector", "FlatGeobuf", ".fgb", "ogr", 3))
    formats.register_format(
        formats.OutputFormat("cog", "Cloud-Optimized GeoTIFF", "raster", "COG", ".cog.tif", "gdal", 1, ("COMPRESS=DEFLATE",))
    )
    path, _ = class_map
    written = export_crop_map(path, tmp_path, "crops", ["gtiff", "fgb", "cog"], {1: "soybean", 2: "corn", 3: "other"})
    assert [p.name for p in written] == ["crops.fgb", "crops.cog.tif"]
    ds = ogr.Open(str(written[0]))  # keep the dataset alive while its layer is used
    layer = ds.GetLayer(0)
    assert layer.GetFeatureCount() > 0 and {f.GetField("class_name") for f in layer} <= {"soybean", "corn", "other"}
    cog = gdal.Open(str(written[1]))
    assert cog.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE") == "COG"
    assert cog.GetRasterBand(1).GetColorTable() is not None
    with pytest.raises(ValueError, match="already registered"):
        formats.register_format(formats.OutputFormat("fgb", "x", "vector", "FlatGeobuf", ".x", "ogr"))
