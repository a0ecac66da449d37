"""A small run folder written as a run writes it (test data as code): inputs, outputs, report/run_report.json.

``make_run(root, size)`` writes, on a 10 m UTM grid of ``size`` px:

* fine NDVI (float32) for the reference year (2020) and the prediction year (2021), the 2021-08-31
  target with a mask (``mask_valid`` [0]; 1 over the left half: cloud);
* coarse NDVI x 10000 (int16, ``scale`` 0.0001) on a 40 m grid whose origin is offset by 20 m;
* the run's outputs: fused NDVI, its uncertainty and STARFM for the three targets;
* a field polygon (a square) and the job and outputs in ``report/run_report.json``.

``sparse=True`` writes only ``blocks`` (col, row) 256 px blocks of each fine-grid raster (the rest
absent, for a whole-tile-sized folder in seconds; the coarse rasters are written whole). Returns the
arrays (full-size only) for the tests to compare.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

X0, Y0, PX = 640000.0, 5150000.0, 10.0
REFERENCE = ("2020-05-10", "2020-07-20")
PREDICTION = ("2021-04-20", "2021-05-15", "2021-06-10")
TARGETS = ("2021-07-30", "2021-08-31", "2021-09-05")
MASKED = "2021-08-31"
FIELD = (10, 12, 30, 28)  # col0, row0, col1, row1 (exclusive) of the square field
OUTPUTS = (("fused", "fused_ndvi", 100), ("uncertainty", "uncertainty", 200), ("starfm", "starfm_ndvi", 300))


def _srs(epsg: int = 32651) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _write(path: Path, arr: np.ndarray | None, gt, dtype, size, nodata=None, blocks=None, fill=None) -> str:
    opts = ["TILED=YES", "COMPRESS=DEFLATE", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "SPARSE_OK=TRUE"]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size[0], size[1], 1, dtype, opts)
    ds.SetGeoTransform(gt)
    ds.SetProjection(_srs().ExportToWkt())
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    if blocks is None:
        band.WriteArray(arr)
    else:
        for bc, br in blocks:
            w, h = min(256, size[0] - bc * 256), min(256, size[1] - br * 256)
            band.WriteArray(fill(bc * 256, br * 256, w, h), bc * 256, br * 256)
    ds = None
    return str(path)


def _cloud(x: int, w: int, h: int, size: int) -> np.ndarray:
    """The mask's window: 1 (cloud) over the left half of the scene."""
    return (np.arange(x, x + w)[None, :] < size // 2).repeat(h, 0).astype(np.uint8)


def _pattern(seed: int, x: int, y: int, w: int, h: int) -> np.ndarray:
    cols, rows = np.meshgrid(np.arange(x, x + w), np.arange(y, y + h))
    return (0.2 + 0.6 * ((cols * 7 + rows * 3 + seed * 11) % 97) / 97.0).astype(np.float32)


def make_run(root, size: int = 48, sparse: bool = False, blocks=((0, 0),)) -> dict:
    """Write the run folder ``root/run`` and its inputs ``root/inputs``; returns what the tests compare."""
    root = Path(root)
    inputs, run = root / "inputs", root / "run"
    inputs.mkdir(parents=True, exist_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    (run / "report").mkdir(exist_ok=True)
    gt = (X0, PX, 0.0, Y0, 0.0, -PX)
    cgt = (X0 - 20.0, 4 * PX, 0.0, Y0 + 20.0, 0.0, -4 * PX)
    csize = (size // 4 + 2, size // 4 + 2)
    arrays: dict = {"fine": {}, "coarse": {}, "fused": {}, "uncertainty": {}, "starfm": {}, "mask": None}
    blk = None if not sparse else blocks

    def fine_raster(name: str, seed: int, grid=gt, dims=(size, size), scale=1.0, dtype=gdal.GDT_Float32, nodata=None):
        def fill(x, y, w, h):
            a = _pattern(seed, x, y, w, h) * (1 / scale if scale != 1 else 1)
            return a.astype(np.int16) if dtype == gdal.GDT_Int16 else a

        if dims != (size, size):  # the coarse grid: small, written whole
            arr = fill(0, 0, *dims)
            return _write(name, arr, grid, dtype, dims, nodata), None if sparse else arr
        arr = None if sparse else fill(0, 0, *dims)
        return _write(name, arr, grid, dtype, dims, nodata, blk, fill), arr

    job: dict = {"reference": [], "prediction": [], "targets": []}
    seed = 0
    for key, dates in (("reference", REFERENCE), ("prediction", PREDICTION), ("targets", TARGETS)):
        for d in dates:
            seed += 1
            stamp = d.replace("-", "")
            fpath, farr = fine_raster(inputs / f"fine_{stamp}.tif", seed)
            cpath, carr = fine_raster(inputs / f"coarse_{stamp}.tif", seed + 50, cgt, csize, 1e-4, gdal.GDT_Int16, -32768)
            entry: dict = {"date": d, "coarse": {"path": cpath, "scale": 0.0001}, "fine": fpath}
            if d == MASKED:
                mask = np.zeros((size, size), np.uint8)
                mask[:, : size // 2] = 1
                mpath = _write(inputs / f"mask_{stamp}.tif", None if sparse else mask, gt, gdal.GDT_Byte, (size, size), None, blk,
                               lambda x, y, w, h: _cloud(x, w, h, size))  # fmt: skip
                entry["fine"] = {"path": fpath, "mask": mpath, "mask_valid": [0]}
                arrays["mask"] = mask
            job[key].append(entry)
            arrays["fine"][d], arrays["coarse"][d] = farr, None if carr is None else carr.astype(np.float64) * 1e-4
    outputs: dict = {"fused": {}, "uncertainty": {}, "compared": {"starfm": {}}}
    for k, d in enumerate(TARGETS):
        stamp = d.replace("-", "")
        for role, prefix, off in (
            ("fused", "fused_ndvi", 100),
            ("uncertainty", "uncertainty", 200),
            ("starfm", "starfm_ndvi", 300),
        ):
            path, arr = fine_raster(run / f"{prefix}_{stamp}.tif", off + k)
            if role == "uncertainty" and arr is not None:
                arr *= 0.1
                _write(Path(path), arr, gt, gdal.GDT_Float32, (size, size))
            arrays[role][d] = arr
            (outputs["compared"]["starfm"] if role == "starfm" else outputs[role])[d] = path
    fields = inputs / "fields.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(fields))
    lyr = ds.CreateLayer("fields", _srs(), ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("field_id", ogr.OFTInteger))
    c0, r0, c1, r1 = FIELD
    xa, xb, ya, yb = X0 + c0 * PX, X0 + c1 * PX, Y0 - r0 * PX, Y0 - r1 * PX
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetField("field_id", 7)
    f.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({xa} {ya}, {xb} {ya}, {xb} {yb}, {xa} {yb}, {xa} {ya}))"))
    lyr.CreateFeature(f)
    ds = None
    job.update(
        output_dir=str(run), name="small_run", coarse_product="ndvi", fine_product="ndvi", fields=str(fields),
        field_id="field_id", compare=["starfm"],
    )  # fmt: skip
    report = {"job": job, "outputs": outputs}
    (run / "report" / "run_report.json").write_text(json.dumps(report, indent=1))
    (run / "run_manifest.json").write_text(json.dumps({"job": job, "status": "complete"}))
    return {"run": run, "inputs": inputs, "arrays": arrays, "size": size, "coarse_gt": cgt, "gt": gt}


def centre(col: int, row: int) -> tuple[float, float]:
    """The map coordinates of a fine pixel's centre."""
    return X0 + (col + 0.5) * PX, Y0 - (row + 0.5) * PX


def coarse_index(col: int, row: int) -> tuple[int, int]:
    """The coarse pixel (col, row) under a fine pixel's centre."""
    x, y = centre(col, row)
    return int((x - (X0 - 20.0)) // 40.0), int(((Y0 + 20.0) - y) // 40.0)


def date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
