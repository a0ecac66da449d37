"""Crop classification (paper 2.2.2): a random forest on the NDVI time series of each pixel and
of its 3 x 3 window (Sharma et al., 2018).

Features of a pixel, for each date in order: the 9 values of its 3 x 3 window, row by row, the
pixel itself in the middle (feature names ``d{t}_r{dy}c{dx}``). NaN rule: outside the scene the
edge pixel is repeated (edge padding); a NaN neighbour takes the centre pixel's value; a pixel
whose own value is NaN on any date cannot be classified and gets nodata (class 0).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from .. import __version__
from .errors import CancelledError, InputError, ModelFileError
from .raster import atomic_output, create_geotiff, read_array

log = logging.getLogger("tsstfn")
KNOWN_CODES = {"soybean": 1, "soy": 1, "soybeans": 1, "corn": 2, "maize": 2, "other": 3}
DEFAULT_COLORS = {1: (230, 200, 74), 2: (63, 143, 58), 3: (184, 184, 176)}
STRIP_ROWS = 256


@dataclass(frozen=True)
class ForestParams:
    """The paper's random forest: 40 trees, depth 25, 20 samples per leaf; all cores, seeded."""

    n_estimators: int = 40
    max_depth: int | None = 25
    min_samples_leaf: int = 20
    n_jobs: int = -1
    random_state: int = 0


def window_features(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(T, H, W)`` NDVI -> features ``(H, W, 9T)`` and a valid mask ``(H, W)``."""
    t, h, w = stack.shape
    padded = np.pad(stack, ((0, 0), (1, 1), (1, 1)), mode="edge")
    feats = np.empty((h, w, t, 9), dtype=np.float32)
    k = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            feats[:, :, :, k] = np.moveaxis(padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w], 0, -1)
            k += 1
    centre = np.moveaxis(stack, 0, -1)[..., None]
    feats = np.where(np.isnan(feats), centre, feats)
    valid = np.isfinite(stack).all(axis=0)
    return feats.reshape(h, w, t * 9), valid


def feature_names(n_dates: int) -> list[str]:
    return [f"d{t}_r{dy:+d}c{dx:+d}" for t in range(n_dates) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def read_strip(paths: Sequence[str], y0: int, h: int, width: int, height: int) -> tuple[np.ndarray, int]:
    """Rows ``y0 .. y0+h`` of every raster plus a one-row halo where the scene has one;
    returns the stack and the offset of row ``y0`` inside it."""
    top = max(0, y0 - 1)
    bottom = min(height, y0 + h + 1)
    stack = np.stack([read_array(p, (0, top, width, bottom - top)) for p in paths])
    return stack, y0 - top


def strip_features(paths: Sequence[str], y0: int, h: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Window features of rows ``y0 .. y0+h`` (correct at strip borders thanks to the halo)."""
    stack, off = read_strip(paths, y0, h, width, height)
    feats, valid = window_features(stack)
    return feats[off : off + h], valid[off : off + h]


# Samples -----------------------------------------------------------------------------------


@dataclass
class Samples:
    rows: np.ndarray
    cols: np.ndarray
    codes: np.ndarray
    groups: np.ndarray  # field / polygon id, for the split by field
    names: dict[int, str] = field(default_factory=dict)


def read_samples(
    path: str,
    class_field: str,
    grid,
    layer: str | None = None,
    group_field: str | None = None,
    classes: dict[int, str] | None = None,
    min_per_class: int = 10,
) -> Samples:
    """Labelled pixels from points or polygons (reprojected to the grid's CRS) or a label raster.

    Class values may be names (``soybean``) or integer codes. With ``classes`` given, any other
    value is an error naming it; without, known names get codes 1 soybean, 2 corn, 3 other and the
    rest follow.
    """
    name = Path(path).name
    if not Path(path).exists():
        raise InputError(f"Samples '{name}' not found at '{path}'.")
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_RASTER)
    if ds is None:
        raise InputError(f"'{name}' is neither a vector nor a raster file.")
    if ds.GetLayerCount() == 0 and ds.RasterCount:
        return _samples_from_raster(path, grid, classes, min_per_class)
    lyr = ds.GetLayerByName(layer) if layer else ds.GetLayer(0)
    if lyr is None:
        raise InputError(f"'{name}' has no layer '{layer}'.")
    defn = lyr.GetLayerDefn()
    fields = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    if class_field not in fields:
        raise InputError(
            f"Samples '{name}' have no field '{class_field}'; fields are: {', '.join(fields)}. Choose the class field."
        )
    if group_field and group_field not in fields:
        raise InputError(f"Samples '{name}' have no field '{group_field}' to group by; fields are: {', '.join(fields)}.")
    srs = lyr.GetSpatialRef()
    if srs is None:
        raise InputError(f"Samples '{name}' have no CRS; assign one in QGIS before using them.")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, grid.srs)
    gt = grid.geotransform
    rows, cols, values, groups = [], [], [], []
    outside = 0
    mem = gdal.GetDriverByName("MEM")
    for feat in lyr:
        value = feat.GetField(class_field)
        if value is None:
            continue
        geom = feat.GetGeometryRef().Clone()
        geom.Transform(ct)
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
            else:
                outside += 1
    if not rows:
        raise InputError(f"None of the samples in '{name}' falls inside the study area; check the layer's CRS and extent.")
    if outside:
        log.warning("%d sample(s) of %s lie outside the study area and were ignored", outside, name)
    codes, names = _codes(values, classes, name)
    samples = Samples(np.array(rows), np.array(cols), codes, np.array(groups), names)
    check_class_counts(samples, min_per_class, name)
    return samples


