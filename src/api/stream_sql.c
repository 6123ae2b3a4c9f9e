/*-------------------------------------------------------------------------
 *
 * stream_sql.c
 *	  SQL functions of Kinesis ingestion: create_stream, pause_stream,
 *	  resume_stream, drop_stream (catalog + staging table; the workers pick
 *	  changes up from the catalog), put_records (PutRecords producer that
 *	  re-sends only failed entries) and kpl_deaggregate.
 *
 *	  Catalog rows are written as the bootstrap superuser after our own
 *	  privilege check (dlake_admin or superuser to create; the owner, a
 *	  dlake_admin member or a superuser to change); the staging table is
 *	  created by and owned by the caller, who becomes the stream's owner:
 *	  the worker inserts as that role and uses its user mapping.
 *
 * IDENTIFICATION
 *	  src/api/stream_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "common/config.h"
#include "etl/rules.h"
#include "guc.h"
#include "ingest/ingest.h"
#include "kinesis/kinesis.h"

PG_FUNCTION_INFO_V1(dlake_create_stream);
PG_FUNCTION_INFO_V1(dlake_pause_stream);
PG_FUNCTION_INFO_V1(dlake_resume_stream);
PG_FUNCTION_INFO_V1(dlake_drop_stream);
PG_FUNCTION_INFO_V1(dlake_put_records);
PG_FUNCTION_INFO_V1(dlake_put_records_text);
PG_FUNCTION_INFO_V1(dlake_kpl_deaggregate);
PG_FUNCTION_INFO_V1(dlake_stream_payload);

/* rule sets are optional at link time (src/etl/ may be absent) */
#pragma weak dlake_ruleset_exists

#define PUT_MAX_ROUNDS 10

/* is the current user a superuser or a member of dlake_admin? */
static bool
current_user_is_stream_admin(void)
{
	Oid			admin = get_role_oid("dlake_admin", true);

	return superuser() || (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin));
}

static void
check_stream_name(const char *name)
{
	const char *p;
	bool		ok = name[0] != '\0' && strlen(name) <= 63 &&
		!(name[0] >= '0' && name[0] <= '9');

	for (p = name; ok && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			ok = false;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid stream name \"%s\"", name),
				 errdetail("A stream name names its staging table: lower-case letters, digits and underscores, at most 63 characters, not starting with a digit.")));
}

/* run fn-style SPI statements as the bootstrap superuser */
typedef struct AsSuperuser
{
	Oid			save_userid;
	int			save_sec;
} AsSuperuser;

static void
become_superuser(AsSuperuser *s)
{
	GetUserIdAndSecContext(&s->save_userid, &s->save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   s->save_sec | SECURITY_LOCAL_USERID_CHANGE);
}

static void
restore_user(AsSuperuser *s)
{
	SetUserIdAndSecContext(s->save_userid, s->save_sec);
}

/*
 * Look up a stream by name (as superuser) and check that the current user
 * may change it.  Returns stream_id; sets *staging and *enabled.
 */
static int
lookup_stream_for_change(const char *name, Oid *staging, bool *enabled)
{
	Datum		args[1];
	Oid			types[1] = {TEXTOID};
	int			ret;
	int			stream_id;
	Oid			owner;
	bool		isnull;
	AsSuperuser su;

	become_superuser(&su);
	args[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT stream_id, owner, staging::oid, enabled "
								"FROM dlake.streams WHERE name = $1 FOR UPDATE",
								1, types, args, NULL, false, 1);
	restore_user(&su);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %d", ret);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("stream \"%s\" does not exist", name),
				 errhint("SELECT DISTINCT stream FROM dlake.stream_status lists the streams.")));
	stream_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*staging = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	*enabled = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));

	if (!current_user_is_stream_admin() && !has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for stream \"%s\"", name),
				 errdetail("Only the owner of the stream, members of dlake_admin and superusers may change it.")));
	return stream_id;
}

/*
 * dlake.create_stream(name, kinesis_stream, server, start_at, ruleset,
 * batch_size, max_record_bytes, retention) registers a stream and creates
 * its staging table dlake_staging.<name>; the workers start reading it
 * within dlake.worker_naptime.
 */
