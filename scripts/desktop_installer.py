"""Run inside the QGIS desktop (qgis --code) whose Python lacks a dependency: the toolbar button must
open the installer, which installs the package into the plugin's own folder in a background task.

Writes ``$TSSTFN_SHOTS/installer.json`` (read by tests/qgis/test_desktop.py) and screenshots.
"""

import json
import os
from pathlib import Path

from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

SHOTS = Path(os.environ["TSSTFN_SHOTS"])
SUFFIX = os.environ.get("TSSTFN_SUFFIX", "")
report = {"ticks": 0}


def save():
    (SHOTS / "installer.json").write_text(json.dumps(report, indent=1, default=str))


def step_open():
    import importlib.util
    import sys

    spec = importlib.util.find_spec("skops")
    report["skops_before"] = spec.origin if spec else None
    report["sys_path"] = sys.path
    report["exec_prefix"] = sys.exec_prefix
    iface.mainWindow().setGeometry(0, 0, 1280, 800)
    plugin = plugins["tsstfn_crop_mapper"]
    plugin.action.trigger()
    dialog = plugin.installer
    report["dialog_opened"] = plugin.dialog is None and dialog is not None and dialog.isVisible()
    if dialog is None:
        save()
        iface.actionExit().trigger()
        return
    report["problems"] = [(p.module, p.requirement, p.reason) for p in dialog.problems]
    report["where"] = dialog.where.text()
    report["command"] = dialog.command.toPlainText()
    report["target"] = str(dialog.target)
    QTimer.singleShot(1000, step_install)


def step_install():
    dialog = plugins["tsstfn_crop_mapper"].installer
    dialog.grab().save(str(SHOTS / f"installer{SUFFIX}.png"))
    dialog.install_button.click()
    QTimer.singleShot(500, step_wait)


def step_wait():
    dialog = plugins["tsstfn_crop_mapper"].installer
    report["ticks"] += 1
    if dialog.task is not None and report["ticks"] < 400:
        QTimer.singleShot(500, step_wait)
        return
    report["status"] = dialog.status.text()
    target = Path(report["target"])
    report["installed_files"] = sorted(p.name for p in target.glob("*")) if target.exists() else []
    dialog.grab().save(str(SHOTS / f"installer_done{SUFFIX}.png"))
    try:
        import skops.io  # noqa: F401  (from the plugin's folder, without a restart)

        report["skops_from"] = skops.io.__file__
    except ImportError as exc:
        report["skops_from"] = f"not importable: {exc}"
    report["messages"] = [w.text() for w in iface.messageBar().items()]
    save()
    iface.actionExit().trigger()


QTimer.singleShot(3000, step_open)
