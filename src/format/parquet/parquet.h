/*-------------------------------------------------------------------------
 *
 * parquet.h
 *	  Public API of dlake's own Parquet reader and writer.
 *
 * This library is backend-free C: it never includes postgres.h, never
 * calls palloc or ereport, and allocates through a counting allocator with
 * a hard limit, so that hostile files cannot exhaust memory and the same
 * sources build as standalone unit tests and libFuzzer targets.  Every
 * failing call returns a ParquetStatus and leaves a message naming the row
 * group / column / page in the object's error buffer; the PostgreSQL glue
 * (src/format/parquet_*.c) turns it into an ereport.
 *
 * Objects:
 *	 ParquetWriter		  streaming writer on a sink callback; rows are
 *						  appended value by value; the encoded pages of one
 *						  row group are buffered and flushed when the group
 *						  closes (memory bounded by the row group size).
 *	 ParquetReader		  file metadata on a byte-range source (footer,
 *						  schema, row groups, statistics).
 *	 ParquetColumnReader  cursor over one column chunk (one leaf column of
 *						  one row group) yielding batches of entries with
 *						  definition/repetition levels.
 *	 ParquetRowReader	  row-oriented convenience cursor over projected
 *						  top-level fields of one row group; nested fields
 *						  come out as JSON text or as arrays of elements.
 *
 * Lifetime / error handling contract for the PostgreSQL glue: memory comes
 * from malloc (or the ParquetAllocFuncs given in the options), so a glue
 * caller that may ereport while an object is open must make sure the
 * object is freed (e.g. a MemoryContextCallback that calls *_free), or
 * supply allocation functions backed by a memory context.
 *
 * Threading: objects are not thread-safe; different objects are
 * independent.
 *
 * IDENTIFICATION
 *	  src/format/parquet/parquet.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_PARQUET_H
#define DLAKE_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARQUET_CREATED_BY "dlake version 0.1.0"
#define PARQUET_ERRMSG_LEN 512

/* ----------------------------------------------------------------
 * Status codes
 * ----------------------------------------------------------------
 */
typedef enum ParquetStatus
{
	PARQUET_OK = 0,
	PARQUET_END = 1,			/* no more rows / entries (not an error) */
	PARQUET_ERR_IO = 2,			/* sink or source callback failed */
	PARQUET_ERR_CORRUPT = 3,	/* malformed / truncated / hostile file */
	PARQUET_ERR_UNSUPPORTED = 4,	/* valid but unsupported (encryption,
									 * LZO, BROTLI, unknown encoding) */
	PARQUET_ERR_LIMIT = 5,		/* a configured limit was exceeded
								 * (memory, page size, footer size) */
	PARQUET_ERR_NOMEM = 6,		/* allocation failed */
	PARQUET_ERR_INVALID = 7,	/* API misuse or invalid argument */
	PARQUET_ERR_RANGE = 8		/* value does not fit the column type
								 * (decimal overflow, bad UTF-8 ...) */
} ParquetStatus;

/* short name of a status, e.g. "corrupt file" */
extern const char *parquet_status_name(ParquetStatus st);

/* ----------------------------------------------------------------
 * Format enums (numeric values are the Thrift values)
 * ----------------------------------------------------------------
 */
typedef enum ParquetPhysicalType
{
	PARQUET_BOOLEAN = 0,
	PARQUET_INT32 = 1,
	PARQUET_INT64 = 2,
	PARQUET_INT96 = 3,
	PARQUET_FLOAT = 4,
	PARQUET_DOUBLE = 5,
	PARQUET_BYTE_ARRAY = 6,
	PARQUET_FIXED_LEN_BYTE_ARRAY = 7
} ParquetPhysicalType;

typedef enum ParquetRepetition
{
	PARQUET_REQUIRED = 0,
	PARQUET_OPTIONAL = 1,
	PARQUET_REPEATED = 2
} ParquetRepetition;

