/* text.c - part of safetensors-inspect, included by examples/inspect.c.

   The output buffer, numbers written the same way on every platform, UTF-8,
   the two escapings (JSON strings, and text safe for a terminal) and the
   column tables every view prints. */

/* Names and shapes wider than this (in code points) are shortened in the
   middle with "..." so the table keeps its shape. */
#define NAME_COLUMN_MAX 64
#define SHAPE_COLUMN_MAX 32
/* The output buffer is written out when it grows past this. */
#define FLUSH_AT 65536u

/* ---------------------------------------------------------------------
   Output buffer
   --------------------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static int g_write_failed;

static void die_nomem(void)
{
    fputs("safetensors-inspect: out of memory\n", stderr);
    exit(1);
}

/* calloc that never returns NULL, and never asks for 0 bytes (which may
   legally give NULL). */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die_nomem();
    return p;
}

static void sb_reserve(strbuf *b, size_t extra)
{
    size_t want, cap;
    char *np;
    if (extra > (size_t)-1 - b->len - 1) die_nomem();
    want = b->len + extra + 1;
    if (want <= b->cap) return;
    cap = b->cap ? b->cap : 256;
    while (cap < want) {
        if (cap > (size_t)-1 / 2) {
            cap = want;
            break;
        }
        cap *= 2;
    }
    np = (char *)realloc(b->p, cap);
    if (!np) die_nomem();
    b->p = np;
    b->cap = cap;
}

