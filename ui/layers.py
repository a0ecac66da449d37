"""Result layers: a group named after the run, styled so that dates compare and classes read."""

from __future__ import annotations

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QColor

from ..core.fusion.methods import METHODS

NDVI_RANGE = (0.0, 1.0)  # fixed so that dates compare
UNCERTAINTY_RANGE = (0.0, 0.1)  # NDVI standard deviation: fixed so that dates compare
UNCERTAINTY_COLOURS = ["#fcfdbf", "#fc8961", "#b73779", "#51127c", "#000004"]  # magma, light = certain
CONFIDENCE_COLOURS = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]  # red = the forest hesitates
NDVI_COLOURS = ["#a6611a", "#dfc27d", "#f5f5c8", "#a6d96a", "#1a9641", "#004d1a"]
DIFF_COLOURS = ["#b2182b", "#f7f7f7", "#2166ac"]


def _ramp_renderer(layer: QgsRasterLayer, lo: float, hi: float, colours: list[str]) -> None:
    ramp = QgsColorRampShader(lo, hi)
    ramp.setColorRampType(QgsColorRampShader.Interpolated)
    n = len(colours)
    ramp.setColorRampItemList(
        [
            QgsColorRampShader.ColorRampItem(lo + (hi - lo) * i / (n - 1), QColor(c), f"{lo + (hi - lo) * i / (n - 1):.2f}")
            for i, c in enumerate(colours)
        ]
    )
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(lo)
    renderer.setClassificationMax(hi)
    layer.setRenderer(renderer)


def ndvi_layer(path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name)
    _ramp_renderer(layer, *NDVI_RANGE, NDVI_COLOURS)
    return layer


def difference_layer(path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name)
    _ramp_renderer(layer, -0.3, 0.3, DIFF_COLOURS)
    return layer


def uncertainty_layer(path, name: str) -> QgsRasterLayer:
    """The MC-dropout standard deviation of a fused NDVI on a fixed sequential ramp (0 to 0.1 NDVI)."""
    layer = QgsRasterLayer(str(path), name)
    _ramp_renderer(layer, *UNCERTAINTY_RANGE, UNCERTAINTY_COLOURS)
    return layer


def confidence_layer(path, name: str) -> QgsRasterLayer:
    """The forest's probability of the mapped class (band 1) on a fixed 0.3-1 ramp."""
    layer = QgsRasterLayer(str(path), name)
    _ramp_renderer(layer, 0.3, 1.0, CONFIDENCE_COLOURS)
    return layer


def class_layer(path, name: str) -> QgsRasterLayer:
    """Paletted renderer with the file's colours and class names (the legend shows the names)."""
    layer = QgsRasterLayer(str(path), name)
    classes = [QgsPalettedRasterRenderer.Class(code, QColor(*rgba), label) for code, (label, rgba) in class_styles(path).items()]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    return layer


def polygon_layer(path, name: str, colours: dict[str, QColor]) -> QgsVectorLayer:
    """Crop polygons, loaded by the provider their format names, coloured by class name."""
    from ..core.formats import format_for_path

    layer = QgsVectorLayer(str(path), name, format_for_path(path, "vector").qgis_provider)
    categories = []
    for class_name, colour in colours.items():
        symbol = QgsFillSymbol.createSimple({"color": colour.name(), "outline_color": "#333333", "outline_width": "0.2"})
        categories.append(QgsRendererCategory(class_name, symbol, class_name))
    layer.setRenderer(QgsCategorizedSymbolRenderer("class_name", categories))
    return layer


def class_styles(path) -> dict[int, tuple[str, tuple[int, int, int, int]]]:
    """Class code -> (name, RGBA) from the crop map's class names and colour table (written by core)."""
    from osgeo import gdal

    from ..core.mapping.classify import class_names_of

    ds = gdal.Open(str(path))  # keep the dataset alive while its band is used
    table = ds.GetRasterBand(1).GetColorTable()
    return {
        code: (name, tuple(table.GetColorEntry(code)) if table and code < table.GetCount() else (128, 128, 128, 255))
        for code, name in class_names_of(path).items()
    }


def preferred_vector(paths):
    """Of the crop polygons written, the one in the most preferred vector format (the table in core.formats)."""
    from ..core.formats import format_for_path

    ranked = sorted(paths, key=lambda p: format_for_path(p, "vector").preference)
    return ranked[0] if ranked else None


