"""Every JSON example of README.md and docs/*.md goes through the parser that reads it.

A ```json block is a job file, parsed by ``job_from_dict``, unless it holds ``tiles`` (a region
file, parsed by ``region_from_dict`` with its tile jobs, which the examples only name, stood in
for by a parsed job). A block that is neither, and is not meant to parse, is preceded by the line
``<!-- not a job -->`` (blank lines between allowed); it is then skipped. Inline code spans that
are JSON objects keyed by fusion methods (``method_params`` examples) go through each method's
parameter parser. Paths need not exist: the parsers check them later, when a run starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tsstfn_crop_mapper.core.fusion.methods import METHODS, get_method
from tsstfn_crop_mapper.core.pipeline import region
from tsstfn_crop_mapper.core.pipeline.job import job_from_dict

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = "<!-- not a job -->"
BLOCK = re.compile(r"^```json[ \t]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`(\{[^`\n]*\})`")


def json_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line, block, skipped)`` for each ```json block of ``text``."""
    out = []
    for m in BLOCK.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1), bool(before) and before[-1].strip() == SKIP))
    return out


def _examples() -> list:
    return [
        pytest.param(page, block, skipped, id=f"{page.name}:{line}")
        for page in PAGES
        for line, block, skipped in json_blocks(page.read_text(encoding="utf-8"))
    ]


def test_the_pages_hold_examples_and_the_finder_sees_the_skip_marker():
    assert {"README.md", "regions.md"} <= {p.values[0].name for p in _examples()}
    text = f"a\n{SKIP}\n\n```json\n{{}}\n```\n\n```json\n[1]\n```\n"
    assert [(skipped, block) for _, block, skipped in json_blocks(text)] == [(True, "{}\n"), (False, "[1]\n")]


@pytest.mark.parametrize("page, block, skipped", _examples())
def test_every_json_example_parses(page, block, skipped, tmp_path, monkeypatch):
    if skipped:
        pytest.skip(f"marked {SKIP}")
    data = json.loads(block)  # valid JSON first
    assert isinstance(data, dict), "an example is a mapping"
    if "tiles" in data:  # a region file: its own fields parsed; the tile jobs it names are stood in for
        readme = json_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0][1]
        stand_in = job_from_dict(json.loads(readme), tmp_path)
        monkeypatch.setattr(region, "load_job", lambda path: stand_in)
        monkeypatch.setattr(region, "job_from_dict", lambda data, base: stand_in)
        parsed = region.region_from_dict(data, tmp_path)
        assert [t.name for t in parsed.tiles] == [t["name"] for t in data["tiles"]]
    else:
        job = job_from_dict(data, tmp_path)
        for name in data.get("method_params", {}):
            assert name in job.method_params


def _inline_method_params() -> list:
    out = []
    for page in PAGES:
        for m in INLINE.finditer(page.read_text(encoding="utf-8")):
            try:
                data = json.loads(m.group(1))
            except ValueError:
                continue
            if isinstance(data, dict) and data and set(data) <= set(METHODS):
                out.append(pytest.param(data, id=f"{page.name}:{m.group(1)[:40]}"))
    return out


def test_the_pages_show_method_parameters():
    assert any("starfm" in p.values[0] for p in _inline_method_params())


@pytest.mark.parametrize("params", _inline_method_params())
def test_every_inline_method_params_example_parses(params):
    for name, values in params.items():
        get_method(name).parse_params(values)
