/* show.c - part of safetensors-inspect, included by examples/inspect.c.

   The view of an accepted file or model: the table a person reads, or its
   --json line. */

/* Metadata values longer than this are shortened in the table view. */
#define META_VALUE_MAX 160
/* Widest shard name shown in the tables. */
#define SHARD_COLUMN_MAX 48

/* ---------------------------------------------------------------------
   Totals
   --------------------------------------------------------------------- */

/* Tensor, parameter and byte counts, in all and per dtype. */
typedef struct totals {
    uint64_t dt_bytes[SAFETENSORS_DTYPE_COUNT], dt_params[SAFETENSORS_DTYPE_COUNT];
    size_t dt_count[SAFETENSORS_DTYPE_COUNT];
    uint64_t bytes, params;
    size_t count;
} totals;

static void totals_of(const tensor_list *l, totals *s)
{
    size_t i;
    memset(s, 0, sizeof *s);
    for (i = 0; i < l->n; i++) {
        const safetensors_tensor *t = l->e[i].t;
        uint64_t sz = safetensors_tensor_byte_size(t), el = safetensors_tensor_element_count(t);
        s->count++;
        s->bytes = add_saturating(s->bytes, sz);
        s->params = add_saturating(s->params, el);
        if ((unsigned)t->dtype >= SAFETENSORS_DTYPE_COUNT) continue;
        s->dt_bytes[t->dtype] = add_saturating(s->dt_bytes[t->dtype], sz);
        s->dt_params[t->dtype] = add_saturating(s->dt_params[t->dtype], el);
        s->dt_count[t->dtype]++;
    }
}

/* The globs, escaped, after "filtered: ". */
static void filter_note(strbuf *out, const inspect_options *o)
{
    size_t k;
    sb_puts(out, " (filtered: ");
    for (k = 0; k < o->nglobs; k++) {
        if (k) sb_puts(out, ", ");
        text_cescaped(out, o->globs[k]);
    }
    sb_putc(out, ')');
}

/* The summary under a table: counts (of how many, when filtered), then
   bytes per dtype, the largest share first (ties in dtype order). */
static void totals_print(strbuf *out, const totals *sum, size_t all, const inspect_options *o)
{
    size_t dt_count[SAFETENSORS_DTYPE_COUNT], d, pass;
    strbuf cell = {0, 0, 0};
    memcpy(dt_count, sum->dt_count, sizeof dt_count);
    sb_puts(out, "\n  tensors     ");
    sb_u64_grouped(out, (uint64_t)sum->count);
    if (o->nglobs) {
        sb_puts(out, " of ");
        sb_u64_grouped(out, (uint64_t)all);
        filter_note(out, o);
    }
    sb_puts(out, "\n  parameters  ");
    sb_u64_grouped(out, sum->params);
    if (sum->params >= 1000) {
        sb_puts(out, " (");
        sb_count_human(out, sum->params);
        sb_putc(out, ')');
    }
    sb_puts(out, "\n  bytes       ");
    sb_u64_grouped(out, sum->bytes);
    sb_bytes_human_note(out, sum->bytes);
    sb_putc(out, '\n');
    for (pass = 0;; pass++) {
        size_t best = SAFETENSORS_DTYPE_COUNT;
        for (d = 0; d < SAFETENSORS_DTYPE_COUNT; d++)
            if (dt_count[d] && (best == SAFETENSORS_DTYPE_COUNT || sum->dt_bytes[d] > sum->dt_bytes[best])) best = d;
        if (best == SAFETENSORS_DTYPE_COUNT) break;
        d = best;
        sb_puts(out, pass ? "              " : "  by dtype    ");
        sb_aligned(out, dtype_name((safetensors_dtype)d), strlen(dtype_name((safetensors_dtype)d)), 11, 'l');
        sb_puts(out, "  ");
        sb_clear(&cell);
        sb_u64_grouped(&cell, sum->dt_bytes[d]);
        sb_puts(&cell, sum->dt_bytes[d] == 1 ? " byte" : " bytes");
        sb_aligned(out, cell.p, cell.len, 20, 'r');
        sb_puts(out, "  ");
        sb_clear(&cell);
        sb_percent(&cell, sum->dt_bytes[d], sum->bytes);
        sb_aligned(out, cell.p, cell.len, 6, 'r');
        sb_puts(out, "  ");
        sb_u64_grouped(out, (uint64_t)dt_count[d]);
        sb_puts(out, dt_count[d] == 1 ? " tensor, " : " tensors, ");
        sb_u64_grouped(out, sum->dt_params[d]);
        sb_puts(out, sum->dt_params[d] == 1 ? " parameter\n" : " parameters\n");
        dt_count[d] = 0; /* printed */
    }
    free(cell.p);
}

