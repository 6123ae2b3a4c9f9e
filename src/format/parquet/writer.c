/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  Streaming Parquet writer: rows appended value by value, data pages
 *	  v1 with RLE levels, dictionary encoding with fallback to PLAIN,
 *	  statistics, snappy/gzip/zstd, footer with created_by and key-value
 *	  metadata.
 *
 * Memory model: a column chunk must be contiguous in the file, so the
 * encoded (compressed) pages of the current row group are buffered per
 * column; when the row group reaches row_group_bytes (or row_group_rows)
 * the chunks are written to the sink (dictionary page first) and the
 * buffers reused.  Memory is thus bounded by the row group size, never by
 * the total data size.  Per page, the values are kept either as
 * dictionary indices or as PLAIN bytes, levels as one byte per entry.
 *
 * Dictionary policy: one dictionary per column chunk.  After the first
 * page, if dictionary + indices are not smaller than PLAIN, the page is
 * re-encoded PLAIN and the dictionary dropped; once the dictionary passes
 * dictionary_bytes, the current page is finished dictionary-encoded and
 * later pages of the chunk are PLAIN.
 *
 * IDENTIFICATION
 *	  src/format/parquet/writer.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "format/parquet/pq_internal.h"

#define STATS_MAX_BYTES 4096

/* sort order used for statistics */
typedef enum
{
	ORD_NONE,
	ORD_BOOL,
	ORD_SIGNED32,
	ORD_UNSIGNED32,
	ORD_SIGNED64,
	ORD_UNSIGNED64,
	ORD_FLOAT,
	ORD_DOUBLE,
	ORD_BYTES,					/* unsigned memcmp */
	ORD_DECIMAL_FLBA			/* signed big-endian */
} StatOrder;

typedef struct DictEntry
{
	uint32_t	off;			/* value bytes in dict_plain */
	uint32_t	len;
	uint32_t	hash;
} DictEntry;

/* finished column chunk: what the footer needs */
typedef struct ChunkMeta
{
	uint32_t	encodings;
	int64_t		num_values;
	int64_t		total_uncompressed;
	int64_t		total_compressed;
	int64_t		data_page_offset;
	int64_t		dict_page_offset;	/* -1: none */
	int32_t		n_dict_data_pages;
	int32_t		n_plain_data_pages;
	int64_t		null_count;
	bool		has_minmax;
	bool		legacy_minmax;
	uint8_t    *min;
	uint8_t    *max;
	uint32_t	min_len;
	uint32_t	max_len;
} ChunkMeta;

typedef struct RowGroupMeta
{
	int64_t		num_rows;
	int64_t		total_byte_size;
	int64_t		total_compressed;
	int64_t		file_offset;
	ChunkMeta  *chunks;
} RowGroupMeta;

typedef struct ColW
{
	char	   *name;
	ParquetPhysicalType type;
	int32_t		type_length;
	int32_t		width;			/* fixed value width, 0 for BYTE_ARRAY */
	ParquetLogicalType lt;
	ParquetConvertedType ct;
	bool		nullable;
	bool		is_list;
	bool		elem_nullable;
	int32_t		field_id;
	bool		check_utf8;
	int			max_def;
	int			max_rep;
	int			def_list;		/* list: def of an empty list */
	StatOrder	order;
	int64_t		row_stamp;		/* row number of the last written row */

	/* current page */
	PqBuf		def;			/* uint8 per entry */
	PqBuf		rep;
	uint32_t	page_entries;
	uint32_t	page_rows;
	uint32_t	page_values;	/* non-null values */
	size_t		page_raw;		/* PLAIN size of the page values */
	PqBuf		plain;			/* PLAIN values (booleans: 1 byte each) */
	PqBuf		idx;			/* uint32 dictionary indices */

	/* dictionary of the current chunk */
	bool		dict_allowed;
	bool		use_dict;		/* current page dictionary-encoded */
	bool		dict_used;		/* some page of this chunk used it */
	PqBuf		dict_plain;		/* PLAIN body of the dictionary page */
	DictEntry  *entries;
	uint32_t	nentries;
	uint32_t	entries_cap;
	uint32_t   *slots;			/* entry index + 1, 0 = empty */
	uint32_t	slot_mask;
	int			pages_in_chunk;

	/* encoded data pages of the current chunk */
	PqBuf		chunk;
	int64_t		chunk_uncompressed;
	int64_t		num_values;
	int32_t		n_dict_data_pages;
	int32_t		n_plain_data_pages;

	/* statistics of the current chunk */
	int64_t		null_count;
	bool		has_minmax;
	bool		minmax_broken;	/* a value too long for statistics */
	union
	{
		int64_t		i;
		double		d;
	}			smin, smax;
	PqBuf		bmin;
	PqBuf		bmax;
} ColW;

struct ParquetWriter
{
	PqMem		mem;
	PqErr		err;
	ParquetSink sink;
	ParquetWriterOptions opts;
	char	   *created_by;
	ParquetKeyValue *kv;
	int			n_kv;
	int			ncols;
	ColW	   *cols;
	int64_t		offset;			/* bytes written to the sink */
	int64_t		num_rows;		/* total rows appended */
	int64_t		rg_rows;		/* rows in the current row group */
	RowGroupMeta *rgs;
	int			nrgs;
	int			rgs_cap;
	bool		closed;
	bool		failed;
	PqBuf		page;			/* scratch: uncompressed page body */
	PqBuf		cpage;			/* scratch: compressed page body */
	PqBuf		hdr;			/* scratch: page header / footer */
};

/* ---------------- helpers ---------------- */

static ParquetStatus
w_fail(ParquetWriter *w, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);

static ParquetStatus
w_fail(ParquetWriter *w, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;
	char		buf[PARQUET_ERRMSG_LEN];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* API misuse and bad values do not poison the writer */
	if (st != PARQUET_ERR_INVALID && st != PARQUET_ERR_RANGE)
		w->failed = true;
	w->err.status = st;
	snprintf(w->err.msg, sizeof(w->err.msg), "%s", buf);
	return st;
}

static ParquetStatus
w_nomem(ParquetWriter *w, const char *what)
{
	w->failed = true;
	if (w->mem.limit_hit)
		return w_fail(w, PARQUET_ERR_LIMIT,
					  "%s: writer memory limit of %zu bytes exceeded (%zu bytes in use)",
					  what, w->mem.limit, w->mem.used);
	return w_fail(w, PARQUET_ERR_NOMEM, "%s: out of memory", what);
}

static ParquetStatus
sink_write(ParquetWriter *w, const void *p, size_t n)
{
	if (n == 0)
		return PARQUET_OK;
	if (w->sink.write(w->sink.arg, p, n) != 0)
		return w_fail(w, PARQUET_ERR_IO, "write to the output failed at offset %lld",
					  (long long) w->offset);
	w->offset += (int64_t) n;
	return PARQUET_OK;
}

static inline uint32_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t	h = UINT64_C(0x9E3779B97F4A7C15) ^ (n * UINT64_C(0xff51afd7ed558ccd));

	while (n >= 8)
	{
		uint64_t	k;

		memcpy(&k, p, 8);
		h = (h ^ (k * UINT64_C(0x87c37b91114253d5))) * UINT64_C(0x4cf5ad432745937f);
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n)
	{
		uint64_t	k = 0;

		memcpy(&k, p, n);
		h = (h ^ (k * UINT64_C(0x87c37b91114253d5))) * UINT64_C(0x4cf5ad432745937f);
	}
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 29;
	return (uint32_t) h;
}

static StatOrder
order_for(const ColW *c)
{
	switch (c->type)
	{
		case PARQUET_BOOLEAN:
			return ORD_BOOL;
		case PARQUET_INT32:
			if (c->lt.kind == PARQUET_LT_INTEGER && !c->lt.is_signed)
				return ORD_UNSIGNED32;
			return ORD_SIGNED32;
		case PARQUET_INT64:
			if (c->lt.kind == PARQUET_LT_INTEGER && !c->lt.is_signed)
				return ORD_UNSIGNED64;
			return ORD_SIGNED64;
		case PARQUET_FLOAT:
			return ORD_FLOAT;
		case PARQUET_DOUBLE:
			return ORD_DOUBLE;
		case PARQUET_INT96:
			return ORD_NONE;
		case PARQUET_BYTE_ARRAY:
			if (c->lt.kind == PARQUET_LT_DECIMAL)
				return ORD_NONE;
			return ORD_BYTES;
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			if (c->lt.kind == PARQUET_LT_DECIMAL)
				return ORD_DECIMAL_FLBA;
			if (c->lt.kind == PARQUET_LT_INTERVAL || c->lt.kind == PARQUET_LT_FLOAT16)
				return ORD_NONE;
			return ORD_BYTES;
	}
	return ORD_NONE;
}

