"""The run report: fusion scores per method and date, kappa, the split used, the outputs (Markdown + JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import write_text
from ..fusion.methods import METHODS
from .job import Job, job_to_dict
from .run import JobResult


def method_label(name: str) -> str:
    """What reports call the fusion method ``name`` (its registry label)."""
    method = METHODS.get(name)
    return method.label if method else name


def write_run_report(job: Job, result: JobResult) -> Path:
    """``report/run_report.md`` and ``report/run_report.json`` of a finished run; returns the Markdown's path."""
    out = result.output_dir
    lines = [
        f"# TSSTFN Crop Mapper run: {job.name}",
        "",
        f"- strategy {job.strategy}, {job.n_base} base pairs, {job.forecast} forecast",
        f"- model: {result.model.name if result.model else '-'}",
        f"- run time {result.seconds:.0f} s",
        "",
    ]
    if result.fusion_metrics:
        lines += [
            "## Fused NDVI against the real fine image (SSIM data_range = 2.0)",
            "",
            "| date | method | RMSE | MAE | bias | R² | SSIM | pixels |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for date, methods in result.fusion_metrics.items():
            for name, m in methods.items():
                cells = f"{m['rmse']:.4f} | {m['mae']:.4f} | {m['bias']:+.4f} | {m['r2']:.3f} | {m['ssim']:.4f} | {m['n']}"
                lines.append(f"| {date.isoformat()} | {method_label(name)} | {cells} |")
        lines.append("")
    if result.accuracy:
        lines += ["## Crop classification", "", "| inputs | overall accuracy | kappa |", "|---|---|---|"]
        for label, a in result.accuracy.items():
            lines.append(f"| {label} | {100 * a['overall_accuracy']:.2f} % | {100 * a['kappa']:.2f} % |")
        lines += [
            "",
            f"Split: {next(iter(result.accuracy.values()))['split']}",
            "",
            "Details: report/accuracy_early.md, report/accuracy_fused.md",
            "",
        ]
    written = [*result.fused.values(), *(p for by_date in result.compared.values() for p in by_date.values())]
    lines += ["## Outputs", ""] + [f"- {p.name}" for p in [*written, result.crop_map, *result.vectors] if p]
    path = write_text(out / "report" / "run_report.md", "\n".join(lines) + "\n")
    summary = {
        "job": job_to_dict(job),
        "fusion_metrics": {d.isoformat(): by_method for d, by_method in result.fusion_metrics.items()},
        "accuracy": result.accuracy,
        "seconds": result.seconds,
        "outputs": {
            "fused": {d.isoformat(): str(p) for d, p in result.fused.items()},
            "compared": {name: {d.isoformat(): str(p) for d, p in by.items()} for name, by in result.compared.items()},
            "crop_map": str(result.crop_map) if result.crop_map else None,
            "vectors": [str(v) for v in result.vectors],
            "model": str(result.model) if result.model else None,
        },
    }
    write_text(out / "report" / "run_report.json", json.dumps(summary, indent=2, default=float))
    return path
