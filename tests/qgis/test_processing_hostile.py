"""Hostile input through Processing (issue 24): the algorithms refuse what the command line refuses, with the same
sentence as a QgsProcessingException (after Processing's own "Unable to execute algorithm"; no traceback), inputs
byte-identical, nothing written (every case here is refused from the job file and headers, before any pixel).

The cases are the command line's (``tests/pipeline/test_hostile*.py``); each runs through ``cli.main`` first, for
the sentence to compare with, then through ``processing.run``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pipeline.test_hostile import CASES as JOB_CASES
from pipeline.test_hostile import base, hashes  # noqa: F401 (the fixture)
from pipeline.test_hostile_contradictions import CASES as CONTRADICTIONS
from pipeline.test_hostile_contradictions import HEADER_ONLY

from tsstfn_crop_mapper.core import cli

from .test_processing import processing  # noqa: F401 (the fixture)

PICKED = {
    "same-fine-two-dates", "same-file-both-sensors", "fine-date-contradicts-name", "coarse-date-contradicts-name",
    "red-is-nir", "modis-name-in-fine", "coarse-pixels-in-fine", "fine-pixels-in-coarse", "target-next-year",
    "output-is-a-file", "huge-patch", "truncated-last-base-pair", "samples-without-crs", "declared-200000-px",
    "samples-in-output", "labels-far-away", "corrupt-model", "int-float", "patch-16",
}  # fmt: skip
ALL = [c for c in (*CONTRADICTIONS, *HEADER_ONLY, *JOB_CASES) if c[0] in PICKED]


def _cli_sentence(job: Path, capsys) -> str:
    assert cli.main(["run", str(job)]) == 2
    lines = [e for e in capsys.readouterr().err.splitlines() if e.startswith("error: ")]
    assert len(lines) == 1
    return lines[0][len("error: ") :]


@pytest.mark.parametrize("setup, message", [c[1:] for c in ALL], ids=[c[0] for c in ALL])
def test_runjob_refuses_with_the_command_lines_sentence(processing, base, tmp_path, capsys, setup, message):  # noqa: F811
    from qgis.core import QgsProcessingException

    setup(base, tmp_path)
    job = tmp_path / "in" / "job.json"
    job.write_text(json.dumps(base))
    before = hashes(tmp_path)
    sentence = _cli_sentence(job, capsys)
    assert re.search(message, "error: " + sentence), sentence
    with pytest.raises(QgsProcessingException) as info:
        processing.run("tsstfn:runjob", {"JOB": str(job)})
    assert str(info.value).splitlines()[-1] == sentence and "Traceback" not in str(info.value)
    after = hashes(tmp_path)
    assert {k: after.get(k) for k in before} == before  # inputs (and what was there) byte-identical
    out = Path(base["output_dir"])
    assert not out.is_dir() or [p for p in out.rglob("*") if p.is_file() and str(p) not in before] == []  # none written


def test_benchmark_refuses_a_dataset_tsstfn_cannot_run(processing, tmp_path, capsys):  # noqa: F811
    from qgis.core import QgsProcessingException

    from conftest import make_paired_set

    dataset = Path(make_paired_set(tmp_path / "data"))
    dataset.write_text(json.dumps({**json.loads(dataset.read_text()), "n_base": 2}))
    before = hashes(tmp_path / "data")
    assert cli.main(["benchmark", str(dataset), "--out", str(tmp_path / "cli")]) == 2
    sentence = [e for e in capsys.readouterr().err.splitlines() if e.startswith("error: ")][0][len("error: ") :]
    assert sentence.startswith("Dataset field 'n_base': TSSTFN reads 2 base pairs, but 1 pair(s) lie before target")
    with pytest.raises(QgsProcessingException) as info:
        processing.run("tsstfn:benchmark", {"DATASET": str(dataset), "OUTPUT_FOLDER": str(tmp_path / "out")})
    assert str(info.value).splitlines()[-1] == sentence
    assert hashes(tmp_path / "data") == before
    assert not (tmp_path / "out" / "benchmark.csv").exists() and not (tmp_path / "out" / "aligned").exists()
