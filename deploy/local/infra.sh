#!/usr/bin/env bash
# Starts, stops and reports the local infrastructure without Docker:
#   an Apache Kafka broker (KRaft, single node, SASL and ACLs) on 127.0.0.1:9092, jars from Maven Central, and
#   FerretDB v1.24 on 127.0.0.1:27017, built from deploy/local/ferretdb via the Go proxy, storing in
#   Debian's PostgreSQL 15 on 127.0.0.1:5433 (EKSPORA_STORE=sqlite: in SQLite files instead, which
#   serve no query but by _id from an index; kept for before/after measurements).
# Data, logs and pids live in .local/ (git-ignored). Usage: infra.sh up|down|status|crash kafka|store
# (crash: SIGKILL the broker, or FerretDB and PostgreSQL at once, for fault tests; `up` restarts them)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE="$ROOT/.local"
PY="$ROOT/.venv/bin/python"
KAFKA_PORT=${EKSPORA_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${EKSPORA_KAFKA_CONTROLLER_PORT:-9093}
MONGO_PORT=${EKSPORA_MONGO_PORT:-27017}
POSTGRES_PORT=${EKSPORA_POSTGRES_PORT:-5433}
STORE=${EKSPORA_STORE:-postgresql}
PG_BIN=${EKSPORA_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
KAFKA_HEAP=${EKSPORA_KAFKA_HEAP:--Xmx512m -Xms256m}

say() { printf '[infra] %s\n' "$*"; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

probe() { "$PY" "$ROOT/deploy/local/probe.py" "$@"; }

wait_until() {  # wait_until <what> <seconds> <log> <command...>
  local what=$1 limit=$2 log=$3; shift 3
  local waited=0
  until "$@" >/dev/null 2>&1; do
    sleep 1; waited=$((waited + 1))
    if [ $((waited % 10)) -eq 0 ]; then say "  still waiting for $what (${waited}s)"; fi
    if [ "$waited" -ge "$limit" ]; then
      say "last lines of $log:"; tail -n 20 "$log" >&2 || true
      die "$what did not answer within ${limit}s"
    fi
  done
}

already_running() {  # already_running <name> <probe kind> <port> <pidfile>: reuse what answers, refuse a squatter
  local name=$1 kind=$2 port=$3 pidf=$4
  if probe "$kind" "127.0.0.1:$port" >/dev/null 2>&1; then
    if pid_alive "$pidf"; then say "$name already running (pid $(cat "$pidf")), reusing it"
    else say "a $kind server not started by this script answers on :$port, reusing it"; fi
    return 0
  fi
  port_open "$port" && die "port $port is taken by something that does not answer as $kind"
  return 1
}

ensure_python() {
  [ -x "$PY" ] || die "no virtualenv at .venv: run deploy/local/python-env.sh first"
}

resolve_kafka() {
  local libs="$STATE/kafka/libs" stamp="$STATE/kafka/libs.pom.sha256"
  local want; want=$(sha256sum "$ROOT/deploy/local/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to resolve the Kafka jars"
  say "resolving Kafka jars from Maven Central (first run only) ..."
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -B -q -Dstyle.color=never -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  say "  $(ls "$libs" | wc -l) jars in .local/kafka/libs"
  echo "$want" >"$stamp"
}

build_ferretdb() {
  local bin="$STATE/ferretdb/ferretdb" stamp="$STATE/ferretdb/src.sha256"
  local want; want=$(cat "$ROOT"/deploy/local/ferretdb/{main.go,go.mod,go.sum} | sha256sum | cut -d' ' -f1)
  if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  command -v go >/dev/null || die "Go is needed to build FerretDB"
  say "building FerretDB v1.24 through the Go module proxy (first run only, about a minute) ..."
  mkdir -p "$STATE/ferretdb"
  (cd "$ROOT/deploy/local/ferretdb" && go build -o "$bin" .)
  echo "$want" >"$stamp"
}

new_password() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }

kafka_credentials() {  # the administrator's and the services' passwords, made once, kept in .local/kafka
  local file="$STATE/kafka/credentials.env"
  mkdir -p "$STATE/kafka"
  if [ ! -f "$file" ]; then
    (umask 077; {
      echo "EKSPORA_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
      echo "EKSPORA_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
      echo "EKSPORA_KAFKA_USERNAME=admin"
      echo "EKSPORA_KAFKA_PASSWORD=$(new_password)"
    } >"$file")
  fi
  for service in REGISTRY MATCHING SHIPPING NOTIFICATIONS IDENTITY CONSOLE; do  # a service added later gets one too
    grep -q "^EKSPORA_KAFKA_PASSWORD_$service=" "$file" || echo "EKSPORA_KAFKA_PASSWORD_$service=$(new_password)" >>"$file"
  done
  set -a; . "$file"; set +a
}

bus_logins() {  # SCRAM logins for the administrator and every service (again on reuse: a service may be new)
  EKSPORA_KAFKA_SASL_MECHANISM=PLAIN "$PY" -m ekspora_kit.provision services 2>/dev/null >/dev/null \
    || die "could not give the services their Kafka logins (is .local/kafka/credentials.env the broker's?)"
}

start_kafka() {
  local dir="$STATE/kafka" pidf="$STATE/kafka/kafka.pid"
  kafka_credentials
  already_running Kafka kafka "$KAFKA_PORT" "$pidf" && { bus_logins; return; }
  port_open "$KAFKA_CONTROLLER_PORT" && die "controller port $KAFKA_CONTROLLER_PORT is already taken"
  resolve_kafka
  mkdir -p "$dir/data" "$dir/logs"
  (umask 077; sed -e "s#@DATA@#$dir/data#" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CPORT@#$KAFKA_CONTROLLER_PORT#g" \
    -e "s#@ADMIN_PASSWORD@#$EKSPORA_KAFKA_PASSWORD#g" \
    "$ROOT/deploy/local/kafka/server.properties.in" >"$dir/server.properties")
  sed -e "s#@LOGS@#$dir/logs#" "$ROOT/deploy/local/kafka/log4j2.properties.in" >"$dir/log4j2.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    say "formatting Kafka storage (KRaft, standalone controller)"
    local cluster; cluster=$(java -cp "$dir/libs/*" kafka.tools.StorageTool random-uuid)
    java -cp "$dir/libs/*" kafka.tools.StorageTool format -t "$cluster" \
      -c "$dir/server.properties" --standalone -g >"$dir/logs/format.log" 2>&1
  fi
  say "starting Kafka 4.0 broker on 127.0.0.1:$KAFKA_PORT"
  # shellcheck disable=SC2086
  setsid java $KAFKA_HEAP -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$dir/libs/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/logs/stdout.log" 2>&1 &
  echo $! >"$pidf"
  # the administrator's PLAIN login exists from the start; it then gives itself and the services SCRAM ones
  EKSPORA_KAFKA_SASL_MECHANISM=PLAIN wait_until "Kafka metadata" 90 "$dir/logs/stdout.log" \
    probe kafka "127.0.0.1:$KAFKA_PORT"
  bus_logins
  say "Kafka ready (SASL: the administrator and the services; credentials in .local/kafka/credentials.env)"
}

as_postgres() {  # PostgreSQL refuses to run as root: run its tools as Debian's postgres user then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT"; }

start_postgres() {
  local dir="$STATE/postgres"
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is needed (Debian: apt-get install postgresql-15)"
  if postgres_answers; then say "PostgreSQL already answers on :$POSTGRES_PORT, reusing it"; return; fi
  port_open "$POSTGRES_PORT" && die "port $POSTGRES_PORT is taken by something that does not answer as PostgreSQL"
  mkdir -p "$dir/run" "$dir/logs"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "creating the PostgreSQL cluster in .local/postgres/data"
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U ekspora --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/logs/initdb.log" 2>&1 || { tail -n 20 "$dir/logs/initdb.log" >&2; die "initdb failed"; }
  fi
  say "starting PostgreSQL on 127.0.0.1:$POSTGRES_PORT"
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/logs/postgres.log" -s -w -t 60 start \
    -o "-p $POSTGRES_PORT -k $dir/run -c listen_addresses=127.0.0.1" </dev/null >/dev/null 2>&1 \
    || { tail -n 20 "$dir/logs/postgres.log" >&2; die "PostgreSQL did not start"; }
  if ! as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U ekspora -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1; then
    as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U ekspora ferretdb
  fi
  # GIN twins of FerretDB's indexes, which its @> queries can use (see the file)
  as_postgres "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRES_PORT" -U ekspora -d ferretdb \
    -c "SET client_min_messages = warning" -f - <"$ROOT/deploy/local/postgres/gin-twins.sql" >/dev/null
  say "PostgreSQL ready"
}

stop_postgres() {
  local data="$STATE/postgres/data"
  if [ ! -f "$data/postmaster.pid" ]; then say "PostgreSQL not running"; return; fi
  say "stopping PostgreSQL (pid $(head -n 1 "$data/postmaster.pid"))"
  as_postgres "$PG_BIN/pg_ctl" -D "$data" -s -w -t 30 stop -m fast || say "  PostgreSQL did not stop cleanly"
}

start_ferretdb() {
  local dir="$STATE/ferretdb" pidf="$STATE/ferretdb/ferretdb.pid"
  already_running FerretDB mongo "$MONGO_PORT" "$pidf" && return
  build_ferretdb
  mkdir -p "$dir/data" "$dir/logs"
  local where=(-postgresql "postgres://ekspora@127.0.0.1:$POSTGRES_PORT/ferretdb") described="PostgreSQL"
  if [ "$STORE" = sqlite ]; then where=(-data "$dir/data"); described="SQLite in .local/ferretdb/data"; fi
  say "starting FerretDB on 127.0.0.1:$MONGO_PORT ($described)"
  setsid "$dir/ferretdb" -listen "127.0.0.1:$MONGO_PORT" "${where[@]}" \
    </dev/null >"$dir/logs/ferretdb.log" 2>&1 &
  echo $! >"$pidf"
  wait_until "FerretDB ping" 30 "$dir/logs/ferretdb.log" probe mongo "127.0.0.1:$MONGO_PORT"
  say "FerretDB ready"
}

stop_one() {  # stop_one <name> <pidfile>
  local name=$1 pidf=$2
  if ! pid_alive "$pidf"; then say "$name not running"; rm -f "$pidf"; return; fi
  local pid; pid=$(cat "$pidf")
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then say "  $name did not stop in 30s, killing"; kill -KILL "$pid" || true; fi
  rm -f "$pidf"
}

crash() {  # crash kafka|store: what a power cut does to the process, not a clean stop
  case "${1:-}" in
    kafka)
      pid_alive "$STATE/kafka/kafka.pid" || die "no Kafka started by this script is running"
      say "crashing Kafka (SIGKILL pid $(cat "$STATE/kafka/kafka.pid"))"
      kill -KILL "$(cat "$STATE/kafka/kafka.pid")"
      while pid_alive "$STATE/kafka/kafka.pid"; do sleep 0.1; done ;;
    store)
      pid_alive "$STATE/ferretdb/ferretdb.pid" || die "no FerretDB started by this script is running"
      say "crashing FerretDB (SIGKILL pid $(cat "$STATE/ferretdb/ferretdb.pid")) and PostgreSQL (immediate stop)"
      kill -KILL "$(cat "$STATE/ferretdb/ferretdb.pid")"
      while pid_alive "$STATE/ferretdb/ferretdb.pid"; do sleep 0.1; done
      if [ "$STORE" != sqlite ] && [ -f "$STATE/postgres/data/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" -s -w -t 30 stop -m immediate
      fi ;;
    *) die "usage: infra.sh crash kafka|store" ;;
  esac
}

status() {
  for pair in "Kafka:$STATE/kafka/kafka.pid:kafka:$KAFKA_PORT" "FerretDB:$STATE/ferretdb/ferretdb.pid:mongo:$MONGO_PORT"; do
    IFS=: read -r name pidf kind port <<<"$pair"
    local state="down"
    probe "$kind" "127.0.0.1:$port" >/dev/null 2>&1 && state="answering"
    local pid="-"; pid_alive "$pidf" && pid=$(cat "$pidf")
    printf '%-10s %-10s pid %-8s 127.0.0.1:%s\n' "$name" "$state" "$pid" "$port"
  done
  local pg="down" pgpid="-"
  postgres_answers && pg="answering"
  [ -f "$STATE/postgres/data/postmaster.pid" ] && pgpid=$(head -n 1 "$STATE/postgres/data/postmaster.pid")
  printf '%-10s %-10s pid %-8s 127.0.0.1:%s\n' PostgreSQL "$pg" "$pgpid" "$POSTGRES_PORT"
}

case "${1:-}" in
  up)
    ensure_python
    mkdir -p "$STATE"
    started=$(date +%s)
    [ "$STORE" = sqlite ] || start_postgres
    start_ferretdb
    start_kafka
    say "infrastructure up in $(( $(date +%s) - started ))s"
    ;;
  down)
    stop_one Kafka "$STATE/kafka/kafka.pid"
    stop_one FerretDB "$STATE/ferretdb/ferretdb.pid"
    stop_postgres
    ;;
  status) ensure_python; kafka_credentials; status ;;
  crash) crash "${2:-}" ;;
  *) echo "usage: $0 up|down|status|crash kafka|store" >&2; exit 2 ;;
esac
