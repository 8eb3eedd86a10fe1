#!/usr/bin/env bash
# Installs schemathesis (PyPI) into .cache/schemathesis, once per pinned
# version; prints the path of its `st` command. Called by test/run.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=4.32.5
VENV=$ROOT/.cache/schemathesis/$VERSION
# A venv is not relocatable (its scripts name its python by absolute path):
# one made under another path, or half-installed, is made again.
if ! "$VENV/bin/st" --version >/dev/null 2>&1; then
  command -v python3 >/dev/null || { echo "install.sh: python3 is needed for schemathesis" >&2; exit 1; }
  echo "install.sh: installing schemathesis $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
fi
echo "$VENV/bin/st"
