"""The profile CSV is UTF-8 whatever the system's locale (Windows' cp1252, a C locale): non-ASCII labels and paths survive."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

from tsstfn_crop_mapper.core.profile import Sample, read_csv, write_csv

LABEL = "Körnermais – 玉米 (fused)"
PATH = "/données/Çukurova/ndvi_Ø_20210730.tif"


def _samples() -> list[Sample]:
    day = dt.date(2021, 7, 30)
    fused = Sample(day, day, "fused", LABEL, 0.625, PATH, 0.05, 12)
    return [fused, Sample(day, day, "observed", "Sentinel-2 é", float("nan"), PATH)]


def test_non_ascii_text_round_trips_as_utf8(tmp_path):
    path = write_csv(_samples(), tmp_path / "profil_é.csv")
    raw = path.read_bytes()
    assert LABEL.encode("utf-8") in raw and PATH.encode("utf-8") in raw  # UTF-8 bytes, not the locale's
    back = read_csv(path)
    assert [(s.label, s.path, s.std, s.n) for s in back] == [(LABEL, PATH, 0.05, 12), ("Sentinel-2 é", PATH, None, 1)]
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + raw)  # re-saved by a spreadsheet: a BOM in front
    assert [s.label for s in read_csv(tmp_path / "bom.csv")] == [LABEL, "Sentinel-2 é"]


def test_an_ascii_locale_writes_and_reads_the_same_file(tmp_path):
    """Python with an ASCII locale encoding (as cp1252 on Windows, where 玉米 has no code) writes the same bytes."""
    path = write_csv(_samples(), tmp_path / "here.csv")
    code = textwrap.dedent(
        f"""
        import locale, sys
        encoding = locale.getpreferredencoding(False)
        assert encoding.lower() in ("ansi_x3.4-1968", "ascii", "us-ascii"), encoding
        from tsstfn_crop_mapper.core.profile import read_csv, write_csv
        samples = read_csv({ascii(str(path))})
        assert samples[0].label == {ascii(LABEL)} and samples[0].path == {ascii(PATH)}, samples[0]
        write_csv(samples, {ascii(str(tmp_path / "there.csv"))})
        """
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    done = subprocess.run([sys.executable, "-X", "utf8=0", "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "there.csv").read_bytes() == path.read_bytes()
