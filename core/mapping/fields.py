"""Per-field (object-based) crop maps: each field takes one class from the pixels inside it.

Fields are polygons with an id (a layer or file the user gives). They are rasterised on the map's
grid (pixel centres, GDAL), the crop map's classes are counted per field block by block, and each
field takes the majority class of its pixels (``majority``) or the class of highest mean
probability (``probability``, from the class-probability raster), with the share of the winning
class. Pixels outside every field keep the pixel map's class in the raster output.

Outputs: a class raster (palette and class names like the crop map) and the field polygons with
``field_id``, ``class_id``, ``class_name``, ``share``, ``pixels`` and ``area_ha``. Accuracy is
reported per pixel (the test pixels against the per-field map) and per field (each test field's
majority reference class against its mapped class).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from ..errors import InputError
from ..files import PathLike, atomic_output, create_geotiff, open_raster, read_window
from ..inputs.grid import Grid
from ..options import Choice, choice
from .accuracy import Accuracy, assess
from .samples import Samples

log = logging.getLogger("tsstfn")
BLOCK_ROWS = 512


class FieldRule(Choice):
    """How a field takes its class: the majority of its pixels, or the highest mean class probability."""

    MAJORITY = "majority"
    PROBABILITY = "probability"


@dataclass
class FieldMap:
    """A per-field map and its accuracy.

    Attributes:
        raster: the class raster.
        vectors: the field polygons, one file per vector format.
        ids: the rasterised field index of each pixel (0 outside every field; kept for the scores).
        n_fields: fields read; ``n_mapped`` of them hold at least one classified pixel.
        n_mapped: see ``n_fields``.
        pixel_accuracy: the test pixels against the per-field map.
        field_accuracy: each test field's majority reference class against its mapped class.
    """

    raster: Path
    vectors: list[Path] = field(default_factory=list)
    ids: Path | None = None
    n_fields: int = 0
    n_mapped: int = 0
    pixel_accuracy: Accuracy | None = None
    field_accuracy: Accuracy | None = None

    def accuracy_dict(self) -> dict | None:
        """Plain data for JSON reports: the per-pixel accuracy, plus the per-field kappa (None when unscored)."""
        if self.pixel_accuracy is None:
            return None
        data = self.pixel_accuracy.as_dict()
        if self.field_accuracy is not None:
            data["per_field_kappa"] = self.field_accuracy.kappa
            data["per_field_overall_accuracy"] = self.field_accuracy.overall
            data["n_test_fields"] = int(self.field_accuracy.matrix.sum())
        return data


def values_at(raster: PathLike, samples: Samples, index: np.ndarray) -> np.ndarray:
    """A class raster's values at the sample pixels ``index`` (read in strips of :data:`BLOCK_ROWS` rows)."""
    ds = open_raster(raster)
    band = ds.GetRasterBand(1)
    rows, cols = samples.rows[index], samples.cols[index]
    out = np.zeros(len(rows), dtype=np.int64)
    for y0, h in _blocks(ds.RasterYSize):
        sel = np.nonzero((rows >= y0) & (rows < y0 + h))[0]
        if sel.size:
            out[sel] = read_window(band, (0, y0, ds.RasterXSize, h))[rows[sel] - y0, cols[sel]]
    return out


@dataclass
class _Fields:
    geometries: list[ogr.Geometry]
    ids: list[object]
    srs: osr.SpatialReference


def read_fields(path: PathLike, grid: Grid, id_field: str | None = None) -> _Fields:
    """The field polygons of ``path`` in the grid's CRS, with their ids (``id_field``, or the feature id).

    Raises:
        InputError: not a vector file, no CRS, no such field, no polygon, or none inside the grid.
    """
    name = Path(str(path)).name
    ds = ogr.Open(str(path))
    if ds is None or ds.GetLayerCount() == 0:
        raise InputError(f"Fields '{name}' are not a vector file GDAL can read; give a GeoPackage or a Shapefile of polygons.")
    layer = ds.GetLayer(0)
    defn = layer.GetLayerDefn()
    columns = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    if id_field and id_field not in columns:
        raise InputError(f"Fields '{name}' have no field '{id_field}'; fields are: {', '.join(columns) or 'none'}.")
    if not grid.has_crs:
        raise InputError(
            f"Fields '{name}' are vector features, which cannot be placed on rasters without a CRS (assume_aligned)."
        )
    srs = layer.GetSpatialRef()
    if srs is None or (srs.GetName() or "").startswith("Undefined"):
        raise InputError(f"Fields '{name}' have no CRS; assign one in QGIS before using them.")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, grid.srs)
    geoms, ids = [], []
    xmin, ymin, xmax, ymax = grid.bounds
    for feat in layer:
        geom = feat.GetGeometryRef()
        if geom is None or geom.IsEmpty() or ogr.GT_Flatten(geom.GetGeometryType()) not in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
            continue
        geom = geom.Clone()
        try:
            geom.Transform(ct)
        except RuntimeError:
            continue
        env = geom.GetEnvelope()
        if env[1] < xmin or env[0] > xmax or env[3] < ymin or env[2] > ymax:
            continue
        geoms.append(geom)
        ids.append(feat.GetField(id_field) if id_field else feat.GetFID())
    if not geoms:
        raise InputError(f"None of the polygons in '{name}' falls inside the study area; check the layer's CRS and extent.")
    out_srs = grid.srs
    return _Fields(geoms, ids, out_srs)


