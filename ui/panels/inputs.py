"""The Inputs panel: the three tables of dated pairs, the products, the season's start, Fill."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import TsstfnError
from ...core.inputs.products import PRODUCTS
from ..binding import Bind
from ..pairs_table import BAND_COLUMNS, LAYER_COLUMNS, PairsTable
from .columns import ColumnSettings

#: the tables' titles and tooltips, by the job's pair list
_TABLES = (
    ("reference", "Reference year (training) pairs",
     "Last year's MODIS/fine pairs through the season: the model learns from them how coarse NDVI maps to fine"),
    ("prediction", "Prediction year, early-season base pairs",
     "This year's clear early-season pairs (the paper uses 7): the inputs of each prediction"),
    ("targets", "Target dates (MODIS of the cloudy critical dates)",
     "This year's cloudy dates to predict fine NDVI for; a fine image, when there is one, only scores the result"),
)  # fmt: skip


def _rows_bind(key: str) -> Bind:
    return Bind(key, get=lambda p: p.rows(key), set=lambda p, v: p.tables[key].set_rows(v or []))


class InputsPanel(QWidget):
    """Owns the pair tables and the input settings; ``changed`` after Fill or a job was shown."""

    changed = pyqtSignal()

    BINDS = (
        _rows_bind("reference"),
        _rows_bind("prediction"),
        _rows_bind("targets"),
        Bind("coarse_product", "coarse_product"),
        Bind("fine_product", "fine_product"),
        Bind("assume_aligned", "assume_aligned", omit_empty=True),
        Bind(
            "pixel_size_m",
            get=lambda p: p.pixel_size.value() if p.assume_aligned.isChecked() else None,
            set=lambda p, v: p.pixel_size.setValue(float(v)) if v else None,
            omit_empty=True,
        ),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.skipped: list[str] = []
        self.undated_cells: list[tuple] = []  # (table, row, column) of the rows Fill could not date
        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.fill_button = QPushButton("Fill from project layers")
        self.fill_button.setToolTip(
            "Dates from the layer names/metadata; MODIS by name or pixel size; the latest year is the prediction year"
        )
        self.cutoff = QDateEdit(QDate(2000, 7, 1))
        self.cutoff.setDisplayFormat("d MMMM")
        self.cutoff.setToolTip(
            "Prediction-year dates from this day on are targets (the cloudy critical season); earlier ones are base "
            "pairs. The paper's critical dates are late July to early September."
        )
        top.addWidget(self.fill_button)
        top.addWidget(QLabel("critical season (targets) starts on"))
        top.addWidget(self.cutoff)
        top.addStretch()
        v.addLayout(top)
        v.addLayout(self._sensors_row())
        self.columns = ColumnSettings()
        v.addWidget(self.columns)
        self.tables = {key: PairsTable("real Sentinel-2 (optional, for scoring)" if key == "targets" else "Sentinel-2")
                       for key, _, _ in _TABLES}  # fmt: skip
        self.reference_table, self.prediction_table, self.targets_table = self.tables.values()
        self.tables_splitter = QSplitter(Qt.Vertical)
        self.tables_splitter.setChildrenCollapsible(False)
        for key, title, tip in _TABLES:
            self.tables_splitter.addWidget(self._table_section(self.tables[key], title, tip))
        v.addWidget(self.tables_splitter, 1)

    def _sensors_row(self) -> QHBoxLayout:
        sensors = QHBoxLayout()
        self.coarse_product, self.fine_product = QComboBox(), QComboBox()
        for combo, role, default in ((self.coarse_product, "coarse", "mod09gq"), (self.fine_product, "fine", "s2_l2a")):
            for name, product in PRODUCTS.items():
                if product.role in (role, "any"):
                    combo.addItem(name, name)
                    combo.setItemData(combo.count() - 1, product.description, Qt.ToolTipRole)
            combo.setCurrentIndex(combo.findData(default))
        self.coarse_product.setToolTip("How the MODIS layers store NDVI or red/NIR (HDF files and subdatasets are recognised)")
        self.fine_product.setToolTip(
            "How the fine layers store red/NIR: Sentinel-2 L2A (SAFE, zip or band files; the baseline comes from the "
            "metadata), Landsat Collection 2 Level-2 (scene folder, MTL or band file), or NDVI"
        )
        self.assume_aligned = QCheckBox("rasters without CRS, on one pixel grid; pixel size")
        self.assume_aligned.setToolTip(
            "For fusion benchmark sets (e.g. ENVI files): every raster lacks a CRS and all share one pixel grid; "
            "outputs keep that grid. Give the fine pixel's size in metres."
        )
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setRange(0.1, 10000)
        self.pixel_size.setValue(30)
        self.pixel_size.setSuffix(" m")
        self.pixel_size.setToolTip("The fine pixel's size in metres when the rasters have no CRS (30 m for Landsat)")
        for widget in (QLabel("MODIS product"), self.coarse_product, QLabel("fine product"), self.fine_product):
            sensors.addWidget(widget)
        sensors.addWidget(self.assume_aligned)
        sensors.addWidget(self.pixel_size)
        sensors.addStretch()
        return sensors

    @staticmethod
    def _table_section(table: PairsTable, title: str, tip: str) -> QWidget:
        table.setToolTip(tip)
        section = QWidget()
        box = QVBoxLayout(section)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(f"<b>{title}</b>"))
        row.addStretch()
        add, remove = QPushButton("+"), QPushButton("−")
        for button, tip_text in ((add, "Add a row"), (remove, "Remove the selected rows")):
            button.setFixedWidth(28)
            button.setToolTip(tip_text)
            row.addWidget(button)
        add.clicked.connect(lambda _=False, t=table: t.add_row({}))
        remove.clicked.connect(lambda _=False, t=table: t.remove_selected())
        box.addLayout(row)
        box.addWidget(table)
        return section

    def rows(self, key: str) -> list[dict]:
        """A table's rows as the job's pairs, with the column settings in each raster."""
        rows = self.tables[key].rows()
        for column in ("coarse", "fine"):
            rows = self.columns.apply(column, rows)
        return rows

    def before_apply(self, data: dict) -> dict:
        """A job to show: the settings shared by every raster of a column go into the column fields."""
        from ...core.pipeline.rows import row_date

        lists = ("reference", "prediction", "targets")
        rows = [row for key in lists for row in data.get(key) or []]
        rows = [row if row.get("date") else {**row, "date": row_date(row) or ""} for row in rows]  # shown, not guessed
        adopted = self.columns.adopt(rows)
        out, start = dict(data), 0
        for key in lists:
            n = len(data.get(key) or [])
            out[key] = adopted[start : start + n]
            start += n
        return out

    def guess_settings(self) -> None:
        """Guess each column's scale from a sample of its first raster (NDVI or reflectance stored x 10000)."""
        from ...core.inputs.sample import guess_scale
        from ...core.pipeline.rows import raster_of

        rows = self.prediction_table.rows() or self.reference_table.rows()
        for column, combo in (("coarse", self.coarse_product), ("fine", self.fine_product)):
            path, band = raster_of(rows[0].get(column)) if rows else (None, 1)
            try:
                scale = guess_scale(path, band, combo.currentData()) if path else None
            except TsstfnError:
                scale = None
            self.columns.guess(column, "scale", scale, f"the sampled values of {os.path.basename(path or '')}")

    def season_start(self) -> tuple[int, int]:
        """``(month, day)`` the critical season starts on."""
        return self.cutoff.date().month(), self.cutoff.date().day()

    def layer_label(self, key: str, row: int, column: str) -> str:
        """The layer name shown at a row's raster column (for messages)."""
        table = self.tables[key]
        if row >= table.rowCount() or column not in LAYER_COLUMNS:
            return ""
        name = table.layer_name(row, LAYER_COLUMNS[column])
        return "" if name == "(none)" else name

    def cell(self, key: str, row: int, column: str) -> tuple[PairsTable, int, int]:
        """The table cell of a place that core names: ``(table, row, column index)``."""
        columns = {"date": 0, **LAYER_COLUMNS, **{f"{k}_band": c for k, c in BAND_COLUMNS.items()}}
        return self.tables[key], row, columns.get(column, 0)

    def fill_from_project(self, read_info: Callable[[str, str], Any]) -> list[str]:
        """Sort the project's rasters into the tables by date, sensor and product (core's inventory rules).

        ``read_info(path, name)`` reads a raster's header (the dialog remembers them). Returns the
        notes for the message line: undated layers, incomplete pairs, layers left out.
        """
        from ...core.inputs.inventory import build_tables
        from ...core.inputs.products import get_product

        infos = []
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() == layer.RasterLayer:
                try:
                    infos.append(read_info(layer.source(), layer.name()))
                except TsstfnError:
                    continue  # not readable by GDAL (a web layer): not an input
        tables = build_tables(
            infos, self.season_start(), get_product(self.coarse_product.currentData()),
            get_product(self.fine_product.currentData()),
        )  # fmt: skip
        for key in self.tables:
            self.tables[key].set_rows(getattr(tables, key))
        first_undated = self.prediction_table.rowCount()
        for row in tables.undated_rows:  # their date is for the analyst to type (highlighted by the dialog)
            self.prediction_table.add_row(row)
        self.undated_cells = [(self.prediction_table, r, 0) for r in range(first_undated, self.prediction_table.rowCount())]
        notes = (
            [f"no date found for: {', '.join(tables.undated)}; type each date in the highlighted cells (prediction table)"]
            if tables.undated
            else []
        )
        if len(tables.incomplete) > 4:  # e.g. daily MODIS with a few fine images: the count and the first few
            shown = "; ".join(tables.incomplete[:3])
            notes.append(f"{len(tables.incomplete)} dates have one sensor only and are left out ({shown}; …)")
        else:
            notes += tables.incomplete
        if tables.skipped:
            notes.append(f"left out {len(tables.skipped)} layer(s) that fit no column (details in the tooltip)")
        self.skipped = tables.skipped
        self.guess_settings()
        self.changed.emit()
        return notes
