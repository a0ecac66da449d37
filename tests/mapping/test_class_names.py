"""Class names come from the data (text, a value map, a lookup file, a raster's categories), never invented;
the legend lists only the learned classes; samples: season filter, shared pixels, classes outside the rasters."""

import logging

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping import classify
from tsstfn_crop_mapper.core.mapping import samples as samples_mod
from tsstfn_crop_mapper.core.mapping.classes import coerce_names, read_class_names, write_legend
from tsstfn_crop_mapper.core.mapping.workflow import MappingOptions, map_crops

X0, Y0 = 640000.0, 5150000.0


def _grid(w=20, h=20):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    return Grid(srs.ExportToWkt(), (X0, 10.0, 0.0, Y0, 0.0, -10.0), w, h)


def _points(path, rows, fields=(("crop", ogr.OFTInteger),)):
    """Points at pixel centres ``(r, c, value, ...)`` with ``fields`` in order."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    lyr = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    for name, kind in fields:
        lyr.CreateField(ogr.FieldDefn(name, kind))
    for r, c, *values in rows:
        f = ogr.Feature(lyr.GetLayerDefn())
        for (name, _), v in zip(fields, values):
            f.SetField(name, v)
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({X0 + 10 * c + 5} {Y0 - 10 * r - 5})"))
        lyr.CreateFeature(f)
    ds = None
    return str(path)


def _codes(path, codes_and_counts):
    rows, k = [], 0
    for code, n in codes_and_counts:
        for _ in range(n):
            rows.append((k // 20, k % 20, code))
            k += 1
    return _points(path, rows)


def test_codes_without_names_are_their_codes_never_crops(tmp_path):
    path = _codes(tmp_path / "codes.gpkg", [(1, 10), (2, 10), (3, 10), (4, 10)])
    s = samples_mod.read_samples(path, "crop", _grid())
    assert s.names == {1: "1", 2: "2", 3: "3", 4: "4"}  # not soybean / corn / other / class 4


def test_text_names_are_the_names_in_sorted_order(tmp_path):
    rows = [(i // 20, i % 20, ["Soja", "milho", "Algodão"][i % 3]) for i in range(36)]
    s = samples_mod.read_samples(_points(tmp_path / "t.gpkg", rows, (("crop", ogr.OFTString),)), "crop", _grid())
    assert s.names == {1: "Algodão", 2: "milho", 3: "Soja"}
    assert {s.names[c] for c in s.codes[:3]} == {"Soja", "milho", "Algodão"}


def test_value_map_and_lookup_files_name_the_codes(tmp_path, caplog):
    path = _codes(tmp_path / "codes.gpkg", [(4, 10), (7, 10), (9, 10)])
    grid = _grid()
    # the dialog passes a QGIS value map; a job file's JSON keys are text
    s = samples_mod.read_samples(path, "crop", grid, class_names={"4": "soybean", "7": "cotton", "9": "pasture"})
    assert s.names == {4: "soybean", 7: "cotton", 9: "pasture"}
    assert coerce_names({"soybean": "4"}) == {4: "soybean"}  # QGIS's own way round: shown text -> stored code
    csv_file = tmp_path / "names.csv"
    csv_file.write_text("code;name\n4;soja\n7;algodão\n9;pastagem\n", encoding="utf-8")
    clr = tmp_path / "names.clr"
    clr.write_text("# QGIS Generated Color Map Export File\nINTERPOLATION:EXACT\n4 230 200 74 255 soja\n7 1 2 3 255 algodão\n")
    qml = tmp_path / "names.qml"
    qml.write_text(
        '<qgis><pipe><rasterrenderer type="paletted"><colorPalette>'
        '<paletteEntry value="4" color="#e6c84a" alpha="255" label="soja"/>'
        '<paletteEntry value="9" color="#000000" alpha="255" label="pastagem"/>'
        "</colorPalette></rasterrenderer></pipe></qgis>"
    )
    assert read_class_names(csv_file) == {4: "soja", 7: "algodão", 9: "pastagem"}
    assert read_class_names(clr) == {4: "soja", 7: "algodão"}
    assert read_class_names(qml) == {4: "soja", 9: "pastagem"}
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        s = samples_mod.read_samples(path, "crop", grid, class_names_file=str(clr))
    assert s.names == {4: "soja", 7: "algodão", 9: "9"} and "class code(s) 9 have no name" in caplog.text
    bad = tmp_path / "bad.qml"
    bad.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><qgis>&a;</qgis>')
    with pytest.raises(InputError, match="'bad.qml' declares a document type or entities"):
        read_class_names(bad)
    with pytest.raises(InputError, match="'names.xlsx' is not a CSV"):
        read_class_names(tmp_path / "names.xlsx")
    empty = tmp_path / "empty.csv"
    empty.write_text("code,name\n")
    with pytest.raises(InputError, match="'empty.csv' names no class"):
        read_class_names(empty)


def test_label_raster_names_from_its_categories_or_attribute_table(tmp_path):
    labels = np.zeros((20, 20), np.uint8)
    labels[:5], labels[5:10] = 4, 8
    path = make_raster(tmp_path / "labels.tif", labels, dtype=gdal.GDT_Byte)
    grid = Grid.from_raster(path)
    assert samples_mod.read_samples(path, "", grid).names == {4: "4", 8: "8"}
    ds = gdal.Open(path, gdal.GA_Update)
    names = [""] * 9
    names[4], names[8] = "soy", "rice"
    ds.GetRasterBand(1).SetCategoryNames(names)
    ds = None
    assert samples_mod.read_samples(path, "", grid).names == {4: "soy", 8: "rice"}
    rat_path = make_raster(tmp_path / "rat.tif", labels, dtype=gdal.GDT_Byte)
    ds = gdal.Open(rat_path, gdal.GA_Update)
    rat = gdal.RasterAttributeTable()
    rat.CreateColumn("value", gdal.GFT_Integer, gdal.GFU_MinMax)
    rat.CreateColumn("class_name", gdal.GFT_String, gdal.GFU_Name)
    for row, (code, name) in enumerate([(4, "soy"), (8, "maize")]):
        rat.SetValueAsInt(row, 0, code)
        rat.SetValueAsString(row, 1, name)
    ds.GetRasterBand(1).SetDefaultRAT(rat)
    ds = None
    assert samples_mod.read_samples(rat_path, "", grid).names == {4: "soy", 8: "maize"}


def test_legend_lists_only_the_learned_classes(tmp_path):
    """Codes 4 and 200: the map's colour table has no coloured entry between them, the .qml two entries."""
    rng = np.random.default_rng(0)
    h = w = 30
    truth = np.where(np.arange(w)[None, :] < 15, 4, 200).repeat(h, 0).astype(np.int32)
    dates = []
    for t in range(3):
        ndvi = np.where(truth == 4, 0.3 + 0.2 * t, 0.8 - 0.2 * t) + rng.normal(0, 0.02, truth.shape)
        dates.append(make_raster(tmp_path / f"d{t}.tif", ndvi.astype(np.float32)))
    grid = Grid.from_raster(dates[0])
    rows, cols = np.mgrid[0:h:2, 0:w:2]
    rows, cols = rows.ravel(), cols.ravel()
    samples = samples_mod.Samples(rows, cols, truth[rows, cols], np.arange(len(rows)), {4: "soja", 200: "pasto"})
    options = MappingOptions(300.0, forest=classify.ForestParams(n_estimators=5, min_samples_leaf=1))
    result = map_crops(dates, grid, samples, options, tmp_path / "map.tif", tmp_path / "report", estimate_areas=False)
    assert [p.name for p in result.legend] == ["map.qml", "map.clr"]
    assert read_class_names(result.legend[0]) == {4: "soja", 200: "pasto"}  # the legend QGIS loads with the map
    assert read_class_names(result.legend[1]) == {4: "soja", 200: "pasto"}
    ds = gdal.Open(str(result.crop_map))  # kept alive while its band is read
    table = ds.GetRasterBand(1).GetColorTable()
    coloured = [i for i in range(table.GetCount()) if table.GetColorEntry(i)[:3] != (0, 0, 0)]
    assert coloured == [4, 200]  # (a GeoTIFF palette has 256 entries and no alpha: the .qml is the legend QGIS shows)
    assert classify.class_names_of(result.crop_map) == {4: "soja", 200: "pasto"}
    header = result.pixel_areas.read_text().splitlines()[1:]
    assert [line.split(",")[1] for line in header] == ["soja", "pasto"]
    written = write_legend(tmp_path / "x.tif", {3: 'a "quoted" & <odd> name'})
    assert read_class_names(written[0]) == {3: 'a "quoted" & <odd> name'}


