"""A region of many tiles on Dask distributed: each tile a job, then mosaics and one report."""

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from .base import TsstfnAlgorithm


class RegionAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "region"
    DISPLAY = "Run a region of tiles (Dask)"
    PARAM_HELP = {
        "REGION": "A region file (JSON or YAML): output_dir and the tiles, each a job file or an inline job (docs/regions.md).",
        "SCHEDULER": "An existing Dask cluster's scheduler, e.g. tcp://host:8786; empty: a local cluster on this machine.",
        "WORKERS": "Workers of the local cluster; 0: one per GPU, or one per two CPU cores.",
    }
    HELP = (
        "Runs every tile of a region file as a task on Dask distributed (a local cluster, or the cluster whose scheduler "
        "you give), each a normal crop-mapping job in its own folder. A tile that fails is reported and the others "
        "finish; running the region again redoes only the failed and missing tiles. Writes VRT mosaics of the crop map "
        "and of each date's fused NDVI, and a region report with each tile's kappa and the classes' areas. Cancel stops "
        "the tiles; a next run resumes them."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("REGION", "Region file", fileFilter="Region files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterString("SCHEDULER", "Dask scheduler address", optional=True))
        self.addParameter(QgsProcessingParameterNumber("WORKERS", "Local workers (0: automatic)", minValue=0, defaultValue=0))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_DIR", "Region folder"))
        self.addOutput(QgsProcessingOutputFile("REPORT", "Region report"))
        self.addOutput(QgsProcessingOutputFile("CROP_MAP", "Crop map mosaic (VRT)"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Failed tiles"))

    def check(self, parameters, context):
        from ..core.pipeline.region import load_region

        load_region(self.parameterAsFile(parameters, "REGION", context))

    def execute(self, parameters, context, feedback):
        from ..core.pipeline.region import load_region, run_region

        region = load_region(self.parameterAsFile(parameters, "REGION", context))
        scheduler = self.parameterAsString(parameters, "SCHEDULER", context) or None
        workers = self.parameterAsInt(parameters, "WORKERS", context) or None
        result = run_region(region, scheduler, workers, *self.callbacks(feedback))
        for t in result.failed:
            feedback.reportError(f"Tile {t.name} failed: {t.error}")
        feedback.pushInfo(result.report.read_text())
        mosaic = result.mosaics.get("crop_map")
        return {
            "OUTPUT_DIR": str(result.output_dir),
            "REPORT": str(result.report),
            "CROP_MAP": str(mosaic) if mosaic else None,
            "FAILED": len(result.failed),
        }
