/* The name lookups: the index behind a file's tensors, a model's tensors
   and the writer's declarations, and the sorted table of a file's metadata
   keys (whose duplicates are tested here too). Built twice by the
   Makefile: as it ships, and with SAFETENSORS_TEST_FORCE_HASH making every
   name hash alike, so that past the probe limit every name spills into the
   sorted runs and the collision paths (probe past an equal hash, reject a
   prefix, bisect a run, merge runs, seal) are walked on every lookup.

   Each test runs under alarm(): a lookup that loops on a full window or a
   run fails the suite instead of hanging it. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include "test_util.h"

#define TMP "build/test_index.tmp"

/* A growable text buffer for headers. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < room) break;
        t->cap = 2 * t->cap + (size_t)n + 64;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    t->len += (size_t)n;
}

/* The name of tensor i: short, distinct, sharing prefixes with its
   neighbours so that a lookup that compares too little finds the wrong one. */
static void tensor_name(char *out, size_t i)
{
    sprintf(out, "layers.%u.w", (unsigned)i);
}

/* n U8 tensors of one byte each and m metadata entries; with dup_at < n,
   tensor dup_at repeats the name of tensor dup_of (a duplicate). */
static unsigned char *build_file(size_t n, size_t m, size_t dup_at, size_t dup_of, size_t *len, char *hdr_out,
                                 size_t hdr_cap)
{
    text h = {NULL, 0, 0};
    unsigned char *b;
    size_t i;
    text_add(&h, "{");
    if (m) {
        text_add(&h, "\"__metadata__\":{");
        for (i = 0; i < m; i++) text_add(&h, "%s\"key.%u\":\"v%u\"", i ? "," : "", (unsigned)i, (unsigned)i);
        text_add(&h, "}%s", n ? "," : "");
    }
    for (i = 0; i < n; i++) {
        char name[32];
        tensor_name(name, i == dup_at ? dup_of : i);
        text_add(&h, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%u,%u]}", i ? "," : "", name,
                 (unsigned)i, (unsigned)(i + 1));
    }
    text_add(&h, "}");
    b = tu_build(h.p, n, len);
    if (hdr_out) {
        assert_true(h.len < hdr_cap);
        memcpy(hdr_out, h.p, h.len + 1);
    }
    free(h.p);
    return b;
}

/* Names that are not in a file of n tensors but look like its names. */
static void check_missing(const safetensors_file *f, size_t n)
{
    char name[40];
    size_t i, len;
    assert_null(safetensors_find(f, "", 0));
    assert_null(safetensors_find(f, NULL, 0));
    assert_null(safetensors_find(f, "layers.", 7));
    for (i = 0; i < n + 40; i++) {
        tensor_name(name, i);
        len = strlen(name);
        if (i >= n) assert_null(safetensors_find(f, name, len));
        assert_null(safetensors_find(f, name, len - 1));      /* a prefix */
        name[len] = 'x';
        assert_null(safetensors_find(f, name, len + 1));      /* one byte longer */
        name[len] = '\0';
        assert_null(safetensors_find(f, name, len + 1));      /* with its NUL */
        name[len - 1] = 'v';
        assert_null(safetensors_find(f, name, len));          /* last byte changed */
    }
}

static void check_file(size_t n, size_t m)
{
    size_t len, i;
    unsigned char *b = build_file(n, m, (size_t)-1, 0, &len, NULL, 0);
    safetensors_file *f;
    safetensors_error err;
    char name[40];
    if (safetensors_open_memory(b, len, NULL, &f, &err) != SAFETENSORS_OK) fail_msg("%zu: %s", n, err.message);
    assert_int_equal(safetensors_tensor_count(f), n);
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t;
        tensor_name(name, i);
        t = safetensors_find(f, name, strlen(name));
        assert_non_null(t);
        assert_int_equal(t->name_len, strlen(name));
        assert_memory_equal(t->name, name, t->name_len);
        assert_int_equal(t->begin, i); /* the table's own entry, not a lookalike */
    }
    check_missing(f, n);
    for (i = 0; i < m; i++) {
        safetensors_metadata_entry e;
        char value[32];
        sprintf(name, "key.%u", (unsigned)i);
        sprintf(value, "v%u", (unsigned)i);
        assert_int_equal(safetensors_metadata_find(f, name, strlen(name), &e), 1);
        assert_string_equal(e.value, value);
        assert_int_equal(safetensors_metadata_find(f, name, strlen(name) + 1, &e), 0); /* with its NUL */
        assert_true(tu_entry_zeroed(&e));
    }
    sprintf(name, "key.%u", (unsigned)m);
    assert_int_equal(safetensors_metadata_find(f, name, strlen(name), NULL), 0);
    assert_int_equal(safetensors_metadata_find(f, "key.", 4, NULL), 0);
    safetensors_close(f);
    free(b);
}

