"""``python -m tsstfn_crop_mapper fetch``: search, pair and download on the command line (the dialog's core path).

Either the fields on the command line or a fetch job file (``--job``, e.g. the ``fetch_job.json`` an
earlier fetch wrote, to repeat it; files already complete are kept).
"""

from __future__ import annotations

import argparse

from ..callbacks import ProgressPrinter
from ..inputs.inventory import CRITICAL_SEASON
from .catalog import COARSE_COLLECTIONS, ENDPOINTS, FINE_COLLECTIONS

_CRITICAL = "{:02d}-{:02d}/{:02d}-{:02d}".format(*CRITICAL_SEASON[0], *CRITICAL_SEASON[1])


def add_fetch_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` command to the command line's sub-parsers."""
    p = sub.add_parser("fetch", help="find and download Sentinel-2/Landsat and MODIS pairs for an AOI from STAC APIs")
    p.add_argument("--job", default=None, help="a fetch job file (fetch_job.json of an earlier fetch): repeat it")
    p.add_argument("--aoi", default=None, help="west,south,east,north in degrees (EPSG:4326)")
    p.add_argument("--reference", default=None, help="the reference season, YYYY-MM-DD/YYYY-MM-DD")
    p.add_argument("--prediction", default=None, help="the prediction season, YYYY-MM-DD/YYYY-MM-DD")
    p.add_argument("--out", default=None, help="the folder for the images, fetch_job.json and job.json")
    p.add_argument("--endpoint", default="earth-search", help=f"fine scenes' STAC API: {', '.join(ENDPOINTS)} or a URL")
    p.add_argument("--coarse-endpoint", default="planetary-computer", help="the MODIS items' STAC API")
    p.add_argument("--fine", default="sentinel-2-l2a", choices=FINE_COLLECTIONS)
    p.add_argument("--coarse", default="modis-09Q1-061", choices=COARSE_COLLECTIONS)
    p.add_argument("--cloud", type=float, default=20.0, help="most cloud over the AOI, percent (default 20)")
    p.add_argument("--sample-masks", action="store_true", help="measure the cloud over the AOI on each SCL/QA asset")
    p.add_argument(
        "--critical", default=_CRITICAL, help=f"the critical season, MM-DD/MM-DD (default {_CRITICAL}; it may cross New Year)"
    )
    p.add_argument("--search-only", action="store_true", help="print the table and the size; download nothing")
    p.set_defaults(func=run_command)


def _request(args: argparse.Namespace):  # noqa: ANN202 (a FetchRequest)
    from ..errors import InputError
    from .request import load_request, request_from_dict

    if args.job:
        return load_request(args.job)
    missing = [f"--{k}" for k in ("aoi", "reference", "prediction", "out") if not getattr(args, k)]
    if missing:
        raise InputError(f"fetch needs {', '.join(missing)} (or --job with a fetch job file).")
    try:
        aoi = [float(v) for v in args.aoi.split(",")]
    except ValueError:
        raise InputError(f"--aoi '{args.aoi}' is not west,south,east,north (four numbers, degrees).") from None
    critical = args.critical.split("/")
    if len(critical) != 2:
        raise InputError(f"--critical '{args.critical}' is not MM-DD/MM-DD.")
    return request_from_dict({
        "aoi": aoi, "reference": args.reference, "prediction": args.prediction, "out_dir": args.out,
        "endpoint": args.endpoint, "coarse_endpoint": args.coarse_endpoint, "fine_collection": args.fine,
        "coarse_collection": args.coarse, "cloud_max": args.cloud, "sample_masks": args.sample_masks,
        "critical_start": critical[0], "critical_end": critical[1],
    })  # fmt: skip


def table_lines(pairs: list) -> list[str]:
    """The search table as text: date, sensor, cloud over the AOI, MODIS item, critical season, what happens."""
    lines = [f"{'date':10}  {'sensor':15}  {'cloud':>6}  {'critical':8}  {'row':10}  MODIS item"]
    for p in pairs:
        cloud = f"{p.cloud:5.1f}%" if p.cloud is not None else "     -"
        lines.append(
            f"{p.date.isoformat():10}  {p.sensor_label:15}  {cloud:>6}  {'yes' if p.critical else '':8}  {p.role:10}  "
            f"{p.coarse_label}"
        )
    return lines


def run_command(args: argparse.Namespace) -> None:
    """The ``fetch`` command."""
    from .download import estimate_bytes, plan_files
    from .run import find_pairs, run_fetch

    request = _request(args)
    found = find_pairs(request, progress=ProgressPrinter())
    print("\n".join(table_lines(found.pairs)))
    tasks = plan_files(found.pairs, request)
    print(f"\n{len(found.to_download)} row(s) to download: {len(tasks)} file(s), about "
          f"{estimate_bytes(tasks) / 1e6:.1f} MB read (only the AOI of each asset)")  # fmt: skip
    if args.search_only:
        return
    result = run_fetch(request, found, progress=ProgressPrinter())
    kept = f", {len(result.download.kept)} already complete (kept)" if result.download.kept else ""
    print(f"\n{len(result.download.written)} file(s) written{kept} in {request.out_dir}")
    print(f"job file (add samples, then: python -m tsstfn_crop_mapper run {result.job_file})")
    print(f"repeat this fetch: python -m tsstfn_crop_mapper fetch --job {result.request_file}")
