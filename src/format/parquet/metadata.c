/*-------------------------------------------------------------------------
 *
 * metadata.c
 *	  Decoding of Parquet FileMetaData and PageHeader from Thrift compact
 *	  bytes into plain C structs.
 *
 * Unknown fields (new format additions, the 32767 extension field) are
 * skipped; fields with a wire type other than the expected one are
 * skipped too rather than misread.  Required fields are checked at the end
 * of each struct.  Strings stay pointers into the input buffer (which the
 * reader keeps alive); arrays are allocated from an arena.
 *
 * IDENTIFICATION
 *	  src/format/parquet/metadata.c
 *
 *-------------------------------------------------------------------------
 */
#include "format/parquet/pq_internal.h"

/* is `type` acceptable for an integer field? */
static bool
is_int_type(int t)
{
	return t == TT_I8 || t == TT_I16 || t == TT_I32 || t == TT_I64;
}

static bool
decode_bytes(ThriftDec *d, int type, PqBytes *b)
{
	if (type != TT_BINARY)
	{
		tdec_skip(d, type);
		return false;
	}
	b->set = tdec_binary(d, type, &b->p, &b->len);
	return b->set;
}

/* empty-struct union members such as StringType {} */
static void
skip_struct(ThriftDec *d, int type)
{
	tdec_skip(d, type);
}

static void
decode_time_unit(ThriftDec *d, ParquetTimeUnit *unit)
{
	int			id,
				t;

	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		if (t == TT_STRUCT && id >= 1 && id <= 3)
			*unit = (ParquetTimeUnit) id;
		tdec_skip(d, t);
	}
	tdec_struct_end(d);
}

/* LogicalType union */
static void
decode_logical(ThriftDec *d, ParquetLogicalType *lt)
{
	int			id,
				t;

	memset(lt, 0, sizeof(*lt));
	lt->kind = PARQUET_LT_NONE;
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		if (t != TT_STRUCT)
		{
			tdec_skip(d, t);
			continue;
		}
		switch (id)
		{
			case 5:				/* DECIMAL */
				{
					int			fid,
								ft;

					lt->kind = PARQUET_LT_DECIMAL;
					if (!tdec_struct_begin(d))
						return;
					while (tdec_field(d, &fid, &ft))
					{
						if (fid == 1 && is_int_type(ft))
							lt->scale = tdec_i32(d, ft);
						else if (fid == 2 && is_int_type(ft))
							lt->precision = tdec_i32(d, ft);
						else
							tdec_skip(d, ft);
					}
					tdec_struct_end(d);
					break;
				}
			case 7:				/* TIME */
			case 8:				/* TIMESTAMP */
				{
					int			fid,
								ft;

					lt->kind = id == 7 ? PARQUET_LT_TIME : PARQUET_LT_TIMESTAMP;
					lt->unit = PARQUET_MILLIS;
					if (!tdec_struct_begin(d))
						return;
					while (tdec_field(d, &fid, &ft))
					{
						if (fid == 1 && (ft == TT_TRUE || ft == TT_FALSE))
							lt->utc = tdec_bool(d, ft);
						else if (fid == 2 && ft == TT_STRUCT)
							decode_time_unit(d, &lt->unit);
						else
							tdec_skip(d, ft);
					}
					tdec_struct_end(d);
					break;
				}
			case 10:			/* INTEGER */
				{
					int			fid,
								ft;

					lt->kind = PARQUET_LT_INTEGER;
					lt->bit_width = 0;
					lt->is_signed = true;
					if (!tdec_struct_begin(d))
						return;
					while (tdec_field(d, &fid, &ft))
					{
						if (fid == 1 && is_int_type(ft))
							lt->bit_width = tdec_i32(d, ft);
						else if (fid == 2 && (ft == TT_TRUE || ft == TT_FALSE))
							lt->is_signed = tdec_bool(d, ft);
						else
							tdec_skip(d, ft);
					}
					tdec_struct_end(d);
					break;
				}
			case 1:
			case 2:
			case 3:
			case 4:
			case 6:
			case 11:
			case 12:
			case 13:
			case 14:
			case 15:
			case 16:
			case 17:
			case 18:
				lt->kind = (ParquetLogicalKind) id;
				skip_struct(d, t);
				break;
			default:
				lt->kind = PARQUET_LT_OTHER;
				skip_struct(d, t);
				break;
		}
	}
	tdec_struct_end(d);
}

