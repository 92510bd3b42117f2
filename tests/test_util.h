/* test_util.h - helpers shared by the test programs of safetensors.h.

   Include after safetensors.h, and after cmocka.h (or tests/cmocka_shim)
   in a cmocka suite: the helpers that fail a test are only there when
   cmocka is. The POSIX helpers are only there for a program that asks for
   POSIX (_POSIX_C_SOURCE 200809L before any include). Every helper is
   `static inline` so that a program which does not use one gets no
   unused-function warning.

   What is here:
     tu_read_file        a whole file into malloc'd memory
     tu_read_text        the same, NUL-terminated
     tu_must_read        tu_read_file or fail the test
     tu_report           one failure of a sweep: counted, the first few shown
     tu_expected_setup   expected.tsv as a cmocka group's state
     tu_build / _raw     a safetensors file in memory: 8-byte LE length,
                         header bytes, then data bytes (a known pattern)
     tu_hex_decode       lowercase hex to bytes
     tu_load_expected    tests/conformance/expected.tsv, parsed
     tu_table_diff       two opened files, field by field
     tu_expected_diff    an opened file against an expected.tsv record
     tu_pos              absolute file offset of a substring of a header
     tu_xorshift64       deterministic PRNG for the split tests
     tu_near_miss        names one byte, one length or one NUL away from a name
     tu_names_make       n names "<prefix><i>", for a table of a chosen size
     tu_check_lookups    each of those is found exactly when it is present
   POSIX only:
     tu_rm_tree, tu_mkdir_p, tu_fresh_dir   scratch folders
     tu_deadline         alarm(): a hang kills the run instead of CI
*/
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdint.h>

#define TU_EXPECTED_TSV "tests/conformance/expected.tsv"
#define TU_CORPUS_DIR "tests/conformance/files/"
#define TU_CORPUS_FILES 1660u

/* ---------------------------------------------------------------------
   Files and buffers
   --------------------------------------------------------------------- */

/* Reads a whole file. Returns malloc'd bytes (never NULL on success, even
   for an empty file) and the length, or NULL. */
static inline unsigned char *tu_read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    *len = 0;
    if (!fp) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *nb = (unsigned char *)realloc(buf, ncap);
            if (!nb) { free(buf); fclose(fp); return NULL; }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) { free(buf); fclose(fp); return NULL; }
    fclose(fp);
    *len = n;
    return buf;
}

/* A whole file as a NUL-terminated string (the length without the NUL in
   *len, which may be NULL), or NULL. */
static inline char *tu_read_text(const char *path, size_t *len) {
    size_t n;
    unsigned char *b = tu_read_file(path, &n), *grown;
    if (!b) return NULL;
    grown = (unsigned char *)realloc(b, n + 1);
    if (!grown) { free(b); return NULL; }
    grown[n] = '\0';
    if (len) *len = n;
    return (char *)grown;
}

static inline void tu_put_le64(unsigned char *p, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t tu_get_le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The data byte at data-section position i: a pattern, so that data
   pointers that are off by any amount are noticed. */
static inline unsigned char tu_data_byte(size_t i) {
    return (unsigned char)((i * 131u + 7u) & 0xffu);
}

/* declared_n is written as the length prefix; hdr_len bytes of hdr follow,
   then data_len pattern bytes. */
static inline unsigned char *tu_build_raw(uint64_t declared_n, const void *hdr, size_t hdr_len, size_t data_len,
                                          size_t *out_len) {
    size_t total = 8 + hdr_len + data_len, i;
    unsigned char *b = (unsigned char *)malloc(total ? total : 1);
    *out_len = 0;
    if (!b) return NULL;
    tu_put_le64(b, declared_n);
    if (hdr_len) memcpy(b + 8, hdr, hdr_len);
    for (i = 0; i < data_len; i++) b[8 + hdr_len + i] = tu_data_byte(i);
    *out_len = total;
    return b;
}

/* A well-formed prefix: N = hdr_len. */
static inline unsigned char *tu_build_n(const void *hdr, size_t hdr_len, size_t data_len, size_t *out_len) {
    return tu_build_raw((uint64_t)hdr_len, hdr, hdr_len, data_len, out_len);
}

static inline unsigned char *tu_build(const char *hdr, size_t data_len, size_t *out_len) {
    return tu_build_n(hdr, strlen(hdr), data_len, out_len);
}

/* Absolute file offset (8 + index) of the n-th (1-based) occurrence of
   needle in the NUL-terminated header text; UINT64_MAX if absent. */
static inline uint64_t tu_pos_n(const char *hdr, const char *needle, int n) {
    const char *p = hdr;
    for (;;) {
        const char *q = strstr(p, needle);
        if (!q) return UINT64_MAX;
        if (--n <= 0) return 8u + (uint64_t)(q - hdr);
        p = q + 1;
    }
}

static inline uint64_t tu_pos(const char *hdr, const char *needle) { return tu_pos_n(hdr, needle, 1); }

/* ---------------------------------------------------------------------
   Hex and numbers
   --------------------------------------------------------------------- */

static inline int tu_hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes `len` hex characters. Returns malloc'd bytes with a NUL after
   them, or NULL on bad input. */
static inline char *tu_hex_decode(const char *hex, size_t len, size_t *out_len) {
    size_t i;
    char *out;
    if (len % 2) return NULL;
    out = (char *)malloc(len / 2 + 1);
    if (!out) return NULL;
    for (i = 0; i < len / 2; i++) {
        int hi = tu_hexval((unsigned char)hex[2 * i]), lo = tu_hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) { free(out); return NULL; }
        out[i] = (char)(unsigned char)(hi * 16 + lo);
    }
    out[len / 2] = '\0';
    *out_len = len / 2;
    return out;
}

