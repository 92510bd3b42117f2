#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

/* test_alloc.c - allocation failure: every allocation fails in turn.

   A run-time allocator (safetensors_options.allocator) counts every call to
   alloc and realloc and makes the k-th one return NULL: either that one
   call only ("once"), or it and every later one ("from k on"). It keeps a
   table of the live blocks and checks that free and realloc are given the
   size the block was allocated with, and that nothing is freed twice or
   without having been allocated.

   For each file below and each way of opening it
       safetensors_open_memory
       safetensors_open (default: mapped)
       safetensors_open with SAFETENSORS_READ_INTO_MEMORY
       safetensors_open with SAFETENSORS_HEADER_ONLY
       the parser API, fed in chunks of 1, 7 and 61 bytes
   and, for the sample checkpoints (tests/models/), safetensors_model_open
   eager and lazy (every tensor then fetched, which opens the shards);
   and for an allocator with and without a realloc callback, a run with no
   failure gives N, the number of allocations a run makes, and the baseline
   result, which must match the reference's verdict in
   tests/conformance/expected.tsv (accept with its tensor and metadata
   counts, or a refusal). Then for k = 1..N, in both failure modes, the run
   must give SAFETENSORS_ERR_NOMEM (with *out NULL and err filled in) or a
   result identical to the baseline (the failure was survivable), never a
   spurious NOMEM when nothing failed, and every block must be freed once
   the file is closed and the parser destroyed: zero live blocks and bytes.

   The number of k values tried is printed at the end. Run from the
   repository root. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define CORPUS TU_CORPUS_DIR

/* ---------------------------------------------------------------------
   The failing, checking allocator
   --------------------------------------------------------------------- */

typedef struct live_block {
    void *ptr;
    size_t size;
} live_block;

typedef struct tracker {
    unsigned long calls;   /* alloc + realloc calls so far */
    unsigned long fail_at; /* the call that fails; 0: none */
    int fail_after;        /* 1: every call from fail_at on fails too */
    unsigned long injected; /* how many calls were made to fail */
    live_block *live;       /* the blocks handed out and not yet freed */
    size_t live_count, live_cap, live_bytes;
    unsigned long misuse; /* wrong size, unknown pointer, zero size */
    char misuse_what[160];
} tracker;

static void tracker_misuse(tracker *t, const char *fmt, ...)
{
    va_list ap;
    if (t->misuse++ > 0) return;
    va_start(ap, fmt);
    vsnprintf(t->misuse_what, sizeof t->misuse_what, fmt, ap);
    va_end(ap);
}

static int tracker_should_fail(tracker *t)
{
    t->calls++;
    if (t->fail_at != 0 && (t->calls == t->fail_at || (t->fail_after && t->calls > t->fail_at))) {
        t->injected++;
        return 1;
    }
    return 0;
}

static size_t tracker_find(const tracker *t, const void *ptr)
{
    size_t i;
    for (i = t->live_count; i > 0; i--)
        if (t->live[i - 1].ptr == ptr) return i - 1;
    return (size_t)-1;
}

static int tracker_add(tracker *t, void *ptr, size_t size)
{
    if (t->live_count == t->live_cap) {
        size_t cap = t->live_cap ? t->live_cap * 2 : 64;
        live_block *fresh = (live_block *)realloc(t->live, cap * sizeof *fresh);
        if (fresh == NULL) return 0;
        t->live = fresh;
        t->live_cap = cap;
    }
    t->live[t->live_count].ptr = ptr;
    t->live[t->live_count].size = size;
    t->live_count++;
    t->live_bytes += size;
    return 1;
}

static void *tracked_alloc(void *ctx, size_t size)
{
    tracker *t = (tracker *)ctx;
    void *p;
    if (size == 0) tracker_misuse(t, "alloc of 0 bytes");
    if (tracker_should_fail(t)) return NULL;
    p = malloc(size ? size : 1);
    if (p == NULL) return NULL;
    if (!tracker_add(t, p, size)) {
        free(p);
        return NULL;
    }
    return p;
}

