#!/usr/bin/env bash
# The whole suite, as `npm test` runs it: build, lint, then the unit files
# (those of `npm run test:unit`: no broker, no child process) while a real
# Kafka broker starts in the background, then every other test file with that
# broker, under c8 but for the memory and load tests (see below); the
# coverage of lib/ is summed up at the end and
# held to the floors of .c8rc.json. Any part that fails fails the run; the
# broker is stopped on every way out.
#
# With EVENTGATE_TEST_KAFKA already set (a broker of `npm run kafka`), that
# broker is used and none is started. With arguments (`npm test -- --grep x`),
# the run is one mocha with .mocharc.yml and those arguments, as plain
# `mocha` runs it (its fixture starts the broker), with no coverage floor: a
# part of the suite cannot be held to the whole suite's coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/build.sh
npx eslint --max-warnings 0 .

if (($# > 0)); then
  exec npx mocha "$@"
fi

broker_dir='' broker_pid='' broker_log=''
stop_broker() {
  if [[ -n $broker_pid ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  if [[ -n $broker_dir && -d $broker_dir ]]; then
    # broker.sh removes only a folder it marked as its own; one it had not
    # started in yet (killed while fetching the jars) is still ours to remove.
    if [[ -f $broker_dir/.eventgate-kafka ]]; then
      bash test/kafka/broker.sh stop "$broker_dir" || true
    else
      rm -rf "$broker_dir"
    fi
  fi
  [[ -z $broker_log ]] || rm -f "$broker_log"
}
trap stop_broker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
if [[ -z ${EVENTGATE_TEST_KAFKA:-} ]]; then
  broker_dir=$(mktemp -d "${TMPDIR:-/tmp}/eventgate-test-kafka-XXXXXX")
  broker_log=$(mktemp "${TMPDIR:-/tmp}/eventgate-test-kafka-log-XXXXXX")
  # Its output waits in a file, so that it does not run through the unit
  # tests' report; the watchdog (EVENTGATE_KAFKA_OWNER_PID) stops the broker
  # if this script is killed before its trap runs.
  EVENTGATE_KAFKA_OWNER_PID=$$ env -u EVENTGATE_KAFKA_PORT \
    bash test/kafka/broker.sh start "$broker_dir" >/dev/null 2>"$broker_log" &
  broker_pid=$!
fi

status=0
unit_started=$SECONDS
mapfile -t unit_files < <(node dist/test/unit-files.js)
npx c8 --reporter=none --check-coverage=false mocha --no-config --timeout 20000 --reporter spec --parallel --jobs 2 "${unit_files[@]}" || status=1
unit_took=$((SECONDS - unit_started))

if [[ -n $broker_pid ]]; then
  waited=$SECONDS
  if ! wait "$broker_pid"; then
    broker_pid=''
    cat "$broker_log" >&2
    echo "test/run.sh: the Kafka broker did not start: the tests that need it did not run" >&2
    exit 1
  fi
  broker_pid=''
  export EVENTGATE_TEST_KAFKA
  EVENTGATE_TEST_KAFKA=$(<"$broker_dir/bootstrap")
  while IFS='=' read -r name value; do
    if [[ -n $name ]]; then export "$name=$value"; fi
  done <"$broker_dir/security.env"
  echo "kafka test broker at $EVENTGATE_TEST_KAFKA: started while the unit files ran (${unit_took} s), then waited for $((SECONDS - waited)) s" >&2
fi

rest_started=$SECONDS
mapfile -t other_files < <(node dist/test/unit-files.js --others)
# The memory and load tests run without coverage: V8's counters and the
# coverage each process writes at exit add to the memory a real cgroup limit
# holds them to, and to the latencies and drains they assert on, so measured
# they would test an instrumented eventgate, not the one operators run.
measured=() unmeasured=()
for f in "${other_files[@]}"; do
  case $f in
    */overload/*.test.js | */supervisor/drain.test.js) unmeasured+=("$f") ;;
    *) measured+=("$f") ;;
  esac
done
npx c8 --reporter=none --check-coverage=false --clean=false mocha --no-config --timeout 20000 --reporter spec "${measured[@]}" || status=1
if ((${#unmeasured[@]})); then
  npx mocha --no-config --timeout 20000 --reporter spec "${unmeasured[@]}" || status=1
fi
rest_took=$((SECONDS - rest_started))

report_started=$SECONDS
# A module of types only compiles to no code and is never loaded: c8's `all`
# would count every line of its source as uncovered, so it is left out.
mapfile -t type_only < <(node -e '
  const fs = require("fs");
  for (const f of process.argv.slice(1)) {
    const code = fs.readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")
      .replace(/"use strict";|Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);/g, "");
    if (code.trim() === "") console.log(f);
  }' $(find dist/lib -name '*.js'))
npx c8 report --check-coverage "${type_only[@]/#/--exclude=}" || status=1
# The raw V8 coverage (hundreds of MB: one file per process, eventgate's
# children included) has served; the reports stay in coverage/.
rm -rf coverage/tmp
echo "test/run.sh: unit files ${unit_took} s, the rest ${rest_took} s, coverage report $((SECONDS - report_started)) s, all $((SECONDS - started)) s (report: coverage/index.html)" >&2
exit "$status"
