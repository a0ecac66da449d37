"""Core of TSSTFN Crop Mapper: numpy + GDAL + torch + scikit-learn, never QGIS.

The package follows the pipeline, one sub-package per stage::

    inputs/    products and masks, NDVI from a raster, dates, the grid, alignment, layer inventory
    fusion/    the registry of fusion methods: TSSTFN (network, training, model file, prediction,
               strategies STR_A-E), STARFM, baselines; tiling; fusion metrics
    mapping/   samples and splits, the random forest and the crop map, accuracy, exports
    pipeline/  the job spec, run_job, the run report, the paper's experiment, estimates
    demo/      the synthetic two-season scene and its job

beside the cross-cutting modules ``errors``, ``callbacks`` (progress and cancellation),
``options`` (choices checked in one place), ``files`` (GDAL I/O, atomic writes), ``formats``
(output formats), ``deps`` (dependency check), ``cli`` and ``version``.

Every entry point (the QGIS dialog, the Processing algorithms, the command line) calls these
functions. The public names below import lazily (``from tsstfn_crop_mapper.core import run_job``),
and torch and scikit-learn load only inside the functions that need them, so importing ``core``
stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

#: public name -> the module (relative to this package) that defines it
_PUBLIC = {
    # errors
    "TsstfnError": "errors",
    "InputError": "errors",
    "DateError": "errors",
    "ModelFileError": "errors",
    "DependencyError": "errors",
    "CancelledError": "errors",
    # formats
    "OUTPUT_FORMATS": "formats",
    "OutputFormat": "formats",
    "register_format": "formats",
    # inputs
    "PRODUCTS": "inputs.products",
    "MASK_KINDS": "inputs.products",
    "NdviSource": "inputs.ndvi",
    "read_ndvi": "inputs.ndvi",
    "Grid": "inputs.grid",
    "ndvi_to_grid": "inputs.align",
    "detect_date": "inputs.dates",
    # fusion
    "METHODS": "fusion.methods",
    "get_method": "fusion.methods",
    "register_method": "fusion.methods",
    "FusionMethod": "fusion.base",
    "FusionInputs": "fusion.base",
    "FusionOutput": "fusion.base",
    "FusionRequest": "fusion.base",
    "AlignedPair": "fusion.stacks",
    "TrainConfig": "fusion.config",
    "OutputMode": "fusion.config",
    "TsstfnParams": "fusion.tsstfn",
    "Forecast": "fusion.tsstfn",
    "Strategy": "fusion.strategies",
    "STRATEGIES": "fusion.strategies",
    "TSSTFN": "fusion.model",
    "train": "fusion.training",
    "save_model": "fusion.modelfile",
    "load_model": "fusion.modelfile",
    "StarfmParams": "fusion.starfm",
    "starfm": "fusion.starfm",
    "starfm_to_file": "fusion.starfm",
    "fusion_metrics": "fusion.metrics",
    # mapping
    "Split": "mapping.samples",
    "Samples": "mapping.samples",
    "read_samples": "mapping.samples",
    "ForestParams": "mapping.classify",
    "classify_to_file": "mapping.classify",
    "save_classifier": "mapping.classify",
    "load_classifier": "mapping.classify",
    "assess": "mapping.accuracy",
    "polygonize": "mapping.export",
    "export_crop_map": "mapping.export",
    # pipeline
    "Job": "pipeline.job",
    "PairSpec": "pipeline.pairs",
    "DatedPair": "pipeline.pairs",
    "job_from_dict": "pipeline.job",
    "load_job": "pipeline.job",
    "save_job": "pipeline.job",
    "job_to_dict": "pipeline.job",
    "validate_job": "pipeline.job",
    "JobResult": "pipeline.result",
    "ClassifyJob": "pipeline.classify_job",
    "run_classify_job": "pipeline.classify_job",
    "RowChecker": "pipeline.rows",
    "Prepared": "pipeline.run",
    "prepare": "pipeline.run",
    "run_job": "pipeline.run",
    "run_experiment": "pipeline.experiment",
    "estimate_run": "pipeline.estimate",
    "BenchmarkSpec": "pipeline.benchmark",
    "load_benchmark": "pipeline.benchmark",
    "run_benchmark": "pipeline.benchmark",
    # demo
    "generate_scene": "demo.synthetic",
    "scene_job": "demo.job",
    "DEMO_TRAIN": "demo.job",
}
_RENAMED = {"register_method": "register"}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for completion."""
    return sorted(__all__)
