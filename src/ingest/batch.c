/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  Commits one GetRecords page: staging rows, dead letters, the rule set
 *	  hook and the shard checkpoint in one short transaction, so that a
 *	  crash at any point either stores the page and its checkpoint or
 *	  neither (exactly once together with the unique key on
 *	  (shard_id, sequence_number, sub_sequence_number)).
 *
 *	  The rows go in with one INSERT ... SELECT FROM unnest(arrays) ON
 *	  CONFLICT DO NOTHING per page, executed as the stream's owner.  If that
 *	  statement fails, the page is retried row by row in subtransactions: a
 *	  row whose JSON payload cannot be stored is kept with payload NULL, a
 *	  row that still fails goes to dlake.dead_letters with the error.  The
 *	  checkpoint is fenced: it only advances from the value the worker
 *	  read, so a worker that lost track of the shard cannot move it.
 *
 * IDENTIFICATION
 *	  src/ingest/batch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "etl/rules.h"
#include "ingest/ingest.h"

/* rule sets are optional at link time */
#pragma weak dlake_ruleset_apply_batch

#define JSON_MAX_DEPTH 1000

/*
 * ingest_compare_sequence compares decimal strings without leading zeros
 * numerically: a longer string is the larger number.
 */
int
ingest_compare_sequence(const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b);
	int			c;

	if (la != lb)
		return la < lb ? -1 : 1;
	c = strcmp(a, b);
	return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/* nesting depth of JSON text outside strings (cheap guard before parsing) */
static int
json_depth(const char *s, int len)
{
	int			depth = 0,
				max = 0;
	bool		in_str = false;
	int			i;

	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_str)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		}
		else if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > max)
				max = depth;
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return max;
}

/* does the text contain the escape \u0000 (any case of the hex digits)? */
static bool
has_nul_escape(const char *s, int len)
{
	const char *p = s;
	const char *end = s + len;

	while ((p = memchr(p, '\\', end - p)) != NULL)
	{
		if (end - p >= 6 && p[1] == 'u' && p[2] == '0' && p[3] == '0' &&
			p[4] == '0' && p[5] == '0')
			return true;
		p += (end - p >= 2) ? 2 : 1;	/* skip the escaped character */
		if (p >= end)
			break;
	}
	return false;
}

/*
 * dlake_bytes_are_json: valid in the database encoding, nesting below a
 * bound, accepted by the JSON parser, and without \u0000 (which jsonb
 * refuses).  The parser runs without de-escaping strings (much cheaper); a
 * value jsonb still refuses (an invalid surrogate pair) makes the batch
 * insert fall back to row by row, which stores that row with payload NULL.
 */
bool
dlake_bytes_are_json(const char *data, int len)
{
	JsonLexContext *lex;

	if (len == 0 || memchr(data, '\0', len) != NULL)
		return false;
	if (!pg_verify_mbstr(GetDatabaseEncoding(), data, len, true))
		return false;
	if (json_depth(data, len) > JSON_MAX_DEPTH || has_nul_escape(data, len))
		return false;
	/* the lexer is bounded by len and does not write to the input */
	lex = makeJsonLexContextCstringLen(unconstify(char *, data), len,
									   GetDatabaseEncoding(), false);
	return pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
}

/*
 * The arrays are unnested in the select list (set-returning functions in
 * lockstep, ProjectSet): unnest in FROM would materialize the whole page in
 * a tuplestore first, which spills a page of 1 KB records to a temporary
 * file.
 */
