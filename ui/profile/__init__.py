"""The profile tool, its dock and the compare view, wired into QGIS (plugin.py creates one :class:`ProfileTools`).

Actions: *Pixel profile of a run* (toolbar and Raster menu: the map tool), *Open run…* (a past run or
benchmark folder: its layers load and the tool reads it) and, on every raster layer's context menu,
*Profile of this run* (the run the layer's file belongs to). The reading is core/profile's.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsMapLayerType, QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAction, QFileDialog

from ...core.profile import find_run_folder

PROFILE_TITLE = "Pixel profile of a run"


class ProfileTools:
    """The actions, the map tool and the two docks; ``unload`` removes them all."""

    def __init__(self, iface, menu: str) -> None:
        from qgis.core import QgsApplication

        self.iface, self.menu = iface, menu
        self.dock = None
        self.compare = None
        self.tool = None
        self.pending: Path | None = None  # the run the dialog finished last, read when the tool is first used
        window = iface.mainWindow()
        self.action = QAction(QgsApplication.getThemeIcon("/propertyicons/temporal.svg"), PROFILE_TITLE, window)
        self.action.setObjectName("tsstfnProfileAction")
        self.action.setCheckable(True)
        self.action.setToolTip("Click a pixel of a run: its NDVI season (observed, MODIS, fused ± 2 std, STARFM)")
        self.action.triggered.connect(self.activate)
        self.open_action = QAction("Open run…", window)
        self.open_action.setObjectName("tsstfnOpenRunAction")
        self.open_action.triggered.connect(self.choose_run)
        self.layer_action = QAction("Profile of this run", window)
        self.layer_action.setObjectName("tsstfnLayerProfileAction")
        self.layer_action.triggered.connect(self.profile_of_active_layer)
        iface.addRasterToolBarIcon(self.action)
        iface.addPluginToRasterMenu(menu, self.action)
        iface.addPluginToRasterMenu(menu, self.open_action)
        self.layer_menu = False
        try:  # the desktop's layer tree; a test interface may not have one
            iface.addCustomActionForLayerType(self.layer_action, "", QgsMapLayerType.RasterLayer, True)
            self.layer_menu = True
        except (AttributeError, NotImplementedError, TypeError):
            pass

    # the docks and the tool ------------------------------------------------------------------
    def ensure_dock(self):
        """The profile dock (created and docked on the right the first time)."""
        if self.dock is None:
            from .dock import ProfileDock

            self.dock = ProfileDock(self.iface.mainWindow())
            self.dock.compare_button.clicked.connect(self.show_compare)
            self.iface.addDockWidget(Qt.BottomDockWidgetArea, self.dock)  # wide: a season reads left to right
        self.dock.show()
        return self.dock

    def activate(self, checked: bool = True) -> None:
        """The profile map tool on the canvas; without a run open yet, the run of the active layer (or Open run…)."""
        from .tool import ProfileMapTool

        dock = self.ensure_dock()
        if dock.reader is None:
            folder = self.pending or self._active_layer_run()
            if folder is None or not dock.set_run(folder):
                dock.message.setText("Open a run (Open run…) or use 'Profile of this run' on one of its layers.")
        canvas = self.iface.mapCanvas()
        if self.tool is None:
            self.tool = ProfileMapTool(canvas, dock)
            self.tool.setAction(self.action)
        canvas.setMapTool(self.tool)
        self.action.setChecked(True)

    def set_run(self, folder) -> bool:
        """Read the run in ``folder`` (also after a run of the dialog finishes); the compare view follows."""
        dock = self.ensure_dock()
        ok = dock.set_run(folder)
        if ok and self.compare is not None and self.compare.isVisible():
            self.compare.set_record(dock.reader.record)
        return ok

    def remember_run(self, folder) -> None:
        """The run the dialog just finished: read now if the dock is open, else when the tool is first used."""
        if self.dock is not None and self.dock.isVisible():
            self.set_run(folder)
        else:
            self.pending = Path(folder)

    def show_compare(self) -> None:
        """The compare dock for the open run."""
        dock = self.ensure_dock()
        if dock.reader is None:
            dock.message.setText("Open a run first: the compare view shows its target dates.")
            return
        if self.compare is None:
            from .compare import CompareDock

            self.compare = CompareDock(self.iface.mainWindow())
            self.iface.addDockWidget(Qt.BottomDockWidgetArea, self.compare)
            self.iface.mainWindow().tabifyDockWidget(dock, self.compare)
        self.compare.set_record(dock.reader.record)
        self.compare.show()
        self.compare.raise_()

    # runs ------------------------------------------------------------------------------------
    def choose_run(self) -> None:
        """Open run…: a folder chosen by the user."""
        folder = QFileDialog.getExistingDirectory(self.iface.mainWindow(), "Open a run or benchmark folder")
        if folder:
            self.open_run(folder)

    def open_run(self, folder) -> bool:
        """A past run: its record read, its NDVI layers added in a group named after it, the tool active."""
        if not self.set_run(folder):
            self.iface.messageBar().pushMessage("TSSTFN Crop Mapper", self.dock.message.text(), Qgis.Warning, 10)
            return False
        add_run_layers(self.dock.reader.record)
        self.activate()
        return True

    def profile_of_active_layer(self) -> None:
        """The context action: the run of the selected layer's file."""
        folder = self._active_layer_run()
        if folder is None:
            layer = self.iface.activeLayer()
            name = layer.name() if layer is not None else "no layer"
            self.iface.messageBar().pushMessage(
                "TSSTFN Crop Mapper", f"Layer '{name}' is not an output of a run; open a run folder with Open run….",
                Qgis.Warning, 10,
            )  # fmt: skip
            return
        if self.set_run(folder):
            self.activate()

    def _active_layer_run(self) -> Path | None:
        layer = self.iface.activeLayer()
        return find_run_folder(layer.source()) if layer is not None else None

    def unload(self) -> None:
        """Remove the actions, the tool and the docks."""
        canvas = self.iface.mapCanvas()
        if self.tool is not None and canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)
        self.iface.removePluginRasterMenu(self.menu, self.action)
        self.iface.removePluginRasterMenu(self.menu, self.open_action)
        self.iface.removeRasterToolBarIcon(self.action)
        if self.layer_menu:
            self.iface.removeCustomActionForLayerType(self.layer_action)
        for dock in (self.dock, self.compare):
            if dock is not None:
                self.iface.removeDockWidget(dock)
                dock.deleteLater()
        if self.dock is not None:
            self.dock.close_run()
        if self.compare is not None:
            self.compare.cleanup()
        self.dock = self.compare = self.tool = None


def add_run_layers(record, project: QgsProject | None = None):
    """A past run's NDVI layers (fused, compared methods, uncertainty) in a group named after it; the first fused shown."""
    from ..layers import ndvi_layer, uncertainty_layer
    from .compare import method_title

    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.findGroup(record.name) or root.insertGroup(0, record.name)
    there = {str(Path(n.layer().source()).resolve()) for n in group.findLayers() if n.layer() is not None}
    first = not there
    for layer_record in sorted(record.layers, key=lambda la: (la.role, la.date)):
        if layer_record.source is not None or layer_record.role in ("observed", "coarse", "reference"):
            continue
        if str(Path(layer_record.path).resolve()) in there:  # the group the dialog's run loaded: not twice
            continue
        make = uncertainty_layer if layer_record.role == "uncertainty" else ndvi_layer
        layer = make(layer_record.path, f"{method_title(layer_record.role)} {layer_record.date.isoformat()}")
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(first and layer_record.role == "fused")
        first = first and layer_record.role != "fused"
    return group
