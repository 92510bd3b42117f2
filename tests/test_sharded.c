/* test_sharded.c - sharded models: safetensors_model_open and friends.

   What is checked, and where the expected values come from:
     - tests/models/tiny-llama-bf16-sharded opens through its folder, its
       index file and in lazy mode; every weight_map entry (read from the
       index here, by a scanner of this file) resolves with
       safetensors_model_find in the shard the index names, and its bytes are
       those of a plain safetensors_open of that shard and those of the shard
       file at data_start + begin (data_start from the file's own length
       prefix);
     - the index's metadata: string values decoded, every value's JSON text
       as written, also when a value straddles a 64 KiB read of the index;
     - lookups of absent names in models of exactly 16, 32 and 64 tensors
       and metadata keys end (under a deadline);
     - tests/models/tiny-gpt2 (no index) opens as a model of one shard;
     - corrupt indexes and shard sets, written under build/sharded_tmp/, are
       refused with the code the header's rules give, including every form
       of shard name that could leave the index's folder; a valid shard is
       placed at each such target, so that a refusal cannot be an accident
       of the file not being there;
     - lazy mode defers a shard's errors to the first use of that shard;
     - lazy mode from many threads gives the eager results (POSIX threads;
       define TEST_SHARDED_NO_THREADS to leave this out);
     - how a folder is resolved: index (also beside a model.safetensors),
       model.safetensors, the only *.safetensors.index.json, the only
       *.safetensors, else an error.

   Run from the repository root. Build:
       cc $(WARN) -I. tests/test_sharded.c -o build/test_sharded -lcmocka -pthread */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if !defined(TEST_SHARDED_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#define TEST_SHARDED_THREADS 1
#include <pthread.h>
#include <sched.h>
#else
#define TEST_SHARDED_THREADS 0
#endif

#define LLAMA_DIR "tests/models/tiny-llama-bf16-sharded"
#define LLAMA_INDEX LLAMA_DIR "/model.safetensors.index.json"
#define GPT2_DIR "tests/models/tiny-gpt2"
#define GPT2_FILE GPT2_DIR "/model.safetensors"
#define TMP "build/sharded_tmp"
#define MAX_SHARDS 8
#define PATH_MAX_LEN 1024

/* ---------------------------------------------------------------------
   Small file-system helpers
   --------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len && fwrite(bytes, 1, len, fp) != len) fail_msg("short write to %s", path);
    if (fclose(fp) != 0) fail_msg("cannot close %s", path);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

static void copy_file(const char *from, const char *to)
{
    size_t len;
    unsigned char *b = tu_must_read(from, &len);
    write_bytes(to, b, len);
    free(b);
}

static void path2(char *out, size_t cap, const char *a, const char *b)
{
    if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap) fail_msg("path too long: %s/%s", a, b);
}

/* Copy of s with the first occurrence of `from` replaced by `to`; `from`
   must occur. */
static char *replace_once(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t head, fl = strlen(from), tl = strlen(to), n = strlen(s);
    char *out;
    if (!at) fail_msg("replace_once: \"%s\" not found", from);
    head = (size_t)(at - s);
    out = (char *)malloc(n - fl + tl + 1);
    assert_non_null(out);
    memcpy(out, s, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, n - head - fl + 1);
    return out;
}

/* ---------------------------------------------------------------------
   The index, read independently of the library: a small scanner for the
   shape model.safetensors.index.json has (an object with "metadata", an
   object of scalars, and "weight_map", an object of strings; no escapes).
   --------------------------------------------------------------------- */

typedef struct pair {
    char *key;
    char *value; /* the shard name, or a metadata value's raw JSON text */
} pair;

typedef struct index_doc {
    char *text;
    size_t text_len;
    pair *weights;
    size_t nweights;
    pair *meta;
    size_t nmeta;
    char *shards[MAX_SHARDS]; /* distinct shard names in byte order */
    size_t nshards;
} index_doc;

typedef struct scanner {
    const char *s;
    size_t n, i;
} scanner;

static void sc_space(scanner *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' || c->s[c->i] == '\n'))
        c->i++;
}

static int sc_take(scanner *c, char ch)
{
    sc_space(c);
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return 1;
    }
    return 0;
}

static char *sc_string(scanner *c)
{
    size_t start;
    sc_space(c);
    if (c->i >= c->n || c->s[c->i] != '"') fail_msg("index scanner: string expected at %zu", c->i);
    start = ++c->i;
    while (c->i < c->n && c->s[c->i] != '"') {
        if (c->s[c->i] == '\\') fail_msg("index scanner: escapes are not expected here");
        c->i++;
    }
    if (c->i >= c->n) fail_msg("index scanner: unterminated string");
    c->i++;
    return tu_strndup(c->s + start, c->i - 1 - start);
}

/* A scalar or container value up to the ',' or '}' that ends it. */
static char *sc_raw(scanner *c)
{
    size_t start, end;
    int depth = 0, in_string = 0;
    sc_space(c);
    start = c->i;
    for (; c->i < c->n; c->i++) {
        char ch = c->s[c->i];
        if (in_string) {
            if (ch == '\\') c->i++;
            else if (ch == '"') in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        } else if (depth == 0 && (ch == ',' || ch == '}')) {
            break;
        }
    }
    end = c->i;
    while (end > start && (c->s[end - 1] == ' ' || c->s[end - 1] == '\n' || c->s[end - 1] == '\r' ||
                           c->s[end - 1] == '\t'))
        end--;
    return tu_strndup(c->s + start, end - start);
}

static void sc_object(scanner *c, pair **pairs, size_t *count, int raw)
{
    size_t cap = 0;
    if (!sc_take(c, '{')) fail_msg("index scanner: object expected");
    if (sc_take(c, '}')) return;
    do {
        pair p;
        p.key = sc_string(c);
        if (!sc_take(c, ':')) fail_msg("index scanner: ':' expected");
        p.value = raw ? sc_raw(c) : sc_string(c);
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            *pairs = (pair *)realloc(*pairs, cap * sizeof **pairs);
            assert_non_null(*pairs);
        }
        (*pairs)[(*count)++] = p;
    } while (sc_take(c, ','));
    if (!sc_take(c, '}')) fail_msg("index scanner: '}' expected at %zu", c->i);
}

static void index_load(index_doc *d, const char *path)
{
    scanner c;
    size_t i, j;
    memset(d, 0, sizeof *d);
    d->text = tu_read_text(path, &d->text_len);
    if (!d->text) fail_msg("cannot read %s", path);
    c.s = d->text;
    c.n = d->text_len;
    c.i = 0;
    if (!sc_take(&c, '{')) fail_msg("index scanner: top-level object expected");
    do {
        char *key = sc_string(&c);
        if (!sc_take(&c, ':')) fail_msg("index scanner: ':' expected");
        if (strcmp(key, "metadata") == 0) sc_object(&c, &d->meta, &d->nmeta, 1);
        else if (strcmp(key, "weight_map") == 0) sc_object(&c, &d->weights, &d->nweights, 0);
        else free(sc_raw(&c));
        free(key);
    } while (sc_take(&c, ','));
    if (!sc_take(&c, '}')) fail_msg("index scanner: '}' expected at the end");
    /* distinct shard names, sorted by bytes */
    for (i = 0; i < d->nweights; i++) {
        const char *s = d->weights[i].value;
        for (j = 0; j < d->nshards && strcmp(d->shards[j], s) != 0; j++) continue;
        if (j < d->nshards) continue;
        assert_true(d->nshards < MAX_SHARDS);
        for (j = d->nshards; j > 0 && strcmp(d->shards[j - 1], s) > 0; j--) d->shards[j] = d->shards[j - 1];
        d->shards[j] = tu_strndup(s, strlen(s));
        d->nshards++;
    }
}

static void index_free(index_doc *d)
{
    size_t i;
    for (i = 0; i < d->nweights; i++) {
        free(d->weights[i].key);
        free(d->weights[i].value);
    }
    for (i = 0; i < d->nmeta; i++) {
        free(d->meta[i].key);
        free(d->meta[i].value);
    }
    for (i = 0; i < d->nshards; i++) free(d->shards[i]);
    free(d->weights);
    free(d->meta);
    free(d->text);
    memset(d, 0, sizeof *d);
}

static size_t shard_number(const index_doc *d, const char *name)
{
    size_t j;
    for (j = 0; j < d->nshards; j++)
        if (strcmp(d->shards[j], name) == 0) return j;
    fail_msg("no shard %s", name);
    return 0;
}

static const char *meta_value(const index_doc *d, const char *key)
{
    size_t i;
    for (i = 0; i < d->nmeta; i++)
        if (strcmp(d->meta[i].key, key) == 0) return d->meta[i].value;
    return NULL;
}

/* ---------------------------------------------------------------------
   The shards, read independently: raw bytes, and a plain safetensors_open
   --------------------------------------------------------------------- */

static index_doc g_ix;
static unsigned char *g_raw[MAX_SHARDS];
static size_t g_raw_len[MAX_SHARDS];
static safetensors_file *g_single[MAX_SHARDS];

/* The header's length from the file's first 8 bytes, LE. */
static uint64_t raw_data_start(const unsigned char *raw, size_t len)
{
    assert_true(len >= 8);
    return 8u + tu_get_le64(raw);
}

static uint64_t element_bytes_bf16(const safetensors_tensor *t)
{
    uint64_t n = 1;
    size_t d;
    for (d = 0; d < t->ndim; d++) n *= t->shape[d];
    return 2u * n;
}

