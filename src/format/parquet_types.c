/*-------------------------------------------------------------------------
 *
 * parquet_types.c
 *	  The PostgreSQL ↔ Parquet type mapping (docs/formats.md has it as a
 *	  table) and the conversion of one Parquet value into a Datum.
 *
 * Writing:   bool → BOOLEAN; int2/int4 → INT32 INT(16/32); int8 → INT64;
 *            float4/float8 → FLOAT/DOUBLE; numeric(p,s) → DECIMAL(p,s) on
 *            INT32 (p ≤ 9), INT64 (p ≤ 18) or FIXED_LEN_BYTE_ARRAY;
 *            numeric without typmod → DECIMAL(38,9); text/varchar/char/name
 *            → STRING; bytea → BYTE_ARRAY; date → DATE; timestamp →
 *            TIMESTAMP(MICROS,false); timestamptz → TIMESTAMP(MICROS,true);
 *            time → TIME(MICROS,false); uuid → FLBA(16) UUID; json/jsonb →
 *            STRING-like BYTE_ARRAY JSON; one-dimensional arrays of those →
 *            LIST; any other type → STRING of its text output.
 * Reading:   the above, plus INT(8/16) and unsigned ints, TIMESTAMP MILLIS
 *            and NANOS, TIME MILLIS/NANOS, INT96, ENUM, BSON, FLOAT16,
 *            legacy ConvertedTypes (normalised by the library); nested
 *            fields come out as jsonb, lists of primitives as arrays.
 *
 * PostgreSQL counts dates and timestamps from 2000-01-01, Parquet from
 * 1970-01-01: 10957 days / 946684800000000 microseconds apart.
 *
 * IDENTIFICATION
 *	  src/format/parquet_types.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "format/parquet_glue.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* numeric without typmod */
#define PQ_DEFAULT_PRECISION 38
#define PQ_DEFAULT_SCALE 9

static PqWriteKind
pqglue_kind(Oid typid)
{
	switch (typid)
	{
		case BOOLOID:
			return PW_BOOL;
		case INT2OID:
			return PW_INT2;
		case INT4OID:
			return PW_INT4;
		case INT8OID:
			return PW_INT8;
		case FLOAT4OID:
			return PW_FLOAT4;
		case FLOAT8OID:
			return PW_FLOAT8;
		case NUMERICOID:
			return PW_NUMERIC;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return PW_TEXT;
		case NAMEOID:
			return PW_NAME;
		case BYTEAOID:
			return PW_BYTEA;
		case DATEOID:
			return PW_DATE;
		case TIMESTAMPOID:
			return PW_TIMESTAMP;
		case TIMESTAMPTZOID:
			return PW_TIMESTAMPTZ;
		case TIMEOID:
			return PW_TIME;
		case UUIDOID:
			return PW_UUID;
		case JSONOID:
			return PW_JSON;
		case JSONBOID:
			return PW_JSONB;
		default:
			return PW_OTHER;
	}
}

/*
 * pqglue_write_column maps one attribute to a Parquet column spec and
 * records how its values are converted.
 */
