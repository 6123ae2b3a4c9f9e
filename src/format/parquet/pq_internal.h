/*-------------------------------------------------------------------------
 *
 * pq_internal.h
 *	  Internal helpers shared by the Parquet library files: counting
 *	  allocator, growable buffers, error buffers, little-endian access, the
 *	  Thrift compact codec, encodings, compression and metadata structs.
 *
 * Nothing here is visible to the PostgreSQL glue; it includes parquet.h
 * only.  All functions are backend-free.
 *
 * IDENTIFICATION
 *	  src/format/parquet/pq_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_PQ_INTERNAL_H
#define DLAKE_PQ_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "format/parquet/parquet.h"

#if defined(__GNUC__) || defined(__clang__)
#define PQ_LIKELY(x) __builtin_expect(!!(x), 1)
#define PQ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PQ_LIKELY(x) (x)
#define PQ_UNLIKELY(x) (x)
#define PQ_PRINTF(a, b)
#endif

/* ----------------------------------------------------------------
 * Counting allocator (mem.c)
 * ----------------------------------------------------------------
 */
typedef struct PqMem
{
	ParquetAllocFuncs funcs;
	bool		has_funcs;
	size_t		used;
	size_t		peak;
	size_t		limit;			/* 0 = unlimited */
	bool		limit_hit;		/* last failure was the limit, not the
								 * allocator */
} PqMem;

extern void pq_mem_init(PqMem *m, const ParquetAllocFuncs *funcs, size_t limit);
extern void *pq_alloc(PqMem *m, size_t size);
extern void *pq_calloc(PqMem *m, size_t size);
extern void *pq_realloc(PqMem *m, void *p, size_t size);
extern void pq_free(PqMem *m, void *p);
extern char *pq_strndup(PqMem *m, const char *s, size_t len);

/* arena: many small allocations freed together */
typedef struct PqArenaBlock PqArenaBlock;
typedef struct PqArena
{
	PqMem	   *mem;
	PqArenaBlock *head;
	char	   *cur;
	size_t		left;
} PqArena;

extern void pq_arena_init(PqArena *a, PqMem *m);
extern void *pq_arena_alloc(PqArena *a, size_t size);
extern void pq_arena_free(PqArena *a);

/* growable byte buffer */
typedef struct PqBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} PqBuf;

extern bool pq_buf_grow(PqMem *m, PqBuf *b, size_t extra);
extern void pq_buf_free(PqMem *m, PqBuf *b);

static inline bool
pq_buf_reserve(PqMem *m, PqBuf *b, size_t extra)
{
	if (PQ_LIKELY(b->cap - b->len >= extra))
		return true;
	return pq_buf_grow(m, b, extra);
}

static inline bool
pq_buf_append(PqMem *m, PqBuf *b, const void *p, size_t n)
{
	if (!pq_buf_reserve(m, b, n))
		return false;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

/* ----------------------------------------------------------------
 * Errors
 * ----------------------------------------------------------------
 */
typedef struct PqErr
{
	ParquetStatus status;
	char		msg[PARQUET_ERRMSG_LEN];
} PqErr;

/* set the error (first one wins while status != OK); returns status */
extern ParquetStatus pq_seterr(PqErr *e, ParquetStatus st, const char *fmt,...) PQ_PRINTF(3, 4);
/* status for an allocation failure of m */
extern ParquetStatus pq_nomem(PqErr *e, PqMem *m, const char *what);

/* ----------------------------------------------------------------
 * Little-endian access
 * ----------------------------------------------------------------
 */
static inline uint32_t
pq_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[3] << 24);
}

static inline uint64_t
pq_le64(const uint8_t *p)
{
	return (uint64_t) pq_le32(p) | ((uint64_t) pq_le32(p + 4) << 32);
}

static inline void
pq_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static inline void
pq_put_le64(uint8_t *p, uint64_t v)
{
	pq_put_le32(p, (uint32_t) v);
	pq_put_le32(p + 4, (uint32_t) (v >> 32));
}

