/*-------------------------------------------------------------------------
 *
 * fdw_int.h
 *	  Internals of the lake foreign data wrapper shared by fdw.c (callbacks,
 *	  scan, EXPLAIN), plan.c (table options, file listing, partition values,
 *	  pruning) and import.c (IMPORT FOREIGN SCHEMA).
 *
 * A dlake foreign table is a location (a prefix, a single object or a
 * glob) holding files of one format.  Folders named key=value below the
 * location carry Hive partition values; the table's partition_by option
 * names the columns they fill.  Pruning builds, for each file, the
 * constraints its partition values imply ("date = '2024-01-01'") and asks
 * predicate_refuted_by() whether the query's quals contradict them; the
 * same machinery skips Parquet row groups from their min/max statistics.
 *
 * IDENTIFICATION
 *	  src/fdw/fdw_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_FDW_INT_H
#define DLAKE_FDW_INT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "nodes/bitmapset.h"
#include "format/format.h"
#include "nodes/pg_list.h"
#include "storage/storage.h"
#include "utils/relcache.h"

/* what the table's options say, resolved against its columns */
typedef struct DlakeFdwTable
{
	Oid			relid;
	char	   *relname;
	char	   *server_name;
	char	   *location;		/* the location option as written */
	DlakeLocation *loc;			/* parsed prefix (for a glob: the part
								 * before the first wildcard) */
	char	   *glob;			/* glob pattern over the full URI or NULL */
	DlakeFormatOptions fopts;	/* format options of the table */
	bool		missing_error;	/* missing_columns 'error' */
	int			npart;			/* partition columns */
	char	  **part_keys;		/* Hive key names (folder key=) */
	AttrNumber *part_attnos;	/* their attributes */
	AttrNumber	path_attno;		/* _path pseudo-column or 0 */
	AttrNumber	size_attno;		/* _size pseudo-column or 0 */
	char	  **file_names;		/* per attribute: name in the files (the
								 * column_name option or attname), NULL for
								 * dropped, partition and pseudo columns */
	int			natts;
	bool		use_catalog;	/* catalog option: plan from dlake.files */
} DlakeFdwTable;

/* one data file of a table, with its partition values as text */
typedef struct DlakeFdwFile
{
	char	   *uri;
	char	   *key;
	int64		size;
	char	  **part_text;		/* npart entries, NULL = SQL NULL */
	/* from the dlake.files catalog only (else rows -1, arrays NULL) */
	int64		rows;
	char	  **col_min;		/* per attribute: min as text, or NULL */
	char	  **col_max;
	int64	   *col_nulls;		/* per attribute: null count, -1 unknown */
} DlakeFdwFile;

/* plan.c */
extern DlakeFdwTable *dlake_fdw_table_get(Oid relid);
extern DlakeStorage *dlake_fdw_storage(DlakeFdwTable *t);
extern DlakeStorage *dlake_fdw_storage_at(DlakeFdwTable *t, const DlakeLocation *loc);
extern List *dlake_fdw_list_files(DlakeFdwTable *t, DlakeStorage *st);
extern List *dlake_fdw_catalog_files(DlakeFdwTable *t, bool *covered);
extern List *dlake_fdw_file_stats_constraints(DlakeFdwTable *t, TupleDesc td,
											  Index varno, DlakeFdwFile *f,
											  Bitmapset *qual_attrs);
extern bool dlake_fdw_is_marker(const char *name);
extern bool dlake_fdw_parse_hive_segment(const char *seg, char **key, char **value);
extern Datum dlake_fdw_part_datum(DlakeFdwTable *t, TupleDesc td, int i,
								  const char *text, bool *isnull);
extern List *dlake_fdw_file_constraints(DlakeFdwTable *t, TupleDesc td,
										Index varno, DlakeFdwFile *f);
extern List *dlake_fdw_range_constraints(Form_pg_attribute att, Index varno,
										 Datum min, Datum max, bool has_min_max,
										 int64 null_count, int64 rows);
extern void dlake_fdw_validate_table_options(List *options);

/* insert.c */
struct TupleTableSlot;
extern void *dlake_fdw_insert_begin(Relation rel);
extern void dlake_fdw_insert_row(void *state, struct TupleTableSlot *slot);
extern void dlake_fdw_insert_end(void *state);
/* fdw.c */
extern void dlake_fdw_forget_files(Oid relid);

/* import.c */
struct ImportForeignSchemaStmt;
extern List *dlake_fdw_import_schema(struct ImportForeignSchemaStmt *stmt, Oid serverOid);

#endif							/* DLAKE_FDW_INT_H */
