/*-------------------------------------------------------------------------
 *
 * export.c
 *	  dlake.export (any query → Hive-partitioned Parquet/CSV/JSONL files)
 *	  and dlake.export_table (the rows of a table not exported before).
 *
 * The query runs through an SPI cursor in batches.  Each row goes to the
 * writer of its partition ("col=value/..." folders, partition columns
 * taken out of the file); at most max_open_files writers are open, the
 * least recently used one is closed when another is needed and a new part
 * file is started if that partition shows up again.  Files are named
 * part-<run>-<n>.<ext>, n counting files in the order they are opened, so
 * names are unique per run and deterministic within it.
 *
 * Many partitions are cheap because an open partition costs little
 * memory: a partitioned export's writers write into local temp files
 * (BufFile, 8 kB buffer each) and a file is uploaded (or copied to its
 * file:// place) only when it is complete, one at a time, so S3 needs a
 * single multipart part buffer; Parquet row groups of the open writers
 * share a budget (EXPORT_ROW_GROUP_BUDGET).  Rows need not be grouped by
 * partition.  Only when more than max_open_files (default 1,000 for
 * Parquet, 64 for CSV/JSONL) partitions appear interleaved is the query
 * read again sorted by the partition columns (an external sort), so each
 * partition gets one file.
 *
 * Atomicity for readers: an object becomes visible only when its writer is
 * complete (multipart complete / rename, done by the storage layer).
 * Every completed file is also registered in a pending-deletes set
 * (storage/pending.h) that lives until the end of the transaction: if the
 * transaction (or the subtransaction that ran the export) aborts for any
 * reason - error, cancel, pg_terminate_backend - the completed files are
 * deleted from the abort callback, and the storage layer aborts the
 * uploads still open.
 * Only a crash of the whole server (SIGKILL, power loss) between upload
 * and commit can leave complete files that the catalog does not know;
 * dlake.export_table removes those at its next run (see below).
 *
 * Incremental export (export_table) selects rows by transaction
 * visibility rather than by a serial or timestamp watermark, which would
 * skip rows of transactions that commit late with lower values.  A run
 * takes a snapshot S (pg_current_snapshot) and exports the rows whose
 * inserting transaction is visible in S but was not visible in the
 * snapshot recorded by the previous successful run; the new snapshot is
 * stored in dlake.export_state in the same transaction as the catalog rows
 * of the files.  Files of an incremental run are named
 * part-t<table oid>b<batch>-<n>, the batch number advancing only when the
 * state commits; a run first deletes leftovers of its own batch number,
 * i.e. files of a failed attempt whose cleanup never ran.  Runs of one
 * (table, location) pair are serialised with a transaction advisory lock;
 * a second concurrent call returns at once with a NOTICE.
 *
 * IDENTIFICATION
 *	  src/export/export.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "export/export.h"
#include "fmgr.h"
#include "format/format.h"
#include "funcapi.h"
#include "guc.h"
#include "miscadmin.h"
#include "storage/buffile.h"
#include "storage/pending.h"
#include "storage/storage.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "common/hashfn.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

PG_FUNCTION_INFO_V1(dlake_export);
PG_FUNCTION_INFO_V1(dlake_export_table);
PG_FUNCTION_INFO_V1(dlake_xid_to_xid8);

#define EXPORT_BATCH_ROWS 1000
/* row group of an unpartitioned Parquet export */
#define EXPORT_SINGLE_ROW_GROUP (8L * 1024 * 1024)

/*
 * Partitioned Parquet: a writer opened while n writers are open (or about
 * to be: the partitions with rows in the pool) gets a row group of
 * EXPORT_ROW_GROUP_BUDGET / n (at least EXPORT_MIN_ROW_GROUP),
 * so the row groups of all open writers stay below budget * (1 + ln n):
 * 8 MB for grouped input, ~60 MB for 1,000 interleaved partitions.
 */
#define EXPORT_ROW_GROUP_BUDGET (8L * 1024 * 1024)
#define EXPORT_MIN_ROW_GROUP (64L * 1024)

/*
 * Likewise for Parquet pages: a column's dictionary is decided (kept or
 * dropped for PLAIN) when its first page is full, and until then every
 * value goes through the dictionary's hash table.  Small pages when many
 * writers are open keep those tables small and cache-resident.
 */
#define EXPORT_PAGE_BUDGET (1024L * 1024)
#define EXPORT_MIN_PAGE (8 * 1024)
/*
 * Partitioned: rows are copied into a per-partition buffer and written
 * partition by partition when all buffers together reach this size, so
 * each writer gets runs of rows while its state is in the CPU caches
 * instead of one row at a time among hundreds of writers.  (Buffers grow
 * by doubling and are freed when written: at most twice this allocated.)
 */
#define EXPORT_POOL_BYTES (24L * 1024 * 1024)
/*
 * default max_open_files: Parquet writers of many open files share the
 * row-group budget; CSV/JSONL writers buffer up to 1 MB each (plus a
 * compressor), so fewer of them are open by default.
 */
#define EXPORT_DEFAULT_MAX_OPEN 1000
#define EXPORT_DEFAULT_MAX_OPEN_TEXT 64
/* copy buffer from a partition's spill file to its storage object */
#define EXPORT_COPY_BUFFER (1024 * 1024)
/* work_mem for the partition sort (see export_run) */
#define EXPORT_SORT_WORK_MEM_KB (64 * 1024)
/* grouped input: complete a partition's file on change after this many rows */
#define EXPORT_EAGER_CLOSE_ROWS 10000

/*
 * cleanup_create opens the storage of the run in a pending-deletes set
 * (storage/pending.h: files deleted if the (sub)transaction aborts), whose
 * context outlives the function, and resolves the S3 credentials there
 * with one cheap request.
 */
static DlakePendingDeletes *
cleanup_create(const char *server, DlakeLocation *root)
{
	DlakePendingDeletes *p = storage_pending_create("dlake export");
	MemoryContext old = MemoryContextSwitchTo(storage_pending_context(p));
	DlakeLocation *loc = palloc(sizeof(DlakeLocation));
	DlakeConfig *cfg = NULL;

	memcpy(loc, root, sizeof(DlakeLocation));
	loc->bucket = root->bucket ? pstrdup(root->bucket) : NULL;
	loc->key = pstrdup(root->key);
	loc->uri = pstrdup(root->uri);
	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(server);
	storage_pending_set_storage(p, storage_open(cfg, loc));
	if (loc->kind == DLAKE_STORAGE_S3)
	{
		DlakeObjectInfo info;

		storage_stat(storage_pending_storage(p), dlake_location_child(loc, "_dlake_probe"), &info);
	}
	MemoryContextSwitchTo(old);
	return p;
}

/* ----------------------------------------------------------------
 * The export engine
 * ----------------------------------------------------------------
 */
typedef struct ExportSpec
{
	char	   *query;			/* SQL text run through the cursor */
	char	   *source;			/* for dlake.export_runs */
	char	   *kind;			/* "export" or "export_table" */
	char	   *location;		/* resolved URI */
	char	   *server;
	DlakeFormatOptions fopts;
	ArrayType  *partition_by;	/* text[] or NULL */
	int64		max_file_size;	/* 0 = none */
	bool		overwrite;
	int			max_open;
	bool		manifest;
	bool		success_marker;
	bool		fail_after_upload;	/* test hook: keep files, then ERROR */
	bool		sort_if_needed; /* restart sorted when rows are not grouped */
	char	   *name_prefix;	/* set by the caller or "part-<run>" */
} ExportSpec;

typedef struct PartWriter
{
	char	   *key;			/* hash key: relative folder ("" = none) */
	char	   *display;		/* "col=value/col2=value2" */
	char	   *json;			/* {"col": "value", ...} */
	DlakeWriteStream *ws;		/* open object or NULL */
	DlakeFormatWriter *fw;		/* open file or NULL */
	DlakeLocation *loc;
	BufFile    *spill;			/* partitioned: the file's bytes until close */
	char	   *pend;			/* pool rows, in input order: each a uint32
								 * length, then the tuple at a MAXALIGN offset */
	int64		pend_len;
	int64		pend_cap;
	int64		npend;			/* rows in pend */
	DlakeByteSink sink;			/* writes into spill */
	bool		seen;			/* got rows before */
	dlist_node	node;			/* in the open list */
} PartWriter;

