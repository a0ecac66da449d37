"""core.files: atomic writes, and opening rasters with clear errors."""

import numpy as np
import pytest
from osgeo import gdal

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.files import atomic_output, open_raster


def test_atomic_output_leaves_nothing_on_failure_and_refuses_inputs(tmp_path):
    final = tmp_path / "out.tif"
    with pytest.raises(RuntimeError):
        with atomic_output(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    src = make_raster(tmp_path / "in.tif", [[0.1]])
    with pytest.raises(InputError, match="one of the inputs"):
        with atomic_output(src, inputs=(src,)):
            pass


def test_open_raster_names_the_file(tmp_path):
    with pytest.raises(InputError, match="Raster 'my layer' not found"):
        open_raster(tmp_path / "nope.tif", "my layer")
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(InputError, match="GDAL cannot read 'text.tif'"):
        open_raster(tmp_path / "text.tif")


def test_make_cog_keeps_colours_names_and_values(tmp_path):
    from tsstfn_crop_mapper.core.files import make_cog
    from tsstfn_crop_mapper.core.mapping.classify import class_names_of, style_class_band

    classes = np.random.default_rng(0).integers(0, 4, (1100, 1300)).astype(np.uint8)
    path = make_raster(tmp_path / "map.tif", classes, dtype=gdal.GDT_Byte, nodata=0)
    ds = gdal.Open(path, gdal.GA_Update)
    style_class_band(ds.GetRasterBand(1), {1: "soybean", 2: "corn", 3: "other"})
    ds = None
    make_cog(path)
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)
    assert ds.GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG" and band.GetOverviewCount() >= 1
    np.testing.assert_array_equal(band.ReadAsArray(), classes)
    assert band.GetColorTable().GetColorEntry(2) == (63, 143, 58, 255) and band.GetNoDataValue() == 0
    assert class_names_of(path) == {1: "soybean", 2: "corn", 3: "other"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif", "map.tif.aux.xml"]  # nothing else left
    ndvi = np.random.default_rng(1).uniform(-1, 1, (600, 700)).astype(np.float32)
    fpath = make_raster(tmp_path / "ndvi.tif", ndvi)
    make_cog(fpath)
    fds = gdal.Open(fpath)
    np.testing.assert_array_equal(fds.ReadAsArray(), ndvi)  # lossless
    assert fds.GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"