static const char insert_sql_fmt[] =
"WITH ins AS (INSERT INTO %s (stream, shard_id, sequence_number, sub_sequence_number,"
" partition_key, explicit_hash_key, approximate_arrival_timestamp, data, payload)"
" SELECT $1, $2, u.s::numeric, u.ss, u.pk, u.ehk, u.ts, u.d, coalesce(u.pj, u.p::jsonb)"
" FROM (SELECT unnest($3::text[]) AS s, unnest($4::int4[]) AS ss, unnest($5::text[]) AS pk,"
" unnest($6::text[]) AS ehk, unnest($7::timestamptz[]) AS ts, unnest($8::bytea[]) AS d,"
" unnest($9::text[]) AS p, unnest($10::jsonb[]) AS pj) AS u"
" ON CONFLICT (shard_id, sequence_number, sub_sequence_number) DO NOTHING"
" RETURNING id)"
" SELECT count(*), min(id), max(id) FROM ins";

static Datum
make_array(Datum *elems, bool *nulls, int n, Oid elemtype)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/*
 * insert_rows runs the page insert for records idx[0..n) as the current
 * user; with_payload=false stores payload NULL.  The payload is jb[i] when
 * it was built in C, else the text cast when is_json[i].  Returns rows
 * inserted and the id range.
 */
static int64
insert_rows(const IngestTarget *t, const char *sql, KinesisRecord *recs,
			const int *idx, int n, const bool *is_json, Jsonb *const *jb,
			bool with_payload, int64 *first_id, int64 *last_id)
{
	Datum	   *seq = palloc(sizeof(Datum) * n),
			   *sub = palloc(sizeof(Datum) * n),
			   *pk = palloc(sizeof(Datum) * n),
			   *ehk = palloc(sizeof(Datum) * n),
			   *ts = palloc(sizeof(Datum) * n),
			   *data = palloc(sizeof(Datum) * n),
			   *pay = palloc(sizeof(Datum) * n),
			   *payj = palloc(sizeof(Datum) * n);
	bool	   *nn = palloc0(sizeof(bool) * n),
			   *ehknull = palloc(sizeof(bool) * n),
			   *tsnull = palloc(sizeof(bool) * n),
			   *paynull = palloc(sizeof(bool) * n),
			   *payjnull = palloc(sizeof(bool) * n);
	Datum		args[10];
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TIMESTAMPTZARRAYOID, BYTEAARRAYOID, TEXTARRAYOID,
	JSONBARRAYOID};
	int			ret;
	int64		count;
	bool		isnull;
	int			i;

	for (i = 0; i < n; i++)
	{
		KinesisRecord *r = &recs[idx[i]];
		bytea	   *b;

		if (r->data_varlena)
			b = (bytea *) (r->data - VARHDRSZ); /* decoded with header room */
		else
		{
			b = palloc(VARHDRSZ + r->data_len);
			memcpy(VARDATA(b), r->data, r->data_len);
		}
		SET_VARSIZE(b, VARHDRSZ + r->data_len);
		seq[i] = CStringGetTextDatum(r->sequence_number);
		sub[i] = Int32GetDatum(r->sub_sequence_number);
		pk[i] = CStringGetTextDatum(r->partition_key);
		ehknull[i] = (r->explicit_hash_key == NULL);
		ehk[i] = ehknull[i] ? (Datum) 0 : CStringGetTextDatum(r->explicit_hash_key);
		tsnull[i] = (r->arrival == 0);
		ts[i] = TimestampTzGetDatum(r->arrival);
		data[i] = PointerGetDatum(b);
		paynull[i] = !(with_payload && is_json[idx[i]]);
		pay[i] = paynull[i] ? (Datum) 0 :
			PointerGetDatum(cstring_to_text_with_len(r->data, r->data_len));
		payjnull[i] = !(with_payload && jb[idx[i]] != NULL);
		payj[i] = payjnull[i] ? (Datum) 0 : PointerGetDatum(jb[idx[i]]);
	}
	args[0] = CStringGetTextDatum(t->stream_name);
	args[1] = CStringGetTextDatum(t->shard_id);
	args[2] = make_array(seq, nn, n, TEXTOID);
	args[3] = make_array(sub, nn, n, INT4OID);
	args[4] = make_array(pk, nn, n, TEXTOID);
	args[5] = make_array(ehk, ehknull, n, TEXTOID);
	args[6] = make_array(ts, tsnull, n, TIMESTAMPTZOID);
	args[7] = make_array(data, nn, n, BYTEAOID);
	args[8] = make_array(pay, paynull, n, TEXTOID);
	args[9] = make_array(payj, payjnull, n, JSONBOID);

	ret = SPI_execute_with_args(sql, 10, types, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "staging insert failed: SPI result %d", ret);
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (count > 0)
	{
		int64		lo = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		int64		hi = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

		if (*first_id == 0 || lo < *first_id)
			*first_id = lo;
		if (hi > *last_id)
			*last_id = hi;
	}
	return count;
}

