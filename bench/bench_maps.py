"""Wall-to-wall accuracy of the demo's crop maps against the synthetic scene's true labels, and a
picture of truth, both maps and one fused NDVI date side by side.

    .venv/bin/python -m tsstfn_crop_mapper demo --out demo_output     # once (scripts/setup.sh does it)
    .venv/bin/python bench/bench_maps.py [--demo demo_output] [--png docs/images/demo_maps.png]

The job's own accuracy uses the held-out samples only; here every labelled pixel of the scene
counts, which only a synthetic scene allows. The script also re-runs the demo job with the demo's
trained model and the split by field instead of at random (about 15 s), to show what the split does
to the sample kappa.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from osgeo import gdal
from sklearn.metrics import accuracy_score, cohen_kappa_score


def read(path: Path) -> np.ndarray:
    ds = gdal.Open(str(path))
    if ds is None:
        raise SystemExit(f"'{path}' not found: run the demo first (see this script's docstring).")
    return ds.ReadAsArray()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("demo_output"))
    ap.add_argument("--png", type=Path, default=None, help="write the side-by-side picture here")
    args = ap.parse_args()

    truth = read(args.demo / "scene" / "labels_2021.tif")
    maps = {name: read(args.demo / "run" / f"crop_map_{name}.tif") for name in ("early", "fused")}
    if (args.demo / "run" / "crop_map_fields.tif").exists():
        maps["fields (per-field map of the fused one)"] = read(args.demo / "run" / "crop_map_fields.tif")
    print("| crop map | pixels | overall accuracy | kappa (all labelled pixels) |")
    print("|---|---|---|---|")
    for name, m in maps.items():
        ok = (truth > 0) & (m > 0)
        print(
            f"| {name} | {ok.sum()} | {100 * accuracy_score(truth[ok], m[ok]):.2f} % "
            f"| {100 * cohen_kappa_score(truth[ok], m[ok]):.2f} % |"
        )

    from tsstfn_crop_mapper.core.pipeline.job import load_job
    from tsstfn_crop_mapper.core.pipeline.run import run_job

    job = load_job(args.demo / "demo_job.json")
    print("\n| split of the sample points | kappa early season | kappa with fused NDVI | per-field map (pixels / fields) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for split, group in (("random", job.group_field), ("field", "field_id"), ("block", job.group_field)):
            again = replace(job, split=split, group_field=group, model=str(args.demo / "run" / f"{job.name}.tsstfn"))
            acc = run_job(replace(again, compare=(), output_dir=str(Path(tmp) / split), uncertainty="off")).accuracy
            fields = acc.get("fields", {})
            per_field = f"{100 * fields['kappa']:.2f} % / {100 * fields['per_field_kappa']:.2f} %" if fields else "-"
            print(f"| {split} | {100 * acc['early']['kappa']:.2f} % | {100 * acc['fused']['kappa']:.2f} % | {per_field} |")
            if split == "random":
                block = acc["fused"].get("block_kappa")
                print(
                    f"| block (the report's check of the random split: {acc['fused']['block_m']:g} m blocks) | "
                    f"{100 * acc['early']['block_kappa']:.2f} % | {100 * block:.2f} % | - |"
                )

    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        classes = ListedColormap(["white", "#e6c44a", "#3f8f3a", "#b8b8b0"])  # nodata, soybean, corn, other
        fused_dates = sorted((args.demo / "run").glob("fused_ndvi_*.tif"))
        panels = [("true classes 2021", truth), ("early season only", maps["early"]), ("with fused NDVI", maps["fused"])]
        if len(maps) > 2:
            panels.append(("per field (with fused NDVI)", list(maps.values())[2]))
        fig, axes = plt.subplots(2, 3, figsize=(12, 8.4))
        axes = axes.ravel()
        for ax, (title, arr) in zip(axes, panels):
            ax.imshow(arr, cmap=classes, vmin=0, vmax=3, interpolation="nearest")
            ax.set_title(title)
        ax = axes[len(panels)]
        stamp = fused_dates[0].stem[-8:]
        ax.imshow(read(fused_dates[0]), cmap="YlGn", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"fused NDVI {stamp}")
        uncertainty = args.demo / "run" / f"uncertainty_{stamp}.tif"
        if uncertainty.exists() and len(panels) + 1 < len(axes):
            ax = axes[len(panels) + 1]
            im = ax.imshow(read(uncertainty), cmap="magma", vmin=0, vmax=0.05, interpolation="nearest")
            ax.set_title(f"its MC-dropout std {stamp}")
            fig.colorbar(im, ax=ax, shrink=0.7)
        for ax in axes:
            ax.axis("off")
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=70)
        print(f"picture: {args.png}")


if __name__ == "__main__":
    main()
