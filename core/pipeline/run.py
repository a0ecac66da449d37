"""Running a job end to end: ``prepare`` → fusion methods → scores → crop maps → exports → report.

``run_job`` aligns the inputs, runs TSSTFN and the comparison methods of the registry
(:mod:`..fusion.methods`), scores every method against the real fine image of each target where
one is given, classifies crops with and without the fused dates, assesses the accuracy, exports
the crop map and writes a run report. The QGIS dialog's task, the Processing algorithms and the
command line all call it (or its steps).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, Steps, check_cancelled, never_cancelled, scaled
from ..errors import InputError
from ..files import check_writable, read_array, write_array
from ..fusion.base import FusionInputs
from ..fusion.methods import get_method
from ..fusion.stacks import AlignedPair
from ..inputs.grid import Grid, reference_grid
from ..mapping.accuracy import Accuracy
from ..mapping.classify import Classifier
from ..mapping.samples import Samples, Split
from .job import Job, input_paths, job_to_dict, validate_job
from .pairs import DatedPair, dated


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
    pairs: Sequence[DatedPair], grid: Grid, workdir: Path, is_cancelled: CancelFn = never_cancelled
) -> list[AlignedPair]:
    """Each pair's coarse and fine NDVI on ``grid``, written as GeoTIFFs into ``workdir``, sorted by date."""
    from ..inputs.align import ndvi_to_grid

    out = []
    for p in pairs:
        stamp = p.date.strftime("%Y%m%d")
        coarse_path = ndvi_to_grid(p.coarse, grid, workdir / f"modis_{stamp}.tif", is_cancelled=is_cancelled)
        fine_path = ndvi_to_grid(p.fine, grid, workdir / f"s2_{stamp}.tif", is_cancelled=is_cancelled) if p.fine else None
        out.append(AlignedPair(p.date, str(coarse_path), str(fine_path) if fine_path else None))
    return sorted(out, key=lambda p: p.date)


def prepare(job: Job, workdir: Path, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled) -> Prepared:
    """Step 1: every input as NDVI on the job's grid (see :func:`study_grid`)."""
    from ..inputs.align import check_crs

    check_crs([s for p in (*job.reference, *job.prediction, *job.targets) for s in p.sources()], job.assume_aligned)
    grid = study_grid(job)
    out = []
    for k, (name, pairs) in enumerate((("reference", job.reference), ("prediction", job.prediction), ("targets", job.targets))):
        out.append(align_pairs(dated(pairs), grid, workdir / name, is_cancelled))
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


def split_description(job: Job) -> str:
    """How the samples were split, as the reports say it."""
    text = (
        "random 7:3 split by pixel (the paper's; pixels of one field fall on both sides, which flatters accuracy)"
        if job.split is Split.RANDOM
        else "split by field/polygon (no field on both sides)"
    )
    return f"{text}, test fraction {job.test_fraction}"


def crop_accuracy(
    job: Job, prep: Prepared, samples: Samples, split: tuple[Any, Any], paths: list[str]
) -> tuple[Classifier, Accuracy]:
    """A forest on ``paths``' window features at the training samples, assessed on the test samples."""
    from ..mapping.classify import train_and_assess

    return train_and_assess(paths, prep.grid, samples, split, job.forest, split_description(job))