/* Strict decimal uint64 of exactly `len` characters. 0 on success. */
static inline int tu_parse_u64(const char *s, size_t len, uint64_t *out) {
    uint64_t v = 0;
    size_t i;
    if (len == 0) return -1;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10u) return -1;
        v = v * 10u + d;
    }
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------
   expected.tsv
   --------------------------------------------------------------------- */

typedef struct tu_exp_tensor {
    char *name;
    size_t name_len;
    char dtype[32];
    size_t ndim;
    uint64_t *shape;
    uint64_t begin, end;
} tu_exp_tensor;

typedef struct tu_exp_meta {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
} tu_exp_meta;

typedef struct tu_exp_file {
    char *file;         /* file name inside TU_CORPUS_DIR */
    int accept;
    char *reason;       /* for rejects */
    size_t ntensors, nmeta;
    tu_exp_tensor *tensors;
    tu_exp_meta *meta;
    size_t tensors_seen, meta_seen;
} tu_exp_file;

typedef struct tu_expected {
    tu_exp_file *files;
    size_t count;
} tu_expected;

static inline char *tu_strndup(const char *s, size_t n) {
    char *p = (char *)malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Splits [line, line+len) on tabs into at most max fields. Returns the count. */
static inline size_t tu_split_tabs(const char *line, size_t len, const char **f, size_t *fl, size_t max) {
    size_t n = 0, start = 0, i;
    for (i = 0; i <= len; i++) {
        if (i == len || line[i] == '\t') {
            if (n < max) { f[n] = line + start; fl[n] = i - start; }
            n++;
            start = i + 1;
        }
    }
    return n;
}

static inline int tu_field_is(const char *f, size_t fl, const char *lit) {
    return fl == strlen(lit) && memcmp(f, lit, fl) == 0;
}

static inline void tu_free_expected(tu_expected *e) {
    size_t i, j;
    for (i = 0; i < e->count; i++) {
        tu_exp_file *x = &e->files[i];
        for (j = 0; j < x->tensors_seen; j++) { free(x->tensors[j].name); free(x->tensors[j].shape); }
        for (j = 0; j < x->meta_seen; j++) { free(x->meta[j].key); free(x->meta[j].value); }
        free(x->tensors);
        free(x->meta);
        free(x->file);
        free(x->reason);
    }
    free(e->files);
    e->files = NULL;
    e->count = 0;
}

/* Parses expected.tsv. Returns 0, or -1 with a message on stderr. */
static inline int tu_load_expected(const char *path, tu_expected *e) {
    size_t len, pos = 0, cap = 0, lineno = 0;
    unsigned char *buf = tu_read_file(path, &len);
    const char *text = (const char *)buf;
    tu_exp_file *cur = NULL;
    e->files = NULL;
    e->count = 0;
    if (!buf) { fprintf(stderr, "cannot read %s\n", path); return -1; }
    while (pos < len) {
        const char *f[8];
        size_t fl[8], nf, ll = 0;
        const char *line = text + pos;
        while (pos + ll < len && line[ll] != '\n') ll++;
        pos += ll + 1;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll == 0) continue;
        nf = tu_split_tabs(line, ll, f, fl, 8);
        if (tu_field_is(f[0], fl[0], "F")) {
            if (nf < 4) goto bad;
            if (cur && (cur->tensors_seen != cur->ntensors || cur->meta_seen != cur->nmeta)) goto bad;
            if (e->count == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                tu_exp_file *nfiles = (tu_exp_file *)realloc(e->files, ncap * sizeof *nfiles);
                if (!nfiles) goto bad;
                e->files = nfiles;
                cap = ncap;
            }
            cur = &e->files[e->count++];
            memset(cur, 0, sizeof *cur);
            cur->file = tu_strndup(f[1], fl[1]);
            if (tu_field_is(f[2], fl[2], "accept")) {
                uint64_t nt, nm;
                if (nf != 5 || tu_parse_u64(f[3], fl[3], &nt) || tu_parse_u64(f[4], fl[4], &nm)) goto bad;
                cur->accept = 1;
                cur->ntensors = (size_t)nt;
                cur->nmeta = (size_t)nm;
                cur->tensors = (tu_exp_tensor *)calloc(cur->ntensors + 1, sizeof *cur->tensors);
                cur->meta = (tu_exp_meta *)calloc(cur->nmeta + 1, sizeof *cur->meta);
                if (!cur->tensors || !cur->meta) goto bad;
            } else if (tu_field_is(f[2], fl[2], "reject")) {
                cur->accept = 0;
                cur->reason = tu_strndup(f[3], fl[3]);
            } else {
                goto bad;
            }
        } else if (tu_field_is(f[0], fl[0], "T")) {
            tu_exp_tensor *t;
            size_t k, start, d;
            if (!cur || !cur->accept || cur->tensors_seen >= cur->ntensors || nf != 6) goto bad;
            t = &cur->tensors[cur->tensors_seen++];
            t->name = tu_hex_decode(f[1], fl[1], &t->name_len);
            if (!t->name || fl[2] >= sizeof t->dtype) goto bad;
            memcpy(t->dtype, f[2], fl[2]);
            t->dtype[fl[2]] = '\0';
            if (tu_field_is(f[3], fl[3], "-")) {
                t->ndim = 0;
            } else {
                t->ndim = 1;
                for (k = 0; k < fl[3]; k++) if (f[3][k] == ',') t->ndim++;
            }
            t->shape = (uint64_t *)calloc(t->ndim + 1, sizeof *t->shape);
            if (!t->shape) goto bad;
            for (k = 0, start = 0, d = 0; t->ndim && k <= fl[3]; k++) {
                if (k == fl[3] || f[3][k] == ',') {
                    if (tu_parse_u64(f[3] + start, k - start, &t->shape[d++])) goto bad;
                    start = k + 1;
                }
            }
            if (tu_parse_u64(f[4], fl[4], &t->begin) || tu_parse_u64(f[5], fl[5], &t->end)) goto bad;
        } else if (tu_field_is(f[0], fl[0], "M")) {
            tu_exp_meta *m;
            if (!cur || !cur->accept || cur->meta_seen >= cur->nmeta || nf != 3) goto bad;
            m = &cur->meta[cur->meta_seen++];
            m->key = tu_hex_decode(f[1], fl[1], &m->key_len);
            m->value = tu_hex_decode(f[2], fl[2], &m->value_len);
            if (!m->key || !m->value) goto bad;
        } else {
            goto bad;
        }
    }
    if (cur && (cur->tensors_seen != cur->ntensors || cur->meta_seen != cur->nmeta)) goto bad;
    free(buf);
    return 0;
bad:
    fprintf(stderr, "%s: malformed line %zu\n", path, lineno);
    free(buf);
    tu_free_expected(e);
    return -1;
}

