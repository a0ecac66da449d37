"""Fixtures of the fetch tests: small COGs generated with GDAL, served with recorded STAC responses by a local server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from fetch.stac_server import FakeScene, StacServer
from osgeo import gdal, osr

from tsstfn_crop_mapper.core.fetch.download import MODIS_ORIGIN, MODIS_PROJ4

gdal.UseExceptions()
AOI = (10.0, 45.0, 10.012, 45.008)  # about 940 x 890 m in UTM 32N
MODIS_PIXEL = 231.656358263958


def write_cog(path: Path, bands: list[np.ndarray], srs: str, origin: tuple[float, float], pixel: float, dtype: int,
              nodata: float | None = None) -> Path:  # fmt: skip
    """A Cloud-Optimized GeoTIFF of ``bands`` (tiles of 64 px, so a window reads a part of it)."""
    height, width = bands[0].shape
    mem = gdal.GetDriverByName("MEM").Create("", width, height, len(bands), dtype)
    mem.SetGeoTransform((origin[0], pixel, 0, origin[1], 0, -pixel))
    ref = osr.SpatialReference()
    ref.SetFromUserInput(srs)
    mem.SetProjection(ref.ExportToWkt())
    for i, values in enumerate(bands, start=1):
        if nodata is not None:
            mem.GetRasterBand(i).SetNoDataValue(nodata)
        mem.GetRasterBand(i).WriteArray(values)
    gdal.Translate(str(path), mem, format="COG", creationOptions=["BLOCKSIZE=128", "COMPRESS=DEFLATE", "OVERVIEWS=NONE"])
    return path


def _utm_box(margin: float) -> tuple[float, float]:
    wgs, utm = osr.SpatialReference(), osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    utm.ImportFromEPSG(32632)
    for s in (wgs, utm):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    xmin, ymin, xmax, ymax = osr.CoordinateTransformation(wgs, utm).TransformBounds(*AOI, 21)
    return (xmin - margin) // 10 * 10, (ymax + margin) // 10 * 10


def ndvi_field(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A field pattern of NDVI in 0.2..0.8 (seeded)."""
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(0.2, 0.8, (shape[0] // 40 + 1, shape[1] // 40 + 1))
    return np.kron(blocks, np.ones((40, 40)))[: shape[0], : shape[1]]


def sentinel2_cogs(folder: Path, name: str, seed: int, legacy: bool, cloud_rows: int = 0) -> dict[str, str]:
    """B04, B08 and SCL of a synthetic Sentinel-2 tile around the AOI (a 6 km square, 10 m; SCL 20 m)."""
    size = 600
    ndvi = ndvi_field((size, size), seed)
    red = np.random.default_rng(seed).uniform(0.04, 0.06, (size, size))  # noise: a COG that does not compress away
    nir = red * (1 + ndvi) / (1 - ndvi)
    offset = 0 if legacy else 1000
    dn = [np.round(v * 10000 + offset).astype(np.uint16) for v in (red, nir)]
    origin = _utm_box(2500)
    scl = np.full((size // 2, size // 2), 4, np.uint8)
    scl[:cloud_rows] = 9
    out = {}
    for key, values, pixel, dtype in (("red", dn[0], 10, gdal.GDT_UInt16), ("nir", dn[1], 10, gdal.GDT_UInt16),
                                      ("scl", scl, 20, gdal.GDT_Byte)):  # fmt: skip
        out[key] = write_cog(folder / f"{name}_{key}.tif", [values], "EPSG:32632", origin, pixel, dtype, 0).name
    return out


def modis_cogs(folder: Path, name: str, red: int = 500, nir: int = 3500, aoi=AOI) -> dict[str, str]:
    """sur_refl_b01, sur_refl_b02 and the state flags of a small MODIS window around ``aoi`` (sinusoidal, 231.66 m)."""
    wgs, sinu = osr.SpatialReference(), osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    sinu.ImportFromProj4(MODIS_PROJ4)
    for s in (wgs, sinu):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    xmin, _, _, ymax = osr.CoordinateTransformation(wgs, sinu).TransformBounds(*aoi, 21)
    x0, y0 = MODIS_ORIGIN
    origin = (x0 + ((xmin - x0) // MODIS_PIXEL - 10) * MODIS_PIXEL, y0 - ((y0 - ymax) // MODIS_PIXEL - 10) * MODIS_PIXEL)
    shape = (30, 30)
    bands = {"sur_refl_b01": np.full(shape, red, np.int16), "sur_refl_b02": np.full(shape, nir, np.int16)}
    out = {k: write_cog(folder / f"{name}_{k}.tif", [v], MODIS_PROJ4, origin, MODIS_PIXEL, gdal.GDT_Int16, -28672).name
           for k, v in bands.items()}  # fmt: skip
    state = np.zeros(shape, np.uint16)
    out["sur_refl_state_250m"] = write_cog(folder / f"{name}_state.tif", [state], MODIS_PROJ4, origin, MODIS_PIXEL,
                                           gdal.GDT_UInt16).name  # fmt: skip
    return out


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="session")
def stac(tmp_path_factory):
    """The local STAC API with two seasons of Sentinel-2 (Earth Search) and MOD09Q1 8-day composites (Planetary Computer).

    2021: clear 10 May and 20 July (reference pairs), 15 August cloudy (70 %); 2022: clear 12 May (a base pair,
    processed before baseline 04.00), 22 July cloudy (90 %, above the scene limit); MOD09Q1 composites covering
    each of them, and two more in the 2022 critical season (the targets).
    """
    root = tmp_path_factory.mktemp("cogs")
    scenes: list[FakeScene] = []
    server = StacServer(root, scenes)
    with server:
        box = (9.98, 44.98, 10.04, 45.03)
        s2 = [("2021-05-10T10:20:21", 5.0, "05.00", 0), ("2021-07-20T10:20:21", 10.0, "05.00", 0),
              ("2021-08-15T10:20:21", 70.0, "05.00", 200), ("2022-05-12T10:20:21", 3.0, "02.12", 0),
              ("2022-07-22T10:20:21", 90.0, "05.00", 250)]  # fmt: skip
        for i, (when, cloud, baseline, cloud_rows) in enumerate(s2):
            stamp = _utc(when)
            name = f"S2A_32TNR_{stamp:%Y%m%d}_0_L2A"
            files = sentinel2_cogs(root, name, seed=i, legacy=baseline < "04", cloud_rows=cloud_rows)
            scenes.append(FakeScene("es", "sentinel-2-l2a", name, stamp, None, cloud, baseline, box,
                                    {k: f"{server.base}/{v}" for k, v in files.items()},
                                    {"grid:code": "MGRS-32TNR", "proj:epsg": 32632}))  # fmt: skip
        for start in ("2021-05-09", "2021-07-20", "2021-08-13", "2022-05-09", "2022-07-20", "2022-08-05"):
            first = _utc(start + "T00:00:00")
            doy = first.timetuple().tm_yday
            name = f"MOD09Q1.A{first.year}{doy:03d}.h18v04.061.2022042044048"
            files = modis_cogs(root, name.replace(".", "_"))
            last = first + dt.timedelta(days=7, hours=23, minutes=59, seconds=59)
            scenes.append(FakeScene("pc", "modis-09Q1-061", name, first, last, None, None, (5.0, 40.0, 15.0, 50.0),
                                    {k: f"{server.base}/{v}" for k, v in files.items()},
                                    {"modis:horizontal-tile": 18, "modis:vertical-tile": 4}))  # fmt: skip
        yield server


def request_dict(stac: StacServer, out: Path, **overrides) -> dict:
    """A fetch job over the AOI against the local server (both seasons, 20 % cloud)."""
    data = {
        "aoi": list(AOI), "reference": ["2021-04-01", "2021-09-30"], "prediction": ["2022-04-01", "2022-09-30"],
        "out_dir": str(out), "endpoint": stac.url("es"), "coarse_endpoint": stac.url("pc"), "cloud_max": 20,
    }  # fmt: skip
    data.update(overrides)
    return data
