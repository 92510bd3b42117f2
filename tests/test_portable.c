/* test_portable.c - the portability check of safetensors.h: a plain C99
   program (no test framework) that runs the same way on every target the
   library claims: 64-bit and 32-bit x86 Linux, big-endian s390x under qemu,
   and Windows (mingw-w64, run under wine).

   What it checks, from the repository root:
     corpus     every file in tests/conformance/expected.tsv: the verdict, and
                for accepted files the exact table (name bytes, dtype, shape,
                begin/end, metadata in file order), through
                safetensors_open_memory and safetensors_open by path (mmap or
                MapViewOfFile, READ_INTO_MEMORY and HEADER_ONLY); a refusal
                must carry the same code and offset on every path.
     stream     every corpus file fed to the streaming parser one byte at a
                time and in deterministic pseudo-random splits: the same
                result code, err.offset, message and table as the one-shot
                parse.
     models     the sample checkpoints under tests/models through the default,
                READ_INTO_MEMORY, PREFETCH and HEADER_ONLY paths: every data
                pointer holds the bytes found at data_start + begin by a plain
                fread of the file.
     utf8 path  a corpus file copied at run time to TMP/"tëst_模型.safetensors"
                (on Windows created with _wfopen from a UTF-16 name) and opened
                with the UTF-8 path: the UTF-8 to UTF-16 conversion on Windows.
     sharded    safetensors_model_open on the sharded checkpoint by folder and
                by index (eager, LAZY, READ_INTO_MEMORY), each tensor checked
                against its shard opened alone; then copies under non-ASCII
                names in TMP/shards, found by listing the folder (readdir,
                FindFirstFileW) and opened through joined UTF-8 paths.

   Usage:
     test_portable [--tmp DIR] [--no-stream] [-v]
                                        all of the above (--no-stream: without
                                        the streaming splits; -v: a line per
                                        case); DIR (default build/tmp) and
                                        DIR/shards must exist and be writable,
                                        and DIR/shards hold nothing else
     test_portable --large4g FILE       the > 4 GiB sparse file made by
                                        tests/sparse_4g.sh (see there)

   The last line is "portable: N passed, M failed"; the exit status is nonzero
   when anything failed. Only the C standard library is used, plus, under
   _WIN32, the CRT's _wfopen and _wremove.
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <wchar.h>
#endif

#ifndef EXPECTED_TSV
#define EXPECTED_TSV "tests/conformance/expected.tsv"
#endif
#define CORPUS_DIR "tests/conformance/files/"
#define MAX_PRINTED_FAILURES 200

/* ---------------------------------------------------------------------
   Counting and reporting
   --------------------------------------------------------------------- */

static unsigned long g_passed, g_failed, g_printed;
static int g_verbose;
static const char *g_case = "";   /* what is being checked, for messages */
static int g_case_failed;

static void case_begin(const char *name)
{
    g_case = name;
    g_case_failed = 0;
}

static void case_end(void)
{
    if (g_case_failed) g_failed++;
    else g_passed++;
    if (g_verbose) printf("%s %s\n", g_case_failed ? "FAIL" : "ok  ", g_case);
}

/* Records a failure of the current case when `ok` is 0. Returns ok. */
static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    if (ok) return 1;
    g_case_failed = 1;
    if (g_printed++ < MAX_PRINTED_FAILURES) {
        printf("FAIL %s: ", g_case);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
    } else if (g_printed == MAX_PRINTED_FAILURES + 1) {
        printf("(further failures are not printed)\n");
    }
    return 0;
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

static const char *result_name(safetensors_result r)
{
    const char *s = safetensors_result_name(r);
    return s ? s : "(not a result)";
}

/* ---------------------------------------------------------------------
   Files
   --------------------------------------------------------------------- */

/* UTF-8 to UTF-16, decoded here independently of the library (Windows). */
#ifdef _WIN32
static int widen_utf8(const char *s, wchar_t *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned long c;
        int more;
        if (*u < 0x80) c = *u, more = 0;
        else if ((*u & 0xe0) == 0xc0) c = *u & 0x1fu, more = 1;
        else if ((*u & 0xf0) == 0xe0) c = *u & 0x0fu, more = 2;
        else return 0; /* the test's own names stay in the BMP */
        u++;
        for (; more > 0; more--, u++) {
            if ((*u & 0xc0) != 0x80) return 0;
            c = (c << 6) | (*u & 0x3fu);
        }
        if (n + 1 >= cap) return 0;
        out[n++] = (wchar_t)c;
    }
    out[n] = 0;
    return 1;
}
#endif

/* A whole file, named by a UTF-8 path, in malloc'd memory (never NULL on
   success, even when empty). */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
#ifdef _WIN32
    wchar_t wide[1024];
    fp = widen_utf8(path, wide, sizeof wide / sizeof wide[0]) ? _wfopen(wide, L"rb") : NULL;
#else
    fp = fopen(path, "rb");
#endif
    *len = 0;
    if (fp == NULL) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t fresh_cap = cap ? cap * 2 : 65536;
            unsigned char *fresh = (unsigned char *)realloc(buf, fresh_cap);
            if (fresh == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = fresh;
            cap = fresh_cap;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *len = n;
    return buf;
}

/* ---------------------------------------------------------------------
   expected.tsv
   --------------------------------------------------------------------- */

typedef struct exp_tensor {
    unsigned char *name;
    size_t name_len;
    char dtype[24];
    size_t ndim;
    uint64_t *shape;
    uint64_t begin, end;
} exp_tensor;

typedef struct exp_meta {
    unsigned char *key, *value;
    size_t key_len, value_len;
} exp_meta;

typedef struct exp_file {
    char *file;
    int accept;
    size_t ntensors, nmeta;
    exp_tensor *tensors;
    exp_meta *metas;
} exp_file;

typedef struct expected {
    exp_file *files;
    size_t count;
} expected;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Lowercase hex to malloc'd bytes (NUL-terminated for convenience). */
static unsigned char *hex_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s), i;
    unsigned char *b;
    if (n % 2 != 0) return NULL;
    b = (unsigned char *)malloc(n / 2 + 1);
    if (b == NULL) return NULL;
    for (i = 0; i < n / 2; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return NULL;
        }
        b[i] = (unsigned char)(hi * 16 + lo);
    }
    b[n / 2] = 0;
    *out_len = n / 2;
    return b;
}