def _codes(values, classes, name):
    if classes:
        by_name = {v.lower(): k for k, v in classes.items()}
        codes = []
        for v in values:
            key = int(v) if isinstance(v, (int, np.integer)) or str(v).isdigit() else by_name.get(str(v).lower())
            if key not in classes:
                raise InputError(
                    f"Samples '{name}': class '{v}' is not one of the classes {', '.join(classes.values())}. "
                    "Fix the class field or add the class to the job."
                )
            codes.append(key)
        return np.array(codes, dtype=np.int32), dict(classes)
    if all(isinstance(v, (int, np.integer)) or str(v).isdigit() for v in values):
        codes = np.array([int(v) for v in values], dtype=np.int32)
        inverse = {v: k for k, v in KNOWN_CODES.items() if k in ("soybean", "corn", "other")}
        return codes, {int(c): inverse.get(int(c), f"class {c}") for c in np.unique(codes)}
    names: dict[int, str] = {}
    lookup: dict[str, int] = {}
    for v in sorted({str(v) for v in values}, key=lambda s: (KNOWN_CODES.get(s.lower(), 99), s)):
        code = KNOWN_CODES.get(v.lower())
        if code is None or code in names:
            code = max([3, *names]) + 1
        names[code] = v
        lookup[v] = code
    return np.array([lookup[str(v)] for v in values], dtype=np.int32), names


def _samples_from_raster(path, grid, classes, min_per_class) -> Samples:
    ds = gdal.Open(str(path))
    if (ds.RasterXSize, ds.RasterYSize) != (grid.width, grid.height):
        raise InputError(
            f"Label raster '{Path(path).name}' is not on the Sentinel-2 grid ({grid.width} x {grid.height}); warp it first."
        )
    lab = ds.GetRasterBand(1).ReadAsArray()
    rows, cols = np.nonzero(lab > 0)
    codes = lab[rows, cols].astype(np.int32)
    names = classes or {int(c): {1: "soybean", 2: "corn", 3: "other"}.get(int(c), f"class {c}") for c in np.unique(codes)}
    groups = rows // 32 * 100000 + cols // 32  # 320 m blocks stand in for fields
    samples = Samples(rows, cols, codes, groups, names)
    check_class_counts(samples, min_per_class, Path(path).name)
    return samples


