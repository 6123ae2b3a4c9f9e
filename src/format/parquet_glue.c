/*-------------------------------------------------------------------------
 *
 * parquet_glue.c
 *	  Parquet behind the format.h interface: the writer and reader over the
 *	  backend-free library of src/format/parquet/, and the SQL function
 *	  dlake.parquet_metadata.
 *
 * Library callbacks (the sink of the writer, the range source of the
 * reader) call storage, which may raise an ERROR.  We never longjmp
 * through the library: the callback catches the error, keeps a copy,
 * returns a failure code, and the error is re-thrown once the library
 * has returned.  Library objects are freed by memory-context callbacks,
 * so an ERROR anywhere leaks nothing.
 *
 * IDENTIFICATION
 *	  src/format/parquet_glue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/config.h"
#include "fmgr.h"
#include "format/format_int.h"
#include "format/parquet_glue.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

/* text min/max longer than this are not kept for the dlake.files catalog */
#define PQ_STATS_MAX_TEXT 256

/* ================================================================
 * Writer
 * ================================================================
 */

typedef struct PqColStats
{
	bool		has;
	bool		disabled;
	int64		imin,
				imax;
	double		dmin,
				dmax;
	Datum		nmin,			/* numeric / text, allocated in the writer cxt */
				nmax;
} PqColStats;

typedef struct PqWriterState
{
	ParquetWriter *pw;
	DlakeFormatWriter *w;
	int			ncols;
	PqWriteCol *cols;
	ParquetColumnSpec *specs;
	PqColStats *stats;
	ErrorData  *sink_error;		/* error caught in the sink callback */
	MemoryContextCallback cb;
} PqWriterState;

static void
pq_writer_cleanup(void *arg)
{
	PqWriterState *st = (PqWriterState *) arg;

	if (st->pw)
		parquet_writer_free(st->pw);
	st->pw = NULL;
}

/* library sink → format sink; catches storage errors (see file header) */
static int
pq_sink_write(void *arg, const void *buf, size_t len)
{
	PqWriterState *st = (PqWriterState *) arg;
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = 0;

	PG_TRY();
	{
		format_sink_write(st->w->out, buf, len);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(st->w->cxt);
		st->sink_error = CopyErrorData();
		FlushErrorState();
		rc = 1;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return rc;
}

static void
pq_writer_check(PqWriterState *st, ParquetStatus s, int col)
{
	int			code;

	if (s == PARQUET_OK)
		return;
	if (s == PARQUET_ERR_IO && st->sink_error)
		ReThrowError(st->sink_error);
	switch (s)
	{
		case PARQUET_ERR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case PARQUET_ERR_LIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case PARQUET_ERR_NOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("could not write Parquet file %s: %s", st->w->object_name,
					st->pw ? parquet_writer_errmsg(st->pw) : parquet_status_name(s)),
			 col >= 0 ? errcontext("column \"%s\", row " INT64_FORMAT,
								   st->specs[col].name, st->w->rows + 1) : 0));
}

static void
pq_stats_int(PqColStats *s, int64 v)
{
	if (!s->has)
	{
		s->imin = s->imax = v;
		s->has = true;
	}
	else if (v < s->imin)
		s->imin = v;
	else if (v > s->imax)
		s->imax = v;
}

static void
pq_stats_double(PqColStats *s, double v)
{
	if (isnan(v))
		return;
	if (!s->has)
	{
		s->dmin = s->dmax = v;
		s->has = true;
	}
	else if (v < s->dmin)
		s->dmin = v;
	else if (v > s->dmax)
		s->dmax = v;
}

static void
pq_stats_text(PqWriterState *st, PqColStats *s, const char *p, int len)
{
	MemoryContext old;

	if (s->disabled)
		return;
	if (len > PQ_STATS_MAX_TEXT)
	{
		s->disabled = true;
		return;
	}
	old = MemoryContextSwitchTo(st->w->cxt);
	if (!s->has)
	{
		s->nmin = PointerGetDatum(cstring_to_text_with_len(p, len));
		s->nmax = PointerGetDatum(cstring_to_text_with_len(p, len));
		s->has = true;
	}
	else
	{
		text	   *mn = DatumGetTextPP(s->nmin);
		text	   *mx = DatumGetTextPP(s->nmax);
		int			c;

		c = memcmp(p, VARDATA_ANY(mn), Min(len, VARSIZE_ANY_EXHDR(mn)));
		if (c < 0 || (c == 0 && len < VARSIZE_ANY_EXHDR(mn)))
		{
			pfree(mn);
			s->nmin = PointerGetDatum(cstring_to_text_with_len(p, len));
		}
		c = memcmp(p, VARDATA_ANY(mx), Min(len, VARSIZE_ANY_EXHDR(mx)));
		if (c > 0 || (c == 0 && len > VARSIZE_ANY_EXHDR(mx)))
		{
			pfree(mx);
			s->nmax = PointerGetDatum(cstring_to_text_with_len(p, len));
		}
	}
	MemoryContextSwitchTo(old);
}

static void
pq_stats_numeric(PqWriterState *st, PqColStats *s, Datum v)
{
	MemoryContext old = MemoryContextSwitchTo(st->w->cxt);

	if (!s->has)
	{
		s->nmin = datumCopy(v, false, -1);
		s->nmax = datumCopy(v, false, -1);
		s->has = true;
	}
	else
	{
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v, s->nmin)) < 0)
			s->nmin = datumCopy(v, false, -1);
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v, s->nmax)) > 0)
			s->nmax = datumCopy(v, false, -1);
	}
	MemoryContextSwitchTo(old);
}

static void
pq_check_finite_date(PqWriterState *st, int col, DateADT d)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("infinite date in column \"%s\" cannot be written to Parquet",
						st->specs[col].name)));
}

static int64
pq_timestamp_micros(PqWriterState *st, int col, Timestamp ts)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("infinite timestamp in column \"%s\" cannot be written to Parquet",
						st->specs[col].name)));
	return ts + PARQUET_UNIX_TO_PG_MICROS;
}

/* numeric text → physical DECIMAL value (for list elements) */
static void
pq_decimal_value(PqWriterState *st, int col, const char *txt, ParquetValue *pv)
{
	const ParquetColumnSpec *spec = &st->specs[col];
	PqWriteCol *wc = &st->cols[col];
	uint8	   *be = palloc(16);
	ParquetStatus s = parquet_decimal_from_text(txt, wc->precision, wc->scale, be);

	if (s != PARQUET_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("numeric value %s does not fit DECIMAL(%d,%d) of column \"%s\"",
						txt, wc->precision, wc->scale, spec->name)));
	if (spec->type == PARQUET_INT32 || spec->type == PARQUET_INT64)
	{
		int64		v = 0;

		for (int i = 8; i < 16; i++)
			v = (v << 8) | be[i];
		if (spec->type == PARQUET_INT32)
			pv->v.i32 = (int32) v;
		else
			pv->v.i64 = v;
	}
	else
	{
		pv->ptr = be + (16 - spec->type_length);
		pv->len = spec->type_length;
	}
}

static bool
pq_numeric_special(Datum d)
{
	Numeric		n = DatumGetNumeric(d);

	return numeric_is_nan(n) || numeric_is_inf(n);
}

/*
 * pq_scalar_value turns one non-null Datum into a ParquetValue (byte
 * pointers stay valid until the row context is reset) and feeds the
 * statistics.
 */
