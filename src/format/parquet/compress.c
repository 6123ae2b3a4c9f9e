/*-------------------------------------------------------------------------
 *
 * compress.c
 *	  Page compression codecs: snappy (snappy-c), gzip (zlib), zstd,
 *	  LZ4_RAW and the deprecated LZ4 codec (Hadoop framing or raw block).
 *
 * Decompression always targets a buffer of exactly the size declared in
 * the page header (already checked against the configured page limit by
 * the caller), and fails when the data decodes to any other size: that is
 * the decompression-bomb guard.
 *
 * IDENTIFICATION
 *	  src/format/parquet/compress.c
 *
 *-------------------------------------------------------------------------
 */
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "format/parquet/pq_internal.h"

const char *
pq_codec_name(int codec)
{
	switch (codec)
	{
		case PARQUET_CODEC_UNCOMPRESSED:
			return "UNCOMPRESSED";
		case PARQUET_CODEC_SNAPPY:
			return "SNAPPY";
		case PARQUET_CODEC_GZIP:
			return "GZIP";
		case PARQUET_CODEC_LZO:
			return "LZO";
		case PARQUET_CODEC_BROTLI:
			return "BROTLI";
		case PARQUET_CODEC_LZ4:
			return "LZ4";
		case PARQUET_CODEC_ZSTD:
			return "ZSTD";
		case PARQUET_CODEC_LZ4_RAW:
			return "LZ4_RAW";
	}
	return "unknown";
}

size_t
pq_compress_bound(ParquetCodec codec, size_t n)
{
	switch (codec)
	{
		case PARQUET_CODEC_SNAPPY:
			return snappy_max_compressed_length(n);
		case PARQUET_CODEC_GZIP:
			return compressBound((uLong) n) + 64;
		case PARQUET_CODEC_ZSTD:
			return ZSTD_compressBound(n);
		default:
			return n;
	}
}

ParquetStatus
pq_compress(ParquetCodec codec, int level, const uint8_t *in, size_t n,
			uint8_t *out, size_t *outlen, PqErr *err)
{
	switch (codec)
	{
		case PARQUET_CODEC_UNCOMPRESSED:
			if (n)
				memcpy(out, in, n);
			*outlen = n;
			return PARQUET_OK;
		case PARQUET_CODEC_SNAPPY:
			{
				size_t		ol = snappy_max_compressed_length(n);

				if (snappy_compress((const char *) in, n, (char *) out, &ol) != SNAPPY_OK)
					return pq_seterr(err, PARQUET_ERR_INVALID, "snappy compression failed");
				*outlen = ol;
				return PARQUET_OK;
			}
		case PARQUET_CODEC_ZSTD:
			{
				size_t		r = ZSTD_compress(out, ZSTD_compressBound(n), in, n,
											  level ? level : 3);

				if (ZSTD_isError(r))
					return pq_seterr(err, PARQUET_ERR_INVALID, "zstd compression failed: %s",
									 ZSTD_getErrorName(r));
				*outlen = r;
				return PARQUET_OK;
			}
		case PARQUET_CODEC_GZIP:
			{
				z_stream	zs;
				int			rc;

				memset(&zs, 0, sizeof(zs));
				if (deflateInit2(&zs, level ? level : 6, Z_DEFLATED, 15 + 16, 8,
								 Z_DEFAULT_STRATEGY) != Z_OK)
					return pq_seterr(err, PARQUET_ERR_NOMEM, "gzip initialisation failed");
				zs.next_in = (Bytef *) in;
				zs.avail_in = (uInt) n;
				zs.next_out = out;
				zs.avail_out = (uInt) pq_compress_bound(codec, n);
				rc = deflate(&zs, Z_FINISH);
				*outlen = zs.total_out;
				deflateEnd(&zs);
				if (rc != Z_STREAM_END)
					return pq_seterr(err, PARQUET_ERR_INVALID, "gzip compression failed");
				return PARQUET_OK;
			}
		default:
			return pq_seterr(err, PARQUET_ERR_UNSUPPORTED,
							 "compression codec %s is not supported for writing",
							 pq_codec_name(codec));
	}
}

/* gzip: one or more members (also accepts zlib streams) */
static ParquetStatus
gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t outlen, PqErr *err)
{
	z_stream	zs;
	int			rc;
	size_t		produced;

	if (n > UINT32_MAX || outlen > UINT32_MAX)
		return pq_seterr(err, PARQUET_ERR_LIMIT, "gzip page too large");
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return pq_seterr(err, PARQUET_ERR_NOMEM, "gzip initialisation failed");
	zs.next_in = (Bytef *) in;
	zs.avail_in = (uInt) n;
	zs.next_out = out;
	zs.avail_out = (uInt) outlen;
	for (;;)
	{
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
		{
			/* another member?  skip trailing zero padding */
			while (zs.avail_in > 0 && *zs.next_in == 0)
			{
				zs.next_in++;
				zs.avail_in--;
			}
			if (zs.avail_in == 0)
				break;
			if (inflateReset(&zs) != Z_OK)
				break;
			continue;
		}
		if (rc == Z_OK)
			continue;
		inflateEnd(&zs);
		if (rc == Z_BUF_ERROR && zs.avail_out == 0)
			return pq_seterr(err, PARQUET_ERR_CORRUPT,
							 "gzip data decompresses to more than the declared %zu bytes",
							 outlen);
		return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid or truncated gzip data");
	}
	inflateEnd(&zs);
	produced = outlen - zs.avail_out;
	if (rc != Z_STREAM_END || produced != outlen)
		return pq_seterr(err, PARQUET_ERR_CORRUPT,
						 "gzip data decompresses to %zu bytes, declared %zu",
						 produced, outlen);
	return PARQUET_OK;
}

