import datetime as dt

import pytest

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import DateError
from tsstfn_crop_mapper.core.inputs.dates import date_from_metadata, date_from_name, detect_date, doy, parse_date


@pytest.mark.parametrize(
    "name, expected",
    [
        ("S2B_MSIL2A_20210731T025549_N0301_R032_T51TXM_20210731T054429.SAFE", dt.date(2021, 7, 31)),
        ("S2A_MSIL2A_20200418T025551_N0500_R032_T51TXM_20230601T000000_NDVI.tif", dt.date(2020, 4, 18)),
        ("T51TXM_20210625T025549_B04_10m.jp2", dt.date(2021, 6, 25)),
        ("MOD09GQ.A2021212.h26v04.061.2021214043538.hdf", dt.date(2021, 7, 31)),
        ("MYD09GQ.A2020060.h26v04.061.2020062000000.hdf", dt.date(2020, 2, 29)),  # leap year
        ("ndvi_2021-08-31.tif", dt.date(2021, 8, 31)),
        ("S2_NDVI_2021_06_12_clip.tif", dt.date(2021, 6, 12)),
        ("modis_ndvi_20200519.tif", dt.date(2020, 5, 19)),
        ("/data/2020.09.10/ndvi.tif".replace("/ndvi.tif", "_ndvi.tif"), dt.date(2020, 9, 10)),
    ],
)
def test_dates_from_real_world_names(name, expected):
    assert date_from_name(name) == expected


@pytest.mark.parametrize("name", ["field_123456789.tif", "ndvi.tif", "tile_99999999.tif", "MOD09GQ.A2021400.h26v04.tif"])
def test_names_without_a_date(name):
    assert date_from_name(name) is None


def test_dates_from_gdal_metadata(tmp_path):
    path = make_raster(tmp_path / "ndvi.tif", [[0.5]], metadata={"TIFFTAG_DATETIME": "2021:07:30 02:55:49"})
    assert detect_date("ndvi", path=path) == dt.date(2021, 7, 30)
    assert date_from_metadata({"PRODUCT_START_TIME": "2020-05-18T02:55:51.024Z"}) == dt.date(2020, 5, 18)
    assert date_from_metadata({"RANGEBEGINNINGDATE": "2021-06-25"}) == dt.date(2021, 6, 25)


def test_missing_date_is_an_explicit_error(tmp_path):
    path = make_raster(tmp_path / "ndvi.tif", [[0.5]])
    with pytest.raises(DateError, match="'my layer'.*YYYY-MM-DD"):
        detect_date("my layer", path=path)


def test_parse_date_names_the_field():
    assert parse_date("2021-07-30") == dt.date(2021, 7, 30)
    with pytest.raises(DateError, match="'targets\\[0\\].date'"):
        parse_date("30/07/2021", "targets[0].date")
    assert doy(dt.date(2020, 12, 31)) == 366
