"""A write that fails at flush or at close (a full disk, a file-size limit) is one clear error and leaves nothing behind.

GDAL raises nothing when a dataset is closed (``ds = None``): an error there was printed as "Exception ignored in
delete_Dataset" with a traceback, and a GeoTIFF without its directory was renamed into place. A subprocess with a
file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) just under the finished file's size fails exactly at close.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tsstfn_crop_mapper

PLUGINS = str(Path(tsstfn_crop_mapper.__file__).resolve().parent.parent)

SCRIPT = r"""
import resource, signal, sys
import numpy as np
from osgeo import gdal
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.files import write_array
from tsstfn_crop_mapper.core.inputs.align import ndvi_to_grid
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource

mode, out, limit, source, fine = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
grid = Grid.from_raster(fine)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    if mode == "write":
        write_array(out, np.random.default_rng(0).random((grid.height, grid.width)).astype("float32"), grid)
    else:
        ndvi_to_grid(NdviSource(source, "mod09gq"), grid, out)
    print("OK")
except InputError as exc:
    print("ERR", exc)
"""


def _run(mode: str, out: Path, limit: int, scene: dict) -> subprocess.CompletedProcess:
    root = Path(scene["root"]) / "prediction_2021"
    coarse, fine = str(root / "MOD09GQ.A2021211.h26v04.061.tif"), str(root / "T51TXM_20210730T025549_B04B08_10m.tif")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(out), str(limit), coarse, fine], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["write", "align"])
def test_a_write_failing_at_close_or_flush_is_one_error_and_leaves_nothing(scene, tmp_path, mode):
    done = _run(mode, tmp_path / "full.tif", 0, scene)
    assert done.stdout.strip() == "OK", done.stderr
    size = (tmp_path / "full.tif").stat().st_size
    for name, limit in (("close", size - 60), ("flush", size // 3)):  # the TIFF directory last; tiles first
        out = tmp_path / name / "x.tif"
        out.parent.mkdir()
        run = _run(mode, out, limit, scene)
        assert run.stdout.startswith("ERR Could not write 'x.tif': the disk is full or a file-size limit was reached"), (
            name, run.stdout, run.stderr,
        )  # fmt: skip
        assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr
        assert list(out.parent.iterdir()) == [], name  # no half-written file, no .part left
