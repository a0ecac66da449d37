"""The UI's one task base class, run by QGIS's real task manager."""

from __future__ import annotations

import time

from qgis.core import QgsApplication

from tsstfn_crop_mapper.core.errors import CancelledError, InputError
from tsstfn_crop_mapper.ui.task import CallTask, run_in_background


def _run(work) -> list:
    done: list = []
    run_in_background(CallTask("test task", work, lambda result, error: done.append((result, error))))
    start = time.time()
    while not done:
        QgsApplication.processEvents()
        time.sleep(0.02)
        assert time.time() - start < 30
    return done[0]


def _fail(exc):
    def work():
        raise exc

    return work


def test_results_and_errors_reach_on_done_on_the_gui_thread(qgis_app):
    assert _run(lambda: 42) == (42, None)
    assert _run(_fail(InputError("Layer 'x' has no CRS."))) == (None, "Layer 'x' has no CRS.")
    assert _run(_fail(CancelledError())) == (None, "Cancelled by the user.")
    result, error = _run(_fail(ZeroDivisionError("division by zero")))
    assert result is None and error == "ZeroDivisionError: division by zero"


def test_an_error_in_on_done_is_logged_not_raised_into_qt(qgis_app):
    done: list = []

    def broken(result, error):
        done.append(result)
        raise RuntimeError("the dialog is gone")

    run_in_background(CallTask("test task", lambda: 1, broken))
    start = time.time()
    while not done:
        QgsApplication.processEvents()
        time.sleep(0.02)
        assert time.time() - start < 30
    assert done == [1]  # and the process is still alive