void
pqglue_write_column(Form_pg_attribute att, PqWriteCol *wc, ParquetColumnSpec *spec,
					MemoryContext cxt)
{
	Oid			typid = getBaseType(att->atttypid);
	int32		typmod = att->atttypmod;
	Oid			elem = get_element_type(typid);

	memset(spec, 0, sizeof(*spec));
	spec->name = NameStr(att->attname);
	spec->nullable = !att->attnotnull;
	spec->field_id = -1;
	spec->logical = parquet_lt_none();

	wc->is_list = false;
	if (OidIsValid(elem) && typid != NAMEOID && get_typlen(typid) == -1)
	{
		wc->is_list = true;
		spec->is_list = true;
		spec->element_nullable = true;
		typid = getBaseType(elem);
		get_typlenbyvalalign(elem, &wc->elmlen, &wc->elmbyval, &wc->elmalign);
		typmod = att->atttypmod;	/* array typmod applies to elements */
	}
	wc->typid = typid;
	wc->kind = pqglue_kind(typid);

	switch (wc->kind)
	{
		case PW_BOOL:
			spec->type = PARQUET_BOOLEAN;
			break;
		case PW_INT2:
			spec->type = PARQUET_INT32;
			spec->logical = parquet_lt_integer(16, true);
			break;
		case PW_INT4:
			spec->type = PARQUET_INT32;
			spec->logical = parquet_lt_integer(32, true);
			break;
		case PW_INT8:
			spec->type = PARQUET_INT64;
			break;
		case PW_FLOAT4:
			spec->type = PARQUET_FLOAT;
			break;
		case PW_FLOAT8:
			spec->type = PARQUET_DOUBLE;
			break;
		case PW_NUMERIC:
			{
				int32		p = PQ_DEFAULT_PRECISION;
				int32		s = PQ_DEFAULT_SCALE;

				if (typmod >= (int32) VARHDRSZ)
				{
					p = ((typmod - VARHDRSZ) >> 16) & 0xffff;
					s = (int16) ((typmod - VARHDRSZ) & 0xffff);
				}
				if (p > 38 || s < 0 || s > p)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("column \"%s\" of type numeric(%d,%d) cannot be written to Parquet",
									NameStr(att->attname), p, s),
							 errdetail("Parquet DECIMAL supports precision up to 38 and a scale between 0 and the precision."),
							 errhint("Cast the column to numeric(38,s) or to double precision or text.")));
				wc->precision = p;
				wc->scale = s;
				spec->logical = parquet_lt_decimal(p, s);
				if (p <= 9)
					spec->type = PARQUET_INT32;
				else if (p <= 18)
					spec->type = PARQUET_INT64;
				else
				{
					spec->type = PARQUET_FIXED_LEN_BYTE_ARRAY;
					spec->type_length = parquet_decimal_flba_width(p);
				}
				break;
			}
		case PW_TEXT:
		case PW_NAME:
		case PW_OTHER:
			spec->type = PARQUET_BYTE_ARRAY;
			spec->logical = parquet_lt_simple(PARQUET_LT_STRING);
			break;
		case PW_BYTEA:
			spec->type = PARQUET_BYTE_ARRAY;
			break;
		case PW_DATE:
			spec->type = PARQUET_INT32;
			spec->logical = parquet_lt_simple(PARQUET_LT_DATE);
			break;
		case PW_TIMESTAMP:
			spec->type = PARQUET_INT64;
			spec->logical = parquet_lt_timestamp(PARQUET_MICROS, false);
			break;
		case PW_TIMESTAMPTZ:
			spec->type = PARQUET_INT64;
			spec->logical = parquet_lt_timestamp(PARQUET_MICROS, true);
			break;
		case PW_TIME:
			spec->type = PARQUET_INT64;
			spec->logical = parquet_lt_time(PARQUET_MICROS, false);
			break;
		case PW_UUID:
			spec->type = PARQUET_FIXED_LEN_BYTE_ARRAY;
			spec->type_length = 16;
			spec->logical = parquet_lt_simple(PARQUET_LT_UUID);
			break;
		case PW_JSON:
		case PW_JSONB:
			spec->type = PARQUET_BYTE_ARRAY;
			spec->logical = parquet_lt_simple(PARQUET_LT_JSON);
			break;
	}
	if (wc->kind == PW_OTHER || wc->kind == PW_NUMERIC)
	{
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(typid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &wc->outfn, cxt);
	}
}

/*
 * pqglue_leaf_type: the PostgreSQL type a primitive Parquet column reads
 * as when nothing else is asked for.
 */
