"""Resuming a stopped run: outputs already complete and verified are reused, the rest is recomputed.

Every output a run's stages write (aligned rasters, the model file, each fused date, each crop
map) is written atomically and then *recorded* in the folder's ledger, ``.resume.json``: its size
and SHA-256, under a key of the job and its input files. A later run of the same job reuses a
recorded output only when the file is still there with the recorded size and hash; anything else
(a file missing, altered, or written by a run of another job) is recomputed. A half-written file
never reaches the ledger: atomic writes give it its final name only when it is complete, and the
record is made after that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from ..files import file_sha256, write_text

log = logging.getLogger("tsstfn")
LEDGER = ".resume.json"


def job_key(job: dict, inputs: list[dict]) -> str:
    """A key of the job (as plain data) and its input files' sizes and times."""
    text = json.dumps({"job": job, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Resume:
    """The ledger of one output folder for one job (see the module docstring).

    Args:
        folder: the run's output folder.
        key: :func:`job_key` of the job; a ledger with another key is ignored (and replaced).
        enabled: False: nothing is reused (every stage recomputes), outputs are still recorded.
    """

    def __init__(self, folder: Path, key: str, enabled: bool = True) -> None:
        """Read the folder's ledger if it belongs to ``key``."""
        self.folder, self.key, self.enabled = Path(folder), key, enabled
        self.entries: dict[str, dict] = {}
        self.reused: list[str] = []
        try:
            data = json.loads((self.folder / LEDGER).read_text())
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("outputs"), dict):
            self.entries = data["outputs"]

    def _name(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.folder.resolve()))
        except ValueError:
            return str(Path(path).resolve())

    def complete(self, path: Path | str) -> bool:
        """True when ``path`` was recorded by a run of this job and is unchanged since (size and SHA-256)."""
        if not self.enabled:
            return False
        path = Path(path)
        entry = self.entries.get(self._name(path))
        if not entry or not path.is_file():
            return False
        if path.stat().st_size != entry.get("size"):
            return False
        return file_sha256(path) == entry.get("sha256")

    def all_complete(self, paths: list[Path] | list[str]) -> bool:
        """True when every one of ``paths`` is :meth:`complete` (and there is at least one)."""
        return bool(paths) and all(self.complete(p) for p in paths)

    def record(self, *paths: Path | str) -> None:
        """Record complete outputs (call after they got their final name)."""
        for p in paths:
            p = Path(p)
            if p.is_file():
                self.entries[self._name(p)] = {"size": p.stat().st_size, "sha256": file_sha256(p)}
        self._save()

    def reuse(self, stage: str) -> None:
        """Note that ``stage`` was reused (the report and the log say so)."""
        self.reused.append(stage)
        log.info("resume: reused %s (complete and verified)", stage)

    def forget_missing(self) -> None:
        """Drop the entries of files that are gone (intermediates cleaned on success)."""
        self.entries = {k: v for k, v in self.entries.items() if (self.folder / k).exists() or os.path.isabs(k)}
        self._save()

    def _save(self) -> None:
        write_text(self.folder / LEDGER, json.dumps({"key": self.key, "outputs": self.entries}, indent=1))
