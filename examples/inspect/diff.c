/* diff.c - part of safetensors-inspect, included by examples/inspect.c.

   --diff A B: the tensors only in A, only in B, and those whose dtype, shape
   or bytes differ, matched by name; then the metadata, when A and B are of
   the same kind (two files, or two models). The bytes are compared in
   chunks of the two mapped files, so neither is ever read whole. */

/* Bytes compared at a time: a multiple of every element size and of 3,
   the bytes that hold four F6 elements, so chunks end between elements. */
#define DIFF_CHUNK ((size_t)3 << 18)

typedef enum diff_kind { ONLY_A, ONLY_B, DIFF_DTYPE, DIFF_SHAPE, DIFF_BYTES, DIFF_META, DIFF_KINDS } diff_kind;

typedef struct difference {
    diff_kind kind;
    const safetensors_tensor *a, *b; /* the tensor in A, in B (NULL: absent) */
    size_t meta_a, meta_b;           /* DIFF_META: metadata positions; NO_META: absent */
    uint64_t differ, first;          /* DIFF_BYTES: elements that differ, the first of them */
} difference;

#define NO_META ((size_t)-1)

typedef struct diff_list {
    difference *d;
    size_t n, cap;
} diff_list;

static difference *diff_add(diff_list *l, diff_kind kind, const safetensors_tensor *a, const safetensors_tensor *b)
{
    difference *d;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        difference *nd;
        if (cap > (size_t)-1 / sizeof *nd) die_nomem();
        nd = (difference *)realloc(l->d, cap * sizeof *nd);
        if (!nd) die_nomem();
        l->d = nd;
        l->cap = cap;
    }
    d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->a = a;
    d->b = b;
    d->meta_a = d->meta_b = NO_META;
    return d;
}

/* The tensor named like t in s, or NULL. */
static const safetensors_tensor *source_find(const source *s, const safetensors_tensor *t)
{
    const safetensors_tensor *found = NULL;
    if (s->f) return safetensors_find(s->f, t->name, t->name_len);
    if (safetensors_model_find(s->m, t->name, t->name_len, &found, NULL, NULL) != SAFETENSORS_OK) return NULL;
    return found;
}

/* Element i of a packed sub-byte tensor (F4, F6): `bits` bits from bit
   i x bits of a little-endian bit stream. */
static unsigned element_code(const unsigned char *p, uint64_t i, unsigned bits)
{
    uint64_t bit = i * bits;
    size_t at = (size_t)(bit / 8u);
    unsigned shift = (unsigned)(bit % 8u), v = (unsigned)p[at] >> shift;
    if (shift + bits > 8) v |= (unsigned)p[at + 1] << (8 - shift);
    return v & ((1u << bits) - 1u);
}

/* a and b have the same dtype and shape: counts the elements whose bytes
   differ, and finds the first. */
static uint64_t elements_differ(progress *pg, const safetensors_tensor *a, const safetensors_tensor *b,
                                uint64_t *first)
{
    const unsigned char *pa = (const unsigned char *)a->data, *pb = (const unsigned char *)b->data;
    size_t size = (size_t)safetensors_tensor_byte_size(a), off, len;
    unsigned bits = safetensors_dtype_bits(a->dtype);
    uint64_t count = 0, i, end;
    for (off = 0; off < size; off += len) {
        len = size - off < DIFF_CHUNK ? size - off : DIFF_CHUNK;
        progress_add(pg, len);
        if (memcmp(pa + off, pb + off, len) == 0) continue;
        end = (uint64_t)(off + len) * 8u / bits;
        for (i = (uint64_t)off * 8u / bits; i < end; i++) {
            size_t at = (size_t)i * (bits / 8u);
            int same = bits >= 8 ? memcmp(pa + at, pb + at, bits / 8u) == 0
                                 : element_code(pa, i, bits) == element_code(pb, i, bits);
            if (!same && count++ == 0) *first = i;
        }
    }
    return count;
}

static int same_shape(const safetensors_tensor *a, const safetensors_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, a->ndim * sizeof *a->shape) == 0;
}

/* ---------------------------------------------------------------------
   Metadata, matched by key
   --------------------------------------------------------------------- */

typedef struct meta_ref {
    const char *key;
    size_t len, i;
} meta_ref;

static int by_key(const void *x, const void *y)
{
    const meta_ref *a = (const meta_ref *)x, *b = (const meta_ref *)y;
    return bytes_compare(a->key, a->len, b->key, b->len);
}

