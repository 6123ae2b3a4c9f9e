/*
 * pq_testutil.h
 *	  In-memory sink/source helpers for the Parquet unit tests and fuzz
 *	  targets (plain C, no PostgreSQL).
 */
#ifndef PQ_TESTUTIL_H
#define PQ_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "format/parquet/parquet.h"

typedef struct MemFile
{
	unsigned char *data;
	size_t		len;
	size_t		cap;
	int			fail_after;		/* sink: fail when len would exceed (0 = never) */
	int			reads;			/* source: number of range reads */
	long long	bytes_read;
} MemFile;

static inline int
memfile_write(void *arg, const void *buf, size_t len)
{
	MemFile    *f = arg;

	if (f->fail_after && f->len + len > (size_t) f->fail_after)
		return -1;
	if (f->len + len > f->cap)
	{
		size_t		ncap = f->cap ? f->cap * 2 : 4096;
		unsigned char *nd;

		while (ncap < f->len + len)
			ncap *= 2;
		nd = realloc(f->data, ncap);
		if (!nd)
			return -1;
		f->data = nd;
		f->cap = ncap;
	}
	memcpy(f->data + f->len, buf, len);
	f->len += len;
	return 0;
}

static inline int
memfile_read(void *arg, int64_t off, int64_t len, void *dst)
{
	MemFile    *f = arg;

	if (off < 0 || len < 0 || (size_t) (off + len) > f->len)
		return -1;
	memcpy(dst, f->data + off, (size_t) len);
	f->reads++;
	f->bytes_read += len;
	return 0;
}

static inline ParquetSink
memfile_sink(MemFile *f)
{
	ParquetSink s;

	s.write = memfile_write;
	s.arg = f;
	return s;
}

static inline ParquetSource
memfile_source(MemFile *f)
{
	ParquetSource s;

	s.read_range = memfile_read;
	s.arg = f;
	s.size = (int64_t) f->len;
	return s;
}

static inline void
memfile_free(MemFile *f)
{
	free(f->data);
	memset(f, 0, sizeof(*f));
}

/*
 * Read every column of every row group through the column cursor, then
 * every row through the row reader (all fields, JSON / array modes).
 * Returns the first error status (or PARQUET_OK); used by the fuzz
 * targets and by corrupt-input tests.
 */
static inline ParquetStatus
pq_read_everything(ParquetReader *r, int maxrows, char *errbuf, size_t errlen)
{
	int			g,
				c,
				i;
	ParquetStatus st = PARQUET_OK;
	int16_t		def[256],
				rep[256];
	ParquetValue vals[256];

	for (g = 0; g < parquet_reader_num_row_groups(r); g++)
	{
		for (c = 0; c < parquet_reader_num_columns(r); c++)
		{
			ParquetColumnReader *cr;
			int			n,
						total = 0;

			st = parquet_column_reader_open(r, g, c, &cr);
			if (st != PARQUET_OK)
			{
				snprintf(errbuf, errlen, "%s", parquet_reader_errmsg(r));
				return st;
			}
			while ((st = parquet_column_reader_read(cr, 256, def, rep, vals, &n)) == PARQUET_OK)
			{
				total += n;
				if (total > maxrows * 16)
					break;
			}
			if (st != PARQUET_OK && st != PARQUET_END)
			{
				snprintf(errbuf, errlen, "%s", parquet_column_reader_errmsg(cr));
				parquet_column_reader_free(cr);
				return st;
			}
			parquet_column_reader_free(cr);
		}
		for (i = 0; i < 2; i++)
		{
			int			nf = parquet_reader_num_fields(r);
			ParquetProjection *proj = calloc(nf ? nf : 1, sizeof(ParquetProjection));
			ParquetRowReader *rr;
			const ParquetFieldValue *row;
			int			rows = 0,
						k;

			for (k = 0; k < nf; k++)
			{
				const ParquetField *f = parquet_reader_field(r, k);

				proj[k].field = k;
				proj[k].mode = (i == 1 && f->kind == PARQUET_FIELD_LIST &&
								f->list_element_leaf >= 0 && f->num_leaves == 1) ?
					PARQUET_NESTED_ARRAY : PARQUET_NESTED_JSON;
			}
			st = parquet_row_reader_open(r, g, proj, nf, &rr);
			free(proj);
			if (st != PARQUET_OK)
			{
				snprintf(errbuf, errlen, "%s", parquet_reader_errmsg(r));
				return st;
			}
			while ((st = parquet_row_reader_next(rr, &row)) == PARQUET_OK)
			{
				if (++rows >= maxrows)
					break;
			}
			if (st != PARQUET_OK && st != PARQUET_END)
			{
				snprintf(errbuf, errlen, "%s", parquet_row_reader_errmsg(rr));
				parquet_row_reader_free(rr);
				return st;
			}
			parquet_row_reader_free(rr);
		}
	}
	return PARQUET_OK;
}

#endif
