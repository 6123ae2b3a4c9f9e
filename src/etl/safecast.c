/*-------------------------------------------------------------------------
 *
 * safecast.c
 *	  Safe casts from a jsonb value to the types a rule set can declare:
 *	  each returns NULL instead of raising when the value does not convert,
 *	  so that one compiled INSERT ... SELECT can compute, per row, which
 *	  fields failed without a subtransaction per row.
 *
 *	  PostgreSQL 15 has no soft input errors.  Where possible we parse with
 *	  routines that report errors by return code (ParseDateTime /
 *	  DecodeDateTime / tm2timestamp, float8in_internal_opt_error,
 *	  parse_bool_with_len, parse_datetime with have_error, our own integer
 *	  scanner).  The remaining cases (numeric_in, uuid_in, date_in) call the
 *	  input function inside PG_TRY and swallow only errors of class 22 (data
 *	  exception).  That is safe without a subtransaction because these input
 *	  functions are leaves: they take no locks, pin no buffers, open no
 *	  files and touch no shared state before they raise; all they leave
 *	  behind is palloc'd memory in the current (per-tuple) context and the
 *	  error data, which FlushErrorState releases.  Any other error (out of
 *	  memory, query cancel, ...) is re-thrown unchanged.
 *
 *	  Timestamps: JSON numbers and all-digit strings are Unix epoch seconds,
 *	  or milliseconds when their magnitude is >= 1e11 (1e11 seconds is in
 *	  year 5138); strings are ISO 8601 or any PostgreSQL timestamp input,
 *	  read as UTC when they carry no zone; with a declared format they go
 *	  through to_timestamp-style templates (again UTC without a zone).
 *
 * IDENTIFICATION
 *	  src/etl/safecast.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(dlake_to_timestamptz);
PG_FUNCTION_INFO_V1(dlake_field_timestamptz);
PG_FUNCTION_INFO_V1(dlake_to_date);
PG_FUNCTION_INFO_V1(dlake_field_date);
PG_FUNCTION_INFO_V1(dlake_to_numeric);
PG_FUNCTION_INFO_V1(dlake_field_numeric);
PG_FUNCTION_INFO_V1(dlake_to_int8);
PG_FUNCTION_INFO_V1(dlake_field_int8);
PG_FUNCTION_INFO_V1(dlake_to_float8);
PG_FUNCTION_INFO_V1(dlake_field_float8);
PG_FUNCTION_INFO_V1(dlake_to_bool);
PG_FUNCTION_INFO_V1(dlake_field_bool);
PG_FUNCTION_INFO_V1(dlake_to_uuid);
PG_FUNCTION_INFO_V1(dlake_field_uuid);

/* epoch values at or above this magnitude are milliseconds */
#define SAFECAST_MILLIS_THRESHOLD	1e11

/*
 * safecast_scalar extracts the scalar of a jsonb value.  Returns false for
 * arrays, objects and JSON null: none of them converts to a scalar type.
 */
static bool
safecast_scalar(Jsonb *jb, JsonbValue *jv)
{
	if (!JB_ROOT_IS_SCALAR(jb))
		return false;
	if (!JsonbExtractScalar(&jb->root, jv))
		return false;
	return jv->type != jbvNull;
}

/*
 * safecast_field looks key up in the object jb and extracts its scalar
 * without building an intermediate jsonb (what record->'key' would do).
 * Same answers as safecast_scalar(record->'key'): false when jb is no
 * object, the key is missing, or its value is JSON null, an array or an
 * object.
 */
static bool
safecast_field(Jsonb *jb, text *key, JsonbValue *jv)
{
	if (!JB_ROOT_IS_OBJECT(jb))
		return false;
	if (getKeyJsonValueFromContainer(&jb->root, VARDATA_ANY(key),
									 VARSIZE_ANY_EXHDR(key), jv) == NULL)
		return false;
	return jv->type != jbvNull && jv->type != jbvBinary;
}

/*
 * safecast_arg reads the value to convert: argument 0 itself (the
 * dlake._to_* forms) or field argument 1 of object argument 0 (the
 * dlake._field_* forms).
 */
static bool
safecast_arg(FunctionCallInfo fcinfo, bool field, JsonbValue *jv)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);

	if (field)
		return safecast_field(jb, PG_GETARG_TEXT_PP(1), jv);
	return safecast_scalar(jb, jv);
}

/*
 * safecast_text returns the text of a string or number scalar as a
 * palloc'd C string, or NULL for other kinds.  Booleans are refused: a JSON
 * true is not a number or a date.
 */
static char *
safecast_text(const JsonbValue *jv)
{
	if (jv->type == jbvString)
		return pnstrdup(jv->val.string.val, jv->val.string.len);
	if (jv->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(jv->val.numeric)));
	return NULL;
}

