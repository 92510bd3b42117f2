/* test_large.c - stream-write a checkpoint larger than this process may
   address, then check it.

       build/test_large SIZE [PATH] [--keep]

   SIZE is a byte count with an optional K, M or G suffix (binary units);
   PATH defaults to build/test_large.safetensors. `make test` runs it with
   64M, `make test-large` with 6G.

   The process first limits its own address space to 256 MiB (setrlimit
   RLIMIT_AS), so a writer that kept the data in memory would fail. Then:
     1. declares metadata, SIZE bytes of F32 tensors (layers.NNN.weight)
        and a few small tensors of other dtypes, with 4096-byte alignment
        (the O_DIRECT case);
     2. streams every tensor's bytes from a generator, 1 MiB at a time,
        through safetensors_writer_begin_file (temporary file, fsync,
        rename); half the tensors by write_tensor, half by plain write;
     3. opens the result with SAFETENSORS_HEADER_ONLY (nothing mapped),
        checks the table (every tensor's dtype, shape and offsets, the
        metadata, the alignment, the file size) and reads back sampled
        ranges with pread, comparing them with the generator;
     4. prints the sizes, the times and the peak resident set size
        (getrusage ru_maxrss), and fails if it reached 128 MiB.
   Before writing it checks the free disk space (statvfs) and, when it is
   short, prints SKIP and exits 0. The file is removed at the end unless
   --keep is given. Exit status: 0 passed or skipped, 1 failed. */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
#define AS_LIMIT (256 * MIB)
#define RSS_LIMIT_KIB (128u * 1024u)
#define CHUNK ((size_t)MIB)
#define ALIGNMENT 4096u
#define SAMPLES 256

/* ---------------------------------------------------------------------
   The generator: byte p of the data section is byte p % 8 of
   splitmix64(p / 8), so any range can be recomputed.
   --------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static void generate(unsigned char *out, uint64_t pos, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint64_t p = pos + i, word = splitmix64(p / 8);
        unsigned lane = (unsigned)(p % 8);
        for (; lane < 8 && i < len; lane++, i++) out[i] = (unsigned char)(word >> (8 * lane));
    }
}

/* ---------------------------------------------------------------------
   The checkpoint's description
   --------------------------------------------------------------------- */

typedef struct spec {
    char name[32];
    safetensors_dtype dtype;
    size_t ndim;
    uint64_t shape[2];
} spec;

static const spec small_specs[] = {
    {"step", SAFETENSORS_I64, 0, {0, 0}},
    {"embed.bias", SAFETENSORS_BF16, 1, {3, 0}},
    {"mask", SAFETENSORS_BOOL, 1, {5, 0}},
    {"quant.f4", SAFETENSORS_F4, 2, {2, 3}},
    {"empty", SAFETENSORS_F32, 2, {0, 7}},
};
#define SMALL_COUNT (sizeof small_specs / sizeof small_specs[0])

static double now_seconds(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int fail(const char *what, const safetensors_error *err) {
    fprintf(stderr, "test_large: FAIL: %s", what);
    if (err) fprintf(stderr, ": %s (%s)", err->message, safetensors_result_name(err->code));
    fputc('\n', stderr);
    return 1;
}

static int parse_size(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) return 0;
    switch (*end) {
    case 'K': case 'k': v <<= 10; end++; break;
    case 'M': case 'm': v <<= 20; end++; break;
    case 'G': case 'g': v <<= 30; end++; break;
    default: break;
    }
    if (*end != '\0' || v == 0) return 0;
    *out = (uint64_t)v;
    return 1;
}

/* Free bytes on the file system that holds `path`'s directory. */
static int free_space(const char *path, uint64_t *out) {
    char dir[1024];
    const char *slash = strrchr(path, '/');
    struct statvfs sv;
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir) return 0;
    if (slash == NULL) strcpy(dir, ".");
    else if (n == 0) strcpy(dir, "/");
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (statvfs(dir, &sv) != 0) return 0;
    *out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 1;
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

