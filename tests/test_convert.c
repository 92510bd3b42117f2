/* test_convert.c - dtype conversion of safetensors.h against ml_dtypes.

   The expected values come from tests/dtype-tables/ (ml_dtypes 0.6.0; see
   the README there), read at run time from the repository root, or are
   derived from those tables and the definition of round-to-nearest-even.
   None is copied from the implementation.

     widen     every code of every format, in one call and in short calls,
               from unaligned sources, with odd counts; F4/F6 at every
               starting element of a tensor view; every range and prefix
               of every format against a PROT_NONE page on either side
               (POSIX), so that reading or writing past the bytes faults
               in any build
     narrow    every probe of every narrow table; every exactly
               representable value (all codes); for F16 and BF16 every
               midpoint between neighbouring codes and the floats beside it
     F64       against the definition (ties to even) and the compiler's own
               double -> float conversion
     FP modes  the table checks again under flush-to-zero, denormals-are-
               zero and round-toward-zero (x86); under FZ, directed
               rounding, AHP and DN (AArch64, where NEON's conversions
               would follow them)
     API       unsupported dtypes, NULL, sizes, the view helper's errors,
               and that nothing is written on failure
*/
/* mmap and mprotect for the guard pages; MAP_ANON is not in POSIX 2008 */
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#if defined(__SSE2__) || defined(_M_X64)
#include <xmmintrin.h> /* _mm_getcsr/_mm_setcsr: the x86 floating-point modes */
#endif

#define TABLE_DIR "tests/dtype-tables/"
#define CANARY 0xa5u
#define MAX_REPORTS 8

/* ---------------------------------------------------------------------
   Formats, as the specifications define them (not as the library does)
   --------------------------------------------------------------------- */

typedef struct format {
    safetensors_dtype dtype;
    const char *name; /* the tables' suffix */
    unsigned bits;
} format;

static const format FORMATS[] = {
    {SAFETENSORS_F8_E4M3, "F8_E4M3", 8},         {SAFETENSORS_F8_E5M2, "F8_E5M2", 8},
    {SAFETENSORS_F8_E4M3FNUZ, "F8_E4M3FNUZ", 8}, {SAFETENSORS_F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {SAFETENSORS_F8_E8M0, "F8_E8M0", 8},         {SAFETENSORS_F16, "F16", 16},
    {SAFETENSORS_BF16, "BF16", 16},              {SAFETENSORS_F4, "F4", 4},
    {SAFETENSORS_F6_E2M3, "F6_E2M3", 6},         {SAFETENSORS_F6_E3M2, "F6_E3M2", 6},
};
#define FORMAT_COUNT (sizeof FORMATS / sizeof FORMATS[0])

static int f32_is_nan(uint32_t bits)
{
    return (bits & 0x7fffffffu) > 0x7f800000u;
}

/* Whether `code` is a NaN of the format; F4 and F6 have none. */
static int code_is_nan(safetensors_dtype d, uint32_t code)
{
    switch (d) {
    case SAFETENSORS_F16: return (code & 0x7c00u) == 0x7c00u && (code & 0x3ffu) != 0;
    case SAFETENSORS_BF16: return (code & 0x7f80u) == 0x7f80u && (code & 0x7fu) != 0;
    case SAFETENSORS_F8_E4M3: return (code & 0x7fu) == 0x7fu;
    case SAFETENSORS_F8_E5M2: return (code & 0x7cu) == 0x7cu && (code & 3u) != 0;
    case SAFETENSORS_F8_E4M3FNUZ: case SAFETENSORS_F8_E5M2FNUZ: return code == 0x80u;
    case SAFETENSORS_F8_E8M0: return code == 0xffu;
    default: return 0;
    }
}

static size_t packed_bytes(unsigned bits, size_t count)
{
    return (count * bits + 7u) / 8u;
}

/* Element i of a packed buffer, by the documented layout: little-endian
   bytes, F4 low nibble first, F6 a little-endian bit stream. */
static uint32_t get_code(const unsigned char *p, unsigned bits, size_t i)
{
    size_t bit = i * bits, k;
    uint32_t v = 0;
    if (bits >= 8) {
        for (k = 0; k < bits / 8; k++) v |= (uint32_t)p[i * (bits / 8) + k] << (8 * k);
        return v;
    }
    for (k = 0; k < bits; k++) v |= (((uint32_t)p[(bit + k) / 8] >> ((bit + k) % 8)) & 1u) << k;
    return v;
}

static void put_code(unsigned char *p, unsigned bits, size_t i, uint32_t code)
{
    size_t bit = i * bits, k;
    if (bits >= 8) {
        for (k = 0; k < bits / 8; k++) p[i * (bits / 8) + k] = (unsigned char)((code >> (8 * k)) & 0xffu);
        return;
    }
    for (k = 0; k < bits; k++) {
        unsigned char m = (unsigned char)(1u << ((bit + k) % 8));
        if ((code >> k) & 1u)
            p[(bit + k) / 8] = (unsigned char)(p[(bit + k) / 8] | m);
        else
            p[(bit + k) / 8] = (unsigned char)(p[(bit + k) / 8] & ~m);
    }
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---------------------------------------------------------------------
   Tables
   --------------------------------------------------------------------- */

typedef struct row {
    uint32_t in, out; /* widen: code, f32 bits. narrow: f32 bits, ml_dtypes code */
} row;

static row *load_table(const char *kind, const char *name, size_t *n)
{
    char path[256], line[128];
    FILE *fp;
    row *rows = NULL;
    size_t cap = 0;
    snprintf(path, sizeof path, TABLE_DIR "%s_%s.tsv", kind, name);
    fp = fopen(path, "r");
    if (fp == NULL) fail_msg("cannot open %s (run the tests from the repository root)", path);
    *n = 0;
    while (fgets(line, sizeof line, fp)) {
        char *end;
        unsigned long a = strtoul(line, &end, 16), b;
        if (end == line || *end != '\t') continue;
        b = strtoul(end + 1, &end, 16);
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            rows = (row *)realloc(rows, cap * sizeof *rows);
            assert_non_null(rows);
        }
        rows[*n].in = (uint32_t)a;
        rows[*n].out = (uint32_t)b;
        (*n)++;
    }
    fclose(fp);
    if (*n == 0) fail_msg("%s is empty", path);
    return rows;
}

/* The widen table as an array indexed by code, checked to hold each code. */
static uint32_t *load_widen(const format *f, size_t *ncodes)
{
    size_t n, i;
    row *rows = load_table("widen", f->name, &n);
    uint32_t *by_code;
    assert_int_equal(n, (size_t)1 << f->bits);
    by_code = (uint32_t *)malloc(n * sizeof *by_code);
    assert_non_null(by_code);
    for (i = 0; i < n; i++) {
        assert_int_equal(rows[i].in, i);
        by_code[i] = rows[i].out;
    }
    free(rows);
    *ncodes = n;
    return by_code;
}

/* ---------------------------------------------------------------------
   Widening
   --------------------------------------------------------------------- */

/* Widens `count` codes packed at src + off (a buffer ending exactly where
   the packed bytes end, so ASan sees any over-read) into an unaligned
   float slot, then compares with the table. Returns the mismatches. */
static size_t widen_and_check(const format *f, const uint32_t *expect, const uint32_t *codes, size_t count,
                              size_t off, size_t dst_off)
{
    size_t bytes = packed_bytes(f->bits, count), i, bad = 0;
    unsigned char *buf = (unsigned char *)malloc(off + bytes + 1);
    float *dst = (float *)malloc((dst_off + count + 1) * sizeof(float));
    unsigned char canary[sizeof(float)];
    assert_non_null(buf);
    assert_non_null(dst);
    memset(buf, 0xff, off + bytes + 1);
    for (i = 0; i < count; i++) put_code(buf + off, f->bits, i, codes[i]);
    memset(canary, CANARY, sizeof canary);
    memcpy(dst + dst_off + count, canary, sizeof canary);
    assert_int_equal(safetensors_convert_to_f32(f->dtype, count ? buf + off : NULL, count, dst + dst_off),
                     SAFETENSORS_OK);
    for (i = 0; i < count; i++) {
        uint32_t got = f2u(dst[dst_off + i]), want = expect[codes[i]];
        if (f32_is_nan(want) ? f32_is_nan(got) : got == want) continue;
        if (bad++ < MAX_REPORTS)
            print_error("%s widen: code %x -> %08x, want %08x (count %zu, src offset %zu)\n", f->name,
                        (unsigned)codes[i], (unsigned)got, (unsigned)want, count, off);
    }
    assert_memory_equal(dst + dst_off + count, canary, sizeof canary);
    free(buf);
    free(dst);
    return bad;
}

static void test_widen_every_code(void **state)
{
    size_t fi;
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t ncodes, count, i, off, bad = 0;
        uint32_t *expect = load_widen(f, &ncodes);
        uint32_t *codes;
        uint64_t seed = 0x9e3779b97f4a7c15u;
        /* Every code in order, then a shuffled copy, then an odd tail. */
        count = 2 * ncodes + 141;
        codes = (uint32_t *)malloc(count * sizeof *codes);
        assert_non_null(codes);
        for (i = 0; i < ncodes; i++) codes[i] = codes[ncodes + i] = (uint32_t)i;
        for (i = ncodes - 1; i > 0; i--) {
            size_t j = (size_t)(xorshift(&seed) % (i + 1));
            uint32_t t = codes[ncodes + i];
            codes[ncodes + i] = codes[ncodes + j];
            codes[ncodes + j] = t;
        }
        for (i = 2 * ncodes; i < count; i++) codes[i] = (uint32_t)(xorshift(&seed) % ncodes);
        for (off = 0; off < 4; off++) bad += widen_and_check(f, expect, codes, count, off, off);
        /* Short calls: every count across the SIMD and block boundaries. */
        for (off = 0; off < 8; off++)
            for (i = 0; i <= 140; i++) bad += widen_and_check(f, expect, codes + ncodes, i, off, (off * 3) % 5);
        if (bad) fail_msg("%s: %zu widening mismatches", f->name, bad);
        free(codes);
        free(expect);
    }
}

