"""Regions: many tiles (or AOIs), each a normal job, run as tasks on Dask distributed.

A region file lists the tiles and how the model is shared (``docs/regions.md``)::

    {"name": "province", "output_dir": "out", "model": "per_tile",
     "tiles": [{"name": "T51TXM", "job": "T51TXM.json"}, {"name": "T51TXL", "job": {...}}],
     "mosaic": {"cog": false}}

:func:`run_region` submits one task per tile to a Dask cluster: a ``LocalCluster`` by default
(one worker per GPU, or per two cores on a CPU) or an existing one given by its scheduler
address. Each task runs :func:`~.run.run_job` in a worker process, into
``<output_dir>/tiles/<name>``, and returns a summary; a tile that fails returns its error, and the
others go on. A tile already complete and unchanged (its manifest says so and every output still
has its recorded hash) is not run again, and a stopped tile resumes (:mod:`.resume`), so running a
region again redoes only the failed and missing tiles. Then the crop maps and fused NDVI of the
finished tiles are mosaicked as VRTs (Cloud-Optimized GeoTIFFs on request) and one region report
gives each tile's kappa and the classes' areas.

With ``"model": "shared"`` the tile named by ``train_tile`` (default: the first) trains the model and
every other tile predicts with it (one model per agro-climatic zone); its tasks wait for that tile.
Tasks that train or predict on a GPU ask for the worker resource ``GPU``, so that a cluster with
GPU workers (``dask worker --resources GPU=1``) runs them there.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..callbacks import CancelFn, ProgressFn, never_cancelled
from ..errors import CancelledError, DependencyError, InputError, TsstfnError
from ..files import PathLike, atomic_output, write_text
from .job import Job, job_from_dict, job_to_dict, load_job, read_mapping

log = logging.getLogger("tsstfn")
MODEL_CHOICES = ("per_tile", "shared")


@dataclass(frozen=True)
class Tile:
    """One tile of a region: its name and its job (output folder already set inside the region's)."""

    name: str
    job: Job


@dataclass(frozen=True)
class Region:
    """A region job (see the module docstring).

    Attributes:
        name: the region's name (report titles, mosaic names).
        output_dir: the region's folder: ``tiles/<name>/`` per tile, ``mosaic/``, ``report/``.
        tiles: the tiles, in the file's order.
        model: ``per_tile`` (each tile trains its own model) or ``shared`` (one tile trains, all predict).
        train_tile: the tile that trains the shared model.
        cog: also write each mosaic as a Cloud-Optimized GeoTIFF.
        gpu: ``auto`` (ask for a GPU where the client or the cluster has one), ``true`` or ``false``.
    """

    name: str
    output_dir: str
    tiles: tuple[Tile, ...]
    model: str = "per_tile"
    train_tile: str | None = None
    cog: bool = False
    gpu: str = "auto"


@dataclass
class TileResult:
    """What one tile's task returned: ``status`` is ``complete``, ``reused`` or ``failed`` (with ``error``)."""

    name: str
    status: str
    output_dir: str
    error: str = ""
    kappa: float | None = None
    block_kappa: float | None = None
    seconds: float = 0.0
    crop_map: str | None = None
    fused: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    reused: list[str] = field(default_factory=list)
    worker: str = ""


@dataclass
class RegionResult:
    """A region run: each tile's result, the mosaics and the report."""

    output_dir: Path
    tiles: list[TileResult]
    mosaics: dict[str, Path] = field(default_factory=dict)
    report: Path | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[TileResult]:
        """The tiles that failed."""
        return [t for t in self.tiles if t.status == "failed"]


def load_region(path: PathLike) -> Region:
    """A region from a JSON or YAML file; tile jobs are files (relative to it) or inline mappings.

    Raises:
        InputError: a missing field, an unknown tile in ``train_tile``, two tiles of one name, or a
            wrong tile job (the message names the tile).
    """
    path = Path(path)
    data = read_mapping(path, "Region")
    if not isinstance(data, dict):
        raise InputError(f"Region file '{path.name}' must hold a mapping with 'tiles' and 'output_dir'.")
    return region_from_dict(data, path.parent)


def region_from_dict(data: dict, base_dir: PathLike = ".") -> Region:
    """A region from plain data (see :func:`load_region`)."""
    base = Path(base_dir)
    unknown = set(data) - {"name", "output_dir", "tiles", "model", "train_tile", "mosaic", "gpu"}
    if unknown:
        raise InputError(f"Region field(s) {sorted(unknown)} are unknown; see docs/regions.md.")
    if not data.get("output_dir"):
        raise InputError("Region field 'output_dir' is missing: the folder the tiles, mosaics and report go to.")
    out = Path(data["output_dir"])
    out = out if out.is_absolute() else (base / out).resolve()
    model = str(data.get("model", "per_tile"))
    if model not in MODEL_CHOICES:
        raise InputError(f"Region field 'model': '{model}' is not one of {', '.join(MODEL_CHOICES)}.")
    entries = data.get("tiles")
    if not isinstance(entries, list) or not entries:
        raise InputError("Region field 'tiles' must list the tiles, each {'name': ..., 'job': file or mapping}.")
    tiles = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or "job" not in entry:
            raise InputError(f"Region tile {k + 1} must be a mapping with 'name' and 'job'.")
        name = str(entry.get("name") or f"tile_{k + 1:02d}")
        try:
            job = (
                load_job(base / entry["job"])
                if isinstance(entry["job"], str)
                else job_from_dict({"output_dir": ".", **entry["job"]}, base)
            )
        except TsstfnError as exc:
            raise InputError(f"Region tile '{name}': {exc}") from None
        tiles.append(Tile(name, replace(job, output_dir=str(out / "tiles" / name))))
    names = [t.name for t in tiles]
    if len(set(names)) != len(names):
        raise InputError(f"Region tiles need distinct names; {names} repeats one.")
    train_tile = data.get("train_tile")
    if train_tile is not None and train_tile not in names:
        raise InputError(f"Region field 'train_tile': '{train_tile}' is not one of the tiles {names}.")
    mosaic = data.get("mosaic") or {}
    gpu = str(data.get("gpu", "auto")).lower()
    if gpu not in ("auto", "true", "false"):
        raise InputError(f"Region field 'gpu': '{gpu}' is not auto, true or false.")
    return Region(
        str(data.get("name") or Path(out).name), str(out), tuple(tiles), model, train_tile, bool(mosaic.get("cog")), gpu
    )


def completed_tile(job: Job) -> dict | None:
    """The run report of a tile already complete for this very job, every output unchanged; else None."""
    from ..files import file_sha256
    from .outputs import MANIFEST, _describe
    from .run import input_paths

    out = Path(job.output_dir)
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        report = json.loads((out / "report" / "run_report.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("status") != "complete" or manifest.get("job") != job_to_dict(job):
        return None
    if manifest.get("inputs") != [_describe(p) for p in input_paths(job)]:
        return None
    for rel, sha in (manifest.get("outputs") or {}).items():
        p = out / rel
        if not p.is_file() or file_sha256(p) != sha:
            return None
    return report


def _summary(name: str, job: Job, report: dict, status: str, seconds: float) -> TileResult:
    acc = (report.get("accuracy") or {}).get("fused") or {}
    outputs = report.get("outputs") or {}
    return TileResult(
        name, status, job.output_dir, kappa=acc.get("kappa"), block_kappa=acc.get("block_kappa"), seconds=seconds,
        crop_map=outputs.get("crop_map"), fused=dict(outputs.get("fused") or {}), model=outputs.get("model"),
        reused=list(report.get("reused") or []),
    )  # fmt: skip


def run_tile(name: str, job_data: dict, model: Any = None) -> TileResult:
    """Run one tile's job (in a Dask worker); never raises: a failure comes back as a ``failed`` result.

    Args:
        name: the tile's name.
        job_data: the job as plain data (:func:`~.job.job_to_dict`).
        model: for a shared model, the training tile's result (its model file is used).
    """
    import traceback

    from ..memory import tune_memory
    from .report import write_run_report  # noqa: F401 (imported here so a broken install fails inside the task)
    from .run import run_job

    tune_memory()
    t0 = time.perf_counter()
    job = job_from_dict(job_data, ".")
    worker = _worker_name()
    try:
        if model is not None:
            if model.status == "failed" or not model.model:
                raise InputError(f"the tile '{model.name}' that trains the shared model failed: {model.error or 'no model'}")
            job = replace(job, model=model.model, save_model=False)
        report = completed_tile(job)
        if report is not None:
            result = _summary(name, job, report, "reused", time.perf_counter() - t0)
        else:
            run = run_job(job)
            report = json.loads((Path(job.output_dir) / "report" / "run_report.json").read_text())
            result = _summary(name, job, report, "complete", run.seconds)
            result.model = str(run.model) if run.model else None
    except TsstfnError as exc:
        result = TileResult(name, "failed", job.output_dir, error=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 (one tile's bug must not lose the region; its trace goes to its folder)
        Path(job.output_dir).mkdir(parents=True, exist_ok=True)
        write_text(Path(job.output_dir) / "error.txt", traceback.format_exc())
        result = TileResult(
            name, "failed", job.output_dir, error=f"{type(exc).__name__}: {exc} (traceback in error.txt)",
            seconds=time.perf_counter() - t0,
        )  # fmt: skip
    result.worker = worker
    return result


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _uses_gpu(region: Region, client: Any) -> bool:
    if region.gpu != "auto":
        return region.gpu == "true"
    if any(t.job.train.device.startswith("cuda") for t in region.tiles):
        return True
    if all(t.job.train.device == "cpu" for t in region.tiles):
        return False
    workers = client.scheduler_info().get("workers", {}).values()
    return any("GPU" in (w.get("resources") or {}) for w in workers)


def local_cluster_size() -> tuple[int, int, bool]:
    """``(workers, threads per worker, GPU)`` of the default LocalCluster: one worker per GPU, or per two cores."""
    cores = os.cpu_count() or 2
    try:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        gpus = 0
    if gpus:
        return gpus, max(1, cores // gpus), True
    return max(1, cores // 2), 2, False


def connect(scheduler: str | None = None, workers: int | None = None) -> tuple[Any, Any]:
    """A Dask client: of the cluster at ``scheduler``, else of a new LocalCluster; ``(client, cluster or None)``.

    Raises:
        DependencyError: dask[distributed] is not installed.
        InputError: the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DependencyError(
            "Regions run on Dask distributed, which is not installed; install the plugin's requirements "
            "(pip install 'dask[distributed]')."
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as exc:
            raise InputError(f"The Dask scheduler '{scheduler}' cannot be reached ({exc}); check the address.") from None
    n, threads, gpu = local_cluster_size()
    n = workers or n
    _python_for_workers()
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=threads, processes=True, dashboard_address=None,
        resources={"GPU": 1} if gpu else None, silence_logs=logging.WARNING,
    )  # fmt: skip
    return Client(cluster), cluster


def _python_for_workers() -> None:
    """Inside QGIS, ``sys.executable`` is QGIS itself: spawned workers must start Python instead."""
    import multiprocessing
    import sys

    if "python" not in Path(sys.executable).name.lower():
        from ..deps import python_executable

        exe = python_executable()
        if exe:
            multiprocessing.set_executable(exe)


def run_region(
    region: Region,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
    client: Any = None,
) -> RegionResult:
    """Run every tile of ``region`` on Dask, then mosaic and report (see the module docstring).

    Args:
        region: the region.
        scheduler: an existing cluster's scheduler address (``tcp://host:8786``); None: a LocalCluster.
        workers: LocalCluster workers (None: one per GPU, or per two cores).
        progress: ``progress(fraction, message)`` as tiles finish.
        is_cancelled: checked twice a second; cancelling stops the tiles (a next run resumes them).
        client: a Dask client to use instead (tests; it is not closed).

    Returns:
        Each tile's result, the mosaics and the report; failed tiles are in ``result.failed``.
    """
    from distributed import as_completed

    t0 = time.perf_counter()
    out = Path(region.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(scheduler, workers)
    try:
        gpu = _uses_gpu(region, client)
        resources = {"GPU": 1} if gpu else None
        futures = {}
        model_future = None
        tiles = list(region.tiles)
        if region.model == "shared":
            trainer = next(t for t in tiles if t.name == (region.train_tile or tiles[0].name))
            model_future = client.submit(
                run_tile, trainer.name, job_to_dict(trainer.job), key=f"tile-{region.name}-{trainer.name}",
                resources=resources, pure=False,
            )  # fmt: skip
            futures[model_future] = trainer.name
            tiles.remove(trainer)
        for t in tiles:
            f = client.submit(
                run_tile, t.name, job_to_dict(t.job), model_future, key=f"tile-{region.name}-{t.name}",
                resources=resources, pure=False,
            )  # fmt: skip
            futures[f] = t.name
        results: dict[str, TileResult] = {}
        pending = as_completed(list(futures))
        while len(results) < len(futures):
            if is_cancelled():
                client.cancel(list(futures))
                raise CancelledError(
                    f"Region cancelled after {len(results)} of {len(futures)} tiles; run it again to do the rest "
                    "(finished tiles are reused, stopped ones resume)."
                )
            for f in pending.next_batch(block=False) if pending.has_ready() else []:
                r = f.result()
                results[futures[f]] = r
                log.info("tile %s: %s%s", r.name, r.status, f" ({r.error})" if r.error else "")
                if progress:
                    progress(len(results) / len(futures) * 0.9, f"tile {r.name} {r.status} ({len(results)}/{len(futures)})")
            if len(results) < len(futures):
                time.sleep(0.5)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    ordered = [results[t.name] for t in region.tiles]
    result = RegionResult(out, ordered)
    result.mosaics = build_mosaics(region, ordered, is_cancelled)
    result.seconds = time.perf_counter() - t0
    result.report = write_region_report(region, result)
    if progress:
        progress(1.0, "done")
    return result


def build_mosaics(region: Region, tiles: list[TileResult], is_cancelled: CancelFn = never_cancelled) -> dict[str, Path]:
    """VRT mosaics of the finished tiles' crop maps and fused NDVI (per date), one per CRS, COGs on request."""
    from osgeo import gdal

    from ..callbacks import check_cancelled
    from ..files import make_cog, open_raster

    done = [t for t in tiles if t.status != "failed"]
    products: dict[str, list[str]] = {}
    for t in done:
        if t.crop_map:
            products.setdefault("crop_map", []).append(t.crop_map)
        for date, path in t.fused.items():
            products.setdefault(f"fused_ndvi_{date.replace('-', '')}", []).append(path)
    folder = Path(region.output_dir) / "mosaic"
    folder.mkdir(parents=True, exist_ok=True)
    mosaics: dict[str, Path] = {}
    for product, paths in products.items():
        by_crs: dict[str, list[str]] = {}
        for p in paths:
            ds = open_raster(p)
            by_crs.setdefault(ds.GetProjection(), []).append(p)
            ds = None
        for k, (wkt, group) in enumerate(by_crs.items()):
            check_cancelled(is_cancelled)
            stem = product if len(by_crs) == 1 else f"{product}_{_crs_name(wkt, k)}"
            vrt = folder / f"{stem}.vrt"
            with atomic_output(vrt) as tmp:
                ds = gdal.BuildVRT(str(tmp), [str(Path(p).resolve()) for p in group])
                ds = None
                _relative_sources(tmp, group, folder)
            mosaics[stem] = vrt
            if region.cog:
                tif = folder / f"{stem}.tif"
                with atomic_output(tif) as tmp:
                    gdal.Translate(str(tmp), str(vrt), format="GTiff", creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
                make_cog(tif)
                mosaics[f"{stem}_cog"] = tif
    return mosaics


def _relative_sources(vrt: Path, sources: list[str], folder: Path) -> None:
    """Make the VRT's sources relative to the mosaic folder, so that the region folder can be moved."""
    text = vrt.read_text()
    for p in sources:
        absolute = str(Path(p).resolve())
        text = text.replace(f'relativeToVRT="0">{absolute}<', f'relativeToVRT="1">{os.path.relpath(absolute, folder)}<')
    vrt.write_text(text)


def _crs_name(wkt: str, k: int) -> str:
    from osgeo import osr

    srs = osr.SpatialReference()
    if wkt and srs.ImportFromWkt(wkt) == 0 and srs.GetAuthorityCode(None):
        return f"{srs.GetAuthorityName(None).lower()}{srs.GetAuthorityCode(None)}"
    return f"crs{k + 1}"


def _class_areas(t: TileResult) -> dict[str, float]:
    path = Path(t.output_dir) / "crop_map_fused_areas.csv"
    try:
        with open(path, newline="") as fh:
            return {row["class_name"]: float(row["pixel_count_area_ha"]) for row in csv.DictReader(fh)}
    except (OSError, KeyError, ValueError):
        return {}


def write_region_report(region: Region, result: RegionResult) -> Path:
    """``report/region_report.md``, ``region_report.json`` and ``tiles.csv``: each tile, the areas, the mosaics."""
    out = Path(region.output_dir) / "report"
    areas = {t.name: _class_areas(t) for t in result.tiles}
    classes = sorted({c for a in areas.values() for c in a})
    totals = {c: sum(a.get(c, 0.0) for a in areas.values()) for c in classes}

    def pct(v: float | None) -> str:
        return f"{100 * v:.1f}" if isinstance(v, (int, float)) else "-"

    trainer = region.train_tile or region.tiles[0].name
    model_text = f"one shared model, trained on {trainer}" if region.model == "shared" else "one per tile"
    lines = [
        f"# Region {region.name}",
        "",
        f"- {len(result.tiles)} tiles: {sum(t.status == 'complete' for t in result.tiles)} run, "
        f"{sum(t.status == 'reused' for t in result.tiles)} reused (complete and unchanged), {len(result.failed)} failed",
        f"- model: {model_text}",
        f"- wall time {result.seconds:.0f} s",
        "",
        "## Tiles",
        "",
        "| tile | status | kappa (%) | block kappa (%) | time (s) | worker | " + " | ".join(f"{c} (ha)" for c in classes) + " |",
        "|---" * (6 + len(classes)) + "|",
    ]
    for t in result.tiles:
        cells = " | ".join(f"{areas[t.name].get(c, 0.0):.1f}" for c in classes)
        lines.append(
            f"| {t.name} | {t.status} | {pct(t.kappa)} | {pct(t.block_kappa)} | {t.seconds:.0f} | {t.worker} | {cells} |"
        )
    lines.append(f"| **region** | | | | | | {' | '.join(f'**{totals[c]:.1f}**' for c in classes)} |")
    lines += [
        "",
        "Areas are pixel counts of each tile's crop map (with fused NDVI); each tile's report gives the "
        "error-adjusted areas with their confidence intervals.",
        "",
    ]
    if result.failed:
        lines += ["## Failed tiles (run the region again to retry them)", ""]
        lines += [f"- **{t.name}**: {t.error}" for t in result.failed] + [""]
    if result.mosaics:
        lines += ["## Mosaics", ""] + [f"- {p.relative_to(region.output_dir)}" for p in result.mosaics.values()] + [""]
    path = write_text(out / "region_report.md", "\n".join(lines) + "\n")
    data = {
        "name": region.name,
        "model": region.model,
        "seconds": result.seconds,
        "tiles": [t.__dict__ for t in result.tiles],
        "areas_ha": {"tiles": areas, "region": totals},
        "mosaics": {k: str(v) for k, v in result.mosaics.items()},
    }
    write_text(out / "region_report.json", json.dumps(data, indent=1, default=str))
    with atomic_output(out / "tiles.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tile", "status", "kappa", "block_kappa", "seconds", "error", *(f"{c}_ha" for c in classes)])
        for t in result.tiles:
            w.writerow(
                [
                    t.name,
                    t.status,
                    t.kappa,
                    t.block_kappa,
                    f"{t.seconds:.1f}",
                    t.error,
                    *(areas[t.name].get(c, 0.0) for c in classes),
                ]
            )
    return path
