"""What users download, resolved into the bands NDVI is read from.

:func:`resolve_source` turns an :class:`~.ndvi.NdviSource` whose path is a container into one whose
paths are the product's bands, with the product's QA layer as its mask (unless the source gives a
mask, or ``mask_path=""`` to use none):

* MODIS HDF4 granules (MOD09GQ/MYD09GQ, MOD09GA/MYD09GA, MOD13Q1/MYD13Q1, MCD43A4): the ``.hdf``
  file, or any of its subdatasets as QGIS lists them (``HDF4_EOS:EOS_GRID:"f.hdf":MODIS_Grid_2D:
  sur_refl_b01_1``); the product follows the file name, the subdatasets the product's names;
* Sentinel-2 L2A as downloaded: the ``.SAFE`` folder, its ``.zip``, its ``MTD_MSIL2A.xml`` or a
  ``SENTINEL2_L2A:`` subdataset: B04 and B08 at 10 m, SCL at 20 m; the processing baseline (and so
  the -1000 offset of baseline 04.00+) from the metadata;
* a loose Sentinel-2 ``..._B04_10m.jp2`` (or ``.tif``): its B08 and SCL beside it;
* Landsat Collection 2 Level-2: the scene folder, its ``_MTL`` file or any of its band files:
  red and NIR by sensor (L4/L5/L7 ``SR_B3``/``SR_B4``, L8/L9 ``SR_B4``/``SR_B5``), ``QA_PIXEL``.

Anything else is returned unchanged (plain GeoTIFFs, stacks, ENVI files).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

from osgeo import gdal

from ..errors import InputError
from .ndvi import NdviSource
from .products import get_product

log = logging.getLogger("tsstfn")

_HDF_PREFIX = re.compile(r'^(HDF4_EOS:EOS_GRID|HDF4_SDS:[A-Z_0-9]+|HDF5):"?(?P<file>[^"]+)"?:', re.I)
_MODIS_NAME = re.compile(r"^(MOD|MYD|MCD)(09GQ|09GA|13Q1|43A4)\.", re.I)
_S2_CONNECTION = re.compile(r"^SENTINEL2_L2A:(?P<file>.+?MTD_MSIL2A\.xml)(:|$)", re.I)
_S2_BAND = re.compile(r"^(?P<stem>.*)_B04(?P<res>_10m)?\.(?P<ext>jp2|tif|tiff)$", re.I)
_LANDSAT = re.compile(r"^(?P<scene>L(?P<sensor>[COTE])(?P<mission>0[4-9])_L2SP_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT))", re.I)


def container_file(path: str) -> str:
    """The file behind a GDAL connection string (an HDF or Sentinel-2 subdataset), else ``path``."""
    for pattern in (_HDF_PREFIX, _S2_CONNECTION):
        m = pattern.match(path)
        if m:
            return m.group("file")
    return path


def resolve_source(source: NdviSource) -> NdviSource:
    """``source`` with its container resolved into bands, product and QA mask (see the module docstring).

    Raises:
        InputError: a container whose bands cannot be found, naming it and what is missing.
    """
    path = source.path
    file = container_file(path)
    name = Path(file).name
    if file.lower().endswith((".hdf", ".hdf4", ".h4")) or _HDF_PREFIX.match(path):
        return _modis_hdf(source, file)
    if _S2_CONNECTION.match(path) or name.upper().endswith(".SAFE") or name == "MTD_MSIL2A.xml":
        return _sentinel2_safe(source, str(Path(file).parent) if name == "MTD_MSIL2A.xml" else file)
    if name.lower().endswith(".zip") and "MSIL2A" in name.upper():
        return _sentinel2_safe(source, f"/vsizip/{file}")
    landsat = _LANDSAT.match(name)
    if landsat or (Path(file).is_dir() and list(Path(file).glob("L*_L2SP_*_SR_B*.TIF"))):
        return _landsat(source, Path(file))
    band = _S2_BAND.match(name)
    if band and source.nir_path is None and source.product.startswith("s2_l2a"):
        return _loose_sentinel2(source, Path(file), band)
    return source


def _with_mask(source: NdviSource, mask: str | None, kind: str | None) -> NdviSource:
    """The product's QA layer as mask, unless the source has one (``""`` means: none)."""
    if source.mask_path is not None or mask is None:
        return source
    log.info("%s: using %s as its mask (%s)", source.label, Path(container_file(mask)).name, kind)
    return replace(source, mask_path=mask, mask_kind=source.mask_kind or kind)


