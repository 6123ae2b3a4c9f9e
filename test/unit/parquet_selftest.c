/*
 * parquet_selftest.c
 *	  Standalone unit tests for dlake's Parquet library (src/format/parquet):
 *	  Thrift codec, RLE/bit-packing, delta decoders, hand-built pages for
 *	  every encoding, writer -> reader round trips for every type and codec,
 *	  dictionary fallback, row group / page splitting, and corrupt inputs.
 *
 *	  Build and run: test/unit/run.sh  (prints "N passed, N failed").
 *	  With --write-samples DIR it also writes sample files for
 *	  test/unit/check_with_duckdb.mjs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/parquet/pq_internal.h"
#include "pq_testutil.h"

static int n_pass,
			n_fail;
static const char *cur_test;

#define CHECK(cond) do { \
	if (cond) n_pass++; \
	else { n_fail++; fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, cur_test, #cond); } \
} while (0)

#define CHECK_MSG(cond, ...) do { \
	if (cond) n_pass++; \
	else { n_fail++; fprintf(stderr, "FAIL %s:%d [%s]: %s: ", __FILE__, __LINE__, cur_test, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---------------------------------------------------------------- */

static const unsigned char golden[171] = {
	0x50, 0x41, 0x52, 0x31, 0x15, 0x00, 0x15, 0x1c, 0x15, 0x1c, 0x2c, 0x15, 0x06, 0x15, 0x00, 0x15,
	0x06, 0x15, 0x06, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x07, 0x00, 0x00, 0x00, 0x09,
	0x00, 0x00, 0x00, 0x15, 0x02, 0x19, 0x2c, 0x48, 0x06, 0x73, 0x63, 0x68, 0x65, 0x6d, 0x61, 0x15,
	0x02, 0x00, 0x15, 0x02, 0x25, 0x02, 0x18, 0x02, 0x69, 0x64, 0x00, 0x16, 0x06, 0x19, 0x1c, 0x19,
	0x1c, 0x26, 0x00, 0x1c, 0x15, 0x02, 0x19, 0x25, 0x00, 0x06, 0x19, 0x18, 0x02, 0x69, 0x64, 0x15,
	0x00, 0x16, 0x06, 0x16, 0x3e, 0x16, 0x3e, 0x26, 0x08, 0x3c, 0x18, 0x04, 0x09, 0x00, 0x00, 0x00,
	0x18, 0x04, 0x07, 0x00, 0x00, 0x00, 0x16, 0x02, 0x28, 0x04, 0x09, 0x00, 0x00, 0x00, 0x18, 0x04,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3e, 0x16, 0x06, 0x26, 0x08, 0x16, 0x3e, 0x14,
	0x00, 0x00, 0x28, 0x19, 0x78, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x31, 0x2e,
	0x30, 0x2e, 0x30, 0x20, 0x28, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x20, 0x30, 0x29, 0x19, 0x1c, 0x1c,
	0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x50, 0x41, 0x52, 0x31
};

static MemFile
memfile_from(const unsigned char *p, size_t n)
{
	MemFile		f;

	memset(&f, 0, sizeof(f));
	f.data = malloc(n ? n : 1);
	memcpy(f.data, p, n);
	f.len = f.cap = n;
	return f;
}

static ParquetReader *
open_mem(MemFile *f, ParquetStatus *st, char *err)
{
	ParquetSource src = memfile_source(f);
	ParquetReader *r = NULL;

	*st = parquet_reader_open(&src, NULL, &r, err);
	return r;
}

/* ---------------------------------------------------------------- */

static void
test_thrift(void)
{
	uint8_t		buf[16];
	const uint8_t *p;
	uint64_t	v;
	PqMem		mem;
	PqBuf		out = {0};
	ThriftEnc	e;
	ThriftDec	d;
	int			id,
				t,
				et;
	uint32_t	n;

	cur_test = "thrift";
	CHECK(pq_put_uvarint(buf, 50399) == 3 && buf[0] == 0xDF && buf[1] == 0x89 && buf[2] == 0x03);
	p = buf;
	CHECK(pq_get_uvarint(&p, buf + 3, &v) && v == 50399);
	p = buf;
	CHECK(!pq_get_uvarint(&p, buf + 2, &v));	/* truncated */

	pq_mem_init(&mem, NULL, 0);
	tenc_init(&e, &mem, &out);
	tenc_i32(&e, 1, -1);
	tenc_i64(&e, 2, INT64_MIN);
	tenc_binary(&e, 3, "abc", 3);
	tenc_i32(&e, 40, INT32_MAX);	/* long form */
	tenc_list_begin(&e, 41, TT_I32, 20);
	for (int i = 0; i < 20; i++)
		tenc_elem_i32(&e, i - 10);
	tenc_struct_begin(&e, 42);
	tenc_bool(&e, 1, true);
	tenc_struct_end(&e);
	tenc_field(&e, 32767, TT_BINARY);	/* extension field */
	buf[0] = 2;
	buf[1] = 'h';
	buf[2] = 'i';
	pq_buf_append(&mem, &out, buf, 3);
	tenc_i32(&e, 43, 7);
	tenc_stop(&e);
	CHECK(!e.failed);

	tdec_init(&d, out.data, out.len, 1000, 1000);
	CHECK(tdec_struct_begin(&d));
	CHECK(tdec_field(&d, &id, &t) && id == 1 && tdec_i32(&d, t) == -1);
	CHECK(tdec_field(&d, &id, &t) && id == 2 && tdec_i64(&d, t) == INT64_MIN);
	{
		const uint8_t *bp;
		uint32_t	bl;

		CHECK(tdec_field(&d, &id, &t) && id == 3 && tdec_binary(&d, t, &bp, &bl) && bl == 3 &&
			  memcmp(bp, "abc", 3) == 0);
	}
	CHECK(tdec_field(&d, &id, &t) && id == 40 && tdec_i32(&d, t) == INT32_MAX);
	CHECK(tdec_field(&d, &id, &t) && id == 41 && tdec_list(&d, t, &et, &n) && n == 20 && et == TT_I32);
	for (uint32_t i = 0; i < n; i++)
		CHECK(tdec_i32(&d, et) == (int32_t) i - 10);
	CHECK(tdec_field(&d, &id, &t) && id == 42);
	tdec_skip(&d, t);
	CHECK(tdec_field(&d, &id, &t) && id == 32767);
	tdec_skip(&d, t);
	CHECK(tdec_field(&d, &id, &t) && id == 43 && tdec_i32(&d, t) == 7);
	CHECK(!tdec_field(&d, &id, &t) && !d.failed);

	/* limits: string longer than the cap, list past the end, deep nesting */
	{
		uint8_t		bad1[] = {0x18, 0x7f, 'a'};
		uint8_t		bad2[] = {0x19, 0xf5, 0xff, 0xff, 0x03};
		uint8_t		deep[200];

		tdec_init(&d, bad1, sizeof(bad1), 1000, 1000);
		tdec_struct_begin(&d);
		CHECK(tdec_field(&d, &id, &t));
		tdec_skip(&d, t);
		CHECK(d.failed);
		tdec_init(&d, bad2, sizeof(bad2), 1000, 1000000);
		tdec_struct_begin(&d);
		CHECK(tdec_field(&d, &id, &t));
		tdec_skip(&d, t);
		CHECK(d.failed);
		memset(deep, 0x1c, sizeof(deep));	/* struct field, nested forever */
		tdec_init(&d, deep, sizeof(deep), 1000, 1000);
		tdec_skip(&d, TT_STRUCT);
		CHECK(d.failed);
	}
	pq_buf_free(&mem, &out);
	CHECK(mem.used == 0);
}

static void
test_golden(void)
{
	MemFile		f = memfile_from(golden, sizeof(golden));
	ParquetStatus st;
	char		err[PARQUET_ERRMSG_LEN];
	ParquetReader *r = open_mem(&f, &st, err);

	cur_test = "golden";
	CHECK_MSG(st == PARQUET_OK, "%s", err);
	if (r)
	{
		const ParquetColumnChunkInfo *ci = parquet_reader_chunk(r, 0, 0);
		ParquetColumnReader *cr;
		int16_t		def[8];
		ParquetValue v[8];
		int			n;
		ParquetValue mn,
					mx;

		CHECK(parquet_reader_num_rows(r) == 3);
		CHECK(parquet_reader_num_columns(r) == 1);
		CHECK(strcmp(parquet_reader_column(r, 0)->name, "id") == 0);
		CHECK(strcmp(parquet_reader_created_by(r), "x version 1.0.0 (build 0)") == 0);
		CHECK(ci->stats.has_min_max && ci->stats.has_null_count && ci->stats.null_count == 1);
		parquet_stat_value(parquet_reader_column(r, 0), ci->stats.min, ci->stats.min_len, &mn);
		parquet_stat_value(parquet_reader_column(r, 0), ci->stats.max, ci->stats.max_len, &mx);
		CHECK(mn.v.i32 == 7 && mx.v.i32 == 9);
		CHECK(parquet_column_reader_open(r, 0, 0, &cr) == PARQUET_OK);
		CHECK(parquet_column_reader_read(cr, 8, def, NULL, v, &n) == PARQUET_OK && n == 3);
		CHECK(def[0] == 1 && def[1] == 0 && def[2] == 1);
		CHECK(v[0].v.i32 == 7 && v[1].is_null && v[2].v.i32 == 9);
		CHECK(parquet_column_reader_read(cr, 8, def, NULL, v, &n) == PARQUET_END);
		parquet_column_reader_free(cr);
		parquet_reader_free(r);
	}
	memfile_free(&f);
}

