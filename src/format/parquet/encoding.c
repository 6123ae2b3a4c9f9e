/*-------------------------------------------------------------------------
 *
 * encoding.c
 *	  Bit-level Parquet encodings: the RLE / bit-packed hybrid (decode and
 *	  encode), legacy BIT_PACKED levels, and DELTA_BINARY_PACKED decoding.
 *
 * Decoders are streaming (they keep a position and hand out values on
 * demand), never trust declared counts for allocation, and fail cleanly
 * on truncated input.  Trailing partial bit-packed groups are zero-padded
 * rather than rejected, as several writers emit them.
 *
 * IDENTIFICATION
 *	  src/format/parquet/encoding.c
 *
 *-------------------------------------------------------------------------
 */
#include "format/parquet/pq_internal.h"

/* ---------------- bit reader (LSB first) ---------------- */

typedef struct BitReader
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	acc;
	int			bits;
} BitReader;

/* read nb (<= 32) bits; past the end reads zeros */
static inline uint32_t
br_get(BitReader *br, int nb)
{
	uint32_t	v;

	while (br->bits < nb)
	{
		uint64_t	b = br->p < br->end ? *br->p++ : 0;

		br->acc |= b << br->bits;
		br->bits += 8;
	}
	v = (uint32_t) (br->acc & (nb == 32 ? 0xffffffffu : ((1u << nb) - 1)));
	br->acc = nb == 64 ? 0 : br->acc >> nb;
	br->bits -= nb;
	return v;
}

/* unpack 8 values of width bw (<= 32) from exactly bw bytes */
static inline void
unpack8(const uint8_t *p, int bw, uint32_t *out)
{
	uint64_t	acc = 0;
	int			bits = 0;
	uint32_t	mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
	int			k;

	if (bw == 0)
	{
		memset(out, 0, 8 * sizeof(uint32_t));
		return;
	}
	if (bw == 1)
	{
		uint8_t		b = p[0];

		for (k = 0; k < 8; k++)
			out[k] = (b >> k) & 1;
		return;
	}
	for (k = 0; k < 8; k++)
	{
		while (bits < bw)
		{
			acc |= (uint64_t) (*p++) << bits;
			bits += 8;
		}
		out[k] = (uint32_t) acc & mask;
		acc >>= bw;
		bits -= bw;
	}
}

/* ---------------- RLE / bit-packed hybrid decoder ---------------- */

void
pq_rle_init(PqRleDec *d, const uint8_t *p, size_t len, int bw)
{
	memset(d, 0, sizeof(*d));
	d->p = p;
	d->end = p + len;
	d->bw = bw;
	d->grp_pos = 8;
}

static int	rle_grp_n(PqRleDec *d);

/* start the next run; false at end of data or on malformed input */
static bool
rle_next_run(PqRleDec *d)
{
	uint64_t	h;

	if (!pq_get_uvarint(&d->p, d->end, &h))
	{
		d->failed = true;
		return false;
	}
	if (h & 1)
	{
		uint64_t	groups = h >> 1;
		uint64_t	avail = (uint64_t) (d->end - d->p);
		uint64_t	bytes;

		if (groups == 0 || groups > (1u << 28))
		{
			d->failed = true;
			return false;
		}
		bytes = groups * (uint64_t) d->bw;
		if (bytes > avail)
		{
			/* truncated final run: keep what is there */
			if (d->bw == 0)
			{
				d->failed = true;
				return false;
			}
			groups = (avail * 8 / d->bw + 7) / 8;
			if (groups == 0)
			{
				d->failed = true;
				return false;
			}
			d->bp_left = (uint32_t) (avail * 8 / d->bw);
			bytes = avail;
		}
		else
			d->bp_left = (uint32_t) (groups * 8);
		d->bp = d->p;
		d->p += bytes;
		d->grp_pos = 8;
	}
	else
	{
		uint64_t	count = h >> 1;
		int			nbytes = (d->bw + 7) / 8;
		uint32_t	v = 0;
		int			i;

		if (count == 0 || count > INT32_MAX)
		{
			d->failed = true;
			return false;
		}
		if (d->end - d->p < nbytes)
		{
			d->failed = true;
			return false;
		}
		for (i = 0; i < nbytes; i++)
			v |= (uint32_t) d->p[i] << (8 * i);
		d->p += nbytes;
		d->rle_left = (uint32_t) count;
		d->rle_value = v;
	}
	return true;
}