/* s's metadata keys, sorted for bsearch. */
static meta_ref *meta_sorted(const source *s)
{
    size_t n = meta_count(s), i;
    meta_ref *r = (meta_ref *)xcalloc(n, sizeof *r);
    for (i = 0; i < n; i++) {
        r[i].key = meta_key(s, i, &r[i].len);
        r[i].i = i;
    }
    qsort(r, n, sizeof *r, by_key);
    return r;
}

/* Position of `key` among s's metadata (sorted: its meta_sorted), or NO_META. */
static size_t meta_lookup(const source *s, const meta_ref *sorted, const char *key, size_t len)
{
    meta_ref want, *hit;
    want.key = key;
    want.len = len;
    want.i = 0;
    hit = (meta_ref *)bsearch(&want, sorted, meta_count(s), sizeof *sorted, by_key);
    return hit ? hit->i : NO_META;
}

static void meta_compare(diff_list *l, const source *a, const source *b)
{
    meta_ref *sa = meta_sorted(a), *sb = meta_sorted(b);
    size_t i, j, n = meta_count(a), la, lb, klen;
    for (i = 0; i < n; i++) {
        const char *key = meta_key(a, i, &klen), *va, *vb;
        difference *d;
        j = meta_lookup(b, sb, key, klen);
        if (j != NO_META) {
            va = meta_value(a, i, &la);
            vb = meta_value(b, j, &lb);
            if (la == lb && memcmp(va, vb, la) == 0) continue;
        }
        d = diff_add(l, DIFF_META, NULL, NULL);
        d->meta_a = i;
        d->meta_b = j;
    }
    n = meta_count(b);
    for (j = 0; j < n; j++) {
        const char *key = meta_key(b, j, &klen);
        if (meta_lookup(a, sa, key, klen) == NO_META) diff_add(l, DIFF_META, NULL, NULL)->meta_b = j;
    }
    free(sa);
    free(sb);
}

/* Every difference between A and B among the tensors the options select,
   in A's order, then those only in B in B's, then the metadata (not when
   filtered, nor between a file and a model). */
static void diff_collect(diff_list *l, const source *a, const source *b, const inspect_options *o, progress *pg)
{
    tensor_list la, lb;
    size_t i;
    uint64_t compared = 0;
    const safetensors_tensor **in_b;
    select_tensors(&a->all, o, &la);
    select_tensors(&b->all, o, &lb);
    /* B's tensor of each of A's, first, for the progress to know the bytes
       there are to compare. */
    in_b = (const safetensors_tensor **)xcalloc(la.n, sizeof *in_b);
    for (i = 0; i < la.n; i++) {
        const safetensors_tensor *t = la.e[i].t, *u = in_b[i] = source_find(b, t);
        if (u && u->dtype == t->dtype && same_shape(t, u)) compared += safetensors_tensor_byte_size(t);
    }
    progress_start(pg, compared);
    for (i = 0; i < la.n; i++) {
        const safetensors_tensor *t = la.e[i].t, *u = in_b[i];
        uint64_t first = 0, differ;
        if (!u) {
            diff_add(l, ONLY_A, t, NULL);
            continue;
        }
        if (u->dtype != t->dtype) diff_add(l, DIFF_DTYPE, t, u);
        if (!same_shape(t, u)) diff_add(l, DIFF_SHAPE, t, u);
        if (u->dtype != t->dtype || !same_shape(t, u)) continue;
        differ = elements_differ(pg, t, u, &first);
        if (differ) {
            difference *d = diff_add(l, DIFF_BYTES, t, u);
            d->differ = differ;
            d->first = first;
        }
    }
    progress_end(pg);
    for (i = 0; i < lb.n; i++)
        if (!source_find(a, lb.e[i].t)) diff_add(l, ONLY_B, NULL, lb.e[i].t);
    if (o->nglobs == 0 && (a->f != NULL) == (b->f != NULL)) meta_compare(l, a, b);
    free((void *)in_b);
    free(la.e);
    free(lb.e);
}

/* ---------------------------------------------------------------------
   Output
   --------------------------------------------------------------------- */

static const char *const diff_label[DIFF_KINDS] = {"only in A", "only in B", "dtype", "shape", "bytes", "metadata"};

typedef struct diff_ctx {
    const diff_list *l;
    const source *a, *b;
    strbuf scratch;
} diff_ctx;

/* A metadata value in the "A -> B" column, quoted as it would be in JSON
   (a model's is JSON already), or "(none)". */
static void meta_cell(strbuf *cell, const source *s, size_t i)
{
    size_t len;
    const char *v;
    if (i == NO_META) {
        sb_puts(cell, "(none)");
        return;
    }
    v = meta_value(s, i, &len);
    if (s->f) sb_putc(cell, '"');
    text_escaped(cell, v, len);
    if (s->f) sb_putc(cell, '"');
}

