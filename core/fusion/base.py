"""What every fusion method takes and gives: the contract behind the registry in :mod:`.methods`.

A method reads :class:`FusionInputs` (the aligned pairs of both years and the target dates'
coarse NDVI, on one grid), writes one fused NDVI raster per target date, and returns them in a
:class:`FusionOutput`. The real fine image of a target date never reaches a method: it only
scores the result afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..callbacks import CancelFn, ProgressFn, never_cancelled
from ..errors import InputError
from ..options import options_from_mapping
from .stacks import AlignedPair

if TYPE_CHECKING:
    from ..inputs.grid import Grid


@dataclass(frozen=True)
class FusionInputs:
    """The aligned data of a job, as every fusion method sees it.

    Attributes:
        grid: the fine grid every raster is on.
        reference: the reference (training) year's pairs, sorted by date; empty for methods that
            do not learn.
        base: the prediction year's base pairs (coarse and fine), sorted by date.
        targets: the dates to predict, with their coarse NDVI only.
    """

    grid: Grid
    reference: tuple[AlignedPair, ...]
    base: tuple[AlignedPair, ...]
    targets: tuple[AlignedPair, ...]

    def __post_init__(self) -> None:
        """Refuse a target that carries its fine image: the truth must not leak into a method."""
        leaking = [t.date.isoformat() for t in self.targets if t.fine is not None]
        if leaking:
            raise ValueError(f"target dates {leaking} carry their fine image; pass targets with coarse NDVI only")

    def earliest_base_after(self, date: dt.date) -> AlignedPair:
        """The earliest base pair strictly after ``date``.

        Raises:
            InputError: no base pair follows ``date``.
        """
        after = [p for p in self.base if p.date > date]
        if not after:
            raise InputError(f"No base pair follows the target date {date.isoformat()}; this method needs one on each side.")
        return min(after, key=lambda p: p.date)

    def latest_base_before(self, date: dt.date) -> AlignedPair:
        """The latest base pair strictly before ``date``.

        Raises:
            InputError: no base pair precedes ``date``.
        """
        before = [p for p in self.base if p.date < date]
        if not before:
            raise InputError(f"No base pair precedes the target date {date.isoformat()}; add an earlier pair.")
        return max(before, key=lambda p: p.date)


@dataclass
class FusionOutput:
    """What a method produced.

    Attributes:
        rasters: the fused NDVI of each target date (a single-band float32 GeoTIFF on the grid).
        model: the model file a learning method trained or used (None otherwise).
        meta: what the method wants reported (e.g. training history); empty by default.
        written: False when ``rasters`` are existing files the method points to (the baselines)
            rather than outputs it wrote.
        uncertainty: a per-pixel standard deviation of each date's prediction, where the method gives one.
    """

    rasters: dict[dt.date, Path]
    model: Path | None = None
    meta: dict = field(default_factory=dict)
    written: bool = True
    uncertainty: dict[dt.date, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class FusionRequest:
    """One call of a method: its inputs, parameters, where to write and the callbacks.

    Attributes:
        inputs: the aligned data.
        params: an instance of the method's parameter dataclass.
        out_dir: the folder to write into.
        prefix: the start of each output file name (``<prefix>_YYYYMMDD.tif``).
        progress: ``progress(fraction, message)`` or None.
        is_cancelled: checked between units of work.
        resume: the run's :class:`~..pipeline.resume.Resume` ledger, or None: a method that uses it
            reuses its complete outputs and records the ones it writes.
    """

    inputs: FusionInputs
    params: Any
    out_dir: Path
    prefix: str
    progress: ProgressFn | None = None
    is_cancelled: CancelFn = never_cancelled
    resume: Any = None

    def path_for(self, date: dt.date) -> Path:
        """The output raster of ``date``: ``<out_dir>/<prefix>_YYYYMMDD.tif``."""
        return self.out_dir / f"{self.prefix}_{date:%Y%m%d}.tif"

    def report(self, fraction: float, message: str) -> None:
        """Report progress if anybody listens."""
        if self.progress is not None:
            self.progress(fraction, message)


FuseFn = Callable[[FusionRequest], FusionOutput]


@dataclass(frozen=True)
class NumberParam:
    """A number the dialog (and Processing) show for a method's parameter; the default is the parameter's own.

    Attributes:
        key: the field of the method's parameter dataclass (``window_m``).
        label: the form's label (``STARFM search distance``).
        minimum: the smallest value offered.
        maximum: the largest value offered.
        suffix: the unit after the number (`` m``).
        tooltip: what it does, in one or two sentences.
    """

    key: str
    label: str
    minimum: float
    maximum: float
    suffix: str = ""
    tooltip: str = ""


@dataclass(frozen=True)
class FusionMethod:
    """An entry of the registry: everything the job, the experiment, the dialog and the report need.

    Attributes:
        name: the key in job files, reports and ``benchmark.csv`` (``starfm``).
        label: what reports, layer names and the dialog show (``STARFM``).
        description: one sentence for the dialog's tooltip and the docs.
        params: the dataclass of its parameters (every field with a default).
        fuse: the function that writes the fused rasters.
        prefix: the start of its output file names.
        learns: True when it trains on the reference year (needs reference pairs).
        needs_later_pair: True when it needs a base pair after each target (benchmarks, not crop mapping).
        needs_pixel_size: True when it reads the fine pixel's size in metres (rasters without a CRS
            need ``pixel_size_m``).
        seconds_per_target_mpx: CPU seconds per target date and million fine pixels, for the
            estimate (a learning method's cost is estimated from its network instead).
        dialog_params: the parameters the dialog shows, in order (the rest keep their defaults).
    """

    name: str
    label: str
    description: str
    params: type
    fuse: FuseFn
    prefix: str
    learns: bool = False
    needs_later_pair: bool = False
    needs_pixel_size: bool = False
    seconds_per_target_mpx: float = 0.0
    dialog_params: tuple[NumberParam, ...] = ()

    def parse_params(self, values: object, field: str = "") -> Any:
        """Its parameters from a job file's mapping (unknown keys are errors naming ``field``)."""
        return options_from_mapping(self.params, values, field or f"method_params.{self.name}")

    def run(
        self,
        inputs: FusionInputs,
        out_dir: Path,
        params: Any = None,
        progress: ProgressFn | None = None,
        is_cancelled: CancelFn = never_cancelled,
        resume: Any = None,
    ) -> FusionOutput:
        """Fuse every target of ``inputs`` into ``out_dir`` (``params`` None: the defaults).

        With a ``resume`` ledger, a method whose every output is complete and verified is not run
        again (TSSTFN goes further: it reuses its model and each complete date on its own).
        """
        request = FusionRequest(
            inputs, params if params is not None else self.params(), Path(out_dir), self.prefix, progress, is_cancelled,
            resume,
        )  # fmt: skip
        if resume is not None and not self.learns:
            paths = {t.date: request.path_for(t.date) for t in inputs.targets}
            if resume.all_complete(list(paths.values())):
                resume.reuse(f"{self.label} ({len(paths)} date(s))")
                return FusionOutput(paths)
            produced = self.fuse(request)
            if produced.written:
                resume.record(*produced.rasters.values())
            return produced
        return self.fuse(request)
