from qgis.core import QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from ..core.fusion.methods import METHODS
from ..core.fusion.starfm import StarfmParams
from .base import TsstfnAlgorithm

#: the search distance as the registry's entry shows it (label, range, help)
WINDOW = next(p for p in METHODS["starfm"].dialog_params if p.key == "window_m")


class StarfmAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "starfm"
    DISPLAY = f"{METHODS['starfm'].label} fused NDVI"
    PARAM_HELP = {
        "FINE_BASE": "The fine NDVI of the base date (the clear pair).",
        "COARSE_BASE": "The coarse NDVI of the same base date, already resampled onto the fine grid (use 'Align').",
        "COARSE_TARGET": "The coarse NDVI of the date to predict, on the fine grid.",
        "WINDOW_M": WINDOW.tooltip,
        "OUTPUT": "The predicted fine NDVI of the target date (fill where Gao's rules give no prediction).",
    }
    HELP = (
        f"{METHODS['starfm'].description} It follows the rules of Feng Gao's STARFM program (v1.2.1) and agrees with it "
        "to 1e-4 NDVI. Inputs: the fine NDVI and the coarse NDVI of the base date, and the coarse NDVI of the target "
        "date, all single-band NDVI rasters on the fine grid (use 'Align NDVI' first). Search distance: half the "
        "search window in metres (Gao's MAX_SEARCH_DISTANCE): 155 m gives 31 x 31 pixels at 10 m (Sentinel-2); "
        "Gao used 750-1500 m for 30 m Landsat (slower: the work grows with the window's area)."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("FINE_BASE", "Fine (Sentinel-2) NDVI, base date"))
        self.addParameter(QgsProcessingParameterRasterLayer("COARSE_BASE", "Coarse (MODIS) NDVI, base date, on the fine grid"))
        self.addParameter(
            QgsProcessingParameterRasterLayer("COARSE_TARGET", "Coarse (MODIS) NDVI, target date, on the fine grid")
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "WINDOW_M",
                f"{WINDOW.label} (m, half the window)",
                QgsProcessingParameterNumber.Double,
                StarfmParams().window_m,
                minValue=WINDOW.minimum,
                maxValue=WINDOW.maximum,
            )  # fmt: skip
        )
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "STARFM NDVI"))

    def check(self, parameters, context):
        from ..core.fusion.starfm import check_starfm_inputs
        from ..core.inputs.grid import Grid

        fine = self.parameterAsRasterLayer(parameters, "FINE_BASE", context)
        cbase = self.parameterAsRasterLayer(parameters, "COARSE_BASE", context).source()
        ctarget = self.parameterAsRasterLayer(parameters, "COARSE_TARGET", context).source()
        check_starfm_inputs([fine.source()], [cbase], ctarget, Grid.from_raster(fine.source(), fine.name()))

    def execute(self, parameters, context, feedback):
        from ..core.fusion.starfm import StarfmParams, starfm_to_file
        from ..core.inputs.grid import Grid

        fine = self.parameterAsRasterLayer(parameters, "FINE_BASE", context)
        cbase = self.parameterAsRasterLayer(parameters, "COARSE_BASE", context).source()
        ctarget = self.parameterAsRasterLayer(parameters, "COARSE_TARGET", context).source()
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        grid = Grid.from_raster(fine.source(), fine.name())
        params = StarfmParams(window_m=self.parameterAsDouble(parameters, "WINDOW_M", context))
        progress, cancelled = self.callbacks(feedback)
        starfm_to_file([fine.source()], [cbase], ctarget, grid, out, params, "STARFM NDVI", progress, cancelled)
        return {"OUTPUT": out}
