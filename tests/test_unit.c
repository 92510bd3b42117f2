/* test_unit.c - one test per rule and per error code of safetensors.h.

   Every header here is written in the test, from the format's rules
   (tests/conformance/README.md) and the offsets documented in
   safetensors.h ("The offset is an absolute position in the file"), never
   from what the implementation happens to print. Each case is opened six
   ways and all must agree on the verdict, the code and the offset:
     open_memory, open_memory + HEADER_ONLY, the streaming parser fed one
     byte at a time (with safetensors_parser_expect_size), and by path:
     mmap, READ_INTO_MEMORY and HEADER_ONLY. Run from the repository root. */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define OK SAFETENSORS_OK
#define ANY_OFFSET 0, UINT64_MAX
#define GPT2 "tests/models/tiny-gpt2/model.safetensors"

/* ---------------------------------------------------------------------
   Scratch directory, files
   --------------------------------------------------------------------- */

static char g_dir[64];

static int group_setup(void **state) {
    (void)state;
    strcpy(g_dir, "/tmp/st_unit_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    return 0;
}

/* Whatever a failed test left in it goes too. */
static int group_teardown(void **state) {
    (void)state;
    tu_rm_tree(g_dir);
    return 0;
}

static void tmp_path(char *buf, size_t n, const char *leaf) { snprintf(buf, n, "%s/%s", g_dir, leaf); }

static int write_file(const char *path, const void *bytes, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    if (len && fwrite(bytes, 1, len, fp) != len) { fclose(fp); return -1; }
    return fclose(fp) == 0 ? 0 : -1;
}


/* ---------------------------------------------------------------------
   Opening one case every way
   --------------------------------------------------------------------- */

static const char *rname(safetensors_result r) {
    const char *s = safetensors_result_name(r);
    return s ? s : "(outside the enum)";
}

/* Checks one outcome against the expectation. `name`, when given, must be
   named (in quotes) in the message. */
static void check_outcome(const char *how, int line, safetensors_result r, const safetensors_file *f,
                          const safetensors_error *err, safetensors_result want, uint64_t lo, uint64_t hi,
                          const char *name) {
    if (r != want)
        fail_msg("line %d: %s: %s (\"%s\" at %llu), expected %s", line, how, rname(r), r ? err->message : "",
                 r ? (unsigned long long)err->offset : 0ull, rname(want));
    if (want == OK) {
        if (!f) fail_msg("line %d: %s: OK but *out is NULL", line, how);
        return;
    }
    if (f) fail_msg("line %d: %s: *out not NULL on failure", line, how);
    if (err->code != r) fail_msg("line %d: %s: err.code %d, result %d", line, how, (int)err->code, (int)r);
    if (err->offset < lo || err->offset > hi) {
        if (lo == hi)
            fail_msg("line %d: %s: %s at offset %llu, expected %llu (%s)", line, how, rname(r),
                     (unsigned long long)err->offset, (unsigned long long)lo, err->message);
        fail_msg("line %d: %s: %s at offset %llu, expected %llu..%llu (%s)", line, how, rname(r),
                 (unsigned long long)err->offset, (unsigned long long)lo, (unsigned long long)hi, err->message);
    }
    if (err->message[0] == '\0') fail_msg("line %d: %s: empty message", line, how);
    if (memchr(err->message, '\0', sizeof err->message) == NULL) fail_msg("line %d: %s: message not terminated", line, how);
    if (strchr(err->message, '\n')) fail_msg("line %d: %s: message is more than one line", line, how);
    if (r != SAFETENSORS_ERR_IO && err->sys_errno != 0)
        fail_msg("line %d: %s: sys_errno %d for %s", line, how, err->sys_errno, rname(r));
    if (name) {
        char quoted[256];
        snprintf(quoted, sizeof quoted, "\"%s\"", name);
        if (!strstr(err->message, quoted))
            fail_msg("line %d: %s: message \"%s\" does not name %s", line, how, err->message, quoted);
    }
}

/* The streaming parser, one byte at a time, told the size first. */
static safetensors_result parse_bytewise(const unsigned char *b, size_t len, const safetensors_options *opt,
                                         safetensors_file **out, safetensors_error *err) {
    safetensors_parser *p = NULL;
    size_t pos, total = 0;
    int done = 0;
    safetensors_result r = safetensors_parser_create(opt, &p, err);
    *out = NULL;
    if (r != OK) return r;
    assert_int_equal(safetensors_parser_expect_size(p, (uint64_t)len), OK);
    for (pos = 0; pos < len && !done; pos++) {
        size_t used = 0;
        r = safetensors_parser_feed(p, b + pos, 1, &used, &done, err);
        if (r != OK) {
            safetensors_parser_destroy(p);
            return r;
        }
        total += used;
    }
    r = safetensors_parser_finish(p, done ? (uint64_t)(len - total) : 0u, out, err);
    safetensors_parser_destroy(p);
    return r;
}

/* Opens (b, len) six ways; each must give `want` with the offset in
   [lo, hi]; accepted tables must agree and hold the right data. */
static void run_all(const unsigned char *b, size_t len, const safetensors_options *opt, safetensors_result want,
                    uint64_t lo, uint64_t hi, const char *name, int line) {
    safetensors_options o, oh;
    safetensors_file *fm = NULL, *f = NULL;
    safetensors_error err;
    safetensors_result r;
    char path[128], why[256];
    size_t i;
    static const unsigned path_flags[3] = {0u, SAFETENSORS_READ_INTO_MEMORY, SAFETENSORS_HEADER_ONLY};
    static const char *const path_how[3] = {"open (mmap)", "open (READ_INTO_MEMORY)", "open (HEADER_ONLY)"};

    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    oh = o;
    oh.flags |= SAFETENSORS_HEADER_ONLY;

    memset(&err, 0, sizeof err);
    fm = (safetensors_file *)&o;  /* a non-NULL sentinel: failure must reset it */
    r = safetensors_open_memory(b, len, &o, &fm, &err);
    check_outcome("open_memory", line, r, fm, &err, want, lo, hi, name);
    if (r == OK) {
        for (i = 0; i < safetensors_tensor_count(fm); i++) {
            const safetensors_tensor *t = safetensors_tensor_at(fm, i);
            if ((const unsigned char *)t->data != b + safetensors_data_start(fm) + t->begin)
                fail_msg("line %d: open_memory: tensor %zu data is not bytes + data_start + begin", line, i);
        }
    }

    memset(&err, 0, sizeof err);
    r = safetensors_open_memory(b, len, &oh, &f, &err);
    check_outcome("open_memory (HEADER_ONLY)", line, r, f, &err, want, lo, hi, name);
    if (r == OK) {
        if (tu_table_diff(fm, f, why, sizeof why)) fail_msg("line %d: HEADER_ONLY table: %s", line, why);
        for (i = 0; i < safetensors_tensor_count(f); i++)
            if (safetensors_tensor_at(f, i)->data != NULL) fail_msg("line %d: HEADER_ONLY: data not NULL", line);
        safetensors_close(f);
    }

    memset(&err, 0, sizeof err);
    r = parse_bytewise(b, len, &o, &f, &err);
    check_outcome("parser (byte by byte)", line, r, f, &err, want, lo, hi, name);
    if (r == OK) {
        if (tu_table_diff(fm, f, why, sizeof why)) fail_msg("line %d: parser table: %s", line, why);
        safetensors_close(f);
    }

    tmp_path(path, sizeof path, "case.safetensors");
    if (write_file(path, b, len) != 0) fail_msg("line %d: cannot write %s", line, path);
    for (i = 0; i < 3; i++) {
        safetensors_options po = o;
        size_t k;
        po.flags |= path_flags[i];
        memset(&err, 0, sizeof err);
        f = (safetensors_file *)&o;
        r = safetensors_open(path, &po, &f, &err);
        check_outcome(path_how[i], line, r, f, &err, want, lo, hi, name);
        if (r != OK) continue;
        if (tu_table_diff(fm, f, why, sizeof why)) fail_msg("line %d: %s table: %s", line, path_how[i], why);
        for (k = 0; k < safetensors_tensor_count(f); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f, k);
            size_t n = (size_t)(t->end - t->begin);
            if (path_flags[i] == SAFETENSORS_HEADER_ONLY) {
                if (t->data) fail_msg("line %d: %s: data not NULL", line, path_how[i]);
            } else if (n && (!t->data || memcmp(t->data, b + safetensors_data_start(f) + t->begin, n) != 0)) {
                fail_msg("line %d: %s: tensor %zu holds other bytes than the file", line, path_how[i], k);
            }
        }
        safetensors_close(f);
    }
    unlink(path);
    if (want == OK) safetensors_close(fm);
}

static void check_case(const char *hdr, size_t hlen, size_t data_len, const safetensors_options *opt,
                       safetensors_result want, uint64_t lo, uint64_t hi, const char *name, int line) {
    size_t len = 0;
    unsigned char *b = tu_build_n(hdr, hlen, data_len, &len);
    assert_non_null(b);
    run_all(b, len, opt, want, lo, hi, name, line);
    free(b);
}

/* h: a NUL-free header; data: data bytes after it. */
#define REJECT(h, data, code, off) check_case((h), strlen(h), (data), NULL, (code), (off), (off), NULL, __LINE__)
#define REJECT_NAMED(h, data, code, off, nm) \
    check_case((h), strlen(h), (data), NULL, (code), (off), (off), (nm), __LINE__)
#define REJECT_RANGE(h, data, code, lo, hi) check_case((h), strlen(h), (data), NULL, (code), (lo), (hi), NULL, __LINE__)
#define ACCEPT(h, data) check_case((h), strlen(h), (data), NULL, OK, 0, 0, NULL, __LINE__)
/* Headers with NUL bytes: a char array. */
#define REJECT_ARR(a, data, code, off) check_case((a), sizeof(a) - 1, (data), NULL, (code), (off), (off), NULL, __LINE__)
#define ACCEPT_ARR(a, data) check_case((a), sizeof(a) - 1, (data), NULL, OK, 0, 0, NULL, __LINE__)

/* An accepted case kept open (open_memory) for inspection. */
typedef struct held {
    unsigned char *bytes;
    size_t len;
    safetensors_file *f;
} held;

static held hold_(const char *hdr, size_t hlen, size_t data_len, const safetensors_options *opt, int line) {
    held h;
    safetensors_error err;
    h.len = 0;
    safetensors_result r;
    h.bytes = tu_build_n(hdr, hlen, data_len, &h.len);
    assert_non_null(h.bytes);
    run_all(h.bytes, h.len, opt, OK, 0, 0, NULL, line);
    r = safetensors_open_memory(h.bytes, h.len, opt, &h.f, &err);
    if (r != OK) fail_msg("line %d: %s", line, err.message);
    return h;
}
#define HOLD(h, data) hold_((h), strlen(h), (data), NULL, __LINE__)
#define HOLD_ARR(a, data) hold_((a), sizeof(a) - 1, (data), NULL, __LINE__)

static void release(held *h) {
    safetensors_close(h->f);
    free(h->bytes);
    h->f = NULL;
    h->bytes = NULL;
}

static const safetensors_tensor *must_find(const safetensors_file *f, const char *name, size_t n) {
    const safetensors_tensor *t = safetensors_find(f, name, n);
    if (!t) fail_msg("tensor \"%.*s\" not found", (int)n, name);
    return t;
}

static void assert_name(const safetensors_tensor *t, const char *name, size_t n) {
    assert_non_null(t);
    assert_int_equal(t->name_len, n);
    assert_memory_equal(t->name, name, n);
    assert_int_equal(t->name[n], '\0');
}

/* The i-th metadata entry of f, which must be there. */
static safetensors_metadata_entry meta_at(const safetensors_file *f, size_t i) {
    safetensors_metadata_entry e;
    if (safetensors_metadata_at(f, i, &e) != 1) fail_msg("metadata_at(%zu) returns 0", i);
    return e;
}

/* The metadata entry of f whose key is key[0..n), which must be there. */
static safetensors_metadata_entry meta_find(const safetensors_file *f, const char *key, size_t n) {
    safetensors_metadata_entry e;
    if (safetensors_metadata_find(f, key, n, &e) != 1) fail_msg("metadata key \"%.*s\" not found", (int)n, key);
    return e;
}

/* No metadata key key[0..n) in f: find returns 0, zeroes the entry it was
   given whatever it held, and takes a NULL one. */
static void assert_no_meta_key(const safetensors_file *f, const char *key, size_t n) {
    safetensors_metadata_entry e;
    tu_entry_stale(&e);
    assert_int_equal(safetensors_metadata_find(f, key, n, &e), 0);
    assert_true(tu_entry_zeroed(&e));
    assert_int_equal(safetensors_metadata_find(f, key, n, NULL), 0);
}

/* No i-th metadata entry in f: as assert_no_meta_key, for metadata_at. */
static void assert_no_meta_at(const safetensors_file *f, size_t i) {
    safetensors_metadata_entry e;
    tu_entry_stale(&e);
    assert_int_equal(safetensors_metadata_at(f, i, &e), 0);
    assert_true(tu_entry_zeroed(&e));
    assert_int_equal(safetensors_metadata_at(f, i, NULL), 0);
}

/* Names in iteration order, comma-separated (names here are plain). */
static void assert_order(const safetensors_file *f, const char *const *names, size_t n) {
    size_t i;
    assert_int_equal(safetensors_tensor_count(f), n);
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        if (!t || t->name_len != strlen(names[i]) || memcmp(t->name, names[i], t->name_len) != 0)
            fail_msg("tensor %zu is \"%.*s\", expected \"%s\"", i, t ? (int)t->name_len : 0, t ? t->name : "",
                     names[i]);
    }
    assert_null(safetensors_tensor_at(f, n));
}

/* A tensor entry in the writer's compact layout. */
#define ENT(name, dtype, shape, b, e) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"
#define W8 ENT("w", "F32", "[2]", "0", "8")  /* a valid 8-byte tensor */

/* ---------------------------------------------------------------------
   Rule 1: the length prefix
   --------------------------------------------------------------------- */