static int same_view(const safetensors_tensor *a, const safetensors_tensor *b)
{
    size_t d;
    if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len) != 0) return 0;
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->begin != b->begin || a->end != b->end) return 0;
    for (d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

static int setup(void **state)
{
    size_t k;
    (void)state;
    tu_rm_tree(TMP);
    index_load(&g_ix, LLAMA_INDEX);
    if (g_ix.nshards == 0) return -1;
    for (k = 0; k < g_ix.nshards; k++) {
        char path[PATH_MAX_LEN];
        safetensors_error err;
        path2(path, sizeof path, LLAMA_DIR, g_ix.shards[k]);
        g_raw[k] = tu_read_file(path, &g_raw_len[k]);
        if (!g_raw[k]) return -1;
        if (safetensors_open(path, NULL, &g_single[k], &err) != SAFETENSORS_OK) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    size_t k;
    (void)state;
    for (k = 0; k < g_ix.nshards; k++) {
        free(g_raw[k]);
        safetensors_close(g_single[k]);
    }
    index_free(&g_ix);
    tu_rm_tree(TMP);
    return 0;
}

/* ---------------------------------------------------------------------
   The bundled sharded model, every way it can be opened
   --------------------------------------------------------------------- */

static void check_llama(const safetensors_model *m, unsigned flags)
{
    size_t i, k, n = g_ix.nweights;
    uint64_t held = 0;
    const char *total = meta_value(&g_ix, "total_size");
    uint64_t declared;
    size_t per_shard[MAX_SHARDS];
    const safetensors_tensor *prev = NULL;
    size_t prev_shard = 0;

    assert_int_equal(safetensors_model_tensor_count(m), n);
    assert_int_equal(safetensors_model_shard_count(m), g_ix.nshards);
    for (k = 0; k < g_ix.nshards; k++) {
        size_t name_len = 0;
        assert_non_null(safetensors_model_shard_name(m, k, &name_len));
        assert_string_equal(safetensors_model_shard_name(m, k, NULL), g_ix.shards[k]);
        assert_int_equal(name_len, strlen(g_ix.shards[k]));
        per_shard[k] = 0;
    }
    {
        size_t name_len = 99;
        assert_null(safetensors_model_shard_name(m, g_ix.nshards, &name_len));
        assert_int_equal(name_len, 0);
    }

    /* every weight_map entry, in the shard the index names */
    for (i = 0; i < n; i++) {
        const char *name = g_ix.weights[i].key;
        size_t want = shard_number(&g_ix, g_ix.weights[i].value), shard = 99;
        const safetensors_tensor *t = NULL, *single;
        const safetensors_file *f = NULL;
        safetensors_error err;
        safetensors_result r = safetensors_model_find(m, name, strlen(name), &t, &shard, &err);
        if (r != SAFETENSORS_OK) fail_msg("find %s: %s: %s", name, safetensors_result_name(r), err.message);
        assert_non_null(t);
        assert_int_equal(shard, want);
        per_shard[want]++;
        assert_int_equal(t->name_len, strlen(name));
        assert_memory_equal(t->name, name, t->name_len);
        assert_int_equal(t->name[t->name_len], '\0');
        assert_int_equal(t->dtype, SAFETENSORS_BF16);
        assert_true(t->end >= t->begin);
        assert_int_equal(t->end - t->begin, element_bytes_bf16(t));
        held += t->end - t->begin;

        /* the plain single-file view of the same shard */
        single = safetensors_find(g_single[want], name, strlen(name));
        assert_non_null(single);
        assert_true(same_view(t, single));
        /* the model's own handle on the shard holds this very view */
        assert_int_equal(safetensors_model_shard(m, want, &f, &err), SAFETENSORS_OK);
        assert_non_null(f);
        assert_ptr_equal(safetensors_find(f, name, strlen(name)), t);
        assert_int_equal(safetensors_data_start(f), raw_data_start(g_raw[want], g_raw_len[want]));

        if (flags & SAFETENSORS_HEADER_ONLY) {
            assert_null(t->data);
            continue;
        }
        assert_non_null(t->data);
        assert_memory_equal(t->data, single->data, (size_t)(t->end - t->begin));
        /* and the shard file's bytes at data_start + begin */
        {
            uint64_t at = raw_data_start(g_raw[want], g_raw_len[want]) + t->begin;
            assert_true(at <= g_raw_len[want] && t->end - t->begin <= g_raw_len[want] - at);
            assert_memory_equal(t->data, g_raw[want] + at, (size_t)(t->end - t->begin));
        }
    }
    /* each shard holds what the index puts there and nothing else */
    for (k = 0; k < g_ix.nshards; k++) {
        const safetensors_file *f = NULL;
        assert_int_equal(safetensors_model_shard(m, k, &f, NULL), SAFETENSORS_OK);
        assert_int_equal(safetensors_tensor_count(f), per_shard[k]);
    }
    /* total_size is what the tensors hold */
    assert_non_null(total);
    assert_int_equal(tu_parse_u64(total, strlen(total), &declared), 0);
    assert_int_equal(held, declared);

    /* iteration: by shard, then by name bytes, and the same views as find */
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t = NULL, *again = NULL;
        size_t shard = 99, shard2 = 98;
        assert_int_equal(safetensors_model_tensor_at(m, i, &t, &shard, NULL), SAFETENSORS_OK);
        assert_non_null(t);
        assert_int_equal(safetensors_model_find(m, t->name, t->name_len, &again, &shard2, NULL), SAFETENSORS_OK);
        assert_ptr_equal(again, t);
        assert_int_equal(shard, shard2);
        if (prev) {
            int c = memcmp(prev->name, t->name, prev->name_len < t->name_len ? prev->name_len : t->name_len);
            if (c == 0) c = prev->name_len < t->name_len ? -1 : 1;
            assert_true(prev_shard < shard || (prev_shard == shard && c < 0));
        }
        prev = t;
        prev_shard = shard;
    }

    /* names that are not there */
    {
        const safetensors_tensor *t = (const safetensors_tensor *)&t;
        size_t shard = 77;
        safetensors_error err;
        assert_int_equal(safetensors_model_find(m, "lm_head", 7, &t, &shard, &err), SAFETENSORS_ERR_NOT_FOUND);
        assert_null(t);
        assert_int_equal(err.code, SAFETENSORS_ERR_NOT_FOUND);
        assert_non_null(strstr(err.message, "lm_head"));
        assert_int_equal(safetensors_model_find(m, "lm_head.weight\0x", 16, &t, NULL, NULL), SAFETENSORS_ERR_NOT_FOUND);
        assert_int_equal(safetensors_model_find(m, "lm_head.weightX", 15, &t, NULL, NULL), SAFETENSORS_ERR_NOT_FOUND);
        assert_int_equal(safetensors_model_find(m, "", 0, &t, NULL, NULL), SAFETENSORS_ERR_NOT_FOUND);
        assert_int_equal(safetensors_model_find(m, NULL, 0, &t, NULL, NULL), SAFETENSORS_ERR_NOT_FOUND);
        /* a name given with its length, not NUL-terminated */
        assert_int_equal(safetensors_model_find(m, "lm_head.weight-not-this", 14, &t, NULL, NULL), SAFETENSORS_OK);
        assert_non_null(t);
    }
}

static void open_and_check(const char *path, unsigned flags)
{
    safetensors_model *m = (safetensors_model *)&m;
    safetensors_options opt;
    safetensors_error err;
    safetensors_result r;
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    r = safetensors_model_open(path, &opt, &m, &err);
    if (r != SAFETENSORS_OK) fail_msg("%s (flags %u): %s: %s", path, flags, safetensors_result_name(r), err.message);
    assert_non_null(m);
    check_llama(m, flags);
    safetensors_model_close(m);
}

static void test_llama_folder(void **state)
{
    (void)state;
    open_and_check(LLAMA_DIR, 0);
    open_and_check(LLAMA_DIR "/", 0);
}

static void test_llama_index_path(void **state)
{
    (void)state;
    open_and_check(LLAMA_INDEX, 0);
    open_and_check("./" LLAMA_INDEX, 0);
}

static void test_llama_lazy(void **state)
{
    (void)state;
    open_and_check(LLAMA_DIR, SAFETENSORS_MODEL_LAZY);
    open_and_check(LLAMA_INDEX, SAFETENSORS_MODEL_LAZY);
}

static void test_llama_shard_options(void **state)
{
    (void)state;
    open_and_check(LLAMA_DIR, SAFETENSORS_READ_INTO_MEMORY);
    open_and_check(LLAMA_DIR, SAFETENSORS_HEADER_ONLY);
    open_and_check(LLAMA_DIR, SAFETENSORS_MODEL_LAZY | SAFETENSORS_READ_INTO_MEMORY);
    open_and_check(LLAMA_DIR, SAFETENSORS_MODEL_ALLOW_UNLISTED); /* nothing unlisted: the same model */
}

/* The lazy model's first use of each tensor, in reverse order of shards:
   every shard opens on demand, and tensor_at opens one too. */
static void test_llama_lazy_order_of_use(void **state)
{
    safetensors_model *m;
    safetensors_options opt;
    size_t i;
    (void)state;
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_MODEL_LAZY;
    assert_int_equal(safetensors_model_open(LLAMA_DIR, &opt, &m, NULL), SAFETENSORS_OK);
    for (i = safetensors_model_tensor_count(m); i-- > 0;) {
        const safetensors_tensor *t = NULL;
        assert_int_equal(safetensors_model_tensor_at(m, i, &t, NULL, NULL), SAFETENSORS_OK);
        assert_non_null(t);
        assert_non_null(t->data);
    }
    check_llama(m, 0);
    safetensors_model_close(m);
    /* opened and closed without any use */
    assert_int_equal(safetensors_model_open(LLAMA_DIR, &opt, &m, NULL), SAFETENSORS_OK);
    safetensors_model_close(m);
}

/* ---------------------------------------------------------------------
   Metadata
   --------------------------------------------------------------------- */

/* No metadata key key[0..n) in m: find returns 0, zeroes the entry it was
   given whatever it held, and takes a NULL one. */
static void assert_no_model_meta_key(const safetensors_model *m, const char *key, size_t n)
{
    safetensors_metadata_entry e;
    tu_entry_stale(&e);
    assert_int_equal(safetensors_model_metadata_find(m, key, n, &e), 0);
    assert_true(tu_entry_zeroed(&e));
    assert_int_equal(safetensors_model_metadata_find(m, key, n, NULL), 0);
}

/* No i-th metadata entry in m: as assert_no_model_meta_key, for _at. */
static void assert_no_model_meta_at(const safetensors_model *m, size_t i)
{
    safetensors_metadata_entry e;
    tu_entry_stale(&e);
    assert_int_equal(safetensors_model_metadata_at(m, i, &e), 0);
    assert_true(tu_entry_zeroed(&e));
    assert_int_equal(safetensors_model_metadata_at(m, i, NULL), 0);
}

/* The place in m's metadata of an entry that _find filled in. */
static size_t model_meta_index(const safetensors_model *m, const safetensors_metadata_entry *e)
{
    size_t i;
    safetensors_metadata_entry at;
    for (i = 0; safetensors_model_metadata_at(m, i, &at); i++)
        if (tu_entry_same(&at, e)) return i;
    fail_msg("the entry _find filled in (key of %zu bytes) is no entry of metadata_at", e->key_len);
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The bundled sharded checkpoint, eager (lazy == 0) or lazy. */
static safetensors_model *open_llama(unsigned lazy)
{
    safetensors_options opt;
    safetensors_model *m = NULL;
    memset(&opt, 0, sizeof opt);
    opt.flags = lazy ? SAFETENSORS_MODEL_LAZY : 0;
    assert_int_equal(safetensors_model_open(LLAMA_INDEX, &opt, &m, NULL), SAFETENSORS_OK);
    return m;
}

static void test_metadata(void **state)
{
    static const char *const keys[] = {"total_size", "total_parameters"};
    safetensors_model *m;
    size_t i, k;
    unsigned mode;
    (void)state;
    assert_true(g_ix.nmeta >= 2);
    for (mode = 0; mode < 2; mode++) {
        m = open_llama(mode);
        assert_int_equal(safetensors_model_metadata_count(m), g_ix.nmeta);
        /* in the index's order; numbers have no string value, only JSON text */
        for (i = 0; i < g_ix.nmeta; i++) {
            safetensors_metadata_entry e;
            size_t json_len = 0;
            const char *json = safetensors_model_metadata_json(m, i, &json_len);
            assert_int_equal(safetensors_model_metadata_at(m, i, &e), 1);
            assert_int_equal(e.key_len, strlen(g_ix.meta[i].key));
            assert_string_equal(e.key, g_ix.meta[i].key);
            assert_true(all_digits(g_ix.meta[i].value));
            assert_null(e.value);
            assert_int_equal(e.value_len, 0);
            assert_int_equal(json_len, strlen(g_ix.meta[i].value));
            assert_memory_equal(json, g_ix.meta[i].value, json_len);
        }
        assert_null(safetensors_model_metadata_json(m, g_ix.nmeta, NULL));
        assert_no_model_meta_at(m, g_ix.nmeta);
        for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *want = meta_value(&g_ix, keys[k]);
            safetensors_metadata_entry e;
            assert_non_null(want);
            assert_true(all_digits(want));
            if (!safetensors_model_metadata_find(m, keys[k], strlen(keys[k]), &e)) {
                safetensors_model_close(m);
                fail_msg("metadata_find(\"%s\") returns 0 (mode %u)", keys[k], mode);
            }
            assert_string_equal(e.key, keys[k]);
            assert_null(e.value);
            {
                /* the entry at the key's place in the index, and its JSON text */
                size_t json_len, at = model_meta_index(m, &e);
                const char *json = safetensors_model_metadata_json(m, at, &json_len);
                assert_int_equal(json_len, strlen(want));
                assert_memory_equal(json, want, json_len);
            }
        }
        assert_no_model_meta_key(m, "total", 5);
        assert_no_model_meta_key(m, "total_size_", 11);
        assert_no_model_meta_key(m, "weight_map", 10);
        assert_no_model_meta_key(m, NULL, 3);
        safetensors_model_close(m);
    }
}

/* The model's metadata accessors, as the file's: 1 and the caller's entry
   filled in when it is there, 0 and the entry zeroed (whatever it held)
   when not, a NULL out taken; the strings live until the model closes. */
static void test_model_metadata_out(void **state)
{
    safetensors_model *m;
    safetensors_metadata_entry e, again;
    unsigned mode;
    (void)state;
    assert_true(g_ix.nmeta >= 2);
    for (mode = 0; mode < 2; mode++) {
        const char *key0 = g_ix.meta[0].key;
        m = open_llama(mode);
        /* there: filled in over what the entry held */
        tu_entry_stale(&e);
        assert_int_equal(safetensors_model_metadata_at(m, 0, &e), 1);
        assert_int_equal(e.key_len, strlen(key0));
        assert_string_equal(e.key, key0);
        assert_null(e.value); /* a number: its JSON text only */
        assert_int_equal(e.value_len, 0);
        tu_entry_stale(&again);
        assert_int_equal(safetensors_model_metadata_find(m, key0, strlen(key0), &again), 1);
        assert_true(tu_entry_same(&again, &e));
        assert_int_equal(safetensors_model_metadata_at(m, 0, NULL), 1);
        assert_int_equal(safetensors_model_metadata_find(m, key0, strlen(key0), NULL), 1);
        /* not there: 0 and zeroed, or just 0 */
        assert_no_model_meta_at(m, g_ix.nmeta);
        assert_no_model_meta_at(m, (size_t)-1);
        assert_no_model_meta_key(m, key0, strlen(key0) - 1);
        assert_no_model_meta_key(m, "lm_head.weight", 14); /* a tensor's name is no key */
        assert_no_model_meta_key(m, "metadata", 8);
        /* the entry is the caller's copy, its strings the model's */
        e.key = NULL;
        e.key_len = 0;
        assert_int_equal(safetensors_model_metadata_at(m, 0, &again), 1);
        assert_string_equal(again.key, key0);
        assert_no_model_meta_key(m, "zz", 2);
        assert_int_equal(safetensors_model_metadata_at(m, 1, &e), 1);
        assert_string_equal(again.key, key0);
        assert_string_equal(e.key, g_ix.meta[1].key);
        safetensors_model_close(m);
    }
}

/* Every value's JSON text is there as written: strings keep their quotes
   and escapes, containers their text. A string value is also decoded; any
   other value has none. */
static void test_metadata_raw_values(void **state)
{
    static const char decoded_s[] = "a\xc3\xa9\n"; /* a, U+00E9 in UTF-8, LF */
    static const char idx[] = "{\"metadata\": {\"s\": \"a\\u00e9\\n\", \"o\": {\"k\": [1, true, null]}, \"n\": null, "
                              "\"f\": -1.5e3, \"b\": false}, \"weight_map\": {\"t\": \"a.safetensors\"}}";
    static const char *const want[][2] = {{"s", "\"a\\u00e9\\n\""},
                                          {"o", "{\"k\": [1, true, null]}"},
                                          {"n", "null"},
                                          {"f", "-1.5e3"},
                                          {"b", "false"}};
    char shard[PATH_MAX_LEN], index[PATH_MAX_LEN];
    static const unsigned char four[4] = {1, 2, 3, 4};
    static const char hdr[] = "{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    unsigned char *b;
    size_t len, i;
    safetensors_model *m;
    safetensors_error err;
    (void)state;
    assert_int_equal(tu_mkdir_p(TMP "/raw"), 0);
    path2(shard, sizeof shard, TMP "/raw", "a.safetensors");
    path2(index, sizeof index, TMP "/raw", "model.safetensors.index.json");
    b = tu_build(hdr, 4, &len);
    memcpy(b + len - 4, four, 4);
    write_bytes(shard, b, len);
    free(b);
    write_text(index, idx);
    if (safetensors_model_open(TMP "/raw", NULL, &m, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
    assert_int_equal(safetensors_model_metadata_count(m), 5);
    for (i = 0; i < 5; i++) {
        safetensors_metadata_entry e;
        size_t json_len;
        const char *json = safetensors_model_metadata_json(m, i, &json_len);
        assert_int_equal(safetensors_model_metadata_at(m, i, &e), 1);
        assert_string_equal(e.key, want[i][0]);
        assert_int_equal(json_len, strlen(want[i][1]));
        assert_memory_equal(json, want[i][1], json_len);
        if (i == 0) {
            assert_int_equal(e.value_len, strlen(decoded_s));
            assert_string_equal(e.value, decoded_s);
        } else {
            assert_null(e.value);
            assert_int_equal(e.value_len, 0);
        }
    }
    safetensors_model_close(m);
}

/* ---------------------------------------------------------------------
   A single file as a model
   --------------------------------------------------------------------- */

/* Tensors in a safetensors file by its raw header: the entries that carry
   data_offsets (every tensor entry does, and __metadata__ does not). */
static size_t raw_tensor_count(const unsigned char *raw, size_t len)
{
    uint64_t n = tu_get_le64(raw);
    size_t count = 0, i;
    static const char needle[] = "\"data_offsets\"";
    assert_true(n <= len - 8);
    for (i = 8; i + sizeof needle - 1 <= 8 + n; i++)
        if (memcmp(raw + i, needle, sizeof needle - 1) == 0) count++;
    return count;
}

static void check_gpt2(const char *path)
{
    safetensors_model *m;
    safetensors_file *f;
    safetensors_error err;
    size_t len, i, n;
    unsigned char *raw = tu_read_file(GPT2_FILE, &len);
    assert_non_null(raw);
    n = raw_tensor_count(raw, len);
    assert_int_equal(n, 28);
    if (safetensors_model_open(path, NULL, &m, &err) != SAFETENSORS_OK) fail_msg("%s: %s", path, err.message);
    assert_int_equal(safetensors_open(GPT2_FILE, NULL, &f, &err), SAFETENSORS_OK);
    assert_int_equal(safetensors_model_shard_count(m), 1);
    assert_string_equal(safetensors_model_shard_name(m, 0, NULL), "model.safetensors");
    assert_int_equal(safetensors_model_tensor_count(m), n);
    assert_int_equal(safetensors_model_metadata_count(m), 0);
    assert_no_model_meta_key(m, "format", 6);
    for (i = 0; i < n; i++) {
        const safetensors_tensor *want = safetensors_tensor_at(f, i), *t = NULL;
        size_t shard = 9;
        assert_int_equal(safetensors_model_find(m, want->name, want->name_len, &t, &shard, NULL), SAFETENSORS_OK);
        assert_int_equal(shard, 0);
        assert_true(same_view(t, want));
        assert_memory_equal(t->data, raw + 8 + tu_get_le64(raw) + t->begin, (size_t)(t->end - t->begin));
    }
    safetensors_close(f);
    safetensors_model_close(m);
    free(raw);
}

static void test_gpt2_single_file(void **state)
{
    (void)state;
    check_gpt2(GPT2_DIR);
    check_gpt2(GPT2_DIR "/");
    check_gpt2(GPT2_FILE);
}

/* A single file's refusal is the file's own. */
static void test_single_file_refused(void **state)
{
    static const char hdr[] = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    unsigned char *b;
    size_t len;
    safetensors_model *m = (safetensors_model *)&m;
    safetensors_error err;
    (void)state;
    assert_int_equal(tu_mkdir_p(TMP "/single"), 0);
    b = tu_build(hdr, 4, &len);
    write_bytes(TMP "/single/model.safetensors", b, len);
    free(b);
    assert_int_equal(safetensors_model_open(TMP "/single", NULL, &m, &err), SAFETENSORS_ERR_SIZE);
    assert_null(m);
    assert_int_equal(err.offset, tu_pos(hdr, "\"t\""));
    assert_int_equal(safetensors_model_open(TMP "/single/model.safetensors", NULL, &m, &err), SAFETENSORS_ERR_SIZE);
    assert_int_equal(safetensors_model_open(TMP "/single/absent.safetensors", NULL, &m, &err), SAFETENSORS_ERR_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_int_equal(safetensors_model_open(TMP "/single/absent.safetensors.index.json", NULL, &m, &err),
                     SAFETENSORS_ERR_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_int_equal(safetensors_model_open(TMP "/no-such-folder/", NULL, &m, &err), SAFETENSORS_ERR_IO);
    assert_null(m);
}

/* ---------------------------------------------------------------------
   Writing small safetensors files
   --------------------------------------------------------------------- */

typedef struct wtensor {
    const char *name;
    const char *dtype;
    size_t ndim;
    uint64_t shape[4];
    const void *data;
    size_t nbytes;
} wtensor;

static void sb_append(char **s, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap) *cap = *cap ? 2 * *cap : 256;
        *s = (char *)realloc(*s, *cap);
        assert_non_null(*s);
    }
    memcpy(*s + *len, text, n + 1);
    *len += n;
}

/* 8-byte LE length, a compact header padded with spaces to a multiple of 8,
   then the data in the order given. */
static void write_safetensors(const char *path, const wtensor *ts, size_t n)
{
    char *h = NULL, num[64];
    size_t hl = 0, hc = 0, i, d, total = 0, at;
    unsigned char *file;
    uint64_t off = 0;
    sb_append(&h, &hl, &hc, "{");
    for (i = 0; i < n; i++) {
        assert_null(strpbrk(ts[i].name, "\"\\"));
        if (i) sb_append(&h, &hl, &hc, ",");
        sb_append(&h, &hl, &hc, "\"");
        sb_append(&h, &hl, &hc, ts[i].name);
        sb_append(&h, &hl, &hc, "\":{\"dtype\":\"");
        sb_append(&h, &hl, &hc, ts[i].dtype);
        sb_append(&h, &hl, &hc, "\",\"shape\":[");
        for (d = 0; d < ts[i].ndim; d++) {
            snprintf(num, sizeof num, "%s%llu", d ? "," : "", (unsigned long long)ts[i].shape[d]);
            sb_append(&h, &hl, &hc, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + ts[i].nbytes));
        sb_append(&h, &hl, &hc, num);
        off += ts[i].nbytes;
        total += ts[i].nbytes;
    }
    sb_append(&h, &hl, &hc, "}");
    while (hl % 8) sb_append(&h, &hl, &hc, " ");
    file = (unsigned char *)malloc(8 + hl + total + 1);
    assert_non_null(file);
    tu_put_le64(file, (uint64_t)hl);
    memcpy(file + 8, h, hl);
    at = 8 + hl;
    for (i = 0; i < n; i++) {
        if (ts[i].nbytes) memcpy(file + at, ts[i].data, ts[i].nbytes);
        at += ts[i].nbytes;
    }
    write_bytes(path, file, at);
    free(file);
    free(h);
}

/* A view as a tensor to write. */
static wtensor wt_from_view(const safetensors_tensor *t)
{
    wtensor w;
    size_t d;
    memset(&w, 0, sizeof w);
    w.name = t->name;
    w.dtype = safetensors_dtype_name(t->dtype);
    w.ndim = t->ndim;
    assert_true(t->ndim <= 4);
    for (d = 0; d < t->ndim; d++) w.shape[d] = t->shape[d];
    w.data = t->data;
    w.nbytes = (size_t)(t->end - t->begin);
    return w;
}

/* Shard k of the bundled model rewritten, with `extra` (a tensor name of
   another shard) added. */
static void write_shard_with_extra(const char *path, size_t k, const char *extra_name, size_t extra_shard)
{
    size_t n = safetensors_tensor_count(g_single[k]), i;
    wtensor *ts = (wtensor *)calloc(n + 1, sizeof *ts);
    const safetensors_tensor *x = safetensors_find(g_single[extra_shard], extra_name, strlen(extra_name));
    assert_non_null(ts);
    assert_non_null(x);
    for (i = 0; i < n; i++) ts[i] = wt_from_view(safetensors_tensor_at(g_single[k], i));
    ts[n] = wt_from_view(x);
    write_safetensors(path, ts, n + 1);
    free(ts);
}

/* A tensor "name" of U8 [4] holding 1, 2, 3, 4 at `path`. */
static void write_tiny(const char *path, const char *name)
{
    static const unsigned char four[4] = {1, 2, 3, 4};
    wtensor w;
    memset(&w, 0, sizeof w);
    w.name = name;
    w.dtype = "U8";
    w.ndim = 1;
    w.shape[0] = 4;
    w.data = four;
    w.nbytes = 4;
    write_safetensors(path, &w, 1);
}

/* ---------------------------------------------------------------------
   Corrupt indexes and shard sets
   --------------------------------------------------------------------- */

/* A fresh folder TMP/name with the bundled shards whose bit is in `mask`,
   and `index` (if not NULL) as model.safetensors.index.json. */
static void make_model_dir(char *dir, size_t cap, const char *name, unsigned mask, const char *index)
{
    size_t k;
    char from[PATH_MAX_LEN], to[PATH_MAX_LEN];
    path2(dir, cap, TMP, name);
    assert_int_equal(tu_fresh_dir(dir), 0);
    for (k = 0; k < g_ix.nshards; k++) {
        if (!(mask & (1u << k))) continue;
        path2(from, sizeof from, LLAMA_DIR, g_ix.shards[k]);
        path2(to, sizeof to, dir, g_ix.shards[k]);
        copy_file(from, to);
    }
    if (index) {
        path2(to, sizeof to, dir, "model.safetensors.index.json");
        write_text(to, index);
    }
}

#define ALL_SHARDS 0xFu

/* Opens `path` with `flags`, expects `want`; the message must contain
   `part` when it is given. */
static void expect_refused(const char *path, unsigned flags, safetensors_result want, const char *part,
                           safetensors_error *out)
{
    safetensors_model *m = (safetensors_model *)&m;
    safetensors_options opt;
    safetensors_error err;
    safetensors_result r;
    memset(&opt, 0, sizeof opt);
    memset(&err, 0, sizeof err);
    opt.flags = flags;
    r = safetensors_model_open(path, &opt, &m, &err);
    if (r != want) {
        if (r == SAFETENSORS_OK) safetensors_model_close(m);
        fail_msg("%s (flags %u): got %s (%s), expected %s", path, flags, safetensors_result_name(r), err.message,
                 safetensors_result_name(want));
    }
    assert_null(m);
    assert_int_equal(err.code, want);
    assert_true(err.message[0] != '\0');
    if (want != SAFETENSORS_ERR_IO) assert_int_equal(err.sys_errno, 0);
    if (part && !strstr(err.message, part)) fail_msg("%s: message \"%s\" does not name %s", path, err.message, part);
    if (out) *out = err;
}

static safetensors_model *open_ok(const char *path, unsigned flags)
{
    safetensors_model *m = NULL;
    safetensors_options opt;
    safetensors_error err;
    safetensors_result r;
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    r = safetensors_model_open(path, &opt, &m, &err);
    if (r != SAFETENSORS_OK) fail_msg("%s (flags %u): %s: %s", path, flags, safetensors_result_name(r), err.message);
    return m;
}

static void expect_find(const safetensors_model *m, const char *name, safetensors_result want, const char *part)
{
    const safetensors_tensor *t = (const safetensors_tensor *)&t;
    safetensors_error err;
    safetensors_result r;
    memset(&err, 0, sizeof err);
    r = safetensors_model_find(m, name, strlen(name), &t, NULL, &err);
    if (r != want)
        fail_msg("find %s: got %s (%s), expected %s", name, safetensors_result_name(r), err.message,
                 safetensors_result_name(want));
    if (want == SAFETENSORS_OK) {
        assert_non_null(t);
        return;
    }
    assert_null(t);
    assert_int_equal(err.code, want);
    if (part && !strstr(err.message, part)) fail_msg("find %s: message \"%s\" does not name %s", name, err.message, part);
}

static void test_missing_shard(void **state)
{
    char dir[PATH_MAX_LEN];
    safetensors_error err;
    safetensors_model *m;
    const safetensors_file *f = (const safetensors_file *)&f;
    size_t last = g_ix.nshards - 1;
    const char *gone = g_ix.shards[last];
    (void)state;
    make_model_dir(dir, sizeof dir, "missing", ALL_SHARDS & ~(1u << last), g_ix.text);
    expect_refused(dir, 0, SAFETENSORS_ERR_IO, gone, &err);
    assert_int_equal(err.sys_errno, ENOENT);

    /* lazy: the index alone opens; the error comes with the first use */
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    assert_int_equal(safetensors_model_tensor_count(m), g_ix.nweights);
    expect_find(m, "model.embed_tokens.weight", SAFETENSORS_OK, NULL);
    expect_find(m, "lm_head.weight", SAFETENSORS_ERR_IO, gone);
    expect_find(m, "lm_head.weight", SAFETENSORS_ERR_IO, gone); /* not remembered as opened */
    expect_find(m, "model.norm.weight", SAFETENSORS_ERR_IO, gone);
    expect_find(m, "model.embed_tokens.weight", SAFETENSORS_OK, NULL);
    memset(&err, 0, sizeof err);
    assert_int_equal(safetensors_model_shard(m, last, &f, &err), SAFETENSORS_ERR_IO);
    assert_null(f);
    assert_int_equal(err.sys_errno, ENOENT);
    {
        const safetensors_tensor *t = NULL;
        size_t i = safetensors_model_tensor_count(m) - 1; /* the last shard's last tensor */
        assert_int_equal(safetensors_model_tensor_at(m, i, &t, NULL, &err), SAFETENSORS_ERR_IO);
        assert_null(t);
    }
    safetensors_model_close(m);

    /* the file appears later: a lazy model opened before it picks it up */
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "lm_head.weight", SAFETENSORS_ERR_IO, gone);
    {
        char from[PATH_MAX_LEN], to[PATH_MAX_LEN];
        path2(from, sizeof from, LLAMA_DIR, gone);
        path2(to, sizeof to, dir, gone);
        copy_file(from, to);
    }
    expect_find(m, "lm_head.weight", SAFETENSORS_OK, NULL);
    safetensors_model_close(m);
}

static void test_wrong_shard(void **state)
{
    char dir[PATH_MAX_LEN];
    char *idx;
    safetensors_model *m;
    (void)state;
    /* lm_head is in the last shard; the index says the one before */
    idx = replace_once(g_ix.text, "\"lm_head.weight\": \"model-00004-of-00004.safetensors\"",
                       "\"lm_head.weight\": \"model-00003-of-00004.safetensors\"");
    make_model_dir(dir, sizeof dir, "wrong_later", ALL_SHARDS, idx);
    free(idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, "lm_head.weight", NULL);
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "model.embed_tokens.weight", SAFETENSORS_OK, NULL);
    expect_find(m, "lm_head.weight", SAFETENSORS_ERR_NOT_FOUND, "lm_head.weight");
    safetensors_model_close(m);

    /* the embedding is in the first shard; the index says the second: the
       first shard is checked first, and the tensor is in one shard only */
    idx = replace_once(g_ix.text, "\"model.embed_tokens.weight\": \"model-00001-of-00004.safetensors\"",
                       "\"model.embed_tokens.weight\": \"model-00002-of-00004.safetensors\"");
    make_model_dir(dir, sizeof dir, "wrong_earlier", ALL_SHARDS, idx);
    free(idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, "model.embed_tokens.weight", NULL);
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "model.embed_tokens.weight", SAFETENSORS_ERR_NOT_FOUND, "model.embed_tokens.weight");
    safetensors_model_close(m);
}

