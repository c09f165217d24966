#!/usr/bin/env bash
# Vendor uPlot (charts of the console and proof pages) from the npm registry; served locally.
set -euo pipefail
version=${1:-1.6.32}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "uplot@$version" -q >/dev/null && tar xzf "uplot-$version.tgz")
dest=mrmarket/static/vendor/uplot
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
sum=$(sha256sum "$tmp/uplot-$version.tgz" | cut -d' ' -f1)
printf 'uPlot %s (MIT), vendored from the npm registry: `npm pack uplot@%s`\ntarball sha256 %s\nfiles: package/dist/uPlot.iife.min.js, package/dist/uPlot.min.css, package/LICENSE\nRefresh with `scripts/vendor-uplot.sh VERSION` (checks the tarball, copies the three files).\n' "$version" "$version" "$sum" > "$dest/SOURCE"
echo "vendored uPlot $version ($sum)"
