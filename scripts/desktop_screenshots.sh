#!/usr/bin/env bash
# Starts the real QGIS desktop under Xvfb with the plugin installed in a throwaway profile, opens the
# dialog, runs a small job and saves screenshots of the dialog and of the map into docs/images/.
#   scripts/desktop_screenshots.sh [OUT_DIR]
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
export PYTHONPATH="$SITE" TSSTFN_SHOTS="$OUT" TSSTFN_WORK="$WORK"
xvfb-run -a -s "-screen 0 1600x1000x24" qgis --profiles-path "$PROFILES" --nologo --noversioncheck \
  --code "$ROOT/scripts/desktop_demo.py" 2>&1 | grep -v -E "^(Warning|QStandardPaths|libpng)" || true
ls -l "$OUT"