def add_result_layers(result, run_name: str, project: QgsProject | None = None):
    """Add a run's outputs to ``project`` in a group named after the run; returns the group."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, run_name)
    layers = []  # (layer, shown): the comparisons start hidden, one click away
    field_map = getattr(result, "field_map", None)
    palette = {}
    if result.crop_map:
        crop = class_layer(result.crop_map, "Crop map (with fused NDVI)")
        palette = {cls.label: cls.color for cls in crop.renderer().classes()}
        if field_map is not None:  # the per-field map is the one to read; the pixel map stays one click away
            layers.append((class_layer(field_map.raster, "Crop map per field (with fused NDVI)"), True))
            per_field = preferred_vector(field_map.vectors)
            if per_field is not None:
                layers.append((polygon_layer(per_field, "Fields and their crop", palette), False))
        layers.append((crop, field_map is None))
        if result.crop_map_early:
            layers.append((class_layer(result.crop_map_early, "Crop map (early season only)"), False))
    if getattr(result, "confidence", None):
        layers.append((confidence_layer(result.confidence, "Confidence of the forest (probability of the class)"), False))
    vectors = preferred_vector(result.vectors)
    if vectors is not None:
        layers.append((polygon_layer(vectors, "Crop polygons", palette), False))
    layers += [(ndvi_layer(path, f"TSSTFN NDVI {date}"), k == 0) for k, (date, path) in enumerate(result.fused.items())]
    layers += [
        (uncertainty_layer(path, f"TSSTFN NDVI uncertainty (std) {date}"), False)
        for date, path in getattr(result, "uncertainty", {}).items()
    ]
    for name, by_date in result.compared.items():
        layers += [(ndvi_layer(path, f"{METHODS[name].label} NDVI {date}"), False) for date, path in by_date.items()]
    layers += [(difference_layer(path, f"TSSTFN − fine image {date}"), False) for date, path in result.difference.items()]
    for layer, shown in layers:
        project.addMapLayer(layer, False)
        group.addLayer(layer).setItemVisibilityChecked(shown)
    return group


def add_classify_layers(result, run_name: str, project: QgsProject | None = None):
    """Add a classify-only run's crop map (and its per-field map and confidence) in a group named after the run."""
    project = project or QgsProject.instance()
    group = project.layerTreeRoot().insertGroup(0, run_name)
    crop = class_layer(result.crop_map, "Crop map")
    layers = [(crop, result.field_map is None)]
    if result.field_map is not None:
        layers.insert(0, (class_layer(result.field_map.raster, "Crop map per field"), True))
        per_field = preferred_vector(result.field_map.vectors)
        if per_field is not None:
            palette = {cls.label: cls.color for cls in crop.renderer().classes()}
            layers.append((polygon_layer(per_field, "Fields and their crop", palette), False))
    if result.confidence:
        layers.append((confidence_layer(result.confidence, "Confidence of the forest (probability of the class)"), False))
    for layer, shown in layers:
        project.addMapLayer(layer, False)
        group.addLayer(layer).setItemVisibilityChecked(shown)
    return group


def value_map(layer, field: str) -> dict[str, str] | None:
    """``{code: name}`` of ``field``'s QGIS *Value Map* widget (stored integer codes only), or None."""
    index = layer.fields().indexOf(field) if layer is not None and hasattr(layer, "fields") and field else -1
    setup = layer.editorWidgetSetup(index) if index >= 0 else None
    if setup is None or setup.type() != "ValueMap":
        return None
    entries = setup.config().get("map") or {}
    pairs = [kv for entry in entries for kv in entry.items()] if isinstance(entries, list) else list(entries.items())
    names = {str(code).strip(): str(name) for name, code in pairs if str(code).strip().lstrip("-").isdigit()}
    return names or None


def csv_layer(path: str, name: str) -> QgsVectorLayer:
    """A CSV of points as QGIS loads it: its longitude/latitude columns (the names core reads), WGS 84."""
    from ..core.mapping.csv_points import X_NAMES, Y_NAMES

    with open(path, encoding="utf-8", errors="replace") as f:
        header = [h.strip() for h in f.readline().split(",")]
    lower = {h.lower(): h for h in header}
    x = next((lower[n] for n in X_NAMES if n in lower), "")
    y = next((lower[n] for n in Y_NAMES if n in lower), "")
    uri = f"{QUrl.fromLocalFile(path).toString()}?type=csv&xField={x}&yField={y}&crs=EPSG:4326&detectTypes=yes"
    return QgsVectorLayer(uri, name, "delimitedtext")