static void test_too_small(void **state) {
    unsigned char b[8];
    size_t n;
    (void)state;
    memset(b, 0, sizeof b);
    for (n = 0; n < 8; n++) run_all(b, n, NULL, SAFETENSORS_ERR_HEADER_TOO_SMALL, n, n, NULL, __LINE__);
    {
        safetensors_file *f = NULL;
        safetensors_error err;
        assert_int_equal(safetensors_open_memory(NULL, 0, NULL, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
        assert_int_equal(err.offset, 0);
        assert_null(f);
    }
}

static void test_too_large(void **state) {
    const char *h = "{" W8 "}";
    size_t len = 0;
    unsigned char *b;
    safetensors_options o;
    (void)state;
    /* N one above the default limit, in an 8-byte file: too large beats the length check */
    b = tu_build_raw(100000001u, "", 0, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, 0, NULL, __LINE__);
    free(b);
    b = tu_build_raw(UINT64_MAX, "", 0, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, 0, NULL, __LINE__);
    free(b);
    b = tu_build_raw(UINT64_MAX - 7u, "{}", 2, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, 0, NULL, __LINE__);
    free(b);
    /* N exactly at the limit is allowed: the file is then too short */
    b = tu_build_raw(100000000u, "", 0, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_LENGTH, 8, 8, NULL, __LINE__);
    free(b);
    /* a zeroed max_header_size is the default */
    memset(&o, 0, sizeof o);
    b = tu_build_raw(100000001u, "", 0, 0, &len);
    run_all(b, len, &o, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, 0, NULL, __LINE__);
    free(b);
    /* raised: N above the default is now only too long for the file */
    o.max_header_size = 200000000u;
    b = tu_build_raw(150000000u, "", 0, 0, &len);
    run_all(b, len, &o, SAFETENSORS_ERR_HEADER_LENGTH, 8, 8, NULL, __LINE__);
    free(b);
    /* lowered: a valid file with N one above the limit */
    o.max_header_size = strlen(h) - 1;
    check_case(h, strlen(h), 8, &o, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, 0, NULL, __LINE__);
    o.max_header_size = strlen(h);
    check_case(h, strlen(h), 8, &o, OK, 0, 0, NULL, __LINE__);
}

static void test_header_length(void **state) {
    const char *h = "{" W8 "}";
    size_t hl = strlen(h), len, cut;
    unsigned char *b;
    (void)state;
    /* every cut inside the header: HEADER_LENGTH at the file's length */
    b = tu_build(h, 8, &len);
    for (cut = 8; cut < 8 + hl; cut++) run_all(b, cut, NULL, SAFETENSORS_ERR_HEADER_LENGTH, cut, cut, NULL, __LINE__);
    free(b);
    /* the length check comes before the JSON: bad JSON inside a header that
       runs past the end is still HEADER_LENGTH */
    b = tu_build_raw(1000, "]]]", 3, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_LENGTH, 11, 11, NULL, __LINE__);
    free(b);
    b = tu_build_raw(1000, "\xff\xfe", 2, 0, &len);
    run_all(b, len, NULL, SAFETENSORS_ERR_HEADER_LENGTH, 10, 10, NULL, __LINE__);
    free(b);
}

/* The parser on a header that runs past the end: with expect_size it is
   HEADER_LENGTH as soon as the length is in; without, at finish (or earlier
   by what the JSON shows). */
static void test_header_length_parser(void **state) {
    const char *h = "{" W8 "}";
    size_t len = 0, used = 0;
    unsigned char *b;
    safetensors_parser *p;
    safetensors_file *f;
    safetensors_error err;
    int done = 0;
    (void)state;
    b = tu_build(h, 8, &len);
    len = 8 + 10; /* the file ends 10 bytes into the header */

    /* with expect_size: refused once the 8 length bytes are in */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_expect_size(p, (uint64_t)len), OK);
    assert_int_equal(safetensors_parser_feed(p, b, 7, &used, &done, &err), OK);
    assert_int_equal(used, 7);
    assert_int_equal(safetensors_parser_feed(p, b + 7, 1, &used, &done, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, len);
    assert_int_equal(done, 0);
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_parser_finish(p, 0, &f, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, len);
    assert_null(f);
    safetensors_parser_destroy(p);

    /* without: the feed takes everything, then finish reports it */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(used, len);
    assert_int_equal(done, 0);
    assert_int_equal(safetensors_parser_finish(p, 0, &f, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, len);
    assert_null(f);
    safetensors_parser_destroy(p);

    /* without, when the bytes that did arrive are bad JSON: the JSON fault */
    free(b);
    b = tu_build_raw(1000, "{]", 2, 0, &len);
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), SAFETENSORS_ERR_JSON);
    assert_int_equal(err.offset, 9);
    safetensors_parser_destroy(p);
    /* with expect_size the same bytes are HEADER_LENGTH (the reference's order) */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_expect_size(p, (uint64_t)len), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, len);
    safetensors_parser_destroy(p);
    free(b);

    /* expect_size only before the first feed */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, "\x02", 1, &used, &done, &err), OK);
    assert_int_equal(safetensors_parser_expect_size(p, 100), SAFETENSORS_ERR_ARGUMENT);
    safetensors_parser_destroy(p);
    assert_int_equal(safetensors_parser_expect_size(NULL, 100), SAFETENSORS_ERR_ARGUMENT);
}

/* ---------------------------------------------------------------------
   Rule 2: UTF-8 and JSON
   --------------------------------------------------------------------- */

/* bad bytes placed inside a string at several places; `k` is the index in
   `bad` of the first byte that cannot be accepted. */
static void utf8_case(const char *bad, size_t k, int line) {
    static const char *const pre[] = {
        "{\"__metadata__\":{\"k\":\"a",                                    /* a metadata value */
        "{\"__metadata__\":{\"a",                                          /* a metadata key */
        "{\"a",                                                            /* a tensor name */
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":\"a", /* an ignored string */
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"a",       /* an ignored key */
        "{\"w\":{\"dtype\":\"F",                                           /* a dtype */
        "{\"w\":{\"a",                                                     /* a field key */
    };
    static const char *const post[] = {
        "\"}}",
        "\":\"v\"}}",
        "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "\"}}",
        "\":1}}",
        "\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "\":1,\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
    };
    size_t i;
    for (i = 0; i < sizeof pre / sizeof *pre; i++) {
        char h[512];
        size_t pl = strlen(pre[i]);
        snprintf(h, sizeof h, "%s%s%s", pre[i], bad, post[i]);
        check_case(h, strlen(h), 8, NULL, SAFETENSORS_ERR_UTF8, 8 + pl + k, 8 + pl + k, NULL, line);
    }
}

static void test_utf8(void **state) {
    (void)state;
    utf8_case("\xc0\x80", 0, __LINE__);             /* overlong NUL: C0 is never a lead byte */
    utf8_case("\xc1\xbf", 0, __LINE__);             /* overlong */
    utf8_case("\xe0\x80\x80", 1, __LINE__);         /* overlong 3-byte */
    utf8_case("\xe0\x9f\xbf", 1, __LINE__);         /* overlong 3-byte, top */
    utf8_case("\xed\xa0\x80", 1, __LINE__);         /* U+D800 encoded */
    utf8_case("\xed\xbf\xbf", 1, __LINE__);         /* U+DFFF encoded */
    utf8_case("\xf0\x80\x80\x80", 1, __LINE__);     /* overlong 4-byte */
    utf8_case("\xf4\x90\x80\x80", 1, __LINE__);     /* above U+10FFFF */
    utf8_case("\xf5\x80\x80\x80", 0, __LINE__);     /* never a lead byte */
    utf8_case("\xf8\x88\x80\x80\x80", 0, __LINE__); /* 5-byte form */
    utf8_case("\xfe", 0, __LINE__);
    utf8_case("\xff", 0, __LINE__);
    utf8_case("\x80", 0, __LINE__);                 /* stray continuation */
    utf8_case("\xbf", 0, __LINE__);
    utf8_case("\xc3\xa9\x80", 2, __LINE__);         /* é then a stray continuation */
    utf8_case("\xe2\x82", 2, __LINE__);             /* truncated: the closing quote is not a continuation */
    utf8_case("\xc3", 1, __LINE__);
    utf8_case("\xf0\x9f\x98", 3, __LINE__);
    utf8_case("\xe2" "A", 1, __LINE__);             /* truncated by an ASCII byte */
    utf8_case("\xc3\xc3\xa9", 1, __LINE__);         /* a lead byte where a continuation must be */
}

static void test_utf8_valid(void **state) {
    /* every length of sequence, at the edges of each range */
    const char *h = "{\"__metadata__\":{\"k\":\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
                    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"},\"\xe2\x82\xac\xf0\x9f\x98\x80\":{\"dtype\":\"U8\",\"shape\":[1],"
                    "\"data_offsets\":[0,1]}}";
    held x;
    safetensors_metadata_entry m;
    (void)state;
    x = HOLD(h, 1);
    m = meta_find(x.f, "k", 1);
    assert_int_equal(m.value_len, 1 + 2 + 2 + 3 + 3 + 3 + 3 + 4 + 4);
    assert_memory_equal(m.value, "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
                                 "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", m.value_len);
    assert_name(safetensors_tensor_at(x.f, 0), "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
    release(&x);
}

/* Invalid UTF-8 where no JSON token may stand, or cut by the end of the
   header: the header is not UTF-8 (rule 2, checked first by the reference). */
static void test_utf8_outside_strings(void **state) {
    const char *h1 = "{\"w\":\xff}";
    const char *h2 = "{\"a\xe2\x82";
    safetensors_file *f;
    safetensors_error err;
    size_t len = 0;
    unsigned char *b;
    safetensors_result r;
    (void)state;
    b = tu_build(h1, 0, &len);
    r = safetensors_open_memory(b, len, NULL, &f, &err);
    assert_int_equal(r, SAFETENSORS_ERR_UTF8);
    assert_int_equal(err.offset, tu_pos(h1, "\xff"));
    free(b);
    /* the header ends inside a UTF-8 sequence (and inside the JSON) */
    b = tu_build(h2, 0, &len);
    r = safetensors_open_memory(b, len, NULL, &f, &err);
    assert_int_equal(r, SAFETENSORS_ERR_UTF8);
    assert_int_equal(err.offset, 8 + strlen(h2));
    free(b);
}

static void test_json_padding(void **state) {
    static const char nul_after[] = "{" W8 "}\0\0\0";
    static const char nul_before[] = "\0{" W8 "}";
    static const char nul_inside[] = "{\"w\0\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const char *h;
    (void)state;
    /* JSON whitespace before and after: space, tab, LF, CR */
    ACCEPT(" \t\r\n{" W8 "} \t\r\n", 8);
    ACCEPT("{" W8 "}          ", 8);
    /* and between every token */
    ACCEPT(" {\n\t\"w\" \r: {\"dtype\" :\t\"F32\" , \"shape\" : [ 2 ] ,\"data_offsets\": [ 0 ,\n8 ] } \n} ", 8);
    REJECT_ARR(nul_after, 8, SAFETENSORS_ERR_JSON, 8 + sizeof nul_after - 4);
    REJECT_ARR(nul_before, 8, SAFETENSORS_ERR_JSON, 8);
    REJECT_ARR(nul_inside, 8, SAFETENSORS_ERR_JSON, 8 + 3);
    h = "{" W8 "}\f";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "\f"));
    h = "\f{" W8 "}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8);
    h = "{\f" W8 "}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 9);
    h = "\v{" W8 "}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8);
    h = "\xc2\xa0{" W8 "}"; /* U+00A0 is not JSON whitespace */
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8);
    h = "\xef\xbb\xbf{" W8 "}"; /* BOM */
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8);
    h = "{" W8 "}x";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "x"));
    h = "{" W8 "}{}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "}{") + 1);
    h = "{" W8 "} }";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "} }") + 2);
}

static void test_json_syntax(void **state) {
    const char *h;
    (void)state;
    /* a header that ends inside the JSON value: 8 + N */
    REJECT("", 0, SAFETENSORS_ERR_JSON, 8);
    REJECT("   ", 0, SAFETENSORS_ERR_JSON, 11);
    REJECT("{", 0, SAFETENSORS_ERR_JSON, 9);
    REJECT("{\"a\"", 0, SAFETENSORS_ERR_JSON, 12);
    REJECT("{\"a", 0, SAFETENSORS_ERR_JSON, 11);
    REJECT("{\"a\":", 0, SAFETENSORS_ERR_JSON, 13);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":tr";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":\"abc\\";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":\"\\u00";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":-12";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, 8 + strlen(h));
    /* trailing comma */
    h = "{" W8 ",}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, ",}") + 1);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, ",]") + 1);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, ",}") + 1);
    /* leading comma, missing comma, missing colon, comment, single quotes */
    REJECT("{,}", 0, SAFETENSORS_ERR_JSON, 9);
    h = "{\"w\":{\"dtype\":\"F32\" \"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "\"shape"));
    h = "{\"w\":{\"dtype\" \"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "\"F32"));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2 3],\"data_offsets\":[0,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "3]"));
    REJECT("{/*c*/}", 0, SAFETENSORS_ERR_JSON, 9);
    REJECT("{'w':1}", 0, SAFETENSORS_ERR_JSON, 9);
    REJECT("{w:1}", 0, SAFETENSORS_ERR_JSON, 9);
    REJECT("{\"a\":1:2}", 0, SAFETENSORS_ERR_SCHEMA, 13); /* 1 is no tensor entry: refused at its first byte */
    /* literals */
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":nul}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "l}") + 1);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":True}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "True"));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":nulll}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "lll}") + 2);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":fals}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "s}") + 1);
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":NaN}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "NaN"));
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":Infinity}}";
    REJECT(h, 8, SAFETENSORS_ERR_JSON, tu_pos(h, "Inf"));
    /* invalid escapes */
    h = "{\"w\\x\":1}";
    REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "x\""));
    h = "{\"w\\u12G4\":1}";
    REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "G"));
    h = "{\"w\\U0041\":1}";
    REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "U"));
    h = "{\"w\\u004\":1}";
    REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "\":1"));
    h = "{\"w\\'\":1}";
    REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "'"));
}

/* Raw control characters inside strings are refused; DEL is not a control
   character for JSON. */
static void test_control_chars(void **state) {
    char h[128];
    int c;
    (void)state;
    for (c = 1; c < 0x20; c++) {
        snprintf(h, sizeof h, "{\"a%cb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", c);
        check_case(h, strlen(h), 8, NULL, SAFETENSORS_ERR_JSON, 11, 11, NULL, __LINE__);
        snprintf(h, sizeof h, "{\"__metadata__\":{\"k\":\"%c\"}}", c);
        check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_JSON, 8 + 22, 8 + 22, NULL, __LINE__);
    }
    {
        held x = HOLD("{\"a\x7f" "b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assert_name(safetensors_tensor_at(x.f, 0), "a\x7f" "b", 3);
        release(&x);
    }
}

static char *nested(const char *prefix, int k, int objects, const char *suffix) {
    size_t pl = strlen(prefix), sl = strlen(suffix), cap = pl + sl + (size_t)k * 6 + 8, at;
    char *h = (char *)malloc(cap);
    int i;
    assert_non_null(h);
    memcpy(h, prefix, pl);
    at = pl;
    for (i = 0; i < k; i++) {
        if (objects) { memcpy(h + at, "{\"a\":", 5); at += 5; }
        else h[at++] = '[';
    }
    if (objects) h[at++] = '1';
    for (i = 0; i < k; i++) h[at++] = objects ? '}' : ']';
    memcpy(h + at, suffix, sl + 1);
    return h;
}

/* Depth: the top-level object is level 1; 127 levels pass, the 128th
   container is refused at its opening byte. */
