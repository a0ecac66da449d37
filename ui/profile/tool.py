"""The profile map tool: a click on the map canvas gives its point (in the canvas's CRS) to the profile dock."""

from __future__ import annotations

from qgis.gui import QgsMapToolEmitPoint, QgsVertexMarker
from qgis.PyQt.QtGui import QColor


class ProfileMapTool(QgsMapToolEmitPoint):
    """Each click shows the season of the pixel under it in ``dock`` and marks the pixel on the map."""

    def __init__(self, canvas, dock) -> None:
        super().__init__(canvas)
        self.dock = dock
        self.marker: QgsVertexMarker | None = None

    def canvasReleaseEvent(self, event) -> None:  # noqa: N802 (Qt override)
        point = self.toMapCoordinates(event.pos())
        self.show_at(point.x(), point.y())

    def show_at(self, x: float, y: float) -> bool:
        """The season under map coordinates ``(x, y)`` of the canvas."""
        crs = self.canvas().mapSettings().destinationCrs()
        shown = self.dock.show_point(x, y, crs.toWkt() if crs.isValid() else None)
        self._mark(x, y)
        return shown

    def _mark(self, x: float, y: float) -> None:
        from qgis.core import QgsPointXY

        if self.marker is None:
            self.marker = QgsVertexMarker(self.canvas())
            self.marker.setColor(QColor("#d7191c"))
            self.marker.setIconType(QgsVertexMarker.ICON_CROSS)
            self.marker.setIconSize(14)
            self.marker.setPenWidth(2)
        self.marker.setCenter(QgsPointXY(x, y))

    def deactivate(self) -> None:
        if self.marker is not None:
            self.canvas().scene().removeItem(self.marker)
            self.marker = None
        super().deactivate()