/* ---------------------------------------------------------------------
   Comparing tables
   --------------------------------------------------------------------- */

static inline void tu_why(char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;
    if (!why || !whylen) return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Printable prefix of a name, for messages. */
static inline const char *tu_show(const char *s, size_t n, char *buf, size_t buflen) {
    size_t i, o = 0;
    for (i = 0; i < n && o + 5 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
    }
    buf[o < buflen ? o : buflen - 1] = '\0';
    return buf;
}

/* An entry as a metadata accessor leaves it when it returns 0. */
static inline int tu_entry_zeroed(const safetensors_metadata_entry *e) {
    return e->key == NULL && e->key_len == 0 && e->value == NULL && e->value_len == 0;
}

/* An entry holding something (strings that are no entry's), for checking
   that a refused accessor zeroes what *out held. */
static inline void tu_entry_stale(safetensors_metadata_entry *e) {
    e->key = "stale";
    e->key_len = 5;
    e->value = "stale";
    e->value_len = 5;
}

/* Two fillings of one entry: the same strings at the same addresses. */
static inline int tu_entry_same(const safetensors_metadata_entry *a, const safetensors_metadata_entry *b) {
    return a->key == b->key && a->key_len == b->key_len && a->value == b->value && a->value_len == b->value_len;
}

/* Same tensors in the same order (names by bytes, dtype, shape, offsets),
   same metadata in the same order, same layout. Data pointers are not
   compared. 0 when equal, else 1 and a reason in `why`. */
static inline int tu_table_diff(const safetensors_file *a, const safetensors_file *b, char *why, size_t whylen) {
    size_t i, n, d;
    if (safetensors_tensor_count(a) != safetensors_tensor_count(b)) {
        tu_why(why, whylen, "tensor count %zu vs %zu", safetensors_tensor_count(a), safetensors_tensor_count(b));
        return 1;
    }
    n = safetensors_tensor_count(a);
    for (i = 0; i < n; i++) {
        const safetensors_tensor *x = safetensors_tensor_at(a, i), *y = safetensors_tensor_at(b, i);
        if (!x || !y) { tu_why(why, whylen, "tensor_at(%zu) is NULL", i); return 1; }
        if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0) {
            tu_why(why, whylen, "tensor %zu: names differ", i);
            return 1;
        }
        if (x->dtype != y->dtype || x->ndim != y->ndim || x->begin != y->begin || x->end != y->end) {
            tu_why(why, whylen, "tensor %zu: dtype/ndim/offsets differ", i);
            return 1;
        }
        for (d = 0; d < x->ndim; d++) {
            if (x->shape[d] != y->shape[d]) { tu_why(why, whylen, "tensor %zu: dim %zu differs", i, d); return 1; }
        }
    }
    if (safetensors_metadata_count(a) != safetensors_metadata_count(b)) {
        tu_why(why, whylen, "metadata count %zu vs %zu", safetensors_metadata_count(a), safetensors_metadata_count(b));
        return 1;
    }
    n = safetensors_metadata_count(a);
    for (i = 0; i < n; i++) {
        safetensors_metadata_entry x, y;
        if (!safetensors_metadata_at(a, i, &x) || !safetensors_metadata_at(b, i, &y)) {
            tu_why(why, whylen, "metadata_at(%zu) returns 0", i);
            return 1;
        }
        if (x.key_len != y.key_len || memcmp(x.key, y.key, x.key_len) != 0 || x.value_len != y.value_len ||
            memcmp(x.value, y.value, x.value_len) != 0) {
            tu_why(why, whylen, "metadata %zu differs", i);
            return 1;
        }
    }
    if (safetensors_header_size(a) != safetensors_header_size(b) || safetensors_data_start(a) != safetensors_data_start(b) ||
        safetensors_data_size(a) != safetensors_data_size(b)) {
        tu_why(why, whylen, "layout differs");
        return 1;
    }
    return 0;
}

