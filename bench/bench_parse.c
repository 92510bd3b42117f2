/* bench_parse - how fast safetensors.h parses and validates a header.

   `make bench` builds and runs it:  cc -std=c99 -O2 -DNDEBUG -I. bench/bench_parse.c

   For N tensors it builds, in memory, the file a PyTorch writer would make
   for N small tensors under long layer names (bench_file_tensors in
   bench_util.h):

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
        bench_sink += safetensors_tensor_count(f);
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
        bench_file_tensors(&bf, sizes[k]);
        m = bench_time_memchr(&bf, runs);
        o = bench_time_open(&bf, runs);
        fnd = bench_time_find(&bf, runs);
        print_row("open_memory", &bf, runs, m, o, fnd);
        if (sizes[k] == 100000) {
            double s = time_stream(&bf, runs);
            print_row("stream 64K", &bf, runs, m, s, -1.0);
        }
        bench_file_free(&bf);
        fflush(stdout);
    }
    printf("\nmemchr: one memchr pass over the header counting '\"' (the floor);\n"
           "open: safetensors_open_memory + safetensors_close; stream: parser_create + feed in\n"
           "64 KiB chunks + finish + close + destroy; GB/s and x memchr are of the header bytes.\n");
    (void)bench_sink;
    return 0;
}
