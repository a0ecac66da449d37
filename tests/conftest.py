"""Shared fixtures: a small synthetic scene (generated once per session) and raster helpers."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from tsstfn_crop_mapper.core.demo.synthetic import generate_scene

gdal.UseExceptions()


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
