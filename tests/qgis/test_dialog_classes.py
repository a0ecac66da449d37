"""Class names, season filter and gap-filling in the dialog, Processing and the map's legend, in a real QGIS."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import QgsEditorWidgetSetup, QgsProject, QgsRasterLayer, QgsVectorLayer

from conftest import make_raster

X0, Y0 = 640000.0, 5150000.0


def _scene(tmp_path, h=30, w=30):
    """Three NDVI dates of two classes (codes 4 and 7: left and right), one cloudy over a block; points of two years."""
    rng = np.random.default_rng(0)
    truth = np.where(np.arange(w)[None, :] < w // 2, 4, 7).repeat(h, 0)
    paths = []
    for t in range(3):
        ndvi = np.where(truth == 4, 0.3 + 0.2 * t, 0.8 - 0.2 * t) + rng.normal(0, 0.02, truth.shape)
        if t == 1:
            ndvi[:10, :10] = np.nan  # a cloud
        paths.append(make_raster(tmp_path / f"ndvi_{t}.tif", ndvi.astype(np.float32)))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / "samples.gpkg"))
    lyr = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    lyr.CreateField(ogr.FieldDefn("code", ogr.OFTInteger))
    lyr.CreateField(ogr.FieldDefn("year", ogr.OFTInteger))
    for year in (2020, 2021):
        for r in range(0, h, 2):
            for c in range(0, w, 2):
                f = ogr.Feature(lyr.GetLayerDefn())
                f.SetField("code", int(truth[r, c]) if year == 2021 else 4)  # 2020: another crop on every pixel
                f.SetField("year", year)
                f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({X0 + 10 * c + 5} {Y0 - 10 * r - 5})"))
                lyr.CreateFeature(f)
    ds = None
    layer = QgsVectorLayer(str(tmp_path / "samples.gpkg"), "samples", "ogr")
    index = layer.fields().indexOf("code")
    layer.setEditorWidgetSetup(index, QgsEditorWidgetSetup("ValueMap", {"map": [{"soja": "4"}, {"algodão": "7"}]}))
    QgsProject.instance().addMapLayer(layer)
    return paths, layer


@pytest.fixture()
def project(qgis_app):
    QgsProject.instance().clear()
    yield QgsProject.instance()
    QgsProject.instance().clear()


def test_dialog_passes_the_value_map_season_and_gap_filling(project, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.classify_job import run_classify_job
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog
    from tsstfn_crop_mapper.ui.layers import class_layer

    paths, layer = _scene(tmp_path)
    for p in paths:
        project.addMapLayer(QgsRasterLayer(p, p.rsplit("/", 1)[-1][:-4]))
    d = CropMapperDialog()
    out = d.outputs
    out.samples.setLayer(layer)
    out.class_field.setField("code")
    out.season_field.setField("year")
    assert [out.season.itemText(i) for i in range(out.season.count())] == ["2020", "2021"]  # the field's values offered
    out.season.setEditText("2021")
    out.output_dir.setFilePath(str(tmp_path / "out"))
    data = d.job_dict()
    assert data["class_names"] == {"4": "soja", "7": "algodão"}  # the class field's Value Map, as a plain mapping
    assert (data["season_field"], data["season"], data["gap_fill"], data["gap_fill_min_clear"]) == ("year", "2021", "linear", 0.5)
    d.set_job_dict({**data, "gap_fill": "none", "class_names_file": str(tmp_path / "names.csv")})
    assert out.gap_fill.currentData() == "none" and out.names_file.filePath().endswith("names.csv")
    d.set_job_dict(data)
    # the classify-only mode builds its job from the same widgets (ui/builder.py: CLASSIFY_SAMPLE_KEYS)
    d.mode.setCurrentIndex(d.mode.findData("classify"))
    d.fill_from_project()
    out.samples.setLayer(layer)
    d.set_job_dict(data)
    job = d.build_job()
    assert (job.class_names, job.season_field, job.season, job.gap_fill.value) == ({4: "soja", 7: "algodão"}, "year", "2021",
                                                                                   "linear")  # fmt: skip
    result = run_classify_job(job)
    assert result.samples.names == {4: "soja", 7: "algodão"} and len(result.samples.codes) == 225  # 2021 only
    assert result.mapped_fraction == 1.0 and result.gap_stats.filled == 100  # the cloud, gap-filled
    # the legend QGIS shows: two classes, from the .qml it loads with the raster, and from the plugin's styling
    default = QgsRasterLayer(str(result.crop_map), "as QGIS opens it")
    assert default.renderer().type() == "paletted"
    assert [c.label for c in default.renderer().classes()] == ["soja", "algodão"]
    styled = class_layer(result.crop_map, "Crop map")
    assert [(c.value, c.label) for c in styled.renderer().classes()] == [(4, "soja"), (7, "algodão")]


def test_processing_classify_reads_the_value_map_and_filters_the_season(project, tmp_path):
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing
    from qgis.core import QgsApplication

    from tsstfn_crop_mapper.processing_provider.provider import TsstfnProvider

    Processing.initialize()
    provider = TsstfnProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        import processing

        paths, layer = _scene(tmp_path)
        params = {"INPUTS": paths, "SAMPLES": layer, "CLASS_FIELD": "code", "SEASON_FIELD": "year", "SEASON": "2021",
                  "OUTPUT": str(tmp_path / "map.tif"), "REPORT": str(tmp_path / "report")}  # fmt: skip
        res = processing.run("tsstfn:classify", params)
        assert res["KAPPA"] > 0.9
        assert "| soja |" in (tmp_path / "report" / "accuracy.md").read_text()
        assert "gap-filled" in (tmp_path / "report" / "accuracy.md").read_text()
        both = {**params, "SEASON_FIELD": None, "SEASON": "", "GAP_FILL": 1, "OUTPUT": str(tmp_path / "map2.tif")}
        no_season = processing.run("tsstfn:classify", {**both, "REPORT": str(tmp_path / "r2")})
        assert no_season["KAPPA"] < res["KAPPA"]  # both seasons mixed: 2020's labels contradict 2021's
        ds = QgsRasterLayer(no_season["OUTPUT"], "unfilled")
        assert ds.isValid()
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)


def test_season_box_offers_a_date_fields_years_and_days_that_match(project, tmp_path):
    """A Date field (QGIS gives QDate, not text): the box offers its years, then its days as yyyy-MM-dd, each of which
    the season filter keeps (never 'PyQt5.QtCore.QDate(2021, 7, 30)'); and the dialog has no 'fused' gap-filling."""
    from tsstfn_crop_mapper.core.inputs.grid import Grid
    from tsstfn_crop_mapper.core.mapping.samples import read_samples
    from tsstfn_crop_mapper.ui.dialog import CropMapperDialog

    paths, _ = _scene(tmp_path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / "sown.gpkg"))
    lyr = ds.CreateLayer("sown", srs, ogr.wkbPoint)
    for name, kind in (("crop", ogr.OFTString), ("sown", ogr.OFTDate), ("seen", ogr.OFTDateTime)):
        lyr.CreateField(ogr.FieldDefn(name, kind))
    days = ("2020/11/02", "2021/07/30", "2021/08/31")
    for k in range(60):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("crop", "soy" if k % 2 else "corn")
        f.SetField("sown", days[k % 3])
        f.SetField("seen", days[k % 3] + " 10:30:00")
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({X0 + 10 * (k % 30) + 5} {Y0 - 10 * (k // 30) - 5})"))
        lyr.CreateFeature(f)
    ds = None
    layer = QgsVectorLayer(str(tmp_path / "sown.gpkg"), "sown", "ogr")
    project.addMapLayer(layer)
    d = CropMapperDialog()
    out = d.outputs
    out.samples.setLayer(layer)
    expected = ["2020", "2021", "2020-11-02", "2021-07-30", "2021-08-31"]
    grid = Grid.from_raster(paths[0])
    for field in ("sown", "seen"):
        out.season_field.setField(field)
        offered = [out.season.itemText(i) for i in range(out.season.count())]
        assert offered == expected, field
        kept = [len(read_samples(layer.source().split("|")[0], "crop", grid, season_field=field, season=s,
                                 min_per_class=5).codes) for s in offered]  # fmt: skip
        assert kept == [20, 40, 20, 20, 20]
    assert [out.gap_fill.itemData(i) for i in range(out.gap_fill.count())] == ["linear", "none"]