static void test_tensor_in_two_shards(void **state)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    safetensors_model *m;
    size_t last = g_ix.nshards - 1;
    (void)state;
    /* the second shard also holds lm_head, which the index puts in the last */
    make_model_dir(dir, sizeof dir, "two_later", ALL_SHARDS, g_ix.text);
    path2(path, sizeof path, dir, g_ix.shards[1]);
    write_shard_with_extra(path, 1, "lm_head.weight", last);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", NULL);
    expect_refused(dir, SAFETENSORS_MODEL_ALLOW_UNLISTED, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", NULL);
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "lm_head.weight", SAFETENSORS_OK, NULL);
    expect_find(m, "model.layers.0.input_layernorm.weight", SAFETENSORS_ERR_DUPLICATE, "lm_head.weight");
    safetensors_model_close(m);

    /* the last shard also holds the embedding, which the index puts in the first */
    make_model_dir(dir, sizeof dir, "two_earlier", ALL_SHARDS, g_ix.text);
    path2(path, sizeof path, dir, g_ix.shards[last]);
    write_shard_with_extra(path, last, "model.embed_tokens.weight", 0);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "model.embed_tokens.weight", NULL);
    expect_refused(dir, SAFETENSORS_MODEL_ALLOW_UNLISTED, SAFETENSORS_ERR_DUPLICATE, "model.embed_tokens.weight",
                   NULL);
}