/* A decimal < 2^64, the whole string. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0') return 0;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9') return 0;
        d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static size_t parse_size(const char *s, int *ok)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v > (uint64_t)(size_t)-1) {
        *ok = 0;
        return 0;
    }
    return (size_t)v;
}

/* Splits a line in place at tabs. Returns the field count (at most max). */
static size_t split_tabs(char *line, char **fields, size_t max)
{
    size_t n = 0;
    fields[n++] = line;
    for (; *line; line++) {
        if (*line == '\t') {
            *line = '\0';
            if (n == max) return n + 1; /* too many */
            fields[n++] = line + 1;
        }
    }
    return n;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "-" for a scalar, else comma-separated dims. Edits s in place. */
static int parse_shape(char *s, exp_tensor *t)
{
    char *p, *start;
    size_t n = 1;
    t->ndim = 0;
    t->shape = NULL;
    if (strcmp(s, "-") == 0) return 1;
    for (p = s; *p; p++)
        if (*p == ',') n++;
    t->shape = (uint64_t *)malloc(n * sizeof *t->shape);
    if (t->shape == NULL) return 0;
    start = s;
    for (p = s;; p++) {
        if (*p == ',' || *p == '\0') {
            int last = *p == '\0';
            *p = '\0';
            if (!parse_u64(start, &t->shape[t->ndim])) return 0;
            t->ndim++;
            if (last) break;
            start = p + 1;
        }
    }
    return 1;
}

static void expected_free(expected *ex)
{
    size_t i, k;
    for (i = 0; i < ex->count; i++) {
        exp_file *ef = &ex->files[i];
        for (k = 0; k < ef->ntensors; k++) {
            free(ef->tensors[k].name);
            free(ef->tensors[k].shape);
        }
        for (k = 0; k < ef->nmeta; k++) {
            free(ef->metas[k].key);
            free(ef->metas[k].value);
        }
        free(ef->tensors);
        free(ef->metas);
        free(ef->file);
    }
    free(ex->files);
    ex->files = NULL;
    ex->count = 0;
}

/* Reads the whole of expected.tsv. Returns 0 and prints why on failure. */
static int expected_load(const char *path, expected *ex)
{
    size_t len, cap = 0, line_no = 0;
    unsigned char *text = read_file(path, &len);
    char *p, *end;
    exp_file *cur = NULL;
    size_t t_have = 0, m_have = 0;
    ex->files = NULL;
    ex->count = 0;
    if (text == NULL) {
        printf("cannot read %s (run from the repository root)\n", path);
        return 0;
    }
    text = (unsigned char *)realloc(text, len + 1);
    if (text == NULL) return 0;
    text[len] = 0;
    p = (char *)text;
    end = p + len;
    while (p < end) {
        char *nl = strchr(p, '\n'), *f[8];
        size_t nf, cr;
        int ok = 1;
        if (nl == NULL) nl = end;
        *nl = '\0';
        cr = strlen(p);
        if (cr > 0 && p[cr - 1] == '\r') p[cr - 1] = '\0';
        line_no++;
        if (*p == '\0') {
            p = nl + 1;
            continue;
        }
        nf = split_tabs(p, f, 8);
        if (strcmp(f[0], "F") == 0) {
            if (cur && (t_have != cur->ntensors || m_have != cur->nmeta)) ok = 0;
            if (ex->count == cap) {
                size_t fresh_cap = cap ? cap * 2 : 2048;
                exp_file *fresh = (exp_file *)realloc(ex->files, fresh_cap * sizeof *fresh);
                if (fresh == NULL) break;
                ex->files = fresh;
                cap = fresh_cap;
            }
            cur = &ex->files[ex->count++];
            memset(cur, 0, sizeof *cur);
            t_have = m_have = 0;
            if (nf >= 3) cur->file = dup_string(f[1]);
            if (nf == 5 && strcmp(f[2], "accept") == 0) {
                cur->accept = 1;
                cur->ntensors = parse_size(f[3], &ok);
                cur->nmeta = parse_size(f[4], &ok);
                if (ok && cur->ntensors) {
                    cur->tensors = (exp_tensor *)calloc(cur->ntensors, sizeof *cur->tensors);
                    if (cur->tensors == NULL) ok = 0;
                }
                if (ok && cur->nmeta) {
                    cur->metas = (exp_meta *)calloc(cur->nmeta, sizeof *cur->metas);
                    if (cur->metas == NULL) ok = 0;
                }
            } else if (!(nf >= 3 && strcmp(f[2], "reject") == 0)) {
                ok = 0;
            }
            if (cur->file == NULL) ok = 0;
        } else if (strcmp(f[0], "T") == 0) {
            exp_tensor *t;
            if (cur == NULL || !cur->accept || t_have >= cur->ntensors || nf != 6) {
                ok = 0;
            } else {
                t = &cur->tensors[t_have++];
                t->name = hex_decode(f[1], &t->name_len);
                if (t->name == NULL || strlen(f[2]) >= sizeof t->dtype) ok = 0;
                else strcpy(t->dtype, f[2]);
                if (ok && !parse_shape(f[3], t)) ok = 0;
                if (ok && !(parse_u64(f[4], &t->begin) && parse_u64(f[5], &t->end))) ok = 0;
            }
        } else if (strcmp(f[0], "M") == 0) {
            exp_meta *m;
            if (cur == NULL || !cur->accept || m_have >= cur->nmeta || nf != 3) {
                ok = 0;
            } else {
                m = &cur->metas[m_have++];
                m->key = hex_decode(f[1], &m->key_len);
                m->value = hex_decode(f[2], &m->value_len);
                if (m->key == NULL || m->value == NULL) ok = 0;
            }
        } else {
            ok = 0;
        }
        if (!ok) {
            printf("%s:%lu: cannot parse this line\n", path, (unsigned long)line_no);
            free(text);
            return 0;
        }
        p = nl + 1;
    }
    free(text);
    if (cur && (t_have != cur->ntensors || m_have != cur->nmeta)) {
        printf("%s: the last record is incomplete\n", path);
        return 0;
    }
    return ex->count > 0;
}

static const exp_file *expected_find(const expected *ex, const char *file)
{
    size_t i;
    for (i = 0; i < ex->count; i++)
        if (strcmp(ex->files[i].file, file) == 0) return &ex->files[i];
    return NULL;
}

/* ---------------------------------------------------------------------
   Comparisons
   --------------------------------------------------------------------- */

static void check_against_expected(const char *what, const safetensors_file *f, const exp_file *ef)
{
    size_t i, k;
    if (!check(safetensors_tensor_count(f) == ef->ntensors, "%s: %lu tensors, expected %lu", what,
               (unsigned long)safetensors_tensor_count(f), (unsigned long)ef->ntensors))
        return;
    for (i = 0; i < ef->ntensors; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        const exp_tensor *et = &ef->tensors[i];
        const char *dn;
        if (!check(t != NULL, "%s: tensor_at(%lu) is NULL", what, (unsigned long)i)) return;
        dn = safetensors_dtype_name(t->dtype);
        check(t->name_len == et->name_len && memcmp(t->name, et->name, et->name_len) == 0,
              "%s: tensor %lu is named \"%.*s\" (%lu bytes), expected \"%.*s\"", what, (unsigned long)i,
              (int)t->name_len, t->name, (unsigned long)t->name_len, (int)et->name_len, (const char *)et->name);
        check(t->name[t->name_len] == '\0', "%s: tensor %lu: name not NUL-terminated", what, (unsigned long)i);
        check(dn != NULL && strcmp(dn, et->dtype) == 0, "%s: tensor %lu: dtype %s, expected %s", what,
              (unsigned long)i, dn ? dn : "(null)", et->dtype);
        if (check(t->ndim == et->ndim, "%s: tensor %lu: ndim %lu, expected %lu", what, (unsigned long)i,
                  (unsigned long)t->ndim, (unsigned long)et->ndim)) {
            for (k = 0; k < et->ndim; k++)
                check(t->shape[k] == et->shape[k], "%s: tensor %lu: dim %lu is %llu, expected %llu", what,
                      (unsigned long)i, (unsigned long)k, ull(t->shape[k]), ull(et->shape[k]));
        }
        check(t->begin == et->begin && t->end == et->end,
              "%s: tensor %lu: offsets [%llu, %llu], expected [%llu, %llu]", what, (unsigned long)i,
              ull(t->begin), ull(t->end), ull(et->begin), ull(et->end));
        check(safetensors_find(f, (const char *)et->name, et->name_len) == t,
              "%s: safetensors_find does not find tensor %lu", what, (unsigned long)i);
    }
    if (!check(safetensors_metadata_count(f) == ef->nmeta, "%s: %lu metadata entries, expected %lu", what,
               (unsigned long)safetensors_metadata_count(f), (unsigned long)ef->nmeta))
        return;
    for (i = 0; i < ef->nmeta; i++) {
        const safetensors_metadata_entry *m = safetensors_metadata_at(f, i);
        const exp_meta *em = &ef->metas[i];
        if (!check(m != NULL, "%s: metadata_at(%lu) is NULL", what, (unsigned long)i)) return;
        check(m->key_len == em->key_len && memcmp(m->key, em->key, em->key_len) == 0 &&
                  m->value_len == em->value_len && memcmp(m->value, em->value, em->value_len) == 0,
              "%s: metadata %lu is \"%.*s\"=\"%.*s\", expected \"%.*s\"=\"%.*s\"", what, (unsigned long)i,
              (int)m->key_len, m->key, (int)m->value_len, m->value, (int)em->key_len, (const char *)em->key,
              (int)em->value_len, (const char *)em->value);
        check(safetensors_metadata_find(f, (const char *)em->key, em->key_len) == m,
              "%s: safetensors_metadata_find does not find entry %lu", what, (unsigned long)i);
    }
}

/* The two tables are the same (data pointers aside). */
static void check_same_table(const char *what, const safetensors_file *a, const safetensors_file *b)
{
    size_t i, k;
    check(safetensors_header_size(a) == safetensors_header_size(b) &&
              safetensors_data_start(a) == safetensors_data_start(b) &&
              safetensors_data_size(a) == safetensors_data_size(b),
          "%s: layout (header %llu, data at %llu, %llu bytes) differs from (%llu, %llu, %llu)", what,
          ull(safetensors_header_size(a)), ull(safetensors_data_start(a)), ull(safetensors_data_size(a)),
          ull(safetensors_header_size(b)), ull(safetensors_data_start(b)), ull(safetensors_data_size(b)));
    if (!check(safetensors_tensor_count(a) == safetensors_tensor_count(b), "%s: %lu tensors against %lu", what,
               (unsigned long)safetensors_tensor_count(a), (unsigned long)safetensors_tensor_count(b)))
        return;
    for (i = 0; i < safetensors_tensor_count(a); i++) {
        const safetensors_tensor *x = safetensors_tensor_at(a, i), *y = safetensors_tensor_at(b, i);
        int same = x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0 &&
                   x->dtype == y->dtype && x->ndim == y->ndim && x->begin == y->begin && x->end == y->end;
        for (k = 0; same && k < x->ndim; k++) same = x->shape[k] == y->shape[k];
        check(same, "%s: tensor %lu (\"%.*s\") differs", what, (unsigned long)i, (int)x->name_len, x->name);
    }
    if (!check(safetensors_metadata_count(a) == safetensors_metadata_count(b), "%s: %lu metadata against %lu",
               what, (unsigned long)safetensors_metadata_count(a), (unsigned long)safetensors_metadata_count(b)))
        return;
    for (i = 0; i < safetensors_metadata_count(a); i++) {
        const safetensors_metadata_entry *x = safetensors_metadata_at(a, i), *y = safetensors_metadata_at(b, i);
        check(x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0 &&
                  x->value_len == y->value_len && memcmp(x->value, y->value, x->value_len) == 0,
              "%s: metadata %lu differs", what, (unsigned long)i);
    }
}

/* Every view holds the file's bytes at data_start + begin. When `exact` is
   given the views must point into it (open_memory); `header_only` wants
   NULL data. */
static void check_data(const char *what, const safetensors_file *f, const unsigned char *file_bytes,
                       size_t file_len, int header_only, const unsigned char *exact)
{
    size_t i;
    uint64_t start = safetensors_data_start(f);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        uint64_t size = t->end - t->begin;
        if (header_only) {
            check(t->data == NULL, "%s: tensor %lu has data with HEADER_ONLY", what, (unsigned long)i);
            continue;
        }
        if (!check(t->data != NULL, "%s: tensor %lu has NULL data", what, (unsigned long)i)) continue;
        if (!check(start + t->end <= file_len, "%s: tensor %lu ends at %llu, past the file (%lu bytes)", what,
                   (unsigned long)i, ull(start + t->end), (unsigned long)file_len))
            continue;
        if (exact)
            check((const unsigned char *)t->data == exact + (size_t)(start + t->begin),
                  "%s: tensor %lu does not point at data_start + begin of the caller's bytes", what,
                  (unsigned long)i);
        check(memcmp(t->data, file_bytes + (size_t)(start + t->begin), (size_t)size) == 0,
              "%s: tensor %lu (\"%.*s\"): bytes differ from the file's at %llu", what, (unsigned long)i,
              (int)t->name_len, t->name, ull(start + t->begin));
    }
}