/* ---------------------------------------------------------------------
   Narrowing
   --------------------------------------------------------------------- */

typedef struct probe {
    uint32_t in, want; /* f32 bits; expected code */
} probe;

/* Converts the probes in one call (float source at `src_off`, bytes at
   `dst_off`, a canary byte after them) and checks each code: exact, except
   that for a NaN input any NaN code of the format will do. */
static size_t narrow_and_check(const format *f, const probe *p, size_t count, size_t src_off, size_t dst_off,
                               const char *what)
{
    size_t bytes = packed_bytes(f->bits, count), i, bad = 0;
    float *src = (float *)malloc((src_off + count + 1) * sizeof(float));
    unsigned char *dst = (unsigned char *)malloc(dst_off + bytes + 1);
    assert_non_null(src);
    assert_non_null(dst);
    for (i = 0; i < count; i++) src[src_off + i] = u2f(p[i].in);
    memset(dst, 0xff, dst_off + bytes + 1);
    dst[dst_off + bytes] = CANARY;
    assert_int_equal(safetensors_convert_from_f32(f->dtype, count ? src + src_off : NULL, count, dst + dst_off),
                     SAFETENSORS_OK);
    for (i = 0; i < count; i++) {
        uint32_t got = get_code(dst + dst_off, f->bits, i);
        int any_nan = f32_is_nan(p[i].in) && code_is_nan(f->dtype, p[i].want);
        int ok = any_nan ? code_is_nan(f->dtype, got) : got == p[i].want;
        if (ok) continue;
        if (bad++ < MAX_REPORTS)
            print_error("%s narrow (%s): %08x (%.9g) -> %x, want %x\n", f->name, what, (unsigned)p[i].in,
                        (double)u2f(p[i].in), (unsigned)got, (unsigned)p[i].want);
    }
    /* The padding bits after the last element are zero. */
    if (f->bits < 8 && (count * f->bits) % 8 != 0) {
        unsigned used = (unsigned)((count * f->bits) % 8);
        if ((dst[dst_off + bytes - 1] >> used) != 0) {
            bad++;
            print_error("%s narrow: padding bits after %zu elements not zero\n", f->name, count);
        }
    }
    assert_int_equal(dst[dst_off + bytes], CANARY);
    free(src);
    free(dst);
    return bad;
}

static size_t narrow_all_ways(const format *f, const probe *p, size_t count, const char *what)
{
    size_t bad = 0, off, n;
    for (off = 0; off < 4; off++) bad += narrow_and_check(f, p, count, off, (off * 5) % 7, what);
    for (n = 0; n <= 70 && n <= count; n++) bad += narrow_and_check(f, p + (count - n), n, n % 3, n % 5, what);
    return bad;
}

