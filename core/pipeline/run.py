"""Running a job end to end: ``prepare`` → fusion methods → scores → crop maps → exports → report.

``run_job`` aligns the inputs, runs TSSTFN and the comparison methods of the registry
(:mod:`..fusion.methods`), scores every method against the real fine image of each target where
one is given, classifies crops with and without the fused dates, assesses the accuracy, exports
the crop map and writes a run report. The QGIS dialog's task, the Processing algorithms and the
command line all call it (or its steps).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, Steps, check_cancelled, never_cancelled, scaled
from ..errors import CancelledError, InputError
from ..files import check_writable, is_cog, make_cog, map_rasters
from ..fusion.base import FusionInputs
from ..fusion.methods import get_method
from ..fusion.stacks import AlignedPair
from ..inputs.grid import Grid, reference_grid
from ..mapping.area import AreaEstimate
from ..mapping.classify import Assessment
from ..mapping.fields import FieldMap
from ..mapping.samples import Samples, Split
from .job import Job, input_paths, job_to_dict, validate_job
from .pairs import DatedPair, dated

log = logging.getLogger("tsstfn")
#: ``uncertainty: auto`` on a CPU: on when the extra passes take at most this long (estimated)
AUTO_UNCERTAINTY_MINUTES = 3.0


@dataclass
class Prepared:
    """A job's inputs aligned on one grid, each year's pairs sorted by date.

    Attributes:
        grid: the fine grid.
        reference: the reference year's aligned pairs.
        prediction: the prediction year's aligned base pairs.
        targets: the targets' aligned coarse NDVI, with the aligned real fine image where one was given.
    """

    grid: Grid
    reference: list[AlignedPair]
    prediction: list[AlignedPair]
    targets: list[AlignedPair]

    def fusion_inputs(self) -> FusionInputs:
        """What the fusion methods see: the targets without their real fine image."""
        return FusionInputs(
            self.grid,
            tuple(self.reference),
            tuple(self.prediction),
            tuple(replace(t, fine=None) for t in self.targets),
        )


@dataclass
class JobResult:
    """What a run produced; a field is empty when the job did not ask for it.

    Attributes:
        output_dir: the run's folder.
        fused: TSSTFN's fused NDVI per target date (always).
        compared: the rasters each comparison method wrote, by method name and date (baselines
            that write nothing are absent).
        difference: TSSTFN minus the real fine image per target date, where one was given.
        crop_map: the crop map with the fused dates (None without samples, or without ``gtiff``).
        crop_map_early: the crop map of the early season only (likewise).
        probabilities: the class probabilities (None unless asked for).
        vectors: the crop polygons, one file per vector format asked for.
        model: the TSSTFN model file trained or used (None when not saved).
        report: ``report/run_report.md`` (set once the run is complete).
        fusion_metrics: scores per target date and method name, where a real fine image was given.
        accuracy: ``early``/``fused`` accuracy as plain data (empty without samples).
        class_names: the crop map's class codes and names (empty without samples).
        seconds: wall time of the run.
        uncertainty: TSSTFN's MC-dropout standard deviation per target date (empty when off).
        confidence: the forest's confidence raster of the fused crop map (None unless asked for).
        areas: the error-adjusted area estimates of the crop maps (``fused``, ``fields``).
        pixel_areas: the pixel-count area CSV beside each crop map, by map.
        field_map: the per-field map (None without field polygons).
    """

    output_dir: Path
    fused: dict[dt.date, Path] = field(default_factory=dict)
    compared: dict[str, dict[dt.date, Path]] = field(default_factory=dict)
    difference: dict[dt.date, Path] = field(default_factory=dict)
    crop_map: Path | None = None
    crop_map_early: Path | None = None
    probabilities: Path | None = None
    vectors: list[Path] = field(default_factory=list)
    model: Path | None = None
    report: Path | None = None
    fusion_metrics: dict[dt.date, dict[str, dict]] = field(default_factory=dict)
    accuracy: dict[str, dict] = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    uncertainty: dict[dt.date, Path] = field(default_factory=dict)
    confidence: Path | None = None
    areas: dict[str, AreaEstimate] = field(default_factory=dict)
    pixel_areas: dict[str, Path] = field(default_factory=dict)
    field_map: FieldMap | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    intermediates_gb: float = 0.0


def study_grid(job: Job) -> Grid:
    """The grid of the job: the first prediction-year fine image's, cropped to the AOI.

    Without CRSs (``assume_aligned``) a pixel grid of ``pixel_size_m`` metres.
    """
    from ..inputs.containers import resolve_source

    first = job.prediction[0].fine
    assert first is not None
    source = resolve_source(first)
    return reference_grid(source.path, source.label, job.aoi, None, job.assume_aligned, job.pixel_size_m)


def align_pairs(
    pairs: Sequence[DatedPair], grid: Grid, workdir: Path, is_cancelled: CancelFn = never_cancelled, resume: Any = None
) -> list[AlignedPair]:
    """Each pair's coarse and fine NDVI on ``grid``, written as GeoTIFFs into ``workdir``, sorted by date.

    With a ``resume`` ledger, a raster a stopped run of the same job left complete is reused.
    """
    from ..inputs.align import ndvi_to_grid

    def aligned(source: Any, path: Path) -> Path:
        if resume is not None and resume.complete(path):
            return path
        made = ndvi_to_grid(source, grid, path, is_cancelled=is_cancelled)
        if resume is not None:
            resume.record(made)
        return made

    out = []
    for p in pairs:
        stamp = p.date.strftime("%Y%m%d")
        coarse_path = aligned(p.coarse, workdir / f"modis_{stamp}.tif")
        fine_path = aligned(p.fine, workdir / f"s2_{stamp}.tif") if p.fine else None
        out.append(AlignedPair(p.date, str(coarse_path), str(fine_path) if fine_path else None))
    return sorted(out, key=lambda p: p.date)


def prepare(
    job: Job, workdir: Path, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled, resume: Any = None
) -> Prepared:
    """Step 1: every input as NDVI on the job's grid (see :func:`study_grid`); ``resume``: see :func:`align_pairs`."""
    from ..inputs.align import check_crs

    check_crs([s for p in (*job.reference, *job.prediction, *job.targets) for s in p.sources()], job.assume_aligned)
    grid = study_grid(job)
    out = []
    for k, (name, pairs) in enumerate((("reference", job.reference), ("prediction", job.prediction), ("targets", job.targets))):
        out.append(align_pairs(dated(pairs), grid, workdir / name, is_cancelled, resume))
        if progress:
            progress((k + 1) / 3, f"{name} aligned")
    return Prepared(grid, *out)


