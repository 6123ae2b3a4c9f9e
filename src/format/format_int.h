/*-------------------------------------------------------------------------
 *
 * format_int.h
 *	  Internals shared by the format modules: the writer and reader
 *	  structs with their per-format operations, the streaming input
 *	  (read-ahead + decompression) and output (compression) layers, and the
 *	  text → Datum conversion helper with soft errors.
 *
 * IDENTIFICATION
 *	  src/format/format_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_FORMAT_INT_H
#define DLAKE_FORMAT_INT_H

#include "postgres.h"

#include "fmgr.h"
#include "format/format.h"

typedef struct DlakeWriterOps
{
	void		(*append) (DlakeFormatWriter *w, Datum *values, bool *isnull);
	void		(*finish) (DlakeFormatWriter *w);	/* write trailer */
	int64		(*buffered) (DlakeFormatWriter *w); /* bytes not yet in out */
} DlakeWriterOps;

struct DlakeFormatWriter
{
	DlakeFormatOptions opts;
	TupleDesc	tupdesc;		/* copy, in cxt */
	char	   *object_name;
	MemoryContext cxt;			/* owns the writer */
	MemoryContext rowcxt;		/* reset per appended row */
	DlakeByteSink *out;			/* borrowed: the raw destination */
	int64		rows;
	int64	   *null_counts;	/* per attribute */
	List	   *stats;			/* DlakeColumnStats *, set at close */
	bool		closed;
	const DlakeWriterOps *ops;
	void	   *state;			/* per format, in cxt */
};

typedef struct DlakeReaderOps
{
	/* fill typid/typmod of r->schema from sampled rows (CSV/JSONL; lazy) */
	void		(*infer) (DlakeFormatReader *r);
	/* called once the projection is known, before the first row */
	void		(*start) (DlakeFormatReader *r);
	DlakeReadResult (*next) (DlakeFormatReader *r, Datum *values, bool *isnull,
							 DlakeRowError *err);
	int64		(*num_rows) (DlakeFormatReader *r);
	int			(*num_row_groups) (DlakeFormatReader *r);
	int64		(*row_group_rows) (DlakeFormatReader *r, int rg);
	bool		(*row_group_stats) (DlakeFormatReader *r, int rg, int col,
									Oid typid, int32 typmod, Datum *min, Datum *max,
									bool *has_min_max, int64 *null_count);
	void		(*close) (DlakeFormatReader *r);
} DlakeReaderOps;

struct DlakeFormatReader
{
	DlakeFormatOptions opts;
	DlakeFileFormat format;
	DlakeCompression compression;
	DlakeByteSource *src;		/* borrowed */
	char	   *object_name;
	MemoryContext cxt;			/* owns the reader */
	MemoryContext rowcxt;		/* reset at every format_reader_next */
	List	   *schema;			/* DlakeFileColumn *, in cxt */
	bool		inferred;		/* schema types filled in */
	int			nfilecols;

	/* projection (set by format_reader_set_projection) */
	TupleDesc	target;			/* copy, in cxt; NULL until set */
	int		   *proj;			/* per target attr: file column or -1 */
	int		   *inv_proj;		/* per file column: target attr or -1 */
	FmgrInfo   *in_funcs;		/* per target attr: type input function */
	Oid		   *in_ioparams;
	bool		started;
	bool	   *rg_selected;	/* NULL = all */

	/* error context */
	int64		position;		/* line / row of the row being read */
	int			cur_rg;			/* Parquet row group or -1 */
	int64		rg_row;			/* Parquet: row within the row group */
	int			cur_attr;		/* target attr being converted or -1 */
	const char *cur_file_column;	/* file column name or NULL */
	ErrorContextCallback errcb;

	const DlakeReaderOps *ops;
	void	   *state;			/* per format, in cxt */
};

/* ---- format.c helpers ---- */

/* push/pop the "dlake object ..., line N" error context */
extern void format_reader_push_context(DlakeFormatReader *r);
extern void format_reader_pop_context(DlakeFormatReader *r);

