/* bench_util.h - what the benchmarks share: the clock, the median of runs,
   the error exits, a deterministic generator and shuffle, the banner lines,
   and for the parse benches a file in memory (bench_parse's recipe of n
   tensors, or any header text) with the memchr, open, close and find
   timings, a counting allocator for the memory an open takes, and a way to
   time something in a fresh process (a child that prints one number).

   Included by bench/bench_*.c after safetensors.h (with the feature macro
   that declares clock_gettime, such as _POSIX_C_SOURCE, defined first; at
   200112L or more on a POSIX host, the fresh-process helpers exist too, and
   BENCH_HAVE_SPAWN is 1). Define BENCH_NAME ("bench_parse") before
   including it to name the program in error messages. The functions are
   static inline, so a bench that uses only some of them compiles without
   unused-function warnings. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/utsname.h>
#endif

#if (defined(__unix__) || defined(__APPLE__)) && defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L
#include <errno.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#define BENCH_HAVE_SPAWN 1
extern char **environ;
#else
#define BENCH_HAVE_SPAWN 0
#endif

#ifndef BENCH_NAME
#define BENCH_NAME "bench"
#endif

static inline void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s\n", what);
    exit(1);
}

static inline void fail(const char *what, const safetensors_error *err)
{
    fprintf(stderr, BENCH_NAME ": %s failed: %s at byte %llu: %s\n", what, safetensors_result_name(err->code),
            (unsigned long long)err->offset, err->message);
    exit(1);
}

/* Seconds on a monotonic clock (processor time where there is none). */
static inline double now_seconds(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime failed");
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), which it sorts. */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One line of a bench's block of issue 10's targets: met when value <=
   limit; a value below 0 was not measured. Nothing here fails the run:
   timings move on a busy machine. */
static inline void bench_print_target(const char *what, double value, double limit, const char *unit)
{
    if (value < 0) {
        printf("  %-44s target <= %7.2f%-3s  not measured\n", what, limit, unit);
        return;
    }
    printf("  %-44s target <= %7.2f%-3s  measured %9.3f%-3s  %s\n", what, limit, unit, value, unit,
           value <= limit ? "met" : "missed");
}

/* A deterministic xorshift64*, so every run shuffles the same way. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* order[0..n) becomes a fixed permutation of 0..n-1: lookups in an order
   unrelated to the table's, the same in every run. */
static inline void shuffle_indices(size_t *order, size_t n)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    size_t i;
    for (i = 0; i < n; i++) order[i] = i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(&seed) % (uint64_t)i), tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

/* ---------------------------------------------------------------------
   A file in memory, and the timings every parse bench takes of one
   --------------------------------------------------------------------- */

#define BENCH_MAX_RUNS 21

typedef struct bench_file {
    unsigned char *bytes;
    size_t len;             /* the whole file */
    size_t header_len;      /* N, padding included */
    size_t count;           /* tensors whose names are listed below, or 0 */
    size_t *name_off;       /* each name's offset in bytes[] and its length */
    size_t *name_len;
} bench_file;

static volatile size_t bench_sink; /* keeps results alive */

/* bf->bytes becomes the file whose header is h[0..h_len), padded with
   spaces to a multiple of 8, followed by data_len zero bytes. */
static inline void bench_file_assemble(bench_file *bf, const char *h, size_t h_len, size_t data_len)
{
    size_t pad = (8 - h_len % 8) % 8, i;
    bf->header_len = h_len + pad;
    bf->len = 8 + bf->header_len + data_len;
    bf->bytes = (unsigned char *)malloc(bf->len);
    if (!bf->bytes) die("out of memory");
    for (i = 0; i < 8; i++) bf->bytes[i] = (unsigned char)((uint64_t)bf->header_len >> (8 * i));
    memcpy(bf->bytes + 8, h, h_len);
    memset(bf->bytes + 8 + h_len, ' ', pad);
    memset(bf->bytes + 8 + bf->header_len, 0, data_len);
}