/*
 * The partition values (as datum images) of rows seen before → their
 * writer, so that a row's partition is found without formatting its
 * values as text (several images may map to one writer).
 */
typedef struct ImageEntry
{
	uint32		hash;
	Datum	   *values;
	bool	   *nulls;
	PartWriter *pw;
	struct ImageEntry *next;
} ImageEntry;

typedef struct ExportFile
{
	char	   *uri;
	char	   *partition;		/* display form */
	char	   *part_json;
	char	   *stats_json;
	int64		rows;
	int64		bytes;
} ExportFile;

typedef struct ExportState
{
	ExportSpec *spec;
	DlakePendingDeletes *cleanup;	/* files deleted if we abort */
	DlakeStorage *st;
	DlakeLocation *root;		/* with a trailing '/' */
	MemoryContext cxt;			/* writers and file list */
	TupleDesc	qdesc;			/* query result */
	TupleDesc	fdesc;			/* file columns: qdesc minus partitions */
	int			npart;
	int		   *part_att;		/* query attno (0-based) per partition col */
	char	  **part_name;
	FmgrInfo   *part_out;
	int		   *file_att;		/* query attno per file column */
	HTAB	   *writers;
	dlist_head	open;			/* open writers, LRU first */
	int			nopen;
	uint64		clock;
	int			nfiles_started;
	List	   *files;			/* ExportFile * */
	int64		rows;
	int64		bytes;
	const char *ext;
	bool		spill;			/* writers write to local temp files; rows go
								 * through the pool */
	int64		pool_bytes;		/* sum of pend_len */
	int64		pool_alloc;		/* sum of pend_cap */
	List	   *dirty;			/* PartWriters with pool rows, first seen first */
	Datum	   *values;			/* a deformed query row */
	bool	   *nulls;
	Datum	   *fvalues;		/* its file columns */
	bool	   *fnulls;
	char	   *copybuf;		/* EXPORT_COPY_BUFFER bytes, for uploads */
	int64		run_id;
	TimestampTz last_progress;
	/* grouping detection and the same-partition-as-before fast path */
	bool		clustered;		/* no partition reappeared after another */
	bool		can_restart;	/* may restart sorted (once) */
	bool		restart;		/* set when a restart is needed */
	bool		sorted;			/* reading our own sorted query */
	PartWriter *last_pw;		/* writer of the previous row */
	ImageEntry **images;		/* hash buckets (in cxt) */
	int			nimage_buckets; /* power of 2 */
	int			nimages;
	Datum	   *prev_values;	/* its partition values (in prevcxt) */
	bool	   *prev_nulls;
	MemoryContext prevcxt;
} ExportState;

static uint32
str_ptr_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return string_hash(s, strlen(s) + 1);
}

