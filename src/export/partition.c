/*-------------------------------------------------------------------------
 *
 * partition.c
 *	  Hive-style partition folders: how a value becomes a "col=value/"
 *	  path segment that Athena, Spark, Trino and DuckDB read back, and that
 *	  can never leave the export location or inject another key.
 *
 * Escaping follows Hive's FileUtils.escapePathName (the characters Hive
 * escapes become %XX with upper-case hex) plus two rules of our own: a
 * value that is exactly "." or ".." is escaped entirely, and every byte
 * below 0x20 is escaped (Hive does too).  Multi-byte UTF-8 stays as is,
 * as in Hive and Spark.
 *
 * IDENTIFICATION
 *	  src/export/partition.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/percent.h"
#include "export/export.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(dlake_hive_escape_sql);
PG_FUNCTION_INFO_V1(dlake_hive_unescape_sql);

/* true for a byte Hive escapes in a path name */
static bool
hive_needs_escape(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return true;
	switch (c)
	{
		case '"':
		case '#':
		case '%':
		case '\'':
		case '*':
		case '/':
		case ':':
		case '=':
		case '?':
		case '\\':
		case '{':
		case '[':
		case ']':
		case '^':
			return true;
		default:
			return false;
	}
}

void
dlake_hive_escape(StringInfo buf, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";

	if (value == NULL || value[0] == '\0')
	{
		appendStringInfoString(buf, DLAKE_HIVE_NULL);
		return;
	}
	if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
	{
		for (const char *p = value; *p; p++)
			appendStringInfoString(buf, "%2E");
		return;
	}
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
	{
		if (hive_needs_escape(*p))
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[*p >> 4]);
			appendStringInfoChar(buf, hex[*p & 0xf]);
		}
		else
			appendStringInfoChar(buf, (char) *p);
	}
}

char *
dlake_hive_unescape(const char *segment)
{
	if (strcmp(segment, DLAKE_HIVE_NULL) == 0)
		return NULL;
	return dlake_percent_decode(segment, strlen(segment), false);
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" from broken-down time, AD years only */
static char *
format_hive_timestamp(struct pg_tm *tm, fsec_t fsec)
{
	char	   *s = psprintf("%04d-%02d-%02d %02d:%02d:%02d",
							 tm->tm_year, tm->tm_mon, tm->tm_mday,
							 tm->tm_hour, tm->tm_min, tm->tm_sec);

	if (fsec != 0)
	{
		char		frac[8];
		int			n;

		snprintf(frac, sizeof(frac), "%06d", (int) fsec);
		for (n = 6; n > 1 && frac[n - 1] == '0'; n--)
			;
		frac[n] = '\0';
		s = psprintf("%s.%s", s, frac);
	}
	return s;
}

char *
dlake_partition_value_text(Oid typid, Datum value, FmgrInfo *finfo)
{
	struct pg_tm tm;
	fsec_t		fsec;

	switch (typid)
	{
		case DATEOID:
			{
				DateADT		d = DatumGetDateADT(value);
				int			y, m, dd;

				if (DATE_NOT_FINITE(d))
					break;
				j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
				if (y <= 0)
					break;
				return psprintf("%04d-%02d-%02d", y, m, dd);
			}
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	ts = DatumGetTimestamp(value);

				/* timestamptz: no zone given to timestamp2tm means UTC */
				if (TIMESTAMP_NOT_FINITE(ts) ||
					timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0 ||
					tm.tm_year <= 0)
					break;
				return format_hive_timestamp(&tm, fsec);
			}
		case BOOLOID:
			return pstrdup(DatumGetBool(value) ? "true" : "false");
		default:
			break;
	}
	return OutputFunctionCall(finfo, value);
}

/*
 * dlake._hive_escape(text) → text: the escaped path segment of a value
 * (NULL → __HIVE_DEFAULT_PARTITION__), for tests and for users who build
 * paths by hand.
 */
Datum
dlake_hive_escape_sql(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	dlake_hive_escape(&buf, PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/* dlake._hive_unescape(text) → text: the inverse (NULL for the default) */
Datum
dlake_hive_unescape_sql(PG_FUNCTION_ARGS)
{
	char	   *s = dlake_hive_unescape(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	if (s == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(s));
}
