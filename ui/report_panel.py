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


def show_report(iface, path: str | Path) -> ReportPanel:
    """The main window's report panel (created and docked on the right the first time), showing ``path``."""
    window = iface.mainWindow()
    panel = window.findChild(ReportPanel, OBJECT_NAME)
    if panel is None:
        panel = ReportPanel(window)
        if hasattr(iface, "addDockWidget"):
            iface.addDockWidget(Qt.RightDockWidgetArea, panel)
    panel.show_report(path)
    return panel
