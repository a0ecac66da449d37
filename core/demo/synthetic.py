"""A deterministic two-season study area like the paper's (seeded), written as real files.

* Fields (rectangles 250-700 m) of soybean, corn and other cover (grass, forest, bare); about a
  third of the crop fields rotate soybean <-> corn between the two years.
* NDVI phenology per class from a double logistic curve; soybean and corn are close in April-June
  and separate in July-September as in the paper's Figure 3; per-field timing and amplitude jitter,
  smooth within-field variation and pixel noise.
* Sentinel-2 L2A at 10 m in UTM 51N as 2-band (B04, B08) uint16 GeoTIFFs with the baseline 04.00
  offset (DN = reflectance * 10000 + 1000), on the paper's dates (Table 1).
* MOD09GQ at 231.66 m in the MODIS sinusoidal projection as 2-band int16 (red, NIR x 10000, fill
  -28672): the fine reflectance blurred by a Gaussian point-spread function, sampled at the MODIS
  pixel centres, with a sensor bias and noise.
* Clouds over part of the 2021 July and August Sentinel-2 images, with Sentinel-2 SCL masks (20 m).
* Label rasters (1 soybean, 2 corn, 3 other, 0 nodata), a GeoPackage of labelled sample points, the
  field polygons (``fields.gpkg``, with ``field_id``), the cloud-free fine NDVI of the held-out dates
  (``truth/``) and ``scene.json`` describing everything.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, ogr, osr

from ..inputs.dates import doy

gdal.UseExceptions()

CLASSES = {1: "soybean", 2: "corn", 3: "other"}
CLASS_COLORS = {1: (230, 200, 74), 2: (63, 143, 58), 3: (184, 184, 176)}
UTM51N = 32651
SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
MODIS_PIXEL = 231.656358263889
MODIS_ORIGIN = (-20015109.354, 10007554.677)

REFERENCE_DATES = [
    dt.date(2020, m, d)
    for m, d in ((4, 18), (4, 28), (5, 6), (5, 8), (5, 18), (5, 28), (7, 7), (7, 12), (7, 15), (8, 19), (9, 10))
]
PREDICTION_BASE_DATES = [
    dt.date(2021, m, d) for m, d in ((4, 6), (4, 8), (4, 18), (4, 21), (5, 16), (5, 21), (6, 2), (6, 12), (6, 22), (6, 25))
]
PREDICTION_TARGET_DATES = [dt.date(2021, 7, 30), dt.date(2021, 8, 31), dt.date(2021, 9, 5)]
CLOUDY_DATES = [dt.date(2021, 7, 30), dt.date(2021, 8, 31)]

# double logistic: vmin, vmax, start of season (DOY), green-up rate, end of season, senescence rate
PHENOLOGY = {
    "soybean": (0.16, 0.81, 164.0, 0.085, 256.0, 0.11),
    "corn": (0.16, 0.81, 161.0, 0.085, 268.0, 0.075),
    "grass": (0.24, 0.62, 128.0, 0.08, 282.0, 0.06),
    "forest": (0.30, 0.86, 132.0, 0.09, 278.0, 0.08),
    "bare": (0.12, 0.15, 150.0, 0.05, 250.0, 0.05),
}


# corn pulls away from soybean from July on (tasselling): + amplitude * logistic((doy - centre) * rate)
LATE_GAIN = {"corn": (0.09, 192.0, 0.15)}


def double_logistic(t, vmin, vmax, sos, k1, eos, k2):
    """NDVI at day of year ``t``: green-up around ``sos`` at rate ``k1``, senescence around ``eos`` at rate ``k2``."""
    return vmin + (vmax - vmin) * (1.0 / (1.0 + np.exp(-k1 * (t - sos))) + 1.0 / (1.0 + np.exp(k2 * (t - eos))) - 1.0)


@dataclass
class Field:
    """One synthetic field: its id, its rows and columns, its cover and phenology jitter in each year."""

    fid: int
    rows: slice
    cols: slice
    cover: tuple[str, str]  # per year
    jitter: tuple[np.ndarray, np.ndarray]  # per year: (d_sos, d_vmax, d_eos)


def _split_fields(rng, height, width, min_size, max_size):
    boxes, stack = [], [(0, height, 0, width)]
    while stack:
        r0, r1, c0, c1 = stack.pop()
        h, w = r1 - r0, c1 - c0
        if h > max_size or (h >= 2 * min_size and w <= h and rng.random() < 0.5):
            if h >= 2 * min_size:
                cut = int(rng.integers(r0 + min_size, r1 - min_size + 1))
                stack += [(r0, cut, c0, c1), (cut, r1, c0, c1)]
                continue
        if w > max_size or (w >= 2 * min_size and rng.random() < 0.5):
            if w >= 2 * min_size:
                cut = int(rng.integers(c0 + min_size, c1 - min_size + 1))
                stack += [(r0, r1, c0, cut), (r0, r1, cut, c1)]
                continue
        boxes.append((r0, r1, c0, c1))
    return boxes


def _class_of(cover: str) -> int:
    return {"soybean": 1, "corn": 2}.get(cover, 3)


#: scenes wider than this many fine pixels are made *lean* (see :func:`generate_scene`): a whole
#: 10980 px tile made like the small ones needs over 24 GB and an hour; smaller scenes are made
#: exactly as every documented number was
LEAN_ABOVE = 4096
#: the lean scene's point-spread function runs on a grid this many fine pixels coarser
LEAN_PSF_FACTOR = 4


def _normal(rng, shape, dtype):
    """Standard normal draws; float64 as ``rng.standard_normal(shape)``, float32 drawn as such (half the memory)."""
    return rng.standard_normal(shape) if dtype == np.float64 else rng.standard_normal(shape, dtype=dtype)


def _smooth_noise(rng, shape, sigma, amplitude, dtype=np.float64):
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(_normal(rng, shape, dtype), sigma, mode="reflect")
    std = field.std()
    field *= amplitude  # in place, in the order of amplitude * field / (std + 1e-12)
    field /= std + 1e-12
    return field


def _to_20m(cloud: np.ndarray) -> np.ndarray:
    """A 10 m cloud mask at 20 m: a 20 m pixel is cloud where any of its four 10 m pixels is.

    SCL classifies each 20 m pixel from all of it; taking one 10 m pixel of four (``[::2, ::2]``)
    let the cloud's edge through as clear, and those bright pixels then dominated every method's
    RMSE on the cloudy dates (about 1 % of the clear pixels, 0.8 NDVI off).
    """
    h, w = (-(-n // 2) for n in cloud.shape)
    padded = np.zeros((2 * h, 2 * w), dtype=bool)
    padded[: cloud.shape[0], : cloud.shape[1]] = cloud
    return padded.reshape(h, 2, w, 2).any(axis=(1, 3))


def _ndvi_to_reflectance(ndvi):
    """Red and NIR reflectance of ``ndvi`` (in place where it can: the same values as the plain formulas)."""
    total = np.clip(ndvi, 0, 1)
    total *= 0.22
    total += 0.30
    red = 1 - ndvi
    red *= total
    red /= 2
    nir = 1 + ndvi
    nir *= total
    nir /= 2
    return red, nir


def _write(path, array, gt, wkt, dtype, nodata=None, ct=None, scale=None, desc=()):
    arr = array[None] if array.ndim == 2 else array
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), arr.shape[2], arr.shape[1], arr.shape[0], dtype, ["COMPRESS=DEFLATE", "TILED=YES"]
    )
    ds.SetGeoTransform(gt)
    ds.SetProjection(wkt)
    for i, a in enumerate(arr, 1):
        b = ds.GetRasterBand(i)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if ct is not None and i == 1:  # before the pixels: libtiff refuses a colour map once blocks are written
            b.SetRasterColorTable(ct)
            b.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
        b.WriteArray(a)
        if i <= len(desc):
            b.SetDescription(desc[i - 1])
    ds = None


def class_color_table() -> gdal.ColorTable:
    """The colour table of the label rasters (0 transparent, then the class colours)."""
    ct = gdal.ColorTable()
    ct.SetColorEntry(0, (0, 0, 0, 0))
    for code, rgb in CLASS_COLORS.items():
        ct.SetColorEntry(code, (*rgb, 255))
    return ct


def generate_scene(
    out_dir: str | Path,
    size: int = 384,
    seed: int = 42,
    field_size: tuple[int, int] = (25, 70),
    n_samples: int = 3000,
    rotation: float = 0.35,
    cloud_fraction: float = 0.35,
    lean: bool | None = None,
) -> dict:
    """Write the scene into ``out_dir`` and return its description (also in ``scene.json``).

    Args:
        out_dir: the folder to write into (created if needed).
        size: Sentinel-2 pixels per side (10 m each).
        seed: everything is drawn from ``numpy.random.default_rng(seed)``.
        field_size: field side range in Sentinel-2 pixels.
        n_samples: labelled sample points in the GeoPackage (prediction year).
        rotation: fraction of crop fields that switch soybean <-> corn in the second year.
        cloud_fraction: cloud cover of the cloudy July/August 2021 Sentinel-2 images.
        lean: make the scene for whole tiles (None: above :data:`LEAN_ABOVE` px). A lean scene is
            computed in float32, its fine "world" is the Sentinel-2 scene plus three MODIS pixels
            and the PSF's reach (MODIS pixels whose centres lie beyond it are fill, like a swath
            edge; otherwise the sheared sinusoidal grid makes the world three times the scene) and
            the MODIS point-spread function is applied on a 40 m grid. A 10980 px tile then takes
            a few minutes and about 6 GB.
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lean = size > LEAN_ABOVE if lean is None else lean
    dtype = np.float32 if lean else np.float64
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(UTM51N)
    utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    sinu = osr.SpatialReference()
    sinu.ImportFromProj4(SINUSOIDAL)
    sinu.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)

    # Sentinel-2 grid (UTM 51N, near 46.5 N 124.8 E) and a MODIS grid covering it
    s2_x0, s2_y0, res = 640000.0, 5150000.0, 10.0
    s2_gt = (s2_x0, res, 0.0, s2_y0, 0.0, -res)
    to_sinu = osr.CoordinateTransformation(utm, sinu)
    sb = to_sinu.TransformBounds(s2_x0, s2_y0 - size * res, s2_x0 + size * res, s2_y0, 21)
    mc0 = int(np.floor((sb[0] - MODIS_ORIGIN[0]) / MODIS_PIXEL)) - 2
    mc1 = int(np.ceil((sb[2] - MODIS_ORIGIN[0]) / MODIS_PIXEL)) + 2
    mr0 = int(np.floor((MODIS_ORIGIN[1] - sb[3]) / MODIS_PIXEL)) - 2
    mr1 = int(np.ceil((MODIS_ORIGIN[1] - sb[1]) / MODIS_PIXEL)) + 2
    m_gt = (MODIS_ORIGIN[0] + mc0 * MODIS_PIXEL, MODIS_PIXEL, 0.0, MODIS_ORIGIN[1] - mr0 * MODIS_PIXEL, 0.0, -MODIS_PIXEL)
    mw, mh = mc1 - mc0, mr1 - mr0
    # MODIS pixel centres in UTM, then the fine "world" grid that covers them plus the PSF
    mx = m_gt[0] + (np.arange(mw) + 0.5) * MODIS_PIXEL
    my = m_gt[3] - (np.arange(mh) + 0.5) * MODIS_PIXEL
    mxx, myy = np.meshgrid(mx, my)
    to_utm = osr.CoordinateTransformation(sinu, utm)
    pts = np.array(to_utm.TransformPoints(np.c_[mxx.ravel(), myy.ravel()].tolist()))[:, :2]
    sigma = 0.5 * MODIS_PIXEL / res
    pad = int(3 * sigma) + 2
    if lean:  # the scene plus three MODIS pixels and the PSF's reach, a multiple of the PSF grid
        margin = -(-(int(3 * MODIS_PIXEL / res) + pad) // LEAN_PSF_FACTOR) * LEAN_PSF_FACTOR
        ox = oy = margin
        world_w = world_h = -(-(size + 2 * margin) // LEAN_PSF_FACTOR) * LEAN_PSF_FACTOR
        wx0, wy0 = s2_x0 - ox * res, s2_y0 + oy * res
    else:
        wx0 = min(s2_x0, pts[:, 0].min()) - pad * res
        wy0 = max(s2_y0, pts[:, 1].max()) + pad * res
        wx1 = max(s2_x0 + size * res, pts[:, 0].max()) + pad * res
        wy1 = min(s2_y0 - size * res, pts[:, 1].min()) - pad * res
        ox, oy = int(round((s2_x0 - wx0) / res)), int(round((wy0 - s2_y0) / res))
        wx0, wy0 = s2_x0 - ox * res, s2_y0 + oy * res
        world_w, world_h = int(np.ceil((wx1 - wx0) / res)), int(np.ceil((wy0 - wy1) / res))
    m_cols = (pts[:, 0] - wx0) / res - 0.5
    m_rows = (wy0 - pts[:, 1]) / res - 0.5
    # MODIS pixels the world reaches with the PSF (all of them unless lean; the others are fill)
    reach = (m_cols >= pad) & (m_cols <= world_w - 1 - pad) & (m_rows >= pad) & (m_rows <= world_h - 1 - pad)
    modis_inside = reach.reshape(mh, mw) if lean else np.ones((mh, mw), dtype=bool)

    def through_psf(band: np.ndarray) -> np.ndarray:
        """``band`` blurred by the MODIS PSF, sampled at the MODIS pixel centres (``(mh, mw)``)."""
        if not lean:
            blurred = gaussian_filter(band, sigma, mode="nearest")
            return map_coordinates(blurred, [m_rows, m_cols], order=1, mode="nearest").reshape(mh, mw)
        f = LEAN_PSF_FACTOR  # block means, then the rest of the Gaussian (a box of f px has variance (f^2 - 1) / 12)
        small = band.reshape(world_h // f, f, world_w // f, f).mean(axis=(1, 3))
        blurred = gaussian_filter(small, np.sqrt(sigma**2 - (f * f - 1) / 12) / f, mode="nearest")
        rows, cols = (m_rows + 0.5) / f - 0.5, (m_cols + 0.5) / f - 0.5
        return map_coordinates(blurred, [rows, cols], order=1, mode="nearest").reshape(mh, mw)

    # fields
    fields: list[Field] = []
    field_id = np.zeros((world_h, world_w), dtype=np.int32)
    for fid, (r0, r1, c0, c1) in enumerate(_split_fields(rng, world_h, world_w, *field_size), start=1):
        u = rng.random()
        if u < 0.42:
            first = "corn"
        elif u < 0.78:
            first = "soybean"
        else:
            first = str(rng.choice(["grass", "forest", "bare"], p=[0.5, 0.3, 0.2]))
        second = first
        if first in ("corn", "soybean") and rng.random() < rotation:
            second = "soybean" if first == "corn" else "corn"
        jit = (
            np.array([rng.normal(0, 6.0), rng.normal(0, 0.025), rng.normal(0, 5.0)]),
            np.array([rng.normal(0, 6.0), rng.normal(0, 0.025), rng.normal(0, 5.0)]),
        )
        fields.append(Field(fid, slice(r0, r1), slice(c0, c1), (first, second), jit))
        field_id[r0:r1, c0:c1] = fid

    def fine_ndvi(year_index: int, date: dt.date, noise_rng) -> np.ndarray:
        t = doy(date)
        ndvi: Any = np.empty((world_h, world_w), dtype=dtype)
        for f in fields:
            vmin, vmax, sos, k1, eos, k2 = PHENOLOGY[f.cover[year_index]]
            d_sos, d_vmax, d_eos = f.jitter[year_index]
            value = double_logistic(t, vmin, vmax + d_vmax, sos + d_sos, k1, eos + d_eos, k2)
            if f.cover[year_index] in LATE_GAIN:
                gain, centre, rate = LATE_GAIN[f.cover[year_index]]
                value += gain / (1.0 + np.exp(-rate * (t - centre - d_sos))) / (1.0 + np.exp(k2 * (t - eos - d_eos)))
            ndvi[f.rows, f.cols] = value
        change = ndvi - 0.1  # in place from here on: ndvi += within * clip(ndvi - 0.1, 0, None)
        np.clip(change, 0, None, out=change)
        change *= within[year_index]
        ndvi += change
        del change
        if dtype == np.float64:
            ndvi += noise_rng.normal(0, 0.012, ndvi.shape)
        else:
            noise = _normal(noise_rng, ndvi.shape, dtype)
            noise *= 0.012
            ndvi += noise
            del noise
        return np.clip(ndvi, -0.2, 0.95, out=ndvi)

    within = [_smooth_noise(rng, (world_h, world_w), 6, 0.05, dtype) for _ in range(2)]
    s2_win = (slice(oy, oy + size), slice(ox, ox + size))
    utm_wkt, sinu_wkt = utm.ExportToWkt(), sinu.ExportToWkt()
    manifest: dict = {
        "size": size,
        "seed": seed,
        "crs": f"EPSG:{UTM51N}",
        "classes": CLASSES,
        "reference": [],
        "prediction": [],
        "targets": [],
        "truth": {},
    }
    for sub in ("reference_2020", "prediction_2021", "truth"):
        (out / sub).mkdir(exist_ok=True)

    tiles = {0: "reference_2020", 1: "prediction_2021"}
    dates = (
        [(0, d, "reference") for d in REFERENCE_DATES]
        + [(1, d, "prediction") for d in PREDICTION_BASE_DATES]
        + [(1, d, "targets") for d in PREDICTION_TARGET_DATES]
    )
    for year_index, date, role in dates:
        date_rng = np.random.default_rng([seed, date.toordinal()])
        ndvi = fine_ndvi(year_index, date, date_rng)
        red, nir = _ndvi_to_reflectance(ndvi)
        del ndvi
        folder = out / tiles[year_index]
        stamp = date.strftime("%Y%m%d")
        # Sentinel-2 L2A, baseline 04.00: DN = reflectance * 10000 + 1000
        s2_red, s2_nir = red[s2_win].copy(), nir[s2_win].copy()
        scl_name = None
        if date in CLOUDY_DATES:
            cloud = _smooth_noise(date_rng, (size, size), 12, 1.0, dtype)
            cloud = cloud > np.quantile(cloud, 1 - cloud_fraction)
            s2_red[cloud], s2_nir[cloud] = 0.42, 0.46
            scl = np.where(_to_20m(cloud), 9, 4).astype(np.uint8)
            scl_name = f"T51TXM_{stamp}T025549_SCL_20m.tif"
            _write(folder / scl_name, scl, (s2_x0, 20.0, 0, s2_y0, 0, -20.0), utm_wkt, gdal.GDT_Byte)
        dn = np.empty((2, size, size), dtype=np.uint16)
        for k, band in enumerate((s2_red, s2_nir)):  # one band at a time: clip(round(band * 10000 + 1000), 1, 65534)
            band *= 10000
            band += 1000
            dn[k] = np.clip(np.round(band, out=band), 1, 65534, out=band)
        del s2_red, s2_nir
        s2_name = f"T51TXM_{stamp}T025549_B04B08_10m.tif"
        _write(
            folder / s2_name,
            dn,
            s2_gt,
            utm_wkt,
            gdal.GDT_UInt16,
            0,
            desc=("B04", "B08"),
        )
        # MOD09GQ through the point-spread function
        coarse = []
        for band, gain in ((red, 1.03), (nir, 0.97)):
            sampled = through_psf(band)
            coarse.append(sampled * gain + date_rng.normal(0, 0.004, sampled.shape) + 0.005)
        modis_dn = np.clip(np.round(np.stack(coarse) * 10000), -100, 16000).astype(np.int16)
        modis_dn[:, ~modis_inside] = -28672
        modis_name = f"MOD09GQ.A{date.year}{doy(date):03d}.h26v04.061.tif"
        _write(folder / modis_name, modis_dn, m_gt, sinu_wkt, gdal.GDT_Int16, -28672, desc=("sur_refl_b01", "sur_refl_b02"))
        entry = {
            "date": date.isoformat(),
            "modis": f"{tiles[year_index]}/{modis_name}",
            "sentinel2": f"{tiles[year_index]}/{s2_name}",
        }
        if scl_name:
            entry["sentinel2_mask"] = f"{tiles[year_index]}/{scl_name}"
        manifest[role].append(entry)
        if role == "targets":
            truth = f"truth/ndvi_{stamp}.tif"
            fine_red, fine_nir = red[s2_win], nir[s2_win]
            truth_ndvi = ((fine_nir - fine_red) / (fine_nir + fine_red)).astype(np.float32)
            _write(out / truth, truth_ndvi, s2_gt, utm_wkt, gdal.GDT_Float32)
            manifest["truth"][date.isoformat()] = truth
        del red, nir  # before the next date's arrays are made

    # labels and samples
    ct = class_color_table()
    for year_index, name in ((0, "labels_2020.tif"), (1, "labels_2021.tif")):
        lab = np.zeros((world_h, world_w), dtype=np.uint8)
        for f in fields:
            lab[f.rows, f.cols] = _class_of(f.cover[year_index])
        _write(out / name, lab[s2_win], s2_gt, utm_wkt, gdal.GDT_Byte, 0, ct)
    manifest["labels"] = {"2020": "labels_2020.tif", "2021": "labels_2021.tif"}
    fid_s2 = field_id[s2_win]
    _write(out / "field_ids.tif", fid_s2, s2_gt, utm_wkt, gdal.GDT_Int32, 0)
    manifest["samples"] = _write_samples(out / "samples_2021.gpkg", rng, fields, fid_s2, s2_gt, utm, n_samples)
    manifest["fields"] = _write_fields(out / "fields.gpkg", out / "field_ids.tif")
    manifest["sentinel2_product"], manifest["modis_product"] = "s2_l2a", "mod09gq"
    (out / "scene.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _write_fields(path: Path, ids_raster: Path) -> str:
    """The field polygons (GDAL polygonize of the field-id raster), with ``field_id``: what a cadastre gives."""
    if path.exists():
        path.unlink()
    src = gdal.Open(str(ids_raster))
    band = src.GetRasterBand(1)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("fields", src.GetSpatialRef(), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("field_id", ogr.OFTInteger))
    layer.StartTransaction()
    gdal.Polygonize(band, band.GetMaskBand(), layer, 0)
    layer.CommitTransaction()
    layer = None
    ds = None
    return path.name


def _write_samples(path: Path, rng, fields, fid_s2, gt, srs, n_samples) -> str:
    from scipy.ndimage import binary_erosion, find_objects

    if path.exists():
        path.unlink()
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    for name, kind in (("class_id", ogr.OFTInteger), ("crop", ogr.OFTString), ("field_id", ogr.OFTInteger)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    by_id = {f.fid: f for f in fields}
    interior = {}
    height, width = fid_s2.shape
    # each field eroded inside its bounding box plus the erosion's reach (a whole-scene mask per field
    # is quadratic: a 10980 px tile has ~50k fields); the same cells, in the same order
    for fid, box in enumerate(find_objects(fid_s2), start=1):
        if box is None:
            continue
        r0, c0 = max(box[0].start - 2, 0), max(box[1].start - 2, 0)
        r1, c1 = min(box[0].stop + 2, height), min(box[1].stop + 2, width)
        inner = binary_erosion(fid_s2[r0:r1, c0:c1] == fid, iterations=2)
        if inner.sum() >= 4:
            interior[fid] = np.argwhere(inner) + (r0, c0)
    per_field = max(1, n_samples // max(1, len(interior)))
    layer.StartTransaction()
    for fid, cells in interior.items():
        cls = _class_of(by_id[fid].cover[1])
        for r, c in cells[rng.choice(len(cells), size=min(per_field, len(cells)), replace=False)]:
            feat = ogr.Feature(layer.GetLayerDefn())
            feat.SetField("class_id", cls)
            feat.SetField("crop", CLASSES[cls])
            feat.SetField("field_id", int(fid))
            x = gt[0] + (c + 0.5) * gt[1]
            y = gt[3] + (r + 0.5) * gt[5]
            feat.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
            layer.CreateFeature(feat)
    layer.CommitTransaction()
    ds = None
    return path.name