static int
str_ptr_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
json_key_value(StringInfo buf, bool *first, const char *key, const char *value)
{
	if (!*first)
		appendStringInfoString(buf, ", ");
	*first = false;
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/* DlakeByteSink callback of a spilling writer */
static void
spill_sink_write(DlakeByteSink *sink, const char *data, size_t len)
{
	PartWriter *pw = (PartWriter *) sink->arg;

	BufFileWrite(pw->spill, (void *) data, len);
}

/*
 * Copy a completed file from its spill to a new storage object, which is
 * left open in pw->ws for the caller to complete (or for the error path
 * to abort).  Only one object is uploading at any time, so S3 needs one
 * multipart part buffer whatever the number of open partitions.
 */
static void
writer_upload_spill(ExportState *es, PartWriter *pw)
{
	if (es->copybuf == NULL)
		es->copybuf = MemoryContextAlloc(es->cxt, EXPORT_COPY_BUFFER);
	pw->ws = storage_write_open(es->st, pw->loc);
	if (BufFileSeek(pw->spill, 0, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rewind the temporary file of %s: %m", pw->loc->uri)));
	for (;;)
	{
		size_t		n = BufFileRead(pw->spill, es->copybuf, EXPORT_COPY_BUFFER);

		if (n == 0)
			break;
		storage_write(pw->ws, es->copybuf, n);
		CHECK_FOR_INTERRUPTS();
	}
	BufFileClose(pw->spill);
	pw->spill = NULL;
}

/* discard the open file of a writer (error or restart): never raises */
static void
writer_discard(PartWriter *pw)
{
	if (pw->ws != NULL)
		storage_write_abort(pw->ws);
	pw->ws = NULL;
	/* a spill is a temp file: the resource owner removes it at abort */
}

/* close the file of a writer and record it; the writer stays in the hash */
static void
writer_close_file(ExportState *es, PartWriter *pw)
{
	DlakeObjectInfo info;
	ExportFile *f;
	List	   *stats;
	ListCell   *lc;
	StringInfoData sj;
	bool		first = true;
	MemoryContext old = MemoryContextSwitchTo(es->cxt);

	/*
	 * Register the file for deletion at abort before completing it: a
	 * cancel that interrupts the final PUT / CompleteMultipartUpload may
	 * leave an object the server finished although we saw an error.
	 */
	storage_pending_add(es->cleanup, pw->loc);
	format_writer_close(pw->fw);
	stats = format_writer_column_stats(pw->fw);
	if (pw->spill != NULL)
		writer_upload_spill(es, pw);
	storage_write_close(pw->ws, &info);
	storage_pending_done(es->cleanup);

	f = palloc0(sizeof(ExportFile));
	f->uri = pstrdup(pw->loc->uri);
	f->partition = pw->display;
	f->part_json = pw->json;
	f->rows = format_writer_rows(pw->fw);
	f->bytes = info.size > 0 ? info.size : format_writer_bytes(pw->fw);
	initStringInfo(&sj);
	appendStringInfoChar(&sj, '{');
	foreach(lc, stats)
	{
		DlakeColumnStats *cs = lfirst(lc);

		if (!cs->has_min_max && cs->null_count < 0)
			continue;
		if (!first)
			appendStringInfoString(&sj, ", ");
		first = false;
		escape_json(&sj, cs->name);
		appendStringInfoString(&sj, ": {");
		if (cs->has_min_max)
		{
			appendStringInfoString(&sj, "\"min\": ");
			escape_json(&sj, cs->min);
			appendStringInfoString(&sj, ", \"max\": ");
			escape_json(&sj, cs->max);
			if (cs->null_count >= 0)
				appendStringInfoString(&sj, ", ");
		}
		if (cs->null_count >= 0)
			appendStringInfo(&sj, "\"null_count\": " INT64_FORMAT, cs->null_count);
		appendStringInfoChar(&sj, '}');
	}
	appendStringInfoChar(&sj, '}');
	f->stats_json = sj.data;
	es->files = lappend(es->files, f);
	es->bytes += f->bytes;

	format_writer_abort(pw->fw);	/* frees its memory */
	pw->fw = NULL;
	pw->ws = NULL;
	pw->loc = NULL;
	dlist_delete(&pw->node);
	es->nopen--;
	MemoryContextSwitchTo(old);
}

static void
writer_open_file(ExportState *es, PartWriter *pw)
{
	MemoryContext old = MemoryContextSwitchTo(es->cxt);
	char	   *rel;

	if (es->nopen >= es->spec->max_open && !es->clustered && es->can_restart)
	{
		es->restart = true;
		MemoryContextSwitchTo(old);
		return;
	}
	if (es->nopen >= es->spec->max_open)
	{
		/* evict the least recently used writer (head of the list) */
		PartWriter *lru = dlist_head_element(PartWriter, node, &es->open);

		writer_close_file(es, lru);
	}
	rel = psprintf("%s%s-%d%s", pw->key, es->spec->name_prefix,
				   es->nfiles_started++, es->ext);
	pw->loc = dlake_location_child(es->root, rel);
	dlist_push_tail(&es->open, &pw->node);
	es->nopen++;
	if (es->spill)
	{
		DlakeFormatOptions wopts = es->spec->fopts;
		/* writers open at once: open now, or about to be (the pool's) */
		int			n = Max(es->nopen, list_length(es->dirty));

		/* the row groups of all open writers share a budget (see above) */
		if (wopts.format == DLAKE_FORMAT_PARQUET)
		{
			wopts.row_group_bytes = Min(wopts.row_group_bytes,
										Max(EXPORT_MIN_ROW_GROUP, EXPORT_ROW_GROUP_BUDGET / n));
			wopts.page_bytes = Min(wopts.page_bytes,
								   Max(EXPORT_MIN_PAGE, EXPORT_PAGE_BUDGET / n));
		}
		pw->spill = BufFileCreateTemp(false);
		memset(&pw->sink, 0, sizeof(pw->sink));
		pw->sink.write = spill_sink_write;
		pw->sink.arg = pw;
		pw->ws = NULL;
		pw->fw = format_writer_open_sink(&wopts, es->fdesc, &pw->sink, pw->loc->uri);
	}
	else
	{
		pw->ws = storage_write_open(es->st, pw->loc);
		pw->fw = format_writer_open(&es->spec->fopts, es->fdesc, pw->ws, pw->loc->uri);
	}
	MemoryContextSwitchTo(old);
}

static PartWriter *writer_lookup(ExportState *es, Datum *values, bool *nulls);
static void image_add(ExportState *es, uint32 h, Datum *values, bool *nulls, PartWriter *pw);
static void writer_remember_row(ExportState *es, PartWriter *pw, Datum *values, bool *nulls);

/* the writer of the partition of one row (created on first sight) */
static PartWriter *
writer_for_row(ExportState *es, Datum *values, bool *nulls)
{
	PartWriter *pw;

	if (es->last_pw != NULL)
	{
		bool		same = true;

		for (int i = 0; i < es->npart && same; i++)
		{
			int			a = es->part_att[i];
			Form_pg_attribute att = TupleDescAttr(es->qdesc, a);

			if (nulls[a] != es->prev_nulls[i])
				same = false;
			else if (!nulls[a] &&
					 !datumIsEqual(values[a], es->prev_values[i], att->attbyval, att->attlen))
				same = false;
		}
		if (same)
			return es->last_pw;
	}

	/* seen these values before? */
	{
		uint32		h = 0;
		ImageEntry *e;

		for (int i = 0; i < es->npart; i++)
		{
			int			a = es->part_att[i];
			Form_pg_attribute att = TupleDescAttr(es->qdesc, a);

			h = hash_combine(h, nulls[a] ? 0x5bd1e995 :
							 datum_image_hash(values[a], att->attbyval, att->attlen));
		}
		if (es->images == NULL)
		{
			es->nimage_buckets = 256;
			es->images = MemoryContextAllocZero(es->cxt, sizeof(ImageEntry *) * es->nimage_buckets);
		}
		for (e = es->images[h & (es->nimage_buckets - 1)]; e != NULL; e = e->next)
		{
			bool		same = e->hash == h;

			for (int i = 0; i < es->npart && same; i++)
			{
				int			a = es->part_att[i];
				Form_pg_attribute att = TupleDescAttr(es->qdesc, a);

				if (nulls[a] != e->nulls[i])
					same = false;
				else if (!nulls[a] &&
						 !datum_image_eq(values[a], e->values[i], att->attbyval, att->attlen))
					same = false;
			}
			if (same)
				break;
		}
		if (e != NULL)
			pw = e->pw;
		else
		{
			pw = writer_lookup(es, values, nulls);
			image_add(es, h, values, nulls, pw);
		}
	}
	if (pw->seen)
		es->clustered = false;	/* this partition came back */
	pw->seen = true;
	writer_remember_row(es, pw, values, nulls);
	return pw;
}

/* the writer of a partition by the text of its values (created if new) */
static PartWriter *
writer_lookup(ExportState *es, Datum *values, bool *nulls)
{
	StringInfoData key;
	PartWriter *pw;
	bool		found;
	char	   *keyp;

	if (es->npart == 0)
		keyp = "";
	else
	{
		initStringInfo(&key);
		for (int i = 0; i < es->npart; i++)
		{
			int			a = es->part_att[i];

			dlake_hive_escape(&key, es->part_name[i]);
			appendStringInfoChar(&key, '=');
			if (nulls[a])
				appendStringInfoString(&key, DLAKE_HIVE_NULL);
			else
				dlake_hive_escape(&key,
								  dlake_partition_value_text(TupleDescAttr(es->qdesc, a)->atttypid,
															 values[a], &es->part_out[i]));
			appendStringInfoChar(&key, '/');
		}
		keyp = key.data;
	}
	pw = hash_search(es->writers, &keyp, HASH_ENTER, &found);
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(es->cxt);
		StringInfoData js;
		bool		first = true;

		pw->key = pstrdup(keyp);
		pw->display = pnstrdup(pw->key, strlen(pw->key) > 0 ? strlen(pw->key) - 1 : 0);
		initStringInfo(&js);
		appendStringInfoChar(&js, '{');
		for (int i = 0; i < es->npart; i++)
		{
			int			a = es->part_att[i];

			json_key_value(&js, &first, es->part_name[i],
						   nulls[a] ? NULL :
						   dlake_partition_value_text(TupleDescAttr(es->qdesc, a)->atttypid,
													  values[a], &es->part_out[i]));
		}
		appendStringInfoChar(&js, '}');
		pw->json = js.data;
		pw->ws = NULL;
		pw->fw = NULL;
		pw->spill = NULL;
		pw->pend = NULL;
		pw->npend = pw->pend_len = pw->pend_cap = 0;
		pw->seen = false;
		MemoryContextSwitchTo(old);
	}
	return pw;
}

/* remember an image → writer mapping */
static void
image_add(ExportState *es, uint32 h, Datum *values, bool *nulls, PartWriter *pw)
{
	MemoryContext old = MemoryContextSwitchTo(es->cxt);
	ImageEntry *e = palloc(sizeof(ImageEntry));
	int			b;

	if (es->nimages >= es->nimage_buckets)
	{
		int			nb = es->nimage_buckets * 2;
		ImageEntry **nbk = palloc0(sizeof(ImageEntry *) * nb);

		for (int i = 0; i < es->nimage_buckets; i++)
		{
			ImageEntry *x = es->images[i];

			while (x != NULL)
			{
				ImageEntry *next = x->next;

				x->next = nbk[x->hash & (nb - 1)];
				nbk[x->hash & (nb - 1)] = x;
				x = next;
			}
		}
		pfree(es->images);
		es->images = nbk;
		es->nimage_buckets = nb;
	}
	e->hash = h;
	e->pw = pw;
	e->values = palloc(sizeof(Datum) * Max(es->npart, 1));
	e->nulls = palloc(sizeof(bool) * Max(es->npart, 1));
	for (int i = 0; i < es->npart; i++)
	{
		int			a = es->part_att[i];
		Form_pg_attribute att = TupleDescAttr(es->qdesc, a);

		e->nulls[i] = nulls[a];
		e->values[i] = nulls[a] ? (Datum) 0 :
			datumCopy(values[a], att->attbyval, att->attlen);
	}
	b = h & (es->nimage_buckets - 1);
	e->next = es->images[b];
	es->images[b] = e;
	es->nimages++;
	MemoryContextSwitchTo(old);
}

/* remember the partition values of the row just routed to pw */
static void
writer_remember_row(ExportState *es, PartWriter *pw, Datum *values, bool *nulls)
{
	MemoryContextReset(es->prevcxt);
	{
		MemoryContext old = MemoryContextSwitchTo(es->prevcxt);

		for (int i = 0; i < es->npart; i++)
		{
			int			a = es->part_att[i];
			Form_pg_attribute att = TupleDescAttr(es->qdesc, a);

			es->prev_nulls[i] = nulls[a];
			es->prev_values[i] = nulls[a] ? (Datum) 0 :
				datumCopy(values[a], att->attbyval, att->attlen);
		}
		MemoryContextSwitchTo(old);
	}
	es->last_pw = pw;
}

/*
 * Append one deformed row (es->values/nulls) to the file of its partition,
 * opening the file first if needed; sets es->restart (and writes nothing)
 * when a sorted restart is due instead.
 */
static void
writer_append_row(ExportState *es, PartWriter *pw)
{
	if (pw->fw == NULL)
	{
		writer_open_file(es, pw);
		if (es->restart)
			return;
	}
	else if (dlist_tail_element(PartWriter, node, &es->open) != pw)
	{
		dlist_delete(&pw->node);
		dlist_push_tail(&es->open, &pw->node);
	}
	for (int c = 0; c < es->fdesc->natts; c++)
	{
		es->fvalues[c] = es->values[es->file_att[c]];
		es->fnulls[c] = es->nulls[es->file_att[c]];
	}
	format_writer_append(pw->fw, es->fvalues, es->fnulls);
	es->rows++;
	if (es->spec->max_file_size > 0 &&
		format_writer_estimated_size(pw->fw) >= es->spec->max_file_size)
		writer_close_file(es, pw);
}

/* write the pool rows of one partition to its file */
static void
writer_flush_pending(ExportState *es, PartWriter *pw, MemoryContext rowcxt)
{
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	int64		i;
	int64		off = 0;
	HeapTupleData tup;

	ItemPointerSetInvalid(&tup.t_self);
	tup.t_tableOid = InvalidOid;
	for (i = 0; i < pw->npend; i++)
	{
		tup.t_len = *(uint32 *) (pw->pend + off);
		tup.t_data = (HeapTupleHeader) (pw->pend + off + MAXALIGN(sizeof(uint32)));
		off += MAXALIGN(sizeof(uint32)) + MAXALIGN(tup.t_len);
		heap_deform_tuple(&tup, es->qdesc, es->values, es->nulls);
		writer_append_row(es, pw);
		if (es->restart)
			break;
		if ((i & 1023) == 1023)
		{
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	es->pool_bytes -= pw->pend_len;
	es->pool_alloc -= pw->pend_cap;
	pw->npend = 0;
	pw->pend_len = 0;
	/* give the buffer back: many small partitions must not each keep one */
	if (pw->pend != NULL)
		pfree(pw->pend);
	pw->pend = NULL;
	pw->pend_cap = 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(rowcxt);
}

/* write every partition's pool rows, then release the pooled batches */
static void
export_pool_flush(ExportState *es, MemoryContext rowcxt)
{
	ListCell   *lc;

	foreach(lc, es->dirty)
	{
		writer_flush_pending(es, (PartWriter *) lfirst(lc), rowcxt);
		if (es->restart)
			return;
	}
	list_free(es->dirty);
	es->dirty = NIL;
	es->pool_bytes = 0;
	es->pool_alloc = 0;
}

/* resolve partition_by against the query's columns; build the file tupdesc */
static void
export_setup_columns(ExportState *es)
{
	ExportSpec *spec = es->spec;
	TupleDesc	q = es->qdesc;
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			n = 0;
	bool	   *is_part;
	int			nfile = 0;

	if (spec->partition_by)
		deconstruct_array(spec->partition_by, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
	es->npart = n;
	es->part_att = palloc(sizeof(int) * Max(n, 1));
	es->part_name = palloc(sizeof(char *) * Max(n, 1));
	es->part_out = palloc(sizeof(FmgrInfo) * Max(n, 1));
	is_part = palloc0(sizeof(bool) * Max(q->natts, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		int			found = -1;
		Oid			outfn;
		bool		varlena;

		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("partition_by must not contain NULL")));
		name = TextDatumGetCString(elems[i]);
		for (int a = 0; a < q->natts; a++)
			if (!TupleDescAttr(q, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(q, a)->attname), name) == 0)
			{
				if (found >= 0)
					ereport(ERROR,
							(errcode(ERRCODE_AMBIGUOUS_COLUMN),
							 errmsg("partition column \"%s\" appears more than once in the query result", name)));
				found = a;
			}
		if (found < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("partition column \"%s\" is not a column of the query result", name),
					 errhint("partition_by names columns of the exported query, e.g. ARRAY['date'].")));
		if (is_part[found])
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("partition column \"%s\" is given twice", name)));
		is_part[found] = true;
		es->part_att[i] = found;
		es->part_name[i] = name;
		getTypeOutputInfo(TupleDescAttr(q, found)->atttypid, &outfn, &varlena);
		fmgr_info(outfn, &es->part_out[i]);
	}
	for (int a = 0; a < q->natts; a++)
		if (!is_part[a])
			nfile++;
	if (nfile == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every column of the query is a partition column"),
				 errdetail("The files would have no columns.")));
	es->fdesc = CreateTemplateTupleDesc(nfile);
	es->file_att = palloc(sizeof(int) * nfile);
	nfile = 0;
	for (int a = 0; a < q->natts; a++)
	{
		if (is_part[a])
			continue;
		TupleDescCopyEntry(es->fdesc, nfile + 1, q, a + 1);
		es->file_att[nfile++] = a;
	}
}

