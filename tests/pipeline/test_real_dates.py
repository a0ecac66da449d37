"""Dates of the real sets of ../shared/data/real (names, headers, the brick as composites), as each MANIFEST.md says.

Skipped, with the reason, where ../shared is absent (the data never enters the repository).
"""

import datetime as dt
from pathlib import Path

import pytest

from tsstfn_crop_mapper.core.inputs.dates import band_dates, date_from_name, detect_date, doy
from tsstfn_crop_mapper.core.inputs.grid import reference_grid
from tsstfn_crop_mapper.core.inputs.inventory import build_tables, raster_info

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real"

#: the 23 MOD13Q1 composite start dates of the Sinop MANIFEST
SINOP = [dt.date.fromisoformat(d) for d in (
    "2013-09-14", "2013-09-30", "2013-10-16", "2013-11-01", "2013-11-17", "2013-12-03", "2013-12-19", "2014-01-01",
    "2014-01-17", "2014-02-02", "2014-02-18", "2014-03-06", "2014-03-22", "2014-04-07", "2014-04-23", "2014-05-09",
    "2014-05-25", "2014-06-10", "2014-06-26", "2014-07-12", "2014-07-28", "2014-08-13", "2014-08-29",
)]  # fmt: skip


def _set(folder: str) -> Path:
    if not (REAL / folder).is_dir():
        pytest.skip(f"../shared/data/real/{folder} is absent: these checks read the shared real data beside the checkout")
    return REAL / folder


def test_estarfm_envi_dates_from_the_headers_band_names():
    root = _set("estarfm_2001_landsat_modis")
    expected = {"0524": dt.date(2001, 5, 24), "0711": dt.date(2001, 7, 11), "0812": dt.date(2001, 8, 12)}
    files = [root / f"{sensor}{mmdd}" for sensor in ("tm", "modis") for mmdd in expected]
    for file in files:
        assert date_from_name(file.name) is None  # tm0524: month and day, no year
        assert detect_date(file.name, path=str(file)) == expected[file.name[-4:]], file.name
    infos = [raster_info(str(f)) for f in files]
    assert all(i.band_dates == () and not i.has_crs for i in infos)  # three bands of one date each, no CRS
    tables = build_tables(infos)
    rows = [*tables.reference, *tables.prediction, *tables.targets]
    assert [r["date"] for r in rows] == ["2001-05-24", "2001-07-11", "2001-08-12"]
    assert all(Path(r["fine"]).name.startswith("tm") and Path(r["coarse"]).name.startswith("modis") for r in rows)
    assert tables.undated == [] and tables.undated_rows == [] and tables.skipped == []
    grid = reference_grid(str(files[0]), assume_aligned=True, pixel_size_m=30.0)  # identity geotransform: the job's size
    assert grid.pixel_area_ha == pytest.approx(0.09)


def test_kranj_year_and_day_of_year_names():
    root = _set("kranj_2020_landsat_modis")
    landsat = sorted((root / "landsat" / "unfilled").glob("*.tif"))
    assert [doy(date_from_name(f.name)) for f in landsat] == [68, 77, 93, 100]
    assert [date_from_name(f.name) for f in sorted((root / "landsat" / "filled").glob("*.tif"))] == [
        dt.date(2020, 3, 8), dt.date(2020, 3, 17), dt.date(2020, 4, 2), dt.date(2020, 4, 9)]  # fmt: skip
    modis = sorted((root / "modis" / "filled").glob("*.tif"))
    assert [doy(date_from_name(f.name)) for f in modis] == list(range(68, 94))
    assert all(date_from_name(f.name).year == 2020 for f in modis)
    info = raster_info(str(landsat[0]))
    assert info.has_crs and info.band_dates == ()  # six spectral bands of one date, a real (sinusoidal) CRS


def test_sinop_names_and_the_brick_as_modis_composites():
    root = _set("sinop_2014_mod13q1")
    singles = sorted((root / "geotiff_23dates_2021").glob("MODIS_Sinop_NDVI_*.tif"))
    assert [date_from_name(f.name) for f in singles] == SINOP
    for folder, dates in (("jp2_23dates_2021_lossy", SINOP), ("jp2_12dates_head_lossy", SINOP[::2])):
        ndvi = sorted((root / folder).glob("*NDVI*.jp2"))
        assert [date_from_name(f.name) for f in ndvi] == dates, folder
    brick = str(root / "geotiff_23dates_2021" / "sinop-ndvi-2014.tif")
    assert date_from_name(brick) is None and band_dates(brick) == [None] * 23  # nothing in the file dates its bands
    info = raster_info(brick)
    tables = build_tables([info])
    assert tables.undated == ["sinop-ndvi-2014.tif"] and len(tables.undated_rows) == 1  # a row to give its dates in
    assert band_dates(brick, start="2013-09-14", composite=16) == SINOP  # the user gives the first date
    from dataclasses import replace

    dated = build_tables([replace(info, band_dates=tuple(SINOP))])
    rows = [*dated.reference, *dated.prediction, *dated.targets]
    assert dated.undated == [] and len(rows) + len(dated.incomplete) == 23
