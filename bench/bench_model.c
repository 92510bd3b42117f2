/* bench_model - what one handle over a sharded model costs.

   Build and run from the repository root:
       cc -std=c99 -O2 -DNDEBUG -I. bench/bench_model.c -o build/bench_model && ./build/bench_model

   It writes, under build/bench_model.tmp/ (removed at the end), a synthetic
   checkpoint of SHARDS shards of PER_SHARD tensors each (100,000 in all):
   shard s holds the tensors i = PER_SHARD*s .. PER_SHARD*(s+1)-1 written as

       {"model.layers.{i/8}.mlp.w{i%8}.weight":{"dtype":"F32","shape":[2,2],
                                               "data_offsets":[16j,16j+16]}, ...}

   (j counts within the shard), compact and padded with spaces to a multiple
   of 8, then 16 data bytes per tensor; and model.safetensors.index.json with
   every name (one entry per line, as the Hub's writers indent it) and
   metadata.total_size, in the order above: each shard's tensors in one
   run. transformers writes its indexes with the names in byte order
   (json.dumps with sort_keys), where a shard's tensors come in runs of 8
   (one layer) spread over the whole index; sorted.safetensors.index.json
   is that one, and the two "sorted by name" rows open it. Each row gives
   the median of RUNS runs:
     - baseline: safetensors_open of the SHARDS files one by one (what a
       caller does without the model API), then closing them;
     - model eager: safetensors_model_open + close (the index, every shard,
       and the cross-checks against the index);
     - model lazy: the same with SAFETENSORS_MODEL_LAZY (the index only);
     - lazy + first use: lazy open, one find in every shard, close;
     - floor for lazy: one memchr pass counting '"' over the index's bytes
       (already in memory), the least that reading every byte of it costs;
     - find: ns per safetensors_model_find over every name in a shuffled
       order, against the two ways of finding a name without the model: the
       shard known in advance (safetensors_find on it, a floor), and asking
       each shard in turn until one has it.
   The runs of a table take turns (baseline, eager, lazy, ..., then the
   baseline again), so that a busy machine slows all of them alike; the
   finds of an eager and of a lazy model are each timed in turns with the
   known-shard find on the same model, and each ratio is over its own.
   The files are in the page cache (just written): opens are warm.
   It prints figures; it asserts nothing about time.
*/
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BENCH_NAME "bench_model"
#include "bench_util.h"

#define SHARDS 100
#define PER_SHARD 1000
#define TENSORS (SHARDS * PER_SHARD)
#define RUNS 11
#define DIR "build/bench_model.tmp" /* not build/bench_model: that is the program */
#define INDEX DIR "/model.safetensors.index.json"
#define SORTED_INDEX DIR "/sorted.safetensors.index.json"


/* ---------------------------------------------------------------------
   The synthetic checkpoint
   --------------------------------------------------------------------- */

static char g_names[TENSORS][48];
static size_t g_name_len[TENSORS];
static char g_shard_path[SHARDS][96];
static size_t g_header_bytes; /* all shards' N */
static size_t g_index_bytes;

static void shard_file_name(char *out, size_t cap, size_t s)
{
    snprintf(out, cap, "model-%05lu-of-%05lu.safetensors", (unsigned long)(s + 1), (unsigned long)SHARDS);
}

/* Each file is flushed to disk before the timing starts: writeback of the
   just-written files running beside the opens made runs differ by 1.7x. */
static void write_all(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) die("cannot create a file under " DIR);
    if (fwrite(bytes, 1, len, fp) != len || fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0)
        die("cannot write a file under " DIR);
}

/* model.safetensors.index.json with every tensor i = order[k], k = 0, 1,
   ... (one entry per line, as the Hub's writers indent it); returns its
   size. */
static size_t write_index(const char *path, const size_t *order)
{
    size_t cap = 64 + (size_t)TENSORS * 96, pos, k;
    char *buf = (char *)malloc(cap), shard_name[48];
    int w;
    if (!buf) die("out of memory");
    w = snprintf(buf, cap, "{\n  \"metadata\": {\n    \"total_size\": %lu\n  },\n  \"weight_map\": {\n",
                 (unsigned long)(16ul * TENSORS));
    pos = (size_t)w;
    for (k = 0; k < TENSORS; k++) {
        shard_file_name(shard_name, sizeof shard_name, order[k] / PER_SHARD);
        w = snprintf(buf + pos, cap - pos, "    \"%s\": \"%s\"%s\n", g_names[order[k]], shard_name,
                     k + 1 < TENSORS ? "," : "");
        if (w < 0 || (size_t)w >= cap - pos) die("index buffer too small");
        pos += (size_t)w;
    }
    w = snprintf(buf + pos, cap - pos, "  }\n}\n");
    if (w < 0 || (size_t)w >= cap - pos) die("index buffer too small");
    pos += (size_t)w;
    write_all(path, buf, pos);
    free(buf);
    return pos;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(g_names[*(const size_t *)a], g_names[*(const size_t *)b]);
}

