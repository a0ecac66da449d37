"""Run inside the QGIS desktop (qgis --code): the demo a user would click through, with screenshots.

As a first-time user: every raster of the demo scene is loaded (truth NDVI, labels and SCL masks
included), the toolbar button opens the dialog, Fill sorts the layers, a wrong layer is refused at
its cell, and the job runs to the end. Timings and outcomes go to ``$TSSTFN_SHOTS/first_run.json``
(read by tests/qgis/test_desktop.py). ``TSSTFN_SCREEN`` (e.g. 1920x1080) sizes the main window,
``TSSTFN_SUFFIX`` is added to the screenshot names, ``TSSTFN_EPOCHS`` caps training.
"""

import json
import os
import time
from pathlib import Path

from qgis.core import QgsContrastEnhancement, QgsProject, QgsRasterLayer, QgsSingleBandGrayRenderer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

SHOTS = Path(os.environ["TSSTFN_SHOTS"])
WORK = Path(os.environ["TSSTFN_WORK"])
SCREEN = tuple(int(v) for v in os.environ.get("TSSTFN_SCREEN", "1280x800").split("x"))
SUFFIX = os.environ.get("TSSTFN_SUFFIX", "")
EPOCHS = int(os.environ.get("TSSTFN_EPOCHS", "12"))
RUN = "demo_run"
state = {"ticks": 0}
report = {}


def shot(widget, name):
    widget.grab().save(str(SHOTS / f"{name}{SUFFIX}.png"))


def save_report():
    (SHOTS / "first_run.json").write_text(json.dumps(report, indent=1, default=str))


def log(msg):
    print(f"[desktop_demo] {msg}", flush=True)


def step_setup():
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene

    iface.mainWindow().setGeometry(0, 0, *SCREEN)
    scene = WORK / "scene"
    generate_scene(scene, size=192, seed=42)
    for p in sorted(scene.rglob("*.tif")):  # every raster, as a user drags the scene folder in
        QgsProject.instance().addMapLayer(QgsRasterLayer(str(p), p.stem), False)
    root = QgsProject.instance().layerTreeRoot()
    group = root.addGroup("Inputs")
    for layer in QgsProject.instance().mapLayers().values():
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(False)
    group.setExpanded(False)
    # what an analyst looks at while the task runs: a clear early-season Sentinel-2 scene under the samples
    backdrop = next(n for n in group.findLayers() if n.layer().name().startswith("T51TXM_20210622"))
    nir = QgsSingleBandGrayRenderer(backdrop.layer().dataProvider(), 2)  # B08 in grey
    nir.setContrastEnhancement(QgsContrastEnhancement(backdrop.layer().dataProvider().dataType(2)))
    nir.contrastEnhancement().setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
    stats = backdrop.layer().dataProvider().bandStatistics(2)
    nir.contrastEnhancement().setMinimumValue(stats.minimumValue)
    nir.contrastEnhancement().setMaximumValue(stats.maximumValue)
    backdrop.layer().setRenderer(nir)
    backdrop.setItemVisibilityChecked(True)
    samples = QgsVectorLayer(str(scene / "samples_2021.gpkg"), "samples", "ogr")
    QgsProject.instance().addMapLayer(samples)
    QgsProject.instance().layerTreeRoot().findLayer(samples).setItemVisibilityChecked(False)
    fields = QgsVectorLayer(str(scene / "fields.gpkg"), "fields", "ogr")
    QgsProject.instance().addMapLayer(fields)
    QgsProject.instance().layerTreeRoot().findLayer(fields).setItemVisibilityChecked(False)
    state["backdrop"] = backdrop.layer()
    plugin = plugins["tsstfn_crop_mapper"]
    start = time.perf_counter()
    plugin.action.trigger()  # as a user clicks the toolbar button
    report["open_s"] = time.perf_counter() - start
    d = plugin.dialog
    report["dialog_size"] = [d.width(), d.height()]
    start = time.perf_counter()
    d.fill_from_project()
    report["fill_s"] = time.perf_counter() - start
    report["skipped"] = d.inputs.skipped
    report["targets"] = d.inputs.targets_table.rows()
    d.outputs.samples.setLayer(samples)  # the class field follows by itself
    report["class_field_default"] = d.outputs.class_field.currentField()
    d.outputs.group_field.setField("field_id")
    d.outputs.fields_layer.setLayer(fields)
    d.outputs.field_id.setField("field_id")
    d.outputs.confidence.setChecked(True)
    d.outputs.output_dir.setFilePath(str(WORK / RUN))
    d.model.width_spin.setValue(8)
    d.model.patch_spin.setValue(64)
    d.model.epochs_spin.setValue(EPOCHS)
    d.update_estimate()
    report["validate_messages"] = [d.validate() for _ in range(3)]  # the first reads headers, the others are cached
    report["validate_s"] = d.timings["validate"]
    # a wrong layer: a MODIS raster in the Sentinel-2 column
    cell = d.inputs.prediction_table.cellWidget(1, 3)
    state["fine"] = cell.currentLayer()
    cell.setLayer(d.inputs.prediction_table.cellWidget(2, 1).currentLayer())
    report["refused"] = d.validate()
    report["refused_highlighted"] = cell in d.highlighted()
    d.message.setText(report["refused"])
    QTimer.singleShot(1500, step_refused_shot)


