"""Regions on Dask distributed: a LocalCluster of two workers, three tiles of a small scene, one made to fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from tsstfn_crop_mapper.core.demo.job import scene_job
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.fusion.config import TrainConfig
from tsstfn_crop_mapper.core.pipeline.job import job_to_dict

pytest.importorskip("distributed", reason="dask[distributed] is not installed (scripts/setup.sh installs it)")

TINY = TrainConfig(width=4, patch=32, batch_size=8, max_epochs=1, patience=1, cl_paths=1)
X0, Y0 = 640000.0, 5150000.0  # the synthetic scene's corner; 96 px of 10 m


def _tile(scene, aoi):
    job = scene_job(
        scene["root"], "unused", train=TINY, n_base=5, compare=[], uncertainty=False, formats=["gtiff"], cog=False, aoi=aoi
    )
    data = job_to_dict(job)
    del data["output_dir"]
    return data


def _region_file(scene, path: Path, bad_aoi) -> Path:
    data = {
        "name": "county",
        "output_dir": str(path.parent / "region"),
        "model": "per_tile",
        "tiles": [
            {"name": "west", "job": _tile(scene, [X0, Y0 - 960, X0 + 480, Y0])},
            {"name": "east", "job": _tile(scene, [X0 + 480, Y0 - 960, X0 + 960, Y0])},
            {"name": "broken", "job": _tile(scene, bad_aoi)},
        ],
    }
    path.write_text(json.dumps(data))
    return path


def test_region_runs_tiles_on_dask_isolates_a_failure_and_redoes_only_it(scene, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.region import load_region, run_region

    far = [X0 + 50000, Y0 - 50000, X0 + 51000, Y0 - 49000]  # off the scene: this tile fails at its start
    region_path = _region_file(scene, tmp_path / "region.json", far)
    result = run_region(load_region(region_path), workers=2)

    status = {t.name: t.status for t in result.tiles}
    assert status == {"west": "complete", "east": "complete", "broken": "failed"}, {t.name: t.error for t in result.tiles}
    broken = next(t for t in result.tiles if t.name == "broken")
    assert "AOI" in broken.error or "overlap" in broken.error
    assert all(t.worker.startswith("tcp://") for t in result.tiles)  # ran in the cluster's worker processes

    # the mosaic covers both tiles, pixel for pixel
    vrt = result.mosaics["crop_map"]
    ds = gdal.Open(str(vrt))
    assert (ds.RasterXSize, ds.RasterYSize) == (96, 96)
    mosaic = ds.GetRasterBand(1).ReadAsArray()
    west = gdal.Open(next(t.crop_map for t in result.tiles if t.name == "west")).ReadAsArray()
    east = gdal.Open(next(t.crop_map for t in result.tiles if t.name == "east")).ReadAsArray()
    assert np.array_equal(mosaic[:, :48], west) and np.array_equal(mosaic[:, 48:], east)
    assert "fused_ndvi_20210730" in result.mosaics
    assert 'relativeToVRT="1"' in vrt.read_text()  # the region folder can be moved

    report = result.report.read_text()
    assert "| west | complete |" in report and "| broken | failed |" in report and "**region**" in report
    assert "run the region again" in report.lower()
    data = json.loads((result.output_dir / "report" / "region_report.json").read_text())
    region_total = sum(data["areas_ha"]["region"].values())
    assert region_total == pytest.approx(96 * 96 * 0.01, rel=0.02)  # both tiles' maps, in hectares

    # fixed and run again from the command line: the complete tiles are reused, only the failed one runs
    west_map = Path(next(t.crop_map for t in result.tiles if t.name == "west")).read_bytes()
    _region_file(scene, region_path, [X0, Y0 - 960, X0 + 960, Y0 - 480])
    proc = subprocess.run(
        [sys.executable, "-m", "tsstfn_crop_mapper", "region", str(region_path), "--workers", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "west: reused" in proc.stdout and "east: reused" in proc.stdout and "broken: complete" in proc.stdout
    assert Path(next(t.crop_map for t in result.tiles if t.name == "west")).read_bytes() == west_map


def test_region_file_errors_name_the_tile(scene, tmp_path):
    from tsstfn_crop_mapper.core.pipeline.region import region_from_dict

    good = _tile(scene, None)
    with pytest.raises(InputError, match="'train_tile': 'nowhere' is not one of the tiles"):
        region_from_dict({"output_dir": "o", "model": "shared", "train_tile": "nowhere", "tiles": [{"name": "a", "job": good}]})
    with pytest.raises(InputError, match="Region tile 'b': .*strategy"):
        region_from_dict({"output_dir": "o", "tiles": [{"name": "b", "job": {**good, "strategy": "STR_Z"}}]})
    with pytest.raises(InputError, match="distinct names"):
        region_from_dict({"output_dir": "o", "tiles": [{"name": "a", "job": good}, {"name": "a", "job": good}]})
    with pytest.raises(InputError, match="'model': 'global' is not one of per_tile, shared"):
        region_from_dict({"output_dir": "o", "model": "global", "tiles": [{"name": "a", "job": good}]})


def test_gpu_tasks_ask_for_the_gpu_resource_where_the_cluster_has_one(scene, tmp_path):
    from distributed import Client, LocalCluster

    from tsstfn_crop_mapper.core.pipeline.region import _uses_gpu, region_from_dict

    auto = region_from_dict({"output_dir": str(tmp_path), "tiles": [{"name": "a", "job": _tile(scene, None)}]})
    assert auto.tiles[0].job.train.device == "auto"
    forced = region_from_dict({"output_dir": str(tmp_path), "gpu": "false", "tiles": [{"name": "a", "job": _tile(scene, None)}]})
    for resources, expected in (({"GPU": 1}, True), (None, False)):
        with LocalCluster(n_workers=1, processes=False, resources=resources, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                assert _uses_gpu(auto, client) is expected
                assert _uses_gpu(forced, client) is False


def test_a_shared_model_is_trained_once_and_its_failure_fails_the_tiles_that_wait_for_it(scene, tmp_path):
    from distributed import Client, LocalCluster

    from tsstfn_crop_mapper.core.pipeline.region import region_from_dict, run_region

    west, east = [X0, Y0 - 960, X0 + 480, Y0], [X0 + 480, Y0 - 960, X0 + 960, Y0]
    far = [X0 + 50000, Y0 - 50000, X0 + 51000, Y0 - 49000]
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        broken = region_from_dict({
            "output_dir": str(tmp_path / "broken"), "model": "shared", "train_tile": "trainer",
            "tiles": [{"name": "west", "job": _tile(scene, west)}, {"name": "trainer", "job": _tile(scene, far)}],
        })  # fmt: skip
        result = run_region(broken, client=client)
        assert [t.status for t in result.tiles] == ["failed", "failed"]
        assert "the tile 'trainer' that trains the shared model failed" in result.tiles[0].error

        shared = region_from_dict({
            "output_dir": str(tmp_path / "shared"), "model": "shared", "train_tile": "east",
            "tiles": [{"name": "west", "job": _tile(scene, west)}, {"name": "east", "job": _tile(scene, east)}],
        })  # fmt: skip
        result = run_region(shared, client=client)
    assert [t.status for t in result.tiles] == ["complete", "complete"]
    model = Path(result.tiles[1].model)
    assert model.parent.name == "east" and model.exists()
    assert result.tiles[0].model == str(model)  # west predicted with east's model
    assert not list((tmp_path / "shared" / "tiles" / "west").glob("*.tsstfn"))
    assert "one shared model, trained on east" in result.report.read_text()
