"""The estimate line under the tabs: memory, disk and time of the job as it stands, and *Measure speed*."""

from __future__ import annotations

import json
from dataclasses import asdict

from qgis.core import QgsSettings
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ..core.errors import TsstfnError
from .task import CallTask, run_in_background

SPEED_KEY = "tsstfn_crop_mapper/speed"


def _measure(width: int, patch: int, n_base: int, device: str, batch_size: int = 16, cl_paths: int = 9):
    from ..core.pipeline.estimate import measure_speed

    return measure_speed(width, patch, n_base, device, batch_size, cl_paths)


class EstimateBar(QWidget):
    """Shows :func:`~..core.pipeline.estimate.estimate_job` for a job mapping; measures the network's speed."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.measure_button = QPushButton("Measure speed")
        self.measure_button.setToolTip(
            "Time a few training steps of this network on the chosen device (seconds on a CPU at small widths), so "
            "that the time estimate is this machine's, not a guess"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.measure_button)
        self._data: dict = {}
        self._device_text = "CPU"
        self.last = None  # the Estimate shown last (None before one could be made)

    @staticmethod
    def network_of(data: dict) -> tuple:
        """``(device, width, patch, n_base, batch_size, cl_paths)``: what a measured speed depends on, as measured."""
        train = data.get("train", {})
        return (
            train.get("device") or "cpu",
            train["width"],
            train["patch"],
            data.get("n_base") or 7,  # Job.n_base
            train.get("batch_size") or 16,
            train.get("cl_paths") or 9,
        )

    @staticmethod
    def _key(device: str, width: int, patch: int, n_base: int, batch_size: int, cl_paths: int) -> str:
        return f"{SPEED_KEY}/{device}/{width}/{patch}/{n_base}/{batch_size}/{cl_paths}"

    def measured_speed(self, device: str, width: int, patch: int, n_base: int, batch_size: int, cl_paths: int):
        """The Speed measured earlier on this device for this very network (QgsSettings), or None.

        The time per patch depends on the base pairs (input channels), the batch and the CL paths as well as on
        the width and patch, so each of them is part of the key: another network never reuses a measurement.
        """
        from ..core.pipeline.estimate import Speed

        text = QgsSettings().value(self._key(device, width, patch, n_base, batch_size, cl_paths), "")
        try:
            return Speed(**json.loads(text)) if text else None
        except (TypeError, ValueError):
            return None

    def measure(self, data: dict) -> CallTask:
        """Time the job's network in the background; the estimate updates when it is done."""
        self.measure_button.setEnabled(False)
        self.measure_button.setText("Measuring…")
        network = self.network_of(data)  # the job's own network: its CL paths and batch set the time per patch
        device, width, patch, n_base, batch_size, cl_paths = network
        return run_in_background(
            CallTask(
                "TSSTFN Crop Mapper: measuring speed",
                lambda: _measure(width, patch, n_base, device, batch_size, cl_paths),
                lambda speed, error: self._measured(speed, error, network),
            )
        )

    def _measured(self, speed, error: str | None, network: tuple) -> None:
        self.measure_button.setEnabled(True)
        self.measure_button.setText("Measure speed")
        if speed is None:
            self.label.setText(f"Measuring the speed failed: {error}")
            return
        QgsSettings().setValue(self._key(*network), json.dumps(asdict(speed)))
        self.show_for(self._data, self._device_text)

    def show_for(self, data: dict, device_text: str) -> None:
        """The estimate of the job mapping ``data`` (as the dialog would save it) on the device shown as ``device_text``."""
        from ..core.files import open_raster
        from ..core.pipeline.estimate import estimate_job
        from ..core.pipeline.rows import raster_of

        self._data, self._device_text = data, device_text
        rows = data.get("prediction") or []
        try:
            ds = open_raster(raster_of(rows[0]["fine"])[0] or "")
        except (TsstfnError, IndexError, KeyError):
            self.label.setText("Estimate: add the prediction-year pairs to see the run's memory, disk and time.")
            return
        speed = self.measured_speed(*self.network_of(data))
        e = estimate_job(data, ds.RasterXSize, ds.RasterYSize, speed)
        self.last = e
        text = (
            f"Estimate for {ds.RasterXSize} x {ds.RasterYSize} px: memory {e.memory_gb:.1f} GB, disk {e.disk_gb:.2f} GB, "
            f"time {e.time_text()} on {device_text}."
        )
        warnings = e.warnings()
        self.label.setText(text + ("  ⚠ " + "; ".join(warnings) if warnings else ""))