def step_refused_shot():
    d = plugins["tsstfn_crop_mapper"].dialog
    shot(d, "dialog_refused")
    d.inputs.prediction_table.cellWidget(1, 3).setLayer(state["fine"])
    d.message.setText("")
    report["after_fix"] = d.validate()
    d.update_estimate()
    QTimer.singleShot(800, step_dialog_shot)


def step_dialog_shot():
    d = plugins["tsstfn_crop_mapper"].dialog
    shot(d, "dialog_inputs")
    d.tabs.setCurrentIndex(1)
    QTimer.singleShot(500, lambda: (shot(d, "dialog_model"), step_run()))


def step_run():
    d = plugins["tsstfn_crop_mapper"].dialog
    d.tabs.setCurrentIndex(0)
    d.run()  # validates, emits the job; the plugin starts the QgsTask
    log(f"validation message: '{d.message.text()}'")
    report["run_message"] = d.message.text()
    state["run_start"] = time.perf_counter()
    report["run_state_shown"] = d.run_state.isVisible() and d.run_state.running and not d.run_button.isEnabled()
    iface.mapCanvas().setExtent(state["backdrop"].extent())
    iface.mapCanvas().refresh()
    QTimer.singleShot(1000, step_wait)


def step_wait():
    state["ticks"] += 1
    group = QgsProject.instance().layerTreeRoot().findGroup(RUN)
    if group is None and state["ticks"] < 900:
        d = plugins["tsstfn_crop_mapper"].dialog
        if state["ticks"] == 6 and d.isVisible():  # the run's progress and step in the dialog, then the map
            shot(d, "dialog_running")
            report["run_state_step"] = d.run_state.step.text()
            d.hide()
        if state["ticks"] == 20:
            shot(iface.mainWindow(), "qgis_task_running")
        QTimer.singleShot(1000, step_wait)
        return
    layers = {n.layer().name(): n.layer() for n in group.findLayers()} if group else {}
    log(f"result layers: {sorted(layers)}")
    report["run_s"] = time.perf_counter() - state["run_start"]
    report["group"] = group.name() if group else None
    report["layers"] = sorted(layers)
    report["visible"] = sorted(n.layer().name() for n in group.findLayers() if n.isVisible()) if group else []
    report["messages"] = [w.text() for w in iface.messageBar().items()]
    save_report()
    crop = layers.get("Crop map per field (with fused NDVI)") or layers.get("Crop map (with fused NDVI)")
    state["crop_extent"] = crop.extent() if crop is not None else iface.mapCanvas().extent()
    if crop is not None:
        iface.setActiveLayer(crop)
        iface.mapCanvas().setExtent(crop.extent())
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_map_shots)


def step_map_shots():
    panel = plugins["tsstfn_crop_mapper"].report_panel
    if panel is not None:
        panel.hide()  # the crop map alone first, on a canvas that takes the panel's room
    QTimer.singleShot(800, lambda: (iface.mapCanvas().setExtent(state["crop_extent"]), iface.mapCanvas().refresh()))
    QTimer.singleShot(2500, step_map_grab)


def step_map_grab():
    panel = plugins["tsstfn_crop_mapper"].report_panel
    shot(iface.mainWindow(), "qgis_crop_map")
    if panel is not None:
        panel.show()
        QTimer.singleShot(800, lambda: panel.scroll_to("Per-field map: kappa"))  # the notes, then the area table
    QTimer.singleShot(2000, step_report_shot)


def step_report_shot():
    shot(iface.mainWindow(), "qgis_report_panel")
    group = QgsProject.instance().layerTreeRoot().findGroup(RUN)
    if group:
        for node in group.findLayers():
            name = node.layer().name()
            node.setItemVisibilityChecked(name == "TSSTFN NDVI 2021-07-30")
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_uncertainty_shot)


def step_uncertainty_shot():
    shot(iface.mainWindow(), "qgis_fused_ndvi")
    group = QgsProject.instance().layerTreeRoot().findGroup(RUN)
    if group:
        for node in group.findLayers():
            name = node.layer().name()
            node.setItemVisibilityChecked(name == "TSSTFN NDVI uncertainty (std) 2021-07-30")
            if name.startswith("TSSTFN NDVI uncertainty (std) 2021-07-30"):
                iface.setActiveLayer(node.layer())
                iface.layerTreeView().setCurrentLayer(node.layer())
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_finish)


def step_finish():
    shot(iface.mainWindow(), "qgis_uncertainty")
    log("screenshots saved")
    report["messages"] = [w.text() for w in iface.messageBar().items()]  # including those pushed after the result
    report["done"] = True
    save_report()
    # outputs under /tmp count as temporary layers, which makes QGIS ask before quitting
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().setDirty(False)
    iface.actionExit().trigger()


QTimer.singleShot(3000, step_setup)