Oid
pqglue_leaf_type(const ParquetColumnDesc *col, int32 *typmod)
{
	const ParquetLogicalType *lt = &col->logical;

	*typmod = -1;
	switch (lt->kind)
	{
		case PARQUET_LT_STRING:
		case PARQUET_LT_ENUM:
			return TEXTOID;
		case PARQUET_LT_JSON:
			return JSONBOID;
		case PARQUET_LT_BSON:
			return BYTEAOID;
		case PARQUET_LT_UUID:
			return col->type == PARQUET_FIXED_LEN_BYTE_ARRAY && col->type_length == 16 ?
				UUIDOID : BYTEAOID;
		case PARQUET_LT_DECIMAL:
			if (lt->precision >= 1 && lt->precision <= NUMERIC_MAX_PRECISION &&
				lt->scale >= 0 && lt->scale <= lt->precision)
				*typmod = ((lt->precision << 16) | lt->scale) + VARHDRSZ;
			return NUMERICOID;
		case PARQUET_LT_DATE:
			return DATEOID;
		case PARQUET_LT_TIME:
			return TIMEOID;
		case PARQUET_LT_TIMESTAMP:
			return lt->utc ? TIMESTAMPTZOID : TIMESTAMPOID;
		case PARQUET_LT_INTEGER:
			if (lt->is_signed)
				return lt->bit_width <= 16 ? INT2OID : lt->bit_width <= 32 ? INT4OID : INT8OID;
			if (lt->bit_width <= 8)
				return INT2OID;
			if (lt->bit_width <= 16)
				return INT4OID;
			if (lt->bit_width <= 32)
				return INT8OID;
			*typmod = ((20 << 16) | 0) + VARHDRSZ;
			return NUMERICOID;
		case PARQUET_LT_FLOAT16:
			return FLOAT4OID;
		case PARQUET_LT_INTERVAL:
			return INTERVALOID;
		case PARQUET_LT_UNKNOWN:
			return TEXTOID;
		default:
			break;
	}
	switch (col->type)
	{
		case PARQUET_BOOLEAN:
			return BOOLOID;
		case PARQUET_INT32:
			return INT4OID;
		case PARQUET_INT64:
			return INT8OID;
		case PARQUET_INT96:
			return TIMESTAMPOID;
		case PARQUET_FLOAT:
			return FLOAT4OID;
		case PARQUET_DOUBLE:
			return FLOAT8OID;
		case PARQUET_BYTE_ARRAY:
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
		default:
			return BYTEAOID;
	}
}

static float
half_to_float(uint16 h)
{
	int			sign = (h >> 15) & 1;
	int			exp = (h >> 10) & 0x1f;
	int			mant = h & 0x3ff;
	float		v;

	if (exp == 0)
		v = ldexpf((float) mant, -24);
	else if (exp == 31)
		v = mant ? NAN : INFINITY;
	else
		v = ldexpf((float) (mant | 0x400), exp - 25);
	return sign ? -v : v;
}

static Timestamp
unix_micros_to_pg(int64 us)
{
	Timestamp	ts;

	if (pg_sub_s64_overflow(us, PARQUET_UNIX_TO_PG_MICROS, &ts) || !IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range: " INT64_FORMAT " microseconds since 1970", us)));
	return ts;
}

/*
 * pqglue_unscaled_to_numeric builds the Numeric unscaled * 10^-scale directly
 * in PostgreSQL's on-disk short format (the format numeric.c itself
 * writes for values with a small weight and display scale: a 16-bit
 * header holding sign, display scale and weight, then base-10000 digits
 * with leading and trailing zero digits stripped), so that reading a
 * DECIMAL column costs one palloc per value instead of a NumericVar
 * round trip.  Values it does not handle go through numeric.c.
 */
#define PQ_NBASE 10000
#define PQ_NUMERIC_SHORT 0x8000
#define PQ_NUMERIC_SHORT_SIGN 0x2000
#define PQ_NUMERIC_SHORT_DSCALE_SHIFT 7
#define PQ_NUMERIC_SHORT_DSCALE_MAX 0x3F
#define PQ_NUMERIC_SHORT_WEIGHT_SIGN 0x0040
#define PQ_NUMERIC_SHORT_WEIGHT_MASK 0x003F

Numeric
pqglue_unscaled_to_numeric(int64 unscaled, int scale)
{
	static const uint64 pow10[4] = {1, 10, 100, 1000};
	uint64		mag = unscaled < 0 ? -(uint64) unscaled : (uint64) unscaled;
	int			pad;
	int			frac;
	int16		groups[8];
	int			n = 0;
	int			low;
	int			weight;
	int			ndig;
	uint16		header;
	char	   *res;
	Size		len;

	if (scale < 0 || scale > PQ_NUMERIC_SHORT_DSCALE_MAX ||
		mag >= UINT64CONST(1000000000000000))
		return scale == 0 ? int64_to_numeric(unscaled) :
			int64_div_fast_to_numeric(unscaled, scale);
	/* align the decimal point on a base-10000 digit boundary */
	pad = (4 - scale % 4) % 4;
	mag *= pow10[pad];
	frac = (scale + pad) / 4;
	while (mag > 0)
	{
		groups[n++] = (int16) (mag % PQ_NBASE);
		mag /= PQ_NBASE;
	}
	low = 0;
	while (low < n && groups[low] == 0)
		low++;					/* trailing zero digits are not stored */
	ndig = n - low;
	weight = ndig > 0 ? n - 1 - frac : 0;
	if (weight > PQ_NUMERIC_SHORT_WEIGHT_MASK || weight < -(PQ_NUMERIC_SHORT_WEIGHT_MASK + 1))
		return int64_div_fast_to_numeric(unscaled, scale);
	header = PQ_NUMERIC_SHORT |
		((ndig > 0 && unscaled < 0) ? PQ_NUMERIC_SHORT_SIGN : 0) |
		(scale << PQ_NUMERIC_SHORT_DSCALE_SHIFT) |
		(weight < 0 ? PQ_NUMERIC_SHORT_WEIGHT_SIGN : 0) |
		(weight & PQ_NUMERIC_SHORT_WEIGHT_MASK);
	len = VARHDRSZ + sizeof(uint16) + ndig * sizeof(int16);
	res = palloc(len);
	SET_VARSIZE(res, len);
	memcpy(res + VARHDRSZ, &header, sizeof(uint16));
	for (int k = 0; k < ndig; k++)
	{
		int16		d = groups[n - 1 - k];

		memcpy(res + VARHDRSZ + sizeof(uint16) + k * sizeof(int16), &d, sizeof(int16));
	}
	return (Numeric) res;
}

/* raise the error for a DECIMAL value that exceeds its declared precision */
void
pqglue_decimal_precision_error(int precision, int scale, int64 unscaled)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("DECIMAL(%d,%d) value " INT64_FORMAT " exceeds its precision",
					precision, scale, unscaled)));
}

