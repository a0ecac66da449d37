"""Get imagery: search STAC APIs for Sentinel-2/Landsat and MODIS pairs over the map or an AOI layer, download them.

Thin: the form gathers a fetch job (core's :func:`~..core.fetch.request.request_from_dict` checks it),
*Search* and *Download* run core's :func:`~..core.fetch.run.find_pairs` and
:func:`~..core.fetch.run.run_fetch` in a :class:`~.task.BaseTask`, the table shows core's rows, and
the downloaded files load into a layer group, where the main dialog's *Fill* places them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsGeometry,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QDate, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..core.errors import TsstfnError
from ..core.fetch.catalog import COARSE_COLLECTIONS, ENDPOINTS, FINE_COLLECTIONS
from .task import BaseTask, run_in_background

COLUMNS = ("Date", "Sensor", "Cloud over AOI", "Paired MODIS item", "Critical season", "Row")
_WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


class FetchTask(BaseTask):
    """Core's search (``found`` None) or download (``found`` the search's result) off the GUI thread."""

    def __init__(self, request, found=None, on_done=None) -> None:
        super().__init__("TSSTFN Crop Mapper: " + ("download imagery" if found else "search imagery"), on_done)
        self.request, self.found = request, found

    def _run(self) -> Any:
        from ..core.fetch.run import find_pairs, run_fetch

        if self.found is None:
            return find_pairs(self.request, self._progress, self.isCanceled)
        return run_fetch(self.request, self.found, self._progress, self.isCanceled)


def _date_edit(value: dt.date) -> QDateEdit:
    edit = QDateEdit(QDate(value.year, value.month, value.day))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


def _endpoint_combo(default: str) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)  # any STAC API: type its URL
    combo.addItems(list(ENDPOINTS))
    combo.setCurrentText(default)
    combo.setToolTip("earth-search, planetary-computer, or the URL of any STAC API (an institution's own)")
    return combo


def _iso(edit: QDateEdit) -> str:
    return edit.date().toString("yyyy-MM-dd")


def layer_aoi(layer, project: QgsProject) -> tuple[list[float], dict | None]:
    """A polygon layer's box and union (GeoJSON) in EPSG:4326."""
    transform = QgsCoordinateTransform(layer.crs(), _WGS84, project)
    union = QgsGeometry.unaryUnion([f.geometry() for f in layer.getFeatures()])
    union.transform(transform)
    box = union.boundingBox()
    return [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()], json.loads(union.asJson(6))


