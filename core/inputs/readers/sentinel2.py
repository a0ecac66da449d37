"""Sentinel-2 L2A as downloaded: the SAFE folder, its zip, its metadata file, or loose band files.

* the ``.SAFE`` folder, its ``.zip``, its ``MTD_MSIL2A.xml`` or a ``SENTINEL2_L2A:`` subdataset:
  B04 and B08 at 10 m, SCL at 20 m as mask; the processing baseline (and so the -1000 offset of
  baseline 04.00+) from the metadata;
* a loose ``..._B04_10m.jp2`` (or ``.tif``) of product ``s2_l2a``/``s2_l2a_legacy``: its B08 and SCL
  beside it (or in ``../R20m``).

Names carry the sensing date: products ``S2B_MSIL2A_20210731T025549_N0301_R032_T51TXM_...`` (the
first date; the second is the processing date) and tile band files ``T51TXM_20210731T025549_B04_10m``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from osgeo import gdal

from ...errors import InputError
from ..ndvi import NdviSource
from .base import DatePattern, Hints, Reader, log, with_mask, ymd

_CONNECTION = re.compile(r"^SENTINEL2_L2A:(?P<file>.+?MTD_MSIL2A\.xml)(:|$)", re.I)
_BAND = re.compile(r"^(?P<stem>.*)_B04(?P<res>_10m)?\.(?P<ext>jp2|tif|tiff)$", re.I)
_METADATA = "MTD_MSIL2A.xml"


def connection_file(path: str) -> str | None:
    """The ``MTD_MSIL2A.xml`` behind a ``SENTINEL2_L2A:`` subdataset, else None."""
    m = _CONNECTION.match(path)
    return m.group("file") if m else None


def _is_product(path: str, name: str) -> bool:
    """A SAFE folder, its metadata file or a subdataset of it (not its zip)."""
    return bool(_CONNECTION.match(path)) or name.upper().endswith(".SAFE") or name == _METADATA


def _is_zip(name: str) -> bool:
    return name.lower().endswith(".zip") and "MSIL2A" in name.upper()


def matches(path: str) -> bool:
    """A SAFE folder, its zip, its ``MTD_MSIL2A.xml``, a ``SENTINEL2_L2A:`` subdataset or a ``_B04`` band file."""
    name = Path(connection_file(path) or path).name
    return _is_product(path, name) or _is_zip(name) or bool(_BAND.match(name))


def resolve(source: NdviSource) -> NdviSource:
    """B04 and B08 with SCL as mask, and the product the processing baseline says (see the module docstring).

    Raises:
        InputError: a product without its 10 m B04 and B08 band files.
    """
    file = connection_file(source.path) or source.path
    name = Path(file).name
    if _is_product(source.path, name):
        return _safe(source, str(Path(file).parent) if name == _METADATA else file)
    if _is_zip(name):
        return _safe(source, f"/vsizip/{file}")
    band = _BAND.match(name)
    if band and source.nir_path is None and source.product.startswith("s2_l2a"):
        return _loose(source, Path(file), band)
    return source


def _list(root: str) -> list[str]:
    if root.startswith("/vsizip/"):
        return [f"{root}/{p}" for p in (gdal.ReadDirRecursive(root) or [])]
    return [str(p) for p in Path(root).rglob("*")]


def _read_text(path: str) -> str:
    if path.startswith("/vsi"):
        fp = gdal.VSIFOpenL(path, "rb")
        if fp is None:
            return ""
        try:
            data = b""
            while chunk := gdal.VSIFReadL(1, 1 << 20, fp):
                data += chunk
            return data.decode("utf-8", "replace")
        finally:
            gdal.VSIFCloseL(fp)
    return Path(path).read_text(errors="replace")


def _baseline_product(metadata_xml: str) -> str | None:
    """``s2_l2a`` for processing baseline 04.00+ (or a declared BOA_ADD_OFFSET), ``s2_l2a_legacy`` before."""
    text = _read_text(metadata_xml)
    offset = re.search(r"<BOA_ADD_OFFSET[^>]*>\s*(-?\d+)", text)
    if offset:
        return "s2_l2a" if int(offset.group(1)) != 0 else "s2_l2a_legacy"
    baseline = re.search(r"<PROCESSING_BASELINE>\s*(\d+)\.(\d+)", text)
    if baseline:
        return "s2_l2a" if int(baseline.group(1)) >= 4 else "s2_l2a_legacy"
    return None


def _safe(source: NdviSource, root: str) -> NdviSource:
    files = _list(root)

    def one(pattern: str) -> str | None:
        hits = sorted(f for f in files if re.search(pattern, Path(f).name, re.I))
        return hits[0] if hits else None

    red, nir = one(r"_B04_10m\.(jp2|tif)$"), one(r"_B08_10m\.(jp2|tif)$")
    if red is None or nir is None:
        raise InputError(
            f"'{source.label}': no B04 and B08 10 m band files in the Sentinel-2 product {Path(root).name}; "
            "is it a complete L2A product (GRANULE/*/IMG_DATA/R10m)?"
        )
    metadata = one(r"^MTD_MSIL2A\.xml$")
    product = (_baseline_product(metadata) if metadata else None) or source.product
    if product != source.product:
        log.info("%s: processing baseline from its metadata: product %s", source.label, product)
    out = replace(source, path=red, nir_path=nir, product=product, red_band=1, nir_band=1, name=source.name or Path(root).name)
    return with_mask(out, one(r"_SCL_20m\.(jp2|tif)$"), "scl")


def _loose(source: NdviSource, file: Path, m: re.Match[str]) -> NdviSource:
    nir = file.with_name(f"{m.group('stem')}_B08{m.group('res') or ''}.{m.group('ext')}")
    if not nir.exists():
        return source
    scl = sorted(file.parent.glob(f"{m.group('stem')}_SCL*.*")) + sorted(
        file.parent.parent.glob(f"R20m/{m.group('stem')}_SCL*.*")
    )
    out = replace(source, nir_path=str(nir), red_band=1, nir_band=1)
    return with_mask(out, str(scl[0]) if scl else None, "scl")


READER = Reader(
    "sentinel2",
    "Sentinel-2 L2A: the .SAFE folder, its .zip, MTD_MSIL2A.xml, a SENTINEL2_L2A: subdataset, or loose B04/B08 files; "
    "SCL as mask.",
    matches,
    resolve,
    products=("s2_l2a", "s2_l2a_legacy"),
    dates=(
        DatePattern(re.compile(r"S2[ABCD]_MSI[A-Z0-9]{3}_(\d{8})T\d{6}", re.I), lambda m: ymd(m.group(1))),
        DatePattern(re.compile(r"(?:^|[^A-Z0-9])T\d{2}[A-Z]{3}_(\d{8})T\d{6}", re.I), lambda m: ymd(m.group(1))),
    ),
    hints=Hints(
        fine=re.compile(r"((^|[^A-Z0-9])T\d\d[A-Z]{3}_|S2[A-D]_|SENTINEL.?2|(^|[^A-Z])B0?[48]([^0-9]|$))", re.I),
        fine_mask=re.compile(r"(^|[^A-Z])SCL([^A-Z]|$)", re.I),
        band_file=re.compile(r"_B0?\d", re.I),
        container=re.compile(r"(\.(zip|safe|xml)$|^SENTINEL2)", re.I),
    ),
    connection=connection_file,
    priority=20,
    metadata_keys=("DATATAKE_1_DATATAKE_SENSING_START", "SENSING_TIME", "PRODUCT_START_TIME"),
)