typedef enum ParquetCodec
{
	PARQUET_CODEC_UNCOMPRESSED = 0,
	PARQUET_CODEC_SNAPPY = 1,
	PARQUET_CODEC_GZIP = 2,
	PARQUET_CODEC_LZO = 3,		/* read: unsupported */
	PARQUET_CODEC_BROTLI = 4,	/* read: unsupported */
	PARQUET_CODEC_LZ4 = 5,		/* read only (Hadoop framing or raw) */
	PARQUET_CODEC_ZSTD = 6,
	PARQUET_CODEC_LZ4_RAW = 7	/* read only */
} ParquetCodec;

typedef enum ParquetEncoding
{
	PARQUET_ENC_PLAIN = 0,
	PARQUET_ENC_PLAIN_DICTIONARY = 2,
	PARQUET_ENC_RLE = 3,
	PARQUET_ENC_BIT_PACKED = 4,
	PARQUET_ENC_DELTA_BINARY_PACKED = 5,
	PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	PARQUET_ENC_DELTA_BYTE_ARRAY = 7,
	PARQUET_ENC_RLE_DICTIONARY = 8,
	PARQUET_ENC_BYTE_STREAM_SPLIT = 9
} ParquetEncoding;

/* ConvertedType (legacy annotation); PARQUET_CT_NONE when absent */
typedef enum ParquetConvertedType
{
	PARQUET_CT_NONE = -1,
	PARQUET_CT_UTF8 = 0,
	PARQUET_CT_MAP = 1,
	PARQUET_CT_MAP_KEY_VALUE = 2,
	PARQUET_CT_LIST = 3,
	PARQUET_CT_ENUM = 4,
	PARQUET_CT_DECIMAL = 5,
	PARQUET_CT_DATE = 6,
	PARQUET_CT_TIME_MILLIS = 7,
	PARQUET_CT_TIME_MICROS = 8,
	PARQUET_CT_TIMESTAMP_MILLIS = 9,
	PARQUET_CT_TIMESTAMP_MICROS = 10,
	PARQUET_CT_UINT_8 = 11,
	PARQUET_CT_UINT_16 = 12,
	PARQUET_CT_UINT_32 = 13,
	PARQUET_CT_UINT_64 = 14,
	PARQUET_CT_INT_8 = 15,
	PARQUET_CT_INT_16 = 16,
	PARQUET_CT_INT_32 = 17,
	PARQUET_CT_INT_64 = 18,
	PARQUET_CT_JSON = 19,
	PARQUET_CT_BSON = 20,
	PARQUET_CT_INTERVAL = 21
} ParquetConvertedType;

/*
 * Logical type annotation.  The kind values are the LogicalType union
 * member ids, plus PARQUET_LT_INTERVAL (ConvertedType-only) and
 * PARQUET_LT_NONE.  The reader always fills this normalised form: a file
 * with only a ConvertedType gets the equivalent logical type (TIME and
 * TIMESTAMP then with utc = true, as the spec requires; UINT_x / INT_x
 * become INTEGER).  When the LogicalType and the ConvertedType disagree,
 * the ConvertedType wins (as parquet-java and Trino do).
 */
typedef enum ParquetLogicalKind
{
	PARQUET_LT_NONE = 0,
	PARQUET_LT_STRING = 1,
	PARQUET_LT_MAP = 2,
	PARQUET_LT_LIST = 3,
	PARQUET_LT_ENUM = 4,
	PARQUET_LT_DECIMAL = 5,
	PARQUET_LT_DATE = 6,
	PARQUET_LT_TIME = 7,
	PARQUET_LT_TIMESTAMP = 8,
	PARQUET_LT_INTERVAL = 9,	/* ConvertedType INTERVAL: FLBA(12) */
	PARQUET_LT_INTEGER = 10,
	PARQUET_LT_UNKNOWN = 11,	/* always-null column */
	PARQUET_LT_JSON = 12,
	PARQUET_LT_BSON = 13,
	PARQUET_LT_UUID = 14,
	PARQUET_LT_FLOAT16 = 15,
	PARQUET_LT_VARIANT = 16,
	PARQUET_LT_GEOMETRY = 17,
	PARQUET_LT_GEOGRAPHY = 18,
	PARQUET_LT_OTHER = 99		/* unknown future annotation */
} ParquetLogicalKind;

