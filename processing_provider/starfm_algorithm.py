from qgis.core import QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from .base import TsstfnAlgorithm


class StarfmAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "starfm"
    DISPLAY = "STARFM fused NDVI"
    HELP = (
        "STARFM (Gao et al., 2006) from one base pair: the fine NDVI and the coarse NDVI of the base date, and the coarse "
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
        from ..core.align import Grid
        from ..core.fusion import Pair
        from ..core.job import starfm_to_file
        from ..core.raster import open_raster
        from ..core.starfm import StarfmParams

        fine = self.parameterAsRasterLayer(parameters, "FINE_BASE", context).source()
        cbase = self.parameterAsRasterLayer(parameters, "COARSE_BASE", context).source()
        ctarget = self.parameterAsRasterLayer(parameters, "COARSE_TARGET", context).source()
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        grid = self.call_core(Grid.from_dataset, self.call_core(open_raster, fine))
        params = StarfmParams(half_window=self.parameterAsInt(parameters, "HALF_WINDOW", context))
        _, cancelled = self.callbacks(feedback)
        import datetime as dt

        today = dt.date.today()
        self.call_core(starfm_to_file, Pair(today, cbase, fine), Pair(today, ctarget, None), grid, out, cancelled, params)
        return {"OUTPUT": out}