int main(int argc, char **argv) {
    const char *path = "build/test_large.safetensors";
    uint64_t size = 0, avail = 0, per_tensor, rows, data_total = 0, checked_bytes = 0;
    size_t n_big, n_all, k, i;
    int keep = 0, a;
    spec *specs;
    struct rlimit rl;
    safetensors_write_options o;
    safetensors_writer *w = NULL;
    safetensors_error err;
    unsigned char *chunk, *expect;
    double t0, t_write, t_verify;
    safetensors_file *f = NULL;
    int fd;
    uint64_t rng = 0x9a7e5eedu;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--keep") == 0) keep = 1;
        else if (size == 0 && parse_size(argv[a], &size)) continue;
        else if (argv[a][0] != '-') path = argv[a];
        else size = 0, a = argc;
    }
    if (size == 0) {
        fprintf(stderr, "usage: test_large SIZE[K|M|G] [PATH] [--keep]\n");
        return 2;
    }

    /* the layout: SIZE bytes of F32 [rows, 1024] tensors, at least four,
       64 MiB each when SIZE allows, then the small ones */
    n_big = (size_t)(size / (64 * MIB));
    if (n_big < 4) n_big = 4;
    rows = size / n_big / 4096u;
    if (rows == 0) return fail("SIZE is too small", NULL);
    per_tensor = rows * 4096u;
    n_all = n_big + SMALL_COUNT;
    specs = (spec *)calloc(n_all, sizeof *specs);
    if (!specs) return fail("out of memory", NULL);
    for (k = 0; k < n_big; k++) {
        snprintf(specs[k].name, sizeof specs[k].name, "layers.%03zu.weight", k);
        specs[k].dtype = SAFETENSORS_F32;
        specs[k].ndim = 2;
        specs[k].shape[0] = rows;
        specs[k].shape[1] = 1024;
    }
    for (k = 0; k < SMALL_COUNT; k++) specs[n_big + k] = small_specs[k];

    if (!free_space(path, &avail)) {
        perror("test_large: statvfs");
        return 1;
    }
    if (avail < per_tensor * n_big + 256 * MIB) {
        printf("test_large: SKIP: %.1f GiB free next to %s, %.1f GiB needed\n", (double)avail / (1 << 30), path,
               (double)(per_tensor * n_big + 256 * MIB) / (1 << 30));
        free(specs);
        return 0;
    }

    rl.rlim_cur = rl.rlim_max = (rlim_t)AS_LIMIT;
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        perror("test_large: setrlimit(RLIMIT_AS)");
        return 1;
    }
    /* the limit bites: a buffer the size of the data cannot be had */
    {
        void *whole = malloc((size_t)(AS_LIMIT + MIB));
        if (whole != NULL) return fail("the address-space limit does not hold", NULL);
    }

    chunk = (unsigned char *)malloc(CHUNK);
    expect = (unsigned char *)malloc(CHUNK);
    if (!chunk || !expect) return fail("out of memory", NULL);

    /* 1. declare */
    memset(&o, 0, sizeof o);
    o.alignment = ALIGNMENT;
    if (safetensors_writer_create(&o, &w, &err)) return fail("create", &err);
    if (safetensors_writer_add_metadata(w, "format", 6, "pt", 2, &err) ||
        safetensors_writer_add_metadata(w, "generator", 9, "test_large", 10, &err))
        return fail("add_metadata", &err);
    for (k = n_all; k-- > 0;) /* declared in reverse: the writer orders them */
        if (safetensors_writer_add_tensor(w, specs[k].name, strlen(specs[k].name), specs[k].dtype, specs[k].ndim,
                                          specs[k].shape, &err))
            return fail("add_tensor", &err);

    /* 2. stream */
    t0 = now_seconds();
    if (safetensors_writer_begin_file(w, path, &err)) return fail("begin_file", &err);
    if (safetensors_writer_data_start(w) % ALIGNMENT != 0) return fail("the data start is not aligned", NULL);
    for (k = 0; k < safetensors_writer_tensor_count(w); k++) {
        const safetensors_tensor *t = safetensors_writer_tensor_at(w, k);
        uint64_t at = t->begin;
        while (at < t->end) {
            size_t piece = t->end - at < CHUNK ? (size_t)(t->end - at) : CHUNK;
            safetensors_result r;
            generate(chunk, at, piece);
            r = k % 2 ? safetensors_writer_write_tensor(w, k, chunk, piece, &err)
                      : safetensors_writer_write(w, chunk, piece, &err);
            if (r) return fail("write", &err);
            at += piece;
        }
    }
    data_total = safetensors_writer_data_size(w);
    if (safetensors_writer_finish(w, &err)) return fail("finish", &err);
    t_write = now_seconds() - t0;

    /* 3. verify */
    t0 = now_seconds();
    {
        safetensors_options ro;
        uint64_t data_start;
        memset(&ro, 0, sizeof ro);
        ro.flags = SAFETENSORS_HEADER_ONLY;
        if (safetensors_open(path, &ro, &f, &err)) return fail("open (header only)", &err);
        data_start = safetensors_data_start(f);
        if (data_start != safetensors_writer_data_start(w) || data_start % ALIGNMENT != 0)
            return fail("the data start moved or is not aligned", NULL);
        if (safetensors_data_size(f) != data_total) return fail("the data size differs", NULL);
        if (safetensors_tensor_count(f) != n_all) return fail("the tensor count differs", NULL);
        if (safetensors_metadata_count(f) != 2 || !safetensors_metadata_find(f, "generator", 9, NULL))
            return fail("the metadata differs", NULL);
        /* every tensor: dtype, shape, offsets as planned */
        for (k = 0; k < n_all; k++) {
            const safetensors_tensor *t = safetensors_find(f, specs[k].name, strlen(specs[k].name));
            const safetensors_tensor *p = NULL;
            for (i = 0; i < safetensors_writer_tensor_count(w) && !p; i++)
                if (strcmp(safetensors_writer_tensor_at(w, i)->name, specs[k].name) == 0)
                    p = safetensors_writer_tensor_at(w, i);
            if (!t || !p || t->dtype != specs[k].dtype || t->ndim != specs[k].ndim ||
                (t->ndim && memcmp(t->shape, specs[k].shape, t->ndim * sizeof *t->shape) != 0) ||
                t->begin != p->begin || t->end != p->end || t->data != NULL) {
                fprintf(stderr, "tensor %s\n", specs[k].name);
                return fail("a tensor differs from its declaration", NULL);
            }
        }
        fd = open(path, O_RDONLY);
        if (fd < 0) return fail("cannot reopen the file", NULL);
        if ((uint64_t)lseek(fd, 0, SEEK_END) != data_start + data_total) return fail("the file size differs", NULL);
        /* sampled ranges: random ones, and both ends of every tensor */
        for (i = 0; i < SAMPLES + 2 * n_all; i++) {
            uint64_t off, len;
            ssize_t got;
            if (i < SAMPLES) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                off = rng % data_total;
                len = 1 + (rng >> 40) % 65536u;
            } else {
                const safetensors_tensor *t = safetensors_tensor_at(f, (i - SAMPLES) / 2);
                len = t->end - t->begin < 4096u ? t->end - t->begin : 4096u;
                off = (i - SAMPLES) % 2 ? t->end - len : t->begin;
                if (len == 0) continue;
            }
            if (len > data_total - off) len = data_total - off;
            got = pread(fd, chunk, (size_t)len, (off_t)(data_start + off));
            if (got != (ssize_t)len) return fail("pread came up short", NULL);
            generate(expect, off, (size_t)len);
            if (memcmp(chunk, expect, (size_t)len) != 0) {
                fprintf(stderr, "data offset %llu, %llu bytes\n", (unsigned long long)off, (unsigned long long)len);
                return fail("the bytes differ from the generator's", NULL);
            }
            checked_bytes += len;
        }
        close(fd);
    }
    t_verify = now_seconds() - t0;

    /* 4. report */
    {
        long rss = peak_rss_kib();
        printf("test_large: wrote %s: %zu tensors, %.3f GiB of data (%llu bytes), header %llu bytes, "
               "data at %llu (aligned to %u)\n",
               path, n_all, (double)data_total / (1 << 30), (unsigned long long)data_total,
               (unsigned long long)safetensors_writer_header_size(w),
               (unsigned long long)safetensors_writer_data_start(w), ALIGNMENT);
        printf("test_large: write %.1f s (%.0f MiB/s, fsync and rename included), verify %.2f s "
               "(%zu ranges, %.1f MiB read back)\n",
               t_write, (double)data_total / (double)MIB / t_write, t_verify, (size_t)(SAMPLES + 2 * n_all),
               (double)checked_bytes / (double)MIB);
        printf("test_large: address space limited to %llu MiB; peak resident set %.1f MiB\n",
               (unsigned long long)(AS_LIMIT / MIB), (double)rss / 1024.0);
        if (rss >= (long)RSS_LIMIT_KIB) return fail("the peak resident set reached 128 MiB", NULL);
    }
    safetensors_close(f);
    safetensors_writer_destroy(w);
    if (!keep) unlink(path);
    free(chunk);
    free(expect);
    free(specs);
    printf("test_large: PASS\n");
    return 0;
}
