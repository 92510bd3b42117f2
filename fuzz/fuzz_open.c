/* fuzz_open.c - libFuzzer target: safetensors_open_memory on arbitrary bytes.

   Build (libFuzzer, from the repository root; `make fuzz` does this):
       clang -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla \
           -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
           -I. fuzz/fuzz_open.c -o build/fuzz_open
   Run:
       ./build/fuzz_open -dict=fuzz/safetensors.dict -max_len=65536 corpus_dir/
   Replay saved inputs without libFuzzer (`make fuzz-replay` does this):
       gcc -std=c99 ... -I. fuzz/fuzz_open.c fuzz/fuzz_main.c -o build/replay_open
       ./build/replay_open fuzz/regressions fuzz/corpus

   What it checks, for every input:
     - every view an accepted file hands out lies inside the input: each
       tensor's data range [data, data + end - begin) is read byte by byte,
       each name up to name_len and the NUL after it, each shape entry, each
       metadata key and value and their NULs (AddressSanitizer reports any
       byte outside the buffer or in freed memory);
     - the views agree with the layout: data == input + data_start + begin,
       begin <= end <= data_size, data_start + data_size == input size,
       byte_size == end - begin, ascending begin (ties by name bytes), ranges
       tiling [0, data_size);
     - safetensors_find on every tensor's name returns that very tensor, and
       safetensors_metadata_find on every key fills in that very entry, and
       an index past the end returns 0 with the entry zeroed;
     - SAFETENSORS_HEADER_ONLY gives the same verdict (code, offset, message)
       and the same table, with every data pointer NULL.
   A violated check calls abort(), which libFuzzer reports as a crash. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char fuzz_sink;

static void check(int ok)
{
    if (!ok) abort();
}

static unsigned char touch(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    unsigned char x = 0;
    size_t i;
    for (i = 0; i < n; i++) x ^= b[i];
    return x;
}

/* Two fillings of one entry: the same strings, at the same addresses. */
static int same_entry(const safetensors_metadata_entry *a, const safetensors_metadata_entry *b)
{
    return a->key == b->key && a->key_len == b->key_len && a->value == b->value && a->value_len == b->value_len;
}

/* What a refused accessor leaves in *out. */
static int zero_entry(const safetensors_metadata_entry *e)
{
    return e->key == NULL && e->key_len == 0 && e->value == NULL && e->value_len == 0;
}

/* Reads every byte the file's views expose; checks the invariants that hold
   whatever the input was. `base` is the input when data was attached. */
static void walk(const safetensors_file *f, const uint8_t *base, size_t size)
{
    size_t n = safetensors_tensor_count(f), m = safetensors_metadata_count(f), i, d;
    uint64_t data_start = safetensors_data_start(f), data_size = safetensors_data_size(f), expect_begin = 0;
    unsigned char x = 0;
    int group_has_bytes = 0;
    safetensors_metadata_entry e, found;

    check(data_start == 8 + safetensors_header_size(f));
    check(data_start <= size && data_size == size - data_start);
    check(safetensors_tensor_at(f, n) == NULL);
    check(safetensors_metadata_at(f, m, &e) == 0 && zero_entry(&e));
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        uint64_t elems = 1;
        check(t != NULL);
        check((unsigned)t->dtype < SAFETENSORS_DTYPE_COUNT);
        check(t->begin <= t->end && t->end <= data_size);
        /* ascending begin, ties by name; the tensors sharing a begin are
           empty but for at most one, and each group starts where the last
           non-empty range ended */
        if (i > 0 && safetensors_tensor_at(f, i - 1)->begin == t->begin) {
            const safetensors_tensor *prev = safetensors_tensor_at(f, i - 1);
            size_t k = prev->name_len < t->name_len ? prev->name_len : t->name_len;
            int c = memcmp(prev->name, t->name, k);
            check(c < 0 || (c == 0 && prev->name_len < t->name_len));
        } else {
            check(t->begin == expect_begin);
            group_has_bytes = 0;
        }
        if (t->end != t->begin) {
            check(!group_has_bytes);
            group_has_bytes = 1;
            expect_begin = t->end;
        }
        check(safetensors_tensor_byte_size(t) == t->end - t->begin);
        x ^= touch(t->name, t->name_len);
        check(t->name[t->name_len] == '\0');
        for (d = 0; d < t->ndim; d++) {
            x ^= (unsigned char)t->shape[d];
            elems *= t->shape[d]; /* checked at open: cannot wrap */
        }
        check(safetensors_tensor_element_count(t) == elems);
        /* bits = elems * dtype bits, a multiple of 8, equal to the range */
        if (elems != 0) {
            uint64_t bits = (uint64_t)safetensors_dtype_bits(t->dtype);
            check(elems <= UINT64_MAX / bits);
            check(elems * bits % 8 == 0 && elems * bits / 8 == t->end - t->begin);
        } else {
            check(t->end == t->begin);
        }
        if (base) {
            check((const uint8_t *)t->data == base + data_start + t->begin);
            x ^= touch(t->data, (size_t)(t->end - t->begin));
        } else {
            check(t->data == NULL);
        }
        check(safetensors_find(f, t->name, t->name_len) == t);
    }
    check(expect_begin == data_size);
    for (i = 0; i < m; i++) {
        check(safetensors_metadata_at(f, i, &e) == 1);
        x ^= touch(e.key, e.key_len);
        x ^= touch(e.value, e.value_len);
        check(e.key[e.key_len] == '\0' && e.value[e.value_len] == '\0');
        check(safetensors_metadata_find(f, e.key, e.key_len, &found) == 1 && same_entry(&found, &e));
    }
    fuzz_sink = x;
}

