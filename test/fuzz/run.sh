#!/usr/bin/env bash
# Build and run every libFuzzer target test/fuzz/fuzz_*.c for FUZZ_SECONDS
# each (default 60), seeded with test/fuzz/corpus/<name>/ (name = file name
# without the fuzz_ prefix), printing one line per target; exits non-zero
# when a target fails to build or finds a crash.
#
# Per-target build settings come from comment lines in the target source:
#   FUZZ_SOURCES: <library sources, globs allowed>
#   FUZZ_CFLAGS:  <extra compiler flags, e.g. include dirs>
#   FUZZ_LIBS:    <libraries>
# or, for targets without them, from the table below.
#
# env: FUZZ_SECONDS (default 60), FUZZ_TARGETS (space-separated names to
# run, default all), FUZZ_OUT (build/work dir, default /tmp/dlake-fuzz),
# CLANG (default clang-14 or clang).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
out=${FUZZ_OUT:-/tmp/dlake-fuzz}
CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
mkdir -p "$out"

# fallback table: target -> "sources|cflags|libs"
declare -A table=(
	[fuzz_csv]="src/format/csv_tok.c|-Isrc/format|"
	[fuzz_jsonl]="src/format/json_tok.c src/format/csv_tok.c|-Isrc/format|"
)

meta() {	# meta FILE KEY: value of a "KEY:" comment line
	sed -n "s/^[ *]*$2:[[:space:]]*//p" "$1" | head -1
}

status=0
for src in test/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
		continue
	fi
	sources=$(meta "$src" FUZZ_SOURCES)
	cflags=$(meta "$src" FUZZ_CFLAGS)
	libs=$(meta "$src" FUZZ_LIBS)
	if [ -z "$sources" ] && [ -n "${table[$name]:-}" ]; then
		IFS='|' read -r sources cflags libs <<<"${table[$name]}"
	fi
	bin="$out/$name"
	# shellcheck disable=SC2086
	if ! $CLANG -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$cflags "$src" $sources $libs -o "$bin" >"$out/$name.build.log" 2>&1; then
		echo "$name: BUILD FAILED (see $out/$name.build.log)"
		status=1
		continue
	fi
	work="$out/$name.corpus"
	rm -rf "$work"
	mkdir -p "$work" "$out/$name.artifacts"
	seed="test/fuzz/corpus/${name#fuzz_}"
	[ -d "$seed" ] && cp -r "$seed"/. "$work"/ 2>/dev/null
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/$name.artifacts/" "$work" >"$out/$name.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$out/$name.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "$name: ok (${seconds}s, ${execs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l))"
	else
		echo "$name: FAILED rc=$rc (log $out/$name.log, artifacts $out/$name.artifacts/)"
		grep -m3 -E 'ERROR|SUMMARY|deadly signal' "$out/$name.log" | sed 's/^/  /'
		status=1
	fi
done
exit $status