static void
test_rle(void)
{
	PqMem		mem;
	PqBuf		out = {0};
	uint32_t	vals[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	uint32_t	got[2000];
	PqRleDec	d;

	cur_test = "rle";
	pq_mem_init(&mem, NULL, 0);
	CHECK(pq_rle_encode32(&mem, &out, vals, 8, 3));
	CHECK(out.len == 4 && out.data[0] == 0x03 && out.data[1] == 0x88 && out.data[2] == 0xC6 &&
		  out.data[3] == 0xFA);
	pq_rle_init(&d, out.data, out.len, 3);
	CHECK(pq_rle_get(&d, got, 8) && memcmp(got, vals, sizeof(vals)) == 0);
	{
		uint8_t		z[1000];

		memset(z, 0, sizeof(z));
		out.len = 0;
		CHECK(pq_rle_encode8(&mem, &out, z, 1000, 1));
		CHECK(out.len == 3 && out.data[0] == 0xD0 && out.data[1] == 0x0F && out.data[2] == 0x00);
	}
	/* legacy BIT_PACKED 0..7 width 3 = 05 39 77 */
	{
		uint8_t		bp[] = {0x05, 0x39, 0x77};
		PqBitPackedDec bd = {bp, 3, 0, 3};
		int16_t		l[8];
		int			ok = 1;

		CHECK(pq_bitpacked_get16(&bd, l, 8));
		for (int i = 0; i < 8; i++)
			ok &= l[i] == i;
		CHECK(ok);
	}
	/* random round trips at every width */
	for (int bw = 0; bw <= 32; bw++)
	{
		int			nvals = 1 + (int) (rnd() % 1999);
		int			ok = 1;

		for (int i = 0; i < nvals; i++)
		{
			uint32_t	mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);

			vals[0] = (uint32_t) rnd() & mask;
			/* mix runs and noise */
			got[i] = (rnd() % 3 == 0 && i > 0) ? got[i - 1] : vals[0];
		}
		{
			uint32_t   *src = malloc(sizeof(uint32_t) * nvals);
			uint32_t   *dst = malloc(sizeof(uint32_t) * nvals);

			memcpy(src, got, sizeof(uint32_t) * nvals);
			out.len = 0;
			CHECK(pq_rle_encode32(&mem, &out, src, nvals, bw));
			pq_rle_init(&d, out.data, out.len, bw);
			/* decode in odd-sized pieces */
			for (int pos = 0; pos < nvals;)
			{
				int			k = 1 + (int) (rnd() % 37);

				if (k > nvals - pos)
					k = nvals - pos;
				if (!pq_rle_get(&d, dst + pos, k))
				{
					ok = 0;
					break;
				}
				pos += k;
			}
			ok &= memcmp(src, dst, sizeof(uint32_t) * nvals) == 0;
			CHECK_MSG(ok, "width %d, %d values", bw, nvals);
			free(src);
			free(dst);
		}
	}
	/* truncated input fails */
	pq_rle_init(&d, (const uint8_t *) "\x03\x88", 2, 3);
	CHECK(pq_rle_get(&d, got, 2) && got[0] == 0 && got[1] == 1);	/* partial group */
	CHECK(!pq_rle_get(&d, got, 1));
	pq_rle_init(&d, (const uint8_t *) "\x10", 1, 3);
	CHECK(!pq_rle_get(&d, got, 8));
	pq_buf_free(&mem, &out);
}

static void
test_delta(void)
{
	PqMem		mem;
	PqDeltaDec	d;
	int64_t		v[16];
	uint8_t		ex1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
	uint8_t		ex2[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00,
	0xC0, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	int64_t		want2[] = {7, 5, 3, 1, 2, 3, 4, 5};

	cur_test = "delta";
	pq_mem_init(&mem, NULL, 0);
	CHECK(pq_delta_init(&d, &mem, ex1, sizeof(ex1), false));
	CHECK(pq_delta_get(&d, v, 5) && v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4 && v[4] == 5);
	CHECK(!pq_delta_get(&d, v, 1));
	pq_delta_free(&d, &mem);
	CHECK(pq_delta_end(ex1, sizeof(ex1), false) == ex1 + sizeof(ex1));
	CHECK(pq_delta_init(&d, &mem, ex2, sizeof(ex2), true));
	CHECK(pq_delta_get(&d, v, 8) && memcmp(v, want2, sizeof(want2)) == 0);
	pq_delta_free(&d, &mem);
	CHECK(pq_delta_end(ex2, sizeof(ex2), false) == ex2 + sizeof(ex2));
	/* bad headers */
	{
		uint8_t		bad[] = {0x81, 0x01, 0x04, 0x05, 0x02};

		CHECK(!pq_delta_init(&d, &mem, bad, sizeof(bad), false));
		pq_delta_free(&d, &mem);
		CHECK(pq_delta_end(bad, sizeof(bad), false) == NULL);
	}
	CHECK(mem.used == 0);
}

/* ---------------------------------------------------------------- */
/* hand-built single-column files */

typedef struct HPage
{
	int			type;			/* 0 data v1, 2 dictionary, 3 data v2 */
	int			encoding;
	int			num_values;
	const uint8_t *body;
	size_t		len;
	int			v2_def_len;
	int			v2_rep_len;
	int			v2_nulls;
	int			v2_rows;
	int			declared_uncompressed;	/* 0: len */
} HPage;

/*
 * Single leaf column file: schema root -> <rep> <type> "c" (or a 3-level
 * LIST when list != 0: optional group c (LIST) { repeated group list {
 * optional <type> element } }).
 */
static void
build_file(MemFile *f, int type, int type_length, int repetition, ParquetLogicalType lt,
		   int list, const HPage *pages, int npages, int64_t num_rows, int64_t num_values)
{
	PqMem		mem;
	PqBuf		b = {0};
	ThriftEnc	e;
	int64_t		data_off = -1,
				dict_off = -1,
				start;
	int			i;
	uint8_t		tail[8];
	ParquetConvertedType ct = pq_converted_for(&lt);

	pq_mem_init(&mem, NULL, 0);
	memset(f, 0, sizeof(*f));
	memfile_write(f, "PAR1", 4);
	start = (int64_t) f->len;
	for (i = 0; i < npages; i++)
	{
		const HPage *p = &pages[i];

		b.len = 0;
		tenc_init(&e, &mem, &b);
		tenc_i32(&e, 1, p->type);
		tenc_i32(&e, 2, p->declared_uncompressed ? p->declared_uncompressed : (int32_t) p->len);
		tenc_i32(&e, 3, (int32_t) p->len);
		if (p->type == 0)
		{
			tenc_struct_begin(&e, 5);
			tenc_i32(&e, 1, p->num_values);
			tenc_i32(&e, 2, p->encoding);
			tenc_i32(&e, 3, 3);
			tenc_i32(&e, 4, 3);
			tenc_struct_end(&e);
		}
		else if (p->type == 2)
		{
			tenc_struct_begin(&e, 7);
			tenc_i32(&e, 1, p->num_values);
			tenc_i32(&e, 2, 0);
			tenc_struct_end(&e);
		}
		else
		{
			tenc_struct_begin(&e, 8);
			tenc_i32(&e, 1, p->num_values);
			tenc_i32(&e, 2, p->v2_nulls);
			tenc_i32(&e, 3, p->v2_rows);
			tenc_i32(&e, 4, p->encoding);
			tenc_i32(&e, 5, p->v2_def_len);
			tenc_i32(&e, 6, p->v2_rep_len);
			tenc_bool(&e, 7, false);
			tenc_struct_end(&e);
		}
		tenc_stop(&e);
		if (p->type == 2 && dict_off < 0)
			dict_off = (int64_t) f->len;
		if (p->type != 2 && data_off < 0)
			data_off = (int64_t) f->len;
		memfile_write(f, b.data, b.len);
		memfile_write(f, p->body, p->len);
	}
	b.len = 0;
	tenc_init(&e, &mem, &b);
	tenc_i32(&e, 1, 1);
	tenc_list_begin(&e, 2, TT_STRUCT, list ? 4 : 2);
	tenc_struct_begin(&e, 0);
	tenc_binary(&e, 4, "schema", 6);
	tenc_i32(&e, 5, 1);
	tenc_struct_end(&e);
	if (list)
	{
		tenc_struct_begin(&e, 0);
		tenc_i32(&e, 3, 1);
		tenc_binary(&e, 4, "c", 1);
		tenc_i32(&e, 5, 1);
		tenc_i32(&e, 6, 3);
		tenc_struct_end(&e);
		tenc_struct_begin(&e, 0);
		tenc_i32(&e, 3, 2);
		tenc_binary(&e, 4, "list", 4);
		tenc_i32(&e, 5, 1);
		tenc_struct_end(&e);
	}
	tenc_struct_begin(&e, 0);
	tenc_i32(&e, 1, type);
	if (type == 7)
		tenc_i32(&e, 2, type_length);
	tenc_i32(&e, 3, repetition);
	tenc_binary(&e, 4, list ? "element" : "c", list ? 7 : 1);
	if (ct != PARQUET_CT_NONE)
		tenc_i32(&e, 6, ct);
	tenc_struct_end(&e);
	tenc_i64(&e, 3, num_rows);
	tenc_list_begin(&e, 4, TT_STRUCT, 1);
	tenc_struct_begin(&e, 0);
	tenc_list_begin(&e, 1, TT_STRUCT, 1);
	tenc_struct_begin(&e, 0);
	tenc_i64(&e, 2, 0);
	tenc_struct_begin(&e, 3);
	tenc_i32(&e, 1, type);
	tenc_list_begin(&e, 2, TT_I32, 1);
	tenc_elem_i32(&e, 0);
	tenc_list_begin(&e, 3, TT_BINARY, 1);
	tenc_elem_binary(&e, "c", 1);
	tenc_i32(&e, 4, 0);
	tenc_i64(&e, 5, num_values);
	tenc_i64(&e, 6, (int64_t) f->len - start);
	tenc_i64(&e, 7, (int64_t) f->len - start);
	tenc_i64(&e, 9, data_off);
	if (dict_off >= 0)
		tenc_i64(&e, 11, dict_off);
	tenc_struct_end(&e);
	tenc_struct_end(&e);
	tenc_i64(&e, 2, (int64_t) f->len - start);
	tenc_i64(&e, 3, num_rows);
	tenc_struct_end(&e);
	tenc_stop(&e);
	memfile_write(f, b.data, b.len);
	pq_put_le32(tail, (uint32_t) b.len);
	memcpy(tail + 4, "PAR1", 4);
	memfile_write(f, tail, 8);
	pq_buf_free(&mem, &b);
}

/* read all values of column 0 into vals (def levels in def); returns count or -1 */
static int
read_col(MemFile *f, int16_t *def, int16_t *rep, ParquetValue *vals, int max, char *err)
{
	ParquetStatus st;
	ParquetReader *r = open_mem(f, &st, err);
	ParquetColumnReader *cr;
	int			total = 0,
				n;

	memset(vals, 0, sizeof(ParquetValue) * max);
	if (!r)
		return -1;
	if (parquet_column_reader_open(r, 0, 0, &cr) != PARQUET_OK)
	{
		snprintf(err, PARQUET_ERRMSG_LEN, "%s", parquet_reader_errmsg(r));
		parquet_reader_free(r);
		return -1;
	}
	while ((st = parquet_column_reader_read(cr, max - total, def ? def + total : NULL,
											rep ? rep + total : NULL, vals + total, &n)) == PARQUET_OK)
	{
		total += n;
		if (total >= max)
			break;
	}
	if (st != PARQUET_OK && st != PARQUET_END)
	{
		snprintf(err, PARQUET_ERRMSG_LEN, "%s", parquet_column_reader_errmsg(cr));
		total = -1;
	}
	/* copy byte values so they outlive the reader */
	for (int i = 0; total > 0 && i < total; i++)
		if (!vals[i].is_null && vals[i].ptr)
		{
			uint8_t    *c = malloc(vals[i].len + 1);

			memcpy(c, vals[i].ptr, vals[i].len);
			vals[i].ptr = c;
		}
	parquet_column_reader_free(cr);
	parquet_reader_free(r);
	return total;
}

static void
free_vals(ParquetValue *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!v[i].is_null && v[i].ptr)
			free((void *) v[i].ptr);
}