static void test_narrow_table_probes(void **state)
{
    size_t fi;
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t n, i, bad;
        row *rows = load_table("narrow", f->name, &n);
        probe *p = (probe *)malloc(n * sizeof *p);
        assert_non_null(p);
        for (i = 0; i < n; i++) {
            p[i].in = rows[i].in;
            p[i].want = rows[i].out;
        }
        bad = narrow_all_ways(f, p, n, "table probe");
        if (bad) fail_msg("%s: %zu narrowing mismatches against narrow_%s.tsv", f->name, bad, f->name);
        free(p);
        free(rows);
    }
}

/* Every value a format can hold narrows back to its own code. The table
   lists each code's value, so this needs nothing else. */
static void test_narrow_exact_values(void **state)
{
    size_t fi;
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t ncodes, c, n = 0, bad;
        uint32_t *value = load_widen(f, &ncodes);
        probe *p = (probe *)malloc(ncodes * sizeof *p);
        assert_non_null(p);
        for (c = 0; c < ncodes; c++) {
            if (f32_is_nan(value[c])) continue;
            /* ml_dtypes narrows 2^-127, a float32 subnormal, to E8M0 code 1:
               the narrow table's probes 00600000 -> 1 and 0047bb22 -> 1 show
               the rule. It is the one code that does not come back. */
            if (f->dtype == SAFETENSORS_F8_E8M0 && c == 0) continue;
            p[n].in = value[c];
            p[n].want = (uint32_t)c;
            n++;
        }
        bad = narrow_all_ways(f, p, n, "exact value");
        if (bad) fail_msg("%s: %zu exact values did not narrow to their own code", f->name, bad);
        free(p);
        free(value);
    }
}

/* F16 and BF16: between each pair of neighbouring codes c, c + 1 of the
   same sign (the largest finite and Inf included), the midpoint goes to the
   even code and the floats one ulp below and above it go to c and c + 1.
   This is the full set of structured probes of the original 5 MB tables,
   rebuilt from the widen tables. */
static void test_narrow_every_midpoint(void **state)
{
    size_t fi;
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t ncodes, n = 0, bad;
        uint32_t c, sign, inf;
        uint32_t *value;
        probe *p;
        if (f->dtype != SAFETENSORS_F16 && f->dtype != SAFETENSORS_BF16) continue;
        inf = f->dtype == SAFETENSORS_F16 ? 0x7c00u : 0x7f80u;
        value = load_widen(f, &ncodes);
        p = (probe *)malloc(6 * (size_t)inf * sizeof *p);
        assert_non_null(p);
        for (sign = 0; sign <= 0x8000u; sign += 0x8000u) {
            for (c = 0; c < inf; c++) {
                double lo = (double)u2f(value[c | sign]), hi = (double)u2f(value[(c + 1) | sign]);
                if (c + 1 == inf) /* Inf's neighbour: where the next code would be, one ulp up */
                    hi = lo + (lo - (double)u2f(value[(c - 1) | sign]));
                uint32_t mid = f2u((float)((lo + hi) / 2)); /* exact: one bit more than the format */
                assert_true((double)u2f(mid) == (lo + hi) / 2);
                p[n].in = mid;
                p[n++].want = ((c & 1u) ? c + 1 : c) | sign;
                p[n].in = mid - 1u;
                p[n++].want = c | sign;
                p[n].in = mid + 1u;
                p[n++].want = (c + 1) | sign;
            }
        }
        bad = narrow_and_check(f, p, n, 1, 1, "midpoint");
        if (bad) fail_msg("%s: %zu midpoint mismatches", f->name, bad);
        free(p);
        free(value);
    }
}

/* NaN inputs of every shape of payload, not only the table's: the quiet
   bit clear, the payload only in the low bits that narrowing drops. Where
   the format has NaN codes, any of them will do; F4 and F6 have none, and
   must do what the table shows ml_dtypes doing with its NaN probes of the
   same sign. */
static void test_narrow_nan_payloads(void **state)
{
    static const uint32_t payloads[] = {0x000001u, 0x000fffu, 0x001000u, 0x00ffffu, 0x010000u,
                                        0x200000u, 0x3fffffu, 0x400000u, 0x400001u, 0x7fffffu};
    size_t fi;
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t n, i, k, np = 0, bad;
        row *rows = load_table("narrow", f->name, &n);
        probe p[2 * sizeof payloads / sizeof payloads[0]];
        for (k = 0; k < 2; k++) {
            uint32_t sign = k ? 0x80000000u : 0, want = 0;
            int seen = 0;
            for (i = 0; i < n; i++) {
                if (!f32_is_nan(rows[i].in) || (rows[i].in & 0x80000000u) != sign) continue;
                if (seen && rows[i].out != want && !code_is_nan(f->dtype, want))
                    fail_msg("%s: the table's NaN probes disagree", f->name);
                want = rows[i].out;
                seen = 1;
            }
            assert_true(seen);
            for (i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
                p[np].in = sign | 0x7f800000u | payloads[i];
                p[np++].want = want;
            }
        }
        bad = narrow_all_ways(f, p, np, "NaN payload");
        if (bad) fail_msg("%s: %zu NaN inputs went wrong", f->name, bad);
        free(rows);
    }
}

/* Only where test_fp_environment can set the floating-point modes: */
#if defined(__SSE2__) || defined(_M_X64) || (defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__)))

/* Every widening and every narrow table probe again, in whatever
   floating-point environment the caller has set up. */
static size_t check_tables_again(const char *what)
{
    size_t fi, bad = 0;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t n, ncodes, i;
        uint32_t *expect = load_widen(f, &ncodes), *codes = (uint32_t *)malloc(ncodes * sizeof *codes);
        row *rows = load_table("narrow", f->name, &n);
        probe *p = (probe *)malloc(n * sizeof *p);
        assert_non_null(codes);
        assert_non_null(p);
        for (i = 0; i < ncodes; i++) codes[i] = (uint32_t)i;
        bad += widen_and_check(f, expect, codes, ncodes, 1, 1);
        for (i = 0; i < n; i++) {
            p[i].in = rows[i].in;
            p[i].want = rows[i].out;
        }
        bad += narrow_and_check(f, p, n, 1, 1, what);
        free(p);
        free(rows);
        free(codes);
        free(expect);
    }
    return bad;
}
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
static uint64_t get_fpcr(void)
{
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}

static void set_fpcr(uint64_t v)
{
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}
#endif

/* The library promises results independent of the floating-point
   environment. On x86, switch on the MXCSR modes below, on AArch64 the FPCR
   modes below, and run the table checks again. (The F64 tests are left
   out: their oracle is the compiler's own conversion.) On x86 the SSE2
   narrowings run while rounding is to nearest, whatever FTZ and DAZ say,
   and step aside otherwise, so both kinds of mode are here. */