/* The key of a metadata difference, from whichever side has it. */
static const char *diff_meta_key(const difference *d, const source *a, const source *b, size_t *len)
{
    return d->meta_a != NO_META ? meta_key(a, d->meta_a, len) : meta_key(b, d->meta_b, len);
}

static void diff_fill(void *ctx, size_t row, strbuf *cells)
{
    diff_ctx *c = (diff_ctx *)ctx;
    const difference *d = &c->l->d[row];
    const safetensors_tensor *t = d->a ? d->a : d->b;
    size_t klen;
    sb_puts(&cells[0], diff_label[d->kind]);
    if (d->kind == DIFF_META) {
        const char *key = diff_meta_key(d, c->a, c->b, &klen);
        sb_clear(&c->scratch);
        text_escaped(&c->scratch, key, klen);
        fit_middle(&cells[1], sb_text(&c->scratch), c->scratch.len, NAME_COLUMN_MAX);
        meta_cell(&cells[2], c->a, d->meta_a);
        sb_puts(&cells[2], " -> ");
        meta_cell(&cells[2], c->b, d->meta_b);
        return;
    }
    cell_name(&cells[1], &c->scratch, t->name, t->name_len);
    switch (d->kind) {
    case ONLY_A:
    case ONLY_B:
        sb_puts(&cells[2], dtype_name(t->dtype));
        sb_putc(&cells[2], ' ');
        sb_shape(&cells[2], t);
        break;
    case DIFF_DTYPE:
        sb_puts(&cells[2], dtype_name(d->a->dtype));
        sb_puts(&cells[2], " -> ");
        sb_puts(&cells[2], dtype_name(d->b->dtype));
        break;
    case DIFF_SHAPE:
        sb_shape(&cells[2], d->a);
        sb_puts(&cells[2], " -> ");
        sb_shape(&cells[2], d->b);
        break;
    default: /* "element 25 of 12,288 differs", "3 of 12,288 elements differ, from element 25" */
        if (d->differ == 1) {
            sb_puts(&cells[2], "element ");
            sb_u64(&cells[2], d->first);
            sb_puts(&cells[2], " of ");
        } else {
            sb_u64_grouped(&cells[2], d->differ);
            sb_puts(&cells[2], " of ");
        }
        sb_u64_grouped(&cells[2], safetensors_tensor_element_count(d->a));
        if (d->differ == 1) {
            sb_puts(&cells[2], " differs");
        } else {
            sb_puts(&cells[2], " elements differ, from element ");
            sb_u64(&cells[2], d->first);
        }
        break;
    }
}

static void diff_text(strbuf *out, const diff_list *l, const source *a, const source *b)
{
    static const column cols[] = {{"DIFFERENCE", 'l', 0}, {"NAME", 'l', 0}, {"A -> B", 'l', 0}};
    diff_ctx c;
    if (l->n == 0) return;
    memset(&c, 0, sizeof c);
    c.l = l;
    c.a = a;
    c.b = b;
    sb_puts(out, "A: ");
    text_cescaped(out, a->path);
    sb_puts(out, "\nB: ");
    text_cescaped(out, b->path);
    sb_puts(out, "\n\n");
    grid_print(out, cols, sizeof cols / sizeof cols[0], l->n, diff_fill, &c);
    free(c.scratch.p);
}

/* The array of the differences of one kind: ,"key":[...] */
static void json_diff_kind(strbuf *out, const diff_list *l, diff_kind kind, const char *key)
{
    size_t i;
    int first = 1;
    sb_puts(out, ",\"");
    sb_puts(out, key);
    sb_puts(out, "\":[");
    for (i = 0; i < l->n; i++) {
        const difference *d = &l->d[i];
        if (d->kind != kind) continue;
        if (!first) sb_putc(out, ',');
        first = 0;
        if (kind == ONLY_A || kind == ONLY_B) {
            json_tensor_open(out, d->a ? d->a : d->b);
            sb_putc(out, '}');
            continue;
        }
        sb_puts(out, "{\"name\":");
        json_string(out, d->a->name, d->a->name_len);
        if (kind == DIFF_DTYPE) {
            sb_puts(out, ",\"a\":");
            json_cstring(out, dtype_name(d->a->dtype));
            sb_puts(out, ",\"b\":");
            json_cstring(out, dtype_name(d->b->dtype));
        } else if (kind == DIFF_SHAPE) {
            sb_puts(out, ",\"a\":{");
            json_shape(out, d->a);
            sb_puts(out, "},\"b\":{");
            json_shape(out, d->b);
            sb_putc(out, '}');
        } else {
            sb_puts(out, ",\"elements\":");
            sb_u64(out, safetensors_tensor_element_count(d->a));
            sb_puts(out, ",\"differ\":");
            sb_u64(out, d->differ);
            sb_puts(out, ",\"first\":");
            sb_u64(out, d->first);
        }
        sb_putc(out, '}');
        if (out->len >= FLUSH_AT) sb_flush(out, stdout);
    }
    sb_putc(out, ']');
}

