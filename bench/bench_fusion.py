"""Fusion quality and crop-mapping accuracy on the synthetic two-season scene: the paper's
comparisons (Tables 2-5, Figure 13) run by the experiment mode.

    .venv/bin/python bench/bench_fusion.py [--size 384] [--out bench_output/fusion] [--log]
    .venv/bin/python bench/bench_fusion.py --strategies STR_B --train extra_labels=false --train patch=32 ...

The second form measures a training variant: ``--train KEY=VALUE`` sets any ``TrainConfig`` field
over the demo's (``DEMO_TRAIN``, the value as JSON); ``--output``, ``--augment``, ``--starfm-blend``,
``--width`` and ``--max-epochs`` are shorthands kept for the commands docs/benchmarks.md records.
``--log`` prints the training log (epochs, validation, the blend's weights).

Prints the tables; they are also written to <out>/run/experiment/. CPU, about 40 minutes at 384 px
for the five strategies, 8 for one.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from tsstfn_crop_mapper.core.demo.job import DEMO_TRAIN, scene_job
from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
from tsstfn_crop_mapper.core.pipeline.experiment import run_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--split", default="random", choices=["random", "field"])
    parser.add_argument("--out", default="bench_output/fusion")
    parser.add_argument("--strategies", default="STR_A,STR_B,STR_C,STR_D,STR_E")
    parser.add_argument("--output", default=None, help="train.output over DEMO_TRAIN's (e.g. change_residual)")
    parser.add_argument("--augment", action="store_true", help="train.augment over DEMO_TRAIN's")
    parser.add_argument("--starfm-blend", action="store_true", help="train.starfm_blend over DEMO_TRAIN's")
    parser.add_argument("--width", type=int, default=None, help="train.width over DEMO_TRAIN's")
    parser.add_argument("--max-epochs", type=int, default=None, help="train.max_epochs over DEMO_TRAIN's")
    parser.add_argument(
        "--train", action="append", default=[], metavar="KEY=VALUE",
        help="any TrainConfig field over DEMO_TRAIN's, the value as JSON (e.g. patch=128, both_directions=true)",
    )  # fmt: skip
    parser.add_argument("--log", action="store_true", help="print the training log (epochs, validation, blend weights)")
    args = parser.parse_args()
    if args.log:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        logging.getLogger("tsstfn").setLevel(logging.INFO)
    train = DEMO_TRAIN if args.output is None else replace(DEMO_TRAIN, output=args.output)
    train = replace(train, augment=True) if args.augment else train
    train = replace(train, starfm_blend=True) if args.starfm_blend else train
    train = replace(train, width=args.width) if args.width else train
    train = replace(train, max_epochs=args.max_epochs) if args.max_epochs else train
    for item in args.train:
        key, _, value = item.partition("=")
        train = replace(train, **{key: json.loads(value)})
    out = Path(args.out).resolve()
    generate_scene(out / "scene", size=args.size, seed=args.seed)
    job = scene_job(out / "scene", out / "run", train=train, split=args.split)
    t0 = time.perf_counter()
    run_experiment(job, [s.strip() for s in args.strategies.split(",")], progress=None)
    print(f"scene {args.size} x {args.size} px, seed {args.seed}, TrainConfig {train}, split {args.split}")
    print(f"total {time.perf_counter() - t0:.0f} s\n")
    for name in ("table_fusion.md", "table_kappa.md"):
        print((out / "run" / "experiment" / name).read_text())


if __name__ == "__main__":
    main()