/* The index twice: in shard order (each shard's tensors in one run), and
   with its names in byte order, as transformers writes an index (json.dumps
   with sort_keys), where a shard's tensors come in runs of 8 (one layer)
   spread over the whole index. */
static void write_indexes(void)
{
    size_t *order = (size_t *)malloc(TENSORS * sizeof *order), k;
    if (!order) die("out of memory");
    for (k = 0; k < TENSORS; k++) order[k] = k;
    g_index_bytes = write_index(INDEX, order);
    qsort(order, TENSORS, sizeof *order, by_name);
    (void)write_index(SORTED_INDEX, order);
    free(order);
}

static void build_model(void)
{
    size_t cap = 64 + PER_SHARD * 112, s, j, i, pos, pad;
    char *h = (char *)malloc(cap);
    unsigned char *file = (unsigned char *)malloc(8 + cap + 16 * PER_SHARD);
    char shard_name[48];
    int w;
    if (!h || !file) die("out of memory");
    if (mkdir("build", 0777) != 0 && errno != EEXIST) die("cannot create build/");
    if (mkdir(DIR, 0777) != 0 && errno != EEXIST) die("cannot create " DIR);

    for (i = 0; i < TENSORS; i++) {
        w = snprintf(g_names[i], sizeof g_names[i], "model.layers.%lu.mlp.w%lu.weight", (unsigned long)(i / 8),
                     (unsigned long)(i % 8));
        if (w < 0 || (size_t)w >= sizeof g_names[i]) die("name buffer too small");
        g_name_len[i] = (size_t)w;
    }

    for (s = 0; s < SHARDS; s++) {
        shard_file_name(shard_name, sizeof shard_name, s);
        snprintf(g_shard_path[s], sizeof g_shard_path[s], DIR "/%s", shard_name);
        pos = 0;
        h[pos++] = '{';
        for (j = 0; j < PER_SHARD; j++) {
            unsigned long long b = 16ull * (unsigned long long)j;
            i = s * PER_SHARD + j;
            w = snprintf(h + pos, cap - pos, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[%llu,%llu]}",
                         j ? "," : "", g_names[i], b, b + 16);
            if (w < 0 || (size_t)w >= cap - pos) die("header buffer too small");
            pos += (size_t)w;
        }
        h[pos++] = '}';
        pad = (8 - pos % 8) % 8;
        memset(h + pos, ' ', pad);
        pos += pad;
        for (i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)pos >> (8 * i));
        memcpy(file + 8, h, pos);
        for (i = 0; i < 16 * PER_SHARD; i++) file[8 + pos + i] = (unsigned char)(i * 131u + s);
        write_all(g_shard_path[s], file, 8 + pos + 16 * PER_SHARD);
        g_header_bytes += pos;
    }
    write_indexes();
    free(h);
    free(file);
}

static void remove_model(void)
{
    size_t s;
    for (s = 0; s < SHARDS; s++) (void)unlink(g_shard_path[s]);
    (void)unlink(INDEX);
    (void)unlink(SORTED_INDEX);
    if (rmdir(DIR) != 0) fprintf(stderr, "bench_model: could not remove " DIR "\n");
}

/* ---------------------------------------------------------------------
   Timings
   --------------------------------------------------------------------- */

/* Each timing below is one run; main takes them in turns (the baseline,
   then each contender, then the baseline again...), so that a busy
   machine slows them alike, and reports the median of each. */

static double once_baseline_open(void)
{
    safetensors_file *f[SHARDS];
    safetensors_error err;
    size_t s;
    double t0 = now_seconds();
    for (s = 0; s < SHARDS; s++) {
        if (safetensors_open(g_shard_path[s], NULL, &f[s], &err) != SAFETENSORS_OK) fail("safetensors_open", &err);
        bench_sink += safetensors_tensor_count(f[s]);
    }
    for (s = 0; s < SHARDS; s++) safetensors_close(f[s]);
    return now_seconds() - t0;
}

