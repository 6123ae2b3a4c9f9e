#!/usr/bin/env bash
# test/run_regress.sh — run the offline pg_regress suite (sql/*.sql against
# expected/*.out) in installcheck mode on the test stack's cluster, in a
# fresh database that gets CREATE EXTENSION dlake.
#
# usage: test/run_regress.sh [test ...]      (default: every sql/*.sql)
# Needs a running stack (scripts/stack.sh start; DLAKE_STACK_DIR as there).
# Last line of output: "regress: N passed, N failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
PGBIN=/usr/lib/postgresql/15/bin
PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress

if [ ! -f "$DIR/env.sh" ]; then
	echo "run_regress: no stack in $DIR (run scripts/stack.sh start)" >&2
	echo "regress: 0 passed, 1 failed"
	exit 2
fi
# shellcheck disable=SC1091
. "$DIR/env.sh"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	for f in "$ROOT"/sql/*.sql; do
		[ -e "$f" ] || continue
		tests+=("$(basename "$f" .sql)")
	done
fi
if [ ${#tests[@]} -eq 0 ]; then
	echo "run_regress: no tests in sql/"
	echo "regress: 0 passed, 0 failed"
	exit 0
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/dlake-regress.XXXXXX")
# pg_regress opens input files relative to --inputdir and writes results/
# and regression.diffs under --outputdir; psql runs as this user (root is
# fine: only the client reads the files).
"$PG_REGRESS" \
	--inputdir="$ROOT" \
	--outputdir="$out" \
	--bindir="$PGBIN" \
	--host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
	--dbname=dlake_regress \
	--load-extension=dlake \
	"${tests[@]}" 2>&1 | tee "$out/pg_regress.log"
rc=${PIPESTATUS[0]}

# Count pg_regress's own per-test lines ("test name ... ok 12 ms").
passed=$(grep -cE '^(test |ok |     )?[[:space:]]*[A-Za-z0-9_./-]+[[:space:]]+\.\.\. ok' "$out/pg_regress.log" || true)
failed=$(grep -cE '\.\.\. (FAILED|failed)' "$out/pg_regress.log" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# pg_regress could not run at all (e.g. CREATE EXTENSION failed)
	failed=$(( ${#tests[@]} - passed ))
	[ "$failed" -gt 0 ] || failed=1
fi

if [ -s "$out/regression.diffs" ]; then
	echo "---- regression.diffs (first 200 lines; full file: $out/regression.diffs) ----"
	head -200 "$out/regression.diffs"
	echo "----"
fi
echo "regress: $passed passed, $failed failed"
if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]; then
	rm -rf "$out"
	exit 0
fi
echo "run_regress: output kept in $out"
exit 1
