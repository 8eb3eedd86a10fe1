#!/usr/bin/env bash
# A real Apache Kafka broker for tests and development: one combined
# broker+controller node in KRaft mode, on 127.0.0.1, on free ports, with its
# data in a throwaway folder.
#
#   broker.sh fetch       jars from Maven Central into .cache/kafka/libs (skipped when complete)
#   broker.sh start DIR   format storage in DIR, start the broker in the background and
#                         return once it accepts produce requests; prints HOST:PORT
#                         (also in DIR/bootstrap; the pid is in DIR/pid). Beside
#                         PLAINTEXT it listens with SSL and SASL_SSL (SCRAM-SHA-512):
#                         DIR/security.env holds those addresses, the CA file and
#                         the SASL user and password, made for this start only
#   broker.sh stop DIR    stop the broker started in DIR and remove DIR
#   broker.sh halt DIR    stop the broker process only: DIR keeps its data and ports
#   broker.sh resume DIR  start a halted broker again, on the same ports and data;
#                         returns once it accepts produce requests
#   broker.sh run         start in the foreground (npm run kafka) until Ctrl-C
#
# Environment:
#   EVENTGATE_KAFKA_PORT           fixed PLAINTEXT port (default: a free one)
#   EVENTGATE_KAFKA_START_TIMEOUT  seconds start waits for the broker (default 120)
#   EVENTGATE_KAFKA_JAVA_OPTS      JVM options (default: small heap, quick start)
#   EVENTGATE_KAFKA_OWNER_PID      start: stop the broker and remove DIR when this
#                                  process is gone (a test run killed before its teardown)
#   EVENTGATE_KAFKA_LIBS           jar folder (default .cache/kafka/libs)
#
# DIR/security.env (mode 600), one NAME=VALUE a line, the names the test
# fixture publishes:
#   EVENTGATE_TEST_KAFKA_SSL            HOST:PORT of the SSL listener
#   EVENTGATE_TEST_KAFKA_SASL_SSL       HOST:PORT of the SASL_SSL listener (SCRAM-SHA-512)
#   EVENTGATE_TEST_KAFKA_CA             PEM file of the CA that signed the broker certificate
#   EVENTGATE_TEST_KAFKA_SASL_USERNAME, EVENTGATE_TEST_KAFKA_SASL_PASSWORD
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIBS=${EVENTGATE_KAFKA_LIBS:-$ROOT/.cache/kafka/libs}
START_TIMEOUT=${EVENTGATE_KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=20
# Serial GC and C1 only: the broker starts faster and idles lighter on a
# 2-core CI machine; test traffic is far below what needs C2.
JAVA_OPTS=${EVENTGATE_KAFKA_JAVA_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}
# Written into every folder this script starts a broker in: stop removes only such folders.
MARKER=.eventgate-kafka

die() {
  echo "broker.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

fetch() {
  local stamp tmp
  stamp=$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)
  mkdir -p "$(dirname "$LIBS")"
  # Two test runs fetching at once must not see each other's half-copied folder.
  exec 9>"$LIBS.lock"
  flock 9
  if [[ -f $LIBS/.complete && $(<"$LIBS/.complete") == "$stamp" ]]; then
    exec 9>&-
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is not installed (apt-get install maven)"
  tmp=$LIBS.tmp.$$
  rm -rf "$tmp"
  echo "broker.sh: fetching the Kafka broker jars with mvn into $LIBS" >&2
  if ! mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2; then
    rm -rf "$tmp"
    die "mvn could not fetch the Kafka broker jars (see above)"
  fi
  echo "$stamp" >"$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  exec 9>&-
}

# Prints N distinct free TCP ports on 127.0.0.1, one per line. The ports are
# free when chosen; the broker binds them a second later, which is a race
# only with other processes picking ports the same instant.
free_ports() {
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const servers = Array.from({ length: n }, () => net.createServer());
    let left = n;
    for (const s of servers) s.listen(0, "127.0.0.1", () => {
      if (--left) return;
      console.log(servers.map((x) => x.address().port).join("\n"));
      for (const x of servers) x.close();
    });' "$1"
}

write_properties() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# Written by test/kafka/broker.sh: a single throwaway node, never for production.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
EOF
}

# The user the SASL_SSL listener knows (its password is made per start).
SASL_USER=eventgate