def check_samples(job: Job) -> Samples:
    """The job's samples read against its study area (reads only the samples and one raster header).

    Raises:
        InputError: no samples given, none inside the area, a missing class field or too few per class.
    """
    from ..mapping.samples import read_samples

    if not job.samples:
        raise InputError("Job field 'samples': give a point or polygon layer, or a label raster, with the crop classes.")
    return read_samples(job.samples, job.class_field, study_grid(job), group_field=job.group_field)


def split_description(job: Job, block_m: float | None = None) -> str:
    """How the samples were split, as the reports say it."""
    text = {
        Split.RANDOM: "random 7:3 split by pixel (the paper's; pixels of one field fall on both sides, which flatters accuracy)",
        Split.FIELD: "split by field/polygon (no field on both sides)",
        Split.BLOCK: f"split by spatial blocks of {block_m or 0:g} m (no block on both sides)",
    }[job.split]
    return f"{text}, test fraction {job.test_fraction}"


def block_size_m(job: Job) -> float:
    """``job.block_m``, else four coarse pixels (read from the first target's coarse raster), else 1000 m."""
    if job.block_m:
        return job.block_m
    from ..inputs.containers import resolve_source

    try:
        source = resolve_source(job.targets[0].coarse)
        coarse = Grid.from_raster(source.path, source.label, allow_no_crs=True)
    except Exception:  # noqa: BLE001 (a default, not a check: the readers report bad files themselves)
        return 1000.0
    if not coarse.has_crs:
        return 1000.0
    return round(4 * (coarse.pixel_area_ha * 10000.0) ** 0.5, -1)


