#!/usr/bin/env bash
# Starts the real QGIS desktop under Xvfb with the plugin installed in a throwaway profile, opens the
# dialog, runs a small job and saves screenshots of the dialog and of the map into docs/images/.
#   [TSSTFN_SCREEN=1920x1080 TSSTFN_SUFFIX=_1920x1080] scripts/desktop_screenshots.sh [OUT_DIR]
# (default screen 1280x800); timings and outcomes go to OUT_DIR/first_run.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${1:-$ROOT/docs/images}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PROFILES="$WORK/profiles"
PLUGINS="$PROFILES/profiles/default/python/plugins"
mkdir -p "$PLUGINS" "$PROFILES/profiles/default/QGIS" "$OUT"
ln -s "$ROOT" "$PLUGINS/tsstfn_crop_mapper"
cat > "$PROFILES/profiles/default/QGIS/QGIS3.ini" <<INI
[PythonPlugins]
tsstfn_crop_mapper=true
[qgis]
showTips=false
checkVersion=false
INI
SITE=$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
SCREEN=${TSSTFN_SCREEN:-1280x800}
export PYTHONPATH="${TSSTFN_PYTHONPATH:-$SITE}" TSSTFN_SHOTS="$OUT" TSSTFN_WORK="$WORK" TSSTFN_SCREEN="$SCREEN"
xvfb-run -a -s "-screen 0 ${SCREEN}x24" qgis --profiles-path "$PROFILES" --nologo --noversioncheck \
  --code "$ROOT/scripts/desktop_demo.py" 2>&1 | grep -v -E "^(Warning|QStandardPaths|libpng)" || true
ls -l "$OUT"