static void test_depth(void **state) {
    const char *pre = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":";
    const char *pre_first = "{\"a\":{\"x\":";
    const char *post_first = ",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    size_t pl = strlen(pre);
    char *h;
    int objects;
    (void)state;
    for (objects = 0; objects < 2; objects++) {
        size_t step = objects ? 5 : 1;
        h = nested(pre, 125, objects, "}}"); /* 2 + 125 = 127 */
        check_case(h, strlen(h), 1, NULL, OK, 0, 0, NULL, __LINE__);
        free(h);
        h = nested(pre, 126, objects, "}}"); /* 128 */
        check_case(h, strlen(h), 1, NULL, SAFETENSORS_ERR_JSON, 8 + pl + 125 * step, 8 + pl + 125 * step, NULL,
                   __LINE__);
        free(h);
        h = nested(pre, 400, objects, "}}");
        check_case(h, strlen(h), 1, NULL, SAFETENSORS_ERR_JSON, 8 + pl + 125 * step, 8 + pl + 125 * step, NULL,
                   __LINE__);
        free(h);
        /* the ignored field before the known ones */
        h = nested(pre_first, 125, objects, post_first);
        check_case(h, strlen(h), 1, NULL, OK, 0, 0, NULL, __LINE__);
        free(h);
        h = nested(pre_first, 126, objects, post_first);
        check_case(h, strlen(h), 1, NULL, SAFETENSORS_ERR_JSON, 8 + strlen(pre_first) + 125 * step,
                   8 + strlen(pre_first) + 125 * step, NULL, __LINE__);
        free(h);
    }
    /* Inside __metadata__ nothing may nest: a container where a string must
       be is refused at its first byte as the wrong type, as the reference
       does (edge_deep_nesting_meta: "invalid type: map, expected a string"). */
    h = nested("{\"__metadata__\":{\"k\":", 126, 1, "}}");
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, 8 + 21, 8 + 21, NULL, __LINE__);
    free(h);
    h = nested("{\"__metadata__\":{\"k\":", 200, 0, "}}");
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, 8 + 21, 8 + 21, NULL, __LINE__);
    free(h);
    /* a tensor written as a deep array is refused where the array starts */
    h = nested("{\"a\":", 200, 0, "}");
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, 8 + 5, 8 + 5, "a", __LINE__);
    free(h);
}

/* Numbers in an ignored field: strict RFC 8259 grammar and the range of a
   double, as serde_json. */
static void number_case(const char *num, safetensors_result want, uint64_t k_lo, uint64_t k_hi, int line) {
    const char *pre = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":";
    char h[1024];
    assert_true(strlen(num) < 900);
    uint64_t base = 8 + strlen(pre);
    snprintf(h, sizeof h, "%s%s}}", pre, num);
    check_case(h, strlen(h), 1, NULL, want, base + k_lo, base + k_hi, NULL, line);
    /* the same number inside an ignored array, and in a nested ignored object */
    snprintf(h, sizeof h, "%s[%s]}}", pre, num);
    check_case(h, strlen(h), 1, NULL, want, base + 1 + k_lo, base + 1 + k_hi, NULL, line);
}
#define NUM_OK(n) number_case((n), OK, 0, 0, __LINE__)
#define NUM_BAD(n, k) number_case((n), SAFETENSORS_ERR_JSON, (k), (k), __LINE__)
/* out of range: somewhere in the number, up to the byte after it */
#define NUM_RANGE(n) number_case((n), SAFETENSORS_ERR_JSON, 0, strlen(n), __LINE__)

static void test_numbers_ignored(void **state) {
    char big[512];
    (void)state;
    NUM_BAD("01", 1);
    NUM_BAD("00", 1);
    NUM_BAD("-01", 2);
    NUM_BAD("1.", 2);
    NUM_BAD(".5", 0);
    NUM_BAD("-", 1);
    NUM_BAD("--1", 1);
    NUM_BAD("-.5", 1);
    NUM_BAD("+1", 0);
    NUM_BAD("1e", 2);
    NUM_BAD("1e+", 3);
    NUM_BAD("1E-", 3);
    NUM_BAD("1.e5", 2);
    NUM_BAD("1.5e", 4);
    NUM_BAD("0x10", 1);
    NUM_BAD("1e5.0", 3);
    NUM_BAD("1.5.0", 3);
    NUM_RANGE("1e999");
    NUM_RANGE("-1e999");
    NUM_RANGE("1e309");
    NUM_RANGE("1.8e308");
    NUM_RANGE("1.7976931348623159e308");
    NUM_RANGE("-1.7976931348623159e308");
    NUM_RANGE("1e99999999999999999999");
    NUM_OK("1.7976931348623157e308");
    NUM_OK("-1.7976931348623157e308");
    NUM_OK("1e308");
    NUM_OK("1e-999");
    NUM_OK("1e-99999999999999999999");
    NUM_OK("0e999");
    NUM_OK("0.0e99999999999999999999");
    NUM_OK("-0");
    NUM_OK("-0.0");
    NUM_OK("0");
    NUM_OK("1E5");
    NUM_OK("1e+5");
    NUM_OK("1.5e-5");
    NUM_OK("4.9e-324");
    NUM_OK("2.2250738585072014e-308");
    NUM_OK("18446744073709551616");
    NUM_OK("123456789012345678901234567890");
    /* integers past 2^64 are doubles: 400 digits overflow one */
    memset(big, '9', 400);
    big[400] = '\0';
    NUM_RANGE(big);
    big[0] = '1';
    memset(big + 1, '0', 399);
    NUM_RANGE(big);
    big[308] = '\0'; /* 1e307: fine */
    NUM_OK(big);
    big[0] = '-';
    big[1] = '1'; /* -1e306 */
    NUM_OK(big);
    /* leading zeros in an exponent count for nothing */
    NUM_OK("1e0000000000000000000000000000001");
    NUM_RANGE("1e0000000000000000000000000000400");
    /* zeros after the point move the exponent, not the significand */
    big[0] = '0';
    big[1] = '.';
    memset(big + 2, '0', 350);
    memcpy(big + 352, "1e400", 6); /* 1e49 */
    NUM_OK(big);
    /* digits past 2^64 count as powers of ten, and a negative exponent
       brings them back into range */
    big[0] = '1';
    memset(big + 1, '0', 400);
    memcpy(big + 401, "e-400", 6);
    NUM_OK(big);
    memcpy(big + 401, ".5", 3);
    NUM_RANGE(big);
    /* a long fraction is fine */
    big[0] = '0';
    big[1] = '.';
    memset(big + 2, '3', 400);
    big[402] = '\0';
    NUM_OK(big);
    /* other JSON values in an ignored field */
    NUM_OK("true");
    NUM_OK("false");
    NUM_OK("null");
    NUM_OK("\"s\\u0041\\n\"");
    NUM_OK("[]");
    NUM_OK("{}");
    NUM_OK("[1,[2,{\"k\":null,\"dtype\":7}],\"x\",-0.5e-3]");
}

/* Numbers in shape and data_offsets: non-negative integers below 2^64. */
static void shape_case(const char *dim, safetensors_result want, int line) {
    const char *pre = "{\"a\":{\"dtype\":\"U8\",\"shape\":[";
    char h[512];
    uint64_t at = 8 + strlen(pre);
    snprintf(h, sizeof h, "%s%s,0],\"data_offsets\":[0,0]}}", pre, dim);
    check_case(h, strlen(h), 0, NULL, want, at, at, want == SAFETENSORS_ERR_SCHEMA ? "a" : NULL, line);
}

static void offset_case(const char *num, safetensors_result want, int line) {
    const char *pre = "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,";
    char h[512];
    uint64_t at = 8 + strlen(pre);
    snprintf(h, sizeof h, "%s%s]}}", pre, num);
    check_case(h, strlen(h), 0, NULL, want, at, at, want == SAFETENSORS_ERR_SCHEMA ? "a" : NULL, line);
}

static void test_numbers_shape(void **state) {
    static const char *const bad[] = {"-0", "-1", "1.0", "1e0", "1E2", "0.5", "18446744073709551616",
                                      "99999999999999999999999", "-18446744073709551615", "true", "null",
                                      "\"1\"", "[1]", "{}"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        shape_case(bad[i], SAFETENSORS_ERR_SCHEMA, __LINE__);
        offset_case(bad[i], SAFETENSORS_ERR_SCHEMA, __LINE__);
    }
    /* grammar faults stay JSON faults, range faults too */
    {
        const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,0]}}";
        REJECT(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "1]"));
        h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e999],\"data_offsets\":[0,0]}}";
        REJECT_RANGE(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "1e"), tu_pos(h, "]"));
    }
    shape_case("18446744073709551615", OK, __LINE__);
    shape_case("9999999999999999999", OK, __LINE__);
    shape_case("10000000000000000000", OK, __LINE__);
    shape_case("0", OK, __LINE__);
    {
        held x = HOLD("{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615,0],\"data_offsets\":[0,0]}}", 0);
        const safetensors_tensor *t = must_find(x.f, "a", 1);
        assert_int_equal(t->ndim, 2);
        assert_true(t->shape[0] == UINT64_MAX);
        assert_int_equal(t->shape[1], 0);
        assert_int_equal(safetensors_tensor_element_count(t), 0);
        release(&x);
        /* 19 and 20 digits, in the writer's compact layout */
        x = HOLD("{\"a\":{\"dtype\":\"U8\",\"shape\":[9999999999999999999,0],\"data_offsets\":[0,0]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[10000000000000000000,0,1234567890123456789],\"data_offsets\":[0,0]}}",
                 0);
        t = must_find(x.f, "a", 1);
        assert_true(t->shape[0] == 9999999999999999999ull);
        t = must_find(x.f, "b", 1);
        assert_int_equal(t->ndim, 3);
        assert_true(t->shape[0] == 10000000000000000000ull);
        assert_true(t->shape[2] == 1234567890123456789ull);
        release(&x);
    }
}

/* Without a known data size (the parser with SAFETENSORS_SIZE_UNKNOWN) the
   largest offsets are accepted. */
static void test_big_offsets_unknown_size(void **state) {
    const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[0,2305843009213693951]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2305843009213693951,2305843009213693951]}}";
    size_t len = 0, used;
    int done;
    unsigned char *b = tu_build(h, 0, &len);
    safetensors_parser *p;
    safetensors_file *f;
    safetensors_error err;
    const safetensors_tensor *t;
    (void)state;
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(done, 1);
    assert_int_equal(used, len);
    assert_int_equal(safetensors_parser_finish(p, SAFETENSORS_SIZE_UNKNOWN, &f, &err), OK);
    safetensors_parser_destroy(p);
    t = must_find(f, "a", 1);
    assert_true(t->end == 2305843009213693951ull);
    assert_true(safetensors_tensor_byte_size(t) == 2305843009213693951ull);
    assert_true(safetensors_tensor_element_count(t) == 2305843009213693951ull);
    assert_true(safetensors_data_size(f) == 2305843009213693951ull);
    assert_null(t->data);
    safetensors_close(f);
    /* a known size is checked */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(safetensors_parser_finish(p, 100, &f, &err), SAFETENSORS_ERR_COVERAGE);
    assert_int_equal(err.offset, len + 100);
    safetensors_parser_destroy(p);
    free(b);
}

/* ---------------------------------------------------------------------
   Strings: surrogates, escapes, NUL
   --------------------------------------------------------------------- */

static void name_case(const char *jname, safetensors_result want, uint64_t k_lo, uint64_t k_hi, int line) {
    char h[512];
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", jname);
    check_case(h, strlen(h), 8, NULL, want, 10 + k_lo, 10 + k_hi, NULL, line);
}

static void name_decodes(const char *jname, const char *bytes, size_t n, int line) {
    char h[512];
    held x;
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", jname);
    x = hold_(h, strlen(h), 8, NULL, line);
    assert_name(safetensors_tensor_at(x.f, 0), bytes, n);
    assert_ptr_equal(safetensors_find(x.f, bytes, n), safetensors_tensor_at(x.f, 0));
    release(&x);
}

