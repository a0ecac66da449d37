"""The readers' registry: the five families in their order, and the recipe "a new reader is one module plus one entry".

The toy format is a made-up coarse sensor XYZ whose downloads are one GeoTIFF per band,
``XYZ_<ddmmyyyy>_red.tif``, ``_nir.tif`` and a ``_flags.tif`` QA layer (1: cloud), on the fine grid
(so only its name says it is the coarse sensor). Its day-month-year date is one no generic pattern
reads, so every check below passes only through the toy reader's own entry.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs import readers
from tsstfn_crop_mapper.core.inputs.containers import container_file, resolve_source
from tsstfn_crop_mapper.core.inputs.dates import date_from_name, detect_date
from tsstfn_crop_mapper.core.inputs.inventory import build_tables, kind_of, raster_info, unfit_reason
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi
from tsstfn_crop_mapper.core.inputs.products import MASK_KINDS, PRODUCTS, MaskKind, Product, get_product
from tsstfn_crop_mapper.core.inputs.readers import DatePattern, Hints, Reader
from tsstfn_crop_mapper.core.inputs.readers.base import with_mask
from tsstfn_crop_mapper.core.options import Registry

# The toy reader: what its module would hold ------------------------------------------------

_XYZ = re.compile(r"^(?P<stem>XYZ_\d{8})_red\.tif$", re.I)


def _xyz_match(path: str) -> bool:
    return bool(_XYZ.match(Path(path).name))


def _xyz_resolve(source: NdviSource) -> NdviSource:
    red = Path(source.path)
    stem = _XYZ.match(red.name)["stem"]
    nir, flags = red.with_name(f"{stem}_nir.tif"), red.with_name(f"{stem}_flags.tif")
    if not nir.exists():
        raise InputError(f"'{source.label}': no {nir.name} beside it.")
    out = replace(source, nir_path=str(nir), product="xyz", red_band=1, nir_band=1)
    return with_mask(out, str(flags) if flags.exists() else None, "xyz_flags")


def _ddmmyyyy(m: re.Match) -> dt.date:
    return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))


TOY = Reader(
    "xyz",
    "The made-up XYZ sensor: XYZ_<ddmmyyyy>_red.tif with _nir.tif and _flags.tif beside it.",
    _xyz_match,
    _xyz_resolve,
    products=("xyz",),
    dates=(DatePattern(re.compile(r"XYZ_(\d{2})(\d{2})(\d{4})"), _ddmmyyyy),),
    hints=Hints(
        coarse=re.compile(r"^XYZ_", re.I),
        mask=re.compile(r"^XYZ_.*_flags\.", re.I),
        band_file=re.compile(r"^XYZ_.*_(red|nir)\.", re.I),
    ),
    new_products=(Product("xyz", "xyz", "coarse", "red_nir", 1, 2, 1e-4, 0.0, 0, (1, 10000), "XYZ DN", mask_kind="xyz_flags"),),
    new_mask_kinds=(MaskKind("xyz_flags", "XYZ flags: 1 cloud", lambda m: m != 0, (0, 1)),),
)

RED, NIR = 0.08, 0.40


def _xyz_files(folder: Path) -> tuple[str, str, str]:
    stem = folder / "XYZ_30072021"
    flags = np.zeros((4, 4), np.uint8)
    flags[0, 0] = 1
    return (
        make_raster(f"{stem}_red.tif", np.full((4, 4), RED * 1e4), dtype=gdal.GDT_UInt16),
        make_raster(f"{stem}_nir.tif", np.full((4, 4), NIR * 1e4), dtype=gdal.GDT_UInt16),
        make_raster(f"{stem}_flags.tif", flags, dtype=gdal.GDT_Byte),
    )


def test_the_registry_lists_the_five_families_in_their_order():
    assert [r.name for r in readers.ordered()] == ["landsat", "sentinel2", "modis", "envi", "generic"]
    assert set(readers.READERS) == {"landsat", "sentinel2", "modis", "envi", "generic"}
    served = {p for r in readers.READERS.values() for p in r.products}
    assert served == set(PRODUCTS)  # every product is some family's
    assert readers.READERS["modis"].products == ("mod09gq", "mod09ga", "mod13q1", "mcd43a4")
    assert readers.reader_for("anything.tif").name == "generic"
    assert readers.reader_for("MOD13Q1.A2014001.h12v10.061.hdf").name == "modis"
    assert readers.reader_for("S2B_MSIL2A_20220731T025549_N0400_R032_T51TXM_20220731T054429.zip").name == "sentinel2"
    assert readers.reader_for("LC08_L2SP_190028_20200409_20200822_02_T1_SR_B4.TIF").name == "landsat"
    with pytest.raises(ValueError, match="no reader hint 'sensor'"):
        readers.named("sensor", "x")


def test_the_dispatching_modules_hold_no_format_pattern():
    inputs = Path(readers.__file__).parents[1]
    for module in ("containers.py", "inventory.py", "dates.py"):
        assert "re.compile" not in (inputs / module).read_text(), module


def test_a_new_reader_is_one_module_plus_one_entry(tmp_path):
    red, nir, flags = _xyz_files(tmp_path)
    s2 = make_raster(tmp_path / "T51TXM_20210730_B04B08.tif", [[[900] * 4] * 4, [[3000] * 4] * 4], dtype=gdal.GDT_UInt16)
    xyz = Product("xyz", "xyz", "coarse", "red_nir", 1, 2, 0.0001, 0.0, 0, (1, 10000))
    # without it: no date, a plain single-band fine raster, nothing to resolve
    assert date_from_name(Path(red).name) is None
    assert raster_info(red).reader == "generic" and kind_of(raster_info(red)) == "sentinel2"
    assert "1 band(s), but 'xyz' needs red (band 1) and NIR (band 2)" in unfit_reason(raster_info(red), xyz, "coarse")
    assert resolve_source(NdviSource(red)) == NdviSource(red)

    with readers.registered(TOY):
        assert [r.name for r in readers.ordered()] == ["landsat", "sentinel2", "modis", "envi", "xyz", "generic"]
        assert "xyz" in PRODUCTS and "xyz_flags" in MASK_KINDS
        # dates
        assert date_from_name(Path(red).name) == dt.date(2021, 7, 30)
        assert detect_date(Path(red).name, path=red) == dt.date(2021, 7, 30)
        # resolve_source: NIR and QA mask beside it, the reader's own product and mask kind
        source = resolve_source(NdviSource(red))
        assert (source.nir_path, source.mask_path) == (nir, flags) and source.effective_mask_kind == "xyz_flags"
        out = read_ndvi(source)
        assert np.isnan(out[0, 0]) and np.allclose(out[1:, 1:], (NIR - RED) / (NIR + RED), atol=1e-4)
        assert container_file(red) == red
        # the inventory: its reader, its sensor by name, one band file of a set, its flags a mask
        info = raster_info(red)
        assert info.reader == "xyz" and kind_of(info) == "modis"
        assert unfit_reason(info, get_product("xyz"), "coarse") is None
        assert "a cloud/QA mask" in unfit_reason(raster_info(flags), get_product("xyz"), "coarse")
        tables = build_tables([raster_info(p) for p in (red, nir, flags, s2)], (7, 1), get_product("xyz"), get_product("s2_l2a"))
        assert tables.targets == [{"date": "2021-07-30", "coarse": red, "fine": s2, "fine_mask": None}]
        assert any(line.startswith("XYZ_30072021_nir.tif: a second modis raster") for line in tables.skipped)
        assert any(line.startswith("XYZ_30072021_flags.tif: a cloud/QA mask") for line in tables.skipped)
        with pytest.raises(ValueError, match="already registered"):
            readers.register(TOY)

    # unregistered: everything as before, its product and mask kind gone
    assert "xyz" not in readers.READERS and "xyz" not in PRODUCTS and "xyz_flags" not in MASK_KINDS
    assert date_from_name(Path(red).name) is None and raster_info(red).reader == "generic"


def test_a_reader_whose_product_is_taken_adds_nothing():
    clash = replace(TOY, name="clash", new_products=(replace(TOY.new_products[0], name="ndvi"),), products=())
    before = (list(readers.READERS), list(PRODUCTS), list(MASK_KINDS))
    with pytest.raises(ValueError, match="product named 'ndvi'"):
        readers.register(clash)
    assert (list(readers.READERS), list(PRODUCTS), list(MASK_KINDS)) == before
    with pytest.raises(InputError, match="reader bad.*unknown product 'nope'"):
        replace(TOY, name="bad", products=("nope",))


def test_registry_unregister_and_registered():
    table: Registry[str] = Registry("word", lambda w: w)
    table.register("a")
    with pytest.raises(ValueError, match="no word named 'b'"):
        table.unregister("b")
    with pytest.raises(RuntimeError), table.registered("b"):
        assert list(table) == ["a", "b"]
        raise RuntimeError
    assert list(table) == ["a"] and table.unregister("a") == "a" and not table


def test_envi_header_resolves_to_its_data_file(tmp_path):
    data = tmp_path / "tm0812"
    ds = gdal.GetDriverByName("ENVI").Create(str(data), 3, 2, 2, gdal.GDT_Int16)
    ds.GetRasterBand(1).WriteArray(np.full((2, 3), 800, np.int16))
    ds.GetRasterBand(2).WriteArray(np.full((2, 3), 4000, np.int16))
    ds = None
    header = tmp_path / "tm0812.hdr"
    assert header.exists() and readers.reader_for(str(header)).name == "envi"
    assert readers.reader_for(str(data)).name == "envi"
    source = resolve_source(NdviSource(str(header), "red_nir", red_band=1, nir_band=2, scale=1e-4))
    assert source.path == str(data) and source.label == "tm0812.hdr"
    assert resolve_source(NdviSource(str(data))) == NdviSource(str(data))  # the data file as it is
    np.testing.assert_allclose(read_ndvi(source), (4000 - 800) / 4800, atol=1e-6)
    data.unlink()
    with pytest.raises(InputError, match="ENVI header without its data file"):
        resolve_source(NdviSource(str(header)))
