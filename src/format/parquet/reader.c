/*-------------------------------------------------------------------------
 *
 * reader.c
 *	  Parquet reader: footer, schema tree, row group / chunk metadata and
 *	  statistics, and the column chunk cursor (pages, levels, values).
 *
 * The reader never trusts the file: the footer length is checked against
 * the file size and a cap, Thrift decoding has limits, chunk byte ranges
 * must lie between the leading magic and the footer, declared page sizes
 * are capped before any allocation and checked against what the codec
 * actually produces, level and dictionary indexes are range-checked, and
 * all memory goes through the counting allocator.
 *
 * IDENTIFICATION
 *	  src/format/parquet/reader.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "format/parquet/pq_reader.h"

/* ---------------- errors ---------------- */

ParquetStatus
pqr_fail(ParquetReader *r, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;

	/* reader-level errors are not sticky: the last one is reported */
	r->err.status = st;
	va_start(ap, fmt);
	vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
	va_end(ap);
	return st;
}

static ParquetStatus
pqr_nomem(ParquetReader *r, const char *what)
{
	if (r->mem.limit_hit)
		return pqr_fail(r, PARQUET_ERR_LIMIT,
						"%s: reader memory limit of %zu bytes exceeded (%zu bytes in use)",
						what, r->mem.limit, r->mem.used);
	return pqr_fail(r, PARQUET_ERR_NOMEM, "%s: out of memory", what);
}

void
parquet_reader_options_init(ParquetReaderOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->memory_limit = (size_t) 1024 * 1024 * 1024;
	o->max_footer_bytes = 64 * 1024 * 1024;
	o->max_page_bytes = 256 * 1024 * 1024;
	o->footer_prefetch = 64 * 1024;
	o->verify_crc = false;
}

/* ---------------- schema ---------------- */

static char *
arena_str(ParquetReader *r, const uint8_t *p, uint32_t len)
{
	char	   *s = pq_arena_alloc(&r->arena, (size_t) len + 1);

	if (s)
	{
		if (len)
			memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

/* same annotation apart from the UTC flag? */
static bool
logical_matches(const ParquetLogicalType *a, const ParquetLogicalType *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind)
	{
		case PARQUET_LT_DECIMAL:
			return a->precision == b->precision && a->scale == b->scale;
		case PARQUET_LT_TIME:
		case PARQUET_LT_TIMESTAMP:
			return a->unit == b->unit;
		case PARQUET_LT_INTEGER:
			return a->bit_width == b->bit_width && a->is_signed == b->is_signed;
		default:
			return true;
	}
}

#define PQ_MAX_SCHEMA_DEPTH 64

static ParquetStatus
build_node(ParquetReader *r, uint32_t *pos, int parent, int depth, int def, int rep)
{
	uint32_t	i = (*pos)++;
	PqSchemaElem *se;
	ParquetSchemaNode *n;
	int			k;

	if (i >= r->fm.nschema)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "schema ends before all declared children");
	if (depth > PQ_MAX_SCHEMA_DEPTH)
		return pqr_fail(r, PARQUET_ERR_UNSUPPORTED, "schema nested deeper than %d levels",
						PQ_MAX_SCHEMA_DEPTH);
	se = &r->fm.schema[i];
	n = &r->nodes[i];
	n->name = arena_str(r, se->name.p, se->name.len);
	if (!n->name)
		return pqr_nomem(r, "schema");
	n->parent = parent;
	n->field_id = se->has_field_id ? se->field_id : -1;
	n->converted = se->has_converted ? (ParquetConvertedType) se->converted : PARQUET_CT_NONE;
	n->leaf_index = -1;
	if (parent < 0)
		n->repetition = PARQUET_REQUIRED;
	else
	{
		int32_t		rt = se->has_repetition ? se->repetition : PARQUET_REQUIRED;

		if (rt < 0 || rt > 2)
			return pqr_fail(r, PARQUET_ERR_CORRUPT,
							"schema element \"%s\" has invalid repetition %d", n->name, rt);
		n->repetition = (ParquetRepetition) rt;
		if (rt != PARQUET_REQUIRED)
			def++;
		if (rt == PARQUET_REPEATED)
			rep++;
	}
	n->max_def = def;
	n->max_rep = rep;

	/* logical type: LogicalType, overridden by a disagreeing ConvertedType */
	n->logical = parquet_lt_none();
	if (se->has_logical)
		n->logical = se->logical;
	if (se->has_converted)
	{
		ParquetLogicalType ct;

		if (pq_logical_from_converted(se->converted, se->scale, se->precision, &ct))
		{
			if (n->logical.kind == PARQUET_LT_NONE || !logical_matches(&n->logical, &ct))
				n->logical = ct;
		}
	}

	if (se->has_num_children && se->num_children > 0)
	{
		int		   *children;

		if ((uint32_t) se->num_children > r->fm.nschema - *pos)
			return pqr_fail(r, PARQUET_ERR_CORRUPT,
							"schema group \"%s\" declares %d children but only %u elements follow",
							n->name, se->num_children, r->fm.nschema - *pos);
		children = pq_arena_alloc(&r->arena, sizeof(int) * se->num_children);
		if (!children)
			return pqr_nomem(r, "schema");
		n->children = children;
		n->num_children = se->num_children;
		n->is_leaf = false;
		for (k = 0; k < se->num_children; k++)
		{
			ParquetStatus st;

			children[k] = (int) *pos;
			st = build_node(r, pos, (int) i, depth + 1, def, rep);
			if (st != PARQUET_OK)
				return st;
		}
		return PARQUET_OK;
	}
	if (parent < 0)
	{
		n->is_leaf = false;
		return PARQUET_OK;		/* empty schema */
	}
	if (!se->has_type)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "schema element \"%s\" is neither a group nor typed",
						n->name);
	if (se->type < 0 || se->type > PARQUET_FIXED_LEN_BYTE_ARRAY)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "column \"%s\" has invalid physical type %d",
						n->name, se->type);
	n->is_leaf = true;
	n->type = (ParquetPhysicalType) se->type;
	n->type_length = se->type_length;
	if (n->type == PARQUET_FIXED_LEN_BYTE_ARRAY &&
		(se->type_length <= 0 || se->type_length > (1 << 24)))
		return pqr_fail(r, PARQUET_ERR_CORRUPT,
						"column \"%s\" has invalid FIXED_LEN_BYTE_ARRAY length %d",
						n->name, se->type_length);
	if (n->type == PARQUET_INT96)
		n->type_length = 12;
	n->leaf_index = r->ncols++;
	return PARQUET_OK;
}

/* the primitive element leaf of a LIST group, or -1 (spec LIST rules) */
static int
list_element_leaf(ParquetReader *r, const ParquetSchemaNode *g)
{
	const ParquetSchemaNode *rep;
	const ParquetSchemaNode *child;

	if (g->num_children != 1)
		return -1;
	rep = &r->nodes[g->children[0]];
	if (rep->repetition != PARQUET_REPEATED)
		return -1;
	if (rep->is_leaf)
		return rep->leaf_index;
	if (rep->num_children != 1)
		return -1;
	child = &r->nodes[rep->children[0]];
	if (child->repetition == PARQUET_REPEATED)
		return -1;
	if (strcmp(rep->name, "array") == 0)
		return -1;
	{
		size_t		gl = strlen(g->name);

		if (strlen(rep->name) == gl + 6 && strncmp(rep->name, g->name, gl) == 0 &&
			strcmp(rep->name + gl, "_tuple") == 0)
			return -1;
	}
	return child->is_leaf ? child->leaf_index : -1;
}

