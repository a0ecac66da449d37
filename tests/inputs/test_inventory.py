import json
from pathlib import Path

from tsstfn_crop_mapper.core.inputs.inventory import RasterInfo, build_tables, kind_of


def test_synthetic_scene_sorts_into_the_paper_tables(scene):
    root = Path(scene["root"])
    files = sorted(p for p in root.rglob("*.tif") if p.parent.name.endswith(("2020", "2021")))
    infos = [RasterInfo(p.name, str(p), 231.66 if p.name.startswith("MOD") else 10.0) for p in files]
    tables = build_tables(infos)
    m = json.loads((root / "scene.json").read_text())
    assert [r["date"] for r in tables.reference] == [e["date"] for e in m["reference"]]
    assert [r["date"] for r in tables.prediction] == [e["date"] for e in m["prediction"]]
    assert [r["date"] for r in tables.targets] == ["2021-07-30", "2021-08-31", "2021-09-05"]
    assert tables.targets[0]["fine_mask"].endswith("SCL_20m.tif") and tables.targets[0]["fine"]
    assert tables.undated == [] and tables.incomplete == []


def test_kinds_undated_and_incomplete():
    assert kind_of(RasterInfo("MYD09GQ.A2021100.h26v04", "x")) == "modis"
    assert kind_of(RasterInfo("ndvi_coarse_2021-04-10", "x", 500.0)) == "modis"
    assert kind_of(RasterInfo("T51TXM_20210410T0255_SCL_20m", "x", 20.0)) == "scl"
    assert kind_of(RasterInfo("s2_ndvi_2021-04-10", "x")) == "sentinel2"
    t = build_tables([RasterInfo("s2_2021-04-10", "/nope/a.tif"), RasterInfo("mystery", "/nope/b.tif")])
    assert t.undated == ["mystery"] and t.incomplete == ["2021-04-10: MODIS missing"]
