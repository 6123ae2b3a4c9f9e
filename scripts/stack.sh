#!/usr/bin/env bash
# scripts/stack.sh — the dlake test stack: PostgreSQL 15 (dlake + pg_cron
# preloaded), s3rver and kinesalite, each behind a SigV4-verifying proxy, all
# on 127.0.0.1 with free ports, all state under one postgres-owned directory.
#
# usage: scripts/stack.sh start|stop|status|env|clean
#        scripts/stack.sh restart-pg            (also: stop-pg, start-pg)
#        scripts/stack.sh restart|stop-svc|start-svc NAME
#             NAME: pg | s3rver | s3proxy | kinesalite | kinesisproxy
#        scripts/stack.sh psql [psql args]      (psql on the test database)
#
# Environment:
#   DLAKE_STACK_DIR   state directory (default /tmp/dlake-stack)
#   DLAKE_PG_CONF     extra postgresql.conf lines appended at start
#   DLAKE_PG_ENV      extra "NAME=value" words for the server's environment
#   DLAKE_PRELOAD     shared_preload_libraries (default 'dlake,pg_cron'; only
#                     for debugging the harness while dlake.so cannot load)
#
# `start` writes $DLAKE_STACK_DIR/env.sh (export lines) and env.json; see
# docs/testing.md for every variable.  Every process is tracked by pid and
# `stop` ends them by pid only; it is idempotent.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
PGBIN=/usr/lib/postgresql/15/bin
HARNESS=$ROOT/test/harness
NODE=${NODE:-node}
REGION=us-east-1
DBNAME=dlake_test
SERVICES="s3rver s3proxy kinesalite kinesisproxy"