/*
 * Convert a text value to target attribute attr through the type input
 * function.  Returns true on success.  With err == NULL errors are raised;
 * with err != NULL data exceptions are caught, *err filled, false returned.
 */
extern bool format_input_value(DlakeFormatReader *r, int attr, char *str,
							   Datum *value, DlakeRowError *err);

/* fill *err for a row-level problem found by the reader itself */
extern ErrorData *format_catch_data_error(MemoryContext cxt);
extern void format_row_error(DlakeFormatReader *r, DlakeRowError *err,
							 int sqlerrcode, int attr, const char *message,
							 const char *raw, size_t rawlen);

/* text output of a value for the writer's statistics */
extern char *format_datum_text(Oid typid, Datum value);

/*
 * Text of a non-null value for CSV/JSONL output: like the type's output
 * function, but independent of DateStyle (ISO 8601 dates and timestamps,
 * timestamptz in UTC) and booleans as true/false.  Returns false when the
 * value needs the generic output function.
 */
extern bool format_portable_text(Oid typid, Datum value, StringInfo out);

/* ---- source.c: buffered, decompressing input over a byte source ---- */
typedef struct DlakeInputStream DlakeInputStream;

extern DlakeInputStream *input_stream_open(DlakeByteSource *src,
										   DlakeCompression compression,
										   int64 chunk_bytes);
/* read up to len bytes; returns 0 only at the end of the data */
extern size_t input_stream_read(DlakeInputStream *s, char *buf, size_t len);
extern void input_stream_close(DlakeInputStream *s);

/* ---- compress.c: streaming gzip / zstd ---- */
typedef struct DlakeDecompressor DlakeDecompressor;

extern DlakeDecompressor *decompressor_create(DlakeCompression c, const char *object_name);

/*
 * Decompress from in[0..inlen) into out[0..outcap): returns bytes
 * produced, *consumed input bytes used.  *stream_end is set when the
 * compressed stream ended exactly at a frame/member boundary (more
 * members may follow).  Output per call is bounded by outcap, so a
 * decompression bomb costs time, never memory.  Corrupt input raises
 * ERRCODE_DATA_CORRUPTED naming the object.
 */
extern size_t decompressor_run(DlakeDecompressor *d, const char *in, size_t inlen,
							   size_t *consumed, char *out, size_t outcap,
							   bool *stream_end);
extern void decompressor_free(DlakeDecompressor *d);

typedef struct DlakeCompressor DlakeCompressor;

/* a sink that compresses into inner; level 0 = default */
extern DlakeCompressor *compressor_create(DlakeByteSink *inner, DlakeCompression c,
										  int level, const char *object_name);
extern DlakeByteSink *compressor_sink(DlakeCompressor *c);
/* write the end of the stream into inner */
extern void compressor_finish(DlakeCompressor *c);
extern void compressor_free(DlakeCompressor *c);

/* ---- per-format entry points ---- */
extern void csv_writer_init(DlakeFormatWriter *w);
extern void csv_reader_init(DlakeFormatReader *r);
extern void jsonl_writer_init(DlakeFormatWriter *w);
extern void jsonl_reader_init(DlakeFormatReader *r);
extern void parquet_glue_writer_init(DlakeFormatWriter *w);
extern void parquet_glue_reader_init(DlakeFormatReader *r);

/* shared by csv.c and jsonl.c: infer a column type from sampled text */
typedef struct DlakeTypeGuess
{
	bool		seen;			/* a non-null value was seen */
	bool		maybe_bool;
	bool		maybe_int4;
	bool		maybe_int8;
	bool		maybe_numeric;
	bool		maybe_float8;
	bool		maybe_date;
	bool		maybe_timestamp;
	bool		maybe_timestamptz;
	bool		maybe_jsonb;	/* JSONL: nested values */
} DlakeTypeGuess;

extern void format_guess_init(DlakeTypeGuess *g);
extern void format_guess_text(DlakeTypeGuess *g, const char *s, size_t len);
extern void format_guess_result(const DlakeTypeGuess *g, Oid *typid, int32 *typmod);

#endif							/* DLAKE_FORMAT_INT_H */
