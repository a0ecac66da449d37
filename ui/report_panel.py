"""The run report in a dock panel: kappa, the block kappa, areas with their intervals, the outputs."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtWidgets import QDockWidget, QTextBrowser

OBJECT_NAME = "tsstfnRunReport"


class ReportPanel(QDockWidget):
    """A dock showing one run report (Markdown rendered by Qt); links open in the system browser."""

    def __init__(self, parent=None) -> None:
        super().__init__("TSSTFN run report", parent)
        self.setObjectName(OBJECT_NAME)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.setWidget(self.browser)

    def show_report(self, path: str | Path) -> None:
        """Render the Markdown report at ``path`` (its images are found beside it)."""
        path = Path(path)
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
        self.browser.setMarkdown(path.read_text())
        self.setWindowTitle(f"TSSTFN run report: {path.parent.parent.name}")
        self.show()
        self.raise_()

    def scroll_to(self, text: str) -> bool:
        """Scroll so that the first occurrence of ``text`` is at the top; False when it is not in the report."""
        document = self.browser.document()
        cursor = document.find(text)
        if cursor.isNull():
            return False
        cursor.clearSelection()
        self.browser.setTextCursor(cursor)
        bar = self.browser.verticalScrollBar()
        bar.setValue(min(bar.maximum(), self.browser.cursorRect().top() + bar.value()))
        return True


def show_report(iface, path: str | Path, panel: ReportPanel | None = None) -> ReportPanel:
    """Show ``path`` in ``panel``, or in a new panel docked on the right of the main window; returns the panel.

    The plugin keeps the panel and removes it when it unloads.
    """
    if panel is None:
        window = iface.mainWindow()
        panel = ReportPanel(window)
        iface.addDockWidget(Qt.RightDockWidgetArea, panel)
        if hasattr(window, "resizeDocks"):  # wide enough for the tables
            window.resizeDocks([panel], [int(window.width() * 0.42)], Qt.Horizontal)
    panel.show_report(path)
    return panel
