from qgis.core import QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from ..core.fusion.methods import METHODS
from .base import TsstfnAlgorithm


class StarfmAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "starfm"
    DISPLAY = f"{METHODS['starfm'].label} fused NDVI"
    HELP = (
        f"{METHODS['starfm'].description} Inputs: the fine NDVI and the coarse NDVI of the base date, and the coarse "
        "NDVI of the target date, all single-band NDVI rasters on the fine grid (use 'Align NDVI' first)."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("FINE_BASE", "Fine (Sentinel-2) NDVI, base date"))
        self.addParameter(QgsProcessingParameterRasterLayer("COARSE_BASE", "Coarse (MODIS) NDVI, base date, on the fine grid"))
        self.addParameter(
            QgsProcessingParameterRasterLayer("COARSE_TARGET", "Coarse (MODIS) NDVI, target date, on the fine grid")
        )
        self.addParameter(QgsProcessingParameterNumber("HALF_WINDOW", "Half window (pixels)", defaultValue=15, minValue=1))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "STARFM NDVI"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..core.fusion.starfm import StarfmParams, starfm_to_file
        from ..core.inputs.grid import Grid

        fine = self.parameterAsRasterLayer(parameters, "FINE_BASE", context)
        cbase = self.parameterAsRasterLayer(parameters, "COARSE_BASE", context).source()
        ctarget = self.parameterAsRasterLayer(parameters, "COARSE_TARGET", context).source()
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        grid = self.call_core(Grid.from_raster, fine.source(), fine.name())
        params = StarfmParams(half_window=self.parameterAsInt(parameters, "HALF_WINDOW", context))
        progress, cancelled = self.callbacks(feedback)
        self.call_core(starfm_to_file, [fine.source()], [cbase], ctarget, grid, out, params, "STARFM NDVI", progress, cancelled)
        return {"OUTPUT": out}
