"""The dialog: gathers a job, validates it through core, emits it. It never runs the work."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

from qgis.core import QgsFieldProxyModel, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsSettings, QgsVectorLayer
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QDate, Qt, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtGui import QColor, QDesktopServices
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import TsstfnError
from ..core.formats import OUTPUT_FORMATS
from ..core.fusion.methods import METHODS
from ..core.fusion.strategies import DESCRIPTIONS, STRATEGIES
from ..core.fusion.tsstfn import Forecast, Uncertainty
from ..core.inputs.products import PRODUCTS
from ..core.mapping.samples import Split, id_like_field
from .pairs_table import PairsTable

SETTINGS_KEY = "tsstfn_crop_mapper/last_job"
HELP_URL = "https://github.com/tsstfn-crop-mapper/tsstfn_crop_mapper#readme"
HIGHLIGHT = "#ffd0d0"
#: names that say a field holds classes, tried first when a samples layer is chosen
_CLASS_NAMES = re.compile(r"^(crop|class|classes|label|labels|type|crop_type|croptype|landcover|lc|code|culture)$", re.I)


class DialogError(TsstfnError):
    """A validation error with the place to highlight: a widget, or a table cell (table, row, column)."""

    def __init__(self, message: str, widget=None, cell: tuple | None = None, tab: int | None = None) -> None:
        super().__init__(message)
        self.widget, self.cell, self.tab = widget, cell, tab


def _checked_row(checks) -> QHBoxLayout:
    """Check boxes side by side, all ticked."""
    row = QHBoxLayout()
    for check in checks:
        check.setChecked(True)
        row.addWidget(check)
    return row


def _available_devices() -> list:
    from ..core.fusion.training import available_devices

    return available_devices()


def _measure(width: int, patch: int, n_base: int, device: str):
    from ..core.pipeline.estimate import measure_speed

    return measure_speed(width, patch, n_base, device)


#: the name of the dialog's background threads (the test suite waits for them before QGIS exits)
WORK_THREAD = "tsstfn-dialog-work"


class CropMapperDialog(QDialog):
    """Emits ``job_ready(Job)`` when the analyst presses Run and the job is valid."""

    job_ready = pyqtSignal(object)

    def __init__(self, iface=None, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.setWindowTitle("TSSTFN Crop Mapper")
        self.setSizeGripEnabled(True)
        self._highlighted: list = []
        self._cache: dict = {}  # (kind, path, ...) -> (mtime, value): headers and samples read once per file version
        self._row_checks: dict = {}  # a row's checks by its content and files' mtimes
        self._valid_key: str | None = None  # the last valid job's key (job, season start, files' mtimes)
        self._valid_job = None
        self.timings: dict[str, float] = {}  # seconds of the last open/validation, for the desktop test and the log
        start = time.perf_counter()
        tabs = QTabWidget()
        tabs.addTab(self._inputs_tab(), "Inputs")
        tabs.addTab(self._model_tab(), "Model")
        tabs.addTab(self._outputs_tab(), "Samples and outputs")
        self.tabs = tabs
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.measure_button = QPushButton("Measure speed")
        self.measure_button.setToolTip(
            "Time a few training steps of this network on the chosen device (seconds on a CPU at small widths), so "
            "that the time estimate is this machine's, not a guess"
        )
        self.measure_button.clicked.connect(self.measure_speed)
        estimate_row = QHBoxLayout()
        estimate_row.addWidget(self.estimate_label, 1)
        estimate_row.addWidget(self.measure_button)
        self.message = QLabel()
        self.message.setObjectName("validationMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
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
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addLayout(estimate_row)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._size_to_screen()
        self.restore_settings()
        self.timings["open"] = time.perf_counter() - start
        self.in_thread(_available_devices, lambda devices, error: self._devices_found(devices or [("cpu", "CPU")]))

    def in_thread(self, work, done) -> None:
        """Run ``work()`` in a thread that touches no Qt object; ``done(result, error)`` later on the GUI thread.

        A timer of the dialog polls for the result, so nothing is delivered to a dialog that is gone
        (opening the dialog must not wait for torch's import; measuring must not freeze QGIS).
        """
        box: list = []

        def call() -> None:
            try:
                box.append((work(), ""))
            except Exception as exc:  # noqa: BLE001 (shown by ``done``)
                box.append((None, f"{type(exc).__name__}: {exc}"))

        threading.Thread(target=call, name=WORK_THREAD, daemon=True).start()
        timer = QTimer(self)
        timer.setInterval(50)

        def poll() -> None:
            if box:
                timer.stop()
                timer.deleteLater()
                done(*box[0])

        timer.timeout.connect(poll)
        timer.start()

    def _size_to_screen(self) -> None:
        """Most of the screen, up to 1400 x 1000 px: tables show their rows and layer names."""
        screen = self.screen() if hasattr(self, "screen") else None
        if screen is None:
            self.resize(1100, 760)
            return
        area = screen.availableGeometry()
        self.resize(min(1400, int(area.width() * 0.85)), min(1000, int(area.height() * 0.88)))

    def _devices_found(self, devices: list) -> None:
        wanted = self._wanted_device or self.device.currentData()
        self.device.blockSignals(True)
        self.device.clear()
        for dev, text in devices:
            self.device.addItem(text, dev)
        index = self.device.findData(wanted) if self._wanted_device else (1 if self.device.count() > 1 else 0)
        self.device.setCurrentIndex(max(0, index))
        self.device.blockSignals(False)
        self.update_estimate()

    # Tabs -------------------------------------------------------------------------------
    def _inputs_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        top = QHBoxLayout()
        self.fill_button = QPushButton("Fill from project layers")
        self.fill_button.setToolTip(
            "Dates from the layer names/metadata; MODIS by name or pixel size; the latest year is the prediction year"
        )
        self.fill_button.clicked.connect(self.fill_from_project)
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
        v.addLayout(sensors)
        self.reference_table = PairsTable()
        self.prediction_table = PairsTable()
        self.targets_table = PairsTable("real Sentinel-2 (optional, for scoring)")
        self.tables_splitter = QSplitter(Qt.Vertical)
        self.tables_splitter.setChildrenCollapsible(False)
        for title, table, tip in (
            ("Reference year (training) pairs", self.reference_table,
             "Last year's MODIS/fine pairs through the season: the model learns from them how coarse NDVI maps to fine"),
            ("Prediction year, early-season base pairs", self.prediction_table,
             "This year's clear early-season pairs (the paper uses 7): the inputs of each prediction"),
            ("Target dates (MODIS of the cloudy critical dates)", self.targets_table,
             "This year's cloudy dates to predict fine NDVI for; a fine image, when there is one, only scores the result"),
        ):  # fmt: skip
            table.setToolTip(tip)
            section = QWidget()
            box = QVBoxLayout(section)
            box.setContentsMargins(0, 0, 0, 0)
            row = QHBoxLayout()
            row.addWidget(QLabel(f"<b>{title}</b>"))
            row.addStretch()
            add, remove = QPushButton("+"), QPushButton("−")
            add.setFixedWidth(28)
            remove.setFixedWidth(28)
            add.setToolTip("Add a row")
            remove.setToolTip("Remove the selected rows")
            add.clicked.connect(lambda _=False, t=table: t.add_row({}))
            remove.clicked.connect(lambda _=False, t=table: t.remove_selected())
            row.addWidget(add)
            row.addWidget(remove)
            box.addLayout(row)
            box.addWidget(table)
            self.tables_splitter.addWidget(section)
        v.addWidget(self.tables_splitter, 1)
        return w

    def _model_tab(self) -> QWidget:
        from ..core.pipeline.presets import DESCRIPTIONS as PRESET_DESCRIPTIONS

        w = QWidget()
        f = QFormLayout(w)
        self.preset = QComboBox()
        self.preset.addItem("custom: the values below", None)
        for name, text in PRESET_DESCRIPTIONS.items():
            self.preset.addItem(f"{name}: {text}", name)
        self.preset.setToolTip(
            "A consistent set of options; 'paper' is Zhan et al.'s configuration (slow on a CPU). Choosing one sets the "
            "fields below; options without a field here (CL paths, output, label date) come from the preset."
        )
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        f.addRow("Preset", self.preset)
        self.strategy = QComboBox()
        for s in STRATEGIES:
            self.strategy.addItem(f"{s}: {DESCRIPTIONS[s]}", s)
        self.strategy.setCurrentIndex(1)
        self.strategy.setToolTip(
            "How last year's dates are lined up with this year's (the paper's STR_A-STR_E, docs/strategies.md); the "
            "paper's best is STR_B"
        )
        f.addRow("Time alignment", self.strategy)
        self.n_base = QSpinBox()
        self.n_base.setRange(1, 30)
        self.n_base.setValue(7)
        self.n_base.setToolTip("Early-season pairs each prediction starts from; the paper uses 7")
        f.addRow("Base pairs", self.n_base)
        self.forecast = QComboBox()
        self.forecast.addItem("individual: each target from the original base pairs", Forecast.INDIVIDUAL.value)
        self.forecast.addItem("sequential: each prediction joins the base pairs", Forecast.SEQUENTIAL.value)
        self.forecast.setToolTip("The paper's S_I (individual) and S_F (sequential) forecasts; S_I is the default")
        f.addRow("Forecast", self.forecast)
        self.train_new, self.load_model = QRadioButton("Train a new model"), QRadioButton("Load a saved model")
        self.train_new.setChecked(True)
        self.train_new.setToolTip("Train on the reference-year pairs (saved as <run>.tsstfn in the output folder)")
        self.load_model.setToolTip("Reuse a model file trained for the same strategy, base pairs and patch")
        self.model_file = QgsFileWidget()
        self.model_file.setFilter("TSSTFN model (*.tsstfn)")
        self.model_file.setToolTip("A .tsstfn file saved by an earlier run (its hash and settings are checked)")
        f.addRow(self.train_new)
        f.addRow(self.load_model, self.model_file)
        self.width_spin, self.patch_spin, self.epochs_spin = QSpinBox(), QSpinBox(), QSpinBox()
        self.width_spin.setRange(4, 128)
        self.width_spin.setValue(16)
        self.width_spin.setToolTip("Filters of the first UNet block; the paper uses 64 (slow on a CPU)")
        self.patch_spin.setRange(32, 512)
        self.patch_spin.setSingleStep(16)
        self.patch_spin.setValue(192)
        self.patch_spin.setToolTip("Training and prediction patch in fine pixels; the paper uses 192")
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(200)
        self.epochs_spin.setToolTip("Upper bound; training stops when validation has not improved for 12 epochs")
        f.addRow("Model width", self.width_spin)
        f.addRow("Patch size (px, multiple of 16)", self.patch_spin)
        f.addRow("Maximum epochs (early stopping after 12)", self.epochs_spin)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(0, 10_000_000)
        self.samples_spin.setSingleStep(1000)
        self.samples_spin.setSpecialValueText("all")
        self.samples_spin.setToolTip(
            "Training patches drawn at random per epoch ('all': every patch each epoch). A whole Sentinel-2 tile has "
            "about 350,000 patches of 64 px: on a CPU, draw a few thousand per epoch"
        )
        f.addRow("Patches per epoch", self.samples_spin)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")  # GPUs are added when the probe in the background has found them
        self.device.setToolTip("Where the network trains and predicts; a CUDA GPU is 10-50 times faster than a CPU")
        self._wanted_device: str | None = None
        f.addRow("Device", self.device)
        self.uncertainty = QComboBox()
        self.uncertainty.addItem("auto: on a GPU, or when cheap on the CPU", Uncertainty.AUTO.value)
        self.uncertainty.addItem("on", Uncertainty.ON.value)
        self.uncertainty.addItem("off", Uncertainty.OFF.value)
        self.uncertainty.setToolTip(
            "A per-pixel standard deviation beside each fused NDVI: the network predicts again with its channel dropout "
            "on (Monte-Carlo dropout); costs one prediction per pass, no more memory. 'auto' turns it off on a CPU when "
            "the passes would take more than a few minutes."
        )
        self.mc_passes = QSpinBox()
        self.mc_passes.setRange(2, 100)
        self.mc_passes.setValue(8)
        self.mc_passes.setSuffix(" passes")
        self.mc_passes.setToolTip("Predictions with dropout on; 8 give a usable standard deviation, each costs one prediction")
        row = QHBoxLayout()
        row.addWidget(self.uncertainty)
        row.addWidget(self.mc_passes)
        f.addRow("Uncertainty (MC dropout)", row)
        for widget in (self.width_spin, self.patch_spin, self.epochs_spin, self.samples_spin, self.n_base):
            widget.valueChanged.connect(self.update_estimate)
        self.device.currentIndexChanged.connect(self.update_estimate)
        return w

    def _outputs_tab(self) -> QWidget:
        w = QWidget()
        f = QFormLayout(w)
        self.samples = QgsMapLayerComboBox()
        self.samples.setFilters(
            QgsMapLayerProxyModel.PointLayer | QgsMapLayerProxyModel.PolygonLayer | QgsMapLayerProxyModel.RasterLayer
        )
        self.samples.setToolTip(
            "Points or polygons with a class field, or a label raster on the fine grid (class codes, 0 for none; "
            "the only way to place samples on rasters without CRS)"
        )
        self.samples.setAllowEmptyLayer(True)
        self.class_field = QgsFieldComboBox()
        self.class_field.setFilters(QgsFieldProxyModel.String | QgsFieldProxyModel.Int | QgsFieldProxyModel.LongLong)
        self.class_field.setToolTip("The field with the crop classes (names such as 'soybean', or integer codes); not an id")
        self.group_field = QgsFieldComboBox()
        self.group_field.setFilters(QgsFieldProxyModel.String | QgsFieldProxyModel.Int | QgsFieldProxyModel.LongLong)
        self.group_field.setAllowEmptyFieldName(True)
        self.group_field.setToolTip("A field id, so that a split by field keeps each field on one side")
        self.samples.layerChanged.connect(self._samples_changed)
        self.class_field.setLayer(self.samples.currentLayer())
        self.group_field.setLayer(self.samples.currentLayer())
        f.addRow("Samples layer", self.samples)
        f.addRow("Class field", self.class_field)
        self.split = QComboBox()
        self.split.addItem("random 7:3 by pixel (the paper's)", Split.RANDOM.value)
        self.split.addItem("7:3 by field (no field on both sides)", Split.FIELD.value)
        self.split.addItem("7:3 by spatial blocks (no block on both sides)", Split.BLOCK.value)
        self.split.setToolTip(
            "A random split puts pixels of one field on both sides and flatters the map; the report always adds the "
            "kappa of a split by spatial blocks and warns when they differ."
        )
        f.addRow("Accuracy split", self.split)
        f.addRow("Field id (split by field)", self.group_field)
        self.block_m = QDoubleSpinBox()
        self.block_m.setRange(0, 100000)
        self.block_m.setSuffix(" m")
        self.block_m.setSpecialValueText("auto (four MODIS pixels)")
        self.block_m.setToolTip("Side of the square spatial blocks; auto: four coarse pixels (about 1 km for MODIS)")
        self.kfold = QSpinBox()
        self.kfold.setRange(0, 20)
        self.kfold.setSpecialValueText("none")
        self.kfold.setToolTip("K-fold cross-validation by spatial block: the mean and spread of kappa (small sample sets)")
        blocks = QHBoxLayout()
        blocks.addWidget(self.block_m)
        blocks.addWidget(QLabel("k-fold by block"))
        blocks.addWidget(self.kfold)
        f.addRow("Spatial blocks", blocks)
        self.fields_layer = QgsMapLayerComboBox()
        self.fields_layer.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.fields_layer.setAllowEmptyLayer(True)
        self.fields_layer.setLayer(None)
        self.fields_layer.setToolTip(
            "Field polygons (a cadastre, LPIS): each field takes the majority class of its pixels; written as a raster "
            "and polygons with the winning share, scored per pixel and per field"
        )
        self.field_id = QgsFieldComboBox()
        self.field_id.setAllowEmptyFieldName(True)
        self.field_id.setToolTip("The field that identifies each field polygon (empty: the feature id)")
        self.fields_layer.layerChanged.connect(self.field_id.setLayer)
        fields_row = QHBoxLayout()
        fields_row.addWidget(self.fields_layer)
        fields_row.addWidget(QLabel("id"))
        fields_row.addWidget(self.field_id)
        f.addRow("Per-field map (optional)", fields_row)
        self.output_dir = QgsFileWidget()
        self.output_dir.setStorageMode(QgsFileWidget.GetDirectory)
        self.output_dir.setToolTip(
            "Where the run writes; its name names the run and its layer group. A different earlier run there is moved "
            "to previous_runs/, never overwritten"
        )
        f.addRow("Output folder", self.output_dir)
        self.format_checks = {key: QCheckBox(fmt.label) for key, fmt in OUTPUT_FORMATS.items()}
        for key, check in self.format_checks.items():
            check.setToolTip(f"Write the crop map as {OUTPUT_FORMATS[key].label}")
        f.addRow("Crop map formats", _checked_row(self.format_checks.values()))
        self.mmu = QDoubleSpinBox()
        self.mmu.setRange(0, 100)
        self.mmu.setSuffix(" ha")
        self.mmu.setToolTip("Crop polygons smaller than this merge into their neighbour (0: keep every pixel)")
        f.addRow("Minimum mapping unit", self.mmu)
        self.confidence = QCheckBox("confidence of the forest (probability of the class, margin to the second)")
        self.cog = QCheckBox("Cloud-Optimized GeoTIFFs (overviews; open fast anywhere)")
        self.cog.setChecked(True)
        self.confidence.setToolTip("A two-band raster: the forest's probability of the mapped class and its margin")
        self.cog.setToolTip("GeoTIFFs with overviews and internal tiles, which open fast in QGIS and on the web")
        f.addRow("Also write", self.confidence)
        f.addRow("", self.cog)
        self.compare_checks = {name: QCheckBox(m.label) for name, m in METHODS.items() if not (m.learns or m.needs_later_pair)}
        for name, check in self.compare_checks.items():
            check.setToolTip(METHODS[name].description)
        f.addRow("Also compute and score", _checked_row(self.compare_checks.values()))
        if "starfm" in self.compare_checks:  # connected once ticked: the tables the estimate reads come later
            self.compare_checks["starfm"].toggled.connect(self.update_estimate)
        self.starfm_window = QDoubleSpinBox()
        self.starfm_window.setRange(10, 5000)
        self.starfm_window.setSuffix(" m")
        self.starfm_window.setValue(155)
        self.starfm_window.setToolTip(
            "Half of STARFM's search window in metres (Gao's MAX_SEARCH_DISTANCE): 155 m is 31 x 31 pixels at 10 m; "
            "Gao used 750-1500 m for 30 m Landsat. The work grows with the window's area."
        )
        f.addRow("STARFM search distance", self.starfm_window)
        return w

    def _preset_chosen(self) -> None:
        from ..core.pipeline.presets import PRESETS

        values = PRESETS.get(self.preset.currentData() or "", {})
        train = values.get("train", {})
        for key, spin in (("width", self.width_spin), ("patch", self.patch_spin), ("max_epochs", self.epochs_spin)):
            if key in train:
                spin.setValue(int(train[key]))
        if "n_base" in values:
            self.n_base.setValue(int(values["n_base"]))

    def _samples_changed(self, layer) -> None:
        """New samples: offer their fields, with a class field chosen that is neither the key nor an id."""
        self.class_field.setLayer(layer)
        self.group_field.setLayer(layer)
        self.class_field.setField(default_class_field(layer) or "")
        if layer is not None and self.group_field.currentField() == self.class_field.currentField():
            self.group_field.setField("")

    # Job <-> widgets --------------------------------------------------------------------
    def run_name(self) -> str:
        """The run's name: the output folder's name as a file-name stem (the model file and the layer group use it)."""
        folder = self.output_dir.filePath().rstrip("/\\")
        stem = re.sub(r"[^\w.-]+", "_", os.path.basename(folder)).strip("._")
        return stem or "tsstfn_run"

    def job_dict(self) -> dict:
        data = {
            "name": self.run_name(),
            "reference": self.reference_table.rows(),
            "prediction": self.prediction_table.rows(),
            "targets": self.targets_table.rows(),
            "output_dir": self.output_dir.filePath(),
            "strategy": self.strategy.currentData(),
            "n_base": self.n_base.value(),
            "forecast": self.forecast.currentData(),
            "train": {
                "width": self.width_spin.value(),
                "patch": self.patch_spin.value(),
                "max_epochs": self.epochs_spin.value(),
                "samples_per_epoch": self.samples_spin.value() or None,
                "device": self.device.currentData(),
            },
            "split": self.split.currentData(),
            "formats": [k for k, c in self.format_checks.items() if c.isChecked()],
            "mmu_ha": self.mmu.value(),
            "coarse_product": self.coarse_product.currentData(),
            "fine_product": self.fine_product.currentData(),
            "compare": [name for name, c in self.compare_checks.items() if c.isChecked()],
            "method_params": {"starfm": {"window_m": self.starfm_window.value()}},
            "class_field": self.class_field.currentField(),
            "uncertainty": self.uncertainty.currentData(),
            "mc_passes": self.mc_passes.value(),
            "kfold": self.kfold.value(),
            "confidence": self.confidence.isChecked(),
            "cog": self.cog.isChecked(),
        }
        if self.block_m.value() > 0:
            data["block_m"] = self.block_m.value()
        fields_layer = self.fields_layer.currentLayer()
        if fields_layer is not None:
            data["fields"] = fields_layer.source().split("|")[0]
            if self.field_id.currentField():
                data["field_id"] = self.field_id.currentField()
        if self.preset.currentData():
            data["preset"] = self.preset.currentData()
        if self.assume_aligned.isChecked():
            data["assume_aligned"] = True
            data["pixel_size_m"] = self.pixel_size.value()
        if self.load_model.isChecked() and self.model_file.filePath():
            data["model"] = self.model_file.filePath()
        layer = self.samples.currentLayer()
        if layer is not None:
            data["samples"] = layer.source().split("|")[0]
        if self.group_field.currentField():
            data["group_field"] = self.group_field.currentField()
        return data

    def set_job_dict(self, data: dict) -> None:
        self.clear_highlight()
        self.reference_table.set_rows(data.get("reference", []))
        self.prediction_table.set_rows(data.get("prediction", []))
        self.targets_table.set_rows(data.get("targets", []))
        self.output_dir.setFilePath(data.get("output_dir", ""))
        if data.get("strategy") in STRATEGIES:
            self.strategy.setCurrentIndex(STRATEGIES.index(data["strategy"]))
        self.preset.setCurrentIndex(max(0, self.preset.findData(data.get("preset"))))
        for combo, key in ((self.coarse_product, "coarse_product"), (self.fine_product, "fine_product")):
            if combo.findData(data.get(key)) >= 0:
                combo.setCurrentIndex(combo.findData(data.get(key)))
        self.assume_aligned.setChecked(bool(data.get("assume_aligned")))
        if data.get("pixel_size_m"):
            self.pixel_size.setValue(float(data["pixel_size_m"]))
        self.n_base.setValue(int(data.get("n_base", 7)))
        self.forecast.setCurrentIndex(1 if data.get("forecast") == "sequential" else 0)
        train = data.get("train", {})
        self.width_spin.setValue(int(train.get("width", self.width_spin.value())))
        self.patch_spin.setValue(int(train.get("patch", self.patch_spin.value())))
        self.epochs_spin.setValue(int(train.get("max_epochs", self.epochs_spin.value())))
        self.samples_spin.setValue(int(train.get("samples_per_epoch") or 0))
        self.split.setCurrentIndex(max(0, self.split.findData(data.get("split", Split.RANDOM.value))))
        uncertainty = data.get("uncertainty", Uncertainty.AUTO.value)
        if isinstance(uncertainty, bool):
            uncertainty = Uncertainty.ON.value if uncertainty else Uncertainty.OFF.value
        self.uncertainty.setCurrentIndex(max(0, self.uncertainty.findData(uncertainty)))
        self.mc_passes.setValue(int(data.get("mc_passes", 8)))
        self.block_m.setValue(float(data.get("block_m") or 0.0))
        self.kfold.setValue(int(data.get("kfold", 0)))
        self.confidence.setChecked(bool(data.get("confidence", False)))
        self.cog.setChecked(bool(data.get("cog", True)))
        self._select_layer(self.fields_layer, data.get("fields"))
        if data.get("field_id"):
            self.field_id.setField(data["field_id"])
        if data.get("samples"):
            self._select_layer(self.samples, data["samples"])
            if self.samples.currentLayer() is not None:
                self.class_field.setField(data.get("class_field") or default_class_field(self.samples.currentLayer()) or "")
                self.group_field.setField(data.get("group_field") or "")
        device = data.get("train", {}).get("device")
        if device:
            self._wanted_device = device
            if self.device.findData(device) >= 0:
                self.device.setCurrentIndex(self.device.findData(device))
        if "formats" in data:
            for key, check in self.format_checks.items():
                check.setChecked(key in data["formats"])
        if "compare" in data:
            for name, check in self.compare_checks.items():
                check.setChecked(name in data["compare"])
        window = data.get("method_params", {}).get("starfm", {}).get("window_m")
        if window:
            self.starfm_window.setValue(float(window))
        if data.get("model"):
            self.load_model.setChecked(True)
            self.model_file.setFilePath(data["model"])
        self.update_estimate()

    @staticmethod
    def _select_layer(combo: QgsMapLayerComboBox, path: str | None) -> None:
        """Select the project layer whose file is ``path``; a file not in the project is added to it first."""
        if not path:
            combo.setLayer(None)
            return
        for layer in QgsProject.instance().mapLayers().values():
            source = layer.source().split("|")[0]
            if os.path.exists(source) and os.path.exists(path) and os.path.samefile(source, path):
                combo.setLayer(layer)
                return
        if os.path.exists(path):  # a job file's samples or fields: load them as the analyst would
            name = os.path.splitext(os.path.basename(path))[0]
            layer = QgsVectorLayer(path, name, "ogr")
            if not layer.isValid():
                layer = QgsRasterLayer(path, name)
            if layer.isValid():
                QgsProject.instance().addMapLayer(layer)
                combo.setLayer(layer)
                return
        combo.setLayer(None)

    def build_job(self):
        """The validated core Job, or raise :class:`DialogError` naming (and locating) the row, cell or field."""
        from ..core.pipeline.job import job_from_dict, validate_job
        from ..core.pipeline.run import check_samples, preflight

        data = self.job_dict()
        inputs, outputs = 0, 2  # tab indexes
        if not data["output_dir"]:
            raise DialogError("Choose an output folder (tab 'Samples and outputs').", self.output_dir, tab=outputs)
        key = self._validation_key(data)
        if key == self._valid_key:  # nothing changed since the last valid job: only the live-run check
            from ..core.pipeline.outputs import OutputFolder

            job = self._valid_job
            try:
                OutputFolder(Path(job.output_dir), {}, job.name, []).check_free()
            except TsstfnError as exc:
                raise DialogError(str(exc), self.output_dir, tab=outputs) from None
            return job
        cutoff = self.cutoff.date()
        seen: dict[tuple, str] = {}
        tables = (
            ("reference", self.reference_table, "Reference"),
            ("prediction", self.prediction_table, "Prediction"),
            ("targets", self.targets_table, "Targets"),
        )
        from .pairs_table import LAYER_COLUMNS, _split

        for key, table, title in tables:
            for i, row in enumerate(data[key]):
                where = f"{title} row {i + 1}"
                if not row.get("coarse"):
                    raise DialogError(f"{where}: choose the MODIS layer.", cell=(table, i, LAYER_COLUMNS["coarse"]), tab=inputs)
                if key != "targets" and not row.get("fine"):
                    cell = (table, i, LAYER_COLUMNS["fine"])
                    raise DialogError(f"{where}: choose the Sentinel-2 layer.", cell=cell, tab=inputs)
                if not row.get("date"):
                    raise DialogError(f"{where}: type the date (YYYY-MM-DD).", cell=(table, i, 0), tab=inputs)
                date = QDate.fromString(row["date"], "yyyy-MM-dd")
                if key == "targets" and date.isValid() and (date.month(), date.day()) < (cutoff.month(), cutoff.day()):
                    raise DialogError(
                        f"{where}: {row['date']} is before the critical season, which starts on "
                        f"{cutoff.toString('d MMMM')}; move it to the base pairs, or set the season's start (tab 'Inputs').",
                        cell=(table, i, 0),
                        tab=inputs,
                    )
                for column in ("coarse", "fine", "fine_mask"):
                    if not row.get(column):
                        continue
                    path, band, _ = _split(row[column])
                    place = f"{where} ({'MODIS' if column == 'coarse' else 'Sentinel-2' if column == 'fine' else 'mask'})"
                    ident = (os.path.normcase(os.path.abspath(path)) if os.path.exists(path) else path, band)
                    if ident in seen:
                        raise DialogError(
                            f"{place}: '{table.layer_name(i, LAYER_COLUMNS[column])}' is already in {seen[ident]}; "
                            "one raster is one sensor on one date: choose another layer (or another band of a stack).",
                            cell=(table, i, LAYER_COLUMNS[column]),
                            tab=inputs,
                        )
                    seen[ident] = place
                self._check_row_cached(row, where, table, i)
        if not data.get("samples"):
            raise DialogError("Choose a samples layer (tab 'Samples and outputs').", self.samples, tab=outputs)
        samples_layer = self.samples.currentLayer()
        if samples_layer is not None and samples_layer.type() == samples_layer.VectorLayer:
            field = data.get("class_field")
            if not field:
                message = "Choose the class field of the samples (tab 'Samples and outputs')."
                raise DialogError(message, self.class_field, tab=outputs)
            if field == data.get("group_field"):
                raise DialogError(
                    f"Class field '{field}' is also the field id: the class field holds the crops, the field id names "
                    "each field; choose another for one of them (tab 'Samples and outputs').",
                    self.class_field,
                    tab=outputs,
                )
            if _is_key(samples_layer, field):
                raise DialogError(
                    f"Class field '{field}' is the key of '{samples_layer.name()}' (a different number per feature), not a "
                    "class; choose the field with the crop classes (tab 'Samples and outputs').",
                    self.class_field,
                    tab=outputs,
                )
            if id_like_field(field):  # core refuses it too; here the class field is highlighted
                raise DialogError(
                    f"Class field '{field}' is named like an id (one value per field or feature), not a class; choose the "
                    "field with the crop classes, and give the id as 'Field id' (tab 'Samples and outputs').",
                    self.class_field,
                    tab=outputs,
                )
        try:
            job = validate_job(job_from_dict(data, "."))
        except TsstfnError as exc:
            raise DialogError(str(exc), tab=self.tabs.currentIndex()) from None
        try:
            samples = self._cached(
                ("samples", job.samples, job.class_field, job.group_field, json.dumps(data["prediction"][:1], default=str)),
                str(job.samples),
                lambda: check_samples(job),
            )
        except TsstfnError as exc:
            raise DialogError(f"Samples layer (tab 'Samples and outputs'): {exc}", self.samples, tab=outputs) from None
        try:
            job = preflight(job, samples)[0]  # the run's own first-second checks: outputs vs inputs, folder, patch, model
        except TsstfnError as exc:
            text = str(exc)
            widget = self.output_dir if ("output" in text.lower() or "folder" in text.lower()) else None
            raise DialogError(text, widget, tab=outputs if widget is not None else None) from None
        self._valid_key, self._valid_job = key, job
        return job

    def _validation_key(self, data: dict) -> str:
        """The job, the season's start and the modification time of every file it names: equal keys, equal verdicts."""
        stamps = []

        def walk(value) -> None:
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
            elif isinstance(value, str) and os.path.exists(value):
                stamps.append((value, os.stat(value).st_mtime_ns))

        walk(data)
        extra = [self.cutoff.date().toString("MM-dd"), self.assume_aligned.isChecked()]
        return json.dumps([data, stamps, extra], sort_keys=True, default=str)

    def _check_row_cached(self, row: dict, where: str, table: PairsTable, index: int) -> None:
        """:meth:`_check_layers`, remembered per row content, products and files' modification times."""
        first = self.prediction_table.rows()[:1]
        key = json.dumps(
            [row, where, first, self.coarse_product.currentData(), self.fine_product.currentData(),
             self.assume_aligned.isChecked(), self._validation_key({"row": row, "first": first})],
            sort_keys=True, default=str,
        )  # fmt: skip
        cache = self._row_checks
        if key in cache:
            if cache[key] is not None:
                raise cache[key]
            return
        try:
            self._check_layers(row, where, table, index)
        except DialogError as exc:
            cache[key] = exc
            raise
        cache[key] = None

    def _check_layers(self, row: dict, where: str, table: PairsTable, index: int) -> None:
        from ..core.files import open_raster
        from ..core.inputs.align import overlap_fraction
        from ..core.inputs.containers import resolve_source
        from ..core.inputs.grid import reference_grid, srs_of
        from ..core.inputs.inventory import raster_info, unfit_reason
        from ..core.inputs.ndvi import NdviSource
        from ..core.inputs.products import get_product
        from .pairs_table import BAND_COLUMNS, LAYER_COLUMNS, _split

        def source(value, product) -> NdviSource:
            path, band, _ = _split(value)
            return resolve_source(NdviSource(path, product, band=band))

        aligned = self.assume_aligned.isChecked()
        first = self.prediction_table.rows()
        grid = None
        if first and first[0].get("fine") and not aligned:
            grid = self._grid_cache(source(first[0]["fine"], self.fine_product.currentData()).path, reference_grid)
        for key, product in (("coarse", self.coarse_product.currentData()), ("fine", self.fine_product.currentData())):
            if not row.get(key):
                continue
            name = table.layer_name(index, LAYER_COLUMNS[key])
            cell = (table, index, LAYER_COLUMNS[key])
            try:
                path = _split(row[key])[0]
                reason = unfit_reason(self._info_cache(path, name, raster_info), get_product(product), key)
                if reason:
                    label = "the MODIS column" if key == "coarse" else "the Sentinel-2 column"
                    raise TsstfnError(f"'{name}' cannot go in {label} ({product}): {reason}.")
                src = source(row[key], product)
                ds = open_raster(src.path, name)
                band = table.cellWidget(index, BAND_COLUMNS[key]).value()
                if band > ds.RasterCount and not src.path.startswith(("HDF", "/vsi")):
                    cell = (table, index, BAND_COLUMNS[key])
                    raise TsstfnError(
                        f"'{name}' has {ds.RasterCount} band(s); band {band} does not exist (the band column of this row)."
                    )
                if aligned:
                    if ds.GetProjection():
                        raise TsstfnError(f"'{name}' has a CRS while 'rasters without CRS' is ticked; untick it or use others.")
                    continue
                srs_of(ds, name)
                if grid is not None:
                    overlap_fraction(ds, grid, name)
            except TsstfnError as exc:
                raise DialogError(f"{where}: {exc}", cell=cell, tab=0) from None

    def _info_cache(self, path: str, name: str, read):
        """``read(path, name)`` once per file and modification time: validation stays fast when re-run."""
        return self._cached(("info", path, name), path, lambda: read(path, name))

    def _grid_cache(self, path: str, read):
        return self._cached(("grid", path), path, lambda: read(path))

    def _cached(self, key: tuple, path: str, make):
        cache = self._cache
        try:
            stamp = os.stat(path).st_mtime_ns if os.path.exists(path) else 0
        except OSError:
            stamp = 0
        hit = cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = make()
        cache[key] = (stamp, value)
        return value

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
        """Show where ``error`` is: its tab, its table cell (selected, scrolled to, coloured) or its widget."""
        if error.tab is not None:
            self.tabs.setCurrentIndex(error.tab)
        if error.cell is not None:
            table, row, column = error.cell
            table.setCurrentCell(row, column)
            table.scrollToItem(table.item(row, 0))
            widget = table.cellWidget(row, column)
            if widget is not None:
                widget.setStyleSheet(f"background-color: {HIGHLIGHT};")
            elif table.item(row, column) is not None:
                table.item(row, column).setBackground(QColor(HIGHLIGHT))
            # a cell is kept as its place, never as the object: the table deletes a row's widgets and items with it
            self._highlighted.append((table, row, column))
        elif error.widget is not None:
            error.widget.setStyleSheet(f"background-color: {HIGHLIGHT};")
            error.widget.setFocus()
            self._highlighted.append(error.widget)

    def clear_highlight(self) -> None:
        for thing in self.highlighted():
            if hasattr(thing, "setStyleSheet"):
                thing.setStyleSheet("")
            else:
                thing.setBackground(QColor(0, 0, 0, 0))
        self._highlighted = []

    def highlighted(self) -> list:
        """What is highlighted now and still exists (widgets and table items)."""
        out = []
        for thing in self._highlighted:
            if isinstance(thing, tuple):
                table, row, column = thing
                if row < table.rowCount():
                    cell = table.cellWidget(row, column) or table.item(row, column)
                    if cell is not None:
                        out.append(cell)
                continue
            out.append(thing)  # one of the dialog's own widgets: it lives as long as the dialog
        return out

    # Actions ----------------------------------------------------------------------------
    def fill_from_project(self) -> None:
        """Sort the project's rasters into the three tables by date, sensor and product (core's inventory rules)."""
        from ..core.inputs.inventory import build_tables, raster_info
        from ..core.inputs.products import get_product

        infos = []
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() == layer.RasterLayer:
                try:
                    infos.append(self._info_cache(layer.source(), layer.name(), raster_info))
                except TsstfnError:
                    continue  # not readable by GDAL (a web layer): not an input
        tables = build_tables(
            infos,
            (self.cutoff.date().month(), self.cutoff.date().day()),
            get_product(self.coarse_product.currentData()),
            get_product(self.fine_product.currentData()),
        )
        self.clear_highlight()  # before the rows (and their items) are replaced
        self.reference_table.set_rows(tables.reference)
        self.prediction_table.set_rows(tables.prediction)
        self.targets_table.set_rows(tables.targets)
        notes = [f"no date found for: {', '.join(tables.undated)} (type it in the table)"] if tables.undated else []
        notes += tables.incomplete
        if tables.skipped:
            notes.append(f"left out {len(tables.skipped)} layer(s) that fit no column (details in the tooltip)")
        self.message.setText("; ".join(notes))
        self.message.setToolTip("\n".join(tables.skipped))
        self.skipped = tables.skipped
        self.update_estimate()

    def _speed_key(self) -> str:
        device = self.device.currentData() or "cpu"
        return f"tsstfn_crop_mapper/speed/{device}/{self.width_spin.value()}/{self.patch_spin.value()}"

    def measured_speed(self):
        """The Speed measured earlier on this device for this network size (QgsSettings), or None."""
        from ..core.pipeline.estimate import Speed

        text = QgsSettings().value(self._speed_key(), "")
        try:
            return Speed(**json.loads(text)) if text else None
        except (TypeError, ValueError):
            return None

    def measure_speed(self) -> None:
        """Start the speed probe in a thread; the estimate updates when it is done."""
        self.measure_button.setEnabled(False)
        self.measure_button.setText("Measuring…")
        args = (self.width_spin.value(), self.patch_spin.value(), self.n_base.value(), self.device.currentData() or "cpu")
        self.in_thread(lambda: _measure(*args), self._speed_measured)

    def _speed_measured(self, speed, error: str) -> None:
        from dataclasses import asdict

        self.measure_button.setEnabled(True)
        self.measure_button.setText("Measure speed")
        if speed is None:
            self.estimate_label.setText(f"Measuring the speed failed: {error}")
            return
        QgsSettings().setValue(f"tsstfn_crop_mapper/speed/{speed.device}/{speed.width}/{speed.patch}", json.dumps(asdict(speed)))
        self.update_estimate()

    def update_estimate(self) -> None:
        from ..core.files import open_raster
        from ..core.pipeline.estimate import estimate_run
        from .pairs_table import _split

        rows = self.prediction_table.rows()
        try:
            ds = open_raster(_split(rows[0]["fine"])[0])
        except (TsstfnError, IndexError, KeyError):
            self.estimate_label.setText("Estimate: add the prediction-year pairs to see the run's memory, disk and time.")
            return
        e = estimate_run(
            ds.RasterXSize,
            ds.RasterYSize,
            len(rows) + len(self.reference_table.rows()),
            max(1, len(self.targets_table.rows())),
            self.n_base.value(),
            self.width_spin.value(),
            self.patch_spin.value(),
            self.epochs_spin.value(),
            self.device.currentData() or "cpu",
            self.measured_speed(),
            samples_per_epoch=self.samples_spin.value() or None,
            starfm="starfm" in self.compare_checks and self.compare_checks["starfm"].isChecked(),
        )
        text = (
            f"Estimate for {ds.RasterXSize} x {ds.RasterYSize} px: memory {e.memory_gb:.1f} GB, disk {e.disk_gb:.2f} GB, "
            f"time {e.time_text()} on {self.device.currentText()}."
        )
        warnings = e.warnings()
        self.estimate_label.setText(text + ("  ⚠ " + "; ".join(warnings) if warnings else ""))

    def run(self) -> None:
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
        from ..core.pipeline.job import job_to_dict, load_job

        try:
            self.set_job_dict(job_to_dict(load_job(path)))
            self.message.setText("")
        except TsstfnError as exc:
            self.message.setText(str(exc))

    def save_job_file(self, path: str) -> None:
        from ..core.pipeline.job import save_job

        try:
            save_job(self.build_job(), path)
        except TsstfnError as exc:
            self.message.setText(str(exc))

    def save_settings(self) -> None:
        QgsSettings().setValue(SETTINGS_KEY, json.dumps(self.job_dict()))

    def restore_settings(self) -> None:
        text = QgsSettings().value(SETTINGS_KEY, "")
        if text:
            try:
                self.set_job_dict(json.loads(text))
            except (ValueError, TypeError):
                pass
        self.update_estimate()


def _is_key(layer, field: str) -> bool:
    """True when ``field`` is the layer's primary key (a GeoPackage's ``fid``)."""
    index = layer.fields().indexOf(field)
    return index >= 0 and (index in layer.primaryKeyAttributes() or field.lower() in ("fid", "ogc_fid", "objectid"))


def default_class_field(layer) -> str | None:
    """The field to offer as class field: one named like a class field, else the first text field, else the first
    integer field that is not the key; None for a raster or a layer without such a field."""
    if layer is None or not hasattr(layer, "fields"):
        return None
    from qgis.PyQt.QtCore import QVariant

    candidates = [
        f.name()
        for f in layer.fields()
        if f.type() in (QVariant.String, QVariant.Int, QVariant.LongLong) and not _is_key(layer, f.name())
    ]
    named = [n for n in candidates if _CLASS_NAMES.match(n)]
    text = [n for n in candidates if layer.fields().field(n).type() == QVariant.String]
    ids = re.compile(r"(^id$|_id$|^id_)", re.I)
    rest = [n for n in candidates if not ids.search(n)]
    return (named or text or rest or [None])[0]
