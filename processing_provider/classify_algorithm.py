from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsProviderRegistry,
)

from ..core.mapping.samples import AccuracyNeed, Split
from .base import TsstfnAlgorithm

GAP_FILLS = {"linear": "linear in time between the pixel's clear dates", "none": "none (one cloudy date: unmapped)"}
SPLITS = [s.value for s in Split]
ACCURACY = {
    AccuracyNeed.WHEN_POSSIBLE.value: "when possible: too few samples per class still give a map, accuracy not measured",
    AccuracyNeed.REQUIRED.value: "required: refuse samples too few per class to measure it",
}
SPLIT_LABELS = {
    "random": "random 7:3 by pixel (the paper's; optimistic)",
    "field": "7:3 by field (no field on both sides)",
    "block": "7:3 by spatial blocks (no block on both sides)",
}


class ClassifyAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "classify"
    DISPLAY = "Classify crops (random forest)"
    PARAM_HELP = {
        "INPUTS": "NDVI rasters on one grid, oldest first (or stacks, one band per date): the time series to classify.",
        "BANDS": "Bands of multi-band inputs to use, e.g. 1-12; empty: every band.",
        "SCALE": "Multiply the inputs by this to get NDVI: 1 for NDVI, 0.0001 for NDVI stored x 10000.",
        "SAMPLES": "Points or polygons with the crop class of each; polygons give every pixel they cover.",
        "CLASS_FIELD": "The field with the crop classes (names or integer codes), not an id.",
        "CLASS_NAMES": "For integer codes: a CSV 'code,name', a QGIS style (.qml) or colour map (.clr/.txt) naming them. "
        "It wins over the class field's Value Map, which names the codes it leaves out (all, without a file); no "
        "names: the codes themselves.",
        "SEASON_FIELD": "A season, year or date field of the samples: keep only one season's samples (empty: all).",
        "SEASON": "The season to keep: a value of the season field, or a year of its dates.",
        "GAP_FILL": "How a pixel's cloudy, masked or nodata dates are filled before the forest classifies it: linear, "
        "weighted by the inputs' dates (from their names, band descriptions or a stack's timeline; unknown: by position).",
        "GAP_FILL_MIN_CLEAR": "The share of dates a pixel needs clear to be gap-filled and mapped; fewer: unmapped.",
        "ACCURACY": "A class with fewer than 10 samples leaves none to test on: 'when possible' still maps (the forest "
        "trains on every sample; the map and its pixel-count areas, no kappa or error-adjusted areas, and the log says "
        "why); 'required' refuses such samples.",
        "DATES": "The inputs' dates in their order, comma-separated (YYYY-MM-DD, or empty where the name says it): they "
        "weigh the gap-filling by days. A stack's own band dates win.",
        "SPLIT": "How samples are split 7:3 into training and test: by pixel (the paper's), by field, or by spatial block.",
        "GROUP_FIELD": "A field id, so that a split by field keeps each field on one side.",
        "BLOCK_M": "Side of the square spatial blocks in metres; 0: 1000 m, or four pixels where those are larger than 250 m.",
        "KFOLD": "Cross-validate by spatial block with this many folds (mean and spread of kappa); 0: none.",
        "FIELDS": "Field polygons (cadastre, LPIS): each field takes the majority class of its pixels.",
        "FIELD_ID": "The field that identifies each polygon (empty: the feature id).",
        "OUTPUT": "The crop map: a paletted GeoTIFF with the class names.",
        "REPORT": "Folder for the accuracy reports (confusion matrix, kappa, block kappa) and area tables with 95 % intervals.",
        "CONFIDENCE": "Optional two-band raster: the forest's probability of the mapped class and its margin to the second.",
    }
    HELP = (
        "Random forest (40 trees, depth 25, 20 samples per leaf) on the NDVI time series of each pixel and its 3 x 3 "
        "window. Inputs: NDVI rasters on one grid, in date order (early-season Sentinel-2, then fused NDVI); a "
        "multi-band stack (one band per date, e.g. a MOD13Q1 or sits cube) counts as a series of dates, every band or "
        "the band range given; NDVI scale: 0.0001 for NDVI stored x 10000. Samples: points or polygons with a class "
        "field. Split 'random' is the paper's 7:3 by pixel; 'field' keeps each field on one side; 'block' splits by "
        "square blocks of the block size. A random split is also compared with a split by blocks, and a warning says "
        "when the random one flatters the map (samples clustered in fields). K-fold: cross-validation by block (mean "
        "and spread of kappa). Writes the crop map (a Cloud-Optimized GeoTIFF), its pixel-count areas (CSV beside "
        "it), the accuracy report and the error-adjusted areas with 95 % intervals (Olofsson et al. 2014) in the "
        "report folder; optionally the forest's confidence and, with field polygons, a per-field map."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterMultipleLayers("INPUTS", "NDVI rasters, in date order", QgsProcessing.TypeRaster))
        self.addParameter(
            QgsProcessingParameterString(
                "BANDS", "Band range of multi-band inputs (e.g. 1-12; empty: every band)", defaultValue="", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "SCALE", "NDVI scale (1: NDVI; 0.0001: NDVI x 10000)", QgsProcessingParameterNumber.Double, 1.0, minValue=0.0
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "SAMPLES", "Samples", [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]
            )
        )
        self.addParameter(QgsProcessingParameterField("CLASS_FIELD", "Class field", parentLayerParameterName="SAMPLES"))
        self.addParameter(
            QgsProcessingParameterFile(
                "CLASS_NAMES", "Class names of integer codes (CSV code,name, .qml, .clr)", optional=True,
                fileFilter="Class names (*.csv *.qml *.clr *.txt)",
            )
        )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterField(
                "SEASON_FIELD", "Season filter: the samples' season, year or date field", parentLayerParameterName="SAMPLES",
                optional=True,
            )
        )  # fmt: skip
        self.addParameter(QgsProcessingParameterString("SEASON", "Season to keep (e.g. 2021)", optional=True))
        self.addParameter(
            QgsProcessingParameterEnum("GAP_FILL", "Gap-filling of cloudy dates", options=[*GAP_FILLS.values()], defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "GAP_FILL_MIN_CLEAR", "Share of dates a pixel needs clear", QgsProcessingParameterNumber.Double, 0.5,
                minValue=0.05, maxValue=1.0,
            )
        )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterString("DATES", "Dates of the inputs (YYYY-MM-DD, comma-separated)", optional=True)
        )
        self.addParameter(QgsProcessingParameterEnum("ACCURACY", "Accuracy", options=[*ACCURACY.values()], defaultValue=0))
        self.addParameter(
            QgsProcessingParameterEnum(
                "SPLIT", "Train/test split", options=[SPLIT_LABELS.get(v, v) for v in SPLITS], defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                "GROUP_FIELD", "Field id (for the split by field)", parentLayerParameterName="SAMPLES", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "BLOCK_M", "Spatial block size (m; 0: 1000 m or four pixels)", QgsProcessingParameterNumber.Double, 0.0,
                minValue=0.0,
            )
        )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterNumber(
                "KFOLD", "K-fold by block (0: none)", QgsProcessingParameterNumber.Integer, 0, minValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "FIELDS", "Field polygons (a per-field map)", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterField("FIELD_ID", "Field id of the polygons", parentLayerParameterName="FIELDS", optional=True)
        )
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Crop map"))
        self.addParameter(QgsProcessingParameterFolderDestination("REPORT", "Report folder (accuracy, areas)"))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "CONFIDENCE", "Confidence of the forest", optional=True, createByDefault=False
            )
        )
        self.addOutput(QgsProcessingOutputNumber("KAPPA", "Cohen's kappa"))
        self.addOutput(QgsProcessingOutputNumber("BLOCK_KAPPA", "Cohen's kappa, split by spatial blocks"))
        self.addOutput(QgsProcessingOutputNumber("OVERALL_ACCURACY", "Overall accuracy"))
        self.addOutput(QgsProcessingOutputFile("AREAS", "Areas with 95 % intervals (CSV; pixel counts when not measured)"))
        self.addOutput(QgsProcessingOutputRasterLayer("FIELD_MAP", "Per-field crop map"))

    def _arguments(self, parameters, context):
        """The core function's arguments from the parameters."""
        from ..core.options import parse_bands
        from ..ui.layers import value_map

        layers = self.parameterAsLayerList(parameters, "INPUTS", context)
        text = self.parameterAsString(parameters, "BANDS", context).strip()
        scale = self.parameterAsDouble(parameters, "SCALE", context)
        samples_layer = self.parameterAsVectorLayer(parameters, "SAMPLES", context)
        uri = QgsProviderRegistry.instance().decodeUri("ogr", samples_layer.source())
        fields = self.parameterAsVectorLayer(parameters, "FIELDS", context)
        fields_path = QgsProviderRegistry.instance().decodeUri("ogr", fields.source())["path"] if fields else None
        dates = self.parameterAsString(parameters, "DATES", context).strip()
        return {
            "rasters": [layer.source() for layer in layers],
            "samples_path": uri["path"],
            "class_field": self.parameterAsString(parameters, "CLASS_FIELD", context),
            "bands": parse_bands(text, "BANDS") if text else None,
            "scale": scale if scale not in (0.0, 1.0) else None,
            "samples_layer": uri.get("layerName") or None,
            "group_field": self.parameterAsString(parameters, "GROUP_FIELD", context) or None,
            "split": SPLITS[self.parameterAsEnum(parameters, "SPLIT", context)],
            "block_m": self.parameterAsDouble(parameters, "BLOCK_M", context) or None,
            "kfold": self.parameterAsInt(parameters, "KFOLD", context),
            "fields": fields_path,
            "field_id": self.parameterAsString(parameters, "FIELD_ID", context) or None,
            "class_names": value_map(samples_layer, self.parameterAsString(parameters, "CLASS_FIELD", context)),
            "class_names_file": self.parameterAsFile(parameters, "CLASS_NAMES", context) or None,
            "season_field": self.parameterAsString(parameters, "SEASON_FIELD", context) or None,
            "season": self.parameterAsString(parameters, "SEASON", context).strip() or None,
            "gap_fill": list(GAP_FILLS)[self.parameterAsEnum(parameters, "GAP_FILL", context)],
            "gap_fill_min_clear": self.parameterAsDouble(parameters, "GAP_FILL_MIN_CLEAR", context),
            "accuracy": list(ACCURACY)[self.parameterAsEnum(parameters, "ACCURACY", context)],
            "dates": [d.strip() for d in dates.split(",")] if dates else None,
        }

    def _outputs(self, parameters, context, args):
        """The output arguments: the map, the report folder, the confidence and the per-field polygons."""
        from pathlib import Path

        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        report = self.parameterAsString(parameters, "REPORT", context)
        confidence = self.parameterAsOutputLayer(parameters, "CONFIDENCE", context) or None
        fields_out = [Path(out).with_name(Path(out).stem + "_fields.gpkg")] if args["fields"] else None
        return {"out_map": out, "report_dir": report, "confidence_path": confidence, "fields_out": fields_out}

    def check(self, parameters, context):
        from ..core.mapping.workflow import check_classification
        from ..core.pipeline.classify_job import check_classify_outputs_free

        args = self._arguments(parameters, context)
        arguments = {**args, **self._outputs(parameters, context, args)}
        check_classify_outputs_free(arguments)
        check_classification(**arguments)

    def execute(self, parameters, context, feedback):
        from ..core.pipeline.classify_job import classify_into_folder

        args = self._arguments(parameters, context)
        outputs = self._outputs(parameters, context, args)
        out, report, confidence = outputs["out_map"], outputs["report_dir"], outputs["confidence_path"]
        progress, cancelled = self.callbacks(feedback)
        arguments = {**args, **outputs}
        record = {"command": "tsstfn:classify", **{k: str(v) if hasattr(v, "__fspath__") else v for k, v in arguments.items()}}
        result = classify_into_folder(arguments, record, progress=progress, is_cancelled=cancelled)
        a = result.assessment
        if a.accuracy is None:  # too few samples to hold any out: the map and its pixel-count areas, no scores
            for note in a.notes:
                feedback.pushWarning(note)
            feedback.pushInfo(f"crop map: {out}; pixel-count areas: {result.pixel_areas}")
            feedback.pushWarning(a.not_measured)  # the log's last line
            return {
                "OUTPUT": out, "REPORT": report, "KAPPA": None, "OVERALL_ACCURACY": None, "BLOCK_KAPPA": None,
                "AREAS": str(result.pixel_areas), "CONFIDENCE": confidence,
                "FIELD_MAP": str(result.field_map.raster) if result.field_map else None,
            }  # fmt: skip
        feedback.pushInfo(
            f"kappa {100 * a.accuracy.kappa:.2f} %, overall accuracy {100 * a.accuracy.overall:.2f} % ({a.accuracy.split})"
        )
        if a.block_accuracy is not None:
            feedback.pushInfo(f"kappa with a split by spatial blocks of {a.block_m:g} m: {100 * a.block_accuracy.kappa:.2f} %")
        if a.fold_kappas:
            feedback.pushInfo("kappa of each fold by block: " + ", ".join(f"{100 * k:.1f} %" for k in a.fold_kappas))
        for note in a.notes:
            feedback.pushWarning(note)
        from ..core.mapping.area import area_markdown

        if result.area is not None:
            feedback.pushInfo("\n".join(area_markdown(result.area)))
        return {
            "OUTPUT": out, "REPORT": report, "KAPPA": a.accuracy.kappa, "OVERALL_ACCURACY": a.accuracy.overall,
            "BLOCK_KAPPA": a.block_accuracy.kappa if a.block_accuracy is not None else None,
            "AREAS": str(result.reports["areas_csv"]), "CONFIDENCE": confidence,
            "FIELD_MAP": str(result.field_map.raster) if result.field_map else None,
        }  # fmt: skip
