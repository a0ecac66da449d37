"""The job: one description of a run (a JSON or YAML file, the dialog, or Python), validated in one place.

A pair is a :class:`~.pairs.PairSpec` from parsing to alignment (each side an
:class:`~..inputs.ndvi.NdviSource`); once its date is known it is a :class:`~.pairs.DatedPair`.
Choices are enums coerced in ``__post_init__`` (:mod:`..options`), so a job built in Python gets
the same checks and messages as a job file. Unknown keys are errors, at the top level, inside pair
entries and inside raster mappings.

In job files the coarse sensor may be written ``modis`` or ``coarse`` and the fine sensor
``sentinel2`` or ``fine`` (``modis_product``/``coarse_product``, ``sentinel2_product``/
``fine_product``); files written by the plugin use the sensor-neutral names.

An empty ``reference`` list means *single-season training*: TSSTFN learns from the prediction
season's own pairs, each label date from the pairs before it (``docs/model.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import PathLike, write_text
from ..formats import get_format
from ..fusion.base import FusionMethod
from ..fusion.config import TrainConfig
from ..fusion.methods import METHODS, get_method
from ..fusion.strategies import MonthDay, Strategy
from ..fusion.tsstfn import Forecast, TsstfnParams, Uncertainty
from ..inputs.dates import parse_date
from ..inputs.products import get_product
from ..mapping.classify import ForestParams
from ..mapping.fields import FieldRule
from ..mapping.gapfill import DEFAULT_MIN_CLEAR, GapFill, gap_fill_choice
from ..mapping.samples import AccuracyNeed, Split
from ..options import (
    MAX_BLOCK_M,
    MAX_COORDINATE,
    MAX_MC_PASSES,
    MAX_MMU_HA,
    MAX_N_BASE,
    check_range,
    check_types,
    choice,
    options_from_mapping,
    refuse_unknown_fields,
)
from .pairs import PairSpec, canonical, dated, pair_to_plain, parse_pairs, resolve_path, source_files
from .presets import PRESETS, apply_preset

log = logging.getLogger("tsstfn")

#: the fusion methods written and scored beside TSSTFN unless the job says otherwise
DEFAULT_COMPARE = ("starfm", "coarse_cubic", "latest_fine")


def learning_method() -> FusionMethod:
    """The learning method a job trains (or loads) and maps with: the registry's first entry that ``learns`` (TSSTFN).

    Its parameters come from the job's top-level fields (:meth:`Job.tsstfn_params`); every other
    method runs with its ``method_params``.
    """
    return next(m for m in METHODS.values() if m.learns)


@dataclass(frozen=True)
class Job:
    """Everything a run needs; see ``docs/data-model.md`` for each field.

    Attributes:
        reference: the reference (training) year's pairs.
        prediction: the prediction year's early-season base pairs.
        targets: the cloudy dates to predict (coarse, and optionally the real fine for scoring).
        output_dir: where every output goes.
        samples: points, polygons or a label raster with the crop classes (None: no crop map).
        samples_layer: the layer of a multi-layer samples file (a GeoPackage's layer name; None: its first).
        class_field: the samples' class field.
        group_field: the samples' field id (for the split by field).
        split: :class:`~..mapping.samples.Split`.
        test_fraction: share of the samples held out for the accuracy.
        coarse_product: a product key for every coarse raster.
        fine_product: a product key for every fine raster.
        strategy: TSSTFN's time alignment.
        n_base: base pairs TSSTFN reads.
        forecast: individual or sequential.
        reference_target: the training label's day in the reference year: a date or a
            :class:`~..fusion.strategies.MonthDay` (``--08-31``; None: each target's day).
        model: a saved TSSTFN model to use instead of training.
        save_model: save the trained model as ``<output_dir>/<name>.tsstfn``.
        train: TSSTFN's training options.
        forest: the random forest's options.
        compare: fusion methods written and scored beside TSSTFN (keys of the registry).
        method_params: parameters of those methods, by method name.
        aoi: ``(xmin, ymin, xmax, ymax)`` in the fine grid's CRS, or None for the whole grid.
        formats: output formats of the crop map (keys of :data:`~..formats.OUTPUT_FORMATS`).
        mmu_ha: minimum mapping unit of the polygons, in hectares.
        probabilities: also write the class probabilities.
        name: the run's name: the model file's stem and the QGIS layer group.
        preset: the preset the job's defaults came from (:mod:`.presets`), recorded in the model file.
        assume_aligned: accept rasters without a CRS, all on one pixel grid (the classic fusion
            benchmark sets); outputs carry the same pixel grid.
        pixel_size_m: the fine pixel's side in metres where the rasters carry none (assume_aligned).
        uncertainty: an MC-dropout standard deviation raster beside each fused NDVI
            (:class:`~..fusion.tsstfn.Uncertainty`; true/false mean on/off).
        mc_passes: the stochastic passes behind it.
        confidence: also write the forest's confidence (probability of the mapped class, margin to the second).
        block_m: side of the spatial blocks for the block split and the block kappa, in metres
            (None: four coarse pixels, or 1000 m where the coarse pixel size is unknown).
        kfold: k-fold cross-validation by spatial block (0: none; else at least 2).
        fields: field polygons for a per-field map (None: none).
        field_id: the fields' id attribute (None: the feature id).
        field_rule: how a field takes its class (:class:`~..mapping.fields.FieldRule`).
        cog: write the output GeoTIFFs as Cloud-Optimized GeoTIFFs (overviews, palette kept).
        resume: reuse the outputs a stopped run of this same job left complete and verified
            (aligned rasters, model, fused dates, crop maps); False recomputes every stage.
        keep_intermediates: keep the aligned rasters after a successful run (they are removed
            to free the disk; after a failed or cancelled run they are always kept, for a resume).
        class_names: ``{code: name}`` of the samples' integer class codes (a QGIS value map; None: the
            lookup file's, a label raster's category names, else the codes as text).
        class_names_file: a lookup file of class names: CSV ``code,name``, a QGIS ``.qml`` or a ``.clr``/``.txt``
            colour map (:mod:`~..mapping.classes`).
        season_field: the samples' season, year or date field to filter by (None: every sample).
        season: the season to keep: a value of ``season_field``, or a year of its dates.
        gap_fill: how missing NDVI of the forest's features is filled (:class:`~..mapping.gapfill.GapFill`):
            ``linear`` (default: between the pixel's clear dates, weighted by their days) or ``none``.
        gap_fill_min_clear: the share of dates a pixel needs clear to be gap-filled and mapped.
        accuracy: what a class with fewer than 10 samples does (:class:`~..mapping.samples.AccuracyNeed`):
            ``when_possible`` (default: the forest trains on every sample, the maps and their pixel-count areas
            are written, no kappa or error-adjusted areas, and the report says why) or ``required`` (refused).
    """

    reference: tuple[PairSpec, ...]
    prediction: tuple[PairSpec, ...]
    targets: tuple[PairSpec, ...]
    output_dir: str
    samples: str | None = None
    samples_layer: str | None = None
    class_field: str = "crop"
    group_field: str | None = None
    split: Split = Split.RANDOM
    test_fraction: float = 0.3
    coarse_product: str = "mod09gq"
    fine_product: str = "s2_l2a"
    strategy: Strategy = Strategy.STR_B
    n_base: int = 7
    forecast: Forecast = Forecast.INDIVIDUAL
    reference_target: dt.date | MonthDay | None = None
    model: str | None = None
    save_model: bool = True
    train: TrainConfig = TrainConfig()
    forest: ForestParams = ForestParams()
    compare: tuple[str, ...] = DEFAULT_COMPARE
    method_params: dict[str, Any] = field(default_factory=dict, hash=False)
    aoi: tuple[float, float, float, float] | None = None
    formats: tuple[str, ...] = ("gtiff", "shp", "gpkg")
    mmu_ha: float = 0.0
    probabilities: bool = False
    name: str = "tsstfn_run"
    preset: str | None = None
    assume_aligned: bool = False
    pixel_size_m: float | None = None
    uncertainty: Uncertainty | bool = Uncertainty.AUTO
    mc_passes: int = 8
    confidence: bool = False
    block_m: float | None = None
    kfold: int = 0
    fields: str | None = None
    field_id: str | None = None
    field_rule: FieldRule = FieldRule.MAJORITY
    cog: bool = True
    resume: bool = True
    keep_intermediates: bool = False
    class_names: dict | None = field(default=None, hash=False)
    class_names_file: str | None = None
    season_field: str | None = None
    season: str | None = None
    gap_fill: GapFill = GapFill.LINEAR
    gap_fill_min_clear: float = DEFAULT_MIN_CLEAR
    accuracy: AccuracyNeed = AccuracyNeed.WHEN_POSSIBLE

    def __post_init__(self) -> None:
        """Check types and ranges; coerce and check the choices: split, strategy, forecast, products, methods, formats."""
        check_types(self)
        check_range(self.n_base, "n_base", 1, MAX_N_BASE)
        check_range(self.test_fraction, "test_fraction", 0, 1, low_open=True, high_open=True)
        check_range(self.mmu_ha, "mmu_ha", 0, MAX_MMU_HA)
        check_range(self.pixel_size_m, "pixel_size_m", 0, 1e6, low_open=True)
        check_name(self.name)
        if self.aoi is not None and len(self.aoi) == 4:
            for i, corner in enumerate(self.aoi):
                check_range(corner, f"aoi[{i}]", -MAX_COORDINATE, MAX_COORDINATE)
        if self.aoi is not None and (len(self.aoi) != 4 or self.aoi[0] >= self.aoi[2] or self.aoi[1] >= self.aoi[3]):
            raise InputError(
                f"Job field 'aoi': {list(self.aoi)} is not [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax."
            )
        check_range(self.mc_passes, "mc_passes", 2, MAX_MC_PASSES)
        check_range(self.block_m, "block_m", 0, MAX_BLOCK_M, low_open=True)
        if self.kfold == 1 or self.kfold < 0 or self.kfold > 100:
            raise InputError(
                f"Job field 'kfold': {self.kfold} is not a number of folds; use 0 (none) or 2 and more (at most 100)."
            )
        set_ = object.__setattr__
        if isinstance(self.uncertainty, bool):
            set_(self, "uncertainty", Uncertainty.ON if self.uncertainty else Uncertainty.OFF)
        set_(self, "uncertainty", choice(Uncertainty, self.uncertainty, "uncertainty"))
        set_(self, "field_rule", choice(FieldRule, self.field_rule, "field_rule"))
        if self.field_rule is FieldRule.PROBABILITY and not self.probabilities:
            raise InputError("Job field 'field_rule': 'probability' needs the class probabilities; set 'probabilities': true.")
        set_(self, "split", choice(Split, self.split, "split"))
        set_(self, "gap_fill", gap_fill_choice(self.gap_fill))
        set_(self, "accuracy", choice(AccuracyNeed, self.accuracy, "accuracy"))
        check_range(self.gap_fill_min_clear, "gap_fill_min_clear", 0, 1, low_open=True)
        from ..mapping.classes import coerce_names

        set_(self, "class_names", coerce_names(self.class_names))
        if self.season_field and not self.season:
            raise InputError(f"Job field 'season': give the season to keep (a value of '{self.season_field}', e.g. a year).")
        set_(self, "strategy", choice(Strategy, self.strategy, "strategy"))
        set_(self, "forecast", choice(Forecast, self.forecast, "forecast"))
        if self.preset is not None and self.preset not in PRESETS:
            raise InputError(f"Job field 'preset': '{self.preset}' is not one of {', '.join(PRESETS)}.")
        for key in ("coarse_product", "fine_product"):
            get_product(getattr(self, key), f"job field {key}")
        set_(self, "compare", tuple(self.compare))
        for name in self.compare:
            if get_method(name).learns:
                raise InputError(f"Job field 'compare': '{name}' is the learning method the job runs anyway.")
            if get_method(name).needs_later_pair:
                raise InputError(
                    f"Job field 'compare': '{name}' needs a base pair after each target, which a crop-mapping job's "
                    "targets never have; use it in a benchmark (python -m tsstfn_crop_mapper benchmark)."
                )
        set_(self, "formats", tuple(get_format(f).key for f in self.formats))
        params = {}
        for name, values in self.method_params.items():
            method = get_method(name, "method_params")
            params[name] = values if isinstance(values, method.params) else method.parse_params(values)
        set_(self, "method_params", params)

    @property
    def single_season(self) -> bool:
        """True when TSSTFN learns from the prediction season itself (no reference pairs)."""
        return not self.reference

    def tsstfn_params(self) -> TsstfnParams:
        """TSSTFN's options from this job's top-level fields."""
        save_to = str(Path(self.output_dir) / f"{self.name}.tsstfn") if self.save_model and not self.model else None
        return TsstfnParams(
            self.strategy, self.n_base, self.forecast, self.reference_target, self.train, self.model, save_to, self.preset,
            starfm=self.method_params.get("starfm"),
        )  # fmt: skip

    def params_of(self, method: str) -> Any:
        """The parameters of fusion method ``method``: the job's ``method_params``, else the defaults.

        The learning method's come from the job's top-level fields (:meth:`tsstfn_params`).
        """
        entry = get_method(method)
        if entry.learns:
            return self.tsstfn_params()
        return self.method_params.get(method) or entry.params()


# Parsing -----------------------------------------------------------------------------------


def check_name(name: object) -> str:
    """A run's name: a file-name stem (the model file and the layer group are named after it).

    Raises:
        InputError: a path, a separator, ``..`` or an empty name.
    """
    bad = '/\\:*?"<>|\x00'
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(c in name for c in bad) or len(name) > 100:
        raise InputError(
            f"Job field 'name': {name!r:.120} is not a plain name; use letters, digits, '-' or '_' "
            "(at most 100 characters, no folder separators or '..': the model file is named after it, inside the "
            "output folder)."
        )
    return name


def _reference_target(value: object) -> dt.date | MonthDay:
    """A date (``2020-08-31``) or a day without the year (``--08-31`` or ``08-31``)."""
    text = str(value).strip()
    if len(text) in (5, 7) and text.lstrip("-")[2:3] == "-":
        try:
            month, day = (int(v) for v in text.lstrip("-").split("-"))
            dt.date(2020, month, day)  # a leap year: 29 February is a valid day
            return MonthDay(month, day)
        except ValueError:
            pass
    if isinstance(value, dt.date):
        return value
    try:
        return parse_date(text, "reference_target")
    except InputError:
        raise InputError(f"Job field 'reference_target': '{value}' is not a date (YYYY-MM-DD) or a day (--MM-DD).") from None


def job_from_dict(data: object, base_dir: PathLike = ".") -> Job:
    """A validated :class:`Job` from a job file's mapping; every error names the field.

    Args:
        data: the parsed JSON/YAML.
        base_dir: relative paths are resolved against it (the job file's folder).

    Raises:
        InputError: an unknown, missing or malformed field.
    """
    base = Path(base_dir)
    if not isinstance(data, dict):
        raise InputError("A job file must hold a mapping of fields (JSON object).")
    data = apply_preset(canonical(data, "job"))
    if "starfm" in data:  # the 0.1 spelling of compare: {"starfm": false}
        if not isinstance(data["starfm"], bool):
            raise InputError(f"Job field 'starfm': {data['starfm']!r} is not true or false.")
        if not data.pop("starfm"):
            data.setdefault("compare", [m for m in DEFAULT_COMPARE if m != "starfm"])
    if "rasters" in data:  # the classify job's series (classify_job.is_classify_job)
        raise InputError(
            "This is a classify job (it lists 'rasters', an NDVI series), not a fusion job: run it with "
            "'python -m tsstfn_crop_mapper run <file>', or load it in the dialog, which shows it in the classify-only mode."
        )
    refuse_unknown_fields(data, {f.name for f in fields(Job)}, "job")
    for required in ("reference", "prediction", "targets", "output_dir"):
        if required not in data:
            raise InputError(f"Job field '{required}' is missing.")
    kw = dict(data)
    if isinstance(data.get("season"), int) and not isinstance(data["season"], bool):
        kw["season"] = str(data["season"])  # a year
    for key in ("output_dir", "samples", "model", "fields", "class_names_file"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InputError(f"Job field '{key}': {data[key]!r} is not text (a file or folder path).")
    products = (data.get("coarse_product", "mod09gq"), data.get("fine_product", "s2_l2a"))
    for key, need_fine in (("reference", True), ("prediction", True), ("targets", False)):
        kw[key] = parse_pairs(data[key], base, key, need_fine, *products)
    kw["output_dir"] = resolve_path(data["output_dir"], base)
    for key in ("samples", "model", "fields", "class_names_file"):
        if data.get(key):
            kw[key] = resolve_path(data[key], base)
    if data.get("reference_target"):
        kw["reference_target"] = _reference_target(data["reference_target"])
    if "train" in data:
        kw["train"] = options_from_mapping(TrainConfig, data["train"], "train")
    if "forest" in data:
        kw["forest"] = options_from_mapping(ForestParams, data["forest"], "forest")
    if data.get("aoi") is not None:
        aoi = data["aoi"]
        if (
            not isinstance(aoi, list)
            or len(aoi) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in aoi)
        ):
            raise InputError("Job field 'aoi' must be [xmin, ymin, xmax, ymax] (four numbers) in the fine grid's CRS.")
        kw["aoi"] = tuple(float(v) for v in aoi)
    for key in ("formats", "compare"):
        if key in data:
            if not isinstance(data[key], list):
                raise InputError(f"Job field '{key}' must be a list of names.")
            kw[key] = tuple(data[key])
    if "method_params" in data and not isinstance(data["method_params"], dict):
        raise InputError("Job field 'method_params' must map method names to their parameters.")
    return Job(**kw)


def load_job(path: PathLike, overrides: dict | None = None) -> Job:
    """A job from a ``.json`` or ``.yaml`` file (relative paths from the file's folder).

    ``overrides`` replace top-level fields before parsing (e.g. ``{"preset": "paper"}``).

    Raises:
        InputError: the file is missing, not valid JSON/YAML, or a field is wrong.
    """
    path = Path(path)
    data = read_mapping(path, "Job")
    if overrides and isinstance(data, dict):
        data = {**data, **overrides}
    return job_from_dict(data, path.parent)


MAX_JOB_BYTES = 16 << 20  # a job or dataset file lists paths and options: megabytes at most


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of a job (or dataset, region) file, checked before it is parsed.

    Raises:
        InputError: the file is missing, not a file, unreadable, larger than :data:`MAX_JOB_BYTES`, or not UTF-8
            text (UTF-16, a binary file); the message names it and says what to do.
    """
    try:
        if not path.is_file():
            raise InputError(f"{what} file '{path}' not found (or not a file).")
        if path.stat().st_size > MAX_JOB_BYTES:
            raise InputError(f"{what} file '{path.name}' is larger than {MAX_JOB_BYTES >> 20} MB; is it the job file?")
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read the {what.lower()} file '{path}': {getattr(exc, 'strerror', None) or exc}.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise InputError(
            f"{what} file '{path.name}' is not UTF-8 text (it holds NUL bytes: UTF-16 or a binary file); save it as UTF-8."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} file '{path.name}' is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8."
        ) from None


def read_mapping(path: Path, what: str) -> object:
    """The parsed content of a ``.json`` or ``.yaml`` file (``what`` names it in messages: ``Job``, ``Dataset``).

    Raises:
        InputError: the file is missing or not valid JSON/YAML.
    """
    text = read_text_file(path, what)
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            class Loader(yaml.SafeLoader):
                def compose_node(self, parent: Any, index: Any) -> Any:
                    if self.check_event(yaml.AliasEvent):
                        raise InputError(f"{what} file '{path.name}' uses a YAML alias (*name); write each value out in full.")
                    return super().compose_node(parent, index)

            return yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader without aliases)
        return json.loads(text)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{what} file '{path.name}' is not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, MonthDay):
        return str(value)
    if isinstance(value, PairSpec):
        raise TypeError("pairs are written by pair_to_plain")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, TrainConfig):
        return value.as_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def job_to_dict(job: Job) -> dict:
    """The job as a job file's mapping (sensor-neutral names, dates as ``YYYY-MM-DD``)."""
    pairs = ("reference", "prediction", "targets")
    out = {f.name: _plain(getattr(job, f.name)) for f in fields(job) if f.name not in pairs}
    for key in pairs:
        out[key] = [pair_to_plain(p, job.coarse_product, job.fine_product) for p in getattr(job, key)]
    return {k: v for k, v in out.items() if v is not None}