static inline int
pq_bit_width(uint64_t maxval)
{
	int			w = 0;

	while (maxval)
	{
		w++;
		maxval >>= 1;
	}
	return w;
}

/* ----------------------------------------------------------------
 * Thrift compact protocol (thrift.c)
 * ----------------------------------------------------------------
 */
enum
{
	TT_STOP = 0,
	TT_TRUE = 1,
	TT_FALSE = 2,
	TT_I8 = 3,
	TT_I16 = 4,
	TT_I32 = 5,
	TT_I64 = 6,
	TT_DOUBLE = 7,
	TT_BINARY = 8,
	TT_LIST = 9,
	TT_SET = 10,
	TT_MAP = 11,
	TT_STRUCT = 12,
	TT_UUID = 13
};

#define PQ_THRIFT_MAX_DEPTH 32

typedef struct ThriftDec
{
	const uint8_t *p;
	const uint8_t *end;
	int			depth;
	bool		failed;
	const char *why;			/* static description of the first error */
	uint32_t	max_string;
	uint32_t	max_list;
	int16_t		last_id[PQ_THRIFT_MAX_DEPTH + 1];
} ThriftDec;

extern void tdec_init(ThriftDec *d, const uint8_t *p, size_t len,
					  uint32_t max_string, uint32_t max_list);
extern void tdec_fail(ThriftDec *d, const char *why);
extern bool tdec_struct_begin(ThriftDec *d);
extern void tdec_struct_end(ThriftDec *d);
/* next field of the current struct: false at STOP or on error */
extern bool tdec_field(ThriftDec *d, int *id, int *type);
extern int32_t tdec_i32(ThriftDec *d, int type);
extern int64_t tdec_i64(ThriftDec *d, int type);
extern bool tdec_bool(ThriftDec *d, int type);	/* field bool */
extern bool tdec_bool_elem(ThriftDec *d);	/* list element bool */
extern double tdec_double(ThriftDec *d, int type);
/* binary: pointer into the input; false on error or wrong type */
extern bool tdec_binary(ThriftDec *d, int type, const uint8_t **p, uint32_t *len);
/* list header: element type and size (checked against remaining bytes) */
extern bool tdec_list(ThriftDec *d, int type, int *etype, uint32_t *size);
extern void tdec_skip(ThriftDec *d, int type);
/* bytes consumed so far from the start pointer */
static inline size_t
tdec_offset(const ThriftDec *d, const uint8_t *start)
{
	return (size_t) (d->p - start);
}

typedef struct ThriftEnc
{
	PqMem	   *mem;
	PqBuf	   *out;
	bool		failed;
	int			depth;
	int16_t		last_id[PQ_THRIFT_MAX_DEPTH + 1];
} ThriftEnc;

extern void tenc_init(ThriftEnc *e, PqMem *mem, PqBuf *out);
extern void tenc_field(ThriftEnc *e, int id, int type);
extern void tenc_i32(ThriftEnc *e, int id, int32_t v);
extern void tenc_i64(ThriftEnc *e, int id, int64_t v);
extern void tenc_i16(ThriftEnc *e, int id, int16_t v);
extern void tenc_i8(ThriftEnc *e, int id, int8_t v);
extern void tenc_bool(ThriftEnc *e, int id, bool v);
extern void tenc_binary(ThriftEnc *e, int id, const void *p, size_t len);
extern void tenc_struct_begin(ThriftEnc *e, int id);	/* id 0: list element */
extern void tenc_struct_end(ThriftEnc *e);
extern void tenc_list_begin(ThriftEnc *e, int id, int etype, uint32_t n);	/* id 0: nested */
extern void tenc_elem_i32(ThriftEnc *e, int32_t v);
extern void tenc_elem_i64(ThriftEnc *e, int64_t v);
extern void tenc_elem_binary(ThriftEnc *e, const void *p, size_t len);
extern void tenc_stop(ThriftEnc *e);	/* bare STOP byte (top-level struct end) */