Datum
dlake_create_stream(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *kstream;
	char	   *server = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *start_at = PG_ARGISNULL(3) ? "trim_horizon" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *ruleset = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	int			batch_size = PG_ARGISNULL(5) ? 10000 : PG_GETARG_INT32(5);
	int			max_record_bytes = PG_ARGISNULL(6) ? 10485760 : PG_GETARG_INT32(6);
	Datum		retention = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);
	const char *start_kind;
	Datum		start_ts = (Datum) 0;
	char	   *qname;
	StringInfoData sql;
	Oid			relid;
	int			ret;
	AsSuperuser su;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and kinesis_stream must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	kstream = text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (!current_user_is_stream_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create stream \"%s\"", name),
				 errdetail("Creating streams requires membership in dlake_admin or superuser."),
				 errhint("GRANT dlake_admin TO %s;", quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	check_stream_name(name);
	if (kstream[0] == '\0' || strlen(kstream) > 128)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Kinesis stream name \"%s\"", kstream),
				 errdetail("Kinesis stream names have 1 to 128 characters.")));
	if (batch_size < 1 || batch_size > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and 10000"),
				 errdetail("GetRecords returns at most 10000 records per call.")));
	if (max_record_bytes < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_record_bytes must be positive")));

	if (pg_strcasecmp(start_at, "trim_horizon") == 0)
		start_kind = "trim_horizon";
	else if (pg_strcasecmp(start_at, "latest") == 0)
		start_kind = "latest";
	else
	{
		start_kind = "timestamp";
		start_ts = DirectFunctionCall3(timestamptz_in, CStringGetDatum(start_at),
									   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		if (TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(start_ts)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("start_at must be 'trim_horizon', 'latest' or a finite timestamp")));
	}

	/* the server and the caller's user mapping must exist (raises otherwise) */
	(void) dlake_config_get_for_user(server, GetUserId());

	if (ruleset != NULL)
	{
		if (dlake_ruleset_exists == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("rule sets are not available in this build")));
		if (!dlake_ruleset_exists(ruleset))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("rule set \"%s\" does not exist", ruleset),
					 errhint("Create it with dlake.create_ruleset first.")));
	}

	qname = psprintf("dlake_staging.%s", quote_identifier(name));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	{
		Datum		args[1] = {CStringGetTextDatum(name)};
		Oid			types[1] = {TEXTOID};

		become_superuser(&su);
		ret = SPI_execute_with_args("SELECT 1 FROM dlake.streams WHERE name = $1",
									1, types, args, NULL, true, 1);
		restore_user(&su);
		if (ret == SPI_OK_SELECT && SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("stream \"%s\" already exists", name)));
	}

	/*
	 * Staging table, created and owned by the caller.  A row holds the
	 * record twice (bytes and jsonb), so rows of about 1 KB records pass
	 * the TOAST threshold and get compressed: lz4 where the server has it,
	 * several times cheaper than pglz on the ingest path.
	 */
#ifdef USE_LZ4
#define STAGING_COMPRESSION " COMPRESSION lz4"
#else
#define STAGING_COMPRESSION ""
#endif
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TABLE %s ("
					 " id bigserial PRIMARY KEY,"
					 " stream text NOT NULL,"
					 " shard_id text NOT NULL,"
					 " sequence_number numeric NOT NULL,"
					 " sub_sequence_number integer NOT NULL DEFAULT 0,"
					 " partition_key text NOT NULL,"
					 " explicit_hash_key text,"
					 " approximate_arrival_timestamp timestamptz,"
					 " ingested_at timestamptz NOT NULL DEFAULT now(),"
					 " data bytea" STAGING_COMPRESSION " NOT NULL,"
					 " payload jsonb" STAGING_COMPRESSION ","
					 " UNIQUE (shard_id, sequence_number, sub_sequence_number))",
					 qname);
	ret = SPI_execute(sql.data, false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "creating the staging table failed: %d", ret);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX ON %s USING brin (ingested_at)", qname);
	SPI_execute(sql.data, false, 0);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON TABLE %s IS %s", qname,
					 quote_literal_cstr(psprintf("dlake: staging of Kinesis stream %s", kstream)));
	SPI_execute(sql.data, false, 0);
	relid = DatumGetObjectId(DirectFunctionCall1(to_regclass, CStringGetTextDatum(qname)));

	{
		Datum		args[10];
		char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, OIDOID, TEXTOID,
		TIMESTAMPTZOID, TEXTOID, INT4OID, INT4OID, INTERVALOID};

		args[0] = CStringGetTextDatum(name);
		args[1] = CStringGetTextDatum(kstream);
		args[2] = server ? CStringGetTextDatum(server) : (Datum) 0;
		nulls[2] = server ? ' ' : 'n';
		args[3] = ObjectIdGetDatum(GetUserId());
		args[4] = CStringGetTextDatum(start_kind);
		args[5] = start_ts;
		nulls[5] = start_ts ? ' ' : 'n';
		args[6] = ruleset ? CStringGetTextDatum(ruleset) : (Datum) 0;
		nulls[6] = ruleset ? ' ' : 'n';
		args[7] = Int32GetDatum(batch_size);
		args[8] = Int32GetDatum(max_record_bytes);
		args[9] = retention;
		nulls[9] = PG_ARGISNULL(7) ? 'n' : ' ';

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "INSERT INTO dlake.streams (name, kinesis_stream, server_name, owner,"
						 " start_at, start_timestamp, ruleset, batch_size, max_record_bytes,"
						 " retention, staging) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, %u)",
						 relid);
		become_superuser(&su);
		ret = SPI_execute_with_args(sql.data, 10, types, args, nulls, false, 0);
		restore_user(&su);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "inserting the stream failed: %d", ret);
	}
	SPI_finish();
	PG_RETURN_OID(relid);
}

