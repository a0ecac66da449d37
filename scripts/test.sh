#!/usr/bin/env bash
# Runs the checks and the whole test suite headless against real QGIS and GDAL (sets up the environment first if needed):
# ruff (lint, Google docstrings in core), mypy on core, then pytest with any arguments given.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-demo >/dev/null
export QT_QPA_PLATFORM=offscreen
export PYTHONFAULTHANDLER=1  # a crash (also one after the last test) prints the Python stack that caused it
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet . || { echo "ruff format would change files: run .venv/bin/ruff format ."; exit 1; }
echo "== mypy (core)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
