"""What is left of TSSTFN's error on the synthetic scene, read from a ``bench_fusion.py`` run.

    .venv/bin/python bench/bench_fusion.py --strategies STR_B --out bench_output/fusion
    .venv/bin/python bench/bench_synthetic_limits.py [--run bench_output/fusion] [--strategy STR_B]

Per target, on the clear pixels of its Sentinel-2, against the generator's cloud-free truth
(``scene/truth``; the scene's own field ids): TSSTFN's and STARFM's RMSE split into the fields'
mean errors and the variation within fields; the least-squares weight of TSSTFN against STARFM
*on the target itself* (what no run may read: it says how far the validated weight is from the
best one); and an oracle no method here has: the latest fine image plus the MODIS change
least-squares fitted onto the true fields, each field's mask blurred like MODIS (Gaussian, 12 px).
Seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage

from tsstfn_crop_mapper.core.files import read_array
from tsstfn_crop_mapper.core.fusion.blend import least_squares_weight


def split(error: np.ndarray, fields: np.ndarray) -> tuple[float, float, float]:
    """RMSE of ``error`` (NaN outside the scored pixels), of its per-field means and of what is left within fields."""
    ok = np.isfinite(error)
    ids = np.unique(fields[ok])
    means = np.zeros(int(fields.max()) + 1)
    means[ids] = ndimage.mean(error[ok], fields[ok], ids)
    per_field = means[fields][ok]
    rms = lambda e: float(np.sqrt(np.mean(e * e)))  # noqa: E731
    return rms(error[ok]), rms(per_field), rms(error[ok] - per_field)


def unmixed(last: np.ndarray, change: np.ndarray, fields: np.ndarray, sigma: float = 12.0, step: int = 4) -> np.ndarray:
    """``last`` plus each field's share of ``change``, least-squares fitted through the blurred field masks."""
    ids = np.unique(fields)
    design = [ndimage.gaussian_filter((fields == i).astype(float), sigma, mode="nearest")[::step, ::step].ravel() for i in ids]
    a = np.c_[np.stack(design, 1), np.ones(len(design[0]))]
    coef, *_ = np.linalg.lstsq(a, change[::step, ::step].ravel(), rcond=None)
    per_field = np.zeros(int(fields.max()) + 1)
    per_field[ids] = coef[:-1]
    return last + per_field[fields] + coef[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default="bench_output/fusion", help="a bench_fusion.py --out folder")
    parser.add_argument("--strategy", default="STR_B")
    args = parser.parse_args()
    root = Path(args.run)
    aligned, experiment = root / "run" / "aligned", root / "run" / "experiment"
    fields = read_array(root / "scene" / "field_ids.tif").astype(int)
    latest = max((aligned / "prediction").glob("s2_*.tif"))
    last, last_modis = read_array(latest), read_array(aligned / "prediction" / latest.name.replace("s2_", "modis_"))
    print(f"| target | method | RMSE | fields' means | within fields | {args.strategy}'s least-squares weight on the target |")
    print("|---|---|---|---|---|---|")
    for target in sorted((aligned / "targets").glob("s2_*.tif")):
        stamp = target.stem[3:]
        clear = np.isfinite(read_array(target))
        truth = read_array(root / "scene" / "truth" / f"ndvi_{stamp}.tif")
        tsstfn = read_array(experiment / args.strategy / f"fused_ndvi_{stamp}.tif")
        starfm = read_array(experiment / f"starfm_ndvi_{stamp}.tif")
        oracle = unmixed(last, read_array(aligned / "targets" / f"modis_{stamp}.tif") - last_modis, fields)
        both = clear & np.isfinite(tsstfn) & np.isfinite(starfm)
        w = least_squares_weight((tsstfn - truth)[both], (starfm - truth)[both])
        for name, pred in (
            (f"TSSTFN {args.strategy}", tsstfn),
            ("STARFM", starfm),
            ("oracle: MODIS change unmixed on the true fields", oracle),
        ):
            error = np.where(clear, pred - truth, np.nan)
            rmse, per_field, within = split(error, fields)
            note = f"{w:.2f}" if name.startswith("TSSTFN") else ""
            print(f"| {stamp} | {name} | {rmse:.4f} | {per_field:.4f} | {within:.4f} | {note} |")


if __name__ == "__main__":
    main()
