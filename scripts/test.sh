#!/usr/bin/env bash
# Runs the whole test suite headless against real QGIS and GDAL (sets up the environment first if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-demo >/dev/null
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
