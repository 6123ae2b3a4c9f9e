/*-------------------------------------------------------------------------
 *
 * json_tok.c
 *	  Backend-free parser for one JSON-lines record: a line holding one
 *	  JSON object.  Returns the top-level keys with each value's type, its
 *	  raw JSON text (for jsonb columns) and, for strings, the unescaped
 *	  text.  Nested objects and arrays are fully validated (strict RFC 8259
 *	  grammar, nesting limit) but not materialised.
 *
 * Why not cJSON: cJSON keeps numbers as doubles (int8 and numeric values
 * would lose digits) and builds a tree per line; why not PostgreSQL's
 * pg_parse_json: this file must build into a standalone fuzz target.
 *
 * IDENTIFICATION
 *	  src/format/json_tok.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "tokenize.h"

typedef struct JsonParser
{
	const char *s;
	size_t		len;
	size_t		pos;
	JsonRecord *rec;
} JsonParser;

static bool json_value(JsonParser *p, int depth, JsonTokType *type, bool store,
					   size_t *str_off, size_t *str_len);

static bool
json_fail(JsonParser *p, const char *msg)
{
	if (p->rec->error == NULL)
	{
		p->rec->error = msg;
		p->rec->error_pos = p->pos;
	}
	return false;
}

static void
json_ws(JsonParser *p)
{
	while (p->pos < p->len)
	{
		char		c = p->s[p->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			p->pos++;
		else
			break;
	}
}

static bool
json_buf_append(JsonParser *p, const char *d, size_t n)
{
	JsonRecord *rec = p->rec;

	if (rec->buflen + n > rec->bufcap)
	{
		size_t		cap = rec->bufcap ? rec->bufcap : 256;
		char	   *nb;

		while (cap < rec->buflen + n)
			cap *= 2;
		nb = rec->realloc_fn(rec->alloc_arg, rec->buf, cap);
		if (nb == NULL)
			return json_fail(p, "out of memory");
		rec->buf = nb;
		rec->bufcap = cap;
	}
	memcpy(rec->buf + rec->buflen, d, n);
	rec->buflen += n;
	return true;
}

static int
json_hex4(const char *s)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * json_string parses a string starting at the opening quote; when store,
 * the unescaped UTF-8 text is appended to rec->buf (NUL-terminated).
 */
static bool
json_string(JsonParser *p, bool store, size_t *off, size_t *slen)
{
	size_t		start = p->rec->buflen;

	p->pos++;					/* opening quote */
	for (;;)
	{
		size_t		run = p->pos;
		unsigned char c;

		while (run < p->len)
		{
			c = (unsigned char) p->s[run];
			if (c == '"' || c == '\\' || c < 0x20)
				break;
			run++;
		}
		if (store && run > p->pos && !json_buf_append(p, p->s + p->pos, run - p->pos))
			return false;
		p->pos = run;
		if (p->pos >= p->len)
			return json_fail(p, "unterminated string");
		c = (unsigned char) p->s[p->pos];
		if (c == '"')
		{
			p->pos++;
			break;
		}
		if (c < 0x20)
			return json_fail(p, "control character in string must be escaped");
		/* backslash */
		if (p->pos + 1 >= p->len)
			return json_fail(p, "unterminated string");
		c = (unsigned char) p->s[p->pos + 1];
		if (c == 'u')
		{
			int			cp;
			char		out[4];
			int			n;

			if (p->pos + 6 > p->len || (cp = json_hex4(p->s + p->pos + 2)) < 0)
				return json_fail(p, "invalid \\u escape");
			p->pos += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF)
			{
				int			lo;

				if (p->pos + 6 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
					(lo = json_hex4(p->s + p->pos + 2)) < 0xDC00 || lo > 0xDFFF)
					return json_fail(p, "unpaired Unicode surrogate in \\u escape");
				p->pos += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			else if (cp >= 0xDC00 && cp <= 0xDFFF)
				return json_fail(p, "unpaired Unicode surrogate in \\u escape");
			if (cp == 0)
				return json_fail(p, "\\u0000 cannot be converted to text");
			if (cp < 0x80)
			{
				out[0] = (char) cp;
				n = 1;
			}
			else if (cp < 0x800)
			{
				out[0] = (char) (0xC0 | (cp >> 6));
				out[1] = (char) (0x80 | (cp & 0x3F));
				n = 2;
			}
			else if (cp < 0x10000)
			{
				out[0] = (char) (0xE0 | (cp >> 12));
				out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[2] = (char) (0x80 | (cp & 0x3F));
				n = 3;
			}
			else
			{
				out[0] = (char) (0xF0 | (cp >> 18));
				out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
				out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[3] = (char) (0x80 | (cp & 0x3F));
				n = 4;
			}
			if (store && !json_buf_append(p, out, n))
				return false;
			continue;
		}
		else
		{
			char		e;

			switch (c)
			{
				case '"':
					e = '"';
					break;
				case '\\':
					e = '\\';
					break;
				case '/':
					e = '/';
					break;
				case 'b':
					e = '\b';
					break;
				case 'f':
					e = '\f';
					break;
				case 'n':
					e = '\n';
					break;
				case 'r':
					e = '\r';
					break;
				case 't':
					e = '\t';
					break;
				default:
					return json_fail(p, "invalid escape in string");
			}
			if (store && !json_buf_append(p, &e, 1))
				return false;
			p->pos += 2;
		}
	}
	if (store)
	{
		*off = start;
		*slen = p->rec->buflen - start;
		if (!json_buf_append(p, "", 1))
			return false;
	}
	return true;
}