/*
 * pqglue_value_datum converts a non-null scalar value of a leaf column into
 * its natural type (pqglue_leaf_type).  Raises class-22 errors for values
 * PostgreSQL cannot hold.
 */
Datum
pqglue_value_datum(const ParquetColumnDesc *col, const ParquetValue *v,
				   Oid typid, int32 typmod)
{
	const ParquetLogicalType *lt = &col->logical;

	switch (typid)
	{
		case BOOLOID:
			return BoolGetDatum(v->v.b);
		case INT2OID:
			if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
				return Int16GetDatum((int16) (uint8) v->v.i32);
			if (v->v.i32 < PG_INT16_MIN || v->v.i32 > PG_INT16_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("value %d out of range for type smallint", v->v.i32)));
			return Int16GetDatum((int16) v->v.i32);
		case INT4OID:
			if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
				return Int32GetDatum((int32) (uint16) v->v.i32);
			return Int32GetDatum(v->v.i32);
		case INT8OID:
			if (col->type == PARQUET_INT32)
			{
				if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
					return Int64GetDatum((int64) (uint32) v->v.i32);
				return Int64GetDatum((int64) v->v.i32);
			}
			return Int64GetDatum(v->v.i64);
		case FLOAT4OID:
			if (lt->kind == PARQUET_LT_FLOAT16)
			{
				if (v->len != 2 || v->ptr == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("FLOAT16 value of %u bytes", v->len)));
				return Float4GetDatum(half_to_float((uint16) (v->ptr[0] | (v->ptr[1] << 8))));
			}
			return Float4GetDatum(v->v.f);
		case FLOAT8OID:
			return Float8GetDatum(v->v.d);
		case NUMERICOID:
			{
				char		buf[200];

				/* fast path: DECIMAL on INT32/INT64 with the natural typmod */
				if (lt->kind == PARQUET_LT_DECIMAL && lt->scale >= 0 && lt->scale <= 18 &&
					(col->type == PARQUET_INT32 || col->type == PARQUET_INT64) &&
					typmod == ((lt->precision << 16) | lt->scale) + VARHDRSZ)
				{
					int64		unscaled = col->type == PARQUET_INT32 ? v->v.i32 : v->v.i64;
					int64		limit = 1;

					for (int k = 0; k < lt->precision && k < 18; k++)
						limit *= 10;
					if (lt->precision <= 18 && (unscaled >= limit || unscaled <= -limit))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("DECIMAL(%d,%d) value " INT64_FORMAT " exceeds its precision",
										lt->precision, lt->scale, unscaled)));
					return NumericGetDatum(pqglue_unscaled_to_numeric(unscaled, lt->scale));
				}
				if (lt->kind == PARQUET_LT_INTEGER && !lt->is_signed)
					snprintf(buf, sizeof(buf), UINT64_FORMAT, (uint64) v->v.i64);
				else if (lt->kind == PARQUET_LT_DECIMAL)
				{
					if (parquet_decimal_to_text(col->type, v, lt->scale, buf, sizeof(buf)) < 0)
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("DECIMAL value too long")));
				}
				else if (col->type == PARQUET_INT32)
					snprintf(buf, sizeof(buf), "%d", v->v.i32);
				else
					snprintf(buf, sizeof(buf), INT64_FORMAT, v->v.i64);
				return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(typmod));
			}
		case DATEOID:
			{
				int64		d = (int64) v->v.i32 - PARQUET_UNIX_TO_PG_DAYS;

				if (!IS_VALID_DATE(d))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("date out of range: %d days since 1970", v->v.i32)));
				return DateADTGetDatum((DateADT) d);
			}
		case TIMEOID:
			{
				int64		us;

				if (col->type == PARQUET_INT32)
					us = (int64) v->v.i32 * 1000;
				else
					us = parquet_to_micros(v->v.i64, lt->unit);
				if (us < 0 || us > USECS_PER_DAY)
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("time of day out of range: " INT64_FORMAT " microseconds", us)));
				return TimeADTGetDatum(us);
			}
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				int64		us;

				if (col->type == PARQUET_INT96)
				{
					if (v->len != 12 || parquet_int96_to_unix_micros(v->ptr, &us) != PARQUET_OK)
						ereport(ERROR,
								(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
								 errmsg("INT96 timestamp out of range")));
				}
				else if (lt->kind == PARQUET_LT_TIMESTAMP)
					us = parquet_to_micros(v->v.i64, lt->unit);
				else
					us = v->v.i64;
				return TimestampGetDatum(unix_micros_to_pg(us));
			}
		case TEXTOID:
			if (!parquet_utf8_valid(v->ptr, v->len))
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("invalid byte sequence for encoding \"UTF8\" in a Parquet string")));
			return PointerGetDatum(cstring_to_text_with_len((const char *) v->ptr, v->len));
		case JSONBOID:
			{
				char	   *s;

				if (!parquet_utf8_valid(v->ptr, v->len))
					ereport(ERROR,
							(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
							 errmsg("invalid byte sequence for encoding \"UTF8\" in a Parquet JSON value")));
				s = pnstrdup((const char *) v->ptr, v->len);
				return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
			}
		case UUIDOID:
			{
				pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

				memcpy(u->data, v->ptr, 16);
				return UUIDPGetDatum(u);
			}
		case INTERVALOID:
			{
				/* FLBA(12): months, days, millis as little-endian uint32 */
				Interval   *iv = palloc0(sizeof(Interval));
				const uint8 *p = v->ptr;

				if (v->len != 12)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("INTERVAL value of %u bytes", v->len)));
				iv->month = (int32) (p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32) p[3] << 24));
				iv->day = (int32) (p[4] | (p[5] << 8) | (p[6] << 16) | ((uint32) p[7] << 24));
				iv->time = (int64) (uint32) (p[8] | (p[9] << 8) | (p[10] << 16) | ((uint32) p[11] << 24)) * 1000;
				return IntervalPGetDatum(iv);
			}
		case BYTEAOID:
		default:
			{
				bytea	   *b = palloc(VARHDRSZ + v->len);

				SET_VARSIZE(b, VARHDRSZ + v->len);
				if (v->len)
					memcpy(VARDATA(b), v->ptr, v->len);
				return PointerGetDatum(b);
			}
	}
}

