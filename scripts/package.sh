#!/usr/bin/env bash
# Builds dist/tsstfn_crop_mapper-<version>.zip for the QGIS plugin repository from the committed tree
# (the plugin folder inside; tests, benches, scripts and docs left out via .gitattributes export-ignore).
#   scripts/package.sh [REV]   (default HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
version=$(git show "$rev:metadata.txt" | sed -n 's/^version=//p')
mkdir -p dist
out="dist/tsstfn_crop_mapper-$version.zip"
git archive --format=zip --prefix=tsstfn_crop_mapper/ -o "$out" "$rev"
echo "$out"
