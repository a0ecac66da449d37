"""Command line: ``python -m tsstfn_crop_mapper <command>`` (the same core functions as the plugin)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from .errors import TsstfnError


def _scene(args: argparse.Namespace) -> None:
    from .demo.synthetic import generate_scene

    manifest = generate_scene(args.out, size=args.size, seed=args.seed)
    print(f"synthetic two-season scene written to {args.out} ({manifest['size']} x {manifest['size']} px); see scene.json")


def _print_progress(fraction: float, message: str) -> None:
    print(f"[{100 * fraction:5.1f} %] {message}", flush=True)


def _summary(result) -> None:  # noqa: ANN001 (a JobResult)
    from .pipeline.report import method_label

    print("\nOutputs:")
    for date, path in result.fused.items():
        print(f"  fused NDVI {date}: {path}")
    for name, by_date in result.compared.items():
        for date, path in by_date.items():
            print(f"  {method_label(name)} NDVI {date}: {path}")
    if result.crop_map:
        print(f"  crop map: {result.crop_map}")
    for v in result.vectors:
        print(f"  crop polygons: {v}")
    if result.model:
        print(f"  model: {result.model}")
    print(f"  report: {result.report}")
    for label, a in result.accuracy.items():
        print(f"  kappa ({label}): {100 * a['kappa']:.2f} %")


def _run(args: argparse.Namespace) -> None:
    from .pipeline.job import load_job
    from .pipeline.run import run_job

    _summary(run_job(load_job(args.job), progress=_print_progress))


def _experiment(args: argparse.Namespace) -> None:
    from .pipeline.experiment import run_experiment
    from .pipeline.job import load_job

    job = load_job(args.job)
    run_experiment(job, [s.strip() for s in args.strategies.split(",")], progress=_print_progress)
    print(f"tables and figure in {Path(job.output_dir) / 'experiment'}")


def _benchmark(args: argparse.Namespace) -> None:
    from .pipeline.benchmark import load_benchmark, run_benchmark, summary

    result = run_benchmark(load_benchmark(args.dataset), args.out, progress=_print_progress)
    print(summary(result))
    print(f"\n{result.csv}\n{result.markdown}\n" + "\n".join(str(p) for p in result.figures))


def _demo(args: argparse.Namespace) -> None:
    from .demo.job import prepare_demo
    from .pipeline.run import run_job

    out = Path(args.out).resolve()
    job = prepare_demo(out, args.size, args.seed, args.strategy)
    print(f"demo scene: {out / 'scene'} (scene.json lists every file and its role)")
    print(f"job file: {out / 'demo_job.json'} (re-run with: python -m tsstfn_crop_mapper run {out / 'demo_job.json'})")
    _summary(run_job(job, progress=_print_progress))


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``scene``, ``demo``, ``run``, ``experiment`` and ``benchmark``."""
    parser = argparse.ArgumentParser(prog="python -m tsstfn_crop_mapper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scene", help="write the synthetic two-season scene")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_scene)
    p = sub.add_parser("demo", help="generate the demo scene and run the demo job on it")
    p.add_argument("--out", default="demo_output")
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--strategy", default="STR_B")
    p.set_defaults(func=_demo)
    p = sub.add_parser("run", help="run a job file (JSON or YAML)")
    p.add_argument("job")
    p.set_defaults(func=_run)
    p = sub.add_parser("experiment", help="the paper's comparisons (strategies, one vs two predictions) on a job's data")
    p.add_argument("job")
    p.add_argument("--strategies", default="STR_A,STR_B,STR_C,STR_D,STR_E")
    p.set_defaults(func=_experiment)
    p = sub.add_parser(
        "benchmark", help="hold out each target of a paired dataset; score TSSTFN, STARFM and the baselines against it"
    )
    p.add_argument("dataset", help="dataset file (JSON or YAML): pairs, targets (see docs/benchmarks.md)")
    p.add_argument("--out", required=True, help="output folder: benchmark.csv, benchmark.md, one PNG per target")
    p.set_defaults(func=_benchmark)
    return parser


class Stopped(BaseException):
    """SIGTERM (or SIGINT) arrived: unwind, so that every atomic write removes its temporary file."""

    def __init__(self, signum: int) -> None:
        """Record which signal stopped the run."""
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success; 2 with one clear message for a user error; 128 + the signal number (130 for
    Ctrl+C, 143 for SIGTERM) with one line when stopped, after the half-written files are removed.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        args.func(args)
    except TsstfnError as exc:  # a clear message, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Stopped, KeyboardInterrupt) as exc:
        print("stopped; nothing half-written was left", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
