/*-------------------------------------------------------------------------
 *
 * format.h
 *	  One reader/writer interface over the lake file formats: Parquet, CSV
 *	  and JSON lines (optionally gzip/zstd compressed).  Used by export,
 *	  load, the FDW and the dlake.read_file/write_file SQL functions.
 *
 * Writers stream rows (Datums + nulls) into a DlakeWriteStream (storage.h)
 * or any byte sink; memory is bounded by the options (row group / buffer
 * size), never by the data size.  format_writer_close() writes the trailer
 * (Parquet footer, compressor end frame) but does NOT close the stream: the
 * caller closes or aborts it, so it decides when the object becomes visible.
 *
 * Readers read from a byte-range source (DlakeByteSource): CSV and JSONL
 * stream through a read-ahead buffer in large ranges; Parquet fetches the
 * footer and then only the column chunks of the projected columns of the
 * selected row groups.  Values come out converted to the PostgreSQL types
 * the caller asks for (a TupleDesc), with row-level error context
 * "dlake object <uri>, line N" (CSV/JSONL) or
 * "dlake object <uri>, row group G, column "c", row R" (Parquet).
 *
 * Typical read:
 *
 *		DlakeFormatOptions opts;
 *		dlake_format_options_init(&opts);
 *		dlake_format_options_from_defelems(&opts, options, NULL);
 *		src = format_source_from_storage(st, loc, size_or_minus_1);
 *		r = format_reader_open(&opts, src);
 *		format_reader_map_columns(r, tupdesc, DLAKE_MATCH_BY_NAME, true);
 *		while (format_reader_next(r, values, isnull, NULL) == DLAKE_READ_ROW)
 *			... values valid until the next call ...
 *		format_reader_close(r);
 *
 * Typical write:
 *
 *		w = format_writer_open(&opts, tupdesc, storage_write_open(st, loc), uri);
 *		format_writer_append(w, values, isnull);   (per row)
 *		format_writer_close(w);                    (trailer; stats available)
 *		storage_write_close(ws, &info);
 *
 * IDENTIFICATION
 *	  src/format/format.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_FORMAT_H
#define DLAKE_FORMAT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "storage/storage.h"
#include "utils/jsonb.h"

/* ----------------------------------------------------------------
 * Formats, codecs and options (format.c)
 * ----------------------------------------------------------------
 */
typedef enum DlakeFileFormat
{
	DLAKE_FORMAT_AUTO = 0,		/* guess from object name / magic bytes */
	DLAKE_FORMAT_PARQUET,
	DLAKE_FORMAT_CSV,
	DLAKE_FORMAT_JSONL
} DlakeFileFormat;

typedef enum DlakeCompression
{
	DLAKE_COMPRESSION_AUTO = 0, /* writer: format default (Parquet snappy,
								 * CSV/JSONL none); reader: extension/magic */
	DLAKE_COMPRESSION_NONE,
	DLAKE_COMPRESSION_GZIP,
	DLAKE_COMPRESSION_ZSTD,
	DLAKE_COMPRESSION_SNAPPY,	/* Parquet only */
	DLAKE_COMPRESSION_LZ4_RAW	/* Parquet only (reading; writing too if the
								 * Parquet library supports it) */
} DlakeCompression;

typedef struct DlakeFormatOptions
{
	DlakeFileFormat format;
	DlakeCompression compression;
	int			compression_level;	/* 0 = codec default */

	/* CSV */
	bool		header;			/* default true */
	char		delimiter;		/* default ',' */
	char		quote;			/* default '"' */
	char		escape;			/* default = quote (RFC 4180 doubling) */
	char	   *null_string;	/* default "" (unquoted empty field = NULL) */
	bool		force_quote;	/* writer: quote every non-NULL field */

	/* JSON lines */
	bool		case_sensitive; /* key → column matching; default true */
	char	   *extra_keys_column;	/* jsonb column receiving unmatched keys,
									 * NULL = ignore them */

	/* Parquet writer */
	int64		row_group_bytes;	/* default 128 MB */
	int64		row_group_rows; /* 0 = no row limit */
	int32		page_bytes;		/* default 1 MB */
	bool		dictionary;		/* default true */

	/* readers */
	int			sample_rows;	/* schema inference sample, default 1000 */
	int64		read_ahead_bytes;	/* CSV/JSONL range size, default 8 MB */
} DlakeFormatOptions;

