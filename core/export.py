"""Crop map to vector: GDAL's sieve (minimum mapping unit) and polygonize, to Shapefile and
GeoPackage, with class code, class name and area in hectares. Nodata (0) gives no polygon."""

from __future__ import annotations

from pathlib import Path

from osgeo import gdal, ogr, osr

from .errors import InputError

DRIVERS = {".shp": "ESRI Shapefile", ".gpkg": "GPKG"}


def polygonize(class_raster: str | Path, out_path: str | Path, names: dict[int, str] | None = None, mmu_ha: float = 0.0) -> Path:
    """Polygons of ``class_raster``; regions smaller than ``mmu_ha`` hectares are merged into their
    largest neighbour first (``gdal.SieveFilter``, 8-connected). Written atomically."""
    out_path = Path(out_path)
    driver_name = DRIVERS.get(out_path.suffix.lower())
    if driver_name is None:
        raise InputError(f"Unsupported vector format '{out_path.suffix}'; use .shp or .gpkg.")
    src = gdal.Open(str(class_raster))
    if not names:
        from .classify import class_names_of

        names = class_names_of(class_raster)
    gt = src.GetGeoTransform()
    pixel_ha = abs(gt[1] * gt[5]) / 10000.0
    mem = gdal.GetDriverByName("MEM").CreateCopy("", src)
    mband = mem.GetRasterBand(1)
    if mmu_ha > 0:
        threshold = max(1, int(round(mmu_ha / pixel_ha)))
        gdal.SieveFilter(mband, mband.GetMaskBand(), mband, threshold, 8)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(src.GetProjection())
    tmp_dir = out_path.parent / f".{out_path.stem}.part"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / out_path.name
    try:
        ds = ogr.GetDriverByName(driver_name).CreateDataSource(str(tmp))
        layer = ds.CreateLayer(out_path.stem, srs, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("class_id", ogr.OFTInteger))
        name_field = ogr.FieldDefn("class_name", ogr.OFTString)
        name_field.SetWidth(40)
        layer.CreateField(name_field)
        area = ogr.FieldDefn("area_ha", ogr.OFTReal)
        area.SetWidth(16)
        area.SetPrecision(4)
        layer.CreateField(area)
        mask = mband.GetMaskBand()  # nodata (0) is outside the mask: no polygon
        gdal.Polygonize(mband, mask, layer, 0, [], callback=None)
        layer.StartTransaction()
        for feat in layer:
            code = feat.GetField("class_id")
            feat.SetField("class_name", names.get(code, str(code)))
            feat.SetField("area_ha", feat.GetGeometryRef().GetArea() / 10000.0)
            layer.SetFeature(feat)
        layer.CommitTransaction()
        ds = None
        for f in tmp_dir.iterdir():  # a shapefile is several files: move them all
            f.replace(out_path.parent / f.name)
    finally:
        for f in tmp_dir.glob("*"):
            f.unlink()
        tmp_dir.rmdir()
    return out_path
