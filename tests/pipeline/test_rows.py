"""Core's checks of a job's pair rows and samples, each error at its place (the dialog highlights it)."""

from __future__ import annotations

import pytest
from osgeo import gdal

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import PlaceError
from tsstfn_crop_mapper.core.pipeline.rows import RowChecker, check_fields


@pytest.fixture()
def rows(tmp_path):
    fine = [make_raster(tmp_path / f"S2_2021060{d}.tif", [[[1500] * 4] * 4, [[4000] * 4] * 4], dtype=gdal.GDT_Int16)
            for d in (1, 2)]  # fmt: skip
    modis = [make_raster(tmp_path / f"MOD09GQ.A2021{d}.tif", [[[500]], [[3000]]], dtype=gdal.GDT_Int16,
                         gt=(640000.0, 250.0, 0.0, 5150000.0, 0.0, -250.0)) for d in (152, 213)]  # fmt: skip
    data = {
        "reference": [],
        "prediction": [{"date": "2021-06-01", "coarse": modis[0], "fine": fine[0]}],
        "targets": [{"date": "2021-08-01", "coarse": modis[1]}],
        "fine_product": "s2_l2a",
        "coarse_product": "mod09gq",
    }
    return data, fine, modis


def _place(data, season=(7, 1)):
    with pytest.raises(PlaceError) as info:
        RowChecker().check(data, season)
    return info.value.place, str(info.value)


def test_rows_are_refused_at_their_place(rows, tmp_path):
    data, fine, modis = rows
    RowChecker().check(data, (7, 1))
    assert _place({**data, "targets": [{"date": "2021-08-01"}]})[0] == ("targets", 0, "coarse")
    RowChecker().check({**data, "targets": [{"coarse": modis[1]}]}, (5, 1))  # the date from the name (A2021213)
    place, message = _place({**data, "targets": [{"coarse": modis[1]}]}, (8, 15))  # 1 August, before the season
    assert place == ("targets", 0, "date") and message.startswith("Targets row 1: 2021-08-01 is before")
    undated = make_raster(tmp_path / "modis_x.tif", [[[500]], [[3000]]], dtype=gdal.GDT_Int16,
                          gt=(640000.0, 250.0, 0.0, 5150000.0, 0.0, -250.0))  # fmt: skip
    place, message = _place({**data, "targets": [{"coarse": undated}]})
    assert place == ("targets", 0, "date") and "none of its rasters holds one" in message
    place, message = _place(data, (9, 1))
    assert place == ("targets", 0, "date") and "before the critical season, which starts on 1 September" in message
    place, message = _place({**data, "targets": [{"date": "2021-08-01", "coarse": modis[0]}]})
    assert place == ("targets", 0, "coarse") and "is already in Prediction row 1 (MODIS)" in message
    place, message = _place({**data, "targets": [{"date": "2021-08-01", "coarse": {"path": modis[1], "band": 5}}]})
    assert place == ("targets", 0, "coarse_band") and "band 5 does not exist" in message
    place, message = _place({**data, "prediction": [{"date": "2021-06-01", "coarse": modis[0], "fine": modis[1]}]})
    assert place == ("prediction", 0, "fine") and "cannot go in the Sentinel-2 column" in message


def test_a_verdict_is_remembered_until_a_file_changes(rows, tmp_path):
    data, fine, _ = rows
    checker = RowChecker(lambda key, row, column: f"layer {key} {row} {column}")
    row = {**data["prediction"][0], "fine": str(tmp_path / "x.tif")}
    bad = {**data, "prediction": [row]}
    for _ in range(2):  # the second answer comes from memory, with the same place and message
        with pytest.raises(PlaceError) as info:
            checker.check(bad)
        assert info.value.place == ("prediction", 0, "fine") and "layer prediction 0 fine" in str(info.value)
    make_raster(tmp_path / "x.tif", [[[500] * 4] * 4, [[3000] * 4] * 4], dtype=gdal.GDT_Int16)
    checker.check(bad)  # the file exists now: checked again, and fine


def test_samples_that_cannot_hold_labels_are_refused(tmp_path):
    scl = make_raster(tmp_path / "T51TXM_20210730_SCL_20m.tif", [[[4, 8], [9, 4]]], dtype=gdal.GDT_Byte)
    labels = make_raster(tmp_path / "labels.tif", [[[1, 2], [0, 3]]], dtype=gdal.GDT_Byte)
    ndvi = make_raster(tmp_path / "ndvi.tif", [[[0.1, 0.5], [0.2, 0.3]]])
    check_fields({"samples": labels}, vector=False)
    for path, words in ((scl, "cloud or QA mask"), (ndvi, "real numbers")):
        with pytest.raises(PlaceError) as info:
            check_fields({"samples": path}, vector=False, name="my layer")
        assert info.value.place == ("samples", None, None) and words in str(info.value) and "'my layer'" in str(info.value)
    with pytest.raises(PlaceError, match="Choose a samples layer"):
        check_fields({}, vector=True)
    with pytest.raises(PlaceError, match="is also the field id"):
        check_fields({"samples": "s.gpkg", "class_field": "crop", "group_field": "crop"}, vector=True)
    with pytest.raises(PlaceError, match="named like an id"):
        check_fields({"samples": "s.gpkg", "class_field": "field_id"}, vector=True)


def test_validation_reads_a_sample_as_the_run_would(rows, tmp_path):
    data, fine, modis = rows
    ndvi = make_raster(tmp_path / "ndvi_x10000.tif", [[[2500, 9000], [4000, 8000]]], dtype=gdal.GDT_Int16)
    bad = {**data, "prediction": [{**data["prediction"][0], "coarse": {"path": ndvi, "product": "ndvi"}}]}
    place, message = _place(bad)
    assert place == ("prediction", 0, "coarse") and "NDVI x 10000 (set the scale to 0.0001)" in message
    scaled = {"path": ndvi, "product": "ndvi", "scale": 0.0001}
    RowChecker().check({**data, "prediction": [{**data["prediction"][0], "coarse": scaled}]})
    scl = make_raster(tmp_path / "T51TXM_20210601_SCL_20m.tif", [[[255] * 4] * 4], dtype=gdal.GDT_Byte)
    place, message = _place({**data, "prediction": [{**data["prediction"][0], "fine_mask": scl}]})
    assert place == ("prediction", 0, "fine") and "255" in message


def test_scale_guesses(tmp_path):
    from tsstfn_crop_mapper.core.inputs.sample import guess_scale

    x10000 = make_raster(tmp_path / "a.tif", [[[2500, 9000], [-400, 8000]]], dtype=gdal.GDT_Int16)
    unit = make_raster(tmp_path / "b.tif", [[[0.02, 0.3], [0.1, 0.25]]])
    assert guess_scale(x10000, 1, "ndvi") == 0.0001 and guess_scale(unit, 1, "red_nir") == 1.0
    assert guess_scale(x10000, 1, "s2_l2a") is None  # a product with a scale of its own


def test_red_and_nir_bands_unknown_point_at_the_column_settings(rows, tmp_path):
    data, fine, modis = rows
    stack = make_raster(tmp_path / "tm0524.tif", [[[300] * 4] * 4] * 3, dtype=gdal.GDT_Int16)
    place, message = _place({**data, "fine_product": "red_nir", "prediction": [{**data["prediction"][0], "fine": stack}]})
    assert place == ("column", None, "fine.red_band") and "say which bands hold red and NIR" in message
