/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Logical type helpers, ConvertedType mapping, decimal text
 *	  conversion, INT96 timestamps and UTF-8 validation.
 *
 * IDENTIFICATION
 *	  src/format/parquet/util.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <zlib.h>

#include "format/parquet/pq_internal.h"

ParquetLogicalType
parquet_lt_none(void)
{
	ParquetLogicalType lt;

	memset(&lt, 0, sizeof(lt));
	lt.kind = PARQUET_LT_NONE;
	return lt;
}

ParquetLogicalType
parquet_lt_simple(ParquetLogicalKind kind)
{
	ParquetLogicalType lt = parquet_lt_none();

	lt.kind = kind;
	return lt;
}

ParquetLogicalType
parquet_lt_decimal(int32_t precision, int32_t scale)
{
	ParquetLogicalType lt = parquet_lt_none();

	lt.kind = PARQUET_LT_DECIMAL;
	lt.precision = precision;
	lt.scale = scale;
	return lt;
}

ParquetLogicalType
parquet_lt_time(ParquetTimeUnit unit, bool utc)
{
	ParquetLogicalType lt = parquet_lt_none();

	lt.kind = PARQUET_LT_TIME;
	lt.unit = unit;
	lt.utc = utc;
	return lt;
}

ParquetLogicalType
parquet_lt_timestamp(ParquetTimeUnit unit, bool utc)
{
	ParquetLogicalType lt = parquet_lt_none();

	lt.kind = PARQUET_LT_TIMESTAMP;
	lt.unit = unit;
	lt.utc = utc;
	return lt;
}

ParquetLogicalType
parquet_lt_integer(int32_t bit_width, bool is_signed)
{
	ParquetLogicalType lt = parquet_lt_none();

	lt.kind = PARQUET_LT_INTEGER;
	lt.bit_width = bit_width;
	lt.is_signed = is_signed;
	return lt;
}

/* the ConvertedType a writer emits alongside a LogicalType */
ParquetConvertedType
pq_converted_for(const ParquetLogicalType *lt)
{
	switch (lt->kind)
	{
		case PARQUET_LT_STRING:
			return PARQUET_CT_UTF8;
		case PARQUET_LT_MAP:
			return PARQUET_CT_MAP;
		case PARQUET_LT_LIST:
			return PARQUET_CT_LIST;
		case PARQUET_LT_ENUM:
			return PARQUET_CT_ENUM;
		case PARQUET_LT_DECIMAL:
			return PARQUET_CT_DECIMAL;
		case PARQUET_LT_DATE:
			return PARQUET_CT_DATE;
		case PARQUET_LT_TIME:
			if (lt->unit == PARQUET_MILLIS)
				return PARQUET_CT_TIME_MILLIS;
			if (lt->unit == PARQUET_MICROS)
				return PARQUET_CT_TIME_MICROS;
			return PARQUET_CT_NONE;
		case PARQUET_LT_TIMESTAMP:
			if (lt->unit == PARQUET_MILLIS)
				return PARQUET_CT_TIMESTAMP_MILLIS;
			if (lt->unit == PARQUET_MICROS)
				return PARQUET_CT_TIMESTAMP_MICROS;
			return PARQUET_CT_NONE;
		case PARQUET_LT_INTEGER:
			switch (lt->bit_width)
			{
				case 8:
					return lt->is_signed ? PARQUET_CT_INT_8 : PARQUET_CT_UINT_8;
				case 16:
					return lt->is_signed ? PARQUET_CT_INT_16 : PARQUET_CT_UINT_16;
				case 32:
					return lt->is_signed ? PARQUET_CT_INT_32 : PARQUET_CT_UINT_32;
				case 64:
					return lt->is_signed ? PARQUET_CT_INT_64 : PARQUET_CT_UINT_64;
			}
			return PARQUET_CT_NONE;
		case PARQUET_LT_JSON:
			return PARQUET_CT_JSON;
		case PARQUET_LT_BSON:
			return PARQUET_CT_BSON;
		case PARQUET_LT_INTERVAL:
			return PARQUET_CT_INTERVAL;
		default:
			return PARQUET_CT_NONE;
	}
}