def save_job(job: Job, path: PathLike) -> Path:
    """Write ``job`` as a JSON job file, atomically."""
    return write_text(path, json.dumps(job_to_dict(job), indent=2))


def validate_job(job: Job) -> Job:
    """Checks that need no pixel read: dates known and distinct, targets given, enough base pairs.

    Returns:
        The job with every pair a :class:`DatedPair`.

    Raises:
        InputError: a duplicate date, no target or too few base pairs; DateError: a date that
            cannot be found.
    """
    job = replace(job, reference=dated(job.reference), prediction=dated(job.prediction), targets=dated(job.targets))
    for name, pairs in (("reference", job.reference), ("prediction", job.prediction), ("targets", job.targets)):
        dates = [p.date for p in pairs]
        dup = sorted({d for d in dates if d is not None and dates.count(d) > 1})
        if dup:
            raise InputError(f"Job field '{name}': date {dup[0].isoformat()} appears twice; keep one pair per date.")
    if not job.targets:
        raise InputError("Job field 'targets': give at least one target date with its coarse (MODIS) raster.")
    years = {p.date.year for p in (*job.prediction, *job.targets) if p.date}
    if len(years) > 1:
        log.warning("prediction-year pairs and targets span several years: %s", sorted(years))
    if len(job.prediction) < job.n_base:
        raise InputError(
            f"Job field 'prediction': {len(job.prediction)} pairs for n_base = {job.n_base}; add pairs or lower n_base."
        )
    if job.single_season:
        if job.strategy is not Strategy.STR_A:
            raise InputError(
                "Job field 'strategy': single-season training (no reference pairs) aligns every date with its own "
                f"latest pairs, which is STR_A; set strategy STR_A (or add last year's pairs for {job.strategy})."
            )
        if len(job.prediction) < job.n_base + 1:
            raise InputError(
                f"Job field 'prediction': single-season training needs at least n_base + 1 = {job.n_base + 1} pairs "
                f"(a label date after {job.n_base} base pairs); there are {len(job.prediction)}."
            )
        log.warning("single-season training: TSSTFN learns from the prediction season's own pairs (no reference year)")
    first = next((p.fine for p in job.prediction if p.fine), None)
    from ..fusion.blend import blend_methods

    methods = [*job.compare, *blend_methods(job.train.as_dict())]  # the blend's STARFM measures in metres too
    check_pixel_size(methods, job.assume_aligned, job.pixel_size_m, "Job", first.path if first else None)
    from .consistency import check_consistent, check_target_seasons, fine_pixel_m

    check_target_seasons([p.date for p in job.prediction], [p.date for p in job.targets], job.n_base)
    lists = {"reference": job.reference, "prediction": job.prediction, "targets": job.targets}
    check_consistent(lists, fine_pixel_m(first) if first else None)  # one raster twice, dates, sensors, bands
    return job


