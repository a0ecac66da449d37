"""The Model panel: TSSTFN's alignment, network, training, device and uncertainty."""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QRadioButton, QSpinBox, QWidget

from ...core.fusion.strategies import DESCRIPTIONS, STRATEGIES
from ...core.fusion.tsstfn import Forecast, Uncertainty
from ..binding import Bind


def _spin(low: int, high: int, value: int, tip: str, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


def _set_model(panel: ModelPanel, path: str | None) -> None:
    (panel.load_model if path else panel.train_new).setChecked(True)
    if path:
        panel.model_file.setFilePath(path)


def _set_uncertainty(panel: ModelPanel, value) -> None:
    if isinstance(value, bool):  # the 0.1 spelling: true/false
        value = Uncertainty.ON.value if value else Uncertainty.OFF.value
    panel.uncertainty.setCurrentIndex(max(0, panel.uncertainty.findData(getattr(value, "value", value))))


class ModelPanel(QWidget):
    """Owns TSSTFN's settings; ``changed`` when one that moves the estimate changes."""

    changed = pyqtSignal()

    BINDS = (
        Bind("preset", "preset", omit_empty=True),  # first: a preset sets the fields below, a job's own values win
        Bind("strategy", "strategy"),
        Bind("n_base", "n_base"),
        Bind("forecast", "forecast"),
        Bind(
            "model",
            get=lambda p: (p.model_file.filePath() or None) if p.load_model.isChecked() else None,
            set=_set_model,
            omit_empty=True,
        ),
        Bind("train.width", "width_spin"),
        Bind("train.patch", "patch_spin"),
        Bind("train.max_epochs", "epochs_spin"),
        Bind("train.samples_per_epoch", "samples_spin", none_at_minimum=True),
        Bind("train.device", get=lambda p: p.device.currentData(), set=lambda p, v: p.want_device(v)),
        Bind("uncertainty", get=lambda p: p.uncertainty.currentData(), set=_set_uncertainty),
        Bind("mc_passes", "mc_passes"),
    )

    def __init__(self, parent=None) -> None:
        from ...core.pipeline.presets import DESCRIPTIONS as PRESET_DESCRIPTIONS

        super().__init__(parent)
        f = QFormLayout(self)
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
        self.n_base = _spin(1, 30, 7, "Early-season pairs each prediction starts from; the paper uses 7")
        f.addRow("Base pairs", self.n_base)
        self.forecast = QComboBox()
        self.forecast.addItem("individual: each target from the original base pairs", Forecast.INDIVIDUAL.value)
        self.forecast.addItem("sequential: each prediction joins the base pairs", Forecast.SEQUENTIAL.value)
        self.forecast.setToolTip("The paper's S_I (individual) and S_F (sequential) forecasts; S_I is the default")
        f.addRow("Forecast", self.forecast)
        for combo in (self.preset, self.strategy, self.forecast):  # long descriptions: elided in the box, whole in
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)  # the list; fits 1280 px
            combo.setMinimumContentsLength(30)
        self.train_new, self.load_model = QRadioButton("Train a new model"), QRadioButton("Load a saved model")
        self.train_new.setChecked(True)
        self.train_new.setToolTip("Train on the reference-year pairs (saved as <run>.tsstfn in the output folder)")
        self.load_model.setToolTip("Reuse a model file trained for the same strategy, base pairs and patch")
        self.model_file = QgsFileWidget()
        self.model_file.setFilter("TSSTFN model (*.tsstfn)")
        self.model_file.setToolTip("A .tsstfn file saved by an earlier run (its hash and settings are checked)")
        f.addRow(self.train_new)
        f.addRow(self.load_model, self.model_file)
        self.width_spin = _spin(4, 128, 16, "Filters of the first UNet block; the paper uses 64 (slow on a CPU)")
        self.patch_spin = _spin(32, 512, 192, "Training and prediction patch in fine pixels; the paper uses 192", 16)
        self.epochs_spin = _spin(1, 1000, 200, "Upper bound; training stops when validation has not improved for 12 epochs")
        f.addRow("Model width", self.width_spin)
        f.addRow("Patch size (px, multiple of 16)", self.patch_spin)
        f.addRow("Maximum epochs (early stopping after 12)", self.epochs_spin)
        self.samples_spin = _spin(
            0, 10_000_000, 0,
            "Training patches drawn at random per epoch ('all': every patch each epoch). A whole Sentinel-2 tile has "
            "about 350,000 patches of 64 px: on a CPU, draw a few thousand per epoch", 1000,
        )  # fmt: skip
        self.samples_spin.setSpecialValueText("all")
        f.addRow("Patches per epoch", self.samples_spin)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")  # GPUs are added when the probe in the background has found them
        self.device.setToolTip("Where the network trains and predicts; a CUDA GPU is 10-50 times faster than a CPU")
        self._wanted_device: str | None = None
        f.addRow("Device", self.device)
        f.addRow("Uncertainty (MC dropout)", self._uncertainty_row())
        for widget in (self.width_spin, self.patch_spin, self.epochs_spin, self.samples_spin, self.n_base):
            widget.valueChanged.connect(self.changed)
        self.device.currentIndexChanged.connect(self.changed)

    def _uncertainty_row(self) -> QHBoxLayout:
        self.uncertainty = QComboBox()
        self.uncertainty.addItem("auto: on a GPU, or when cheap on the CPU", Uncertainty.AUTO.value)
        self.uncertainty.addItem("on", Uncertainty.ON.value)
        self.uncertainty.addItem("off", Uncertainty.OFF.value)
        self.uncertainty.setToolTip(
            "A per-pixel standard deviation beside each fused NDVI: the network predicts again with its channel dropout "
            "on (Monte-Carlo dropout); costs one prediction per pass, no more memory. 'auto' turns it off on a CPU when "
            "the passes would take more than a few minutes."
        )
        self.mc_passes = _spin(
            2, 100, 8, "Predictions with dropout on; 8 give a usable standard deviation, each costs one prediction"
        )
        self.mc_passes.setSuffix(" passes")
        row = QHBoxLayout()
        row.addWidget(self.uncertainty)
        row.addWidget(self.mc_passes)
        return row

    def _preset_chosen(self) -> None:
        from ...core.pipeline.presets import PRESETS

        values = PRESETS.get(self.preset.currentData() or "", {})
        train = values.get("train", {})
        for key, spin in (("width", self.width_spin), ("patch", self.patch_spin), ("max_epochs", self.epochs_spin)):
            if key in train:
                spin.setValue(int(train[key]))
        if "n_base" in values:
            self.n_base.setValue(int(values["n_base"]))

    def want_device(self, device: str | None) -> None:
        """Select ``device`` now if it is listed, else once the probe has found it."""
        if device and device != "auto":
            self._wanted_device = device
            if self.device.findData(device) >= 0:
                self.device.setCurrentIndex(self.device.findData(device))

    def devices_found(self, devices: list) -> None:
        """Offer the devices the background probe found (``[(device, text), ...]``)."""
        wanted = self._wanted_device or self.device.currentData()
        self.device.blockSignals(True)
        self.device.clear()
        for dev, text in devices:
            self.device.addItem(text, dev)
        index = self.device.findData(wanted) if self._wanted_device else (1 if self.device.count() > 1 else 0)
        self.device.setCurrentIndex(max(0, index))
        self.device.blockSignals(False)
        self.changed.emit()
