/*-------------------------------------------------------------------------
 *
 * fileflow.h
 *	  File flows (the Kinesis Agent counterpart): registration of the
 *	  worker that polls them.
 *
 * IDENTIFICATION
 *	  src/ingest/fileflow.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_FILEFLOW_H
#define DLAKE_FILEFLOW_H

extern void dlake_fileflow_init(void);

#endif							/* DLAKE_FILEFLOW_H */