say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case "$DIR" in
	/*/*) ;;
	*) die "DLAKE_STACK_DIR must be an absolute path below a directory (got '$DIR')" ;;
esac
DIR=${DIR%/}

as_pg() { runuser -u postgres -- "$@"; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# json_get FILE KEY — one field of a small JSON file
json_get() {
	"$NODE" -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=o[process.argv[2]]; if (v!==undefined) process.stdout.write(String(v));' "$1" "$2" 2>/dev/null || true
}

free_port() {
	"$NODE" -e 'const s=require("net").createServer(); s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port)); s.close();});'
}

pg_pid() {
	[ -f "$DIR/pgdata/postmaster.pid" ] && head -1 "$DIR/pgdata/postmaster.pid" 2>/dev/null || true
}

svc_pid() { [ -f "$DIR/run/$1.json" ] && json_get "$DIR/run/$1.json" pid || true; }
svc_port() { [ -f "$DIR/run/$1.json" ] && json_get "$DIR/run/$1.json" port || true; }

# ---------------------------------------------------------------- node services

# start_svc NAME [PORT] — start one node service, wait for its ready file
start_svc() {
	local name=$1 port=${2:-0} ready="$DIR/run/$1.json" cmd
	case "$name" in
		s3rver)
			cmd=("$NODE" --openssl-legacy-provider "$HARNESS/s3rver.mjs" --port "$port" --dir "$DIR/s3") ;;
		kinesalite)
			cmd=("$NODE" "$HARNESS/kinesalite.mjs" --port "$port" --dir "$DIR/kinesis" --state-ms 50) ;;
		s3proxy)
			cmd=("$NODE" "$HARNESS/sigv4-proxy.mjs" --service s3 --port "$port" --region "$REGION"
				--upstream "http://127.0.0.1:$(svc_port s3rver)" --keys "$HARNESS/keys.json") ;;
		kinesisproxy)
			cmd=("$NODE" "$HARNESS/sigv4-proxy.mjs" --service kinesis --port "$port" --region "$REGION"
				--upstream "http://127.0.0.1:$(svc_port kinesalite)" --keys "$HARNESS/keys.json") ;;
		*) die "unknown service '$name'" ;;
	esac
	rm -f "$ready"
	# setsid: the services outlive this script and the terminal it ran in
	setsid "${cmd[@]}" --ready "$ready" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
	local i
	for i in $(seq 1 300); do
		[ -f "$ready" ] && return 0
		sleep 0.1
	done
	tail -20 "$DIR/logs/$name.log" >&2 || true
	die "$name did not start within 30 s (log: $DIR/logs/$name.log)"
}

stop_pid() {
	local pid=$1 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

stop_svc() {
	local pid
	pid=$(svc_pid "$1")
	stop_pid "$pid"
}

# ---------------------------------------------------------------- PostgreSQL

pg_env() {
	# The server gets a clean, predictable environment: no AWS_* variables
	# leak in from the caller, and HOME is a stack-private directory so that
	# tests of ~/.aws files do not touch the machine's postgres account.
	local extra=()
	if [ -n "${DLAKE_PG_ENV:-}" ]; then
		read -r -a extra <<<"$DLAKE_PG_ENV"
	fi
	echo env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME="$DIR/home" TZ=UTC "${extra[@]}"
}

init_pg() {
	local port=$1
	install -d -o postgres -g postgres -m 700 "$DIR/pgdata"
	as_pg $(pg_env) "$PGBIN/initdb" -D "$DIR/pgdata" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$DIR/logs/initdb.log" 2>&1 \
		|| { cat "$DIR/logs/initdb.log" >&2; die "initdb failed"; }
	# Create the test database before pg_cron starts looking for it.
	echo "CREATE DATABASE $DBNAME" | as_pg $(pg_env) "$PGBIN/postgres" --single -D "$DIR/pgdata" postgres \
		>>"$DIR/logs/initdb.log" 2>&1 || { cat "$DIR/logs/initdb.log" >&2; die "could not create database $DBNAME"; }
	cat >>"$DIR/pgdata/postgresql.conf" <<EOF

# ---- dlake test stack (scripts/stack.sh) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
shared_preload_libraries = '${DLAKE_PRELOAD:-dlake,pg_cron}'
cron.database_name = '$DBNAME'
dlake.database = '$DBNAME'
max_worker_processes = 16
max_connections = 100
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
include_if_exists = 'dlake_extra.conf'
EOF
	install -o postgres -g postgres -m 600 /dev/null "$DIR/pgdata/dlake_extra.conf"
	if [ -n "${DLAKE_PG_CONF:-}" ]; then
		printf '%s\n' "$DLAKE_PG_CONF" >>"$DIR/pgdata/postgresql.conf"
	fi
}

start_pg() {
	if alive "$(pg_pid)"; then
		return 0
	fi
	as_pg $(pg_env) "$PGBIN/pg_ctl" -D "$DIR/pgdata" -l "$DIR/logs/postgresql.log" -w -t 60 start >/dev/null \
		|| { tail -30 "$DIR/logs/postgresql.log" >&2; die "PostgreSQL did not start (log: $DIR/logs/postgresql.log)"; }
}

stop_pg() {
	local pid
	pid=$(pg_pid)
	alive "$pid" || return 0
	as_pg "$PGBIN/pg_ctl" -D "$DIR/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	alive "$pid" && { kill -QUIT "$pid" 2>/dev/null || true; sleep 1; }
	alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
	return 0
}

# Extra clusters made by test/lib/stack.mjs startExtraCluster() live under
# $DIR/extra/*; stop any that a crashed test left running.
stop_extra_clusters() {
	local d pid
	for d in "$DIR"/extra/*/pgdata; do
		[ -f "$d/postmaster.pid" ] || continue
		pid=$(head -1 "$d/postmaster.pid")
		alive "$pid" || continue
		as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 20 stop >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------- env files

