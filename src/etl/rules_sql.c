/*-------------------------------------------------------------------------
 *
 * rules_sql.c
 *	  Small SQL-callable helpers of the rule set compiler and of
 *	  dlake.apply_ruleset: closest-name suggestions, a guard that a rule's
 *	  SQL text is one scalar expression, and xid widening for incremental
 *	  progress tracking.
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
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
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