def check_class_counts(samples: Samples, min_per_class: int, name: str) -> None:
    for code, cname in samples.names.items():
        n = int((samples.codes == code).sum())
        if n < min_per_class:
            raise InputError(
                f"Samples '{name}': class '{cname}' has {n} sample(s); at least {min_per_class} are needed. "
                "Add samples or remove the class."
            )


def sample_features(paths: Sequence[str], samples: Samples, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n, 9T)`` at the sample pixels and whether each is valid, read strip by strip."""
    feats = np.full((len(samples.rows), 9 * len(paths)), np.nan, dtype=np.float32)
    valid = np.zeros(len(samples.rows), dtype=bool)
    for y0 in range(0, height, STRIP_ROWS):
        h = min(STRIP_ROWS, height - y0)
        sel = np.nonzero((samples.rows >= y0) & (samples.rows < y0 + h))[0]
        if sel.size == 0:
            continue
        f, v = strip_features(paths, y0, h, width, height)
        feats[sel] = f[samples.rows[sel] - y0, samples.cols[sel]]
        valid[sel] = v[samples.rows[sel] - y0, samples.cols[sel]]
    return feats, valid


def split(samples: Samples, how: str = "random", test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices: ``random`` (the paper's 7:3 by pixel, stratified) or ``field`` (by group,
    so that no field has pixels on both sides)."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    idx = np.arange(len(samples.codes))
    if how == "random":
        return train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=samples.codes)
    if how == "field":
        return next(GroupShuffleSplit(1, test_size=test_fraction, random_state=seed).split(idx, samples.codes, samples.groups))
    raise InputError(f"Unknown split '{how}'; use 'random' or 'field'.")


# Forest ------------------------------------------------------------------------------------


@dataclass
class Classifier:
    forest: object
    n_dates: int
    names: dict[int, str]
    layout: list[str]

    def predict(self, feats: np.ndarray) -> np.ndarray:
        return self.forest.predict(feats)


def train_forest(
    feats: np.ndarray, codes: np.ndarray, names: dict[int, str], n_dates: int, params: ForestParams = ForestParams()
) -> Classifier:
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        n_jobs=params.n_jobs,
        random_state=params.random_state,
    )
    forest.fit(feats, codes)
    return Classifier(forest, n_dates, dict(names), feature_names(n_dates))


def train_and_assess(paths: Sequence[str], grid, samples: Samples, split_indices, params: ForestParams, split_text: str = ""):
    """Forest on the window features of ``paths`` at the training samples, assessed on the test samples."""
    from .accuracy import assess

    train_idx, test_idx = split_indices
    feats, valid = sample_features(paths, samples, grid.width, grid.height)
    tr, te = train_idx[valid[train_idx]], test_idx[valid[test_idx]]
    clf = train_forest(feats[tr], samples.codes[tr], samples.names, len(paths), params)
    return clf, assess(samples.codes[te], clf.predict(feats[te]), samples.names, split_text)


def save_classifier(clf: Classifier, path: str | Path) -> Path:
    """A skops file (no pickle): the forest, class names and the feature layout."""
    import skops.io as sio

    payload = {
        "format": "tsstfn-crop-mapper-forest",
        "version": __version__,
        "forest": clf.forest,
        "n_dates": clf.n_dates,
        "names": {str(k): v for k, v in clf.names.items()},
        "layout": clf.layout,
    }
    with atomic_output(path) as tmp:
        sio.dump(payload, tmp)
    return Path(path)


def load_classifier(path: str | Path, n_dates: int | None = None) -> Classifier:
    """Load a forest saved by :func:`save_classifier`; only scikit-learn and numpy types are trusted."""
    import skops.io as sio

    name = Path(path).name
    try:
        untrusted = sio.get_untrusted_types(file=path)
        allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy."))]
        if len(allowed) != len(untrusted):
            raise ModelFileError(f"'{name}' holds types this plugin does not load: {sorted(set(untrusted) - set(allowed))}.")
        payload = sio.load(path, trusted=allowed)
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(
            f"'{name}' is not a readable classifier file ({type(exc).__name__}). Re-train or copy it again."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != "tsstfn-crop-mapper-forest":
        raise ModelFileError(f"'{name}' is not a TSSTFN Crop Mapper classifier.")
    if n_dates is not None and payload["n_dates"] != n_dates:
        raise ModelFileError(
            f"Classifier '{name}' was trained on {payload['n_dates']} dates x 9 window values; this run gives "
            f"{n_dates} dates. Use the same number of early-season and fused dates, or re-train."
        )
    return Classifier(payload["forest"], payload["n_dates"], {int(k): v for k, v in payload["names"].items()}, payload["layout"])


def classify_to_file(
    clf: Classifier,
    paths: Sequence[str],
    grid,
    out_path: str | Path,
    proba_path: str | Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> Path:
    """Classify the scene strip by strip into a uint8 GeoTIFF (0 nodata) with colours and class names."""
    if len(paths) != clf.n_dates:
        raise ModelFileError(f"The classifier expects {clf.n_dates} dates, {len(paths)} were given.")
    classes = list(clf.forest.classes_)
    with atomic_output(out_path) as tmp, atomic_output(proba_path) if proba_path else nullcontext() as ptmp:
        ds = create_geotiff(tmp, grid, 1, gdal.GDT_Byte, 0, ["TILED=YES", "COMPRESS=DEFLATE"])
        band = ds.GetRasterBand(1)
        band.SetDescription("crop class")
        pds = create_geotiff(ptmp, grid, len(classes)) if ptmp else None
        for y0 in range(0, grid.height, STRIP_ROWS):
            if is_cancelled():
                raise CancelledError()
            h = min(STRIP_ROWS, grid.height - y0)
            feats, valid = strip_features(paths, y0, h, grid.width, grid.height)
            out = np.zeros((h, grid.width), dtype=np.uint8)
            if valid.any():
                out[valid] = clf.forest.predict(feats[valid])
                if pds is not None:
                    proba = np.full((len(classes), h, grid.width), np.nan, dtype=np.float32)
                    proba[:, valid] = clf.forest.predict_proba(feats[valid]).T
                    for i in range(len(classes)):
                        pds.GetRasterBand(i + 1).WriteArray(proba[i], 0, y0)
            band.WriteArray(out, 0, y0)
            if progress:
                progress((y0 + h) / grid.height, f"classified rows {y0 + h}/{grid.height}")
        style_class_band(band, clf.names)
        if pds is not None:
            for i, c in enumerate(classes):
                pds.GetRasterBand(i + 1).SetDescription(f"P({clf.names.get(int(c), c)})")
            pds.FlushCache()
            pds = None
        ds.FlushCache()
        ds = None
    return Path(out_path)


def class_names_of(path: str | Path) -> dict[int, str]:
    """Class code -> name of a crop map written by :func:`classify_to_file`."""
    ds = gdal.Open(str(path))  # keep the dataset alive while its band is used
    band = ds.GetRasterBand(1)
    text = band.GetMetadataItem("CLASS_NAMES")
    if text:
        return {int(k): v for k, v in json.loads(text).items()}
    return {i: n for i, n in enumerate(band.GetCategoryNames() or []) if i > 0 and n}


def style_class_band(band: gdal.Band, names: dict[int, str]) -> None:
    ct = gdal.ColorTable()
    ct.SetColorEntry(0, (0, 0, 0, 0))
    top = max(names) if names else 0
    for code in range(1, top + 1):
        ct.SetColorEntry(code, (*DEFAULT_COLORS.get(code, ((code * 67) % 256, (code * 131) % 256, (code * 29) % 256)), 255))
    band.SetRasterColorTable(ct)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetCategoryNames(["nodata"] + [names.get(c, "") for c in range(1, top + 1)])
    # also in the GeoTIFF itself: category names live in a .aux.xml sidecar, which may be disabled
    band.SetMetadataItem("CLASS_NAMES", json.dumps({str(k): v for k, v in sorted(names.items())}))
