/*-------------------------------------------------------------------------
 *
 * percent.c
 *	  Percent-decoding (%XX) shared by SigV4 canonicalisation (aws/sigv4.c),
 *	  S3 listings made with encoding-type=url (storage/s3_xml.c) and Hive
 *	  partition folders (export/partition.c).
 *
 * The three callers agree on the rules: %XX with two hex digits of either
 * case is one byte, anything else (a lone '%', "%G1", a '%' too close to
 * the end) is kept literally.  They differ only on '+', which is a space
 * in form encoding (S3 listings) and a plain '+' elsewhere.
 *
 * IDENTIFICATION
 *	  src/common/percent.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/percent.h"

/*
 * dlake_hex_value returns the value of one hex digit, or -1.
 */
int
dlake_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * dlake_percent_decode decodes the len bytes of s into a palloc'd,
 * NUL-terminated string: %XX becomes the byte 0xXX, a '%' not followed by
 * two hex digits within len is kept literally, and '+' becomes a space
 * only when plus_as_space (application/x-www-form-urlencoded).
 */
char *
dlake_percent_decode(const char *s, size_t len, bool plus_as_space)
{
	char	   *out = palloc(len + 1);
	size_t		i,
				o = 0;

	for (i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len &&
			dlake_hex_value(s[i + 1]) >= 0 && dlake_hex_value(s[i + 2]) >= 0)
		{
			out[o++] = (char) (dlake_hex_value(s[i + 1]) * 16 +
							   dlake_hex_value(s[i + 2]));
			i += 2;
		}
		else if (plus_as_space && s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}
