"""Dated pairs of a coarse and a fine raster, as job and benchmark files give them.

Each side of a pair is an :class:`~..inputs.ndvi.NdviSource`: a path alone (``"coarse":
"MOD09GQ.A2021211.h26v04.061.hdf"``), or a mapping of the raster's reading::

    "coarse": {"path": "MOD13_stack.tif", "band": 7, "scale": 0.0001}
    "fine":   {"path": "L8_ndvi.tif", "nodata": -9999, "mask": "L8_mask.tif", "mask_kind": "cfmask"}
    "fine":   {"path": "LC08_L2SP_190028_20200409_20200822_02_T1"}          # a Landsat scene folder
    "coarse": {"path": "stack.tif", "product": "red_nir", "red_band": 3, "nir_band": 4}

Keys: ``path``, ``product`` (default: the job's coarse/fine product), ``band``, ``red_band``,
``nir_band``, ``nir_path``, ``scale``, ``add_offset``, ``nodata`` (an undeclared fill), ``mask``
(a path, or ``false`` for none even where the product has a QA layer), ``mask_kind``, ``mask_band``,
``mask_valid`` (the mask values of valid pixels) and ``bands`` (below). Any other key is an error.

A stack with one band per date becomes a series of pairs: ``{"coarse": {"path": "MOD13_stack.tif",
"bands": "1-12"}, "fine": {...,"bands": "1-12"}}`` gives twelve pairs, dated from the bands'
descriptions or metadata (or from the entry's ``"dates": [...]``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import DateError, InputError
from ..inputs.containers import container_file
from ..inputs.dates import date_from_band, date_from_name, detect_date, parse_date
from ..inputs.ndvi import NdviSource
from ..options import parse_bands

#: the job-file spellings of the sensor-neutral names
ALIASES = {
    "modis": "coarse",
    "sentinel2": "fine",
    "modis_mask": "coarse_mask",
    "sentinel2_mask": "fine_mask",
    "modis_mask_kind": "coarse_mask_kind",
    "sentinel2_mask_kind": "fine_mask_kind",
    "modis_product": "coarse_product",
    "sentinel2_product": "fine_product",
}

#: keys of a raster's mapping and the NdviSource fields they fill
RASTER_KEYS = {
    "path": "path",
    "product": "product",
    "band": "band",
    "red_band": "red_band",
    "nir_band": "nir_band",
    "nir_path": "nir_path",
    "scale": "scale",
    "add_offset": "add_offset",
    "nodata": "nodata",
    "mask": "mask_path",
    "mask_kind": "mask_kind",
    "mask_band": "mask_band",
    "mask_valid": "mask_valid",
}
_PAIR_KEYS = {"date", "dates", "coarse", "fine", "coarse_mask", "fine_mask", "coarse_mask_kind", "fine_mask_kind"}


@dataclass(frozen=True)
class PairSpec:
    """A date's coarse (MODIS) and fine (Sentinel-2, Landsat) raster as the job names them.

    Attributes:
        coarse: how to read the coarse raster.
        fine: how to read the fine raster (None for a target without one; for a target it is the
            real, often cloudy image used only to score the fusion).
        date: the acquisition date, or None when the names, band descriptions or metadata hold it.
    """

    coarse: NdviSource
    fine: NdviSource | None = None
    date: dt.date | None = None

    def dated(self) -> DatedPair:
        """This pair with its date: given, else the fine raster's (or the coarse raster's).

        Raises:
            DateError: no date can be found; the message names the raster (and band).
        """
        if isinstance(self, DatedPair):
            return self
        date = self.date or date_of(self.fine or self.coarse)
        return DatedPair(self.coarse, self.fine, date)

    @property
    def label(self) -> str:
        """How messages name the pair: its date, else its file."""
        return self.date.isoformat() if self.date else (self.fine or self.coarse).label

    def sources(self) -> list[NdviSource]:
        """Its rasters (the coarse, then the fine where there is one)."""
        return [self.coarse] + ([self.fine] if self.fine else [])


@dataclass(frozen=True)
class DatedPair(PairSpec):
    """A :class:`PairSpec` whose date is known."""

    date: dt.date = dt.date(1, 1, 1)


def dated(pairs: Sequence[PairSpec]) -> tuple[DatedPair, ...]:
    """``pairs`` with their dates (see :meth:`PairSpec.dated`)."""
    return tuple(p.dated() for p in pairs)


def date_of(source: NdviSource) -> dt.date:
    """A raster's date: its band's description or metadata, its name, its path, its metadata.

    Raises:
        DateError: none holds a date; the message names the raster and band.
    """
    file = container_file(source.path)
    date = date_from_band(source.path, source.band)
    if date is None:
        date = date_from_name(Path(file).name) or date_from_name(file)
    if date is None:
        try:
            date = detect_date(Path(file).name, path=source.path)
        except DateError:
            band = f" (band {source.band})" if source.band != 1 else ""
            raise DateError(
                f"Could not find the acquisition date of '{source.label}'{band}: neither its name nor its band "
                "description or metadata holds one. Give it in the job file ('date': 'YYYY-MM-DD', or 'dates' "
                "for a band range), type it in the table, or rename the file."
            ) from None
    return date


def canonical(data: dict, where: str) -> dict:
    """``data`` with the aliases of :data:`ALIASES` replaced; both spellings at once is an error."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = ALIASES.get(key, key)
        if name in out:
            raise InputError(f"Job field '{where}': give '{name}' once (it was also given as '{key}').")
        out[name] = value
    return out


