"""Area of each class: the pixel count of the map, and the error-adjusted estimate with confidence intervals.

A map's pixel count is biased by its errors (a class that is over-mapped looks larger than it is).
The stratified estimator of Olofsson et al. (2014, *Good practices for estimating area and assessing
accuracy of land change*, Remote Sens. Environ. 148, 42-57; equations 2-10) corrects it with the
confusion matrix of reference samples, the map classes being the strata:

* ``W_i``: the share of the map in class ``i``; ``n_ij``: test samples mapped ``i`` and labelled ``j``;
* ``p_ij = W_i n_ij / n_i.`` (the matrix of estimated area proportions, the paper's Table 9);
* area of ``j``: ``A p_.j``, with ``SE(p_.j) = sqrt(sum_i W_i^2 (n_ij/n_i.)(1 - n_ij/n_i.) / (n_i. - 1))``;
* user's accuracy ``n_ii / n_i.``, producer's accuracy ``p_jj / p_.j``, overall accuracy ``sum_j p_jj``,
  each with its standard error; the intervals are ``± 1.96 SE`` (95 %).

The estimator assumes the reference samples are a random sample within each map class. Samples an
analyst placed in chosen fields, or pixels clustered in fields, are not: then the intervals are too
narrow, which the reports say.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..files import PathLike, atomic_output, open_raster, read_window

Z95 = 1.96  # the 95 % normal quantile as Olofsson et al. (2014) round it
ESTIMATOR = "stratified estimator of Olofsson et al. (2014, Remote Sens. Environ. 148, 42-57), strata = map classes"


@dataclass
class ClassArea:
    """One class's mapped and estimated area and its accuracies (``nan`` where undefined).

    Attributes:
        code: the class code in the map.
        name: its name.
        mapped_pixels: pixels of the map in the class.
        mapped_ha: their area (the pixel-count area).
        samples_mapped: test samples the map puts in the class (``n_i.``).
        samples_reference: test samples of the class in the reference (``n_.j``).
        area_ha: the error-adjusted area.
        area_ci_ha: half-width of its 95 % confidence interval.
        users: user's accuracy (0..1).
        users_ci: half-width of its 95 % interval.
        producers: producer's accuracy (0..1).
        producers_ci: half-width of its 95 % interval.
    """

    code: int
    name: str
    mapped_pixels: int
    mapped_ha: float
    samples_mapped: int
    samples_reference: int
    area_ha: float
    area_ci_ha: float
    users: float
    users_ci: float
    producers: float
    producers_ci: float


@dataclass
class AreaEstimate:
    """Error-adjusted areas, accuracies and their 95 % intervals for every class of a map.

    Attributes:
        classes: one row per class.
        overall: overall accuracy (area-weighted).
        overall_ci: half-width of its 95 % interval.
        proportions: the estimated area proportions ``p_ij`` (rows: map, columns: reference).
        pixel_area_ha: the area of one pixel.
        total_ha: the mapped area (every classified pixel).
        n_samples: test samples used.
        design: the sample design, as the reports state it.
        estimator: the estimator's name and reference.
        notes: what the numbers cannot say (a class without samples, a single sample, ...).
    """

    classes: list[ClassArea]
    overall: float
    overall_ci: float
    proportions: np.ndarray
    pixel_area_ha: float
    total_ha: float
    n_samples: int
    design: str = ""
    estimator: str = ESTIMATOR
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain data for JSON reports."""
        data = asdict(self)
        data["proportions"] = self.proportions.tolist()
        return data


