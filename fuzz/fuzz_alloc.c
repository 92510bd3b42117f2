/* fuzz_alloc.c - libFuzzer target: allocation failure on arbitrary headers.

   Build (libFuzzer, from the repository root; `make fuzz` does this):
       clang -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla \
           -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
           -I. fuzz/fuzz_alloc.c -o build/fuzz_alloc
   Run:
       ./build/fuzz_alloc -dict=fuzz/safetensors.dict -max_len=65536 corpus_dir/
   Replay saved inputs without libFuzzer (`make fuzz-replay` does this):
       gcc -std=c99 ... -I. fuzz/fuzz_alloc.c fuzz/fuzz_main.c -o build/replay_alloc

   Input layout: byte 0 picks the failing allocation k (0..255; 0 means the
   last allocation a clean run makes) and the mode (bit 0 of byte 1: only
   the k-th call fails, or every call from the k-th on; bit 1: the allocator
   has no realloc, so alloc + copy + free is used; bit 2: the file is fed to
   the parser in chunks of 5 bytes instead of safetensors_open_memory). The
   rest is the file.

   A clean run (no failure) gives the baseline and the number of calls. The
   failing run must give SAFETENSORS_ERR_NOMEM, or exactly the baseline's
   result (table or error code, offset and message). After close/destroy no
   block may be live, and every free and realloc must be given the size the
   block was allocated with. A violated check calls abort(). */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_LIVE 4096

typedef struct fuzz_tracker {
    unsigned long calls, fail_at;
    int fail_after;
    unsigned long injected;
    void *ptr[FUZZ_MAX_LIVE];
    size_t size[FUZZ_MAX_LIVE];
    size_t live;
} fuzz_tracker;

static void check(int ok)
{
    if (!ok) abort();
}

static int fuzz_should_fail(fuzz_tracker *t)
{
    t->calls++;
    if (t->fail_at && (t->calls == t->fail_at || (t->fail_after && t->calls > t->fail_at))) {
        t->injected++;
        return 1;
    }
    return 0;
}

static size_t fuzz_find(const fuzz_tracker *t, const void *p)
{
    size_t i;
    for (i = 0; i < t->live; i++)
        if (t->ptr[i] == p) return i;
    abort(); /* freed or resized a block that is not live */
}

static void *fuzz_alloc(void *ctx, size_t n)
{
    fuzz_tracker *t = (fuzz_tracker *)ctx;
    void *p;
    check(n > 0);
    if (fuzz_should_fail(t) || t->live == FUZZ_MAX_LIVE) return NULL;
    p = malloc(n);
    if (p == NULL) return NULL;
    t->ptr[t->live] = p;
    t->size[t->live] = n;
    t->live++;
    return p;
}

static void *fuzz_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    fuzz_tracker *t = (fuzz_tracker *)ctx;
    size_t i = fuzz_find(t, p);
    void *fresh;
    check(t->size[i] == old_size && new_size > 0);
    if (fuzz_should_fail(t)) return NULL;
    fresh = realloc(p, new_size);
    if (fresh == NULL) return NULL;
    t->ptr[i] = fresh;
    t->size[i] = new_size;
    return fresh;
}

static void fuzz_free(void *ctx, void *p, size_t n)
{
    fuzz_tracker *t = (fuzz_tracker *)ctx;
    size_t i = fuzz_find(t, p);
    check(t->size[i] == n);
    free(p);
    t->live--;
    t->ptr[i] = t->ptr[t->live];
    t->size[i] = t->size[t->live];
}

static safetensors_result fuzz_open(const uint8_t *bytes, size_t len, int chunked, const safetensors_options *opt,
                                    safetensors_file **out, safetensors_error *err)
{
    safetensors_parser *p = NULL;
    safetensors_result r;
    size_t pos = 0, consumed = 0;
    int done = 0;
    if (!chunked) return safetensors_open_memory(bytes, len, opt, out, err);
    *out = NULL;
    r = safetensors_parser_create(opt, &p, err);
    if (r != SAFETENSORS_OK) return r;
    while (pos < len && !done) {
        size_t n = len - pos < 5 ? len - pos : 5, used = 0;
        r = safetensors_parser_feed(p, bytes + pos, n, &used, &done, err);
        if (r != SAFETENSORS_OK) break;
        consumed += used;
        pos += n;
    }
    if (r == SAFETENSORS_OK) r = safetensors_parser_finish(p, (uint64_t)(len - consumed), out, err);
    safetensors_parser_destroy(p);
    return r;
}