static bool
json_number(JsonParser *p)
{
	const char *s = p->s;
	size_t		i = p->pos;

	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len)
		return json_fail(p, "invalid number");
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
	{
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	else
		return json_fail(p, "invalid number");
	if (i < p->len && s[i] == '.')
	{
		i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			return json_fail(p, "invalid number");
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			return json_fail(p, "invalid number");
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	p->pos = i;
	return true;
}

static bool
json_literal(JsonParser *p, const char *lit)
{
	size_t		n = strlen(lit);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
		return json_fail(p, "invalid literal");
	p->pos += n;
	return true;
}

/* json_container validates a nested object or array (not stored) */
static bool
json_container(JsonParser *p, int depth, bool is_object)
{
	char		close = is_object ? '}' : ']';
	JsonTokType t;

	if (depth > p->rec->max_depth)
		return json_fail(p, "JSON nested too deeply");
	p->pos++;
	json_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close)
	{
		p->pos++;
		return true;
	}
	for (;;)
	{
		if (is_object)
		{
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return json_fail(p, "expected string key");
			if (!json_string(p, false, NULL, NULL))
				return false;
			json_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return json_fail(p, "expected \":\"");
			p->pos++;
			json_ws(p);
		}
		if (!json_value(p, depth + 1, &t, false, NULL, NULL))
			return false;
		json_ws(p);
		if (p->pos >= p->len)
			return json_fail(p, "unexpected end of line");
		if (p->s[p->pos] == ',')
		{
			p->pos++;
			json_ws(p);
			continue;
		}
		if (p->s[p->pos] == close)
		{
			p->pos++;
			return true;
		}
		return json_fail(p, is_object ? "expected \",\" or \"}\"" : "expected \",\" or \"]\"");
	}
}

static bool
json_value(JsonParser *p, int depth, JsonTokType *type, bool store,
		   size_t *str_off, size_t *str_len)
{
	char		c;

	if (p->pos >= p->len)
		return json_fail(p, "unexpected end of line");
	c = p->s[p->pos];
	switch (c)
	{
		case '{':
			*type = JT_OBJECT;
			return json_container(p, depth, true);
		case '[':
			*type = JT_ARRAY;
			return json_container(p, depth, false);
		case '"':
			*type = JT_STRING;
			return json_string(p, store, str_off, str_len);
		case 't':
			*type = JT_TRUE;
			return json_literal(p, "true");
		case 'f':
			*type = JT_FALSE;
			return json_literal(p, "false");
		case 'n':
			*type = JT_NULL;
			return json_literal(p, "null");
		case 'N':
			/* NaN and Infinity are not JSON, but DuckDB, Python and
			 * Spark write them: accept them as numbers */
			*type = JT_NUMBER;
			return json_literal(p, "NaN");
		case 'I':
			*type = JT_NUMBER;
			return json_literal(p, "Infinity");
		default:
			if (c == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] == 'I')
			{
				*type = JT_NUMBER;
				return json_literal(p, "-Infinity");
			}
			if (c == '-' || (c >= '0' && c <= '9'))
			{
				*type = JT_NUMBER;
				return json_number(p);
			}
			return json_fail(p, "unexpected character");
	}
}

