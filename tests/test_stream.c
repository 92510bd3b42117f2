/* test_stream.c - streaming equivalence over the whole corpus.

   For every corpus file the one-shot outcome (one feed of all the bytes,
   then finish with the bytes left over as the data size) is compared with
   the outcome of feeding the same bytes one at a time and in several
   pseudo-random splits: the same result code, the same err.offset, and for
   accepted files the same table. Along the way it checks the feed contract
   (bytes consumed add up to 8 + N once done, nothing is consumed after done,
   an error is sticky) and that safetensors_open_memory gives the same
   verdict as the parser. Run from the repository root. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#define MAX_REPORTS 25
#define RANDOM_SPLITS 4
#define SEED 0x5AFE7E05C0FFEE11ull

static tu_expected g_exp;
static size_t g_failures;

static int setup(void **state) {
    (void)state;
    return tu_load_expected(TU_EXPECTED_TSV, &g_exp);
}

static int teardown(void **state) {
    (void)state;
    tu_free_expected(&g_exp);
    return 0;
}

static void report(const char *file, const char *fmt, ...) {
    va_list ap;
    g_failures++;
    if (g_failures > MAX_REPORTS) return;
    fprintf(stderr, "  FAIL %s: ", file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

typedef struct outcome {
    safetensors_result code;
    uint64_t offset;
    safetensors_file *f;    /* on success */
    int done;
    size_t consumed;        /* total consumed by feed */
} outcome;

/* How a split is chosen: chunk i has length next_chunk(). */
typedef struct splitter {
    int mode;               /* 0: everything at once, 1: one byte, 2: random */
    uint64_t rng;
    size_t max_chunk;
} splitter;

static size_t next_chunk(splitter *s, size_t left) {
    size_t n;
    if (s->mode == 0) return left;
    if (s->mode == 1) return 1;
    n = (size_t)(tu_xorshift64(&s->rng) % s->max_chunk);  /* may be 0: empty feeds are legal */
    return n < left ? n : left;
}

/* Feeds bytes split by s, then finishes. Checks the feed contract on the way
   and records violations against `file`. */
static outcome run_parser(const char *file, const unsigned char *bytes, size_t len, splitter *s) {
    outcome o;
    safetensors_parser *p = NULL;
    safetensors_error err;
    size_t pos = 0;
    memset(&o, 0, sizeof o);
    o.code = safetensors_parser_create(NULL, &p, &err);
    if (o.code != SAFETENSORS_OK) { report(file, "parser_create failed"); return o; }
    while (pos < len || (s->mode == 0 && pos == 0 && len == 0)) {
        size_t n = next_chunk(s, len - pos), used = (size_t)-1;
        int done = -1;
        safetensors_result r;
        memset(&err, 0, sizeof err);
        r = safetensors_parser_feed(p, bytes + pos, n, &used, &done, &err);
        if (r != SAFETENSORS_OK) {
            safetensors_error again;
            size_t used2 = 0;
            int done2 = 0;
            o.code = r;
            o.offset = err.offset;
            if (err.code != r) report(file, "feed: err.code %d != result %d", (int)err.code, (int)r);
            if (err.message[0] == '\0') report(file, "feed: empty message for %s", safetensors_result_name(r));
            /* Sticky: a later feed returns the same error, even with no bytes. */
            memset(&again, 0, sizeof again);
            if (safetensors_parser_feed(p, bytes + pos, len - pos, &used2, &done2, &again) != r ||
                again.offset != err.offset)
                report(file, "feed after %s did not return the same error", safetensors_result_name(r));
            memset(&again, 0, sizeof again);
            if (safetensors_parser_feed(p, bytes, 0, NULL, NULL, &again) != r || again.offset != err.offset)
                report(file, "empty feed after %s did not return the same error", safetensors_result_name(r));
            {
                safetensors_file *f = (safetensors_file *)&o;
                memset(&again, 0, sizeof again);
                if (safetensors_parser_finish(p, SAFETENSORS_SIZE_UNKNOWN, &f, &again) != r ||
                    again.offset != err.offset)
                    report(file, "finish after %s did not return the same error", safetensors_result_name(r));
                if (f != NULL) report(file, "finish after an error left *out non-NULL");
            }
            safetensors_parser_destroy(p);
            return o;
        }
        if (used > n) { report(file, "feed consumed %zu of %zu bytes", used, n); used = n; }
        if (done != 0 && done != 1) report(file, "feed left done = %d", done);
        if (o.done && used != 0) report(file, "feed after done consumed %zu", used);
        if (!o.done && done != 1 && used != n) report(file, "feed consumed %zu of %zu but is not done", used, n);
        o.consumed += used;
        o.done = done == 1;
        pos += n;
        if (len == 0) break;
    }
    if (o.done) {
        uint64_t declared;
        /* Once done, exactly the prefix and the header were consumed. */
        if (len < 8) {
            report(file, "done with only %zu bytes", len);
        } else {
            declared = tu_get_le64(bytes);
            if ((uint64_t)o.consumed != 8u + declared)
                report(file, "consumed %zu bytes, expected 8 + N = %llu", o.consumed,
                       (unsigned long long)(8u + declared));
        }
        /* Feeding after done consumes nothing. */
        {
            size_t used = 99;
            int done = 0;
            if (safetensors_parser_feed(p, bytes, len, &used, &done, &err) != SAFETENSORS_OK || used != 0 || done != 1)
                report(file, "feed after done: consumed %zu, done %d", used, done);
        }
    } else if (o.consumed != len) {
        report(file, "not done, but consumed %zu of %zu", o.consumed, len);
    }
    memset(&err, 0, sizeof err);
    o.f = (safetensors_file *)&o;
    o.code = safetensors_parser_finish(p, o.done ? (uint64_t)(len - o.consumed) : 0u, &o.f, &err);
    if (o.code != SAFETENSORS_OK) {
        o.offset = err.offset;
        if (o.f != NULL) report(file, "finish failed but *out is not NULL");
        o.f = NULL;
        if (err.code != o.code) report(file, "finish: err.code %d != result %d", (int)err.code, (int)o.code);
    } else if (!o.f) {
        report(file, "finish OK but *out is NULL");
        o.code = SAFETENSORS_ERR_ARGUMENT;
    } else {
        size_t i;
        for (i = 0; i < safetensors_tensor_count(o.f); i++)
            if (safetensors_tensor_at(o.f, i)->data != NULL) { report(file, "parser file has data pointers"); break; }
    }
    safetensors_parser_destroy(p);
    return o;
}