static void
set_stream_enabled(const char *name, bool enabled)
{
	Oid			staging;
	bool		was;
	int			stream_id;
	AsSuperuser su;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_id = lookup_stream_for_change(name, &staging, &was);
	if (was != enabled)
	{
		become_superuser(&su);
		SPI_execute(psprintf("UPDATE dlake.streams SET enabled = %s WHERE stream_id = %d",
							 enabled ? "true" : "false", stream_id), false, 0);
		restore_user(&su);
	}
	SPI_finish();
}

/* dlake.pause_stream(name): workers stop reading it at their next poll */
Datum
dlake_pause_stream(PG_FUNCTION_ARGS)
{
	set_stream_enabled(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	PG_RETURN_VOID();
}

/* dlake.resume_stream(name): reading resumes from the checkpoints */
Datum
dlake_resume_stream(PG_FUNCTION_ARGS)
{
	set_stream_enabled(text_to_cstring(PG_GETARG_TEXT_PP(0)), true);
	PG_RETURN_VOID();
}

/*
 * dlake.drop_stream(name, keep_staging): removes the stream, its shards,
 * checkpoints, dead letters and errors; drops the staging table unless
 * keep_staging.
 */
Datum
dlake_drop_stream(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		keep = PG_GETARG_BOOL(1);
	Oid			staging;
	bool		enabled;
	int			stream_id;
	AsSuperuser su;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_id = lookup_stream_for_change(name, &staging, &enabled);
	become_superuser(&su);
	SPI_execute(psprintf("DELETE FROM dlake.streams WHERE stream_id = %d", stream_id),
				false, 0);
	if (!keep && OidIsValid(staging) && get_rel_name(staging) != NULL)
		SPI_execute(psprintf("DROP TABLE IF EXISTS %s",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(staging)),
														get_rel_name(staging))),
					false, 0);
	restore_user(&su);
	SPI_finish();
	PG_RETURN_VOID();
}

