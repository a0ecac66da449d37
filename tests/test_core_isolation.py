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
STAGES = ("inputs", "fusion", "mapping", "pipeline", "demo", "fetch", "profile")


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


def _module_name(path: Path) -> str:
    """``tsstfn_crop_mapper.core.pipeline.run`` of ``core/pipeline/run.py`` (a package: its ``__init__``'s folder)."""
    parts = list(path.relative_to(CORE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["tsstfn_crop_mapper.core", *parts])


def _imports(path: Path, known: set[str]) -> set[str]:
    """The core modules ``path`` imports anywhere: module level, inside functions, under TYPE_CHECKING.

    Relative imports are resolved; ``from . import x`` counts as the module ``x`` where it is one,
    else as the package; an import of ``a.b.c`` counts ``a.b.c`` (its packages' ``__init__`` are
    not edges: they only re-export).
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" for a in node.names] + [module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if t in known:
                out.add(t)
                break  # the most specific: the imported submodule, else the module itself
    return out - {name}


def core_import_graph() -> dict[str, set[str]]:
    """Every core module and the core modules it imports (anywhere in its code), packages' ``__init__`` left out."""
    paths = {_module_name(p): p for p in CORE.rglob("*.py")}
    modules = {m for m, p in paths.items() if p.name != "__init__.py"}
    return {m: _imports(paths[m], modules) for m in sorted(modules)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_imports_inside_functions_and_finds_cycles():
    graph = core_import_graph()
    assert "tsstfn_crop_mapper.core.pipeline.benchmark" in graph["tsstfn_crop_mapper.core.cli"]  # inside _benchmark()
    assert "tsstfn_crop_mapper.core.inputs.containers" in graph["tsstfn_crop_mapper.core.pipeline.run"]  # inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_has_no_import_cycle():
    """No two core modules import each other, directly or round a circle, not even inside functions."""
    cycle = find_cycle(core_import_graph())
    short = [m.removeprefix("tsstfn_crop_mapper.core.") for m in cycle or []]
    assert cycle is None, "import cycle: " + " -> ".join(short)


def test_stages_only_import_earlier_stages_and_core_never_imports_the_plugin():
    """A stage imports only earlier stages (anywhere in its code: inside functions too)."""
    order = {s: i for i, s in enumerate(STAGES)}
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE)
        text = path.read_text()
        assert "from ... import" not in text and "from ...plugin" not in text, f"{rel} reaches outside core"
    for module, imported in core_import_graph().items():
        parts = module.split(".")[2:]
        if len(parts) < 2:  # a top-level module (cli, files, options, ...), not a stage
            continue
        for other in imported:
            other_stage = other.split(".")[2]
            if other_stage in order:
                assert order[other_stage] <= order[parts[0]], f"{module} (stage {parts[0]}) imports the later stage {other}"


def test_public_names_import_from_core():
    import tsstfn_crop_mapper.core as c

    for name in c.__all__:
        assert getattr(c, name) is not None, name
    assert c.run_job.__module__ == "tsstfn_crop_mapper.core.pipeline.run"
    assert c.register_method is c.fusion.methods.register