typedef enum ParquetTimeUnit
{
	PARQUET_MILLIS = 1,
	PARQUET_MICROS = 2,
	PARQUET_NANOS = 3
} ParquetTimeUnit;

typedef struct ParquetLogicalType
{
	ParquetLogicalKind kind;
	int32_t		precision;		/* DECIMAL */
	int32_t		scale;			/* DECIMAL */
	ParquetTimeUnit unit;		/* TIME, TIMESTAMP */
	bool		utc;			/* TIME, TIMESTAMP: isAdjustedToUTC */
	int32_t		bit_width;		/* INTEGER: 8, 16, 32 or 64 */
	bool		is_signed;		/* INTEGER */
} ParquetLogicalType;

/* convenience constructors */
extern ParquetLogicalType parquet_lt_none(void);
extern ParquetLogicalType parquet_lt_simple(ParquetLogicalKind kind);	/* STRING,
																		 * JSON,
																		 * DATE,
																		 * UUID,
																		 * ENUM ... */
extern ParquetLogicalType parquet_lt_decimal(int32_t precision, int32_t scale);
extern ParquetLogicalType parquet_lt_time(ParquetTimeUnit unit, bool utc);
extern ParquetLogicalType parquet_lt_timestamp(ParquetTimeUnit unit, bool utc);
extern ParquetLogicalType parquet_lt_integer(int32_t bit_width, bool is_signed);

/* ----------------------------------------------------------------
 * Values
 * ----------------------------------------------------------------
 */

/*
 * One value in its physical representation.
 *	 BOOLEAN		  b
 *	 INT32			  i32  (also DATE, TIME(MILLIS), INT(8/16/32), DECIMAL p<=9;
 *						   unsigned annotations: reinterpret as uint32_t)
 *	 INT64			  i64  (TIMESTAMP, TIME(MICROS/NANOS), DECIMAL p<=18,
 *						   UINT_64: reinterpret as uint64_t)
 *	 FLOAT / DOUBLE   f / d
 *	 INT96			  ptr -> 12 bytes, len = 12
 *	 BYTE_ARRAY		  ptr, len (ptr may be NULL when len == 0)
 *	 FLBA			  ptr, len = type_length
 * Pointers returned by readers are valid until the next call on the same
 * cursor (dictionary values: until the cursor moves to another chunk).
 * is_null is used where a value slot may be null (list elements, row
 * reader fields, writer batch calls).
 */
typedef struct ParquetValue
{
	union
	{
		bool		b;
		int32_t		i32;
		int64_t		i64;
		float		f;
		double		d;
	}			v;
	const uint8_t *ptr;
	uint32_t	len;
	bool		is_null;
} ParquetValue;

/* ----------------------------------------------------------------
 * Allocation
 * ----------------------------------------------------------------
 */

/*
 * Optional allocation hooks.  Return NULL on failure (never longjmp).  When
 * not given, malloc/realloc/free are used.  Independently of the hooks,
 * every object counts its live bytes and fails with PARQUET_ERR_LIMIT once
 * its memory_limit would be exceeded.
 */
typedef struct ParquetAllocFuncs
{
	void	   *(*alloc) (void *arg, size_t size);
	void	   *(*realloc) (void *arg, void *ptr, size_t old_size, size_t new_size);
	void		(*free) (void *arg, void *ptr, size_t size);
	void	   *arg;
} ParquetAllocFuncs;

/* ----------------------------------------------------------------
 * Key-value metadata
 * ----------------------------------------------------------------
 */
typedef struct ParquetKeyValue
{
	const char *key;
	const char *value;			/* may be NULL */
} ParquetKeyValue;

/* ================================================================
 * Writer
 * ================================================================
 */

/*
 * Sink: called with encoded bytes in file order.  Return 0 on success,
 * non-zero on failure (the writer then fails with PARQUET_ERR_IO; the
 * sink may keep its own error detail).
 */
typedef struct ParquetSink
{
	int			(*write) (void *arg, const void *buf, size_t len);
	void	   *arg;
} ParquetSink;

