"""The model file: TSSTFN's weights plus everything needed to use them, in one safe file.

``torch.save`` of tensors and plain data only, loaded back with ``weights_only=True`` (no code can
run). The file records the architecture, the number of base pairs, the strategy and dates, the
normalisation, the software version, the format version and a SHA-256 of the weights and metadata.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from ..files import PathLike, atomic_output
from ..version import __version__
from .training import build_model, resolve_device

log = logging.getLogger("tsstfn")
FORMAT = "tsstfn-crop-mapper-model"
FORMAT_VERSION = 2  # 2: the SHA-256 covers the metadata too (1: the weights only)
#: what the metadata must hold to rebuild and use the network
REQUIRED_META = ("n_base", "config", "normalisation", "strategy")
REQUIRED_CONFIG = ("patch", "width", "dropout", "lstm_rows", "cl_paths", "output")


def _content_hash(state: dict, meta: dict | None) -> str:
    """SHA-256 of the weights and (format 2) of the metadata, canonically serialised."""
    h = hashlib.sha256()
    if meta is not None:
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def save_model(path: PathLike, model: Any, meta: dict) -> Path:
    """Write ``model``'s weights and ``meta`` into one model file, atomically.

    The file holds everything needed to use the weights: architecture, dates, strategy,
    normalisation, software version and a content hash.
    """
    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software_version": __version__,
        "meta": meta,
        "sha256": _content_hash(state, meta),
        "state_dict": state,
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def check_meta(meta: dict, name: str) -> None:
    """The metadata's types and ranges (a recomputed hash makes a file consistent, not sound).

    Raises:
        ModelFileError: naming the file and the field: the normalisation not finite numbers or a std that is not
            positive, ``n_base`` not a positive integer, a configuration the options refuse, a STARFM blend
            weight outside [0, 1].
    """
    import math
    from dataclasses import fields

    from ..errors import InputError
    from .config import TrainConfig

    norm, n_base = meta.get("normalisation") or {}, meta.get("n_base")
    if not isinstance(norm, dict):
        raise ModelFileError(f"Model '{name}': normalisation {norm!r} is not a mapping of mean and std; re-train it.")
    for key in ("mean", "std"):
        v = norm.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ModelFileError(f"Model '{name}': normalisation {key} {v!r} is not a finite number; re-train it.")
    if norm["std"] <= 0:
        raise ModelFileError(f"Model '{name}': normalisation std {norm['std']!r} is not positive; re-train it.")
    if isinstance(n_base, bool) or not isinstance(n_base, int) or not 1 <= n_base <= 1000:
        raise ModelFileError(f"Model '{name}': n_base {n_base!r} is not a number of base pairs; re-train it.")
    if "starfm_blend" in meta:
        blend: Any = meta["starfm_blend"]
        for entry in [blend, blend.get("two_sided", {"weight": 1.0})] if isinstance(blend, dict) else [blend]:
            w = entry.get("weight") if isinstance(entry, dict) else None
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
                raise ModelFileError(f"Model '{name}': its STARFM blend weight {w!r} is not a number from 0 to 1; re-train it.")
    config: Any = meta.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"Model '{name}': its training options are not a mapping; re-train it.")
    known = {f.name for f in fields(TrainConfig)}
    try:
        TrainConfig(**{k: v for k, v in config.items() if k in known})
    except (InputError, TypeError) as exc:
        raise ModelFileError(f"Model '{name}': its training options are not valid ({exc}); re-train it.") from None


def load_model(path: PathLike, device: str = "auto") -> tuple[Any, dict]:
    """``(model, meta)`` from a file written by :func:`save_model`, with torch's safe loader.

    The content hash covers the weights and the metadata (format 2): changed normalisation, output
    mode, strategy or dates are refused like changed weights. Format 1 files (0.1.0) load with their
    weights checked and a warning that their metadata is not covered.

    Raises:
        ModelFileError: missing, truncated, not ours, a newer format, metadata without a required
            key, or weights or metadata that do not match the hash.
    """
    import torch

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ModelFileError(f"Model file '{path}' does not exist. Train a model first or choose another file.")
    try:
        payload = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle with code, random bytes...
        raise ModelFileError(
            f"'{name}' is not a readable TSSTFN model file ({type(exc).__name__}); it may be truncated or damaged. "
            "Copy it again or re-train."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(
            f"'{name}' is a PyTorch file but not a TSSTFN Crop Mapper model. Choose a model saved by this plugin."
        )
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"'{name}' was saved by TSSTFN Crop Mapper {payload.get('software_version')} in model format "
            f"{payload['format_version']}; this version reads format {FORMAT_VERSION}. Update the plugin."
        )
    state, meta = payload.get("state_dict"), payload.get("meta")
    if not isinstance(state, dict) or not isinstance(meta, dict):
        raise ModelFileError(f"'{name}' is not a model file of this version (no weights or no metadata). Re-train.")
    version = payload.get("format_version", 1)
    if _content_hash(state, meta if version >= 2 else None) != payload.get("sha256"):
        raise ModelFileError(
            f"'{name}' failed its content check (its weights or its metadata were altered or damaged). Re-train or copy it again."
        )
    if version < 2:
        log.warning("%s: model format 1: its metadata is not covered by its hash; re-train to get format 2", name)
    missing = [k for k in REQUIRED_META if k not in meta] + [
        f"config.{k}" for k in REQUIRED_CONFIG if k not in (meta.get("config") or {})
    ]
    if missing or not {"mean", "std"} <= set(meta.get("normalisation") or {}):
        raise ModelFileError(
            f"'{name}' is not a model file of this version (its metadata lacks {', '.join(missing) or 'normalisation'}). "
            "Re-train with this version."
        )
    check_meta(meta, name)
    model = build_model(meta)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFileError(f"'{name}': weights do not fit the architecture it records ({str(exc).splitlines()[0]}).") from None
    model.to(resolve_device(device)).eval()
    return model, meta