static void check_same_error(const char *what, safetensors_result r, const safetensors_error *e,
                             safetensors_result want, const safetensors_error *we)
{
    if (!check(r == want, "%s: %s, expected %s (%s)", what, result_name(r), result_name(want),
               want != SAFETENSORS_OK ? we->message : "accepted"))
        return;
    if (r == SAFETENSORS_OK) return;
    check(e->code == r, "%s: err.code %s but returned %s", what, result_name(e->code), result_name(r));
    check(e->offset == we->offset, "%s: %s at offset %llu, expected %llu", what, result_name(r), ull(e->offset),
          ull(we->offset));
    check(strcmp(e->message, we->message) == 0, "%s: message \"%s\", expected \"%s\"", what, e->message,
          we->message);
}

/* ---------------------------------------------------------------------
   Streaming
   --------------------------------------------------------------------- */

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static uint64_t seed_of(const char *name, unsigned mode)
{
    uint64_t h = 1469598103934665603ull ^ mode;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return h ? h : 1;
}

/* How the bytes are split. */
enum { SPLIT_BYTES, SPLIT_SMALL, SPLIT_MEDIUM, SPLIT_TWO, SPLIT_EMPTY_FEEDS, SPLIT_BYTES_UNSIZED, SPLIT_COUNT };
static const char *const split_names[SPLIT_COUNT] = {"one byte at a time", "chunks of 1..7", "chunks of 1..257",
                                                     "two pieces", "chunks of 0..3",
                                                     "one byte at a time, size not told"};

static size_t next_chunk(unsigned mode, uint64_t *rng, size_t pos, size_t left, size_t cut)
{
    size_t n;
    switch (mode) {
    case SPLIT_BYTES:
    case SPLIT_BYTES_UNSIZED: n = 1; break;
    case SPLIT_SMALL: n = 1 + (size_t)(xorshift64(rng) % 7); break;
    case SPLIT_MEDIUM: n = 1 + (size_t)(xorshift64(rng) % 257); break;
    case SPLIT_TWO: n = pos == 0 ? cut : left; break;
    default: n = (size_t)(xorshift64(rng) % 4); break;
    }
    return n < left ? n : left;
}

/* Tells the parser the file's size (except in SPLIT_BYTES_UNSIZED), feeds
   `bytes` as the mode says, then finishes with the rest of the file as the
   data section: what safetensors_open_memory does in one go. */
static safetensors_result stream_parse(const unsigned char *bytes, size_t len, unsigned mode, uint64_t seed,
                                       safetensors_file **out, safetensors_error *e, const char *what)
{
    safetensors_parser *p = NULL;
    size_t pos = 0, cut;
    int done = 0;
    uint64_t rng = seed;
    safetensors_result r;
    *out = NULL;
    memset(e, 0, sizeof *e);
    r = safetensors_parser_create(NULL, &p, e);
    if (!check(r == SAFETENSORS_OK, "%s: parser_create: %s", what, result_name(r))) return r;
    if (mode != SPLIT_BYTES_UNSIZED)
        check(safetensors_parser_expect_size(p, (uint64_t)len) == SAFETENSORS_OK, "%s: parser_expect_size", what);
    cut = len ? (size_t)(xorshift64(&rng) % (len + 1)) : 0;
    if (cut == 0) cut = 1;
    while (!done) {
        size_t n = next_chunk(mode, &rng, pos, len - pos, cut), used = 12345;
        if (n == 0 && pos == len) break;
        r = safetensors_parser_feed(p, bytes + pos, n, &used, &done, e);
        if (r != SAFETENSORS_OK) {
            safetensors_error again;
            /* an error is sticky */
            check(safetensors_parser_feed(p, bytes, 0, NULL, NULL, &again) == r && again.offset == e->offset,
                  "%s (%s): the error is not sticky", what, split_names[mode]);
            safetensors_parser_destroy(p);
            return r;
        }
        if (!check(used <= n, "%s (%s): consumed %lu of %lu bytes", what, split_names[mode], (unsigned long)used,
                   (unsigned long)n))
            break;
        if (!check(done || used == n, "%s (%s): consumed %lu of %lu bytes without being done", what,
                   split_names[mode], (unsigned long)used, (unsigned long)n))
            break;
        pos += used;
    }
    if (done) {
        size_t used = 12345;
        int again = 0;
        r = safetensors_parser_feed(p, bytes + pos, len - pos, &used, &again, e);
        check(r == SAFETENSORS_OK && used == 0 && again == 1, "%s (%s): a feed after done consumed %lu bytes", what,
              split_names[mode], (unsigned long)used);
    }
    r = safetensors_parser_finish(p, (uint64_t)(len - pos), out, e);
    safetensors_parser_destroy(p);
    return r;
}

/* ---------------------------------------------------------------------
   The corpus
   --------------------------------------------------------------------- */

