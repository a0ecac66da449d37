"""Resident memory of long headless runs (the command line, the region's workers)."""

from __future__ import annotations

#: GDAL's block cache for command-line runs, unless GDAL_CACHEMAX says otherwise (GDAL's default, 5 % of the
#: machine's memory, is resident memory that grows with the scene until it is reached)
GDAL_CACHE_MB = 256


def tune_memory() -> None:
    """Keep a long headless run's resident memory flat: a capped GDAL cache, arrays given back when freed.

    GDAL's block cache is capped at :data:`GDAL_CACHE_MB` unless the user set ``GDAL_CACHEMAX``. On
    glibc, arrays of 1 MiB and more are always mapped on their own (glibc otherwise raises that
    threshold as it goes, and freed batches then stay in its heaps), and two heaps at most.
    """
    import ctypes
    import os
    import sys

    from osgeo import gdal

    if "GDAL_CACHEMAX" not in os.environ:
        gdal.SetCacheMax(GDAL_CACHE_MB << 20)
    if sys.platform.startswith("linux") and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD (fixed: no dynamic raise)
            libc.mallopt(-8, 2)  # M_ARENA_MAX
        except (OSError, AttributeError):  # not glibc
            pass
