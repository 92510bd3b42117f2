/* test_engine.c - what an inference engine needs from safetensors.h:
   alignment of the views and the aligned copies, slices in the native
   dtype and their byte spans, reads into the caller's buffers, custom I/O
   callbacks and sharded writing.

   Expected values come from computations independent of the code under
   test: byte positions read from the file's own length prefix, element
   loops written out here, and files read with stdio. Run from the
   repository root. */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "test_util.h"

#define EDGE_ONE TU_CORPUS_DIR "edge_ok_one.safetensors"
#define GPT2 "tests/models/tiny-gpt2/model.safetensors"

/* ---------------------------------------------------------------------
   1. Alignment
   --------------------------------------------------------------------- */

/* edge_ok_one: one F32 tensor "a" whose data start at 8 + N, read here
   from the length prefix. Placed in memory at a multiple of 8, its data
   sit at an address that is 8 + N modulo 8. */
static void test_alignment_query(void **state) {
    size_t len;
    unsigned char *bytes = tu_read_file(EDGE_ONE, &len), *buf, *at;
    uint64_t start;
    safetensors_file *f = NULL;
    safetensors_options opt;
    const safetensors_tensor *t;
    (void)state;
    assert_non_null(bytes);
    start = 8 + tu_get_le64(bytes);
    assert_int_equal(start % 4, 2); /* the case this file exists for */
    buf = (unsigned char *)malloc(len + 8);
    assert_non_null(buf);
    at = buf + (8 - (uintptr_t)buf % 8) % 8;
    memcpy(at, bytes, len);

    assert_int_equal(safetensors_open_memory(at, len, NULL, &f, NULL), SAFETENSORS_OK);
    t = safetensors_find(f, "a", 1);
    assert_non_null(t);
    assert_ptr_equal(t->data, at + start);
    assert_int_equal(safetensors_tensor_is_aligned(t, 0), 0);
    assert_int_equal(safetensors_tensor_is_aligned(t, 2), 1);
    assert_int_equal(safetensors_tensor_is_aligned(t, 1), 1);
    assert_int_equal(safetensors_tensor_is_aligned(t, 8), 0);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 0), 0);
    safetensors_close(f);
    free(buf);

    /* without data the view alone cannot answer; with its file it answers
       for the file offset */
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open(EDGE_ONE, &opt, &f, NULL), SAFETENSORS_OK);
    t = safetensors_find(f, "a", 1);
    assert_null(t->data);
    assert_int_equal(safetensors_tensor_is_aligned(t, 0), 0);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 0), 0);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 2), 1);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 62), 1);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 4096), 0);
    assert_int_equal(safetensors_tensor_offset_is_aligned(NULL, t, 0), 0);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, NULL, 0), 0);
    assert_int_equal(safetensors_tensor_is_aligned(NULL, 0), 0);
    safetensors_close(f);
    free(bytes);
}

/* Every tensor of the tiny GPT-2 placed one byte off in memory: all of them
   are then misaligned (F32), and ALIGNED_COPY must give each an aligned
   copy of the same bytes. */
static void test_aligned_copy_memory(void **state) {
    size_t len, k;
    unsigned char *bytes = tu_read_file(GPT2, &len), *shifted;
    uint64_t start;
    safetensors_file *plain = NULL, *copied = NULL;
    safetensors_options opt;
    (void)state;
    assert_non_null(bytes);
    start = 8 + tu_get_le64(bytes);
    shifted = (unsigned char *)malloc(len + 8);
    assert_non_null(shifted);
    {
        /* an odd address: no F32 view can be aligned */
        unsigned char *at = shifted + ((8 - (uintptr_t)shifted % 8) % 8) + 1;
        if (at + len > shifted + len + 8) at -= 8;
        memcpy(at, bytes, len);
        assert_int_equal(safetensors_open_memory(at, len, NULL, &plain, NULL), SAFETENSORS_OK);
        memset(&opt, 0, sizeof opt);
        opt.flags = SAFETENSORS_ALIGNED_COPY;
        assert_int_equal(safetensors_open_memory(at, len, &opt, &copied, NULL), SAFETENSORS_OK);
        for (k = 0; k < safetensors_tensor_count(plain); k++) {
            const safetensors_tensor *a = safetensors_tensor_at(plain, k), *b = safetensors_tensor_at(copied, k);
            size_t n = (size_t)(a->end - a->begin);
            assert_ptr_equal(a->data, at + start + a->begin);
            assert_int_equal(((uintptr_t)a->data) % 4 == 0, safetensors_tensor_is_aligned(a, 0));
            assert_int_equal((uintptr_t)b->data % 4, 0);
            assert_int_equal(safetensors_tensor_is_aligned(b, 0), 1);
            if (n && (uintptr_t)a->data % 4) assert_ptr_not_equal(a->data, b->data);
            if ((uintptr_t)a->data % 4 == 0) assert_ptr_equal(a->data, b->data); /* zero-copy stays */
            assert_memory_equal(b->data, bytes + start + a->begin, n);
        }
    }
    safetensors_close(plain);
    safetensors_close(copied);
    free(shifted);
    free(bytes);
}

/* A mix: U8 tensors are aligned wherever they are and must stay views;
   the F32 and F16 ones misaligned by the header length get copies. */
static void test_aligned_copy_mixed(void **state) {
    static const char hdr[] = "{\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                              "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},"
                              "\"d\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[11,13]},"
                              "\"e\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[13,13]}}";
    size_t len, k;
    unsigned char *file = tu_build(hdr, 13, &len);
    unsigned char *buf = (unsigned char *)malloc(len + 16), *at;
    uint64_t start = 8 + strlen(hdr);
    safetensors_options opt;
    safetensors_file *f = NULL;
    (void)state;
    assert_non_null(file);
    assert_non_null(buf);
    /* the data section at an address that is 1 mod 8 */
    at = buf + ((8 - (uintptr_t)(buf + start) % 8) % 8) + 1;
    memcpy(at, file, len);
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_ALIGNED_COPY;
    assert_int_equal(safetensors_open_memory(at, len, &opt, &f, NULL), SAFETENSORS_OK);
    for (k = 0; k < safetensors_tensor_count(f); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        const unsigned char *orig = at + start + t->begin;
        size_t size = t->dtype == SAFETENSORS_U8 ? 1 : t->dtype == SAFETENSORS_F16 ? 2 : t->dtype == SAFETENSORS_F32 ? 4 : 8;
        assert_int_equal((uintptr_t)t->data % size, 0);
        if ((uintptr_t)orig % size == 0) assert_ptr_equal(t->data, orig);
        else assert_ptr_not_equal(t->data, orig);
        assert_memory_equal(t->data, orig, (size_t)(t->end - t->begin));
    }
    /* the flag reaches the header-only path too, where it does nothing */
    safetensors_close(f);
    opt.flags = SAFETENSORS_ALIGNED_COPY | SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open_memory(at, len, &opt, &f, NULL), SAFETENSORS_OK);
    assert_null(safetensors_tensor_at(f, 1)->data);
    safetensors_close(f);
    free(buf);
    free(file);
}

