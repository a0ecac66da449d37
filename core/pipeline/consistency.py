"""Inputs that contradict themselves, found from names and headers before any pixel is read (issue 24).

One function per contradiction, each returning the sentence to show (or None), so that a job file
(:func:`check_consistent`, called by :func:`~.job.validate_job`), a dataset file and the dialog's
per-row check (:class:`~.rows.RowChecker`) refuse the same inputs with the same words:

* one raster (the same file, and band of a stack) for two dates or for both sensors of a pair
  (:func:`raster_identity`);
* a date in the job that contradicts the date in the raster's name, band description or metadata
  (:func:`date_conflict`: a fine image's own date exactly, a coarse one's within a 16-day composite);
* red and NIR read from one band (:func:`~..inputs.ndvi.red_nir_bands`);
* a MODIS raster in the fine column (by its name or pixels of 100 m or more) or a fine-sensor raster
  in the coarse column (by its name, or pixels finer than the fine images'): :func:`sensor_conflict`;
* a target without ``n_base`` base pairs in the year before it (:func:`check_target_seasons`);
* a GeoTIFF cut short (:func:`~..files.check_not_truncated`, from its header).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import InputError, TsstfnError

#: a coarse raster's own date may differ from its pair's by up to this many days (a 16-day composite)
COARSE_DAYS = 16
#: a target's base pairs lie at most this many days before it (one season, which may cross New Year)
SEASON_DAYS = 366
COLUMN_LABELS = {"coarse": "MODIS (coarse)", "fine": "fine (Sentinel-2/Landsat)"}


def raster_identity(source: Any) -> tuple:
    """What makes two rasters the same input: the real file (and NIR file), the band, the red and NIR bands."""
    from ..files import file_key

    nir = file_key(source.nir_path) if source.nir_path else None
    return file_key(source.path) if source.path else None, nir, source.band, source.red_band, source.nir_band


def own_date(source: Any) -> dt.date | None:
    """The date a raster holds itself (band description, name, metadata); None where it holds none."""
    from .pairs import date_of

    try:
        return date_of(source)
    except (TsstfnError, OSError, RuntimeError):
        return None


def date_conflict(source: Any, date: dt.date, column: str) -> str | None:
    """Why ``date``, given for ``source`` in ``column``, contradicts the raster's own date; None when it does not.

    A fine image is one acquisition: its own date must be the pair's. A coarse raster may be a
    composite (MOD13Q1's 16 days are named after their first day), so within :data:`COARSE_DAYS`.
    """
    own = own_date(source)
    if own is None:
        return None
    days = abs((own - date).days)
    if days == 0 or (column == "coarse" and days <= COARSE_DAYS):
        return None
    band = f" (band {source.band})" if source.band != 1 else ""
    return (
        f"the date {date.isoformat()} contradicts the {COLUMN_LABELS[column]} raster '{source.label}'{band}, whose "
        f"name or metadata says {own.isoformat()}; correct the date, or choose the raster of {date.isoformat()}"
    )


def _info(source: Any) -> Any:
    from ..inputs.containers import resolve_source
    from ..inputs.inventory import raster_info

    header = resolve_source(source).path if os.path.isdir(source.path) else source.path
    return raster_info(header, source.label)


def fine_pixel_m(source: Any) -> float | None:
    """The pixel side in metres of a fine raster with a CRS (None without one, or when its header cannot be read)."""
    try:
        info = _info(source)
    except (TsstfnError, OSError, RuntimeError):
        return None
    return info.pixel_size if info.has_crs else None


def sensor_conflict(source: Any, column: str, fine_pixel_m: float | None = None, info: Any = None) -> str | None:
    """Why ``source`` cannot be in ``column`` by its sensor; None when it can (or its header cannot be read).

    The fine column takes no raster named after MODIS nor with pixels of 100 m or more; the coarse
    column no raster named after a fine sensor, nor one with pixels finer than half the fine images'
    (``fine_pixel_m``; MODIS resampled onto the fine grid has the same pixels, never finer ones).
    ``info``: its :class:`~..inputs.inventory.RasterInfo` where the caller has it.
    """
    from ..inputs.inventory import sensor_reason

    try:
        info = info or _info(source)
    except (TsstfnError, OSError, RuntimeError):
        return None  # an unreadable raster is named by the readers
    reason = sensor_reason(info, column)
    if reason is None and column == "coarse" and fine_pixel_m and info.has_crs and info.pixel_size < 0.5 * fine_pixel_m:
        reason = (
            f"pixels of {info.pixel_size:.0f} m, finer than the fine images' {fine_pixel_m:.0f} m: a fine-sensor "
            "image, not MODIS (are the coarse and fine rasters swapped?)"
        )
    if reason is None:
        return None
    other = "fine" if column == "coarse" else "coarse"
    return (
        f"'{source.label}' cannot be the {COLUMN_LABELS[column]} raster: {reason}; put it in the {other} column or choose another"
    )


def check_target_seasons(
    base_dates: Sequence[dt.date | None], target_dates: Sequence[dt.date | None], n_base: int, what: str = "Job"
) -> None:
    """Every target has ``n_base`` base pairs in the :data:`SEASON_DAYS` before it (the network reads them).

    Raises:
        InputError: naming the target, the base pairs' dates and what to do.
    """
    prediction = [d for d in base_dates if d is not None]
    for target in sorted(d for d in target_dates if d is not None):
        season = [d for d in prediction if d < target and (target - d).days <= SEASON_DAYS]
        if len(season) >= n_base:
            continue
        before = [d for d in prediction if d < target]
        if not before:
            have = "none of the base pairs lies before it" + (
                f" (the first is {min(prediction).isoformat()})" if prediction else ""
            )
        elif not season:
            have = f"the base pairs before it are from {max(before).year} and earlier (the latest {max(before).isoformat()})"
        else:
            have = f"only {len(season)} lie in the year before it ({', '.join(d.isoformat() for d in season)})"
        raise InputError(
            f"{what} field 'targets': target {target.isoformat()} needs {n_base} base pairs (n_base) of its own season "
            f"before it, but {have}; give base pairs of {target.year} before the target, correct the target's date, "
            "or lower n_base."
        )


def check_consistent(lists: Mapping[str, Sequence[Any]], fine_pixel_m: float | None = None, what: str = "Job") -> None:
    """The pairs of ``lists`` (``{"reference": pairs, ...}``, each pair dated) do not contradict each other.

    Args:
        lists: the job's (or dataset's) pair lists by field name; each pair has ``date``, ``coarse``, ``fine``.
        fine_pixel_m: the fine images' pixel side in metres (None: no pixel-size check of the coarse rasters).
        what: ``Job`` or ``Dataset``, for the messages.

    Raises:
        InputError: the first contradiction, naming the field, the date and the raster.
    """
    from ..files import check_not_truncated
    from ..inputs.containers import resolve_source
    from ..inputs.ndvi import red_nir_bands
    from ..inputs.products import get_product

    seen: dict[tuple, str] = {}
    images = {raster_identity(s)[0] for pairs in lists.values() for p in pairs for s in (p.coarse, p.fine) if s}
    for name, pairs in lists.items():
        for pair in pairs:
            for column in ("coarse", "fine"):
                source = getattr(pair, column)
                if source is None:
                    continue
                place = f"{what} field '{name}', pair of {pair.date.isoformat()}"
                ident = raster_identity(source)
                if ident in seen:
                    raise InputError(
                        f"{place}: its {COLUMN_LABELS[column]} raster '{source.label}' is also {seen[ident]}; one "
                        "raster is one sensor on one date: give each its own raster (or another band of a stack)."
                    )
                seen[ident] = f"the {COLUMN_LABELS[column]} raster of {pair.date.isoformat()} in '{name}'"
                mask = source.mask_path and raster_identity(replace(source, path=source.mask_path))[0]
                if mask and mask in images:
                    raise InputError(
                        f"{place}: the mask of its {COLUMN_LABELS[column]} raster, '{os.path.basename(source.mask_path)}', "
                        "is an image of the job, not a cloud mask; give the mask file (SCL, QA_PIXEL, Fmask) or none."
                    )
                try:
                    resolved = resolve_source(source)  # a scene folder or container: its red and NIR files
                    if not get_product(source.product).is_ndvi:
                        red_nir_bands(resolved)
                    for path in (resolved.path, resolved.nir_path, resolved.mask_path):
                        if path and os.path.isfile(path):
                            check_not_truncated(path)
                except InputError as exc:
                    raise InputError(f"{place}: {exc}") from None
                for reason in (sensor_conflict(source, column, fine_pixel_m), date_conflict(source, pair.date, column)):
                    if reason:
                        raise InputError(f"{place}: {reason}.")


def check_benchmark_dates(dates: Sequence[dt.date], targets: Sequence[dt.date], n_base: int) -> None:
    """A benchmark's learning method can predict every target: ``n_base`` pairs before it, ``n_base + 1`` to learn from.

    Single-season training learns each pair from the ``n_base`` pairs before it, the held-out target never among them.

    Raises:
        InputError: naming ``n_base``, the target and what to do (refused before any work, not skipped with a warning).
    """
    for target in sorted(targets):
        others = [d for d in dates if d != target]
        before = [d for d in others if d < target]
        if len(before) < n_base or len(others) < n_base + 1:
            need = (
                f"{len(before)} pair(s) lie before target {target.isoformat()}"
                if len(before) < n_base
                else f"with {target.isoformat()} held out, {len(others)} pairs are left to learn from (n_base + 1 needed)"
            )
            raise InputError(
                f"Dataset field 'n_base': TSSTFN reads {n_base} base pairs, but {need}; lower n_base, hold out a later "
                "date, add pairs, or leave 'tsstfn' out of 'methods'."
            )