/* The file a PyTorch writer would make for n small tensors under long
   layer names, compact:

       {"__metadata__":{"format":"pt"},
        "model.layers.{i/8}.mlp.w{i%8}.weight":{"dtype":"F32","shape":[2,2],
                                               "data_offsets":[16i,16i+16]}, ...}

   then 16*n data bytes; the names are listed for bench_time_find. */
static inline void bench_file_tensors(bench_file *bf, size_t n)
{
    size_t cap = 64 + n * 112, pos = 0, i;
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
    if (pos + 1 > cap) die("header buffer too small");
    h[pos++] = '}';
    bf->count = n;
    bench_file_assemble(bf, h, pos, 16 * n);
    free(h);
}

static inline void bench_file_free(bench_file *bf)
{
    free(bf->bytes);
    free(bf->name_off);
    free(bf->name_len);
    memset(bf, 0, sizeof *bf);
}

static inline size_t count_quotes(const unsigned char *p, size_t n)
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

/* Seconds of a memchr pass over the header counting '"': the floor for
   anything that reads every byte. */
static inline double bench_memchr_once(const bench_file *bf)
{
    double t0 = now_seconds();
    bench_sink += count_quotes(bf->bytes + 8, bf->header_len);
    return now_seconds() - t0;
}

/* The median of `runs` of them. */
static inline double bench_time_memchr(const bench_file *bf, int runs)
{
    double t[BENCH_MAX_RUNS];
    int r;
    if (runs > BENCH_MAX_RUNS) die("too many runs");
    for (r = 0; r < runs; r++) t[r] = bench_memchr_once(bf);
    return median(t, runs);
}

/* Medians, over the same runs, of safetensors_open_memory alone, of
   safetensors_close alone, and of the two back to back; and, when
   memchr_s is given, of a memchr pass taken in turns with them, so that a
   busy machine slows the baseline and the open alike. */
typedef struct bench_open_times {
    double open_s;
    double close_s;
    double total_s;
} bench_open_times;

static inline bench_open_times bench_time_open_close(const bench_file *bf, int runs, double *memchr_s)
{
    double t_open[BENCH_MAX_RUNS], t_close[BENCH_MAX_RUNS], t_total[BENCH_MAX_RUNS], t_memchr[BENCH_MAX_RUNS];
    bench_open_times out;
    int r;
    if (runs > BENCH_MAX_RUNS) die("too many runs");
    for (r = 0; r < runs; r++) {
        safetensors_file *f;
        safetensors_error err;
        double t0, t1, t2;
        if (memchr_s) t_memchr[r] = bench_memchr_once(bf);
        t0 = now_seconds();
        if (safetensors_open_memory(bf->bytes, bf->len, NULL, &f, &err) != SAFETENSORS_OK)
            fail("safetensors_open_memory", &err);
        bench_sink += safetensors_tensor_count(f);
        t1 = now_seconds();
        safetensors_close(f);
        t2 = now_seconds();
        t_open[r] = t1 - t0;
        t_close[r] = t2 - t1;
        t_total[r] = t2 - t0;
    }
    out.open_s = median(t_open, runs);
    out.close_s = median(t_close, runs);
    out.total_s = median(t_total, runs);
    if (memchr_s) *memchr_s = median(t_memchr, runs);
    return out;
}

/* Median seconds of safetensors_open_memory + safetensors_close. */
static inline double bench_time_open(const bench_file *bf, int runs)
{
    return bench_time_open_close(bf, runs, NULL).total_s;
}

/* The file's names in the fixed shuffled order of every find timing
   (malloc'd; the caller frees it), after checking the number of runs. */
static inline size_t *bench_shuffled_order(const bench_file *bf, int runs)
{
    size_t *order = (size_t *)malloc(bf->count * sizeof *order + 1);
    if (!order) die("out of memory");
    if (runs > BENCH_MAX_RUNS) die("too many runs");
    shuffle_indices(order, bf->count);
    return order;
}