static void
decode_schema_elem(ThriftDec *d, PqSchemaElem *se)
{
	int			id,
				t;

	memset(se, 0, sizeof(*se));
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				if (!is_int_type(t))
					goto skip;
				se->has_type = true;
				se->type = tdec_i32(d, t);
				break;
			case 2:
				if (!is_int_type(t))
					goto skip;
				se->type_length = tdec_i32(d, t);
				break;
			case 3:
				if (!is_int_type(t))
					goto skip;
				se->has_repetition = true;
				se->repetition = tdec_i32(d, t);
				break;
			case 4:
				decode_bytes(d, t, &se->name);
				break;
			case 5:
				if (!is_int_type(t))
					goto skip;
				se->has_num_children = true;
				se->num_children = tdec_i32(d, t);
				break;
			case 6:
				if (!is_int_type(t))
					goto skip;
				se->has_converted = true;
				se->converted = tdec_i32(d, t);
				break;
			case 7:
				if (!is_int_type(t))
					goto skip;
				se->scale = tdec_i32(d, t);
				break;
			case 8:
				if (!is_int_type(t))
					goto skip;
				se->precision = tdec_i32(d, t);
				break;
			case 9:
				if (!is_int_type(t))
					goto skip;
				se->has_field_id = true;
				se->field_id = tdec_i32(d, t);
				break;
			case 10:
				if (t != TT_STRUCT)
					goto skip;
				se->has_logical = true;
				decode_logical(d, &se->logical);
				break;
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
	if (!d->failed && !se->name.set)
		tdec_fail(d, "schema element without a name");
}

static void
decode_stats(ThriftDec *d, PqStatsRaw *st)
{
	int			id,
				t;

	memset(st, 0, sizeof(*st));
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				decode_bytes(d, t, &st->max);
				break;
			case 2:
				decode_bytes(d, t, &st->min);
				break;
			case 3:
				if (!is_int_type(t))
					goto skip;
				st->has_null_count = true;
				st->null_count = tdec_i64(d, t);
				break;
			case 4:
				if (!is_int_type(t))
					goto skip;
				st->has_distinct_count = true;
				st->distinct_count = tdec_i64(d, t);
				break;
			case 5:
				decode_bytes(d, t, &st->max_value);
				break;
			case 6:
				decode_bytes(d, t, &st->min_value);
				break;
			case 7:
				if (t != TT_TRUE && t != TT_FALSE)
					goto skip;
				st->has_is_max_exact = true;
				st->is_max_exact = tdec_bool(d, t);
				break;
			case 8:
				if (t != TT_TRUE && t != TT_FALSE)
					goto skip;
				st->has_is_min_exact = true;
				st->is_min_exact = tdec_bool(d, t);
				break;
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
}

static uint32_t
enc_bit(int32_t e)
{
	return (e >= 0 && e < 32) ? (1u << e) : 0;
}