def resolve_path(value: object, base: Path) -> str | None:
    """``value`` as an absolute path (relative to ``base``); GDAL connection strings and ``/vsi`` paths stay as they are."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"A path in the job file: {value!r} is not text (a file path).")
    text = str(value)
    if "\x00" in text:
        raise InputError(f"The path {text!r} holds a NUL character; give the file's real name.")
    if any(len(part.encode()) > 255 for part in Path(text).parts):
        raise InputError(f"The path '{text[:80]}…' has a name longer than 255 bytes, which no file system allows; rename it.")
    if text.startswith("/vsi") or (":" in text.split("/")[0] and not Path(text).drive):  # HDF4_EOS:..., SENTINEL2_L2A:...
        return text
    p = Path(text).expanduser()
    try:
        return str((p if p.is_absolute() else base / p).resolve(strict=False))
    except (RuntimeError, OSError) as exc:  # a symlink loop (Python < 3.13 raises RuntimeError)
        raise InputError(
            f"The path '{text}' cannot be followed ({exc}): a link that leads to itself? Give the real file."
        ) from None


def parse_source(
    value: object, base: Path, where: str, product: str, mask: object = None, mask_kind: object = None
) -> tuple[NdviSource, list[int] | None]:
    """A raster from a path or a mapping (keys: :data:`RASTER_KEYS` and ``bands``), with its band range.

    ``mask`` and ``mask_kind`` are the pair's flat ``*_mask`` keys (job files of 0.1).

    Raises:
        InputError: an unknown key, no path, or a value of the wrong kind; the message names ``where``.
    """
    spec: dict[str, Any] = {"path": value} if isinstance(value, str) else value if isinstance(value, dict) else {}
    if not spec.get("path"):
        raise InputError(f"Job field '{where}': give the raster's path (a file name, or a mapping with 'path').")
    unknown = sorted(set(spec) - set(RASTER_KEYS) - {"bands"})
    if unknown:
        raise InputError(f"Job field '{where}' has unknown key(s) {unknown}; known: {sorted([*RASTER_KEYS, 'bands'])}.")
    if mask is not None:
        spec.setdefault("mask", mask)
    if mask_kind is not None:
        spec.setdefault("mask_kind", mask_kind)
    kwargs: dict[str, Any] = {"product": product}
    for key, target in RASTER_KEYS.items():
        if key not in spec:
            continue
        v = spec[key]
        if key in ("path", "nir_path"):
            v = resolve_path(v, base)
        elif key == "mask":
            v = "" if v is False else resolve_path(v, base)
        kwargs[target] = v
    bands = parse_bands(spec["bands"], f"{where}.bands") if "bands" in spec else None
    try:
        return NdviSource(**kwargs), bands
    except TypeError as exc:
        raise InputError(f"Job field '{where}': {exc}.") from None


def parse_pairs(
    items: object, base: Path, field_name: str, need_fine: bool, coarse_product: str, fine_product: str
) -> tuple[PairSpec, ...]:
    """The pairs of a job's ``reference``, ``prediction`` or ``targets`` list (a band range expands into several).

    Raises:
        InputError: a malformed entry; the message names it (``targets[2].fine``).
    """
    if not isinstance(items, list):
        raise InputError(f"Job field '{field_name}' must be a list of {{date, coarse, fine}} entries.")
    out: list[PairSpec] = []
    for i, raw in enumerate(items):
        where = f"{field_name}[{i}]"
        if not isinstance(raw, dict):
            raise InputError(f"Job field '{where}' must be a mapping such as {{date, coarse, fine}}.")
        e = canonical(raw, where)
        unknown = sorted(set(e) - _PAIR_KEYS)
        if unknown:
            raise InputError(f"Job field '{where}' has unknown key(s) {unknown}; known: {sorted(_PAIR_KEYS)}.")
        if not e.get("coarse"):
            raise InputError(
                f"Job field '{where}': every entry needs 'coarse' (or 'modis') and 'date' unless the file name holds it."
            )
        if need_fine and not e.get("fine"):
            raise InputError(f"Job field '{where}': a base pair needs 'fine' (or 'sentinel2').")
        coarse, coarse_bands = parse_source(
            e["coarse"], base, f"{where}.coarse", coarse_product, e.get("coarse_mask"), e.get("coarse_mask_kind")
        )
        fine, fine_bands = (
            parse_source(e["fine"], base, f"{where}.fine", fine_product, e.get("fine_mask"), e.get("fine_mask_kind"))
            if e.get("fine")
            else (None, None)
        )
        date = parse_date(e["date"], f"{where}.date") if e.get("date") else None
        if coarse_bands is None and fine_bands is None:
            out.append(PairSpec(coarse, fine, date))
            continue
        n = len(coarse_bands or fine_bands or [])
        if coarse_bands and fine_bands and len(coarse_bands) != len(fine_bands):
            raise InputError(
                f"Job field '{where}': the coarse and fine band ranges differ in length ({len(coarse_bands)}, {len(fine_bands)})."
            )
        dates = e.get("dates")
        if dates is not None and (not isinstance(dates, list) or len(dates) != n):
            raise InputError(f"Job field '{where}.dates' must list one date per band ({n}).")
        for k in range(n):
            c = replace(coarse, band=coarse_bands[k]) if coarse_bands else coarse
            f = replace(fine, band=fine_bands[k]) if (fine and fine_bands) else fine
            out.append(PairSpec(c, f, parse_date(dates[k], f"{where}.dates[{k}]") if dates else None))
    return tuple(out)


def source_to_plain(source: NdviSource, default_product: str) -> str | dict:
    """A raster as a job file writes it: the path alone when nothing else differs from the defaults."""
    defaults = NdviSource(source.path, default_product)
    out: dict[str, Any] = {}
    for key, target in RASTER_KEYS.items():
        value = getattr(source, target)
        if key == "path" or value != getattr(defaults, target):
            out[key] = list(value) if isinstance(value, tuple) else (False if key == "mask" and value == "" else value)
    return out["path"] if list(out) == ["path"] else out


def pair_to_plain(pair: PairSpec, coarse_product: str, fine_product: str) -> dict:
    """A pair as a job file writes it."""
    out: dict[str, Any] = {}
    if pair.date:
        out["date"] = pair.date.isoformat()
    out["coarse"] = source_to_plain(pair.coarse, coarse_product)
    if pair.fine:
        out["fine"] = source_to_plain(pair.fine, fine_product)
    return out


def source_files(source: NdviSource) -> list[str]:
    """The files a raster reads (its path, NIR file and mask; the container behind a subdataset)."""
    return [os.fspath(container_file(p)) for p in (source.path, source.nir_path, source.mask_path) if p]