/* ---------------- statistics ---------------- */

static inline int
cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, bool decimal)
{
	size_t		n = al < bl ? al : bl;
	int			r;

	if (decimal && n > 0 && (a[0] & 0x80) != (b[0] & 0x80))
		return (a[0] & 0x80) ? -1 : 1;
	r = n ? memcmp(a, b, n) : 0;
	if (r)
		return r;
	return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* update min/max with one non-null value */
static inline bool
stats_update(ParquetWriter *w, ColW *c, const uint8_t *p, uint32_t len, int64_t iv, double dv)
{
	switch (c->order)
	{
		case ORD_NONE:
			return true;
		case ORD_BOOL:
		case ORD_SIGNED32:
		case ORD_SIGNED64:
			if (!c->has_minmax)
			{
				c->smin.i = c->smax.i = iv;
				c->has_minmax = true;
			}
			else if (iv < c->smin.i)
				c->smin.i = iv;
			else if (iv > c->smax.i)
				c->smax.i = iv;
			return true;
		case ORD_UNSIGNED32:
		case ORD_UNSIGNED64:
			if (!c->has_minmax)
			{
				c->smin.i = c->smax.i = iv;
				c->has_minmax = true;
			}
			else if ((uint64_t) iv < (uint64_t) c->smin.i)
				c->smin.i = iv;
			else if ((uint64_t) iv > (uint64_t) c->smax.i)
				c->smax.i = iv;
			return true;
		case ORD_FLOAT:
		case ORD_DOUBLE:
			if (isnan(dv))
				return true;
			if (!c->has_minmax)
			{
				c->smin.d = c->smax.d = dv;
				c->has_minmax = true;
			}
			else
			{
				/* zeros are normalised to -0.0 / +0.0 when written */
				if (dv < c->smin.d)
					c->smin.d = dv;
				if (dv > c->smax.d)
					c->smax.d = dv;
			}
			return true;
		case ORD_BYTES:
		case ORD_DECIMAL_FLBA:
			{
				bool		dec = c->order == ORD_DECIMAL_FLBA;

				if (c->minmax_broken)
					return true;
				if (len > STATS_MAX_BYTES)
				{
					c->minmax_broken = true;
					return true;
				}
				if (!c->has_minmax)
				{
					c->bmin.len = c->bmax.len = 0;
					if (!pq_buf_append(&w->mem, &c->bmin, p, len) ||
						!pq_buf_append(&w->mem, &c->bmax, p, len))
						return false;
					c->has_minmax = true;
					return true;
				}
				if (cmp_bytes(p, len, c->bmin.data, c->bmin.len, dec) < 0)
				{
					c->bmin.len = 0;
					if (!pq_buf_append(&w->mem, &c->bmin, p, len))
						return false;
				}
				else if (cmp_bytes(p, len, c->bmax.data, c->bmax.len, dec) > 0)
				{
					c->bmax.len = 0;
					if (!pq_buf_append(&w->mem, &c->bmax, p, len))
						return false;
				}
				return true;
			}
	}
	return true;
}

/* ---------------- dictionary ---------------- */

static bool
dict_grow_slots(ParquetWriter *w, ColW *c)
{
	uint32_t	ncap = c->slots ? (c->slot_mask + 1) * 2 : 1024;
	uint32_t   *ns;
	uint32_t	i;

	if (ncap == 0 || ncap > (1u << 30))
		return false;
	ns = pq_calloc(&w->mem, sizeof(uint32_t) * ncap);
	if (!ns)
		return false;
	for (i = 0; i < c->nentries; i++)
	{
		uint32_t	s = c->entries[i].hash & (ncap - 1);

		while (ns[s])
			s = (s + 1) & (ncap - 1);
		ns[s] = i + 1;
	}
	pq_free(&w->mem, c->slots);
	c->slots = ns;
	c->slot_mask = ncap - 1;
	return true;
}

static void
dict_reset(ParquetWriter *w, ColW *c)
{
	pq_free(&w->mem, c->slots);
	c->slots = NULL;
	c->slot_mask = 0;
	pq_free(&w->mem, c->entries);
	c->entries = NULL;
	c->nentries = c->entries_cap = 0;
	pq_buf_free(&w->mem, &c->dict_plain);
}

/*
 * Find or insert a value; returns its index, or -1 on memory failure.
 * *added tells whether it is new (statistics then need an update).
 */
static inline int64_t
dict_lookup(ParquetWriter *w, ColW *c, const uint8_t *p, uint32_t len, bool *added)
{
	uint32_t	h = hash_bytes(p, len);
	uint32_t	s;
	DictEntry  *e;

	*added = false;
	if (PQ_UNLIKELY(!c->slots) || c->nentries * 2 >= c->slot_mask)
	{
		if (!dict_grow_slots(w, c))
			return -1;
	}
	s = h & c->slot_mask;
	while (c->slots[s])
	{
		e = &c->entries[c->slots[s] - 1];
		if (e->hash == h && e->len == len &&
			(len == 0 || memcmp(c->dict_plain.data + e->off, p, len) == 0))
			return c->slots[s] - 1;
		s = (s + 1) & c->slot_mask;
	}
	if (c->nentries == c->entries_cap)
	{
		uint32_t	ncap = c->entries_cap ? c->entries_cap * 2 : 256;
		DictEntry  *ne = pq_realloc(&w->mem, c->entries, sizeof(DictEntry) * ncap);

		if (!ne)
			return -1;
		c->entries = ne;
		c->entries_cap = ncap;
	}
	if (!pq_buf_reserve(&w->mem, &c->dict_plain, (size_t) len + 4))
		return -1;
	if (c->type == PARQUET_BYTE_ARRAY)
	{
		pq_put_le32(c->dict_plain.data + c->dict_plain.len, len);
		c->dict_plain.len += 4;
	}
	e = &c->entries[c->nentries];
	e->off = (uint32_t) c->dict_plain.len;
	e->len = len;
	e->hash = h;
	if (len)
		memcpy(c->dict_plain.data + c->dict_plain.len, p, len);
	c->dict_plain.len += len;
	c->slots[s] = ++c->nentries;
	*added = true;
	return c->nentries - 1;
}

/* ---------------- appending ---------------- */

static inline bool
push_level(ParquetWriter *w, PqBuf *b, int level)
{
	if (!pq_buf_reserve(&w->mem, b, 1))
		return false;
	b->data[b->len++] = (uint8_t) level;
	return true;
}

/*
 * Append one non-null value (PLAIN bytes p/len; iv/dv carry the numeric
 * value for statistics).
 */
static inline ParquetStatus
col_add(ParquetWriter *w, ColW *c, const uint8_t *p, uint32_t len, int64_t iv, double dv)
{
	if (c->use_dict)
	{
		bool		added;
		int64_t		ix = dict_lookup(w, c, p, len, &added);

		if (ix < 0)
			return w_nomem(w, "dictionary");
		if (!pq_buf_reserve(&w->mem, &c->idx, 4))
			return w_nomem(w, "page buffer");
		{
			uint32_t	ix32 = (uint32_t) ix;

			memcpy(c->idx.data + c->idx.len, &ix32, 4);
		}
		c->idx.len += 4;
		if (added && !stats_update(w, c, p, len, iv, dv))
			return w_nomem(w, "statistics");
	}
	else
	{
		size_t		need = (size_t) len + (c->type == PARQUET_BYTE_ARRAY ? 4 : 0);

		if (!pq_buf_reserve(&w->mem, &c->plain, need))
			return w_nomem(w, "page buffer");
		if (c->type == PARQUET_BYTE_ARRAY)
		{
			pq_put_le32(c->plain.data + c->plain.len, len);
			c->plain.len += 4;
		}
		if (len)
			memcpy(c->plain.data + c->plain.len, p, len);
		c->plain.len += len;
		if (!stats_update(w, c, p, len, iv, dv))
			return w_nomem(w, "statistics");
	}
	c->page_values++;
	c->page_raw += (size_t) len + (c->type == PARQUET_BYTE_ARRAY ? 4 : 0);
	return PARQUET_OK;
}

static ParquetStatus
col_begin(ParquetWriter *w, int col, ColW **out)
{
	ColW	   *c;

	if (w->failed)
		return w->err.status;
	if (w->closed)
		return w_fail(w, PARQUET_ERR_INVALID, "writer is closed");
	if (col < 0 || col >= w->ncols)
		return w_fail(w, PARQUET_ERR_INVALID, "column index %d out of range", col);
	c = &w->cols[col];
	if (c->row_stamp == w->num_rows)
		return w_fail(w, PARQUET_ERR_INVALID,
					  "column \"%s\" written twice in row %lld", c->name,
					  (long long) w->num_rows);
	*out = c;
	return PARQUET_OK;
}

/* levels + value for a non-list column */
static inline ParquetStatus
col_put_scalar(ParquetWriter *w, ColW *c, const uint8_t *p, uint32_t len, int64_t iv, double dv)
{
	ParquetStatus st;

	if (c->is_list)
		return w_fail(w, PARQUET_ERR_INVALID,
					  "column \"%s\" is a list: use parquet_writer_write_list", c->name);
	if (c->max_def && !push_level(w, &c->def, c->max_def))
		return w_nomem(w, "page buffer");
	st = col_add(w, c, p, len, iv, dv);
	if (st != PARQUET_OK)
		return st;
	c->page_entries++;
	c->page_rows++;
	c->row_stamp = w->num_rows;
	return PARQUET_OK;
}

static ParquetStatus
type_error(ParquetWriter *w, ColW *c, const char *what)
{
	return w_fail(w, PARQUET_ERR_INVALID, "column \"%s\" has physical type %s, not %s",
				  c->name, pq_type_name(c->type), what);
}

ParquetStatus
parquet_writer_write_null(ParquetWriter *w, int col)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);

	if (st != PARQUET_OK)
		return st;
	if (!c->nullable)
		return w_fail(w, PARQUET_ERR_INVALID, "null value in required column \"%s\"", c->name);
	if (!push_level(w, &c->def, 0) || (c->max_rep && !push_level(w, &c->rep, 0)))
		return w_nomem(w, "page buffer");
	c->null_count++;
	c->page_entries++;
	c->page_rows++;
	c->row_stamp = w->num_rows;
	return PARQUET_OK;
}

