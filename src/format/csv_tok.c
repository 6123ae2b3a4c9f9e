/*-------------------------------------------------------------------------
 *
 * csv_tok.c
 *	  Backend-free CSV record tokenizer (RFC 4180 with a configurable
 *	  delimiter, quote and escape) and a UTF-8 validator.
 *
 * Why our own tokenizer rather than PostgreSQL's COPY parser: COPY's
 * BeginCopyFrom needs a Relation in PostgreSQL 15, which dlake.read_file
 * and schema inference do not have; we need the raw fields of a bad row
 * for soft errors; and a self-contained tokenizer can be fuzzed as a
 * standalone libFuzzer target.
 *
 * Rules: a field is quoted only when its first character is the quote
 * character (a quote inside an unquoted field is literal, as DuckDB and
 * RFC 4180 readers do); inside quotes a doubled quote or the escape
 * character followed by quote/escape stands for that character; after a
 * closing quote only a delimiter, a line break or the end may follow.
 * Line breaks are LF, CRLF or a lone CR.  The record is returned
 * unescaped with per-field offsets and the "was quoted" flag, so the
 * caller can tell an empty string ("") from a NULL (empty unquoted).
 *
 * IDENTIFICATION
 *	  src/format/csv_tok.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "tokenize.h"

/*
 * tok_utf8_valid checks data[0..len) is well-formed UTF-8: no overlong
 * forms, no surrogates, nothing above U+10FFFF.  NUL bytes are rejected
 * too since PostgreSQL text cannot hold them.
 */
bool
tok_utf8_valid(const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *) data;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];

		if (c < 0x80)
		{
			if (c == 0)
				return false;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80)
				return false;
			i += 2;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			unsigned char c1;

			if (i + 2 >= len)
				return false;
			c1 = s[i + 1];
			if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
				return false;
			if (c == 0xE0 && c1 < 0xA0)
				return false;	/* overlong */
			if (c == 0xED && c1 >= 0xA0)
				return false;	/* surrogate */
			i += 3;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			unsigned char c1;

			if (i + 3 >= len)
				return false;
			c1 = s[i + 1];
			if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
				(s[i + 3] & 0xC0) != 0x80)
				return false;
			if (c == 0xF0 && c1 < 0x90)
				return false;	/* overlong */
			if (c == 0xF4 && c1 >= 0x90)
				return false;	/* > U+10FFFF */
			i += 4;
		}
		else
			return false;
	}
	return true;
}

/* grow rec->buf to hold at least need more bytes; false on limit/OOM */
static bool
csv_grow(CsvRecord *rec, size_t want)
{
	size_t		cap = rec->bufcap ? rec->bufcap : 256;
	char	   *nb;

	while (cap < want)
		cap *= 2;
	nb = rec->realloc_fn(rec->alloc_arg, rec->buf, cap);
	if (nb == NULL)
		return false;
	rec->buf = nb;
	rec->bufcap = cap;
	return true;
}

static inline bool
csv_reserve(CsvRecord *rec, size_t need, size_t limit)
{
	size_t		want = rec->buflen + need;

	if (want > limit)
		return false;
	if (want > rec->bufcap)
		return csv_grow(rec, want);
	return true;
}

/*
 * End of the unquoted run starting at pos: the first delimiter, CR or LF
 * (or len).  Eight bytes at a time: a byte equal to c makes
 * (x ^ c*0x01..) have a zero byte, found with the classic
 * (v - 0x01..) & ~v & 0x80.. test (exact as a yes/no answer).
 */
static inline size_t
csv_scan_plain(const char *data, size_t pos, size_t len, char delim)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t dm = ones * (unsigned char) delim;
	const uint64_t nm = ones * (unsigned char) '\n';
	const uint64_t cm = ones * (unsigned char) '\r';

	while (pos + 8 <= len)
	{
		uint64_t	x,
					a,
					b,
					c;

		uint64_t	hit;

		memcpy(&x, data + pos, 8);
		a = x ^ dm;
		b = x ^ nm;
		c = x ^ cm;
		hit = (((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c)) & highs;
		if (hit)
		{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* the lowest flagged byte is always a true match */
			return pos + (__builtin_ctzll(hit) >> 3);
#else
			break;
#endif
		}
		pos += 8;
	}
	while (pos < len && data[pos] != delim && data[pos] != '\n' && data[pos] != '\r')
		pos++;
	return pos;
}

static inline bool
csv_append(CsvRecord *rec, const char *p, size_t n, size_t limit)
{
	if (n == 0)
		return true;
	if (!csv_reserve(rec, n, limit))
		return false;
	memcpy(rec->buf + rec->buflen, p, n);
	rec->buflen += n;
	return true;
}

