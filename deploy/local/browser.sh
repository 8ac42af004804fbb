#!/usr/bin/env bash
# What the console's browser tests need: Debian's Chromium and its driver (the tests drive them with
# Selenium; a browser download cannot work here), and axe-core from npm, vendored into .local/axe,
# which the tests inject into each page; and poppler-utils, whose pdftotext reads the export papers back.
# Re-runs only what is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
AXE_VERSION=4.14.1

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[browser] installing chromium and chromium-driver from Debian"
    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
  else
    echo "[browser] install Debian's chromium and chromium-driver (the console's browser tests need them)" >&2
    exit 1
  fi
fi
if ! command -v pdftotext >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[browser] installing poppler-utils from Debian (pdftotext)"
    apt-get install -y -qq poppler-utils >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }
  else
    echo "[browser] install Debian's poppler-utils (the export papers' tests read PDFs with pdftotext)" >&2
    exit 1
  fi
fi
axe=.local/axe/node_modules/axe-core/axe.min.js
if [ ! -f "$axe" ] || ! grep -q "\"version\": \"$AXE_VERSION\"" .local/axe/node_modules/axe-core/package.json; then
  echo "[browser] vendoring axe-core $AXE_VERSION from npm"
  mkdir -p .local/axe
  npm install --prefix .local/axe --silent --no-audit --no-fund --no-save "axe-core@$AXE_VERSION" >/dev/null
fi