static const struct {
    unsigned flags;
    const char *name;
} path_modes[] = {{0, "open (mapped)"},
                  {SAFETENSORS_READ_INTO_MEMORY, "open READ_INTO_MEMORY"},
                  {SAFETENSORS_HEADER_ONLY, "open HEADER_ONLY"}};

static void check_corpus_file(const exp_file *ef, int do_stream)
{
    char path[512], label[600];
    size_t len, m;
    unsigned mode;
    unsigned char *bytes;
    safetensors_file *fm = NULL;
    safetensors_error em;
    safetensors_result rm;

    sprintf(label, "%s", ef->file);
    case_begin(label);
    if (!check(strlen(CORPUS_DIR) + strlen(ef->file) < sizeof path, "path too long")) {
        case_end();
        return;
    }
    sprintf(path, "%s%s", CORPUS_DIR, ef->file);
    bytes = read_file(path, &len);
    if (!check(bytes != NULL, "cannot read %s", path)) {
        case_end();
        return;
    }

    /* one shot, in memory */
    memset(&em, 0, sizeof em);
    rm = safetensors_open_memory(bytes, len, NULL, &fm, &em);
    if (ef->accept) {
        if (check(rm == SAFETENSORS_OK && fm != NULL, "open_memory: %s (%s), expected accept", result_name(rm),
                  em.message)) {
            check_against_expected("open_memory", fm, ef);
            check_data("open_memory", fm, bytes, len, 0, bytes);
        }
    } else {
        check(rm != SAFETENSORS_OK, "open_memory accepted a file the reference refuses");
        check(fm == NULL, "open_memory: *out is not NULL after a failure");
        check(em.code == rm, "open_memory: err.code %s, returned %s", result_name(em.code), result_name(rm));
        check(rm != SAFETENSORS_ERR_IO && rm != SAFETENSORS_ERR_NOMEM && rm != SAFETENSORS_ERR_ARGUMENT &&
                  rm != SAFETENSORS_ERR_TOO_LARGE,
              "open_memory: refused with %s", result_name(rm));
        check(em.message[0] != '\0', "open_memory: empty error message");
    }

    /* by path: mapping, reading, header only */
    for (m = 0; m < sizeof path_modes / sizeof path_modes[0]; m++) {
        safetensors_options opt;
        safetensors_file *f = (safetensors_file *)&opt; /* must become NULL on failure */
        safetensors_error e;
        safetensors_result r;
        memset(&opt, 0, sizeof opt);
        memset(&e, 0, sizeof e);
        opt.flags = path_modes[m].flags;
        r = safetensors_open(path, &opt, &f, &e);
        check_same_error(path_modes[m].name, r, &e, rm, &em);
        if (r == SAFETENSORS_OK) {
            if (ef->accept) check_against_expected(path_modes[m].name, f, ef);
            if (fm) check_same_table(path_modes[m].name, f, fm);
            check_data(path_modes[m].name, f, bytes, len, (path_modes[m].flags & SAFETENSORS_HEADER_ONLY) != 0,
                       NULL);
            safetensors_close(f);
        } else {
            check(f == NULL, "%s: *out is not NULL after a failure", path_modes[m].name);
        }
    }

    /* streaming: every split gives the one-shot result */
    for (mode = 0; do_stream && mode < SPLIT_COUNT; mode++) {
        safetensors_file *fs = NULL;
        safetensors_error es;
        safetensors_result rs = stream_parse(bytes, len, mode, seed_of(ef->file, mode), &fs, &es, "stream");
        char what[64];
        sprintf(what, "stream, %s", split_names[mode]);
        if (mode == SPLIT_BYTES_UNSIZED && rm == SAFETENSORS_ERR_HEADER_LENGTH)
            /* without the size, a short file may be refused by what its JSON shows first */
            check(rs != SAFETENSORS_OK && fs == NULL, "%s: accepted a truncated header", what);
        else
            check_same_error(what, rs, &es, rm, &em);
        if (rs == SAFETENSORS_OK && fm) {
            check_same_table(what, fs, fm);
            check_data(what, fs, bytes, len, 1, NULL);
        }
        safetensors_close(fs);
    }

    safetensors_close(fm);
    free(bytes);
    case_end();
}

/* ---------------------------------------------------------------------
   The sample checkpoints
   --------------------------------------------------------------------- */

static const char *const model_paths[] = {
    "tests/models/tiny-gpt2/model.safetensors",
    "tests/models/tiny-llama-bf16-sharded/model-00001-of-00004.safetensors",
    "tests/models/tiny-llama-bf16-sharded/model-00002-of-00004.safetensors",
    "tests/models/tiny-llama-bf16-sharded/model-00003-of-00004.safetensors",
    "tests/models/tiny-llama-bf16-sharded/model-00004-of-00004.safetensors",
};

/* A mapping starts at a page boundary with the file's first byte, so
   data - begin - data_start is page-aligned; a copy of the data section in
   allocated memory would not be (these files have data_start % 4096 != 0). */
static int maps_whole_file(const safetensors_file *f)
{
    const safetensors_tensor *t = safetensors_tensor_at(f, 0);
    const unsigned char *base;
    if (t == NULL || t->data == NULL) return 0;
    base = (const unsigned char *)t->data - (size_t)(t->begin + safetensors_data_start(f));
    return safetensors_data_start(f) % 4096 != 0 && (uintptr_t)base % 4096 == 0;
}

/* tests/models/DIR/FILE is the corpus file model_DIR__FILE. */
static void corpus_name_of_model(const char *path, char *out, size_t cap)
{
    const char *dir = path + strlen("tests/models/");
    const char *slash = strchr(dir, '/');
    out[0] = '\0';
    if (slash == NULL || strlen(path) + 16 > cap) return;
    sprintf(out, "model_%.*s__%s", (int)(slash - dir), dir, slash + 1);
}

static void check_models(const expected *ex)
{
    static const struct {
        unsigned flags;
        const char *name;
    } modes[] = {{0, "default (mapped)"},
                 {SAFETENSORS_READ_INTO_MEMORY, "READ_INTO_MEMORY"},
                 {SAFETENSORS_PREFETCH, "PREFETCH"},
                 {SAFETENSORS_HEADER_ONLY, "HEADER_ONLY"}};
    size_t i, m;
    for (i = 0; i < sizeof model_paths / sizeof model_paths[0]; i++) {
        size_t len;
        unsigned char *bytes = read_file(model_paths[i], &len);
        safetensors_file *fm = NULL;
        safetensors_error em;
        char corpus_name[256];
        const exp_file *ef;
        corpus_name_of_model(model_paths[i], corpus_name, sizeof corpus_name);
        ef = expected_find(ex, corpus_name);
        for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            safetensors_options opt;
            safetensors_file *f = NULL;
            safetensors_error e;
            safetensors_result r;
            char label[400];
            sprintf(label, "%s, %s", model_paths[i], modes[m].name);
            case_begin(label);
            if (!check(bytes != NULL, "cannot read the file")) {
                case_end();
                continue;
            }
            if (fm == NULL) {
                r = safetensors_open_memory(bytes, len, NULL, &fm, &em);
                check(r == SAFETENSORS_OK, "open_memory: %s (%s)", result_name(r), em.message);
            }
            memset(&opt, 0, sizeof opt);
            opt.flags = modes[m].flags;
            r = safetensors_open(model_paths[i], &opt, &f, &e);
            if (check(r == SAFETENSORS_OK, "%s (%s)", result_name(r), e.message)) {
                check(safetensors_tensor_count(f) > 0, "no tensors");
                if (check(ef != NULL && ef->accept, "no accepted record %s in expected.tsv", corpus_name))
                    check_against_expected(modes[m].name, f, ef);
                if (fm) check_same_table(modes[m].name, f, fm);
                check_data(modes[m].name, f, bytes, len, (modes[m].flags & SAFETENSORS_HEADER_ONLY) != 0, NULL);
#ifndef SAFETENSORS_NO_MMAP
                if ((modes[m].flags & (SAFETENSORS_READ_INTO_MEMORY | SAFETENSORS_HEADER_ONLY)) == 0)
                    check(maps_whole_file(f), "the file was not mapped (mmap / MapViewOfFile fell back to reading)");
#endif
            }
            safetensors_close(f);
            case_end();
        }
        safetensors_close(fm);
        free(bytes);
    }
}

