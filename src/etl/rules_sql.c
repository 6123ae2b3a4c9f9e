/*-------------------------------------------------------------------------
 *
 * rules_sql.c
 *	  Small SQL-callable helpers of the rule set compiler and of
 *	  dlake.apply_ruleset: closest-name suggestions, a guard that a rule's
 *	  SQL text is one scalar expression, xid widening for incremental
 *	  progress tracking, and the batch tally of apply_ruleset's fast path.
 *
 * IDENTIFICATION
 *	  src/etl/rules_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "storage/itemptr.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"
#include "utils/xid8.h"

PG_FUNCTION_INFO_V1(dlake_closest_match);
PG_FUNCTION_INFO_V1(dlake_check_expr);
PG_FUNCTION_INFO_V1(dlake_xmin8);

/*
 * dlake._closest_match(word text, candidates text[]) returns the candidate
 * closest to word by Levenshtein distance, or NULL when none is close
 * enough (distance at most half the word's length), for "Perhaps you
 * meant" hints.
 */
Datum
dlake_closest_match(PG_FUNCTION_ARGS)
{
	text	   *word = PG_GETARG_TEXT_PP(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	const char *w = VARDATA_ANY(word);
	int			wlen = VARSIZE_ANY_EXHDR(word);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int			best = -1;
	int			best_d = Max(1, wlen / 2) + 1;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		text	   *c;
		int			d;

		if (nulls[i])
			continue;
		c = DatumGetTextPP(elems[i]);
		d = varstr_levenshtein_less_equal(w, wlen, VARDATA_ANY(c),
										  VARSIZE_ANY_EXHDR(c), 1, 1, 1,
										  best_d, true);
		if (d < best_d)
		{
			best_d = d;
			best = i;
		}
	}
	if (best < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(elems[best]);
}

/*
 * dlake._check_expr(expr text, rule text) raises unless expr is exactly one
 * scalar SQL expression.  Rule SQL is pasted into generated statements, so
 * text such as "1) FROM t; DROP TABLE x; SELECT (1" must be refused before
 * anything runs: we parse "SELECT (<expr>)" and require a plain one-column
 * SELECT without FROM or any other clause.  Name resolution and typing are
 * checked later by the compiler over a typed empty relation.
 */
Datum
dlake_check_expr(PG_FUNCTION_ARGS)
{
	char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *rule = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *sql = psprintf("SELECT (%s\n)", expr);
	List	   *stmts;
	SelectStmt *sel = NULL;
	bool		ok = false;

	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(stmts) == 1)
	{
		RawStmt    *raw = linitial_node(RawStmt, stmts);

		if (IsA(raw->stmt, SelectStmt))
			sel = (SelectStmt *) raw->stmt;
	}
	if (sel != NULL &&
		sel->op == SETOP_NONE &&
		list_length(sel->targetList) == 1 &&
		sel->distinctClause == NIL &&
		sel->intoClause == NULL &&
		sel->fromClause == NIL &&
		sel->whereClause == NULL &&
		sel->groupClause == NIL &&
		sel->havingClause == NULL &&
		sel->windowClause == NIL &&
		sel->valuesLists == NIL &&
		sel->sortClause == NIL &&
		sel->limitOffset == NULL &&
		sel->limitCount == NULL &&
		sel->lockingClause == NIL &&
		sel->withClause == NULL)
		ok = true;

	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule \"%s\" is not a single SQL expression", rule),
				 errdetail("The text was: %s", expr),
				 errhint("Write one scalar expression over the record's fields, such as \"value > 0 AND unit = 'C'\".")));
	PG_RETURN_VOID();
}

/*
 * dlake._xmin8(xid) widens a row's xmin to xid8 so that it can be tested
 * with pg_visible_in_snapshot.  The rows we can see were written by
 * transactions older than the next xid, so the epoch is that of the next
 * full xid, minus one when the xid is numerically above it (wrapped).  The
 * next xid is read once per query (fn_extra) to keep the per-row cost to a
 * few instructions.  Frozen and bootstrap xids are older than any snapshot:
 * they map to 3 (FirstNormalTransactionId), always visible.
 */
Datum
dlake_xmin8(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));
	FullTransactionId *next = (FullTransactionId *) fcinfo->flinfo->fn_extra;
	uint32		epoch;

	if (!TransactionIdIsNormal(xid))
		PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromU64(FirstNormalTransactionId));

	if (next == NULL)
	{
		next = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(FullTransactionId));
		*next = ReadNextFullTransactionId();
		fcinfo->flinfo->fn_extra = next;
	}
	epoch = EpochFromFullTransactionId(*next);
	if (xid >= XidFromFullTransactionId(*next))
		epoch--;
	PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromEpochAndXid(epoch, xid));
}