ParquetStatus
parquet_writer_write_bool(ParquetWriter *w, int col, bool v)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		b = v ? 1 : 0;

	if (st != PARQUET_OK)
		return st;
	if (c->type != PARQUET_BOOLEAN)
		return type_error(w, c, "BOOLEAN");
	return col_put_scalar(w, c, &b, 1, b, 0);
}

ParquetStatus
parquet_writer_write_int32(ParquetWriter *w, int col, int32_t v)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		b[4];

	if (st != PARQUET_OK)
		return st;
	if (c->type != PARQUET_INT32)
		return type_error(w, c, "INT32");
	pq_put_le32(b, (uint32_t) v);
	return col_put_scalar(w, c, b, 4,
						  c->order == ORD_UNSIGNED32 ? (int64_t) (uint32_t) v : v, 0);
}

ParquetStatus
parquet_writer_write_int64(ParquetWriter *w, int col, int64_t v)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		b[8];

	if (st != PARQUET_OK)
		return st;
	if (c->type != PARQUET_INT64)
		return type_error(w, c, "INT64");
	pq_put_le64(b, (uint64_t) v);
	return col_put_scalar(w, c, b, 8, v, 0);
}

ParquetStatus
parquet_writer_write_float(ParquetWriter *w, int col, float v)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		b[4];
	uint32_t	u;

	if (st != PARQUET_OK)
		return st;
	if (c->type != PARQUET_FLOAT)
		return type_error(w, c, "FLOAT");
	memcpy(&u, &v, 4);
	pq_put_le32(b, u);
	return col_put_scalar(w, c, b, 4, 0, v);
}

ParquetStatus
parquet_writer_write_double(ParquetWriter *w, int col, double v)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		b[8];
	uint64_t	u;

	if (st != PARQUET_OK)
		return st;
	if (c->type != PARQUET_DOUBLE)
		return type_error(w, c, "DOUBLE");
	memcpy(&u, &v, 8);
	pq_put_le64(b, u);
	return col_put_scalar(w, c, b, 8, 0, v);
}

/* validate a byte value for column c */
static ParquetStatus
check_bytes(ParquetWriter *w, ColW *c, const void *data, uint32_t len)
{
	if (c->type == PARQUET_BYTE_ARRAY)
	{
		if (len > INT32_MAX)
			return w_fail(w, PARQUET_ERR_RANGE, "value of %u bytes too long for column \"%s\"",
						  len, c->name);
		if (c->check_utf8 && !parquet_utf8_valid(data, len))
			return w_fail(w, PARQUET_ERR_RANGE, "invalid UTF-8 in string column \"%s\"",
						  c->name);
		return PARQUET_OK;
	}
	if (c->type == PARQUET_FIXED_LEN_BYTE_ARRAY || c->type == PARQUET_INT96)
	{
		if (len != (uint32_t) c->width)
			return w_fail(w, PARQUET_ERR_INVALID,
						  "value of %u bytes for column \"%s\" of fixed width %d",
						  len, c->name, c->width);
		return PARQUET_OK;
	}
	return type_error(w, c, "a byte array");
}

ParquetStatus
parquet_writer_write_bytes(ParquetWriter *w, int col, const void *data, uint32_t len)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);

	if (st != PARQUET_OK)
		return st;
	st = check_bytes(w, c, data, len);
	if (st != PARQUET_OK)
		return st;
	return col_put_scalar(w, c, data, len, 0, 0);
}

/* PLAIN bytes of a value for column c (scratch holds fixed-width data) */
static ParquetStatus
value_bytes(ParquetWriter *w, ColW *c, const ParquetValue *v, uint8_t *scratch,
			const uint8_t **p, uint32_t *len, int64_t *iv, double *dv)
{
	*iv = 0;
	*dv = 0;
	switch (c->type)
	{
		case PARQUET_BOOLEAN:
			scratch[0] = v->v.b ? 1 : 0;
			*iv = scratch[0];
			*p = scratch;
			*len = 1;
			break;
		case PARQUET_INT32:
			pq_put_le32(scratch, (uint32_t) v->v.i32);
			*iv = c->order == ORD_UNSIGNED32 ? (int64_t) (uint32_t) v->v.i32 : v->v.i32;
			*p = scratch;
			*len = 4;
			break;
		case PARQUET_INT64:
			pq_put_le64(scratch, (uint64_t) v->v.i64);
			*iv = v->v.i64;
			*p = scratch;
			*len = 8;
			break;
		case PARQUET_FLOAT:
			{
				uint32_t	u;

				memcpy(&u, &v->v.f, 4);
				pq_put_le32(scratch, u);
				*dv = v->v.f;
				*p = scratch;
				*len = 4;
				break;
			}
		case PARQUET_DOUBLE:
			{
				uint64_t	u;

				memcpy(&u, &v->v.d, 8);
				pq_put_le64(scratch, u);
				*dv = v->v.d;
				*p = scratch;
				*len = 8;
				break;
			}
		default:
			{
				ParquetStatus st = check_bytes(w, c, v->ptr, v->len);

				if (st != PARQUET_OK)
					return st;
				*p = v->ptr;
				*len = v->len;
				break;
			}
	}
	return PARQUET_OK;
}

ParquetStatus
parquet_writer_write_value(ParquetWriter *w, int col, const ParquetValue *v)
{
	ColW	   *c;
	ParquetStatus st;
	uint8_t		scratch[8];
	const uint8_t *p;
	uint32_t	len;
	int64_t		iv;
	double		dv;

	if (v->is_null)
		return parquet_writer_write_null(w, col);
	st = col_begin(w, col, &c);
	if (st != PARQUET_OK)
		return st;
	st = value_bytes(w, c, v, scratch, &p, &len, &iv, &dv);
	if (st != PARQUET_OK)
		return st;
	return col_put_scalar(w, c, p, len, iv, dv);
}

