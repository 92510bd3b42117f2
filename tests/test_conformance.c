/* test_conformance.c - every file of the reference-judged corpus.

   For each line of tests/conformance/expected.tsv the file is opened twice,
   with safetensors_open_memory over a buffer read here and with
   safetensors_open by path, and both must agree with the reference:
     accept  the same tensors in the same order (name bytes, dtype, shape,
             begin/end), the same metadata in file order, and for
             open_memory data == bytes + data_start + begin;
     reject  a refusal code (not OK, NOMEM, ARGUMENT, IO) with err filled in.
   A second test checks that a refusal comes from the same phase of checks
   as the reference's (length prefix, header parse, or table validation).
   Run from the repository root. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#define MAX_REPORTS 25

static tu_expected g_exp;

static int setup(void **state) {
    (void)state;
    return tu_load_expected(TU_EXPECTED_TSV, &g_exp);
}

static int teardown(void **state) {
    (void)state;
    tu_free_expected(&g_exp);
    return 0;
}

static void report(size_t *failures, const char *file, const char *fmt, ...) {
    va_list ap;
    (*failures)++;
    if (*failures > MAX_REPORTS) return;
    fprintf(stderr, "  FAIL %s: ", file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Checks one opening (memory or path) against the expected record. */
static void check_one(const tu_exp_file *e, const char *how, safetensors_result rc, safetensors_file *f,
                      const safetensors_error *err, const unsigned char *base, size_t *failures) {
    char why[256];
    if (e->accept) {
        if (rc != SAFETENSORS_OK) {
            report(failures, e->file, "%s: refused with %s (%s) at %llu, reference accepts", how,
                   safetensors_result_name(rc), err->message, (unsigned long long)err->offset);
            return;
        }
        if (!f) { report(failures, e->file, "%s: OK but *out is NULL", how); return; }
        if (tu_expected_diff(f, e, base ? TU_DATA_AT_BASE : TU_DATA_ANY, base, why, sizeof why))
            report(failures, e->file, "%s: %s", how, why);
    } else {
        if (rc == SAFETENSORS_OK) {
            report(failures, e->file, "%s: accepted, reference refuses (%s)", how, e->reason);
            return;
        }
        if (!tu_is_refusal(rc)) report(failures, e->file, "%s: refused with %s, not a refusal code", how,
                                       safetensors_result_name(rc));
        if (f) report(failures, e->file, "%s: *out not NULL on failure", how);
        if (err->code != rc) report(failures, e->file, "%s: err.code %d != result %d", how, (int)err->code, (int)rc);
        if (err->message[0] == '\0') report(failures, e->file, "%s: empty err.message", how);
        if (strlen(err->message) >= sizeof err->message) report(failures, e->file, "%s: message not terminated", how);
    }
}

static void test_corpus(void **state) {
    size_t i, failures = 0, accepted = 0, rejected = 0, checked = 0;
    (void)state;
    assert_int_equal(g_exp.count, TU_CORPUS_FILES);
    for (i = 0; i < g_exp.count; i++) {
        const tu_exp_file *e = &g_exp.files[i];
        char path[512];
        size_t len;
        unsigned char *bytes;
        safetensors_file *fm = (safetensors_file *)&len, *fp = (safetensors_file *)&len; /* non-NULL sentinels */
        safetensors_error em, ep;
        safetensors_result rm, rp;
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { report(&failures, e->file, "cannot read %s", path); continue; }
        memset(&em, 0, sizeof em);
        memset(&ep, 0, sizeof ep);
        rm = safetensors_open_memory(bytes, len, NULL, &fm, &em);
        check_one(e, "open_memory", rm, fm, &em, bytes, &failures);
        rp = safetensors_open(path, NULL, &fp, &ep);
        check_one(e, "open", rp, fp, &ep, NULL, &failures);
        /* Both ways of opening the same bytes agree exactly. */
        if (rm != rp) {
            report(&failures, e->file, "open_memory gives %s, open gives %s", safetensors_result_name(rm),
                   safetensors_result_name(rp));
        } else if (rm != SAFETENSORS_OK && em.offset != ep.offset) {
            report(&failures, e->file, "offset %llu (memory) vs %llu (path)", (unsigned long long)em.offset,
                   (unsigned long long)ep.offset);
        } else if (rm == SAFETENSORS_OK && fm && fp) {
            char why[256];
            size_t k;
            if (tu_table_diff(fm, fp, why, sizeof why)) report(&failures, e->file, "memory vs path: %s", why);
            /* The mapped data holds the file's bytes. */
            for (k = 0; k < safetensors_tensor_count(fp); k++) {
                const safetensors_tensor *t = safetensors_tensor_at(fp, k);
                size_t n = (size_t)(t->end - t->begin);
                if (n && (!t->data || memcmp(t->data, bytes + safetensors_data_start(fp) + t->begin, n) != 0)) {
                    report(&failures, e->file, "open: tensor %zu data differs from the file", k);
                    break;
                }
            }
        }
        if (rm == SAFETENSORS_OK) safetensors_close(fm);
        if (rp == SAFETENSORS_OK) safetensors_close(fp);
        if (e->accept) accepted++; else rejected++;
        checked++;
        free(bytes);
    }
    printf("conformance: %zu files checked (%zu accept, %zu reject), %zu failures\n", checked, accepted, rejected,
           failures);
    assert_int_equal(failures, 0);
    assert_int_equal(checked, TU_CORPUS_FILES);
}

