/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Planning helpers of dlake_fdw: the options of a foreign table resolved
 *	  against its columns, the listing of its data files (markers skipped,
 *	  Hive partition values parsed from key=value folders) and the
 *	  constraints used for pruning files and Parquet row groups.
 *
 * Pruning never evaluates the query's quals itself: a file's partition
 * values become "col = value" (or "col IS NULL") clauses, a row group's
 * statistics "col >= min AND col <= max" (and "col IS NOT NULL" when it
 * has no NULLs); PostgreSQL's predicate_refuted_by() then decides whether
 * the quals contradict them, with the operators' btree semantics.
 *
 * IDENTIFICATION
 *	  src/fdw/plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fnmatch.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "utils/array.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "common/config.h"
#include "export/export.h"
#include "fdw/fdw_int.h"
#include "fdw/options.h"

/* options of a foreign table that are not format options */
static const char *const table_own_options[] = {
	"location", "partition_by", "missing_columns", "catalog", NULL
};

static bool
is_table_own_option(const char *name)
{
	for (int i = 0; table_own_options[i]; i++)
		if (strcmp(table_own_options[i], name) == 0)
			return true;
	return false;
}

/*
 * dlake_fdw_validate_table_options checks the values of a foreign table's
 * options at CREATE/ALTER time: a parseable location, a known format and
 * compression, CSV options of the right shape, missing_columns null or
 * error, a non-empty partition_by list.  Column names in partition_by are
 * checked when the table is first planned (the validator does not see
 * the columns).
 */
void
dlake_fdw_validate_table_options(List *options)
{
	DlakeFormatOptions fopts;
	List	   *fmt = NIL;
	ListCell   *lc;
	const char *s;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (!is_table_own_option(def->defname))
			fmt = lappend(fmt, def);
	}
	dlake_format_options_init(&fopts);
	dlake_format_options_from_defelems(&fopts, fmt, NULL);
	dlake_format_options_validate(&fopts);

	if ((s = dlake_option_get(options, "location")) != NULL)
	{
		DlakeLocation loc;
		char	   *why;

		if (!dlake_location_parse(s, &loc, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"location\": \"%s\"", s),
					 errdetail("%s", why),
					 errhint("Use s3://bucket/prefix/ or file:///absolute/dir/.")));
	}
	if ((s = dlake_option_get(options, "missing_columns")) != NULL &&
		pg_strcasecmp(s, "null") != 0 && pg_strcasecmp(s, "error") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"missing_columns\": \"%s\"", s),
				 errhint("Use null (read a column missing from a file as NULL) or error.")));
	if ((s = dlake_option_get(options, "partition_by")) != NULL)
	{
		List	   *names;
		char	   *copy = pstrdup(s);

		if (!SplitIdentifierString(copy, ',', &names) || names == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"partition_by\": \"%s\"", s),
					 errhint("Give a comma-separated list of column names, e.g. 'date,region'.")));
	}
}

/*
 * dlake_fdw_table_get reads the options of a foreign table and resolves
 * them against its columns.  Raises on a missing location and on
 * partition_by naming an unknown column.
 */
