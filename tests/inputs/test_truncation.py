"""A GeoTIFF cut short is refused in one sentence, and a stack's header is read once per validation, not once per band."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from osgeo import gdal, osr

from tsstfn_crop_mapper.core import files
from tsstfn_crop_mapper.core.errors import InputError, PlaceError
from tsstfn_crop_mapper.core.files import check_not_truncated
from tsstfn_crop_mapper.core.pipeline.consistency import check_consistent
from tsstfn_crop_mapper.core.pipeline.job import job_from_dict
from tsstfn_crop_mapper.core.pipeline.rows import RowChecker

N_BANDS = 12


def _stack(path, n=N_BANDS, size=64, pixel=250.0, ndvi=False) -> str:
    """A tiled, band-interleaved MODIS NDVI stack (x 10000; plain NDVI with ``ndvi``), one band per date, 16 x 16 blocks."""
    options = ["TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "INTERLEAVE=BAND"]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size, size, n, gdal.GDT_Float32 if ndvi else gdal.GDT_Int16, options)
    ds.SetGeoTransform((640000.0, pixel, 0.0, 5150000.0, 0.0, -pixel))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    ds.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(3)
    for b in range(1, n + 1):
        values = rng.integers(1000, 9000, (size, size))
        ds.GetRasterBand(b).WriteArray(values / 1e4 if ndvi else values.astype(np.int16))
    ds = None
    return str(path)


@pytest.fixture
def counted(monkeypatch):
    """The header scans made, by file."""
    scans: list[str] = []
    real = files._blocks_end

    def scan(ds):
        scans.append(os.path.realpath(ds.GetDescription()))
        return real(ds)

    monkeypatch.setattr(files, "_blocks_end", scan)
    monkeypatch.setattr(files, "_BLOCKS_END", {})
    return scans


def _cut(path, nbytes: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) - nbytes)


def test_a_file_cut_short_is_refused_even_after_its_whole_copy_was_checked(tmp_path, counted):
    path = _stack(tmp_path / "MOD13Q1_stack.tif")
    check_not_truncated(path)
    check_not_truncated(path)
    assert counted == [os.path.realpath(path)]  # the second check reused the first reading
    _cut(path, 100)  # a download stopped 100 bytes early: the last band's last block is short
    with pytest.raises(InputError, match=r"^'MOD13Q1_stack.tif' is cut short: its header places pixel data up to byte \d+"):
        check_not_truncated(path)
    good = _stack(tmp_path / "good.tif")
    shutil.copyfile(good, path)  # copied again: the same name, another size and time
    check_not_truncated(path)
    shutil.copyfile(good, tmp_path / "half.tif")
    _cut(tmp_path / "half.tif", os.path.getsize(good) // 2)
    with pytest.raises(InputError, match="'half.tif' is cut short"):
        check_not_truncated(tmp_path / "half.tif", ds=gdal.Open(str(tmp_path / "half.tif")))


def test_the_same_size_rewritten_later_is_read_again(tmp_path, counted):
    path = _stack(tmp_path / "s.tif")
    check_not_truncated(path)
    stamp = os.stat(path).st_mtime_ns
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))  # another copy with the same size
    check_not_truncated(path)
    assert len(counted) == 2


def test_the_memory_of_readings_is_bounded(tmp_path, counted, monkeypatch):
    monkeypatch.setattr(files, "_BLOCKS_END_MAX", 3)
    paths = [_stack(tmp_path / f"s{i}.tif", n=1, size=16) for i in range(5)]
    for p in paths:
        check_not_truncated(p)
    assert len(files._BLOCKS_END) == 3
    check_not_truncated(paths[0])  # forgotten: read again
    assert len(counted) == 6


def _stack_job(stack: str, fine: str) -> dict:
    """Targets one per band of one MODIS stack (16-day composites from 1 July)."""
    dates = [f"2021-{m:02d}-{d:02d}" for m, d in ((7, 1), (7, 17), (8, 2), (8, 18), (9, 3), (9, 19))]
    dates += [f"2021-{m:02d}-{d:02d}" for m, d in ((10, 5), (10, 21), (11, 6), (11, 22), (12, 8), (12, 24))]
    return {
        "reference": [],
        "prediction": [{"date": "2021-06-01", "coarse": {"path": stack, "band": 1}, "fine": fine}],
        "targets": [{"date": d, "coarse": {"path": stack, "band": b}} for b, d in enumerate(dates[: N_BANDS - 1], 2)],
        "coarse_product": "mod13q1",
        "fine_product": "ndvi",
    }


def test_a_stack_with_one_row_per_band_is_read_once_per_validation(tmp_path, counted):
    stack = _stack(tmp_path / "MOD13Q1_ndvi_stack.tif")
    fine = _stack(tmp_path / "S2_ndvi_20210601.tif", n=1, pixel=10.0, ndvi=True)
    data = _stack_job(stack, fine)
    RowChecker().check(data, (7, 1))  # twelve rows on the stack's bands, one on the fine raster
    assert sorted(counted) == sorted(os.path.realpath(p) for p in (stack, fine)), counted  # each file once
    counted.clear()
    job = job_from_dict({**data, "output_dir": str(tmp_path / "out"), "n_base": 1}, tmp_path)
    check_consistent({"prediction": job.prediction, "targets": job.targets})  # the run's own check of every row
    assert counted == []  # the files as they stand were read by the rows' check
    files._BLOCKS_END.clear()  # a new session: each file read once again, not once per row
    check_consistent({"prediction": job.prediction, "targets": job.targets})
    assert sorted(counted) == sorted(os.path.realpath(p) for p in (stack, fine)), counted
    _cut(stack, 50)
    with pytest.raises(PlaceError, match="MOD13Q1_ndvi_stack.tif' is cut short"):
        RowChecker().check(data, (7, 1))


def test_a_file_replaced_by_a_rename_is_read_again(tmp_path, counted):
    path = _stack(tmp_path / "s.tif", n=2)
    check_not_truncated(path)
    stat = os.stat(path)
    copy = tmp_path / "copy.tif"
    shutil.copyfile(path, copy)  # as a download tool writes a temporary file, then renames it over the old one
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same size and time: only the inode differs
    os.replace(copy, path)
    check_not_truncated(path)
    assert len(counted) == 2  # another file behind the name: its header was read, not the old verdict reused