static void *tracked_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    tracker *t = (tracker *)ctx;
    size_t i;
    void *p;
    if (new_size == 0) tracker_misuse(t, "realloc to 0 bytes");
    if (ptr == NULL) {
        tracker_misuse(t, "realloc of NULL (old size %zu)", old_size);
        return NULL;
    }
    i = tracker_find(t, ptr);
    if (i == (size_t)-1) {
        tracker_misuse(t, "realloc of a pointer that is not live");
        return NULL;
    }
    if (t->live[i].size != old_size)
        tracker_misuse(t, "realloc says old size %zu, the block has %zu", old_size, t->live[i].size);
    if (tracker_should_fail(t)) return NULL; /* the old block stays live */
    p = realloc(ptr, new_size ? new_size : 1);
    if (p == NULL) return NULL;
    t->live_bytes = t->live_bytes - t->live[i].size + new_size;
    t->live[i].ptr = p;
    t->live[i].size = new_size;
    return p;
}

static void tracked_free(void *ctx, void *ptr, size_t size)
{
    tracker *t = (tracker *)ctx;
    size_t i;
    if (ptr == NULL) return;
    i = tracker_find(t, ptr);
    if (i == (size_t)-1) {
        tracker_misuse(t, "free of a pointer that is not live (size %zu)", size);
        return;
    }
    if (t->live[i].size != size) tracker_misuse(t, "free says size %zu, the block has %zu", size, t->live[i].size);
    t->live_bytes -= t->live[i].size;
    t->live[i] = t->live[--t->live_count];
    free(ptr);
}

/* Frees what a failed test left behind, so that the suite itself stays
   clean under valgrind even when the library leaks. */
static void tracker_release(tracker *t)
{
    size_t i;
    for (i = 0; i < t->live_count; i++) free(t->live[i].ptr);
    free(t->live);
    t->live = NULL;
    t->live_count = t->live_cap = t->live_bytes = 0;
}

static void tracker_reset(tracker *t, unsigned long fail_at, int fail_after)
{
    t->calls = 0;
    t->fail_at = fail_at;
    t->fail_after = fail_after;
    t->injected = 0;
    t->misuse = 0;
    t->misuse_what[0] = '\0';
    /* live blocks are not reset: a leak from one run shows in the check */
}

/* ---------------------------------------------------------------------
   The files and the reference's verdicts
   --------------------------------------------------------------------- */

typedef struct test_file {
    const char *path;   /* as opened */
    const char *corpus; /* its name in expected.tsv */
    int accept;         /* from expected.tsv */
    size_t tensors, metadata;
    unsigned char *bytes;
    size_t len;
} test_file;