/* With SAFETENSORS_MODEL_ALLOW_UNLISTED, two shards holding the same
   unlisted name are still a tensor in two shards. */
static void test_unlisted_in_two_shards(void **state)
{
    static const unsigned char data[6] = {1, 2, 3, 4, 5, 6};
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    wtensor ts[2];
    (void)state;
    memset(ts, 0, sizeof ts);
    make_model_dir(dir, sizeof dir, "unlisted_twice", 0,
                   "{\"weight_map\": {\"x\": \"a.safetensors\", \"y\": \"b.safetensors\"}}");
    ts[0].dtype = ts[1].dtype = "U8";
    ts[0].ndim = ts[1].ndim = 1;
    ts[0].shape[0] = 4;
    ts[1].shape[0] = 2;
    ts[0].nbytes = 4;
    ts[1].nbytes = 2;
    ts[0].data = data;
    ts[1].data = data + 4;
    ts[1].name = "extra";
    ts[0].name = "x";
    path2(path, sizeof path, dir, "a.safetensors");
    write_safetensors(path, ts, 2);
    ts[0].name = "y";
    path2(path, sizeof path, dir, "b.safetensors");
    write_safetensors(path, ts, 2);
    expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, "extra", NULL);
    expect_refused(dir, SAFETENSORS_MODEL_ALLOW_UNLISTED, SAFETENSORS_ERR_DUPLICATE, "extra", NULL);
}

static void test_unlisted(void **state)
{
    char dir[PATH_MAX_LEN];
    char *idx;
    safetensors_model *m;
    const safetensors_tensor *t = NULL;
    size_t shard = 99, last = g_ix.nshards - 1;
    (void)state;
    /* model.norm.weight is the last entry: drop it and the comma before it */
    idx = replace_once(g_ix.text, ",\n    \"model.norm.weight\": \"model-00004-of-00004.safetensors\"", "");
    make_model_dir(dir, sizeof dir, "unlisted", ALL_SHARDS, idx);
    free(idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, "model.norm.weight", NULL);

    m = open_ok(dir, SAFETENSORS_MODEL_ALLOW_UNLISTED);
    assert_int_equal(safetensors_model_tensor_count(m), g_ix.nweights);
    assert_int_equal(safetensors_model_find(m, "model.norm.weight", 17, &t, &shard, NULL), SAFETENSORS_OK);
    assert_int_equal(shard, last);
    assert_true(same_view(t, safetensors_find(g_single[last], "model.norm.weight", 17)));
    assert_memory_equal(t->data, g_raw[last] + raw_data_start(g_raw[last], g_raw_len[last]) + t->begin,
                        (size_t)(t->end - t->begin));
    safetensors_model_close(m);

    /* lazy: tolerated with the flag but not findable; refused at first use without it */
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY | SAFETENSORS_MODEL_ALLOW_UNLISTED);
    assert_int_equal(safetensors_model_tensor_count(m), g_ix.nweights - 1);
    expect_find(m, "lm_head.weight", SAFETENSORS_OK, NULL);
    expect_find(m, "model.norm.weight", SAFETENSORS_ERR_NOT_FOUND, NULL);
    safetensors_model_close(m);
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "model.embed_tokens.weight", SAFETENSORS_OK, NULL);
    expect_find(m, "lm_head.weight", SAFETENSORS_ERR_SCHEMA, "model.norm.weight");
    safetensors_model_close(m);
}

/* Offset of the n-th (1-based) occurrence of needle in text. */
static uint64_t text_pos(const char *text, const char *needle, int n)
{
    const char *p = text;
    for (;;) {
        const char *q = strstr(p, needle);
        if (!q) fail_msg("\"%s\" not found", needle);
        if (--n <= 0) return (uint64_t)(q - text);
        p = q + 1;
    }
}

static void test_duplicate_keys(void **state)
{
    char dir[PATH_MAX_LEN];
    char *idx;
    safetensors_error err;
    (void)state;
    /* the same entry twice, same shard */
    idx = replace_once(g_ix.text, "\"model.norm.weight\"",
                       "\"lm_head.weight\": \"model-00004-of-00004.safetensors\",\n    \"model.norm.weight\"");
    make_model_dir(dir, sizeof dir, "dup_same", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", &err);
    assert_int_equal(err.offset, text_pos(idx, "\"lm_head.weight\"", 2));
    expect_refused(dir, SAFETENSORS_MODEL_LAZY, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", NULL);
    free(idx);

    /* the same name for two shards */
    idx = replace_once(g_ix.text, "\"model.norm.weight\"",
                       "\"lm_head.weight\": \"model-00001-of-00004.safetensors\",\n    \"model.norm.weight\"");
    make_model_dir(dir, sizeof dir, "dup_other", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", &err);
    assert_int_equal(err.offset, text_pos(idx, "\"lm_head.weight\"", 2));
    free(idx);

    /* the same after escapes are decoded */
    idx = replace_once(g_ix.text, "\"model.norm.weight\"",
                       "\"lm_head\\u002eweight\": \"model-00004-of-00004.safetensors\",\n    \"model.norm.weight\"");
    make_model_dir(dir, sizeof dir, "dup_escaped", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "lm_head.weight", NULL);
    free(idx);

    /* a metadata key twice */
    idx = replace_once(g_ix.text, "\"total_size\"", "\"total_parameters\": 1,\n    \"total_size\"");
    make_model_dir(dir, sizeof dir, "dup_meta", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "total_parameters", NULL);
    free(idx);

    /* weight_map twice */
    idx = replace_once(g_ix.text, "\"weight_map\"", "\"weight_map\": {},\n  \"weight_map\"");
    make_model_dir(dir, sizeof dir, "dup_map", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "weight_map", NULL);
    free(idx);

    /* metadata twice */
    idx = replace_once(g_ix.text, "\"weight_map\"", "\"metadata\": {},\n  \"weight_map\"");
    make_model_dir(dir, sizeof dir, "dup_metadata", ALL_SHARDS, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_DUPLICATE, "metadata", NULL);
    free(idx);
}

/* Shard names that would leave the index's folder, or that are not plain
   file names on some OS. A valid shard holding tensor "t" sits at each
   target, so that opening it would succeed. */
static void test_traversal(void **state)
{
    static const char *const refused[] = {
        "../x.safetensors",   "sub/x.safetensors",      "sub\\\\x.safetensors",  "..\\\\x.safetensors",
        "C:x.safetensors",    "C:\\\\x.safetensors",    "\\\\\\\\srv\\\\x.safetensors",
        "x.safetensors:ads",  "..",                     ".",                     "",
        "x\\u0000.safetensors", "x\\u0000",             "x\\n.safetensors",      "x\\u001f.safetensors",
        "./x.safetensors",    "sub/",                   "/",                     "\\\\"};
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], cwd[PATH_MAX_LEN], json[3 * PATH_MAX_LEN];
    char abs_name[2 * PATH_MAX_LEN];
    safetensors_model *m;
    safetensors_file *f;
    size_t i;
    unsigned mode;
    (void)state;
    make_model_dir(dir, sizeof dir, "trav", 0, NULL);
    /* the traps */
    write_tiny(TMP "/x.safetensors", "t");          /* ../x.safetensors */
    assert_int_equal(tu_mkdir_p(TMP "/trav/sub"), 0);
    write_tiny(TMP "/trav/sub/x.safetensors", "t"); /* sub/x.safetensors */
    write_tiny(TMP "/trav/sub\\x.safetensors", "t"); /* a POSIX name with a backslash */
    write_tiny(TMP "/trav/C:x.safetensors", "t");
    write_tiny(TMP "/trav/x.safetensors:ads", "t");
    write_tiny(TMP "/trav/x", "t");                 /* what "x\u0000..." would open if cut at the NUL */
    write_tiny(TMP "/trav/x.safetensors", "t");     /* the plain name, for the control below */
    assert_int_equal(safetensors_open(TMP "/x.safetensors", NULL, &f, NULL), SAFETENSORS_OK);
    safetensors_close(f);
    path2(path, sizeof path, dir, "model.safetensors.index.json");

    /* control: a plain name opens */
    write_text(path, "{\"weight_map\": {\"t\": \"x.safetensors\"}}");
    m = open_ok(dir, 0);
    expect_find(m, "t", SAFETENSORS_OK, NULL);
    safetensors_model_close(m);

    for (mode = 0; mode < 2; mode++) {
        unsigned flags = mode ? SAFETENSORS_MODEL_LAZY : 0;
        for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            snprintf(json, sizeof json, "{\"weight_map\": {\"t\": \"%s\"}}", refused[i]);
            write_text(path, json);
            expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "\"t\"", NULL);
            expect_refused(path, flags, SAFETENSORS_ERR_SCHEMA, "\"t\"", NULL);
            /* after a good entry too */
            snprintf(json, sizeof json, "{\"weight_map\": {\"a\": \"x.safetensors\", \"t\": \"%s\"}}", refused[i]);
            write_text(path, json);
            expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "\"t\"", NULL);
        }
        /* an absolute path to a valid shard */
        assert_non_null(getcwd(cwd, sizeof cwd));
        assert_null(strpbrk(cwd, "\"\\"));
        snprintf(abs_name, sizeof abs_name, "%s/" TMP "/x.safetensors", cwd);
        assert_int_equal(safetensors_open(abs_name, NULL, &f, NULL), SAFETENSORS_OK);
        safetensors_close(f);
        snprintf(json, sizeof json, "{\"weight_map\": {\"t\": \"%s\"}}", abs_name);
        write_text(path, json);
        expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "x.safetensors", NULL);
        write_text(path, "{\"weight_map\": {\"t\": \"/abs/x.safetensors\"}}");
        expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "/abs/x.safetensors", NULL);
        write_text(path, "{\"weight_map\": {\"t\": \"../x.safetensors\"}}");
        expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "../x.safetensors", NULL);
        /* several refused names, each more than once, between good ones:
           the earliest entry naming any of them is the one reported */
        {
            static const char several[] =
                "{\"weight_map\": {\"a\": \"x.safetensors\", \"b\": \"x.safetensors\", \"t\": \"sub/x.safetensors\", "
                "\"c\": \"x.safetensors\", \"u\": \"../x.safetensors\", \"v\": \"sub/x.safetensors\", "
                "\"w\": \"../x.safetensors\"}}";
            safetensors_error err;
            write_text(path, several);
            expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "\"t\": shard \"sub/x.safetensors\"", &err);
            assert_int_equal(err.offset, (uint64_t)(strstr(several, "\"t\"") - several));
        }
    }
}

