"""Labelled samples: points, polygons or a label raster on the grid, and the train/test split.

Class values may be names (``soybean``: the name is the text, codes 1, 2, ... in sorted order) or
integer codes, whose names come from the user (a value map, a lookup file, a label raster's category
names: :mod:`.classes`), else are the codes as text; no name is ever invented. A season filter keeps
the samples of one season or year; samples sharing a pixel are counted and warned about, and every
split keeps a pixel's samples on one side. The split is the paper's random 7:3 by pixel, by field
(polygon or field id), so that no field has pixels on both sides, or by spatial block.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from osgeo import gdal, ogr, osr

from ..errors import InputError
from ..options import Choice, choice
from .classes import as_code
from .csv_points import csv_srs, is_csv, open_csv_points

if TYPE_CHECKING:
    from ..inputs.grid import Grid

log = logging.getLogger("tsstfn")


class Split(Choice):
    """How samples are split into training and test.

    ``random``: by pixel at random (the paper's); ``field``: by field id or polygon; ``block``: by
    square spatial blocks of ``block_m`` metres, so that no block has pixels on both sides.
    """

    RANDOM = "random"
    FIELD = "field"
    BLOCK = "block"


class AccuracyNeed(Choice):
    """What a crop map does when a class has too few samples to hold some out for its accuracy.

    ``when_possible`` (the default of jobs, ``classify``, Processing and the dialog): with at least two
    classes of at least one sample each, the forest is trained on every sample, the map and its
    pixel-count areas are written, and the reports say that the accuracy was not measured and why
    (:func:`accuracy_not_measured`); no kappa, confusion matrix or error-adjusted areas. ``required``:
    such samples are refused before the run, naming the class.
    """

    WHEN_POSSIBLE = "when_possible"
    REQUIRED = "required"


#: samples per class a held-out accuracy needs (a 7:3 split leaves about 3 test samples of such a class)
MIN_PER_CLASS = 10


@dataclass
class Samples:
    """Labelled pixels of the grid: row, column, class code and group (field) of each, and the class names."""

    rows: np.ndarray
    cols: np.ndarray
    codes: np.ndarray
    groups: np.ndarray  # field / polygon id, for the split by field
    names: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # warnings for the reports (classes outside, shared pixels)
    #: why no held-out accuracy can be measured (:func:`accuracy_not_measured`); empty: it can
    not_measured: str = ""

    def pixel_ids(self) -> np.ndarray:
        """One id per distinct pixel (samples sharing a pixel share it), in the samples' order."""
        if not len(self.rows):
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.stack([self.rows, self.cols], axis=1), axis=0, return_inverse=True)[1].ravel()


#: more distinct values than this, each in one feature only, make a field an id rather than a class field
MAX_ID_LIKE_CLASSES = 10
_ID_NAME = re.compile(r"(^(id|fid|gid|ogc_fid|objectid|uid)$|_id$|^id_|_fid$)", re.I)
_CLASS_WORD = re.compile(r"(class|crop|label|type|code|culture|lc)", re.I)


def id_like_field(name: str) -> bool:
    """True for a field named like an id (``field_id``, ``fid``) and not like a class (``class_id``, ``crop_code``)."""
    return bool(_ID_NAME.search(name)) and not _CLASS_WORD.search(name)


