/*-------------------------------------------------------------------------
 *
 * rowreader.c
 *	  Row-oriented cursor over projected top-level fields of one row group:
 *	  primitive fields come out as scalars, nested fields (LIST, MAP,
 *	  groups) are reassembled from repetition/definition levels into JSON
 *	  text, or into an element array for lists of primitives.
 *
 * Each projected leaf column has a LeafCursor buffering a batch of entries
 * from its column chunk cursor.  A row of a repeated leaf is the run of
 * entries up to the next repetition level 0; when a row straddles a batch
 * the unconsumed entries are compacted and more are read, with byte values
 * copied into the cursor's own buffer (column cursor pointers only live
 * until its next read).  Assembly walks the schema subtree of the field,
 * splitting entry ranges at repetition boundaries (the Dremel record
 * assembly, recursive over the schema).
 *
 * IDENTIFICATION
 *	  src/format/parquet/rowreader.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "format/parquet/pq_reader.h"

#define LEAF_BATCH 1024

typedef struct LeafCursor
{
	int			col;
	const ParquetColumnDesc *cd;
	ParquetColumnReader *cr;
	int16_t    *def;
	int16_t    *rep;
	ParquetValue *vals;
	int			cap;
	int			n;
	int			pos;
	bool		eof;
	bool		nested;			/* max_rep > 0: rows may span batches */
	bool		offsets;		/* vals[].ptr hold offsets into bytes */
	PqBuf		bytes;
	/* range of the current row */
	int			row_s;
	int			row_e;
} LeafCursor;

typedef struct ProjField
{
	const ParquetField *f;
	ParquetNestedMode mode;
	int			first_cursor;	/* index of its first leaf cursor */
} ProjField;

typedef struct Rng
{
	int			s;
	int			e;
} Rng;

struct ParquetRowReader
{
	ParquetReader *r;
	PqErr		err;
	int			rg;
	int64_t		rows_left;
	int64_t		row_no;
	int			nproj;
	ProjField  *proj;
	ParquetFieldValue *out;
	int			ncursors;
	LeafCursor *cursors;
	int		   *cursor_of_col;	/* ncols entries, -1 when not projected */
	int		   *node_first_leaf;	/* per schema node */
	int		   *node_nleaves;
	PqBuf		json;
	PqBuf		elems;			/* ParquetValue array (NESTED_ARRAY) */
	Rng		   *rng;
	int			rng_cap;
	int			rng_top;
	PqBuf		tmp;
};

/* ---------------- errors ---------------- */

static ParquetStatus
rr_fail(ParquetRowReader *rr, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);

static ParquetStatus
rr_fail(ParquetRowReader *rr, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;
	int			pos;

	if (rr->err.status != PARQUET_OK)
		return rr->err.status;
	rr->err.status = st;
	pos = snprintf(rr->err.msg, sizeof(rr->err.msg), "row group %d, row %lld: ",
				   rr->rg, (long long) rr->row_no);
	if (pos < 0)
		pos = 0;
	if ((size_t) pos < sizeof(rr->err.msg) - 1)
	{
		va_start(ap, fmt);
		vsnprintf(rr->err.msg + pos, sizeof(rr->err.msg) - pos, fmt, ap);
		va_end(ap);
	}
	return st;
}

static ParquetStatus
rr_nomem(ParquetRowReader *rr, const char *what)
{
	PqMem	   *m = &rr->r->mem;

	if (m->limit_hit)
		return rr_fail(rr, PARQUET_ERR_LIMIT,
					   "%s: reader memory limit of %zu bytes exceeded", what, m->limit);
	return rr_fail(rr, PARQUET_ERR_NOMEM, "%s: out of memory", what);
}

/* column cursor errors already carry their context */
static ParquetStatus
rr_from_cursor(ParquetRowReader *rr, LeafCursor *lc, ParquetStatus st)
{
	if (rr->err.status == PARQUET_OK)
	{
		rr->err.status = st;
		snprintf(rr->err.msg, sizeof(rr->err.msg), "%s", parquet_column_reader_errmsg(lc->cr));
	}
	return st;
}

const char *
parquet_row_reader_errmsg(const ParquetRowReader *rr)
{
	return rr->err.msg;
}

/* ---------------- leaf cursors ---------------- */

static bool
is_bytes_type(ParquetPhysicalType t)
{
	return t == PARQUET_BYTE_ARRAY || t == PARQUET_FIXED_LEN_BYTE_ARRAY || t == PARQUET_INT96;
}

static inline const uint8_t *
lc_ptr(const LeafCursor *lc, const ParquetValue *v)
{
	if (lc->offsets)
		return lc->bytes.data ? lc->bytes.data + (uintptr_t) v->ptr : (const uint8_t *) "";
	return v->ptr;
}

static bool
lc_grow(PqMem *m, LeafCursor *lc, int ncap)
{
	int16_t    *d = pq_realloc(m, lc->def, sizeof(int16_t) * ncap);

	if (!d)
		return false;
	lc->def = d;
	d = pq_realloc(m, lc->rep, sizeof(int16_t) * ncap);
	if (!d)
		return false;
	lc->rep = d;
	{
		ParquetValue *v = pq_realloc(m, lc->vals, sizeof(ParquetValue) * ncap);

		if (!v)
			return false;
		lc->vals = v;
	}
	lc->cap = ncap;
	return true;
}

