/* A stand-in for the subset of cmocka that tests/test_convert.c uses, so the
   suite can be cross-built (s390x, aarch64) where no cmocka is installed:
       s390x-linux-gnu-gcc -std=c99 -O2 -I/tmp/stage -I/work/wip/cmocka_shim \
           tests/test_convert.c -o build/test_convert.s390x -static
       qemu-s390x ./build/test_convert.s390x
   A failed assertion ends the current test (longjmp) and counts it. */
#ifndef CMOCKA_SHIM_H
#define CMOCKA_SHIM_H
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

struct CMUnitTest {
    const char *name;
    void (*fn)(void **state);
};
#define cmocka_unit_test(f) {#f, f}

static jmp_buf shim_jmp;

static void shim_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(shim_jmp, 1);
}

static void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define skip() longjmp(shim_jmp, 2)
#define fail_msg(...) shim_fail(__FILE__, __LINE__, __VA_ARGS__)
#define assert_true(c) do { if (!(c)) shim_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_int_equal(a, b) \
    do { unsigned long long shim_a = (unsigned long long)(a), shim_b = (unsigned long long)(b); \
         if (shim_a != shim_b) shim_fail(__FILE__, __LINE__, "%llx != %llx", shim_a, shim_b); } while (0)
#define assert_memory_equal(a, b, n) assert_true(memcmp((a), (b), (n)) == 0)

static int shim_run(const struct CMUnitTest *t, size_t n)
{
    volatile size_t i;
    volatile int failed = 0;
    for (i = 0; i < n; i++) {
        int jumped = setjmp(shim_jmp);
        if (jumped == 0) {
            t[i].fn(NULL);
            printf("[       OK ] %s\n", t[i].name);
        } else if (jumped == 2) {
            printf("[  SKIPPED ] %s\n", t[i].name);
        } else {
            printf("[  FAILED  ] %s\n", t[i].name);
            failed++;
        }
    }
    printf("%d of %zu failed\n", (int)failed, n);
    return failed;
}
#define cmocka_run_group_tests(tests, setup, teardown) shim_run((tests), sizeof(tests) / sizeof((tests)[0]))
#endif
