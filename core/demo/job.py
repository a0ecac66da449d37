"""The demo: the synthetic scene's job, with small training settings that run in minutes on a CPU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..files import PathLike
from ..fusion.config import TrainConfig
from ..mapping.classify import ForestParams
from ..pipeline.job import Job, job_from_dict, save_job
from ..pipeline.presets import PRESETS
from .synthetic import generate_scene

#: the demo's network and training: the ``laptop`` preset's (width 8, 64 px patches, 3 CL paths, at most 30
#: epochs; a correction to the latest fine image plus the coarse change, flips and rotations, every later
#: reference pair as a label too, blended with STARFM by the weight both years' held-out pixels give)
DEMO_TRAIN = TrainConfig(**PRESETS["laptop"]["train"])


def scene_job(scene_dir: PathLike, output_dir: PathLike, **overrides: Any) -> Job:
    """The job of a synthetic scene written by :func:`~.synthetic.generate_scene`.

    ``overrides`` replace job fields; ``train`` and ``forest`` take option objects.
    """
    scene_dir = Path(scene_dir)
    manifest = json.loads((scene_dir / "scene.json").read_text())
    data: dict[str, Any] = {
        "reference": manifest["reference"],
        "prediction": manifest["prediction"],
        "targets": manifest["targets"],
        "output_dir": str(Path(output_dir).resolve()),
        "samples": manifest["samples"],
        "class_field": "crop",
        "group_field": "field_id",
        "modis_product": manifest["modis_product"],
        "sentinel2_product": manifest["sentinel2_product"],
    }
    data.update({k: v for k, v in overrides.items() if k not in ("train", "forest")})
    job = job_from_dict(data, scene_dir)
    train: TrainConfig | None = overrides.get("train")
    forest: ForestParams | None = overrides.get("forest")
    if train is not None:
        job = replace(job, train=train)
    if forest is not None:
        job = replace(job, forest=forest)
    return job


def prepare_demo(out: PathLike, size: int = 384, seed: int = 42, strategy: str = "STR_B") -> Job:
    """Generate the demo scene in ``out/scene``, save its job as ``out/demo_job.json`` and return it.

    The job writes into ``out/run``: with the scene's field polygons (a per-field map), the forest's
    confidence and (estimated cheap on a CPU) the MC-dropout uncertainty of the fused NDVI.
    """
    out = Path(out).resolve()
    manifest = generate_scene(out / "scene", size=size, seed=seed)
    job = scene_job(
        out / "scene", out / "run", train=DEMO_TRAIN, strategy=strategy, name="demo", fields=manifest["fields"],
        field_id="field_id", confidence=True,
    )  # fmt: skip
    save_job(job, out / "demo_job.json")
    return job
