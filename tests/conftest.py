"""Shared fixtures: a small synthetic scene (generated once per session) and raster helpers."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from tsstfn_crop_mapper.core.demo.synthetic import generate_scene

gdal.UseExceptions()


@pytest.fixture(autouse=True, scope="session")
def _qt_objects_go_while_qgis_runs(qgis_app):
    """Delete what the tests left of Qt and QGIS before pytest-qgis's ``exitQgis`` (this teardown runs first).

    A dialog without a parent, a layer or a widget kept in a reference cycle is otherwise freed by the
    garbage collector whenever it next runs: after ``exitQgis`` or in the interpreter's own teardown, where
    its C++ destructor finds QGIS gone and the process dies (exit code 139 after every test passed).
    """
    yield
    if qgis_app is None:
        return
    import gc
    import time

    from qgis.core import QgsApplication, QgsProject
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QCoreApplication, QEvent
    from qgis.PyQt.QtWidgets import QApplication

    manager = QgsApplication.taskManager()
    manager.cancelAll()
    for _ in range(600):
        if not manager.countActiveTasks():
            break
        QgsApplication.processEvents()
        time.sleep(0.05)
    QgsProject.instance().removeAllMapLayers()
    gc.collect()
    for widget in QApplication.topLevelWidgets():
        if type(widget).__module__.startswith("tsstfn_crop_mapper") and not sip.isdeleted(widget):
            sip.delete(widget)
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    # pytest-qgis's own teardown disconnects legendLayersAdded from processEvents and fails ("not connected") when
    # PyQt has lost that connection, which some orders of the tests bring about: leave exactly one for it
    project = QgsProject.instance()
    try:
        project.legendLayersAdded.disconnect(qgis_app.processEvents)
    except TypeError:
        pass
    project.legendLayersAdded.connect(qgis_app.processEvents)


@pytest.fixture(scope="session")
def scene(tmp_path_factory):
    """A 96 x 96 pixel two-season scene (fields of 20-40 px), as real files."""
    root = tmp_path_factory.mktemp("scene")
    manifest = generate_scene(root, size=96, seed=7, field_size=(20, 40), n_samples=600)
    manifest["root"] = root
    return manifest


def make_raster(
    path,
    array,
    epsg=32651,
    gt=(640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0),
    nodata=None,
    dtype=gdal.GDT_Float32,
    wkt=None,
    metadata=None,
):
    """Write a GeoTIFF (2-D or bands-first 3-D array) for a test."""
    arr = np.asarray(array)
    arr = arr[None] if arr.ndim == 2 else arr
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[2], arr.shape[1], arr.shape[0], dtype)
    ds.SetGeoTransform(gt)
    if wkt is not None:
        ds.SetProjection(wkt)
    elif epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        ds.SetProjection(srs.ExportToWkt())
    for i, a in enumerate(arr, 1):
        band = ds.GetRasterBand(i)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(a)
    if metadata:
        ds.SetMetadata(metadata)
    ds = None
    return str(path)


def make_points(path, pts, epsg=32651, field_type=ogr.OFTString) -> str:
    """A GeoPackage of points ``(x, y, crop)`` in ``epsg`` (x = easting or longitude), written with OGR."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    lyr = ds.CreateLayer("s", srs, ogr.wkbPoint)
    lyr.CreateField(ogr.FieldDefn("crop", field_type))
    for x, y, v in pts:
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("crop", v)
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        lyr.CreateFeature(f)
    ds = None
    return str(path)