/* ---------------------------------------------------------------------
   A non-ASCII path
   --------------------------------------------------------------------- */

/* "tëst_模型.safetensors" in UTF-8 and in UTF-16. */
#define UTF8_NAME "t\xc3\xabst_\xe6\xa8\xa1\xe5\x9e\x8b.safetensors"
#ifdef _WIN32
#define UTF16_NAME L"t\u00ebst_\u6a21\u578b.safetensors"
#endif
#define UTF8_SOURCE "torch_dtype_bool.safetensors"

static void check_utf8_path(const expected *ex, const char *tmp)
{
    char path[600], src[256];
    size_t len, m;
    unsigned char *bytes;
    const exp_file *ef = expected_find(ex, UTF8_SOURCE);
    FILE *fp;
    int written;
#ifdef _WIN32
    wchar_t wpath[600];
    size_t k;
#endif

    case_begin("non-ASCII UTF-8 path");
    sprintf(src, "%s%s", CORPUS_DIR, UTF8_SOURCE);
    bytes = read_file(src, &len);
    if (!check(bytes != NULL && ef != NULL && ef->accept, "cannot read %s or its record", src) ||
        !check(strlen(tmp) + sizeof UTF8_NAME + 2 < sizeof path, "--tmp is too long")) {
        free(bytes);
        case_end();
        return;
    }
    sprintf(path, "%s/%s", tmp, UTF8_NAME);
#ifdef _WIN32
    /* the directory is ASCII: widen it byte by byte, then the UTF-16 name */
    for (k = 0; tmp[k]; k++) wpath[k] = (wchar_t)(unsigned char)tmp[k];
    wpath[k++] = L'/';
    wcscpy(wpath + k, UTF16_NAME);
    fp = _wfopen(wpath, L"wb");
#else
    fp = fopen(path, "wb");
#endif
    written = fp != NULL && fwrite(bytes, 1, len, fp) == len;
    if (fp && fclose(fp) != 0) written = 0;
    if (!check(written, "cannot create %s (does the --tmp directory %s exist?)", path, tmp)) {
        free(bytes);
        case_end();
        return;
    }
    for (m = 0; m < sizeof path_modes / sizeof path_modes[0]; m++) {
        safetensors_options opt;
        safetensors_file *f = NULL;
        safetensors_error e;
        safetensors_result r;
        memset(&opt, 0, sizeof opt);
        opt.flags = path_modes[m].flags;
        r = safetensors_open(path, &opt, &f, &e);
        if (check(r == SAFETENSORS_OK, "%s of the UTF-8 path: %s (%s)", path_modes[m].name, result_name(r),
                  e.message)) {
            check_against_expected(path_modes[m].name, f, ef);
            check_data(path_modes[m].name, f, bytes, len, (path_modes[m].flags & SAFETENSORS_HEADER_ONLY) != 0,
                       NULL);
        }
        safetensors_close(f);
    }
    /* removing it by its own name proves it was this file that was opened */
#ifdef _WIN32
    check(_wremove(wpath) == 0, "cannot remove the UTF-16 named file");
#else
    check(remove(path) == 0, "cannot remove %s", path);
#endif
    {
        safetensors_file *f = (safetensors_file *)&len;
        safetensors_error e;
        safetensors_result r = safetensors_open(path, NULL, &f, &e);
        check(r == SAFETENSORS_ERR_IO && f == NULL && e.code == SAFETENSORS_ERR_IO && e.sys_errno != 0,
              "opening the removed file: %s (%s)", result_name(r), r ? e.message : "");
    }
    free(bytes);
    case_end();

    case_begin("invalid UTF-8 path");
    {
        safetensors_file *f = (safetensors_file *)&len;
        safetensors_error e;
        safetensors_result r;
        sprintf(path, "%s/bad\xff\xfe.safetensors", tmp);
        r = safetensors_open(path, NULL, &f, &e);
        check(r == SAFETENSORS_ERR_IO && f == NULL && e.code == SAFETENSORS_ERR_IO,
              "a path that is not UTF-8 gave %s (%s)", result_name(r), r ? e.message : "");
    }
    case_end();
}

/* ---------------------------------------------------------------------
   Sharded models: folders, index files, listing, joined UTF-8 paths
   --------------------------------------------------------------------- */

/* Creates (or replaces) a file named by a UTF-8 path. On Windows the name
   is decoded by widen_utf8 and the file made with _wfopen, so that only a
   correct UTF-8 to UTF-16 conversion in the library finds it again. */

static int write_file_utf8(const char *path, const void *bytes, size_t len)
{
    FILE *fp;
    int ok;
#ifdef _WIN32
    wchar_t wide[1024];
    if (!widen_utf8(path, wide, sizeof wide / sizeof wide[0])) return 0;
    fp = _wfopen(wide, L"wb");
#else
    fp = fopen(path, "wb");
#endif
    if (fp == NULL) return 0;
    ok = fwrite(bytes, 1, len, fp) == len;
    if (fclose(fp) != 0) ok = 0;
    return ok;
}

static int remove_file_utf8(const char *path)
{
#ifdef _WIN32
    wchar_t wide[1024];
    if (!widen_utf8(path, wide, sizeof wide / sizeof wide[0])) return 0;
    return _wremove(wide) == 0;
#else
    return remove(path) == 0;
#endif
}

#define LLAMA_DIR "tests/models/tiny-llama-bf16-sharded"
#define LLAMA_SHARDS 4
/* shard names for the copies, not ASCII: "shärd-模型-k.safetensors" */
#define SHARD_COPY_NAME "sh\xc3\xa4rd-\xe6\xa8\xa1\xe5\x9e\x8b-%d.safetensors"
/* an index name found only by listing the folder: "índex.safetensors.index.json" */
#define INDEX_COPY_NAME "\xc3\xadndex.safetensors.index.json"

/* Every tensor of the model is the tensor of the same name in the shard the
   model says, opened on its own from shard_dir, with the same bytes. */
static void check_model_against_shards(const char *what, const safetensors_model *m, const char *shard_dir,
                                       size_t want_shards, size_t want_tensors)
{
    size_t i, s, total = 0;
    safetensors_file *files[LLAMA_SHARDS + 1];
    unsigned char *bytes[LLAMA_SHARDS + 1];
    size_t lens[LLAMA_SHARDS + 1];
    if (!check(safetensors_model_shard_count(m) == want_shards && want_shards <= LLAMA_SHARDS,
               "%s: %lu shards, expected %lu", what, (unsigned long)safetensors_model_shard_count(m),
               (unsigned long)want_shards))
        return;
    check(safetensors_model_tensor_count(m) == want_tensors, "%s: %lu tensors, expected %lu", what,
          (unsigned long)safetensors_model_tensor_count(m), (unsigned long)want_tensors);
    for (s = 0; s < want_shards; s++) {
        char path[700];
        const char *name = safetensors_model_shard_name(m, s, NULL);
        safetensors_error e;
        safetensors_result r;
        const safetensors_file *via_model = NULL;
        files[s] = NULL;
        bytes[s] = NULL;
        lens[s] = 0;
        if (!check(name != NULL && strlen(shard_dir) + strlen(name) + 2 < sizeof path, "%s: shard %lu has no name",
                   what, (unsigned long)s))
            continue;
        sprintf(path, "%s/%s", shard_dir, name);
        r = safetensors_open(path, NULL, &files[s], &e);
        check(r == SAFETENSORS_OK, "%s: opening shard %s on its own: %s (%s)", what, path, result_name(r),
              r ? e.message : "");
        r = safetensors_model_shard(m, s, &via_model, &e);
        if (check(r == SAFETENSORS_OK && via_model != NULL, "%s: model_shard(%lu): %s", what, (unsigned long)s,
                  result_name(r)) &&
            files[s])
            check_same_table(what, via_model, files[s]);
        bytes[s] = read_file(path, &lens[s]);
        check(bytes[s] != NULL, "%s: cannot read %s", what, path);
        total += safetensors_tensor_count(files[s]);
    }
    check(total == want_tensors, "%s: the shards hold %lu tensors, the model %lu", what, (unsigned long)total,
          (unsigned long)want_tensors);
    for (i = 0; i < safetensors_model_tensor_count(m); i++) {
        const safetensors_tensor *t = NULL, *u = NULL, *own;
        size_t shard = (size_t)-1, shard2 = (size_t)-1;
        safetensors_error e;
        safetensors_result r = safetensors_model_tensor_at(m, i, &t, &shard, &e);
        if (!check(r == SAFETENSORS_OK && t != NULL && shard < want_shards, "%s: model_tensor_at(%lu): %s", what,
                   (unsigned long)i, result_name(r)))
            continue;
        r = safetensors_model_find(m, t->name, t->name_len, &u, &shard2, &e);
        check(r == SAFETENSORS_OK && u == t && shard2 == shard, "%s: model_find(\"%.*s\") differs", what,
              (int)t->name_len, t->name);
        if (files[shard] == NULL || bytes[shard] == NULL) continue;
        own = safetensors_find(files[shard], t->name, t->name_len);
        if (!check(own != NULL, "%s: \"%.*s\" is not in shard %lu", what, (int)t->name_len, t->name,
                   (unsigned long)shard))
            continue;
        check(own->dtype == t->dtype && own->ndim == t->ndim && own->begin == t->begin && own->end == t->end &&
                  (t->ndim == 0 || memcmp(own->shape, t->shape, t->ndim * sizeof *t->shape) == 0),
              "%s: \"%.*s\" differs from its shard's", what, (int)t->name_len, t->name);
        if (check(t->data != NULL, "%s: \"%.*s\" has no data", what, (int)t->name_len, t->name))
            check(memcmp(t->data, bytes[shard] + (size_t)(safetensors_data_start(files[shard]) + t->begin),
                         (size_t)(t->end - t->begin)) == 0,
                  "%s: \"%.*s\": bytes differ from the shard file's", what, (int)t->name_len, t->name);
    }
    for (s = 0; s < want_shards; s++) {
        safetensors_close(files[s]);
        free(bytes[s]);
    }
}

