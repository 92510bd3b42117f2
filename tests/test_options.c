/* test_options.c - the build options, one binary per option (make test-options):
     -DSAFETENSORS_STATIC       every function static to this file
     -DSAFETENSORS_NO_MMAP      files are read, never mapped
     -DSAFETENSORS_NO_STDIO     no file-system access: safetensors_open is not
                                declared; open_memory and the parser remain
     -DTEST_ALLOC_MACROS        SAFETENSORS_MALLOC/REALLOC/FREE defined here as
                                counting wrappers, which must be used and
                                balanced (and yield to a run-time allocator)
   Plain C, no cmocka. Every API function is called, so that the static build
   also proves none of them is left unused or undefined. Prints
   "N passed, 0 failed" and exits 0, or exits 1. Run from the repository
   root. */
#ifdef TEST_ALLOC_MACROS
#include <stddef.h>
#include <stdlib.h>
static size_t g_mallocs, g_reallocs, g_frees;
static long g_live;
static void *count_malloc(size_t n) {
    g_mallocs++;
    g_live++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n) {
    g_reallocs++;
    if (p == NULL) g_live++;
    return realloc(p, n);
}
static void count_free(void *p) {
    if (p == NULL) return;
    g_frees++;
    g_live--;
    free(p);
}
#define SAFETENSORS_MALLOC(sz) count_malloc(sz)
#define SAFETENSORS_REALLOC(p, sz) count_realloc((p), (sz))
#define SAFETENSORS_FREE(p) count_free(p)
#endif

#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define GPT2 "tests/models/tiny-gpt2/model.safetensors"

static int g_passed, g_failed;

static void check(int ok, const char *what, int line) {
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        fprintf(stderr, "test_options.c:%d: failed: %s\n", line, what);
    }
}
#define CHECK(x) check((x) ? 1 : 0, #x, __LINE__)

/* An in-memory file: every accessor, and a refusal. */
static void test_memory(void) {
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[8,12]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t len = 0, n = strlen(hdr);
    unsigned char *b = tu_build(hdr, 12, &len);
    safetensors_file *f = NULL;
    safetensors_error err;
    const safetensors_tensor *a, *t;
    const safetensors_metadata_entry *m;
    safetensors_dtype d = SAFETENSORS_U8;
    CHECK(b != NULL);
    if (!b) return;
    CHECK(safetensors_open_memory(b, len, NULL, &f, &err) == SAFETENSORS_OK);
    if (!f) { free(b); return; }
    CHECK(safetensors_tensor_count(f) == 2);
    a = safetensors_find(f, "a", 1);
    CHECK(a != NULL && a->dtype == SAFETENSORS_F32 && a->data == b + 8 + n);
    t = safetensors_tensor_at(f, 1);
    CHECK(t != NULL && t->name_len == 1 && t->name[0] == 'b');
    CHECK(t != NULL && safetensors_tensor_element_count(t) == 2 && safetensors_tensor_byte_size(t) == 4);
    CHECK(t != NULL && memcmp(t->data, b + 8 + n + 8, 4) == 0);
    CHECK(safetensors_metadata_count(f) == 1);
    m = safetensors_metadata_at(f, 0);
    CHECK(m != NULL && strcmp(m->key, "format") == 0 && strcmp(m->value, "pt") == 0);
    CHECK(safetensors_metadata_find(f, "format", 6) == m);
    CHECK(safetensors_header_size(f) == n);
    CHECK(safetensors_data_start(f) == 8 + n);
    CHECK(safetensors_data_size(f) == 12);
    safetensors_close(f);
    /* one byte of data missing: COVERAGE at 8 + N + 11 */
    f = NULL;
    CHECK(safetensors_open_memory(b, len - 1, NULL, &f, &err) == SAFETENSORS_ERR_COVERAGE);
    CHECK(f == NULL && err.offset == 8 + n + 11);
    /* the dtype and result helpers */
    CHECK(strcmp(safetensors_dtype_name(SAFETENSORS_F6_E3M2), "F6_E3M2") == 0);
    CHECK(safetensors_dtype_bits(SAFETENSORS_F4) == 4);
    CHECK(safetensors_dtype_from_name("I64", 3, &d) == SAFETENSORS_OK && d == SAFETENSORS_I64);
    CHECK(safetensors_dtype_from_name("i64", 3, &d) == SAFETENSORS_ERR_DTYPE);
    CHECK(strcmp(safetensors_result_name(SAFETENSORS_ERR_SIZE), "SAFETENSORS_ERR_SIZE") == 0);
    CHECK(safetensors_result_string(SAFETENSORS_ERR_SIZE) != NULL);
    CHECK(safetensors_result_name(SAFETENSORS_RESULT_COUNT) == NULL);
    free(b);
}

/* The streaming parser, fed in 3-byte chunks. */
static void test_parser(void) {
    const char *hdr = "{\"t\":{\"dtype\":\"U16\",\"shape\":[3],\"data_offsets\":[0,6]}}";
    size_t len = 0, pos, total = 0;
    unsigned char *b = tu_build(hdr, 6, &len);
    safetensors_parser *p = NULL;
    safetensors_file *f = NULL;
    safetensors_error err;
    int done = 0;
    CHECK(b != NULL);
    if (!b) return;
    CHECK(safetensors_parser_create(NULL, &p, &err) == SAFETENSORS_OK);
    CHECK(safetensors_parser_expect_size(p, (uint64_t)len) == SAFETENSORS_OK);
    for (pos = 0; pos < len && !done; pos += 3) {
        size_t used = 0, chunk = len - pos < 3 ? len - pos : 3;
        CHECK(safetensors_parser_feed(p, b + pos, chunk, &used, &done, &err) == SAFETENSORS_OK);
        total += used;
    }
    CHECK(done == 1 && total == 8 + strlen(hdr));
    CHECK(safetensors_parser_finish(p, (uint64_t)(len - total), &f, &err) == SAFETENSORS_OK);
    safetensors_parser_destroy(p);
    CHECK(f != NULL && safetensors_tensor_at(f, 0) != NULL && safetensors_tensor_at(f, 0)->data == NULL);
    safetensors_close(f);
    free(b);
}