static void
pq_scalar_value(PqWriterState *st, int col, Datum d, ParquetValue *pv, bool stats)
{
	PqWriteCol *wc = &st->cols[col];
	PqColStats *s = stats ? &st->stats[col] : NULL;

	memset(pv, 0, sizeof(*pv));
	switch (wc->kind)
	{
		case PW_BOOL:
			pv->v.b = DatumGetBool(d);
			if (s)
				pq_stats_int(s, pv->v.b ? 1 : 0);
			break;
		case PW_INT2:
			pv->v.i32 = DatumGetInt16(d);
			if (s)
				pq_stats_int(s, pv->v.i32);
			break;
		case PW_INT4:
			pv->v.i32 = DatumGetInt32(d);
			if (s)
				pq_stats_int(s, pv->v.i32);
			break;
		case PW_INT8:
			pv->v.i64 = DatumGetInt64(d);
			if (s)
				pq_stats_int(s, pv->v.i64);
			break;
		case PW_FLOAT4:
			pv->v.f = DatumGetFloat4(d);
			if (s)
				pq_stats_double(s, pv->v.f);
			break;
		case PW_FLOAT8:
			pv->v.d = DatumGetFloat8(d);
			if (s)
				pq_stats_double(s, pv->v.d);
			break;
		case PW_DATE:
			pq_check_finite_date(st, col, DatumGetDateADT(d));
			pv->v.i32 = DatumGetDateADT(d) + PARQUET_UNIX_TO_PG_DAYS;
			if (s)
				pq_stats_int(s, DatumGetDateADT(d));
			break;
		case PW_TIMESTAMP:
		case PW_TIMESTAMPTZ:
			pv->v.i64 = pq_timestamp_micros(st, col, DatumGetTimestamp(d));
			if (s)
				pq_stats_int(s, DatumGetTimestamp(d));
			break;
		case PW_TIME:
			pv->v.i64 = DatumGetTimeADT(d);
			if (s)
				pq_stats_int(s, pv->v.i64);
			break;
		case PW_TEXT:
		case PW_JSON:
		case PW_BYTEA:
			{
				struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));

				pv->ptr = (const uint8 *) VARDATA_ANY(v);
				pv->len = VARSIZE_ANY_EXHDR(v);
				if (s && wc->kind == PW_TEXT)
					pq_stats_text(st, s, (const char *) pv->ptr, pv->len);
				break;
			}
		case PW_NAME:
			pv->ptr = (const uint8 *) NameStr(*DatumGetName(d));
			pv->len = strlen((const char *) pv->ptr);
			if (s)
				pq_stats_text(st, s, (const char *) pv->ptr, pv->len);
			break;
		case PW_UUID:
			pv->ptr = DatumGetUUIDP(d)->data;
			pv->len = 16;
			break;
		case PW_JSONB:
			{
				Jsonb	   *jb = DatumGetJsonbP(d);
				char	   *txt = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

				pv->ptr = (const uint8 *) txt;
				pv->len = strlen(txt);
				break;
			}
		case PW_OTHER:
			{
				char	   *txt = OutputFunctionCall(&wc->outfn, d);

				pv->ptr = (const uint8 *) txt;
				pv->len = strlen(txt);
				break;
			}
		case PW_NUMERIC:
			{
				char	   *txt;

				if (pq_numeric_special(d))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("numeric NaN and infinity cannot be written to the Parquet DECIMAL column \"%s\"",
									st->specs[col].name),
							 errhint("Cast the column to double precision to keep such values.")));
				txt = OutputFunctionCall(&wc->outfn, d);
				pq_decimal_value(st, col, txt, pv);
				if (s)
					pq_stats_numeric(st, s, d);
				break;
			}
	}
}

static void
pq_append(DlakeFormatWriter *w, Datum *values, bool *isnull)
{
	PqWriterState *st = (PqWriterState *) w->state;

	for (int c = 0; c < st->ncols; c++)
	{
		PqWriteCol *wc = &st->cols[c];
		int			a = wc->attr;
		ParquetStatus s;

		if (isnull[a])
			s = parquet_writer_write_null(st->pw, c);
		else if (wc->is_list)
		{
			ArrayType  *arr = DatumGetArrayTypeP(values[a]);
			Datum	   *elems;
			bool	   *nulls;
			int			n;
			ParquetValue *pv;

			if (ARR_NDIM(arr) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("multidimensional array in column \"%s\" cannot be written to Parquet",
								st->specs[c].name),
						 errhint("Only one-dimensional arrays map to a Parquet LIST.")));
			deconstruct_array(arr, ARR_ELEMTYPE(arr), wc->elmlen, wc->elmbyval, wc->elmalign,
							  &elems, &nulls, &n);
			pv = palloc0(sizeof(ParquetValue) * Max(n, 1));
			for (int i = 0; i < n; i++)
			{
				if (nulls[i])
					pv[i].is_null = true;
				else
					pq_scalar_value(st, c, elems[i], &pv[i], false);
			}
			s = parquet_writer_write_list(st->pw, c, pv, n);
		}
		else
		{
			ParquetValue pv;

			pq_scalar_value(st, c, values[a], &pv, true);
			switch (st->specs[c].type)
			{
				case PARQUET_BOOLEAN:
					s = parquet_writer_write_bool(st->pw, c, pv.v.b);
					break;
				case PARQUET_INT32:
					s = parquet_writer_write_int32(st->pw, c, pv.v.i32);
					break;
				case PARQUET_INT64:
					s = parquet_writer_write_int64(st->pw, c, pv.v.i64);
					break;
				case PARQUET_FLOAT:
					s = parquet_writer_write_float(st->pw, c, pv.v.f);
					break;
				case PARQUET_DOUBLE:
					s = parquet_writer_write_double(st->pw, c, pv.v.d);
					break;
				default:
					s = parquet_writer_write_bytes(st->pw, c, pv.ptr, pv.len);
					break;
			}
		}
		pq_writer_check(st, s, c);
	}
	pq_writer_check(st, parquet_writer_end_row(st->pw), -1);
}

static char *
pq_stats_text_of(PqWriteCol *wc, PqColStats *s, bool max)
{
	switch (wc->kind)
	{
		case PW_BOOL:
			return pstrdup((max ? s->imax : s->imin) ? "true" : "false");
		case PW_INT2:
		case PW_INT4:
		case PW_INT8:
			return psprintf(INT64_FORMAT, max ? s->imax : s->imin);
		case PW_FLOAT4:
		case PW_FLOAT8:
			return format_datum_text(FLOAT8OID, Float8GetDatum(max ? s->dmax : s->dmin));
		case PW_DATE:
			return format_datum_text(DATEOID, DateADTGetDatum((DateADT) (max ? s->imax : s->imin)));
		case PW_TIMESTAMP:
			return format_datum_text(TIMESTAMPOID, TimestampGetDatum(max ? s->imax : s->imin));
		case PW_TIMESTAMPTZ:
			return format_datum_text(TIMESTAMPTZOID, TimestampTzGetDatum(max ? s->imax : s->imin));
		case PW_TIME:
			return format_datum_text(TIMEOID, TimeADTGetDatum(max ? s->imax : s->imin));
		case PW_TEXT:
		case PW_NAME:
			return TextDatumGetCString(max ? s->nmax : s->nmin);
		case PW_NUMERIC:
			return format_datum_text(NUMERICOID, max ? s->nmax : s->nmin);
		default:
			return NULL;
	}
}

