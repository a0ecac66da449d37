"""What a run folder holds, read from its own record: which raster is which date and role.

:func:`open_run` reads a run's ``report/run_report.json`` (or, for a stopped run, its
``run_manifest.json``): the job's pairs (paths, dates, products, scales, masks) and the outputs
(fused NDVI, uncertainty, each compared method). A ``benchmark`` folder (``benchmark.csv``) is read
from its files: ``aligned/s2_*`` and ``aligned/modis_*`` (the pairs on the fine grid) and
``target_YYYYMMDD/<method>_YYYYMMDD.tif``. So any past run folder works, not only the run just
finished.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, TsstfnError
from ..files import PathLike
from ..fusion.methods import METHODS
from ..inputs.grid import Grid
from ..inputs.inventory import CRITICAL_SEASON  # the critical season shaded on the chart
from ..inputs.ndvi import NdviSource

#: roles of the rasters of a run (a compared method's role is its registry name, e.g. ``starfm``)
OBSERVED, MASKED, COARSE, FUSED, UNCERTAINTY, REFERENCE = "observed", "masked", "coarse", "fused", "uncertainty", "reference"
_STAMP = re.compile(r"_(\d{8})\.tif$")


@dataclass(frozen=True)
class Layer:
    """One raster of a run at one date.

    Attributes:
        date: its date (the reference year's dates as acquired; see ``shift_years``).
        role: :data:`OBSERVED` (a fine image: base pairs and the targets' real images), :data:`COARSE`,
            :data:`FUSED`, :data:`UNCERTAINTY`, :data:`REFERENCE` (the reference year's fine images)
            or a compared method's name.
        path: the raster.
        label: the series' name on the chart.
        source: how to read NDVI from an input raster (scale, bands, mask); None for the run's own
            single-band outputs, read as they are.
        shift_years: years to add to ``date`` to plot it on the prediction year's axis.
    """

    date: dt.date
    role: str
    path: str
    label: str
    source: NdviSource | None = None
    shift_years: int = 0

    @property
    def plot_date(self) -> dt.date:
        """The date on the chart's axis (a reference-year date moved into the prediction year)."""
        if not self.shift_years:
            return self.date
        try:
            return self.date.replace(year=self.date.year + self.shift_years)
        except ValueError:  # 29 February
            return self.date.replace(year=self.date.year + self.shift_years, day=28)


@dataclass
class RunRecord:
    """A run folder's rasters by date and role, its grid and its fields.

    Attributes:
        folder: the run (or benchmark) folder.
        kind: ``run`` or ``benchmark``.
        name: the run's name.
        grid: the study grid (of the fused NDVI).
        layers: every raster of the series.
        season: the first and last day the chart shades (:func:`shaded_season`).
        fields: the field polygons of the run (None without).
        field_id: their id field.
        notes: what could not be found (an input moved away), one sentence each.
        season_label: what the shaded span is, for the chart's legend.
    """

    folder: Path
    kind: str
    name: str
    grid: Grid
    layers: list[Layer]
    season: tuple[dt.date, dt.date]
    fields: str | None = None
    field_id: str | None = None
    notes: list[str] = field(default_factory=list)
    season_label: str = "critical season"

    def of_role(self, role: str) -> list[Layer]:
        """The layers of ``role`` sorted by date."""
        return sorted((la for la in self.layers if la.role == role), key=lambda la: la.date)

    @property
    def roles(self) -> list[str]:
        """The roles present, in the order of the chart's legend."""
        seen = dict.fromkeys(la.role for la in self.layers)
        return list(seen)

    @property
    def target_dates(self) -> list[dt.date]:
        """The dates with a fused NDVI."""
        return [la.date for la in self.of_role(FUSED)]

    def at(self, role: str, date: dt.date) -> Layer | None:
        """The layer of ``role`` at ``date`` (None where there is none)."""
        return next((la for la in self.layers if la.role == role and la.date == date and not la.shift_years), None)

    def methods(self) -> list[str]:
        """The compared methods' roles (registry names), in the registry's order."""
        roles = set(self.roles)
        return [name for name in METHODS if name in roles]


def method_label(name: str) -> str:
    """What the chart calls method ``name`` (its registry label)."""
    m = METHODS.get(name)
    return m.label if m else name


def _stamp(path: Path) -> dt.date | None:
    m = _STAMP.search(path.name)
    return dt.datetime.strptime(m[1], "%Y%m%d").date() if m else None


def _method_of(path: Path) -> str | None:
    """The registry name of the method whose file prefix ``path`` carries (``starfm_ndvi_20210730.tif``)."""
    for m in METHODS.values():
        if path.name.startswith(m.prefix + "_") and _stamp(path) and path.name == f"{m.prefix}_{_stamp(path):%Y%m%d}.tif":
            return m.name
    return None


def open_run(folder: PathLike) -> RunRecord:
    """The record of the run or benchmark in ``folder`` (see the module docstring).

    Raises:
        InputError: the folder holds no run of this plugin, or its record is unreadable; the message names it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Run folder '{folder}' does not exist; choose the output folder of a run.")
    if (folder / "benchmark.csv").is_file():
        return _benchmark_record(folder)
    record = folder / "report" / "run_report.json"
    data = _read_json(record)
    if not data:
        record = folder / "run_manifest.json"
        data = _read_json(record)
    if not data or not isinstance(data.get("job"), dict):
        raise InputError(
            f"'{folder}' holds no run of this plugin (no report/run_report.json, run_manifest.json or benchmark.csv); "
            "choose the output folder of a run or of a benchmark."
        )
    try:
        return _run_record(folder, data, record)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:  # a value of a kind no run writes
        raise InputError(
            f"The run record '{record}' is damaged ({type(exc).__name__}: {exc}); run the job again or choose another run folder."
        ) from None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"The run record '{path}' cannot be read ({exc}); the run folder is damaged.") from None
    return data if isinstance(data, dict) else None


def _damaged(record: Path, what: str) -> InputError:
    return InputError(f"The run record '{record}' is damaged: {what}; run the job again or choose another run folder.")


def _by_date(record: Path, where: str, value: object) -> dict[dt.date, Path]:
    """``{date: path}`` of one output list of the record (``{"2021-07-30": "fused_ndvi_20210730.tif"}``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _damaged(record, f"its {where} is a {type(value).__name__}, not a mapping of dates to files")
    out = {}
    for key, path in value.items():
        try:
            date = dt.date.fromisoformat(str(key))
        except ValueError:
            raise _damaged(record, f"its {where} has '{key}' where a date (YYYY-MM-DD) belongs") from None
        if not isinstance(path, str) or not path:
            raise _damaged(record, f"its {where} of {key} is {path!r}, not a file path")
        out[date] = Path(path)
    return out


def _outputs(folder: Path, data: dict, record: Path) -> dict[str, dict[dt.date, Path]]:
    """Outputs by role and date: the report's list, else the files the run's name patterns find."""
    out: dict[str, dict[dt.date, Path]] = {}
    listed = data.get("outputs")
    if listed is not None and not isinstance(listed, dict):
        raise _damaged(record, f"its 'outputs' is a {type(listed).__name__}, not a mapping")
    if listed and "fused" in listed:
        out[FUSED] = _by_date(record, "'outputs.fused'", listed.get("fused"))
        out[UNCERTAINTY] = _by_date(record, "'outputs.uncertainty'", listed.get("uncertainty"))
        compared = listed.get("compared") or {}
        if not isinstance(compared, dict):
            raise _damaged(record, f"its 'outputs.compared' is a {type(compared).__name__}, not a mapping of methods")
        for name, by_date in compared.items():
            out[str(name)] = _by_date(record, f"'outputs.compared.{name}'", by_date)
    else:  # a stopped run: what it finished
        for p in sorted(folder.glob("*.tif")):
            date, name = _stamp(p), _method_of(p)
            if p.name.startswith("uncertainty_") and date:
                out.setdefault(UNCERTAINTY, {})[date] = p
            elif name and date:
                out.setdefault(FUSED if METHODS[name].learns else name, {})[date] = p
    for role in list(out):  # a moved folder: the files beside the record
        out[role] = {d: p if p.exists() else folder / p.name for d, p in out[role].items()}
    return out


def _run_record(folder: Path, data: dict, record: Path) -> RunRecord:
    from ..pipeline.pairs import dated, parse_pairs

    job = data["job"]
    for key in ("reference", "prediction", "targets"):
        if job.get(key) is not None and not isinstance(job[key], list):
            raise _damaged(record, f"its job's '{key}' is a {type(job[key]).__name__}, not a list of pairs")
    coarse_product = job.get("coarse_product", "mod09gq")
    fine_product = job.get("fine_product", "s2_l2a")
    try:
        groups = {
            key: dated(parse_pairs(job.get(key) or [], folder, key, key != "targets", coarse_product, fine_product))
            for key in ("reference", "prediction", "targets")
        }
    except TsstfnError as exc:
        raise InputError(f"The run record '{record}' names inputs that cannot be read: {exc}") from None
    outputs = _outputs(folder, data, record)
    if not outputs.get(FUSED):
        raise InputError(f"The run in '{folder}' has no fused NDVI (it stopped before fusing); run it again.")
    first = min(outputs[FUSED])
    grid = Grid.from_raster(str(outputs[FUSED][first]), allow_no_crs=True)
    year = first.year
    layers: list[Layer] = []
    notes: list[str] = []
    shift = year - min(p.date.year for p in groups["reference"]) if groups["reference"] else 0
    for key, pairs in groups.items():
        for p in pairs:
            fine_role, shift_of = (REFERENCE, shift) if key == "reference" else (OBSERVED, 0)
            sides = [(COARSE, p.coarse)] if key != "reference" else []
            sides += [(fine_role, p.fine)] if p.fine else []
            for role, source in sides:
                layer = _input_layer(folder, key, role, p.date, source, shift_of, notes)
                if layer is not None:
                    layers.append(layer)
    for role, by_date in outputs.items():
        label = {FUSED: "TSSTFN (fused)", UNCERTAINTY: "TSSTFN MC-dropout std"}.get(role) or method_label(role)
        for date, path in sorted(by_date.items()):
            if path.exists():
                layers.append(Layer(date, role, str(path), label))
            else:
                notes.append(f"{label} {date.isoformat()}: '{path}' is missing.")
    season, label = shaded_season(sorted(outputs[FUSED]))
    return RunRecord(
        folder, "run", str(job.get("name") or folder.name), grid, layers, season,
        job.get("fields") if isinstance(job.get("fields"), str) else None, job.get("field_id"), notes, label,
    )  # fmt: skip


def _input_layer(
    folder: Path, key: str, role: str, date: dt.date, source: NdviSource, shift: int, notes: list[str]
) -> Layer | None:
    """An input of the run: its own file as the job named it, else the run's aligned copy (``keep_intermediates``)."""
    from ..inputs.containers import resolve_source

    what = {COARSE: "coarse", OBSERVED: "fine", REFERENCE: "fine"}[role]
    label = {COARSE: "MODIS (coarse)", OBSERVED: "Sentinel-2/Landsat (observed)", REFERENCE: "reference year (fine)"}[role]
    try:
        resolved: NdviSource | None = resolve_source(source)
    except TsstfnError:
        resolved = None
    if resolved is not None and Path(resolved.path).exists():
        return Layer(date, role, resolved.path, label, resolved, shift)
    aligned = folder / "aligned" / key / f"{'modis' if role == COARSE else 's2'}_{date:%Y%m%d}.tif"
    if aligned.exists():
        return Layer(date, role, str(aligned), label, None, shift)
    notes.append(f"The {what} image of {date.isoformat()} ('{source.path}') is no longer there; it is left out.")
    return None


def _benchmark_record(folder: Path) -> RunRecord:
    """A benchmark folder: the aligned pairs and each target's predictions (see the module docstring)."""
    layers: list[Layer] = []
    for p in sorted((folder / "aligned").glob("*.tif")):
        date = _stamp(p)
        if date and p.name.startswith("s2_"):
            layers.append(Layer(date, OBSERVED, str(p), "fine image (observed)"))
        elif date and p.name.startswith("modis_"):
            layers.append(Layer(date, COARSE, str(p), "coarse image (on the fine grid)"))
    for sub in sorted(folder.glob("target_*")):
        if not sub.is_dir():
            continue
        for p in sorted(sub.glob("*.tif")):
            date, name = _stamp(p), _method_of(p)
            if date and p.name.startswith("uncertainty_"):
                layers.append(Layer(date, UNCERTAINTY, str(p), "TSSTFN MC-dropout std"))
            elif date and name:
                role = FUSED if METHODS[name].learns else name
                layers.append(Layer(date, role, str(p), "TSSTFN (fused)" if role == FUSED else method_label(name)))
    fused = [la for la in layers if la.role == FUSED]
    if not fused:
        raise InputError(f"The benchmark in '{folder}' has no TSSTFN prediction (target_*/fused_ndvi_*.tif); run it again.")
    grid = Grid.from_raster(fused[0].path, allow_no_crs=True)
    season, label = shaded_season(sorted({la.date for la in fused}))
    return RunRecord(folder, "benchmark", folder.name, grid, layers, season, season_label=label)


def shaded_season(fused: list[dt.date]) -> tuple[tuple[dt.date, dt.date], str]:
    """The span the chart shades and its name: the critical season when the fused dates lie in it, else their span.

    A crop-mapping run fuses the cloudy dates of the critical season (July to September); a run or
    benchmark whose fused dates lie elsewhere (a spring benchmark, a southern-hemisphere season)
    shades the dates it fused instead, so the chart does not stretch to an empty summer.
    """
    year = fused[0].year
    start, end = (dt.date(year, *md) for md in CRITICAL_SEASON)  # July to September: within one year
    if all(start <= d <= end for d in fused):
        return (start, end), "critical season"
    pad = dt.timedelta(days=4 if fused[0] == fused[-1] else 0)  # one date: a band a week wide, not a line
    return (fused[0] - pad, fused[-1] + pad), "fused dates"


def real_layer(record: RunRecord, date: dt.date) -> Layer | None:
    """The real fine image of a target date (a benchmark's held-out image, a run's scoring image), or None."""
    return record.at(OBSERVED, date)


def find_run_folder(path: PathLike) -> Path | None:
    """The run or benchmark folder holding ``path`` (a layer's file), or None when it belongs to no run."""
    p = Path(str(path).split("|")[0])
    for folder in [p, *p.parents][:4]:
        if (folder / "report" / "run_report.json").is_file() or (folder / "run_manifest.json").is_file():
            return folder
        if (folder / "benchmark.csv").is_file():
            return folder
    return None
