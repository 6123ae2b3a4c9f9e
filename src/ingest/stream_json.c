/*-------------------------------------------------------------------------
 *
 * stream_json.c
 *	  One-pass conversion of a Kinesis record's bytes to the staging table's
 *	  payload jsonb.
 *
 *	  The staging insert used to check each record with the JSON parser and
 *	  then have jsonb_in parse it again; in PostgreSQL 15 jsonb_in copies
 *	  every string character by character, which made the payload the
 *	  largest CPU cost of the stream worker.  This file validates and builds
 *	  the jsonb value in a single scan: strings without escapes are handed
 *	  to pushJsonbValue in place, numbers go through numeric_in.  It never
 *	  raises an error for bad input: it answers "not JSON" (payload NULL),
 *	  or "unsure" for the rare inputs whose jsonb_in result it does not
 *	  reproduce itself (\u escapes, exponents beyond three digits, very long
 *	  numbers, a database encoding other than UTF-8); the caller then uses
 *	  the slower text path, which keeps the previous behaviour exactly.
 *
 *	  Accepted grammar = PostgreSQL's JSON lexer: whitespace is space, tab,
 *	  CR, LF; literals and numbers must not be followed by an identifier
 *	  character (letters, digits, _, $, bytes >= 0x80); strings may not
 *	  contain control characters; escapes \" \\ \/ \b \f \n \r \t \u.
 *
 * IDENTIFICATION
 *	  src/ingest/stream_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "ingest/ingest.h"

#define SJ_MAX_DEPTH 1000
#define SJ_MAX_NUMBER 1000		/* longer number tokens: unsure */

typedef struct SjState
{
	const char *p;
	const char *end;
	JsonbParseState *ps;
	JsonbValue *res;
	int			depth;
	int			status;			/* DLAKE_JSON_* of the first problem */
} SjState;

static bool sj_value(SjState *s, JsonbIteratorToken how);

