#!/usr/bin/env bash
# Build and run the standalone Parquet unit tests (plain C, no PostgreSQL).
# usage: test/unit/run.sh            normal build (-O2)
#        SANITIZE=1 test/unit/run.sh  with -fsanitize=address,undefined
#        test/unit/run.sh --interop   also write sample files and read them
#                                     with DuckDB and hyparquet (needs
#                                     test/node_modules)
# Prints "N passed, N failed"; exits non-zero on failures.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${UNIT_BUILD_DIR:-/tmp/dlake-unit}
mkdir -p "$out"
CC=${CC:-gcc}
flags="-std=gnu99 -O2 -g -Wall -Werror -Wno-sign-compare -Isrc -Itest/unit"
if [ "${SANITIZE:-0}" = 1 ]; then
	flags="$flags -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
fi
libs="-lsnappy -lz -lzstd -llz4 -lm"
$CC $flags -o "$out/parquet_selftest" test/unit/parquet_selftest.c src/format/parquet/*.c $libs
"$out/parquet_selftest"
if [ "${1:-}" = "--interop" ]; then
	rm -rf "$out/samples"
	mkdir -p "$out/samples"
	"$out/parquet_selftest" --write-samples "$out/samples"
	node test/unit/check_with_duckdb.mjs "$out/samples"
fi
