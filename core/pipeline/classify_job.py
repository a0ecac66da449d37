"""Classify only: an NDVI series the analyst already has, and samples, to a crop map in an output folder.

The dialog's classify-only mode builds a :class:`ClassifyJob`; :func:`check_classify_job` runs every
check that needs no pixel beyond a header or a sample (the same as ``classify``'s and Processing's,
through :func:`~..mapping.workflow.check_classification`), plus the output folder's: the outputs
may not be inputs and no live run may write there. :func:`run_classify_job` then calls
:func:`~..mapping.workflow.classify_rasters`, the one path the command line and Processing take too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, never_cancelled
from ..errors import InputError
from ..files import PathLike
from ..mapping.gapfill import DEFAULT_MIN_CLEAR, GapFill, gap_fill_choice
from ..mapping.samples import AccuracyNeed, Split
from ..options import choice, refuse_unknown_fields

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
        samples_layer: the layer of a multi-layer samples file (None: its first).
        class_names: ``{code: name}`` of integer class codes (the dialog passes the class field's value map).
        class_names_file: a lookup file of class names (CSV ``code,name``, ``.qml``, ``.clr``/``.txt``).
        season_field: the samples' season, year or date field to filter by (None: every sample).
        season: the season to keep (a value of ``season_field``, or a year of its dates).
        gap_fill: ``linear`` (default) or ``none`` (:mod:`~..mapping.gapfill`).
        gap_fill_min_clear: the share of dates a pixel needs clear to be gap-filled and mapped.
        accuracy: ``when_possible`` (default: too few samples of a class to hold any out still give a map and its
            pixel-count areas, the accuracy not measured and said so) or ``required`` (refused before the run).
        dates: the date of each raster row as the user typed it (``YYYY-MM-DD`` or empty; None: none typed). A
            single-band raster's typed date wins over its name's; a stack's own band dates win over a typed one
            (:func:`~..mapping.workflow.raster_dates`). Checked here: one per raster, each a date, increasing.
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
    samples_layer: str | None = None
    class_names: dict | None = field(default=None, hash=False)
    class_names_file: str | None = None
    season_field: str | None = None
    season: str | None = None
    gap_fill: GapFill = GapFill.LINEAR
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR
    accuracy: AccuracyNeed = AccuracyNeed.WHEN_POSSIBLE
    dates: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Coerce the split, the gap-filling, the accuracy rule and the typed dates; check the ranges."""
        from ..mapping.workflow import check_typed_dates

        object.__setattr__(self, "split", choice(Split, self.split, "split"))
        object.__setattr__(self, "accuracy", choice(AccuracyNeed, self.accuracy, "accuracy"))
        if self.dates is not None:
            typed = check_typed_dates(tuple(self.rasters), list(self.dates))
            if typed is not None and all(d is None for d in typed):
                object.__setattr__(self, "dates", None)
            else:
                object.__setattr__(self, "dates", tuple(d.isoformat() if d else "" for d in typed or ()))
        object.__setattr__(self, "gap_fill", gap_fill_choice(self.gap_fill))
        object.__setattr__(self, "rasters", tuple(self.rasters))
        from ..mapping.classes import coerce_names
        from ..mapping.workflow import check_classify_options

        object.__setattr__(self, "class_names", coerce_names(self.class_names))
        check_classify_options(
            scale=self.scale, block_m=self.block_m, kfold=self.kfold, gap_fill=self.gap_fill,
            gap_fill_min_clear=self.gap_fill_min_clear,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The job as plain data (a job file's mapping; enums as their names, tuples as lists, None left out)."""
        from dataclasses import fields

        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, (Split, GapFill, AccuracyNeed)):
                value = str(value)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: object) -> ClassifyJob:
        """A job from :meth:`to_dict`'s mapping, every field checked as in Python.

        Raises:
            InputError: not a mapping, an unknown or missing field, or a wrong value (naming the field).
        """
        from dataclasses import fields

        if not isinstance(data, dict):
            raise InputError("A classify job must be a mapping of fields (JSON object).")
        refuse_unknown_fields(data, {f.name for f in fields(cls)}, "classify job")
        missing = [k for k in ("rasters", "samples", "output_dir") if k not in data]
        if missing:
            raise InputError(f"Classify job field '{missing[0]}' is missing.")
        kw = dict(data)
        for key in ("rasters", "bands", "dates"):
            if kw.get(key) is not None:
                if not isinstance(kw[key], (list, tuple)):
                    raise InputError(f"Job field '{key}': {kw[key]!r:.80} is not a list.")
                kw[key] = tuple(kw[key])
        return cls(**kw)

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
            "rasters": list(self.rasters), "samples_path": self.samples, "samples_layer": self.samples_layer,
            "class_field": self.class_field,
            "out_map": paths["crop_map"], "report_dir": paths["report"],
            "bands": list(self.bands) if self.bands else None, "scale": self.scale, "group_field": self.group_field,
            "split": self.split, "block_m": self.block_m, "kfold": self.kfold,
            "confidence_path": paths.get("confidence"), "fields": self.fields, "field_id": self.field_id,
            "fields_out": [paths["fields"]] if "fields" in paths else None, "cog": self.cog,
            "class_names": self.class_names, "class_names_file": self.class_names_file,
            "season_field": self.season_field, "season": self.season, "gap_fill": self.gap_fill,
            "gap_fill_min_clear": self.gap_fill_min_clear, "accuracy": self.accuracy,
            "dates": list(self.dates) if self.dates is not None else None,
        }  # fmt: skip


