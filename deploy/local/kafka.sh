#!/usr/bin/env bash
# Real single-node Apache Kafka 3.9 (KRaft) from the official jars on Maven Central, run with the machine's Java.
#   kafka.sh start   resolve jars (once), format storage (once), start the broker, wait until it answers
#   kafka.sh stop    stop the broker started here
#   kafka.sh status  exit 0 when a broker answers on 127.0.0.1:9092
# Idempotent: a second start finds the running broker. If KAFKA_BROKERS is set, that cluster is used and nothing starts.
# A second, throwaway broker (tests that replace the broker): KAFKA_DATA_DIR, KAFKA_PORT, KAFKA_CONTROLLER_PORT and
# KAFKA_CLUSTER_ID choose its data, ports and cluster id (KAFKA_BROKERS must then be unset for this script).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
libs="$root/.cache/kafka-libs"
data="${KAFKA_DATA_DIR:-$root/.data/kafka}"
pidfile="$data/kafka.pid"
logfile="$data/kafka.log"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
# base64url of 16 bytes, as Kafka requires; fixed so formatting is reproducible — so a reset broker has the same id, and
# the services recognise a new log by its messages, not by the cluster id (libs/event-bus README).
cluster_id="${KAFKA_CLUSTER_ID:-cHVzaFJlYWNoTG9jYWwxMQ}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
running_pid() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

resolve_jars() {
  if [[ -f "$libs/.complete" ]]; then return; fi
  echo "kafka: resolving Apache Kafka jars from Maven Central into .cache/kafka-libs (once)"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

java_opts() {
  echo "-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j.configuration=file:$here/log4j.properties -Dkafka.logs.dir=$data/logs"
}

# The checked-in server.properties plus the one machine-specific line: where the data lives.
write_config() {
  mkdir -p "$data/logs-kraft" "$data/logs"
  {
    cat "$here/server.properties"
    echo "log.dirs=$data/logs-kraft"
    if [[ "$port" != 9092 || "$controller_port" != 9093 ]]; then
      echo "controller.quorum.voters=1@127.0.0.1:$controller_port"
      echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    fi
  } >"$data/server.properties"
}

format_storage() {
  if [[ -f "$data/logs-kraft/meta.properties" ]]; then return; fi
  # shellcheck disable=SC2046
  java $(java_opts) -cp "$libs/*" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$data/server.properties" >/dev/null
}

start() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then echo "kafka: KAFKA_BROKERS=$KAFKA_BROKERS is set, using that cluster"; return; fi
  if pid=$(running_pid) && answers; then echo "kafka: already running (pid $pid) on 127.0.0.1:$port"; return; fi
  if answers; then echo "kafka: a broker already answers on 127.0.0.1:$port, using it"; return; fi
  command -v java >/dev/null || { echo "kafka: java not found (Java 17 is needed)" >&2; exit 1; }
  resolve_jars
  write_config
  format_storage
  echo "kafka: starting Apache Kafka $(ls "$libs" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p') (KRaft) on 127.0.0.1:$port, data in ${data#"$root"/}"
  # shellcheck disable=SC2046
  nohup java $(java_opts) -cp "$libs/*" kafka.Kafka "$data/server.properties" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then echo "kafka: up"; return; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "kafka: broker exited, last log lines:" >&2; tail -n 30 "$logfile" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka: did not answer within 60 s; see $logfile" >&2; exit 1
}

stop() {
  if ! pid=$(running_pid); then echo "kafka: not running (started here)"; rm -f "$pidfile"; return; fi
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka: stopped"; return; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"; echo "kafka: killed after 30 s"
}

status() {
  if answers; then echo "kafka: answering on 127.0.0.1:$port${pid:+ (pid $pid)}"; else echo "kafka: not running"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid=$(running_pid || true); status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