ParquetStatus
parquet_writer_write_decimal_text(ParquetWriter *w, int col, const char *text)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	uint8_t		be[16];
	int			i;

	if (st != PARQUET_OK)
		return st;
	if (c->lt.kind != PARQUET_LT_DECIMAL)
		return w_fail(w, PARQUET_ERR_INVALID, "column \"%s\" is not a DECIMAL column", c->name);
	st = parquet_decimal_from_text(text, c->lt.precision, c->lt.scale, be);
	if (st == PARQUET_ERR_RANGE)
		return w_fail(w, st, "value %s does not fit DECIMAL(%d,%d) column \"%s\"",
					  text, c->lt.precision, c->lt.scale, c->name);
	if (st != PARQUET_OK)
		return w_fail(w, st, "invalid decimal value \"%s\" for column \"%s\"", text, c->name);
	switch (c->type)
	{
		case PARQUET_INT32:
			{
				uint32_t	u = ((uint32_t) be[12] << 24) | ((uint32_t) be[13] << 16) |
					((uint32_t) be[14] << 8) | be[15];
				uint8_t		b[4];

				pq_put_le32(b, u);
				return col_put_scalar(w, c, b, 4, (int32_t) u, 0);
			}
		case PARQUET_INT64:
			{
				uint64_t	u = 0;
				uint8_t		b[8];

				for (i = 8; i < 16; i++)
					u = (u << 8) | be[i];
				pq_put_le64(b, u);
				return col_put_scalar(w, c, b, 8, (int64_t) u, 0);
			}
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			if (c->width < 1 || c->width > 16)
				return w_fail(w, PARQUET_ERR_INVALID, "DECIMAL column \"%s\" has width %d",
							  c->name, c->width);
			return col_put_scalar(w, c, be + 16 - c->width, (uint32_t) c->width, 0, 0);
		case PARQUET_BYTE_ARRAY:
			{
				/* minimal two's complement bytes */
				int			start = 0;

				while (start < 15 &&
					   ((be[start] == 0 && !(be[start + 1] & 0x80)) ||
						(be[start] == 0xff && (be[start + 1] & 0x80))))
					start++;
				return col_put_scalar(w, c, be + start, (uint32_t) (16 - start), 0, 0);
			}
		default:
			return type_error(w, c, "a DECIMAL-capable type");
	}
}

ParquetStatus
parquet_writer_write_list(ParquetWriter *w, int col, const ParquetValue *elems, int n)
{
	ColW	   *c;
	ParquetStatus st = col_begin(w, col, &c);
	int			i;

	if (st != PARQUET_OK)
		return st;
	if (!c->is_list)
		return w_fail(w, PARQUET_ERR_INVALID, "column \"%s\" is not a list column", c->name);
	if (n < 0)
		return w_fail(w, PARQUET_ERR_INVALID, "negative list length");
	/* validate first so that a bad element leaves the row untouched */
	for (i = 0; i < n; i++)
	{
		if (elems[i].is_null)
		{
			if (!c->elem_nullable)
				return w_fail(w, PARQUET_ERR_INVALID,
							  "null element in list column \"%s\" with required elements",
							  c->name);
		}
		else if (c->type == PARQUET_BYTE_ARRAY || c->type == PARQUET_FIXED_LEN_BYTE_ARRAY ||
				 c->type == PARQUET_INT96)
		{
			st = check_bytes(w, c, elems[i].ptr, elems[i].len);
			if (st != PARQUET_OK)
				return st;
		}
	}
	if (n == 0)
	{
		if ((c->max_def && !push_level(w, &c->def, c->def_list)) ||
			!push_level(w, &c->rep, 0))
			return w_nomem(w, "page buffer");
		c->page_entries++;
	}
	for (i = 0; i < n; i++)
	{
		if (!push_level(w, &c->rep, i == 0 ? 0 : 1))
			return w_nomem(w, "page buffer");
		if (elems[i].is_null)
		{
			if (!push_level(w, &c->def, c->max_def - 1))
				return w_nomem(w, "page buffer");
			c->null_count++;
		}
		else
		{
			uint8_t		scratch[8];
			const uint8_t *p;
			uint32_t	len;
			int64_t		iv;
			double		dv;

			if (!push_level(w, &c->def, c->max_def))
				return w_nomem(w, "page buffer");
			st = value_bytes(w, c, &elems[i], scratch, &p, &len, &iv, &dv);
			if (st == PARQUET_OK)
				st = col_add(w, c, p, len, iv, dv);
			if (st != PARQUET_OK)
			{
				w->failed = true;	/* levels already pushed */
				return st;
			}
		}
		c->page_entries++;
	}
	c->page_rows++;
	c->row_stamp = w->num_rows;
	return PARQUET_OK;
}

/* ---------------- pages ---------------- */

static ParquetStatus
write_page_header(ParquetWriter *w, int type, size_t uncompressed, size_t compressed,
				  uint32_t num_values, int encoding)
{
	ThriftEnc	e;

	w->hdr.len = 0;
	tenc_init(&e, &w->mem, &w->hdr);
	tenc_i32(&e, 1, type);
	tenc_i32(&e, 2, (int32_t) uncompressed);
	tenc_i32(&e, 3, (int32_t) compressed);
	if (type == PQ_PAGE_DICTIONARY)
	{
		tenc_struct_begin(&e, 7);
		tenc_i32(&e, 1, (int32_t) num_values);
		tenc_i32(&e, 2, PARQUET_ENC_PLAIN);
		tenc_struct_end(&e);
	}
	else
	{
		tenc_struct_begin(&e, 5);
		tenc_i32(&e, 1, (int32_t) num_values);
		tenc_i32(&e, 2, encoding);
		tenc_i32(&e, 3, PARQUET_ENC_RLE);
		tenc_i32(&e, 4, PARQUET_ENC_RLE);
		tenc_struct_end(&e);
	}
	tenc_stop(&e);
	if (e.failed)
		return w_nomem(w, "page header");
	return PARQUET_OK;
}

/* compress w->page into w->cpage */
static ParquetStatus
compress_page(ParquetWriter *w)
{
	size_t		bound = pq_compress_bound(w->opts.codec, w->page.len);
	size_t		outlen;
	ParquetStatus st;

	if (w->page.len > INT32_MAX)
		return w_fail(w, PARQUET_ERR_LIMIT, "page of %zu bytes is too large", w->page.len);
	w->cpage.len = 0;
	if (!pq_buf_reserve(&w->mem, &w->cpage, bound))
		return w_nomem(w, "compression buffer");
	st = pq_compress(w->opts.codec, w->opts.compression_level, w->page.data, w->page.len,
					 w->cpage.data, &outlen, &w->err);
	if (st != PARQUET_OK)
	{
		w->failed = true;
		return st;
	}
	w->cpage.len = outlen;
	return PARQUET_OK;
}

/* rewrite the current page's dictionary indices as PLAIN values */
static ParquetStatus
page_dict_to_plain(ParquetWriter *w, ColW *c)
{
	uint32_t	i;
	const uint32_t *ix = (const uint32_t *) c->idx.data;

	c->plain.len = 0;
	if (!pq_buf_reserve(&w->mem, &c->plain, c->page_raw))
		return w_nomem(w, "page buffer");
	for (i = 0; i < c->page_values; i++)
	{
		DictEntry  *e = &c->entries[ix[i]];

		if (c->type == PARQUET_BYTE_ARRAY)
		{
			pq_put_le32(c->plain.data + c->plain.len, e->len);
			c->plain.len += 4;
		}
		memcpy(c->plain.data + c->plain.len, c->dict_plain.data + e->off, e->len);
		c->plain.len += e->len;
	}
	c->idx.len = 0;
	return PARQUET_OK;
}

