"""TSSTFN as a fusion method: train on the reference year (or load a model), predict each target.

One model is trained on the union of the targets' training stacks (one stack per target, each
with the alignment its strategy gives for that target); the fused NDVI of each target is then
predicted from the prediction year's base pairs, individually or sequentially (each prediction
joins the base pairs of the next).

A sequential forecast moves the base positions of the later targets (31 August is predicted from
base dates that include the fused 30 July), so its model is trained for those positions: the
training stack of each later target is aligned with the base dates it will be predicted from,
the earlier targets' dates included (``docs/strategies.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled, scaled
from ..errors import CancelledError, DateError, InputError
from ..files import temporary_path
from ..inputs.dates import doy
from ..options import Choice, choice
from .base import FusionInputs, FusionOutput, FusionRequest
from .config import TrainConfig
from .stacks import AlignedPair
from .starfm import StarfmParams
from .strategies import Alignment, MonthDay, Strategy, align, own_latest, own_next, reference_offsets

log = logging.getLogger("tsstfn")
#: a fused date of a sequential forecast whose reference-year image lies further away than this
#: (days) is reported: the reference year has no base image near it (``docs/strategies.md``)
FUSED_OFFSET_WARN_DAYS = 7


class Forecast(Choice):
    """How several targets are predicted: each from the base pairs, or each joining them in turn."""

    INDIVIDUAL = "individual"
    SEQUENTIAL = "sequential"


class Uncertainty(Choice):
    """Whether the fused NDVI gets an MC-dropout uncertainty raster: always, never, or when it is cheap.

    ``auto``: on a GPU, and on a CPU when the extra passes are estimated to take at most a few minutes.
    """

    AUTO = "auto"
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class TsstfnParams:
    """TSSTFN's options (in a job file they are top-level fields; see ``docs/data-model.md``).

    Attributes:
        strategy: the time alignment (:class:`~.strategies.Strategy`).
        n_base: base pairs the model reads (7 in the paper).
        forecast: individual or sequential (:class:`Forecast`).
        reference_target: the training label's day in the reference year, a date or a
            :class:`~.strategies.MonthDay` (None: each target's day of year; the paper fixed it to
            31 August).
        train: training options.
        model: a saved model file to use instead of training.
        save_to: where to save a trained model (None: not saved).
        preset: the name of the preset the options came from (recorded in the model file).
        mc_passes: Monte-Carlo dropout passes for an uncertainty raster beside each fused NDVI
            (``uncertainty_YYYYMMDD.tif``); 0 for none.
        starfm: STARFM's parameters for ``train.starfm_blend`` (the job's ``method_params.starfm``;
            None: STARFM's defaults).
    """

    strategy: Strategy = Strategy.STR_B
    n_base: int = 7
    forecast: Forecast = Forecast.INDIVIDUAL
    reference_target: dt.date | MonthDay | None = None
    train: TrainConfig = TrainConfig()
    model: str | None = None
    save_to: str | None = None
    preset: str | None = None
    mc_passes: int = 0
    starfm: StarfmParams | None = None

    def __post_init__(self) -> None:
        """Coerce the choice fields."""
        object.__setattr__(self, "strategy", choice(Strategy, self.strategy, "strategy"))
        object.__setattr__(self, "forecast", choice(Forecast, self.forecast, "forecast"))


def training_alignments(inputs: FusionInputs, params: TsstfnParams) -> list[Alignment]:
    """The alignment of each training stack.

    Two seasons: one stack per target (in date order). Individual forecast: every target from the
    prediction year's base dates; sequential: each target from the base dates plus the earlier
    targets' dates, the positions it is predicted from. One season (no reference pairs): one stack
    per base pair that has ``n_base`` pairs before it, learnt from them (STR_A); the targets are
    never among them. With ``train.both_directions`` each pair that has ``n_base`` pairs after it is
    also learnt from those (:func:`~.strategies.own_next`).
    """
    base_dates = [p.date for p in inputs.base]
    if not inputs.reference:
        forward = [own_latest(base_dates, d, params.n_base) for d in base_dates[params.n_base :]]
        if not params.train.both_directions:
            return forward
        n = len(base_dates) - params.n_base
        return forward + [own_next(base_dates, d, params.n_base) for d in base_dates[:n]]
    reference_dates = [p.date for p in inputs.reference]
    targets = sorted(inputs.targets, key=lambda p: p.date)
    out = []
    worst = 0.0  # the farthest any target's reference-year base images lie from its positions (days)
    for k, t in enumerate(targets):
        earlier = [u.date for u in targets[:k]] if params.forecast is Forecast.SEQUENTIAL else []
        dates = sorted(base_dates + earlier)
        a = align(params.strategy, reference_dates, dates, t.date, params.n_base, params.reference_target)
        for days, fused in fused_offsets(a, reference_dates, dates, earlier):
            log.warning(
                "%s, sequential forecast of %s: the fused %s is paired with reference-year images %+.0f days away "
                "(the reference year has no base image nearer before its label); see docs/strategies.md",
                params.strategy, t.date.isoformat(), fused.isoformat(), days,
            )  # fmt: skip
        out.append(a)
        worst = max(worst, *map(abs, reference_offsets(a, reference_dates, dates)))
    if params.train.extra_labels and params.reference_target is None and out:
        # first, so that a scene too small for a validation block still validates on the last target's label
        out = _extra_labels(params, reference_dates, base_dates, targets[0].date, out, worst) + out
    return out


def _extra_labels(
    params: TsstfnParams, reference_dates: list[dt.date], base_dates: list[dt.date], first: dt.date,
    own: list[Alignment], worst: float,
) -> list[Alignment]:  # fmt: skip
    """``train.extra_labels``: an alignment for each reference-year pair after the base positions.

    Each learns that pair's real image from the base positions of the first target's individual
    forecast. Left out: a pair one of the targets (``own``) already learns alone, a pair whose
    positions would not be the targets' (STR_C and STR_E draw them from the days before the label)
    or not all before it, and a pair whose reference-year base images lie further from the
    positions than ``worst`` days, the farthest of the targets' own.
    """
    taken = {a.reference_label for a in own}
    out = []
    for k, r in enumerate(reference_dates):
        if ((k, 1.0),) in taken:
            continue
        try:
            a = align(params.strategy, reference_dates, base_dates, first, params.n_base, r)
        except DateError:
            continue
        offsets = reference_offsets(a, reference_dates, base_dates)
        same = a.positions == own[0].positions and a.prediction == own[0].prediction  # STR_C/E: a later label moves them
        if same and a.reference_label == ((k, 1.0),) and doy(r) > a.positions[-1] and max(map(abs, offsets)) <= worst:
            out.append(a)
    if out:
        log.info(
            "extra labels: the reference year's %s are also learnt from the base positions",
            ", ".join(reference_dates[a.reference_label[0][0]].isoformat() for a in out),
        )
    return out


def fused_offsets(
    alignment: Alignment, reference_dates: Sequence[dt.date], dates: Sequence[dt.date], fused: Sequence[dt.date]
) -> list[tuple[float, dt.date]]:
    """The positions of a sequential forecast where a fused date meets a distant reference-year image.

    ``(days, fused date)`` for each position that reads a fused date and whose reference-year
    image(s) lie more than :data:`FUSED_OFFSET_WARN_DAYS` from it (negative: earlier).

    Args:
        alignment: the alignment of one target.
        reference_dates: the reference year's dates.
        dates: the prediction year's dates the alignment was made with (base dates and fused dates).
        fused: the fused dates among them (earlier targets of a sequential forecast).
    """
    out = []
    for recipe, days in zip(alignment.prediction, reference_offsets(alignment, reference_dates, dates)):
        reads = [dates[i] for i, _ in recipe if dates[i] in fused]
        if reads and abs(days) > FUSED_OFFSET_WARN_DAYS:
            out.append((days, reads[-1]))
    return out


def fit(
    inputs: FusionInputs,
    params: TsstfnParams,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    workdir: Path | None = None,
) -> tuple[Any, dict]:
    """Train TSSTFN on the reference year, one training stack per target date.

    With a sequential forecast, the stack of each target is aligned with the base dates it will be
    predicted from: the prediction year's base dates plus the earlier targets' dates. With
    ``workdir`` the stacks are written there and their patches read lazily (memory does not grow
    with the scene); the files are removed when training ends.

    Returns:
        ``(model, meta)``: the best weights and what the model file records.

    Raises:
        CancelledError: the user cancelled (the partial model is not returned).
    """
    from .stacks import training_stack

    alignments = training_alignments(inputs, params)
    if not alignments:
        raise InputError(
            f"Single-season training needs a pair after {params.n_base} others to learn from; there are "
            f"{len(inputs.base)} base pairs. Add pairs or lower n_base."
        )
    try:
        stacks = [
            training_stack(a, inputs.reference or inputs.base, workdir, f"stack_{k:02d}", is_cancelled)
            for k, a in enumerate(alignments)
        ]
        check_cancelled(is_cancelled)
        labels = [a.reference_label for a in alignments]
        both_ways = not inputs.reference and params.train.both_directions  # recipes index one season's dates only then
        backward = [_learns_backward(a) for a in alignments] if both_ways else None
        # the prediction year's stacks are built after training, when the blend asks: a cancelled or failed training never pays
        two_season_blend = bool(inputs.reference) and params.train.starfm_blend
        checks = partial(_prediction_year_checks, inputs, params, workdir, is_cancelled) if two_season_blend else None
        return _fit(inputs, params, stacks, progress, is_cancelled, labels, backward, checks)
    finally:
        if workdir is not None:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


def _prediction_year_checks(
    inputs: FusionInputs, params: TsstfnParams, workdir: Path | None, is_cancelled: CancelFn
) -> tuple[list, Any] | None:
    """A two-season blend's prediction-year stacks and patch windows (:func:`~.blend.learn_weights`'s ``checks``).

    The latest :data:`~.blend.CHECK_PAIRS` base pairs with ``n_base`` pairs before them, each learnt from
    those as in one season: pairs the network never saw, in the year it predicts (written to
    ``workdir`` when given, like the training stacks). None where no base pair has ``n_base``
    before it or every patch is mostly cloud.
    """
    from .blend import CHECK_PAIRS
    from .stacks import training_stack
    from .training import patch_windows

    dates = [p.date for p in inputs.base]
    alignments = [own_latest(dates, d, params.n_base) for d in dates[params.n_base :][-CHECK_PAIRS:]]
    if not alignments:
        log.info("blend with STARFM: no base pair has %d before it; the weight is the reference year's alone", params.n_base)
        return None
    stacks = [training_stack(a, inputs.base, workdir, f"check_{k:02d}", is_cancelled) for k, a in enumerate(alignments)]
    try:
        return stacks, patch_windows(stacks, params.train)
    except InputError:  # every patch mostly cloud
        return None


def _learns_backward(a: Alignment) -> bool:
    """True for a single-season stack that learns its label from the pairs after it (:func:`~.strategies.own_next`).

    Only meaningful in one season, where the base and label recipes index the same dates.
    """
    return bool(a.reference_label) and bool(a.prediction) and a.prediction[-1][0][0] > a.reference_label[0][0]


def _fit(
    inputs: FusionInputs, params: TsstfnParams, stacks: list, progress: ProgressFn | None, is_cancelled: CancelFn,
    labels: list | None = None, backward: list[bool] | None = None, checks: Callable[[], tuple[list, Any] | None] | None = None,
) -> tuple[Any, dict]:  # fmt: skip
    from .training import Progress, train

    reference_dates = [p.date for p in inputs.reference]
    targets = sorted(inputs.targets, key=lambda p: p.date)
    epochs = params.train.max_epochs

    def on_progress(p: Progress) -> None:
        if progress:
            msg = f"epoch {p.epoch}, batch {p.batch}/{p.batches}, loss {p.train_loss:.4f}" + (
                f", val RMSE {p.val_rmse:.4f}" if p.val_rmse else ""
            )
            progress(min(1.0, (p.epoch - 1 + p.batch / p.batches) / epochs), msg)

    meta = {
        "single_season": not inputs.reference,
        "strategy": str(params.strategy),
        "forecast": str(params.forecast),
        "preset": params.preset,
        "reference_dates": [d.isoformat() for d in reference_dates],
        "targets": [t.date.isoformat() for t in targets],
        "reference_target": str(params.reference_target) if params.reference_target else None,
    }
    trained = train(stacks, params.train, meta, on_progress, is_cancelled, labels)
    if trained.cancelled:
        raise CancelledError()
    if params.train.starfm_blend:
        from .blend import learn_weights

        starfm_params = params.starfm or StarfmParams()
        trained.meta["starfm_blend"] = learn_weights(
            trained, stacks, starfm_params, inputs.grid.resolution[0], labels, backward, checks
        )
    return trained.model, trained.meta


def _model_checks(meta: dict, params: TsstfnParams, single_season: bool | None) -> list[tuple[str, str, Any, Any, str]]:
    """The settings a saved model must share with the job: ``(field, what, model value, job value, why)``."""
    target = str(params.reference_target) if params.reference_target else None
    checks: list[tuple[str, str, Any, Any, str]] = [
        ("n_base", "reads {} base pairs", meta["n_base"], params.n_base, "the network has one input per base pair"),
        ("strategy", "was trained with strategy {}", meta["strategy"], str(params.strategy),
         "the strategy decides which images fill the base positions"),
        # models saved before the sequential forecast had its own training were trained individually
        ("forecast", "was trained for the {} forecast", meta.get("forecast", str(Forecast.INDIVIDUAL)),
         str(params.forecast), "a sequential forecast adds the fused dates to the base positions of the later targets"),
        ("reference_target", "was trained with the label at {}", meta.get("reference_target"), target,
         "the label's day decides which reference images are base images"),
        ("train.patch", "was trained on {} px patches", meta["config"]["patch"], params.train.patch,
         "the network's LSTM steps are sized for its patch"),
        ("preset", "was trained with preset {}", meta.get("preset"), params.preset,
         "the preset sets the label's day and the network"),
    ]  # fmt: skip
    if single_season is not None:
        checks.append(
            ("reference", "was trained on {}", bool(meta.get("single_season", False)), single_season,
             "one season learns each pair from its own season's latest pairs (STR_A), two seasons align two years")
        )  # fmt: skip
    return checks


def _shown(field: str, value: Any) -> str:
    if field == "reference":
        return "one season (no reference pairs)" if value else "two seasons (reference pairs)"
    if field == "reference_target" and value is None:
        return "each target's own day"
    return str(value)


def load(params: TsstfnParams, single_season: bool | None = None) -> tuple[Any, dict]:
    """The saved model ``params.model``, checked against ``params``.

    Every setting that moves the base positions the model was trained for (or its input) is
    compared with the job: ``n_base``, ``strategy``, ``forecast``, ``reference_target``, the patch
    size, the preset and, when ``single_season`` is given, one season or two. The dates are not
    compared: a saved model exists to be applied to other dates.

    Args:
        params: the job's TSSTFN options; ``params.model`` is the file.
        single_season: whether the job has no reference pairs (None: not checked).

    Raises:
        ModelFileError: the file is unreadable, altered or of another version.
        InputError: one of those settings differs; the message names the model file, the setting,
            both values and what to do.
    """
    from .modelfile import load_model

    assert params.model is not None
    model, meta = load_model(params.model, params.train.device)
    name = Path(params.model).name
    for field, what, model_value, job_value, why in _model_checks(meta, params, single_season):
        if model_value != job_value:
            if field == "reference":
                fix = "Give the job reference pairs" if not model_value else "Leave the job's 'reference' list empty"
            elif model_value is None:
                preset = f" (its preset '{params.preset}' sets it)" if params.preset and field != "preset" else ""
                fix = f"Remove '{field}' from the job{preset}"
            else:
                fix = f"Set '{field}' to {json.dumps(model_value)}"
            asks = _shown(field, job_value) if field != "forecast" else f"the {job_value} forecast"
            raise InputError(
                f"Model '{name}' {what.format(_shown(field, model_value))}; the job asks for {asks}. "
                f"{fix} or train a new model (leave 'model' out): {why}."
            )
    return model, meta


def predict(
    model: Any,
    meta: dict,
    inputs: FusionInputs,
    params: TsstfnParams,
    out_path_of: Any,
    targets: Sequence[AlignedPair] | None = None,
    forecast: Forecast | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    uncertainty_path_of: Any = None,
    resume: Any = None,
) -> dict[dt.date, Path]:
    """The fused NDVI of each target (default: all of ``inputs``'), written to ``out_path_of(date)``.

    ``sequential``: each prediction joins the base pairs of the targets after it. With
    ``params.mc_passes`` and ``uncertainty_path_of``, the MC-dropout standard deviation of each
    target goes to ``uncertainty_path_of(date)`` (for a sequential forecast, that of its own step:
    the uncertainty of the fused dates it reads is not carried along).
    """
    targets = sorted(inputs.targets if targets is None else targets, key=lambda p: p.date)
    forecast = params.forecast if forecast is None else choice(Forecast, forecast, "forecast")
    reference_dates = [p.date for p in inputs.reference]
    base = list(inputs.base)
    fused: dict[dt.date, Path] = {}
    for k, t in enumerate(targets):
        base_dates = [p.date for p in base]
        if reference_dates:
            a = align(params.strategy, reference_dates, base_dates, t.date, params.n_base, params.reference_target)
        else:  # single season: the target's own latest pairs, as in training
            a = own_latest(base_dates, t.date, params.n_base)
        after = two_sided_alignment(meta, base_dates, t.date, params.n_base, bool(reference_dates))
        stamp = t.date.isoformat()
        unc = uncertainty_path_of(t.date) if (params.mc_passes > 1 and uncertainty_path_of) else None
        outputs = [Path(out_path_of(t.date))] + ([Path(unc)] if unc else [])
        if resume is not None and resume.all_complete(outputs):
            resume.reuse(f"TSSTFN {stamp}")
            fused[t.date] = outputs[0]
        else:
            fused[t.date] = _predict_one(
                model,
                meta,
                a,
                base,
                t,
                inputs,
                params,
                out_path_of,
                forecast,
                progress,
                k,
                len(targets),
                is_cancelled,
                unc,
                after,
            )
            if resume is not None:
                resume.record(*outputs)
        if forecast is Forecast.SEQUENTIAL:
            base = sorted([*base, replace(t, fine=str(fused[t.date]))], key=lambda p: p.date)
    return fused


def _predict_one(
    model: Any, meta: dict, a: Alignment, base: list[AlignedPair], t: AlignedPair, inputs: FusionInputs,
    params: TsstfnParams, out_path_of: Any, forecast: Forecast, progress: ProgressFn | None, k: int, n: int,
    is_cancelled: CancelFn, unc: Any, after: Alignment | None = None,
) -> Path:  # fmt: skip
    from .blend import starfm_plan
    from .prediction import predict_to_file
    from .stacks import prediction_reader, two_sided_reader

    stamp = t.date.isoformat()
    read = prediction_reader(a, base, t.coarse)
    sides = ""
    if after is not None:
        read = two_sided_reader(read, prediction_reader(after, base, t.coarse))
        sides = ", from the pairs before and after it"
    description = f"TSSTFN NDVI {stamp} ({params.strategy}, {forecast}{sides})"
    final = Path(out_path_of(t.date))
    bases, weight = starfm_plan(
        meta, params.train.starfm_blend, params.starfm or StarfmParams(), list(inputs.base), t.date, after is not None,
        inputs.grid.resolution[0],
    )  # fmt: skip
    network, spread = (temporary_path(final), temporary_path(unc) if unc else None) if bases else (final, unc)
    share = 0.7 if bases else 1.0
    try:
        predict_to_file(
            model,
            meta,
            read,
            inputs.grid,
            network,
            batch_size=params.train.batch_size,
            is_cancelled=is_cancelled,
            description=description,
            progress=scaled(progress, k / n, (k + share) / n, f"{stamp} "),
            uncertainty_path=spread,
            mc_passes=params.mc_passes,
            two_sided=after is not None,
            tta=params.train.tta,
        )
        if not bases:
            return final
        from .blend import blend_files
        from .starfm import starfm_to_file

        other = temporary_path(final.with_name(f"starfm_{final.name}"))
        try:
            starfm_to_file(
                [str(b.fine) for b in bases], [b.coarse for b in bases], t.coarse, inputs.grid, other,
                params.starfm or StarfmParams(), f"STARFM NDVI {stamp}",
                scaled(progress, (k + share) / n, (k + 1) / n, f"{stamp} STARFM "), is_cancelled,
            )  # fmt: skip
            pairs = ", ".join(b.date.isoformat() for b in bases)
            return blend_files(
                network, other, weight, inputs.grid, final,
                f"{description}, blended with STARFM from {pairs} (network weight {weight:.2f})", spread, unc, is_cancelled,
            )  # fmt: skip
        finally:
            other.unlink(missing_ok=True)
    finally:
        if bases:
            for path in (network, spread):
                if path is not None:
                    Path(path).unlink(missing_ok=True)


def two_sided_alignment(
    meta: dict, base_dates: Sequence[dt.date], target: dt.date, n_base: int, two_seasons: bool
) -> Alignment | None:
    """The alignment that predicts ``target`` from the pairs after it, or None where it is not predicted so.

    A single-season model trained in both time directions (``train.both_directions``) has learnt to
    predict a pair from the ``n_base`` pairs after it as well as from those before it; where the
    season has that many pairs after the target, the two predictions are blended, each weighted by
    how little the coarse NDVI changed between its nearest pair and the target
    (:func:`~.prediction.two_sided_predictor`), as two-pair STARFM blends its two pairs.
    """
    if two_seasons or not meta.get("config", {}).get("both_directions"):
        return None
    if sum(d > target for d in base_dates) < n_base:
        return None
    return own_next(base_dates, target, n_base)


def fuse(request: FusionRequest) -> FusionOutput:
    """The registry's entry point: load or train the model (saving it when asked), then predict."""
    from .modelfile import save_model

    params: TsstfnParams = request.params
    resume = request.resume
    uncertainty = {t.date: request.out_dir / f"uncertainty_{t.date:%Y%m%d}.tif" for t in request.inputs.targets}
    written = {d: p for d, p in uncertainty.items() if params.mc_passes > 1}
    every = [request.path_for(t.date) for t in request.inputs.targets] + list(written.values())
    saved = Path(params.save_to) if params.save_to else None
    if resume is not None and resume.all_complete(every) and (saved is None or resume.complete(saved)):
        resume.reuse(f"TSSTFN, every date ({len(request.inputs.targets)})")
        rasters = {t.date: request.path_for(t.date) for t in request.inputs.targets}
        return FusionOutput(rasters, saved or (Path(params.model) if params.model else None), {}, uncertainty=written)
    if resume is not None and not params.model and saved is not None and resume.complete(saved):
        resume.reuse(f"model {saved.name}")
        params = replace(params, model=str(saved), save_to=None)
    if params.model:
        model, meta = load(params, single_season=not request.inputs.reference)
        model_path: Path | None = Path(params.model)
    else:
        model, meta = fit(
            request.inputs, params, scaled(request.progress, 0.0, 0.7, "train: "), request.is_cancelled,
            request.out_dir / "aligned" / "training",
        )  # fmt: skip
        model_path = save_model(params.save_to, model, meta) if params.save_to else None
        if resume is not None and model_path is not None:
            resume.record(model_path)
    rasters = predict(
        model, meta, request.inputs, params, request.path_for, None, None, scaled(request.progress, 0.7, 1.0, "predict: "),
        request.is_cancelled, uncertainty.get, resume,
    )  # fmt: skip
    return FusionOutput(rasters, model_path, {"training": meta.get("training", {})}, uncertainty=written)