/* insert one dead letter (as superuser) */
static void
insert_dead_letter(const IngestTarget *t, const KinesisRecord *r, const char *reason,
				   bool keep_data)
{
	Datum		args[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			types[9] = {INT4OID, TEXTOID, TEXTOID, INT4OID, TEXTOID,
	TIMESTAMPTZOID, INT4OID, BYTEAOID, TEXTOID};
	int			ret;

	args[0] = Int32GetDatum(t->stream_id);
	args[1] = CStringGetTextDatum(t->shard_id);
	args[2] = CStringGetTextDatum(r->sequence_number);
	args[3] = Int32GetDatum(r->sub_sequence_number);
	args[4] = CStringGetTextDatum(r->partition_key);
	args[5] = TimestampTzGetDatum(r->arrival);
	nulls[5] = r->arrival == 0 ? 'n' : ' ';
	args[6] = Int32GetDatum(r->data_len);
	if (keep_data)
	{
		bytea	   *b = palloc(VARHDRSZ + r->data_len);

		SET_VARSIZE(b, VARHDRSZ + r->data_len);
		memcpy(VARDATA(b), r->data, r->data_len);
		args[7] = PointerGetDatum(b);
	}
	else
		nulls[7] = 'n';
	args[8] = CStringGetTextDatum(reason);
	ret = SPI_execute_with_args("INSERT INTO dlake.dead_letters (stream_id, shard_id,"
								" sequence_number, sub_sequence_number, partition_key,"
								" approximate_arrival_timestamp, data_length, data, reason)"
								" VALUES ($1, $2, $3::numeric, $4, $5, $6, $7, $8, $9)"
								" ON CONFLICT DO NOTHING",
								9, types, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "dead letter insert failed: SPI result %d", ret);
}

/*
 * try_insert runs insert_rows in a subtransaction; returns false with
 * *errmsg set when it failed (state rolled back).
 */
static bool
try_insert(const IngestTarget *t, const char *sql, KinesisRecord *recs, const int *idx,
		   int n, const bool *is_json, Jsonb *const *jb, bool with_payload,
		   int64 *inserted,
		   int64 *first_id, int64 *last_id, char **emsg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		*inserted += insert_rows(t, sql, recs, idx, n, is_json, jb, with_payload,
								 first_id, last_id);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		*emsg = pstrdup(edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

void
ingest_commit_batch(const IngestTarget *t, KinesisRecord *recs, int n,
					const IngestBatchStats *st, IngestBatchResult *res)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Oid			save_userid;
	int			save_sec;
	char	   *sql;
	int		   *store_idx;
	int			nstore = 0;
	bool	   *is_json;
	Jsonb	  **jb;
	int64		first_id = 0,
				last_id = 0;
	int64		stored_bytes = 0;
	int			ret;
	int			i;

	memset(res, 0, sizeof(*res));

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(callercxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* fencing: the shard must still be ours and at the expected checkpoint */
	{
		Datum		args[2] = {Int32GetDatum(t->stream_id), CStringGetTextDatum(t->shard_id)};
		Oid			types[2] = {INT4OID, TEXTOID};
		bool		isnull_seq,
					isnull_sub;
		char	   *seq = NULL;
		int			sub = 0;
		bool		same;

		ret = SPI_execute_with_args("SELECT sh.checkpoint_sequence::text, sh.checkpoint_sub_sequence"
									" FROM dlake.shards sh JOIN dlake.streams s USING (stream_id)"
									" WHERE sh.stream_id = $1 AND sh.shard_id = $2 AND s.enabled"
									" AND sh.state IN ('waiting', 'reading')"
									" FOR UPDATE OF sh",
									2, types, args, NULL, false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "checkpoint lookup failed: SPI result %d", ret);
		if (SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull_seq);

			if (!isnull_seq)
				seq = TextDatumGetCString(d);
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull_sub);
			if (!isnull_sub)
				sub = DatumGetInt32(d);
			if (seq == NULL || t->expect_sequence == NULL)
				same = (seq == NULL && t->expect_sequence == NULL);
			else
				same = ingest_compare_sequence(seq, t->expect_sequence) == 0 &&
					sub == t->expect_sub_sequence;
		}
		else
			same = false;
		if (!same)
		{
			/* lost the shard (paused, dropped, or moved by someone else) */
			SPI_finish();
			PopActiveSnapshot();
			AbortCurrentTransaction();
			MemoryContextSwitchTo(callercxt);
			res->committed = false;
			return;
		}
	}

	/* split the page: storable rows and dead letters */
	store_idx = palloc(sizeof(int) * Max(n, 1));
	is_json = palloc(sizeof(bool) * Max(n, 1));
	jb = palloc0(sizeof(Jsonb *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		KinesisRecord *r = &recs[i];

		if (t->dead_letter_reason != NULL)
		{
			/* the retry policy gave up on this page */
			insert_dead_letter(t, r, t->dead_letter_reason, true);
			res->dead_letters++;
			res->policy_dead_letters++;
			continue;
		}
		if (t->out_of_range != NULL && t->out_of_range[i])
		{
			res->out_of_range++;
			if (t->out_of_range_dead_letter)
			{
				insert_dead_letter(t, r, t->out_of_range_reason[i], true);
				res->dead_letters++;
				continue;
			}
		}
		if (r->data_len > t->max_record_bytes)
		{
			insert_dead_letter(t, r,
							   psprintf("record of %d bytes exceeds max_record_bytes (%d)",
										r->data_len, t->max_record_bytes), false);
			res->dead_letters++;
			continue;
		}
		/* payload: built here in one pass, or by the text cast when unsure */
		is_json[i] = false;
		if (dlake_bytes_to_jsonb(r->data, r->data_len, &jb[i]) == DLAKE_JSON_UNSURE)
			is_json[i] = dlake_bytes_are_json(r->data, r->data_len);
		store_idx[nstore++] = i;
		stored_bytes += r->data_len;
	}

	sql = psprintf(insert_sql_fmt, t->staging_qualname);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	/*
	 * The owner's code (triggers on staging, the rule set) runs as the owner
	 * in a restricted operation, as in maintenance commands: it cannot take
	 * over the worker's superuser session.
	 */
	SetUserIdAndSecContext(t->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (nstore > 0)
	{
		char	   *emsg = NULL;

		if (!try_insert(t, sql, recs, store_idx, nstore, is_json, jb, true,
						&res->inserted, &first_id, &last_id, &emsg))
		{
			/* row by row: without payload, then dead letter */
			ereport(LOG,
					(errmsg("dlake stream \"%s\" shard %s: page insert failed, retrying row by row: %s",
							t->stream_name, t->shard_id, emsg)));
			for (i = 0; i < nstore; i++)
			{
				char	   *e1 = NULL,
						   *e2 = NULL;

				if (try_insert(t, sql, recs, &store_idx[i], 1, is_json, jb, true,
							   &res->inserted, &first_id, &last_id, &e1))
					continue;
				if (try_insert(t, sql, recs, &store_idx[i], 1, is_json, jb, false,
							   &res->inserted, &first_id, &last_id, &e2))
					continue;
				SetUserIdAndSecContext(save_userid, save_sec);
				insert_dead_letter(t, &recs[store_idx[i]], e2, true);
				SetUserIdAndSecContext(t->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
									   SECURITY_RESTRICTED_OPERATION);
				res->dead_letters++;
			}
		}
	}
	res->duplicates = nstore - res->dead_letters - res->inserted;
	if (res->duplicates < 0)
		res->duplicates = 0;

	/* rule set hook: same transaction, after the staging insert */
	if (t->ruleset != NULL && res->inserted > 0)
	{
		DlakeRuleCounts counts;

		if (dlake_ruleset_apply_batch == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("stream \"%s\" names rule set \"%s\" but rule sets are not available in this build",
							t->stream_name, t->ruleset)));
		memset(&counts, 0, sizeof(counts));
		dlake_ruleset_apply_batch(t->ruleset, t->staging_relid, NULL, NULL,
								  first_id, last_id, &counts);
	}
	SetUserIdAndSecContext(save_userid, save_sec);

	/* checkpoint and live figures */
	{
		Datum		args[17];
		char		nulls[17];
		Oid			types[17] = {INT4OID, TEXTOID, TEXTOID, INT4OID, INT8OID, INT8OID,
			INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, INT4OID, BOOLOID,
		INT8OID, INT8OID, INT8OID};

		memset(nulls, ' ', sizeof(nulls));
		args[0] = Int32GetDatum(t->stream_id);
		args[1] = CStringGetTextDatum(t->shard_id);
		if (st->new_sequence)
		{
			args[2] = CStringGetTextDatum(st->new_sequence);
			args[3] = Int32GetDatum(st->new_sub_sequence);
		}
		else
			nulls[2] = nulls[3] = 'n';
		args[4] = Int64GetDatum(res->inserted);
		args[5] = Int64GetDatum(stored_bytes);
		args[6] = Int64GetDatum(res->dead_letters);
		args[7] = Int64GetDatum(st->throttles);
		args[8] = Int64GetDatum(st->expired_iterators);
		args[9] = Int64GetDatum(st->millis_behind);
		nulls[9] = st->millis_behind < 0 ? 'n' : ' ';
		args[10] = Float8GetDatum(st->records_per_s);
		args[11] = Float8GetDatum(st->bytes_per_s);
		args[12] = Int32GetDatum(st->worker_pid);
		args[13] = BoolGetDatum(st->shard_finished);
		args[14] = Int64GetDatum(n > 0 ? 1 : 0);
		args[15] = Int64GetDatum(res->out_of_range);
		args[16] = Int64GetDatum(res->policy_dead_letters);
		ret = SPI_execute_with_args("UPDATE dlake.shards SET"
									" checkpoint_sequence = coalesce($3::numeric, checkpoint_sequence),"
									" checkpoint_sub_sequence = coalesce($4, checkpoint_sub_sequence),"
									" records = records + $5, bytes = bytes + $6, batches = batches + $15,"
									" dead_letters = dead_letters + $7, throttles = throttles + $8,"
									" expired_iterators = expired_iterators + $9,"
									" millis_behind_latest = coalesce($10, millis_behind_latest),"
									" records_per_s = $11, bytes_per_s = $12, worker_pid = $13,"
									" state = CASE WHEN $14 THEN 'finished' ELSE 'reading' END,"
									" finished_at = CASE WHEN $14 THEN now() END,"
									" last_batch_at = CASE WHEN $15 > 0 THEN now() ELSE last_batch_at END,"
									" last_error = NULL, last_error_at = NULL,"
									" out_of_range_records = out_of_range_records + $16,"
									" policy_dead_letters = policy_dead_letters + $17"
									" WHERE stream_id = $1 AND shard_id = $2",
									17, types, args, nulls, false, 0);
		if (ret != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "checkpoint update failed: SPI result %d", ret);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(callercxt);
	res->committed = true;
}
