/* load_parallel - load every tensor of a file into one buffer you own, with
   N threads reading at once, as an inference engine stages its weights.

       load_parallel [-j THREADS] [--verify] FILE

   The file is opened with SAFETENSORS_HEADER_ONLY: nothing is mapped, and
   safetensors_read_tensor reads each tensor at its file offset (pread, or
   ReadFile with an offset on Windows) straight into its place in one
   arena. Places are 64-byte aligned, so every tensor in the arena is
   aligned for its dtype and for SIMD loads, whatever the file's layout.
   Threads take the tensors largest first from a shared counter; a
   progress line on stderr shows the bytes loaded. --verify then compares
   the arena with a mapped open of the same file.

   The loader itself, load_parallel_run, is also what bench/bench_read.c
   measures (it includes this file with LOAD_PARALLEL_NO_MAIN defined).
   POSIX threads; the library calls are the same on Windows.

   Exit status: 0 on success, 1 on an error, 2 on a usage error.

   Build: cc -std=c99 -O2 -pthread -I. examples/load_parallel.c -o load_parallel
*/
#ifndef LOAD_PARALLEL_NO_MAIN
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#endif

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where each tensor goes: 64-byte aligned places in tensor order. Returns
   the arena's size. */
static uint64_t load_parallel_layout(const safetensors_file *f, uint64_t *place) {
    uint64_t at = 0;
    size_t k;
    for (k = 0; k < safetensors_tensor_count(f); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        place[k] = at;
        at += (t->end - t->begin + 63u) & ~(uint64_t)63u;
    }
    return at;
}

typedef struct load_parallel_job {
    const safetensors_file *f;
    unsigned char *arena;
    const uint64_t *place;
    const size_t *order; /* tensors, largest first */
    size_t next;         /* the next entry of order to take */
    uint64_t done;       /* bytes loaded */
    int failed;
    safetensors_error err;
    pthread_mutex_t lock;
} load_parallel_job;

static void *load_parallel_worker(void *arg) {
    load_parallel_job *j = (load_parallel_job *)arg;
    size_t n = safetensors_tensor_count(j->f);
    for (;;) {
        size_t k;
        const safetensors_tensor *t;
        safetensors_error err;
        pthread_mutex_lock(&j->lock);
        k = j->failed || j->next == n ? n : j->order[j->next++];
        pthread_mutex_unlock(&j->lock);
        if (k == n) return NULL;
        t = safetensors_tensor_at(j->f, k);
        if (safetensors_read_tensor(j->f, t, j->arena + j->place[k], (size_t)(t->end - t->begin), &err)) {
            pthread_mutex_lock(&j->lock);
            if (!j->failed) j->err = err;
            j->failed = 1;
            pthread_mutex_unlock(&j->lock);
            return NULL;
        }
        pthread_mutex_lock(&j->lock);
        j->done += t->end - t->begin;
        pthread_mutex_unlock(&j->lock);
    }
}

static const safetensors_file *g_sort_file;
static int load_parallel_by_size(const void *a, const void *b) {
    const safetensors_tensor *x = safetensors_tensor_at(g_sort_file, *(const size_t *)a);
    const safetensors_tensor *y = safetensors_tensor_at(g_sort_file, *(const size_t *)b);
    uint64_t sx = x->end - x->begin, sy = y->end - y->begin;
    return (sx < sy) - (sx > sy);
}

/* Loads every tensor of f into arena at place[k] with `threads` threads.
   progress(ctx, done, total), when given, is called from this thread every
   50 ms while the workers run. 0 on success; else 1 with *err set. */
