/* test_models.c - the bundled checkpoints, opened every way.

   tests/models/tiny-gpt2/model.safetensors and the four shards of
   tests/models/tiny-llama-bf16-sharded/ are opened through
     (a) safetensors_open (mmap),
     (b) safetensors_open with SAFETENSORS_READ_INTO_MEMORY,
     (c) safetensors_open with SAFETENSORS_PREFETCH,
     (d) safetensors_open with SAFETENSORS_HEADER_ONLY,
     (e) safetensors_open_memory over the file's bytes,
   and all five must give the table the reference gave (the model_* lines of
   tests/conformance/expected.tsv). In (a), (b), (c) and (e) each tensor's
   data must be the bytes at file offset 8 + N + begin of the file as read
   here with stdio; in (d) data is NULL. Facts are taken as data from the corpus, the
   models' config.json and the shard index, never from the library. Run
   from the repository root. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#define GPT2_DIR "tests/models/tiny-gpt2/"
#define LLAMA_DIR "tests/models/tiny-llama-bf16-sharded/"
#define N_SHARDS 4

/* The header length N from the file's first 8 bytes. */
static uint64_t header_n(const unsigned char *bytes, size_t len) {
    assert_true(len >= 8);
    return tu_get_le64(bytes);
}

/* Opens `path` the five ways and checks each against `e`. Returns the
   open_memory file (kept with its bytes in *bytes_out) for further checks. */
static safetensors_file *check_model(const char *path, const tu_exp_file *e, unsigned char **bytes_out) {
    static const unsigned flags[] = {0u, SAFETENSORS_READ_INTO_MEMORY, SAFETENSORS_PREFETCH, SAFETENSORS_HEADER_ONLY};
    static const char *const how[] = {"mmap", "READ_INTO_MEMORY", "PREFETCH", "HEADER_ONLY"};
    enum { WAYS = sizeof flags / sizeof flags[0] };
    safetensors_file *fm = NULL, *f[WAYS];
    safetensors_error err;
    size_t len = 0, i, k;
    unsigned char *bytes = tu_read_file(path, &len);
    uint64_t n;
    char why[256];

    assert_non_null(bytes);
    assert_true(e->accept);
    n = header_n(bytes, len);
    /* (e) */
    if (safetensors_open_memory(bytes, len, NULL, &fm, &err) != SAFETENSORS_OK)
        fail_msg("%s: open_memory: %s", path, err.message);
    if (tu_expected_diff(fm, e, TU_DATA_AT_BASE, bytes, why, sizeof why)) fail_msg("%s: open_memory: %s", path, why);
    assert_int_equal(safetensors_header_size(fm), n);
    assert_int_equal(safetensors_data_start(fm), 8 + n);
    assert_int_equal(safetensors_data_size(fm), len - 8 - n);
    /* (a) to (d) */
    for (k = 0; k < WAYS; k++) {
        safetensors_options o;
        memset(&o, 0, sizeof o);
        o.flags = flags[k];
        if (safetensors_open(path, &o, &f[k], &err) != SAFETENSORS_OK)
            fail_msg("%s: open (%s): %s", path, how[k], err.message);
        if (tu_expected_diff(f[k], e, flags[k] == SAFETENSORS_HEADER_ONLY ? TU_DATA_NULL : TU_DATA_ANY, NULL, why,
                             sizeof why))
            fail_msg("%s: open (%s): %s", path, how[k], why);
        if (tu_table_diff(fm, f[k], why, sizeof why)) fail_msg("%s: open (%s) vs open_memory: %s", path, how[k], why);
    }
    /* the data: every tensor's bytes at 8 + N + begin of the file */
    for (i = 0; i < e->ntensors; i++) {
        const tu_exp_tensor *x = &e->tensors[i];
        size_t sz = (size_t)(x->end - x->begin);
        const unsigned char *want = bytes + 8 + n + x->begin;
        const safetensors_tensor *tm = safetensors_tensor_at(fm, i);
        assert_true(8 + n + x->end <= len);
        assert_non_null(tm);
        assert_memory_equal(tm->data, want, sz);
        for (k = 0; k < WAYS; k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f[k], i);
            if (flags[k] == SAFETENSORS_HEADER_ONLY) {
                assert_null(t->data);
                continue;
            }
            assert_non_null(t->data);
            if (memcmp(t->data, want, sz) != 0) fail_msg("%s: open (%s): tensor %zu holds other bytes", path, how[k], i);
        }
    }
    for (k = 0; k < WAYS; k++) safetensors_close(f[k]);
    *bytes_out = bytes;
    return fm;
}

/* An integer field of a small JSON text, found by a plain scan. */
static uint64_t json_int(const char *text, const char *key) {
    char needle[64];
    const char *p;
    uint64_t v = 0;
    snprintf(needle, sizeof needle, "\"%s\"", key);
    p = strstr(text, needle);
    if (!p) fail_msg("no \"%s\" in the JSON", key);
    p += strlen(needle);
    while (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p < '0' || *p > '9') fail_msg("\"%s\" is not an integer", key);
    while (*p >= '0' && *p <= '9') v = v * 10u + (uint64_t)(*p++ - '0');
    return v;
}

