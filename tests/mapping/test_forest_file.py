"""A forest file is untrusted: exactly the types this plugin writes, and trees whose arrays are consistent."""

from __future__ import annotations

import numpy as np
import pytest

from tsstfn_crop_mapper.core.errors import ModelFileError
from tsstfn_crop_mapper.core.mapping.classify import Classifier, load_classifier, save_classifier


@pytest.fixture
def forest():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 18)), rng.integers(1, 4, 200)
    return Classifier(RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y), 2, {1: "a", 2: "b", 3: "c"}, "")


def test_a_saved_forest_loads(forest, tmp_path):
    clf = load_classifier(save_classifier(forest, tmp_path / "f.skops"), n_dates=2)
    assert len(clf.forest.estimators_) == 3


def _dump(payload: dict, path) -> str:
    import skops.io as sio

    sio.dump(payload, path)
    return str(path)


def _payload(clf: Classifier, **changes) -> dict:
    base = {"format": "tsstfn-crop-mapper-forest", "version": "x", "forest": clf.forest, "n_dates": 2,
            "names": {"1": "a", "2": "b", "3": "c"}, "layout": clf.layout}  # fmt: skip
    return {**base, **changes}


def test_another_scikit_learn_estimator_is_refused(forest, tmp_path):
    from sklearn.dummy import DummyClassifier

    dummy = DummyClassifier().fit(np.zeros((4, 18)), [1, 2, 1, 2])
    path = _dump(_payload(forest, forest=dummy), tmp_path / "dummy.skops")
    with pytest.raises(ModelFileError, match=r"'dummy.skops' holds sklearn.dummy.DummyClassifier"):
        load_classifier(path)


@pytest.mark.parametrize(
    "field, value, message",
    [("left_child", 10**9, "child index"), ("right_child", -7, "child index"), ("feature", 500, "feature outside"),
     ("threshold", float("nan"), "threshold that is not finite")],
)  # fmt: skip
def test_a_corrupt_tree_is_refused_at_load(forest, tmp_path, field, value, message):
    tree = forest.forest.estimators_[1].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes[0][field] = value  # the root is an internal node
    state["nodes"] = nodes
    tree.__setstate__(state)
    path = _dump(_payload(forest), tmp_path / "corrupt.skops")
    with pytest.raises(ModelFileError, match=f"'corrupt.skops' is damaged.*tree 1.*{message}"):
        load_classifier(path)


def test_plain_data_of_the_wrong_type_is_refused(forest, tmp_path):
    path = _dump(_payload(forest, n_dates="2"), tmp_path / "text.skops")
    with pytest.raises(ModelFileError, match=r"'text.skops' is damaged.*n_dates '2'"):
        load_classifier(path)