/* unpack the next group of the current bit-packed run into grp */
static void
rle_load_group(PqRleDec *d)
{
	size_t		avail = (size_t) (d->p - d->bp);	/* run bytes not consumed */

	if (avail >= (size_t) d->bw)
	{
		unpack8(d->bp, d->bw, d->grp);
		d->bp += d->bw;
	}
	else
	{
		uint8_t		tmp[32];

		memset(tmp, 0, sizeof(tmp));
		memcpy(tmp, d->bp, avail);
		unpack8(tmp, d->bw, d->grp);
		d->bp += avail;
	}
	d->grp_pos = 8 - rle_grp_n(d);
}

/* number of valid values in the group being loaded */
static int
rle_grp_n(PqRleDec *d)
{
	int			n = d->bp_left >= 8 ? 8 : (int) d->bp_left;

	d->bp_left -= n;
	/* valid values are placed at the end of grp: shift them */
	if (n < 8)
		memmove(d->grp + (8 - n), d->grp, n * sizeof(uint32_t));
	return n;
}

bool
pq_rle_get(PqRleDec *d, uint32_t *out, int n)
{
	while (n > 0)
	{
		if (d->rle_left)
		{
			int			k = (uint32_t) n < d->rle_left ? n : (int) d->rle_left;
			int			i;
			uint32_t	v = d->rle_value;

			for (i = 0; i < k; i++)
				out[i] = v;
			out += k;
			n -= k;
			d->rle_left -= k;
			continue;
		}
		if (d->grp_pos < 8)
		{
			int			k = 8 - d->grp_pos;

			if (k > n)
				k = n;
			memcpy(out, d->grp + d->grp_pos, k * sizeof(uint32_t));
			d->grp_pos += k;
			out += k;
			n -= k;
			continue;
		}
		if (d->bp_left)
		{
			/* fast path: whole groups straight into the output */
			while (n >= 8 && d->bp_left >= 8 && (size_t) (d->p - d->bp) >= (size_t) d->bw)
			{
				unpack8(d->bp, d->bw, out);
				d->bp += d->bw;
				d->bp_left -= 8;
				out += 8;
				n -= 8;
			}
			if (n > 0 && d->bp_left)
				rle_load_group(d);
			continue;
		}
		if (d->failed || d->p >= d->end || !rle_next_run(d))
		{
			d->failed = true;
			return false;
		}
	}
	return true;
}

bool
pq_rle_get16(PqRleDec *d, int16_t *out, int n)
{
	uint32_t	tmp[256];

	while (n > 0)
	{
		int			k = n > 256 ? 256 : n;
		int			i;

		if (!pq_rle_get(d, tmp, k))
			return false;
		for (i = 0; i < k; i++)
			out[i] = (int16_t) tmp[i];
		out += k;
		n -= k;
	}
	return true;
}

/* legacy BIT_PACKED: MSB first, no runs */
bool
pq_bitpacked_get16(PqBitPackedDec *d, int16_t *out, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		uint32_t	v = 0;
		int			b;

		if ((d->bitpos + (uint64_t) d->bw + 7) / 8 > d->len)
			return false;
		for (b = 0; b < d->bw; b++)
		{
			uint64_t	pos = d->bitpos++;

			v = (v << 1) | ((d->p[pos >> 3] >> (7 - (pos & 7))) & 1);
		}
		out[i] = (int16_t) v;
	}
	return true;
}

/* ---------------- RLE / bit-packed hybrid encoder ---------------- */

static inline uint8_t *
put_run_header(uint8_t *o, uint64_t h)
{
	return o + pq_put_uvarint(o, h);
}

static inline uint8_t *
pack8(uint8_t *o, const uint32_t *v, int bw)
{
	uint64_t	acc = 0;
	int			bits = 0;
	int			k;

	for (k = 0; k < 8; k++)
	{
		acc |= (uint64_t) v[k] << bits;
		bits += bw;
		while (bits >= 8)
		{
			*o++ = (uint8_t) acc;
			acc >>= 8;
			bits -= 8;
		}
	}
	return o;
}

