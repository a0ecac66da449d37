"""Run inside the QGIS desktop (qgis --code): a real set of ../shared/data/real walked through as a user would.

``TSSTFN_REAL_SET`` names the set (``estarfm``, ``kranj`` or ``sinop``), ``TSSTFN_REAL_DIR`` the folder
of the real sets. The set's files are dropped into a fresh project (as a user drags its folder in),
the toolbar button opens the dialog, *Fill* sorts them, and only what the set's MANIFEST.md says a
user must know is set by hand (the products' band order, a pixel size without CRS, the season's
start; small settings so that the run takes about a minute). *Measure speed* is pressed, the
estimate read, the job run to its end, and what the user sees is recorded in
``$TSSTFN_SHOTS/real_<set>.json`` (read by tests/qgis/test_desktop_real.py): rows and dates after
Fill, the column settings, the validation message, the estimate, the run's wall time, the outcome
in the dialog, the message bar, every warning and error of QGIS's log, the result layers with
their pixel size, and the areas written beside a crop map. Screenshots: ``dialog_real_<set>.png``
(the dialog after Fill) and ``qgis_real_<set>.png`` (the result in QGIS).
"""

import csv
import json
import os
import time
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProject, QgsRasterLayer, QgsUnitTypes
from qgis.PyQt.QtCore import QDate, QTimer
from qgis.utils import iface, plugins

SHOTS = Path(os.environ["TSSTFN_SHOTS"])
WORK = Path(os.environ["TSSTFN_WORK"])
REAL = Path(os.environ["TSSTFN_REAL_DIR"])
SET = os.environ["TSSTFN_REAL_SET"]
SCREEN = tuple(int(v) for v in os.environ.get("TSSTFN_SCREEN", "1280x800").split("x"))
SUFFIX = os.environ.get("TSSTFN_SUFFIX", "")
EPOCHS = int(os.environ.get("TSSTFN_EPOCHS", "2"))
RUN = f"real_{SET}"
state = {"ticks": 0}
report = {"set": SET, "log": [], "steps": []}


def on_log(message, tag, level):
    """Every warning and error QGIS logs (the log panel a user would open), with its tab."""
    if level in (Qgis.Warning, Qgis.Critical):
        report["log"].append({"tag": tag, "level": int(level), "message": message})


QgsApplication.messageLog().messageReceived.connect(on_log)


def shot(widget, name):
    widget.grab().save(str(SHOTS / f"{name}{SUFFIX}.png"))


def save_report():
    (SHOTS / f"{RUN}.json").write_text(json.dumps(report, indent=1, default=str))


def log(msg):
    report["steps"].append(msg)
    print(f"[desktop_real] {msg}", flush=True)


# what each set's files are and what its MANIFEST says a user must know
def drop_estarfm():
    return [p for p in sorted((REAL / "estarfm_2001_landsat_modis").iterdir()) if p.suffix == "" and p.is_file()]


def drop_kranj():
    root = REAL / "kranj_2020_landsat_modis"
    return sorted((root / "landsat" / "unfilled").glob("*.tif")) + sorted((root / "modis" / "filled").glob("*.tif"))


def drop_sinop():
    return sorted((REAL / "sinop_2014_mod13q1" / "geotiff_23dates_2021").glob("*.tif"))


def fusion_settings(d, bands, cutoff, pixel_size=None, patch=64):
    """The fuse mode: both columns red/NIR reflectance, the season's start, then Fill."""
    d.mode.setCurrentIndex(d.mode.findData("fuse"))
    for combo in (d.inputs.coarse_product, d.inputs.fine_product):
        combo.setCurrentIndex(combo.findData("red_nir"))
    d.inputs.assume_aligned.setChecked(pixel_size is not None)
    if pixel_size is not None:
        d.inputs.pixel_size.setValue(pixel_size)  # MANIFEST: 'presumably 30 m', not in the files
    d.inputs.cutoff.setDate(QDate(2000, *cutoff))
    d.fill_from_project()
    report["message_after_fill"] = d.message.text()
    report["rows"] = {k: d.inputs.tables[k].rows() for k in ("reference", "prediction", "targets")}
    report["dates"] = {k: [r["date"] for r in rows] for k, rows in report["rows"].items()}
    report["columns"] = {c: {k: w.text() for k, w in d.inputs.columns.fields[c].items()} for c in ("coarse", "fine")}
    report["validate_before_bands"] = d.validate()
    for column in ("coarse", "fine"):  # the band order: the only thing the files do not say
        d.inputs.columns.fields[column]["red_band"].setText(str(bands[0]))
        d.inputs.columns.fields[column]["nir_band"].setText(str(bands[1]))
    d.model.n_base.setValue(1)  # one season: each pair learns from the one before
    d.model.strategy.setCurrentIndex(d.model.strategy.findData("STR_A"))
    d.outputs.map_crops.setChecked(False)  # a fusion benchmark set: no labels
    d.model.width_spin.setValue(4)  # small settings: the walk-through takes minutes, not hours
    d.model.patch_spin.setValue(patch)
    d.model.epochs_spin.setValue(EPOCHS)
    d.model.samples_spin.setValue(48)
    d.model.uncertainty.setCurrentIndex(d.model.uncertainty.findData("off"))


