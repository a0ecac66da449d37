from qgis.core import QgsProcessingOutputFile, QgsProcessingParameterFile, QgsProcessingParameterFolderDestination

from ..core.fusion.methods import METHODS
from .base import TsstfnAlgorithm


class BenchmarkAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "benchmark"
    DISPLAY = "Benchmark fusion methods on a paired dataset"
    PARAM_HELP = {
        "DATASET": "A dataset file naming paired coarse/fine NDVI (docs/benchmarks.md); each target is held out and predicted.",
    }

    def __init__(self):
        super().__init__()
        self.HELP = (
            "Holds out each target date of a dataset file (JSON or YAML: dated coarse/fine pairs and the targets; see "
            "docs/benchmarks.md) and predicts it with every registered fusion method unless the file's 'methods' says "
            "otherwise (a learning method is trained on the dataset's own season): "
            + "; ".join(f"{m.label}: {m.description}" for m in METHODS.values())
            + ". Scores each against the real fine image where it is valid (RMSE, MAE, bias, R², SSIM with data range "
            "2). Writes benchmark.csv, benchmark.md and one PNG of predictions and errors per target."
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("DATASET", "Dataset file", fileFilter="Dataset files (*.json *.yaml *.yml)"))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("CSV", "Scores (benchmark.csv)"))
        self.addOutput(QgsProcessingOutputFile("REPORT", "Report (benchmark.md)"))

    def check(self, parameters, context):
        from ..core.pipeline.benchmark import load_benchmark

        load_benchmark(self.parameterAsFile(parameters, "DATASET", context))

    def execute(self, parameters, context, feedback):
        from ..core.pipeline.benchmark import load_benchmark, run_benchmark, summary

        spec = load_benchmark(self.parameterAsFile(parameters, "DATASET", context))
        out = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        result = run_benchmark(spec, out, *self.callbacks(feedback))
        feedback.pushInfo(summary(result))
        return {"OUTPUT_FOLDER": out, "CSV": str(result.csv), "REPORT": str(result.markdown)}