static ParquetStatus
build_schema(ParquetReader *r)
{
	uint32_t	pos = 0;
	ParquetStatus st;
	int			i,
				k;
	const ParquetSchemaNode *root;

	if (r->fm.nschema == 0)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "file has an empty schema");
	r->nnodes = (int) r->fm.nschema;
	r->nodes = pq_arena_alloc(&r->arena, sizeof(ParquetSchemaNode) * r->nnodes);
	if (!r->nodes)
		return pqr_nomem(r, "schema");
	memset(r->nodes, 0, sizeof(ParquetSchemaNode) * r->nnodes);
	st = build_node(r, &pos, -1, 0, 0, 0);
	if (st != PARQUET_OK)
		return st;
	if (pos != r->fm.nschema)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "schema has %u elements but the tree uses %u",
						r->fm.nschema, pos);

	/* leaves */
	r->cols = pq_arena_alloc(&r->arena, sizeof(ParquetColumnDesc) * (r->ncols ? r->ncols : 1));
	if (!r->cols)
		return pqr_nomem(r, "schema");
	memset(r->cols, 0, sizeof(ParquetColumnDesc) * (r->ncols ? r->ncols : 1));
	for (i = 0; i < r->nnodes; i++)
	{
		ParquetSchemaNode *n = &r->nodes[i];
		ParquetColumnDesc *c;
		int			depth = 0,
					j;
		const char **parts;
		size_t		plen = 0;
		char	   *path;

		if (!n->is_leaf)
			continue;
		c = &r->cols[n->leaf_index];
		c->node = i;
		c->name = n->name;
		c->type = n->type;
		c->type_length = n->type_length;
		c->logical = n->logical;
		c->converted = n->converted;
		c->repetition = n->repetition;
		c->max_def = n->max_def;
		c->max_rep = n->max_rep;
		for (j = i; r->nodes[j].parent >= 0; j = r->nodes[j].parent)
			depth++;
		parts = pq_arena_alloc(&r->arena, sizeof(char *) * depth);
		if (!parts)
			return pqr_nomem(r, "schema");
		k = depth;
		for (j = i; r->nodes[j].parent >= 0; j = r->nodes[j].parent)
		{
			parts[--k] = r->nodes[j].name;
			plen += strlen(r->nodes[j].name) + 1;
			if (r->nodes[j].parent == 0)
				c->field = j;	/* node index for now */
		}
		path = pq_arena_alloc(&r->arena, plen + 1);
		if (!path)
			return pqr_nomem(r, "schema");
		path[0] = '\0';
		plen = 0;
		for (k = 0; k < depth; k++)
		{
			size_t		l = strlen(parts[k]);

			if (k)
				path[plen++] = '.';
			memcpy(path + plen, parts[k], l);
			plen += l;
		}
		path[plen] = '\0';
		c->path = path;
		c->path_parts = parts;
		c->path_len = depth;
	}

	/* top-level fields */
	root = &r->nodes[0];
	r->nfields = root->num_children;
	r->fields = pq_arena_alloc(&r->arena, sizeof(ParquetField) * (r->nfields ? r->nfields : 1));
	if (!r->fields)
		return pqr_nomem(r, "schema");
	for (k = 0; k < r->nfields; k++)
	{
		ParquetField *f = &r->fields[k];
		int			ni = root->children[k];
		const ParquetSchemaNode *n = &r->nodes[ni];

		f->name = n->name;
		f->node = ni;
		f->first_leaf = -1;
		f->num_leaves = 0;
		f->list_element_leaf = -1;
		for (i = 0; i < r->ncols; i++)
		{
			if (r->cols[i].field == ni)
			{
				if (f->first_leaf < 0)
					f->first_leaf = i;
				f->num_leaves++;
			}
		}
		if (n->is_leaf)
		{
			if (n->repetition == PARQUET_REPEATED)
			{
				f->kind = PARQUET_FIELD_LIST;
				f->list_element_leaf = n->leaf_index;
			}
			else
				f->kind = PARQUET_FIELD_PRIMITIVE;
		}
		else if (n->logical.kind == PARQUET_LT_LIST)
		{
			f->kind = PARQUET_FIELD_LIST;
			f->list_element_leaf = list_element_leaf(r, n);
		}
		else if (n->logical.kind == PARQUET_LT_MAP)
			f->kind = PARQUET_FIELD_MAP;
		else if (n->repetition == PARQUET_REPEATED)
			f->kind = PARQUET_FIELD_LIST;
		else
			f->kind = PARQUET_FIELD_STRUCT;
		if (f->num_leaves == 0)
			return pqr_fail(r, PARQUET_ERR_UNSUPPORTED, "field \"%s\" has no leaf columns",
							f->name);
	}
	for (i = 0; i < r->ncols; i++)
	{
		for (k = 0; k < r->nfields; k++)
			if (r->fields[k].node == r->cols[i].field)
			{
				r->cols[i].field = k;
				break;
			}
	}
	return PARQUET_OK;
}

/* ---------------- statistics ---------------- */

/* signed sort order for the deprecated min/max fields */
static bool
legacy_stats_usable(const ParquetColumnDesc *c)
{
	switch (c->type)
	{
		case PARQUET_BOOLEAN:
		case PARQUET_FLOAT:
		case PARQUET_DOUBLE:
			return true;
		case PARQUET_INT32:
		case PARQUET_INT64:
			return !(c->logical.kind == PARQUET_LT_INTEGER && !c->logical.is_signed);
		default:
			return false;
	}
}

static bool
order_defined(const ParquetColumnDesc *c)
{
	switch (c->type)
	{
		case PARQUET_INT96:
			return false;
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			return c->logical.kind != PARQUET_LT_INTERVAL;
		default:
			return true;
	}
}

static bool
bound_is_nan(const ParquetColumnDesc *c, const uint8_t *p, uint32_t len)
{
	if (c->type == PARQUET_FLOAT && len == 4)
	{
		uint32_t	u = pq_le32(p);
		float		f;

		memcpy(&f, &u, 4);
		return isnan(f);
	}
	if (c->type == PARQUET_DOUBLE && len == 8)
	{
		uint64_t	u = pq_le64(p);
		double		d;

		memcpy(&d, &u, 8);
		return isnan(d);
	}
	return false;
}

static void
fill_stats(const ParquetColumnDesc *c, const PqStatsRaw *s, ParquetStatistics *out)
{
	const PqBytes *mn = NULL,
			   *mx = NULL;
	ParquetValue tmp;

	memset(out, 0, sizeof(*out));
	out->has_null_count = s->has_null_count && s->null_count >= 0;
	out->null_count = s->null_count;
	out->has_distinct_count = s->has_distinct_count && s->distinct_count >= 0;
	out->distinct_count = s->distinct_count;
	if (!order_defined(c))
		return;
	if (s->min_value.set && s->max_value.set)
	{
		mn = &s->min_value;
		mx = &s->max_value;
		out->min_exact = s->has_is_min_exact ? s->is_min_exact : true;
		out->max_exact = s->has_is_max_exact ? s->is_max_exact : true;
	}
	else if (s->min.set && s->max.set &&
			 (legacy_stats_usable(c) ||
			  (s->min.len == s->max.len && memcmp(s->min.p, s->max.p, s->min.len) == 0)))
	{
		mn = &s->min;
		mx = &s->max;
		out->min_exact = out->max_exact = true;
	}
	if (!mn)
		return;
	if (parquet_stat_value(c, mn->p, mn->len, &tmp) != PARQUET_OK ||
		parquet_stat_value(c, mx->p, mx->len, &tmp) != PARQUET_OK)
		return;
	if (bound_is_nan(c, mn->p, mn->len) || bound_is_nan(c, mx->p, mx->len))
		return;
	out->has_min_max = true;
	out->min = mn->p;
	out->min_len = mn->len;
	out->max = mx->p;
	out->max_len = mx->len;
}

ParquetStatus
parquet_stat_value(const ParquetColumnDesc *col, const uint8_t *b, uint32_t len,
				   ParquetValue *out)
{
	memset(out, 0, sizeof(*out));
	switch (col->type)
	{
		case PARQUET_BOOLEAN:
			if (len != 1)
				return PARQUET_ERR_CORRUPT;
			out->v.b = b[0] != 0;
			return PARQUET_OK;
		case PARQUET_INT32:
			if (len != 4)
				return PARQUET_ERR_CORRUPT;
			out->v.i32 = (int32_t) pq_le32(b);
			return PARQUET_OK;
		case PARQUET_INT64:
			if (len != 8)
				return PARQUET_ERR_CORRUPT;
			out->v.i64 = (int64_t) pq_le64(b);
			return PARQUET_OK;
		case PARQUET_FLOAT:
			{
				uint32_t	u;

				if (len != 4)
					return PARQUET_ERR_CORRUPT;
				u = pq_le32(b);
				memcpy(&out->v.f, &u, 4);
				return PARQUET_OK;
			}
		case PARQUET_DOUBLE:
			{
				uint64_t	u;

				if (len != 8)
					return PARQUET_ERR_CORRUPT;
				u = pq_le64(b);
				memcpy(&out->v.d, &u, 8);
				return PARQUET_OK;
			}
		case PARQUET_INT96:
			if (len != 12)
				return PARQUET_ERR_CORRUPT;
			break;
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			if (len != (uint32_t) col->type_length)
				return PARQUET_ERR_CORRUPT;
			break;
		case PARQUET_BYTE_ARRAY:
			break;
	}
	out->ptr = b;
	out->len = len;
	return PARQUET_OK;
}

/* ---------------- open ---------------- */

