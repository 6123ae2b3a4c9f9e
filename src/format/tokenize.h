/*-------------------------------------------------------------------------
 *
 * tokenize.h
 *	  Backend-free tokenizers for CSV records and JSON-lines objects, plus
 *	  a UTF-8 validator.  No palloc, no ereport: they return status codes
 *	  and allocate through a caller-supplied realloc, so the same sources
 *	  build into the libFuzzer targets under test/fuzz/.
 *
 * IDENTIFICATION
 *	  src/format/tokenize.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_TOKENIZE_H
#define DLAKE_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* realloc(NULL, n) allocates; realloc(p, 0) is never called */
typedef void *(*TokReallocFn) (void *arg, void *ptr, size_t size);

/* true when data[0..len) is valid UTF-8 (no overlongs, no surrogates) */
extern bool tok_utf8_valid(const char *data, size_t len);

/* ---------------- CSV ---------------- */

typedef enum CsvStatus
{
	CSV_OK = 0,					/* one record parsed */
	CSV_NEED_MORE,				/* record incomplete: supply more data */
	CSV_END,					/* no more records (len == 0 and at_eof) */
	CSV_ERROR					/* malformed; rec->error says why */
} CsvStatus;

typedef struct CsvDialect
{
	char		delimiter;
	char		quote;
	char		escape;			/* == quote for RFC 4180 doubling */
	size_t		max_record_bytes;	/* limit on one record's unescaped size */
} CsvDialect;

typedef struct CsvRecord
{
	/* unescaped field contents, each NUL-terminated, in buf */
	char	   *buf;
	size_t		buflen;
	size_t		bufcap;
	int			nfields;
	int			fieldcap;
	size_t	   *field_off;		/* offset of field i in buf */
	size_t	   *field_len;
	bool	   *field_quoted;	/* field was (partly) quoted */
	int			newlines;		/* line breaks consumed by this record */
	const char *error;			/* static message when CSV_ERROR */
	TokReallocFn realloc_fn;
	void	   *alloc_arg;
	/*
	 * Optional projection: when keep != NULL, fields i < nkeep with
	 * keep[i] false (and fields >= nkeep) are scanned but not copied: they
	 * come out empty (length 0).  Field count and quoting are unchanged.
	 */
	const bool *keep;
	int			nkeep;
} CsvRecord;

/*
 * Parse one record from data[0..len).  at_eof says no more data follows.
 * On CSV_OK *consumed is the number of input bytes used (including the
 * line break).  A record needing more data returns CSV_NEED_MORE and
 * consumes nothing: call again with the same start and more bytes.
 */
extern CsvStatus csv_parse_record(const CsvDialect *d, const char *data, size_t len,
								  bool at_eof, CsvRecord *rec, size_t *consumed);

/* free rec's buffers through its realloc (size 0 is not used: free_fn) */
extern void csv_record_free(CsvRecord *rec, void (*free_fn) (void *arg, void *ptr));

/* ---------------- JSON lines ---------------- */

typedef enum JsonTokType
{
	JT_NULL = 0,
	JT_TRUE,
	JT_FALSE,
	JT_NUMBER,
	JT_STRING,
	JT_OBJECT,
	JT_ARRAY
} JsonTokType;

typedef struct JsonField
{
	size_t		key_off;		/* unescaped key in rec->buf, NUL-terminated */
	size_t		key_len;
	JsonTokType type;
	size_t		raw_off;		/* raw JSON text of the value in the line */
	size_t		raw_len;
	size_t		str_off;		/* JT_STRING: unescaped value in rec->buf */
	size_t		str_len;
} JsonField;

typedef struct JsonRecord
{
	char	   *buf;			/* unescaped keys and strings */
	size_t		buflen;
	size_t		bufcap;
	JsonField  *fields;
	int			nfields;
	int			fieldcap;
	int			max_depth;		/* nesting limit, e.g. 512 */
	const char *error;			/* static message on failure */
	size_t		error_pos;		/* byte offset in the line */
	TokReallocFn realloc_fn;
	void	   *alloc_arg;
} JsonRecord;

typedef enum JsonStatus
{
	JSON_OK = 0,
	JSON_BLANK,					/* only whitespace: skip the line */
	JSON_ERROR
} JsonStatus;

/*
 * Parse one line holding one JSON object: fields in key order as found
 * (duplicates kept; the caller lets the last win).  Strings must be valid
 * UTF-8; \u0000 is rejected (PostgreSQL text cannot hold it).
 */
extern JsonStatus json_parse_object_line(const char *line, size_t len, JsonRecord *rec);
extern void json_record_free(JsonRecord *rec, void (*free_fn) (void *arg, void *ptr));

#endif							/* DLAKE_TOKENIZE_H */
