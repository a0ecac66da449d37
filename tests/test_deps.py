import sys

import pytest

from tsstfn_crop_mapper.core import deps
from tsstfn_crop_mapper.core.errors import DependencyError


def test_all_dependencies_present():
    assert deps.find_problems() == []
    deps.check_dependencies()


def test_missing_and_broken_packages_give_platform_commands(monkeypatch, tmp_path):
    (tmp_path / "tsstfn_broken_dll.py").write_text("raise OSError('DLL load failed while importing _C')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DependencyError) as err:
        deps.check_dependencies(
            {"tsstfn_broken_dll": "torch", "sklearn": "scikit-learn", "tsstfn_missing_module": "tsstfn-missing"}
        )
    msg = str(err.value)
    assert "torch (tsstfn_broken_dll): broken: OSError: DLL load failed" in msg
    assert "tsstfn-missing (tsstfn_missing_module): not installed" in msg
    assert "pip install" in msg and "scikit-learn" not in msg.split("needs")[1].split("\n")[1]
    assert "OSGeo4W Shell" in deps.install_command(["torch"], "osgeo4w")
    assert "OSGeo4W Shell" in deps.install_command(["torch"], "windows-standalone")
    assert "/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install torch" in deps.install_command(["torch"], "macos")
    assert "python3 -m pip install --user torch" in deps.install_command(["torch"], "linux")


def test_plugin_reports_missing_dependencies_without_traceback(qgis_app, monkeypatch):
    from tsstfn_crop_mapper.ui.feedback import report_missing_dependencies

    shown = []
    assert report_missing_dependencies(None, ask=lambda *a: shown.append(a)) is True
    monkeypatch.setitem(sys.modules, "skops.io", None)
    assert report_missing_dependencies(None, ask=lambda *a: shown.append(a)) is False
    assert "skops" in shown[0][2] and "pip install --user skops" in shown[0][2]