def rasterize_fields(fields: _Fields, grid: Grid, out_path: PathLike) -> Path:
    """Each pixel's field index (1..n in the order of ``fields``; 0 outside), an Int32 GeoTIFF written atomically."""
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = mem.CreateLayer("fields", fields.srs, ogr.wkbMultiPolygon)
    layer.CreateField(ogr.FieldDefn("k", ogr.OFTInteger))
    for k, geom in enumerate(fields.geometries, 1):
        feat = ogr.Feature(layer.GetLayerDefn())
        feat.SetField("k", k)
        feat.SetGeometry(geom)
        layer.CreateFeature(feat)
    with atomic_output(out_path) as tmp:
        ds = create_geotiff(tmp, grid, 1, gdal.GDT_Int32, 0, ["TILED=YES", "COMPRESS=DEFLATE"])
        ds.GetRasterBand(1).Fill(0)
        gdal.RasterizeLayer(ds, [1], layer, options=["ATTRIBUTE=k"])
        ds.FlushCache()
        ds = None
    layer = None
    mem = None
    return Path(out_path)


def _blocks(height: int) -> list[tuple[int, int]]:
    return [(y0, min(BLOCK_ROWS, height - y0)) for y0 in range(0, height, BLOCK_ROWS)]


def field_scores(ids_path: PathLike, crop_map: PathLike, n_fields: int, proba_path: PathLike | None = None) -> np.ndarray:
    """Pixels of each class in each field ``(n_fields + 1, 256)``, read block by block.

    With ``proba_path``, the summed probability of each class instead (each band's ``CLASS_CODE``).
    """
    ids_ds, map_ds = open_raster(ids_path), open_raster(crop_map)
    ids_band, map_band = ids_ds.GetRasterBand(1), map_ds.GetRasterBand(1)
    width, height = ids_ds.RasterXSize, ids_ds.RasterYSize
    top = 255
    scores = np.zeros((n_fields + 1, top + 1), dtype=np.float64)
    p_ds = open_raster(proba_path) if proba_path else None
    for y0, h in _blocks(height):
        ids = read_window(ids_band, (0, y0, width, h)).ravel().astype(np.int64)
        cls = read_window(map_band, (0, y0, width, h)).ravel().astype(np.int64)
        inside = (ids > 0) & (cls > 0)
        if p_ds is None:
            scores += np.bincount(ids[inside] * (top + 1) + cls[inside], minlength=scores.size).reshape(scores.shape)
            continue
        codes = _proba_codes(p_ds)
        for b, code in enumerate(codes, 1):
            p = read_window(p_ds.GetRasterBand(b), (0, y0, width, h)).ravel().astype(np.float64)
            ok = inside & np.isfinite(p)
            scores[:, code] += np.bincount(ids[ok], weights=p[ok], minlength=n_fields + 1)
    return scores


def _proba_codes(ds: gdal.Dataset) -> list[int]:
    """The class code of each band of a class-probability raster (from ``CLASS_CODE``, else 1, 2, ...)."""
    codes = []
    for b in range(1, ds.RasterCount + 1):
        code = ds.GetRasterBand(b).GetMetadataItem("CLASS_CODE")
        codes.append(int(code) if code else b)
    return codes


