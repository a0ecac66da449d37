"""The dialog's time estimate against measured runs: the synthetic scene, and the real sets of ../shared.

    .venv/bin/python bench/bench_estimate.py [--size 192] [--device cpu]          # synthetic, three network sizes
    .venv/bin/python bench/bench_estimate.py --real [--epochs 3] [--only kranj]   # the real sets' jobs

For each job: the speed probe the dialog runs ('Measure speed': a few training steps and
predictions on random patches of the job's own network), the estimate it then shows
(``core.pipeline.estimate.estimate_job``, or ``estimate_benchmark`` for a dataset: a range over the
epochs early stopping may train), and the measured wall time of the whole run in this process
(alignment, training, prediction, compared methods, reports). ``--real`` runs the walk-through jobs
of tests/qgis/test_desktop_real.py (the dialog's settings after Fill: ``estarfm``, ``kranj``) and
the benchmark datasets ``bench/datasets/*.json`` (``--epochs`` caps their training, which is
otherwise the datasets' own 30 epochs). Prints a Markdown table (docs/benchmarks.md, "Estimates
against measured time").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
CONFIGS = [  # width, patch, max_epochs
    (4, 32, 30),
    (8, 64, 30),
    (16, 64, 40),
]


def _pair(path: Path, bands: tuple[int, int], scale: float) -> dict:
    return {"path": str(path), "red_band": bands[0], "nir_band": bands[1], "scale": scale}


def walk_through_jobs(out: Path, epochs: int) -> dict[str, dict]:
    """The jobs the dialog makes of the real sets in scripts/desktop_real.py (Fill, then what the MANIFEST says)."""
    jobs = {}
    common = {
        "reference": [], "coarse_product": "red_nir", "fine_product": "red_nir", "n_base": 1, "strategy": "STR_A", "uncertainty": "off",
        "train": {"width": 4, "max_epochs": epochs, "samples_per_epoch": 48, "cl_paths": 9, "device": "cpu"},
    }  # fmt: skip
    estarfm = REAL / "estarfm_2001_landsat_modis"
    if estarfm.exists():
        rows = [{"date": d, "coarse": _pair(estarfm / f"modis{s}", (2, 3), 1e-4), "fine": _pair(estarfm / f"tm{s}", (2, 3), 1e-4)}
                for d, s in (("2001-05-24", "0524"), ("2001-07-11", "0711"), ("2001-08-12", "0812"))]  # fmt: skip
        jobs["estarfm (walk-through)"] = {
            **common, "prediction": rows[:2], "targets": rows[2:], "assume_aligned": True, "pixel_size_m": 30,
            "train": {**common["train"], "patch": 64}, "output_dir": str(out / "estarfm"),
        }  # fmt: skip
    kranj = REAL / "kranj_2020_landsat_modis"
    if kranj.exists():
        landsat = {p.name[:7]: p for p in (kranj / "landsat" / "unfilled").glob("*.tif")}
        modis = sorted((kranj / "modis" / "filled").glob("*.tif"))

        def row(m: Path) -> dict:
            doy = m.name[:7]
            r = {"date": f"{doy[:4]}{doy[4:]}", "coarse": _pair(m, (3, 4), 1.0)}
            return {**r, "fine": _pair(landsat[doy], (3, 4), 1e-4)} if doy in landsat else r

        def date(m: Path) -> str:
            import datetime as dt

            return (dt.date(int(m.name[:4]), 1, 1) + dt.timedelta(int(m.name[4:7]) - 1)).isoformat()

        rows = [{**row(m), "date": date(m)} for m in modis]
        jobs["kranj (walk-through)"] = {
            **common, "prediction": [r for r in rows if r["date"] < "2020-03-20" and "fine" in r],
            "targets": [r for r in rows if r["date"] >= "2020-03-20"], "train": {**common["train"], "patch": 32},
            "output_dir": str(out / "kranj"),
        }  # fmt: skip
    return jobs


def _grid_size(path: str) -> tuple[int, int]:
    from osgeo import gdal

    ds = gdal.Open(path)
    return ds.RasterXSize, ds.RasterYSize


def real(args: argparse.Namespace) -> None:
    from tsstfn_crop_mapper.core.pipeline.benchmark import load_benchmark, run_benchmark
    from tsstfn_crop_mapper.core.pipeline.estimate import estimate_benchmark, estimate_job, measure_speed
    from tsstfn_crop_mapper.core.pipeline.job import job_from_dict
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    work = Path(tempfile.mkdtemp(prefix="bench_estimate_real_"))
    rows = []
    for name, data in walk_through_jobs(work, args.epochs).items():
        if args.only and args.only not in name:
            continue
        job = job_from_dict(data)
        width, height = _grid_size(job.prediction[0].fine.path)
        t = time.perf_counter()
        speed = measure_speed(job.train.width, job.train.patch, job.n_base, "cpu", job.train.batch_size, job.train.cl_paths)
        probe = time.perf_counter() - t
        est = estimate_job(data, width, height, speed)
        t = time.perf_counter()
        run_job(job)
        rows.append((name, f"{width} x {height}", probe, est, (time.perf_counter() - t) / 60))
    for path in sorted((ROOT / "bench" / "datasets").glob("*.json")):
        if args.only and args.only not in path.stem:
            continue
        spec = load_benchmark(path)
        spec = replace(spec, train=replace(spec.train, max_epochs=min(spec.train.max_epochs, args.epochs), device="cpu"))
        width, height = _grid_size(spec.pairs[0].fine.path)
        t = time.perf_counter()
        speed = measure_speed(spec.train.width, spec.train.patch, spec.n_base, "cpu", spec.train.batch_size, spec.train.cl_paths)
        probe = time.perf_counter() - t
        est = estimate_benchmark(spec, width, height, speed)
        t = time.perf_counter()
        run_benchmark(spec, work / path.stem)
        rows.append((f"{path.stem} (benchmark)", f"{width} x {height}", probe, est, (time.perf_counter() - t) / 60))
    print(f"\nReal sets of {REAL}, CPU, max epochs {args.epochs}\n")
    print("| job | grid | probe (s) | estimate (min) | measured (min) | measured / estimate | within 2x |")
    print("|---|---|---|---|---|---|---|")
    for name, grid, probe, est, actual in rows:
        low, high = est.minutes_range
        ratio = actual / est.minutes
        inside = "yes" if low / 2 <= actual <= 2 * high else "no"
        print(f"| {name} | {grid} | {probe:.1f} | {low:.2f} to {high:.2f} | {actual:.2f} | {ratio:.2f} | {inside} |")
    print(json.dumps([{"job": r[0], "estimate": r[3].minutes_range, "measured": r[4]} for r in rows]))


def synthetic(args: argparse.Namespace) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--real", action="store_true", help="the real sets' jobs instead of the synthetic scene")
    parser.add_argument("--epochs", type=int, default=3, help="--real: the most epochs each job trains")
    parser.add_argument("--only", default="", help="--real: only the jobs whose name holds this")
    args = parser.parse_args()
    if args.real:
        if not REAL.exists():
            raise SystemExit(f"{REAL} is not present: the real sets live in ../shared/data/real")
        real(args)
    else:
        synthetic(args)


if __name__ == "__main__":
    main()