static void test_fp_environment(void **state)
{
#if defined(__SSE2__) || defined(_M_X64)
    static const struct {
        unsigned bits;
        const char *what;
    } modes[] = {
        {0x8040u, "FTZ/DAZ"},
        {0x8000u, "FTZ"},
        {0x0040u, "DAZ"},
        {0x8040u | 0x6000u, "FTZ/DAZ/toward zero"},
        {0x4000u, "toward plus infinity"},
        {0x2000u, "toward minus infinity"},
    };
    unsigned saved = _mm_getcsr();
    size_t m, bad = 0;
    (void)state;
    for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        size_t b;
        _mm_setcsr((saved & ~0xe040u) | modes[m].bits);
        b = check_tables_again(modes[m].what);
        _mm_setcsr(saved);
        if (b) print_error("%zu mismatches with MXCSR %s\n", b, modes[m].what);
        bad += b;
    }
    if (bad) fail_msg("%zu mismatches under non-default MXCSR modes", bad);
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    /* The FPCR fields that NEON's own conversions follow: flush-to-zero
       (bit 24) with rounding toward zero (RMode 3, bits 22-23), the
       alternative half-precision format (AHP, 26) and default NaN (DN, 25),
       each of which would change a result if the library used those
       conversions regardless. */
    static const struct {
        uint64_t bits;
        const char *what;
    } modes[] = {
        {UINT64_C(1) << 24 | UINT64_C(3) << 22, "FZ/toward zero"},
        {UINT64_C(1) << 22, "toward plus infinity"},
        {UINT64_C(1) << 26, "AHP"},
        {UINT64_C(1) << 25, "DN"},
        {UINT64_C(1) << 24, "FZ"},
    };
    uint64_t saved = get_fpcr();
    size_t m, bad = 0;
    (void)state;
    for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        size_t b;
        set_fpcr((saved & ~(UINT64_C(0xf) << 22)) | modes[m].bits);
        b = check_tables_again(modes[m].what);
        set_fpcr(saved);
        if (b) print_error("%zu mismatches with FPCR %s\n", b, modes[m].what);
        bad += b;
    }
    if (bad) fail_msg("%zu mismatches under non-default FPCR modes", bad);
#else
    (void)state;
    skip();
#endif
}

/* ---------------------------------------------------------------------
   F32 and F64
   --------------------------------------------------------------------- */

static void put_u32le(unsigned char *p, uint32_t v)
{
    size_t k;
    for (k = 0; k < 4; k++) p[k] = (unsigned char)((v >> (8 * k)) & 0xffu);
}

static void put_u64le(unsigned char *p, uint64_t v)
{
    size_t k;
    for (k = 0; k < 8; k++) p[k] = (unsigned char)((v >> (8 * k)) & 0xffu);
}

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    size_t k;
    for (k = 0; k < 8; k++) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* A double and the float it must narrow to (NaN: any NaN). */
typedef struct d_probe {
    uint64_t in;
    uint32_t want;
} d_probe;

static size_t d_add(d_probe *p, size_t n, double d, uint32_t want)
{
    p[n].in = d2u(d);
    p[n].want = want;
    return n + 1;
}

static void test_f64_to_f32(void **state)
{
    enum { N = 200000 };
    d_probe *p = (d_probe *)malloc(N * sizeof *p);
    size_t n = 0, i, fi, off, bad = 0;
    uint64_t seed = 12345;
    unsigned char *src;
    float *dst;
    (void)state;
    assert_non_null(p);
    /* Every value of every table format is a float, so exact as a double. */
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        size_t ncodes, c;
        uint32_t *value = load_widen(&FORMATS[fi], &ncodes);
        for (c = 0; c < ncodes; c += FORMATS[fi].bits == 16 ? 3 : 1)
            n = d_add(p, n, (double)u2f(value[c]), value[c]);
        free(value);
    }
    /* Between neighbouring floats a and b (random, of every magnitude):
       the midpoint goes to the one whose bits are even, a double ulp either
       side to the nearer. Includes float32 subnormals and FLT_MAX -> Inf. */
    while (n + 3 < N - 1000) {
        uint32_t a = (uint32_t)xorshift(&seed) & 0x7f7fffffu, b = a + 1;
        double da = (double)u2f(a), db = b == 0x7f800000u ? 0x1p128 : (double)u2f(b);
        double mid = da + (db - da) / 2;
        uint32_t even = (a & 1u) ? b : a;
        uint64_t m = d2u(mid);
        n = d_add(p, n, mid, even);
        n = d_add(p, n, u2d(m - 1), a);
        n = d_add(p, n, u2d(m + 1), b);
        if ((xorshift(&seed) & 7u) == 0) { /* and mirrored */
            n = d_add(p, n, -mid, even | 0x80000000u);
        }
    }
    /* Specials, and doubles far outside float's range. */
    n = d_add(p, n, 0.0, 0);
    n = d_add(p, n, -0.0, 0x80000000u);
    n = d_add(p, n, u2d(UINT64_C(0x7ff0000000000000)), 0x7f800000u);
    n = d_add(p, n, u2d(UINT64_C(0xfff0000000000000)), 0xff800000u);
    n = d_add(p, n, u2d(UINT64_C(0x7ff8000000000000)), 0x7fc00000u);
    n = d_add(p, n, u2d(UINT64_C(0xfff0000000000001)), 0x7fc00000u);
    n = d_add(p, n, u2d(UINT64_C(0x7fefffffffffffff)), 0x7f800000u);  /* DBL_MAX */
    n = d_add(p, n, u2d(UINT64_C(0x0000000000000001)), 0);            /* smallest double */
    n = d_add(p, n, u2d(UINT64_C(0x8010000000000000)), 0x80000000u);  /* -DBL_MIN */
    n = d_add(p, n, 1e-46, 0);                                        /* below half of 2^-149 */
    n = d_add(p, n, 1e-45, 1);                                        /* nearer 2^-149 than 0 */
    /* Random bit patterns, against the compiler's conversion (IEEE
       nearest-even in the default environment these tests run in). */
    while (n < N) {
        uint64_t bits = xorshift(&seed);
        if ((bits & 3u) == 0) /* exponents from 2^-127 to 2^128: float's edges */
            bits = (bits & UINT64_C(0x800fffffffffffff)) | (UINT64_C(0x380) + (bits >> 20) % 0x100) << 52;
        n = d_add(p, n, u2d(bits), f2u((float)u2d(bits)));
    }
    src = (unsigned char *)malloc(N * 8 + 8);
    dst = (float *)malloc((N + 2) * sizeof(float));
    assert_non_null(src);
    assert_non_null(dst);
    for (off = 0; off < 8; off += 3) {
        for (i = 0; i < N; i++) put_u64le(src + off + 8 * i, p[i].in);
        assert_int_equal(safetensors_convert_to_f32(SAFETENSORS_F64, src + off, N, dst + 1), SAFETENSORS_OK);
        for (i = 0; i < N; i++) {
            uint32_t got = f2u(dst[1 + i]);
            if (f32_is_nan(p[i].want) ? f32_is_nan(got) : got == p[i].want) continue;
            if (bad++ < MAX_REPORTS)
                print_error("F64 %016llx (%.17g) -> %08x, want %08x\n", (unsigned long long)p[i].in, u2d(p[i].in),
                            (unsigned)got, (unsigned)p[i].want);
        }
    }
    if (bad) fail_msg("%zu F64 -> F32 mismatches", bad);
    free(src);
    free(dst);
    free(p);
}