static bool
bytes_eq(const ParquetValue *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->ptr, s, v->len) == 0;
}

static void
test_encodings(void)
{
	MemFile		f;
	ParquetValue v[64];
	int16_t		def[64],
				rep[64];
	char		err[PARQUET_ERRMSG_LEN] = "";
	int			n;
	ParquetLogicalType str = parquet_lt_simple(PARQUET_LT_STRING);

	cur_test = "encodings";
	/* DELTA_LENGTH_BYTE_ARRAY: Hello World Foobar ABCDEF */
	{
		uint8_t		body[] = {0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00,
			0x02, 0x00, 0x00, 0x00,
		'H', 'e', 'l', 'l', 'o', 'W', 'o', 'r', 'l', 'd', 'F', 'o', 'o', 'b', 'a', 'r',
		'A', 'B', 'C', 'D', 'E', 'F'};
		HPage		p = {0, 6, 4, body, sizeof(body)};

		build_file(&f, 6, 0, 0, str, 0, &p, 1, 4, 4);
		n = read_col(&f, NULL, NULL, v, 64, err);
		CHECK_MSG(n == 4, "%d %s", n, err);
		if (n == 4)
			CHECK(bytes_eq(&v[0], "Hello") && bytes_eq(&v[1], "World") &&
				  bytes_eq(&v[2], "Foobar") && bytes_eq(&v[3], "ABCDEF"));
		free_vals(v, n);
		memfile_free(&f);
	}
	/* DELTA_BYTE_ARRAY: axis axle babble babyhood */
	{
		/* prefixes 0,2,0,3: first 0, deltas 2,-2,3 -> min -2 (zz 3), rel 4,0,5 width 3 */
		/* suffix lengths 4,2,6,5: first 4 (zz 8), deltas -2,4,-1 -> min -2, rel 0,6,1 width 3 */
		uint8_t		body[64];
		size_t		bl = 0;
		uint8_t		pre[] = {0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00};
		uint8_t		suf[] = {0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 0x03, 0x00, 0x00, 0x00};
		uint32_t	prel[32] = {4, 0, 5},
					srel[32] = {0, 6, 1};
		PqMem		mem;
		PqBuf		tmp = {0};
		HPage		p;

		pq_mem_init(&mem, NULL, 0);
		/* pack 32 values at width 3 via the hybrid encoder's bit-packing (skip header byte) */
		memcpy(body + bl, pre, sizeof(pre));
		bl += sizeof(pre);
		pq_rle_encode32(&mem, &tmp, prel, 32, 3);
		/* 32 noisy values -> one bit-packed run of 4 groups: header byte then 12 bytes */
		memcpy(body + bl, tmp.data + 1, 12);
		bl += 12;
		memcpy(body + bl, suf, sizeof(suf));
		bl += sizeof(suf);
		tmp.len = 0;
		pq_rle_encode32(&mem, &tmp, srel, 32, 3);
		memcpy(body + bl, tmp.data + 1, 12);
		bl += 12;
		memcpy(body + bl, "axislebabbleyhood", 17);
		bl += 17;
		pq_buf_free(&mem, &tmp);
		memset(&p, 0, sizeof(p));
		p.type = 0;
		p.encoding = 7;
		p.num_values = 4;
		p.body = body;
		p.len = bl;
		build_file(&f, 6, 0, 0, str, 0, &p, 1, 4, 4);
		n = read_col(&f, NULL, NULL, v, 64, err);
		CHECK_MSG(n == 4, "%d %s", n, err);
		if (n == 4)
			CHECK(bytes_eq(&v[0], "axis") && bytes_eq(&v[1], "axle") &&
				  bytes_eq(&v[2], "babble") && bytes_eq(&v[3], "babyhood"));
		free_vals(v, n);
		memfile_free(&f);
	}
	/* BYTE_STREAM_SPLIT floats [1.5, -2.25] */
	{
		uint8_t		body[] = {0x00, 0x00, 0x00, 0x00, 0xC0, 0x10, 0x3F, 0xC0};
		HPage		p = {0, 9, 2, body, sizeof(body)};

		build_file(&f, 4, 0, 0, parquet_lt_none(), 0, &p, 1, 2, 2);
		n = read_col(&f, NULL, NULL, v, 64, err);
		CHECK_MSG(n == 2 && v[0].v.f == 1.5f && v[1].v.f == -2.25f, "%d %s", n, err);
		memfile_free(&f);
	}
	/* PLAIN booleans [T,F,T] = 05 and RLE booleans */
	{
		uint8_t		body[] = {0x05};
		uint8_t		body2[] = {0x02, 0x00, 0x00, 0x00, 0x03, 0x05};
		HPage		p = {0, 0, 3, body, sizeof(body)};
		HPage		p2 = {0, 3, 3, body2, sizeof(body2)};

		build_file(&f, 0, 0, 0, parquet_lt_none(), 0, &p, 1, 3, 3);
		n = read_col(&f, NULL, NULL, v, 64, err);
		CHECK_MSG(n == 3 && v[0].v.b && !v[1].v.b && v[2].v.b, "%s", err);
		memfile_free(&f);
		build_file(&f, 0, 0, 0, parquet_lt_none(), 0, &p2, 1, 3, 3);
		n = read_col(&f, NULL, NULL, v, 64, err);
		CHECK_MSG(n == 3 && v[0].v.b && !v[1].v.b && v[2].v.b, "%s", err);
		memfile_free(&f);
	}
	/* dictionary page + RLE_DICTIONARY [0,1] = 01 03 02, optional with a null */
	{
		uint8_t		dict[] = {3, 0, 0, 0, 'f', 'o', 'o', 3, 0, 0, 0, 'b', 'a', 'r'};
		uint8_t		data[] = {0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x01, 0x03, 0x02};
		HPage		p[2] = {{2, 0, 2, dict, sizeof(dict)}, {0, 8, 3, data, sizeof(data)}};

		build_file(&f, 6, 0, 1, str, 0, p, 2, 3, 3);
		n = read_col(&f, def, NULL, v, 64, err);
		CHECK_MSG(n == 3 && bytes_eq(&v[0], "foo") && v[1].is_null && bytes_eq(&v[2], "bar"),
				  "%d %s", n, err);
		free_vals(v, n);
		memfile_free(&f);
		/* index out of range */
		data[6] = 0x02;
		data[8] = 0x0E;
		build_file(&f, 6, 0, 1, str, 0, p, 2, 3, 3);
		n = read_col(&f, def, NULL, v, 64, err);
		CHECK_MSG(n == -1 && strstr(err, "dictionary index"), "%d %s", n, err);
		memfile_free(&f);
	}
	/* data page v2, optional INT32 [7, NULL, 9] */
	{
		uint8_t		body[] = {0x03, 0x05, 0x07, 0, 0, 0, 0x09, 0, 0, 0};
		HPage		p = {3, 0, 3, body, sizeof(body), 2, 0, 1, 3};

		build_file(&f, 1, 0, 1, parquet_lt_none(), 0, &p, 1, 3, 3);
		n = read_col(&f, def, NULL, v, 64, err);
		CHECK_MSG(n == 3 && v[0].v.i32 == 7 && v[1].is_null && v[2].v.i32 == 9, "%d %s", n, err);
		memfile_free(&f);
	}
	/* LIST levels (reference 8.2): [1,2], NULL, [], [NULL], [3,NULL,4] */
	{
		uint8_t		body[] = {0x02, 0, 0, 0, 0x03, 0xC2, 0x03, 0, 0, 0, 0x03, 0x4F, 0xEE,
			1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
		HPage		p = {0, 0, 8, body, sizeof(body)};
		ParquetStatus st;
		ParquetReader *r;

		build_file(&f, 1, 0, 1, parquet_lt_none(), 1, &p, 1, 5, 8);
		n = read_col(&f, def, rep, v, 64, err);
		CHECK_MSG(n == 8, "%d %s", n, err);
		if (n == 8)
		{
			int16_t		wd[] = {3, 3, 0, 1, 2, 3, 2, 3},
						wr[] = {0, 1, 0, 0, 0, 0, 1, 1};

			CHECK(memcmp(def, wd, sizeof(wd)) == 0 && memcmp(rep, wr, sizeof(wr)) == 0);
		}
		r = open_mem(&f, &st, err);
		CHECK_MSG(r != NULL, "%s", err);
		if (r)
		{
			const char *want[] = {"[1,2]", NULL, "[]", "[null]", "[3,null,4]"};
			int			wn[] = {2, -1, 0, 1, 3};
			ParquetProjection pj = {0, PARQUET_NESTED_JSON};
			ParquetRowReader *rr;
			const ParquetFieldValue *row;
			int			i = 0;

			CHECK(parquet_reader_field(r, 0)->kind == PARQUET_FIELD_LIST);
			CHECK(parquet_reader_field(r, 0)->list_element_leaf == 0);
			CHECK(parquet_row_reader_open(r, 0, &pj, 1, &rr) == PARQUET_OK);
			while (parquet_row_reader_next(rr, &row) == PARQUET_OK && i < 5)
			{
				if (want[i])
					CHECK_MSG(row[0].kind == PARQUET_FV_JSON && strcmp(row[0].json, want[i]) == 0,
							  "row %d: %s", i, row[0].kind == PARQUET_FV_JSON ? row[0].json : "?");
				else
					CHECK(row[0].kind == PARQUET_FV_NULL);
				i++;
			}
			CHECK(i == 5);
			parquet_row_reader_free(rr);
			pj.mode = PARQUET_NESTED_ARRAY;
			CHECK(parquet_row_reader_open(r, 0, &pj, 1, &rr) == PARQUET_OK);
			i = 0;
			while (parquet_row_reader_next(rr, &row) == PARQUET_OK && i < 5)
			{
				if (wn[i] < 0)
					CHECK(row[0].kind == PARQUET_FV_NULL);
				else
					CHECK(row[0].kind == PARQUET_FV_ARRAY && row[0].n_elems == wn[i]);
				if (i == 4 && row[0].n_elems == 3)
					CHECK(row[0].elems[0].v.i32 == 3 && row[0].elems[1].is_null &&
						  row[0].elems[2].v.i32 == 4);
				i++;
			}
			CHECK(i == 5);
			parquet_row_reader_free(rr);
			CHECK(parquet_reader_memory_used(r) < 1024 * 1024);
			parquet_reader_free(r);
		}
		free_vals(v, n > 0 ? n : 0);
		memfile_free(&f);
	}
}

/* ---------------------------------------------------------------- */
/* writer -> reader round trips */

typedef struct Col
{
	ParquetColumnSpec spec;
} Col;

static const char *const words[] = {"", "a", "héllo", "日本語", "tab\tquote\"", "zz", "emoji 😀"};

/* deterministic value for row i of column c (NULL every 7th row when nullable) */
static bool
gen_value(const ParquetColumnSpec *s, int64_t i, ParquetValue *v, uint8_t *scratch)
{
	memset(v, 0, sizeof(*v));
	if (s->nullable && i % 7 == 3)
	{
		v->is_null = true;
		return false;
	}
	switch (s->type)
	{
		case PARQUET_BOOLEAN:
			v->v.b = (i % 3) == 0;
			break;
		case PARQUET_INT32:
			/* extremes only where the logical type allows them */
			if (s->logical.kind == PARQUET_LT_NONE && i < 2)
				v->v.i32 = i == 0 ? INT32_MIN : INT32_MAX;
			else
				v->v.i32 = (int32_t) (i * 7919 % 1000) - 500;
			break;
		case PARQUET_INT64:
			if (s->logical.kind == PARQUET_LT_NONE && i < 2)
				v->v.i64 = i == 0 ? INT64_MIN : INT64_MAX;
			else
				v->v.i64 = (int64_t) i * 1000003 - 77;
			break;
		case PARQUET_FLOAT:
			v->v.f = i == 2 ? NAN : i == 4 ? -0.0f : (float) i / 4;
			break;
		case PARQUET_DOUBLE:
			v->v.d = i == 2 ? NAN : i == 5 ? INFINITY : i == 6 ? -INFINITY : (double) i * 1.25 - 3;
			break;
		case PARQUET_BYTE_ARRAY:
			{
				const char *w = words[i % 7];
				int			len = snprintf((char *) scratch, 64, "%s%lld", w, (long long) (i % 10));

				v->ptr = scratch;
				v->len = (uint32_t) len;
				break;
			}
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			for (int k = 0; k < s->type_length; k++)
				scratch[k] = (uint8_t) (i * 31 + k);
			v->ptr = scratch;
			v->len = (uint32_t) s->type_length;
			break;
		case PARQUET_INT96:
			parquet_unix_micros_to_int96((int64_t) i * 86400000000LL / 3 - 1000000, scratch);
			v->ptr = scratch;
			v->len = 12;
			break;
	}
	return true;
}

static bool
value_eq(const ParquetColumnSpec *s, const ParquetValue *a, const ParquetValue *b)
{
	if (a->is_null || b->is_null)
		return a->is_null == b->is_null;
	switch (s->type)
	{
		case PARQUET_BOOLEAN:
			return a->v.b == b->v.b;
		case PARQUET_INT32:
			return a->v.i32 == b->v.i32;
		case PARQUET_INT64:
			return a->v.i64 == b->v.i64;
		case PARQUET_FLOAT:
			return memcmp(&a->v.f, &b->v.f, 4) == 0;
		case PARQUET_DOUBLE:
			return memcmp(&a->v.d, &b->v.d, 8) == 0;
		default:
			return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
	}
}

static ParquetColumnSpec
spec(const char *name, ParquetPhysicalType t, int tl, ParquetLogicalType lt, bool nullable)
{
	ParquetColumnSpec s;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.type = t;
	s.type_length = tl;
	s.logical = lt;
	s.nullable = nullable;
	s.field_id = -1;
	return s;
}

#define NSPECS 12

static int
all_specs(ParquetColumnSpec *s)
{
	int			n = 0;

	s[n++] = spec("b", PARQUET_BOOLEAN, 0, parquet_lt_none(), true);
	s[n++] = spec("i32", PARQUET_INT32, 0, parquet_lt_none(), true);
	s[n++] = spec("i16", PARQUET_INT32, 0, parquet_lt_integer(16, true), false);
	s[n++] = spec("i64", PARQUET_INT64, 0, parquet_lt_none(), true);
	s[n++] = spec("f", PARQUET_FLOAT, 0, parquet_lt_none(), true);
	s[n++] = spec("d", PARQUET_DOUBLE, 0, parquet_lt_none(), false);
	s[n++] = spec("s", PARQUET_BYTE_ARRAY, 0, parquet_lt_simple(PARQUET_LT_STRING), true);
	s[n++] = spec("bin", PARQUET_BYTE_ARRAY, 0, parquet_lt_none(), true);
	s[n++] = spec("u", PARQUET_FIXED_LEN_BYTE_ARRAY, 16, parquet_lt_simple(PARQUET_LT_UUID), true);
	s[n++] = spec("ts", PARQUET_INT64, 0, parquet_lt_timestamp(PARQUET_MICROS, true), true);
	s[n++] = spec("dt", PARQUET_INT32, 0, parquet_lt_simple(PARQUET_LT_DATE), true);
	s[n++] = spec("i96", PARQUET_INT96, 0, parquet_lt_none(), true);
	return n;
}

/* write nrows rows of the given columns; returns status */
static ParquetStatus
write_rows(MemFile *f, const ParquetColumnSpec *specs, int ncols, int64_t nrows,
		   const ParquetWriterOptions *o, char *err, size_t *peak_mem)
{
	ParquetSink sink = memfile_sink(f);
	ParquetWriter *w;
	ParquetStatus st = parquet_writer_open(&sink, specs, ncols, o, &w, err);
	uint8_t		scratch[64];

	if (st != PARQUET_OK)
		return st;
	for (int64_t i = 0; i < nrows && st == PARQUET_OK; i++)
	{
		for (int c = 0; c < ncols && st == PARQUET_OK; c++)
		{
			ParquetValue v;

			if (specs[c].is_list)
			{
				ParquetValue el[4];
				int			ne = (int) (i % 4);

				if (specs[c].nullable && i % 5 == 1)
				{
					st = parquet_writer_write_null(w, c);
					continue;
				}
				for (int k = 0; k < ne; k++)
				{
					memset(&el[k], 0, sizeof(el[k]));
					el[k].v.i64 = i * 10 + k;
					el[k].is_null = specs[c].element_nullable && k == 1;
				}
				st = parquet_writer_write_list(w, c, el, ne);
				continue;
			}
			gen_value(&specs[c], i, &v, scratch);
			st = parquet_writer_write_value(w, c, &v);
		}
		if (st == PARQUET_OK)
			st = parquet_writer_end_row(w);
		if (peak_mem && parquet_writer_memory_used(w) > *peak_mem)
			*peak_mem = parquet_writer_memory_used(w);
	}
	if (st == PARQUET_OK)
		st = parquet_writer_close(w);
	if (st != PARQUET_OK)
		snprintf(err, PARQUET_ERRMSG_LEN, "%s", parquet_writer_errmsg(w));
	parquet_writer_free(w);
	return st;
}

/* verify every value of every column via the row reader */
static int
verify_rows(MemFile *f, const ParquetColumnSpec *specs, int ncols, int64_t nrows, char *err)
{
	ParquetStatus st;
	ParquetReader *r = open_mem(f, &st, err);
	int			bad = 0;
	int64_t		row = 0;
	uint8_t		scratch[64];
	ParquetProjection proj[NSPECS + 4];

	if (!r)
		return -1;
	if (parquet_reader_num_rows(r) != nrows || parquet_reader_num_fields(r) != ncols)
	{
		parquet_reader_free(r);
		snprintf(err, PARQUET_ERRMSG_LEN, "row/field count mismatch");
		return -1;
	}
	for (int c = 0; c < ncols; c++)
	{
		proj[c].field = c;
		proj[c].mode = specs[c].is_list ? PARQUET_NESTED_ARRAY : PARQUET_NESTED_JSON;
	}
	for (int g = 0; g < parquet_reader_num_row_groups(r); g++)
	{
		ParquetRowReader *rr;
		const ParquetFieldValue *fv;

		if (parquet_row_reader_open(r, g, proj, ncols, &rr) != PARQUET_OK)
		{
			snprintf(err, PARQUET_ERRMSG_LEN, "%s", parquet_reader_errmsg(r));
			parquet_reader_free(r);
			return -1;
		}
		while ((st = parquet_row_reader_next(rr, &fv)) == PARQUET_OK)
		{
			for (int c = 0; c < ncols; c++)
			{
				ParquetValue want;

				if (specs[c].is_list)
				{
					int			ne = (int) (row % 4);

					if (specs[c].nullable && row % 5 == 1)
						bad += fv[c].kind != PARQUET_FV_NULL;
					else if (fv[c].kind != PARQUET_FV_ARRAY || fv[c].n_elems != ne)
						bad++;
					else
						for (int k = 0; k < ne; k++)
						{
							bool		wn = specs[c].element_nullable && k == 1;

							if (fv[c].elems[k].is_null != wn ||
								(!wn && fv[c].elems[k].v.i64 != row * 10 + k))
								bad++;
						}
					continue;
				}
				gen_value(&specs[c], row, &want, scratch);
				if (want.is_null)
					bad += fv[c].kind != PARQUET_FV_NULL;
				else if (fv[c].kind != PARQUET_FV_SCALAR || !value_eq(&specs[c], &want, &fv[c].scalar))
				{
					if (bad < 5)
						fprintf(stderr, "  mismatch row %lld column %s\n", (long long) row,
								specs[c].name);
					bad++;
				}
			}
			row++;
		}
		if (st != PARQUET_END)
		{
			snprintf(err, PARQUET_ERRMSG_LEN, "%s", parquet_row_reader_errmsg(rr));
			bad++;
		}
		parquet_row_reader_free(rr);
	}
	if (row != nrows)
		bad++;
	parquet_reader_free(r);
	return bad;
}

static void
test_roundtrip(void)
{
	ParquetColumnSpec specs[NSPECS + 2];
	int			ns = all_specs(specs);
	ParquetCodec codecs[] = {PARQUET_CODEC_UNCOMPRESSED, PARQUET_CODEC_SNAPPY,
	PARQUET_CODEC_GZIP, PARQUET_CODEC_ZSTD};

	cur_test = "roundtrip";
	/* list columns */
	specs[ns] = spec("l", PARQUET_INT64, 0, parquet_lt_none(), true);
	specs[ns].is_list = true;
	specs[ns].element_nullable = true;
	ns++;
	specs[ns] = spec("lr", PARQUET_INT64, 0, parquet_lt_none(), false);
	specs[ns].is_list = true;
	ns++;
	for (int ci = 0; ci < 4; ci++)
	{
		for (int dict = 0; dict < 2; dict++)
		{
			MemFile		f;
			ParquetWriterOptions o;
			char		err[PARQUET_ERRMSG_LEN] = "";
			ParquetStatus st;
			int			bad;

			memset(&f, 0, sizeof(f));
			parquet_writer_options_init(&o);
			o.codec = codecs[ci];
			o.dictionary = dict;
			o.page_rows = 97;
			o.row_group_rows = 1000;
			st = write_rows(&f, specs, ns, 2345, &o, err, NULL);
			CHECK_MSG(st == PARQUET_OK, "codec %d: %s", codecs[ci], err);
			bad = verify_rows(&f, specs, ns, 2345, err);
			CHECK_MSG(bad == 0, "codec %d dict %d: %d bad (%s)", codecs[ci], dict, bad, err);
			{
				ParquetReader *r = open_mem(&f, &st, err);

				CHECK(r && parquet_reader_num_row_groups(r) == 3);
				if (r)
				{
					const ParquetColumnChunkInfo *ci0 = parquet_reader_chunk(r, 0, 6);	/* s */
					const ParquetColumnChunkInfo *cd = parquet_reader_chunk(r, 0, 5);	/* d */
					const ParquetColumnChunkInfo *c96 = parquet_reader_chunk(r, 0, 11);
					ParquetValue mn,
								mx;

					CHECK(strcmp(parquet_reader_created_by(r), PARQUET_CREATED_BY) == 0);
					CHECK(ci0->stats.has_min_max && ci0->stats.null_count > 0);
					CHECK(ci0->codec == codecs[ci]);
					CHECK(dict ? (ci0->encodings & (1u << PARQUET_ENC_RLE_DICTIONARY)) != 0 :
						  (ci0->encodings & (1u << PARQUET_ENC_RLE_DICTIONARY)) == 0);
					/* doubles: NaN / infinities excluded correctly */
					CHECK(cd->stats.has_min_max);
					parquet_stat_value(parquet_reader_column(r, 5), cd->stats.min, cd->stats.min_len, &mn);
					parquet_stat_value(parquet_reader_column(r, 5), cd->stats.max, cd->stats.max_len, &mx);
					CHECK(isinf(mn.v.d) && mn.v.d < 0 && isinf(mx.v.d) && mx.v.d > 0);
					CHECK(!c96->stats.has_min_max);
					parquet_reader_free(r);
				}
			}
			memfile_free(&f);
		}
	}

	/* JSON rendering of a list column and scalar stats of i32 */
	{
		MemFile		f;
		ParquetWriterOptions o;
		char		err[PARQUET_ERRMSG_LEN] = "";
		ParquetStatus st;
		ParquetReader *r;

		memset(&f, 0, sizeof(f));
		parquet_writer_options_init(&o);
		st = write_rows(&f, specs + ns - 2, 1, 6, &o, err, NULL);
		CHECK_MSG(st == PARQUET_OK, "%s", err);
		r = open_mem(&f, &st, err);
		if (r)
		{
			ParquetProjection pj = {0, PARQUET_NESTED_JSON};
			ParquetRowReader *rr;
			const ParquetFieldValue *row;
			const char *want[] = {"[]", NULL, "[20,null]", "[30,null,32]", "[]", "[50]"};
			int			i = 0;

			CHECK(parquet_row_reader_open(r, 0, &pj, 1, &rr) == PARQUET_OK);
			while (parquet_row_reader_next(rr, &row) == PARQUET_OK)
			{
				if (want[i])
					CHECK_MSG(row[0].kind == PARQUET_FV_JSON && strcmp(row[0].json, want[i]) == 0,
							  "row %d %s", i, row[0].kind == PARQUET_FV_JSON ? row[0].json : "not json");
				else
					CHECK(row[0].kind == PARQUET_FV_NULL);
				i++;
			}
			CHECK(i == 6);
			parquet_row_reader_free(rr);
			parquet_reader_free(r);
		}
		memfile_free(&f);
	}
}

static void
test_dictionary_fallback(void)
{
	MemFile		f;
	ParquetWriterOptions o;
	char		err[PARQUET_ERRMSG_LEN] = "";
	ParquetColumnSpec s = spec("s", PARQUET_BYTE_ARRAY, 0, parquet_lt_simple(PARQUET_LT_STRING), false);
	ParquetSink sink;
	ParquetWriter *w;
	ParquetStatus st;
	char		buf[64];
	ParquetReader *r;

	cur_test = "dictionary_fallback";
	memset(&f, 0, sizeof(f));
	sink = memfile_sink(&f);
	parquet_writer_options_init(&o);
	o.dictionary_bytes = 4096;
	o.page_rows = 100;
	CHECK(parquet_writer_open(&sink, &s, 1, &o, &w, err) == PARQUET_OK);
	/* first pages repetitive (dictionary pays), then all distinct */
	for (int i = 0; i < 5000; i++)
	{
		int			len = i < 300 ? snprintf(buf, sizeof(buf), "value-%d", i % 10) :
			snprintf(buf, sizeof(buf), "distinct-value-%d", i);

		st = parquet_writer_write_bytes(w, 0, buf, (uint32_t) len);
		if (st == PARQUET_OK)
			st = parquet_writer_end_row(w);
		if (st != PARQUET_OK)
			break;
	}
	CHECK(parquet_writer_close(w) == PARQUET_OK);
	parquet_writer_free(w);
	r = open_mem(&f, &st, err);
	CHECK_MSG(r != NULL, "%s", err);
	if (r)
	{
		const ParquetColumnChunkInfo *ci = parquet_reader_chunk(r, 0, 0);
		ParquetProjection pj = {0, PARQUET_NESTED_JSON};
		ParquetRowReader *rr;
		const ParquetFieldValue *row;
		int			i = 0,
					bad = 0;

		CHECK(ci->encodings & (1u << PARQUET_ENC_RLE_DICTIONARY));
		CHECK(ci->dictionary_page_offset > 0);
		CHECK(!ci->all_dictionary);
		CHECK(parquet_row_reader_open(r, 0, &pj, 1, &rr) == PARQUET_OK);
		while (parquet_row_reader_next(rr, &row) == PARQUET_OK)
		{
			int			len = i < 300 ? snprintf(buf, sizeof(buf), "value-%d", i % 10) :
				snprintf(buf, sizeof(buf), "distinct-value-%d", i);

			if (row[0].scalar.len != (uint32_t) len || memcmp(row[0].scalar.ptr, buf, len) != 0)
				bad++;
			i++;
		}
		CHECK(i == 5000 && bad == 0);
		parquet_row_reader_free(rr);

		/*
		 * parquet_column_reader_read_ex: dictionary indexes on dictionary
		 * pages (equal values, equal index; the index names the value),
		 * -1 on the PLAIN pages after the fallback
		 */
		{
			ParquetColumnReader *cr;
			ParquetValue v[64];
			int32_t		ix[64];
			int32_t		first_ix[10];
			int			n,
						dict_rows = 0,
						plain_rows = 0;

			for (int k = 0; k < 10; k++)
				first_ix[k] = -2;
			i = 0;
			bad = 0;
			CHECK(parquet_column_reader_open(r, 0, 0, &cr) == PARQUET_OK);
			while ((st = parquet_column_reader_read_ex(cr, 64, NULL, NULL, v, ix, &n)) == PARQUET_OK)
			{
				for (int k = 0; k < n; k++, i++)
				{
					if (ix[k] >= 0)
					{
						dict_rows++;
						if (ix[k] >= parquet_column_reader_dict_size(cr))
							bad++;
						if (i < 300)
						{
							if (first_ix[i % 10] == -2)
								first_ix[i % 10] = ix[k];
							else if (first_ix[i % 10] != ix[k])
								bad++;
						}
					}
					else
						plain_rows++;
				}
			}
			CHECK(st == PARQUET_END);
			CHECK_MSG(i == 5000 && bad == 0 && dict_rows >= 300 && plain_rows > 0,
					  "%d rows, %d bad, %d dictionary, %d plain", i, bad, dict_rows, plain_rows);
			for (int k = 0; k < 10; k++)
				for (int m = k + 1; m < 10; m++)
					CHECK(first_ix[k] >= 0 && first_ix[k] != first_ix[m]);
			parquet_column_reader_free(cr);
		}
		parquet_reader_free(r);
	}
	memfile_free(&f);
}

static void
test_memory_bounded(void)
{
	ParquetColumnSpec specs[NSPECS];
	int			ns = all_specs(specs);
	size_t		peak1 = 0,
				peak2 = 0;
	MemFile		f;
	ParquetWriterOptions o;
	char		err[PARQUET_ERRMSG_LEN] = "";

	cur_test = "memory_bounded";
	parquet_writer_options_init(&o);
	o.row_group_bytes = 256 * 1024;
	memset(&f, 0, sizeof(f));
	CHECK(write_rows(&f, specs, ns, 20000, &o, err, &peak1) == PARQUET_OK);
	memfile_free(&f);
	CHECK(write_rows(&f, specs, ns, 100000, &o, err, &peak2) == PARQUET_OK);
	CHECK_MSG(peak2 < peak1 * 2 && peak2 < 8 * 1024 * 1024, "peaks %zu %zu", peak1, peak2);
	{
		ParquetStatus st;
		ParquetReader *r = open_mem(&f, &st, err);

		CHECK(r && parquet_reader_num_row_groups(r) > 5);
		parquet_reader_free(r);
	}
	CHECK(verify_rows(&f, specs, ns, 100000, err) == 0);
	memfile_free(&f);
}

static void
test_writer_errors(void)
{
	MemFile		f;
	ParquetColumnSpec s[2];
	char		err[PARQUET_ERRMSG_LEN] = "";
	ParquetSink sink;
	ParquetWriter *w;

	cur_test = "writer_errors";
	memset(&f, 0, sizeof(f));
	sink = memfile_sink(&f);
	s[0] = spec("a", PARQUET_INT32, 0, parquet_lt_none(), false);
	s[1] = spec("t", PARQUET_BYTE_ARRAY, 0, parquet_lt_simple(PARQUET_LT_STRING), true);
	CHECK(parquet_writer_open(&sink, s, 2, NULL, &w, err) == PARQUET_OK);
	CHECK(parquet_writer_write_null(w, 0) == PARQUET_ERR_INVALID);
	CHECK(parquet_writer_write_int64(w, 0, 1) == PARQUET_ERR_INVALID);
	CHECK(parquet_writer_write_bytes(w, 1, "\xff\xfe", 2) == PARQUET_ERR_RANGE);
	CHECK(parquet_writer_write_int32(w, 0, 5) == PARQUET_OK);
	CHECK(parquet_writer_end_row(w) == PARQUET_ERR_INVALID);	/* t missing */
	CHECK(strstr(parquet_writer_errmsg(w), "\"t\"") != NULL);
	CHECK(parquet_writer_write_null(w, 1) == PARQUET_OK);
	CHECK(parquet_writer_end_row(w) == PARQUET_OK);
	CHECK(parquet_writer_close(w) == PARQUET_OK);
	parquet_writer_free(w);
	memfile_free(&f);
	/* bad specs */
	s[0] = spec("u", PARQUET_INT32, 0, parquet_lt_simple(PARQUET_LT_UUID), false);
	CHECK(parquet_writer_open(&sink, s, 1, NULL, &w, err) == PARQUET_ERR_INVALID && !w);
	s[0] = spec("d", PARQUET_INT32, 0, parquet_lt_decimal(12, 2), false);
	CHECK(parquet_writer_open(&sink, s, 1, NULL, &w, err) == PARQUET_ERR_INVALID);
	/* sink failure */
	f.fail_after = 100;
	s[0] = spec("a", PARQUET_INT64, 0, parquet_lt_none(), false);
	CHECK(parquet_writer_open(&sink, s, 1, NULL, &w, err) == PARQUET_OK);
	for (int i = 0; i < 1000; i++)
	{
		parquet_writer_write_int64(w, 0, i);
		parquet_writer_end_row(w);
	}
	CHECK(parquet_writer_close(w) == PARQUET_ERR_IO);
	parquet_writer_free(w);
	memfile_free(&f);
}

static void
test_decimal(void)
{
	uint8_t		be[16];
	char		buf[200];
	ParquetValue v;
	MemFile		f;
	ParquetColumnSpec s[3];
	char		err[PARQUET_ERRMSG_LEN] = "";
	ParquetSink sink;
	ParquetWriter *w;
	const char *vals[] = {"123.45", "-123.45", "0", "999999999999.99", "-0.005", "12.345"};
	const char *want[] = {"123.45", "-123.45", "0.00", "999999999999.99", "-0.01", "12.35"};

	cur_test = "decimal";
	CHECK(parquet_decimal_from_text("123.45", 5, 2, be) == PARQUET_OK);
	CHECK(be[13] == 0x00 && be[14] == 0x30 && be[15] == 0x39);
	CHECK(parquet_decimal_from_text("-123.45", 5, 2, be) == PARQUET_OK);
	CHECK(be[13] == 0xFF && be[14] == 0xCF && be[15] == 0xC7);
	CHECK(parquet_decimal_from_text("1234.5", 5, 2, be) == PARQUET_ERR_RANGE);
	CHECK(parquet_decimal_from_text("abc", 5, 2, be) == PARQUET_ERR_INVALID);
	CHECK(parquet_decimal_from_text("NaN", 5, 2, be) == PARQUET_ERR_INVALID);
	CHECK(parquet_decimal_from_text("99999999999999999999999999999.999999999", 38, 9, be) == PARQUET_OK);
	v.ptr = be;
	v.len = 16;
	CHECK(parquet_decimal_to_text(PARQUET_FIXED_LEN_BYTE_ARRAY, &v, 9, buf, sizeof(buf)) > 0 &&
		  strcmp(buf, "99999999999999999999999999999.999999999") == 0);
	CHECK(parquet_decimal_from_text("-0.000000001", 38, 9, be) == PARQUET_OK);
	CHECK(parquet_decimal_to_text(PARQUET_FIXED_LEN_BYTE_ARRAY, &v, 9, buf, sizeof(buf)) > 0 &&
		  strcmp(buf, "-0.000000001") == 0);
	v.v.i64 = -5;
	CHECK(parquet_decimal_to_text(PARQUET_INT64, &v, 3, buf, sizeof(buf)) > 0 && strcmp(buf, "-0.005") == 0);
	CHECK(parquet_decimal_flba_width(38) == 16 && parquet_decimal_flba_width(9) == 4 &&
		  parquet_decimal_flba_width(10) == 5);

	/* decimals through the writer in INT64, FLBA and INT32 */
	memset(&f, 0, sizeof(f));
	sink = memfile_sink(&f);
	s[0] = spec("a", PARQUET_INT64, 0, parquet_lt_decimal(14, 2), false);
	s[1] = spec("b", PARQUET_FIXED_LEN_BYTE_ARRAY, 6, parquet_lt_decimal(14, 2), false);
	s[2] = spec("c", PARQUET_BYTE_ARRAY, 0, parquet_lt_decimal(14, 2), false);
	CHECK(parquet_writer_open(&sink, s, 3, NULL, &w, err) == PARQUET_OK);
	for (int i = 0; i < 6; i++)
	{
		for (int c = 0; c < 3; c++)
			CHECK(parquet_writer_write_decimal_text(w, c, vals[i]) == PARQUET_OK);
		CHECK(parquet_writer_end_row(w) == PARQUET_OK);
	}
	CHECK(parquet_writer_write_decimal_text(w, 0, "1e5") == PARQUET_ERR_INVALID);
	CHECK(parquet_writer_write_decimal_text(w, 0, "1000000000000") == PARQUET_ERR_RANGE);
	CHECK(parquet_writer_close(w) == PARQUET_OK);
	parquet_writer_free(w);
	{
		ParquetStatus st;
		ParquetReader *r = open_mem(&f, &st, err);
		ParquetProjection pj[3] = {{0, 0}, {1, 0}, {2, 0}};
		ParquetRowReader *rr;
		const ParquetFieldValue *row;
		int			i = 0;

		CHECK_MSG(r != NULL, "%s", err);
		if (r)
		{
			const ParquetColumnChunkInfo *ci = parquet_reader_chunk(r, 0, 1);
			ParquetValue mn;

			CHECK(parquet_reader_column(r, 1)->logical.kind == PARQUET_LT_DECIMAL &&
				  parquet_reader_column(r, 1)->logical.precision == 14);
			CHECK(ci->stats.has_min_max);
			parquet_stat_value(parquet_reader_column(r, 1), ci->stats.min, ci->stats.min_len, &mn);
			CHECK(parquet_decimal_to_text(PARQUET_FIXED_LEN_BYTE_ARRAY, &mn, 2, buf, sizeof(buf)) > 0 &&
				  strcmp(buf, "-123.45") == 0);
			CHECK(parquet_row_reader_open(r, 0, pj, 3, &rr) == PARQUET_OK);
			while (parquet_row_reader_next(rr, &row) == PARQUET_OK)
			{
				for (int c = 0; c < 3; c++)
				{
					parquet_decimal_to_text(s[c].type, &row[c].scalar, 2, buf, sizeof(buf));
					CHECK_MSG(strcmp(buf, want[i]) == 0, "row %d col %d: %s", i, c, buf);
				}
				i++;
			}
			CHECK(i == 6);
			parquet_row_reader_free(rr);
			parquet_reader_free(r);
		}
	}
	memfile_free(&f);
}

static void
test_helpers(void)
{
	uint8_t		b[12] = {0x40, 0x8F, 0x04, 0x7B, 0x32, 0x29, 0x00, 0x00, 0x59, 0x68, 0x25, 0x00};
	int64_t		us;
	uint8_t		back[12];

	cur_test = "helpers";
	/* 2000-01-01 12:34:56.789 */
	CHECK(parquet_int96_to_unix_micros(b, &us) == PARQUET_OK && us == 946730096789000LL);
	parquet_unix_micros_to_int96(us, back);
	CHECK(memcmp(back, b, 12) == 0);
	parquet_unix_micros_to_int96(-1, back);
	CHECK(parquet_int96_to_unix_micros(back, &us) == PARQUET_OK && us == -1);
	b[7] = 0x7f;
	CHECK(parquet_int96_to_unix_micros(b, &us) == PARQUET_ERR_RANGE);
	{
		/* a Julian day whose microseconds overflow int64 (found by fuzzing) */
		uint8_t		far[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x7a, 0xe8, 0xe6, 0x0b};	/* day 199,682,170 */
		uint8_t		neg[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x80};	/* day -2^31 */

		CHECK(parquet_int96_to_unix_micros(far, &us) == PARQUET_ERR_RANGE);
		CHECK(parquet_int96_to_unix_micros(neg, &us) == PARQUET_ERR_RANGE);
	}
	CHECK(parquet_to_micros(-1, PARQUET_NANOS) == -1 && parquet_to_micros(5, PARQUET_MILLIS) == 5000);
	CHECK(parquet_utf8_valid((const uint8_t *) "héllo 日本 😀", strlen("héllo 日本 😀")));
	CHECK(!parquet_utf8_valid((const uint8_t *) "\xc0\xaf", 2));
	CHECK(!parquet_utf8_valid((const uint8_t *) "\xed\xa0\x80", 3));
	CHECK(!parquet_utf8_valid((const uint8_t *) "abc\xe6\x97", 5));
}

/* ---------------------------------------------------------------- */
/* corrupt and hostile inputs */

static ParquetStatus
open_and_read_all(MemFile *f, char *err)
{
	ParquetStatus st;
	ParquetReader *r;
	ParquetSource src = memfile_source(f);
	ParquetReaderOptions o;

	parquet_reader_options_init(&o);
	o.memory_limit = 64 * 1024 * 1024;
	o.max_page_bytes = 16 * 1024 * 1024;
	st = parquet_reader_open(&src, &o, &r, err);
	if (st != PARQUET_OK)
		return st;
	st = pq_read_everything(r, 100000, err, PARQUET_ERRMSG_LEN);
	parquet_reader_free(r);
	return st;
}

static void
test_corrupt(void)
{
	MemFile		f;
	char		err[PARQUET_ERRMSG_LEN] = "";
	ParquetStatus st;

	cur_test = "corrupt";
	/* bad tail magic */
	f = memfile_from(golden, sizeof(golden));
	f.data[170] = 'X';
	st = open_and_read_all(&f, err);
	CHECK_MSG(st == PARQUET_ERR_CORRUPT && strstr(err, "magic"), "%s", err);
	memfile_free(&f);
	/* bad head magic */
	f = memfile_from(golden, sizeof(golden));
	f.data[0] = 'X';
	CHECK(open_and_read_all(&f, err) == PARQUET_ERR_CORRUPT);
	memfile_free(&f);
	/* footer length past the start of the file */
	f = memfile_from(golden, sizeof(golden));
	pq_put_le32(f.data + 163, 100000);
	st = open_and_read_all(&f, err);
	CHECK_MSG(st == PARQUET_ERR_CORRUPT && strstr(err, "footer length"), "%s", err);
	memfile_free(&f);
	/* too small */
	f = memfile_from(golden, 8);
	CHECK(open_and_read_all(&f, err) == PARQUET_ERR_CORRUPT);
	memfile_free(&f);
	/* bad thrift in the footer */
	f = memfile_from(golden, sizeof(golden));
	f.data[36] = 0xff;
	st = open_and_read_all(&f, err);
	CHECK_MSG(st == PARQUET_ERR_CORRUPT && strstr(err, "metadata"), "%s", err);
	memfile_free(&f);
	/* truncated page: compressed size larger than the chunk */
	f = memfile_from(golden, sizeof(golden));
	f.data[9] = 0x7c;			/* compressed_page_size 14 -> 62 */
	st = open_and_read_all(&f, err);
	CHECK_MSG(st == PARQUET_ERR_CORRUPT && strstr(err, "page 1"), "%s", err);
	memfile_free(&f);
	/* huge declared uncompressed size */
	{
		uint8_t		body[] = {1, 0, 0, 0};
		HPage		p = {0, 0, 1, body, 4, 0, 0, 0, 0, 2000000000};

		build_file(&f, 1, 0, 0, parquet_lt_none(), 0, &p, 1, 1, 1);
		st = open_and_read_all(&f, err);
		CHECK_MSG(st == PARQUET_ERR_LIMIT || st == PARQUET_ERR_CORRUPT, "%d %s", st, err);
		memfile_free(&f);
	}
	/* decompression bomb: zstd data expanding beyond the declared size */
	{
		ParquetColumnSpec s = spec("a", PARQUET_INT64, 0, parquet_lt_none(), false);
		ParquetWriterOptions o;
		size_t		i;
		int			found = 0;

		parquet_writer_options_init(&o);
		o.codec = PARQUET_CODEC_ZSTD;
		o.dictionary = false;
		memset(&f, 0, sizeof(f));
		{
			ParquetSink sink = memfile_sink(&f);
			ParquetWriter *w;

			parquet_writer_open(&sink, &s, 1, &o, &w, err);
			for (i = 0; i < 10000; i++)
			{
				parquet_writer_write_int64(w, 0, 0);
				parquet_writer_end_row(w);
			}
			parquet_writer_close(w);
			parquet_writer_free(w);
		}
		/* shrink the declared uncompressed size of the first page (field 2) */
		for (i = 4; i < 12; i++)
			if (f.data[i] == 0x15 && f.data[i + 1] != 0x00 && f.data[i - 2] == 0x15)
			{
				f.data[i + 1] = 0x10;	/* 8 bytes */
				f.data[i + 2] |= 0;		/* keep varint continuation as is */
				found = 1;
				break;
			}
		st = open_and_read_all(&f, err);
		CHECK_MSG(!found || st == PARQUET_ERR_CORRUPT, "%d %s", st, err);
		memfile_free(&f);
	}
	/* random mutations of valid files: never crash, always a status */
	{
		ParquetColumnSpec specs[NSPECS + 1];
		int			ns = all_specs(specs);
		MemFile		base;
		ParquetWriterOptions o;
		int			errors = 0;

		specs[ns] = spec("l", PARQUET_INT64, 0, parquet_lt_none(), true);
		specs[ns].is_list = true;
		specs[ns].element_nullable = true;
		ns++;
		for (int codec = 0; codec < 3; codec++)
		{
			parquet_writer_options_init(&o);
			o.codec = codec == 0 ? PARQUET_CODEC_UNCOMPRESSED : codec == 1 ? PARQUET_CODEC_SNAPPY :
				PARQUET_CODEC_ZSTD;
			o.page_rows = 50;
			memset(&base, 0, sizeof(base));
			write_rows(&base, specs, ns, 300, &o, err, NULL);
			for (int it = 0; it < 700; it++)
			{
				MemFile		m = memfile_from(base.data, base.len);
				int			nmut = 1 + (int) (rnd() % 4);

				for (int k = 0; k < nmut; k++)
				{
					size_t		pos = rnd() % m.len;

					switch (rnd() % 3)
					{
						case 0:
							m.data[pos] ^= (uint8_t) (1 << (rnd() % 8));
							break;
						case 1:
							m.data[pos] = (uint8_t) rnd();
							break;
						default:
							m.data[pos] = (rnd() & 1) ? 0xff : 0x00;
					}
				}
				if (rnd() % 10 == 0)
					m.len = rnd() % m.len;
				st = open_and_read_all(&m, err);
				if (st != PARQUET_OK)
					errors++;
				CHECK(st == PARQUET_OK || st == PARQUET_ERR_CORRUPT || st == PARQUET_ERR_LIMIT ||
					  st == PARQUET_ERR_UNSUPPORTED);
				memfile_free(&m);
			}
			memfile_free(&base);
		}
		CHECK(errors > 100);
	}
}

/* ---------------------------------------------------------------- */

static void
write_samples(const char *dir)
{
	ParquetColumnSpec specs[NSPECS + 1];
	int			ns = all_specs(specs);
	const char *names[] = {"uncompressed", "snappy", "gzip", "zstd"};
	ParquetCodec codecs[] = {PARQUET_CODEC_UNCOMPRESSED, PARQUET_CODEC_SNAPPY,
	PARQUET_CODEC_GZIP, PARQUET_CODEC_ZSTD};

	specs[ns] = spec("l", PARQUET_INT64, 0, parquet_lt_none(), true);
	specs[ns].is_list = true;
	specs[ns].element_nullable = true;
	ns++;
	for (int c = 0; c < 4; c++)
	{
		for (int dict = 0; dict < 2; dict++)
		{
			MemFile		f;
			ParquetWriterOptions o;
			char		err[PARQUET_ERRMSG_LEN];
			char		path[1024];
			FILE	   *fp;

			memset(&f, 0, sizeof(f));
			parquet_writer_options_init(&o);
			o.codec = codecs[c];
			o.dictionary = dict;
			o.page_rows = 97;
			o.row_group_rows = 1000;
			if (write_rows(&f, specs, ns, 2345, &o, err, NULL) != PARQUET_OK)
			{
				fprintf(stderr, "write_samples: %s\n", err);
				exit(1);
			}
			snprintf(path, sizeof(path), "%s/sample_%s%s.parquet", dir, names[c], dict ? "_dict" : "");
			fp = fopen(path, "wb");
			if (!fp || fwrite(f.data, 1, f.len, fp) != f.len)
			{
				perror(path);
				exit(1);
			}
			fclose(fp);
			memfile_free(&f);
		}
	}
}

static void
write_blob(const char *dir, const char *sub, const char *name, const void *p, size_t n)
{
	char		path[1024];
	FILE	   *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(p, 1, n, fp) != n)
	{
		perror(path);
		exit(1);
	}
	fclose(fp);
}