#define PQ_RLE_ENCODER(NAME, T) \
bool \
NAME(PqMem *m, PqBuf *out, const T *a, size_t n, int bw) \
{ \
	size_t		bound = (n / 8 + 1) * ((size_t) bw + 10) + 16; \
	uint8_t    *o; \
	size_t		i = 0; \
	int			vbytes = (bw + 7) / 8; \
 \
	if (!pq_buf_reserve(m, out, bound)) \
		return false; \
	o = out->data + out->len; \
	while (i < n) \
	{ \
		T			v = a[i]; \
		size_t		j = i + 1; \
		size_t		start, \
					k, \
					groups, \
					g; \
 \
		while (j < n && a[j] == v && j - i < ((size_t) 1 << 30)) \
			j++; \
		if (j - i >= 8) \
		{ \
			int			b; \
 \
			o = put_run_header(o, (uint64_t) (j - i) << 1); \
			for (b = 0; b < vbytes; b++) \
				*o++ = (uint8_t) ((uint32_t) v >> (8 * b)); \
			i = j; \
			continue; \
		} \
		start = i; \
		k = i; \
		groups = 0; \
		for (;;) \
		{ \
			size_t		r; \
 \
			k += 8; \
			groups++; \
			if (k >= n || groups >= ((size_t) 1 << 20)) \
				break; \
			r = 1; \
			while (k + r < n && r < 8 && a[k + r] == a[k]) \
				r++; \
			if (r >= 8) \
				break; \
		} \
		o = put_run_header(o, ((uint64_t) groups << 1) | 1); \
		for (g = 0; g < groups; g++) \
		{ \
			uint32_t	tmp[8]; \
			size_t		base = start + g * 8; \
			int			q; \
 \
			for (q = 0; q < 8; q++) \
				tmp[q] = base + q < n ? (uint32_t) a[base + q] : 0; \
			o = pack8(o, tmp, bw); \
		} \
		i = start + groups * 8; \
	} \
	out->len = (size_t) (o - out->data); \
	return true; \
}

PQ_RLE_ENCODER(pq_rle_encode32, uint32_t)
PQ_RLE_ENCODER(pq_rle_encode8, uint8_t)

/* ---------------- DELTA_BINARY_PACKED ---------------- */

#define PQ_DELTA_MAX_BLOCK (1u << 20)

static bool
get_zigzag(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t	u;

	if (!pq_get_uvarint(p, end, &u))
		return false;
	*v = (int64_t) ((u >> 1) ^ (~(u & 1) + 1));
	return true;
}

static bool
delta_header(const uint8_t **p, const uint8_t *end, uint64_t *block_size,
			 uint64_t *miniblocks, uint64_t *total, int64_t *first)
{
	if (!pq_get_uvarint(p, end, block_size) ||
		!pq_get_uvarint(p, end, miniblocks) ||
		!pq_get_uvarint(p, end, total) ||
		!get_zigzag(p, end, first))
		return false;
	if (*block_size == 0 || *block_size % 128 != 0 || *block_size > PQ_DELTA_MAX_BLOCK)
		return false;
	if (*miniblocks == 0 || *miniblocks > 256 || *block_size % *miniblocks != 0 ||
		(*block_size / *miniblocks) % 32 != 0)
		return false;
	if (*total > INT32_MAX)
		return false;
	return true;
}

bool
pq_delta_init(PqDeltaDec *d, PqMem *m, const uint8_t *p, size_t len, bool is64)
{
	uint64_t	bs,
				mb,
				total;
	int64_t		first;

	memset(d, 0, sizeof(*d));
	d->p = p;
	d->end = p + len;
	d->is64 = is64;
	if (!delta_header(&d->p, d->end, &bs, &mb, &total, &first))
	{
		d->failed = true;
		return false;
	}
	d->block_size = (uint32_t) bs;
	d->miniblocks = (uint32_t) mb;
	d->per_mini = (uint32_t) (bs / mb);
	d->total = total;
	d->last = (uint64_t) first;
	d->first_pending = total > 0;
	d->mini_idx = d->miniblocks;	/* forces a block header read */
	d->buf = pq_alloc(m, sizeof(uint64_t) * d->per_mini);
	if (!d->buf)
	{
		d->failed = true;
		return false;
	}
	return true;
}