/* F32 -> F64 is exact: the double of every float, Inf, NaN and subnormals
   included (the compiler's float -> double is exact too). */
static void test_f32_to_f64(void **state)
{
    enum { N = 70000 };
    float *src = (float *)malloc((N + 1) * sizeof(float));
    unsigned char *dst = (unsigned char *)malloc(N * 8 + 3);
    uint64_t seed = 777;
    size_t i, bad = 0;
    (void)state;
    assert_non_null(src);
    assert_non_null(dst);
    for (i = 0; i < N; i++) {
        uint32_t bits = (uint32_t)xorshift(&seed);
        if (i < 0x10000u) bits = (uint32_t)i << 16 | (uint32_t)(i * 2654435761u >> 16); /* every exponent */
        if (i < 64) bits = (uint32_t)i | (i & 1u ? 0x80000000u : 0); /* subnormals, signed zeros */
        src[1 + i] = u2f(bits);
    }
    assert_int_equal(safetensors_convert_from_f32(SAFETENSORS_F64, src + 1, N, dst + 3), SAFETENSORS_OK);
    for (i = 0; i < N; i++) {
        uint32_t bits = f2u(src[1 + i]);
        uint64_t got = get_u64le(dst + 3 + 8 * i);
        int ok = f32_is_nan(bits) ? (got & UINT64_C(0x7fffffffffffffff)) > UINT64_C(0x7ff0000000000000)
                                  : got == d2u((double)src[1 + i]);
        if (!ok && bad++ < MAX_REPORTS)
            print_error("F32 %08x -> F64 %016llx\n", (unsigned)bits, (unsigned long long)got);
    }
    if (bad) fail_msg("%zu F32 -> F64 mismatches", bad);
    free(src);
    free(dst);
}

/* F32 both ways is a copy into and out of little-endian bytes, bit for bit
   (signalling NaN payloads included), at any byte offset. */
static void test_f32_copy(void **state)
{
    enum { N = 1000 };
    float src[N + 1], back[N + 1];
    unsigned char bytes[N * 4 + 8], want[N * 4];
    uint64_t seed = 99;
    size_t i, off;
    (void)state;
    for (i = 0; i < N; i++) {
        uint32_t bits = (uint32_t)xorshift(&seed);
        if (i == 0) bits = 0x7f800001u; /* a signalling NaN */
        memcpy(&src[1 + i], &bits, sizeof bits); /* not through a float return: x87 would quiet the NaN */
        put_u32le(want + 4 * i, bits);
    }
    for (off = 0; off < 4; off++) {
        assert_int_equal(safetensors_convert_from_f32(SAFETENSORS_F32, src + 1, N, bytes + off), SAFETENSORS_OK);
        assert_memory_equal(bytes + off, want, sizeof want);
        assert_int_equal(safetensors_convert_to_f32(SAFETENSORS_F32, bytes + off, N, back + 1), SAFETENSORS_OK);
        assert_memory_equal(back + 1, src + 1, N * sizeof(float));
    }
}

/* ---------------------------------------------------------------------
   API contract
   --------------------------------------------------------------------- */

static int spec_supported(safetensors_dtype d)
{
    switch (d) {
    case SAFETENSORS_F8_E5M2: case SAFETENSORS_F8_E4M3: case SAFETENSORS_F8_E8M0: case SAFETENSORS_F8_E4M3FNUZ:
    case SAFETENSORS_F8_E5M2FNUZ: case SAFETENSORS_F16: case SAFETENSORS_BF16: case SAFETENSORS_F32:
    case SAFETENSORS_F64: case SAFETENSORS_F4: case SAFETENSORS_F6_E2M3: case SAFETENSORS_F6_E3M2:
        return 1;
    default:
        return 0;
    }
}