def make_paired_set(root, size=48, dates=("2020-05-01", "2020-05-17", "2020-06-02", "2020-06-18"), seed=3) -> str:
    """A small fusion benchmark set like the classic ones: fine and coarse NDVI on one pixel grid, no CRS.

    Fields green up at their own pace; the coarse image is the fine one blurred (a 6 px sensor) with a
    bias. Writes ``dataset.json`` (the middle and the last date as targets) and returns its path.
    """
    import json
    from pathlib import Path

    from scipy.ndimage import uniform_filter

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start = np.kron(rng.uniform(0.2, 0.5, (size // 12, size // 12)), np.ones((12, 12)))
    rate = np.kron(rng.uniform(0.0, 0.12, (size // 12, size // 12)), np.ones((12, 12)))
    pairs = []
    for k, d in enumerate(dates):
        fine = np.clip(start + rate * k + rng.normal(0, 0.01, start.shape), -1, 1).astype(np.float32)
        coarse = (uniform_filter(fine, 6, mode="nearest") + 0.03).astype(np.float32)
        for name, arr in (("fine", fine), ("coarse", coarse)):
            ds = gdal.GetDriverByName("GTiff").Create(str(root / f"{name}_{k}.tif"), size, size, 1, gdal.GDT_Float32)
            ds.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, 1.0))  # no CRS, as the ENVI benchmark sets
            ds.GetRasterBand(1).WriteArray(arr)
            ds = None
        pairs.append({"date": d, "fine": f"fine_{k}.tif", "coarse": f"coarse_{k}.tif"})
    dataset = {
        "pairs": pairs,
        "targets": [dates[1], dates[-1]],
        "assume_aligned": True,
        "pixel_size_m": 30,
        "n_base": 1,
        "train": {"width": 4, "patch": 32, "cl_paths": 1, "max_epochs": 2, "batch_size": 8, "device": "cpu"},
        "method_params": {"starfm": {"window_m": 150}, "starfm2": {"window_m": 150}},
    }
    (root / "dataset.json").write_text(json.dumps(dataset))
    return str(root / "dataset.json")


# A job as the real world gives it ----------------------------------------------------------


def _write_no_crs(path, bands: list[np.ndarray], dtype: int, descriptions: list[str] | None = None) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), bands[0].shape[1], bands[0].shape[0], len(bands), dtype)
    ds.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, 1.0))  # as GDAL reports a raster without georeferencing
    for i, b in enumerate(bands, 1):
        ds.GetRasterBand(i).WriteArray(b)
        if descriptions:
            ds.GetRasterBand(i).SetDescription(descriptions[i - 1])
    ds = None
    return str(path)


@pytest.fixture(scope="session")
def realistic_job(scene, tmp_path_factory):
    """A job file over the scene's data as Landsat band folders, MODIS NDVI stacks and a label raster, all without CRS."""
    import json
    from pathlib import Path

    from tsstfn_crop_mapper.core.demo.job import scene_job
    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.pipeline.pairs import dated
    from tsstfn_crop_mapper.core.pipeline.run import prepare

    root = Path(scene["root"])
    out = tmp_path_factory.mktemp("realistic")
    aligned = prepare(scene_job(root, out / "tmp"), out / "tmp" / "aligned")  # MODIS NDVI on the fine grid
    modis = {p.date: p.coarse for p in (*aligned.reference, *aligned.prediction, *aligned.targets)}
    job: dict = {"reference": [], "prediction": [], "targets": []}
    stacks = {}
    for year in (2020, 2021):
        dates = sorted(d for d in modis if d.year == year)
        stacks[year] = (
            _write_no_crs(
                out / f"MOD13Q1_NDVI_{year}_stack.tif",
                [np.rint(gdal.Open(modis[d]).ReadAsArray() * 10000).astype(np.int16) for d in dates],
                gdal.GDT_Int16,
                [f"NDVI {d.isoformat()}" for d in dates],
            ),
            dates,
        )
    scene_json = json.loads((root / "scene.json").read_text())
    for role in ("reference", "prediction", "targets"):
        for entry in dated(scene_job(root, out / "tmp").__getattribute__(role)):
            stack, dates = stacks[entry.date.year]
            coarse = {"path": stack, "band": dates.index(entry.date) + 1, "scale": 0.0001}
            pair: dict = {"coarse": coarse}
            if entry.fine is not None and (role != "targets" or entry.date.month == 9):
                s2 = gdal.Open(entry.fine.path).ReadAsArray().astype(np.float64)  # B04, B08: DN = reflectance x 10000 + 1000
                scene_id = f"LC08_L2SP_118027_{entry.date:%Y%m%d}_{entry.date:%Y%m%d}_02_T1"
                folder = out / scene_id
                folder.mkdir()
                for band, values in ((4, s2[0]), (5, s2[1])):
                    dn = np.where(values > 0, ((values - 1000) / 10000 + 0.2) / 2.75e-5, 0)
                    _write_no_crs(folder / f"{scene_id}_SR_B{band}.TIF", [dn.astype(np.uint16)], gdal.GDT_UInt16)
                pair["fine"] = {"path": str(folder), "mask": False}
            job[role].append(pair)
    labels = gdal.Open(str(root / scene_json["labels"]["2021"])).ReadAsArray()
    _write_no_crs(out / "labels_2021_pixels.tif", [labels.astype(np.uint8)], gdal.GDT_Byte)
    job.update(
        output_dir="run",
        fine_product="landsat_c2l2",
        coarse_product="ndvi",
        assume_aligned=True,
        pixel_size_m=10,
        samples="labels_2021_pixels.tif",
        n_base=5,
        compare=["starfm", "coarse_cubic"],
        method_params={"starfm": {"window_m": 50}},
        formats=["gtiff", "gpkg"],
        train={**TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1).as_dict(), "device": "cpu"},
    )
    path = out / "job.json"
    path.write_text(json.dumps(job, indent=1))
    return path
