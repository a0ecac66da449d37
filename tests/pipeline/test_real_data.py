"""The benchmark on the real Landsat/MODIS sets of ../shared/data/real, through the dataset files in bench/datasets.

Skipped, with the reason, where ../shared is absent (the data never enters the repository).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import tsstfn_crop_mapper
from tsstfn_crop_mapper.core.pipeline.benchmark import load_benchmark, run_benchmark

ROOT = Path(tsstfn_crop_mapper.__file__).resolve().parent
DATASETS = ROOT / "bench" / "datasets"
REAL = ROOT.parent / "shared" / "data" / "real"


def _need(folder: str) -> None:
    if not (REAL / folder).is_dir():
        pytest.skip(f"../shared/data/real/{folder} is absent: the real-data benchmark needs the shared data beside the checkout")


def _rows(out: Path) -> dict[tuple[str, str], dict]:
    with open(out / "benchmark.csv") as fh:
        return {(r["date"], r["method"]): r for r in csv.DictReader(fh)}


def test_kranj_benchmark_runs_on_the_real_data(tmp_path):
    _need("kranj_2020_landsat_modis")
    result = run_benchmark(load_benchmark(DATASETS / "kranj_2020.json"), tmp_path)
    rows = _rows(tmp_path)
    assert set(rows) == {
        (d, m) for d in ("2020-03-17", "2020-04-02") for m in ("tsstfn", "starfm", "coarse_cubic", "latest_fine")
    } | {("2020-03-17", "starfm2")}
    # what docs/benchmarks.md reports (deterministic on CPU): the latest Landsat wins, every method beats MODIS
    for date in ("2020-03-17", "2020-04-02"):
        rmse = {m: float(r["rmse"]) for (d, m), r in rows.items() if d == date}
        assert min(rmse, key=rmse.get) == "latest_fine" and max(rmse, key=rmse.get) == "coarse_cubic"
    assert float(rows[("2020-03-17", "starfm")]["rmse"]) == pytest.approx(0.0865, abs=2e-4)
    assert len(result.figures) == 2


@pytest.mark.slow
def test_estarfm_benchmark_runs_on_the_real_data(tmp_path):
    _need("estarfm_2001_landsat_modis")
    run_benchmark(load_benchmark(DATASETS / "estarfm_2001.json"), tmp_path)
    rows = _rows(tmp_path)
    assert float(rows[("2001-07-11", "starfm2")]["rmse"]) == pytest.approx(0.0507, abs=2e-4)
    assert float(rows[("2001-07-11", "tsstfn")]["rmse"]) < float(rows[("2001-07-11", "starfm")]["rmse"])
