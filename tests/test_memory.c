/* Memory at open, counted through the run-time allocator, for generated
   worst cases of 8 to 17 MB: the peak of what the library holds during
   the open, and what the open file keeps, against the header's size.

       peak <= 2 x header + 8 bytes per shape dimension + 1 MiB
       kept <= 1.5 x header + 8 bytes per shape dimension + 1 MiB

   (A dimension written as "1," is 2 header bytes but a uint64_t in the
   public shape array.) The tightest case is a header of tiny metadata
   entries: `"abcd":"",` is 10 bytes, so the file may keep 15 of its own
   for each. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct counter {
    size_t live, peak;
} counter;

static void note(counter *c, size_t more, size_t less)
{
    c->live = c->live + more - less;
    if (c->live > c->peak) c->peak = c->live;
}

static void *count_alloc(void *ctx, size_t size)
{
    note((counter *)ctx, size, 0);
    return malloc(size);
}

static void *count_realloc(void *ctx, void *p, size_t old_size, size_t size)
{
    note((counter *)ctx, size, old_size);
    return realloc(p, size);
}

static void count_free(void *ctx, void *p, size_t size)
{
    note((counter *)ctx, 0, size);
    free(p);
}

/* A header being written: text, with room to grow. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void add(text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 8 > t->cap) {
        t->cap = 2 * (t->cap + n) + 64;
        t->p = (char *)realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

/* Opens header h (padded to 8) followed by `data` zero bytes, and checks
   both bounds with `dims` shape dimensions in the header. */
static void check_bounds(const char *what, text *h, size_t data, size_t dims)
{
    unsigned char *file;
    size_t n, i;
    safetensors_options opt;
    safetensors_file *f = NULL;
    safetensors_error err;
    counter c = {0, 0};
    uint64_t slack;
    while (h->len % 8) add(h, " ");
    n = h->len;
    file = (unsigned char *)calloc(1, 8 + n + data);
    assert_non_null(file);
    for (i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, h->p, n);
    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = count_alloc;
    opt.allocator.reallocate = count_realloc;
    opt.allocator.deallocate = count_free;
    opt.allocator.ctx = &c;
    if (safetensors_open_memory(file, 8 + n + data, &opt, &f, &err) != SAFETENSORS_OK)
        fail_msg("%s: %s", what, err.message);
    slack = 8u * (uint64_t)dims + (1u << 20);
    printf("%-24s header %9lu B  peak %.2fx  kept %.2fx\n", what, (unsigned long)n, (double)c.peak / (double)n,
           (double)c.live / (double)n);
    if ((uint64_t)c.peak > 2u * (uint64_t)n + slack) fail_msg("%s: peak %lu B for a %lu B header", what,
                                                              (unsigned long)c.peak, (unsigned long)n);
    if ((uint64_t)c.live > (uint64_t)n + n / 2u + slack) fail_msg("%s: kept %lu B for a %lu B header", what,
                                                                  (unsigned long)c.live, (unsigned long)n);
    safetensors_close(f);
    assert_int_equal(c.live, 0); /* and close gives everything back */
    free(file);
    free(h->p);
}

static void test_one_long_shape(void **state)
{
    text h = {NULL, 0, 0};
    size_t i, dims = 8000000;
    (void)state;
    add(&h, "{\"t\":{\"dtype\":\"U8\",\"shape\":[");
    for (i = 0; i < dims; i++) add(&h, i ? ",1" : "1");
    add(&h, "],\"data_offsets\":[0,1]}}");
    check_bounds("one long shape", &h, 1, dims);
}

/* A header of n U8 tensors named by their number in `width` hex digits:
   shape [0] and no bytes, or with `bytes`, shape [1] and one byte each. */
