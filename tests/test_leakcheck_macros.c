/* test_leakcheck_macros.c - the library under malloc, realloc and free
   defined as function-like macros, as game builds do with stb_leakcheck.h
   or MSVC's _CRTDBG_MAP_ALLOC.

   Like those, this file includes <stdlib.h> first and then defines the
   macros, before the API and the implementation: everything below must
   compile with them in force, and every allocation the library makes must
   go through them (the default allocator) or through a run-time one given
   in safetensors_options (whose functions here call the macros too). The
   bundled tiny GPT-2 is opened both ways, from a path and from memory, and
   written back to memory; at the end nothing may be left allocated. Plain
   C, no cmocka (whose header would see the macros too). Prints
   "N passed, 0 failed" and exits 0, or exits 1. Run from the repository
   root. */
#include <stdlib.h>

/* The counting allocator the macros below forward to; defined before
   them, so that it reaches the real functions. */
static long g_live, g_calls;
static void *leak_malloc(size_t size, const char *file, int line) {
    (void)file;
    (void)line;
    g_calls++;
    g_live++;
    return malloc(size);
}
static void *leak_realloc(void *ptr, size_t size, const char *file, int line) {
    void *fresh;
    (void)file;
    (void)line;
    g_calls++;
    fresh = realloc(ptr, size);
    if (ptr == NULL && fresh != NULL) g_live++;
    return fresh;
}
static void leak_free(void *ptr) {
    if (ptr == NULL) return;
    g_calls++;
    g_live--;
    free(ptr);
}

#define malloc(sz) leak_malloc((sz), __FILE__, __LINE__)
#define realloc(p, sz) leak_realloc((p), (sz), __FILE__, __LINE__)
#define free(p) leak_free(p)

#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <string.h>

#include "test_check.h"

#define GPT2 "tests/models/tiny-gpt2/model.safetensors"


/* A run-time allocator in the program, written against the macros. */
static void *rt_allocate(void *ctx, size_t size) {
    ++*(long *)ctx;
    return malloc(size);
}
static void *rt_reallocate(void *ctx, void *ptr, size_t old_size, size_t new_size) {
    (void)ctx;
    (void)old_size;
    return realloc(ptr, new_size);
}
static void rt_deallocate(void *ctx, void *ptr, size_t size) {
    (void)size;
    --*(long *)ctx;
    free(ptr);
}

/* The whole file into memory from the macros' malloc. */
static unsigned char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    unsigned char *b = NULL;
    long size;
    *len = 0;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0) {
        b = (unsigned char *)malloc((size_t)size);
        if (b && fread(b, 1, (size_t)size, fp) != (size_t)size) {
            free(b);
            b = NULL;
        }
        if (b) *len = (size_t)size;
    }
    fclose(fp);
    return b;
}

/* Opens the model every way under opt, checks one tensor, writes the
   tensors back to memory and reads that too. */
static void exercise(const safetensors_options *opt, const unsigned char *bytes, size_t len) {
    safetensors_file *f = NULL, *g = NULL;
    const safetensors_tensor *wte;
    safetensors_write_options wopt;
    safetensors_tensor_input in[28];
    void *out = NULL;
    size_t out_len = 0, i, n;
    CHECK(safetensors_open(GPT2, opt, &f, NULL) == SAFETENSORS_OK);
    safetensors_close(f);
    f = NULL;
    CHECK(safetensors_open_memory(bytes, len, opt, &f, NULL) == SAFETENSORS_OK);
    if (!f) return;
    wte = safetensors_find(f, "transformer.wte.weight", 22);
    CHECK(wte && wte->ndim == 2 && wte->shape[0] == 512 && wte->shape[1] == 64);
    n = safetensors_tensor_count(f);
    CHECK(n == 28);
    for (i = 0; i < n && i < 28; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        in[i].name = t->name;
        in[i].name_len = t->name_len;
        in[i].dtype = t->dtype;
        in[i].ndim = t->ndim;
        in[i].shape = t->shape;
        in[i].data = t->data;
        in[i].size = t->end - t->begin;
    }
    memset(&wopt, 0, sizeof wopt);
    wopt.allocator = opt->allocator;
    CHECK(safetensors_write_memory(in, i, NULL, 0, &wopt, &out, &out_len, NULL) == SAFETENSORS_OK);
    CHECK(safetensors_open_memory(out, out_len, opt, &g, NULL) == SAFETENSORS_OK);
    CHECK(g && safetensors_tensor_count(g) == 28 && safetensors_data_size(g) == safetensors_data_size(f));
    safetensors_close(g);
    safetensors_write_memory_free(&wopt, out, out_len);
    safetensors_close(f);
}

int main(void) {
    safetensors_options opt;
    long rt_live = 0, calls;
    size_t len = 0;
    unsigned char *bytes = read_all(GPT2, &len);
    CHECK(bytes != NULL && g_live == 1);
    if (!bytes) return 1;

    /* the default allocator: the macros */
    memset(&opt, 0, sizeof opt);
    calls = g_calls;
    exercise(&opt, bytes, len);
    CHECK(g_calls - calls > 10 && g_live == 1);

    /* a run-time allocator, itself on the macros */
    opt.allocator.allocate = rt_allocate;
    opt.allocator.reallocate = rt_reallocate;
    opt.allocator.deallocate = rt_deallocate;
    opt.allocator.ctx = &rt_live;
    calls = g_calls;
    exercise(&opt, bytes, len);
    CHECK(g_calls - calls > 10 && rt_live == 0 && g_live == 1);

    free(bytes);
    CHECK(g_live == 0);
    printf("test_leakcheck_macros: %ld allocator calls\n", g_calls);
    return check_summary();
}
