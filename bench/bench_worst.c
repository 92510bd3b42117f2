/* bench_worst - parse speed on the slowest valid headers known.

   `make bench` builds and runs it:  cc -std=c99 -O2 -DNDEBUG -I. bench/bench_worst.c

   A header is untrusted input of up to 100,000,000 bytes (the default
   max_header_size), so what matters for a service that opens files it is
   sent is the parser's slowest bytes per second, not its usual one. Each
   shape below is a valid header of about 90 MB, under the default limit,
   built from one construct that costs the parser the most per byte:

     nest     one tensor with an unknown (so ignored) field whose value is an
              array of arrays nested 123 deep, repeated until the size:
                {"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],
                      "x":[[[...]]],[[[...]]],...]}}
              with the top object and the entry, 126 levels: near the
              nesting limit of 127; every byte opens or closes a container
     escape   one tensor whose name is 15,000,000 \u0041 escapes (6 bytes
              of header for each byte of name)
     keys     9,000,000 metadata entries of 4-byte keys and empty values,
                {"__metadata__":{"aaaa":"","aaab":"",...}}
              every key decoded, checked for repeats and indexed
     order    1,300,000 one-byte tensors listed in a shuffled order of
              their offsets,
                {"000000":{"dtype":"U8","shape":[1],"data_offsets":[815,816]},...}
              a table in order is checked as it is read; this one is
              sorted by offset first, and its rows moved into that order

   Each row gives the median of K runs of safetensors_open_memory + close,
   in ms and MB/s of header, against a memchr pass over the same header
   bytes counting '"' (bench_parse's floor), and the ratio of the two. The
   aim is 250 MB/s or more on every shape. It prints figures; it asserts
   nothing about time. Shape names as arguments run only those shapes (to
   profile one: perf record ./build/bench_worst keys).
*/
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_worst"
#include "bench_util.h"

#define TARGET_BYTES 90000000u /* header bytes per shape, under the default limit */
#define NEST_DEPTH 123u        /* arrays in each repeat; 126 levels with the top */
#define ESCAPES 15000000u
#define KEYS 9000000u
#define ORDER_TENSORS 1300000u
#define RUNS 5

/* A growable header text; every shape is written through it. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->cap - t->len < n) {
        size_t cap = t->cap ? t->cap : 4096;
        char *fresh;
        while (cap - t->len < n) cap *= 2;
        fresh = (char *)realloc(t->p, cap);
        if (!fresh) die("out of memory");
        t->p = fresh;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void puts_text(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void finish(bench_file *bf, text *t, size_t data_len)
{
    memset(bf, 0, sizeof *bf);
    bench_file_assemble(bf, t->p, t->len, data_len);
    free(t->p);
    memset(t, 0, sizeof *t);
}

/* An empty tensor entry, so that the data section is empty too. */
#define EMPTY_ENTRY "{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]"

static void shape_nest(bench_file *bf)
{
    char one[2 * NEST_DEPTH + 1]; /* ",[[[...]]]" */
    text t = {NULL, 0, 0};
    const char *tail = "]}}";
    one[0] = ',';
    memset(one + 1, '[', NEST_DEPTH);
    memset(one + 1 + NEST_DEPTH, ']', NEST_DEPTH);
    puts_text(&t, "{\"t\":" EMPTY_ENTRY ",\"x\":[");
    put(&t, one + 1, sizeof one - 1);
    while (t.len + sizeof one + strlen(tail) <= TARGET_BYTES) put(&t, one, sizeof one);
    puts_text(&t, tail);
    finish(bf, &t, 0);
}

static void shape_escape(bench_file *bf)
{
    text t = {NULL, 0, 0};
    size_t i;
    puts_text(&t, "{\"");
    for (i = 0; i < ESCAPES; i++) put(&t, "\\u0041", 6);
    puts_text(&t, "\":" EMPTY_ENTRY "}}");
    finish(bf, &t, 0);
}

static void shape_keys(bench_file *bf)
{
    /* 64 characters that need no escape: 64^4 keys of 4 bytes, all distinct */
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    text t = {NULL, 0, 0};
    size_t i;
    puts_text(&t, "{\"__metadata__\":{");
    for (i = 0; i < KEYS; i++) {
        char entry[11];
        entry[0] = ',';
        entry[1] = '"';
        entry[2] = digits[(i >> 18) & 63];
        entry[3] = digits[(i >> 12) & 63];
        entry[4] = digits[(i >> 6) & 63];
        entry[5] = digits[i & 63];
        memcpy(entry + 6, "\":\"\"", 4);
        put(&t, entry + (i == 0), (size_t)(10 - (i == 0)));
    }
    puts_text(&t, "}}");
    finish(bf, &t, 0);
}

static void shape_order(bench_file *bf)
{
    text t = {NULL, 0, 0};
    size_t *at = (size_t *)malloc(ORDER_TENSORS * sizeof *at), i;
    if (!at) die("out of memory");
    shuffle_indices(at, ORDER_TENSORS);
    puts_text(&t, "{");
    for (i = 0; i < ORDER_TENSORS; i++) {
        char entry[96];
        int n = snprintf(entry, sizeof entry, "%s\"%06lx\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%lu,%lu]}",
                         i ? "," : "", (unsigned long)i, (unsigned long)at[i], (unsigned long)at[i] + 1);
        if (n < 0 || (size_t)n >= sizeof entry) die("entry buffer too small");
        put(&t, entry, (size_t)n);
    }
    puts_text(&t, "}");
    free(at);
    finish(bf, &t, ORDER_TENSORS);
}

/* Whether shape `name` is to run: all of them, or those named on the
   command line (to profile one alone). */
static int wanted(const char *name, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return argc < 2;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*build)(bench_file *);
    } shapes[] = {{"nest", shape_nest}, {"escape", shape_escape}, {"keys", shape_keys}, {"order", shape_order}};
    size_t k;
    double start = now_seconds();

    print_banner(" worst-case header parse speed");
    print_machine();
    printf("figures are medians of %d runs; times in ms, MB/s of header bytes\n\n", RUNS);
    printf("%-8s %12s %10s %10s %10s %10s %10s\n", "shape", "header B", "memchr ms", "open ms", "MB/s", "x memchr",
           "memchr MB/s");
    for (k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        bench_file bf;
        double m, o;
        if (!wanted(shapes[k].name, argc, argv)) continue;
        shapes[k].build(&bf);
        m = bench_time_memchr(&bf, RUNS);
        o = bench_time_open(&bf, RUNS);
        printf("%-8s %12lu %10.1f %10.1f %10.1f %9.1fx %10.0f\n", shapes[k].name, (unsigned long)bf.header_len,
               m * 1e3, o * 1e3, (double)bf.header_len / o / 1e6, o / m, (double)bf.header_len / m / 1e6);
        bench_file_free(&bf);
        fflush(stdout);
    }
    printf("\nmemchr: one memchr pass over the header counting '\"' (the floor); open:\n"
           "safetensors_open_memory + safetensors_close. The aim is 250 MB/s or more on every shape.\n"
           "total %.1f s\n",
           now_seconds() - start);
    (void)bench_sink;
    return 0;
}
