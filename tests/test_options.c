/* test_options.c - the build options, one binary per combination
   (make test-options):
     -DSAFETENSORS_STATIC       every function static to this file
     -DSAFETENSORS_NO_MMAP      files are read, never mapped
     -DSAFETENSORS_NO_STDIO     no file-system access: safetensors_open is not
                                declared; open_memory and the parser remain
     -DSAFETENSORS_NO_WRITER, -DSAFETENSORS_NO_MODEL, -DSAFETENSORS_NO_CONVERT
                                the subsets: each removes a part of the API
     -DTEST_ALLOC_MACROS        SAFETENSORS_MALLOC/REALLOC/FREE defined here as
                                counting wrappers, which must be used and
                                balanced (and yield to a run-time allocator)
   The Makefile builds every combination of the three subset switches,
   alone, with SAFETENSORS_NO_STDIO and with SAFETENSORS_STATIC, and one of
   them as C++. Each build uses every part of the API it has, and proves at
   compile time that the parts it removed are gone (see REMOVED below).
   Plain C, no cmocka. Prints "N passed, 0 failed" and exits 0, or exits 1.
   Run from the repository root. */
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

#include "test_check.h"
#include "test_util.h"

#define GPT2 "tests/models/tiny-gpt2/model.safetensors"
#define LLAMA "tests/models/tiny-llama-bf16-sharded"

/* REMOVED: a switch that takes part of the API away must leave its names
   free for the program. Each name here becomes an enumeration constant,
   which does not compile while the header still declares (or the
   implementation still defines) a function of that name. */
#ifdef SAFETENSORS_NO_WRITER
enum removed_by_no_writer {
    safetensors_writer_create, safetensors_writer_add_tensor, safetensors_writer_begin_memory,
    safetensors_writer_finish, safetensors_writer_destroy, safetensors_write_memory, safetensors_write_memory_free
};
#endif
#if defined(SAFETENSORS_NO_WRITER) || defined(SAFETENSORS_NO_STDIO)
enum removed_file_sinks {
    safetensors_write_file, safetensors_writer_begin_file, safetensors_writer_begin_fd, safetensors_writer_begin_stream
};
#endif
#if defined(SAFETENSORS_NO_MODEL) || defined(SAFETENSORS_NO_STDIO)
enum removed_by_no_model {
    safetensors_model_open, safetensors_model_close, safetensors_model_find, safetensors_model_shard,
    safetensors_model_metadata_json
};
#endif
#ifdef SAFETENSORS_NO_CONVERT
enum removed_by_no_convert {
    safetensors_convert_supported, safetensors_convert_to_f32, safetensors_convert_from_f32,
    safetensors_tensor_to_f32, safetensors_tensor_range_to_f32
};
#endif
#ifdef SAFETENSORS_NO_STDIO
enum removed_by_no_stdio { safetensors_open };
#endif

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
    safetensors_metadata_entry m, found;
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
    CHECK(safetensors_metadata_at(f, 0, &m) == 1 && strcmp(m.key, "format") == 0 && strcmp(m.value, "pt") == 0);
    CHECK(safetensors_metadata_find(f, "format", 6, &found) == 1 && tu_entry_same(&found, &m));
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
            check(0, "tensor data equals the file's bytes", __FILE__, __LINE__);
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

