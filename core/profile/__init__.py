"""A run's NDVI season at a pixel or field, read from the run folder's own record (no QGIS).

``open_run(folder)`` gives the :class:`~.record.RunRecord` (which raster is which date and role);
``ProfileReader(folder).series_at(x, y, crs_wkt)`` the :class:`~.series.Sample` records of the
pixel under a point, ``field_series`` those of the field polygon under it, ``write_csv`` writes
them; ``compare_panels`` gives the compare view's maps. The profile dock, the compare view and
``bench/bench_profile.py`` call these.
"""

from .compare import Panel, compare_panels, difference_vrt
from .record import CRITICAL_SEASON, Layer, RunRecord, find_run_folder, open_run, real_layer
from .series import Place, ProfileReader, Sample, field_series, read_csv, series_at, write_csv

__all__ = [
    "CRITICAL_SEASON", "Layer", "Panel", "Place", "ProfileReader", "RunRecord", "Sample", "compare_panels",
    "difference_vrt", "field_series", "find_run_folder", "open_run", "read_csv", "real_layer", "series_at", "write_csv",
]  # fmt: skip