/* The copy's allocation failing: NOMEM, nothing left open, nothing leaked
   (the sanitizer build checks the leak). */
static int g_fail_at, g_calls;
static void *failing_alloc(void *ctx, size_t n) {
    (void)ctx;
    return ++g_calls == g_fail_at ? NULL : malloc(n);
}
static void failing_free(void *ctx, void *p, size_t n) {
    (void)ctx;
    (void)n;
    free(p);
}

static void test_aligned_copy_nomem(void **state) {
    size_t len;
    unsigned char *bytes = tu_read_file(EDGE_ONE, &len);
    safetensors_options opt;
    safetensors_file *f;
    int k, ok = 0;
    (void)state;
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_ALIGNED_COPY;
    opt.allocator.allocate = failing_alloc;
    opt.allocator.deallocate = failing_free;
    for (k = 1; k < 200 && !ok; k++) {
        safetensors_error err;
        safetensors_result r;
        g_calls = 0;
        g_fail_at = k;
        f = (safetensors_file *)1;
        r = safetensors_open(EDGE_ONE, &opt, &f, &err);
        if (r == SAFETENSORS_OK) {
            ok = 1;
            assert_int_equal((uintptr_t)safetensors_find(f, "a", 1)->data % 4, 0);
            assert_memory_equal(safetensors_find(f, "a", 1)->data, bytes + 8 + tu_get_le64(bytes), 8);
            safetensors_close(f);
        } else {
            assert_int_equal(r, SAFETENSORS_ERR_NOMEM);
            assert_null(f);
        }
    }
    assert_true(ok);
    free(bytes);
}

/* ---------------------------------------------------------------------
   3. Slices
   --------------------------------------------------------------------- */

static int get_bit(const unsigned char *p, uint64_t i) { return (p[i / 8] >> (i % 8)) & 1; }
static void set_bit(unsigned char *p, uint64_t i, int v) {
    if (v) p[i / 8] = (unsigned char)(p[i / 8] | (1u << (i % 8)));
    else p[i / 8] = (unsigned char)(p[i / 8] & ~(1u << (i % 8)));
}

/* The slice the plain way: every element of the box in row-major order,
   its bits copied one by one. Also the runs of consecutive source
   elements (the spans a copy can use) and whether each run starts and
   ends on a byte. Returns the run count, or -1 when a run does not. */
static long slice_by_elements(const unsigned char *src, unsigned bits, size_t ndim, const uint64_t *shape,
                              const uint64_t *start, const uint64_t *stop, unsigned char *out, uint64_t *out_bits) {
    uint64_t total = 1, idx, prev = 0;
    long runs = 0;
    int aligned = 1;
    size_t d;
    for (d = 0; d < ndim; d++) total *= stop[d] - start[d];
    for (idx = 0; idx < total; idx++) {
        uint64_t rest = idx, lin = 0, stride = 1, b;
        for (d = ndim; d-- > 0;) {
            uint64_t extent = stop[d] - start[d];
            lin += (start[d] + rest % extent) * stride;
            rest /= extent;
            stride *= shape[d];
        }
        if (idx == 0 || lin != prev + 1) {
            if (idx) aligned &= ((prev + 1) * bits) % 8 == 0;
            aligned &= (lin * bits) % 8 == 0;
            runs++;
        }
        prev = lin;
        for (b = 0; b < bits; b++) set_bit(out, idx * bits + b, get_bit(src, lin * bits + b));
    }
    if (total) aligned &= ((prev + 1) * bits) % 8 == 0;
    *out_bits = total * bits;
    return aligned ? runs : -1;
}