/* Two fillings of one entry: the same strings, at the same addresses. */
static int same_entry(const safetensors_metadata_entry *a, const safetensors_metadata_entry *b)
{
    return a->key == b->key && a->key_len == b->key_len && a->value == b->value && a->value_len == b->value_len;
}

static void check_same_table(const safetensors_file *a, const safetensors_file *b)
{
    size_t i;
    check(safetensors_tensor_count(a) == safetensors_tensor_count(b));
    check(safetensors_metadata_count(a) == safetensors_metadata_count(b));
    check(safetensors_data_size(a) == safetensors_data_size(b));
    check(safetensors_header_size(a) == safetensors_header_size(b));
    for (i = 0; i < safetensors_tensor_count(a); i++) {
        const safetensors_tensor *s = safetensors_tensor_at(a, i), *t = safetensors_tensor_at(b, i);
        check(s->name_len == t->name_len && memcmp(s->name, t->name, s->name_len) == 0);
        check(s->dtype == t->dtype && s->ndim == t->ndim && s->begin == t->begin && s->end == t->end);
        check(s->ndim == 0 || memcmp(s->shape, t->shape, s->ndim * sizeof *s->shape) == 0);
        check(s->data == t->data);
        check(safetensors_find(b, t->name, t->name_len) == t);
    }
    for (i = 0; i < safetensors_metadata_count(a); i++) {
        safetensors_metadata_entry s, t, found;
        check(safetensors_metadata_at(a, i, &s) && safetensors_metadata_at(b, i, &t));
        check(s.key_len == t.key_len && memcmp(s.key, t.key, s.key_len) == 0);
        check(s.value_len == t.value_len && memcmp(s.value, t.value, s.value_len) == 0);
        check(safetensors_metadata_find(b, t.key, t.key_len, &found) && same_entry(&found, &t));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_tracker base_t, t; /* large: kept off the stack */
    safetensors_options opt;
    safetensors_file *base = NULL, *f = NULL;
    safetensors_error base_err, err;
    safetensors_result base_r, r;
    unsigned pick = size > 0 ? data[0] : 0u, mode = size > 1 ? data[1] : 0u;
    const uint8_t *file = data + (size < 2 ? size : 2);
    size_t len = size < 2 ? 0 : size - 2;
    int chunked = (mode & 4u) != 0;

    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = fuzz_alloc;
    opt.allocator.reallocate = (mode & 2u) ? NULL : fuzz_realloc;
    opt.allocator.deallocate = fuzz_free;

    memset(&base_t, 0, sizeof base_t);
    opt.allocator.ctx = &base_t;
    base_r = fuzz_open(file, len, chunked, &opt, &base, &base_err);
    check(base_r != SAFETENSORS_ERR_NOMEM || base_t.live == FUZZ_MAX_LIVE);
    if (base_t.calls == 0) {
        safetensors_close(base);
        check(base_t.live == 0);
        return 0;
    }

    memset(&t, 0, sizeof t);
    t.fail_at = pick == 0 ? base_t.calls : 1 + (pick - 1u) % base_t.calls;
    t.fail_after = (int)(mode & 1u);
    opt.allocator.ctx = &t;
    r = fuzz_open(file, len, chunked, &opt, &f, &err);
    if (r == SAFETENSORS_ERR_NOMEM) {
        check(t.injected > 0 || t.live == FUZZ_MAX_LIVE);
        check(f == NULL && err.code == SAFETENSORS_ERR_NOMEM);
    } else {
        check(r == base_r);
        if (r == SAFETENSORS_OK) {
            check_same_table(base, f);
        } else {
            check(f == NULL && err.code == base_err.code && err.offset == base_err.offset);
            check(strcmp(err.message, base_err.message) == 0);
        }
    }
    safetensors_close(f);
    check(t.live == 0);
    safetensors_close(base); /* base keeps its own allocator, base_t */
    check(base_t.live == 0);
    return 0;
}