/* Median nanoseconds per safetensors_find, over every listed name in
   shuffled order; every name must be found. */
static inline double bench_time_find(const bench_file *bf, int runs)
{
    double t[BENCH_MAX_RUNS];
    size_t *order = bench_shuffled_order(bf, runs);
    safetensors_file *f;
    safetensors_error err;
    size_t i;
    int r;
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
        bench_sink += found;
    }
    safetensors_close(f);
    free(order);
    return median(t, runs);
}

/* Median nanoseconds per name of what a find does before its lookup:
   reading the name from the file's bytes, in the same shuffled order as
   bench_time_find, and hashing it with the library's hash. The floor under
   find's figure on this machine. */
static inline double bench_time_query_hash(const bench_file *bf, int runs)
{
    double t[BENCH_MAX_RUNS];
    size_t *order = bench_shuffled_order(bf, runs);
    size_t i;
    int r;
    for (r = 0; r < runs; r++) {
        uint32_t sum = 0;
        double t0 = now_seconds();
        for (i = 0; i < bf->count; i++) {
            size_t k = order[i];
            sum += safetensors__hash(1u, (const char *)bf->bytes + bf->name_off[k], bf->name_len[k]);
        }
        t[r] = (now_seconds() - t0) * 1e9 / (double)bf->count;
        bench_sink += sum;
    }
    free(order);
    return median(t, runs);
}

/* Median seconds of what a loader does: safetensors_open_memory, then
   safetensors_find once for every listed name in shuffled order (the
   order is drawn before the clock starts), then safetensors_close. Every
   name must be found. */
static inline double bench_time_open_find_all(const bench_file *bf, int runs)
{
    double t[BENCH_MAX_RUNS];
    size_t *order = bench_shuffled_order(bf, runs);
    size_t i;
    int r;
    for (r = 0; r < runs; r++) {
        safetensors_file *f;
        safetensors_error err;
        size_t found = 0;
        double t0 = now_seconds();
        if (safetensors_open_memory(bf->bytes, bf->len, NULL, &f, &err) != SAFETENSORS_OK)
            fail("safetensors_open_memory", &err);
        for (i = 0; i < bf->count; i++) {
            size_t k = order[i];
            found += safetensors_find(f, (const char *)bf->bytes + bf->name_off[k], bf->name_len[k]) != NULL;
        }
        safetensors_close(f);
        t[r] = now_seconds() - t0;
        if (found != bf->count) die("safetensors_find missed a name");
        bench_sink += found;
    }
    free(order);
    return median(t, runs);
}

/* ---------------------------------------------------------------------
   The memory an open takes, through the run-time allocator
   --------------------------------------------------------------------- */

/* Bytes the library holds through a counting allocator: live now, and the
   most that were live at once. A reallocation counts as its change of size
   (live += new - old), as if the block grew or shrank in place. */
typedef struct bench_alloc_count {
    size_t live;
    size_t peak;
} bench_alloc_count;

static inline void bench_count_add(bench_alloc_count *c, size_t add, size_t sub)
{
    c->live = c->live - sub + add;
    if (c->live > c->peak) c->peak = c->live;
}

static inline void *bench_count_allocate(void *ctx, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p) bench_count_add((bench_alloc_count *)ctx, size, 0);
    return p;
}

static inline void *bench_count_reallocate(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    void *p = realloc(ptr, new_size ? new_size : 1);
    if (p) bench_count_add((bench_alloc_count *)ctx, new_size, old_size);
    return p;
}

static inline void bench_count_deallocate(void *ctx, void *ptr, size_t size)
{
    if (!ptr) return;
    bench_count_add((bench_alloc_count *)ctx, 0, size);
    free(ptr);
}

