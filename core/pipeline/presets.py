"""Presets: one switch for a consistent set of options (``"preset": "paper"`` in a job file).

A preset gives default values; anything the job states itself wins (so ``"preset": "paper"`` with
``"train": {"max_epochs": 1}`` is the paper's configuration trained for one epoch). The model file
records the preset.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

#: what each preset sets, as job-file values
PRESETS: dict[str, dict[str, Any]] = {
    # Zhan et al. (2024): direct output, the label at 31 August for every target, width 64, 192 px
    # patches, 9 CL paths, LSTM steps of 4/2/4 rows, Adam 1e-3, batch 16, 9:1 split, patience 12,
    # 7 base pairs, the random forest of 40 trees, depth 25, 20 samples per leaf
    "paper": {
        "n_base": 7,
        "reference_target": "--08-31",
        "train": {
            "width": 64,
            "patch": 192,
            "cl_paths": 9,
            "lstm_rows": [4, 2, 4],
            "output": "direct",
            "dropout": 0.3,
            "batch_size": 16,
            "learning_rate": 0.001,
            "validation_fraction": 0.1,
            "patience": 12,
        },
        "forest": {"n_estimators": 40, "max_depth": 25, "min_samples_leaf": 20},
    },
    # minutes on a laptop CPU (the demo's settings, DEMO_TRAIN): width 8, 64 px patches, 3 CL paths, at most 30
    # epochs of every patch; the robust preset's correction, flips and STARFM blend, with extra labels
    "laptop": {
        "train": {
            "width": 8,
            "patch": 64,
            "cl_paths": 3,
            "max_epochs": 30,
            "patience": 6,
            "output": "change_residual",
            "augment": True,
            "extra_labels": True,
            "starfm_blend": True,
        },
    },
    # fast on a CPU and never far from the physics: the network learns a correction to the latest clear
    # fine image plus the smoothed coarse change (kept only where validation says it helps), trained on
    # flips/rotations, on both time directions of one season (two seasons: on every later reference pair as a
    # label too), at most 256 patches an epoch; the fused NDVI is
    # blended with STARFM by the weights that validation gives (core/fusion/blend.py)
    "robust": {
        "train": {
            "width": 8,
            "patch": 32,
            "cl_paths": 3,
            "max_epochs": 30,
            "patience": 5,
            "output": "change_residual",
            "prior_smoothing_px": 8.0,
            "augment": True,
            "both_directions": True,
            "samples_per_epoch": 256,
            "extra_labels": True,
            "starfm_blend": True,
        },
    },
}

DESCRIPTIONS = {
    "paper": "the paper's: width 64, 192 px patches, 9 CL paths, direct output, label at 31 August, the paper's forest",
    "laptop": "the demo's: width 8, 64 px patches, 3 CL paths, at most 30 epochs; a correction to the latest fine "
    "image plus the coarse change, flips, extra reference-year labels, blended with STARFM by a validated weight",
    "robust": "a correction to the latest fine image plus the coarse change; 32 px patches, flips, both time "
    "directions, 256 patches an epoch, blended with STARFM by a validated weight (benchmark's default)",
}


def apply_preset(data: dict) -> dict:
    """``data`` (a job file's mapping) over the defaults of its ``preset``; the job's own values win.

    Raises:
        InputError: an unknown preset.
    """
    name = data.get("preset")
    if name is None:
        return data
    if name not in PRESETS:
        raise InputError(f"Job field 'preset': '{name}' is not one of {', '.join(PRESETS)}.")
    return _merge(PRESETS[name], data)


def _merge(defaults: dict, values: dict) -> dict:
    out = dict(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
