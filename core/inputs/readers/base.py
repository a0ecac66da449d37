"""What a reader is: a :class:`Reader` entry, its :class:`DatePattern` s and :class:`Hints`, and helpers readers share.

A reader knows one family of downloads (Sentinel-2, Landsat, MODIS HDF, ENVI sets, plain GeoTIFFs):
how to recognise a path of it, how to resolve such a path into the bands NDVI is read from and its
QA mask, the dates in its names, the names that tell its sensor or mark its masks, and which
products of :data:`~..products.PRODUCTS` it serves. The registry in :mod:`..readers` asks the
readers in a fixed order; nothing outside a reader's module holds its patterns.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..ndvi import NdviSource
from ..products import MaskKind, Product, get_product

log = logging.getLogger("tsstfn")

#: the priority of a reader that does not say (the five families use 10-40 and, for the generic one, 1000)
DEFAULT_PRIORITY = 500


@dataclass(frozen=True)
class DatePattern:
    """A date in file or layer names.

    Attributes:
        regex: searched in the name (without its folders).
        to_date: a match -> its date, or None (an impossible date such as month 13 may also raise
            ``ValueError``; both mean: no date here).
        every: try every match in turn (``finditer``) instead of only the first (``search``).
    """

    regex: re.Pattern[str]
    to_date: Callable[[re.Match[str]], dt.date | None]
    every: bool = False

    def dates(self, name: str) -> Iterator[dt.date]:
        """The dates this pattern finds in ``name``, in order (impossible ones left out)."""
        matches = self.regex.finditer(name) if self.every else [m for m in [self.regex.search(name)] if m]
        for m in matches:
            try:
                date = self.to_date(m)
            except ValueError:
                continue
            if date is not None:
                yield date


@dataclass(frozen=True)
class Hints:
    """What names tell the inventory (the dialog's *Fill*) about a raster of this family; None: nothing.

    Every pattern is searched case-insensitively as written; the inventory asks whether *any*
    registered reader's pattern of a kind is found.

    Attributes:
        coarse: a name (or nearest folder) that says the coarse sensor (``MOD09``, ``MODIS``).
        fine: a name that says a fine sensor (a Sentinel-2 tile, ``LC08_``, ``SR_B4``).
        fine_mask: the cloud mask of the fine image of its date (Sentinel-2 ``SCL``): it goes in the
            fine mask column.
        mask: a cloud/QA mask that is no image (``QA_PIXEL``, ``state_1km``): left out of the tables.
        band_file: one band file of a set whose other bands the reader finds (searched in the name),
            so it need not hold the product's red and NIR itself.
        container: a container or connection the reader resolves into bands (searched in the path).
        labels: a raster of classes or samples, not an image (``labels``, ``classes``): a raster
            without a date so named is left out of the tables instead of getting an undated row.
    """

    coarse: re.Pattern[str] | None = None
    fine: re.Pattern[str] | None = None
    fine_mask: re.Pattern[str] | None = None
    mask: re.Pattern[str] | None = None
    band_file: re.Pattern[str] | None = None
    container: re.Pattern[str] | None = None
    labels: re.Pattern[str] | None = None


#: the names of :class:`Hints`' fields, for :func:`..readers.named`
HINT_KINDS = tuple(f.name for f in fields(Hints))


@dataclass(frozen=True)
class Reader:
    """One family of downloads, as the registry (:data:`..readers.READERS`) holds it.

    Attributes:
        name: the registry key (``sentinel2``).
        description: one line for the docs.
        match: a path (file, folder or GDAL connection string) -> whether it is of this family.
        resolve: a source whose path this reader matched -> the source with its bands, product and
            QA mask (:func:`with_mask`); a source it cannot improve is returned unchanged.
        products: the keys of :data:`~..products.PRODUCTS` it serves (its own new ones included).
        dates: the date patterns of its names, tried in order.
        hints: what its names tell the inventory.
        connection: a GDAL connection string of this family -> the file behind it, else None
            (``HDF4_EOS:EOS_GRID:"f.hdf":grid:sds`` -> ``f.hdf``).
        priority: readers are asked in increasing priority, ties in registration order.
        new_products: products of a new sensor that registering the reader adds to the end of
            :data:`~..products.PRODUCTS` (and unregistering it removes).
        new_mask_kinds: likewise, mask kinds added to :data:`~..products.MASK_KINDS`.
        text_dates: date patterns for band names, band descriptions and metadata values only (too
            loose for file names, e.g. ENVI's ``TM05-24-01``), tried after every reader's
            ``dates``.
        metadata_keys: GDAL metadata keys (any domain, upper case) that hold its acquisition date,
            e.g. ``DATE_ACQUIRED``; asked in the registry's order.
    """

    name: str
    description: str
    match: Callable[[str], bool]
    resolve: Callable[[NdviSource], NdviSource]
    products: tuple[str, ...] = ()
    dates: tuple[DatePattern, ...] = ()
    hints: Hints = field(default_factory=Hints)
    connection: Callable[[str], str | None] | None = None
    priority: int = DEFAULT_PRIORITY
    new_products: tuple[Product, ...] = ()
    new_mask_kinds: tuple[MaskKind, ...] = ()
    text_dates: tuple[DatePattern, ...] = ()
    metadata_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check that its products exist or are its own new ones (an :class:`~..errors.InputError` names one that is not)."""
        own = {p.name for p in self.new_products}
        for product in self.products:
            if product not in own:
                get_product(product, f"reader {self.name}")


def unchanged(source: NdviSource) -> NdviSource:
    """``source`` as it is: the resolver of a family whose files GDAL reads as they are."""
    return source


def ymd(text: str) -> dt.date | None:
    """``YYYYMMDD`` as a date, or None."""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def year_doy(year: int | str, day: int | str) -> dt.date | None:
    """Day ``day`` (1-based) of ``year`` as a date, or None when the year has no such day."""
    y, d = int(year), int(day)
    if not 1 <= d <= (366 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 365):
        return None
    return dt.date(y, 1, 1) + dt.timedelta(days=d - 1)


def century(year: int | str) -> int:
    """A two-digit year as a four-digit one: ``72``-``99`` are 1972-1999 (Landsat 1 on), ``00``-``71`` 2000-2071."""
    y = int(year)
    return y if y >= 100 else (1900 + y if y >= 72 else 2000 + y)


def day_month(first: int | str, second: int | str, year: int | str, separator: str) -> dt.date | None:
    """A date written ``first<sep>second<sep>year`` with day and month in an order the text does not say.

    The rule: a number above 12 is the day (``24-05-2001`` and ``05-24-2001`` are both 24 May). When
    both could be the month, a dot means day first (``05.07.2021`` is 5 July, the dotted European
    form) and any other separator month first (``07-11-01`` is 11 July 2001, the US order of ENVI
    headers such as ESTARFM's ``TM07-11-01`` and of USGS tools). Two-digit years as :func:`century`.
    None when neither order is a date.
    """
    a, b, y = int(first), int(second), century(year)
    if a > 12 or (separator == "." and b <= 12):
        day, month = a, b
    else:
        month, day = a, b
    try:
        return dt.date(y, month, day)
    except ValueError:
        return None


def with_mask(source: NdviSource, mask: str | None, kind: str | None, shown: str | None = None) -> NdviSource:
    """``source`` with the product's QA layer ``mask`` of ``kind``, unless the source names one (``""``: none).

    ``shown`` is what the log calls the mask (default: its file name).
    """
    if source.mask_path is not None or mask is None:
        return source
    log.info("%s: using %s as its mask (%s)", source.label, shown or Path(mask).name, kind)
    return replace(source, mask_path=mask, mask_kind=source.mask_kind or kind)
