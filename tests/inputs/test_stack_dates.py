"""Dates in every form users have them, band dates of stacks, undated rows and the local-CRS rule."""

import datetime as dt

import numpy as np
import pytest
from osgeo import gdal

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import DateError, InputError
from tsstfn_crop_mapper.core.inputs.align import check_crs, ndvi_to_grid
from tsstfn_crop_mapper.core.inputs.dates import (
    band_dates,
    composite_dates,
    date_from_name,
    date_from_text,
    detect_date,
    read_timeline,
    stack_dates,
    timeline_for,
)
from tsstfn_crop_mapper.core.inputs.grid import Grid, has_real_crs, is_local_crs, pixel_size_of, reference_grid, srs_of
from tsstfn_crop_mapper.core.inputs.inventory import build_tables, kind_of, raster_info
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource

D = dt.date


@pytest.mark.parametrize(
    "name, expected",
    [
        ("LC81260382015287LGN00", D(2015, 10, 14)),  # pre-collection: path 126, row 038, 2015 day 287
        ("LC81260382015287LGN00_B4.TIF", D(2015, 10, 14)),
        ("lt50440342001144pac01_ndvi.tif", D(2001, 5, 24)),
        ("LE71910282020100SG100.tar.gz", D(2020, 4, 9)),
        ("LC08_L1TP_126038_20151014_20170403_01_T1_B4.TIF", D(2015, 10, 14)),  # Collection 1
        ("LC09_L2SP_190028_20220409_20220822_02_T1_SR_B4.TIF", D(2022, 4, 9)),  # Collection 2
        ("2020068_191-28_kranj.tif", D(2020, 3, 8)),  # year + day of year at the start
        ("2020068_191-28.tif_filled_kranj.tif", D(2020, 3, 8)),
        ("ndvi.2020366.tif", D(2020, 12, 31)),  # leap year
        ("MOD13Q1_NDVI_2020_065.tif", D(2020, 3, 5)),  # MODIStsp
        ("MOD13Q1.A2013257.h12v10.006.tif", D(2013, 9, 14)),
        ("TERRA_MODIS_012010_NDVI_2013-09-14.jp2", D(2013, 9, 14)),
        ("MODIS_Sinop_NDVI_2013-09-14.tif", D(2013, 9, 14)),
        ("S2A_MSIL2A_20200418T025551_N0500_R032_T51TXM_20230601T000000.SAFE", D(2020, 4, 18)),
        ("ndvi_30.07.2021.tif", D(2021, 7, 30)),  # a day above 12: day first
        ("ndvi_07-30-2021.tif", D(2021, 7, 30)),  # a day above 12: month first
        ("ndvi_05.07.2021.tif", D(2021, 7, 5)),  # ambiguous, dotted: day first
        ("ndvi_05-07-2021.tif", D(2021, 5, 7)),  # ambiguous, dashed: month first
        ("modis_ndvi_20200519.tif", D(2020, 5, 19)),
    ],
)
def test_dates_in_the_names_users_have(name, expected):
    assert date_from_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "2020400_x.tif",  # no day 400
        "2021366_x.tif",  # 2021 is no leap year
        "x_1234567_y.tif",  # not a plausible year
        "tile_12345678901.tif",  # a longer number
        "id_20210732.tif",  # an impossible compact date
        "sinop-ndvi-2014.tif",  # a year alone
        "tm0524",  # month and day without a year
        "field_2020068x.tif",  # no separator after the day of year
        "LC81260382015400LGN00",  # no day 400
        "h12v10_2021_07.tif",
        "plot_2019_150.tif",  # a plot and its number, not MODIStsp's year and day
    ],
)
def test_numbers_that_are_no_date(name):
    assert date_from_name(name) is None


def test_band_names_and_envi_fields_give_dates(tmp_path):
    assert date_from_text("Resize (Band 1:TM05-24-01)") == D(2001, 5, 24)  # ESTARFM's ENVI band names
    assert date_from_text("Resize (Band 1:TM07-11-01)") == D(2001, 7, 11)  # ambiguous: month first
    assert date_from_text("NDVI 2021-07-30") == D(2021, 7, 30)
    assert date_from_text("Band 1") is None
    path = _envi(tmp_path / "scene", 2, extra="acquisition time = 2019-06-02T10:22:11Z\n")
    assert detect_date("scene", path=path) == D(2019, 6, 2)
    named = _envi(tmp_path / "tm0524", 3, extra="band names = {Resize (Band 1:TM05-24-01), b2 TM05-24-01, b3 TM05-24-01}\n")
    assert detect_date("tm0524", path=named) == D(2001, 5, 24)
    assert stack_dates(named) == []  # three bands of one date: an image, not a stack
    info = raster_info(named)
    assert info.band_dates == () and not info.has_crs and info.pixel_size == 1.0


def test_wavelengths_mean_spectral_bands_not_dates(tmp_path):
    path = _envi(
        tmp_path / "spectral", 2, extra="band names = {2021-07-30, 2021-08-15}\nwavelength = {0.66, 0.86}\n"
    )  # fmt: skip
    assert band_dates(path) == [None, None]


