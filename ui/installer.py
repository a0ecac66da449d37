"""Installing missing Python packages from inside QGIS: a dialog that says what, where and how big,
and a background task that runs core's two-step pip install with progress and Cancel."""

from __future__ import annotations

from html import escape
from pathlib import Path

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..core import deps
from .feedback import log
from .task import BaseTask, run_in_background

PACKAGES_FOLDER = "tsstfn_crop_mapper_packages"


def packages_dir() -> Path:
    """The folder the plugin installs packages into: beside the profile's plugins, so that updating or
    removing the plugin keeps it, and QGIS's own Python is never changed."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "python" / PACKAGES_FOLDER


class InstallTask(BaseTask):
    """Runs :func:`core.deps.install` off the GUI thread; ``on_done(installed, error)`` on the GUI thread."""

    def __init__(self, plan: deps.InstallPlan, on_done=None) -> None:
        super().__init__("TSSTFN Crop Mapper: installing Python packages", on_done)
        self.plan = plan

    def _run(self) -> list[str]:
        return deps.install(self.plan, self._progress, self.isCanceled, lambda line: log(f"pip: {line}"))

    def unexpected(self, exc: Exception) -> str:
        return f"Installing failed: {type(exc).__name__}: {exc}. Install by hand with:\n  {self.plan.manual_command()}"


class InstallDialog(QDialog):
    """Says which packages are missing, what will be installed where, the download size and the manual command."""

    def __init__(self, problems: list[deps.Problem], iface=None, parent=None, target: Path | None = None) -> None:
        super().__init__(parent)
        self.iface, self.problems = iface, problems
        self.target = target or packages_dir()
        self.task: InstallTask | None = None
        self.setWindowTitle("TSSTFN Crop Mapper: install missing packages")
        self.setObjectName("tsstfnInstallDialog")
        self.resize(720, 420)
        v = QVBoxLayout(self)
        lines = "".join(f"<li><b>{escape(p.requirement)}</b> ({escape(p.module)}): {escape(p.reason)}</li>" for p in problems)
        intro = QLabel(f"TSSTFN Crop Mapper needs Python packages that QGIS's Python cannot import:<ul>{lines}</ul>")
        intro.setWordWrap(True)
        v.addWidget(intro)
        self.build = QComboBox()
        self.build.addItem(f"CPU build (about {deps.DOWNLOAD_MB['torch']} MB)", False)
        self.build.addItem(f"CUDA build for NVIDIA GPUs (about {deps.DOWNLOAD_MB['torch+cuda'] / 1000:.1f} GB)", True)
        self.build.setToolTip("The CUDA build needs an NVIDIA GPU and driver; the CPU build works everywhere, slower")
        needs_torch = any(p.requirement == "torch" for p in problems)
        if needs_torch:
            self.build.setCurrentIndex(1 if deps.has_nvidia_gpu() else 0)
            row = QHBoxLayout()
            row.addWidget(QLabel("PyTorch:"))
            row.addWidget(self.build)
            row.addStretch()
            v.addLayout(row)
        self.where = QLabel()
        self.where.setWordWrap(True)
        v.addWidget(self.where)
        v.addWidget(QLabel("Or install them yourself with this command, then restart QGIS:"))
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setMaximumHeight(70)
        v.addWidget(self.command)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setObjectName("installStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(self.status.textInteractionFlags() | 1)  # selectable
        v.addWidget(self.progress)
        v.addWidget(self.status, 1)
        buttons = QHBoxLayout()
        self.copy_button = QPushButton("Copy command")
        self.install_button = QPushButton("Install")
        self.cancel_button = QPushButton("Cancel installing")
        self.close_button = QPushButton("Close")
        self.cancel_button.setVisible(False)
        self.install_button.setDefault(True)
        buttons.addWidget(self.copy_button)
        buttons.addStretch()
        for b in (self.install_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        v.addLayout(buttons)
        self.copy_button.clicked.connect(lambda: QApplication.clipboard().setText(self.plan.manual_command()))
        self.install_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.build.currentIndexChanged.connect(self._update_plan)
        self._update_plan()

    def _update_plan(self) -> None:
        self.plan = deps.plan_install(self.problems, self.target, cuda=bool(self.build.currentData()))
        self.where.setText(
            f"<b>{escape(', '.join(self.plan.requirements))}</b> will be downloaded (about {self.plan.download_mb} MB) and "
            f"installed into <code>{escape(str(self.target))}</code>, a folder of the plugin's own: QGIS's Python and "
            "the system stay as they are, and removing that folder undoes it."
        )
        self.command.setPlainText(self.plan.manual_command())

    def start(self) -> InstallTask:
        """Start the installation in a background task (progress here and in the task manager)."""
        self.install_button.setEnabled(False)
        self.build.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.status.setText("Installing… (pip's output goes to the log panel, tab 'TSSTFN Crop Mapper')")
        self.task = InstallTask(self.plan, self._done)
        self.task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        self.task.progressChanged.connect(lambda _: self.status.setText(f"Installing: {self.task.step}…" if self.task else ""))
        run_in_background(self.task)
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _done(self, installed: list[str] | None, error: str | None) -> None:
        self.task = None
        self.cancel_button.setVisible(False)
        self.install_button.setEnabled(True)
        self.build.setEnabled(True)
        bar = self.iface.messageBar() if self.iface is not None else None
        if installed is None:
            self.progress.setVisible(False)
            self.status.setText(error or "Installation failed.")
            self.status.setStyleSheet("color: #b00020")
            log(error or "Installation failed.", Qgis.Warning if error and "cancelled" in error else Qgis.Critical)
            if bar is not None:
                first = (error or "Installation failed.").splitlines()[0]
                bar.pushMessage("TSSTFN Crop Mapper", f"{first} The installer window has the manual command.", Qgis.Warning, 10)
            return
        self.progress.setValue(100)
        restart = any(p.requirement == "torch" for p in self.problems) or deps.find_problems(quick=False)
        text = f"Installed {', '.join(installed) or 'nothing (already present)'} into {self.target}. " + (
            "Restart QGIS to use them." if restart else "Ready: open TSSTFN Crop Mapper again."
        )
        self.status.setStyleSheet("color: #1b5e20")
        self.status.setText(text)
        self.install_button.setEnabled(False)
        log(text)
        if bar is not None:
            bar.pushMessage("TSSTFN Crop Mapper", text, Qgis.Success, 15)
