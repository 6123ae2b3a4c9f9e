#!/usr/bin/env bash
# scripts/demo.sh — the README's first command: install what is missing,
# build and install dlake, start a local stack (kept running, under
# /tmp/dlake-demo) and run the demo sections in scripts/demo.d/ in name order.
#
# usage: sudo scripts/demo.sh [--no-setup]
#
# Sections: scripts/demo.d/NN-name.sql (run by psql with the variables
# :bucket, :server, :s3, :file_root) or NN-name.sh (run by bash with the
# stack's environment plus DEMO_BUCKET, DEMO_SERVER).  A section whose first
# lines say "-- requires: dlake.fn1 dlake.fn2" (or "# requires: ..." for .sh)
# is skipped with a note when one of those functions does not exist yet.
#
# DLAKE_DEMO_STORAGE=file keeps the lake in file:// zones under the stack's
# DLAKE_FILE_ROOT and stops the S3 emulator and its proxy: no S3 at all.
# Sections get the lake's base location as :lake (psql) / DEMO_LAKE (bash)
# and the storage kind as :storage / DEMO_STORAGE; a section with the line
# "-- storage: s3" is skipped in file mode.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DLAKE_STACK_DIR=${DLAKE_DEMO_DIR:-/tmp/dlake-demo}
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
DEMO_BUCKET=dlake-demo
DEMO_SERVER=lake

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (sudo $0)" >&2; exit 1; }

if [ "${1:-}" != --no-setup ]; then
	step "1. Installing what is missing (Debian packages, pinned npm packages), building and installing dlake"
	bash "$ROOT/scripts/setup.sh" </dev/null
fi

