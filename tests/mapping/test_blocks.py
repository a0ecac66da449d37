"""Honest accuracy when samples cluster in fields: splits by spatial block, the block kappa and its warning, k-fold."""

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping import classify
from tsstfn_crop_mapper.core.mapping.samples import Samples, block_folds, spatial_blocks, split

FIELD = 8  # fields of 8 x 8 pixels, 10 m


def _grid(size=96):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    return Grid(srs.ExportToWkt(), (640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0), size, size)


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    """Three classes whose dates differ little; every field has its own strong signature (soil, sowing date).

    A random split lets the forest recognise fields it has seen; a split by blocks cannot.
    """
    tmp = tmp_path_factory.mktemp("clustered")
    rng = np.random.default_rng(0)
    size = 96
    n = size // FIELD
    cls = rng.integers(1, 4, (n, n))
    signature = rng.normal(0, 0.15, (n, n, 4))
    dates = []
    for t in range(4):
        field_values = 0.4 + 0.03 * cls * (t % 2) + signature[..., t]
        img = np.kron(field_values, np.ones((FIELD, FIELD))) + rng.normal(0, 0.01, (size, size))
        dates.append(make_raster(tmp / f"d{t}.tif", np.clip(img, -1, 1).astype(np.float32)))
    labels = np.kron(cls, np.ones((FIELD, FIELD), dtype=int))
    rows, cols = np.nonzero(np.ones((size, size), bool))
    pick = rng.choice(len(rows), 1500, replace=False)
    rows, cols = rows[pick], cols[pick]
    groups = (rows // FIELD) * n + cols // FIELD
    samples = Samples(rows, cols, labels[rows, cols].astype(np.int32), groups, {1: "soybean", 2: "corn", 3: "other"})
    return dates, _grid(size), samples


def test_blocks_are_squares_of_the_given_metres(clustered):
    _, grid, samples = clustered
    blocks = spatial_blocks(samples, grid, 160.0)  # 16 px
    same = (samples.rows // 16 == samples.rows[0] // 16) & (samples.cols // 16 == samples.cols[0] // 16)
    assert set(np.nonzero(blocks == blocks[0])[0]) == set(np.nonzero(same)[0])
    assert len(np.unique(spatial_blocks(samples, grid, 1.0))) == len(np.unique(samples.rows * 1000 + samples.cols))


def test_no_block_on_both_sides_and_every_class_tested(clustered):
    _, grid, samples = clustered
    blocks = spatial_blocks(samples, grid, 320.0)
    train, test = split(samples, "block", 0.3, 0, blocks)
    assert not set(blocks[train]) & set(blocks[test])
    assert 0.2 < len(test) / len(samples.codes) < 0.45
    assert set(samples.codes[test]) == {1, 2, 3}
    folds = block_folds(samples, blocks, 4)
    assert len(folds) == 4 and sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(samples.codes)))
    with pytest.raises(InputError, match="fall in 1 spatial block\\(s\\), too few for 3 folds: lower 'block_m'"):
        block_folds(samples, spatial_blocks(samples, grid, 5000.0), 3)


def test_the_random_split_is_checked_against_blocks_and_warned_about(clustered):
    dates, grid, samples = clustered
    params = classify.ForestParams(n_estimators=30, min_samples_leaf=2)
    a = classify.assess_forest(dates, grid, samples, "random", 0.3, params, 320.0, kfold=3)
    assert a.accuracy.kappa > 0.8  # the forest recognises fields it saw
    assert a.block_accuracy is not None and a.block_accuracy.kappa < a.accuracy.kappa - 0.2
    assert len(a.notes) == 1 and "points above the kappa of a split by 320 m blocks" in a.notes[0]
    assert len(a.fold_kappas) == 3 and max(a.fold_kappas) < a.accuracy.kappa
    data = a.as_dict()
    assert data["block_kappa"] == a.block_accuracy.kappa and data["fold_kappas"] == a.fold_kappas
    assert len(a.test_index) == len(a.predicted) and set(a.predicted) <= {1, 2, 3}
    by_block = classify.assess_forest(dates, grid, samples, "block", 0.3, params, 320.0)
    assert by_block.block_accuracy is None and not by_block.notes  # the chosen split is already honest


def test_confidence_raster_agrees_with_the_map(clustered, tmp_path):
    dates, grid, samples = clustered
    params = classify.ForestParams(n_estimators=20, min_samples_leaf=2)
    a = classify.assess_forest(dates, grid, samples, "random", 0.3, params, 320.0)
    out = classify.classify_to_file(
        a.classifier, dates, grid, tmp_path / "map.tif", tmp_path / "p.tif", confidence_path=tmp_path / "c.tif"
    )
    ds, cds, pds = gdal.Open(str(out)), gdal.Open(str(tmp_path / "c.tif")), gdal.Open(str(tmp_path / "p.tif"))
    m, conf, proba = ds.ReadAsArray(), cds.ReadAsArray(), pds.ReadAsArray()
    np.testing.assert_allclose(conf[0], proba.max(axis=0), rtol=1e-6)
    ranked = np.sort(proba, axis=0)
    np.testing.assert_allclose(conf[1], ranked[-1] - ranked[-2], rtol=1e-5, atol=1e-6)
    assert (conf[0] >= 1 / 3 - 1e-6).all() and (conf[1] <= conf[0]).all()
    codes = [int(pds.GetRasterBand(b).GetMetadataItem("CLASS_CODE")) for b in (1, 2, 3)]
    tie = conf[1] < 1e-6  # two classes equally probable: either is the map's
    assert ((m == np.array(codes)[proba.argmax(axis=0)]) | tie).all()  # the map is the most probable class
    assert cds.GetRasterBand(2).GetDescription() == "margin to the second class"


def test_too_few_blocks_for_the_check_is_a_note_not_a_failure(clustered):
    dates, grid, samples = clustered
    a = classify.assess_forest(dates, grid, samples, "random", 0.3, classify.ForestParams(n_estimators=5), 5000.0)
    assert a.block_accuracy is None and a.notes[0].startswith("No kappa by spatial blocks: The samples fall in 1")
    with pytest.raises(InputError, match="too few for 3 folds"):  # asked for explicitly: an error
        classify.assess_forest(dates, grid, samples, "block", 0.3, classify.ForestParams(n_estimators=5), 5000.0)
