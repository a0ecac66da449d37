"""The dialog stays in panels: no file of ui/ over 400 lines, no class over 300 (issue 20's rule)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "ui"


def test_no_ui_file_over_400_lines_and_no_class_over_300():
    too_long = []
    for path in sorted(UI.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 400:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"{path.name}: class {node.name} has {node.end_lineno - node.lineno + 1} lines")
    assert len(list(UI.rglob("*.py"))) > 10 and too_long == [], too_long