def read_samples(
    path: str,
    class_field: str,
    grid: Grid,
    layer: str | None = None,
    group_field: str | None = None,
    classes: dict[int, str] | None = None,
    min_per_class: int = MIN_PER_CLASS,
    *,
    accuracy: AccuracyNeed | str = AccuracyNeed.REQUIRED,
    class_names: Mapping | None = None,
    class_names_file: str | None = None,
    season_field: str | None = None,
    season: str | None = None,
) -> Samples:
    """Labelled pixels from points or polygons (reprojected to the grid's CRS) or a label raster.

    Class values may be names (``soybean``) or integer codes. With ``classes`` given, any other
    value is an error naming it. Text values are their own names; codes take their names from
    ``class_names_file`` (the file the user chose; see :func:`~.classes.read_class_names`), then
    ``class_names`` (``{code: name}``, e.g. the class field's QGIS value map), then a label raster's
    category names, else the code as text (the order of :mod:`.classes`). ``season_field`` and
    ``season`` keep only the samples of that season (a value equal to ``season``, or a date in that
    year, or that ISO date). ``accuracy`` (:class:`AccuracyNeed`): ``required`` (the default here)
    refuses a class with fewer than ``min_per_class`` samples; ``when_possible`` keeps such samples
    and records why no accuracy can be measured in :attr:`Samples.not_measured`.

    Raises:
        InputError: one sentence naming the samples, the field or the class, and what to do.
    """
    from .classes import coerce_names, read_class_names

    # the file the user chose wins over the layer's value map (or a job's mapping); each names what the other leaves out
    given = {**(coerce_names(class_names) or {}), **(read_class_names(class_names_file) if class_names_file else {})}
    name = Path(path).name
    if not Path(path).exists():
        raise InputError(f"Samples '{name}' not found at '{path}'.")
    csv = is_csv(path)
    try:
        ds = open_csv_points(path) if csv else gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_RASTER)
    except RuntimeError:
        ds = None
    if ds is None:
        raise InputError(
            f"Samples '{name}' are neither a vector file (points or polygons), a CSV with coordinate columns "
            "(longitude, latitude) nor a raster GDAL can read; choose a GeoPackage, Shapefile, CSV or a label raster."
        )
    if ds.GetLayerCount() == 0 and ds.RasterCount:
        if season_field:
            raise InputError(
                f"Samples '{name}' are a label raster, which has no field '{season_field}' to filter seasons by; clear "
                "the season filter, or give the samples as points or polygons with that field."
            )
        return _samples_from_raster(path, grid, classes, min_per_class, given, accuracy)
    lyr = ds.GetLayerByName(layer) if layer else ds.GetLayer(0)
    if lyr is None:
        raise InputError(f"'{name}' has no layer '{layer}'.")
    defn = lyr.GetLayerDefn()
    fields = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    if id_like_field(class_field):
        raise InputError(
            f"Class field '{class_field}' of samples '{name}' is named like an id (one value per field or feature), not "
            "a class; choose the field that holds the crop classes (an id goes in 'group_field')."
        )
    if class_field not in fields:
        raise InputError(
            f"Samples '{name}' have no field '{class_field}'; fields are: {', '.join(fields)}. Choose the class field."
        )
    if group_field and group_field not in fields:
        raise InputError(f"Samples '{name}' have no field '{group_field}' to group by; fields are: {', '.join(fields)}.")
    if season_field and season_field not in fields:
        raise InputError(
            f"Samples '{name}' have no field '{season_field}' to filter seasons by; fields are: {', '.join(fields)}."
        )
    if season_field and (season is None or not str(season).strip()):
        raise InputError(f"Samples '{name}': give the season (a value of '{season_field}', e.g. a year) to keep.")
    if not grid.has_crs:
        raise InputError(
            f"Samples '{name}' are vector features, which cannot be placed on rasters without a CRS (assume_aligned); "
            "give a label raster on the same pixel grid (class codes, 0 for none) instead."
        )
    srs = lyr.GetSpatialRef() or (csv_srs(lyr) if csv else None)
    if srs is None and csv:
        raise InputError(
            f"Samples '{name}' are a CSV whose coordinates are not longitude/latitude degrees, and a CSV cannot say "
            "its CRS: load it in QGIS, assign the CRS and save it as a GeoPackage."
        )
    if srs is None or (srs.GetName() or "").startswith("Undefined"):  # GeoPackage: srs_id 0 / -1, "Undefined ... SRS"
        raise InputError(f"Samples '{name}' have no CRS; assign one in QGIS before using them.")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, grid.srs)
    gt = grid.geotransform
    rows, cols, values, groups = [], [], [], []
    outside = 0
    per_value: dict = {}  # class value -> features holding it (an id field has one feature per value)
    mem = gdal.GetDriverByName("MEM")
    n_features = n_null = 0
    seasons: dict[str, int] = {}  # season value -> features (for the message when none matches)
    inside: dict = {}  # class value -> pixels inside the grid
    for feat in lyr:
        n_features += 1
        value = feat.GetField(class_field)
        if value is None or (isinstance(value, str) and not value.strip()):
            n_null += 1
            continue
        if season_field:
            found = feat.GetField(season_field)
            seasons[str(found)] = seasons.get(str(found), 0) + 1
            if not season_matches(found, str(season)):
                continue
        per_value[value] = per_value.get(value, 0) + 1
        geom = feat.GetGeometryRef()
        if geom is None or geom.IsEmpty():
            continue
        geom = geom.Clone()
        try:
            geom.Transform(ct)
        except RuntimeError:  # not transformable into the grid's CRS: far outside it
            outside += 1
            continue
        if not np.all(np.isfinite(geom.GetEnvelope())):
            outside += 1
            continue
        group = feat.GetField(group_field) if group_field else feat.GetFID()
        if geom.GetGeometryType() in (ogr.wkbPoint, ogr.wkbPoint25D):
            c = int(np.floor((geom.GetX() - gt[0]) / gt[1]))
            r = int(np.floor((geom.GetY() - gt[3]) / gt[5]))
            cells = [(r, c)]
        else:  # polygons: the pixels whose centre they contain
            env = geom.GetEnvelope()
            c0, c1 = int(np.floor((env[0] - gt[0]) / gt[1])), int(np.ceil((env[1] - gt[0]) / gt[1]))
            r0, r1 = int(np.floor((env[3] - gt[3]) / gt[5])), int(np.ceil((env[2] - gt[3]) / gt[5]))
            c0, r0 = max(c0, 0), max(r0, 0)
            c1, r1 = min(c1, grid.width), min(r1, grid.height)
            if c1 <= c0 or r1 <= r0:
                outside += 1
                continue
            burn = mem.Create("", c1 - c0, r1 - r0, 1, gdal.GDT_Byte)
            burn.SetGeoTransform((gt[0] + c0 * gt[1], gt[1], 0, gt[3] + r0 * gt[5], 0, gt[5]))
            burn.SetProjection(grid.crs_wkt)
            tmp = ogr.GetDriverByName("Memory").CreateDataSource("")
            tl = tmp.CreateLayer("g", grid.srs, geom.GetGeometryType())
            f2 = ogr.Feature(tl.GetLayerDefn())
            f2.SetGeometry(geom)
            tl.CreateFeature(f2)
            gdal.RasterizeLayer(burn, [1], tl, burn_values=[1])
            cells = [(r0 + r, c0 + c) for r, c in np.argwhere(burn.ReadAsArray() == 1)]
        for r, c in cells:
            if 0 <= r < grid.height and 0 <= c < grid.width:
                rows.append(r)
                cols.append(c)
                values.append(value)
                groups.append(group)
                inside[value] = inside.get(value, 0) + 1
            else:
                outside += 1
    if len(per_value) > MAX_ID_LIKE_CLASSES and max(per_value.values()) == 1:
        raise InputError(
            f"Field '{class_field}' of samples '{name}' has a different value in each of its {len(per_value)} features: "
            "an id, not a class. Choose the field that holds the crop classes."
        )
    if n_features == 0:
        raise InputError(f"Samples '{name}' hold no features (the layer is empty); choose the layer with the samples.")
    if n_null == n_features:
        raise InputError(
            f"Field '{class_field}' of samples '{name}' is empty (NULL) in all {n_features} features; choose the field "
            "that holds the crop classes, or fill it."
        )
    if season_field and not per_value and n_null < n_features:
        shown = ", ".join(f"'{v}' ({n})" for v, n in sorted(seasons.items())[:8])
        raise InputError(f"No sample of '{name}' has '{season_field}' = '{season}'; its values are {shown}. Choose one of them.")
    if not rows:
        raise InputError(f"None of the samples in '{name}' falls inside the study area; check the layer's CRS and extent.")
    if outside:
        log.warning("%d sample(s) of %s lie outside the study area and were ignored", outside, name)
    notes = []
    for value, n in sorted(per_value.items(), key=lambda kv: str(kv[0])):
        if not inside.get(value):
            code = as_code(value)
            shown = given.get(code, str(value)) if code is not None else str(value)
            notes.append(
                f"Samples '{name}': class '{shown}': its {n} sample(s) all lie outside the rasters; the map has no such "
                "class (check the samples' CRS and the rasters' extent)."
            )
            log.warning(notes[-1])
    codes, names = _codes(values, classes, name, given)
    samples = Samples(np.array(rows), np.array(cols), codes, np.array(groups), names, notes)
    check_class_counts(samples, min_per_class, name, accuracy)
    warn_shared_pixels(samples, name, None if season_field else _season_like(fields))
    return samples


