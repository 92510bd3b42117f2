/* fuzz_stream.c - libFuzzer target: the streaming parser, split anywhere,
   against the one-shot parse of the same bytes (a differential target).

   Build (libFuzzer, from the repository root; `make fuzz` does this):
       clang -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla \
           -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
           -I. fuzz/fuzz_stream.c -o build/fuzz_stream
   Run:
       ./build/fuzz_stream -dict=fuzz/safetensors.dict -max_len=65536 corpus_dir/
   Replay saved inputs without libFuzzer (`make fuzz-replay` does this):
       gcc -std=c99 ... -I. fuzz/fuzz_stream.c fuzz/fuzz_main.c -o build/replay_stream
       ./build/replay_stream fuzz/regressions fuzz/corpus

   Input layout: a control prefix, then the file's bytes (the payload).
     byte 0       bits 0-3: k, the number of chunk-length bytes that follow
                  bits 4-5: how the payload left after those k chunks is fed:
                            0 in one piece, 1 byte by byte,
                            2 cycling through the k lengths again,
                            3 in pieces of 3 bytes
                  bit 6:    a small max_header_size follows (2 bytes, LE, + 1)
                  bit 7:    the split parse is told the size up front
                            (safetensors_parser_expect_size)
     [2 bytes]    max_header_size - 1, when bit 6 is set
     k bytes      chunk lengths: b < 128 gives b bytes (0 is an empty feed),
                  b >= 128 gives (b - 127) * 64 bytes
   A missing control byte reads as 0, so every input is valid.

   The one-shot parse feeds the whole payload in one call and then calls
   _finish(len - consumed); it runs twice, with and without
   safetensors_parser_expect_size(len). The split parse feeds the chunks in
   order (after expect_size when bit 7 says so), stops at the first error,
   and calls _finish(len - total consumed). It must give the same result as
   the one-shot parse made the same way: the same error code, offset, errno
   and message; or the same table (names by bytes, dtype, shape, begin/end,
   metadata in order, header and data sizes) with every data pointer NULL.
   safetensors_open_memory with SAFETENSORS_HEADER_ONLY must agree with the
   one-shot parse that knew the size. Knowing the size may only turn a
   header that runs past the end into SAFETENSORS_ERR_HEADER_LENGTH sooner:
   any other verdict is the same either way. An error must be sticky. A
   mismatch calls abort(). */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_outcome {
    safetensors_result r;
    safetensors_error err; /* meaningful when r != OK */
    safetensors_file *f;   /* when r == OK */
    size_t consumed;
} fuzz_outcome;

static void check(int ok)
{
    if (!ok) abort();
}

static size_t chunk_length(uint8_t b)
{
    return b < 128 ? (size_t)b : (size_t)(b - 127) * 64;
}

static void fail_sticky(safetensors_parser *p, const safetensors_error *first)
{
    safetensors_error again;
    size_t used = 1;
    int done = 1;
    static const uint8_t one = 0;
    safetensors_result r = safetensors_parser_feed(p, &one, 1, &used, &done, &again);
    check(r == first->code && used == 0 && done == 0);
    check(again.code == first->code && again.offset == first->offset && strcmp(again.message, first->message) == 0);
}

static void one_shot(const uint8_t *payload, size_t len, const safetensors_options *opt, int expect,
                     fuzz_outcome *o)
{
    safetensors_parser *p = NULL;
    int done = 0;
    memset(o, 0, sizeof *o);
    check(safetensors_parser_create(opt, &p, &o->err) == SAFETENSORS_OK && p != NULL);
    if (expect) check(safetensors_parser_expect_size(p, (uint64_t)len) == SAFETENSORS_OK);
    o->r = safetensors_parser_feed(p, payload, len, &o->consumed, &done, &o->err);
    check(o->consumed <= len);
    if (o->r == SAFETENSORS_OK) {
        o->r = safetensors_parser_finish(p, (uint64_t)(len - o->consumed), &o->f, &o->err);
    } else {
        check(done == 0);
        fail_sticky(p, &o->err);
    }
    check((o->r == SAFETENSORS_OK) == (o->f != NULL));
    safetensors_parser_destroy(p);
}

static void split(const uint8_t *payload, size_t len, const safetensors_options *opt, int expect,
                  const uint8_t *lengths, size_t k, unsigned tail_mode, fuzz_outcome *o)
{
    safetensors_parser *p = NULL;
    size_t pos = 0, spec = 0, any_nonzero = 0, i;
    int done = 0, was_done = 0;
    memset(o, 0, sizeof *o);
    for (i = 0; i < k; i++) any_nonzero |= chunk_length(lengths[i]);
    check(safetensors_parser_create(opt, &p, &o->err) == SAFETENSORS_OK && p != NULL);
    if (expect) check(safetensors_parser_expect_size(p, (uint64_t)len) == SAFETENSORS_OK);
    o->r = SAFETENSORS_OK;
    for (;;) {
        size_t n, used = 0;
        if (spec < k) {
            n = chunk_length(lengths[spec++]);
        } else if (pos >= len) {
            break;
        } else if (tail_mode == 1) {
            n = 1;
        } else if (tail_mode == 2 && any_nonzero) {
            n = chunk_length(lengths[spec++ % k]);
        } else if (tail_mode == 3) {
            n = 3;
        } else {
            n = len - pos;
        }
        if (n > len - pos) n = len - pos;
        o->r = safetensors_parser_feed(p, payload + pos, n, &used, &done, &o->err);
        check(used <= n);
        if (o->r != SAFETENSORS_OK) {
            check(done == 0);
            break;
        }
        if (was_done) check(used == 0 && done == 1); /* after done, nothing more is taken */
        check(done || used == n);                    /* before done, everything is */
        was_done = done;
        o->consumed += used;
        pos += n;
    }
    if (o->r == SAFETENSORS_OK)
        o->r = safetensors_parser_finish(p, (uint64_t)(len - o->consumed), &o->f, &o->err);
    else
        fail_sticky(p, &o->err);
    check((o->r == SAFETENSORS_OK) == (o->f != NULL));
    safetensors_parser_destroy(p);
}

