"""The dialog, the task and the result layers, driven in a real QgsApplication (offscreen)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from osgeo import gdal
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer

from iface import RasterIface
from tsstfn_crop_mapper.core.fusion.config import TrainConfig

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1)


@pytest.fixture()
def project_with_scene(qgis_app, scene):
    project = QgsProject.instance()
    project.clear()
    root = Path(scene["root"])
    for p in sorted(root.glob("*_20*/*.tif")):
        project.addMapLayer(QgsRasterLayer(str(p), p.stem))
    samples = QgsVectorLayer(str(root / scene["samples"]), "samples", "ogr")
    project.addMapLayer(samples)
    yield project, samples
    project.clear()


@pytest.fixture()
def dialog(qgis_app, project_with_scene, tmp_path):
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    d = CropMapperDialog()
    d.fill_from_project()
    d.outputs.samples.setLayer(project_with_scene[1])
    d.outputs.class_field.setField("crop")
    d.outputs.output_dir.setFilePath(str(tmp_path / "out"))
    d.model.n_base.setValue(5)
    d.model.width_spin.setValue(4)
    d.model.patch_spin.setValue(32)
    d.model.epochs_spin.setValue(2)
    return d


def test_fill_from_layers(dialog, scene):
    assert dialog.inputs.reference_table.rowCount() == len(scene["reference"])
    assert dialog.inputs.prediction_table.rowCount() == len(scene["prediction"])
    assert [r["date"] for r in dialog.inputs.targets_table.rows()] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    assert dialog.validate() is None
    assert dialog.build_job() is dialog.build_job()  # unchanged inputs: the verdict is remembered (even as the
    # output folder's own lock and write test change its modification time)
    assert "memory" in dialog.estimate.label.text() and "96 x 96" in dialog.estimate.label.text()
    assert "a guess: press 'Measure speed'" in dialog.estimate.label.text()
    import time

    dialog.measure_speed()
    start = time.time()
    while not dialog.estimate.measure_button.isEnabled():
        QgsApplication.processEvents()
        time.sleep(0.05)
        assert time.time() - start < 60
    assert "(measured on this device)" in dialog.estimate.label.text(), dialog.estimate.label.text()
    dialog.model.epochs_spin.setValue(200)  # epochs widen the range; the measured speed still applies
    assert "(measured on this device)" in dialog.estimate.label.text() and " to " in dialog.estimate.label.text()
    dialog.model.epochs_spin.setValue(2)


def test_each_invalid_input_has_its_message(dialog, tmp_path):
    from conftest import make_points, make_raster

    dialog.inputs.reference_table.item(2, 0).setText("")
    assert dialog.validate() is None  # the rasters' names hold it (an undated raster: tests/pipeline/test_rows.py)
    dialog.inputs.reference_table.item(2, 0).setText("2020-04-18")  # the date of row 1, not its rasters' (6 May)
    assert dialog.validate().startswith("Reference row 3: the date 2020-04-18 contradicts the MODIS (coarse) raster")
    dialog.inputs.reference_table.item(2, 0).setText("2020-05-06")
    dialog.inputs.targets_table.cellWidget(0, 1).setLayer(None)
    assert dialog.validate() == "Targets row 1: choose the MODIS layer."
    dialog.fill_from_project()
    nocrs = make_raster(tmp_path / "nocrs.tif", [[[100]], [[3000]]], epsg=None, dtype=gdal.GDT_Int16)
    layer = QgsRasterLayer(nocrs, "no crs layer")
    QgsProject.instance().addMapLayer(layer)
    dialog.inputs.prediction_table.cellWidget(1, 1).setLayer(layer)
    assert "Prediction row 2: Layer 'no crs layer' has no coordinate reference system" in dialog.validate()
    far = make_raster(tmp_path / "far.tif", [[[100]], [[3000]]], gt=(100000.0, 250, 0, 3000000.0, 0, -250), dtype=gdal.GDT_Int16)
    layer = QgsRasterLayer(far, "far layer")
    QgsProject.instance().addMapLayer(layer)
    dialog.inputs.prediction_table.cellWidget(1, 1).setLayer(layer)
    assert "Prediction row 2: Layer 'far layer' does not overlap the study area" in dialog.validate()
    dialog.fill_from_project()  # the two undated test layers get rows of their own, their date cells highlighted
    rows = dialog.inputs.prediction_table.rows()
    undated = [r for r in rows if not r.get("date")]
    assert len(undated) == 2 and dialog.inputs.prediction_table.item(len(rows) - 1, 0) in dialog.highlighted()
    assert "no date found for: " in dialog.message.text() and "highlighted cells" in dialog.message.text()
    _drop_undated(dialog.inputs.prediction_table)  # as the analyst removes rows that are no input
    dialog.model.n_base.setValue(12)
    assert "'prediction': 10 pairs for n_base = 12" in dialog.validate()
    dialog.model.n_base.setValue(5)
    dialog.outputs.samples.setLayer(None)
    assert dialog.validate().startswith("Choose a samples layer:")
    assert dialog.outputs.samples in dialog.highlighted() and dialog.tabs.currentIndex() == 2
    far_path = make_points(tmp_path / "far_samples.gpkg", [(-70.0, -40.0, "corn")] * 3, epsg=4326)
    far_points = QgsVectorLayer(far_path, "far samples", "ogr")
    QgsProject.instance().addMapLayer(far_points)
    dialog.outputs.samples.setLayer(far_points)
    dialog.outputs.class_field.setField("crop")
    message = dialog.validate()
    assert message.startswith("Samples layer (tab 'Samples and outputs'): None of the samples in 'far_samples.gpkg'")
    assert "inside the study area" in message


def _drop_undated(table) -> None:
    """Remove the rows without a date, as the analyst does with −."""
    table.remove_rows([r for r in range(table.rowCount()) if not table.item(r, 0).text()])


def _all_scene_layers(project, scene):
    """Every raster of the demo scene, as a user drags the folder in: truth NDVI, labels and SCL included."""
    root = Path(scene["root"])
    for p in sorted(root.rglob("*.tif")):
        if not project.mapLayersByName(p.stem):
            project.addMapLayer(QgsRasterLayer(str(p), p.stem))


def test_fill_with_every_scene_raster_puts_each_layer_where_its_product_fits(dialog, project_with_scene, scene):
    _all_scene_layers(project_with_scene[0], scene)
    dialog.fill_from_project()
    targets = dialog.inputs.targets_table.rows()
    assert [r["date"] for r in targets] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    assert all("B04B08" in r["fine"] for r in targets if "fine" in r)  # not the single-band truth NDVI
    skipped = "\n".join(dialog.inputs.skipped)
    assert "ndvi_20210730: 1 band(s), but 's2_l2a' needs red (band 1) and NIR (band 2)" in skipped
    assert "labels_2020: a class raster" in skipped
    assert "left out" in dialog.message.text()
    assert dialog.validate() is None
    project = QgsProject.instance()
    excepted = {project.mapLayer(i).name() for i in dialog.outputs.excepted_ids}
    assert "T51TXM_20210730T025549_SCL_20m" in excepted  # a cloud mask is never offered as samples
    assert "T51TXM_20210730T025549_B04B08_10m" in excepted and "MOD09GQ.A2021211.h26v04.061" in excepted
    assert not {"labels_2020", "labels_2021", "samples"} & excepted


def _cell_highlighted(dialog, table, row, column) -> bool:
    widget = table.cellWidget(row, column)
    thing = widget if widget is not None else table.item(row, column)
    return thing in dialog.highlighted() and (table.currentRow(), table.currentColumn()) == (row, column)


def test_wrong_layers_are_refused_at_the_cell(dialog, project_with_scene, scene, tmp_path):
    import os
    import subprocess
    import sys

    from tsstfn_crop_mapper.core.pipeline.outputs import OutputFolder

    project = project_with_scene[0]
    _all_scene_layers(project, scene)
    dialog.fill_from_project()
    modis = dialog.inputs.prediction_table.cellWidget(0, 1).currentLayer()
    fine_cell = dialog.inputs.prediction_table.cellWidget(1, 3)
    fine_cell.setLayer(modis)  # a MODIS layer in the Sentinel-2 column (and in two rows)
    message = dialog.validate()
    assert message.startswith("Prediction row 2 (Sentinel-2):") and "is already in Prediction row 1 (MODIS)" in message
    assert _cell_highlighted(dialog, dialog.inputs.prediction_table, 1, 3) and dialog.tabs.currentIndex() == 0
    from conftest import make_raster

    extra = make_raster(tmp_path / "MOD09GQ_extra.tif", [[[100]], [[3000]]], dtype=gdal.GDT_Int16)
    other_modis = QgsRasterLayer(extra, "MOD09GQ.extra")  # undated: Fill leaves it out, no layer is removed
    project.addMapLayer(other_modis)
    fine_cell.setLayer(other_modis)
    message = dialog.validate()
    assert "Prediction row 2: '" in message and "cannot go in the Sentinel-2 column (s2_l2a): named like a MODIS" in message
    assert _cell_highlighted(dialog, dialog.inputs.prediction_table, 1, 3)
    dialog.fill_from_project()  # the old marks go; the undated MOD09GQ.extra gets a row, its date cell marked
    table = dialog.inputs.prediction_table
    assert dialog.highlighted() == [table.item(table.rowCount() - 1, 0)]
    _drop_undated(table)
    labels = project.mapLayersByName("labels_2020")[0]
    dialog.inputs.targets_table.cellWidget(2, 1).setLayer(labels)  # a class raster as MODIS
    message = dialog.validate()
    assert "Targets row 3: 'labels_2020' cannot go in the MODIS column (mod09gq): a class raster" in message
    assert _cell_highlighted(dialog, dialog.inputs.targets_table, 2, 1)
    dialog.fill_from_project()
    _drop_undated(dialog.inputs.prediction_table)
    dialog.inputs.cutoff.setDate(dialog.inputs.cutoff.date().addMonths(1))  # 1 August: the 30 July target is before it
    message = dialog.validate()
    assert message.startswith("Targets row 1: 2021-07-30 is before the critical season, which starts on 1 August")
    assert _cell_highlighted(dialog, dialog.inputs.targets_table, 0, 0)
    dialog.inputs.cutoff.setDate(dialog.inputs.cutoff.date().addMonths(-1))
    assert dialog.validate() is None and dialog.highlighted() == []
    for field, words in (("field_id", "named like an id"), ("fid", "is the key of")):
        dialog.outputs.class_field.setField(field)
        message = dialog.validate()
        assert message.startswith(f"Class field '{field}'") and words in message
        assert dialog.outputs.class_field in dialog.highlighted() and dialog.tabs.currentIndex() == 2
    dialog.outputs.class_field.setField("crop")
    dialog.outputs.group_field.setField("crop")
    assert "is also the field id" in dialog.validate()
    dialog.outputs.group_field.setField("field_id")
    assert dialog.validate() is None
    # a live run (another process on this host) writing into the output folder
    out = Path(dialog.outputs.output_dir.filePath())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = OutputFolder(out, {}, "other", [])
        out.mkdir(parents=True, exist_ok=True)
        folder._write("running")
        manifest = folder.manifest_path
        import json

        data = json.loads(manifest.read_text())
        data["pid"] = sleeper.pid
        manifest.write_text(json.dumps(data))
        message = dialog.validate()
        assert f"Another run (process {sleeper.pid}" in message and dialog.outputs.output_dir in dialog.highlighted()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert dialog.validate() is None, os.listdir(out)  # (fine_cell went with its row at the first fill: not touched)


def test_every_option_has_a_tooltip(dialog):
    from qgis.gui import QgsFileWidget
    from qgis.PyQt.QtWidgets import QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox

    def inside(widget, kind) -> bool:
        parent = widget.parentWidget()
        while parent is not None:
            if isinstance(parent, kind):
                return True
            parent = parent.parentWidget()
        return False

    options = [
        w
        for w in dialog.findChildren((QComboBox, QAbstractSpinBox, QAbstractButton, QgsFileWidget))
        if not inside(w, (QAbstractItemView, QgsFileWidget, QComboBox))
        and w.__class__.__name__ != "QToolButton"
        and not (isinstance(w, QAbstractButton) and w.text() == "Close")
    ]
    missing = [(type(w).__name__, w.text() if isinstance(w, QAbstractButton) else "") for w in options if not w.toolTip()]
    assert len(options) > 30 and missing == [], missing


def test_class_field_default_and_restore(qgis_app, project_with_scene, tmp_path):
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    project, samples = project_with_scene
    d = CropMapperDialog()
    d.outputs.samples.setLayer(None)
    d.outputs.samples.setLayer(samples)
    assert d.outputs.class_field.currentField() == "crop"  # not the GeoPackage's fid
    d.outputs.group_field.setField("field_id")
    d.outputs.output_dir.setFilePath(str(tmp_path / "my run"))
    assert d.job_dict()["name"] == "my_run"
    d.save_settings()
    again = CropMapperDialog()  # as after a restart
    assert again.outputs.samples.currentLayer() is samples
    assert (again.outputs.class_field.currentField(), again.outputs.group_field.currentField()) == ("crop", "field_id")
    import shutil

    copy = tmp_path / "other_samples.gpkg"  # a job file's samples that are not in the project: loaded, fields restored
    shutil.copy(samples.source().split("|")[0], copy)
    again.set_job_dict({**again.job_dict(), "samples": str(copy), "class_field": "crop", "group_field": "field_id"})
    assert again.outputs.samples.currentLayer().name() == "other_samples"
    assert (again.outputs.class_field.currentField(), again.outputs.group_field.currentField()) == ("crop", "field_id")
    project.removeMapLayer(again.outputs.samples.currentLayer())  # the box empties; it never picks another layer
    assert again.outputs.samples.currentLayer() is None and d.outputs.samples.currentLayer() is samples


def test_job_file_round_trip_and_settings(dialog, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.job import load_job
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    assert dialog.model.samples_spin.value() == 0 and dialog.model.samples_spin.text() == "all"
    dialog.save_job_file(str(tmp_path / "job.json"))
    job = load_job(tmp_path / "job.json")
    assert job.n_base == 5 and len(job.targets) == 3 and job.train.width == 4
    assert job.train.samples_per_epoch is None  # 'all'
    dialog.model.samples_spin.setValue(3000)
    dialog.save_job_file(str(tmp_path / "sampled.json"))
    assert load_job(tmp_path / "sampled.json").train.samples_per_epoch == 3000
    dialog.save_settings()
    again = CropMapperDialog()
    assert again.model.n_base.value() == 5 and again.inputs.reference_table.rowCount() == dialog.inputs.reference_table.rowCount()
    again.load_job_file(str(tmp_path / "job.json"))
    assert again.inputs.targets_table.rowCount() == 3
    again.load_job_file(str(tmp_path / "sampled.json"))
    assert again.model.samples_spin.value() == 3000
    dialog.model.samples_spin.setValue(0)


def _watch(task) -> dict:
    """Record how the task ends (the task manager deletes the task object once it has ended)."""
    state = {}
    task.taskCompleted.connect(lambda: state.setdefault("status", "complete"))
    task.taskTerminated.connect(lambda: state.setdefault("status", "terminated"))
    task.progressChanged.connect(lambda p: state.__setitem__("progress", p))
    return state


def _wait(state, timeout=300):
    import time

    start = time.time()
    while "status" not in state:
        QgsApplication.processEvents()
        time.sleep(0.05)
        assert time.time() - start < timeout
    for _ in range(20):
        QgsApplication.processEvents()


@pytest.fixture()
def plugin(qgis_app, qgis_canvas):
    from qgis.PyQt.QtWidgets import QMainWindow

    import tsstfn_crop_mapper

    iface = RasterIface(qgis_canvas, None, QMainWindow())
    p = tsstfn_crop_mapper.classFactory(iface)
    p.initGui()
    yield p
    p.unload()


def test_task_runs_to_completion_and_loads_styled_layers(dialog, plugin, scene):
    fields = QgsVectorLayer(str(Path(scene["root"]) / scene["fields"]), "fields", "ogr")
    QgsProject.instance().addMapLayer(fields)
    dialog.outputs.fields_layer.setLayer(fields)
    dialog.outputs.field_id.setField("field_id")
    dialog.outputs.confidence.setChecked(True)
    dialog.model.uncertainty.setCurrentIndex(dialog.model.uncertainty.findData("on"))
    job = replace(dialog.build_job(), train=TINY, name="test_run")
    assert job.fields and job.field_id == "field_id" and job.confidence and job.uncertainty.value == "on"
    plugin.dialog = dialog  # the run's state shows in the dialog that started it
    task = plugin.start_job(job)
    assert dialog.run_state.running and not dialog.run_button.isEnabled() and dialog.run_state.isVisibleTo(dialog)
    dialog.run()
    assert "A run is writing into the output folder" in dialog.message.text()
    state = _watch(task)
    seen = []  # the dialog's progress and step as the analyst sees them during the run
    task.progressChanged.connect(lambda _: seen.append((dialog.run_state.progress.value(), dialog.run_state.step.text())))
    _wait(state)
    assert any(value > 0 and "%" in step for value, step in seen), seen[-5:]
    assert not dialog.run_state.running and dialog.run_button.isEnabled()
    assert "test_run done" in dialog.run_state.outcome.text() and "kappa" in dialog.run_state.outcome.text()
    assert state["status"] == "complete", [w.text() for w in plugin.iface.messageBar().items()]
    group = QgsProject.instance().layerTreeRoot().findGroup("test_run")
    names = [n.layer().name() for n in group.findLayers()]
    assert "Crop map (with fused NDVI)" in names and "TSSTFN NDVI 2021-07-30" in names and "Crop polygons" in names
    crop = next(n.layer() for n in group.findLayers() if n.layer().name().startswith("Crop map (with fused"))
    labels = [c.label for c in crop.renderer().classes()]
    assert labels == ["corn", "other", "soybean"]  # the samples' names, in their sorted order (no name invented)
    assert [label for label, _ in crop.renderer().legendSymbologyItems()] == ["corn", "other", "soybean"]
    ndvi = next(n.layer() for n in group.findLayers() if n.layer().name() == "TSSTFN NDVI 2021-07-30")
    assert ndvi.renderer().type() == "singlebandpseudocolor"
    assert (ndvi.renderer().classificationMin(), ndvi.renderer().classificationMax()) == (0.0, 1.0)
    visible = {n.layer().name() for n in group.findLayers() if n.isVisible()}
    assert visible == {"Crop map per field (with fused NDVI)", "TSSTFN NDVI 2021-07-30"}  # the rest one click away
    polygons = next(n.layer() for n in group.findLayers() if n.layer().name() == "Crop polygons")
    assert polygons.renderer().type() == "categorizedSymbol"
    std = next(n.layer() for n in group.findLayers() if n.layer().name() == "TSSTFN NDVI uncertainty (std) 2021-07-30")
    assert (std.renderer().classificationMin(), std.renderer().classificationMax()) == (0.0, 0.1) and std.isValid()
    assert {"Confidence of the forest (probability of the class)", "Fields and their crop"} <= set(names)
    import time

    for _ in range(20):  # the message follows QGIS's own notice by 300 ms
        QgsApplication.processEvents()
        time.sleep(0.05)
    bar_texts = [w.text() for w in plugin.iface.messageBar().items()]
    assert any("test_run done" in t and "kappa" in t and "run report is in the panel" in t for t in bar_texts)
    panel = plugin.report_panel
    text = panel.browser.toPlainText()
    assert "Area of each class: crop map with fused NDVI" in text and "error-adjusted area (ha)" in text
    assert "kappa, split by spatial blocks" in text
    assert panel.scroll_to("Area of each class") and not panel.scroll_to("no such heading in the report")


def test_cancelled_task_leaves_nothing_half_written(dialog, plugin, tmp_path):
    job = replace(dialog.build_job(), train=replace(TINY, max_epochs=50, patience=50), name="cancel_run")
    plugin.dialog = dialog
    task = plugin.start_job(job)
    state = _watch(task)
    import time

    start = time.time()
    while state.get("progress", 0) < 10 and time.time() - start < 120:  # into training
        QgsApplication.processEvents()
        time.sleep(0.05)
    dialog.run_state.cancel_button.click()  # as the analyst cancels from the dialog
    _wait(state)
    assert state["status"] == "terminated"
    assert "Cancelled" in dialog.run_state.outcome.text() and dialog.run_button.isEnabled()
    assert QgsProject.instance().layerTreeRoot().findGroup("cancel_run") is None
    assert not [p for p in Path(job.output_dir).rglob("*") if ".part" in p.name]
    assert not list(Path(job.output_dir).glob("fused_ndvi_*.tif"))
    for _ in range(20):  # the plugin's message follows QGIS's own notice by 300 ms
        QgsApplication.processEvents()
        time.sleep(0.05)
    texts = [w.text() for w in plugin.iface.messageBar().items()]
    assert any("Cancelled" in t and "Run the job again to resume" in t for t in texts), texts
    assert (Path(job.output_dir) / "aligned").exists()  # kept for a resume


def test_dialog_accepts_landsat_modis_stacks_and_rasters_without_crs(qgis_app, realistic_job, tmp_path):
    """The layers of the real-formats job (Landsat C2 band files, dated MODIS NDVI stacks, a label raster, no CRS)."""
    import json

    from tsstfn_crop_mapper.core.pipeline.job import load_job
    from tsstfn_crop_mapper.core.pipeline.pairs import dated
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    root = realistic_job.parent
    project = QgsProject.instance()
    project.clear()
    for path in sorted(root.glob("LC08_*/*_SR_B4.TIF")) + sorted(root.glob("MOD13Q1_*_stack.tif")):
        project.addMapLayer(QgsRasterLayer(str(path), path.stem))
    labels = QgsRasterLayer(str(root / "labels_2021_pixels.tif"), "labels 2021")
    project.addMapLayer(labels)
    d = CropMapperDialog()
    d.inputs.fine_product.setCurrentIndex(d.inputs.fine_product.findData("landsat_c2l2"))
    d.inputs.coarse_product.setCurrentIndex(d.inputs.coarse_product.findData("mod13q1"))
    d.inputs.assume_aligned.setChecked(True)
    d.inputs.pixel_size.setValue(10)
    d.fill_from_project()
    file_job = json.loads(realistic_job.read_text())
    assert d.inputs.reference_table.rowCount() == len(file_job["reference"]) and d.inputs.prediction_table.rowCount() == len(
        file_job["prediction"]
    )
    assert [r["date"] for r in d.inputs.targets_table.rows()] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    assert d.inputs.prediction_table.rows()[2]["coarse"]["band"] == 3  # the third date of the 2021 stack
    d.outputs.samples.setLayer(labels)
    d.outputs.output_dir.setFilePath(str(tmp_path / "out"))
    d.model.n_base.setValue(5)
    d.model.patch_spin.setValue(32)  # (the settings an earlier test left may say 192: the scene is 96 px)
    assert d.validate() is None
    job = d.build_job()
    want = load_job(realistic_job)
    assert job.assume_aligned and job.pixel_size_m == 10 and job.fine_product == "landsat_c2l2"
    got = [(p.date, p.coarse.band) for p in dated(job.prediction)]
    assert got == [(p.date, p.coarse.band) for p in dated(want.prediction)]
    d.inputs.assume_aligned.setChecked(False)
    assert "has no coordinate reference system" in d.validate()
    project.clear()


def test_every_bound_field_is_a_field_of_the_job_spec_and_round_trips(dialog):
    from tsstfn_crop_mapper.ui.binding import spec_default

    keys = [b.key for panel in dialog.panels for b in panel.BINDS]
    assert len(keys) == len(set(keys)), "a job field bound twice"
    for key in keys:
        spec_default(key)  # raises KeyError for a field the job spec does not have
    with pytest.raises(KeyError):
        spec_default("train.no_such_option")
    data = dialog.job_dict()
    dialog.set_job_dict(data)
    assert dialog.job_dict() == data
    dialog.set_job_dict({k: v for k, v in data.items() if k not in ("mc_passes", "split")})  # left out: the spec's
    assert (dialog.model.mc_passes.value(), dialog.outputs.split.currentData()) == (8, "random")
    dialog.set_job_dict({**data, "preset": "laptop", "train": {}})  # left out: the preset's, then the spec's
    assert (dialog.model.width_spin.value(), dialog.model.patch_spin.value()) == (8, 64)
    dialog.set_job_dict(data)


def test_a_loaded_jobs_fields_without_a_widget_survive_to_the_run(dialog, tmp_path):
    """Load job then Run: fields the dialog shows no widget for (train.augment, ...) stay in the job it builds."""
    from tsstfn_crop_mapper.core.pipeline.job import load_job, save_job

    hidden = {"augment": True, "both_directions": True, "tta": True, "learning_rate": 0.003, "seed": 7}
    data = dialog.job_dict()
    dialog.set_job_dict({**data, "train": {**data.get("train", {}), **hidden}, "test_fraction": 0.25, "keep_intermediates": True})
    dialog.model.width_spin.setValue(12)  # a field the dialog shows: the widget's value wins
    got = dialog.job_dict()
    assert {k: got["train"][k] for k in hidden} == hidden and got["train"]["width"] == 12, got["train"]
    assert (got["test_fraction"], got["keep_intermediates"]) == (0.25, True)
    job = dialog.build_job()
    assert (job.train.augment, job.train.tta, job.train.seed, job.train.width, job.test_fraction) == (True, True, 7, 12, 0.25)
    save_job(job, tmp_path / "again.json")
    assert load_job(tmp_path / "again.json").train.both_directions
    dialog.outputs.map_crops.setChecked(False)  # a bound field emptied: the loaded value does not come back
    assert "samples" not in dialog.job_dict()
    dialog.set_job_dict(data)  # another job: the hidden fields of the first one go
    assert "augment" not in dialog.job_dict().get("train", {})


def test_load_job_keeps_what_the_file_states_and_a_preset_chosen_afterwards_sets_the_rest(dialog, tmp_path):
    """Load job expands the file (preset, defaults): only the file's own fields ride along unseen."""
    import json

    data = dialog.job_dict()
    own = {**data, "preset": "robust", "train": {"tta": True, "seed": 3}, "test_fraction": 0.25}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(own))
    dialog.load_job_file(str(path))
    assert "Kept from mine.json" in dialog.message.text() and "train.tta" in dialog.message.text()
    assert dialog.unshown == {"train": {"tta": True, "seed": 3}, "test_fraction": 0.25}  # not the preset's output etc.
    assert dialog.build_job().train.output.value == "change_residual"  # robust's, through the preset
    dialog.model.preset.setCurrentIndex(dialog.model.preset.findData("paper"))  # the user picks another preset
    dialog.model.patch_spin.setValue(64)  # (the paper's 192 px is larger than this scene)
    job = dialog.build_job()
    assert (job.train.output.value, job.train.cl_paths, job.train.tta, job.train.seed) == ("direct", 9, True, 3)
    dialog.save_settings()  # the next session starts from what the widgets show, not from unseen fields
    from qgis.core import QgsSettings

    from tsstfn_crop_mapper.ui.dialog import SETTINGS_KEY

    assert "tta" not in json.loads(QgsSettings().value(SETTINGS_KEY)).get("train", {})


