"""The paper's comparisons on any data: early season vs each strategy, one prediction vs two.

Early season only against each strategy (STR_A-E) at each target date, and one prediction against
two (individual vs sequential forecast).

Writes, into ``<output_dir>/experiment/``: ``table_fusion.md/.csv`` (shaped like the paper's
Table 2: RMSE and SSIM of STARFM and of TSSTFN with each strategy, per target date),
``table_kappa.md/.csv`` (Tables 3-5: kappa of the early season and of each strategy with one or two
predictions) and ``figure_kappa.png`` (Figure 13). All runs share one alignment, one sample split and
one forest configuration, so the differences come from the fused NDVI alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..callbacks import CancelFn, ProgressFn, Steps, never_cancelled, scaled
from ..errors import InputError
from ..files import atomic_output, read_array, write_text
from ..fusion import tsstfn
from ..fusion.methods import get_method
from ..fusion.strategies import STRATEGIES, Strategy
from ..fusion.tsstfn import Forecast
from .job import Job, validate_job
from .run import mapping_options, prepare, sample_labels


def run_experiment(
    job: Job,
    strategies: Sequence[str] = STRATEGIES,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> dict:
    """Run the paper's comparisons on ``job``'s data and write the tables and the figure.

    TSSTFN is trained per strategy; each target is predicted individually, and the first two targets
    also sequentially, by a model trained for the sequential forecast's base positions; the job's
    comparison methods (``compare``) are scored beside it.

    Returns:
        The tables' data (also written to ``<output_dir>/experiment/experiment.json``).

    Raises:
        InputError: the job has no samples, or a strategy is unknown.
    """
    from ..deps import check_dependencies
    from ..fusion.metrics import fusion_metrics
    from ..mapping.samples import read_samples

    check_dependencies()
    job = validate_job(job)
    if not job.samples:
        raise InputError("The experiment needs samples (job field 'samples') to compare kappas.")
    chosen = [Strategy(s) if s in STRATEGIES else None for s in (str(x).upper() for x in strategies)]
    if None in chosen:
        raise InputError(f"Unknown strategy in {list(strategies)}; use {', '.join(STRATEGIES)}.")
    names = [str(s) for s in chosen]
    out = Path(job.output_dir) / "experiment"
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps(progress, {"align": 1, **{s: 4 for s in names}, "compare": 1})
    prep = prepare(job, Path(job.output_dir) / "aligned", steps.sub("align"), is_cancelled)
    inputs = prep.fusion_inputs()
    samples = read_samples(
        job.samples, job.class_field, prep.grid, layer=job.samples_layer, group_field=job.group_field,
        **{**sample_labels(job).kwargs(), "accuracy": "required"},  # the experiment compares kappas: it needs them
    )  # fmt: skip
    options = mapping_options(job, prep.grid)

    early = [str(p.fine) for p in prep.prediction]
    early_dates = [p.date for p in prep.prediction]

    def kappa_of(paths: list[str], extra: list[dt.date]) -> float:  # the job's split for every comparison (seeded)
        filling = options.filling([*early_dates, *extra])  # gaps weighted by the dates' days, as in the run
        accuracy = options.assess(paths, prep.grid, samples, compare_blocks=False, filling=filling).accuracy
        assert accuracy is not None  # the samples were read with the accuracy required
        return accuracy.kappa

    targets = prep.targets
    dates = [t.date.isoformat() for t in targets]
    truths = {t.date: read_array(t.fine) for t in targets if t.fine}
    kappa: dict[str, dict[str, float]] = {"early season": {"-": kappa_of(early, [])}}
    fusion: dict[str, dict[str, dict]] = {}
    for s in names:
        sub = steps.sub(s)
        params = replace(replace(job, strategy=Strategy(s)).tsstfn_params(), forecast=Forecast.INDIVIDUAL)
        model, meta = tsstfn.fit(inputs, params, scaled(sub, 0.0, 0.45), is_cancelled)
        individual = tsstfn.predict(
            model, meta, inputs, params, _namer(out / s, "fused_ndvi"), None, Forecast.INDIVIDUAL,
            None, is_cancelled,
        )  # fmt: skip
        for t, date in zip(targets, dates):
            kappa.setdefault(date, {})[s] = kappa_of(early + [str(individual[t.date])], [t.date])
            if t.date in truths:
                fusion.setdefault(date, {})[f"TSSTFN {s}"] = fusion_metrics(read_array(individual[t.date]), truths[t.date])
        if len(targets) >= 2:
            two = inputs.targets[:2]
            pair_i = [str(individual[t.date]) for t in two]
            kappa.setdefault("individual forecast", {})[s] = kappa_of(early + pair_i, [t.date for t in two])
            # the sequential forecast's own model, trained for the base positions it is applied to
            sequential = replace(params, forecast=Forecast.SEQUENTIAL)
            seq_model, seq_meta = tsstfn.fit(inputs, sequential, scaled(sub, 0.5, 0.95), is_cancelled)
            seq = tsstfn.predict(
                seq_model, seq_meta, inputs, sequential, _namer(out / s, "sequential_ndvi"), two,
                Forecast.SEQUENTIAL, None, is_cancelled,
            )  # fmt: skip
            pair_s = [str(seq[t.date]) for t in two]
            kappa.setdefault("sequential forecast", {})[s] = kappa_of(early + pair_s, [t.date for t in two])
        sub(1.0, "done")
    sub = steps.sub("compare")
    compared = []
    for name in job.compare:
        method = get_method(name)
        compared.append(method.label)
        produced = method.run(inputs, out, job.params_of(name), None, is_cancelled).rasters
        for t, date in zip(targets, dates):
            if t.date in truths:
                fusion.setdefault(date, {})[method.label] = fusion_metrics(read_array(produced[t.date]), truths[t.date])
    sub(1.0, "done")
    result = {
        "strategies": names,
        "compared": compared,
        "dates": dates,
        "kappa": kappa,
        "fusion": fusion,
        "split": options.split_text,
        "two_targets": dates[:2],
    }
    write_tables(result, out)
    return result


def _namer(folder: Path, prefix: str) -> Callable[[dt.date], Path]:
    def path_of(date: dt.date) -> Path:
        return folder / f"{prefix}_{date:%Y%m%d}.tif"

    return path_of


def write_tables(result: dict, out: Path) -> None:
    """The experiment's tables (Markdown and CSV), its JSON and its figure, into ``out``."""
    strategies = result["strategies"]
    # Table 2: fusion quality
    methods = [*result["compared"], *[f"TSSTFN {s}" for s in strategies]]
    lines = [
        "# Fused NDVI against the real fine image (paper Table 2)",
        "",
        "SSIM: scikit-image, data_range = 2.0",
        "",
        "| date | metric | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    rows = []
    for date, by_method in result["fusion"].items():
        for metric in ("rmse", "ssim"):
            vals = [by_method.get(m, {}).get(metric, np.nan) for m in methods]
            lines.append(f"| {date} | {metric.upper()} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
            rows.append([date, metric, *vals])
    write_text(out / "table_fusion.md", "\n".join(lines) + "\n")
    _csv(out / "table_fusion.csv", ["date", "metric", *methods], rows)
    # Tables 3-5: kappa
    k = result["kappa"]
    two = " + ".join(result["two_targets"])
    lines = [
        "# Kappa (%) with and without fused NDVI (paper Tables 3-5)",
        "",
        f"Split: {result['split']}",
        "",
        "| inputs | without fusion | " + " | ".join(strategies) + " |",
        "|---|---|" + "---|" * len(strategies),
        f"| early season | {100 * k['early season']['-']:.2f} |" + " |" * len(strategies),
    ]
    rows = [["early season", k["early season"]["-"], *[np.nan] * len(strategies)]]
    for key in [*result["dates"], "individual forecast", "sequential forecast"]:
        if key not in k:
            continue
        label = f"early + {key}" if key in result["dates"] else f"early + {two} ({key})"
        lines.append(f"| {label} | | " + " | ".join(f"{100 * k[key][s]:.2f}" for s in strategies) + " |")
        rows.append([label, np.nan, *[k[key][s] for s in strategies]])
    write_text(out / "table_kappa.md", "\n".join(lines) + "\n")
    _csv(out / "table_kappa.csv", ["inputs", "without fusion", *strategies], rows)
    write_text(out / "experiment.json", json.dumps(result, indent=2, default=float))
    plot_kappa(result, out / "figure_kappa.png")


def plot_kappa(result: dict, path: Path) -> None:
    """Figure 13's bar chart: kappa per strategy, with early season only as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = result["kappa"]
    groups = [g for g in [*result["dates"], "individual forecast", "sequential forecast"] if g in k]
    strategies = result["strategies"]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    width = 0.8 / len(strategies)
    for i, s in enumerate(strategies):
        ax.bar(np.arange(len(groups)) + i * width, [100 * k[g][s] for g in groups], width, label=s)
    ax.axhline(100 * k["early season"]["-"], color="black", linestyle="--", label="early season only")
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, fontsize=8)
    ax.set_ylabel("kappa (%)")
    lo = min(100 * k["early season"]["-"], *(100 * k[g][s] for g in groups for s in strategies))
    ax.set_ylim(max(0, lo - 10), 100)
    ax.legend(fontsize=7, ncol=3)
    ax.set_title("Kappa with one or two fused predictions (cf. the paper's Figure 13)", fontsize=9)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _csv(path: Path, header: list, rows: list) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([f"{v:.4f}" if isinstance(v, float) else v for v in r])
