import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.errors import CancelledError, DateError, InputError
from tsstfn_crop_mapper.core.files import is_cog, read_array
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.pipeline.job import job_from_dict, load_job, save_job
from tsstfn_crop_mapper.core.pipeline.run import run_job

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1)


def _job_dict(scene, out):
    m = json.loads((Path(scene["root"]) / "scene.json").read_text())
    return {
        "reference": m["reference"],
        "prediction": m["prediction"],
        "targets": m["targets"],
        "output_dir": str(out),
        "samples": m["samples"],
        "class_field": "crop",
    }


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"strategy": "STR_Z"}, "'strategy': 'STR_Z' is not one of STR_A"),
        ({"train": {"widht": 8}}, "'train' has unknown key\\(s\\) \\['widht'\\]"),
        ({"colour": 1}, "Unknown job field\\(s\\) \\['colour'\\]"),
        ({"n_base": "seven"}, "'n_base': 'seven' is not an integer"),
        ({"n_base": 6.9}, "'n_base': 6.9 is not an integer"),
        ({"n_base": 0}, "'n_base': 0 is out of range; it must be >= 1"),
        ({"test_fraction": "0.3"}, "'test_fraction': '0.3' is not a number"),
        ({"test_fraction": 1.0}, "'test_fraction': 1.0 is out of range; it must be > 0 and < 1"),
        ({"save_model": "false"}, "'save_model': 'false' is not true or false"),
        ({"mmu_ha": -1}, "'mmu_ha': -1 is out of range"),
        ({"name": "../x"}, "'name': '../x' is not a plain name"),
        ({"aoi": [1, 2, "3", 4]}, "'aoi' must be \\[xmin, ymin, xmax, ymax\\] \\(four numbers\\)"),
        ({"aoi": [5, 2, 3, 4]}, "with xmin < xmax"),
        ({"train": {"max_epochs": 0}}, "'train.max_epochs': 0 is out of range; it must be >= 1"),
        ({"train": {"width": 2.5}}, "'train.width': 2.5 is not an integer"),
        ({"train": {"patch": 40}}, "'train.patch': 40 is not a multiple of 16 \\(.*\\); use 32 or 48"),
        ({"train": {"batch_size": True}}, "'train.batch_size': True is not an integer"),
        ({"train": {"learning_rate": 0}}, "'train.learning_rate': 0 is out of range; it must be > 0"),
        ({"train": {"validation_fraction": 1}}, "'train.validation_fraction': 1 is out of range"),
        ({"train": {"lstm_rows": [4, 2]}}, "'train.lstm_rows': \\[4, 2\\] is not three positive integers"),
        ({"train": {"cl_paths": 0}}, "'train.cl_paths': 0 is out of range"),
        ({"train": {"amp": "yes"}}, "'train.amp': 'yes' is not true or false"),
        ({"forest": {"n_estimators": 0}}, "'forest.n_estimators': 0 is out of range"),
        ({"forest": {"max_depth": "deep"}}, "'forest.max_depth': 'deep' is not an integer or null"),
        ({"method_params": {"starfm": {"window_m": -5}}}, "'method_params.starfm.window_m': -5 is out of range"),
        ({"forecast": "both"}, "'forecast': 'both' is not one of individual, sequential"),
        ({"split": "spatial"}, "'split': 'spatial' is not one of random, field, block"),
        ({"mc_passes": 1}, "'mc_passes': 1 is out of range; it must be >= 2"),
        ({"kfold": 1}, "'kfold': 1 is not a number of folds; use 0 \\(none\\) or 2 and more"),
        ({"block_m": 0}, "'block_m': 0 is out of range; it must be > 0"),
        ({"uncertainty": "maybe"}, "'uncertainty': 'maybe' is not one of auto, on, off"),
        ({"confidence": "yes"}, "'confidence': 'yes' is not true or false"),
        ({"cog": 1}, "'cog': 1 is not true or false"),
        ({"field_rule": "probability"}, "'field_rule': 'probability' needs the class probabilities"),
        ({"train": {"output": "residual"}}, "'train.output': 'residual' is not one of modis_residual, direct"),
        ({"train": {"device": "gpu"}}, "'train.device': 'gpu' is not a device"),
        ({"compare": ["starfm", "estarfm"]}, "unknown fusion method 'estarfm'; use tsstfn, starfm"),
        ({"compare": ["tsstfn"]}, "'compare': 'tsstfn' is the learning method"),
        ({"compare": ["starfm2"]}, "'compare': 'starfm2' needs a base pair after each target"),
        ({"method_params": {"starfm": {"window": 3}}}, "'method_params.starfm' has unknown key\\(s\\) \\['window'\\]"),
        ({"targets": [{"date": "2021-07-30"}]}, "'targets\\[0\\]': every entry needs 'coarse' \\(or 'modis'\\)"),
        ({"targets": [{"modis": "a.tif", "cloud": "b"}]}, r"'targets\[0\]' has unknown key\(s\) \['cloud'\]"),
        ({"targets": [{"date": "2021-07-30", "modis": "a.tif", "coarse": "b.tif"}]}, "give 'coarse' once"),
        ({"fine_product": "landsat"}, "unknown product 'landsat'"),
        ({"prediction": [{"date": "31/07/2021", "modis": "a.tif", "sentinel2": "b.tif"}]}, "'prediction\\[0\\].date'"),
        ({"formats": ["tiff"]}, "'formats': unknown format 'tiff'; use gtiff, shp, gpkg"),
    ],
)
def test_bad_job_fields_are_named(scene, tmp_path, patch, message):
    data = {**_job_dict(scene, tmp_path / "o"), **patch}
    with pytest.raises(InputError, match=message):
        job_from_dict(data, scene["root"])