/* logical type implied by a ConvertedType (legacy files); false if none */
bool
pq_logical_from_converted(int ct, int32_t scale, int32_t precision, ParquetLogicalType *out)
{
	switch (ct)
	{
		case PARQUET_CT_UTF8:
			*out = parquet_lt_simple(PARQUET_LT_STRING);
			return true;
		case PARQUET_CT_MAP:
		case PARQUET_CT_MAP_KEY_VALUE:
			*out = parquet_lt_simple(PARQUET_LT_MAP);
			return true;
		case PARQUET_CT_LIST:
			*out = parquet_lt_simple(PARQUET_LT_LIST);
			return true;
		case PARQUET_CT_ENUM:
			*out = parquet_lt_simple(PARQUET_LT_ENUM);
			return true;
		case PARQUET_CT_DECIMAL:
			*out = parquet_lt_decimal(precision, scale);
			return true;
		case PARQUET_CT_DATE:
			*out = parquet_lt_simple(PARQUET_LT_DATE);
			return true;
		case PARQUET_CT_TIME_MILLIS:
			*out = parquet_lt_time(PARQUET_MILLIS, true);
			return true;
		case PARQUET_CT_TIME_MICROS:
			*out = parquet_lt_time(PARQUET_MICROS, true);
			return true;
		case PARQUET_CT_TIMESTAMP_MILLIS:
			*out = parquet_lt_timestamp(PARQUET_MILLIS, true);
			return true;
		case PARQUET_CT_TIMESTAMP_MICROS:
			*out = parquet_lt_timestamp(PARQUET_MICROS, true);
			return true;
		case PARQUET_CT_UINT_8:
			*out = parquet_lt_integer(8, false);
			return true;
		case PARQUET_CT_UINT_16:
			*out = parquet_lt_integer(16, false);
			return true;
		case PARQUET_CT_UINT_32:
			*out = parquet_lt_integer(32, false);
			return true;
		case PARQUET_CT_UINT_64:
			*out = parquet_lt_integer(64, false);
			return true;
		case PARQUET_CT_INT_8:
			*out = parquet_lt_integer(8, true);
			return true;
		case PARQUET_CT_INT_16:
			*out = parquet_lt_integer(16, true);
			return true;
		case PARQUET_CT_INT_32:
			*out = parquet_lt_integer(32, true);
			return true;
		case PARQUET_CT_INT_64:
			*out = parquet_lt_integer(64, true);
			return true;
		case PARQUET_CT_JSON:
			*out = parquet_lt_simple(PARQUET_LT_JSON);
			return true;
		case PARQUET_CT_BSON:
			*out = parquet_lt_simple(PARQUET_LT_BSON);
			return true;
		case PARQUET_CT_INTERVAL:
			*out = parquet_lt_simple(PARQUET_LT_INTERVAL);
			return true;
	}
	return false;
}

uint32_t
pq_crc32(const uint8_t *p, size_t n)
{
	uLong		c = crc32(0L, Z_NULL, 0);

	while (n > 0)
	{
		uInt		k = n > (1u << 30) ? (1u << 30) : (uInt) n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t) c;
}

const char *
pq_encoding_name(int enc)
{
	switch (enc)
	{
		case 0:
			return "PLAIN";
		case 1:
			return "GROUP_VAR_INT";
		case 2:
			return "PLAIN_DICTIONARY";
		case 3:
			return "RLE";
		case 4:
			return "BIT_PACKED";
		case 5:
			return "DELTA_BINARY_PACKED";
		case 6:
			return "DELTA_LENGTH_BYTE_ARRAY";
		case 7:
			return "DELTA_BYTE_ARRAY";
		case 8:
			return "RLE_DICTIONARY";
		case 9:
			return "BYTE_STREAM_SPLIT";
		case 10:
			return "ALP";
	}
	return "unknown";
}

const char *
pq_type_name(int type)
{
	switch (type)
	{
		case 0:
			return "BOOLEAN";
		case 1:
			return "INT32";
		case 2:
			return "INT64";
		case 3:
			return "INT96";
		case 4:
			return "FLOAT";
		case 5:
			return "DOUBLE";
		case 6:
			return "BYTE_ARRAY";
		case 7:
			return "FIXED_LEN_BYTE_ARRAY";
	}
	return "unknown";
}

/* ---------------- timestamps ---------------- */

#define JULIAN_UNIX_EPOCH INT64_C(2440588)
#define USECS_PER_DAY INT64_C(86400000000)
#define NANOS_PER_DAY INT64_C(86400000000000)

