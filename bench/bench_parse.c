/* bench_parse - how fast safetensors.h parses and validates a header.

   `make bench` builds and runs it:  cc -std=c99 -O2 -DNDEBUG -I. bench/bench_parse.c

   For N tensors it builds, in memory, the file a PyTorch writer would make
   for N small tensors under long layer names:

       {"__metadata__":{"format":"pt"},
        "model.layers.{i/8}.mlp.w{i%8}.weight":{"dtype":"F32","shape":[2,2],
                                               "data_offsets":[16i,16i+16]}, ...}

   compact, padded with spaces to a multiple of 8, then 16*N data bytes. Each
   row gives the median of K runs of:
     - memchr: one memchr pass over the same header bytes counting '"', the
       floor for anything that reads every byte;
     - open: safetensors_open_memory + safetensors_close (parse, validate,
       build the table and its hash index, free it), in ms and GB/s of
       header, and as a multiple of the memchr pass;
     - find: safetensors_find over every name in a shuffled order, per call.
   The streaming row feeds the 100k file through safetensors_parser_feed in
   64 KiB chunks, then safetensors_parser_finish.

   It prints figures; it asserts nothing about time.
*/
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_parse"
#include "bench_util.h"

#define RUNS 11
#define RUNS_LARGE 5        /* for the largest file */
#define CHUNK 65536u        /* streaming chunk size */

typedef struct bench_file {
    unsigned char *bytes;
    size_t len;             /* the whole file */
    size_t header_len;      /* N, padding included */
    size_t count;           /* tensors */
    size_t *name_off;       /* each name's offset in bytes[] and its length */
    size_t *name_len;
} bench_file;

