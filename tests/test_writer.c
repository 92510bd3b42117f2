/* test_writer.c - the streaming writer of safetensors.h.

   Expected bytes always come from files the reference writer wrote, never
   from this writer's own output:
     - tests/writer/: for each file, writer.jsonl gives what the reference
       was handed (tensors in the order given, metadata in file order); the
       output must equal the file byte for byte, whatever the sink and
       however the data is split. w_empty_meta is the one deliberate
       difference (the reference writes invalid JSON there).
     - tests/conformance/files/{torch,numpy,model}_*: the inputs are rebuilt
       from the parsed file (metadata in file order, then the tensors) and
       written back; the output must equal the file.
   The rest checks behaviour: round trips through safetensors_open_memory,
   every refusal (code, message naming the tensor, writer left usable), the
   streaming contract, every sink and its I/O errors (full disk, closed
   pipe, file size limit), the temporary file and the atomic rename, the
   alignment option, and allocation failure at every allocation, with
   nothing leaked. Run from the repository root. */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define WRITER_DIR "tests/writer/"
#define WRITER_JSONL WRITER_DIR "writer.jsonl"
#define WRITER_FILES 10u
#define SCRATCH_DIR "build/test_writer.tmp"

/* ---------------------------------------------------------------------
   Helpers
   --------------------------------------------------------------------- */

static uint64_t g_rng = 0x5AFE7E05C0FFEE11ull;

static uint64_t rnd(void) { return tu_xorshift64(&g_rng); }

/* Reports where two byte strings first differ. Returns 1 when equal. */
static int same_bytes(const char *what, const void *got, size_t got_len, const void *want, size_t want_len) {
    const unsigned char *g = (const unsigned char *)got, *w = (const unsigned char *)want;
    size_t i, n = got_len < want_len ? got_len : want_len;
    if (got_len == want_len && (n == 0 || memcmp(g, w, n) == 0)) return 1;
    for (i = 0; i < n && g[i] == w[i]; i++) continue;
    fprintf(stderr, "  %s: %zu bytes written, %zu expected; first difference at byte %zu (0x%02x vs 0x%02x)\n", what,
            got_len, want_len, i, i < got_len ? g[i] : 0u, i < want_len ? w[i] : 0u);
    return 0;
}

/* A growing buffer, and a callback sink that fills it. */
typedef struct membuf {
    unsigned char *bytes;
    size_t len, cap;
    size_t calls;
    size_t fail_after; /* take only this many bytes in total, then fail; SIZE_MAX: never */
} membuf;

static size_t membuf_sink(void *ctx, const void *bytes, size_t len) {
    membuf *m = (membuf *)ctx;
    size_t take = len;
    m->calls++;
    assert_true(len > 0); /* the writer never calls with 0 */
    if (m->fail_after != SIZE_MAX && m->len + take > m->fail_after) take = m->fail_after - m->len;
    if (m->len + take > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + take) cap *= 2;
        m->bytes = (unsigned char *)realloc(m->bytes, cap);
        assert_non_null(m->bytes);
        m->cap = cap;
    }
    memcpy(m->bytes + m->len, bytes, take);
    m->len += take;
    return take;
}

static void membuf_init(membuf *m) {
    memset(m, 0, sizeof *m);
    m->fail_after = SIZE_MAX;
}

/* Each run starts from an empty scratch folder: the temporary files of an
   earlier run that failed must not fail this one. */
