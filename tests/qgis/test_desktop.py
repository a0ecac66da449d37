"""The real QGIS desktop under Xvfb, as a first-time user meets it (slow-ish: a QGIS start each).

1. Every raster of the demo scene loaded, the toolbar button, Fill, a wrong layer refused at its
   cell, the job run to the end; the dialog opens and validates without freezing QGIS.
2. A Python without skops: the toolbar button opens the installer, which installs skops into the
   plugin's own folder in a background task (or, offline, fails with the manual command).
Skipped with the reason when xvfb-run or the qgis binary is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (shutil.which("xvfb-run") and shutil.which("qgis")), reason="needs xvfb-run and the QGIS desktop (apt install qgis xvfb)"
)


def _desktop(out: Path, script: str, env: dict, timeout: int = 480) -> subprocess.CompletedProcess:
    """scripts/desktop_screenshots.sh with another --code script (the profile and Xvfb set up as for the screenshots)."""
    text = (ROOT / "scripts" / "desktop_screenshots.sh").read_text().replace("scripts/desktop_demo.py", script)
    out.mkdir(parents=True, exist_ok=True)
    runner = out.parent / "run.sh"
    runner.write_text(text.replace('cd "$(dirname "$0")/.."', f'cd "{ROOT}"'))
    environment = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "VIRTUAL_ENV")}  # draws on Xvfb
    venv_bin = str(ROOT / ".venv" / "bin")  # QGIS's Python would find the venv through a python3 on PATH
    environment["PATH"] = os.pathsep.join(p for p in environment.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return subprocess.run(
        ["bash", str(runner), str(out)], env={**environment, **env}, capture_output=True, text=True, timeout=timeout
    )


def test_first_run_in_the_desktop(tmp_path):
    out = tmp_path / "shots"
    proc = _desktop(out, "scripts/desktop_demo.py", {"TSSTFN_EPOCHS": "3", "TSSTFN_SCREEN": "1280x800"})
    report_path = out / "first_run.json"
    assert report_path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(report_path.read_text())
    assert r["open_s"] < 0.5, r  # the toolbar button to a shown dialog, QGIS not frozen
    assert r["validate_s"] < 0.1, r  # a repeated validation
    assert r["validate_messages"] == [None, None, None]
    assert r["class_field_default"] == "crop"
    assert all("B04B08" in t["fine"] for t in r["targets"] if "fine" in t)  # not the truth NDVI
    assert any("ndvi_20210730" in s for s in r["skipped"]) and any("labels_2021" in s for s in r["skipped"])
    assert "cannot go in the Sentinel-2 column" in r["refused"] or "is already in" in r["refused"]
    assert r["refused_highlighted"] and r["after_fix"] is None
    assert r["run_state_shown"], r  # progress in the dialog, Run disabled while the run writes
    assert r["group"] == "demo_run" and "Crop map per field (with fused NDVI)" in r["layers"]
    assert sorted(r["visible"]) == ["Crop map per field (with fused NDVI)", "TSSTFN NDVI 2021-07-30"]
    assert any("demo_run done" in m and "kappa" in m for m in r["messages"])
    assert r.get("done") and (out / "dialog_refused.png").exists() and (out / "qgis_report_panel.png").exists()


def test_installer_in_the_desktop(tmp_path):
    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path / "site"  # the project's packages without skops: QGIS's Python lacks one small dependency
    shadow.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith("skops"):
            (shadow / entry.name).symlink_to(entry)
    out = tmp_path / "shots"
    proc = _desktop(out, "scripts/desktop_installer.py", {"TSSTFN_PYTHONPATH": str(shadow)})
    path = out / "installer.json"
    assert path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(path.read_text())
    assert r["dialog_opened"] and r["problems"] == [["skops.io", "skops", "not installed"]]
    assert "tsstfn_crop_mapper_packages" in r["target"] and "--target" in r["command"]
    assert r["command"].startswith(r["exec_prefix"]), r["command"]  # QGIS's own Python runs pip, not one on PATH
    if r["status"].startswith("Installed"):
        assert "skops" in r["status"] and any(n.startswith("skops") for n in r["installed_files"])
        assert r["skops_from"].startswith(r["target"]), r
        assert not any(n.startswith(("numpy", "scikit_learn", "sklearn")) for n in r["installed_files"])  # never shadowed
    else:  # offline: a clear failure with the manual command, nothing half-installed
        assert "Install by hand with" in r["status"] and not any(n.startswith("skops") for n in r["installed_files"]), r
