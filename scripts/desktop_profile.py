"""Run inside the QGIS desktop (qgis --code): the profile tool and the compare view on a finished run, with screenshots.

As an analyst: *Open run…* on a run folder (``TSSTFN_RUN``; its NDVI layers load), the profile tool
clicks the pixel ``TSSTFN_PIXEL`` (``col,row`` of the study grid; a real mouse click on the canvas),
the chart is exported to PNG, SVG and CSV, the *Field mean* toggle and a click at
``TSSTFN_FIELD_PIXEL`` plot a field's mean, and *Compare…* shows the target ``TSSTFN_DATE``. What the
chart drew (read back from its axes), the exports and the timings go to ``$TSSTFN_SHOTS/profile.json``
(read by tests/qgis/test_profile_desktop.py); the screenshots ``profile_chart*.png`` and
``profile_compare*.png`` go to ``$TSSTFN_SHOTS`` (``TSSTFN_SUFFIX`` added to their names).
"""

import json
import math
import os
from pathlib import Path

from qgis.core import QgsFillSymbol, QgsPointXY, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.utils import iface, plugins

SHOTS = Path(os.environ["TSSTFN_SHOTS"])
RUN = Path(os.environ["TSSTFN_RUN"])
SCREEN = tuple(int(v) for v in os.environ.get("TSSTFN_SCREEN", "1280x800").split("x"))
SUFFIX = os.environ.get("TSSTFN_SUFFIX", "")
PIXEL = tuple(int(v) for v in os.environ.get("TSSTFN_PIXEL", "40,30").split(","))
FIELD_PIXEL = tuple(int(v) for v in os.environ.get("TSSTFN_FIELD_PIXEL", "40,30").split(","))
DATE = os.environ.get("TSSTFN_DATE", "")
report = {"errors": []}
state = {}


def log(msg):
    print(f"[desktop_profile] {msg}", flush=True)


def save_report():
    (SHOTS / "profile.json").write_text(json.dumps(report, indent=1, default=str))


def shot(widget, name):
    widget.grab().save(str(SHOTS / f"{name}{SUFFIX}.png"))


def plotted():
    """The chart's series as drawn (NaN as None, so that JSON keeps it)."""
    chart = plugins["tsstfn_crop_mapper"].profile.dock.chart
    return {k: [[d.isoformat(), None if math.isnan(v) else v] for d, v in pts] for k, pts in chart.plotted().items()}


def click_pixel(col, row):
    """A real left click on the canvas at the centre of the study grid's pixel (col, row)."""
    tools = plugins["tsstfn_crop_mapper"].profile
    x, y = tools.dock.reader.centre(col, row)
    canvas = iface.mapCanvas()
    screen = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
    QTest.mouseClick(canvas.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(round(screen.x()), round(screen.y())))
    return tools.dock.place


def step_open():
    iface.mainWindow().setGeometry(0, 0, *SCREEN)
    tools = plugins["tsstfn_crop_mapper"].profile
    report["open_ok"] = tools.open_run(RUN)  # what Open run… does with the folder chosen
    record = tools.dock.reader.record
    report["roles"] = record.roles
    report["notes"] = record.notes
    group = QgsProject.instance().layerTreeRoot().findGroup(record.name)
    report["layers"] = [n.layer().name() for n in group.findLayers()] if group else []
    if record.fields:
        fields = QgsVectorLayer(record.fields, "fields", "ogr")
        fields.setRenderer(fields.renderer().clone())
        outline = {"style": "no", "outline_color": "#222222", "outline_width": "0.4"}
        fields.renderer().setSymbol(QgsFillSymbol.createSimple(outline))
        QgsProject.instance().addMapLayer(fields)
    layer = next(iter(group.findLayers())).layer()
    iface.mapCanvas().setExtent(layer.extent())
    iface.mapCanvas().refresh()
    report["tool_active"] = iface.mapCanvas().mapTool() is tools.tool
    QTimer.singleShot(2500, step_click)