static ParquetStatus
src_read(ParquetReader *r, int64_t off, int64_t len, void *dst)
{
	if (len == 0)
		return PARQUET_OK;
	if (off < 0 || len < 0 || off > r->src.size - len)
		return pqr_fail(r, PARQUET_ERR_CORRUPT, "read of %lld bytes at offset %lld is outside the file",
						(long long) len, (long long) off);
	if (r->src.read_range(r->src.arg, off, len, dst) != 0)
		return pqr_fail(r, PARQUET_ERR_IO, "reading %lld bytes at offset %lld failed",
						(long long) len, (long long) off);
	return PARQUET_OK;
}

static ParquetStatus
check_row_groups(ParquetReader *r)
{
	uint32_t	g;
	int			c;
	int64_t		rows = 0;

	r->rgs = pq_arena_alloc(&r->arena, sizeof(ParquetRowGroupInfo) * (r->fm.nrow_groups ? r->fm.nrow_groups : 1));
	r->chunks = pq_arena_alloc(&r->arena, sizeof(ParquetColumnChunkInfo) *
							   ((size_t) r->fm.nrow_groups * r->ncols + 1));
	if (!r->rgs || !r->chunks)
		return pqr_nomem(r, "row group metadata");
	for (g = 0; g < r->fm.nrow_groups; g++)
	{
		PqRowGroup *rg = &r->fm.row_groups[g];
		ParquetRowGroupInfo *ri = &r->rgs[g];
		int64_t		first = INT64_MAX;

		if (rg->ncolumns != (uint32_t) r->ncols)
			return pqr_fail(r, PARQUET_ERR_CORRUPT,
							"row group %u has %u column chunks but the schema has %d columns",
							g, rg->ncolumns, r->ncols);
		if (rg->num_rows < 0)
			return pqr_fail(r, PARQUET_ERR_CORRUPT, "row group %u has a negative row count", g);
		if (rows > INT64_MAX - rg->num_rows)
			return pqr_fail(r, PARQUET_ERR_CORRUPT, "row counts overflow");
		rows += rg->num_rows;
		ri->num_rows = rg->num_rows;
		ri->total_byte_size = rg->total_byte_size;
		ri->total_compressed_size = rg->has_total_compressed_size ? rg->total_compressed_size : 0;
		for (c = 0; c < r->ncols; c++)
		{
			PqColumnChunk *cc = &rg->columns[c];
			PqColumnMeta *m = &cc->meta;
			ParquetColumnChunkInfo *ci = &r->chunks[(size_t) g * r->ncols + c];
			const ParquetColumnDesc *cd = &r->cols[c];
			int64_t		start;

			memset(ci, 0, sizeof(*ci));
			if (cc->encrypted)
				return pqr_fail(r, PARQUET_ERR_UNSUPPORTED,
								"row group %u, column \"%s\" is encrypted", g, cd->path);
			if (cc->has_file_path)
				return pqr_fail(r, PARQUET_ERR_UNSUPPORTED,
								"row group %u, column \"%s\" refers to another file (summary files are not supported)",
								g, cd->path);
			if (!cc->has_meta)
				return pqr_fail(r, PARQUET_ERR_CORRUPT,
								"row group %u, column \"%s\" has no column metadata", g, cd->path);
			if (m->type != (int32_t) cd->type)
				return pqr_fail(r, PARQUET_ERR_CORRUPT,
								"row group %u, column \"%s\": chunk type %s differs from schema type %s",
								g, cd->path, pq_type_name(m->type), pq_type_name(cd->type));
			if (m->num_values < 0 || m->total_compressed_size < 0 || m->data_page_offset < 0)
				return pqr_fail(r, PARQUET_ERR_CORRUPT,
								"row group %u, column \"%s\" has negative sizes or offsets",
								g, cd->path);
			start = m->data_page_offset;
			if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
				m->dictionary_page_offset < m->data_page_offset)
				start = m->dictionary_page_offset;
			if (start < 4 || start >= r->footer_start ||
				m->total_compressed_size > r->footer_start - start)
				return pqr_fail(r, PARQUET_ERR_CORRUPT,
								"row group %u, column \"%s\": chunk range [%lld, +%lld) lies outside the data area [4, %lld)",
								g, cd->path, (long long) start,
								(long long) m->total_compressed_size,
								(long long) r->footer_start);
			if (start < first)
				first = start;
			ci->codec = (ParquetCodec) m->codec;
			ci->num_values = m->num_values;
			ci->total_compressed_size = m->total_compressed_size;
			ci->total_uncompressed_size = m->total_uncompressed_size;
			ci->data_page_offset = m->data_page_offset;
			ci->dictionary_page_offset = m->has_dictionary_page_offset ? m->dictionary_page_offset : -1;
			ci->start = start;
			ci->length = m->total_compressed_size;
			ci->encodings = m->encodings;
			if (m->has_encoding_stats)
				ci->all_dictionary = m->data_page_encodings != 0 &&
					(m->data_page_encodings & ~((1u << PARQUET_ENC_PLAIN_DICTIONARY) |
												(1u << PARQUET_ENC_RLE_DICTIONARY))) == 0;
			else
				ci->all_dictionary = (m->encodings & (1u << PARQUET_ENC_PLAIN_DICTIONARY)) &&
					(m->encodings & ~((1u << PARQUET_ENC_PLAIN_DICTIONARY) |
									  (1u << PARQUET_ENC_RLE) |
									  (1u << PARQUET_ENC_BIT_PACKED))) == 0;
			ci->has_statistics = m->has_statistics;
			if (m->has_statistics)
				fill_stats(cd, &m->stats, &ci->stats);
		}
		ri->file_offset = first == INT64_MAX ? 4 : first;
	}
	return PARQUET_OK;
}