/* ---------------------------------------------------------------------
   The table a person reads
   --------------------------------------------------------------------- */

typedef struct table_ctx {
    const tensor_list *l;
    const strbuf *shard_cells; /* a model's shard names, as cells */
    const tensor_stats *stats; /* --stats, one a row */
    strbuf scratch;
    const source *src; /* for the alignment mark: a tensor's file */
} table_ctx;

/* Whether a tensor sits at a file offset that is not a multiple of its
   element size: mapped, its `data` cannot be cast to an element pointer.
   Asked of a copy of the view without data, so that the answer is the
   file's whether or not this run read the data into memory. */
static int misaligned(const table_ctx *c, const entry *e)
{
    const safetensors_file *f = c->src->f;
    safetensors_tensor offset_only = *e->t;
    if (c->src->m && safetensors_model_shard(c->src->m, e->shard, &f, NULL) != SAFETENSORS_OK) return 0;
    offset_only.data = NULL;
    return !safetensors_tensor_offset_is_aligned(f, &offset_only, 0);
}

/* NAME DTYPE SHAPE SIZE BYTES [SHARD] OFFSET, where OFFSET is two columns
   joined: the begin, right-aligned, and "..end". */
static void tensor_fill(void *ctx, size_t row, strbuf *cells)
{
    table_ctx *c = (table_ctx *)ctx;
    const entry *e = &c->l->e[row];
    const safetensors_tensor *t = e->t;
    size_t k = 5;
    cell_name(&cells[0], &c->scratch, t->name, t->name_len);
    sb_puts(&cells[1], dtype_name(t->dtype));
    cell_shape(&cells[2], &c->scratch, t);
    sb_bytes_human(&cells[3], safetensors_tensor_byte_size(t));
    sb_u64(&cells[4], safetensors_tensor_byte_size(t));
    if (c->shard_cells) {
        const strbuf *s = &c->shard_cells[e->shard];
        sb_put(&cells[k++], sb_text(s), s->len);
    }
    sb_u64(&cells[k++], t->begin);
    sb_puts(&cells[k], "..");
    sb_u64(&cells[k], t->end);
    if (misaligned(c, e)) sb_puts(&cells[k], " *");
}

static void tensor_table(strbuf *out, table_ctx *c)
{
    static const column file_cols[] = {{"NAME", 'l', 0},  {"DTYPE", 'l', 0},
                                       {"SHAPE", 'l', 0}, {"SIZE", 'r', 0},
                                       {"BYTES", 'r', 0}, {"OFFSET", 'r', COL_HEAD_OVERHANGS},
                                       {"", 'l', COL_JOINED}};
    static const column model_cols[] = {{"NAME", 'l', 0},  {"DTYPE", 'l', 0},
                                        {"SHAPE", 'l', 0}, {"SIZE", 'r', 0},
                                        {"BYTES", 'r', 0}, {"SHARD", 'l', 0},
                                        {"OFFSET", 'r', COL_HEAD_OVERHANGS}, {"", 'l', COL_JOINED}};
    size_t i, marked = 0;
    if (c->shard_cells) grid_print(out, model_cols, sizeof model_cols / sizeof model_cols[0], c->l->n, tensor_fill, c);
    else grid_print(out, file_cols, sizeof file_cols / sizeof file_cols[0], c->l->n, tensor_fill, c);
    for (i = 0; i < c->l->n; i++) marked += (size_t)misaligned(c, &c->l->e[i]);
    if (marked)
        sb_puts(out, "  * misaligned for its dtype: no cast of its data (SAFETENSORS_ALIGNED_COPY copies it)\n");
}