/* seed one file into the three fuzz corpora (file, thrift footer, page chunk) */
static void
seed_corpora(const char *dir, const char *name, MemFile *f, int type, int shape, int codec_ix,
			 int tl)
{
	ParquetStatus st;
	char		err[PARQUET_ERRMSG_LEN];
	ParquetReader *r;
	uint32_t	flen;

	write_blob(dir, "parquet_file", name, f->data, f->len);
	flen = pq_le32(f->data + f->len - 8);
	write_blob(dir, "parquet_thrift", name, f->data + f->len - 8 - flen, flen);
	r = open_mem(f, &st, err);
	if (!r)
	{
		fprintf(stderr, "seed %s: %s\n", name, err);
		exit(1);
	}
	if (type >= 0 && parquet_reader_num_row_groups(r) > 0)
	{
		const ParquetColumnChunkInfo *ci = parquet_reader_chunk(r, 0, 0);
		uint8_t    *buf = malloc((size_t) ci->length + 2);

		buf[0] = (uint8_t) (type | (shape << 3) | (codec_ix << 5));
		buf[1] = (uint8_t) tl;
		memcpy(buf + 2, f->data + ci->start, (size_t) ci->length);
		write_blob(dir, "parquet_page", name, buf, (size_t) ci->length + 2);
		free(buf);
		/* a page header alone is also a thrift seed */
		{
			char		hn[300];

			snprintf(hn, sizeof(hn), "%s.pagehdr", name);
			write_blob(dir, "parquet_thrift", hn, f->data + ci->start,
					   ci->length < 64 ? (size_t) ci->length : 64);
		}
	}
	parquet_reader_free(r);
}

