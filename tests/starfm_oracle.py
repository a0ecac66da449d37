"""Feng Gao's STARFM (C, v1.2.1) as a test oracle: built in a temporary folder, run on int16 rasters.

The sources stay in ``../shared/reference/starfm-c`` (never copied into the repository); tests that
use this skip with a reason when the folder or a C compiler is missing.

The program reads one row past the end of its input when its window is odd (``WIN_SIZE`` =
``2 * MAX_SEARCH_DISTANCE / RESOLUTION``, e.g. 31 at 155 m and 10 m): ``loadNextRow`` tests
``irow + WIN_SIZE/2 < nrows`` where the row it reads is ``irow + WIN_SIZE/2 + 1``, so after row
``nrows - WIN_SIZE/2 - 1`` it reads past the end of file, and the failed ``fread`` leaves a stale
value marked valid. That phantom row is a candidate for the last ``WIN_SIZE/2`` rows, with no
spectral or temporal difference, so it wins the weights where its value is similar to the pixel's
(``tests/fusion/test_starfm_reference.py`` shows it). :func:`run` therefore pads the inputs with
``WIN_SIZE/2 + 1`` rows of fill values by default: the rows past the image are then fill, as the
program means them to be, and the phantom row lies beyond the reach of every real row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

SOURCES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "starfm-c"
FILL = -32768
SCALE = 10000


class UnavailableError(Exception):
    """The reference cannot be built here; the message says why."""


def build(workdir: Path) -> Path:
    """``StarFM.exe`` built from the reference sources in ``workdir``.

    Raises:
        UnavailableError: the sources (../shared) or a C compiler are missing.
    """
    if not (SOURCES / "StarFM_compute.c").exists():
        raise UnavailableError(f"the reference STARFM sources are not at {SOURCES} (../shared is absent)")
    if shutil.which("gcc") is None or shutil.which("make") is None:
        raise UnavailableError("no C compiler (gcc) or make on this machine: the STARFM reference cannot be built")
    src = workdir / "starfm-c"
    shutil.copytree(SOURCES, src)
    subprocess.run(["make", "-s"], cwd=src, check=True, capture_output=True)
    return src / "StarFM.exe"


def window_size(resolution: float, max_search_distance: int) -> int:
    """Gao's ``WIN_SIZE``: ``MAX_SEARCH_DISTANCE * 2 / RESOLUTION`` in C's integer arithmetic."""
    return int(max_search_distance * 2 / resolution)


def fill_rows(resolution: float, max_search_distance: int) -> int:
    """Rows of fill values that keep the program's read past the last row away from the image."""
    return window_size(resolution, max_search_distance) // 2 + 1


def to_dn(ndvi: np.ndarray) -> np.ndarray:
    """NDVI as Gao's int16 input: x 10000, NaN as the fill value."""
    out = np.where(np.isfinite(ndvi), np.rint(np.nan_to_num(ndvi) * SCALE), FILL)
    return out.astype("<i2")


def run(
    exe: Path,
    workdir: Path,
    fine: list[np.ndarray],
    coarse: list[np.ndarray],
    target: np.ndarray,
    resolution: float = 10.0,
    max_search_distance: int = 155,
    num_classes: int = 4,
    uncertainty: int = 36,
    pad_rows: bool = True,
) -> np.ndarray:
    """Gao's prediction for ``target`` from the pairs ``(fine[i], coarse[i])``, as NDVI with NaN for fill.

    ``pad_rows``: append :func:`fill_rows` rows of fill values to every input (and drop them from
    the output), so that the program's read past the last row (module docstring) cannot reach the
    image; False runs it on the image as it is.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    rows, cols = target.shape
    if pad_rows:
        extra = np.full((fill_rows(resolution, max_search_distance), cols), np.nan)
        fine, coarse = [np.vstack([a, extra]) for a in fine], [np.vstack([a, extra]) for a in coarse]
        target = np.vstack([target, extra])
        return run(exe, workdir, fine, coarse, target, resolution, max_search_distance, num_classes, uncertainty, False)[:rows]
    lines = ["STARFM_PARAMETER_START", f"  NUM_IN_PAIRS = {len(fine)}"]
    names_c, names_f = [], []
    for i, (f, c) in enumerate(zip(fine, coarse)):
        to_dn(c).tofile(workdir / f"c{i}.bin")
        to_dn(f).tofile(workdir / f"f{i}.bin")
        names_c.append(f"c{i}.bin")
        names_f.append(f"f{i}.bin")
    to_dn(target).tofile(workdir / "cp.bin")
    lines += [
        f"  IN_PAIR_MODIS_FNAME = {' '.join(names_c)}",
        f"  IN_PAIR_LANDSAT_FNAME = {' '.join(names_f)}",
        "  IN_PDAY_MODIS_FNAME = cp.bin",
        "  OUT_PDAY_LANDSAT_FNAME = out.bin",
        f"  NROWS = {rows}",
        f"  NCOLS = {cols}",
        f"  RESOLUTION = {resolution:g}",
        f"  SCALE_FACTOR = {SCALE}",
        f"  LANDSAT_FILLV = {FILL}",
        "  LANDSAT_DATA_RANGE = -10000, 10000",
        f"  LANDSAT_UNCERTAINTY = {uncertainty}",
        f"  MODIS_FILLV = {FILL}",
        "  MODIS_DATA_RANGE = -10000, 10000",
        f"  MODIS_UNCERTAINTY = {uncertainty}",
        "  USE_SPATIAL_FLAG = 1",
        f"  MAX_SEARCH_DISTANCE = {max_search_distance}",
        f"  NUM_SLICE_PURE_TEST = {num_classes}",
        "STARFM_PARAMETER_END",
    ]
    (workdir / "input.txt").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_STACKSIZE": "64M"}
    subprocess.run(
        ["bash", "-c", f"ulimit -s unlimited 2>/dev/null || ulimit -s 1000000; exec '{exe}' input.txt"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    out = np.fromfile(workdir / "out.bin", dtype="<i2").reshape(rows, cols).astype(np.float64)
    return np.where(out == FILL, np.nan, out / SCALE)