static void sb_put(strbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_putc(strbuf *b, char c) { sb_put(b, &c, 1); }
static void sb_puts(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* The text so far; "" before anything was written. */
static const char *sb_text(const strbuf *b) { return b->p ? b->p : ""; }

static void sb_clear(strbuf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

static void sb_spaces(strbuf *b, size_t n)
{
    while (n--) sb_putc(b, ' ');
}

/* Writes the buffer to `to` and empties it. */
static void sb_flush(strbuf *b, FILE *to)
{
    if (b->len && fwrite(b->p, 1, b->len, to) != b->len) g_write_failed = 1;
    sb_clear(b);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---------------------------------------------------------------------
   Numbers
   --------------------------------------------------------------------- */

/* Decimal digits of v, without printf or locale: the same bytes everywhere. */
static void sb_u64(strbuf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    sb_put(b, tmp + i, sizeof tmp - i);
}

/* v as a signed 64-bit integer, stored in two's complement. */
static void sb_i64_bits(strbuf *b, uint64_t v)
{
    if (v >> 63) {
        sb_putc(b, '-');
        v = ~v + 1u;
    }
    sb_u64(b, v);
}

/* 1234567 -> "1,234,567" */
static void sb_u64_grouped(strbuf *b, uint64_t v)
{
    char tmp[32];
    size_t i = sizeof tmp, n = 0;
    do {
        if (n && n % 3 == 0) tmp[--i] = ',';
        tmp[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
        n++;
    } while (v);
    sb_put(b, tmp + i, sizeof tmp - i);
}

static void sb_hex2(strbuf *b, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    sb_putc(b, hex[(c >> 4) & 15]);
    sb_putc(b, hex[c & 15]);
}

/* v scaled down by `step` until it is below it, with one decimal and the
   unit: (1572864, 1024, binary units) -> "1.5 MiB". Exact below one step. */
static void sb_scaled(strbuf *b, uint64_t v, double step, const char *const *units, size_t nunits)
{
    char tmp[64];
    double x = (double)v;
    size_t u = 0;
    if (x < step) {
        sb_u64(b, v);
        if (units[0][0]) {
            sb_putc(b, ' ');
            sb_puts(b, units[0]);
        }
        return;
    }
    while (u + 1 < nunits && x >= step - 0.05) {
        x /= step;
        u++;
    }
    snprintf(tmp, sizeof tmp, "%.1f %s", x, units[u]);
    sb_puts(b, tmp);
}

static void sb_bytes_human(strbuf *b, uint64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    sb_scaled(b, v, 1024.0, units, sizeof units / sizeof units[0]);
}

static void sb_count_human(strbuf *b, uint64_t v)
{
    static const char *const units[] = {"", "K", "M", "B", "T", "Q", "Qi"};
    sb_scaled(b, v, 1000.0, units, sizeof units / sizeof units[0]);
}

/* " (1.5 MiB)" after a byte count of at least 1 KiB; nothing below. */
static void sb_bytes_human_note(strbuf *b, uint64_t v)
{
    if (v < 1024) return;
    sb_puts(b, " (");
    sb_bytes_human(b, v);
    sb_putc(b, ')');
}

/* "12.5%" of part in whole, locale-free. */
static void sb_percent(strbuf *b, uint64_t part, uint64_t whole)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
    sb_puts(b, tmp);
}

/* Without <math.h>: the inspector links with libc alone (its one-line build,
   and the cross builds in tests/platforms.mk, pass no -lm). NaN is the one
   value unequal to itself, and an infinity minus itself is NaN. */
static int is_nan(double x) { return x != x; }
static int is_finite(double x) { return x - x == 0; }

/* x with `digits` significant digits, and NaN and the infinities spelled
   the same whatever the C library would print. */
static void sb_double(strbuf *b, double x, int digits)
{
    char tmp[48];
    if (!is_finite(x)) {
        sb_puts(b, is_nan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    snprintf(tmp, sizeof tmp, "%.*g", digits, x);
    sb_puts(b, tmp);
}

/* The fewest significant digits that read back as the same value: as a
   float (a value widened from any float dtype) or as a double (F64). */
static void sb_shortest(strbuf *b, double x, int as_float)
{
    char tmp[48];
    int digits, most = as_float ? 9 : 17;
    if (!is_finite(x)) {
        sb_double(b, x, most);
        return;
    }
    for (digits = 1;; digits++) {
        snprintf(tmp, sizeof tmp, "%.*g", digits, x);
        if (digits >= most) break;
        if (as_float ? strtof(tmp, NULL) == (float)x : strtod(tmp, NULL) == x) break;
    }
    sb_puts(b, tmp);
}

/* ---------------------------------------------------------------------
   UTF-8
   --------------------------------------------------------------------- */

/* Code points of a well-formed UTF-8 string: its width on a terminal, near
   enough for column alignment (wide CJK and combining marks aside). */
static size_t utf8_width(const char *s, size_t n)
{
    size_t i, w = 0;
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    return w;
}

/* Byte offset of code point number `cp` in a well-formed string. */
static size_t utf8_offset(const char *s, size_t n, size_t cp)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && cp-- == 0) return i;
    return n;
}

/* ---------------------------------------------------------------------
   Escaping
   --------------------------------------------------------------------- */

/* A JSON string: `"` and `\` escaped, bytes below 0x20 (NUL included) as
   \u00xx in lowercase hex, DEL and well-formed UTF-8 raw, and each
   ill-formed subpart replaced by U+FFFD so that the line stays valid JSON. */
static void json_string(strbuf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len, skip = 1;
    sb_putc(b, '"');
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                sb_putc(b, '\\');
                sb_putc(b, (char)c);
            } else if (c < 0x20) {
                sb_puts(b, "\\u00");
                sb_hex2(b, c);
            } else {
                sb_putc(b, (char)c);
            }
            i++;
        } else if ((len = utf8_sequence(s + i, n - i, &skip)) != 0) {
            sb_put(b, str + i, len);
            i += len;
        } else {
            sb_puts(b, "\xEF\xBF\xBD");
            i += skip;
        }
    }
    sb_putc(b, '"');
}

static void json_cstring(strbuf *b, const char *s) { json_string(b, s, strlen(s)); }

/* Text safe to put on a terminal, and unambiguous: well-formed UTF-8 stays,
   a backslash is doubled, control characters (C0, DEL, C1) and the
   bidirectional overrides that can make text read differently from its
   bytes are escaped (\n, \t, \r, \xNN, \uNNNN), and bytes that are not
   UTF-8 are shown as \xNN. The result is well-formed UTF-8. */
static void text_escaped(strbuf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len, skip = 1;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7F) {
            if (c == '\\') sb_putc(b, '\\');
            sb_putc(b, (char)c);
            i++;
        } else if (c < 0x80) {
            if (c == '\n') sb_puts(b, "\\n");
            else if (c == '\t') sb_puts(b, "\\t");
            else if (c == '\r') sb_puts(b, "\\r");
            else {
                sb_puts(b, "\\x");
                sb_hex2(b, c);
            }
            i++;
        } else if ((len = utf8_sequence(s + i, n - i, &skip)) != 0) {
            uint32_t cp = utf8_decode(s + i, len);
            if (cp < 0xA0 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
                char tmp[16];
                snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp);
                sb_puts(b, tmp);
            } else {
                sb_put(b, str + i, len);
            }
            i += len;
        } else {
            size_t k;
            for (k = 0; k < skip; k++) {
                sb_puts(b, "\\x");
                sb_hex2(b, s[i + k]);
            }
            i += skip;
        }
    }
}

static void text_cescaped(strbuf *b, const char *s) { text_escaped(b, s, strlen(s)); }

/* Appends s (well-formed UTF-8) shortened to at most `maxw` code points by
   cutting out its middle: "model.layers.0.self_a...q_proj.weight". Both ends
   of a tensor name say the most. */
