"""Every format users download, read from a fixture the test writes, checking values, masks and scale.

GDAL cannot write HDF4-EOS grids (the MODIS granules' structure); the MODIS fixtures are HDF4 files
written by GDAL's HDF4Image driver with the products' subdataset names as band descriptions, read
through the same subdataset matching (the HDF4-EOS naming is checked on the subdataset strings).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.containers import container_file, resolve_source
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi
from tsstfn_crop_mapper.core.inputs.readers.modis import find_subdataset

RED, NIR = 0.08, 0.40  # reflectance of a field
NDVI = (NIR - RED) / (NIR + RED)


def _mem(arrays, dtype, names=()):
    h, w = arrays[0].shape
    ds = gdal.GetDriverByName("MEM").Create("", w, h, len(arrays), dtype)
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 5100000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    ds.SetProjection(srs.ExportToWkt())
    for i, a in enumerate(arrays, 1):
        ds.GetRasterBand(i).WriteArray(a)
        if i <= len(names):
            ds.GetRasterBand(i).SetDescription(names[i - 1])
    return ds


def _hdf(path: Path, sds: dict[str, np.ndarray], dtype=gdal.GDT_Int16) -> str:
    """An HDF4 file with one subdataset per entry, named as in the MODIS product."""
    gdal.GetDriverByName("HDF4Image").CreateCopy(str(path), _mem(list(sds.values()), dtype, list(sds)), options=["RANK=2"])
    return str(path)


# MODIS HDF4 ---------------------------------------------------------------------------------


def test_mod09gq_hdf_file_and_a_subdataset_layer(tmp_path):
    red = np.full((6, 8), RED / 0.0001, dtype=np.int16)
    red[0, 0] = -28672  # fill
    nir = np.full((6, 8), NIR / 0.0001, dtype=np.int16)
    path = _hdf(tmp_path / "MOD09GQ.A2021212.h26v04.061.2021214043538.hdf", {"sur_refl_b01_1": red, "sur_refl_b02_1": nir})
    for given in (path, gdal.Open(path).GetSubDatasets()[0][0]):  # the .hdf, or the subdataset QGIS shows as a layer
        source = resolve_source(NdviSource(given, "ndvi"))
        assert source.product == "mod09gq" and source.nir_path and source.mask_path is None
        out = read_ndvi(source)
        assert np.isnan(out[0, 0]) and np.allclose(out[1:, 1:], NDVI, atol=1e-4)


def test_mod09ga_state_mask_mod13q1_ndvi_and_reliability_mcd43a4_quality(tmp_path):
    red = np.full((4, 4), RED / 0.0001, dtype=np.int16)
    nir = np.full((4, 4), NIR / 0.0001, dtype=np.int16)
    state = np.zeros((4, 4), dtype=np.int16)
    state[1, 1] = 0b01  # cloudy
    path = _hdf(
        tmp_path / "MOD09GA.A2021212.h26v04.061.hdf", {"sur_refl_b01_1": red, "sur_refl_b02_1": nir, "state_1km_1": state}
    )
    source = resolve_source(NdviSource(path))
    assert (source.product, source.effective_mask_kind) == ("mod09ga", "modis_state")
    out = read_ndvi(source)
    assert np.isnan(out[1, 1]) and np.isfinite(out).sum() == 15 and np.allclose(out[0, 0], NDVI, atol=1e-4)

    ndvi = np.full((4, 4), 7250, dtype=np.int16)
    ndvi[0, 0] = -3000  # fill
    rel = np.zeros((4, 4), dtype=np.int16)
    rel[2, 2] = 3  # cloudy
    path = _hdf(tmp_path / "MYD13Q1.A2014001.h12v10.061.hdf", {"250m 16 days NDVI": ndvi, "250m 16 days pixel reliability": rel})
    out = read_ndvi(resolve_source(NdviSource(path)))
    assert np.isnan(out[0, 0]) and np.isnan(out[2, 2]) and np.allclose(out[1, 1], 0.725, atol=1e-6)

    nbar_red = np.full((4, 4), RED / 0.0001, dtype=np.int16)
    nbar_nir = np.full((4, 4), NIR / 0.0001, dtype=np.int16)
    quality = np.zeros((4, 4), dtype=np.int16)
    quality[3, 3] = 255  # fill
    path = _hdf(
        tmp_path / "MCD43A4.A2021212.h26v04.061.hdf",
        {
            "Nadir_Reflectance_Band1": nbar_red,
            "Nadir_Reflectance_Band2": nbar_nir,
            "BRDF_Albedo_Band_Mandatory_Quality_Band1": quality,
        },
    )
    out = read_ndvi(resolve_source(NdviSource(path)))
    assert np.isnan(out[3, 3]) and np.allclose(out[0, 0], NDVI, atol=1e-4)


def test_hdf_eos_subdataset_names_and_a_missing_one(tmp_path):
    eos = 'HDF4_EOS:EOS_GRID:"/data/MOD13Q1.A2014001.h12v10.061.hdf":MODIS_Grid_16DAY_250m_500m_VI:"250m 16 days NDVI"'
    assert container_file(eos) == "/data/MOD13Q1.A2014001.h12v10.061.hdf"
    subs = [(eos, "[4800x4800] 250m 16 days NDVI MODIS_Grid_16DAY_250m_500m_VI (16-bit integer)")]
    assert find_subdataset(subs, "250m 16 days NDVI") == eos and find_subdataset(subs, "250m 16 days EVI") is None
    path = _hdf(tmp_path / "MOD09GQ.A2021212.h26v04.061.hdf", {"sur_refl_b01_1": np.zeros((2, 2), np.int16)})
    with pytest.raises(InputError, match="has no subdataset sur_refl_b02_1 of product mod09gq"):
        resolve_source(NdviSource(path))


# Sentinel-2 L2A -----------------------------------------------------------------------------


def _safe(root: Path, baseline: str, offset: bool) -> Path:
    """A SAFE folder: B04 and B08 at 10 m, SCL at 20 m (lossless JPEG 2000), MTD_MSIL2A.xml."""
    safe = root / "S2B_MSIL2A_20220731T025549_N0400_R032_T51TXM_20220731T054429.SAFE"
    granule = safe / "GRANULE" / "L2A_T51TXM_A028195_20220731T030303" / "IMG_DATA"
    (granule / "R10m").mkdir(parents=True)
    (granule / "R20m").mkdir(parents=True)
    dn = 1000 if offset else 0
    jp2 = gdal.GetDriverByName("JP2OpenJPEG")
    stem = "T51TXM_20220731T025549"
    jp2.CreateCopy(str(granule / "R10m" / f"{stem}_B04_10m.jp2"), _mem([np.full((8, 8), RED * 1e4 + dn)], gdal.GDT_UInt16),
                   options=["REVERSIBLE=YES", "QUALITY=100"])  # fmt: skip
    jp2.CreateCopy(str(granule / "R10m" / f"{stem}_B08_10m.jp2"), _mem([np.full((8, 8), NIR * 1e4 + dn)], gdal.GDT_UInt16),
                   options=["REVERSIBLE=YES", "QUALITY=100"])  # fmt: skip
    scl = np.full((4, 4), 4, dtype=np.uint8)  # vegetation
    scl[0, 0] = 9  # cloud high probability
    scl_ds = _mem([scl], gdal.GDT_Byte)
    scl_ds.SetGeoTransform((500000.0, 20.0, 0.0, 5100000.0, 0.0, -20.0))
    jp2.CreateCopy(str(granule / "R20m" / f"{stem}_SCL_20m.jp2"), scl_ds, options=["REVERSIBLE=YES", "QUALITY=100"])
    extra = "<BOA_ADD_OFFSET band_id='3'>-1000</BOA_ADD_OFFSET>" if offset else ""
    (safe / "MTD_MSIL2A.xml").write_text(
        f"<n1:Level-2A_User_Product><General_Info><Product_Info><PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>"
        f"</Product_Info></General_Info><BOA_ADD_OFFSET_VALUES_LIST>{extra}</BOA_ADD_OFFSET_VALUES_LIST>"
        "</n1:Level-2A_User_Product>"
    )
    return safe


@pytest.mark.parametrize("baseline, offset", [("04.00", True), ("02.09", False)])
def test_sentinel2_safe_folder_zip_and_metadata_file(tmp_path, baseline, offset):
    safe = _safe(tmp_path, baseline, offset)
    archive = tmp_path / (safe.stem + ".zip")
    with zipfile.ZipFile(archive, "w") as z:
        for f in safe.rglob("*"):
            z.write(f, f.relative_to(tmp_path))
    for given in (safe, archive, safe / "MTD_MSIL2A.xml", f"SENTINEL2_L2A:{safe / 'MTD_MSIL2A.xml'}:10m:EPSG_32651"):
        source = resolve_source(NdviSource(str(given), "s2_l2a"))
        assert source.product == ("s2_l2a" if offset else "s2_l2a_legacy")  # the baseline from the metadata
        assert source.mask_path.endswith("_SCL_20m.jp2") and source.effective_mask_kind == "scl"
        out = read_ndvi(source)
        assert np.isnan(out[:2, :2]).all() and np.isfinite(out).sum() == 60  # the 20 m cloud masks 2 x 2 px at 10 m
        np.testing.assert_allclose(out[4:, 4:], NDVI, atol=1e-4)  # offset applied (or not) as the baseline says


def test_loose_sentinel2_band_files_find_their_nir_and_scl(tmp_path):
    safe = _safe(tmp_path, "04.00", True)
    b04 = next(safe.rglob("*_B04_10m.jp2"))
    source = resolve_source(NdviSource(str(b04), "s2_l2a"))
    assert source.nir_path.endswith("_B08_10m.jp2") and source.mask_path.endswith("_SCL_20m.jp2")
    np.testing.assert_allclose(read_ndvi(source)[4:, 4:], NDVI, atol=1e-4)


# Landsat Collection 2 Level-2 ---------------------------------------------------------------


def _landsat(root: Path, scene: str, red_b: int, nir_b: int) -> Path:
    folder = root / scene
    folder.mkdir()
    dn = lambda r: np.full((5, 5), (r + 0.2) / 2.75e-5, dtype=np.uint16)  # noqa: E731
    red = dn(RED)
    red[0, 0] = 0  # fill
    make_raster(folder / f"{scene}_SR_B{red_b}.TIF", red, dtype=gdal.GDT_UInt16)
    make_raster(folder / f"{scene}_SR_B{nir_b}.TIF", dn(NIR), dtype=gdal.GDT_UInt16)
    make_raster(folder / f"{scene}_SR_B2.TIF", dn(0.05), dtype=gdal.GDT_UInt16)
    qa = np.full((5, 5), 0b1000000, dtype=np.uint16)  # bit 6: clear
    qa[2, 2] = 0b1000  # bit 3: cloud
    qa[3, 3] = 0b10000  # bit 4: cloud shadow
    make_raster(folder / f"{scene}_QA_PIXEL.TIF", qa, dtype=gdal.GDT_UInt16)
    (folder / f"{scene}_MTL.txt").write_text("GROUP = LANDSAT_METADATA_FILE\nEND_GROUP = LANDSAT_METADATA_FILE\n")
    return folder


@pytest.mark.parametrize("scene, red_b, nir_b", [("LC08_L2SP_190028_20200409_20200822_02_T1", 4, 5),
                                                 ("LE07_L2SP_190028_20010524_20200917_02_T1", 3, 4)])  # fmt: skip
def test_landsat_c2l2_folder_mtl_and_band_file(tmp_path, scene, red_b, nir_b):
    folder = _landsat(tmp_path, scene, red_b, nir_b)
    for given in (folder, folder / f"{scene}_MTL.txt", folder / f"{scene}_SR_B{red_b}.TIF"):
        source = resolve_source(NdviSource(str(given), "s2_l2a"))
        assert source.product == "landsat_c2l2" and source.path.endswith(f"_SR_B{red_b}.TIF")
        assert source.nir_path.endswith(f"_SR_B{nir_b}.TIF") and source.effective_mask_kind == "qa_pixel"
        out = read_ndvi(source)
        assert np.isnan(out[0, 0]) and np.isnan(out[2, 2]) and np.isnan(out[3, 3])  # fill, cloud, shadow
        np.testing.assert_allclose(out[1, 1], NDVI, atol=1e-4)  # 2.75e-5 x DN - 0.2


# Stacks, masks, fills -----------------------------------------------------------------------


def test_a_dated_stack_becomes_a_series_of_pairs(tmp_path):
    from tsstfn_crop_mapper.core.pipeline.pairs import dated, parse_pairs

    dates = ["2014-01-01", "2014-01-17", "2014-02-02"]
    stack = np.stack([np.full((4, 4), v, dtype=np.int16) for v in (7000, 7200, 7400)])
    path = make_raster(tmp_path / "MOD13Q1_stack.tif", stack, dtype=gdal.GDT_Int16)
    ds = gdal.Open(path, gdal.GA_Update)
    for i, d in enumerate(dates, 1):
        ds.GetRasterBand(i).SetDescription(f"NDVI {d}")
    ds = None
    entry = {"coarse": {"path": path, "bands": "1-3", "scale": 0.0001}, "fine": {"path": path, "bands": [1, 2, 3], "scale": 1e-4}}
    pairs = parse_pairs([entry], tmp_path, "prediction", True, "ndvi", "ndvi")
    assert [p.coarse.band for p in pairs] == [1, 2, 3]
    assert [p.date.isoformat() for p in dated(pairs)] == dates  # from the band descriptions
    np.testing.assert_allclose(read_ndvi(pairs[1].coarse), 0.72, atol=1e-6)
    with pytest.raises(InputError, match="'MOD13Q1_stack.tif' has 3 band\\(s\\); band 7 does not exist"):
        read_ndvi(NdviSource(path, band=7, scale=0.0001))


def test_cfmask_qa_values_and_undeclared_fill(tmp_path):
    ndvi = np.full((3, 3), 5000, dtype=np.int16)
    ndvi[0, 0] = -9999  # an undeclared fill value
    path = make_raster(tmp_path / "ndvi.tif", ndvi, dtype=gdal.GDT_Int16)
    cf = make_raster(tmp_path / "cfmask.tif", np.array([[0, 1, 2], [3, 4, 255], [0, 0, 0]], dtype=np.uint8), dtype=gdal.GDT_Byte)
    out = read_ndvi(NdviSource(path, scale=0.0001, nodata=-9999, mask_path=cf, mask_kind="cfmask"))
    assert np.isnan(out[0, 0]) and np.isfinite(out[0, 1])  # fill; water kept
    assert np.isnan(out[0, 2]) and np.isnan(out[1]).all()  # shadow, snow, cloud, fill
    listed = read_ndvi(NdviSource(path, scale=0.0001, nodata=-9999, mask_path=cf, mask_valid=[0]))
    assert np.isfinite(listed).sum() == 3  # only the 0s of the last row (0 at [0, 0] is the fill)


def test_a_mask_of_another_kind_is_one_clear_sentence(tmp_path):
    path = make_raster(tmp_path / "ndvi.tif", np.full((2, 2), 0.5))
    qa = make_raster(tmp_path / "qa.tif", np.array([[21824, 21824], [22280, 21824]], dtype=np.uint16), dtype=gdal.GDT_UInt16)
    with pytest.raises(InputError, match="holds values such as 21824, 22280 that a 'cfmask' mask never holds"):
        read_ndvi(NdviSource(path, mask_path=qa, mask_kind="cfmask"))
    assert np.isfinite(read_ndvi(NdviSource(path, mask_path=qa, mask_kind="qa_pixel"))).sum() == 3  # 22280: cloud bit