static void tensors_header(text *h, size_t n, int width, int bytes)
{
    char b[600];
    size_t i;
    add(h, "{");
    for (i = 0; i < n; i++) {
        sprintf(b, "%s\"%0*lx\":{\"dtype\":\"U8\",\"shape\":[%d],\"data_offsets\":[%lu,%lu]}", i ? "," : "", width,
                (unsigned long)i, bytes, bytes ? (unsigned long)i : 0ul, bytes ? (unsigned long)i + 1 : 0ul);
        add(h, b);
    }
    add(h, "}");
}

static void test_zero_size_tensors(void **state)
{
    text h = {NULL, 0, 0};
    (void)state;
    tensors_header(&h, 200000, 5, 0);
    check_bounds("zero-size tensors", &h, 0, 200000);
}

static void test_tiny_tensors(void **state)
{
    text h = {NULL, 0, 0};
    (void)state;
    tensors_header(&h, 200000, 5, 1);
    check_bounds("tiny tensors", &h, 200000, 200000);
}

static void test_long_names(void **state)
{
    text h = {NULL, 0, 0};
    (void)state;
    tensors_header(&h, 20000, 400, 0);
    check_bounds("long names", &h, 0, 20000);
}

static void test_escaped_names(void **state)
{
    text h = {NULL, 0, 0};
    char b[64];
    size_t i, k, n = 20000;
    (void)state;
    add(&h, "{");
    for (i = 0; i < n; i++) {
        sprintf(b, "%s\"%05lx", i ? "," : "", (unsigned long)i);
        add(&h, b);
        for (k = 0; k < 60; k++) add(&h, "\\u0041");
        add(&h, "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}");
    }
    add(&h, "}");
    check_bounds("escaped names", &h, 0, n);
}

/* Long names, then many tiny tensors with short ones: the arena, sized
   from what the header held so far, is guessed far too large while the
   rows grow for the tiny tensors that follow. */
static void test_names_that_shrink(void **state)
{
    text h = {NULL, 0, 0}, tail = {NULL, 0, 0};
    (void)state;
    tensors_header(&h, 3000, 400, 0);
    tensors_header(&tail, 250000, 8, 1);
    h.p[h.len - 1] = ','; /* join the two objects */
    tail.p[tail.len] = '\0'; /* add() keeps room for it */
    add(&h, tail.p + 1);
    free(tail.p);
    check_bounds("names that shrink", &h, 250000, 250003);
}

/* n distinct 4-character keys from 62 letters, in a scrambled order, each
   with a value of `value_len` letters. */
static void metadata_header(text *h, size_t n, size_t value_len)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char b[64];
    size_t i, k;
    add(h, "{\"__metadata__\":{");
    for (i = 0; i < n; i++) {
        size_t x = (i * 2654435761u) % (62u * 62u * 62u * 62u); /* a bijection on 62^4: 2654435761 is odd and not a multiple of 31 */
        sprintf(b, "%s\"%c%c%c%c\":\"", i ? "," : "", letters[x % 62], letters[x / 62 % 62], letters[x / 3844 % 62],
                letters[x / 238328 % 62]);
        for (k = 0; k < value_len; k++) strcat(b, "v");
        strcat(b, "\"");
        add(h, b);
    }
    add(h, "}}");
}

static void test_tiny_metadata_keys(void **state)
{
    text h = {NULL, 0, 0};
    (void)state;
    metadata_header(&h, 1500000, 0);
    check_bounds("tiny metadata keys", &h, 0, 0);
}

static void test_tiny_metadata_pairs(void **state)
{
    text h = {NULL, 0, 0};
    (void)state;
    metadata_header(&h, 1000000, 3);
    check_bounds("tiny metadata pairs", &h, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_long_shape), cmocka_unit_test(test_zero_size_tensors),
        cmocka_unit_test(test_tiny_tensors),   cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_escaped_names),  cmocka_unit_test(test_tiny_metadata_keys),
        cmocka_unit_test(test_tiny_metadata_pairs), cmocka_unit_test(test_names_that_shrink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
