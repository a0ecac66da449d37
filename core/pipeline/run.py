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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, Steps, check_cancelled, never_cancelled, scaled
from ..errors import CancelledError, DependencyError, InputError
from ..files import check_writable, is_cog, make_cog, map_rasters
from ..fusion.base import FusionInputs
from ..fusion.methods import get_method
from ..fusion.stacks import AlignedPair
from ..inputs.grid import Grid, reference_grid
from ..mapping.samples import Samples, Split, default_block_m
from ..mapping.workflow import MappingOptions, SampleLabels
from .job import Job, input_paths, job_to_dict, learning_method, validate_job
from .pairs import DatedPair, dated
from .report import write_run_report
from .result import JobResult

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
    return read_samples(
        job.samples, job.class_field, study_grid(job), layer=job.samples_layer, group_field=job.group_field,
        **sample_labels(job).kwargs(),
    )  # fmt: skip


def sample_labels(job: Job) -> SampleLabels:
    """Where the job's class names come from and which season of samples it keeps."""
    return SampleLabels(job.class_names, job.class_names_file, job.season_field, job.season, job.accuracy)


def coarse_pixel_m(job: Job) -> float | None:
    """The side of the job's coarse pixels in metres (its first target's raster), None where unknown (no CRS)."""
    from ..inputs.containers import resolve_source

    try:
        source = resolve_source(job.targets[0].coarse)
        coarse = Grid.from_raster(source.path, source.label, allow_no_crs=True)
    except Exception:  # noqa: BLE001 (a default, not a check: the readers report bad files themselves)
        return None
    return coarse.pixel_side_m if coarse.has_crs else None


def mapping_options(job: Job, grid: Grid) -> MappingOptions:
    """The job's crop-mapping options on ``grid``, its blocks ``block_m`` or the one default.

    The default is :func:`~..mapping.samples.default_block_m`: four coarse pixels, or 1000 m where
    their size is unknown.
    """
    block_m = job.block_m or default_block_m(grid.pixel_side_m, coarse_pixel_m(job))
    return MappingOptions(block_m, job.split, job.test_fraction, job.forest, job.kfold, job.gap_fill, job.gap_fill_min_clear)


