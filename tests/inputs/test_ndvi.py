import logging

import numpy as np
import pytest
from osgeo import gdal

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi


def test_single_band_ndvi_with_nodata(tmp_path):
    path = make_raster(tmp_path / "ndvi.tif", [[0.5, -9999.0], [0.1, -0.2]], nodata=-9999.0)
    out = read_ndvi(NdviSource(path))
    assert out.dtype == np.float32
    assert np.isnan(out[0, 1]) and out[0, 0] == pytest.approx(0.5)


def test_scaled_ndvi_band_and_out_of_range_message(tmp_path):
    path = make_raster(tmp_path / "ndvi_int.tif", [[5000, 8000]], dtype=gdal.GDT_Int16)
    np.testing.assert_allclose(read_ndvi(NdviSource(path, scale=0.0001)), [[0.5, 0.8]], rtol=1e-6)
    with pytest.raises(InputError, match="ndvi_int.tif.*outside \\[-1, 1\\].*scale to 0.0001"):
        read_ndvi(NdviSource(path))


def test_sentinel2_l2a_offset_and_scale(tmp_path):
    red_refl, nir_refl = 0.05, 0.35
    dn = np.array([[[red_refl * 10000 + 1000, 0]], [[nir_refl * 10000 + 1000, 0]]], dtype=np.uint16)
    path = make_raster(tmp_path / "s2.tif", dn, dtype=gdal.GDT_UInt16)
    out = read_ndvi(NdviSource(path, product="s2_l2a"))
    assert out[0, 0] == pytest.approx((nir_refl - red_refl) / (nir_refl + red_refl), abs=1e-6)
    assert np.isnan(out[0, 1])  # DN 0 is nodata, never a fake zero
    legacy = read_ndvi(NdviSource(path, product="s2_l2a_legacy"))
    assert legacy[0, 0] == pytest.approx((3500 + 1000 - 500 - 1000) / (3500 + 1000 + 500 + 1000), abs=1e-6)


def test_sentinel2_bands_in_separate_files(tmp_path):
    red = make_raster(tmp_path / "T51TXM_20210625T025549_B04_10m.tif", [[1500]], dtype=gdal.GDT_UInt16)
    nir = make_raster(tmp_path / "T51TXM_20210625T025549_B08_10m.tif", [[4500]], dtype=gdal.GDT_UInt16)
    out = read_ndvi(NdviSource(red, product="s2_l2a", nir_path=nir))
    assert out[0, 0] == pytest.approx((0.35 - 0.05) / 0.40, abs=1e-6)


def test_mod09gq_fill_and_invalid_range_are_masked_and_reported(tmp_path, caplog):
    dn = np.array([[[500, -28672, 500]], [[3000, 3000, 20000]]], dtype=np.int16)
    path = make_raster(tmp_path / "MOD09GQ.A2021211.h26v04.061.tif", dn, dtype=gdal.GDT_Int16, nodata=-28672)
    with caplog.at_level(logging.WARNING, logger="tsstfn"):
        out = read_ndvi(NdviSource(path, product="mod09gq"))
    assert out[0, 0] == pytest.approx(2500 / 3500, abs=1e-6)
    assert np.isnan(out[0, 1]) and np.isnan(out[0, 2])
    assert "outside the valid DN range" in caplog.text


def test_scl_mask_at_20m_becomes_nan(tmp_path):
    ndvi = make_raster(tmp_path / "ndvi.tif", np.full((4, 4), 0.6))
    scl = make_raster(
        tmp_path / "scl.tif",
        np.array([[4, 9], [3, 5]], dtype=np.uint8),
        dtype=gdal.GDT_Byte,
        gt=(640000.0, 20.0, 0.0, 5150000.0, 0.0, -20.0),
    )
    out = read_ndvi(NdviSource(ndvi, mask_path=scl, mask_kind="scl"))
    expected = np.array([[0, 1], [1, 0]], dtype=bool).repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(np.isnan(out), expected)


def test_modis_state_and_binary_masks(tmp_path):
    ndvi = make_raster(tmp_path / "ndvi.tif", np.full((1, 5), 0.6))
    state = np.array([[0b00, 0b01, 0b10, 0b100, 1 << 10]], dtype=np.uint16)
    qa = make_raster(tmp_path / "state.tif", state, dtype=gdal.GDT_UInt16)
    out = read_ndvi(NdviSource(ndvi, mask_path=qa, mask_kind="modis_state"))
    np.testing.assert_array_equal(np.isnan(out[0]), [False, True, True, True, True])
    binary = make_raster(tmp_path / "cloud.tif", np.array([[0, 1, 0, 0, 2]], dtype=np.uint8), dtype=gdal.GDT_Byte)
    out = read_ndvi(NdviSource(ndvi, mask_path=binary, mask_kind="binary"))
    np.testing.assert_array_equal(np.isnan(out[0]), [False, True, False, False, True])


def test_window_read(tmp_path):
    arr = np.linspace(-1, 1, 100).reshape(10, 10)
    path = make_raster(tmp_path / "ndvi.tif", arr)
    np.testing.assert_allclose(read_ndvi(NdviSource(path), (2, 3, 4, 5)), arr[3:8, 2:6], rtol=1e-6)


def test_missing_file_and_band_messages(tmp_path):
    with pytest.raises(InputError, match="'nope.tif' not found"):
        read_ndvi(NdviSource(str(tmp_path / "nope.tif")))
    path = make_raster(tmp_path / "one.tif", [[0.1]])
    with pytest.raises(InputError, match="band 2 does not exist"):
        read_ndvi(NdviSource(path, band=2))
