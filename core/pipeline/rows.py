"""Checks of a job's pair rows that a form can point at: each error names its row and column.

The dialog shows a job as three tables of rows (a date, a MODIS raster and band, a fine raster and
band, a cloud mask); :class:`RowChecker` checks them before the job is built, with header reads
only, and raises :class:`~..errors.PlaceError` whose ``place`` is ``(list, row, column)``. It
remembers each verdict per row content, products and files' modification times, so that checking
an unchanged job again reads nothing. ``job_from_dict``, ``validate_job`` and ``preflight`` then
check the rest, as for a job file.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError, PlaceError, TsstfnError

#: the pair lists of a job, with the title a message gives them
LISTS = {"reference": "Reference", "prediction": "Prediction", "targets": "Targets"}
#: what a message calls each raster column
COLUMN_NAMES = {"coarse": "MODIS", "fine": "Sentinel-2", "fine_mask": "mask"}

Label = Callable[[str, int, str], str]


def raster_of(value: object) -> tuple[str | None, int]:
    """``(path, band)`` of a pair's raster given as a path or a mapping with ``path`` and ``band``."""
    if isinstance(value, dict):
        return value.get("path"), int(value.get("band", 1))
    return (str(value) if value else None), 1


def row_date(row: dict, coarse_product: str = "ndvi") -> str | None:
    """The date a pair row's rasters say (band description, metadata, name) when the row gives none; None if none does."""
    from ..errors import DateError
    from .pairs import date_of, parse_source

    spec = row.get("coarse") or row.get("fine")
    if not spec:
        return None
    try:
        source, _ = parse_source(spec, Path("."), "row", coarse_product)
        return date_of(source).isoformat()
    except (DateError, InputError, OSError):
        return None


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


