"""Accuracy assessment: confusion matrix, overall accuracy, Cohen's kappa, per-class scores, reports.

Precision, recall and F1 come from scikit-learn; the reports are CSV, Markdown and a PNG of the
confusion matrix.

Kappa is ``(p0 - pe) / (1 - pe)``; the paper prints ``1 + pe`` in the denominator (its Eq. 1),
a typo: with ``1 + pe`` a perfect map would not score 1.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_output


@dataclass
class Accuracy:
    """Accuracy of a crop map on test samples.

    Attributes:
        labels: the class codes, in the order of the matrix.
        names: their names.
        matrix: the confusion matrix; rows are the reference, columns the prediction.
        overall: overall accuracy (0..1).
        kappa: Cohen's kappa (0..1 for better than chance).
        precision: per class (user's accuracy).
        recall: per class (producer's accuracy).
        f1: per class.
        support: test samples per class.
        split: how the samples were split, as the reports say it.
    """

    labels: list[int]
    names: list[str]
    matrix: np.ndarray  # rows: reference, columns: predicted
    overall: float
    kappa: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    split: str = ""

    def as_dict(self) -> dict:
        """Plain data for JSON reports."""
        return {
            "overall_accuracy": self.overall,
            "kappa": self.kappa,
            "split": self.split,
            "classes": {
                n: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                for n, p, r, f, s in zip(self.names, self.precision, self.recall, self.f1, self.support)
            },
            "confusion_matrix": self.matrix.tolist(),
            "labels": self.labels,
        }


def assess(y_true: np.ndarray, y_pred: np.ndarray, names: dict[int, str], split: str = "") -> Accuracy:
    """The accuracy of ``y_pred`` against ``y_true`` over the classes of ``names``."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

    labels = sorted(names)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    with warnings.catch_warnings():  # one class on both sides: kappa is undefined (NaN), which the reports say
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = float(cohen_kappa_score(y_true, y_pred, labels=labels))
    return Accuracy(
        labels,
        [names[c] for c in labels],
        confusion_matrix(y_true, y_pred, labels=labels),
        float(accuracy_score(y_true, y_pred)),
        kappa,
        p,
        r,
        f,
        s,
        split,
    )


def write_reports(acc: Accuracy, out_dir: str | Path, stem: str, title: str, notes: Sequence[str] = ()) -> dict[str, Path]:
    """``{stem}_confusion.csv``, ``{stem}_classes.csv``, ``{stem}_confusion.png`` and ``{stem}.md`` (with ``notes``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "confusion_csv": out_dir / f"{stem}_confusion.csv",
        "classes_csv": out_dir / f"{stem}_classes.csv",
        "png": out_dir / f"{stem}_confusion.png",
        "markdown": out_dir / f"{stem}.md",
    }
    with atomic_output(paths["confusion_csv"]) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["reference \\ predicted", *acc.names])
        for name, row in zip(acc.names, acc.matrix):
            w.writerow([name, *row.tolist()])
    with atomic_output(paths["classes_csv"]) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["class", "precision", "recall", "f1", "support"])
        for row in zip(acc.names, acc.precision, acc.recall, acc.f1, acc.support):
            w.writerow([row[0], f"{row[1]:.4f}", f"{row[2]:.4f}", f"{row[3]:.4f}", int(row[4])])
    plot_confusion(acc, paths["png"], title)
    lines = [
        f"# {title}",
        "",
        f"Split: {acc.split}" if acc.split else "",
        "",
        f"- Overall accuracy: {100 * acc.overall:.2f} %",
        f"- Cohen's kappa: {100 * acc.kappa:.2f} %",
        "",
        "| reference \\ predicted | " + " | ".join(acc.names) + " |",
        "|---" * (len(acc.names) + 1) + "|",
    ]
    lines += [f"| {n} | " + " | ".join(str(v) for v in row) + " |" for n, row in zip(acc.names, acc.matrix)]
    lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [
        f"| {n} | {p:.3f} | {r:.3f} | {f:.3f} | {int(s)} |"
        for n, p, r, f, s in zip(acc.names, acc.precision, acc.recall, acc.f1, acc.support)
    ]
    lines += ["", f"![confusion matrix]({paths['png'].name})", ""]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    with atomic_output(paths["markdown"]) as tmp:
        tmp.write_text("\n".join(lines))
    return paths


def write_not_measured_report(
    reason: str, out_dir: str | Path, stem: str, title: str, notes: Sequence[str] = ()
) -> dict[str, Path]:
    """``{stem}.md`` of a crop map whose accuracy was not measured: why (``reason``), and the ``notes``.

    No confusion matrix, kappa or per-class scores: too few samples were there to hold any out.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.md"
    lines = [
        f"# {title}",
        "",
        f"**{reason[:1].upper()}{reason[1:]}.**",
        "",
        "Every sample trained the forest; no test sample was held out, so this map has no kappa, no confusion matrix "
        "and no error-adjusted areas: only its pixel-count areas (the CSV beside the map). Add samples, or check the "
        "map against samples you keep apart.",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines))
    return {"markdown": path}


def plot_confusion(acc: Accuracy, path: Path, title: str) -> None:
    """A PNG of the row-normalised confusion matrix with the counts, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=110)
    norm = acc.matrix / np.maximum(acc.matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Greens", vmin=0, vmax=1)
    for i in range(len(acc.names)):
        for j in range(len(acc.names)):
            ax.text(j, i, str(acc.matrix[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(acc.names)), acc.names)
    ax.set_yticks(range(len(acc.names)), acc.names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(f"{title}\nkappa {100 * acc.kappa:.1f} %", fontsize=9)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
