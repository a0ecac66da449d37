"""The whole fetch, as the command line, the dialog's task and the tests run it.

:func:`find_pairs` searches both collections and pairs them (the dialog's *Search*);
:func:`run_fetch` downloads the rows to download, writes ``fetch_job.json`` (the request, to run
again) and ``job.json`` (the pair tables as a job file: add samples and run it), and returns what
it wrote. Both take ``progress`` and ``is_cancelled`` (:mod:`..callbacks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..callbacks import CancelFn, ProgressFn, Steps, check_cancelled, never_cancelled
from ..errors import InputError
from ..files import atomic_output, check_free_space
from .catalog import get_collection
from .download import DownloadResult, FileTask, download, estimate_bytes, plan_files
from .pairing import Pair, pair_scenes
from .request import JOB_FILE, FetchRequest, request_to_dict
from .search import measure_clouds, search

RUN_JOB_FILE = "job.json"


@dataclass
class SearchResult:
    """The search's rows (:class:`~.pairing.Pair`) and the number of items each collection gave."""

    pairs: list[Pair]
    fine_items: int = 0
    coarse_items: int = 0

    @property
    def to_download(self) -> list[Pair]:
        """The rows that are downloaded (pairs and targets)."""
        return [p for p in self.pairs if p.downloads]


@dataclass
class FetchResult:
    """What a fetch wrote: the files, the request (``fetch_job.json``), the job (``job.json``) and the rows."""

    request_file: Path
    job_file: Path
    files: list[Path]
    download: DownloadResult
    pairs: list[Pair] = field(default_factory=list)


def find_pairs(r: FetchRequest, progress: ProgressFn | None = None, is_cancelled: CancelFn = never_cancelled) -> SearchResult:
    """Search the fine and MODIS collections over both seasons and pair them (:func:`~.pairing.pair_scenes`)."""
    steps = Steps(progress, {"fine scenes": 1.0, "MODIS items": 1.0, "cloud over the AOI": 2.0 if r.sample_masks else 0.01})
    fine = []
    step = steps.sub("fine scenes")
    for i, (first, last) in enumerate((r.reference, r.prediction)):
        check_cancelled(is_cancelled)
        step(i / 2, f"{r.fine_collection} {first} to {last}")
        fine += search(r.endpoint, r.fine_collection, r.aoi, first, last, r.geometry, r.scene_cloud_max, r.signing,
                       r.max_items)  # fmt: skip
    coarse = []
    step = steps.sub("MODIS items")
    for i, (first, last) in enumerate((r.reference, r.prediction)):
        check_cancelled(is_cancelled)
        step(i / 2, f"{r.coarse_collection} {first} to {last}")
        coarse += search(r.coarse_endpoint, r.coarse_collection, r.aoi, first, last, r.geometry, None, r.signing,
                         r.max_items)  # fmt: skip
    step = steps.sub("cloud over the AOI")
    if r.sample_masks:
        fine = measure_clouds(fine, r.aoi, step, is_cancelled)
    steps.finish()
    return SearchResult(pair_scenes(fine, coarse, r), len(fine), len(coarse))


def _entry(task: FileTask | None, out: Path, fine_landsat: bool) -> object:
    if task is None:
        return None
    path = str(task.path.relative_to(out))
    return {"path": path, "red_band": 1, "nir_band": 2} if fine_landsat and task.kind == "fine" else path


def job_tables(pairs: list[Pair], tasks: list[FileTask], r: FetchRequest) -> dict:
    """The job file's mapping for the downloaded rows (paths relative to ``out_dir``; ``output_dir`` ``run``)."""
    out = Path(r.out_dir)
    fine_spec, coarse_spec = get_collection(r.fine_collection), get_collection(r.coarse_collection)
    tables: dict[str, list] = {"reference": [], "prediction": [], "targets": []}
    landsat = fine_spec.sensor == "landsat"
    for pair in pairs:
        if not pair.downloads:
            continue
        mine = {t.kind: t for t in tasks if t.date == pair.date}  # one downloaded row per date (pairing's rules)
        row = {"date": pair.date.isoformat(), "coarse": _entry(mine.get("coarse"), out, landsat),
               "coarse_mask": _entry(mine.get("coarse_mask"), out, landsat),
               "coarse_mask_kind": coarse_spec.mask_kind}  # fmt: skip
        if pair.fine:
            row.update(fine=_entry(mine.get("fine"), out, landsat), fine_mask=_entry(mine.get("fine_mask"), out, landsat),
                       fine_mask_kind=fine_spec.mask_kind)  # fmt: skip
        tables["targets" if pair.role == "target" else pair.role].append(row)
    return {
        "name": "fetched",
        "output_dir": "run",
        "coarse_product": coarse_spec.product,
        "fine_product": fine_spec.product,
        **tables,
    }


def _write_json(path: Path, data: dict) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def run_fetch(
    r: FetchRequest,
    found: SearchResult | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn = never_cancelled,
) -> FetchResult:
    """Search (unless ``found`` is given), download the pairs and targets, write the two job files.

    Raises:
        InputError: nothing to download, too little disk, a service or asset that cannot be read.
        CancelledError: cancelled; complete files are kept (a re-run resumes), none is half-written.
    """
    steps = Steps(progress, {"search": 0.1 if found is None else 0.001, "download": 1.0})
    found = found or find_pairs(r, steps.sub("search"), is_cancelled)
    if not found.to_download:
        raise InputError(
            f"No pair to download: {found.fine_items} fine scene(s) and {found.coarse_items} MODIS item(s) were found, none "
            f"clear enough (cloud over the AOI at most {r.cloud_max:g} %) with a MODIS item of its day. Raise the cloud "
            "limit, widen the seasons or check the AOI."
        )
    out = Path(r.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    request_file = _write_json(out / JOB_FILE, request_to_dict(replace(r, out_dir=".")))
    tasks = plan_files(found.pairs, r)
    check_free_space(out, estimate_bytes(tasks), "The images to download")
    result = download(tasks, steps.sub("download"), is_cancelled)
    job_file = _write_json(out / RUN_JOB_FILE, job_tables(found.pairs, tasks, r))
    steps.finish()
    return FetchResult(request_file, job_file, [t.path for t in tasks], result, found.pairs)