static char *read_text(const char *path) {
    char *s = tu_read_text(path, NULL);
    if (!s) fail_msg("cannot read %s", path);
    return s;
}

static void assert_shape2(const safetensors_file *f, const char *name, uint64_t d0, uint64_t d1) {
    const safetensors_tensor *t = safetensors_find(f, name, strlen(name));
    if (!t) fail_msg("no tensor %s", name);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], d0);
    assert_int_equal(t->shape[1], d1);
}

static void test_gpt2(void **state) {
    const tu_exp_file *e = tu_expected_for((const tu_expected *)*state, "model_tiny-gpt2__model.safetensors");
    unsigned char *bytes = NULL;
    safetensors_file *f;
    char *config = read_text(GPT2_DIR "config.json");
    uint64_t vocab = json_int(config, "vocab_size"), embd = json_int(config, "n_embd");
    uint64_t positions = json_int(config, "n_positions"), layers = json_int(config, "n_layer");
    size_t i;
    f = check_model(GPT2_DIR "model.safetensors", e, &bytes);
    /* known facts */
    assert_int_equal(safetensors_tensor_count(f), 28);
    assert_int_equal(e->ntensors, 28);
    for (i = 0; i < safetensors_tensor_count(f); i++) assert_int_equal(safetensors_tensor_at(f, i)->dtype, SAFETENSORS_F32);
    assert_shape2(f, "transformer.wte.weight", vocab, embd);
    assert_shape2(f, "transformer.wpe.weight", positions, embd);
    assert_non_null(safetensors_find(f, "transformer.ln_f.weight", 23));
    for (i = 0; i < layers; i++) {
        char name[64];
        snprintf(name, sizeof name, "transformer.h.%zu.attn.c_attn.weight", i);
        assert_shape2(f, name, embd, 3 * embd);
        snprintf(name, sizeof name, "transformer.h.%zu.mlp.c_fc.weight", i);
        assert_shape2(f, name, embd, 4 * embd);
    }
    {
        char name[64];
        snprintf(name, sizeof name, "transformer.h.%zu.ln_1.weight", (size_t)layers);
        assert_null(safetensors_find(f, name, strlen(name)));
    }
    /* tied embeddings: no lm_head in the file */
    assert_null(safetensors_find(f, "lm_head.weight", 14));
    assert_int_equal(safetensors_metadata_count(f), e->nmeta);
    safetensors_close(f);
    free(bytes);
    free(config);
}

static const char *const k_shards[N_SHARDS] = {
    "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
    "model-00004-of-00004.safetensors"};

static void test_llama_shards(void **state) {
    char *config = read_text(LLAMA_DIR "config.json");
    uint64_t vocab = json_int(config, "vocab_size"), hidden = json_int(config, "hidden_size");
    uint64_t kv = json_int(config, "num_key_value_heads"), head_dim = json_int(config, "head_dim");
    uint64_t inter = json_int(config, "intermediate_size");
    size_t s, total = 0;
    int saw_embed = 0, saw_head = 0;
    for (s = 0; s < N_SHARDS; s++) {
        char path[256], corpus[256];
        unsigned char *bytes = NULL;
        const tu_exp_file *e;
        safetensors_file *f;
        size_t i;
        snprintf(path, sizeof path, LLAMA_DIR "%s", k_shards[s]);
        snprintf(corpus, sizeof corpus, "model_tiny-llama-bf16-sharded__%s", k_shards[s]);
        e = tu_expected_for((const tu_expected *)*state, corpus);
        f = check_model(path, e, &bytes);
        assert_int_equal(safetensors_tensor_count(f), e->ntensors);
        total += e->ntensors;
        for (i = 0; i < safetensors_tensor_count(f); i++) {
            const safetensors_tensor *t = safetensors_tensor_at(f, i);
            assert_int_equal(t->dtype, SAFETENSORS_BF16);
            assert_int_equal(safetensors_tensor_byte_size(t), 2 * safetensors_tensor_element_count(t));
        }
        if (safetensors_find(f, "model.embed_tokens.weight", 25)) {
            assert_shape2(f, "model.embed_tokens.weight", vocab, hidden);
            saw_embed++;
        }
        if (safetensors_find(f, "lm_head.weight", 14)) {
            assert_shape2(f, "lm_head.weight", vocab, hidden);
            saw_head++;
        }
        if (safetensors_find(f, "model.layers.0.self_attn.k_proj.weight", 38))
            assert_shape2(f, "model.layers.0.self_attn.k_proj.weight", kv * head_dim, hidden);
        if (safetensors_find(f, "model.layers.0.mlp.gate_proj.weight", 35))
            assert_shape2(f, "model.layers.0.mlp.gate_proj.weight", inter, hidden);
        safetensors_close(f);
        free(bytes);
    }
    assert_int_equal(saw_embed, 1);
    assert_int_equal(saw_head, 1);
    assert_int_equal(total, 5 + 10 + 10 + 5);
    free(config);
}