static int same_outcome(const char *file, const char *what, const outcome *a, const outcome *b) {
    char why[256];
    if (a->code != b->code) {
        report(file, "%s: %s, one-shot %s", what, safetensors_result_name(b->code), safetensors_result_name(a->code));
        return 0;
    }
    if (a->code != SAFETENSORS_OK && a->offset != b->offset) {
        report(file, "%s: %s at %llu, one-shot at %llu", what, safetensors_result_name(a->code),
               (unsigned long long)b->offset, (unsigned long long)a->offset);
        return 0;
    }
    if (a->code == SAFETENSORS_OK && tu_table_diff(a->f, b->f, why, sizeof why)) {
        report(file, "%s: %s", what, why);
        return 0;
    }
    return 1;
}

static void test_split_equivalence(void **state) {
    size_t i, files = 0, runs = 0;
    uint64_t rng = SEED;
    (void)state;
    g_failures = 0;
    printf("stream: seed 0x%016llx, %d random splits per file\n", (unsigned long long)SEED, RANDOM_SPLITS);
    for (i = 0; i < g_exp.count; i++) {
        const tu_exp_file *e = &g_exp.files[i];
        char path[512];
        size_t len;
        unsigned char *bytes;
        outcome one, by1;
        splitter s;
        int k;
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { report(e->file, "cannot read"); continue; }
        s.mode = 0;
        s.rng = 0;
        s.max_chunk = 1;
        one = run_parser(e->file, bytes, len, &s);
        if ((one.code == SAFETENSORS_OK) != (e->accept != 0))
            report(e->file, "parser %s, reference %s", safetensors_result_name(one.code), e->accept ? "accepts" : "refuses");
        s.mode = 1;
        by1 = run_parser(e->file, bytes, len, &s);
        same_outcome(e->file, "one byte at a time", &one, &by1);
        safetensors_close(by1.f);
        runs += 2;
        for (k = 0; k < RANDOM_SPLITS; k++) {
            outcome rnd;
            static const size_t maxes[RANDOM_SPLITS] = {3, 17, 64, 4099};
            char what[64];
            s.mode = 2;
            s.rng = tu_xorshift64(&rng) | 1u;
            s.max_chunk = maxes[k];
            snprintf(what, sizeof what, "random split (chunks < %zu, state 0x%016llx)", s.max_chunk,
                     (unsigned long long)s.rng);
            rnd = run_parser(e->file, bytes, len, &s);
            same_outcome(e->file, what, &one, &rnd);
            safetensors_close(rnd.f);
            runs++;
        }
        /* open_memory: the same verdict as the parser path. A file shorter
           than 8 + N is refused by open_memory on its length (rule 1) before
           any JSON is looked at, while the parser can only learn the file's
           length at finish and may first meet a fault in the JSON it has. */
        {
            safetensors_file *f = NULL;
            safetensors_error err;
            safetensors_result r = safetensors_open_memory(bytes, len, NULL, &f, &err);
            int short_file = len >= 8 && tu_get_le64(bytes) <= SAFETENSORS_DEFAULT_MAX_HEADER_SIZE &&
                             tu_get_le64(bytes) > (uint64_t)(len - 8);
            if (short_file) {
                if (r != SAFETENSORS_ERR_HEADER_LENGTH || err.offset != len)
                    report(e->file, "open_memory: %s at %llu, expected HEADER_LENGTH at %zu", safetensors_result_name(r),
                           (unsigned long long)err.offset, len);
                if (one.code == SAFETENSORS_OK ||
                    (one.code == SAFETENSORS_ERR_HEADER_LENGTH && one.offset != len) ||
                    (one.code != SAFETENSORS_ERR_HEADER_LENGTH && one.offset >= len))
                    report(e->file, "parser on a short file: %s at %llu", safetensors_result_name(one.code),
                           (unsigned long long)one.offset);
            } else if (r != one.code || (r != SAFETENSORS_OK && err.offset != one.offset)) {
                report(e->file, "open_memory %s at %llu, parser %s at %llu", safetensors_result_name(r),
                       (unsigned long long)(r ? err.offset : 0), safetensors_result_name(one.code),
                       (unsigned long long)one.offset);
            } else if (r == SAFETENSORS_OK) {
                char why[256];
                if (tu_table_diff(f, one.f, why, sizeof why)) report(e->file, "open_memory vs parser: %s", why);
            }
            if (r == SAFETENSORS_OK) safetensors_close(f);
        }
        safetensors_close(one.f);
        free(bytes);
        files++;
    }
    printf("stream: %zu files, %zu parser runs, %zu failures\n", files, runs, g_failures);
    assert_int_equal(g_failures, 0);
    assert_int_equal(files, TU_CORPUS_FILES);
}