static void test_bad_json(void **state)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    char *idx;
    safetensors_error err;
    size_t half = g_ix.text_len / 2;
    uint64_t at;
    (void)state;
    make_model_dir(dir, sizeof dir, "json", ALL_SHARDS, NULL);
    path2(path, sizeof path, dir, "model.safetensors.index.json");

    /* truncated: it ends inside its JSON value */
    write_bytes(path, g_ix.text, half);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, &err);
    assert_int_equal(err.offset, half);
    expect_refused(dir, SAFETENSORS_MODEL_LAZY, SAFETENSORS_ERR_JSON, NULL, NULL);
    write_bytes(path, "", 0);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, &err);
    assert_int_equal(err.offset, 0);

    /* invalid UTF-8 in a tensor name */
    idx = replace_once(g_ix.text, "\"lm_head.weight\"", "\"lm_he\xff" "d.weight\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_UTF8, NULL, &err);
    assert_int_equal(err.offset, text_pos(idx, "\xff", 1));
    free(idx);
    /* ... in a shard name (an overlong encoding of '/') */
    idx = replace_once(g_ix.text, "\"model-00004-of-00004.safetensors\"", "\"..\xc0\xafx.safetensors\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_UTF8, NULL, &err);
    assert_int_equal(err.offset, text_pos(idx, "\xc0", 1));
    free(idx);
    /* ... in a metadata key */
    idx = replace_once(g_ix.text, "\"total_size\"", "\"total_\xed\xa0\x80size\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_UTF8, NULL, NULL);
    free(idx);

    /* trailing garbage after the object */
    idx = (char *)malloc(g_ix.text_len + 8);
    assert_non_null(idx);
    memcpy(idx, g_ix.text, g_ix.text_len);
    memcpy(idx + g_ix.text_len, "\n  x", 5);
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, &err);
    assert_int_equal(err.offset, g_ix.text_len + 3);
    memcpy(idx + g_ix.text_len, "{}", 3);
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, NULL);
    /* trailing white space is fine */
    memcpy(idx + g_ix.text_len, " \t\r\n", 5);
    write_text(path, idx);
    safetensors_model_close(open_ok(dir, 0));
    free(idx);

    /* other strictness: a trailing comma, a comment, a lone surrogate, a BOM */
    idx = replace_once(g_ix.text, "\"model-00004-of-00004.safetensors\"\n  }",
                       "\"model-00004-of-00004.safetensors\",\n  }");
    write_text(path, idx);
    at = text_pos(idx, ",\n  }", 1);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, &err);
    assert_true(err.offset >= at && err.offset <= at + 4);
    free(idx);
    idx = replace_once(g_ix.text, "\"weight_map\"", "/* c */ \"weight_map\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, NULL);
    free(idx);
    idx = replace_once(g_ix.text, "\"lm_head.weight\"", "\"lm_head\\ud800.weight\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, NULL);
    free(idx);
    idx = replace_once(g_ix.text, "{", "\xef\xbb\xbf{");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, NULL);
    free(idx);
    /* deep nesting in an ignored field */
    {
        char deep[600];
        size_t k;
        for (k = 0; k < 200; k++) deep[k] = '[';
        for (k = 0; k < 200; k++) deep[200 + k] = ']';
        deep[400] = '\0';
        idx = (char *)malloc(g_ix.text_len + 420);
        assert_non_null(idx);
        snprintf(idx, g_ix.text_len + 420, "{\"x\": %s,%s", deep, g_ix.text + 1);
        write_text(path, idx);
        expect_refused(dir, 0, SAFETENSORS_ERR_JSON, NULL, NULL);
        free(idx);
    }
    /* other top-level keys are ignored */
    idx = replace_once(g_ix.text, "\"weight_map\"", "\"format\": {\"a\": [1, 2.5e3, null]},\n  \"weight_map\"");
    write_text(path, idx);
    safetensors_model_close(open_ok(dir, 0));
    free(idx);
}

static void test_schema(void **state)
{
    static const char *const bad[] = {
        "{\"metadata\": {\"total_size\": 353152}}",
        "{}",
        "[]",
        "\"weight_map\"",
        "null",
        "{\"weight_map\": []}",
        "{\"weight_map\": null}",
        "{\"weight_map\": \"model-00001-of-00004.safetensors\"}",
        "{\"weight_map\": {\"lm_head.weight\": 4}}",
        "{\"weight_map\": {\"lm_head.weight\": null}}",
        "{\"weight_map\": {\"lm_head.weight\": [\"model-00004-of-00004.safetensors\"]}}",
        "{\"weight_map\": {\"lm_head.weight\": {\"file\": \"model-00004-of-00004.safetensors\"}}}",
        "{\"weight_map\": {\"lm_head.weight\": true}}",
        "{\"metadata\": [], \"weight_map\": {}}",
        "{\"metadata\": 5, \"weight_map\": {}}",
    };
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    char *idx;
    size_t i;
    (void)state;
    make_model_dir(dir, sizeof dir, "schema", ALL_SHARDS, NULL);
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, NULL, NULL);
        expect_refused(dir, SAFETENSORS_MODEL_LAZY, SAFETENSORS_ERR_SCHEMA, NULL, NULL);
    }
    /* a value that is not a string, in the bundled index */
    idx = replace_once(g_ix.text, "\"model-00004-of-00004.safetensors\"\n", "4\n");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, "model.norm.weight", NULL);
    free(idx);
    /* no weight_map */
    idx = replace_once(g_ix.text, "\"weight_map\"", "\"weight_mapX\"");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, "weight_map", NULL);
    free(idx);
}

static void test_total_size(void **state)
{
    static const char *const not_integer[] = {"1.5", "353152.0", "3.53152e5", "-353152", "\"353152\"",
                                              "null", "[353152]", "true", "-0"};
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], value[64];
    const char *declared = meta_value(&g_ix, "total_size");
    char *idx;
    uint64_t v = 0;
    size_t i;
    char from[80];
    (void)state;
    assert_non_null(declared);
    assert_int_equal(tu_parse_u64(declared, strlen(declared), &v), 0);
    snprintf(from, sizeof from, "\"total_size\": %.40s", declared);
    make_model_dir(dir, sizeof dir, "total", ALL_SHARDS, NULL);
    path2(path, sizeof path, dir, "model.safetensors.index.json");

    /* one byte off either way */
    snprintf(value, sizeof value, "\"total_size\": %llu", (unsigned long long)(v + 1));
    idx = replace_once(g_ix.text, from, value);
    write_text(path, idx);
    snprintf(value, sizeof value, "%llu", (unsigned long long)(v + 1));
    expect_refused(dir, 0, SAFETENSORS_ERR_SIZE, value, NULL);
    free(idx);
    snprintf(value, sizeof value, "\"total_size\": %llu", (unsigned long long)(v - 1));
    idx = replace_once(g_ix.text, from, value);
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_SIZE, NULL, NULL);
    free(idx);
    idx = replace_once(g_ix.text, from, "\"total_size\": 0");
    write_text(path, idx);
    expect_refused(dir, 0, SAFETENSORS_ERR_SIZE, NULL, NULL);
    free(idx);
    /* 2^64 + the true size: must not wrap around to it */
    idx = replace_once(g_ix.text, from, "\"total_size\": 18446744073710904768");
    write_text(path, idx);
    {
        safetensors_model *m = NULL;
        safetensors_result r = safetensors_model_open(dir, NULL, &m, NULL);
        assert_true(r == SAFETENSORS_ERR_SIZE || r == SAFETENSORS_ERR_SCHEMA);
        assert_null(m);
    }
    free(idx);

    for (i = 0; i < sizeof not_integer / sizeof not_integer[0]; i++) {
        snprintf(value, sizeof value, "\"total_size\": %s", not_integer[i]);
        idx = replace_once(g_ix.text, from, value);
        write_text(path, idx);
        expect_refused(dir, 0, SAFETENSORS_ERR_SCHEMA, "total_size", NULL);
        free(idx);
    }
    /* total_size is optional; total_parameters is not checked */
    idx = replace_once(g_ix.text, from, "\"total_sizes\": 1");
    write_text(path, idx);
    safetensors_model_close(open_ok(dir, 0));
    free(idx);
    idx = replace_once(g_ix.text, "\"total_parameters\": 176576", "\"total_parameters\": \"many\"");
    write_text(path, idx);
    safetensors_model_close(open_ok(dir, 0));
    free(idx);
    /* no metadata at all */
    idx = (char *)malloc(g_ix.text_len + 2);
    assert_non_null(idx);
    snprintf(idx, g_ix.text_len + 2, "{%s", strstr(g_ix.text, "\"weight_map\""));
    write_text(path, idx);
    safetensors_model_close(open_ok(dir, 0));
    free(idx);
}

/* max_header_size bounds the index too: an index of exactly that many
   bytes opens, one more byte is refused. */
static void test_index_size_limit(void **state)
{
    safetensors_options opt;
    safetensors_model *m = (safetensors_model *)&m;
    safetensors_error err;
    safetensors_result r;
    (void)state;
    memset(&opt, 0, sizeof opt);
    opt.max_header_size = g_ix.text_len;
    r = safetensors_model_open(LLAMA_INDEX, &opt, &m, &err);
    if (r != SAFETENSORS_OK) fail_msg("%s: %s", safetensors_result_name(r), err.message);
    safetensors_model_close(m);
    opt.max_header_size = g_ix.text_len - 1;
    m = (safetensors_model *)&m;
    assert_int_equal(safetensors_model_open(LLAMA_INDEX, &opt, &m, &err), SAFETENSORS_ERR_HEADER_TOO_LARGE);
    assert_null(m);
    opt.flags = SAFETENSORS_MODEL_LAZY;
    assert_int_equal(safetensors_model_open(LLAMA_INDEX, &opt, &m, &err), SAFETENSORS_ERR_HEADER_TOO_LARGE);
}

/* ---------------------------------------------------------------------
   Resolving a folder
   --------------------------------------------------------------------- */