step "2. Starting the local stack in $DLAKE_STACK_DIR (PostgreSQL 15 + dlake + pg_cron, S3 and Kinesis emulators behind SigV4-checking proxies)"
bash "$ROOT/scripts/stack.sh" start </dev/null
# shellcheck disable=SC1091
. "$DLAKE_STACK_DIR/env.sh"
PSQL=("$DLAKE_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)

step "3. CREATE EXTENSION dlake"
"${PSQL[@]}" -c 'CREATE EXTENSION IF NOT EXISTS dlake CASCADE'
"${PSQL[@]}" -At -c "SELECT '    dlake ' || extversion || ' installed in database ' || current_database() FROM pg_extension WHERE extname = 'dlake'"

step "4. A foreign server for the S3 endpoint and a user mapping with its keys"
if [ "$("${PSQL[@]}" -At -c "SELECT count(*) FROM pg_foreign_data_wrapper WHERE fdwname = 'dlake_fdw'")" = 1 ]; then
	"${PSQL[@]}" -e <<SQL
DROP SERVER IF EXISTS $DEMO_SERVER CASCADE;
CREATE SERVER $DEMO_SERVER FOREIGN DATA WRAPPER dlake_fdw
  OPTIONS (endpoint '$DLAKE_S3_ENDPOINT', region '$DLAKE_REGION', path_style 'true',
           kinesis_endpoint '$DLAKE_KINESIS_ENDPOINT');
CREATE USER MAPPING FOR CURRENT_USER SERVER $DEMO_SERVER
  OPTIONS (access_key_id '$DLAKE_TEST_ACCESS_KEY_ID', secret_access_key '$DLAKE_TEST_SECRET_ACCESS_KEY');
SQL
else
	note "skipped: dlake_fdw is not available in this build yet"
fi

DEMO_STORAGE=${DLAKE_DEMO_STORAGE:-s3}
if [ "$DEMO_STORAGE" = file ]; then
	DEMO_LAKE="file://$DLAKE_FILE_ROOT/lake"
	step "5. No S3: the lake lives in $DEMO_LAKE (DLAKE_DEMO_STORAGE=file); stopping the S3 emulator and its proxy"
	bash "$ROOT/scripts/stack.sh" stop-svc s3proxy </dev/null >/dev/null
	bash "$ROOT/scripts/stack.sh" stop-svc s3rver </dev/null >/dev/null
	note "s3rver and the S3 proxy are stopped; every lake object below is a file"
else
DEMO_LAKE="s3://$DEMO_BUCKET"
step "5. A bucket, created with the AWS CLI through the signature-checking proxy"
if AWS_ACCESS_KEY_ID=$DLAKE_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$DLAKE_TEST_SECRET_ACCESS_KEY \
	AWS_DEFAULT_REGION=$DLAKE_REGION AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/aws --endpoint-url "$DLAKE_S3_ENDPOINT" s3 mb "s3://$DEMO_BUCKET" >/dev/null 2>"$DLAKE_STACK_DIR/tmp/mb.err"; then
	note "created s3://$DEMO_BUCKET"
elif grep -qE "BucketAlreadyOwnedByYou|BucketAlreadyExists" "$DLAKE_STACK_DIR/tmp/mb.err"; then
	note "s3://$DEMO_BUCKET already exists"
else
	cat "$DLAKE_STACK_DIR/tmp/mb.err" >&2
	exit 1
fi
fi
export DEMO_STORAGE DEMO_LAKE

# ---- sections
ran=()
skipped=()
for f in "$ROOT"/scripts/demo.d/*; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	case "$name" in *.sql|*.sh) ;; *) continue ;; esac
	title=$(sed -n 's/^\(--\|#\) *title: *//p' "$f" | head -1)
	step "${title:-$name}"
	if [ "$DEMO_STORAGE" = file ] && grep -qE '^(--|#) *storage: *s3' "$f"; then
		note "skipped: needs S3 (DLAKE_DEMO_STORAGE=file)"
		skipped+=("$name")
		continue
	fi
	need=$(sed -n 's/^\(--\|#\) *requires: *//p' "$f" | head -1)
	absent=()
	for fn in $need; do
		schema=${fn%%.*}; fname=${fn#*.}
		n=$("${PSQL[@]}" -At -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace WHERE s.nspname = '$schema' AND p.proname = '$fname'")
		[ "$n" != 0 ] || absent+=("$fn")
	done
	if [ ${#absent[@]} -gt 0 ]; then
		note "skipped: not available in this build yet: ${absent[*]}"
		skipped+=("$name")
		continue
	fi
	case "$name" in
		*.sql)
			"${PSQL[@]}" -e -v bucket="$DEMO_BUCKET" -v server="$DEMO_SERVER" \
				-v s3="s3://$DEMO_BUCKET" -v file_root="$DLAKE_FILE_ROOT" \
				-v lake="$DEMO_LAKE" -v storage="$DEMO_STORAGE" -f "$f" ;;
		*.sh)
			DEMO_BUCKET=$DEMO_BUCKET DEMO_SERVER=$DEMO_SERVER bash "$f" ;;
	esac
	ran+=("$name")
done

step "Summary"
note "stack directory : $DLAKE_STACK_DIR (logs in $DLAKE_STACK_DIR/logs)"
note "sections run    : ${ran[*]:-none}"
[ ${#skipped[@]} -eq 0 ] || note "sections skipped: ${skipped[*]}"
cat <<TXT

Connect with psql:
    $DLAKE_PG_BIN/psql -h 127.0.0.1 -p $PGPORT -U postgres $PGDATABASE
  or, with the whole environment (S3/Kinesis endpoints, test keys):
    source $DLAKE_STACK_DIR/env.sh && psql

Connect with JDBC (driver from Debian's libpostgresql-jdbc-java):
    URL       jdbc:postgresql://127.0.0.1:$PGPORT/$PGDATABASE?user=postgres
    classpath /usr/share/java/postgresql.jar

S3 (path style, through the signature-checking proxy):
    endpoint $DLAKE_S3_ENDPOINT  region $DLAKE_REGION
    keys     $DLAKE_TEST_ACCESS_KEY_ID / $DLAKE_TEST_SECRET_ACCESS_KEY
    e.g.     AWS_ACCESS_KEY_ID=$DLAKE_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY='$DLAKE_TEST_SECRET_ACCESS_KEY' \\
             /usr/bin/aws --region $DLAKE_REGION --endpoint-url $DLAKE_S3_ENDPOINT s3 ls --recursive s3://$DEMO_BUCKET

Stop the stack (everything runs until you do):
    sudo DLAKE_STACK_DIR=$DLAKE_STACK_DIR $ROOT/scripts/stack.sh stop
TXT