def test_a_registered_method_appears_in_the_dialog_with_its_parameters(qgis_app, project_with_scene):
    """The dialog half of the recipe 'a new fusion method is one module plus one entry'."""
    from dataclasses import dataclass

    from tsstfn_crop_mapper.core.fusion.base import FusionMethod, FusionOutput, NumberParam
    from tsstfn_crop_mapper.core.fusion.methods import METHODS, register
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    @dataclass(frozen=True)
    class ToyParams:
        radius_m: float = 40.0

    register(
        FusionMethod(
            "toy", "Toy fusion", "A toy for the test.", ToyParams, lambda request: FusionOutput({}), "toy_ndvi",
            dialog_params=(NumberParam("radius_m", "Toy radius", 1, 500, " m", "How far the toy looks"),),
        )
    )  # fmt: skip
    try:
        d = CropMapperDialog()
        check, spin = d.outputs.compare_checks["toy"], d.outputs.param_spins["toy"]["radius_m"]
        assert check.text() == "Toy fusion" and spin.value() == 40.0 and spin.toolTip() == "How far the toy looks"
        check.setChecked(True)  # (the settings of the last run, restored on opening, did not compare it)
        spin.setValue(75)
        data = d.job_dict()
        assert "toy" in data["compare"] and data["method_params"]["toy"] == {"radius_m": 75.0}
        d.set_job_dict({**data, "compare": ["starfm"], "method_params": {"toy": {"radius_m": 12}}})
        assert not check.isChecked() and spin.value() == 12
        d.deleteLater()
    finally:
        METHODS.pop("toy")