const char *
pqglue_physical_name(ParquetPhysicalType t)
{
	switch (t)
	{
		case PARQUET_BOOLEAN:
			return "BOOLEAN";
		case PARQUET_INT32:
			return "INT32";
		case PARQUET_INT64:
			return "INT64";
		case PARQUET_INT96:
			return "INT96";
		case PARQUET_FLOAT:
			return "FLOAT";
		case PARQUET_DOUBLE:
			return "DOUBLE";
		case PARQUET_BYTE_ARRAY:
			return "BYTE_ARRAY";
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			return "FIXED_LEN_BYTE_ARRAY";
	}
	return "?";
}

static const char *
unit_name(ParquetTimeUnit u)
{
	return u == PARQUET_MILLIS ? "MILLIS" : u == PARQUET_NANOS ? "NANOS" : "MICROS";
}

char *
pqglue_logical_name(const ParquetLogicalType *lt)
{
	switch (lt->kind)
	{
		case PARQUET_LT_NONE:
			return NULL;
		case PARQUET_LT_STRING:
			return "STRING";
		case PARQUET_LT_MAP:
			return "MAP";
		case PARQUET_LT_LIST:
			return "LIST";
		case PARQUET_LT_ENUM:
			return "ENUM";
		case PARQUET_LT_DECIMAL:
			return psprintf("DECIMAL(%d,%d)", lt->precision, lt->scale);
		case PARQUET_LT_DATE:
			return "DATE";
		case PARQUET_LT_TIME:
			return psprintf("TIME(%s,%s)", unit_name(lt->unit), lt->utc ? "true" : "false");
		case PARQUET_LT_TIMESTAMP:
			return psprintf("TIMESTAMP(%s,%s)", unit_name(lt->unit), lt->utc ? "true" : "false");
		case PARQUET_LT_INTERVAL:
			return "INTERVAL";
		case PARQUET_LT_INTEGER:
			return psprintf("INT(%d,%s)", lt->bit_width, lt->is_signed ? "true" : "false");
		case PARQUET_LT_UNKNOWN:
			return "UNKNOWN";
		case PARQUET_LT_JSON:
			return "JSON";
		case PARQUET_LT_BSON:
			return "BSON";
		case PARQUET_LT_UUID:
			return "UUID";
		case PARQUET_LT_FLOAT16:
			return "FLOAT16";
		case PARQUET_LT_VARIANT:
			return "VARIANT";
		case PARQUET_LT_GEOMETRY:
			return "GEOMETRY";
		case PARQUET_LT_GEOGRAPHY:
			return "GEOGRAPHY";
		default:
			return "OTHER";
	}
}