static void
decode_column_meta(ThriftDec *d, PqArena *a, PqColumnMeta *cm)
{
	int			id,
				t;
	uint32_t	required = 0;

	memset(cm, 0, sizeof(*cm));
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				if (!is_int_type(t))
					goto skip;
				cm->type = tdec_i32(d, t);
				required |= 1 << 1;
				break;
			case 2:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					for (i = 0; i < n && !d->failed; i++)
					{
						if (is_int_type(et))
							cm->encodings |= enc_bit(tdec_i32(d, et == TT_I8 ? TT_I8 : TT_I32));
						else
							tdec_fail(d, "bad encodings list");
					}
					required |= 1 << 2;
					break;
				}
			case 3:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_BINARY && n > 0)
					{
						tdec_fail(d, "bad path_in_schema list");
						break;
					}
					cm->path = pq_arena_alloc(a, sizeof(PqBytes) * (n ? n : 1));
					if (!cm->path)
					{
						tdec_fail(d, "out of memory");
						break;
					}
					cm->npath = n;
					for (i = 0; i < n && !d->failed; i++)
					{
						cm->path[i].set = tdec_binary(d, TT_BINARY, &cm->path[i].p,
													  &cm->path[i].len);
					}
					required |= 1 << 3;
					break;
				}
			case 4:
				if (!is_int_type(t))
					goto skip;
				cm->codec = tdec_i32(d, t);
				required |= 1 << 4;
				break;
			case 5:
				if (!is_int_type(t))
					goto skip;
				cm->num_values = tdec_i64(d, t);
				required |= 1 << 5;
				break;
			case 6:
				if (!is_int_type(t))
					goto skip;
				cm->total_uncompressed_size = tdec_i64(d, t);
				required |= 1 << 6;
				break;
			case 7:
				if (!is_int_type(t))
					goto skip;
				cm->total_compressed_size = tdec_i64(d, t);
				required |= 1 << 7;
				break;
			case 9:
				if (!is_int_type(t))
					goto skip;
				cm->data_page_offset = tdec_i64(d, t);
				required |= 1 << 9;
				break;
			case 11:
				if (!is_int_type(t))
					goto skip;
				cm->has_dictionary_page_offset = true;
				cm->dictionary_page_offset = tdec_i64(d, t);
				break;
			case 12:
				if (t != TT_STRUCT)
					goto skip;
				cm->has_statistics = true;
				decode_stats(d, &cm->stats);
				break;
			case 13:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_STRUCT && n > 0)
					{
						tdec_fail(d, "bad encoding_stats list");
						break;
					}
					cm->has_encoding_stats = true;
					for (i = 0; i < n && !d->failed; i++)
					{
						int			fid,
									ft;
						int32_t		ptype = -1,
									enc = -1,
									count = 1;

						if (!tdec_struct_begin(d))
							break;
						while (tdec_field(d, &fid, &ft))
						{
							if (fid == 1 && is_int_type(ft))
								ptype = tdec_i32(d, ft);
							else if (fid == 2 && is_int_type(ft))
								enc = tdec_i32(d, ft);
							else if (fid == 3 && is_int_type(ft))
								count = tdec_i32(d, ft);
							else
								tdec_skip(d, ft);
						}
						tdec_struct_end(d);
						if ((ptype == PQ_PAGE_DATA || ptype == PQ_PAGE_DATA_V2) && count > 0)
							cm->data_page_encodings |= enc_bit(enc);
					}
					break;
				}
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
	if (!d->failed && (required & 0x2fe) != 0x2fe)
		tdec_fail(d, "column metadata lacks a required field");
}

static void
decode_column_chunk(ThriftDec *d, PqArena *a, PqColumnChunk *cc)
{
	int			id,
				t;

	memset(cc, 0, sizeof(*cc));
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				cc->has_file_path = true;
				tdec_skip(d, t);
				break;
			case 3:
				if (t != TT_STRUCT)
					goto skip;
				cc->has_meta = true;
				decode_column_meta(d, a, &cc->meta);
				break;
			case 8:
			case 9:
				cc->encrypted = true;
				tdec_skip(d, t);
				break;
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
}