/* --stats: NAME DTYPE SHAPE and the statistics. */
static void stats_fill(void *ctx, size_t row, strbuf *cells)
{
    table_ctx *c = (table_ctx *)ctx;
    const safetensors_tensor *t = c->l->e[row].t;
    cell_name(&cells[0], &c->scratch, t->name, t->name_len);
    sb_puts(&cells[1], dtype_name(t->dtype));
    cell_shape(&cells[2], &c->scratch, t);
    stats_cells(cells + 3, &c->stats[row]);
}

static uint64_t bytes_of(const tensor_list *l)
{
    totals sum;
    totals_of(l, &sum);
    return sum.bytes;
}

static void stats_table(strbuf *out, table_ctx *c, data_reader *r)
{
    static const column cols[] = {{"NAME", 'l', 0}, {"DTYPE", 'l', 0}, {"SHAPE", 'l', 0}, {"MIN", 'r', 0},
                                  {"MAX", 'r', 0},  {"MEAN", 'r', 0},  {"STD", 'r', 0},   {"NAN", 'r', 0},
                                  {"INF", 'r', 0},  {"ZERO", 'r', 0}};
    tensor_stats *st = (tensor_stats *)xcalloc(c->l->n, sizeof *st);
    size_t i;
    progress_start(&r->pg, bytes_of(c->l));
    for (i = 0; i < c->l->n; i++) stats_compute(r, c->l->e[i].t, &st[i]);
    progress_end(&r->pg);
    c->stats = st;
    grid_print(out, cols, sizeof cols / sizeof cols[0], c->l->n, stats_fill, c);
    c->stats = NULL;
    free(st);
}

/* --values N: each tensor's name, then its first values. */
static void values_print(strbuf *out, table_ctx *c, data_reader *r, uint64_t n)
{
    strbuf cell = {0, 0, 0};
    size_t i, w = 0;
    for (i = 0; i < c->l->n; i++) {
        sb_clear(&cell);
        cell_name(&cell, &c->scratch, c->l->e[i].t->name, c->l->e[i].t->name_len);
        w = max_size(w, cell_width(&cell));
    }
    sb_puts(out, "\n  values (the first ");
    sb_u64_grouped(out, n);
    sb_puts(out, n == 1 ? " of each tensor)\n" : " of each tensor)\n");
    for (i = 0; i < c->l->n; i++) {
        sb_clear(&cell);
        cell_name(&cell, &c->scratch, c->l->e[i].t->name, c->l->e[i].t->name_len);
        sb_puts(out, "  ");
        sb_aligned(out, cell.p, cell.len, w + 2, 'l');
        values_write(out, r, c->l->e[i].t, n, 0);
        sb_putc(out, '\n');
        if (out->len >= FLUSH_AT) sb_flush(out, stdout);
    }
    free(cell.p);
}

typedef struct shard_ctx {
    const safetensors_model *m;
    const strbuf *shard_cells;
    size_t *tensors;
    uint64_t *bytes;
} shard_ctx;

/* Per shard: its tensors (those shown), the bytes they hold, its header
   and where its data start. */
