/* safetensors-inspect - show what is inside safetensors files and sharded models.

       safetensors-inspect [--json] FILE|INDEX.json|FOLDER...

   Without --json it prints, for each file, a table of its tensors (name,
   dtype, shape, size, byte range), a summary and the metadata. A file the
   library refuses is reported on stderr as

       FILE: error CODE at byte OFFSET: message

   With --json it prints one compact JSON object per file, one per line, in
   argument order. The format is a fixed contract (see DESIGN.md):

       {"file":"a.safetensors","ok":true,"header_size":N,"data_start":8+N,
        "tensors":[{"name":"w","dtype":"F32","shape":[2,3],"data_offsets":[0,24]}],
        "metadata":{"format":"pt"}}
       {"file":"b.safetensors","ok":false,"error":{"code":"SAFETENSORS_ERR_OFFSETS",
        "message":"...","offset":123}}

   (each object on one line, without spaces). Tensors come in the library's
   iteration order, metadata in file order. The bytes are the same on every
   platform: integers are formatted here, not by printf, and on Windows
   stdout is switched to binary mode.

   Sharded models. An argument that ends in ".json" (an index such as
   model.safetensors.index.json) or that is a folder is opened with
   safetensors_model_open, which checks every shard against the index. The
   table then has a SHARD column (offsets are within that shard), a table of
   the shards (tensors, bytes, header size, where the data start), the
   summary over the whole model and the index's metadata. With --json:

       {"file":"m/","ok":true,"shards":["model-00001-of-00002.safetensors",...],
        "tensors":[{"name":"w","dtype":"BF16","shape":[2,3],"data_offsets":[0,12],
        "shard":0}],"metadata":{"total_size":12}}

   where "shard" is an index into "shards", data_offsets are relative to the
   tensor's own shard, tensors come by shard then by name bytes (the model's
   order), and each metadata value is the raw JSON text of the index, with
   the white space between its tokens removed so that it stays on one line
   (a number's digits as written). A refused model gives the same "ok":false
   line as a refused file. A folder without an index (one .safetensors file)
   is a model of one shard.

   Exit status: 0 when every file was accepted, 1 when any file was refused
   (or the output could not be written), 2 on a usage error.

   Only the header is needed, so files are opened with SAFETENSORS_HEADER_ONLY:
   nothing is mapped, and the verdict is the same as a full open's (the data
   section's length is still checked against the file's size).

   Build: cc -std=c99 -O2 -I. examples/inspect.c -o safetensors-inspect
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/types.h>
#include <sys/stat.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

/* Names and shapes wider than this (in code points) are shortened in the
   middle with "..." so the table keeps its shape. */
#define NAME_COLUMN_MAX 64
#define SHAPE_COLUMN_MAX 32
/* Metadata values longer than this are shortened in the table view. */
#define META_VALUE_MAX 160
/* The output buffer is written out when it grows past this. */
#define FLUSH_AT 65536u

static const char usage_text[] =
    "usage: safetensors-inspect [--json] FILE|INDEX.json|FOLDER...\n"
    "\n"
    "Shows the tensors (name, dtype, shape, size, byte range), a summary and\n"
    "the metadata of each safetensors FILE. An index (model.safetensors.index.json)\n"
    "or a FOLDER is shown as one sharded model: every tensor with its shard, a\n"
    "summary per shard, and the index's metadata.\n"
    "\n"
    "  --json      one compact JSON object per argument, one per line\n"
    "  -h, --help  this text\n"
    "  --version   the library version\n"
    "  --          every later argument is a FILE\n"
    "\n"
    "Exit status: 0 all files accepted, 1 a file was refused, 2 usage error.\n";

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

