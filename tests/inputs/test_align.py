import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import make_raster
from tsstfn_crop_mapper.core.demo.synthetic import MODIS_PIXEL, SINUSOIDAL
from tsstfn_crop_mapper.core.errors import InputError
from tsstfn_crop_mapper.core.files import read_array
from tsstfn_crop_mapper.core.inputs.align import ndvi_to_grid
from tsstfn_crop_mapper.core.inputs.grid import Grid, same_crs
from tsstfn_crop_mapper.core.inputs.ndvi import NdviSource


def _sinusoidal():
    srs = osr.SpatialReference()
    srs.ImportFromProj4(SINUSOIDAL)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _utm():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


@pytest.fixture()
def utm_grid():
    return Grid(_utm().ExportToWkt(), (640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0), 120, 100)


def test_warp_sinusoidal_250m_onto_utm_10m_at_known_coordinates(tmp_path, utm_grid):
    sinu, utm = _sinusoidal(), _utm()
    # a MODIS raster around the grid whose NDVI is a linear function of sinusoidal x, y
    centre = osr.CoordinateTransformation(utm, sinu).TransformPoint(640600.0, 5149500.0)
    x0, y0 = centre[0] - 10 * MODIS_PIXEL, centre[1] + 10 * MODIS_PIXEL
    xs = x0 + (np.arange(20) + 0.5) * MODIS_PIXEL
    ys = y0 - (np.arange(20) + 0.5) * MODIS_PIXEL
    a, b = 1e-4, -2e-4
    ndvi = a * (xs[None, :] - centre[0]) + b * (ys[:, None] - centre[1])
    src = make_raster(
        tmp_path / "MOD_ndvi.tif", ndvi, epsg=None, wkt=sinu.ExportToWkt(), gt=(x0, MODIS_PIXEL, 0, y0, 0, -MODIS_PIXEL)
    )
    out = ndvi_to_grid(NdviSource(src), utm_grid, tmp_path / "aligned.tif")
    ds = gdal.Open(str(out))
    assert ds.GetGeoTransform() == utm_grid.geotransform
    assert (ds.RasterXSize, ds.RasterYSize) == (120, 100)
    got = read_array(out)
    to_sinu = osr.CoordinateTransformation(utm, sinu)
    for row, col in [(0, 0), (50, 60), (99, 119), (10, 100)]:
        x = 640000.0 + (col + 0.5) * 10
        y = 5150000.0 - (row + 0.5) * 10
        sx, sy, _ = to_sinu.TransformPoint(x, y)
        expected = a * (sx - centre[0]) + b * (sy - centre[1])
        assert got[row, col] == pytest.approx(expected, abs=2e-4), (row, col)


def test_same_grid_is_copied_exactly_and_crs_compared_by_meaning(tmp_path, utm_grid):
    arr = np.random.default_rng(0).uniform(-1, 1, (100, 120))
    # the same CRS written as PROJ text, not EPSG WKT
    proj_wkt = osr.SpatialReference()
    proj_wkt.ImportFromProj4("+proj=utm +zone=51 +datum=WGS84 +units=m +no_defs")
    assert same_crs(proj_wkt, _utm())
    src = make_raster(tmp_path / "s2.tif", arr, epsg=None, wkt=proj_wkt.ExportToWkt())
    out = read_array(ndvi_to_grid(NdviSource(src), utm_grid, tmp_path / "s2_aligned.tif"))
    np.testing.assert_allclose(out, arr, rtol=1e-6)


def test_crop_to_area_of_interest(utm_grid):
    sub = utm_grid.crop((640105.0, 5149205.0, 640395.0, 5149495.0))
    assert sub.geotransform[0] == 640100.0 and sub.geotransform[3] == 5149500.0
    assert (sub.width, sub.height) == (30, 30)
    with pytest.raises(InputError, match="area of interest does not overlap"):
        utm_grid.crop((0, 0, 10, 10))


def test_missing_crs_message_names_layer(tmp_path, utm_grid):
    src = make_raster(tmp_path / "nocrs.tif", np.zeros((5, 5)), epsg=None)
    with pytest.raises(InputError, match="'nocrs.tif' has no coordinate reference system.*gdal_edit"):
        ndvi_to_grid(NdviSource(src), utm_grid, tmp_path / "o.tif")


def test_no_overlap_message_gives_extents(tmp_path, utm_grid):
    src = make_raster(tmp_path / "far.tif", np.zeros((5, 5)), gt=(100000.0, 10, 0, 3000000.0, 0, -10))
    with pytest.raises(InputError, match="'far.tif' does not overlap the study area: it covers x 100000"):
        ndvi_to_grid(NdviSource(src), utm_grid, tmp_path / "o.tif")
    assert not (tmp_path / "o.tif").exists()


