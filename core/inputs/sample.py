"""A small sample of a raster's pixels: to check a layer as the run would, and to guess its scale, in a second.

The sample is a few strips of rows spread over the raster (:data:`SAMPLE_STRIPS` strips of at most
:data:`SAMPLE_ROWS` rows, aligned to the file's blocks), so a whole tile costs a few block rows, not
the file. Nothing is written beside the user's file (GDAL's statistics would be, as ``.aux.xml``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from ..files import nodata_to_nan, open_raster
from .ndvi import NdviSource, read_ndvi
from .products import get_product

SAMPLE_STRIPS = 6
"""How many strips of rows, spread over the raster, the sample reads."""
SAMPLE_ROWS = 16
"""The most rows of one strip."""


def sample_windows(width: int, height: int, block_rows: int) -> list[tuple[int, int, int, int]]:
    """The windows ``(xoff, yoff, xsize, ysize)`` of the sample: strips spread over the rows, on block starts."""
    block_rows = max(1, min(block_rows, height))
    rows = min(SAMPLE_ROWS, height)
    starts = np.unique(np.linspace(0, max(height - rows, 0), SAMPLE_STRIPS).astype(int) // block_rows * block_rows)
    return [(0, int(y), width, int(min(rows, height - y))) for y in starts]


@dataclass(frozen=True)
class Sample:
    """What a sample of a source says.

    Attributes:
        pixels: pixels read.
        valid: pixels with a valid NDVI (not nodata, fill, masked or out of the product's range).
    """

    pixels: int
    valid: int

    @property
    def valid_fraction(self) -> float:
        """Share of the sampled pixels with a valid NDVI."""
        return self.valid / self.pixels if self.pixels else 0.0


def raw_range(path: str, band: int = 1, label: str = "") -> tuple[float, float] | None:
    """``(low, high)``: the 0.1 and 99.9 percentiles of a band's sampled values (nodata left out), or None."""
    ds = open_raster(path, label or None)
    b = ds.GetRasterBand(band)
    windows = sample_windows(ds.RasterXSize, ds.RasterYSize, b.GetBlockSize()[1])
    values = np.concatenate([b.ReadAsArray(*w, buf_type=gdal.GDT_Float64).ravel() for w in windows])
    values = nodata_to_nan(values, [b.GetNoDataValue()])
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    low, high = np.percentile(values, [0.1, 99.9])
    return float(low), float(high)


def guess_scale(path: str, band: int, product: str, label: str = "") -> float | None:
    """The scale a layer's values suggest for ``product``, where the product does not fix it; None: no guess.

    NDVI stored x 10000 (values up to about 10000) gives 0.0001; reflectance stored x 10000 for the
    generic red/NIR product gives 0.0001, reflectance in [0, 1] gives 1.
    """
    if product not in ("ndvi", "red_nir"):
        return None  # a known product: its own scale
    found = raw_range(path, band, label)
    if found is None:
        return None
    high = max(abs(found[0]), abs(found[1]))
    if high <= 1.5:
        return 1.0
    if high <= 11000:
        return 0.0001
    return None


def check_sample(source: NdviSource) -> Sample:
    """Read the sample's NDVI as the run reads it: the same checks, the same messages, in a fraction of the time.

    Raises:
        InputError: what the run would raise for this layer (values outside the product's range after
            scaling, mask values its mask kind never holds, a missing band...).
    """
    product = get_product(source.product, source.label)
    ds = open_raster(source.path, source.label)
    first = ds.GetRasterBand(min(source.band if product.is_ndvi else 1, ds.RasterCount))
    pixels = valid = 0
    for window in sample_windows(ds.RasterXSize, ds.RasterYSize, first.GetBlockSize()[1]):
        ndvi = read_ndvi(source, window, ds)
        pixels += ndvi.size
        valid += int(np.isfinite(ndvi).sum())
    return Sample(pixels, valid)
