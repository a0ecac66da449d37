"""The provider's algorithms run as users run them: processing.run(...) and qgis_process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

import tsstfn_crop_mapper
from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.pipeline.job import save_job

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=2, patience=2, cl_paths=1)


@pytest.fixture(scope="module")
def processing(qgis_app):
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing
    from qgis.analysis import QgsNativeAlgorithms
    from qgis.core import QgsApplication

    from tsstfn_crop_mapper.processing_provider.provider import TsstfnProvider

    Processing.initialize()
    if QgsApplication.processingRegistry().providerById("native") is None:
        QgsApplication.processingRegistry().addProvider(QgsNativeAlgorithms())
    provider = TsstfnProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    import processing as qgis_processing

    yield qgis_processing
    QgsApplication.processingRegistry().removeProvider(provider)


def test_provider_lists_every_algorithm(processing):
    from qgis.core import QgsApplication

    ids = {a.id() for a in QgsApplication.processingRegistry().providerById("tsstfn").algorithms()}
    assert ids == {
        f"tsstfn:{n}"
        for n in ("align", "train", "predict", "starfm", "classify", "exportpolygons", "runjob", "region", "benchmark")
    }
    provider = QgsApplication.processingRegistry().providerById("tsstfn")
    groups = set()
    for alg in provider.algorithms():
        assert alg.shortHelpString() and alg.displayName() and alg.helpUrl().startswith("https://")
        undocumented = [p.name() for p in alg.parameterDefinitions() if not p.help()]
        assert undocumented == [], f"{alg.id()}: parameters without help: {undocumented}"
        assert all(p.description() in alg.shortHelpString() for p in alg.parameterDefinitions())
        groups.add(alg.group())
    assert provider.name() not in groups and groups == {
        "Whole workflow",
        "NDVI fusion",
        "Input preparation",
        "Crop mapping",
    }
    split = provider.algorithm("classify").parameterDefinition("SPLIT")
    assert split.options()[0].startswith("random 7:3 by pixel") and "spatial blocks" in split.options()[2]


def test_align_starfm_classify_export(processing, scene, tmp_path):
    from qgis.core import QgsProcessingException

    root = Path(scene["root"])
    s2 = str(root / scene["prediction"][-1]["sentinel2"])
    res = processing.run(
        "tsstfn:align",
        {
            "INPUT": str(root / scene["prediction"][-1]["modis"]),
            "PRODUCT": 1,
            "REFERENCE": s2,
            "OUTPUT": str(tmp_path / "m0.tif"),
        },
    )
    assert gdal.Open(res["OUTPUT"]).RasterXSize == 96
    processing.run("tsstfn:align", {"INPUT": s2, "PRODUCT": 2, "REFERENCE": s2, "OUTPUT": str(tmp_path / "s0.tif")})
    processing.run(
        "tsstfn:align",
        {"INPUT": str(root / scene["targets"][0]["modis"]), "PRODUCT": 1, "REFERENCE": s2, "OUTPUT": str(tmp_path / "m1.tif")},
    )
    res = processing.run(
        "tsstfn:starfm",
        {
            "FINE_BASE": str(tmp_path / "s0.tif"),
            "COARSE_BASE": str(tmp_path / "m0.tif"),
            "COARSE_TARGET": str(tmp_path / "m1.tif"),
            "WINDOW_M": 50.0,
            "OUTPUT": str(tmp_path / "sf.tif"),
        },
    )
    assert np.isfinite(gdal.Open(res["OUTPUT"]).ReadAsArray()).mean() > 0.99  # NaN only where outside (-1, 1)
    res_sf = res["OUTPUT"]
    ndvi = []
    for i, e in enumerate(scene["prediction"][-4:]):
        out = str(tmp_path / f"n{i}.tif")
        processing.run("tsstfn:align", {"INPUT": str(root / e["sentinel2"]), "PRODUCT": 2, "REFERENCE": s2, "OUTPUT": out})
        ndvi.append(out)

    def classify(inputs, name, **more):
        params = {"INPUTS": inputs, "SAMPLES": str(root / scene["samples"]), "CLASS_FIELD": "crop", "SPLIT": 1}
        params.update(GROUP_FIELD="field_id", OUTPUT=str(tmp_path / f"{name}.tif"), REPORT=str(tmp_path / name), **more)
        return processing.run("tsstfn:classify", params)

    res = classify(ndvi + [res["OUTPUT"]], "report")
    assert 0 < res["KAPPA"] <= 1 and (tmp_path / "report" / "accuracy.md").exists()
    assert res["BLOCK_KAPPA"] is None and Path(res["AREAS"]).name == "areas.csv"  # a split by field needs no check
    assert gdal.Open(str(tmp_path / "report.tif")).GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    kappa = res["KAPPA"]
    more = classify(ndvi + [res_sf], "report_more", SPLIT=0, BLOCK_M=300.0, KFOLD=2, CONFIDENCE=str(tmp_path / "conf.tif"),
                    FIELDS=str(root / scene["fields"]), FIELD_ID="field_id")  # fmt: skip
    assert Path(more["CONFIDENCE"]).exists() and Path(more["FIELD_MAP"]).exists() and more["BLOCK_KAPPA"] is not None
    assert (tmp_path / "report_more_fields.gpkg").exists()
    # the same dates as one stack (one band per date, plus a band that is not used): a series of dates by band range
    gdal.Translate(str(tmp_path / "stack.tif"), gdal.BuildVRT("", [ndvi[0], *ndvi, res_sf], separate=True)).FlushCache()
    again = classify([str(tmp_path / "stack.tif")], "report_stack", BANDS="2-6")
    assert again["KAPPA"] == pytest.approx(kappa)  # the same five dates give the same forest and the same kappa
    with pytest.raises(QgsProcessingException, match="has 6 band\\(s\\); band 7 does not exist"):
        classify([str(tmp_path / "stack.tif")], "report_bad", BANDS="2-7")
    res = processing.run(
        "tsstfn:exportpolygons", {"INPUT": str(tmp_path / "report.tif"), "MMU_HA": 0.1, "OUTPUT": str(tmp_path / "crops.gpkg")}
    )
    ds = ogr.Open(res["OUTPUT"])
    assert ds.GetLayer(0).GetFeatureCount() > 0


def test_bad_input_is_a_processing_error_not_a_traceback(processing, tmp_path):
    from qgis.core import QgsProcessingException

    (tmp_path / "job.json").write_text(json.dumps({"reference": [], "prediction": [], "targets": []}))
    with pytest.raises(QgsProcessingException, match="Job field 'output_dir' is missing"):
        processing.run("tsstfn:runjob", {"JOB": str(tmp_path / "job.json")})


def test_wrong_layers_are_refused_before_any_work(processing, scene, tmp_path):
    """checkParameterValues runs core's checks: one sentence naming the layer, no output written."""
    from qgis.core import QgsProcessingException

    root = Path(scene["root"])
    s2 = str(root / scene["prediction"][-1]["sentinel2"])  # red/NIR reflectance, on the fine grid
    modis = str(root / scene["prediction"][-1]["modis"])  # 250 m, not on the fine grid
    processing.run("tsstfn:align", {"INPUT": s2, "PRODUCT": 2, "REFERENCE": s2, "OUTPUT": str(tmp_path / "s0.tif")})
    processing.run("tsstfn:align", {"INPUT": modis, "PRODUCT": 1, "REFERENCE": s2, "OUTPUT": str(tmp_path / "m0.tif")})

    def starfm(fine, coarse):
        params = {"FINE_BASE": fine, "COARSE_BASE": coarse, "COARSE_TARGET": str(tmp_path / "m0.tif")}
        return processing.run("tsstfn:starfm", {**params, "OUTPUT": str(tmp_path / "sf.tif")})

    with pytest.raises(QgsProcessingException, match=r"holds values from .* not NDVI in \[-1, 1\]: is it a red/NIR"):
        starfm(s2, str(tmp_path / "m0.tif"))  # reflectance given as NDVI
    with pytest.raises(QgsProcessingException, match=r"is not on the grid of 's0.tif'.*Align it onto that grid first"):
        starfm(str(tmp_path / "s0.tif"), modis)  # the coarse image not aligned
    assert not (tmp_path / "sf.tif").exists()
    with pytest.raises(QgsProcessingException, match="is a floating-point raster; polygons are made from a class raster"):
        processing.run("tsstfn:exportpolygons", {"INPUT": str(tmp_path / "s0.tif"), "OUTPUT": str(tmp_path / "p.gpkg")})
    with pytest.raises(QgsProcessingException, match=r"is not on the grid of 's0.tif'"):
        processing.run(
            "tsstfn:classify",
            {"INPUTS": [str(tmp_path / "s0.tif"), modis], "SAMPLES": str(root / scene["samples"]), "CLASS_FIELD": "crop",
             "OUTPUT": str(tmp_path / "c.tif"), "REPORT": str(tmp_path / "rep")},
        )  # fmt: skip
    assert not (tmp_path / "c.tif").exists() and not (tmp_path / "rep").exists()
    job = save_job(scene_job(scene["root"], tmp_path / "out", train=TINY, n_base=5, compare=[]), tmp_path / "job.json")
    (tmp_path / "bad.tsstfn").write_bytes(b"PK\x03\x04 not really a model")
    with pytest.raises(QgsProcessingException, match="'bad.tsstfn'"):
        processing.run(
            "tsstfn:predict", {"JOB": str(job), "MODEL": str(tmp_path / "bad.tsstfn"), "OUTPUT_FOLDER": str(tmp_path / "pred")}
        )
    assert not (tmp_path / "pred").exists()  # refused in checkParameterValues, before the folder was made


