/*-------------------------------------------------------------------------
 *
 * fuzz_parquet_file.c
 *	  libFuzzer target for the whole Parquet reader: footer, schema, every
 *	  column chunk through the column cursor and every row through the row
 *	  reader (JSON and array modes), with a small memory limit so that
 *	  declared sizes cannot make it allocate much.
 *
 * FUZZ_SOURCES: src/format/parquet/*.c
 * FUZZ_CFLAGS: -Isrc -Itest/unit
 * FUZZ_LIBS: -lsnappy -lz -lzstd -llz4 -lm
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_parquet_file.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "format/parquet/parquet.h"
#include "pq_testutil.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MemFile		f;
	ParquetSource src;
	ParquetReaderOptions o;
	ParquetReader *r;
	char		err[PARQUET_ERRMSG_LEN];

	memset(&f, 0, sizeof(f));
	f.data = (unsigned char *) data;
	f.len = f.cap = size;
	src = memfile_source(&f);
	parquet_reader_options_init(&o);
	o.memory_limit = 32 * 1024 * 1024;
	o.max_page_bytes = 4 * 1024 * 1024;
	if (parquet_reader_open(&src, &o, &r, err) != PARQUET_OK)
		return 0;
	(void) pq_read_everything(r, 5000, err, sizeof(err));
	if (parquet_reader_memory_used(r) > o.memory_limit)
		__builtin_trap();
	parquet_reader_free(r);
	return 0;
}
