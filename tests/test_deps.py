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


def test_plugin_offers_the_installer_and_it_installs_in_a_qgis_task(qgis_app, qgis_canvas, monkeypatch, tmp_path):
    import time

    from qgis.core import QgsApplication
    from qgis.PyQt.QtWidgets import QMainWindow

    import tsstfn_crop_mapper
    from iface import RasterIface
    from tsstfn_crop_mapper.ui import installer

    _wheel(tmp_path / "wheels")
    monkeypatch.setenv("TSSTFN_PIP_ARGS", f"--no-index --find-links {tmp_path / 'wheels'}")
    monkeypatch.setattr(installer, "packages_dir", lambda: tmp_path / "packages")
    monkeypatch.setitem(deps.REQUIRED, "tsstfn_tinydep", "tsstfn_tinydep")
    plugin = tsstfn_crop_mapper.classFactory(RasterIface(qgis_canvas, None, QMainWindow()))
    plugin.initGui()
    try:
        plugin.run()
        dialog = plugin.installer
        assert plugin.dialog is None and dialog.isVisible()  # the installer, not the crop-mapper dialog
        assert dialog.plan.requirements == ["tsstfn_tinydep"] and str(tmp_path / "packages") in dialog.where.text()
        monkeypatch.setitem(deps.REQUIRED, "skops.io", "skops")
        shown = installer.InstallDialog([deps.Problem("skops.io", "skops", "not installed")], target=tmp_path / "x")
        assert "skops&gt;=0.11,&lt;0.14" in shown.where.text()  # the specifier shown, not eaten as a tag
        assert "--target" in dialog.command.toPlainText()
        dialog.copy_button.click()
        assert QgsApplication.clipboard().text() == dialog.plan.manual_command()
        task = dialog.start()
        start = time.time()
        while dialog.task is not None:
            QgsApplication.processEvents()
            time.sleep(0.05)
            assert time.time() - start < 120, task
        text = dialog.status.text()
        assert text.startswith("Installed tsstfn_tinydep==0.1 into") and "Ready" in text, text
        assert (tmp_path / "packages" / "tsstfn_tinydep" / "__init__.py").exists()
    finally:
        plugin.unload()
        sys.path[:] = [p for p in sys.path if p != str(tmp_path / "packages")]
        sys.modules.pop("tsstfn_tinydep", None)


def _wheel(folder, name="tsstfn_tinydep", version="0.1"):
    """A one-module wheel written by hand (no build tools, no network)."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = '{version}'\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
    return path


def test_installer_puts_a_missing_package_into_its_own_folder(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    _wheel(wheels)
    monkeypatch.setenv("TSSTFN_PIP_ARGS", f"--no-index --find-links {wheels}")
    target = tmp_path / "profile" / "tsstfn_packages"
    problems = deps.find_problems({"tsstfn_tinydep": "tsstfn_tinydep"}, quick=True)
    assert problems == [deps.Problem("tsstfn_tinydep", "tsstfn_tinydep", "not installed")]
    plan = deps.plan_install(problems, target)
    assert plan.torch_build is None and plan.download_mb == 10 and "--target" in plan.manual_command()
    steps = []
    installed = deps.install(plan, lambda f, m: steps.append(m))
    assert installed == ["tsstfn_tinydep==0.1"] and steps[-1] == "installed"
    assert (target / "tsstfn_tinydep" / "__init__.py").exists()
    assert str(target) in sys.path and deps.find_problems({"tsstfn_tinydep": "x"}) == []
    assert [p.name for p in target.parent.iterdir()] == ["tsstfn_packages"]  # no staging folder left
    assert deps.install(deps.plan_install(problems, target), None) == []  # now present: nothing to do
    sys.path.remove(str(target))
    sys.modules.pop("tsstfn_tinydep", None)


def test_installer_failure_and_cancel_leave_the_folder_as_it_was(tmp_path, monkeypatch):
    from tsstfn_crop_mapper.core.errors import CancelledError

    monkeypatch.setenv("TSSTFN_PIP_ARGS", f"--no-index --find-links {tmp_path}")
    target = tmp_path / "pkgs"
    target.mkdir()
    (target / "keep.txt").write_text("an earlier install")
    plan = deps.plan_install([deps.Problem("tsstfn_nowhere", "tsstfn-nowhere", "not installed")], target)
    with pytest.raises(DependencyError) as err:
        deps.install(plan)
    text = str(err.value)
    assert "no matching package was found" in text and "Install by hand with:" in text and "tsstfn-nowhere" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkgs"] and [p.name for p in target.iterdir()] == ["keep.txt"]
    _wheel(tmp_path / "wheels")
    monkeypatch.setenv("TSSTFN_PIP_ARGS", f"--no-index --find-links {tmp_path / 'wheels'}")
    plan = deps.plan_install([deps.Problem("tsstfn_tinydep", "tsstfn_tinydep", "not installed")], target)
    with pytest.raises(CancelledError):
        deps.install(plan, is_cancelled=lambda: True)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    broken = deps.InstallPlan(["x"], target, None)
    with pytest.raises(DependencyError, match="No Python interpreter was found"):
        deps.install(broken)


def test_skops_io_missing_reads_not_installed(monkeypatch):
    monkeypatch.delitem(sys.modules, "skops.io", raising=False)
    monkeypatch.setitem(sys.modules, "skops", None)  # the top package absent: "No module named 'skops'"
    assert deps.find_problems({"skops.io": "skops"}) == [deps.Problem("skops.io", "skops", "not installed")]


def test_torch_build_follows_the_gpu_and_the_manual_command_names_the_index(tmp_path):
    problems = [deps.Problem("torch", "torch", "not installed")]
    cpu = deps.plan_install(problems, tmp_path, cuda=False)
    cuda = deps.plan_install(problems, tmp_path, cuda=True)
    assert cpu.requirements == ["torch==2.13.0"] and cpu.download_mb < cuda.download_mb
    assert "download.pytorch.org/whl/cpu" in cpu.manual_command() and "whl/cu" in cuda.manual_command()


def test_a_cancel_stops_a_silent_pip_at_once(tmp_path):
    import time

    from tsstfn_crop_mapper.core.errors import CancelledError

    start = time.monotonic()
    with pytest.raises(CancelledError):  # a "pip" that prints nothing for a minute, as during a large download
        deps._run_pip([sys.executable, "-c", "import time; time.sleep(60)"], {}, lambda line: None,
                      lambda: time.monotonic() - start > 0.5)  # fmt: skip
    assert time.monotonic() - start < 5