/* raw varint helpers */
extern size_t pq_put_uvarint(uint8_t *p, uint64_t v);
extern bool pq_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* ----------------------------------------------------------------
 * Metadata structs (metadata.c)
 * ----------------------------------------------------------------
 */
typedef struct PqBytes
{
	const uint8_t *p;
	uint32_t	len;
	bool		set;
} PqBytes;

typedef struct PqStatsRaw
{
	PqBytes		max;
	PqBytes		min;
	bool		has_null_count;
	int64_t		null_count;
	bool		has_distinct_count;
	int64_t		distinct_count;
	PqBytes		max_value;
	PqBytes		min_value;
	bool		has_is_max_exact;
	bool		is_max_exact;
	bool		has_is_min_exact;
	bool		is_min_exact;
} PqStatsRaw;

typedef struct PqColumnMeta
{
	int32_t		type;
	uint32_t	encodings;		/* bitmask */
	uint32_t	npath;
	PqBytes    *path;
	int32_t		codec;
	int64_t		num_values;
	int64_t		total_uncompressed_size;
	int64_t		total_compressed_size;
	int64_t		data_page_offset;
	bool		has_dictionary_page_offset;
	int64_t		dictionary_page_offset;
	bool		has_statistics;
	PqStatsRaw	stats;
	bool		has_encoding_stats;
	uint32_t	data_page_encodings;	/* bitmask of data page encodings */
} PqColumnMeta;

typedef struct PqColumnChunk
{
	bool		has_file_path;
	bool		has_meta;
	bool		encrypted;
	PqColumnMeta meta;
} PqColumnChunk;

typedef struct PqRowGroup
{
	uint32_t	ncolumns;
	PqColumnChunk *columns;
	int64_t		total_byte_size;
	int64_t		num_rows;
	bool		has_file_offset;
	int64_t		file_offset;
	bool		has_total_compressed_size;
	int64_t		total_compressed_size;
} PqRowGroup;

typedef struct PqSchemaElem
{
	bool		has_type;
	int32_t		type;
	int32_t		type_length;
	bool		has_repetition;
	int32_t		repetition;
	PqBytes		name;
	bool		has_num_children;
	int32_t		num_children;
	bool		has_converted;
	int32_t		converted;
	int32_t		scale;
	int32_t		precision;
	bool		has_field_id;
	int32_t		field_id;
	bool		has_logical;
	ParquetLogicalType logical;
} PqSchemaElem;

typedef struct PqKV
{
	PqBytes		key;
	PqBytes		value;
} PqKV;

typedef struct PqFileMeta
{
	int32_t		version;
	uint32_t	nschema;
	PqSchemaElem *schema;
	int64_t		num_rows;
	uint32_t	nrow_groups;
	PqRowGroup *row_groups;
	uint32_t	nkv;
	PqKV	   *kv;
	PqBytes		created_by;
	bool		has_column_orders;
	bool		encrypted;
} PqFileMeta;

typedef struct PqPageHeader
{
	int32_t		type;
	int32_t		uncompressed_size;
	int32_t		compressed_size;
	bool		has_crc;
	int32_t		crc;
	bool		has_data;
	int32_t		num_values;
	int32_t		encoding;
	int32_t		def_encoding;
	int32_t		rep_encoding;
	bool		has_dict;
	int32_t		dict_num_values;
	int32_t		dict_encoding;
	bool		has_v2;
	int32_t		v2_num_nulls;
	int32_t		v2_num_rows;
	int32_t		v2_def_len;
	int32_t		v2_rep_len;
	bool		v2_is_compressed;
} PqPageHeader;

/* decode; the arena receives the arrays; strings point into the input */
extern bool pq_decode_file_meta(ThriftDec *d, PqArena *a, PqFileMeta *fm);
extern bool pq_decode_page_header(ThriftDec *d, PqPageHeader *ph);

/* page type ids */
#define PQ_PAGE_DATA 0
#define PQ_PAGE_INDEX 1
#define PQ_PAGE_DICTIONARY 2
#define PQ_PAGE_DATA_V2 3

/* ----------------------------------------------------------------
 * Encodings (encoding.c)
 * ----------------------------------------------------------------
 */