def test_a_stack_dated_by_band_descriptions_expands_into_one_row_per_band(tmp_path):
    path = make_raster(tmp_path / "MOD13Q1_stack.tif", np.full((3, 2, 2), 0.5), gt=(0, 250.0, 0, 0, 0, -250.0))
    ds = gdal.Open(str(path), gdal.GA_Update)
    for b, text in ((1, "NDVI 2021-06-01"), (2, "NDVI 2021-07-30"), (3, "cloudy, date lost")):
        ds.GetRasterBand(b).SetDescription(text)
    ds = None
    assert band_dates(path) == [D(2021, 6, 1), D(2021, 7, 30), None]
    info = raster_info(path)
    assert kind_of(info) == "modis" and info.band_dates == (D(2021, 6, 1), D(2021, 7, 30), None)
    tables = build_tables([info])
    assert tables.targets == [{"date": "2021-07-30", "coarse": {"path": path, "band": 2}, "fine": None, "fine_mask": None}]
    assert tables.undated == ["MOD13Q1_stack.tif band 3"]
    assert tables.undated_rows == [{"date": "", "coarse": {"path": path, "band": 3}, "fine": None, "fine_mask": None}]


def test_a_timeline_file_beside_the_stack(tmp_path):
    path = make_raster(tmp_path / "sits.tif", np.full((3, 2, 2), 0.5))
    assert stack_dates(path) == [] and band_dates(path) == [None, None, None]
    (tmp_path / "sits.timeline.txt").write_text("# MOD13Q1 start dates\n2013-09-14\n\n2013-09-30\n2013-10-16\n")
    assert timeline_for(path, 3) == tmp_path / "sits.timeline.txt"
    assert band_dates(path) == [D(2013, 9, 14), D(2013, 9, 30), D(2013, 10, 16)]
    assert raster_info(path).band_dates == (D(2013, 9, 14), D(2013, 9, 30), D(2013, 10, 16))
    (tmp_path / "sits.timeline.txt").unlink()
    (tmp_path / "timeline.csv").write_text("date,label\n2014-01-01,a\n2014-01-17,b\n")  # two dates: not this stack's
    assert timeline_for(path, 3) is None and band_dates(path) == [None] * 3
    with pytest.raises(DateError, match="holds 2 dates but 'sits.tif' has 3 bands"):
        band_dates(path, timeline=tmp_path / "timeline.csv")
    assert read_timeline(tmp_path / "timeline.csv") == [D(2014, 1, 1), D(2014, 1, 17)]
    (tmp_path / "bad.txt").write_text("2014-01-01\nnot a date\n")
    with pytest.raises(DateError, match="line 2"):
        read_timeline(tmp_path / "bad.txt")


def test_start_and_step_or_modis_composites(tmp_path):
    path = make_raster(tmp_path / "sinop-ndvi-2014.tif", np.full((23, 2, 2), 0.5))
    dates = band_dates(path, start="2013-09-14", composite=16)
    assert dates[:8] == [D(2013, 9, 14), D(2013, 9, 30), D(2013, 10, 16), D(2013, 11, 1), D(2013, 11, 17),
                         D(2013, 12, 3), D(2013, 12, 19), D(2014, 1, 1)]  # fmt: skip
    assert dates[-1] == D(2014, 8, 29) and len(dates) == 23
    assert composite_dates(D(2020, 12, 26), 3, 8) == [D(2020, 12, 26), D(2021, 1, 1), D(2021, 1, 9)]  # day 361, leap year
    assert band_dates(path, start=D(2021, 1, 1), step_days=5)[:3] == [D(2021, 1, 1), D(2021, 1, 6), D(2021, 1, 11)]
    for kwargs, words in (
        ({"start": "2021-01-01"}, "neither"),
        ({"start": "2021-01-01", "step_days": 5, "composite": 16}, "both"),
        ({"step_days": 5}, "first band's date"),
        ({"start": "2021-01-01", "step_days": 0}, "at least 1 day"),
    ):
        with pytest.raises(DateError, match=words):
            band_dates(path, **kwargs)
    with pytest.raises(InputError):
        band_dates(str(tmp_path / "missing.tif"), start="2021-01-01", step_days=1)


def test_an_undated_raster_still_gets_its_row(tmp_path):
    mystery = make_raster(tmp_path / "mystery.tif", [[0.5]])
    dated = make_raster(tmp_path / "s2_2021-04-10.tif", [[0.5]])
    tables = build_tables([raster_info(dated), raster_info(mystery)])
    assert tables.undated == ["mystery.tif"]
    assert tables.undated_rows == [{"date": "", "coarse": None, "fine": mystery, "fine_mask": None}]
    assert tables.incomplete == ["2021-04-10: MODIS missing"]