def test_train_predict_and_runjob(processing, scene, tmp_path):
    job = scene_job(scene["root"], tmp_path / "out", train=TINY, n_base=5, compare=[], forecast="sequential")
    path = save_job(job, tmp_path / "job.json")
    res = processing.run("tsstfn:train", {"JOB": str(path), "OUTPUT": str(tmp_path / "m.tsstfn")})
    assert Path(res["OUTPUT"]).exists()
    res = processing.run(
        "tsstfn:predict", {"JOB": str(path), "MODEL": res["OUTPUT"], "FORECAST": 1, "OUTPUT_FOLDER": str(tmp_path / "pred")}
    )
    assert len(res["FUSED"]) == 3
    from tsstfn_crop_mapper.processing_provider.job_algorithms import COMPARABLE

    res = processing.run("tsstfn:runjob", {"JOB": str(path), "COMPARE": [COMPARABLE.index("latest_fine")]})
    assert res["KAPPA_FUSED"] is not None and Path(res["CROP_MAP"]).exists()
    report = (Path(res["OUTPUT_DIR"]) / "report" / "run_report.md").read_text()
    assert "| latest clear fine image |" in report and "| STARFM |" not in report  # the registry's methods, as chosen


def test_runjob_offers_a_registered_method_and_its_numbers(processing, scene, tmp_path):
    """A new method's entry is all Processing needs: runjob lists it and a number per dialog_params entry."""
    from dataclasses import dataclass

    from qgis.core import QgsProcessingContext

    from tsstfn_crop_mapper.core.fusion.base import FusionMethod, NumberParam
    from tsstfn_crop_mapper.core.fusion.methods import METHODS
    from tsstfn_crop_mapper.processing_provider.job_algorithms import RunJobAlgorithm

    @dataclass(frozen=True)
    class ToyParams:
        """The toy's parameters."""

        gain: float = 1.0

    toy = FusionMethod(
        "toy", "Toy fusion", "a toy method", ToyParams, METHODS["coarse_cubic"].fuse, "toy_ndvi",
        dialog_params=(NumberParam("gain", "Toy gain", 0.0, 2.0, "", "How much of the offset is added."),),
    )  # fmt: skip
    with METHODS.registered(toy):
        alg = RunJobAlgorithm()
        alg.initAlgorithm()
        compare = alg.parameterDefinition("COMPARE")
        assert "Toy fusion" in compare.options() and "Toy fusion: a toy method" in alg.shortHelpString()
        gain = alg.parameterDefinition("TOY_GAIN")
        assert gain is not None and (gain.minimum(), gain.maximum()) == (0.0, 2.0) and gain.help()
        path = save_job(scene_job(scene["root"], tmp_path / "out", compare=[]), tmp_path / "job.json")
        parameters = {"JOB": str(path), "COMPARE": [alg.comparable.index("toy")], "TOY_GAIN": 0.25}
        job = alg._chosen_job(parameters, QgsProcessingContext())
        assert job.compare == ("toy",) and job.params_of("toy") == ToyParams(0.25)
        assert alg._chosen_job({"JOB": str(path)}, QgsProcessingContext()).compare == ()
    assert "toy" not in METHODS