/* Data expectations for tu_expected_diff. */
enum { TU_DATA_ANY = 0, TU_DATA_NULL = 1, TU_DATA_AT_BASE = 2 };

/* f against an expected.tsv record: same tensors in order, same metadata in
   order. data_mode TU_DATA_AT_BASE: data == base + data_start + begin;
   TU_DATA_NULL: every data is NULL. 0 when it matches. */
static inline int tu_expected_diff(const safetensors_file *f, const tu_exp_file *e, int data_mode,
                                   const unsigned char *base, char *why, size_t whylen) {
    size_t i, d;
    char show[64];
    if (safetensors_tensor_count(f) != e->ntensors) {
        tu_why(why, whylen, "tensor count %zu, expected %zu", safetensors_tensor_count(f), e->ntensors);
        return 1;
    }
    for (i = 0; i < e->ntensors; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        const tu_exp_tensor *x = &e->tensors[i];
        const char *dn;
        if (!t) { tu_why(why, whylen, "tensor_at(%zu) is NULL", i); return 1; }
        if (t->name_len != x->name_len || memcmp(t->name, x->name, x->name_len) != 0) {
            tu_why(why, whylen, "tensor %zu: name \"%s\", expected \"%s\"", i, tu_show(t->name, t->name_len, show, 32),
                   tu_show(x->name, x->name_len, show + 32, 32));
            return 1;
        }
        if (t->name[t->name_len] != '\0') { tu_why(why, whylen, "tensor %zu: name not NUL-terminated", i); return 1; }
        if (safetensors_find(f, x->name, x->name_len) != t) {
            tu_why(why, whylen, "tensor %zu: safetensors_find does not give this view", i);
            return 1;
        }
        dn = safetensors_dtype_name(t->dtype);
        if (!dn || strcmp(dn, x->dtype) != 0) {
            tu_why(why, whylen, "tensor %zu: dtype %s, expected %s", i, dn ? dn : "(null)", x->dtype);
            return 1;
        }
        if (t->ndim != x->ndim) { tu_why(why, whylen, "tensor %zu: ndim %zu, expected %zu", i, t->ndim, x->ndim); return 1; }
        for (d = 0; d < x->ndim; d++) {
            if (t->shape[d] != x->shape[d]) { tu_why(why, whylen, "tensor %zu: dim %zu differs", i, d); return 1; }
        }
        if (t->begin != x->begin || t->end != x->end) {
            tu_why(why, whylen, "tensor %zu: offsets [%llu, %llu], expected [%llu, %llu]", i, (unsigned long long)t->begin,
                   (unsigned long long)t->end, (unsigned long long)x->begin, (unsigned long long)x->end);
            return 1;
        }
        if (data_mode == TU_DATA_NULL && t->data != NULL) { tu_why(why, whylen, "tensor %zu: data not NULL", i); return 1; }
        if (data_mode == TU_DATA_AT_BASE &&
            (const unsigned char *)t->data != base + safetensors_data_start(f) + t->begin) {
            tu_why(why, whylen, "tensor %zu: data is not bytes + data_start + begin", i);
            return 1;
        }
    }
    if (safetensors_metadata_count(f) != e->nmeta) {
        tu_why(why, whylen, "metadata count %zu, expected %zu", safetensors_metadata_count(f), e->nmeta);
        return 1;
    }
    for (i = 0; i < e->nmeta; i++) {
        safetensors_metadata_entry m, found;
        const tu_exp_meta *x = &e->meta[i];
        if (!safetensors_metadata_at(f, i, &m)) { tu_why(why, whylen, "metadata_at(%zu) returns 0", i); return 1; }
        if (m.key_len != x->key_len || memcmp(m.key, x->key, x->key_len) != 0) {
            tu_why(why, whylen, "metadata %zu: key \"%s\", expected \"%s\"", i, tu_show(m.key, m.key_len, show, 32),
                   tu_show(x->key, x->key_len, show + 32, 32));
            return 1;
        }
        if (m.value_len != x->value_len || memcmp(m.value, x->value, x->value_len) != 0) {
            tu_why(why, whylen, "metadata %zu: value differs", i);
            return 1;
        }
        if (m.key[m.key_len] != '\0' || m.value[m.value_len] != '\0') {
            tu_why(why, whylen, "metadata %zu: not NUL-terminated", i);
            return 1;
        }
        if (!safetensors_metadata_find(f, x->key, x->key_len, &found) || !tu_entry_same(&found, &m)) {
            tu_why(why, whylen, "metadata %zu: safetensors_metadata_find does not give this entry", i);
            return 1;
        }
    }
    return 0;
}