# MODIS HDF ----------------------------------------------------------------------------------


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


def _find(subs: list[tuple[str, str]], wanted: str) -> str | None:
    """The subdataset named ``wanted``: the end of its name (HDF-EOS), or a whole phrase of its description."""
    key = wanted.lower()
    for name, description in subs:
        if name.rsplit(":", 1)[-1].strip('"').lower() == key or f" {key} " in f" {description.lower()} ":
            return name
    return None


def _modis_hdf(source: NdviSource, file: str) -> NdviSource:
    m = _MODIS_NAME.match(Path(file).name)
    product = source.product
    if m:
        product = {"09GQ": "mod09gq", "09GA": "mod09ga", "13Q1": "mod13q1", "43A4": "mcd43a4"}[m.group(2).upper()]
    spec = get_product(product, source.label)
    if not spec.subdatasets:
        raise InputError(
            f"'{source.label}' is an HDF file; set its product (mod09gq, mod09ga, mod13q1, mcd43a4) so that its "
            "subdatasets can be found, or choose one subdataset as the layer and the product 'ndvi' or 'red_nir'."
        )
    subs = _subdatasets(file, source.label)
    found = {role: _find(subs, sds) for role, sds in spec.subdatasets.items()}
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
    return _with_mask(out, found.get("mask"), spec.mask_kind)


# Sentinel-2 ---------------------------------------------------------------------------------


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


def _sentinel2_safe(source: NdviSource, root: str) -> NdviSource:
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
    return _with_mask(out, one(r"_SCL_20m\.(jp2|tif)$"), "scl")


def _loose_sentinel2(source: NdviSource, file: Path, m: re.Match) -> NdviSource:
    nir = file.with_name(f"{m.group('stem')}_B08{m.group('res') or ''}.{m.group('ext')}")
    if not nir.exists():
        return source
    scl = sorted(file.parent.glob(f"{m.group('stem')}_SCL*.*")) + sorted(
        file.parent.parent.glob(f"R20m/{m.group('stem')}_SCL*.*")
    )
    out = replace(source, nir_path=str(nir), red_band=1, nir_band=1)
    return _with_mask(out, str(scl[0]) if scl else None, "scl")


# Landsat ------------------------------------------------------------------------------------


def _landsat(source: NdviSource, file: Path) -> NdviSource:
    folder = file if file.is_dir() else file.parent
    m = _LANDSAT.match(file.name) if not file.is_dir() else None
    if m is None:
        first = sorted(folder.glob("L*_L2SP_*_SR_B*.TIF"))
        m = _LANDSAT.match(first[0].name) if first else None
    if m is None:
        raise InputError(f"'{source.label}': no Landsat Collection 2 Level-2 band files (..._SR_B4.TIF) in {folder}.")
    scene, mission = m.group("scene"), int(m.group("mission"))
    red_b, nir_b = (4, 5) if mission >= 8 else (3, 4)

    def band(suffix: str) -> Path | None:
        hits = sorted(folder.glob(f"{scene}_{suffix}.TIF")) + sorted(folder.glob(f"{scene}_{suffix}.tif"))
        return hits[0] if hits else None

    red, nir = band(f"SR_B{red_b}"), band(f"SR_B{nir_b}")
    if red is None or nir is None:
        raise InputError(
            f"'{source.label}': Landsat {mission} needs {scene}_SR_B{red_b}.TIF (red) and _SR_B{nir_b}.TIF (NIR) in {folder}."
        )
    qa = band("QA_PIXEL")
    out = replace(
        source, path=str(red), nir_path=str(nir), product="landsat_c2l2", red_band=1, nir_band=1, name=source.name or scene
    )
    return _with_mask(out, str(qa) if qa else None, "qa_pixel")
