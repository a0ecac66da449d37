"""The dialog: panels gather a job, core validates it, the dialog emits it. It never runs the work.

Each tab is a panel (:mod:`.panels`) that owns its widgets and declares once which job fields they
show (:mod:`.binding`); the dialog keeps the buttons, the message line, load/save and the settings,
and points at the cell or widget that core's checks name.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from qgis.core import QgsProject, QgsSettings
from qgis.PyQt.QtCore import QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
)

from ..core.errors import TsstfnError
from ..core.pipeline.rows import RowChecker
from .binding import apply, collect, flat_keys, preset_or_spec_default, stated, unbound
from .builder import CLASSIFY, FUSE, INPUTS, MODEL, DialogError, JobBuilder
from .estimate import EstimateBar
from .highlight import Highlighter
from .panels.inputs import InputsPanel
from .panels.model import ModelPanel
from .panels.outputs import OutputsPanel
from .panels.run_state import RunStatePanel
from .panels.series import SeriesPanel
from .task import CallTask, run_in_background

SETTINGS_KEY = "tsstfn_crop_mapper/last_job"
HELP_URL = "https://github.com/tsstfn-crop-mapper/tsstfn_crop_mapper#readme"


def _available_devices() -> list:
    """The devices to offer; without an NVIDIA GPU no torch import (it would hold the GIL, freezing QGIS for seconds)."""
    import sys

    from ..core.deps import has_nvidia_gpu

    if "torch" not in sys.modules and not has_nvidia_gpu():
        return [("cpu", "CPU")]
    from ..core.fusion.training import available_devices

    return available_devices()


#: a loaded job's fields without a widget that belong to its scene: Fill (another scene) drops them
SCENE_FIELDS = ("aoi", "fields", "field_rule", "save_model", "resume")


class CropMapperDialog(QDialog):
    """Emits ``job_ready(Job)`` when the analyst presses Run and the job is valid."""

    job_ready = pyqtSignal(object)

    def __init__(self, iface=None, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.setWindowTitle("TSSTFN Crop Mapper")
        self.setSizeGripEnabled(True)
        self.marks = Highlighter()
        self.checker = RowChecker(lambda key, row, column: self.inputs.layer_label(key, row, column))
        self.builder = JobBuilder(self)
        self.timings: dict[str, float] = {}  # seconds of the last open/validation, for the desktop test and the log
        start = time.perf_counter()
        # before any layer box exists: this slot must run before their models drop the leaving layer
        QgsProject.instance().layersWillBeRemoved.connect(self._layers_leaving)
        self.inputs, self.model, self.outputs = InputsPanel(), ModelPanel(), OutputsPanel()
        self.panels = (self.inputs, self.model, self.outputs)
        self.unshown: dict = {}  # a loaded job's fields that no widget shows (set_job_dict)
        self.series = SeriesPanel()
        self.first = QStackedWidget()  # the first tab: the pair tables, or the NDVI series of the classify-only mode
        self.first.addWidget(self.inputs)
        self.first.addWidget(self.series)
        self.tabs = QTabWidget()
        for panel, title in zip((self.first, self.model, self.outputs), ("Inputs", "Model", "Samples and outputs")):
            self.tabs.addTab(panel, title)
        self.mode = QComboBox()
        self.mode.addItem("Fuse MODIS and fine NDVI for the cloudy dates (TSSTFN), then map crops", FUSE)
        self.mode.addItem("Map crops from an NDVI series I already have (no fusion)", CLASSIFY)
        self.mode.setToolTip(
            "Fusion predicts fine NDVI for cloudy critical dates from MODIS; with a complete NDVI series (MOD13Q1, your "
            "own Sentinel-2 NDVI stack) the crop map needs no fusion"
        )
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.estimate = EstimateBar()
        self.estimate.measure_button.clicked.connect(self.measure_speed)
        self.run_state = RunStatePanel(getattr(iface, "openMessageLog", None))
        self.message = QLabel()
        self.message.setObjectName("validationMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        layout = QVBoxLayout(self)
        layout.addWidget(self.mode)
        layout.addWidget(self.tabs)
        layout.addWidget(self.estimate)
        layout.addWidget(self.run_state)
        layout.addWidget(self.message)
        layout.addLayout(self._buttons())
        self.run_state.running_changed.connect(lambda running: self.run_button.setEnabled(not running))
        self.inputs.fill_button.clicked.connect(self.fill_from_project)
        self.series.fill_button.clicked.connect(self.fill_from_project)
        for panel in self.panels:
            panel.changed.connect(self.update_estimate)
        self._size_to_screen()
        self.offer_samples()
        self.restore_settings()
        self.timings["open"] = time.perf_counter() - start
        self.probe = run_in_background(
            CallTask(
                "TSSTFN Crop Mapper: looking for GPUs",
                _available_devices,
                lambda devices, error: self.model.devices_found(devices or [("cpu", "CPU")]),
            )
        )

    def _buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.load_button, self.save_button = QPushButton("Load job…"), QPushButton("Save job…")
        self.run_button, self.close_button = QPushButton("Run"), QPushButton("Close")
        self.help_button = QPushButton("Help")
        self.help_button.setToolTip(f"Open the user guide in the browser ({HELP_URL})")
        self.help_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(HELP_URL)))
        self.load_button.setToolTip("Fill the dialog from a job file (JSON or YAML), as the command line runs it")
        self.save_button.setToolTip("Save these settings as a job file for the command line, Processing or later")
        self.run_button.setToolTip("Check every input, then run in the background (progress in the task manager)")
        self.run_button.setDefault(True)
        for b in (self.help_button, self.load_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch()
        for b in (self.run_button, self.close_button):
            buttons.addWidget(b)
        self.load_button.clicked.connect(self._load_clicked)
        self.save_button.clicked.connect(self._save_clicked)
        self.run_button.clicked.connect(self.run)
        self.close_button.clicked.connect(self.close)
        return buttons

    def _size_to_screen(self) -> None:
        """Most of the screen, up to 1400 x 1000 px: tables show their rows and layer names."""
        screen = self.screen() if hasattr(self, "screen") else None
        if screen is None:
            self.resize(1100, 760)
            return
        area = screen.availableGeometry()
        self.resize(min(1400, int(area.width() * 0.85)), min(1000, int(area.height() * 0.88)))

    def _mode_changed(self) -> None:
        """Fusion shows the pair tables and the model; classify-only shows the NDVI series and no model."""
        classify = self.mode.currentData() == CLASSIFY
        self.first.setCurrentWidget(self.series if classify else self.inputs)
        self.tabs.setTabText(INPUTS, "NDVI series" if classify else "Inputs")
        self.tabs.setTabEnabled(MODEL, not classify)
        self.outputs.set_fusion_enabled(not classify)
        if classify:
            self.outputs.map_crops.setChecked(True)  # the classify-only mode maps crops, always
        self.outputs.map_crops.setEnabled(not classify)
        self.estimate.setVisible(not classify)
        self.clear_highlight()
        self.message.setText("")

    # Job <-> panels ---------------------------------------------------------------------
    def job_dict(self, unshown: bool = True) -> dict:
        """The job as a job file writes it, from every panel's bound widgets (and a loaded job's unshown fields)."""
        data: dict = copy.deepcopy(self.unshown) if unshown else {}
        for panel in self.panels:
            collect(panel, panel.BINDS, data)
        return data

    def set_job_dict(self, data: dict, own: dict | None = None) -> None:
        """Show a job file's mapping; a field it lacks shows its preset's value, else the job spec's default.

        The fields no widget shows ride along into the job the dialog builds: those ``own`` (the file
        as written) states, or every one of ``data`` without ``own``.
        """
        from ..core.pipeline.presets import apply_preset

        self.clear_highlight()
        keys = [b.key for panel in self.panels for b in panel.BINDS]
        self.unshown = unbound(data if own is None else stated(data, own, preset_or_spec_default(own.get("preset"))), keys)
        try:
            data = apply_preset(dict(data))
        except TsstfnError:
            data = {k: v for k, v in data.items() if k != "preset"}
        for panel in self.panels:
            apply(panel, panel.BINDS, data)
        self.update_estimate()

    # Validation -------------------------------------------------------------------------
    def build_job(self):
        """The validated job of the mode shown, or raise :class:`DialogError` naming (and locating) the fault."""
        if self.mode.currentData() == CLASSIFY:
            return self.builder.build_classify()
        return self.builder.build()

    def validate(self) -> str | None:
        """Check the whole job; highlight the cell or field at fault; the message, or None when the job is valid."""
        start = time.perf_counter()
        self.clear_highlight()
        try:
            self.build_job()
        except DialogError as exc:
            self.highlight(exc)
            return str(exc)
        except TsstfnError as exc:
            return str(exc)
        finally:
            self.timings["validate"] = time.perf_counter() - start
        return None

    def highlight(self, error: DialogError) -> None:
        """Show where ``error`` is: its tab, then its table cell or widget."""
        if error.tab is not None:
            self.tabs.setCurrentIndex(error.tab)
        self.marks.mark(error.cell, error.widget)

    def clear_highlight(self) -> None:
        self.marks.clear()

    def highlighted(self) -> list:
        """What is highlighted now and still exists (widgets and table items)."""
        return self.marks.current()

    # Actions ----------------------------------------------------------------------------
    def fill_from_project(self) -> None:
        """Sort the project's rasters into the three tables (core's inventory rules); say what was left out."""
        self.clear_highlight()  # before the rows (and their items) are replaced
        panel = self.series if self.mode.currentData() == CLASSIFY else self.inputs
        notes = panel.fill_from_project(self.read_info)
        for key in SCENE_FIELDS:  # a loaded job's area and fields belong to its scene, not to this one
            self.unshown.pop(key, None)
        for cell in self.inputs.undated_cells if panel is self.inputs else ():
            self.marks.mark(cell)
        self.offer_samples()
        self.message.setText("; ".join(notes))
        self.message.setToolTip("\n".join(self.inputs.skipped) if panel is self.inputs else "")

    def _layers_leaving(self, ids) -> None:
        """A layer leaving the project empties the cells that showed it (a combo box would pick another layer)."""
        ids = set(ids)
        if not hasattr(self, "series"):
            return
        combos = [c for t in self.inputs.tables.values() for c in t.layer_combos()] + self.series.layer_combos()
        for combo in [*combos, self.outputs.samples, self.outputs.fields_layer]:
            layer = combo.currentLayer() if combo is not None else None
            if layer is not None and layer.id() in ids:
                combo.setLayer(None)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Offer the samples again when the dialog shows: layers may have come since (no project signal is held)."""
        self.offer_samples()
        super().showEvent(event)

    def read_info(self, path: str, name: str):
        """A raster's header as the inventory reads it, once per file version."""
        from ..core.inputs.inventory import raster_info

        return self.checker.cached(("info", path, name), path, lambda: raster_info(path, name))

    def offer_samples(self, *_) -> None:
        """Offer only layers that can be samples (on opening, showing and Fill)."""
        self.outputs.offer_samples(self.read_info)

    def update_estimate(self) -> None:
        self.estimate.show_for(self.job_dict(), self.model.device.currentText())

    def measure_speed(self) -> None:
        """Time the job's network in the background; the estimate updates when it is done."""
        self.estimate.measure(self.job_dict())

    def run(self) -> None:
        if self.run_state.running:  # Run is disabled meanwhile; a second run would be refused by the output folder
            self.message.setText("A run is writing into the output folder: wait for it, or cancel it above.")
            return
        self.clear_highlight()
        try:
            job = self.build_job()
        except DialogError as exc:
            self.highlight(exc)
            self.message.setText(str(exc))
            return
        except TsstfnError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        self.save_settings()
        self.job_ready.emit(job)

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load job", "", "Job files (*.json *.yaml *.yml)")
        if path:
            self.load_job_file(path)

    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save job", "job.json", "Job files (*.json)")
        if path:
            self.save_job_file(path)

    def load_job_file(self, path: str) -> None:
        """Show a job file: a fusion job, or a classify job (its ``rasters`` series) in the classify-only mode."""
        from ..core.pipeline.classify_job import classify_job_from_mapping, is_classify_job
        from ..core.pipeline.job import job_from_dict, job_to_dict, read_mapping

        try:
            own = read_mapping(Path(path), "Job")  # read once
            if is_classify_job(own):
                show_classify_job(self, classify_job_from_mapping(own, Path(path).parent))
                return
            job = job_from_dict(own, Path(path).parent)
            self.mode.setCurrentIndex(self.mode.findData(FUSE))
            self.set_job_dict(job_to_dict(job), own)  # a mapping: job_from_dict refuses anything else
            kept = flat_keys(self.unshown)
            self.message.setText(
                f"Kept from {Path(path).name}, without a widget here: {', '.join(sorted(kept))}." if kept else ""
            )
        except TsstfnError as exc:
            self.message.setText(str(exc))

    def save_job_file(self, path: str) -> None:
        """Save the mode's job: a fusion job file, or a classify job file (``run`` takes either)."""
        from ..core.pipeline.classify_job import ClassifyJob, save_classify_job
        from ..core.pipeline.job import save_job

        try:
            job = self.build_job()
            if isinstance(job, ClassifyJob):
                save_classify_job(job, path)
            else:
                save_job(job, path)
        except TsstfnError as exc:
            self.message.setText(str(exc))

    def save_settings(self) -> None:
        QgsSettings().setValue(SETTINGS_KEY, json.dumps(self.job_dict(unshown=False)))  # what the widgets show
        QgsSettings().setValue(f"{SETTINGS_KEY}_mode", self.mode.currentData())

    def restore_settings(self) -> None:
        text = QgsSettings().value(SETTINGS_KEY, "")
        if text:
            try:
                self.set_job_dict(json.loads(text))
            except (ValueError, TypeError):
                pass
        self.mode.setCurrentIndex(max(0, self.mode.findData(QgsSettings().value(f"{SETTINGS_KEY}_mode", FUSE))))
        self.update_estimate()


def show_classify_job(dialog: CropMapperDialog, job) -> None:  # noqa: ANN001 (a core ClassifyJob)
    """The classify-only mode with ``job``'s series (rasters and typed dates), bands, scale, samples and outputs."""
    dialog.mode.setCurrentIndex(dialog.mode.findData(CLASSIFY))
    dialog.series.table.setRowCount(0)
    for k, raster in enumerate(job.rasters):
        date = job.dates[k] if job.dates and job.dates[k] else ""
        dialog.series.add_raster(raster, str(date))
    dialog.series.bands.setText(",".join(str(b) for b in job.bands) if job.bands else "")
    dialog.series.scale.setText(f"{job.scale:g}" if job.scale is not None else "")
    dialog.set_job_dict({k: v for k, v in job.to_dict().items() if k not in ("rasters", "bands", "scale", "dates")})
    dialog.message.setText("")
