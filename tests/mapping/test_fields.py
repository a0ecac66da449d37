"""Per-field maps: one class per field polygon, its share, polygons with attributes, scores per pixel and per field."""

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping.classify import style_class_band
from tsstfn_crop_mapper.core.mapping.fields import field_map, read_fields
from tsstfn_crop_mapper.core.mapping.samples import Samples

NAMES = {1: "soybean", 2: "corn", 3: "other"}
GT = (640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0)


def _grid():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    return Grid(srs.ExportToWkt(), GT, 40, 30)


def _fields(path, boxes, epsg=32651, id_field="parcel"):
    """Rectangles (col0, row0, col1, row1) in pixels of the grid, as polygons with an id."""
    srs = None
    if epsg:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("fields", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn(id_field, ogr.OFTString))
    for k, (c0, r0, c1, r1) in enumerate(boxes):
        x0, x1 = GT[0] + c0 * 10, GT[0] + c1 * 10
        y0, y1 = GT[3] - r0 * 10, GT[3] - r1 * 10
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField(id_field, f"P{k + 1}")
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"))
        layer.CreateFeature(f)
    layer = None
    ds = None
    return str(path)


@pytest.fixture
def noisy_map(tmp_path):
    """Two fields: the left one mostly corn with soybean speckle (70 %), the right one all soybean."""
    rng = np.random.default_rng(0)
    m = np.full((30, 40), 3, dtype=np.uint8)  # "other" outside the fields
    m[5:25, 2:18] = np.where(rng.uniform(size=(20, 16)) < 0.7, 2, 1)
    m[5:25, 22:38] = 1
    path = make_raster(tmp_path / "map.tif", m, dtype=gdal.GDT_Byte)
    ds = gdal.Open(path, gdal.GA_Update)
    style_class_band(ds.GetRasterBand(1), NAMES)
    ds = None
    return path, m


def test_each_field_takes_its_majority_class(tmp_path, noisy_map):
    path, m = noisy_map
    fields = _fields(tmp_path / "fields.gpkg", [(2, 5, 18, 25), (22, 5, 38, 25)])
    rows, cols = np.nonzero(np.ones_like(m, bool))
    truth = np.full_like(m, 3)
    truth[5:25, 2:18], truth[5:25, 22:38] = 2, 1
    samples = Samples(rows, cols, truth.ravel().astype(np.int32), np.zeros(len(rows), int), NAMES)
    test_index = np.arange(0, len(rows), 3)
    fm = field_map(path, fields, _grid(), NAMES, tmp_path / "per_field.tif", [tmp_path / "per_field.gpkg"], "parcel",
                   samples=samples, test_index=test_index)  # fmt: skip
    ds = gdal.Open(str(fm.raster))  # kept alive while its band is used
    out = ds.ReadAsArray()
    assert (out[5:25, 2:18] == 2).all() and (out[5:25, 22:38] == 1).all()
    assert (out[:5] == 3).all()  # outside every field: the pixel map's class
    from tsstfn_crop_mapper.core.mapping.classify import class_names_of

    assert class_names_of(fm.raster) == NAMES and ds.GetRasterBand(1).GetColorTable() is not None
    vds = ogr.Open(str(tmp_path / "per_field.gpkg"))
    layer = vds.GetLayer(0)
    rows_out = {f.GetField("field_id"): f for f in layer}
    left = rows_out["P1"]
    assert left.GetField("class_name") == "corn" and left.GetField("pixels") == 320
    assert left.GetField("share") == pytest.approx((m[5:25, 2:18] == 2).mean(), abs=1e-4)
    assert left.GetField("area_ha") == pytest.approx(3.2) and rows_out["P2"].GetField("share") == 1.0
    assert fm.n_fields == fm.n_mapped == 2
    assert fm.pixel_accuracy.overall == 1.0 and fm.field_accuracy.matrix.sum() == 2  # one vote per field


def test_probability_rule_uses_the_class_codes_of_the_bands(tmp_path, noisy_map):
    path, m = noisy_map
    fields = _fields(tmp_path / "fields.gpkg", [(2, 5, 18, 25)])
    proba = np.zeros((3, 30, 40), dtype=np.float32)
    proba[0], proba[1], proba[2] = 0.5, 0.3, 0.2  # bands in the order other, soybean, corn (codes 3, 1, 2)
    p = make_raster(tmp_path / "p.tif", proba)
    ds = gdal.Open(p, gdal.GA_Update)
    for b, code in zip((1, 2, 3), (3, 1, 2)):
        ds.GetRasterBand(b).SetMetadataItem("CLASS_CODE", str(code))
    ds = None
    fm = field_map(path, fields, _grid(), NAMES, tmp_path / "f.tif", rule="probability", proba_path=p)
    assert (gdal.Open(str(fm.raster)).ReadAsArray()[5:25, 2:18] == 3).all()  # highest mean probability: other
    with pytest.raises(InputError, match="'probability' needs the class probabilities"):
        field_map(path, fields, _grid(), NAMES, tmp_path / "g.tif", rule="probability")


def test_bad_field_layers_are_one_sentence(tmp_path):
    grid = _grid()
    with pytest.raises(InputError, match="Fields 'nocrs.gpkg' have no CRS"):
        read_fields(_fields(tmp_path / "nocrs.gpkg", [(0, 0, 5, 5)], epsg=None), grid)
    with pytest.raises(InputError, match="Fields 'f.gpkg' have no field 'field_id'; fields are: parcel"):
        read_fields(_fields(tmp_path / "f.gpkg", [(0, 0, 5, 5)]), grid, "field_id")
    with pytest.raises(InputError, match="None of the polygons in 'far.gpkg' falls inside the study area"):
        read_fields(_fields(tmp_path / "far.gpkg", [(5000, 0, 5010, 5)]), grid)
    (tmp_path / "text.gpkg").write_text("not a vector file")
    with pytest.raises(InputError, match="Fields 'text.gpkg' are not a vector file GDAL can read"):
        read_fields(str(tmp_path / "text.gpkg"), grid)