def test_column_settings_apply_to_every_raster_and_validation_reads_a_sample(qgis_app, realistic_job, tmp_path):
    """A job whose MODIS stacks are NDVI x 10000: the shared scale shows once, and without it the cell is refused."""
    import json

    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    QgsProject.instance().clear()
    d = CropMapperDialog()
    d.load_job_file(str(realistic_job))
    # no error; the file's own training choices the dialog shows no widget for are kept, and said so
    assert d.message.text() == "Kept from job.json, without a widget here: train.batch_size, train.cl_paths, train.patience."
    assert [r["date"] for r in d.inputs.targets_table.rows()] == ["2021-07-30", "2021-08-31", "2021-09-05"]  # from the bands
    assert d.inputs.columns.fields["coarse"]["scale"].text() == "0.0001"  # shared by every MODIS raster
    assert all("scale" not in extra.get("coarse", {}) for extra in d.inputs.prediction_table._extra)
    data = d.job_dict()
    want = json.loads(realistic_job.read_text())
    plain = [{k: v for k, v in r["coarse"].items() if (k, v) != ("band", 1)} for r in want["prediction"]]
    assert [r["coarse"] for r in data["prediction"]] == [{**c, "path": str(realistic_job.parent / c["path"])} for c in plain]
    d.outputs.output_dir.setFilePath(str(tmp_path / "out"))
    assert d.validate() is None
    d.inputs.columns.fields["coarse"]["scale"].setText("")  # the product's scale: 1 for NDVI
    message = d.validate()
    assert message.startswith("Reference row 1: ") and "set the scale to 0.0001" in message
    assert d.inputs.reference_table.cellWidget(0, 1) in d.highlighted()
    d.inputs.columns.guess("coarse", "scale", 0.0001, "a test")
    assert d.validate() is None and "Guessed at Fill: a test" in d.inputs.columns.fields["coarse"]["scale"].toolTip()
    d.deleteLater()