/* deprecated LZ4 codec: Hadoop framing, else a raw block */
static ParquetStatus
lz4_hadoop(const uint8_t *in, size_t n, uint8_t *out, size_t outlen, PqErr *err)
{
	const uint8_t *p = in;
	const uint8_t *end = in + n;
	size_t		done = 0;
	bool		ok = true;

	while (p < end)
	{
		uint32_t	dlen,
					clen;
		int			r;

		if (end - p < 8)
		{
			ok = false;
			break;
		}
		dlen = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
		clen = ((uint32_t) p[4] << 24) | ((uint32_t) p[5] << 16) | ((uint32_t) p[6] << 8) | p[7];
		p += 8;
		if (clen > (size_t) (end - p) || dlen > outlen - done || clen > INT32_MAX)
		{
			ok = false;
			break;
		}
		r = LZ4_decompress_safe((const char *) p, (char *) out + done, (int) clen, (int) dlen);
		if (r < 0 || (uint32_t) r != dlen)
		{
			ok = false;
			break;
		}
		done += dlen;
		p += clen;
	}
	if (ok && done == outlen)
		return PARQUET_OK;
	/* fall back to a raw LZ4 block (older parquet-cpp) */
	if (n <= INT32_MAX && outlen <= INT32_MAX)
	{
		int			r = LZ4_decompress_safe((const char *) in, (char *) out, (int) n, (int) outlen);

		if (r >= 0 && (size_t) r == outlen)
			return PARQUET_OK;
	}
	return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid LZ4 data");
}

ParquetStatus
pq_decompress(ParquetCodec codec, const uint8_t *in, size_t n, uint8_t *out,
			  size_t outlen, PqErr *err)
{
	if (n == 0)
	{
		if (outlen == 0)
			return PARQUET_OK;
		return pq_seterr(err, PARQUET_ERR_CORRUPT,
						 "empty compressed data for %zu declared bytes", outlen);
	}
	switch (codec)
	{
		case PARQUET_CODEC_UNCOMPRESSED:
			if (n != outlen)
				return pq_seterr(err, PARQUET_ERR_CORRUPT,
								 "uncompressed page of %zu bytes declares %zu bytes",
								 n, outlen);
			memcpy(out, in, n);
			return PARQUET_OK;
		case PARQUET_CODEC_SNAPPY:
			{
				size_t		len;
				size_t		ol = outlen;

				if (snappy_uncompressed_length((const char *) in, n, &len) != SNAPPY_OK)
					return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid snappy data");
				if (len != outlen)
					return pq_seterr(err, PARQUET_ERR_CORRUPT,
									 "snappy data decompresses to %zu bytes, declared %zu",
									 len, outlen);
				if (snappy_uncompress((const char *) in, n, (char *) out, &ol) != SNAPPY_OK ||
					ol != outlen)
					return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid snappy data");
				return PARQUET_OK;
			}
		case PARQUET_CODEC_GZIP:
			return gunzip(in, n, out, outlen, err);
		case PARQUET_CODEC_ZSTD:
			{
				size_t		r;
				unsigned long long fcs = ZSTD_getFrameContentSize(in, n);

				if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
					fcs > outlen)
					return pq_seterr(err, PARQUET_ERR_CORRUPT,
									 "zstd frame declares %llu bytes, page declares %zu",
									 fcs, outlen);
				r = ZSTD_decompress(out, outlen, in, n);
				if (ZSTD_isError(r))
					return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid zstd data: %s",
									 ZSTD_getErrorName(r));
				if (r != outlen)
					return pq_seterr(err, PARQUET_ERR_CORRUPT,
									 "zstd data decompresses to %zu bytes, declared %zu",
									 r, outlen);
				return PARQUET_OK;
			}
		case PARQUET_CODEC_LZ4_RAW:
			{
				int			r;

				if (n > INT32_MAX || outlen > INT32_MAX)
					return pq_seterr(err, PARQUET_ERR_LIMIT, "LZ4 page too large");
				r = LZ4_decompress_safe((const char *) in, (char *) out, (int) n, (int) outlen);
				if (r < 0 || (size_t) r != outlen)
					return pq_seterr(err, PARQUET_ERR_CORRUPT, "invalid LZ4_RAW data");
				return PARQUET_OK;
			}
		case PARQUET_CODEC_LZ4:
			return lz4_hadoop(in, n, out, outlen, err);
		default:
			return pq_seterr(err, PARQUET_ERR_UNSUPPORTED,
							 "compression codec %s is not supported",
							 pq_codec_name(codec));
	}
}