static void test_dtype_and_argument_errors(void **state)
{
    unsigned char bytes[64];
    float floats[16];
    int d;
    (void)state;
    for (d = -1; d <= (int)SAFETENSORS_DTYPE_COUNT + 1; d++) {
        safetensors_dtype dt = (safetensors_dtype)d;
        int yes = d >= 0 && d < (int)SAFETENSORS_DTYPE_COUNT && spec_supported(dt);
        assert_int_equal(safetensors_convert_supported(dt), yes);
        memset(bytes, CANARY, sizeof bytes);
        memset(floats, CANARY, sizeof floats);
        if (!yes) {
            unsigned char want[64];
            assert_int_equal(safetensors_convert_to_f32(dt, bytes, 4, floats), SAFETENSORS_ERR_DTYPE);
            assert_int_equal(safetensors_convert_from_f32(dt, floats, 4, bytes), SAFETENSORS_ERR_DTYPE);
            assert_int_equal(safetensors_convert_to_f32(dt, NULL, 0, NULL), SAFETENSORS_ERR_DTYPE);
            memset(want, CANARY, sizeof want);
            assert_memory_equal(bytes, want, sizeof want);
            assert_memory_equal(floats, want, sizeof floats);
            continue;
        }
        assert_int_equal(safetensors_convert_to_f32(dt, NULL, 0, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_convert_from_f32(dt, NULL, 0, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_convert_to_f32(dt, bytes, 0, floats), SAFETENSORS_OK);
        assert_int_equal(safetensors_convert_to_f32(dt, NULL, 1, floats), SAFETENSORS_ERR_ARGUMENT);
        assert_int_equal(safetensors_convert_to_f32(dt, bytes, 1, NULL), SAFETENSORS_ERR_ARGUMENT);
        assert_int_equal(safetensors_convert_from_f32(dt, NULL, 1, bytes), SAFETENSORS_ERR_ARGUMENT);
        assert_int_equal(safetensors_convert_from_f32(dt, floats, 1, NULL), SAFETENSORS_ERR_ARGUMENT);
        /* No buffer can hold this many; refused before touching memory. */
        assert_int_equal(safetensors_convert_to_f32(dt, bytes, SIZE_MAX / 2, floats), SAFETENSORS_ERR_SIZE);
        assert_int_equal(safetensors_convert_from_f32(dt, floats, SIZE_MAX / 2, bytes), SAFETENSORS_ERR_SIZE);
        assert_int_equal(f2u(floats[0]), 0xa5a5a5a5u);
        assert_int_equal(bytes[0], CANARY);
    }
}

/* ---------------------------------------------------------------------
   Tensor views
   --------------------------------------------------------------------- */

static safetensors_tensor make_view(safetensors_dtype d, const uint64_t *shape, size_t ndim, const void *data,
                                    uint64_t bytes)
{
    safetensors_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "t";
    t.name_len = 1;
    t.dtype = d;
    t.ndim = ndim;
    t.shape = shape;
    t.begin = 1000;
    t.end = 1000 + bytes;
    t.data = data;
    return t;
}

static const format *format_of(safetensors_dtype d)
{
    size_t fi;
    for (fi = 0; fi < FORMAT_COUNT; fi++)
        if (FORMATS[fi].dtype == d) return &FORMATS[fi];
    fail_msg("no format for dtype %d", (int)d);
    return NULL;
}

/* Fills `data` (the packed bytes of a tensor of `shape`) with random codes,
   then widens every range [first, first + count) of it through a view,
   against the table. */
static void check_every_range(const format *f, const uint32_t *value, size_t ncodes, const uint64_t shape[2],
                              unsigned char *data, uint64_t *seed)
{
    size_t n = (size_t)(shape[0] * shape[1]), bytes = packed_bytes(f->bits, n), first, count, i;
    uint32_t codes[64];
    float out[66];
    safetensors_tensor t;
    assert_true(n <= 64);
    memset(data, 0, bytes);
    for (i = 0; i < n; i++) {
        codes[i] = (uint32_t)(xorshift(seed) % ncodes);
        put_code(data, f->bits, i, codes[i]);
    }
    t = make_view(f->dtype, shape, 2, data, bytes);
    for (first = 0; first <= n; first++) {
        for (count = 0; first + count <= n; count++) {
            memset(out, CANARY, sizeof out);
            assert_int_equal(safetensors_tensor_range_to_f32(&t, first, count, out + 1, count), SAFETENSORS_OK);
            for (i = 0; i < count; i++) {
                uint32_t got = f2u(out[1 + i]), want = value[codes[first + i]];
                if (f32_is_nan(want) ? !f32_is_nan(got) : got != want)
                    fail_msg("%s view [%zu, +%zu) element %zu: %08x, want %08x", f->name, first, count, i,
                             (unsigned)got, (unsigned)want);
            }
            assert_int_equal(f2u(out[0]), 0xa5a5a5a5u);
            assert_int_equal(f2u(out[1 + count]), 0xa5a5a5a5u);
        }
    }
    memset(out, 0, sizeof out);
    assert_int_equal(safetensors_tensor_to_f32(&t, out, n), SAFETENSORS_OK);
    for (i = 0; i < n; i++)
        if (!f32_is_nan(value[codes[i]])) assert_int_equal(f2u(out[i]), value[codes[i]]);
}

static const uint64_t k_range_shapes[][2] = {{3, 7}, {2, 6}, {1, 13}, {5, 1}};

/* Every range [first, first + count) of a tensor of each packed and byte
   format, against the table. The data buffer is exactly the tensor's size. */
static void test_view_every_range(void **state)
{
    static const safetensors_dtype kinds[] = {SAFETENSORS_F4,      SAFETENSORS_F6_E2M3, SAFETENSORS_F6_E3M2,
                                              SAFETENSORS_F8_E4M3, SAFETENSORS_F16,     SAFETENSORS_BF16};
    size_t ki, si;
    (void)state;
    for (ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        const format *f = format_of(kinds[ki]);
        size_t ncodes;
        uint32_t *value = load_widen(f, &ncodes);
        uint64_t seed = 4242;
        for (si = 0; si < sizeof k_range_shapes / sizeof k_range_shapes[0]; si++) {
            unsigned char *data = (unsigned char *)malloc(packed_bytes(f->bits, (size_t)(k_range_shapes[si][0] *
                                                                                         k_range_shapes[si][1])));
            assert_non_null(data);
            check_every_range(f, value, ncodes, k_range_shapes[si], data, &seed);
            free(data);
        }
        free(value);
    }
}

#if defined(__unix__) || defined(__APPLE__)
/* Three pages, the first and last PROT_NONE: a tensor placed against
   either guard makes any read or write past its bytes, after or before,
   fault in every build, not only under ASan. */
static unsigned char *guarded_page(size_t *page)
{
    long size = sysconf(_SC_PAGESIZE);
    void *p;
    assert_true(size > 0);
    *page = (size_t)size;
    p = mmap(NULL, 3 * *page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    assert_true(p != MAP_FAILED);
    assert_int_equal(mprotect(p, *page, PROT_NONE), 0);
    assert_int_equal(mprotect((unsigned char *)p + 2 * *page, *page, PROT_NONE), 0);
    return (unsigned char *)p + *page;
}

/* Narrows n floats at both edges of the guarded page: the same bytes as in
   an ordinary buffer, and nothing written past them either way. */
static void narrow_at_edges(const format *f, const float *src, size_t n, unsigned char *page, size_t page_size)
{
    size_t count;
    unsigned char want[64];
    for (count = 0; count <= n; count++) {
        size_t bytes = packed_bytes(f->bits, count);
        unsigned char *at_end = page + page_size - bytes;
        assert_int_equal(safetensors_convert_from_f32(f->dtype, src, count, want), SAFETENSORS_OK);
        assert_int_equal(safetensors_convert_from_f32(f->dtype, src, count, at_end), SAFETENSORS_OK);
        assert_memory_equal(at_end, want, bytes);
        assert_int_equal(safetensors_convert_from_f32(f->dtype, src, count, page), SAFETENSORS_OK);
        assert_memory_equal(page, want, bytes);
    }
}

/* The every-range test with the tensor's bytes ending at a guard page, then
   starting at one; and each prefix widened by safetensors_convert_to_f32
   ending at the guard. Every format the tables cover. */
static void test_view_every_range_guarded(void **state)
{
    size_t fi, si, page_size;
    unsigned char *page = guarded_page(&page_size);
    (void)state;
    for (fi = 0; fi < FORMAT_COUNT; fi++) {
        const format *f = &FORMATS[fi];
        size_t ncodes;
        uint32_t *value = load_widen(f, &ncodes);
        uint64_t seed = 4242;
        for (si = 0; si < sizeof k_range_shapes / sizeof k_range_shapes[0]; si++) {
            size_t n = (size_t)(k_range_shapes[si][0] * k_range_shapes[si][1]), bytes = packed_bytes(f->bits, n);
            size_t count, i;
            unsigned char whole[64];
            float out[64];
            check_every_range(f, value, ncodes, k_range_shapes[si], page + page_size - bytes, &seed);
            check_every_range(f, value, ncodes, k_range_shapes[si], page, &seed);
            memcpy(whole, page, bytes);
            for (count = 0; count <= n; count++) {
                size_t prefix = packed_bytes(f->bits, count);
                unsigned char *src = page + page_size - prefix;
                memmove(src, whole, prefix);
                assert_int_equal(safetensors_convert_to_f32(f->dtype, src, count, out), SAFETENSORS_OK);
                for (i = 0; i < count; i++) {
                    uint32_t want = value[get_code(whole, f->bits, i)];
                    if (f32_is_nan(want) ? !f32_is_nan(f2u(out[i])) : f2u(out[i]) != want)
                        fail_msg("%s: %zu elements ending at a guard page: element %zu is %08x, want %08x", f->name,
                                 count, i, (unsigned)f2u(out[i]), (unsigned)want);
                }
            }
            narrow_at_edges(f, out, n, page, page_size);
        }
        free(value);
    }
    assert_int_equal(munmap(page - page_size, 3 * page_size), 0);
}
#else
static void test_view_every_range_guarded(void **state)
{
    (void)state;
    print_message("guard pages need mmap and mprotect: skipped on this platform\n");
    skip();
}
#endif

static void test_view_errors(void **state)
{
    uint64_t shape[2] = {3, 5};
    unsigned char data[30];
    float out[16], want[16];
    safetensors_tensor t;
    size_t i;
    (void)state;
    for (i = 0; i < 15; i++) put_code(data, 16, i, 0x3c00u + (uint32_t)i); /* F16 1.0, 1.0009765625, ... */
    memset(want, CANARY, sizeof want);
#define RESET() memcpy(out, want, sizeof out)
#define UNTOUCHED() assert_memory_equal(out, want, sizeof out)

    t = make_view(SAFETENSORS_F16, shape, 2, data, 30);
    RESET();
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 15), SAFETENSORS_OK);
    assert_true(out[0] == 1.0f && out[14] == 1.0f + 14.0f / 1024.0f);
    assert_int_equal(f2u(out[15]), 0xa5a5a5a5u);

    RESET(); /* too small a buffer */
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 14), SAFETENSORS_ERR_SIZE);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 2, 5, out, 4), SAFETENSORS_ERR_SIZE);
    UNTOUCHED();

    /* ranges outside the tensor */
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 10, 6, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 16, 0, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, UINT64_MAX, 1, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 1, SIZE_MAX, out, SIZE_MAX), SAFETENSORS_ERR_ARGUMENT);
    UNTOUCHED();
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 15, 0, NULL, 0), SAFETENSORS_OK);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 14, 1, out, 1), SAFETENSORS_OK);
    assert_true(out[0] == 1.0f + 14.0f / 1024.0f);
    RESET();

    /* NULLs */
    assert_int_equal(safetensors_tensor_to_f32(NULL, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_range_to_f32(NULL, 0, 1, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_to_f32(&t, NULL, 16), SAFETENSORS_ERR_ARGUMENT);
    t.data = NULL; /* a header-only view */
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 0, 0, out, 16), SAFETENSORS_ERR_ARGUMENT);
    UNTOUCHED();

    /* dtypes that do not widen */
    t = make_view(SAFETENSORS_I16, shape, 2, data, 30);
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_DTYPE);
    t = make_view(SAFETENSORS_C64, shape, 1, data, 24);
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_DTYPE);
    t = make_view(SAFETENSORS_U8, shape, 2, data, 15);
    assert_int_equal(safetensors_tensor_range_to_f32(&t, 0, 1, out, 16), SAFETENSORS_ERR_DTYPE);
    UNTOUCHED();

    /* hand-made views that lie about their size */
    t = make_view(SAFETENSORS_F16, shape, 2, data, 28);
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_SIZE);
    t = make_view(SAFETENSORS_F16, shape, 2, data, 30);
    t.end = t.begin - 1;
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_SIZE);
    {
        uint64_t huge[3] = {UINT64_C(1) << 32, UINT64_C(1) << 32, 2};
        t = make_view(SAFETENSORS_F16, huge, 3, data, 30);
        assert_int_equal(safetensors_tensor_to_f32(&t, out, 16), SAFETENSORS_ERR_OVERFLOW);
    }
    UNTOUCHED();

    /* a scalar is one element; a zero-sized tensor has none */
    t = make_view(SAFETENSORS_BF16, NULL, 0, data + 1, 2); /* unaligned on purpose */
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 1), SAFETENSORS_OK);
    assert_int_equal(f2u(out[0]), (uint32_t)data[1] << 16 | (uint32_t)data[2] << 24);
    assert_int_equal(safetensors_tensor_to_f32(&t, out, 0), SAFETENSORS_ERR_SIZE);
    {
        uint64_t empty[2] = {4, 0};
        t = make_view(SAFETENSORS_F4, empty, 2, data, 0);
        assert_int_equal(safetensors_tensor_to_f32(&t, NULL, 0), SAFETENSORS_OK);
    }
    /* F64 through the view */
    {
        uint64_t three = 3;
        unsigned char d64[24];
        put_u64le(d64, d2u(1.5));
        put_u64le(d64 + 8, d2u(-1e300));
        put_u64le(d64 + 16, d2u(0.1));
        t = make_view(SAFETENSORS_F64, &three, 1, d64, 24);
        assert_int_equal(safetensors_tensor_range_to_f32(&t, 1, 2, out, 2), SAFETENSORS_OK);
        assert_int_equal(f2u(out[0]), 0xff800000u);
        assert_int_equal(f2u(out[1]), 0x3dcccccdu); /* 0.1f */
    }
