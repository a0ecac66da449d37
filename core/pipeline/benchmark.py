"""The field's standard comparison on any paired dataset: each target held out and predicted by each method.

A dataset file (JSON or YAML) lists dated coarse/fine pairs and the dates to hold out::

    {"pairs": [{"date": "2015-04-14",
                "fine":   {"path": "L8_ndvi_2015104", "scale": 0.0001, "nodata": -9999,
                           "mask": "L8_mask_2015104", "mask_kind": "cfmask"},
                "coarse": {"path": "MOD13_stack", "band": 7, "scale": 0.0001}}, ...],
     "targets": ["2015-10-14"], "assume_aligned": true, "pixel_size_m": 30, "n_base": 3, "strategy": "STR_A"}

Pairs are written as in job files (:mod:`.pairs`: a path, or a mapping with band, scale, nodata,
mask, product, ...); paths are relative to the file. Optional fields: ``methods`` (default: every
method of the registry, :data:`~..fusion.methods.METHODS`), ``method_params``, ``train``/``preset``
(the learning method's training, default the ``robust`` preset's), ``coarse_product``/
``fine_product`` (default ``ndvi``), ``pixel_size_m``, ``name``.

For each target, with that target's pair left out of everything (the other pairs are its base),
each method predicts it from the other pairs; a learning method (``learns``: TSSTFN) trains on the
dataset's own season (single-season training: each pair learnt from the ``n_base`` pairs before
it) and is applied to the ``n_base`` pairs before the target; its ``strategy``, ``n_base``,
``train`` and ``mc_passes`` come from the dataset's top-level fields. With the registry's
entries: ``tsstfn``; ``starfm`` from the nearest clear pair before the target; ``starfm2`` from the
nearest pairs before and after it; ``coarse_cubic``, the target's coarse NDVI cubic-resampled onto
the fine grid; ``latest_fine``, the latest fine image before it.

Writes ``benchmark.csv`` (exactly ``date,method,rmse,mae,bias,r2,ssim,n``), ``benchmark.md`` and
``target_YYYYMMDD.png`` (each method's prediction and error map). Scores count only the pixels
where the real fine image is valid; SSIM uses ``data_range`` 2 (``fusion.metrics``).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..callbacks import CancelFn, ProgressFn, Steps, check_cancelled, never_cancelled, scaled
from ..errors import InputError, TsstfnError
from ..files import PathLike, atomic_output, read_array, write_text
from ..fusion.base import FusionInputs
from ..fusion.config import TrainConfig
from ..fusion.methods import METHODS, get_method
from ..fusion.strategies import Strategy
from ..inputs.dates import parse_date
from ..options import check_range, check_types, choice, options_from_mapping, refuse_unknown_fields
from .pairs import PairSpec, canonical, dated, parse_pairs
from .presets import PRESETS

log = logging.getLogger("tsstfn")
#: the dataset's top-level fields that set the learning method's parameters of the same name
LEARNER_FIELDS = ("strategy", "n_base", "train", "mc_passes")
COLUMNS = ("date", "method", "rmse", "mae", "bias", "r2", "ssim", "n")
_KEYS = {
    "pairs", "targets", "assume_aligned", "pixel_size_m", "n_base", "strategy", "train", "preset", "methods",
    "method_params", "coarse_product", "fine_product", "name", "mc_passes",
}  # fmt: skip


@dataclass(frozen=True)
class BenchmarkSpec:
    """A paired dataset and how to benchmark it (see the module docstring for each field)."""

    pairs: tuple[PairSpec, ...]
    targets: tuple[dt.date, ...]
    assume_aligned: bool = False
    pixel_size_m: float | None = None
    n_base: int = 1
    strategy: Strategy = Strategy.STR_A
    train: TrainConfig = TrainConfig(**PRESETS["robust"]["train"])
    methods: tuple[str, ...] = field(default_factory=lambda: tuple(METHODS))
    method_params: dict[str, Any] = field(default_factory=dict, hash=False)
    name: str = "benchmark"
    mc_passes: int = 0

    def __post_init__(self) -> None:
        """Check types, ranges, the strategy and the methods."""
        check_types(self)
        check_range(self.n_base, "n_base", 1)
        if self.mc_passes == 1 or self.mc_passes < 0:
            raise InputError(f"Dataset field 'mc_passes': {self.mc_passes} is not 0 (none) or a number of passes >= 2.")
        check_range(self.pixel_size_m, "pixel_size_m", 0, low_open=True)
        object.__setattr__(self, "strategy", choice(Strategy, self.strategy, "strategy"))
        for name in self.methods:
            get_method(name, "methods")

    def params_of(self, name: str) -> Any:
        """The parameters of method ``name``: its ``method_params``, else the defaults.

        A learning method's :data:`LEARNER_FIELDS` come from the dataset's top-level fields.
        """
        method = get_method(name, "methods")
        params = self.method_params.get(name) or method.params()
        if method.learns:
            names = {f.name for f in fields(params)}
            params = replace(params, **{k: getattr(self, k) for k in LEARNER_FIELDS if k in names})
            if "starfm" in names:  # the STARFM that train.starfm_blend blends with is the one compared
                params = replace(params, starfm=self.method_params.get("starfm"))
        return params


def benchmark_from_dict(data: object, base_dir: PathLike = ".") -> BenchmarkSpec:
    """A :class:`BenchmarkSpec` from a dataset file's mapping; every error names the field.

    Raises:
        InputError: an unknown, missing or malformed field.
    """
    base = Path(base_dir)
    if not isinstance(data, dict):
        raise InputError("A dataset file must hold a mapping of fields (JSON object).")
    data = canonical(data, "dataset")
    refuse_unknown_fields(data, _KEYS, "dataset")
    for required in ("pairs", "targets"):
        if required not in data:
            raise InputError(f"Dataset field '{required}' is missing.")
    products = (data.get("coarse_product", "ndvi"), data.get("fine_product", "ndvi"))
    kw: dict[str, Any] = {"pairs": parse_pairs(data["pairs"], base, "pairs", True, *products)}
    if not isinstance(data["targets"], list) or not data["targets"]:
        raise InputError("Dataset field 'targets' must list the dates to hold out ('YYYY-MM-DD').")
    kw["targets"] = tuple(parse_date(t, f"targets[{i}]") for i, t in enumerate(data["targets"]))
    train: dict[str, Any] = dict(PRESETS["robust"]["train"])
    if data.get("preset"):
        if data["preset"] not in PRESETS:
            raise InputError(f"Dataset field 'preset': '{data['preset']}' is not one of {', '.join(PRESETS)}.")
        train = dict(PRESETS[data["preset"]].get("train", {}))
    if "train" in data:
        if not isinstance(data["train"], dict):
            raise InputError("Dataset field 'train' must be a mapping of training options.")
        train.update(data["train"])
    kw["train"] = options_from_mapping(TrainConfig, train, "train")
    for key in ("assume_aligned", "strategy", "name", "method_params", "n_base", "pixel_size_m", "mc_passes"):
        if key in data:
            kw[key] = data[key]
    if "methods" in data:
        if not isinstance(data["methods"], list):
            raise InputError("Dataset field 'methods' must be a list of fusion method names.")
        kw["methods"] = tuple(data["methods"])
    spec = BenchmarkSpec(**kw)
    params = {}
    for name, values in spec.method_params.items():
        params[name] = get_method(name, "method_params").parse_params(values)
    return replace(spec, method_params=params)


def load_benchmark(path: PathLike) -> BenchmarkSpec:
    """A :class:`BenchmarkSpec` from a ``.json`` or ``.yaml`` dataset file (paths relative to it).

    Raises:
        InputError: the file is missing, not valid JSON/YAML, or a field is wrong.
    """
    from .job import read_mapping

    path = Path(path)
    return benchmark_from_dict(read_mapping(path, "Dataset"), path.parent)


@dataclass
class BenchmarkResult:
    """The scores (one row per target and method), what could not run and why, and the files written."""

    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calibration: dict[str, dict] = field(default_factory=dict)  # a learning method's error by uncertainty, by date
    csv: Path | None = None
    markdown: Path | None = None
    figures: list[Path] = field(default_factory=list)


def run_benchmark(
    spec: BenchmarkSpec, out_dir: PathLike, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled
) -> BenchmarkResult:
    """Hold out each target, predict it with each method, score it against its real fine image.

    Raises:
        InputError: targets that are not pair dates, too few pairs, or unreadable inputs.
    """
    from ..deps import check_dependencies
    from ..fusion.metrics import error_by_uncertainty, fusion_metrics
    from ..inputs.align import check_crs
    from ..inputs.containers import resolve_source
    from ..inputs.grid import reference_grid
    from .job import check_pixel_size
    from .run import align_pairs

    check_dependencies()
    out = Path(out_dir)
    pairs = dated(spec.pairs)
    dates = [p.date for p in pairs]
    dup = sorted({d for d in dates if dates.count(d) > 1})
    if dup:
        raise InputError(f"Dataset field 'pairs': date {dup[0].isoformat()} appears twice; keep one pair per date.")
    missing = [t.isoformat() for t in spec.targets if t not in dates]
    if missing:
        raise InputError(
            f"Dataset field 'targets': {', '.join(missing)} is not the date of a pair (its fine image is the truth)."
        )
    if len(pairs) < 2:
        raise InputError("Dataset field 'pairs': a benchmark needs at least two pairs (one held out, one to predict from).")
    from ..fusion.blend import blend_methods

    learns = any(get_method(m, "methods").learns for m in spec.methods)
    methods = [*spec.methods, *(blend_methods(spec.train.as_dict()) if learns else ())]  # the blend's STARFM measures in metres
    check_pixel_size(methods, spec.assume_aligned, spec.pixel_size_m, "Dataset", pairs[0].fine.path if pairs[0].fine else None)
    check_crs([s for p in pairs for s in p.sources()], spec.assume_aligned)
    first = resolve_source(pairs[0].fine) if pairs[0].fine else None
    assert first is not None
    grid = reference_grid(first.path, first.label, None, None, spec.assume_aligned, spec.pixel_size_m)
    from .consistency import check_benchmark_dates, check_consistent, fine_pixel_m
    from .run import check_patch

    check_consistent({"pairs": pairs}, fine_pixel_m(first), "Dataset")  # one raster twice, dates, sensors, bands
    if any(get_method(name, "methods").learns for name in spec.methods):  # refused now, not skipped with a warning
        check_patch(spec.train.patch, grid, "Dataset")
        check_benchmark_dates(dates, spec.targets, spec.n_base)
    steps = Steps(progress, {"align": 1, **{t.isoformat(): 4 for t in spec.targets}})
    aligned = align_pairs(pairs, grid, out / "aligned", is_cancelled)
    steps.sub("align")(1.0, "aligned")
    result = BenchmarkResult()
    for target in spec.targets:
        sub = steps.sub(target.isoformat())
        held_out = next(p for p in aligned if p.date == target)
        assert held_out.fine is not None
        truth = read_array(held_out.fine)
        inputs = FusionInputs(grid, (), tuple(p for p in aligned if p.date != target), (replace(held_out, fine=None),))
        predictions: dict[str, Path] = {}
        for k, name in enumerate(spec.methods):
            check_cancelled(is_cancelled)
            method = get_method(name, "methods")
            try:
                part = scaled(sub, k / len(spec.methods), (k + 1) / len(spec.methods), f"{name}: ")
                produced = method.run(inputs, out / f"target_{target:%Y%m%d}", spec.params_of(name), part, is_cancelled)
            except TsstfnError as exc:
                result.skipped.append(f"{target.isoformat()} {name}: {exc}")
                log.warning("benchmark %s %s skipped: %s", target, name, exc)
                continue
            predictions[name] = produced.rasters[target]
            if target in produced.uncertainty:
                std = read_array(produced.uncertainty[target])
                result.calibration[target.isoformat()] = error_by_uncertainty(read_array(predictions[name]), std, truth)
            m = fusion_metrics(read_array(predictions[name]), truth)
            result.rows.append({"date": target.isoformat(), "method": name, **{c: m[c] for c in COLUMNS[2:]}})
            sub((k + 1) / len(spec.methods), name)
        result.figures.append(_figure(truth, predictions, out / f"target_{target:%Y%m%d}.png", target))
    result.csv = _write_csv(result.rows, out / "benchmark.csv")
    result.markdown = write_text(out / "benchmark.md", _markdown(spec, result, grid.has_crs))
    return result


def _write_csv(rows: list[dict], path: Path) -> Path:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r["date"], r["method"], *(f"{r[c]:.6f}" for c in COLUMNS[2:7]), int(r["n"])])
    return path


def _markdown(spec: BenchmarkSpec, result: BenchmarkResult, has_crs: bool) -> str:
    learners = [get_method(m).label for m in spec.methods if get_method(m).learns]
    lines = [
        f"# Benchmark: {spec.name}",
        "",
        f"- {len(spec.pairs)} pairs, held out in turn: {', '.join(t.isoformat() for t in spec.targets)}",
        *(
            f"- {label}: single-season training, {spec.strategy}, {spec.n_base} base pair(s), width {spec.train.width}, "
            f"{spec.train.patch} px patches, at most {spec.train.max_epochs} epochs"
            for label in learners
        ),
        "- scores where the real fine image is valid; SSIM with data_range 2",
    ]
    if not has_crs:
        lines.append("- the rasters carry no CRS: assumed pixel-aligned (assume_aligned); outputs carry the same pixel grid")
    lines += ["", "| date | method | RMSE | MAE | bias | R² | SSIM | pixels |", "|---|---|---|---|---|---|---|---|"]
    best: dict[str, float] = {}
    for r in result.rows:
        best[r["date"]] = min(best.get(r["date"], np.inf), r["rmse"])
    for r in result.rows:
        mark = "**" if r["rmse"] == best[r["date"]] else ""
        lines.append(
            f"| {r['date']} | {mark}{r['method']}{mark} | {r['rmse']:.4f} | {r['mae']:.4f} | {r['bias']:+.4f} | "
            f"{r['r2']:.3f} | {r['ssim']:.4f} | {int(r['n'])} |"
        )
    if result.calibration:
        lines += ["", *calibration_markdown(result.calibration, spec.mc_passes, ", ".join(learners))]
    if result.skipped:
        lines += ["", "Not run:", ""] + [f"- {s}" for s in result.skipped]
    lines += ["", "Figures: " + ", ".join(p.name for p in result.figures), ""]
    return "\n".join(lines)


def calibration_markdown(calibration: dict[str, dict], passes: int, label: str = "TSSTFN") -> list[str]:
    """A method's mean |error| by quintile of its MC-dropout standard deviation, per date, as Markdown lines."""
    lines = [
        f"## {label}: error against its uncertainty ({passes} MC-dropout passes)",
        "",
        "| date | std quintile | std range | mean std | mean abs error | pixels |",
        "|---|---|---|---|---|---|",
    ]
    for date, cal in calibration.items():
        for k, b in enumerate(cal["bins"], 1):
            lines.append(
                f"| {date} | {k} | {b['std_low']:.4f}-{b['std_high']:.4f} | {b['mean_std']:.4f} | "
                f"{b['mean_abs_error']:.4f} | {b['n']} |"
            )
    lines += ["", "Spearman rank correlation of std and |error|: "
              + ", ".join(f"{d} {c['spearman']:+.2f}" for d, c in calibration.items()), ""]  # fmt: skip
    return lines


