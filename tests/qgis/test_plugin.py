"""The plugin loads in a real QgsApplication through classFactory, and unloads cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qgis.core import QgsApplication

from iface import RasterIface


@pytest.fixture()
def iface(qgis_app, qgis_canvas, qgis_parent):
    from qgis.PyQt.QtWidgets import QMainWindow

    window = QMainWindow()
    return RasterIface(qgis_canvas, None, window)


def _menu_texts(iface):
    out = []
    for act in iface.raster_menu.actions():
        if act.menu():
            out += [(act.text(), a.text()) for a in act.menu().actions()]
    return out


def test_class_factory_adds_and_removes_gui(iface):
    import tsstfn_crop_mapper

    plugin = tsstfn_crop_mapper.classFactory(iface)
    plugin.initGui()
    try:
        assert ("&TSSTFN Crop Mapper", "TSSTFN Crop Mapper…") in _menu_texts(iface)
        toolbar_actions = [a for a in iface.raster_toolbar.actions() if a.objectName() == "tsstfnCropMapperAction"]
        assert len(toolbar_actions) == 1 and not toolbar_actions[0].icon().isNull()
        assert QgsApplication.processingRegistry().providerById("tsstfn") is not None
    finally:
        plugin.unload()
    assert _menu_texts(iface) == []
    assert iface.raster_toolbar.actions() == []
    assert QgsApplication.processingRegistry().providerById("tsstfn") is None


def test_importing_plugin_does_not_import_torch():
    code = (
        "import sys, tsstfn_crop_mapper, tsstfn_crop_mapper.plugin, tsstfn_crop_mapper.core.inputs.align, "
        "tsstfn_crop_mapper.core.fusion.strategies\n"
        "bad = [m for m in ('torch', 'sklearn') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_metadata_is_complete():
    import configparser
    from pathlib import Path

    import tsstfn_crop_mapper

    root = Path(tsstfn_crop_mapper.__file__).parent
    meta = configparser.ConfigParser()
    meta.read(root / "metadata.txt")
    general = meta["general"]
    for key in (
        "name",
        "qgisMinimumVersion",
        "description",
        "about",
        "version",
        "author",
        "email",
        "tracker",
        "repository",
        "tags",
        "icon",
        "experimental",
    ):
        assert general.get(key), key
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["version"] == tsstfn_crop_mapper.__version__
    assert (root / general["icon"]).exists()