/* touch: after a lazy open, one find in every shard (each opens it). */
static double once_model_open(const char *index, unsigned flags, int touch)
{
    safetensors_options opt;
    safetensors_error err;
    safetensors_model *m;
    double t0;
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    t0 = now_seconds();
    if (safetensors_model_open(index, &opt, &m, &err) != SAFETENSORS_OK) fail("safetensors_model_open", &err);
    bench_sink += safetensors_model_tensor_count(m);
    if (touch) {
        size_t s;
        for (s = 0; s < SHARDS; s++) {
            const safetensors_tensor *x;
            size_t i = s * PER_SHARD;
            if (safetensors_model_find(m, g_names[i], g_name_len[i], &x, NULL, &err) != SAFETENSORS_OK)
                fail("safetensors_model_find", &err);
            bench_sink += (size_t)x->begin;
        }
    }
    safetensors_model_close(m);
    return now_seconds() - t0;
}

/* memchr over the index file's bytes, read into memory once (b). */
static double once_index_memchr(const unsigned char *b)
{
    double t0 = now_seconds();
    bench_sink += count_quotes(b, g_index_bytes);
    return now_seconds() - t0;
}

static size_t g_order[TENSORS];

/* ns per call over every name in shuffled order: 0 model_find, 1
   safetensors_find on the known shard, 2 each shard in turn until one has
   the name. */
static double once_find(const safetensors_model *m, const safetensors_file *const *f, int how)
{
    size_t k, s;
    double t0 = now_seconds();
    for (k = 0; k < TENSORS; k++) {
        size_t i = g_order[k];
        const safetensors_tensor *x = NULL;
        if (how == 0) {
            if (safetensors_model_find(m, g_names[i], g_name_len[i], &x, NULL, NULL) != SAFETENSORS_OK) x = NULL;
        } else if (how == 1) {
            x = safetensors_find(f[i / PER_SHARD], g_names[i], g_name_len[i]);
        } else {
            for (s = 0; s < SHARDS && x == NULL; s++) x = safetensors_find(f[s], g_names[i], g_name_len[i]);
        }
        if (x == NULL) die("a name was not found");
        bench_sink += (size_t)x->end;
    }
    return (now_seconds() - t0) * 1e9 / (double)TENSORS;
}

/* Medians of model_find (*model) and of find on the known shard (*known),
   in turns on one model opened with `flags`, its shards all open; and of
   asking each shard in turn (*scan), if asked for. */
static void time_finds(unsigned flags, double *model, double *known, double *scan)
{
    double t_model[RUNS], t_known[RUNS], t_scan[RUNS];
    safetensors_options opt;
    safetensors_error err;
    safetensors_model *m;
    const safetensors_file *f[SHARDS];
    size_t s;
    int r;
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    if (safetensors_model_open(INDEX, &opt, &m, &err) != SAFETENSORS_OK) fail("safetensors_model_open", &err);
    for (s = 0; s < SHARDS; s++)
        if (safetensors_model_shard(m, s, &f[s], &err) != SAFETENSORS_OK) fail("safetensors_model_shard", &err);
    for (r = 0; r < RUNS; r++) {
        t_known[r] = once_find(m, f, 1);
        t_model[r] = once_find(m, f, 0);
    }
    /* apart: its hundred times the reads would leave the others' caches cold */
    for (r = 0; scan && r < RUNS; r++) t_scan[r] = once_find(m, f, 2);
    safetensors_model_close(m);
    *model = median(t_model, RUNS);
    *known = median(t_known, RUNS);
    if (scan) *scan = median(t_scan, RUNS);
}