ParquetStatus
parquet_reader_open(const ParquetSource *src, const ParquetReaderOptions *opts,
					ParquetReader **out, char *errbuf)
{
	ParquetReaderOptions o;
	PqMem		mem;
	ParquetReader *r;
	ParquetStatus st;
	int64_t		size;
	int64_t		tail_len;
	uint8_t    *tail = NULL;
	uint32_t	flen;
	const uint8_t *footer;
	ThriftDec	d;
	uint32_t	i;

	*out = NULL;
	if (errbuf)
		errbuf[0] = '\0';
	if (opts)
		o = *opts;
	else
		parquet_reader_options_init(&o);
	if (o.memory_limit == 0)
		o.memory_limit = (size_t) 1024 * 1024 * 1024;
	if (o.max_footer_bytes <= 0)
		o.max_footer_bytes = 64 * 1024 * 1024;
	if (o.max_page_bytes <= 0)
		o.max_page_bytes = 256 * 1024 * 1024;
	if (o.footer_prefetch < 8)
		o.footer_prefetch = 64 * 1024;
	pq_mem_init(&mem, o.alloc, o.memory_limit);
	r = pq_calloc(&mem, sizeof(ParquetReader));
	if (!r)
	{
		if (errbuf)
			snprintf(errbuf, PARQUET_ERRMSG_LEN, "out of memory");
		return PARQUET_ERR_NOMEM;
	}
	r->mem = mem;
	r->opts = o;
	r->src = *src;
	pq_arena_init(&r->arena, &r->mem);

	size = src->size;
	if (size < 12)
	{
		st = pqr_fail(r, PARQUET_ERR_CORRUPT,
					  "file of %lld bytes is too small to be a Parquet file", (long long) size);
		goto fail;
	}
	tail_len = size < o.footer_prefetch ? size : o.footer_prefetch;
	tail = pq_alloc(&r->mem, (size_t) tail_len);
	if (!tail)
	{
		st = pqr_nomem(r, "footer");
		goto fail;
	}
	st = src_read(r, size - tail_len, tail_len, tail);
	if (st != PARQUET_OK)
		goto fail;
	if (memcmp(tail + tail_len - 4, "PARE", 4) == 0)
	{
		st = pqr_fail(r, PARQUET_ERR_UNSUPPORTED, "encrypted Parquet files are not supported");
		goto fail;
	}
	if (memcmp(tail + tail_len - 4, "PAR1", 4) != 0)
	{
		st = pqr_fail(r, PARQUET_ERR_CORRUPT,
					  "file does not end with the Parquet magic \"PAR1\"");
		goto fail;
	}
	if (tail_len == size && memcmp(tail, "PAR1", 4) != 0)
	{
		st = pqr_fail(r, PARQUET_ERR_CORRUPT,
					  "file does not start with the Parquet magic \"PAR1\"");
		goto fail;
	}
	flen = pq_le32(tail + tail_len - 8);
	if (flen == 0 || (int64_t) flen > size - 12)
	{
		st = pqr_fail(r, PARQUET_ERR_CORRUPT,
					  "footer length %u is invalid for a file of %lld bytes",
					  flen, (long long) size);
		goto fail;
	}
	if ((int64_t) flen > o.max_footer_bytes)
	{
		st = pqr_fail(r, PARQUET_ERR_LIMIT, "footer of %u bytes exceeds the limit of %lld bytes",
					  flen, (long long) o.max_footer_bytes);
		goto fail;
	}
	r->footer_start = size - 8 - flen;
	if ((int64_t) flen + 8 <= tail_len)
	{
		r->footer = tail;
		r->footer_len = (size_t) tail_len;
		footer = tail + tail_len - 8 - flen;
		tail = NULL;
	}
	else
	{
		pq_free(&r->mem, tail);
		tail = NULL;
		r->footer = pq_alloc(&r->mem, flen);
		if (!r->footer)
		{
			st = pqr_nomem(r, "footer");
			goto fail;
		}
		r->footer_len = flen;
		st = src_read(r, r->footer_start, flen, r->footer);
		if (st != PARQUET_OK)
			goto fail;
		footer = r->footer;
	}

	tdec_init(&d, footer, flen, flen, 10 * 1000 * 1000);
	if (!pq_decode_file_meta(&d, &r->arena, &r->fm))
	{
		if (r->mem.limit_hit)
			st = pqr_nomem(r, "footer");
		else
			st = pqr_fail(r, PARQUET_ERR_CORRUPT, "invalid file metadata: %s (at byte %zu of %u)",
						  d.why ? d.why : "decoding failed", tdec_offset(&d, footer), flen);
		goto fail;
	}
	if (r->fm.encrypted)
	{
		st = pqr_fail(r, PARQUET_ERR_UNSUPPORTED, "encrypted Parquet files are not supported");
		goto fail;
	}
	if (r->fm.num_rows < 0)
	{
		st = pqr_fail(r, PARQUET_ERR_CORRUPT, "negative row count %lld",
					  (long long) r->fm.num_rows);
		goto fail;
	}
	st = build_schema(r);
	if (st != PARQUET_OK)
		goto fail;
	st = check_row_groups(r);
	if (st != PARQUET_OK)
		goto fail;
	if (r->fm.created_by.set)
	{
		r->created_by = arena_str(r, r->fm.created_by.p, r->fm.created_by.len);
		if (!r->created_by)
		{
			st = pqr_nomem(r, "footer");
			goto fail;
		}
	}
	r->kv = pq_arena_alloc(&r->arena, sizeof(ParquetKeyValue) * (r->fm.nkv ? r->fm.nkv : 1));
	if (!r->kv)
	{
		st = pqr_nomem(r, "footer");
		goto fail;
	}
	for (i = 0; i < r->fm.nkv; i++)
	{
		r->kv[i].key = arena_str(r, r->fm.kv[i].key.p, r->fm.kv[i].key.len);
		r->kv[i].value = r->fm.kv[i].value.set ?
			arena_str(r, r->fm.kv[i].value.p, r->fm.kv[i].value.len) : NULL;
		if (!r->kv[i].key || (r->fm.kv[i].value.set && !r->kv[i].value))
		{
			st = pqr_nomem(r, "footer");
			goto fail;
		}
	}
	*out = r;
	return PARQUET_OK;

fail:
	if (errbuf)
		snprintf(errbuf, PARQUET_ERRMSG_LEN, "%s", r->err.msg);
	pq_free(&r->mem, tail);
	parquet_reader_free(r);
	return st;
}

void
parquet_reader_free(ParquetReader *r)
{
	PqMem		mem;

	if (!r)
		return;
	pq_arena_free(&r->arena);
	pq_free(&r->mem, r->footer);
	mem = r->mem;
	pq_free(&mem, r);
}

const char *
parquet_reader_errmsg(const ParquetReader *r)
{
	return r->err.msg;
}

size_t
parquet_reader_memory_used(const ParquetReader *r)
{
	return r->mem.used;
}

int64_t
parquet_reader_num_rows(const ParquetReader *r)
{
	return r->fm.num_rows;
}

int32_t
parquet_reader_version(const ParquetReader *r)
{
	return r->fm.version;
}

const char *
parquet_reader_created_by(const ParquetReader *r)
{
	return r->created_by;
}

int
parquet_reader_num_kv(const ParquetReader *r)
{
	return (int) r->fm.nkv;
}

const ParquetKeyValue *
parquet_reader_kv(const ParquetReader *r, int i)
{
	if (i < 0 || (uint32_t) i >= r->fm.nkv)
		return NULL;
	return &r->kv[i];
}

int
parquet_reader_num_nodes(const ParquetReader *r)
{
	return r->nnodes;
}

const ParquetSchemaNode *
parquet_reader_node(const ParquetReader *r, int i)
{
	if (i < 0 || i >= r->nnodes)
		return NULL;
	return &r->nodes[i];
}

int
parquet_reader_num_columns(const ParquetReader *r)
{
	return r->ncols;
}

const ParquetColumnDesc *
parquet_reader_column(const ParquetReader *r, int i)
{
	if (i < 0 || i >= r->ncols)
		return NULL;
	return &r->cols[i];
}

int
parquet_reader_num_fields(const ParquetReader *r)
{
	return r->nfields;
}

const ParquetField *
parquet_reader_field(const ParquetReader *r, int i)
{
	if (i < 0 || i >= r->nfields)
		return NULL;
	return &r->fields[i];
}

static int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++)
	{
		int			ca = (unsigned char) *a,
					cb = (unsigned char) *b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 32;
		if (cb >= 'A' && cb <= 'Z')
			cb += 32;
		if (ca != cb)
			return ca - cb;
		if (!ca)
			return 0;
	}
}

int
parquet_reader_find_field(const ParquetReader *r, const char *name, bool case_insensitive)
{
	int			i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return i;
	if (case_insensitive)
		for (i = 0; i < r->nfields; i++)
			if (ascii_casecmp(r->fields[i].name, name) == 0)
				return i;
	return -1;
}

int
parquet_reader_num_row_groups(const ParquetReader *r)
{
	return (int) r->fm.nrow_groups;
}

const ParquetRowGroupInfo *
parquet_reader_row_group(const ParquetReader *r, int rg)
{
	if (rg < 0 || (uint32_t) rg >= r->fm.nrow_groups)
		return NULL;
	return &r->rgs[rg];
}

const ParquetColumnChunkInfo *
parquet_reader_chunk(const ParquetReader *r, int rg, int column)
{
	if (rg < 0 || (uint32_t) rg >= r->fm.nrow_groups || column < 0 || column >= r->ncols)
		return NULL;
	return &r->chunks[(size_t) rg * r->ncols + column];
}

/* ================================================================
 * Column chunk cursor
 * ================================================================
 */

ParquetStatus
pqc_fail(ParquetColumnReader *cr, ParquetStatus st, const char *fmt,...)
{
	va_list		ap;
	int			pos;

	if (cr->err.status != PARQUET_OK)
		return cr->err.status;
	cr->err.status = st;
	if (cr->page_no > 0)
		pos = snprintf(cr->err.msg, sizeof(cr->err.msg), "row group %d, column \"%s\", page %d: ",
					   cr->rg, cr->cd->path, cr->page_no);
	else
		pos = snprintf(cr->err.msg, sizeof(cr->err.msg), "row group %d, column \"%s\": ",
					   cr->rg, cr->cd->path);
	if (pos < 0)
		pos = 0;
	if ((size_t) pos < sizeof(cr->err.msg) - 1)
	{
		va_start(ap, fmt);
		vsnprintf(cr->err.msg + pos, sizeof(cr->err.msg) - pos, fmt, ap);
		va_end(ap);
	}
	return st;
}

static ParquetStatus
pqc_nomem(ParquetColumnReader *cr, const char *what)
{
	PqMem	   *m = &cr->r->mem;

	if (m->limit_hit)
		return pqc_fail(cr, PARQUET_ERR_LIMIT,
						"%s: reader memory limit of %zu bytes exceeded (%zu bytes in use)",
						what, m->limit, m->used);
	return pqc_fail(cr, PARQUET_ERR_NOMEM, "%s: out of memory", what);
}

static ParquetStatus
pqc_corrupt(ParquetColumnReader *cr, const char *what)
{
	return pqc_fail(cr, PARQUET_ERR_CORRUPT, "%s", what);
}

const char *
parquet_column_reader_errmsg(const ParquetColumnReader *cr)
{
	return cr->err.msg;
}

