/*-------------------------------------------------------------------------
 *
 * import.c
 *	  IMPORT FOREIGN SCHEMA for dlake_fdw: the Glue crawler of dlake.
 *
 *	  IMPORT FOREIGN SCHEMA curated FROM SERVER lake INTO analytics
 *	    OPTIONS (location 's3://lake/curated/');
 *
 * lists the location once and makes one foreign table per first-level
 * folder (table name = folder name).  Below a table's folder, key=value
 * folders become partition columns (typed integer, bigint, date or text
 * from all their values); the columns of the files come from Parquet
 * footers, CSV headers + sampled values or JSON keys + sampled values.
 * Files are read in key order, so a column that appears only in later
 * files (schema drift) is added to the table and reads as NULL from the
 * older files.  The same column with incompatible types in two files is
 * an error naming both.  Numeric types widen (integer → bigint →
 * numeric, real → double precision).
 *
 * IDENTIFICATION
 *	  src/fdw/import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "fdw/fdw_int.h"
#include "fdw/options.h"

/* files whose schema is read per table: the first and the last ones */
#define IMPORT_MAX_FILES_HEAD	50
#define IMPORT_MAX_FILES_TAIL	50

typedef struct ImportColumn
{
	char	   *name;
	Oid			typid;
	int32		typmod;
	char	   *first_uri;		/* the file that defined its type */
} ImportColumn;

typedef struct ImportPartKey
{
	char	   *key;
	bool		all_int4;
	bool		all_int8;
	bool		all_date;
	bool		any_value;
} ImportPartKey;

typedef struct ImportTable
{
	char	   *name;
	char	   *prefix;			/* URI of the folder, with trailing '/' */
	List	   *files;			/* DlakeObjectInfo * */
	List	   *parts;			/* ImportPartKey * */
	List	   *columns;		/* ImportColumn * */
	DlakeFileFormat format;
	bool		mixed_formats;
} ImportTable;

/* rank in the numeric widening chain, or -1 */
static int
numeric_rank(Oid t)
{
	switch (t)
	{
		case INT2OID:
			return 1;
		case INT4OID:
			return 2;
		case INT8OID:
			return 3;
		case NUMERICOID:
			return 4;
		default:
			return -1;
	}
}

/*
 * merge_type: the type that holds values of both a and b, or false when
 * they conflict.
 */
static bool
merge_type(Oid a, int32 amod, Oid b, int32 bmod, Oid *out, int32 *outmod)
{
	int			ra = numeric_rank(a),
				rb = numeric_rank(b);

	if (a == b)
	{
		*out = a;
		*outmod = (amod == bmod) ? amod : -1;
		return true;
	}
	if (ra > 0 && rb > 0)
	{
		*out = ra > rb ? a : b;
		*outmod = -1;
		return true;
	}
	if ((a == FLOAT4OID || a == FLOAT8OID || ra > 0) &&
		(b == FLOAT4OID || b == FLOAT8OID || rb > 0))
	{
		*out = FLOAT8OID;
		*outmod = -1;
		return true;
	}
	if ((a == TEXTOID || a == VARCHAROID) && (b == TEXTOID || b == VARCHAROID))
	{
		*out = TEXTOID;
		*outmod = -1;
		return true;
	}
	return false;
}

