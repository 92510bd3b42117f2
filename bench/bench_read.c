/* bench_read - loading a checkpoint's tensors into memory you own, from the
   page cache: GB/s of three ways against memcpy of the same bytes.

   Build and run from the repository root:
       cc -std=c99 -O2 -DNDEBUG -pthread -I. bench/bench_read.c -o build/bench_read && ./build/bench_read

   It writes build/bench_read.tmp.safetensors (removed at the end): TENSORS
   F32 tensors of TENSOR_BYTES each, through the streaming writer, and reads
   it once so that it is in the page cache. Each row is the median of RUNS
   runs of loading every tensor into one 64-byte aligned arena:
     - baseline: memcpy of the same bytes from a buffer already in memory
       (the ceiling: what copying costs with no file at all);
     - mmap + memcpy: safetensors_open (mapped), memcpy of each view, close;
     - read_tensor, 1 thread: a SAFETENSORS_HEADER_ONLY open and
       safetensors_read_tensor of each tensor into its place (pread);
     - read_tensor, N threads: the same through examples/load_parallel.c's
       loader, N = THREADS.
   Opens and closes are inside the timed region. GB/s is 10^9 bytes a
   second; "x baseline" is the row's time over the baseline's. It prints
   figures; it asserts nothing about time. */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_read"
#include "bench_util.h"

#define LOAD_PARALLEL_NO_MAIN
#include "../examples/load_parallel.c"

#define TENSORS 64
#define TENSOR_BYTES ((size_t)4 << 20) /* 256 MiB in all */
#define RUNS 7
#define THREADS 4u
#define PATH "build/bench_read.tmp.safetensors"

static volatile unsigned char g_sink;

static void write_checkpoint(void)
{
    safetensors_writer *w = NULL;
    safetensors_error err;
    uint64_t shape[1] = {TENSOR_BYTES / 4};
    unsigned char *piece = (unsigned char *)malloc(TENSOR_BYTES);
    uint64_t rng = 1;
    size_t k, i;
    if (piece == NULL) die("out of memory");
    if (safetensors_writer_create(NULL, &w, &err)) fail("writer_create", &err);
    for (k = 0; k < TENSORS; k++) {
        char name[32];
        sprintf(name, "layers.%u.weight", (unsigned)k);
        if (safetensors_writer_add_tensor(w, name, strlen(name), SAFETENSORS_F32, 1, shape, &err)) fail("add", &err);
    }
    if (safetensors_writer_begin_file(w, PATH, &err)) fail("begin_file", &err);
    for (k = 0; k < TENSORS; k++) {
        for (i = 0; i < TENSOR_BYTES; i += 8) {
            uint64_t v = rng_next(&rng);
            memcpy(piece + i, &v, 8);
        }
        if (safetensors_writer_write_tensor(w, k, piece, TENSOR_BYTES, &err)) fail("write", &err);
    }
    if (safetensors_writer_finish(w, &err)) fail("finish", &err);
    safetensors_writer_destroy(w);
    free(piece);
}

typedef enum way { BASELINE, MMAP_MEMCPY, READ_ONE, READ_MANY, WAYS } way;

static const char *const way_names[WAYS] = {"memcpy (baseline)", "mmap + memcpy", "read_tensor, 1 thread",
                                            "read_tensor, threads"};

/* One load of every tensor into arena by `w`; the seconds it took. */
static double load_once(way w, unsigned char *arena, const unsigned char *source, const uint64_t *place)
{
    safetensors_options opt;
    safetensors_file *f = NULL;
    safetensors_error err;
    double t0 = now_seconds();
    size_t k;
    memset(&opt, 0, sizeof opt);
    if (w == BASELINE) {
        for (k = 0; k < TENSORS; k++) memcpy(arena + place[k], source + k * TENSOR_BYTES, TENSOR_BYTES);
    } else if (w == MMAP_MEMCPY) {
        if (safetensors_open(PATH, NULL, &f, &err)) fail("open", &err);
        for (k = 0; k < safetensors_tensor_count(f); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f, k);
            memcpy(arena + place[k], t->data, (size_t)(t->end - t->begin));
        }
    } else {
        opt.flags = SAFETENSORS_HEADER_ONLY;
        if (safetensors_open(PATH, &opt, &f, &err)) fail("open", &err);
        if (w == READ_ONE) {
            for (k = 0; k < safetensors_tensor_count(f); k++) {
                const safetensors_tensor *t = safetensors_tensor_at(f, k);
                if (safetensors_read_tensor(f, t, arena + place[k], (size_t)(t->end - t->begin), &err))
                    fail("read_tensor", &err);
            }
        } else if (load_parallel_run(f, arena, place, THREADS, NULL, NULL, &err)) {
            fail("load_parallel_run", &err);
        }
    }
    safetensors_close(f);
    g_sink = arena[place[TENSORS - 1]];
    return now_seconds() - t0;
}

int main(void)
{
    safetensors_file *f = NULL;
    safetensors_error err;
    uint64_t place[TENSORS + 1], size;
    unsigned char *arena, *source;
    double times[WAYS][RUNS], med[WAYS];
    int run, w;
    size_t k;

    print_banner(": loading every tensor into one buffer, from the page cache");
    print_machine();
    write_checkpoint();
    if (safetensors_open(PATH, NULL, &f, &err)) fail("open", &err);
    size = load_parallel_layout(f, place);
    arena = (unsigned char *)malloc((size_t)size);
    source = (unsigned char *)malloc((size_t)TENSORS * TENSOR_BYTES);
    if (arena == NULL || source == NULL) die("out of memory");
    /* the source for the baseline, and the file read once: both warm */
    for (k = 0; k < TENSORS; k++)
        memcpy(source + k * TENSOR_BYTES, safetensors_tensor_at(f, k)->data, TENSOR_BYTES);
    memset(arena, 0, (size_t)size);
    safetensors_close(f);
    printf("file:     %d F32 tensors of %u MiB, %u MiB in all; %d runs each, interleaved; %u threads\n\n",
           TENSORS, (unsigned)(TENSOR_BYTES >> 20), (unsigned)((TENSORS * TENSOR_BYTES) >> 20), RUNS, THREADS);
    /* the ways take turns, so that a slow moment of the machine is shared */
    for (run = 0; run < RUNS; run++)
        for (w = 0; w < WAYS; w++) times[w][run] = load_once((way)w, arena, source, place);
    printf("  %-24s %10s %8s %12s\n", "WAY", "ms", "GB/s", "x baseline");
    for (w = 0; w < WAYS; w++) {
        med[w] = median(times[w], RUNS);
        printf("  %-24s %10.2f %8.2f %12.2f\n", way_names[w], med[w] * 1e3,
               (double)TENSORS * (double)TENSOR_BYTES / med[w] / 1e9, med[w] / med[BASELINE]);
    }
    free(arena);
    free(source);
    remove(PATH);
    return 0;
}