#ifndef SAFETENSORS_NO_CONVERT
/* Values exact in BF16 go there and back unchanged; a tensor widens. */
static void test_convert(void) {
    static const float values[4] = {1.0f, -2.5f, 0.15625f, 3.0f};
    const char *hdr = "{\"h\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
    unsigned char narrow[8], *b;
    float wide[4];
    size_t len = 0;
    safetensors_file *f = NULL;
    CHECK(safetensors_convert_supported(SAFETENSORS_BF16) && !safetensors_convert_supported(SAFETENSORS_I32));
    CHECK(safetensors_convert_from_f32(SAFETENSORS_BF16, values, 4, narrow) == SAFETENSORS_OK);
    CHECK(narrow[0] == 0x80 && narrow[1] == 0x3f); /* 1.0 is 0x3f80 */
    CHECK(safetensors_convert_to_f32(SAFETENSORS_BF16, narrow, 4, wide) == SAFETENSORS_OK);
    CHECK(memcmp(wide, values, sizeof wide) == 0);
    CHECK(safetensors_convert_to_f32(SAFETENSORS_I32, narrow, 1, wide) == SAFETENSORS_ERR_DTYPE);
    b = tu_build(hdr, sizeof narrow, &len);
    if (b) memcpy(b + len - sizeof narrow, narrow, sizeof narrow);
    CHECK(b != NULL);
    if (!b) return;
    CHECK(safetensors_open_memory(b, len, NULL, &f, NULL) == SAFETENSORS_OK);
    memset(wide, 0, sizeof wide);
    CHECK(f && safetensors_tensor_to_f32(safetensors_find(f, "h", 1), wide, 4) == SAFETENSORS_OK);
    CHECK(memcmp(wide, values, sizeof wide) == 0);
    CHECK(f && safetensors_tensor_range_to_f32(safetensors_find(f, "h", 1), 3, 1, wide, 4) == SAFETENSORS_OK);
    CHECK(wide[0] == 3.0f);
    safetensors_close(f);
    free(b);
}
#endif
#ifndef SAFETENSORS_NO_WRITER
/* What every writer below writes: "w", U8 [3] "abc", and metadata k = v. */
static const unsigned char g_abc[3] = {'a', 'b', 'c'};
static const uint64_t g_three = 3;

static void check_written(const void *bytes, size_t len) {
    safetensors_file *f = NULL;
    const safetensors_tensor *t;
    safetensors_metadata_entry m;
    CHECK(safetensors_open_memory(bytes, len, NULL, &f, NULL) == SAFETENSORS_OK);
    if (!f) return;
    t = safetensors_find(f, "w", 1);
    CHECK(t && t->dtype == SAFETENSORS_U8 && t->ndim == 1 && t->shape[0] == 3 && memcmp(t->data, g_abc, 3) == 0);
    CHECK(safetensors_metadata_find(f, "k", 1, &m) == 1 && m.value_len == 1 && m.value[0] == 'v');
    safetensors_close(f);
}

/* The streaming writer into whichever sink begin() picks; the file's size. */
static uint64_t write_streaming(safetensors_result (*begin)(safetensors_writer *, void *), void *sink) {
    safetensors_writer *w = NULL;
    uint64_t size = 0;
    CHECK(safetensors_writer_create(NULL, &w, NULL) == SAFETENSORS_OK);
    CHECK(safetensors_writer_add_metadata(w, "k", 1, "v", 1, NULL) == SAFETENSORS_OK);
    CHECK(safetensors_writer_add_tensor(w, "w", 1, SAFETENSORS_U8, 1, &g_three, NULL) == SAFETENSORS_OK);
    CHECK(begin(w, sink) == SAFETENSORS_OK);
    CHECK(safetensors_writer_write_tensor(w, 0, g_abc, 3, NULL) == SAFETENSORS_OK);
    CHECK(safetensors_writer_finish(w, NULL) == SAFETENSORS_OK);
    size = safetensors_writer_file_size(w);
    safetensors_writer_destroy(w);
    return size;
}

static unsigned char g_sink[256];
static safetensors_result begin_memory(safetensors_writer *w, void *sink) {
    (void)sink;
    return safetensors_writer_begin_memory(w, g_sink, sizeof g_sink, NULL);
}
#ifndef SAFETENSORS_NO_STDIO
static safetensors_result begin_stream(safetensors_writer *w, void *sink) {
    return safetensors_writer_begin_stream(w, (FILE *)sink, NULL);
}
#endif

/* The one-call writer, and the streaming one to memory (and with stdio to
   a stream): the same bytes, which read back as written. */