def _envi(path, bands, map_info=None, extra="", size=(4, 3)):
    """An ENVI file written by GDAL's driver, then fields added to its header as a user's tools write them."""
    ds = gdal.GetDriverByName("ENVI").Create(str(path), size[0], size[1], bands, gdal.GDT_Int16)
    for b in range(1, bands + 1):
        ds.GetRasterBand(b).WriteArray(np.full((size[1], size[0]), 1000 * b, dtype=np.int16))
    ds = None
    header = path.with_name(path.name + ".hdr") if path.with_name(path.name + ".hdr").exists() else path.with_suffix(".hdr")
    text = header.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("band names") and "Band " not in line)
    header.write_text(text + "\n" + (f"map info = {map_info}\n" if map_info else "") + extra)
    return str(path)


ARBITRARY_30M = "{Arbitrary, 1, 1, 0, 0, 30, 30, 0, units=Meters}"


def test_a_local_crs_counts_as_no_crs(tmp_path):
    local = _envi(tmp_path / "tm_local", 3, ARBITRARY_30M)
    identity = _envi(tmp_path / "tm_identity", 3, "{Arbitrary, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0}")
    plain = _envi(tmp_path / "tm_plain", 3)
    ds = gdal.Open(local)
    assert ds.GetProjection().startswith("LOCAL_CS") and is_local_crs(ds.GetSpatialRef())
    assert not has_real_crs(ds) and pixel_size_of(ds) == 30.0
    assert pixel_size_of(gdal.Open(identity)) is None and pixel_size_of(gdal.Open(plain)) is None
    assert has_real_crs(gdal.Open(make_raster(tmp_path / "utm.tif", [[0.5]])))
    with pytest.raises(InputError, match="local/engineering CRS"):
        srs_of(ds, "tm_local")
    grid = Grid.from_raster(local, allow_no_crs=True)
    assert not grid.has_crs and grid.pixel_size_m == 30.0
    assert grid.pixel_area_ha == pytest.approx(0.09) and grid.pixel_side_m == pytest.approx(30.0)  # not 1.1e9 ha
    with pytest.raises(InputError, match="no coordinate reference system"):
        Grid.from_raster(local)
    # the pixel size: the geotransform's, else the job's
    assert reference_grid(local, assume_aligned=True, pixel_size_m=10.0).pixel_size_m == 30.0
    assert reference_grid(identity, assume_aligned=True, pixel_size_m=10.0).pixel_area_ha == pytest.approx(0.01)
    assert reference_grid(plain, assume_aligned=True).pixel_size_m is None
    info = raster_info(local)
    assert not info.has_crs and info.pixel_size == 30.0


def test_jobs_with_local_crs_rasters_need_assume_aligned_and_align_as_pixel_grids(tmp_path, caplog):
    fine = _envi(tmp_path / "tm0524", 3, ARBITRARY_30M)
    coarse = _envi(tmp_path / "modis0524", 3, ARBITRARY_30M)
    sources = [NdviSource(fine, "red_nir", red_band=2, nir_band=3), NdviSource(coarse, "red_nir", red_band=2, nir_band=3)]
    with pytest.raises(InputError, match="has no coordinate reference system.*local/engineering CRS.*assume_aligned"):
        check_crs(sources, assume_aligned=False)
    with caplog.at_level("WARNING", logger="tsstfn"):
        check_crs(sources, assume_aligned=True)
    assert "every input has a CRS" not in caplog.text
    utm = make_raster(tmp_path / "utm.tif", [[0.5]])
    with pytest.raises(InputError, match="Some rasters have.*local/engineering CRS"):
        check_crs([*sources, NdviSource(utm, "ndvi")], assume_aligned=True)
    grid = reference_grid(fine, assume_aligned=True)
    out = ndvi_to_grid(sources[1], grid, tmp_path / "aligned.tif")
    ndvi = gdal.Open(str(out)).ReadAsArray()
    assert ndvi.shape == (3, 4) and np.allclose(ndvi, (3000 - 2000) / (3000 + 2000))
    masked = NdviSource(coarse, "red_nir", red_band=2, nir_band=3, mask_path=_envi(tmp_path / "mask", 1, ARBITRARY_30M),
                        mask_valid=(1000,))  # fmt: skip
    assert np.isfinite(gdal.Open(str(ndvi_to_grid(masked, grid, tmp_path / "masked.tif"))).ReadAsArray()).all()


def test_jobs_and_benchmarks_take_the_pixel_size_of_a_local_crs(tmp_path):
    from tsstfn_crop_mapper.core.pipeline.job import check_pixel_size

    local = _envi(tmp_path / "tm_local", 3, ARBITRARY_30M)
    plain = _envi(tmp_path / "tm_plain", 3)
    check_pixel_size(["starfm"], True, None, "Dataset", local)  # 30 m from its geotransform: no pixel_size_m needed
    with pytest.raises(InputError, match="'pixel_size_m': rasters without a CRS \\(assume_aligned\\) carry no pixel size"):
        check_pixel_size(["starfm"], True, None, "Dataset", plain)


def test_an_undated_raster_named_like_labels_is_left_out(tmp_path):
    labels = make_raster(tmp_path / "labels_2021_pixels.tif", [[1]], dtype=gdal.GDT_Byte)
    tables = build_tables([raster_info(labels, "labels 2021")])
    assert tables.undated_rows == [] and tables.skipped == [
        "labels 2021: no date, and named like a class or sample raster, not an image"
    ]
