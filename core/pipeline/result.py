"""What a run produced: :class:`JobResult` (below :mod:`.run`, which fills it, and :mod:`.report`, which reads it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..mapping.area import AreaEstimate
from ..mapping.fields import FieldMap


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