/*
 * safecast_call runs a known-leaf input function (see the file header) and
 * reports data exceptions as false instead of raising.
 */
static bool
safecast_call(PGFunction fn, Datum arg0, Datum arg1, Datum arg2, Datum *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		*result = DirectFunctionCall3(fn, arg0, arg1, arg2);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		if (ERRCODE_TO_CATEGORY(geterrcode()) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();

	return ok;
}

/* is s (ignoring surrounding blanks) an optionally signed decimal number? */
static bool
safecast_is_epoch_string(const char *s)
{
	bool		digits = false;

	while (isspace((unsigned char) *s))
		s++;
	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char) *s))
	{
		digits = true;
		s++;
	}
	if (*s == '.')
	{
		s++;
		while (isdigit((unsigned char) *s))
			s++;
	}
	while (isspace((unsigned char) *s))
		s++;
	return digits && *s == '\0';
}

/*
 * safecast_epoch converts Unix epoch seconds (or milliseconds, see the file
 * header) to a timestamptz; false when out of range or not finite.
 */
static bool
safecast_epoch(double seconds, TimestampTz *result)
{
	if (isnan(seconds) || isinf(seconds))
		return false;
	if (fabs(seconds) >= SAFECAST_MILLIS_THRESHOLD)
		seconds /= 1000.0;
	if (seconds < (double) SECS_PER_DAY * (DATETIME_MIN_JULIAN - UNIX_EPOCH_JDATE) ||
		seconds >= (double) SECS_PER_DAY * (TIMESTAMP_END_JULIAN - UNIX_EPOCH_JDATE))
		return false;
	seconds -= ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	seconds = rint(seconds * USECS_PER_SEC);
	*result = (TimestampTz) seconds;
	return IS_VALID_TIMESTAMP(*result);
}

/*
 * safecast_datetime_string parses a timestamp string without raising: zone
 * given → that zone, no zone → UTC.  Special values (now, epoch, infinity)
 * are refused: they are not data.
 */
static bool
safecast_datetime_string(const char *str, TimestampTz *result)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt;
	fsec_t		fsec;
	int			tz;
	Timestamp	ts;
	size_t		len;

	if (strlen(str) >= MAXDATELEN)
		return false;

	/*
	 * Data starts with a digit (ISO 8601 and the other numeric forms).  This
	 * refuses the special inputs "now", "today", "epoch", "infinity" and
	 * friends, which describe the moment of loading, not the event.
	 */
	while (isspace((unsigned char) *str))
		str++;
	if (!isdigit((unsigned char) *str))
		return false;

	/*
	 * First without a zone: succeeds only when the string names none.  A
	 * trailing "Z" (the usual ISO 8601 UTC form) always names one, so such
	 * strings skip this first parse.
	 */
	len = strlen(str);
	while (len > 0 && isspace((unsigned char) str[len - 1]))
		len--;
	if (len == 0 || (str[len - 1] != 'Z' && str[len - 1] != 'z'))
	{
		memset(&tt, 0, sizeof(tt));
		fsec = 0;
		if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf) != 0)
			return false;
		if (DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, NULL) == 0)
		{
			if (dtype != DTK_DATE || tm2timestamp(&tt, fsec, NULL, &ts) != 0)
				return false;
			*result = (TimestampTz) ts;
			return IS_VALID_TIMESTAMP(*result);
		}
	}

	/* then with a zone */
	memset(&tt, 0, sizeof(tt));
	fsec = 0;
	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz) != 0 ||
		dtype != DTK_DATE)
		return false;
	if (tm2timestamp(&tt, fsec, &tz, &ts) != 0)
		return false;
	*result = (TimestampTz) ts;
	return IS_VALID_TIMESTAMP(*result);
}

/*
 * safecast_formatted parses str with a to_timestamp-style template through
 * parse_datetime (soft errors), inside PG_TRY for the few paths that still
 * raise.  Zone-less results are UTC; *is_date tells a pure date result.
 */