class RowChecker:
    """Checks pair rows against their products, the first base pair's grid and each other (header reads only).

    Args:
        label: ``label(list, row, column)``: what the messages call a raster (the layer's name);
            by default the file name.
    """

    def __init__(self, label: Label | None = None) -> None:
        """A checker with an empty memory."""
        self.label = label or (lambda key, row, column: "")
        self._files: dict[tuple, tuple[int, Any]] = {}
        self._verdicts: dict[str, PlaceError | None] = {}

    def cached(self, key: tuple, path: str, make: Callable[[], Any]) -> Any:
        """``make()`` once per ``key`` and modification time of ``path``."""
        stamp = _stamp(path)
        hit = self._files.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = make()
        self._files[key] = (stamp, value)
        return value

    def _name(self, key: str, row: int, column: str, path: str) -> str:
        return self.label(key, row, column) or os.path.basename(path.rstrip("/\\")) or path

    def check(self, data: dict, season_start: tuple[int, int] | None = None) -> None:
        """Check every row of ``data``'s pair lists (a job file's mapping).

        Args:
            data: the job's mapping (``reference``, ``prediction``, ``targets``, products, ``assume_aligned``).
            season_start: ``(month, day)`` the critical season starts on: a target before it is refused.

        Raises:
            PlaceError: the first row at fault, with its place.
        """
        seen: dict[tuple, str] = {}
        for key, title in LISTS.items():
            for i, row in enumerate(data.get(key) or []):
                where = f"{title} row {i + 1}"
                self._check_complete(key, i, row, where, season_start)
                for column in COLUMN_NAMES:
                    path, band = raster_of(row.get(column))
                    if not path:
                        continue
                    place = f"{where} ({COLUMN_NAMES[column]})"
                    ident = (os.path.normcase(os.path.abspath(path)) if os.path.exists(path) else path, band)
                    if ident in seen:
                        raise PlaceError(
                            f"{place}: '{self._name(key, i, column, path)}' is already in {seen[ident]}; one raster is "
                            "one sensor on one date: choose another layer (or another band of a stack).",
                            (key, i, column),
                        )
                    seen[ident] = place
                self._check_rasters_cached(data, key, i, row, where)

    @staticmethod
    def _check_complete(key: str, i: int, row: dict, where: str, season_start: tuple[int, int] | None) -> None:
        if not row.get("coarse"):
            raise PlaceError(f"{where}: choose the MODIS layer.", (key, i, "coarse"))
        if key != "targets" and not row.get("fine"):
            raise PlaceError(f"{where}: choose the Sentinel-2 layer.", (key, i, "fine"))
        text = row.get("date") or row_date(row)  # typed, or held by its rasters
        if not text:
            raise PlaceError(f"{where}: type the date (YYYY-MM-DD); none of its rasters holds one.", (key, i, "date"))
        if key == "targets" and season_start is not None:
            try:
                date = dt.date.fromisoformat(str(text))
            except ValueError:
                return  # the job's parser names a malformed date
            if (date.month, date.day) < season_start:
                start = dt.date(2000, *season_start)
                raise PlaceError(
                    f"{where}: {text} is before the critical season, which starts on {start.day} "
                    f"{start:%B}; move it to the base pairs, or set the season's start.",
                    (key, i, "date"),
                )

    def _check_rasters_cached(self, data: dict, key: str, i: int, row: dict, where: str) -> None:
        first = (data.get("prediction") or [])[:1]
        files = [p for v in (*row.values(), *(first[0].values() if first else ())) if (p := raster_of(v)[0])]
        names = [self._name(key, i, c, raster_of(row.get(c))[0] or "") for c in COLUMN_NAMES]
        memo = json.dumps(
            [row, where, first, names, data.get("coarse_product"), data.get("fine_product"),
             bool(data.get("assume_aligned")), [(f, _stamp(f)) for f in files if isinstance(f, str)]],
            sort_keys=True, default=str,
        )  # fmt: skip
        if memo in self._verdicts:
            error = self._verdicts[memo]
            if error is not None:
                raise error
            return
        try:
            self._check_rasters(data, key, i, row, where)
        except PlaceError as exc:
            self._verdicts[memo] = exc
            raise
        self._verdicts[memo] = None

    def _check_rasters(self, data: dict, key: str, i: int, row: dict, where: str) -> None:
        from ..files import check_not_truncated, open_raster
        from ..inputs.align import overlap_fraction
        from ..inputs.containers import resolve_source
        from ..inputs.grid import has_real_crs, reference_grid, srs_of
        from ..inputs.inventory import raster_info, unfit_reason
        from ..inputs.ndvi import NdviSource, red_nir_bands
        from ..inputs.products import get_product
        from ..inputs.sample import check_sample
        from .consistency import date_conflict, sensor_conflict
        from .pairs import parse_source

        products = {"coarse": data.get("coarse_product") or "mod09gq", "fine": data.get("fine_product") or "s2_l2a"}
        aligned = bool(data.get("assume_aligned"))
        first = (data.get("prediction") or [])[:1]
        grid = None
        if first and first[0].get("fine") and not aligned:
            path, band = raster_of(first[0]["fine"])
            try:
                source = resolve_source(NdviSource(str(path), products["fine"], band=band))
                grid = self.cached(("grid", source.path), source.path, lambda: reference_grid(source.path))
            except TsstfnError:
                grid = None  # the first row's own check names it
        for column, column_product in products.items():
            path, band = raster_of(row.get(column))
            if not path:
                continue
            name = self._name(key, i, column, path)
            spec = row[column]
            product = (spec.get("product") if isinstance(spec, dict) else None) or column_product  # a raster's own product
            place: tuple[str, int | None, str | None] = (key, i, column)
            try:
                mask = row.get(f"{column}_mask")
                parsed, _ = parse_source(row[column], Path("."), f"{where} ({COLUMN_NAMES[column]})", product, mask)
                source = resolve_source(replace(parsed, name=name))
                header = source.path if os.path.isdir(path) else path  # a scene folder: its red band's header
                info = self.cached(("info", header, name), header, functools.partial(raster_info, header, name))
                reason = unfit_reason(info, get_product(product), column)
                if reason:
                    label = "the MODIS column" if column == "coarse" else "the Sentinel-2 column"
                    raise InputError(f"'{name}' cannot go in {label} ({product}): {reason}.")
                ds = open_raster(source.path, name)
                check_not_truncated(source.path, name, ds)
                if band > ds.RasterCount and not source.path.startswith(("HDF", "/vsi")):
                    place = (key, i, f"{column}_band")
                    raise InputError(
                        f"'{name}' has {ds.RasterCount} band(s); band {band} does not exist (the band column of this row)."
                    )
                if aligned and has_real_crs(ds):  # a local CRS (ENVI 'Arbitrary') counts as none
                    raise InputError(f"'{name}' has a CRS while 'rasters without CRS' is ticked; untick it or use others.")
                if not aligned:
                    srs_of(ds, name)
                    if grid is not None:
                        overlap_fraction(ds, grid, name)
                fine_m = grid.pixel_side_m if grid is not None and grid.has_crs else None
                conflict = sensor_conflict(source, column, fine_m, info)  # the job file's check: a coarse finer than fine
                if conflict:
                    raise InputError(f"{conflict}.")
                typed = _typed_date(row.get("date"))
                conflict = date_conflict(source, typed, column) if typed else None
                if conflict:
                    raise PlaceError(f"{where}: {conflict}.", (key, i, "date"))
                if not get_product(source.product).is_ndvi:
                    try:
                        red_nir_bands(source)
                    except InputError as exc:  # a setting of the whole column: point there, not at the row
                        raise PlaceError(f"{where}: {exc}", ("column", None, f"{column}.red_band")) from None
                check_sample(source)  # what the run reads of it, on a few rows: scale, range, mask values
            except PlaceError:
                raise
            except TsstfnError as exc:
                raise PlaceError(f"{where}: {exc}", place) from None


