"""The compare view: a target date's fused, real and compared NDVI side by side, differences below, pan and zoom linked.

The maps are core/profile's ``compare_panels`` (a run's real NDVI is fused - difference; differences are
VRTs in a scratch folder); NDVI on the one fixed ramp of the result layers, differences on the diverging one.
"""

from __future__ import annotations

import tempfile

from qgis.core import QgsCoordinateReferenceSystem
from qgis.gui import QgsDockWidget, QgsMapCanvas
from qgis.PyQt.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.errors import TsstfnError
from ...core.profile import compare_panels
from ..layers import difference_layer, ndvi_layer


class CompareDock(QgsDockWidget):
    """Linked map canvases of one target date of a run (fused, real, methods; each minus real)."""

    def __init__(self, parent=None) -> None:
        super().__init__("TSSTFN compare: fused beside real", parent)
        self.setObjectName("tsstfnCompareDock")
        self.record = None
        self.scratch = tempfile.TemporaryDirectory(prefix="tsstfn_compare_")
        self.canvases: list[QgsMapCanvas] = []
        self.layers: list = []
        self.panels: list = []
        self._syncing = False
        body = QWidget()
        self.date_box = QComboBox()
        self.date_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.date_box.currentIndexChanged.connect(self._show_date)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Target date"))
        top.addWidget(self.date_box)
        top.addStretch(1)
        self.grid = QGridLayout()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addLayout(self.grid, 1)
        layout.addWidget(self.message)
        self.setWidget(body)

    def set_record(self, record) -> None:
        """Offer ``record``'s target dates; the first is shown."""
        self.record = record
        self.date_box.blockSignals(True)
        self.date_box.clear()
        for d in record.target_dates:
            self.date_box.addItem(d.isoformat(), d)
        self.date_box.blockSignals(False)
        self._show_date()

    def _show_date(self) -> None:
        date = self.date_box.currentData()
        if self.record is None or date is None:
            return
        try:
            panels = compare_panels(self.record, date, self.scratch.name)
        except TsstfnError as exc:
            self.message.setText(str(exc))
            return
        self._clear()
        ndvi = [p for p in panels if p.kind == "ndvi"]
        cols = max(1, len(ndvi))
        crs = QgsCoordinateReferenceSystem.fromWkt(self.record.grid.crs_wkt) if self.record.grid.has_crs else None
        for i, panel in enumerate(panels):
            layer = (ndvi_layer if panel.kind == "ndvi" else difference_layer)(panel.path, panel.title)
            canvas = QgsMapCanvas()
            canvas.setCanvasColor(canvas.palette().window().color())
            if crs is not None:
                canvas.setDestinationCrs(crs)
            canvas.setLayers([layer])
            canvas.setExtent(layer.extent())
            canvas.extentsChanged.connect(lambda c=canvas: self._sync(c))
            box = QVBoxLayout()
            box.addWidget(QLabel(panel.title))
            box.addWidget(canvas, 1)
            row, col = (0, i) if panel.kind == "ndvi" else (1, i - len(ndvi) + 1)
            holder = QWidget()
            holder.setLayout(box)
            self.grid.addWidget(holder, row, min(col, cols - 1))
            self.canvases.append(canvas)
            self.layers.append(layer)
        self.panels = panels
        no_real = not any(p.kind == "difference" for p in panels)
        self.message.setText(
            "The run had no real fine image on this date: fused and the compared methods only." if no_real else
            "NDVI on one fixed 0-1 ramp; differences (method - real) from -0.3 (red) to +0.3 (blue). Pan and zoom are linked."
        )  # fmt: skip

    def _sync(self, source: QgsMapCanvas) -> None:
        """Every other canvas to ``source``'s extent (linked pan and zoom)."""
        if self._syncing:
            return
        self._syncing = True
        try:
            for canvas in self.canvases:
                if canvas is not source:
                    canvas.setExtent(source.extent())
                    canvas.refresh()
        finally:
            self._syncing = False

    def _clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.canvases, self.layers, self.panels = [], [], []

    def cleanup(self) -> None:
        """Remove the scratch VRTs."""
        self._clear()
        self.scratch.cleanup()


def method_title(role: str) -> str:
    """A layer name's start for a role of core/profile: ``TSSTFN NDVI``, ``STARFM NDVI``, ``TSSTFN NDVI uncertainty (std)``."""
    from ...core.profile.record import method_label

    if role == "fused":
        return "TSSTFN NDVI"
    if role == "uncertainty":
        return "TSSTFN NDVI uncertainty (std)"
    return f"{method_label(role)} NDVI"