static void test_slice_random(void **state) {
    uint64_t rng = 0x5eed5eedu;
    unsigned dt;
    unsigned long refused_subbyte = 0, copied_subbyte = 0, multi_span = 0, bad_ranges = 0;
    (void)state;
    for (dt = 0; dt < SAFETENSORS_DTYPE_COUNT; dt++) {
        unsigned bits = safetensors_dtype_bits((safetensors_dtype)dt);
        int trial;
        for (trial = 0; trial < 400; trial++) {
            uint64_t shape[4], start[4], stop[4], elements = 1, want_bits, bytes;
            size_t ndim = (size_t)(tu_xorshift64(&rng) % 5), d, i;
            unsigned char *data, *want, *got;
            safetensors_tensor t;
            safetensors_error err;
            safetensors_slice_iter it;
            safetensors_span span;
            long runs;
            int bad = 0, spans = 0;
            uint64_t end_prev = UINT64_MAX, at = 0;
            safetensors_result r;
            for (d = 0; d < ndim; d++) {
                shape[d] = tu_xorshift64(&rng) % 6;
                if (tu_xorshift64(&rng) % 4 == 0 && shape[d] == 0) shape[d] = 3;
                elements *= shape[d];
                start[d] = shape[d] ? tu_xorshift64(&rng) % (shape[d] + 1) : 0;
                stop[d] = start[d] + tu_xorshift64(&rng) % (shape[d] - start[d] + 1);
                if (tu_xorshift64(&rng) % 3 == 0) {
                    start[d] = 0;
                    stop[d] = shape[d];
                }
            }
            if ((elements * bits) % 8) continue; /* not a valid tensor */
            bytes = elements * bits / 8;
            if (ndim && tu_xorshift64(&rng) % 12 == 0) { /* a bad range */
                d = (size_t)(tu_xorshift64(&rng) % ndim);
                if (tu_xorshift64(&rng) % 2) stop[d] = shape[d] + 1;
                else if (stop[d] > 0) {
                    start[d] = stop[d];
                    stop[d] = start[d] - 1;
                } else stop[d] = shape[d] + 2;
                bad = 1;
            }
            data = (unsigned char *)malloc((size_t)bytes + 1);
            want = (unsigned char *)calloc((size_t)bytes + 1, 1);
            got = (unsigned char *)malloc((size_t)bytes + 1);
            assert_true(data && want && got);
            for (i = 0; i < bytes; i++) data[i] = (unsigned char)tu_xorshift64(&rng);
            memset(&t, 0, sizeof t);
            t.name = "t";
            t.name_len = 1;
            t.dtype = (safetensors_dtype)dt;
            t.ndim = ndim;
            t.shape = shape;
            t.begin = 16;
            t.end = 16 + bytes;
            t.data = data;
            memset(got, 0xa5, (size_t)bytes + 1);
            r = safetensors_tensor_slice(&t, start, stop, got, (size_t)bytes, &err);
            if (bad) {
                assert_int_equal(r, SAFETENSORS_ERR_ARGUMENT);
                assert_int_equal(err.code, SAFETENSORS_ERR_ARGUMENT);
                assert_non_null(strstr(err.message, "dimension"));
                bad_ranges++;
                goto next;
            }
            runs = slice_by_elements(data, bits, ndim, shape, start, stop, want, &want_bits);
            if (runs < 0) {
                assert_int_equal(r, SAFETENSORS_ERR_MISALIGNED);
                assert_int_equal(safetensors_slice_spans(&it, &t, start, stop, NULL), SAFETENSORS_ERR_MISALIGNED);
                refused_subbyte++;
                goto next;
            }
            assert_int_equal(r, SAFETENSORS_OK);
            assert_memory_equal(got, want, (size_t)(want_bits / 8));
            assert_int_equal(got[want_bits / 8], 0xa5); /* nothing past the slice */
            /* the spans: as many as the runs, none adjacent to the one
               before, and their bytes the slice's */
            assert_int_equal(safetensors_slice_spans(&it, &t, start, stop, NULL), SAFETENSORS_OK);
            assert_int_equal(it.bytes, want_bits / 8);
            while (safetensors_slice_next(&it, &span)) {
                assert_true(span.length > 0);
                assert_true(end_prev == UINT64_MAX || span.offset > end_prev);
                assert_ptr_equal(span.data, data + span.offset);
                assert_memory_equal(span.data, want + at, (size_t)span.length);
                at += span.length;
                end_prev = span.offset + span.length;
                spans++;
            }
            assert_int_equal(spans, runs);
            assert_int_equal(at, want_bits / 8);
            copied_subbyte += bits % 8 && at;
            multi_span += spans > 1;
            if (want_bits / 8) {
                assert_int_equal(safetensors_tensor_slice(&t, start, stop, got, (size_t)(want_bits / 8 - 1), &err),
                                 SAFETENSORS_ERR_SIZE);
                assert_int_equal(safetensors_tensor_slice(&t, start, stop, NULL, 0, NULL), SAFETENSORS_ERR_SIZE);
            }
        next:
            free(data);
            free(want);
            free(got);
        }
    }
    /* every kind of case came up */
    assert_true(refused_subbyte > 20 && copied_subbyte > 20 && multi_span > 100 && bad_ranges > 50);
}

/* A real file: rows 3..10, columns 5..17 of a [64, 192] F32 weight, and
   whole rows as a single span. */