#undef RESET
#undef UNTOUCHED
}

/* ---------------------------------------------------------------------
   Between two dtypes: safetensors_convert
   --------------------------------------------------------------------- */

/* BF16 <-> F16 over all 65536 codes of each, against the detour through
   F32 (exact: F32 holds every BF16 and F16 value), which in the native
   build runs on F16C; and a few values worked out by hand. */
static void test_bf16_f16_every_code(void **state)
{
    static unsigned char src[2 * 65536], direct[2 * 65536], detour[2 * 65536];
    static float wide[65536];
    static const uint16_t by_hand[][2] = {
        {0x3f80, 0x3c00}, /* 1 */
        {0x477f, 0x7bf8}, /* 65280 = 1.9921875 x 2^15, exact in F16 */
        {0x4780, 0x7c00}, /* 65536 overflows to Inf */
        {0xc780, 0xfc00},
        {0x3380, 0x0001}, /* 2^-24, the smallest F16 subnormal */
        {0x3300, 0x0000}, /* 2^-25, a tie, to even: zero */
        {0x3340, 0x0001}, /* 1.5 x 2^-25 rounds up */
        {0x7fc1, 0x7e08}, /* a NaN keeps its top payload bits */
    };
    size_t i;
    (void)state;
    for (i = 0; i < 65536; i++) {
        src[2 * i] = (unsigned char)(i & 0xff);
        src[2 * i + 1] = (unsigned char)(i >> 8);
    }
    assert_int_equal(safetensors_convert(SAFETENSORS_BF16, src, 65536, SAFETENSORS_F16, direct), SAFETENSORS_OK);
    assert_int_equal(safetensors_convert_to_f32(SAFETENSORS_BF16, src, 65536, wide), SAFETENSORS_OK);
    assert_int_equal(safetensors_convert_from_f32(SAFETENSORS_F16, wide, 65536, detour), SAFETENSORS_OK);
    assert_memory_equal(direct, detour, sizeof direct);
    for (i = 0; i < sizeof by_hand / sizeof by_hand[0]; i++) {
        size_t at = 2 * (size_t)by_hand[i][0];
        assert_int_equal(direct[at] | direct[at + 1] << 8, by_hand[i][1]);
    }

    assert_int_equal(safetensors_convert(SAFETENSORS_F16, src, 65536, SAFETENSORS_BF16, direct), SAFETENSORS_OK);
    assert_int_equal(safetensors_convert_to_f32(SAFETENSORS_F16, src, 65536, wide), SAFETENSORS_OK);
    assert_int_equal(safetensors_convert_from_f32(SAFETENSORS_BF16, wide, 65536, detour), SAFETENSORS_OK);
    assert_memory_equal(direct, detour, sizeof direct);
    /* 1 + 2^-10 rounds down to 1; 1 + 2^-8 is a tie and goes to even (1);
       1 + 3 x 2^-8 is a tie and goes to even (1 + 2^-6); 65504 = 0x7bff
       needs 11 bits: 65536 */
    assert_int_equal(direct[2 * 0x3c01] | direct[2 * 0x3c01 + 1] << 8, 0x3f80);
    assert_int_equal(direct[2 * 0x3c04] | direct[2 * 0x3c04 + 1] << 8, 0x3f80);
    assert_int_equal(direct[2 * 0x3c0c] | direct[2 * 0x3c0c + 1] << 8, 0x3f82);
    assert_int_equal(direct[2 * 0x7bff] | direct[2 * 0x7bff + 1] << 8, 0x4780);
}