int main(void)
{
    double base, eager, lazy, lazy_touch, index_scan, eager_sorted, lazy_sorted, find_model, find_lazy, find_known, find_known_lazy, find_scan;
    print_banner(", sharded model open and lookup");
    print_build();
    build_model();
    shuffle_indices(g_order, TENSORS);
    printf("model:    %d shards x %d tensors = %d tensors; shard headers %lu bytes in all, index %lu bytes\n",
           SHARDS, PER_SHARD, TENSORS, (unsigned long)g_header_bytes, (unsigned long)g_index_bytes);
    printf("figures are medians of %d runs; files in the page cache\n\n", RUNS);

    {
        double t_base[RUNS], t_eager[RUNS], t_lazy[RUNS], t_touch[RUNS], t_scan[RUNS], t_eager_sorted[RUNS],
            t_lazy_sorted[RUNS];
        FILE *fp = fopen(INDEX, "rb");
        unsigned char *b = (unsigned char *)malloc(g_index_bytes + 1);
        int r;
        if (!fp || !b || fread(b, 1, g_index_bytes, fp) != g_index_bytes) die("cannot read the index back");
        fclose(fp);
        for (r = 0; r < RUNS; r++) {
            t_base[r] = once_baseline_open();
            t_eager[r] = once_model_open(INDEX, 0, 0);
            t_lazy[r] = once_model_open(INDEX, SAFETENSORS_MODEL_LAZY, 0);
            t_touch[r] = once_model_open(INDEX, SAFETENSORS_MODEL_LAZY, 1);
            t_eager_sorted[r] = once_model_open(SORTED_INDEX, 0, 0);
            t_lazy_sorted[r] = once_model_open(SORTED_INDEX, SAFETENSORS_MODEL_LAZY, 0);
            t_scan[r] = once_index_memchr(b);
        }
        free(b);
        base = median(t_base, RUNS);
        eager = median(t_eager, RUNS);
        lazy = median(t_lazy, RUNS);
        lazy_touch = median(t_touch, RUNS);
        index_scan = median(t_scan, RUNS);
        eager_sorted = median(t_eager_sorted, RUNS);
        lazy_sorted = median(t_lazy_sorted, RUNS);
    }
    time_finds(0, &find_model, &find_known, &find_scan);
    time_finds(SAFETENSORS_MODEL_LAZY, &find_lazy, &find_known_lazy, NULL);

    printf("%-44s %12s %12s\n", "open + close", "ms", "x baseline");
    printf("%-44s %12.3f %11.2fx\n", "baseline: safetensors_open x 100 shards", base * 1e3, 1.0);
    printf("%-44s %12.3f %11.2fx\n", "safetensors_model_open (eager)", eager * 1e3, eager / base);
    printf("%-44s %12.3f %11.2fx\n", "safetensors_model_open (lazy)", lazy * 1e3, lazy / base);
    printf("%-44s %12.3f %11.2fx\n", "lazy + first use of every shard", lazy_touch * 1e3, lazy_touch / base);
    printf("%-44s %12.3f %11.2fx\n", "eager, the index sorted by name", eager_sorted * 1e3, eager_sorted / base);
    printf("%-44s %12.3f %11.2fx\n", "lazy, the index sorted by name", lazy_sorted * 1e3, lazy_sorted / base);
    printf("%-44s %12.3f %11.2fx   (lazy = %.2fx this)\n", "floor for lazy: memchr '\"' over the index", index_scan * 1e3,
           index_scan / base, lazy / index_scan);
    printf("\n%-44s %12s %12s\n", "find, 100k names in shuffled order", "ns per call", "x baseline");
    printf("%-44s %12.1f %11.2fx\n", "baseline: safetensors_find, shard known", find_known, 1.0);
    printf("%-44s %12.1f %11.2fx\n", "safetensors_model_find (eager)", find_model, find_model / find_known);
    printf("%-44s %12.1f %11.2fx\n", "baseline on the lazy model's shards", find_known_lazy, 1.0);
    printf("%-44s %12.1f %11.2fx\n", "safetensors_model_find (lazy, shards open)", find_lazy, find_lazy / find_known_lazy);
    printf("%-44s %12.1f %11.2fx\n", "without the model: ask each shard in turn", find_scan, find_scan / find_known);

    printf("\nissue 10 model targets (timings are noisy on a busy machine; nothing here fails the run):\n");
    bench_print_target("model_open eager / the plain opens", eager / base, 1.5, "x");
    bench_print_target("model_open lazy / the plain opens", lazy / base, 0.5, "x");
    bench_print_target("model_open eager, index sorted by name", eager_sorted / base, 1.5, "x");
    bench_print_target("model_open lazy, index sorted by name", lazy_sorted / base, 0.5, "x");
    bench_print_target("model_find eager / find", find_model / find_known, 1.2, "x");
    bench_print_target("model_find lazy / find", find_lazy / find_known_lazy, 1.5, "x");

    remove_model();
    return bench_sink == 0;
}