static void shard_fill(void *ctx, size_t k, strbuf *cells)
{
    shard_ctx *c = (shard_ctx *)ctx;
    const safetensors_file *f = NULL;
    (void)safetensors_model_shard(c->m, k, &f, NULL);
    sb_put(&cells[0], sb_text(&c->shard_cells[k]), c->shard_cells[k].len);
    sb_u64_grouped(&cells[1], (uint64_t)c->tensors[k]);
    sb_u64_grouped(&cells[2], c->bytes[k]);
    sb_bytes_human_note(&cells[2], c->bytes[k]);
    sb_u64_grouped(&cells[3], safetensors_header_size(f));
    sb_u64_grouped(&cells[4], safetensors_data_start(f));
}

static void shard_table(strbuf *out, const safetensors_model *m, const tensor_list *l, const strbuf *shard_cells)
{
    static const column cols[] = {
        {"SHARD", 'l', 0}, {"TENSORS", 'r', 0}, {"BYTES", 'r', 0}, {"HEADER", 'r', 0}, {"DATA FROM", 'r', 0}};
    size_t nshards = safetensors_model_shard_count(m), i;
    shard_ctx c;
    c.m = m;
    c.shard_cells = shard_cells;
    c.tensors = (size_t *)xcalloc(nshards, sizeof *c.tensors);
    c.bytes = (uint64_t *)xcalloc(nshards, sizeof *c.bytes);
    for (i = 0; i < l->n; i++) {
        c.tensors[l->e[i].shard]++;
        c.bytes[l->e[i].shard] = add_saturating(c.bytes[l->e[i].shard], safetensors_tensor_byte_size(l->e[i].t));
    }
    grid_print(out, cols, sizeof cols / sizeof cols[0], nshards, shard_fill, &c);
    free(c.tensors);
    free(c.bytes);
}

/* One "key = value" line of the metadata block; `i` is its position. Long
   values are shortened. */
static void metadata_line(strbuf *out, strbuf *scratch, const source *s, size_t i)
{
    size_t klen, vlen;
    const char *key = meta_key(s, i, &klen), *value = meta_value(s, i, &vlen);
    if (i) sb_puts(out, "              ");
    text_escaped(out, key, klen);
    sb_puts(out, " = ");
    sb_clear(scratch);
    text_escaped(scratch, value, vlen);
    if (utf8_width(sb_text(scratch), scratch->len) > META_VALUE_MAX) {
        sb_put(out, scratch->p, utf8_offset(scratch->p, scratch->len, META_VALUE_MAX - 3));
        sb_puts(out, "... (");
        sb_u64_grouped(out, (uint64_t)vlen);
        sb_puts(out, " bytes)");
    } else {
        sb_put(out, sb_text(scratch), scratch->len);
    }
    sb_putc(out, '\n');
    if (out->len >= FLUSH_AT) sb_flush(out, stdout);
}

/* The heading: a file's layout, or a model's shard and tensor counts. */
static void heading_print(strbuf *out, const source *s)
{
    text_cescaped(out, s->path);
    if (s->f) {
        sb_puts(out, "\n  header ");
        sb_u64_grouped(out, safetensors_header_size(s->f));
        sb_puts(out, " bytes; data section ");
        sb_u64_grouped(out, safetensors_data_size(s->f));
        sb_puts(out, " bytes");
        sb_bytes_human_note(out, safetensors_data_size(s->f));
        sb_puts(out, " from byte ");
        sb_u64_grouped(out, safetensors_data_start(s->f));
        sb_puts(out, "\n\n");
    } else {
        size_t nshards = safetensors_model_shard_count(s->m);
        sb_puts(out, "\n  sharded model: ");
        sb_u64_grouped(out, (uint64_t)nshards);
        sb_puts(out, nshards == 1 ? " shard, " : " shards, ");
        sb_u64_grouped(out, (uint64_t)s->all.n);
        sb_puts(out, s->all.n == 1 ? " tensor\n\n" : " tensors\n\n");
    }
}

/* The view of an accepted file or model, whose shown tensors are l: a
   heading, the tensors (as a table, a tree or their statistics), their
   values, a model's shards, the summary and the metadata. */