static bool
is_int(const char *s, bool *fits4)
{
	const char *p = s;
	int64		v = 0;
	int			digits = 0;
	bool		neg = false;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	for (; *p; p++, digits++)
	{
		if (*p < '0' || *p > '9' || digits > 18)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (digits == 0)
		return false;
	if (neg)
		v = -v;
	*fits4 = (v >= PG_INT32_MIN && v <= PG_INT32_MAX);
	return true;
}

static bool
is_date(const char *s)
{
	if (strlen(s) != 10)
		return false;
	for (int i = 0; i < 10; i++)
	{
		if (i == 4 || i == 7)
		{
			if (s[i] != '-')
				return false;
		}
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* note one value of a partition key (NULL values say nothing of the type) */
static void
note_part_value(ImportTable *t, const char *key, const char *value)
{
	ListCell   *lc;
	ImportPartKey *pk = NULL;
	bool		fits4;

	foreach(lc, t->parts)
	{
		ImportPartKey *k = (ImportPartKey *) lfirst(lc);

		if (strcmp(k->key, key) == 0)
			pk = k;
	}
	if (pk == NULL)
	{
		pk = palloc0(sizeof(ImportPartKey));
		pk->key = pstrdup(key);
		pk->all_int4 = pk->all_int8 = pk->all_date = true;
		t->parts = lappend(t->parts, pk);
	}
	if (value == NULL)
		return;
	pk->any_value = true;
	if (!is_int(value, &fits4))
		pk->all_int4 = pk->all_int8 = false;
	else if (!fits4)
		pk->all_int4 = false;
	if (!is_date(value))
		pk->all_date = false;
}

static const char *
part_type(ImportPartKey *pk)
{
	if (!pk->any_value)
		return "text";
	if (pk->all_int4)
		return "integer";
	if (pk->all_int8)
		return "bigint";
	if (pk->all_date)
		return "date";
	return "text";
}

static bool
is_part_key(ImportTable *t, const char *name)
{
	ListCell   *lc;

	foreach(lc, t->parts)
		if (pg_strcasecmp(((ImportPartKey *) lfirst(lc))->key, name) == 0)
			return true;
	return false;
}

/* read the schema of one file into the table's columns */
static void
merge_file_schema(ImportTable *t, DlakeStorage *st, DlakeObjectInfo *o,
				  const DlakeFormatOptions *base)
{
	DlakeFormatOptions opts = *base;
	DlakeFormatReader *r;
	ListCell   *lc;

	/* a small sample is enough for types; keep range reads small too */
	if (opts.sample_rows > 200)
		opts.sample_rows = 200;
	if (opts.read_ahead_bytes > 1024 * 1024)
		opts.read_ahead_bytes = 1024 * 1024;
	r = format_reader_open(&opts, format_source_from_storage(st, dlake_location_parse_or_error(o->uri),
															 o->size));
	foreach(lc, format_reader_schema(r))
	{
		DlakeFileColumn *fc = (DlakeFileColumn *) lfirst(lc);
		ImportColumn *col = NULL;
		ListCell   *lc2;

		if (is_part_key(t, fc->name))
			continue;
		foreach(lc2, t->columns)
		{
			ImportColumn *c = (ImportColumn *) lfirst(lc2);

			if (strcmp(c->name, fc->name) == 0)
				col = c;
		}
		if (col == NULL)
		{
			col = palloc0(sizeof(ImportColumn));
			col->name = pstrdup(fc->name);
			col->typid = fc->typid;
			col->typmod = fc->typmod;
			col->first_uri = pstrdup(o->uri);
			t->columns = lappend(t->columns, col);
		}
		else if (!merge_type(col->typid, col->typmod, fc->typid, fc->typmod,
							 &col->typid, &col->typmod))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" has conflicting types in the lake",
							fc->name, t->name),
					 errdetail("It is %s in %s but %s in %s.",
							   format_type_with_typemod(col->typid, col->typmod), col->first_uri,
							   format_type_with_typemod(fc->typid, fc->typmod), o->uri),
					 errhint("Rewrite one of the files, or import with EXCEPT (%s) and create the table by hand.",
							 quote_identifier(t->name))));
	}
	format_reader_close(r);
}

/* is the table wanted by LIMIT TO / EXCEPT? */
static bool
table_wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;
	bool		listed = false;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (strcmp(rv->relname, name) == 0)
			listed = true;
	}
	return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

static void
append_literal_option(StringInfo buf, const char *name, const char *value, bool *first)
{
	appendStringInfo(buf, "%s%s %s", *first ? "" : ", ", name, quote_literal_cstr(value));
	*first = false;
}