/* What one safetensors_open_memory of the file takes: `held`, the bytes
   the open file keeps until it is closed, and `peak`, the most live at any
   moment during the open. Deterministic: the counts, not the clock. */
typedef struct bench_memory {
    size_t held;
    size_t peak;
} bench_memory;

static inline bench_memory bench_open_memory_use(const bench_file *bf)
{
    bench_alloc_count count;
    safetensors_options opt;
    safetensors_file *f;
    safetensors_error err;
    bench_memory m;
    memset(&count, 0, sizeof count);
    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = bench_count_allocate;
    opt.allocator.reallocate = bench_count_reallocate;
    opt.allocator.deallocate = bench_count_deallocate;
    opt.allocator.ctx = &count;
    if (safetensors_open_memory(bf->bytes, bf->len, &opt, &f, &err) != SAFETENSORS_OK)
        fail("safetensors_open_memory", &err);
    m.held = count.live;
    m.peak = count.peak;
    safetensors_close(f);
    if (count.live != 0) die("safetensors_close did not give back every byte the open took");
    return m;
}

/* ---------------------------------------------------------------------
   Timing in a fresh process
   --------------------------------------------------------------------- */

#if BENCH_HAVE_SPAWN
/* Runs argv[0] (found as execvp finds a program; pass the bench's own
   argv[0] to re-execute it) with argv, in the environment this process
   has, unchanged. The child must print one number on its standard output
   and exit with status 0; that number is returned. */
static inline double bench_spawn_number(char *const argv[])
{
    posix_spawn_file_actions_t actions;
    char out[64];
    size_t got = 0;
    int fd[2], status;
    pid_t pid;
    char *end;
    double v;
    if (pipe(fd) != 0) die("pipe failed");
    if (posix_spawn_file_actions_init(&actions) != 0 ||
        posix_spawn_file_actions_adddup2(&actions, fd[1], 1) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fd[0]) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fd[1]) != 0)
        die("posix_spawn_file_actions failed");
    if (posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ) != 0) die("posix_spawnp failed");
    posix_spawn_file_actions_destroy(&actions);
    close(fd[1]);
    for (;;) {
        ssize_t n = read(fd[0], out + got, sizeof out - 1 - got);
        if (n > 0) got += (size_t)n;
        else if (n == 0 || errno != EINTR) break;
        if (got == sizeof out - 1) break;
    }
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) die("waitpid failed");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a child process failed");
    out[got] = '\0';
    v = strtod(out, &end);
    if (end == out) die("a child process printed no number");
    return v;
}
#endif

/* "bench_parse: safetensors.h 1.2.3" and then `what`, on one line. */
static inline void print_banner(const char *what)
{
    printf(BENCH_NAME ": safetensors.h %d.%d.%d%s\n", SAFETENSORS_VERSION_MAJOR, SAFETENSORS_VERSION_MINOR,
           SAFETENSORS_VERSION_PATCH, what);
}

/* The "build:" line: whether assertions are compiled out. */
static inline void print_build(void)
{
#ifdef NDEBUG
    printf("build:    NDEBUG\n");
#else
    printf("build:    assertions on (compile with -DNDEBUG to measure)\n");
#endif
}

/* The "machine:", "compiler:" and "build:" lines. */
static inline void print_machine(void)
{
#if defined(__unix__) || defined(__APPLE__)
    struct utsname u;
    if (uname(&u) == 0)
        printf("machine:  %s %s %s\n", u.sysname, u.release, u.machine);
    else
        printf("machine:  unknown (uname failed)\n");
#else
    printf("machine:  unknown\n");
#endif
#if defined(__VERSION__) && defined(__GNUC__) && !defined(__clang__)
    printf("compiler: gcc %s\n", __VERSION__);
#elif defined(__VERSION__)
    printf("compiler: %s\n", __VERSION__);
#else
    printf("compiler: unknown\n");
#endif
    print_build();
}

#endif /* BENCH_UTIL_H */
