"""The run-state panel under the tabs: the running job's step and progress, then its outcome, in the dialog.

The message bar that QGIS shows run-time errors in sits behind the dialog; this panel repeats
them where the analyst is looking, wraps long messages instead of cutting them, and offers the
log and Cancel. While a run writes, the dialog's Run button is disabled (:attr:`running`).
"""

from __future__ import annotations

from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

ERROR_STYLE = "color: #b00020"
SUCCESS_STYLE = "color: #1b5e20"


class RunStatePanel(QWidget):
    """Follows one task at a time: :meth:`watch` it, :meth:`finish` with its outcome.

    Signals:
        running_changed(bool): a run started (True) or ended (False).
    """

    running_changed = pyqtSignal(bool)

    def __init__(self, open_log=None, parent=None) -> None:
        super().__init__(parent)
        self.task = None
        self.running = False
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._poll)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.step = QLabel()
        self.step.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Stop the run; nothing half-written is left, and running it again resumes")
        self.cancel_button.clicked.connect(self.cancel)
        self.log_button = QPushButton("Show log")
        self.log_button.setToolTip("QGIS's log panel, tab 'TSSTFN Crop Mapper': every step and warning of the run")
        self.log_button.setEnabled(open_log is not None)
        if open_log is not None:
            self.log_button.clicked.connect(open_log)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.log_button)
        v.addLayout(row)
        v.addWidget(self.step)
        self.outcome = QLabel()
        self.outcome.setObjectName("runOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextSelectableByMouse)
        v.addWidget(self.outcome)
        self.setVisible(False)

    def watch(self, task) -> None:
        """Show ``task``'s progress and step (its ``step`` attribute) until :meth:`finish`."""
        self.task, self.running = task, True
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.step.setText(f"{getattr(task, 'job', None) and task.job.name or 'The run'} started…")
        self.outcome.setText("")
        self.timer.start()  # polls the task's Python attributes: no signal from its thread, no call into its C++ side
        self.setVisible(True)
        self.running_changed.emit(True)

    def _poll(self) -> None:
        task = self.task
        if task is None:
            return
        value = 100.0 * getattr(task, "fraction", 0.0)
        self.progress.setValue(int(value))
        if task.step:
            left = getattr(task, "time_left", "")
            self.step.setText(f"{task.step} ({value:.0f} %{', ' + left if left else ''})")

    def cancel(self) -> None:
        """Cancel the task followed."""
        if self.task is not None and not sip.isdeleted(self.task):
            self.task.cancel()
            self.step.setText("Cancelling… (at the next tile or epoch)")

    def finish(self, ok: bool, text: str, cancelled: bool = False) -> None:
        """The run ended: show ``text`` (success, cancel or the error) and enable Run again."""
        self.task, self.running = None, False
        self.timer.stop()
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.step.setText("")
        self.outcome.setStyleSheet(SUCCESS_STYLE if ok else "" if cancelled else ERROR_STYLE)
        self.outcome.setText(text)
        self.setVisible(True)
        self.running_changed.emit(False)