static void
pq_finish(DlakeFormatWriter *w)
{
	PqWriterState *st = (PqWriterState *) w->state;

	pq_writer_check(st, parquet_writer_close(st->pw), -1);
	parquet_writer_free(st->pw);
	st->pw = NULL;

	for (int c = 0; c < st->ncols; c++)
	{
		DlakeColumnStats *cs = palloc0(sizeof(DlakeColumnStats));
		PqColStats *s = &st->stats[c];

		cs->name = pstrdup(st->specs[c].name);
		cs->null_count = w->null_counts[st->cols[c].attr];
		if (s->has && !s->disabled && !st->cols[c].is_list)
		{
			cs->min = pq_stats_text_of(&st->cols[c], s, false);
			cs->max = pq_stats_text_of(&st->cols[c], s, true);
			cs->has_min_max = (cs->min != NULL && cs->max != NULL);
		}
		w->stats = lappend(w->stats, cs);
	}
}

static int64
pq_buffered(DlakeFormatWriter *w)
{
	PqWriterState *st = (PqWriterState *) w->state;

	return st->pw ? (int64) parquet_writer_memory_used(st->pw) : 0;
}

static const DlakeWriterOps pq_writer_ops = {
	.append = pq_append,
	.finish = pq_finish,
	.buffered = pq_buffered,
};

