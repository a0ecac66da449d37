"""Marks on the dialog's cells and widgets where validation found a fault."""

from __future__ import annotations

from qgis.PyQt.QtGui import QColor

HIGHLIGHT = "#ffd0d0"


class Highlighter:
    """Colours a table cell (selected and scrolled to) or a widget, and clears the marks again.

    A cell is kept as its place ``(table, row, column)``, never as the object: a table deletes a
    row's widgets and items with the row.
    """

    def __init__(self) -> None:
        self._marked: list = []

    def mark(self, cell: tuple | None, widget=None) -> None:
        """Mark ``cell`` (``(table, row, column)``) or, without one, ``widget``."""
        if cell is not None:
            table, row, column = cell
            table.setCurrentCell(row, column)
            table.scrollToItem(table.item(row, 0))
            thing = table.cellWidget(row, column)
            if thing is not None:
                thing.setStyleSheet(f"background-color: {HIGHLIGHT};")
            elif table.item(row, column) is not None:
                table.item(row, column).setBackground(QColor(HIGHLIGHT))
            self._marked.append((table, row, column))
        elif widget is not None:
            widget.setStyleSheet(f"background-color: {HIGHLIGHT};")
            widget.setFocus()
            self._marked.append(widget)

    def clear(self) -> None:
        """Remove every mark."""
        for thing in self.current():
            if hasattr(thing, "setStyleSheet"):
                thing.setStyleSheet("")
            else:
                thing.setBackground(QColor(0, 0, 0, 0))
        self._marked = []

    def current(self) -> list:
        """The marked widgets and table items that still exist."""
        out = []
        for thing in self._marked:
            if isinstance(thing, tuple):
                table, row, column = thing
                if row < table.rowCount():
                    cell = table.cellWidget(row, column) or table.item(row, column)
                    if cell is not None:
                        out.append(cell)
                continue
            out.append(thing)  # one of the dialog's own widgets: it lives as long as the dialog
        return out