/* read one more batch appended at lc->n */
static ParquetStatus
lc_fill(ParquetRowReader *rr, LeafCursor *lc)
{
	PqMem	   *m = &rr->r->mem;
	int			got;
	ParquetStatus st;
	int			i;

	if (lc->cap - lc->n < LEAF_BATCH / 2)
	{
		int			ncap = lc->cap ? lc->cap * 2 : LEAF_BATCH;

		if (lc->n + LEAF_BATCH / 2 > ncap)
			ncap = lc->n + LEAF_BATCH;
		if (!lc_grow(m, lc, ncap))
			return rr_nomem(rr, "row buffer");
	}
	st = parquet_column_reader_read(lc->cr, lc->cap - lc->n, lc->def + lc->n, lc->rep + lc->n,
									lc->vals + lc->n, &got);
	if (st == PARQUET_END)
	{
		lc->eof = true;
		return PARQUET_OK;
	}
	if (st != PARQUET_OK)
		return rr_from_cursor(rr, lc, st);
	if (lc->offsets)
	{
		for (i = lc->n; i < lc->n + got; i++)
		{
			ParquetValue *v = &lc->vals[i];
			size_t		off;

			if (v->is_null)
				continue;
			off = lc->bytes.len;
			if (!pq_buf_append(m, &lc->bytes, v->ptr, v->len))
				return rr_nomem(rr, "row buffer");
			v->ptr = (const uint8_t *) (uintptr_t) off;
		}
	}
	lc->n += got;
	return PARQUET_OK;
}

/* drop consumed entries (and their bytes) */
static void
lc_compact(LeafCursor *lc)
{
	int			keep = lc->n - lc->pos;
	int			i;

	if (lc->pos == 0)
		return;
	if (lc->offsets)
	{
		size_t		base = lc->bytes.len;

		for (i = lc->pos; i < lc->n; i++)
			if (!lc->vals[i].is_null)
			{
				base = (uintptr_t) lc->vals[i].ptr;
				break;
			}
		if (base > 0)
		{
			memmove(lc->bytes.data, lc->bytes.data + base, lc->bytes.len - base);
			lc->bytes.len -= base;
			for (i = lc->pos; i < lc->n; i++)
				if (!lc->vals[i].is_null)
					lc->vals[i].ptr = (const uint8_t *) ((uintptr_t) lc->vals[i].ptr - base);
		}
	}
	if (keep > 0)
	{
		memmove(lc->def, lc->def + lc->pos, sizeof(int16_t) * keep);
		memmove(lc->rep, lc->rep + lc->pos, sizeof(int16_t) * keep);
		memmove(lc->vals, lc->vals + lc->pos, sizeof(ParquetValue) * keep);
	}
	lc->n = keep;
	lc->pos = 0;
}

/* locate the entries of the next row: [row_s, row_e) */
static ParquetStatus
lc_next_row(ParquetRowReader *rr, LeafCursor *lc)
{
	ParquetStatus st;

	if (!lc->nested)
	{
		if (lc->pos >= lc->n)
		{
			lc->n = lc->pos = 0;
			st = lc_fill(rr, lc);
			if (st != PARQUET_OK)
				return st;
			if (lc->n == 0)
				return rr_fail(rr, PARQUET_ERR_CORRUPT,
							   "column \"%s\" has fewer values than the row group has rows",
							   lc->cd->path);
		}
		lc->row_s = lc->pos;
		lc->row_e = lc->pos + 1;
		lc->pos++;
		return PARQUET_OK;
	}
	for (;;)
	{
		int			e;

		if (lc->pos < lc->n)
		{
			if (lc->rep[lc->pos] != 0)
				return rr_fail(rr, PARQUET_ERR_CORRUPT,
							   "column \"%s\": row does not start with repetition level 0",
							   lc->cd->path);
			for (e = lc->pos + 1; e < lc->n; e++)
				if (lc->rep[e] == 0)
					break;
			if (e < lc->n || lc->eof)
			{
				lc->row_s = lc->pos;
				lc->row_e = e;
				lc->pos = e;
				return PARQUET_OK;
			}
		}
		else if (lc->eof)
			return rr_fail(rr, PARQUET_ERR_CORRUPT,
						   "column \"%s\" has fewer values than the row group has rows",
						   lc->cd->path);
		else if (lc->offsets)
			lc->bytes.len = 0;
		lc_compact(lc);
		st = lc_fill(rr, lc);
		if (st != PARQUET_OK)
			return st;
	}
}

/* ---------------- JSON rendering ---------------- */

static bool
js_put(ParquetRowReader *rr, const char *s, size_t n)
{
	return pq_buf_append(&rr->r->mem, &rr->json, s, n);
}

static bool
js_puts(ParquetRowReader *rr, const char *s)
{
	return js_put(rr, s, strlen(s));
}

