"""The profile dock: the run it reads, the field toggle, the chart and its exports; reading is core/profile's."""

from __future__ import annotations

import time
from pathlib import Path

from qgis.gui import QgsDockWidget
from qgis.PyQt.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.errors import TsstfnError
from ...core.profile import ProfileReader, write_csv
from .chart import ProfileChart


class ProfileDock(QgsDockWidget):
    """Shows the season of the pixel (or field) clicked with the profile tool, for one run folder."""

    def __init__(self, parent=None) -> None:
        super().__init__("TSSTFN pixel profile", parent)
        self.setObjectName("tsstfnProfileDock")
        self.reader: ProfileReader | None = None
        self.samples: list = []
        self.place = None
        self.last_point: tuple[float, float, str | None] | None = None
        self.seconds = 0.0  # the last click's read and draw
        body = QWidget()
        self.run_label = QLabel("No run open.")
        self.run_label.setWordWrap(True)
        self.open_button = QPushButton("Open run…")
        self.open_button.setToolTip("A run's output folder (run_report.json) or a benchmark's (benchmark.csv)")
        self.open_button.clicked.connect(self._choose_run)
        self.field_box = QCheckBox("Field mean")
        self.field_box.setToolTip("Inside a field polygon of the run: the field's mean and spread instead of the pixel")
        self.field_box.toggled.connect(self._redo)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("Fused, real and STARFM of a target date side by side, with their differences")
        self.chart = ProfileChart()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("profileMessage")
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        self.export_buttons = {}
        for suffix in ("png", "svg", "csv"):
            button = QPushButton(f"Export {suffix.upper()}…")
            button.clicked.connect(lambda _=False, s=suffix: self._export(s))
            button.setEnabled(False)
            bottom.addWidget(button)
            self.export_buttons[suffix] = button
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.field_box)
        top.addWidget(self.compare_button)
        top.addWidget(self.run_label, 1)
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addWidget(self.chart, 1)
        layout.addLayout(bottom)
        body.setMinimumHeight(330)
        self.setWidget(body)

    # the run ---------------------------------------------------------------------------------
    def set_run(self, folder) -> bool:
        """Read the record of the run in ``folder``; False (and the reason shown) when it holds no run."""
        try:
            reader = ProfileReader(folder)
        except TsstfnError as exc:
            self.message.setText(str(exc))
            return False
        if self.reader is not None:
            self.reader.close()
        self.reader, self.samples, self.place = reader, [], None
        rec = reader.record
        kind = "benchmark" if rec.kind == "benchmark" else "run"
        dates = ", ".join(d.isoformat() for d in rec.target_dates)
        self.run_label.setText(f"{kind} '{rec.name}' ({rec.folder}); targets {dates}")
        self.field_box.setEnabled(bool(rec.fields))
        self.message.setText(" ".join(rec.notes))
        self.chart.clear("Click a pixel of the run with the profile tool.")
        return True

    def _choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder")
        if folder:
            self.set_run(folder)

    # a click ---------------------------------------------------------------------------------
    def show_point(self, x: float, y: float, crs_wkt: str | None = None) -> bool:
        """Read and draw the season under ``(x, y)`` (in ``crs_wkt``); False with the reason shown when it cannot."""
        self.last_point = (x, y, crs_wkt)
        if self.reader is None:
            self.message.setText("Open a run first (Open run…, or the profile action on a run's layer).")
            return False
        start = time.perf_counter()
        try:
            title, found = self._read(x, y, crs_wkt)
        except TsstfnError as exc:
            self.message.setText(str(exc))
            return False
        self.place, self.samples = found
        record = self.reader.record
        self.chart.show_samples(self.samples, title, record.season, record.season_label)
        self.chart.canvas.draw()
        self.seconds = time.perf_counter() - start
        for button in self.export_buttons.values():
            button.setEnabled(True)
        return True

    def _read(self, x: float, y: float, crs_wkt: str | None):
        reader = self.reader
        assert reader is not None
        self.message.setText("")
        if self.field_box.isChecked() and reader.record.fields:
            found = reader.field_series(x, y, crs_wkt)
            if found is not None:
                place = found[0]
                return f"field {place.field_id}: mean of {place.n_pixels} pixels ± their spread", found
            self.message.setText("No field of the run here; the pixel's series is shown.")
        found = reader.series_at(x, y, crs_wkt)
        place = found[0]
        return f"pixel column {place.col}, row {place.row} ({place.x:.1f}, {place.y:.1f})", found

    def _redo(self) -> None:
        if self.last_point is not None and self.reader is not None:
            self.show_point(*self.last_point)

    # exports ---------------------------------------------------------------------------------
    def export(self, path) -> Path:
        """The chart (``.png``, ``.svg``) or its values (``.csv``) into ``path``, written atomically."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return write_csv(self.samples, path)
        self.chart.save(path)
        return path

    def _export(self, suffix: str) -> None:
        name = f"profile_{self.place.col}_{self.place.row}.{suffix}" if self.place else f"profile.{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the profile as {suffix.upper()}", name, f"*.{suffix}")
        if path:
            if not path.lower().endswith(f".{suffix}"):
                path += f".{suffix}"
            try:
                self.message.setText(f"Saved {self.export(path)}")
            except (OSError, TsstfnError) as exc:
                self.message.setText(f"Could not save '{path}': {exc}")

    def close_run(self) -> None:
        """Close the run's rasters."""
        if self.reader is not None:
            self.reader.close()
            self.reader = None