def setup_estarfm(d):
    fusion_settings(d, (2, 3), (8, 1), pixel_size=30)  # band 3 NIR, band 2 red; the target is 12 August


def setup_kranj(d):
    fusion_settings(d, (3, 4), (3, 20), patch=32)  # Landsat order in both (B2-B7); the scene is 45 x 44 px


def setup_sinop(d):
    from tsstfn_crop_mapper.ui.panels.outputs import select_layer

    d.mode.setCurrentIndex(d.mode.findData("classify"))
    d.fill_from_project()
    report["message_after_fill"] = d.message.text()
    report["rasters"] = [Path(p).name for p in d.series.rasters()]
    report["dates"] = {"series": [d.series.table.item(i, 1).text() for i in range(d.series.table.rowCount())]}
    report["columns"] = {"series": {"scale": d.series.scale.text(), "bands": d.series.bands.text()}}
    samples = REAL / "sinop_2014_mod13q1" / "samples" / "samples_sinop_crop.csv"
    select_layer(d.outputs.samples, str(samples))  # the CSV chosen in the samples box, as the user browses to it
    layer = d.outputs.samples.currentLayer()
    report["samples"] = {
        "features": layer.featureCount() if layer else 0,
        "class_field": d.outputs.class_field.currentField(),
        "labels": sorted({str(f["label"]) for f in layer.getFeatures()}) if layer else [],
    }


def step_setup():
    iface.mainWindow().setGeometry(0, 0, *SCREEN)
    project = QgsProject.instance()
    project.clear()
    dropped = globals()[f"drop_{SET}"]()
    for p in dropped:  # as a user drags the files in: the layers QGIS makes of them
        layer = QgsRasterLayer(str(p), p.stem)
        if layer.isValid():
            project.addMapLayer(layer)
    report["dropped"] = [p.name for p in dropped]
    report["layers_in_project"] = len(project.mapLayers())
    plugin = plugins["tsstfn_crop_mapper"]
    plugin.action.trigger()  # the toolbar button
    d = plugin.dialog
    d.outputs.output_dir.setFilePath(str(WORK / RUN))
    start = time.perf_counter()
    globals()[f"setup_{SET}"](d)
    report["setup_s"] = time.perf_counter() - start
    report["validate"] = d.validate()
    log(f"validation: {report['validate']}")
    if report["validate"] is None and SET == "sinop":  # the classify-only job as plain data
        (SHOTS / f"{RUN}_job.json").write_text(json.dumps(d.build_job().to_dict(), indent=2, default=str))
    elif report["validate"] is None:  # the job as the dialog saves it (bench/bench_estimate.py runs it again)
        d.save_job_file(str(SHOTS / f"{RUN}_job.json"))
    d.update_estimate()
    report["estimate_guess"] = d.estimate.label.text()
    if report["validate"] is None and SET != "sinop":
        d.measure_speed()  # 'Measure speed', as the estimate asks
    QTimer.singleShot(1000, step_measured)


def step_measured():
    d = plugins["tsstfn_crop_mapper"].dialog
    state["ticks"] += 1
    if not d.estimate.measure_button.isEnabled() and state["ticks"] < 360:
        QTimer.singleShot(500, step_measured)
        return
    state["ticks"] = 0
    d.update_estimate()
    report["estimate"] = d.estimate.label.text()
    last = getattr(d.estimate, "last", None)
    if last is not None:
        report["estimate_minutes"] = list(last.minutes_range)
        report["estimate_measured"] = last.measured
    d.tabs.setCurrentIndex(0)
    QTimer.singleShot(800, step_dialog_shot)