static void test_surrogates(void **state) {
    (void)state;
    /* a high surrogate left alone: the byte after it cannot be accepted */
    name_case("a\\uD800", SAFETENSORS_ERR_JSON, 7, 7, __LINE__);
    name_case("a\\ud800x", SAFETENSORS_ERR_JSON, 7, 7, __LINE__);
    name_case("a\\uD800\\n", SAFETENSORS_ERR_JSON, 8, 8, __LINE__);
    /* a low surrogate alone: refused within its escape */
    name_case("a\\uDC00", SAFETENSORS_ERR_JSON, 1, 6, __LINE__);
    name_case("a\\uDFFFb", SAFETENSORS_ERR_JSON, 1, 6, __LINE__);
    /* a high surrogate followed by another \u that is not a low one */
    name_case("a\\uD800\\u0041", SAFETENSORS_ERR_JSON, 7, 12, __LINE__);
    name_case("a\\uD800\\uD800", SAFETENSORS_ERR_JSON, 7, 12, __LINE__);
    name_case("a\\uDBFF\\uE000", SAFETENSORS_ERR_JSON, 7, 12, __LINE__);
    /* pairs decode to 4-byte UTF-8 */
    name_decodes("\\uD83D\\uDE00", "\xf0\x9f\x98\x80", 4, __LINE__);
    name_decodes("\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4, __LINE__);
    name_decodes("\\uD800\\uDC00", "\xf0\x90\x80\x80", 4, __LINE__);
    name_decodes("\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf", 4, __LINE__);
    /* in metadata and ignored strings too */
    {
        const char *h = "{\"__metadata__\":{\"k\":\"\\uDE00\"}}";
        REJECT_RANGE(h, 0, SAFETENSORS_ERR_JSON, tu_pos(h, "\\uDE"), tu_pos(h, "\\uDE") + 5);
        h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":\"\\uD800\"}}";
        REJECT(h, 1, SAFETENSORS_ERR_JSON, tu_pos(h, "\\uD800") + 6);
        h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"\\uDC00\":1}}";
        REJECT_RANGE(h, 1, SAFETENSORS_ERR_JSON, tu_pos(h, "\\uDC"), tu_pos(h, "\\uDC") + 5);
    }
}

static void test_escapes(void **state) {
    (void)state;
    name_decodes("e\\\"\\\\\\/\\b\\f\\n\\r\\tz", "e\"\\/\b\f\n\r\tz", 10, __LINE__);
    name_decodes("\\u0041\\u00e9\\u20AC\\u00E9", "A\xc3\xa9\xe2\x82\xac\xc3\xa9", 8, __LINE__);
    name_decodes("\\u007f\\u0080\\u07ff\\u0800\\uffff", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11, __LINE__);
    name_decodes("\\u001f", "\x1f", 1, __LINE__);
    name_decodes("a/b", "a/b", 3, __LINE__);
    /* metadata keys and values are decoded too */
    {
        held x = HOLD("{\"__metadata__\":{\"k\\u0065y\\n\":\"v\\t\\u00e9\\\"\"}}", 0);
        safetensors_metadata_entry m = meta_at(x.f, 0), found = meta_find(x.f, "key\n", 4);
        assert_int_equal(m.key_len, 4);
        assert_memory_equal(m.key, "key\n", 4);
        assert_int_equal(m.value_len, 5);
        assert_memory_equal(m.value, "v\t\xc3\xa9\"", 5);
        assert_int_equal(m.key[4], '\0');
        assert_int_equal(m.value[5], '\0');
        assert_true(tu_entry_same(&found, &m));
        release(&x);
    }
}

/* Keys compare after their escapes are decoded. */
static void test_escaped_keys(void **state) {
    held x;
    (void)state;
    x = HOLD("{\"a\":{\"d\\u0074ype\":\"F32\",\"sh\\u0061pe\":[2],\"data_offset\\u0073\":[0,8]}}", 8);
    assert_int_equal(must_find(x.f, "a", 1)->dtype, SAFETENSORS_F32);
    release(&x);
    x = HOLD("{\"a\":{\"\\u0064\\u0074\\u0079\\u0070\\u0065\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assert_int_equal(must_find(x.f, "a", 1)->dtype, SAFETENSORS_U8);
    release(&x);
    x = HOLD("{\"__m\\u0065tadata__\":{\"k\":\"v\"}," W8 "}", 8);
    assert_int_equal(safetensors_metadata_count(x.f), 1);
    assert_int_equal(safetensors_tensor_count(x.f), 1);
    assert_null(safetensors_find(x.f, "__metadata__", 12));
    release(&x);
    /* escaped dtype value */
    x = HOLD("{\"a\":{\"dtype\":\"F\\u0033\\u0032\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    assert_int_equal(must_find(x.f, "a", 1)->dtype, SAFETENSORS_F32);
    release(&x);
    x = HOLD("{\"a\":{\"dtype\":\"\\u0042\\u0046\\u0031\\u0036\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    assert_int_equal(must_find(x.f, "a", 1)->dtype, SAFETENSORS_BF16);
    release(&x);
    /* a key that only looks like a field when not decoded is not one */
    {
        const char *h = "{\"a\":{\"dtype\\u0000\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        REJECT_NAMED(h, 4, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "]}") + 1, "a");
    }
}

static void test_nul_in_names(void **state) {
    held x;
    const safetensors_tensor *t;
    (void)state;
    x = HOLD("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
             "\"a\\u0000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
             3);
    t = safetensors_find(x.f, "a\0b", 3);
    assert_name(t, "a\0b", 3);
    assert_int_equal(t->begin, 0);
    t = safetensors_find(x.f, "a", 1);
    assert_name(t, "a", 1);
    assert_int_equal(t->begin, 1);
    t = safetensors_find(x.f, "a\0", 2);
    assert_name(t, "a\0", 2);
    assert_int_equal(t->begin, 2);
    assert_null(safetensors_find(x.f, "a\0b\0", 4));
    assert_null(safetensors_find(x.f, "ab", 2));
    assert_null(safetensors_find(x.f, "b", 1));
    release(&x);
    /* only the decoded name counts: "a\u0000b" and "a" are different */
    x = HOLD("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assert_null(safetensors_find(x.f, "a", 1));
    assert_non_null(safetensors_find(x.f, "a\0b", 3));
    release(&x);
    /* metadata */
    x = HOLD("{\"__metadata__\":{\"k\\u0000\":\"v\\u0000w\"}}", 0);
    {
        safetensors_metadata_entry m = meta_find(x.f, "k\0", 2);
        assert_int_equal(m.value_len, 3);
        assert_memory_equal(m.value, "v\0w", 3);
        assert_no_meta_key(x.f, "k", 1);
    }
    release(&x);
}

static void test_long_name(void **state) {
    const size_t n = 100000;
    char *name = (char *)malloc(n + 1), *h = (char *)malloc(n + 128);
    size_t i;
    held x;
    (void)state;
    assert_non_null(name);
    assert_non_null(h);
    for (i = 0; i < n; i++) name[i] = (char)('a' + (i * 7) % 26);
    name[n] = '\0';
    snprintf(h, n + 128, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", name);
    x = hold_(h, strlen(h), 2, NULL, __LINE__);
    assert_name(safetensors_tensor_at(x.f, 0), name, n);
    assert_ptr_equal(safetensors_find(x.f, name, n), safetensors_tensor_at(x.f, 0));
    assert_null(safetensors_find(x.f, name, n - 1));
    release(&x);
    /* the same name as a metadata key and value */
    snprintf(h, n + 128, "{\"__metadata__\":{\"%s\":\"v\"}}", name);
    x = hold_(h, strlen(h), 0, NULL, __LINE__);
    assert_int_equal(meta_find(x.f, name, n).key_len, n);
    release(&x);
    free(name);
    free(h);
}

static void test_empty_names(void **state) {
    held x;
    (void)state;
    x = HOLD("{\"\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8);
    assert_name(safetensors_tensor_at(x.f, 0), "", 0);
    assert_ptr_equal(safetensors_find(x.f, "", 0), safetensors_tensor_at(x.f, 0));
    assert_ptr_equal(safetensors_find(x.f, "xyz", 0), safetensors_tensor_at(x.f, 0)); /* length 0 is "" */
    release(&x);
    x = HOLD("{\"__metadata__\":{\"\":\"\"}}", 0);
    assert_int_equal(safetensors_metadata_count(x.f), 1);
    assert_int_equal(meta_find(x.f, "", 0).key_len, 0);
    assert_int_equal(meta_at(x.f, 0).value_len, 0);
    assert_int_equal(meta_at(x.f, 0).value[0], '\0');
    release(&x);
}

/* ---------------------------------------------------------------------
   Rule 4: the schema
   --------------------------------------------------------------------- */

static void test_top_level(void **state) {
    (void)state;
    REJECT("[]", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("[{}]", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("\"x\"", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("1", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("-1", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("null", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("true", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT("false", 0, SAFETENSORS_ERR_SCHEMA, 8);
    REJECT(" \n [1]", 0, SAFETENSORS_ERR_SCHEMA, 11);
    REJECT("x", 0, SAFETENSORS_ERR_JSON, 8);
    REJECT("}", 0, SAFETENSORS_ERR_JSON, 8);
    ACCEPT("{}", 0);
    ACCEPT(" { } ", 0);
}

static void tensor_value_case(const char *value, int line) {
    char h[256];
    snprintf(h, sizeof h, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\": %s}", value);
    check_case(h, strlen(h), 1, NULL, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "\"w\": ") + 5, tu_pos(h, "\"w\": ") + 5, "w",
               line);
}

static void test_tensor_not_object(void **state) {
    (void)state;
    tensor_value_case("null", __LINE__);
    tensor_value_case("1", __LINE__);
    tensor_value_case("-1", __LINE__);
    tensor_value_case("\"F32\"", __LINE__);
    tensor_value_case("true", __LINE__);
    tensor_value_case("false", __LINE__);
    tensor_value_case("[]", __LINE__);
    /* the array form the reference accepts by accident is refused */
    tensor_value_case("[\"U8\",[1],[1,2]]", __LINE__);
}

static void field_value_case(const char *field, const char *value, int line) {
    char h[256];
    const char *dt = strcmp(field, "dtype") ? "\"dtype\":\"U8\"," : "";
    const char *sh = strcmp(field, "shape") ? "\"shape\":[1]," : "";
    const char *of = strcmp(field, "data_offsets") ? ",\"data_offsets\":[0,1]" : "";
    char needle[32];
    snprintf(h, sizeof h, "{\"w\":{%s%s\"%s\":%s%s}}", dt, sh, field, value, of);
    snprintf(needle, sizeof needle, "\"%s\":", field);
    check_case(h, strlen(h), 1, NULL, SAFETENSORS_ERR_SCHEMA, tu_pos(h, needle) + strlen(needle),
               tu_pos(h, needle) + strlen(needle), "w", line);
}

static void test_field_types(void **state) {
    static const char *const not_string[] = {"1", "null", "true", "false", "[\"U8\"]", "{\"U8\":null}", "{}"};
    static const char *const not_array[] = {"1", "null", "true", "\"[1]\"", "{}", "{\"0\":1}"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof not_string / sizeof *not_string; i++) field_value_case("dtype", not_string[i], __LINE__);
    for (i = 0; i < sizeof not_array / sizeof *not_array; i++) {
        field_value_case("shape", not_array[i], __LINE__);
        field_value_case("data_offsets", not_array[i], __LINE__);
    }
    /* elements of the wrong type: refused at the element */
    {
        const char *h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[[1]],\"data_offsets\":[0,1]}}";
        REJECT_NAMED(h, 1, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[1]"), "w");
        h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,null],\"data_offsets\":[0,1]}}";
        REJECT_NAMED(h, 1, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "null"), "w");
        h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,\"1\"]}}";
        REJECT_NAMED(h, 1, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "\"1\""), "w");
        h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{},1]}}";
        REJECT_NAMED(h, 1, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "{},"), "w");
    }
}

/* data_offsets must hold exactly two integers. Too few: refused where the
   array ends (or starts); too many: at the third element (or the start). */
static void test_offsets_count(void **state) {
    const char *h;
    (void)state;
    h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[]}}";
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[]"), tu_pos(h, "[]") + 1, "w", __LINE__);
    h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0]}}";
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[0]}"), tu_pos(h, "[0]}") + 2, "w", __LINE__);
    {
        uint64_t open = tu_pos(h, "[0]}"), close = open + 2, off;
        size_t len = 0;
        unsigned char *b = tu_build(h, 0, &len);
        safetensors_file *f;
        safetensors_error err;
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SCHEMA);
        off = err.offset;
        assert_true(off == open || off == close);
        free(b);
    }
    h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0,0]}}";
    {
        uint64_t open = tu_pos(h, "[0,0,0]"), third = open + 5;
        size_t len = 0;
        unsigned char *b = tu_build(h, 0, &len);
        safetensors_file *f;
        safetensors_error err;
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SCHEMA);
        assert_true(err.offset == open || err.offset == third);
        free(b);
        check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, open, third, "w", __LINE__);
    }
    h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0,\"x\",[]]}}";
    check_case(h, strlen(h), 0, NULL, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[0,0,"), tu_pos(h, "\"x\""), "w", __LINE__);
}

static void test_missing_fields(void **state) {
    const char *h;
    (void)state;
    h = "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "]}") + 1, "w");
    h = "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "]}") + 1, "w");
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "]}") + 1, "w");
    h = "{\"w\":{}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_SCHEMA, 8 + 6, "w");
    h = "{\"w\":{ \"x\":1 }}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "}}"), "w");
    /* the first entry is complete; the second misses data_offsets */
    h = "{" W8 ",\"v\":{\"dtype\":\"F32\",\"shape\":[0]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[0]}") + 3, "v");
    /* the message says which field is missing */
    {
        safetensors_file *f;
        safetensors_error err;
        size_t len = 0;
        unsigned char *b;
        h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}";
        b = tu_build(h, 8, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SCHEMA);
        assert_non_null(strstr(err.message, "data_offsets"));
        free(b);
        h = "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}";
        b = tu_build(h, 8, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SCHEMA);
        assert_non_null(strstr(err.message, "shape"));
        free(b);
        h = "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}";
        b = tu_build(h, 8, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SCHEMA);
        assert_non_null(strstr(err.message, "dtype"));
        free(b);
    }
}

static void test_duplicate_fields(void **state) {
    const char *h;
    (void)state;
    h = "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"dtype\"", 2), "w");
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"shape\"", 2), "w");
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"data_offsets\"", 2), "w");
    /* equal only after decoding */
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"d\\u0074ype\":\"F32\",\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos(h, "\"d\\u"), "w");
    /* a repeat is refused even when its value is of the wrong type */
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"dtype\":null}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"dtype\"", 2), "w");
}

static void test_unknown_fields(void **state) {
    held x;
    const safetensors_tensor *t;
    (void)state;
    x = HOLD("{\"w\":{\"n\":null,\"t\":true,\"f\":false,\"i\":-1.5e3,\"s\":\"str\\u0041\","
             "\"a\":[1,[2,{}],\"x\",null],\"o\":{\"dtype\":1,\"shape\":\"no\",\"data_offsets\":{}},"
             "\"dtype\":\"F32\",\"\":0,\"DTYPE\":\"zz\",\"dtype \":7,\"shape\":[2],\"data_offsets_\":\"x\","
             "\"data_offsets\":[0,8],\"after\":{\"deep\":[[[{\"k\":[]}]]]}}}",
             8);
    t = must_find(x.f, "w", 1);
    assert_int_equal(t->dtype, SAFETENSORS_F32);
    assert_int_equal(t->ndim, 1);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->end, 8);
    release(&x);
    /* a repeated unknown field is accepted */
    x = HOLD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1,\"x\":2,\"x\":{\"x\":1,\"x\":2}}}", 1);
    release(&x);
    /* field names longer than any known field */
    x = HOLD("{\"a\":{\"dtype_but_much_longer_than_sixteen\":1,\"dtype\":\"U8\",\"shape\":[1],"
             "\"data_offsets_and_then_some\":[9],\"data_offsets\":[0,1]}}",
             1);
    release(&x);
    /* a case-different field does not count */
    {
        const char *h = "{\"a\":{\"DTYPE\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        REJECT_NAMED(h, 1, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "]}") + 1, "a");
    }
}

/* Strings that may be a field name or a dtype are kept in a 16-byte
   scratch; longer ones must be told apart without touching memory past it,
   however their bytes arrive: more of a string already past 16 bytes (after
   an escape or a multi-byte character, or in a later chunk) once pointed
   past the scratch, which UBSan reported under make check. */
static void test_long_scratch_strings(void **state) {
    const char *h;
    (void)state;
    /* an unknown field name of 17 bytes, then an escape: ignored */
    ACCEPT("{\"a\":{\"aaaaaaaaaaaaaaaaa\\n\":1,\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    ACCEPT("{\"a\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xc3\xa9\":1,\"dtype\":\"U8\",\"shape\":[1],"
           "\"data_offsets\":[0,1]}}",
           1);
    /* exactly 16 and 17 bytes */
    ACCEPT("{\"a\":{\"aaaaaaaaaaaaaaaa\":1,\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    ACCEPT("{\"a\":{\"aaaaaaaaaaaaaaaaa\":1,\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    /* a dtype of 17 bytes, then an escape */
    h = "{\"a\":{\"dtype\":\"F32F32F32F32F32F3\\u0032\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F32F"), "a");
    /* a known dtype name followed by more than 16 bytes is not that dtype */
    h = "{\"a\":{\"dtype\":\"F32\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000"
        "\\u0000\\u0000\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F32"), "a");
    /* "dtype" spelled with 16 escapes of nothing after it is not dtype */
    h = "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4],\"dtype\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000"
        "\\u0000\\u0000\\u0000\\u0000\":\"F32\"}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "}}"), "a");
}

static void test_dtype_names(void **state) {
    const char *h;
    (void)state;
    h = "{\"w\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F31\""), "w");
    h = "{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"f32\""), "w");
    h = "{\"w\":{\"dtype\":\"bf16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"bf16\""), "w");
    h = "{\"w\":{\"dtype\":\"F32 \",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F32 \""), "w");
    h = "{\"w\":{\"dtype\":\" F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\" F32\""), "w");
    h = "{\"w\":{\"dtype\":\"\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"\""), "w");
    h = "{\"w\":{\"dtype\":\"F32\\u0000\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F32\\"), "w");
    h = "{\"w\":{\"dtype\":\"F8_E4M3FNUZ_LONGER_THAN_SIXTEEN\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    REJECT_NAMED(h, 2, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F8_"), "w");
    h = "{\"w\":{\"dtype\":\"I4\",\"shape\":[2],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"I4\""), "w");
    h = "{\"w\":{\"dtype\":\"C128\",\"shape\":[1],\"data_offsets\":[0,16]}}";
    REJECT_NAMED(h, 16, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"C128\""), "w");
    h = "{\"w\":{\"dtype\":\"F6\",\"shape\":[4],\"data_offsets\":[0,3]}}";
    REJECT_NAMED(h, 3, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"F6\""), "w");
    h = "{\"w\":{\"dtype\":\"FLOAT\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"FLOAT\""), "w");
    /* with the dtype last, after shape and offsets */
    h = "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8],\"dtype\":\"X\"}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DTYPE, tu_pos(h, "\"X\""), "w");
}