static void
export_progress(ExportState *es, bool force)
{
	TimestampTz now;

	if (dlake_progress_interval_s <= 0)
		return;
	now = GetCurrentTimestamp();
	if (!force && !TimestampDifferenceExceeds(es->last_progress, now,
											  dlake_progress_interval_s * 1000))
		return;
	es->last_progress = now;
	ereport(NOTICE,
			(errmsg("dlake export run " INT64_FORMAT ": " INT64_FORMAT " rows, "
					INT64_FORMAT " bytes in %d files so far",
					es->run_id, es->rows, es->bytes, es->nfiles_started)));
}

/* delete old files of the written partitions (mode overwrite) */
static void
export_overwrite(ExportState *es)
{
	HASH_SEQ_STATUS hs;
	PartWriter *pw;
	HTAB	   *mine;
	HASHCTL		ctl;
	ListCell   *lc;
	List	   *victims = NIL;
	StringInfoData uris;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1];
	List	   *uri_list = NIL;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(char *);
	ctl.hash = str_ptr_hash;
	ctl.match = str_ptr_match;
	ctl.hcxt = CurrentMemoryContext;
	mine = hash_create("dlake export new files", 256, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	foreach(lc, es->files)
	{
		ExportFile *f = lfirst(lc);

		hash_search(mine, &f->uri, HASH_ENTER, NULL);
	}

	/* from here on, the new files stay even if the transaction aborts */
	storage_pending_keep(es->cleanup);

	hash_seq_init(&hs, es->writers);
	while ((pw = hash_seq_search(&hs)) != NULL)
	{
		DlakeLocation *dir = pw->key[0] ? dlake_location_child(es->root, pw->key) : es->root;
		List	   *objs = storage_list(es->st, dir, true);

		CHECK_FOR_INTERRUPTS();
		foreach(lc, objs)
		{
			DlakeObjectInfo *o = lfirst(lc);

			if (o->size < 0 || hash_search(mine, &o->uri, HASH_FIND, NULL) != NULL)
				continue;
			victims = lappend(victims, dlake_location_parse_or_error(o->uri));
			uri_list = lappend(uri_list, o->uri);
		}
	}
	if (victims == NIL)
		return;
	storage_delete(es->st, victims);

	initStringInfo(&uris);
	{
		Datum	   *d = palloc(sizeof(Datum) * list_length(uri_list));
		int			i = 0;

		foreach(lc, uri_list)
			d[i++] = CStringGetTextDatum((char *) lfirst(lc));
		args[0] = PointerGetDatum(construct_array(d, i, TEXTOID, -1, false, TYPALIGN_INT));
	}
	if (SPI_execute_with_args("DELETE FROM dlake.files WHERE path = ANY ($1)",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not update dlake.files");
}

/* write the manifest (JSON like Redshift UNLOAD MANIFEST) and _SUCCESS */
static void
export_write_markers(ExportState *es)
{
	ListCell   *lc;

	if (es->spec->manifest)
	{
		StringInfoData m;
		bool		first = true;
		DlakeLocation *loc = dlake_location_child(es->root,
												  psprintf("_manifest-%s.json", es->spec->name_prefix + 5));
		DlakeWriteStream *ws;
		DlakeObjectInfo info;

		initStringInfo(&m);
		appendStringInfo(&m, "{\"run_id\": " INT64_FORMAT ", \"location\": ", es->run_id);
		escape_json(&m, es->root->uri);
		appendStringInfo(&m, ", \"format\": \"%s\", \"rows\": " INT64_FORMAT
						 ", \"bytes\": " INT64_FORMAT ", \"entries\": [",
						 dlake_format_name(es->spec->fopts.format), es->rows, es->bytes);
		foreach(lc, es->files)
		{
			ExportFile *f = lfirst(lc);

			appendStringInfoString(&m, first ? "\n  " : ",\n  ");
			first = false;
			appendStringInfoString(&m, "{\"url\": ");
			escape_json(&m, f->uri);
			appendStringInfo(&m, ", \"mandatory\": true, \"meta\": {\"content_length\": " INT64_FORMAT
							 ", \"record_count\": " INT64_FORMAT "}, \"partition\": %s}",
							 f->bytes, f->rows, f->part_json);
		}
		appendStringInfoString(&m, "\n]}\n");
		storage_pending_add(es->cleanup, loc);
		ws = storage_write_open(es->st, loc);
		storage_write(ws, m.data, m.len);
		storage_write_close(ws, &info);
		storage_pending_done(es->cleanup);
	}
	if (es->spec->success_marker)
	{
		DlakeLocation *loc = dlake_location_child(es->root, "_SUCCESS");
		DlakeWriteStream *ws;

		storage_pending_add(es->cleanup, loc);
		ws = storage_write_open(es->st, loc);
		storage_write_close(ws, NULL);
		storage_pending_done(es->cleanup);
	}
}

/* the catalog rows of the files and the run's totals */
static void
export_record(ExportState *es)
{
	ListCell   *lc;
	Oid			ftypes[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID};
	Oid			rtypes[5] = {INT8OID, INT8OID, INT8OID, INT4OID, TEXTOID};
	Datum		rargs[5];
	char	   *root_uri = pstrdup(es->root->uri);
	size_t		n = strlen(root_uri);
	SPIPlanPtr	plan;

	if (n > 0 && root_uri[n - 1] == '/')
		root_uri[n - 1] = '\0';
	plan = SPI_prepare("INSERT INTO dlake.files (run_id, location, path, partition, rows, bytes, "
					   "column_stats, format) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8) "
					   "ON CONFLICT (path) DO UPDATE SET run_id = EXCLUDED.run_id, "
					   "partition = EXCLUDED.partition, rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, "
					   "column_stats = EXCLUDED.column_stats, format = EXCLUDED.format, "
					   "created = now()", 8, ftypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the dlake.files insert");
	foreach(lc, es->files)
	{
		ExportFile *f = lfirst(lc);
		Datum		args[8];

		args[0] = Int64GetDatum(es->run_id);
		args[1] = CStringGetTextDatum(root_uri);
		args[2] = CStringGetTextDatum(f->uri);
		args[3] = CStringGetTextDatum(f->part_json);
		args[4] = Int64GetDatum(f->rows);
		args[5] = Int64GetDatum(f->bytes);
		args[6] = CStringGetTextDatum(f->stats_json);
		args[7] = CStringGetTextDatum(dlake_format_name(es->spec->fopts.format));
		if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into dlake.files");
	}
	rargs[0] = Int64GetDatum(es->run_id);
	rargs[1] = Int64GetDatum(es->rows);
	rargs[2] = Int64GetDatum(es->bytes);
	rargs[3] = Int32GetDatum(list_length(es->files));
	rargs[4] = CStringGetTextDatum("succeeded");
	if (SPI_execute_with_args("UPDATE dlake.export_runs SET finished = clock_timestamp(), rows = $2, "
							  "bytes = $3, files = $4, status = $5 WHERE id = $1",
							  5, rtypes, rargs, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update dlake.export_runs");
}

/* insert the run row ("running"); returns its id */
static int64
export_start_run(ExportSpec *spec, const char *status)
{
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	args[0] = CStringGetTextDatum(spec->kind);
	args[1] = CStringGetTextDatum(spec->source);
	args[2] = CStringGetTextDatum(spec->location);
	args[3] = CStringGetTextDatum(dlake_format_name(spec->fopts.format));
	if (spec->partition_by)
		args[4] = PointerGetDatum(spec->partition_by);
	else
		nulls[4] = 'n';
	args[5] = CStringGetTextDatum(spec->overwrite ? "overwrite" : "append");
	args[6] = CStringGetTextDatum(status);
	if (SPI_execute_with_args("INSERT INTO dlake.export_runs (kind, source, location, format, "
							  "partition_by, mode, status, finished) VALUES ($1, $2, $3, $4, $5, $6, $7, "
							  "CASE WHEN $7 = 'running' THEN NULL ELSE clock_timestamp() END) RETURNING id",
							  7, types, args, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert into dlake.export_runs");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static Portal
export_open_cursor(const char *query)
{
	SPIPlanPtr	plan;
	Portal		portal;

	plan = SPI_prepare_cursor(query, 0, NULL, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("could not prepare the query of the export: %s",
						SPI_result_code_string(SPI_result))));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	if (portal->tupDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of the export must return rows")));
	return portal;
}

/*
 * export_run runs spec->query and writes its rows; SPI must be connected.
 * Returns the state (files, totals) for the caller's result set.
 */
static ExportState *
export_run(ExportSpec *spec, int64 run_id)
{
	ExportState *es = palloc0(sizeof(ExportState));
	Portal		portal;
	HASHCTL		ctl;
	Datum	   *values;
	bool	   *nulls;
	MemoryContext batchcxt;
	MemoryContext rowcxt;
	int			sort_guc_level = 0;
	char	   *rootkey;
	DlakeLocation *parsed;

	es->spec = spec;
	es->run_id = run_id;
	es->last_progress = GetCurrentTimestamp();
	es->cxt = AllocSetContextCreate(CurrentMemoryContext, "dlake export",
									ALLOCSET_DEFAULT_SIZES);
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "dlake export batch",
									 ALLOCSET_DEFAULT_SIZES);
	if (spec->name_prefix == NULL)
		spec->name_prefix = psprintf("part-" INT64_FORMAT, run_id);

	parsed = dlake_location_parse_or_error(spec->location);
	rootkey = parsed->key;
	if (rootkey[0] != '\0' && rootkey[strlen(rootkey) - 1] != '/')
	{
		parsed->key = psprintf("%s/", rootkey);
		parsed->uri = psprintf("%s/", parsed->uri);
	}
	es->root = parsed;
	es->cleanup = cleanup_create(spec->server, es->root);
	es->st = storage_pending_storage(es->cleanup);
	es->ext = dlake_format_extension(spec->fopts.format, spec->fopts.compression);

	portal = export_open_cursor(spec->query);
	es->qdesc = CreateTupleDescCopy(portal->tupDesc);
	export_setup_columns(es);
	es->clustered = true;
	es->can_restart = es->npart > 0 && spec->sort_if_needed;

	/*
	 * Partitioned: every writer writes to a local temp file, uploaded when
	 * the file is complete (writer_upload_spill), so open partitions cost
	 * a row group share and an 8 kB buffer each, not a multipart part or a
	 * file write buffer.  Unpartitioned: one writer streams directly.
	 */
	es->spill = es->npart > 0;
	if (!es->spill && spec->fopts.format == DLAKE_FORMAT_PARQUET &&
		spec->fopts.row_group_bytes > EXPORT_SINGLE_ROW_GROUP)
		spec->fopts.row_group_bytes = EXPORT_SINGLE_ROW_GROUP;
	if (spec->max_file_size > 0 && spec->fopts.format == DLAKE_FORMAT_PARQUET &&
		spec->fopts.row_group_bytes > spec->max_file_size)
		spec->fopts.row_group_bytes = Max(spec->max_file_size / 2, 64 * 1024);

	values = es->values = palloc(sizeof(Datum) * Max(es->qdesc->natts, 1));
	nulls = es->nulls = palloc(sizeof(bool) * Max(es->qdesc->natts, 1));
	es->fvalues = palloc(sizeof(Datum) * es->fdesc->natts);
	es->fnulls = palloc(sizeof(bool) * es->fdesc->natts);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "dlake export pool rows",
								   ALLOCSET_DEFAULT_SIZES);
	es->prev_values = palloc(sizeof(Datum) * Max(es->npart, 1));
	es->prev_nulls = palloc(sizeof(bool) * Max(es->npart, 1));
	es->prevcxt = AllocSetContextCreate(CurrentMemoryContext, "dlake export previous row",
										ALLOCSET_SMALL_SIZES);

	for (;;)
	{
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(PartWriter);
		ctl.hash = str_ptr_hash;
		ctl.match = str_ptr_match;
		ctl.hcxt = es->cxt;
		es->writers = hash_create("dlake export writers", 64, &ctl,
								  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
		dlist_init(&es->open);

		PG_TRY();
		{
			while (!es->restart)
			{
				MemoryContext old;
				SPITupleTable *tt;

				SPI_cursor_fetch(portal, true, EXPORT_BATCH_ROWS);
				if (SPI_processed == 0)
					break;
				tt = SPI_tuptable;
				old = MemoryContextSwitchTo(batchcxt);
				for (uint64 i = 0; i < SPI_processed; i++)
				{
					PartWriter *pw;
					PartWriter *prev_pw;

					heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
					prev_pw = es->last_pw;
					pw = writer_for_row(es, values, nulls);

					/*
					 * Rows grouped by partition: a partition we move away
					 * from is most likely done, so complete its file now
					 * rather than keep its buffers until eviction.  Only
					 * after our own sort, or when the previous partition
					 * had many rows (not for rows that merely happen to
					 * alternate so far).
					 */
					if (prev_pw != NULL && prev_pw != pw && es->clustered &&
						(prev_pw->fw != NULL || prev_pw->npend > 0) &&
						(es->sorted ||
						 (prev_pw->fw ? format_writer_rows(prev_pw->fw) : 0) +
						 prev_pw->npend >= EXPORT_EAGER_CLOSE_ROWS))
					{
						writer_flush_pending(es, prev_pw, rowcxt);
						if (es->restart)
							break;
						if (prev_pw->fw != NULL)
							writer_close_file(es, prev_pw);
						/* this batch's values were deformed again: redo */
						heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
					}
					if (!es->spill)
					{
						writer_append_row(es, pw);
						if (es->restart)
							break;
						continue;
					}
					/* partitioned: into the pool */
					{
						HeapTuple	t = tt->vals[i];
						int64		need = MAXALIGN(sizeof(uint32)) + MAXALIGN(t->t_len);

						if (pw->pend_len + need > pw->pend_cap)
						{
							int64		ncap = Max(pw->pend_cap * 2, 1024);

							while (ncap < pw->pend_len + need)
								ncap *= 2;
							pw->pend = pw->pend ?
								repalloc_huge(pw->pend, ncap) :
								MemoryContextAllocHuge(es->cxt, ncap);
							es->pool_alloc += ncap - pw->pend_cap;
							pw->pend_cap = ncap;
						}
						if (pw->npend == 0)
						{
							MemoryContext o2 = MemoryContextSwitchTo(es->cxt);

							es->dirty = lappend(es->dirty, pw);
							MemoryContextSwitchTo(o2);
						}
						*(uint32 *) (pw->pend + pw->pend_len) = t->t_len;
						memcpy(pw->pend + pw->pend_len + MAXALIGN(sizeof(uint32)), t->t_data, t->t_len);
						pw->pend_len += need;
						pw->npend++;
						es->pool_bytes += need;
					}
				}
				MemoryContextSwitchTo(old);
				MemoryContextReset(batchcxt);
				SPI_freetuptable(tt);
				if (es->spill && !es->restart &&
					(es->pool_bytes >= EXPORT_POOL_BYTES || es->pool_alloc >= 2 * EXPORT_POOL_BYTES))
					export_pool_flush(es, rowcxt);
				CHECK_FOR_INTERRUPTS();
				export_progress(es, false);
			}
			if (!es->restart && es->spill)
				export_pool_flush(es, rowcxt);

			if (!es->restart)
			{
				SPI_cursor_close(portal);
				/* complete every open file, oldest first */
				while (!dlist_is_empty(&es->open))
				{
					CHECK_FOR_INTERRUPTS();
					writer_close_file(es, dlist_head_element(PartWriter, node, &es->open));
				}
			}
		}
		PG_CATCH();
		{
			/* discard open uploads now; completed files go at abort */
			dlist_mutable_iter it;

			dlist_foreach_modify(it, &es->open)
				writer_discard(dlist_container(PartWriter, node, it.cur));
			PG_RE_THROW();
		}
		PG_END_TRY();

		if (!es->restart)
			break;

		/*
		 * More partitions than max_open_files and rows not grouped by
		 * partition: rather than closing and reopening files for ever,
		 * throw away what this attempt wrote and read the query again
		 * sorted by the partition columns (an external sort, memory
		 * bounded by work_mem).
		 */
		ereport(DEBUG1,
				(errmsg("dlake export run " INT64_FORMAT ": rows are not grouped by partition; "
						"restarting with the query sorted by the partition columns", run_id)));
		{
			dlist_mutable_iter it;

			dlist_foreach_modify(it, &es->open)
			{
				PartWriter *pw = dlist_container(PartWriter, node, it.cur);

				writer_discard(pw);
				if (pw->spill != NULL)
					BufFileClose(pw->spill);
				pw->spill = NULL;
			}
		}
		es->dirty = NIL;
		es->pool_bytes = 0;
		es->pool_alloc = 0;
		SPI_cursor_close(portal);
		storage_pending_delete_now(es->cleanup);
		MemoryContextReset(batchcxt);
		MemoryContextReset(es->cxt);
		MemoryContextReset(es->prevcxt);
		es->files = NIL;
		es->rows = 0;
		es->bytes = 0;
		es->nopen = 0;
		es->nfiles_started = 0;
		es->copybuf = NULL;
		es->images = NULL;
		es->nimages = 0;
		es->last_pw = NULL;
		es->restart = false;
		es->can_restart = false;
		es->sorted = true;
		es->clustered = true;
		{
			StringInfoData sq;

			initStringInfo(&sq);
			appendStringInfo(&sq, "SELECT * FROM (%s\n) dlake_q ORDER BY ", spec->query);
			for (int i = 0; i < es->npart; i++)
				appendStringInfo(&sq, "%s%s", i ? ", " : "", quote_identifier(es->part_name[i]));
			/* give the sort room: 64 MB unless work_mem is larger */
			if (work_mem < EXPORT_SORT_WORK_MEM_KB)
			{
				sort_guc_level = NewGUCNestLevel();
				(void) set_config_option("work_mem", psprintf("%d", EXPORT_SORT_WORK_MEM_KB),
										 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
										 true, 0, false);
			}
			portal = export_open_cursor(sq.data);
		}
	}

	if (sort_guc_level > 0)
		AtEOXact_GUC(true, sort_guc_level);
	export_write_markers(es);
	if (spec->overwrite)
		export_overwrite(es);
	if (es->rows > 0 && dlake_progress_interval_s > 0 &&
		TimestampDifferenceExceeds(GetCurrentTransactionStartTimestamp(), GetCurrentTimestamp(),
								   dlake_progress_interval_s * 1000))
		export_progress(es, true);
	return es;
}

static void
export_emit(FunctionCallInfo fcinfo, ExportState *es)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	if (es == NULL)
		return;
	foreach(lc, es->files)
	{
		ExportFile *f = lfirst(lc);
		Datum		v[4];
		bool		n[4] = {false, false, false, false};

		v[0] = CStringGetTextDatum(f->uri);
		v[1] = CStringGetTextDatum(f->partition);
		v[2] = Int64GetDatum(f->rows);
		v[3] = Int64GetDatum(f->bytes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
}

/* ----------------------------------------------------------------
 * Argument handling shared by export and export_table
 * ----------------------------------------------------------------
 */
static const char *
json_extra(List *extra, const char *name)
{
	ListCell   *lc;

	foreach(lc, extra)
	{
		DefElem    *d = lfirst(lc);

		if (pg_strcasecmp(d->defname, name) == 0)
			return defGetString(d);
	}
	return NULL;
}

static bool
parse_bool_option(const char *name, const char *s)
{
	bool		b;

	if (!parse_bool(s, &b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a boolean", name)));
	return b;
}

/*
 * Arguments 1..11 (location, format, partition_by, compression,
 * max_file_size, mode, server, options, max_open_files, manifest, zone)
 * are the same for both functions.
 */
static void
export_parse_args(FunctionCallInfo fcinfo, ExportSpec *spec)
{
	char	   *zone = PG_ARGISNULL(11) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(11));
	List	   *extra = NIL;
	ListCell   *lc;

	memset(spec, 0, sizeof(*spec));
	spec->server = PG_ARGISNULL(7) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(7)));
	spec->location = dlake_resolve_zone(zone,
										PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
										&spec->server);

	dlake_format_options_init(&spec->fopts);
	if (!PG_ARGISNULL(8))
		dlake_format_options_from_jsonb(&spec->fopts, PG_GETARG_JSONB_P(8), &extra);
	spec->fopts.format = PG_ARGISNULL(2) ? DLAKE_FORMAT_PARQUET :
		dlake_format_from_name(text_to_cstring(PG_GETARG_TEXT_PP(2)), false);
	if (spec->fopts.format == DLAKE_FORMAT_AUTO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export format must be parquet, csv or jsonl")));
	if (!PG_ARGISNULL(4))
		spec->fopts.compression =
			dlake_compression_from_name(text_to_cstring(PG_GETARG_TEXT_PP(4)), false);
	dlake_format_options_validate(&spec->fopts);

	foreach(lc, extra)
	{
		DefElem    *d = lfirst(lc);

		if (pg_strcasecmp(d->defname, "success_marker") != 0 &&
			pg_strcasecmp(d->defname, "sort") != 0 &&
			pg_strcasecmp(d->defname, "on_error") != 0 &&
			pg_strcasecmp(d->defname, "fail_after_upload") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown export option \"%s\"", d->defname),
					 errhint("Export options are the format options of docs/formats.md plus success_marker.")));
	}
	if (json_extra(extra, "success_marker"))
		spec->success_marker = parse_bool_option("success_marker", json_extra(extra, "success_marker"));
	spec->sort_if_needed = true;
	if (json_extra(extra, "sort"))
		spec->sort_if_needed = parse_bool_option("sort", json_extra(extra, "sort"));
	if (json_extra(extra, "fail_after_upload"))
		spec->fail_after_upload = parse_bool_option("fail_after_upload", json_extra(extra, "fail_after_upload"));

	spec->partition_by = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P_COPY(3);
	if (spec->partition_by && ARR_NDIM(spec->partition_by) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partition_by must be a one-dimensional text array")));
	if (spec->partition_by && ArrayGetNItems(ARR_NDIM(spec->partition_by),
											 ARR_DIMS(spec->partition_by)) == 0)
		spec->partition_by = NULL;

	spec->max_file_size = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5);
	if (spec->max_file_size < 0 || (spec->max_file_size > 0 && spec->max_file_size < 1024))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_file_size must be at least 1024 bytes"),
				 errhint("Pass NULL for no limit.")));
	if (!PG_ARGISNULL(6))
	{
		char	   *mode = text_to_cstring(PG_GETARG_TEXT_PP(6));

		if (pg_strcasecmp(mode, "overwrite") == 0)
			spec->overwrite = true;
		else if (pg_strcasecmp(mode, "append") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mode must be \"append\" or \"overwrite\", not \"%s\"", mode)));
	}
	if (!PG_ARGISNULL(9))
		spec->max_open = PG_GETARG_INT32(9);
	else if (spec->fopts.format == DLAKE_FORMAT_PARQUET)
		spec->max_open = EXPORT_DEFAULT_MAX_OPEN;
	else
		spec->max_open = EXPORT_DEFAULT_MAX_OPEN_TEXT;
	if (spec->max_open < 1 || spec->max_open > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_open_files must be between 1 and 10000")));
	spec->manifest = PG_ARGISNULL(10) ? false : PG_GETARG_BOOL(10);
}

/* the work of dlake.export; see export_guarded for on_error */
static void
export_body(FunctionCallInfo fcinfo)
{
	ExportSpec	spec;
	ExportState *es;
	int64		run_id;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be NULL")));
	export_parse_args(fcinfo, &spec);
	spec.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec.source = spec.query;
	spec.kind = "export";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run_id = export_start_run(&spec, "running");
	es = export_run(&spec, run_id);
	if (spec.fail_after_upload)
	{
		storage_pending_keep(es->cleanup);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("injected failure after upload (fail_after_upload)")));
	}
	export_record(es);
	export_emit(fcinfo, es);	/* before SPI_finish frees es */
	SPI_finish();
}

/*
 * on_error option (in options jsonb, argument 8): "raise" (default) or
 * "record".  Read before anything else, so that argument errors can be
 * recorded too.
 */
static bool
export_on_error_record(FunctionCallInfo fcinfo)
{
	Jsonb	   *jb;
	JsonbValue	k;
	JsonbValue *v;
	char	   *val;

	if (PG_NARGS() <= 8 || PG_ARGISNULL(8))
		return false;
	jb = PG_GETARG_JSONB_P(8);
	if (!JB_ROOT_IS_OBJECT(jb))
		return false;
	k.type = jbvString;
	k.val.string.val = "on_error";
	k.val.string.len = 8;
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
	if (v == NULL)
		return false;
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"on_error\" must be \"raise\" or \"record\"")));
	val = pnstrdup(v->val.string.val, v->val.string.len);
	if (pg_strcasecmp(val, "record") == 0)
		return true;
	if (pg_strcasecmp(val, "raise") == 0)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"on_error\" must be \"raise\" or \"record\"")));
	return false;
}