/* One "name": "shard" pair of the index's weight_map. */
typedef struct wm_entry {
    char name[128];
    char shard[64];
    int found;
} wm_entry;

/* A tiny scan of the weight_map object: plain strings, no escapes. */
static size_t parse_weight_map(const char *text, wm_entry *out, size_t max) {
    const char *p = strstr(text, "\"weight_map\"");
    size_t n = 0;
    assert_non_null(p);
    p = strchr(p, '{');
    assert_non_null(p);
    p++;
    for (;;) {
        const char *k0, *k1, *v0, *v1;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',') p++;
        if (*p == '}') break;
        if (*p != '"') fail_msg("weight_map: unexpected byte '%c'", *p);
        k0 = p + 1;
        k1 = strchr(k0, '"');
        assert_non_null(k1);
        p = k1 + 1;
        while (*p == ' ' || *p == ':') p++;
        if (*p != '"') fail_msg("weight_map: a value is not a string");
        v0 = p + 1;
        v1 = strchr(v0, '"');
        assert_non_null(v1);
        p = v1 + 1;
        assert_null(memchr(k0, '\\', (size_t)(k1 - k0)));
        assert_true(n < max);
        assert_true((size_t)(k1 - k0) < sizeof out[n].name);
        assert_true((size_t)(v1 - v0) < sizeof out[n].shard);
        memcpy(out[n].name, k0, (size_t)(k1 - k0));
        out[n].name[k1 - k0] = '\0';
        memcpy(out[n].shard, v0, (size_t)(v1 - v0));
        out[n].shard[v1 - v0] = '\0';
        out[n].found = 0;
        n++;
    }
    return n;
}

static void test_llama_index(void **state) {
    char *index = read_text(LLAMA_DIR "model.safetensors.index.json");
    wm_entry *wm = (wm_entry *)calloc(256, sizeof *wm);
    safetensors_file *f[N_SHARDS];
    safetensors_error err;
    size_t n, i, s;
    uint64_t total_size = 0, total_params = 0;
    (void)state;
    assert_non_null(wm);
    n = parse_weight_map(index, wm, 256);
    assert_int_equal(n, 30);
    for (s = 0; s < N_SHARDS; s++) {
        char path[256];
        safetensors_options o;
        memset(&o, 0, sizeof o);
        o.flags = SAFETENSORS_HEADER_ONLY;
        snprintf(path, sizeof path, LLAMA_DIR "%s", k_shards[s]);
        if (safetensors_open(path, &o, &f[s], &err) != SAFETENSORS_OK) fail_msg("%s: %s", path, err.message);
    }
    /* every tensor of the weight_map is in the shard it names, and only there */
    for (i = 0; i < n; i++) {
        int shard = -1;
        for (s = 0; s < N_SHARDS; s++)
            if (strcmp(wm[i].shard, k_shards[s]) == 0) shard = (int)s;
        if (shard < 0) fail_msg("%s: unknown shard %s", wm[i].name, wm[i].shard);
        for (s = 0; s < N_SHARDS; s++) {
            const safetensors_tensor *t = safetensors_find(f[s], wm[i].name, strlen(wm[i].name));
            if ((int)s == shard && !t) fail_msg("%s is not in %s", wm[i].name, wm[i].shard);
            if ((int)s != shard && t) fail_msg("%s is also in %s", wm[i].name, k_shards[s]);
        }
    }
    /* every tensor of every shard is in the weight_map, with that shard */
    for (s = 0; s < N_SHARDS; s++) {
        size_t k;
        for (k = 0; k < safetensors_tensor_count(f[s]); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f[s], k);
            int hit = 0;
            for (i = 0; i < n; i++) {
                if (strlen(wm[i].name) == t->name_len && memcmp(wm[i].name, t->name, t->name_len) == 0) {
                    if (strcmp(wm[i].shard, k_shards[s]) != 0)
                        fail_msg("%s is in %s but the index says %s", wm[i].name, k_shards[s], wm[i].shard);
                    wm[i].found++;
                    hit = 1;
                }
            }
            if (!hit) fail_msg("%.*s (in %s) is not in the weight_map", (int)t->name_len, t->name, k_shards[s]);
            total_size += safetensors_tensor_byte_size(t);
            total_params += safetensors_tensor_element_count(t);
        }
        {
            size_t count = safetensors_tensor_count(f[s]);
            assert_true(count > 0);
            assert_int_equal(safetensors_data_size(f[s]), safetensors_tensor_at(f[s], count - 1)->end);
        }
    }
    for (i = 0; i < n; i++) assert_int_equal(wm[i].found, 1);
    /* the index's own totals */
    assert_int_equal(total_size, json_int(index, "total_size"));
    assert_int_equal(total_params, json_int(index, "total_parameters"));
    for (s = 0; s < N_SHARDS; s++) safetensors_close(f[s]);
    free(wm);
    free(index);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_llama_shards),
        cmocka_unit_test(test_llama_index),
    };
    return cmocka_run_group_tests(tests, tu_expected_setup, tu_expected_teardown);
}