static void text_view(strbuf *out, const source *s, const tensor_list *l, const inspect_options *o, data_reader *r)
{
    size_t nshards = s->m ? safetensors_model_shard_count(s->m) : 0, k, nmeta = meta_count(s);
    strbuf *shard_cells = NULL;
    table_ctx c;
    totals sum;
    memset(&c, 0, sizeof c);
    c.l = l;
    c.src = s;
    heading_print(out, s);
    if (s->m) {
        shard_cells = (strbuf *)xcalloc(nshards, sizeof *shard_cells);
        for (k = 0; k < nshards; k++) {
            sb_clear(&c.scratch);
            text_cescaped(&c.scratch, safetensors_model_shard_name(s->m, k, NULL));
            fit_middle(&shard_cells[k], sb_text(&c.scratch), c.scratch.len, SHARD_COLUMN_MAX);
        }
        c.shard_cells = shard_cells;
    }

    if (l->n == 0) sb_puts(out, o->nglobs && s->all.n ? "  (no tensor matches the filter)\n" : "  (no tensors)\n");
    else if (o->tree) tree_print(out, l);
    else if (o->stats) stats_table(out, &c, r);
    else tensor_table(out, &c);
    if (o->values && l->n) values_print(out, &c, r, o->values);
    if (s->m) {
        sb_putc(out, '\n');
        shard_table(out, s->m, l, shard_cells);
    }

    totals_of(l, &sum);
    totals_print(out, &sum, s->all.n, o);
    sb_puts(out, "\n  metadata    ");
    if (nmeta == 0) sb_puts(out, "(none)\n");
    for (k = 0; k < nmeta; k++) metadata_line(out, &c.scratch, s, k);

    for (k = 0; k < nshards; k++) free(shard_cells[k].p);
    free(shard_cells);
    free(c.scratch.p);
}

/* ---------------------------------------------------------------------
   --json
   --------------------------------------------------------------------- */

/* A raw JSON value from the index (already checked to be strict JSON by the
   library), with the white space between its tokens removed so that it
   stays on one line; strings are copied as they are written. */
static void json_raw_compact(strbuf *b, const char *s, size_t n)
{
    size_t i;
    int in_string = 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            sb_putc(b, c);
            if (c == '\\' && i + 1 < n) sb_putc(b, s[++i]);
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
            sb_putc(b, c);
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            sb_putc(b, c);
        }
    }
}

/* "shape":[2,3] */
static void json_shape(strbuf *b, const safetensors_tensor *t)
{
    size_t d;
    sb_puts(b, "\"shape\":[");
    for (d = 0; d < t->ndim; d++) {
        if (d) sb_putc(b, ',');
        sb_u64(b, t->shape[d]);
    }
    sb_putc(b, ']');
}

/* {"name":...,"dtype":...,"shape":[...] : a tensor's object, left open for
   more members. */
static void json_tensor_open(strbuf *b, const safetensors_tensor *t)
{
    sb_puts(b, "{\"name\":");
    json_string(b, t->name, t->name_len);
    sb_puts(b, ",\"dtype\":");
    json_cstring(b, dtype_name(t->dtype));
    sb_putc(b, ',');
    json_shape(b, t);
}

/* "tensors":N,"parameters":N,"bytes":N */
static void json_counts(strbuf *b, size_t tensors, uint64_t params, uint64_t bytes)
{
    sb_puts(b, "\"tensors\":");
    sb_u64(b, (uint64_t)tensors);
    sb_puts(b, ",\"parameters\":");
    sb_u64(b, params);
    sb_puts(b, ",\"bytes\":");
    sb_u64(b, bytes);
}