# Makes DIR/tls: a CA (ca.pem) and a broker certificate it signed for
# 127.0.0.1 and localhost (broker.pem: PKCS#8 key and certificate, the PEM
# keystore Kafka reads). EC P-256 keys: made in milliseconds, unlike RSA.
make_tls() {
  local tls=$1/tls
  mkdir -p "$tls"
  (
    cd "$tls"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -days 7 \
      -subj '/CN=eventgate test CA' -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
      -subj '/CN=127.0.0.1' -keyout broker.key -out broker.csr 2>/dev/null
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 7 -extfile broker.ext -out broker.crt 2>/dev/null
    cat broker.key broker.crt >broker.pem
    rm -f broker.csr broker.ext broker.key ca.key
  ) || die "openssl could not make the test CA and broker certificate in $tls"
}

# Adds the SSL and SASL_SSL listeners to DIR/server.properties (written by
# write_properties). Clients authenticate on SASL_SSL only: the SSL listener
# asks for no client certificate.
write_security_properties() {
  local dir=$1 sslport=$2 saslport=$3
  sed -i \
    -e "s|^listeners=PLAINTEXT://\([^,]*\),|listeners=PLAINTEXT://\1,SSL://127.0.0.1:$sslport,SASL_SSL://127.0.0.1:$saslport,|" \
    -e "s|^advertised.listeners=.*|&,SSL://127.0.0.1:$sslport,SASL_SSL://127.0.0.1:$saslport|" \
    -e "s|^listener.security.protocol.map=.*|&,SSL:SSL,SASL_SSL:SASL_SSL|" \
    "$dir/server.properties"
  cat >>"$dir/server.properties" <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/broker.pem
ssl.client.auth=none
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
}

log_tail() {
  local dir=$1
  for f in "$dir/server.log" "$dir/stdout.log"; do
    if [[ -s $f ]]; then
      echo "--- last lines of $f:" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# Waits until the broker acknowledges a produced message (acks=all): the
# listener is up, the controller has elected itself, topics can be created.
# Gives up when the broker process exits or the deadline passes.
wait_ready() {
  local bootstrap=$1 pid=$2
  (cd "$ROOT" && node - "$bootstrap" "$pid" "$START_TIMEOUT" <<'JS'
const Kafka = require('node-rdkafka');
const [bootstrap, pidText, timeoutText] = process.argv.slice(2);
const pid = Number(pidText);
const deadline = Date.now() + Number(timeoutText) * 1000;

function alive() {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function attempt() {
  return new Promise((resolve) => {
    const left = Math.max(1000, deadline - Date.now());
    const producer = new Kafka.Producer({
      'metadata.broker.list': bootstrap,
      'dr_cb': true,
      'acks': 'all',
      'message.timeout.ms': Math.min(left, 15000),
      'reconnect.backoff.ms': 50,
      'reconnect.backoff.max.ms': 200,
      'socket.connection.setup.timeout.ms': 1000,
      'log.connection.close': false,
      'log_level': 0,
    });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      producer.setPollInterval(0);
      producer.disconnect(1000, () => resolve(ok));
      if (!producer.isConnected()) resolve(ok);
    };
    producer.on('delivery-report', (err) => finish(!err));
    producer.connect({ timeout: 1000 }, (err) => {
      if (err) { done = true; resolve(false); return; }
      producer.setPollInterval(20);
      try {
        producer.produce('eventgate-probe', null, Buffer.from('probe'));
      } catch {
        finish(false);
      }
    });
  });
}

(async () => {
  while (Date.now() < deadline) {
    if (!alive()) { console.error('broker.sh: the broker process exited'); process.exit(1); }
    if (await attempt()) process.exit(0);
    // A failed attempt already waited on its own connect or delivery timeout.
  }
  console.error('broker.sh: the broker did not accept a produce request within ' + timeoutText + ' s');
  process.exit(1);
})();
JS
  )
}

# Starts the broker of DIR (formatted, with server.properties) and waits until it is ready.
launch() {
  local dir=$1 pid
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
  java $JAVA_OPTS -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$HERE/log4j2.xml" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
  if ! wait_ready "$(<"$dir/bootstrap")" "$pid"; then
    log_tail "$dir"
    kill -KILL "$pid" 2>/dev/null || true
    die "the Kafka broker in $dir did not start"
  fi
}

# Stops the broker process of DIR, if any: TERM, then KILL after STOP_TIMEOUT.
terminate() {
  local dir=$1 pid deadline
  [[ -f $dir/pid ]] || return 0
  pid=$(<"$dir/pid")
  if kill -TERM "$pid" 2>/dev/null; then
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "broker.sh: broker $pid did not stop within $STOP_TIMEOUT s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/pid"
}

start() {
  local dir=${1:-}
  [[ -n $dir ]] || usage
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f $dir/pid ]] && kill -0 "$(<"$dir/pid")" 2>/dev/null; then
    die "a broker already runs from $dir (pid $(<"$dir/pid"))"
  fi
  touch "$dir/$MARKER"

  local ports port cport sslport saslport cluster_id bootstrap password
  ports=$(free_ports 4)
  port=${EVENTGATE_KAFKA_PORT:-$(sed -n 1p <<<"$ports")}
  cport=$(sed -n 2p <<<"$ports")
  sslport=$(sed -n 3p <<<"$ports")
  saslport=$(sed -n 4p <<<"$ports")
  bootstrap=127.0.0.1:$port
  write_properties "$dir" "$port" "$cport"
  make_tls "$dir"
  write_security_properties "$dir" "$sslport" "$saslport"
  password=$(openssl rand -hex 24)
  (
    umask 077
    cat >"$dir/security.env" <<EOF
EVENTGATE_TEST_KAFKA_SSL=127.0.0.1:$sslport
EVENTGATE_TEST_KAFKA_SASL_SSL=127.0.0.1:$saslport
EVENTGATE_TEST_KAFKA_CA=$dir/tls/ca.pem
EVENTGATE_TEST_KAFKA_SASL_USERNAME=$SASL_USER
EVENTGATE_TEST_KAFKA_SASL_PASSWORD=$password
EOF
  )

  # A random cluster id without a JVM start of its own (StorageTool random-uuid
  # takes a second): 16 random bytes in base64url, as Uuid.toString writes
  # them, and, as Uuid.randomUuid, none that starts with '-' (an option to the tool).
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')
  done
  # SCRAM credentials are metadata records: added at format time, before any
  # controller runs (the password is in the command line of this short-lived
  # process only, on a machine of tests).
  if ! java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$password]" \
    >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    die "formatting the broker storage in $dir failed"
  fi

  echo "$bootstrap" >"$dir/bootstrap"
  launch "$dir"

  if [[ -n ${EVENTGATE_KAFKA_OWNER_PID:-} ]]; then
    # Lives until `stop` removes DIR or ends it; if the owner dies first, it
    # stops the broker itself. Ignores INT and HUP so that a Ctrl-C which kills
    # the owner leaves it to clean up; its output goes nowhere so that
    # whoever ran `start` does not wait on its pipes.
    (
      trap '' INT HUP
      while kill -0 "$EVENTGATE_KAFKA_OWNER_PID" 2>/dev/null && [[ -d $dir ]]; do
        sleep 1
      done
      if [[ -d $dir ]]; then
        rm -f "$dir/watchdog.pid"
        stop "$dir"
      fi
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/watchdog.pid"
    disown
  fi
  echo "$bootstrap"
}