/* a "failed" row in dlake.export_runs, in the caller's transaction */
static void
export_record_failure(FunctionCallInfo fcinfo, const char *kind, ErrorData *edata)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[5];
	char	   *source;
	char	   *location;

	if (PG_ARGISNULL(0))
		source = "";
	else if (strcmp(kind, "export") == 0)
		source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
		source = DatumGetCString(DirectFunctionCall1(regclassout, PG_GETARG_DATUM(0)));
	location = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(11))
		location = psprintf("zone %s: %s", text_to_cstring(PG_GETARG_TEXT_PP(11)), location);
	args[0] = CStringGetTextDatum(kind);
	args[1] = CStringGetTextDatum(source);
	args[2] = CStringGetTextDatum(location);
	args[3] = CStringGetTextDatum(PG_ARGISNULL(2) ? "parquet" : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	args[4] = CStringGetTextDatum(edata->detail ?
								  psprintf("%s (%s)", edata->message, edata->detail) :
								  edata->message);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO dlake.export_runs (kind, source, location, format, "
							  "status, error, finished) VALUES ($1, $2, $3, $4, 'failed', $5, "
							  "clock_timestamp())", 5, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into dlake.export_runs");
	SPI_finish();
	ereport(WARNING,
			(errmsg("dlake %s failed: %s", kind, edata->message),
			 errdetail("The failure is recorded in dlake.export_runs; files written by the attempt were deleted.")));
}

/*
 * Run an export body; with on_error = record, in a subtransaction whose
 * failure (not a cancel) is recorded as a failed run instead of raised.
 * Files of the failed attempt are deleted by the subtransaction abort.
 */
static Datum
export_guarded(FunctionCallInfo fcinfo, void (*body) (FunctionCallInfo), const char *kind)
{
	MemoryContext oldcxt;
	ResourceOwner oldowner;

	InitMaterializedSRF(fcinfo, 0);
	if (!export_on_error_record(fcinfo))
	{
		body(fcinfo);
		return (Datum) 0;
	}
	oldcxt = CurrentMemoryContext;
	oldowner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		body(fcinfo);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		export_record_failure(fcinfo, kind, edata);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/*
 * dlake.export(query, location, format, partition_by, compression,
 *				max_file_size, mode, server, options, max_open_files,
 *				manifest, zone)
 */
Datum
dlake_export(PG_FUNCTION_ARGS)
{
	return export_guarded(fcinfo, export_body, "export");
}

/* ----------------------------------------------------------------
 * Incremental export
 * ----------------------------------------------------------------
 */

/*
 * dlake._xid8(xid) → xid8: the full transaction id of a tuple's xmin,
 * using the epoch of the next xid seen at the first call of the query
 * (every tuple a snapshot of this query sees is older than that).
 * Special xids (frozen, bootstrap) map to themselves in epoch 0, i.e.
 * older than every snapshot.
 */
Datum
dlake_xid_to_xid8(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));
	FullTransactionId *next = (FullTransactionId *) fcinfo->flinfo->fn_extra;
	uint32		epoch;

	if (!TransactionIdIsNormal(xid))
		PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromEpochAndXid(0, xid));
	if (next == NULL)
	{
		next = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(FullTransactionId));
		*next = ReadNextFullTransactionId();
		fcinfo->flinfo->fn_extra = next;
	}
	epoch = EpochFromFullTransactionId(*next);
	if (xid >= XidFromFullTransactionId(*next) && epoch > 0)
		epoch--;
	PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromEpochAndXid(epoch, xid));
}