extern void dlake_format_options_init(DlakeFormatOptions *opts);

/*
 * Apply a list of DefElem (FDW/export options; values are strings).
 * Option names are case-insensitive: format, compression, compression_level,
 * header, delimiter, quote, escape, null, force_quote, case_sensitive,
 * extra_keys_column, row_group_bytes, row_group_rows, page_bytes, dictionary,
 * sample_rows, read_ahead_bytes.  Bad values raise
 * ERRCODE_INVALID_PARAMETER_VALUE.  Options that are not format options are
 * appended to *unknown when unknown != NULL (so callers can handle their
 * own options); when unknown == NULL they raise
 * ERRCODE_FDW_INVALID_OPTION_NAME with a "Perhaps you meant" hint.
 */
extern void dlake_format_options_from_defelems(DlakeFormatOptions *opts,
											   List *options, List **unknown);

/* same from a jsonb object {"header": true, "delimiter": ";", ...} */
extern void dlake_format_options_from_jsonb(DlakeFormatOptions *opts,
											Jsonb *options, List **unknown);

/* true when name is a format option (for FDW validators) */
extern bool dlake_format_is_option(const char *name);

/* check the options are consistent with opts->format (e.g. snappy on CSV) */
extern void dlake_format_options_validate(const DlakeFormatOptions *opts);

/* "parquet"/"csv"/"jsonl" (also "json", "ndjson"); ereports when !missing_ok */
extern DlakeFileFormat dlake_format_from_name(const char *name, bool missing_ok);
extern const char *dlake_format_name(DlakeFileFormat format);
extern DlakeCompression dlake_compression_from_name(const char *name, bool missing_ok);
extern const char *dlake_compression_name(DlakeCompression compression);

/*
 * Guess format and compression from an object name (".parquet", ".csv",
 * ".csv.gz", ".tsv", ".jsonl", ".json", ".ndjson", ".gz", ".zst", ...) and,
 * when head != NULL, the first bytes of the object (PAR1, gzip 1f 8b,
 * zstd 28 b5 2f fd).  Leaves DLAKE_FORMAT_AUTO / DLAKE_COMPRESSION_NONE when
 * nothing is recognised.
 */
extern void dlake_format_guess(const char *object_name,
							   const unsigned char *head, size_t headlen,
							   DlakeFileFormat *format, DlakeCompression *compression);

/* file name extension for a format + compression, e.g. ".csv.gz" */
extern const char *dlake_format_extension(DlakeFileFormat format,
										  DlakeCompression compression);

/* ----------------------------------------------------------------
 * Byte sources (source.c)
 * ----------------------------------------------------------------
 */
typedef struct DlakeByteSource DlakeByteSource;

/* read exactly len bytes at offset, appended to buf; ereports on failure */
typedef void (*DlakeReadRangeFn) (DlakeByteSource *src, int64 offset,
								  int64 len, StringInfo buf);

struct DlakeByteSource
{
	int64		size;			/* object size in bytes */
	const char *object_name;	/* URI for messages */
	DlakeReadRangeFn read_range;
	void	   *arg;			/* callback state */
	int64		bytes_read;		/* maintained by format_source_read */
	int64		requests;		/* idem */
};

/* a source over one storage object (size < 0: stat it) */
extern DlakeByteSource *format_source_from_storage(DlakeStorage *st,
												   const DlakeLocation *loc,
												   int64 size);

/* a source over an in-memory buffer (not copied; tests, small objects) */
extern DlakeByteSource *format_source_from_memory(const char *data, int64 size,
												  const char *object_name);

/* read a range through src, counting bytes; clamps nothing: a range past
 * the end raises ERRCODE_DATA_CORRUPTED naming the object */
