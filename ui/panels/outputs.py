"""The Samples and outputs panel: samples and the accuracy split, fields, the output folder and formats, the
methods compared (their parameters from the fusion-method registry)."""

from __future__ import annotations

import os
import re

from qgis.core import QgsFieldProxyModel, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QDate, QDateTime, QUrl, pyqtSignal
from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from ...core.errors import TsstfnError
from ...core.formats import OUTPUT_FORMATS
from ...core.fusion.methods import METHODS
from ...core.mapping.gapfill import GapFill
from ...core.mapping.samples import season_choices
from ..binding import Bind
from ..layers import csv_layer, value_map
from .accuracy import accuracy_combos

#: the job fields of class names, season and gap-filling the classify-only mode passes on too
CLASSIFY_SAMPLE_KEYS = ("class_names", "class_names_file", "season_field", "season", "gap_fill", "gap_fill_min_clear", "accuracy")
#: names that say a field holds classes, tried first when a samples layer is chosen
_CLASS_NAMES = re.compile(r"^(crop|class|classes|label|labels|type|crop_type|croptype|landcover|lc|code|culture)$", re.I)


def is_key(layer, field: str) -> bool:
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
        if f.type() in (QVariant.String, QVariant.Int, QVariant.LongLong) and not is_key(layer, f.name())
    ]
    named = [n for n in candidates if _CLASS_NAMES.match(n)]
    text = [n for n in candidates if layer.fields().field(n).type() == QVariant.String]
    ids = re.compile(r"(^id$|_id$|^id_)", re.I)
    rest = [n for n in candidates if not ids.search(n)]
    return (named or text or rest or [None])[0]


def layer_path(combo: QgsMapLayerComboBox) -> str | None:
    """The file of the layer chosen in ``combo`` (a delimited-text layer's CSV file), or None."""
    layer = combo.currentLayer()
    if layer is None:
        return None
    if layer.providerType() == "delimitedtext":
        return QUrl(layer.source()).toLocalFile()
    return layer.source().split("|")[0]


def sublayer(combo: QgsMapLayerComboBox) -> str | None:
    """The layer name inside a multi-layer file (a GeoPackage's ``|layername=``) of the combo's layer, or None."""
    layer = combo.currentLayer()
    found = re.search(r"\|layername=([^|]+)", layer.source()) if layer is not None else None
    return found.group(1) if found else None


def _set_samples_layer(panel: OutputsPanel, name: str | None) -> None:
    """Choose the project layer of the samples' file whose layer inside it is ``name``."""
    path = layer_path(panel.samples)
    if not name or not path:
        return
    for layer in QgsProject.instance().mapLayers().values():
        source = layer.source()
        if source.split("|")[0] == path and f"|layername={name}" in source:
            panel.samples.setLayer(layer)
            return


def select_layer(combo: QgsMapLayerComboBox, path: str | None) -> None:
    """Select the project layer whose file is ``path``; a file not in the project is added to it first."""
    if not path:
        combo.setLayer(None)
        return
    for layer in QgsProject.instance().mapLayers().values():
        source = QUrl(layer.source()).toLocalFile() if layer.providerType() == "delimitedtext" else layer.source().split("|")[0]
        if os.path.exists(source) and os.path.exists(path) and os.path.samefile(source, path):
            combo.setLayer(layer)
            return
    if os.path.exists(path):  # a job file's samples or fields: load them as the analyst would
        name = os.path.splitext(os.path.basename(path))[0]
        layer = csv_layer(path, name) if path.lower().endswith(".csv") else QgsVectorLayer(path, name, "ogr")
        if not layer.isValid():
            layer = QgsRasterLayer(path, name)
        if layer.isValid():
            QgsProject.instance().addMapLayer(layer)
            combo.setLayer(layer)
            return
    combo.setLayer(None)


def _set_class_field(panel: OutputsPanel, field: str | None) -> None:
    layer = panel.samples.currentLayer()
    has = layer is not None and hasattr(layer, "fields") and field and layer.fields().indexOf(field) >= 0
    panel.class_field.setField(field if has else default_class_field(layer) or "")


