"""TSSTFN blended with STARFM, by a weight learnt on the validation patches (``train.starfm_blend``).

Two predictors whose errors are not the same are better combined than either alone (Bates & Granger
1969). The weight is the one that minimises the squared error of ``w * network + (1 - w) * STARFM``
on the network's validation patches: pixels held out of training (whole spatial blocks; in a scene
too small for one, the last training label's stacks), on which STARFM, which learns nothing, is
held out too. The same patches chose the network's best epoch, so its error there is a little
optimistic and the weight leans towards it. It is a single number per model, clipped to [0, 1],
estimated on thousands of pixels and never on a target; 1 keeps the network alone. STARFM on the
patches uses the same pair the network's prior reads (the nearest base pair, channels ``-3`` and
``-2``) and the target's coarse NDVI (channel ``-1``), each patch read with a margin as wide as
STARFM's window so that it sees what a scene-wide run gives; at prediction one-pair STARFM runs
over the scene from the latest real pair before the target. A target the network predicts from
both sides gets its own weight, learnt on the labels that have pairs on both sides (predicted
both ways, against two-pair STARFM), and none where the season has no such label: a one-sided
weight says nothing about a two-sided prediction (``docs/model.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import CancelFn, check_cancelled, never_cancelled
from ..errors import InputError
from ..files import PathLike, atomic_output, create_geotiff, read_array
from .starfm import StarfmParams, blockwise_slice, starfm

if TYPE_CHECKING:
    import datetime as dt

    from ..inputs.grid import Grid
    from .stacks import AlignedPair

log = logging.getLogger("tsstfn")

#: validation patches the weight is learnt on (a seeded sample of them; seconds of STARFM on a CPU)
MAX_PATCHES = 64
STRIP_ROWS = 256

#: a two-season blend also scores the network on at most this many of the prediction year's own latest
#: pairs (one stack each, written like a training stack; at most 64 patches are drawn from them all)
CHECK_PAIRS = 3


def least_squares_weight(error_a: np.ndarray, error_b: np.ndarray) -> float:
    """The ``w`` in [0, 1] that minimises ``sum((w * error_a + (1 - w) * error_b) ** 2)`` (1 when the errors are equal)."""
    a, b = np.asarray(error_a, dtype=np.float64).ravel(), np.asarray(error_b, dtype=np.float64).ravel()
    d = a - b
    den = float(d @ d)
    if den <= 0.0:
        return 1.0
    return float(np.clip(-float(b @ d) / den, 0.0, 1.0))


def starfm_on_windows(
    stacks: Sequence[Any], windows: np.ndarray, params: StarfmParams, pixel_size: float, after: np.ndarray | None = None
) -> np.ndarray:
    """STARFM of each window (rows of :func:`~.training.patch_windows`) of training stacks, as over the scene.

    One pair: each window's stack's nearest base pair (channels ``-3`` coarse, ``-2`` fine) and its
    target's coarse NDVI (channel ``-1``). ``after``: the same boxes in the stacks that learn the same
    labels from the pairs after them, whose nearest pair is STARFM's second (two-pair STARFM). Each
    window is read with a margin as wide as the search window (NaN beyond the scene), so its pixels
    see what a scene-wide run gives them; each pair's similarity threshold is its whole fine
    image's. Windows of the same stacks are laid side by side and computed in one call.

    Returns:
        ``(n, P, P)`` float32, equal to a scene-wide :func:`~.starfm.starfm` of the stacks' channels.
    """
    margin = max(params.offsets(pixel_size))
    p = int(windows[0, 3]) if len(windows) else 0
    side = p + 2 * margin
    out = np.full((len(windows), p, p), np.nan, dtype=np.float32)
    sides = [windows] if after is None else [windows, after]
    keys = np.stack([w[:, 0] for w in sides], axis=1)
    for key in np.unique(keys, axis=0):
        sel = np.nonzero((keys == key).all(axis=1))[0]
        fines: list[np.ndarray] = []
        coarses: list[np.ndarray] = []
        slices: list[int] = []
        for side_windows, k in zip(sides, key):
            with stacks[int(k)].arrays() as (inputs, _):
                slices.append(blockwise_slice((inputs[-2, y : y + 512] for y in range(0, inputs.shape[1], 512)), params))
                mosaic = _mosaic(inputs, side_windows[sel], margin, side)
            coarses.append(mosaic[0])
            fines.append(mosaic[1])
            if len(fines) == 1:
                target = mosaic[2]  # the target's coarse NDVI, the same in every side's stack
        pred = starfm(fines, coarses, target, params, pixel_size, slices)
        for j, i in enumerate(sel):
            out[i] = pred[margin : margin + p, j * side + margin : j * side + margin + p]
    return out


def _mosaic(inputs: np.ndarray, windows: np.ndarray, margin: int, side: int) -> np.ndarray:
    """Channels ``-3:`` of ``windows`` of one stack, each with ``margin`` around it (NaN off the scene), side by side."""
    _, height, width = inputs.shape
    mosaic = np.full((3, side, len(windows) * side), np.nan, dtype=np.float32)
    for j, (_, x, y, w, h) in enumerate(windows.astype(int)):
        x0, y0, x1, y1 = max(0, x - margin), max(0, y - margin), min(width, x + w + margin), min(height, y + h + margin)
        dx, dy = x0 - (x - margin), y0 - (y - margin)
        mosaic[:, dy : dy + y1 - y0, j * side + dx : j * side + dx + x1 - x0] = inputs[-3:, y0:y1, x0:x1]
    return mosaic


def validation_weight(predict: Any, x: np.ndarray, y: np.ndarray, other: np.ndarray, batch_size: int = 16) -> dict[str, float]:
    """The blend's weight on validation patches: inputs ``x`` ``(n, 2N+1, P, P)``, labels and STARFM's ``(n, P, P)``.

    ``predict`` is the network's patch predictor (:func:`~.prediction.make_predictor`), run ``batch_size``
    patches at a time. Scored where the label, the network and STARFM all have a value.

    Returns:
        ``weight`` (the network's) and the validation RMSE of the network, of STARFM and of the blend,
        with the number of ``pixels``.
    """
    network = np.concatenate([np.asarray(predict(x[b : b + batch_size]), dtype=np.float64) for b in range(0, len(x), batch_size)])
    other = np.asarray(other, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(network) & np.isfinite(other)
    e_net, e_starfm = network[ok] - y[ok], other[ok] - y[ok]
    if not e_net.size:
        return {"weight": 1.0, "pixels": 0}
    w = least_squares_weight(e_net, e_starfm)

    def rmse(e: np.ndarray) -> float:
        return float(np.sqrt(np.mean(e * e)))

    return {
        "weight": w,
        "rmse_network": rmse(e_net),
        "rmse_starfm": rmse(e_starfm),
        "rmse_blend": rmse(w * e_net + (1 - w) * e_starfm),
        "pixels": int(e_net.size),
    }


def blend_methods(train: Any, two_sided: bool = False) -> tuple[str, ...]:
    """The STARFM (a registry name) that ``train.starfm_blend`` runs beside the network; two-pair for two-sided targets.

    ``train``: the training options as a mapping. The pixel-size checks of jobs and datasets and the
    estimates ask this, so that what the blend runs is stated once.
    """
    if not train.get("starfm_blend"):
        return ()
    return ("starfm2",) if two_sided else ("starfm",)


def _sample(rows: np.ndarray, seed: int) -> np.ndarray:
    """At most :data:`MAX_PATCHES` of ``rows``, a seeded sample in their order."""
    if len(rows) <= MAX_PATCHES:
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), MAX_PATCHES, replace=False))]


def learn_weights(
    trained: Any, stacks: Sequence[Any], starfm_params: StarfmParams, pixel_size: float, labels: Sequence[Any] | None = None,
    backward: Sequence[bool] | None = None, checks: Callable[[], tuple[Sequence[Any], np.ndarray] | None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``train.starfm_blend``'s weights (the model file's ``starfm_blend``) from a :class:`~.training.TrainResult`.

    The one-sided weight on (a seeded sample of) the validation patches; with ``labels`` and
    ``backward`` (single-season stacks learnt from the pairs after their label), the two-sided one
    (:func:`two_sided_weight`). Records the STARFM settings they were learnt with. A failure here
    (memory, a degenerate window) keeps the network alone with a warning rather than losing the training.

    ``checks``: for a two-season model, builds the *prediction year's* stacks (its latest base
    pairs, each learnt from the ``n_base`` pairs before it; never trained on) and their patch
    windows, or None. The reference year's validation patches flatter the network (it learnt that
    year; STARFM there starts from interpolated images), so the one-sided weight is then the
    least-squares weight over both samples together, at most 64 patches from each (logged apart
    and pooled; the model file keeps the prediction year's scores as ``prediction_year``). Where the
    prediction year cannot be scored (a failure is logged) the reference year's weight stands; where
    the reference year has no validation patch, the prediction year's alone.
    """
    from .prediction import make_predictor
    from .training import read_patches

    config = trained.meta["config"]
    seed, batch = int(config["seed"]), int(config["batch_size"])
    learnt_with = {"window_m": starfm_params.window_m, "pixel_size_m": pixel_size}
    alone = {"weight": 1.0, "pixels": 0, **learnt_with}
    held = trained.validation_windows
    predict = make_predictor(trained.model, trained.meta, tta=bool(config.get("tta")))
    samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (inputs, labels, STARFM) of each year scored
    found: dict[str, Any] | None = None
    if held is not None and len(held):
        windows = _sample(held, seed)
        try:
            x, y = read_patches(stacks, windows)
            samples.append((x, y, starfm_on_windows(stacks, windows, starfm_params, pixel_size)))
            found = validation_weight(predict, *samples[0], batch)
        except (MemoryError, RuntimeError, ValueError) as exc:
            log.warning("train.starfm_blend: the weight could not be learnt (%s); the fused NDVI is the network's alone", exc)
            return alone
    which = ""
    try:
        built = checks() if checks is not None else None
        if built is not None:
            check_windows = _sample(built[1], seed)
            cx, cy = read_patches(built[0], check_windows)
            samples.append((cx, cy, starfm_on_windows(built[0], check_windows, starfm_params, pixel_size)))
            prediction_year = validation_weight(predict, *samples[-1], batch)
            if found is not None:  # both years: each logged, the weight over both samples together
                _log_weight("reference-year validation only: ", found)
                _log_weight("prediction-year pairs only: ", prediction_year)
                x, y, other = (np.concatenate(part) for part in zip(*samples))
                found, which = validation_weight(predict, x, y, other, batch), "both years' held-out pixels: "
            else:
                found, which = prediction_year, "prediction-year pairs only: "
            found = {**found, "prediction_year": prediction_year}
    except (MemoryError, RuntimeError, ValueError, InputError) as exc:
        log.warning(
            "train.starfm_blend: the prediction year's pairs could not be scored (%s); the weight is the reference "
            "year's alone", exc,
        )  # fmt: skip
    if found is None:
        log.warning("train.starfm_blend: no validation patches to weigh STARFM on; the fused NDVI is the network's alone")
        return alone
    _log_weight(which, found)
    if labels and backward and any(backward):
        try:
            two = two_sided_weight(trained, stacks, labels, backward, held, starfm_params, pixel_size)
        except (MemoryError, RuntimeError, ValueError) as exc:
            log.warning("train.starfm_blend: no two-sided weight (%s); two-sided targets are not blended", exc)
            two = None
        if two is not None:
            _log_weight("two-sided ", two)
            found["two_sided"] = two
    return {**found, **learnt_with}


def _log_weight(which: str, found: dict) -> None:
    if found["pixels"]:
        log.info(
            "%sblend with STARFM: the network's weight %.2f (validation RMSE: network %.4f, STARFM %.4f, blend %.4f; %d px)",
            which, found["weight"], found["rmse_network"], found["rmse_starfm"], found["rmse_blend"], found["pixels"],
        )  # fmt: skip


def two_sided_weight(
    trained: Any, stacks: Sequence[Any], labels: Sequence[Any], backward: Sequence[bool], windows: np.ndarray,
    starfm_params: StarfmParams, pixel_size: float,
) -> dict[str, Any] | None:  # fmt: skip
    """The weight for targets predicted from both sides, learnt on labels that have pairs on both sides.

    A single-season model trained both ways has, for each pair with neighbours on both sides, a stack
    that learns it from the pairs before and one from the pairs after. On held-out boxes the network
    predicts such a label from both sides as it predicts a target
    (:func:`~.prediction.two_sided_predictor`) and two-pair STARFM from the nearest pair of each side.
    Only the validation rows themselves are used: each held-out ``(stack, box)`` whose label has a
    stack on each side gives that label's two stacks at that box (the spatial split holds a box out
    of every stack; the small-scene fallback holds out every stack of one label). None where no
    label has both (fewer than ``2 n_base + 1`` pairs besides the targets).
    """
    from .prediction import make_predictor, two_sided_predictor
    from .training import read_patches

    before: dict = {}
    after: dict = {}
    for k, (label, back) in enumerate(zip(labels, backward)):
        (after if back else before).setdefault(label, k)
    rows = [
        (before[labels[k]], after[labels[k]], *box)
        for k, *box in windows.astype(int).tolist()
        if labels[k] in before and labels[k] in after
    ]
    if not rows:
        return None
    config = trained.meta["config"]
    picked = _sample(np.unique(np.array(rows, dtype=np.int64), axis=0), int(config["seed"]))
    first, second = picked[:, [0, 2, 3, 4, 5]], picked[:, [1, 2, 3, 4, 5]]
    x_before, y = read_patches(stacks, first)
    x_after, _ = read_patches(stacks, second)
    other = starfm_on_windows(stacks, first, starfm_params, pixel_size, second)
    channels = 2 * int(trained.meta["n_base"]) + 1
    sigma = float(config.get("prior_smoothing_px", 0.0))
    predict = two_sided_predictor(make_predictor(trained.model, trained.meta, tta=bool(config.get("tta"))), channels, sigma)
    return validation_weight(predict, np.concatenate([x_before, x_after], axis=1), y, other, int(config["batch_size"]))


def starfm_plan(
    meta: dict, blend: bool, starfm_params: StarfmParams, real: Sequence[AlignedPair], target: dt.date, two_sided: bool,
    pixel_size: float,
) -> tuple[list[AlignedPair], float]:  # fmt: skip
    """The pairs STARFM blends from and the network's weight for one target; ``([], 1.0)``: no blend.

    ``blend``: the job's ``train.starfm_blend``. A target predicted from one side: one-pair STARFM from
    the latest real pair before it, with the weight learnt on one-sided predictions. From both sides:
    two-pair STARFM from the nearest real pair on each side, with the weight learnt on two-sided
    predictions; none where the model learnt none. ``real``: the job's base pairs, never a fused date
    of a sequential forecast (STARFM would carry a prediction forward). A weight of 1 is no blend.
    """
    learnt = meta.get("starfm_blend")
    if not blend:
        if learnt and min(learnt.get("weight", 1.0), (learnt.get("two_sided") or {}).get("weight", 1.0)) < 1.0:
            log.info("the model's STARFM blend weights are not used: the job's train.starfm_blend is off")
        return [], 1.0
    if learnt is None:
        log.warning(
            "train.starfm_blend: the model was trained without it (no weight was learnt); the fused NDVI is the network's alone"
        )
        return [], 1.0
    window = starfm_params.window_m
    if learnt.get("window_m", window) != window or learnt.get("pixel_size_m", pixel_size) != pixel_size:
        log.warning(
            "train.starfm_blend: the model's weight was learnt with a %s m STARFM window on %s m pixels; this job has %s m "
            "on %s m: the weight may not fit", learnt.get("window_m"), learnt.get("pixel_size_m"), window, pixel_size,
        )  # fmt: skip
    before = sorted((p for p in real if p.date < target), key=lambda p: p.date)[-1:]
    if not two_sided:
        pairs, weight = before, float(learnt["weight"])
    else:
        after = sorted((p for p in real if p.date > target), key=lambda p: p.date)[:1]
        two = learnt.get("two_sided")
        if two is None or not before or not after:
            log.info("%s is predicted from both sides and not blended with STARFM: no two-sided weight was learnt", target)
            return [], 1.0
        pairs, weight = before + after, float(two["weight"])
    return (pairs, weight) if pairs and weight < 1.0 else ([], 1.0)


def blend_files(
    network: PathLike,
    other: PathLike,
    weight: float,
    grid: Grid,
    out_path: PathLike,
    description: str,
    spread: PathLike | None = None,
    spread_out: PathLike | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> Path:
    """``weight * network + (1 - weight) * other`` where ``other`` has a value, else the network's; atomic writes.

    ``spread``: the network's MC-dropout standard deviation; ``spread_out`` gets the standard deviation
    of the mixture (the network's spread with weight ``weight``, STARFM's point with the rest):
    ``sqrt(w s^2 + w (1 - w) (network - STARFM)^2)``, as the two-sided blend's
    (:func:`~.prediction.two_sided_predictor`); the network's own where STARFM has no value.
    """
    texts = [description] + ([f"{description}: standard deviation of the blend's mixture"] if spread else [])
    with atomic_output(out_path) as tmp, atomic_output(spread_out) if spread and spread_out else nullcontext() as tmp_spread:
        targets = [create_geotiff(tmp, grid)] + ([create_geotiff(tmp_spread, grid)] if tmp_spread else [])
        try:
            for ds, text in zip(targets, texts):
                ds.GetRasterBand(1).SetDescription(text)
            for y0 in range(0, grid.height, STRIP_ROWS):
                check_cancelled(is_cancelled)
                win = (0, y0, grid.width, min(STRIP_ROWS, grid.height - y0))
                net, oth = read_array(network, win).astype(np.float64), read_array(other, win).astype(np.float64)
                has = np.isfinite(oth)
                fused = np.where(has, weight * net + (1 - weight) * oth, net)
                targets[0].GetRasterBand(1).WriteArray(fused.astype(np.float32), 0, y0)
                if spread and len(targets) > 1:
                    sd = read_array(spread, win).astype(np.float64)
                    mixed = np.sqrt(weight * sd * sd + weight * (1 - weight) * (net - oth) ** 2)
                    targets[1].GetRasterBand(1).WriteArray(np.where(has, mixed, sd).astype(np.float32), 0, y0)
            for ds in targets:
                ds.FlushCache()
        finally:  # closed before atomic_output renames or removes the files
            targets = ds = None  # type: ignore[assignment]
    return Path(out_path)
