/*-------------------------------------------------------------------------
 *
 * thrift.c
 *	  Thrift compact protocol decoder and encoder for Parquet metadata.
 *
 * The decoder works on a bounded input buffer with a sticky failure flag:
 * every primitive returns a harmless value after the first error, and
 * callers check the flag once per struct.  Hard limits: varint length,
 * string/binary length (also against the remaining input), list size
 * (every element takes at least one byte unless it is a bool/empty type,
 * so sizes are checked against the remaining bytes too), nesting depth.
 *
 * IDENTIFICATION
 *	  src/format/parquet/thrift.c
 *
 *-------------------------------------------------------------------------
 */
#include "format/parquet/pq_internal.h"

/* ---------------- varints ---------------- */

size_t
pq_put_uvarint(uint8_t *p, uint64_t v)
{
	size_t		n = 0;

	while (v >= 0x80)
	{
		p[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t) v;
	return n;
}

bool
pq_get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t	v = 0;
	int			shift = 0;

	while (p < end)
	{
		uint8_t		b = *p++;

		if (shift == 63 && (b & 0x7e))
			return false;		/* overflow */
		v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*pp = p;
			*out = v;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

/* ---------------- decoder ---------------- */

void
tdec_init(ThriftDec *d, const uint8_t *p, size_t len, uint32_t max_string,
		  uint32_t max_list)
{
	d->p = p;
	d->end = p + len;
	d->depth = 0;
	d->failed = false;
	d->why = NULL;
	d->max_string = max_string;
	d->max_list = max_list;
	d->last_id[0] = 0;
}

void
tdec_fail(ThriftDec *d, const char *why)
{
	if (!d->failed)
	{
		d->failed = true;
		d->why = why;
	}
	d->p = d->end;
}

static uint64_t
tdec_varint(ThriftDec *d, int maxbytes)
{
	const uint8_t *start = d->p;
	uint64_t	v;

	if (d->failed)
		return 0;
	if (!pq_get_uvarint(&d->p, d->end, &v))
	{
		tdec_fail(d, "bad or truncated varint");
		return 0;
	}
	if (d->p - start > maxbytes)
	{
		tdec_fail(d, "varint too long");
		return 0;
	}
	return v;
}

static int64_t
zigzag64(uint64_t u)
{
	return (int64_t) ((u >> 1) ^ (~(u & 1) + 1));
}

bool
tdec_struct_begin(ThriftDec *d)
{
	if (d->failed)
		return false;
	if (d->depth >= PQ_THRIFT_MAX_DEPTH)
	{
		tdec_fail(d, "nesting too deep");
		return false;
	}
	d->depth++;
	d->last_id[d->depth] = 0;
	return true;
}

void
tdec_struct_end(ThriftDec *d)
{
	if (d->depth > 0)
		d->depth--;
}

bool
tdec_field(ThriftDec *d, int *id, int *type)
{
	uint8_t		b;
	int			delta;
	int			t;

	if (d->failed)
		return false;
	if (d->p >= d->end)
	{
		tdec_fail(d, "truncated struct");
		return false;
	}
	b = *d->p++;
	if (b == 0)
		return false;			/* STOP */
	t = b & 0x0f;
	delta = b >> 4;
	if (t > TT_UUID || t == TT_STOP)
	{
		tdec_fail(d, "invalid field type");
		return false;
	}
	if (delta)
	{
		int			nid = d->last_id[d->depth] + delta;

		if (nid > 32767)
		{
			tdec_fail(d, "field id overflow");
			return false;
		}
		*id = nid;
	}
	else
	{
		int64_t		v = zigzag64(tdec_varint(d, 3));

		if (d->failed)
			return false;
		if (v < -32768 || v > 32767)
		{
			tdec_fail(d, "field id out of range");
			return false;
		}
		*id = (int) v;
	}
	d->last_id[d->depth] = (int16_t) *id;
	*type = t;
	return true;
}

int32_t
tdec_i32(ThriftDec *d, int type)
{
	int64_t		v;

	if (d->failed)
		return 0;
	if (type == TT_I8)
	{
		if (d->p >= d->end)
		{
			tdec_fail(d, "truncated i8");
			return 0;
		}
		return (int8_t) *d->p++;
	}
	if (type != TT_I32 && type != TT_I16)
	{
		tdec_fail(d, "field has the wrong type (expected i32)");
		return 0;
	}
	v = zigzag64(tdec_varint(d, 5));
	if (v < INT32_MIN || v > INT32_MAX)
	{
		tdec_fail(d, "i32 out of range");
		return 0;
	}
	return (int32_t) v;
}

int64_t
tdec_i64(ThriftDec *d, int type)
{
	if (d->failed)
		return 0;
	if (type == TT_I32 || type == TT_I16 || type == TT_I8)
		return tdec_i32(d, type);
	if (type != TT_I64)
	{
		tdec_fail(d, "field has the wrong type (expected i64)");
		return 0;
	}
	return zigzag64(tdec_varint(d, 10));
}

bool
tdec_bool(ThriftDec *d, int type)
{
	if (type == TT_TRUE)
		return true;
	if (type == TT_FALSE)
		return false;
	tdec_fail(d, "field has the wrong type (expected bool)");
	return false;
}

bool
tdec_bool_elem(ThriftDec *d)
{
	if (d->failed)
		return false;
	if (d->p >= d->end)
	{
		tdec_fail(d, "truncated bool");
		return false;
	}
	return *d->p++ == 1;
}

double
tdec_double(ThriftDec *d, int type)
{
	uint64_t	u;
	double		v;

	if (d->failed)
		return 0;
	if (type != TT_DOUBLE || d->end - d->p < 8)
	{
		tdec_fail(d, "bad double");
		return 0;
	}
	u = pq_le64(d->p);
	d->p += 8;
	memcpy(&v, &u, 8);
	return v;
}

bool
tdec_binary(ThriftDec *d, int type, const uint8_t **p, uint32_t *len)
{
	uint64_t	n;

	*p = NULL;
	*len = 0;
	if (d->failed)
		return false;
	if (type != TT_BINARY)
	{
		tdec_fail(d, "field has the wrong type (expected binary)");
		return false;
	}
	n = tdec_varint(d, 5);
	if (d->failed)
		return false;
	if (n > d->max_string)
	{
		tdec_fail(d, "binary length exceeds limit");
		return false;
	}
	if (n > (uint64_t) (d->end - d->p))
	{
		tdec_fail(d, "binary length past end of data");
		return false;
	}
	*p = d->p;
	*len = (uint32_t) n;
	d->p += n;
	return true;
}

bool
tdec_list(ThriftDec *d, int type, int *etype, uint32_t *size)
{
	uint8_t		b;
	uint64_t	n;

	*etype = 0;
	*size = 0;
	if (d->failed)
		return false;
	if (type != TT_LIST && type != TT_SET)
	{
		tdec_fail(d, "field has the wrong type (expected list)");
		return false;
	}
	if (d->p >= d->end)
	{
		tdec_fail(d, "truncated list header");
		return false;
	}
	b = *d->p++;
	*etype = b & 0x0f;
	n = b >> 4;
	if (n == 15)
	{
		n = tdec_varint(d, 5);
		if (d->failed)
			return false;
	}
	if (n > d->max_list)
	{
		tdec_fail(d, "list size exceeds limit");
		return false;
	}
	if (n > 0 && (*etype == TT_STOP || *etype > TT_UUID))
	{
		tdec_fail(d, "invalid list element type");
		return false;
	}
	/* every element except bools takes at least one byte */
	if (n > (uint64_t) (d->end - d->p) && *etype != TT_TRUE && *etype != TT_FALSE)
	{
		tdec_fail(d, "list size past end of data");
		return false;
	}
	if ((*etype == TT_TRUE || *etype == TT_FALSE) && n > (uint64_t) (d->end - d->p))
	{
		/* list<bool> elements are one byte each in practice */
		tdec_fail(d, "list size past end of data");
		return false;
	}
	*size = (uint32_t) n;
	return true;
}

/* skip one value of a given type (as a field or as a list element) */
static void
tdec_skip_value(ThriftDec *d, int type, bool elem)
{
	const uint8_t *p;
	uint32_t	len;

	if (d->failed)
		return;
	switch (type)
	{
		case TT_TRUE:
		case TT_FALSE:
			if (elem)
				(void) tdec_bool_elem(d);
			break;
		case TT_I8:
			(void) tdec_i32(d, TT_I8);
			break;
		case TT_I16:
		case TT_I32:
		case TT_I64:
			(void) tdec_varint(d, 10);
			break;
		case TT_DOUBLE:
			(void) tdec_double(d, TT_DOUBLE);
			break;
		case TT_BINARY:
			(void) tdec_binary(d, TT_BINARY, &p, &len);
			break;
		case TT_UUID:
			if (d->end - d->p < 16)
				tdec_fail(d, "truncated uuid");
			else
				d->p += 16;
			break;
		case TT_STRUCT:
			{
				int			id,
							t;

				if (!tdec_struct_begin(d))
					return;
				while (tdec_field(d, &id, &t))
					tdec_skip_value(d, t, false);
				tdec_struct_end(d);
				break;
			}
		case TT_LIST:
		case TT_SET:
			{
				int			et;
				uint32_t	n,
							i;

				if (d->depth >= PQ_THRIFT_MAX_DEPTH)
				{
					tdec_fail(d, "nesting too deep");
					return;
				}
				if (!tdec_list(d, type, &et, &n))
					return;
				d->depth++;
				for (i = 0; i < n && !d->failed; i++)
					tdec_skip_value(d, et, true);
				d->depth--;
				break;
			}
		case TT_MAP:
			{
				uint64_t	n = tdec_varint(d, 5);
				int			kt,
							vt;
				uint64_t	i;

				if (d->failed || n == 0)
					return;
				if (n > d->max_list || n > (uint64_t) (d->end - d->p))
				{
					tdec_fail(d, "map size exceeds limit");
					return;
				}
				if (d->p >= d->end || d->depth >= PQ_THRIFT_MAX_DEPTH)
				{
					tdec_fail(d, "truncated map");
					return;
				}
				kt = *d->p >> 4;
				vt = *d->p & 0x0f;
				d->p++;
				if (kt == 0 || kt > TT_UUID || vt == 0 || vt > TT_UUID)
				{
					tdec_fail(d, "invalid map types");
					return;
				}
				d->depth++;
				for (i = 0; i < n && !d->failed; i++)
				{
					tdec_skip_value(d, kt, true);
					tdec_skip_value(d, vt, true);
				}
				d->depth--;
				break;
			}
		default:
			tdec_fail(d, "invalid type");
	}
}

void
tdec_skip(ThriftDec *d, int type)
{
	tdec_skip_value(d, type, false);
}

/* ---------------- encoder ---------------- */

void
tenc_init(ThriftEnc *e, PqMem *mem, PqBuf *out)
{
	e->mem = mem;
	e->out = out;
	e->failed = false;
	e->depth = 0;
	e->last_id[0] = 0;
}

static void
tenc_bytes(ThriftEnc *e, const void *p, size_t n)
{
	if (e->failed)
		return;
	if (!pq_buf_append(e->mem, e->out, p, n))
		e->failed = true;
}

static void
tenc_uvarint(ThriftEnc *e, uint64_t v)
{
	uint8_t		tmp[10];

	tenc_bytes(e, tmp, pq_put_uvarint(tmp, v));
}

static uint64_t
zz(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

void
tenc_field(ThriftEnc *e, int id, int type)
{
	int			delta = id - e->last_id[e->depth];
	uint8_t		b;

	if (delta > 0 && delta <= 15)
	{
		b = (uint8_t) ((delta << 4) | type);
		tenc_bytes(e, &b, 1);
	}
	else
	{
		b = (uint8_t) type;
		tenc_bytes(e, &b, 1);
		tenc_uvarint(e, zz(id));
	}
	e->last_id[e->depth] = (int16_t) id;
}

void
tenc_i32(ThriftEnc *e, int id, int32_t v)
{
	tenc_field(e, id, TT_I32);
	tenc_uvarint(e, zz(v));
}

void
tenc_i64(ThriftEnc *e, int id, int64_t v)
{
	tenc_field(e, id, TT_I64);
	tenc_uvarint(e, zz(v));
}

void
tenc_i16(ThriftEnc *e, int id, int16_t v)
{
	tenc_field(e, id, TT_I16);
	tenc_uvarint(e, zz(v));
}

void
tenc_i8(ThriftEnc *e, int id, int8_t v)
{
	uint8_t		b = (uint8_t) v;

	tenc_field(e, id, TT_I8);
	tenc_bytes(e, &b, 1);
}

void
tenc_bool(ThriftEnc *e, int id, bool v)
{
	tenc_field(e, id, v ? TT_TRUE : TT_FALSE);
}

void
tenc_binary(ThriftEnc *e, int id, const void *p, size_t len)
{
	tenc_field(e, id, TT_BINARY);
	tenc_uvarint(e, len);
	tenc_bytes(e, p, len);
}

void
tenc_struct_begin(ThriftEnc *e, int id)
{
	if (id > 0)
		tenc_field(e, id, TT_STRUCT);
	if (e->depth >= PQ_THRIFT_MAX_DEPTH)
	{
		e->failed = true;
		return;
	}
	e->depth++;
	e->last_id[e->depth] = 0;
}

void
tenc_struct_end(ThriftEnc *e)
{
	uint8_t		z = 0;

	tenc_bytes(e, &z, 1);
	if (e->depth > 0)
		e->depth--;
}

void
tenc_stop(ThriftEnc *e)
{
	uint8_t		z = 0;

	tenc_bytes(e, &z, 1);
}

void
tenc_list_begin(ThriftEnc *e, int id, int etype, uint32_t n)
{
	uint8_t		b;

	if (id > 0)
		tenc_field(e, id, TT_LIST);
	if (n < 15)
	{
		b = (uint8_t) ((n << 4) | etype);
		tenc_bytes(e, &b, 1);
	}
	else
	{
		b = (uint8_t) (0xf0 | etype);
		tenc_bytes(e, &b, 1);
		tenc_uvarint(e, n);
	}
}

void
tenc_elem_i32(ThriftEnc *e, int32_t v)
{
	tenc_uvarint(e, zz(v));
}

void
tenc_elem_i64(ThriftEnc *e, int64_t v)
{
	tenc_uvarint(e, zz(v));
}

void
tenc_elem_binary(ThriftEnc *e, const void *p, size_t len)
{
	tenc_uvarint(e, len);
	tenc_bytes(e, p, len);
}