def stratified_estimate(
    counts: np.ndarray,
    mapped_pixels: Sequence[int],
    pixel_area_ha: float,
    codes: Sequence[int],
    names: Sequence[str],
    design: str = "",
) -> AreaEstimate:
    """The Olofsson et al. (2014) estimates from a confusion matrix of sample counts.

    Args:
        counts: ``n_ij``, rows the map class, columns the reference class (both in the order of ``codes``).
        mapped_pixels: pixels of the map in each class.
        pixel_area_ha: area of one pixel in hectares.
        codes: the class codes.
        names: their names.
        design: how the samples were drawn, for the reports.

    Returns:
        The estimates; a class mapped but never sampled keeps its mapped area (noted), and a class
        with a single sample has no interval (noted).
    """
    n = np.asarray(counts, dtype=float)
    k = n.shape[0]
    mapped = np.asarray(mapped_pixels, dtype=float)
    total = mapped.sum()
    w = mapped / total if total else np.zeros(k)
    row = n.sum(axis=1)  # n_i.
    notes = []
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(row[:, None] > 0, n / row[:, None], 0.0)  # n_ij / n_i.
        unsampled = (row == 0) & (mapped > 0)
        share[unsampled] = np.eye(k)[unsampled]  # nothing known: counted as correct, and said so
        p = w[:, None] * share
        var_term = np.where(row[:, None] > 1, share * (1 - share) / (row[:, None] - 1), np.nan)
        var_term[row == 0] = 0.0
    for i in np.nonzero(unsampled)[0]:
        notes.append(
            f"'{names[i]}' is mapped on {mapped[i] * pixel_area_ha:.1f} ha but has no test sample: its errors are "
            "unknown and it is counted as correct."
        )
    for i in np.nonzero(row == 1)[0]:
        notes.append(f"'{names[i]}' has a single test sample in the map: no confidence interval can be given.")
    col = p.sum(axis=0)  # p_.j
    area_se = np.sqrt(np.nansum((w**2)[:, None] * var_term, axis=0))
    area_se[np.isnan(var_term).any(axis=0) & (n > 0).any(axis=0)] = np.nan
    diag = np.diag(p)
    users = np.where(row > 0, np.diag(n) / np.maximum(row, 1), np.nan)
    users_se = np.sqrt(np.diag(var_term)) if k else np.zeros(0)
    producers = np.divide(diag, col, out=np.full(k, np.nan), where=col > 0)
    producers_se = _producers_se(n, mapped, row, users, producers)
    overall = float(diag.sum())
    overall_se = math.sqrt(float(np.nansum(w**2 * np.diag(var_term)))) if k else float("nan")
    classes = [
        ClassArea(
            int(codes[j]),
            str(names[j]),
            int(mapped[j]),
            float(mapped[j] * pixel_area_ha),
            int(row[j]),
            int(n[:, j].sum()),
            float(col[j] * total * pixel_area_ha),
            float(Z95 * area_se[j] * total * pixel_area_ha),
            float(users[j]),
            float(Z95 * users_se[j]),
            float(producers[j]),
            float(Z95 * producers_se[j]),
        )
        for j in range(k)
    ]
    return AreaEstimate(classes, overall, Z95 * overall_se, p, pixel_area_ha, float(total * pixel_area_ha), int(n.sum()),
                        design, ESTIMATOR, notes)  # fmt: skip