def uncertainty_passes(job: Job, grid: Grid) -> int:
    """MC-dropout passes for the run: ``mc_passes`` when on or on a GPU, else none.

    With ``auto`` on a CPU: on when the passes are estimated to take at most :data:`AUTO_UNCERTAINTY_MINUTES`.
    """
    from ..fusion.tsstfn import Uncertainty
    from .estimate import device_kind, prediction_factor, uncertainty_pass_count

    device = device_kind(job.train.device) if job.uncertainty is Uncertainty.AUTO else "cpu"  # as estimate_job does
    args = (grid.width, grid.height, len(job.targets), job.train.width, job.train.patch)
    factor = prediction_factor(job.train.as_dict(), single_season=not job.reference)  # tta, two sides
    passes = uncertainty_pass_count(
        Uncertainty(job.uncertainty).value, job.mc_passes, device, *args, AUTO_UNCERTAINTY_MINUTES, factor=factor
    )
    if job.uncertainty is Uncertainty.AUTO and not passes:
        log.info(
            "uncertainty (auto) is off: %d MC-dropout passes would take more than %.0f min on the CPU; set uncertainty: on",
            job.mc_passes,
            AUTO_UNCERTAINTY_MINUTES,
        )
    return passes


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

    The same guard as ``classify``'s (:func:`~..files.check_outputs_not_inputs`).

    Raises:
        InputError: naming the input and the folder.
    """
    from ..files import check_outputs_not_inputs

    check_outputs_not_inputs({}, input_paths(job), job.output_dir)


def run_outputs(folder: Path, name: str) -> list[Path]:
    """Every file a run wrote in ``folder`` (for the manifest's hashes)."""
    from .outputs import MANIFEST, output_patterns

    files: set[Path] = set()
    for pattern in output_patterns(name):
        for p in folder.glob(pattern):
            files |= {q for q in p.rglob("*") if q.is_file()} if p.is_dir() else {p}
    return sorted(f for f in files if f.name != MANIFEST)


def check_patch(patch: int, grid: Grid, what: str = "Job") -> None:
    """The study area is at least one training patch wide (a job's, or a benchmark's dataset's ``train.patch``).

    Raises:
        InputError: naming ``train.patch``, the scene's size and the largest patch that fits.
    """
    side = min(grid.width, grid.height)
    if side >= patch:
        return
    fits = f"use a patch of at most {side // 16 * 16} px" if side >= 16 else "the smallest patch is 16 px: use a larger area"
    raise InputError(
        f"{what} field 'train.patch': {patch} px is larger than the scene ({grid.width} x {grid.height} px); {fits}."
    )


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
    from ..files import check_free_space

    job = validate_job(job)
    from ..inputs.align import check_crs

    check_crs([s for p in (*job.reference, *job.prediction, *job.targets) for s in p.sources()], job.assume_aligned)
    check_outputs_are_not_inputs(job)
    check_writable(job.output_dir)
    from .outputs import OutputFolder, check_no_links, run_outputs_there

    OutputFolder(Path(job.output_dir), {}, job.name, []).check_free()  # a live run there: say so now, not at claim
    check_no_links(Path(job.output_dir), run_outputs_there(Path(job.output_dir), job.name))
    grid = study_grid(job)
    n_rasters = 2 * (len(job.reference) + len(job.prediction) + len(job.targets)) + len(job.targets) * (2 + len(job.compare))
    check_free_space(
        job.output_dir,
        grid.width * grid.height * 4.0 * (n_rasters + 4) / 2,  # float32, about half after compression
        f"The run's outputs on the study grid of {grid.width} x {grid.height} px",
    )
    if job.model:
        from ..fusion import tsstfn

        tsstfn.load(job.tsstfn_params(), single_season=job.single_season)
    else:
        check_patch(job.train.patch, grid)
    if samples is None and job.samples:
        samples = check_samples(job)  # fail before hours of training, not after
    if samples is not None and not samples.not_measured and (job.split is Split.BLOCK or job.kfold):
        from ..mapping.samples import block_folds, spatial_blocks

        folds = max(job.kfold, 2 if job.split is not Split.BLOCK else max(2, round(1.0 / job.test_fraction)))
        block_folds(samples, spatial_blocks(samples, grid, mapping_options(job, grid).block_m), folds)
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
    from ..deps import check_dependencies, dependency_message, find_problems
    from .outputs import OutputFolder

    t0 = time.perf_counter()
    missing = find_problems(quick=True)  # milliseconds; importing torch and scikit-learn takes seconds (20 s loaded)
    if missing:
        raise DependencyError(dependency_message(missing))
    job, samples = preflight(job)  # header-only checks first: a wrong input is said in seconds
    check_dependencies()  # a broken package (one that is there but fails to import) before any work
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
    learner = learning_method()
    params = replace(job.params_of(learner.name), mc_passes=uncertainty_passes(job, prep.grid))
    fused = learner.run(inputs, out, params, steps.sub("fuse"), is_cancelled, resume)
    result.fused, result.model, result.uncertainty = fused.rasters, fused.model, fused.uncertainty
    predictions = {learner.name: result.fused}
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
                prep.grid, f"{learner.label} - fine image", is_cancelled=is_cancelled,
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
    """Crop maps with and without the fused dates (:func:`~..mapping.workflow.map_crops`), the per-field map, exports."""
    from ..formats import formats_of_kind
    from ..mapping.export import export_crop_map
    from ..mapping.workflow import FieldsSpec, map_crops

    sub = steps.sub("classify")
    options = mapping_options(job, prep.grid)
    early = [str(p.fine) for p in prep.prediction]
    early_dates = [p.date for p in prep.prediction]  # the gap-filling weighs by the dates' days
    result.class_names = dict(samples.names)
    report = out / "report"
    made = map_crops(
        early, prep.grid, samples, options, out / "crop_map_early.tif", report, name="early",
        title="Early-season fine images only", estimate_areas=False, classifier_path=out / "forest_early.skops",
        progress=scaled(sub, 0.0, 0.5), is_cancelled=is_cancelled, resume=resume, dates=early_dates,
    )  # fmt: skip
    result.accuracy["early"] = {**made.assessment.as_dict(), "mapped_fraction": made.mapped_fraction}
    result.crop_map_early, result.pixel_areas["early"] = made.crop_map, made.pixel_areas
    fields = None
    if job.fields:
        vectors = tuple(out / f"crop_fields{f.suffix}" for f in formats_of_kind("vector") if f.key in job.formats)
        fields = FieldsSpec(job.fields, out / "crop_map_fields.tif", vectors, job.field_id, job.field_rule, out / "aligned")
    made = map_crops(
        early + [str(result.fused[t.date]) for t in prep.targets], prep.grid, samples, options, out / "crop_map_fused.tif",
        report, name="fused", title=f"Early season + {learning_method().label} ({job.strategy}, {job.forecast})",
        areas_title="Area of each class: crop map with fused NDVI", classifier_path=out / "forest_fused.skops",
        probabilities_path=out / "crop_probabilities.tif" if job.probabilities else None,
        confidence_path=out / "crop_confidence.tif" if job.confidence else None, fields=fields,
        progress=scaled(sub, 0.5, 1.0), is_cancelled=is_cancelled, resume=resume,
        dates=early_dates + [t.date for t in prep.targets],
    )  # fmt: skip
    result.accuracy["fused"] = {**made.assessment.as_dict(), "mapped_fraction": made.mapped_fraction}
    result.crop_map, result.probabilities, result.confidence = made.crop_map, made.probabilities, made.confidence
    result.pixel_areas["fused"] = made.pixel_areas
    if made.area is not None:  # None: too few samples to hold any out, the accuracy not measured (the report says why)
        result.areas["fused"] = made.area
    if made.field_map is not None:
        result.field_map = made.field_map
        assert made.field_pixel_areas is not None
        result.pixel_areas["fields"] = made.field_pixel_areas
        fields_accuracy = made.field_map.accuracy_dict()
        if fields_accuracy is not None:
            result.accuracy["fields"] = fields_accuracy
        if made.field_area is not None:
            result.areas["fields"] = made.field_area
    steps.sub("export")(0.0, "exporting")
    result.vectors = export_crop_map(made.crop_map, out, "crop_map", job.formats, samples.names, job.mmu_ha)
    if "gtiff" not in job.formats:
        for p in (result.crop_map, result.crop_map_early):
            os.unlink(p)
        result.crop_map = result.crop_map_early = None


def output_rasters(result: JobResult) -> list[Path]:
    """Every GeoTIFF the run wrote as a product (fused and compared NDVI, uncertainty, differences, maps)."""
    paths = [*result.fused.values(), *result.uncertainty.values(), *result.difference.values()]
    paths += [p for by_date in result.compared.values() for p in by_date.values()]
    paths += [p for p in (result.crop_map, result.crop_map_early, result.probabilities, result.confidence) if p]
    if result.field_map is not None:
        paths.append(result.field_map.raster)
    return [Path(p) for p in paths if Path(p).suffix.lower() == ".tif" and Path(p).exists()]
