"""QGIS glue: a Raster-menu entry, a toolbar button and the Processing provider.

Thin by design: the dialog gathers a job, a QgsTask runs it through ``core``. Importing this module
imports neither torch nor scikit-learn, so QGIS start-up stays fast.
"""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .ui.resources import ICON_PATH

PLUGIN_NAME = "TSSTFN Crop Mapper"
MENU = "&TSSTFN Crop Mapper"


class TsstfnCropMapperPlugin:
    """The object QGIS keeps for the plugin's lifetime."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.action: QAction | None = None
        self.provider: Any = None
        self.dialog: Any = None
        self.task: Any = None
        self.report_panel: Any = None
        self.installer: Any = None
        self.profile: Any = None  # the profile tool, its dock and the compare view (ui/profile)
        self.fetch_action: QAction | None = None  # Get imagery: STAC search and download (ui/fetch_dialog)
        self.fetch_dialog: Any = None
        from .core.deps import add_packages_dir
        from .ui.installer import packages_dir

        add_packages_dir(packages_dir())  # what the installer put there (Processing needs it too)

    # QGIS plugin API ----------------------------------------------------------------------
    def initProcessing(self) -> None:  # noqa: N802
        if self.provider is not None:  # QGIS calls this itself for qgis_process; initGui too
            return
        from .processing_provider.provider import TsstfnProvider

        self.provider = TsstfnProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.action = QAction(QIcon(ICON_PATH), f"{PLUGIN_NAME}…", self.iface.mainWindow())
        self.action.setObjectName("tsstfnCropMapperAction")
        self.action.setToolTip("Fuse MODIS and Sentinel-2 NDVI and map crops")
        self.action.triggered.connect(self.run)
        self.iface.addRasterToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(MENU, self.action)
        from .ui.profile import ProfileTools

        self.profile = ProfileTools(self.iface, MENU)
        self.fetch_action = QAction(QIcon(ICON_PATH), "Get imagery (Sentinel-2, Landsat, MODIS)…", self.iface.mainWindow())
        self.fetch_action.setObjectName("tsstfnFetchAction")
        self.fetch_action.triggered.connect(self.open_fetch)
        self.iface.addPluginToRasterMenu(MENU, self.fetch_action)
        self.initProcessing()

    def unload(self) -> None:
        if self.fetch_action is not None:
            self.iface.removePluginRasterMenu(MENU, self.fetch_action)
            self.fetch_action.deleteLater()
            self.fetch_action = None
        if self.fetch_dialog is not None:
            self.fetch_dialog.stop()  # cancel a running search or download
            self.fetch_dialog.close()
            self.fetch_dialog = None
        if self.profile is not None:
            self.profile.unload()
            self.profile = None
        if self.action is not None:
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.iface.removeRasterToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
        if self.installer is not None:
            self.installer.close()
            self.installer = None
        if self.report_panel is not None:
            self.iface.removeDockWidget(self.report_panel)
            self.report_panel.deleteLater()
            self.report_panel = None

    # Actions ------------------------------------------------------------------------------
    def run(self) -> None:
        """Open the dialog; when a package is missing, the installer instead (a quick look, no torch import)."""
        from .core.deps import find_problems

        problems = find_problems(quick=True)
        if problems:
            from .ui.installer import InstallDialog

            if self.installer is None or self.installer.task is None:
                self.installer = InstallDialog(problems, self.iface, parent=self.iface.mainWindow())
            self.installer.show()
            self.installer.raise_()
            return
        from .ui.dialog import CropMapperDialog

        if self.dialog is None:
            self.dialog = CropMapperDialog(self.iface, parent=self.iface.mainWindow())
            self.dialog.job_ready.connect(self.start_job)
        self.dialog.show()
        self.dialog.raise_()

    def open_fetch(self) -> None:
        """The Get imagery dialog (the installer first when pystac-client is missing); its layers go to Fill."""
        from .core.deps import OPTIONAL, find_problems

        problems = find_problems(OPTIONAL, quick=True)
        if problems:
            from .ui.installer import InstallDialog

            self.installer = InstallDialog(problems, self.iface, parent=self.iface.mainWindow())
            self.installer.show()
            return
        from .ui.fetch_dialog import FetchDialog

        if self.fetch_dialog is None:
            self.fetch_dialog = FetchDialog(self.iface, parent=self.iface.mainWindow())
            self.fetch_dialog.loaded.connect(lambda *_: (self.run(), self.dialog and self.dialog.fill_from_project()))
        self.fetch_dialog.show()
        self.fetch_dialog.raise_()

    def start_job(self, job):
        """Run ``job`` (a Job, or a ClassifyJob of the classify-only mode) in a QgsTask; results load as a layer
        group, messages go to the message bar and the dialog's run-state panel."""
        from qgis.core import Qgis

        from .core.pipeline.classify_job import ClassifyJob
        from .ui.layers import add_classify_layers, add_result_layers
        from .ui.task import ClassifyTask, JobTask

        bar = self.iface.messageBar()
        run_state = self.dialog.run_state if self.dialog is not None else None
        classify = isinstance(job, ClassifyJob)

        def success(result):
            from qgis.PyQt.QtCore import QTimer

            from .ui.report_panel import show_report

            if run_state is not None:  # first: the dialog's Run comes back even if loading the layers fails
                run_state.finish(True, f"{job.name} done: outputs in {job.output_dir}; loading the layers…")
            if classify:
                add_classify_layers(result, job.name)
                accuracy = result.assessment.accuracy
                block = result.assessment.block_accuracy
                text = f"{job.name} done: crop map in {job.output_dir}"
                if accuracy is None:  # too few samples per class to hold any out: say so where kappa would be
                    text += f", pixel-count areas in {result.pixel_areas.name}; {result.assessment.not_measured}"
                else:
                    text += f", kappa {100 * accuracy.kappa:.1f} %"
                if block is not None and block.kappa == block.kappa:
                    text += f" ({100 * block.kappa:.1f} % by spatial blocks)"
                mapped = result.mapped_fraction
                report = result.reports.get("accuracy_markdown")
                text += "; the accuracy report is in the panel on the right." if report else "."
            else:
                add_result_layers(result, job.name)
                kappa = result.accuracy.get("fused", {}).get("kappa")
                block = result.accuracy.get("fused", {}).get("block_kappa")
                text = f"{job.name} done: outputs in {result.output_dir}"
                if kappa is not None:
                    text += f", kappa {100 * kappa:.1f} %"
                elif result.accuracy.get("fused", {}).get("not_measured"):
                    text += f"; {result.accuracy['fused']['not_measured']}"
                if block is not None and block == block:
                    text += f" ({100 * block:.1f} % by spatial blocks)"
                if result.reused:
                    text += f"; resumed: {len(result.reused)} complete stage(s) of the stopped run reused"
                mapped = result.accuracy.get("fused", {}).get("mapped_fraction", 1.0)
                report = result.report
                text += "; the run report is in the panel on the right."
                if self.profile is not None:
                    self.profile.remember_run(result.output_dir)
            if mapped < 0.99:  # say how much of the map is nodata, and why, where the analyst reads kappa
                from .core.mapping.workflow import unmapped_note

                text += " " + unmapped_note(mapped)
            else:  # the share of nodata, always said (issue 21)
                text += f" {100 * (1 - mapped):.1f} % of the map is nodata."
            if run_state is not None:
                run_state.finish(True, text)
            # after QGIS's own "Task complete" notice, so that kappa is what the analyst reads first
            QTimer.singleShot(300, lambda: bar.pushMessage(PLUGIN_NAME, text, Qgis.Success, 15))
            if report:
                self.report_panel = show_report(self.iface, report, self.report_panel)

        def error(message):
            from qgis.PyQt.QtCore import QTimer

            if run_state is not None:
                cancelled = bool(getattr(self.task, "cancelled", False)) or message == "Cancelled."  # also while queued
                run_state.finish(False, message, cancelled=cancelled)
            if self.task is not None and getattr(self.task, "cancelled", False):
                # after QGIS's own "Task failed" notice, so that the cancel is what the analyst reads first
                QTimer.singleShot(300, lambda: bar.pushMessage(PLUGIN_NAME, message, Qgis.Info, 15))
            else:
                bar.pushMessage(PLUGIN_NAME, message, Qgis.Critical, 0)

        self.task = (ClassifyTask if classify else JobTask)(job, success, error)
        QgsApplication.taskManager().addTask(self.task)
        if run_state is not None:
            run_state.watch(self.task)
        bar.pushMessage(PLUGIN_NAME, f"{job.name} started; progress in the task manager (bottom right).", Qgis.Info, 5)
        return self.task
