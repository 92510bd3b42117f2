/* fuzz_model.c - libFuzzer target: the sharded-model index
   (model.safetensors.index.json) read by safetensors_model_open.

   Build (libFuzzer, from the repository root; `make fuzz` does this):
       clang -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla \
           -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
           -I. fuzz/fuzz_model.c -o build/fuzz_model
   Run:
       ./build/fuzz_model -dict=fuzz/safetensors.dict -max_len=65536 corpus_dir/
   Replay saved inputs without libFuzzer (`make fuzz-replay` does this):
       gcc -std=c99 ... -I. fuzz/fuzz_model.c fuzz/fuzz_main.c -o build/replay_model

   The input is the index file. At start-up the target makes a private
   folder under $TMPDIR (or /tmp) holding two valid shards,
       model-00001-of-00002.safetensors   a F32 [2], b U8 [3]
       model-00002-of-00002.safetensors   c BF16 [1], metadata format=pt
   and removes it at exit. Each input is written there as
   model.safetensors.index.json and opened three ways: eager, lazy, and
   eager with SAFETENSORS_MODEL_ALLOW_UNLISTED. For every model that opens,
   every tensor, shard name and metadata entry is read byte by byte, and
   safetensors_model_find on each name must give the same tensor and shard
   as safetensors_model_tensor_at. An eager open that succeeds must be
   matched by the lazy one, tensor for tensor. A violated check calls
   abort(). */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[512];
static char fuzz_index[600];
static const char *const fuzz_shard_names[2] = {"model-00001-of-00002.safetensors",
                                                "model-00002-of-00002.safetensors"};
static volatile unsigned char fuzz_sink;

static void check(int ok)
{
    if (!ok) abort();
}

static void fuzz_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", fuzz_dir, name);
    check(n > 0 && (size_t)n < cap);
}

static void fuzz_write(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    check(fp != NULL);
    check(fwrite(bytes, 1, len, fp) == len);
    check(fclose(fp) == 0);
}

static void fuzz_write_shard(const char *name, const char *header, size_t data_len)
{
    unsigned char buf[512];
    size_t n = strlen(header), k;
    char path[600];
    check(8 + n + data_len <= sizeof buf);
    for (k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)n >> (8 * k));
    memcpy(buf + 8, header, n);
    for (k = 0; k < data_len; k++) buf[8 + n + k] = (unsigned char)(k * 37 + 1);
    fuzz_path(path, sizeof path, name);
    fuzz_write(path, buf, 8 + n + data_len);
}

static void fuzz_cleanup(void)
{
    char path[600];
    size_t k;
    for (k = 0; k < 2; k++) {
        fuzz_path(path, sizeof path, fuzz_shard_names[k]);
        unlink(path);
    }
    unlink(fuzz_index);
    rmdir(fuzz_dir);
}

static void fuzz_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(fuzz_dir, sizeof fuzz_dir, "%s/safetensors_fuzz_model_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    check(n > 0 && (size_t)n < sizeof fuzz_dir);
    check(mkdtemp(fuzz_dir) != NULL);
    fuzz_path(fuzz_index, sizeof fuzz_index, "model.safetensors.index.json");
    fuzz_write_shard(fuzz_shard_names[0],
                     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}",
                     11);
    fuzz_write_shard(fuzz_shard_names[1],
                     "{\"__metadata__\":{\"format\":\"pt\"},"
                     "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}",
                     2);
    atexit(fuzz_cleanup);
}

static unsigned char touch(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    unsigned char x = 0;
    size_t i;
    for (i = 0; i < n; i++) x ^= b[i];
    return x;
}

/* Reads everything the model hands out. Returns the first error a lazy
   shard open gave, or OK. */
/* Two fillings of one entry: the same strings, at the same addresses. */
static int same_entry(const safetensors_metadata_entry *a, const safetensors_metadata_entry *b)
{
    return a->key == b->key && a->key_len == b->key_len && a->value == b->value && a->value_len == b->value_len;
}

/* What a refused accessor leaves in *out. */
static int zero_entry(const safetensors_metadata_entry *e)
{
    return e->key == NULL && e->key_len == 0 && e->value == NULL && e->value_len == 0;
}