static size_t
value_width(const ParquetColumnDesc *cd)
{
	switch (cd->type)
	{
		case PARQUET_INT32:
		case PARQUET_FLOAT:
			return 4;
		case PARQUET_INT64:
		case PARQUET_DOUBLE:
			return 8;
		case PARQUET_INT96:
			return 12;
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			return (size_t) cd->type_length;
		default:
			return 0;
	}
}

/*
 * PLAIN-decode n values from [*pp, end).  Booleans use *bitpos (bit index
 * from *pp).  Returns false on truncation.
 */
static bool
decode_plain(const ParquetColumnDesc *cd, const uint8_t **pp, const uint8_t *end,
			 uint64_t *bitpos, ParquetValue *out, int n)
{
	const uint8_t *p = *pp;
	int			i;
	size_t		avail = (size_t) (end - p);

	switch (cd->type)
	{
		case PARQUET_BOOLEAN:
			{
				uint64_t	bp = *bitpos;

				if ((bp + (uint64_t) n + 7) / 8 > avail)
					return false;
				for (i = 0; i < n; i++, bp++)
				{
					out[i].v.b = (p[bp >> 3] >> (bp & 7)) & 1;
					out[i].is_null = false;
				}
				*bitpos = bp;
				return true;
			}
		case PARQUET_INT32:
			if ((size_t) n * 4 > avail)
				return false;
			for (i = 0; i < n; i++, p += 4)
			{
				out[i].v.i32 = (int32_t) pq_le32(p);
				out[i].is_null = false;
			}
			break;
		case PARQUET_INT64:
			if ((size_t) n * 8 > avail)
				return false;
			for (i = 0; i < n; i++, p += 8)
			{
				out[i].v.i64 = (int64_t) pq_le64(p);
				out[i].is_null = false;
			}
			break;
		case PARQUET_FLOAT:
			if ((size_t) n * 4 > avail)
				return false;
			for (i = 0; i < n; i++, p += 4)
			{
				uint32_t	u = pq_le32(p);

				memcpy(&out[i].v.f, &u, 4);
				out[i].is_null = false;
			}
			break;
		case PARQUET_DOUBLE:
			if ((size_t) n * 8 > avail)
				return false;
			for (i = 0; i < n; i++, p += 8)
			{
				uint64_t	u = pq_le64(p);

				memcpy(&out[i].v.d, &u, 8);
				out[i].is_null = false;
			}
			break;
		case PARQUET_INT96:
		case PARQUET_FIXED_LEN_BYTE_ARRAY:
			{
				size_t		w = value_width(cd);

				if (w == 0 || (size_t) n > avail / w)
					return false;
				for (i = 0; i < n; i++, p += w)
				{
					out[i].ptr = p;
					out[i].len = (uint32_t) w;
					out[i].is_null = false;
				}
				break;
			}
		case PARQUET_BYTE_ARRAY:
			for (i = 0; i < n; i++)
			{
				uint32_t	len;

				if (end - p < 4)
					return false;
				len = pq_le32(p);
				p += 4;
				if (len > (size_t) (end - p))
					return false;
				out[i].ptr = p;
				out[i].len = len;
				out[i].is_null = false;
				p += len;
			}
			break;
	}
	*pp = p;
	return true;
}

ParquetStatus
parquet_column_reader_open(ParquetReader *r, int rg, int column, ParquetColumnReader **out)
{
	ParquetColumnReader *cr;
	const ParquetColumnChunkInfo *ci = parquet_reader_chunk(r, rg, column);
	ParquetStatus st;

	*out = NULL;
	if (!ci)
		return pqr_fail(r, PARQUET_ERR_INVALID, "row group %d / column %d out of range", rg, column);
	cr = pq_calloc(&r->mem, sizeof(ParquetColumnReader));
	if (!cr)
		return pqr_nomem(r, "column reader");
	cr->r = r;
	cr->rg = rg;
	cr->col = column;
	cr->cd = &r->cols[column];
	cr->ci = ci;
	cr->chunk_len = ci->length;
	if (ci->length > 0)
	{
		cr->chunk = pq_alloc(&r->mem, (size_t) ci->length);
		if (!cr->chunk)
		{
			st = pqc_nomem(cr, "column chunk");
			goto fail;
		}
		if (r->src.read_range(r->src.arg, ci->start, ci->length, cr->chunk) != 0)
		{
			st = pqc_fail(cr, PARQUET_ERR_IO, "reading %lld bytes at offset %lld failed",
						  (long long) ci->length, (long long) ci->start);
			goto fail;
		}
	}
	*out = cr;
	return PARQUET_OK;

fail:
	pqr_fail(r, st, "%s", cr->err.msg);
	parquet_column_reader_free(cr);
	return st;
}

static void
reset_page_decoders(ParquetColumnReader *cr)
{
	PqMem	   *m = &cr->r->mem;

	pq_delta_free(&cr->delta, m);
	pq_delta_free(&cr->lens, m);
	pq_delta_free(&cr->prefixes, m);
	memset(&cr->delta, 0, sizeof(cr->delta));
	memset(&cr->lens, 0, sizeof(cr->lens));
	memset(&cr->prefixes, 0, sizeof(cr->prefixes));
}

void
parquet_column_reader_free(ParquetColumnReader *cr)
{
	PqMem	   *m;

	if (!cr)
		return;
	m = &cr->r->mem;
	reset_page_decoders(cr);
	pq_free(m, cr->chunk);
	pq_free(m, cr->dict);
	pq_free(m, cr->dict_data);
	pq_free(m, cr->pagebuf);
	pq_free(m, cr->tmpdef);
	pq_free(m, cr->tmpidx);
	pq_free(m, cr->tmp64);
	pq_buf_free(m, &cr->prev);
	pq_buf_free(m, &cr->outbuf);
	pq_free(m, cr);
}

/* decompress a page body into dst (capacity = outlen) */
static ParquetStatus
page_decompress(ParquetColumnReader *cr, const uint8_t *in, size_t n, uint8_t *dst,
				size_t outlen)
{
	PqErr		e;

	memset(&e, 0, sizeof(e));
	if (pq_decompress(cr->ci->codec, in, n, dst, outlen, &e) != PARQUET_OK)
		return pqc_fail(cr, e.status, "%s", e.msg);
	return PARQUET_OK;
}

static bool
ensure_pagebuf(ParquetColumnReader *cr, size_t n)
{
	/* always a real buffer, even for an empty page: callers compute p + n */
	if (cr->pagebuf_cap >= n && cr->pagebuf != NULL)
		return true;
	pq_free(&cr->r->mem, cr->pagebuf);
	cr->pagebuf = pq_alloc(&cr->r->mem, n ? n : 1);
	cr->pagebuf_cap = cr->pagebuf ? n : 0;
	return cr->pagebuf != NULL;
}

static ParquetStatus
load_dictionary(ParquetColumnReader *cr, const PqPageHeader *ph, const uint8_t *body)
{
	const ParquetColumnDesc *cd = cr->cd;
	size_t		usize = (size_t) ph->uncompressed_size;
	const uint8_t *p;
	uint64_t	bitpos = 0;
	size_t		w = value_width(cd);
	ParquetStatus st;

	if (cr->dict)
		return pqc_corrupt(cr, "second dictionary page in a column chunk");
	if (cr->data_pages > 0)
		return pqc_corrupt(cr, "dictionary page after data pages");
	if (ph->dict_num_values < 0)
		return pqc_corrupt(cr, "negative dictionary size");
	if (ph->has_dict && ph->dict_encoding != PARQUET_ENC_PLAIN &&
		ph->dict_encoding != PARQUET_ENC_PLAIN_DICTIONARY)
		return pqc_fail(cr, PARQUET_ERR_UNSUPPORTED, "dictionary page encoding %s is not supported",
						pq_encoding_name(ph->dict_encoding));
	/* every entry takes at least one byte (4 for BYTE_ARRAY), bools 1 bit */
	if (cd->type == PARQUET_BOOLEAN ? (uint64_t) ph->dict_num_values > (uint64_t) usize * 8 :
		cd->type == PARQUET_BYTE_ARRAY ? (uint64_t) ph->dict_num_values > usize / 4 :
		(uint64_t) ph->dict_num_values > usize / (w ? w : 1))
		return pqc_fail(cr, PARQUET_ERR_CORRUPT,
						"dictionary declares %d entries but has only %zu bytes",
						ph->dict_num_values, usize);
	cr->dict_data = pq_alloc(&cr->r->mem, usize ? usize : 1);
	if (!cr->dict_data)
		return pqc_nomem(cr, "dictionary page");
	st = page_decompress(cr, body, (size_t) ph->compressed_size, cr->dict_data, usize);
	if (st != PARQUET_OK)
		return st;
	cr->dict = pq_alloc(&cr->r->mem, sizeof(ParquetValue) * (ph->dict_num_values ? ph->dict_num_values : 1));
	if (!cr->dict)
		return pqc_nomem(cr, "dictionary");
	p = cr->dict_data;
	if (!decode_plain(cd, &p, cr->dict_data + usize, &bitpos, cr->dict, ph->dict_num_values))
		return pqc_corrupt(cr, "dictionary page is truncated");
	cr->dict_n = ph->dict_num_values;
	return PARQUET_OK;
}