void
parquet_glue_writer_init(DlakeFormatWriter *w)
{
	PqWriterState *st = palloc0(sizeof(PqWriterState));
	TupleDesc	td = w->tupdesc;
	ParquetWriterOptions po;
	ParquetSink sink;
	char		errbuf[PARQUET_ERRMSG_LEN];
	ParquetStatus s;
	int			n = 0;

	w->ops = &pq_writer_ops;
	w->state = st;
	st->w = w;
	st->cols = palloc0(sizeof(PqWriteCol) * Max(td->natts, 1));
	st->specs = palloc0(sizeof(ParquetColumnSpec) * Max(td->natts, 1));
	st->stats = palloc0(sizeof(PqColStats) * Max(td->natts, 1));
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped)
			continue;
		st->cols[n].attr = i;
		pqglue_write_column(att, &st->cols[n], &st->specs[n], w->cxt);
		/* a query's columns are all nullable as far as we know */
		st->specs[n].nullable = true;
		n++;
	}
	st->ncols = n;

	parquet_writer_options_init(&po);
	switch (w->opts.compression)
	{
		case DLAKE_COMPRESSION_AUTO:
		case DLAKE_COMPRESSION_SNAPPY:
			po.codec = PARQUET_CODEC_SNAPPY;
			break;
		case DLAKE_COMPRESSION_NONE:
			po.codec = PARQUET_CODEC_UNCOMPRESSED;
			break;
		case DLAKE_COMPRESSION_GZIP:
			po.codec = PARQUET_CODEC_GZIP;
			break;
		case DLAKE_COMPRESSION_ZSTD:
			po.codec = PARQUET_CODEC_ZSTD;
			break;
		case DLAKE_COMPRESSION_LZ4_RAW:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("lz4_raw compression is supported for reading Parquet only"),
					 errhint("Use snappy, zstd, gzip or none.")));
	}
	po.compression_level = w->opts.compression_level;
	po.row_group_bytes = w->opts.row_group_bytes;
	po.row_group_rows = w->opts.row_group_rows;
	po.page_bytes = w->opts.page_bytes;
	po.dictionary = w->opts.dictionary;

	sink.write = pq_sink_write;
	sink.arg = st;
	st->cb.func = pq_writer_cleanup;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(w->cxt, &st->cb);
	s = parquet_writer_open(&sink, st->specs, st->ncols, &po, &st->pw, errbuf);
	if (s == PARQUET_ERR_IO && st->sink_error)
		ReThrowError(st->sink_error);
	if (s != PARQUET_OK)
		ereport(ERROR,
				(errcode(s == PARQUET_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not start Parquet file %s: %s", w->object_name, errbuf)));
}

/* ================================================================
 * Reader
 * ================================================================
 */

typedef struct PqAttr
{
	int			field;			/* file field, -1 = not read */
	int			proj;			/* index in the row reader's projection */
	const ParquetColumnDesc *leaf;	/* primitive leaf / list element leaf */
	Oid			nat_typid;		/* natural type of the value produced */
	int32		nat_typmod;
	Oid			nat_elem;		/* as_array: element type */
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	bool		as_array;
	bool		json;			/* nested field as JSON text */
	bool		direct;			/* natural type == target type */
	FmgrInfo	nat_out;		/* output function of the natural type */
	/* flat fast path (pq_next_flat) */
	int			fast;			/* PqFastKind */
	bool		cache_dict;		/* cache conversions per dictionary entry */
	Datum	   *dcache;			/* per dictionary index, in dictcxt */
	bool	   *dvalid;
	int32		dcap;
	int64		dec_limit;		/* PF_DECIMAL: 10^precision */
} PqAttr;

/* how pq_next_flat converts a value of one attribute */
typedef enum PqFastKind
{
	PF_GENERIC = 0,				/* pqglue_value_datum + pq_coerce */
	PF_INT64_INT8,				/* INT64 → bigint */
	PF_INT32_INT4,				/* signed INT32 → integer */
	PF_DOUBLE_FLOAT8,			/* DOUBLE → double precision */
	PF_TS_MICROS,				/* INT64 TIMESTAMP(MICROS) → timestamp[tz] */
	PF_TEXT,					/* BYTE_ARRAY string → text */
	PF_DECIMAL					/* DECIMAL(p ≤ 18) on INT32/INT64 → numeric */
} PqFastKind;

#define PQ_FLAT_BATCH 1024
#define PQ_VAL_ROWS 1024
#define PQ_VAL_BYTES (1024 * 1024)

/*
 * One projected flat column (primitive, not repeated) read straight from
 * its column chunk cursor in batches, bypassing row assembly.
 */
typedef struct PqFlatCol
{
	int			leaf;			/* leaf column index */
	ParquetColumnReader *cr;	/* cursor of the current row group */
	ParquetValue *vals;			/* PQ_FLAT_BATCH entries */
	int32	   *idx;			/* dictionary indexes, -1 = none */
	int			n;				/* entries in the batch */
	int			pos;			/* next entry */
} PqFlatCol;

typedef struct PqReaderState
{
	ParquetReader *pr;
	DlakeFormatReader *r;
	ErrorData  *src_error;
	StringInfoData buf;			/* range read buffer */
	PqAttr	   *attrs;
	ParquetProjection *proj;
	int			nproj;
	int			rg;				/* current row group */
	ParquetRowReader *rr;
	int64		rg_first_row;
	int64		rg_row;
	/* flat fast path: every projected field is a non-repeated primitive */
	bool		flat;
	PqFlatCol  *fcols;			/* nproj entries */
	int64		rg_rows;		/* rows of the current row group */
	bool		rg_open;
	MemoryContext dictcxt;		/* dictionary conversions, reset per row
								 * group */
	MemoryContext valcxt;		/* by-reference values of recent rows:
								 * reset every PQ_VAL_ROWS rows or
								 * PQ_VAL_BYTES, instead of every row */
	int			valrows;
	int		   *act;			/* target attrs read from the file */
	int			nact;
	int		   *inact;			/* target attrs always NULL */
	int			ninact;
	MemoryContextCallback cb;
} PqReaderState;

static void
pq_reader_cleanup(void *arg)
{
	PqReaderState *st = (PqReaderState *) arg;

	if (st->rr)
		parquet_row_reader_free(st->rr);
	st->rr = NULL;
	if (st->fcols)
	{
		for (int k = 0; k < st->nproj; k++)
		{
			if (st->fcols[k].cr)
				parquet_column_reader_free(st->fcols[k].cr);
			st->fcols[k].cr = NULL;
		}
	}
	if (st->pr)
		parquet_reader_free(st->pr);
	st->pr = NULL;
}

static int
pq_source_read(void *arg, int64_t offset, int64_t len, void *dst)
{
	PqReaderState *st = (PqReaderState *) arg;
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = 0;

	PG_TRY();
	{
		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&st->buf);
		/* size the buffer exactly: doubling would overshoot a large chunk */
		if (len >= st->buf.maxlen && len < (int64) MaxAllocSize - 1)
		{
			pfree(st->buf.data);
			st->buf.data = MemoryContextAlloc(st->r->cxt, len + 1);
			st->buf.maxlen = len + 1;
			st->buf.data[0] = '\0';
		}
		format_source_read(st->r->src, offset, len, &st->buf);
		memcpy(dst, st->buf.data, len);
		/* do not keep a chunk-sized buffer around next to the chunk itself */
		if (st->buf.maxlen > 1024 * 1024)
		{
			pfree(st->buf.data);
			st->buf.data = MemoryContextAlloc(st->r->cxt, 1024);
			st->buf.maxlen = 1024;
			st->buf.len = 0;
			st->buf.data[0] = '\0';
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(st->r->cxt);
		st->src_error = CopyErrorData();
		FlushErrorState();
		rc = 1;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return rc;
}

/* raise the error of a failed library call on the reader side */
static void
pq_reader_fail(PqReaderState *st, ParquetStatus s, const char *msg)
{
	int			code;

	if (s == PARQUET_ERR_IO && st->src_error)
	{
		ErrorData  *e = st->src_error;

		st->src_error = NULL;
		ReThrowError(e);
	}
	switch (s)
	{
		case PARQUET_ERR_UNSUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case PARQUET_ERR_NOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case PARQUET_ERR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case PARQUET_ERR_INVALID:
			code = ERRCODE_INTERNAL_ERROR;
			break;
		default:				/* CORRUPT, LIMIT */
			code = ERRCODE_DATA_CORRUPTED;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("could not read Parquet file %s: %s", st->r->object_name,
					parquet_status_name(s)),
			 errdetail("%s", msg && msg[0] ? msg : parquet_status_name(s))));
}

/* natural PostgreSQL type of a top-level field */
static Oid
pq_field_type(const ParquetReader *pr, int field, int32 *typmod, bool *as_array,
			  const ParquetColumnDesc **leaf)
{
	const ParquetField *f = parquet_reader_field(pr, field);

	*as_array = false;
	*leaf = NULL;
	*typmod = -1;
	if (f->kind == PARQUET_FIELD_PRIMITIVE)
	{
		*leaf = parquet_reader_column(pr, f->first_leaf);
		return pqglue_leaf_type(*leaf, typmod);
	}
	if (f->kind == PARQUET_FIELD_LIST && f->list_element_leaf >= 0)
	{
		int32		etm;
		Oid			et;
		Oid			at;

		*leaf = parquet_reader_column(pr, f->list_element_leaf);
		et = pqglue_leaf_type(*leaf, &etm);
		at = get_array_type(et);
		if (OidIsValid(at))
		{
			*as_array = true;
			*typmod = etm;
			return at;
		}
	}
	return JSONBOID;
}

static char *
pq_field_desc(const ParquetReader *pr, int field)
{
	const ParquetField *f = parquet_reader_field(pr, field);

	switch (f->kind)
	{
		case PARQUET_FIELD_PRIMITIVE:
			return pqglue_type_desc(parquet_reader_column(pr, f->first_leaf));
		case PARQUET_FIELD_LIST:
			if (f->list_element_leaf >= 0)
				return psprintf("LIST<%s>",
								pqglue_type_desc(parquet_reader_column(pr, f->list_element_leaf)));
			return "LIST";
		case PARQUET_FIELD_MAP:
			return "MAP";
		default:
			return "STRUCT";
	}
}

static int64
pq_num_rows(DlakeFormatReader *r)
{
	return parquet_reader_num_rows(((PqReaderState *) r->state)->pr);
}

static int
pq_num_row_groups(DlakeFormatReader *r)
{
	return parquet_reader_num_row_groups(((PqReaderState *) r->state)->pr);
}

static int64
pq_row_group_rows(DlakeFormatReader *r, int rg)
{
	PqReaderState *st = (PqReaderState *) r->state;

	if (rg < 0 || rg >= parquet_reader_num_row_groups(st->pr))
		return -1;
	return parquet_reader_row_group(st->pr, rg)->num_rows;
}

/*
 * Convert a natural Datum to the target type: cheap direct paths for the
 * usual widenings, else through text (output, then the target's input
 * function, which enforces typmods and ranges with the proper errors).
 */
static Datum
pq_coerce(Datum d, Oid from, int32 fromtypmod, Oid to, int32 totypmod,
		  FmgrInfo *from_out, FmgrInfo *to_in, Oid to_ioparam)
{
	if (from == to && (totypmod < 0 || totypmod == fromtypmod ||
					   from != NUMERICOID))
	{
		if (totypmod < 0 || from == NUMERICOID || from == TIMESTAMPOID ||
			from == TIMESTAMPTZOID || from == TIMEOID || from == BOOLOID ||
			from == INT2OID || from == INT4OID || from == INT8OID ||
			from == FLOAT4OID || from == FLOAT8OID || from == DATEOID ||
			from == UUIDOID || from == JSONBOID || from == BYTEAOID)
			return d;
	}
	switch (to)
	{
		case INT4OID:
			if (from == INT2OID)
				return Int32GetDatum(DatumGetInt16(d));
			break;
		case INT8OID:
			if (from == INT2OID)
				return Int64GetDatum(DatumGetInt16(d));
			if (from == INT4OID)
				return Int64GetDatum(DatumGetInt32(d));
			break;
		case FLOAT8OID:
			if (from == FLOAT4OID)
				return Float8GetDatum((double) DatumGetFloat4(d));
			break;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			if ((from == TIMESTAMPOID || from == TIMESTAMPTZOID) && totypmod < 0)
				return d;		/* same instant, counted in UTC */
			break;
		case TEXTOID:
			if (from == JSONBOID)
			{
				Jsonb	   *jb = DatumGetJsonbP(d);

				return CStringGetTextDatum(JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
			}
			break;
		default:
			break;
	}
	return InputFunctionCall(to_in, OutputFunctionCall(from_out, d), to_ioparam, totypmod);
}

/*
 * Decide whether the flat fast path applies (every projected field a
 * primitive, non-repeated leaf) and pick each attribute's conversion.
 */
static void
pq_setup_flat(DlakeFormatReader *r, PqReaderState *st)
{
	int			natts = r->target->natts;

	st->flat = true;
	for (int i = 0; i < natts; i++)
	{
		PqAttr	   *a = &st->attrs[i];

		if (a->field < 0)
			continue;
		if (a->as_array || a->json || a->leaf == NULL || a->leaf->max_rep > 0 ||
			parquet_reader_field(st->pr, a->field)->kind != PARQUET_FIELD_PRIMITIVE)
		{
			st->flat = false;
			return;
		}
	}
	st->fcols = palloc0(sizeof(PqFlatCol) * Max(st->nproj, 1));
	for (int k = 0; k < st->nproj; k++)
	{
		PqFlatCol  *fc = &st->fcols[k];

		fc->leaf = parquet_reader_field(st->pr, st->proj[k].field)->first_leaf;
		fc->vals = palloc(sizeof(ParquetValue) * PQ_FLAT_BATCH);
		fc->idx = palloc(sizeof(int32) * PQ_FLAT_BATCH);
	}
	st->dictcxt = AllocSetContextCreate(r->cxt, "dlake parquet dictionary values",
										ALLOCSET_DEFAULT_SIZES);
	st->valcxt = AllocSetContextCreate(r->cxt, "dlake parquet values",
									   ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < natts; i++)
	{
		PqAttr	   *a = &st->attrs[i];
		Form_pg_attribute att = TupleDescAttr(r->target, i);
		const ParquetColumnDesc *cd = a->leaf;
		const ParquetLogicalType *lt;

		if (a->field < 0)
			continue;
		lt = &cd->logical;
		a->fast = PF_GENERIC;
		if (cd->type == PARQUET_INT64 && a->nat_typid == INT8OID &&
			att->atttypid == INT8OID)
			a->fast = PF_INT64_INT8;
		else if (cd->type == PARQUET_INT32 && a->nat_typid == INT4OID &&
				 att->atttypid == INT4OID &&
				 !(lt->kind == PARQUET_LT_INTEGER && !lt->is_signed))
			a->fast = PF_INT32_INT4;
		else if (cd->type == PARQUET_DOUBLE && a->nat_typid == FLOAT8OID &&
				 att->atttypid == FLOAT8OID)
			a->fast = PF_DOUBLE_FLOAT8;
		else if (cd->type == PARQUET_INT64 && lt->kind == PARQUET_LT_TIMESTAMP &&
				 lt->unit == PARQUET_MICROS &&
				 (a->nat_typid == TIMESTAMPOID || a->nat_typid == TIMESTAMPTZOID) &&
				 (att->atttypid == TIMESTAMPOID || att->atttypid == TIMESTAMPTZOID) &&
				 att->atttypmod < 0)
			a->fast = PF_TS_MICROS;
		else if (cd->type == PARQUET_BYTE_ARRAY && a->nat_typid == TEXTOID &&
				 att->atttypid == TEXTOID)
			a->fast = PF_TEXT;
		else if ((cd->type == PARQUET_INT32 || cd->type == PARQUET_INT64) &&
				 lt->kind == PARQUET_LT_DECIMAL && lt->scale >= 0 &&
				 lt->precision >= 1 && lt->precision <= 18 && lt->scale <= lt->precision &&
				 a->nat_typid == NUMERICOID &&
				 a->nat_typmod == ((lt->precision << 16) | lt->scale) + VARHDRSZ &&
				 att->atttypid == NUMERICOID &&
				 (att->atttypmod < 0 || att->atttypmod == a->nat_typmod))
		{
			a->fast = PF_DECIMAL;
			a->dec_limit = 1;
			for (int k = 0; k < lt->precision; k++)
				a->dec_limit *= 10;
		}
		/* by-value fast kinds are cheaper than a cache lookup */
		a->cache_dict = (a->fast == PF_TEXT || a->fast == PF_GENERIC ||
						 a->fast == PF_DECIMAL);
	}
	st->act = palloc(sizeof(int) * Max(natts, 1));
	st->inact = palloc(sizeof(int) * Max(natts, 1));
	st->nact = st->ninact = 0;
	for (int i = 0; i < natts; i++)
	{
		if (st->attrs[i].field >= 0)
			st->act[st->nact++] = i;
		else
			st->inact[st->ninact++] = i;
	}
}

static void
pq_start(DlakeFormatReader *r)
{
	PqReaderState *st = (PqReaderState *) r->state;
	int			natts = r->target->natts;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	int		   *field_proj = palloc(sizeof(int) * Max(r->nfilecols, 1));

	for (int j = 0; j < r->nfilecols; j++)
		field_proj[j] = -1;
	st->attrs = palloc0(sizeof(PqAttr) * Max(natts, 1));
	st->proj = palloc0(sizeof(ParquetProjection) * Max(natts, 1));
	st->nproj = 0;
	for (int i = 0; i < natts; i++)
	{
		PqAttr	   *a = &st->attrs[i];
		Form_pg_attribute att = TupleDescAttr(r->target, i);
		int			fc = r->proj[i];
		Oid			outfn;
		bool		isvarlena;

		a->field = fc;
		a->proj = -1;
		if (fc < 0)
			continue;
		a->nat_typid = pq_field_type(st->pr, fc, &a->nat_typmod, &a->as_array, &a->leaf);
		if (a->as_array && !OidIsValid(get_element_type(att->atttypid)) &&
			att->atttypid != TEXTOID && att->atttypid != JSONBOID && att->atttypid != JSONOID)
			a->as_array = false;	/* let the input function judge the text */
		if (a->as_array && (att->atttypid == JSONBOID || att->atttypid == JSONOID))
			a->as_array = false;
		if (!a->as_array && a->leaf == NULL)
			a->json = true;
		else if (!a->as_array && parquet_reader_field(st->pr, fc)->kind != PARQUET_FIELD_PRIMITIVE)
		{
			a->json = true;
			a->leaf = NULL;
		}
		if (a->json)
		{
			a->nat_typid = JSONBOID;
			a->nat_typmod = -1;
		}
		if (a->as_array)
		{
			int32		etm;

			a->nat_elem = pqglue_leaf_type(a->leaf, &etm);
			get_typlenbyvalalign(a->nat_elem, &a->elmlen, &a->elmbyval, &a->elmalign);
		}
		getTypeOutputInfo(a->nat_typid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &a->nat_out, r->cxt);
		if (field_proj[fc] < 0)
		{
			field_proj[fc] = st->nproj;
			st->proj[st->nproj].field = fc;
			st->proj[st->nproj].mode = a->as_array ? PARQUET_NESTED_ARRAY : PARQUET_NESTED_JSON;
			st->nproj++;
		}
		a->proj = field_proj[fc];
	}
	st->rg = -1;
	pq_setup_flat(r, st);
	MemoryContextSwitchTo(old);
}

/* convert one projected field value for target attribute i */
static void
pq_convert(DlakeFormatReader *r, PqReaderState *st, int i, const ParquetFieldValue *fv,
		   Datum *value, bool *isnull)
{
	PqAttr	   *a = &st->attrs[i];
	Form_pg_attribute att = TupleDescAttr(r->target, i);
	Datum		d;

	r->cur_attr = i;
	switch (fv->kind)
	{
		case PARQUET_FV_NULL:
			*isnull = true;
			*value = (Datum) 0;
			return;
		case PARQUET_FV_SCALAR:
			d = pqglue_value_datum(a->leaf, &fv->scalar, a->nat_typid, a->nat_typmod);
			break;
		case PARQUET_FV_ARRAY:
			{
				Datum	   *el = palloc(sizeof(Datum) * Max(fv->n_elems, 1));
				bool	   *nl = palloc(sizeof(bool) * Max(fv->n_elems, 1));
				int			dims[1];
				int			lbs[1] = {1};
				int32		etm;
				Oid			et = pqglue_leaf_type(a->leaf, &etm);

				for (int k = 0; k < fv->n_elems; k++)
				{
					nl[k] = fv->elems[k].is_null;
					el[k] = nl[k] ? (Datum) 0 :
						pqglue_value_datum(a->leaf, &fv->elems[k], et, etm);
				}
				dims[0] = fv->n_elems;
				d = PointerGetDatum(construct_md_array(el, nl, 1, dims, lbs, et,
													   a->elmlen, a->elmbyval, a->elmalign));
				break;
			}
		case PARQUET_FV_JSON:
		default:
			if (att->atttypid == TEXTOID)
			{
				*value = PointerGetDatum(cstring_to_text_with_len(fv->json, fv->json_len));
				*isnull = false;
				return;
			}
			d = DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(fv->json, fv->json_len)));
			break;
	}
	*value = pq_coerce(d, a->nat_typid, a->nat_typmod, att->atttypid, att->atttypmod,
					   &a->nat_out, &r->in_funcs[i], r->in_ioparams[i]);
	*isnull = false;
}

/* convert one flat value (non-null) for target attribute i */
static inline Datum
pq_flat_value(DlakeFormatReader *r, PqAttr *a, int i, const ParquetValue *v)
{
	Form_pg_attribute att;
	Datum		d;

	switch (a->fast)
	{
		case PF_INT64_INT8:
			return Int64GetDatum(v->v.i64);
		case PF_INT32_INT4:
			return Int32GetDatum(v->v.i32);
		case PF_DOUBLE_FLOAT8:
			return Float8GetDatum(v->v.d);
		case PF_TS_MICROS:
			{
				Timestamp	ts;

				if (unlikely(pg_sub_s64_overflow(v->v.i64, PARQUET_UNIX_TO_PG_MICROS, &ts) ||
							 !IS_VALID_TIMESTAMP(ts)))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("timestamp out of range: " INT64_FORMAT " microseconds since 1970",
									v->v.i64)));
				return TimestampGetDatum(ts);
			}
		case PF_DECIMAL:
			{
				int64		u = a->leaf->type == PARQUET_INT32 ? (int64) v->v.i32 : v->v.i64;

				if (unlikely(u >= a->dec_limit || u <= -a->dec_limit))
					pqglue_decimal_precision_error(a->leaf->logical.precision,
												   a->leaf->logical.scale, u);
				return NumericGetDatum(pqglue_unscaled_to_numeric(u, a->leaf->logical.scale));
			}
		case PF_TEXT:
			if (unlikely(!parquet_utf8_valid(v->ptr, v->len)))
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("invalid byte sequence for encoding \"UTF8\" in a Parquet string")));
			return PointerGetDatum(cstring_to_text_with_len((const char *) v->ptr, v->len));
		default:
			att = TupleDescAttr(r->target, i);
			d = pqglue_value_datum(a->leaf, v, a->nat_typid, a->nat_typmod);
			return pq_coerce(d, a->nat_typid, a->nat_typmod, att->atttypid, att->atttypmod,
							 &a->nat_out, &r->in_funcs[i], r->in_ioparams[i]);
	}
}