def field_map(
    crop_map: PathLike,
    fields_path: PathLike,
    grid: Grid,
    names: dict[int, str],
    out_raster: PathLike,
    out_vectors: Sequence[PathLike] = (),
    id_field: str | None = None,
    rule: FieldRule | str = FieldRule.MAJORITY,
    proba_path: PathLike | None = None,
    samples: Samples | None = None,
    test_index: np.ndarray | None = None,
    work_dir: PathLike | None = None,
) -> FieldMap:
    """The per-field map of ``crop_map`` (see the module docstring), and its accuracy on the test samples.

    The rasterised field index goes to ``work_dir`` (default: beside ``out_raster``) as ``field_index.tif``.

    Raises:
        InputError: unreadable fields (see :func:`read_fields`); ``probability`` without a probability raster.
    """
    from .classify import style_class_band
    from .export import AREA_COLUMN, write_vector

    rule = choice(FieldRule, rule, "field_rule")
    if rule is FieldRule.PROBABILITY and not proba_path:
        raise InputError("Job field 'field_rule': 'probability' needs the class probabilities (set 'probabilities': true).")
    fields = read_fields(fields_path, grid, id_field)
    out_raster = Path(out_raster)
    ids_path = rasterize_fields(fields, grid, Path(work_dir or out_raster.parent) / "field_index.tif")
    scores = field_scores(ids_path, crop_map, len(fields.geometries), proba_path if rule is FieldRule.PROBABILITY else None)
    counts = scores if rule is FieldRule.MAJORITY else field_scores(ids_path, crop_map, len(fields.geometries))
    winner = np.argmax(scores[:, 1:], axis=1) + 1
    pixels = counts[:, 1:].sum(axis=1)
    winner[pixels == 0] = 0
    share = np.divide(counts[np.arange(len(winner)), winner], pixels, out=np.zeros(len(winner)), where=pixels > 0)
    winner[0] = 0
    lut = winner.astype(np.uint8)
    with atomic_output(out_raster) as tmp:
        ids_ds, map_ds = open_raster(ids_path), open_raster(crop_map)
        ds = create_geotiff(tmp, grid, 1, gdal.GDT_Byte, 0, ["TILED=YES", "COMPRESS=DEFLATE"])
        band = ds.GetRasterBand(1)
        band.SetDescription("crop class per field")
        style_class_band(band, names)  # before any pixel (see style_class_band)
        for y0, h in _blocks(grid.height):
            ids = read_window(ids_ds.GetRasterBand(1), (0, y0, grid.width, h))
            pixel_class = read_window(map_ds.GetRasterBand(1), (0, y0, grid.width, h))
            band.WriteArray(np.where(ids > 0, lut[ids], pixel_class).astype(np.uint8), 0, y0)
        ds.FlushCache()
        ds = band = None
    ha_per_unit = grid.pixel_area_ha / abs(grid.geotransform[1] * grid.geotransform[5])
    columns = [
        ("field_id", ogr.OFTString, 40, 0),
        ("class_id", ogr.OFTInteger, 0, 0),
        ("class_name", ogr.OFTString, 40, 0),
        ("share", ogr.OFTReal, 8, 4),
        ("pixels", ogr.OFTInteger, 0, 0),
        AREA_COLUMN,
    ]
    vectors = []
    for path in out_vectors:
        rows = (
            (geom, (str(fid), int(winner[k]), names.get(int(winner[k]), "") if winner[k] else "unclassified",
                    float(share[k]), int(pixels[k]), geom.GetArea() * ha_per_unit))
            for k, (geom, fid) in enumerate(zip(fields.geometries, fields.ids), 1)
        )  # fmt: skip
        vectors.append(write_vector(path, fields.srs, columns, rows))
    result = FieldMap(out_raster, vectors, ids_path, len(fields.geometries), int((pixels[1:] > 0).sum()))
    if samples is not None and test_index is not None and len(test_index):
        result.pixel_accuracy, result.field_accuracy = _accuracies(ids_path, lut, samples, test_index, names, grid)
    log.info("per-field map: %d fields, %d with classified pixels", result.n_fields, result.n_mapped)
    return result


def _accuracies(
    ids_path: Path, lut: np.ndarray, samples: Samples, test_index: np.ndarray, names: dict[int, str], grid: Grid
) -> tuple[Accuracy | None, Accuracy | None]:
    """Per pixel: test pixels inside a field against the field's class. Per field: majority reference vs class."""
    ds = open_raster(ids_path)
    rows, cols, ref = samples.rows[test_index], samples.cols[test_index], samples.codes[test_index]
    field_of = np.zeros(len(rows), dtype=np.int64)
    for y0, h in _blocks(grid.height):
        sel = np.nonzero((rows >= y0) & (rows < y0 + h))[0]
        if sel.size:
            ids = read_window(ds.GetRasterBand(1), (0, y0, grid.width, h))
            field_of[sel] = ids[rows[sel] - y0, cols[sel]]
    inside = field_of > 0
    if not inside.any():
        log.warning("no test sample falls inside a field polygon: the per-field map cannot be scored")
        return None, None
    mapped = lut[field_of[inside]]
    pixel_acc = assess(ref[inside], mapped, names, "test pixels inside the field polygons")
    ref_field, map_field = [], []
    for k in np.unique(field_of[inside]):
        in_k = field_of == k
        values, counts = np.unique(ref[in_k], return_counts=True)
        ref_field.append(int(values[np.argmax(counts)]))
        map_field.append(int(lut[k]))
    field_acc = assess(np.array(ref_field), np.array(map_field), names, "one vote per test field (majority reference)")
    return pixel_acc, field_acc
