"""A QgisInterface for tests: pytest-qgis's, plus a real Raster menu, raster toolbar and message bar.

QGIS's own QgisApp is not scriptable outside the desktop; these methods behave as QgisApp's do
(a sub-menu per plugin under Raster, removed when its last action goes). The desktop itself is
exercised by ``scripts/desktop_screenshots.py`` under Xvfb.
"""

from __future__ import annotations

from pytest_qgis.qgis_interface import QgisInterface
from qgis.gui import QgsMessageBar
from qgis.PyQt.QtWidgets import QMenu, QToolBar


class RasterIface(QgisInterface):
    def __init__(self, canvas, message_bar, main_window) -> None:
        super().__init__(canvas, message_bar, main_window)
        self.raster_menu = QMenu("&Raster", main_window)
        main_window.menuBar().addMenu(self.raster_menu)
        self.raster_toolbar = QToolBar("Raster Toolbar", main_window)
        self.raster_toolbar.setObjectName("mRasterToolBar")
        main_window.addToolBar(self.raster_toolbar)
        self.real_message_bar = QgsMessageBar(main_window)

    def messageBar(self):  # noqa: N802
        return self.real_message_bar

    def addPluginToRasterMenu(self, name, action):  # noqa: N802
        sub = self._submenu(name) or self.raster_menu.addMenu(name)
        sub.addAction(action)

    def removePluginRasterMenu(self, name, action):  # noqa: N802
        sub = self._submenu(name)
        if sub is None:
            return
        sub.removeAction(action)
        if not sub.actions():
            self.raster_menu.removeAction(sub.menuAction())

    def addRasterToolBarIcon(self, action):  # noqa: N802
        self.raster_toolbar.addAction(action)
        return action

    def removeRasterToolBarIcon(self, action):  # noqa: N802
        self.raster_toolbar.removeAction(action)

    def addDockWidget(self, area, dock):  # noqa: N802
        self.mainWindow().addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.mainWindow().removeDockWidget(dock)

    def _submenu(self, name):
        for act in self.raster_menu.actions():
            if act.menu() is not None and act.text() == name:
                return act.menu()
        return None