def _producers_se(n: np.ndarray, mapped: np.ndarray, row: np.ndarray, users: np.ndarray, producers: np.ndarray) -> np.ndarray:
    """Olofsson et al. (2014) eq. 7: the standard error of each producer's accuracy."""
    k = n.shape[0]
    out = np.full(k, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = (mapped / row)[:, None] * n  # N_i. / n_i. * n_ij: estimated pixels
        est[row == 0] = 0.0
        for j in range(k):
            n_j = est[:, j].sum()  # N_.j
            if n_j <= 0 or row[j] < 2:
                continue
            own = mapped[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) / (row[j] - 1)
            others = sum(
                mapped[i] ** 2 * (n[i, j] / row[i]) * (1 - n[i, j] / row[i]) / (row[i] - 1)
                for i in range(k)
                if i != j and row[i] > 1
            )
            out[j] = math.sqrt((own + producers[j] ** 2 * others) / n_j**2)
    return out


def estimate_from_samples(
    reference: np.ndarray,
    mapped_class: np.ndarray,
    class_pixels: dict[int, int],
    names: dict[int, str],
    pixel_area_ha: float,
    design: str = "",
) -> AreaEstimate:
    """The estimates from the test samples' reference and mapped classes and the map's pixel counts."""
    codes = sorted(set(names) | {c for c in class_pixels if c > 0})
    index = {c: i for i, c in enumerate(codes)}
    counts = np.zeros((len(codes), len(codes)), dtype=np.int64)
    for m, r in zip(mapped_class.tolist(), reference.tolist()):
        if m in index and r in index:
            counts[index[m], index[r]] += 1
    return stratified_estimate(
        counts, [class_pixels.get(c, 0) for c in codes], pixel_area_ha, codes, [names.get(c, f"class {c}") for c in codes],
        design,
    )  # fmt: skip


def class_pixel_counts(class_raster: PathLike, block_rows: int = 1024) -> dict[int, int]:
    """Pixels of each class code (0, nodata, left out) of an integer raster, counted block by block."""
    ds = open_raster(class_raster)
    band = ds.GetRasterBand(1)
    totals = np.zeros(256, dtype=np.int64)
    for y0 in range(0, ds.RasterYSize, block_rows):
        h = min(block_rows, ds.RasterYSize - y0)
        block = read_window(band, (0, y0, ds.RasterXSize, h)).astype(np.int64).ravel()
        if block.size and block.max() >= totals.size:
            totals = np.pad(totals, (0, int(block.max()) + 1 - totals.size))
        totals += np.bincount(block[block >= 0], minlength=totals.size)[: totals.size]
    return {c: int(v) for c, v in enumerate(totals) if c > 0 and v > 0}


def write_pixel_areas(counts: dict[int, int], names: dict[int, str], pixel_area_ha: float, path: PathLike) -> Path:
    """``class_id,class_name,pixels,area_ha`` of a map: the pixel-count area (no error adjustment), atomically."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["class_id", "class_name", "pixels", "pixel_count_area_ha"])
        for code in sorted(set(counts) | set(names)):
            n = counts.get(code, 0)
            w.writerow([code, names.get(code, f"class {code}"), n, f"{n * pixel_area_ha:.4f}"])
    return Path(path)


def area_markdown(est: AreaEstimate, title: str = "Area of each class") -> list[str]:
    """The estimates as Markdown lines: the table, the design, the estimator and the notes."""
    lines = [
        f"## {title}",
        "",
        "| class | pixel-count area (ha) | error-adjusted area (ha) | 95 % CI (ha) | user's accuracy | producer's accuracy |"
        " test samples (mapped / reference) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in est.classes:
        lines.append(
            f"| {c.name} | {c.mapped_ha:,.1f} | {c.area_ha:,.1f} | ± {_num(c.area_ci_ha, ',.1f')} | "
            f"{_pct(c.users, c.users_ci)} | {_pct(c.producers, c.producers_ci)} | {c.samples_mapped} / {c.samples_reference} |"
        )
    lines += [
        "",
        f"Overall accuracy (area-weighted): {_pct(est.overall, est.overall_ci)}; {est.n_samples} test samples; "
        f"mapped area {est.total_ha:,.1f} ha ({est.pixel_area_ha:g} ha per pixel).",
        "",
        f"Estimator: {est.estimator}. Intervals: ± 1.96 standard errors (95 %).",
        "",
        f"Sample design: {est.design or 'not stated'}. The estimator assumes the test samples are a random sample "
        "within each map class; samples placed by hand or clustered in fields make the intervals too narrow.",
        "",
    ]
    lines += [f"- Note: {n}" for n in est.notes]
    return lines


def write_area_reports(est: AreaEstimate, out_dir: PathLike, stem: str, title: str = "Area of each class") -> dict[str, Path]:
    """``{stem}.csv`` (one row per class) and ``{stem}.md``, atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
    with atomic_output(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["class_id", "class_name", "pixel_count_area_ha", "area_ha", "area_ci95_ha", "users_accuracy", "users_ci95",
             "producers_accuracy", "producers_ci95", "samples_mapped", "samples_reference"]
        )  # fmt: skip
        for c in est.classes:
            w.writerow(
                [c.code, c.name, f"{c.mapped_ha:.4f}", f"{c.area_ha:.4f}", f"{c.area_ci_ha:.4f}", f"{c.users:.4f}",
                 f"{c.users_ci:.4f}", f"{c.producers:.4f}", f"{c.producers_ci:.4f}", c.samples_mapped, c.samples_reference]
            )  # fmt: skip
    with atomic_output(md_path) as tmp:
        tmp.write_text("\n".join([f"# {title}", "", *area_markdown(est, title)[2:]]) + "\n")
    return {"csv": csv_path, "markdown": md_path}


def _num(value: float, spec: str) -> str:
    return "n/a" if not math.isfinite(value) else format(value, spec)


def _pct(value: float, ci: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f} % ± {_num(100 * ci, '.1f')}"