/* the value of a dictionary entry, converted once per column chunk */
static Datum
pq_flat_dict_value(DlakeFormatReader *r, PqReaderState *st, PqAttr *a, int i,
				   const ParquetValue *v, int32 idx, int32 dict_n)
{
	MemoryContext old;
	Datum		d;
	Form_pg_attribute att;

	if (idx >= a->dcap)
	{
		int32		ncap = Max(dict_n, idx + 1);

		/* old entries are lost: the dictionary of a chunk never grows */
		a->dcache = MemoryContextAlloc(st->dictcxt, sizeof(Datum) * ncap);
		a->dvalid = MemoryContextAllocZero(st->dictcxt, sizeof(bool) * ncap);
		a->dcap = ncap;
	}
	if (a->dvalid[idx])
		return a->dcache[idx];
	old = MemoryContextSwitchTo(st->dictcxt);
	d = pq_flat_value(r, a, i, v);
	att = TupleDescAttr(r->target, i);
	if (!att->attbyval)
		d = datumCopy(d, false, att->attlen);	/* own copy, in dictcxt */
	MemoryContextSwitchTo(old);
	a->dcache[idx] = d;
	a->dvalid[idx] = true;
	return d;
}

/* open the column cursors of the next selected row group; false at the end */
static bool
pq_flat_open_rg(DlakeFormatReader *r, PqReaderState *st)
{
	int			nrg = parquet_reader_num_row_groups(st->pr);
	ParquetStatus s;

	if (st->rg >= nrg)
		return false;			/* already at the end */
	for (int k = 0; k < st->nproj; k++)
	{
		if (st->fcols[k].cr)
			parquet_column_reader_free(st->fcols[k].cr);
		st->fcols[k].cr = NULL;
		st->fcols[k].n = st->fcols[k].pos = 0;
	}
	MemoryContextReset(st->dictcxt);
	for (int i = 0; i < r->target->natts; i++)
	{
		st->attrs[i].dcache = NULL;
		st->attrs[i].dvalid = NULL;
		st->attrs[i].dcap = 0;
	}
	st->rg_open = false;
	for (;;)
	{
		if (st->rg >= 0)
			st->rg_first_row += parquet_reader_row_group(st->pr, st->rg)->num_rows;
		st->rg++;
		if (st->rg >= nrg)
		{
			r->cur_rg = -1;
			return false;
		}
		if (r->rg_selected && !r->rg_selected[st->rg])
			continue;
		st->rg_rows = parquet_reader_row_group(st->pr, st->rg)->num_rows;
		if (st->rg_rows > 0)
			break;
	}
	r->cur_rg = st->rg;
	st->rg_row = 0;
	for (int k = 0; k < st->nproj; k++)
	{
		CHECK_FOR_INTERRUPTS();
		s = parquet_column_reader_open(st->pr, st->rg, st->fcols[k].leaf, &st->fcols[k].cr);
		if (s != PARQUET_OK)
			pq_reader_fail(st, s, parquet_reader_errmsg(st->pr));
	}
	st->rg_open = true;
	return true;
}

