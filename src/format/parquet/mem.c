/*-------------------------------------------------------------------------
 *
 * mem.c
 *	  Counting allocator with a hard limit, arenas, growable buffers and
 *	  error buffers for the Parquet library.
 *
 * Every allocation carries a small header holding its size so that the
 * live byte count stays exact; once the limit would be passed the
 * allocation fails and the caller reports PARQUET_ERR_LIMIT.  That is what
 * keeps hostile declared sizes from turning into unbounded memory use.
 *
 * IDENTIFICATION
 *	  src/format/parquet/mem.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>

#include "format/parquet/pq_internal.h"

#define PQ_HDR 16				/* keeps 16-byte alignment of the payload */

void
pq_mem_init(PqMem *m, const ParquetAllocFuncs *funcs, size_t limit)
{
	memset(m, 0, sizeof(*m));
	if (funcs && funcs->alloc && funcs->free)
	{
		m->funcs = *funcs;
		m->has_funcs = true;
	}
	m->limit = limit;
}

/* check and account for `size` more bytes */
static bool
pq_mem_take(PqMem *m, size_t size)
{
	if (m->limit && (size > m->limit || m->used > m->limit - size))
	{
		m->limit_hit = true;
		return false;
	}
	m->used += size;
	if (m->used > m->peak)
		m->peak = m->used;
	return true;
}

void *
pq_alloc(PqMem *m, size_t size)
{
	size_t		total;
	uint8_t    *p;

	if (size > SIZE_MAX - PQ_HDR)
	{
		m->limit_hit = true;
		return NULL;
	}
	total = size + PQ_HDR;
	if (!pq_mem_take(m, total))
		return NULL;
	m->limit_hit = false;
	p = m->has_funcs ? m->funcs.alloc(m->funcs.arg, total) : malloc(total);
	if (!p)
	{
		m->used -= total;
		return NULL;
	}
	memcpy(p, &total, sizeof(size_t));
	return p + PQ_HDR;
}