static void test_file_lookups(void **state)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 5000};
    size_t k;
    (void)state;
    alarm(60);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) check_file(sizes[k], sizes[k]);
    alarm(0);
}

/* Names of every length to 64, and about 255 (the longest a slot keeps
   the length of), that are prefixes of one another, and each with its last
   byte changed: the hash reads a name's last word where it overlaps the one
   before, and a find compares the name at the place its slot keeps, with
   the length from the slot or, for a long name, from the row. */
static size_t name_length(size_t k)
{
    static const size_t longer[] = {253, 254, 255, 256, 257, 400};
    return k < 64 ? k + 1 : longer[k - 64];
}

static void test_name_lengths(void **state)
{
    enum { LENGTHS = 64 + 6 };
    text h = {NULL, 0, 0};
    char name[420];
    unsigned char *b;
    size_t len, k, i = 0;
    safetensors_file *f;
    safetensors_error err;
    (void)state;
    text_add(&h, "{");
    for (k = 0; k < LENGTHS; k++) {
        size_t l = name_length(k);
        memset(name, 'a', l);
        name[l] = '\0';
        text_add(&h, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%u,%u]}", k ? "," : "", name,
                 (unsigned)i, (unsigned)i + 1);
        i++;
        name[l - 1] = 'b';
        text_add(&h, ",\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%u,%u]}", name, (unsigned)i,
                 (unsigned)i + 1);
        i++;
    }
    text_add(&h, "}");
    b = tu_build(h.p, i, &len);
    if (safetensors_open_memory(b, len, NULL, &f, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
    for (k = 0; k < LENGTHS; k++) {
        const safetensors_tensor *t;
        size_t l = name_length(k);
        memset(name, 'a', sizeof name);
        t = safetensors_find(f, name, l);
        assert_non_null(t);
        assert_int_equal(t->begin, 2 * k);
        name[l - 1] = 'b';
        t = safetensors_find(f, name, l);
        assert_non_null(t);
        assert_int_equal(t->begin, 2 * k + 1);
        name[l] = 'b';
        assert_null(safetensors_find(f, name, l + 1)); /* "a..bb" */
    }
    memset(name, 'a', sizeof name);
    assert_null(safetensors_find(f, name, 65));
    assert_null(safetensors_find(f, name, 258));
    assert_null(safetensors_find(f, name, 401));
    assert_null(safetensors_find(f, name, 0));
    safetensors_close(f);
    free(b);
    free(h.p);
}

/* A name given twice is refused at its second occurrence, wherever the
   index put the first: in a slot or in a run. */
static void test_duplicate_tensor(void **state)
{
    static const size_t cases[][3] = {{40, 39, 3}, {40, 39, 38}, {300, 299, 100}, {300, 250, 249}, {300, 5, 2},
                                      {3000, 2999, 1500}, {33, 32, 0}};
    size_t k;
    (void)state;
    alarm(60);
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = cases[k][0], at = cases[k][1], of = cases[k][2], len;
        static char hdr[1 << 20];
        char needle[48], name[32];
        unsigned char *b = build_file(n, 0, at, of, &len, hdr, sizeof hdr);
        safetensors_file *f;
        safetensors_error err;
        tensor_name(name, of);
        sprintf(needle, "\"%s\"", name);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_DUPLICATE);
        assert_null(f);
        /* the second occurrence: the needle's second hit in the header */
        assert_int_equal(err.offset, tu_pos_n(hdr, needle, 2));
        assert_non_null(strstr(err.message, name));
        free(b);
    }
    alarm(0);
}