def test_classify_only_mode_maps_crops_from_an_ndvi_series(qgis_app, plugin, scene, tmp_path):
    """An NDVI series and samples, no fusion: Fill, validate, run on core's classify path, styled crop map."""
    from tsstfn_crop_mapper.core.pipeline.classify_job import ClassifyJob
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    project = QgsProject.instance()
    project.clear()
    root = Path(scene["root"])
    for p in sorted(root.glob("truth/ndvi_*.tif")) + sorted(root.glob("*_20*/*.tif")):
        project.addMapLayer(QgsRasterLayer(str(p), p.stem))
    samples = QgsVectorLayer(str(root / scene["samples"]), "samples", "ogr")
    project.addMapLayer(samples)
    d = CropMapperDialog()
    plugin.dialog = d
    d.mode.setCurrentIndex(d.mode.findData("classify"))
    assert d.tabs.tabText(0) == "NDVI series" and not d.tabs.isTabEnabled(1) and not d.estimate.isVisibleTo(d)
    d.fill_from_project()
    assert [Path(p).stem for p in d.series.rasters()] == ["ndvi_20210730", "ndvi_20210831", "ndvi_20210905"]
    d.outputs.samples.setLayer(samples)
    d.outputs.output_dir.setFilePath(str(tmp_path / "classified"))
    d.outputs.output_dir.setFilePath("")
    assert d.validate().startswith("Choose an output folder")
    d.outputs.output_dir.setFilePath(str(Path(d.series.rasters()[0]).parent))  # the inputs' folder
    assert "lies in the output folder" in d.validate() and d.outputs.output_dir in d.highlighted()
    d.outputs.output_dir.setFilePath(str(tmp_path / "classified"))
    job = d.build_job()
    assert isinstance(job, ClassifyJob) and len(job.rasters) == 3 and job.class_field == "crop"
    d.save_job_file(str(tmp_path / "classify_job.json"))  # Save job in this mode: a classify job file
    again = CropMapperDialog()
    again.load_job_file(str(tmp_path / "classify_job.json"))
    assert again.mode.currentData() == "classify" and again.message.text() == ""
    assert again.build_job() == job  # rasters, dates, samples, outputs: the same job
    again.load_job_file(str(tmp_path / "missing.json"))
    assert "missing.json" in again.message.text()  # one sentence, not a traceback
    again.deleteLater()
    task = plugin.start_job(job)
    state = _watch(task)
    _wait(state)
    assert state["status"] == "complete", d.run_state.outcome.text()
    assert "kappa" in d.run_state.outcome.text() and (tmp_path / "classified" / "crop_map.tif").exists()
    group = project.layerTreeRoot().findGroup(job.name)
    crop = next(n.layer() for n in group.findLayers() if n.layer().name() == "Crop map")
    assert sorted(c.label for c in crop.renderer().classes()) == ["corn", "other", "soybean"]
    import time

    for _ in range(20):  # the plugin's message follows QGIS's own notice by 300 ms
        QgsApplication.processEvents()
        time.sleep(0.05)
    assert any("kappa" in w.text() for w in plugin.iface.messageBar().items())
    d.mode.setCurrentIndex(d.mode.findData("fuse"))
    assert d.tabs.tabText(0) == "Inputs" and d.tabs.isTabEnabled(1)
    project.clear()


