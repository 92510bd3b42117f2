/* test_check.h - the checks of the plain-C test programs, which do without
   cmocka (test_options.c, test_leakcheck_macros.c). CHECK(x) counts a pass
   or prints the failed expression with its place; check_summary() prints
   "N passed, M failed" and gives main's exit status. Include after
   safetensors.h. */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdio.h>

static int g_passed, g_failed;

static void check(int ok, const char *what, const char *file, int line) {
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        fprintf(stderr, "%s:%d: failed: %s\n", file, line, what);
    }
}
#define CHECK(x) check((x) ? 1 : 0, #x, __FILE__, __LINE__)

static int check_summary(void) {
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}

#endif /* TEST_CHECK_H */
