#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: one process is both broker and controller) on 127.0.0.1, for
# the tests, the benchmarks and running the system against Kafka by hand.
#
#   bash scripts/kafka.sh start|stop|status|logs [-f]
#
# Environment:
#   KAFKA_PORT             broker port (default 9092)
#   KAFKA_CONTROLLER_PORT  controller port (default KAFKA_PORT+1)
#   KAFKA_DIR              data, config, pid file and logs (default .data/kafka)
#   KAFKA_LIB              the broker's jars (default .cache/kafka/lib; fetched from Maven Central
#                          with scripts/kafka/pom.xml when missing)
#   KAFKA_HEAP             JVM heap options (default -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to be ready (default 60)
#   KAFKA_OWNER_PID        if set, the broker is stopped as soon as that process is gone (tests and
#                          benchmarks set it, so a killed run leaves no broker behind)
#
# Exit codes: 0 ok; 1 failure (status: not running); 2 usage; 3 java missing; 4 jars unavailable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
DIR="$(absolute "${KAFKA_DIR:-$ROOT/.data/kafka}")"
LIB="$(absolute "${KAFKA_LIB:-$ROOT/.cache/kafka/lib}")"
HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT=30

PID_FILE="$DIR/kafka.pid"
SERVER_LOG="$DIR/server.log"
CONSOLE_LOG="$DIR/console.log"
CONFIG="$DIR/server.properties"
LOG4J="$DIR/log4j.properties"
DATA="$DIR/data"
READY_MESSAGE='Kafka Server started'

say() { printf 'kafka: %s\n' "$*"; }
fail() { printf 'kafka: %s\n' "$1" >&2; exit "${2:-1}"; }

require_java() {
  command -v java >/dev/null 2>&1 ||
    fail "java not found on PATH; Kafka needs a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)" 3
}

jars_present() { compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null && compgen -G "$LIB/kafka-tools-*.jar" >/dev/null; }

fetch_jars() {
  jars_present && return 0
  command -v mvn >/dev/null 2>&1 ||
    fail "the Kafka jars are not in $LIB and mvn is not installed to fetch them (apt-get install maven)" 4
  say "fetching the Kafka broker jars from Maven Central into $LIB (first run only)"
  mkdir -p "$LIB"
  mvn -B -q -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime ||
    fail "mvn could not fetch the Kafka jars (is Maven Central reachable?)" 4
  jars_present || fail "mvn ran but $LIB still has no Kafka jars" 4
}

# The pid in the pid file, if that process is alive and is our broker (a stale pid may be reused).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONFIG" || return 1
  printf '%s\n' "$pid"
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  mkdir -p "$DIR" "$DATA"
  cat >"$CONFIG" <<EOF
# Written by scripts/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:$CPORT
log.dirs=$DATA
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
EOF
  # Quiet: warnings and errors only, to a file; plus the one line that says the server is ready.
  cat >"$LOG4J" <<EOF
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$SERVER_LOG
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
EOF
}

kafka_java() { java -Dlog4j.configuration="file:$LOG4J" -cp "$LIB/*" "$@"; }

format_storage() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$CONSOLE_LOG" | tail -n 1)"
  [[ -n "$cluster_id" ]] || fail "could not generate a cluster id; see $CONSOLE_LOG"
  kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" >>"$CONSOLE_LOG" 2>&1 ||
    fail "formatting $DATA failed: $(tail -n 20 "$CONSOLE_LOG")"
  say "formatted $DATA (cluster id $cluster_id)"
}

show_tail() {
  printf '%s\n' '--- server.log (tail) ---' >&2
  tail -n 30 "$SERVER_LOG" 2>/dev/null >&2 || true
  printf '%s\n' '--- console.log (tail) ---' >&2
  tail -n 30 "$CONSOLE_LOG" 2>/dev/null >&2 || true
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_tail
      rm -f "$PID_FILE"
      fail "the broker exited during startup (logs in $DIR)"
    fi
    if port_answers "$PORT" && grep -q "$READY_MESSAGE" "$SERVER_LOG" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  show_tail
  stop_pid "$pid" >/dev/null
  fail "the broker was not ready on 127.0.0.1:$PORT within ${START_TIMEOUT}s (logs in $DIR)"
}

start() {
  require_java
  local pid
  if pid="$(running_pid)"; then
    say "already running (pid $pid) on 127.0.0.1:$PORT"
    return 0
  fi
  port_answers "$PORT" && fail "port $PORT is already in use by another process; set KAFKA_PORT"
  port_answers "$CPORT" && fail "port $CPORT is already in use by another process; set KAFKA_CONTROLLER_PORT"
  fetch_jars
  write_config
  : >"$CONSOLE_LOG"
  format_storage
  # The server log is truncated so that the ready line found below is from this start.
  : >"$SERVER_LOG"
  # shellcheck disable=SC2086 # HEAP holds several JVM options
  nohup java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$LOG4J" -cp "$LIB/*" kafka.Kafka "$CONFIG" >>"$CONSOLE_LOG" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  say "starting (pid $pid) on 127.0.0.1:$PORT, controller 127.0.0.1:$CPORT, data in $DIR"
  [[ -n "${KAFKA_OWNER_PID:-}" ]] && watch_owner "$KAFKA_OWNER_PID" "$pid"
  wait_ready "$pid"
  say "ready on 127.0.0.1:$PORT (brokers=127.0.0.1:$PORT)"
}

stop_pid() {
  local pid="$1" deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop within ${STOP_TIMEOUT}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
}

# Stops the broker once the owner process is gone. Detached from our output, so that whoever runs
# this script sees it finish.
watch_owner() {
  local owner="$1" pid="$2"
  nohup bash -c '
    while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
    if kill -0 "$2" 2>/dev/null; then
      kill -TERM "$2" 2>/dev/null
      for _ in $(seq 1 150); do kill -0 "$2" 2>/dev/null || exit 0; sleep 0.2; done
      kill -KILL "$2" 2>/dev/null
    fi
  ' kafka-owner-watch "$owner" "$pid" >/dev/null 2>&1 </dev/null &
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running (nothing to stop in $DIR)"
    return 0
  fi
  say "stopping (pid $pid)"
  stop_pid "$pid"
  say "stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if port_answers "$PORT"; then
      say "running (pid $pid) on 127.0.0.1:$PORT, data in $DIR"
      return 0
    fi
    say "process $pid is alive but 127.0.0.1:$PORT does not answer"
    return 1
  fi
  say "not running (data dir $DIR)"
  return 1
}

logs() {
  [[ -f "$SERVER_LOG" ]] || fail "no log yet at $SERVER_LOG"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$SERVER_LOG"
  fi
  tail -n 100 "$SERVER_LOG"
}

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) shift; logs "${1:-}" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