/*
 * One top-level column of a written file.  Two shapes:
 *	 is_list = false:  <nullable ? optional : required> <type> name;
 *	 is_list = true:   <nullable ? optional : required> group name (LIST) {
 *						 repeated group list {
 *						   <element_nullable ? optional : required> <type> element;
 *						 }
 *					   }
 * The ConvertedType written alongside the LogicalType is derived from it.
 * Names should be unique (lower-case for Athena/Trino; not enforced).
 */
typedef struct ParquetColumnSpec
{
	const char *name;
	ParquetPhysicalType type;
	int32_t		type_length;	/* FIXED_LEN_BYTE_ARRAY only */
	ParquetLogicalType logical;
	bool		nullable;
	bool		is_list;
	bool		element_nullable;	/* is_list only */
	int32_t		field_id;		/* < 0: none */
	bool		no_dictionary;	/* never dictionary-encode this column */
} ParquetColumnSpec;

typedef struct ParquetWriterOptions
{
	ParquetCodec codec;			/* default SNAPPY; UNCOMPRESSED, SNAPPY,
								 * GZIP, ZSTD allowed */
	int			compression_level;	/* zstd (default 3) / gzip (default 6);
									 * 0 = codec default */
	int64_t		row_group_bytes;	/* close a row group once its buffered
									 * encoded size reaches this (default
									 * 128 MiB) */
	int64_t		row_group_rows; /* also close after this many rows (0 =
								 * no row limit; default 0) */
	int64_t		page_bytes;		/* close a data page once its unencoded
								 * size reaches this (default 1 MiB) */
	int32_t		page_rows;		/* and after this many rows (default
								 * 20000) */
	bool		dictionary;		/* dictionary encoding (default true) */
	int64_t		dictionary_bytes;	/* fall back to PLAIN when a chunk's
									 * dictionary exceeds this (default 1
									 * MiB) */
	const char *created_by;		/* default PARQUET_CREATED_BY */
	const ParquetKeyValue *kv;	/* footer key_value_metadata (copied) */
	int			n_kv;
	size_t		memory_limit;	/* hard cap on the writer's memory; default
								 * row_group_bytes * 2 + 64 MiB */
	const ParquetAllocFuncs *alloc; /* NULL = malloc */
} ParquetWriterOptions;

typedef struct ParquetWriter ParquetWriter;

/* fill defaults */
extern void parquet_writer_options_init(ParquetWriterOptions *opts);

/*
 * Create a writer and write the leading magic to the sink.  Columns and
 * options are copied.  On failure returns the status, *out = NULL and
 * a message in errbuf (PARQUET_ERRMSG_LEN bytes).
 */
extern ParquetStatus parquet_writer_open(const ParquetSink *sink,
										 const ParquetColumnSpec *columns, int ncolumns,
										 const ParquetWriterOptions *opts,
										 ParquetWriter **out, char *errbuf);

/*
 * Row-at-a-time appending.  For each row, call exactly one write_* per
 * column (in any column order) then parquet_writer_end_row.  For list
 * columns use parquet_writer_write_list (or write_null for a NULL list).
 * write_null on a required column fails with PARQUET_ERR_INVALID.
 * BYTE_ARRAY STRING/JSON/ENUM values are validated as UTF-8
 * (PARQUET_ERR_RANGE otherwise).  FLBA values must have type_length bytes.
 */
extern ParquetStatus parquet_writer_write_null(ParquetWriter *w, int col);
extern ParquetStatus parquet_writer_write_bool(ParquetWriter *w, int col, bool v);
extern ParquetStatus parquet_writer_write_int32(ParquetWriter *w, int col, int32_t v);
extern ParquetStatus parquet_writer_write_int64(ParquetWriter *w, int col, int64_t v);
extern ParquetStatus parquet_writer_write_float(ParquetWriter *w, int col, float v);
extern ParquetStatus parquet_writer_write_double(ParquetWriter *w, int col, double v);
/* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY and INT96 (len 12) */
extern ParquetStatus parquet_writer_write_bytes(ParquetWriter *w, int col,
												const void *data, uint32_t len);
