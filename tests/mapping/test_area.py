"""Area estimates: the worked example of Olofsson et al. (2014, section 5, Tables 8-9) to its published precision."""

import csv

import numpy as np
import pytest

from conftest import make_raster
from tsstfn_crop_mapper.core.mapping.area import (
    class_pixel_counts,
    estimate_from_samples,
    stratified_estimate,
    write_area_reports,
    write_pixel_areas,
)

# Table 8: sample counts, rows the map class, columns the reference; mapped areas in 30 m pixels
COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
MAPPED = [200_000, 150_000, 3_200_000, 6_450_000]
NAMES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]


@pytest.fixture
def example():
    return stratified_estimate(COUNTS, MAPPED, 0.09, [1, 2, 3, 4], NAMES, "stratified random")


def test_the_papers_areas_and_intervals_in_hectares(example):
    published = [(21_158, 6_158), (11_686, 3_756), (285_770, 15_510), (581_386, 16_282)]  # section 5.3
    for c, (area, ci) in zip(example.classes, published):
        assert round(c.area_ha) == area and round(c.area_ci_ha) == ci, c.name
    assert [round(c.mapped_ha) for c in example.classes] == [18_000, 13_500, 288_000, 580_500]


def test_the_papers_accuracies_and_intervals(example):
    users = [(0.88, 0.07), (0.73, 0.10), (0.93, 0.04), (0.96, 0.02)]
    producers = [(0.75, 0.21), (0.85, None), (0.93, 0.03), (0.96, None)]
    for c, (ua, ua_ci), (pa, pa_ci) in zip(example.classes, users, producers):
        assert round(c.users, 2) == ua and round(c.users_ci, 2) == ua_ci, c.name
        assert round(c.producers, 2) == pa, c.name
        if pa_ci is not None:
            assert round(c.producers_ci, 2) == pa_ci, c.name
    # the paper prints ± 0.23 and ± 0.01 for these two; eq. 7 gives 0.25 and 0.02 (other implementations agree)
    assert round(example.classes[1].producers_ci, 2) == 0.25 and round(example.classes[3].producers_ci, 2) == 0.02
    assert round(example.overall, 2) == 0.95 and round(example.overall_ci, 2) == 0.02


def test_the_papers_table_9_proportions(example):
    table9 = [
        [0.0176, 0.0000, 0.0013, 0.0011],
        [0.0000, 0.0110, 0.0016, 0.0024],
        [0.0019, 0.0000, 0.2967, 0.0213],
        [0.0040, 0.0020, 0.0179, 0.6212],
    ]
    assert np.round(example.proportions, 4).tolist() == table9


def test_from_samples_equals_from_counts_and_reports(tmp_path, example):
    mapped, reference = np.nonzero(COUNTS)
    reps = COUNTS[mapped, reference]
    est = estimate_from_samples(
        np.repeat(reference + 1, reps), np.repeat(mapped + 1, reps), dict(zip([1, 2, 3, 4], MAPPED)),
        dict(zip([1, 2, 3, 4], NAMES)), 0.09, "stratified random",
    )  # fmt: skip
    assert [round(c.area_ha, 6) for c in est.classes] == [round(c.area_ha, 6) for c in example.classes]
    paths = write_area_reports(est, tmp_path, "areas_fused")
    rows = list(csv.DictReader(paths["csv"].read_text().splitlines()))
    assert rows[0]["class_name"] == "deforestation" and float(rows[0]["area_ha"]) == pytest.approx(21_158, abs=1)
    text = paths["markdown"].read_text()
    assert "Olofsson et al. (2014" in text and "Sample design: stratified random" in text
    assert "| deforestation | 18,000.0 | 21,157.8 | ± 6,157.6 | 88.0 % ± 7.4 | 74.9 % ± 21.3 | 75 / 69 |" in text


def test_a_class_without_samples_is_said_and_counted_as_correct():
    counts = np.array([[10, 2, 0], [1, 12, 0], [0, 0, 0]])
    est = stratified_estimate(counts, [500, 400, 100], 1.0, [1, 2, 3], ["a", "b", "c"])
    assert est.classes[2].area_ha == pytest.approx(100.0) and "'c' is mapped on 100.0 ha but has no test sample" in est.notes[0]
    assert sum(c.area_ha for c in est.classes) == pytest.approx(1000.0)  # the areas add up to the mapped area


def test_pixel_counts_are_streamed_by_block_and_written(tmp_path):
    classes = np.random.default_rng(0).integers(0, 4, (70, 50)).astype(np.uint8)
    from osgeo import gdal

    path = make_raster(tmp_path / "map.tif", classes, dtype=gdal.GDT_Byte)
    counts = class_pixel_counts(path, block_rows=16)
    assert counts == {c: int((classes == c).sum()) for c in (1, 2, 3)}
    out = write_pixel_areas(counts, {1: "soybean", 2: "corn", 3: "other"}, 0.01, tmp_path / "areas.csv")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert rows[1] == {"class_id": "2", "class_name": "corn", "pixels": str(counts[2]),
                       "pixel_count_area_ha": f"{counts[2] * 0.01:.4f}"}  # fmt: skip
