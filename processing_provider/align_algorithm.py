from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..core.inputs.products import MASK_KINDS, PRODUCTS
from .base import TsstfnAlgorithm


class AlignAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "align"
    DISPLAY = "Align NDVI to a fine grid"
    PARAM_HELP = {
        "INPUT": "A MODIS or fine-sensor raster (GeoTIFF, HDF subdataset, SAFE band...) to turn into NDVI on the reference grid.",
        "PRODUCT": "How the input stores NDVI or red/NIR (scale, offset, fill, bands); see README 'Real products'.",
        "REFERENCE": "A fine-sensor raster whose grid (CRS, pixel size, extent) the output takes.",
        "MASK": "Optional cloud/QA raster of the input; its invalid pixels become nodata.",
        "MASK_KIND": "Which mask values are invalid (SCL, MODIS state, CFMask, QA_PIXEL, MOD13 reliability, binary...).",
        "RESAMPLING": "GDAL resampling method for the warp; 'cubic' as in the paper, 'near' keeps values.",
        "OUTPUT": "The aligned NDVI (float32, nodata NaN).",
    }
    HELP = (
        "Reads NDVI from a raster (an NDVI band, MOD09GQ or Sentinel-2 L2A red/NIR with their scale, offset and fill "
        "values; optional cloud mask) and warps it with cubic resampling onto the grid of the reference Sentinel-2 raster. "
        "Nodata and masked pixels become NaN."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Input raster (MODIS or Sentinel-2)"))
        self.addParameter(QgsProcessingParameterEnum("PRODUCT", "Product", options=list(PRODUCTS), defaultValue=1))
        self.addParameter(QgsProcessingParameterRasterLayer("REFERENCE", "Reference Sentinel-2 raster (target grid)"))
        self.addParameter(QgsProcessingParameterRasterLayer("MASK", "Cloud/QA mask", optional=True))
        self.addParameter(QgsProcessingParameterEnum("MASK_KIND", "Mask kind", options=list(MASK_KINDS), defaultValue=0))
        self.addParameter(QgsProcessingParameterString("RESAMPLING", "GDAL resampling", defaultValue="cubic"))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Aligned NDVI"))

    def check(self, parameters, context):
        from ..core.inputs.grid import Grid

        reference = self.parameterAsRasterLayer(parameters, "REFERENCE", context)
        Grid.from_raster(reference.source(), reference.name())

    def execute(self, parameters, context, feedback):
        from ..core.inputs.align import ndvi_to_grid
        from ..core.inputs.grid import Grid
        from ..core.inputs.ndvi import NdviSource

        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        reference = self.parameterAsRasterLayer(parameters, "REFERENCE", context)
        mask = self.parameterAsRasterLayer(parameters, "MASK", context)
        source = NdviSource(
            layer.source(),
            list(PRODUCTS)[self.parameterAsEnum(parameters, "PRODUCT", context)],
            name=layer.name(),
            mask_path=mask.source() if mask else None,
            mask_kind=list(MASK_KINDS)[self.parameterAsEnum(parameters, "MASK_KIND", context)],
        )
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        grid = Grid.from_raster(reference.source(), reference.name())
        _, cancelled = self.callbacks(feedback)
        ndvi_to_grid(source, grid, out, self.parameterAsString(parameters, "RESAMPLING", context), cancelled)
        return {"OUTPUT": out}
