"""core.files: atomic writes, and opening rasters with clear errors."""

import pytest

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