/* Codes a refused file may give: anything but success, resource and caller
   errors. */
static inline int tu_is_refusal(safetensors_result r) {
    return r != SAFETENSORS_OK && r != SAFETENSORS_ERR_NOMEM && r != SAFETENSORS_ERR_ARGUMENT &&
           r != SAFETENSORS_ERR_IO && r != SAFETENSORS_ERR_NOT_FOUND && r != SAFETENSORS_ERR_TOO_LARGE &&
           (int)r > 0 && (int)r < (int)SAFETENSORS_RESULT_COUNT;
}

/* ---------------------------------------------------------------------
   Reporting a sweep
   --------------------------------------------------------------------- */

#define TU_MAX_REPORTS 25

/* One failure in a sweep over many files: counted in *failures and shown
   for the first TU_MAX_REPORTS only, so that one broken rule does not bury
   the log. The sweep asserts *failures == 0 at its end. */
static inline void tu_report(size_t *failures, const char *what, const char *fmt, ...) {
    va_list ap;
    if (++*failures > TU_MAX_REPORTS) return;
    fprintf(stderr, "  FAIL %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#ifdef cmocka_unit_test
/* cmocka group setup and teardown: expected.tsv, parsed once, is the state
   every test of the group receives. */
static inline int tu_expected_setup(void **state) {
    tu_expected *e = (tu_expected *)calloc(1, sizeof *e);
    if (!e || tu_load_expected(TU_EXPECTED_TSV, e) != 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static inline int tu_expected_teardown(void **state) {
    tu_expected *e = (tu_expected *)*state;
    if (e) tu_free_expected(e);
    free(e);
    *state = NULL;
    return 0;
}

/* tu_read_file, failing the test when the file cannot be read. */
static inline unsigned char *tu_must_read(const char *path, size_t *len) {
    unsigned char *b = tu_read_file(path, len);
    if (!b) fail_msg("cannot read %s", path);
    return b;
}

/* The record of one corpus file; fails the test when there is none. */
static inline const tu_exp_file *tu_expected_for(const tu_expected *e, const char *file) {
    size_t i;
    for (i = 0; i < e->count; i++)
        if (strcmp(e->files[i].file, file) == 0) return &e->files[i];
    fail_msg("%s is not in %s", file, TU_EXPECTED_TSV);
    return NULL;
}
#endif

/* ---------------------------------------------------------------------
   PRNG
   --------------------------------------------------------------------- */

static inline uint64_t tu_xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* ---------------------------------------------------------------------
   Error messages
   --------------------------------------------------------------------- */

/* 1 when an error message is one line of valid UTF-8 that fits its buffer:
   NUL-terminated inside it, no control byte, and every sequence a code
   point of the shortest form, outside the surrogates and at most U+10FFFF.
   Written from RFC 3629, apart from the library's own checks. */
static inline int tu_message_ok(const safetensors_error *e) {
    const unsigned char *s = (const unsigned char *)e->message;
    size_t n = 0, i = 0;
    while (n < sizeof e->message && s[n] != 0) n++;
    if (n == sizeof e->message) return 0;
    while (i < n) {
        unsigned long cp;
        size_t more, k;
        if (s[i] < 0x20 || s[i] == 0x7f) return 0;
        if (s[i] < 0x80) { i++; continue; }
        if ((s[i] & 0xe0) == 0xc0) more = 1, cp = s[i] & 0x1fu;
        else if ((s[i] & 0xf0) == 0xe0) more = 2, cp = s[i] & 0x0fu;
        else if ((s[i] & 0xf8) == 0xf0) more = 3, cp = s[i] & 0x07u;
        else return 0;
        if (n - i <= more) return 0;
        for (k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < (more == 1 ? 0x80ul : more == 2 ? 0x800ul : 0x10000ul)) return 0;
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
        i += more + 1;
    }
    return 1;
}

/* `count` copies of the UTF-8 character `ch` after `ascii` ASCII letters,
   in malloc'd memory: long names whose characters fall at every offset. */
static inline char *tu_long_name(size_t ascii, const char *ch, size_t count, const char *tail) {
    size_t c = strlen(ch), t = strlen(tail), i;
    char *s = (char *)malloc(ascii + c * count + t + 1);
    if (!s) return NULL;
    for (i = 0; i < ascii; i++) s[i] = (char)('a' + (int)i);
    for (i = 0; i < count; i++) memcpy(s + ascii + i * c, ch, c);
    memcpy(s + ascii + count * c, tail, t + 1);
    return s;
}

/* ---------------------------------------------------------------------
   Names near a name
   --------------------------------------------------------------------- */

/* The k-th name near name[0..len): each byte in turn changed by one, then
   one byte shorter, one longer, with a NUL after, with a NUL before, and
   the empty name. Writes it to out (cap >= len + 2) and returns its length,
   or (size_t)-1 once k is past the last. A lookup must find such a name
   exactly when it is itself a present name. */
static inline size_t tu_near_miss(const char *name, size_t len, size_t k, char *out, size_t cap) {
    if (cap < len + 2) return (size_t)-1;
    if (k < len) {
        memcpy(out, name, len);
        out[k] = (char)(unsigned char)((unsigned char)name[k] + 1u);
        return len;
    }
    switch (k - len) {
    case 0: memcpy(out, name, len); return len ? len - 1 : 0;
    case 1: memcpy(out, name, len); out[len] = 'x'; return len + 1;
    case 2: memcpy(out, name, len); out[len] = '\0'; return len + 1;
    case 3: out[0] = '\0'; memcpy(out + 1, name, len); return len + 1;
    case 4: return 0;
    default: return (size_t)-1;
    }
}

/* n names (n <= 64) "<prefix><i>": tensor names or metadata keys for a
   table of a chosen size, to look up with tu_check_lookups. */
typedef struct tu_names {
    char text[64][16];
    const char *ptr[64];
    size_t n;
} tu_names;

static inline void tu_names_make(tu_names *s, const char *prefix, size_t n) {
    size_t i;
    s->n = n < 64 ? n : 64;
    for (i = 0; i < s->n; i++) {
        snprintf(s->text[i], sizeof s->text[i], "%.8s%zu", prefix, i);
        s->ptr[i] = s->text[i];
    }
}

#ifdef cmocka_unit_test
/* A lookup: 1 when it finds `name` (and what it found carries that name),
   0 when it finds nothing, -1 when it finds something else. */
typedef int (*tu_lookup_fn)(const void *ctx, const char *name, size_t len);

/* Every name near each of names[0..n) (tu_near_miss) and `randoms` random
   names of 0 to 8 bytes must be found exactly when they are one of names;
   fails the test at the first that is not. Returns the lookups made. */
static inline size_t tu_check_lookups(const char *const *names, size_t n, size_t randoms, tu_lookup_fn lookup,
                                      const void *ctx) {
    char probe[256];
    size_t i, k, made = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (i = 0; i < n + randoms; i++) {
        for (k = 0;; k++) {
            size_t len, j;
            int present = 0, got;
            if (i < n) {
                len = tu_near_miss(names[i], strlen(names[i]), k, probe, sizeof probe);
                if (len == (size_t)-1) break;
            } else {
                if (k > 0) break;
                len = (size_t)(tu_xorshift64(&rng) % 9u);
                for (j = 0; j < len; j++) probe[j] = (char)(unsigned char)(tu_xorshift64(&rng) & 0xffu);
            }
            for (j = 0; j < n && !present; j++) present = strlen(names[j]) == len && memcmp(names[j], probe, len) == 0;
            got = lookup(ctx, probe, len);
            made++;
            if (got != present)
                fail_msg("lookup of a %zu-byte name near \"%s\": %s, expected %s", len, i < n ? names[i] : "(random)",
                         got < 0 ? "another entry" : got ? "found" : "absent", present ? "found" : "absent");
        }
    }
    return made;
}
#endif

/* ---------------------------------------------------------------------
   POSIX: scratch folders and a deadline
   --------------------------------------------------------------------- */

#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200809L
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Removes a file or a folder and everything in it; links are not followed. */
static inline void tu_rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (d) {
            while ((e = readdir(d)) != NULL) {
                char sub[1024];
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
                if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= sizeof sub) continue;
                tu_rm_tree(sub);
            }
            closedir(d);
        }
        (void)rmdir(path);
    } else {
        (void)unlink(path);
    }
}

/* mkdir -p. 0, or -1 with errno. */
static inline int tu_mkdir_p(const char *path) {
    char buf[1024];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char keep = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = keep;
        }
    }
    return 0;
}

/* A suite's scratch folder, empty: what a failed earlier run left there
   (temporary files of an interrupted write, say) must not decide this
   run's result. 0, or -1 with errno. */
static inline int tu_fresh_dir(const char *path) {
    tu_rm_tree(path);
    return tu_mkdir_p(path);
}

/* After `seconds`, SIGALRM ends the process (its default action), so that a
   hang fails the run instead of stalling CI; 0 cancels. */
static inline void tu_deadline(unsigned seconds) { (void)alarm(seconds); }
#endif

#endif /* TEST_UTIL_H */