def crop_accuracy(
    job: Job, prep: Prepared, samples: Samples, paths: list[str], block_m: float, compare_blocks: bool = True
) -> Assessment:
    """A forest on ``paths``' window features, assessed by the job's split.

    Unless ``compare_blocks`` is False, also by spatial blocks and the job's k-fold.
    """
    from ..mapping.classify import assess_forest

    return assess_forest(
        paths, prep.grid, samples, job.split, job.test_fraction, job.forest, block_m,
        job.kfold if compare_blocks else 0, split_description(job, block_m), compare_blocks,
    )  # fmt: skip


def uncertainty_passes(job: Job, grid: Grid) -> int:
    """MC-dropout passes for the run: ``mc_passes`` when on or on a GPU, else none.

    With ``auto`` on a CPU: on when the passes are estimated to take at most :data:`AUTO_UNCERTAINTY_MINUTES`.
    """
    from ..fusion.training import resolve_device
    from ..fusion.tsstfn import Uncertainty
    from .estimate import prediction_minutes

    if job.uncertainty is Uncertainty.OFF:
        return 0
    if job.uncertainty is Uncertainty.ON:
        return job.mc_passes
    device = resolve_device(job.train.device)
    if device.type == "cuda":
        return job.mc_passes
    minutes = job.mc_passes * prediction_minutes(
        grid.width, grid.height, len(job.targets), job.train.width, job.train.patch, "cpu"
    )
    if minutes <= AUTO_UNCERTAINTY_MINUTES:
        return job.mc_passes
    log.info(
        "uncertainty (auto) is off: %d MC-dropout passes would take about %.0f min on the CPU; set uncertainty: on",
        job.mc_passes,
        minutes,
    )
    return 0


def score_methods(prep: Prepared, predictions: dict[str, dict[dt.date, Path]]) -> dict[dt.date, dict[str, dict]]:
    """Scores of each method's prediction against the real fine image of each target that has one."""
    from ..fusion.metrics import fusion_metrics_of_files

    scores: dict[dt.date, dict[str, dict]] = {}
    for t in prep.targets:
        if not t.fine:
            continue
        scores[t.date] = {
            name: fusion_metrics_of_files(str(by_date[t.date]), t.fine)
            for name, by_date in predictions.items()
            if t.date in by_date
        }
    return scores


def check_outputs_are_not_inputs(job: Job) -> None:
    """No input of the job (rasters, masks, samples, model) lies in its output folder, where outputs could replace it.

    Raises:
        InputError: naming the input and the folder.
    """
    out = Path(job.output_dir).resolve()
    for f in input_paths(job):
        resolved = Path(f).resolve()
        if out == resolved or out in resolved.parents:
            raise InputError(
                f"The input '{f}' lies in the output folder '{job.output_dir}', where the run's outputs could replace it; "
                "choose another output folder or move the input."
            )


def run_outputs(folder: Path, name: str) -> list[Path]:
    """Every file a run wrote in ``folder`` (for the manifest's hashes)."""
    from .outputs import MANIFEST, output_patterns

    files: set[Path] = set()
    for pattern in output_patterns(name):
        for p in folder.glob(pattern):
            files |= {q for q in p.rglob("*") if q.is_file()} if p.is_dir() else {p}
    return sorted(f for f in files if f.name != MANIFEST)


def preflight(job: Job, samples: Samples | None = None) -> tuple[Job, Samples | None]:
    """Every check that needs no pixel, in the first second of a run: what :func:`run_job` does first.

    The job's dates and pairs; no input inside the output folder; the folder writable and no live
    run writing into it; the scene (one raster header) at least one training patch wide; a given model file readable and fitting
    the job; the samples readable, on the study area, with two classes or more, in enough spatial
    blocks for a split by block; the field polygons readable and on the study area.

    Args:
        job: the job.
        samples: the job's samples when the caller has read them already (the dialog does).

    Returns:
        The validated job and its samples (None without samples).

    Raises:
        TsstfnError: the first problem, in one sentence naming the field or file.
    """
    job = validate_job(job)
    check_outputs_are_not_inputs(job)
    check_writable(job.output_dir)
    from .outputs import OutputFolder

    OutputFolder(Path(job.output_dir), {}, job.name, []).check_free()  # a live run there: say so now, not at claim
    grid = study_grid(job)
    if job.model:
        from ..fusion import tsstfn

        tsstfn.load(job.tsstfn_params(), single_season=job.single_season)
    elif min(grid.width, grid.height) < job.train.patch:
        raise InputError(
            f"Job field 'train.patch': {job.train.patch} px is larger than the scene ({grid.width} x {grid.height} px); "
            f"use a patch of at most {min(grid.width, grid.height) // 16 * 16} px."
        )
    if samples is None and job.samples:
        samples = check_samples(job)  # fail before hours of training, not after
    if samples is not None and (job.split is Split.BLOCK or job.kfold):
        from ..mapping.samples import block_folds, spatial_blocks

        folds = max(job.kfold, 2 if job.split is not Split.BLOCK else max(2, round(1.0 / job.test_fraction)))
        block_folds(samples, spatial_blocks(samples, grid, block_size_m(job)), folds)
    if job.fields:
        from ..mapping.fields import read_fields

        read_fields(job.fields, grid, job.field_id)
    return job, samples