_SEASON_WORD = re.compile(r"(season|year|date|ano|safra|campaign|harvest|yr)", re.I)


def _season_like(fields: Iterable[str]) -> str | None:
    """The first field named like a season, year or date (for the hint to filter by it)."""
    return next((f for f in fields if _SEASON_WORD.search(f)), None)


def season_matches(value: object, season: str) -> bool:
    """Whether a sample's season value is ``season``: the same text or number, or a date in year ``season``."""
    import datetime as dt

    if value is None:
        return False
    wanted = season.strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.strftime("%Y/%m/%d")
    text = str(value).strip()
    if text.lower() == wanted.lower():
        return True
    # an ISO date or date-time of that year, or on that day (GDAL gives date fields as 'YYYY/MM/DD' text)
    day = re.match(r"^(\d{4})[-/](\d{2})[-/](\d{2})", text)
    return day is not None and wanted in (day[1], f"{day[1]}-{day[2]}-{day[3]}")


def season_choices(values: Iterable[object]) -> list[str]:
    """The seasons to offer for a season field's distinct ``values``: each as text the filter matches.

    Dates (``datetime.date``, or GDAL's ``YYYY/MM/DD`` text) give their years first, then each day
    as ``YYYY-MM-DD``; other values their text. NULLs are left out.
    """
    import datetime as dt

    years, days, other = set(), set(), set()
    for value in values:
        if value is None or str(value).strip() in ("", "NULL"):
            continue
        text = value.strftime("%Y-%m-%d") if isinstance(value, (dt.date, dt.datetime)) else str(value).strip()
        day = re.match(r"^(\d{4})[-/](\d{2})[-/](\d{2})", text)
        if day:
            years.add(day[1])
            days.add(f"{day[1]}-{day[2]}-{day[3]}")
        else:
            other.add(text)
    return sorted(years) + sorted(days) + sorted(other)


