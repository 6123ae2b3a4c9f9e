-- title: 13. Analytics on the lake: foreign tables over cleansed and curated, Athena-style queries, pruned partitions
-- requires: dlake.fdw_handler dlake.export
--
-- dlake_fdw reads the Parquet files in place (the Athena counterpart): a
-- WHERE on the partition column opens only the matching date=... folders
-- (EXPLAIN: Files Matched / Files Pruned), row groups are skipped by their
-- min/max statistics.  Any BI tool connected to PostgreSQL sees these
-- tables (the QuickSight counterpart).

\pset footer off
SELECT max(location) FILTER (WHERE name = 'cleansed') AS cleansed,
       max(location) FILTER (WHERE name = 'curated') AS curated,
       max(location) FILTER (WHERE name = 'cleansed') || '/iot/' AS iot_events_loc,
       max(location) FILTER (WHERE name = 'curated') || '/iot_hourly/' AS iot_hourly_loc,
       max(location) FILTER (WHERE name = 'curated') || '/sales_daily/' AS sales_daily_loc
  FROM dlake.zones \gset
SELECT count(*) FILTER (WHERE location LIKE :'cleansed' || '/iot%') > 0 AS have_iot,
       count(*) FILTER (WHERE location LIKE :'curated' || '/sales_daily%') > 0 AS have_sales
  FROM dlake.files \gset

CREATE SCHEMA IF NOT EXISTS lake;
DROP FOREIGN TABLE IF EXISTS lake.iot_events, lake.iot_hourly, lake.sales_daily;

\if :have_iot
CREATE FOREIGN TABLE lake.iot_events (
    sensor_id text, "timestamp" timestamptz, value float8, processed_at timestamptz, site text, date date
) SERVER :server OPTIONS (location :'iot_events_loc', format 'parquet', partition_by 'date');

CREATE FOREIGN TABLE lake.iot_hourly (
    site text, hour timestamptz, readings bigint, avg_value float8, min_value float8, max_value float8, date date
) SERVER :server OPTIONS (location :'iot_hourly_loc', format 'parquet', partition_by 'date');

-- yesterday's temperature per site, from the curated aggregate
SELECT site, sum(readings) AS readings, round(avg(avg_value)::numeric, 2) AS avg_temp,
       min(min_value) AS min_temp, max(max_value) AS max_temp
  FROM lake.iot_hourly WHERE date = current_date - 1 GROUP BY site ORDER BY site;

-- only yesterday's folder is read
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT site, count(*), avg(value) FROM lake.iot_events WHERE date = current_date - 1 GROUP BY site;

-- the lake joined with a PostgreSQL table: the hottest hour per region
SELECT DISTINCT ON (s.region) s.region, h.site, h.hour, h.avg_value
  FROM lake.iot_hourly h JOIN (SELECT DISTINCT site, region FROM public.sensors) s USING (site)
 ORDER BY s.region, h.avg_value DESC;
\endif

\if :have_sales
CREATE FOREIGN TABLE lake.sales_daily (
    region text, sales bigint, units bigint, revenue numeric, sale_date date
) SERVER :server OPTIONS (location :'sales_daily_loc', format 'parquet', partition_by 'sale_date');

-- last three days' revenue per region
SELECT region, sum(sales) AS sales, sum(revenue) AS revenue
  FROM lake.sales_daily WHERE sale_date >= current_date - 3 GROUP BY region ORDER BY revenue DESC;

EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT region, sum(revenue) FROM lake.sales_daily WHERE sale_date >= current_date - 3 GROUP BY region;
\endif
