# title: 10b. Log files -> Kinesis with a file flow (the Kinesis Agent counterpart)
# requires: dlake.create_file_flow dlake.create_stream
#
# The seed installs the Kinesis Agent on a server to ship /var/log/myapp/*.log
# to a stream.  A file flow does the same from inside PostgreSQL: a worker
# tails the files matching a pattern on the database server (following
# rotation), turns each Apache log line into JSON (logtojson) and sends it
# with PutRecords; a dlake stream reads the Kinesis stream back into staging.
set -euo pipefail
PSQL=("$DLAKE_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
note() { printf '    %s\n' "$*"; }
aws_k() {
	AWS_ACCESS_KEY_ID=$DLAKE_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$DLAKE_TEST_SECRET_ACCESS_KEY \
	AWS_DEFAULT_REGION=$DLAKE_REGION AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/aws --endpoint-url "$DLAKE_KINESIS_ENDPOINT" kinesis "$@"
}

logdir="$DLAKE_FILE_ROOT/weblogs"
rm -rf "$logdir"
mkdir -p "$logdir"
KSTREAM="weblogs-$(date +%s)"
aws_k create-stream --stream-name "$KSTREAM" --shard-count 1
for _ in $(seq 1 100); do
	[ "$(aws_k describe-stream-summary --stream-name "$KSTREAM" --query StreamDescriptionSummary.StreamStatus --output text)" = ACTIVE ] && break
	sleep 0.2
done

"${PSQL[@]}" -e -v kstream="$KSTREAM" -v server="$DEMO_SERVER" -v pattern="$logdir/access.log*" <<'SQL'
\pset footer off
SELECT dlake.drop_file_flow('weblogs', if_exists => true);
SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = 'weblogs';
-- the agent's {"filePattern": ..., "kinesisStream": ...}, with dataProcessingOptions LOGTOJSON
SELECT dlake.create_file_flow('weblogs', :'pattern', :'kstream', processing => 'logtojson', server => :'server');
SELECT dlake.create_stream('weblogs', kinesis_stream => :'kstream', server => :'server');
SQL

note "a web server writes its access log; it is rotated (renamed) half way"
ips=(10.0.0.1 10.0.0.7 192.168.1.20 172.16.4.2)
paths=(/ /products /cart /checkout /api/orders)
for i in $(seq 1 200); do
	printf '%s - - [%s] "GET %s HTTP/1.1" %s %d "-" "demo-agent/1.0"\n' "${ips[$((i % 4))]}" \
		"$(date -u -d "-$((200 - i)) min" '+%d/%b/%Y:%H:%M:%S +0000')" "${paths[$((i % 5))]}" \
		"$([ $((i % 17)) -eq 0 ] && echo 500 || echo 200)" $((i * 37 % 5000)) >>"$logdir/access.log"
	if [ "$i" -eq 100 ]; then
		sleep 1.5
		mv "$logdir/access.log" "$logdir/access.log.1"
	fi
done
chown -R postgres "$logdir"

for _ in $(seq 1 60); do
	n=$("${PSQL[@]}" -At -c "SELECT count(*) FROM dlake_staging.weblogs")
	[ "$n" -ge 200 ] && break
	sleep 0.5
done

"${PSQL[@]}" -e <<'SQL'
\pset footer off
SELECT name, processing, lines, last_shipped_at IS NOT NULL AS shipping, last_error FROM dlake.file_flows;
SELECT path, "offset", lines FROM dlake.file_flow_files WHERE flow = 'weblogs' ORDER BY path;
-- back from Kinesis, as JSON
SELECT count(*) AS staged, count(*) FILTER (WHERE payload->>'response' = '500') AS server_errors
  FROM dlake_staging.weblogs;
SELECT payload->>'request' AS request, count(*) FROM dlake_staging.weblogs GROUP BY 1 ORDER BY 2 DESC, 1;
SQL