DlakeFdwTable *
dlake_fdw_table_get(Oid relid)
{
	ForeignTable *ft = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(ft->serverid);
	DlakeFdwTable *t = palloc0(sizeof(DlakeFdwTable));
	List	   *fmt = NIL;
	ListCell   *lc;
	Relation	rel;
	TupleDesc	td;
	const char *s;
	char	   *wild;

	t->relid = relid;
	t->relname = get_rel_name(relid);
	t->server_name = server->servername;
	t->location = (char *) dlake_option_get(ft->options, "location");
	if (t->location == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" has no location", t->relname),
				 errhint("ALTER FOREIGN TABLE %s OPTIONS (ADD location 's3://bucket/prefix/').",
						 quote_identifier(t->relname))));

	/* a glob: list from the folder before the first wildcard */
	wild = strpbrk(t->location, "*?[");
	if (wild)
	{
		char	   *prefix = pnstrdup(t->location, wild - t->location);
		char	   *slash = strrchr(prefix, '/');

		if (slash)
			slash[1] = '\0';
		t->glob = t->location;
		t->loc = dlake_location_parse_or_error(prefix);
	}
	else
		t->loc = dlake_location_parse_or_error(t->location);

	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (!is_table_own_option(def->defname))
			fmt = lappend(fmt, def);
	}
	dlake_format_options_init(&t->fopts);
	dlake_format_options_from_defelems(&t->fopts, fmt, NULL);

	s = dlake_option_get(ft->options, "missing_columns");
	t->missing_error = (s && pg_strcasecmp(s, "error") == 0);
	s = dlake_option_get(ft->options, "catalog");
	t->use_catalog = true;
	if (s && !parse_bool(s, &t->use_catalog))
		t->use_catalog = true;
	if (t->glob)
		t->use_catalog = false;

	rel = table_open(relid, AccessShareLock);
	td = RelationGetDescr(rel);
	t->natts = td->natts;
	t->file_names = palloc0(sizeof(char *) * Max(td->natts, 1));
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		List	   *copts;
		const char *cn;

		if (att->attisdropped)
			continue;
		copts = GetForeignColumnOptions(relid, att->attnum);
		cn = dlake_option_get(copts, "column_name");
		t->file_names[i] = pstrdup(cn ? cn : NameStr(att->attname));
		if (cn == NULL && strcmp(NameStr(att->attname), "_path") == 0)
		{
			t->path_attno = att->attnum;
			t->file_names[i] = NULL;
		}
		else if (cn == NULL && strcmp(NameStr(att->attname), "_size") == 0)
		{
			t->size_attno = att->attnum;
			t->file_names[i] = NULL;
		}
	}

	s = dlake_option_get(ft->options, "partition_by");
	if (s)
	{
		List	   *names;
		char	   *copy = pstrdup(s);
		int			n = 0;

		if (!SplitIdentifierString(copy, ',', &names))
			names = NIL;
		t->part_keys = palloc0(sizeof(char *) * Max(list_length(names), 1));
		t->part_attnos = palloc0(sizeof(AttrNumber) * Max(list_length(names), 1));
		foreach(lc, names)
		{
			char	   *name = (char *) lfirst(lc);
			int			found = -1;

			for (int i = 0; i < td->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(td, i);

				if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
					found = i;
			}
			if (found < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("partition column \"%s\" of foreign table \"%s\" does not exist",
								name, t->relname),
						 errhint("Every name in the partition_by option must be a column of the table.")));
			/* the Hive key is the column's name in the lake */
			t->part_keys[n] = t->file_names[found] ? t->file_names[found] : pstrdup(name);
			t->part_attnos[n] = found + 1;
			t->file_names[found] = NULL;
			n++;
		}
		t->npart = n;
	}
	table_close(rel, AccessShareLock);
	return t;
}

/*
 * dlake_fdw_storage opens the table's storage with the configuration of
 * its server and the current user's mapping (S3 only; file:// locations
 * need no credentials and are checked by the file backend).
 */
