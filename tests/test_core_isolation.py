"""core/ imports with qgis unimportable (a fresh interpreter, qgis blocked, every module), has no
import loop between stages, and its public names import from ``core`` itself."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tsstfn_crop_mapper.core as core

CORE = Path(core.__file__).parent
STAGES = ("inputs", "fusion", "mapping", "pipeline", "demo")


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(CORE)], "tsstfn_crop_mapper.core."))


def test_every_core_module_imports_without_qgis_or_torch():
    modules = _modules()
    assert {f"tsstfn_crop_mapper.core.{s}" for s in STAGES} <= set(modules)
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'qgis' or name.startswith('qgis.'):\n"
        "            raise ImportError('qgis is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib\n"
        f"for m in {[m for m in modules if not m.endswith('.model')]!r}:\n"
        "    importlib.import_module(m)\n"
        "assert not any(k == 'qgis' or k.startswith('qgis.') for k in sys.modules)\n"
        "assert 'torch' not in sys.modules, 'a core module imports torch at import time'\n"
        "assert 'sklearn' not in sys.modules, 'a core module imports scikit-learn at import time'\n"
        "importlib.import_module('tsstfn_crop_mapper.core.fusion.model')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _stage_imports(path: Path) -> set[str]:
    """The stages a module imports at module level (``from ..fusion...`` and the like)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module:
            out.add(node.module.split(".")[0])
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks do not count
            continue
    return out & set(STAGES)


def test_stages_only_import_earlier_stages_and_core_never_imports_the_plugin():
    order = {s: i for i, s in enumerate(STAGES)}
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE)
        text = path.read_text()
        assert "from ... import" not in text and "from ...plugin" not in text, f"{rel} reaches outside core"
        if len(rel.parts) < 2:
            continue
        stage = rel.parts[0]
        for imported in _stage_imports(path):
            assert order[imported] <= order[stage], f"{rel} (stage {stage}) imports the later stage {imported}"


def test_public_names_import_from_core():
    import tsstfn_crop_mapper.core as c

    for name in c.__all__:
        assert getattr(c, name) is not None, name
    assert c.run_job.__module__ == "tsstfn_crop_mapper.core.pipeline.run"
    assert c.register_method is c.fusion.methods.register