ParquetStatus
parquet_int96_to_unix_micros(const uint8_t *b, int64_t *out)
{
	int64_t		nanos = (int64_t) pq_le64(b);
	int64_t		days = (int64_t) (int32_t) pq_le32(b + 8) - JULIAN_UNIX_EPOCH;

	if (nanos < 0 || nanos >= NANOS_PER_DAY)
		return PARQUET_ERR_RANGE;

	/*
	 * A Julian day number can be any int32, but only about +-106 million
	 * days of microseconds fit in int64: refuse the rest (the multiplication
	 * would overflow; one day less keeps the addition of nanos in range).
	 */
	if (days > INT64_MAX / USECS_PER_DAY - 1 || days < INT64_MIN / USECS_PER_DAY + 1)
		return PARQUET_ERR_RANGE;
	*out = days * USECS_PER_DAY + nanos / 1000;
	return PARQUET_OK;
}

void
parquet_unix_micros_to_int96(int64_t us, uint8_t *b)
{
	int64_t		days = us / USECS_PER_DAY;
	int64_t		rem = us % USECS_PER_DAY;

	if (rem < 0)
	{
		rem += USECS_PER_DAY;
		days--;
	}
	pq_put_le64(b, (uint64_t) (rem * 1000));
	pq_put_le32(b + 8, (uint32_t) (int32_t) (days + JULIAN_UNIX_EPOCH));
}

int64_t
parquet_to_micros(int64_t v, ParquetTimeUnit unit)
{
	switch (unit)
	{
		case PARQUET_MILLIS:
			if (v > INT64_MAX / 1000)
				return INT64_MAX;
			if (v < INT64_MIN / 1000)
				return INT64_MIN;
			return v * 1000;
		case PARQUET_NANOS:
			{
				int64_t		q = v / 1000;

				if (v % 1000 < 0)
					q--;
				return q;
			}
		default:
			return v;
	}
}

/* ---------------- decimals ---------------- */

int
parquet_decimal_flba_width(int32_t precision)
{
	static const int8_t widths[39] = {
		0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8, 8,
		9, 9, 9, 10, 10, 11, 11, 11, 12, 12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16
	};

	if (precision < 1 || precision > 38)
		return -1;
	return widths[precision];
}

/*
 * Render a big-endian two's complement integer of n bytes as decimal text
 * with `scale` fractional digits.  Works by repeated division of a
 * magnitude byte array by 10 (n <= 64 so it is cheap enough).
 */
static int
be_to_text(const uint8_t *be, size_t n, int32_t scale, char *buf, size_t buflen)
{
	uint8_t		mag[64];
	char		digits[160];
	int			nd = 0;
	bool		neg;
	size_t		i;
	int			start = 0;
	size_t		pos = 0;
	int			k;

	if (n > 64 || scale < 0 || scale > 100)
		return -1;
	if (n == 0)
	{
		if (buflen < 2)
			return -1;
		buf[0] = '0';
		buf[1] = '\0';
		return 1;
	}
	neg = (be[0] & 0x80) != 0;
	memcpy(mag, be, n);
	if (neg)
	{
		/* two's complement negate */
		int			carry = 1;

		for (i = n; i-- > 0;)
		{
			int			v = (uint8_t) ~mag[i] + carry;

			mag[i] = (uint8_t) v;
			carry = v >> 8;
		}
	}
	/* repeated division by 10 */
	for (;;)
	{
		int			rem = 0;
		bool		nonzero = false;

		while (start < (int) n && mag[start] == 0)
			start++;
		if (start >= (int) n)
			break;
		for (i = start; i < n; i++)
		{
			int			cur = (rem << 8) | mag[i];

			mag[i] = (uint8_t) (cur / 10);
			rem = cur % 10;
			if (mag[i])
				nonzero = true;
		}
		digits[nd++] = (char) ('0' + rem);
		if (!nonzero)
			break;
	}
	while (nd <= scale)
		digits[nd++] = '0';
	if ((size_t) nd + 3 > buflen)
		return -1;
	if (neg)
		buf[pos++] = '-';
	for (k = nd - 1; k >= 0; k--)
	{
		buf[pos++] = digits[k];
		if (k == scale && scale > 0)
			buf[pos++] = '.';
	}
	buf[pos] = '\0';
	return (int) pos;
}

