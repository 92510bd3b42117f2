/* tree.c - part of safetensors-inspect, included by examples/inspect.c.

   --tree: numbered layers folded into one line. Every name component made
   only of digits (between '.' or '/') becomes '#', and the tensors that
   then share a name make one line with their count:

       model.layers.#.self_attn.q_proj.weight  BF16  [4096, 4096]  × 32

   When they differ in dtype or shape, each variant gets its own line, with
   the numbers that '#' stands for in it. A tensor with no numbered
   component, or alone under its pattern, is listed as itself. */

/* The "#" column lists at most this many numbers or ranges. */
#define TREE_INDEX_ITEMS 16

typedef struct member {
    const safetensors_tensor *t;
    size_t row;            /* its place in the shown order */
    size_t pat, pat_len;   /* the name with '#' for numbers, in the text buffer */
    size_t idx, idx_len;   /* the numbers, joined by '.'; none: idx_len 0 */
} member;

typedef struct tree_line {
    size_t group_row; /* the first row of its pattern: lines go in this order */
    size_t row;       /* its own first row, within the pattern */
    size_t begin, end; /* its members */
    int folded;       /* a pattern line; else one tensor under its own name */
    int listed;       /* its pattern has variants: the "#" column lists its numbers */
} tree_line;

typedef struct tree {
    member *m;
    tree_line *lines;
    size_t nlines;
    strbuf text;
    strbuf scratch;
} tree;

/* The comparators below see the text buffer through this: qsort passes no
   context. Set while a tree is built, on one thread. */
static const char *g_tree_text;

static int is_number(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!is_digit(s[i])) return 0;
    return n > 0;
}

/* Appends to `text` m's pattern, then the numbers it replaced. */
static void member_make(member *m, strbuf *text)
{
    const char *name = m->t->name;
    size_t n = m->t->name_len, i = 0, j;
    m->pat = text->len;
    while (i <= n) {
        for (j = i; j < n && name[j] != '.' && name[j] != '/'; j++) continue;
        if (is_number(name + i, j - i)) sb_putc(text, '#');
        else sb_put(text, name + i, j - i);
        if (j < n) sb_putc(text, name[j]);
        i = j + 1;
    }
    m->pat_len = text->len - m->pat;
    m->idx = text->len;
    for (i = 0; i <= n; i = j + 1) {
        for (j = i; j < n && name[j] != '.' && name[j] != '/'; j++) continue;
        if (!is_number(name + i, j - i)) continue;
        if (text->len > m->idx) sb_putc(text, '.');
        sb_put(text, name + i, j - i);
    }
    m->idx_len = text->len - m->idx;
}

/* Numbered members first, by pattern, then by row. */
static int by_pattern(const void *x, const void *y)
{
    const member *a = (const member *)x, *b = (const member *)y;
    int c;
    if ((a->idx_len == 0) != (b->idx_len == 0)) return a->idx_len == 0 ? 1 : -1;
    c = bytes_compare(g_tree_text + a->pat, a->pat_len, g_tree_text + b->pat, b->pat_len);
    return c ? c : (a->row < b->row ? -1 : a->row > b->row);
}

static int same_variant(const safetensors_tensor *a, const safetensors_tensor *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim && memcmp(a->shape, b->shape, a->ndim * sizeof *a->shape) == 0;
}

