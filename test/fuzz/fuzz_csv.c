/*-------------------------------------------------------------------------
 *
 * fuzz_csv.c
 *	  libFuzzer target for the CSV tokenizer (src/format/csv_tok.c).
 *
 * Besides "no crash, no sanitizer report", it checks a differential
 * property: parsing the whole input at once and parsing it as a stream
 * (data arriving in small pieces, CSV_NEED_MORE answered with more bytes)
 * must give exactly the same records.  The first input byte picks the
 * dialect and the stream's piece size.
 *
 * Build (clang 14):
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/format \
 *		  test/fuzz/fuzz_csv.c src/format/csv_tok.c -o fuzz_csv
 *	  ./fuzz_csv -max_total_time=60 test/fuzz/corpus/csv
 *
 * FUZZ_SOURCES: src/format/csv_tok.c
 * FUZZ_CFLAGS: -Isrc/format
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_csv.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
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

typedef struct Out
{
	char	   *buf;
	size_t		len;
	size_t		cap;
} Out;

static void
out_add(Out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap)
	{
		o->cap = (o->len + n) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		if (o->buf == NULL)
			abort();
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* serialise a record unambiguously: count, then (quoted, len, bytes) */
static void
out_record(Out *o, const CsvRecord *rec, CsvStatus st)
{
	out_add(o, &st, sizeof(st));
	if (st != CSV_OK)
		return;
	out_add(o, &rec->nfields, sizeof(int));
	out_add(o, &rec->newlines, sizeof(int));
	for (int i = 0; i < rec->nfields; i++)
	{
		/* fields are NUL-terminated inside the buffer */
		if (rec->field_off[i] + rec->field_len[i] >= rec->buflen ||
			rec->buf[rec->field_off[i] + rec->field_len[i]] != '\0')
			abort();
		out_add(o, &rec->field_quoted[i], sizeof(bool));
		out_add(o, &rec->field_len[i], sizeof(size_t));
		out_add(o, rec->buf + rec->field_off[i], rec->field_len[i]);
	}
}

static void
parse_all(const CsvDialect *d, const char *data, size_t len, size_t piece, Out *o)
{
	CsvRecord	rec;
	size_t		pos = 0;
	size_t		avail = piece ? (piece < len ? piece : len) : len;

	memset(&rec, 0, sizeof(rec));
	rec.realloc_fn = fz_realloc;
	for (int guard = 0; guard < 1000000; guard++)
	{
		size_t		consumed = 0;
		bool		eof = (pos + avail >= len);
		CsvStatus	st = csv_parse_record(d, data + pos, avail, eof, &rec, &consumed);

		if (st == CSV_NEED_MORE)
		{
			if (eof)
				abort();		/* must not ask for more at the end */
			avail += piece ? piece : 1;
			if (pos + avail > len)
				avail = len - pos;
			continue;
		}
		out_record(o, &rec, st);
		if (st != CSV_OK)
			break;
		if (consumed == 0 || consumed > avail)
			abort();			/* progress, and within what was given */
		pos += consumed;
		avail -= consumed;
		if (piece && avail < piece)
			avail = (pos + piece <= len) ? piece : len - pos;
		if (!piece)
			avail = len - pos;
	}
	csv_record_free(&rec, fz_free);
}

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char delims[] = {',', ';', '\t', '|'};
	CsvDialect	d;
	Out			a = {0},
				b = {0};
	size_t		piece;

	if (size < 1)
		return 0;
	d.delimiter = delims[data[0] & 3];
	d.quote = '"';
	d.escape = (data[0] & 4) ? '\\' : '"';
	d.max_record_bytes = 1 << 20;
	piece = 1 + ((data[0] >> 3) & 31);
	data++;
	size--;

	parse_all(&d, (const char *) data, size, 0, &a);
	parse_all(&d, (const char *) data, size, piece, &b);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
	{
		fprintf(stderr, "streamed parse differs from whole parse\n");
		abort();
	}
	(void) tok_utf8_valid((const char *) data, size);
	free(a.buf);
	free(b.buf);
	return 0;
}