def test_missing_field_and_bad_files(scene, tmp_path):
    data = _job_dict(scene, tmp_path / "o")
    del data["targets"]
    with pytest.raises(InputError, match="'targets' is missing"):
        job_from_dict(data, scene["root"])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="'bad.json' is not valid JSON"):
        load_job(tmp_path / "bad.json")


def test_job_file_round_trip_json_and_yaml(scene, tmp_path):
    job = scene_job(scene["root"], tmp_path / "o", strategy="STR_C", train=TINY, method_params={"starfm": {"window_m": 50.0}})
    path = save_job(job, tmp_path / "job.json")
    assert load_job(path) == job
    saved = json.loads(path.read_text())
    assert saved["strategy"] == "STR_C" and saved["method_params"]["starfm"]["window_m"] == 50.0
    assert {"date", "coarse", "fine"} <= set(saved["prediction"][0]) and "modis" not in saved["prediction"][0]
    import yaml

    (tmp_path / "job.yaml").write_text(yaml.safe_dump(json.loads(path.read_text())))
    assert load_job(tmp_path / "job.yaml") == job


def test_duplicate_dates_and_too_few_pairs(scene, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.job import validate_job

    job = scene_job(scene["root"], tmp_path / "o")
    with pytest.raises(InputError, match="'prediction': date 2021-04-06 appears twice"):
        validate_job(replace(job, prediction=job.prediction + job.prediction[:1]))
    with pytest.raises(InputError, match="'prediction': 3 pairs for n_base = 7"):
        validate_job(replace(job, prediction=job.prediction[:3]))
    from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource

    labels = str(Path(scene["root"]) / "labels_2021.tif")
    nameless = replace(
        job.prediction[0], date=None, coarse=NdviSource("/x/modis.tif", "mod09gq"), fine=NdviSource(labels, "s2_l2a")
    )
    with pytest.raises(DateError, match="'labels_2021.tif'"):
        validate_job(replace(job, prediction=(nameless, *job.prediction[1:])))


@pytest.fixture(scope="module")
def run_result(scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    job = scene_job(
        scene["root"], out, train=TINY, n_base=5, forecast="sequential", formats=["gtiff", "shp", "gpkg"], mmu_ha=0.05,
        uncertainty=True, mc_passes=4, confidence=True, block_m=300.0, kfold=3, fields=scene["fields"], field_id="field_id",
    )  # fmt: skip
    return job, run_job(job)


def test_enums_are_checked_when_built_in_python(scene, tmp_path):
    from tsstfn_crop_mapper.core import Forecast, Split, Strategy

    job = scene_job(scene["root"], tmp_path / "o", strategy="str_d", split="field", forecast="SEQUENTIAL")
    assert (job.strategy, job.split, job.forecast) == (Strategy.STR_D, Split.FIELD, Forecast.SEQUENTIAL)
    with pytest.raises(InputError, match="'split': 'pixel' is not one of"):
        replace(job, split="pixel")
    with pytest.raises(InputError, match="'train.device'"):
        replace(TINY, device="tpu")


def test_legacy_starfm_switch_and_sensor_names(scene, tmp_path):
    data = {**_job_dict(scene, tmp_path / "o"), "starfm": False}
    assert job_from_dict(data, scene["root"]).compare == ("coarse_cubic", "latest_fine")
    data = {**_job_dict(scene, tmp_path / "o"), "starfm": True}
    assert job_from_dict(data, scene["root"]).compare == ("starfm", "coarse_cubic", "latest_fine")


def test_run_job_end_to_end(run_result):
    job, result = run_result
    assert [d.isoformat() for d in result.fused] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    ds = gdal.Open(str(next(iter(result.fused.values()))))
    assert (ds.RasterXSize, ds.RasterYSize) == (96, 96) and ds.GetProjection()
    assert np.isfinite(ds.GetRasterBand(1).ReadAsArray()).mean() > 0.99
    assert set(result.compared) == {"starfm"} and set(result.compared["starfm"]) == set(result.fused)
    for methods in result.fusion_metrics.values():
        assert list(methods) == ["tsstfn", "starfm", "coarse_cubic", "latest_fine"]
    assert result.crop_map.exists() and result.crop_map_early.exists()
    assert {p.suffix for p in result.vectors} == {".shp", ".gpkg"}
    assert 0 <= result.accuracy["fused"]["kappa"] <= 1 and "random split by pixel" in result.accuracy["fused"]["split"]
    report = result.report.read_text()
    assert "SSIM data_range = 2.0" in report and "| early |" in report
    assert "| STARFM |" in report and "| MODIS cubic |" in report and "| latest clear fine image |" in report
    assert result.model.exists()
    assert not list(Path(job.output_dir).rglob("*.part*"))


def test_run_job_uncertainty_confidence_areas_fields_and_cogs(run_result):
    """Issue 15's outputs from a job file's options: every raster a COG, every number in the report."""
    import json

    job, result = run_result
    assert set(result.uncertainty) == set(result.fused)
    std = read_array(result.uncertainty[min(result.uncertainty)])
    assert np.isfinite(std).mean() > 0.99 and (std[np.isfinite(std)] >= 0).all()
    from tsstfn_crop_mapper.core.pipeline.run import output_rasters

    for path in output_rasters(result):
        assert gdal.Open(str(path)).GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG", path.name
    conf = gdal.Open(str(result.confidence)).ReadAsArray()
    assert conf.shape == (2, 96, 96) and np.nanmin(conf[0]) >= 1 / 3 - 1e-6
    fused = result.accuracy["fused"]
    assert "block_kappa" in fused and len(fused["fold_kappas"]) == 3 and fused["block_m"] == 300.0
    assert "per_field_kappa" in result.accuracy["fields"]
    est = result.areas["fused"]
    assert sum(c.area_ha for c in est.classes) == pytest.approx(est.total_ha) == pytest.approx(96 * 96 * 0.01)
    rows = (result.output_dir / "crop_map_fused_areas.csv").read_text().splitlines()
    assert rows[0] == "class_id,class_name,pixels,pixel_count_area_ha" and len(rows) == 4
    assert result.field_map is not None and {p.suffix for p in result.field_map.vectors} == {".shp", ".gpkg"}
    report = result.report.read_text()
    for text in ("kappa, split by spatial blocks", "(3 folds)", "Area of each class: crop map with fused NDVI",
                 "Area of each class: per-field map", "Olofsson et al. (2014", "Monte-Carlo dropout",
                 "Per-field map: kappa"):  # fmt: skip
        assert text in report, text
    summary = json.loads((result.output_dir / "report" / "run_report.json").read_text())
    assert summary["areas"]["fused"]["classes"][0]["name"] == "corn" and summary["outputs"]["uncertainty"]  # names sorted
    assert (result.output_dir / "report" / "areas_fused.csv").exists()


def test_run_job_with_loaded_model_and_mismatch(run_result, tmp_path):
    job, result = run_result
    again = run_job(replace(job, output_dir=str(tmp_path / "again"), model=str(result.model), samples=None, compare=()))
    assert set(again.fused) == set(result.fused) and again.crop_map is None
    with pytest.raises(InputError, match="reads 5 base pairs; the job asks for 7. Set 'n_base' to 5"):
        run_job(replace(job, output_dir=str(tmp_path / "bad"), model=str(result.model), n_base=7))
    with pytest.raises(InputError, match="was trained with strategy STR_B; the job asks for STR_C. Set 'strategy'"):
        run_job(replace(job, output_dir=str(tmp_path / "bad"), model=str(result.model), strategy="STR_C"))
    with pytest.raises(InputError, match="was trained on 32 px patches; the job asks for 64"):
        run_job(replace(job, output_dir=str(tmp_path / "bad"), model=str(result.model), train=replace(TINY, patch=64)))
    with pytest.raises(InputError, match="was trained with preset None; the job asks for paper"):
        run_job(replace(job, output_dir=str(tmp_path / "bad"), model=str(result.model), preset="paper"))


def test_cancel_leaves_no_half_written_output_and_a_rerun_resumes(scene, tmp_path):
    job = scene_job(scene["root"], tmp_path / "c", train=TINY, n_base=5, compare=["starfm"])
    calls = []

    def progress(f, msg):
        calls.append(msg)

    # cancelled while the second target date is predicted: the model and the first date are complete
    with pytest.raises(CancelledError) as err:
        run_job(job, progress, is_cancelled=lambda: any(m.startswith("fuse: predict: 2021-08-31") for m in calls))
    assert "kept, complete: " in str(err.value) and "Run the job again to resume" in str(err.value)
    assert f"{job.name}.tsstfn" in str(err.value)  # training had finished: the model stays
    assert (tmp_path / "c" / "aligned").exists()  # kept for the resume
    leftovers = [p for p in (tmp_path / "c").rglob("*") if p.is_file() and ".part" in p.name]
    assert leftovers == []
    assert [p.name for p in (tmp_path / "c").glob("fused_ndvi_*.tif")] == ["fused_ndvi_20210730.tif"]
    first = read_array(tmp_path / "c" / "fused_ndvi_20210730.tif")
    # a stopped run's half-written file (a power cut) is never taken as complete
    (tmp_path / "c" / ".fused_ndvi_20210831.1234abcd.part.tif").write_bytes(b"half")

    calls.clear()
    result = run_job(job, progress)
    assert f"model {job.name}.tsstfn" in result.reused and "TSSTFN 2021-07-30" in result.reused
    assert not any("TSSTFN 2021-08-31" in r for r in result.reused)
    assert not any(m.startswith("fuse: train") for m in calls)  # not trained again
    reused = tmp_path / "c" / "fused_ndvi_20210730.tif"  # the same pixels, now a COG like every output
    assert np.array_equal(read_array(reused), first, equal_nan=True) and is_cog(reused)
    assert sorted(p.name for p in (tmp_path / "c").glob("fused_ndvi_*.tif")) == [
        "fused_ndvi_20210730.tif", "fused_ndvi_20210831.tif", "fused_ndvi_20210905.tif"
    ]  # fmt: skip
    assert not (tmp_path / "c" / "aligned").exists()  # cleaned on success
    assert "reused from a stopped run" in result.report.read_text()

    # a complete output altered after the run is recomputed, the others reused
    altered = tmp_path / "c" / "starfm_ndvi_20210905.tif"
    data = bytearray(altered.read_bytes())
    data[-100] ^= 0xFF
    altered.write_bytes(bytes(data))
    calls.clear()
    again = run_job(job, progress)
    assert "TSSTFN, every date (3)" in again.reused and "crop map (fused)" in again.reused
    assert not any(r.startswith("STARFM") for r in again.reused)
    assert not any(m.startswith("fuse:") and "epoch" in m for m in calls)


def test_polygons_of_the_run_have_class_names(run_result):
    _, result = run_result
    gpkg = next(p for p in result.vectors if p.suffix == ".gpkg")
    ds = ogr.Open(str(gpkg))
    names = {f.GetField("class_name") for f in ds.GetLayer(0)}
    assert names <= {"soybean", "corn", "other"} and names


def test_experiment_writes_paper_shaped_tables(scene, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.experiment import run_experiment

    job = scene_job(scene["root"], tmp_path / "x", train=TINY, n_base=5)
    result = run_experiment(replace(job, compare=("coarse_cubic", "latest_fine")), ["STR_B", "STR_D"])
    k = result["kappa"]
    assert set(k) == {"early season", "2021-07-30", "2021-08-31", "2021-09-05", "individual forecast", "sequential forecast"}
    assert set(k["sequential forecast"]) == {"STR_B", "STR_D"}
    out = tmp_path / "x" / "experiment"
    table = (out / "table_kappa.md").read_text()
    assert "| early season |" in table and "early + 2021-07-30 + 2021-08-31 (sequential forecast)" in table
    fusion_table = (out / "table_fusion.md").read_text()
    assert "TSSTFN STR_D" in fusion_table and "| MODIS cubic | latest clear fine image |" in fusion_table
    assert (out / "figure_kappa.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_samples_fail_before_any_work(scene, tmp_path):
    """A wrong class field is reported at once, before alignment or training write anything."""
    job = scene_job(scene["root"], tmp_path / "s", train=TINY, n_base=5)
    with pytest.raises(InputError, match="have no field 'kind'; fields are: .*crop"):
        run_job(replace(job, class_field="kind"))
    assert not (tmp_path / "s" / "aligned").exists()
    assert [p for p in (tmp_path / "s").rglob("*") if p.is_file()] == []


def test_modis_mask_of_a_pair_is_applied(scene, tmp_path):
    """A pair's coarse_mask (MOD09GA state_1km) masks the coarse NDVI; before 0.2 it was parsed and ignored."""
    from dataclasses import replace

    from conftest import make_raster
    from tsstfn_crop_mapper.core.files import open_raster
    from tsstfn_crop_mapper.core.pipeline.job import dated
    from tsstfn_crop_mapper.core.pipeline.run import align_pairs, study_grid

    job = scene_job(scene["root"], tmp_path / "o")
    pair = dated(job.targets)[0]
    ds = open_raster(pair.coarse.path)
    state = np.zeros((ds.RasterYSize, ds.RasterXSize), dtype=np.uint16)
    state[:, : ds.RasterXSize // 2] = 0b01  # cloudy in the western half
    mask = make_raster(tmp_path / "state.tif", state, gt=ds.GetGeoTransform(), wkt=ds.GetProjection(), dtype=gdal.GDT_UInt16)
    grid = study_grid(job)
    plain = align_pairs([pair], grid, tmp_path / "plain")[0]
    masked_pair = replace(pair, coarse=replace(pair.coarse, mask_path=mask, mask_kind="modis_state"))
    masked = align_pairs([masked_pair], grid, tmp_path / "masked")[0]
    a, b = read_array(plain.coarse), read_array(masked.coarse)
    assert np.isfinite(a).all()
    assert 0.2 < np.isnan(b).mean() < 0.8  # the cloudy half of the MODIS pixels is gone (sheared by the reprojection)
    assert np.isnan(b[0, 0]) and np.isfinite(b[-1, -1])  # north-west masked, south-east kept


def test_paper_preset_sets_the_papers_options_and_the_job_overrides_it(scene, tmp_path):
    from tsstfn_crop_mapper.core.fusion.config import OutputMode
    from tsstfn_crop_mapper.core.fusion.strategies import MonthDay

    data = {**_job_dict(scene, tmp_path / "o"), "preset": "paper", "train": {"max_epochs": 1}}
    job = job_from_dict(data, scene["root"])
    assert (job.train.width, job.train.patch, job.train.cl_paths, job.train.output) == (64, 192, 9, OutputMode.DIRECT)
    assert job.train.max_epochs == 1 and job.reference_target == MonthDay(8, 31) and job.n_base == 7
    assert (job.forest.n_estimators, job.forest.max_depth, job.forest.min_samples_leaf) == (40, 25, 20)
    saved = json.loads(save_job(job, tmp_path / "j.json").read_text())
    assert saved["preset"] == "paper" and saved["reference_target"] == "--08-31"
    assert load_job(tmp_path / "j.json") == job
    with pytest.raises(InputError, match="'preset': 'fast' is not one of paper, laptop"):
        job_from_dict({**data, "preset": "fast"}, scene["root"])
    with pytest.raises(InputError, match="'reference_target': '31-08' is not a date"):
        job_from_dict({**data, "reference_target": "31-08"}, scene["root"])
    laptop = load_job(tmp_path / "j.json", {"preset": "laptop"})  # an override, as Processing's PRESET does
    assert laptop.preset == "laptop" and laptop.train.width == 64  # the file's own width wins over the preset


def test_the_model_file_records_the_preset(scene, tmp_path):
    from tsstfn_crop_mapper.core.fusion.modelfile import load_model

    data = {**_job_dict(scene, tmp_path / "o"), "preset": "paper", "compare": [], "samples": None, "n_base": 5}
    data["train"] = {"width": 4, "patch": 32, "cl_paths": 1, "max_epochs": 1, "batch_size": 8}
    result = run_job(job_from_dict(data, scene["root"]))
    _, meta = load_model(result.model)
    assert meta["preset"] == "paper" and meta["reference_target"] == "--08-31" and meta["config"]["output"] == "direct"
    assert meta["forecast"] == "individual"


@pytest.mark.slow
def test_paper_preset_runs_at_the_papers_size_on_cpu(tmp_path):
    """The paper's network (width 64, 192 px, 9 CL paths, direct output) trains one epoch and predicts (about 25 s, 4 GB)."""
    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene
    from tsstfn_crop_mapper.core.fusion.modelfile import load_model

    m = generate_scene(tmp_path / "scene", size=192, seed=7, field_size=(20, 40), n_samples=600)
    data = {k: m[k] for k in ("reference", "prediction", "targets", "samples", "modis_product", "sentinel2_product")}
    data.update(output_dir=str(tmp_path / "out"), preset="paper", compare=[], train={"max_epochs": 1}, name="paper")
    result = run_job(job_from_dict(data, tmp_path / "scene"))
    _, meta = load_model(result.model)
    assert meta["preset"] == "paper" and meta["config"]["width"] == 64 and meta["training"]["epochs"] == 1
    assert 0 <= result.accuracy["fused"]["kappa"] <= 1


def _few_samples(scene, path, keep):
    """The scene's samples with at most ``keep[class]`` points of each class (a GeoPackage at ``path``)."""
    src = ogr.Open(str(Path(scene["root"]) / scene["samples"]))
    lyr = src.GetLayer(0)
    out = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    dst = out.CreateLayer("s", lyr.GetSpatialRef(), ogr.wkbPoint)
    dst.CreateField(ogr.FieldDefn("crop", ogr.OFTString))
    taken: dict = {}
    for f in lyr:
        crop = f.GetField("crop")
        if taken.get(crop, 0) < keep.get(crop, 0):
            taken[crop] = taken.get(crop, 0) + 1
            g = ogr.Feature(dst.GetLayerDefn())
            g.SetField("crop", crop)
            g.SetGeometry(f.GetGeometryRef().Centroid())
            dst.CreateFeature(g)
    dst = out = None  # the layer before its data source
    return str(path)


def test_a_job_with_too_few_samples_maps_without_measuring_accuracy(run_result, scene, tmp_path):
    """The fusion job path: crop maps and pixel-count areas, no kappa or error-adjusted areas, the report says why."""
    from tsstfn_crop_mapper.core.pipeline.run import preflight

    job, result = run_result
    few = _few_samples(scene, tmp_path / "few.gpkg", {"corn": 12, "soybean": 3, "other": 4})
    small = replace(job, output_dir=str(tmp_path / "few"), model=str(result.model), samples=few, compare=(), kfold=0,
                    fields=None, field_id=None, group_field=None, uncertainty=False)  # fmt: skip
    with pytest.raises(InputError, match="class 'other' has 4 sample\\(s\\); at least 10"):
        preflight(replace(small, accuracy="required"))
    done = run_job(small)
    reason = "accuracy not measured: class 'other' has 4 samples and 'soybean' 3; a held-out accuracy needs at least 10"
    assert done.crop_map is not None and done.crop_map.exists() and "fused" not in done.areas
    assert all(a["kappa"] is None and a["not_measured"].startswith(reason) for a in done.accuracy.values())
    assert (done.output_dir / "crop_map_fused_areas.csv").exists()
    report = done.report.read_text()
    assert "Accuracy not measured: class 'other' has 4 samples" in report and "Area of each class" not in report
    assert not (done.output_dir / "report" / "areas_fused.csv").exists()


def test_a_job_that_blends_with_starfm_writes_blended_fused_ndvi_with_the_jobs_starfm(scene, tmp_path, caplog):
    """The whole run: the weight learnt with the job's method_params.starfm, the fused NDVI and its spread blended."""
    import logging

    from tsstfn_crop_mapper.core.fusion.modelfile import load_model

    train = replace(TINY, output="modis_residual", starfm_blend=True)  # one epoch near MODIS: STARFM gets a share
    job = scene_job(
        scene["root"], tmp_path / "out", train=train, n_base=5, uncertainty=True, mc_passes=4, compare=["starfm"],
        method_params={"starfm": {"window_m": 60}}, save_model=True, samples=None,
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="tsstfn"):
        result = run_job(job)
    learnt = load_model(result.model)[1]["starfm_blend"]
    assert learnt["window_m"] == 60 and 0.0 <= learnt["weight"] < 1.0 and "two_sided" not in learnt  # two seasons
    assert learnt["rmse_blend"] <= min(learnt["rmse_network"], learnt["rmse_starfm"])
    assert "blend with STARFM: the network's weight" in caplog.text
    for d, path in result.fused.items():
        ds = gdal.Open(str(path))
        text = ds.GetRasterBand(1).GetDescription()
        assert f"network weight {learnt['weight']:.2f}" in text, text
        spread = gdal.Open(str(result.uncertainty[d]))
        assert "mixture" in spread.GetRasterBand(1).GetDescription()
        assert np.isfinite(read_array(result.uncertainty[d])).any()
    assert not [p for p in Path(job.output_dir).rglob(".*part*")]  # no temporary file left


def test_a_job_file_with_the_laptop_preset_trains_as_the_demo(scene, tmp_path):
    """``"preset": "laptop"`` in a user's job file gives the demo's training (DEMO_TRAIN), through the job parser."""
    from tsstfn_crop_mapper.core.demo.job import DEMO_TRAIN

    job = job_from_dict({**_job_dict(scene, tmp_path / "o"), "preset": "laptop"}, scene["root"])
    assert job.train == DEMO_TRAIN and job.train.starfm_blend and job.train.extra_labels
