/* select.c - part of safetensors-inspect, included by examples/inspect.c.

   The options, and from them which tensors a view shows (--filter GLOB)
   and in which order (--sort). */

typedef enum sort_key {
    SORT_FILE,    /* the library's order: a file's by offset, a model's by shard then name */
    SORT_OFFSET,  /* by shard, then offset (a file: the same as SORT_FILE) */
    SORT_NAME,    /* by name bytes */
    SORT_NATURAL, /* by name, digit runs by value: layers.2 before layers.10 */
    SORT_SIZE     /* largest first */
} sort_key;

typedef struct inspect_options {
    int json, tree, stats, check, diff;
    uint64_t values; /* --values N; 0 when not asked */
    sort_key sort;
    const char **globs; /* --filter: a tensor is shown when it matches any */
    size_t nglobs;
} inspect_options;

static int selected(const inspect_options *o, const safetensors_tensor *t)
{
    size_t k;
    if (o->nglobs == 0) return 1;
    for (k = 0; k < o->nglobs; k++)
        if (glob_match(o->globs[k], t->name, t->name_len)) return 1;
    return 0;
}

/* ---------------------------------------------------------------------
   Orders
   --------------------------------------------------------------------- */

static int bytes_compare(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c) return c < 0 ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Names compared with each run of ASCII digits taken as a number: a
   shorter run (leading zeros aside) is smaller, equal lengths compare
   digit by digit. Runs of equal value ("01", "1") compare equal here. */
static int natural_compare(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            size_t ea, eb, la, lb;
            int c;
            while (i < na && a[i] == '0' && i + 1 < na && is_digit(a[i + 1])) i++;
            while (j < nb && b[j] == '0' && j + 1 < nb && is_digit(b[j + 1])) j++;
            for (ea = i; ea < na && is_digit(a[ea]); ea++) continue;
            for (eb = j; eb < nb && is_digit(b[eb]); eb++) continue;
            la = ea - i;
            lb = eb - j;
            if (la != lb) return la < lb ? -1 : 1;
            c = memcmp(a + i, b + j, la);
            if (c) return c < 0 ? -1 : 1;
            i = ea;
            j = eb;
        } else {
            if (a[i] != b[j]) return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
            i++;
            j++;
        }
    }
    return (na - i) < (nb - j) ? -1 : (na - i) > (nb - j);
}

static int by_pos(const entry *a, const entry *b) { return a->pos < b->pos ? -1 : a->pos > b->pos; }

static int by_offset(const void *x, const void *y)
{
    const entry *a = (const entry *)x, *b = (const entry *)y;
    if (a->shard != b->shard) return a->shard < b->shard ? -1 : 1;
    if (a->t->begin != b->t->begin) return a->t->begin < b->t->begin ? -1 : 1;
    return by_pos(a, b);
}

static int by_name(const void *x, const void *y)
{
    const entry *a = (const entry *)x, *b = (const entry *)y;
    int c = bytes_compare(a->t->name, a->t->name_len, b->t->name, b->t->name_len);
    return c ? c : by_pos(a, b);
}

static int by_natural(const void *x, const void *y)
{
    const entry *a = (const entry *)x, *b = (const entry *)y;
    int c = natural_compare(a->t->name, a->t->name_len, b->t->name, b->t->name_len);
    return c ? c : by_name(x, y);
}

static int by_size(const void *x, const void *y)
{
    const entry *a = (const entry *)x, *b = (const entry *)y;
    uint64_t sa = safetensors_tensor_byte_size(a->t), sb = safetensors_tensor_byte_size(b->t);
    if (sa != sb) return sa > sb ? -1 : 1;
    return by_pos(a, b);
}

/* The tensors of `all` that the filter keeps, in the order asked for. */
static void select_tensors(const tensor_list *all, const inspect_options *o, tensor_list *out)
{
    static int (*const order[])(const void *, const void *) = {NULL, by_offset, by_name, by_natural, by_size};
    size_t i;
    list_alloc(out, all->n);
    out->n = 0;
    for (i = 0; i < all->n; i++)
        if (selected(o, all->e[i].t)) out->e[out->n++] = all->e[i];
    if (order[o->sort] && out->n > 1) qsort(out->e, out->n, sizeof *out->e, order[o->sort]);
}
