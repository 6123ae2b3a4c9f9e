/*-------------------------------------------------------------------------
 *
 * pq_reader.h
 *	  Reader-side structs shared by reader.c (metadata, column cursor) and
 *	  rowreader.c (row assembly).
 *
 * IDENTIFICATION
 *	  src/format/parquet/pq_reader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_PQ_READER_H
#define DLAKE_PQ_READER_H

#include "format/parquet/pq_internal.h"

struct ParquetReader
{
	PqMem		mem;
	PqErr		err;
	ParquetSource src;
	ParquetReaderOptions opts;
	uint8_t    *footer;			/* buffer holding the FileMetaData bytes */
	size_t		footer_len;
	int64_t		footer_start;	/* file offset of FileMetaData */
	PqArena		arena;
	PqFileMeta	fm;
	int			nnodes;
	ParquetSchemaNode *nodes;
	int			ncols;
	ParquetColumnDesc *cols;
	int			nfields;
	ParquetField *fields;
	ParquetRowGroupInfo *rgs;
	ParquetColumnChunkInfo *chunks; /* nrow_groups x ncols */
	ParquetKeyValue *kv;
	char	   *created_by;
};

typedef enum
{
	LEVELS_NONE = 0,
	LEVELS_RLE,
	LEVELS_BITPACKED
} LevelMode;

typedef struct LevelDec
{
	LevelMode	mode;
	PqRleDec	rle;
	PqBitPackedDec bp;
} LevelDec;

struct ParquetColumnReader
{
	ParquetReader *r;
	PqErr		err;
	int			rg;
	int			col;
	const ParquetColumnDesc *cd;
	const ParquetColumnChunkInfo *ci;
	uint8_t    *chunk;			/* the whole column chunk */
	int64_t		chunk_len;
	int64_t		pos;			/* next page header */
	int			page_no;		/* 1-based number of the current page */
	int			data_pages;
	/* dictionary */
	ParquetValue *dict;
	int32_t		dict_n;
	uint8_t    *dict_data;
	/* current data page */
	uint8_t    *pagebuf;
	size_t		pagebuf_cap;
	int32_t		page_left;		/* entries left */
	LevelDec	repd;
	LevelDec	defd;
	int			enc;
	const uint8_t *vp;
	const uint8_t *vend;
	uint64_t	bitpos;			/* PLAIN booleans */
	PqRleDec	vrle;			/* dictionary indexes / RLE booleans */
	PqDeltaDec	delta;
	PqDeltaDec	lens;
	PqDeltaDec	prefixes;
	const uint8_t *bytes_p;
	PqBuf		prev;			/* DELTA_BYTE_ARRAY previous value */
	PqBuf		outbuf;			/* materialised values of one batch */
	uint64_t	bss_n;
	uint64_t	bss_i;
	/* scratch */
	int			tmp_cap;
	int16_t    *tmpdef;
	uint32_t   *tmpidx;
	int64_t    *tmp64;
};

extern ParquetStatus pqr_fail(ParquetReader *r, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);
extern ParquetStatus pqc_fail(ParquetColumnReader *cr, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);

#endif							/* DLAKE_PQ_READER_H */