/* any type from a ParquetValue (honours is_null) */
extern ParquetStatus parquet_writer_write_value(ParquetWriter *w, int col,
												const ParquetValue *v);

/*
 * DECIMAL column from decimal text ("-123.4500", "1e3" not accepted):
 * rounds half away from zero to the column's scale, fails with
 * PARQUET_ERR_RANGE when the value exceeds the precision, and stores it
 * as INT32 / INT64 / FLBA / BYTE_ARRAY according to the column's type.
 */
extern ParquetStatus parquet_writer_write_decimal_text(ParquetWriter *w, int col,
													   const char *text);

/* list column: n elements (elems[i].is_null marks null elements); n may be 0 */
extern ParquetStatus parquet_writer_write_list(ParquetWriter *w, int col,
											   const ParquetValue *elems, int n);

/* finish the row; may close a page or flush the row group to the sink */
extern ParquetStatus parquet_writer_end_row(ParquetWriter *w);

/* close the current row group now (no-op when it is empty) */
extern ParquetStatus parquet_writer_flush_row_group(ParquetWriter *w);

/* flush the last row group, write the footer; the writer is then done */
extern ParquetStatus parquet_writer_close(ParquetWriter *w);

/* free all memory (also after errors; does not write anything) */
extern void parquet_writer_free(ParquetWriter *w);

extern const char *parquet_writer_errmsg(const ParquetWriter *w);
extern int64_t parquet_writer_num_rows(const ParquetWriter *w);	/* rows appended */
extern int64_t parquet_writer_bytes_written(const ParquetWriter *w);	/* to the sink */
extern size_t parquet_writer_memory_used(const ParquetWriter *w);

/* ================================================================
 * Reader: metadata
 * ================================================================
 */

/*
 * Byte-range source.  read_range must fill exactly len bytes at offset
 * (the library never asks outside [0, size)); return 0 on success,
 * non-zero on failure.
 */
typedef struct ParquetSource
{
	int			(*read_range) (void *arg, int64_t offset, int64_t len, void *dst);
	void	   *arg;
	int64_t		size;			/* total object size */
} ParquetSource;

typedef struct ParquetReaderOptions
{
	size_t		memory_limit;	/* hard cap on the reader's memory, shared
								 * by metadata and all its cursors
								 * (default 1 GiB) */
	int64_t		max_footer_bytes;	/* default 64 MiB */
	int64_t		max_page_bytes; /* max declared (un)compressed page size
								 * (default 256 MiB) */
	int64_t		footer_prefetch;	/* tail bytes fetched first (default 64
									 * KiB) */
	bool		verify_crc;		/* check page CRCs when present (default
								 * false) */
	const ParquetAllocFuncs *alloc; /* NULL = malloc */
} ParquetReaderOptions;

typedef struct ParquetReader ParquetReader;

/*
 * Schema node (depth-first order as in the file; node 0 is the root).
 * max_def / max_rep are the levels at this node (root: 0).
 */
typedef struct ParquetSchemaNode
{
	const char *name;
	int			parent;			/* -1 for the root */
	int			num_children;
	const int  *children;		/* node indexes */
	ParquetRepetition repetition;	/* root: REQUIRED */
	bool		is_leaf;
	ParquetPhysicalType type;	/* leaves */
	int32_t		type_length;	/* FLBA */
	ParquetLogicalType logical; /* normalised */
	ParquetConvertedType converted;	/* as in the file */
	int32_t		field_id;		/* -1 when absent */
	int			leaf_index;		/* column index for leaves, else -1 */
	int			max_def;
	int			max_rep;
} ParquetSchemaNode;

/* a leaf column (one column chunk per row group) */
typedef struct ParquetColumnDesc
{
	int			node;			/* index of the leaf in the schema nodes */
	int			field;			/* top-level field it belongs to */
	const char *name;			/* leaf name */
	const char *path;			/* dotted path, e.g. "tags.list.element" */
	int			path_len;
	const char *const *path_parts;
	ParquetPhysicalType type;
	int32_t		type_length;
	ParquetLogicalType logical;
	ParquetConvertedType converted;
	ParquetRepetition repetition;
	int			max_def;
	int			max_rep;
} ParquetColumnDesc;

