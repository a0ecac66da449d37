"""Samples as a CSV of longitude/latitude points (how sits, GBIF and field GPS exports give them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_raster
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.inputs.grid import Grid
from tsstfn_crop_mapper.core.mapping.samples import read_samples

SINOP = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "sinop_2014_mod13q1"


def test_csv_points_in_degrees_are_read_as_wgs84(tmp_path):
    grid = Grid.from_raster(make_raster(tmp_path / "g.tif", [[[0.5] * 20] * 20], epsg=4326,
                                        gt=(10.0, 0.01, 0.0, 50.0, 0.0, -0.01)))  # fmt: skip
    rows = [(i, 10.005 + 0.01 * (i % 20), 49.995 - 0.01 * (i // 20), "soy" if i % 2 else "corn") for i in range(40)]
    csv = tmp_path / "points.csv"
    csv.write_text("id,lon,lat,label\n" + "".join(f"{i},{x},{y},{c}\n" for i, x, y, c in rows))
    samples = read_samples(str(csv), "label", grid)
    assert len(samples.codes) == 40 and set(samples.names.values()) == {"soy", "corn"}
    assert (samples.rows[0], samples.cols[0]) == (0, 0) and (samples.rows[-1], samples.cols[-1]) == (1, 19)
    projected = tmp_path / "utm.csv"
    projected.write_text("x,y,label\n640005,5149995,corn\n")
    with pytest.raises(InputError, match="not longitude/latitude degrees.*save it as a GeoPackage"):
        read_samples(str(projected), "label", grid)


@pytest.mark.skipif(not SINOP.exists(), reason="../shared/data/real (the Sinop MOD13Q1 set) is not present")
def test_sinop_csv_samples_on_the_mod13q1_grid():
    grid = Grid.from_raster(str(SINOP / "geotiff_23dates_2021" / "MODIS_Sinop_NDVI_2013-09-14.tif"))
    samples = read_samples(str(SINOP / "samples" / "samples_sinop_crop.csv"), "label", grid, min_per_class=1)
    counts = {name: int((samples.codes == code).sum()) for code, name in samples.names.items()}
    assert counts == {"Soy_Corn": 6, "Pasture": 3, "Forest": 3}  # the MANIFEST: 12 of the 18 points lie inside
