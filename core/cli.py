"""Command line: ``python -m tsstfn_crop_mapper <command>`` (the same core functions as the plugin)."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from pathlib import Path

from .callbacks import ProgressPrinter
from .errors import TsstfnError
from .memory import tune_memory


def _scene(args: argparse.Namespace) -> None:
    from .demo.synthetic import generate_scene
    from .files import check_output_folder

    check_output_folder(args.out, "Scene folder (--out)")
    manifest = generate_scene(args.out, size=args.size, seed=args.seed)
    print(f"synthetic two-season scene written to {args.out} ({manifest['size']} x {manifest['size']} px); see scene.json")


def _summary(result) -> None:  # noqa: ANN001 (a JobResult)
    from .mapping.area import area_markdown
    from .pipeline.report import method_label

    print("\nOutputs:")
    for date, path in result.fused.items():
        print(f"  fused NDVI {date}: {path}")
    for date, path in result.uncertainty.items():
        print(f"  uncertainty (MC-dropout std) {date}: {path}")
    for name, by_date in result.compared.items():
        for date, path in by_date.items():
            print(f"  {method_label(name)} NDVI {date}: {path}")
    if result.crop_map:
        print(f"  crop map: {result.crop_map}")
    if result.confidence:
        print(f"  crop map confidence: {result.confidence}")
    if result.field_map:
        print(f"  per-field crop map: {result.field_map.raster}")
    for v in [*result.vectors, *(result.field_map.vectors if result.field_map else [])]:
        print(f"  crop polygons: {v}")
    if result.model:
        print(f"  model: {result.model}")
    print(f"  report: {result.report}")
    not_measured = ""
    for label, a in result.accuracy.items():
        if a.get("not_measured"):
            not_measured = a["not_measured"]
            continue
        block_kappa = a.get("block_kappa", float("nan"))
        block = f", by spatial blocks {100 * block_kappa:.2f} %" if math.isfinite(block_kappa) else ""
        print(f"  kappa ({label}): {100 * a['kappa']:.2f} %{block}")  # notes: logged as warnings during the run
    if "fused" in result.areas:
        print("")
        print(
            "\n".join(
                "  " + line for line in area_markdown(result.areas["fused"], "Area of each class (crop map with fused NDVI)")
            )
        )
    for name, path in result.pixel_areas.items() if not_measured else ():
        print(f"  pixel-count areas ({name}): {path}")
    if not_measured:
        print(not_measured)  # the last line: what the analyst reads first


def _run(args: argparse.Namespace) -> None:
    from .pipeline.classify_job import classify_job_from_mapping, is_classify_job, run_classify_job
    from .pipeline.job import job_from_dict, read_mapping
    from .pipeline.run import run_job

    path = Path(args.job)
    data = read_mapping(path, "Job")  # read once: a fusion job, or a classify job (the dialog's classify-only mode)
    if is_classify_job(data):
        job = classify_job_from_mapping(data, path.parent)
        _classify_summary(run_classify_job(job, progress=ProgressPrinter()), str(job.gap_fill))
        return
    _summary(run_job(job_from_dict(data, path.parent), progress=ProgressPrinter()))


def _region(args: argparse.Namespace) -> None:
    from .errors import TsstfnError
    from .pipeline.region import load_region, run_region

    region = load_region(args.region)
    result = run_region(region, args.scheduler, args.workers, progress=ProgressPrinter())
    for t in result.tiles:
        kappa = f"kappa {100 * t.kappa:.1f} %" if t.kappa is not None else t.error
        print(f"  {t.name}: {t.status}, {kappa}")
    print(f"region report: {result.report}")
    for name, path in result.mosaics.items():
        print(f"  mosaic {name}: {path}")
    if result.failed:
        raise TsstfnError(
            f"{len(result.failed)} of {len(result.tiles)} tiles failed ({', '.join(t.name for t in result.failed)}); "
            "the others are complete. Fix the cause and run the region again: only those tiles are redone."
        )


def _experiment(args: argparse.Namespace) -> None:
    from .pipeline.experiment import run_experiment
    from .pipeline.job import load_job

    job = load_job(args.job)
    run_experiment(job, [s.strip() for s in args.strategies.split(",")], progress=ProgressPrinter())
    print(f"tables and figure in {Path(job.output_dir) / 'experiment'}")


def _benchmark(args: argparse.Namespace) -> None:
    from .files import check_output_folder
    from .pipeline.benchmark import load_benchmark, run_benchmark, summary

    check_output_folder(args.out, "Benchmark folder (--out)")
    result = run_benchmark(load_benchmark(args.dataset), args.out, progress=ProgressPrinter())
    print(summary(result))
    print(f"\n{result.csv}\n{result.markdown}\n" + "\n".join(str(p) for p in result.figures))


def _classify(args: argparse.Namespace) -> None:
    from .mapping.workflow import check_classify_options
    from .options import parse_bands
    from .pipeline.classify_job import classify_into_folder

    check_classify_options(args.test_fraction, args.scale, args.block_m, args.kfold, args.gap_fill, args.gap_fill_min_clear)
    out = Path(args.out)
    fields_out = [out.with_name(out.stem + "_fields.gpkg")] if args.fields else None
    arguments = {
        "rasters": args.rasters, "samples_path": args.samples, "class_field": args.class_field, "out_map": out,
        "report_dir": Path(args.report) if args.report else out.parent / "report",
        "bands": parse_bands(args.bands, "--bands") if args.bands else None, "scale": args.scale,
        "group_field": args.group_field, "split": args.split, "test_fraction": args.test_fraction,
        "block_m": args.block_m, "kfold": args.kfold, "confidence_path": args.confidence, "fields": args.fields,
        "field_id": args.field_id, "fields_out": fields_out, "cog": not args.no_cog,
        "class_names_file": args.class_names, "season_field": args.season_field, "season": args.season,
        "gap_fill": args.gap_fill, "gap_fill_min_clear": args.gap_fill_min_clear, "accuracy": args.accuracy,
        "dates": [d.strip() for d in args.dates.split(",")] if args.dates is not None else None,
    }  # fmt: skip
    record = {"command": "classify", **{k: str(v) if isinstance(v, Path) else v for k, v in arguments.items()}}
    result = classify_into_folder(arguments, record, progress=ProgressPrinter())
    _classify_summary(result, args.gap_fill)


def _classify_summary(result, gap_fill: str) -> None:  # noqa: ANN001 (a ClassifyResult)
    """What a classify run made: the map, the areas, the mapped share, then the kappa (or why there is none)."""
    from .mapping.area import area_markdown

    a = result.assessment
    print(f"\ncrop map: {result.crop_map}\npixel-count areas: {result.pixel_areas}")
    print(f"pixels mapped: {100 * result.mapped_fraction:.1f} % (the rest is nodata: too few dates with valid NDVI there)")
    if result.gap_stats is not None and result.gap_stats.pixels:
        print(f"pixels gap-filled: {100 * result.gap_stats.filled / result.gap_stats.pixels:.1f} % ({gap_fill})")
    if a.accuracy is None:  # too few samples to hold any out: the map and its pixel counts, no scores
        print(a.not_measured)  # the last line
        return
    print(f"kappa ({a.accuracy.split}): {100 * a.accuracy.kappa:.2f} %")
    if a.block_accuracy is not None and math.isfinite(a.block_accuracy.kappa):
        print(f"kappa (split by spatial blocks of {a.block_m:g} m): {100 * a.block_accuracy.kappa:.2f} %")
    if a.fold_kappas:
        mean = sum(a.fold_kappas) / len(a.fold_kappas)
        print(f"kappa ({len(a.fold_kappas)}-fold by block): {100 * mean:.2f} % (folds: "
              + ", ".join(f"{100 * k:.1f}" for k in a.fold_kappas) + ")")  # fmt: skip
    if result.field_map and result.field_map.field_accuracy:
        print(f"per-field map: {result.field_map.raster}; kappa per field {100 * result.field_map.field_accuracy.kappa:.2f} %")
    if result.area is not None:
        print("\n" + "\n".join(area_markdown(result.area)))  # the notes were logged as warnings


def _demo(args: argparse.Namespace) -> None:
    from .demo.job import prepare_demo
    from .files import check_output_folder
    from .pipeline.run import run_job

    check_output_folder(args.out, "Demo folder (--out)")
    out = Path(args.out).resolve()
    job = prepare_demo(out, args.size, args.seed, args.strategy)
    print(f"demo scene: {out / 'scene'} (scene.json lists every file and its role)")
    print(f"job file: {out / 'demo_job.json'} (re-run with: python -m tsstfn_crop_mapper run {out / 'demo_job.json'})")
    _summary(run_job(job, progress=ProgressPrinter()))


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``scene``, ``demo``, ``run``, ``region``, ``experiment``, ``classify`` and ``benchmark``."""
    parser = argparse.ArgumentParser(prog="python -m tsstfn_crop_mapper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scene", help="write the synthetic two-season scene")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_scene)
    p = sub.add_parser("demo", help="generate the demo scene and run the demo job on it")
    p.add_argument("--out", default="demo_output")
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--strategy", default="STR_B")
    p.set_defaults(func=_demo)
    p = sub.add_parser("run", help="run a job file (JSON or YAML)")
    p.add_argument("job")
    p.set_defaults(func=_run)
    p = sub.add_parser("region", help="run a region file's tiles on Dask distributed, then mosaic and report")
    p.add_argument("region", help="region file (JSON or YAML): output_dir, tiles (see docs/regions.md)")
    p.add_argument("--scheduler", default=None, help="an existing Dask cluster, e.g. tcp://host:8786 (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster workers (default: one per GPU, or per 2 cores)")
    p.set_defaults(func=_region)
    p = sub.add_parser("experiment", help="the paper's comparisons (strategies, one vs two predictions) on a job's data")
    p.add_argument("job")
    p.add_argument("--strategies", default="STR_A,STR_B,STR_C,STR_D,STR_E")
    p.set_defaults(func=_experiment)
    p = sub.add_parser("classify", help="map crops from NDVI rasters you have (a stack's bands are dates) and samples")
    p.add_argument("rasters", nargs="+", help="NDVI rasters on one grid, in date order (multi-band: one band per date)")
    p.add_argument("--samples", required=True, help="points, polygons or a label raster with the classes")
    p.add_argument("--class-field", default="crop")
    p.add_argument("--class-names", default=None, help="names of integer class codes: CSV code,name, a QGIS .qml or .clr")
    p.add_argument("--season-field", default=None, help="the samples' season, year or date field to filter by")
    p.add_argument("--season", default=None, help="the season to keep (a value of --season-field, or a year)")
    p.add_argument("--gap-fill", choices=["linear", "none"], default="linear", help="fill cloudy dates (default: linear)")
    p.add_argument("--gap-fill-min-clear", type=float, default=0.5, help="share of dates a pixel needs clear (0-1]")
    p.add_argument(
        "--accuracy", choices=["when_possible", "required"], default="when_possible",
        help="when_possible (default): too few samples per class to hold any out still give a map, its accuracy not "
        "measured; required: refuse them",
    )  # fmt: skip
    p.add_argument(
        "--dates", default=None,
        help="the rasters' dates, comma-separated in their order, YYYY-MM-DD or empty (e.g. 2021-05-01,,2021-06-02); "
        "a single-band raster's given date wins over its name's, a stack's own band dates win",
    )  # fmt: skip
    p.add_argument("--out", required=True, help="the crop map (GeoTIFF)")
    p.add_argument("--report", default=None, help="report folder (default: report/ beside the map)")
    p.add_argument("--bands", default="", help="band range of multi-band rasters, e.g. 1-12 (default: all)")
    p.add_argument("--scale", type=float, default=None, help="multiply the values, e.g. 0.0001 for NDVI x 10000")
    p.add_argument("--group-field", default=None, help="field id of the samples (for --split field)")
    p.add_argument("--split", choices=[s.value for s in _splits()], default="random")
    p.add_argument("--test-fraction", type=float, default=0.3)
    p.add_argument("--block-m", type=float, default=None, help="side of the spatial blocks in metres")
    p.add_argument("--kfold", type=int, default=0, help="k-fold cross-validation by spatial block (0: none)")
    p.add_argument("--confidence", default=None, help="write the forest's confidence raster here")
    p.add_argument("--fields", default=None, help="field polygons: also a per-field map")
    p.add_argument("--field-id", default=None, help="the fields' id attribute (default: the feature id)")
    p.add_argument("--no-cog", action="store_true", help="plain GeoTIFFs instead of Cloud-Optimized GeoTIFFs")
    p.set_defaults(func=_classify)
    p = sub.add_parser(
        "benchmark", help="hold out each target of a paired dataset; score every registered fusion method against it"
    )
    p.add_argument("dataset", help="dataset file (JSON or YAML): pairs, targets (see docs/benchmarks.md)")
    p.add_argument("--out", required=True, help="output folder: benchmark.csv, benchmark.md, one PNG per target")
    p.set_defaults(func=_benchmark)
    from .fetch.cli import add_fetch_parser  # fetch: Sentinel-2/Landsat and MODIS pairs from STAC APIs (issue 23)

    add_fetch_parser(sub)
    return parser