def warn_shared_pixels(samples: Samples, name: str, season_field: str | None = None) -> int:
    """Warn (log and ``samples.notes``), by count and class, about pixels holding two or more samples; returns how many.

    Two samples on one pixel are one observation twice (the split keeps them on one side, see
    :func:`split`); with different classes (samples of several seasons, overlapping polygons) the
    pixel teaches the forest both.
    """
    ids = samples.pixel_ids()
    counts = np.bincount(ids) if len(ids) else np.zeros(0, dtype=np.int64)
    shared = int((counts > 1).sum())
    if not shared:
        return 0
    conflicts: dict[tuple[str, ...], int] = {}
    order = np.argsort(ids, kind="stable")
    bounds = np.flatnonzero(np.diff(ids[order])) + 1
    for group in np.split(order, bounds):
        kinds = {int(c) for c in samples.codes[group]}
        if len(group) > 1 and len(kinds) > 1:
            key = tuple(sorted(samples.names.get(c, str(c)) for c in kinds))
            conflicts[key] = conflicts.get(key, 0) + 1
    text = f"Samples '{name}': {shared} pixel(s) hold two or more samples ({int(counts[counts > 1].sum())} samples)"
    if conflicts:
        pairs = "; ".join(
            f"{' and '.join(repr(n) for n in k)} on {v}" for k, v in sorted(conflicts.items(), key=lambda kv: -kv[1])
        )
        text += f", {sum(conflicts.values())} of them with different classes ({pairs})"
    text += "; each pixel's samples stay on one side of the train/test split"
    if season_field:
        text += f". Samples of several seasons? Filter them by '{season_field}' (the season filter)"
    samples.notes.append(text + ".")
    log.warning(samples.notes[-1])
    return shared


#: the class codes a crop map can hold: a Byte raster whose 0 is nodata
MIN_CODE, MAX_CODE = 1, 255