static ParquetStatus
col_flush_page(ParquetWriter *w, ColW *c)
{
	ParquetStatus st;
	int			encoding;
	size_t		lenpos;
	int			bw = 0;

	if (c->page_entries == 0)
		return PARQUET_OK;

	/* first page of the chunk: is the dictionary worth it? */
	if (c->use_dict && c->pages_in_chunk == 0 && c->type != PARQUET_BOOLEAN)
	{
		size_t		idx_bytes = ((size_t) c->page_values * pq_bit_width(c->nentries ? c->nentries - 1 : 0) + 7) / 8;

		if (c->dict_plain.len + idx_bytes >= c->page_raw)
		{
			st = page_dict_to_plain(w, c);
			if (st != PARQUET_OK)
				return st;
			c->use_dict = false;
			c->dict_allowed = false;
			dict_reset(w, c);
		}
	}

	w->page.len = 0;
	if (c->max_rep)
	{
		if (!pq_buf_reserve(&w->mem, &w->page, 4))
			return w_nomem(w, "page buffer");
		lenpos = w->page.len;
		w->page.len += 4;
		if (!pq_rle_encode8(&w->mem, &w->page, c->rep.data, c->page_entries,
							pq_bit_width(c->max_rep)))
			return w_nomem(w, "page buffer");
		pq_put_le32(w->page.data + lenpos, (uint32_t) (w->page.len - lenpos - 4));
	}
	if (c->max_def)
	{
		if (!pq_buf_reserve(&w->mem, &w->page, 4))
			return w_nomem(w, "page buffer");
		lenpos = w->page.len;
		w->page.len += 4;
		if (!pq_rle_encode8(&w->mem, &w->page, c->def.data, c->page_entries,
							pq_bit_width(c->max_def)))
			return w_nomem(w, "page buffer");
		pq_put_le32(w->page.data + lenpos, (uint32_t) (w->page.len - lenpos - 4));
	}
	if (c->use_dict)
	{
		uint8_t		b;

		bw = pq_bit_width(c->nentries ? c->nentries - 1 : 0);
		b = (uint8_t) bw;
		encoding = PARQUET_ENC_RLE_DICTIONARY;
		if (!pq_buf_append(&w->mem, &w->page, &b, 1) ||
			!pq_rle_encode32(&w->mem, &w->page, (const uint32_t *) c->idx.data,
							 c->page_values, bw))
			return w_nomem(w, "page buffer");
	}
	else if (c->type == PARQUET_BOOLEAN)
	{
		uint32_t	i;
		size_t		nbytes = (c->page_values + 7) / 8;
		uint8_t    *o;

		encoding = PARQUET_ENC_PLAIN;
		if (!pq_buf_reserve(&w->mem, &w->page, nbytes))
			return w_nomem(w, "page buffer");
		o = w->page.data + w->page.len;
		memset(o, 0, nbytes);
		for (i = 0; i < c->page_values; i++)
			if (c->plain.data[i])
				o[i >> 3] |= (uint8_t) (1 << (i & 7));
		w->page.len += nbytes;
	}
	else
	{
		encoding = PARQUET_ENC_PLAIN;
		if (!pq_buf_append(&w->mem, &w->page, c->plain.data, c->plain.len))
			return w_nomem(w, "page buffer");
	}

	st = compress_page(w);
	if (st != PARQUET_OK)
		return st;
	st = write_page_header(w, PQ_PAGE_DATA, w->page.len, w->cpage.len, c->page_entries, encoding);
	if (st != PARQUET_OK)
		return st;
	if (!pq_buf_append(&w->mem, &c->chunk, w->hdr.data, w->hdr.len) ||
		!pq_buf_append(&w->mem, &c->chunk, w->cpage.data, w->cpage.len))
		return w_nomem(w, "row group buffer");
	c->chunk_uncompressed += (int64_t) (w->hdr.len + w->page.len);
	c->num_values += c->page_entries;
	if (c->use_dict)
	{
		c->n_dict_data_pages++;
		c->dict_used = true;
	}
	else
		c->n_plain_data_pages++;
	c->pages_in_chunk++;

	/* reset the page */
	c->def.len = c->rep.len = 0;
	c->plain.len = c->idx.len = 0;
	c->page_entries = c->page_rows = c->page_values = 0;
	c->page_raw = 0;

	/* dictionary too large: later pages of this chunk are PLAIN */
	if (c->use_dict && c->dict_plain.len > (size_t) w->opts.dictionary_bytes)
	{
		c->use_dict = false;
		pq_free(&w->mem, c->slots);
		c->slots = NULL;
		c->slot_mask = 0;
	}
	return PARQUET_OK;
}

/* ---------------- row groups ---------------- */