def step_click():
    tools = plugins["tsstfn_crop_mapper"].profile
    place = click_pixel(*PIXEL)
    report["pixel"] = [place.col, place.row] if place else None
    report["pixel_xy"] = [place.x, place.y] if place else None
    report["click_s"] = tools.dock.seconds
    report["message"] = tools.dock.message.text()
    report["plotted"] = plotted()
    report["title"] = tools.dock.chart.ax.get_title()
    for suffix in ("png", "svg", "csv"):
        report[f"export_{suffix}"] = str(tools.dock.export(SHOTS / f"profile_export.{suffix}"))
    dates = tools.dock.reader.record.target_dates
    target = next((d for d in dates if d.isoformat() == DATE), dates[0])
    fused = dict(tools.dock.chart.plotted()["TSSTFN (fused)"])
    from matplotlib.dates import date2num

    report["hover"] = tools.dock.chart.nearest(date2num(target), fused[target])  # the read-out at a fused point
    QTimer.singleShot(1500, step_chart_shot)


def step_chart_shot():
    shot(iface.mainWindow(), "profile_chart")
    tools = plugins["tsstfn_crop_mapper"].profile
    tools.dock.field_box.setChecked(True)
    place = click_pixel(*FIELD_PIXEL)
    report["field_id"] = place.field_id if place else None
    report["field_pixels"] = place.n_pixels if place else None
    report["field_title"] = tools.dock.chart.ax.get_title()
    report["field_plotted"] = plotted()
    report["field_click_s"] = tools.dock.seconds
    QTimer.singleShot(1500, step_field_shot)


def step_field_shot():
    shot(iface.mainWindow(), "profile_field")
    tools = plugins["tsstfn_crop_mapper"].profile
    tools.dock.field_box.setChecked(False)
    tools.dock.compare_button.click()
    view = tools.compare
    index = view.date_box.findText(DATE) if DATE else 0
    view.date_box.setCurrentIndex(max(index, 0))
    report["compare_titles"] = [p.title for p in view.panels]
    report["compare_message"] = view.message.text()
    QTimer.singleShot(2500, step_compare_zoom)


def step_compare_zoom():
    view = plugins["tsstfn_crop_mapper"].profile.compare
    extent = view.canvases[0].extent()
    extent.scale(0.5)
    view.canvases[0].setExtent(extent)
    view.canvases[0].refresh()
    widths = [c.extent().width() for c in view.canvases]
    report["compare_linked"] = max(widths) - min(widths) < 1e-6 * max(widths)
    QTimer.singleShot(2500, step_compare_shot)


def step_compare_shot():
    shot(iface.mainWindow(), "profile_compare_docked")
    view = plugins["tsstfn_crop_mapper"].profile.compare
    view.setFloating(True)  # the compare view on its own, as large as an analyst would make it
    view.setGeometry(20, 40, SCREEN[0] - 40, SCREEN[1] - 80)
    QTimer.singleShot(1500, lambda: view.canvases[0].setExtent(view.layers[0].extent()))  # the whole run, all maps
    QTimer.singleShot(3500, step_compare_float_shot)


def step_compare_float_shot():
    view = plugins["tsstfn_crop_mapper"].profile.compare
    shot(view, "profile_compare")
    report["done"] = True
    save_report()
    log("done")
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().setDirty(False)
    iface.actionExit().trigger()


def guarded(step):
    def run():
        try:
            step()
        except Exception as exc:  # noqa: BLE001 (the report says what failed; QGIS must still quit)
            import traceback

            report["errors"].append(f"{step.__name__}: {exc!r}\n{traceback.format_exc()}")
            save_report()
            iface.actionExit().trigger()

    return run


for _name in (
    "step_open",
    "step_click",
    "step_chart_shot",
    "step_field_shot",
    "step_compare_zoom",
    "step_compare_shot",
    "step_compare_float_shot",
):
    globals()[_name] = guarded(globals()[_name])
QTimer.singleShot(3000, step_open)