static void test_folder_resolution(void **state)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    safetensors_model *m;
    (void)state;
    /* several *.safetensors and no index: ambiguous */
    make_model_dir(dir, sizeof dir, "several", ALL_SHARDS, NULL);
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, "several", NULL);
    expect_refused(dir, SAFETENSORS_MODEL_LAZY, SAFETENSORS_ERR_NOT_FOUND, "several", NULL);
    /* ...but model.safetensors is chosen among them */
    path2(path, sizeof path, dir, "model.safetensors");
    copy_file(GPT2_FILE, path);
    m = open_ok(dir, 0);
    assert_int_equal(safetensors_model_shard_count(m), 1);
    assert_string_equal(safetensors_model_shard_name(m, 0, NULL), "model.safetensors");
    safetensors_model_close(m);

    /* only an index of another name: that index */
    make_model_dir(dir, sizeof dir, "fp16", ALL_SHARDS, NULL);
    path2(path, sizeof path, dir, "model.fp16.safetensors.index.json");
    write_text(path, g_ix.text);
    m = open_ok(dir, 0);
    check_llama(m, 0);
    safetensors_model_close(m);
    m = open_ok(path, SAFETENSORS_MODEL_LAZY);
    check_llama(m, 0);
    safetensors_model_close(m);
    /* two such indexes: ambiguous */
    path2(path, sizeof path, dir, "model.bf16.safetensors.index.json");
    write_text(path, g_ix.text);
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, "several", NULL);
    /* model.safetensors.index.json wins over both */
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    write_text(path, g_ix.text);
    m = open_ok(dir, 0);
    check_llama(m, 0);
    safetensors_model_close(m);

    /* the only *.safetensors, whatever its name */
    make_model_dir(dir, sizeof dir, "one", 1u, NULL);
    m = open_ok(dir, 0);
    assert_int_equal(safetensors_model_shard_count(m), 1);
    assert_string_equal(safetensors_model_shard_name(m, 0, NULL), g_ix.shards[0]);
    assert_int_equal(safetensors_model_tensor_count(m), safetensors_tensor_count(g_single[0]));
    safetensors_model_close(m);

    /* nothing to open */
    make_model_dir(dir, sizeof dir, "empty", 0, NULL);
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, NULL, NULL);
    path2(path, sizeof path, dir, "config.json.bak");
    write_text(path, "{}");
    expect_refused(dir, 0, SAFETENSORS_ERR_NOT_FOUND, NULL, NULL);
}

/* A folder holding both model.safetensors.index.json and model.safetensors
   stands for the index, as documented: the sharded model, not the single
   file beside it. */
static void test_folder_index_before_single_file(void **state)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    (void)state;
    make_model_dir(dir, sizeof dir, "both", ALL_SHARDS, g_ix.text);
    path2(path, sizeof path, dir, "model.safetensors");
    copy_file(GPT2_FILE, path);
    open_and_check(dir, 0);
    open_and_check(dir, SAFETENSORS_MODEL_LAZY);
}

/* ---------------------------------------------------------------------
   Index values split across reads
   --------------------------------------------------------------------- */

/* The index is read in chunks of 64 KiB. Byte 65536 of the file is a chunk
   boundary for every power-of-two chunk size up to that, so each value
   below is placed with the boundary before each of its bytes in turn: a
   value must come out whole, never as the bytes of its last chunk. The
   value goes in front of total_size, after a "pad" string whose length
   puts it in place. Returns the index text; *at is where the value starts. */
static char *index_with_value_at(const char *value, size_t boundary_inside, size_t *at)
{
    static const char head[] = "\"pad\": \"";
    char from[80], *to, *idx;
    const char *declared = meta_value(&g_ix, "total_size");
    size_t pad, base, n, o;
    assert_non_null(declared);
    snprintf(from, sizeof from, "\"total_size\": %.40s", declared);
    /* where the value would start with no padding */
    base = (size_t)(strstr(g_ix.text, from) - g_ix.text) + strlen(head) +
           (value ? strlen("\", \"v\": ") : strlen("\", \"total_size\": "));
    assert_true(base + boundary_inside <= 65536);
    pad = 65536 - base - boundary_inside;
    n = strlen(head) + pad + (value ? strlen(value) : 0) + strlen(from) + 16;
    to = (char *)malloc(n);
    assert_non_null(to);
    o = (size_t)snprintf(to, n, "%s", head);
    memset(to + o, 'x', pad);
    o += pad;
    if (value) snprintf(to + o, n - o, "\", \"v\": %s, %s", value, from);
    else snprintf(to + o, n - o, "\", %s", from);
    idx = replace_once(g_ix.text, from, to);
    free(to);
    *at = value ? (size_t)(strstr(idx, "\"v\": ") - idx) + 5 : (size_t)(strstr(idx, "\"total_size\": ") - idx) + 14;
    assert_int_equal(*at + boundary_inside, 65536);
    return idx;
}

static void test_index_values_across_reads(void **state)
{
    /* escapes, \u sequences (one a surrogate pair) and raw multi-byte UTF-8,
       so that the boundary falls inside each kind */
    static const char str_json[] = "\"a\\n\\\"\\\\\\/\\u00e9\\ud83d\\ude00\\u20ac\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\"";
    static const char str_decoded[] = "a\n\"\\/\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    static const char obj_json[] = "{\"k\": [1, \"x\\\"y\", {\"z\": null}], \"e\": -1.5e3}";
    const char *declared = meta_value(&g_ix, "total_size");
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    size_t kind, k, opens = 0;
    char *long_json;
    (void)state;
    make_model_dir(dir, sizeof dir, "chunks", ALL_SHARDS, NULL);
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    /* a string longer than a whole chunk, starting 100 bytes before one */
    long_json = (char *)malloc(70003);
    assert_non_null(long_json);
    long_json[0] = '"';
    memset(long_json + 1, 'y', 70000);
    memcpy(long_json + 70001, "\"", 2);
    for (kind = 0; kind < 4; kind++) {
        const char *value = kind == 0 ? str_json : kind == 1 ? obj_json : kind == 2 ? NULL : long_json;
        size_t len = value ? strlen(value) : strlen(declared);
        size_t first = kind == 3 ? 100 : 0, last = kind == 3 ? 100 : len;
        for (k = first; k <= last; k++) {
            size_t at, json_len;
            char *idx = index_with_value_at(value, k, &at);
            /* eager when total_size is the value: only eager mode checks it */
            safetensors_model *m;
            safetensors_metadata_entry e, found;
            const char *json;
            write_text(path, idx);
            m = open_ok(dir, kind == 2 ? 0 : SAFETENSORS_MODEL_LAZY);
            opens++;
            /* total_parameters, pad, then the value: entry 2 */
            assert_int_equal(safetensors_model_metadata_at(m, 2, &e), 1);
            assert_string_equal(e.key, value ? "v" : "total_size");
            assert_int_equal(safetensors_model_metadata_find(m, e.key, e.key_len, &found), 1);
            assert_true(tu_entry_same(&found, &e));
            json = safetensors_model_metadata_json(m, 2, &json_len);
            if (json_len != len || memcmp(json, idx + at, len) != 0)
                fail_msg("kind %zu, boundary %zu bytes in: JSON text of %zu bytes, expected %zu", kind, k, json_len, len);
            if (kind == 0) {
                assert_int_equal(e.value_len, sizeof str_decoded - 1);
                assert_memory_equal(e.value, str_decoded, sizeof str_decoded - 1);
            } else if (kind == 3) {
                assert_int_equal(e.value_len, 70000);
                assert_memory_equal(e.value, long_json + 1, 70000);
            } else {
                assert_null(e.value);
            }
            safetensors_model_close(m);
            free(idx);
        }
    }
    free(long_json);
    printf("index values across a 64 KiB read: %zu models opened\n", opens);
}

/* ---------------------------------------------------------------------
   Full indexes
   --------------------------------------------------------------------- */

static int find_model_tensor(const void *ctx, const char *name, size_t len)
{
    const safetensors_tensor *t = NULL;
    safetensors_result r = safetensors_model_find((const safetensors_model *)ctx, name, len, &t, NULL, NULL);
    if (r == SAFETENSORS_ERR_NOT_FOUND && t == NULL) return 0;
    return r == SAFETENSORS_OK && t && t->name_len == len && memcmp(t->name, name, len) == 0 ? 1 : -1;
}

static int find_model_key(const void *ctx, const char *key, size_t len)
{
    safetensors_metadata_entry e;
    if (!safetensors_model_metadata_find((const safetensors_model *)ctx, key, len, &e))
        return tu_entry_zeroed(&e) ? 0 : -1;
    return e.key_len == len && memcmp(e.key, key, len) == 0 ? 1 : -1;
}

/* Models of exactly 16, 32 and 64 tensors and metadata keys: absent names
   looked up in a hash index sized at the count, full, would probe forever
   (at open, or in the lookups after it); the deadline turns that hang into
   a failure. */
static void test_model_full_index(void **state)
{
    static const size_t sizes[] = {16, 32, 64};
    static const unsigned char one = 7;
    size_t z, i, lookups = 0;
    (void)state;
    tu_deadline(30);
    for (z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        size_t n = sizes[z], len = 0, cap = 0;
        char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], *idx = NULL, item[64];
        tu_names names, keys;
        wtensor ts[64];
        unsigned flags;
        tu_names_make(&names, "w.", n);
        tu_names_make(&keys, "m.", n);
        snprintf(item, sizeof item, "full-%zu", n);
        path2(dir, sizeof dir, TMP, item);
        assert_int_equal(tu_fresh_dir(dir), 0);
        sb_append(&idx, &len, &cap, "{\"metadata\": {");
        for (i = 0; i < n; i++) {
            memset(&ts[i], 0, sizeof ts[i]);
            ts[i].name = names.ptr[i];
            ts[i].dtype = "U8";
            ts[i].ndim = 1;
            ts[i].shape[0] = 1;
            ts[i].data = &one;
            ts[i].nbytes = 1;
            snprintf(item, sizeof item, "%s\"%s\": %zu", i ? ", " : "", keys.ptr[i], i);
            sb_append(&idx, &len, &cap, item);
        }
        sb_append(&idx, &len, &cap, "}, \"weight_map\": {");
        for (i = 0; i < n; i++) {
            snprintf(item, sizeof item, "%s\"%s\": \"one.safetensors\"", i ? ", " : "", names.ptr[i]);
            sb_append(&idx, &len, &cap, item);
        }
        sb_append(&idx, &len, &cap, "}}");
        path2(path, sizeof path, dir, "one.safetensors");
        write_safetensors(path, ts, n);
        path2(path, sizeof path, dir, "model.safetensors.index.json");
        write_text(path, idx);
        free(idx);
        for (flags = 0; flags <= SAFETENSORS_MODEL_LAZY; flags += SAFETENSORS_MODEL_LAZY) {
            safetensors_model *m = open_ok(dir, flags);
            assert_int_equal(safetensors_model_tensor_count(m), n);
            assert_int_equal(safetensors_model_metadata_count(m), n);
            lookups += tu_check_lookups(names.ptr, n, 500, find_model_tensor, m);
            lookups += tu_check_lookups(keys.ptr, n, 500, find_model_key, m);
            safetensors_model_close(m);
        }
    }
    tu_deadline(0);
    printf("full model indexes: %zu lookups\n", lookups);
}

/* ---------------------------------------------------------------------
   Arguments
   --------------------------------------------------------------------- */

