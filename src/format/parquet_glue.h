/*-------------------------------------------------------------------------
 *
 * parquet_glue.h
 *	  Shared by parquet_types.c (type mapping and value conversion between
 *	  PostgreSQL and Parquet) and parquet_glue.c (the format.h reader and
 *	  writer over the backend-free library in src/format/parquet/).
 *
 * IDENTIFICATION
 *	  src/format/parquet_glue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_PARQUET_GLUE_H
#define DLAKE_PARQUET_GLUE_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/numeric.h"
#include "format/parquet/parquet.h"

/* how the writer turns one PostgreSQL value into Parquet */
typedef enum PqWriteKind
{
	PW_BOOL,
	PW_INT2,
	PW_INT4,
	PW_INT8,
	PW_FLOAT4,
	PW_FLOAT8,
	PW_NUMERIC,
	PW_TEXT,					/* text, varchar, bpchar: bytes as stored */
	PW_NAME,
	PW_BYTEA,
	PW_DATE,
	PW_TIMESTAMP,
	PW_TIMESTAMPTZ,
	PW_TIME,
	PW_UUID,
	PW_JSON,
	PW_JSONB,
	PW_OTHER					/* output function → STRING */
} PqWriteKind;

typedef struct PqWriteCol
{
	int			attr;			/* tupdesc index */
	Oid			typid;			/* scalar type (element type for lists) */
	PqWriteKind kind;
	bool		is_list;
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	FmgrInfo	outfn;			/* PW_OTHER, PW_NUMERIC */
	int32		precision;		/* PW_NUMERIC */
	int32		scale;
} PqWriteCol;

/* map a column for writing; fills spec (name points into att) */
extern void pqglue_write_column(Form_pg_attribute att, PqWriteCol *wc,
								ParquetColumnSpec *spec, MemoryContext cxt);

/* the natural PostgreSQL type of a Parquet leaf column */
extern Oid	pqglue_leaf_type(const ParquetColumnDesc *col, int32 *typmod);

/* the natural PostgreSQL type of a top-level field (arrays, jsonb) */
extern Oid	pqglue_field_type(const ParquetReader *r, int field, int32 *typmod,
							  bool *as_array);

/* a scalar Parquet value as a Datum of the leaf's natural type */
extern Datum pqglue_value_datum(const ParquetColumnDesc *col, const ParquetValue *v,
								Oid typid, int32 typmod);

/* unscaled * 10^-scale as a Numeric (direct construction when it fits) */
extern Numeric pqglue_unscaled_to_numeric(int64 unscaled, int scale);
extern void pqglue_decimal_precision_error(int precision, int scale,
										   int64 unscaled) pg_attribute_noreturn();

/* names for messages and dlake.parquet_metadata */
extern const char *pqglue_physical_name(ParquetPhysicalType t);
extern char *pqglue_logical_name(const ParquetLogicalType *lt);
extern const char *pqglue_codec_name(ParquetCodec c);
extern char *pqglue_encodings(uint32 mask);
extern char *pqglue_type_desc(const ParquetColumnDesc *col);

#endif							/* DLAKE_PARQUET_GLUE_H */
