"""Pairing rules on plain scenes: same day first, else the shortest covering composite; Terra before Aqua; targets."""

from __future__ import annotations

import datetime as dt

from tsstfn_crop_mapper.core.fetch.pairing import pair_scenes
from tsstfn_crop_mapper.core.fetch.request import request_from_dict
from tsstfn_crop_mapper.core.fetch.search import Scene

D = dt.date


def _scene(item_id, collection, sensor, first, last=None, cloud=None, platform="S2A", tile="T32TNR"):
    return Scene(item_id, collection, sensor, first, last or first, {}, cloud, None, platform, tile)


def _request(tmp_path, **kw):
    data = {"aoi": [10, 45, 10.01, 45.01], "reference": ["2021-04-01", "2021-09-30"],
            "prediction": ["2022-04-01", "2022-09-30"], "out_dir": str(tmp_path), **kw}  # fmt: skip
    return request_from_dict(data)


def test_same_day_before_a_composite_and_terra_before_aqua(tmp_path):
    fine = [_scene("s1", "sentinel-2-l2a", "sentinel2", D(2021, 5, 10), cloud=1),
            _scene("s2", "sentinel-2-l2a", "sentinel2", D(2021, 5, 12), cloud=1)]  # fmt: skip
    coarse = [
        _scene("MYD09Q1.A2021129", "modis-09Q1-061", "modis", D(2021, 5, 9), D(2021, 5, 16), platform="MYD", tile="h18v04"),
        _scene("MOD09Q1.A2021129", "modis-09Q1-061", "modis", D(2021, 5, 9), D(2021, 5, 16), platform="MOD", tile="h18v04"),
        _scene("MOD13Q1.A2021129", "modis-09Q1-061", "modis", D(2021, 5, 9), D(2021, 5, 24), platform="MOD", tile="h18v04"),
        _scene("MODDAILY", "modis-09Q1-061", "modis", D(2021, 5, 12), platform="MOD", tile="h18v04"),
    ]
    rows = pair_scenes(fine, coarse, _request(tmp_path))
    assert [(p.date, [s.id for s in p.coarse]) for p in rows] == [
        (D(2021, 5, 10), ["MOD09Q1.A2021129"]),  # the 8-day composite (shorter than the 16-day one), Terra's
        (D(2021, 5, 12), ["MODDAILY"]),  # an item of the same day first
    ]


def test_tiles_of_one_day_are_one_date_whose_cloud_is_the_worst(tmp_path):
    fine = [_scene("a", "sentinel-2-l2a", "sentinel2", D(2022, 7, 5), cloud=5, tile="T32TNR"),
            _scene("b", "sentinel-2-l2a", "sentinel2", D(2022, 7, 5), cloud=30, tile="T32TNS")]  # fmt: skip
    coarse = [_scene("m", "modis-09Q1-061", "modis", D(2022, 7, 4), D(2022, 7, 11), platform="MOD")]
    rows = pair_scenes(fine, coarse, _request(tmp_path, cloud_max=20))
    # the cloudy date is listed; the composite it would have used is a target (MODIS only) on its own first day
    assert [(p.date, p.role, p.cloud, len(p.fine)) for p in rows] == [
        (D(2022, 7, 4), "target", None, 0), (D(2022, 7, 5), "cloudy", 30, 2)
    ]  # fmt: skip
    rows = pair_scenes(fine, coarse, _request(tmp_path, cloud_max=40))
    assert [(p.date, p.role, p.critical) for p in rows] == [(D(2022, 7, 5), "target", True)]


def test_dates_outside_both_seasons_are_left_out(tmp_path):
    fine = [_scene("x", "sentinel-2-l2a", "sentinel2", D(2021, 12, 1), cloud=0)]
    coarse = [_scene("m", "modis-09Q1-061", "modis", D(2021, 11, 28), D(2021, 12, 5), platform="MOD")]
    assert pair_scenes(fine, coarse, _request(tmp_path)) == []