static char *
spi_one_text(const char *query, int nargs, Oid *types, Datum *args, bool *isnull)
{
	int			ret = SPI_execute_with_args(query, nargs, types, args, NULL, false, 1);

	if (ret < 0)
		elog(ERROR, "query failed: %s", query);
	if (SPI_processed == 0)
	{
		*isnull = true;
		return NULL;
	}
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) ?
		(*isnull = false, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) :
		(*isnull = true, (char *) NULL);
}

/* delete part files of a batch whose attempt never committed */
static void
export_remove_leftovers(ExportSpec *spec, const char *prefix)
{
	DlakeLocation *root = dlake_location_parse_or_error(spec->location);
	DlakeConfig *cfg = root->kind == DLAKE_STORAGE_S3 ? dlake_config_get(spec->server) : NULL;
	DlakeStorage *st;
	List	   *objs;
	List	   *victims = NIL;
	ListCell   *lc;
	size_t		plen = strlen(prefix);

	if (root->key[0] != '\0' && root->key[strlen(root->key) - 1] != '/')
	{
		root->key = psprintf("%s/", root->key);
		root->uri = psprintf("%s/", root->uri);
	}
	st = storage_open(cfg, root);
	if (root->kind == DLAKE_STORAGE_FILE)
	{
		struct stat sb;

		if (stat(root->key, &sb) != 0)
			return;				/* nothing exported there yet */
	}
	objs = storage_list(st, root, true);
	foreach(lc, objs)
	{
		DlakeObjectInfo *o = lfirst(lc);
		const char *base = strrchr(o->uri, '/');

		base = base ? base + 1 : o->uri;
		if (o->size >= 0 && strncmp(base, prefix, plen) == 0 && base[plen] == '-')
			victims = lappend(victims, dlake_location_parse_or_error(o->uri));
	}
	if (victims != NIL)
	{
		ereport(NOTICE,
				(errmsg("removing %d files left by a failed attempt of %s",
						list_length(victims), spec->source)));
		storage_delete(st, victims);
	}
}