static test_file g_files[] = {
    /* accepted, with metadata and many tensors */
    {CORPUS "torch_dtype_f32.safetensors", "torch_dtype_f32.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "torch_mixed.safetensors", "torch_mixed.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "numpy_float32.safetensors", "numpy_float32.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "numpy_empty_meta.safetensors", "numpy_empty_meta.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_ok_escapes.safetensors", "edge_ok_escapes.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_ok_meta_first.safetensors", "edge_ok_meta_first.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_ok_zero_between.safetensors", "edge_ok_zero_between.safetensors", 0, 0, 0, NULL, 0},
    {"tests/models/tiny-gpt2/model.safetensors", "model_tiny-gpt2__model.safetensors", 0, 0, 0, NULL, 0},
    {"tests/models/tiny-llama-bf16-sharded/model-00001-of-00004.safetensors",
     "model_tiny-llama-bf16-sharded__model-00001-of-00004.safetensors", 0, 0, 0, NULL, 0},
    {"tests/models/tiny-llama-bf16-sharded/model-00002-of-00004.safetensors",
     "model_tiny-llama-bf16-sharded__model-00002-of-00004.safetensors", 0, 0, 0, NULL, 0},
    {"tests/models/tiny-llama-bf16-sharded/model-00003-of-00004.safetensors",
     "model_tiny-llama-bf16-sharded__model-00003-of-00004.safetensors", 0, 0, 0, NULL, 0},
    {"tests/models/tiny-llama-bf16-sharded/model-00004-of-00004.safetensors",
     "model_tiny-llama-bf16-sharded__model-00004-of-00004.safetensors", 0, 0, 0, NULL, 0},
    /* refused, at each stage of the checks */
    {CORPUS "edge_empty_file.safetensors", "edge_empty_file.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_len_past_eof.safetensors", "edge_len_past_eof.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_lone_surrogate.safetensors", "edge_lone_surrogate.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_unknown_dtype.safetensors", "edge_unknown_dtype.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_dup_tensor.safetensors", "edge_dup_tensor.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_dup_meta_key.safetensors", "edge_dup_meta_key.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_offsets_overlap.safetensors", "edge_offsets_overlap.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_shape_overflow_product.safetensors", "edge_shape_overflow_product.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_offsets_short_of_end.safetensors", "edge_offsets_short_of_end.safetensors", 0, 0, 0, NULL, 0},
    {CORPUS "edge_trailing_garbage.safetensors", "edge_trailing_garbage.safetensors", 0, 0, 0, NULL, 0},
};
#define FILE_COUNT (sizeof g_files / sizeof g_files[0])

/* The reference's verdicts from expected.tsv. */
static int load_verdicts(const tu_expected *e)
{
    size_t i, k;
    for (i = 0; i < FILE_COUNT; i++) {
        for (k = 0; k < e->count && strcmp(e->files[k].file, g_files[i].corpus) != 0; k++) continue;
        if (k == e->count) {
            fprintf(stderr, "%s is not in %s\n", g_files[i].corpus, TU_EXPECTED_TSV);
            return -1;
        }
        g_files[i].accept = e->files[k].accept;
        g_files[i].tensors = e->files[k].ntensors;
        g_files[i].metadata = e->files[k].nmeta;
    }
    return 0;
}

/* ---------------------------------------------------------------------
   One run, and its comparison with the baseline
   --------------------------------------------------------------------- */

enum method { M_MEMORY, M_MAP, M_READ, M_HEADER_ONLY, M_PARSER, M_MODEL, M_MODEL_LAZY, M_COUNT };
static const char *const method_names[M_COUNT] = {"open_memory",
                                                  "open",
                                                  "open READ_INTO_MEMORY",
                                                  "open HEADER_ONLY",
                                                  "parser (chunks 1, 7, 61)",
                                                  "model_open",
                                                  "model_open LAZY"};

static unsigned long g_k_tried[M_COUNT];
static char g_sentinel;
static unsigned long g_baseline_allocs[M_COUNT];
static size_t g_failures;

#define report(...) tu_report(&g_failures, "alloc", __VA_ARGS__)

static safetensors_result parse_in_chunks(const test_file *tf, const safetensors_options *opt, safetensors_file **out,
                                          safetensors_error *err)
{
    static const size_t chunks[3] = {1, 7, 61};
    safetensors_parser *p = NULL;
    safetensors_result r;
    size_t pos = 0, consumed = 0, turn = 0;
    int done = 0;
    *out = NULL;
    r = safetensors_parser_create(opt, &p, err);
    if (r != SAFETENSORS_OK) {
        if (p != NULL) report("%s: parser_create failed but gave a parser", tf->path);
        return r;
    }
    while (pos < tf->len && !done) {
        size_t n = chunks[turn++ % 3], used = 0;
        if (n > tf->len - pos) n = tf->len - pos;
        r = safetensors_parser_feed(p, tf->bytes + pos, n, &used, &done, err);
        if (r != SAFETENSORS_OK) break;
        consumed += used;
        pos += n;
    }
    if (r == SAFETENSORS_OK) r = safetensors_parser_finish(p, (uint64_t)(tf->len - consumed), out, err);
    safetensors_parser_destroy(p);
    return r;
}

static safetensors_result run_method(enum method m, const test_file *tf, tracker *t, int with_realloc,
                                     safetensors_file **out, safetensors_error *err)
{
    safetensors_options opt;
    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = tracked_alloc;
    opt.allocator.reallocate = with_realloc ? tracked_realloc : NULL;
    opt.allocator.deallocate = tracked_free;
    opt.allocator.ctx = t;
    memset(err, 0x5a, sizeof *err);
    *out = (safetensors_file *)(void *)&g_sentinel; /* must be overwritten */
    switch (m) {
    case M_MEMORY: return safetensors_open_memory(tf->bytes, tf->len, &opt, out, err);
    case M_MAP: return safetensors_open(tf->path, &opt, out, err);
    case M_READ: opt.flags = SAFETENSORS_READ_INTO_MEMORY; return safetensors_open(tf->path, &opt, out, err);
    case M_HEADER_ONLY: opt.flags = SAFETENSORS_HEADER_ONLY; return safetensors_open(tf->path, &opt, out, err);
    case M_PARSER: return parse_in_chunks(tf, &opt, out, err);
    case M_MODEL:
    case M_MODEL_LAZY:
    case M_COUNT: break;
    }
    return SAFETENSORS_ERR_ARGUMENT;
}

/* Returns NULL if a and b hold the same table, else what differs. */
static const char *table_difference(const safetensors_file *a, const safetensors_file *b)
{
    size_t i;
    if (safetensors_tensor_count(a) != safetensors_tensor_count(b)) return "tensor count";
    if (safetensors_metadata_count(a) != safetensors_metadata_count(b)) return "metadata count";
    if (safetensors_header_size(a) != safetensors_header_size(b)) return "header size";
    if (safetensors_data_size(a) != safetensors_data_size(b)) return "data size";
    for (i = 0; i < safetensors_tensor_count(a); i++) {
        const safetensors_tensor *s = safetensors_tensor_at(a, i), *t = safetensors_tensor_at(b, i);
        if (s == NULL || t == NULL) return "a NULL tensor";
        if (s->name_len != t->name_len || memcmp(s->name, t->name, s->name_len) != 0) return "a tensor name";
        if (s->dtype != t->dtype) return "a dtype";
        if (s->ndim != t->ndim || (s->ndim && memcmp(s->shape, t->shape, s->ndim * sizeof *s->shape) != 0))
            return "a shape";
        if (s->begin != t->begin || s->end != t->end) return "a byte range";
        if ((s->data == NULL) != (t->data == NULL)) return "a data pointer (NULL in one)";
        if (s->data && memcmp(s->data, t->data, (size_t)(s->end - s->begin)) != 0) return "a tensor's bytes";
        if (safetensors_find(b, s->name, s->name_len) != t) return "find on a name";
    }
    for (i = 0; i < safetensors_metadata_count(a); i++) {
        safetensors_metadata_entry s, t;
        if (!safetensors_metadata_at(a, i, &s) || !safetensors_metadata_at(b, i, &t)) return "a missing metadata entry";
        if (s.key_len != t.key_len || memcmp(s.key, t.key, s.key_len) != 0) return "a metadata key";
        if (s.value_len != t.value_len || (s.value == NULL) != (t.value == NULL) ||
            (s.value && memcmp(s.value, t.value, s.value_len) != 0))
            return "a metadata value";
    }
    return NULL;
}

static int check_all_freed(const tracker *t, const char *what, const test_file *tf, unsigned long k)
{
    if (t->live_count != 0 || t->live_bytes != 0) {
        report("%s %s, failing at %lu: %zu blocks (%zu bytes) still live after close/destroy", what, tf->path, k,
               t->live_count, t->live_bytes);
        return 0;
    }
    if (t->misuse) {
        report("%s %s, failing at %lu: allocator misuse: %s", what, tf->path, k, t->misuse_what);
        return 0;
    }
    return 1;
}

/* The baseline, then k = 1..N in both failure modes. */
static void exercise(enum method m, int with_realloc)
{
    size_t i;
    char what[96];
    for (i = 0; i < FILE_COUNT; i++) {
        const test_file *tf = &g_files[i];
        tracker base_t, t;
        safetensors_file *base = NULL;
        safetensors_error base_err;
        safetensors_result base_r;
        unsigned long n, k;
        int mode;
        snprintf(what, sizeof what, "%s%s:", method_names[m], with_realloc ? "" : " (no realloc)");
        memset(&base_t, 0, sizeof base_t);
        memset(&t, 0, sizeof t);

        base_r = run_method(m, tf, &base_t, with_realloc, &base, &base_err);
        n = base_t.calls;
        g_baseline_allocs[m] += n;
        /* the baseline against the reference's verdict */
        if (tf->accept) {
            if (base_r != SAFETENSORS_OK) {
                report("%s %s refused (%s: %s), the reference accepts it", what, tf->path,
                       safetensors_result_name(base_r), base_err.message);
                base = NULL;
                goto next;
            }
            if (safetensors_tensor_count(base) != tf->tensors || safetensors_metadata_count(base) != tf->metadata) {
                report("%s %s: %zu tensors and %zu metadata, the reference has %zu and %zu", what, tf->path,
                       safetensors_tensor_count(base), safetensors_metadata_count(base), tf->tensors, tf->metadata);
            }
        } else if (base_r == SAFETENSORS_OK || base_r == SAFETENSORS_ERR_NOMEM || base_r == SAFETENSORS_ERR_ARGUMENT ||
                   base_r == SAFETENSORS_ERR_IO) {
            report("%s %s gave %s, the reference refuses it", what, tf->path, safetensors_result_name(base_r));
            goto next;
        }
        if (base_r != SAFETENSORS_OK && base != NULL) {
            report("%s %s: %s but *out is not NULL", what, tf->path, safetensors_result_name(base_r));
            base = NULL;
        }
        if (n == 0 && base_r == SAFETENSORS_OK) report("%s %s: opened without a single allocation", what, tf->path);

        for (mode = 0; mode < 2; mode++) {
            for (k = 1; k <= n; k++) {
                safetensors_file *f = NULL;
                safetensors_error err;
                safetensors_result r;
                tracker_reset(&t, k, mode);
                r = run_method(m, tf, &t, with_realloc, &f, &err);
                g_k_tried[m]++;
                if (t.injected == 0 && r == SAFETENSORS_ERR_NOMEM) {
                    report("%s %s, k=%lu: NOMEM although no allocation failed", what, tf->path, k);
                } else if (r == SAFETENSORS_ERR_NOMEM) {
                        if (err.code != SAFETENSORS_ERR_NOMEM)
                        report("%s %s, k=%lu: returned NOMEM but err.code is %d", what, tf->path, k, (int)err.code);
                } else if (r != base_r) {
                    report("%s %s, %s k=%lu: %s (%s), without failures %s", what, tf->path,
                           mode ? "from" : "only", k, safetensors_result_name(r),
                           r == SAFETENSORS_OK ? "" : err.message, safetensors_result_name(base_r));
                } else if (r == SAFETENSORS_OK) {
                    const char *diff = table_difference(base, f);
                    if (diff) report("%s %s, k=%lu: opened, but %s differs from the run without failures", what,
                                     tf->path, k, diff);
                } else if (err.code != base_err.code || err.offset != base_err.offset ||
                           strcmp(err.message, base_err.message) != 0) {
                    report("%s %s, k=%lu: error \"%s\" at %llu, without failures \"%s\" at %llu", what, tf->path, k,
                           err.message, (unsigned long long)err.offset, base_err.message,
                           (unsigned long long)base_err.offset);
                }
                if (r != SAFETENSORS_OK && f != NULL) {
                    report("%s %s, k=%lu: %s but *out is not NULL", what, tf->path, k, safetensors_result_name(r));
                    f = NULL;
                }
                safetensors_close(f);
                if (!check_all_freed(&t, what, tf, k)) {
                    k = n; /* one report per file is enough */
                    mode = 2;
                }
            }
        }
    next:
        safetensors_close(base_r == SAFETENSORS_OK ? base : NULL);
        tracker_reset(&base_t, 0, 0);
        check_all_freed(&base_t, what, tf, 0);
        tracker_release(&base_t);
        tracker_release(&t);
    }
}

/* ---------------------------------------------------------------------
   Sharded models: safetensors_model_open, eager and lazy
   --------------------------------------------------------------------- */

typedef struct test_model {
    const char *path;   /* a folder, as model_open takes it */
    const char *prefix; /* its shards' names in expected.tsv start with this */
    size_t tensors;     /* the sum over its shards, from expected.tsv */
} test_model;

static test_model g_models[] = {
    {"tests/models/tiny-llama-bf16-sharded", "model_tiny-llama-bf16-sharded__", 0},
    {"tests/models/tiny-llama-bf16-sharded/model.safetensors.index.json", "model_tiny-llama-bf16-sharded__", 0},
    {"tests/models/tiny-gpt2", "model_tiny-gpt2__", 0},
};
#define MODEL_COUNT (sizeof g_models / sizeof g_models[0])

/* Each model's tensors: the sum over its shards' records in expected.tsv. */
static int load_model_counts(const tu_expected *e)
{
    size_t i, k;
    for (i = 0; i < MODEL_COUNT; i++) {
        for (k = 0; k < e->count; k++)
            if (e->files[k].accept && strncmp(e->files[k].file, g_models[i].prefix, strlen(g_models[i].prefix)) == 0)
                g_models[i].tensors += e->files[k].ntensors;
        if (g_models[i].tensors == 0) return -1;
    }
    return 0;
}

/* Opens, then fetches every tensor (lazy shards open here). The result is
   the first failure, or OK with *out the model. */
static safetensors_result run_model(const char *path, int lazy, tracker *t, int with_realloc,
                                    safetensors_model **out, safetensors_error *err)
{
    safetensors_options opt;
    safetensors_result r;
    size_t i;
    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = tracked_alloc;
    opt.allocator.reallocate = with_realloc ? tracked_realloc : NULL;
    opt.allocator.deallocate = tracked_free;
    opt.allocator.ctx = t;
    opt.flags = lazy ? SAFETENSORS_MODEL_LAZY : 0u;
    memset(err, 0x5a, sizeof *err);
    *out = (safetensors_model *)(void *)&g_sentinel;
    r = safetensors_model_open(path, &opt, out, err);
    if (r != SAFETENSORS_OK) return r;
    for (i = 0; i < safetensors_model_tensor_count(*out); i++) {
        const safetensors_tensor *tensor = NULL;
        size_t shard = 0;
        r = safetensors_model_tensor_at(*out, i, &tensor, &shard, err);
        if (r != SAFETENSORS_OK) {
            safetensors_model_close(*out);
            *out = NULL;
            return r;
        }
    }
    return SAFETENSORS_OK;
}

static const char *model_difference(const safetensors_model *a, const safetensors_model *b)
{
    size_t i;
    if (safetensors_model_tensor_count(a) != safetensors_model_tensor_count(b)) return "tensor count";
    if (safetensors_model_shard_count(a) != safetensors_model_shard_count(b)) return "shard count";
    if (safetensors_model_metadata_count(a) != safetensors_model_metadata_count(b)) return "metadata count";
    for (i = 0; i < safetensors_model_shard_count(a); i++)
        if (strcmp(safetensors_model_shard_name(a, i, NULL), safetensors_model_shard_name(b, i, NULL)) != 0) return "a shard name";
    for (i = 0; i < safetensors_model_tensor_count(a); i++) {
        const safetensors_tensor *s = NULL, *t = NULL, *found = NULL;
        size_t sa = 0, sb = 0, sf = 0;
        if (safetensors_model_tensor_at(a, i, &s, &sa, NULL) != SAFETENSORS_OK ||
            safetensors_model_tensor_at(b, i, &t, &sb, NULL) != SAFETENSORS_OK)
            return "tensor_at";
        if (sa != sb) return "a tensor's shard";
        if (s->name_len != t->name_len || memcmp(s->name, t->name, s->name_len) != 0) return "a tensor name";
        if (s->dtype != t->dtype || s->ndim != t->ndim || s->begin != t->begin || s->end != t->end)
            return "a tensor's dtype, shape or range";
        if (s->ndim && memcmp(s->shape, t->shape, s->ndim * sizeof *s->shape) != 0) return "a shape";
        if (s->data == NULL || t->data == NULL || memcmp(s->data, t->data, (size_t)(s->end - s->begin)) != 0)
            return "a tensor's bytes";
        if (safetensors_model_find(b, t->name, t->name_len, &found, &sf, NULL) != SAFETENSORS_OK || found != t ||
            sf != sb)
            return "find on a name";
    }
    for (i = 0; i < safetensors_model_metadata_count(a); i++) {
        safetensors_metadata_entry s, t, found;
        if (!safetensors_model_metadata_at(a, i, &s) || !safetensors_model_metadata_at(b, i, &t))
            return "a missing metadata entry";
        if (s.key_len != t.key_len || memcmp(s.key, t.key, s.key_len) != 0) return "a metadata key";
        if (s.value_len != t.value_len || (s.value == NULL) != (t.value == NULL) ||
            (s.value && memcmp(s.value, t.value, s.value_len) != 0))
            return "a metadata value";
        if (!safetensors_model_metadata_find(b, t.key, t.key_len, &found) || !tu_entry_same(&found, &t))
            return "metadata_find on a key";
    }
    return NULL;
}

static void exercise_model(enum method m, int with_realloc)
{
    size_t i;
    char what[96];
    int lazy = m == M_MODEL_LAZY;
    for (i = 0; i < MODEL_COUNT; i++) {
        const test_model *tm = &g_models[i];
        test_file tf; /* for the reports */
        tracker base_t, t;
        safetensors_model *base = NULL;
        safetensors_error base_err;
        safetensors_result base_r;
        unsigned long n, k;
        int mode;
        memset(&tf, 0, sizeof tf);
        tf.path = tm->path;
        snprintf(what, sizeof what, "%s%s:", method_names[m], with_realloc ? "" : " (no realloc)");
        memset(&base_t, 0, sizeof base_t);
        memset(&t, 0, sizeof t);
        base_r = run_model(tm->path, lazy, &base_t, with_realloc, &base, &base_err);
        n = base_t.calls;
        g_baseline_allocs[m] += n;
        if (base_r != SAFETENSORS_OK) {
            report("%s %s refused (%s: %s), its shards are all accepted", what, tm->path,
                   safetensors_result_name(base_r), base_err.message);
            base = NULL;
            goto next;
        }
        if (safetensors_model_tensor_count(base) != tm->tensors)
            report("%s %s: %zu tensors, its shards hold %zu", what, tm->path, safetensors_model_tensor_count(base),
                   tm->tensors);
        else if (model_difference(base, base) != NULL)
            report("%s %s: inconsistent with itself: %s", what, tm->path, model_difference(base, base));
        for (mode = 0; mode < 2; mode++) {
            for (k = 1; k <= n; k++) {
                safetensors_model *f = NULL;
                safetensors_error err;
                safetensors_result r;
                tracker_reset(&t, k, mode);
                r = run_model(tm->path, lazy, &t, with_realloc, &f, &err);
                g_k_tried[m]++;
                if (t.injected == 0 && r == SAFETENSORS_ERR_NOMEM) {
                    report("%s %s, k=%lu: NOMEM although no allocation failed", what, tm->path, k);
                } else if (r == SAFETENSORS_ERR_NOMEM) {
                    if (err.code != SAFETENSORS_ERR_NOMEM)
                        report("%s %s, k=%lu: returned NOMEM but err.code is %d", what, tm->path, k, (int)err.code);
                } else if (r != base_r) {
                    report("%s %s, %s k=%lu: %s (%s), without failures OK", what, tm->path, mode ? "from" : "only",
                           k, safetensors_result_name(r), err.message);
                } else {
                    const char *diff = model_difference(base, f);
                    if (diff) report("%s %s, k=%lu: opened, but %s differs from the run without failures", what,
                                     tm->path, k, diff);
                }
                if (r != SAFETENSORS_OK && f != NULL) {
                    report("%s %s, k=%lu: %s but *out is not NULL", what, tm->path, k, safetensors_result_name(r));
                    f = NULL;
                }
                safetensors_model_close(f);
                if (!check_all_freed(&t, what, &tf, k)) {
                    k = n;
                    mode = 2;
                }
            }
        }
    next:
        safetensors_model_close(base);
        tracker_reset(&base_t, 0, 0);
        check_all_freed(&base_t, what, &tf, 0);
        tracker_release(&base_t);
        tracker_release(&t);
    }
}

static void run_method_test(enum method m)
{
    size_t before = g_failures;
    unsigned long tried = g_k_tried[m];
    if (m == M_MODEL || m == M_MODEL_LAZY) {
        exercise_model(m, 1);
        exercise_model(m, 0);
    } else {
        exercise(m, 1);
        exercise(m, 0);
    }
    printf("alloc: %-26s %lu allocations in the runs without failure, %lu k values tried\n", method_names[m],
           g_baseline_allocs[m], g_k_tried[m] - tried);
    assert_true(g_k_tried[m] > tried); /* the test did fail something */
    assert_int_equal(g_failures - before, 0);
}

static void test_open_memory(void **state)
{
    (void)state;
    run_method_test(M_MEMORY);
}

static void test_open_mapped(void **state)
{
    (void)state;
    run_method_test(M_MAP);
}

static void test_open_read_into_memory(void **state)
{
    (void)state;
    run_method_test(M_READ);
}

static void test_open_header_only(void **state)
{
    (void)state;
    run_method_test(M_HEADER_ONLY);
}

static void test_parser_chunks(void **state)
{
    (void)state;
    run_method_test(M_PARSER);
}

static void test_model_open(void **state)
{
    (void)state;
    run_method_test(M_MODEL);
}

static void test_model_open_lazy(void **state)
{
    (void)state;
    run_method_test(M_MODEL_LAZY);
}

/* The allocator itself: it must be able to catch what it is there to catch. */
static void test_tracker_catches_misuse(void **state)
{
    tracker t;
    void *a, *b;
    (void)state;
    memset(&t, 0, sizeof t);
    tracker_reset(&t, 2, 0);
    a = tracked_alloc(&t, 10);
    assert_non_null(a);
    assert_null(tracked_alloc(&t, 10)); /* the 2nd call fails */
    b = tracked_realloc(&t, a, 10, 20);  /* the 3rd succeeds again */
    assert_non_null(b);
    assert_int_equal(t.live_count, 1);
    assert_int_equal(t.live_bytes, 20);
    tracked_free(&t, b, 19); /* wrong size */
    assert_int_equal(t.misuse, 1);
    assert_int_equal(t.live_count, 0);
    tracked_free(&t, b, 20); /* no longer live */
    assert_int_equal(t.misuse, 2);
    tracker_reset(&t, 1, 1);
    assert_null(tracked_alloc(&t, 1));
    assert_null(tracked_alloc(&t, 1)); /* from k on: every later call fails too */
    assert_int_equal(t.injected, 2);
    tracker_release(&t);
}

static int group_setup(void **state)
{
    size_t i;
    tu_expected e;
    int bad;
    (void)state;
    if (tu_load_expected(TU_EXPECTED_TSV, &e) != 0) return -1;
    bad = load_verdicts(&e) != 0;
    if (!bad && load_model_counts(&e) != 0) {
        fprintf(stderr, "%s has no shards of the sample models\n", TU_EXPECTED_TSV);
        bad = 1;
    }
    tu_free_expected(&e);
    if (bad) return -1;
    for (i = 0; i < FILE_COUNT; i++) {
        g_files[i].bytes = tu_read_file(g_files[i].path, &g_files[i].len);
        if (g_files[i].bytes == NULL) {
            fprintf(stderr, "cannot read %s (run from the repository root)\n", g_files[i].path);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **state)
{
    size_t i;
    unsigned long total = 0;
    int m;
    (void)state;
    for (m = 0; m < M_COUNT; m++) total += g_k_tried[m];
    printf("alloc: %lu k values tried in total (%zu files x 5 ways to open, %zu models x 2 ways; x 2 allocators "
           "x 2 failure modes), %zu failures\n",
           total, (size_t)FILE_COUNT, (size_t)MODEL_COUNT, g_failures);
    for (i = 0; i < FILE_COUNT; i++) free(g_files[i].bytes);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_catches_misuse),
        cmocka_unit_test(test_open_memory),
        cmocka_unit_test(test_open_mapped),
        cmocka_unit_test(test_open_read_into_memory),
        cmocka_unit_test(test_open_header_only),
        cmocka_unit_test(test_parser_chunks),
        cmocka_unit_test(test_model_open),
        cmocka_unit_test(test_model_open_lazy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