static void
write_corpus(const char *dir)
{
	const ParquetCodec codecs[] = {PARQUET_CODEC_UNCOMPRESSED, PARQUET_CODEC_SNAPPY,
	PARQUET_CODEC_GZIP, PARQUET_CODEC_ZSTD};
	const int	codec_ix[] = {0, 1, 2, 3};
	ParquetColumnSpec all[NSPECS];
	int			ns = all_specs(all);
	MemFile		f;
	char		name[64];
	char		err[PARQUET_ERRMSG_LEN];

	f = memfile_from(golden, sizeof(golden));
	seed_corpora(dir, "golden", &f, 1, 1, 0, 0);
	memfile_free(&f);
	/* single-column files for every type, shape and codec */
	for (int c = 0; c < ns; c++)
	{
		for (int k = 0; k < 4; k++)
		{
			ParquetWriterOptions o;
			ParquetColumnSpec s = all[c];
			int			shape = s.nullable ? 1 : 0;

			if (k == 3 && (s.type == PARQUET_INT64 || s.type == PARQUET_INT32))
			{
				s.is_list = true;
				s.element_nullable = true;
				s.nullable = true;
				s.logical = parquet_lt_none();
				shape = 2;
			}
			parquet_writer_options_init(&o);
			o.codec = codecs[k];
			o.dictionary = (c + k) % 2 == 0;
			o.page_rows = 13;
			memset(&f, 0, sizeof(f));
			if (s.is_list && s.type == PARQUET_INT32)
				continue;
			if (write_rows(&f, &s, 1, 40, &o, err, NULL) != PARQUET_OK)
			{
				fprintf(stderr, "corpus: %s\n", err);
				exit(1);
			}
			snprintf(name, sizeof(name), "%s_%d", s.name, k);
			seed_corpora(dir, name, &f, s.type, shape, codec_ix[k], s.type_length);
			memfile_free(&f);
		}
	}
	/* a multi-column file */
	{
		ParquetWriterOptions o;

		parquet_writer_options_init(&o);
		o.page_rows = 7;
		o.row_group_rows = 20;
		memset(&f, 0, sizeof(f));
		write_rows(&f, all, ns, 45, &o, err, NULL);
		seed_corpora(dir, "multi", &f, -1, 0, 0, 0);
		memfile_free(&f);
	}
	/* hand-built pages with the other encodings */
	{
		uint8_t		dlba[] = {0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00,
			0x02, 0x00, 0x00, 0x00, 'H', 'e', 'l', 'l', 'o', 'W', 'o', 'r', 'l', 'd',
		'F', 'o', 'o', 'b', 'a', 'r', 'A', 'B', 'C', 'D', 'E', 'F'};
		uint8_t		bss[] = {0x00, 0x00, 0x00, 0x00, 0xC0, 0x10, 0x3F, 0xC0};
		uint8_t		v2[] = {0x03, 0x05, 0x07, 0, 0, 0, 0x09, 0, 0, 0};
		uint8_t		lst[] = {0x02, 0, 0, 0, 0x03, 0xC2, 0x03, 0, 0, 0, 0x03, 0x4F, 0xEE,
		1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
		uint8_t		delta[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00,
		0xC0, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
		HPage		p1 = {0, 6, 4, dlba, sizeof(dlba)};
		HPage		p2 = {0, 9, 2, bss, sizeof(bss)};
		HPage		p3 = {3, 0, 3, v2, sizeof(v2), 2, 0, 1, 3};
		HPage		p4 = {0, 0, 8, lst, sizeof(lst)};
		HPage		p5 = {0, 5, 8, delta, sizeof(delta)};

		build_file(&f, 6, 0, 0, parquet_lt_simple(PARQUET_LT_STRING), 0, &p1, 1, 4, 4);
		seed_corpora(dir, "dlba", &f, 6, 0, 0, 0);
		memfile_free(&f);
		build_file(&f, 4, 0, 0, parquet_lt_none(), 0, &p2, 1, 2, 2);
		seed_corpora(dir, "bss", &f, 4, 0, 0, 0);
		memfile_free(&f);
		build_file(&f, 1, 0, 1, parquet_lt_none(), 0, &p3, 1, 3, 3);
		seed_corpora(dir, "v2", &f, 1, 1, 0, 0);
		memfile_free(&f);
		build_file(&f, 1, 0, 1, parquet_lt_none(), 1, &p4, 1, 5, 8);
		seed_corpora(dir, "list", &f, 1, 2, 0, 0);
		memfile_free(&f);
		build_file(&f, 2, 0, 0, parquet_lt_none(), 0, &p5, 1, 8, 8);
		seed_corpora(dir, "delta", &f, 2, 0, 0, 0);
		memfile_free(&f);
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
	{
		write_corpus(argv[2]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--write-samples") == 0)
	{
		write_samples(argv[2]);
		return 0;
	}
	test_thrift();
	test_golden();
	test_rle();
	test_delta();
	test_encodings();
	test_helpers();
	test_decimal();
	test_roundtrip();
	test_dictionary_fallback();
	test_writer_errors();
	test_memory_bounded();
	test_corrupt();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