/* set up level decoders for a v1 page from the start of its body */
static ParquetStatus
setup_levels_v1(ParquetColumnReader *cr, const PqPageHeader *ph, const uint8_t **pp,
				const uint8_t *end)
{
	int			pass;

	for (pass = 0; pass < 2; pass++)
	{
		int			maxl = pass == 0 ? cr->cd->max_rep : cr->cd->max_def;
		int			enc = pass == 0 ? ph->rep_encoding : ph->def_encoding;
		int			bw = pq_bit_width((uint64_t) maxl);
		LevelDec   *ld = pass == 0 ? &cr->repd : &cr->defd;

		ld->mode = LEVELS_NONE;
		if (maxl == 0)
			continue;
		if (enc == PARQUET_ENC_BIT_PACKED)
		{
			uint64_t	nbytes = ((uint64_t) ph->num_values * bw + 7) / 8;

			if (nbytes > (uint64_t) (end - *pp))
				return pqc_corrupt(cr, "bit-packed levels past the end of the page");
			ld->mode = LEVELS_BITPACKED;
			ld->bp.p = *pp;
			ld->bp.len = (size_t) nbytes;
			ld->bp.bitpos = 0;
			ld->bp.bw = bw;
			*pp += nbytes;
		}
		else if (enc == PARQUET_ENC_RLE)
		{
			uint32_t	len;

			if (end - *pp < 4)
				return pqc_corrupt(cr, "level length prefix past the end of the page");
			len = pq_le32(*pp);
			*pp += 4;
			if (len > (size_t) (end - *pp))
				return pqc_fail(cr, PARQUET_ERR_CORRUPT,
								"%s levels of %u bytes past the end of the page",
								pass == 0 ? "repetition" : "definition", len);
			ld->mode = LEVELS_RLE;
			pq_rle_init(&ld->rle, *pp, len, bw);
			*pp += len;
		}
		else
			return pqc_fail(cr, PARQUET_ERR_UNSUPPORTED, "level encoding %s is not supported",
							pq_encoding_name(enc));
	}
	return PARQUET_OK;
}

/* set up the value decoder for the values section [p, end) */
static ParquetStatus
setup_values(ParquetColumnReader *cr, int enc, const uint8_t *p, const uint8_t *end)
{
	const ParquetColumnDesc *cd = cr->cd;
	PqMem	   *m = &cr->r->mem;
	ParquetPhysicalType t = cd->type;

	reset_page_decoders(cr);
	cr->enc = enc;
	cr->vp = p;
	cr->vend = end;
	cr->bitpos = 0;
	switch (enc)
	{
		case PARQUET_ENC_PLAIN:
			return PARQUET_OK;
		case PARQUET_ENC_PLAIN_DICTIONARY:
		case PARQUET_ENC_RLE_DICTIONARY:
			if (!cr->dict)
				return pqc_corrupt(cr, "dictionary-encoded page without a dictionary page");
			if (p >= end)
			{
				/* only nulls: no bit width byte */
				pq_rle_init(&cr->vrle, p, 0, 0);
				return PARQUET_OK;
			}
			if (*p > 32)
				return pqc_fail(cr, PARQUET_ERR_CORRUPT, "invalid dictionary index bit width %d", *p);
			pq_rle_init(&cr->vrle, p + 1, (size_t) (end - p - 1), *p);
			return PARQUET_OK;
		case PARQUET_ENC_RLE:
			{
				uint32_t	len;

				if (t != PARQUET_BOOLEAN)
					break;
				if (end - p < 4)
				{
					pq_rle_init(&cr->vrle, p, 0, 1);
					return PARQUET_OK;
				}
				len = pq_le32(p);
				if (len > (size_t) (end - p - 4))
					return pqc_corrupt(cr, "RLE boolean data past the end of the page");
				pq_rle_init(&cr->vrle, p + 4, len, 1);
				return PARQUET_OK;
			}
		case PARQUET_ENC_DELTA_BINARY_PACKED:
			if (t != PARQUET_INT32 && t != PARQUET_INT64)
				break;
			if (p >= end)
				return PARQUET_OK;	/* no values */
			if (!pq_delta_init(&cr->delta, m, p, (size_t) (end - p), t == PARQUET_INT64))
				return m->limit_hit ? pqc_nomem(cr, "delta decoder") :
					pqc_corrupt(cr, "invalid DELTA_BINARY_PACKED header");
			return PARQUET_OK;
		case PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY:
			{
				const uint8_t *e;

				if (t != PARQUET_BYTE_ARRAY)
					break;
				if (p >= end)
					return PARQUET_OK;
				e = pq_delta_end(p, (size_t) (end - p), false);
				if (!e || !pq_delta_init(&cr->lens, m, p, (size_t) (e - p), false))
					return m->limit_hit ? pqc_nomem(cr, "delta decoder") :
						pqc_corrupt(cr, "invalid DELTA_LENGTH_BYTE_ARRAY lengths");
				cr->bytes_p = e;
				return PARQUET_OK;
			}
		case PARQUET_ENC_DELTA_BYTE_ARRAY:
			{
				const uint8_t *e1,
						   *e2;

				if (t != PARQUET_BYTE_ARRAY && t != PARQUET_FIXED_LEN_BYTE_ARRAY)
					break;
				cr->prev.len = 0;
				if (p >= end)
					return PARQUET_OK;
				e1 = pq_delta_end(p, (size_t) (end - p), false);
				e2 = e1 ? pq_delta_end(e1, (size_t) (end - e1), false) : NULL;
				if (!e2 ||
					!pq_delta_init(&cr->prefixes, m, p, (size_t) (e1 - p), false) ||
					!pq_delta_init(&cr->lens, m, e1, (size_t) (e2 - e1), false))
					return m->limit_hit ? pqc_nomem(cr, "delta decoder") :
						pqc_corrupt(cr, "invalid DELTA_BYTE_ARRAY header");
				cr->bytes_p = e2;
				return PARQUET_OK;
			}
		case PARQUET_ENC_BYTE_STREAM_SPLIT:
			{
				size_t		w = value_width(cd);
				size_t		len = (size_t) (end - p);

				if (t == PARQUET_BOOLEAN || t == PARQUET_BYTE_ARRAY || t == PARQUET_INT96 || w == 0)
					break;
				if (len % w != 0)
					return pqc_corrupt(cr, "BYTE_STREAM_SPLIT data is not a multiple of the value width");
				cr->bss_n = len / w;
				cr->bss_i = 0;
				return PARQUET_OK;
			}
		default:
			return pqc_fail(cr, PARQUET_ERR_UNSUPPORTED, "encoding %s (%d) is not supported",
							pq_encoding_name(enc), enc);
	}
	return pqc_fail(cr, PARQUET_ERR_CORRUPT, "encoding %s is not valid for type %s",
					pq_encoding_name(enc), pq_type_name(t));
}

