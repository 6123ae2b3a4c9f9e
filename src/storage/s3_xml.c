/*-------------------------------------------------------------------------
 *
 * s3_xml.c
 *	  A small, tolerant extractor for the XML documents S3 answers with
 *	  (ListBucketResult, InitiateMultipartUploadResult, DeleteResult,
 *	  CompleteMultipartUploadResult, Error).
 *
 * These documents are flat records of simple elements without mixed
 * content, so a full XML parser is not needed: we find elements by name,
 * take their inner text and decode the five predefined entities and
 * numeric character references.  Never raises except on out-of-memory.
 *
 * IDENTIFICATION
 *	  src/storage/s3_xml.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/percent.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "storage/storage_internal.h"

/*
 * find_open_tag finds "<name>", "<name ...>" or "<name/>" in [p, end);
 * returns the position of '<' or NULL, and sets *self_closing.
 */
static const char *
find_open_tag(const char *p, const char *end, const char *name, const char **after,
			  bool *self_closing)
{
	size_t		nlen = strlen(name);

	while (p < end)
	{
		const char *lt = memchr(p, '<', end - p);
		const char *gt;

		if (lt == NULL || lt + 1 + nlen > end)
			return NULL;
		if (memcmp(lt + 1, name, nlen) == 0 && lt + 1 + nlen < end)
		{
			char		c = lt[1 + nlen];

			if (c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r')
			{
				gt = memchr(lt, '>', end - lt);
				if (gt == NULL)
					return NULL;
				*self_closing = (gt[-1] == '/');
				*after = gt + 1;
				return lt;
			}
		}
		p = lt + 1;
	}
	return NULL;
}

/*
 * s3_xml_next finds the next element called name at or after *cursor and
 * returns its inner content; *cursor moves past the element.  Elements of
 * the same name nested inside each other do not occur in S3 documents.
 */
bool
s3_xml_next(const char **cursor, const char *end, const char *name,
			const char **inner, size_t *inner_len)
{
	const char *after;
	bool		self_closing;
	char	   *close;
	const char *p;
	size_t		clen;

	if (find_open_tag(*cursor, end, name, &after, &self_closing) == NULL)
		return false;
	if (self_closing)
	{
		*inner = after;
		*inner_len = 0;
		*cursor = after;
		return true;
	}
	close = psprintf("</%s>", name);
	clen = strlen(close);
	for (p = after; p + clen <= end; p++)
	{
		if (*p == '<' && memcmp(p, close, clen) == 0)
		{
			*inner = after;
			*inner_len = p - after;
			*cursor = p + clen;
			pfree(close);
			return true;
		}
	}
	pfree(close);
	return false;
}

/*
 * s3_xml_child returns the decoded text of the first child element called
 * name inside [inner, inner+len), or NULL when there is none.
 */
char *
s3_xml_child(const char *inner, size_t len, const char *name)
{
	const char *cur = inner;
	const char *text;
	size_t		tlen;

	if (!s3_xml_next(&cur, inner + len, name, &text, &tlen))
		return NULL;
	return s3_xml_unescape(text, tlen);
}

/*
 * s3_xml_unescape decodes &amp; &lt; &gt; &quot; &apos; and &#N; / &#xN;
 * (as UTF-8).  Unknown entities are kept as written.
 */
char *
s3_xml_unescape(const char *s, size_t len)
{
	StringInfoData out;
	const char *end = s + len;

	initStringInfo(&out);
	while (s < end)
	{
		if (*s == '&')
		{
			const char *semi = memchr(s, ';', Min(end - s, 12));

			if (semi)
			{
				size_t		elen = semi - s - 1;
				const char *e = s + 1;

				if (elen == 3 && memcmp(e, "amp", 3) == 0)
					appendStringInfoChar(&out, '&');
				else if (elen == 2 && memcmp(e, "lt", 2) == 0)
					appendStringInfoChar(&out, '<');
				else if (elen == 2 && memcmp(e, "gt", 2) == 0)
					appendStringInfoChar(&out, '>');
				else if (elen == 4 && memcmp(e, "quot", 4) == 0)
					appendStringInfoChar(&out, '"');
				else if (elen == 4 && memcmp(e, "apos", 4) == 0)
					appendStringInfoChar(&out, '\'');
				else if (elen >= 2 && e[0] == '#')
				{
					char		num[16];
					unsigned long cp;
					unsigned char utf8[8];

					memcpy(num, e + 1, elen - 1);
					num[elen - 1] = '\0';
					cp = (num[0] == 'x' || num[0] == 'X') ?
						strtoul(num + 1, NULL, 16) : strtoul(num, NULL, 10);
					if (cp == 0 || cp > 0x10FFFF)
					{
						appendBinaryStringInfo(&out, s, semi - s + 1);
						s = semi + 1;
						continue;
					}
					unicode_to_utf8((pg_wchar) cp, utf8);
					appendBinaryStringInfo(&out, (char *) utf8, pg_utf_mblen(utf8));
				}
				else
					appendBinaryStringInfo(&out, s, semi - s + 1);
				s = semi + 1;
				continue;
			}
		}
		appendStringInfoChar(&out, *s);
		s++;
	}
	return out.data;
}

/*
 * s3_xml_escape appends s with the characters that are special in XML
 * text (and CR/LF, which S3 would normalise) written as references.
 */
void
s3_xml_escape(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&apos;");
				break;
			case '\r':
				appendStringInfoString(buf, "&#13;");
				break;
			case '\n':
				appendStringInfoString(buf, "&#10;");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/*
 * s3_url_form_decode decodes a value of a listing made with
 * encoding-type=url: '+' is a space, %XX a byte.
 */
char *
s3_url_form_decode(const char *s)
{
	return dlake_percent_decode(s, strlen(s), true);
}
