/*-------------------------------------------------------------------------
 *
 * percent.h
 *	  Percent-decoding (%XX) shared by SigV4 canonicalisation, S3 listings
 *	  made with encoding-type=url and Hive partition folders.
 *
 * IDENTIFICATION
 *	  src/common/percent.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_PERCENT_H
#define DLAKE_PERCENT_H

#include "postgres.h"

extern int	dlake_hex_value(char c);
extern char *dlake_percent_decode(const char *s, size_t len, bool plus_as_space);

#endif							/* DLAKE_PERCENT_H */