static void check_model_open(const char *label, const char *path, unsigned flags, const char *shard_dir,
                             size_t want_shards, size_t want_tensors)
{
    safetensors_options opt;
    safetensors_model *m = NULL;
    safetensors_error e;
    safetensors_result r;
    case_begin(label);
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    r = safetensors_model_open(path, &opt, &m, &e);
    if (check(r == SAFETENSORS_OK && m != NULL, "model_open(%s): %s (%s)", path, result_name(r), r ? e.message : ""))
        check_model_against_shards(label, m, shard_dir, want_shards, want_tensors);
    safetensors_model_close(m);
    case_end();
}

static void check_sharded(const char *tmp)
{
    char dir[600], path[1024], index_path[1024];
    size_t s, llama_tensors = 0, gpt2_tensors = 0;
    unsigned char *index_json = NULL;
    size_t index_len = 0, index_cap = 0;
    int ok = 1;
    safetensors_file *f = NULL;
    safetensors_error e;

    /* counts from the shards opened one by one */
    for (s = 1; s <= LLAMA_SHARDS; s++) {
        sprintf(path, "%s/model-%05d-of-%05d.safetensors", LLAMA_DIR, (int)s, LLAMA_SHARDS);
        if (safetensors_open(path, NULL, &f, &e) == SAFETENSORS_OK) llama_tensors += safetensors_tensor_count(f);
        safetensors_close(f);
        f = NULL;
    }
    if (safetensors_open("tests/models/tiny-gpt2/model.safetensors", NULL, &f, &e) == SAFETENSORS_OK)
        gpt2_tensors = safetensors_tensor_count(f);
    safetensors_close(f);
    f = NULL;

    check_model_open("model: a folder with an index", LLAMA_DIR, 0, LLAMA_DIR, LLAMA_SHARDS, llama_tensors);
    check_model_open("model: a folder with an index, trailing /", LLAMA_DIR "/", 0, LLAMA_DIR, LLAMA_SHARDS,
                     llama_tensors);
    check_model_open("model: the index file", LLAMA_DIR "/model.safetensors.index.json", 0, LLAMA_DIR,
                     LLAMA_SHARDS, llama_tensors);
    check_model_open("model: the index file, LAZY", LLAMA_DIR "/model.safetensors.index.json",
                     SAFETENSORS_MODEL_LAZY, LLAMA_DIR, LLAMA_SHARDS, llama_tensors);
    check_model_open("model: the index file, READ_INTO_MEMORY", LLAMA_DIR "/model.safetensors.index.json",
                     SAFETENSORS_READ_INTO_MEMORY, LLAMA_DIR, LLAMA_SHARDS, llama_tensors);
    check_model_open("model: a folder with model.safetensors", "tests/models/tiny-gpt2", 0, "tests/models/tiny-gpt2",
                     1, gpt2_tensors);
#ifdef _WIN32
    check_model_open("model: a folder given with backslashes", "tests\\models\\tiny-llama-bf16-sharded", 0,
                     LLAMA_DIR, LLAMA_SHARDS, llama_tensors);
#endif

    /* TMP/shards: copies with names that are not ASCII, found by listing the
       folder (readdir / FindFirstFileW) and opened by joined UTF-8 paths */
    case_begin("model: non-ASCII shard and index names in TMP/shards");
    if (!check(strlen(tmp) + 64 < sizeof dir, "--tmp is too long")) {
        case_end();
        return;
    }
    sprintf(dir, "%s/shards", tmp);
    /* what an interrupted run may have left */
    sprintf(path, "%s/" UTF8_NAME, dir);
    (void)remove_file_utf8(path);
    sprintf(path, "%s/" INDEX_COPY_NAME, dir);
    (void)remove_file_utf8(path);
    for (s = 1; s <= LLAMA_SHARDS; s++) {
        char copy[128];
        sprintf(copy, SHARD_COPY_NAME, (int)s);
        sprintf(path, "%s/%s", dir, copy);
        (void)remove_file_utf8(path);
    }
    /* 1. one shard, no index: the folder is the only *.safetensors */
    {
        size_t len;
        unsigned char *b = read_file(CORPUS_DIR UTF8_SOURCE, &len);
        sprintf(path, "%s/" UTF8_NAME, dir);
        ok = check(b != NULL && write_file_utf8(path, b, len), "cannot create %s (does %s exist?)", path, dir);
        free(b);
    }
    case_end();
    if (ok) {
        safetensors_model *m = NULL;
        safetensors_result r;
        case_begin("model: a folder holding only a non-ASCII .safetensors");
        r = safetensors_model_open(dir, NULL, &m, &e);
        if (check(r == SAFETENSORS_OK, "model_open(%s): %s (%s)", dir, result_name(r), r ? e.message : "")) {
            const char *name = safetensors_model_shard_name(m, 0, NULL);
            check(safetensors_model_shard_count(m) == 1 && name != NULL && strcmp(name, UTF8_NAME) == 0,
                  "shard name \"%s\", expected \"%s\"", name ? name : "(null)", UTF8_NAME);
            check(safetensors_model_tensor_count(m) == 3, "%lu tensors, expected 3",
                  (unsigned long)safetensors_model_tensor_count(m));
        }
        safetensors_model_close(m);
        check(remove_file_utf8(path), "cannot remove %s", path);
        case_end();
    }

    /* 2. the llama shards under non-ASCII names, with an index found by listing */
    case_begin("model: non-ASCII shards and index, by listing");
    index_cap = 16384;
    index_json = (unsigned char *)malloc(index_cap);
    ok = index_json != NULL;
    if (ok) index_len = (size_t)sprintf((char *)index_json, "{\"metadata\":{\"format\":\"pt\"},\"weight_map\":{");
    for (s = 1; ok && s <= LLAMA_SHARDS; s++) {
        size_t len, k;
        unsigned char *b;
        char copy[128];
        sprintf(path, "%s/model-%05d-of-%05d.safetensors", LLAMA_DIR, (int)s, LLAMA_SHARDS);
        b = read_file(path, &len);
        sprintf(copy, SHARD_COPY_NAME, (int)s);
        sprintf(path, "%s/%s", dir, copy);
        ok = check(b != NULL && write_file_utf8(path, b, len), "cannot create %s", path);
        if (ok && safetensors_open_memory(b, len, NULL, &f, &e) == SAFETENSORS_OK) {
            for (k = 0; k < safetensors_tensor_count(f); k++) {
                const safetensors_tensor *t = safetensors_tensor_at(f, k);
                if (index_len + t->name_len + strlen(copy) + 16 >= index_cap ||
                    strpbrk(t->name, "\"\\") != NULL) {
                    ok = check(0, "index too long, or a name that needs escaping");
                    break;
                }
                index_len += (size_t)sprintf((char *)index_json + index_len, "%s\"%s\":\"%s\"",
                                             index_json[index_len - 1] == '{' ? "" : ",", t->name, copy);
            }
        }
        safetensors_close(f);
        f = NULL;
        free(b);
    }
    if (ok) {
        index_len += (size_t)sprintf((char *)index_json + index_len, "}}");
        sprintf(index_path, "%s/" INDEX_COPY_NAME, dir);
        ok = check(write_file_utf8(index_path, index_json, index_len), "cannot create %s", index_path);
    }
    free(index_json);
    case_end();
    if (ok) {
        check_model_open("model: non-ASCII index found by listing the folder", dir, 0, dir, LLAMA_SHARDS,
                         llama_tensors);
        check_model_open("model: non-ASCII index by its path, LAZY", index_path, SAFETENSORS_MODEL_LAZY, dir,
                         LLAMA_SHARDS, llama_tensors);
    }
    case_begin("model: removing the non-ASCII copies");
    for (s = 1; s <= LLAMA_SHARDS; s++) {
        char copy[128];
        sprintf(copy, SHARD_COPY_NAME, (int)s);
        sprintf(path, "%s/%s", dir, copy);
        check(remove_file_utf8(path) || !ok, "cannot remove %s", path);
    }
    check(remove_file_utf8(index_path) || !ok, "cannot remove %s", index_path);
    case_end();
}