static uint8_t *
dup_bytes(ParquetWriter *w, const void *p, size_t n)
{
	uint8_t    *d = pq_alloc(&w->mem, n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* min/max of a chunk as PLAIN bytes */
static bool
chunk_stats(ParquetWriter *w, ColW *c, ChunkMeta *cm)
{
	uint8_t		bmin[8],
				bmax[8];
	size_t		n = 0;

	cm->null_count = c->null_count;
	cm->has_minmax = false;
	cm->legacy_minmax = false;
	if (!c->has_minmax || c->minmax_broken || c->order == ORD_NONE)
		return true;
	switch (c->order)
	{
		case ORD_BOOL:
			bmin[0] = (uint8_t) c->smin.i;
			bmax[0] = (uint8_t) c->smax.i;
			n = 1;
			cm->legacy_minmax = true;
			break;
		case ORD_SIGNED32:
		case ORD_UNSIGNED32:
			pq_put_le32(bmin, (uint32_t) c->smin.i);
			pq_put_le32(bmax, (uint32_t) c->smax.i);
			n = 4;
			cm->legacy_minmax = c->order == ORD_SIGNED32;
			break;
		case ORD_SIGNED64:
		case ORD_UNSIGNED64:
			pq_put_le64(bmin, (uint64_t) c->smin.i);
			pq_put_le64(bmax, (uint64_t) c->smax.i);
			n = 8;
			cm->legacy_minmax = c->order == ORD_SIGNED64;
			break;
		case ORD_FLOAT:
			{
				float		fmin = (float) c->smin.d,
							fmax = (float) c->smax.d;
				uint32_t	u;

				if (fmin == 0)
					fmin = -0.0f;
				if (fmax == 0)
					fmax = 0.0f;
				memcpy(&u, &fmin, 4);
				pq_put_le32(bmin, u);
				memcpy(&u, &fmax, 4);
				pq_put_le32(bmax, u);
				n = 4;
				cm->legacy_minmax = true;
				break;
			}
		case ORD_DOUBLE:
			{
				double		dmin = c->smin.d,
							dmax = c->smax.d;
				uint64_t	u;

				if (dmin == 0)
					dmin = -0.0;
				if (dmax == 0)
					dmax = 0.0;
				memcpy(&u, &dmin, 8);
				pq_put_le64(bmin, u);
				memcpy(&u, &dmax, 8);
				pq_put_le64(bmax, u);
				n = 8;
				cm->legacy_minmax = true;
				break;
			}
		case ORD_BYTES:
		case ORD_DECIMAL_FLBA:
			cm->min = dup_bytes(w, c->bmin.data, c->bmin.len);
			cm->max = dup_bytes(w, c->bmax.data, c->bmax.len);
			if (!cm->min || !cm->max)
				return false;
			cm->min_len = (uint32_t) c->bmin.len;
			cm->max_len = (uint32_t) c->bmax.len;
			cm->has_minmax = true;
			return true;
		case ORD_NONE:
			return true;
	}
	cm->min = dup_bytes(w, bmin, n);
	cm->max = dup_bytes(w, bmax, n);
	if (!cm->min || !cm->max)
		return false;
	cm->min_len = cm->max_len = (uint32_t) n;
	cm->has_minmax = true;
	return true;
}

static void
col_reset_chunk(ParquetWriter *w, ColW *c)
{
	c->chunk.len = 0;
	c->chunk_uncompressed = 0;
	c->num_values = 0;
	c->n_dict_data_pages = c->n_plain_data_pages = 0;
	c->pages_in_chunk = 0;
	c->null_count = 0;
	c->has_minmax = false;
	c->minmax_broken = false;
	c->dict_used = false;
	dict_reset(w, c);
	c->dict_allowed = w->opts.dictionary && c->type != PARQUET_BOOLEAN &&
		!(c->lt.kind == PARQUET_LT_UNKNOWN);
	c->use_dict = c->dict_allowed;
}

static ParquetStatus
flush_row_group(ParquetWriter *w)
{
	RowGroupMeta *rg;
	int			i;
	ParquetStatus st;
	int64_t		total_uncompressed = 0;

	if (w->failed)
		return w->err.status;
	if (w->rg_rows == 0)
		return PARQUET_OK;
	for (i = 0; i < w->ncols; i++)
	{
		st = col_flush_page(w, &w->cols[i]);
		if (st != PARQUET_OK)
			return st;
	}
	if (w->nrgs == w->rgs_cap)
	{
		int			ncap = w->rgs_cap ? w->rgs_cap * 2 : 8;
		RowGroupMeta *n = pq_realloc(&w->mem, w->rgs, sizeof(RowGroupMeta) * ncap);

		if (!n)
			return w_nomem(w, "row group metadata");
		w->rgs = n;
		w->rgs_cap = ncap;
	}
	rg = &w->rgs[w->nrgs];
	memset(rg, 0, sizeof(*rg));
	rg->chunks = pq_calloc(&w->mem, sizeof(ChunkMeta) * w->ncols);
	if (!rg->chunks)
		return w_nomem(w, "row group metadata");
	w->nrgs++;
	rg->num_rows = w->rg_rows;
	rg->file_offset = w->offset;
	for (i = 0; i < w->ncols; i++)
	{
		ColW	   *c = &w->cols[i];
		ChunkMeta  *cm = &rg->chunks[i];
		int64_t		start = w->offset;
		int64_t		dict_uncompressed = 0;

		cm->dict_page_offset = -1;
		cm->encodings = 1u << PARQUET_ENC_RLE;
		if (c->dict_used)
		{
			w->page.len = 0;
			if (!pq_buf_append(&w->mem, &w->page, c->dict_plain.data, c->dict_plain.len))
				return w_nomem(w, "dictionary page");
			st = compress_page(w);
			if (st == PARQUET_OK)
				st = write_page_header(w, PQ_PAGE_DICTIONARY, w->page.len, w->cpage.len,
									   c->nentries, PARQUET_ENC_PLAIN);
			if (st != PARQUET_OK)
				return st;
			cm->dict_page_offset = w->offset;
			dict_uncompressed = (int64_t) (w->hdr.len + w->page.len);
			if ((st = sink_write(w, w->hdr.data, w->hdr.len)) != PARQUET_OK ||
				(st = sink_write(w, w->cpage.data, w->cpage.len)) != PARQUET_OK)
				return st;
			cm->encodings |= (1u << PARQUET_ENC_PLAIN) | (1u << PARQUET_ENC_RLE_DICTIONARY);
		}
		if (c->n_plain_data_pages)
			cm->encodings |= 1u << PARQUET_ENC_PLAIN;
		cm->data_page_offset = w->offset;
		st = sink_write(w, c->chunk.data, c->chunk.len);
		if (st != PARQUET_OK)
			return st;
		cm->num_values = c->num_values;
		cm->total_compressed = w->offset - start;
		cm->total_uncompressed = c->chunk_uncompressed + dict_uncompressed;
		cm->n_dict_data_pages = c->n_dict_data_pages;
		cm->n_plain_data_pages = c->n_plain_data_pages;
		if (!chunk_stats(w, c, cm))
			return w_nomem(w, "statistics");
		total_uncompressed += cm->total_uncompressed;
		col_reset_chunk(w, c);
	}
	rg->total_byte_size = total_uncompressed;
	rg->total_compressed = w->offset - rg->file_offset;
	w->rg_rows = 0;
	return PARQUET_OK;
}

ParquetStatus
parquet_writer_flush_row_group(ParquetWriter *w)
{
	if (w->closed)
		return w_fail(w, PARQUET_ERR_INVALID, "writer is closed");
	return flush_row_group(w);
}

ParquetStatus
parquet_writer_end_row(ParquetWriter *w)
{
	int			i;
	size_t		buffered = 0;

	if (w->failed)
		return w->err.status;
	if (w->closed)
		return w_fail(w, PARQUET_ERR_INVALID, "writer is closed");
	for (i = 0; i < w->ncols; i++)
	{
		ColW	   *c = &w->cols[i];

		if (c->row_stamp != w->num_rows)
			return w_fail(w, PARQUET_ERR_INVALID, "no value for column \"%s\" in row %lld",
						  c->name, (long long) w->num_rows);
	}
	w->num_rows++;
	w->rg_rows++;
	for (i = 0; i < w->ncols; i++)
	{
		ColW	   *c = &w->cols[i];

		if (c->page_raw >= (size_t) w->opts.page_bytes ||
			c->page_rows >= (uint32_t) w->opts.page_rows ||
			c->page_entries >= (1u << 30))
		{
			ParquetStatus st = col_flush_page(w, c);

			if (st != PARQUET_OK)
				return st;
		}
		buffered += c->chunk.len + c->page_raw + c->dict_plain.len + c->page_entries;
	}
	if ((int64_t) buffered >= w->opts.row_group_bytes ||
		(w->opts.row_group_rows > 0 && w->rg_rows >= w->opts.row_group_rows))
		return flush_row_group(w);
	return PARQUET_OK;
}

/* ---------------- footer ---------------- */

static void
enc_logical(ThriftEnc *e, const ParquetLogicalType *lt)
{
	if (lt->kind == PARQUET_LT_NONE || lt->kind == PARQUET_LT_INTERVAL ||
		lt->kind == PARQUET_LT_OTHER)
		return;
	tenc_struct_begin(e, 10);
	tenc_struct_begin(e, lt->kind);
	switch (lt->kind)
	{
		case PARQUET_LT_DECIMAL:
			tenc_i32(e, 1, lt->scale);
			tenc_i32(e, 2, lt->precision);
			break;
		case PARQUET_LT_TIME:
		case PARQUET_LT_TIMESTAMP:
			tenc_bool(e, 1, lt->utc);
			tenc_struct_begin(e, 2);
			tenc_struct_begin(e, lt->unit);
			tenc_struct_end(e);
			tenc_struct_end(e);
			break;
		case PARQUET_LT_INTEGER:
			tenc_i8(e, 1, (int8_t) lt->bit_width);
			tenc_bool(e, 2, lt->is_signed);
			break;
		default:
			break;
	}
	tenc_struct_end(e);
	tenc_struct_end(e);
}

static void
enc_leaf(ThriftEnc *e, const ColW *c, const char *name, int repetition, bool with_field_id)
{
	tenc_struct_begin(e, 0);
	tenc_i32(e, 1, c->type);
	if (c->type == PARQUET_FIXED_LEN_BYTE_ARRAY)
		tenc_i32(e, 2, c->type_length);
	tenc_i32(e, 3, repetition);
	tenc_binary(e, 4, name, strlen(name));
	if (c->ct != PARQUET_CT_NONE)
		tenc_i32(e, 6, c->ct);
	if (c->lt.kind == PARQUET_LT_DECIMAL)
	{
		tenc_i32(e, 7, c->lt.scale);
		tenc_i32(e, 8, c->lt.precision);
	}
	if (with_field_id && c->field_id >= 0)
		tenc_i32(e, 9, c->field_id);
	enc_logical(e, &c->lt);
	tenc_struct_end(e);
}

static void
enc_stats(ThriftEnc *e, const ChunkMeta *cm)
{
	tenc_struct_begin(e, 12);
	if (cm->has_minmax && cm->legacy_minmax)
	{
		tenc_binary(e, 1, cm->max, cm->max_len);
		tenc_binary(e, 2, cm->min, cm->min_len);
	}
	tenc_i64(e, 3, cm->null_count);
	if (cm->has_minmax)
	{
		tenc_binary(e, 5, cm->max, cm->max_len);
		tenc_binary(e, 6, cm->min, cm->min_len);
	}
	tenc_struct_end(e);
}

static ParquetStatus
write_footer(ParquetWriter *w)
{
	ThriftEnc	e;
	int			i,
				j;
	int			nschema = 1;
	uint8_t		tail[8];
	ParquetStatus st;

	for (i = 0; i < w->ncols; i++)
		nschema += w->cols[i].is_list ? 3 : 1;
	w->hdr.len = 0;
	tenc_init(&e, &w->mem, &w->hdr);
	tenc_i32(&e, 1, 1);
	/* schema */
	tenc_list_begin(&e, 2, TT_STRUCT, (uint32_t) nschema);
	tenc_struct_begin(&e, 0);
	tenc_binary(&e, 4, "schema", 6);
	tenc_i32(&e, 5, w->ncols);
	tenc_struct_end(&e);
	for (i = 0; i < w->ncols; i++)
	{
		ColW	   *c = &w->cols[i];

		if (!c->is_list)
		{
			enc_leaf(&e, c, c->name, c->nullable ? PARQUET_OPTIONAL : PARQUET_REQUIRED, true);
			continue;
		}
		tenc_struct_begin(&e, 0);
		tenc_i32(&e, 3, c->nullable ? PARQUET_OPTIONAL : PARQUET_REQUIRED);
		tenc_binary(&e, 4, c->name, strlen(c->name));
		tenc_i32(&e, 5, 1);
		tenc_i32(&e, 6, PARQUET_CT_LIST);
		if (c->field_id >= 0)
			tenc_i32(&e, 9, c->field_id);
		{
			ParquetLogicalType lt = parquet_lt_simple(PARQUET_LT_LIST);

			enc_logical(&e, &lt);
		}
		tenc_struct_end(&e);
		tenc_struct_begin(&e, 0);
		tenc_i32(&e, 3, PARQUET_REPEATED);
		tenc_binary(&e, 4, "list", 4);
		tenc_i32(&e, 5, 1);
		tenc_struct_end(&e);
		enc_leaf(&e, c, "element", c->elem_nullable ? PARQUET_OPTIONAL : PARQUET_REQUIRED,
				 false);
	}
	tenc_i64(&e, 3, w->num_rows);
	/* row groups */
	tenc_list_begin(&e, 4, TT_STRUCT, (uint32_t) w->nrgs);
	for (i = 0; i < w->nrgs; i++)
	{
		RowGroupMeta *rg = &w->rgs[i];

		tenc_struct_begin(&e, 0);
		tenc_list_begin(&e, 1, TT_STRUCT, (uint32_t) w->ncols);
		for (j = 0; j < w->ncols; j++)
		{
			ColW	   *c = &w->cols[j];
			ChunkMeta  *cm = &rg->chunks[j];
			int			nenc = 0,
						k;

			tenc_struct_begin(&e, 0);
			tenc_i64(&e, 2, 0);
			tenc_struct_begin(&e, 3);
			tenc_i32(&e, 1, c->type);
			for (k = 0; k < 32; k++)
				if (cm->encodings & (1u << k))
					nenc++;
			tenc_list_begin(&e, 2, TT_I32, (uint32_t) nenc);
			for (k = 0; k < 32; k++)
				if (cm->encodings & (1u << k))
					tenc_elem_i32(&e, k);
			if (c->is_list)
			{
				tenc_list_begin(&e, 3, TT_BINARY, 3);
				tenc_elem_binary(&e, c->name, strlen(c->name));
				tenc_elem_binary(&e, "list", 4);
				tenc_elem_binary(&e, "element", 7);
			}
			else
			{
				tenc_list_begin(&e, 3, TT_BINARY, 1);
				tenc_elem_binary(&e, c->name, strlen(c->name));
			}
			tenc_i32(&e, 4, w->opts.codec);
			tenc_i64(&e, 5, cm->num_values);
			tenc_i64(&e, 6, cm->total_uncompressed);
			tenc_i64(&e, 7, cm->total_compressed);
			tenc_i64(&e, 9, cm->data_page_offset);
			if (cm->dict_page_offset >= 0)
				tenc_i64(&e, 11, cm->dict_page_offset);
			enc_stats(&e, cm);
			/* encoding_stats */
			{
				int			nes = (cm->dict_page_offset >= 0 ? 1 : 0) +
					(cm->n_dict_data_pages ? 1 : 0) + (cm->n_plain_data_pages ? 1 : 0);

				tenc_list_begin(&e, 13, TT_STRUCT, (uint32_t) nes);
				if (cm->dict_page_offset >= 0)
				{
					tenc_struct_begin(&e, 0);
					tenc_i32(&e, 1, PQ_PAGE_DICTIONARY);
					tenc_i32(&e, 2, PARQUET_ENC_PLAIN);
					tenc_i32(&e, 3, 1);
					tenc_struct_end(&e);
				}
				if (cm->n_dict_data_pages)
				{
					tenc_struct_begin(&e, 0);
					tenc_i32(&e, 1, PQ_PAGE_DATA);
					tenc_i32(&e, 2, PARQUET_ENC_RLE_DICTIONARY);
					tenc_i32(&e, 3, cm->n_dict_data_pages);
					tenc_struct_end(&e);
				}
				if (cm->n_plain_data_pages)
				{
					tenc_struct_begin(&e, 0);
					tenc_i32(&e, 1, PQ_PAGE_DATA);
					tenc_i32(&e, 2, PARQUET_ENC_PLAIN);
					tenc_i32(&e, 3, cm->n_plain_data_pages);
					tenc_struct_end(&e);
				}
			}
			tenc_struct_end(&e);	/* meta_data */
			tenc_struct_end(&e);	/* ColumnChunk */
		}
		tenc_i64(&e, 2, rg->total_byte_size);
		tenc_i64(&e, 3, rg->num_rows);
		tenc_i64(&e, 5, rg->file_offset);
		tenc_i64(&e, 6, rg->total_compressed);
		if (i <= INT16_MAX)
			tenc_i16(&e, 7, (int16_t) i);
		tenc_struct_end(&e);
	}
	if (w->n_kv > 0)
	{
		tenc_list_begin(&e, 5, TT_STRUCT, (uint32_t) w->n_kv);
		for (i = 0; i < w->n_kv; i++)
		{
			tenc_struct_begin(&e, 0);
			tenc_binary(&e, 1, w->kv[i].key, strlen(w->kv[i].key));
			if (w->kv[i].value)
				tenc_binary(&e, 2, w->kv[i].value, strlen(w->kv[i].value));
			tenc_struct_end(&e);
		}
	}
	tenc_binary(&e, 6, w->created_by, strlen(w->created_by));
	/* column_orders: TYPE_ORDER per leaf */
	tenc_list_begin(&e, 7, TT_STRUCT, (uint32_t) w->ncols);
	for (i = 0; i < w->ncols; i++)
	{
		tenc_struct_begin(&e, 0);
		tenc_struct_begin(&e, 1);
		tenc_struct_end(&e);
		tenc_struct_end(&e);
	}
	tenc_stop(&e);
	if (e.failed)
		return w_nomem(w, "footer");
	if (w->hdr.len > UINT32_MAX)
		return w_fail(w, PARQUET_ERR_LIMIT, "footer too large");
	pq_put_le32(tail, (uint32_t) w->hdr.len);
	memcpy(tail + 4, "PAR1", 4);
	if ((st = sink_write(w, w->hdr.data, w->hdr.len)) != PARQUET_OK ||
		(st = sink_write(w, tail, 8)) != PARQUET_OK)
		return st;
	return PARQUET_OK;
}

ParquetStatus
parquet_writer_close(ParquetWriter *w)
{
	ParquetStatus st;

	if (w->failed)
		return w->err.status;
	if (w->closed)
		return w_fail(w, PARQUET_ERR_INVALID, "writer is already closed");
	st = flush_row_group(w);
	if (st != PARQUET_OK)
		return st;
	st = write_footer(w);
	if (st != PARQUET_OK)
		return st;
	w->closed = true;
	return PARQUET_OK;
}

/* ---------------- open / free ---------------- */

void
parquet_writer_options_init(ParquetWriterOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = PARQUET_CODEC_SNAPPY;
	o->compression_level = 0;
	o->row_group_bytes = INT64_C(128) * 1024 * 1024;
	o->row_group_rows = 0;
	o->page_bytes = 1024 * 1024;
	o->page_rows = 20000;
	o->dictionary = true;
	o->dictionary_bytes = 1024 * 1024;
	o->created_by = NULL;
	o->memory_limit = 0;
}

static ParquetStatus
open_fail(char *errbuf, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);

static ParquetStatus
open_fail(char *errbuf, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;

	if (errbuf)
	{
		va_start(ap, fmt);
		vsnprintf(errbuf, PARQUET_ERRMSG_LEN, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* check that a column spec is consistent */
static ParquetStatus
check_spec(const ParquetColumnSpec *s, char *errbuf)
{
	const ParquetLogicalType *lt = &s->logical;
	ParquetPhysicalType t = s->type;

	if (!s->name || !s->name[0])
		return open_fail(errbuf, PARQUET_ERR_INVALID, "column without a name");
	if ((int) t < 0 || t > PARQUET_FIXED_LEN_BYTE_ARRAY)
		return open_fail(errbuf, PARQUET_ERR_INVALID, "column \"%s\": invalid physical type",
						 s->name);
	if (t == PARQUET_FIXED_LEN_BYTE_ARRAY && (s->type_length < 1 || s->type_length > (1 << 24)))
		return open_fail(errbuf, PARQUET_ERR_INVALID,
						 "column \"%s\": FIXED_LEN_BYTE_ARRAY needs a type_length", s->name);
	switch (lt->kind)
	{
		case PARQUET_LT_NONE:
		case PARQUET_LT_UNKNOWN:
			break;
		case PARQUET_LT_STRING:
		case PARQUET_LT_JSON:
		case PARQUET_LT_ENUM:
		case PARQUET_LT_BSON:
			if (t != PARQUET_BYTE_ARRAY)
				goto bad;
			break;
		case PARQUET_LT_UUID:
			if (t != PARQUET_FIXED_LEN_BYTE_ARRAY || s->type_length != 16)
				goto bad;
			break;
		case PARQUET_LT_DATE:
			if (t != PARQUET_INT32)
				goto bad;
			break;
		case PARQUET_LT_TIME:
			if (lt->unit == PARQUET_MILLIS ? t != PARQUET_INT32 : t != PARQUET_INT64)
				goto bad;
			if (lt->unit < PARQUET_MILLIS || lt->unit > PARQUET_NANOS)
				goto bad;
			break;
		case PARQUET_LT_TIMESTAMP:
			if (t != PARQUET_INT64 || lt->unit < PARQUET_MILLIS || lt->unit > PARQUET_NANOS)
				goto bad;
			break;
		case PARQUET_LT_INTEGER:
			if (lt->bit_width == 64 ? t != PARQUET_INT64 :
				(t != PARQUET_INT32 || (lt->bit_width != 8 && lt->bit_width != 16 &&
										lt->bit_width != 32)))
				goto bad;
			break;
		case PARQUET_LT_DECIMAL:
			if (lt->precision < 1 || lt->scale < 0 || lt->scale > lt->precision)
				goto bad;
			if (t == PARQUET_INT32 ? lt->precision > 9 :
				t == PARQUET_INT64 ? lt->precision > 18 :
				t == PARQUET_FIXED_LEN_BYTE_ARRAY ?
				(lt->precision > 38 || s->type_length < parquet_decimal_flba_width(lt->precision)) :
				t == PARQUET_BYTE_ARRAY ? lt->precision > 38 : true)
				goto bad;
			break;
		case PARQUET_LT_INTERVAL:
			if (t != PARQUET_FIXED_LEN_BYTE_ARRAY || s->type_length != 12)
				goto bad;
			break;
		case PARQUET_LT_FLOAT16:
			if (t != PARQUET_FIXED_LEN_BYTE_ARRAY || s->type_length != 2)
				goto bad;
			break;
		default:
			goto bad;
	}
	return PARQUET_OK;
bad:
	return open_fail(errbuf, PARQUET_ERR_INVALID,
					 "column \"%s\": logical type %d does not fit physical type %s",
					 s->name, (int) lt->kind, pq_type_name(t));
}

ParquetStatus
parquet_writer_open(const ParquetSink *sink, const ParquetColumnSpec *columns, int ncolumns,
					const ParquetWriterOptions *opts, ParquetWriter **out, char *errbuf)
{
	ParquetWriterOptions o;
	PqMem		mem;
	ParquetWriter *w;
	int			i;
	ParquetStatus st;

	*out = NULL;
	if (errbuf)
		errbuf[0] = '\0';
	if (opts)
		o = *opts;
	else
		parquet_writer_options_init(&o);
	if (!sink || !sink->write)
		return open_fail(errbuf, PARQUET_ERR_INVALID, "no output sink");
	if (ncolumns < 1 || ncolumns > 100000)
		return open_fail(errbuf, PARQUET_ERR_INVALID, "a Parquet file needs 1 to 100000 columns");
	if (o.codec != PARQUET_CODEC_UNCOMPRESSED && o.codec != PARQUET_CODEC_SNAPPY &&
		o.codec != PARQUET_CODEC_GZIP && o.codec != PARQUET_CODEC_ZSTD)
		return open_fail(errbuf, PARQUET_ERR_UNSUPPORTED,
						 "compression codec %s is not supported for writing",
						 pq_codec_name(o.codec));
	if (o.codec == PARQUET_CODEC_ZSTD && (o.compression_level < -7 || o.compression_level > 22))
		return open_fail(errbuf, PARQUET_ERR_INVALID, "zstd level must be between -7 and 22");
	if (o.codec == PARQUET_CODEC_GZIP && (o.compression_level < 0 || o.compression_level > 9))
		return open_fail(errbuf, PARQUET_ERR_INVALID, "gzip level must be between 0 and 9");
	if (o.row_group_bytes <= 0)
		o.row_group_bytes = INT64_C(128) * 1024 * 1024;
	if (o.page_bytes <= 0)
		o.page_bytes = 1024 * 1024;
	if (o.page_rows <= 0)
		o.page_rows = 20000;
	if (o.dictionary_bytes <= 0)
		o.dictionary_bytes = 1024 * 1024;
	if (o.memory_limit == 0)
		o.memory_limit = (size_t) o.row_group_bytes * 2 + (size_t) 64 * 1024 * 1024;
	for (i = 0; i < ncolumns; i++)
	{
		st = check_spec(&columns[i], errbuf);
		if (st != PARQUET_OK)
			return st;
	}

	pq_mem_init(&mem, o.alloc, o.memory_limit);
	w = pq_calloc(&mem, sizeof(ParquetWriter));
	if (!w)
		return open_fail(errbuf, PARQUET_ERR_NOMEM, "out of memory");
	w->mem = mem;
	w->sink = *sink;
	w->opts = o;
	w->opts.kv = NULL;
	w->ncols = ncolumns;
	w->cols = pq_calloc(&w->mem, sizeof(ColW) * ncolumns);
	w->created_by = o.created_by ? pq_strndup(&w->mem, o.created_by, strlen(o.created_by)) :
		pq_strndup(&w->mem, PARQUET_CREATED_BY, strlen(PARQUET_CREATED_BY));
	if (!w->cols || !w->created_by)
		goto nomem;
	if (o.n_kv > 0 && o.kv)
	{
		w->kv = pq_calloc(&w->mem, sizeof(ParquetKeyValue) * o.n_kv);
		if (!w->kv)
			goto nomem;
		w->n_kv = o.n_kv;
		for (i = 0; i < o.n_kv; i++)
		{
			if (!o.kv[i].key)
			{
				parquet_writer_free(w);
				return open_fail(errbuf, PARQUET_ERR_INVALID, "key-value entry without a key");
			}
			w->kv[i].key = pq_strndup(&w->mem, o.kv[i].key, strlen(o.kv[i].key));
			w->kv[i].value = o.kv[i].value ?
				pq_strndup(&w->mem, o.kv[i].value, strlen(o.kv[i].value)) : NULL;
			if (!w->kv[i].key || (o.kv[i].value && !w->kv[i].value))
				goto nomem;
		}
	}
	for (i = 0; i < ncolumns; i++)
	{
		const ParquetColumnSpec *s = &columns[i];
		ColW	   *c = &w->cols[i];

		c->name = pq_strndup(&w->mem, s->name, strlen(s->name));
		if (!c->name)
			goto nomem;
		c->type = s->type;
		c->type_length = s->type_length;
		c->width = s->type == PARQUET_FIXED_LEN_BYTE_ARRAY ? s->type_length :
			s->type == PARQUET_INT96 ? 12 : 0;
		c->lt = s->logical;
		c->ct = pq_converted_for(&s->logical);
		c->nullable = s->nullable;
		c->is_list = s->is_list;
		c->elem_nullable = s->element_nullable;
		c->field_id = s->field_id;
		c->check_utf8 = s->type == PARQUET_BYTE_ARRAY &&
			(s->logical.kind == PARQUET_LT_STRING || s->logical.kind == PARQUET_LT_JSON ||
			 s->logical.kind == PARQUET_LT_ENUM);
		if (s->is_list)
		{
			c->def_list = s->nullable ? 1 : 0;
			c->max_def = c->def_list + 1 + (s->element_nullable ? 1 : 0);
			c->max_rep = 1;
		}
		else
		{
			c->max_def = s->nullable ? 1 : 0;
			c->max_rep = 0;
		}
		c->order = order_for(c);
		c->row_stamp = -1;
		col_reset_chunk(w, c);
		if (s->no_dictionary)
			c->dict_allowed = c->use_dict = false;
	}
	/* leading magic */
	st = sink_write(w, "PAR1", 4);
	if (st != PARQUET_OK)
	{
		open_fail(errbuf, st, "%s", w->err.msg);
		parquet_writer_free(w);
		return st;
	}
	*out = w;
	return PARQUET_OK;

nomem:
	parquet_writer_free(w);
	return open_fail(errbuf, PARQUET_ERR_NOMEM, "out of memory creating the Parquet writer");
}

void
parquet_writer_free(ParquetWriter *w)
{
	int			i,
				j;
	PqMem		mem;

	if (!w)
		return;
	if (w->cols)
	{
		for (i = 0; i < w->ncols; i++)
		{
			ColW	   *c = &w->cols[i];

			pq_free(&w->mem, c->name);
			pq_buf_free(&w->mem, &c->def);
			pq_buf_free(&w->mem, &c->rep);
			pq_buf_free(&w->mem, &c->plain);
			pq_buf_free(&w->mem, &c->idx);
			pq_buf_free(&w->mem, &c->chunk);
			pq_buf_free(&w->mem, &c->bmin);
			pq_buf_free(&w->mem, &c->bmax);
			dict_reset(w, c);
		}
		pq_free(&w->mem, w->cols);
	}
	for (i = 0; i < w->nrgs; i++)
	{
		for (j = 0; j < w->ncols; j++)
		{
			pq_free(&w->mem, w->rgs[i].chunks[j].min);
			pq_free(&w->mem, w->rgs[i].chunks[j].max);
		}
		pq_free(&w->mem, w->rgs[i].chunks);
	}
	pq_free(&w->mem, w->rgs);
	if (w->kv)
	{
		for (i = 0; i < w->n_kv; i++)
		{
			pq_free(&w->mem, (void *) w->kv[i].key);
			pq_free(&w->mem, (void *) w->kv[i].value);
		}
		pq_free(&w->mem, w->kv);
	}
	pq_free(&w->mem, w->created_by);
	pq_buf_free(&w->mem, &w->page);
	pq_buf_free(&w->mem, &w->cpage);
	pq_buf_free(&w->mem, &w->hdr);
	mem = w->mem;
	pq_free(&mem, w);
}

const char *
parquet_writer_errmsg(const ParquetWriter *w)
{
	return w->err.msg;
}

int64_t
parquet_writer_num_rows(const ParquetWriter *w)
{
	return w->num_rows;
}

int64_t
parquet_writer_bytes_written(const ParquetWriter *w)
{
	return w->offset;
}

size_t
parquet_writer_memory_used(const ParquetWriter *w)
{
	return w->mem.used;
}
