/* test_stream.c - streaming equivalence over the whole corpus.

   For every corpus file the one-shot outcome (one feed of all the bytes,
   then finish with the bytes left over as the data size) is compared with
   the outcome of feeding the same bytes one at a time and in several
   pseudo-random splits: the same result code, the same err.offset and
   message, and for accepted files the same table. Along the way it checks
   the feed contract (bytes consumed add up to 8 + N once done, nothing is
   consumed after done, an error is sticky) and that safetensors_open_memory
   gives the same verdict as the parser, and exactly its outcome when the
   parser is told the file's size first (safetensors_parser_expect_size).
   Then UTF-8 at the edges of its ranges, valid and not, in every kind of
   string a header has, split at every byte. Run from the repository root. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#define RANDOM_SPLITS 4
#define SEED 0x5AFE7E05C0FFEE11ull

static size_t g_failures;

#define report(...) tu_report(&g_failures, __VA_ARGS__)

typedef struct outcome {
    safetensors_result code;
    uint64_t offset;
    safetensors_file *f;    /* on success */
    char message[sizeof(((safetensors_error *)0)->message)];
    int done;
    size_t consumed;        /* total consumed by feed */
} outcome;

/* How a split is chosen: chunk i has length next_chunk(). */
typedef struct splitter {
    int mode;               /* 0: everything at once, 1: one byte, 2: random, 3: two pieces */
    uint64_t rng;
    size_t max_chunk;
    size_t cut;             /* mode 3: the first piece's length */
    int sized;              /* tell the parser the file's size first (safetensors_parser_expect_size) */
    size_t fed;             /* bytes handed over so far */
} splitter;

static size_t next_chunk(splitter *s, size_t left) {
    size_t n;
    if (s->mode == 0) return left;
    if (s->mode == 1) return 1;
    if (s->mode == 3) return s->fed < s->cut && s->cut - s->fed < left ? s->cut - s->fed : left;
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
    s->fed = 0;
    if (s->sized && safetensors_parser_expect_size(p, (uint64_t)len) != SAFETENSORS_OK)
        report(file, "parser_expect_size failed");
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
            memcpy(o.message, err.message, sizeof o.message);
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
        s->fed = pos;
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
        memcpy(o.message, err.message, sizeof o.message);
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
    if (a->code != SAFETENSORS_OK && (a->offset != b->offset || strcmp(a->message, b->message) != 0)) {
        report(file, "%s: %s \"%s\" at %llu, one-shot \"%s\" at %llu", what, safetensors_result_name(a->code),
               b->message, (unsigned long long)b->offset, a->message, (unsigned long long)a->offset);
        return 0;
    }
    if (a->code == SAFETENSORS_OK && tu_table_diff(a->f, b->f, why, sizeof why)) {
        report(file, "%s: %s", what, why);
        return 0;
    }
    return 1;
}