/* ---------------------------------------------------------------------
   The > 4 GiB sparse file (tests/sparse_4g.sh makes it)
   --------------------------------------------------------------------- */

/* Must agree with tests/sparse_4g.sh. */
#define BIG_A_END 4294967301ull     /* "a": U8 [4294967301], [0, A_END) */
#define BIG_B_END 5368709125ull     /* "b": U8 [2, 536870912], [A_END, B_END) */

static void check_big_table(const char *what, const safetensors_file *f, uint64_t header_size, int header_only)
{
    const safetensors_tensor *a = safetensors_tensor_at(f, 0), *b = safetensors_tensor_at(f, 1);
    check(safetensors_header_size(f) == header_size && safetensors_data_start(f) == 8 + header_size &&
              safetensors_data_size(f) == BIG_B_END,
          "%s: layout %llu %llu %llu", what, ull(safetensors_header_size(f)), ull(safetensors_data_start(f)),
          ull(safetensors_data_size(f)));
    if (!check(safetensors_tensor_count(f) == 2 && a && b, "%s: %lu tensors", what,
               (unsigned long)safetensors_tensor_count(f)))
        return;
    check(a->name_len == 1 && a->name[0] == 'a' && a->dtype == SAFETENSORS_U8 && a->ndim == 1 &&
              a->shape[0] == BIG_A_END && a->begin == 0 && a->end == BIG_A_END,
          "%s: tensor a: [%llu, %llu]", what, ull(a->begin), ull(a->end));
    check(b->name_len == 1 && b->name[0] == 'b' && b->dtype == SAFETENSORS_U8 && b->ndim == 2 &&
              b->shape[0] == 2 && b->shape[1] == 536870912u && b->begin == BIG_A_END && b->end == BIG_B_END,
          "%s: tensor b: [%llu, %llu]", what, ull(b->begin), ull(b->end));
    check(safetensors_tensor_element_count(a) == BIG_A_END && safetensors_tensor_byte_size(b) == BIG_B_END - BIG_A_END,
          "%s: element count / byte size", what);
    if (header_only) check(a->data == NULL && b->data == NULL, "%s: data is not NULL", what);
}

static int run_large4g(const char *path)
{
    unsigned char head[8];
    uint64_t n = 0;
    int i;
    FILE *fp = fopen(path, "rb");
    const int fits = (uint64_t)(size_t)-1 > BIG_B_END + 8 + 4096;

    printf("large4g: %s, %d-bit size_t, expecting the default open to %s\n", path,
           (int)(sizeof(size_t) * 8), fits ? "map it" : "give SAFETENSORS_ERR_TOO_LARGE");
    case_begin("large4g: read the length prefix");
    check(fp != NULL && fread(head, 1, 8, fp) == 8, "cannot read %s", path);
    for (i = 7; i >= 0; i--) n = (n << 8) | head[i];
    case_end();

    case_begin("large4g: HEADER_ONLY");
    {
        safetensors_options opt;
        safetensors_file *f = NULL;
        safetensors_error e;
        safetensors_result r;
        memset(&opt, 0, sizeof opt);
        opt.flags = SAFETENSORS_HEADER_ONLY;
        r = safetensors_open(path, &opt, &f, &e);
        if (check(r == SAFETENSORS_OK, "%s (%s)", result_name(r), e.message)) {
            const safetensors_tensor *a = safetensors_tensor_at(f, 0), *b = safetensors_tensor_at(f, 1);
            unsigned char c[2] = {0, 0};
            uint64_t lo[2] = {1, 536870910}, hi[2] = {2, 536870912};
            check_big_table("HEADER_ONLY", f, n, 1);
            /* reads past 4 GiB through the kept file: 64-bit offsets on
               32-bit hosts too; the markers tests/sparse_4g.sh wrote */
            check(a && safetensors_read_tensor_range(f, a, BIG_A_END - 1, c, 1, &e) == SAFETENSORS_OK && c[0] == 'B',
                  "read_tensor_range of a[last]: %s, %d", e.message, c[0]);
            check(b && safetensors_read_tensor_range(f, b, 0, c, 1, &e) == SAFETENSORS_OK && c[0] == 'C',
                  "read_tensor_range of b[0]: %s, %d", e.message, c[0]);
            check(b && safetensors_read_slice(f, b, lo, hi, c, 2, &e) == SAFETENSORS_OK && c[0] == 0 && c[1] == 'D',
                  "read_slice of b's last two: %s, %d %d", e.message, c[0], c[1]);
        }
        safetensors_close(f);
    }
    case_end();

    case_begin("large4g: streaming parser over the header");
    if (fp != NULL && n < 1000000) {
        unsigned char *hdr = (unsigned char *)malloc((size_t)n + 8);
        safetensors_parser *p = NULL;
        safetensors_file *f = NULL;
        safetensors_error e;
        size_t used = 0;
        int done = 0;
        if (check(hdr != NULL && fread(hdr + 8, 1, (size_t)n, fp) == (size_t)n, "cannot read the header")) {
            memcpy(hdr, head, 8);
            check(safetensors_parser_create(NULL, &p, &e) == SAFETENSORS_OK, "parser_create");
            check(safetensors_parser_feed(p, hdr, (size_t)n + 8, &used, &done, &e) == SAFETENSORS_OK && done &&
                      used == (size_t)n + 8,
                  "feed: %s", e.message);
            if (check(safetensors_parser_finish(p, BIG_B_END, &f, &e) == SAFETENSORS_OK, "finish: %s", e.message))
                check_big_table("parser", f, n, 1);
            safetensors_close(f);
            safetensors_parser_destroy(p);
        }
        free(hdr);
    } else {
        check(0, "no header to read");
    }
    case_end();

    case_begin("large4g: default open");
    {
        safetensors_file *f = (safetensors_file *)&n;
        safetensors_error e;
        safetensors_result r = safetensors_open(path, NULL, &f, &e);
        if (fits) {
            if (check(r == SAFETENSORS_OK, "%s (%s)", result_name(r), e.message)) {
                const safetensors_tensor *a = safetensors_tensor_at(f, 0), *b = safetensors_tensor_at(f, 1);
                check_big_table("default", f, n, 0);
                if (a && b && check(a->data != NULL && b->data != NULL, "NULL data")) {
                    /* the markers tests/sparse_4g.sh wrote; touch only these pages */
                    const unsigned char *pa = (const unsigned char *)a->data, *pb = (const unsigned char *)b->data;
                    check(pa[0] == 'A' && pa[1] == 0, "a[0] is %d, a[1] is %d", pa[0], pa[1]);
                    check(pa[(size_t)(BIG_A_END - 1)] == 'B', "a[last] is %d", pa[(size_t)(BIG_A_END - 1)]);
                    check(pb[0] == 'C' && pb == pa + (size_t)BIG_A_END, "b[0] is %d", pb[0]);
                    check(pb[(size_t)(BIG_B_END - BIG_A_END - 1)] == 'D', "b[last] is %d",
                          pb[(size_t)(BIG_B_END - BIG_A_END - 1)]);
                }
            } else {
                f = NULL;
            }
        } else {
            check(r == SAFETENSORS_ERR_TOO_LARGE && e.code == r && f == NULL, "%s (%s), expected TOO_LARGE",
                  result_name(r), r ? e.message : "");
            if (r != SAFETENSORS_OK) f = NULL;
        }
        safetensors_close(f);
    }
    case_end();

    if (!fits) {
        case_begin("large4g: READ_INTO_MEMORY");
        {
            safetensors_options opt;
            safetensors_file *f = (safetensors_file *)&n;
            safetensors_error e;
            safetensors_result r;
            memset(&opt, 0, sizeof opt);
            opt.flags = SAFETENSORS_READ_INTO_MEMORY;
            r = safetensors_open(path, &opt, &f, &e);
            check(r == SAFETENSORS_ERR_TOO_LARGE && f == NULL, "%s (%s), expected TOO_LARGE", result_name(r),
                  r ? e.message : "");
            if (r == SAFETENSORS_OK) safetensors_close(f);
        }
        case_end();
    }
    if (fp) fclose(fp);
    return 0;
}

