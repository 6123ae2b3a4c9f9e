/*-------------------------------------------------------------------------
 *
 * fuzz_parquet_page.c
 *	  libFuzzer target for page decoding: the input (after two config
 *	  bytes) is used as the bytes of one column chunk - page headers,
 *	  dictionary and data pages v1/v2, every encoding and codec - of a
 *	  synthetic one-column file whose physical type, shape (required,
 *	  optional, list) and codec come from the config bytes.  This reaches
 *	  the page and value decoders directly without having to get a valid
 *	  footer through the fuzzer first.
 *
 *	  byte 0: bits 0-2 physical type, bits 3-4 shape (0 required,
 *			  1 optional, 2 list of optional, 3 required list of required),
 *			  bits 5-7 codec (UNCOMPRESSED SNAPPY GZIP ZSTD LZ4_RAW LZ4
 *			  UNCOMPRESSED SNAPPY)
 *	  byte 1: FIXED_LEN_BYTE_ARRAY length (0 means 16)
 *
 * FUZZ_SOURCES: src/format/parquet/*.c
 * FUZZ_CFLAGS: -Isrc -Itest/unit
 * FUZZ_LIBS: -lsnappy -lz -lzstd -llz4 -lm
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_parquet_page.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "format/parquet/pq_internal.h"
#include "pq_testutil.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int codecs[8] = {0, 1, 2, 6, 7, 5, 0, 1};

/* wrap chunk bytes into a file: PAR1 chunk footer len PAR1 */
static void
build(MemFile *f, int type, int tl, int shape, int codec, const uint8_t *chunk, size_t n,
	  int64_t num_values)
{
	PqMem		mem;
	PqBuf		b = {0};
	ThriftEnc	e;
	uint8_t		tail[8];
	bool		list = shape >= 2;

	pq_mem_init(&mem, NULL, 0);
	memfile_write(f, "PAR1", 4);
	memfile_write(f, chunk, n);
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
		tenc_i32(&e, 3, shape == 2 ? 1 : 0);
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
		tenc_i32(&e, 2, tl);
	tenc_i32(&e, 3, shape == 1 || shape == 2 ? 1 : 0);
	tenc_binary(&e, 4, "c", 1);
	if (type == 6)
		tenc_i32(&e, 6, 0);		/* UTF8 */
	tenc_struct_end(&e);
	tenc_i64(&e, 3, num_values);
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
	tenc_i32(&e, 4, codec);
	tenc_i64(&e, 5, num_values);
	tenc_i64(&e, 6, (int64_t) n);
	tenc_i64(&e, 7, (int64_t) n);
	tenc_i64(&e, 9, 4);
	tenc_struct_end(&e);
	tenc_struct_end(&e);
	tenc_i64(&e, 2, (int64_t) n);
	tenc_i64(&e, 3, num_values);
	tenc_struct_end(&e);
	tenc_stop(&e);
	memfile_write(f, b.data, b.len);
	pq_put_le32(tail, (uint32_t) b.len);
	memcpy(tail + 4, "PAR1", 4);
	memfile_write(f, tail, 8);
	pq_buf_free(&mem, &b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MemFile		f;
	ParquetSource src;
	ParquetReaderOptions o;
	ParquetReader *r;
	char		err[PARQUET_ERRMSG_LEN];
	int			type,
				shape,
				codec,
				tl;

	if (size < 3)
		return 0;
	type = data[0] & 7;
	shape = (data[0] >> 3) & 3;
	codec = codecs[data[0] >> 5];
	tl = data[1] ? data[1] : 16;
	memset(&f, 0, sizeof(f));
	/* num_rows: a bound for the row reader; 1000 keeps runs short */
	build(&f, type, tl, shape, codec, data + 2, size - 2, 1000);
	src = memfile_source(&f);
	parquet_reader_options_init(&o);
	o.memory_limit = 32 * 1024 * 1024;
	o.max_page_bytes = 4 * 1024 * 1024;
	if (parquet_reader_open(&src, &o, &r, err) == PARQUET_OK)
	{
		(void) pq_read_everything(r, 1000, err, sizeof(err));
		parquet_reader_free(r);
	}
	memfile_free(&f);
	return 0;
}