extern void format_source_read(DlakeByteSource *src, int64 offset, int64 len,
							   StringInfo buf);

/* ----------------------------------------------------------------
 * Byte sinks: where writers put their bytes (source.c)
 * ----------------------------------------------------------------
 */
typedef struct DlakeByteSink
{
	void		(*write) (struct DlakeByteSink *sink, const char *data, size_t len);
	void	   *arg;
	int64		bytes_written;	/* maintained by format_sink_write */
} DlakeByteSink;

extern DlakeByteSink *format_sink_from_stream(DlakeWriteStream *ws);
/* appends to a StringInfo (tests, small objects) */
extern DlakeByteSink *format_sink_from_stringinfo(StringInfo buf);
extern void format_sink_write(DlakeByteSink *sink, const char *data, size_t len);

/* ----------------------------------------------------------------
 * Schema and statistics
 * ----------------------------------------------------------------
 */

/* One column of a file, as found in the file (Parquet footer, CSV header,
 * JSONL keys) with the PostgreSQL type inferred for it. */
typedef struct DlakeFileColumn
{
	char	   *name;
	Oid			typid;			/* inferred type, e.g. INT8OID, TEXTOID */
	int32		typmod;			/* -1 or e.g. numeric(p,s) */
	char	   *file_type;		/* format's own type description, e.g.
								 * "INT64 TIMESTAMP(MICROS,true)", "csv" */
	bool		nullable;
} DlakeFileColumn;

/* Column statistics of what a writer wrote (for the dlake.files catalog):
 * min/max as PostgreSQL text output of the column's type. */
typedef struct DlakeColumnStats
{
	char	   *name;
	bool		has_min_max;
	char	   *min;			/* NULL when !has_min_max */
	char	   *max;
	int64		null_count;		/* -1 = unknown */
} DlakeColumnStats;

/* ----------------------------------------------------------------
 * Writer (format.c dispatches to csv.c, jsonl.c, parquet_glue.c)
 * ----------------------------------------------------------------
 */
typedef struct DlakeFormatWriter DlakeFormatWriter;

/*
 * Open a writer.  opts->format must not be AUTO (use dlake_format_guess on
 * the object name first).  object_name is for messages.  The writer keeps
 * its own memory context (child of CurrentMemoryContext).
 */
extern DlakeFormatWriter *format_writer_open(const DlakeFormatOptions *opts,
											 TupleDesc tupdesc,
											 DlakeWriteStream *out,
											 const char *object_name);
extern DlakeFormatWriter *format_writer_open_sink(const DlakeFormatOptions *opts,
												  TupleDesc tupdesc,
												  DlakeByteSink *out,
												  const char *object_name);
extern void format_writer_append(DlakeFormatWriter *w, Datum *values, bool *isnull);
/* write trailer/footer and flush; frees buffers; stats stay readable */
extern void format_writer_close(DlakeFormatWriter *w);
/* free everything without writing more (after an error) */
extern void format_writer_abort(DlakeFormatWriter *w);
extern int64 format_writer_rows(DlakeFormatWriter *w);
/* bytes handed to the stream so far (after close: the file size) */
extern int64 format_writer_bytes(DlakeFormatWriter *w);
/* bytes written + an estimate of what is buffered (for file-size splits) */
extern int64 format_writer_estimated_size(DlakeFormatWriter *w);
/* per-column stats, one per tupdesc attribute; valid after close.
 * Parquet: min/max/null_count; CSV/JSONL: null_count only. */
extern List *format_writer_column_stats(DlakeFormatWriter *w);

/* ----------------------------------------------------------------
 * Reader
 * ----------------------------------------------------------------
 */
typedef struct DlakeFormatReader DlakeFormatReader;

typedef enum DlakeReadResult
{
	DLAKE_READ_EOF = 0,
	DLAKE_READ_ROW,
	DLAKE_READ_ERROR			/* only in soft-error mode: *err filled */
} DlakeReadResult;