/* By dtype, then shape, then row. */
static int by_variant(const void *x, const void *y)
{
    const member *a = (const member *)x, *b = (const member *)y;
    size_t d;
    if (a->t->dtype != b->t->dtype) return a->t->dtype < b->t->dtype ? -1 : 1;
    if (a->t->ndim != b->t->ndim) return a->t->ndim < b->t->ndim ? -1 : 1;
    for (d = 0; d < a->t->ndim; d++)
        if (a->t->shape[d] != b->t->shape[d]) return a->t->shape[d] < b->t->shape[d] ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

static int by_index(const void *x, const void *y)
{
    const member *a = (const member *)x, *b = (const member *)y;
    return natural_compare(g_tree_text + a->idx, a->idx_len, g_tree_text + b->idx, b->idx_len);
}

static int by_line_order(const void *x, const void *y)
{
    const tree_line *a = (const tree_line *)x, *b = (const tree_line *)y;
    if (a->group_row != b->group_row) return a->group_row < b->group_row ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

static void line_add(tree *tr, size_t group_row, size_t begin, size_t end, int folded, int listed)
{
    tree_line *l = &tr->lines[tr->nlines++];
    l->group_row = group_row;
    l->row = tr->m[begin].row;
    l->begin = begin;
    l->end = end;
    l->folded = folded;
    l->listed = listed;
}

/* One pattern's members m[begin, end), sorted by row: a line for each
   variant, its members then put in number order for the "#" column. */
static void group_lines(tree *tr, size_t begin, size_t end)
{
    size_t group_row = tr->m[begin].row, k, v;
    int listed;
    if (end - begin == 1) {
        line_add(tr, group_row, begin, end, 0, 0);
        return;
    }
    qsort(tr->m + begin, end - begin, sizeof *tr->m, by_variant);
    listed = !same_variant(tr->m[begin].t, tr->m[end - 1].t);
    for (k = begin; k < end; k = v) {
        for (v = k + 1; v < end && same_variant(tr->m[k].t, tr->m[v].t); v++) continue;
        line_add(tr, group_row, k, v, 1, listed);
        qsort(tr->m + k, v - k, sizeof *tr->m, by_index);
    }
}

static void tree_build(tree *tr, const tensor_list *shown)
{
    size_t i, k;
    memset(tr, 0, sizeof *tr);
    tr->m = (member *)xcalloc(shown->n, sizeof *tr->m);
    tr->lines = (tree_line *)xcalloc(shown->n, sizeof *tr->lines);
    for (i = 0; i < shown->n; i++) {
        tr->m[i].t = shown->e[i].t;
        tr->m[i].row = i;
        member_make(&tr->m[i], &tr->text);
    }
    g_tree_text = sb_text(&tr->text);
    qsort(tr->m, shown->n, sizeof *tr->m, by_pattern);
    for (i = 0; i < shown->n; i = k) {
        k = i + 1;
        if (tr->m[i].idx_len == 0) {
            line_add(tr, tr->m[i].row, i, k, 0, 0);
            continue;
        }
        while (k < shown->n && tr->m[k].idx_len != 0 &&
               bytes_compare(g_tree_text + tr->m[i].pat, tr->m[i].pat_len, g_tree_text + tr->m[k].pat,
                             tr->m[k].pat_len) == 0)
            k++;
        group_lines(tr, i, k);
    }
    qsort(tr->lines, tr->nlines, sizeof *tr->lines, by_line_order);
}

static void tree_free(tree *tr)
{
    free(tr->m);
    free(tr->lines);
    free(tr->text.p);
    free(tr->scratch.p);
}

/* The number as a value, when it is one of at most 18 digits. */
static int small_number(const char *s, size_t n, uint64_t *v)
{
    size_t i;
    if (n == 0 || n > 18 || !is_number(s, n)) return 0;
    for (*v = 0, i = 0; i < n; i++) *v = *v * 10u + (uint64_t)(s[i] - '0');
    return 1;
}

/* "0-3, 7, 9": the numbers of members m[0, count), runs of consecutive
   values as ranges, at most TREE_INDEX_ITEMS items. */
static void index_list(strbuf *cell, const member *m, size_t count)
{
    size_t k = 0, j, items = 0;
    uint64_t a, b;
    while (k < count) {
        const char *s = g_tree_text + m[k].idx;
        if (items == TREE_INDEX_ITEMS) {
            sb_puts(cell, ", ... (");
            sb_u64(cell, (uint64_t)(count - k));
            sb_puts(cell, " more)");
            return;
        }
        j = k;
        if (small_number(s, m[k].idx_len, &a))
            while (j + 1 < count && small_number(g_tree_text + m[j + 1].idx, m[j + 1].idx_len, &b) &&
                   b == a + (j + 1 - k))
                j++;
        if (items++) sb_puts(cell, ", ");
        sb_put(cell, s, m[k].idx_len);
        if (j > k) {
            sb_putc(cell, '-');
            sb_put(cell, g_tree_text + m[j].idx, m[j].idx_len);
        }
        k = j + 1;
    }
}

static void tree_fill(void *ctx, size_t row, strbuf *cells)
{
    tree *tr = (tree *)ctx;
    const tree_line *l = &tr->lines[row];
    const member *m = &tr->m[l->begin];
    uint64_t bytes = 0;
    size_t k;
    if (l->folded) {
        sb_clear(&tr->scratch);
        text_escaped(&tr->scratch, g_tree_text + m->pat, m->pat_len);
        fit_middle(&cells[0], sb_text(&tr->scratch), tr->scratch.len, NAME_COLUMN_MAX);
        sb_puts(&cells[3], "\xC3\x97 "); /* U+00D7 MULTIPLICATION SIGN */
        sb_u64_grouped(&cells[3], (uint64_t)(l->end - l->begin));
        if (l->listed) index_list(&cells[5], m, l->end - l->begin);
    } else {
        cell_name(&cells[0], &tr->scratch, m->t->name, m->t->name_len);
    }
    sb_puts(&cells[1], dtype_name(m->t->dtype));
    cell_shape(&cells[2], &tr->scratch, m->t);
    for (k = l->begin; k < l->end; k++) bytes = add_saturating(bytes, safetensors_tensor_byte_size(tr->m[k].t));
    sb_bytes_human(&cells[4], bytes);
}

static void tree_print(strbuf *out, const tensor_list *shown)
{
    static const column cols[] = {{"NAME", 'l', 0}, {"DTYPE", 'l', 0}, {"SHAPE", 'l', 0},
                                  {"COUNT", 'r', 0}, {"SIZE", 'r', 0},  {"#", 'l', 0}};
    tree tr;
    tree_build(&tr, shown);
    grid_print(out, cols, sizeof cols / sizeof cols[0], tr.nlines, tree_fill, &tr);
    tree_free(&tr);
}
