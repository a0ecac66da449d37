"""Crop classification (paper 2.2.2): a random forest on each pixel's 3 x 3 NDVI time series (Sharma et al., 2018).

Features of a pixel, for each date in order: the 9 values of its 3 x 3 window, row by row, the
pixel itself in the middle (feature names ``d{t}_r{dy}c{dx}``). NaN rule: outside the scene the
edge pixel is repeated (edge padding); a NaN neighbour takes the centre pixel's value; a pixel
whose own value is NaN on any date cannot be classified and gets nodata (class 0), unless the
series is gap-filled first (:mod:`.gapfill`, on the chunks as they are read).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from osgeo import gdal

from ..callbacks import CancelFn, ProgressFn, check_cancelled, never_cancelled
from ..errors import InputError, ModelFileError
from ..files import PathLike, atomic_output, create_geotiff, open_raster, read_band
from ..options import MAX_DEPTH, MAX_SEED, MAX_TREES, check_range, check_types, choice
from ..version import __version__
from .accuracy import Accuracy, assess
from .classes import class_colour
from .samples import Samples, Split

if TYPE_CHECKING:
    from ..inputs.grid import Grid
    from .gapfill import GapFilling, GapStats

log = logging.getLogger("tsstfn")
STRIP_ROWS = 256  # at most; fewer on wide scenes (strip_rows)
CHUNK_ROWS = 256  # rows read at a time: one row of the 256 x 256 blocks the project writes
CHUNK_BYTES = 192 << 20  # a chunk of every date at most (fewer rows on very wide scenes with many dates)
#: bytes of one strip's window features with their temporaries: memory does not grow with the scene's width
FEATURE_STRIP_BYTES = 96 << 20


@dataclass(frozen=True)
class ForestParams:
    """The paper's random forest: 40 trees, depth 25, 20 samples per leaf; all cores, seeded."""

    n_estimators: int = 40
    max_depth: int | None = 25
    min_samples_leaf: int = 20
    n_jobs: int = -1
    random_state: int = 0

    def __post_init__(self) -> None:
        """Check every field's type and range."""
        check_types(self, "forest.")
        check_range(self.n_estimators, "forest.n_estimators", 1, MAX_TREES)
        check_range(self.max_depth, "forest.max_depth", 1, MAX_DEPTH)
        check_range(self.min_samples_leaf, "forest.min_samples_leaf", 1, 10**9)
        check_range(self.random_state, "forest.random_state", 0, MAX_SEED)
        check_range(self.n_jobs, "forest.n_jobs", -1, 4096)
        if self.n_jobs == 0:
            raise InputError("Job field 'forest.n_jobs': 0 is no number of cores; use -1 for all, or 1, 2, ...")


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
    """The feature layout ``d{t}_r{dy}c{dx}`` of ``n_dates`` dates."""
    return [f"d{t}_r{dy:+d}c{dx:+d}" for t in range(n_dates) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def strip_rows(width: int, n_dates: int) -> int:
    """Rows of one strip of window features: :data:`FEATURE_STRIP_BYTES` of features (and their temporaries) at most."""
    per_row = max(1, width * n_dates * 9 * 4 * 3)
    return int(max(8, min(STRIP_ROWS, FEATURE_STRIP_BYTES // per_row)))


def chunk_rows(width: int, n_dates: int, rows: int) -> int:
    """Rows the feature strips read at a time: :data:`CHUNK_ROWS` (whole blocks), fewer past :data:`CHUNK_BYTES`."""
    return int(max(rows, min(CHUNK_ROWS, CHUNK_BYTES // max(1, n_dates * width * 4))))


def feature_strips(
    paths: Sequence[str],
    width: int,
    height: int,
    rows: int,
    sample_rows: np.ndarray | None = None,
    filling: GapFilling | None = None,
    stats: GapStats | None = None,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(y0, h, features (h, W, 9T), valid (h, W))`` of every strip of ``rows`` rows, top to bottom.

    Every raster is read a chunk of :func:`chunk_rows` rows (whole 256-row blocks of the project's
    tiled rasters) plus a one-row halo at a time, its dataset open for the whole pass: strips are
    cut from the chunk. Reading each strip on its own (11 rows on a whole tile) decompressed every
    block about 23 times, half the crop-map stage. ``sample_rows`` (sorted): only the chunks and
    strips holding one of these rows are read and computed (the training samples' features).
    ``filling`` gap-fills each chunk's series before its features (:func:`~.gapfill.fill_stack`), the
    chunk's own rows counted into ``stats``.
    """
    from .gapfill import fill_stack

    datasets = [open_raster(p) for p in paths]  # kept open: a chunk's halo rows come from the cache
    bands = [ds.GetRasterBand(1) for ds in datasets]
    chunk = chunk_rows(width, len(paths), rows)

    def holds_samples(y0: int, y1: int) -> bool:
        return sample_rows is None or bool(np.searchsorted(sample_rows, y0) < np.searchsorted(sample_rows, y1))

    for c0 in range(0, height, chunk):
        c1 = min(height, c0 + chunk)
        if not holds_samples(c0, c1):
            continue
        top, bottom = max(0, c0 - 1), min(height, c1 + 1)
        stack = np.stack([read_band(b, (0, top, width, bottom - top)) for b in bands])
        if filling is not None:
            fill_stack(stack, filling, stats, slice(c0 - top, c1 - top))
        for y0 in range(c0, c1, rows):
            h = min(rows, c1 - y0)
            if not holds_samples(y0, y0 + h):
                continue
            a, b = max(top, y0 - 1) - top, min(bottom, y0 + h + 1) - top  # the strip and its halo in the chunk
            feats, valid = window_features(stack[:, a:b])
            off = y0 - top - a
            yield y0, h, feats[off : off + h], valid[off : off + h]


def sample_features(
    paths: Sequence[str], samples: Samples, width: int, height: int, filling: GapFilling | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n, 9T)`` at the sample pixels and whether each is valid, read strip by strip (gap-filled by ``filling``)."""
    feats = np.full((len(samples.rows), 9 * len(paths)), np.nan, dtype=np.float32)
    valid = np.zeros(len(samples.rows), dtype=bool)
    rows = strip_rows(width, len(paths))
    order = np.argsort(samples.rows, kind="stable")
    by_row = samples.rows[order]
    for y0, h, f, v in feature_strips(paths, width, height, rows, sample_rows=by_row, filling=filling):
        sel = order[np.searchsorted(by_row, y0) : np.searchsorted(by_row, y0 + h)]
        feats[sel] = f[samples.rows[sel] - y0, samples.cols[sel]]
        valid[sel] = v[samples.rows[sel] - y0, samples.cols[sel]]
    return feats, valid


@dataclass
class Classifier:
    """A trained forest, the class names and the feature layout it was trained on."""

    forest: Any
    n_dates: int
    names: dict[int, str]
    layout: list[str]

    def predict(self, feats: np.ndarray) -> np.ndarray:
        """Class codes of ``feats`` ``(n, 9T)``."""
        return self.forest.predict(feats)


def train_forest(
    feats: np.ndarray, codes: np.ndarray, names: dict[int, str], n_dates: int, params: ForestParams = ForestParams()
) -> Classifier:
    """A random forest on ``feats`` ``(n, 9T)`` and their class ``codes``."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        n_jobs=params.n_jobs,
        random_state=params.random_state,
    )
    forest.fit(feats, codes)
    learned = {int(c) for c in np.unique(codes)}  # the map and its legend hold only the classes the forest knows
    return Classifier(forest, n_dates, {k: v for k, v in names.items() if k in learned}, feature_names(n_dates))


def check_feature_rasters(paths: Sequence[str], grid: Grid) -> None:
    """The rasters a forest reads are NDVI on ``grid`` (the checks :func:`train_and_assess` runs first).

    Raises:
        InputError: a raster that is not NDVI or not on the grid, naming it.
    """
    from ..files import check_ndvi_raster
    from ..inputs.grid import check_on_grid

    check_on_grid(list(paths), grid, Path(paths[0]).name)
    for p in paths:
        check_ndvi_raster(p)


def train_and_assess(
    paths: Sequence[str],
    grid: Grid,
    samples: Samples,
    split_indices: tuple[np.ndarray, np.ndarray],
    params: ForestParams,
    split_text: str = "",
) -> tuple[Classifier, Accuracy]:
    """A forest on the window features of ``paths`` at the training samples, assessed on the test samples.

    Raises:
        InputError: a raster that is not NDVI or not on the grid of the first.
    """
    check_feature_rasters(paths, grid)
    train_idx, test_idx = split_indices
    feats, valid = sample_features(paths, samples, grid.width, grid.height)
    tr, te = train_idx[valid[train_idx]], test_idx[valid[test_idx]]
    clf = train_forest(feats[tr], samples.codes[tr], samples.names, len(paths), params)
    return clf, assess(samples.codes[te], clf.predict(feats[te]), samples.names, split_text)


#: what the reports say of the split when every sample trained the forest (too few to hold any out)
NO_SPLIT = "none: every sample trained the forest (too few per class to hold any out)"
#: the random split's kappa may exceed the spatial-block kappa by this much before the reports warn
KAPPA_GAP_WARNING = 0.05


@dataclass
class Assessment:
    """A forest and how well it maps, by the chosen split and by spatial blocks.

    Attributes:
        classifier: the forest trained on the chosen split's training samples (the one that maps).
        accuracy: its accuracy on that split's test samples (None: not measured, see ``not_measured``).
        test_index: the indices of those test samples (for area estimates and per-field scores; empty when the
            accuracy was not measured).
        predicted: the forest's class for each of them.
        block_accuracy: the accuracy of a forest trained and tested on spatial blocks, when the
            chosen split is random (the honest figure when samples cluster in fields).
        fold_kappas: kappa of each fold of a k-fold split by block (empty unless asked for).
        block_m: the block size used, in metres.
        notes: warnings for the reports.
        gap_filled: the share of the map's pixels whose series was gap-filled (None: not filled, or not mapped yet).
        not_measured: why the accuracy was not measured (too few samples of a class: every sample trained the
            forest, see :func:`~.samples.accuracy_not_measured`); empty when it was.
    """

    classifier: Classifier
    accuracy: Accuracy | None
    test_index: np.ndarray
    predicted: np.ndarray
    block_accuracy: Accuracy | None = None
    fold_kappas: list[float] = field(default_factory=list)
    block_m: float | None = None
    notes: list[str] = field(default_factory=list)
    gap_filled: float | None = None
    not_measured: str = ""

    def as_dict(self) -> dict:
        """Plain data for JSON reports: the accuracy, plus the block kappa and the folds.

        Without a measured accuracy: ``kappa`` and ``overall_accuracy`` are None and ``not_measured`` says why.
        """
        if self.accuracy is None:
            data: dict = {"overall_accuracy": None, "kappa": None, "split": NO_SPLIT, "not_measured": self.not_measured}
        else:
            data = self.accuracy.as_dict()
        if self.block_accuracy is not None:
            data["block_kappa"] = self.block_accuracy.kappa
            data["block_overall_accuracy"] = self.block_accuracy.overall
        if self.fold_kappas:
            data["fold_kappas"] = self.fold_kappas
        data["block_m"] = self.block_m
        data["notes"] = self.notes
        if self.gap_filled is not None:
            data["gap_filled_fraction"] = self.gap_filled
        return data


def assess_forest(
    paths: Sequence[str],
    grid: Grid,
    samples: Samples,
    how: Split | str,
    test_fraction: float,
    params: ForestParams,
    block_m: float,
    kfold: int = 0,
    split_text: str = "",
    compare_blocks: bool = True,
    filling: GapFilling | None = None,
) -> Assessment:
    """Train and assess a forest on the window features of ``paths``; the features are read once.

    The chosen split gives the forest that maps and its accuracy. A random split is also compared
    with a split by spatial blocks of ``block_m`` metres: pixels of one field on both sides of a
    random split flatter it, and a gap above :data:`KAPPA_GAP_WARNING` is reported. ``kfold`` >= 2
    adds a k-fold cross-validation by block (the mean and spread of kappa), for small sample sets.
    ``split_text`` (default: :func:`~.samples.split_description`) is what the accuracy says of its split.
    ``filling`` gap-fills the samples' series as the map's (:mod:`.gapfill`); a class whose samples
    all lie on pixels without (enough) NDVI is named in a note.

    Samples too few to hold any out (:attr:`~.samples.Samples.not_measured`, set by
    :func:`~.samples.check_class_counts` when the accuracy is ``when_possible``): the forest is trained
    on every sample, and the assessment has no accuracy, no test samples and says why.

    Raises:
        InputError: a raster that is not NDVI or not on the grid; too few blocks for the split.
    """
    from .samples import spatial_blocks, split, split_description

    check_feature_rasters(paths, grid)
    how = choice(Split, how, "split")
    split_text = split_text or split_description(how, test_fraction, block_m)
    feats, valid = sample_features(paths, samples, grid.width, grid.height, filling)
    notes = unusable_classes(samples, valid)
    if samples.not_measured:
        every = np.flatnonzero(valid)
        params = _leaf_for_few(params, samples.codes[every], notes)
        clf = train_forest(feats[every], samples.codes[every], samples.names, len(paths), params)
        empty = np.zeros(0, dtype=np.int64)
        result = Assessment(clf, None, empty, empty, block_m=block_m, notes=notes, not_measured=samples.not_measured)
        return _with_folds(result, None, samples, np.zeros(0), 0, params.random_state)
    blocks = spatial_blocks(samples, grid, block_m)

    def fit_and_score(train_idx: np.ndarray, test_idx: np.ndarray, text: str) -> tuple[Any, Accuracy, np.ndarray, np.ndarray]:
        tr, te = train_idx[valid[train_idx]], test_idx[valid[test_idx]]
        clf = train_forest(feats[tr], samples.codes[tr], samples.names, len(paths), params)
        predicted = clf.predict(feats[te])
        return clf, assess(samples.codes[te], predicted, samples.names, text), te, predicted

    seed = params.random_state
    clf, acc, test_index, predicted = fit_and_score(*split(samples, how, test_fraction, seed, blocks), split_text)
    result = Assessment(clf, acc, test_index, predicted, block_m=block_m, notes=notes)
    if how is Split.RANDOM and compare_blocks:
        text = split_description(Split.BLOCK, test_fraction, block_m)
        try:
            _, result.block_accuracy, _, _ = fit_and_score(*split(samples, Split.BLOCK, test_fraction, seed, blocks), text)
        except InputError as exc:  # a check of the random split, not the map: say why it is missing, go on
            result.notes.append(f"No kappa by spatial blocks: {exc}")
            log.warning(result.notes[-1])
            return _with_folds(result, fit_and_score, samples, blocks, kfold, seed)
        gap = acc.kappa - result.block_accuracy.kappa
        if not np.isfinite(result.block_accuracy.kappa):
            result.notes.append(
                f"The split by {block_m:g} m blocks left a single class in its test set: no block kappa. Lower 'block_m' "
                "or add samples in more places."
            )
        elif gap > KAPPA_GAP_WARNING:
            note = (
                f"The random split's kappa ({100 * acc.kappa:.1f} %) is {100 * gap:.1f} points above the kappa of a split "
                f"by {block_m:g} m blocks ({100 * result.block_accuracy.kappa:.1f} %): test pixels sit next to training "
                "pixels of the same fields, which flatters the random split. Trust the block figure, or split by field."
            )
            log.warning(note)
            result.notes.append(note)
    return _with_folds(result, fit_and_score, samples, blocks, kfold, seed)


def _leaf_for_few(params: ForestParams, codes: np.ndarray, notes: list[str]) -> ForestParams:
    """``params`` with ``min_samples_leaf`` at most half the smallest class's samples (a note says so when lowered).

    With a handful of samples per class a leaf of 20 samples allows no split at all: every tree would be one
    leaf and the whole map the majority class.
    """
    from dataclasses import replace

    counts = np.unique(codes, return_counts=True)[1]
    leaf = max(1, min(params.min_samples_leaf, int(counts.min()) // 2)) if len(counts) else params.min_samples_leaf
    if leaf == params.min_samples_leaf:
        return params
    notes.append(
        f"The forest's samples per leaf were lowered from {params.min_samples_leaf} to {leaf} for so few samples "
        f"(the smallest class has {int(counts.min())}): with {params.min_samples_leaf} no tree could split them."
    )
    return replace(params, min_samples_leaf=leaf)


def unusable_classes(samples: Samples, valid: np.ndarray) -> list[str]:
    """A note (also logged) for each class whose samples all lie on pixels without NDVI on some date (nodata)."""
    notes = []
    for code, name in sorted(samples.names.items()):
        of_class = samples.codes == code
        if of_class.any() and not valid[of_class].any():
            notes.append(
                f"Class '{name}': its {int(of_class.sum())} sample(s) all lie on nodata (a date without NDVI at each of "
                "them), so the forest cannot learn it and the map has no such class; check the rasters' nodata and masks "
                "there, or gap-fill ('gap_fill': 'linear')."
            )
            log.warning(notes[-1])
    if not valid.any():
        raise InputError(
            "Every sample lies on a pixel without NDVI on some date (nodata or masked): no forest can be trained; "
            "check the rasters' nodata, scale and masks, or gap-fill ('gap_fill': 'linear')."
        )
    return notes


def _with_folds(
    result: Assessment, fit_and_score: Any, samples: Samples, blocks: np.ndarray, kfold: int, seed: int
) -> Assessment:  # fit_and_score None with kfold 0: no fold
    """``result`` with the kappa of each of ``kfold`` folds by block (none for ``kfold`` < 2), and the samples' notes."""
    from .samples import block_folds

    result.notes.extend(samples.notes)  # the reports say what the log said of the samples (classes outside, shared pixels)

    if kfold >= 2:
        for train_idx, test_idx in block_folds(samples, blocks, kfold, seed):
            result.fold_kappas.append(fit_and_score(train_idx, test_idx, "")[1].kappa)
    return result


def save_classifier(clf: Classifier, path: PathLike) -> Path:
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


#: every type a forest file written by :func:`save_classifier` holds; loading trusts these and no other
FOREST_TYPES = frozenset(
    {
        "builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "builtins.int", "builtins.float",
        "builtins.bool", "builtins.NoneType", "numpy.ndarray", "numpy.dtype", "numpy.int64", "numpy.int32",
        "numpy.float64", "numpy.float32", "numpy.uint8", "numpy.intp", "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree._tree.Tree",
    }
)  # fmt: skip


def _schema_types(path: PathLike) -> set[str]:
    """Every ``module.class`` a skops file's schema names (skops trusts scikit-learn's types by itself: not here)."""
    import json
    import zipfile

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        with zipfile.ZipFile(path) as z:
            walk(json.loads(z.read("schema.json")))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RecursionError):
        found.add("an unreadable schema")
    return found


def check_forest(payload: dict, name: str) -> None:
    """The loaded forest is exactly what :func:`save_classifier` writes, and every tree's arrays are consistent.

    A crafted file can hold a tree whose child index points outside the tree (``predict`` would read
    memory it does not own and crash the process), a feature beyond the layout or a NaN threshold.

    Raises:
        ModelFileError: naming the file and what is wrong.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"Classifier '{name}' is damaged or was not written by this plugin ({why}); re-train it.")

    forest, n_dates = payload.get("forest"), payload.get("n_dates")
    if type(forest) is not RandomForestClassifier:
        raise bad(f"it holds a {type(forest).__name__}, not a random forest")
    if isinstance(n_dates, bool) or not isinstance(n_dates, int) or not 1 <= n_dates <= 10_000:
        raise bad(f"n_dates {n_dates!r}")
    if not isinstance(payload.get("names"), dict) or not isinstance(payload.get("layout"), (str, type(None), dict, list)):
        raise bad("its class names or layout are not plain data")
    n_features = getattr(forest, "n_features_in_", None)
    classes = np.asarray(getattr(forest, "classes_", []))
    if n_features != 9 * n_dates or classes.ndim != 1 or not len(classes):
        raise bad(f"{n_features} features for {n_dates} dates")
    trees = getattr(forest, "estimators_", None)
    if not isinstance(trees, list) or not trees:
        raise bad("no trees")
    for i, est in enumerate(trees):
        if type(est) is not DecisionTreeClassifier:
            raise bad(f"tree {i} is a {type(est).__name__}")
        t = est.tree_
        n = int(t.node_count)
        left, right = np.asarray(t.children_left), np.asarray(t.children_right)
        feature, threshold, value = np.asarray(t.feature), np.asarray(t.threshold), np.asarray(t.value)
        if n < 1 or any(len(a) != n for a in (left, right, feature, threshold)) or value.shape[0] != n:
            raise bad(f"tree {i}'s arrays do not have its {n} nodes")
        leaf = left == -1
        internal = ~leaf
        nodes = np.arange(n)
        if not np.array_equal(leaf, right == -1) or np.any(internal & ((left <= nodes) | (right <= nodes))):
            raise bad(f"tree {i} has a child index out of order")
        if np.any(left >= n) or np.any(right >= n) or np.any(left < -1) or np.any(right < -1):
            raise bad(f"tree {i} has a child index outside its {n} nodes")
        if np.any(internal & ((feature < 0) | (feature >= n_features))) or not np.all(np.isfinite(threshold[internal])):
            raise bad(f"tree {i} splits on a feature outside 0-{n_features - 1} or at a threshold that is not finite")
        if value.ndim != 3 or value.shape[1] != 1 or value.shape[2] != len(classes) or not np.all(np.isfinite(value)):
            raise bad(f"tree {i}'s class values have the shape {value.shape}")


def load_classifier(path: PathLike, n_dates: int | None = None) -> Classifier:
    """Load a forest saved by :func:`save_classifier`, trusting only the exact types such a file holds.

    The file is inspected before anything in it is loaded: a type outside :data:`FOREST_TYPES`
    (a function, a memory-mapped file, ...) refuses the file, naming the type, with no side effect.

    Raises:
        ModelFileError: unreadable, not a forest of this plugin, a foreign type, or another number of dates.
    """
    import skops.io as sio

    name = Path(path).name
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelFileError(
            f"'{name}' is not a readable classifier file ({type(exc).__name__}). Re-train or copy it again."
        ) from None
    foreign = sorted((set(untrusted) | _schema_types(path)) - FOREST_TYPES)
    if foreign:
        raise ModelFileError(
            f"'{name}' holds {', '.join(foreign)}, which a forest saved by TSSTFN Crop Mapper never holds; it was not "
            "loaded (such types can run code or write files). Use a classifier file this plugin saved."
        )
    try:
        payload = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelFileError(
            f"'{name}' is not a readable classifier file ({type(exc).__name__}). Re-train or copy it again."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != "tsstfn-crop-mapper-forest":
        raise ModelFileError(f"'{name}' is not a TSSTFN Crop Mapper classifier.")
    check_forest(payload, name)
    if n_dates is not None and payload["n_dates"] != n_dates:
        raise ModelFileError(
            f"Classifier '{name}' was trained on {payload['n_dates']} dates x 9 window values; this run gives "
            f"{n_dates} dates. Use the same number of early-season and fused dates, or re-train."
        )
    return Classifier(payload["forest"], payload["n_dates"], {int(k): v for k, v in payload["names"].items()}, payload["layout"])


def classify_to_file(
    clf: Classifier,
    paths: Sequence[str],
    grid: Grid,
    out_path: PathLike,
    proba_path: PathLike | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    confidence_path: PathLike | None = None,
    filling: GapFilling | None = None,
    stats: GapStats | None = None,
) -> Path:
    """Classify the scene strip by strip into a uint8 GeoTIFF (0 nodata) with colours and class names.

    ``filling`` gap-fills the series as the forest's samples were (:mod:`.gapfill`); what it did is counted in ``stats``.

    Optional float32 rasters beside it: ``proba_path``, one band per class (the forest's vote
    share); ``confidence_path``, two bands: the probability of the mapped class and its margin over
    the second most probable class (low values: the forest hesitates).
    """
    if len(paths) != clf.n_dates:
        raise ModelFileError(f"The classifier expects {clf.n_dates} dates, {len(paths)} were given.")
    classes = np.asarray(clf.forest.classes_)
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_output(out_path))
        ds = create_geotiff(tmp, grid, 1, gdal.GDT_Byte, 0, ["TILED=YES", "COMPRESS=DEFLATE"])
        band = ds.GetRasterBand(1)
        band.SetDescription("crop class")
        style_class_band(band, clf.names)  # before any pixel: libtiff cannot add a colour map once blocks are out
        pds = create_geotiff(stack.enter_context(atomic_output(proba_path)), grid, len(classes)) if proba_path else None
        cds = create_geotiff(stack.enter_context(atomic_output(confidence_path)), grid, 2) if confidence_path else None
        rows = strip_rows(grid.width, len(paths))
        for y0, h, feats, valid in feature_strips(paths, grid.width, grid.height, rows, filling=filling, stats=stats):
            check_cancelled(is_cancelled)
            out = np.zeros((h, grid.width), dtype=np.uint8)
            if valid.any() and pds is None and cds is None:
                out[valid] = clf.forest.predict(feats[valid])
            elif valid.any():
                p = clf.forest.predict_proba(feats[valid])  # (n, classes); the forest predicts its argmax
                out[valid] = classes[np.argmax(p, axis=1)]
                if pds is not None:
                    proba = np.full((len(classes), h, grid.width), np.nan, dtype=np.float32)
                    proba[:, valid] = p.T
                    for i in range(len(classes)):
                        pds.GetRasterBand(i + 1).WriteArray(proba[i], 0, y0)
                if cds is not None:
                    ranked = np.sort(p, axis=1)
                    conf = np.full((2, h, grid.width), np.nan, dtype=np.float32)
                    conf[0, valid] = ranked[:, -1]
                    conf[1, valid] = ranked[:, -1] - (ranked[:, -2] if ranked.shape[1] > 1 else 0.0)
                    for i in range(2):
                        cds.GetRasterBand(i + 1).WriteArray(conf[i], 0, y0)
            band.WriteArray(out, 0, y0)
            if progress:
                progress((y0 + h) / grid.height, f"classified rows {y0 + h}/{grid.height}")
        if pds is not None:
            for i, c in enumerate(classes):
                pds.GetRasterBand(i + 1).SetDescription(f"P({clf.names.get(int(c), c)})")
                pds.GetRasterBand(i + 1).SetMetadataItem("CLASS_CODE", str(int(c)))
            pds.FlushCache()
        if cds is not None:
            cds.GetRasterBand(1).SetDescription("probability of the mapped class")
            cds.GetRasterBand(2).SetDescription("margin to the second class")
            cds.FlushCache()
        ds.FlushCache()
        ds = pds = cds = band = None  # closed before the files are renamed
    return Path(out_path)


def class_names_of(path: PathLike) -> dict[int, str]:
    """Class code -> name of a crop map written by :func:`classify_to_file`."""
    ds = gdal.Open(str(path))  # keep the dataset alive while its band is used
    band = ds.GetRasterBand(1)
    text = band.GetMetadataItem("CLASS_NAMES")
    if text:
        return {int(k): v for k, v in json.loads(text).items()}
    return {i: n for i, n in enumerate(band.GetCategoryNames() or []) if i > 0 and n}


def style_class_band(band: gdal.Band, names: dict[int, str]) -> None:
    """Colour table, category names and ``CLASS_NAMES`` metadata of a crop map's band (QGIS reads them).

    Call it before writing pixels: once GDAL has flushed blocks of a GeoTIFF (a whole tile's map does
    long before its end), libtiff refuses the colour map ("Cannot modify tag PhotometricInterpretation").
    """
    ct = gdal.ColorTable()
    ct.SetColorEntry(0, (0, 0, 0, 0))
    top = max(names) if names else 0
    for code in range(1, top + 1):  # a code that is no class (between two classes' codes) stays transparent
        ct.SetColorEntry(code, (*class_colour(code), 255) if code in names else (0, 0, 0, 0))
    band.SetRasterColorTable(ct)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetCategoryNames(["nodata"] + [names.get(c, "") for c in range(1, top + 1)])
    # also in the GeoTIFF itself: category names live in a .aux.xml sidecar, which may be disabled
    band.SetMetadataItem("CLASS_NAMES", json.dumps({str(k): v for k, v in sorted(names.items())}))
