#!/usr/bin/env bash
# Commit the given paths only, serialised with other developers in this tree.
# usage: scripts/dev-commit.sh "message" path...
set -euo pipefail
cd "$(dirname "$0")/.."
msg=$1; shift
exec flock /tmp/dlake-git.lock sh -c 'git add -- "$@" && git commit -q -m "$0" -- "$@"' "$msg" "$@"
