import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score, precision_score, recall_score

from conftest import make_points, make_raster
from tsstfn_crop_mapper.core.errors import InputError, ModelFileError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping import classify
from tsstfn_crop_mapper.core.mapping import samples as samples_mod
from tsstfn_crop_mapper.core.mapping.accuracy import assess, write_reports


def _grid(w=6, h=5):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    return Grid(srs.ExportToWkt(), (640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0), w, h)


def test_window_features_by_hand_at_edges_and_interior():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)  # one date
    feats, valid = classify.window_features(a[None])
    # interior pixel (1, 1): its 3x3 window row by row
    np.testing.assert_array_equal(feats[1, 1], [0, 1, 2, 4, 5, 6, 8, 9, 10])
    # corner (0, 0): the edge is repeated outside the scene
    np.testing.assert_array_equal(feats[0, 0], [0, 0, 1, 0, 0, 1, 4, 4, 5])
    # right edge (2, 3)
    np.testing.assert_array_equal(feats[2, 3], [6, 7, 7, 10, 11, 11, 10, 11, 11])
    assert valid.all()
    assert classify.feature_names(2)[:2] == ["d0_r-1c-1", "d0_r-1c+0"] and len(classify.feature_names(2)) == 18


def test_window_features_nan_rules_and_dates_order():
    a = np.arange(9, dtype=np.float32).reshape(3, 3)
    b = a + 100
    a2 = a.copy()
    a2[0, 0] = np.nan  # a neighbour of the centre
    a2[2, 2] = np.nan  # a centre elsewhere
    feats, valid = classify.window_features(np.stack([a2, b]))
    np.testing.assert_array_equal(feats[1, 1, :9], [4, 1, 2, 3, 4, 5, 6, 7, 4])  # NaN neighbours -> centre value
    np.testing.assert_array_equal(feats[1, 1, 9:], b.ravel())  # second date follows
    assert not valid[2, 2] and valid[1, 1]


@pytest.mark.parametrize("chunk", [256, 16, 5])
def test_feature_strips_equal_whole_features(tmp_path, monkeypatch, chunk):
    """Strips cut from chunks (halos at the chunks' and the strips' edges) equal the whole scene's features."""
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, (37, 11)).astype(np.float32) for _ in range(2)]
    arrays[1][12:20, 3:6] = np.nan  # NaN neighbours across a chunk edge take the centre's value
    paths = [make_raster(tmp_path / f"d{i}.tif", a) for i, a in enumerate(arrays)]
    whole, whole_valid = classify.window_features(np.stack(arrays))
    monkeypatch.setattr(classify, "CHUNK_ROWS", chunk)
    strips = list(classify.feature_strips(paths, 11, 37, 5))
    expected = [(y0, min(5, c1 - y0)) for c0 in range(0, 37, max(5, chunk)) for c1 in [min(37, c0 + max(5, chunk))]
                for y0 in range(c0, c1, 5)]  # fmt: skip
    assert [(y0, h) for y0, h, _, _ in strips] == expected  # 5-row strips, a shorter one at each chunk's end
    assert sum(h for _, h, _, _ in strips) == 37
    for y0, h, f, valid in strips:
        np.testing.assert_array_equal(f, whole[y0 : y0 + h])
        np.testing.assert_array_equal(valid, whole_valid[y0 : y0 + h])
    only = list(classify.feature_strips(paths, 11, 37, 5, sample_rows=np.array([17])))  # the strips of the samples
    assert [(y0, h) for y0, h, _, _ in only] == [(16, 5) if chunk == 16 else (15, 5)]
    rows, cols = np.random.default_rng(1).integers(0, 37, 50), np.random.default_rng(2).integers(0, 11, 50)  # unsorted
    samples = samples_mod.Samples(rows, cols, np.ones(50, int), np.zeros(50), {1: "soybean"})
    feats, valid = classify.sample_features(paths, samples, 11, 37)
    np.testing.assert_array_equal(feats, whole[rows, cols])
    np.testing.assert_array_equal(valid, whole_valid[rows, cols])


