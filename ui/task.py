"""The background task: runs core.run_job off the main thread; reports on the main thread."""

from __future__ import annotations

import time
import traceback
from typing import Any

from qgis.core import Qgis, QgsTask

from ..core.errors import CancelledError, TsstfnError
from .feedback import log


class JobTask(QgsTask):
    """One job. ``run()`` touches neither the GUI nor the project; ``finished()`` (main thread) calls
    ``on_success(result)`` or ``on_error(message)``."""

    def __init__(self, job, on_success=None, on_error=None) -> None:
        super().__init__(f"TSSTFN Crop Mapper: {job.name}", QgsTask.CanCancel)
        self.job = job
        self.on_success, self.on_error = on_success, on_error
        self.result: Any = None
        self.error: str | None = None
        self.details: str | None = None
        self._start = 0.0
        self.step = ""
        self.cancelled = False

    def _progress(self, fraction: float, message: str) -> None:
        self.step = message
        elapsed = time.monotonic() - self._start
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        self.setDescription(f"TSSTFN: {message}" + (f" (about {eta / 60:.0f} min left)" if eta else ""))
        self.setProgress(100.0 * fraction)

    def run(self) -> bool:
        from ..core.pipeline.run import run_job

        self._start = time.monotonic()
        try:
            self.result = run_job(self.job, self._progress, self.isCanceled)
            return True
        except CancelledError as exc:
            self.cancelled = True
            self.error = str(exc) or "Cancelled; no half-written output was left behind."
            self.setDescription("TSSTFN: cancelled by you (not an error); details in the message bar")
        except TsstfnError as exc:
            self.error = str(exc)
        except Exception as exc:  # an unexpected bug: a short message, the traceback to the log
            self.error = f"Unexpected error: {type(exc).__name__}: {exc} (details in the log)"
            self.details = traceback.format_exc()
        return False

    def finished(self, ok: bool) -> None:
        try:
            self._report(ok)
        except Exception:  # an exception escaping a Qt virtual would abort QGIS
            log(f"Showing the results of {self.job.name} failed:\n{traceback.format_exc()}", Qgis.Critical)

    def _report(self, ok: bool) -> None:
        if ok:
            log(f"{self.job.name} finished: {self.result.report}")
            if self.on_success:
                self.on_success(self.result)
        else:
            message = self.error or "Cancelled."
            log(
                message + (f"\n{self.details}" if self.details else ""), Qgis.Warning if "Cancelled" in message else Qgis.Critical
            )
            if self.on_error:
                self.on_error(message)
