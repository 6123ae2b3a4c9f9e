/*-------------------------------------------------------------------------
 *
 * kpl.c
 *	  De-aggregation of records written by the Kinesis Producer Library
 *	  (and compatible aggregators): 4 magic bytes F3 89 9A C2, a protobuf
 *	  AggregatedRecord, and the MD5 of the protobuf bytes.
 *
 *	  AggregatedRecord { repeated string partition_key_table = 1;
 *						 repeated string explicit_hash_key_table = 2;
 *						 repeated Record records = 3; }
 *	  Record { required uint64 partition_key_index = 1;
 *			   optional uint64 explicit_hash_key_index = 2;
 *			   required bytes data = 3; repeated Tag tags = 4; }
 *
 *	  A record whose checksum does not match or whose protobuf does not
 *	  parse is not an error: the caller keeps it as one plain record.
 *	  The parser is a bounds-checked reader of the few wire types used.
 *
 * IDENTIFICATION
 *	  src/kinesis/kpl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "kinesis/kinesis.h"

static const unsigned char kpl_magic[KPL_MAGIC_LEN] = {0xF3, 0x89, 0x9A, 0xC2};

#define KPL_MD5_LEN 16

typedef struct PbReader
{
	const unsigned char *p;
	const unsigned char *end;
} PbReader;

static bool
pb_varint(PbReader *r, uint64 *out)
{
	uint64		v = 0;
	int			shift = 0;

	while (r->p < r->end && shift < 64)
	{
		unsigned char b = *r->p++;

		v |= (uint64) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*out = v;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* read a length-delimited field body */
static bool
pb_bytes(PbReader *r, const unsigned char **data, size_t *len)
{
	uint64		l;

	if (!pb_varint(r, &l) || l > (uint64) (r->end - r->p))
		return false;
	*data = r->p;
	*len = (size_t) l;
	r->p += l;
	return true;
}

/* skip a field of the given wire type */
static bool
pb_skip(PbReader *r, int wiretype)
{
	uint64		v;
	const unsigned char *d;
	size_t		l;

	switch (wiretype)
	{
		case 0:
			return pb_varint(r, &v);
		case 1:
			if (r->end - r->p < 8)
				return false;
			r->p += 8;
			return true;
		case 2:
			return pb_bytes(r, &d, &l);
		case 5:
			if (r->end - r->p < 4)
				return false;
			r->p += 4;
			return true;
		default:
			return false;
	}
}

static char *
pb_strdup(const unsigned char *d, size_t len)
{
	char	   *s = palloc(len + 1);

	memcpy(s, d, len);
	s[len] = '\0';
	return s;
}

bool
kpl_is_aggregate(const char *data, int len)
{
	return len > KPL_MAGIC_LEN + KPL_MD5_LEN &&
		memcmp(data, kpl_magic, KPL_MAGIC_LEN) == 0;
}

typedef struct KplSub
{
	uint64		pk_index;
	bool		has_ehk;
	uint64		ehk_index;
	const unsigned char *data;
	size_t		data_len;
} KplSub;

/* parse one Record message */
static bool
parse_sub(const unsigned char *d, size_t len, KplSub *sub)
{
	PbReader	r = {d, d + len};
	bool		have_pk = false,
				have_data = false;

	memset(sub, 0, sizeof(*sub));
	while (r.p < r.end)
	{
		uint64		key;
		int			field,
					wt;

		if (!pb_varint(&r, &key))
			return false;
		field = (int) (key >> 3);
		wt = (int) (key & 7);
		if (field == 1 && wt == 0)
		{
			if (!pb_varint(&r, &sub->pk_index))
				return false;
			have_pk = true;
		}
		else if (field == 2 && wt == 0)
		{
			if (!pb_varint(&r, &sub->ehk_index))
				return false;
			sub->has_ehk = true;
		}
		else if (field == 3 && wt == 2)
		{
			if (!pb_bytes(&r, &sub->data, &sub->data_len))
				return false;
			have_data = true;
		}
		else if (!pb_skip(&r, wt))
			return false;
	}
	return have_pk && have_data;
}