def test_samples_from_points_and_polygons(tmp_path):
    grid = _grid(20, 20)
    pts = [(640005 + 10 * i, 5149995 - 10 * (i % 7), "corn" if i % 2 else "soybean") for i in range(20)]
    s = samples_mod.read_samples(make_points(tmp_path / "p.gpkg", pts), "crop", grid, min_per_class=5)
    assert s.names == {1: "corn", 2: "soybean"}  # names are the text, codes in sorted order
    assert (s.rows[:3] == [0, 1, 2]).all() and (s.cols[:3] == [0, 1, 2]).all()
    # a polygon covering 4 x 3 pixel centres, in geographic coordinates (reprojected)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(grid.srs, srs)
    ring = [
        ct.TransformPoint(x, y)[:2]
        for x, y in ((640050, 5149950), (640090, 5149950), (640090, 5149920), (640050, 5149920), (640050, 5149950))
    ]
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / "poly.gpkg"))
    lyr = ds.CreateLayer("fields", srs, ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("crop", ogr.OFTInteger))
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetField("crop", 2)
    f.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"))
    lyr.CreateFeature(f)
    ds = None
    with pytest.raises(InputError, match="'poly.gpkg' hold one class \\(2\\) inside the study area; .* at least two"):
        samples_mod.read_samples(str(tmp_path / "poly.gpkg"), "crop", grid, min_per_class=1)
    ds = ogr.Open(str(tmp_path / "poly.gpkg"), 1)
    lyr = ds.GetLayer(0)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetField("crop", 1)
    f.SetGeometry(ogr.CreateGeometryFromWkt("POINT ({} {})".format(*ct.TransformPoint(640005, 5149995)[:2])).Buffer(1e-6))
    lyr.CreateFeature(f)
    ds = None
    s = samples_mod.read_samples(str(tmp_path / "poly.gpkg"), "crop", grid, min_per_class=1)
    corn = s.codes == 2
    assert corn.sum() == 12 and s.names == {1: "1", 2: "2"}  # codes without names are their codes, never invented
    assert set(zip(s.rows[corn], s.cols[corn])) == {(r, c) for r in range(5, 8) for c in range(5, 9)}


def test_sample_errors(tmp_path):
    grid = _grid(20, 20)
    outside = make_points(tmp_path / "out.gpkg", [(100.0, 100.0, "corn")] * 3)
    with pytest.raises(InputError, match="None of the samples in 'out.gpkg' falls inside the study area"):
        samples_mod.read_samples(outside, "crop", grid)
    pts = [(640005 + 10 * i, 5149995, v) for i, v in enumerate(["corn"] * 12 + ["wheat"] * 12)]
    path = make_points(tmp_path / "w.gpkg", pts)
    with pytest.raises(InputError, match="class 'wheat' is not one of the classes soybean, corn, other"):
        samples_mod.read_samples(path, "crop", grid, classes={1: "soybean", 2: "corn", 3: "other"})
    few = make_points(tmp_path / "few.gpkg", [(640005 + 10 * i, 5149995, "corn" if i < 15 else "soybean") for i in range(18)])
    with pytest.raises(InputError, match="class 'soybean' has 3 sample\\(s\\); at least 10"):
        samples_mod.read_samples(few, "crop", grid)
    with pytest.raises(InputError, match="no field 'class'; fields are: crop"):
        samples_mod.read_samples(few, "class", grid)


