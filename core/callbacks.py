"""Progress and cancellation enter the core as plain callables.

Every long function takes ``progress(fraction, message)`` (``fraction`` in 0..1) and
``is_cancelled()``; the QGIS task, the Processing feedback and the command line adapt to them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import CancelledError

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def never_cancelled() -> bool:
    """The default ``is_cancelled``: work that nobody can cancel."""
    return False


def check_cancelled(is_cancelled: CancelFn) -> None:
    """Raise :class:`~.errors.CancelledError` when ``is_cancelled()`` says so.

    Args:
        is_cancelled: returns True once the user has cancelled.

    Raises:
        CancelledError: when the work was cancelled.
    """
    if is_cancelled():
        raise CancelledError()


class Steps:
    """Progress over named steps: maps each step's own 0..1 progress into the whole job's 0..1.

    Args:
        progress: the job's progress callable (None: report nothing).
        weights: each step's name and its share of the work, in the order the steps run.
    """

    def __init__(self, progress: ProgressFn | None, weights: dict[str, float]) -> None:
        """Create the step tracker; no step has started."""
        self.progress = progress
        self.total = sum(weights.values())
        self.weights = weights
        self.done = 0.0
        self.seconds: dict[str, float] = {}  # wall time of each step started so far
        self._current: tuple[str, float] | None = None

    def finish(self) -> dict[str, float]:
        """End the current step's clock; returns the seconds of each step."""
        if self._current is not None:
            name, t0 = self._current
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            self._current = None
        return self.seconds

    def sub(self, name: str) -> ProgressFn:
        """The progress callable of step ``name``, which starts where the previous step ended (and ends its clock)."""
        self.finish()
        self._current = (name, time.perf_counter())
        start, span = self.done, self.weights[name] / self.total
        self.done += span
        outer = self.progress

        def report(fraction: float, message: str = "") -> None:
            if outer is not None:
                outer(min(1.0, start + span * fraction), f"{name}: {message}")

        return report


def scaled(progress: ProgressFn | None, start: float, end: float, prefix: str = "") -> ProgressFn | None:
    """``progress`` seen from a part of the work: its 0..1 maps onto ``start..end``, messages get ``prefix``.

    Returns None when ``progress`` is None, so the part reports nothing either.
    """
    if progress is None:
        return None
    outer = progress

    def report(fraction: float, message: str = "") -> None:
        outer(start + (end - start) * fraction, f"{prefix}{message}")

    return report


class ProgressPrinter:
    """A :data:`ProgressFn` for a terminal: one line per whole percent, or one every ``every_s`` seconds.

    Training reports every batch; a line per call would flood the terminal. Each command makes its
    own printer, so nothing is shared between runs in one process.
    """

    def __init__(self, every_s: float = 10.0) -> None:
        """A printer that repeats a percent only after ``every_s`` seconds."""
        self.every_s = every_s
        self.last: tuple[int, float] = (-1, 0.0)  # the last percent printed and when

    def __call__(self, fraction: float, message: str) -> None:
        """Print ``[ 12.3 %] message`` unless the same percent was printed less than ``every_s`` ago."""
        percent, now = int(100 * fraction), time.monotonic()
        if percent == self.last[0] and now - self.last[1] < self.every_s:
            return
        self.last = (percent, now)
        print(f"[{100 * fraction:5.1f} %] {message}", flush=True)