typedef enum DlakeColumnMatch
{
	DLAKE_MATCH_BY_NAME,		/* target attname = file column name */
	DLAKE_MATCH_BY_POSITION		/* target attr i = file column i */
} DlakeColumnMatch;

/* A row that could not be converted (soft-error mode). */
typedef struct DlakeRowError
{
	int64		line;			/* CSV/JSONL line (1-based), Parquet row in
								 * file (1-based) */
	char	   *column;			/* target column name or NULL */
	int			sqlerrcode;
	char	   *message;
	char	   *raw;			/* raw line (CSV/JSONL, truncated to 64 kB)
								 * or NULL */
} DlakeRowError;

/*
 * Open a reader.  opts->format AUTO guesses from the object name and the
 * first bytes.  Reads the Parquet footer, or samples the first
 * opts->sample_rows rows of CSV/JSONL for the schema (they are read again
 * by format_reader_next).  Corrupt input raises ERRCODE_DATA_CORRUPTED.
 */
extern DlakeFormatReader *format_reader_open(const DlakeFormatOptions *opts,
											 DlakeByteSource *src);
extern DlakeFileFormat format_reader_format(DlakeFormatReader *r);

/* the file's columns (List of DlakeFileColumn *), in file order */
extern List *format_reader_schema(DlakeFormatReader *r);

/* total rows: Parquet from the footer; CSV/JSONL -1 (unknown) */
extern int64 format_reader_num_rows(DlakeFormatReader *r);

/* row groups: Parquet from the footer; CSV/JSONL always 1 */
extern int	format_reader_num_row_groups(DlakeFormatReader *r);
extern int64 format_reader_row_group_rows(DlakeFormatReader *r, int rg);

/*
 * Statistics of file column col (0-based, file order) in row group rg,
 * converted to (typid, typmod).  Returns false when the file has none
 * usable for that type.  *null_count is -1 when unknown.
 * Parquet only; CSV/JSONL return false.
 */
extern bool format_reader_row_group_stats(DlakeFormatReader *r, int rg, int col,
										  Oid typid, int32 typmod,
										  Datum *min, Datum *max, bool *has_min_max,
										  int64 *null_count);

/*
 * Projection.  Either give the mapping directly (file_columns[i] = file
 * column index for target attribute i, or -1 for NULL; dropped attributes
 * are -1), or let format_reader_map_columns compute it by name
 * (case-insensitive when opts->case_sensitive is false) or position.
 * missing_ok=false raises ERRCODE_UNDEFINED_COLUMN for a target column not
 * found in the file.  Must be called before the first format_reader_next.
 * Only mapped columns are decoded (Parquet: fetched).
 */
extern void format_reader_set_projection(DlakeFormatReader *r, TupleDesc target,
										 const int *file_columns);
extern void format_reader_map_columns(DlakeFormatReader *r, TupleDesc target,
									  DlakeColumnMatch match, bool missing_ok);

/* read only the row groups with selected[rg] = true (Parquet; NULL = all) */
extern void format_reader_select_row_groups(DlakeFormatReader *r,
											const bool *selected);

/*
 * Next row, converted to the target tupdesc.  values/isnull have
 * target->natts entries; pass-by-reference values live in a per-row
 * context reset at the next call.  With err == NULL conversion errors
 * are raised (with context); with err != NULL data errors
 * (ERRCODE class 22, invalid UTF-8, wrong column count) are returned as
 * DLAKE_READ_ERROR with *err filled and the row skipped; other errors
 * (I/O, corrupt Parquet, out of memory, cancel) are always raised.
 */
extern DlakeReadResult format_reader_next(DlakeFormatReader *r, Datum *values,
										  bool *isnull, DlakeRowError *err);

/* line (CSV/JSONL) or row number (Parquet) of the last row returned */
extern int64 format_reader_position(DlakeFormatReader *r);
/* bytes fetched from the source so far (EXPLAIN / max_bytes_scanned) */
extern int64 format_reader_bytes_read(DlakeFormatReader *r);
extern void format_reader_close(DlakeFormatReader *r);

#endif							/* DLAKE_FORMAT_H */
