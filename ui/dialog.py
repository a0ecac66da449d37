"""The dialog: gathers a job, validates it through core, emits it. It never runs the work."""

from __future__ import annotations

import json

from qgis.core import QgsMapLayerProxyModel, QgsProject, QgsSettings
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
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
from ..core.mapping.samples import Split
from .pairs_table import PairsTable

SETTINGS_KEY = "tsstfn_crop_mapper/last_job"


def _checked_row(checks) -> QHBoxLayout:
    """Check boxes side by side, all ticked."""
    row = QHBoxLayout()
    for check in checks:
        check.setChecked(True)
        row.addWidget(check)
    return row


class CropMapperDialog(QDialog):
    """Emits ``job_ready(Job)`` when the analyst presses Run and the job is valid."""

    job_ready = pyqtSignal(object)

    def __init__(self, iface=None, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.setWindowTitle("TSSTFN Crop Mapper")
        self.resize(900, 640)
        tabs = QTabWidget()
        tabs.addTab(self._inputs_tab(), "Inputs")
        tabs.addTab(self._model_tab(), "Model")
        tabs.addTab(self._outputs_tab(), "Samples and outputs")
        self.tabs = tabs
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("validationMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        buttons = QHBoxLayout()
        self.load_button, self.save_button = QPushButton("Load job…"), QPushButton("Save job…")
        self.run_button, self.close_button = QPushButton("Run"), QPushButton("Close")
        self.run_button.setDefault(True)
        for b in (self.load_button, self.save_button):
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
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.restore_settings()

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
        for widget in (QLabel("MODIS product"), self.coarse_product, QLabel("fine product"), self.fine_product):
            sensors.addWidget(widget)
        sensors.addWidget(self.assume_aligned)
        sensors.addWidget(self.pixel_size)
        sensors.addStretch()
        v.addLayout(sensors)
        self.reference_table = PairsTable()
        self.prediction_table = PairsTable()
        self.targets_table = PairsTable("real Sentinel-2 (optional, for scoring)")
        for title, table in (
            ("Reference year (training) pairs", self.reference_table),
            ("Prediction year, early-season base pairs", self.prediction_table),
            ("Target dates (MODIS of the cloudy critical dates)", self.targets_table),
        ):
            row = QHBoxLayout()
            row.addWidget(QLabel(f"<b>{title}</b>"))
            row.addStretch()
            add, remove = QPushButton("+"), QPushButton("−")
            add.setFixedWidth(28)
            remove.setFixedWidth(28)
            add.clicked.connect(lambda _=False, t=table: t.add_row({}))
            remove.clicked.connect(lambda _=False, t=table: t.remove_selected())
            row.addWidget(add)
            row.addWidget(remove)
            v.addLayout(row)
            v.addWidget(table)
        return w

    def _model_tab(self) -> QWidget:
        from ..core.fusion.training import available_devices
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
        f.addRow("Time alignment", self.strategy)
        self.n_base = QSpinBox()
        self.n_base.setRange(1, 30)
        self.n_base.setValue(7)
        f.addRow("Base pairs", self.n_base)
        self.forecast = QComboBox()
        self.forecast.addItem("individual: each target from the original base pairs", Forecast.INDIVIDUAL.value)
        self.forecast.addItem("sequential: each prediction joins the base pairs", Forecast.SEQUENTIAL.value)
        f.addRow("Forecast", self.forecast)
        self.train_new, self.load_model = QRadioButton("Train a new model"), QRadioButton("Load a saved model")
        self.train_new.setChecked(True)
        self.model_file = QgsFileWidget()
        self.model_file.setFilter("TSSTFN model (*.tsstfn)")
        f.addRow(self.train_new)
        f.addRow(self.load_model, self.model_file)
        self.width_spin, self.patch_spin, self.epochs_spin = QSpinBox(), QSpinBox(), QSpinBox()
        self.width_spin.setRange(4, 128)
        self.width_spin.setValue(16)
        self.width_spin.setToolTip("Filters of the first UNet block; the paper uses 64 (slow on a CPU)")
        self.patch_spin.setRange(32, 512)
        self.patch_spin.setSingleStep(16)
        self.patch_spin.setValue(192)
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(200)
        f.addRow("Model width", self.width_spin)
        f.addRow("Patch size (px, multiple of 16)", self.patch_spin)
        f.addRow("Maximum epochs (early stopping after 12)", self.epochs_spin)
        self.device = QComboBox()
        for dev, text in available_devices():
            self.device.addItem(text, dev)
        if self.device.count() > 1:
            self.device.setCurrentIndex(1)
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
        row = QHBoxLayout()
        row.addWidget(self.uncertainty)
        row.addWidget(self.mc_passes)
        f.addRow("Uncertainty (MC dropout)", row)
        for widget in (self.width_spin, self.patch_spin, self.epochs_spin, self.n_base):
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
        self.group_field = QgsFieldComboBox()
        self.group_field.setAllowEmptyFieldName(True)
        self.samples.layerChanged.connect(self.class_field.setLayer)
        self.samples.layerChanged.connect(self.group_field.setLayer)
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
        self.fields_layer.layerChanged.connect(self.field_id.setLayer)
        fields_row = QHBoxLayout()
        fields_row.addWidget(self.fields_layer)
        fields_row.addWidget(QLabel("id"))
        fields_row.addWidget(self.field_id)
        f.addRow("Per-field map (optional)", fields_row)
        self.output_dir = QgsFileWidget()
        self.output_dir.setStorageMode(QgsFileWidget.GetDirectory)
        f.addRow("Output folder", self.output_dir)
        self.format_checks = {key: QCheckBox(fmt.label) for key, fmt in OUTPUT_FORMATS.items()}
        f.addRow("Crop map formats", _checked_row(self.format_checks.values()))
        self.mmu = QDoubleSpinBox()
        self.mmu.setRange(0, 100)
        self.mmu.setSuffix(" ha")
        f.addRow("Minimum mapping unit", self.mmu)
        self.confidence = QCheckBox("confidence of the forest (probability of the class, margin to the second)")
        self.cog = QCheckBox("Cloud-Optimized GeoTIFFs (overviews; open fast anywhere)")
        self.cog.setChecked(True)
        f.addRow("Also write", self.confidence)
        f.addRow("", self.cog)
        self.compare_checks = {name: QCheckBox(m.label) for name, m in METHODS.items() if not (m.learns or m.needs_later_pair)}
        for name, check in self.compare_checks.items():
            check.setToolTip(METHODS[name].description)
        f.addRow("Also compute and score", _checked_row(self.compare_checks.values()))
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

    # Job <-> widgets --------------------------------------------------------------------
    def job_dict(self) -> dict:
        data = {
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
                "device": self.device.currentData(),
            },
            "split": self.split.currentData(),
            "formats": [k for k, c in self.format_checks.items() if c.isChecked()],
            "mmu_ha": self.mmu.value(),
            "coarse_product": self.coarse_product.currentData(),
            "fine_product": self.fine_product.currentData(),
            "compare": [name for name, c in self.compare_checks.items() if c.isChecked()],
            "method_params": {"starfm": {"window_m": self.starfm_window.value()}},
            "class_field": self.class_field.currentField() or "crop",
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
        """Select the project layer whose file is ``path`` (none when there is no such layer or no path)."""
        import os

        if not path:
            combo.setLayer(None)
            return
        for layer in QgsProject.instance().mapLayers().values():
            source = layer.source().split("|")[0]
            if os.path.exists(source) and os.path.exists(path) and os.path.samefile(source, path):
                combo.setLayer(layer)
                return
        combo.setLayer(None)

    def build_job(self):
        """The validated core Job, or raise TsstfnError with a message that names the row or field."""
        from ..core.pipeline.job import job_from_dict, validate_job
        from ..core.pipeline.run import check_samples, preflight

        data = self.job_dict()
        if not data["output_dir"]:
            raise TsstfnError("Choose an output folder (tab 'Samples and outputs').")
        for key, table, title in (
            ("reference", self.reference_table, "Reference"),
            ("prediction", self.prediction_table, "Prediction"),
            ("targets", self.targets_table, "Targets"),
        ):
            for i, row in enumerate(data[key]):
                where = f"{title} row {i + 1}"
                if not row.get("coarse"):
                    raise TsstfnError(f"{where}: choose the MODIS layer.")
                if key != "targets" and not row.get("fine"):
                    raise TsstfnError(f"{where}: choose the Sentinel-2 layer.")
                if not row.get("date"):
                    raise TsstfnError(f"{where}: type the date (YYYY-MM-DD).")
                self._check_layers(row, where, table, i)
        if not data.get("samples"):
            raise TsstfnError("Choose a samples layer (tab 'Samples and outputs').")
        job = validate_job(job_from_dict(data, "."))
        try:
            check_samples(job)
        except TsstfnError as exc:
            raise TsstfnError(f"Samples layer (tab 'Samples and outputs'): {exc}") from None
        return preflight(job)[0]  # the run's own first-second checks: outputs vs inputs, folder, patch, model

    def _check_layers(self, row: dict, where: str, table: PairsTable, index: int) -> None:
        from ..core.files import open_raster
        from ..core.inputs.align import overlap_fraction
        from ..core.inputs.containers import resolve_source
        from ..core.inputs.grid import reference_grid, srs_of
        from ..core.inputs.ndvi import NdviSource
        from .pairs_table import BAND_COLUMNS, LAYER_COLUMNS, _split

        def source(value, product) -> NdviSource:
            path, band, _ = _split(value)
            return resolve_source(NdviSource(path, product, band=band))

        aligned = self.assume_aligned.isChecked()
        first = self.prediction_table.rows()
        grid = None
        if first and first[0].get("fine") and not aligned:
            grid = reference_grid(source(first[0]["fine"], self.fine_product.currentData()).path)
        for key, product in (("coarse", self.coarse_product.currentData()), ("fine", self.fine_product.currentData())):
            if not row.get(key):
                continue
            name = table.layer_name(index, LAYER_COLUMNS[key])
            try:
                src = source(row[key], product)
                ds = open_raster(src.path, name)
                band = table.cellWidget(index, BAND_COLUMNS[key]).value()
                if band > ds.RasterCount and not src.path.startswith(("HDF", "/vsi")):
                    raise TsstfnError(f"'{name}' has {ds.RasterCount} band(s); band {band} does not exist.")
                if aligned:
                    if ds.GetProjection():
                        raise TsstfnError(f"'{name}' has a CRS while 'rasters without CRS' is ticked; untick it or use others.")
                    continue
                srs_of(ds, name)
                if grid is not None:
                    overlap_fraction(ds, grid, name)
            except TsstfnError as exc:
                raise TsstfnError(f"{where}: {exc}") from None

    def validate(self) -> str | None:
        try:
            self.build_job()
        except TsstfnError as exc:
            return str(exc)
        return None

    # Actions ----------------------------------------------------------------------------
    def fill_from_project(self) -> None:
        from ..core.inputs.dates import band_dates
        from ..core.inputs.inventory import RasterInfo, build_tables

        infos = []
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() == layer.RasterLayer:
                dates = tuple(band_dates(layer.source())) if layer.bandCount() > 2 else ()
                infos.append(RasterInfo(layer.name(), layer.source(), layer.rasterUnitsPerPixelX(), dates))
        tables = build_tables(infos, (self.cutoff.date().month(), self.cutoff.date().day()))
        self.reference_table.set_rows(tables.reference)
        self.prediction_table.set_rows(tables.prediction)
        self.targets_table.set_rows(tables.targets)
        notes = [f"no date found for: {', '.join(tables.undated)} (type it in the table)"] if tables.undated else []
        notes += tables.incomplete
        self.message.setText("; ".join(notes))
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
        )
        text = (
            f"Estimate for {ds.RasterXSize} x {ds.RasterYSize} px: memory {e.memory_gb:.1f} GB, disk {e.disk_gb:.2f} GB, "
            f"time about {e.minutes:.0f} min on {self.device.currentText()}."
        )
        warnings = e.warnings()
        self.estimate_label.setText(text + ("  ⚠ " + "; ".join(warnings) if warnings else ""))

    def run(self) -> None:
        try:
            job = self.build_job()
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
