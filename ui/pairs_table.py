"""A table of dated rows: date | MODIS | band | Sentinel-2 | band | cloud mask.

A cell holds a layer of the project (or a path); the band picks one date of a multi-band stack.
Other settings a job file gives a raster (scale, product, mask kind, ...) are kept with the row,
so loading and saving a job file loses nothing.
"""

from __future__ import annotations

from qgis.core import QgsMapLayerProxyModel, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QSpinBox, QTableWidget, QTableWidgetItem

HEADERS = ("date", "MODIS", "band", "Sentinel-2", "band", "cloud mask (SCL)")
LAYER_COLUMNS = {"coarse": 1, "fine": 3, "fine_mask": 5}  # job-file key -> column of its layer
BAND_COLUMNS = {"coarse": 2, "fine": 4}


def _split(value) -> tuple[str | None, int, dict]:
    """``(path, band, other keys)`` of a raster given as a path or a mapping."""
    if isinstance(value, dict):
        rest = {k: v for k, v in value.items() if k not in ("path", "band")}
        return value.get("path"), int(value.get("band", 1)), rest
    return value, 1, {}


def raster_combo(path: str | None) -> QgsMapLayerComboBox:
    """A raster-layer box showing the project layer whose source is ``path``, else ``path`` itself, else nothing."""
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


class PairsTable(QTableWidget):
    def __init__(self, fine_header: str = "Sentinel-2", parent=None) -> None:
        super().__init__(0, len(HEADERS), parent)
        headers = list(HEADERS)
        headers[LAYER_COLUMNS["fine"]] = fine_header
        self.setHorizontalHeaderLabels(headers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Stretch)
        for col in (0, *BAND_COLUMNS.values()):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.horizontalHeaderItem(BAND_COLUMNS["coarse"]).setToolTip("The band of this date in a multi-band MODIS stack")
        self.horizontalHeaderItem(BAND_COLUMNS["fine"]).setToolTip("The band of this date in a multi-band stack")
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self._extra: list[dict] = []  # per row: the other keys of each raster

    def _combo(self, path: str | None) -> QgsMapLayerComboBox:
        return raster_combo(path)

    @staticmethod
    def _band(value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(1, 9999)
        spin.setValue(value)
        return spin

    def add_row(self, row: dict) -> None:
        """A row from a job file's pair (rasters as paths, or as mappings with 'path', 'band', 'mask', ...)."""
        r = self.rowCount()
        self.insertRow(r)
        self.setItem(r, 0, QTableWidgetItem(row.get("date") or ""))
        extra = {}
        for key in ("coarse", "fine"):
            path, band, rest = _split(row.get(key))
            if key == "fine" and "mask" in rest and not row.get("fine_mask"):
                row = {**row, "fine_mask": rest.pop("mask")}
            extra[key] = rest
            self.setCellWidget(r, LAYER_COLUMNS[key], self._combo(path))
            self.setCellWidget(r, BAND_COLUMNS[key], self._band(band))
        self.setCellWidget(r, LAYER_COLUMNS["fine_mask"], self._combo(row.get("fine_mask") or None))
        self._extra.insert(r, extra)

    def set_rows(self, rows: list[dict]) -> None:
        self.setRowCount(0)
        self._extra = []
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
        """The rows as a job file's pairs: a raster is its path, or a mapping when it has a band or other keys."""
        out = []
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            row: dict = {"date": item.text().strip() if item else ""}
            for key in ("coarse", "fine"):
                path = self._path(r, LAYER_COLUMNS[key])
                if not path:
                    continue
                band = self.cellWidget(r, BAND_COLUMNS[key]).value()
                spec = {"path": path, **({"band": band} if band != 1 else {}), **self._extra[r].get(key, {})}
                row[key] = spec if len(spec) > 1 else path
            mask = self._path(r, LAYER_COLUMNS["fine_mask"])
            if mask:
                row["fine_mask"] = mask
            out.append({k: v for k, v in row.items() if v})
        return out

    def layer_combos(self) -> list:
        """Every layer cell's combo box."""
        return [self.cellWidget(r, c) for r in range(self.rowCount()) for c in LAYER_COLUMNS.values()]

    def remove_selected(self) -> None:
        self.remove_rows({i.row() for i in self.selectedIndexes()})

    def remove_rows(self, rows) -> None:
        """Remove the rows numbered ``rows`` (with what each kept of its job file)."""
        for r in sorted(set(rows), reverse=True):
            self.removeRow(r)
            del self._extra[r]

    def add_empty_row(self) -> None:
        self.add_row({})