static bool
safecast_formatted(const char *str, text *fmt, TimestampTz *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;
	bool		have_error = false;
	Oid			typid = InvalidOid;
	int32		typmod = -1;
	int			tz = 0;
	Datum		d = (Datum) 0;

	PG_TRY();
	{
		d = parse_datetime(cstring_to_text(str), fmt, C_COLLATION_OID, true,
						   &typid, &typmod, &tz, &have_error);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		if (ERRCODE_TO_CATEGORY(geterrcode()) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();

	if (!ok || have_error)
		return false;

	switch (typid)
	{
		case TIMESTAMPTZOID:
			*result = DatumGetTimestampTz(d);
			break;
		case TIMESTAMPOID:
			*result = (TimestampTz) DatumGetTimestamp(d);
			break;
		case DATEOID:
			{
				DateADT		dt = DatumGetDateADT(d);

				if (DATE_NOT_FINITE(dt) ||
					dt >= (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE))
					return false;
				*result = (TimestampTz) dt * USECS_PER_DAY;
				break;
			}
		default:
			/* a template with only a time of day is no timestamp */
			return false;
	}
	return IS_VALID_TIMESTAMP(*result);
}

/*
 * safecast_timestamptz is the common body of the timestamptz and date
 * casts.
 */
static bool
safecast_timestamptz(const JsonbValue *jvp, text *fmt, TimestampTz *result)
{
	JsonbValue	jv = *jvp;
	char	   *str;

	if (jv.type == jbvNumeric)
	{
		bool		have_error = false;
		char	   *num = safecast_text(&jv);
		double		seconds = float8in_internal_opt_error(num, NULL, "double precision",
														  num, &have_error);

		return !have_error && safecast_epoch(seconds, result);
	}
	if (jv.type != jbvString)
		return false;

	str = safecast_text(&jv);
	if (fmt != NULL)
		return safecast_formatted(str, fmt, result);
	if (safecast_is_epoch_string(str))
	{
		bool		have_error = false;
		double		seconds = float8in_internal_opt_error(str, NULL, "double precision",
														  str, &have_error);

		return !have_error && safecast_epoch(seconds, result);
	}
	return safecast_datetime_string(str, result);
}

/*
 * dlake._to_timestamptz(value jsonb [, format text]) → timestamptz or NULL.
 */
static Datum
safecast_timestamptz_fn(FunctionCallInfo fcinfo, bool field)
{
	text	   *fmt = (PG_NARGS() > (field ? 2 : 1)) ? PG_GETARG_TEXT_PP(field ? 2 : 1) : NULL;
	JsonbValue	jv;
	TimestampTz ts;

	if (!safecast_arg(fcinfo, field, &jv) || !safecast_timestamptz(&jv, fmt, &ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ts);
}

/*
 * dlake._to_date(value jsonb [, format text]) → date or NULL.  Strings
 * without a format go through date_in (so "2024-02-29" is a date and
 * "2023-02-29" is not); numbers are epoch values, truncated to their UTC
 * date.
 */
static Datum
safecast_date_fn(FunctionCallInfo fcinfo, bool field)
{
	text	   *fmt = (PG_NARGS() > (field ? 2 : 1)) ? PG_GETARG_TEXT_PP(field ? 2 : 1) : NULL;
	JsonbValue	jv;
	TimestampTz ts;

	if (!safecast_arg(fcinfo, field, &jv))
		PG_RETURN_NULL();

	if (jv.type == jbvString && fmt == NULL)
	{
		char	   *str = safecast_text(&jv);
		Datum		d;

		if (safecast_is_epoch_string(str) && strlen(str) < 8)
			PG_RETURN_NULL();	/* a short number is no date */
		if (!safecast_is_epoch_string(str))
		{
			if (!safecast_call(date_in, CStringGetDatum(str), (Datum) 0, (Datum) 0, &d) ||
				DATE_NOT_FINITE(DatumGetDateADT(d)))
				PG_RETURN_NULL();
			PG_RETURN_DATUM(d);
		}
	}

	if (!safecast_timestamptz(&jv, fmt, &ts))
		PG_RETURN_NULL();
	PG_RETURN_DATEADT((DateADT) (ts / USECS_PER_DAY - (ts < 0 && ts % USECS_PER_DAY != 0 ? 1 : 0)));
}

/*
 * dlake._to_numeric(value jsonb) → numeric or NULL.  JSON numbers are taken
 * as they are; strings go through numeric_in (NaN and Infinity refused).
 */
static Datum
safecast_numeric_fn(FunctionCallInfo fcinfo, bool field)
{
	JsonbValue	jv;
	char	   *str;
	Datum		d;

	if (!safecast_arg(fcinfo, field, &jv))
		PG_RETURN_NULL();
	if (jv.type == jbvNumeric)
		PG_RETURN_NUMERIC(jv.val.numeric);
	if (jv.type != jbvString)
		PG_RETURN_NULL();
	str = safecast_text(&jv);
	if (!safecast_call(numeric_in, CStringGetDatum(str),
					   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1), &d))
		PG_RETURN_NULL();
	if (numeric_is_nan(DatumGetNumeric(d)) || numeric_is_inf(DatumGetNumeric(d)))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

/*
 * dlake._to_int8(value jsonb) → bigint or NULL.  Only whole numbers in
 * range: 1.5, 1e3 and "12abc" are refused rather than rounded.
 */
static Datum
safecast_int8_fn(FunctionCallInfo fcinfo, bool field)
{
	JsonbValue	jv;
	char	   *s;
	bool		neg = false;
	uint64		acc = 0;
	bool		digits = false;

	if (!safecast_arg(fcinfo, field, &jv) || (s = safecast_text(&jv)) == NULL)
		PG_RETURN_NULL();

	while (isspace((unsigned char) *s))
		s++;
	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	while (isdigit((unsigned char) *s))
	{
		int			digit = *s++ - '0';

		if (acc > (PG_UINT64_MAX - digit) / 10)
			PG_RETURN_NULL();
		acc = acc * 10 + digit;
		digits = true;
	}
	while (isspace((unsigned char) *s))
		s++;
	if (!digits || *s != '\0')
		PG_RETURN_NULL();
	if (neg)
	{
		if (acc > ((uint64) PG_INT64_MAX) + 1)
			PG_RETURN_NULL();
		PG_RETURN_INT64((int64) (0 - acc));
	}
	if (acc > (uint64) PG_INT64_MAX)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) acc);
}

/*
 * dlake._to_float8(value jsonb) → double precision or NULL (out of range,
 * not a number, NaN and Infinity refused).
 */
static Datum
safecast_float8_fn(FunctionCallInfo fcinfo, bool field)
{
	JsonbValue	jv;
	char	   *s;
	bool		have_error = false;
	float8		v;

	if (!safecast_arg(fcinfo, field, &jv) || (s = safecast_text(&jv)) == NULL)
		PG_RETURN_NULL();
	v = float8in_internal_opt_error(s, NULL, "double precision", s, &have_error);
	if (have_error || isnan(v) || isinf(v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

/*
 * dlake._to_bool(value jsonb) → boolean or NULL: JSON true/false, or the
 * strings boolean input accepts (true/false, yes/no, on/off, 1/0, t/f).
 */
static Datum
safecast_bool_fn(FunctionCallInfo fcinfo, bool field)
{
	JsonbValue	jv;
	bool		b;

	if (!safecast_arg(fcinfo, field, &jv))
		PG_RETURN_NULL();
	if (jv.type == jbvBool)
		PG_RETURN_BOOL(jv.val.boolean);
	if (jv.type != jbvString ||
		!parse_bool_with_len(jv.val.string.val, jv.val.string.len, &b))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(b);
}

/*
 * dlake._to_uuid(value jsonb) → uuid or NULL.
 */
static Datum
safecast_uuid_fn(FunctionCallInfo fcinfo, bool field)
{
	JsonbValue	jv;
	Datum		d;

	if (!safecast_arg(fcinfo, field, &jv) || jv.type != jbvString)
		PG_RETURN_NULL();
	if (!safecast_call(uuid_in, CStringGetDatum(safecast_text(&jv)),
					   (Datum) 0, (Datum) 0, &d))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

/*
 * SQL entry points: dlake._to_<type>(value jsonb [, format]) and
 * dlake._field_<type>(record jsonb, key text [, format]).
 */

Datum
dlake_to_timestamptz(PG_FUNCTION_ARGS)
{
	return safecast_timestamptz_fn(fcinfo, false);
}

Datum
dlake_field_timestamptz(PG_FUNCTION_ARGS)
{
	return safecast_timestamptz_fn(fcinfo, true);
}

Datum
dlake_to_date(PG_FUNCTION_ARGS)
{
	return safecast_date_fn(fcinfo, false);
}

Datum
dlake_field_date(PG_FUNCTION_ARGS)
{
	return safecast_date_fn(fcinfo, true);
}

Datum
dlake_to_numeric(PG_FUNCTION_ARGS)
{
	return safecast_numeric_fn(fcinfo, false);
}

Datum
dlake_field_numeric(PG_FUNCTION_ARGS)
{
	return safecast_numeric_fn(fcinfo, true);
}

Datum
dlake_to_int8(PG_FUNCTION_ARGS)
{
	return safecast_int8_fn(fcinfo, false);
}

Datum
dlake_field_int8(PG_FUNCTION_ARGS)
{
	return safecast_int8_fn(fcinfo, true);
}

Datum
dlake_to_float8(PG_FUNCTION_ARGS)
{
	return safecast_float8_fn(fcinfo, false);
}

Datum
dlake_field_float8(PG_FUNCTION_ARGS)
{
	return safecast_float8_fn(fcinfo, true);
}

Datum
dlake_to_bool(PG_FUNCTION_ARGS)
{
	return safecast_bool_fn(fcinfo, false);
}

Datum
dlake_field_bool(PG_FUNCTION_ARGS)
{
	return safecast_bool_fn(fcinfo, true);
}

Datum
dlake_to_uuid(PG_FUNCTION_ARGS)
{
	return safecast_uuid_fn(fcinfo, false);
}

Datum
dlake_field_uuid(PG_FUNCTION_ARGS)
{
	return safecast_uuid_fn(fcinfo, true);
}