static bool
json_add_field(JsonParser *p, JsonField *f)
{
	JsonRecord *rec = p->rec;

	if (rec->nfields >= rec->fieldcap)
	{
		int			cap = rec->fieldcap ? rec->fieldcap * 2 : 16;
		JsonField  *nf;

		if (cap > 100000)
			return json_fail(p, "too many keys");
		nf = rec->realloc_fn(rec->alloc_arg, rec->fields, cap * sizeof(JsonField));
		if (nf == NULL)
			return json_fail(p, "out of memory");
		rec->fields = nf;
		rec->fieldcap = cap;
	}
	rec->fields[rec->nfields++] = *f;
	return true;
}

/*
 * json_parse_object_line parses one JSON-lines record; see tokenize.h.
 */
JsonStatus
json_parse_object_line(const char *line, size_t len, JsonRecord *rec)
{
	JsonParser	p;

	rec->buflen = 0;
	rec->nfields = 0;
	rec->error = NULL;
	rec->error_pos = 0;
	if (rec->max_depth <= 0)
		rec->max_depth = 512;

	p.s = line;
	p.len = len;
	p.pos = 0;
	p.rec = rec;

	json_ws(&p);
	if (p.pos >= len)
		return JSON_BLANK;
	if (!tok_utf8_valid(line, len))
	{
		rec->error = "invalid UTF-8";
		return JSON_ERROR;
	}
	if (line[p.pos] != '{')
	{
		json_fail(&p, "a JSON-lines record must be a JSON object");
		return JSON_ERROR;
	}
	p.pos++;
	json_ws(&p);
	if (p.pos < len && line[p.pos] == '}')
		p.pos++;
	else
	{
		for (;;)
		{
			JsonField	f;

			memset(&f, 0, sizeof(f));
			if (p.pos >= len || line[p.pos] != '"')
			{
				json_fail(&p, "expected string key");
				return JSON_ERROR;
			}
			if (!json_string(&p, true, &f.key_off, &f.key_len))
				return JSON_ERROR;
			json_ws(&p);
			if (p.pos >= len || line[p.pos] != ':')
			{
				json_fail(&p, "expected \":\"");
				return JSON_ERROR;
			}
			p.pos++;
			json_ws(&p);
			f.raw_off = p.pos;
			if (!json_value(&p, 1, &f.type, true, &f.str_off, &f.str_len))
				return JSON_ERROR;
			f.raw_len = p.pos - f.raw_off;
			if (!json_add_field(&p, &f))
				return JSON_ERROR;
			json_ws(&p);
			if (p.pos >= len)
			{
				json_fail(&p, "unexpected end of line");
				return JSON_ERROR;
			}
			if (line[p.pos] == ',')
			{
				p.pos++;
				json_ws(&p);
				continue;
			}
			if (line[p.pos] == '}')
			{
				p.pos++;
				break;
			}
			json_fail(&p, "expected \",\" or \"}\"");
			return JSON_ERROR;
		}
	}
	json_ws(&p);
	if (p.pos < len)
	{
		json_fail(&p, "unexpected data after the JSON object");
		return JSON_ERROR;
	}
	return JSON_OK;
}

void
json_record_free(JsonRecord *rec, void (*free_fn) (void *arg, void *ptr))
{
	if (rec->buf)
		free_fn(rec->alloc_arg, rec->buf);
	if (rec->fields)
		free_fn(rec->alloc_arg, rec->fields);
	rec->buf = NULL;
	rec->fields = NULL;
	rec->bufcap = rec->buflen = 0;
	rec->fieldcap = rec->nfields = 0;
}