def test_dates_typed_in_the_classify_only_table_reach_the_run(qgis_app, tmp_path):
    """Rasters whose names hold no date: Fill highlights their date cells; the dates typed there weigh the
    gap-filling by days (the report says so), and dates out of order are refused at their cell."""
    import numpy as np

    from conftest import make_points, make_raster
    from tsstfn_crop_mapper.core.pipeline.classify_job import run_classify_job
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    project = QgsProject.instance()
    project.clear()
    level = np.where(np.arange(24)[None, :] < 12, 0.2, 0.7).repeat(12, 0).astype(np.float32)
    for k, name in enumerate(("scene_a", "scene_b", "scene_c")):
        values = level + 0.05 * k
        if k == 1:
            values[:4, :4] = np.nan  # cloudy on the middle date: gap-filled between the others
        path = make_raster(tmp_path / f"{name}.tif", values)
        project.addMapLayer(QgsRasterLayer(path, name))
    pts = [(640005.0 + 10 * c, 5149995.0 - 10 * r, "low" if c < 12 else "high") for r in range(0, 12, 4) for c in range(1, 24, 2)]
    samples = QgsVectorLayer(make_points(tmp_path / "pts.gpkg", pts), "pts", "ogr")
    project.addMapLayer(samples)
    d = CropMapperDialog()
    d.mode.setCurrentIndex(d.mode.findData("classify"))
    d.fill_from_project()
    assert [Path(p).stem for p in d.series.rasters()] == ["scene_a", "scene_b", "scene_c"]
    assert "no date found for" in d.message.text() and d.series.dates() == ["", "", ""]
    from tsstfn_crop_mapper.ui.highlight import HIGHLIGHT

    marked = [d.series.table.item(r, 1).background().color().name() for r in range(3)]
    assert marked == [HIGHLIGHT] * 3, marked  # the cells to type in
    d.outputs.samples.setLayer(samples)
    d.outputs.class_field.setField("crop")
    d.outputs.group_field.setField("")
    d.outputs.output_dir.setFilePath(str(tmp_path / "out"))
    for r, date in enumerate(("2021-05-01", "2021-07-20", "2021-06-01")):
        d.series.table.item(r, 1).setText(date)  # as typed
    message = d.validate()
    assert "row 3 ('scene_c.tif', 2021-06-01) is not after row 2" in message, message
    assert d.series.table.item(2, 1) in d.highlighted()
    d.series.table.item(2, 1).setText("2021-08-01")
    assert d.series.table.item(0, 1).background().style() == 0  # typed: no longer marked
    assert d.validate() is None
    job = d.build_job()
    assert job.dates == ("2021-05-01", "2021-07-20", "2021-08-01")
    result = run_classify_job(job)
    report = (Path(job.output_dir) / "report" / "accuracy.md").read_text()
    assert "weighted by their days" in report and "by their positions" not in report, report
    assert result.gap_stats is not None and result.gap_stats.filled > 0
    project.clear()
    d.deleteLater()


