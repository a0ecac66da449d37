"""The one crop-mapping path: a forest on NDVI rasters, its accuracy, the map, its areas and per-field map.

:func:`map_crops` is what every caller runs: ``run_job`` (its early-season and fused maps),
``classify`` on the command line and Processing's *Classify crops* (through
:func:`classify_rasters`, for NDVI rasters the user already has: single-band files, or multi-band
stacks whose bands are dates, e.g. a MOD13Q1 cube). It trains and assesses the forest
(:class:`MappingOptions`: the chosen split, plus spatial blocks and an optional k-fold by block),
writes the crop map, its pixel-count areas, the error-adjusted area estimate, optional
probabilities, confidence and per-field maps, and the reports. The block size has one default
(:func:`~.samples.default_block_m`) and the split one wording (:func:`~.samples.split_description`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled, scaled
from ..files import PathLike, band_views, make_cog, open_raster
from ..options import choice
from .area import AreaEstimate, class_pixel_counts, estimate_from_samples, write_area_reports, write_pixel_areas
from .classify import Assessment, ForestParams, assess_forest, classify_to_file
from .fields import FieldMap, FieldRule
from .gapfill import DEFAULT_MIN_CLEAR, GapFill, GapFilling, GapStats, days_of
from .samples import AccuracyNeed, Samples, Split, default_block_m, split_description

if TYPE_CHECKING:
    from ..inputs.grid import Grid

log = logging.getLogger("tsstfn")


@dataclass(frozen=True)
class MappingOptions:
    """How a crop map is made and assessed (a job's ``split``, ``test_fraction``, ``forest``, ``block_m``, ``kfold``).

    Attributes:
        block_m: the side of the spatial blocks in metres, resolved (see :meth:`for_grid` and
            :func:`~.samples.default_block_m`).
        split: ``random`` (the paper's), ``field`` or ``block``.
        test_fraction: the share of samples held out.
        forest: the forest's options.
        kfold: k-fold cross-validation by block (0: none).
        gap_fill: how missing NDVI of the forest's features is filled (:class:`~.gapfill.GapFill`; default
            ``linear``: without it one cloudy date leaves a pixel unmapped).
        gap_fill_min_clear: the share of dates a pixel needs clear to be filled and mapped.
    """

    block_m: float
    split: Split = Split.RANDOM
    test_fraction: float = 0.3
    forest: ForestParams = ForestParams()
    kfold: int = 0
    gap_fill: GapFill = GapFill.LINEAR
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR

    def __post_init__(self) -> None:
        """Coerce the split (``"block"`` or :class:`~.samples.Split`) and the gap-filling."""
        object.__setattr__(self, "split", choice(Split, self.split, "split"))
        object.__setattr__(self, "gap_fill", self.filling().how)

    def filling(self, dates: Sequence[dt.date | None] | None = None) -> GapFilling:
        """The gap-filling of a map whose rasters hold ``dates`` (weights by their days; unknown: by position)."""
        return GapFilling(self.gap_fill, self.gap_fill_min_clear, days_of(dates))

    @classmethod
    def for_grid(
        cls, grid: Grid, block_m: float | None = None, coarse_pixel_m: float | None = None, **options: Any
    ) -> MappingOptions:
        """Options on ``grid``: ``block_m``, else :func:`~.samples.default_block_m` of its pixels (and the coarse ones)."""
        return cls(block_m or default_block_m(grid.pixel_side_m, coarse_pixel_m), **options)

    @property
    def split_text(self) -> str:
        """The split in the reports' words (:func:`~.samples.split_description`)."""
        return split_description(self.split, self.test_fraction, self.block_m)

    def assess(
        self,
        paths: Sequence[str],
        grid: Grid,
        samples: Samples,
        compare_blocks: bool = True,
        filling: GapFilling | None = None,
    ) -> Assessment:
        """A forest on ``paths``' window features, assessed by the split (see :func:`~.classify.assess_forest`).

        Unless ``compare_blocks`` is False, also by spatial blocks and the k-fold. ``filling``: the
        gap-filling (default: this option's, without fused rasters).
        """
        return assess_forest(
            paths, grid, samples, self.split, self.test_fraction, self.forest, self.block_m,
            self.kfold if compare_blocks else 0, self.split_text, compare_blocks, filling or self.filling(),
        )  # fmt: skip


@dataclass(frozen=True)
class SampleLabels:
    """Where the samples' class names come from and which season they keep (jobs, ``classify``, Processing, the dialog).

    Attributes:
        class_names: ``{code: name}`` of integer codes (a QGIS value map; JSON keys as text are fine).
        class_names_file: a lookup file (CSV ``code,name``, a QGIS ``.qml``, a ``.clr``/``.txt`` colour map).
        season_field: the samples' season, year or date field to filter by.
        season: the value to keep (or a year of the field's dates).
        accuracy: ``when_possible`` (default: a class with too few samples to hold any out still gets a map, its
            accuracy not measured) or ``required`` (such samples are refused); :class:`~.samples.AccuracyNeed`.
    """

    class_names: dict | None = field(default=None, hash=False)
    class_names_file: str | None = None
    season_field: str | None = None
    season: str | None = None
    accuracy: AccuracyNeed | str = AccuracyNeed.WHEN_POSSIBLE

    def __post_init__(self) -> None:
        """Coerce the accuracy rule (``"required"`` or :class:`~.samples.AccuracyNeed`)."""
        object.__setattr__(self, "accuracy", choice(AccuracyNeed, self.accuracy, "accuracy"))

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~.samples.read_samples`."""
        return {
            "class_names": self.class_names, "class_names_file": self.class_names_file,
            "season_field": self.season_field or None, "season": self.season, "accuracy": self.accuracy,
        }  # fmt: skip


@dataclass(frozen=True)
class FieldsSpec:
    """Field polygons for a per-field map, and where it goes.

    Attributes:
        path: the field polygons (cadastre, LPIS).
        raster: the per-field class raster to write.
        vectors: the per-field polygons' files (vector formats by suffix).
        id_field: their id attribute (None: the feature id).
        rule: how a field takes its class.
        work_dir: where the rasterised field index goes (None: beside ``raster``).
    """

    path: str
    raster: Path
    vectors: tuple[Path, ...] = ()
    id_field: str | None = None
    rule: FieldRule = FieldRule.MAJORITY
    work_dir: Path | None = None


@dataclass
class ClassifyResult:
    """What :func:`map_crops` wrote and measured.

    Attributes:
        crop_map: the class raster.
        assessment: the forest and its accuracy (chosen split, spatial blocks, folds).
        area: the error-adjusted area of each class (None when not asked for).
        pixel_areas: the pixel-count area CSV beside the crop map.
        reports: the report files (accuracy and areas, Markdown and CSV), by ``accuracy_markdown``, ``areas_csv``, ...
        confidence: the confidence raster (None unless asked for).
        field_map: the per-field map (None without fields).
        samples: the samples as read.
        probabilities: the class-probability raster (None unless asked for).
        field_area: the error-adjusted area of each class in the per-field map (None without fields or scores).
        field_pixel_areas: the pixel-count area CSV beside the per-field map (None without fields).
        mapped_fraction: the share of the grid's pixels that got a class (the rest is nodata).
        gap_stats: what the gap-filling did (pixels filled, left unmapped for too few clear dates).
        legend: the legend files beside the crop map (``.qml``, which QGIS loads with it, and ``.clr``).
    """

    crop_map: Path
    assessment: Assessment
    area: AreaEstimate | None
    pixel_areas: Path
    reports: dict[str, Path] = field(default_factory=dict)
    confidence: Path | None = None
    field_map: FieldMap | None = None
    samples: Samples | None = None
    probabilities: Path | None = None
    field_area: AreaEstimate | None = None
    field_pixel_areas: Path | None = None
    mapped_fraction: float = 1.0
    gap_stats: GapStats | None = None
    legend: list[Path] = field(default_factory=list)


#: above this share of unmapped pixels a crop map's run warns (log, report, dialog)
UNMAPPED_WARNING = 0.2


def unmapped_note(mapped_fraction: float, n_dates: int | None = None, filling: GapFilling | None = None) -> str:
    """Why part of a crop map is nodata, in one sentence for the report, the log and the dialog."""
    share = f"{100 * (1 - mapped_fraction):.0f} % of the map is unmapped (nodata)"
    if filling is not None and filling.active and n_dates:
        return (
            f"{share}: a pixel gets a class only where at least {filling.needed(n_dates)} of its {n_dates} dates have a "
            "valid NDVI (the others are gap-filled); the rest were cloudy, masked or nodata too often: give their "
            "masks, drop the cloudiest dates, or lower 'gap_fill_min_clear'."
        )
    if filling is not None and n_dates:
        return (
            f"{share}: without gap-filling a pixel gets a class only where each of its {n_dates} dates has a valid "
            "NDVI, and one cloudy, masked or nodata date leaves it out; gap-fill them ('gap_fill': 'linear'), drop the "
            "cloudiest dates or give their masks, or fuse them (TSSTFN predicts the cloudy dates)."
        )
    return (
        f"{share}: a pixel gets a class only where its dates have a valid NDVI (enough of them, with gap-filling); "
        "cloudy, masked or nodata dates leave it out: gap-fill them, drop the cloudiest dates or give their masks, or "
        "fuse them (TSSTFN predicts the cloudy dates)."
    )


def map_crops(
    paths: Sequence[str],
    grid: Grid,
    samples: Samples,
    options: MappingOptions,
    out_map: PathLike,
    report_dir: PathLike,
    *,
    name: str = "",
    title: str = "Crop map accuracy",
    areas_title: str = "Area of each class",
    estimate_areas: bool = True,
    probabilities_path: PathLike | None = None,
    confidence_path: PathLike | None = None,
    classifier_path: PathLike | None = None,
    fields: FieldsSpec | None = None,
    cog: bool = False,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    resume: Any = None,
    dates: Sequence[dt.date | None] | None = None,
) -> ClassifyResult:
    """Map crops from ``paths`` (dates in order, on ``grid``): the one path of jobs, ``classify`` and Processing.

    The forest is trained and assessed by ``options``; its accuracy is written as
    ``accuracy[_name].md/.csv/.png`` into ``report_dir``; the map (and the optional probabilities
    and confidence) is classified strip by strip; its pixel-count areas go beside it
    (``<map>_areas.csv``); the error-adjusted areas as ``areas[_name]``; with ``fields``, the
    per-field map, its pixel-count areas and ``areas_fields``.

    Args:
        paths: NDVI rasters (or band views) on ``grid``, in date order.
        grid: their grid.
        samples: the labelled samples, read on ``grid``.
        options: the split, forest and blocks.
        out_map: the crop map (GeoTIFF).
        report_dir: the reports' folder.
        name: the reports' suffix (``fused``: ``accuracy_fused.md``); empty: none.
        title: the accuracy report's title.
        areas_title: the area report's title.
        estimate_areas: write the error-adjusted area estimate.
        probabilities_path: write the class probabilities here (None: not).
        confidence_path: write the forest's confidence here (None: not).
        classifier_path: save the forest here (a skops file; None: not).
        fields: a per-field map (None: none).
        cog: make the rasters Cloud-Optimized GeoTIFFs.
        progress: ``progress(fraction, message)`` of the classification.
        is_cancelled: checked between strips.
        resume: a run's :class:`~..pipeline.resume.Resume` ledger: a map whose files (forest, map,
            probabilities, confidence) a stopped run left complete is reused (the forest is seeded:
            the same assessment made them).
        dates: the date of each of ``paths``, whose days weigh the gap-filling's interpolation (None, or a date
            None: by position, and the report's note says so).

    Raises:
        TsstfnError: a raster that is not NDVI or not on the grid, too few blocks for the split.
    """
    from .accuracy import write_reports
    from .classes import write_legend

    suffix = f"_{name}" if name else ""
    check_cancelled(is_cancelled)
    filling = options.filling(dates)
    assessment = options.assess(paths, grid, samples, filling=filling)
    report_dir = Path(report_dir)
    out_map = Path(out_map)
    proba = Path(probabilities_path) if probabilities_path else None
    confidence = Path(confidence_path) if confidence_path else None
    made = [Path(p) for p in (classifier_path, out_map, proba, confidence) if p]
    stats: GapStats | None = None
    if resume is not None and resume.all_complete(made):
        resume.reuse(f"crop map ({name or out_map.stem})")
    else:
        if classifier_path:
            from .classify import save_classifier

            save_classifier(assessment.classifier, classifier_path)
        stats = GapStats()
        classify_to_file(
            assessment.classifier, paths, grid, out_map, proba, progress, is_cancelled, confidence_path=confidence,
            filling=filling, stats=stats,
        )  # fmt: skip
        if filling.active and stats.pixels:
            assessment.notes.append(stats.note(filling, len(paths)))
            assessment.gap_filled = stats.filled / stats.pixels
        if resume is not None:
            resume.record(*made)
    pixel_ha = grid.pixel_area_ha
    counts = class_pixel_counts(out_map)
    names = assessment.classifier.names  # the classes the forest learned: the map's legend, no other
    pixel_areas = write_pixel_areas(counts, names, pixel_ha, out_map.with_name(out_map.stem + "_areas.csv"))
    result = ClassifyResult(out_map, assessment, None, pixel_areas, {}, confidence, None, samples, proba)
    result.gap_stats = stats
    result.legend = write_legend(out_map, names)
    result.mapped_fraction = sum(counts.values()) / max(1, grid.width * grid.height)
    notes = list(assessment.notes)  # the run report adds its own unmapped note from mapped_fraction
    if result.mapped_fraction < 1 - UNMAPPED_WARNING:
        notes.append(unmapped_note(result.mapped_fraction, len(paths), filling))
        log.warning("%s: %s", out_map.name, notes[-1])
    if assessment.accuracy is None:  # too few samples to hold any out: the map and its pixel counts, no scores
        from .accuracy import write_not_measured_report

        log.warning("%s: %s", out_map.name, assessment.not_measured)
        written = write_not_measured_report(assessment.not_measured, report_dir, f"accuracy{suffix}", title, notes)
    else:
        written = write_reports(assessment.accuracy, report_dir, f"accuracy{suffix}", title, notes)
    reports = result.reports = {f"accuracy_{k}": v for k, v in written.items()}
    if estimate_areas and assessment.accuracy is not None:
        result.area = estimate_from_samples(
            samples.codes[assessment.test_index], assessment.predicted, counts, samples.names, pixel_ha, options.split_text
        )
        reports.update(
            {f"areas_{k}": v for k, v in write_area_reports(result.area, report_dir, f"areas{suffix}", areas_title).items()}
        )
    if fields is not None:
        _field_map(result, fields, grid, samples, options, report_dir)
    if cog:
        for path in (out_map, proba, confidence, result.field_map.raster if result.field_map else None):
            if path is not None:
                make_cog(path)
    return result


def _field_map(
    result: ClassifyResult, fields: FieldsSpec, grid: Grid, samples: Samples, options: MappingOptions, report_dir: Path
) -> None:
    """The per-field map of ``result``'s crop map, its scores, pixel-count areas and area estimate."""
    from .classes import write_legend
    from .fields import field_map, values_at

    test_index = result.assessment.test_index if result.assessment.accuracy is not None else None
    fm = field_map(
        result.crop_map, fields.path, grid, samples.names, fields.raster, fields.vectors, fields.id_field, fields.rule,
        result.probabilities, samples if test_index is not None else None, test_index, fields.work_dir,
    )  # fmt: skip
    result.field_map = fm
    result.legend += write_legend(fm.raster, result.assessment.classifier.names)  # its values are the crop map's
    counts = class_pixel_counts(fm.raster)
    pixel_ha = grid.pixel_area_ha
    result.field_pixel_areas = write_pixel_areas(
        counts, samples.names, pixel_ha, fm.raster.with_name(fm.raster.stem + "_areas.csv")
    )
    if fm.pixel_accuracy is not None and test_index is not None:
        mapped = values_at(fm.raster, samples, test_index)
        result.field_area = estimate_from_samples(
            samples.codes[test_index], mapped, counts, samples.names, pixel_ha, options.split_text
        )
        written = write_area_reports(result.field_area, report_dir, "areas_fields", "Area of each class: per-field map")
        result.reports.update({f"areas_fields_{k}": v for k, v in written.items()})


def classify_rasters(
    rasters: list[str],
    samples_path: str,
    class_field: str,
    out_map: PathLike,
    report_dir: PathLike,
    *,
    bands: list[int] | None = None,
    scale: float | None = None,
    samples_layer: str | None = None,
    group_field: str | None = None,
    split: Split | str = Split.RANDOM,
    test_fraction: float = 0.3,
    forest: ForestParams = ForestParams(),
    block_m: float | None = None,
    kfold: int = 0,
    confidence_path: PathLike | None = None,
    fields: str | None = None,
    field_id: str | None = None,
    fields_out: Sequence[PathLike] | None = None,
    cog: bool = True,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    class_names: dict | None = None,
    class_names_file: str | None = None,
    season_field: str | None = None,
    season: str | None = None,
    gap_fill: GapFill | str = GapFill.LINEAR,
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR,
    accuracy: AccuracyNeed | str = AccuracyNeed.WHEN_POSSIBLE,
    dates: Sequence[str | dt.date | None] | None = None,
) -> ClassifyResult:
    """Classify ``rasters`` (dates in order) with a forest trained on ``samples_path``: :func:`map_crops` on files.

    Args:
        rasters: NDVI rasters on one grid, in date order; a multi-band raster is a series of dates
            (its ``bands``, default all).
        samples_path: points, polygons or a label raster with the classes.
        class_field: the samples' class attribute (ignored for a label raster).
        out_map: the crop map (GeoTIFF; a COG unless ``cog`` is False).
        report_dir: where ``accuracy.md``/``.csv``/``.png`` and ``areas.md``/``.csv`` go.
        bands: the bands of multi-band rasters to use.
        scale: multiply the rasters' values by this (0.0001 for NDVI x 10000); None: as they are.
        samples_layer: the layer of a multi-layer samples file.
        group_field: the field id for the split by field.
        split: ``random`` (the paper's), ``field`` or ``block``.
        test_fraction: the share of samples held out.
        forest: the forest's options.
        block_m: the spatial blocks' side (None: :func:`~.samples.default_block_m` of the pixel size).
        kfold: k-fold cross-validation by block (0: none).
        confidence_path: write the forest's confidence here (None: not).
        fields: field polygons for a per-field map (``<map>_fields.tif``; None: none).
        field_id: their id attribute.
        fields_out: the per-field polygons' files (vector formats by suffix).
        cog: write the rasters as Cloud-Optimized GeoTIFFs.
        progress: ``progress(fraction, message)``.
        is_cancelled: checked between strips.
        class_names: ``{code: name}`` of integer class codes (a QGIS value map; see :mod:`.classes`).
        class_names_file: a lookup file of class names (CSV ``code,name``, ``.qml``, ``.clr``/``.txt``).
        season_field: the samples' season, year or date field to filter by (None: all samples).
        season: the season to keep (a value of ``season_field``, or a year of its dates).
        gap_fill: ``linear`` (default; weighted by the rasters' dates where their names, band descriptions or a
            timeline beside a stack give them, else by position: :func:`raster_dates`) or ``none`` (:mod:`.gapfill`).
        gap_fill_min_clear: the share of dates a pixel needs clear to be gap-filled and mapped.
        accuracy: ``when_possible`` (default: a class with fewer than 10 samples still gets a map, trained on every
            sample, its accuracy not measured and the reports say why) or ``required`` (refused, naming the class).
        dates: the date of each of ``rasters`` as the user typed it (ISO text; None or '' where not given): a
            single-band raster's typed date wins over its name's; a stack's own band dates win (see :func:`raster_dates`).

    Raises:
        TsstfnError: any input problem, in one sentence naming the file or parameter.
    """
    outputs = classify_outputs(out_map, report_dir, confidence_path, fields, fields_out)
    check_classify_outputs(outputs, [*rasters, samples_path, fields, class_names_file])
    check_classify_options(test_fraction, scale, block_m, kfold, gap_fill, gap_fill_min_clear)
    typed = check_typed_dates(rasters, dates)
    labels = SampleLabels(class_names, class_names_file, season_field, season, accuracy)
    paths, grid, samples = _inputs(rasters, samples_path, class_field, bands, scale, samples_layer, group_field, kfold, labels)
    from ..files import check_free_space

    per_pixel = 1 + (8 if confidence_path else 0) + (5 if fields else 0)  # Byte map, two float bands, field map + index
    size = f"The crop map of {grid.width} x {grid.height} px and its companions"
    check_free_space(Path(out_map).parent, grid.width * grid.height * per_pixel, size)
    if fields:
        from .fields import read_fields

        read_fields(fields, grid, field_id)
    options = MappingOptions.for_grid(
        grid, block_m, split=split, test_fraction=test_fraction, forest=forest, kfold=kfold, gap_fill=gap_fill,
        gap_fill_min_clear=gap_fill_min_clear,
    )  # fmt: skip
    out_map = Path(out_map)
    spec = None
    if fields:
        raster = out_map.with_name(out_map.stem + "_fields.tif")
        spec = FieldsSpec(fields, raster, tuple(Path(p) for p in fields_out or ()), field_id, work_dir=Path(report_dir))
    result = map_crops(
        paths, grid, samples, options, out_map, report_dir, confidence_path=confidence_path, fields=spec, cog=cog,
        progress=scaled(progress, 0.0, 0.9), is_cancelled=is_cancelled,
        dates=raster_dates(rasters, bands, typed) if options.gap_fill is GapFill.LINEAR else None,
    )  # fmt: skip
    if progress:
        progress(1.0, "done")
    return result


def raster_dates(
    rasters: Sequence[str], bands: Sequence[int] | None = None, typed: Sequence[dt.date | None] | None = None
) -> list[dt.date | None]:
    """The date of each series date :func:`classify_rasters` reads from ``rasters`` (``bands`` of stacks), None where unknown.

    A single-band raster's date is the one the user typed for it (``typed``, one per raster, None where not
    given), else its name's, its metadata's or its band description's (:func:`~..inputs.dates.detect_date`);
    a stack's bands take theirs from their descriptions or a timeline file beside it
    (:func:`~..inputs.dates.band_dates`): a stack's own band dates win over a typed date. A plain band range
    without any of these has no dates: the gap-filling then goes by position, and its note in the report
    says so.

    Raises:
        InputError: a date typed for a stack without band dates (one date cannot date its bands), or dates
            that do not increase along the series once the typed ones are in; naming the rows.
    """
    from ..errors import InputError, TsstfnError
    from ..inputs.dates import band_dates, detect_date

    out: list[dt.date | None] = []
    row_of: list[int] = []
    for i, raster in enumerate(rasters):
        count = open_raster(raster).RasterCount
        wanted = list(bands) if bands is not None else list(range(1, count + 1))  # as band_views reads them
        given = typed[i] if typed is not None and i < len(typed) else None
        found: list[dt.date | None]
        if count == 1 and given is not None:
            found = [given]
        else:
            try:
                found = [detect_date(Path(raster).name, path=str(raster))] if count == 1 else band_dates(str(raster))
            except TsstfnError:  # no date: the filling goes by position
                found = [None] * count
            if given is not None and count > 1 and not any(found):
                raise InputError(
                    f"Row {i + 1} ('{Path(raster).name}') is a stack of {count} bands without band dates; one typed date "
                    f"({given.isoformat()}) cannot date each band: clear it and put a {Path(raster).stem}.timeline.txt "
                    "beside the stack (one date per line), or give one single-band raster per date."
                )
        out += [found[b - 1] if 1 <= b <= count else None for b in wanted]
        row_of += [i] * len(wanted)
    if typed is not None and any(d is not None for d in typed):
        known = [(d, r) for d, r in zip(out, row_of) if d is not None]
        _check_increasing(known, rasters, "The series' dates do not increase: ")
    if any(d is None for d in out):
        log.info("gap-filling by the dates' positions: the dates of %s are unknown", ", ".join(Path(r).name for r in rasters))
    return out


def check_typed_dates(rasters: Sequence[str], dates: Sequence[str | dt.date | None] | None) -> list[dt.date | None] | None:
    """The dates a user typed for ``rasters`` (ISO text, one per raster; None or '' where not given), parsed.

    Typed dates must increase down the rows (the rows' order is the series' order).

    Raises:
        InputError: another number of dates than rasters, a date that does not parse or dates that do not
            increase; naming the row and its raster.
    """
    from ..errors import InputError
    from ..inputs.dates import parse_date

    if dates is None:
        return None
    if isinstance(dates, str) or len(dates) != len(rasters):
        raise InputError(
            f"Job field 'dates': {len(dates) if not isinstance(dates, str) else 'a text'} date(s) for {len(rasters)} "
            "raster(s); give one date (YYYY-MM-DD) or an empty entry per raster, in the rasters' order."
        )
    out: list[dt.date | None] = []
    for i, (raster, value) in enumerate(zip(rasters, dates)):
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(None)
            continue
        if isinstance(value, dt.date):
            out.append(value if not isinstance(value, dt.datetime) else value.date())
            continue
        try:
            out.append(parse_date(str(value).strip(), f"dates (row {i + 1}, '{Path(raster).name}')"))
        except InputError:
            raise InputError(
                f"Job field 'dates': row {i + 1} ('{Path(raster).name}'): '{value}' is not a date; type it as YYYY-MM-DD "
                "or leave it empty."
            ) from None
    _check_increasing([(d, i) for i, d in enumerate(out) if d is not None], rasters, "Job field 'dates': ")
    return out


def _check_increasing(known: Sequence[tuple[dt.date, int]], rasters: Sequence[str], where: str) -> None:
    """Raise :class:`~..errors.InputError` (starting ``where``) at the first ``(date, row)`` not after the one before it."""
    from ..errors import InputError

    for (a, ra), (b, rb) in zip(known, known[1:]):
        if b <= a:
            raise InputError(
                f"{where}row {rb + 1} ('{Path(rasters[rb]).name}', {b.isoformat()}) is not after row {ra + 1} "
                f"('{Path(rasters[ra]).name}', {a.isoformat()}); the rows' order is the series' order: put the rows in "
                "date order or correct the typed date."
            )


def classify_outputs(
    out_map: PathLike,
    report_dir: PathLike,
    confidence_path: PathLike | None = None,
    fields: str | None = None,
    fields_out: Sequence[PathLike] | None = None,
) -> dict[str, Path]:
    """Every file :func:`classify_rasters` writes, by what it is (the report's files one by one).

    Keys: ``crop map``, ``areas``, ``confidence``, ``per-field map``, ``per-field areas``, ``per-field polygons N``,
    ``report`` (the folder) and ``report/<name>`` for each report file.
    """
    out_map, report = Path(out_map), Path(report_dir)
    paths: dict[str, Path] = {"crop map": out_map, "areas": out_map.with_name(out_map.stem + "_areas.csv")}
    paths["crop map style"], paths["crop map colours"] = out_map.with_suffix(".qml"), out_map.with_suffix(".clr")
    if confidence_path:
        paths["confidence"] = Path(confidence_path)
    stems = ["accuracy_confusion.csv", "accuracy_classes.csv", "accuracy_confusion.png", "accuracy.md"]
    stems += ["areas.csv", "areas.md"]
    if fields:
        paths["per-field map"] = out_map.with_name(out_map.stem + "_fields.tif")
        paths["per-field areas"] = out_map.with_name(out_map.stem + "_fields_areas.csv")
        paths["per-field map style"] = out_map.with_name(out_map.stem + "_fields.qml")
        paths["per-field map colours"] = out_map.with_name(out_map.stem + "_fields.clr")
        for i, p in enumerate(fields_out or ()):
            paths[f"per-field polygons {i + 1}"] = Path(p)
        stems += ["areas_fields.csv", "areas_fields.md", "field_index.tif"]
    paths["report"] = report
    paths.update({f"report/{name}": report / name for name in stems})
    return paths


def check_classify_outputs(outputs: dict[str, Path], inputs: Sequence[str | None], folder: PathLike | None = None) -> None:
    """The outputs of :func:`classify_outputs` replace no input and can be written (the guard ``run`` uses too).

    Raises:
        InputError: an output that is an input (or holds one, for the report folder), a folder, under a file,
            or in a folder that cannot be written; naming it.
    """
    from ..errors import InputError
    from ..files import check_can_create, check_output_file, check_outputs_not_inputs

    check_outputs_not_inputs(dict(outputs), inputs, folder, folders=("report",))
    for key, path in outputs.items():
        if key == "report":
            if path.exists() and not path.is_dir():
                raise InputError(f"The report folder '{path}' is a file; choose a folder for the report.")
            if path.is_symlink():
                raise InputError(f"The report folder '{path}' is a link; remove it or choose another report folder.")
            try:
                check_can_create(path)
            except InputError as exc:
                raise InputError(f"report: {exc}") from None
        elif not key.startswith("report/"):
            check_output_file(path, f"The {key}")


def check_classify_options(
    test_fraction: float = 0.3,
    scale: float | None = None,
    block_m: float | None = None,
    kfold: int = 0,
    gap_fill: GapFill | str = GapFill.LINEAR,
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR,
) -> None:
    """The options ``classify`` shares with ``run``, checked by the same functions (NaN, 0 or 1.5 refused).

    Raises:
        InputError: naming the option and its range, or a gap-filling that is not ``linear`` or ``none``.
    """
    from ..errors import InputError
    from ..options import MAX_BLOCK_M, check_range

    GapFilling(gap_fill, gap_fill_min_clear)
    check_range(test_fraction, "test_fraction", 0, 1, low_open=True, high_open=True)
    check_range(scale, "scale", 0, 1e6, low_open=True)
    check_range(block_m, "block_m", 0, MAX_BLOCK_M, low_open=True)
    if isinstance(kfold, bool) or not isinstance(kfold, int) or kfold == 1 or kfold < 0 or kfold > 100:
        raise InputError(f"K-fold by block: {kfold} is not a number of folds; use 0 (none) or 2 and more (at most 100).")


def check_classification(
    rasters: list[str],
    samples_path: str,
    class_field: str,
    *,
    bands: list[int] | None = None,
    scale: float | None = None,
    samples_layer: str | None = None,
    group_field: str | None = None,
    kfold: int = 0,
    fields: str | None = None,
    field_id: str | None = None,
    out_map: PathLike | None = None,
    report_dir: PathLike | None = None,
    confidence_path: PathLike | None = None,
    fields_out: Sequence[PathLike] | None = None,
    test_fraction: float = 0.3,
    class_names: dict | None = None,
    class_names_file: str | None = None,
    season_field: str | None = None,
    season: str | None = None,
    gap_fill: GapFill | str = GapFill.LINEAR,
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR,
    accuracy: AccuracyNeed | str = AccuracyNeed.WHEN_POSSIBLE,
    dates: Sequence[str | dt.date | None] | None = None,
    **unused: object,
) -> None:
    """The checks :func:`classify_rasters` runs before any work (Processing's ``checkParameterValues``).

    With ``out_map`` (and ``report_dir``) the outputs too: none is an input, each can be written.

    Raises:
        TsstfnError: rasters that are not NDVI or not on one grid, unreadable samples or fields, a bad k, an
            output that would replace an input or cannot be written.
    """
    if out_map is not None:
        report = report_dir if report_dir is not None else Path(out_map).parent / "report"
        outputs = classify_outputs(out_map, report, confidence_path, fields, fields_out)
        check_classify_outputs(outputs, [*rasters, samples_path, fields, class_names_file])
    block_m = unused.get("block_m")
    check_classify_options(test_fraction, scale, block_m, kfold, gap_fill, gap_fill_min_clear)  # type: ignore[arg-type]
    typed = check_typed_dates(rasters, dates)
    labels = SampleLabels(class_names, class_names_file, season_field, season, accuracy)
    grid = _inputs(rasters, samples_path, class_field, bands, scale, samples_layer, group_field, kfold, labels)[1]
    if typed is not None and any(d is not None for d in typed):
        raster_dates(rasters, bands, typed)  # a date typed for an undated stack, or out of order with the others
    if fields:
        from .fields import read_fields

        read_fields(fields, grid, field_id)


def _check_each_date_once(rasters: Sequence[str], bands: Sequence[int] | None) -> None:
    """The series holds each raster (and each band of a stack) once: a date given twice is a wrong input.

    Raises:
        InputError: naming the raster (or band) and both positions.
    """
    from ..errors import InputError
    from ..files import file_key

    seen: dict[str, int] = {}
    for i, raster in enumerate(rasters):
        key = file_key(raster)
        if key in seen:
            raise InputError(
                f"'{Path(raster).name}' is given twice in the series (rasters {seen[key] + 1} and {i + 1}): the forest "
                "would read one date as two. Give each date's raster once."
            )
        seen[key] = i
    twice = sorted({b for b in bands or [] if list(bands or []).count(b) > 1})
    if twice:
        raise InputError(f"Band {twice[0]} is given twice in the band range {list(bands or [])}; give each band once.")


def _inputs(
    rasters: list[str],
    samples_path: str,
    class_field: str,
    bands: list[int] | None,
    scale: float | None,
    samples_layer: str | None,
    group_field: str | None,
    kfold: int,
    labels: SampleLabels | None = None,
) -> tuple[list[str], Grid, Samples]:
    from ..errors import InputError
    from ..inputs.grid import Grid
    from .classify import check_feature_rasters
    from .samples import read_samples

    check_classify_options(scale=scale, kfold=kfold)
    if not rasters:
        raise InputError("Give at least one NDVI raster to classify.")
    _check_each_date_once(rasters, bands)
    paths: list[str] = []
    for raster in rasters:
        paths += band_views(raster, bands, scale)
    grid = Grid.from_raster(paths[0], Path(rasters[0]).name, allow_no_crs=True)
    check_feature_rasters(paths, grid)
    samples = read_samples(
        samples_path, class_field, grid, layer=samples_layer, group_field=group_field, **(labels or SampleLabels()).kwargs()
    )
    return paths, grid, samples