def check_pixel_size(
    methods: Sequence[str], assume_aligned: bool, pixel_size_m: float | None, what: str, raster: str | None = None
) -> None:
    """Rasters without a CRS carry no pixel size: refuse them without ``pixel_size_m`` for a method that needs one.

    A raster without a CRS or with a local one (ENVI ``Arbitrary``) whose geotransform is not the
    identity does carry one (:func:`~..inputs.grid.pixel_size_of`): ``raster``, the first fine
    raster, is asked before refusing.

    Args:
        methods: the fusion methods to run (registry names).
        assume_aligned: the rasters may lack a CRS.
        pixel_size_m: the fine pixel's side in metres, where given.
        what: the file's kind for the message (``Job``, ``Dataset``).
        raster: the first fine raster (a path or connection string), whose geotransform may give the size.

    Raises:
        InputError: naming ``pixel_size_m`` and the methods that need it (their ``needs_pixel_size``).
    """
    needing = [get_method(m).label for m in methods if get_method(m).needs_pixel_size]
    if assume_aligned and needing and pixel_size_m is None and not (raster and _raster_pixel_size(raster)):
        raise InputError(
            f"{what} field 'pixel_size_m': rasters without a CRS (assume_aligned) carry no pixel size (a local CRS "
            f"counts as none, and their geotransform gives none); give the fine pixel's side in metres "
            f"({', '.join(needing)} measure in metres)."
        )


def _raster_pixel_size(path: str) -> float | None:
    """The pixel size a raster without a real CRS carries in its geotransform, else None (also when unreadable)."""
    from ..errors import TsstfnError
    from ..files import open_raster
    from ..inputs.containers import resolve_source
    from ..inputs.grid import has_real_crs, pixel_size_of
    from ..inputs.ndvi import NdviSource

    try:
        ds = open_raster(resolve_source(NdviSource(path)).path)
    except TsstfnError:
        return None
    return None if has_real_crs(ds) else pixel_size_of(ds)


def input_paths(job: Job) -> list[str]:
    """Every file the job reads (rasters, masks, samples, model, field polygons), for the checks against outputs."""
    paths = [os.fspath(p) for p in (job.samples, job.model, job.fields, job.class_names_file) if p]
    for pair in (*job.reference, *job.prediction, *job.targets):
        for source in pair.sources():
            paths += source_files(source)
    return paths
