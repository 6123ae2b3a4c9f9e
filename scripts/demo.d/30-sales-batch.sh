# title: 10. Batch data: daily sales CSV files -> raw zone -> loaded into PostgreSQL (the Redshift COPY counterpart)
# requires: dlake.load dlake.create_zone
#
# The seed's batch source: one CSV file of sales per day, uploaded as-is to
# the raw zone (with the AWS CLI, or copied into the file:// lake), then
# loaded with dlake.load: files already loaded are skipped on the next run,
# bad lines are rejected into dlake.load_errors up to max_errors.
set -euo pipefail
PSQL=("$DLAKE_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
note() { printf '    %s\n' "$*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
regions=(eu-west eu-central us-east ap-south)
products=(sensor-kit gateway thermostat cable)
for d in 7 6 5 4 3 2 1; do
	day=$(date -u -d "-$d day" +%F)
	mkdir -p "$work/sales/date=$day"
	f="$work/sales/date=$day/sales-$day.csv"
	echo "sale_id,sale_date,region,store,product,quantity,amount" >"$f"
	for i in $(seq 1 40); do
		r=${regions[$(( (i * 7 + d) % 4 ))]}
		p=${products[$(( (i + d) % 4 ))]}
		q=$(( (i * 13 + d * 5) % 9 + 1 ))
		printf '%s-%03d,%s,%s,%s-%02d,%s,%d,%d.%02d\n' "$day" "$i" "$day" "$r" "$r" $(( i % 5 + 1 )) "$p" "$q" $(( q * (20 + (i * d) % 30) )) $(( (i * 37) % 100 ))
	done >>"$f"
done
# the file of the most recent day has two bad lines
echo "$(date -u -d '-1 day' +%F)-998,$(date -u -d '-1 day' +%F),eu-west,eu-west-01,cable,2,n/a" >>"$work/sales/date=$(date -u -d '-1 day' +%F)/sales-$(date -u -d '-1 day' +%F).csv"
echo "$(date -u -d '-1 day' +%F)-999,not-a-date,eu-west,eu-west-01,cable,2,10.00" >>"$work/sales/date=$(date -u -d '-1 day' +%F)/sales-$(date -u -d '-1 day' +%F).csv"

raw=$("${PSQL[@]}" -At -c "SELECT location FROM dlake.zones WHERE name = 'raw'")
if [ "$DEMO_STORAGE" = file ]; then
	dir=${raw#file://}
	note "copying 7 daily files into $raw/sales/"
	mkdir -p "$dir"
	cp -r "$work/sales" "$dir/"
	# the server writes the other zones next to it: the whole lake belongs to postgres
	chown -R postgres "${DEMO_LAKE#file://}"
else
	note "uploading 7 daily files to $raw/sales/ with the AWS CLI"
	AWS_ACCESS_KEY_ID=$DLAKE_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$DLAKE_TEST_SECRET_ACCESS_KEY \
	AWS_DEFAULT_REGION=$DLAKE_REGION AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/aws --endpoint-url "$DLAKE_S3_ENDPOINT" s3 cp --recursive --only-show-errors "$work/sales" "$raw/sales/"
fi

"${PSQL[@]}" -e <<'SQL'
\pset footer off
SELECT path, size FROM dlake.list((SELECT location FROM dlake.zones WHERE name = 'raw') || '/sales/',
                                  (SELECT server FROM dlake.zones WHERE name = 'raw')) ORDER BY path;

DROP TABLE IF EXISTS public.sales;
CREATE TABLE public.sales (sale_id text NOT NULL, sale_date date NOT NULL, region text NOT NULL,
                           store text NOT NULL, product text NOT NULL, quantity int NOT NULL, amount numeric(12,2) NOT NULL);

-- every file under raw/sales/, CSV with a header, up to 5 bad lines tolerated
SELECT path, rows, rejected FROM dlake.load('public.sales', zone => 'raw', location => 'sales/',
                                            format => 'csv', max_errors => 5) ORDER BY path;

SELECT object, line, column_name, error FROM dlake.load_errors ORDER BY id DESC LIMIT 2;

-- a second run finds nothing new: files already loaded are skipped
SELECT count(*) AS files_loaded_again FROM dlake.load('public.sales', zone => 'raw', location => 'sales/',
                                                      format => 'csv', max_errors => 5);

SELECT sale_date, count(*) AS sales, sum(amount) AS revenue FROM public.sales GROUP BY 1 ORDER BY 1;
SQL