SINOP = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "sinop_2014_mod13q1"


@pytest.mark.skipif(not SINOP.exists(), reason="../shared/data/real (the Sinop MOD13Q1 set) is not present")
def test_real_mod13q1_series_with_csv_samples_in_the_classify_only_mode(qgis_app, tmp_path):
    """The Sinop folder dropped into a project as a user would: Fill dates 23 rasters, guesses the x 10000 scale,
    reads the CSV's longitude/latitude points; its 12 in-grid points are too few per class to measure the accuracy:
    valid by default (a map without kappa), refused when the accuracy is required, naming the class."""
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog
    from tsstfn_crop_mapper.ui.panels.outputs import select_layer

    project = QgsProject.instance()
    project.clear()
    for p in sorted((SINOP / "geotiff_23dates_2021").glob("*.tif")):
        project.addMapLayer(QgsRasterLayer(str(p), p.stem))
    d = CropMapperDialog()
    d.mode.setCurrentIndex(d.mode.findData("classify"))
    d.fill_from_project()
    rasters = d.series.rasters()
    assert len(rasters) == 23 and Path(rasters[0]).stem.endswith("2013-09-14") and Path(rasters[-1]).stem.endswith("08-29")
    assert d.series.scale.text() == "0.0001"  # guessed from the values (up to 9973)
    select_layer(d.outputs.samples, str(SINOP / "samples" / "samples_sinop_crop.csv"))
    assert d.outputs.samples.currentLayer().featureCount() == 18 and d.outputs.class_field.currentField() == "label"
    d.outputs.output_dir.setFilePath(str(tmp_path / "sinop"))
    assert d.validate() is None  # 3 Forest, 3 Pasture, 6 Soy_Corn: a map without a measured accuracy, by default
    job = d.build_job()
    assert str(job.accuracy) == "when_possible" and job.dates is not None and len(job.dates) == 23
    d.outputs.accuracy.setCurrentIndex(d.outputs.accuracy.findData("required"))
    message = d.validate()
    assert "samples_sinop_crop.csv" in message and "at least 10 are needed" in message, message
    assert "'Forest'" in message or "'Pasture'" in message
    project.clear()
    d.deleteLater()


REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def _drop_real_set(folder: Path) -> None:
    """Every raster file of a real set into a fresh project, as a user drags the folder in."""
    project = QgsProject.instance()
    project.clear()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in ("", ".tif") and "_filled_" not in p.name and p.name.isascii():
            layer = QgsRasterLayer(str(p), p.stem)
            if layer.isValid():
                project.addMapLayer(layer)


def _set_bands(d, coarse: tuple[int, int], fine: tuple[int, int]) -> None:
    for column, (red, nir) in (("coarse", coarse), ("fine", fine)):
        d.inputs.columns.fields[column]["red_band"].setText(str(red))
        d.inputs.columns.fields[column]["nir_band"].setText(str(nir))


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/real (the real Landsat/MODIS sets) is not present")
def test_real_landsat_modis_sets_fill_and_validate_with_only_what_their_manifest_says(qgis_app, tmp_path):
    """ENVI without CRS (dates in the band names) and Kranj (sinusoidal, YYYYDDD names): Fill dates and places every
    pair, guesses each column's scale; the analyst gives only the band order and the season's start."""
    from qgis.PyQt.QtCore import QDate

    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    _drop_real_set(REAL / "estarfm_2001_landsat_modis")
    d = CropMapperDialog()
    for combo in (d.inputs.coarse_product, d.inputs.fine_product):
        combo.setCurrentIndex(combo.findData("red_nir"))
    d.inputs.assume_aligned.setChecked(True)
    d.inputs.cutoff.setDate(QDate(2000, 8, 1))  # three dates: the target must be the last
    d.fill_from_project()
    dates = {key: [r["date"] for r in d.inputs.tables[key].rows()] for key in ("reference", "prediction", "targets")}
    assert dates == {"reference": [], "prediction": ["2001-05-24", "2001-07-11"], "targets": ["2001-08-12"]}
    assert {c: d.inputs.columns.fields[c]["scale"].text() for c in ("coarse", "fine")} == {"coarse": "0.0001", "fine": "0.0001"}
    d.model.n_base.setValue(1)
    d.model.strategy.setCurrentIndex(d.model.strategy.findData("STR_A"))
    d.outputs.map_crops.setChecked(False)  # a benchmark set without labels: fusion only
    d.outputs.output_dir.setFilePath(str(tmp_path / "estarfm"))
    message = d.validate()
    assert "red_band, nir_band" in message and d.inputs.columns.fields["coarse"]["red_band"] in d.highlighted()
    _set_bands(d, (2, 3), (2, 3))  # the MANIFEST: band 3 is NIR, bands 1 and 2 probably green and red
    assert d.validate() is None
    job = d.build_job()
    assert job.samples is None and job.assume_aligned and job.pixel_size_m == 30  # the dialog's default pixel size
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    quick = replace(TINY, samples_per_epoch=64)
    result = run_job(replace(job, train=quick, compare=("starfm",), uncertainty="off"))  # to its end, no crop map
    report = Path(result.report).read_text()
    assert "| 2001-08-12 | TSSTFN |" in report and "| 2001-08-12 | STARFM |" in report and result.crop_map is None

    _drop_real_set(REAL / "kranj_2020_landsat_modis")
    d.inputs.assume_aligned.setChecked(False)  # a real (sinusoidal) CRS
    d.inputs.cutoff.setDate(QDate(2000, 3, 20))
    d.fill_from_project()
    dates = {key: [r["date"] for r in d.inputs.tables[key].rows()] for key in ("prediction", "targets")}
    assert dates["prediction"] == ["2020-03-08", "2020-03-17"] and dates["targets"][0] == "2020-03-20"
    assert "2020-04-02" in dates["targets"] and "2020-04-09" not in dates["targets"]  # Landsat only: no MODIS
    assert {c: d.inputs.columns.fields[c]["scale"].text() for c in ("coarse", "fine")} == {"coarse": "1", "fine": "0.0001"}
    d.outputs.output_dir.setFilePath(str(tmp_path / "kranj"))
    d.model.patch_spin.setValue(32)  # the set is 45 x 44 px
    _set_bands(d, (1, 2), (3, 4))  # MODIS b1/b2; a Landsat-8 stack of B2-B7
    assert d.validate() is None, d.validate()
    QgsProject.instance().clear()
    d.deleteLater()