int
parquet_decimal_to_text(ParquetPhysicalType type, const ParquetValue *v, int32_t scale,
						char *buf, size_t buflen)
{
	uint8_t		be[8];

	switch (type)
	{
		case PARQUET_INT32:
			{
				uint32_t	u = (uint32_t) v->v.i32;

				be[0] = (uint8_t) (u >> 24);
				be[1] = (uint8_t) (u >> 16);
				be[2] = (uint8_t) (u >> 8);
				be[3] = (uint8_t) u;
				return be_to_text(be, 4, scale, buf, buflen);
			}
		case PARQUET_INT64:
			{
				uint64_t	u = (uint64_t) v->v.i64;
				int			i;

				for (i = 0; i < 8; i++)
					be[i] = (uint8_t) (u >> (56 - 8 * i));
				return be_to_text(be, 8, scale, buf, buflen);
			}
		case PARQUET_BYTE_ARRAY:
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			return be_to_text(v->ptr, v->len, scale, buf, buflen);
		default:
			return -1;
	}
}

ParquetStatus
parquet_decimal_from_text(const char *s, int32_t precision, int32_t scale, uint8_t be16[16])
{
	bool		neg = false;
	unsigned __int128 acc = 0;
	int			ndigits = 0;	/* significant digits in acc */
	int			frac = 0;		/* fractional digits consumed */
	bool		seen_digit = false;
	bool		round_up = false;
	unsigned __int128 limit;
	int			i;

	if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
		return PARQUET_ERR_INVALID;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	/* integer part */
	while (*s >= '0' && *s <= '9')
	{
		seen_digit = true;
		if (acc != 0 || *s != '0')
		{
			if (++ndigits > 38)
				return PARQUET_ERR_RANGE;
			acc = acc * 10 + (unsigned) (*s - '0');
		}
		s++;
	}
	if (*s == '.')
	{
		s++;
		while (*s >= '0' && *s <= '9')
		{
			seen_digit = true;
			if (frac < scale)
			{
				if (acc != 0 || *s != '0')
					ndigits++;
				if (ndigits > 38)
					return PARQUET_ERR_RANGE;
				acc = acc * 10 + (unsigned) (*s - '0');
				frac++;
			}
			else if (frac == scale)
			{
				round_up = *s >= '5';
				frac++;
			}
			s++;
		}
	}
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!seen_digit || *s != '\0')
		return PARQUET_ERR_INVALID;
	for (; frac < scale; frac++)
	{
		if (acc != 0)
			ndigits++;
		if (ndigits > 38)
			return PARQUET_ERR_RANGE;
		acc *= 10;
	}
	if (round_up)
		acc += 1;
	limit = 1;
	for (i = 0; i < precision; i++)
		limit *= 10;
	if (acc >= limit)
		return PARQUET_ERR_RANGE;
	if (neg)
		acc = ~acc + 1;
	for (i = 0; i < 16; i++)
		be16[i] = (uint8_t) (acc >> (8 * (15 - i)));
	return PARQUET_OK;
}

/* ---------------- UTF-8 ---------------- */

bool
parquet_utf8_valid(const uint8_t *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		uint8_t		c = s[i];

		if (c < 0x80)
		{
			/* fast path over ASCII runs, 8 bytes at a time */
			while (i + 8 <= len)
			{
				uint64_t	w;

				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			if (i < len && s[i] < 0x80)
				i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
		{
			if (i + 1 >= len || (s[i + 1] & 0xc0) != 0x80)
				return false;
			i += 2;
		}
		else if (c >= 0xe0 && c <= 0xef)
		{
			uint8_t		c1;

			if (i + 2 >= len)
				return false;
			c1 = s[i + 1];
			if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80)
				return false;
			if (c == 0xe0 && c1 < 0xa0)
				return false;	/* overlong */
			if (c == 0xed && c1 >= 0xa0)
				return false;	/* surrogate */
			i += 3;
		}
		else if (c >= 0xf0 && c <= 0xf4)
		{
			uint8_t		c1;

			if (i + 3 >= len)
				return false;
			c1 = s[i + 1];
			if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80 ||
				(s[i + 3] & 0xc0) != 0x80)
				return false;
			if (c == 0xf0 && c1 < 0x90)
				return false;
			if (c == 0xf4 && c1 >= 0x90)
				return false;
			i += 4;
		}
		else
			return false;
	}
	return true;
}
