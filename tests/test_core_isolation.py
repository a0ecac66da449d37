"""core/ must import with qgis unimportable: a fresh interpreter, qgis blocked, every module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import tsstfn_crop_mapper.core as core


def test_every_core_module_imports_without_qgis():
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(core.__file__).parent)]))
    assert {"align", "dates", "raster", "strategies", "tiling", "synthetic"} <= set(modules)
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'qgis' or name.startswith('qgis.'):\n"
        "            raise ImportError('qgis is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('tsstfn_crop_mapper.core.' + m)\n"
        "assert not any(k == 'qgis' or k.startswith('qgis.') for k in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
