"""Peak memory of a whole run against the scene size: does memory stay flat?

    .venv/bin/python bench/bench_memory.py [--sizes 768,1536,3072] [--scenes bench_output/scenes]
    .venv/bin/python bench/bench_memory.py --sizes 10980 --samples-per-epoch 4000 --no-starfm   # a whole tile

For each size (one at a time is fine: the sizes measured so far are kept in ``<work>/rows.json``
and the table lists them all): the synthetic scene (written once, reused), then ``python -m tsstfn_crop_mapper run``
on it in a fresh process (network width 8, 64 px patches, one epoch, STARFM on, MC-dropout off),
measured by GNU time (peak resident set size of the process). Prints a Markdown table with the
peak RSS, its ratio to the smallest scene's, the wall time of each stage, the disk the aligned
intermediates took, and the dialog's memory estimate for the same job (docs/benchmarks.md,
"Memory against scene size"). ``--samples-per-epoch`` trains on that many patches per epoch (a
whole tile's 350k patches take hours per epoch on a CPU), ``--no-starfm`` leaves STARFM out; rows
measured with other settings are listed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_size(
    size: int, scenes: Path, work: Path, samples_per_epoch: int | None = None, starfm: bool = True, resume: bool = False
) -> dict:
    """Generate (once) and run the scene of ``size`` px (``resume``: continue a stopped run); returns the measurements."""
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.pipeline.job import save_job

    scene = scenes / f"scene_{size}"
    if not (scene / "scene.json").exists():
        generate_scene(scene, size=size, seed=42)
    train = TrainConfig(
        width=8, patch=64, batch_size=16, max_epochs=1, patience=1, cl_paths=3, samples_per_epoch=samples_per_epoch
    )
    out = work / f"run_{size}"
    if not resume:
        shutil.rmtree(out, ignore_errors=True)  # a fresh run: nothing reused from an earlier one
    compare = ["starfm"] if starfm else []
    job = scene_job(scene, out, train=train, compare=compare, uncertainty=False, name=f"mem_{size}", formats=["gtiff"])
    job_path = save_job(job, work / f"job_{size}.json")
    cmd = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "tsstfn_crop_mapper", "run", str(job_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"run of {size} px failed:\n{proc.stderr[-3000:]}")
    rss_kb, wall = proc.stderr.strip().splitlines()[-1].split()
    report = json.loads((out / "report" / "run_report.json").read_text())
    return {
        "size": size,
        "settings": settings(samples_per_epoch, starfm),
        "rss_gb": int(rss_kb) / 1024**2,
        "wall_s": float(wall),
        "stages": report["stage_seconds"],
        "intermediates_gb": report["intermediates_gb"],
        "job": str(job_path),
        "kappa": report["accuracy"]["fused"]["kappa"],
        "reused": len(report.get("reused", [])),
    }


_SPEED: list = []


def estimate(job, size: int):
    """The dialog's estimate for ``job`` over a ``size`` px scene, with *Measure speed*'s probe (run once)."""
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_run, measure_speed

    if not _SPEED:
        _SPEED.append(measure_speed(8, 64, job.n_base, "cpu", cl_paths=3))
    n_pairs = len(job.reference) + len(job.prediction)  # as the dialog counts them
    spe = job.train.samples_per_epoch
    return estimate_run(
        size,
        size,
        n_pairs,
        len(job.targets),
        job.n_base,
        8,
        64,
        1,
        "cpu",
        _SPEED[0],
        patience=1,
        samples_per_epoch=spe,
        compare=job.compare,
    )


def settings(samples_per_epoch: int | None, starfm: bool) -> str:
    """How a row differs from the default measurement (empty when it does not)."""
    parts = ([f"{samples_per_epoch} patches/epoch"] if samples_per_epoch else []) + ([] if starfm else ["no STARFM"])
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="768,1536,3072")
    parser.add_argument("--scenes", default=str(ROOT / "bench_output" / "scenes"))
    parser.add_argument("--work", default=str(ROOT / "bench_output" / "memory"))
    parser.add_argument("--samples-per-epoch", type=int, default=None, help="training patches per epoch (default: all)")
    parser.add_argument("--no-starfm", action="store_true", help="leave STARFM out of the run")
    parser.add_argument(
        "--resume", action="store_true", help="continue a stopped run of the same job (stages it finished are reused)"
    )
    args = parser.parse_args()
    scenes, work = Path(args.scenes), Path(args.work)
    scenes.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    measured = work / "rows.json"  # every size measured so far (a later run of a size replaces it)
    by_size = {r["size"]: r for r in json.loads(measured.read_text())} if measured.exists() else {}
    for size in (int(s) for s in args.sizes.split(",") if s):  # --sizes "": print the table of the rows measured
        by_size[size] = run_size(size, scenes, work, args.samples_per_epoch, not args.no_starfm, args.resume)
        print(json.dumps(by_size[size]), file=sys.stderr, flush=True)
        measured.write_text(json.dumps(list(by_size.values()), indent=1))
    rows = [by_size[k] for k in sorted(by_size)]
    base = rows[0]["rss_gb"]
    stages = list(dict.fromkeys(s for r in rows for s in r["stages"]))
    print(f"cores: {os.cpu_count()}; width 8, patch 64, 1 epoch, STARFM on, uncertainty off")
    print()
    head = "| scene (px) | settings | peak RSS (GB) | vs smallest | estimate (GB) | wall (min) | estimate (min) | actual / estimate | "
    print(head + " | ".join(f"{s} (s)" for s in stages) + " | aligned (GB) | kappa (%) |")
    print("|---" * (10 + len(stages)) + "|")
    for r in rows:
        from tsstfn_crop_mapper.core.pipeline.job import load_job

        est = estimate(load_job(r.get("job") or work / f"job_{r['size']}.json"), r["size"])  # the estimate of today's code
        cells = " | ".join(f"{r['stages'].get(s, 0):.0f}" for s in stages)
        minutes = r["wall_s"] / 60
        print(
            f"| {r['size']} | {r.get('settings') or '-'} | {r['rss_gb']:.2f} | {r['rss_gb'] / base:.2f}x | {est.memory_gb:.2f} | "
            f"{minutes:.1f} | {est.minutes:.1f} | memory {r['rss_gb'] / est.memory_gb:.2f}, time {minutes / est.minutes:.2f} | "
            f"{cells} | {r['intermediates_gb']:.2f} | {100 * r['kappa']:.1f} |"
        )


if __name__ == "__main__":
    main()
