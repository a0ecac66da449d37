"""Classify only: an NDVI series the analyst already has, and samples, to a crop map in an output folder.

The dialog's classify-only mode builds a :class:`ClassifyJob`; :func:`check_classify_job` runs every
check that needs no pixel beyond a header or a sample (the same as ``classify``'s and Processing's,
through :func:`~..mapping.workflow.check_classification`), plus the output folder's: the outputs
may not be inputs and no live run may write there. :func:`run_classify_job` then calls
:func:`~..mapping.workflow.classify_rasters`, the one path the command line and Processing take too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, never_cancelled
from ..errors import InputError
from ..mapping.samples import Split
from ..options import check_range, choice

#: the files a classify-only run writes in its output folder
CROP_MAP, CONFIDENCE, FIELDS, REPORT = "crop_map.tif", "crop_map_confidence.tif", "crop_map_fields.gpkg", "report"


@dataclass(frozen=True)
class ClassifyJob:
    """A classify-only run.

    Attributes:
        rasters: NDVI rasters on one grid in date order; a multi-band raster is a series of dates.
        samples: points, polygons or a label raster with the classes.
        output_dir: the folder the crop map, its report and the optional outputs go to.
        class_field: the samples' class attribute (ignored for a label raster).
        bands: the bands of multi-band rasters to use (None: all).
        scale: multiply the rasters' values by this (0.0001 for NDVI x 10000; None: as they are).
        group_field: the samples' field id for the split by field.
        split: :class:`~..mapping.samples.Split`.
        block_m: side of the spatial blocks (None: the default for the pixel size).
        kfold: k-fold cross-validation by block (0: none).
        confidence: also write the forest's confidence.
        fields: field polygons for a per-field map.
        field_id: their id attribute.
        cog: write Cloud-Optimized GeoTIFFs.
        name: the run's name (the layer group).
    """

    rasters: tuple[str, ...]
    samples: str
    output_dir: str
    class_field: str = "crop"
    bands: tuple[int, ...] | None = None
    scale: float | None = None
    group_field: str | None = None
    split: Split = Split.RANDOM
    block_m: float | None = None
    kfold: int = 0
    confidence: bool = False
    fields: str | None = None
    field_id: str | None = None
    cog: bool = True
    name: str = "crop_map"

    def __post_init__(self) -> None:
        """Coerce the split; check the ranges."""
        object.__setattr__(self, "split", choice(Split, self.split, "split"))
        object.__setattr__(self, "rasters", tuple(self.rasters))
        check_range(self.scale, "scale", 0, low_open=True)
        check_range(self.block_m, "block_m", 0, low_open=True)
        if self.kfold == 1 or self.kfold < 0:
            raise InputError(f"K-fold by block: {self.kfold} is not a number of folds; use 0 (none) or 2 and more.")

    def outputs(self) -> dict[str, Path]:
        """The files it writes: ``crop_map``, ``report``, and ``confidence`` / ``fields`` when asked for."""
        out = Path(self.output_dir)
        paths = {"crop_map": out / CROP_MAP, "report": out / REPORT}
        if self.confidence:
            paths["confidence"] = out / CONFIDENCE
        if self.fields:
            paths["fields"] = out / FIELDS
        return paths

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~..mapping.workflow.classify_rasters` (and its check)."""
        paths = self.outputs()
        return {
            "rasters": list(self.rasters), "samples_path": self.samples, "class_field": self.class_field,
            "out_map": paths["crop_map"], "report_dir": paths["report"],
            "bands": list(self.bands) if self.bands else None, "scale": self.scale, "group_field": self.group_field,
            "split": self.split, "block_m": self.block_m, "kfold": self.kfold,
            "confidence_path": paths.get("confidence"), "fields": self.fields, "field_id": self.field_id,
            "fields_out": [paths["fields"]] if "fields" in paths else None, "cog": self.cog,
        }  # fmt: skip


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def check_classify_job(job: ClassifyJob) -> None:
    """Every check before the work: inputs as ``classify`` checks them; outputs that are no input; the folder free.

    Raises:
        InputError: the first problem, naming the raster, samples, field or folder.
    """
    from ..mapping.workflow import check_classification
    from .outputs import OutputFolder

    out = Path(job.output_dir)
    inputs = [*job.rasters, job.samples, *([job.fields] if job.fields else [])]
    for key, path in job.outputs().items():
        for given in inputs:
            if _same(path, given) or (key == "report" and _same(Path(given).parent, path)):
                raise InputError(
                    f"The output {path.name} in '{out}' is the input '{given}'; choose another output folder "
                    "(inputs are never overwritten)."
                )
    if out.exists() and not out.is_dir():
        raise InputError(f"Output folder '{out}' is a file; choose a folder.")
    OutputFolder(out, {}, job.name, []).check_free()
    check_classification(**job.arguments())


def run_classify_job(job: ClassifyJob, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled):
    """Check, then classify: :func:`~..mapping.workflow.classify_rasters` into the job's output folder.

    Returns:
        The :class:`~..mapping.workflow.ClassifyResult`.
    """
    from ..mapping.workflow import classify_rasters

    check_classify_job(job)
    Path(job.output_dir).mkdir(parents=True, exist_ok=True)
    return classify_rasters(**job.arguments(), progress=progress, is_cancelled=is_cancelled)