static bool
csv_add_field(CsvRecord *rec, size_t off, bool quoted, size_t limit)
{
	if (rec->nfields >= rec->fieldcap)
	{
		int			cap = rec->fieldcap ? rec->fieldcap * 2 : 16;
		size_t	   *o,
				   *l;
		bool	   *q;

		if (cap > 100000)
			return false;		/* absurd column count */
		o = rec->realloc_fn(rec->alloc_arg, rec->field_off, cap * sizeof(size_t));
		if (o == NULL)
			return false;
		rec->field_off = o;
		l = rec->realloc_fn(rec->alloc_arg, rec->field_len, cap * sizeof(size_t));
		if (l == NULL)
			return false;
		rec->field_len = l;
		q = rec->realloc_fn(rec->alloc_arg, rec->field_quoted, cap * sizeof(bool));
		if (q == NULL)
			return false;
		rec->field_quoted = q;
		rec->fieldcap = cap;
	}
	rec->field_off[rec->nfields] = off;
	rec->field_len[rec->nfields] = rec->buflen - off;
	rec->field_quoted[rec->nfields] = quoted;
	rec->nfields++;
	/* NUL terminator (not counted in the length) */
	return csv_append(rec, "", 1, limit + 1);
}

/*
 * csv_parse_record parses one record; see tokenize.h for the contract.
 */
CsvStatus
csv_parse_record(const CsvDialect *d, const char *data, size_t len,
				 bool at_eof, CsvRecord *rec, size_t *consumed)
{
	size_t		pos = 0;
	size_t		limit = d->max_record_bytes ? d->max_record_bytes : ((size_t) 1 << 30);
	char		delim = d->delimiter;
	char		quote = d->quote;
	char		escape = d->escape;

	rec->nfields = 0;
	rec->buflen = 0;
	rec->newlines = 0;
	rec->error = NULL;
	*consumed = 0;

	if (len == 0)
		return at_eof ? CSV_END : CSV_NEED_MORE;

	for (;;)
	{
		size_t		fstart = rec->buflen;
		bool		quoted = false;
		bool		keep = rec->keep == NULL ||
			(rec->nfields < rec->nkeep && rec->keep[rec->nfields]);

		if (pos < len && data[pos] == quote)
		{
			quoted = true;
			pos++;
			for (;;)
			{
				size_t		span = pos;
				char		c;

				/* copy the run of ordinary characters at once */
				while (span < len && data[span] != quote && data[span] != escape)
				{
					if (data[span] == '\n')
						rec->newlines++;
					span++;
				}
				if (span > pos)
				{
					if (keep && !csv_append(rec, data + pos, span - pos, limit))
						goto too_long;
					pos = span;
				}
				if (pos >= len)
				{
					if (!at_eof)
						return CSV_NEED_MORE;
					rec->error = "unterminated quoted field";
					return CSV_ERROR;
				}
				c = data[pos];
				if (c == escape && escape != quote)
				{
					if (pos + 1 >= len)
					{
						if (!at_eof)
							return CSV_NEED_MORE;
						rec->error = "unterminated quoted field";
						return CSV_ERROR;
					}
					if (data[pos + 1] == quote || data[pos + 1] == escape)
					{
						if (keep && !csv_append(rec, data + pos + 1, 1, limit))
							goto too_long;
						pos += 2;
					}
					else
					{
						if (keep && !csv_append(rec, data + pos, 1, limit))
							goto too_long;
						pos++;
					}
					continue;
				}
				/* c == quote */
				if (pos + 1 >= len && !at_eof)
					return CSV_NEED_MORE;
				if (pos + 1 < len && data[pos + 1] == quote)
				{
					if (keep && !csv_append(rec, &quote, 1, limit))
						goto too_long;
					pos += 2;
					continue;
				}
				pos++;			/* closing quote */
				break;
			}
		}
		else
		{
			size_t		span = csv_scan_plain(data, pos, len, delim);

			if (span >= len && !at_eof)
				return CSV_NEED_MORE;
			if (keep && !csv_append(rec, data + pos, span - pos, limit))
				goto too_long;
			pos = span;
		}

		if (!csv_add_field(rec, fstart, quoted, limit))
			goto too_long;

		if (pos >= len)
		{
			*consumed = pos;
			return CSV_OK;
		}
		if (data[pos] == delim)
		{
			pos++;
			continue;
		}
		if (data[pos] == '\n')
		{
			pos++;
			rec->newlines++;
			*consumed = pos;
			return CSV_OK;
		}
		if (data[pos] == '\r')
		{
			if (pos + 1 >= len && !at_eof)
				return CSV_NEED_MORE;
			pos++;
			if (pos < len && data[pos] == '\n')
				pos++;
			rec->newlines++;
			*consumed = pos;
			return CSV_OK;
		}
		rec->error = "unexpected character after closing quote";
		return CSV_ERROR;
	}

too_long:
	rec->error = "record too long or too many fields";
	return CSV_ERROR;
}

void
csv_record_free(CsvRecord *rec, void (*free_fn) (void *arg, void *ptr))
{
	if (rec->buf)
		free_fn(rec->alloc_arg, rec->buf);
	if (rec->field_off)
		free_fn(rec->alloc_arg, rec->field_off);
	if (rec->field_len)
		free_fn(rec->alloc_arg, rec->field_len);
	if (rec->field_quoted)
		free_fn(rec->alloc_arg, rec->field_quoted);
	rec->buf = NULL;
	rec->field_off = NULL;
	rec->field_len = NULL;
	rec->field_quoted = NULL;
	rec->bufcap = rec->buflen = 0;
	rec->fieldcap = rec->nfields = 0;
}
