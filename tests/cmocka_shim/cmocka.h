/* A stand-in for the part of cmocka the suites use, so that they also build
   and run where no cmocka is installed for the target: i386 (no i386
   packages on the CI machine), s390x and Windows cross builds. Include it
   instead of <cmocka.h> with -Itests/cmocka_shim. A failed assertion ends
   the current test (longjmp) and counts it. The output has cmocka's lines
   ("[==========] N test(s) run.", "[  PASSED  ] N test(s).", "[  FAILED  ]
   N test(s), listed below:"), which tests/record.sh counts, and the exit
   status is the number of failed tests, as with cmocka. */
#ifndef CMOCKA_SHIM_H
#define CMOCKA_SHIM_H
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define SHIM_UNUSED __attribute__((unused))
#else
#define SHIM_UNUSED
#endif

struct CMUnitTest {
    const char *name;
    void (*fn)(void **state);
};
#define cmocka_unit_test(f) {#f, f}

static jmp_buf shim_jmp;

static SHIM_UNUSED void shim_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(shim_jmp, 1);
}

static SHIM_UNUSED void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static SHIM_UNUSED void print_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

#define skip() longjmp(shim_jmp, 2)
#define fail() shim_fail(__FILE__, __LINE__, "fail()")
#define fail_msg(...) shim_fail(__FILE__, __LINE__, __VA_ARGS__)
#define assert_true(c) do { if (!(c)) shim_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_null(p) assert_true((p) == NULL)
#define assert_ptr_equal(a, b) assert_true((const void *)(a) == (const void *)(b))
#define assert_ptr_not_equal(a, b) assert_true((const void *)(a) != (const void *)(b))
#define assert_int_equal(a, b) \
    do { unsigned long long shim_a = (unsigned long long)(a), shim_b = (unsigned long long)(b); \
         if (shim_a != shim_b) shim_fail(__FILE__, __LINE__, "%#llx != %#llx", shim_a, shim_b); } while (0)
#define assert_int_not_equal(a, b) \
    do { unsigned long long shim_a = (unsigned long long)(a), shim_b = (unsigned long long)(b); \
         if (shim_a == shim_b) shim_fail(__FILE__, __LINE__, "%#llx == %#llx", shim_a, shim_b); } while (0)
#define assert_string_equal(a, b) \
    do { const char *shim_a = (a), *shim_b = (b); \
         if (strcmp(shim_a, shim_b) != 0) shim_fail(__FILE__, __LINE__, "\"%s\" != \"%s\"", shim_a, shim_b); } while (0)
#define assert_memory_equal(a, b, n) assert_true(memcmp((a), (b), (n)) == 0)

static SHIM_UNUSED void shim_list(const struct CMUnitTest *t, const int *outcome, size_t n, int which,
                                   const char *tag, int count)
{
    size_t i;
    if (count == 0) return;
    printf("%s %d test(s), listed below:\n", tag, count);
    for (i = 0; i < n; i++)
        if (outcome[i] == which) printf("%s %s\n", tag, t[i].name);
}

/* outcome[i]: 0 passed, 1 failed, 2 skipped (shim_jmp's values) */
static SHIM_UNUSED int shim_run(const struct CMUnitTest *t, size_t n, int (*setup)(void **), int (*teardown)(void **))
{
    void *state = NULL;
    volatile size_t i;
    volatile int failed = 0, passed = 0, skipped = 0;
    int *outcome = (int *)calloc(n ? n : 1, sizeof *outcome);
    printf("[==========] Running %d test(s).\n", (int)n);
    if (outcome == NULL || (setup && setup(&state) != 0)) {
        printf("[  ERROR   ] group setup failed\n[==========] 0 test(s) run.\n[  FAILED  ] %d test(s), listed below:\n",
               (int)n);
        free(outcome);
        return (int)n;
    }
    for (i = 0; i < n; i++) {
        int jumped;
        printf("[ RUN      ] %s\n", t[i].name);
        fflush(stdout);
        jumped = setjmp(shim_jmp);
        if (jumped == 0) {
            t[i].fn(&state);
            printf("[       OK ] %s\n", t[i].name);
            passed++;
        } else if (jumped == 2) {
            printf("[  SKIPPED ] %s\n", t[i].name);
            skipped++;
        } else {
            printf("[  FAILED  ] %s\n", t[i].name);
            failed++;
        }
        outcome[i] = jumped;
    }
    if (teardown) teardown(&state);
    printf("[==========] %d test(s) run.\n", (int)n);
    printf("[  PASSED  ] %d test(s).\n", (int)passed);
    shim_list(t, outcome, n, 2, "[  SKIPPED ]", skipped);
    shim_list(t, outcome, n, 1, "[  FAILED  ]", failed);
    if (failed) printf("\n %d FAILED TEST(S)\n", (int)failed);
    free(outcome);
    return failed;
}
#define cmocka_run_group_tests(tests, setup, teardown) \
    shim_run((tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))
#endif
