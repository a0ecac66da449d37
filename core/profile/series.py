"""A pixel's (or a field's) NDVI season from a run folder: windowed reads, typed records, CSV.

:class:`ProfileReader` keeps a run's rasters open between clicks; :meth:`~ProfileReader.series_at`
reads the one pixel under a point from every raster of the run, :meth:`~ProfileReader.field_series`
the pixels of the field polygon under it (its mean and spread). An input raster is read as the
run read it (its product, bands, scale and mask, from the run's record) at its own pixel under the
point: a fine image's pixel is the study grid's pixel, a coarse image's is its own 250 m pixel.
A fine image whose mask marks the pixel gives an ``observed`` record with NaN (a gap on the chart)
and a ``masked`` record with the NDVI under the cloud.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from ..errors import InputError
from ..files import PathLike, atomic_output, nodata_to_nan, open_raster, read_window
from ..inputs.grid import Grid, has_real_crs
from .record import MASKED, OBSERVED, Layer, RunRecord, open_run

CSV_COLUMNS = ("date", "plot_date", "role", "label", "value", "std", "n", "path")


@dataclass(frozen=True)
class Sample:
    """One value of the season at the clicked pixel (or field).

    Attributes:
        date: the raster's date.
        plot_date: where the chart puts it (a reference-year date moved into the prediction year).
        role: ``observed``, ``masked``, ``coarse``, ``fused``, ``uncertainty``, ``reference`` or a method's name.
        label: the series' name on the chart.
        value: NDVI (the MC-dropout std for ``uncertainty``); NaN where the raster has no value there.
        path: the raster read.
        std: the spread over the field's pixels (None for one pixel).
        n: the valid pixels behind ``value``.
    """

    date: dt.date
    plot_date: dt.date
    role: str
    label: str
    value: float
    path: str
    std: float | None = None
    n: int = 1


@dataclass(frozen=True)
class Place:
    """Where a series was read: the study grid's pixel (column, row), the field's id for a field series."""

    col: int
    row: int
    x: float
    y: float
    field_id: str | None = None
    n_pixels: int = 1


def _srs(wkt: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


class ProfileReader:
    """A run's rasters kept open for repeated clicks (datasets and coordinate transformations cached).

    Args:
        run: a run folder, or its :class:`~.record.RunRecord`.
    """

    def __init__(self, run: PathLike | RunRecord) -> None:
        """Read the run's record; nothing is opened until the first click."""
        self.record = run if isinstance(run, RunRecord) else open_run(run)
        self.grid: Grid = self.record.grid
        self._ds: dict[str, gdal.Dataset] = {}
        self._ct: dict[tuple[str, str], osr.CoordinateTransformation | None] = {}
        self._fields: ogr.DataSource | None = None

    # --- where ------------------------------------------------------------------------------------
    def to_grid(self, x: float, y: float, crs_wkt: str | None = None) -> tuple[float, float]:
        """``(x, y)`` given in ``crs_wkt`` (None or empty: the run's CRS) in the study grid's CRS."""
        if not crs_wkt or not self.grid.has_crs:
            return x, y
        ct = self._transform(crs_wkt, self.grid.crs_wkt)
        if ct is None:
            return x, y
        gx, gy, _ = ct.TransformPoint(x, y)
        return gx, gy

    def pixel_of(self, x: float, y: float, crs_wkt: str | None = None) -> tuple[int, int]:
        """The study grid's ``(column, row)`` under the point.

        Raises:
            InputError: the point is outside the run's area.
        """
        gx, gy = self.to_grid(x, y, crs_wkt)
        x0, dx, _, y0, _, dy = self.grid.geotransform
        col, row = math.floor((gx - x0) / dx), math.floor((gy - y0) / dy)
        if not (0 <= col < self.grid.width and 0 <= row < self.grid.height):
            raise InputError(
                f"The point ({x:.6g}, {y:.6g}) is outside the area of run '{self.record.name}' "
                f"({self.grid.width} x {self.grid.height} px); click inside it."
            )
        return col, row

    def centre(self, col: int, row: int) -> tuple[float, float]:
        """The study grid coordinates of a pixel's centre."""
        x0, dx, _, y0, _, dy = self.grid.geotransform
        return x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy

    # --- what -------------------------------------------------------------------------------------
    def series_at(self, x: float, y: float, crs_wkt: str | None = None) -> tuple[Place, list[Sample]]:
        """Every raster's value at the study grid's pixel under ``(x, y)`` (in ``crs_wkt``; None: the run's CRS).

        Returns:
            The pixel, and one :class:`Sample` per raster and date (plus a ``masked`` one where a
            mask hid a fine image), sorted by role and date.

        Raises:
            InputError: the point is outside the run's area, or a raster cannot be read (named).
        """
        col, row = self.pixel_of(x, y, crs_wkt)
        cx, cy = self.centre(col, row)
        samples = self._samples(np.array([cx]), np.array([cy]), np.array([col]), np.array([row]))
        return Place(col, row, cx, cy), samples

    def field_series(self, x: float, y: float, crs_wkt: str | None = None) -> tuple[Place, list[Sample]] | None:
        """The mean and spread over the pixels of the run's field polygon under ``(x, y)``; None outside every field.

        A pixel belongs to the field when its centre is inside the polygon (GDAL's rasterization).

        Raises:
            InputError: the run has no fields, the point is outside the run's area, or the fields cannot be read.
        """
        col, row = self.pixel_of(x, y, crs_wkt)
        found = self._field_pixels(*self.centre(col, row))
        if found is None:
            return None
        fid, cols, rows = found
        xs, ys = self.centre(cols, rows)  # type: ignore[arg-type]
        samples = self._samples(np.asarray(xs), np.asarray(ys), cols, rows)
        cx, cy = self.centre(col, row)
        return Place(col, row, cx, cy, fid, int(cols.size)), samples

    def _samples(self, xs: np.ndarray, ys: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> list[Sample]:
        out: list[Sample] = []
        for layer in sorted(self.record.layers, key=lambda la: (la.role, la.date)):
            values, hidden = self.values(layer, xs, ys, cols, rows)
            out.append(_aggregate(layer, layer.role, values))
            if hidden is not None and np.isfinite(hidden).any():
                out.append(_aggregate(layer, MASKED, hidden, f"{layer.label}, masked"))
        return out

    def values(
        self, layer: Layer, xs: np.ndarray, ys: np.ndarray, cols: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``layer``'s values at study-grid points, and for a masked fine image the values its mask hid (else None).

        Each point reads the raster's own pixel under it (one window around all of them).
        """
        ds = self._open(layer.path)
        if self.grid.has_crs and has_real_crs(ds):
            ct = self._transform(self.grid.crs_wkt, ds.GetProjection())
            pts = np.column_stack([xs, ys])
            if ct is not None:
                pts = np.asarray(ct.TransformPoints(pts.tolist()))[:, :2]
            x0, dx, _, y0, _, dy = ds.GetGeoTransform()
            c = np.floor((pts[:, 0] - x0) / dx).astype(np.int64)
            r = np.floor((pts[:, 1] - y0) / dy).astype(np.int64)
        else:  # pixel-aligned rasters without a CRS: the same pixel
            c, r = np.asarray(cols, np.int64), np.asarray(rows, np.int64)
        inside = (c >= 0) & (c < ds.RasterXSize) & (r >= 0) & (r < ds.RasterYSize)
        values = np.full(c.shape, np.nan)
        hidden = None
        if not inside.any():
            return values, hidden
        c0, c1, r0, r1 = int(c[inside].min()), int(c[inside].max()), int(r[inside].min()), int(r[inside].max())
        window = (c0, r0, c1 - c0 + 1, r1 - r0 + 1)
        idx = (r[inside] - r0, c[inside] - c0)
        if layer.source is None:
            band = ds.GetRasterBand(1)
            block = nodata_to_nan(read_window(band, window), [band.GetNoDataValue()])
            values[inside] = block[idx]
            return values, hidden
        from ..inputs.ndvi import read_mask_invalid, read_ndvi

        clear = replace(layer.source, mask_path=None)
        ndvi = read_ndvi(clear, window, ds)
        values[inside] = ndvi[idx]
        invalid = read_mask_invalid(layer.source, ds, window) if layer.source.mask_path else None
        if invalid is not None and layer.role == OBSERVED:  # the hidden values: hollow markers of this year
            hidden = np.full(c.shape, np.nan)
            cut = invalid[idx]
            sub = values[inside]
            hidden_sub = np.where(cut, sub, np.nan)
            sub = np.where(cut, np.nan, sub)
            values[inside], hidden[inside] = sub, hidden_sub
        elif invalid is not None:
            sub = values[inside]
            values[inside] = np.where(invalid[idx], np.nan, sub)
        return values, hidden

    # --- fields -----------------------------------------------------------------------------------
    def _field_pixels(self, x: float, y: float) -> tuple[str, np.ndarray, np.ndarray] | None:
        """The field under the study-grid point: its id and its pixels' columns and rows."""
        rec = self.record
        if not rec.fields:
            raise InputError(f"Run '{rec.name}' has no field polygons (job field 'fields'); the pixel's series is shown.")
        if not self.grid.has_crs:
            raise InputError(f"Run '{rec.name}' has no CRS: its fields cannot be placed; the pixel's series is shown.")
        if self._fields is None:
            self._fields = ogr.Open(rec.fields)
            if self._fields is None:
                raise InputError(f"The run's fields '{rec.fields}' cannot be read; the pixel's series is shown.")
        layer = self._fields.GetLayer(0)
        srs = layer.GetSpatialRef()
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(x, y)
        if srs is not None:
            srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            point.AssignSpatialReference(self.grid.srs)
            point.TransformTo(srs)
        layer.SetSpatialFilter(point)
        try:
            feat = next((f for f in layer if f.GetGeometryRef() is not None and f.GetGeometryRef().Contains(point)), None)
        finally:
            layer.SetSpatialFilter(None)
            layer.ResetReading()
        if feat is None:
            return None
        geom = feat.GetGeometryRef().Clone()
        if srs is not None:
            geom.TransformTo(self.grid.srs)
        fid = str(feat.GetField(rec.field_id)) if rec.field_id and feat.GetFieldIndex(rec.field_id) >= 0 else str(feat.GetFID())
        return (fid, *self._rasterize(geom))

    def _rasterize(self, geom: ogr.Geometry) -> tuple[np.ndarray, np.ndarray]:
        """The study grid's pixels whose centres lie inside ``geom`` (in the grid's CRS)."""
        x0, dx, _, y0, _, dy = self.grid.geotransform
        gxmin, gxmax, gymin, gymax = geom.GetEnvelope()
        c0 = max(0, math.floor((gxmin - x0) / dx))
        c1 = min(self.grid.width, math.ceil((gxmax - x0) / dx))
        r0 = max(0, math.floor((gymax - y0) / dy))
        r1 = min(self.grid.height, math.ceil((gymin - y0) / dy))
        w, h = max(1, c1 - c0), max(1, r1 - r0)
        mem = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Byte)
        mem.SetGeoTransform(self.grid.window_grid(c0, r0, w, h).geotransform)
        mem.SetProjection(self.grid.crs_wkt)
        src = ogr.GetDriverByName("Memory").CreateDataSource("")
        lyr = src.CreateLayer("f", self.grid.srs, ogr.wkbUnknown)
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetGeometry(geom)
        lyr.CreateFeature(feat)
        gdal.RasterizeLayer(mem, [1], lyr, burn_values=[1])
        rows, cols = np.nonzero(mem.GetRasterBand(1).ReadAsArray())
        return cols + c0, rows + r0

    # --- plumbing ---------------------------------------------------------------------------------
    def _open(self, path: str) -> gdal.Dataset:
        ds = self._ds.get(path)
        if ds is None:
            ds = self._ds[path] = open_raster(path)
        return ds

    def _transform(self, src_wkt: str, dst_wkt: str) -> osr.CoordinateTransformation | None:
        key = (src_wkt, dst_wkt)
        if key not in self._ct:
            a, b = _srs(src_wkt), _srs(dst_wkt)
            self._ct[key] = None if a.IsSame(b) else osr.CoordinateTransformation(a, b)
        return self._ct[key]

    def close(self) -> None:
        """Close the open rasters (a run folder can then be moved or deleted)."""
        self._ds.clear()
        self._fields = None


def _aggregate(layer: Layer, role: str, values: np.ndarray, label: str | None = None) -> Sample:
    finite = values[np.isfinite(values)]
    value = float(finite.mean()) if finite.size else float("nan")
    std = (float(finite.std()) if finite.size else float("nan")) if values.size > 1 else None
    return Sample(layer.date, layer.plot_date, role, label or layer.label, value, layer.path, std, int(finite.size))


def series_at(run_folder: PathLike, x: float, y: float, crs_wkt: str | None = None) -> list[Sample]:
    """The season at the pixel under ``(x, y)`` of the run in ``run_folder`` (see :meth:`ProfileReader.series_at`)."""
    return ProfileReader(run_folder).series_at(x, y, crs_wkt)[1]


def field_series(run_folder: PathLike, x: float, y: float, crs_wkt: str | None = None) -> list[Sample] | None:
    """The field mean and spread under ``(x, y)`` (see :meth:`ProfileReader.field_series`); None outside the fields."""
    found = ProfileReader(run_folder).field_series(x, y, crs_wkt)
    return None if found is None else found[1]


def write_csv(samples: list[Sample], path: PathLike) -> Path:
    """The samples as UTF-8 CSV (:data:`CSV_COLUMNS`; empty cells for NaN and a pixel's missing std), written atomically."""

    def cell(v: float | None) -> str:
        return "" if v is None or v != v else repr(float(v))

    path = Path(path)
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:  # the same bytes on Windows
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for s in samples:
            w.writerow([s.date.isoformat(), s.plot_date.isoformat(), s.role, s.label, cell(s.value), cell(s.std), s.n, s.path])
    return path


def read_csv(path: PathLike) -> list[Sample]:
    """Samples back from a CSV of :func:`write_csv` (UTF-8, whatever the system's locale)."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:  # UTF-8, with the BOM a spreadsheet may add
        for r in csv.DictReader(fh):
            out.append(
                Sample(
                    dt.date.fromisoformat(r["date"]),
                    dt.date.fromisoformat(r["plot_date"]),
                    r["role"],
                    r["label"],
                    float(r["value"]) if r["value"] else float("nan"),
                    r["path"],
                    float(r["std"]) if r["std"] else None,
                    int(r["n"]),
                )  # fmt: skip
            )
    return out