/* advance to the next data page; PARQUET_END at the end of the chunk */
static ParquetStatus
next_page(ParquetColumnReader *cr)
{
	ParquetReader *r = cr->r;

	for (;;)
	{
		PqPageHeader ph;
		ThriftDec	d;
		const uint8_t *hp;
		const uint8_t *body;
		size_t		left;
		ParquetStatus st;

		if (cr->pos >= cr->chunk_len)
			return PARQUET_END;
		cr->page_no++;
		hp = cr->chunk + cr->pos;
		left = (size_t) (cr->chunk_len - cr->pos);
		tdec_init(&d, hp, left, (uint32_t) (r->opts.max_page_bytes < UINT32_MAX ?
											r->opts.max_page_bytes : UINT32_MAX), 1000000);
		if (!pq_decode_page_header(&d, &ph))
			return pqc_fail(cr, PARQUET_ERR_CORRUPT, "invalid page header: %s",
							d.why ? d.why : "decoding failed");
		cr->pos += (int64_t) tdec_offset(&d, hp);
		left = (size_t) (cr->chunk_len - cr->pos);
		if (ph.compressed_size < 0 || ph.uncompressed_size < 0)
			return pqc_corrupt(cr, "negative page size");
		if ((size_t) ph.compressed_size > left)
			return pqc_fail(cr, PARQUET_ERR_CORRUPT,
							"compressed page size %d exceeds the %zu bytes left in the column chunk",
							ph.compressed_size, left);
		if ((int64_t) ph.uncompressed_size > r->opts.max_page_bytes)
			return pqc_fail(cr, PARQUET_ERR_LIMIT,
							"declared uncompressed size %d exceeds the page limit of %lld bytes",
							ph.uncompressed_size, (long long) r->opts.max_page_bytes);
		body = cr->chunk + cr->pos;
		cr->pos += ph.compressed_size;
		if (r->opts.verify_crc && ph.has_crc &&
			pq_crc32(body, (size_t) ph.compressed_size) != (uint32_t) ph.crc)
			return pqc_corrupt(cr, "page checksum mismatch");

		if (ph.type == PQ_PAGE_DICTIONARY)
		{
			st = load_dictionary(cr, &ph, body);
			if (st != PARQUET_OK)
				return st;
			continue;
		}
		if (ph.type == PQ_PAGE_DATA)
		{
			const uint8_t *p,
					   *end;

			if (!ph.has_data)
				return pqc_corrupt(cr, "data page without a data page header");
			if (ph.num_values < 0)
				return pqc_corrupt(cr, "negative value count");
			cr->data_pages++;
			if (ph.num_values == 0)
				continue;
			if (cr->ci->codec == PARQUET_CODEC_UNCOMPRESSED)
			{
				if (ph.compressed_size != ph.uncompressed_size)
					return pqc_corrupt(cr, "uncompressed page with differing sizes");
				p = body;
			}
			else
			{
				if (!ensure_pagebuf(cr, (size_t) ph.uncompressed_size))
					return pqc_nomem(cr, "page buffer");
				st = page_decompress(cr, body, (size_t) ph.compressed_size, cr->pagebuf,
									 (size_t) ph.uncompressed_size);
				if (st != PARQUET_OK)
					return st;
				p = cr->pagebuf;
			}
			end = p + ph.uncompressed_size;
			st = setup_levels_v1(cr, &ph, &p, end);
			if (st != PARQUET_OK)
				return st;
			st = setup_values(cr, ph.encoding, p, end);
			if (st != PARQUET_OK)
				return st;
			cr->page_left = ph.num_values;
			return PARQUET_OK;
		}
		if (ph.type == PQ_PAGE_DATA_V2)
		{
			const uint8_t *p;
			size_t		levels,
						vcomp,
						vun;

			if (!ph.has_v2)
				return pqc_corrupt(cr, "data page v2 without its header");
			if (ph.num_values < 0 || ph.v2_def_len < 0 || ph.v2_rep_len < 0)
				return pqc_corrupt(cr, "negative counts in data page v2 header");
			levels = (size_t) ph.v2_def_len + (size_t) ph.v2_rep_len;
			if (levels > (size_t) ph.compressed_size || levels > (size_t) ph.uncompressed_size)
				return pqc_corrupt(cr, "data page v2 level lengths exceed the page size");
			cr->data_pages++;
			if (ph.num_values == 0)
				continue;
			cr->repd.mode = cr->defd.mode = LEVELS_NONE;
			if (cr->cd->max_rep > 0)
			{
				cr->repd.mode = LEVELS_RLE;
				pq_rle_init(&cr->repd.rle, body, (size_t) ph.v2_rep_len,
							pq_bit_width((uint64_t) cr->cd->max_rep));
			}
			if (cr->cd->max_def > 0)
			{
				cr->defd.mode = LEVELS_RLE;
				pq_rle_init(&cr->defd.rle, body + ph.v2_rep_len, (size_t) ph.v2_def_len,
							pq_bit_width((uint64_t) cr->cd->max_def));
			}
			vcomp = (size_t) ph.compressed_size - levels;
			vun = (size_t) ph.uncompressed_size - levels;
			if (ph.v2_is_compressed && cr->ci->codec != PARQUET_CODEC_UNCOMPRESSED && vcomp > 0)
			{
				if (!ensure_pagebuf(cr, vun))
					return pqc_nomem(cr, "page buffer");
				st = page_decompress(cr, body + levels, vcomp, cr->pagebuf, vun);
				if (st != PARQUET_OK)
					return st;
				p = cr->pagebuf;
			}
			else
			{
				if (vcomp != vun && vcomp > 0)
					return pqc_corrupt(cr, "uncompressed page v2 with differing sizes");
				p = body + levels;
				vun = vcomp;
			}
			st = setup_values(cr, ph.encoding, p, p + vun);
			if (st != PARQUET_OK)
				return st;
			cr->page_left = ph.num_values;
			return PARQUET_OK;
		}
		/* index pages and unknown page types are skipped */
	}
}

static bool
ensure_tmp(ParquetColumnReader *cr, int n)
{
	PqMem	   *m = &cr->r->mem;

	if (cr->tmp_cap >= n)
		return true;
	pq_free(m, cr->tmpdef);
	pq_free(m, cr->tmpidx);
	pq_free(m, cr->tmp64);
	cr->tmpdef = pq_alloc(m, sizeof(int16_t) * n);
	cr->tmpidx = pq_alloc(m, sizeof(uint32_t) * n);
	cr->tmp64 = pq_alloc(m, sizeof(int64_t) * n);
	if (!cr->tmpdef || !cr->tmpidx || !cr->tmp64)
	{
		cr->tmp_cap = 0;
		return false;
	}
	cr->tmp_cap = n;
	return true;
}

static bool
read_levels(LevelDec *ld, int16_t *out, int n)
{
	switch (ld->mode)
	{
		case LEVELS_RLE:
			return pq_rle_get16(&ld->rle, out, n);
		case LEVELS_BITPACKED:
			return pq_bitpacked_get16(&ld->bp, out, n);
		default:
			memset(out, 0, sizeof(int16_t) * n);
			return true;
	}
}

