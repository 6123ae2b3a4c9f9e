/*-------------------------------------------------------------------------
 *
 * fuzz_parquet_thrift.c
 *	  libFuzzer target for the Thrift compact decoder of Parquet metadata:
 *	  FileMetaData and PageHeader from arbitrary bytes, under the same
 *	  limits the reader uses.
 *
 * Build and run: test/fuzz/run.sh (or by hand:
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Itest/unit \
 *		  test/fuzz/fuzz_parquet_thrift.c src/format/parquet/*.c \
 *		  -lsnappy -lz -lzstd -llz4 -lm -o fuzz_parquet_thrift)
 *
 * FUZZ_SOURCES: src/format/parquet/*.c
 * FUZZ_CFLAGS: -Isrc -Itest/unit
 * FUZZ_LIBS: -lsnappy -lz -lzstd -llz4 -lm
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_parquet_thrift.c
 *
 *-------------------------------------------------------------------------
 */
#include "format/parquet/pq_internal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PqMem		mem;
	PqArena		arena;
	PqFileMeta	fm;
	PqPageHeader ph;
	ThriftDec	d;

	pq_mem_init(&mem, NULL, 64 * 1024 * 1024);
	pq_arena_init(&arena, &mem);
	tdec_init(&d, data, size, (uint32_t) size, 10 * 1000 * 1000);
	if (pq_decode_file_meta(&d, &arena, &fm))
	{
		/* touch what was decoded */
		volatile uint64_t sum = 0;

		for (uint32_t i = 0; i < fm.nschema; i++)
			sum += fm.schema[i].name.len;
		for (uint32_t g = 0; g < fm.nrow_groups; g++)
			for (uint32_t c = 0; c < fm.row_groups[g].ncolumns; c++)
			{
				PqColumnMeta *m = &fm.row_groups[g].columns[c].meta;

				for (uint32_t k = 0; k < m->npath; k++)
					sum += m->path[k].len;
				sum += m->stats.min_value.len + m->stats.max_value.len;
			}
		(void) sum;
	}
	pq_arena_free(&arena);
	if (mem.used != 0)
		__builtin_trap();		/* leak in arena accounting */

	tdec_init(&d, data, size, (uint32_t) size, 1000000);
	(void) pq_decode_page_header(&d, &ph);
	return 0;
}
