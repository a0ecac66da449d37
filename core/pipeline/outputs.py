"""The output folder of a run: one run at a time, never a mixture of two runs, a manifest of what was made.

:class:`OutputFolder` claims a folder for a run:

* a folder another live run is writing into is refused;
* hidden ``.part`` files left by a stopped run (killed, power cut) are removed;
* outputs of a *different* run (another job, changed input files, or a run whose manifest is missing) are moved aside
  into ``previous_runs/<time>/``, saying so, so that new and old outputs never mix;
* ``run_manifest.json`` records the job, its inputs (size, modification time), its status
  (``running``, ``stopped``, ``complete``) and, once complete, the SHA-256 of every output.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import file_sha256, write_text
from ..formats import OUTPUT_FORMATS
from ..fusion.methods import METHODS
from ..version import __version__

log = logging.getLogger("tsstfn")
MANIFEST = "run_manifest.json"
LOCK = ".tsstfn.lock"
PREVIOUS = "previous_runs"
_ACTIVE: set[str] = set()  # output folders this process is writing into


def output_patterns(name: str) -> list[str]:
    """Glob patterns of everything a run writes into its folder (from the registries, so new methods are covered)."""
    patterns = [f"{m.prefix}_*.tif" for m in METHODS.values()]
    patterns += [f"crop_map{f.suffix}" for f in OUTPUT_FORMATS.values()] + ["crop_map.*"]
    patterns += ["crop_map_early*", "crop_map_fused*", "crop_map_fields*", "crop_fields.*", "crop_probabilities.tif*"]
    patterns += ["crop_confidence.tif*", "uncertainty_*.tif*", "difference_*.tif", "forest_*.skops"]
    patterns += [f"{name}.tsstfn", "aligned", "report", MANIFEST, ".resume.json"]
    return patterns


def run_outputs_there(folder: Path, name: str) -> list[Path]:
    """The outputs (files and folders) of a run already in ``folder``, found by :func:`output_patterns`."""
    return sorted({p for pattern in output_patterns(name) for p in folder.glob(pattern)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours
        return True
    return True


def remove_partial_files(folder: Path) -> list[Path]:
    """Remove the hidden ``.part`` files and folders a stopped run left (atomic writes that never finished)."""
    removed = []
    for p in sorted(folder.rglob(".*.part*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    if removed:
        log.warning("removed %d half-written file(s) a stopped run left in %s", len(removed), folder)
    return removed


class OutputFolder:
    """A run's claim on its output folder (see the module docstring).

    Args:
        folder: the output folder.
        job: the job as plain data (``job_to_dict``), compared with the previous run's.
        name: the run's name (its model file is ``<name>.tsstfn``).
        inputs: every file the job reads, recorded in the manifest.
    """

    def __init__(self, folder: Path, job: dict, name: str, inputs: list[str], outputs: Sequence[Path] | None = None) -> None:
        """Claim ``folder``; nothing is touched until :meth:`claim`.

        ``outputs``: the exact files the command writes (``classify``), instead of a run's patterns.
        """
        self.folder, self.job, self.name, self.inputs = Path(folder), job, name, inputs
        self.outputs = None if outputs is None else [Path(p) for p in outputs]
        self.moved_to: Path | None = None
        self.removed: list[Path] = []
        self._lock: Any = None

    @property
    def manifest_path(self) -> Path:
        """``<folder>/run_manifest.json``."""
        return self.folder / MANIFEST

    def previous(self) -> dict | None:
        """The manifest a previous run left, or None."""
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def check_free(self) -> dict | None:
        """The previous run's manifest, after checking that no live run is writing into the folder.

        Raises:
            InputError: another live run (this process's, or a live process on this host) writes into the folder.
        """
        old = self.previous()
        if old and old.get("status") == "running":
            pid, same_host = int(old.get("pid", -1)), old.get("host") == socket.gethostname()
            busy = str(self.folder.resolve()) in _ACTIVE if pid == os.getpid() else (same_host and _alive(pid))
            if busy:
                raise InputError(
                    f"Another run (process {pid}, started {old.get('started', '?')}) is writing into '{self.folder}'; "
                    "wait for it to finish or choose another output folder."
                )
        return old

    def claim(self) -> OutputFolder:
        """Check the folder is free, clean it, move a different previous run aside, write ``running``.

        Raises:
            InputError: another live run is writing into the folder, or it cannot be written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"Cannot create the output folder '{self.folder}': {exc.strerror or exc}. Choose another folder."
            ) from None
        key = str(self.folder.resolve())
        self._take_lock()
        try:
            old = self.check_free()
            self.removed = remove_partial_files(self.folder)
            if self.outputs is None:
                existing = run_outputs_there(self.folder, self.name)
            else:
                existing = [p for p in [*self.outputs, self.manifest_path] if os.path.lexists(p)]
            check_no_links(self.folder, existing)
            same = old is not None and old.get("job") == self.job and old.get("inputs") == [_describe(p) for p in self.inputs]
            if existing and not same:  # another job, changed inputs, or unknown outputs
                self.moved_to = self._move_aside(sorted(set(existing)), old)
            _ACTIVE.add(key)
            self._write("running")
        except BaseException:
            self._drop_lock()
            raise
        return self

    def _take_lock(self) -> None:
        """Hold ``.tsstfn.lock`` in the folder for the run (two runs started together: the second is refused)."""
        try:
            import fcntl
        except ImportError:  # Windows: the manifest's check alone
            return
        path = self.folder / LOCK
        try:
            if path.is_symlink():
                raise InputError(f"'{path}' is a link; remove it (a run writes only inside its output folder).")
            handle = open(path, "a")  # noqa: SIM115 (held until release)
        except OSError as exc:
            raise InputError(
                f"Cannot write into the output folder '{self.folder}': {exc.strerror or exc}. Choose another folder."
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(
                f"Another run is writing into '{self.folder}' (it started at the same time); wait for it to finish "
                "or choose another output folder."
            ) from None
        self._lock = handle

    def _drop_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases its lock
            self._lock = None

    def _move_aside(self, paths: list[Path], old: dict | None) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.folder / PREVIOUS / stamp
        n = 1
        while target.exists():
            n += 1
            target = self.folder / PREVIOUS / f"{stamp}-{n}"
        try:
            target.mkdir(parents=True)
            for p in paths:
                try:
                    rel = p.relative_to(self.folder)
                except ValueError:  # a report folder given elsewhere: its files keep their folder's name
                    rel = Path(p.parent.name) / p.name
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(p), str(target / rel))
        except OSError as exc:
            raise InputError(
                f"Could not move the earlier outputs in '{self.folder}' to '{target}': {exc.strerror or exc}. "
                "Move them yourself or choose another output folder."
            ) from None
        what = f"strategy {old['job'].get('strategy')}" if old and isinstance(old.get("job"), dict) else "no manifest"
        log.warning(
            "the output folder held another run's outputs (%s): moved %d item(s) to %s so that runs never mix",
            what,
            len(paths),
            target,
        )
        return target

    def _write(self, status: str, outputs: dict[str, str] | None = None) -> None:
        now = dt.datetime.now().isoformat(timespec="seconds")
        data: dict[str, Any] = (self.previous() or {}) if status != "running" else {}
        if status == "running":
            data.update(started=now, pid=os.getpid(), host=socket.gethostname(), software_version=__version__)
            data["job"] = self.job
            data["inputs"] = [_describe(p) for p in self.inputs]
        data["status"] = status
        if status != "running":
            data["finished"] = now
        if outputs is not None:
            data["outputs"] = outputs
        write_text(self.manifest_path, json.dumps(data, indent=1, default=str))

    def release(self, complete: bool, outputs: list[Path] | None = None) -> None:
        """Mark the run ``complete`` (with the outputs' SHA-256) or ``stopped``; the folder is free again."""
        _ACTIVE.discard(str(self.folder.resolve()))
        try:
            hashes = None
            if complete and outputs:
                hashes = {os.path.relpath(p, self.folder): file_sha256(p) for p in outputs if p.is_file()}
            self._write("complete" if complete else "stopped", hashes)
        except OSError as exc:  # a full disk must not hide the run's own error
            log.warning("could not update %s: %s", self.manifest_path, exc)
        finally:
            self._drop_lock()


def check_no_links(folder: Path, paths: Sequence[Path] = ()) -> None:
    """No link inside the output folder redirects its writes elsewhere; ``previous_runs`` is a folder.

    Args:
        folder: the output folder.
        paths: the outputs already there (files or folders a run writes into).

    Raises:
        InputError: naming the link (or the file called ``previous_runs``) and what to do.
    """
    previous = folder / PREVIOUS
    if previous.is_symlink() or (previous.exists() and not previous.is_dir()):
        kind = "a link" if previous.is_symlink() else "a file"
        raise InputError(
            f"'{previous}' is {kind}, where earlier outputs are moved to; remove or rename it, or choose another output folder."
        )
    for p in paths:
        if p.is_symlink() and (p.is_dir() or not p.exists()):
            raise InputError(
                f"'{p}' in the output folder is a link to '{os.readlink(p)}'; a run writes only inside its output "
                "folder: remove the link or choose another output folder."
            )


def _describe(path: str) -> dict:
    try:
        st = os.stat(path)
        return {"path": path, "size": st.st_size, "modified": dt.datetime.fromtimestamp(st.st_mtime).isoformat()}
    except OSError:
        return {"path": path}
