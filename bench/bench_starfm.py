"""The project's STARFM against Feng Gao's C program (v1.2.1) on the demo scene: agreement, speed,
and both scored against the real (synthetic) Sentinel-2 of each target date.

    .venv/bin/python -m tsstfn_crop_mapper demo --out demo_output     # once (scripts/setup.sh does it)
    .venv/bin/python bench/bench_starfm.py [--demo demo_output]

Builds the C program from ../shared/reference/starfm-c in a temporary folder (gcc with OpenMP, run
on one thread); the project's STARFM runs in numpy on one process. Same inputs (the demo's aligned
NDVI, 384 x 384 px at 10 m), 155 m search distance (31 x 31 px), 36 units of uncertainty.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import starfm_oracle  # noqa: E402

from tsstfn_crop_mapper.core.files import read_array  # noqa: E402
from tsstfn_crop_mapper.core.fusion.starfm import StarfmParams, starfm  # noqa: E402


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("demo_output"))
    args = ap.parse_args()
    aligned = args.demo / "run" / "aligned"
    if not aligned.exists():
        raise SystemExit(f"'{aligned}' not found: run the demo first (see this script's docstring).")
    base = sorted((aligned / "prediction").glob("s2_*.tif"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            exe = starfm_oracle.build(Path(tmp))
        except starfm_oracle.UnavailableError as exc:
            raise SystemExit(str(exc)) from None
        print(
            "| target | pairs | RMSE project − Gao | max abs diff | same pixels | Gao px/s | project px/s | RMSE vs truth: Gao | project |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for target in sorted((aligned / "targets").glob("modis_*.tif")):
            stamp = target.stem.split("_")[1]
            truth = read_array(aligned / "targets" / f"s2_{stamp}.tif")
            cp = read_array(target)
            for n in (1, 2):
                fine = [read_array(p) for p in base[-n:]]
                coarse = [read_array(aligned / "prediction" / p.name.replace("s2_", "modis_")) for p in base[-n:]]
                t = time.perf_counter()
                ref = starfm_oracle.run(exe, Path(tmp) / f"run_{stamp}_{n}", fine, coarse, cp)
                t_ref = time.perf_counter() - t
                t = time.perf_counter()
                ours = starfm(fine, coarse, cp, StarfmParams(), pixel_size=10.0)
                t_ours = time.perf_counter() - t
                ok = np.isfinite(ref) & np.isfinite(ours)
                same = np.array_equal(np.isfinite(ref), np.isfinite(ours))
                print(
                    f"| {stamp} | {n} | {rmse(ours, ref):.6f} | {np.abs(ours[ok] - ref[ok]).max():.4f} | {'yes' if same else 'NO'} "
                    f"| {cp.size / t_ref:,.0f} | {cp.size / t_ours:,.0f} | {rmse(ref, truth):.4f} | {rmse(ours, truth):.4f} |"
                )


if __name__ == "__main__":
    main()