def _typed_date(value: object) -> dt.date | None:
    """A row's typed date, None when empty or malformed (the job's parser names a malformed one)."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def unfit_samples_reason(info: Any) -> str | None:
    """Why a raster cannot hold sample labels (a cloud mask, imagery, a stack, real numbers); None when it can.

    Args:
        info: the raster's :class:`~..inputs.inventory.RasterInfo`.
    """
    from ..inputs.inventory import kind_of

    if info.classes:
        return None  # a colour table, class names or an attribute table
    by_file = replace(info, name=os.path.basename(info.path))  # a layer's name may hide what its file is
    kinds = {kind_of(info), kind_of(by_file)}
    if "scl" in kinds:
        return "it is a cloud or QA mask, not labels"
    if "modis" in kinds:
        return "it is a MODIS image, not labels"
    if info.band_count > 1:
        return f"it has {info.band_count} bands; a label raster has one band of class codes"
    if not info.integer:
        return "it holds real numbers; a label raster holds integer class codes"
    return None


def check_fields(data: dict, vector: bool, name: str = "") -> None:
    """Check the samples and their fields of a job that maps crops (the dialog's: samples are required).

    Args:
        data: the job's mapping.
        vector: the samples are points or polygons (a label raster needs no class field).
        name: what messages call the samples (the layer's name); by default the file name.

    Raises:
        PlaceError: no samples, no class field, a class field that is the field id or named like an id;
            its place is the job field at fault, as ``(field, None, None)``.
    """
    from ..mapping.samples import id_like_field

    if not data.get("samples"):
        raise PlaceError(
            "Choose a samples layer: points or polygons with a class field, or a label raster with class codes.",
            ("samples", None, None),
        )
    if not vector:
        from ..inputs.inventory import raster_info

        path = str(data["samples"])
        label = name or os.path.basename(path)
        try:
            reason = unfit_samples_reason(raster_info(path, label))
        except TsstfnError as exc:
            raise PlaceError(str(exc), ("samples", None, None)) from None
        if reason:
            raise PlaceError(
                f"Samples '{label}' cannot be the samples: {reason}. Choose points or polygons with a class field, or a "
                "label raster with class codes.",
                ("samples", None, None),
            )
        return
    field = data.get("class_field")
    if not field:
        raise PlaceError("Choose the class field of the samples.", ("class_field", None, None))
    if field == data.get("group_field"):
        raise PlaceError(
            f"Class field '{field}' is also the field id: the class field holds the crops, the field id names each "
            "field; choose another for one of them.",
            ("class_field", None, None),
        )
    if id_like_field(field):
        raise PlaceError(
            f"Class field '{field}' is named like an id (one value per field or feature), not a class; choose the "
            "field with the crop classes, and give the id as 'Field id'.",
            ("class_field", None, None),
        )