def test_samples_from_the_second_layer_of_a_geopackage(dialog, scene, tmp_path):
    """A GeoPackage whose first layer is not the samples: the job reads the layer the analyst chose."""
    from osgeo import ogr, osr

    root = Path(scene["root"])
    path = str(tmp_path / "two_layers.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    zones = ds.CreateLayer("zones", srs, ogr.wkbPolygon)  # first: polygons without a crop field
    zones.CreateField(ogr.FieldDefn("zone", ogr.OFTString))
    ds = None
    gdal.VectorTranslate(path, str(root / scene["samples"]), accessMode="append", layerName="points")
    layer = QgsVectorLayer(f"{path}|layername=points", "points", "ogr")
    assert layer.isValid() and layer.featureCount() > 0
    QgsProject.instance().addMapLayer(layer)
    dialog.outputs.samples.setLayer(layer)
    dialog.outputs.class_field.setField("crop")
    data = dialog.job_dict()
    assert data["samples"] == path and data["samples_layer"] == "points"
    assert dialog.validate() is None and dialog.build_job().samples_layer == "points"
    dialog.set_job_dict(data)  # as after a restart: the same layer of the file is chosen again
    assert dialog.outputs.samples.currentLayer() is layer and dialog.outputs.class_field.currentField() == "crop"