static void test_slice_model(void **state) {
    safetensors_file *f = NULL;
    const safetensors_tensor *t;
    uint64_t start[2] = {3, 5}, stop[2] = {10, 17}, r, c;
    float got[7 * 12];
    safetensors_slice_iter it;
    safetensors_span span;
    size_t len;
    unsigned char *bytes = tu_read_file(GPT2, &len);
    uint64_t data_start;
    (void)state;
    assert_non_null(bytes);
    data_start = 8 + tu_get_le64(bytes);
    assert_int_equal(safetensors_open(GPT2, NULL, &f, NULL), SAFETENSORS_OK);
    t = safetensors_find(f, "transformer.h.0.attn.c_attn.weight", 34);
    assert_non_null(t);
    assert_int_equal(safetensors_tensor_slice(t, start, stop, got, sizeof got, NULL), SAFETENSORS_OK);
    for (r = 0; r < 7; r++)
        for (c = 0; c < 12; c++)
            assert_memory_equal(&got[r * 12 + c], bytes + data_start + t->begin + ((3 + r) * 192 + 5 + c) * 4, 4);
    start[1] = 0;
    stop[1] = 192;
    assert_int_equal(safetensors_slice_spans(&it, t, start, stop, NULL), SAFETENSORS_OK);
    assert_int_equal(it.spans, 1);
    assert_int_equal(safetensors_slice_next(&it, &span), 1);
    assert_int_equal(span.offset, 3 * 192 * 4);
    assert_int_equal(span.length, 7 * 192 * 4);
    assert_int_equal(safetensors_slice_next(&it, &span), 0);
    /* NULLs */
    assert_int_equal(safetensors_tensor_slice(NULL, start, stop, got, sizeof got, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_slice(t, NULL, stop, got, sizeof got, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_slice_spans(NULL, t, start, stop, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_slice_next(NULL, &span), 0);
    safetensors_close(f);
    free(bytes);
}

/* ---------------------------------------------------------------------
   5. Sharded writing
   --------------------------------------------------------------------- */

#define SHARD_DIR "build/test-engine-shards"

/* Files in a folder (not . and ..). */
static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void empty_dir(const char *dir) {
    DIR *d;
    struct dirent *e;
    char path[512];
    mkdir("build", 0777);
    mkdir(dir, 0777);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        remove(path);
    }
    closedir(d);
}

/* Declares every tensor of src in file order into a new shard writer. */
static safetensors_shard_writer *shard_writer_for(const safetensors_file *src, uint64_t limit) {
    safetensors_shard_writer *sw = NULL;
    size_t k;
    assert_int_equal(safetensors_shard_writer_create(NULL, limit, &sw, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_add_metadata(sw, "format", 6, "pt", 2, NULL), SAFETENSORS_OK);
    for (k = 0; k < safetensors_tensor_count(src); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(src, k);
        assert_int_equal(safetensors_shard_writer_add_tensor(sw, t->name, t->name_len, t->dtype, t->ndim, t->shape, NULL),
                         SAFETENSORS_OK);
    }
    return sw;
}

/* Writes every tensor's bytes in the writer's order, in pieces of 1000. */
static void shard_writer_fill(safetensors_shard_writer *sw, const safetensors_file *src) {
    size_t k;
    for (k = 0; k < safetensors_shard_writer_tensor_count(sw); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(src, safetensors_shard_writer_declaration_index(sw, k));
        uint64_t at;
        for (at = 0; at < t->end - t->begin; at += 1000) {
            uint64_t n = t->end - t->begin - at < 1000 ? t->end - t->begin - at : 1000;
            assert_int_equal(safetensors_shard_writer_write_tensor(sw, k, (const unsigned char *)t->data + at,
                                                                   (size_t)n, NULL),
                             SAFETENSORS_OK);
        }
    }
}

static void test_shard_round_trip(void **state) {
    safetensors_file *src = NULL;
    safetensors_shard_writer *sw;
    safetensors_model *m = NULL;
    const uint64_t limit = 100000;
    size_t k, want_shards = 1, len;
    uint64_t used = 0, total = 0;
    char *index;
    char head[128];
    (void)state;
    assert_int_equal(safetensors_open(GPT2, NULL, &src, NULL), SAFETENSORS_OK);
    /* the assignment worked out here: declaration (= file) order, a new
       shard when the next tensor would pass the limit */
    for (k = 0; k < safetensors_tensor_count(src); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(src, k);
        uint64_t size = t->end - t->begin;
        if (k && used + size > limit) {
            want_shards++;
            used = 0;
        }
        used += size;
        total += size;
    }
    assert_true(want_shards > 2);
    empty_dir(SHARD_DIR);
    sw = shard_writer_for(src, limit);
    assert_int_equal(safetensors_shard_writer_begin(sw, SHARD_DIR, NULL, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_shard_count(sw), want_shards);
    snprintf(head, sizeof head, "model-00001-of-%05u.safetensors", (unsigned)want_shards);
    assert_string_equal(safetensors_shard_writer_shard_name(sw, 0), head);
    shard_writer_fill(sw, src);
    /* nothing is in place before finish: the folder holds temporary files */
    assert_int_equal(count_files(SHARD_DIR), (int)want_shards);
    assert_int_equal(safetensors_shard_writer_finish(sw, NULL), SAFETENSORS_OK);
    safetensors_shard_writer_destroy(sw);
    assert_int_equal(count_files(SHARD_DIR), (int)want_shards + 1);

    /* the index, as json.dumps(indent=2, sort_keys=True) lays it out */
    index = (char *)tu_read_file(SHARD_DIR "/model.safetensors.index.json", &len);
    assert_non_null(index);
    snprintf(head, sizeof head,
             "{\n  \"metadata\": {\n    \"total_parameters\": %llu,\n    \"total_size\": %llu\n  },\n"
             "  \"weight_map\": {\n    \"",
             (unsigned long long)(total / 4), (unsigned long long)total); /* F32: 4 bytes a parameter */
    assert_memory_equal(index, head, strlen(head));
    assert_memory_equal(index + len - 7, "\n  }\n}\n", 7);
    assert_non_null(strstr(index, "\"transformer.wte.weight\": \"model-"));
    free(index);

    /* the round trip: every tensor, its bytes, each shard's metadata */
    assert_int_equal(safetensors_model_open(SHARD_DIR, NULL, &m, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_model_shard_count(m), want_shards);
    assert_int_equal(safetensors_model_tensor_count(m), safetensors_tensor_count(src));
    for (k = 0; k < safetensors_tensor_count(src); k++) {
        const safetensors_tensor *a = safetensors_tensor_at(src, k), *b = NULL;
        size_t shard;
        const safetensors_file *f = NULL;
        assert_int_equal(safetensors_model_find(m, a->name, a->name_len, &b, &shard, NULL), SAFETENSORS_OK);
        assert_int_equal(b->dtype, a->dtype);
        assert_int_equal(b->end - b->begin, a->end - a->begin);
        assert_memory_equal(b->data, a->data, (size_t)(a->end - a->begin));
        assert_int_equal(safetensors_model_shard(m, shard, &f, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_metadata_find(f, "format", 6, NULL), 1);
    }
    safetensors_model_close(m);
    safetensors_close(src);
}

/* A limit below every tensor: each alone in its shard. One shard: one
   file and no index. */
static void test_shard_limits(void **state) {
    safetensors_file *src = NULL;
    safetensors_shard_writer *sw;
    (void)state;
    assert_int_equal(safetensors_open(GPT2, NULL, &src, NULL), SAFETENSORS_OK);
    empty_dir(SHARD_DIR);
    sw = shard_writer_for(src, 1);
    assert_int_equal(safetensors_shard_writer_begin(sw, SHARD_DIR "/", "tiny", NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_shard_count(sw), safetensors_tensor_count(src));
    assert_string_equal(safetensors_shard_writer_shard_name(sw, 2), "tiny-00003-of-00028.safetensors");
    safetensors_shard_writer_destroy(sw); /* before finish: nothing stays */
    assert_int_equal(count_files(SHARD_DIR), 0);

    sw = shard_writer_for(src, UINT64_MAX);
    assert_int_equal(safetensors_shard_writer_begin(sw, SHARD_DIR, NULL, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_shard_count(sw), 1);
    assert_string_equal(safetensors_shard_writer_shard_name(sw, 0), "model.safetensors");
    /* finish refuses while bytes are missing, and commits nothing */
    assert_int_equal(safetensors_shard_writer_finish(sw, NULL), SAFETENSORS_ERR_SIZE);
    shard_writer_fill(sw, src);
    assert_int_equal(safetensors_shard_writer_finish(sw, NULL), SAFETENSORS_OK);
    safetensors_shard_writer_destroy(sw);
    assert_int_equal(count_files(SHARD_DIR), 1);
    {
        /* the one shard is the reference writer's layout of the same
           tensors: the source file itself, byte for byte */
        size_t a_len, b_len;
        unsigned char *a = tu_read_file(GPT2, &a_len), *b = tu_read_file(SHARD_DIR "/model.safetensors", &b_len);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
        free(a);
        free(b);
    }
    /* refusals */
    assert_int_equal(safetensors_shard_writer_create(NULL, 0, &sw, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_null(sw);
    assert_int_equal(safetensors_shard_writer_begin(NULL, SHARD_DIR, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_shard_writer_write_tensor(NULL, 0, "", 0, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_null(safetensors_shard_writer_tensor_at(NULL, 0, NULL));
    safetensors_shard_writer_destroy(NULL);
    safetensors_close(src);
}

/* Names that json.dumps escapes, escaped by hand: e-acute is \u00e9, the
   control byte 1 \u0001, the quote \", DEL \u007f, U+1F600 the pair
   \ud83d\ude00, a newline \n. */
static void test_shard_index_escapes(void **state) {
    static const char name[] = "\xc3\xa9\x01\"\x7f\xf0\x9f\x98\x80\n";
    static const char want[] = "\"\\u00e9\\u0001\\\"\\u007f\\ud83d\\ude00\\n\": \"model-00002-of-00002.safetensors\"";
    safetensors_shard_writer *sw = NULL;
    uint64_t shape[1] = {4};
    unsigned char bytes[16] = {0};
    size_t len;
    char *index;
    safetensors_model *m = NULL;
    const safetensors_tensor *t;
    (void)state;
    empty_dir(SHARD_DIR);
    assert_int_equal(safetensors_shard_writer_create(NULL, 16, &sw, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_add_tensor(sw, "a", 1, SAFETENSORS_F32, 1, shape, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_add_tensor(sw, name, sizeof name - 1, SAFETENSORS_F32, 1, shape, NULL),
                     SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_begin(sw, SHARD_DIR, NULL, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_write_tensor(sw, 0, bytes, 16, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_write_tensor(sw, 1, bytes, 16, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_shard_writer_finish(sw, NULL), SAFETENSORS_OK);
    safetensors_shard_writer_destroy(sw);
    index = (char *)tu_read_file(SHARD_DIR "/model.safetensors.index.json", &len);
    assert_non_null(index);
    assert_non_null(strstr(index, want));
    assert_non_null(strstr(index, "\"total_parameters\": 8,\n    \"total_size\": 32\n"));
    free(index);
    assert_int_equal(safetensors_model_open(SHARD_DIR, NULL, &m, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_model_find(m, name, sizeof name - 1, &t, NULL, NULL), SAFETENSORS_OK);
    safetensors_model_close(m);
}

/* ---------------------------------------------------------------------
   2. Reading into the caller's buffers
   --------------------------------------------------------------------- */

static const char *const READ_FILES[] = {
    GPT2,
    "tests/models/tiny-llama-bf16-sharded/model-00001-of-00004.safetensors",
    "tests/models/tiny-llama-bf16-sharded/model-00004-of-00004.safetensors",
    TU_CORPUS_DIR "edge_ok_one.safetensors",
};

/* Every tensor, whole and in chunks of 1000 bytes, through every kind of
   handle, against the bytes at 8 + N + begin of the file read with stdio. */
static void test_read_tensor_every_handle(void **state) {
    size_t fi;
    (void)state;
    for (fi = 0; fi < sizeof READ_FILES / sizeof READ_FILES[0]; fi++) {
        size_t len, k, mode;
        unsigned char *bytes = tu_read_file(READ_FILES[fi], &len);
        uint64_t start;
        assert_non_null(bytes);
        start = 8 + tu_get_le64(bytes);
        for (mode = 0; mode < 4; mode++) {
            safetensors_options opt;
            safetensors_file *f = NULL;
            memset(&opt, 0, sizeof opt);
            opt.flags = mode == 1 ? SAFETENSORS_HEADER_ONLY : mode == 2 ? SAFETENSORS_READ_INTO_MEMORY : 0u;
            if (mode == 3) {
                opt.flags = SAFETENSORS_HEADER_ONLY;
                assert_int_equal(safetensors_open_memory(bytes, len, &opt, &f, NULL), SAFETENSORS_OK);
            } else {
                assert_int_equal(safetensors_open(READ_FILES[fi], &opt, &f, NULL), SAFETENSORS_OK);
            }
            for (k = 0; k < safetensors_tensor_count(f); k++) {
                const safetensors_tensor *t = safetensors_tensor_at(f, k);
                size_t n = (size_t)(t->end - t->begin), at;
                unsigned char *got = (unsigned char *)malloc(n + 1);
                assert_non_null(got);
                memset(got, 0xa5, n + 1);
                assert_int_equal(safetensors_read_tensor(f, t, got, n, NULL), SAFETENSORS_OK);
                assert_memory_equal(got, bytes + start + t->begin, n);
                assert_int_equal(got[n], 0xa5);
                for (at = 0; at < n; at += 1000) {
                    size_t piece = n - at < 1000 ? n - at : 1000;
                    memset(got, 0, piece);
                    assert_int_equal(safetensors_read_tensor_range(f, t, at, got, piece, NULL), SAFETENSORS_OK);
                    assert_memory_equal(got, bytes + start + t->begin + at, piece);
                }
                if (n) {
                    safetensors_error err;
                    assert_int_equal(safetensors_read_tensor(f, t, got, n - 1, &err), SAFETENSORS_ERR_SIZE);
                    assert_non_null(strstr(err.message, t->name));
                    assert_int_equal(safetensors_read_tensor_range(f, t, 1, got, n, NULL), SAFETENSORS_ERR_ARGUMENT);
                    assert_int_equal(safetensors_read_tensor_range(f, t, 0, NULL, 1, NULL), SAFETENSORS_ERR_ARGUMENT);
                }
                assert_int_equal(safetensors_read_tensor_range(f, t, n, got, 0, NULL), SAFETENSORS_OK);
                free(got);
            }
            assert_int_equal(safetensors_read_tensor(NULL, safetensors_tensor_at(f, 0), bytes, len, NULL),
                             SAFETENSORS_ERR_ARGUMENT);
            assert_int_equal(safetensors_read_tensor(f, NULL, bytes, len, NULL), SAFETENSORS_ERR_ARGUMENT);
            safetensors_close(f);
        }
        free(bytes);
    }
}

/* A slice read from a HEADER_ONLY handle equals the same slice of the
   mapped file; random boxes of every tensor of the sharded BF16 model. */
static void test_read_slice_header_only(void **state) {
    const char *path = READ_FILES[1];
    safetensors_options opt;
    safetensors_file *mapped = NULL, *bare = NULL;
    uint64_t rng = 99;
    size_t k;
    int trial;
    (void)state;
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open(path, NULL, &mapped, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_open(path, &opt, &bare, NULL), SAFETENSORS_OK);
    for (k = 0; k < safetensors_tensor_count(mapped); k++) {
        const safetensors_tensor *a = safetensors_tensor_at(mapped, k), *b = safetensors_tensor_at(bare, k);
        size_t n = (size_t)(a->end - a->begin);
        unsigned char *x = (unsigned char *)malloc(n + 1), *y = (unsigned char *)malloc(n + 1);
        assert_true(x && y);
        for (trial = 0; trial < 20; trial++) {
            uint64_t start[4] = {0}, stop[4] = {0};
            size_t d;
            for (d = 0; d < a->ndim; d++) {
                start[d] = tu_xorshift64(&rng) % (a->shape[d] + 1);
                stop[d] = start[d] + tu_xorshift64(&rng) % (a->shape[d] - start[d] + 1);
            }
            assert_int_equal(safetensors_tensor_slice(a, start, stop, x, n, NULL), SAFETENSORS_OK);
            assert_int_equal(safetensors_read_slice(bare, b, start, stop, y, n, NULL), SAFETENSORS_OK);
            assert_int_equal(safetensors_read_slice(mapped, a, start, stop, y + 0, n, NULL), SAFETENSORS_OK);
            assert_int_equal(safetensors_read_slice(bare, b, start, stop, y, n, NULL), SAFETENSORS_OK);
            {
                safetensors_slice_iter it;
                assert_int_equal(safetensors_slice_spans(&it, a, start, stop, NULL), SAFETENSORS_OK);
                assert_memory_equal(x, y, (size_t)it.bytes);
                /* without the file, a view without data cannot be sliced */
                assert_int_equal(safetensors_tensor_slice(b, start, stop, y, n, NULL),
                                 it.bytes ? SAFETENSORS_ERR_ARGUMENT : SAFETENSORS_OK);
            }
        }
        free(x);
        free(y);
    }
    safetensors_close(mapped);
    safetensors_close(bare);
}

typedef struct reader_job {
    const safetensors_file *f;
    const unsigned char *bytes;
    uint64_t start;
    unsigned seed;
    int bad;
} reader_job;

/* Reads every tensor in an order of its own, checking each. */
static void *reader_thread(void *arg) {
    reader_job *j = (reader_job *)arg;
    size_t n = safetensors_tensor_count(j->f), i, round;
    for (round = 0; round < 20; round++) {
        for (i = 0; i < n; i++) {
            const safetensors_tensor *t = safetensors_tensor_at(j->f, (i * 7 + j->seed + round) % n);
            size_t len = (size_t)(t->end - t->begin);
            unsigned char *buf = (unsigned char *)malloc(len ? len : 1);
            if (buf == NULL || safetensors_read_tensor(j->f, t, buf, len, NULL) != SAFETENSORS_OK ||
                memcmp(buf, j->bytes + j->start + t->begin, len) != 0)
                j->bad++;
            free(buf);
        }
    }
    return NULL;
}

static void test_read_tensor_threads(void **state) {
    safetensors_options opt;
    safetensors_file *f = NULL;
    pthread_t th[4];
    reader_job jobs[4];
    size_t len;
    unsigned char *bytes = tu_read_file(GPT2, &len);
    unsigned k;
    (void)state;
    assert_non_null(bytes);
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open(GPT2, &opt, &f, NULL), SAFETENSORS_OK);
    for (k = 0; k < 4; k++) {
        jobs[k].f = f;
        jobs[k].bytes = bytes;
        jobs[k].start = 8 + tu_get_le64(bytes);
        jobs[k].seed = k * 5;
        jobs[k].bad = 0;
        assert_int_equal(pthread_create(&th[k], NULL, reader_thread, &jobs[k]), 0);
    }
    for (k = 0; k < 4; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        assert_int_equal(jobs[k].bad, 0);
    }
    safetensors_close(f);
    free(bytes);
}

/* A file cut short after the open: the read says so (IO), and a handle
   made by the parser has nothing to read. */
static void test_read_tensor_failures(void **state) {
    const char *copy = "build/test-engine-cut.safetensors";
    size_t len;
    unsigned char *bytes = tu_read_file(GPT2, &len);
    FILE *fp;
    safetensors_options opt;
    safetensors_file *f = NULL;
    safetensors_parser *p = NULL;
    safetensors_error err;
    const safetensors_tensor *last;
    unsigned char buf[16];
    size_t used;
    int done;
    (void)state;
    assert_non_null(bytes);
    mkdir("build", 0777);
    fp = fopen(copy, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, len, fp), len);
    fclose(fp);
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open(copy, &opt, &f, NULL), SAFETENSORS_OK);
    assert_int_equal(truncate(copy, (off_t)(len - 100)), 0);
    last = safetensors_tensor_at(f, safetensors_tensor_count(f) - 1);
    assert_int_equal(safetensors_read_tensor_range(f, last, last->end - last->begin - 16, buf, 16, &err),
                     SAFETENSORS_ERR_IO);
    assert_int_equal(err.code, SAFETENSORS_ERR_IO);
    assert_int_equal(safetensors_read_tensor_range(f, last, 0, buf, 16, NULL), SAFETENSORS_OK);
    assert_memory_equal(buf, bytes + 8 + tu_get_le64(bytes) + last->begin, 16);
    safetensors_close(f);
    remove(copy);

    assert_int_equal(safetensors_parser_create(NULL, &p, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_parser_feed(p, bytes, len, &used, &done, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_parser_finish(p, len - used, &f, NULL), SAFETENSORS_OK);
    safetensors_parser_destroy(p);
    assert_int_equal(safetensors_read_tensor(f, safetensors_tensor_at(f, 0), bytes, len, &err),
                     SAFETENSORS_ERR_ARGUMENT);
    safetensors_close(f);
    free(bytes);
}

/* ---------------------------------------------------------------------
   4. Custom I/O
   --------------------------------------------------------------------- */

/* A pack of files held in memory, served by name, with a call counter
   that can make the k-th call (open, size or read) fail. */
typedef struct pak_file {
    const char *name;
    unsigned char *bytes;
    size_t len;
} pak_file;

typedef struct pak {
    pak_file files[8];
    size_t count;
    long calls, fail_at; /* fail_at 0: never */
    long opened;         /* open calls not yet closed */
} pak;

static int pak_fails(pak *k) { return ++k->calls == k->fail_at; }

/* The io handed out points at a slot holding the pack and the file, so
   that every call can count. */
typedef struct pak_slot {
    pak *owner;
    pak_file *file;
} pak_slot;

static size_t slot_read(void *ctx, uint64_t offset, void *dst, size_t len) {
    pak_slot *s = (pak_slot *)ctx;
    if (pak_fails(s->owner)) return len - 1;
    if (offset > s->file->len || len > s->file->len - offset) return 0;
    memcpy(dst, s->file->bytes + offset, len);
    return len;
}

static int slot_size(void *ctx, uint64_t *size) {
    pak_slot *s = (pak_slot *)ctx;
    if (pak_fails(s->owner)) return 1;
    *size = s->file->len;
    return 0;
}

static int pak_open(void *ctx, const char *name, safetensors_io *io) {
    pak *k = (pak *)ctx;
    size_t i;
    pak_slot *slot;
    if (pak_fails(k)) return 1;
    for (i = 0; i < k->count && strcmp(k->files[i].name, name) != 0; i++) continue;
    if (i == k->count) return 1;
    slot = (pak_slot *)malloc(sizeof *slot);
    if (slot == NULL) return 1;
    slot->owner = k;
    slot->file = &k->files[i];
    io->read = slot_read;
    io->size = slot_size;
    io->ctx = slot;
    k->opened++;
    return 0;
}

static void pak_close(void *ctx, safetensors_io *io) {
    pak *k = (pak *)ctx;
    free(io->ctx);
    k->opened--;
}

static void pak_add(pak *k, const char *name, const char *path) {
    pak_file *f = &k->files[k->count++];
    f->name = name;
    f->bytes = tu_read_file(path, &f->len);
    assert_non_null(f->bytes);
}

static void pak_free(pak *k) {
    size_t i;
    for (i = 0; i < k->count; i++) free(k->files[i].bytes);
}

#define LLAMA_DIR "tests/models/tiny-llama-bf16-sharded/"

static void pak_llama(pak *k) {
    static const char *const names[] = {"model.safetensors.index.json", "model-00001-of-00004.safetensors",
                                        "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
                                        "model-00004-of-00004.safetensors"};
    static char keys[5][64];
    size_t i;
    memset(k, 0, sizeof *k);
    for (i = 0; i < 5; i++) {
        char path[128];
        snprintf(keys[i], sizeof keys[i], "pak/llama/%s", names[i]);
        snprintf(path, sizeof path, LLAMA_DIR "%s", names[i]);
        pak_add(k, keys[i], path);
    }
    pak_add(k, "pak/gpt2.safetensors", GPT2);
}

/* Every tensor of `got` equals the same tensor of the model on disk. */
static void same_as_disk_model(const safetensors_model *got) {
    safetensors_model *disk = NULL;
    size_t i;
    assert_int_equal(safetensors_model_open(LLAMA_DIR, NULL, &disk, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_model_tensor_count(got), safetensors_model_tensor_count(disk));
    for (i = 0; i < safetensors_model_tensor_count(disk); i++) {
        const safetensors_tensor *a = NULL, *b = NULL;
        const safetensors_file *f = NULL;
        size_t shard;
        unsigned char *buf;
        assert_int_equal(safetensors_model_tensor_at(disk, i, &a, NULL, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_model_find(got, a->name, a->name_len, &b, &shard, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_model_shard(got, shard, &f, NULL), SAFETENSORS_OK);
        buf = (unsigned char *)malloc((size_t)(a->end - a->begin) + 1);
        assert_non_null(buf);
        assert_int_equal(safetensors_read_tensor(f, b, buf, (size_t)(a->end - a->begin), NULL), SAFETENSORS_OK);
        assert_memory_equal(buf, a->data, (size_t)(a->end - a->begin));
        free(buf);
    }
    safetensors_model_close(disk);
}

static void test_io_single_file(void **state) {
    pak k;
    safetensors_io io;
    pak_slot slot;
    safetensors_options opt;
    safetensors_file *a = NULL, *b = NULL;
    size_t i;
    unsigned flags[2] = {0u, SAFETENSORS_HEADER_ONLY};
    unsigned fl;
    (void)state;
    memset(&k, 0, sizeof k);
    pak_add(&k, "gpt2", GPT2);
    slot.owner = &k;
    slot.file = &k.files[0];
    io.read = slot_read;
    io.size = slot_size;
    io.ctx = &slot;
    assert_int_equal(safetensors_open(GPT2, NULL, &a, NULL), SAFETENSORS_OK);
    for (fl = 0; fl < 2; fl++) {
        memset(&opt, 0, sizeof opt);
        opt.flags = flags[fl];
        assert_int_equal(safetensors_open_io(&io, &opt, &b, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_tensor_count(b), safetensors_tensor_count(a));
        assert_int_equal(safetensors_data_start(b), safetensors_data_start(a));
        for (i = 0; i < safetensors_tensor_count(a); i++) {
            const safetensors_tensor *x = safetensors_tensor_at(a, i), *y = safetensors_tensor_at(b, i);
            unsigned char *buf = (unsigned char *)malloc((size_t)(x->end - x->begin) + 1);
            assert_non_null(buf);
            assert_int_equal(y->name_len, x->name_len);
            assert_memory_equal(y->name, x->name, x->name_len);
            assert_true(fl ? y->data == NULL : y->data != NULL);
            assert_int_equal(safetensors_read_tensor(b, y, buf, (size_t)(x->end - x->begin), NULL), SAFETENSORS_OK);
            assert_memory_equal(buf, x->data, (size_t)(x->end - x->begin));
            free(buf);
        }
        safetensors_close(b);
    }
    /* refusals */
    assert_int_equal(safetensors_open_io(NULL, NULL, &b, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_null(b);
    io.size = NULL;
    assert_int_equal(safetensors_open_io(&io, NULL, &b, NULL), SAFETENSORS_ERR_ARGUMENT);
    io.size = slot_size;
    assert_int_equal(safetensors_open_io(&io, NULL, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    /* the options keep 0.1.0's layout: model_io is where reserved_ptr[0] was */
    assert_int_equal(sizeof(safetensors_options), 8 * sizeof(void *) + 72);
    assert_int_equal(offsetof(safetensors_options, reserved_ptr) - offsetof(safetensors_options, model_io),
                     sizeof(void *));
    safetensors_close(a);
    pak_free(&k);
}

/* Every call that can fail, failing in turn: the k-th call fails for
   k = 1, 2, ... until an open goes through. Each failure is an error with
   nothing left open and no io left unclosed (and no leak under ASan). */
static void test_io_fail_every_call(void **state) {
    pak k;
    safetensors_io io;
    pak_slot slot;
    safetensors_options opt;
    unsigned mode;
    (void)state;
    pak_llama(&k);
    slot.owner = &k;
    slot.file = &k.files[5];
    io.read = slot_read;
    io.size = slot_size;
    io.ctx = &slot;
    for (mode = 0; mode < 2; mode++) {
        long fail_at;
        int opened = 0;
        memset(&opt, 0, sizeof opt);
        opt.flags = mode ? SAFETENSORS_HEADER_ONLY : 0u;
        for (fail_at = 1; !opened; fail_at++) {
            safetensors_file *f = (safetensors_file *)&k;
            safetensors_error err;
            safetensors_result r;
            k.calls = 0;
            k.fail_at = fail_at;
            r = safetensors_open_io(&io, &opt, &f, &err);
            if (r == SAFETENSORS_OK) {
                /* past the open, a HEADER_ONLY read can fail too */
                const safetensors_tensor *t = safetensors_tensor_at(f, 0);
                unsigned char buf[64];
                opened = k.calls < fail_at;
                if (!opened) assert_int_equal(safetensors_read_tensor_range(f, t, 0, buf, 64, NULL), SAFETENSORS_OK);
                safetensors_close(f);
                if (mode && opened) {
                    k.calls = 0;
                    k.fail_at = 1;
                    assert_int_equal(safetensors_open_io(&io, &opt, &f, NULL), SAFETENSORS_ERR_IO);
                }
                continue;
            }
            assert_int_equal(r, SAFETENSORS_ERR_IO);
            assert_null(f);
            assert_true(k.calls >= fail_at);
        }
    }
    /* a model through the pack, failing at every call in turn, eager and
       HEADER_ONLY (reads then go through the callbacks) */
    for (mode = 0; mode < 3; mode++) {
        safetensors_model_io mio;
        long fail_at;
        int opened = 0;
        mio.open = pak_open;
        mio.close = pak_close;
        mio.ctx = &k;
        memset(&opt, 0, sizeof opt);
        opt.model_io = &mio;
        opt.flags = mode == 1 ? SAFETENSORS_HEADER_ONLY : mode == 2 ? SAFETENSORS_MODEL_LAZY : 0u;
        for (fail_at = 1; !opened; fail_at++) {
            safetensors_model *m = NULL;
            safetensors_result r;
            k.calls = 0;
            k.fail_at = fail_at;
            k.opened = 0;
            r = safetensors_model_open("pak/llama/model.safetensors.index.json", &opt, &m, NULL);
            if (r == SAFETENSORS_OK && k.calls < fail_at) {
                opened = 1;
                k.fail_at = 0;
                same_as_disk_model(m);
                safetensors_model_close(m);
                assert_int_equal(k.opened, 0);
                break;
            }
            if (r == SAFETENSORS_OK) {
                /* the failure came after the open: a lazy shard or a read */
                safetensors_model_close(m);
            } else {
                assert_null(m);
            }
            assert_int_equal(k.opened, 0);
        }
        assert_true(opened);
    }
    pak_free(&k);
}

/* The single-file model through the pack, and names the pack lacks. */
static void test_io_model_names(void **state) {
    pak k;
    safetensors_model_io mio;
    safetensors_options opt;
    safetensors_model *m = NULL;
    safetensors_error err;
    const safetensors_tensor *t = NULL;
    (void)state;
    pak_llama(&k);
    mio.open = pak_open;
    mio.close = pak_close;
    mio.ctx = &k;
    memset(&opt, 0, sizeof opt);
    opt.model_io = &mio;
    assert_int_equal(safetensors_model_open("pak/gpt2.safetensors", &opt, &m, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_model_tensor_count(m), 28);
    assert_int_equal(safetensors_model_find(m, "transformer.wte.weight", 22, &t, NULL, NULL), SAFETENSORS_OK);
    safetensors_model_close(m);
    assert_int_equal(k.opened, 0);
    assert_int_equal(safetensors_model_open("pak/nothing.safetensors", &opt, &m, &err), SAFETENSORS_ERR_IO);
    assert_non_null(strstr(err.message, "pak/nothing.safetensors"));
    mio.open = NULL;
    assert_int_equal(safetensors_model_open("pak/gpt2.safetensors", &opt, &m, NULL), SAFETENSORS_ERR_ARGUMENT);
    pak_free(&k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_query),
        cmocka_unit_test(test_aligned_copy_memory),
        cmocka_unit_test(test_aligned_copy_mixed),
        cmocka_unit_test(test_aligned_copy_nomem),
        cmocka_unit_test(test_slice_random),
        cmocka_unit_test(test_slice_model),
        cmocka_unit_test(test_shard_round_trip),
        cmocka_unit_test(test_shard_limits),
        cmocka_unit_test(test_shard_index_escapes),
        cmocka_unit_test(test_read_tensor_every_handle),
        cmocka_unit_test(test_read_slice_header_only),
        cmocka_unit_test(test_read_tensor_threads),
        cmocka_unit_test(test_read_tensor_failures),
        cmocka_unit_test(test_io_single_file),
        cmocka_unit_test(test_io_fail_every_call),
        cmocka_unit_test(test_io_model_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
