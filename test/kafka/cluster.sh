#!/usr/bin/env bash
# A replicated Apache Kafka cluster for tests and development: three nodes,
# each broker+controller in KRaft mode, on 127.0.0.1, on free ports, from the
# jars of broker.sh fetch, with their data in a throwaway folder. Topics get
# replication factor 3 and min.insync.replicas=2, and the timeouts are short
# so that a failover takes seconds.
#
#   cluster.sh start DIR         format and start the three nodes in DIR/node1..3; returns once
#                                the cluster takes acks=all produce requests; prints the
#                                bootstrap list (also in DIR/bootstrap)
#   cluster.sh stop DIR          stop every node (paused ones too) and remove DIR
#   cluster.sh kill DIR N        kill -9 node N (its data and ports stay for restart)
#   cluster.sh pause DIR N       SIGSTOP node N: it hangs, its connections stay open
#   cluster.sh cont DIR N        SIGCONT node N
#   cluster.sh restart DIR N     stop node N gracefully if it runs (kill -9'd is fine too),
#                                start it on the same ports and data; returns once every
#                                partition of every topic has all its replicas in sync
#   cluster.sh insync DIR [TOPIC]  wait until every partition (of TOPIC) has all replicas in sync
#   cluster.sh leader DIR TOPIC [PARTITION]  print the node id leading the partition (default 0)
#   cluster.sh run               start in the foreground (npm run kafka:cluster) until Ctrl-C
#
# Environment:
#   EVENTGATE_KAFKA_CLUSTER_PORT       fixed PLAINTEXT port of node 1; nodes 2 and 3 take the
#                                      next two (default: free ones)
#   EVENTGATE_KAFKA_CLUSTER_JAVA_OPTS  JVM options of each node (default: small heap, C1 only)
#   EVENTGATE_KAFKA_OWNER_PID          start: stop the cluster and remove DIR when this process
#                                      is gone (a test run killed before its teardown)
#   EVENTGATE_KAFKA_START_TIMEOUT      seconds start and restart wait (default 120)
#   EVENTGATE_KAFKA_LIBS               jar folder (default .cache/kafka/libs)
set -euo pipefail

# fetch, free_ports, wait_ready, log_tail, terminate, LIBS, HERE, ROOT, MARKER.
# shellcheck source=broker.sh
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

SELF=${BASH_SOURCE[0]}
NODES=3
# Three JVMs on a 2-core machine: serial GC, C1 only, a small heap each.
CLUSTER_JAVA_OPTS=${EVENTGATE_KAFKA_CLUSTER_JAVA_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=64m -Djava.awt.headless=true}

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,28p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

write_node_properties() {
  local dir=$1 id=$2 port=$3 cport=$4 voters=$5
  cat >"$dir/node$id/server.properties" <<EOF
# Written by test/kafka/cluster.sh: node $id of a throwaway 3-node cluster, never for production.
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/node$id/data
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
# Failover in seconds, not the defaults' 9 s (session) to 30 s (ISR shrink):
# a dead broker is fenced after broker.session.timeout.ms, a dead controller
# leader replaced after controller.quorum.fetch.timeout.ms, a silent follower
# leaves the ISR after replica.lag.time.max.ms.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
controller.quorum.election.timeout.ms=1000
controller.quorum.fetch.timeout.ms=2000
controller.quorum.election.backoff.max.ms=500
controller.quorum.request.timeout.ms=1500
replica.lag.time.max.ms=3000
replica.fetch.wait.max.ms=200
replica.fetch.backoff.ms=200
replica.socket.timeout.ms=3000
# A restarted node takes its partitions back soon, as a rolling restart expects.
leader.imbalance.check.interval.seconds=5
EOF
}