static void test_metadata(void **state) {
    held x;
    safetensors_metadata_entry m, at1;
    const char *h;
    (void)state;
    /* absent, null, empty */
    x = HOLD("{" W8 "}", 8);
    assert_int_equal(safetensors_metadata_count(x.f), 0);
    assert_no_meta_at(x.f, 0);
    assert_no_meta_key(x.f, "k", 1);
    release(&x);
    x = HOLD("{\"__metadata__\":null," W8 "}", 8);
    assert_int_equal(safetensors_metadata_count(x.f), 0);
    release(&x);
    x = HOLD("{\"__metadata__\":{}," W8 "}", 8);
    assert_int_equal(safetensors_metadata_count(x.f), 0);
    release(&x);
    /* only metadata, no tensors */
    x = HOLD("{\"__metadata__\":{\"format\":\"pt\"}}", 0);
    assert_int_equal(safetensors_tensor_count(x.f), 0);
    assert_int_equal(safetensors_data_size(x.f), 0);
    release(&x);
    /* file order, at the start, the end and the middle */
    x = HOLD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
             "\"__metadata__\":{\"z\":\"1\",\"a\":\"22\",\"m\":\"\"},"
             "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
             2);
    assert_int_equal(safetensors_metadata_count(x.f), 3);
    assert_string_equal(meta_at(x.f, 0).key, "z");
    assert_string_equal(meta_at(x.f, 1).key, "a");
    assert_string_equal(meta_at(x.f, 2).key, "m");
    assert_no_meta_at(x.f, 3);
    m = meta_find(x.f, "a", 1);
    at1 = meta_at(x.f, 1);
    assert_true(tu_entry_same(&m, &at1));
    assert_int_equal(m.value_len, 2);
    assert_string_equal(m.value, "22");
    assert_int_equal(m.key_len, 1);
    assert_no_meta_key(x.f, "A", 1);
    assert_no_meta_key(x.f, "a ", 2);
    assert_no_meta_key(x.f, "format", 6);
    assert_int_equal(safetensors_tensor_count(x.f), 2);
    release(&x);
    /* wrong types */
    REJECT("{\"__metadata__\":[]}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":[\"a\",\"b\"]}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":\"x\"}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":1}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":true}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":false}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 16);
    REJECT("{\"__metadata__\":{\"k\":1}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 21);
    REJECT("{\"__metadata__\":{\"k\":null}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 21);
    REJECT("{\"__metadata__\":{\"k\":true}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 21);
    REJECT("{\"__metadata__\":{\"k\":[]}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 21);
    REJECT("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 21);
    REJECT("{\"__metadata__\":{\"a\":\"b\",\"k\":-0}}", 0, SAFETENSORS_ERR_SCHEMA, 8 + 29);
    /* a tensor-shaped __metadata__ is metadata with a non-string value */
    h = "{\"__metadata__\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "[8]"));
    /* duplicates */
    h = "{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}";
    REJECT(h, 0, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"k\"", 2));
    h = "{\"__metadata__\":{\"k\":\"1\",\"\\u006b\":\"1\"}}";
    REJECT(h, 0, SAFETENSORS_ERR_DUPLICATE, tu_pos(h, "\"\\u"));
    h = "{\"__metadata__\":{\"k\":\"1\"}," W8 ",\"__metadata__\":{\"j\":\"2\"}}";
    REJECT(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"__metadata__\"", 2));
    h = "{\"__metadata__\":null,\"__metadata__\":null}";
    REJECT(h, 0, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"__metadata__\"", 2));
    h = "{\"__metadata__\":{},\"__m\\u0065tadata__\":{}}";
    REJECT(h, 0, SAFETENSORS_ERR_DUPLICATE, tu_pos(h, "\"__m\\u"));
    /* near misses are tensor names */
    h = "{\"__metadata_\":{\"k\":\"v\"}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_SCHEMA, tu_pos(h, "}}"), "__metadata_");
}

/* The metadata accessors fill an entry of the caller's: 1 and the entry
   when it is there, 0 and the entry zeroed (whatever it held) when it is
   not; a NULL out only asks whether it is there. The strings the entry
   points to live until the file is closed. */
static void test_metadata_out(void **state) {
    held x;
    safetensors_metadata_entry e, again;
    (void)state;
    x = HOLD("{\"__metadata__\":{\"k\":\"v\",\"key2\":\"value2\"}," W8 "}", 8);
    /* there: filled in over what the entry held */
    tu_entry_stale(&e);
    assert_int_equal(safetensors_metadata_at(x.f, 1, &e), 1);
    assert_int_equal(e.key_len, 4);
    assert_string_equal(e.key, "key2");
    assert_int_equal(e.value_len, 6);
    assert_string_equal(e.value, "value2");
    tu_entry_stale(&again);
    assert_int_equal(safetensors_metadata_find(x.f, "key2", 4, &again), 1);
    assert_true(tu_entry_same(&again, &e));
    assert_int_equal(safetensors_metadata_at(x.f, 0, NULL), 1);
    assert_int_equal(safetensors_metadata_find(x.f, "k", 1, NULL), 1);
    /* not there: 0 and zeroed, or just 0 */
    assert_no_meta_at(x.f, 2);
    assert_no_meta_at(x.f, (size_t)-1);
    assert_no_meta_key(x.f, "key", 3);
    assert_no_meta_key(x.f, "v", 1); /* a value is no key */
    assert_no_meta_key(x.f, "w", 1); /* nor is a tensor's name */
    /* the entry is the caller's copy: changing it changes nothing in f */
    e.key = NULL;
    e.key_len = 0;
    again = meta_at(x.f, 1);
    assert_string_equal(again.key, "key2");
    /* its strings outlive the calls made after it */
    e = meta_at(x.f, 0);
    assert_no_meta_key(x.f, "zz", 2);
    again = meta_find(x.f, "key2", 4);
    assert_int_equal(e.key_len, 1);
    assert_string_equal(e.key, "k");
    assert_int_equal(e.value_len, 1);
    assert_string_equal(e.value, "v");
    release(&x);
}

static void test_duplicate_tensors(void **state) {
    const char *h;
    (void)state;
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"U8\",\"shape\":[8],"
        "\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"a\"", 2), "a");
    /* a different range for the repeat: still the duplicate, not the offsets */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[0],"
        "\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"a\"", 2), "a");
    /* equal after decoding */
    h = "{\"ab\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"\\u0061b\":{\"dtype\":\"U8\",\"shape\":[4],"
        "\"data_offsets\":[4,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos(h, "\"\\u0061b\""), "ab");
    h = "{\"\\u00e9\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[4],"
        "\"data_offsets\":[4,8]}}";
    REJECT(h, 8, SAFETENSORS_ERR_DUPLICATE, tu_pos(h, "\"\xc3\xa9\""));
    /* the third of three is not the one reported: the second is */
    h = "{\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"x\":{\"dtype\":\"U8\",\"shape\":[0],"
        "\"data_offsets\":[0,0]},\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_DUPLICATE, tu_pos_n(h, "\"x\"", 2), "x");
    /* many names, one repeat near the end */
    {
        char *big = (char *)malloc(200 * 80 + 64);
        size_t at = 0;
        int i;
        uint64_t want = 0;
        assert_non_null(big);
        big[at++] = '{';
        for (i = 0; i < 200; i++) {
            int id = i == 150 ? 37 : i;
            if (i == 150) want = 8 + at + (i ? 1 : 0);
            at += (size_t)sprintf(big + at, "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                                  i ? "," : "", id, i, i + 1);
        }
        big[at++] = '}';
        big[at] = '\0';
        check_case(big, at, 200, NULL, SAFETENSORS_ERR_DUPLICATE, want, want, "t37", __LINE__);
        free(big);
    }
}

/* ---------------------------------------------------------------------
   Rules 5-8: dtypes, offsets, sizes, coverage
   --------------------------------------------------------------------- */

/* From the README of the conformance corpus (rule 5). */
static const struct {
    const char *name;
    unsigned bits;
    safetensors_dtype d;
} k_dtypes[] = {
    {"BOOL", 8, SAFETENSORS_BOOL},         {"U8", 8, SAFETENSORS_U8},
    {"I8", 8, SAFETENSORS_I8},             {"F8_E5M2", 8, SAFETENSORS_F8_E5M2},
    {"F8_E4M3", 8, SAFETENSORS_F8_E4M3},   {"F8_E8M0", 8, SAFETENSORS_F8_E8M0},
    {"F8_E4M3FNUZ", 8, SAFETENSORS_F8_E4M3FNUZ}, {"F8_E5M2FNUZ", 8, SAFETENSORS_F8_E5M2FNUZ},
    {"I16", 16, SAFETENSORS_I16},          {"U16", 16, SAFETENSORS_U16},
    {"F16", 16, SAFETENSORS_F16},          {"BF16", 16, SAFETENSORS_BF16},
    {"I32", 32, SAFETENSORS_I32},          {"U32", 32, SAFETENSORS_U32},
    {"F32", 32, SAFETENSORS_F32},          {"I64", 64, SAFETENSORS_I64},
    {"U64", 64, SAFETENSORS_U64},          {"F64", 64, SAFETENSORS_F64},
    {"C64", 64, SAFETENSORS_C64},          {"F4", 4, SAFETENSORS_F4},
    {"F6_E2M3", 6, SAFETENSORS_F6_E2M3},   {"F6_E3M2", 6, SAFETENSORS_F6_E3M2},
};
#define N_DTYPES (sizeof k_dtypes / sizeof *k_dtypes)

static void test_dtype_table(void **state) {
    size_t i, j;
    (void)state;
    assert_int_equal(N_DTYPES, SAFETENSORS_DTYPE_COUNT);
    for (i = 0; i < N_DTYPES; i++) {
        safetensors_dtype d = SAFETENSORS_DTYPE_COUNT;
        char h[256];
        held x;
        const safetensors_tensor *t;
        assert_int_equal(safetensors_dtype_from_name(k_dtypes[i].name, strlen(k_dtypes[i].name), &d), OK);
        assert_int_equal(d, k_dtypes[i].d);
        assert_non_null(safetensors_dtype_name(k_dtypes[i].d));
        assert_string_equal(safetensors_dtype_name(k_dtypes[i].d), k_dtypes[i].name);
        assert_int_equal(safetensors_dtype_bits(k_dtypes[i].d), k_dtypes[i].bits);
        for (j = 0; j < N_DTYPES; j++)
            if (j != i) assert_int_not_equal(k_dtypes[i].d, k_dtypes[j].d);
        /* not NUL-terminated: the length decides */
        {
            char buf[32];
            size_t n = strlen(k_dtypes[i].name);
            memcpy(buf, k_dtypes[i].name, n);
            buf[n] = 'X';
            assert_int_equal(safetensors_dtype_from_name(buf, n, &d), OK);
            assert_int_equal(d, k_dtypes[i].d);
            assert_int_equal(safetensors_dtype_from_name(buf, n + 1, &d), SAFETENSORS_ERR_DTYPE);
            if (n > 1) assert_int_equal(safetensors_dtype_from_name(buf, n - 1, &d) == OK &&
                                            strcmp(safetensors_dtype_name(d), k_dtypes[i].name) == 0,
                                        0);
        }
        /* in a file: 8 elements take `bits` bytes */
        snprintf(h, sizeof h, "{\"t\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%u]}}", k_dtypes[i].name,
                 k_dtypes[i].bits);
        x = hold_(h, strlen(h), k_dtypes[i].bits, NULL, __LINE__);
        t = must_find(x.f, "t", 1);
        assert_int_equal(t->dtype, k_dtypes[i].d);
        assert_int_equal(safetensors_tensor_byte_size(t), k_dtypes[i].bits);
        assert_int_equal(safetensors_tensor_element_count(t), 8);
        release(&x);
        /* one byte more or less is a size fault */
        snprintf(h, sizeof h, "{\"t\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%u]}}", k_dtypes[i].name,
                 k_dtypes[i].bits + 1);
        check_case(h, strlen(h), k_dtypes[i].bits + 1, NULL, SAFETENSORS_ERR_SIZE, 9, 9, "t", __LINE__);
        snprintf(h, sizeof h, "{\"t\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%u]}}", k_dtypes[i].name,
                 k_dtypes[i].bits - 1);
        check_case(h, strlen(h), k_dtypes[i].bits - 1, NULL, SAFETENSORS_ERR_SIZE, 9, 9, "t", __LINE__);
    }
    assert_null(safetensors_dtype_name(SAFETENSORS_DTYPE_COUNT));
    assert_null(safetensors_dtype_name((safetensors_dtype)-1));
    assert_null(safetensors_dtype_name((safetensors_dtype)1000));
    assert_int_equal(safetensors_dtype_bits(SAFETENSORS_DTYPE_COUNT), 0);
    assert_int_equal(safetensors_dtype_bits((safetensors_dtype)-1), 0);
    {
        static const char *const refused[] = {"f32", "F32 ", " F32", "", "F", "F3", "F320", "FP32", "float32",
                                              "Bf16", "bool", "F8_E4M3FN", "F6", "I4", "C128", "U128", "F8"};
        safetensors_dtype d = SAFETENSORS_U8;
        for (i = 0; i < sizeof refused / sizeof *refused; i++)
            assert_int_equal(safetensors_dtype_from_name(refused[i], strlen(refused[i]), &d), SAFETENSORS_ERR_DTYPE);
        assert_int_equal(safetensors_dtype_from_name("F32\0", 4, &d), SAFETENSORS_ERR_DTYPE);
        assert_int_equal(d, SAFETENSORS_U8); /* untouched on failure */
    }
}

static void test_result_names(void **state) {
#define R(x) {x, #x}
    static const struct {
        safetensors_result r;
        const char *name;
    } k[] = {R(SAFETENSORS_OK),
             R(SAFETENSORS_ERR_IO),
             R(SAFETENSORS_ERR_NOMEM),
             R(SAFETENSORS_ERR_ARGUMENT),
             R(SAFETENSORS_ERR_HEADER_TOO_SMALL),
             R(SAFETENSORS_ERR_HEADER_TOO_LARGE),
             R(SAFETENSORS_ERR_HEADER_LENGTH),
             R(SAFETENSORS_ERR_UTF8),
             R(SAFETENSORS_ERR_JSON),
             R(SAFETENSORS_ERR_SCHEMA),
             R(SAFETENSORS_ERR_DTYPE),
             R(SAFETENSORS_ERR_DUPLICATE),
             R(SAFETENSORS_ERR_OFFSETS),
             R(SAFETENSORS_ERR_OVERFLOW),
             R(SAFETENSORS_ERR_MISALIGNED),
             R(SAFETENSORS_ERR_SIZE),
             R(SAFETENSORS_ERR_COVERAGE),
             R(SAFETENSORS_ERR_NOT_FOUND),
             R(SAFETENSORS_ERR_TOO_LARGE)};
#undef R
    size_t i, j;
    (void)state;
    assert_int_equal(SAFETENSORS_OK, 0);
    assert_int_equal(sizeof k / sizeof *k, SAFETENSORS_RESULT_COUNT);
    for (i = 0; i < sizeof k / sizeof *k; i++) {
        const char *s = safetensors_result_string(k[i].r);
        assert_non_null(safetensors_result_name(k[i].r));
        assert_string_equal(safetensors_result_name(k[i].r), k[i].name);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (j = 0; j < i; j++) assert_true(strcmp(s, safetensors_result_string(k[j].r)) != 0);
    }
    assert_null(safetensors_result_name(SAFETENSORS_RESULT_COUNT));
    assert_null(safetensors_result_string(SAFETENSORS_RESULT_COUNT));
    assert_null(safetensors_result_name((safetensors_result)-1));
    assert_null(safetensors_result_string((safetensors_result)-1));
    assert_null(safetensors_result_name((safetensors_result)12345));
}