/* Every pair of supported dtypes over random codes, a count that leaves a
   partial block: the same bytes as widening and narrowing by hand. */
static void test_convert_every_pair(void **state)
{
    enum { N = 1001 };
    static unsigned char src[8 * N], got[8 * N + 1], want[8 * N + 1];
    static float wide[N];
    uint64_t rng = 0x1234567u;
    unsigned from, to;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof src; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        src[i] = (unsigned char)rng;
    }
    for (from = 0; from < SAFETENSORS_DTYPE_COUNT; from++) {
        for (to = 0; to < SAFETENSORS_DTYPE_COUNT; to++) {
            size_t n = N - (safetensors_dtype_bits((safetensors_dtype)from) % 8 ? 1 : 0), bytes;
            if (!safetensors_convert_supported((safetensors_dtype)from) ||
                !safetensors_convert_supported((safetensors_dtype)to)) {
                assert_int_equal(safetensors_convert((safetensors_dtype)from, src, 4, (safetensors_dtype)to, got),
                                 SAFETENSORS_ERR_DTYPE);
                continue;
            }
            bytes = (n * safetensors_dtype_bits((safetensors_dtype)to) + 7) / 8;
            memset(got, CANARY, sizeof got);
            memset(want, CANARY, sizeof want);
            assert_int_equal(safetensors_convert((safetensors_dtype)from, src, n, (safetensors_dtype)to, got),
                             SAFETENSORS_OK);
            if (from == to) {
                memcpy(want, src, bytes);
            } else {
                assert_int_equal(safetensors_convert_to_f32((safetensors_dtype)from, src, n, wide), SAFETENSORS_OK);
                assert_int_equal(safetensors_convert_from_f32((safetensors_dtype)to, wide, n, want), SAFETENSORS_OK);
            }
            assert_memory_equal(got, want, bytes + 1); /* the canary after it too */
        }
    }
    assert_int_equal(safetensors_convert(SAFETENSORS_F16, NULL, 1, SAFETENSORS_BF16, got), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_convert(SAFETENSORS_F16, src, 1, SAFETENSORS_BF16, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_convert(SAFETENSORS_F16, NULL, 0, SAFETENSORS_BF16, NULL), SAFETENSORS_OK);
    assert_int_equal(safetensors_convert(SAFETENSORS_I32, src, 1, SAFETENSORS_I32, got), SAFETENSORS_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widen_every_code),
        cmocka_unit_test(test_narrow_table_probes),
        cmocka_unit_test(test_narrow_exact_values),
        cmocka_unit_test(test_narrow_every_midpoint),
        cmocka_unit_test(test_narrow_nan_payloads),
        cmocka_unit_test(test_fp_environment),
        cmocka_unit_test(test_f64_to_f32),
        cmocka_unit_test(test_f32_to_f64),
        cmocka_unit_test(test_f32_copy),
        cmocka_unit_test(test_dtype_and_argument_errors),
        cmocka_unit_test(test_view_every_range),
        cmocka_unit_test(test_view_every_range_guarded),
        cmocka_unit_test(test_view_errors),
        cmocka_unit_test(test_bf16_f16_every_code),
        cmocka_unit_test(test_convert_every_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
