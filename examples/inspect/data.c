/* data.c - part of safetensors-inspect, included by examples/inspect.c.

   Reading tensor values (--stats, --values): in blocks of BLOCK elements
   from the mapped file, so memory stays the same whatever the tensor's
   size. Every float dtype but F64 is widened to float by the library's
   exact conversions; F64 and the integer dtypes are decoded here from their
   little-endian bytes, whatever the host's byte order. */

#define BLOCK 4096u
/* A progress line is shown on a terminal when more than this many bytes of
   tensor data are read. */
#define PROGRESS_FROM 1000000000u

/* F64 bits are moved into a double with memcpy. */
typedef char double_is_64_bits[sizeof(double) == 8 ? 1 : -1];

typedef enum value_kind {
    KIND_NONE,     /* no values shown: C64 */
    KIND_FLOAT,    /* widened to float by the library */
    KIND_DOUBLE,   /* F64, decoded exactly */
    KIND_SIGNED,   /* I8..I64 */
    KIND_UNSIGNED  /* BOOL, U8..U64 */
} value_kind;

static value_kind kind_of(safetensors_dtype d)
{
    switch (d) {
    case SAFETENSORS_F64: return KIND_DOUBLE;
    case SAFETENSORS_I8: case SAFETENSORS_I16: case SAFETENSORS_I32: case SAFETENSORS_I64: return KIND_SIGNED;
    case SAFETENSORS_BOOL: case SAFETENSORS_U8: case SAFETENSORS_U16: case SAFETENSORS_U32: case SAFETENSORS_U64:
        return KIND_UNSIGNED;
    default: return safetensors_convert_supported(d) ? KIND_FLOAT : KIND_NONE;
    }
}

/* How far a long read of tensor data has come. */
typedef struct progress {
    uint64_t done, total;
    int on, shown; /* showing progress; the percentage on screen */
} progress;

/* One block of decoded values. */
typedef struct data_reader {
    float f[BLOCK];     /* the library's widening */
    double d[BLOCK];    /* every value as a double (integers above 2^53 rounded) */
    uint64_t u[BLOCK];  /* integers exactly, two's complement when signed */
    progress pg;
} data_reader;

static int stderr_is_terminal(void)
{
#ifdef _WIN32
    return _isatty(2);
#else
    return isatty(2);
#endif
}

/* A read of `total` bytes of tensor data reports progress on a terminal. */
static void progress_start(progress *pg, uint64_t total)
{
    pg->done = 0;
    pg->total = total;
    pg->shown = -1;
    pg->on = total > PROGRESS_FROM && stderr_is_terminal();
}

static void progress_add(progress *pg, uint64_t bytes)
{
    strbuf line = {0, 0, 0};
    int pct;
    pg->done += bytes;
    if (!pg->on) return;
    pct = (int)(100.0 * (double)pg->done / (double)pg->total);
    if (pct == pg->shown) return;
    pg->shown = pct;
    sb_puts(&line, "\rreading tensor data: ");
    sb_u64(&line, (uint64_t)pct);
    sb_puts(&line, "% of ");
    sb_bytes_human(&line, pg->total);
    sb_flush(&line, stderr);
    free(line.p);
}

/* Clears the progress line, if one was shown. */
static void progress_end(progress *pg)
{
    if (pg->on && pg->shown >= 0) fputs("\r                                        \r", stderr);
    pg->on = 0;
}

static uint64_t load_le(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    while (size--) v = (v << 8) | p[size];
    return v;
}

/* The signed value of two's complement bits, without relying on the
   implementation-defined conversion of large unsigned values. */
static double signed_value(uint64_t v)
{
    return v >> 63 ? -(double)(~v) - 1.0 : (double)v;
}

/* Decodes elements [first, first + count) of t (count <= BLOCK) into r.
   Returns 0 when the data cannot be read (a view without data). */
static int decode_block(data_reader *r, const safetensors_tensor *t, value_kind kind, uint64_t first, size_t count)
{
    size_t k, size = safetensors_dtype_bits(t->dtype) / 8u;
    const unsigned char *p;
    if (kind == KIND_FLOAT) {
        if (safetensors_tensor_range_to_f32(t, first, count, r->f, BLOCK) != SAFETENSORS_OK) return 0;
        for (k = 0; k < count; k++) r->d[k] = r->f[k];
        return 1;
    }
    if (t->data == NULL || kind == KIND_NONE) return 0;
    p = (const unsigned char *)t->data + (size_t)(first * size);
    for (k = 0; k < count; k++, p += size) {
        uint64_t v = load_le(p, size);
        if (kind == KIND_SIGNED && size < 8 && (v >> (size * 8 - 1)) != 0) v |= ~(uint64_t)0 << (size * 8);
        r->u[k] = v;
        if (kind == KIND_DOUBLE) memcpy(&r->d[k], &v, sizeof v);
        else r->d[k] = kind == KIND_SIGNED ? signed_value(v) : (double)v;
    }
    return 1;
}

