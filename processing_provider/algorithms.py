"""Every algorithm of the provider, one per module."""

from .align_algorithm import AlignAlgorithm
from .benchmark_algorithm import BenchmarkAlgorithm
from .classify_algorithm import ClassifyAlgorithm
from .export_algorithm import ExportPolygonsAlgorithm
from .job_algorithms import PredictAlgorithm, RunJobAlgorithm, TrainAlgorithm
from .region_algorithm import RegionAlgorithm
from .starfm_algorithm import StarfmAlgorithm


def all_algorithms():
    return [
        AlignAlgorithm(),
        TrainAlgorithm(),
        PredictAlgorithm(),
        StarfmAlgorithm(),
        ClassifyAlgorithm(),
        ExportPolygonsAlgorithm(),
        RunJobAlgorithm(),
        RegionAlgorithm(),
        BenchmarkAlgorithm(),
    ]
