"""Run inside the QGIS desktop (qgis --code): the demo a user would click through, with screenshots."""

import os
from pathlib import Path

from qgis.core import QgsContrastEnhancement, QgsProject, QgsRasterLayer, QgsSingleBandGrayRenderer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

SHOTS = Path(os.environ["TSSTFN_SHOTS"])
WORK = Path(os.environ["TSSTFN_WORK"])
state = {"ticks": 0}


def log(msg):
    print(f"[desktop_demo] {msg}", flush=True)


def step_setup():
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene

    scene = WORK / "scene"
    generate_scene(scene, size=192, seed=42)
    for p in sorted(scene.glob("*_20*/*.tif")):
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
    plugin.action.trigger()  # as a user clicks the toolbar button
    d = plugin.dialog
    d.fill_from_project()
    d.samples.setLayer(samples)
    d.class_field.setField("crop")
    d.group_field.setField("field_id")
    d.fields_layer.setLayer(fields)
    d.field_id.setField("field_id")
    d.confidence.setChecked(True)
    d.output_dir.setFilePath(str(WORK / "run"))
    d.width_spin.setValue(8)
    d.patch_spin.setValue(64)
    d.epochs_spin.setValue(12)
    d.update_estimate()
    d.resize(1000, 720)
    QTimer.singleShot(1500, step_dialog_shot)


def step_dialog_shot():
    d = plugins["tsstfn_crop_mapper"].dialog
    d.grab().save(str(SHOTS / "dialog_inputs.png"))
    d.tabs.setCurrentIndex(1)
    QTimer.singleShot(500, lambda: (d.grab().save(str(SHOTS / "dialog_model.png")), step_run()))


def step_run():
    d = plugins["tsstfn_crop_mapper"].dialog
    d.tabs.setCurrentIndex(0)
    d.run()  # validates, emits the job; the plugin starts the QgsTask
    log(f"validation message: '{d.message.text()}'")
    d.hide()
    iface.mapCanvas().setExtent(state["backdrop"].extent())
    iface.mapCanvas().refresh()
    QTimer.singleShot(1000, step_wait)


def step_wait():
    state["ticks"] += 1
    group = QgsProject.instance().layerTreeRoot().findGroup("tsstfn_run")
    if group is None and state["ticks"] < 900:
        if state["ticks"] == 20:
            iface.mainWindow().grab().save(str(SHOTS / "qgis_task_running.png"))
        QTimer.singleShot(1000, step_wait)
        return
    layers = {n.layer().name(): n.layer() for n in group.findLayers()} if group else {}
    log(f"result layers: {sorted(layers)}")
    crop = layers.get("Crop map per field (with fused NDVI)") or layers.get("Crop map (with fused NDVI)")
    if crop is not None:
        iface.setActiveLayer(crop)
        iface.mapCanvas().setExtent(crop.extent())
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_map_shots)


def step_map_shots():
    panel = plugins["tsstfn_crop_mapper"].report_panel
    if panel is not None:
        panel.hide()  # the crop map alone first
    iface.mainWindow().grab().save(str(SHOTS / "qgis_crop_map.png"))
    if panel is not None:
        panel.show()
        QTimer.singleShot(800, lambda: panel.scroll_to("Per-field map: kappa"))  # the notes, then the area table
    QTimer.singleShot(2000, step_report_shot)


def step_report_shot():
    iface.mainWindow().grab().save(str(SHOTS / "qgis_report_panel.png"))
    group = QgsProject.instance().layerTreeRoot().findGroup("tsstfn_run")
    if group:
        for node in group.findLayers():
            name = node.layer().name()
            node.setItemVisibilityChecked(name == "TSSTFN NDVI 2021-07-30")
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_uncertainty_shot)


def step_uncertainty_shot():
    iface.mainWindow().grab().save(str(SHOTS / "qgis_fused_ndvi.png"))
    group = QgsProject.instance().layerTreeRoot().findGroup("tsstfn_run")
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
    iface.mainWindow().grab().save(str(SHOTS / "qgis_uncertainty.png"))
    log("screenshots saved")
    # outputs under /tmp count as temporary layers, which makes QGIS ask before quitting
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().setDirty(False)
    iface.actionExit().trigger()


QTimer.singleShot(3000, step_setup)