void *
pq_calloc(PqMem *m, size_t size)
{
	void	   *p = pq_alloc(m, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *
pq_realloc(PqMem *m, void *ptr, size_t size)
{
	uint8_t    *base;
	size_t		old;
	size_t		total;
	uint8_t    *np;

	if (!ptr)
		return pq_alloc(m, size);
	base = (uint8_t *) ptr - PQ_HDR;
	memcpy(&old, base, sizeof(size_t));
	if (size > SIZE_MAX - PQ_HDR)
	{
		m->limit_hit = true;
		return NULL;
	}
	total = size + PQ_HDR;
	if (total > old)
	{
		if (!pq_mem_take(m, total - old))
			return NULL;
	}
	m->limit_hit = false;
	if (m->has_funcs)
	{
		if (m->funcs.realloc)
			np = m->funcs.realloc(m->funcs.arg, base, old, total);
		else
		{
			np = m->funcs.alloc(m->funcs.arg, total);
			if (np)
			{
				memcpy(np, base, old < total ? old : total);
				m->funcs.free(m->funcs.arg, base, old);
			}
		}
	}
	else
		np = realloc(base, total);
	if (!np)
	{
		if (total > old)
			m->used -= total - old;
		return NULL;
	}
	if (total < old)
		m->used -= old - total;
	memcpy(np, &total, sizeof(size_t));
	return np + PQ_HDR;
}

void
pq_free(PqMem *m, void *ptr)
{
	uint8_t    *base;
	size_t		old;

	if (!ptr)
		return;
	base = (uint8_t *) ptr - PQ_HDR;
	memcpy(&old, base, sizeof(size_t));
	m->used -= old;
	if (m->has_funcs)
		m->funcs.free(m->funcs.arg, base, old);
	else
		free(base);
}

char *
pq_strndup(PqMem *m, const char *s, size_t len)
{
	char	   *p = pq_alloc(m, len + 1);

	if (p)
	{
		if (len)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---------------- arena ---------------- */

struct PqArenaBlock
{
	PqArenaBlock *next;
	size_t		size;
	/* payload follows, 16-byte aligned */
};

#define PQ_ARENA_BLOCK 32768
#define PQ_ARENA_HDR ((sizeof(PqArenaBlock) + 15) & ~(size_t) 15)

void
pq_arena_init(PqArena *a, PqMem *m)
{
	a->mem = m;
	a->head = NULL;
	a->cur = NULL;
	a->left = 0;
}

void *
pq_arena_alloc(PqArena *a, size_t size)
{
	void	   *p;

	size = (size + 15) & ~(size_t) 15;
	if (size == 0)
		size = 16;
	if (size > a->left)
	{
		size_t		bsz = size > PQ_ARENA_BLOCK / 4 ? size : PQ_ARENA_BLOCK;
		PqArenaBlock *b;

		if (bsz > SIZE_MAX - PQ_ARENA_HDR)
			return NULL;
		b = pq_alloc(a->mem, PQ_ARENA_HDR + bsz);
		if (!b)
			return NULL;
		b->next = a->head;
		b->size = bsz;
		a->head = b;
		if (bsz != size)
		{
			/* regular block: becomes the current one */
			a->cur = (char *) b + PQ_ARENA_HDR;
			a->left = bsz;
		}
		else
			return (char *) b + PQ_ARENA_HDR;	/* dedicated block */
	}
	p = a->cur;
	a->cur += size;
	a->left -= size;
	return p;
}

void
pq_arena_free(PqArena *a)
{
	PqArenaBlock *b = a->head;

	while (b)
	{
		PqArenaBlock *n = b->next;

		pq_free(a->mem, b);
		b = n;
	}
	a->head = NULL;
	a->cur = NULL;
	a->left = 0;
}

/* ---------------- buffers ---------------- */

bool
pq_buf_grow(PqMem *m, PqBuf *b, size_t extra)
{
	size_t		need;
	size_t		ncap;
	uint8_t    *nd;

	if (extra > SIZE_MAX - b->len)
		return false;
	need = b->len + extra;
	if (need <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2)
		{
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	nd = pq_realloc(m, b->data, ncap);
	if (!nd && ncap > need)
	{
		/* the doubled size may be what hit the limit: try exact */
		ncap = need;
		nd = pq_realloc(m, b->data, ncap);
	}
	if (!nd)
		return false;
	b->data = nd;
	b->cap = ncap;
	return true;
}

void
pq_buf_free(PqMem *m, PqBuf *b)
{
	pq_free(m, b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---------------- errors ---------------- */

ParquetStatus
pq_seterr(PqErr *e, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;

	if (e->status != PARQUET_OK && e->status != PARQUET_END)
		return e->status;
	e->status = st;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return st;
}

ParquetStatus
pq_nomem(PqErr *e, PqMem *m, const char *what)
{
	if (m->limit_hit)
		return pq_seterr(e, PARQUET_ERR_LIMIT,
						 "%s: memory limit of %zu bytes exceeded (%zu bytes in use)",
						 what, m->limit, m->used);
	return pq_seterr(e, PARQUET_ERR_NOMEM, "%s: out of memory", what);
}

const char *
parquet_status_name(ParquetStatus st)
{
	switch (st)
	{
		case PARQUET_OK:
			return "ok";
		case PARQUET_END:
			return "end of data";
		case PARQUET_ERR_IO:
			return "i/o error";
		case PARQUET_ERR_CORRUPT:
			return "corrupt file";
		case PARQUET_ERR_UNSUPPORTED:
			return "unsupported feature";
		case PARQUET_ERR_LIMIT:
			return "limit exceeded";
		case PARQUET_ERR_NOMEM:
			return "out of memory";
		case PARQUET_ERR_INVALID:
			return "invalid argument";
		case PARQUET_ERR_RANGE:
			return "value out of range";
	}
	return "unknown status";
}