/* identifier character as PostgreSQL's JSON lexer defines it */
static inline bool
sj_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static inline void
sj_skip_ws(SjState *s)
{
	while (s->p < s->end &&
		   (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static inline bool
sj_fail(SjState *s, int status)
{
	if (s->status == DLAKE_JSON_BUILT)
		s->status = status;
	return false;
}

/*
 * sj_string scans a string token starting at the opening quote into *v
 * (pointing into the input when it has no escapes).
 */
static bool
sj_string(SjState *s, JsonbValue *v)
{
	const char *start = ++s->p;
	const char *q = start;
	bool		escaped = false;

	while (q < s->end)
	{
		unsigned char c = (unsigned char) *q;

		if (c == '"')
			break;
		if (c < 0x20)
			return sj_fail(s, DLAKE_JSON_INVALID);
		if (c == '\\')
		{
			if (q + 1 >= s->end)
				return sj_fail(s, DLAKE_JSON_INVALID);
			switch (q[1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					break;
				case 'u':
					/* surrogates, \u0000, code points: jsonb_in decides */
					return sj_fail(s, DLAKE_JSON_UNSURE);
				default:
					return sj_fail(s, DLAKE_JSON_INVALID);
			}
			escaped = true;
			q += 2;
			continue;
		}
		q++;
	}
	if (q >= s->end)
		return sj_fail(s, DLAKE_JSON_INVALID);
	s->p = q + 1;
	v->type = jbvString;
	if (!escaped)
	{
		v->val.string.val = unconstify(char *, start);
		v->val.string.len = q - start;
		return true;
	}
	/* de-escape into a fresh copy (pushJsonbValue keeps the pointer) */
	{
		char	   *out = palloc(q - start);
		int			n = 0;
		const char *r;

		for (r = start; r < q; r++)
		{
			if (*r != '\\')
			{
				out[n++] = *r;
				continue;
			}
			r++;
			switch (*r)
			{
				case 'b':
					out[n++] = '\b';
					break;
				case 'f':
					out[n++] = '\f';
					break;
				case 'n':
					out[n++] = '\n';
					break;
				case 'r':
					out[n++] = '\r';
					break;
				case 't':
					out[n++] = '\t';
					break;
				default:
					out[n++] = *r;	/* " \ / */
					break;
			}
		}
		v->val.string.val = out;
		v->val.string.len = n;
	}
	return true;
}

/* sj_number scans a number token (JSON grammar) and converts it */
static bool
sj_number(SjState *s, JsonbValue *v)
{
	const char *start = s->p;
	const char *q = s->p;
	const char *exp_digits = NULL;
	char		tmp[SJ_MAX_NUMBER + 1];

	if (q < s->end && *q == '-')
		q++;
	if (q < s->end && *q == '0')
		q++;
	else if (q < s->end && *q >= '1' && *q <= '9')
	{
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	else
		return sj_fail(s, DLAKE_JSON_INVALID);
	if (q < s->end && *q == '.')
	{
		q++;
		if (q >= s->end || *q < '0' || *q > '9')
			return sj_fail(s, DLAKE_JSON_INVALID);
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < s->end && (*q == 'e' || *q == 'E'))
	{
		q++;
		if (q < s->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= s->end || *q < '0' || *q > '9')
			return sj_fail(s, DLAKE_JSON_INVALID);
		exp_digits = q;
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < s->end && sj_alnum((unsigned char) *q))
		return sj_fail(s, DLAKE_JSON_INVALID);
	s->p = q;
	/* numeric_in raises on exponents beyond 1000 and on overflow */
	if (q - start > SJ_MAX_NUMBER || (exp_digits != NULL && q - exp_digits > 3))
		return sj_fail(s, DLAKE_JSON_UNSURE);
	memcpy(tmp, start, q - start);
	tmp[q - start] = '\0';
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														 CStringGetDatum(tmp),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	return true;
}

/* a literal word: true, false or null, not followed by an identifier char */
static bool
sj_literal(SjState *s, JsonbValue *v)
{
	const char *q = s->p;
	int			len;

	while (q < s->end && sj_alnum((unsigned char) *q))
		q++;
	len = q - s->p;
	if (len == 4 && memcmp(s->p, "true", 4) == 0)
	{
		v->type = jbvBool;
		v->val.boolean = true;
	}
	else if (len == 5 && memcmp(s->p, "false", 5) == 0)
	{
		v->type = jbvBool;
		v->val.boolean = false;
	}
	else if (len == 4 && memcmp(s->p, "null", 4) == 0)
		v->type = jbvNull;
	else
		return sj_fail(s, DLAKE_JSON_INVALID);
	s->p = q;
	return true;
}

/* push a scalar where "how" says (a top-level scalar is a raw-scalar array) */
static void
sj_push_scalar(SjState *s, JsonbIteratorToken how, JsonbValue *v)
{
	if (s->ps == NULL)
	{
		JsonbValue	va;

		va.type = jbvArray;
		va.val.array.rawScalar = true;
		va.val.array.nElems = 1;
		s->res = pushJsonbValue(&s->ps, WJB_BEGIN_ARRAY, &va);
		s->res = pushJsonbValue(&s->ps, WJB_ELEM, v);
		s->res = pushJsonbValue(&s->ps, WJB_END_ARRAY, NULL);
	}
	else
		s->res = pushJsonbValue(&s->ps, how, v);
}

static bool
sj_object(SjState *s)
{
	s->p++;						/* { */
	s->res = pushJsonbValue(&s->ps, WJB_BEGIN_OBJECT, NULL);
	sj_skip_ws(s);
	if (s->p < s->end && *s->p == '}')
	{
		s->p++;
		s->res = pushJsonbValue(&s->ps, WJB_END_OBJECT, NULL);
		return true;
	}
	for (;;)
	{
		JsonbValue	key;

		sj_skip_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return sj_fail(s, DLAKE_JSON_INVALID);
		if (!sj_string(s, &key))
			return false;
		s->res = pushJsonbValue(&s->ps, WJB_KEY, &key);
		sj_skip_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return sj_fail(s, DLAKE_JSON_INVALID);
		s->p++;
		if (!sj_value(s, WJB_VALUE))
			return false;
		sj_skip_ws(s);
		if (s->p < s->end && *s->p == ',')
		{
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}')
		{
			s->p++;
			break;
		}
		return sj_fail(s, DLAKE_JSON_INVALID);
	}
	s->res = pushJsonbValue(&s->ps, WJB_END_OBJECT, NULL);
	return true;
}

static bool
sj_array(SjState *s)
{
	s->p++;						/* [ */
	s->res = pushJsonbValue(&s->ps, WJB_BEGIN_ARRAY, NULL);
	sj_skip_ws(s);
	if (s->p < s->end && *s->p == ']')
	{
		s->p++;
		s->res = pushJsonbValue(&s->ps, WJB_END_ARRAY, NULL);
		return true;
	}
	for (;;)
	{
		if (!sj_value(s, WJB_ELEM))
			return false;
		sj_skip_ws(s);
		if (s->p < s->end && *s->p == ',')
		{
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']')
		{
			s->p++;
			break;
		}
		return sj_fail(s, DLAKE_JSON_INVALID);
	}
	s->res = pushJsonbValue(&s->ps, WJB_END_ARRAY, NULL);
	return true;
}

static bool
sj_value(SjState *s, JsonbIteratorToken how)
{
	JsonbValue	v;
	bool		ok;

	sj_skip_ws(s);
	if (s->p >= s->end)
		return sj_fail(s, DLAKE_JSON_INVALID);
	switch (*s->p)
	{
		case '{':
		case '[':
			if (++s->depth > SJ_MAX_DEPTH)
				return sj_fail(s, DLAKE_JSON_INVALID);
			ok = (*s->p == '{') ? sj_object(s) : sj_array(s);
			s->depth--;
			return ok;
		case '"':
			ok = sj_string(s, &v);
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			ok = sj_number(s, &v);
			break;
		default:
			ok = sj_literal(s, &v);
			break;
	}
	if (ok)
		sj_push_scalar(s, how, &v);
	return ok;
}

/*
 * dlake_bytes_to_jsonb converts data[0..len) to jsonb in one pass.  Returns
 * DLAKE_JSON_BUILT with *out set, DLAKE_JSON_INVALID when jsonb would refuse
 * the bytes (payload NULL), or DLAKE_JSON_UNSURE when the caller must use
 * the text path (dlake_bytes_are_json, then a cast to jsonb).  Memory comes
 * from the current context.
 */
int
dlake_bytes_to_jsonb(const char *data, int len, Jsonb **out)
{
	SjState		s;

	*out = NULL;
	if (GetDatabaseEncoding() != PG_UTF8)
		return DLAKE_JSON_UNSURE;
	if (len == 0 || memchr(data, '\0', len) != NULL)
		return DLAKE_JSON_INVALID;
	if (!pg_verify_mbstr(PG_UTF8, data, len, true))
		return DLAKE_JSON_INVALID;
	memset(&s, 0, sizeof(s));
	s.p = data;
	s.end = data + len;
	s.status = DLAKE_JSON_BUILT;
	if (!sj_value(&s, WJB_ELEM))
		return s.status;
	sj_skip_ws(&s);
	if (s.p != s.end)
		return DLAKE_JSON_INVALID;
	*out = JsonbValueToJsonb(s.res);
	return DLAKE_JSON_BUILT;
}