static void test_duplicate_metadata(void **state)
{
    size_t n;
    (void)state;
    alarm(60);
    for (n = 34; n < 300; n += 133) {
        text h = {NULL, 0, 0};
        size_t i, len;
        unsigned char *b;
        safetensors_file *f;
        safetensors_error err;
        text_add(&h, "{\"__metadata__\":{");
        for (i = 0; i < n; i++) text_add(&h, "\"k%u\":\"v\",", (unsigned)i);
        text_add(&h, "\"k%u\":\"again\"}}", (unsigned)(n - 2));
        b = tu_build(h.p, 0, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_DUPLICATE);
        {
            char needle[32];
            sprintf(needle, "\"k%u\"", (unsigned)(n - 2));
            assert_int_equal(err.offset, tu_pos_n(h.p, needle, 2));
        }
        free(b);
        free(h.p);
    }
    alarm(0);
}

/* Two names given twice: the second occurrence that comes first in the
   file is refused, whichever of the two reached the index first and
   wherever each landed (a window slot, or a run: in the collide build
   every name past the probe limit spills). For tensors and metadata keys. */
static void test_earliest_duplicate(void **state)
{
    /* {first x, second x, first y, second y}, positions among 300 names */
    static const unsigned cases[][4] = {{5, 200, 250, 260}, {250, 260, 5, 270}, {3, 290, 2, 280},
                                        {100, 101, 50, 150}, {0, 299, 1, 298}, {20, 21, 10, 22}};
    size_t k, meta;
    (void)state;
    alarm(60);
    for (meta = 0; meta < 2; meta++)
        for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            const unsigned *c = cases[k];
            unsigned i, want = c[1] < c[3] ? c[0] : c[2];
            text h = {NULL, 0, 0};
            char needle[32];
            size_t len;
            unsigned char *b;
            safetensors_file *f;
            safetensors_error err;
            text_add(&h, meta ? "{\"__metadata__\":{" : "{");
            for (i = 0; i < 300; i++) {
                unsigned name = i == c[1] ? c[0] : i == c[3] ? c[2] : i;
                if (meta) text_add(&h, "%s\"k%u\":\"v\"", i ? "," : "", name);
                else text_add(&h, "%s\"t%u\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}", i ? "," : "", name);
            }
            text_add(&h, meta ? "}}" : "}");
            b = tu_build(h.p, 0, &len);
            assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_DUPLICATE);
            assert_null(f);
            sprintf(needle, meta ? "\"k%u\"" : "\"t%u\"", want);
            assert_int_equal(err.offset, tu_pos_n(h.p, needle, 2));
            assert_non_null(strstr(err.message, needle));
            free(b);
            free(h.p);
        }
    alarm(0);
}

/* The writer checks every declaration against all before it. */
static void test_writer_names(void **state)
{
    safetensors_writer *w;
    safetensors_error err;
    size_t i, n = 2000;
    char name[40];
    static const uint64_t one = 1;
    void *out;
    size_t out_len;
    safetensors_file *f;
    (void)state;
    alarm(60);
    assert_int_equal(safetensors_writer_create(NULL, &w, &err), SAFETENSORS_OK);
    for (i = 0; i < n; i++) {
        tensor_name(name, i);
        if (safetensors_writer_add_tensor(w, name, strlen(name), SAFETENSORS_U8, 1, &one, &err) != SAFETENSORS_OK)
            fail_msg("%s", err.message);
        sprintf(name, "key.%u", (unsigned)i);
        if (i % 4 == 0) assert_int_equal(safetensors_writer_add_metadata(w, name, strlen(name), "v", 1, &err), 0);
    }
    for (i = 0; i < n; i += 97) {
        tensor_name(name, i);
        assert_int_equal(safetensors_writer_add_tensor(w, name, strlen(name), SAFETENSORS_U8, 1, &one, &err),
                         SAFETENSORS_ERR_DUPLICATE);
        sprintf(name, "key.%u", (unsigned)i);
        assert_int_equal(safetensors_writer_add_metadata(w, name, strlen(name), "w", 1, &err),
                         i % 4 == 0 ? SAFETENSORS_ERR_DUPLICATE : SAFETENSORS_OK);
    }
    assert_int_equal(safetensors_writer_tensor_count(w), n);
    assert_int_equal(safetensors_writer_plan(w, &err), SAFETENSORS_OK);
    out_len = (size_t)safetensors_writer_file_size(w);
    out = malloc(out_len);
    assert_non_null(out);
    assert_int_equal(safetensors_writer_begin_memory(w, out, out_len, &err), SAFETENSORS_OK);
    for (i = 0; i < n; i++) assert_int_equal(safetensors_writer_write(w, "\x2a", 1, &err), SAFETENSORS_OK);
    assert_int_equal(safetensors_writer_finish(w, &err), SAFETENSORS_OK);
    safetensors_writer_destroy(w);
    assert_int_equal(safetensors_open_memory(out, out_len, NULL, &f, &err), SAFETENSORS_OK);
    for (i = 0; i < n; i++) {
        tensor_name(name, i);
        assert_non_null(safetensors_find(f, name, strlen(name)));
    }
    check_missing(f, n);
    safetensors_close(f);
    free(out);
    alarm(0);
}