static void test_split_equivalence(void **state) {
    const tu_expected *exp = (const tu_expected *)*state;
    size_t i, files = 0, runs = 0;
    uint64_t rng = SEED;
    g_failures = 0;
    printf("stream: seed 0x%016llx, %d random splits per file\n", (unsigned long long)SEED, RANDOM_SPLITS);
    for (i = 0; i < exp->count; i++) {
        const tu_exp_file *e = &exp->files[i];
        char path[512];
        size_t len;
        unsigned char *bytes;
        outcome one, by1;
        splitter s;
        int k;
        snprintf(path, sizeof path, "%s%s", TU_CORPUS_DIR, e->file);
        bytes = tu_read_file(path, &len);
        if (!bytes) { report(e->file, "cannot read"); continue; }
        memset(&s, 0, sizeof s);
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
            /* Told the file's size first, the parser sees a short file as
               open_memory does: the same code, offset and message. */
            {
                outcome whole, sized;
                memset(&whole, 0, sizeof whole);
                whole.code = r;
                whole.offset = err.offset;
                memcpy(whole.message, err.message, sizeof whole.message);
                whole.f = f;
                memset(&s, 0, sizeof s);
                s.mode = 1;
                s.sized = 1;
                sized = run_parser(e->file, bytes, len, &s);
                same_outcome(e->file, "one byte at a time, size told first, against open_memory", &whole, &sized);
                safetensors_close(sized.f);
                runs++;
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

/* UTF-8 at the edges of its ranges (RFC 3629, section 4): after E0 the
   second byte starts at A0 (below is overlong), after ED it ends at 9F
   (above are the surrogates), after F0 it starts at 90 (overlong below),
   after F4 it ends at 8F (above is past U+10FFFF); C0, C1, F5..FF and a
   lone continuation never start a sequence. `bad` is the index of the
   first byte that cannot be accepted, -1 for a valid sequence. */
typedef struct utf8_edge {
    const char *bytes;
    int bad;
} utf8_edge;

static const utf8_edge k_utf8_edges[] = {
    {"\xe0\xa0\x80", -1},         {"\xe0\xbf\xbf", -1},         {"\xe0\x9f\xbf", 1},  {"\xe0\x80\x80", 1},
    {"\xed\x9f\xbf", -1},         {"\xed\x80\x80", -1},         {"\xed\xa0\x80", 1},  {"\xed\xbf\xbf", 1},
    {"\xee\x80\x80", -1},         {"\xef\xbf\xbf", -1},         {"\xc2\x80", -1},     {"\xdf\xbf", -1},
    {"\xf0\x90\x80\x80", -1},     {"\xf0\xbf\xbf\xbf", -1},     {"\xf0\x8f\xbf\xbf", 1}, {"\xf0\x80\x80\x80", 1},
    {"\xf4\x8f\xbf\xbf", -1},     {"\xf4\x80\x80\x80", -1},     {"\xf4\x90\x80\x80", 1}, {"\xf4\xbf\xbf\xbf", 1},
    {"\xf1\x80\x80\x80", -1},     {"\xf3\xbf\xbf\xbf", -1},     {"\xc0\x80", 0},      {"\xc0\xbf", 0},
    {"\xc1\x80", 0},              {"\xc1\xbf", 0},              {"\xf5\x80\x80\x80", 0}, {"\xf7\xbf\xbf\xbf", 0},
    {"\xf8\x88\x80\x80\x80", 0},  {"\xfe", 0},                  {"\xff", 0},          {"\x80", 0},
    {"\xbf", 0},                  {"\xe0\xa0\x7f", 2},          {"\xe0\xa0\xc0", 2},  {"\xed\x9f\xc0", 2},
    {"\xf0\x90\x80\x7f", 3},      {"\xf4\x8f\xbf\xc0", 3},
};

/* Where a sequence is put: '@' in the template. A valid sequence gives
   `code` at the byte `at` marks (0: accepted), and what it decoded into is
   checked where `where` says. */
enum { IN_NAME, IN_META_KEY, IN_META_VALUE, IN_NOWHERE };
typedef struct utf8_place {
    const char *what, *tmpl, *at;
    safetensors_result code;
    int where;
} utf8_place;

#define TAIL_ENTRY "\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}"
static const utf8_place k_utf8_places[] = {
    {"a tensor name", "{\"a@b\":{" TAIL_ENTRY "}", NULL, SAFETENSORS_OK, IN_NAME},
    {"a metadata key", "{\"__metadata__\":{\"k@\":\"v\"},\"t\":{" TAIL_ENTRY "}", NULL, SAFETENSORS_OK, IN_META_KEY},
    {"a metadata value", "{\"__metadata__\":{\"k\":\"@v\"},\"t\":{" TAIL_ENTRY "}", NULL, SAFETENSORS_OK,
     IN_META_VALUE},
    {"an ignored field's name", "{\"t\":{\"x@\":1," TAIL_ENTRY "}", NULL, SAFETENSORS_OK, IN_NOWHERE},
    {"a long ignored field's name", "{\"t\":{\"xxxxxxxxxxxxxxxxxxxx@\":1," TAIL_ENTRY "}", NULL, SAFETENSORS_OK,
     IN_NOWHERE},
    {"an ignored field's value", "{\"t\":{\"x\":[\"@\",{\"y\":\"@\"}]," TAIL_ENTRY "}", NULL, SAFETENSORS_OK,
     IN_NOWHERE},
    {"a dtype", "{\"t\":{\"dtype\":\"U8@\",\"shape\":[1],\"data_offsets\":[0,1]}}", "\"U8", SAFETENSORS_ERR_DTYPE,
     IN_NOWHERE},
};
#undef TAIL_ENTRY

/* The header with every '@' replaced by seq; the position of the first. */
static char *put_sequence(const char *tmpl, const char *seq, size_t *len, size_t *first) {
    size_t n = strlen(tmpl), k = strlen(seq), i, o = 0;
    char *h = (char *)malloc(n * (k + 1) + 1);
    assert_non_null(h);
    *first = (size_t)-1;
    for (i = 0; i < n; i++) {
        if (tmpl[i] != '@') { h[o++] = tmpl[i]; continue; }
        if (*first == (size_t)-1) *first = o;
        memcpy(h + o, seq, k);
        o += k;
    }
    h[o] = '\0';
    *len = o;
    return h;
}

static void check_decoded(const char *file, const safetensors_file *f, int where, const char *want, size_t want_len) {
    const char *got = NULL;
    size_t got_len = 0;
    safetensors_metadata_entry e;
    if (where == IN_NAME && safetensors_tensor_at(f, 0)) {
        got = safetensors_tensor_at(f, 0)->name;
        got_len = safetensors_tensor_at(f, 0)->name_len;
    } else if ((where == IN_META_KEY || where == IN_META_VALUE) && safetensors_metadata_at(f, 0, &e)) {
        got = where == IN_META_KEY ? e.key : e.value;
        got_len = where == IN_META_KEY ? e.key_len : e.value_len;
    } else {
        return;
    }
    if (got_len != want_len || memcmp(got, want, want_len) != 0) report(file, "decoded into other bytes");
}

/* Compares one header fed whole against one byte at a time and against
   every cut in two (the file holding data_len bytes of data): the fast lanes (whole members, and runs of them with
   the commas and spaces between) must give what the automaton gives. */
static void check_every_split(const char *what, const char *hdr, size_t hdr_len, size_t data_len, outcome *whole,
                              size_t *runs) {
    size_t len, cut;
    unsigned char *bytes = tu_build_n(hdr, hdr_len, data_len, &len);
    splitter s;
    outcome by1;
    assert_non_null(bytes);
    memset(&s, 0, sizeof s);
    *whole = run_parser(what, bytes, len, &s);
    s.mode = 1;
    by1 = run_parser(what, bytes, len, &s);
    same_outcome(what, "one byte at a time", whole, &by1);
    safetensors_close(by1.f);
    *runs += 2;
    for (cut = 0; cut <= len; cut++) {
        outcome two;
        char how[64];
        s.mode = 3;
        s.cut = cut;
        two = run_parser(what, bytes, len, &s);
        snprintf(how, sizeof how, "cut at byte %zu", cut);
        same_outcome(what, how, whole, &two);
        safetensors_close(two.f);
        (*runs)++;
    }
    free(bytes);
}

static void test_utf8_edges_split(void **state) {
    size_t e, p, runs = 0;
    (void)state;
    g_failures = 0;
    for (e = 0; e < sizeof k_utf8_edges / sizeof k_utf8_edges[0]; e++) {
        for (p = 0; p < sizeof k_utf8_places / sizeof k_utf8_places[0]; p++) {
            const utf8_edge *edge = &k_utf8_edges[e];
            const utf8_place *place = &k_utf8_places[p];
            char what[160], *hdr;
            size_t hdr_len, at;
            outcome whole;
            safetensors_result want = edge->bad >= 0 ? SAFETENSORS_ERR_UTF8 : place->code;
            uint64_t want_offset;
            snprintf(what, sizeof what, "sequence %zu in %s", e, place->what);
            hdr = put_sequence(place->tmpl, edge->bytes, &hdr_len, &at);
            if (edge->bad >= 0) want_offset = 8u + at + (size_t)edge->bad;
            else want_offset = place->at ? tu_pos(hdr, place->at) : 0;
            check_every_split(what, hdr, hdr_len, 1, &whole, &runs);
            if (whole.code != want || (want != SAFETENSORS_OK && whole.offset != want_offset))
                report(what, "%s at %llu, expected %s at %llu", safetensors_result_name(whole.code),
                       (unsigned long long)whole.offset, safetensors_result_name(want), (unsigned long long)want_offset);
            if (whole.code == SAFETENSORS_OK) {
                /* the string that holds the sequence, between its quotes */
                const char *open = hdr + at, *close = strchr(hdr + at + strlen(edge->bytes), '"');
                while (open[-1] != '"') open--;
                check_decoded(what, whole.f, place->where, open, (size_t)(close - open));
            }
            safetensors_close(whole.f);
            free(hdr);
        }
    }
    printf("stream: UTF-8 edges: %zu parser runs, %zu failures\n", runs, g_failures);
    assert_int_equal(g_failures, 0);
}

#define E0 "{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}"
#define E1 "{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[8,16]}"
#define E2 "{\"dtype\":\"U8\",\"shape\":[48],\"data_offsets\":[16,64]}"

/* Runs of members with what may stand between them, each with its verdict:
   a refusal's offset is the last byte of the first occurrence of `at` in
   the header (NULL: not checked), and an accepted header's tensor names,
   sorted, joined by '|'. */
static void test_member_runs_split(void **state) {
    static const struct {
        const char *hdr, *at, *names;
        safetensors_result code;
    } cases[] = {
        {"{\"a\":" E0 ",\"b\":" E1 ",\"c\":" E2 "}", NULL, "a|b|c", SAFETENSORS_OK},
        {"{\"a\":" E0 ",\n    \"b\":" E1 ",\r\n\t \"c\":" E2 "\n}", NULL, "a|b|c", SAFETENSORS_OK},
        {"{\"a\":" E0 " , \"b\":" E1 ",\"c\":" E2 "}", NULL, "a|b|c", SAFETENSORS_OK},
        {"{\"a\":" E0 ",\"b\\u0041\":" E1 ",\"c\":" E2 "}", NULL, "a|bA|c", SAFETENSORS_OK},
        {"{\"a\":" E0 ",\"__metadata__\":{\"k\":\"v\"},\"b\":" E1 ",\"c\":" E2 "}", NULL, "a|b|c", SAFETENSORS_OK},
        {"{\"a\":" E0 ", }", ", }", "", SAFETENSORS_ERR_JSON},
        {"{\"a\":" E0 ",\n ,\"b\":" E1 "}", ",\n ,", "", SAFETENSORS_ERR_JSON},
        {"{\"a\":" E0 ",\"a\":" E1 "}", "},\"", "", SAFETENSORS_ERR_DUPLICATE},
        {"{\"a\":" E0 ",\"b\":" E1 ",\"c\":" E2 ",", NULL, "", SAFETENSORS_ERR_JSON},
    };
    size_t k, runs = 0;
    (void)state;
    g_failures = 0;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        outcome whole;
        char what[32];
        snprintf(what, sizeof what, "member run %zu", k);
        check_every_split(what, cases[k].hdr, strlen(cases[k].hdr), 64, &whole, &runs);
        if (whole.code != cases[k].code)
            report(what, "%s, expected %s", safetensors_result_name(whole.code), safetensors_result_name(cases[k].code));
        else if (cases[k].at != NULL && whole.offset != tu_pos(cases[k].hdr, cases[k].at) + strlen(cases[k].at) - 1)
            report(what, "error at %llu, expected %llu", (unsigned long long)whole.offset,
                   (unsigned long long)(tu_pos(cases[k].hdr, cases[k].at) + strlen(cases[k].at) - 1));
        else if (whole.code == SAFETENSORS_OK) {
            char joined[64] = "";
            size_t i;
            for (i = 0; i < safetensors_tensor_count(whole.f); i++) {
                const safetensors_tensor *t = safetensors_tensor_at(whole.f, i);
                if (i) strcat(joined, "|");
                strncat(joined, t->name, t->name_len);
            }
            if (strcmp(joined, cases[k].names) != 0) report(what, "tensors %s, expected %s", joined, cases[k].names);
        }
        safetensors_close(whole.f);
    }
    printf("stream: member runs: %zu parser runs, %zu failures\n", runs, g_failures);
    assert_int_equal(g_failures, 0);
}

/* len letters with `piece` in place of the one at `at`, NUL-terminated;
   its length. */
static size_t spell_name(char *out, size_t len, size_t at, const char *piece) {
    size_t i, n = 0;
    for (i = 0; i < len; i++) {
        if (i == at) {
            memcpy(out + n, piece, strlen(piece));
            n += strlen(piece);
        } else {
            out[n++] = (char)('a' + (int)(i % 26));
        }
    }
    out[n] = '\0';
    return n;
}

/* A name of every length up to 40 with one byte that needs attention at
   every place in it: the scan for a name's end reads 16 or 8 bytes at a
   time, and must stop at exactly that byte. A raw control character is
   refused where it stands; UTF-8 and an escape are decoded. */
static void test_name_scan_split(void **state) {
    static const struct {
        const char *bytes, *decoded;
        safetensors_result code;
    } specials[] = {
        {"\xc3\xa9", "\xc3\xa9", SAFETENSORS_OK},
        {"\\n", "\n", SAFETENSORS_OK},
        {"\\\"", "\"", SAFETENSORS_OK},
        {"\x1f", NULL, SAFETENSORS_ERR_JSON},
        {"\x7f", "\x7f", SAFETENSORS_OK},
    };
    size_t len, at, k, runs = 0;
    (void)state;
    g_failures = 0;
    for (k = 0; k < sizeof specials / sizeof specials[0]; k++)
        for (len = 1; len <= 40; len++)
            for (at = 0; at < len; at++) {
                char name[64], want[64], hdr[256], what[64];
                size_t hdr_len;
                outcome whole;
                spell_name(name, len, at, specials[k].bytes);
                hdr_len = (size_t)snprintf(hdr, sizeof hdr, "{\"x\":" E0 ",\"%s\":" E1 ",\"z\":" E2 "}", name);
                snprintf(what, sizeof what, "special %zu at %zu of %zu", k, at, len);
                check_every_split(what, hdr, hdr_len, 64, &whole, &runs);
                if (whole.code != specials[k].code) {
                    report(what, "%s, expected %s", safetensors_result_name(whole.code),
                           safetensors_result_name(specials[k].code));
                } else if (whole.code != SAFETENSORS_OK) {
                    if (whole.offset != 8u + (size_t)(strstr(hdr, specials[k].bytes) - hdr))
                        report(what, "refused at %llu", (unsigned long long)whole.offset);
                } else {
                    size_t w = spell_name(want, len, at, specials[k].decoded);
                    const safetensors_tensor *t = safetensors_find(whole.f, want, w);
                    if (safetensors_tensor_count(whole.f) != 3 || t == NULL || t->begin != 8)
                        report(what, "the name did not decode to its bytes");
                }
                safetensors_close(whole.f);
            }
    printf("stream: name scan: %zu parser runs, %zu failures\n", runs, g_failures);
    assert_int_equal(g_failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_equivalence),
        cmocka_unit_test(test_finish_early),
        cmocka_unit_test(test_utf8_edges_split),
        cmocka_unit_test(test_member_runs_split),
        cmocka_unit_test(test_name_scan_split),
    };
    return cmocka_run_group_tests(tests, tu_expected_setup, tu_expected_teardown);
}
