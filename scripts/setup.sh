#!/usr/bin/env bash
# scripts/setup.sh — install everything dlake and its tests need on Debian 12,
# then build and install the extension.  Installs only what is missing: apt
# runs (with one `apt-get update`) only when a package is absent, `npm ci`
# only when test/node_modules is absent or older than the lock file.
#
# usage: sudo scripts/setup.sh [--no-build]
# Node.js >= 20 with npm must already be on the machine (do not apt-get
# install npm: Debian's npm conflicts with the Node.js 20 packages).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=1
[ "${1:-}" = --no-build ] && build=0

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Debian packages, one per line; add new dependencies here.
APT_PACKAGES=(
	build-essential
	pkg-config
	ca-certificates
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-cron
	libssl-dev
	libcurl4-openssl-dev
	libcjson-dev
	libzstd-dev
	libsnappy-dev
	zlib1g-dev
	liblz4-dev
	libxml2-dev
	awscli
	openjdk-17-jre-headless
	openjdk-17-jdk-headless
	libpostgresql-jdbc-java
	clang
	libclang-rt-14-dev
)

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"

# ---- apt: only what is missing
missing=()
for p in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
	say "Debian packages: all present"
fi

# ---- Node.js (not from apt: see header)
command -v node >/dev/null || die "Node.js 20 or later is required (node not found on PATH)"
command -v npm >/dev/null || die "npm is required (it ships with Node.js 20)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is required (found $(node --version))"

# ---- npm: pinned versions from test/package-lock.json
if [ ! -f "$ROOT/test/node_modules/.package-lock.json" ] ||
	[ "$ROOT/test/package-lock.json" -nt "$ROOT/test/node_modules/.package-lock.json" ]; then
	say "npm ci in test/"
	(cd "$ROOT/test" && npm ci --no-audit --no-fund --loglevel=error)
else
	say "npm packages: up to date"
fi

# ---- build and install the extension
if [ "$build" -eq 1 ]; then
	say "building dlake"
	# serialised with scripts/dev-install.sh when several people share a tree
	flock /tmp/dlake-build.lock make -C "$ROOT" -s with_llvm=no -j2 PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	flock /tmp/dlake-build.lock make -C "$ROOT" -s with_llvm=no install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	say "installed dlake into $(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)"
fi
