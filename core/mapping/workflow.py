"""Crop mapping from NDVI rasters the user already has, for Processing's *Classify crops* and ``classify``.

The rasters are a series of dates on one grid (single-band files, or multi-band stacks whose bands
are dates, e.g. a MOD13Q1 cube); the samples are points, polygons or a label raster. The function
trains and assesses the forest (the chosen split, plus spatial blocks and an optional k-fold by
block), writes the crop map (a COG by default), its pixel-count areas, the error-adjusted area
estimate, optional confidence and per-field maps, and the reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..callbacks import CancelFn, ProgressFn, never_cancelled, scaled
from ..files import PathLike, band_views, make_cog
from .area import AreaEstimate, class_pixel_counts, estimate_from_samples, write_area_reports, write_pixel_areas
from .classify import Assessment, ForestParams, assess_forest, classify_to_file
from .fields import FieldMap, FieldRule
from .samples import Samples, Split

if TYPE_CHECKING:
    from ..inputs.grid import Grid


@dataclass
class ClassifyResult:
    """What :func:`classify_rasters` wrote and measured.

    Attributes:
        crop_map: the class raster.
        assessment: the forest and its accuracy (chosen split, spatial blocks, folds).
        area: the error-adjusted area of each class.
        pixel_areas: the pixel-count area CSV beside the crop map.
        reports: the report files (accuracy and areas, Markdown and CSV).
        confidence: the confidence raster (None unless asked for).
        field_map: the per-field map (None without fields).
        samples: the samples as read.
    """

    crop_map: Path
    assessment: Assessment
    area: AreaEstimate
    pixel_areas: Path
    reports: dict[str, Path] = field(default_factory=dict)
    confidence: Path | None = None
    field_map: FieldMap | None = None
    samples: Samples | None = None


def default_block_m(pixel_side_m: float) -> float:
    """The block side when none is given: 1000 m, or four pixels where they are larger than 250 m."""
    return max(1000.0, round(4.0 * pixel_side_m, -1))


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
) -> ClassifyResult:
    """Classify ``rasters`` (dates in order) with a forest trained on ``samples_path``; write maps and reports.

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
        block_m: the spatial blocks' side (None: :func:`default_block_m` of the pixel size).
        kfold: k-fold cross-validation by block (0: none).
        confidence_path: write the forest's confidence here (None: not).
        fields: field polygons for a per-field map (None: none).
        field_id: their id attribute.
        fields_out: the per-field polygons' files (vector formats by suffix).
        cog: write the rasters as Cloud-Optimized GeoTIFFs.
        progress: ``progress(fraction, message)``.
        is_cancelled: checked between strips.

    Raises:
        TsstfnError: any input problem, in one sentence naming the file or parameter.
    """
    from .accuracy import write_reports
    from .fields import field_map as make_field_map

    paths, grid, samples = _inputs(rasters, samples_path, class_field, bands, scale, samples_layer, group_field, kfold)
    if fields:
        from .fields import read_fields

        read_fields(fields, grid, field_id)
    side = math.sqrt(grid.pixel_area_ha * 10000.0)
    block = block_m or default_block_m(side)
    how = Split(split) if isinstance(split, str) else split
    text = {
        Split.RANDOM: "random split by pixel (the paper's)",
        Split.FIELD: "split by field",
        Split.BLOCK: f"split by spatial blocks of {block:g} m",
    }[how] + f", test fraction {test_fraction}"
    assessment = assess_forest(paths, grid, samples, how, test_fraction, forest, block, kfold, text)
    out_map = Path(out_map)
    crop_map = classify_to_file(
        assessment.classifier, paths, grid, out_map, None, scaled(progress, 0.0, 0.9), is_cancelled,
        confidence_path=confidence_path,
    )  # fmt: skip
    report_dir = Path(report_dir)
    reports = {
        f"accuracy_{k}": v for k, v in write_reports(assessment.accuracy, report_dir, "accuracy", "Crop map accuracy").items()
    }
    counts = class_pixel_counts(crop_map)
    pixel_areas = write_pixel_areas(counts, samples.names, grid.pixel_area_ha, out_map.with_name(out_map.stem + "_areas.csv"))
    area = estimate_from_samples(
        samples.codes[assessment.test_index], assessment.predicted, counts, samples.names, grid.pixel_area_ha, text
    )
    reports.update({f"areas_{k}": v for k, v in write_area_reports(area, report_dir, "areas").items()})
    result = ClassifyResult(crop_map, assessment, area, pixel_areas, reports, Path(confidence_path) if confidence_path else None)
    result.samples = samples
    if fields:
        result.field_map = make_field_map(
            crop_map, fields, grid, samples.names, out_map.with_name(out_map.stem + "_fields.tif"), fields_out or [],
            field_id, FieldRule.MAJORITY, None, samples, assessment.test_index, report_dir,
        )  # fmt: skip
    if cog:
        for path in (crop_map, result.confidence, result.field_map.raster if result.field_map else None):
            if path is not None:
                make_cog(path)
    if progress:
        progress(1.0, "done")
    return result


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
    **unused: object,
) -> None:
    """The checks :func:`classify_rasters` runs before any work (Processing's ``checkParameterValues``).

    Raises:
        TsstfnError: rasters that are not NDVI or not on one grid, unreadable samples or fields, a bad k.
    """
    grid = _inputs(rasters, samples_path, class_field, bands, scale, samples_layer, group_field, kfold)[1]
    if fields:
        from .fields import read_fields

        read_fields(fields, grid, field_id)


def _inputs(
    rasters: list[str],
    samples_path: str,
    class_field: str,
    bands: list[int] | None,
    scale: float | None,
    samples_layer: str | None,
    group_field: str | None,
    kfold: int,
) -> tuple[list[str], Grid, Samples]:
    from ..errors import InputError
    from ..inputs.grid import Grid
    from .classify import check_feature_rasters
    from .samples import read_samples

    if kfold == 1 or kfold < 0:
        raise InputError(f"K-fold by block: {kfold} is not a number of folds; use 0 (none) or 2 and more.")
    if not rasters:
        raise InputError("Give at least one NDVI raster to classify.")
    paths: list[str] = []
    for raster in rasters:
        paths += band_views(raster, bands, scale)
    grid = Grid.from_raster(paths[0], Path(rasters[0]).name, allow_no_crs=True)
    check_feature_rasters(paths, grid)
    samples = read_samples(samples_path, class_field, grid, layer=samples_layer, group_field=group_field)
    return paths, grid, samples
