#!/usr/bin/env bash
# The whole suite, as `npm test` runs it: build, lint, then every test
# (mocha starts and stops the real Kafka broker itself, see test/kafka/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/build.sh
npx eslint --max-warnings 0 .
npx mocha "$@"