static void test_offsets(void **state) {
    const char *h;
    (void)state;
    /* a hole */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[8,12]}}";
    REJECT_NAMED(h, 12, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"b\""), "b");
    /* an overlap */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"b\""), "b");
    h = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 12, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"b\""), "b");
    /* not starting at 0 */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"a\""), "a");
    /* end before begin */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[0],"
        "\"data_offsets\":[4,0]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"b\""), "b");
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[18446744073709551615,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"a\""), "a");
    /* a zero-size tensor beyond the end leaves a hole */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"z\":{\"dtype\":\"U8\",\"shape\":[0],"
        "\"data_offsets\":[8,8]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"z\""), "z");
    /* the same range twice: one of the two is refused, whichever sorts second */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],"
        "\"data_offsets\":[0,8]}}";
    {
        size_t len = 0;
        unsigned char *b = tu_build(h, 8, &len);
        safetensors_file *f;
        safetensors_error err;
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_OFFSETS);
        assert_true(err.offset == tu_pos(h, "\"a\"") || err.offset == tu_pos(h, "\"b\""));
        assert_non_null(strstr(err.message, err.offset == tu_pos(h, "\"a\"") ? "\"a\"" : "\"b\""));
        run_all(b, len, NULL, SAFETENSORS_ERR_OFFSETS, err.offset, err.offset, NULL, __LINE__);
        free(b);
    }
    /* the first fault in (begin, end) order wins, whatever the JSON order */
    h = "{\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[20,24]},\"a\":{\"dtype\":\"U8\",\"shape\":[3],"
        "\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 24, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"a\""), "a");
    h = "{\"c\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
        "\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 12, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"c\""), "c");
    /* offsets are checked before the size of the same tensor */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_OFFSETS, tu_pos(h, "\"a\""), "a");
}

static void test_zero_size_and_order(void **state) {
    held x;
    (void)state;
    /* zero-size tensors at the same offset */
    x = HOLD("{\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[0],"
             "\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}",
             4);
    {
        static const char *const order[] = {"a", "b", "c"};
        assert_order(x.f, order, 3);
    }
    release(&x);
    /* ascending begin, then name bytes: b [4,8] comes before z [4,4] */
    x = HOLD("{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[4,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             8);
    {
        static const char *const order[] = {"a", "b", "z"};
        assert_order(x.f, order, 3);
    }
    release(&x);
    /* zero-size tensors at the end */
    x = HOLD("{\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
             "\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
             4);
    {
        static const char *const order[] = {"a", "x", "y"};
        assert_order(x.f, order, 3);
        assert_int_equal(safetensors_data_size(x.f), 4);
    }
    release(&x);
    /* only zero-size tensors: an empty data section */
    x = HOLD("{\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"U8\",\"shape\":[0],"
             "\"data_offsets\":[0,0]}}",
             0);
    {
        static const char *const order[] = {"a", "b"};
        assert_order(x.f, order, 2);
    }
    release(&x);
    /* names compare as unsigned bytes: "B" < "a" < "ab" < "b" < "\xc3\xa9" */
    x = HOLD("{\"\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"ab\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"B\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
             0);
    {
        static const char *const order[] = {"B", "a", "ab", "b", "\xc3\xa9"};
        assert_order(x.f, order, 5);
    }
    release(&x);
    /* a JSON listing in reverse order of offsets */
    x = HOLD("{\"t3\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]},"
             "\"t2\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[3,6]},"
             "\"t1\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]},"
             "\"t0\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
             8);
    {
        static const char *const order[] = {"t0", "t1", "t2", "t3"};
        size_t i;
        assert_order(x.f, order, 4);
        for (i = 0; i < 4; i++) {
            const safetensors_tensor *t = safetensors_tensor_at(x.f, i);
            assert_ptr_equal(t->data, x.bytes + safetensors_data_start(x.f) + t->begin);
            assert_ptr_equal(safetensors_find(x.f, order[i], 2), t);
        }
    }
    release(&x);
    /* names that sort before/after by a NUL byte */
    x = HOLD("{\"a\\u0000\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
             0);
    assert_name(safetensors_tensor_at(x.f, 0), "a", 1);
    assert_name(safetensors_tensor_at(x.f, 1), "a\0", 2);
    release(&x);
}

static void test_overflow(void **state) {
    const char *h;
    held x;
    (void)state;
    /* 2^32 x 2^32 elements */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    /* left to right: a zero after the overflow does not save it */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808,2,0],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    /* but a zero before it does, and [2^63, 0] never overflows */
    x = HOLD("{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808,0],\"data_offsets\":[0,0]}}", 0);
    assert_int_equal(safetensors_tensor_element_count(must_find(x.f, "a", 1)), 0);
    release(&x);
    x = HOLD("{\"a\":{\"dtype\":\"F64\",\"shape\":[0,18446744073709551615,18446744073709551615],\"data_offsets\":[0,0]}}", 0);
    release(&x);
    /* the bit count overflows: 2^61 bytes-sized elements x 8 bits = 2^64 */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F64\",\"shape\":[288230376151711744],\"data_offsets\":[0,0]}}"; /* 2^58 x 64 */
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    /* just below: the bits fit, so it is a size fault */
    h = "{\"a\":{\"dtype\":\"F64\",\"shape\":[288230376151711743],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}"; /* 2^62 x 4 */
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
    /* overflow is checked before the size */
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_OVERFLOW, tu_pos(h, "\"a\""), "a");
}

static void test_misaligned(void **state) {
    const char *h;
    held x;
    (void)state;
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}";
    REJECT_NAMED(h, 2, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[3,5],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    REJECT_NAMED(h, 2, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[3],\"data_offsets\":[0,2]}}";
    REJECT_NAMED(h, 2, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    h = "{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
    /* whole bytes are fine */
    x = HOLD("{\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]},\"b\":{\"dtype\":\"F4\",\"shape\":[2,3],"
             "\"data_offsets\":[1,4]},\"c\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[4,7]},"
             "\"d\":{\"dtype\":\"F6_E3M2\",\"shape\":[12],\"data_offsets\":[7,16]},"
             "\"e\":{\"dtype\":\"F4\",\"shape\":[0],\"data_offsets\":[16,16]}}",
             16);
    assert_int_equal(safetensors_tensor_byte_size(must_find(x.f, "b", 1)), 3);
    assert_int_equal(safetensors_tensor_byte_size(must_find(x.f, "d", 1)), 9);
    release(&x);
    /* misaligned is checked before the size: F4 [3] with 0 bytes */
    h = "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,0]}}";
    REJECT_NAMED(h, 0, SAFETENSORS_ERR_MISALIGNED, tu_pos(h, "\"a\""), "a");
}

static void test_size(void **state) {
    const char *h;
    char longname[400];
    (void)state;
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4,5],\"data_offsets\":[0,96]}}";
    REJECT_NAMED(h, 96, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"w\""), "w");
    h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,8]}}";
    REJECT_NAMED(h, 8, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"w\""), "w");
    h = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,4]}}";
    REJECT_NAMED(h, 4, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"w\""), "w");
    h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,1]}}";
    REJECT_NAMED(h, 1, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"w\""), "w");
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\":{\"dtype\":\"C64\",\"shape\":[1],"
        "\"data_offsets\":[1,5]}}";
    REJECT_NAMED(h, 5, SAFETENSORS_ERR_SIZE, tu_pos(h, "\"w\""), "w");
    /* a long name: the message stays one bounded line and still starts with it */
    {
        size_t len = 0, i;
        unsigned char *b;
        safetensors_file *f;
        safetensors_error err;
        char hh[600];
        for (i = 0; i < 300; i++) longname[i] = (char)('a' + i % 26);
        longname[300] = '\0';
        snprintf(hh, sizeof hh, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,3]}}", longname);
        b = tu_build(hh, 3, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SIZE);
        assert_int_equal(err.offset, 9);
        assert_true(strlen(err.message) < sizeof err.message);
        assert_non_null(strstr(err.message, "\"abcdefghijklmnopqrst"));
        free(b);
        /* control characters in a name are not written raw into the message */
        h = "{\"a\\nb\\u0001\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,3]}}";
        b = tu_build(h, 3, &len);
        assert_int_equal(safetensors_open_memory(b, len, NULL, &f, &err), SAFETENSORS_ERR_SIZE);
        for (i = 0; err.message[i]; i++) assert_true((unsigned char)err.message[i] >= 0x20);
        free(b);
    }
}

static void test_coverage(void **state) {
    const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    uint64_t n = strlen(h);
    (void)state;
    ACCEPT(h, 4);
    REJECT(h, 5, SAFETENSORS_ERR_COVERAGE, 8 + n + 4);   /* trailing byte: where the data should end */
    REJECT(h, 100, SAFETENSORS_ERR_COVERAGE, 8 + n + 4);
    REJECT(h, 3, SAFETENSORS_ERR_COVERAGE, 8 + n + 3);   /* truncated: where the file ends */
    REJECT(h, 0, SAFETENSORS_ERR_COVERAGE, 8 + n + 0);
    REJECT("{}", 3, SAFETENSORS_ERR_COVERAGE, 8 + 2);
    REJECT("{\"__metadata__\":{\"k\":\"v\"}}", 1, SAFETENSORS_ERR_COVERAGE, 8 + 26);
    ACCEPT("{}", 0);
    /* a huge tensor in a small file: where the file ends, no overflow */
    {
        const char *hh = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],"
                         "\"data_offsets\":[0,2305843009213693951]},\"b\":{\"dtype\":\"F64\",\"shape\":[288230376151711743],"
                         "\"data_offsets\":[2305843009213693951,4611686018427387895]}}";
        REJECT(hh, 5, SAFETENSORS_ERR_COVERAGE, 8 + strlen(hh) + 5);
    }
    /* the table's faults come before coverage */
    {
        const char *hh = "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,4]}}";
        REJECT_NAMED(hh, 0, SAFETENSORS_ERR_SIZE, 9, "a");
        REJECT_NAMED(hh, 10, SAFETENSORS_ERR_SIZE, 9, "a");
    }
}

/* ---------------------------------------------------------------------
   The API: accessors, NULLs, layout
   --------------------------------------------------------------------- */

static void test_accessors(void **state) {
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
                    "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
                    "\"m\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                    "\"z\":{\"dtype\":\"I16\",\"shape\":[2,0,5],\"data_offsets\":[32,32]}}";
    held x = HOLD(h, 32);
    const safetensors_tensor *t;
    char buf[8];
    (void)state;
    assert_int_equal(safetensors_header_size(x.f), strlen(h));
    assert_int_equal(safetensors_data_start(x.f), 8 + strlen(h));
    assert_int_equal(safetensors_data_size(x.f), 32);
    assert_int_equal(safetensors_tensor_count(x.f), 3);
    t = must_find(x.f, "m", 1);
    assert_ptr_equal(t, safetensors_tensor_at(x.f, 0));
    assert_int_equal(t->dtype, SAFETENSORS_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 24);
    assert_int_equal(safetensors_tensor_element_count(t), 6);
    assert_int_equal(safetensors_tensor_byte_size(t), 24);
    assert_ptr_equal(t->data, x.bytes + 8 + strlen(h));
    assert_memory_equal(t->data, x.bytes + 8 + strlen(h), 24);
    t = must_find(x.f, "s", 1);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(safetensors_tensor_element_count(t), 1);
    assert_int_equal(safetensors_tensor_byte_size(t), 8);
    assert_ptr_equal(t->data, x.bytes + 8 + strlen(h) + 24);
    t = must_find(x.f, "z", 1);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(safetensors_tensor_element_count(t), 0);
    assert_int_equal(safetensors_tensor_byte_size(t), 0);
    assert_null(safetensors_tensor_at(x.f, 3));
    assert_null(safetensors_tensor_at(x.f, (size_t)-1));
    /* absent names */
    assert_null(safetensors_find(x.f, "x", 1));
    assert_null(safetensors_find(x.f, "", 0));
    assert_null(safetensors_find(x.f, "M", 1));
    assert_null(safetensors_find(x.f, "m ", 2));
    assert_null(safetensors_find(x.f, "mm", 2));
    assert_null(safetensors_find(x.f, "__metadata__", 12));
    assert_null(safetensors_find(x.f, NULL, 3));
    /* a name that is not NUL-terminated */
    memcpy(buf, "mzs", 3);
    assert_ptr_equal(safetensors_find(x.f, buf, 1), safetensors_tensor_at(x.f, 0));
    assert_ptr_equal(safetensors_find(x.f, buf + 1, 1), safetensors_tensor_at(x.f, 2));
    /* metadata */
    assert_int_equal(safetensors_metadata_count(x.f), 1);
    assert_string_equal(meta_find(x.f, "format", 6).value, "pt");
    assert_no_meta_key(x.f, "form", 4);
    assert_no_meta_key(x.f, NULL, 2);
    release(&x);
    /* an empty file table */
    x = HOLD("{}", 0);
    assert_int_equal(safetensors_tensor_count(x.f), 0);
    assert_null(safetensors_tensor_at(x.f, 0));
    assert_null(safetensors_find(x.f, "", 0));
    assert_int_equal(safetensors_header_size(x.f), 2);
    assert_int_equal(safetensors_data_start(x.f), 10);
    assert_int_equal(safetensors_data_size(x.f), 0);
    release(&x);
}