static void *test_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void test_arguments(void **state)
{
    safetensors_model *m = (safetensors_model *)&m;
    const safetensors_tensor *t = (const safetensors_tensor *)&t;
    const safetensors_file *f = (const safetensors_file *)&f;
    safetensors_error err;
    safetensors_options opt;
    (void)state;
    assert_int_equal(safetensors_model_open(NULL, NULL, &m, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(m);
    assert_int_equal(err.code, SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_open(LLAMA_DIR, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    /* an allocator with alloc but no free */
    memset(&opt, 0, sizeof opt);
    opt.allocator.allocate = test_alloc;
    m = (safetensors_model *)&m;
    assert_int_equal(safetensors_model_open(LLAMA_DIR, &opt, &m, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(m);
    m = open_ok(LLAMA_DIR, 0);
    assert_int_equal(safetensors_model_find(m, "x", 1, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_find(m, NULL, 1, &t, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_null(t);
    t = (const safetensors_tensor *)&t;
    assert_int_equal(safetensors_model_tensor_at(m, safetensors_model_tensor_count(m), &t, NULL, &err),
                     SAFETENSORS_ERR_ARGUMENT);
    assert_null(t);
    assert_int_equal(safetensors_model_tensor_at(m, 0, NULL, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_shard(m, safetensors_model_shard_count(m), &f, &err),
                     SAFETENSORS_ERR_ARGUMENT);
    assert_null(f);
    assert_int_equal(safetensors_model_shard(m, 0, NULL, &err), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_find(m, "lm_head.weight", 14, &t, NULL, NULL), SAFETENSORS_OK);
    safetensors_model_close(m);

    assert_int_equal(safetensors_model_shard_count(NULL), 0);
    assert_int_equal(safetensors_model_tensor_count(NULL), 0);
    assert_int_equal(safetensors_model_metadata_count(NULL), 0);
    assert_null(safetensors_model_shard_name(NULL, 0, NULL));
    assert_no_model_meta_at(NULL, 0);
    assert_no_model_meta_key(NULL, "total_size", 10);
    assert_int_equal(safetensors_model_find(NULL, "x", 1, &t, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_tensor_at(NULL, 0, &t, NULL, NULL), SAFETENSORS_ERR_ARGUMENT);
    assert_int_equal(safetensors_model_shard(NULL, 0, &f, NULL), SAFETENSORS_ERR_ARGUMENT);
    safetensors_model_close(NULL);
}

/* ---------------------------------------------------------------------
   Allocation failures: every allocation fails in turn; each failure is a
   clean SAFETENSORS_ERR_NOMEM with nothing leaked, and every size handed
   back to free/realloc is the size that was asked for.
   --------------------------------------------------------------------- */

typedef struct counting {
    long fail_at; /* the allocation number that fails; -1: none */
    long calls;
    long live;
    int bad_size; /* a free or realloc named another size */
} counting;

#define HDR 16

static void *c_alloc(void *ctx, size_t size)
{
    counting *c = (counting *)ctx;
    unsigned char *p;
    if (c->calls++ == c->fail_at) return NULL;
    p = (unsigned char *)malloc(size + HDR);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    c->live++;
    return p + HDR;
}

static void c_free(void *ctx, void *ptr, size_t size)
{
    counting *c = (counting *)ctx;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t had;
    memcpy(&had, p, sizeof had);
    if (had != size) c->bad_size = 1;
    c->live--;
    free(p);
}

static void *c_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    counting *c = (counting *)ctx;
    unsigned char *p = (unsigned char *)ptr - HDR, *q;
    size_t had;
    memcpy(&had, p, sizeof had);
    if (had != old_size) c->bad_size = 1;
    if (c->calls++ == c->fail_at) return NULL;
    q = (unsigned char *)realloc(p, new_size + HDR);
    if (!q) return NULL;
    memcpy(q, &new_size, sizeof new_size);
    return q + HDR;
}

/* Opens `path` with allocation `fail_at` failing; with `find_all`, then
   finds every weight_map name (lazy mode opens the shards there). Returns
   1 once no allocation failed. */
static int alloc_round(const char *path, unsigned flags, long fail_at, int find_all, safetensors_result final)
{
    counting c;
    safetensors_options opt;
    safetensors_model *m = NULL;
    safetensors_error err;
    safetensors_result r;
    size_t i;
    int failed_find = 0;
    memset(&c, 0, sizeof c);
    c.fail_at = fail_at;
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    opt.allocator.allocate = c_alloc;
    opt.allocator.reallocate = (fail_at % 2) ? c_realloc : NULL; /* both paths of growth */
    opt.allocator.deallocate = c_free;
    opt.allocator.ctx = &c;
    r = safetensors_model_open(path, &opt, &m, &err);
    if (r == SAFETENSORS_OK && find_all) {
        for (i = 0; i < g_ix.nweights; i++) {
            const safetensors_tensor *t;
            const char *name = g_ix.weights[i].key;
            safetensors_result fr = safetensors_model_find(m, name, strlen(name), &t, NULL, &err);
            if (fr == SAFETENSORS_ERR_NOMEM) failed_find = 1;
            else if (fr != SAFETENSORS_OK) fail_msg("%s, allocation %ld: find %s gave %s", path, fail_at, name,
                                                    safetensors_result_name(fr));
        }
    }
    safetensors_model_close(m);
    if (c.live != 0) fail_msg("%s (flags %u), allocation %ld failing: %ld allocations leaked", path, flags, fail_at, c.live);
    if (c.bad_size) fail_msg("%s (flags %u), allocation %ld failing: a free named the wrong size", path, flags, fail_at);
    if (c.calls <= fail_at) {
        if (r != final) fail_msg("%s: %s with no failure, expected %s", path, safetensors_result_name(r),
                                 safetensors_result_name(final));
        return 1;
    }
    /* the failure, or the verdict when it came before the failing allocation */
    if (r != final && r != SAFETENSORS_ERR_NOMEM)
        fail_msg("%s (flags %u), allocation %ld failing: %s (%s)", path, flags, fail_at, safetensors_result_name(r),
                 err.message);
    if (r == SAFETENSORS_ERR_NOMEM && err.code != SAFETENSORS_ERR_NOMEM) fail_msg("err.code is not NOMEM");
    (void)failed_find;
    return 0;
}

static void alloc_sweep(const char *path, unsigned flags, int find_all, safetensors_result final)
{
    long n;
    for (n = 0; n < 100000; n++)
        if (alloc_round(path, flags, n, find_all, final)) return;
    fail_msg("%s: more than 100000 allocations?", path);
}

static void test_allocation_failures(void **state)
{
    char dir[PATH_MAX_LEN];
    char *idx;
    (void)state;
    alloc_sweep(LLAMA_DIR, 0, 1, SAFETENSORS_OK);
    alloc_sweep(LLAMA_INDEX, SAFETENSORS_MODEL_LAZY, 1, SAFETENSORS_OK);
    alloc_sweep(GPT2_DIR, 0, 0, SAFETENSORS_OK);
    idx = replace_once(g_ix.text, ",\n    \"model.norm.weight\": \"model-00004-of-00004.safetensors\"", "");
    make_model_dir(dir, sizeof dir, "alloc_unlisted", ALL_SHARDS, idx);
    free(idx);
    alloc_sweep(dir, SAFETENSORS_MODEL_ALLOW_UNLISTED, 0, SAFETENSORS_OK);
    alloc_sweep(dir, 0, 0, SAFETENSORS_ERR_SCHEMA);
    make_model_dir(dir, sizeof dir, "alloc_several", ALL_SHARDS, NULL);
    alloc_sweep(dir, 0, 0, SAFETENSORS_ERR_NOT_FOUND);
    make_model_dir(dir, sizeof dir, "alloc_missing", ALL_SHARDS & ~8u, g_ix.text);
    alloc_sweep(dir, 0, 0, SAFETENSORS_ERR_IO);
}

/* ---------------------------------------------------------------------
   Lazy mode from many threads
   --------------------------------------------------------------------- */

#if TEST_SHARDED_THREADS
#define THREADS 8
#define ROUNDS 25

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int waiting, open;
} gate;

typedef struct worker {
    const safetensors_model *m;
    gate *g;
    size_t start; /* where in the name list this thread begins */
    int by_index; /* walk with tensor_at instead of find */
    const safetensors_tensor **got;
    size_t *shard;
    safetensors_result *result;
} worker;

static void gate_wait(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->waiting++;
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void *worker_run(void *arg)
{
    worker *w = (worker *)arg;
    size_t n = g_ix.nweights, i;
    gate_wait(w->g);
    for (i = 0; i < n; i++) {
        size_t k = (w->start + i) % n;
        const char *name = g_ix.weights[k].key;
        w->result[k] = safetensors_model_find(w->m, name, strlen(name), &w->got[k], &w->shard[k], NULL);
        if (w->by_index) {
            /* and touch the shard handle and the iteration too */
            const safetensors_file *f;
            const safetensors_tensor *t;
            (void)safetensors_model_shard(w->m, k % safetensors_model_shard_count(w->m), &f, NULL);
            (void)safetensors_model_tensor_at(w->m, k, &t, NULL, NULL);
        }
        if (w->result[k] == SAFETENSORS_OK && w->got[k]->end > w->got[k]->begin) {
            /* read the bytes: a view handed out half-built would show here */
            volatile unsigned char sink = ((const unsigned char *)w->got[k]->data)[0];
            (void)sink;
        }
    }
    return NULL;
}

/* Runs THREADS workers on a fresh model opened with `flags` from `path` and
   checks every result against `eager` (NULL: all must fail with `fail_code`
   for shards in `bad_mask`). */
static void threads_round(const char *path, unsigned flags, const safetensors_model *eager, unsigned bad_mask,
                          safetensors_result fail_code)
{
    pthread_t th[THREADS];
    worker w[THREADS];
    gate g;
    size_t n = g_ix.nweights, i, k;
    safetensors_model *m = open_ok(path, flags);
    g.waiting = 0;
    g.open = 0;
    assert_int_equal(pthread_mutex_init(&g.lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&g.cond, NULL), 0);
    for (i = 0; i < THREADS; i++) {
        w[i].m = m;
        w[i].g = &g;
        w[i].start = i * 7;
        w[i].by_index = (int)(i % 2);
        w[i].got = (const safetensors_tensor **)calloc(n, sizeof *w[i].got);
        w[i].shard = (size_t *)calloc(n, sizeof *w[i].shard);
        w[i].result = (safetensors_result *)calloc(n, sizeof *w[i].result);
        assert_true(w[i].got && w[i].shard && w[i].result);
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    /* open the gate once all are waiting, so that they race */
    for (;;) {
        int all;
        pthread_mutex_lock(&g.lock);
        all = g.waiting == THREADS;
        if (all) {
            g.open = 1;
            pthread_cond_broadcast(&g.cond);
        }
        pthread_mutex_unlock(&g.lock);
        if (all) break;
        sched_yield();
    }
    for (i = 0; i < THREADS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (k = 0; k < n; k++) {
        const char *name = g_ix.weights[k].key;
        size_t want_shard = shard_number(&g_ix, g_ix.weights[k].value);
        int bad = (bad_mask >> want_shard) & 1u;
        for (i = 0; i < THREADS; i++) {
            if (bad) {
                if (w[i].result[k] != fail_code)
                    fail_msg("thread %zu, %s: %s, expected %s", i, name, safetensors_result_name(w[i].result[k]),
                             safetensors_result_name(fail_code));
                assert_null(w[i].got[k]);
                continue;
            }
            if (w[i].result[k] != SAFETENSORS_OK)
                fail_msg("thread %zu, %s: %s", i, name, safetensors_result_name(w[i].result[k]));
            assert_int_equal(w[i].shard[k], want_shard);
            /* every thread got the one view the model holds */
            assert_ptr_equal(w[i].got[k], w[0].got[k]);
            if (eager) {
                const safetensors_tensor *e = NULL;
                size_t es = 99;
                assert_int_equal(safetensors_model_find(eager, name, strlen(name), &e, &es, NULL), SAFETENSORS_OK);
                assert_int_equal(es, w[i].shard[k]);
                assert_true(same_view(e, w[i].got[k]));
                assert_memory_equal(e->data, w[i].got[k]->data, (size_t)(e->end - e->begin));
            }
        }
    }
    for (i = 0; i < THREADS; i++) {
        free(w[i].got);
        free(w[i].shard);
        free(w[i].result);
    }
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.lock);
    safetensors_model_close(m);
}

static void test_lazy_threads(void **state)
{
    safetensors_model *eager = open_ok(LLAMA_DIR, 0);
    int round;
    (void)state;
    for (round = 0; round < ROUNDS; round++) {
        threads_round(LLAMA_DIR, SAFETENSORS_MODEL_LAZY, eager, 0, SAFETENSORS_OK);
        threads_round(LLAMA_INDEX, SAFETENSORS_MODEL_LAZY | SAFETENSORS_READ_INTO_MEMORY, eager, 0, SAFETENSORS_OK);
    }
    /* eager models are read-only: the same from many threads */
    threads_round(LLAMA_DIR, 0, eager, 0, SAFETENSORS_OK);
    safetensors_model_close(eager);
}

/* Many threads meeting a missing shard at once: each gets the error, the
   others' shards still open. */
static void test_lazy_threads_missing_shard(void **state)
{
    char dir[PATH_MAX_LEN];
    size_t last = g_ix.nshards - 1;
    safetensors_model *eager = open_ok(LLAMA_DIR, 0);
    int round;
    (void)state;
    make_model_dir(dir, sizeof dir, "threads_missing", ALL_SHARDS & ~(1u << last), g_ix.text);
    for (round = 0; round < ROUNDS / 5 + 1; round++)
        threads_round(dir, SAFETENSORS_MODEL_LAZY, eager, 1u << last, SAFETENSORS_ERR_IO);
    safetensors_model_close(eager);
}
#endif

/* ---------------------------------------------------------------------
   The index and the shards must be regular files
   --------------------------------------------------------------------- */

/* Each refusal comes at once: a wait on a FIFO would never end, so the
   alarm ends the suite instead. */
static void test_not_regular_files(void **state)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    safetensors_error err;
    safetensors_model *m;
    unsigned mode;
    (void)state;
    alarm(30);
    make_model_dir(dir, sizeof dir, "notreg", 0,
                   "{\"weight_map\": {\"a\": \"ok.safetensors\", \"t\": \"x.safetensors\"}}");
    path2(path, sizeof path, dir, "ok.safetensors");
    write_tiny(path, "a");
    path2(path, sizeof path, dir, "x.safetensors");
    /* a FIFO that no one writes: open(2) alone would wait for a writer;
       lazily, the first use of the shard is refused */
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_refused(dir, 0, SAFETENSORS_ERR_IO, "a FIFO, not a regular file", &err);
    assert_int_equal(err.sys_errno, 0);
    assert_non_null(strstr(err.message, "shard \"x.safetensors\": cannot open \""));
    m = open_ok(dir, SAFETENSORS_MODEL_LAZY);
    expect_find(m, "a", SAFETENSORS_OK, NULL);
    expect_find(m, "t", SAFETENSORS_ERR_IO, "a FIFO, not a regular file");
    safetensors_model_close(m);
    assert_int_equal(unlink(path), 0);
    /* a folder */
    assert_int_equal(mkdir(path, 0777), 0);
    expect_refused(dir, 0, SAFETENSORS_ERR_IO, "a folder, not a regular file", NULL);
    assert_int_equal(rmdir(path), 0);
    /* a device, through a link */
    assert_int_equal(symlink("/dev/zero", path), 0);
    expect_refused(dir, 0, SAFETENSORS_ERR_IO, "a device or a socket, not a regular file", NULL);
    assert_int_equal(unlink(path), 0);
    /* the index itself, and a single file given as the model */
    for (mode = 0; mode < 2; mode++) {
        unsigned flags = mode ? SAFETENSORS_MODEL_LAZY : 0;
        path2(path, sizeof path, dir, "fifo.safetensors.index.json");
        assert_int_equal(mkfifo(path, 0600), 0);
        expect_refused(path, flags, SAFETENSORS_ERR_IO, "a FIFO, not a regular file", NULL);
        assert_int_equal(unlink(path), 0);
        path2(path, sizeof path, dir, "fifo.safetensors");
        assert_int_equal(mkfifo(path, 0600), 0);
        expect_refused(path, flags, SAFETENSORS_ERR_IO, "a FIFO, not a regular file", NULL);
        assert_int_equal(unlink(path), 0);
    }
    path2(path, sizeof path, dir, "x.safetensors");
    /* once a regular file is there, the same model opens */
    write_tiny(path, "t");
    m = open_ok(dir, 0);
    expect_find(m, "t", SAFETENSORS_OK, NULL);
    safetensors_model_close(m);
    alarm(0);
}

/* Names Windows gives to devices are refused on every OS, like the other
   names that are not plain file names: an index must mean the same
   everywhere. A valid shard sits at each name, so only the name refuses. */
static void test_device_names(void **state)
{
    static const char *const refused[] = {"NUL.safetensors", "nul.txt", "COM1", "lpt9.safetensors", "con",
                                          "Aux.x.safetensors", "PRN.safetensors", "com0.safetensors",
                                          "LPT\xc2\xb9.safetensors", "Com\xc2\xb3", "NUL .safetensors",
                                          "conin$.safetensors", "CONOUT$", "nul.", "Nul"};
    static const char *const allowed[] = {"CONSOLE.safetensors", "COM10.safetensors", "nul_.safetensors",
                                          "LPT.safetensors", "xNUL.safetensors", "auxiliary.safetensors",
                                          "COM\xc2\xb9\xc2\xb9.safetensors", ".nul", "con-1.safetensors"};
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], json[PATH_MAX_LEN], index[PATH_MAX_LEN];
    safetensors_model *m;
    size_t i;
    unsigned mode;
    (void)state;
    make_model_dir(dir, sizeof dir, "devices", 0, NULL);
    path2(index, sizeof index, dir, "model.safetensors.index.json");
    for (mode = 0; mode < 2; mode++) {
        unsigned flags = mode ? SAFETENSORS_MODEL_LAZY : 0;
        for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            path2(path, sizeof path, dir, refused[i]);
            write_tiny(path, "t");
            snprintf(json, sizeof json, "{\"weight_map\": {\"t\": \"%s\"}}", refused[i]);
            write_text(index, json);
            expect_refused(dir, flags, SAFETENSORS_ERR_SCHEMA, "is not a plain file name", NULL);
            assert_int_equal(unlink(path), 0);
        }
        for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
            path2(path, sizeof path, dir, allowed[i]);
            write_tiny(path, "t");
            snprintf(json, sizeof json, "{\"weight_map\": {\"t\": \"%s\"}}", allowed[i]);
            write_text(index, json);
            m = open_ok(dir, flags);
            expect_find(m, "t", SAFETENSORS_OK, NULL);
            safetensors_model_close(m);
            assert_int_equal(unlink(path), 0);
        }
    }
}

/* ---------------------------------------------------------------------
   Small files are read, not mapped (Linux: /proc/self/maps shows it)
   --------------------------------------------------------------------- */

#ifdef __linux__
/* Lines of /proc/self/maps, or those naming `needle`. */
static size_t maps_lines(const char *needle)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[4096];
    size_t n = 0;
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp))
        if (needle == NULL || strstr(line, needle)) n++;
    fclose(fp);
    return n;
}

/* A file of exactly `total` bytes: one U8 tensor "u" holding i & 0xff at i. */
static void write_sized(const char *path, size_t total)
{
    wtensor w;
    unsigned char *data;
    size_t d, hl, i;
    char hdr[128];
    /* the header's length for a data size of as many digits, padded to 8 */
    snprintf(hdr, sizeof hdr, "{\"u\":{\"dtype\":\"U8\",\"shape\":[%zu],\"data_offsets\":[0,%zu]}}", total,
             total);
    hl = (strlen(hdr) + 7) / 8 * 8;
    d = total - 8 - hl;
    data = (unsigned char *)malloc(d);
    assert_non_null(data);
    for (i = 0; i < d; i++) data[i] = (unsigned char)(i & 0xff);
    memset(&w, 0, sizeof w);
    w.name = "u";
    w.dtype = "U8";
    w.ndim = 1;
    w.shape[0] = d;
    w.data = data;
    w.nbytes = d;
    write_safetensors(path, &w, 1);
    free(data);
}

/* Opens a file of `total` bytes; its data must be right, and mapped or not. */
static void check_sized(const char *path, size_t total, int mapped)
{
    safetensors_file *f;
    safetensors_error err;
    const safetensors_tensor *t;
    const unsigned char *p;
    size_t i, n;
    struct stat st;
    write_sized(path, total);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, total);
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_OK);
    assert_int_equal(maps_lines(strrchr(path, '/')) != 0, mapped);
    t = safetensors_find(f, "u", 1);
    assert_non_null(t);
    assert_non_null(t->data);
    p = (const unsigned char *)t->data;
    n = (size_t)(t->end - t->begin);
    for (i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i & 0xff)) fail_msg("%s: byte %zu is %u", path, i, p[i]);
    safetensors_close(f);
    assert_int_equal(maps_lines(strrchr(path, '/')), 0);
}

static void test_small_files_read(void **state)
{
    enum { SHARDS = 400 };
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], name[64];
    char *json = NULL;
    size_t len = 0, cap = 0, before, k;
    safetensors_model *m;
    (void)state;
    make_model_dir(dir, sizeof dir, "tiny-shards", 0, NULL);
    sb_append(&json, &len, &cap, "{\"weight_map\": {");
    for (k = 0; k < SHARDS; k++) {
        snprintf(name, sizeof name, "tiny-%03zu.safetensors", k);
        path2(path, sizeof path, dir, name);
        snprintf(name, sizeof name, "t%zu", k);
        write_tiny(path, name);
        snprintf(path, sizeof path, "%s\"t%zu\": \"tiny-%03zu.safetensors\"", k ? ", " : "", k, k);
        sb_append(&json, &len, &cap, path);
    }
    sb_append(&json, &len, &cap, "}}");
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    write_text(path, json);
    free(json);
    before = maps_lines(NULL);
    m = open_ok(dir, 0);
    /* one mapping a shard would be SHARDS more lines */
    assert_true(maps_lines(NULL) < before + SHARDS / 8);
    assert_int_equal(maps_lines("/tiny-shards/"), 0);
    for (k = 0; k < SHARDS; k++) {
        const safetensors_tensor *t = NULL;
        safetensors_error err;
        snprintf(name, sizeof name, "t%zu", k);
        assert_int_equal(safetensors_model_find(m, name, strlen(name), &t, NULL, &err), SAFETENSORS_OK);
        assert_non_null(t->data);
        assert_memory_equal(t->data, "\x01\x02\x03\x04", 4);
    }
    safetensors_model_close(m);
    /* either side of the 64 KiB line, opened on their own */
    path2(path, sizeof path, dir, "sized-a.safetensors");
    check_sized(path, 200, 0);
    path2(path, sizeof path, dir, "sized-b.safetensors");
    check_sized(path, 65535, 0);
    path2(path, sizeof path, dir, "sized-c.safetensors");
    check_sized(path, 65536, 1);
    path2(path, sizeof path, dir, "sized-d.safetensors");
    check_sized(path, 300000, 1);
}
#endif

