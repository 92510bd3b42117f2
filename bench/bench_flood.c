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
   with the memchr pass over the same header as the floor; the last row the
   median of the runs' ratios (forced over normal), the two taking turns. It prints
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
    double open_s;  /* seconds per open + close */
    double find_ns; /* ns per safetensors_find */
} flood_times;

/* One run of each timing; one per object, each bound to that object's copy
   of the library. */
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
    t.open_s = bench_time_open(bf, 1);
    t.find_ns = bench_time_find(bf, 1);
    return t;
}

#ifndef SAFETENSORS_TEST_FORCE_HASH
int main(void)
{
    /* per run: 0 normal open, 1 forced open, 2 their ratio, then the same
       three for find */
    double v[6][RUNS], m;
    bench_file bf;
    int r, k;

    print_banner(" hash flood: every name in one bucket");
    print_machine();
    memset(&bf, 0, sizeof bf);
    bench_file_tensors(&bf, TENSORS);
    printf("%u tensors, header %lu B; figures are medians of %d runs; open in ms, find in ns per call\n\n",
           TENSORS, (unsigned long)bf.header_len, RUNS);

    m = bench_time_memchr(&bf, RUNS);
    /* The two libraries take turns, so that a change in the machine's load
       falls on both alike; each run's own ratio is kept. */
    for (r = 0; r < RUNS; r++) {
        flood_times seeded = flood_time_seeded(&bf), forced = flood_time_forced(&bf);
        v[0][r] = seeded.open_s;
        v[1][r] = forced.open_s;
        v[2][r] = forced.open_s / seeded.open_s;
        v[3][r] = seeded.find_ns;
        v[4][r] = forced.find_ns;
        v[5][r] = forced.find_ns / seeded.find_ns;
    }
    for (k = 0; k < 6; k++) v[k][0] = median(v[k], RUNS);

    printf("%-22s %10s %8s %10s %10s\n", "case", "open ms", "GB/s", "x memchr", "find ns");
    printf("%-22s %10.1f %8.3f %9.1fx\n", "memchr (floor)", m * 1e3, (double)bf.header_len / m / 1e9, 1.0);
    for (k = 0; k < 2; k++)
        printf("%-22s %10.1f %8.3f %9.1fx %10.1f\n", k ? "all names one hash" : "normal hash", v[k][0] * 1e3,
               (double)bf.header_len / v[k][0] / 1e9, v[k][0] / m, v[k + 3][0]);
    printf("%-22s %9.2fx %30.2fx\n", "one hash / normal", v[2][0], v[5][0]);
    printf("\nnormal hash: the library as built (a seeded hash); all names one hash: the same\n"
           "library built with '-DSAFETENSORS_TEST_FORCE_HASH(h)=0u', so every name collides;\n"
           "one hash / normal: the median of each run's ratio (the aim for the open: 3x or less).\n");
    bench_file_free(&bf);
    (void)bench_sink;
    return 0;
}
#endif
