#!/usr/bin/env bash
# Builds prometheus/statsd_exporter from the Go module proxy into
# .cache/statsd_exporter/VERSION, once per pinned version; prints the path of
# the binary. Called by test/metrics/eventgate-compat.test.ts. Needs Go
# (on PATH, or /usr/local/go/bin/go).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=v0.28.0
DIR=$ROOT/.cache/statsd_exporter/$VERSION
BIN=$DIR/statsd_exporter
# A binary that does not run (half-written by an interrupted build) is built again.
if ! "$BIN" --version >/dev/null 2>&1; then
  GO=$(command -v go || true)
  [ -n "$GO" ] || GO=/usr/local/go/bin/go
  [ -x "$GO" ] || { echo "install-statsd-exporter.sh: Go is needed to build statsd_exporter" >&2; exit 1; }
  echo "install-statsd-exporter.sh: building statsd_exporter $VERSION into $DIR" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  GOBIN=$DIR "$GO" install "github.com/prometheus/statsd_exporter@$VERSION" >&2
fi
echo "$BIN"