def _figure(truth: np.ndarray, predictions: dict[str, Path], path: Path, date: dt.date) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(predictions) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.2), squeeze=False)
    axes[0, 0].imshow(truth, cmap="YlGn", vmin=0, vmax=1, interpolation="nearest")
    axes[0, 0].set_title(f"real fine {date.isoformat()}", fontsize=8)
    axes[1, 0].axis("off")
    for k, (name, p) in enumerate(predictions.items(), start=1):
        pred = read_array(p)
        axes[0, k].imshow(pred, cmap="YlGn", vmin=0, vmax=1, interpolation="nearest")
        axes[0, k].set_title(name, fontsize=8)
        err = axes[1, k].imshow(pred - truth, cmap="RdBu", vmin=-0.2, vmax=0.2, interpolation="nearest")
        axes[1, k].set_title(f"{name} − real", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(err if len(predictions) else axes[0, 0].images[0], ax=axes[1, :].tolist(), shrink=0.8, label="NDVI error")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return path


def summary(result: BenchmarkResult) -> str:
    """The scores as a short text table (the command line prints it)."""
    lines = [f"{'date':<11} {'method':<13} {'RMSE':>7} {'SSIM':>7} {'n':>8}"]
    lines += [f"{r['date']:<11} {r['method']:<13} {r['rmse']:7.4f} {r['ssim']:7.4f} {int(r['n']):8d}" for r in result.rows]
    return "\n".join(lines + [f"skipped: {s}" for s in result.skipped])