/* ,"filter":{...} when filtered, then ,"totals":{...} over the tensors shown. */
static void json_totals(strbuf *b, const tensor_list *l, size_t all, const inspect_options *o)
{
    totals sum;
    size_t d, k;
    int first = 1;
    if (o->nglobs) {
        sb_puts(b, ",\"filter\":{\"globs\":[");
        for (k = 0; k < o->nglobs; k++) {
            if (k) sb_putc(b, ',');
            json_cstring(b, o->globs[k]);
        }
        sb_puts(b, "],\"total_tensors\":");
        sb_u64(b, (uint64_t)all);
        sb_putc(b, '}');
    }
    totals_of(l, &sum);
    sb_puts(b, ",\"totals\":{");
    json_counts(b, sum.count, sum.params, sum.bytes);
    sb_puts(b, ",\"by_dtype\":{");
    for (d = 0; d < SAFETENSORS_DTYPE_COUNT; d++) {
        if (!sum.dt_count[d]) continue;
        if (!first) sb_putc(b, ',');
        first = 0;
        json_cstring(b, dtype_name((safetensors_dtype)d));
        sb_puts(b, ":{");
        json_counts(b, sum.dt_count[d], sum.dt_params[d], sum.dt_bytes[d]);
        sb_putc(b, '}');
    }
    sb_puts(b, "}}");
}

/* The "ok":true line of a file or a model. A model's tensors carry their
   shard and its metadata values are raw JSON; a file's are strings. */
static void json_view(strbuf *b, const source *s, const tensor_list *l, const inspect_options *o, data_reader *r)
{
    size_t i, n;
    sb_puts(b, "{\"file\":");
    json_cstring(b, s->path);
    if (s->f) {
        sb_puts(b, ",\"ok\":true,\"header_size\":");
        sb_u64(b, safetensors_header_size(s->f));
        sb_puts(b, ",\"data_start\":");
        sb_u64(b, safetensors_data_start(s->f));
    } else {
        sb_puts(b, ",\"ok\":true,\"shards\":[");
        n = safetensors_model_shard_count(s->m);
        for (i = 0; i < n; i++) {
            if (i) sb_putc(b, ',');
            json_cstring(b, safetensors_model_shard_name(s->m, i, NULL));
        }
        sb_putc(b, ']');
    }
    if (o->stats) progress_start(&r->pg, bytes_of(l));
    sb_puts(b, ",\"tensors\":[");
    for (i = 0; i < l->n; i++) {
        const safetensors_tensor *t = l->e[i].t;
        if (i) sb_putc(b, ',');
        json_tensor_open(b, t);
        sb_puts(b, ",\"data_offsets\":[");
        sb_u64(b, t->begin);
        sb_putc(b, ',');
        sb_u64(b, t->end);
        sb_putc(b, ']');
        if (s->m) {
            sb_puts(b, ",\"shard\":");
            sb_u64(b, (uint64_t)l->e[i].shard);
        }
        if (o->stats) {
            tensor_stats st;
            stats_compute(r, t, &st);
            stats_json(b, &st);
        }
        if (o->values) {
            sb_puts(b, ",\"values\":");
            values_write(b, r, t, o->values, 1);
        }
        sb_putc(b, '}');
        if (b->len >= FLUSH_AT) sb_flush(b, stdout);
    }
    if (o->stats) progress_end(&r->pg);
    sb_puts(b, "],\"metadata\":{");
    n = meta_count(s);
    for (i = 0; i < n; i++) {
        size_t klen, vlen;
        const char *key = meta_key(s, i, &klen), *value = meta_value(s, i, &vlen);
        if (i) sb_putc(b, ',');
        json_string(b, key, klen);
        sb_putc(b, ':');
        if (s->f) json_string(b, value, vlen);
        else if (vlen) json_raw_compact(b, value, vlen);
        else sb_puts(b, "null"); /* never: the library keeps a whole value */
        if (b->len >= FLUSH_AT) sb_flush(b, stdout);
    }
    sb_putc(b, '}');
    json_totals(b, l, s->all.n, o);
    sb_puts(b, "}\n");
}
