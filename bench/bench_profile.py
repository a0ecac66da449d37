"""Click-to-chart time of the profile tool on a whole-tile-sized run folder (issue 22: under 0.3 s).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_profile.py [--size 10980] [--clicks 20]

Writes a run folder as a run writes it (tests/profile/make_run.py) on a Sentinel-2 tile of
``--size`` px at 10 m: 8 fine images (one with a cloud mask) and their coarse images (int16, scaled,
on a 40 m grid of its own), fused NDVI, MC-dropout std and STARFM for 3 targets, tiled DEFLATE
GeoTIFFs of 256 px blocks, the field polygons and report/run_report.json. Only the blocks the clicks
land in are written (the rest of each tile is absent: a sparse GeoTIFF), so the folder takes seconds
to make; a click reads one block per raster either way. Then it times, each as the dock does it:
the record read (Open run), the first click (every raster opened), later clicks on other pixels,
a field click (its mean over the field's pixels) and the chart drawn on its Qt5Agg canvas. Prints a
table (median and max over the clicks).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "profile"))
from make_run import FIELD, centre, make_run  # noqa: E402

from tsstfn_crop_mapper.core.profile import ProfileReader, open_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10980, help="tile side in px (10980: a Sentinel-2 tile at 10 m)")
    ap.add_argument("--clicks", type=int, default=20)
    args = ap.parse_args()
    last = (args.size - 1) // 256
    blocks = sorted({(0, 0), (last // 2, last // 2), (last, last)})
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    from tsstfn_crop_mapper.ui.profile.chart import ProfileChart

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        made = make_run(tmp, size=args.size, sparse=True, blocks=blocks)
        make_s = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        pixels = []
        for _ in range(args.clicks):
            bc, br = blocks[int(rng.integers(len(blocks)))]
            pixels.append((bc * 256 + int(rng.integers(min(256, args.size - bc * 256))),
                           br * 256 + int(rng.integers(min(256, args.size - br * 256)))))  # fmt: skip
        t0 = time.perf_counter()
        record = open_run(made["run"])
        open_s = time.perf_counter() - t0
        reader = ProfileReader(record)
        chart = ProfileChart()
        chart.resize(1000, 330)
        chart.show()

        def click(col: int, row: int, field: bool = False) -> tuple[float, float]:
            start = time.perf_counter()
            x, y = centre(col, row)
            found = reader.field_series(x, y) if field else reader.series_at(x, y)
            assert found is not None
            read = time.perf_counter() - start
            chart.show_samples(found[1], "bench", record.season)
            chart.canvas.draw()
            return read, time.perf_counter() - start

        first = click(*pixels[0])
        later = [click(*p) for p in pixels[1:]]
        c0, r0, c1, r1 = FIELD
        fields = [click(c0 + k % (c1 - c0), r0 + k % (r1 - r0), field=True) for k in range(5)]
        n_rasters = len(record.layers)
    rows = [
        ("make the run folder (sparse)", make_s, make_s),
        ("open the run's record", open_s, open_s),
        ("first click: read", first[0], first[0]),
        ("first click: read + chart", first[1], first[1]),
        (f"later clicks: read (median, max of {len(later)})", statistics.median(r for r, _ in later), max(r for r, _ in later)),
        ("later clicks: read + chart", statistics.median(t for _, t in later), max(t for _, t in later)),
        ("field click (320 px): read + chart", statistics.median(t for _, t in fields), max(t for _, t in fields)),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"run folder: {args.size} x {args.size} px tile, {n_rasters} rasters, 256 px blocks; "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")  # fmt: skip
    print(f"| {'step':<46} | {'median s':>9} | {'max s':>7} |")
    print(f"|{'-' * 48}|{'-' * 11}|{'-' * 9}|")
    for name, med, worst in rows:
        print(f"| {name:<46} | {med:9.3f} | {worst:7.3f} |")
    app.exitQgis()


if __name__ == "__main__":
    main()
