"""The main job, end to end: one description (a JSON or YAML file), one function.

``run_job`` aligns the inputs, trains (or loads) TSSTFN, predicts the fused NDVI of each target
date (individual or sequential forecast), optionally runs STARFM, scores fusion against real
Sentinel-2 where given, classifies crops with and without the fused dates, assesses accuracy,
exports the crop map to GeoTIFF/Shapefile/GeoPackage and writes a run report. The QGIS dialog,
the Processing algorithms and the command line all call it (or its steps).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .classify import ForestParams
from .dates import detect_date, parse_date
from .errors import CancelledError, InputError
from .strategies import STRATEGIES
from .training import TrainConfig

log = logging.getLogger("tsstfn")
ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class PairSpec:
    """A date's MODIS and (except for targets) Sentinel-2; ``sentinel2`` of a target is the real
    image used only to score the fusion."""

    modis: str
    sentinel2: str | None = None
    date: dt.date | None = None
    sentinel2_mask: str | None = None
    modis_mask: str | None = None


@dataclass(frozen=True)
class Job:
    reference: tuple[PairSpec, ...]
    prediction: tuple[PairSpec, ...]
    targets: tuple[PairSpec, ...]
    output_dir: str
    samples: str | None = None
    class_field: str = "crop"
    group_field: str | None = None
    split: str = "random"  # random (paper) | field
    test_fraction: float = 0.3
    modis_product: str = "mod09gq"
    sentinel2_product: str = "s2_l2a"
    strategy: str = "STR_B"
    n_base: int = 7
    forecast: str = "individual"  # individual | sequential
    reference_target: dt.date | None = None
    model: str | None = None  # load this model instead of training
    save_model: bool = True
    train: TrainConfig = TrainConfig()
    forest: ForestParams = ForestParams()
    starfm: bool = True
    aoi: tuple[float, float, float, float] | None = None
    formats: tuple[str, ...] = ("gtiff", "shp", "gpkg")
    mmu_ha: float = 0.0
    probabilities: bool = False
    name: str = "tsstfn_run"

    def with_dates(self) -> Job:
        """Fill missing dates from the file names/metadata (an error names the file)."""

        def fill(p: PairSpec) -> PairSpec:
            if p.date:
                return p
            return replace(
                p,
                date=detect_date(Path(p.modis).name, path=p.modis)
                if not p.sentinel2
                else detect_date(Path(p.sentinel2).name, path=p.sentinel2),
            )

        return replace(
            self,
            reference=tuple(map(fill, self.reference)),
            prediction=tuple(map(fill, self.prediction)),
            targets=tuple(map(fill, self.targets)),
        )


def _resolve(value, base: Path):
    if value is None or value == "":
        return None
    p = Path(value).expanduser()
    return str((p if p.is_absolute() else base / p).resolve())


def _pairs(items, base: Path, field_name: str, need_s2: bool) -> tuple[PairSpec, ...]:
    if not isinstance(items, list):
        raise InputError(f"Job field '{field_name}' must be a list of {{date, modis, sentinel2}} entries.")
    out = []
    for i, e in enumerate(items):
        where = f"{field_name}[{i}]"
        if not isinstance(e, dict) or not e.get("modis"):
            raise InputError(f"Job field '{where}': every entry needs 'modis' (and 'date' unless the file name holds it).")
        if need_s2 and not e.get("sentinel2"):
            raise InputError(f"Job field '{where}': a base pair needs 'sentinel2'.")
        out.append(
            PairSpec(
                _resolve(e["modis"], base),
                _resolve(e.get("sentinel2"), base),
                parse_date(e["date"], f"{where}.date") if e.get("date") else None,
                _resolve(e.get("sentinel2_mask"), base),
                _resolve(e.get("modis_mask"), base),
            )
        )
    return tuple(out)


def _config(cls, values: dict, field_name: str):
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise InputError(f"Job field '{field_name}' has unknown key(s) {sorted(unknown)}; known: {sorted(names)}.")
    if "lstm_rows" in values:
        values = {**values, "lstm_rows": tuple(values["lstm_rows"])}
    return cls(**values)


def job_from_dict(data: dict, base_dir: str | Path = ".") -> Job:
    """Validate a job description; every error names the field. Relative paths are resolved
    against ``base_dir`` (the job file's folder)."""
    base = Path(base_dir)
    if not isinstance(data, dict):
        raise InputError("A job file must hold a mapping of fields (JSON object).")
    known = {f.name for f in fields(Job)}
    unknown = set(data) - known
    if unknown:
        raise InputError(f"Unknown job field(s) {sorted(unknown)}; known fields: {sorted(known)}.")
    for required in ("reference", "prediction", "targets", "output_dir"):
        if required not in data:
            raise InputError(f"Job field '{required}' is missing.")
    kw = dict(data)
    kw["reference"] = _pairs(data["reference"], base, "reference", True)
    kw["prediction"] = _pairs(data["prediction"], base, "prediction", True)
    kw["targets"] = _pairs(data["targets"], base, "targets", False)
    kw["output_dir"] = _resolve(data["output_dir"], base)
    for key in ("samples", "model"):
        if data.get(key):
            kw[key] = _resolve(data[key], base)
    if data.get("reference_target"):
        kw["reference_target"] = parse_date(data["reference_target"], "reference_target")
    if "strategy" in data and str(data["strategy"]).upper() not in STRATEGIES:
        raise InputError(f"Job field 'strategy': '{data['strategy']}' is not one of {', '.join(STRATEGIES)}.")
    kw["strategy"] = str(data.get("strategy", "STR_B")).upper()
    if data.get("forecast", "individual") not in ("individual", "sequential"):
        raise InputError("Job field 'forecast' must be 'individual' or 'sequential'.")
    if data.get("split", "random") not in ("random", "field"):
        raise InputError("Job field 'split' must be 'random' or 'field'.")
    if "train" in data:
        kw["train"] = _config(TrainConfig, data["train"], "train")
    if "forest" in data:
        kw["forest"] = _config(ForestParams, data["forest"], "forest")
    if data.get("aoi") is not None:
        if len(data["aoi"]) != 4:
            raise InputError("Job field 'aoi' must be [xmin, ymin, xmax, ymax] in the Sentinel-2 CRS.")
        kw["aoi"] = tuple(float(v) for v in data["aoi"])
    if "formats" in data:
        bad = set(data["formats"]) - {"gtiff", "shp", "gpkg"}
        if bad:
            raise InputError(f"Job field 'formats': unknown {sorted(bad)}; use gtiff, shp, gpkg.")
        kw["formats"] = tuple(data["formats"])
    for key, typ in (("n_base", int), ("test_fraction", float), ("mmu_ha", float)):
        if key in data:
            try:
                kw[key] = typ(data[key])
            except (TypeError, ValueError):
                raise InputError(f"Job field '{key}': '{data[key]}' is not a number.") from None
    return Job(**kw)


def load_job(path: str | Path) -> Job:
    """A job from a ``.json`` or ``.yaml`` file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Job file '{path}' not found.")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise InputError(
            f"Job file '{path.name}' is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {exc}"
        ) from None
    return job_from_dict(data, path.parent)


def job_to_dict(job: Job) -> dict:
    def conv(v):
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, tuple):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items() if x is not None}
        return v

    return conv(asdict(job))


def save_job(job: Job, path: str | Path) -> Path:
    from .raster import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(job_to_dict(job), indent=2))
    return Path(path)


def validate_job(job: Job) -> Job:
    """Checks that need no data read: dates present and distinct, enough pairs, targets after base."""
    job = job.with_dates()
    for name, pairs in (("reference", job.reference), ("prediction", job.prediction), ("targets", job.targets)):
        dates = [p.date for p in pairs]
        dup = sorted({d for d in dates if dates.count(d) > 1})
        if dup:
            raise InputError(f"Job field '{name}': date {dup[0].isoformat()} appears twice; keep one pair per date.")
    if not job.targets:
        raise InputError("Job field 'targets': give at least one target date with its MODIS.")
    years = {p.date.year for p in job.prediction} | {p.date.year for p in job.targets}
    if len(years) > 1:
        log.warning("prediction-year pairs and targets span several years: %s", sorted(years))
    if len(job.prediction) < job.n_base:
        raise InputError(
            f"Job field 'prediction': {len(job.prediction)} pairs for n_base = {job.n_base}; add pairs or lower n_base."
        )
    return job


def check_samples(job: Job):
    """Read the job's samples against its study area: raises InputError when none fall inside,
    a class is unknown or has too few samples. Returns the samples (reads only the vector file)."""
    from . import classify
    from .align import reference_grid

    if not job.samples:
        raise InputError("Job field 'samples': give a point or polygon layer, or a label raster, with the crop classes.")
    first = job.prediction[0]
    grid = reference_grid(first.sentinel2, Path(first.sentinel2).name, job.aoi)
    return classify.read_samples(job.samples, job.class_field, grid, group_field=job.group_field)


# Running -----------------------------------------------------------------------------------


@dataclass
class JobResult:
    output_dir: Path
    fused: dict[str, Path] = field(default_factory=dict)
    starfm: dict[str, Path] = field(default_factory=dict)
    difference: dict[str, Path] = field(default_factory=dict)
    crop_map: Path | None = None
    crop_map_early: Path | None = None
    probabilities: Path | None = None
    vectors: list[Path] = field(default_factory=list)
    model: Path | None = None
    report: Path | None = None
    fusion_metrics: dict = field(default_factory=dict)
    accuracy: dict = field(default_factory=dict)
    seconds: float = 0.0


class Steps:
    """Progress over named steps: maps a step's own 0..1 progress into the job's 0..1."""

    def __init__(self, progress: ProgressFn | None, weights: dict[str, float]):
        self.progress, self.total = progress, sum(weights.values())
        self.weights, self.done = weights, 0.0

    def sub(self, name: str) -> ProgressFn:
        start, span = self.done, self.weights[name] / self.total
        self.done += span
        return lambda f, msg="": self.progress and self.progress(min(1.0, start + span * f), f"{name}: {msg}")


@dataclass
class Prepared:
    """A job's inputs aligned on one grid, each year's pairs sorted by date."""

    grid: object
    reference: list
    prediction: list
    targets: list

    @property
    def reference_dates(self) -> list[dt.date]:
        return [p.date for p in self.reference]


def _check(is_cancelled) -> None:
    if is_cancelled():
        raise CancelledError()


def prepare(job: Job, workdir: Path, progress: ProgressFn | None = None, is_cancelled=lambda: False) -> Prepared:
    """Step 1: every input as NDVI on the prediction year's first Sentinel-2 grid (cropped to the AOI)."""
    from .align import reference_grid
    from .fusion import align_pairs

    first = job.prediction[0]
    grid = reference_grid(first.sentinel2, Path(first.sentinel2).name, job.aoi)
    out = []
    for k, (name, pairs) in enumerate((("reference", job.reference), ("prediction", job.prediction), ("targets", job.targets))):
        entries = [
            {"date": p.date.isoformat(), "modis": p.modis, "sentinel2": p.sentinel2, "sentinel2_mask": p.sentinel2_mask}
            for p in pairs
        ]
        aligned = align_pairs(entries, "/", grid, workdir / name, job.modis_product, job.sentinel2_product, is_cancelled)
        out.append(sorted(aligned, key=lambda p: p.date))
        if progress:
            progress((k + 1) / 3, f"{name} aligned")
    return Prepared(grid, *out)


def fit_model(job: Job, prep: Prepared, progress: ProgressFn | None = None, is_cancelled=lambda: False):
    """Step 2: train TSSTFN on the reference year, one training stack per target date."""
    from .fusion import training_stack
    from .strategies import align
    from .training import train

    pred_dates = [p.date for p in prep.prediction]
    stacks = [
        training_stack(
            align(job.strategy, prep.reference_dates, pred_dates, t.date, job.n_base, job.reference_target), prep.reference
        )
        for t in prep.targets
    ]
    _check(is_cancelled)

    def on_progress(p):
        if progress:
            msg = f"epoch {p.epoch}, batch {p.batch}/{p.batches}, loss {p.train_loss:.4f}" + (
                f", val RMSE {p.val_rmse:.4f}" if p.val_rmse else ""
            )
            progress(min(1.0, (p.epoch - 1 + p.batch / p.batches) / job.train.max_epochs), msg)

    meta = {
        "strategy": job.strategy,
        "reference_dates": [d.isoformat() for d in prep.reference_dates],
        "targets": [t.date.isoformat() for t in prep.targets],
        "reference_target": job.reference_target.isoformat() if job.reference_target else None,
    }
    trained = train(stacks, job.train, meta, on_progress, is_cancelled)
    if trained.cancelled:
        raise CancelledError()
    return trained.model, trained.meta


def predict_targets(
    model,
    meta,
    job: Job,
    prep: Prepared,
    targets,
    forecast: str,
    out_dir: Path,
    prefix: str = "fused_ndvi",
    progress: ProgressFn | None = None,
    is_cancelled=lambda: False,
) -> dict[str, Path]:
    """Step 3: fused NDVI of each target; ``sequential``: each prediction joins the base pairs."""
    from .fusion import Pair, prediction_reader
    from .prediction import predict_to_file
    from .strategies import align

    base = list(prep.prediction)
    fused = {}
    for k, t in enumerate(targets):
        a = align(job.strategy, prep.reference_dates, [p.date for p in base], t.date, job.n_base, job.reference_target)
        stamp = t.date.isoformat()
        fused[stamp] = predict_to_file(
            model,
            meta,
            prediction_reader(a, base, t.modis),
            prep.grid,
            out_dir / f"{prefix}_{t.date:%Y%m%d}.tif",
            batch_size=job.train.batch_size,
            is_cancelled=is_cancelled,
            description=f"TSSTFN NDVI {stamp} ({job.strategy}, {forecast})",
            progress=(lambda f, m, k=k, stamp=stamp: progress((k + f) / len(targets), f"{stamp} {m}")) if progress else None,
        )
        if forecast == "sequential":
            base = sorted([*base, Pair(t.date, t.modis, str(fused[stamp]))], key=lambda p: p.date)
    return fused


def split_description(job: Job) -> str:
    text = (
        "random 7:3 split by pixel (the paper's; pixels of one field fall on both sides, which flatters accuracy)"
        if job.split == "random"
        else "split by field/polygon (no field on both sides)"
    )
    return f"{text}, test fraction {job.test_fraction}"


def crop_accuracy(job: Job, prep: Prepared, samples, split, paths: list[str]):
    """Train the forest on ``paths``' window features at the training samples; assess on the test samples."""
    from .classify import train_and_assess

    return train_and_assess(paths, prep.grid, samples, split, job.forest, split_description(job))


def _check_outputs_are_not_inputs(job: Job) -> None:
    out = Path(job.output_dir).resolve()
    for p in (*job.reference, *job.prediction, *job.targets):
        for f in (p.modis, p.sentinel2):
            if f and out in Path(f).resolve().parents:
                raise InputError(f"The output folder '{job.output_dir}' holds the input '{f}'; choose another output folder.")


def run_job(job: Job, progress: ProgressFn | None = None, is_cancelled: Callable[[], bool] = lambda: False) -> JobResult:
    """Run ``job``; outputs go to ``job.output_dir``, each written atomically. Cancelling raises
    :class:`CancelledError`: finished outputs stay complete, none is left half-written."""
    from . import accuracy as acc_mod
    from . import classify
    from .deps import check_dependencies
    from .export import polygonize
    from .metrics import fusion_metrics
    from .raster import read_array, write_array
    from .training import load_model, save_model

    check_dependencies()
    t0 = time.perf_counter()
    job = validate_job(job)
    _check_outputs_are_not_inputs(job)
    out = Path(job.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps(progress, {"align": 2, "train": 6, "predict": 3, "starfm": 1, "classify": 2, "export": 1})
    result = JobResult(out)
    samples = check_samples(job) if job.samples else None  # fail before hours of training, not after

    prep = prepare(job, out / "aligned", steps.sub("align"), is_cancelled)
    sub = steps.sub("train")
    if job.model:
        model, meta = load_model(job.model, job.train.device)
        if meta["n_base"] != job.n_base:
            raise InputError(
                f"Model '{Path(job.model).name}' reads {meta['n_base']} base pairs; the job asks for {job.n_base}. "
                "Set n_base to match or train a new model."
            )
        result.model = Path(job.model)
    else:
        model, meta = fit_model(job, prep, sub, is_cancelled)
        if job.save_model:
            result.model = save_model(out / f"{job.name}.tsstfn", model, meta)
    sub(1.0, "model ready")
    result.fused = predict_targets(
        model, meta, job, prep, prep.targets, job.forecast, out, "fused_ndvi", steps.sub("predict"), is_cancelled
    )

    # STARFM from the latest clear base pair, and scores against the real Sentinel-2
    sub = steps.sub("starfm")
    for k, t in enumerate(prep.targets):
        stamp = t.date.isoformat()
        latest = max((p for p in prep.prediction if p.date < t.date), key=lambda p: p.date)
        if job.starfm:
            _check(is_cancelled)
            result.starfm[stamp] = starfm_to_file(latest, t, prep.grid, out / f"starfm_ndvi_{t.date:%Y%m%d}.tif", is_cancelled)
        if t.sentinel2:
            truth = read_array(t.sentinel2)
            fused = read_array(result.fused[stamp])
            candidates = {
                "TSSTFN": fused,
                "MODIS cubic": read_array(t.modis),
                "latest clear Sentinel-2": read_array(latest.sentinel2),
            }
            if job.starfm:
                candidates["STARFM"] = read_array(result.starfm[stamp])
            result.fusion_metrics[stamp] = {name: fusion_metrics(v, truth) for name, v in candidates.items()}
            result.difference[stamp] = write_array(
                out / f"difference_{t.date:%Y%m%d}.tif", fused - truth, prep.grid, description="TSSTFN - Sentinel-2"
            )
        sub((k + 1) / len(prep.targets), stamp)

    # crop classification, early season only and with the fused dates, then vectors
    if samples is not None:
        sub = steps.sub("classify")
        early = [p.sentinel2 for p in prep.prediction]
        split = classify.split(samples, job.split, job.test_fraction, job.forest.random_state)
        for label, paths in (("early", early), ("fused", early + [str(result.fused[t.date.isoformat()]) for t in prep.targets])):
            _check(is_cancelled)
            clf, acc = crop_accuracy(job, prep, samples, split, paths)
            title = (
                "Early-season Sentinel-2 only" if label == "early" else f"Early season + TSSTFN ({job.strategy}, {job.forecast})"
            )
            acc_mod.write_reports(acc, out / "report", f"accuracy_{label}", title)
            result.accuracy[label] = acc.as_dict()
            classify.save_classifier(clf, out / f"forest_{label}.skops")
            proba = out / "crop_probabilities.tif" if (label == "fused" and job.probabilities) else None
            path = classify.classify_to_file(
                clf,
                paths,
                prep.grid,
                out / f"crop_map_{label}.tif",
                proba,
                progress=lambda f, m, label=label: sub((0.5 if label == "fused" else 0) + f / 2, m),
                is_cancelled=is_cancelled,
            )
            if label == "fused":
                result.crop_map, result.probabilities = path, proba
            else:
                result.crop_map_early = path
        sub = steps.sub("export")
        for fmt in job.formats:
            if fmt in ("shp", "gpkg"):
                result.vectors.append(polygonize(result.crop_map, out / f"crop_map.{fmt}", samples.names, job.mmu_ha))
        sub(1.0, "exported")
        if "gtiff" not in job.formats:
            for p in (result.crop_map, result.crop_map_early):
                p.unlink()
            result.crop_map = result.crop_map_early = None
    result.seconds = time.perf_counter() - t0
    result.report = write_run_report(job, result)
    if progress:
        progress(1.0, "done")
    return result


def starfm_to_file(base, target, grid, out_path, is_cancelled=lambda: False, params=None):
    """STARFM over the scene in overlapping patches (memory bounded), from one base pair."""
    from .prediction import tiled_to_geotiff
    from .raster import read_array
    from .starfm import StarfmParams, starfm

    params = params or StarfmParams()

    def read(x, y, w, h):
        win = (x, y, w, h)
        return np.stack([read_array(base.sentinel2, win), read_array(base.modis, win), read_array(target.modis, win)])

    def predict(batch):
        return np.stack([starfm([b[0]], [b[1]], b[2], params) for b in batch])

    return tiled_to_geotiff(
        read,
        predict,
        grid,
        out_path,
        256,
        4 * params.half_window,
        1,
        f"STARFM NDVI {target.date.isoformat()}",
        None,
        is_cancelled,
    )


def write_run_report(job: Job, result: JobResult) -> Path:
    from .raster import atomic_output

    out = result.output_dir
    lines = [
        f"# TSSTFN Crop Mapper run: {job.name}",
        "",
        f"- strategy {job.strategy}, {job.n_base} base pairs, {job.forecast} forecast",
        f"- model: {result.model.name if result.model else '-'}",
        f"- run time {result.seconds:.0f} s",
        "",
    ]
    if result.fusion_metrics:
        lines += [
            "## Fused NDVI against the real Sentinel-2 (SSIM data_range = 2.0)",
            "",
            "| date | method | RMSE | MAE | bias | R² | SSIM | pixels |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for date, methods in result.fusion_metrics.items():
            for name, m in methods.items():
                cells = f"{m['rmse']:.4f} | {m['mae']:.4f} | {m['bias']:+.4f} | {m['r2']:.3f} | {m['ssim']:.4f} | {m['n']}"
                lines.append(f"| {date} | {name} | {cells} |")
        lines.append("")
    if result.accuracy:
        lines += ["## Crop classification", "", "| inputs | overall accuracy | kappa |", "|---|---|---|"]
        for label, a in result.accuracy.items():
            lines.append(f"| {label} | {100 * a['overall_accuracy']:.2f} % | {100 * a['kappa']:.2f} % |")
        lines += [
            "",
            f"Split: {next(iter(result.accuracy.values()))['split']}",
            "",
            "Details: report/accuracy_early.md, report/accuracy_fused.md",
            "",
        ]
    lines += ["## Outputs", ""] + [
        f"- {p.name}" for p in [*result.fused.values(), *result.starfm.values(), result.crop_map, *result.vectors] if p
    ]
    with atomic_output(out / "report" / "run_report.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    summary = {
        "job": job_to_dict(job),
        "fusion_metrics": result.fusion_metrics,
        "accuracy": result.accuracy,
        "seconds": result.seconds,
        "outputs": {
            "fused": {k: str(v) for k, v in result.fused.items()},
            "starfm": {k: str(v) for k, v in result.starfm.items()},
            "crop_map": str(result.crop_map) if result.crop_map else None,
            "vectors": [str(v) for v in result.vectors],
        },
    }
    with atomic_output(out / "report" / "run_report.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=float))
    return out / "report" / "run_report.md"


def scene_job(scene_dir: str | Path, output_dir: str | Path, **overrides) -> Job:
    """The job for a synthetic scene written by :func:`~.synthetic.generate_scene`."""
    scene_dir = Path(scene_dir)
    manifest = json.loads((scene_dir / "scene.json").read_text())
    data = {
        "reference": manifest["reference"],
        "prediction": manifest["prediction"],
        "targets": manifest["targets"],
        "output_dir": str(Path(output_dir).resolve()),
        "samples": manifest["samples"],
        "class_field": "crop",
        "group_field": "field_id",
        "modis_product": manifest["modis_product"],
        "sentinel2_product": manifest["sentinel2_product"],
    }
    data.update({k: v for k, v in overrides.items() if k not in ("train", "forest")})
    job = job_from_dict(data, scene_dir)
    if "train" in overrides:
        job = replace(job, train=overrides["train"])
    if "forest" in overrides:
        job = replace(job, forest=overrides["forest"])
    return job


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