const char *
pqglue_codec_name(ParquetCodec c)
{
	switch (c)
	{
		case PARQUET_CODEC_UNCOMPRESSED:
			return "UNCOMPRESSED";
		case PARQUET_CODEC_SNAPPY:
			return "SNAPPY";
		case PARQUET_CODEC_GZIP:
			return "GZIP";
		case PARQUET_CODEC_LZO:
			return "LZO";
		case PARQUET_CODEC_BROTLI:
			return "BROTLI";
		case PARQUET_CODEC_LZ4:
			return "LZ4";
		case PARQUET_CODEC_ZSTD:
			return "ZSTD";
		case PARQUET_CODEC_LZ4_RAW:
			return "LZ4_RAW";
	}
	return "?";
}

char *
pqglue_encodings(uint32 mask)
{
	static const struct
	{
		int			bit;
		const char *name;
	}			names[] = {
		{PARQUET_ENC_PLAIN, "PLAIN"},
		{PARQUET_ENC_PLAIN_DICTIONARY, "PLAIN_DICTIONARY"},
		{PARQUET_ENC_RLE, "RLE"},
		{PARQUET_ENC_BIT_PACKED, "BIT_PACKED"},
		{PARQUET_ENC_DELTA_BINARY_PACKED, "DELTA_BINARY_PACKED"},
		{PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY, "DELTA_LENGTH_BYTE_ARRAY"},
		{PARQUET_ENC_DELTA_BYTE_ARRAY, "DELTA_BYTE_ARRAY"},
		{PARQUET_ENC_RLE_DICTIONARY, "RLE_DICTIONARY"},
		{PARQUET_ENC_BYTE_STREAM_SPLIT, "BYTE_STREAM_SPLIT"},
	};
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(names); i++)
		if (mask & (1u << names[i].bit))
			appendStringInfo(&s, "%s%s", s.len ? "," : "", names[i].name);
	return s.data;
}

char *
pqglue_type_desc(const ParquetColumnDesc *col)
{
	char	   *lt = pqglue_logical_name(&col->logical);

	if (col->type == PARQUET_FIXED_LEN_BYTE_ARRAY)
		return lt ? psprintf("FIXED_LEN_BYTE_ARRAY(%d) %s", col->type_length, lt)
			: psprintf("FIXED_LEN_BYTE_ARRAY(%d)", col->type_length);
	return lt ? psprintf("%s %s", pqglue_physical_name(col->type), lt)
		: pstrdup(pqglue_physical_name(col->type));
}
