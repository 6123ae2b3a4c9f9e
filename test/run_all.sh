#!/usr/bin/env bash
# test/run_all.sh — the whole dlake test suite, from a fresh clone:
#   1. scripts/setup.sh: install what is missing, build and install dlake
#   2. start a private test stack (stopped again on any exit)
#   3. pg_regress suite (test/run_regress.sh)
#   4. node integration tests (test/integration/*.test.mjs, one at a time)
#   5. fuzz targets (test/fuzz/run.sh, when present)
# and ends with one line "N passed, N failed, N skipped"; the exit status is
# non-zero when anything failed.
#
# usage: sudo test/run_all.sh [--no-setup] [integration test files...]
# Environment: DLAKE_TEST_STACK_DIR (default /tmp/dlake-run-<pid>),
#              DLAKE_TEST_TIMEOUT per node test in ms (default 300000),
#              DLAKE_KEEP_STACK=1 keeps the stack running afterwards.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

setup=1
if [ "${1:-}" = --no-setup ]; then
	setup=0
	shift
fi
only=("$@")

export DLAKE_STACK_DIR=${DLAKE_TEST_STACK_DIR:-/tmp/dlake-run-$$}
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
TEST_TIMEOUT=${DLAKE_TEST_TIMEOUT:-300000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dlake-tests.XXXXXX")

passed=0
failed=0
skipped=0
t_start=$(date +%s)

phase() { printf '\n==== %s ====\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - t_start ))s"; }

summary() {
	local line="$passed passed, $failed failed"
	[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
	echo
	echo "$line"
}

stack_started=0
cleanup() {
	if [ "$stack_started" -eq 1 ] && [ "${DLAKE_KEEP_STACK:-0}" != 1 ]; then
		bash "$ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
		if [ "$failed" -eq 0 ]; then
			bash "$ROOT/scripts/stack.sh" clean >/dev/null 2>&1 || true
		fi
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- 1. setup
if [ "$setup" -eq 1 ]; then
	phase "setup (install what is missing, build, install) [$(elapsed)]"
	if ! bash "$ROOT/scripts/setup.sh" </dev/null; then
		failed=$((failed + 1))
		echo "setup failed: nothing was tested"
		summary
		exit 1
	fi
fi

# ---------------------------------------------------------------- 2. stack
phase "test stack in $DLAKE_STACK_DIR [$(elapsed)]"
stack_started=1
if ! bash "$ROOT/scripts/stack.sh" start </dev/null; then
	failed=$((failed + 1))
	echo "the test stack did not start: nothing was tested"
	[ -f "$DLAKE_STACK_DIR/logs/postgresql.log" ] && tail -30 "$DLAKE_STACK_DIR/logs/postgresql.log"
	summary
	exit 1
fi

# ---------------------------------------------------------------- 3. pg_regress
if [ ${#only[@]} -eq 0 ]; then
	phase "pg_regress [$(elapsed)]"
	timeout --kill-after=30 900 bash "$ROOT/test/run_regress.sh" </dev/null | tee "$WORK/regress.log"
	line=$(grep -E '^regress: [0-9]+ passed, [0-9]+ failed' "$WORK/regress.log" | tail -1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^regress: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
		f=$(sed -E 's/^regress: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
		passed=$((passed + p))
		failed=$((failed + f))
	else
		echo "pg_regress produced no summary (timeout?)"
		failed=$((failed + 1))
	fi
fi

# ---------------------------------------------------------------- 4. node integration tests
if [ ${#only[@]} -gt 0 ]; then
	files=("${only[@]}")
else
	files=()
	for f in "$ROOT"/test/integration/*.test.mjs; do
		[ -e "$f" ] && files+=("$f")
	done
fi
if [ ${#files[@]} -gt 0 ]; then
	phase "integration tests: ${#files[@]} files [$(elapsed)]"
	# Readable output on stdout (spec), machine-readable TAP for the counts.
	timeout --kill-after=30 1500 node --test --test-concurrency=1 --test-timeout="$TEST_TIMEOUT" \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="$WORK/node.tap" \
		"${files[@]}" </dev/null
	node_rc=$?
	count() { grep -E "^# $1 [0-9]+" "$WORK/node.tap" 2>/dev/null | tail -1 | awk '{print $3}'; }
	np=$(count pass); nf=$(count fail); ns=$(count skipped); nc=$(count cancelled); nt=$(count todo)
	if [ -z "$np" ]; then
		echo "node test runner produced no summary (exit $node_rc)"
		failed=$((failed + 1))
	else
		passed=$((passed + np))
		failed=$((failed + ${nf:-0} + ${nc:-0}))
		skipped=$((skipped + ${ns:-0} + ${nt:-0}))
		if [ "$node_rc" -ne 0 ] && [ "${nf:-0}" -eq 0 ] && [ "${nc:-0}" -eq 0 ]; then
			echo "node test runner exited with $node_rc"
			failed=$((failed + 1))
		fi
	fi
fi

# ---------------------------------------------------------------- 5. fuzz
if [ ${#only[@]} -eq 0 ] && [ -f "$ROOT/test/fuzz/run.sh" ]; then
	phase "fuzz targets [$(elapsed)]"
	timeout --kill-after=30 900 bash "$ROOT/test/fuzz/run.sh" </dev/null | tee "$WORK/fuzz.log"
	fuzz_rc=${PIPESTATUS[0]}
	# test/fuzz/run.sh reports "fuzz: N passed, N failed" as its last line
	line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$WORK/fuzz.log" | tail -1)
	if [ -n "$line" ]; then
		passed=$((passed + $(sed -E 's/^fuzz: ([0-9]+) passed.*/\1/' <<<"$line")))
		failed=$((failed + $(sed -E 's/^fuzz: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
	elif [ "$fuzz_rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
fi

phase "done in $(elapsed)"
if [ "$failed" -gt 0 ]; then
	echo "logs: $DLAKE_STACK_DIR/logs (kept)"
	if [ -f "$DLAKE_STACK_DIR/logs/postgresql.log" ]; then
		echo "---- last lines of the PostgreSQL log ----"
		tail -40 "$DLAKE_STACK_DIR/logs/postgresql.log"
	fi
fi
summary
[ "$failed" -eq 0 ]