def test_all_nodata_message_and_no_output_left(tmp_path, utm_grid):
    src = make_raster(tmp_path / "empty.tif", np.full((100, 120), -9999.0), nodata=-9999.0)
    with pytest.raises(InputError, match="'empty.tif' has no valid pixel"):
        ndvi_to_grid(NdviSource(src), utm_grid, tmp_path / "o.tif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.tif"]


def test_partial_overlap_is_reported(tmp_path, utm_grid, caplog):
    half = make_raster(tmp_path / "half.tif", np.full((100, 60), 0.3))
    with caplog.at_level("WARNING", logger="tsstfn"):
        out = read_array(ndvi_to_grid(NdviSource(half), utm_grid, tmp_path / "o.tif", resampling="near"))
    assert "covers only 50.0%" in caplog.text
    assert np.isnan(out[:, 60:]).all() and np.isfinite(out[:, :60]).all()


def test_synthetic_scene_modis_aligns(scene, tmp_path):
    root = scene["root"]
    grid = Grid.from_raster(str(root / scene["prediction"][0]["sentinel2"]))
    out = read_array(ndvi_to_grid(NdviSource(str(root / scene["prediction"][-1]["modis"]), "mod09gq"), grid, tmp_path / "m.tif"))
    s2 = read_array(
        ndvi_to_grid(NdviSource(str(root / scene["prediction"][-1]["sentinel2"]), "s2_l2a"), grid, tmp_path / "s.tif")
    )
    assert np.isfinite(out).all()
    # MODIS and the blurred Sentinel-2 agree on the scene mean (the PSF and a small bias apart)
    assert abs(np.nanmean(out) - np.nanmean(s2)) < 0.05


def test_lean_synthetic_scene_modis_covers_the_scene_and_follows_the_fine_ndvi(tmp_path):
    """The whole-tile generator (float32, cropped world, PSF on a 40 m grid) still gives usable MODIS."""
    from scipy.ndimage import uniform_filter

    from tsstfn_crop_mapper.core.demo.synthetic import generate_scene

    m = generate_scene(tmp_path / "lean", size=160, seed=5, field_size=(20, 40), n_samples=200, lean=True)
    root = tmp_path / "lean"
    modis_path = str(root / m["prediction"][-1]["modis"])
    modis = gdal.Open(modis_path).ReadAsArray()
    assert (modis == -28672).any() and (modis != -28672).any()  # the sheared grid's far pixels are fill
    grid = Grid.from_raster(str(root / m["prediction"][-1]["sentinel2"]))
    coarse = read_array(ndvi_to_grid(NdviSource(modis_path, "mod09gq"), grid, tmp_path / "m.tif"))
    fine = read_array(ndvi_to_grid(NdviSource(str(root / m["prediction"][-1]["sentinel2"]), "s2_l2a"), grid, tmp_path / "s.tif"))
    assert np.isfinite(coarse).all()  # no fill reaches the scene
    smooth = uniform_filter(fine, 23)[23:-23, 23:-23]
    assert np.corrcoef(coarse[23:-23, 23:-23].ravel(), smooth.ravel())[0, 1] > 0.75  # 0.84 when written
    assert abs(coarse.mean() - fine.mean()) < 0.05


def test_synthetic_scene_cloud_mask_hides_every_cloudy_pixel(scene, tmp_path):
    """The 20 m SCL of a cloudy date masks all of its cloud at 10 m (a missed edge scores as data)."""
    root = scene["root"]
    target = next(t for t in scene["targets"] if t.get("sentinel2_mask"))
    grid = Grid.from_raster(str(root / target["sentinel2"]))
    plain = read_array(ndvi_to_grid(NdviSource(str(root / target["sentinel2"]), "s2_l2a"), grid, tmp_path / "p.tif"))
    masked = read_array(
        ndvi_to_grid(
            NdviSource(str(root / target["sentinel2"]), "s2_l2a", mask_path=str(root / target["sentinel2_mask"])),
            grid, tmp_path / "m.tif", resampling="near",
        )
    )  # fmt: skip
    cloud = plain < 0.1  # the scene's cloud is NDVI 0.045; its driest cover (bare) is above 0.1 in July-August
    assert cloud.mean() > 0.1
    assert np.isnan(masked[cloud]).all()
    truth = read_array(str(root / scene["truth"][target["date"]]))
    clear = np.isfinite(masked)
    assert np.abs(masked[clear] - truth[clear]).max() < 1e-3  # what is left clear is the cloud-free truth