def check_codes(codes: Iterable[int], name: str, where: str = "class field") -> None:
    """Every class code fits the crop map: an integer from 1 to 255 (0 is the map's nodata).

    Raises:
        InputError: naming the samples, the first code that does not fit and what to do.
    """
    bad = sorted({int(c) for c in codes if not MIN_CODE <= int(c) <= MAX_CODE})
    if bad:
        raise InputError(
            f"Samples '{name}': class code {bad[0]} in the {where} cannot be a class of the crop map, whose codes are "
            f"{MIN_CODE} to {MAX_CODE} (0 is its nodata); recode the classes to 1-{MAX_CODE} or give them as names."
        )


def _codes(
    values: list, classes: dict[int, str] | None, name: str, given: Mapping[int, str] | None = None
) -> tuple[np.ndarray, dict[int, str]]:
    """Class codes and names of the class field's ``values`` (see :func:`read_samples`); no name is invented."""
    from .classes import names_for_codes

    if classes:
        check_codes(classes, name, "classes given")
        by_name = {v.lower(): k for k, v in classes.items()}
        keys = []
        for v in values:
            code = as_code(v)
            key = code if code is not None else by_name.get(str(v).lower())
            if key not in classes:
                raise InputError(
                    f"Samples '{name}': class '{v}' is not one of the classes {', '.join(classes.values())}. "
                    "Fix the class field or add the class to the job."
                )
            keys.append(key)
        return np.array(keys, dtype=np.int32), {k: classes[k] for k in sorted(set(keys))}
    as_codes = [as_code(v) for v in values]
    if all(c is not None for c in as_codes):
        check_codes((int(c) for c in as_codes if c is not None), name)
        codes = np.array(as_codes, dtype=np.int32)
        return codes, names_for_codes(np.unique(codes), given, f"Samples '{name}'")
    texts = sorted({str(v).strip() for v in values}, key=lambda t: (t.lower(), t))
    if len(texts) > MAX_CODE:
        raise InputError(
            f"Samples '{name}': the class field holds {len(texts)} different names, more than the {MAX_CODE} classes a "
            "crop map can hold; is it the class field?"
        )
    lookup = {t: i + 1 for i, t in enumerate(texts)}
    return np.array([lookup[str(v).strip()] for v in values], dtype=np.int32), {i: t for t, i in lookup.items()}


def _samples_from_raster(
    path: str,
    grid: Grid,
    classes: dict[int, str] | None,
    min_per_class: int,
    given: Mapping[int, str] | None = None,
    accuracy: AccuracyNeed | str = AccuracyNeed.REQUIRED,
) -> Samples:
    from ..inputs.grid import Grid as GridType
    from .classes import names_for_codes, raster_class_names

    ds = gdal.Open(str(path))
    labels = GridType.from_dataset(ds, Path(path).name, allow_no_crs=not grid.has_crs)
    on_grid = GridType(labels.crs_wkt, labels.geotransform, labels.width, labels.height, grid.pixel_size_m)
    if not on_grid.same_as(grid):
        x0, y0 = labels.geotransform[0], labels.geotransform[3]
        raise InputError(
            f"Label raster '{Path(path).name}' is not on the study grid: it is {labels.width} x {labels.height} px from "
            f"({x0:.0f}, {y0:.0f}), the grid {grid.width} x {grid.height} px from ({grid.geotransform[0]:.0f}, "
            f"{grid.geotransform[3]:.0f}){'' if on_grid.has_crs == grid.has_crs else ' (one has a CRS, the other not)'}. "
            "Warp it onto the grid first (Raster > Projections > Warp, or gdalwarp with the grid's extent and size)."
        )
    band = ds.GetRasterBand(1)
    lab = band.ReadAsArray()
    nodata = band.GetNoDataValue()
    labelled = np.isfinite(lab) & (lab != 0) if np.issubdtype(lab.dtype, np.floating) else lab != 0
    if nodata is not None:
        labelled &= lab != nodata
    values = np.unique(lab[labelled])
    if np.issubdtype(lab.dtype, np.floating) and not np.all(values == np.round(values)):
        raise InputError(
            f"Label raster '{Path(path).name}' holds fractional values ({values[values != np.round(values)][0]:g}); "
            "class codes are integers 1-255 (0 for none)."
        )
    check_codes(values.astype(np.int64), Path(path).name, "label raster")
    rows, cols = np.nonzero(labelled)
    codes = lab[rows, cols].astype(np.int32)
    present = np.unique(codes)
    if classes:
        names = {int(c): classes.get(int(c), str(int(c))) for c in present}
    else:
        names = names_for_codes(present, given or raster_class_names(band), f"Label raster '{Path(path).name}'")
    groups = rows // 32 * 100000 + cols // 32  # 320 m blocks stand in for fields
    samples = Samples(rows, cols, codes, groups, names)
    check_class_counts(samples, min_per_class, Path(path).name, accuracy)
    return samples


