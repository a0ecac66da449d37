"""Background work of the UI: one task base class for jobs, installs, device probes and speed measurements.

:class:`BaseTask` runs ``_run()`` off the GUI thread (touching neither the GUI nor the project),
keeps its result or error, and reports on the GUI thread in ``finished()``: ``on_done(result,
error)``, an exception there logged instead of escaping into Qt.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsTask

from ..core.errors import CancelledError, TsstfnError
from .feedback import log

Done = Callable[[Any, "str | None"], None]
#: tasks started by :func:`run_in_background` and not yet finished (the task manager owns the C++ side)
_RUNNING: set = set()


class BaseTask(QgsTask):
    """A cancellable task: subclasses implement :meth:`_run`; ``on_done(result, error)`` runs on the GUI thread.

    Attributes:
        result: what ``_run()`` returned (None until it succeeded).
        error: the message for the user when it failed or was cancelled.
        details: the traceback of an unexpected error (for the log).
        cancelled: True when the user cancelled it.
        step: the last progress message.
    """

    def __init__(self, description: str, on_done: Done | None = None) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self.on_done = on_done
        self.result: Any = None
        self.error: str | None = None
        self.details: str | None = None
        self.cancelled = False
        self.step = ""
        self.fraction = 0.0
        self._start = 0.0

    def _run(self) -> Any:
        raise NotImplementedError

    def _progress(self, fraction: float, message: str) -> None:
        """Core's ``progress(fraction, message)`` callback (plain attributes too, for the GUI thread to poll)."""
        self.step, self.fraction = message, fraction
        self.setProgress(100.0 * fraction)

    def unexpected(self, exc: Exception) -> str:
        """The user's message for an exception that is not one of the plugin's own (a bug)."""
        return f"{type(exc).__name__}: {exc}"

    def run(self) -> bool:
        self._start = time.monotonic()
        try:
            self.result = self._run()
            return True
        except CancelledError as exc:
            self.cancelled = True
            self.error = str(exc) or "Cancelled; no half-written output was left behind."
        except TsstfnError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 (a short message; the traceback goes to the log)
            self.error = self.unexpected(exc)
            self.details = traceback.format_exc()
        return False

    def finished(self, ok: bool) -> None:
        _RUNNING.discard(self)
        try:
            self._finished(ok)
        except Exception:  # an exception escaping a Qt virtual would abort QGIS
            log(f"Showing the results of '{self.description()}' failed:\n{traceback.format_exc()}", Qgis.Critical)

    def _finished(self, ok: bool) -> None:
        if self.on_done is not None:
            self.on_done(self.result if ok else None, self.error)


class CallTask(BaseTask):
    """``work()`` as a task (a device probe, a speed measurement)."""

    def __init__(self, description: str, work: Callable[[], Any], on_done: Done | None = None) -> None:
        super().__init__(description, on_done)
        self.work = work

    def _run(self) -> Any:
        return self.work()


def run_in_background(task: BaseTask) -> BaseTask:
    """Hand ``task`` to QGIS's task manager; it is kept alive until it has finished."""
    _RUNNING.add(task)
    QgsApplication.taskManager().addTask(task)
    return task


class JobTask(BaseTask):
    """One job through ``core.run_job``; ``on_success(result)`` or ``on_error(message)`` on the GUI thread."""

    def __init__(self, job, on_success=None, on_error=None) -> None:
        super().__init__(f"TSSTFN Crop Mapper: {job.name}")
        self.job = job
        self.on_success, self.on_error = on_success, on_error
        self.time_left = ""

    def _progress(self, fraction: float, message: str) -> None:
        # no setDescription here: it writes a QString the task manager reads on the GUI thread at the same time
        # (heap corruption under load); the dialog polls step and time_left instead
        elapsed = time.monotonic() - self._start
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        self.time_left = f"about {eta / 60:.0f} min left" if eta else ""
        super()._progress(fraction, message)

    def _run(self) -> Any:
        from ..core.pipeline.run import run_job

        return run_job(self.job, self._progress, self.isCanceled)

    def unexpected(self, exc: Exception) -> str:
        return f"Unexpected error: {type(exc).__name__}: {exc} (details in the log)"

    def _finished(self, ok: bool) -> None:
        if ok:
            log(f"{self.job.name} finished: {getattr(self.result, 'report', None) or self.result.crop_map}")
            if self.on_success:
                self.on_success(self.result)
            return
        message = self.error or "Cancelled."
        level = Qgis.Warning if "Cancelled" in message else Qgis.Critical
        log(message + (f"\n{self.details}" if self.details else ""), level)
        if self.on_error:
            self.on_error(message)


class ClassifyTask(JobTask):
    """A classify-only run through ``core.run_classify_job`` (the command line's ``classify`` path)."""

    def _run(self) -> Any:
        from ..core.pipeline.classify_job import run_classify_job

        return run_classify_job(self.job, self._progress, self.isCanceled)