/* ---------------------------------------------------------------------
   --stats
   --------------------------------------------------------------------- */

typedef struct tensor_stats {
    int ok;                    /* 0: not computed (C64, or no data) */
    value_kind kind;
    uint64_t finite, nan, inf, zero;
    double mean, m2;           /* over the finite values; m2 = sum of squared deviations */
    double min, max;           /* floats: over the finite values */
    uint64_t lo, hi;           /* integers: exact, two's complement when signed */
} tensor_stats;

/* Integers compare as unsigned once a signed value's sign bit is flipped. */
static uint64_t order_key(uint64_t v, value_kind kind)
{
    return kind == KIND_SIGNED ? v ^ ((uint64_t)1 << 63) : v;
}

/* Adds one decoded block: its mean and squared deviations are taken in two
   passes over the block, then merged with the totals so far (Chan, Golub
   and LeVeque), which keeps the variance accurate over billions of values. */
static void stats_add_block(tensor_stats *st, const data_reader *r, size_t count)
{
    size_t k;
    uint64_t c = 0;
    double sum = 0, mean, m2 = 0, delta, n;
    for (k = 0; k < count; k++) {
        double x = r->d[k];
        if (is_nan(x)) {
            st->nan++;
            continue;
        }
        if (!is_finite(x)) {
            st->inf++;
            continue;
        }
        if (x == 0) st->zero++;
        if (st->finite == 0 && c == 0) {
            st->min = st->max = x;
            st->lo = st->hi = r->u[k];
        } else {
            if (x < st->min) st->min = x;
            if (x > st->max) st->max = x;
            if (st->kind == KIND_SIGNED || st->kind == KIND_UNSIGNED) {
                if (order_key(r->u[k], st->kind) < order_key(st->lo, st->kind)) st->lo = r->u[k];
                if (order_key(r->u[k], st->kind) > order_key(st->hi, st->kind)) st->hi = r->u[k];
            }
        }
        sum += x;
        c++;
    }
    if (c == 0) return;
    mean = sum / (double)c;
    for (k = 0; k < count; k++)
        if (is_finite(r->d[k])) m2 += (r->d[k] - mean) * (r->d[k] - mean);
    n = (double)(st->finite + c);
    delta = mean - st->mean;
    st->mean += delta * (double)c / n;
    st->m2 += m2 + delta * delta * (double)st->finite * (double)c / n;
    st->finite += c;
}

static void stats_compute(data_reader *r, const safetensors_tensor *t, tensor_stats *st)
{
    uint64_t n = safetensors_tensor_element_count(t), first;
    unsigned bits = safetensors_dtype_bits(t->dtype);
    memset(st, 0, sizeof *st);
    st->kind = kind_of(t->dtype);
    st->ok = st->kind != KIND_NONE;
    for (first = 0; st->ok && first < n; first += BLOCK) {
        size_t count = n - first < BLOCK ? (size_t)(n - first) : BLOCK;
        st->ok = decode_block(r, t, st->kind, first, count);
        if (st->ok) stats_add_block(st, r, count);
        progress_add(&r->pg, (uint64_t)count * bits / 8u);
    }
    if (st->kind == KIND_NONE) progress_add(&r->pg, safetensors_tensor_byte_size(t));
}

/* Square root by Newton's method (libc only, see is_nan): x is scaled by
   powers of 4 into [1, 4), where six steps from 1.5 reach full double
   precision, and the root is scaled back by the powers of 2. */
static double square_root(double x)
{
    double scale = 1, r = 1.5;
    int k;
    if (!(x > 0) || !is_finite(x)) return x;
    while (x >= 4) {
        x /= 4;
        scale *= 2;
    }
    while (x < 1) {
        x *= 4;
        scale /= 2;
    }
    for (k = 0; k < 6; k++) r = 0.5 * (r + x / r);
    return r * scale;
}

/* Population standard deviation (numpy's default, ddof=0). */
static double stats_std(const tensor_stats *st) { return square_root(st->m2 / (double)st->finite); }

/* A minimum or maximum: exact for integers, shortest round trip for floats
   in JSON, six digits in a table. */
