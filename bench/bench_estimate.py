"""The dialog's time estimate against measured runs: three network sizes on the synthetic scene.

    .venv/bin/python bench/bench_estimate.py [--size 192] [--device cpu]

For each configuration: the speed probe the dialog runs ('Measure speed': a few training steps and
predictions on random patches), the estimate it then shows (a range over the epochs early stopping
may train), the uncalibrated FLOP-based guess it showed before, and the measured wall time of the
whole run (alignment, training, prediction, forest, reports) with the epochs actually trained.
Prints a Markdown table (docs/benchmarks.md, "Time estimates").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

CONFIGS = [  # width, patch, max_epochs
    (4, 32, 30),
    (8, 64, 30),
    (16, 64, 40),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_run, measure_speed
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    work = Path(tempfile.mkdtemp(prefix="bench_estimate_"))
    generate_scene(work / "scene", size=args.size, seed=3)
    rows = []
    for width, patch, epochs in CONFIGS:
        train = TrainConfig(width=width, patch=patch, max_epochs=epochs, device=args.device)
        job = scene_job(work / "scene", work / f"run_w{width}_p{patch}", train=train, n_base=5, compare=[])
        n_pairs = len(job.reference) + len(job.prediction)
        t = time.perf_counter()
        speed = measure_speed(width, patch, job.n_base, args.device, train.batch_size, train.cl_paths)
        probe_s = time.perf_counter() - t
        est = estimate_run(args.size, args.size, n_pairs, len(job.targets), job.n_base, width, patch, epochs,
                           args.device, speed, train.patience)  # fmt: skip
        guess = estimate_run(args.size, args.size, n_pairs, len(job.targets), job.n_base, width, patch, epochs, args.device)
        t = time.perf_counter()
        run_job(replace(job, uncertainty="off"))
        actual = (time.perf_counter() - t) / 60
        low, high = est.minutes_range
        inside = "yes" if low <= actual <= high else "no"
        rows.append((width, patch, epochs, probe_s, guess.minutes, low, high, actual, inside))
    print(f"\nSynthetic scene {args.size} x {args.size} px, 5 base pairs, 3 targets, device {args.device}\n")
    print("| width | patch | max epochs | probe (s) | old guess (min) | estimate (min) | actual (min) | inside |")
    print("|---|---|---|---|---|---|---|---|")
    for w, p, e, probe, g, lo, hi, act, ins in rows:
        print(f"| {w} | {p} | {e} | {probe:.1f} | {g:.1f} | {lo:.1f} to {hi:.1f} | {act:.1f} | {ins} |")


if __name__ == "__main__":
    main()