/* shape of a top-level field (a child of the root) */
typedef enum ParquetFieldKind
{
	PARQUET_FIELD_PRIMITIVE,	/* one non-repeated leaf */
	PARQUET_FIELD_LIST,			/* LIST-annotated group or repeated field */
	PARQUET_FIELD_MAP,			/* MAP / MAP_KEY_VALUE group */
	PARQUET_FIELD_STRUCT		/* other group */
} ParquetFieldKind;

typedef struct ParquetField
{
	const char *name;
	int			node;			/* schema node index */
	ParquetFieldKind kind;
	int			first_leaf;		/* leaves of a field are contiguous */
	int			num_leaves;
	/*
	 * For LIST fields whose element is a primitive leaf (list of
	 * primitives, readable as a PostgreSQL array): that leaf's index, else
	 * -1.
	 */
	int			list_element_leaf;
} ParquetField;

typedef struct ParquetStatistics
{
	bool		has_null_count;
	int64_t		null_count;
	bool		has_distinct_count;
	int64_t		distinct_count;
	/*
	 * min/max as PLAIN bytes of one value (BYTE_ARRAY without length
	 * prefix).  Chosen per the spec: min_value/max_value when present;
	 * the legacy min/max only when the column's sort order is signed and
	 * the writer is trusted.  has_min_max is false for INT96, INTERVAL and
	 * undefined orders, and when a float bound is NaN.  Decode with
	 * parquet_stat_value().
	 */
	bool		has_min_max;
	const uint8_t *min;
	uint32_t	min_len;
	const uint8_t *max;
	uint32_t	max_len;
	bool		min_exact;
	bool		max_exact;
} ParquetStatistics;

typedef struct ParquetColumnChunkInfo
{
	ParquetCodec codec;
	int64_t		num_values;		/* level entries incl. nulls */
	int64_t		total_compressed_size;
	int64_t		total_uncompressed_size;
	int64_t		data_page_offset;
	int64_t		dictionary_page_offset; /* -1 when absent */
	int64_t		start;			/* byte range of the chunk: [start, */
	int64_t		length;			/* start + length) */
	uint32_t	encodings;		/* bit (1 << ParquetEncoding) */
	bool		all_dictionary; /* every data page dictionary-encoded */
	bool		has_statistics;
	ParquetStatistics stats;
} ParquetColumnChunkInfo;

typedef struct ParquetRowGroupInfo
{
	int64_t		num_rows;
	int64_t		total_byte_size;
	int64_t		total_compressed_size;
	int64_t		file_offset;
} ParquetRowGroupInfo;

extern void parquet_reader_options_init(ParquetReaderOptions *opts);

/*
 * Read the footer (tail prefetch, magic and length checks, FileMetaData
 * with limits) and build the schema tree.  Encrypted files, summary-file
 * chunks (file_path) and schema inconsistencies are rejected here.  On
 * failure *out = NULL and errbuf (PARQUET_ERRMSG_LEN bytes) has the reason.
 * The source struct is copied; its arg must outlive the reader.
 */
extern ParquetStatus parquet_reader_open(const ParquetSource *src,
										 const ParquetReaderOptions *opts,
										 ParquetReader **out, char *errbuf);
extern void parquet_reader_free(ParquetReader *r);
extern const char *parquet_reader_errmsg(const ParquetReader *r);
extern size_t parquet_reader_memory_used(const ParquetReader *r);

extern int64_t parquet_reader_num_rows(const ParquetReader *r);
extern int32_t parquet_reader_version(const ParquetReader *r);
extern const char *parquet_reader_created_by(const ParquetReader *r);	/* may be NULL */
extern int	parquet_reader_num_kv(const ParquetReader *r);
extern const ParquetKeyValue *parquet_reader_kv(const ParquetReader *r, int i);

