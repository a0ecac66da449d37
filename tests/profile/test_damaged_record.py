"""A damaged run record (a hand-edited or half-synced run_report.json) is one sentence naming it, never a traceback."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/profile's helper (the folder name is the stdlib's 'profile')
from make_run import make_run

from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.profile import ProfileReader, open_run


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("damaged"), size=24)


def _set(path: tuple, value):
    def edit(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _rename_first_date(role: str, key: str):
    def edit(data: dict) -> None:
        by_date = data["outputs"][role]
        first = next(iter(by_date))
        by_date[key] = by_date.pop(first)

    return edit


DAMAGES = [
    ("fused-date-key", _rename_first_date("fused", "30/07/2021"), r"'outputs\.fused' has '30/07/2021' where a date"),
    ("uncertainty-date-key", _rename_first_date("uncertainty", "later"), r"'outputs\.uncertainty' has 'later' where a date"),
    ("fused-a-list", _set(("outputs", "fused"), ["fused_ndvi_20210730.tif"]), r"'outputs\.fused' is a list, not a mapping"),
    ("fused-a-string", _set(("outputs", "fused"), "fused_ndvi_20210730.tif"), r"'outputs\.fused' is a str, not a mapping"),
    ("compared-a-list", _set(("outputs", "compared"), ["starfm"]), r"'outputs\.compared' is a list, not a mapping"),
    ("compared-method-a-number", _set(("outputs", "compared", "starfm"), 3), r"'outputs\.compared\.starfm' is a int"),
    ("fused-date-key-rewritten-as-iso", _rename_first_date("fused", "2021-07-30"), None),  # a sane edit: still reads
    ("outputs-a-list", _set(("outputs",), []), r"its 'outputs' is a list, not a mapping"),
    ("pairs-a-number", _set(("job", "prediction"), 5), r"its job's 'prediction' is a int, not a list of pairs"),
    ("pair-a-string", _set(("job", "reference"), ["x"]), r"cannot be read: .*'reference\[0\]' must be a mapping"),
    ("pair-date", _set(("job", "prediction", 0, "date"), "soon"), r"'prediction\[0\]\.date': 'soon' is not a date"),
]


@pytest.mark.parametrize("name,damage,message", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_record_is_one_sentence_naming_it(small, tmp_path, name, damage, message):
    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    report = copy / "run" / "report" / "run_report.json"
    data = json.loads(report.read_text())
    damage(data)
    report.write_text(json.dumps(data))
    if message is None:
        assert open_run(copy / "run").target_dates
        return
    for read in (open_run, ProfileReader):  # the dock reads through ProfileReader
        with pytest.raises(InputError) as info:
            read(copy / "run")
        text = str(info.value)
        assert text.startswith(f"The run record '{report}' "), text
        assert re.search(message, text), text
        assert "\n" not in text


def test_a_path_that_is_no_text_is_named(small, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    report = copy / "run" / "report" / "run_report.json"
    data = json.loads(report.read_text())
    first = next(iter(data["outputs"]["fused"]))
    data["outputs"]["fused"][first] = {"path": "x"}
    report.write_text(json.dumps(data))
    with pytest.raises(InputError, match=rf"^The run record '{re.escape(str(report))}' is damaged: its 'outputs\.fused' of "):
        open_run(copy / "run")


def test_the_dock_shows_the_sentence(small, tmp_path, qgis_app):
    from tsstfn_crop_mapper.ui.profile.dock import ProfileDock

    copy = tmp_path / "copy"
    shutil.copytree(small["run"].parent, copy)
    report = copy / "run" / "report" / "run_report.json"
    data = json.loads(report.read_text())
    _rename_first_date("fused", "2021-13-45")(data)
    report.write_text(json.dumps(data))
    dock = ProfileDock()
    try:
        assert dock.set_run(small["run"])  # a sound run first
        assert dock.set_run(copy / "run") is False  # the damaged one: refused, the sound one kept
        assert dock.message.text().startswith(f"The run record '{report}' is damaged: its 'outputs.fused' has '2021-13-45'")
        assert dock.reader is not None and dock.reader.record.folder == small["run"]
    finally:
        if dock.reader is not None:
            dock.reader.close()
        dock.deleteLater()