/* ---------------------------------------------------------------------
   UTF-8
   --------------------------------------------------------------------- */

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it
   is ill-formed; then *skip is the length of the maximal ill-formed subpart,
   which counts as one replacement (the Unicode recommendation, which
   Python's errors="replace" and WHATWG follow). Overlongs, surrogates and
   code points above U+10FFFF are ill-formed. */
static size_t utf8_sequence(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else {
        *skip = 1;
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *skip = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

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
   --json
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

static const char *result_name(safetensors_result r)
{
    const char *s = safetensors_result_name(r);
    return s ? s : "SAFETENSORS_ERR_UNKNOWN";
}

static const char *dtype_name(safetensors_dtype d)
{
    const char *s = safetensors_dtype_name(d);
    return s ? s : "?";
}

/* The message's length, never reading past its array. */
static size_t message_length(const safetensors_error *err)
{
    const char *nul = (const char *)memchr(err->message, '\0', sizeof err->message);
    return nul ? (size_t)(nul - err->message) : sizeof err->message;
}

/* ---------------------------------------------------------------------
   The tensors a view shows
   --------------------------------------------------------------------- */

/* A file's tensors in its order, or a model's (by shard, then name) with
   the shard of each; `shard` is NULL for a file. */
typedef struct model_views {
    const safetensors_tensor **t;
    size_t *shard;
    size_t n;
} model_views;

static void model_views_free(model_views *v)
{
    free((void *)v->t);
    free(v->shard);
    v->t = NULL;
    v->shard = NULL;
}

static void model_views_alloc(model_views *v, size_t n, int with_shards)
{
    v->n = n;
    v->t = (const safetensors_tensor **)malloc((n ? n : 1) * sizeof *v->t);
    v->shard = with_shards ? (size_t *)malloc((n ? n : 1) * sizeof *v->shard) : NULL;
    if (!v->t || (with_shards && !v->shard)) die_nomem();
}

/* Every tensor of f, in its order. */
static void file_collect(const safetensors_file *f, model_views *v)
{
    size_t i;
    model_views_alloc(v, safetensors_tensor_count(f), 0);
    for (i = 0; i < v->n; i++) v->t[i] = safetensors_tensor_at(f, i);
}

/* Every tensor view of m. The model is opened eagerly, so this cannot fail
   but for memory; a failure is reported like a refusal all the same. */
static safetensors_result model_collect(const safetensors_model *m, model_views *v, safetensors_error *err)
{
    size_t i;
    model_views_alloc(v, safetensors_model_tensor_count(m), 1);
    for (i = 0; i < v->n; i++) {
        safetensors_result r = safetensors_model_tensor_at(m, i, &v->t[i], &v->shard[i], err);
        if (r != SAFETENSORS_OK) {
            model_views_free(v);
            return r;
        }
    }
    return SAFETENSORS_OK;
}

/* The metadata of a file (f) or of a model's index (m), the other NULL. */
static size_t meta_count(const safetensors_file *f, const safetensors_model *m)
{
    return f ? safetensors_metadata_count(f) : safetensors_model_metadata_count(m);
}

static const safetensors_metadata_entry *meta_at(const safetensors_file *f, const safetensors_model *m, size_t i)
{
    return f ? safetensors_metadata_at(f, i) : safetensors_model_metadata_at(m, i);
}

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

/* The "ok":true line of a file (f) or a model (m), the other NULL; v holds
   its tensors. A model's tensors carry their shard and its metadata values
   are raw JSON; a file's metadata values are strings. */
static void json_accepted(strbuf *b, const char *path, const safetensors_file *f, const safetensors_model *m,
                          const model_views *v)
{
    size_t i, d, n;
    sb_puts(b, "{\"file\":");
    json_cstring(b, path);
    if (f) {
        sb_puts(b, ",\"ok\":true,\"header_size\":");
        sb_u64(b, safetensors_header_size(f));
        sb_puts(b, ",\"data_start\":");
        sb_u64(b, safetensors_data_start(f));
    } else {
        sb_puts(b, ",\"ok\":true,\"shards\":[");
        n = safetensors_model_shard_count(m);
        for (i = 0; i < n; i++) {
            if (i) sb_putc(b, ',');
            json_cstring(b, safetensors_model_shard_name(m, i, NULL));
        }
        sb_putc(b, ']');
    }
    sb_puts(b, ",\"tensors\":[");
    for (i = 0; i < v->n; i++) {
        const safetensors_tensor *t = v->t[i];
        if (i) sb_putc(b, ',');
        sb_puts(b, "{\"name\":");
        json_string(b, t->name, t->name_len);
        sb_puts(b, ",\"dtype\":");
        json_cstring(b, dtype_name(t->dtype));
        sb_puts(b, ",\"shape\":[");
        for (d = 0; d < t->ndim; d++) {
            if (d) sb_putc(b, ',');
            sb_u64(b, t->shape[d]);
        }
        sb_puts(b, "],\"data_offsets\":[");
        sb_u64(b, t->begin);
        sb_putc(b, ',');
        sb_u64(b, t->end);
        sb_putc(b, ']');
        if (v->shard) {
            sb_puts(b, ",\"shard\":");
            sb_u64(b, (uint64_t)v->shard[i]);
        }
        sb_putc(b, '}');
        if (b->len >= FLUSH_AT) sb_flush(b, stdout);
    }
    sb_puts(b, "],\"metadata\":{");
    n = meta_count(f, m);
    for (i = 0; i < n; i++) {
        const safetensors_metadata_entry *e = meta_at(f, m, i);
        if (i) sb_putc(b, ',');
        json_string(b, e->key, e->key_len);
        sb_putc(b, ':');
        if (f) json_string(b, e->value, e->value_len);
        else {
            size_t json_len;
            const char *json = safetensors_model_metadata_json(m, i, &json_len);
            json_raw_compact(b, json, json_len);
        }
        if (b->len >= FLUSH_AT) sb_flush(b, stdout);
    }
    sb_puts(b, "}}\n");
}

static void json_refused(strbuf *b, const char *path, const safetensors_error *err)
{
    sb_puts(b, "{\"file\":");
    json_cstring(b, path);
    sb_puts(b, ",\"ok\":false,\"error\":{\"code\":");
    json_cstring(b, result_name(err->code));
    sb_puts(b, ",\"message\":");
    json_string(b, err->message, message_length(err));
    sb_puts(b, ",\"offset\":");
    sb_u64(b, err->offset);
    sb_puts(b, "}}\n");
}

/* ---------------------------------------------------------------------
   The table a person reads
   --------------------------------------------------------------------- */

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
            unsigned cp = 0x10000u; /* any 4-byte sequence: printable here */
            if (len == 2) cp = ((unsigned)(c & 0x1F) << 6) | (s[i + 1] & 0x3Fu);
            else if (len == 3) cp = ((unsigned)(c & 0x0F) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
            if (cp < 0xA0 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
                char tmp[16];
                snprintf(tmp, sizeof tmp, "\\u%04x", cp);
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

/* The cells of one table row, each well-formed UTF-8. */
typedef struct row_cells {
    strbuf name, shape, size, bytes, begin, end;
} row_cells;

static void cells_fill(row_cells *c, strbuf *scratch, const safetensors_tensor *t)
{
    size_t d;
    sb_clear(scratch);
    text_escaped(scratch, t->name, t->name_len);
    sb_clear(&c->name);
    fit_middle(&c->name, scratch->p ? scratch->p : "", scratch->len, NAME_COLUMN_MAX);

    sb_clear(scratch);
    sb_putc(scratch, '[');
    for (d = 0; d < t->ndim; d++) {
        if (d) sb_puts(scratch, ", ");
        sb_u64(scratch, t->shape[d]);
    }
    sb_putc(scratch, ']');
    sb_clear(&c->shape);
    fit_middle(&c->shape, scratch->p, scratch->len, SHAPE_COLUMN_MAX);

    sb_clear(&c->size);
    sb_bytes_human(&c->size, safetensors_tensor_byte_size(t));
    sb_clear(&c->bytes);
    sb_u64(&c->bytes, safetensors_tensor_byte_size(t));
    sb_clear(&c->begin);
    sb_u64(&c->begin, t->begin);
    sb_clear(&c->end);
    sb_u64(&c->end, t->end);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static size_t cell_width(const strbuf *s) { return utf8_width(s->p ? s->p : "", s->len); }

static void cell_left(strbuf *out, const strbuf *s, size_t w)
{
    size_t cw = cell_width(s);
    sb_put(out, s->p ? s->p : "", s->len);
    sb_spaces(out, w > cw ? w - cw : 0);
}

static void cell_right(strbuf *out, const strbuf *s, size_t w)
{
    size_t cw = cell_width(s);
    sb_spaces(out, w > cw ? w - cw : 0);
    sb_put(out, s->p ? s->p : "", s->len);
}

static void text_left(strbuf *out, const char *s, size_t w)
{
    size_t cw = utf8_width(s, strlen(s));
    sb_puts(out, s);
    sb_spaces(out, w > cw ? w - cw : 0);
}

static void text_right(strbuf *out, const char *s, size_t w)
{
    size_t cw = utf8_width(s, strlen(s));
    sb_spaces(out, w > cw ? w - cw : 0);
    sb_puts(out, s);
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* "12.5%" of part in whole, locale-free. */
static void sb_percent(strbuf *b, uint64_t part, uint64_t whole)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
    sb_puts(b, tmp);
}

/* Tensor, parameter and byte counts, in all and per dtype. */
typedef struct totals {
    uint64_t dt_bytes[SAFETENSORS_DTYPE_COUNT], dt_params[SAFETENSORS_DTYPE_COUNT];
    size_t dt_count[SAFETENSORS_DTYPE_COUNT];
    uint64_t bytes, params;
} totals;

static void totals_add(totals *s, const safetensors_tensor *t)
{
    uint64_t sz, el;
    if ((unsigned)t->dtype >= SAFETENSORS_DTYPE_COUNT) return;
    sz = safetensors_tensor_byte_size(t);
    el = safetensors_tensor_element_count(t);
    s->dt_bytes[t->dtype] = add_saturating(s->dt_bytes[t->dtype], sz);
    s->dt_params[t->dtype] = add_saturating(s->dt_params[t->dtype], el);
    s->dt_count[t->dtype]++;
    s->bytes = add_saturating(s->bytes, sz);
    s->params = add_saturating(s->params, el);
}

/* The summary under a table: counts, then bytes per dtype, the largest
   share first (ties in dtype order). */
static void totals_print(strbuf *out, strbuf *scratch, size_t n, const totals *sum)
{
    size_t dt_count[SAFETENSORS_DTYPE_COUNT], d, pass;
    memcpy(dt_count, sum->dt_count, sizeof dt_count);
    sb_puts(out, "\n  tensors     ");
    sb_u64_grouped(out, (uint64_t)n);
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
        const char *dt;
        size_t best = SAFETENSORS_DTYPE_COUNT;
        for (d = 0; d < SAFETENSORS_DTYPE_COUNT; d++)
            if (dt_count[d] && (best == SAFETENSORS_DTYPE_COUNT || sum->dt_bytes[d] > sum->dt_bytes[best])) best = d;
        if (best == SAFETENSORS_DTYPE_COUNT) break;
        d = best;
        dt = dtype_name((safetensors_dtype)d);
        sb_puts(out, pass ? "              " : "  by dtype    ");
        text_left(out, dt, 11);
        sb_puts(out, "  ");
        sb_clear(scratch);
        sb_u64_grouped(scratch, sum->dt_bytes[d]);
        sb_puts(scratch, sum->dt_bytes[d] == 1 ? " byte" : " bytes");
        text_right(out, scratch->p, 20);
        sb_puts(out, "  ");
        sb_clear(scratch);
        sb_percent(scratch, sum->dt_bytes[d], sum->bytes);
        text_right(out, scratch->p, 6);
        sb_puts(out, "  ");
        sb_u64_grouped(out, (uint64_t)dt_count[d]);
        sb_puts(out, dt_count[d] == 1 ? " tensor, " : " tensors, ");
        sb_u64_grouped(out, sum->dt_params[d]);
        sb_puts(out, sum->dt_params[d] == 1 ? " parameter\n" : " parameters\n");
        dt_count[d] = 0; /* printed */
    }
}

/* One "key = value" line of the metadata block; `i` is its position. Long
   values are shortened. */
static void metadata_line(strbuf *out, strbuf *scratch, size_t i, const safetensors_metadata_entry *m,
                          const char *json, size_t json_len)
{
    if (i) sb_puts(out, "              ");
    text_escaped(out, m->key, m->key_len);
    sb_puts(out, " = ");
    sb_clear(scratch);
    if (m->value == NULL) text_escaped(scratch, json, json_len); /* an index's non-string value */
    else text_escaped(scratch, m->value, m->value_len);
    if (utf8_width(scratch->p ? scratch->p : "", scratch->len) > META_VALUE_MAX) {
        sb_put(out, scratch->p, utf8_offset(scratch->p, scratch->len, META_VALUE_MAX - 3));
        sb_puts(out, "... (");
        sb_u64_grouped(out, (uint64_t)(m->value ? m->value_len : json_len));
        sb_puts(out, " bytes)");
    } else {
        sb_put(out, scratch->p ? scratch->p : "", scratch->len);
    }
    sb_putc(out, '\n');
    if (out->len >= FLUSH_AT) sb_flush(out, stdout);
}

static void row_cells_free(row_cells *c)
{
    free(c->name.p);
    free(c->shape.p);
    free(c->size.p);
    free(c->bytes.p);
    free(c->begin.p);
    free(c->end.p);
}

/* Widest shard name shown in the tables. */
#define SHARD_COLUMN_MAX 48

/* The table of v's tensors, one row a tensor. When v has shards there is a
   SHARD column, `wshard` wide, showing shard_cells[shard] (nshards cells). */
static void tensor_table(strbuf *out, strbuf *scratch, const model_views *v, const strbuf *shard_cells,
                         size_t nshards, size_t wshard)
{
    static const char *const head[] = {"NAME", "DTYPE", "SHAPE", "SIZE", "BYTES", "SHARD", "OFFSET"};
    size_t wname = strlen(head[0]), wdtype = strlen(head[1]), wshape = strlen(head[2]);
    size_t wsize = strlen(head[3]), wbytes = strlen(head[4]), wbegin = 0;
    size_t i, pass;
    row_cells c;

    if (v->n == 0) {
        sb_puts(out, "  (no tensors)\n");
        return;
    }
    memset(&c, 0, sizeof c);
    /* Pass 0 measures the columns, pass 1 prints them. */
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            sb_puts(out, "  ");
            text_left(out, head[0], wname);
            sb_puts(out, "  ");
            text_left(out, head[1], wdtype);
            sb_puts(out, "  ");
            text_left(out, head[2], wshape);
            sb_puts(out, "  ");
            text_right(out, head[3], wsize);
            sb_puts(out, "  ");
            text_right(out, head[4], wbytes);
            sb_puts(out, "  ");
            if (v->shard) {
                text_left(out, head[5], wshard);
                sb_puts(out, "  ");
            }
            sb_puts(out, head[6]);
            sb_putc(out, '\n');
        }
        for (i = 0; i < v->n; i++) {
            const safetensors_tensor *t = v->t[i];
            const char *dt = dtype_name(t->dtype);
            cells_fill(&c, scratch, t);
            if (pass == 0) {
                wname = max_size(wname, cell_width(&c.name));
                wdtype = max_size(wdtype, strlen(dt));
                wshape = max_size(wshape, cell_width(&c.shape));
                wsize = max_size(wsize, cell_width(&c.size));
                wbytes = max_size(wbytes, cell_width(&c.bytes));
                wbegin = max_size(wbegin, cell_width(&c.begin));
                continue;
            }
            sb_puts(out, "  ");
            cell_left(out, &c.name, wname);
            sb_puts(out, "  ");
            text_left(out, dt, wdtype);
            sb_puts(out, "  ");
            cell_left(out, &c.shape, wshape);
            sb_puts(out, "  ");
            cell_right(out, &c.size, wsize);
            sb_puts(out, "  ");
            cell_right(out, &c.bytes, wbytes);
            sb_puts(out, "  ");
            if (v->shard) {
                if (v->shard[i] < nshards) cell_left(out, &shard_cells[v->shard[i]], wshard);
                else sb_spaces(out, wshard);
                sb_puts(out, "  ");
            }
            cell_right(out, &c.begin, wbegin);
            sb_puts(out, "..");
            sb_put(out, c.end.p, c.end.len);
            sb_putc(out, '\n');
            if (out->len >= FLUSH_AT) sb_flush(out, stdout);
        }
    }
    row_cells_free(&c);
}

/* Per shard: its tensors, the bytes they hold, its header and where its
   data start (the header of a shard that is not open yet reads 0). */
static void shard_table(strbuf *out, const safetensors_model *m, const model_views *v, const strbuf *shard_cells,
                        size_t wshard)
{
    static const char *const head[] = {"SHARD", "TENSORS", "BYTES", "HEADER", "DATA FROM"};
    size_t nshards = safetensors_model_shard_count(m);
    size_t ws[5], i, k, pass;
    strbuf cell = {0, 0, 0};
    size_t *shard_tensors = (size_t *)calloc(nshards ? nshards : 1, sizeof *shard_tensors);
    uint64_t *shard_bytes = (uint64_t *)calloc(nshards ? nshards : 1, sizeof *shard_bytes);
    if (!shard_tensors || !shard_bytes) die_nomem();
    for (i = 0; i < v->n; i++) {
        if (v->shard[i] >= nshards) continue;
        shard_tensors[v->shard[i]]++;
        shard_bytes[v->shard[i]] = add_saturating(shard_bytes[v->shard[i]], safetensors_tensor_byte_size(v->t[i]));
    }

    for (i = 0; i < 5; i++) ws[i] = strlen(head[i]);
    ws[0] = max_size(ws[0], wshard);
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            sb_puts(out, "  ");
            text_left(out, head[0], ws[0]);
            for (i = 1; i < 5; i++) {
                sb_puts(out, "  ");
                text_right(out, head[i], ws[i]);
            }
            sb_putc(out, '\n');
        }
        for (k = 0; k < nshards; k++) {
            const safetensors_file *f = NULL;
            (void)safetensors_model_shard(m, k, &f, NULL);
            if (pass == 1) {
                sb_puts(out, "  ");
                cell_left(out, &shard_cells[k], ws[0]);
            }
            for (i = 1; i < 5; i++) {
                sb_clear(&cell);
                if (i == 1) sb_u64_grouped(&cell, (uint64_t)shard_tensors[k]);
                else if (i == 2) {
                    sb_u64_grouped(&cell, shard_bytes[k]);
                    sb_bytes_human_note(&cell, shard_bytes[k]);
                } else if (i == 3) sb_u64_grouped(&cell, safetensors_header_size(f));
                else sb_u64_grouped(&cell, safetensors_data_start(f));
                if (pass == 0) {
                    ws[i] = max_size(ws[i], cell_width(&cell));
                    continue;
                }
                sb_puts(out, "  ");
                cell_right(out, &cell, ws[i]);
            }
            if (pass == 1) sb_putc(out, '\n');
        }
    }
    free(shard_tensors);
    free(shard_bytes);
    free(cell.p);
}

/* The summary of v's tensors, then the metadata of the file (f) or of the
   model's index (m), in their order. */
static void summary_print(strbuf *out, strbuf *scratch, const model_views *v, const safetensors_file *f,
                          const safetensors_model *m)
{
    size_t i, nmeta = meta_count(f, m);
    totals sum;
    memset(&sum, 0, sizeof sum);
    for (i = 0; i < v->n; i++) totals_add(&sum, v->t[i]);
    totals_print(out, scratch, v->n, &sum);

    sb_puts(out, "\n  metadata    ");
    if (nmeta == 0) sb_puts(out, "(none)\n");
    for (i = 0; i < nmeta; i++) {
        size_t json_len = 0;
        const char *json = f ? NULL : safetensors_model_metadata_json(m, i, &json_len);
        metadata_line(out, scratch, i, meta_at(f, m, i), json, json_len);
    }
}

/* The view of a file (f) or of a sharded model (m), the other NULL, whose
   tensors are v: a heading, the tensor table, for a model the table of its
   shards, then the summary and the metadata. */
static void table_print(strbuf *out, const char *path, const safetensors_file *f, const safetensors_model *m,
                        const model_views *v)
{
    size_t nshards = m ? safetensors_model_shard_count(m) : 0, wshard = strlen("SHARD"), k;
    strbuf scratch = {0, 0, 0};
    strbuf *shard_cells = NULL;

    text_escaped(out, path, strlen(path));
    if (f) {
        sb_puts(out, "\n  header ");
        sb_u64_grouped(out, safetensors_header_size(f));
        sb_puts(out, " bytes; data section ");
        sb_u64_grouped(out, safetensors_data_size(f));
        sb_puts(out, " bytes");
        sb_bytes_human_note(out, safetensors_data_size(f));
        sb_puts(out, " from byte ");
        sb_u64_grouped(out, safetensors_data_start(f));
        sb_puts(out, "\n\n");
    } else {
        shard_cells = (strbuf *)calloc(nshards ? nshards : 1, sizeof *shard_cells);
        if (!shard_cells) die_nomem();
        for (k = 0; k < nshards; k++) {
            const char *name = safetensors_model_shard_name(m, k, NULL);
            sb_clear(&scratch);
            text_escaped(&scratch, name, strlen(name));
            fit_middle(&shard_cells[k], scratch.p ? scratch.p : "", scratch.len, SHARD_COLUMN_MAX);
            wshard = max_size(wshard, cell_width(&shard_cells[k]));
        }
        sb_puts(out, "\n  sharded model: ");
        sb_u64_grouped(out, (uint64_t)nshards);
        sb_puts(out, nshards == 1 ? " shard, " : " shards, ");
        sb_u64_grouped(out, (uint64_t)v->n);
        sb_puts(out, v->n == 1 ? " tensor\n\n" : " tensors\n\n");
    }

    tensor_table(out, &scratch, v, shard_cells, nshards, wshard);
    if (m) {
        sb_putc(out, '\n');
        shard_table(out, m, v, shard_cells, wshard);
    }
    summary_print(out, &scratch, v, f, m);

    for (k = 0; k < nshards; k++) free(shard_cells[k].p);
    free(shard_cells);
    free(scratch.p);
}

/* An accepted file (f) or model (m): its JSON line, or its view, after a
   blank line unless it is the first accepted. */
static void accepted_print(strbuf *out, int json, int files, const char *path, const safetensors_file *f,
                           const safetensors_model *m, const model_views *v)
{
    if (json) {
        json_accepted(out, path, f, m, v);
        return;
    }
    if (files) sb_putc(out, '\n');
    table_print(out, path, f, m, v);
}

/* An index (a name ending in .json) or a folder goes to the model view. */
static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static int is_directory(const char *path)
{
#ifdef _WIN32
    struct _stat st;
    return _stat(path, &st) == 0 && (st.st_mode & _S_IFMT) == _S_IFDIR;
#else
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
#endif
}

static void table_refused(const char *path, const safetensors_error *err)
{
    strbuf b = {0, 0, 0};
    text_escaped(&b, path, strlen(path));
    sb_puts(&b, ": error ");
    sb_puts(&b, result_name(err->code));
    sb_puts(&b, " at byte ");
    sb_u64(&b, err->offset);
    sb_puts(&b, ": ");
    text_escaped(&b, err->message, message_length(err));
    if (err->code == SAFETENSORS_ERR_IO && err->sys_errno != 0) {
        const char *why = strerror(err->sys_errno);
        sb_puts(&b, " (");
        text_escaped(&b, why, strlen(why));
        sb_putc(&b, ')');
    }
    sb_putc(&b, '\n');
    fflush(stdout); /* keep stdout and stderr in argument order on a terminal */
    sb_flush(&b, stderr);
    free(b.p);
}

/* ---------------------------------------------------------------------
   main
   --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    safetensors_options opt;
    strbuf out = {0, 0, 0};
    int json = 0, refused = 0, files = 0, i, only_files = 0;

#ifdef _WIN32
    _setmode(_fileno(stdout), _O_BINARY);
#endif

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || a[1] == '\0') {
            files++;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("safetensors-inspect (safetensors.h %d.%d.%d)\n", SAFETENSORS_VERSION_MAJOR,
                   SAFETENSORS_VERSION_MINOR, SAFETENSORS_VERSION_PATCH);
            return 0;
        } else {
            fprintf(stderr, "safetensors-inspect: unknown option '%s'\n\n%s", a, usage_text);
            return 2;
        }
    }
    if (files == 0) {
        fputs(usage_text, stderr);
        return 2;
    }

    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;

    only_files = 0;
    files = 0;
    for (i = 1; i < argc; i++) {
        const char *path = argv[i];
        safetensors_file *f = NULL;
        safetensors_error err;
        if (!only_files && path[0] == '-' && path[1] != '\0') {
            if (strcmp(path, "--") == 0) only_files = 1;
            continue;
        }
        memset(&err, 0, sizeof err);
        if (ends_with(path, ".json") || is_directory(path)) {
            safetensors_model *m = NULL;
            model_views v;
            memset(&v, 0, sizeof v);
            if (safetensors_model_open(path, &opt, &m, &err) != SAFETENSORS_OK ||
                model_collect(m, &v, &err) != SAFETENSORS_OK) {
                refused = 1;
                if (json) json_refused(&out, path, &err);
                else table_refused(path, &err);
            } else {
                accepted_print(&out, json, files++, path, NULL, m, &v);
            }
            model_views_free(&v);
            safetensors_model_close(m);
        } else if (safetensors_open(path, &opt, &f, &err) != SAFETENSORS_OK) {
            refused = 1;
            if (json) json_refused(&out, path, &err);
            else table_refused(path, &err);
        } else {
            model_views v;
            file_collect(f, &v);
            accepted_print(&out, json, files++, path, f, NULL, &v);
            model_views_free(&v);
            safetensors_close(f);
        }
        sb_flush(&out, stdout);
    }
    free(out.p);
    if (fflush(stdout) != 0 || ferror(stdout)) g_write_failed = 1;
    if (g_write_failed) {
        fputs("safetensors-inspect: could not write the output\n", stderr);
        return 1;
    }
    return refused ? 1 : 0;
}