/* ,"metadata":[{"key":...,"a":...,"b":...}], a value absent from one side
   being null; a file's values are strings, a model's raw JSON. */
static void json_diff_meta(strbuf *out, const diff_list *l, const source *a, const source *b)
{
    size_t i, k, len;
    int first = 1;
    sb_puts(out, ",\"metadata\":[");
    for (i = 0; i < l->n; i++) {
        const difference *d = &l->d[i];
        const char *key;
        if (d->kind != DIFF_META) continue;
        if (!first) sb_putc(out, ',');
        first = 0;
        key = diff_meta_key(d, a, b, &len);
        sb_puts(out, "{\"key\":");
        json_string(out, key, len);
        for (k = 0; k < 2; k++) {
            const source *s = k ? b : a;
            size_t at = k ? d->meta_b : d->meta_a;
            const char *v;
            sb_puts(out, k ? ",\"b\":" : ",\"a\":");
            if (at == NO_META) {
                sb_puts(out, "null");
                continue;
            }
            v = meta_value(s, at, &len);
            if (s->f) json_string(out, v, len);
            else json_raw_compact(out, v, len);
        }
        sb_putc(out, '}');
    }
    sb_putc(out, ']');
}

static void diff_json(strbuf *out, const diff_list *l, const source *a, const source *b)
{
    sb_puts(out, "{\"a\":");
    json_cstring(out, a->path);
    sb_puts(out, ",\"b\":");
    json_cstring(out, b->path);
    sb_puts(out, ",\"ok\":true,\"identical\":");
    sb_puts(out, l->n ? "false" : "true");
    json_diff_kind(out, l, ONLY_A, "only_in_a");
    json_diff_kind(out, l, ONLY_B, "only_in_b");
    json_diff_kind(out, l, DIFF_DTYPE, "dtype");
    json_diff_kind(out, l, DIFF_SHAPE, "shape");
    json_diff_kind(out, l, DIFF_BYTES, "bytes");
    json_diff_meta(out, l, a, b);
    sb_puts(out, "}\n");
}

/* {"a":...,"b":...,"ok":false,"error":{"file":...,...}}: the first refused. */
static void diff_json_refused(strbuf *out, const source *a, const source *b, const source *bad,
                              const safetensors_error *err)
{
    sb_puts(out, "{\"a\":");
    json_cstring(out, a->path);
    sb_puts(out, ",\"b\":");
    json_cstring(out, b->path);
    sb_puts(out, ",\"ok\":false,\"error\":{\"file\":");
    json_cstring(out, bad->path);
    sb_putc(out, ',');
    json_error_fields(out, bad, err);
    sb_puts(out, "}}\n");
}

/* --diff A B. Exit status: 0 when A and B are the same, 1 otherwise
   (a refused file included). */
static int diff_run(strbuf *out, const inspect_options *o, const char *path_a, const char *path_b)
{
    source a, b;
    safetensors_error ea, eb;
    safetensors_result ra = source_open(&a, path_a, 0, &ea), rb = source_open(&b, path_b, 0, &eb);
    diff_list l = {NULL, 0, 0};
    progress pg;
    int same = 0;
    memset(&pg, 0, sizeof pg);
    if (ra != SAFETENSORS_OK || rb != SAFETENSORS_OK) {
        if (o->json) diff_json_refused(out, &a, &b, ra != SAFETENSORS_OK ? &a : &b, ra != SAFETENSORS_OK ? &ea : &eb);
        if (!o->json && ra != SAFETENSORS_OK) report_refused(out, &a, &ea, 0, 0);
        if (!o->json && rb != SAFETENSORS_OK) report_refused(out, &b, &eb, 0, 0);
    } else {
        diff_collect(&l, &a, &b, o, &pg);
        if (o->json) diff_json(out, &l, &a, &b);
        else diff_text(out, &l, &a, &b);
        same = l.n == 0;
    }
    free(l.d);
    source_close(&a);
    source_close(&b);
    return same ? 0 : 1;
}