bool
kpl_deaggregate(const KinesisRecord *outer, List **out)
{
	const unsigned char *pb = (const unsigned char *) outer->data + KPL_MAGIC_LEN;
	size_t		pblen = outer->data_len - KPL_MAGIC_LEN - KPL_MD5_LEN;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	PbReader	r;
	List	   *pks = NIL;
	List	   *ehks = NIL;
	KplSub	   *subs;
	int			nsubs = 0,
				cap = 16;
	int			i;

	if (!kpl_is_aggregate(outer->data, outer->data_len))
		return false;
	/*
	 * OpenSSL directly: pg_md5_binary needs a resource owner, which a
	 * background worker does not have between transactions.
	 */
	if (!EVP_Digest(pb, pblen, digest, &dlen, EVP_md5(), NULL) ||
		dlen != KPL_MD5_LEN || memcmp(digest, pb + pblen, KPL_MD5_LEN) != 0)
		return false;

	r.p = pb;
	r.end = pb + pblen;
	subs = palloc(sizeof(KplSub) * cap);
	while (r.p < r.end)
	{
		uint64		key;
		int			field,
					wt;
		const unsigned char *d;
		size_t		l;

		if (!pb_varint(&r, &key))
			return false;
		field = (int) (key >> 3);
		wt = (int) (key & 7);
		if ((field == 1 || field == 2 || field == 3) && wt == 2)
		{
			if (!pb_bytes(&r, &d, &l))
				return false;
			if (field == 1)
				pks = lappend(pks, pb_strdup(d, l));
			else if (field == 2)
				ehks = lappend(ehks, pb_strdup(d, l));
			else
			{
				if (nsubs >= cap)
				{
					cap *= 2;
					subs = repalloc(subs, sizeof(KplSub) * cap);
				}
				if (!parse_sub(d, l, &subs[nsubs]))
					return false;
				nsubs++;
			}
		}
		else if (!pb_skip(&r, wt))
			return false;
	}
	if (nsubs == 0)
		return false;

	/* validate every index before emitting anything */
	for (i = 0; i < nsubs; i++)
	{
		if (subs[i].pk_index >= (uint64) list_length(pks))
			return false;
		if (subs[i].has_ehk && subs[i].ehk_index >= (uint64) list_length(ehks))
			return false;
	}

	for (i = 0; i < nsubs; i++)
	{
		KinesisRecord *rec = palloc0(sizeof(KinesisRecord));

		rec->sequence_number = outer->sequence_number;
		rec->sub_sequence_number = i;
		rec->partition_key = list_nth(pks, (int) subs[i].pk_index);
		rec->explicit_hash_key = subs[i].has_ehk ?
			list_nth(ehks, (int) subs[i].ehk_index) : NULL;
		rec->arrival = outer->arrival;
		rec->data_len = (int) subs[i].data_len;
		rec->data = palloc(rec->data_len + 1);
		memcpy(rec->data, subs[i].data, rec->data_len);
		rec->aggregated = true;
		*out = lappend(*out, rec);
	}
	pfree(subs);
	return true;
}

/*
 * kpl_hash_key returns the hash key that routes a user record, as a
 * decimal string without leading zeros: its explicit hash key when the
 * aggregate gave one, else the MD5 of its partition key read as an
 * unsigned 128-bit big-endian integer (how Kinesis routes a PutRecord).
 * After a reshard an aggregate written for the old shard layout can hold
 * user records whose hash key belongs to a sibling shard; the stream
 * worker compares this value with the shard's hash key range.  Returns
 * NULL when the explicit hash key is not a decimal number.
 */
char *
kpl_hash_key(const KinesisRecord *rec)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char		dec[48];
	int			pos = sizeof(dec) - 1;
	bool		nonzero = true;

	if (rec->explicit_hash_key != NULL)
	{
		const char *p = rec->explicit_hash_key;

		if (*p == '\0')
			return NULL;
		for (const char *q = p; *q; q++)
			if (*q < '0' || *q > '9')
				return NULL;
		while (p[0] == '0' && p[1] != '\0')
			p++;
		return pstrdup(p);
	}

	if (!EVP_Digest(rec->partition_key ? rec->partition_key : "",
					rec->partition_key ? strlen(rec->partition_key) : 0,
					digest, &dlen, EVP_md5(), NULL) || dlen != KPL_MD5_LEN)
		return NULL;

	/* 128-bit big-endian to decimal: repeated division by 10 */
	dec[pos] = '\0';
	while (nonzero)
	{
		unsigned int rem = 0;

		nonzero = false;
		for (int i = 0; i < KPL_MD5_LEN; i++)
		{
			unsigned int cur = (rem << 8) | digest[i];

			digest[i] = (unsigned char) (cur / 10);
			rem = cur % 10;
			if (digest[i] != 0)
				nonzero = true;
		}
		dec[--pos] = (char) ('0' + rem);
	}
	return pstrdup(dec + pos);
}
