"""The NDVI series panel of the classify-only mode: the NDVI rasters (or stacks) the analyst has, in date order."""

from __future__ import annotations

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QDoubleValidator
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
from ..highlight import HIGHLIGHT
from ..pairs_table import raster_combo


class SeriesPanel(QWidget):
    """Owns the series table, the bands of stacks and the scale; ``changed`` after Fill."""

    changed = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.undated_cells: list[tuple] = []  # (table, row, column) of the rows Fill could not date
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
        self.table.itemChanged.connect(self._date_typed)
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
        item.setFlags(item.flags() | Qt.ItemIsEditable)
        item.setToolTip(
            "YYYY-MM-DD, from the raster's name or metadata (a stack: its first band's), or typed: the gap-filling weighs "
            "by the dates' days. The rows' order is the order of dates; a stack's own band dates win over a typed one"
        )
        self.table.setItem(r, 1, item)

    def _date_typed(self, item) -> None:
        """A date typed into a highlighted cell: the mark goes."""
        if item.column() == 1 and item.text().strip():
            item.setBackground(QBrush())

    def layer_combos(self) -> list:
        """Every row's combo box."""
        return [self.table.cellWidget(r, 0) for r in range(self.table.rowCount())]

    def remove_selected(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(r)

    def _row_path(self, r: int) -> str:
        combo = self.table.cellWidget(r, 0)
        layer = combo.currentLayer()
        return layer.source().split("|")[0] if layer is not None else combo.currentText().strip()

    def rasters(self) -> list[str]:
        """The rasters' files, in the table's order."""
        return [p for p in (self._row_path(r) for r in range(self.table.rowCount())) if p]

    def dates(self) -> list[str]:
        """The date cell of each row :meth:`rasters` returns (as shown or typed; '' where empty), in the same order."""
        out = []
        for r in range(self.table.rowCount()):
            if self._row_path(r):
                item = self.table.item(r, 1)
                out.append(item.text().strip() if item is not None else "")
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
        self.undated_cells = [(self.table, r, 1) for r, (*_, date) in enumerate(sorted(found)) if not date]
        for _, r, column in self.undated_cells:  # the cells to type in, marked until a date is typed
            self.table.item(r, column).setBackground(QColor(HIGHLIGHT))
        if undated:
            notes.append(
                f"no date found for: {', '.join(undated)}; they are placed last: type each date in the highlighted cells "
                "(YYYY-MM-DD) and put the rows in date order (remove and add rows to reorder)"
            )
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
