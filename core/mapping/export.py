"""The crop map in the formats people pass on, from the table in :mod:`..formats`.

Vectors: GDAL's sieve (minimum mapping unit) and polygonize, with class code, class name and area
in hectares; nodata (0) gives no polygon. Rasters other than the working GeoTIFF: ``gdal.Translate``
of it with the format's driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from osgeo import gdal, ogr, osr

from ..errors import InputError
from ..files import PathLike, atomic_output, open_raster
from ..formats import WORKING_RASTER, OutputFormat, format_for_path, get_format


def check_class_raster(path: PathLike) -> None:
    """``path`` is a raster of integer class codes (what :func:`polygonize` checks first).

    Raises:
        InputError: unreadable, or a floating-point raster (NDVI given where a crop map is expected), naming it.
    """
    src = open_raster(path)
    if src.GetRasterBand(1).DataType in (gdal.GDT_Float32, gdal.GDT_Float64, gdal.GDT_CFloat32, gdal.GDT_CFloat64):
        raise InputError(
            f"'{Path(str(path)).name}' is a floating-point raster; polygons are made from a class raster "
            "(integer class codes), such as the crop map."
        )


#: a column of a vector output: name, OGR type, width (0: the driver's default), precision
Column = tuple[str, int, int, int]
AREA_COLUMN: Column = ("area_ha", ogr.OFTReal, 16, 4)


def write_vector(
    out_path: PathLike, srs: osr.SpatialReference, columns: Sequence[Column], rows: Iterable[tuple[ogr.Geometry, Sequence]]
) -> Path:
    """Polygons with ``columns`` in the vector format ``out_path``'s suffix names, written atomically.

    Written once, feature by feature, into a hidden folder and moved into place when complete (a
    Shapefile is several files): works with every OGR driver, write-once formats included.

    Raises:
        InputError: ``out_path`` has no known vector suffix.
    """
    out_path = Path(out_path)
    fmt = format_for_path(out_path, "vector")
    tmp_dir = out_path.parent / f".{out_path.stem}.part"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        ds = ogr.GetDriverByName(fmt.driver).CreateDataSource(str(tmp_dir / out_path.name), list(fmt.creation_options))
        layer = ds.CreateLayer(out_path.stem, srs, ogr.wkbPolygon)
        for name, kind, width, precision in columns:
            defn = ogr.FieldDefn(name, kind)
            if width:
                defn.SetWidth(width)
                defn.SetPrecision(precision)
            layer.CreateField(defn)
        layer.StartTransaction()
        for geom, values in rows:
            feat = ogr.Feature(layer.GetLayerDefn())
            feat.SetGeometry(geom)
            for (name, *_), value in zip(columns, values):
                feat.SetField(name, value)
            layer.CreateFeature(feat)
        layer.CommitTransaction()
        layer = None
        ds = None
        for f in tmp_dir.iterdir():  # a shapefile is several files: move them all
            f.replace(out_path.parent / f.name)
    finally:
        for f in tmp_dir.glob("*"):
            f.unlink()
        tmp_dir.rmdir()
    return out_path


def hectares_per_square_unit(ds: gdal.Dataset) -> float:
    """Hectares per square unit of ``ds``'s CRS (exact for projected CRSs; at the centre for geographic ones)."""
    from ..inputs.grid import Grid

    grid = Grid.from_dataset(ds, allow_no_crs=True)
    gt = ds.GetGeoTransform()
    return grid.pixel_area_ha / abs(gt[1] * gt[5])


def polygonize(class_raster: PathLike, out_path: PathLike, names: dict[int, str] | None = None, mmu_ha: float = 0.0) -> Path:
    """Polygons of ``class_raster`` in the vector format its suffix names, written atomically.

    Regions smaller than ``mmu_ha`` hectares are merged into their largest neighbour first
    (``gdal.SieveFilter``, 8-connected).

    Raises:
        InputError: ``out_path`` has no known vector suffix.
    """
    out_path = Path(out_path)
    format_for_path(out_path, "vector")
    check_class_raster(class_raster)
    src = open_raster(class_raster)
    if not names:
        from .classify import class_names_of

        names = class_names_of(class_raster)
    gt = src.GetGeoTransform()
    ha_per_unit = hectares_per_square_unit(src)
    pixel_ha = abs(gt[1] * gt[5]) * ha_per_unit
    mem = gdal.GetDriverByName("MEM").CreateCopy("", src)
    mband = mem.GetRasterBand(1)
    if mmu_ha > 0:
        threshold = max(1, int(round(mmu_ha / pixel_ha)))
        gdal.SieveFilter(mband, mband.GetMaskBand(), mband, threshold, 8)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(src.GetProjection())
    work = ogr.GetDriverByName("Memory").CreateDataSource("")
    polygons = work.CreateLayer("polygons", srs, ogr.wkbPolygon)
    polygons.CreateField(ogr.FieldDefn("class_id", ogr.OFTInteger))
    gdal.Polygonize(mband, mband.GetMaskBand(), polygons, 0, [], callback=None)  # nodata (0) gives no polygon
    columns = [("class_id", ogr.OFTInteger, 0, 0), ("class_name", ogr.OFTString, 40, 0), AREA_COLUMN]
    rows = (
        (p.GetGeometryRef(), (p.GetField("class_id"), names.get(p.GetField("class_id"), str(p.GetField("class_id"))),
                              p.GetGeometryRef().GetArea() * ha_per_unit))
        for p in polygons
    )  # fmt: skip
    path = write_vector(out_path, srs, columns, rows)
    polygons = None
    work = None
    return path


def translate_raster(class_raster: PathLike, out_path: PathLike, fmt: OutputFormat) -> Path:
    """``class_raster`` rewritten in the raster format ``fmt`` (colours and class names kept), atomically."""
    with atomic_output(out_path) as tmp:
        gdal.Translate(str(tmp), str(class_raster), format=fmt.driver, creationOptions=list(fmt.creation_options))
    return Path(out_path)


def export_crop_map(
    crop_map: PathLike, out_dir: PathLike, stem: str, formats: Sequence[str], names: dict[int, str], mmu_ha: float = 0.0
) -> list[Path]:
    """Write the crop map (a working GeoTIFF) in each of ``formats`` as ``<out_dir>/<stem><suffix>``.

    The working GeoTIFF itself is the ``gtiff`` output and is not rewritten; the caller removes it
    when ``gtiff`` is not among ``formats``.

    Returns:
        The paths written, in the order of ``formats`` (the working GeoTIFF excluded).
    """
    out = []
    for key in formats:
        fmt = get_format(key)
        path = Path(out_dir) / f"{stem}{fmt.suffix}"
        if fmt.kind == "vector":
            out.append(polygonize(crop_map, path, names, mmu_ha))
        elif fmt.key != WORKING_RASTER:
            out.append(translate_raster(crop_map, path, fmt))
    return out