def _splits() -> list:
    from .mapping.samples import Split

    return list(Split)


class Stopped(BaseException):
    """SIGTERM (or SIGINT) arrived: unwind, so that every atomic write removes its temporary file."""

    def __init__(self, signum: int) -> None:
        """Record which signal stopped the run."""
        super().__init__(signum)
        self.signum = signum


#: seconds a stopped command has to unwind before the process ends anyway (blocked in a long GDAL or torch call)
STOP_GRACE_S = 5.0
_WATCHDOG: list = []  # the timer started by a stop; cancelled once the command has unwound


def _stop(signum: int, frame: object) -> None:
    """The first signal unwinds (temporary files removed); later ones are ignored; a watchdog ends a blocked process."""
    import os
    import threading

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl+C must not interrupt the clean-up

    def force() -> None:
        print("stopped; the next run in the folder removes anything half-written", file=sys.stderr, flush=True)
        os._exit(128 + signum)

    timer = threading.Timer(STOP_GRACE_S, force)
    timer.daemon = True
    timer.start()
    _WATCHDOG.append(timer)
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success; 2 with one clear message for a user error; 128 + the signal number (130 for
    Ctrl+C, 143 for SIGTERM) with one line when stopped, after the half-written files are removed.
    """
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}  # first: start-up too
    stopped = False
    try:
        # this project's messages at INFO; other libraries' only from WARNING (torch's exit-time INFO lines
        # otherwise follow the last line a stopped run prints)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        logging.getLogger("tsstfn").setLevel(logging.INFO)
        args = build_parser().parse_args(argv)
        tune_memory()
        args.func(args)
    except TsstfnError as exc:  # a clear message, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Stopped, KeyboardInterrupt) as exc:
        for timer in _WATCHDOG:
            timer.cancel()
        _WATCHDOG.clear()
        print("stopped; nothing half-written was left", file=sys.stderr, flush=True)
        stopped = True
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # until the process ends: no traceback from a late Ctrl+C
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    except RecursionError:
        print("error: the input is nested too deeply to be read; check the file.", file=sys.stderr)
        return 2
    finally:
        if not stopped:  # an error, a success or argparse's exit: the caller's handlers again
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0
