/* test_numbers.c - which JSON numbers are refused as out of the range of a
   double, swept around the largest double in many spellings.

   The reference reads its header with serde_json 1.0, default features (no
   "float_roundtrip"). Its number parser (src/de.rs) collects digits into a
   u64 until the next one would overflow it, counts every later integer
   digit as a power of ten and drops every later fraction digit, then takes
   (double)significand * 1e<exponent>, two roundings, and refuses an
   infinite result: in any field, ignored ones included. Which spellings of
   numbers near 1.7976931348623157e308 it refuses therefore depends on
   where its u64 fills up and on both roundings.

   The oracle below is that algorithm written again here, with doubles and
   a table of the powers of ten as the compiler rounds the literals (as
   serde's POW10 is); the library decides without floating point. Every
   case is a header with the number in an ignored field, opened through
   the public API, and the two verdicts must agree:
     - anchors: the verdicts serde_json's own tests assert;
     - thresholds: for every exponent from -3 to 330, the least significand
       the oracle refuses (found by bisection), its neighbours, the ends of
       the u64 range and random significands;
     - spellings: significant digits near the edge (the threshold values,
       prefixes of DBL_MAX and of the rounding boundary 2^1024 - 2^970, the
       309-digit integers themselves) written with the point at every
       place, leading and trailing zeros, e/E, signs and padded exponents,
       and as plain and long integers.
   Run from anywhere. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define MAX_REPORTS 20
#define TEXT_MAX 480

/* Exact decimal expansions: DBL_MAX = 2^1024 - 2^971, and the midpoint
   between it and 2^1024, the least value that rounds to infinity. */
static const char k_dbl_max[] =
    "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878"
    "171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075"
    "868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026"
    "184124858368";
static const char k_boundary[] =
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207"
    "096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764"
    "475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177"
    "904174497792";

/* ---------------------------------------------------------------------
   The oracle
   --------------------------------------------------------------------- */

#define P10_ROW(d) 1e##d##0, 1e##d##1, 1e##d##2, 1e##d##3, 1e##d##4, 1e##d##5, 1e##d##6, 1e##d##7, 1e##d##8, 1e##d##9
static const double k_pow10[309] = {
    P10_ROW(0),  P10_ROW(1),  P10_ROW(2),  P10_ROW(3),  P10_ROW(4),  P10_ROW(5),  P10_ROW(6),  P10_ROW(7),
    P10_ROW(8),  P10_ROW(9),  P10_ROW(10), P10_ROW(11), P10_ROW(12), P10_ROW(13), P10_ROW(14), P10_ROW(15),
    P10_ROW(16), P10_ROW(17), P10_ROW(18), P10_ROW(19), P10_ROW(20), P10_ROW(21), P10_ROW(22), P10_ROW(23),
    P10_ROW(24), P10_ROW(25), P10_ROW(26), P10_ROW(27), P10_ROW(28), P10_ROW(29),
    1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308};

/* serde's overflow!(a * 10 + b, max) */
static int times_ten_plus_overflows(uint64_t a, unsigned b, uint64_t max) {
    return a >= max / 10 && (a > max / 10 || b > max % 10);
}

/* f64_from_parts, for its refusal only: a negative exponent divides, and
   a quotient never overflows. The product goes through a volatile double
   so that an x87 build does not keep it wider; its double rounding moves
   no threshold (checked in rational arithmetic when this was written). */
static int oracle_from_parts_refuses(uint64_t significand, int32_t exponent) {
    volatile double f = (double)significand;
    if (exponent < 0) return 0;
    if (exponent > 308) return f != 0.0;
    f = f * k_pow10[exponent];
    return f > DBL_MAX;
}