static int same_error(const safetensors_error *a, const safetensors_error *b)
{
    return a->code == b->code && a->offset == b->offset && a->sys_errno == b->sys_errno &&
           strcmp(a->message, b->message) == 0;
}

/* Two tables equal in every field but the data pointers. */
static void check_same_table(const safetensors_file *a, const safetensors_file *b)
{
    size_t i;
    check(safetensors_tensor_count(a) == safetensors_tensor_count(b));
    check(safetensors_metadata_count(a) == safetensors_metadata_count(b));
    check(safetensors_header_size(a) == safetensors_header_size(b));
    check(safetensors_data_size(a) == safetensors_data_size(b));
    for (i = 0; i < safetensors_tensor_count(a); i++) {
        const safetensors_tensor *s = safetensors_tensor_at(a, i), *t = safetensors_tensor_at(b, i);
        check(s->name_len == t->name_len && memcmp(s->name, t->name, s->name_len) == 0);
        check(s->dtype == t->dtype && s->ndim == t->ndim && s->begin == t->begin && s->end == t->end);
        check(s->ndim == 0 || memcmp(s->shape, t->shape, s->ndim * sizeof *s->shape) == 0);
    }
    for (i = 0; i < safetensors_metadata_count(a); i++) {
        safetensors_metadata_entry s, t;
        check(safetensors_metadata_at(a, i, &s) && safetensors_metadata_at(b, i, &t));
        check(s.key_len == t.key_len && memcmp(s.key, t.key, s.key_len) == 0);
        check(s.value_len == t.value_len && memcmp(s.value, t.value, s.value_len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    safetensors_file *f = NULL, *h = NULL;
    safetensors_error err, herr;
    safetensors_options opt;
    safetensors_result r, hr;
    /* An exact-size heap copy: a read one byte past the end is caught even in
       the gcc replay build, where libFuzzer's own buffer is not in play. */
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
    check(copy != NULL);
    if (size) memcpy(copy, data, size);

    memset(&err, 0xA5, sizeof err);
    r = safetensors_open_memory(copy, size, NULL, &f, &err);
    check(r == err.code || r == SAFETENSORS_OK);
    if (r == SAFETENSORS_OK) {
        check(f != NULL);
        walk(f, copy, size);
    } else {
        check(f == NULL && r < SAFETENSORS_RESULT_COUNT);
        check(r != SAFETENSORS_ERR_NOMEM && r != SAFETENSORS_ERR_ARGUMENT && r != SAFETENSORS_ERR_IO);
        check(memchr(err.message, '\0', sizeof err.message) != NULL);
        check(err.offset <= size); /* a position in the input, by the documented rules */
    }

    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    memset(&herr, 0x5A, sizeof herr);
    hr = safetensors_open_memory(copy, size, &opt, &h, &herr);
    check(hr == r);
    if (hr == SAFETENSORS_OK) {
        check(h != NULL);
        walk(h, NULL, size);
        check_same_table(f, h);
    } else {
        check(h == NULL && same_error(&err, &herr));
    }

    safetensors_close(h);
    safetensors_close(f);
    free(copy);
    return 0;
}