static void test_writer(void) {
    safetensors_tensor_input in;
    safetensors_metadata_entry meta;
    void *out = NULL;
    size_t out_len = 0;
    uint64_t size;
    in.name = "w";
    in.name_len = 1;
    in.dtype = SAFETENSORS_U8;
    in.ndim = 1;
    in.shape = &g_three;
    in.data = g_abc;
    in.size = 3;
    meta.key = "k";
    meta.key_len = 1;
    meta.value = "v";
    meta.value_len = 1;
    CHECK(safetensors_write_memory(&in, 1, &meta, 1, NULL, &out, &out_len, NULL) == SAFETENSORS_OK);
    check_written(out, out_len);
    size = write_streaming(begin_memory, NULL);
    CHECK(size == out_len && out && memcmp(g_sink, out, out_len) == 0);
#ifndef SAFETENSORS_NO_STDIO
    {
        FILE *fp = tmpfile();
        unsigned char back[sizeof g_sink];
        CHECK(fp != NULL);
        if (fp) {
            size = write_streaming(begin_stream, fp);
            rewind(fp);
            CHECK(size == out_len && fread(back, 1, sizeof back, fp) == out_len && out && memcmp(back, out, out_len) == 0);
            fclose(fp);
        }
    }
#endif
    safetensors_write_memory_free(NULL, out, out_len);
}
#endif

#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
/* The sharded Llama: 4 shards, 30 tensors, its index metadata. */
static void test_sharded(void) {
    safetensors_model *m = NULL;
    const safetensors_tensor *t = NULL;
    const safetensors_file *shard = NULL;
    size_t at = 99, len = 0;
    const char *json;
    CHECK(safetensors_model_open(LLAMA, NULL, &m, NULL) == SAFETENSORS_OK);
    if (!m) return;
    CHECK(safetensors_model_shard_count(m) == 4 && safetensors_model_tensor_count(m) == 30);
    CHECK(safetensors_model_find(m, "lm_head.weight", 14, &t, &at, NULL) == SAFETENSORS_OK);
    CHECK(t && t->dtype == SAFETENSORS_BF16 && at == 3);
    CHECK(safetensors_model_shard(m, at, &shard, NULL) == SAFETENSORS_OK && safetensors_find(shard, "lm_head.weight", 14) == t);
    CHECK(safetensors_model_metadata_find(m, "total_size", 10, NULL) == 1);
    json = safetensors_model_metadata_json(m, 1, &len);
    CHECK(json && len == 6 && memcmp(json, "353152", 6) == 0);
    safetensors_model_close(m);
}
#endif

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

/* The switches of this build, for the log. */
static const char g_switches[] = ""
#ifdef SAFETENSORS_STATIC
                                 " STATIC"
#endif
#ifdef SAFETENSORS_NO_MMAP
                                 " NO_MMAP"
#endif
#ifdef SAFETENSORS_NO_STDIO
                                 " NO_STDIO"
#endif
#ifdef SAFETENSORS_NO_WRITER
                                 " NO_WRITER"
#endif
#ifdef SAFETENSORS_NO_MODEL
                                 " NO_MODEL"
#endif
#ifdef SAFETENSORS_NO_CONVERT
                                 " NO_CONVERT"
#endif
#ifdef TEST_ALLOC_MACROS
                                 " MALLOC/REALLOC/FREE macros"
#endif
#ifdef __cplusplus
                                 " (C++)"
#endif
    ;

int main(void) {
    test_memory();
    test_parser();
    test_model();
#ifndef SAFETENSORS_NO_CONVERT
    test_convert();
#endif
#ifndef SAFETENSORS_NO_WRITER
    test_writer();
#endif
#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
    test_sharded();
#endif
#ifdef TEST_ALLOC_MACROS
    test_alloc_macros();
#endif
    printf("test_options:%s\n", g_switches[0] ? g_switches : " default");
    return check_summary();
}