def test_season_filter_keeps_one_season(tmp_path):
    fields = (("crop", ogr.OFTString), ("year", ogr.OFTInteger), ("sown", ogr.OFTDate))
    rows = [(i // 20, i % 20, "soy" if i % 2 else "corn", 2020 + i % 3 // 2, f"{2020 + i % 3 // 2}/11/0{1 + i % 5}")
            for i in range(60)]  # fmt: skip
    path = _points(tmp_path / "seasons.gpkg", rows, fields)
    grid = _grid()
    kept = samples_mod.read_samples(path, "crop", grid, season_field="year", season="2021")
    assert len(kept.codes) == sum(1 for r in rows if r[3] == 2021) == 20
    by_date = samples_mod.read_samples(path, "crop", grid, season_field="sown", season="2020", min_per_class=5)
    assert len(by_date.codes) == 40  # a date field: the year of its dates
    with pytest.raises(InputError, match=r"No sample of 'seasons.gpkg' has 'year' = '2019'; its values are '2020' \(40\)"):
        samples_mod.read_samples(path, "crop", grid, season_field="year", season="2019")
    with pytest.raises(InputError, match="have no field 'season' to filter seasons by"):
        samples_mod.read_samples(path, "crop", grid, season_field="season", season="2021")


def test_shared_pixels_are_warned_about_and_kept_on_one_side(tmp_path, caplog):
    """Two seasons of the same 40 pixels, half of them with another class the second season."""
    rows = []
    for year in (2020, 2021):
        for i in range(40):
            crop = "soy" if (i % 2 or (year == 2021 and i < 20)) else "corn"
            rows.append((i // 20, i % 20, crop, year))
    fields = (("crop", ogr.OFTString), ("year", ogr.OFTInteger))
    path = _points(tmp_path / "two_seasons.gpkg", rows, fields)
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        s = samples_mod.read_samples(path, "crop", _grid())
    assert "40 pixel(s) hold two or more samples (80 samples), 10 of them with different classes ('corn' and 'soy' on 10)" in (
        caplog.text
    )
    assert "Filter them by 'year'" in caplog.text and s.notes == [caplog.records[-1].getMessage()]
    pixels = s.pixel_ids()
    for how in ("random", "field"):
        for seed in range(5):
            train, test = samples_mod.split(s, how, 0.3, seed)
            assert not set(pixels[train]) & set(pixels[test]), how  # no test pixel is a training pixel
            assert len(train) + len(test) == 80
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        samples_mod.read_samples(path, "crop", _grid(), season_field="year", season="2020")
    assert "hold two or more" not in caplog.text


def test_a_class_outside_the_rasters_or_on_nodata_is_named(tmp_path, caplog):
    rows = [(i // 20, i % 20, "soy" if i % 2 else "corn") for i in range(40)]
    rows += [(500 + i, 3, "rice") for i in range(14)]  # far below the grid
    path = _points(tmp_path / "rice.gpkg", rows, (("crop", ogr.OFTString),))
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        s = samples_mod.read_samples(path, "crop", _grid())
    assert "class 'rice': its 14 sample(s) all lie outside the rasters" in caplog.text
    assert sorted(s.names.values()) == ["corn", "soy"]
    assert any("class 'rice': its 14 sample(s)" in note for note in s.notes)  # carried into the reports' notes
    # a class on pixels without NDVI: named in the assessment's notes, and not in the map's legend
    ndvi = np.full((20, 20), 0.5, np.float32)
    ndvi[1] = np.nan  # the 'rice' row below
    paths = [make_raster(tmp_path / f"n{t}.tif", ndvi + 0.1 * t) for t in range(2)]
    grid = Grid.from_raster(paths[0])
    n = 60
    rows = np.r_[np.zeros(n // 2, int) + 5, np.zeros(n // 2, int) + 6, np.ones(12, int)]
    cols = np.r_[np.arange(n // 2) % 20, np.arange(n // 2) % 20, np.arange(12)]
    codes = np.r_[np.ones(n // 2, int), np.full(n // 2, 2), np.full(12, 3)]
    samples = samples_mod.Samples(rows, cols, codes, np.arange(len(rows)), {1: "corn", 2: "soy", 3: "rice"})
    a = classify.assess_forest(paths, grid, samples, "random", 0.3, classify.ForestParams(n_estimators=3), 1000.0,
                               compare_blocks=False)  # fmt: skip
    assert any("Class 'rice': its 12 sample(s) all lie on nodata" in note for note in a.notes)
    assert a.classifier.names == {1: "corn", 2: "soy"}


def test_command_line_names_codes_and_filters_seasons(tmp_path, capsys):
    from tsstfn_crop_mapper.core import cli

    truth = np.where(np.arange(20)[None, :] < 10, 4, 7).repeat(20, 0)
    rasters = [make_raster(tmp_path / f"n{t}.tif", np.where(truth == 4, 0.3 + 0.2 * t, 0.8 - 0.2 * t).astype(np.float32))
               for t in range(3)]  # fmt: skip
    rows = [(r, c, int(truth[r, c]) if year == 2021 else 9, year) for year in (2020, 2021) for r in range(0, 20, 2)
            for c in range(0, 20, 2)]  # fmt: skip
    samples = _points(tmp_path / "s.gpkg", rows, (("code", ogr.OFTInteger), ("year", ogr.OFTInteger)))
    (tmp_path / "names.csv").write_text("code,name\n4,soja\n7,algodão\n9,arroz\n", encoding="utf-8")
    args = ["classify", *rasters, "--samples", samples, "--class-field", "code", "--class-names", str(tmp_path / "names.csv"),
            "--season-field", "year", "--season", "2021", "--out", str(tmp_path / "out" / "map.tif")]  # fmt: skip
    assert cli.main(args) == 0
    assert classify.class_names_of(tmp_path / "out" / "map.tif") == {4: "soja", 7: "algodão"}  # 2021 has no 'arroz'
    assert "| soja |" in (tmp_path / "out" / "report" / "accuracy.md").read_text()
    capsys.readouterr()
    assert cli.main([*args[:-2], "--season", "2019", "--out", str(tmp_path / "o2" / "map.tif")]) == 2  # an input error
    assert "No sample of 's.gpkg' has 'year' = '2019'" in capsys.readouterr().err


def test_the_chosen_names_file_wins_over_the_value_map(tmp_path):
    """The order stated once (docs/classification.md): the file the user chose, then the value map, then the codes."""
    path = _codes(tmp_path / "codes.gpkg", [(4, 10), (7, 10), (9, 10)])
    names = tmp_path / "names.csv"
    names.write_text("code,name\n4,soja\n7,algodão\n", encoding="utf-8")
    value_map = {"soybean": "4", "cotton": "7", "pasture": "9"}  # the layer's Value Map, QGIS's way round
    s = samples_mod.read_samples(path, "crop", _grid(), class_names=value_map, class_names_file=str(names))
    assert s.names == {4: "soja", 7: "algodão", 9: "pasture"}  # the file wins; the value map names what it leaves out
    assert samples_mod.read_samples(path, "crop", _grid(), class_names=value_map).names[4] == "soybean"


def test_a_real_class_field_is_integer_codes(tmp_path):
    """A class field stored as Real (GeoPackage REAL, a Shapefile field with decimals: 1.0, 2.0) is codes, not text."""
    assert samples_mod._codes([1.0, 2.0, 1.0], None, "s", {1: "soy", 2: "corn"})[1] == {1: "soy", 2: "corn"}
    assert samples_mod._codes(["1.0", "2", "1"], None, "s", {1: "soy", 2: "corn"})[1] == {1: "soy", 2: "corn"}
    assert samples_mod._codes([1.5, 2.0], None, "s", {2: "corn"})[1] == {1: "1.5", 2: "2.0"}  # a fraction: text
    rows = [(k // 20, k % 20, float(1 + k % 2)) for k in range(40)]
    path = _points(tmp_path / "real.gpkg", rows, (("crop", ogr.OFTReal),))
    s = samples_mod.read_samples(path, "crop", _grid(), class_names={"1": "soy", "2": "corn"})
    assert s.names == {1: "soy", 2: "corn"} and sorted(set(s.codes.tolist())) == [1, 2]
    with pytest.raises(InputError, match="class 'x' is not one of the classes soy, corn"):
        samples_mod._codes([1.0, "x"], {1: "soy", 2: "corn"}, "s")
    assert samples_mod._codes([1.0, 2.0], {1: "soy", 2: "corn"}, "s")[0].tolist() == [1, 2]


def test_season_choices_of_a_date_field_are_what_the_filter_keeps():
    import datetime as dt

    values = [dt.date(2021, 7, 30), "2020/11/02", dt.datetime(2021, 8, 31, 10, 30), None, "NULL"]
    offered = samples_mod.season_choices(values)
    assert offered == ["2020", "2021", "2020-11-02", "2021-07-30", "2021-08-31"]
    assert samples_mod.season_choices([2021, 2020, "2020/21"]) == ["2020", "2020/21", "2021"]
    assert samples_mod.season_matches("2021/07/30", "2021-07-30") and samples_mod.season_matches("2021/07/30", "2021")
    assert samples_mod.season_matches(dt.date(2021, 7, 30), "2021-07-30") and samples_mod.season_matches(2021.0, "2021")
    assert not samples_mod.season_matches("2021/07/30", "2021-07-31") and not samples_mod.season_matches("2021/07/30", "2020")
