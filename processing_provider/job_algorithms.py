"""Algorithms over job files: the whole job, training, prediction (a job file is how Processing
users give the dated MODIS/Sentinel-2 pairs; the dialog writes one)."""

from qgis.core import (
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from ..core.fusion.methods import METHODS
from ..core.fusion.tsstfn import Forecast
from ..core.pipeline.job import learning_method
from ..core.pipeline.presets import DESCRIPTIONS as PRESET_DESCRIPTIONS
from ..core.pipeline.presets import PRESETS
from .base import TsstfnAlgorithm

FORECASTS = [f.value for f in Forecast]


def comparable():
    """The registry's methods a job can compare beside its learning method (not learning, no pair after a target)."""
    return [name for name, m in METHODS.items() if not (m.learns or m.needs_later_pair)]


def method_param_key(method, param):
    """The Processing parameter of a method's ``NumberParam`` (``STARFM_WINDOW_M``)."""
    return f"{method.name}_{param.key}".upper()


COMPARABLE = comparable()  # as the provider was loaded (an algorithm instance keeps its own list)


PRESET_CHOICES = ["(the job file's)", *PRESETS]


def _job(alg, parameters, context, folder_key=None):
    from dataclasses import replace

    from ..core.pipeline.job import load_job, validate_job

    overrides = {}
    if "PRESET" in parameters and alg.parameterAsEnum(parameters, "PRESET", context) > 0:
        overrides["preset"] = PRESET_CHOICES[alg.parameterAsEnum(parameters, "PRESET", context)]
    job = load_job(alg.parameterAsFile(parameters, "JOB", context), overrides)
    if folder_key:
        folder = alg.parameterAsString(parameters, folder_key, context)
        if folder:
            job = replace(job, output_dir=folder)
    from ..core.pipeline.run import check_outputs_are_not_inputs

    job = validate_job(job)
    check_outputs_are_not_inputs(job)
    return job


class RunJobAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "runjob"
    FOLDER_KEY = "OUTPUT_FOLDER"
    DISPLAY = "Run a crop-mapping job"

    def __init__(self):
        super().__init__()
        self.comparable = comparable()
        learner = learning_method().label
        self.PARAM_HELP = {
            "COMPARE": f"Fusion methods also computed and scored beside {learner} "
            f"({', '.join(METHODS[n].label for n in self.comparable)}); empty: the job's list.",
            **{
                method_param_key(METHODS[n], p): f"{p.tooltip} Empty: the job file's method_params, else the default."
                for n in self.comparable
                for p in METHODS[n].dialog_params
            },
        }
        self.HELP = (
            f"Runs a whole job file (JSON or YAML; the dialog can save one): alignment, {learner} training or loading, "
            "fused NDVI for each target date, the comparison methods, crop maps with and without the fused dates, "
            "accuracy, exports and a run report. Comparison methods: "
            + "; ".join(f"{METHODS[n].label}: {METHODS[n].description}" for n in self.comparable)
            + ". Presets (defaults the job file's own values override): "
            + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items())
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(
            QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder (empty: the job's)", optional=True)
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                "COMPARE",
                f"Fusion methods scored beside {learning_method().label} (empty: the job's)",
                options=[METHODS[n].label for n in self.comparable],
                allowMultiple=True,
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterEnum("PRESET", "Preset", options=PRESET_CHOICES, defaultValue=0))
        for name in self.comparable:  # each method's own numbers (its entry's dialog_params)
            method = METHODS[name]
            defaults = method.params()
            for p in method.dialog_params:
                integer = isinstance(getattr(defaults, p.key), int)
                kind = QgsProcessingParameterNumber.Integer if integer else QgsProcessingParameterNumber.Double
                self.addParameter(
                    QgsProcessingParameterNumber(
                        method_param_key(method, p), f"{method.label}: {p.label}{f' ({p.suffix.strip()})' if p.suffix else ''}",
                        kind, None, optional=True, minValue=p.minimum, maxValue=p.maximum,
                    )
                )  # fmt: skip
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_DIR", "Output folder"))
        self.addOutput(QgsProcessingOutputNumber("KAPPA_EARLY", "Kappa, early season only"))
        self.addOutput(QgsProcessingOutputNumber("KAPPA_FUSED", "Kappa, with fused NDVI"))

    def _chosen_job(self, parameters, context):
        """The job file's job with the methods and method parameters chosen here."""
        from dataclasses import replace

        job = _job(self, parameters, context, self.FOLDER_KEY)
        # an absent COMPARE reads as the enum's first option: keep the job's list then
        chosen = self.parameterAsEnums(parameters, "COMPARE", context) if parameters.get("COMPARE") not in (None, []) else []
        if chosen:
            job = replace(job, compare=tuple(self.comparable[i] for i in chosen))
        method_params = dict(job.method_params)
        for name in self.comparable:
            method = METHODS[name]
            params = job.params_of(name)
            changed = {}
            for p in method.dialog_params:
                key = method_param_key(method, p)
                if parameters.get(key) is None:
                    continue
                integer = isinstance(getattr(params, p.key), int)
                changed[p.key] = (self.parameterAsInt if integer else self.parameterAsDouble)(parameters, key, context)
            if changed:
                method_params[name] = replace(params, **changed)
        return replace(job, method_params=method_params) if method_params != job.method_params else job

    def check(self, parameters, context):
        from ..core.pipeline.run import preflight

        preflight(self._chosen_job(parameters, context))

    def execute(self, parameters, context, feedback):
        from ..core.pipeline.run import run_job

        job = self._chosen_job(parameters, context)
        result = run_job(job, *self.callbacks(feedback))
        feedback.pushInfo(result.report.read_text())
        for reason in sorted({a["not_measured"] for a in result.accuracy.values() if a.get("not_measured")}):
            feedback.pushWarning(reason)  # too few samples per class: maps and pixel-count areas, no kappa
        return {
            "OUTPUT_DIR": str(result.output_dir),
            "OUTPUT_FOLDER": str(result.output_dir),
            "KAPPA_EARLY": result.accuracy.get("early", {}).get("kappa"),
            "KAPPA_FUSED": result.accuracy.get("fused", {}).get("kappa"),
            "CROP_MAP": str(result.crop_map) if result.crop_map else None,
            "FUSED": {d.isoformat(): str(p) for d, p in result.fused.items()},
        }


class TrainAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "train"
    DISPLAY = "Train TSSTFN"
    PARAM_HELP = {"OUTPUT": "Where the trained model is written (.tsstfn: weights, normalisation, strategy, dates, preset)."}
    HELP = (
        "Trains TSSTFN on the reference year of a job file (strategy, targets and training options from the job) "
        "and saves the model file."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Model file", fileFilter="TSSTFN model (*.tsstfn)"))

    def check(self, parameters, context):
        _job(self, parameters, context, self.FOLDER_KEY)

    def execute(self, parameters, context, feedback):
        from pathlib import Path

        from ..core.fusion import tsstfn
        from ..core.fusion.modelfile import save_model
        from ..core.pipeline.run import prepare

        job = _job(self, parameters, context)
        progress, cancelled = self.callbacks(feedback)
        prep = prepare(job, Path(job.output_dir) / "aligned", None, cancelled)
        model, meta = tsstfn.fit(prep.fusion_inputs(), job.tsstfn_params(), progress, cancelled)
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        save_model(out, model, meta)
        feedback.pushInfo(
            f"best validation RMSE {meta['training']['best_val_rmse']:.4f} at epoch {meta['training']['best_epoch']}"
        )
        return {"OUTPUT": out}


class PredictAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "predict"
    FOLDER_KEY = "OUTPUT_FOLDER"
    DISPLAY = "Predict fused NDVI"
    HELP = "Predicts the fine NDVI of a job's target dates with a saved TSSTFN model, individually or sequentially."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("JOB", "Job file", fileFilter="Job files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterFile("MODEL", "Model file", fileFilter="TSSTFN model (*.tsstfn)"))
        self.addParameter(QgsProcessingParameterEnum("FORECAST", "Forecast", options=FORECASTS, defaultValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"))

    def _params(self, job, parameters, context):
        from dataclasses import replace

        forecast = FORECASTS[self.parameterAsEnum(parameters, "FORECAST", context)]
        return replace(job.tsstfn_params(), model=self.parameterAsFile(parameters, "MODEL", context), forecast=forecast)

    def check(self, parameters, context):
        from ..core.fusion import tsstfn

        tsstfn.load(self._params(_job(self, parameters, context, self.FOLDER_KEY), parameters, context))

    def execute(self, parameters, context, feedback):
        from pathlib import Path

        from ..core.fusion import tsstfn
        from ..core.pipeline.run import prepare

        job = _job(self, parameters, context, self.FOLDER_KEY)
        out = Path(job.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        progress, cancelled = self.callbacks(feedback)
        params = self._params(job, parameters, context)
        model, meta = tsstfn.load(params)
        prep = prepare(job, out / "aligned", None, cancelled)
        fused = tsstfn.predict(
            model, meta, prep.fusion_inputs(), params, lambda d: out / f"fused_ndvi_{d:%Y%m%d}.tif",
            None, None, progress, cancelled,
        )  # fmt: skip
        return {"OUTPUT_FOLDER": str(out), "FUSED": {d.isoformat(): str(p) for d, p in fused.items()}}
