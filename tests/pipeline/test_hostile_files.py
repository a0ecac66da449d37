"""Hostile files and names on the command line: job files that are no UTF-8 text, YAML aliases, NUL bytes and
over-long names, symlink loops, links planted in the output folder, a file where a folder belongs. Each: exit status
2, one sentence, no traceback, inputs byte-identical, nothing written outside the output folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tsstfn_crop_mapper.core import cli

from .test_hostile import base, hashes  # noqa: F401 (the fixture)


def _job(d: dict, tmp: Path, text: str | None = None, suffix: str = ".json", data: bytes | None = None) -> str:
    path = tmp / "in" / f"job{suffix}"
    if data is not None:
        path.write_bytes(data)
    else:
        path.write_text(text if text is not None else json.dumps(d))
    return str(path)


def _utf16(d, tmp):
    return _job(d, tmp, data=json.dumps(d).encode("utf-16"))


def _binary(d, tmp):
    return _job(d, tmp, data=bytes(range(256)) * 8)


def _latin1(d, tmp):
    return _job(d, tmp, data=json.dumps({**d, "name": "r\u00e9colte"}, ensure_ascii=False).encode("latin-1"))


def _alias_bomb(d, tmp):
    lines = ['a: &a ["gtiff", "gtiff", "gtiff", "gtiff", "gtiff", "gtiff", "gtiff", "gtiff", "gtiff"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    body = json.dumps({k: v for k, v in d.items()})
    return _job(d, tmp, "\n".join(lines) + "\nformats: *i\n" + body[1:-1].replace('", "', '",\n"') + "\n", ".yaml")


def _nul_in_name(d, tmp):
    return _job(d, tmp, json.dumps({**d, "name": "run\u0000x"}))


def _long_name(d, tmp):
    return _job(d, tmp, json.dumps({**d, "name": "x" * 300}))


def _long_path(d, tmp):
    d["samples"] = str(tmp / "in" / ("s" * 300 + ".gpkg"))
    return _job(d, tmp)


def _nul_in_path(d, tmp):
    d["samples"] = str(tmp / "in" / "sam\u0000ples.gpkg")
    return _job(d, tmp)


def _symlink_loop(d, tmp):
    (tmp / "in" / "a.tif").symlink_to(tmp / "in" / "b.tif")
    (tmp / "in" / "b.tif").symlink_to(tmp / "in" / "a.tif")
    d["reference"][0]["fine"] = str(tmp / "in" / "a.tif")
    return _job(d, tmp)


def _path_is_a_number(d, tmp):
    d["samples"] = 5
    return _job(d, tmp)


def _old_starfm_string(d, tmp):
    return _job(d, tmp, json.dumps({**d, "starfm": "false"}))


def _previous_runs_file(d, tmp):
    Path(d["output_dir"]).mkdir()
    (Path(d["output_dir"]) / "previous_runs").write_text("not a folder")
    (Path(d["output_dir"]) / "crop_map.tif").write_text("an old output, no manifest")
    return _job(d, tmp)


def _report_link(d, tmp):
    Path(d["output_dir"]).mkdir()
    (tmp / "elsewhere").mkdir()
    (Path(d["output_dir"]) / "report").symlink_to(tmp / "elsewhere")
    return _job(d, tmp)


def _previous_runs_link(d, tmp):
    Path(d["output_dir"]).mkdir()
    (tmp / "elsewhere").mkdir()
    (Path(d["output_dir"]) / "previous_runs").symlink_to(tmp / "elsewhere")
    (Path(d["output_dir"]) / "crop_map.tif").write_text("an old output, no manifest")
    return _job(d, tmp)


def _raster_option(key: str, value: object):
    def setup(d, tmp):
        d["prediction"][0]["fine"] = {"path": d["prediction"][0]["fine"], key: value}
        return _job(d, tmp)

    return setup


def _byte_as_s2(d, tmp):
    import numpy as np
    from osgeo import gdal

    src = gdal.Open(d["prediction"][0]["fine"])
    path = tmp / "in" / "classes.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), src.RasterXSize, src.RasterYSize, 2, gdal.GDT_Byte)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    for b in (1, 2):
        ds.GetRasterBand(b).WriteArray(np.random.default_rng(b).integers(1, 4, (src.RasterYSize, src.RasterXSize)))
    ds = None
    d["prediction"][0]["fine"] = str(path)
    return _job(d, tmp)


CASES = [
    ("utf-16", _utf16, r"'job.json' is not UTF-8 text .*save it as UTF-8"),
    ("binary", _binary, r"'job.json' is not UTF-8 text"),
    ("latin-1", _latin1, r"'job.json' is not UTF-8 text \(byte \d+"),
    ("yaml-alias-bomb", _alias_bomb, r"'job.yaml' uses a YAML alias"),
    ("nul-in-name", _nul_in_name, r"'name': 'run\\x00x' is not a plain name"),
    ("long-name", _long_name, r"'name': 'xxx.* is not a plain name.*at most 100 characters"),
    ("long-path", _long_path, r"name longer than 255 bytes"),
    ("nul-in-path", _nul_in_path, r"holds a NUL character"),
    ("symlink-loop", _symlink_loop, r"'.*a.tif' cannot be followed"),
    ("path-a-number", _path_is_a_number, r"'samples': 5 is not text"),
    ("starfm-string", _old_starfm_string, r"'starfm': 'false' is not true or false"),
    ("previous-runs-file", _previous_runs_file, r"previous_runs' is a file"),
    ("previous-runs-link", _previous_runs_link, r"previous_runs' is a link"),
    ("raster-scale-zero", _raster_option("scale", 0), r"'scale' 0 would turn every value into 0"),
    ("raster-scale-nan", _raster_option("scale", float("nan")), r"'scale' nan is not a finite number"),
    ("raster-band-string", _raster_option("band", "2"), r"'band' '2' is not a band number"),
    ("raster-offset-string", _raster_option("add_offset", "0"), r"'add_offset' '0' is not a number"),
    ("byte-as-s2", _byte_as_s2, r"'classes.tif' holds values \(1 to 3, Byte\) but none of them gives a valid NDVI as product"),
    ("report-link", _report_link, r"report' in the output folder is a link"),
]


@pytest.mark.parametrize("setup, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_on_the_command_line(base, tmp_path, capsys, setup, message):  # noqa: F811
    job = setup(base, tmp_path)
    before = hashes(tmp_path)
    assert cli.main(["run", job]) == 2
    err = capsys.readouterr().err
    lines = [e for e in err.splitlines() if e.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    after = hashes(tmp_path)
    assert {k: after.get(k) for k in before} == before
    assert not (tmp_path / "elsewhere").exists() or list((tmp_path / "elsewhere").iterdir()) == []


def test_benchmark_out_at_a_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "d.json").write_text("{}")
    assert cli.main(["benchmark", str(tmp_path / "d.json"), "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: Benchmark folder (--out) '" in err and "is a file" in err, err
    assert (tmp_path / "taken").read_text() == "a file"


def _started(args: list[str]):
    from .test_hostile import _cli

    return _cli(args)


@pytest.mark.parametrize("delay", [0.05, 0.4, 1.5])
def test_ctrl_c_during_start_up_ends_cleanly(base, tmp_path, delay):  # noqa: F811
    """SIGINT while Python imports and reads the job: exit status 130, one line, no traceback."""
    import signal
    import time

    (tmp_path / "job.json").write_text(json.dumps(base))
    proc = _started(["run", str(tmp_path / "job.json")])
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    if "Traceback" in err and "tsstfn_crop_mapper" not in err:  # (a machine under heavy load)
        pytest.skip("the signal came while Python itself started, before any of this package's code ran")
    assert proc.returncode == 130 and "Traceback" not in err and "Exception ignored" not in err, err
    assert err.strip().splitlines()[-1].startswith("stopped;")


def test_repeated_ctrl_c_and_sigterm_end_within_seconds(base, tmp_path):  # noqa: F811
    import signal
    import time

    base["train"].update(max_epochs=500, patience=500)
    (tmp_path / "job.json").write_text(json.dumps(base))
    proc = _started(["run", str(tmp_path / "job.json")])
    out = Path(base["output_dir"])
    deadline = time.time() + 120
    while not list(out.glob("aligned/targets/*.tif")) and time.time() < deadline:
        time.sleep(0.2)
    for _ in range(3):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    _, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 8
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("stopped;")


def test_a_run_started_at_the_same_time_is_refused_clearly(base, tmp_path, capsys):  # noqa: F811
    """Another process holds the folder's lock before its manifest says 'running': one sentence, not a lost probe."""
    import subprocess
    import sys

    out = Path(base["output_dir"])
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('held', flush=True); time.sleep(60)", str(out / ".tsstfn.lock")], stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "job.json").write_text(json.dumps(base))
        assert cli.main(["run", str(tmp_path / "job.json")]) == 2
        err = capsys.readouterr().err
        assert f"error: Another run is writing into '{out}' (it started at the same time)" in err, err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_grid_larger_than_the_disk_is_refused_before_writing(base, tmp_path, capsys):  # noqa: F811
    """A header declaring 200000 x 200000 px (a VRT: no pixel stored) is refused from the header, in seconds."""
    import time

    from osgeo import gdal

    src = gdal.Open(base["prediction"][0]["fine"])
    gt = src.GetGeoTransform()
    for group in ("reference", "prediction"):
        for k, pair in enumerate(base[group]):  # one file per date: one raster for two dates is refused first
            path = tmp_path / "in" / f"huge_{group}_{k}.vrt"
            vrt = gdal.GetDriverByName("VRT").Create(str(path), 200_000, 200_000, 2, gdal.GDT_UInt16)
            vrt.SetGeoTransform(gt)
            vrt.SetProjection(src.GetProjection())
            vrt = None
            pair["fine"] = str(path)
    (tmp_path / "job.json").write_text(json.dumps(base))
    t0 = time.perf_counter()
    assert cli.main(["run", str(tmp_path / "job.json")]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert re.search(r"error: The run's outputs on the study grid of \d+ x \d+ px need about .* GB free", err), err