static safetensors_result walk(const safetensors_model *m)
{
    size_t n = safetensors_model_tensor_count(m), shards = safetensors_model_shard_count(m), i;
    unsigned char x = 0;
    safetensors_result first = SAFETENSORS_OK;
    safetensors_metadata_entry e, found;
    for (i = 0; i < shards; i++) {
        const char *name = safetensors_model_shard_name(m, i, NULL);
        check(name != NULL);
        x ^= touch(name, strlen(name));
    }
    for (i = 0; i < n; i++) {
        const safetensors_tensor *t = NULL, *u = NULL;
        size_t shard = (size_t)-1, shard2 = (size_t)-1;
        safetensors_error err;
        safetensors_result r = safetensors_model_tensor_at(m, i, &t, &shard, &err);
        if (r != SAFETENSORS_OK) {
            check(err.code == r && r != SAFETENSORS_ERR_NOMEM);
            if (first == SAFETENSORS_OK) first = r;
            continue;
        }
        check(t != NULL && shard < shards);
        x ^= touch(t->name, t->name_len);
        check(t->name[t->name_len] == '\0');
        check(t->data != NULL);
        x ^= touch(t->data, (size_t)(t->end - t->begin));
        r = safetensors_model_find(m, t->name, t->name_len, &u, &shard2, &err);
        check(r == SAFETENSORS_OK && u == t && shard2 == shard);
    }
    for (i = 0; i < safetensors_model_metadata_count(m); i++) {
        size_t json_len = 0;
        const char *json = safetensors_model_metadata_json(m, i, &json_len);
        check(safetensors_model_metadata_at(m, i, &e) == 1);
        check(json != NULL && json_len > 0);
        x ^= touch(json, json_len);
        x ^= touch(e.key, e.key_len);
        check(e.key[e.key_len] == '\0');
        if (e.value) {
            x ^= touch(e.value, e.value_len);
            check(json[0] == '"' && e.value[e.value_len] == '\0' && e.value_len <= json_len - 2);
        } else {
            check(json[0] != '"' && e.value_len == 0);
        }
        check(safetensors_model_metadata_find(m, e.key, e.key_len, &found) == 1 && same_entry(&found, &e));
    }
    check(safetensors_model_metadata_at(m, safetensors_model_metadata_count(m), &e) == 0 && zero_entry(&e));
    fuzz_sink = x;
    return first;
}

static void check_same_model(const safetensors_model *a, const safetensors_model *b)
{
    size_t i;
    check(safetensors_model_tensor_count(a) == safetensors_model_tensor_count(b));
    check(safetensors_model_shard_count(a) == safetensors_model_shard_count(b));
    check(safetensors_model_metadata_count(a) == safetensors_model_metadata_count(b));
    for (i = 0; i < safetensors_model_tensor_count(a); i++) {
        const safetensors_tensor *s = NULL, *t = NULL;
        size_t sa = 0, sb = 0;
        check(safetensors_model_tensor_at(a, i, &s, &sa, NULL) == SAFETENSORS_OK);
        check(safetensors_model_tensor_at(b, i, &t, &sb, NULL) == SAFETENSORS_OK);
        check(sa == sb && s->name_len == t->name_len && memcmp(s->name, t->name, s->name_len) == 0);
        check(s->dtype == t->dtype && s->begin == t->begin && s->end == t->end);
        check(memcmp(s->data, t->data, (size_t)(s->end - s->begin)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    safetensors_options opt;
    safetensors_model *eager = NULL, *lazy = NULL, *loose = NULL;
    safetensors_error err;
    safetensors_result r_eager, r_lazy, r_loose;
    if (!ready) {
        fuzz_setup();
        ready = 1;
    }
    fuzz_write(fuzz_index, data, size);

    memset(&opt, 0, sizeof opt);
    r_eager = safetensors_model_open(fuzz_index, &opt, &eager, &err);
    check((r_eager == SAFETENSORS_OK) == (eager != NULL));
    check(r_eager == SAFETENSORS_OK || (err.code == r_eager && r_eager != SAFETENSORS_ERR_NOMEM));
    if (eager) check(walk(eager) == SAFETENSORS_OK);

    opt.flags = SAFETENSORS_MODEL_LAZY;
    r_lazy = safetensors_model_open(fuzz_index, &opt, &lazy, &err);
    check((r_lazy == SAFETENSORS_OK) == (lazy != NULL));
    check(r_lazy == SAFETENSORS_OK || (err.code == r_lazy && r_lazy != SAFETENSORS_ERR_NOMEM));
    if (lazy) {
        safetensors_result first = walk(lazy);
        /* eager accepts: lazy must open, and see the same thing */
        if (eager) {
            check(first == SAFETENSORS_OK);
            check_same_model(eager, lazy);
        }
    } else {
        check(eager == NULL); /* lazy checks less at open, never more */
    }

    opt.flags = SAFETENSORS_MODEL_ALLOW_UNLISTED;
    r_loose = safetensors_model_open(fuzz_index, &opt, &loose, &err);
    check((r_loose == SAFETENSORS_OK) == (loose != NULL));
    if (loose) check(walk(loose) == SAFETENSORS_OK);
    else check(eager == NULL); /* allowing more cannot refuse what was accepted */

    safetensors_model_close(loose);
    safetensors_model_close(lazy);
    safetensors_model_close(eager);
    return 0;
}