/* RLE / bit-packed hybrid decoder */
typedef struct PqRleDec
{
	const uint8_t *p;
	const uint8_t *end;
	int			bw;
	uint32_t	rle_left;		/* values left in the current RLE run */
	uint32_t	rle_value;
	uint32_t	bp_left;		/* values left in the current bit-packed run */
	const uint8_t *bp;			/* next bit-packed group */
	uint32_t	grp[8];			/* unpacked current group */
	int			grp_pos;		/* next index in grp (8 = empty) */
	bool		failed;
} PqRleDec;

extern void pq_rle_init(PqRleDec *d, const uint8_t *p, size_t len, int bw);
/* decode n values; false on truncated / malformed input */
extern bool pq_rle_get(PqRleDec *d, uint32_t *out, int n);
extern bool pq_rle_get16(PqRleDec *d, int16_t *out, int n);

/* legacy BIT_PACKED levels (MSB first) */
typedef struct PqBitPackedDec
{
	const uint8_t *p;
	size_t		len;
	uint64_t	bitpos;
	int			bw;
} PqBitPackedDec;
extern bool pq_bitpacked_get16(PqBitPackedDec *d, int16_t *out, int n);

/* encode n values at width bw (no length prefix), appended to out */
extern bool pq_rle_encode32(PqMem *m, PqBuf *out, const uint32_t *v, size_t n, int bw);
extern bool pq_rle_encode8(PqMem *m, PqBuf *out, const uint8_t *v, size_t n, int bw);

/* DELTA_BINARY_PACKED streaming decoder */
typedef struct PqDeltaDec
{
	const uint8_t *p;
	const uint8_t *end;
	bool		is64;
	uint32_t	block_size;
	uint32_t	miniblocks;
	uint32_t	per_mini;
	uint64_t	total;			/* values left to return */
	uint64_t	last;			/* last value (wrapping arithmetic) */
	bool		first_pending;	/* first value not returned yet */
	uint64_t	min_delta;
	uint8_t		widths[256];
	uint32_t	mini_idx;		/* current miniblock within block */
	uint32_t	buf_pos;
	uint32_t	buf_len;
	uint64_t   *buf;			/* per_mini deltas, allocated */
	bool		failed;
} PqDeltaDec;

extern bool pq_delta_init(PqDeltaDec *d, PqMem *m, const uint8_t *p, size_t len, bool is64);
extern bool pq_delta_get(PqDeltaDec *d, int64_t *out, int n);
extern void pq_delta_free(PqDeltaDec *d, PqMem *m);
/* end of the encoded stream (walks block headers without decoding) */
extern const uint8_t *pq_delta_end(const uint8_t *p, size_t len, bool is64);

/* ----------------------------------------------------------------
 * Compression (compress.c)
 * ----------------------------------------------------------------
 */
/* max compressed size for n input bytes */
extern size_t pq_compress_bound(ParquetCodec codec, size_t n);
/* compress into out (capacity from pq_compress_bound); *outlen receives size */
extern ParquetStatus pq_compress(ParquetCodec codec, int level, const uint8_t *in, size_t n,
								 uint8_t *out, size_t *outlen, PqErr *err);
/* decompress exactly outlen bytes (error if the data yields another size) */
extern ParquetStatus pq_decompress(ParquetCodec codec, const uint8_t *in, size_t n,
								   uint8_t *out, size_t outlen, PqErr *err);
extern const char *pq_codec_name(int codec);
extern const char *pq_encoding_name(int enc);
extern const char *pq_type_name(int type);

/* ----------------------------------------------------------------
 * Misc (util.c)
 * ----------------------------------------------------------------
 */
extern ParquetConvertedType pq_converted_for(const ParquetLogicalType *lt);
extern bool pq_logical_from_converted(int ct, int32_t scale, int32_t precision,
									  ParquetLogicalType *out);
extern uint32_t pq_crc32(const uint8_t *p, size_t n);

#endif							/* DLAKE_PQ_INTERNAL_H */