static void build_file(bench_file *bf, size_t n)
{
    size_t cap = 64 + n * 112, pos = 0, i, pad;
    char *h = (char *)malloc(cap);
    int w;
    if (!h) die("out of memory");
    bf->name_off = (size_t *)malloc(n * sizeof *bf->name_off + 1);
    bf->name_len = (size_t *)malloc(n * sizeof *bf->name_len + 1);
    if (!bf->name_off || !bf->name_len) die("out of memory");

    w = snprintf(h, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    pos = (size_t)w;
    for (i = 0; i < n; i++) {
        unsigned long long b = 16ull * (unsigned long long)i;
        size_t name_at = pos + 2; /* after ,"  */
        w = snprintf(h + pos, cap - pos, ",\"model.layers.%lu.mlp.w%lu.weight", (unsigned long)(i / 8),
                     (unsigned long)(i % 8));
        if (w < 0 || (size_t)w >= cap - pos) die("header buffer too small");
        bf->name_off[i] = 8 + name_at;
        bf->name_len[i] = (size_t)w - 2;
        pos += (size_t)w;
        w = snprintf(h + pos, cap - pos, "\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[%llu,%llu]}",
                     b, b + 16);
        if (w < 0 || (size_t)w >= cap - pos) die("header buffer too small");
        pos += (size_t)w;
    }
    if (pos + 2 > cap) die("header buffer too small");
    h[pos++] = '}';
    pad = (8 - pos % 8) % 8;

    bf->header_len = pos + pad;
    bf->len = 8 + bf->header_len + 16 * n;
    bf->count = n;
    bf->bytes = (unsigned char *)malloc(bf->len);
    if (!bf->bytes) die("out of memory");
    for (i = 0; i < 8; i++) bf->bytes[i] = (unsigned char)((uint64_t)bf->header_len >> (8 * i));
    memcpy(bf->bytes + 8, h, pos);
    memset(bf->bytes + 8 + pos, ' ', pad);
    memset(bf->bytes + 8 + bf->header_len, 0, 16 * n);
    free(h);
}

static void free_file(bench_file *bf)
{
    free(bf->bytes);
    free(bf->name_off);
    free(bf->name_len);
}

static volatile size_t g_sink; /* keeps results alive */

static size_t count_quotes(const unsigned char *p, size_t n)
{
    size_t count = 0;
    const unsigned char *end = p + n;
    while (p < end) {
        const unsigned char *q = (const unsigned char *)memchr(p, '"', (size_t)(end - p));
        if (!q) break;
        count++;
        p = q + 1;
    }
    return count;
}

static double time_memchr(const bench_file *bf, int runs)
{
    double t[RUNS];
    int r;
    for (r = 0; r < runs; r++) {
        double t0 = now_seconds();
        g_sink += count_quotes(bf->bytes + 8, bf->header_len);
        t[r] = now_seconds() - t0;
    }
    return median(t, runs);
}

static double time_open(const bench_file *bf, int runs)
{
    double t[RUNS];
    int r;
    for (r = 0; r < runs; r++) {
        safetensors_file *f;
        safetensors_error err;
        double t0 = now_seconds();
        if (safetensors_open_memory(bf->bytes, bf->len, NULL, &f, &err) != SAFETENSORS_OK)
            fail("safetensors_open_memory", &err);
        g_sink += safetensors_tensor_count(f);
        safetensors_close(f);
        t[r] = now_seconds() - t0;
    }
    return median(t, runs);
}

/* Median nanoseconds per safetensors_find, over every name in shuffled order. */
static double time_find(const bench_file *bf, int runs)
{
    double t[RUNS];
    size_t *order = (size_t *)malloc(bf->count * sizeof *order + 1);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    safetensors_file *f;
    safetensors_error err;
    size_t i;
    int r;
    if (!order) die("out of memory");
    for (i = 0; i < bf->count; i++) order[i] = i;
    for (i = bf->count; i > 1; i--) {
        size_t j = (size_t)(rng_next(&seed) % (uint64_t)i), tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    if (safetensors_open_memory(bf->bytes, bf->len, NULL, &f, &err) != SAFETENSORS_OK)
        fail("safetensors_open_memory", &err);
    for (r = 0; r < runs; r++) {
        size_t found = 0;
        double t0 = now_seconds();
        for (i = 0; i < bf->count; i++) {
            size_t k = order[i];
            const safetensors_tensor *tt =
                safetensors_find(f, (const char *)bf->bytes + bf->name_off[k], bf->name_len[k]);
            found += tt != NULL;
        }
        t[r] = (now_seconds() - t0) * 1e9 / (double)bf->count;
        if (found != bf->count) die("safetensors_find missed a name");
        g_sink += found;
    }
    safetensors_close(f);
    free(order);
    return median(t, runs);
}

static double time_stream(const bench_file *bf, int runs)
{
    double t[RUNS];
    int r;
    for (r = 0; r < runs; r++) {
        safetensors_parser *p;
        safetensors_file *f;
        safetensors_error err;
        size_t pos = 0;
        int done = 0;
        double t0 = now_seconds();
        if (safetensors_parser_create(NULL, &p, &err) != SAFETENSORS_OK) fail("safetensors_parser_create", &err);
        while (!done && pos < bf->len) {
            size_t n = bf->len - pos < CHUNK ? bf->len - pos : CHUNK, used = 0;
            if (safetensors_parser_feed(p, bf->bytes + pos, n, &used, &done, &err) != SAFETENSORS_OK)
                fail("safetensors_parser_feed", &err);
            pos += used;
            if (!done && used < n) die("the parser stopped consuming before the header ended");
        }
        if (safetensors_parser_finish(p, (uint64_t)(bf->len - pos), &f, &err) != SAFETENSORS_OK)
            fail("safetensors_parser_finish", &err);
        g_sink += safetensors_tensor_count(f);
        safetensors_close(f);
        safetensors_parser_destroy(p);
        t[r] = now_seconds() - t0;
    }
    return median(t, runs);
}

static void print_row(const char *label, const bench_file *bf, int runs, double memchr_s, double open_s,
                      double find_ns)
{
    double gbs = (double)bf->header_len / open_s / 1e9;
    char find_text[32];
    if (find_ns >= 0) snprintf(find_text, sizeof find_text, "%10.1f", find_ns);
    else snprintf(find_text, sizeof find_text, "%10s", "-");
    printf("%-12s %8lu %12lu %10.3f %10.3f %8.3f %9.1fx %s %5d\n", label, (unsigned long)bf->count,
           (unsigned long)bf->header_len, memchr_s * 1e3, open_s * 1e3, gbs, open_s / memchr_s, find_text,
           runs);
}

int main(void)
{
    static const size_t sizes[] = {1000, 10000, 100000, 300000};
    size_t k;

    print_banner(" header parse + validate");
    print_machine();
    printf("figures are medians of K runs (K in the last column); times in ms, find in ns per call\n\n");
    printf("%-12s %8s %12s %10s %10s %8s %10s %10s %5s\n", "case", "tensors", "header B", "memchr ms",
           "open ms", "GB/s", "x memchr", "find ns", "K");

    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        bench_file bf;
        int runs = sizes[k] >= 300000 ? RUNS_LARGE : RUNS;
        double m, o, fnd;
        memset(&bf, 0, sizeof bf);
        build_file(&bf, sizes[k]);
        m = time_memchr(&bf, runs);
        o = time_open(&bf, runs);
        fnd = time_find(&bf, runs);
        print_row("open_memory", &bf, runs, m, o, fnd);
        if (sizes[k] == 100000) {
            double s = time_stream(&bf, runs);
            print_row("stream 64K", &bf, runs, m, s, -1.0);
        }
        free_file(&bf);
        fflush(stdout);
    }
    printf("\nmemchr: one memchr pass over the header counting '\"' (the floor);\n"
           "open: safetensors_open_memory + safetensors_close; stream: parser_create + feed in\n"
           "64 KiB chunks + finish + close + destroy; GB/s and x memchr are of the header bytes.\n");
    (void)g_sink;
    return 0;
}