/*
 * Batch tally: the fast path of dlake.apply_ruleset routes a batch with a
 * plain INSERT into cleansed (no materialised batch shared by two inserts)
 * whose WHERE clause is dlake._rules_tally(drop, ok, ctid).  The function
 * counts every row it sees, keeps the valid ones, and remembers the ctids
 * of the rejected ones, which the caller then routes through the full
 * statement (quarantine).  The state lives in backend memory between
 * _rules_tally_reset() and _rules_tally_get(); a generation number makes a
 * nested use (a trigger applying another rule set mid-statement) fail
 * loudly instead of mixing counts.
 */
typedef struct DlakeRulesTally
{
	int64		generation;
	int64		seen;
	int64		dropped;
	int64		rejected;
	ItemPointerData *tids;
	int			ntids;
	int			maxtids;
	MemoryContext cxt;
} DlakeRulesTally;

static DlakeRulesTally rules_tally;

PG_FUNCTION_INFO_V1(dlake_rules_tally_reset);
PG_FUNCTION_INFO_V1(dlake_rules_tally);
PG_FUNCTION_INFO_V1(dlake_rules_tally_get);

/*
 * dlake._rules_tally_reset() → generation: starts a new tally.
 */
Datum
dlake_rules_tally_reset(PG_FUNCTION_ARGS)
{
	if (rules_tally.cxt == NULL)
		rules_tally.cxt = AllocSetContextCreate(TopMemoryContext,
												"dlake rule set tally",
												ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(rules_tally.cxt);
	rules_tally.generation++;
	rules_tally.seen = 0;
	rules_tally.dropped = 0;
	rules_tally.rejected = 0;
	rules_tally.tids = NULL;
	rules_tally.ntids = 0;
	rules_tally.maxtids = 0;
	PG_RETURN_INT64(rules_tally.generation);
}

/*
 * dlake._rules_tally(drop boolean, ok boolean, row tid) → keep the row?
 * Counts the row as dropped, rejected (remembering its tid) or valid.
 */
Datum
dlake_rules_tally(PG_FUNCTION_ARGS)
{
	bool		drop = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
	bool		ok = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	if (rules_tally.cxt == NULL)
		elog(ERROR, "dlake._rules_tally called without dlake._rules_tally_reset");
	rules_tally.seen++;
	if (drop)
	{
		rules_tally.dropped++;
		PG_RETURN_BOOL(false);
	}
	if (ok)
		PG_RETURN_BOOL(true);

	rules_tally.rejected++;
	if (PG_ARGISNULL(2))
		elog(ERROR, "dlake._rules_tally needs the row's ctid");
	if (rules_tally.ntids == rules_tally.maxtids)
	{
		int			newmax = Max(64, rules_tally.maxtids * 2);

		if (rules_tally.tids == NULL)
			rules_tally.tids = MemoryContextAlloc(rules_tally.cxt,
												  newmax * sizeof(ItemPointerData));
		else
			rules_tally.tids = repalloc(rules_tally.tids,
										newmax * sizeof(ItemPointerData));
		rules_tally.maxtids = newmax;
	}
	rules_tally.tids[rules_tally.ntids++] = *((ItemPointer) PG_GETARG_POINTER(2));
	PG_RETURN_BOOL(false);
}

/*
 * dlake._rules_tally_get(generation, OUT seen, OUT dropped, OUT rejected,
 * OUT tids tid[]): the counts of the tally started with that generation.
 */
Datum
dlake_rules_tally_get(PG_FUNCTION_ARGS)
{
	int64		gen = PG_GETARG_INT64(0);
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Datum	   *elems;
	int			i;

	if (gen != rules_tally.generation || rules_tally.cxt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rule set batch tally was reset during the batch"),
				 errdetail("Another rule set was applied while a batch was being routed (from a trigger on a cleansed table?)."),
				 errhint("Do not apply rule sets from triggers on cleansed tables.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	elems = palloc(sizeof(Datum) * Max(1, rules_tally.ntids));
	for (i = 0; i < rules_tally.ntids; i++)
		elems[i] = PointerGetDatum(&rules_tally.tids[i]);

	values[0] = Int64GetDatum(rules_tally.seen);
	values[1] = Int64GetDatum(rules_tally.dropped);
	values[2] = Int64GetDatum(rules_tally.rejected);
	values[3] = PointerGetDatum(construct_array(elems, rules_tally.ntids, TIDOID,
												sizeof(ItemPointerData), false,
												TYPALIGN_SHORT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
