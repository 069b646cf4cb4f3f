#!/usr/bin/env bash
# Refresh the vendored browser assets from the npm registry at the exact versions pinned in
# package.json (the packages' own dependencies are exact too, or pinned there), copy the files
# the pages use and their licences into web/static/web/vendor/, and write their SHA-256 sums
# beside them (SHA256SUMS). Run it as `make vendor`.
# To upgrade: change a version in package.json, run `make vendor`, update VENDOR.md, look at
# the pages (the browser tests keep screenshots), commit package.json, the files and VENDOR.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/../static/web/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$work/"
# --ignore-scripts: no package code runs at install.
(cd "$work" && npm install --ignore-scripts --no-package-lock --no-audit --no-fund --loglevel=error)

m="$work/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor/licenses"
cp "$m/bootstrap/dist/css/bootstrap.min.css" "$vendor/"
cp "$m/bootstrap/dist/js/bootstrap.bundle.min.js" "$vendor/"
cp "$m/bootstrap/LICENSE" "$vendor/licenses/bootstrap.LICENSE"
# bootstrap.bundle.min.js includes Popper.
cp "$m/@popperjs/core/LICENSE.md" "$vendor/licenses/popperjs-core.LICENSE"
cp "$m/htmx.org/dist/htmx.min.js" "$vendor/"
cp "$m/htmx.org/LICENSE" "$vendor/licenses/htmx.org.LICENSE"
cp "$m/echarts/dist/echarts.common.min.js" "$vendor/"
cp "$m/echarts/LICENSE" "$vendor/licenses/echarts.LICENSE"
cp "$m/echarts/NOTICE" "$vendor/licenses/echarts.NOTICE"
# echarts.common.min.js includes ZRender, parts of d3 and tslib's helpers.
cp "$m/echarts/licenses/LICENSE-d3" "$vendor/licenses/echarts-d3.LICENSE"
cp "$m/zrender/LICENSE" "$vendor/licenses/zrender.LICENSE"
cp "$m/tslib/LICENSE.txt" "$vendor/licenses/tslib.LICENSE"

(cd "$vendor" && sha256sum ./*.min.* licenses/* > SHA256SUMS)
echo "vendored into $vendor:"
cat "$vendor/SHA256SUMS"
