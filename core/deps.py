"""Dependencies: checking them, and installing the missing ones into a folder the plugin owns.

Installing torch and scikit-learn into QGIS's own Python is the most common stumbling block of
deep-learning plugins. :func:`find_problems` says what is missing or broken (``quick=True`` only
looks for the packages, without importing torch, so that opening a dialog stays fast);
:func:`check_dependencies` turns problems into a :class:`DependencyError` whose message is the
exact command to run; :func:`plan_install` and :func:`install` put the missing packages into a
folder of their own (never the system Python), in two pip steps: a dry run against what QGIS's
Python already has (so numpy and GDAL's other companions are never shadowed), then exactly the
missing distributions, without their dependencies, into a staging folder that is moved into
place only when pip succeeded. A failure or a cancel leaves the folder as it was.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CancelledError, DependencyError

#: import name -> pip requirement (what the user installs)
REQUIRED: dict[str, str] = {
    "torch": "torch",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "scipy": "scipy",
    "skops.io": "skops",
}
#: optional packages: import name -> requirement; only the features that use them ask for them (``find_problems(OPTIONAL)``)
OPTIONAL: dict[str, str] = {
    "pystac_client": "pystac-client",  # getting the imagery from STAC APIs (core/fetch)
    "planetary_computer": "planetary-computer",  # signing the Planetary Computer's asset URLs
}


@dataclass(frozen=True)
class Problem:
    """One unusable package: ``module`` is the import name, ``reason`` what went wrong."""

    module: str
    requirement: str
    reason: str


def _not_found(exc: ImportError, module: str) -> bool:
    """True when ``exc`` says ``module`` itself (or its top package) is absent, not that it failed inside."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and (name == module or module.startswith(name + "."))


def find_problems(modules: dict[str, str] | None = None, quick: bool = False) -> list[Problem]:
    """The modules that are missing or fail to import.

    Args:
        modules: import name -> requirement (default :data:`REQUIRED`).
        quick: only look for each top-level package on ``sys.path`` (milliseconds; a broken
            package is found when the work imports it).
    """
    problems = []
    for module, requirement in (modules or REQUIRED).items():
        if quick:
            if importlib.util.find_spec(module.split(".")[0]) is None:
                problems.append(Problem(module, requirement, "not installed"))
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:  # ModuleNotFoundError included
            missing = _not_found(exc, module)
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


# Installing ------------------------------------------------------------------------------