static void
decode_row_group(ThriftDec *d, PqArena *a, PqRowGroup *rg)
{
	int			id,
				t;
	bool		has_columns = false,
				has_rows = false;

	memset(rg, 0, sizeof(*rg));
	if (!tdec_struct_begin(d))
		return;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_STRUCT && n > 0)
					{
						tdec_fail(d, "bad column chunk list");
						break;
					}
					rg->columns = pq_arena_alloc(a, sizeof(PqColumnChunk) * (n ? n : 1));
					if (!rg->columns)
					{
						tdec_fail(d, "out of memory");
						break;
					}
					rg->ncolumns = n;
					for (i = 0; i < n && !d->failed; i++)
						decode_column_chunk(d, a, &rg->columns[i]);
					has_columns = true;
					break;
				}
			case 2:
				if (!is_int_type(t))
					goto skip;
				rg->total_byte_size = tdec_i64(d, t);
				break;
			case 3:
				if (!is_int_type(t))
					goto skip;
				rg->num_rows = tdec_i64(d, t);
				has_rows = true;
				break;
			case 5:
				if (!is_int_type(t))
					goto skip;
				rg->has_file_offset = true;
				rg->file_offset = tdec_i64(d, t);
				break;
			case 6:
				if (!is_int_type(t))
					goto skip;
				rg->has_total_compressed_size = true;
				rg->total_compressed_size = tdec_i64(d, t);
				break;
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
	if (!d->failed && (!has_columns || !has_rows))
		tdec_fail(d, "row group lacks columns or num_rows");
}

bool
pq_decode_file_meta(ThriftDec *d, PqArena *a, PqFileMeta *fm)
{
	int			id,
				t;
	bool		has_version = false,
				has_schema = false,
				has_rows = false,
				has_rgs = false;

	memset(fm, 0, sizeof(*fm));
	if (!tdec_struct_begin(d))
		return false;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				if (!is_int_type(t))
					goto skip;
				fm->version = tdec_i32(d, t);
				has_version = true;
				break;
			case 2:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_STRUCT && n > 0)
					{
						tdec_fail(d, "bad schema list");
						break;
					}
					fm->schema = pq_arena_alloc(a, sizeof(PqSchemaElem) * (n ? n : 1));
					if (!fm->schema)
					{
						tdec_fail(d, "out of memory");
						break;
					}
					fm->nschema = n;
					for (i = 0; i < n && !d->failed; i++)
						decode_schema_elem(d, &fm->schema[i]);
					has_schema = true;
					break;
				}
			case 3:
				if (!is_int_type(t))
					goto skip;
				fm->num_rows = tdec_i64(d, t);
				has_rows = true;
				break;
			case 4:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_STRUCT && n > 0)
					{
						tdec_fail(d, "bad row group list");
						break;
					}
					fm->row_groups = pq_arena_alloc(a, sizeof(PqRowGroup) * (n ? n : 1));
					if (!fm->row_groups)
					{
						tdec_fail(d, "out of memory");
						break;
					}
					fm->nrow_groups = n;
					for (i = 0; i < n && !d->failed; i++)
						decode_row_group(d, a, &fm->row_groups[i]);
					has_rgs = true;
					break;
				}
			case 5:
				{
					int			et;
					uint32_t	n,
								i;

					if (t != TT_LIST || !tdec_list(d, t, &et, &n))
						goto skip;
					if (et != TT_STRUCT && n > 0)
					{
						tdec_fail(d, "bad key_value_metadata list");
						break;
					}
					fm->kv = pq_arena_alloc(a, sizeof(PqKV) * (n ? n : 1));
					if (!fm->kv)
					{
						tdec_fail(d, "out of memory");
						break;
					}
					memset(fm->kv, 0, sizeof(PqKV) * (n ? n : 1));
					fm->nkv = n;
					for (i = 0; i < n && !d->failed; i++)
					{
						int			fid,
									ft;

						if (!tdec_struct_begin(d))
							break;
						while (tdec_field(d, &fid, &ft))
						{
							if (fid == 1)
								decode_bytes(d, ft, &fm->kv[i].key);
							else if (fid == 2)
								decode_bytes(d, ft, &fm->kv[i].value);
							else
								tdec_skip(d, ft);
						}
						tdec_struct_end(d);
						if (!d->failed && !fm->kv[i].key.set)
							tdec_fail(d, "key-value entry without a key");
					}
					break;
				}
			case 6:
				decode_bytes(d, t, &fm->created_by);
				break;
			case 7:
				fm->has_column_orders = true;
				tdec_skip(d, t);
				break;
			case 8:
				fm->encrypted = true;
				tdec_skip(d, t);
				break;
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
	if (!d->failed && (!has_version || !has_schema || !has_rows || !has_rgs))
		tdec_fail(d, "file metadata lacks a required field");
	return !d->failed;
}

