#!/usr/bin/env bash
# The incremental build that `npm test` and `npm run test:unit` share: dist/
# is kept between runs (tsc rebuilds only what changed), and a compiled file
# whose source is gone is removed first, so that mocha never runs a deleted
# or renamed test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d dist ]]; then
  while IFS= read -r -d '' js; do
    src=${js#dist/}
    [[ -f ${src%.js}.ts ]] || rm -f "$js" "$js.map"
  done < <(find dist -name '*.js' -print0)
fi
# tsc's build info counts a file as emitted even when its output was deleted
# since (by hand, or by the loop above after a rename back): then it would not
# write it again, so the build starts over instead.
if [[ -f dist/.tsbuildinfo ]]; then
  while IFS= read -r -d '' ts; do
    if [[ ! -f dist/${ts%.ts}.js ]]; then
      rm -f dist/.tsbuildinfo
      break
    fi
  done < <(find lib test bench -name '*.ts' ! -name '*.d.ts' -print0)
fi
npx tsc -p .
