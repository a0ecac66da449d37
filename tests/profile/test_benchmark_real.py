"""The profile and the compare view on a benchmark of the real Kranj set (Landsat + MODIS, ../shared/data/real).

Skipped, with the reason, where ../shared is absent (the data never enters the repository). The
benchmark runs with two epochs (its scores do not matter here, only the folder it writes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

import tsstfn_crop_mapper
from tsstfn_crop_mapper.core.profile import ProfileReader, compare_panels

ROOT = Path(tsstfn_crop_mapper.__file__).resolve().parent
REAL = ROOT.parent / "shared" / "data" / "real" / "kranj_2020_landsat_modis"


@pytest.fixture(scope="module")
def kranj(tmp_path_factory):
    if not REAL.is_dir():
        pytest.skip("../shared/data/real/kranj_2020_landsat_modis is absent: the real benchmark needs the shared data")
    from tsstfn_crop_mapper.core.pipeline.benchmark import load_benchmark, run_benchmark

    spec = load_benchmark(ROOT / "bench" / "datasets" / "kranj_2020.json")
    spec = replace(spec, train=replace(spec.train, max_epochs=2), methods=("tsstfn", "starfm"))
    out = tmp_path_factory.mktemp("kranj_bench")
    run_benchmark(spec, out)
    return out


def _at(path, col, row):
    ds = gdal.Open(str(path))  # kept while its band is read
    return float(ds.GetRasterBand(1).ReadAsArray(col, row, 1, 1)[0, 0])


def test_a_pixel_of_the_real_benchmark(kranj):
    reader = ProfileReader(kranj)
    rec = reader.record
    assert rec.kind == "benchmark" and rec.target_dates == [dt.date(2020, 3, 17), dt.date(2020, 4, 2)]
    assert rec.methods() == ["starfm"]
    col, row = 20, 15
    place, samples = reader.series_at(*reader.centre(col, row), rec.grid.crs_wkt)
    assert (place.col, place.row) == (col, row)
    got = {(s.role, s.date.isoformat()): s.value for s in samples}
    for stamp in ("20200308", "20200317", "20200402"):
        day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"
        assert got["observed", day] == pytest.approx(_at(kranj / "aligned" / f"s2_{stamp}.tif", col, row), nan_ok=True)
        assert got["coarse", day] == pytest.approx(_at(kranj / "aligned" / f"modis_{stamp}.tif", col, row), nan_ok=True)
    for stamp, day in (("20200317", "2020-03-17"), ("20200402", "2020-04-02")):
        assert got["fused", day] == pytest.approx(_at(kranj / f"target_{stamp}" / f"fused_ndvi_{stamp}.tif", col, row))
        assert got["starfm", day] == pytest.approx(_at(kranj / f"target_{stamp}" / f"starfm_ndvi_{stamp}.tif", col, row))


def test_fused_beside_the_real_image(kranj, tmp_path):
    reader = ProfileReader(kranj)
    panels = compare_panels(reader.record, dt.date(2020, 4, 2), tmp_path)
    assert [p.title for p in panels] == [
        "TSSTFN 2020-04-02", "real 2020-04-02", "STARFM 2020-04-02", "TSSTFN - real", "STARFM - real",
    ]  # fmt: skip
    arrays = {p.title: gdal.Open(p.path).ReadAsArray() for p in panels}
    real = gdal.Open(str(kranj / "aligned" / "s2_20200402.tif")).ReadAsArray()
    np.testing.assert_allclose(arrays["real 2020-04-02"], real)
    np.testing.assert_allclose(arrays["TSSTFN - real"], arrays["TSSTFN 2020-04-02"] - real, atol=1e-6)
