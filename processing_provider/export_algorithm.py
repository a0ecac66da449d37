from qgis.core import QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorDestination

from .base import TsstfnAlgorithm


class ExportPolygonsAlgorithm(TsstfnAlgorithm):
    ALG_NAME = "exportpolygons"
    DISPLAY = "Export crop polygons"
    PARAM_HELP = {
        "INPUT": "A class raster (the crop map) with integer codes.",
        "MMU_HA": "Polygons smaller than this (hectares) merge into their neighbour; 0 keeps every pixel.",
        "OUTPUT": "Crop polygons with class code, name and hectares (GeoPackage or Shapefile).",
    }
    HELP = (
        "Polygons of a crop map (GDAL polygonize) with class_id, class_name and area_ha; regions smaller than the minimum "
        "mapping unit are merged into their largest neighbour first (GDAL sieve). Nodata gives no polygon. "
        "Output: Shapefile (.shp) or GeoPackage (.gpkg)."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Crop map (class raster)"))
        self.addParameter(
            QgsProcessingParameterNumber(
                "MMU_HA", "Minimum mapping unit (ha)", QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0
            )
        )
        self.addParameter(QgsProcessingParameterVectorDestination("OUTPUT", "Crop polygons", defaultValue="crop_map.gpkg"))

    def check(self, parameters, context):
        from ..core.mapping.export import check_class_raster

        check_class_raster(self.parameterAsRasterLayer(parameters, "INPUT", context).source())

    def execute(self, parameters, context, feedback):
        from ..core.mapping.export import polygonize

        raster = self.parameterAsRasterLayer(parameters, "INPUT", context).source()
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        polygonize(raster, out, None, self.parameterAsDouble(parameters, "MMU_HA", context))
        return {"OUTPUT": out}
