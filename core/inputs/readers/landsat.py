"""Landsat Collection 2 Level-2 surface reflectance: the scene folder, its ``_MTL`` file or any of its band files.

Red and NIR by sensor (L4/L5/L7 ``SR_B3``/``SR_B4``, L8/L9 ``SR_B4``/``SR_B5``), ``QA_PIXEL`` as
mask. Dates in names:

* Collection-1/2 product IDs ``LC08_L2SP_190028_20200409_20200822_02_T1`` (also ``L1TP``,
  ``L1GT``, ``L2SR``, ...): the acquisition date after the path/row (the second date is the
  processing date);
* pre-collection scene IDs ``LC81260382015287LGN00``: sensor, satellite, path, row, year and day of
  year (2015-10-14), then ground station and version;
* metadata: ``DATE_ACQUIRED`` (the ``_MTL`` file's key, as GDAL reports it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from ...errors import InputError
from ..ndvi import NdviSource
from .base import DatePattern, Hints, Reader, with_mask, year_doy, ymd

_SCENE = re.compile(r"^(?P<scene>L(?P<sensor>[COTE])(?P<mission>0[4-9])_L2SP_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT))", re.I)
_BANDS = "L*_L2SP_*_SR_B*.TIF"
#: a pre-collection scene ID: L, sensor, satellite, path, row, year, day of year, station, version
_PRE_COLLECTION = re.compile(r"(?<![A-Z0-9])L[COTEM][1-9]\d{6}(\d{4})(\d{3})[A-Z0-9]{3}\d{2}(?![A-Z0-9])", re.I)
#: a Collection-1/2 product ID: the acquisition date after the path/row
_COLLECTION = re.compile(r"(?<![A-Z0-9])L[COTEM]0\d_L[12][A-Z0-9]{2}_\d{6}_(\d{8})_\d{8}_\d{2}_(?:T1|T2|RT)", re.I)


def _pre_collection_date(m: re.Match[str]) -> dt.date | None:
    return year_doy(m.group(1), m.group(2))


def matches(path: str) -> bool:
    """A file named after a scene (``LC08_L2SP_...``), or a folder holding scene band files."""
    file = Path(path)
    return bool(_SCENE.match(file.name)) or (file.is_dir() and bool(list(file.glob(_BANDS))))


def resolve(source: NdviSource) -> NdviSource:
    """The scene's red and NIR band files, its ``QA_PIXEL`` as mask, product ``landsat_c2l2``.

    Raises:
        InputError: no scene band files, or not the red and NIR ones.
    """
    file = Path(source.path)
    folder = file if file.is_dir() else file.parent
    m = _SCENE.match(file.name) if not file.is_dir() else None
    if m is None:
        first = sorted(folder.glob(_BANDS))
        m = _SCENE.match(first[0].name) if first else None
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
    return with_mask(out, str(qa) if qa else None, "qa_pixel")


READER = Reader(
    "landsat",
    "Landsat Collection 2 Level-2 SR (L4-L9): the scene folder, its _MTL file or a band file; QA_PIXEL as mask.",
    matches,
    resolve,
    products=("landsat_c2l2",),
    dates=(
        DatePattern(_COLLECTION, lambda m: ymd(m.group(1))),
        DatePattern(_PRE_COLLECTION, _pre_collection_date),
    ),
    hints=Hints(
        fine=re.compile(r"(L[COTE]0\d_|LANDSAT|SR_B\d|(?<![A-Z0-9])L[COTEM][1-9]\d{13}[A-Z0-9]{3}\d{2})", re.I),
        mask=re.compile(r"(QA_PIXEL|CFMASK|FMASK)", re.I),
        band_file=re.compile(r"_SR_B\d", re.I),
    ),
    priority=10,
    metadata_keys=("DATE_ACQUIRED",),
)
