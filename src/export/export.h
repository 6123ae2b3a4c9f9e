/*-------------------------------------------------------------------------
 *
 * export.h
 *	  Internals shared by the export and load modules: Hive partition path
 *	  formatting (partition.c) and zone resolution (zones.c).  Files to
 *	  delete when an export's transaction aborts: storage/pending.h.
 *
 * IDENTIFICATION
 *	  src/export/export.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_EXPORT_H
#define DLAKE_EXPORT_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

/* the folder name Hive, Spark, Athena and DuckDB use for NULL */
#define DLAKE_HIVE_NULL "__HIVE_DEFAULT_PARTITION__"

/*
 * Append value, escaped Hive-style, to buf: '/', '=', '%', control
 * characters, quotes, ':', '#', '?', '*', '\\', '{', '[', ']', '^' and DEL
 * become %XX; a value that is "." or ".." has its dots escaped; an empty
 * value becomes DLAKE_HIVE_NULL (as Spark does).  Never produces a path
 * separator or a path segment that climbs.
 */
extern void dlake_hive_escape(StringInfo buf, const char *value);

/* undo dlake_hive_escape (DLAKE_HIVE_NULL → NULL) */
extern char *dlake_hive_unescape(const char *segment);

/*
 * The text of a partition value as Hive/Spark write it: date as
 * YYYY-MM-DD, timestamp as "YYYY-MM-DD HH:MM:SS[.ffffff]", timestamptz in
 * UTC in the same form, boolean as true/false, everything else through
 * the type's output function.  finfo is the type's output function.
 */
extern char *dlake_partition_value_text(Oid typid, Datum value, FmgrInfo *finfo);

/*
 * Resolve a zone-relative location: zone NULL → location unchanged (it
 * must then be a full URI); else the zone's location + "/" + location
 * (a clean relative path, "" or NULL for the zone root).  *server is set
 * from the zone when it is NULL.
 */
extern char *dlake_resolve_zone(const char *zone, const char *location,
								char **server);

#endif							/* DLAKE_EXPORT_H */
