/* bench_util.h - what the benchmarks share: the clock, the median of runs,
   the error exits, a deterministic generator and the banner lines.

   Included by bench/bench_*.c after safetensors.h (with the feature macro
   that declares clock_gettime, such as _POSIX_C_SOURCE, defined first).
   Define BENCH_NAME ("bench_parse") before including it to name the
   program in error messages. The functions are static inline, so a bench
   that uses only some of them compiles without unused-function warnings. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/utsname.h>
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

/* A deterministic xorshift64*, so every run shuffles the same way. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

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