def _plain(value):
    """A QDate/QDateTime of a date field as a Python date (None when null); any other value as it is."""
    if isinstance(value, (QDate, QDateTime)):
        return None if value.isNull() else value.toPyDate() if isinstance(value, QDate) else value.toPyDateTime()
    return value


def _set_season_values(panel: OutputsPanel, field: str) -> None:
    """Offer the seasons of the samples' season field in the season box (of a date field: its years, then its days)."""
    layer, text = panel.samples.currentLayer(), panel.season.currentText()
    panel.season.clear()
    index = layer.fields().indexOf(field) if field and layer is not None and hasattr(layer, "fields") else -1
    if index >= 0:
        panel.season.addItems(season_choices(_plain(v) for v in layer.uniqueValues(index, 200)))
    panel.season.setEditText(text)


def _set_samples(panel: OutputsPanel, path: str | None) -> None:
    """A job's samples; a job without any maps no crops (fusion only)."""
    panel.map_crops.setChecked(bool(path))
    if path:
        select_layer(panel.samples, path)


def _method_params(panel: OutputsPanel) -> dict:
    return {name: {key: spin.value() for key, spin in spins.items()} for name, spins in panel.param_spins.items()}


def _set_method_params(panel: OutputsPanel, values: dict | None) -> None:
    for name, spins in panel.param_spins.items():
        given = (values or {}).get(name) or {}
        defaults = METHODS[name].params()
        for key, spin in spins.items():
            spin.setValue(float(given.get(key, getattr(defaults, key)) if isinstance(given, dict) else getattr(given, key)))


