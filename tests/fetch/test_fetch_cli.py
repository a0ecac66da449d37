"""``python -m tsstfn_crop_mapper fetch``: the same core path as the dialog, against the local STAC server."""

from __future__ import annotations

import json

from tsstfn_crop_mapper.core.cli import main


def test_fetch_command_searches_downloads_and_repeats_from_its_job_file(stac, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["fetch", "--aoi", "10.0,45.0,10.012,45.008", "--reference", "2021-04-01/2021-09-30",
            "--prediction", "2022-04-01/2022-09-30", "--out", str(out), "--endpoint", stac.url("es"),
            "--coarse-endpoint", stac.url("pc")]  # fmt: skip
    assert main([*args, "--search-only"]) == 0
    printed = capsys.readouterr().out
    assert "2021-08-15  Sentinel-2 L2A    70.0%  yes       cloudy" in printed
    assert "2022-08-05  MODIS only" in printed and "5 row(s) to download: 16 file(s)" in printed
    assert not out.exists()  # a search writes nothing
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "16 file(s) written" in printed and "fetch --job" in printed
    saved = json.loads((out / "fetch_job.json").read_text())
    assert saved["out_dir"] == "." and saved["critical_start"] == "07-01"
    assert main(["fetch", "--job", str(out / "fetch_job.json")]) == 0
    assert "0 file(s) written, 16 already complete (kept)" in capsys.readouterr().out


def test_fetch_command_errors_are_one_sentence(tmp_path, capsys):
    assert main(["fetch", "--aoi", "10,45", "--reference", "2021-04-01/2021-09-30", "--prediction",
                 "2022-04-01/2022-09-30", "--out", str(tmp_path)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: Fetch field 'aoi'") and "Traceback" not in err
    assert main(["fetch", "--out", str(tmp_path)]) == 2
    assert "--aoi, --reference, --prediction" in capsys.readouterr().err
    assert main(["fetch", "--job", str(tmp_path / "none.json")]) == 2
    assert "Cannot read the fetch job file" in capsys.readouterr().err


def test_the_fetch_job_example_of_docs_fetch_md_parses(tmp_path):
    import re
    from pathlib import Path

    from tsstfn_crop_mapper.core.fetch.request import request_from_dict

    text = (Path(__file__).resolve().parents[2] / "docs" / "fetch.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"^```json\n(.*?)^```", text, re.S | re.M)]
    request = request_from_dict(next(b for b in blocks if "aoi" in b), tmp_path)
    assert request.out_dir == str(tmp_path / "imagery") and request.critical_start == (7, 1)