/* sleep with the latch, interruptible */
static void
put_backoff(int round)
{
	long		cap = Min((long) dlake_retry_max_delay_ms,
						  (long) dlake_retry_base_delay_ms << Min(round, 16));
	long		ms = (long) (pg_prng_double(&pg_global_prng_state) * cap);

	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(ms, 1), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * put_records_common sends the entries with PutRecords (≤ 500 per request),
 * re-sending only the entries that failed, and returns one row per entry.
 */
static Datum
put_records_common(FunctionCallInfo fcinfo, bool payload_is_text)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kstream;
	char	   *server = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	Datum	   *keys,
			   *vals,
			   *ehks = NULL;
	bool	   *knulls,
			   *vnulls,
			   *enulls = NULL;
	int			nkeys,
				nvals,
				nehks = 0;
	KinesisPutEntry *entries;
	DlakeConfig *cfg;
	KinesisClient client;
	KinesisError err;
	int			remaining;
	int			stalls;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kinesis_stream, partition_keys and payloads must not be null")));
	kstream = text_to_cstring(PG_GETARG_TEXT_PP(0));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &keys, &knulls, &nkeys);
	if (payload_is_text)
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &vals, &vnulls, &nvals);
	else
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), BYTEAOID, -1, false, TYPALIGN_INT,
						  &vals, &vnulls, &nvals);
	if (!PG_ARGISNULL(4))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false, TYPALIGN_INT,
						  &ehks, &enulls, &nehks);
	if (nkeys != nvals || (ehks && nehks != nvals))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("partition_keys and payloads must have the same length"),
				 errdetail("%d partition keys, %d payloads%s.", nkeys, nvals,
						   ehks ? psprintf(", %d explicit hash keys", nehks) : "")));

	entries = palloc0(sizeof(KinesisPutEntry) * Max(nvals, 1));
	for (i = 0; i < nvals; i++)
	{
		if (knulls[i] || vnulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("partition key and payload %d must not be null", i + 1)));
		entries[i].partition_key = TextDatumGetCString(keys[i]);
		if (entries[i].partition_key[0] == '\0' || strlen(entries[i].partition_key) > 256)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("partition key %d must have 1 to 256 characters", i + 1)));
		{
			bytea	   *b = DatumGetByteaPP(vals[i]);

			entries[i].data = VARDATA_ANY(b);
			entries[i].data_len = VARSIZE_ANY_EXHDR(b);
		}
		if (ehks && !enulls[i])
			entries[i].explicit_hash_key = TextDatumGetCString(ehks[i]);
	}

	InitMaterializedSRF(fcinfo, 0);

	if (nvals > 0)
	{
		cfg = dlake_config_get(server);
		memset(&client, 0, sizeof(client));
		client.creds = dlake_config_credentials(cfg);
		client.endpoint = dlake_config_endpoint(cfg, "kinesis", NULL, NULL);
		client.region = cfg->region;
		client.stream_name = kstream;

		remaining = nvals;
		stalls = 0;
		while (remaining > 0)
		{
			int			left;

			CHECK_FOR_INTERRUPTS();
			left = kinesis_put_records_once(&client, entries, nvals, &err);
			if (left < 0)
				kinesis_report_error(&err, psprintf("PutRecords to Kinesis stream \"%s\"", kstream));
			if (left >= remaining)
			{
				/* no entry of this request succeeded: back off, then give up */
				if (++stalls > PUT_MAX_ROUNDS)
				{
					for (i = 0; i < nvals && entries[i].done; i++)
						;
					ereport(ERROR,
							(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
							 errmsg("%d of %d records could not be put to Kinesis stream \"%s\"",
									left, nvals, kstream),
							 errdetail("Entry %d failed %d times, last with %s: %s.", i + 1,
									   entries[i].attempts,
									   entries[i].error_code ? entries[i].error_code : "?",
									   entries[i].error_message ? entries[i].error_message : ""),
							 errhint("The other records were written; PutRecords does not guarantee order.")));
				}
				put_backoff(stalls);
			}
			else
				stalls = 0;
			remaining = left;
		}
	}

	for (i = 0; i < nvals; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(entries[i].shard_id ? entries[i].shard_id : "");
		if (entries[i].sequence_number)
			values[2] = DirectFunctionCall3(numeric_in,
											CStringGetDatum(entries[i].sequence_number),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		else
			nulls[2] = true;
		values[3] = Int32GetDatum(entries[i].attempts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* dlake.put_records(kinesis_stream, partition_keys, payloads bytea[], server, explicit_hash_keys) */
Datum
dlake_put_records(PG_FUNCTION_ARGS)
{
	return put_records_common(fcinfo, false);
}

/* dlake.put_records(..., payloads text[], ...): the text's bytes are sent */
Datum
dlake_put_records_text(PG_FUNCTION_ARGS)
{
	return put_records_common(fcinfo, true);
}

/*
 * dlake.stream_payload(bytea): the staging payload for these bytes, as the
 * worker computes it (one-pass builder; the text cast when it is unsure)
 */
Datum
dlake_stream_payload(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *data = VARDATA_ANY(b);
	int			len = VARSIZE_ANY_EXHDR(b);
	Jsonb	   *jb;

	switch (dlake_bytes_to_jsonb(data, len, &jb))
	{
		case DLAKE_JSON_BUILT:
			PG_RETURN_POINTER(jb);
		case DLAKE_JSON_UNSURE:
			if (dlake_bytes_are_json(data, len))
				return DirectFunctionCall1(jsonb_in,
										   CStringGetDatum(pnstrdup(data, len)));
			break;
		default:
			break;
	}
	PG_RETURN_NULL();
}

/* dlake.kpl_deaggregate(bytea): the user records of one aggregate */
Datum
dlake_kpl_deaggregate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	KinesisRecord outer;
	List	   *subs = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	memset(&outer, 0, sizeof(outer));
	outer.sequence_number = "0";
	outer.partition_key = "";
	outer.data = VARDATA_ANY(b);
	outer.data_len = VARSIZE_ANY_EXHDR(b);
	if (!kpl_deaggregate(&outer, &subs))
		subs = list_make1(&outer);
	foreach(lc, subs)
	{
		KinesisRecord *r = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		bytea	   *d = palloc(VARHDRSZ + r->data_len);

		SET_VARSIZE(d, VARHDRSZ + r->data_len);
		memcpy(VARDATA(d), r->data, r->data_len);
		values[0] = Int32GetDatum(r->sub_sequence_number);
		values[1] = CStringGetTextDatum(r->partition_key);
		if (r->explicit_hash_key)
			values[2] = CStringGetTextDatum(r->explicit_hash_key);
		else
			nulls[2] = true;
		values[3] = PointerGetDatum(d);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
