"""MODIS HDF4 granules: MOD09GQ/MYD09GQ, MOD09GA/MYD09GA, MOD13Q1/MYD13Q1, MCD43A4.

A path is the ``.hdf`` file or any of its subdatasets as QGIS lists them
(``HDF4_EOS:EOS_GRID:"f.hdf":MODIS_Grid_2D:sur_refl_b01_1``); the product follows the file name,
the subdatasets the product's names (:attr:`~..products.Product.subdatasets`), the QA subdataset
becomes the mask. Names carry the date as ``AYYYYDDD`` (day of year):
``MOD09GQ.A2021212.h26v04.061.2021214043538``, or, as MODIStsp writes them, ``YYYY_DDD``
(``MOD13Q1_NDVI_2020_065.tif``); metadata as ``RANGEBEGINNINGDATE``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from osgeo import gdal

from ...errors import InputError
from ..ndvi import NdviSource
from ..products import get_product
from .base import DatePattern, Hints, Reader, with_mask, year_doy

_HDF_PREFIX = re.compile(r'^(HDF4_EOS:EOS_GRID|HDF4_SDS:[A-Z_0-9]+|HDF5):"?(?P<file>[^"]+)"?:', re.I)
_NAME = re.compile(r"^(MOD|MYD|MCD)(09GQ|09GA|13Q1|43A4)\.", re.I)
_PRODUCT_OF = {"09GQ": "mod09gq", "09GA": "mod09ga", "13Q1": "mod13q1", "43A4": "mcd43a4"}
_SUFFIXES = (".hdf", ".hdf4", ".h4")


def connection_file(path: str) -> str | None:
    """The HDF file behind a subdataset's connection string, else None."""
    m = _HDF_PREFIX.match(path)
    return m.group("file") if m else None


def matches(path: str) -> bool:
    """An HDF file (``.hdf``, ``.hdf4``, ``.h4``) or a subdataset of one."""
    return (connection_file(path) or path).lower().endswith(_SUFFIXES) or _HDF_PREFIX.match(path) is not None


def _subdatasets(file: str, label: str) -> list[tuple[str, str]]:
    """``(name, description)`` of each subdataset; GDAL-written HDF4 files name theirs in metadata."""
    try:
        ds = gdal.Open(file)
    except RuntimeError as exc:
        raise InputError(f"GDAL cannot read the HDF file of '{label}' ({file}): {exc}.") from None
    subs = list(ds.GetSubDatasets())
    meta = ds.GetMetadata() or {}
    if not subs and ds.RasterCount:  # a file of one subdataset opens as that subdataset
        return [(file, f"{ds.GetRasterBand(1).GetDescription()} {meta.get('BandDesc1', '')}")]
    return [(n, f"{d} {meta.get(f'BandDesc{i + 1}', '')}") for i, (n, d) in enumerate(subs)]


def find_subdataset(subs: list[tuple[str, str]], wanted: str) -> str | None:
    """The subdataset named ``wanted``: the end of its name (HDF-EOS), or a whole phrase of its description."""
    key = wanted.lower()
    for name, description in subs:
        if name.rsplit(":", 1)[-1].strip('"').lower() == key or f" {key} " in f" {description.lower()} ":
            return name
    return None


def resolve(source: NdviSource) -> NdviSource:
    """The product's red and NIR (or NDVI) subdatasets, its QA subdataset as mask.

    Raises:
        InputError: the product has no subdataset names (set it), or a subdataset is missing.
    """
    file = connection_file(source.path) or source.path
    m = _NAME.match(Path(file).name)
    product = _PRODUCT_OF[m.group(2).upper()] if m else source.product
    spec = get_product(product, source.label)
    if not spec.subdatasets:
        raise InputError(
            f"'{source.label}' is an HDF file; set its product (mod09gq, mod09ga, mod13q1, mcd43a4) so that its "
            "subdatasets can be found, or choose one subdataset as the layer and the product 'ndvi' or 'red_nir'."
        )
    subs = _subdatasets(file, source.label)
    found = {role: find_subdataset(subs, sds) for role, sds in spec.subdatasets.items()}
    needed = ("ndvi",) if spec.is_ndvi else ("red", "nir")
    missing = [spec.subdatasets[r] for r in needed if found.get(r) is None]
    if missing:
        raise InputError(
            f"The HDF file of '{source.label}' ({Path(file).name}) has no subdataset {', '.join(missing)} of product "
            f"{product}; it holds: {', '.join(n.rsplit(':', 1)[-1] for n, _ in subs) or 'none'}."
        )
    name = source.name or Path(file).name
    if spec.is_ndvi:
        out = replace(source, path=str(found["ndvi"]), product=product, band=1, name=name)
    else:
        out = replace(source, path=str(found["red"]), nir_path=found["nir"], product=product, red_band=1, nir_band=1, name=name)
    mask = found.get("mask")
    return with_mask(out, mask, spec.mask_kind, Path(connection_file(mask) or mask).name if mask else None)


READER = Reader(
    "modis",
    "MODIS HDF4 granules (MOD09GQ, MOD09GA, MOD13Q1, MCD43A4): the .hdf file or a subdataset; QA subdataset as mask.",
    matches,
    resolve,
    products=("mod09gq", "mod09ga", "mod13q1", "mcd43a4"),
    dates=(
        DatePattern(re.compile(r"(?:^|[._\-])A(\d{4})(\d{3})(?=[._\-]|$)"), lambda m: year_doy(m[1], m[2])),
        # MODIStsp's outputs, MOD13Q1_NDVI_2020_065.tif: year, underscore, day of year
        DatePattern(  # only in a MODIS name: plot_2019_150 is a plot, not 30 May 2019
            re.compile(r"(?:MOD|MYD|MCD)\w*?[._\-](\d{4})_(\d{3})(?=[._\-]|$)", re.I), lambda m: year_doy(m[1], m[2])
        ),
    ),
    hints=Hints(
        coarse=re.compile(r"(MOD\d\d|MYD\d\d|MCD\d\d|MODIS)", re.I),
        mask=re.compile(r"(state_1km|pixel.reliability|Mandatory_Quality)", re.I),
        band_file=re.compile(r"(sur_refl|Nadir_Reflectance)", re.I),
        container=re.compile(r"(\.(hdf|hdf4|h4)$|^HDF4|^HDF5)", re.I),
    ),
    connection=connection_file,
    priority=30,
    metadata_keys=("RANGEBEGINNINGDATE",),
)
