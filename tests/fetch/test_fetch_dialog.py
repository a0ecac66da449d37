"""The Get imagery dialog offscreen in real QGIS: AOI from a polygon layer, search and download in tasks against the
local STAC server, the table, the layer group, and the main dialog's Fill placing the downloaded layers."""

from __future__ import annotations

import os
import time

import pytest
from fetch.conftest import AOI
from qgis.core import QgsApplication, QgsFeature, QgsGeometry, QgsProject, QgsRectangle, QgsVectorLayer

from iface import RasterIface


@pytest.fixture()
def iface(qgis_app, qgis_canvas):
    from qgis.PyQt.QtWidgets import QMainWindow

    return RasterIface(qgis_canvas, None, QMainWindow())


def _wait(dialog, timeout=120):
    start = time.time()
    while dialog.cancel_button.isEnabled():
        QgsApplication.processEvents()
        time.sleep(0.02)
        assert time.time() - start < timeout, dialog.status.text()
    QgsApplication.processEvents()


def _complete(folder) -> list:
    """The complete files written so far (not the hidden temporary file of the one being written)."""
    return [p for p in folder.rglob("*.tif") if not p.name.startswith(".")]


def _aoi_layer() -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "fields", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(*AOI)))
    layer.dataProvider().addFeatures([feature])
    return layer


def _fill_form(dialog, stac, out):
    from qgis.PyQt.QtCore import QDate

    days = ((2021, 4, 1), (2021, 9, 30), (2022, 4, 1), (2022, 9, 30), (2022, 7, 1), (2022, 9, 30))
    for edit, (y, m, d) in zip((*dialog.reference, *dialog.prediction, *dialog.critical), days):
        edit.setDate(QDate(y, m, d))
    dialog.endpoint.setCurrentText(stac.url("es"))
    dialog.coarse_endpoint.setCurrentText(stac.url("pc"))
    dialog.out_dir.setFilePath(str(out))


def test_search_download_and_fill_from_the_dialog(iface, stac, tmp_path):
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog
    from tsstfn_crop_mapper.ui.fetch_dialog import COLUMNS, FetchDialog

    project = QgsProject.instance()
    project.clear()
    layer = _aoi_layer()
    project.addMapLayer(layer)
    dialog = FetchDialog(iface)
    try:
        dialog.aoi_layer.setLayer(layer)
        dialog.layer_radio.setChecked(True)
        box, geometry = dialog.aoi()
        assert box == pytest.approx(list(AOI), abs=1e-9) and geometry["type"] == "Polygon"
        dialog.search()  # an empty output folder: core's check, shown in the dialog
        assert "out_dir" in dialog.status.text() and dialog.task is None
        _fill_form(dialog, stac, tmp_path / "dl")
        dialog.search_button.click()
        _wait(dialog)
        assert dialog.table.rowCount() == 6, dialog.status.text()
        row = [dialog.table.item(1, j).text() for j in range(len(COLUMNS))]
        assert row == ["2021-07-20", "Sentinel-2 L2A", "10.0 %", "MOD09Q1.A2021201.h18v04.061.2022042044048", "yes",
                       "reference"]  # fmt: skip
        assert dialog.table.item(2, 5).text() == "cloudy" and "5 row(s) to download, 16 file(s)" in dialog.status.text()
        assert dialog.download_button.isEnabled()
        if os.environ.get("TSSTFN_FETCH_SCREENSHOT"):  # docs/images/fetch_search.png (README)
            dialog.resize(1200, 680)
            dialog.show()
            QgsApplication.processEvents()
            dialog.grab().save(os.environ["TSSTFN_FETCH_SCREENSHOT"])
        loaded = []
        dialog.loaded.connect(lambda name, paths: loaded.append((name, paths)))
        dialog.download_button.click()
        _wait(dialog)
        assert loaded and loaded[0][0] == "Imagery dl" and len(loaded[0][1]) == 16, dialog.status.text()
        group = project.layerTreeRoot().findGroup("Imagery dl")
        assert group is not None and len(group.findLayers()) == 16
        assert "Fill places them" in dialog.status.text()
        main = CropMapperDialog()
        try:
            main.fill_from_project()
            assert [r["date"] for r in main.inputs.reference_table.rows()] == ["2021-05-10", "2021-07-20"]
            assert [r["date"] for r in main.inputs.prediction_table.rows()] == ["2022-05-12"]
            assert [r["date"] for r in main.inputs.targets_table.rows()] == ["2022-07-20", "2022-08-05"]
        finally:
            main.close()
            main.deleteLater()
    finally:
        dialog.close()
        dialog.deleteLater()
        project.clear()


def test_the_plugin_adds_the_get_imagery_action(iface):
    import tsstfn_crop_mapper

    plugin = tsstfn_crop_mapper.classFactory(iface)
    plugin.initGui()
    try:
        actions = [a for m in iface.raster_menu.actions() if m.menu() for a in m.menu().actions()]
        fetch = [a for a in actions if a.objectName() == "tsstfnFetchAction"]
        assert len(fetch) == 1
        fetch[0].trigger()
        assert plugin.fetch_dialog is not None and plugin.fetch_dialog.isVisible()
        plugin.fetch_dialog.loaded.emit("Imagery x", [])  # a finished download opens the main dialog, filled
        assert plugin.dialog is not None and plugin.dialog.isVisible()
    finally:
        plugin.unload()
    actions = [a for m in iface.raster_menu.actions() if m.menu() for a in m.menu().actions()]
    assert not [a for a in actions if a.objectName() == "tsstfnFetchAction"]


