"""A table of dated MODIS / Sentinel-2 rows: date | MODIS | Sentinel-2 | cloud mask."""

from __future__ import annotations

from qgis.core import QgsMapLayerProxyModel, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLUMNS = ("date", "MODIS", "Sentinel-2", "cloud mask (SCL)")
KEYS = ("coarse", "fine", "fine_mask")  # the job-file keys of columns 1..3


def _path_of(value) -> str | None:
    return value.get("path") if isinstance(value, dict) else value


class PairsTable(QTableWidget):
    def __init__(self, sentinel2_header: str = "Sentinel-2", parent=None) -> None:
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels([COLUMNS[0], COLUMNS[1], sentinel2_header, COLUMNS[3]])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)

    def _combo(self, path: str | None) -> QgsMapLayerComboBox:
        combo = QgsMapLayerComboBox()
        combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        combo.setAllowEmptyLayer(True)
        layer = next((lyr for lyr in QgsProject.instance().mapLayers().values() if path and lyr.source() == path), None)
        if layer is not None:
            combo.setLayer(layer)
        elif path:
            combo.setAdditionalItems([path])
            combo.setCurrentIndex(combo.count() - 1)
        else:
            combo.setLayer(None)
        return combo

    def add_row(self, row: dict) -> None:
        """A row from a job file's pair (rasters as paths, or as mappings with 'path' and 'mask')."""
        r = self.rowCount()
        self.insertRow(r)
        self.setItem(r, 0, QTableWidgetItem(row.get("date") or ""))
        fine = row.get("fine")
        paths = {
            "coarse": _path_of(row.get("coarse")),
            "fine": _path_of(fine),
            "fine_mask": row.get("fine_mask") or (fine.get("mask") or None if isinstance(fine, dict) else None),
        }
        for col, key in enumerate(KEYS, start=1):
            self.setCellWidget(r, col, self._combo(paths[key]))

    def set_rows(self, rows: list[dict]) -> None:
        self.setRowCount(0)
        for row in rows:
            self.add_row(row)

    def _path(self, r: int, col: int) -> str | None:
        combo = self.cellWidget(r, col)
        if combo.currentLayer() is not None:
            return combo.currentLayer().source().split("|")[0]
        text = combo.currentText().strip()
        return text or None

    def layer_name(self, r: int, col: int) -> str:
        combo = self.cellWidget(r, col)
        return combo.currentLayer().name() if combo.currentLayer() is not None else (combo.currentText() or "(none)")

    def rows(self) -> list[dict]:
        out = []
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            row = {"date": item.text().strip() if item else ""}
            row.update({key: self._path(r, col) for col, key in enumerate(KEYS, start=1)})
            out.append({k: v for k, v in row.items() if v})
        return out

    def remove_selected(self) -> None:
        for r in sorted({i.row() for i in self.selectedIndexes()}, reverse=True):
            self.removeRow(r)
