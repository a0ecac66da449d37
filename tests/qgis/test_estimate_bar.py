"""The estimate line's stored speed: measured for one network, never reused for another (real QGIS, offscreen)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsApplication, QgsSettings

from tsstfn_crop_mapper.ui.estimate import SPEED_KEY, EstimateBar

pytest.importorskip("torch")


def _raster(path) -> str:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 40, 30, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((500000, 10, 0, 4500000, 0, -10))
    ds.GetRasterBand(1).WriteArray(np.full((30, 40), 0.5, np.float32))
    ds = None
    return str(path)


@pytest.fixture
def clean_speeds():
    """No stored speed before or after the test (QgsSettings outlive it)."""
    QgsSettings().remove(SPEED_KEY)
    yield
    QgsSettings().remove(SPEED_KEY)


def _data(fine: str, **train) -> dict:
    base = {"device": "cpu", "width": 4, "patch": 16, "batch_size": 2, "cl_paths": 1}
    return {"prediction": [{"fine": fine}], "targets": [{"date": "2021-07-30"}], "n_base": 1, "train": {**base, **train}}


def test_a_measured_speed_serves_only_the_network_it_was_measured_on(tmp_path, clean_speeds):
    bar = EstimateBar()
    data = _data(_raster(tmp_path / "fine.tif"))
    bar.show_for(data, "CPU")
    assert bar.last is not None and not bar.last.measured  # nothing measured yet
    bar.measure(data)  # the real path: a QGIS task times the network, then the estimate updates
    start = time.time()
    while not bar.measure_button.isEnabled():
        QgsApplication.processEvents()
        time.sleep(0.02)
        assert time.time() - start < 60, "the speed measurement did not finish"
    assert bar.last.measured, bar.label.text()
    assert "measured on this device" in bar.label.text()
    for other in (
        {**data, "n_base": 2},  # two base pairs: five input channels, not three
        _data(data["prediction"][0]["fine"], batch_size=8),
        _data(data["prediction"][0]["fine"], cl_paths=3),
        _data(data["prediction"][0]["fine"], width=8),
    ):
        bar.show_for(other, "CPU")
        assert not bar.last.measured, f"a speed measured for {data} was reused for {other}"
        assert "a guess" in bar.label.text()
    bar.show_for(data, "CPU")
    assert bar.last.measured  # the measured network itself still finds its speed
    bar.deleteLater()