/* ---------------------------------------------------------------------
   Model messages stay valid UTF-8 with long non-ASCII names
   --------------------------------------------------------------------- */

/* A refusal whose message is one line of UTF-8 that fits, holding `part`. */
static void expect_refused_utf8(const char *path, unsigned flags, safetensors_result want, const char *part)
{
    safetensors_error err;
    expect_refused(path, flags, want, part, &err);
    if (!tu_message_ok(&err)) fail_msg("%s: not one line of UTF-8 that fits: \"%.191s\"", path, err.message);
}

static void check_model_messages(const char *shard, const char *key)
{
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN], *json;
    size_t cap = 4 * (strlen(shard) + strlen(key)) + 256, len;
    safetensors_model *m;
    const safetensors_tensor *t = NULL;
    safetensors_error err;
    unsigned char *file;
    json = (char *)malloc(cap);
    assert_non_null(json);
    make_model_dir(dir, sizeof dir, "utf8", 0, NULL);
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    /* the shard is missing: the shard's name, then the I/O error naming the path */
    snprintf(json, cap, "{\"weight_map\": {\"%s\": \"%s\"}}", key, shard);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_IO, "shard \"");
    /* the shard lacks the tensor the index puts there */
    path2(path, sizeof path, dir, shard);
    write_tiny(path, "other");
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_NOT_FOUND, "weight_map puts tensor \"");
    /* the shard holds a tensor the index does not list */
    write_tiny(path, key);
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    snprintf(json, cap, "{\"weight_map\": {\"%s\\u00e9\": \"%s\"}}", key, shard);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_NOT_FOUND, NULL);
    /* the shard's own error, after the shard's name (which may leave no
       room for the end of it) */
    snprintf(json, cap, "{\"%s\":{\"dtype\":\"F33\",\"shape\":[4],\"data_offsets\":[0,4]}}", key);
    file = tu_build(json, 4, &len);
    path2(path, sizeof path, dir, shard);
    write_bytes(path, file, len);
    free(file);
    path2(path, sizeof path, dir, "model.safetensors.index.json");
    snprintf(json, cap, "{\"weight_map\": {\"%s\": \"%s\"}}", key, shard);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_DTYPE, "\": tensor \"");
    /* a key twice, in weight_map and in metadata */
    snprintf(json, cap, "{\"weight_map\": {\"%s\": \"%s\", \"%s\": \"%s\"}}", key, shard, key, shard);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_DUPLICATE, " appears twice");
    snprintf(json, cap, "{\"metadata\": {\"%s\": 1, \"%s\": 2}, \"weight_map\": {}}", key, key);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_DUPLICATE, " appears twice");
    /* a shard name that leaves the folder */
    snprintf(json, cap, "{\"weight_map\": {\"%s\": \"sub/%s\"}}", key, shard);
    write_text(path, json);
    expect_refused_utf8(dir, 0, SAFETENSORS_ERR_SCHEMA, ": shard \"sub/");
    /* a tensor the model lacks, and an index path that is not there */
    write_text(path, "{\"weight_map\": {}}");
    m = open_ok(dir, 0);
    assert_int_equal(safetensors_model_find(m, key, strlen(key), &t, NULL, &err), SAFETENSORS_ERR_NOT_FOUND);
    if (!tu_message_ok(&err)) fail_msg("find: \"%.191s\"", err.message);
    safetensors_model_close(m);
    snprintf(json, cap, "%s/%s.index.json", dir, shard);
    /* the path, then the system's words where the build has them */
    expect_refused_utf8(json, 0, SAFETENSORS_ERR_IO, ".index.json\"");
    free(json);
}

static void test_model_messages_utf8(void **state)
{
    static const char *const chars[] = {"\xc3\xa4", "\xe6\xa8\xa1", "\xf0\x9f\x98\x80"}; /* 2, 3 and 4 bytes */
    size_t c, ascii;
    (void)state;
    for (c = 0; c < sizeof chars / sizeof chars[0]; c++) {
        for (ascii = 0; ascii < 4; ascii++) { /* so that a cut meets every byte of a character */
            char *shard = tu_long_name(ascii, chars[c], 40, ".safetensors");
            char *key = tu_long_name(ascii, chars[c], 60, "");
            assert_non_null(shard);
            assert_non_null(key);
            check_model_messages(shard, key);
            free(shard);
            free(key);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_folder),
        cmocka_unit_test(test_llama_index_path),
        cmocka_unit_test(test_llama_lazy),
        cmocka_unit_test(test_llama_shard_options),
        cmocka_unit_test(test_llama_lazy_order_of_use),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_model_metadata_out),
        cmocka_unit_test(test_metadata_raw_values),
        cmocka_unit_test(test_gpt2_single_file),
        cmocka_unit_test(test_single_file_refused),
        cmocka_unit_test(test_missing_shard),
        cmocka_unit_test(test_wrong_shard),
        cmocka_unit_test(test_tensor_in_two_shards),
        cmocka_unit_test(test_unlisted_in_two_shards),
        cmocka_unit_test(test_unlisted),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_traversal),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_total_size),
        cmocka_unit_test(test_index_size_limit),
        cmocka_unit_test(test_folder_resolution),
        cmocka_unit_test(test_folder_index_before_single_file),
        cmocka_unit_test(test_index_values_across_reads),
        cmocka_unit_test(test_model_full_index),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_not_regular_files),
        cmocka_unit_test(test_device_names),
#ifdef __linux__
        cmocka_unit_test(test_small_files_read),
#endif
        cmocka_unit_test(test_model_messages_utf8),
#if TEST_SHARDED_THREADS
        cmocka_unit_test(test_lazy_threads),
        cmocka_unit_test(test_lazy_threads_missing_shard),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
