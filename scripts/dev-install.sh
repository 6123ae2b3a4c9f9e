#!/usr/bin/env bash
# Build and install dlake, serialised so that concurrent developers in one
# tree do not interleave builds.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/dlake-build.lock make -s with_llvm=no -j2 install