class FetchDialog(QDialog):
    """The search/download dialog; ``loaded(group_name, paths)`` once the downloaded layers are in the project."""

    loaded = pyqtSignal(str, list)

    def __init__(self, iface=None, parent=None) -> None:
        super().__init__(parent)
        self.iface, self.task, self.found, self.request = iface, None, None, None
        self.result = None
        self.setWindowTitle("TSSTFN Crop Mapper: get the imagery")
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._poll)

    # the form ----------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        aoi_row = QHBoxLayout()
        self.canvas_radio = QRadioButton("Map canvas extent")
        self.layer_radio = QRadioButton("Polygon layer")
        self.canvas_radio.setChecked(True)
        self.aoi_layer = QgsMapLayerComboBox()
        self.aoi_layer.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.aoi_layer.layerChanged.connect(self._aoi_layer_changed)  # a method: disconnected when the dialog goes
        for w in (self.canvas_radio, self.layer_radio, self.aoi_layer):
            aoi_row.addWidget(w)
        form.addRow("Area of interest", aoi_row)
        year = dt.date.today().year - 1
        self.reference = (_date_edit(dt.date(year - 1, 4, 1)), _date_edit(dt.date(year - 1, 9, 30)))
        self.prediction = (_date_edit(dt.date(year, 4, 1)), _date_edit(dt.date(year, 9, 30)))
        self.critical = (_date_edit(dt.date(year, 7, 1)), _date_edit(dt.date(year, 9, 30)))
        for label, pair in (("Reference season", self.reference), ("Prediction season", self.prediction),
                            ("Critical season (month, day)", self.critical)):  # fmt: skip
            row = QHBoxLayout()
            row.addWidget(pair[0])
            row.addWidget(QLabel("to"))
            row.addWidget(pair[1])
            form.addRow(label, row)
        self.cloud = QSpinBox()
        self.cloud.setRange(0, 100)
        self.cloud.setValue(20)
        self.cloud.setSuffix(" %")
        self.sample_masks = QCheckBox("measure on the SCL/QA asset (a small read per scene)")
        row = QHBoxLayout()
        row.addWidget(self.cloud)
        row.addWidget(self.sample_masks)
        form.addRow("Cloud over the AOI at most", row)
        self.endpoint, self.coarse_endpoint = _endpoint_combo("earth-search"), _endpoint_combo("planetary-computer")
        self.fine_collection, self.coarse_collection = QComboBox(), QComboBox()
        self.fine_collection.addItems(list(FINE_COLLECTIONS))
        self.coarse_collection.addItems(list(COARSE_COLLECTIONS))
        for label, endpoint, collection in (("Fine scenes", self.endpoint, self.fine_collection),
                                            ("MODIS", self.coarse_endpoint, self.coarse_collection)):  # fmt: skip
            row = QHBoxLayout()
            row.addWidget(endpoint, 2)
            row.addWidget(collection, 1)
            form.addRow(label, row)
        self.out_dir = QgsFileWidget()
        self.out_dir.setStorageMode(QgsFileWidget.GetDirectory)
        form.addRow("Download into", self.out_dir)
        layout.addLayout(form)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        layout.addWidget(self.table, 1)
        self.status = QLabel("Choose the area and seasons, then Search.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.search_button = QPushButton("Search")
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        close = QPushButton("Close")
        self.search_button.clicked.connect(self.search)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel)
        close.clicked.connect(self.close)
        buttons.addStretch(1)
        for b in (self.search_button, self.download_button, self.cancel_button, close):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.resize(900, 640)

    def aoi(self) -> tuple[list[float], dict | None]:
        """The AOI in EPSG:4326: the chosen polygon layer's box and union, or the canvas extent."""
        project = QgsProject.instance()
        layer = self.aoi_layer.currentLayer()
        if self.layer_radio.isChecked() and layer is not None:
            return layer_aoi(layer, project)
        if self.iface is None:
            return [0.0, 0.0, 0.0, 0.0], None
        canvas = self.iface.mapCanvas()
        transform = QgsCoordinateTransform(canvas.mapSettings().destinationCrs(), _WGS84, project)
        box: QgsRectangle = transform.transformBoundingBox(canvas.extent())
        return [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()], None

    def request_dict(self) -> dict:
        """The fetch job as the form says (core checks it)."""
        box, geometry = self.aoi()
        return {
            "aoi": box, "geometry": geometry,
            "reference": [_iso(self.reference[0]), _iso(self.reference[1])],
            "prediction": [_iso(self.prediction[0]), _iso(self.prediction[1])],
            "critical_start": self.critical[0].date().toString("MM-dd"),
            "critical_end": self.critical[1].date().toString("MM-dd"),
            "cloud_max": self.cloud.value(), "sample_masks": self.sample_masks.isChecked(),
            "endpoint": self.endpoint.currentText().strip(), "coarse_endpoint": self.coarse_endpoint.currentText().strip(),
            "fine_collection": self.fine_collection.currentText(), "coarse_collection": self.coarse_collection.currentText(),
            "out_dir": self.out_dir.filePath().strip(),
        }  # fmt: skip

    # work -------------------------------------------------------------------------------
    def _start(self, task: FetchTask) -> None:
        self.task = task
        self.search_button.setEnabled(False)
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        run_in_background(task)
        self.timer.start(200)

    def _poll(self) -> None:
        if self.task is not None:
            self.progress.setValue(int(100 * self.task.fraction))
            if self.task.step:
                self.status.setText(self.task.step)

    def _ended(self) -> None:
        self.task = None
        self.timer.stop()
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.search_button.setEnabled(True)

    def search(self) -> None:
        """Check the form (core's checks) and search in the background."""
        from ..core.fetch.request import request_from_dict

        try:
            request = request_from_dict(self.request_dict())
        except TsstfnError as exc:
            self.status.setText(str(exc))
            return
        self.request = request
        self.status.setText("Searching…")
        self._start(FetchTask(request, None, self._searched))

    def _searched(self, found, error: str | None) -> None:
        self._ended()
        if error:
            self.status.setText(error)
            return
        self.show_pairs(found)

    def show_pairs(self, found) -> None:
        """Fill the table from core's search result; say what a download would write, and how much."""
        from ..core.fetch.download import estimate_bytes, plan_files

        self.found = found
        self.table.setRowCount(len(found.pairs))
        for i, p in enumerate(found.pairs):
            cloud = f"{p.cloud:.1f} %" if p.cloud is not None else ""
            values = (p.date.isoformat(), p.sensor_label, cloud, p.coarse_label, "yes" if p.critical else "", p.role)
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if not p.downloads:
                    item.setForeground(Qt.gray)
                self.table.setItem(i, j, item)
        tasks = plan_files(found.pairs, self.request) if self.request is not None else []
        rows = len(found.to_download)
        self.status.setText(
            f"{found.fine_items} fine scene(s), {found.coarse_items} MODIS item(s): {rows} row(s) to download, "
            f"{len(tasks)} file(s), about {estimate_bytes(tasks) / 1e6:.1f} MB (only the AOI of each asset)."
        )
        self.download_button.setEnabled(rows > 0)

    def download(self) -> None:
        """Download the table's pairs and targets in the background."""
        if self.found is None or self.request is None:
            return
        self.status.setText("Downloading…")
        self._start(FetchTask(self.request, self.found, self._downloaded))

    def cancel(self) -> None:
        """Cancel the search or download (complete files are kept; a new Download resumes)."""
        if self.task is not None:
            self.task.cancel()

    def _downloaded(self, result, error: str | None) -> None:
        self._ended()
        self.download_button.setEnabled(True)
        if error:
            self.status.setText(error)
            return
        self.result = result
        name, paths = self.load_layers(result)
        kept = f", {len(result.download.kept)} already complete" if result.download.kept else ""
        self.status.setText(
            f"{len(result.download.written)} file(s) written{kept}; loaded into the group '{name}'. In the main dialog, "
            f"Fill places them; the job file {result.job_file} runs them from the command line (add samples)."
        )
        self.loaded.emit(name, paths)

    def load_layers(self, result) -> tuple[str, list[str]]:
        """Add the downloaded files (hidden) to a group named after the folder; returns its name and the paths added."""
        project = QgsProject.instance()
        name = f"Imagery {result.request_file.parent.name}"
        root = project.layerTreeRoot()
        group = root.findGroup(name) or root.insertGroup(0, name)
        present = {layer.source() for layer in project.mapLayers().values()}
        paths = []
        for path in result.files:
            if str(path) in present:
                continue
            layer = QgsRasterLayer(str(path), path.stem)
            if layer.isValid():
                project.addMapLayer(layer, False)
                group.addLayer(layer).setItemVisibilityChecked(False)
                paths.append(str(path))
        return name, paths

    def _aoi_layer_changed(self, *_: object) -> None:
        from qgis.PyQt import sip

        if not sip.isdeleted(self.layer_radio) and not sip.isdeleted(self.aoi_layer):
            self.layer_radio.setChecked(self.aoi_layer.currentLayer() is not None)

    def stop(self) -> None:
        """Cancel a running search or download and detach it: it never calls back into this dialog."""
        self.timer.stop()
        task, self.task = self.task, None
        if task is not None and not sip.isdeleted(task):  # the task manager deletes a task that has ended
            task.on_done = None
            task.cancel()
            self._ended()
            self.download_button.setEnabled(self.found is not None)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.stop()
        super().closeEvent(event)