/* The reference's checks come in phases: the length prefix, then the header
   (UTF-8, JSON, schema), then the table (offsets, sizes, coverage). A refused
   file must be refused by the same phase here: the phase order is fixed by
   the format, whatever the wording. */
enum { PH_PREFIX_SMALL, PH_PREFIX_LARGE, PH_PREFIX_LENGTH, PH_UTF8, PH_PARSE, PH_TABLE, PH_OURS, PH_UNKNOWN };

static int reference_phase(const char *reason) {
    if (strcmp(reason, "header too small") == 0) return PH_PREFIX_SMALL;
    if (strcmp(reason, "header too large") == 0) return PH_PREFIX_LARGE;
    if (strcmp(reason, "invalid header length") == 0) return PH_PREFIX_LENGTH;
    if (strncmp(reason, "invalid UTF-8", 13) == 0) return PH_UTF8;
    if (strncmp(reason, "invalid JSON", 12) == 0) return PH_PARSE;
    if (strncmp(reason, "invalid offset", 14) == 0 || strncmp(reason, "overflow", 8) == 0 ||
        strncmp(reason, "The slice is slicing", 20) == 0 || strncmp(reason, "invalid shape", 13) == 0 ||
        strncmp(reason, "incomplete metadata", 19) == 0)
        return PH_TABLE;
    if (strcmp(reason, "duplicate-key") == 0 || strcmp(reason, "noncanonical-entry") == 0) return PH_OURS;
    return PH_UNKNOWN;
}

static int code_allowed(int phase, safetensors_result r) {
    int parse = r == SAFETENSORS_ERR_JSON || r == SAFETENSORS_ERR_SCHEMA || r == SAFETENSORS_ERR_DTYPE ||
                r == SAFETENSORS_ERR_DUPLICATE;
    switch (phase) {
    case PH_PREFIX_SMALL: return r == SAFETENSORS_ERR_HEADER_TOO_SMALL;
    case PH_PREFIX_LARGE: return r == SAFETENSORS_ERR_HEADER_TOO_LARGE;
    case PH_PREFIX_LENGTH: return r == SAFETENSORS_ERR_HEADER_LENGTH;
    /* The reference validates all the UTF-8 before parsing; a streaming
       parser may meet a syntax or schema fault first. */
    case PH_UTF8: return r == SAFETENSORS_ERR_UTF8 || parse;
    case PH_PARSE: return parse;
    /* The reference parsed the header: only a duplicate name (which it
       tolerates) or a non-canonical entry can stop us earlier. */
    case PH_TABLE:
        return r == SAFETENSORS_ERR_OFFSETS || r == SAFETENSORS_ERR_OVERFLOW || r == SAFETENSORS_ERR_MISALIGNED ||
               r == SAFETENSORS_ERR_SIZE || r == SAFETENSORS_ERR_COVERAGE || r == SAFETENSORS_ERR_DUPLICATE ||
               r == SAFETENSORS_ERR_SCHEMA || r == SAFETENSORS_ERR_DTYPE;
    case PH_OURS: return r == SAFETENSORS_ERR_DUPLICATE || r == SAFETENSORS_ERR_SCHEMA || r == SAFETENSORS_ERR_DTYPE;
    default: return 0;
    }
}

static void test_reject_phase(void **state) {
    size_t i, failures = 0, checked = 0;
    (void)state;
    for (i = 0; i < g_exp.count; i++) {
        const tu_exp_file *e = &g_exp.files[i];
        char path[512];
        size_t len;
        unsigned char *bytes;
        safetensors_file *f = NULL;
        safetensors_error err;
        safetensors_result r;
        int phase;
        if (e->accept) continue;
        phase = reference_phase(e->reason);
        if (phase == PH_UNKNOWN) { report(&failures, e->file, "unknown reference reason \"%s\"", e->reason); continue; }
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { report(&failures, e->file, "cannot read"); continue; }
        r = safetensors_open_memory(bytes, len, NULL, &f, &err);
        if (r == SAFETENSORS_OK) safetensors_close(f);
        else if (!code_allowed(phase, r))
            report(&failures, e->file, "%s (%s) but the reference says \"%s\"", safetensors_result_name(r),
                   err.message, e->reason);
        /* Length-prefix faults have documented offsets. */
        if (r == SAFETENSORS_ERR_HEADER_TOO_SMALL && err.offset != len)
            report(&failures, e->file, "TOO_SMALL offset %llu, expected %zu", (unsigned long long)err.offset, len);
        if (r == SAFETENSORS_ERR_HEADER_TOO_LARGE && err.offset != 0)
            report(&failures, e->file, "TOO_LARGE offset %llu, expected 0", (unsigned long long)err.offset);
        if (r == SAFETENSORS_ERR_HEADER_LENGTH && err.offset != len)
            report(&failures, e->file, "HEADER_LENGTH offset %llu, expected %zu", (unsigned long long)err.offset, len);
        /* Offsets never point past the end of the file. */
        if (r != SAFETENSORS_OK && err.offset > len)
            report(&failures, e->file, "offset %llu is past the end (%zu)", (unsigned long long)err.offset, len);
        free(bytes);
        checked++;
    }
    printf("reject phases: %zu refused files checked, %zu failures\n", checked, failures);
    assert_int_equal(failures, 0);
    assert_true(checked > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_reject_phase),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