/* Truncations of an accepted file, fed whole: finish reports the truncation
   as open_memory would (TOO_SMALL at the count of bytes below 8,
   HEADER_LENGTH at the end of the bytes inside the header), and with the
   full header but missing data it is COVERAGE at the end of the bytes. */
static void test_finish_early(void **state) {
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t len, cut, n = strlen(hdr);
    unsigned char *b = tu_build(hdr, 8, &len);
    (void)state;
    assert_non_null(b);
    for (cut = 0; cut <= len; cut++) {
        safetensors_parser *p = NULL;
        safetensors_file *f = NULL;
        safetensors_error err;
        size_t used = 0;
        int done = 0;
        safetensors_result r;
        assert_int_equal(safetensors_parser_create(NULL, &p, &err), SAFETENSORS_OK);
        assert_int_equal(safetensors_parser_feed(p, b, cut, &used, &done, &err), SAFETENSORS_OK);
        assert_int_equal(done, cut >= 8 + n);
        r = safetensors_parser_finish(p, done ? (uint64_t)(cut - used) : 0u, &f, &err);
        if (cut < 8) {
            assert_int_equal(r, SAFETENSORS_ERR_HEADER_TOO_SMALL);
            assert_int_equal(err.offset, cut);
        } else if (cut < 8 + n) {
            assert_int_equal(r, SAFETENSORS_ERR_HEADER_LENGTH);
            assert_int_equal(err.offset, cut);
        } else if (cut < len) {
            assert_int_equal(r, SAFETENSORS_ERR_COVERAGE);
            assert_int_equal(err.offset, cut);  /* 8 + N + min(8, data size) */
        } else {
            assert_int_equal(r, SAFETENSORS_OK);
        }
        if (r != SAFETENSORS_OK) assert_null(f);
        safetensors_close(f);
        safetensors_parser_destroy(p);
    }
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_equivalence),
        cmocka_unit_test(test_finish_early),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