def run_job(job: Job, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled) -> JobResult:
    """Run ``job``; every output is written atomically into ``job.output_dir``.

    Args:
        job: the job.
        progress: ``progress(fraction, message)``.
        is_cancelled: checked between units of work.

    Returns:
        What was produced.

    Raises:
        TsstfnError: any problem with the inputs, with a message for the user.
        CancelledError: the user cancelled; finished outputs stay complete, none is half-written.
    """
    from ..deps import check_dependencies
    from .outputs import OutputFolder
    from .report import write_run_report

    check_dependencies()
    t0 = time.perf_counter()
    job, samples = preflight(job)
    out = Path(job.output_dir)
    folder = OutputFolder(out, job_to_dict(job), job.name, input_paths(job)).claim()
    resume = make_resume(job, folder)
    try:
        result = _run(job, out, samples, progress, is_cancelled, resume)
    except CancelledError:
        kept = [p.name for p in run_outputs(out, job.name) if p.parent == out and p.name != ".resume.json"]
        folder.release(complete=False)
        gb = folder_gb(out / "aligned")
        raise CancelledError(
            "Cancelled; no half-written output was left behind"
            + (f"; kept, complete: {', '.join(kept)}" if kept else "; no output was finished")
            + (f"; the aligned intermediates ({gb:.2f} GB in 'aligned') were kept" if gb else "")
            + ". Run the job again to resume: complete stages are reused."
        ) from None
    except BaseException:
        folder.release(complete=False)
        raise
    result.reused = list(resume.reused)
    result.intermediates_gb = folder_gb(out / "aligned")
    if not job.keep_intermediates:
        import shutil

        shutil.rmtree(out / "aligned", ignore_errors=True)
        resume.forget_missing()
    result.seconds = time.perf_counter() - t0
    result.report = write_run_report(job, result)
    folder.release(complete=True, outputs=run_outputs(out, job.name))
    if progress:
        progress(1.0, "done")
    return result


def make_resume(job: Job, folder: Any) -> Any:
    """The run's :class:`~.resume.Resume` ledger in its output folder (``job.resume`` False: reuse nothing)."""
    from .outputs import _describe
    from .resume import Resume, job_key

    plain = {k: v for k, v in job_to_dict(job).items() if k not in ("resume", "keep_intermediates")}
    return Resume(Path(job.output_dir), job_key(plain, [_describe(p) for p in input_paths(job)]), job.resume)


