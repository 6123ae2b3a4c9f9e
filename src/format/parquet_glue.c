/*-------------------------------------------------------------------------
 *
 * parquet_glue.c
 *	  Parquet behind the format.h interface: PostgreSQL Datums <-> the
 *	  backend-free Parquet library of src/format/parquet/.
 *
 * IDENTIFICATION
 *	  src/format/parquet_glue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "format/format_int.h"

void
parquet_glue_writer_init(DlakeFormatWriter *w)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("Parquet writing is not available yet")));
}

void
parquet_glue_reader_init(DlakeFormatReader *r)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("Parquet reading is not available yet")));
}

PG_FUNCTION_INFO_V1(dlake_parquet_metadata);

Datum
dlake_parquet_metadata(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("Parquet reading is not available yet")));
	PG_RETURN_NULL();
}