def step_dialog_shot():
    d = plugins["tsstfn_crop_mapper"].dialog
    d.run()  # validates and emits the job; the plugin starts the task
    report["run_message"] = d.message.text()
    report["run_started"] = d.run_state.running
    state["run_start"] = time.perf_counter()
    log(f"run started: {d.run_state.running}; message '{d.message.text()}'")
    QTimer.singleShot(1500, lambda: (shot(d, f"dialog_real_{SET}"), step_wait()))


def step_wait():
    d = plugins["tsstfn_crop_mapper"].dialog
    state["ticks"] += 1
    if d.run_state.running and state["ticks"] < 600:
        if state["ticks"] == 3:
            report["run_state_step"] = d.run_state.step.text()
        QTimer.singleShot(1000, step_wait)
        return
    report["run_s"] = time.perf_counter() - state["run_start"] if report["run_started"] else None
    report["outcome"] = d.run_state.outcome.text()
    report["outcome_visible"] = d.run_state.outcome.isVisible()
    QTimer.singleShot(3000, step_results)


def step_results():
    d = plugins["tsstfn_crop_mapper"].dialog
    group = QgsProject.instance().layerTreeRoot().findGroup(RUN)
    layers = {n.layer().name(): n.layer() for n in group.findLayers()} if group else {}
    report["group"] = group.name() if group else None
    report["layers"] = {
        name: {
            "source": layer.source(),
            "pixel": [layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()] if layer.type() == 1 else None,
            "size": [layer.width(), layer.height()] if layer.type() == 1 else None,
            "crs": layer.crs().toProj() or layer.crs().description(),
            "units": QgsUnitTypes.toString(layer.crs().mapUnits()),
            "legend": [c.label for c in layer.renderer().classes()] if hasattr(layer.renderer(), "classes") else None,
        }
        for name, layer in layers.items()
    }
    report["messages"] = [{"text": w.text(), "level": int(w.level())} for w in iface.messageBar().items()]
    out = WORK / RUN
    report["outputs"] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    report["areas"] = {}
    for p in sorted(out.rglob("*area*.csv")) if out.exists() else []:
        with p.open() as f:
            report["areas"][p.name] = list(csv.DictReader(f))
    reports = sorted(out.rglob("run_report.md")) + sorted(out.rglob("accuracy*.md")) if out.exists() else []
    report["report_text"] = "\n".join(p.read_text() for p in reports)
    log(f"result layers: {sorted(layers)}")
    save_report()
    d.hide()
    first = next((layer for name, layer in layers.items() if "NDVI" in name or "Crop map" in name), None)
    if first is not None:
        for node in group.findLayers():
            node.setItemVisibilityChecked(node.layer() is first)
        iface.setActiveLayer(first)
        canvas, extent = iface.mapCanvas(), first.extent()
        crs = canvas.mapSettings().destinationCrs()
        if first.crs().isValid() and crs.isValid() and first.crs() != crs:  # e.g. a CSV's WGS 84 set the project's
            extent = canvas.mapSettings().layerExtentToOutputExtent(first, extent)
        canvas.setExtent(extent)
        iface.mapCanvas().refresh()
    QTimer.singleShot(3000, step_finish)


def quit_qgis():
    """Quit QGIS (outputs under /tmp count as temporary layers: no question asked), for sure within seconds."""
    dialog = plugins["tsstfn_crop_mapper"].dialog
    if dialog is not None:
        dialog.hide()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(10000, lambda: os._exit(0))  # a modal question left open would keep it running
    iface.actionExit().trigger()


def step_finish():
    panel = plugins["tsstfn_crop_mapper"].report_panel
    shot(iface.mainWindow(), f"qgis_real_{SET}")
    if panel is not None:
        panel.hide()
    report["messages"] = [{"text": w.text(), "level": int(w.level())} for w in iface.messageBar().items()]
    report["done"] = True
    save_report()
    quit_qgis()


def guarded(step):
    """A step whose exception is recorded (the test reads it) and still ends QGIS."""

    def run():
        try:
            step()
        except Exception as exc:  # noqa: BLE001 (the report says what failed; QGIS must quit)
            import traceback

            report["script_error"] = traceback.format_exc()
            log(f"script error: {exc}")
            save_report()
            quit_qgis()

    return run


for _name in ("step_setup", "step_measured", "step_dialog_shot", "step_wait", "step_results", "step_finish"):
    globals()[_name] = guarded(globals()[_name])

QTimer.singleShot(3000, step_setup)