def test_cancel_a_download_and_the_canvas_extent_as_aoi(iface, stac, tmp_path):
    from qgis.core import QgsCoordinateReferenceSystem

    from tsstfn_crop_mapper.core.fetch.request import request_from_dict
    from tsstfn_crop_mapper.core.fetch.run import find_pairs
    from tsstfn_crop_mapper.ui.fetch_dialog import FetchDialog

    canvas = iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    canvas.resize(400, 400)
    canvas.setExtent(QgsRectangle(1113194.9, 5621521.5, 1114530.7, 5622779.6))  # about AOI in Web Mercator
    dialog = FetchDialog(iface)
    try:
        box, geometry = dialog.aoi()
        assert geometry is None and box[0] <= 10.0 and box[2] >= 10.0 and 44.9 < box[1] < 45.1
        _fill_form(dialog, stac, tmp_path / "slow")
        data = dialog.request_dict()
        data["aoi"] = list(AOI)  # the search as Search runs it, on the test's AOI
        dialog.request = request_from_dict(data)
        dialog.show_pairs(find_pairs(dialog.request))
        stac.delay = 0.2
        dialog.download_button.click()
        deadline = time.time() + 30
        while not _complete(tmp_path / "slow") and time.time() < deadline:
            QgsApplication.processEvents()
            time.sleep(0.02)
        dialog.cancel_button.click()
        _wait(dialog)
        assert "cancel" in dialog.status.text().lower(), dialog.status.text()
        assert not [p for p in (tmp_path / "slow").rglob("*") if p.name.startswith(".")]
        assert 0 < len(list((tmp_path / "slow").rglob("*.tif"))) < 16  # stopped part-way, complete files kept
        assert dialog.search_button.isEnabled() and dialog.download_button.isEnabled()
    finally:
        stac.delay = 0.0
        dialog.close()
        dialog.deleteLater()


def test_the_action_opens_the_installer_when_pystac_client_is_missing(iface, monkeypatch):
    import tsstfn_crop_mapper
    from tsstfn_crop_mapper.core import deps

    monkeypatch.setitem(deps.OPTIONAL, "tsstfn_no_such_module", "tsstfn-no-such-package")
    plugin = tsstfn_crop_mapper.classFactory(iface)
    plugin.initGui()
    try:
        plugin.open_fetch()
        assert plugin.fetch_dialog is None and plugin.installer is not None
        assert [p.requirement for p in plugin.installer.problems] == ["tsstfn-no-such-package"]
    finally:
        plugin.unload()


def _start_slow_download(dialog, stac, out):
    from tsstfn_crop_mapper.core.fetch.request import request_from_dict
    from tsstfn_crop_mapper.core.fetch.run import find_pairs

    _fill_form(dialog, stac, out)
    data = dialog.request_dict()
    data["aoi"] = list(AOI)
    dialog.request = request_from_dict(data)
    dialog.show_pairs(find_pairs(dialog.request))
    stac.delay = 0.2
    dialog.download_button.click()
    deadline = time.time() + 30
    while not _complete(out) and time.time() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    task = dialog.task
    assert task is not None and not task.isCanceled()
    return task


def _wait_task(task, timeout=60):
    from qgis.core import QgsTask

    start = time.time()
    while task.status() not in (QgsTask.Complete, QgsTask.Terminated):
        QgsApplication.processEvents()
        time.sleep(0.02)
        assert time.time() - start < timeout
    QgsApplication.processEvents()


def test_closing_the_dialog_cancels_its_download(iface, stac, tmp_path):
    from tsstfn_crop_mapper.ui.fetch_dialog import FetchDialog

    dialog = FetchDialog(iface)
    calls = []
    dialog._downloaded = lambda *args: calls.append(args)  # what the task would call back into
    out = tmp_path / "closed"
    try:
        task = _start_slow_download(dialog, stac, out)
        dialog.show()
        dialog.close()
        assert task.isCanceled() and task.on_done is None and dialog.task is None
        _wait_task(task)
        assert calls == [] and task.cancelled  # it stopped, and never called back into the closed dialog
        assert 0 < len(list(out.rglob("*.tif"))) < 16 and not [p for p in out.rglob("*") if p.name.startswith(".")]
        assert dialog.search_button.isEnabled() and not dialog.cancel_button.isEnabled()  # ready when opened again
    finally:
        stac.delay = 0.0
        dialog.deleteLater()


def test_unloading_the_plugin_cancels_a_running_download(iface, stac, tmp_path):
    import tsstfn_crop_mapper

    plugin = tsstfn_crop_mapper.classFactory(iface)
    plugin.initGui()
    try:
        plugin.open_fetch()
        task = _start_slow_download(plugin.fetch_dialog, stac, tmp_path / "unloaded")
    finally:
        plugin.unload()
        stac.delay = 0.0
    assert task.isCanceled() and task.on_done is None and plugin.fetch_dialog is None
    _wait_task(task)
    assert task.cancelled