def score_methods(prep: Prepared, predictions: dict[str, dict[dt.date, Path]]) -> dict[dt.date, dict[str, dict]]:
    """Scores of each method's prediction against the real fine image of each target that has one."""
    from ..fusion.metrics import fusion_metrics

    scores: dict[dt.date, dict[str, dict]] = {}
    for t in prep.targets:
        if not t.fine:
            continue
        truth = read_array(t.fine)
        scores[t.date] = {
            name: fusion_metrics(read_array(by_date[t.date]), truth) for name, by_date in predictions.items() if t.date in by_date
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


def preflight(job: Job) -> tuple[Job, Samples | None]:
    """Every check that needs no pixel, in the first second of a run: what :func:`run_job` does first.

    The job's dates and pairs; no input inside the output folder; the folder writable; the scene
    (one raster header) at least one training patch wide; a given model file readable and fitting
    the job; the samples readable, on the study area, with two classes or more.

    Returns:
        The validated job and its samples (None without samples).

    Raises:
        TsstfnError: the first problem, in one sentence naming the field or file.
    """
    job = validate_job(job)
    check_outputs_are_not_inputs(job)
    check_writable(job.output_dir)
    grid = study_grid(job)
    if job.model:
        from ..fusion import tsstfn

        tsstfn.load(job.tsstfn_params())
    elif min(grid.width, grid.height) < job.train.patch:
        raise InputError(
            f"Job field 'train.patch': {job.train.patch} px is larger than the scene ({grid.width} x {grid.height} px); "
            f"use a patch of at most {min(grid.width, grid.height) // 16 * 16} px."
        )
    samples = check_samples(job) if job.samples else None  # fail before hours of training, not after
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
    try:
        result = _run(job, out, samples, progress, is_cancelled)
    except BaseException:
        folder.release(complete=False)
        raise
    result.seconds = time.perf_counter() - t0
    result.report = write_run_report(job, result)
    folder.release(complete=True, outputs=run_outputs(out, job.name))
    if progress:
        progress(1.0, "done")
    return result


def _run(job: Job, out: Path, samples: Samples | None, progress: ProgressFn | None, is_cancelled: CancelFn) -> JobResult:
    from ..mapping import accuracy as acc_mod
    from ..mapping import classify
    from ..mapping.export import export_crop_map
    from ..mapping.samples import split as split_samples

    steps = Steps(progress, {"align": 2, "fuse": 9, "compare": 1, "classify": 2, "export": 1})
    result = JobResult(out)

    prep = prepare(job, out / "aligned", steps.sub("align"), is_cancelled)
    inputs = prep.fusion_inputs()
    tsstfn = get_method("tsstfn").run(inputs, out, job.tsstfn_params(), steps.sub("fuse"), is_cancelled)
    result.fused, result.model = tsstfn.rasters, tsstfn.model
    predictions = {"tsstfn": result.fused}
    sub = steps.sub("compare")
    for k, name in enumerate(job.compare):
        check_cancelled(is_cancelled)
        method = get_method(name)
        produced = method.run(inputs, out, job.params_of(name), None, is_cancelled)
        predictions[name] = produced.rasters
        if produced.written:
            result.compared[name] = produced.rasters
        sub((k + 1) / len(job.compare), method.label)
    result.fusion_metrics = score_methods(prep, predictions)
    for t in prep.targets:
        if t.fine:
            diff = read_array(result.fused[t.date]) - read_array(t.fine)
            result.difference[t.date] = write_array(
                out / f"difference_{t.date:%Y%m%d}.tif", diff, prep.grid, description="TSSTFN - fine image"
            )

    if samples is not None:
        sub = steps.sub("classify")
        early = [str(p.fine) for p in prep.prediction]
        split = split_samples(samples, job.split, job.test_fraction, job.forest.random_state)
        result.class_names = dict(samples.names)
        for label, paths in (("early", early), ("fused", early + [str(result.fused[t.date]) for t in prep.targets])):
            check_cancelled(is_cancelled)
            clf, acc = crop_accuracy(job, prep, samples, split, paths)
            title = (
                "Early-season fine images only" if label == "early" else f"Early season + TSSTFN ({job.strategy}, {job.forecast})"
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
                progress=scaled(sub, 0.5, 1.0) if label == "fused" else scaled(sub, 0.0, 0.5),
                is_cancelled=is_cancelled,
            )
            if label == "fused":
                result.crop_map, result.probabilities = path, proba
            else:
                result.crop_map_early = path
        sub = steps.sub("export")
        assert result.crop_map is not None and result.crop_map_early is not None
        result.vectors = export_crop_map(result.crop_map, out, "crop_map", job.formats, samples.names, job.mmu_ha)
        sub(1.0, "exported")
        if "gtiff" not in job.formats:
            for p in (result.crop_map, result.crop_map_early):
                os.unlink(p)
            result.crop_map = result.crop_map_early = None
    return result
