/*-------------------------------------------------------------------------
 *
 * fuzz_jsonl.c
 *	  libFuzzer target for the JSON-lines record parser
 *	  (src/format/json_tok.c).  Each input line is parsed; on success the
 *	  result must be self-consistent: spans inside the line and the
 *	  buffer, unescaped keys and strings valid UTF-8 without NUL, raw
 *	  value spans re-parse as the same type when wrapped in an object.
 *
 * Build (clang 14):
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/format \
 *		  test/fuzz/fuzz_jsonl.c src/format/json_tok.c src/format/csv_tok.c \
 *		  -o fuzz_jsonl
 *	  ./fuzz_jsonl -max_total_time=60 test/fuzz/corpus/jsonl
 *
 * FUZZ_SOURCES: src/format/json_tok.c src/format/csv_tok.c
 * FUZZ_CFLAGS: -Isrc/format
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_jsonl.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

static void *
fz_realloc(void *arg, void *ptr, size_t size)
{
	(void) arg;
	return realloc(ptr, size);
}

static void
fz_free(void *arg, void *ptr)
{
	(void) arg;
	free(ptr);
}

static void
check_record(const char *line, size_t len, JsonRecord *rec)
{
	for (int i = 0; i < rec->nfields; i++)
	{
		JsonField  *f = &rec->fields[i];

		if (f->key_off + f->key_len >= rec->buflen || rec->buf[f->key_off + f->key_len] != '\0')
			abort();
		if (!tok_utf8_valid(rec->buf + f->key_off, f->key_len))
			abort();
		if (f->raw_off + f->raw_len > len || f->raw_len == 0)
			abort();
		if (f->type == JT_STRING)
		{
			if (f->str_off + f->str_len >= rec->buflen)
				abort();
			if (!tok_utf8_valid(rec->buf + f->str_off, f->str_len))
				abort();
		}
		/* the raw span of a value is itself valid JSON of the same type */
		{
			size_t		n = f->raw_len + 8;
			char	   *w = malloc(n);
			JsonRecord	r2;

			memset(&r2, 0, sizeof(r2));
			r2.realloc_fn = fz_realloc;
			r2.max_depth = rec->max_depth;
			memcpy(w, "{\"k\":", 5);
			memcpy(w + 5, line + f->raw_off, f->raw_len);
			w[5 + f->raw_len] = '}';
			if (json_parse_object_line(w, f->raw_len + 6, &r2) != JSON_OK ||
				r2.nfields != 1 || r2.fields[0].type != f->type)
				abort();
			json_record_free(&r2, fz_free);
			free(w);
		}
	}
}

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *s = (const char *) data;
	size_t		pos = 0;
	JsonRecord	rec;

	memset(&rec, 0, sizeof(rec));
	rec.realloc_fn = fz_realloc;
	rec.max_depth = 64;
	while (pos < size)
	{
		const char *nl = memchr(s + pos, '\n', size - pos);
		size_t		len = nl ? (size_t) (nl - (s + pos)) : size - pos;

		if (json_parse_object_line(s + pos, len, &rec) == JSON_OK)
			check_record(s + pos, len, &rec);
		else if (rec.error == NULL && rec.nfields < 0)
			abort();
		pos += len + 1;
	}
	json_record_free(&rec, fz_free);
	return 0;
}
