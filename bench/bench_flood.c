/* bench_flood - what a header whose names all share one hash costs.

   `make bench` builds and runs it. The program holds the library twice,
   each copy private to its object (SAFETENSORS_STATIC): once as built, and
   once with the test-only hook that gives every name the same hash, so both
   are timed in the same run on the same bytes:

       cc -std=c99 -O2 -DNDEBUG -I. -c '-DSAFETENSORS_TEST_FORCE_HASH(h)=0u' \
           bench/bench_flood.c -o build/bench_flood_forced.o
       cc -std=c99 -O2 -DNDEBUG -I. bench/bench_flood.c build/bench_flood_forced.o \
           -o build/bench_flood

   The hook stands in for names an attacker crafted against the hash: an
   unseeded hash (or a leaked seed) lets a file put 100,000 names in one
   bucket. Without a bound on the probe, opening such a file is quadratic;
   the index spills a name whose probe would pass 32 slots into sorted runs,
   which should keep the flood within a small factor of the normal open
   (the aim is 3x or less).

   The file is bench_parse's recipe (bench_file_tensors in bench_util.h) for
   N = 100,000 tensors. Each row gives the median of RUNS runs of the open
   (safetensors_open_memory + close) and of safetensors_find over every name
   in shuffled order, for the library as built and with every hash alike,
   with the memchr pass over the same header as the floor. It prints
   figures; it asserts nothing about time.
*/
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_STATIC
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_flood"
#include "bench_util.h"

#define TENSORS 100000u
#define RUNS 7

typedef struct flood_times {
    double open_s;  /* median seconds per open + close */
    double find_ns; /* median ns per safetensors_find */
} flood_times;

/* One per object: each binds to that object's copy of the library. */
flood_times flood_time_seeded(const bench_file *bf);
flood_times flood_time_forced(const bench_file *bf);

#ifdef SAFETENSORS_TEST_FORCE_HASH
#define FLOOD_TIME flood_time_forced
#else
#define FLOOD_TIME flood_time_seeded
#endif

flood_times FLOOD_TIME(const bench_file *bf)
{
    flood_times t;
    t.open_s = bench_time_open(bf, RUNS);
    t.find_ns = bench_time_find(bf, RUNS);
    return t;
}

#ifndef SAFETENSORS_TEST_FORCE_HASH
static void print_row(const char *label, const bench_file *bf, flood_times t, flood_times base, double memchr_s)
{
    printf("%-22s %10.1f %8.3f %9.1fx %9.2fx %10.1f %9.2fx\n", label, t.open_s * 1e3,
           (double)bf->header_len / t.open_s / 1e9, t.open_s / memchr_s, t.open_s / base.open_s, t.find_ns,
           t.find_ns / base.find_ns);
}

int main(void)
{
    bench_file bf;
    flood_times seeded, forced;
    double m;

    print_banner(" hash flood: every name in one bucket");
    print_machine();
    memset(&bf, 0, sizeof bf);
    bench_file_tensors(&bf, TENSORS);
    printf("%u tensors, header %lu B; figures are medians of %d runs; open in ms, find in ns per call\n\n",
           TENSORS, (unsigned long)bf.header_len, RUNS);

    m = bench_time_memchr(&bf, RUNS);
    seeded = flood_time_seeded(&bf);
    forced = flood_time_forced(&bf);

    printf("%-22s %10s %8s %10s %10s %10s %10s\n", "case", "open ms", "GB/s", "x memchr", "x normal", "find ns",
           "x normal");
    printf("%-22s %10.1f\n", "memchr (floor)", m * 1e3);
    print_row("normal hash", &bf, seeded, seeded, m);
    print_row("all names one hash", &bf, forced, seeded, m);
    printf("\nnormal hash: the library as built (a seeded hash); all names one hash: the same\n"
           "library built with '-DSAFETENSORS_TEST_FORCE_HASH(h)=0u', so every name collides;\n"
           "x normal: that row over the normal row (the aim for the open: 3x or less).\n");
    bench_file_free(&bf);
    (void)bench_sink;
    return 0;
}
#endif