def check_class_counts(
    samples: Samples, min_per_class: int, name: str, accuracy: AccuracyNeed | str = AccuracyNeed.REQUIRED
) -> None:
    """The one rule on how many samples a crop map needs, and whether its accuracy can be measured.

    Fewer than two classes: refused. A class with fewer than ``min_per_class`` samples: refused when
    ``accuracy`` is ``required``; with ``when_possible`` the samples are kept and
    :attr:`Samples.not_measured` says why no held-out accuracy is measured (the forest then trains on
    every sample; see :func:`~.classify.assess_forest`).

    Raises:
        InputError: naming the samples and the class, and what to do.
    """
    need = choice(AccuracyNeed, accuracy, "accuracy")
    present = sorted({samples.names.get(int(c), str(c)) for c in np.unique(samples.codes)})
    if len(present) < 2:
        raise InputError(
            f"Samples '{name}' hold one class ({', '.join(present) or 'none'}) inside the study area; a crop map needs "
            "samples of at least two classes."
        )
    samples.not_measured = accuracy_not_measured(samples, min_per_class)
    if not samples.not_measured:
        return
    if need is AccuracyNeed.REQUIRED:
        for code, cname in samples.names.items():
            n = int((samples.codes == code).sum())
            if n < min_per_class:
                raise InputError(
                    f"Samples '{name}': class '{cname}' has {n} sample(s); at least {min_per_class} are needed. "
                    "Add samples or remove the class, or set the accuracy to 'when_possible' to map without measuring "
                    "its accuracy."
                )
    log.warning("Samples '%s': %s", name, samples.not_measured)


def accuracy_not_measured(samples: Samples, min_per_class: int = MIN_PER_CLASS) -> str:
    """Why no held-out accuracy can be measured on ``samples`` (a class under ``min_per_class``), or ''.

    The sentence names each such class and its count, e.g. "accuracy not measured: class 'Forest' has
    3 samples and 'Pasture' 3; a held-out accuracy needs at least 10 per class (add samples)".
    """
    few = []
    for code, cname in sorted(samples.names.items(), key=lambda kv: kv[1]):
        n = int((samples.codes == code).sum())
        if 0 < n < min_per_class:
            few.append((cname, n))
    if not few:
        return ""
    first = f"class '{few[0][0]}' has {few[0][1]} sample{'' if few[0][1] == 1 else 's'}"
    rest = [f"'{c}' {n}" for c, n in few[1:]]
    listed = first if not rest else f"{first}{', ' if len(rest) > 1 else ''}{', '.join(rest[:-1])} and {rest[-1]}"
    return f"accuracy not measured: {listed}; a held-out accuracy needs at least {min_per_class} per class (add samples)"