static int32_t saturate(int64_t e) {
    return e > INT32_MAX ? INT32_MAX : e < INT32_MIN ? INT32_MIN : (int32_t)e;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* parse_integer, parse_long_integer, parse_decimal(_overflow) and
   parse_exponent(_overflow), on a well-formed JSON number: 1 if serde_json
   refuses it as out of range. */
static int oracle_refuses(const char *s) {
    uint64_t significand = 0;
    int32_t exponent = 0;
    int is_float = 0, long_integer = 0, fraction_full = 0;
    if (*s == '-') s++;
    if (*s == '0') s++;
    for (; is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (!long_integer && times_ten_plus_overflows(significand, d, UINT64_MAX)) long_integer = is_float = 1;
        if (long_integer) exponent++;
        else significand = significand * 10u + d;
    }
    if (*s == '.') {
        is_float = 1;
        for (s++; is_digit(*s); s++) {
            unsigned d = (unsigned)(*s - '0');
            if (!fraction_full && times_ten_plus_overflows(significand, d, UINT64_MAX)) fraction_full = 1;
            if (!fraction_full) {
                significand = significand * 10u + d;
                exponent--;
            }
        }
    }
    if (*s == 'e' || *s == 'E') {
        int negative = 0;
        uint64_t e = 0;
        is_float = 1;
        s++;
        if (*s == '+' || *s == '-') negative = *s++ == '-';
        for (; is_digit(*s); s++) {
            unsigned d = (unsigned)(*s - '0');
            if (times_ten_plus_overflows(e, d, (uint64_t)INT32_MAX)) return significand != 0 && !negative;
            e = e * 10u + d;
        }
        exponent = saturate(negative ? (int64_t)exponent - (int64_t)e : (int64_t)exponent + (int64_t)e);
    }
    return is_float && oracle_from_parts_refuses(significand, exponent);
}

/* ---------------------------------------------------------------------
   The library, and the comparison
   --------------------------------------------------------------------- */

static size_t g_cases, g_failures;

/* 1 if the library refuses the number as out of range, 0 if it accepts it;
   anything else (a spelling this file got wrong) fails the test. */
static int library_refuses(const char *num) {
    static const char pre[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":";
    unsigned char file[8 + sizeof pre + TEXT_MAX + 3];
    size_t len = strlen(num), n = sizeof pre - 1 + len + 2;
    safetensors_file *f = NULL;
    safetensors_error err;
    safetensors_result r;
    assert_true(len < TEXT_MAX);
    tu_put_le64(file, (uint64_t)n);
    memcpy(file + 8, pre, sizeof pre - 1);
    memcpy(file + 8 + sizeof pre - 1, num, len);
    memcpy(file + 8 + n - 2, "}}", 2);
    file[8 + n] = 0; /* the one data byte */
    r = safetensors_open_memory(file, 8 + n + 1, NULL, &f, &err);
    safetensors_close(f);
    if (r == SAFETENSORS_OK) return 0;
    if (r != SAFETENSORS_ERR_JSON || strstr(err.message, "range") == NULL)
        fail_msg("%s: %s (%s)", num, safetensors_result_name(r), err.message);
    return 1;
}

static void expect_same(const char *num) {
    int want = oracle_refuses(num), got = library_refuses(num);
    g_cases++;
    if (want == got) return;
    if (++g_failures <= MAX_REPORTS)
        fprintf(stderr, "  FAIL %s: serde_json %s it, the library %s it\n", num, want ? "refuses" : "accepts",
                got ? "refuses" : "accepts");
}

static void expect(const char *num, int refused) {
    assert_int_equal(oracle_refuses(num), refused);
    expect_same(num);
}

static void finish(const char *what) {
    size_t failures = g_failures;
    printf("  %s: %lu numbers, %lu disagreements\n", what, (unsigned long)g_cases, (unsigned long)failures);
    g_cases = g_failures = 0;
    assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------------
   Anchors
   --------------------------------------------------------------------- */

/* "1" and `zeros` zeros, then suffix */
static const char *one_and_zeros(char *out, size_t zeros, const char *suffix) {
    out[0] = '1';
    memset(out + 1, '0', zeros);
    strcpy(out + 1 + zeros, suffix);
    return out;
}

/* Verdicts from serde_json's tests/test.rs (test_parse_f64,
   test_parse_number_errors): the oracle must give them too. And the
   expansions above must be what they claim, by the C library's strtod. */
static void test_anchors(void **state) {
    char big[TEXT_MAX], edge[sizeof k_boundary];
    (void)state;
    assert_true(strtod(k_dbl_max, NULL) == DBL_MAX);
    assert_true(strtod(k_boundary, NULL) > DBL_MAX);
    memcpy(edge, k_boundary, sizeof edge);
    edge[sizeof edge - 2]--; /* one less than the boundary */
    assert_true(strtod(edge, NULL) == DBL_MAX);

    expect("1.7976931348623157e+308", 0);
    expect("1e309", 1);
    expect("100e777777777777777777777777777", 1);
    expect("-100e777777777777777777777777777", 1);
    expect("100e-777777777777777777777777777", 0);
    expect("0e1000000000000000000000000000000000000000000000", 0);
    expect("3.5E-2147483647", 0);
    expect(one_and_zeros(big, 309, ""), 1);
    expect(one_and_zeros(big, 300, ".0e9"), 1);
    expect(one_and_zeros(big, 300, "e9"), 1);
    expect(one_and_zeros(big, 308, ""), 0);
    expect(one_and_zeros(big, 300, ".0e8"), 0);
    expect(one_and_zeros(big, 300, "e8"), 0);
    expect(one_and_zeros(big, 318, "e-10"), 0);
    /* the library's own tests, and the corpus (edge_num_exp_overflow_extra) */
    expect("1e999", 1);
    expect("1.7976931348623159e308", 1);
    expect("18446744073709551616", 0);
    finish("anchors");
}

/* ---------------------------------------------------------------------
   Thresholds
   --------------------------------------------------------------------- */

static void expect_parts(uint64_t significand, int exponent, int negative) {
    char text[64];
    snprintf(text, sizeof text, "%s%llue%d", negative ? "-" : "", (unsigned long long)significand, exponent);
    expect_same(text);
}

/* The least significand the oracle refuses with this exponent, or 0 if it
   refuses none. The verdict grows with the significand (each rounding is
   monotonic), so this one number decides every other. */
static uint64_t oracle_threshold(int32_t exponent) {
    uint64_t lo = 1, hi = UINT64_MAX;
    if (!oracle_from_parts_refuses(hi, exponent)) return 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (oracle_from_parts_refuses(mid, exponent)) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Around each exponent's threshold, and anywhere else. */
static void test_thresholds(void **state) {
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int e, k, with_threshold = 0;
    (void)state;
    for (e = -3; e <= 330; e++) {
        uint64_t lo = oracle_threshold(e);
        if (lo != 0) {
            with_threshold++;
            for (k = -3; k <= 3; k++)
                if ((k >= 0 || lo > (uint64_t)-k) && (k <= 0 || lo <= UINT64_MAX - (uint64_t)k))
                    expect_parts(lo + (uint64_t)(int64_t)k, e, (k + 3) & 1);
        }
        expect_parts(0, e, 0);
        expect_parts(1, e, 1);
        expect_parts(UINT64_MAX - 1, e, 0);
        expect_parts(UINT64_MAX, e, 1);
        for (k = 0; k < 48; k++) {
            uint64_t r = tu_xorshift64(&seed);
            expect_parts(r >> (r & 63), e, k & 1); /* every magnitude */
        }
    }
    assert_int_equal(with_threshold, 330 - 289 + 1);
    finish("thresholds");
}

/* ---------------------------------------------------------------------
   Spellings
   --------------------------------------------------------------------- */

typedef struct text {
    char s[TEXT_MAX];
    size_t n;
} text;

/* n bytes of s, or n zeros when s is NULL */
static void put(text *t, const char *s, size_t n) {
    assert_true(t->n + n < TEXT_MAX);
    if (s) memcpy(t->s + t->n, s, n);
    else memset(t->s + t->n, '0', n);
    t->n += n;
    t->s[t->n] = '\0';
}

static void put_exponent(text *t, long e, unsigned style) {
    char buf[32];
    static const char *const form[3][2] = {{"e%ld", "e-%ld"}, {"E+%ld", "E-%ld"}, {"e000%ld", "E-00%ld"}};
    int minus = e < 0 || (e == 0 && (style & 32)); /* "e-0" too */
    snprintf(buf, sizeof buf, form[style % 3][minus], e < 0 ? -e : e);
    put(t, buf, strlen(buf));
}

/* The number whose significant digits are d[0..n) and whose value is
   d x 10^q, written with the point after the first p digits (p == 0:
   "0." and z zeros before them), t zeros after them, and the exponent
   that keeps the value. */
static void spell_point(const char *d, size_t n, long q, size_t p, size_t z, size_t t, unsigned style) {
    text x = {{0}, 0};
    long e = q + (long)(n - p);
    if (style & 8) put(&x, "-", 1);
    if (p == 0) {
        put(&x, "0.", 2);
        put(&x, NULL, z);
        e += (long)z;
    }
    put(&x, d, p);
    if (p > 0 && (p < n || t > 0)) put(&x, ".", 1);
    put(&x, d + p, n - p);
    put(&x, NULL, t);
    put_exponent(&x, e, style);
    expect_same(x.s);
}

/* The same value as an integer: d, q + extra zeros, then a point form,
   then an exponent that takes the extra zeros back (or, with none, one that
   changes nothing). */
static void spell_integer(const char *d, size_t n, long q, size_t extra, const char *point, unsigned style) {
    text x = {{0}, 0};
    if (q + (long)extra < 0) return;
    if (style & 8) put(&x, "-", 1);
    put(&x, d, n);
    put(&x, NULL, (size_t)(q + (long)extra));
    put(&x, point, strlen(point));
    if (extra > 0 || style & 16) put_exponent(&x, -(long)extra, style);
    expect_same(x.s);
}

static void spell_all(const char *d, size_t n, long q) {
    static const size_t trailing[] = {0, 1, 2, 3, 5, 20};
    static const size_t leading[] = {0, 1, 2, 20};
    static const size_t long_points[] = {0, 1, 2, 5, 17, 18, 19, 20, 21, 22, 40, 100, 200, 308, 309};
    static const char *const points[] = {"", ".0", ".000"};
    size_t i, j, k;
    unsigned style = (unsigned)n, form;
    for (i = 0; i <= n; i++) {
        size_t p = i;
        if (n > 30) { /* the 309-digit integers: not every place */
            if (i >= sizeof long_points / sizeof *long_points) break;
            p = long_points[i];
            if (p > n) continue;
        }
        for (j = 0; j < sizeof trailing / sizeof *trailing; j++)
            for (k = 0; k < (p == 0 ? sizeof leading / sizeof *leading : 1); k++)
                for (form = 0; form < 3; form++) spell_point(d, n, q, p, leading[k], trailing[j], style++ * 3 + form);
    }
    for (j = 0; j < sizeof points / sizeof *points; j++)
        for (k = 0; k < 4; k++) spell_integer(d, n, q, k * 7, points[j], style++ * 3 + (unsigned)k % 3);
}

/* d[0..n) plus one in its last place, into out (n or n + 1 digits) */
static size_t increment(const char *d, size_t n, char *out) {
    size_t i = n;
    memcpy(out + 1, d, n);
    out[0] = '0';
    while (out[i] == '9') out[i--] = '0';
    out[i]++;
    if (out[0] == '0') {
        memmove(out, out + 1, n);
        return n;
    }
    return n + 1;
}

static void test_spellings(void **state) {
    static const char *const expansions[2] = {k_dbl_max, k_boundary};
    char digits[sizeof k_boundary + 1], up[sizeof k_boundary + 1];
    int e, k;
    size_t n, i;
    (void)state;
    /* the thresholds and their neighbours, at their own exponents */
    for (e = 289; e <= 308; e++) {
        uint64_t lo = oracle_threshold(e);
        for (k = -1; k <= 1; k++) {
            snprintf(digits, sizeof digits, "%llu", (unsigned long long)(lo + (uint64_t)(int64_t)k));
            spell_all(digits, strlen(digits), e);
        }
    }
    /* prefixes of DBL_MAX and of the boundary, cut and rounded up, and the
       whole expansions, one less and one more */
    for (i = 0; i < 2; i++) {
        const char *x = expansions[i];
        size_t len = strlen(x);
        for (n = 1; n <= 25; n++) {
            spell_all(x, n, (long)(len - n));
            spell_all(up, increment(x, n, up), (long)(len - n));
        }
        spell_all(x, len, 0);
        spell_all(up, increment(x, len, up), 0);
        memcpy(digits, x, len);
        digits[len - 1]--;
        spell_all(digits, len, 0);
    }
    finish("spellings");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
