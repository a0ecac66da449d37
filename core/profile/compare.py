"""The compare view's rasters for a target date: fused, real and each method, and their differences to the real image.

Nothing is computed ahead: the real NDVI of a run's target is ``fused - difference`` (the run wrote
``difference_YYYYMMDD.tif``, fused minus the real image on the study grid), and every difference is a
small GDAL VRT with the ``diff`` pixel function, so the map canvases read only what they draw.
The VRTs go into a scratch folder of the caller's, never into the run folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from ..errors import InputError
from ..files import PathLike, open_raster, write_text
from .record import FUSED, OBSERVED, RunRecord, method_label


@dataclass(frozen=True)
class Panel:
    """One map of the compare view: its title, raster and kind (``ndvi`` or ``difference``)."""

    title: str
    path: str
    kind: str


def difference_vrt(a: PathLike, b: PathLike, out: PathLike) -> Path:
    """A VRT of ``a - b`` (single-band rasters on one grid; NaN where either is NaN), written atomically."""
    ds = open_raster(a)
    gt = ", ".join(repr(v) for v in ds.GetGeoTransform())
    sources = "".join(
        f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(str(Path(p).resolve()))}</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource>"
        for p in (a, b)
    )
    xml = (
        f'<VRTDataset rasterXSize="{ds.RasterXSize}" rasterYSize="{ds.RasterYSize}">'
        f"<SRS>{escape(ds.GetProjection())}</SRS><GeoTransform>{gt}</GeoTransform>"
        '<VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">'
        "<NoDataValue>nan</NoDataValue><PixelFunctionType>diff</PixelFunctionType>"
        f"<SourceTransferType>Float32</SourceTransferType>{sources}</VRTRasterBand></VRTDataset>"
    )
    return write_text(out, xml)


def compare_panels(record: RunRecord, date: dt.date, scratch: PathLike) -> list[Panel]:
    """The maps of ``date``: fused, real (when the run had one), each compared method, then each minus real.

    Raises:
        InputError: ``date`` is not a target date of the run.
    """
    scratch = Path(scratch)
    fused = record.at(FUSED, date)
    if fused is None:
        dates = ", ".join(d.isoformat() for d in record.target_dates)
        raise InputError(f"Run '{record.name}' has no fused NDVI on {date.isoformat()}; its target dates are {dates}.")
    stamp = f"{date:%Y%m%d}"
    real = _real_ndvi(record, date, scratch / f"real_{stamp}.vrt")
    panels = [Panel(f"TSSTFN {date.isoformat()}", fused.path, "ndvi")]
    if real is not None:
        panels.append(Panel(f"real {date.isoformat()}", str(real), "ndvi"))
    methods = [la for name in record.methods() if (la := record.at(name, date)) is not None]
    panels += [Panel(f"{method_label(la.role)} {date.isoformat()}", la.path, "ndvi") for la in methods]
    if real is not None:
        for la in [fused, *methods]:
            name = "TSSTFN" if la.role == FUSED else method_label(la.role)
            diff = difference_vrt(la.path, real, scratch / f"{la.role}_minus_real_{stamp}.vrt")
            panels.append(Panel(f"{name} - real", str(diff), "difference"))
    return panels


def _real_ndvi(record: RunRecord, date: dt.date, out: Path) -> Path | None:
    """The real NDVI of a target on the study grid: a benchmark's aligned image, or a run's fused - difference."""
    observed = record.at(OBSERVED, date)
    if record.kind == "benchmark" and observed is not None and observed.source is None:
        return Path(observed.path)
    difference = record.folder / f"difference_{date:%Y%m%d}.tif"
    fused = record.at(FUSED, date)
    if fused is None or not difference.exists():
        return None
    return difference_vrt(fused.path, difference, out)