def split(
    samples: Samples,
    how: Split | str = Split.RANDOM,
    test_fraction: float = 0.3,
    seed: int = 0,
    blocks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices into ``samples``.

    ``random`` is the paper's 7:3 by pixel, stratified by class; ``field`` splits by group (field
    id or polygon), so that no field has pixels on both sides; ``block`` by the spatial ``blocks``
    (:func:`spatial_blocks`), keeping the classes' shares as far as whole blocks allow.

    Raises:
        InputError: too few blocks for the split.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    idx = np.arange(len(samples.codes))
    how = choice(Split, how, "split")
    pixels = samples.pixel_ids()
    shared = len(np.unique(pixels)) < len(pixels)
    if how is Split.RANDOM and not shared:
        train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=samples.codes)
        return train, test
    if how is Split.RANDOM:  # by distinct pixel, stratified by its first sample's class: a pixel never on both sides
        first = np.unique(pixels, return_index=True)[1]
        ptrain, _ = train_test_split(
            np.arange(len(first)), test_size=test_fraction, random_state=seed, stratify=samples.codes[first]
        )
        on_train = np.isin(pixels, ptrain)
        return idx[on_train], idx[~on_train]
    if how is Split.BLOCK:  # a pixel lies in one block: its samples share it
        if blocks is None:
            raise ValueError("a split by block needs the samples' blocks (spatial_blocks)")
        n_folds = max(2, round(1.0 / test_fraction))
        return block_folds(samples, blocks, n_folds, seed)[0]
    groups = _pixel_groups(samples, pixels) if shared else samples.groups
    return next(GroupShuffleSplit(1, test_size=test_fraction, random_state=seed).split(idx, samples.codes, groups))


def _pixel_groups(samples: Samples, pixels: np.ndarray) -> np.ndarray:
    """Groups (fields) merged where they share a pixel, so that a split by group keeps each pixel on one side."""
    _, group_ids = np.unique(samples.groups.astype(str), return_inverse=True)
    parent = list(range(int(group_ids.max()) + 1))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_group: dict[int, int] = {}
    for p, g in zip(pixels.tolist(), group_ids.ravel().tolist()):
        if p in first_group:
            a, b = root(first_group[p]), root(g)
            if a != b:
                parent[b] = a
        else:
            first_group[p] = g
    return np.array([root(g) for g in group_ids.ravel().tolist()])


def default_block_m(fine_pixel_m: float, coarse_pixel_m: float | None = None) -> float:
    """The side of the spatial blocks when none is given: the one rule of jobs, ``classify`` and Processing.

    Four coarse pixels where the coarse pixel's size is known (a job's MODIS rasters: 1000 m for
    250 m pixels), so that a block holds a few coarse pixels and no coarse pixel spans many blocks;
    else 1000 m, or four fine pixels where those are larger than 250 m. Rounded to 10 m.

    Args:
        fine_pixel_m: the side of the map's pixels in metres.
        coarse_pixel_m: the side of the coarse pixels in metres (None or 0: unknown).
    """
    if coarse_pixel_m:
        return float(round(4.0 * coarse_pixel_m, -1))
    return max(1000.0, float(round(4.0 * fine_pixel_m, -1)))


def split_description(how: Split | str, test_fraction: float, block_m: float | None = None) -> str:
    """How the samples were split, in the words of every report (accuracy, areas, run report, experiment).

    Args:
        how: the split.
        test_fraction: the share of samples held out.
        block_m: the side of the spatial blocks in metres (said for a split by block).
    """
    how = choice(Split, how, "split")
    text = {
        Split.RANDOM: "random split by pixel (the paper's; pixels of one field fall on both sides, which flatters accuracy)",
        Split.FIELD: "split by field/polygon (no field on both sides)",
        Split.BLOCK: f"split by spatial blocks of {block_m or 0:g} m (no block on both sides)",
    }[how]
    return f"{text}, test fraction {test_fraction:g}"


def spatial_blocks(samples: Samples, grid: Grid, block_m: float) -> np.ndarray:
    """The square block of ``block_m`` metres (whole pixels, at least one) each sample falls in, as an id."""
    block_px = max(1, int(round(block_m / grid.pixel_side_m)))
    return (samples.rows // block_px).astype(np.int64) * (grid.width // block_px + 1) + samples.cols // block_px


def block_folds(samples: Samples, blocks: np.ndarray, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` train/test splits by spatial block (scikit-learn's ``StratifiedGroupKFold``, shuffled with ``seed``).

    Raises:
        InputError: fewer blocks hold samples than there are folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_blocks = len(np.unique(blocks))
    if n_blocks < k:
        raise InputError(
            f"The samples fall in {n_blocks} spatial block(s), too few for {k} folds: lower 'block_m' (smaller "
            "blocks), or split by field."
        )
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(train, test) for train, test in folds.split(np.zeros(len(blocks)), samples.codes, blocks)]