/*
 * dlake.export_table(source, location, ...same as export..., watermark)
 */
static void
export_table_body(FunctionCallInfo fcinfo)
{
	ExportSpec	spec;
	ExportState *es;
	Oid			relid;
	char	   *relname;
	char	   *watermark;
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		isnull;
	char	   *prev_snap = NULL;
	char	   *cur_snap;
	int64		batch = 0;
	int64		run_id;
	char	   *wm_max = NULL;
	StringInfoData q;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL")));
	relid = PG_GETARG_OID(0);
	relname = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
	if (get_rel_relkind(relid) != RELKIND_RELATION &&
		get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", relname),
				 errdetail("dlake.export_table tracks rows by transaction; use dlake.export for views and queries.")));
	watermark = PG_ARGISNULL(12) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(12));
	export_parse_args(fcinfo, &spec);
	if (spec.overwrite)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlake.export_table appends new rows; mode \"overwrite\" is not supported"),
				 errhint("Use dlake.export with mode => 'overwrite' to rewrite partitions.")));
	spec.source = relname;
	spec.kind = "export_table";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* one run per (table, location) at a time */
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(spec.location);
	if (strcmp(spi_one_text("SELECT pg_try_advisory_xact_lock(hashtext('dlake.export_table ' || $2), "
							"$1::int4)", 2, types, args, &isnull), "t") != 0)
	{
		ereport(NOTICE,
				(errmsg("another dlake.export_table of %s to %s is running; skipping this call",
						relname, spec.location)));
		export_start_run(&spec, "skipped");
		SPI_finish();
		return;
	}

	/* the previous successful run's snapshot and batch number */
	if (SPI_execute_with_args("SELECT snapshot::text, batch FROM dlake.export_state "
							  "WHERE source = $1 AND location = $2",
							  2, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read dlake.export_state");
	if (SPI_processed > 0)
	{
		prev_snap = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		batch = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	batch++;
	spec.name_prefix = psprintf("part-t%ub" INT64_FORMAT, relid, batch);
	export_remove_leftovers(&spec, spec.name_prefix);

	cur_snap = spi_one_text("SELECT pg_current_snapshot()::text", 0, NULL, NULL, &isnull);

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT t.* FROM %s t WHERE pg_catalog.pg_visible_in_snapshot(dlake._xid8(t.xmin), %s::pg_snapshot)",
					 relname, quote_literal_cstr(cur_snap));
	if (prev_snap)
		appendStringInfo(&q, " AND NOT pg_catalog.pg_visible_in_snapshot(dlake._xid8(t.xmin), %s::pg_snapshot)",
						 quote_literal_cstr(prev_snap));
	spec.query = q.data;

	run_id = export_start_run(&spec, "running");
	es = export_run(&spec, run_id);

	if (watermark)
	{
		StringInfoData wq;

		initStringInfo(&wq);
		appendStringInfo(&wq, "SELECT max(%s)::text FROM (%s) s", quote_identifier(watermark), spec.query);
		wm_max = spi_one_text(wq.data, 0, NULL, NULL, &isnull);
	}

	if (spec.fail_after_upload)
	{
		/* test hook: as if the server crashed before the commit */
		storage_pending_keep(es->cleanup);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("injected failure after upload (fail_after_upload)")));
	}
	export_record(es);
	{
		Oid			stypes[7] = {OIDOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID};
		Datum		sargs[7];
		char		snulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

		sargs[0] = ObjectIdGetDatum(relid);
		sargs[1] = CStringGetTextDatum(spec.location);
		sargs[2] = CStringGetTextDatum(cur_snap);
		sargs[3] = Int64GetDatum(batch);
		sargs[4] = Int64GetDatum(run_id);
		sargs[5] = Int64GetDatum(es->rows);
		if (wm_max)
			sargs[6] = CStringGetTextDatum(wm_max);
		else
			snulls[6] = 'n';
		if (SPI_execute_with_args("INSERT INTO dlake.export_state AS s (source, location, source_name, snapshot, "
								  "batch, last_run, rows, watermark_value, updated) "
								  "VALUES ($1, $2, $1::regclass::text, $3::pg_snapshot, $4, $5, $6, $7, now()) "
								  "ON CONFLICT (source, location) DO UPDATE SET snapshot = EXCLUDED.snapshot, "
								  "batch = EXCLUDED.batch, last_run = EXCLUDED.last_run, "
								  "rows = s.rows + EXCLUDED.rows, "
								  "watermark_value = COALESCE(EXCLUDED.watermark_value, s.watermark_value), "
								  "updated = now()",
								  7, stypes, sargs, snulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not update dlake.export_state");
	}
	export_emit(fcinfo, es);	/* before SPI_finish frees es */
	SPI_finish();
}

Datum
dlake_export_table(PG_FUNCTION_ARGS)
{
	return export_guarded(fcinfo, export_table_body, "export_table");
}
