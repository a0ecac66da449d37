"""What `benchmark` costs with its defaults on a set the size of a real held-out Landsat/MODIS season.

Writes a one-season set of 9 pairs, 576 x 552 px of 30 m (fields growing at their own pace, MODIS the
fine image blurred over a 500 m sensor with a bias and noise), holds out three targets and runs
`benchmark` with the dataset file's defaults (no ``train``: the ``robust`` preset), printing the wall
time per target and method and the scores::

    .venv/bin/python bench/bench_benchmark_cost.py [--out bench_output/cost] [--targets 3]

The issue's budget: at most 10 minutes on 2 cores with the default preset.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from pathlib import Path

import numpy as np
from osgeo import gdal
from scipy.ndimage import gaussian_filter, uniform_filter

gdal.UseExceptions()


def write_set(root: Path, width: int = 576, height: int = 552, n: int = 9, targets: int = 3, seed: int = 7) -> Path:
    """The paired set and its ``dataset.json`` (no ``train``, no ``methods``: the defaults)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cells = (height // 12 + 1, width // 12 + 1)
    start = np.kron(rng.uniform(0.15, 0.4, cells), np.ones((12, 12)))[:height, :width]
    peak = np.kron(rng.uniform(0.5, 0.9, cells), np.ones((12, 12)))[:height, :width]
    onset = np.kron(rng.uniform(0.2, 0.7, cells), np.ones((12, 12)))[:height, :width]
    texture = 0.03 * gaussian_filter(rng.standard_normal((height, width)), 1.5)
    first = dt.date(2021, 4, 20)
    pairs = []
    for k in range(n):
        t = k / (n - 1)
        growth = 1 / (1 + np.exp(-(t - onset) * 12))
        fine = np.clip(start + (peak - start) * growth + texture + rng.normal(0, 0.01, texture.shape), -1, 1)
        coarse = uniform_filter(fine, 17, mode="nearest") + 0.03 + rng.normal(0, 0.01, fine.shape)
        date = first + dt.timedelta(days=16 * k)
        for name, arr in (("fine", fine), ("coarse", coarse)):
            ds = gdal.GetDriverByName("GTiff").Create(str(root / f"{name}_{date:%Y%m%d}.tif"), width, height, 1, gdal.GDT_Float32)
            ds.SetGeoTransform((0.0, 30.0, 0.0, 0.0, 0.0, -30.0))
            ds.GetRasterBand(1).WriteArray(arr.astype(np.float32))
            ds = None
        pairs.append({"date": date.isoformat(), "fine": f"fine_{date:%Y%m%d}.tif", "coarse": f"coarse_{date:%Y%m%d}.tif"})
    chosen = [pairs[k]["date"] for k in np.linspace(2, n - 1, targets).round().astype(int)]
    dataset = {"pairs": pairs, "targets": chosen, "assume_aligned": True, "pixel_size_m": 30, "n_base": 1}
    path = root / "dataset.json"
    path.write_text(json.dumps(dataset, indent=1))
    return path


def main() -> None:
    """Write the set, run the benchmark, print the table."""
    from tsstfn_crop_mapper.core.pipeline.benchmark import load_benchmark, run_benchmark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench_output/cost")
    ap.add_argument("--targets", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    out = Path(args.out)
    spec = load_benchmark(write_set(out / "data", targets=args.targets))
    marks: list[tuple[float, str]] = []
    started = time.monotonic()
    result = run_benchmark(spec, out / "run", progress=lambda f, m: marks.append((time.monotonic() - started, m)))
    total = time.monotonic() - started
    print(f"\n576 x 552 px, 9 pairs, {len(spec.targets)} targets, preset robust: {total / 60:.1f} min wall")
    print("| date | method | RMSE | SSIM |\n|---|---|---|---|")
    for r in result.rows:
        print(f"| {r['date']} | {r['method']} | {r['rmse']:.4f} | {r['ssim']:.4f} |")


if __name__ == "__main__":
    main()