/* The tiny GPT-2: 28 F32 tensors; data equal to the file's bytes. */
static void check_gpt2(const safetensors_file *f, const unsigned char *bytes, size_t len, int with_data) {
    size_t i;
    const safetensors_tensor *wte = safetensors_find(f, "transformer.wte.weight", 22);
    CHECK(safetensors_tensor_count(f) == 28);
    CHECK(wte != NULL && wte->ndim == 2 && wte->shape[0] == 512 && wte->shape[1] == 64);
    CHECK(safetensors_data_start(f) + safetensors_data_size(f) == len);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        if (t->dtype != SAFETENSORS_F32) {
            CHECK(t->dtype == SAFETENSORS_F32);
            return;
        }
        if (with_data && memcmp(t->data, bytes + safetensors_data_start(f) + t->begin, (size_t)(t->end - t->begin)) != 0) {
            check(0, "tensor data equals the file's bytes", __LINE__);
            return;
        }
        if (!with_data && t->data != NULL) {
            CHECK(t->data == NULL);
            return;
        }
    }
    CHECK(1);
}

static void test_model(void) {
    size_t len = 0;
    unsigned char *bytes = tu_read_file(GPT2, &len);
    safetensors_file *f = NULL;
    safetensors_error err;
    CHECK(bytes != NULL);
    if (!bytes) return;
    CHECK(safetensors_open_memory(bytes, len, NULL, &f, &err) == SAFETENSORS_OK);
    if (f) check_gpt2(f, bytes, len, 1);
    safetensors_close(f);
#ifndef SAFETENSORS_NO_STDIO
    {
        static const unsigned flags[3] = {0u, SAFETENSORS_READ_INTO_MEMORY, SAFETENSORS_HEADER_ONLY};
        int k;
        for (k = 0; k < 3; k++) {
            safetensors_options o;
            memset(&o, 0, sizeof o);
            o.flags = flags[k];
            f = NULL;
            CHECK(safetensors_open(GPT2, &o, &f, &err) == SAFETENSORS_OK);
            if (f) check_gpt2(f, bytes, len, flags[k] != SAFETENSORS_HEADER_ONLY);
            safetensors_close(f);
        }
        f = (safetensors_file *)&err;
        CHECK(safetensors_open("tests/models/no-such-file", NULL, &f, &err) == SAFETENSORS_ERR_IO);
        CHECK(f == NULL && err.sys_errno != 0);
    }
#endif
    free(bytes);
}

#ifdef TEST_ALLOC_MACROS
static void *rt_alloc(void *ctx, size_t size) {
    ++*(long *)ctx;
    return malloc(size);
}
static void rt_free(void *ctx, void *ptr, size_t size) {
    (void)size;
    --*(long *)ctx;
    free(ptr);
}

/* The macros are the default allocator, and a run-time one takes precedence. */
static void test_alloc_macros(void) {
    const char *hdr = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    size_t len = 0, before;
    unsigned char *b = tu_build(hdr, 4, &len);
    safetensors_file *f = NULL;
    safetensors_error err;
    safetensors_options o;
    long rt_live = 0;
    CHECK(b != NULL);
    if (!b) return;
    g_mallocs = g_reallocs = g_frees = 0;
    g_live = 0;
    CHECK(safetensors_open_memory(b, len, NULL, &f, &err) == SAFETENSORS_OK);
    CHECK(g_mallocs > 0 && g_live > 0);
    safetensors_close(f);
    CHECK(g_live == 0 && g_frees == g_mallocs);
#ifndef SAFETENSORS_NO_STDIO
    g_mallocs = g_frees = 0;
    memset(&o, 0, sizeof o);
    o.flags = SAFETENSORS_READ_INTO_MEMORY;
    CHECK(safetensors_open(GPT2, &o, &f, &err) == SAFETENSORS_OK);
    CHECK(g_mallocs > 0);
    safetensors_close(f);
    CHECK(g_live == 0 && g_frees == g_mallocs);
#endif
    /* a run-time allocator: the macros are not touched */
    memset(&o, 0, sizeof o);
    o.allocator.allocate = rt_alloc;
    o.allocator.deallocate = rt_free;
    o.allocator.ctx = &rt_live;
    before = g_mallocs + g_reallocs + g_frees;
    CHECK(safetensors_open_memory(b, len, &o, &f, &err) == SAFETENSORS_OK);
    CHECK(rt_live > 0);
    safetensors_close(f);
    CHECK(rt_live == 0);
    CHECK(g_mallocs + g_reallocs + g_frees == before);
    free(b);
}
#endif

int main(void) {
    const char *build_name =
#if defined(TEST_ALLOC_MACROS)
        "SAFETENSORS_MALLOC/REALLOC/FREE macros";
#elif defined(SAFETENSORS_NO_STDIO)
        "SAFETENSORS_NO_STDIO";
#elif defined(SAFETENSORS_NO_MMAP)
        "SAFETENSORS_NO_MMAP";
#elif defined(SAFETENSORS_STATIC)
        "SAFETENSORS_STATIC";
#else
        "default";
#endif
    test_memory();
    test_parser();
    test_model();
#ifdef TEST_ALLOC_MACROS
    test_alloc_macros();
#endif
    printf("test_options: %s\n%d passed, %d failed\n", build_name, g_passed, g_failed);
    return g_failed ? 1 : 0;
}
