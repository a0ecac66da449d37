"""The paper's comparisons on any data: early season only vs each strategy (STR_A-E) at each target
date, and one prediction vs two (individual vs sequential forecast).

Writes, into ``<output_dir>/experiment/``: ``table_fusion.md/.csv`` (shaped like the paper's
Table 2: RMSE and SSIM of STARFM and of TSSTFN with each strategy, per target date),
``table_kappa.md/.csv`` (Tables 3-5: kappa of the early season and of each strategy with one or two
predictions) and ``figure_kappa.png`` (Figure 13). All runs share one alignment, one sample split and
one forest configuration, so the differences come from the fused NDVI alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .job import (
    Job,
    ProgressFn,
    Steps,
    crop_accuracy,
    fit_model,
    predict_targets,
    prepare,
    split_description,
    starfm_to_file,
    validate_job,
)
from .raster import atomic_output
from .strategies import STRATEGIES


def run_experiment(
    job: Job,
    strategies: Sequence[str] = STRATEGIES,
    progress: ProgressFn | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
    starfm: bool = True,
) -> dict:
    from . import classify
    from .deps import check_dependencies
    from .metrics import fusion_metrics
    from .raster import read_array

    check_dependencies()
    job = validate_job(job)
    if not job.samples:
        raise ValueError("The experiment needs samples (job field 'samples').")
    out = Path(job.output_dir) / "experiment"
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps(progress, {"align": 1, **{s: 4 for s in strategies}, "starfm": 1})
    prep = prepare(job, Path(job.output_dir) / "aligned", steps.sub("align"), is_cancelled)
    samples = classify.read_samples(job.samples, job.class_field, prep.grid, group_field=job.group_field)
    split = classify.split(samples, job.split, job.test_fraction, job.forest.random_state)
    early = [p.sentinel2 for p in prep.prediction]
    targets = prep.targets
    dates = [t.date.isoformat() for t in targets]
    kappa: dict[str, dict[str, float]] = {"early season": {"-": crop_accuracy(job, prep, samples, split, early)[1].kappa}}
    fusion: dict[str, dict[str, dict]] = {}
    for s in strategies:
        sub = steps.sub(s)
        sjob = replace(job, strategy=s)
        model, meta = fit_model(sjob, prep, lambda f, m, sub=sub: sub(0.7 * f, m), is_cancelled)
        individual = predict_targets(model, meta, sjob, prep, targets, "individual", out / s, "fused_ndvi", None, is_cancelled)
        for t, date in zip(targets, dates):
            kappa.setdefault(date, {})[s] = crop_accuracy(job, prep, samples, split, early + [str(individual[date])])[1].kappa
            if t.sentinel2:
                fusion.setdefault(date, {})[f"TSSTFN {s}"] = fusion_metrics(read_array(individual[date]), read_array(t.sentinel2))
        if len(targets) >= 2:
            two = targets[:2]
            pair_i = [str(individual[t.date.isoformat()]) for t in two]
            kappa.setdefault("individual forecast", {})[s] = crop_accuracy(job, prep, samples, split, early + pair_i)[1].kappa
            seq = predict_targets(model, meta, sjob, prep, two, "sequential", out / s, "sequential_ndvi", None, is_cancelled)
            pair_s = [str(seq[t.date.isoformat()]) for t in two]
            kappa.setdefault("sequential forecast", {})[s] = crop_accuracy(job, prep, samples, split, early + pair_s)[1].kappa
        sub(1.0, "done")
    sub = steps.sub("starfm")
    for t, date in zip(targets, dates):
        if not t.sentinel2:
            continue
        truth = read_array(t.sentinel2)
        latest = max((p for p in prep.prediction if p.date < t.date), key=lambda p: p.date)
        fusion[date]["MODIS cubic"] = fusion_metrics(read_array(t.modis), truth)
        fusion[date]["latest clear Sentinel-2"] = fusion_metrics(read_array(latest.sentinel2), truth)
        if starfm:
            path = starfm_to_file(latest, t, prep.grid, out / f"starfm_ndvi_{t.date:%Y%m%d}.tif", is_cancelled)
            fusion[date]["STARFM"] = fusion_metrics(read_array(path), truth)
    sub(1.0, "done")
    result = {
        "strategies": list(strategies),
        "dates": dates,
        "kappa": kappa,
        "fusion": fusion,
        "split": split_description(job),
        "two_targets": dates[:2],
    }
    write_tables(result, out)
    return result


def write_tables(result: dict, out: Path) -> None:
    strategies = result["strategies"]
    # Table 2: fusion quality
    methods = ["MODIS cubic", "latest clear Sentinel-2", "STARFM", *[f"TSSTFN {s}" for s in strategies]]
    lines = [
        "# Fused NDVI against the real Sentinel-2 (paper Table 2)",
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
    _write(out / "table_fusion.md", "\n".join(lines) + "\n")
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
    _write(out / "table_kappa.md", "\n".join(lines) + "\n")
    _csv(out / "table_kappa.csv", ["inputs", "without fusion", *strategies], rows)
    _write(out / "experiment.json", json.dumps(result, indent=2, default=float))
    plot_kappa(result, out / "figure_kappa.png")


def plot_kappa(result: dict, path: Path) -> None:
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


def _write(path: Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _csv(path: Path, header, rows) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([f"{v:.4f}" if isinstance(v, float) else v for v in r])