static void fit_middle(strbuf *b, const char *s, size_t n, size_t maxw)
{
    size_t w = utf8_width(s, n), head, tail, cut;
    if (w <= maxw || maxw < 8) {
        sb_put(b, s, n);
        return;
    }
    tail = (maxw - 3) / 2;
    head = maxw - 3 - tail;
    sb_put(b, s, utf8_offset(s, n, head));
    sb_puts(b, "...");
    cut = utf8_offset(s, n, w - tail);
    sb_put(b, s + cut, n - cut);
}

/* A tensor name as a table cell: escaped, then shortened in the middle. */
static void cell_name(strbuf *cell, strbuf *scratch, const char *name, size_t n)
{
    sb_clear(scratch);
    text_escaped(scratch, name, n);
    fit_middle(cell, sb_text(scratch), scratch->len, NAME_COLUMN_MAX);
}

/* "[64, 192]", or "[]" for a scalar. */
static void sb_shape(strbuf *b, const safetensors_tensor *t)
{
    size_t d;
    sb_putc(b, '[');
    for (d = 0; d < t->ndim; d++) {
        if (d) sb_puts(b, ", ");
        sb_u64(b, t->shape[d]);
    }
    sb_putc(b, ']');
}

static void cell_shape(strbuf *cell, strbuf *scratch, const safetensors_tensor *t)
{
    sb_clear(scratch);
    sb_shape(scratch, t);
    fit_middle(cell, sb_text(scratch), scratch->len, SHAPE_COLUMN_MAX);
}

/* ---------------------------------------------------------------------
   Tables
   --------------------------------------------------------------------- */

typedef struct column {
    const char *head;
    char align; /* 'l' or 'r' */
    unsigned flags;
} column;

/* No gap before the column and no heading: it continues the column before
   it, as "..end" continues OFFSET's right-aligned begin. */
#define COL_JOINED 1u
/* The heading does not widen the column and may run into the next one. */
#define COL_HEAD_OVERHANGS 2u

/* Fills row `row`'s cells, which arrive empty. */
typedef void (*row_fill)(void *ctx, size_t row, strbuf *cells);

static size_t cell_width(const strbuf *s) { return utf8_width(sb_text(s), s->len); }

/* s (well-formed UTF-8) padded with spaces to `w` code points, on the
   right ('l') or on the left ('r'). */
static void sb_aligned(strbuf *out, const char *s, size_t n, size_t w, char align)
{
    size_t cw = utf8_width(s, n), pad = w > cw ? w - cw : 0;
    if (align == 'r') sb_spaces(out, pad);
    sb_put(out, s, n);
    if (align != 'r') sb_spaces(out, pad);
}

/* One line of a table, two spaces in, without trailing blanks. */
static void grid_line(strbuf *out, const column *cols, const size_t *w, size_t ncols, const strbuf *cells)
{
    size_t c, start = out->len;
    sb_puts(out, "  ");
    for (c = 0; c < ncols; c++) {
        if (c && !(cols[c].flags & COL_JOINED)) sb_puts(out, "  ");
        sb_aligned(out, sb_text(&cells[c]), cells[c].len, w[c], cols[c].align);
    }
    while (out->len > start && out->p[out->len - 1] == ' ') out->len--;
    sb_putc(out, '\n');
    if (out->len >= FLUSH_AT) sb_flush(out, stdout);
}

/* A table of `nrows` rows under a heading line. The rows are made twice,
   once to measure the columns and once to print them, so that memory does
   not grow with the number of tensors. */
static void grid_print(strbuf *out, const column *cols, size_t ncols, size_t nrows, row_fill fill, void *ctx)
{
    strbuf *cells = (strbuf *)xcalloc(ncols, sizeof *cells);
    size_t *w = (size_t *)xcalloc(ncols, sizeof *w);
    size_t c, r, pass;
    for (c = 0; c < ncols; c++)
        if (!(cols[c].flags & COL_HEAD_OVERHANGS)) w[c] = utf8_width(cols[c].head, strlen(cols[c].head));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (c = 0; c < ncols; c++) {
                sb_clear(&cells[c]);
                sb_puts(&cells[c], cols[c].head);
            }
            grid_line(out, cols, w, ncols, cells);
        }
        for (r = 0; r < nrows; r++) {
            for (c = 0; c < ncols; c++) sb_clear(&cells[c]);
            fill(ctx, r, cells);
            if (pass == 1) grid_line(out, cols, w, ncols, cells);
            else
                for (c = 0; c < ncols; c++) w[c] = max_size(w[c], cell_width(&cells[c]));
        }
    }
    for (c = 0; c < ncols; c++) free(cells[c].p);
    free(cells);
    free(w);
}
