"""Dependency check with an install command for the user's platform.

Installing torch and scikit-learn into QGIS's own Python is the most common stumbling block of
deep-learning plugins, so work starts with :func:`check_dependencies`, and a missing or broken
package becomes a :class:`DependencyError` whose message is the exact command to run.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass

from .errors import DependencyError

#: import name -> pip requirement (what the user installs)
REQUIRED: dict[str, str] = {
    "torch": "torch",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "scipy": "scipy",
    "skops.io": "skops",
}


@dataclass(frozen=True)
class Problem:
    """One unusable package: ``module`` is the import name, ``reason`` what went wrong."""

    module: str
    requirement: str
    reason: str


def find_problems(modules: dict[str, str] | None = None) -> list[Problem]:
    """Try to import each module; return the ones that are missing or fail to import."""
    problems = []
    for module, requirement in (modules or REQUIRED).items():
        try:
            importlib.import_module(module)
        except ImportError as exc:  # ModuleNotFoundError included
            missing = isinstance(exc, ModuleNotFoundError) and exc.name == module
            problems.append(Problem(module, requirement, "not installed" if missing else f"broken: {exc}"))
        except Exception as exc:  # a DLL that fails to load raises OSError and others
            problems.append(Problem(module, requirement, f"broken: {type(exc).__name__}: {exc}"))
    return problems


def detect_platform() -> str:
    """One of ``osgeo4w``, ``windows-standalone``, ``macos``, ``linux``."""
    if sys.platform.startswith("win"):
        if os.environ.get("OSGEO4W_ROOT"):
            return "osgeo4w"
        return "windows-standalone"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def install_command(requirements: list[str], platform: str | None = None) -> str:
    """The command that installs ``requirements`` into the Python QGIS runs on ``platform``."""
    platform = platform or detect_platform()
    reqs = " ".join(requirements)
    if platform == "osgeo4w":
        return f'In the "OSGeo4W Shell" (Start menu), run:  python -m pip install {reqs}'
    if platform == "windows-standalone":
        return (
            f'In the "OSGeo4W Shell" installed with QGIS (Start menu > QGIS > OSGeo4W Shell), run:  python -m pip install {reqs}'
        )
    if platform == "macos":
        return f"In Terminal, run:  /Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install {reqs}"
    return (
        "In a terminal, run:  python3 -m pip install --user "
        f"{reqs}  (on Debian 12 / Ubuntu 23.04+ add --break-system-packages, or use the "
        "project's scripts/setup.sh)"
    )


def dependency_message(problems: list[Problem], platform: str | None = None) -> str:
    """A message naming each problem and the single command that fixes them all."""
    lines = ["TSSTFN Crop Mapper needs Python packages that QGIS cannot import:"]
    lines += [f"  - {p.requirement} ({p.module}): {p.reason}" for p in problems]
    lines.append(install_command([p.requirement for p in problems], platform))
    lines.append("Then restart QGIS. CPU wheels are enough; for an NVIDIA GPU see the README.")
    return "\n".join(lines)


def check_dependencies(modules: dict[str, str] | None = None) -> None:
    """Raise :class:`DependencyError` with the install command when a package is unusable."""
    problems = find_problems(modules)
    if problems:
        raise DependencyError(dependency_message(problems))