def test_benchmark_algorithm(processing, tmp_path):
    from conftest import make_paired_set

    dataset = Path(make_paired_set(tmp_path / "data"))
    data = json.loads(dataset.read_text())
    data["methods"] = ["coarse_cubic", "latest_fine"]
    dataset.write_text(json.dumps(data))
    res = processing.run("tsstfn:benchmark", {"DATASET": str(dataset), "OUTPUT_FOLDER": str(tmp_path / "out")})
    lines = Path(res["CSV"]).read_text().splitlines()
    assert lines[0] == "date,method,rmse,mae,bias,r2,ssim,n" and len(lines) == 5
    assert Path(res["REPORT"]).read_text().startswith("# Benchmark")


@pytest.mark.skipif(shutil.which("qgis_process.bin") is None, reason="qgis_process.bin not installed")
def test_qgis_process_runs_the_algorithms(scene, tmp_path):
    """qgis_process with the plugin in a throwaway profile; torch and co. from this environment."""
    plugins = Path(tsstfn_crop_mapper.__file__).resolve().parent.parent
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "QGIS_PLUGINPATH": str(Path(sys.prefix) / "qgis-plugins")
        if (Path(sys.prefix) / "qgis-plugins").exists()
        else str(plugins),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }

    def qp(*args):
        return subprocess.run(["qgis_process.bin", *args], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)

    assert qp("plugins", "enable", "tsstfn_crop_mapper").returncode == 0
    (tmp_path / "bad.json").write_text(json.dumps({"output_dir": str(tmp_path / "o"), "reference": [], "targets": []}))
    r = qp("run", "tsstfn:runjob", "--", f"JOB={tmp_path / 'bad.json'}")
    assert r.returncode != 0 and "Job field 'prediction' is missing" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr and not (tmp_path / "o").exists()
    root = Path(scene["root"])
    s2 = str(root / scene["prediction"][-1]["sentinel2"])
    r = qp(
        "run",
        "tsstfn:align",
        "--",
        f"INPUT={root / scene['prediction'][-1]['modis']}",
        "PRODUCT=1",
        f"REFERENCE={s2}",
        f"OUTPUT={tmp_path / 'm.tif'}",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert gdal.Open(str(tmp_path / "m.tif")).RasterXSize == 96
    # user errors: exit status non-zero, the core's sentence, no traceback, the inputs unchanged
    before = {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in (s2, str(tmp_path / "m.tif"))}
    bad = [
        (["tsstfn:starfm", f"FINE_BASE={s2}", f"COARSE_BASE={tmp_path / 'm.tif'}", f"COARSE_TARGET={tmp_path / 'm.tif'}",
          f"OUTPUT={tmp_path / 'sf.tif'}"], "not NDVI in [-1, 1]: is it a red/NIR product"),
        (["tsstfn:exportpolygons", f"INPUT={tmp_path / 'm.tif'}", f"OUTPUT={tmp_path / 'p.gpkg'}"],
         "'m.tif' is a floating-point raster; polygons are made from a class raster"),
    ]  # fmt: skip
    for (alg, *params), message in bad:
        r = qp("run", alg, "--", *params)
        assert r.returncode != 0 and message in r.stdout + r.stderr, r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr
    assert before == {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in before}
    assert not (tmp_path / "sf.tif").exists() and not (tmp_path / "p.gpkg").exists()
    job = scene_job(scene["root"], tmp_path / "out", train=TINY, n_base=5, compare=[])
    path = save_job(job, tmp_path / "job.json")
    r = qp("run", "tsstfn:runjob", "--", f"JOB={path}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KAPPA_FUSED" in r.stdout and (tmp_path / "out" / "crop_map_fused.tif").exists()
    r = qp(
        "run", "tsstfn:exportpolygons", "--", f"INPUT={tmp_path / 'out' / 'crop_map_fused.tif'}", f"OUTPUT={tmp_path / 'c.shp'}"
    )
    assert r.returncode == 0 and (tmp_path / "c.shp").exists()


def test_region_algorithm_runs_tiles_and_reports_the_failed_one(processing, scene, tmp_path):
    import json

    from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

    from tsstfn_crop_mapper.core.pipeline.job import job_to_dict

    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    from dataclasses import replace

    tiny = replace(TINY, max_epochs=1)
    tiles = []
    for name, aoi in (("whole", None), ("offside", [700000.0, 5000000.0, 701000.0, 5001000.0])):
        job = scene_job(scene["root"], tmp_path / "x", train=tiny, n_base=5, compare=[], uncertainty=False, formats=["gtiff"])
        data = {k: v for k, v in job_to_dict(job).items() if k != "output_dir"}
        tiles.append({"name": name, "job": {**data, "aoi": aoi} if aoi else data})
    path = tmp_path / "region.json"
    path.write_text(json.dumps({"output_dir": str(tmp_path / "region"), "tiles": tiles}))

    res = processing.run("tsstfn:region", {"REGION": str(path), "WORKERS": 1})
    assert res["FAILED"] == 1 and Path(res["CROP_MAP"]).exists()
    assert "| offside | failed |" in Path(res["REPORT"]).read_text()

    feedback = QgsProcessingFeedback()
    feedback.cancel()  # cancelled at once: the tiles are stopped, the error says how to go on
    with pytest.raises(QgsProcessingException, match="Region cancelled"):
        processing.run("tsstfn:region", {"REGION": str(path), "WORKERS": 1}, feedback=feedback, context=QgsProcessingContext())


class _Feedback:
    """A QgsProcessingFeedback that keeps what the algorithm pushed (made lazily: QGIS must be up first)."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Kept(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines = []

            def pushInfo(self, info):  # noqa: N802 (Qt's name)
                self.lines.append(info)

            def pushWarning(self, warning):  # noqa: N802
                self.lines.append(warning)

        return Kept()


def test_classify_with_too_few_samples_maps_and_logs_why_no_accuracy(processing, tmp_path):
    """Processing's Classify crops: 3 samples of a class give a map and pixel-count areas, no kappa; the log's last
    line says why; 'required' refuses; typed dates are checked naming the row."""
    from qgis.core import QgsProcessingException

    from conftest import make_points, make_raster

    level = np.where(np.arange(24)[None, :] < 12, 0.2, 0.7).repeat(12, 0).astype(np.float32)
    inputs = [make_raster(tmp_path / f"d{k}.tif", level + 0.02 * k) for k in range(3)]
    pts = [(640015.0 + 10 * k, 5149985.0, "low") for k in range(10)] + [(640135.0 + 10 * k, 5149985.0, "high") for k in range(3)]
    params = {"INPUTS": inputs, "SAMPLES": make_points(tmp_path / "pts.gpkg", pts), "CLASS_FIELD": "crop",
              "OUTPUT": str(tmp_path / "map.tif"), "REPORT": str(tmp_path / "report")}  # fmt: skip
    feedback = _Feedback()
    res = processing.run("tsstfn:classify", params, feedback=feedback)
    assert res["KAPPA"] is None and res["OVERALL_ACCURACY"] is None and Path(res["AREAS"]).name == "map_areas.csv"
    assert Path(res["OUTPUT"]).exists() and not (tmp_path / "report" / "areas.csv").exists()
    said = [line for line in feedback.lines if "accuracy not measured" in line]
    assert said == ["accuracy not measured: class 'high' has 3 samples; a held-out accuracy needs at least 10 per class "
                    "(add samples)"], feedback.lines  # fmt: skip
    ours = [line for line in feedback.lines if not line.startswith("Results:")]  # Processing's own last line
    assert ours[-1] == said[0] and not [line for line in ours if "kappa" in line], ours
    with pytest.raises(QgsProcessingException, match="class 'high' has 3 sample\\(s\\); at least 10"):
        processing.run("tsstfn:classify", {**params, "ACCURACY": 1, "OUTPUT": str(tmp_path / "m2.tif")})
    with pytest.raises(QgsProcessingException, match="row 3 \\('d2.tif', 2021-04-01\\) is not after row 1"):
        processing.run("tsstfn:classify", {**params, "DATES": "2021-05-01,,2021-04-01", "OUTPUT": str(tmp_path / "m3.tif")})