static bool
js_string(ParquetRowReader *rr, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t		i = 0;

	if (!pq_buf_reserve(&rr->r->mem, &rr->json, n + 2))
		return false;
	if (!js_put(rr, "\"", 1))
		return false;
	while (i < n)
	{
		size_t		j = i;

		while (j < n && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' && s[j] < 0x80)
			j++;
		if (j > i && !js_put(rr, (const char *) s + i, j - i))
			return false;
		i = j;
		if (i >= n)
			break;
		if (s[i] >= 0x80)
		{
			/* copy a valid UTF-8 sequence, replace invalid bytes */
			size_t		len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 1;

			if (len > 1 && i + len <= n && parquet_utf8_valid(s + i, len))
			{
				if (!js_put(rr, (const char *) s + i, len))
					return false;
				i += len;
			}
			else
			{
				if (!js_puts(rr, "\\ufffd"))
					return false;
				i++;
			}
			continue;
		}
		{
			char		esc[7];
			uint8_t		c = s[i++];

			switch (c)
			{
				case '"':
					if (!js_puts(rr, "\\\""))
						return false;
					break;
				case '\\':
					if (!js_puts(rr, "\\\\"))
						return false;
					break;
				case '\n':
					if (!js_puts(rr, "\\n"))
						return false;
					break;
				case '\r':
					if (!js_puts(rr, "\\r"))
						return false;
					break;
				case '\t':
					if (!js_puts(rr, "\\t"))
						return false;
					break;
				case 0:
					/* PostgreSQL text cannot hold NUL */
					if (!js_puts(rr, "\\ufffd"))
						return false;
					break;
				default:
					esc[0] = '\\';
					esc[1] = 'u';
					esc[2] = '0';
					esc[3] = '0';
					esc[4] = hex[c >> 4];
					esc[5] = hex[c & 15];
					esc[6] = '\0';
					if (!js_puts(rr, esc))
						return false;
			}
		}
	}
	return js_put(rr, "\"", 1);
}

/* proleptic Gregorian date from days since 1970-01-01 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era,
				yoe,
				doy,
				mp;
	uint64_t	doe;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (uint64_t) (z - era * 146097);
	yoe = (int64_t) ((doe - doe / 1460 + doe / 36524 - doe / 146096) / 365);
	*y = yoe + era * 400;
	doy = (int64_t) doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	if (*m <= 2)
		(*y)++;
}

static int
fmt_date(char *buf, size_t n, int64_t days)
{
	int64_t		y;
	int			m,
				d;

	civil_from_days(days, &y, &m, &d);
	return snprintf(buf, n, "%04lld-%02d-%02d", (long long) y, m, d);
}

/* HH:MM:SS[.ffffff] from microseconds of day, trailing zeros trimmed */
static int
fmt_time(char *buf, size_t n, int64_t us)
{
	int			len;
	int64_t		frac = us % 1000000;
	int64_t		secs = us / 1000000;

	len = snprintf(buf, n, "%02lld:%02lld:%02lld", (long long) (secs / 3600),
				   (long long) ((secs / 60) % 60), (long long) (secs % 60));
	if (frac && len > 0 && (size_t) len + 8 < n)
	{
		int			k;

		len += snprintf(buf + len, n - len, ".%06lld", (long long) frac);
		for (k = len - 1; buf[k] == '0'; k--)
			len--;
		buf[len] = '\0';
	}
	return len;
}

static int
fmt_timestamp(char *buf, size_t n, int64_t us, bool utc)
{
	int64_t		days = us / INT64_C(86400000000);
	int64_t		rem = us % INT64_C(86400000000);
	int			len;

	if (rem < 0)
	{
		rem += INT64_C(86400000000);
		days--;
	}
	len = fmt_date(buf, n, days);
	if (len < 0 || (size_t) len + 2 >= n)
		return len;
	buf[len++] = 'T';
	len += fmt_time(buf + len, n - len, rem);
	if (utc && (size_t) len + 7 < n)
		len += snprintf(buf + len, n - len, "+00:00");
	return len;
}

static int
fmt_double(char *buf, size_t n, double d, int maxprec)
{
	int			p;

	for (p = 1; p < maxprec; p++)
	{
		snprintf(buf, n, "%.*g", p, d);
		if (maxprec > 9 ? strtod(buf, NULL) == d : (float) strtod(buf, NULL) == (float) d)
			break;
	}
	return snprintf(buf, n, "%.*g", p, d);
}

static double
half_to_double(uint16_t h)
{
	int			e = (h >> 10) & 0x1f;
	int			m = h & 0x3ff;
	double		v;

	if (e == 0)
		v = ldexp(m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp(m + 1024, e - 25);
	return (h & 0x8000) ? -v : v;
}

/* render one non-null leaf value as JSON */
static bool
js_value(ParquetRowReader *rr, const LeafCursor *lc, const ParquetValue *v)
{
	const ParquetColumnDesc *cd = lc->cd;
	const ParquetLogicalType *lt = &cd->logical;
	char		buf[192];
	int			len;
	ParquetValue tmp = *v;

	if (is_bytes_type(cd->type))
		tmp.ptr = lc_ptr(lc, v);
	switch (cd->type)
	{
		case PARQUET_BOOLEAN:
			return js_puts(rr, v->v.b ? "true" : "false");
		case PARQUET_INT32:
			if (lt->kind == PARQUET_LT_DATE)
			{
				buf[0] = '"';
				len = fmt_date(buf + 1, sizeof(buf) - 2, v->v.i32);
				return js_put(rr, buf, len + 1) && js_put(rr, "\"", 1);
			}
			if (lt->kind == PARQUET_LT_TIME)
			{
				buf[0] = '"';
				len = fmt_time(buf + 1, sizeof(buf) - 2, (int64_t) v->v.i32 * 1000);
				return js_put(rr, buf, len + 1) && js_put(rr, "\"", 1);
			}
			if (lt->kind == PARQUET_LT_DECIMAL)
				len = parquet_decimal_to_text(cd->type, &tmp, lt->scale, buf, sizeof(buf));
			else if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
				len = snprintf(buf, sizeof(buf), "%u", (uint32_t) v->v.i32);
			else
				len = snprintf(buf, sizeof(buf), "%d", v->v.i32);
			return len >= 0 && js_put(rr, buf, len);
		case PARQUET_INT64:
			if (lt->kind == PARQUET_LT_TIMESTAMP)
			{
				buf[0] = '"';
				len = fmt_timestamp(buf + 1, sizeof(buf) - 2, parquet_to_micros(v->v.i64, lt->unit),
									lt->utc);
				return js_put(rr, buf, len + 1) && js_put(rr, "\"", 1);
			}
			if (lt->kind == PARQUET_LT_TIME)
			{
				buf[0] = '"';
				len = fmt_time(buf + 1, sizeof(buf) - 2, parquet_to_micros(v->v.i64, lt->unit));
				return js_put(rr, buf, len + 1) && js_put(rr, "\"", 1);
			}
			if (lt->kind == PARQUET_LT_DECIMAL)
				len = parquet_decimal_to_text(cd->type, &tmp, lt->scale, buf, sizeof(buf));
			else if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
				len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) (uint64_t) v->v.i64);
			else
				len = snprintf(buf, sizeof(buf), "%lld", (long long) v->v.i64);
			return len >= 0 && js_put(rr, buf, len);
		case PARQUET_FLOAT:
		case PARQUET_DOUBLE:
			{
				double		d = cd->type == PARQUET_FLOAT ? v->v.f : v->v.d;

				if (isnan(d))
					return js_puts(rr, "\"NaN\"");
				if (isinf(d))
					return js_puts(rr, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
				len = fmt_double(buf, sizeof(buf), d, cd->type == PARQUET_FLOAT ? 9 : 17);
				return js_put(rr, buf, len);
			}
		case PARQUET_INT96:
			{
				int64_t		us;

				if (parquet_int96_to_unix_micros(tmp.ptr, &us) != PARQUET_OK)
					return js_puts(rr, "null");
				buf[0] = '"';
				len = fmt_timestamp(buf + 1, sizeof(buf) - 2, us, true);
				return js_put(rr, buf, len + 1) && js_put(rr, "\"", 1);
			}
		case PARQUET_BYTE_ARRAY:
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			if (lt->kind == PARQUET_LT_DECIMAL)
			{
				len = parquet_decimal_to_text(cd->type, &tmp, lt->scale, buf, sizeof(buf));
				if (len < 0)
					return js_puts(rr, "null");
				return js_put(rr, buf, len);
			}
			if (lt->kind == PARQUET_LT_STRING || lt->kind == PARQUET_LT_JSON ||
				lt->kind == PARQUET_LT_ENUM ||
				(lt->kind == PARQUET_LT_NONE && cd->type == PARQUET_BYTE_ARRAY &&
				 parquet_utf8_valid(tmp.ptr, tmp.len)))
				return js_string(rr, tmp.ptr, tmp.len);
			if (lt->kind == PARQUET_LT_UUID && tmp.len == 16)
			{
				const uint8_t *u = tmp.ptr;

				len = snprintf(buf, sizeof(buf),
							   "\"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\"",
							   u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
							   u[10], u[11], u[12], u[13], u[14], u[15]);
				return js_put(rr, buf, len);
			}
			if (lt->kind == PARQUET_LT_FLOAT16 && tmp.len == 2)
			{
				double		d = half_to_double((uint16_t) (tmp.ptr[0] | (tmp.ptr[1] << 8)));

				if (isnan(d))
					return js_puts(rr, "\"NaN\"");
				if (isinf(d))
					return js_puts(rr, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
				len = fmt_double(buf, sizeof(buf), d, 9);
				return js_put(rr, buf, len);
			}
			{
				static const char hex[] = "0123456789abcdef";
				uint32_t	i;

				if (!js_puts(rr, "\"\\\\x"))
					return false;
				if (!pq_buf_reserve(&rr->r->mem, &rr->json, (size_t) tmp.len * 2 + 1))
					return false;
				for (i = 0; i < tmp.len; i++)
				{
					rr->json.data[rr->json.len++] = (uint8_t) hex[tmp.ptr[i] >> 4];
					rr->json.data[rr->json.len++] = (uint8_t) hex[tmp.ptr[i] & 15];
				}
				return js_put(rr, "\"", 1);
			}
	}
	return js_puts(rr, "null");
}

/* ---------------- assembly ---------------- */

static int
rng_push(ParquetRowReader *rr, int n)
{
	int			base = rr->rng_top;

	if (rr->rng_top + n > rr->rng_cap)
	{
		int			ncap = (rr->rng_top + n) * 2 + 16;
		Rng		   *nr = pq_realloc(&rr->r->mem, rr->rng, sizeof(Rng) * ncap);

		if (!nr)
			return -1;
		rr->rng = nr;
		rr->rng_cap = ncap;
	}
	rr->rng_top += n;
	return base;
}

static inline LeafCursor *
leaf_cursor(ParquetRowReader *rr, int node)
{
	return &rr->cursors[rr->cursor_of_col[rr->r->nodes[node].leaf_index]];
}

/* first-leaf cursor of a node (for presence checks) */
static inline LeafCursor *
first_leaf_cursor(ParquetRowReader *rr, int node)
{
	return &rr->cursors[rr->cursor_of_col[rr->node_first_leaf[node]]];
}

static ParquetStatus emit_field(ParquetRowReader *rr, int node, int base);
static ParquetStatus emit_instance(ParquetRowReader *rr, int node, int base);

#define JS(x) do { if (!(x)) return rr_nomem(rr, "JSON buffer"); } while (0)

/*
 * Iterate the instances of repeated node R whose ranges (one per leaf
 * under R) start at rng[base]; for each instance call emit_instance or,
 * when elem >= 0, emit_field(elem) on the instance's ranges.  Writes
 * "[a,b,...]" unless as_map (then the caller supplies the brackets and
 * rendering via emit_map_entry).
 */
static ParquetStatus emit_map_entry(ParquetRowReader *rr, int rnode, int base);

static ParquetStatus
emit_repeated(ParquetRowReader *rr, int rnode, int base, int elem, bool as_map)
{
	const ParquetSchemaNode *R = &rr->r->nodes[rnode];
	int			nl = rr->node_nleaves[rnode];
	LeafCursor *l0 = first_leaf_cursor(rr, rnode);
	Rng			r0 = rr->rng[base];
	int			blk;
	int			k;
	bool		first = true;
	ParquetStatus st = PARQUET_OK;

	JS(js_put(rr, as_map ? "{" : "[", 1));
	if (r0.s >= r0.e)
		return rr_fail(rr, PARQUET_ERR_CORRUPT, "empty level range");
	if (l0->def[r0.s] < R->max_def)
	{
		JS(js_put(rr, as_map ? "}" : "]", 1));
		return PARQUET_OK;
	}
	blk = rng_push(rr, nl * 2);
	if (blk < 0)
		return rr_nomem(rr, "assembly stack");
	/* cursors in the second half of the block */
	for (k = 0; k < nl; k++)
		rr->rng[blk + nl + k].s = rr->rng[base + k].s;
	while (rr->rng[blk + nl].s < rr->rng[base].e)
	{
		for (k = 0; k < nl; k++)
		{
			LeafCursor *lc = &rr->cursors[rr->cursor_of_col[rr->node_first_leaf[rnode] + k]];
			int			s = rr->rng[blk + nl + k].s;
			int			E = rr->rng[base + k].e;
			int			e;

			if (s >= E)
				return rr_fail(rr, PARQUET_ERR_CORRUPT,
							   "columns of \"%s\" disagree on the number of elements", R->name);
			for (e = s + 1; e < E && lc->rep[e] > R->max_rep; e++)
				;
			rr->rng[blk + k].s = s;
			rr->rng[blk + k].e = e;
			rr->rng[blk + nl + k].s = e;
		}
		if (!first)
			JS(js_put(rr, ",", 1));
		first = false;
		if (as_map)
			st = emit_map_entry(rr, rnode, blk);
		else if (elem >= 0)
			st = emit_field(rr, elem, blk + (rr->node_first_leaf[elem] - rr->node_first_leaf[rnode]));
		else
			st = emit_instance(rr, rnode, blk);
		if (st != PARQUET_OK)
			return st;
	}
	for (k = 1; k < nl; k++)
		if (rr->rng[blk + nl + k].s != rr->rng[base + k].e)
			return rr_fail(rr, PARQUET_ERR_CORRUPT,
						   "columns of \"%s\" disagree on the number of elements", R->name);
	rr->rng_top = blk;
	JS(js_put(rr, as_map ? "}" : "]", 1));
	return PARQUET_OK;
}

/* key: value of one MAP key_value instance */
static ParquetStatus
emit_map_entry(ParquetRowReader *rr, int rnode, int base)
{
	const ParquetSchemaNode *R = &rr->r->nodes[rnode];
	int			knode = R->children[0];
	size_t		kstart = rr->json.len;
	ParquetStatus st;

	st = emit_field(rr, knode, base);
	if (st != PARQUET_OK)
		return st;
	if (rr->json.data[kstart] != '"')
	{
		/* non-string key: quote its JSON text */
		size_t		klen = rr->json.len - kstart;

		rr->tmp.len = 0;
		if (!pq_buf_append(&rr->r->mem, &rr->tmp, rr->json.data + kstart, klen))
			return rr_nomem(rr, "JSON buffer");
		rr->json.len = kstart;
		JS(js_string(rr, rr->tmp.data, rr->tmp.len));
	}
	JS(js_put(rr, ":", 1));
	if (R->num_children < 2)
	{
		JS(js_puts(rr, "null"));
		return PARQUET_OK;
	}
	return emit_field(rr, R->children[1],
					  base + (rr->node_first_leaf[R->children[1]] - rr->node_first_leaf[rnode]));
}

/* element node of a LIST group per the spec's backward-compatibility rules */
static int
list_elem_node(ParquetRowReader *rr, int gnode, int rnode)
{
	const ParquetSchemaNode *G = &rr->r->nodes[gnode];
	const ParquetSchemaNode *R = &rr->r->nodes[rnode];
	const ParquetSchemaNode *C;
	size_t		gl;

	if (R->is_leaf || R->num_children != 1)
		return -1;				/* R itself */
	C = &rr->r->nodes[R->children[0]];
	if (C->repetition == PARQUET_REPEATED)
		return -1;
	if (strcmp(R->name, "array") == 0)
		return -1;
	gl = strlen(G->name);
	if (strlen(R->name) == gl + 6 && strncmp(R->name, G->name, gl) == 0 &&
		strcmp(R->name + gl, "_tuple") == 0)
		return -1;
	return R->children[0];
}

/* a present, non-repeated view of node (struct, list, map or leaf) */
static ParquetStatus
emit_instance(ParquetRowReader *rr, int node, int base)
{
	const ParquetSchemaNode *N = &rr->r->nodes[node];
	int			k;
	ParquetStatus st;

	if (N->is_leaf)
	{
		LeafCursor *lc = leaf_cursor(rr, node);
		Rng			r = rr->rng[base];

		if (r.s >= r.e)
			return rr_fail(rr, PARQUET_ERR_CORRUPT, "empty level range");
		if (lc->def[r.s] < N->max_def)
			JS(js_puts(rr, "null"));
		else
			JS(js_value(rr, lc, &lc->vals[r.s]));
		return PARQUET_OK;
	}
	if (N->logical.kind == PARQUET_LT_LIST && N->num_children == 1 &&
		rr->r->nodes[N->children[0]].repetition == PARQUET_REPEATED)
	{
		int			rnode = N->children[0];

		return emit_repeated(rr, rnode, base, list_elem_node(rr, node, rnode), false);
	}
	if (N->logical.kind == PARQUET_LT_MAP && N->num_children == 1 &&
		rr->r->nodes[N->children[0]].repetition == PARQUET_REPEATED &&
		!rr->r->nodes[N->children[0]].is_leaf)
		return emit_repeated(rr, N->children[0], base, -1, true);
	/* struct */
	JS(js_put(rr, "{", 1));
	for (k = 0; k < N->num_children; k++)
	{
		int			c = N->children[k];

		if (k)
			JS(js_put(rr, ",", 1));
		JS(js_string(rr, (const uint8_t *) rr->r->nodes[c].name, strlen(rr->r->nodes[c].name)));
		JS(js_put(rr, ":", 1));
		st = emit_field(rr, c, base + (rr->node_first_leaf[c] - rr->node_first_leaf[node]));
		if (st != PARQUET_OK)
			return st;
	}
	JS(js_put(rr, "}", 1));
	return PARQUET_OK;
}

/* a child field inside a present parent instance */
static ParquetStatus
emit_field(ParquetRowReader *rr, int node, int base)
{
	const ParquetSchemaNode *N = &rr->r->nodes[node];

	if (N->repetition == PARQUET_REPEATED)
		return emit_repeated(rr, node, base, -1, false);
	if (N->repetition == PARQUET_OPTIONAL)
	{
		LeafCursor *l0 = first_leaf_cursor(rr, node);
		Rng			r = rr->rng[base];

		if (r.s >= r.e)
			return rr_fail(rr, PARQUET_ERR_CORRUPT, "empty level range");
		if (l0->def[r.s] < N->max_def)
		{
			JS(js_puts(rr, "null"));
			return PARQUET_OK;
		}
	}
	return emit_instance(rr, node, base);
}

/* ---------------- open / next ---------------- */

ParquetStatus
parquet_row_reader_open(ParquetReader *r, int rg, const ParquetProjection *proj, int nproj,
						ParquetRowReader **out)
{
	PqMem	   *m = &r->mem;
	ParquetRowReader *rr;
	const ParquetRowGroupInfo *ri = parquet_reader_row_group(r, rg);
	int			i,
				k,
				nc = 0;
	ParquetStatus st;

	*out = NULL;
	if (!ri)
		return pqr_fail(r, PARQUET_ERR_INVALID, "row group %d out of range", rg);
	if (nproj < 0)
		return pqr_fail(r, PARQUET_ERR_INVALID, "negative projection size");
	for (i = 0; i < nproj; i++)
	{
		const ParquetField *f = parquet_reader_field(r, proj[i].field);

		if (!f)
			return pqr_fail(r, PARQUET_ERR_INVALID, "field %d out of range", proj[i].field);
		if (proj[i].mode == PARQUET_NESTED_ARRAY && f->kind != PARQUET_FIELD_PRIMITIVE &&
			(f->list_element_leaf < 0 || f->num_leaves != 1))
			return pqr_fail(r, PARQUET_ERR_INVALID,
							"field \"%s\" is not a list of a primitive type", f->name);
		for (k = 0; k < i; k++)
			if (proj[k].field == proj[i].field)
				return pqr_fail(r, PARQUET_ERR_INVALID, "field \"%s\" projected twice", f->name);
		nc += f->num_leaves;
	}
	rr = pq_calloc(m, sizeof(ParquetRowReader));
	if (!rr)
		return pqr_fail(r, PARQUET_ERR_NOMEM, "out of memory");
	rr->r = r;
	rr->rg = rg;
	rr->rows_left = ri->num_rows;
	rr->nproj = nproj;
	rr->proj = pq_calloc(m, sizeof(ProjField) * (nproj ? nproj : 1));
	rr->out = pq_calloc(m, sizeof(ParquetFieldValue) * (nproj ? nproj : 1));
	rr->cursors = pq_calloc(m, sizeof(LeafCursor) * (nc ? nc : 1));
	rr->cursor_of_col = pq_alloc(m, sizeof(int) * (r->ncols ? r->ncols : 1));
	rr->node_first_leaf = pq_alloc(m, sizeof(int) * r->nnodes);
	rr->node_nleaves = pq_calloc(m, sizeof(int) * r->nnodes);
	if (!rr->proj || !rr->out || !rr->cursors || !rr->cursor_of_col || !rr->node_first_leaf ||
		!rr->node_nleaves)
	{
		st = rr_nomem(rr, "row reader");
		goto fail;
	}
	for (i = 0; i < r->ncols; i++)
		rr->cursor_of_col[i] = -1;
	/* leaves of each node: DFS order makes them contiguous */
	for (i = 0; i < r->nnodes; i++)
		rr->node_first_leaf[i] = -1;
	for (i = 0; i < r->ncols; i++)
	{
		int			n = r->cols[i].node;

		while (n >= 0)
		{
			if (rr->node_first_leaf[n] < 0)
				rr->node_first_leaf[n] = i;
			rr->node_nleaves[n]++;
			n = r->nodes[n].parent;
		}
	}
	for (i = 0; i < nproj; i++)
	{
		const ParquetField *f = &r->fields[proj[i].field];

		rr->proj[i].f = f;
		rr->proj[i].mode = proj[i].mode;
		rr->proj[i].first_cursor = rr->ncursors;
		for (k = 0; k < f->num_leaves; k++)
		{
			LeafCursor *lc = &rr->cursors[rr->ncursors];
			int			col = f->first_leaf + k;

			lc->col = col;
			lc->cd = &r->cols[col];
			lc->nested = lc->cd->max_rep > 0;
			lc->offsets = lc->nested && is_bytes_type(lc->cd->type);
			rr->cursor_of_col[col] = rr->ncursors;
			rr->ncursors++;
			st = parquet_column_reader_open(r, rg, col, &lc->cr);
			if (st != PARQUET_OK)
			{
				rr->err.status = st;
				snprintf(rr->err.msg, sizeof(rr->err.msg), "%s", r->err.msg);
				goto fail;
			}
		}
	}
	*out = rr;
	return PARQUET_OK;

fail:
	pqr_fail(r, st, "%s", rr->err.msg);
	parquet_row_reader_free(rr);
	return st;
}

void
parquet_row_reader_free(ParquetRowReader *rr)
{
	PqMem	   *m;
	int			i;

	if (!rr)
		return;
	m = &rr->r->mem;
	if (rr->cursors)
	{
		for (i = 0; i < rr->ncursors; i++)
		{
			LeafCursor *lc = &rr->cursors[i];

			parquet_column_reader_free(lc->cr);
			pq_free(m, lc->def);
			pq_free(m, lc->rep);
			pq_free(m, lc->vals);
			pq_buf_free(m, &lc->bytes);
		}
	}
	pq_free(m, rr->cursors);
	pq_free(m, rr->proj);
	pq_free(m, rr->out);
	pq_free(m, rr->cursor_of_col);
	pq_free(m, rr->node_first_leaf);
	pq_free(m, rr->node_nleaves);
	pq_buf_free(m, &rr->json);
	pq_buf_free(m, &rr->elems);
	pq_buf_free(m, &rr->tmp);
	pq_free(m, rr->rng);
	pq_free(m, rr);
}

/* NESTED_ARRAY: elements of a list of primitives */
static ParquetStatus
emit_array(ParquetRowReader *rr, ProjField *pf, ParquetFieldValue *fv, size_t *elem_off)
{
	const ParquetField *f = pf->f;
	LeafCursor *lc = &rr->cursors[pf->first_cursor];
	const ParquetSchemaNode *fn = &rr->r->nodes[f->node];
	const ParquetSchemaNode *leaf = &rr->r->nodes[lc->cd->node];
	const ParquetSchemaNode *R = leaf->repetition == PARQUET_REPEATED ? leaf :
		&rr->r->nodes[leaf->parent];
	int			s = lc->row_s,
				e = lc->row_e,
				i;
	ParquetValue *ev;

	if (fn->repetition == PARQUET_OPTIONAL && lc->def[s] < fn->max_def)
	{
		fv->kind = PARQUET_FV_NULL;
		return PARQUET_OK;
	}
	fv->kind = PARQUET_FV_ARRAY;
	fv->n_elems = 0;
	*elem_off = rr->elems.len / sizeof(ParquetValue);
	if (lc->def[s] < R->max_def)
		return PARQUET_OK;		/* empty list */
	if (!pq_buf_reserve(&rr->r->mem, &rr->elems, sizeof(ParquetValue) * (size_t) (e - s)))
		return rr_nomem(rr, "array buffer");
	ev = (ParquetValue *) (rr->elems.data + rr->elems.len);
	for (i = s; i < e; i++)
	{
		ParquetValue *v = &ev[i - s];

		if (lc->def[i] == lc->cd->max_def)
		{
			*v = lc->vals[i];
			if (is_bytes_type(lc->cd->type))
				v->ptr = lc_ptr(lc, &lc->vals[i]);
			v->is_null = false;
		}
		else
		{
			memset(v, 0, sizeof(*v));
			v->is_null = true;
		}
	}
	rr->elems.len += sizeof(ParquetValue) * (size_t) (e - s);
	fv->n_elems = e - s;
	return PARQUET_OK;
}

ParquetStatus
parquet_row_reader_next(ParquetRowReader *rr, const ParquetFieldValue **row)
{
	int			i,
				k;
	ParquetStatus st;
	size_t	   *elem_off = NULL;
	size_t	   *json_off = NULL;
	size_t		offs_small[16 * 2];

	*row = NULL;
	if (rr->err.status != PARQUET_OK)
		return rr->err.status;
	if (rr->rows_left <= 0)
		return PARQUET_END;
	rr->json.len = 0;
	rr->elems.len = 0;
	rr->rng_top = 0;
	if (rr->nproj <= 16)
	{
		elem_off = offs_small;
		json_off = offs_small + 16;
	}
	else
	{
		elem_off = pq_alloc(&rr->r->mem, sizeof(size_t) * rr->nproj * 2);
		if (!elem_off)
			return rr_nomem(rr, "row");
		json_off = elem_off + rr->nproj;
	}
	for (i = 0; i < rr->nproj; i++)
	{
		ProjField  *pf = &rr->proj[i];
		ParquetFieldValue *fv = &rr->out[i];
		const ParquetField *f = pf->f;

		for (k = 0; k < f->num_leaves; k++)
		{
			st = lc_next_row(rr, &rr->cursors[pf->first_cursor + k]);
			if (st != PARQUET_OK)
				goto done;
		}
		memset(fv, 0, sizeof(*fv));
		if (f->kind == PARQUET_FIELD_PRIMITIVE)
		{
			LeafCursor *lc = &rr->cursors[pf->first_cursor];
			int			s = lc->row_s;

			if (lc->def[s] < lc->cd->max_def)
				fv->kind = PARQUET_FV_NULL;
			else
			{
				fv->kind = PARQUET_FV_SCALAR;
				fv->scalar = lc->vals[s];
				fv->scalar.is_null = false;
			}
			continue;
		}
		if (pf->mode == PARQUET_NESTED_ARRAY)
		{
			st = emit_array(rr, pf, fv, &elem_off[i]);
			if (st != PARQUET_OK)
				goto done;
			continue;
		}
		/* JSON: ranges of all leaves of the field */
		{
			int			base;
			int			fnode = f->node;

			rr->rng_top = 0;
			base = rng_push(rr, f->num_leaves);
			if (base < 0)
			{
				st = rr_nomem(rr, "assembly stack");
				goto done;
			}
			for (k = 0; k < f->num_leaves; k++)
			{
				rr->rng[base + k].s = rr->cursors[pf->first_cursor + k].row_s;
				rr->rng[base + k].e = rr->cursors[pf->first_cursor + k].row_e;
			}
			json_off[i] = rr->json.len;
			{
				const ParquetSchemaNode *N = &rr->r->nodes[fnode];
				LeafCursor *l0 = &rr->cursors[pf->first_cursor];

				if (N->repetition == PARQUET_OPTIONAL && l0->def[l0->row_s] < N->max_def)
				{
					fv->kind = PARQUET_FV_NULL;
					continue;
				}
			}
			st = emit_field(rr, fnode, base);
			if (st != PARQUET_OK)
				goto done;
			if (!pq_buf_reserve(&rr->r->mem, &rr->json, 1))
			{
				st = rr_nomem(rr, "JSON buffer");
				goto done;
			}
			rr->json.data[rr->json.len++] = '\0';
			fv->kind = PARQUET_FV_JSON;
			fv->json_len = rr->json.len - 1 - json_off[i];
		}
	}
	/* resolve buffer offsets now that the buffers stopped moving */
	for (i = 0; i < rr->nproj; i++)
	{
		ParquetFieldValue *fv = &rr->out[i];

		if (fv->kind == PARQUET_FV_JSON)
			fv->json = (const char *) rr->json.data + json_off[i];
		else if (fv->kind == PARQUET_FV_ARRAY)
		{
			static const ParquetValue none;

			fv->elems = rr->elems.data ?
				(const ParquetValue *) (rr->elems.data) + elem_off[i] : &none;
		}
	}
	rr->rows_left--;
	rr->row_no++;
	*row = rr->out;
	st = PARQUET_OK;
done:
	if (elem_off != offs_small)
		pq_free(&rr->r->mem, elem_off);
	return st;
}