write_env() {
	local keys=$HARNESS/keys.json
	DIR="$DIR" ROOT="$ROOT" REGION="$REGION" DBNAME="$DBNAME" KEYS="$keys" PGBIN="$PGBIN" \
	PG_PORT="$(json_get "$DIR/run/stack.json" pg_port)" PG_PID="$(pg_pid)" \
	S3RVER_PORT="$(svc_port s3rver)" S3RVER_PID="$(svc_pid s3rver)" \
	S3PROXY_PORT="$(svc_port s3proxy)" S3PROXY_PID="$(svc_pid s3proxy)" \
	KIN_PORT="$(svc_port kinesalite)" KIN_PID="$(svc_pid kinesalite)" \
	KPROXY_PORT="$(svc_port kinesisproxy)" KPROXY_PID="$(svc_pid kinesisproxy)" \
	"$NODE" -e '
const fs = require("fs");
const e = process.env;
const k = JSON.parse(fs.readFileSync(e.KEYS, "utf8"));
const s3 = `http://127.0.0.1:${e.S3PROXY_PORT}`;
const kin = `http://127.0.0.1:${e.KPROXY_PORT}`;
const env = {
  DLAKE_STACK_DIR: e.DIR,
  DLAKE_ROOT: e.ROOT,
  PGHOST: "127.0.0.1",
  PGPORT: e.PG_PORT,
  PGUSER: "postgres",
  PGDATABASE: e.DBNAME,
  DLAKE_PG_BIN: e.PGBIN,
  DLAKE_PG_DATA: `${e.DIR}/pgdata`,
  DLAKE_PG_LOG: `${e.DIR}/logs/postgresql.log`,
  DLAKE_PG_SOCKET_DIR: e.DIR,
  DLAKE_PG_HOME: `${e.DIR}/home`,
  DLAKE_PG_PID: e.PG_PID,
  DLAKE_REGION: e.REGION,
  DLAKE_S3_ENDPOINT: s3,
  DLAKE_S3_PROXY_ADMIN: `${s3}/__dlake`,
  DLAKE_S3_DIRECT: `http://127.0.0.1:${e.S3RVER_PORT}`,
  DLAKE_S3_DIR: `${e.DIR}/s3`,
  DLAKE_KINESIS_ENDPOINT: kin,
  DLAKE_KINESIS_PROXY_ADMIN: `${kin}/__dlake`,
  DLAKE_KINESIS_DIRECT: `http://127.0.0.1:${e.KIN_PORT}`,
  DLAKE_FILE_ROOT: `${e.DIR}/files`,
  DLAKE_TEST_ACCESS_KEY_ID: k.primary.accessKeyId,
  DLAKE_TEST_SECRET_ACCESS_KEY: k.primary.secretAccessKey,
  DLAKE_TEST2_ACCESS_KEY_ID: k.secondary.accessKeyId,
  DLAKE_TEST2_SECRET_ACCESS_KEY: k.secondary.secretAccessKey,
  DLAKE_TEST_SESSION_ACCESS_KEY_ID: k.session.accessKeyId,
  DLAKE_TEST_SESSION_SECRET_ACCESS_KEY: k.session.secretAccessKey,
  DLAKE_TEST_SESSION_TOKEN: k.session.sessionToken,
  DLAKE_S3RVER_PID: e.S3RVER_PID,
  DLAKE_S3_PROXY_PID: e.S3PROXY_PID,
  DLAKE_KINESALITE_PID: e.KIN_PID,
  DLAKE_KINESIS_PROXY_PID: e.KPROXY_PID,
};
const q = (v) => "\x27" + String(v).replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
fs.writeFileSync(`${e.DIR}/env.json.tmp`, JSON.stringify(env, null, 2) + "\n");
fs.renameSync(`${e.DIR}/env.json.tmp`, `${e.DIR}/env.json`);
fs.writeFileSync(`${e.DIR}/env.sh.tmp`,
  "# dlake test stack environment (scripts/stack.sh); source this file\n" +
  Object.entries(env).map(([n, v]) => `export ${n}=${q(v)}`).join("\n") + "\n");
fs.renameSync(`${e.DIR}/env.sh.tmp`, `${e.DIR}/env.sh`);
'
	chmod 644 "$DIR/env.json" "$DIR/env.sh"
}

# ---------------------------------------------------------------- commands

all_up() {
	[ -f "$DIR/env.json" ] || return 1
	alive "$(pg_pid)" || return 1
	local s
	for s in $SERVICES; do
		alive "$(svc_pid "$s")" || return 1
	done
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	local s
	for s in kinesisproxy s3proxy kinesalite s3rver; do
		stop_svc "$s"
	done
	stop_extra_clusters
	[ -d "$DIR/pgdata" ] && stop_pg
	rm -f "$DIR/env.sh" "$DIR/env.json"
	return 0
}

