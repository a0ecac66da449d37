"""Algorithms over job files: the whole job, training, prediction (a job file is how Processing
users give the dated MODIS/Sentinel-2 pairs; the dialog writes one)."""

from qgis.core import (
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
)

from .base import TsstfnAlgorithm


def _job(alg, parameters, context, folder_key=None):
    from dataclasses import replace

    from ..core.job import load_job, validate_job

    job = alg.call_core(load_job, alg.parameterAsFile(parameters, "JOB", context))
    if folder_key:
        folder = alg.parameterAsString(parameters, folder_key, context)
        if folder:
            job = replace(job, output_dir=folder)
    return alg.call_core(validate_job, job)


class RunJobAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "runjob"
    DISPLAY = "Run a crop-mapping job"
    HELP = (
        "Runs a whole job file (JSON or YAML; the dialog can save one): alignment, TSSTFN training or loading, fused NDVI "
        "for each target date, STARFM, crop maps with and without the fused dates, accuracy, exports and a run report."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(
            QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder (empty: the job's)", optional=True)
        )
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_DIR", "Output folder"))
        self.addOutput(QgsProcessingOutputNumber("KAPPA_EARLY", "Kappa, early season only"))
        self.addOutput(QgsProcessingOutputNumber("KAPPA_FUSED", "Kappa, with fused NDVI"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..core.job import run_job

        job = _job(self, parameters, context, "OUTPUT_FOLDER")
        result = self.call_core(run_job, job, *self.callbacks(feedback))
        feedback.pushInfo(result.report.read_text())
        return {
            "OUTPUT_DIR": str(result.output_dir),
            "OUTPUT_FOLDER": str(result.output_dir),
            "KAPPA_EARLY": result.accuracy.get("early", {}).get("kappa"),
            "KAPPA_FUSED": result.accuracy.get("fused", {}).get("kappa"),
            "CROP_MAP": str(result.crop_map) if result.crop_map else None,
            "FUSED": {k: str(v) for k, v in result.fused.items()},
        }


class TrainAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "train"
    DISPLAY = "Train TSSTFN"
    HELP = (
        "Trains TSSTFN on the reference year of a job file (strategy, targets and training options from the job) "
        "and saves the model file."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Model file", fileFilter="TSSTFN model (*.tsstfn)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from pathlib import Path

        from ..core.job import fit_model, prepare
        from ..core.training import save_model

        job = _job(self, parameters, context)
        progress, cancelled = self.callbacks(feedback)
        prep = self.call_core(prepare, job, Path(job.output_dir) / "aligned", None, cancelled)
        model, meta = self.call_core(fit_model, job, prep, progress, cancelled)
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        save_model(out, model, meta)
        feedback.pushInfo(
            f"best validation RMSE {meta['training']['best_val_rmse']:.4f} at epoch {meta['training']['best_epoch']}"
        )
        return {"OUTPUT": out}


class PredictAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "predict"
    DISPLAY = "Predict fused NDVI"
    HELP = "Predicts the fine NDVI of a job's target dates with a saved TSSTFN model, individually or sequentially."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterFile("MODEL", "Model file", fileFilter="TSSTFN model (*.tsstfn)"))
        self.addParameter(
            QgsProcessingParameterEnum("FORECAST", "Forecast", options=["individual", "sequential"], defaultValue=0)
        )
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from pathlib import Path

        from ..core.job import predict_targets, prepare
        from ..core.training import load_model

        job = _job(self, parameters, context)
        out = Path(self.parameterAsString(parameters, "OUTPUT_FOLDER", context))
        out.mkdir(parents=True, exist_ok=True)
        progress, cancelled = self.callbacks(feedback)
        model, meta = self.call_core(load_model, self.parameterAsFile(parameters, "MODEL", context), job.train.device)
        prep = self.call_core(prepare, job, out / "aligned", None, cancelled)
        forecast = ["individual", "sequential"][self.parameterAsEnum(parameters, "FORECAST", context)]
        fused = self.call_core(
            predict_targets, model, meta, job, prep, prep.targets, forecast, out, "fused_ndvi", progress, cancelled
        )
        return {"OUTPUT_FOLDER": str(out), "FUSED": {k: str(v) for k, v in fused.items()}}
