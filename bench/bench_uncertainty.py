"""Does TSSTFN's MC-dropout uncertainty rank its errors? Mean |error| by quintile of the predicted std.

    .venv/bin/python bench/bench_uncertainty.py [--demo demo_output] [--passes 8] [--skip-real]

1. The demo scene (``python -m tsstfn_crop_mapper demo`` first): the demo's trained model predicts
   each target with uncertainty; the error is against the scene's cloud-free truth (``truth/``).
2. The real Landsat/MODIS sets of ``../shared/data/real`` (``bench/datasets/*.json``), through the
   ``benchmark`` command's own code with ``mc_passes`` set: TSSTFN trained on each set's season,
   each target held out.

Prints one table per dataset and target (std quintile, mean std, mean |error|, pixels) and the
Spearman rank correlation of std and |error| (positive: more uncertainty, more error).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def table(name: str, date: str, cal: dict) -> None:
    print(f"\n{name}, {date}: Spearman rho(std, |error|) = {cal['spearman']:+.3f} over {cal['n']} pixels")
    print("| std quintile | std range | mean std | mean abs error | pixels |")
    print("|---|---|---|---|---|")
    for k, b in enumerate(cal["bins"], 1):
        print(f"| {k} | {b['std_low']:.4f}-{b['std_high']:.4f} | {b['mean_std']:.4f} | {b['mean_abs_error']:.4f} | {b['n']} |")


def demo(demo_dir: Path, passes: int) -> None:
    from tsstfn_crop_mapper.core.files import read_array
    from tsstfn_crop_mapper.core.fusion import tsstfn
    from tsstfn_crop_mapper.core.fusion.metrics import error_by_uncertainty
    from tsstfn_crop_mapper.core.pipeline.job import load_job
    from tsstfn_crop_mapper.core.pipeline.run import prepare

    job = load_job(demo_dir / "demo_job.json")
    model_path = Path(job.output_dir) / f"{job.name}.tsstfn"
    if not model_path.exists():
        raise SystemExit(f"'{model_path}' not found: run the demo first (see this script's docstring).")
    truth = json.loads((demo_dir / "scene" / "scene.json").read_text())["truth"]
    with tempfile.TemporaryDirectory() as tmp:
        prep = prepare(job, Path(tmp) / "aligned")
        params = replace(job.tsstfn_params(), model=str(model_path), mc_passes=passes)
        model, meta = tsstfn.load(params)
        t0 = time.perf_counter()
        fused = tsstfn.predict(
            model, meta, prep.fusion_inputs(), params, lambda d: Path(tmp) / f"f_{d:%Y%m%d}.tif",
            uncertainty_path_of=lambda d: Path(tmp) / f"u_{d:%Y%m%d}.tif",
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        print(f"demo scene: {len(fused)} targets with {passes} MC passes each in {seconds:.1f} s")
        for date, path in fused.items():
            cal = error_by_uncertainty(
                read_array(path), read_array(Path(tmp) / f"u_{date:%Y%m%d}.tif"),
                read_array(demo_dir / "scene" / truth[date.isoformat()]),
            )  # fmt: skip
            table("demo scene", date.isoformat(), cal)


def real(passes: int) -> None:
    from tsstfn_crop_mapper.core.pipeline.benchmark import load_benchmark, run_benchmark

    for name in ("kranj_2020", "estarfm_2001"):
        path = ROOT / "datasets" / f"{name}.json"
        try:
            spec = load_benchmark(path)
        except Exception as exc:  # noqa: BLE001 (../shared absent: say so and go on)
            print(f"\n{name}: skipped ({exc})")
            continue
        spec = replace(spec, methods=("tsstfn",), mc_passes=passes)
        with tempfile.TemporaryDirectory() as tmp:
            result = run_benchmark(spec, tmp)
        for date, cal in result.calibration.items():
            table(name, date, cal)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("demo_output"))
    ap.add_argument("--passes", type=int, default=8)
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
    demo(args.demo, args.passes)
    if not args.skip_real:
        real(args.passes)


if __name__ == "__main__":
    main()