cmd_start() {
	command -v "$NODE" >/dev/null || die "node is not installed (run scripts/setup.sh)"
	[ -d "$ROOT/test/node_modules/s3rver" ] || die "test/node_modules is missing (run scripts/setup.sh)"
	[ -x "$PGBIN/postgres" ] || die "PostgreSQL 15 is not installed (run scripts/setup.sh)"
	local libdir
	libdir=$("$PGBIN/pg_config" --pkglibdir)
	[ -f "$libdir/dlake.so" ] || die "dlake is not installed in $libdir (run scripts/dev-install.sh or make install)"
	[ -f "$libdir/pg_cron.so" ] || die "pg_cron is not installed (apt-get install postgresql-15-cron)"

	if all_up; then
		say "already running in $DIR"
		return 0
	fi
	cmd_stop
	# Fresh state: remove only what this script creates.
	rm -rf "$DIR/pgdata" "$DIR/s3" "$DIR/kinesis" "$DIR/files" "$DIR/logs" "$DIR/run" \
		"$DIR/home" "$DIR/extra" "$DIR/tmp"
	mkdir -p "$DIR"
	chown postgres:postgres "$DIR"
	chmod 755 "$DIR"
	install -d -o postgres -g postgres -m 755 "$DIR/logs" "$DIR/files" "$DIR/home" "$DIR/extra" "$DIR/tmp"
	install -d -m 755 "$DIR/run" "$DIR/s3" "$DIR/kinesis"

	trap 'say "start failed; stopping what was started"; cmd_stop' EXIT

	local pg_port
	pg_port=$(free_port)
	printf '{"pg_port": %s}\n' "$pg_port" >"$DIR/run/stack.json"
	init_pg "$pg_port"
	start_pg
	start_svc s3rver
	start_svc s3proxy
	start_svc kinesalite
	start_svc kinesisproxy
	write_env
	trap - EXIT
	say "started in $DIR (PostgreSQL on 127.0.0.1:$pg_port, S3 proxy $(svc_port s3proxy), Kinesis proxy $(svc_port kinesisproxy))"
	say "environment: source $DIR/env.sh"
}

cmd_status() {
	local rc=0 s pid
	if alive "$(pg_pid)"; then
		printf '%-13s up    pid %-7s port %s\n' postgresql "$(pg_pid)" "$(json_get "$DIR/run/stack.json" pg_port)"
	else
		printf '%-13s down\n' postgresql; rc=1
	fi
	for s in $SERVICES; do
		pid=$(svc_pid "$s")
		if alive "$pid"; then
			printf '%-13s up    pid %-7s port %s\n' "$s" "$pid" "$(svc_port "$s")"
		else
			printf '%-13s down\n' "$s"; rc=1
		fi
	done
	return $rc
}

require_stack() {
	[ -f "$DIR/run/stack.json" ] || die "no stack in $DIR (run: scripts/stack.sh start)"
}

cmd=${1:-}
shift || true
case "$cmd" in
	start) cmd_start ;;
	stop) cmd_stop; say "stopped ($DIR)" ;;
	clean)
		cmd_stop
		rm -rf "$DIR/pgdata" "$DIR/s3" "$DIR/kinesis" "$DIR/files" "$DIR/logs" "$DIR/run" \
			"$DIR/home" "$DIR/extra" "$DIR/tmp"
		rmdir "$DIR" 2>/dev/null || true
		;;
	status) cmd_status ;;
	env)
		[ -f "$DIR/env.sh" ] || die "no stack running in $DIR"
		cat "$DIR/env.sh" ;;
	restart-pg) require_stack; stop_pg; start_pg; write_env ;;
	stop-pg) require_stack; stop_pg ;;
	start-pg) require_stack; start_pg; write_env ;;
	restart|stop-svc|start-svc)
		require_stack
		name=${1:-}
		[ -n "$name" ] || die "usage: $0 $cmd pg|s3rver|s3proxy|kinesalite|kinesisproxy"
		if [ "$name" = pg ]; then
			case "$cmd" in
				restart) stop_pg; start_pg ;;
				stop-svc) stop_pg ;;
				start-svc) start_pg ;;
			esac
		else
			port=$(svc_port "$name")
			[ -n "$port" ] || die "unknown service '$name'"
			[ "$cmd" = start-svc ] || stop_svc "$name"
			# same port, so that clients and env files stay valid
			[ "$cmd" = stop-svc ] || start_svc "$name" "$port"
		fi
		[ "$cmd" = stop-svc ] || write_env
		;;
	psql)
		require_stack
		exec "$PGBIN/psql" -h 127.0.0.1 -p "$(json_get "$DIR/run/stack.json" pg_port)" -U postgres -d "$DBNAME" "$@" ;;
	*)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 2 ;;
esac