/* decode nv non-null values into out[0..nv) */
static ParquetStatus
decode_values(ParquetColumnReader *cr, ParquetValue *out, int nv)
{
	const ParquetColumnDesc *cd = cr->cd;
	int			i;

	if (nv == 0)
		return PARQUET_OK;
	switch (cr->enc)
	{
		case PARQUET_ENC_PLAIN:
			if (!decode_plain(cd, &cr->vp, cr->vend, &cr->bitpos, out, nv))
				return pqc_corrupt(cr, "PLAIN values are truncated");
			return PARQUET_OK;
		case PARQUET_ENC_PLAIN_DICTIONARY:
		case PARQUET_ENC_RLE_DICTIONARY:
			{
				uint32_t   *ix = cr->tmpidx;

				if (!pq_rle_get(&cr->vrle, ix, nv))
					return pqc_corrupt(cr, "dictionary indexes are truncated");
				for (i = 0; i < nv; i++)
				{
					if (PQ_UNLIKELY(ix[i] >= (uint32_t) cr->dict_n))
						return pqc_fail(cr, PARQUET_ERR_CORRUPT,
										"dictionary index %u out of range (dictionary has %d entries)",
										ix[i], cr->dict_n);
					out[i] = cr->dict[ix[i]];
				}
				return PARQUET_OK;
			}
		case PARQUET_ENC_RLE:
			{
				uint32_t   *ix = cr->tmpidx;

				if (!pq_rle_get(&cr->vrle, ix, nv))
					return pqc_corrupt(cr, "RLE booleans are truncated");
				for (i = 0; i < nv; i++)
				{
					out[i].v.b = ix[i] != 0;
					out[i].is_null = false;
				}
				return PARQUET_OK;
			}
		case PARQUET_ENC_DELTA_BINARY_PACKED:
			if (!cr->delta.buf || !pq_delta_get(&cr->delta, cr->tmp64, nv))
				return pqc_corrupt(cr, "DELTA_BINARY_PACKED values are truncated");
			for (i = 0; i < nv; i++)
			{
				if (cd->type == PARQUET_INT32)
					out[i].v.i32 = (int32_t) cr->tmp64[i];
				else
					out[i].v.i64 = cr->tmp64[i];
				out[i].is_null = false;
			}
			return PARQUET_OK;
		case PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY:
			if (!cr->lens.buf || !pq_delta_get(&cr->lens, cr->tmp64, nv))
				return pqc_corrupt(cr, "DELTA_LENGTH_BYTE_ARRAY lengths are truncated");
			for (i = 0; i < nv; i++)
			{
				int64_t		len = cr->tmp64[i];

				if (len < 0 || len > cr->vend - cr->bytes_p)
					return pqc_corrupt(cr, "DELTA_LENGTH_BYTE_ARRAY data is truncated");
				out[i].ptr = cr->bytes_p;
				out[i].len = (uint32_t) len;
				out[i].is_null = false;
				cr->bytes_p += len;
			}
			return PARQUET_OK;
		case PARQUET_ENC_DELTA_BYTE_ARRAY:
			{
				PqMem	   *m = &cr->r->mem;
				int64_t    *plen = cr->tmp64;

				cr->outbuf.len = 0;
				if (!pq_buf_reserve(m, &cr->outbuf, 1))
					return pqc_nomem(cr, "value buffer");
				if (!cr->prefixes.buf || !pq_delta_get(&cr->prefixes, plen, nv))
					return pqc_corrupt(cr, "DELTA_BYTE_ARRAY prefixes are truncated");
				for (i = 0; i < nv; i++)
				{
					int64_t		slen;
					size_t		off;

					if (!pq_delta_get(&cr->lens, &slen, 1))
						return pqc_corrupt(cr, "DELTA_BYTE_ARRAY suffix lengths are truncated");
					if (plen[i] < 0 || (size_t) plen[i] > cr->prev.len || slen < 0 ||
						slen > cr->vend - cr->bytes_p)
						return pqc_corrupt(cr, "DELTA_BYTE_ARRAY data is inconsistent");
					if (cd->type == PARQUET_FIXED_LEN_BYTE_ARRAY &&
						plen[i] + slen != cd->type_length)
						return pqc_corrupt(cr, "DELTA_BYTE_ARRAY value has the wrong length");
					off = cr->outbuf.len;
					if (!pq_buf_reserve(m, &cr->outbuf, (size_t) (plen[i] + slen)))
						return pqc_nomem(cr, "value buffer");
					if (plen[i])
						memcpy(cr->outbuf.data + off, cr->prev.data, (size_t) plen[i]);
					if (slen)
						memcpy(cr->outbuf.data + off + plen[i], cr->bytes_p, (size_t) slen);
					cr->bytes_p += slen;
					cr->outbuf.len += (size_t) (plen[i] + slen);
					/* remember as previous value */
					cr->prev.len = 0;
					if (!pq_buf_append(m, &cr->prev, cr->outbuf.data + off, (size_t) (plen[i] + slen)))
						return pqc_nomem(cr, "value buffer");
					out[i].ptr = (const uint8_t *) (uintptr_t) off;	/* fixed below */
					out[i].len = (uint32_t) (plen[i] + slen);
					out[i].is_null = false;
				}
				for (i = 0; i < nv; i++)
					out[i].ptr = cr->outbuf.data + (uintptr_t) out[i].ptr;
				return PARQUET_OK;
			}
		case PARQUET_ENC_BYTE_STREAM_SPLIT:
			{
				size_t		w = value_width(cd);
				PqMem	   *m = &cr->r->mem;
				uint8_t		tmp[8];

				if ((uint64_t) nv > cr->bss_n - cr->bss_i)
					return pqc_corrupt(cr, "BYTE_STREAM_SPLIT data is truncated");
				if (cd->type == PARQUET_FIXED_LEN_BYTE_ARRAY)
				{
					cr->outbuf.len = 0;
					if (!pq_buf_reserve(m, &cr->outbuf, w * nv))
						return pqc_nomem(cr, "value buffer");
				}
				for (i = 0; i < nv; i++)
				{
					uint8_t    *dst = cd->type == PARQUET_FIXED_LEN_BYTE_ARRAY ?
						cr->outbuf.data + w * i : tmp;
					size_t		k;

					for (k = 0; k < w; k++)
						dst[k] = cr->vp[k * cr->bss_n + cr->bss_i];
					cr->bss_i++;
					out[i].is_null = false;
					switch (cd->type)
					{
						case PARQUET_INT32:
							out[i].v.i32 = (int32_t) pq_le32(tmp);
							break;
						case PARQUET_INT64:
							out[i].v.i64 = (int64_t) pq_le64(tmp);
							break;
						case PARQUET_FLOAT:
							{
								uint32_t	u = pq_le32(tmp);

								memcpy(&out[i].v.f, &u, 4);
								break;
							}
						case PARQUET_DOUBLE:
							{
								uint64_t	u = pq_le64(tmp);

								memcpy(&out[i].v.d, &u, 8);
								break;
							}
						default:
							out[i].ptr = dst;
							out[i].len = (uint32_t) w;
							break;
					}
				}
				return PARQUET_OK;
			}
	}
	return pqc_corrupt(cr, "unknown value encoding");
}

ParquetStatus
parquet_column_reader_read(ParquetColumnReader *cr, int max, int16_t *def, int16_t *rep,
						   ParquetValue *values, int *n)
{
	return parquet_column_reader_read_ex(cr, max, def, rep, values, NULL, n);
}

/*
 * parquet_column_reader_read with, when dict_idx != NULL, each entry's
 * dictionary index (-1 for nulls and for values of pages that are not
 * dictionary encoded), so callers can convert each dictionary entry once
 * per column chunk instead of once per value.
 */
ParquetStatus
parquet_column_reader_read_ex(ParquetColumnReader *cr, int max, int16_t *def, int16_t *rep,
							  ParquetValue *values, int32_t *dict_idx, int *n)
{
	const ParquetColumnDesc *cd = cr->cd;
	int			k,
				i,
				j,
				nv;
	int16_t    *d;
	ParquetStatus st;

	*n = 0;
	if (cr->err.status != PARQUET_OK)
		return cr->err.status;
	if (max <= 0)
		return pqc_fail(cr, PARQUET_ERR_INVALID, "batch size must be positive");
	while (cr->page_left == 0)
	{
		st = next_page(cr);
		if (st == PARQUET_END)
			return PARQUET_END;
		if (st != PARQUET_OK)
			return st;
	}
	k = max < cr->page_left ? max : cr->page_left;
	if (!ensure_tmp(cr, k))
		return pqc_nomem(cr, "batch buffers");
	if (cd->max_rep > 0 || rep)
	{
		int16_t    *rp = rep ? rep : cr->tmpdef;

		if (!read_levels(&cr->repd, rp, k))
			return pqc_corrupt(cr, "repetition levels are truncated");
		for (i = 0; i < k; i++)
			if (PQ_UNLIKELY(rp[i] < 0 || rp[i] > cd->max_rep))
				return pqc_fail(cr, PARQUET_ERR_CORRUPT, "repetition level %d exceeds the maximum %d",
								rp[i], cd->max_rep);
	}
	d = def ? def : cr->tmpdef;
	if (cd->max_def > 0)
	{
		if (!read_levels(&cr->defd, d, k))
			return pqc_corrupt(cr, "definition levels are truncated");
		nv = 0;
		for (i = 0; i < k; i++)
		{
			if (PQ_UNLIKELY(d[i] < 0 || d[i] > cd->max_def))
				return pqc_fail(cr, PARQUET_ERR_CORRUPT, "definition level %d exceeds the maximum %d",
								d[i], cd->max_def);
			nv += d[i] == cd->max_def;
		}
	}
	else
	{
		if (def)
			memset(def, 0, sizeof(int16_t) * k);
		nv = k;
	}
	st = decode_values(cr, values, nv);
	if (st != PARQUET_OK)
		return st;
	if (dict_idx)
	{
		if (cr->enc == PARQUET_ENC_PLAIN_DICTIONARY || cr->enc == PARQUET_ENC_RLE_DICTIONARY)
			for (i = 0; i < nv; i++)
				dict_idx[i] = (int32_t) cr->tmpidx[i];
		else
			for (i = 0; i < nv; i++)
				dict_idx[i] = -1;
	}
	/* spread the values over their entries, back to front */
	if (nv < k)
	{
		j = nv - 1;
		for (i = k - 1; i >= 0; i--)
		{
			if (d[i] == cd->max_def)
			{
				if (dict_idx)
					dict_idx[i] = dict_idx[j];
				values[i] = values[j--];
			}
			else
			{
				values[i].is_null = true;
				values[i].ptr = NULL;
				values[i].len = 0;
				if (dict_idx)
					dict_idx[i] = -1;
			}
		}
	}
	cr->page_left -= k;
	*n = k;
	return PARQUET_OK;
}

int32_t
parquet_column_reader_dict_size(const ParquetColumnReader *cr)
{
	return cr->dict_n;
}