/* refill the batch of flat column k */
static void
pq_flat_fill(PqReaderState *st, int k)
{
	PqFlatCol  *fc = &st->fcols[k];
	int			got = 0;
	int64		left = st->rg_rows - st->rg_row + 1;	/* this row included */
	ParquetStatus s;

	CHECK_FOR_INTERRUPTS();
	s = parquet_column_reader_read_ex(fc->cr, (int) Min(left, PQ_FLAT_BATCH), NULL, NULL,
									  fc->vals, fc->idx, &got);
	if (s == PARQUET_END)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read Parquet file %s: %s", st->r->object_name,
						parquet_status_name(PARQUET_ERR_CORRUPT)),
				 errdetail("Column \"%s\" has fewer values than row group %d has rows.",
						   parquet_reader_column(st->pr, fc->leaf)->path, st->rg)));
	if (s != PARQUET_OK)
		pq_reader_fail(st, s, parquet_column_reader_errmsg(fc->cr));
	fc->n = got;
	fc->pos = 0;
}

/* convert the current row of the flat columns into values/isnull */
static pg_attribute_always_inline void
pq_flat_row(DlakeFormatReader *r, PqReaderState *st, Datum *values, bool *isnull)
{
	/* locals: stores into values/isnull could alias st as far as C knows */
	const int  *inact = st->inact;
	const int  *act = st->act;
	int			ninact = st->ninact;
	int			nact = st->nact;
	PqAttr	   *attrs = st->attrs;
	PqFlatCol  *fcols = st->fcols;

	for (int j = 0; j < ninact; j++)
	{
		int			i = inact[j];

		values[i] = (Datum) 0;
		isnull[i] = true;
	}
	for (int j = 0; j < nact; j++)
	{
		int			i = act[j];
		PqAttr	   *a = &attrs[i];
		PqFlatCol  *fc;
		const ParquetValue *v;
		int32		idx;

		fc = &fcols[a->proj];
		v = &fc->vals[fc->pos];
		if (v->is_null)
		{
			values[i] = (Datum) 0;
			isnull[i] = true;
			continue;
		}
		r->cur_attr = i;
		if (a->cache_dict && (idx = fc->idx[fc->pos]) >= 0)
			values[i] = pq_flat_dict_value(r, st, a, i, v, idx,
										   parquet_column_reader_dict_size(fc->cr));
		else
			values[i] = pq_flat_value(r, a, i, v);
		isnull[i] = false;
	}
	r->cur_attr = -1;
}

