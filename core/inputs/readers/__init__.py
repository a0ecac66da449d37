"""The registry of readers: a new download format is one module plus one entry here.

Each module of this package holds one family of downloads as a :class:`~.base.Reader` (``READER``):
how a path of it is recognised and resolved into bands and QA mask, the dates in its names, what
its names tell the inventory, and the products it serves. ``resolve_source``
(:mod:`..containers`), the dates (:mod:`..dates`) and the inventory (:mod:`..inventory`) ask the
functions below; none holds a format's pattern.

Order: readers are asked in increasing :attr:`~.base.Reader.priority`, ties in registration order
(:func:`ordered`): ``landsat`` (10), ``sentinel2`` (20), ``modis`` (30), ``envi`` (40), a new reader
(500 unless it says), ``generic`` (1000, the fallback that matches every path). The first reader
whose ``match`` accepts a path resolves it; date patterns are tried reader by reader in the same
order (so a family's own names come before the generic ISO and compact dates). See
``docs/extending.md`` for the recipe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from ...options import Registry
from ..products import MASK_KINDS, PRODUCTS
from . import envi, generic, landsat, modis, sentinel2
from .base import DEFAULT_PRIORITY, HINT_KINDS, DatePattern, Hints, Reader

__all__ = [
    "DEFAULT_PRIORITY",
    "READERS",
    "DatePattern",
    "Hints",
    "Reader",
    "connection_file",
    "dates_in",
    "metadata_keys",
    "named",
    "ordered",
    "reader_for",
    "register",
    "registered",
    "text_dates_in",
    "unregister",
]

READERS: Registry[Reader] = Registry("reader", lambda r: r.name)


def register(reader: Reader) -> Reader:
    """Add ``reader`` to :data:`READERS`, its new products and mask kinds to the ends of their tables; returns it.

    Raises:
        ValueError: its name, or the name of one of its new products or mask kinds, is taken;
            nothing is added then.
    """
    added: list[tuple[Registry, str]] = []
    try:
        for kind in reader.new_mask_kinds:
            added.append((MASK_KINDS, MASK_KINDS.register(kind).name))
        for product in reader.new_products:
            added.append((PRODUCTS, PRODUCTS.register(product).name))
        return READERS.register(reader)
    except ValueError:
        for table, name in reversed(added):
            table.unregister(name)
        raise


def unregister(name: str) -> Reader:
    """Remove the reader called ``name`` and the products and mask kinds it added; returns it.

    Raises:
        ValueError: no reader has that name.
    """
    reader = READERS.unregister(name)
    for product in reader.new_products:
        PRODUCTS.pop(product.name, None)
    for kind in reader.new_mask_kinds:
        MASK_KINDS.pop(kind.name, None)
    return reader


@contextmanager
def registered(reader: Reader) -> Iterator[Reader]:
    """``reader`` registered (:func:`register`) for the ``with`` block only, e.g. a test's toy reader."""
    register(reader)
    try:
        yield reader
    finally:
        unregister(reader.name)


def ordered() -> tuple[Reader, ...]:
    """The readers in the order they are asked: increasing priority, ties in registration order."""
    return tuple(sorted(READERS.values(), key=lambda r: r.priority))


def reader_for(path: str) -> Reader | None:
    """The first reader (:func:`ordered`) that recognises ``path``; None only without the generic reader."""
    return next((r for r in ordered() if r.match(path)), None)


def connection_file(path: str) -> str | None:
    """The file behind a GDAL connection string some reader knows (an HDF or Sentinel-2 subdataset), else None."""
    for reader in ordered():
        if reader.connection is not None and (file := reader.connection(path)):
            return file
    return None


def dates_in(name: str) -> Iterator[dt.date]:
    """Every date the readers' patterns find in ``name``, reader by reader (:func:`ordered`), pattern by pattern."""
    for reader in ordered():
        for pattern in reader.dates:
            yield from pattern.dates(name)


def text_dates_in(text: str) -> Iterator[dt.date]:
    """Every date in a band name, description or metadata value: :func:`dates_in`, then each reader's ``text_dates``."""
    yield from dates_in(text)
    for reader in ordered():
        for pattern in reader.text_dates:
            yield from pattern.dates(text)


def metadata_keys() -> tuple[str, ...]:
    """The GDAL metadata keys that hold an acquisition date, reader by reader (:func:`ordered`), without repeats."""
    return tuple(dict.fromkeys(k.upper() for r in ordered() for k in r.metadata_keys))


def named(kind: str, text: str) -> bool:
    """Whether any reader's :class:`~.base.Hints` pattern ``kind`` (``coarse``, ``fine``, ``mask``, ...) is in ``text``.

    Raises:
        ValueError: ``kind`` is not a field of :class:`~.base.Hints`.
    """
    if kind not in HINT_KINDS:
        raise ValueError(f"no reader hint {kind!r}; use {', '.join(HINT_KINDS)}")
    for reader in ordered():
        pattern = getattr(reader.hints, kind)
        if pattern is not None and pattern.search(text):
            return True
    return False


register(landsat.READER)
register(sentinel2.READER)
register(modis.READER)
register(envi.READER)
register(generic.READER)
