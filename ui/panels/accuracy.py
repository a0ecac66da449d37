"""The accuracy widgets of the Samples and outputs panel: the split, and whether the accuracy is required."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QComboBox

from ...core.mapping.samples import MIN_PER_CLASS, AccuracyNeed, Split


def accuracy_combos() -> tuple[QComboBox, QComboBox]:
    """The split combo (job field ``split``) and the accuracy rule combo (job field ``accuracy``)."""
    split = QComboBox()
    split.addItem("random 7:3 by pixel (the paper's)", Split.RANDOM.value)
    split.addItem("7:3 by field (no field on both sides)", Split.FIELD.value)
    split.addItem("7:3 by spatial blocks (no block on both sides)", Split.BLOCK.value)
    split.setToolTip(
        "A random split puts pixels of one field on both sides and flatters the map; the report always adds the "
        "kappa of a split by spatial blocks and warns when they differ."
    )
    accuracy = QComboBox()
    accuracy.addItem("measured when possible", AccuracyNeed.WHEN_POSSIBLE.value)
    accuracy.addItem("accuracy required", AccuracyNeed.REQUIRED.value)
    accuracy.setToolTip(
        f"A class with fewer than {MIN_PER_CLASS} samples leaves none to test on. 'When possible': the map is still "
        "made (the forest trains on every sample) with its pixel-count areas, no kappa or error-adjusted areas, and "
        "the outcome says why. 'Required': such samples are refused before the run"
    )
    return split, accuracy