bool
pq_decode_page_header(ThriftDec *d, PqPageHeader *ph)
{
	int			id,
				t;
	uint32_t	required = 0;

	memset(ph, 0, sizeof(*ph));
	ph->v2_is_compressed = true;
	if (!tdec_struct_begin(d))
		return false;
	while (tdec_field(d, &id, &t))
	{
		switch (id)
		{
			case 1:
				if (!is_int_type(t))
					goto skip;
				ph->type = tdec_i32(d, t);
				required |= 2;
				break;
			case 2:
				if (!is_int_type(t))
					goto skip;
				ph->uncompressed_size = tdec_i32(d, t);
				required |= 4;
				break;
			case 3:
				if (!is_int_type(t))
					goto skip;
				ph->compressed_size = tdec_i32(d, t);
				required |= 8;
				break;
			case 4:
				if (!is_int_type(t))
					goto skip;
				ph->has_crc = true;
				ph->crc = tdec_i32(d, t);
				break;
			case 5:
			case 8:
				{
					int			fid,
								ft;
					uint32_t	req = 0;

					if (t != TT_STRUCT || !tdec_struct_begin(d))
						goto skip;
					if (id == 5)
						ph->has_data = true;
					else
						ph->has_v2 = true;
					while (tdec_field(d, &fid, &ft))
					{
						if (!is_int_type(ft) && !(id == 8 && fid == 7))
						{
							tdec_skip(d, ft);
							continue;
						}
						if (id == 5)
						{
							switch (fid)
							{
								case 1:
									ph->num_values = tdec_i32(d, ft);
									req |= 2;
									break;
								case 2:
									ph->encoding = tdec_i32(d, ft);
									req |= 4;
									break;
								case 3:
									ph->def_encoding = tdec_i32(d, ft);
									break;
								case 4:
									ph->rep_encoding = tdec_i32(d, ft);
									break;
								default:
									tdec_skip(d, ft);
							}
						}
						else
						{
							switch (fid)
							{
								case 1:
									ph->num_values = tdec_i32(d, ft);
									req |= 2;
									break;
								case 2:
									ph->v2_num_nulls = tdec_i32(d, ft);
									break;
								case 3:
									ph->v2_num_rows = tdec_i32(d, ft);
									break;
								case 4:
									ph->encoding = tdec_i32(d, ft);
									req |= 4;
									break;
								case 5:
									ph->v2_def_len = tdec_i32(d, ft);
									break;
								case 6:
									ph->v2_rep_len = tdec_i32(d, ft);
									break;
								case 7:
									if (ft == TT_TRUE || ft == TT_FALSE)
										ph->v2_is_compressed = tdec_bool(d, ft);
									else
										tdec_skip(d, ft);
									break;
								default:
									tdec_skip(d, ft);
							}
						}
					}
					tdec_struct_end(d);
					if (!d->failed && req != 6)
						tdec_fail(d, "data page header lacks a required field");
					break;
				}
			case 7:
				{
					int			fid,
								ft;

					if (t != TT_STRUCT || !tdec_struct_begin(d))
						goto skip;
					ph->has_dict = true;
					while (tdec_field(d, &fid, &ft))
					{
						if (fid == 1 && is_int_type(ft))
							ph->dict_num_values = tdec_i32(d, ft);
						else if (fid == 2 && is_int_type(ft))
							ph->dict_encoding = tdec_i32(d, ft);
						else
							tdec_skip(d, ft);
					}
					tdec_struct_end(d);
					break;
				}
			default:
		skip:
				tdec_skip(d, t);
		}
	}
	tdec_struct_end(d);
	if (!d->failed && required != 14)
		tdec_fail(d, "page header lacks a required field");
	return !d->failed;
}