static void sb_extreme(strbuf *b, const tensor_stats *st, double x, uint64_t bits, int exact)
{
    if (st->kind == KIND_SIGNED) sb_i64_bits(b, bits);
    else if (st->kind == KIND_UNSIGNED) sb_u64(b, bits);
    else if (exact) sb_shortest(b, x, st->kind == KIND_FLOAT);
    else sb_double(b, x, 6);
}

/* The cells MIN, MAX, MEAN, STD, NAN, INF, ZERO of a table row; "-" where
   there is nothing to show. */
static void stats_cells(strbuf *cells, const tensor_stats *st)
{
    size_t k;
    if (!st->ok) {
        for (k = 0; k < 7; k++) sb_putc(&cells[k], '-');
        return;
    }
    if (st->finite == 0) {
        for (k = 0; k < 4; k++) sb_putc(&cells[k], '-');
    } else {
        sb_extreme(&cells[0], st, st->min, st->lo, 0);
        sb_extreme(&cells[1], st, st->max, st->hi, 0);
        sb_double(&cells[2], st->mean, 6);
        sb_double(&cells[3], stats_std(st), 6);
    }
    sb_u64_grouped(&cells[4], st->nan);
    sb_u64_grouped(&cells[5], st->inf);
    sb_u64_grouped(&cells[6], st->zero);
}

/* A JSON number, or null for a value JSON cannot hold. */
static void json_double(strbuf *b, double x)
{
    if (is_finite(x)) sb_double(b, x, 17);
    else sb_puts(b, "null");
}

/* ,"stats":{...}, or ,"stats":null when none are computed (C64). */
static void stats_json(strbuf *b, const tensor_stats *st)
{
    sb_puts(b, ",\"stats\":");
    if (!st->ok) {
        sb_puts(b, "null");
        return;
    }
    if (st->finite == 0) {
        sb_puts(b, "{\"min\":null,\"max\":null,\"mean\":null,\"std\":null");
    } else {
        sb_puts(b, "{\"min\":");
        sb_extreme(b, st, st->min, st->lo, 1);
        sb_puts(b, ",\"max\":");
        sb_extreme(b, st, st->max, st->hi, 1);
        sb_puts(b, ",\"mean\":");
        json_double(b, st->mean);
        sb_puts(b, ",\"std\":");
        json_double(b, stats_std(st));
    }
    sb_puts(b, ",\"nan\":");
    sb_u64(b, st->nan);
    sb_puts(b, ",\"inf\":");
    sb_u64(b, st->inf);
    sb_puts(b, ",\"zero\":");
    sb_u64(b, st->zero);
    sb_putc(b, '}');
}

/* ---------------------------------------------------------------------
   --values N
   --------------------------------------------------------------------- */

/* One value: integers exact, floats in the fewest digits that read back
   the same; in JSON, NaN and the infinities (which JSON numbers cannot be)
   as the strings "NaN", "Infinity" and "-Infinity". */
static void sb_value(strbuf *b, const data_reader *r, size_t k, value_kind kind, int json)
{
    double x = r->d[k];
    if (kind == KIND_SIGNED) sb_i64_bits(b, r->u[k]);
    else if (kind == KIND_UNSIGNED) sb_u64(b, r->u[k]);
    else if (json && !is_finite(x)) sb_puts(b, is_nan(x) ? "\"NaN\"" : x > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else sb_shortest(b, x, kind == KIND_FLOAT);
}

/* The first n values of t: "[1, 2, ...]" in a table (the dots when there
   are more), [1,2] in JSON, and "-" or null for a dtype not shown. */
static void values_write(strbuf *b, data_reader *r, const safetensors_tensor *t, uint64_t n, int json)
{
    value_kind kind = kind_of(t->dtype);
    uint64_t total = safetensors_tensor_element_count(t), want = n < total ? n : total, first;
    if (kind == KIND_NONE) {
        sb_puts(b, json ? "null" : "-");
        return;
    }
    sb_putc(b, '[');
    for (first = 0; first < want; first += BLOCK) {
        size_t count = want - first < BLOCK ? (size_t)(want - first) : BLOCK, k;
        if (!decode_block(r, t, kind, first, count)) break;
        for (k = 0; k < count; k++) {
            if (first + k) sb_puts(b, json ? "," : ", ");
            sb_value(b, r, k, kind, json);
            if (b->len >= FLUSH_AT) sb_flush(b, stdout);
        }
    }
    if (!json && want < total) sb_puts(b, ", ...");
    sb_putc(b, ']');
}