def check_classify_outputs_free(arguments: dict[str, Any], folder: Path | None = None) -> None:
    """The one guard of every classify (command line, Processing, the dialog): what ``run`` checks of its outputs.

    No output replaces an input (a raster, the samples or their side files, the field polygons; with ``folder``,
    no input lies in it at all, as for a run); each output can be written (not a folder, not under a file, a
    writable folder); no link in the folder redirects the writes; no live run is writing into the folder.

    Args:
        arguments: :func:`~..mapping.workflow.classify_rasters`'s keyword arguments.
        folder: the output folder of the dialog's classify-only mode (None: the crop map's folder, which may hold
            the inputs: only the outputs themselves are compared with them).

    Raises:
        InputError: naming the output, the input or the folder and what to do.
    """
    from ..mapping.workflow import check_classify_outputs
    from .outputs import OutputFolder, check_no_links

    outputs = _outputs(arguments)
    inputs = [*arguments["rasters"], arguments["samples_path"], arguments.get("fields"), arguments.get("class_names_file")]
    check_classify_outputs(outputs, inputs, folder)
    where = folder if folder is not None else Path(arguments["out_map"]).parent
    check_no_links(where, [p for p in outputs.values() if os.path.lexists(p)])
    OutputFolder(where, {}, "classify", []).check_free()


def _outputs(arguments: dict[str, Any]) -> dict[str, Path]:
    from ..mapping.workflow import classify_outputs

    return classify_outputs(
        arguments["out_map"], arguments["report_dir"], arguments.get("confidence_path"), arguments.get("fields"),
        arguments.get("fields_out"),
    )  # fmt: skip


def classify_into_folder(
    arguments: dict[str, Any],
    record: dict[str, Any],
    folder: Path | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
):  # noqa: ANN201 (a ClassifyResult; the mapping stage loads lazily)
    """Claim the outputs' folder, move an earlier classify's outputs to ``previous_runs/``, classify, release.

    Args:
        arguments: :func:`~..mapping.workflow.classify_rasters`'s keyword arguments.
        record: the command as plain data, kept in ``run_manifest.json`` (the same command again moves nothing).
        folder: the output folder (None: the crop map's folder).
        progress: ``progress(fraction, message)``.
        is_cancelled: checked between strips.

    Returns:
        The :class:`~..mapping.workflow.ClassifyResult`.

    Raises:
        TsstfnError: any input problem, in one sentence.
    """
    from ..mapping.workflow import classify_rasters
    from .outputs import OutputFolder

    check_classify_outputs_free(arguments, folder)
    outputs = [p for key, p in _outputs(arguments).items() if key != "report"]
    inputs = [str(p) for p in [*arguments["rasters"], arguments["samples_path"], arguments.get("fields")] if p]
    where = folder if folder is not None else Path(arguments["out_map"]).parent
    record = json.loads(json.dumps(record, default=str))  # as the manifest keeps it
    claim = OutputFolder(where, record, "classify", inputs, outputs=outputs).claim()
    try:
        result = classify_rasters(**arguments, progress=progress, is_cancelled=is_cancelled)
    except BaseException:
        claim.release(complete=False)
        raise
    claim.release(complete=True, outputs=[p for p in outputs if p.is_file()])
    return result


def check_classify_job(job: ClassifyJob) -> None:
    """Every check before the work: inputs as ``classify`` checks them; outputs that are no input; the folder free.

    Raises:
        InputError: the first problem, naming the raster, samples, field or folder.
    """
    from ..mapping.workflow import check_classification

    out = Path(job.output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"Output folder '{out}' is a file; choose a folder.")
    check_classify_outputs_free(job.arguments(), out)
    check_classification(**job.arguments())


def run_classify_job(job: ClassifyJob, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled):
    """Check, then classify: :func:`~..mapping.workflow.classify_rasters` into the job's output folder.

    Returns:
        The :class:`~..mapping.workflow.ClassifyResult`.
    """
    check_classify_job(job)
    record = {k: str(v) if isinstance(v, Path) else v for k, v in job.arguments().items()}
    return classify_into_folder(job.arguments(), record, Path(job.output_dir), progress, is_cancelled)


#: a classify job file's fields that hold paths (relative ones are read from the file's folder)
PATH_FIELDS = ("samples", "output_dir", "fields", "class_names_file")


def is_classify_job(data: object) -> bool:
    """Whether a job file's mapping is a classify job (its NDVI series is ``rasters``) rather than a fusion job."""
    return isinstance(data, dict) and "rasters" in data


def load_classify_job(path: PathLike) -> ClassifyJob:
    """A classify job from a ``.json`` or ``.yaml`` file (relative paths from the file's folder).

    Raises:
        InputError: the file is missing, not valid JSON/YAML, or a field is wrong (naming it).
    """
    from .job import read_mapping

    path = Path(path)
    return classify_job_from_mapping(read_mapping(path, "Classify job"), path.parent)


def classify_job_from_mapping(data: object, base_dir: PathLike) -> ClassifyJob:
    """A classify job from a job file's parsed mapping, its relative paths read from ``base_dir``.

    Raises:
        InputError: not a mapping, or a field is wrong (naming it).
    """
    from .pairs import resolve_path

    if not isinstance(data, dict):
        raise InputError("A classify job file must hold a mapping of fields (JSON object).")
    data = dict(data)
    for key in PATH_FIELDS:
        if key in data and data[key] is not None:
            data[key] = resolve_path(data[key], Path(base_dir))
    if isinstance(data.get("rasters"), list):
        data["rasters"] = [resolve_path(r, Path(base_dir)) for r in data["rasters"]]
    return ClassifyJob.from_dict(data)


def save_classify_job(job: ClassifyJob, path: PathLike) -> Path:
    """Write ``job`` as a JSON classify job file (``run`` takes it, as the dialog's *Load job* does), atomically."""
    from ..files import write_text

    return write_text(path, json.dumps(job.to_dict(), indent=2))