/* Two fillings of one entry: the same strings, at the same addresses. */
static int same_entry(const safetensors_metadata_entry *a, const safetensors_metadata_entry *b)
{
    return a->key == b->key && a->key_len == b->key_len && a->value == b->value && a->value_len == b->value_len;
}

static void check_same(const fuzz_outcome *a, const fuzz_outcome *b)
{
    size_t i;
    check(a->r == b->r);
    if (a->r != SAFETENSORS_OK) {
        check(a->err.code == a->r && b->err.code == b->r);
        check(a->err.offset == b->err.offset && a->err.sys_errno == b->err.sys_errno);
        check(strcmp(a->err.message, b->err.message) == 0);
        return;
    }
    check(a->consumed == b->consumed);
    check(safetensors_header_size(a->f) == safetensors_header_size(b->f));
    check(safetensors_data_start(a->f) == safetensors_data_start(b->f));
    check(safetensors_data_size(a->f) == safetensors_data_size(b->f));
    check(safetensors_tensor_count(a->f) == safetensors_tensor_count(b->f));
    check(safetensors_metadata_count(a->f) == safetensors_metadata_count(b->f));
    for (i = 0; i < safetensors_tensor_count(a->f); i++) {
        const safetensors_tensor *s = safetensors_tensor_at(a->f, i), *t = safetensors_tensor_at(b->f, i);
        check(s != NULL && t != NULL);
        check(s->data == NULL && t->data == NULL);
        check(s->name_len == t->name_len && memcmp(s->name, t->name, s->name_len) == 0);
        check(s->name[s->name_len] == '\0' && t->name[t->name_len] == '\0');
        check(s->dtype == t->dtype && s->ndim == t->ndim && s->begin == t->begin && s->end == t->end);
        check(s->ndim == 0 || memcmp(s->shape, t->shape, s->ndim * sizeof *s->shape) == 0);
        check(safetensors_find(b->f, s->name, s->name_len) == t);
    }
    for (i = 0; i < safetensors_metadata_count(a->f); i++) {
        safetensors_metadata_entry s, t, found;
        check(safetensors_metadata_at(a->f, i, &s) && safetensors_metadata_at(b->f, i, &t));
        check(s.key_len == t.key_len && memcmp(s.key, t.key, s.key_len) == 0);
        check(s.value_len == t.value_len && memcmp(s.value, t.value, s.value_len) == 0);
        check(s.key[s.key_len] == '\0' && s.value[s.value_len] == '\0');
        check(safetensors_metadata_find(b->f, s.key, s.key_len, &found) && same_entry(&found, &t));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    safetensors_options opt;
    fuzz_outcome whole, whole_sized, pieces, mem;
    size_t at = 0, k;
    unsigned c = size > 0 ? data[0] : 0u, tail_mode;
    int expect = (c & 128u) != 0;
    const uint8_t *lengths;
    uint8_t *payload;
    size_t len;

    memset(&opt, 0, sizeof opt);
    at = size > 0 ? 1 : 0;
    k = c & 15u;
    tail_mode = (c >> 4) & 3u;
    if (c & 64u) {
        unsigned lo = at < size ? data[at] : 0u, hi = at + 1 < size ? data[at + 1] : 0u;
        opt.max_header_size = (uint64_t)(lo | (hi << 8)) + 1;
        at = at + 2 < size ? at + 2 : size;
    }
    if (k > size - at) k = size - at;
    lengths = data + at;
    at += k;
    /* the payload in an exact-size heap block, so that the gcc replay build
       can catch a read past its end with AddressSanitizer or valgrind */
    len = size - at;
    payload = (uint8_t *)malloc(len ? len : 1);
    check(payload != NULL);
    if (len) memcpy(payload, data + at, len);

    one_shot(payload, len, &opt, 0, &whole);
    one_shot(payload, len, &opt, 1, &whole_sized);
    split(payload, len, &opt, expect, lengths, k, tail_mode, &pieces);
    check_same(expect ? &whole_sized : &whole, &pieces);
    if (whole_sized.r != SAFETENSORS_ERR_HEADER_LENGTH) check_same(&whole_sized, &whole);

    /* safetensors_open_memory, header only: the same parse, the same verdict */
    memset(&mem, 0, sizeof mem);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    mem.r = safetensors_open_memory(payload, len, &opt, &mem.f, &mem.err);
    mem.consumed = whole_sized.consumed;
    check_same(&whole_sized, &mem);

    safetensors_close(mem.f);
    safetensors_close(whole_sized.f);
    safetensors_close(pieces.f);
    safetensors_close(whole.f);
    free(payload);
    return 0;
}
