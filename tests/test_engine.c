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

#include "test_util.h"

#define EDGE_ONE TU_CORPUS_DIR "edge_ok_one.safetensors"
#define GPT2 "tests/models/tiny-gpt2/model.safetensors"

/* ---------------------------------------------------------------------
   1. Alignment
   --------------------------------------------------------------------- */

/* edge_ok_one: one F32 tensor "a" whose data start at 8 + N, read here
   from the length prefix; a mapping starts on a page, so the address is
   aligned exactly when that file offset is. */
static void test_alignment_query(void **state) {
    size_t len;
    unsigned char *bytes = tu_read_file(EDGE_ONE, &len);
    uint64_t start;
    safetensors_file *f = NULL;
    safetensors_options opt;
    const safetensors_tensor *t;
    (void)state;
    assert_non_null(bytes);
    start = 8 + tu_get_le64(bytes);
    assert_int_equal(start % 4, 2); /* the case this file exists for */

    assert_int_equal(safetensors_open(EDGE_ONE, NULL, &f, NULL), SAFETENSORS_OK);
    t = safetensors_find(f, "a", 1);
    assert_non_null(t);
    assert_int_equal(safetensors_tensor_is_aligned(t, 0), 0);
    assert_int_equal(safetensors_tensor_is_aligned(t, 2), 1);
    assert_int_equal(safetensors_tensor_is_aligned(t, 1), 1);
    assert_int_equal(safetensors_tensor_offset_is_aligned(f, t, 0), 0);
    safetensors_close(f);

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_query),
        cmocka_unit_test(test_aligned_copy_memory),
        cmocka_unit_test(test_aligned_copy_mixed),
        cmocka_unit_test(test_aligned_copy_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
