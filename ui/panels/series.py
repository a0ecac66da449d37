"""The NDVI series panel of the classify-only mode: the NDVI rasters (or stacks) the analyst has, in date order."""

from __future__ import annotations

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QDoubleValidator
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import TsstfnError
from ..pairs_table import raster_combo


class SeriesPanel(QWidget):
    """Owns the series table, the bands of stacks and the scale; ``changed`` after Fill."""

    changed = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        intro = QLabel(
            "Map crops from an NDVI time series you already have (e.g. MOD13Q1 16-day NDVI, or your own Sentinel-2 "
            "NDVI): one raster per date, or a stack whose bands are dates, all on one grid. No fusion runs; the "
            "samples and outputs are on the next tab."
        )
        intro.setWordWrap(True)
        v.addWidget(intro)
        top = QHBoxLayout()
        self.fill_button = QPushButton("Fill from project layers")
        self.fill_button.setToolTip("Every single-band or stacked NDVI-like raster of the project, sorted by date")
        add, remove = QPushButton("+"), QPushButton("−")
        for button, tip in ((add, "Add a raster"), (remove, "Remove the selected rasters")):
            button.setFixedWidth(28)
            button.setToolTip(tip)
        add.clicked.connect(lambda: self.add_raster(None))
        remove.clicked.connect(self.remove_selected)
        top.addWidget(self.fill_button)
        top.addStretch()
        top.addWidget(add)
        top.addWidget(remove)
        v.addLayout(top)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["NDVI raster (in date order)", "date"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setToolTip("The forest's features are these rasters' NDVI, one per date (a stack: one per band)")
        v.addWidget(self.table, 1)
        form = QFormLayout()
        self.bands = QLineEdit()
        self.bands.setPlaceholderText("all")
        self.bands.setToolTip("The bands of multi-band stacks to use, e.g. 1-12 or 1,3,5 (empty: all)")
        self.scale = QLineEdit()
        self.scale.setValidator(QDoubleValidator())
        self.scale.setPlaceholderText("as stored")
        self.scale.setToolTip("Multiply the values by this: 0.0001 for NDVI stored x 10000 (MOD13Q1); guessed at Fill")
        form.addRow("Bands of stacks", self.bands)
        form.addRow("Scale", self.scale)
        v.addLayout(form)

    def add_raster(self, path: str | None, date: str = "") -> None:
        """Add a row: the project layer of ``path`` (or the path itself), and its date as the rasters say it."""
        r = self.table.rowCount()
        self.table.insertRow(r)
        combo = raster_combo(path)
        self.table.setCellWidget(r, 0, combo)
        item = QTableWidgetItem(date)
        item.setFlags(item.flags() & ~Qt.ItemIsEditable)  # shown, not used: the rows' order is the series' order
        item.setToolTip("From the raster's name or metadata (a stack: its first band's); the rows' order is the order of dates")
        self.table.setItem(r, 1, item)

    def layer_combos(self) -> list:
        """Every row's combo box."""
        return [self.table.cellWidget(r, 0) for r in range(self.table.rowCount())]

    def remove_selected(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(r)

    def rasters(self) -> list[str]:
        """The rasters' files, in the table's order."""
        out = []
        for r in range(self.table.rowCount()):
            combo = self.table.cellWidget(r, 0)
            layer = combo.currentLayer()
            path = layer.source().split("|")[0] if layer is not None else combo.currentText().strip()
            if path:
                out.append(path)
        return out

    def fill_from_project(self, read_info) -> list[str]:
        """The project's NDVI-like rasters (not masks, labels or red/NIR images), sorted by date; the notes."""
        from ...core.inputs.inventory import kind_of
        from ...core.inputs.sample import guess_scale
        from ...core.pipeline.rows import row_date

        found: list = []
        notes: list[str] = []
        skipped: list[str] = []
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() != layer.RasterLayer:
                continue
            try:
                info = read_info(layer.source(), layer.name())
            except TsstfnError:
                continue
            if info.classes or kind_of(info) == "scl":
                continue  # labels and masks are not NDVI
            if info.band_count > 1 and not any(info.band_dates):
                skipped.append(layer.name())  # a red/NIR image, or a stack whose band dates are unknown
                continue
            date = row_date({"coarse": layer.source()}) or ""
            found.append((date or "9999", layer.name(), layer.source(), date))
        self.table.setRowCount(0)
        for _, _, path, date in sorted(found):
            self.add_raster(path, date)
        undated = [name for key, name, _, date in sorted(found) if not date]
        if undated:
            notes.append(f"no date found for: {', '.join(undated)}; they are placed last (remove and add rows to reorder)")
        if skipped:
            notes.append(
                f"left out multi-band rasters without band dates: {', '.join(skipped)} (a stack of dates: put a "
                "<name>.timeline.txt beside it, one date per line, or add it with +)"
            )
        if found and not self.scale.text().strip():
            try:
                scale = guess_scale(found[0][2], 1, "ndvi")
            except TsstfnError:
                scale = None
            if scale is not None and scale != 1.0:
                self.scale.setText(f"{scale:g}")
                self.scale.setToolTip(self.scale.toolTip().split("\n")[0] + f"\nGuessed at Fill from {found[0][1]}")
        self.changed.emit()
        return notes
