"""Sorting a list of rasters into the job's tables: reference pairs, base pairs, targets.

Rules (the dialog shows the result and lets the analyst edit it):

* the date comes from the name or metadata (:func:`~.dates.detect_date`); a stack whose bands hold
  two different dates or more (:func:`~.dates.stack_dates`: band descriptions, a timeline file
  beside it; or dates the dialog sets in :attr:`RasterInfo.band_dates` from the user's start and
  step, :func:`~.dates.band_dates`) gives one entry per band, ``{"path": ..., "band": k}``;
* a raster (or a stack's band) without a date still gets its row, with an empty date, in
  ``undated_rows`` (the dialog puts them where the user types the date), and is named in
  ``undated``; one named like a class or sample raster (``labels_2021``, the readers' ``labels``
  hint) is listed in ``skipped`` instead;
* what a name says comes from the readers' hints (:class:`~.readers.base.Hints`, asked through
  :func:`~.readers.named`): a raster is MODIS when its name or nearest folders name the coarse
  sensor (``MOD09``, ``MYD13``, ``MCD43``, ``MODIS``, ...) or its pixels are 100 m or larger; a
  fine-mask raster (Sentinel-2 ``SCL`` in the name) is the cloud mask of the Sentinel-2 raster of
  its date; everything else is Sentinel-2;
* a raster that does not fit its column's product (:func:`unfit_reason`: band count, pixel size,
  data type, a class or mask raster) is left out and listed in ``skipped`` with the reason; of two
  rasters of one date and kind the first is kept and the other listed;
* the latest year is the prediction year, the year before it the reference year;
* prediction-year dates on or after ``season_cutoff`` (default 1 July) are targets (their
  Sentinel-2, if any, is kept to score the fusion); earlier ones with both rasters are base pairs.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from osgeo import gdal, osr

from ..errors import DateError
from ..files import open_raster
from .dates import detect_date, stack_dates
from .grid import has_real_crs, pixel_size_of, real_crs_wkt
from .products import Product
from .readers import named, reader_for

#: pixels this large or larger are coarse (MODIS is 231-1000 m; Sentinel-2 and Landsat are 10-60 m)
COARSE_PIXEL_M = 100.0


@dataclass(frozen=True)
class RasterInfo:
    """A layer as the inventory sees it: its name, its source, its pixel size and, for a stack, each band's date.

    ``band_dates`` is one date (or None) per band for a stack of dates, ``()`` for an image of one
    date; the dialog may replace it (``dataclasses.replace``) with the dates the user gives
    (:func:`~.dates.band_dates` with a start and step, or composites) and sort again. ``has_crs`` is
    False without a CRS and with a local one (:func:`~.grid.has_real_crs`); ``pixel_size`` is then
    the geotransform's (1.0 for GDAL's identity).
    """

    name: str
    path: str
    pixel_size: float = 10.0
    band_dates: tuple[dt.date | None, ...] = ()
    band_count: int = 1
    integer: bool = True
    classes: bool = False  # a colour table, class names or an attribute table: a class raster
    has_crs: bool = True
    reader: str = ""  # the reader that recognises its path (readers.reader_for), "" when not asked


def raster_info(path: str, name: str | None = None) -> RasterInfo:
    """What the inventory needs of the raster at ``path`` (one header read; no pixel).

    Raises:
        InputError: the raster cannot be opened (names it).
    """
    name = name or os.path.basename(path)
    ds = open_raster(path, name)
    reader = reader_for(path)
    band = ds.GetRasterBand(1)
    pixel = abs(ds.GetGeoTransform()[1])
    wkt = real_crs_wkt(ds)
    srs = osr.SpatialReference(wkt=wkt) if wkt else None
    if srs is not None and srs.IsGeographic():
        pixel *= 111_320.0  # degrees -> metres at the equator: enough to tell 250 m from 10 m
    elif srs is None:
        pixel = pixel_size_of(ds) or 1.0  # a pixel grid: the geotransform's size, in metres where a local CRS says
    dtype = gdal.GetDataTypeName(band.DataType)
    classes = band.GetColorTable() is not None or bool(band.GetCategoryNames()) or band.GetDefaultRAT() is not None
    return RasterInfo(
        name,
        path,
        pixel,
        tuple(stack_dates(path)) if ds.RasterCount > 1 else (),
        ds.RasterCount,
        dtype.startswith(("Byte", "Int", "UInt")),
        classes,
        has_real_crs(ds),
        reader.name if reader else "",
    )


def unfit_reason(info: RasterInfo, product: Product, column: str) -> str | None:
    """Why ``info`` cannot be the ``column`` (``coarse`` or ``fine``) raster of ``product``; None when it can.

    The rules look at what a header says: a class raster (colour table, class names) or a cloud/QA
    mask is no image; a coarse column takes no raster named after a fine sensor, a fine column no
    raster named after MODIS or with pixels of 100 m or more; a red/NIR product with fixed bands needs
    that many bands unless the raster is a container or one band file of a set; a product stored as
    integer DN is not a floating-point raster.
    """
    sensor = "MODIS" if column == "coarse" else "fine-sensor"
    if info.classes:
        return f"a class raster (it has a colour table or class names), not a {sensor} image"
    if named("fine_mask", info.name) or named("mask", info.name):
        return f"a cloud/QA mask (by its name), not a {sensor} image; masks go in the mask column"
    reason = sensor_reason(info, column)
    if reason:
        return reason
    container = named("container", info.path) or named("band_file", info.name)
    if product.kind == "red_nir" and product.red_band and product.nir_band and not container:
        needed = max(product.red_band, product.nir_band)
        if info.band_count < needed:
            return (
                f"{info.band_count} band(s), but '{product.name}' needs red (band {product.red_band}) and NIR "
                f"(band {product.nir_band}); for single-band NDVI choose the product 'ndvi'"
            )
    if product.valid_dn is not None and not info.integer and not container:
        return f"floating-point values, but '{product.name}' stores integer counts; for NDVI choose the product 'ndvi'"
    return None


def sensor_reason(info: RasterInfo, column: str) -> str | None:
    """Why ``info`` is the other sensor's raster for ``column``; None when it may be this column's.

    The coarse column takes no raster named after a fine sensor (Sentinel-2, Landsat); the fine
    column none named after MODIS (its name or nearest folders) nor with pixels of 100 m or more.
    """
    if column == "coarse" and named("fine", info.name) and not named("coarse", info.name):
        return "named like a Sentinel-2 or Landsat raster, not MODIS"
    if column == "fine":
        if named("coarse", _sensor_hint(info)):
            return "named like a MODIS raster, not a fine-sensor image"
        if info.has_crs and info.pixel_size >= COARSE_PIXEL_M:
            return f"pixels of {info.pixel_size:.0f} m: a coarse (MODIS) raster, not a fine-sensor image"
    return None


@dataclass
class Tables:
    """The job's tables as rows ``{date, coarse, fine, fine_mask}``, and what could not be placed.

    A raster is a path, or ``{path, band}`` for a band of a stack. ``undated_rows`` holds a row with
    ``date`` ``""`` for every raster or stack band whose date is unknown (in its column, one raster
    per row), in the order given; ``undated`` names them.
    """

    reference: list[dict] = field(default_factory=list)
    prediction: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    undated: list[str] = field(default_factory=list)
    undated_rows: list[dict] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # dates missing MODIS or Sentinel-2
    skipped: list[str] = field(default_factory=list)  # "name: why" for rasters that fit no column


def kind_of(info: RasterInfo) -> str:
    """``modis``, ``sentinel2``, ``scl`` or ``classes``: what a layer is, by its name, pixel size and colour table."""
    if info.classes:
        return "classes"
    if named("fine_mask", info.name):
        return "scl"
    if named("coarse", _sensor_hint(info)) or (info.has_crs and info.pixel_size >= COARSE_PIXEL_M):
        return "modis"
    return "sentinel2"


def _sensor_hint(info: RasterInfo) -> str:
    """The name and the two nearest folders (``modis/filled/x.tif``): where benchmark sets say the sensor.

    MODIS already resampled onto the fine grid has fine pixels; only its name or folder tells.
    A folder's own name is used only when no fine sensor is named nearer (``landsat/`` under ``..._modis/``).
    """
    folders = [f for f in os.path.normpath(info.path).split(os.sep)[-3:-1] if f]
    return " ".join([info.name, *folders]) if not any(named("fine", f) for f in folders) else info.name


#: the critical season ``((month, day), (month, day))``: July to September, the paper's cloudy months (one definition)
CRITICAL_SEASON = ((7, 1), (9, 30))


def build_tables(
    rasters: list[RasterInfo],
    season_cutoff: tuple[int, int] = CRITICAL_SEASON[0],
    coarse_product: Product | None = None,
    fine_product: Product | None = None,
) -> Tables:
    """Sort ``rasters`` into the reference, prediction and target tables by date (rules in the module docstring).

    With ``coarse_product`` and ``fine_product``, a raster goes into a column only when it fits that
    column's product (:func:`unfit_reason`); the others are listed in ``skipped``.
    """
    tables = Tables()
    by_date: dict[dt.date, dict[str, object]] = {}
    names: dict[tuple[dt.date, str], str] = {}
    products = {"modis": ("coarse", coarse_product), "sentinel2": ("fine", fine_product)}

    def undated(kind: str, value: object, name: str) -> None:
        tables.undated.append(name)
        row: dict[str, object] = {"date": "", "coarse": None, "fine": None, "fine_mask": None}
        row[{"modis": "coarse", "sentinel2": "fine", "scl": "fine_mask"}[kind]] = value
        tables.undated_rows.append(row)

    def place(date: dt.date, kind: str, value: object, name: str) -> None:
        if (date, kind) in names:
            tables.skipped.append(f"{name}: a second {kind} raster of {date.isoformat()} (kept {names[date, kind]})")
            return
        names[date, kind] = name
        by_date.setdefault(date, {})[kind] = value

    for info in rasters:
        kind = kind_of(info)
        if kind == "classes":
            what = "a cloud/QA mask (by its name)" if named("mask", info.name) else "a class raster (labels)"
            tables.skipped.append(f"{info.name}: {what}, not an image")
            continue
        column, product = products.get(kind, ("", None))
        reason = unfit_reason(info, product, column) if product is not None else None
        if reason:
            tables.skipped.append(f"{info.name}: {reason}")
            continue
        if any(info.band_dates):  # a dated stack: one entry per band, dated or not
            for band, band_date in enumerate(info.band_dates, start=1):
                value = {"path": info.path, "band": band}
                if band_date is None:
                    undated(kind, value, f"{info.name} band {band}")
                else:
                    place(band_date, kind, value, f"{info.name} band {band}")
            continue
        try:
            date = detect_date(info.name, path=info.path)
        except DateError:
            if named("labels", info.name):
                tables.skipped.append(f"{info.name}: no date, and named like a class or sample raster, not an image")
            else:
                undated(kind, info.path, info.name)
            continue
        place(date, kind, info.path, info.name)
    if not by_date:
        return tables
    prediction_year = max(d.year for d in by_date)
    for date in sorted(by_date):
        entry = by_date[date]
        row = {
            "date": date.isoformat(),
            "coarse": entry.get("modis"),
            "fine": entry.get("sentinel2"),
            "fine_mask": entry.get("scl"),
        }
        if date.year == prediction_year and date >= dt.date(date.year, *season_cutoff):
            if row["coarse"]:
                tables.targets.append(row)
            else:
                tables.incomplete.append(f"{date.isoformat()}: target date without MODIS")
            continue
        if not (row["coarse"] and row["fine"]):
            tables.incomplete.append(f"{date.isoformat()}: {'MODIS' if not row['coarse'] else 'fine image'} missing")
            continue
        if date.year == prediction_year:
            tables.prediction.append(row)
        elif date.year == prediction_year - 1:
            tables.reference.append(row)
    return tables