static void write_file(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* A model of n tensors over two shards, eager and lazy. */
static void test_model_lookups(void **state)
{
    static const size_t sizes[] = {16, 32, 64, 200};
    size_t k;
    (void)state;
    alarm(60);
    (void)mkdir("build", 0777);
    (void)mkdir(TMP, 0777);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k], half = n / 2, i, len, mode;
        text h[2] = {{NULL, 0, 0}, {NULL, 0, 0}}, ix = {NULL, 0, 0};
        char name[40];
        text_add(&ix, "{\"weight_map\":{");
        for (i = 0; i < n; i++) {
            text *t = &h[i >= half];
            size_t at = i >= half ? i - half : i;
            tensor_name(name, i);
            text_add(t, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%u,%u]}", t->len ? "," : "{", name,
                     (unsigned)at, (unsigned)(at + 1));
            text_add(&ix, "%s\"%s\":\"s%u.safetensors\"", i ? "," : "", name, (unsigned)(i >= half));
        }
        text_add(&ix, "}}");
        for (i = 0; i < 2; i++) {
            unsigned char *b;
            char path[64];
            text_add(&h[i], "}");
            b = tu_build(h[i].p, i ? n - half : half, &len);
            sprintf(path, TMP "/s%u.safetensors", (unsigned)i);
            write_file(path, b, len);
            free(b);
            free(h[i].p);
        }
        write_file(TMP "/model.safetensors.index.json", ix.p, ix.len);
        free(ix.p);
        for (mode = 0; mode < 2; mode++) {
            safetensors_options opt;
            safetensors_model *m;
            safetensors_error err;
            memset(&opt, 0, sizeof opt);
            opt.flags = mode ? SAFETENSORS_MODEL_LAZY : 0u;
            if (safetensors_model_open(TMP, &opt, &m, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
            assert_int_equal(safetensors_model_tensor_count(m), n);
            for (i = 0; i < n + 20; i++) {
                const safetensors_tensor *t;
                size_t shard;
                tensor_name(name, i);
                if (i < n) {
                    if (safetensors_model_find(m, name, strlen(name), &t, &shard, &err) != SAFETENSORS_OK)
                        fail_msg("%s: %s", name, err.message);
                    assert_int_equal(shard, i >= half);
                    assert_memory_equal(t->name, name, t->name_len);
                } else {
                    assert_int_equal(safetensors_model_find(m, name, strlen(name), &t, &shard, NULL),
                                     SAFETENSORS_ERR_NOT_FOUND);
                }
                assert_int_equal(safetensors_model_find(m, name, strlen(name) - 1, &t, &shard, NULL),
                                 SAFETENSORS_ERR_NOT_FOUND);
            }
            safetensors_model_close(m);
        }
    }
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_lookups),     cmocka_unit_test(test_duplicate_tensor),
        cmocka_unit_test(test_duplicate_metadata), cmocka_unit_test(test_earliest_duplicate),
        cmocka_unit_test(test_writer_names),       cmocka_unit_test(test_model_lookups),
        cmocka_unit_test(test_name_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
