"""The run report: fusion scores per method and date, kappa, the split used, the outputs (Markdown + JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import write_text
from ..fusion.methods import METHODS
from ..mapping.area import area_markdown
from ..mapping.workflow import UNMAPPED_WARNING, unmapped_note
from .job import Job, job_to_dict
from .result import JobResult


def method_label(name: str) -> str:
    """What reports call the fusion method ``name`` (its registry label)."""
    method = METHODS.get(name)
    return method.label if method else name


def write_run_report(job: Job, result: JobResult) -> Path:
    """``report/run_report.md`` and ``report/run_report.json`` of a finished run; returns the Markdown's path.

    Order: the crop maps' accuracy and areas, then the fused NDVI's scores and uncertainty, then the outputs.
    """
    out = result.output_dir
    lines = [
        f"# TSSTFN Crop Mapper run: {job.name}",
        "",
        f"- strategy {job.strategy}, {job.n_base} base pairs, {job.forecast} forecast",
        f"- model: {result.model.name if result.model else '-'}",
        f"- run time {result.seconds:.0f} s"
        + (" (" + ", ".join(f"{k} {v:.0f} s" for k, v in result.stage_seconds.items()) + ")" if result.stage_seconds else ""),
        f"- reused from a stopped run (complete and verified): {', '.join(result.reused)}" if result.reused else "",
        f"- aligned intermediates: {result.intermediates_gb:.2f} GB"
        + (", kept in 'aligned'" if job.keep_intermediates else ", removed after the run"),
        "",
    ]
    if result.accuracy:
        lines += _classification(result)
    for key, title in (
        ("fused", "Area of each class: crop map with fused NDVI"),
        ("fields", "Area of each class: per-field map"),
    ):
        if key in result.areas:
            lines += area_markdown(result.areas[key], title)
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
    if result.uncertainty:
        lines += [
            "## Uncertainty of the fused NDVI",
            "",
            f"uncertainty_YYYYMMDD.tif: per-pixel standard deviation of {job.mc_passes} Monte-Carlo dropout passes of "
            "the network (its channel dropout on, batch norm fixed); the fused NDVI itself is the deterministic pass.",
            "",
        ]
    written = [*result.fused.values(), *result.uncertainty.values()]
    written += [p for by_date in result.compared.values() for p in by_date.values()]
    maps = [result.crop_map, result.confidence, *result.vectors, *result.pixel_areas.values()]
    if result.field_map is not None:
        maps += [result.field_map.raster, *result.field_map.vectors]
    lines += ["## Outputs", ""] + [f"- {p.name}" for p in [*written, *maps] if p]
    path = write_text(out / "report" / "run_report.md", "\n".join(lines) + "\n")
    summary = {
        "job": job_to_dict(job),
        "fusion_metrics": {d.isoformat(): by_method for d, by_method in result.fusion_metrics.items()},
        "accuracy": result.accuracy,
        "areas": {k: v.as_dict() for k, v in result.areas.items()},
        "seconds": result.seconds,
        "stage_seconds": result.stage_seconds,
        "reused": result.reused,
        "intermediates_gb": result.intermediates_gb,
        "outputs": {
            "fused": {d.isoformat(): str(p) for d, p in result.fused.items()},
            "compared": {name: {d.isoformat(): str(p) for d, p in by.items()} for name, by in result.compared.items()},
            "crop_map": str(result.crop_map) if result.crop_map else None,
            "uncertainty": {d.isoformat(): str(p) for d, p in result.uncertainty.items()},
            "confidence": str(result.confidence) if result.confidence else None,
            "field_map": str(result.field_map.raster) if result.field_map else None,
            "pixel_areas": {k: str(v) for k, v in result.pixel_areas.items()},
            "vectors": [str(v) for v in result.vectors],
            "model": str(result.model) if result.model else None,
        },
    }
    write_text(out / "report" / "run_report.json", json.dumps(summary, indent=2, default=float))
    return path


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.2f} %"


def _classification(result: JobResult) -> list[str]:
    """The kappa table (the chosen split, spatial blocks, k-fold by block) with its notes."""
    lines = [
        "## Crop classification",
        "",
        "| inputs | overall accuracy | kappa | kappa, split by spatial blocks | kappa, k-fold by block (mean ± sd) "
        "| pixels mapped |",
        "|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    not_measured = sorted({a["not_measured"] for a in result.accuracy.values() if a.get("not_measured")})
    for label, a in result.accuracy.items():
        folds = a.get("fold_kappas") or []
        kfold = f"{100 * sum(folds) / len(folds):.2f} ± {100 * _sd(folds):.2f} % ({len(folds)} folds)" if folds else "-"
        block = _pct(a["block_kappa"]) if "block_kappa" in a else "-"
        mapped = a.get("mapped_fraction")
        lines.append(f"| {label} | {_pct(a['overall_accuracy'])} | {_pct(a['kappa'])} | {block} | {kfold} | {_pct(mapped)} |")
        notes += [f"{label}: {n}" for n in a.get("notes", [])]
        if mapped is not None and mapped < 1 - UNMAPPED_WARNING:
            notes.append(f"{label}: {unmapped_note(mapped)}")
    lines += ["", f"Split: {next(iter(result.accuracy.values()))['split']}", ""]
    lines += [f"**{n[:1].upper()}{n[1:]}.** No kappa, confusion matrix or error-adjusted areas." for n in not_measured]
    lines += [""] if not_measured else []
    fields = result.accuracy.get("fields")
    if fields and "per_field_kappa" in fields:
        lines += [
            f"Per-field map: kappa {_pct(fields['kappa'])} on the test pixels inside the fields, "
            f"{_pct(fields['per_field_kappa'])} with one vote per test field ({fields['n_test_fields']} fields).",
            "",
        ]
    lines += [f"- Note: {n}" for n in notes] + ([""] if notes else [])
    lines += ["Details: report/accuracy_early.md, report/accuracy_fused.md", ""]
    return lines


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
