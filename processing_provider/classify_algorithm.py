from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsProviderRegistry,
)

from ..core.mapping.samples import Split
from .base import TsstfnAlgorithm

SPLITS = [s.value for s in Split]


class ClassifyAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "classify"
    DISPLAY = "Classify crops (random forest)"
    HELP = (
        "Random forest (40 trees, depth 25, 20 samples per leaf) on the NDVI time series of each pixel and its 3 x 3 window. "
        "Inputs: NDVI rasters on one grid, in date order (early-season Sentinel-2, then fused NDVI); a multi-band stack "
        "(one band per date, e.g. a MOD13Q1 or sits cube) counts as a series of dates, every band or the band range given. "
        "Samples: points or polygons "
        "with a class field. Split 'random' is the paper's 7:3 by pixel; 'field' keeps each field on one side."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterMultipleLayers("INPUTS", "NDVI rasters, in date order", QgsProcessing.TypeRaster))
        self.addParameter(
            QgsProcessingParameterString(
                "BANDS", "Band range of multi-band inputs (e.g. 1-12; empty: every band)", defaultValue="", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "SAMPLES", "Samples", [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]
            )
        )
        self.addParameter(QgsProcessingParameterField("CLASS_FIELD", "Class field", parentLayerParameterName="SAMPLES"))
        self.addParameter(QgsProcessingParameterEnum("SPLIT", "Train/test split", options=SPLITS, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterField(
                "GROUP_FIELD", "Field id (for the split by field)", parentLayerParameterName="SAMPLES", optional=True
            )
        )
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Crop map"))
        self.addParameter(QgsProcessingParameterFolderDestination("REPORT", "Accuracy report folder"))
        self.addOutput(QgsProcessingOutputNumber("KAPPA", "Cohen's kappa"))
        self.addOutput(QgsProcessingOutputNumber("OVERALL_ACCURACY", "Overall accuracy"))

    def _inputs(self, parameters, context):
        """The feature rasters (one single-band view per date), their grid and the samples on it."""
        from ..core.files import band_views
        from ..core.inputs.grid import Grid
        from ..core.mapping.samples import read_samples
        from ..core.options import parse_bands

        layers = self.parameterAsLayerList(parameters, "INPUTS", context)
        text = self.parameterAsString(parameters, "BANDS", context).strip()
        bands = parse_bands(text, "BANDS") if text else None
        paths = []
        for layer in layers:  # a stack is a series of dates: one single-band view per band (of the range)
            paths += band_views(layer.source(), bands if layer.bandCount() > 1 else None)
        grid = Grid.from_raster(paths[0], layers[0].name())
        samples_layer = self.parameterAsVectorLayer(parameters, "SAMPLES", context)
        uri = QgsProviderRegistry.instance().decodeUri("ogr", samples_layer.source())
        samples = read_samples(
            uri["path"],
            self.parameterAsString(parameters, "CLASS_FIELD", context),
            grid,
            layer=uri.get("layerName") or None,
            group_field=self.parameterAsString(parameters, "GROUP_FIELD", context) or None,
        )
        return paths, grid, samples

    def check(self, parameters, context):
        from ..core.mapping.classify import check_feature_rasters

        paths, grid, _ = self._inputs(parameters, context)
        check_feature_rasters(paths, grid)

    def execute(self, parameters, context, feedback):
        from ..core.mapping import classify
        from ..core.mapping.accuracy import write_reports
        from ..core.mapping.samples import split

        paths, grid, samples = self._inputs(parameters, context)
        how = SPLITS[self.parameterAsEnum(parameters, "SPLIT", context)]
        indices = split(samples, how, 0.3)
        clf, acc = classify.train_and_assess(paths, grid, samples, indices, classify.ForestParams(), f"{how} 7:3")
        progress, cancelled = self.callbacks(feedback)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        classify.classify_to_file(clf, paths, grid, out, None, progress, cancelled)
        report = self.parameterAsString(parameters, "REPORT", context)
        write_reports(acc, report, "accuracy", "Crop map accuracy")
        feedback.pushInfo(f"kappa {100 * acc.kappa:.2f} %, overall accuracy {100 * acc.overall:.2f} % ({how} split)")
        return {"OUTPUT": out, "REPORT": report, "KAPPA": acc.kappa, "OVERALL_ACCURACY": acc.overall}