stop() {
  local dir=${1:-}
  [[ -n $dir ]] || usage
  [[ -d $dir ]] || return 0
  [[ -f $dir/$MARKER ]] || die "$dir was not made by broker.sh start: not removing it"
  if [[ -f $dir/watchdog.pid ]]; then
    kill "$(<"$dir/watchdog.pid")" 2>/dev/null || true
  fi
  terminate "$dir"
  rm -rf "$dir"
}

own_dir() {
  local dir=${1:-}
  [[ -n $dir ]] || usage
  [[ -f $dir/$MARKER && -f $dir/server.properties ]] || die "$dir holds no broker of broker.sh start"
}

halt() {
  own_dir "${1:-}"
  terminate "$1"
}

resume() {
  own_dir "${1:-}"
  local dir
  dir=$(cd "$1" && pwd)
  if [[ -f $dir/pid ]] && kill -0 "$(<"$dir/pid")" 2>/dev/null; then
    die "the broker of $dir is running"
  fi
  launch "$dir"
  echo "$(<"$dir/bootstrap")"
}

run() {
  local dir pid
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eventgate-kafka.XXXXXX")
  trap 'stop "$dir"' EXIT
  trap 'echo "broker.sh: stopping" >&2; exit 0' INT TERM
  # In this shell, not a $(subshell): the broker must be this shell's child for `wait`.
  start "$dir" >/dev/null
  pid=$(<"$dir/pid")
  echo "Kafka broker ready at $(<"$dir/bootstrap") (pid $pid, logs in $dir/server.log). Ctrl-C stops it."
  echo "Its SSL and SASL_SSL (SCRAM-SHA-512) listeners, for EVENTGATE_TEST_KAFKA=$(<"$dir/bootstrap") npm test:"
  sed 's/^/export /' "$dir/security.env"
  # `wait` returns when the broker exits, or lets the INT/TERM trap run.
  wait "$pid" || true
  echo "broker.sh: the broker exited on its own" >&2
  log_tail "$dir"
  exit 1
}

# Sourced (by cluster.sh, for its functions), it defines and does nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    fetch) fetch ;;
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    halt) halt "${2:-}" ;;
    resume) resume "${2:-}" ;;
    run) run ;;
    *) usage ;;
  esac
fi