DlakeStorage *
dlake_fdw_storage(DlakeFdwTable *t)
{
	DlakeConfig *cfg = NULL;

	if (t->loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(t->server_name);
	return storage_open(cfg, t->loc);
}

/* the same for another location of the table's server */
DlakeStorage *
dlake_fdw_storage_at(DlakeFdwTable *t, const DlakeLocation *loc)
{
	DlakeConfig *cfg = NULL;

	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(t->server_name);
	return storage_open(cfg, loc);
}

/*
 * dlake_fdw_is_marker: objects that are not data and are skipped
 * silently: Hadoop/Spark markers (_SUCCESS, _committed_*, _started_*),
 * checksums (*.crc), temporary files (*.tmp, *_$folder$) and any name
 * starting with '.' or '_' (hidden files, _metadata, _common_metadata).
 */
bool
dlake_fdw_is_marker(const char *name)
{
	const char *base = strrchr(name, '/');
	size_t		len;

	base = base ? base + 1 : name;
	len = strlen(base);
	if (len == 0)
		return true;			/* folder placeholder "x/" */
	if (base[0] == '.' || base[0] == '_')
		return true;
	if (len >= 4 && pg_strcasecmp(base + len - 4, ".crc") == 0)
		return true;
	if (len >= 4 && pg_strcasecmp(base + len - 4, ".tmp") == 0)
		return true;
	if (len >= 9 && strcmp(base + len - 9, "_$folder$") == 0)
		return true;
	return false;
}

/*
 * dlake_fdw_parse_hive_segment splits "key=value" (value Hive-escaped)
 * into its key and unescaped value (NULL for __HIVE_DEFAULT_PARTITION__).
 * Returns false for a segment that is not key=value.
 */
bool
dlake_fdw_parse_hive_segment(const char *seg, char **key, char **value)
{
	const char *eq = strchr(seg, '=');

	if (eq == NULL || eq == seg)
		return false;
	*key = dlake_hive_unescape(pnstrdup(seg, eq - seg));
	if (*key == NULL)
		return false;
	*value = dlake_hive_unescape(eq + 1);
	return true;
}

/* does any folder segment of rel (the path below the location) matter? */
static void
file_partitions(DlakeFdwTable *t, DlakeFdwFile *f, const char *rel)
{
	char	   *copy = pstrdup(rel);
	char	   *p = copy;
	char	   *slash;

	f->part_text = palloc0(sizeof(char *) * Max(t->npart, 1));
	/* only folder segments, not the file name */
	while ((slash = strchr(p, '/')) != NULL)
	{
		char	   *k,
				   *v;

		*slash = '\0';
		if (dlake_fdw_parse_hive_segment(p, &k, &v))
		{
			for (int i = 0; i < t->npart; i++)
				if (pg_strcasecmp(t->part_keys[i], k) == 0)
					f->part_text[i] = v;
		}
		p = slash + 1;
	}
}

/*
 * dlake_fdw_list_files lists the table's location once (recursively) and
 * returns its data files (List of DlakeFdwFile *) sorted by key: markers
 * are skipped, a glob is applied, the partition values of each file are
 * read from its folders.  A file whose folders lack a partition key has
 * NULL for it.
 */
List *
dlake_fdw_list_files(DlakeFdwTable *t, DlakeStorage *st)
{
	List	   *objs = storage_list(st, t->loc, true);
	List	   *out = NIL;
	ListCell   *lc;
	char	   *base = pstrdup(t->loc->key);
	size_t		blen = strlen(base);
	bool		folder;

	folder = (blen > 0 && base[blen - 1] == '/');
	while (blen > 0 && base[blen - 1] == '/')
		base[--blen] = '\0';

	foreach(lc, objs)
	{
		DlakeObjectInfo *o = (DlakeObjectInfo *) lfirst(lc);
		const char *rel;
		DlakeFdwFile *f;

		if (o->size < 0)
			continue;
		if (blen == 0)
			rel = o->key;
		else if (strncmp(o->key, base, blen) == 0 && o->key[blen] == '/')
			rel = o->key + blen + 1;
		else if (!folder && strcmp(o->key, base) == 0 && t->glob == NULL)
		{
			const char *sl = strrchr(o->key, '/');

			rel = sl ? sl + 1 : o->key;
		}
		else if (t->glob)
			rel = o->key + blen;
		else
			continue;			/* a sibling sharing the name prefix */
		while (*rel == '/')
			rel++;
		if (dlake_fdw_is_marker(o->key))
			continue;
		/* a marker folder (e.g. _temporary/, .hive-staging/) hides its files */
		if (strstr(rel, "/_") != NULL || strstr(rel, "/.") != NULL ||
			rel[0] == '_' || rel[0] == '.')
			continue;
		if (t->glob && fnmatch(t->glob, o->uri, 0) != 0)
			continue;

		f = palloc0(sizeof(DlakeFdwFile));
		f->rows = -1;
		f->uri = o->uri;
		f->key = o->key;
		f->size = o->size;
		file_partitions(t, f, rel);
		out = lappend(out, f);
	}
	return out;
}

/*
 * dlake_fdw_part_datum converts the text of partition value i to the
 * column's type; a value that does not convert is an error naming it.
 */
Datum
dlake_fdw_part_datum(DlakeFdwTable *t, TupleDesc td, int i, const char *text,
					 bool *isnull)
{
	Form_pg_attribute att = TupleDescAttr(td, t->part_attnos[i] - 1);
	Oid			infn,
				ioparam;

	if (text == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	getTypeInputInfo(att->atttypid, &infn, &ioparam);
	return OidInputFunctionCall(infn, (char *) text, ioparam, att->atttypmod);
}

/* an OpExpr "var <strategy> const" with the type's btree operator, or NULL */
static Expr *
make_cmp(Form_pg_attribute att, Index varno, int strategy, Datum value)
{
	TypeCacheEntry *tce = lookup_type_cache(att->atttypid, TYPECACHE_BTREE_OPFAMILY);
	Oid			opno;
	Var		   *var;
	Const	   *cst;

	if (!OidIsValid(tce->btree_opf))
		return NULL;
	opno = get_opfamily_member(tce->btree_opf, tce->btree_opintype, tce->btree_opintype,
							   strategy);
	if (!OidIsValid(opno))
		return NULL;
	var = makeVar(varno, att->attnum, att->atttypid, att->atttypmod,
				  att->attcollation, 0);
	cst = makeConst(att->atttypid, att->atttypmod, att->attcollation, att->attlen,
					datumCopy(value, att->attbyval, att->attlen), false, att->attbyval);
	return make_opclause(opno, BOOLOID, false, (Expr *) var, (Expr *) cst,
						 InvalidOid, att->attcollation);
}

static Expr *
make_nulltest(Form_pg_attribute att, Index varno, NullTestType kind)
{
	NullTest   *nt = makeNode(NullTest);

	nt->arg = (Expr *) makeVar(varno, att->attnum, att->atttypid, att->atttypmod,
							   att->attcollation, 0);
	nt->nulltesttype = kind;
	nt->argisrow = false;
	nt->location = -1;
	return (Expr *) nt;
}

/*
 * dlake_fdw_file_constraints: what a file's partition values imply about
 * every row in it, as clauses over the scan's Vars.
 */
static void
partition_value_context(void *arg)
{
	DlakeFdwFile *f = (DlakeFdwFile *) arg;

	errcontext("partition value of dlake object %s", f->uri);
}

List *
dlake_fdw_file_constraints(DlakeFdwTable *t, TupleDesc td, Index varno, DlakeFdwFile *f)
{
	List	   *out = NIL;
	ErrorContextCallback errcb;

	errcb.callback = partition_value_context;
	errcb.arg = f;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (int i = 0; i < t->npart; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, t->part_attnos[i] - 1);
		bool		isnull;
		Datum		d;
		Expr	   *e;

		if (f->part_text[i] == NULL)
		{
			out = lappend(out, make_nulltest(att, varno, IS_NULL));
			continue;
		}
		d = dlake_fdw_part_datum(t, td, i, f->part_text[i], &isnull);
		e = make_cmp(att, varno, BTEqualStrategyNumber, d);
		if (e)
			out = lappend(out, e);
	}
	error_context_stack = errcb.previous;
	return out;
}

/*
 * dlake_fdw_range_constraints: what row-group statistics imply about one
 * column: min <= col <= max; col IS NOT NULL when there are no NULLs;
 * col IS NULL when every row is NULL.
 */
List *
dlake_fdw_range_constraints(Form_pg_attribute att, Index varno, Datum min, Datum max,
							bool has_min_max, int64 null_count, int64 rows)
{
	List	   *out = NIL;
	Expr	   *e;

	if (null_count >= 0 && rows > 0 && null_count == rows)
		return list_make1(make_nulltest(att, varno, IS_NULL));
	if (has_min_max)
	{
		if ((e = make_cmp(att, varno, BTGreaterEqualStrategyNumber, min)) != NULL)
			out = lappend(out, e);
		if ((e = make_cmp(att, varno, BTLessEqualStrategyNumber, max)) != NULL)
			out = lappend(out, e);
	}
	if (null_count == 0)
		out = lappend(out, make_nulltest(att, varno, IS_NOT_NULL));
	return out;
}

/*
 * dlake_fdw_catalog_files: the table's files from dlake.files (written by
 * dlake.export), with rows and per-column min/max/null counts, when the
 * catalog has files for exactly the table's location and the current
 * user may read it.  *covered is false (and NIL returned) otherwise, and
 * the caller lists the location instead.
 */
List *
dlake_fdw_catalog_files(DlakeFdwTable *t, bool *covered)
{
	Oid			nsp = get_namespace_oid("dlake", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("files", nsp) : InvalidOid;
	MemoryContext callercxt = CurrentMemoryContext;
	List	   *out = NIL;
	char	   *loc;
	size_t		len;
	Datum	   *keys;
	Datum	   *cols;
	Datum		args[3];
	Oid			argtypes[3] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID};
	int			ncols = 0;

	*covered = false;
	if (!t->use_catalog || !OidIsValid(relid) ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return NIL;

	loc = pstrdup(t->loc->uri);
	len = strlen(loc);
	while (len > 0 && loc[len - 1] == '/')
		loc[--len] = '\0';
	keys = palloc(sizeof(Datum) * Max(t->npart, 1));
	for (int i = 0; i < t->npart; i++)
		keys[i] = CStringGetTextDatum(t->part_keys[i]);
	cols = palloc(sizeof(Datum) * Max(t->natts, 1));
	for (int i = 0; i < t->natts; i++)
		cols[i] = CStringGetTextDatum(t->file_names[i] ? t->file_names[i] : "");
	ncols = t->natts;
	args[0] = CStringGetTextDatum(loc);
	args[1] = PointerGetDatum(construct_array(keys, t->npart, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(cols, ncols, TEXTOID, -1, false, TYPALIGN_INT));

	SPI_connect();
	if (SPI_execute_with_args(
			"SELECT f.path, f.bytes, f.rows,"
			" ARRAY(SELECT f.partition->>k FROM unnest($2::text[]) WITH ORDINALITY u(k, o) ORDER BY o),"
			" ARRAY(SELECT f.column_stats->c->>'min' FROM unnest($3::text[]) WITH ORDINALITY u(c, o) ORDER BY o),"
			" ARRAY(SELECT f.column_stats->c->>'max' FROM unnest($3::text[]) WITH ORDINALITY u(c, o) ORDER BY o),"
			" ARRAY(SELECT coalesce((f.column_stats->c->>'null_count')::bigint, -1) FROM unnest($3::text[]) WITH ORDINALITY u(c, o) ORDER BY o)"
			" FROM dlake.files f WHERE rtrim(f.location, '/') = $1 ORDER BY f.path",
			3, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read dlake.files");
	if (SPI_processed > 0)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			DlakeFdwFile *f = palloc0(sizeof(DlakeFdwFile));
			bool		isnull;
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			DlakeLocation *floc;

			f->uri = TextDatumGetCString(SPI_getbinval(tup, td, 1, &isnull));
			floc = dlake_location_parse_or_error(f->uri);
			f->key = floc->key;
			f->size = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
			f->rows = DatumGetInt64(SPI_getbinval(tup, td, 3, &isnull));
			f->part_text = palloc0(sizeof(char *) * Max(t->npart, 1));
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 4, &isnull)),
							  TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
			for (int i = 0; i < n && i < t->npart; i++)
				f->part_text[i] = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
			f->col_min = palloc0(sizeof(char *) * Max(ncols, 1));
			f->col_max = palloc0(sizeof(char *) * Max(ncols, 1));
			f->col_nulls = palloc0(sizeof(int64) * Max(ncols, 1));
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 5, &isnull)),
							  TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
			for (int i = 0; i < n && i < ncols; i++)
				f->col_min[i] = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 6, &isnull)),
							  TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
			for (int i = 0; i < n && i < ncols; i++)
				f->col_max[i] = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 7, &isnull)),
							  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &enulls, &n);
			for (int i = 0; i < n && i < ncols; i++)
				f->col_nulls[i] = enulls[i] ? -1 : DatumGetInt64(elems[i]);
			out = lappend(out, f);
		}
		MemoryContextSwitchTo(spicxt);
		*covered = true;
	}
	SPI_finish();
	return out;
}