extern int	parquet_reader_num_nodes(const ParquetReader *r);
extern const ParquetSchemaNode *parquet_reader_node(const ParquetReader *r, int i);
extern int	parquet_reader_num_columns(const ParquetReader *r);	/* leaves */
extern const ParquetColumnDesc *parquet_reader_column(const ParquetReader *r, int i);
extern int	parquet_reader_num_fields(const ParquetReader *r);	/* top level */
extern const ParquetField *parquet_reader_field(const ParquetReader *r, int i);
/* top-level field index by name (exact, or ASCII case-insensitive); -1 */
extern int	parquet_reader_find_field(const ParquetReader *r, const char *name,
									  bool case_insensitive);

extern int	parquet_reader_num_row_groups(const ParquetReader *r);
extern const ParquetRowGroupInfo *parquet_reader_row_group(const ParquetReader *r, int rg);
extern const ParquetColumnChunkInfo *parquet_reader_chunk(const ParquetReader *r,
														  int rg, int column);

/*
 * Decode one statistics bound (PLAIN bytes) of a column into a value
 * (ptr/len point into the given bytes).  PARQUET_ERR_CORRUPT when the
 * size does not match the type.
 */
extern ParquetStatus parquet_stat_value(const ParquetColumnDesc *col,
										const uint8_t *bytes, uint32_t len,
										ParquetValue *out);

/* ================================================================
 * Reader: column chunk cursor
 * ================================================================
 */
typedef struct ParquetColumnReader ParquetColumnReader;

/*
 * Open a cursor over column `column` of row group `rg`; fetches the
 * chunk's byte range from the source (only that range).
 */
extern ParquetStatus parquet_column_reader_open(ParquetReader *r, int rg, int column,
												ParquetColumnReader **out);

/*
 * Read up to max entries (level entries, i.e. values + nulls + empty-list
 * markers).  For entry i: def[i] / rep[i] are its levels (arrays may be
 * NULL when the column's max_def / max_rep is 0: levels are then all 0);
 * values[i] is set when def[i] == max_def (else values[i].is_null = true).
 * *n receives the number of entries (> 0) and PARQUET_OK is returned; at
 * the end of the chunk returns PARQUET_END with *n = 0.  A batch never
 * spans pages; byte pointers stay valid until the next call.
 */
extern ParquetStatus parquet_column_reader_read(ParquetColumnReader *cr, int max,
												int16_t *def, int16_t *rep,
												ParquetValue *values, int *n);
/*
 * Same, plus dict_idx[i] (when dict_idx != NULL): the dictionary index of
 * entry i, or -1 for nulls and values of pages not dictionary encoded.
 * Indexes refer to the chunk's one dictionary (parquet_column_reader_dict_size
 * entries), stable for the life of the cursor: callers may cache a
 * conversion per index.
 */
extern ParquetStatus parquet_column_reader_read_ex(ParquetColumnReader *cr, int max,
												   int16_t *def, int16_t *rep,
												   ParquetValue *values, int32_t *dict_idx,
												   int *n);
/* entries of the chunk's dictionary (0 before its dictionary page is read) */
extern int32_t parquet_column_reader_dict_size(const ParquetColumnReader *cr);
extern void parquet_column_reader_free(ParquetColumnReader *cr);
/* error message of the cursor's reader (names row group, column, page) */
extern const char *parquet_column_reader_errmsg(const ParquetColumnReader *cr);

/* ================================================================
 * Reader: row cursor
 * ================================================================
 */

/* how a projected nested field is returned */
typedef enum ParquetNestedMode
{
	PARQUET_NESTED_JSON,		/* JSON text (jsonb input syntax) */
	PARQUET_NESTED_ARRAY		/* LIST of primitive only: element array */
} ParquetNestedMode;

typedef struct ParquetProjection
{
	int			field;			/* top-level field index */
	ParquetNestedMode mode;		/* ignored for primitive fields */
} ParquetProjection;

typedef enum ParquetFieldValueKind
{
	PARQUET_FV_NULL,
	PARQUET_FV_SCALAR,			/* primitive field: scalar */
	PARQUET_FV_ARRAY,			/* NESTED_ARRAY: elems[0..n_elems) */
	PARQUET_FV_JSON				/* NESTED_JSON: json[0..json_len), NUL
								 * terminated */
} ParquetFieldValueKind;