class OutputsPanel(QWidget):
    """Owns the samples, accuracy, output and comparison settings; ``changed`` when the estimate moves."""

    changed = pyqtSignal()

    BINDS = (
        Bind("output_dir", "output_dir"),
        Bind("name", get=lambda p: p.run_name(), set=lambda p, v: None),
        Bind(
            "samples", get=lambda p: layer_path(p.samples) if p.map_crops.isChecked() else None, set=_set_samples, omit_empty=True
        ),  # fmt: skip
        Bind(
            "samples_layer",
            get=lambda p: sublayer(p.samples) if p.map_crops.isChecked() else None,
            set=_set_samples_layer,
            omit_empty=True,
        ),  # fmt: skip
        Bind("class_field", get=lambda p: p.class_field.currentField(), set=_set_class_field),  # after the samples
        Bind(  # the class field's value map, else what a loaded job gave
            "class_names",
            get=lambda p: value_map(p.samples.currentLayer(), p.class_field.currentField()) or p.loaded_names,
            set=lambda p, v: setattr(p, "loaded_names", v or None),
            omit_empty=True,
        ),  # fmt: skip
        Bind("class_names_file", "names_file", omit_empty=True),
        Bind("season_field", "season_field", omit_empty=True),
        Bind("season", get=lambda p: p.season.currentText().strip() or None, set=lambda p, v: p.season.setEditText(str(v or ""))),
        Bind("gap_fill", "gap_fill"),
        Bind("gap_fill_min_clear", "min_clear"),
        Bind("group_field", "group_field", omit_empty=True),
        Bind("split", "split"),
        Bind("accuracy", "accuracy"),
        Bind("block_m", "block_m", none_at_minimum=True, omit_empty=True),
        Bind("kfold", "kfold"),
        Bind(
            "fields", get=lambda p: layer_path(p.fields_layer), set=lambda p, v: select_layer(p.fields_layer, v), omit_empty=True
        ),  # fmt: skip
        Bind("field_id", "field_id", omit_empty=True),
        Bind("formats", "format_checks"),
        Bind("mmu_ha", "mmu"),
        Bind("confidence", "confidence"),
        Bind("cog", "cog"),
        Bind("compare", "compare_checks"),
        Bind("method_params", get=_method_params, set=_set_method_params),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        f = QFormLayout(self)
        self._samples_rows(f)
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
        self._methods_rows(f)

    def _samples_rows(self, f: QFormLayout) -> None:
        self.map_crops = QCheckBox("map crops with a random forest (needs samples with the classes)")
        self.map_crops.setChecked(True)
        self.map_crops.setToolTip(
            "Unticked: fusion only (fused NDVI and its scores, e.g. for a benchmark set without labels), no crop map"
        )
        f.addRow("Crop map", self.map_crops)
        self.samples = QgsMapLayerComboBox()
        self.samples.setFilters(
            QgsMapLayerProxyModel.PointLayer | QgsMapLayerProxyModel.PolygonLayer | QgsMapLayerProxyModel.RasterLayer
        )
        self.samples.setToolTip(
            "Points or polygons with a class field, or a label raster on the fine grid (class codes, 0 for none; "
            "the only way to place samples on rasters without CRS)"
        )
        self.samples.setAllowEmptyLayer(True)
        self.excepted_ids: set[str] = set()  # layers not offered as samples
        self.class_field, self.group_field = QgsFieldComboBox(), QgsFieldComboBox()
        for combo in (self.class_field, self.group_field):
            combo.setFilters(QgsFieldProxyModel.String | QgsFieldProxyModel.Int | QgsFieldProxyModel.LongLong)
            combo.setLayer(self.samples.currentLayer())
        self.class_field.setToolTip("The field with the crop classes (names such as 'soybean', or integer codes); not an id")
        self.group_field.setAllowEmptyFieldName(True)
        self.group_field.setToolTip("A field id, so that a split by field keeps each field on one side")
        self.samples.layerChanged.connect(self._samples_changed)
        self.map_crops.toggled.connect(self.samples.setEnabled)
        self.map_crops.toggled.connect(self.class_field.setEnabled)
        f.addRow("Samples layer", self.samples)
        f.addRow("Class field", self.class_field)
        self._names_rows(f)
        self.split, self.accuracy = accuracy_combos()
        f.addRow("Accuracy split", _row(self.split, self.accuracy))
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
        f.addRow("Spatial blocks", _row(self.block_m, QLabel("k-fold by block"), self.kfold))
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
        f.addRow("Per-field map (optional)", _row(self.fields_layer, QLabel("id"), self.field_id))

    def _names_rows(self, f: QFormLayout) -> None:
        """Class names of integer codes (a lookup file; a value map is read from the layer), the season, gap-filling."""
        self.loaded_names: dict | None = None
        self.names_file = QgsFileWidget()
        self.names_file.setFilter("Class names (*.csv *.qml *.clr *.txt)")
        self.names_file.setToolTip(
            "For integer class codes: a CSV 'code,name', a QGIS style (.qml) or colour map (.clr/.txt) naming them. "
            "It wins over the class field's Value Map (Attributes Form), which names the codes it leaves out; no names: the codes"
        )
        f.addRow("Class names (codes)", self.names_file)
        self.season_field, self.season = QgsFieldComboBox(), QComboBox()
        self.season_field.setAllowEmptyFieldName(True)
        self.season_field.setToolTip("A season, year or date field: keep only the samples of one season (empty: all)")
        self.season.setEditable(True)
        self.season.setToolTip("The season to keep: a value of the field, or a year of its dates")
        self.season_field.fieldChanged.connect(lambda name: _set_season_values(self, name))
        self.samples.layerChanged.connect(self.season_field.setLayer)
        f.addRow("Season filter", _row(self.season_field, QLabel("keep"), self.season))
        self.gap_fill, self.min_clear = QComboBox(), QDoubleSpinBox()
        self.gap_fill.addItem("linear in time between clear dates (by their days)", GapFill.LINEAR.value)
        self.gap_fill.addItem("none (a pixel cloudy on one date stays unmapped)", GapFill.NONE.value)
        self.gap_fill.setToolTip("How a pixel's cloudy or masked dates are filled before the forest classifies it")
        self.min_clear.setRange(0.05, 1.0)
        self.min_clear.setSingleStep(0.05)
        self.min_clear.setValue(0.5)
        self.min_clear.setToolTip("The share of dates a pixel needs clear to be gap-filled and mapped")
        f.addRow("Gap-filling", _row(self.gap_fill, QLabel("clear share"), self.min_clear))

    def _methods_rows(self, f: QFormLayout) -> None:
        """A check box per method a job can compare, and a field per parameter its registry entry shows."""
        comparable = {name: m for name, m in METHODS.items() if not (m.learns or m.needs_later_pair)}
        self.compare_checks = {name: QCheckBox(m.label) for name, m in comparable.items()}
        for name, check in self.compare_checks.items():
            check.setToolTip(comparable[name].description)
            check.toggled.connect(self.changed)
        f.addRow("Also compute and score", _checked_row(self.compare_checks.values()))
        self.param_spins: dict[str, dict[str, QDoubleSpinBox]] = {}
        for name, method in comparable.items():
            for param in method.dialog_params:
                spin = QDoubleSpinBox()
                spin.setRange(param.minimum, param.maximum)
                spin.setSuffix(param.suffix)
                spin.setValue(float(getattr(method.params(), param.key)))
                spin.setToolTip(param.tooltip)
                self.param_spins.setdefault(name, {})[param.key] = spin
                f.addRow(param.label, spin)

    def set_fusion_enabled(self, enabled: bool) -> None:
        """Enable the settings only a fusion run uses (formats, mapping unit, compared methods and their parameters)."""
        widgets = [*self.format_checks.values(), self.mmu, *self.compare_checks.values()]
        widgets += [spin for spins in self.param_spins.values() for spin in spins.values()]
        for widget in widgets:
            widget.setEnabled(enabled)

    def offer_samples(self, read_info) -> None:
        """Offer as samples only vector layers with a class-like field and rasters that can hold labels.

        ``read_info(path, name)`` reads a raster's header (the dialog remembers them); a cloud mask,
        an image or a stack is never offered (core's :func:`~...core.pipeline.rows.unfit_samples_reason`).
        """
        from ...core.pipeline.rows import unfit_samples_reason

        excepted = []
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() == layer.RasterLayer:
                try:
                    unfit = unfit_samples_reason(read_info(layer.source(), layer.name()))
                except TsstfnError:
                    unfit = "unreadable"
                if unfit:
                    excepted.append(layer)
            elif layer.type() == layer.VectorLayer and default_class_field(layer) is None:
                excepted.append(layer)
        ids = {layer.id() for layer in excepted}
        if ids == self.excepted_ids:  # (never read the combo's own list: it keeps layers the project has deleted)
            return
        self.excepted_ids = ids
        chosen, fields = self.samples.currentLayer(), (self.class_field.currentField(), self.group_field.currentField())
        self.samples.blockSignals(True)  # the model is rebuilt: the choice and its fields stay
        self.samples.setExceptedLayerList(excepted)
        self.samples.setLayer(chosen if chosen is not None and chosen not in excepted else None)
        self.samples.blockSignals(False)
        if self.samples.currentLayer() is not chosen:
            self._samples_changed(self.samples.currentLayer())
        else:
            self.class_field.setField(fields[0])
            self.group_field.setField(fields[1])

    def _samples_changed(self, layer) -> None:
        """New samples: offer their fields, with a class field chosen that is neither the key nor an id."""
        self.class_field.setLayer(layer)
        self.group_field.setLayer(layer)
        self.class_field.setField(default_class_field(layer) or "")
        if layer is not None and self.group_field.currentField() == self.class_field.currentField():
            self.group_field.setField("")

    def run_name(self) -> str:
        """The run's name: the output folder's name as a file-name stem (the model file and the layer group use it)."""
        folder = self.output_dir.filePath().rstrip("/\\")
        stem = re.sub(r"[^\w.-]+", "_", os.path.basename(folder)).strip("._")
        return stem or "tsstfn_run"


def _row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row


def _checked_row(checks) -> QHBoxLayout:
    """Check boxes side by side, all ticked."""
    row = QHBoxLayout()
    for check in checks:
        check.setChecked(True)
        row.addWidget(check)
    return row