void
pq_delta_free(PqDeltaDec *d, PqMem *m)
{
	pq_free(m, d->buf);
	d->buf = NULL;
}

static bool
delta_load_mini(PqDeltaDec *d)
{
	int			w;
	size_t		bytes;
	BitReader	br;
	uint32_t	i;

	if (d->mini_idx >= d->miniblocks)
	{
		int64_t		md;

		if (!get_zigzag(&d->p, d->end, &md))
			return false;
		d->min_delta = (uint64_t) md;
		if ((size_t) (d->end - d->p) < d->miniblocks)
			return false;
		memcpy(d->widths, d->p, d->miniblocks);
		d->p += d->miniblocks;
		d->mini_idx = 0;
	}
	w = d->widths[d->mini_idx++];
	/*
	 * Widths up to 64 are accepted for INT32 too: some writers (DuckDB)
	 * compute INT32 deltas in 64 bits and need 33; the arithmetic wraps
	 * modulo 2^32 afterwards, which gives the right values.
	 */
	if (w > 64)
		return false;
	bytes = (size_t) d->per_mini * w / 8;
	br.p = d->p;
	br.end = d->p + ((size_t) (d->end - d->p) < bytes ? (size_t) (d->end - d->p) : bytes);
	br.acc = 0;
	br.bits = 0;
	if (w == 0)
		memset(d->buf, 0, sizeof(uint64_t) * d->per_mini);
	else if (w <= 32)
	{
		for (i = 0; i < d->per_mini; i++)
			d->buf[i] = br_get(&br, w);
	}
	else
	{
		for (i = 0; i < d->per_mini; i++)
		{
			uint64_t	lo = br_get(&br, 32);
			uint64_t	hi = br_get(&br, w - 32);

			d->buf[i] = lo | (hi << 32);
		}
	}
	d->p = br.end;
	d->buf_pos = 0;
	d->buf_len = d->per_mini;
	return true;
}

bool
pq_delta_get(PqDeltaDec *d, int64_t *out, int n)
{
	int			i;

	if ((uint64_t) n > d->total)
	{
		d->failed = true;
		return false;
	}
	for (i = 0; i < n; i++)
	{
		if (d->first_pending)
		{
			d->first_pending = false;
		}
		else
		{
			if (d->buf_pos >= d->buf_len && !delta_load_mini(d))
			{
				d->failed = true;
				return false;
			}
			d->last += d->min_delta + d->buf[d->buf_pos++];
			if (!d->is64)
				d->last = (uint64_t) (int64_t) (int32_t) (uint32_t) d->last;
		}
		out[i] = (int64_t) d->last;
		d->total--;
	}
	return true;
}

const uint8_t *
pq_delta_end(const uint8_t *p, size_t len, bool is64)
{
	const uint8_t *end = p + len;
	uint64_t	bs,
				mb,
				total;
	int64_t		first;
	uint64_t	remaining;
	uint64_t	per_mini;

	if (!delta_header(&p, end, &bs, &mb, &total, &first))
		return NULL;
	per_mini = bs / mb;
	remaining = total > 0 ? total - 1 : 0;
	while (remaining > 0)
	{
		int64_t		md;
		const uint8_t *widths;
		uint64_t	i;

		if (!get_zigzag(&p, end, &md))
			return NULL;
		if ((uint64_t) (end - p) < mb)
			return NULL;
		widths = p;
		p += mb;
		for (i = 0; i < mb && remaining > 0; i++)
		{
			uint64_t	bytes;

			if (widths[i] > 64)
				return NULL;
			bytes = per_mini * widths[i] / 8;
			if (bytes > (uint64_t) (end - p))
				bytes = (uint64_t) (end - p);
			p += bytes;
			remaining -= remaining < per_mini ? remaining : per_mini;
		}
	}
	return p;
}
