"""The plugin zip: built by scripts/package.sh, installed into a fresh QGIS profile, loaded by QGIS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import zipfile
from pathlib import Path

import pytest

import tsstfn_crop_mapper

ROOT = Path(tsstfn_crop_mapper.__file__).resolve().parent


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tmp = tmp_path_factory.mktemp("pkg")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    out = subprocess.run(["bash", "scripts/package.sh"], cwd=clone, check=True, capture_output=True, text=True).stdout.strip()
    return clone / out


def test_zip_holds_the_plugin_folder_only(plugin_zip):
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert all(n.startswith("tsstfn_crop_mapper/") for n in names)
    for required in (
        "metadata.txt",
        "__init__.py",
        "plugin.py",
        "resources/icon.svg",
        "core/fusion/model.py",
        "core/pipeline/run.py",
        "ui/dialog.py",
        "processing_provider/provider.py",
    ):
        assert f"tsstfn_crop_mapper/{required}" in names
    for excluded in ("tests/", "bench/", "scripts/", ".ci/", "docs/", "__pycache__", ".pyc", ".venv"):
        assert not any(excluded in n for n in names), excluded


@pytest.mark.skipif(shutil.which("qgis_process.bin") is None, reason="qgis_process.bin not installed")
def test_zip_installs_into_a_fresh_profile_and_loads(plugin_zip, tmp_path):
    home = tmp_path / "home"
    plugins = home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins"
    plugins.mkdir(parents=True)
    zipfile.ZipFile(plugin_zip).extractall(plugins)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QGIS")},
        "HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    run = lambda *a: subprocess.run(["qgis_process.bin", *a], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)  # noqa: E731
    enabled = run("plugins", "enable", "tsstfn_crop_mapper")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    listed = run("list")
    assert "tsstfn:runjob" in listed.stdout and "tsstfn:starfm" in listed.stdout
    help_text = run("help", "tsstfn:exportpolygons")
    assert "minimum mapping unit" in help_text.stdout