typedef struct ParquetFieldValue
{
	ParquetFieldValueKind kind;
	ParquetValue scalar;
	const ParquetValue *elems;
	int			n_elems;
	const char *json;
	size_t		json_len;
} ParquetFieldValue;

typedef struct ParquetRowReader ParquetRowReader;

/*
 * Row cursor over projected top-level fields of one row group (nproj may
 * be 0: rows are then only counted).  JSON rendering of leaf values:
 * numbers as JSON numbers (DECIMAL exact; NaN/Infinity as strings),
 * strings escaped, DATE "YYYY-MM-DD", TIME "HH:MM:SS.ffffff", TIMESTAMP
 * like PostgreSQL's to_json ("2024-01-02T03:04:05.5", with "+00:00"
 * appended when UTC-adjusted), INT96 as a UTC timestamp, UUID canonical
 * text, JSON-annotated text as a JSON string, other binary as "\\x..."
 * hex; MAP as an object with the keys as text (later duplicate keys win),
 * LIST as an array, groups as objects.
 */
extern ParquetStatus parquet_row_reader_open(ParquetReader *r, int rg,
											 const ParquetProjection *proj, int nproj,
											 ParquetRowReader **out);
/*
 * Next row: PARQUET_OK with *row pointing at nproj values (valid until the
 * next call), PARQUET_END after the last row, or an error.
 */
extern ParquetStatus parquet_row_reader_next(ParquetRowReader *rr,
											 const ParquetFieldValue **row);
extern void parquet_row_reader_free(ParquetRowReader *rr);
extern const char *parquet_row_reader_errmsg(const ParquetRowReader *rr);

/* ================================================================
 * Conversion helpers (backend-free)
 * ================================================================
 */

/* days between 1970-01-01 and 2000-01-01 (PostgreSQL epoch) */
#define PARQUET_UNIX_TO_PG_DAYS 10957
#define PARQUET_UNIX_TO_PG_MICROS INT64_C(946684800000000)

/*
 * INT96 (nanos of day LE int64 + Julian day LE int32) → microseconds since
 * 1970-01-01 UTC (nanoseconds truncated).  PARQUET_ERR_RANGE when the nanos
 * are outside [0, 86400e9) or the result overflows.
 */
extern ParquetStatus parquet_int96_to_unix_micros(const uint8_t *b12, int64_t *out);
extern void parquet_unix_micros_to_int96(int64_t us, uint8_t *b12);

/* TIMESTAMP/TIME value in `unit` → microseconds (NANOS truncated toward -inf) */
extern int64_t parquet_to_micros(int64_t v, ParquetTimeUnit unit);

/*
 * Render a DECIMAL value (INT32, INT64, FLBA or BYTE_ARRAY big-endian
 * two's complement of any length up to 64 bytes) with the given scale as
 * text ("-12.30").  buf needs at least 160 bytes.  Returns the length, or
 * -1 if the value is too long.
 */
extern int	parquet_decimal_to_text(ParquetPhysicalType type, const ParquetValue *v,
									int32_t scale, char *buf, size_t buflen);

/*
 * Parse decimal text ("-123.456", leading/trailing spaces allowed) into
 * the unscaled integer at `scale` (half away from zero rounding) as 16
 * bytes big-endian two's complement.  PARQUET_ERR_RANGE when more than
 * `precision` digits result (precision <= 38); PARQUET_ERR_INVALID on bad
 * syntax (also NaN / Infinity).
 */
extern ParquetStatus parquet_decimal_from_text(const char *text, int32_t precision,
											   int32_t scale, uint8_t be16[16]);

/* minimal FLBA width for a decimal precision (1..38), e.g. 38 → 16 */
extern int	parquet_decimal_flba_width(int32_t precision);

/* check UTF-8 validity (no overlongs, no surrogates, <= U+10FFFF) */
extern bool parquet_utf8_valid(const uint8_t *s, size_t len);

#endif							/* DLAKE_PARQUET_H */