/*
 * dlake_fdw_file_stats_constraints: what the catalog's per-file column
 * statistics imply (min <= col <= max, no NULLs), for the columns in
 * qual_attrs.  A value that does not convert to the column's type is
 * ignored (no constraint rather than an error).
 */
List *
dlake_fdw_file_stats_constraints(DlakeFdwTable *t, TupleDesc td, Index varno,
								 DlakeFdwFile *f, Bitmapset *qual_attrs)
{
	List	   *out = NIL;

	if (f->col_min == NULL)
		return NIL;
	for (int i = 0; i < td->natts && i < t->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		Oid			infn,
					ioparam;
		Datum		min = 0,
					max = 0;
		bool		has = false;

		if (t->file_names[i] == NULL ||
			!bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, qual_attrs))
			continue;
		if (f->col_min[i] && f->col_max[i])
		{
			MemoryContext cur = CurrentMemoryContext;

			getTypeInputInfo(att->atttypid, &infn, &ioparam);
			PG_TRY();
			{
				min = OidInputFunctionCall(infn, f->col_min[i], ioparam, att->atttypmod);
				max = OidInputFunctionCall(infn, f->col_max[i], ioparam, att->atttypmod);
				has = true;
			}
			PG_CATCH();
			{
				/* only data-type errors are expected here; rethrow others */
				ErrorData  *ed;

				MemoryContextSwitchTo(cur);
				ed = CopyErrorData();
				if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
					PG_RE_THROW();
				FlushErrorState();
				FreeErrorData(ed);
				has = false;
			}
			PG_END_TRY();
		}
		out = list_concat(out, dlake_fdw_range_constraints(att, varno, min, max, has,
														   f->col_nulls[i], f->rows));
	}
	return out;
}
