"""Settings of a whole column of the pair tables: bands, scale, offset, nodata and mask kind of every MODIS or fine raster.

Real downloads rarely match a product's defaults (an ENVI stack of reflectance x 10000, a 0-1
MODIS reflectance, an undeclared fill value, CFMask masks). A value set here goes into every raster
mapping of its column when the job is built (``{"path": ..., "scale": 0.0001}``); an empty field
keeps the product's own value. Fill guesses the scale from a sample of the first raster's values and
shows where the guess came from.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QDoubleValidator, QIntValidator
from qgis.PyQt.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from ...core.inputs.products import MASK_KINDS

#: raster-mapping keys a column sets, with the label and tooltip of their field
NUMBERS = (
    ("red_band", "red band", "The band holding red in a multi-band reflectance stack (empty: the product's)"),
    ("nir_band", "NIR band", "The band holding near infrared in a multi-band reflectance stack (empty: the product's)"),
    ("scale", "scale", "Value = DN x scale + offset; 0.0001 for reflectance or NDVI stored x 10000 (empty: the product's)"),
    ("add_offset", "offset", "Added to the DN before scaling for red/NIR products (empty: the product's)"),
    ("nodata", "nodata", "A fill value the file does not declare, e.g. -9999 (empty: the file's own)"),
)
INTEGER_KEYS = ("red_band", "nir_band")
COLUMNS = {"coarse": "MODIS", "fine": "fine"}


def _text(value) -> str:
    """A number as typed back exactly (a fill of -3.4028234663852886e+38 must not lose digits)."""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


class ColumnSettings(QWidget):
    """A row of fields per column (``coarse``, ``fine``); values apply to every raster of the column."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, dict[str, QLineEdit]] = {}
        self.mask_kind: dict[str, QComboBox] = {}
        self._guessed: dict[tuple[str, str], str] = {}  # (column, key) -> the text Fill last guessed
        for row, (column, title) in enumerate(COLUMNS.items()):
            grid.addWidget(QLabel(f"{title} rasters"), row, 0)
            self.fields[column] = {}
            for col, (key, label, tip) in enumerate(NUMBERS, start=1):
                edit = QLineEdit()
                edit.setValidator(QIntValidator(1, 9999) if key in INTEGER_KEYS else QDoubleValidator())
                edit.setPlaceholderText(f"{label}: product's" if key != "nodata" else "nodata: the file's")
                edit.setToolTip(f"{title} column: {tip}")
                edit.setObjectName(f"{column}_{key}")
                grid.addWidget(edit, row, col)
                self.fields[column][key] = edit
            combo = QComboBox()
            combo.addItem("mask kind: product's", None)
            for name, kind in MASK_KINDS.items():
                combo.addItem(name, name)
                combo.setItemData(combo.count() - 1, kind.description, Qt.ToolTipRole)
            combo.setToolTip(
                f"{title} column: how its cloud masks code clouds (Sentinel-2 SCL, Landsat CFMask or QA_PIXEL bits, "
                "MODIS state/QA bits, any non-zero = cloud)"
            )
            grid.addWidget(combo, row, len(NUMBERS) + 1)
            self.mask_kind[column] = combo

    def values(self, column: str) -> dict:
        """The settings of ``column`` that are set, as raster-mapping keys."""
        out: dict = {}
        for key, edit in self.fields[column].items():
            text = edit.text().strip()
            if text:
                try:
                    out[key] = int(text) if key in INTEGER_KEYS else float(text.replace(",", "."))
                except ValueError:
                    continue  # half-typed: the validator keeps the rest out
        if self.mask_kind[column].currentData():
            out["mask_kind"] = self.mask_kind[column].currentData()
        return out

    def set_values(self, column: str, values: dict) -> None:
        """Show ``values`` (raster-mapping keys) in ``column``'s fields; a key not given is cleared."""
        for key, edit in self.fields[column].items():
            edit.setText("" if values.get(key) is None else _text(values[key]))
            edit.setToolTip(edit.toolTip().split("\n")[0])
        combo = self.mask_kind[column]
        combo.setCurrentIndex(max(0, combo.findData(values.get("mask_kind"))))

    def guess(self, column: str, key: str, value, why: str) -> None:
        """Show a guessed value unless the analyst typed one, and say where it came from in its tooltip.

        A field that still holds an earlier guess takes the new one (another data set was filled).
        """
        edit = self.fields[column][key]
        text = edit.text().strip()
        if text and text != self._guessed.get((column, key)):
            return  # typed by the analyst (or loaded from a job): kept
        guessed = "" if value is None else _text(value)
        edit.setText(guessed)
        self._guessed[(column, key)] = guessed
        tip = edit.toolTip().split("\n")[0]
        edit.setToolTip(f"{tip}\nGuessed at Fill: {why}" if guessed else tip)

    def apply(self, column: str, rows: list[dict]) -> list[dict]:
        """``rows`` with this column's settings written into each of its rasters."""
        values = self.values(column)
        if not values:
            return rows
        out = []
        for row in rows:
            spec = row.get(column)
            if spec:
                spec = {"path": spec} if isinstance(spec, str) else dict(spec)
                row = {**row, column: {**spec, **values}}
            out.append(row)
        return out

    def adopt(self, rows: list[dict]) -> list[dict]:
        """Take the settings every raster of a column shares into the fields; ``rows`` without them.

        Settings that differ between rasters stay with each raster (the fields stay empty).
        """
        keys = [key for key, _, _ in NUMBERS] + ["mask_kind"]
        for column in COLUMNS:
            specs = [r[column] for r in rows if r.get(column)]
            shared = {}
            for key in keys:
                seen = {spec.get(key) if isinstance(spec, dict) else None for spec in specs}
                if len(seen) == 1 and None not in seen:
                    shared[key] = seen.pop()
            self.set_values(column, shared)
            if shared:
                rows = [self._without(r, column, shared) for r in rows]
        return rows

    @staticmethod
    def _without(row: dict, column: str, keys) -> dict:
        spec = row.get(column)
        if not isinstance(spec, dict):
            return row
        rest = {k: v for k, v in spec.items() if k not in keys}
        return {**row, column: rest if set(rest) != {"path"} else rest["path"]}
