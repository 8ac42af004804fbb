#!/usr/bin/env bash
# Creates .venv with the contracts, the kit, the services and the console (editable) and the test tools.
# Re-runs only when a pyproject or constraints.txt changed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "[python] Python 3.11+ is needed" >&2; exit 1; }

packages=(contracts kit ops services/registry services/matching services/shipping services/notifications services/identity services/console)
want=$(cat constraints.txt requirements-dev.txt "${packages[@]/%//pyproject.toml}" | sha256sum | cut -d' ' -f1)
stamp=.venv/.ekspora-deps.sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi

[ -x .venv/bin/python ] || { echo "[python] creating .venv"; "$PYTHON" -m venv .venv; }
echo "[python] installing the project and its pinned dependencies into .venv ..."
editable=()
for package in "${packages[@]}"; do editable+=(-e "./$package"); done
.venv/bin/pip install --disable-pip-version-check --progress-bar off -q -c constraints.txt \
  -r requirements-dev.txt "${editable[@]}"
echo "$want" >"$stamp"
echo "[python] done"