List *
dlake_fdw_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	const char *location = dlake_option_get(stmt->options, "location");
	DlakeLocation *loc;
	DlakeConfig *cfg = NULL;
	DlakeStorage *st;
	DlakeFormatOptions fopts;
	List	   *fmtopts = NIL;
	List	   *objs;
	List	   *tables = NIL;
	List	   *out = NIL;
	ListCell   *lc;
	char	   *base;
	size_t		blen;

	if (location == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("IMPORT FOREIGN SCHEMA from a dlake server needs a location"),
				 errhint("Add OPTIONS (location 's3://bucket/prefix/'); every folder below it becomes a table.")));
	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "location") != 0)
			fmtopts = lappend(fmtopts, def);
	}
	dlake_format_options_init(&fopts);
	dlake_format_options_from_defelems(&fopts, fmtopts, NULL);

	base = (location[strlen(location) - 1] == '/') ? pstrdup(location) : psprintf("%s/", location);
	loc = dlake_location_parse_or_error(base);
	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(server->servername);
	st = storage_open(cfg, loc);
	objs = storage_list(st, loc, true);

	blen = strlen(loc->key);
	foreach(lc, objs)
	{
		DlakeObjectInfo *o = (DlakeObjectInfo *) lfirst(lc);
		const char *rel;
		const char *slash;
		char	   *name;
		ImportTable *t = NULL;
		ListCell   *lc2;

		if (o->size < 0 || strncmp(o->key, loc->key, blen) != 0)
			continue;
		rel = o->key + blen;
		while (*rel == '/')
			rel++;
		slash = strchr(rel, '/');
		if (slash == NULL || dlake_fdw_is_marker(o->key) ||
			strstr(rel, "/_") != NULL || strstr(rel, "/.") != NULL ||
			rel[0] == '_' || rel[0] == '.')
			continue;			/* a file directly in the location, or a marker */
		name = pnstrdup(rel, slash - rel);
		if (!table_wanted(stmt, name))
			continue;
		foreach(lc2, tables)
		{
			ImportTable *x = (ImportTable *) lfirst(lc2);

			if (strcmp(x->name, name) == 0)
				t = x;
		}
		if (t == NULL)
		{
			t = palloc0(sizeof(ImportTable));
			t->name = name;
			t->prefix = psprintf("%s%s/", base, name);
			tables = lappend(tables, t);
		}
		t->files = lappend(t->files, o);

		/* partition folders between the table folder and the file */
		{
			char	   *copy = pstrdup(slash + 1);
			char	   *p = copy;
			char	   *s2;

			while ((s2 = strchr(p, '/')) != NULL)
			{
				char	   *k,
						   *v;

				*s2 = '\0';
				if (dlake_fdw_parse_hive_segment(p, &k, &v))
					note_part_value(t, k, v);
				p = s2 + 1;
			}
		}
		/* the table's format, from the file names */
		{
			DlakeFileFormat f = fopts.format;
			DlakeCompression c;

			if (f == DLAKE_FORMAT_AUTO)
				dlake_format_guess(o->key, NULL, 0, &f, &c);
			if (t->format == DLAKE_FORMAT_AUTO)
				t->format = f;
			else if (f != t->format)
				t->mixed_formats = true;
		}
	}

	foreach(lc, tables)
	{
		ImportTable *t = (ImportTable *) lfirst(lc);
		DlakeFormatOptions topts = fopts;
		StringInfoData buf;
		StringInfoData parts;
		bool		first = true;
		int			n = list_length(t->files);
		int			i = 0;
		ListCell   *lc2;

		CHECK_FOR_INTERRUPTS();
		if (t->format == DLAKE_FORMAT_AUTO || t->mixed_formats)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("cannot tell the file format of table \"%s\"", t->name),
					 errdetail(t->mixed_formats ? "Its folder %s holds files of several formats." :
							   "The file names in %s have no known extension.", t->prefix),
					 errhint("Give OPTIONS (format 'parquet'|'csv'|'jsonl'), or import it with LIMIT TO and a format.")));
		topts.format = t->format;
		foreach(lc2, t->files)
		{
			if (i < IMPORT_MAX_FILES_HEAD || i >= n - IMPORT_MAX_FILES_TAIL)
				merge_file_schema(t, st, (DlakeObjectInfo *) lfirst(lc2), &topts);
			i++;
		}

		initStringInfo(&buf);
		initStringInfo(&parts);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (",
						 quote_identifier(t->name));
		foreach(lc2, t->columns)
		{
			ImportColumn *c = (ImportColumn *) lfirst(lc2);

			appendStringInfo(&buf, "%s%s %s", first ? "" : ", ",
							 quote_identifier(c->name),
							 format_type_with_typemod(c->typid, c->typmod));
			first = false;
		}
		foreach(lc2, t->parts)
		{
			ImportPartKey *pk = (ImportPartKey *) lfirst(lc2);

			appendStringInfo(&buf, "%s%s %s", first ? "" : ", ",
							 quote_identifier(pk->key), part_type(pk));
			appendStringInfo(&parts, "%s%s", parts.len ? "," : "", quote_identifier(pk->key));
			first = false;
		}
		appendStringInfo(&buf, ") SERVER %s OPTIONS (",
						 quote_identifier(server->servername));
		first = true;
		append_literal_option(&buf, "location", t->prefix, &first);
		append_literal_option(&buf, "format", dlake_format_name(t->format), &first);
		if (parts.len > 0)
			append_literal_option(&buf, "partition_by", parts.data, &first);
		foreach(lc2, fmtopts)
		{
			DefElem    *def = (DefElem *) lfirst(lc2);

			if (strcmp(def->defname, "format") == 0 ||
				strcmp(def->defname, "sample_rows") == 0 ||
				strcmp(def->defname, "read_ahead_bytes") == 0)
				continue;
			append_literal_option(&buf, def->defname, defGetString(def), &first);
		}
		appendStringInfoString(&buf, ")");
		out = lappend(out, buf.data);
	}
	return out;
}