static int group_setup(void **state) {
    (void)state;
    if (tu_fresh_dir(SCRATCH_DIR) != 0) {
        fprintf(stderr, "cannot make %s: %s\n", SCRATCH_DIR, strerror(errno));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rm_tree(SCRATCH_DIR);
    return 0;
}

/* Number of entries in the scratch directory whose name contains ".tmp-". */
static int temp_files_left(void) {
    DIR *d = opendir(SCRATCH_DIR);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-")) n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------
   An input set: what a writer is handed
   --------------------------------------------------------------------- */

typedef struct input_set {
    char file[300];
    safetensors_tensor_input *tensors;
    size_t n;
    safetensors_metadata_entry *meta;
    size_t m;
    int meta_present; /* "__metadata__" written even when m == 0 */
    /* storage owned by the set */
    void **owned;
    size_t owned_n, owned_cap;
} input_set;

static void *own(input_set *s, void *p) {
    if (s->owned_n == s->owned_cap) {
        s->owned_cap = s->owned_cap ? s->owned_cap * 2 : 16;
        s->owned = (void **)realloc(s->owned, s->owned_cap * sizeof *s->owned);
        assert_non_null(s->owned);
    }
    s->owned[s->owned_n++] = p;
    return p;
}

static void input_free(input_set *s) {
    size_t k;
    for (k = 0; k < s->owned_n; k++) free(s->owned[k]);
    free(s->owned);
    free(s->tensors);
    free(s->meta);
    memset(s, 0, sizeof *s);
}

static void opts_for(const input_set *s, safetensors_write_options *o) {
    memset(o, 0, sizeof *o);
    if (s->meta_present) o->flags |= SAFETENSORS_WRITE_EMPTY_METADATA;
}

/* ---------------------------------------------------------------------
   writer.jsonl: a small JSON reader for its fixed shape
   --------------------------------------------------------------------- */

typedef struct jcur {
    const char *p, *end;
} jcur;

static void jws(jcur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int jpeek(jcur *c) {
    jws(c);
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static void jexpect(jcur *c, char ch) {
    jws(c);
    assert_true(c->p < c->end && *c->p == ch);
    c->p++;
}

static unsigned jhex4(jcur *c) {
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        int d;
        assert_true(c->p < c->end);
        d = tu_hexval((unsigned char)*c->p++);
        assert_true(d >= 0);
        v = v * 16u + (unsigned)d;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 63)); out[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 63));
    out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* A JSON string, decoded; malloc'd with a NUL after it. */
static char *jstring(jcur *c, size_t *len) {
    char *out;
    size_t n = 0;
    jexpect(c, '"');
    out = (char *)malloc((size_t)(c->end - c->p) + 1);
    assert_non_null(out);
    while (c->p < c->end && *c->p != '"') {
        if (*c->p != '\\') { out[n++] = *c->p++; continue; }
        c->p++;
        assert_true(c->p < c->end);
        switch (*c->p++) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned long cp = jhex4(c);
            if (cp >= 0xd800 && cp < 0xdc00) {
                unsigned long lo;
                assert_true(c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u');
                c->p += 2;
                lo = jhex4(c);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default: fail_msg("bad escape in writer.jsonl");
        }
    }
    jexpect(c, '"');
    out[n] = '\0';
    *len = n;
    return out;
}

static uint64_t ju64(jcur *c) {
    uint64_t v = 0;
    jws(c);
    assert_true(c->p < c->end && *c->p >= '0' && *c->p <= '9');
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') v = v * 10u + (uint64_t)(*c->p++ - '0');
    return v;
}

static int jnull(jcur *c) {
    if (jpeek(c) != 'n') return 0;
    assert_true(c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0);
    c->p += 4;
    return 1;
}

static void parse_tensor(jcur *c, input_set *s, safetensors_tensor_input *t) {
    memset(t, 0, sizeof *t);
    jexpect(c, '{');
    while (jpeek(c) != '}') {
        size_t klen;
        char *key = jstring(c, &klen);
        jexpect(c, ':');
        if (strcmp(key, "name") == 0) {
            t->name = (const char *)own(s, jstring(c, &t->name_len));
        } else if (strcmp(key, "dtype") == 0) {
            size_t len;
            char *d = jstring(c, &len);
            assert_int_equal(safetensors_dtype_from_name(d, len, &t->dtype), SAFETENSORS_OK);
            free(d);
        } else if (strcmp(key, "shape") == 0) {
            uint64_t *shape = (uint64_t *)own(s, malloc(16 * sizeof *shape));
            jexpect(c, '[');
            while (jpeek(c) != ']') {
                assert_true(t->ndim < 16);
                shape[t->ndim++] = ju64(c);
                if (jpeek(c) == ',') c->p++;
            }
            jexpect(c, ']');
            t->shape = shape;
        } else if (strcmp(key, "data") == 0) {
            size_t hex_len, len = 0;
            char *hex = jstring(c, &hex_len);
            char *bytes = tu_hex_decode(hex, hex_len, &len);
            assert_non_null(bytes);
            free(hex);
            t->data = own(s, bytes);
            t->size = len;
        } else {
            fail_msg("unknown tensor field %s", key);
        }
        free(key);
        if (jpeek(c) == ',') c->p++;
    }
    jexpect(c, '}');
}

/* One line of writer.jsonl. */
static void parse_line(const char *line, size_t len, input_set *s) {
    jcur c;
    memset(s, 0, sizeof *s);
    c.p = line;
    c.end = line + len;
    jexpect(&c, '{');
    while (jpeek(&c) != '}') {
        size_t klen;
        char *key = jstring(&c, &klen);
        jexpect(&c, ':');
        if (strcmp(key, "file") == 0) {
            size_t n;
            char *f = jstring(&c, &n);
            assert_true(n < sizeof s->file);
            memcpy(s->file, f, n + 1);
            free(f);
        } else if (strcmp(key, "tensors") == 0) {
            size_t cap = 0;
            jexpect(&c, '[');
            while (jpeek(&c) != ']') {
                if (s->n == cap) {
                    cap = cap ? cap * 2 : 8;
                    s->tensors = (safetensors_tensor_input *)realloc(s->tensors, cap * sizeof *s->tensors);
                    assert_non_null(s->tensors);
                }
                parse_tensor(&c, s, &s->tensors[s->n++]);
                if (jpeek(&c) == ',') c.p++;
            }
            jexpect(&c, ']');
        } else if (strcmp(key, "metadata") == 0) {
            if (!jnull(&c)) {
                size_t cap = 0;
                s->meta_present = 1;
                jexpect(&c, '[');
                while (jpeek(&c) != ']') {
                    safetensors_metadata_entry *e;
                    if (s->m == cap) {
                        cap = cap ? cap * 2 : 8;
                        s->meta = (safetensors_metadata_entry *)realloc(s->meta, cap * sizeof *s->meta);
                        assert_non_null(s->meta);
                    }
                    e = &s->meta[s->m++];
                    jexpect(&c, '[');
                    e->key = (const char *)own(s, jstring(&c, &e->key_len));
                    jexpect(&c, ',');
                    e->value = (const char *)own(s, jstring(&c, &e->value_len));
                    jexpect(&c, ']');
                    if (jpeek(&c) == ',') c.p++;
                }
                jexpect(&c, ']');
            }
        } else {
            fail_msg("unknown field %s", key);
        }
        free(key);
        if (jpeek(&c) == ',') c.p++;
    }
    jexpect(&c, '}');
}

/* Every line of writer.jsonl. */
static input_set *load_writer_corpus(size_t *count) {
    size_t len, at = 0, n = 0;
    unsigned char *text = tu_must_read(WRITER_JSONL, &len);
    input_set *sets = (input_set *)calloc(64, sizeof *sets);
    assert_non_null(sets);
    while (at < len) {
        size_t end = at;
        while (end < len && text[end] != '\n') end++;
        if (end > at) {
            assert_true(n < 64);
            parse_line((const char *)text + at, end - at, &sets[n++]);
        }
        at = end + 1;
    }
    free(text);
    *count = n;
    return sets;
}

/* ---------------------------------------------------------------------
   Rebuilding the inputs from a parsed file
   --------------------------------------------------------------------- */

/* Whether the header opens with "__metadata__": the reference writes it
   first whenever it was given metadata, even an empty map. The reader's API
   does not say whether an empty one was present. */
static int header_opens_with_metadata(const unsigned char *file, size_t len) {
    static const char key[] = "{\"__metadata__\":{";
    return len >= 8 + sizeof key - 1 && memcmp(file + 8, key, sizeof key - 1) == 0;
}

/* Inputs from an open file: metadata in file order, tensors in the
   reader's order (the writer sorts them). Views point into f. */
static void inputs_from_file(const safetensors_file *f, const unsigned char *bytes, size_t len, input_set *s) {
    size_t k;
    memset(s, 0, sizeof *s);
    s->n = safetensors_tensor_count(f);
    s->m = safetensors_metadata_count(f);
    s->tensors = (safetensors_tensor_input *)calloc(s->n + 1, sizeof *s->tensors);
    s->meta = (safetensors_metadata_entry *)calloc(s->m + 1, sizeof *s->meta);
    assert_true(s->tensors && s->meta);
    for (k = 0; k < s->n; k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        safetensors_tensor_input *in = &s->tensors[k];
        in->name = t->name;
        in->name_len = t->name_len;
        in->dtype = t->dtype;
        in->ndim = t->ndim;
        in->shape = t->shape;
        in->data = t->data;
        in->size = t->end - t->begin;
    }
    for (k = 0; k < s->m; k++) assert_int_equal(safetensors_metadata_at(f, k, &s->meta[k]), 1);
    s->meta_present = s->m > 0 || header_opens_with_metadata(bytes, len);
}

/* ---------------------------------------------------------------------
   Writing an input set through each path
   --------------------------------------------------------------------- */

/* The streaming writer: declarations in input order, then every tensor in
   data order, each split into random pieces, through write_tensor or (odd
   `mode`) plain write calls that cross tensor boundaries. */
static safetensors_result stream_write(const input_set *s, const safetensors_write_options *o, int mode, membuf *out,
                                       safetensors_error *err) {
    safetensors_writer *w;
    safetensors_result r;
    size_t k;
    unsigned char *joined = NULL;
    uint64_t total;
    r = safetensors_writer_create(o, &w, err);
    if (r) return r;
    for (k = 0; k < s->m && !r; k++)
        r = safetensors_writer_add_metadata(w, s->meta[k].key, s->meta[k].key_len, s->meta[k].value,
                                            s->meta[k].value_len, err);
    for (k = 0; k < s->n && !r; k++)
        r = safetensors_writer_add_tensor(w, s->tensors[k].name, s->tensors[k].name_len, s->tensors[k].dtype,
                                          s->tensors[k].ndim, s->tensors[k].shape, err);
    if (!r) r = safetensors_writer_begin_callback(w, membuf_sink, out, err);
    if (r) goto done;
    total = safetensors_writer_data_size(w);
    if (mode & 1) { /* the data section joined, then cut anywhere */
        uint64_t at = 0;
        joined = (unsigned char *)malloc((size_t)total + 1);
        assert_non_null(joined);
        for (k = 0; k < safetensors_writer_tensor_count(w); k++) {
            const safetensors_tensor *t = safetensors_writer_tensor_at(w, k);
            const safetensors_tensor_input *in = &s->tensors[safetensors_writer_declaration_index(w, k)];
            assert_int_equal(t->begin, at);
            if (in->size) memcpy(joined + at, in->data, (size_t)in->size);
            at += in->size;
        }
        at = 0;
        while (at < total && !r) {
            size_t piece = (size_t)(rnd() % 41);
            if (piece > total - at) piece = (size_t)(total - at);
            r = safetensors_writer_write(w, joined + at, piece, err);
            at += piece;
        }
    } else {
        for (k = 0; k < safetensors_writer_tensor_count(w) && !r; k++) {
            const safetensors_tensor_input *in = &s->tensors[safetensors_writer_declaration_index(w, k)];
            const unsigned char *p = (const unsigned char *)in->data;
            size_t left = (size_t)in->size;
            assert_true(safetensors_writer_next_tensor(w) >= k); /* zero-size ones are skipped */
            do {
                size_t piece = (size_t)(rnd() % 17);
                if (piece > left) piece = left;
                r = safetensors_writer_write_tensor(w, k, p, piece, err);
                p += piece;
                left -= piece;
            } while (left > 0 && !r);
        }
    }
    if (!r) {
        assert_int_equal(safetensors_writer_next_tensor(w), safetensors_writer_tensor_count(w));
        r = safetensors_writer_finish(w, err);
    }
done:
    free(joined);
    safetensors_writer_destroy(w);
    return r;
}

/* writer.jsonl gives the metadata in the order the reference was handed
   it, which its hash map then scrambled: put it in the order the file
   shows, which the reader reports. The set of pairs must not change. */
static void metadata_in_file_order(input_set *s, const unsigned char *file, size_t len) {
    safetensors_file *f;
    size_t k, j;
    safetensors_metadata_entry *sorted;
    if (safetensors_open_memory(file, len, NULL, &f, NULL) != SAFETENSORS_OK) return;
    assert_int_equal(safetensors_metadata_count(f), s->m);
    sorted = (safetensors_metadata_entry *)calloc(s->m + 1, sizeof *sorted);
    for (k = 0; k < s->m; k++) {
        safetensors_metadata_entry e;
        assert_int_equal(safetensors_metadata_at(f, k, &e), 1);
        for (j = 0; j < s->m; j++)
            if (s->meta[j].key_len == e.key_len && memcmp(s->meta[j].key, e.key, e.key_len) == 0) break;
        assert_true(j < s->m);
        assert_int_equal(s->meta[j].value_len, e.value_len);
        assert_memory_equal(s->meta[j].value, e.value, e.value_len);
        sorted[k] = s->meta[j];
    }
    free(s->meta);
    s->meta = sorted;
    safetensors_close(f);
}

/* Writes `s` every way there is and checks each output against `want`. */
static int check_all_paths(const input_set *s, const unsigned char *want, size_t want_len) {
    safetensors_write_options o;
    safetensors_error err;
    void *bytes = NULL;
    size_t len = 0;
    int ok = 1, mode;
    char path[400], what[400];
    opts_for(s, &o);

    /* one call, memory */
    if (safetensors_write_memory(s->tensors, s->n, s->meta, s->m, &o, &bytes, &len, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "  %s: write_memory: %s\n", s->file, err.message);
        return 0;
    }
    snprintf(what, sizeof what, "%s (write_memory)", s->file);
    ok &= same_bytes(what, bytes, len, want, want_len);
    safetensors_write_memory_free(&o, bytes, len);

    /* one call, file (temporary file + rename) */
    snprintf(path, sizeof path, SCRATCH_DIR "/%s", s->file);
    o.flags |= SAFETENSORS_WRITE_NO_SYNC;
    if (safetensors_write_file(path, s->tensors, s->n, s->meta, s->m, &o, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "  %s: write_file: %s\n", s->file, err.message);
        return 0;
    }
    o.flags &= ~(unsigned)SAFETENSORS_WRITE_NO_SYNC;
    bytes = tu_must_read(path, &len);
    snprintf(what, sizeof what, "%s (write_file)", s->file);
    ok &= same_bytes(what, bytes, len, want, want_len);
    free(bytes);
    unlink(path);

    /* streaming, per tensor and across tensors, random pieces */
    for (mode = 0; mode < 4; mode++) {
        membuf out;
        membuf_init(&out);
        if (stream_write(s, &o, mode, &out, &err) != SAFETENSORS_OK) {
            fprintf(stderr, "  %s: streaming: %s\n", s->file, err.message);
            free(out.bytes);
            return 0;
        }
        snprintf(what, sizeof what, "%s (streaming, mode %d)", s->file, mode);
        ok &= same_bytes(what, out.bytes, out.len, want, want_len);
        free(out.bytes);
    }
    return ok;
}

/* Opens `bytes` and checks that it holds exactly `s`: every tensor's dtype,
   shape and bytes, the metadata in order. */
static void check_round_trip(const input_set *s, const void *bytes, size_t len) {
    safetensors_file *f;
    safetensors_error err;
    size_t k;
    if (safetensors_open_memory(bytes, len, NULL, &f, &err) != SAFETENSORS_OK)
        fail_msg("%s: the output is refused by the reader: %s", s->file, err.message);
    assert_int_equal(safetensors_tensor_count(f), s->n);
    assert_int_equal(safetensors_metadata_count(f), s->m);
    for (k = 0; k < s->n; k++) {
        const safetensors_tensor_input *in = &s->tensors[k];
        const safetensors_tensor *t = safetensors_find(f, in->name, in->name_len);
        assert_non_null(t);
        assert_int_equal(t->dtype, in->dtype);
        assert_int_equal(t->ndim, in->ndim);
        if (in->ndim) assert_memory_equal(t->shape, in->shape, in->ndim * sizeof *in->shape);
        assert_int_equal(t->end - t->begin, in->size);
        if (in->size) assert_memory_equal(t->data, in->data, (size_t)in->size);
    }
    for (k = 0; k < s->m; k++) {
        safetensors_metadata_entry e;
        assert_int_equal(safetensors_metadata_at(f, k, &e), 1);
        assert_int_equal(e.key_len, s->meta[k].key_len);
        assert_int_equal(e.value_len, s->meta[k].value_len);
        assert_memory_equal(e.key, s->meta[k].key, e.key_len);
        assert_memory_equal(e.value, s->meta[k].value, e.value_len);
    }
    safetensors_close(f);
}

/* ---------------------------------------------------------------------
   The reference corpora
   --------------------------------------------------------------------- */

static void test_writer_corpus(void **state) {
    size_t n, k, identical = 0;
    input_set *sets = load_writer_corpus(&n);
    (void)state;
    assert_int_equal(n, WRITER_FILES);
    for (k = 0; k < n; k++) {
        input_set *s = &sets[k];
        char path[400];
        size_t len;
        unsigned char *want;
        snprintf(path, sizeof path, WRITER_DIR "%s", s->file);
        want = tu_must_read(path, &len);
        if (strcmp(s->file, "w_empty_meta.safetensors") == 0) {
            /* The reference wrote `{},"__metadata__":{}}`, which its own
               reader refuses, and so does ours. The correct bytes: */
            static const unsigned char fixed[] = "\x18\0\0\0\0\0\0\0{\"__metadata__\":{}}     ";
            safetensors_file *f;
            assert_int_not_equal(safetensors_open_memory(want, len, NULL, &f, NULL), SAFETENSORS_OK);
            free(want);
            want = (unsigned char *)malloc(sizeof fixed - 1);
            memcpy(want, fixed, sizeof fixed - 1);
            len = sizeof fixed - 1;
        }
        metadata_in_file_order(s, want, len);
        if (check_all_paths(s, want, len)) identical++;
        check_round_trip(s, want, len);
        free(want);
        input_free(s);
    }
    free(sets);
    printf("  writer corpus: %zu of %zu files byte-identical on every path\n", identical, n);
    assert_int_equal(identical, n);
}

static int is_reference_written(const char *name) {
    return strncmp(name, "torch_", 6) == 0 || strncmp(name, "numpy_", 6) == 0 || strncmp(name, "model_", 6) == 0;
}

static void test_conformance_rewrite(void **state) {
    DIR *d = opendir(TU_CORPUS_DIR);
    struct dirent *e;
    size_t files = 0, identical = 0;
    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[512];
        unsigned char *want;
        size_t len;
        safetensors_file *f;
        safetensors_error err;
        input_set s;
        if (!is_reference_written(e->d_name)) continue;
        files++;
        snprintf(path, sizeof path, TU_CORPUS_DIR "%s", e->d_name);
        want = tu_must_read(path, &len);
        if (safetensors_open(path, NULL, &f, &err) != SAFETENSORS_OK) fail_msg("%s: %s", path, err.message);
        inputs_from_file(f, want, len, &s);
        snprintf(s.file, sizeof s.file, "%s", e->d_name);
        if (check_all_paths(&s, want, len)) identical++;
        check_round_trip(&s, want, len);
        free(s.tensors);
        free(s.meta);
        safetensors_close(f);
        free(want);
    }
    closedir(d);
    printf("  conformance corpus: %zu of %zu reference-written files byte-identical on every path\n", identical,
           files);
    assert_int_equal(files, 30);
    assert_int_equal(identical, files);
}

/* ---------------------------------------------------------------------
   Round trips of random tables
   --------------------------------------------------------------------- */

static void test_random_round_trips(void **state) {
    int round;
    (void)state;
    for (round = 0; round < 200; round++) {
        input_set s;
        safetensors_write_options o;
        safetensors_error err;
        void *bytes;
        size_t len, k;
        memset(&s, 0, sizeof s);
        snprintf(s.file, sizeof s.file, "random %d", round);
        s.n = (size_t)(rnd() % 24);
        s.m = (size_t)(rnd() % 4);
        s.tensors = (safetensors_tensor_input *)calloc(s.n + 1, sizeof *s.tensors);
        s.meta = (safetensors_metadata_entry *)calloc(s.m + 1, sizeof *s.meta);
        for (k = 0; k < s.m; k++) {
            char *key = (char *)own(&s, malloc(16)), *value = (char *)own(&s, malloc(16));
            s.meta[k].key_len = (size_t)snprintf(key, 16, "k%zu\n\"", k);
            s.meta[k].value_len = (size_t)(rnd() % 12);
            memset(value, '\\', 16);
            s.meta[k].key = key;
            s.meta[k].value = value;
        }
        for (k = 0; k < s.n; k++) {
            safetensors_tensor_input *t = &s.tensors[k];
            uint64_t *shape = (uint64_t *)own(&s, malloc(4 * sizeof *shape));
            char *name = (char *)own(&s, malloc(32));
            uint64_t elements = 1, bits, i;
            unsigned char *data;
            size_t d;
            t->dtype = (safetensors_dtype)(rnd() % SAFETENSORS_DTYPE_COUNT);
            bits = safetensors_dtype_bits(t->dtype);
            t->ndim = (size_t)(rnd() % 4);
            for (d = 0; d < t->ndim; d++) {
                shape[d] = rnd() % 5;
                elements *= shape[d];
            }
            if ((elements * bits) % 8) { /* sub-byte: make it whole bytes */
                shape[0] = t->ndim ? shape[0] * 4 : 0;
                if (t->ndim == 0) { t->ndim = 1; shape[0] = 4; }
                for (elements = 1, d = 0; d < t->ndim; d++) elements *= shape[d];
            }
            t->shape = shape;
            /* names that share prefixes, with NUL, control bytes and UTF-8 */
            t->name_len = (size_t)snprintf(name, 32, "%c%zu%s", (int)('a' + rnd() % 3), k,
                                           rnd() % 4 ? "" : (rnd() % 2 ? "\x01\xc3\xa9" : "\t/\x7f"));
            if (rnd() % 8 == 0) name[t->name_len++] = '\0';
            t->name = name;
            t->size = elements * bits / 8;
            data = (unsigned char *)own(&s, malloc((size_t)t->size + 1));
            for (i = 0; i < t->size; i++) data[i] = (unsigned char)rnd();
            t->data = data;
        }
        memset(&o, 0, sizeof o);
        o.alignment = (uint64_t)1 << (rnd() % 17);
        if (safetensors_write_memory(s.tensors, s.n, s.meta, s.m, &o, &bytes, &len, &err) != SAFETENSORS_OK)
            fail_msg("round %d: %s", round, err.message);
        assert_int_equal((8 + tu_get_le64((const unsigned char *)bytes)) % (o.alignment < 8 ? 8 : o.alignment), 0);
        check_round_trip(&s, bytes, len);
        safetensors_write_memory_free(&o, bytes, len);
        input_free(&s);
    }
}

/* ---------------------------------------------------------------------
   Alignment
   --------------------------------------------------------------------- */

static void test_alignment(void **state) {
    static const uint64_t aligns[] = {0, 1, 2, 4, 8, 16, 64, 4096, 65536};
    size_t len, i;
    unsigned char *want = tu_must_read(TU_CORPUS_DIR "torch_mixed.safetensors", &len);
    safetensors_file *f;
    input_set s;
    (void)state;
    assert_int_equal(safetensors_open_memory(want, len, NULL, &f, NULL), SAFETENSORS_OK);
    inputs_from_file(f, want, len, &s);
    for (i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        safetensors_write_options o;
        void *bytes;
        size_t out_len;
        uint64_t n, a = aligns[i] < 8 ? 8 : aligns[i], old_n = tu_get_le64(want), j;
        const unsigned char *b;
        opts_for(&s, &o);
        o.alignment = aligns[i];
        assert_int_equal(safetensors_write_memory(s.tensors, s.n, s.meta, s.m, &o, &bytes, &out_len, NULL), 0);
        b = (const unsigned char *)bytes;
        n = tu_get_le64(b);
        assert_int_equal((8 + n) % a, 0);
        assert_true(8 + n - a < 8 + old_n || a == 8); /* the smallest such padding */
        /* the same JSON, then only spaces, then the same data */
        assert_true(n >= old_n);
        assert_memory_equal(b + 8, want + 8, (size_t)old_n);
        for (j = old_n; j < n; j++) assert_int_equal(b[8 + j], ' ');
        assert_int_equal(out_len - 8 - n, len - 8 - old_n);
        assert_memory_equal(b + 8 + n, want + 8 + old_n, len - 8 - (size_t)old_n);
        if (a == 8) assert_true(same_bytes("alignment 8", bytes, out_len, want, len));
        check_round_trip(&s, bytes, out_len);
        safetensors_write_memory_free(&o, bytes, out_len);
    }
    {
        static const uint64_t bad[] = {3, 12, 131072, UINT64_MAX, (uint64_t)1 << 40};
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            safetensors_write_options o;
            safetensors_writer *w = (safetensors_writer *)&o;
            safetensors_error err;
            memset(&o, 0, sizeof o);
            o.alignment = bad[i];
            assert_int_equal(safetensors_writer_create(&o, &w, &err), SAFETENSORS_ERR_ARGUMENT);
            assert_null(w);
            assert_non_null(strstr(err.message, "power of two"));
        }
    }
    free(s.tensors);
    free(s.meta);
    safetensors_close(f);
    free(want);
}

/* ---------------------------------------------------------------------
   Refusals: code, message, and the writer left as it was
   --------------------------------------------------------------------- */

static const uint64_t shape23[] = {2, 3};

/* A writer holding metadata a=1 and tensor "t" F32 [2, 3]. */
static safetensors_writer *small_writer(const safetensors_write_options *o) {
    safetensors_writer *w;
    assert_int_equal(safetensors_writer_create(o, &w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_add_metadata(w, "a", 1, "1", 1, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_add_tensor(w, "t", 1, SAFETENSORS_F32, 2, shape23, NULL), SAFETENSORS_OK);
    return w;
}

/* After refusals, the writer still writes exactly the small file. */
static void finish_small(safetensors_writer *w) {
    static const char json[] = "{\"__metadata__\":{\"a\":\"1\"},\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                               "\"data_offsets\":[0,24]}}";
    unsigned char buf[256], data[24];
    size_t n = sizeof json - 1, padded = (n + 7) / 8 * 8, i;
    memset(data, 0x5a, sizeof data);
    assert_int_equal(safetensors_writer_begin_memory(w, buf, sizeof buf, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_write_tensor(w, 0, data, sizeof data, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_finish(w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_file_size(w), 8 + padded + 24);
    assert_int_equal(tu_get_le64(buf), padded);
    assert_memory_equal(buf + 8, json, n);
    for (i = n; i < padded; i++) assert_int_equal(buf[8 + i], ' ');
    assert_memory_equal(buf + 8 + padded, data, 24);
    safetensors_writer_destroy(w);
}

/* A refusal with this code and, when `needle` is given, a message that
   holds it. A macro, so that a failure reports the caller's line. */
#define expect_refusal(got, err, want, needle) expect_refusal_at(__LINE__, (got), (err), (want), (needle))

static void expect_refusal_at(int line, safetensors_result got, const safetensors_error *err,
                              safetensors_result want, const char *needle) {
    if (got != want)
        fail_msg("line %d: got %s (%s), expected %s", line, safetensors_result_name(got),
                 got ? err->message : "", safetensors_result_name(want));
    assert_int_equal(err->code, want);
    if (needle && strstr(err->message, needle) == NULL)
        fail_msg("line %d: message \"%s\" lacks \"%s\"", line, err->message, needle);
}

static void test_refusals(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    uint64_t big[] = {UINT64_MAX / 2, 3};
    uint64_t bits_over[] = {(uint64_t)1 << 62};
    uint64_t odd[] = {3};
    (void)state;
    w = small_writer(NULL);
    expect_refusal(safetensors_writer_add_tensor(w, "t", 1, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_DUPLICATE, "tensor \"t\"");
    expect_refusal(safetensors_writer_add_metadata(w, "a", 1, "2", 1, &err), &err, SAFETENSORS_ERR_DUPLICATE,
                   "metadata \"a\"");
    expect_refusal(safetensors_writer_add_tensor(w, "bad\xff", 4, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, "\"bad\"");
    /* overlong, surrogate, above U+10FFFF, truncated */
    expect_refusal(safetensors_writer_add_tensor(w, "\xc0\xaf", 2, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, NULL);
    expect_refusal(safetensors_writer_add_tensor(w, "\xed\xa0\x80", 3, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, NULL);
    expect_refusal(safetensors_writer_add_tensor(w, "\xf4\x90\x80\x80", 4, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, NULL);
    expect_refusal(safetensors_writer_add_tensor(w, "x\xe2\x82", 3, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, NULL);
    expect_refusal(safetensors_writer_add_metadata(w, "k\x80", 2, "v", 1, &err), &err, SAFETENSORS_ERR_UTF8,
                   "metadata key");
    expect_refusal(safetensors_writer_add_metadata(w, "k", 1, "v\xfe", 2, &err), &err, SAFETENSORS_ERR_UTF8,
                   "(key \"k\")");
    expect_refusal(safetensors_writer_add_tensor(w, "__metadata__", 12, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_SCHEMA, "__metadata__");
    expect_refusal(safetensors_writer_add_tensor(w, "o", 1, SAFETENSORS_F32, 2, big, &err), &err,
                   SAFETENSORS_ERR_OVERFLOW, "tensor \"o\": the element count of F32 [");
    expect_refusal(safetensors_writer_add_tensor(w, "o", 1, SAFETENSORS_F64, 1, bits_over, &err), &err,
                   SAFETENSORS_ERR_OVERFLOW, "tensor \"o\": the bit size");
    expect_refusal(safetensors_writer_add_tensor(w, "f", 1, SAFETENSORS_F4, 1, odd, &err), &err,
                   SAFETENSORS_ERR_MISALIGNED, "tensor \"f\": F4 [3] is 12 bits");
    expect_refusal(safetensors_writer_add_tensor(w, "f", 1, SAFETENSORS_F6_E2M3, 1, odd, &err), &err,
                   SAFETENSORS_ERR_MISALIGNED, "18 bits");
    expect_refusal(safetensors_writer_add_tensor(w, "d", 1, SAFETENSORS_DTYPE_COUNT, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_DTYPE, "tensor \"d\": dtype 22");
    expect_refusal(safetensors_writer_add_tensor(w, "d", 1, (safetensors_dtype)-1, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_DTYPE, "dtype -1");
    expect_refusal(safetensors_writer_add_tensor(w, NULL, 3, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_add_tensor(w, "s", 1, SAFETENSORS_U8, 2, NULL, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_add_metadata(w, NULL, 1, "v", 1, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_add_metadata(w, "k", 1, NULL, 1, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    /* out of order */
    expect_refusal(safetensors_writer_write(w, "x", 1, &err), &err, SAFETENSORS_ERR_ARGUMENT, "begin");
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_ARGUMENT, "begin");
    assert_null(safetensors_writer_tensor_at(w, 0));
    assert_int_equal(safetensors_writer_file_size(w), 0);
    assert_int_equal(safetensors_writer_plan(w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_plan(w, NULL), SAFETENSORS_OK); /* again: nothing */
    expect_refusal(safetensors_writer_add_tensor(w, "late", 4, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, "layout is fixed");
    expect_refusal(safetensors_writer_add_metadata(w, "late", 4, "", 0, &err), &err, SAFETENSORS_ERR_ARGUMENT,
                   "layout is fixed");
    finish_small(w);

    /* a NULL writer, NULL outputs */
    expect_refusal(safetensors_writer_add_tensor(NULL, "t", 1, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_plan(NULL, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_begin_memory(NULL, NULL, 0, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_write(NULL, NULL, 0, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_finish(NULL, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_create(NULL, NULL, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    assert_int_equal(safetensors_writer_tensor_count(NULL), 0);
    assert_null(safetensors_writer_tensor_at(NULL, 0));
    assert_int_equal(safetensors_writer_declaration_index(NULL, 0), (size_t)-1);
    assert_int_equal(safetensors_writer_header_size(NULL), 0);
    safetensors_writer_destroy(NULL);
    {
        safetensors_write_options o;
        memset(&o, 0, sizeof o);
        o.allocator.allocate = (void *(*)(void *, size_t))1; /* alloc without free */
        w = (safetensors_writer *)&o;
        assert_int_equal(safetensors_writer_create(&o, &w, NULL), SAFETENSORS_ERR_ARGUMENT);
        assert_null(w);
    }
}

static void test_header_limit(void **state) {
    safetensors_write_options o;
    safetensors_writer *w;
    safetensors_error err;
    static const char json[] = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}"; /* 57 bytes */
    char name[40];
    uint64_t one = 1;
    (void)state;
    /* the declarations alone are over: refused at add, writer intact */
    memset(&o, 0, sizeof o);
    o.max_header_size = 64;
    assert_int_equal(safetensors_writer_create(&o, &w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_add_tensor(w, "t", 1, SAFETENSORS_F32, 2, shape23, NULL), SAFETENSORS_OK);
    expect_refusal(safetensors_writer_add_tensor(w, "u", 1, SAFETENSORS_U8, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_HEADER_TOO_LARGE, "over the limit of 64");
    expect_refusal(safetensors_writer_add_metadata(w, "k", 1, "v", 1, &err), &err,
                   SAFETENSORS_ERR_HEADER_TOO_LARGE, NULL);
    assert_int_equal(safetensors_writer_plan(w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_header_size(w), 64); /* 57 + 7 spaces */
    assert_int_equal(sizeof json - 1, 57);
    safetensors_writer_destroy(w);
    /* the declarations (56 bytes with one-digit offsets) fit; the real
       JSON (57: "24" has two digits) padded to 64 does not: only the plan
       can know */
    o.max_header_size = 60;
    assert_int_equal(safetensors_writer_create(&o, &w, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_add_tensor(w, "t", 1, SAFETENSORS_F32, 2, shape23, NULL), SAFETENSORS_OK);
    expect_refusal(safetensors_writer_plan(w, &err), &err, SAFETENSORS_ERR_HEADER_TOO_LARGE,
                   "the header would be 64 bytes, over the limit of 60");
    expect_refusal(safetensors_writer_begin_memory(w, name, sizeof name, &err), &err,
                   SAFETENSORS_ERR_HEADER_TOO_LARGE, NULL);
    safetensors_writer_destroy(w);
    /* the data offsets' digits push it over: 188 bytes (192 padded) with
       one-digit offsets, 266 (272) with the real ones */
    o.max_header_size = 200;
    assert_int_equal(safetensors_writer_create(&o, &w, NULL), SAFETENSORS_OK);
    {
        uint64_t huge = (uint64_t)1 << 50;
        assert_int_equal(safetensors_writer_add_tensor(w, "a", 1, SAFETENSORS_U64, 1, &huge, NULL), 0);
        assert_int_equal(safetensors_writer_add_tensor(w, "b", 1, SAFETENSORS_U8, 1, &huge, NULL), 0);
        assert_int_equal(safetensors_writer_add_tensor(w, "c", 1, SAFETENSORS_U8, 1, &one, NULL), 0);
    }
    expect_refusal(safetensors_writer_plan(w, &err), &err, SAFETENSORS_ERR_HEADER_TOO_LARGE,
                   "the header would be 272 bytes, over the limit of 200");
    safetensors_writer_destroy(w);
    /* the default limit is the reader's, 100,000,000 */
    assert_int_equal(safetensors_writer_create(NULL, &w, NULL), SAFETENSORS_OK);
    {
        size_t k;
        safetensors_result r = SAFETENSORS_OK;
        char *long_name = (char *)malloc(1000001);
        memset(long_name, 'n', 1000001);
        for (k = 0; k < 200 && r == SAFETENSORS_OK; k++) {
            long_name[0] = (char)('A' + k % 26);
            long_name[1] = (char)('A' + k / 26);
            r = safetensors_writer_add_tensor(w, long_name, 1000000, SAFETENSORS_U8, 0, NULL, &err);
        }
        expect_refusal(r, &err, SAFETENSORS_ERR_HEADER_TOO_LARGE, "100000000");
        assert_int_equal(k, 100); /* 99 fit, the 100th does not */
        free(long_name);
    }
    safetensors_writer_destroy(w);
    /* overflow of the whole data section: each tensor fits (2^61 - 1
       bytes, the most a size in bits allows), nine do not */
    assert_int_equal(safetensors_writer_create(NULL, &w, NULL), SAFETENSORS_OK);
    {
        uint64_t most = ((uint64_t)1 << 61) - 1;
        char n[2] = "a";
        for (n[0] = 'a'; n[0] <= 'i'; n[0]++)
            assert_int_equal(safetensors_writer_add_tensor(w, n, 1, SAFETENSORS_U8, 1, &most, NULL), 0);
        expect_refusal(safetensors_writer_plan(w, &err), &err, SAFETENSORS_ERR_OVERFLOW,
                       "tensor \"i\": the data section would end past 2^64 bytes");
    }
    safetensors_writer_destroy(w);
}

/* ---------------------------------------------------------------------
   The streaming contract
   --------------------------------------------------------------------- */

static void test_streaming_contract(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    static const uint64_t s4 = 4, s2 = 2, s0 = 0;
    unsigned char buf[512], data[64];
    safetensors_file *f;
    size_t k;
    (void)state;
    for (k = 0; k < sizeof data; k++) data[k] = (unsigned char)(k * 7 + 1);
    assert_int_equal(safetensors_writer_create(NULL, &w, NULL), SAFETENSORS_OK);
    /* declared out of data order: U8 "z" [4], F32 "b" [4], F32 "a" [2], BOOL "e" [0], I64 "q" [2] */
    assert_int_equal(safetensors_writer_add_tensor(w, "z", 1, SAFETENSORS_U8, 1, &s4, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "b", 1, SAFETENSORS_F32, 1, &s4, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "a", 1, SAFETENSORS_F32, 1, &s2, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "e", 1, SAFETENSORS_BOOL, 1, &s0, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "q", 1, SAFETENSORS_I64, 1, &s2, NULL), 0);
    assert_int_equal(safetensors_writer_tensor_count(w), 5);
    assert_int_equal(safetensors_writer_next_tensor(w), 5);
    assert_int_equal(safetensors_writer_plan(w, NULL), 0);
    /* data order: q (I64), a, b (F32 by name), z (U8), e (BOOL, empty) */
    {
        static const char *const names[] = {"q", "a", "b", "z", "e"};
        static const size_t decl[] = {4, 2, 1, 0, 3};
        static const uint64_t begins[] = {0, 16, 24, 40, 44};
        for (k = 0; k < 5; k++) {
            const safetensors_tensor *t = safetensors_writer_tensor_at(w, k);
            assert_string_equal(t->name, names[k]);
            assert_int_equal(safetensors_writer_declaration_index(w, k), decl[k]);
            assert_int_equal(t->begin, begins[k]);
            assert_null(t->data);
        }
        assert_null(safetensors_writer_tensor_at(w, 5));
        assert_int_equal(safetensors_writer_declaration_index(w, 5), (size_t)-1);
    }
    assert_int_equal(safetensors_writer_data_size(w), 44);
    assert_int_equal(safetensors_writer_data_start(w) % 8, 0);
    assert_int_equal(safetensors_writer_file_size(w), safetensors_writer_data_start(w) + 44);
    /* a buffer too small */
    expect_refusal(safetensors_writer_begin_memory(w, buf, (size_t)safetensors_writer_file_size(w) - 1, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, "the buffer holds");
    assert_int_equal(safetensors_writer_begin_memory(w, buf, sizeof buf, NULL), 0);
    expect_refusal(safetensors_writer_begin_memory(w, buf, sizeof buf, &err), &err, SAFETENSORS_ERR_ARGUMENT,
                   "already begun");
    assert_int_equal(safetensors_writer_next_tensor(w), 0);
    /* q gets 10 of its 16 bytes; a may not start yet */
    assert_int_equal(safetensors_writer_write_tensor(w, 0, data, 10, NULL), 0);
    expect_refusal(safetensors_writer_write_tensor(w, 1, data, 1, &err), &err, SAFETENSORS_ERR_SIZE,
                   "tensor \"q\": 10 of its 16 bytes (I64 [2]) were written when tensor \"a\" was started");
    assert_int_equal(err.offset, safetensors_writer_data_start(w) + 10);
    /* too much for q */
    expect_refusal(safetensors_writer_write_tensor(w, 0, data, 7, &err), &err, SAFETENSORS_ERR_SIZE,
                   "tensor \"q\": the write of 7 bytes runs past its end: I64 [2] holds 16 bytes, 10 written so far");
    expect_refusal(safetensors_writer_write_tensor(w, 9, data, 1, &err), &err, SAFETENSORS_ERR_ARGUMENT,
                   "out of range");
    expect_refusal(safetensors_writer_write_tensor(w, 0, NULL, 1, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    /* finishing early names the incomplete tensor */
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_SIZE,
                   "tensor \"q\": 10 of its 16 bytes (I64 [2]) were written; the data section is incomplete");
    /* the rest of q and all of a and half of b in one plain write */
    assert_int_equal(safetensors_writer_write(w, data + 10, 6 + 8 + 8, NULL), 0);
    assert_int_equal(safetensors_writer_next_tensor(w), 2);
    /* q is complete: writing to it again is refused; an empty write is fine */
    expect_refusal(safetensors_writer_write_tensor(w, 0, data, 1, &err), &err, SAFETENSORS_ERR_SIZE,
                   "runs past its end");
    assert_int_equal(safetensors_writer_write_tensor(w, 0, data, 0, NULL), 0);
    assert_int_equal(safetensors_writer_write_tensor(w, 2, data + 32, 8, NULL), 0);
    /* past the end of the data section */
    expect_refusal(safetensors_writer_write(w, data + 40, 5, &err), &err, SAFETENSORS_ERR_SIZE,
                   "the write of 5 bytes runs past the end of the data section, which has 4 bytes left "
                   "(the last tensor is \"e\")");
    /* z by write_tensor, skipping nothing; e needs no call */
    assert_int_equal(safetensors_writer_write(w, data + 32, 0, NULL), 0);
    assert_int_equal(safetensors_writer_write_tensor(w, 3, data + 40, 4, NULL), 0);
    assert_int_equal(safetensors_writer_next_tensor(w), 5);
    assert_int_equal(safetensors_writer_write_tensor(w, 4, NULL, 0, NULL), 0);
    expect_refusal(safetensors_writer_write(w, data, 1, &err), &err, SAFETENSORS_ERR_SIZE, NULL);
    assert_int_equal(safetensors_writer_finish(w, NULL), 0);
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_ARGUMENT, "finished");
    expect_refusal(safetensors_writer_write(w, data, 0, &err), &err, SAFETENSORS_ERR_ARGUMENT, "finished");
    /* read back: the bytes went where the plan said */
    assert_int_equal(safetensors_open_memory(buf, (size_t)safetensors_writer_file_size(w), NULL, &f, &err), 0);
    for (k = 0; k < 5; k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        const safetensors_tensor *p = safetensors_writer_tensor_at(w, k);
        assert_int_equal(t->begin, p->begin);
        assert_int_equal(t->end, p->end);
        assert_string_equal(t->name, p->name);
        if (t->end > t->begin) assert_memory_equal(t->data, data + t->begin, (size_t)(t->end - t->begin));
    }
    safetensors_close(f);
    safetensors_writer_destroy(w);
}

/* The reference's dtype order, shown by one tensor of each dtype. */
static void test_dtype_order(void **state) {
    static const char *const order[] = {"U64", "I64", "F64", "C64", "F32", "U32", "I32", "BF16",
                                        "F16", "U16", "I16", "F8_E5M2FNUZ", "F8_E4M3FNUZ", "F8_E8M0",
                                        "F8_E4M3", "F8_E5M2", "I8", "U8", "F6_E3M2", "F6_E2M3", "F4", "BOOL"};
    safetensors_writer *w;
    uint64_t four = 4;
    int d;
    size_t k;
    (void)state;
    assert_int_equal(safetensors_writer_create(NULL, &w, NULL), 0);
    for (d = 0; d < (int)SAFETENSORS_DTYPE_COUNT; d++) /* named so that name order is the enum order, reversed */
        assert_int_equal(safetensors_writer_add_tensor(w, safetensors_dtype_name((safetensors_dtype)d),
                                                       strlen(safetensors_dtype_name((safetensors_dtype)d)),
                                                       (safetensors_dtype)d, 1, &four, NULL),
                         0);
    assert_int_equal(safetensors_writer_plan(w, NULL), 0);
    for (k = 0; k < SAFETENSORS_DTYPE_COUNT; k++) {
        const safetensors_tensor *t = safetensors_writer_tensor_at(w, k);
        assert_string_equal(safetensors_dtype_name(t->dtype), order[k]);
        /* naturally aligned */
        if (safetensors_dtype_bits(t->dtype) >= 8) assert_int_equal(t->begin % (safetensors_dtype_bits(t->dtype) / 8), 0);
    }
    safetensors_writer_destroy(w);
}

/* ---------------------------------------------------------------------
   Sinks and their errors
   --------------------------------------------------------------------- */

/* Two tensors, 24 + 1000 bytes. */
static safetensors_writer *two_tensor_writer(unsigned flags) {
    safetensors_write_options o;
    safetensors_writer *w;
    uint64_t thousand = 1000;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    assert_int_equal(safetensors_writer_create(&o, &w, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "small", 5, SAFETENSORS_F32, 2, shape23, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, "big", 3, SAFETENSORS_U8, 1, &thousand, NULL), 0);
    return w;
}

static safetensors_result write_two(safetensors_writer *w, unsigned char fill, safetensors_error *err) {
    unsigned char bytes[1024];
    safetensors_result r;
    memset(bytes, fill, sizeof bytes);
    r = safetensors_writer_write(w, bytes, 24, err);
    if (!r) r = safetensors_writer_write(w, bytes, 1000, err);
    if (!r) r = safetensors_writer_finish(w, err);
    return r;
}

static void check_two(const unsigned char *b, size_t len, unsigned char fill) {
    safetensors_file *f;
    const safetensors_tensor *t;
    assert_int_equal(safetensors_open_memory(b, len, NULL, &f, NULL), 0);
    t = safetensors_find(f, "big", 3);
    assert_non_null(t);
    assert_int_equal(((const unsigned char *)t->data)[999], fill);
    safetensors_close(f);
}

static void test_sink_fd_and_stream(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    unsigned char *b;
    size_t len;
    int fd;
    FILE *fp;
    (void)state;
    /* fd, from where it stands: after 3 bytes of our own */
    fd = open(SCRATCH_DIR "/fd.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_fd(w, -1, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    assert_int_equal(safetensors_writer_begin_fd(w, fd, NULL), 0);
    assert_int_equal(write_two(w, 0x11, NULL), 0);
    safetensors_writer_destroy(w);
    assert_int_equal(write(fd, "z", 1), 1); /* still open: not closed by the writer */
    close(fd);
    b = tu_must_read(SCRATCH_DIR "/fd.bin", &len);
    assert_memory_equal(b, "abc", 3);
    check_two(b + 3, len - 4, 0x11);
    free(b);
    /* stream */
    fp = fopen(SCRATCH_DIR "/stream.bin", "wb");
    assert_non_null(fp);
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_stream(w, NULL, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    assert_int_equal(safetensors_writer_begin_stream(w, fp, NULL), 0);
    assert_int_equal(write_two(w, 0x22, NULL), 0);
    safetensors_writer_destroy(w);
    assert_int_equal(fclose(fp), 0);
    b = tu_must_read(SCRATCH_DIR "/stream.bin", &len);
    check_two(b, len, 0x22);
    free(b);
    unlink(SCRATCH_DIR "/fd.bin");
    unlink(SCRATCH_DIR "/stream.bin");
}

static void test_sink_callback_errors(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    membuf out;
    (void)state;
    /* the callback fails in the header: begin reports it, sticky */
    membuf_init(&out);
    out.fail_after = 10;
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_callback(w, NULL, &out, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_writer_begin_callback(w, membuf_sink, &out, &err), &err, SAFETENSORS_ERR_IO,
                   "callback");
    assert_int_equal(err.offset, 10);
    assert_int_equal(err.sys_errno, 0);
    expect_refusal(safetensors_writer_write(w, "x", 1, &err), &err, SAFETENSORS_ERR_IO, NULL);
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_IO, NULL);
    expect_refusal(safetensors_writer_plan(w, &err), &err, SAFETENSORS_ERR_IO, NULL);
    safetensors_writer_destroy(w);
    free(out.bytes);
    /* in the data */
    membuf_init(&out);
    w = two_tensor_writer(0);
    assert_int_equal(safetensors_writer_begin_callback(w, membuf_sink, &out, NULL), 0);
    out.fail_after = out.len + 30;
    expect_refusal(write_two(w, 1, &err), &err, SAFETENSORS_ERR_IO, NULL);
    assert_int_equal(err.offset, safetensors_writer_data_start(w) + 30);
    safetensors_writer_destroy(w);
    free(out.bytes);
    /* the header goes out in pieces of at most 4 KiB; data is passed as given */
    membuf_init(&out);
    {
        safetensors_writer *big;
        static const uint64_t zero = 0;
        char name[300];
        size_t k;
        assert_int_equal(safetensors_writer_create(NULL, &big, NULL), 0);
        memset(name, 'x', sizeof name);
        for (k = 0; k < 100; k++) {
            snprintf(name, 8, "%05zu", k);
            name[5] = 'x';
            assert_int_equal(safetensors_writer_add_tensor(big, name, sizeof name, SAFETENSORS_U8, 1, &zero, NULL), 0);
        }
        assert_int_equal(safetensors_writer_begin_callback(big, membuf_sink, &out, NULL), 0);
        assert_int_equal(out.calls, (out.len + 4095) / 4096);
        assert_int_equal(safetensors_writer_finish(big, NULL), 0);
        assert_int_equal(out.len, safetensors_writer_file_size(big));
        safetensors_writer_destroy(big);
    }
    free(out.bytes);
}

static void test_sink_full_disk(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    int fd = open("/dev/full", O_WRONLY);
    FILE *fp;
    (void)state;
    if (fd < 0) {
        printf("  /dev/full is not available: skipped\n");
        return;
    }
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_fd(w, fd, &err), &err, SAFETENSORS_ERR_IO, "file descriptor");
    assert_int_equal(err.sys_errno, ENOSPC);
    safetensors_writer_destroy(w);
    close(fd);
    /* a stream buffers: the error shows at the latest at finish's fflush */
    fp = fopen("/dev/full", "wb");
    assert_non_null(fp);
    w = two_tensor_writer(0);
    {
        safetensors_result r = safetensors_writer_begin_stream(w, fp, &err);
        if (!r) r = write_two(w, 3, &err);
        expect_refusal(r, &err, SAFETENSORS_ERR_IO, "stream");
        assert_int_equal(err.sys_errno, ENOSPC);
    }
    safetensors_writer_destroy(w);
    fclose(fp);
}

static void test_sink_closed_pipe(void **state) {
    safetensors_writer *w;
    safetensors_error err;
    int fds[2];
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    (void)state;
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_fd(w, fds[1], &err), &err, SAFETENSORS_ERR_IO, NULL);
    assert_int_equal(err.sys_errno, EPIPE);
    safetensors_writer_destroy(w);
    close(fds[1]);
    signal(SIGPIPE, old);
}

/* ---------------------------------------------------------------------
   The file sink: temporary file, rename, cleanup
   --------------------------------------------------------------------- */

static void test_file_atomic_replace(void **state) {
    const char *path = SCRATCH_DIR "/replace.safetensors";
    safetensors_writer *w;
    safetensors_file *old;
    safetensors_error err;
    const safetensors_tensor *t;
    unsigned char *b;
    size_t len;
    struct stat st;
    (void)state;
    unlink(path);
    /* first version, then mapped by a reader */
    w = two_tensor_writer(0);
    assert_int_equal(safetensors_writer_begin_file(w, path, NULL), 0);
    assert_int_equal(temp_files_left(), 1);
    assert_int_equal(stat(path, &st), -1); /* nothing at the path until finish */
    assert_int_equal(write_two(w, 0xaa, NULL), 0);
    assert_int_equal(temp_files_left(), 0);
    safetensors_writer_destroy(w);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(safetensors_open(path, NULL, &old, NULL), 0);
    /* second version: written while the first is mapped */
    w = two_tensor_writer(0);
    assert_int_equal(safetensors_writer_begin_file(w, path, NULL), 0);
    assert_int_equal(write_two(w, 0xbb, NULL), 0);
    safetensors_writer_destroy(w);
    t = safetensors_find(old, "big", 3);
    assert_int_equal(((const unsigned char *)t->data)[0], 0xaa); /* the old view is intact */
    assert_int_equal(((const unsigned char *)t->data)[999], 0xaa);
    safetensors_close(old);
    b = tu_must_read(path, &len);
    check_two(b, len, 0xbb);
    free(b);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* permissions carried over */
    /* abandoned: destroy before finish removes the temporary file, the
       old file stays */
    w = two_tensor_writer(0);
    assert_int_equal(safetensors_writer_begin_file(w, path, NULL), 0);
    assert_int_equal(safetensors_writer_write(w, "12345678", 8, NULL), 0);
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_SIZE, "tensor \"small\": 8 of its 24");
    assert_int_equal(temp_files_left(), 1);
    safetensors_writer_destroy(w);
    assert_int_equal(temp_files_left(), 0);
    b = tu_must_read(path, &len);
    check_two(b, len, 0xbb);
    free(b);
    /* a directory that does not exist */
    w = two_tensor_writer(0);
    expect_refusal(safetensors_writer_begin_file(w, SCRATCH_DIR "/no/such/dir/x.safetensors", &err), &err,
                   SAFETENSORS_ERR_IO, "temporary file");
    assert_int_equal(err.sys_errno, ENOENT);
    expect_refusal(safetensors_writer_begin_file(w, NULL, &err), &err, SAFETENSORS_ERR_ARGUMENT, NULL);
    /* the refusal left it usable: another sink works */
    {
        membuf out;
        membuf_init(&out);
        assert_int_equal(safetensors_writer_begin_callback(w, membuf_sink, &out, NULL), 0);
        assert_int_equal(write_two(w, 7, NULL), 0);
        check_two(out.bytes, out.len, 7);
        free(out.bytes);
    }
    safetensors_writer_destroy(w);
    /* a rename that fails: the target is a non-empty directory */
    mkdir(SCRATCH_DIR "/isdir", 0777);
    mkdir(SCRATCH_DIR "/isdir/inner", 0777);
    w = two_tensor_writer(0);
    assert_int_equal(safetensors_writer_begin_file(w, SCRATCH_DIR "/isdir", NULL), 0);
    expect_refusal(write_two(w, 1, &err), &err, SAFETENSORS_ERR_IO, "rename");
    assert_int_not_equal(err.sys_errno, 0);
    assert_int_equal(temp_files_left(), 0);
    safetensors_writer_destroy(w);
    rmdir(SCRATCH_DIR "/isdir/inner");
    rmdir(SCRATCH_DIR "/isdir");
    unlink(path);
}

/* A write error in the middle of the file (the file size limit): the
   temporary file is removed at once and the target keeps its old bytes. */
static void test_file_write_error(void **state) {
    const char *path = SCRATCH_DIR "/fsize.safetensors";
    pid_t pid;
    int status;
    unsigned char *b;
    size_t len;
    (void)state;
    {
        safetensors_writer *w = two_tensor_writer(SAFETENSORS_WRITE_NO_SYNC);
        assert_int_equal(safetensors_writer_begin_file(w, path, NULL), 0);
        assert_int_equal(write_two(w, 0x33, NULL), 0);
        safetensors_writer_destroy(w);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        safetensors_writer *w = two_tensor_writer(0);
        safetensors_error err;
        safetensors_result r;
        signal(SIGXFSZ, SIG_IGN);
        rl.rlim_cur = rl.rlim_max = 200;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        r = safetensors_writer_begin_file(w, path, &err);
        if (!r) r = write_two(w, 0x44, &err);
        if (r != SAFETENSORS_ERR_IO) _exit(11);
        if (err.sys_errno != EFBIG) _exit(12);
        if (strstr(err.message, "cannot write the temporary file") == NULL) _exit(13);
        if (temp_files_left() != 0) _exit(14); /* removed at the error, before destroy */
        safetensors_writer_destroy(w);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    b = tu_must_read(path, &len);
    check_two(b, len, 0x33);
    free(b);
    unlink(path);
}

/* ---------------------------------------------------------------------
   Allocation failure at every allocation
   --------------------------------------------------------------------- */

typedef struct counting {
    long calls, fail_at; /* the fail_at-th allocation (1-based) fails; 0: none */
    long live;
    size_t live_bytes;
    int size_mismatch;
} counting;

typedef struct block_head {
    size_t size;
    size_t pad;
} block_head;

static void *c_alloc(void *ctx, size_t size) {
    counting *c = (counting *)ctx;
    block_head *h;
    if (++c->calls == c->fail_at) return NULL;
    h = (block_head *)malloc(sizeof *h + size);
    if (!h) return NULL;
    h->size = size;
    c->live++;
    c->live_bytes += size;
    return h + 1;
}

static void c_free(void *ctx, void *ptr, size_t size) {
    counting *c = (counting *)ctx;
    block_head *h = (block_head *)ptr - 1;
    if (h->size != size) c->size_mismatch = 1;
    c->live--;
    c->live_bytes -= h->size;
    free(h);
}

static void *c_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size) {
    void *fresh = c_alloc(ctx, new_size);
    if (!fresh) return NULL;
    memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    c_free(ctx, ptr, old_size);
    return fresh;
}

/* Everything a writer allocates: many tensors (index rebuilds, arena and
   dims growth), metadata, the plan, then each sink. */
static safetensors_result alloc_scenario(const safetensors_write_options *o, int sink, safetensors_error *err) {
    safetensors_writer *w;
    safetensors_result r = safetensors_writer_create(o, &w, err);
    uint64_t shape[3] = {2, 1, 3};
    size_t k;
    unsigned char buf[8192], data[64];
    membuf out;
    memset(data, 0x5c, sizeof data);
    if (r) return r;
    for (k = 0; k < 40 && !r; k++) {
        char name[16], key[16];
        int n = snprintf(name, sizeof name, "tensor.%zu", k);
        r = safetensors_writer_add_tensor(w, name, (size_t)n, (safetensors_dtype)(k % 19), 1 + k % 3, shape, err);
        if (!r && k % 4 == 0) {
            n = snprintf(key, sizeof key, "key%zu", k);
            r = safetensors_writer_add_metadata(w, key, (size_t)n, name, strlen(name), err);
        }
    }
    if (!r) r = safetensors_writer_plan(w, err);
    membuf_init(&out);
    if (!r) {
        if (sink == 0) r = safetensors_writer_begin_memory(w, buf, sizeof buf, err);
        else if (sink == 1) r = safetensors_writer_begin_callback(w, membuf_sink, &out, err);
        else r = safetensors_writer_begin_file(w, SCRATCH_DIR "/alloc.safetensors", err);
    }
    while (!r && safetensors_writer_next_tensor(w) < safetensors_writer_tensor_count(w)) {
        const safetensors_tensor *t = safetensors_writer_tensor_at(w, safetensors_writer_next_tensor(w));
        r = safetensors_writer_write_tensor(w, safetensors_writer_next_tensor(w), data, (size_t)(t->end - t->begin),
                                            err);
    }
    if (!r) r = safetensors_writer_finish(w, err);
    safetensors_writer_destroy(w);
    free(out.bytes);
    return r;
}

static void test_allocation_failure(void **state) {
    int scenario;
    (void)state;
    for (scenario = 0; scenario < 5; scenario++) {
        long fail_at;
        int succeeded = 0;
        for (fail_at = 1; !succeeded; fail_at++) {
            counting c;
            safetensors_write_options o;
            safetensors_error err;
            safetensors_result r;
            void *bytes = NULL;
            size_t len = 0;
            memset(&c, 0, sizeof c);
            c.fail_at = fail_at;
            memset(&o, 0, sizeof o);
            o.allocator.allocate = c_alloc;
            o.allocator.deallocate = c_free;
            o.allocator.reallocate = scenario == 4 ? NULL : c_realloc;
            o.allocator.ctx = &c;
            if (scenario < 3) {
                r = alloc_scenario(&o, scenario, &err);
            } else { /* the one-call writer */
                safetensors_tensor_input t[3];
                safetensors_metadata_entry m = {"format", 6, "pt", 2};
                static const unsigned char data[24] = {1, 2, 3};
                size_t k;
                memset(t, 0, sizeof t);
                for (k = 0; k < 3; k++) {
                    t[k].name = k == 0 ? "w" : k == 1 ? "b" : "e";
                    t[k].name_len = 1;
                    t[k].dtype = k == 0 ? SAFETENSORS_F32 : SAFETENSORS_U8;
                    t[k].ndim = k == 2 ? 0 : 2;
                    t[k].shape = shape23;
                    t[k].data = data;
                    t[k].size = k == 0 ? 24 : k == 1 ? 6 : 1;
                }
                r = scenario == 3 ? safetensors_write_memory(t, 3, &m, 1, &o, &bytes, &len, &err)
                                  : safetensors_write_file(SCRATCH_DIR "/alloc1.safetensors", t, 3, &m, 1, &o, &err);
                if (r == SAFETENSORS_OK && bytes) safetensors_write_memory_free(&o, bytes, len);
            }
            if (r == SAFETENSORS_OK) {
                assert_true(c.calls < fail_at); /* every allocation happened, none failed */
                succeeded = 1;
            } else {
                if (r != SAFETENSORS_ERR_NOMEM)
                    fail_msg("scenario %d, allocation %ld: %s (%s)", scenario, fail_at, safetensors_result_name(r),
                             err.message);
                assert_null(bytes);
            }
            if (c.live != 0 || c.size_mismatch)
                fail_msg("scenario %d, failing allocation %ld: %ld blocks leaked, size mismatch %d", scenario, fail_at,
                         c.live, c.size_mismatch);
            assert_int_equal(temp_files_left(), 0);
        }
        printf("  allocation failure, scenario %d: %ld allocations, each failed once, nothing leaked\n", scenario,
               fail_at - 2);
    }
    unlink(SCRATCH_DIR "/alloc.safetensors");
    unlink(SCRATCH_DIR "/alloc1.safetensors");
}

/* ---------------------------------------------------------------------
   The one-call writers' own checks
   --------------------------------------------------------------------- */

static void test_one_call_checks(void **state) {
    safetensors_tensor_input t[2];
    safetensors_error err;
    void *bytes = (void *)&err;
    size_t len = 99;
    static const unsigned char data[24] = {0};
    safetensors_metadata_entry m = {"k", 1, "v", 1};
    (void)state;
    memset(t, 0, sizeof t);
    t[0].name = "w";
    t[0].name_len = 1;
    t[0].dtype = SAFETENSORS_F32;
    t[0].ndim = 2;
    t[0].shape = shape23;
    t[0].data = data;
    t[0].size = 20;
    expect_refusal(safetensors_write_memory(t, 1, NULL, 0, NULL, &bytes, &len, &err), &err, SAFETENSORS_ERR_SIZE,
                   "tensor \"w\": 20 bytes given but F32 [2, 3] needs 24");
    assert_null(bytes);
    assert_int_equal(len, 0);
    expect_refusal(safetensors_write_file(SCRATCH_DIR "/one.safetensors", t, 1, NULL, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_SIZE, NULL);
    assert_int_equal(access(SCRATCH_DIR "/one.safetensors", F_OK), -1); /* nothing created */
    assert_int_equal(temp_files_left(), 0);
    t[0].size = 24;
    t[0].data = NULL;
    expect_refusal(safetensors_write_memory(t, 1, NULL, 0, NULL, &bytes, &len, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, "data is NULL");
    t[0].data = data;
    t[1] = t[0];
    expect_refusal(safetensors_write_memory(t, 2, &m, 1, NULL, &bytes, &len, &err), &err, SAFETENSORS_ERR_DUPLICATE,
                   "tensor \"w\"");
    expect_refusal(safetensors_write_memory(NULL, 1, NULL, 0, NULL, &bytes, &len, &err), &err,
                   SAFETENSORS_ERR_ARGUMENT, NULL);
    expect_refusal(safetensors_write_memory(t, 1, NULL, 1, NULL, &bytes, &len, &err), &err, SAFETENSORS_ERR_ARGUMENT,
                   NULL);
    expect_refusal(safetensors_write_memory(t, 1, NULL, 0, NULL, NULL, &len, &err), &err, SAFETENSORS_ERR_ARGUMENT,
                   NULL);
    /* no tensors, no metadata: "{}" and six spaces, as the reference */
    assert_int_equal(safetensors_write_memory(NULL, 0, NULL, 0, NULL, &bytes, &len, &err), 0);
    assert_int_equal(len, 16);
    assert_memory_equal(bytes, "\x08\0\0\0\0\0\0\0{}      ", 16);
    safetensors_write_memory_free(NULL, bytes, len);
    safetensors_write_memory_free(NULL, NULL, 0);
}

/* ---------------------------------------------------------------------
   The temporary file is private until it is renamed
   --------------------------------------------------------------------- */

/* The path of the one temporary file in the scratch folder; a probe or a
   second file would make two. */
static void the_temp_file(char *path, size_t cap) {
    DIR *d = opendir(SCRATCH_DIR);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".tmp-")) continue;
        assert_true((size_t)snprintf(path, cap, "%s/%s", SCRATCH_DIR, e->d_name) < cap);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);
}

/* Whether a process running as `nobody` can open path for reading (only
   testable as root: 1 when it is not). */
static int others_can_read(const char *path) {
    pid_t pid;
    int status;
    if (geteuid() != 0) return 0;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd;
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        fd = open(path, O_RDONLY);
        _exit(fd >= 0 ? 1 : errno == EACCES ? 0 : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 2);
    assert_int_not_equal(WEXITSTATUS(status), 3);
    return WEXITSTATUS(status) == 1;
}

/* Writes the two-tensor file to path and returns its permission bits. At
   every step before finish, and between the two tensors in particular, the
   temporary file is private to its owner. */
static unsigned write_private(const char *path) {
    safetensors_writer *w = two_tensor_writer(SAFETENSORS_WRITE_NO_SYNC);
    unsigned char bytes[1000];
    char tmp[512];
    struct stat st;
    int step;
    memset(bytes, 0x5c, sizeof bytes);
    assert_int_equal(safetensors_writer_begin_file(w, path, NULL), 0);
    the_temp_file(tmp, sizeof tmp);
    for (step = 0; step < 3; step++) {
        assert_int_equal(stat(tmp, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        assert_false(others_can_read(tmp));
        if (step == 0) assert_int_equal(safetensors_writer_write_tensor(w, 0, bytes, 24, NULL), 0);
        if (step == 1) assert_int_equal(safetensors_writer_write_tensor(w, 1, bytes, 1000, NULL), 0);
    }
    assert_int_equal(safetensors_writer_finish(w, NULL), 0);
    safetensors_writer_destroy(w);
    assert_int_equal(temp_files_left(), 0);
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static void test_file_permissions(void **state) {
    static const unsigned kept[] = {0600, 0640, 0604, 0755};
    static const mode_t masks[] = {022, 027, 077, 002, 0};
    const char *path = SCRATCH_DIR "/private.safetensors";
    mode_t old = umask(022);
    size_t i;
    (void)state;
    assert_int_equal(tu_mkdir_p(SCRATCH_DIR), 0);
    unlink(path);
    /* a file being replaced keeps its bits, whatever the umask */
    assert_int_equal(write_private(path), 0644);
    for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        assert_int_equal(chmod(path, (mode_t)kept[i]), 0);
        umask(077);
        assert_int_equal(write_private(path), kept[i]);
        umask(022);
    }
    assert_int_equal(chmod(path, 0600), 0);
    assert_false(others_can_read(path));
    /* a new file gets 0666 less the umask, as open(2) would give it */
    for (i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        assert_int_equal(unlink(path), 0);
        umask(masks[i]);
        assert_int_equal(write_private(path), 0666 & ~masks[i]);
    }
    umask(old);
    unlink(path);
}

/* ---------------------------------------------------------------------
   Every message stays valid UTF-8, however long the names it quotes
   --------------------------------------------------------------------- */

#define expect_message(err, needle) expect_message_at(__LINE__, (err), (needle))

static void expect_message_at(int line, const safetensors_error *err, const char *needle) {
    if (!tu_message_ok(err))
        fail_msg("line %d: not one line of UTF-8 within the buffer: \"%.191s\"", line, err->message);
    if (needle && strstr(err->message, needle) == NULL)
        fail_msg("line %d: message \"%s\" lacks \"%s\"", line, err->message, needle);
}

/* The parser's messages about a tensor, a dtype and a metadata key. */
static void check_parser_messages(const char *name) {
    size_t cap = 3 * strlen(name) + 256, len;
    char *hdr = (char *)malloc(cap);
    unsigned char *file;
    safetensors_file *f;
    safetensors_error err;
    assert_non_null(hdr);
    snprintf(hdr, cap, "{\"%s\":{\"dtype\":\"F33\",\"shape\":[],\"data_offsets\":[0,4]}}", name);
    file = tu_build(hdr, 4, &len);
    assert_int_equal(safetensors_open_memory(file, len, NULL, &f, &err), SAFETENSORS_ERR_DTYPE);
    expect_message(&err, "tensor \"");
    free(file);
    snprintf(hdr, cap, "{\"t\":{\"dtype\":\"%s\",\"shape\":[],\"data_offsets\":[0,4]}}", name);
    file = tu_build(hdr, 4, &len);
    assert_int_equal(safetensors_open_memory(file, len, NULL, &f, &err), SAFETENSORS_ERR_DTYPE);
    expect_message(&err, "unknown dtype");
    free(file);
    snprintf(hdr, cap, "{\"__metadata__\":{\"%s\":\"1\",\"%s\":\"2\"}}", name, name);
    file = tu_build(hdr, 0, &len);
    assert_int_equal(safetensors_open_memory(file, len, NULL, &f, &err), SAFETENSORS_ERR_DUPLICATE);
    expect_message(&err, " appears twice");
    free(file);
    free(hdr);
}

/* The writer's: a name twice, a key twice, bytes that are not UTF-8 after
   a long valid start, a write past a tensor's end, a tensor left short. */
static void check_writer_messages(const char *name) {
    size_t n = strlen(name);
    char *bad = (char *)malloc(n + 2);
    unsigned char buf[4096], bytes[8] = {0};
    safetensors_writer *w;
    safetensors_error err;
    assert_non_null(bad);
    memcpy(bad, name, n);
    bad[n] = '\xff';
    bad[n + 1] = '\0';
    assert_int_equal(safetensors_writer_create(NULL, &w, NULL), 0);
    assert_int_equal(safetensors_writer_add_tensor(w, name, n, SAFETENSORS_F32, 0, NULL, NULL), 0);
    expect_refusal(safetensors_writer_add_tensor(w, name, n, SAFETENSORS_F32, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_DUPLICATE, NULL);
    expect_message(&err, "tensor \"");
    assert_int_equal(safetensors_writer_add_metadata(w, name, n, "v", 1, NULL), 0);
    expect_refusal(safetensors_writer_add_metadata(w, name, n, "v", 1, &err), &err, SAFETENSORS_ERR_DUPLICATE, NULL);
    expect_message(&err, NULL);
    expect_refusal(safetensors_writer_add_tensor(w, bad, n + 1, SAFETENSORS_F32, 0, NULL, &err), &err,
                   SAFETENSORS_ERR_UTF8, NULL);
    expect_message(&err, "(0xff)");
    expect_refusal(safetensors_writer_add_metadata(w, "k", 1, bad, n + 1, &err), &err, SAFETENSORS_ERR_UTF8, NULL);
    expect_message(&err, "(0xff)");
    assert_int_equal(safetensors_writer_begin_memory(w, buf, sizeof buf, NULL), 0);
    expect_refusal(safetensors_writer_write_tensor(w, 0, bytes, 8, &err), &err, SAFETENSORS_ERR_SIZE, NULL);
    expect_message(&err, "runs past its end");
    assert_int_equal(safetensors_writer_write_tensor(w, 0, bytes, 2, NULL), 0);
    expect_refusal(safetensors_writer_finish(w, &err), &err, SAFETENSORS_ERR_SIZE, NULL);
    expect_message(&err, NULL);
    safetensors_writer_destroy(w);
    free(bad);
}

/* I/O: paths made of such names, in folders that do not exist. The
   message names the path (its end when it is cut), then what the system
   says and its number. */
static void check_io_messages(const char *name) {
    size_t cap = 2 * strlen(name) + 128;
    char *path = (char *)malloc(cap), words[300];
    safetensors_writer *w = two_tensor_writer(0);
    safetensors_file *f;
    safetensors_error err;
    assert_non_null(path);
    snprintf(path, cap, SCRATCH_DIR "/no-such-%s/%s.safetensors", name, name);
    expect_refusal(safetensors_writer_begin_file(w, path, &err), &err, SAFETENSORS_ERR_IO,
                   "cannot create the temporary file next to \"");
    assert_int_not_equal(err.sys_errno, 0);
    snprintf(words, sizeof words, "%s (errno %d)", strerror(err.sys_errno), err.sys_errno);
    expect_message(&err, words);
    expect_message(&err, ".safetensors\": ");
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_ERR_IO);
    expect_message(&err, words);
    expect_message(&err, ".safetensors\": ");
    assert_int_equal(strncmp(err.message, "cannot open \"", 13), 0);
    safetensors_writer_destroy(w);
    free(path);
}

static void test_messages_utf8(void **state) {
    static const char *const chars[] = {"\xc3\xa4", "\xe6\xa8\xa1", "\xf0\x9f\x98\x80"}; /* 2, 3 and 4 bytes */
    size_t c, ascii;
    (void)state;
    assert_int_equal(tu_mkdir_p(SCRATCH_DIR), 0);
    for (c = 0; c < sizeof chars / sizeof chars[0]; c++) {
        for (ascii = 0; ascii < 4; ascii++) { /* so that a cut meets every byte of a character */
            char *name = tu_long_name(ascii, chars[c], 60, "");
            assert_non_null(name);
            check_parser_messages(name);
            check_writer_messages(name);
            check_io_messages(name);
            free(name);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_corpus),
        cmocka_unit_test(test_conformance_rewrite),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_streaming_contract),
        cmocka_unit_test(test_dtype_order),
        cmocka_unit_test(test_sink_fd_and_stream),
        cmocka_unit_test(test_sink_callback_errors),
        cmocka_unit_test(test_sink_full_disk),
        cmocka_unit_test(test_sink_closed_pipe),
        cmocka_unit_test(test_file_atomic_replace),
        cmocka_unit_test(test_file_write_error),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_one_call_checks),
        cmocka_unit_test(test_file_permissions),
        cmocka_unit_test(test_messages_utf8),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
