"""From the dialog's panels to a checked job: core's checks, their errors pointed at the cell or widget they name."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..core.errors import PlaceError, TsstfnError
from .panels.outputs import CLASSIFY_SAMPLE_KEYS, is_key

INPUTS, MODEL, OUTPUTS = 0, 1, 2  # tab indexes
FUSE, CLASSIFY = "fuse", "classify"  # the dialog's modes


class DialogError(TsstfnError):
    """A validation error with the place to highlight: a widget, or a table cell (table, row, column)."""

    def __init__(self, message: str, widget=None, cell: tuple | None = None, tab: int | None = None) -> None:
        super().__init__(message)
        self.widget, self.cell, self.tab = widget, cell, tab


class JobBuilder:
    """Builds the dialog's job through core's checks; remembers the last valid job until an input changes."""

    def __init__(self, dialog) -> None:
        self.d = dialog
        self._valid_key: str | None = None  # the last valid job's key (job, season start, files' mtimes)
        self._valid_job = None

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

        walk({k: v for k, v in data.items() if k != "output_dir"})  # checking the folder writes into it (lock, test)
        return json.dumps([data, stamps, self.d.inputs.season_start()], sort_keys=True, default=str)

    def located(self, exc: PlaceError) -> DialogError:
        """Core's error with the cell or widget it names."""
        key, row, column = exc.place
        if key == "column" and column:  # a column setting: its field
            raster_column, setting = column.split(".")
            text = f"{exc} In the dialog: the settings of the {'MODIS' if raster_column == 'coarse' else 'fine'} rasters."
            return DialogError(text, self.d.inputs.columns.fields[raster_column][setting], tab=INPUTS)
        if row is not None and column is not None:
            return DialogError(str(exc), cell=self.d.inputs.cell(key, row, column), tab=INPUTS)
        widget = getattr(self.d.outputs, key, None)
        return DialogError(str(exc), widget, tab=OUTPUTS if widget is not None else None)

    def at_field(self, message: str) -> DialogError:
        """A core message naming a job field (``Job field 'strategy': ...``) pointed at the widget bound to it."""
        found = re.search(r"Job field '([\w.]+)", message)
        key = found.group(1) if found else ""
        for tab, panel in enumerate(self.d.panels):
            for bind in panel.BINDS:
                if bind.widget and key and (key == bind.key or key.startswith(bind.key + ".")):
                    widget = getattr(panel, bind.widget)
                    return DialogError(message, widget if hasattr(widget, "setStyleSheet") else None, tab=tab)
        return DialogError(message, tab=self.d.tabs.currentIndex())

    def build_classify(self):
        """The checked :class:`~..core.pipeline.classify_job.ClassifyJob` of the classify-only mode, or DialogError."""
        from ..core.options import parse_bands
        from ..core.pipeline.classify_job import ClassifyJob, check_classify_job
        from ..core.pipeline.rows import check_fields

        data, out = self.d.job_dict(), self.d.outputs
        rasters = self.d.series.rasters()
        if not rasters:
            raise DialogError("Add the NDVI rasters (tab 'NDVI series'), or press Fill.", self.d.series.table, tab=INPUTS)
        if not data.get("output_dir"):
            raise DialogError("Choose an output folder (tab 'Samples and outputs').", out.output_dir, tab=OUTPUTS)
        layer = out.samples.currentLayer()
        try:
            check_fields(data, layer is not None and layer.type() == layer.VectorLayer, out.samples.currentText())
        except PlaceError as exc:
            raise self.located(exc) from None
        try:
            text = self.d.series.bands.text().strip()
            job = ClassifyJob(
                tuple(rasters), data["samples"], data["output_dir"], data.get("class_field") or "crop",
                tuple(parse_bands(text, "bands of stacks")) if text else None,
                float(self.d.series.scale.text().replace(",", ".")) if self.d.series.scale.text().strip() else None,
                data.get("group_field"), data["split"], data.get("block_m"), data["kfold"], data["confidence"],
                data.get("fields"), data.get("field_id"), data["cog"], data["name"], data.get("samples_layer"),
                **{k: data[k] for k in CLASSIFY_SAMPLE_KEYS if data.get(k) is not None},
                dates=tuple(self.d.series.dates()),
            )  # fmt: skip
            check_classify_job(job)
        except (TsstfnError, ValueError) as exc:
            text = str(exc)
            dated = re.search(r"\b[Rr]ow (\d+)", text) if re.search(r"'dates'|dates do not increase|typed date", text) else None
            if dated and int(dated.group(1)) <= self.d.series.table.rowCount():  # the date cell at fault
                raise DialogError(text, cell=(self.d.series.table, int(dated.group(1)) - 1, 1), tab=INPUTS) from None
            widget = out.output_dir if "output" in text.lower() else out.samples if "sample" in text.lower() else None
            raise DialogError(text, widget or self.d.series.table, tab=OUTPUTS if widget is not None else INPUTS) from None
        return job

    def build(self):
        """The validated core Job, or raise :class:`DialogError` naming (and locating) the row, cell or field."""
        from ..core.pipeline.job import job_from_dict, validate_job
        from ..core.pipeline.outputs import OutputFolder
        from ..core.pipeline.rows import check_fields
        from ..core.pipeline.run import check_samples, preflight

        data = self.d.job_dict()
        out = self.d.outputs
        if not data.get("output_dir"):
            raise DialogError("Choose an output folder (tab 'Samples and outputs').", out.output_dir, tab=OUTPUTS)
        key = self._validation_key(data)
        if key == self._valid_key:  # nothing changed since the last valid job: only the live-run check
            job = self._valid_job
            try:
                OutputFolder(Path(job.output_dir), {}, job.name, []).check_free()
            except TsstfnError as exc:
                raise DialogError(str(exc), out.output_dir, tab=OUTPUTS) from None
            return job
        layer = out.samples.currentLayer()
        vector = layer is not None and layer.type() == layer.VectorLayer
        field = data.get("class_field")
        if vector and field and is_key(layer, field):  # a QGIS primary key, which OGR does not list as a field
            raise DialogError(
                f"Class field '{field}' is the key of '{layer.name()}' (a different number per feature), not a "
                "class; choose the field with the crop classes (tab 'Samples and outputs').",
                out.class_field,
                tab=OUTPUTS,
            )
        try:
            self.d.checker.check(data, self.d.inputs.season_start())
            if out.map_crops.isChecked():  # unticked: fusion only, no samples needed
                check_fields(data, vector, out.samples.currentText())
        except PlaceError as exc:
            raise self.located(exc) from None
        try:
            job = validate_job(job_from_dict(data, "."))
        except TsstfnError as exc:
            raise self.at_field(str(exc)) from None
        try:
            samples = check_samples(job) if job.samples else None  # (an unchanged valid job never gets here)
        except TsstfnError as exc:
            raise DialogError(f"Samples layer (tab 'Samples and outputs'): {exc}", out.samples, tab=OUTPUTS) from None
        try:
            job = preflight(job, samples)[0]  # the run's own first-second checks: outputs vs inputs, folder, patch, model
        except TsstfnError as exc:
            text = str(exc)
            widget = out.output_dir if ("output" in text.lower() or "folder" in text.lower()) else None
            raise DialogError(text, widget, tab=OUTPUTS if widget is not None else None) from None
        self._valid_key, self._valid_job = key, job
        return job