def _toy(tmp_path, h=30, w=24):
    """Two dates where class 1 is low and class 2 high, with a NaN hole."""
    rng = np.random.default_rng(0)
    truth = np.where(np.arange(w)[None, :] < w // 2, 1, 2).repeat(h, 0)
    dates = [np.where(truth == 1, 0.2, 0.7) + rng.normal(0, 0.03, truth.shape) for _ in range(2)]
    dates[1][:2, :2] = np.nan
    paths = [make_raster(tmp_path / f"n{i}.tif", d.astype(np.float32)) for i, d in enumerate(dates)]
    return truth, paths, _grid(w, h)


def test_classifier_map_colours_names_and_reload(tmp_path):
    truth, paths, grid = _toy(tmp_path)
    rows, cols = np.nonzero(np.ones_like(truth))
    samples = samples_mod.Samples(rows, cols, truth.ravel(), np.zeros(truth.size), {1: "soybean", 2: "corn"})
    feats, valid = classify.sample_features(paths, samples, grid.width, grid.height)
    clf = classify.train_forest(
        feats[valid], samples.codes[valid], samples.names, 2, classify.ForestParams(n_estimators=5, min_samples_leaf=1)
    )
    out = classify.classify_to_file(clf, paths, grid, tmp_path / "map.tif", tmp_path / "proba.tif")
    ds = gdal.Open(str(out))
    band = ds.GetRasterBand(1)
    arr = band.ReadAsArray()
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 0
    assert (arr[:2, :2] == 0).all()  # NaN centre -> nodata
    assert (arr[2:] == truth[2:]).mean() > 0.99
    assert band.GetCategoryNames()[:3] == ["nodata", "soybean", "corn"]
    assert band.GetColorTable().GetColorEntry(2)[:3] == (63, 143, 58)
    assert band.GetDescription() == "crop class"
    proba = gdal.Open(str(tmp_path / "proba.tif"))
    assert proba.RasterCount == 2 and proba.GetRasterBand(2).GetDescription() == "P(corn)"
    saved = classify.save_classifier(clf, tmp_path / "rf.skops")
    again = classify.load_classifier(saved, n_dates=2)
    np.testing.assert_array_equal(again.predict(feats[valid]), clf.predict(feats[valid]))
    assert again.names == {1: "soybean", 2: "corn"}
    with pytest.raises(ModelFileError, match="trained on 2 dates x 9 window values; this run gives 3"):
        classify.load_classifier(saved, n_dates=3)
    (tmp_path / "bad.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="'bad.skops' is not a readable classifier"):
        classify.load_classifier(tmp_path / "bad.skops")


def test_a_map_larger_than_gdals_cache_keeps_its_colours(tmp_path):
    """A whole tile's map leaves GDAL's cache long before its end: the colour map must be set before any pixel."""
    truth, paths, grid = _toy(tmp_path, h=640, w=640)
    rows, cols = np.nonzero(truth > 0)
    pick = slice(None, None, 97)
    samples = samples_mod.Samples(rows[pick], cols[pick], truth.ravel()[pick], np.zeros(truth[truth > 0][pick].size),
                                  {1: "soybean", 2: "corn"})  # fmt: skip
    feats, valid = classify.sample_features(paths, samples, grid.width, grid.height)
    clf = classify.train_forest(feats[valid], samples.codes[valid], samples.names, 2, classify.ForestParams(n_estimators=5))
    cache = gdal.GetCacheMax()
    gdal.SetCacheMax(256 << 10)  # 256 KB: blocks of the 400 KB map go to disk while it is written
    try:
        out = classify.classify_to_file(clf, paths, grid, tmp_path / "map.tif")
    finally:
        gdal.SetCacheMax(cache)
    ds = gdal.Open(str(out))
    band = ds.GetRasterBand(1)
    assert band.GetColorTable().GetColorEntry(2)[:3] == (63, 143, 58)
    assert band.GetCategoryNames()[:3] == ["nodata", "soybean", "corn"]
    assert (band.ReadAsArray()[2:] == truth[2:]).mean() > 0.99


def test_metrics_equal_scikit_learn_and_reports(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.integers(1, 4, 300)
    p = np.where(rng.random(300) < 0.8, y, rng.integers(1, 4, 300))
    acc = assess(y, p, {1: "soybean", 2: "corn", 3: "other"}, "random 7:3")
    assert acc.kappa == pytest.approx(cohen_kappa_score(y, p))
    np.testing.assert_array_equal(acc.matrix, confusion_matrix(y, p, labels=[1, 2, 3]))
    np.testing.assert_allclose(acc.precision, precision_score(y, p, average=None, labels=[1, 2, 3]))
    np.testing.assert_allclose(acc.recall, recall_score(y, p, average=None, labels=[1, 2, 3]))
    np.testing.assert_allclose(acc.f1, f1_score(y, p, average=None, labels=[1, 2, 3]))
    # 1 - pe, not the paper's printed 1 + pe
    p0 = np.trace(acc.matrix) / 300
    pe = (acc.matrix.sum(0) * acc.matrix.sum(1)).sum() / 300**2
    assert acc.kappa == pytest.approx((p0 - pe) / (1 - pe))
    paths = write_reports(acc, tmp_path, "acc", "Test")
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    text = paths["markdown"].read_text()
    assert "Cohen's kappa" in text and "Split: random 7:3" in text and "| soybean |" in text
    assert paths["confusion_csv"].read_text().splitlines()[0] == "reference \\ predicted,soybean,corn,other"


@pytest.mark.parametrize("kind", ["runs code", "writes a file"])
def test_a_crafted_classifier_file_is_refused_before_anything_loads(tmp_path, kind):
    """Types outside the exact allow-list of a saved forest refuse the file, naming the type, with no side effect."""
    import functools

    import skops.io as sio
    from numpy.testing._private.utils import runstring

    marker = tmp_path / "marker.txt"
    if kind == "runs code":  # would write the marker when called: the old prefix rule ('numpy.') trusted it
        evil = functools.partial(runstring, f"open({str(marker)!r}, 'w').write('owned')", {})
        bad_type = "numpy.testing._private.utils.runstring"
    else:  # numpy.memmap opens (and can overwrite) a file named in the payload
        evil = np.memmap
        bad_type = "numpy.memmap"
    path = tmp_path / "forest.skops"
    sio.dump({"format": "tsstfn-crop-mapper-forest", "forest": evil, "n_dates": 2, "names": {"1": "a"}, "layout": []}, path)
    assert bad_type in sio.get_untrusted_types(file=path) and bad_type.startswith("numpy.")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ModelFileError, match=f"holds .*{bad_type.replace('.', '[.]')}.*never holds; it was not loaded"):
        classify.load_classifier(path)
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_id_field_is_not_a_class_field(tmp_path):
    grid = _grid(20, 20)
    pts = [(640005.0 + 10 * i, 5149995.0 - 10 * i, f"parcel-{i}") for i in range(15)]
    path = make_points(tmp_path / "ids.gpkg", pts)
    with pytest.raises(InputError, match=r"Field 'crop' of samples 'ids.gpkg' has a different value in each of its 15"):
        samples_mod.read_samples(path, "crop", grid, min_per_class=1)


def test_a_field_named_like_an_id_is_refused_as_class_field_everywhere(tmp_path):
    path = make_points(tmp_path / "p.gpkg", [(640005.0, 5149995.0, "corn")])
    assert samples_mod.id_like_field("field_id") and samples_mod.id_like_field("fid")
    assert not samples_mod.id_like_field("class_id") and not samples_mod.id_like_field("crop")
    with pytest.raises(InputError, match=r"Class field 'field_id' of samples 'p.gpkg' is named like an id"):
        samples_mod.read_samples(path, "field_id", _grid(20, 20))


def test_a_series_that_holds_one_raster_or_band_twice_is_refused(tmp_path):
    """The same raster for two dates (by another path too) or a band twice is one sentence, before any work."""
    import os

    from tsstfn_crop_mapper.core.errors import InputError
    from tsstfn_crop_mapper.core.mapping.workflow import _check_each_date_once

    a, b = tmp_path / "ndvi_a.tif", tmp_path / "ndvi_b.tif"
    a.write_bytes(b"x")
    b.write_bytes(b"y")
    os.symlink(a, tmp_path / "alias.tif")
    _check_each_date_once([str(a), str(b)], None)
    with pytest.raises(InputError, match=r"'alias.tif' is given twice in the series \(rasters 1 and 3\)"):
        _check_each_date_once([str(a), str(b), str(tmp_path / "alias.tif")], None)
    with pytest.raises(InputError, match=r"Band 2 is given twice"):
        _check_each_date_once([str(a)], [1, 2, 2])