/* A large table: every tensor found through the index. */
static void test_many_tensors(void **state) {
    const int n = 3000;
    char *h = (char *)malloc((size_t)n * 80 + 16);
    size_t at = 0;
    int i;
    held x;
    (void)state;
    assert_non_null(h);
    h[at++] = '{';
    for (i = n - 1; i >= 0; i--)
        at += (size_t)sprintf(h + at, "%s\"layer.%d.w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                              i == n - 1 ? "" : ",", i, i, i + 1);
    h[at++] = '}';
    h[at] = '\0';
    x = hold_(h, at, (size_t)n, NULL, __LINE__);
    assert_int_equal(safetensors_tensor_count(x.f), (size_t)n);
    for (i = 0; i < n; i++) {
        char name[32];
        const safetensors_tensor *t;
        int len = snprintf(name, sizeof name, "layer.%d.w", i);
        t = safetensors_find(x.f, name, (size_t)len);
        assert_non_null(t);
        assert_int_equal(t->begin, (uint64_t)i);
        assert_ptr_equal(t, safetensors_tensor_at(x.f, (size_t)i));
        assert_int_equal(*(const unsigned char *)t->data, tu_data_byte((size_t)i));
    }
    assert_null(safetensors_find(x.f, "layer.3000.w", 12));
    release(&x);
    free(h);
}

/* A tensor as the test lists it, for test_shuffled_order. */
typedef struct listed_tensor {
    unsigned long begin, end;
    char name[16];
} listed_tensor;

/* The reference's order of views: by begin, then by name bytes. */
static int listed_before(const void *a, const void *b) {
    const listed_tensor *x = (const listed_tensor *)a, *y = (const listed_tensor *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* 2,000 tensors of 0 to 300 bytes listed in a shuffled order: their
   offsets pass 65,536 (the sort takes three passes of a byte), runs of
   zero-size tensors share an offset with the tensor after them, and names
   are not in offset order. The views must come out in the order qsort
   gives here. */
static void test_shuffled_order(void **state) {
    const size_t n = 2000;
    listed_tensor *want = (listed_tensor *)malloc(n * sizeof *want), *listed = (listed_tensor *)malloc(n * sizeof *listed);
    char *h = (char *)malloc(n * 100 + 16);
    unsigned long at = 0;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t i, len = 0;
    held x;
    (void)state;
    assert_true(want && listed && h);
    for (i = 0; i < n; i++) {
        unsigned long size = i % 5 == 0 ? 0ul : (unsigned long)(i * 7919u % 301u);
        want[i].begin = at;
        want[i].end = at + size;
        at += size;
        sprintf(want[i].name, "t%05lu", (unsigned long)(i * 7907u % n)); /* 7907 is prime: every name once */
    }
    assert_true(at > 65536ul);
    memcpy(listed, want, n * sizeof *want);
    for (i = n - 1; i > 0; i--) {
        size_t j;
        listed_tensor swap;
        j = (size_t)(tu_xorshift64(&seed) % (i + 1));
        swap = listed[i];
        listed[i] = listed[j];
        listed[j] = swap;
    }
    h[len++] = '{';
    for (i = 0; i < n; i++)
        len += (size_t)sprintf(h + len, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[%lu],\"data_offsets\":[%lu,%lu]}",
                               i ? "," : "", listed[i].name, listed[i].end - listed[i].begin, listed[i].begin,
                               listed[i].end);
    h[len++] = '}';
    h[len] = '\0';
    qsort(want, n, sizeof *want, listed_before);
    x = hold_(h, len, (size_t)at, NULL, __LINE__);
    assert_int_equal(safetensors_tensor_count(x.f), n);
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(x.f, i);
        assert_int_equal(t->begin, want[i].begin);
        assert_int_equal(t->end, want[i].end);
        assert_int_equal(t->name_len, strlen(want[i].name));
        assert_memory_equal(t->name, want[i].name, t->name_len);
        assert_ptr_equal(safetensors_find(x.f, want[i].name, strlen(want[i].name)), t);
    }
    release(&x);
    free(h);
    free(listed);
    free(want);
}

static int find_tensor(const void *ctx, const char *name, size_t len) {
    const safetensors_tensor *t = safetensors_find((const safetensors_file *)ctx, name, len);
    if (!t) return 0;
    return t->name_len == len && memcmp(t->name, name, len) == 0 ? 1 : -1;
}

static int find_key(const void *ctx, const char *key, size_t len) {
    safetensors_metadata_entry e;
    if (!safetensors_metadata_find((const safetensors_file *)ctx, key, len, &e)) return tu_entry_zeroed(&e) ? 0 : -1;
    return e.key_len == len && memcmp(e.key, key, len) == 0 ? 1 : -1;
}

/* Files of exactly 16, 32 and 64 tensors and as many metadata keys: absent
   names looked up in a hash index sized at the count, full, would probe
   forever (at open, when duplicates are looked for, or after); the
   deadline turns that hang into a failure. */
static void test_full_index(void **state) {
    static const size_t sizes[] = {16, 32, 64};
    size_t z, i, lookups = 0;
    (void)state;
    tu_deadline(30);
    for (z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        size_t n = sizes[z], at = 0;
        char *h = (char *)malloc(n * 96 + 64);
        tu_names names, keys;
        held x;
        assert_non_null(h);
        tu_names_make(&names, "w.", n);
        tu_names_make(&keys, "m.", n);
        at += (size_t)sprintf(h, "{\"__metadata__\":{");
        for (i = 0; i < n; i++) at += (size_t)sprintf(h + at, "%s\"%s\":\"%zu\"", i ? "," : "", keys.ptr[i], i);
        at += (size_t)sprintf(h + at, "}");
        for (i = 0; i < n; i++)
            at += (size_t)sprintf(h + at, ",\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}",
                                  names.ptr[i], i, i + 1);
        at += (size_t)sprintf(h + at, "}");
        x = hold_(h, at, n, NULL, __LINE__);
        assert_int_equal(safetensors_tensor_count(x.f), n);
        assert_int_equal(safetensors_metadata_count(x.f), n);
        lookups += tu_check_lookups(names.ptr, n, 500, find_tensor, x.f);
        lookups += tu_check_lookups(keys.ptr, n, 500, find_key, x.f);
        release(&x);
        free(h);
    }
    tu_deadline(0);
    print_message("full indexes: %zu lookups\n", lookups);
}

static void test_null_arguments(void **state) {
    const char *hdr = "{" W8 "}";
    size_t len = 0;
    unsigned char *b = tu_build(hdr, 8, &len);
    safetensors_file *f;
    safetensors_error err;
    (void)state;
    /* out-pointers */
    memset(&err, 0, sizeof err);
    assert_int_equal(safetensors_open_memory(b, len, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(err.code, SAFETENSORS_ERR_ARGUMENT);
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open_memory(NULL, len, NULL, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    assert_int_equal(err.code, SAFETENSORS_ERR_ARGUMENT);
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open(NULL, NULL, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    assert_int_equal(safetensors_open(GPT2, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_open(GPT2, NULL, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_parser_create(NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_parser_feed(NULL, b, len, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_parser_finish(NULL, 0, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    /* err may be NULL, on success and on failure */
    assert_int_equal(safetensors_open_memory(b, len, NULL, &f, NULL), OK);
    safetensors_close(f);
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open_memory(b, 7, NULL, &f, NULL), SAFETENSORS_ERR_HEADER_TOO_SMALL);
    assert_null(f);
    assert_int_equal(safetensors_open_memory(b, len, NULL, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_open("/nonexistent/x", NULL, &f, NULL), SAFETENSORS_ERR_IO);
    assert_null(f);
    /* a zeroed options struct is the defaults */
    {
        safetensors_options o;
        memset(&o, 0, sizeof o);
        assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), OK);
        assert_non_null(safetensors_tensor_at(f, 0)->data);
        safetensors_close(f);
    }
    /* accessors on NULL */
    assert_int_equal(safetensors_tensor_count(NULL), 0);
    assert_null(safetensors_tensor_at(NULL, 0));
    assert_null(safetensors_find(NULL, "w", 1));
    assert_int_equal(safetensors_tensor_element_count(NULL), 0);
    assert_int_equal(safetensors_tensor_byte_size(NULL), 0);
    assert_int_equal(safetensors_metadata_count(NULL), 0);
    assert_no_meta_at(NULL, 0);
    assert_no_meta_key(NULL, "k", 1);
    assert_int_equal(safetensors_header_size(NULL), 0);
    assert_int_equal(safetensors_data_start(NULL), 0);
    assert_int_equal(safetensors_data_size(NULL), 0);
    safetensors_close(NULL);
    safetensors_parser_destroy(NULL);
    free(b);
}

static void test_open_memory_flags(void **state) {
    const char *h = "{" W8 "}";
    size_t len = 0;
    unsigned char *b = tu_build(h, 8, &len);
    safetensors_options o;
    safetensors_file *f;
    safetensors_error err;
    (void)state;
    memset(&o, 0, sizeof o);
    /* READ_INTO_MEMORY is ignored by open_memory: still views into the bytes */
    o.flags = SAFETENSORS_READ_INTO_MEMORY | SAFETENSORS_PREFETCH;
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), OK);
    assert_ptr_equal(safetensors_tensor_at(f, 0)->data, b + 8 + strlen(h));
    safetensors_close(f);
    /* HEADER_ONLY: no data, but coverage is still checked */
    o.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), OK);
    assert_null(safetensors_tensor_at(f, 0)->data);
    assert_int_equal(safetensors_data_size(f), 8);
    safetensors_close(f);
    assert_int_equal(safetensors_open_memory(b, len - 1, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
    assert_int_equal(err.offset, len - 1);
    free(b);
    b = tu_build(h, 9, &len);
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
    assert_int_equal(err.offset, len - 1);
    free(b);
}

/* ---------------------------------------------------------------------
   Allocators
   --------------------------------------------------------------------- */

#define MAX_LIVE 4096
typedef struct counter {
    size_t allocs, frees, reallocs, live;
    int bad_size, bad_free;
    void *ptr[MAX_LIVE];
    size_t size[MAX_LIVE];
    int fail;
} counter;

static size_t live_index(counter *c, void *p) {
    size_t i;
    for (i = 0; i < MAX_LIVE; i++)
        if (c->ptr[i] == p) return i;
    return MAX_LIVE;
}

static void *c_alloc(void *ctx, size_t size) {
    counter *c = (counter *)ctx;
    size_t i = live_index(c, NULL);
    void *p;
    if (c->fail || i == MAX_LIVE) return NULL;
    p = malloc(size);
    if (!p) return NULL;
    c->ptr[i] = p;
    c->size[i] = size;
    c->allocs++;
    c->live++;
    return p;
}

static void c_free(void *ctx, void *ptr, size_t size) {
    counter *c = (counter *)ctx;
    size_t i = live_index(c, ptr);
    if (ptr == NULL) return;
    if (i == MAX_LIVE) { c->bad_free++; return; }
    if (c->size[i] != size) c->bad_size++;
    c->ptr[i] = NULL;
    c->frees++;
    c->live--;
    free(ptr);
}

static void *c_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size) {
    counter *c = (counter *)ctx;
    size_t i = live_index(c, ptr);
    void *p;
    if (c->fail) return NULL;
    if (i == MAX_LIVE) { c->bad_free++; return NULL; }
    if (c->size[i] != old_size) c->bad_size++;
    p = realloc(ptr, new_size);
    if (!p) return NULL;
    c->ptr[i] = p;
    c->size[i] = new_size;
    c->reallocs++;
    return p;
}

static void counter_options(counter *c, safetensors_options *o, int with_realloc) {
    memset(c, 0, sizeof *c);
    memset(o, 0, sizeof *o);
    o->allocator.allocate = c_alloc;
    o->allocator.deallocate = c_free;
    o->allocator.reallocate = with_realloc ? c_realloc : NULL;
    o->allocator.ctx = c;
}

static void assert_balanced(const counter *c) {
    assert_true(c->allocs > 0);
    assert_int_equal(c->live, 0);
    assert_int_equal(c->frees, c->allocs);
    assert_int_equal(c->bad_size, 0);
    assert_int_equal(c->bad_free, 0);
}

static void test_custom_allocator(void **state) {
    counter *c = (counter *)calloc(1, sizeof *c);
    safetensors_options o;
    safetensors_file *f;
    safetensors_error err;
    size_t len = 0;
    int with_realloc;
    char path[128];
    unsigned char *b;
    char *big = (char *)malloc(200 * 80);
    size_t at = 0;
    int i;
    (void)state;
    assert_non_null(c);
    assert_non_null(big);
    /* a header big enough to make the arrays grow */
    big[at++] = '{';
    at += (size_t)sprintf(big + at, "\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"}");
    for (i = 0; i < 100; i++)
        at += (size_t)sprintf(big + at, ",\"tensor_with_a_longish_name.%d\":{\"dtype\":\"U8\",\"shape\":[1,1],"
                                        "\"data_offsets\":[%d,%d]}", i, i, i + 1);
    big[at++] = '}';
    big[at] = '\0';
    b = tu_build(big, 100, &len);
    tmp_path(path, sizeof path, "alloc.safetensors");
    assert_int_equal(write_file(path, b, len), 0);
    for (with_realloc = 0; with_realloc < 2; with_realloc++) {
        unsigned flags[3] = {0u, SAFETENSORS_READ_INTO_MEMORY, SAFETENSORS_HEADER_ONLY};
        int k;
        counter_options(c, &o, with_realloc);
        assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), OK);
        assert_int_equal(safetensors_tensor_count(f), 100);
        assert_true(c->live > 0);
        safetensors_close(f);
        assert_balanced(c);
        for (k = 0; k < 3; k++) {
            counter_options(c, &o, with_realloc);
            o.flags = flags[k];
            assert_int_equal(safetensors_open(path, &o, &f, &err), OK);
            assert_int_equal(safetensors_metadata_count(f), 2);
            safetensors_close(f);
            assert_balanced(c);
        }
        /* failures free everything too */
        counter_options(c, &o, with_realloc);
        assert_int_equal(safetensors_open_memory(b, len - 1, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
        assert_balanced(c);
        counter_options(c, &o, with_realloc);
        big[at - 4] = '9'; /* the last tensor's end, 100 -> 109: a size fault */
        {
            size_t l2 = 0;
            unsigned char *b2 = tu_build(big, 100, &l2);
            assert_true(safetensors_open_memory(b2, l2, &o, &f, &err) != OK);
            free(b2);
        }
        assert_balanced(c);
        big[at - 4] = '0';
        /* the parser */
        counter_options(c, &o, with_realloc);
        {
            safetensors_parser *p;
            size_t used;
            int done;
            assert_int_equal(safetensors_parser_create(&o, &p, &err), OK);
            assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
            assert_int_equal(safetensors_parser_finish(p, len - used, &f, &err), OK);
            safetensors_parser_destroy(p);
            assert_true(c->live > 0);
            safetensors_close(f);
            assert_balanced(c);
        }
    }
    unlink(path);
    /* an allocator that fails: NOMEM, nothing left behind */
    counter_options(c, &o, 1);
    c->fail = 1;
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), SAFETENSORS_ERR_NOMEM);
    assert_null(f);
    assert_int_equal(c->live, 0);
    /* alloc without free, or free without alloc: ARGUMENT */
    counter_options(c, &o, 1);
    o.allocator.deallocate = NULL;
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    assert_int_equal(safetensors_open(GPT2, &o, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    {
        safetensors_parser *p = (safetensors_parser *)&err;
        assert_int_equal(safetensors_parser_create(&o, &p, &err), SAFETENSORS_ERR_ARGUMENT);
        assert_null(p);
    }
    counter_options(c, &o, 1);
    o.allocator.allocate = NULL;
    assert_int_equal(safetensors_open_memory(b, len, &o, &f, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(c->allocs, 0);
    free(b);
    free(big);
    free(c);
}

/* ---------------------------------------------------------------------
   The streaming parser's contract
   --------------------------------------------------------------------- */

static void test_parser_contract(void **state) {
    const char *h = "{" W8 "}";
    size_t len = 0, used = 99;
    int done = -1;
    unsigned char *b = tu_build(h, 8, &len);
    safetensors_parser *p;
    safetensors_file *f;
    safetensors_error err, err2;
    (void)state;
    /* fed the whole file: consumes exactly 8 + N, then nothing */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(used, 8 + strlen(h));
    assert_int_equal(done, 1);
    used = 99;
    done = 0;
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(used, 0);
    assert_int_equal(done, 1);
    assert_int_equal(safetensors_parser_feed(p, NULL, 0, NULL, NULL, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, NULL, 3, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_parser_finish(p, 8, &f, &err), OK);
    assert_null(safetensors_tensor_at(f, 0)->data);
    assert_int_equal(safetensors_data_size(f), 8);
    assert_int_equal(safetensors_header_size(f), strlen(h));
    /* finish twice, or feed after finish */
    {
        safetensors_file *g = (safetensors_file *)&err;
        assert_int_equal(safetensors_parser_finish(p, 8, &g, &err2), SAFETENSORS_ERR_ARGUMENT);
        assert_null(g);
        assert_int_equal(err2.code, SAFETENSORS_ERR_ARGUMENT);
        assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err2), SAFETENSORS_ERR_ARGUMENT);
        assert_int_equal(used, 0);
    }
    safetensors_parser_destroy(p);
    /* finish without somewhere to put the file */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, len, &used, &done, &err), OK);
    assert_int_equal(safetensors_parser_finish(p, 8, NULL, &err2), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(err2.code, SAFETENSORS_ERR_ARGUMENT);
    safetensors_parser_destroy(p);
    /* the file outlives the parser */
    assert_name(safetensors_tensor_at(f, 0), "w", 1);
    safetensors_close(f);

    /* an error is sticky, with its offset */
    {
        const char *bad = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},]}";
        size_t blen = 0;
        unsigned char *bb = tu_build(bad, 0, &blen);
        uint64_t want = tu_pos(bad, ",]") + 1;
        assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
        assert_int_equal(safetensors_parser_feed(p, bb, 20, &used, &done, &err), OK);
        assert_int_equal(used, 20);
        assert_int_equal(safetensors_parser_feed(p, bb + 20, blen - 20, &used, &done, &err), SAFETENSORS_ERR_JSON);
        assert_int_equal(err.offset, want);
        assert_true(used <= blen - 20);
        memset(&err2, 0, sizeof err2);
        assert_int_equal(safetensors_parser_feed(p, bb, 5, &used, &done, &err2), SAFETENSORS_ERR_JSON);
        assert_int_equal(err2.offset, want);
        assert_int_equal(used, 0);
        assert_int_equal(done, 0);
        memset(&err2, 0, sizeof err2);
        assert_int_equal(safetensors_parser_feed(p, NULL, 0, NULL, NULL, &err2), SAFETENSORS_ERR_JSON);
        assert_int_equal(err2.offset, want);
        f = (safetensors_file *)&err;
        assert_int_equal(safetensors_parser_finish(p, 0, &f, &err2), SAFETENSORS_ERR_JSON);
        assert_int_equal(err2.offset, want);
        assert_null(f);
        safetensors_parser_destroy(p);
        free(bb);
    }
    /* finish before the header is complete */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, 5, &used, &done, &err), OK);
    assert_int_equal(safetensors_parser_finish(p, 0, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
    assert_int_equal(err.offset, 5);
    assert_null(f);
    safetensors_parser_destroy(p);
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, 20, &used, &done, &err), OK);
    assert_int_equal(safetensors_parser_finish(p, 0, &f, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, 20);
    safetensors_parser_destroy(p);
    /* a parser destroyed without finish */
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
    assert_int_equal(safetensors_parser_feed(p, b, 30, &used, &done, &err), OK);
    safetensors_parser_destroy(p);
    /* the data after the header is not consumed, in any split */
    {
        size_t split;
        for (split = 0; split <= len; split++) {
            size_t u1 = 0, u2 = 0;
            int d1 = 0, d2 = 0;
            assert_int_equal(safetensors_parser_create(NULL, &p, &err), OK);
            assert_int_equal(safetensors_parser_feed(p, b, split, &u1, &d1, &err), OK);
            assert_int_equal(safetensors_parser_feed(p, b + split, len - split, &u2, &d2, &err), OK);
            assert_int_equal(u1 + u2, 8 + strlen(h));
            assert_int_equal(d2, 1);
            assert_int_equal(safetensors_parser_finish(p, len - u1 - u2, &f, &err), OK);
            safetensors_close(f);
            safetensors_parser_destroy(p);
        }
    }
    free(b);
}

/* ---------------------------------------------------------------------
   Opening files by path
   --------------------------------------------------------------------- */

static void test_open_errors(void **state) {
    safetensors_error err;
    safetensors_file *f = (safetensors_file *)&err;
    char path[128];
    (void)state;
    memset(&err, 0, sizeof err);
    tmp_path(path, sizeof path, "does-not-exist.safetensors");
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_ERR_IO);
    assert_null(f);
    assert_int_equal(err.code, SAFETENSORS_ERR_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_true(err.message[0] != '\0');
    /* a directory */
    f = (safetensors_file *)&err;
    memset(&err, 0, sizeof err);
    assert_int_equal(safetensors_open(g_dir, NULL, &f, &err), SAFETENSORS_ERR_IO);
    assert_null(f);
    assert_true(err.sys_errno != 0);
#ifdef __linux__
    assert_int_equal(err.sys_errno, EISDIR);
#endif
    {
        safetensors_options o;
        memset(&o, 0, sizeof o);
        o.flags = SAFETENSORS_HEADER_ONLY;
        assert_int_equal(safetensors_open(g_dir, &o, &f, &err), SAFETENSORS_ERR_IO);
        o.flags = SAFETENSORS_READ_INTO_MEMORY;
        assert_int_equal(safetensors_open(g_dir, &o, &f, &err), SAFETENSORS_ERR_IO);
    }
    /* character devices are read, not mapped */
    f = (safetensors_file *)&err;
    assert_int_equal(safetensors_open("/dev/null", NULL, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
    assert_int_equal(err.offset, 0);
    assert_null(f);
    /* /dev/zero never ends, but N = 0 ends the header at once: an empty JSON text */
    assert_int_equal(safetensors_open("/dev/zero", NULL, &f, &err), SAFETENSORS_ERR_JSON);
    assert_int_equal(err.offset, 8);
    assert_null(f);
    /* an empty file */
    tmp_path(path, sizeof path, "empty.safetensors");
    assert_int_equal(write_file(path, "", 0), 0);
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
    assert_int_equal(err.offset, 0);
    assert_null(f);
    unlink(path);
}

/* A file whose data section is longer or shorter than its header says. */
static void test_open_truncated_extended(void **state) {
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    uint64_t n = strlen(h);
    size_t len = 0, k;
    unsigned char *b;
    char path[128];
    (void)state;
    tmp_path(path, sizeof path, "te.safetensors");
    for (k = 0; k < 3; k++) {
        size_t data = k == 0 ? 20 : k == 1 ? 11 : 16;
        safetensors_options o;
        int m;
        b = tu_build(h, data, &len);
        assert_int_equal(write_file(path, b, len), 0);
        memset(&o, 0, sizeof o);
        for (m = 0; m < 4; m++) {
            safetensors_file *f = NULL;
            safetensors_error err;
            safetensors_result r;
            o.flags = m == 0 ? 0u : m == 1 ? SAFETENSORS_READ_INTO_MEMORY : m == 2 ? SAFETENSORS_HEADER_ONLY
                                                                                   : SAFETENSORS_PREFETCH;
            r = safetensors_open(path, &o, &f, &err);
            if (data == 16) {
                assert_int_equal(r, OK);
                if (m != 2) assert_memory_equal(safetensors_tensor_at(f, 0)->data, b + 8 + n, 16);
                safetensors_close(f);
            } else {
                assert_int_equal(r, SAFETENSORS_ERR_COVERAGE);
                assert_int_equal(err.offset, 8 + n + (data < 16 ? data : 16));
                assert_null(f);
            }
        }
        free(b);
    }
    unlink(path);
}

/* READ_INTO_MEMORY copies the data: truncating the file afterwards changes
   nothing that was read. */
static void test_read_into_memory_survives_truncation(void **state) {
    size_t len = 0, i;
    unsigned char *orig = tu_read_file(GPT2, &len);
    char path[128];
    safetensors_options o;
    safetensors_file *f;
    safetensors_error err;
    (void)state;
    assert_non_null(orig);
    tmp_path(path, sizeof path, "trunc.safetensors");
    assert_int_equal(write_file(path, orig, len), 0);
    memset(&o, 0, sizeof o);
    o.flags = SAFETENSORS_READ_INTO_MEMORY;
    assert_int_equal(safetensors_open(path, &o, &f, &err), OK);
    assert_int_equal(truncate(path, 8), 0);
    {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 8);
    }
    assert_int_equal(safetensors_tensor_count(f), 28);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        size_t n = (size_t)(t->end - t->begin);
        assert_non_null(t->data);
        assert_memory_equal(t->data, orig + safetensors_data_start(f) + t->begin, n);
    }
    safetensors_close(f);
    /* and the truncated file is now refused */
    assert_int_equal(safetensors_open(path, &o, &f, &err), SAFETENSORS_ERR_HEADER_LENGTH);
    assert_int_equal(err.offset, 8);
    unlink(path);
    free(orig);
}

/* A pipe cannot be mapped: the read() path. A child process writes. */
static safetensors_result open_fifo(const unsigned char *b, size_t len, const safetensors_options *opt,
                                    safetensors_file **f, safetensors_error *err) {
    char path[128];
    pid_t pid;
    int status = 0;
    safetensors_result r;
    tmp_path(path, sizeof path, "fifo");
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY);
        size_t off = 0;
        if (fd < 0) _exit(2);
        while (off < len) {
            ssize_t w = write(fd, b + off, len - off);
            if (w <= 0) _exit(1);
            off += (size_t)w;
        }
        close(fd);
        _exit(0);
    }
    r = safetensors_open(path, opt, f, err);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(path);
    if (r == OK) {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    return r;
}

static void test_fifo(void **state) {
    const char *h = "{\"__metadata__\":{\"k\":\"v\"},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[5,8]},"
                    "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,5]}}";
    uint64_t n = strlen(h);
    size_t len = 0, i;
    unsigned char *b = tu_build(h, 8, &len);
    safetensors_options o;
    safetensors_file *f, *ref;
    safetensors_error err;
    char why[256];
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    memset(&o, 0, sizeof o);
    assert_int_equal(safetensors_open_memory(b, len, NULL, &ref, &err), OK);
    assert_int_equal(open_fifo(b, len, NULL, &f, &err), OK);
    assert_int_equal(tu_table_diff(ref, f, why, sizeof why), 0);
    for (i = 0; i < 3; i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        assert_memory_equal(t->data, b + 8 + n + (size_t)t->begin, (size_t)(t->end - t->begin));
    }
    safetensors_close(f);
    o.flags = SAFETENSORS_HEADER_ONLY;
    assert_int_equal(open_fifo(b, len, &o, &f, &err), OK);
    assert_null(safetensors_tensor_at(f, 0)->data);
    safetensors_close(f);
    o.flags = SAFETENSORS_READ_INTO_MEMORY;
    assert_int_equal(open_fifo(b, len, &o, &f, &err), OK);
    safetensors_close(f);
    /* truncated and extended */
    for (i = 0; i < 2; i++) {
        o.flags = i ? SAFETENSORS_HEADER_ONLY : 0u;
        f = (safetensors_file *)&err;
        assert_int_equal(open_fifo(b, len - 3, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
        assert_int_equal(err.offset, 8 + n + 5);
        assert_null(f);
        {
            size_t l2 = 0;
            unsigned char *b2 = tu_build(h, 9, &l2);
            assert_int_equal(open_fifo(b2, l2, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
            assert_int_equal(err.offset, 8 + n + 8);
            free(b2);
            b2 = tu_build(h, 70000, &l2);
            assert_int_equal(open_fifo(b2, l2, &o, &f, &err), SAFETENSORS_ERR_COVERAGE);
            assert_int_equal(err.offset, 8 + n + 8);
            free(b2);
        }
        /* cut inside the header, or the prefix */
        assert_int_equal(open_fifo(b, 30, &o, &f, &err), SAFETENSORS_ERR_HEADER_LENGTH);
        assert_int_equal(err.offset, 30);
        assert_int_equal(open_fifo(b, 5, &o, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
        assert_int_equal(err.offset, 5);
        assert_int_equal(open_fifo(b, 0, &o, &f, &err), SAFETENSORS_ERR_HEADER_TOO_SMALL);
        assert_int_equal(err.offset, 0);
    }
    safetensors_close(ref);
    free(b);
    /* a bad header */
    b = tu_build("{\"a\":{\"dtype\":\"Q\"}}", 0, &len);
    assert_int_equal(open_fifo(b, len, NULL, &f, &err), SAFETENSORS_ERR_DTYPE);
    assert_int_equal(err.offset, 8 + 14);
    free(b);
    /* a real model through a pipe: more than one read() */
    b = tu_read_file(GPT2, &len);
    assert_non_null(b);
    assert_int_equal(safetensors_open_memory(b, len, NULL, &ref, &err), OK);
    assert_int_equal(open_fifo(b, len, NULL, &f, &err), OK);
    assert_int_equal(tu_table_diff(ref, f, why, sizeof why), 0);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        assert_memory_equal(t->data, b + safetensors_data_start(f) + t->begin, (size_t)(t->end - t->begin));
    }
    safetensors_close(f);
    safetensors_close(ref);
    free(b);
    signal(SIGPIPE, SIG_DFL);
}

static void test_open_read_into_memory(void **state) {
    size_t len = 0, i;
    unsigned char *b = tu_read_file(GPT2, &len);
    safetensors_options o;
    safetensors_file *f, *g;
    safetensors_error err;
    char why[256];
    (void)state;
    assert_non_null(b);
    memset(&o, 0, sizeof o);
    o.flags = SAFETENSORS_READ_INTO_MEMORY;
    assert_int_equal(safetensors_open(GPT2, &o, &f, &err), OK);
    assert_int_equal(safetensors_open(GPT2, NULL, &g, &err), OK);
    assert_int_equal(tu_table_diff(f, g, why, sizeof why), 0);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i), *u = safetensors_tensor_at(g, i);
        size_t n = (size_t)(t->end - t->begin);
        assert_memory_equal(t->data, b + safetensors_data_start(f) + t->begin, n);
        assert_memory_equal(u->data, b + safetensors_data_start(g) + u->begin, n);
        assert_ptr_not_equal(t->data, u->data);
    }
    safetensors_close(f);
    safetensors_close(g);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_header_length_parser),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_outside_strings),
        cmocka_unit_test(test_json_padding),
        cmocka_unit_test(test_json_syntax),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_numbers_ignored),
        cmocka_unit_test(test_numbers_shape),
        cmocka_unit_test(test_big_offsets_unknown_size),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_escaped_keys),
        cmocka_unit_test(test_nul_in_names),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_empty_names),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_tensor_not_object),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_offsets_count),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_duplicate_fields),
        cmocka_unit_test(test_long_scratch_strings),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_dtype_names),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_metadata_out),
        cmocka_unit_test(test_duplicate_tensors),
        cmocka_unit_test(test_dtype_table),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_zero_size_and_order),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_misaligned),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_many_tensors),
        cmocka_unit_test(test_shuffled_order),
        cmocka_unit_test(test_full_index),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_open_memory_flags),
        cmocka_unit_test(test_custom_allocator),
        cmocka_unit_test(test_parser_contract),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_open_truncated_extended),
        cmocka_unit_test(test_read_into_memory_survives_truncation),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_open_read_into_memory),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
