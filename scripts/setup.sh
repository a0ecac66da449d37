#!/usr/bin/env bash
# One-command set-up of a fresh Debian/Ubuntu machine, safe to re-run.
#   scripts/setup.sh            install everything, then run the demo job
#   scripts/setup.sh --no-demo  install only (used by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN_DEMO=1
[ "${1:-}" = "--no-demo" ] && RUN_DEMO=0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# 1. QGIS (3.22 LTR or newer), its Python bindings and GDAL from the distribution.
APT_PKGS="python3-qgis qgis-providers python3-gdal qgis python3-venv xvfb"
missing=""
for p in $APT_PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing system packages:$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi
/usr/bin/python3 -c "import qgis.core, osgeo.gdal" || { echo "QGIS/GDAL Python bindings did not import"; exit 1; }

# 2. A virtual environment made from the system Python, seeing QGIS and GDAL.
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
STAMP="$VENV/.requirements.sha"
want=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "== installing Python requirements"
  "$VENV/bin/python" -m pip install -q -r requirements-dev.txt -c constraints.txt
  echo "$want" > "$STAMP"
fi

# 3. Make the plugin importable exactly as QGIS does: its folder, named tsstfn_crop_mapper,
#    inside a plugins directory that is on sys.path.
PLUGINS="$VENV/qgis-plugins"
mkdir -p "$PLUGINS"
ln -sfn "$ROOT" "$PLUGINS/tsstfn_crop_mapper"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PLUGINS" > "$SITE/tsstfn_crop_mapper_plugins.pth"
"$VENV/bin/python" -c "import tsstfn_crop_mapper.core" || { echo "plugin package did not import"; exit 1; }
echo "== environment ready: $VENV"

if [ "$RUN_DEMO" = 1 ]; then
  echo "== running the demo job on the synthetic two-season scene (CPU, a few minutes)"
  "$VENV/bin/python" -m tsstfn_crop_mapper demo --out "$ROOT/demo_output"
fi