/*
 * pq_next for flat projections: each projected column is decoded a batch
 * at a time straight from its chunk cursor; values are converted per row
 * (so errors name the right row and soft errors skip just that row),
 * with dictionary entries converted once per column chunk.
 */
static DlakeReadResult pq_flat_row_soft(DlakeFormatReader *r, PqReaderState *st,
										 Datum *values, bool *isnull, DlakeRowError *err);

static pg_attribute_always_inline DlakeReadResult
pq_next_flat(DlakeFormatReader *r, PqReaderState *st, Datum *values, bool *isnull,
			 DlakeRowError *err)
{
	if (unlikely(!st->rg_open || st->rg_row >= st->rg_rows))
	{
		if (!pq_flat_open_rg(r, st))
			return DLAKE_READ_EOF;
	}
	/* row numbers first: a decoding error names the row being read */
	st->rg_row++;
	r->position = st->rg_first_row + st->rg_row;
	r->rg_row = st->rg_row;
	for (int k = 0, nproj = st->nproj; k < nproj; k++)
	{
		PqFlatCol  *fc = &st->fcols[k];

		if (unlikely(++fc->pos >= fc->n))
			pq_flat_fill(st, k);
	}
	if ((st->rg_row & 4095) == 0)
		CHECK_FOR_INTERRUPTS();

	/*
	 * Values of the previous rows need only live until this call (format.h),
	 * so their memory is freed in bulk, which spares format_reader_next a
	 * context reset per row.
	 */
	if (unlikely(++st->valrows >= PQ_VAL_ROWS ||
				 st->valcxt->mem_allocated > PQ_VAL_BYTES))
	{
		MemoryContextReset(st->valcxt);
		st->valrows = 0;
	}
	if (likely(err == NULL))
	{
		MemoryContext old = MemoryContextSwitchTo(st->valcxt);

		pq_flat_row(r, st, values, isnull);
		MemoryContextSwitchTo(old);
		return DLAKE_READ_ROW;
	}
	return pq_flat_row_soft(r, st, values, isnull, err);
}

/* pq_flat_row catching data errors (soft-error mode) */
static pg_noinline DlakeReadResult
pq_flat_row_soft(DlakeFormatReader *r, PqReaderState *st, Datum *values, bool *isnull,
				 DlakeRowError *err)
{
	{
		MemoryContext cxt = CurrentMemoryContext;
		volatile bool ok = true;

		PG_TRY();
		{
			MemoryContextSwitchTo(st->valcxt);
			pq_flat_row(r, st, values, isnull);
			MemoryContextSwitchTo(cxt);
		}
		PG_CATCH();
		{
			ErrorData  *ed = format_catch_data_error(cxt);

			format_row_error(r, err, ed->sqlerrcode, r->cur_attr, ed->message, NULL, 0);
			ok = false;
		}
		PG_END_TRY();
		r->cur_attr = -1;
		return ok ? DLAKE_READ_ROW : DLAKE_READ_ERROR;
	}
}

static DlakeReadResult
pq_next(DlakeFormatReader *r, Datum *values, bool *isnull, DlakeRowError *err)
{
	PqReaderState *st = (PqReaderState *) r->state;
	int			nrg;
	const ParquetFieldValue *row;
	ParquetStatus s;
	int			natts;

	if (likely(st->flat))
		return pq_next_flat(r, st, values, isnull, err);
	nrg = parquet_reader_num_row_groups(st->pr);
	natts = r->target->natts;
	for (;;)
	{
		if (st->rr == NULL)
		{
			/* next selected row group */
			if (st->rg >= 0)
				st->rg_first_row += parquet_reader_row_group(st->pr, st->rg)->num_rows;
			st->rg++;
			while (st->rg < nrg && r->rg_selected && !r->rg_selected[st->rg])
			{
				st->rg_first_row += parquet_reader_row_group(st->pr, st->rg)->num_rows;
				st->rg++;
			}
			if (st->rg >= nrg)
			{
				r->cur_rg = -1;
				return DLAKE_READ_EOF;
			}
			r->cur_rg = st->rg;
			st->rg_row = 0;
			s = parquet_row_reader_open(st->pr, st->rg, st->proj, st->nproj, &st->rr);
			if (s != PARQUET_OK)
				pq_reader_fail(st, s, parquet_reader_errmsg(st->pr));
		}
		CHECK_FOR_INTERRUPTS();
		s = parquet_row_reader_next(st->rr, &row);
		if (s == PARQUET_END)
		{
			parquet_row_reader_free(st->rr);
			st->rr = NULL;
			continue;
		}
		if (s != PARQUET_OK)
			pq_reader_fail(st, s, parquet_row_reader_errmsg(st->rr));
		st->rg_row++;
		r->position = st->rg_first_row + st->rg_row;
		r->rg_row = st->rg_row;
		break;
	}

	if (err == NULL)
	{
		for (int i = 0; i < natts; i++)
		{
			if (st->attrs[i].field < 0)
			{
				values[i] = (Datum) 0;
				isnull[i] = true;
				continue;
			}
			pq_convert(r, st, i, &row[st->attrs[i].proj], &values[i], &isnull[i]);
		}
		r->cur_attr = -1;
		return DLAKE_READ_ROW;
	}
	else
	{
		MemoryContext cxt = CurrentMemoryContext;
		volatile bool ok = true;

		PG_TRY();
		{
			for (int i = 0; i < natts; i++)
			{
				if (st->attrs[i].field < 0)
				{
					values[i] = (Datum) 0;
					isnull[i] = true;
					continue;
				}
				pq_convert(r, st, i, &row[st->attrs[i].proj], &values[i], &isnull[i]);
			}
		}
		PG_CATCH();
		{
			ErrorData  *ed = format_catch_data_error(cxt);

			format_row_error(r, err, ed->sqlerrcode, r->cur_attr, ed->message, NULL, 0);
			ok = false;
		}
		PG_END_TRY();
		r->cur_attr = -1;
		return ok ? DLAKE_READ_ROW : DLAKE_READ_ERROR;
	}
}

