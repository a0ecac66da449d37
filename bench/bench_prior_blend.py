"""The two-sided blend of TSSTFN's physical priors alone, without the network, on the real benchmark sets.

For each held-out target of a ``bench/datasets`` file that has a pair before and after it, the prior of
each side (the nearest pair's fine NDVI plus the coarse change since, Gaussian-smoothed) and their blend
by the coarse change (``core.fusion.prediction``'s weights, noise floor ``CHANGE_NOISE``), scored
against the real fine image with the benchmark's metrics. What docs/benchmarks.md compares TSSTFN's
two-sided prediction with::

    .venv/bin/python bench/bench_prior_blend.py [bench/datasets/kranj_2020.json ...]   # seconds
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.fusion.metrics import fusion_metrics
from tsstfn_crop_mapper.core.fusion.prediction import CHANGE_NOISE, nan_blur
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource, read_ndvi

DATASETS = Path(__file__).parent / "datasets"


def ndvi(side: dict, base: Path) -> np.ndarray:
    fields = {k: v for k, v in side.items() if k in ("product", "red_band", "nir_band", "scale")}
    return read_ndvi(NdviSource(str((base / side["path"]).resolve()), **fields)).astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="*", default=[str(DATASETS / n) for n in ("kranj_2020.json", "estarfm_2001.json")])
    sigma = TrainConfig().prior_smoothing_px
    print("| dataset | target | forward prior | backward prior | two-sided blend of the priors |")
    print("|---|---|---|---|---|")
    for name in parser.parse_args().datasets:
        spec = json.loads(Path(name).read_text())
        base = Path(name).parent
        pairs = sorted(spec["pairs"], key=lambda p: p["date"])
        for target in spec["targets"]:
            k = next(i for i, p in enumerate(pairs) if p["date"] == target)
            if k == 0 or k == len(pairs) - 1:
                continue  # one side only: the blend does not apply
            truth, coarse_t = ndvi(pairs[k]["fine"], base), ndvi(pairs[k]["coarse"], base)
            sides, weights = [], []
            for j in (k - 1, k + 1):
                fine, coarse = ndvi(pairs[j]["fine"], base), ndvi(pairs[j]["coarse"], base)
                sides.append(fine + nan_blur(coarse_t - coarse, sigma))
                weights.append(1.0 / (np.abs(nan_blur(coarse_t - coarse, sigma)) + CHANGE_NOISE))
            blend = (weights[0] * sides[0] + weights[1] * sides[1]) / (weights[0] + weights[1])
            scores = [fusion_metrics(a, truth) for a in (*sides, blend)]
            cells = " | ".join(f"{s['rmse']:.4f} / {s['ssim']:.3f}" for s in scores)
            print(f"| {Path(name).stem} | {target} | {cells} |")


if __name__ == "__main__":
    main()
