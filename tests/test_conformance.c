/* test_conformance.c - every file of the reference-judged corpus.

   For each line of tests/conformance/expected.tsv the file is opened with
   safetensors_open_memory over a buffer read here and with safetensors_open
   by path (mapped, READ_INTO_MEMORY and HEADER_ONLY), and every way must
   agree with the reference:
     accept  the same tensors in the same order (name bytes, dtype, shape,
             begin/end), each found by its name, the same metadata in file
             order, and for open_memory data == bytes + data_start + begin;
     reject  a refusal code (not OK, NOMEM, ARGUMENT, IO) with err filled in,
             the same code, offset and message every way.
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

/* Checks one opening (memory or path) against the expected record. */
static void check_one(const tu_exp_file *e, const char *how, safetensors_result rc, safetensors_file *f,
                      const safetensors_error *err, int data_mode, const unsigned char *base, size_t *failures) {
    char why[256];
    if (e->accept) {
        if (rc != SAFETENSORS_OK) {
            tu_report(failures, e->file, "%s: refused with %s (%s) at %llu, reference accepts", how,
                   safetensors_result_name(rc), err->message, (unsigned long long)err->offset);
            return;
        }
        if (!f) { tu_report(failures, e->file, "%s: OK but *out is NULL", how); return; }
        if (tu_expected_diff(f, e, data_mode, base, why, sizeof why))
            tu_report(failures, e->file, "%s: %s", how, why);
    } else {
        if (rc == SAFETENSORS_OK) {
            tu_report(failures, e->file, "%s: accepted, reference refuses (%s)", how, e->reason);
            return;
        }
        if (!tu_is_refusal(rc)) tu_report(failures, e->file, "%s: refused with %s, not a refusal code", how,
                                       safetensors_result_name(rc));
        if (f) tu_report(failures, e->file, "%s: *out not NULL on failure", how);
        if (err->code != rc) tu_report(failures, e->file, "%s: err.code %d != result %d", how, (int)err->code, (int)rc);
        if (err->message[0] == '\0') tu_report(failures, e->file, "%s: empty err.message", how);
        if (strlen(err->message) >= sizeof err->message) tu_report(failures, e->file, "%s: message not terminated", how);
    }
}

static void test_corpus(void **state) {
    static const struct {
        uint32_t flags;
        const char *how;
    } by_path[] = {{0, "open"},
                   {SAFETENSORS_READ_INTO_MEMORY, "open READ_INTO_MEMORY"},
                   {SAFETENSORS_HEADER_ONLY, "open HEADER_ONLY"}};
    const tu_expected *exp = (const tu_expected *)*state;
    size_t i, failures = 0, accepted = 0, rejected = 0, checked = 0;
    assert_int_equal(exp->count, TU_CORPUS_FILES);
    for (i = 0; i < exp->count; i++) {
        const tu_exp_file *e = &exp->files[i];
        char path[512];
        size_t len, w;
        unsigned char *bytes;
        safetensors_file *fm = (safetensors_file *)&len; /* a non-NULL sentinel */
        safetensors_error em;
        safetensors_result rm;
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { tu_report(&failures, e->file, "cannot read %s", path); continue; }
        memset(&em, 0, sizeof em);
        rm = safetensors_open_memory(bytes, len, NULL, &fm, &em);
        check_one(e, "open_memory", rm, fm, &em, TU_DATA_AT_BASE, bytes, &failures);
        for (w = 0; w < sizeof by_path / sizeof by_path[0]; w++) {
            safetensors_options opt;
            safetensors_file *fp = (safetensors_file *)&len;
            safetensors_error ep;
            safetensors_result rp;
            const char *how = by_path[w].how;
            int header_only = (by_path[w].flags & SAFETENSORS_HEADER_ONLY) != 0;
            memset(&opt, 0, sizeof opt);
            memset(&ep, 0, sizeof ep);
            opt.flags = by_path[w].flags;
            rp = safetensors_open(path, &opt, &fp, &ep);
            check_one(e, how, rp, fp, &ep, header_only ? TU_DATA_NULL : TU_DATA_ANY, NULL, &failures);
            /* Every way of opening the same bytes agrees exactly. */
            if (rm != rp) {
                tu_report(&failures, e->file, "open_memory gives %s, %s gives %s", safetensors_result_name(rm), how,
                          safetensors_result_name(rp));
            } else if (rm != SAFETENSORS_OK && (em.offset != ep.offset || strcmp(em.message, ep.message) != 0)) {
                tu_report(&failures, e->file, "\"%s\" at %llu (memory) vs \"%s\" at %llu (%s)", em.message,
                          (unsigned long long)em.offset, ep.message, (unsigned long long)ep.offset, how);
            } else if (rm == SAFETENSORS_OK) {
                char why[256];
                size_t k;
                if (tu_table_diff(fm, fp, why, sizeof why)) tu_report(&failures, e->file, "memory vs %s: %s", how, why);
                /* The mapped or read data holds the file's bytes. */
                for (k = 0; !header_only && k < safetensors_tensor_count(fp); k++) {
                    const safetensors_tensor *t = safetensors_tensor_at(fp, k);
                    size_t n = (size_t)(t->end - t->begin);
                    if (n && (!t->data || memcmp(t->data, bytes + safetensors_data_start(fp) + t->begin, n) != 0)) {
                        tu_report(&failures, e->file, "%s: tensor %zu data differs from the file", how, k);
                        break;
                    }
                }
            }
            if (rp == SAFETENSORS_OK) safetensors_close(fp);
        }
        if (rm == SAFETENSORS_OK) safetensors_close(fm);
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
    const tu_expected *exp = (const tu_expected *)*state;
    size_t i, failures = 0, checked = 0;
    for (i = 0; i < exp->count; i++) {
        const tu_exp_file *e = &exp->files[i];
        char path[512];
        size_t len;
        unsigned char *bytes;
        safetensors_file *f = NULL;
        safetensors_error err;
        safetensors_result r;
        int phase;
        if (e->accept) continue;
        phase = reference_phase(e->reason);
        if (phase == PH_UNKNOWN) { tu_report(&failures, e->file, "unknown reference reason \"%s\"", e->reason); continue; }
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { tu_report(&failures, e->file, "cannot read"); continue; }
        r = safetensors_open_memory(bytes, len, NULL, &f, &err);
        if (r == SAFETENSORS_OK) safetensors_close(f);
        else if (!code_allowed(phase, r))
            tu_report(&failures, e->file, "%s (%s) but the reference says \"%s\"", safetensors_result_name(r),
                   err.message, e->reason);
        /* Length-prefix faults have documented offsets. */
        if (r == SAFETENSORS_ERR_HEADER_TOO_SMALL && err.offset != len)
            tu_report(&failures, e->file, "TOO_SMALL offset %llu, expected %zu", (unsigned long long)err.offset, len);
        if (r == SAFETENSORS_ERR_HEADER_TOO_LARGE && err.offset != 0)
            tu_report(&failures, e->file, "TOO_LARGE offset %llu, expected 0", (unsigned long long)err.offset);
        if (r == SAFETENSORS_ERR_HEADER_LENGTH && err.offset != len)
            tu_report(&failures, e->file, "HEADER_LENGTH offset %llu, expected %zu", (unsigned long long)err.offset, len);
        /* Offsets never point past the end of the file. */
        if (r != SAFETENSORS_OK && err.offset > len)
            tu_report(&failures, e->file, "offset %llu is past the end (%zu)", (unsigned long long)err.offset, len);
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
    return cmocka_run_group_tests(tests, tu_expected_setup, tu_expected_teardown);
}