static bool
pq_row_group_stats(DlakeFormatReader *r, int rg, int col, Oid typid, int32 typmod,
				   Datum *min, Datum *max, bool *has_min_max, int64 *null_count)
{
	PqReaderState *st = (PqReaderState *) r->state;
	const ParquetField *f;
	const ParquetColumnChunkInfo *ci;
	const ParquetColumnDesc *leaf;
	ParquetValue vmin,
				vmax;
	Oid			nat;
	int32		nattm;
	MemoryContext cxt = CurrentMemoryContext;

	if (rg < 0 || rg >= parquet_reader_num_row_groups(st->pr) ||
		col < 0 || col >= parquet_reader_num_fields(st->pr))
		return false;
	f = parquet_reader_field(st->pr, col);
	if (f->kind != PARQUET_FIELD_PRIMITIVE)
		return false;
	ci = parquet_reader_chunk(st->pr, rg, f->first_leaf);
	if (ci == NULL || !ci->has_statistics)
		return false;
	if (ci->stats.has_null_count)
		*null_count = ci->stats.null_count;
	if (!ci->stats.has_min_max)
		return true;
	leaf = parquet_reader_column(st->pr, f->first_leaf);
	if (parquet_stat_value(leaf, ci->stats.min, ci->stats.min_len, &vmin) != PARQUET_OK ||
		parquet_stat_value(leaf, ci->stats.max, ci->stats.max_len, &vmax) != PARQUET_OK)
		return true;
	nat = pqglue_leaf_type(leaf, &nattm);

	/* statistics that do not convert are simply not used */
	PG_TRY();
	{
		Oid			outfn,
					infn,
					ioparam;
		bool		isvarlena;
		FmgrInfo	fo,
					fi;
		Datum		dmin,
					dmax;

		getTypeOutputInfo(nat, &outfn, &isvarlena);
		fmgr_info(outfn, &fo);
		getTypeInputInfo(typid, &infn, &ioparam);
		fmgr_info(infn, &fi);
		dmin = pqglue_value_datum(leaf, &vmin, nat, -1);
		dmax = pqglue_value_datum(leaf, &vmax, nat, -1);
		*min = pq_coerce(dmin, nat, -1, typid, typmod, &fo, &fi, ioparam);
		*max = pq_coerce(dmax, nat, -1, typid, typmod, &fo, &fi, ioparam);
		*has_min_max = true;
	}
	PG_CATCH();
	{
		FreeErrorData(format_catch_data_error(cxt));
		*has_min_max = false;
	}
	PG_END_TRY();
	return true;
}

static void
pq_close(DlakeFormatReader *r)
{
	PqReaderState *st = (PqReaderState *) r->state;

	if (st)
		pq_reader_cleanup(st);
}

static const DlakeReaderOps pq_reader_ops = {
	.infer = NULL,
	.start = pq_start,
	.next = pq_next,
	.num_rows = pq_num_rows,
	.num_row_groups = pq_num_row_groups,
	.row_group_rows = pq_row_group_rows,
	.row_group_stats = pq_row_group_stats,
	.close = pq_close,
};

/* open the library reader on r->src (footer, schema) */
static PqReaderState *
pq_open(DlakeFormatReader *r)
{
	PqReaderState *st = palloc0(sizeof(PqReaderState));
	ParquetReaderOptions po;
	ParquetSource src;
	char		errbuf[PARQUET_ERRMSG_LEN];
	ParquetStatus s;

	st->r = r;
	initStringInfo(&st->buf);
	st->cb.func = pq_reader_cleanup;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(r->cxt, &st->cb);
	parquet_reader_options_init(&po);
	src.read_range = pq_source_read;
	src.arg = st;
	src.size = r->src->size;
	errbuf[0] = '\0';
	s = parquet_reader_open(&src, &po, &st->pr, errbuf);
	if (s != PARQUET_OK)
		pq_reader_fail(st, s, errbuf);
	return st;
}

void
parquet_glue_reader_init(DlakeFormatReader *r)
{
	PqReaderState *st = pq_open(r);
	int			nf = parquet_reader_num_fields(st->pr);

	r->ops = &pq_reader_ops;
	r->state = st;
	r->inferred = true;
	for (int i = 0; i < nf; i++)
	{
		const ParquetField *f = parquet_reader_field(st->pr, i);
		DlakeFileColumn *c = palloc0(sizeof(DlakeFileColumn));
		const ParquetColumnDesc *leaf;
		bool		as_array;

		c->name = pstrdup(f->name);
		c->typid = pq_field_type(st->pr, i, &c->typmod, &as_array, &leaf);
		c->file_type = pq_field_desc(st->pr, i);
		c->nullable = parquet_reader_node(st->pr, f->node)->repetition != PARQUET_REQUIRED;
		r->schema = lappend(r->schema, c);
	}
}

/* ================================================================
 * dlake.parquet_metadata(location, server)
 * ================================================================
 */
PG_FUNCTION_INFO_V1(dlake_parquet_metadata);

static Datum
pq_stat_text(const ParquetColumnDesc *leaf, const uint8 *bytes, uint32 len, bool *isnull)
{
	ParquetValue v;
	Oid			nat;
	int32		tm;
	MemoryContext cxt = CurrentMemoryContext;
	volatile Datum result = (Datum) 0;

	*isnull = true;
	if (parquet_stat_value(leaf, bytes, len, &v) != PARQUET_OK)
		return (Datum) 0;
	nat = pqglue_leaf_type(leaf, &tm);
	PG_TRY();
	{
		result = CStringGetTextDatum(format_datum_text(nat, pqglue_value_datum(leaf, &v, nat, tm)));
		*isnull = false;
	}
	PG_CATCH();
	{
		/* not representable as text: no value */
		FreeErrorData(format_catch_data_error(cxt));
	}
	PG_END_TRY();
	return result;
}

Datum
dlake_parquet_metadata(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeFormatOptions opts;
	DlakeFormatReader *r;
	PqReaderState *ps;
	int			nrg,
				ncol;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("location must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	loc = dlake_location_parse_or_error(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	st = storage_open(loc->kind == DLAKE_STORAGE_S3 ?
					  dlake_config_get(PG_ARGISNULL(1) ? NULL : NameStr(*PG_GETARG_NAME(1))) : NULL,
					  loc);
	dlake_format_options_init(&opts);
	opts.format = DLAKE_FORMAT_PARQUET;
	r = format_reader_open(&opts, format_source_from_storage(st, loc, -1));
	ps = (PqReaderState *) r->state;
	nrg = parquet_reader_num_row_groups(ps->pr);
	ncol = parquet_reader_num_columns(ps->pr);
	for (int rg = 0; rg < nrg; rg++)
	{
		for (int c = 0; c < ncol; c++)
		{
			const ParquetColumnDesc *cd = parquet_reader_column(ps->pr, c);
			const ParquetColumnChunkInfo *ci = parquet_reader_chunk(ps->pr, rg, c);
			Datum		values[12];
			bool		nulls[12];
			char	   *lt = pqglue_logical_name(&cd->logical);

			memset(nulls, 0, sizeof(nulls));
			values[0] = Int32GetDatum(rg);
			values[1] = CStringGetTextDatum(cd->path);
			values[2] = CStringGetTextDatum(pqglue_physical_name(cd->type));
			values[3] = lt ? CStringGetTextDatum(lt) : (Datum) 0;
			nulls[3] = (lt == NULL);
			values[4] = CStringGetTextDatum(pqglue_encodings(ci->encodings));
			values[5] = CStringGetTextDatum(pqglue_codec_name(ci->codec));
			values[6] = Int64GetDatum(ci->num_values);
			nulls[7] = !(ci->has_statistics && ci->stats.has_null_count);
			values[7] = Int64GetDatum(ci->stats.null_count);
			if (ci->has_statistics && ci->stats.has_min_max)
			{
				values[8] = pq_stat_text(cd, ci->stats.min, ci->stats.min_len, &nulls[8]);
				values[9] = pq_stat_text(cd, ci->stats.max, ci->stats.max_len, &nulls[9]);
			}
			else
				nulls[8] = nulls[9] = true;
			values[10] = Int64GetDatum(ci->total_compressed_size);
			values[11] = Int64GetDatum(ci->total_uncompressed_size);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	format_reader_close(r);
	return (Datum) 0;
}