static int load_parallel_run(const safetensors_file *f, unsigned char *arena, const uint64_t *place,
                             unsigned threads, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                             void *ctx, safetensors_error *err) {
    size_t n = safetensors_tensor_count(f), k;
    pthread_t *th = (pthread_t *)calloc(threads ? threads : 1, sizeof *th);
    size_t *order = (size_t *)calloc(n ? n : 1, sizeof *order);
    load_parallel_job j;
    unsigned started = 0, i;
    uint64_t total = 0;
    memset(&j, 0, sizeof j);
    if (th == NULL || order == NULL) {
        free(th);
        free(order);
        strcpy(err->message, "out of memory");
        err->code = SAFETENSORS_ERR_NOMEM;
        return 1;
    }
    for (k = 0; k < n; k++) {
        order[k] = k;
        total += safetensors_tensor_at(f, k)->end - safetensors_tensor_at(f, k)->begin;
    }
    g_sort_file = f;
    qsort(order, n, sizeof *order, load_parallel_by_size);
    j.f = f;
    j.arena = arena;
    j.place = place;
    j.order = order;
    pthread_mutex_init(&j.lock, NULL);
    for (i = 0; i < threads; i++) started += pthread_create(&th[started], NULL, load_parallel_worker, &j) == 0;
    if (started == 0) load_parallel_worker(&j); /* no thread could start: do it here */
    while (progress) {
        struct timespec pause = {0, 50000000};
        uint64_t done;
        int over;
        pthread_mutex_lock(&j.lock);
        done = j.done;
        over = j.failed || done == total;
        pthread_mutex_unlock(&j.lock);
        progress(ctx, done, total);
        if (over) break;
        nanosleep(&pause, NULL);
    }
    for (i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.lock);
    free(th);
    free(order);
    if (j.failed) *err = j.err;
    return j.failed;
}

#ifndef LOAD_PARALLEL_NO_MAIN
static void show_progress(void *ctx, uint64_t done, uint64_t total) {
    (void)ctx;
    fprintf(stderr, "\rloaded %llu of %llu bytes (%3.0f%%)", (unsigned long long)done, (unsigned long long)total,
            total ? 100.0 * (double)done / (double)total : 100.0);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

int main(int argc, char **argv) {
    const char *path = NULL;
    unsigned threads = 4;
    int verify = 0, a, rc = 1;
    safetensors_options opt;
    safetensors_file *f = NULL, *mapped = NULL;
    safetensors_error err;
    uint64_t *place = NULL, size;
    unsigned char *arena = NULL;
    size_t k;
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-j") == 0 && a + 1 < argc) {
            threads = (unsigned)strtoul(argv[++a], NULL, 10);
            if (threads == 0 || threads > 256) {
                fprintf(stderr, "load_parallel: -j takes 1 to 256\n");
                return 2;
            }
        } else if (strcmp(argv[a], "--verify") == 0) {
            verify = 1;
        } else if (path == NULL) {
            path = argv[a];
        } else {
            path = NULL;
            break;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: load_parallel [-j THREADS] [--verify] FILE\n");
        return 2;
    }
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    if (safetensors_open(path, &opt, &f, &err) != SAFETENSORS_OK) goto fail;
    place = (uint64_t *)calloc(safetensors_tensor_count(f) + 1, sizeof *place);
    if (place == NULL) goto nomem;
    /* the sizes were checked against the file's real size at open */
    size = load_parallel_layout(f, place);
    if (size > (uint64_t)(size_t)-1) goto nomem;
    arena = (unsigned char *)malloc(size ? (size_t)size : 1);
    if (arena == NULL) goto nomem;
    if (load_parallel_run(f, arena, place, threads, show_progress, NULL, &err)) goto fail;
    printf("%s: %zu tensors, %llu bytes, %u threads\n", path, safetensors_tensor_count(f),
           (unsigned long long)size, threads);
    if (verify) {
        if (safetensors_open(path, NULL, &mapped, &err) != SAFETENSORS_OK) goto fail;
        for (k = 0; k < safetensors_tensor_count(mapped); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(mapped, k);
            if (memcmp(arena + place[k], t->data, (size_t)(t->end - t->begin)) != 0) {
                fprintf(stderr, "load_parallel: %s: tensor \"%s\" differs from the mapped file\n", path, t->name);
                goto out;
            }
        }
        printf("verified against the mapped file\n");
    }
    rc = 0;
    goto out;
nomem:
    strcpy(err.message, "out of memory");
    err.code = SAFETENSORS_ERR_NOMEM;
fail:
    fprintf(stderr, "load_parallel: %s: %s\n", path, err.message);
out:
    free(arena);
    free(place);
    safetensors_close(mapped);
    safetensors_close(f);
    return rc;
}
#endif