/* ---------------------------------------------------------------------
   main
   --------------------------------------------------------------------- */

/* ---------------------------------------------------------------------
   Reads into caller buffers, slices and BF16 <-> F16: the byte order,
   file offsets and OS calls they depend on (pread, or a mapped window
   where strict C99 hides pread; ReadFile with an offset on Windows)
   --------------------------------------------------------------------- */

/* The box [start, stop) of a tensor whose elements are `size` bytes,
   element by element, from the file's bytes. */
static void slice_by_elements(const unsigned char *src, size_t size, const safetensors_tensor *t,
                              const uint64_t *start, const uint64_t *stop, unsigned char *out)
{
    uint64_t total = 1, idx;
    size_t d;
    for (d = 0; d < t->ndim; d++) total *= stop[d] - start[d];
    for (idx = 0; idx < total; idx++) {
        uint64_t rest = idx, lin = 0, stride = 1;
        for (d = t->ndim; d-- > 0;) {
            uint64_t extent = stop[d] - start[d];
            lin += (start[d] + rest % extent) * stride;
            rest /= extent;
            stride *= t->shape[d];
        }
        memcpy(out + idx * size, src + lin * size, size);
    }
}

static void check_engine(void)
{
    size_t m, k;
    uint64_t rng = 7;
    static unsigned char codes[2 * 65536], direct[2 * 65536], detour[2 * 65536];
    static float wide[65536];
    for (m = 0; m < sizeof model_paths / sizeof model_paths[0]; m++) {
        size_t len;
        unsigned char *bytes = read_file(model_paths[m], &len);
        safetensors_options opt;
        safetensors_file *f = NULL;
        safetensors_error err;
        uint64_t start;
        case_begin("read_tensor and read_slice, HEADER_ONLY");
        memset(&opt, 0, sizeof opt);
        opt.flags = SAFETENSORS_HEADER_ONLY;
        if (!check(bytes != NULL, "%s: cannot read", model_paths[m]) ||
            !check(safetensors_open(model_paths[m], &opt, &f, &err) == SAFETENSORS_OK, "%s: %s", model_paths[m],
                   err.message)) {
            free(bytes);
            case_end();
            continue;
        }
        start = safetensors_data_start(f);
        for (k = 0; k < safetensors_tensor_count(f); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f, k);
            size_t n = (size_t)(t->end - t->begin), size = safetensors_dtype_bits(t->dtype) / 8, d;
            unsigned char *got = (unsigned char *)malloc(n + 1), *want = (unsigned char *)malloc(n + 1);
            uint64_t lo[8], hi[8];
            int trial;
            if (!check(got && want && t->ndim <= 8, "out of memory")) break;
            check(safetensors_read_tensor(f, t, got, n, &err) == SAFETENSORS_OK &&
                      memcmp(got, bytes + start + t->begin, n) == 0,
                  "%s: tensor \"%s\": read_tensor differs from the file", model_paths[m], t->name);
            for (trial = 0; trial < 8; trial++) {
                for (d = 0; d < t->ndim; d++) {
                    lo[d] = xorshift64(&rng) % (t->shape[d] + 1);
                    hi[d] = lo[d] + xorshift64(&rng) % (t->shape[d] - lo[d] + 1);
                }
                slice_by_elements(bytes + start + t->begin, size, t, lo, hi, want);
                memset(got, 0, n);
                if (check(safetensors_read_slice(f, t, lo, hi, got, n, &err) == SAFETENSORS_OK, "%s: %s",
                          model_paths[m], err.message)) {
                    uint64_t count = 1;
                    for (d = 0; d < t->ndim; d++) count *= hi[d] - lo[d];
                    check(memcmp(got, want, (size_t)count * size) == 0, "%s: tensor \"%s\": a slice differs",
                          model_paths[m], t->name);
                }
            }
            free(got);
            free(want);
        }
        safetensors_close(f);
        free(bytes);
        case_end();
    }
    case_begin("BF16 <-> F16, every code, against the F32 detour");
    for (k = 0; k < 65536; k++) {
        codes[2 * k] = (unsigned char)(k & 0xff);
        codes[2 * k + 1] = (unsigned char)(k >> 8);
    }
    check(safetensors_convert(SAFETENSORS_BF16, codes, 65536, SAFETENSORS_F16, direct) == SAFETENSORS_OK &&
              safetensors_convert_to_f32(SAFETENSORS_BF16, codes, 65536, wide) == SAFETENSORS_OK &&
              safetensors_convert_from_f32(SAFETENSORS_F16, wide, 65536, detour) == SAFETENSORS_OK &&
              memcmp(direct, detour, sizeof direct) == 0,
          "BF16 -> F16 differs from the detour");
    check(safetensors_convert(SAFETENSORS_F16, codes, 65536, SAFETENSORS_BF16, direct) == SAFETENSORS_OK &&
              safetensors_convert_to_f32(SAFETENSORS_F16, codes, 65536, wide) == SAFETENSORS_OK &&
              safetensors_convert_from_f32(SAFETENSORS_BF16, wide, 65536, detour) == SAFETENSORS_OK &&
              memcmp(direct, detour, sizeof direct) == 0,
          "F16 -> BF16 differs from the detour");
    /* 1.0 in BF16 (bytes 80 3f) is 3c00 in F16: byte order on this host */
    check(direct[2 * 0x3c00] == 0x80 && direct[2 * 0x3c00 + 1] == 0x3f, "F16 1.0 is not BF16 1.0");
    case_end();
}

int main(int argc, char **argv)
{
    expected ex;
    const char *tmp = "build/tmp", *large = NULL;
    size_t i;
    int a, stream = 1;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--tmp") == 0 && a + 1 < argc) tmp = argv[++a];
        else if (strcmp(argv[a], "--large4g") == 0 && a + 1 < argc) large = argv[++a];
        else if (strcmp(argv[a], "--no-stream") == 0) stream = 0;
        else if (strcmp(argv[a], "-v") == 0) g_verbose = 1;
        else {
            fprintf(stderr, "usage: %s [--tmp DIR] [--no-stream] [-v] | --large4g FILE\n", argv[0]);
            return 2;
        }
    }

    if (large) {
        run_large4g(large);
    } else {
        if (!expected_load(EXPECTED_TSV, &ex)) {
            printf("portable: 0 passed, 1 failed\n");
            return 1;
        }
        for (i = 0; i < ex.count; i++) check_corpus_file(&ex.files[i], stream);
        check_models(&ex);
        check_utf8_path(&ex, tmp);
        check_sharded(tmp);
        check_engine();
        expected_free(&ex);
    }
    printf("portable: %lu passed, %lu failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