#: approximate download in MB of each requirement (for the installer's "about N MB")
DOWNLOAD_MB: dict[str, int] = {
    "torch": 190,
    "torch+cuda": 2600,  # the CUDA build with its NVIDIA libraries
    "scikit-learn": 13,
    "scikit-image": 15,
    "scipy": 38,
    "skops": 1,
    "matplotlib": 9,
    "PyYAML": 1,
    "pystac-client": 1,
    "planetary-computer": 1,
}
#: PyTorch's own wheel indexes; the CUDA one matches drivers from 525 on (CUDA 12)
TORCH_INDEX = {"cpu": "https://download.pytorch.org/whl/cpu", "cuda": "https://download.pytorch.org/whl/cu126"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*([<>=!~][^#;]*)?")


def requirement_specs(path: Path | None = None) -> dict[str, str]:
    """Requirement name -> pip specifier, from the plugin's ``requirements.txt`` (e.g. ``skops>=0.11,<0.14``)."""
    path = path or Path(__file__).resolve().parent.parent / "requirements.txt"
    specs = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        m = _REQUIREMENT.match(line.split("#")[0])
        if m:
            specs[m.group(1)] = m.group(1) + (m.group(2) or "").strip()
    return specs


def has_nvidia_gpu() -> bool:
    """True when ``nvidia-smi`` lists a GPU (the CUDA build of PyTorch can use it)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def python_executable() -> str | None:
    """The Python interpreter QGIS runs on: the one under ``sys.exec_prefix``.

    Inside QGIS ``sys.executable`` is often QGIS itself, or whatever ``python3`` comes first on PATH.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = []
    for prefix in dict.fromkeys((Path(sys.exec_prefix), Path(sys.base_exec_prefix))):
        candidates += [
            prefix / "bin" / f"python{version}",
            prefix / "bin" / "python3",
            prefix / "python.exe",  # Windows: OSGeo4W and the standalone installer
            prefix / "python3.exe",
        ]
    executable = Path(sys.executable)
    if executable.name.lower().startswith("python"):
        inside = any(
            str(executable.resolve()).startswith(str(Path(p).resolve())) for p in (sys.exec_prefix, sys.base_exec_prefix)
        )
        candidates.insert(0 if inside else len(candidates), executable)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    return None


def add_packages_dir(folder: str | Path) -> None:
    """Put ``folder`` (the installer's target) on ``sys.path``, after the packages QGIS already has."""
    folder = str(folder)
    if Path(folder).is_dir() and folder not in sys.path:
        sys.path.append(folder)
        importlib.invalidate_caches()


@dataclass
class InstallPlan:
    """What the installer will do: ``requirements`` into ``target`` with ``python``; sizes are approximate."""

    requirements: list[str]
    target: Path
    python: str | None
    torch_build: str | None = None  # cpu or cuda, when torch is among the requirements
    download_mb: int = 0
    extra_args: list[str] = field(default_factory=list)

    def pip_args(self) -> list[str]:
        """The options pip gets in both steps by both steps (the torch index when torch is to be installed)."""
        args = ["--disable-pip-version-check", "--no-input", "--progress-bar", "off", *self.extra_args]
        if self.torch_build:
            args += ["--extra-index-url", TORCH_INDEX[self.torch_build]]
        return args

    def manual_command(self) -> str:
        """The one command that does the same by hand (shown, with a copy button, when the installer fails)."""
        python = self.python or "python3"
        command = [python, "-m", "pip", "install", "--target", str(self.target), *self.pip_args(), *self.requirements]
        return shlex.join(command) if os.name != "nt" else subprocess.list2cmdline(command)


def plan_install(problems: list[Problem], target: str | Path, cuda: bool | None = None) -> InstallPlan:
    """The plan for installing the packages of ``problems`` into ``target``.

    Args:
        problems: from :func:`find_problems`.
        target: the folder the plugin owns (created when installing).
        cuda: the CUDA build of PyTorch (None: when :func:`has_nvidia_gpu`).
    """
    specs = requirement_specs()
    requirements, size, build = [], 0, None
    for problem in problems:
        requirements.append(specs.get(problem.requirement, problem.requirement))
        if problem.requirement == "torch":
            build = "cuda" if (has_nvidia_gpu() if cuda is None else cuda) else "cpu"
            size += DOWNLOAD_MB["torch+cuda" if build == "cuda" else "torch"]
        else:
            size += DOWNLOAD_MB.get(problem.requirement, 10)
    extra = shlex.split(os.environ.get("TSSTFN_PIP_ARGS", ""))  # e.g. a local wheel folder: --find-links /wheels
    return InstallPlan(requirements, Path(target), python_executable(), build, size, extra)


def _run_pip(args: list[str], env: dict, log: Callable[[str], None], is_cancelled: Callable[[], bool]) -> tuple[int, str]:
    """Run pip; stream its lines to ``log``; return (status, last lines).

    A cancel kills pip within a fifth of a second, also during a long download that prints nothing.
    """
    import threading
    import time

    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        lines: list[str] = []
        stdout = proc.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(line.rstrip() for line in stdout), daemon=True)
        reader.start()
        shown = 0
        while proc.poll() is None or reader.is_alive():
            for line in lines[shown:]:
                if line:
                    log(line)
            shown = len(lines)
            if is_cancelled():
                proc.kill()
                proc.wait()
                raise CancelledError("Installation cancelled; nothing was installed.")
            time.sleep(0.2)
        for line in lines[shown:]:
            if line:
                log(line)
        return proc.returncode, "\n".join([line for line in lines if line][-8:])


def install(
    plan: InstallPlan,
    progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
    log: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Install ``plan``; returns the distributions installed (``name==version``).

    Raises:
        DependencyError: no Python/pip, pip failed (no network, disk full, no wheel), naming the
            cause and the manual command; the target folder is left as it was.
        CancelledError: ``is_cancelled()`` became true; nothing was installed.
    """
    progress = progress or (lambda f, m: None)
    manual = f"Install by hand with:\n  {plan.manual_command()}\nthen restart QGIS."
    if plan.python is None:
        raise DependencyError(f"No Python interpreter was found to run pip. {manual}")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in [str(plan.target), *sys.path] if p))
    env.pop("PIP_TARGET", None)
    plan.target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=plan.target.parent))
    try:
        progress(0.05, "finding what is missing")
        report = staging / "report.json"
        dry = [plan.python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report)]
        dry += [*plan.pip_args(), *plan.requirements]
        status, tail = _run_pip(dry, env, log, is_cancelled)
        if status != 0 or not report.exists():
            raise DependencyError(_pip_failure(tail, manual))
        wanted = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in json.loads(report.read_text())["install"]]
        if not wanted:
            progress(1.0, "nothing to install")
            return []
        progress(0.15, f"downloading and installing {len(wanted)} package(s)")
        files = staging / "files"
        step = [plan.python, "-m", "pip", "install", "--no-deps", "--target", str(files), *plan.pip_args(), *wanted]
        status, tail = _run_pip(step, env, log, is_cancelled)
        if status != 0:
            raise DependencyError(_pip_failure(tail, manual))
        progress(0.95, "moving the packages into place")
        for entry in files.iterdir():
            destination = plan.target / entry.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            elif destination.exists():
                destination.unlink()
            os.replace(entry, destination)
        add_packages_dir(plan.target)
        progress(1.0, "installed")
        return wanted
    except OSError as exc:
        raise DependencyError(f"Installing failed: {exc}. {manual}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pip_failure(tail: str, manual: str) -> str:
    """The last lines of pip turned into a cause a user can act on, with the manual command."""
    low = tail.lower()
    if "no space left" in low:
        cause = "the disk is full"
    elif any(w in low for w in ("connection", "network", "resolve", "temporary failure", "proxy", "ssl")):
        cause = "the package index could not be reached (no network, or a proxy)"
    elif "no matching distribution" in low or "could not find a version" in low:
        cause = "no matching package was found for this Python and system"
    elif "no module named pip" in low:
        cause = "this Python has no pip"
    else:
        cause = "pip failed"
    return f"Installing the packages failed: {cause}.\npip said:\n{tail}\n{manual}"
