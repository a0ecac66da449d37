"""The profile tool, dock and compare view in a real QgsApplication (offscreen) on a small run folder.

The plotted values are read back from the chart's axes and compared with the rasters' arrays
(tests/profile/make_run.py); the desktop test (test_profile_desktop.py) does the same on the demo run.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from qgis.core import QgsProject
from qgis.PyQt.QtWidgets import QMainWindow

from iface import RasterIface

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "profile"))
from make_run import FIELD, MASKED, TARGETS, centre, date, make_run  # noqa: E402


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("profile_ui"), size=48)


@pytest.fixture()
def tools(qgis_app, qgis_canvas):
    from tsstfn_crop_mapper.ui.profile import ProfileTools

    iface = RasterIface(qgis_canvas, None, QMainWindow())
    t = ProfileTools(iface, "&TSSTFN Crop Mapper")
    yield t
    t.unload()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def test_a_click_plots_the_raster_values_and_exports_them(tools, small, tmp_path):
    from osgeo import osr

    from tsstfn_crop_mapper.core.profile import read_csv

    assert tools.open_run(small["run"])
    group = QgsProject.instance().layerTreeRoot().findGroup("small_run")
    assert group is not None and [n.layer().name() for n in group.findLayers() if n.isVisible()] == ["TSSTFN NDVI 2021-07-30"]
    n_layers = len(group.findLayers())
    assert n_layers == 9 and tools.open_run(small["run"]) and len(group.findLayers()) == n_layers  # opened twice: once
    canvas = tools.iface.mapCanvas()
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32651)
    from qgis.core import QgsCoordinateReferenceSystem

    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32651"))
    assert canvas.mapTool() is tools.tool
    col, row = 5, 20  # cloud on 2021-08-31 here
    assert tools.tool.show_at(*centre(col, row)), tools.dock.message.text()
    plotted = tools.dock.chart.plotted()
    a = small["arrays"]
    observed = dict(plotted["Sentinel-2/Landsat (observed)"])
    assert math.isnan(observed[date(MASKED)])  # a gap
    assert dict(plotted["Sentinel-2/Landsat (observed), masked"])[date(MASKED)] == pytest.approx(a["fine"][MASKED][row, col])
    for d in TARGETS:
        fused = dict(plotted["TSSTFN (fused)"])[date(d)]
        assert fused == pytest.approx(a["fused"][d][row, col], abs=1e-6)
        assert dict(plotted["STARFM"])[date(d)] == pytest.approx(a["starfm"][d][row, col], abs=1e-6)
        high = dict(plotted["_band_high"])[date(d)]
        assert high - fused == pytest.approx(2 * a["uncertainty"][d][row, col], abs=1e-6)
    text = tools.dock.chart.nearest(*_num(date(TARGETS[0]), a["fused"][TARGETS[0]][row, col]))
    assert text.startswith("2021-07-30  TSSTFN (fused): ") and "(2 std)" in text
    for suffix in ("png", "svg", "csv"):
        path = tools.dock.export(tmp_path / f"p.{suffix}")
        assert path.stat().st_size > 1000 if suffix != "csv" else path.exists()
    back = {(s.role, s.date): s.value for s in read_csv(tmp_path / "p.csv")}
    assert back["fused", date(TARGETS[1])] == pytest.approx(a["fused"][TARGETS[1]][row, col], abs=1e-6)
    assert math.isnan(back["observed", date(MASKED)])


def _num(d, y):
    from matplotlib.dates import date2num

    return date2num(d), y


def test_the_field_toggle_plots_the_field_mean(tools, small):
    tools.open_run(small["run"])
    tools.dock.field_box.setChecked(True)
    c0, r0, c1, r1 = FIELD
    assert tools.tool.show_at(*centre(c0 + 1, r0 + 1))
    fused = dict(tools.dock.chart.plotted()["TSSTFN (fused)"])
    for d in TARGETS:
        assert fused[date(d)] == pytest.approx(float(small["arrays"]["fused"][d][r0:r1, c0:c1].mean()), abs=1e-6)
    assert "field 7" in tools.dock.chart.ax.get_title()
    tools.tool.show_at(*centre(45, 45))  # outside every field: the pixel, and the reason
    assert "No field of the run here" in tools.dock.message.text() and "pixel column 45" in tools.dock.chart.ax.get_title()


def test_outside_the_run_and_not_a_run_are_one_sentence(tools, small, tmp_path):
    dock = tools.ensure_dock()
    assert not dock.set_run(tmp_path) and "holds no run of this plugin" in dock.message.text()
    dock.set_run(small["run"])
    assert not dock.show_point(*centre(80, 5)) and "outside the area of run 'small_run'" in dock.message.text()


def test_the_compare_view_links_its_canvases(tools, small):
    tools.open_run(small["run"])
    tools.show_compare()
    view = tools.compare
    titles = [p.title for p in view.panels]
    assert titles == ["TSSTFN 2021-07-30", "STARFM 2021-07-30"]  # no difference raster: no real image in this run
    assert "no real fine image" in view.message.text()
    extent = view.canvases[0].extent()
    extent.scale(0.5)
    view.canvases[0].setExtent(extent)
    assert view.canvases[1].extent().width() == pytest.approx(view.canvases[0].extent().width())


def test_the_layer_action_reads_the_run_of_the_selected_layer(tools, small, tmp_path):
    from qgis.core import QgsRasterLayer

    from tsstfn_crop_mapper.ui.profile.compare import method_title

    layer = QgsRasterLayer(str(small["run"] / "starfm_ndvi_20210831.tif"), f"{method_title('starfm')} 2021-08-31")
    QgsProject.instance().addMapLayer(layer)
    tools.iface.setActiveLayer(layer)
    tools.profile_of_active_layer()
    assert tools.dock.reader is not None and tools.dock.reader.record.name == "small_run"
    assert tools.iface.mapCanvas().mapTool() is tools.tool
    other = QgsRasterLayer(str(small["inputs"] / "fine_20210420.tif"), "an input")
    QgsProject.instance().addMapLayer(other)
    tools.iface.setActiveLayer(other)
    tools.profile_of_active_layer()
    texts = [w.text() for w in tools.iface.messageBar().items()]
    assert any("Layer 'an input' is not an output of a run" in t for t in texts), texts


def test_the_run_the_dialog_finished_is_read_when_the_tool_is_first_used(tools, small):
    tools.remember_run(small["run"])  # the dialog's run succeeded; no dock yet: nothing opens
    assert tools.dock is None and tools.pending == small["run"]
    assert not tools.action.icon().isNull() and tools.action in tools.iface.raster_toolbar.actions()
    tools.action.trigger()  # the toolbar button
    assert tools.dock.reader is not None and tools.dock.reader.record.name == "small_run"
    assert tools.iface.mapCanvas().mapTool() is tools.tool and tools.action.isChecked()
