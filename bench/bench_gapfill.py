"""Gap-filling of the forest's features: kappa and mapped share, ``gap_fill`` none vs linear.

Three cases, each classified twice through ``classify`` (``mapping.workflow.classify_rasters``, the
one crop-mapping path):

* **demo**: the synthetic demo scene (``core.demo``), its 2021 Sentinel-2 NDVI with the SCL cloud
  masks applied (the cloudy July/August images included), its sample points; the map is also
  compared with the scene's true labels (every pixel, unmapped ones counted as wrong);
* **sinop**: the real MOD13Q1 cube of Sinop (``../shared/data/real/sinop_2014_mod13q1``, the 23
  NDVI JPEG2000 dates, values >= 32768 are fill), its 18 labelled points grown into fields of pixels
  (as ``tests/pipeline/test_real_data.py`` does: too few points for a per-class split otherwise);
* **sinop+clouds**: the same real cube with seeded cloud blobs (20 % of the scene) on 8 of its dates.

Run: ``.venv/bin/python bench/bench_gapfill.py [--size 192] [--out /tmp/bench_gapfill]``; prints a
Markdown table (docs/classification.md quotes it).
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from tsstfn_crop_mapper.core.mapping.workflow import classify_rasters

SINOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "sinop_2014_mod13q1"


def _write(path: Path, array: np.ndarray, ref: gdal.Dataset) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform(ref.GetGeoTransform())
    ds.SetProjection(ref.GetProjection())
    ds.GetRasterBand(1).WriteArray(array.astype(np.float32))
    ds = None
    return str(path)


def demo_case(out: Path, size: int) -> tuple[list[str], str, str, str | None]:
    """The demo scene's 2021 fine NDVI (clouds masked) in date order, its samples, class field and true labels."""
    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
    from tsstfn_crop_mapper.core.pipeline.run import prepare

    manifest = generate_scene(out / "scene", size=size, seed=42)
    job = scene_job(out / "scene", out / "unused")
    prep = prepare(job, out / "aligned")
    pairs = sorted([*prep.prediction, *(t for t in prep.targets if t.fine)], key=lambda p: p.date)
    return [str(p.fine) for p in pairs], str(out / "scene" / manifest["samples"]), "crop", str(out / "scene" / "labels_2021.tif")


def sinop_case(out: Path, clouds: bool) -> tuple[list[str], str, str, None]:
    """The real Sinop cube as NDVI with its fill as NaN (and seeded cloud blobs), and its grown sample points."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((SINOP / "jp2_23dates_2021_lossy").glob("TERRA_MODIS_h12v10_NDVI_*.jp2"))
    rng = np.random.default_rng(3)
    cloudy = set(rng.choice(len(files), 8, replace=False).tolist()) if clouds else set()
    paths = []
    for k, f in enumerate(files):
        ds = gdal.Open(str(f))
        raw = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
        ndvi = np.where((raw >= 32768) | (raw > 10000), np.nan, raw * 1e-4)
        if k in cloudy:
            noise = rng.normal(size=(raw.shape[0] // 8 + 2, raw.shape[1] // 8 + 2))
            smooth = np.kron(noise, np.ones((8, 8)))[: raw.shape[0], : raw.shape[1]]
            ndvi[smooth > np.quantile(smooth, 0.8)] = np.nan
        paths.append(_write(out / f"ndvi_{f.stem[-10:]}.tif", ndvi, ds))
    return paths, _grown_points(paths[0], out / "samples.gpkg"), "label", None


def _grown_points(raster: str, path: Path) -> str:
    """The 18 labelled points, each grown into the pixels within 2 of it (a user digitising fields)."""
    ds = gdal.Open(raster)
    gt, srs = ds.GetGeoTransform(), ds.GetSpatialRef()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_grid = osr.CoordinateTransformation(wgs, srs)
    out = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = out.CreateLayer("samples", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
    with open(SINOP / "samples" / "samples_sinop_crop.csv") as fh:
        for row in csv.DictReader(fh):
            x, y, _ = to_grid.TransformPoint(float(row["longitude"]), float(row["latitude"]))
            c, r = int((x - gt[0]) / gt[1]), int((y - gt[3]) / gt[5])
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    if abs(dx) + abs(dy) <= 3 and 0 <= c + dx < ds.RasterXSize and 0 <= r + dy < ds.RasterYSize:
                        f = ogr.Feature(layer.GetLayerDefn())
                        f.SetField("label", row["label"])
                        f.SetGeometry(ogr.CreateGeometryFromWkt(
                            f"POINT ({gt[0] + (c + dx + 0.5) * gt[1]} {gt[3] + (r + dy + 0.5) * gt[5]})"))  # fmt: skip
                        layer.CreateFeature(f)
    layer = out = None
    return str(path)


def truth_agreement(crop_map: str, labels: str, names: dict[int, str], truth_names: dict[int, str]) -> tuple[float, float]:
    """Share of the scene's labelled pixels the map gets right: over the mapped ones, and over all (unmapped: wrong)."""
    mapped = gdal.Open(crop_map).ReadAsArray()
    truth = gdal.Open(labels).ReadAsArray()
    by_name = {v: k for k, v in truth_names.items()}
    as_truth = np.zeros(256, np.int64)
    for code, name in names.items():
        as_truth[code] = by_name.get(name, -1)
    predicted = as_truth[mapped]
    labelled = truth > 0
    right = (predicted == truth) & labelled & (mapped > 0)
    return float(right.sum() / max(1, (labelled & (mapped > 0)).sum())), float(right.sum() / max(1, labelled.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192, help="side of the demo scene in pixels")
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_gapfill_"))
    cases = {"demo": lambda: demo_case(out / "demo", args.size)}
    if SINOP.exists():
        cases["sinop"] = lambda: sinop_case(out / "sinop", False)
        cases["sinop+clouds"] = lambda: sinop_case(out / "sinop_clouds", True)
    else:
        print(f"(no {SINOP}: the real Sinop cases are skipped)")
    print(
        "| case | dates | gap_fill | test samples (of all) | kappa (random split) | kappa (spatial blocks) | mapped share | "
        "gap-filled | true labels right (mapped / all) | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, make in cases.items():
        paths, samples, field, labels = make()
        for how in ("none", "linear"):
            start = time.perf_counter()
            result = classify_rasters(
                paths, samples, field, out / case / how / "map.tif", out / case / how / "report", gap_fill=how, cog=False
            )
            seconds = time.perf_counter() - start
            a = result.assessment
            block = a.block_accuracy.kappa if a.block_accuracy is not None else float("nan")
            stats = result.gap_stats
            filled = f"{100 * stats.filled / stats.pixels:.1f} %" if stats and stats.pixels else "-"
            truth = "-"
            if labels:
                names = {1: "soybean", 2: "corn", 3: "other"}  # the demo's label raster codes (core.demo.synthetic)
                on_mapped, overall = truth_agreement(str(result.crop_map), labels, a.classifier.names, names)
                truth = f"{100 * on_mapped:.1f} % / {100 * overall:.1f} %"
            print(
                f"| {case} | {len(paths)} | {how} | {len(a.test_index)} ({len(result.samples.codes)}) | "
                f"{100 * a.accuracy.kappa:.1f} % | {100 * block:.1f} % | {100 * result.mapped_fraction:.1f} % | {filled} | "
                f"{truth} | {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