node_dir() {
  local dir=$1 id=${2:-}
  [[ $id =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3, not '$id'"
  echo "$dir/node$id"
}

own_cluster() {
  local dir=${1:-}
  [[ -n $dir ]] || usage
  [[ -f $dir/$MARKER && -f $dir/bootstrap ]] || die "$dir holds no cluster of cluster.sh start"
}

# Starts the JVM of node DIR/nodeN in the background; does not wait (a node
# alone is not ready: topics need three brokers).
launch_node() {
  local ndir=$1 pid
  # shellcheck disable=SC2086 # CLUSTER_JAVA_OPTS is a list of options
  java $CLUSTER_JAVA_OPTS -Dkafka.logs.dir="$ndir" -Dlog4j2.configurationFile="$HERE/log4j2.xml" \
    -cp "$LIBS/*" kafka.Kafka "$ndir/server.properties" \
    </dev/null >>"$ndir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$ndir/pid"
}

# Alive and not a zombie: a node outlives the shell that started it, and
# whoever inherited it may reap it late.
running() {
  local state
  state=$(sed -n 's/^[^)]*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

node_pid() {
  local ndir=$1
  [[ -f $ndir/pid ]] || die "node $ndir is not running (no pid file)"
  cat "$ndir/pid"
}

# Metadata questions to the cluster, through librdkafka as eventgate sees it:
#   insync BOOTSTRAP TOPIC|''   exit 0 once every partition (of TOPIC, else of all topics)
#                               has a leader and all its replicas in the ISR
#   leader BOOTSTRAP TOPIC P    print the leader's node id
#   out BOOTSTRAP '' N          exit 0 once node N is in no ISR (the controller fenced it)
probe() {
  (cd "$ROOT" && node - "$START_TIMEOUT" "$@" <<'JS'
const Kafka = require('node-rdkafka');
const [timeoutText, mode, bootstrap, topic, partitionText] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutText) * 1000;
const client = new Kafka.Producer({
  'metadata.broker.list': bootstrap,
  'reconnect.backoff.ms': 50,
  'reconnect.backoff.max.ms': 200,
  'socket.connection.setup.timeout.ms': 1000,
  'log.connection.close': false,
  'log_level': 0,
});

function metadata() {
  return new Promise((resolve) => {
    client.getMetadata({ topic: topic || undefined, allTopics: !topic, timeout: 2000 }, (err, data) => resolve(err ? undefined : data));
  });
}

function answer(data) {
  const topics = (data?.topics ?? []).filter((t) => !topic || t.name === topic);
  if (topics.length === 0 || topics.some((t) => t.partitions.length === 0)) return undefined;
  if (mode === 'leader') {
    const p = topics[0].partitions.find((x) => x.id === Number(partitionText || 0));
    return p && p.leader >= 0 ? String(p.leader) : undefined;
  }
  if (mode === 'out') {
    // Fenced: the controller has taken the node out of every ISR.
    return topics.every((t) => t.partitions.every((p) => !p.isrs.includes(Number(partitionText)))) ? 'out' : undefined;
  }
  const complete = topics.every((t) => t.partitions.every((p) => p.leader >= 0 && p.replicas.length > 0 && p.isrs.length === p.replicas.length));
  return complete ? 'in sync' : undefined;
}

client.connect({ timeout: Math.max(1000, deadline - Date.now()) }, async (err) => {
  if (err) { console.error('cluster.sh: cannot reach the cluster at ' + bootstrap); process.exit(1); }
  for (;;) {
    const found = answer(await metadata());
    if (found !== undefined) {
      if (mode === 'leader') console.log(found);
      process.exit(0);
    }
    if (Date.now() > deadline) {
      console.error(`cluster.sh: ${mode} ${topic || '(all topics)'}: no answer within ${timeoutText} s`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});
JS
  )
}

start() {
  local dir=${1:-}
  [[ -n $dir ]] || usage
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ ! -f $dir/bootstrap ]] || die "$dir already holds a cluster"
  touch "$dir/$MARKER"

  local ports voters="" bootstrap="" id cluster_id base
  ports=$(free_ports $((2 * NODES)))
  base=${EVENTGATE_KAFKA_CLUSTER_PORT:-}
  for id in 1 2 3; do
    local port cport
    port=${base:+$((base + id - 1))}
    port=${port:-$(sed -n "${id}p" <<<"$ports")}
    cport=$(sed -n "$((NODES + id))p" <<<"$ports")
    mkdir -p "$dir/node$id"
    touch "$dir/node$id/$MARKER"
    echo "$port $cport" >"$dir/node$id/ports"
    voters+="${voters:+,}$id@127.0.0.1:$cport"
    bootstrap+="${bootstrap:+,}127.0.0.1:$port"
  done
  for id in 1 2 3; do
    read -r port cport <"$dir/node$id/ports"
    write_node_properties "$dir" "$id" "$port" "$cport" "$voters"
  done

  cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)
  local pids=()
  for id in 1 2 3; do
    java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/node$id/server.properties" >"$dir/node$id/format.log" 2>&1 &
    pids+=($!)
  done
  for id in 1 2 3; do
    if ! wait "${pids[$((id - 1))]}"; then
      cat "$dir/node$id/format.log" >&2
      die "formatting the storage of node $id in $dir failed"
    fi
  done

  echo "$bootstrap" >"$dir/bootstrap"
  for id in 1 2 3; do launch_node "$dir/node$id"; done
  # A produce with acks=all to an auto-created topic (replication factor 3)
  # succeeds only once all three brokers have registered.
  if ! wait_ready "$bootstrap" "$(<"$dir/node1/pid")" || ! probe insync "$bootstrap" ''; then
    for id in 1 2 3; do log_tail "$dir/node$id"; done
    stop "$dir"
    die "the Kafka cluster in $dir did not start"
  fi

  if [[ -n ${EVENTGATE_KAFKA_OWNER_PID:-} ]]; then
    # As broker.sh's watchdog: ignores INT and HUP, output nowhere, stops the
    # cluster when the owner is gone before `stop`.
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
  local dir=${1:-} id
  [[ -n $dir ]] || usage
  [[ -d $dir ]] || return 0
  [[ -f $dir/$MARKER ]] || die "$dir was not made by cluster.sh start: not removing it"
  if [[ -f $dir/watchdog.pid ]]; then
    kill "$(<"$dir/watchdog.pid")" 2>/dev/null || true
  fi
  for id in 1 2 3; do
    # A paused node would sit out the whole TERM timeout.
    [[ -f $dir/node$id/pid ]] && kill -CONT "$(<"$dir/node$id/pid")" 2>/dev/null || true
  done
  # Killed, not stopped gracefully: the data goes too, and a controlled
  # shutdown of the last nodes of a quorum waits for a quorum that is leaving.
  for id in 1 2 3; do
    [[ -f $dir/node$id/pid ]] && kill -KILL "$(<"$dir/node$id/pid")" 2>/dev/null || true
  done
  for id in 1 2 3; do
    if [[ -f $dir/node$id/pid ]]; then
      local pid
      pid=$(<"$dir/node$id/pid")
      while running "$pid"; do sleep 0.05; done
    fi
  done
  rm -rf "$dir"
}

kill_node() {
  own_cluster "$1"
  local ndir pid
  ndir=$(node_dir "$1" "${2:-}")
  pid=$(node_pid "$ndir")
  kill -KILL "$pid" 2>/dev/null || true
  while running "$pid"; do sleep 0.02; done
  rm -f "$ndir/pid"
}

signal_node() {
  own_cluster "$1"
  local ndir
  ndir=$(node_dir "$1" "${2:-}")
  kill "-$3" "$(node_pid "$ndir")"
}

restart_node() {
  own_cluster "$1"
  local dir ndir
  dir=$(cd "$1" && pwd)
  ndir=$(node_dir "$dir" "${2:-}")
  if [[ -f $ndir/pid ]]; then
    kill -CONT "$(<"$ndir/pid")" 2>/dev/null || true
    terminate "$ndir"
  fi
  # Until the controller has fenced the old process (broker.session.timeout.ms
  # after a kill -9), the ISRs still list the node and "in sync" below would
  # be true before the new process has fetched anything.
  probe out "$(<"$dir/bootstrap")" '' "$2" || die "node $2 of $dir is still in the ISRs after it stopped"
  launch_node "$ndir"
  # Once the node is back in every ISR it has caught up: the next node may go.
  if ! probe insync "$(<"$dir/bootstrap")" ''; then
    log_tail "$ndir"
    die "node $2 of $dir did not come back in sync"
  fi
}

run() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eventgate-kafka-cluster.XXXXXX")
  trap 'stop "$dir"' EXIT
  trap 'echo "cluster.sh: stopping" >&2; exit 0' INT TERM
  start "$dir" >/dev/null
  echo "Kafka cluster ready at $(<"$dir/bootstrap") (data and logs in $dir/node1..3). Ctrl-C stops it."
  # Returns when any node exits, or lets the INT/TERM trap run.
  wait -n "$(<"$dir/node1/pid")" "$(<"$dir/node2/pid")" "$(<"$dir/node3/pid")" || true
  echo "cluster.sh: a node exited on its own" >&2
  for id in 1 2 3; do log_tail "$dir/node$id"; done
  exit 1
}

case ${1:-} in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  kill) kill_node "${2:-}" "${3:-}" ;;
  pause) signal_node "${2:-}" "${3:-}" STOP ;;
  cont) signal_node "${2:-}" "${3:-}" CONT ;;
  restart) restart_node "${2:-}" "${3:-}" ;;
  insync)
    own_cluster "${2:-}"
    probe insync "$(<"$2/bootstrap")" "${3:-}"
    ;;
  leader)
    own_cluster "${2:-}"
    [[ -n ${3:-} ]] || usage
    probe leader "$(<"$2/bootstrap")" "$3" "${4:-0}"
    ;;
  run) run ;;
  *) usage ;;
esac