def folder_gb(folder: Path) -> float:
    """Disk use of the files under ``folder`` in GB (0 when it does not exist)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9 if folder.exists() else 0.0


def _run(
    job: Job, out: Path, samples: Samples | None, progress: ProgressFn | None, is_cancelled: CancelFn, resume: Any = None
) -> JobResult:
    steps = Steps(progress, {"align": 2, "fuse": 9, "compare": 1, "classify": 2, "export": 1})
    result = JobResult(out)
    try:
        _stages(job, out, samples, steps, is_cancelled, resume, result)
    finally:
        result.stage_seconds = dict(steps.finish())
    return result


def _stages(
    job: Job, out: Path, samples: Samples | None, steps: Steps, is_cancelled: CancelFn, resume: Any, result: JobResult
) -> None:
    prep = prepare(job, out / "aligned", steps.sub("align"), is_cancelled, resume)
    inputs = prep.fusion_inputs()
    params = replace(job.tsstfn_params(), mc_passes=uncertainty_passes(job, prep.grid))
    tsstfn = get_method("tsstfn").run(inputs, out, params, steps.sub("fuse"), is_cancelled, resume)
    result.fused, result.model, result.uncertainty = tsstfn.rasters, tsstfn.model, tsstfn.uncertainty
    predictions = {"tsstfn": result.fused}
    sub = steps.sub("compare")
    for k, name in enumerate(job.compare):
        check_cancelled(is_cancelled)
        method = get_method(name)
        produced = method.run(inputs, out, job.params_of(name), None, is_cancelled, resume)
        predictions[name] = produced.rasters
        if produced.written:
            result.compared[name] = produced.rasters
        sub((k + 1) / len(job.compare), method.label)
    result.fusion_metrics = score_methods(prep, predictions)
    for t in prep.targets:
        if t.fine:
            result.difference[t.date] = map_rasters(
                lambda fused, fine: fused - fine, [result.fused[t.date], t.fine], out / f"difference_{t.date:%Y%m%d}.tif",
                prep.grid, "TSSTFN - fine image", is_cancelled=is_cancelled,
            )  # fmt: skip
    if samples is not None:
        _map_crops(job, prep, samples, result, out, steps, is_cancelled, resume)
    if job.cog:
        for path in output_rasters(result):
            check_cancelled(is_cancelled)
            if not is_cog(path):  # a raster reused from a stopped run may be either (its ledger entry is updated)
                make_cog(path)
                if resume is not None:
                    resume.record(path)


def _map_crops(
    job: Job,
    prep: Prepared,
    samples: Samples,
    result: JobResult,
    out: Path,
    steps: Steps,
    is_cancelled: CancelFn,
    resume: Any = None,
) -> None:
    """Crop maps with and without the fused dates, their accuracy and areas, per-field maps and exports."""
    from ..mapping import accuracy as acc_mod
    from ..mapping import classify
    from ..mapping.area import class_pixel_counts, estimate_from_samples, write_area_reports, write_pixel_areas
    from ..mapping.export import export_crop_map

    sub = steps.sub("classify")
    block_m = block_size_m(job)
    early = [str(p.fine) for p in prep.prediction]
    result.class_names = dict(samples.names)
    pixel_ha = prep.grid.pixel_area_ha
    fused_assessment = None
    for label, paths in (("early", early), ("fused", early + [str(result.fused[t.date]) for t in prep.targets])):
        check_cancelled(is_cancelled)
        assessment = crop_accuracy(job, prep, samples, paths, block_m)
        acc = assessment.accuracy
        title = "Early-season fine images only" if label == "early" else f"Early season + TSSTFN ({job.strategy}, {job.forecast})"
        acc_mod.write_reports(acc, out / "report", f"accuracy_{label}", title)
        result.accuracy[label] = assessment.as_dict()
        fused = label == "fused"
        proba = out / "crop_probabilities.tif" if (fused and job.probabilities) else None
        confidence = out / "crop_confidence.tif" if (fused and job.confidence) else None
        made = [out / f"forest_{label}.skops", out / f"crop_map_{label}.tif", *(p for p in (proba, confidence) if p)]
        if resume is not None and resume.all_complete(made):  # the forest is seeded: the same assessment made these
            resume.reuse(f"crop map ({label})")
            path = made[1]
        else:
            classify.save_classifier(assessment.classifier, made[0])
            path = classify.classify_to_file(
                assessment.classifier, paths, prep.grid, made[1], proba,
                progress=scaled(sub, 0.5, 1.0) if fused else scaled(sub, 0.0, 0.5), is_cancelled=is_cancelled,
                confidence_path=confidence,
            )  # fmt: skip
            if resume is not None:
                resume.record(*made)
        counts = class_pixel_counts(path)
        result.pixel_areas[label] = write_pixel_areas(counts, samples.names, pixel_ha, out / f"crop_map_{label}_areas.csv")
        if fused:
            result.crop_map, result.probabilities, result.confidence = path, proba, confidence
            fused_assessment = assessment
            est = estimate_from_samples(
                samples.codes[assessment.test_index], assessment.predicted, counts, samples.names, pixel_ha,
                split_description(job, block_m),
            )  # fmt: skip
            result.areas["fused"] = est
            write_area_reports(est, out / "report", "areas_fused", "Area of each class: crop map with fused NDVI")
        else:
            result.crop_map_early = path
    assert result.crop_map is not None and result.crop_map_early is not None and fused_assessment is not None
    if job.fields:
        _field_map(job, prep, samples, result, out, fused_assessment, block_m)
    steps.sub("export")(0.0, "exporting")
    result.vectors = export_crop_map(result.crop_map, out, "crop_map", job.formats, samples.names, job.mmu_ha)
    if "gtiff" not in job.formats:
        for p in (result.crop_map, result.crop_map_early):
            os.unlink(p)
        result.crop_map = result.crop_map_early = None


def _field_map(
    job: Job, prep: Prepared, samples: Samples, result: JobResult, out: Path, assessment: Assessment, block_m: float
) -> None:
    """The per-field map of the fused crop map, its scores, areas and polygons."""
    from ..formats import formats_of_kind
    from ..mapping.area import class_pixel_counts, estimate_from_samples, write_area_reports, write_pixel_areas
    from ..mapping.fields import field_map

    assert job.fields is not None and result.crop_map is not None
    vectors = [out / f"crop_fields{f.suffix}" for f in formats_of_kind("vector") if f.key in job.formats]
    fm = field_map(
        result.crop_map, job.fields, prep.grid, samples.names, out / "crop_map_fields.tif", vectors, job.field_id,
        job.field_rule, result.probabilities, samples, assessment.test_index, out / "aligned",
    )  # fmt: skip
    result.field_map = fm
    counts = class_pixel_counts(fm.raster)
    pixel_ha = prep.grid.pixel_area_ha
    result.pixel_areas["fields"] = write_pixel_areas(counts, samples.names, pixel_ha, out / "crop_map_fields_areas.csv")
    if fm.pixel_accuracy is not None:
        result.accuracy["fields"] = fm.pixel_accuracy.as_dict()
        if fm.field_accuracy is not None:
            result.accuracy["fields"]["per_field_kappa"] = fm.field_accuracy.kappa
            result.accuracy["fields"]["per_field_overall_accuracy"] = fm.field_accuracy.overall
            result.accuracy["fields"]["n_test_fields"] = int(fm.field_accuracy.matrix.sum())
        from ..files import read_window

        mapped = _values_at(fm.raster, samples, assessment.test_index, read_window)
        est = estimate_from_samples(
            samples.codes[assessment.test_index], mapped, counts, samples.names, pixel_ha, split_description(job, block_m)
        )
        result.areas["fields"] = est
        write_area_reports(est, out / "report", "areas_fields", "Area of each class: per-field map")


def _values_at(raster: Path, samples: Samples, index: Any, read_window: Any) -> Any:
    """The raster's values at the sample pixels ``index`` (read in strips)."""
    import numpy as np

    from ..files import open_raster

    ds = open_raster(raster)
    band = ds.GetRasterBand(1)
    rows, cols = samples.rows[index], samples.cols[index]
    out = np.zeros(len(rows), dtype=np.int64)
    for y0 in range(0, ds.RasterYSize, 512):
        h = min(512, ds.RasterYSize - y0)
        sel = np.nonzero((rows >= y0) & (rows < y0 + h))[0]
        if sel.size:
            out[sel] = read_window(band, (0, y0, ds.RasterXSize, h))[rows[sel] - y0, cols[sel]]
    return out


def output_rasters(result: JobResult) -> list[Path]:
    """Every GeoTIFF the run wrote as a product (fused and compared NDVI, uncertainty, differences, maps)."""
    paths = [*result.fused.values(), *result.uncertainty.values(), *result.difference.values()]
    paths += [p for by_date in result.compared.values() for p in by_date.values()]
    paths += [p for p in (result.crop_map, result.crop_map_early, result.probabilities, result.confidence) if p]
    if result.field_map is not None:
        paths.append(result.field_map.raster)
    return [Path(p) for p in paths if Path(p).suffix.lower() == ".tif" and Path(p).exists()]
