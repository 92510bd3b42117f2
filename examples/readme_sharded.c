#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    /* a folder, an index file, or a single .safetensors file */
    const char *path = argc > 1 ? argv[1] : "tests/models/tiny-llama-bf16-sharded";
    safetensors_model *m;
    safetensors_error err;
    const safetensors_tensor *t;
    size_t shard;
    if (safetensors_model_open(path, NULL, &m, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "%s: %s: %s\n", path, safetensors_result_name(err.code), err.message);
        return 1;
    }
    for (size_t i = 0; i < safetensors_model_tensor_count(m); i++)    /* by shard, then name */
        if (safetensors_model_tensor_at(m, i, &t, &shard, &err) == SAFETENSORS_OK)
            printf("%-48s %s\n", t->name, safetensors_model_shard_name(m, shard, NULL));
    if (safetensors_model_find(m, "lm_head.weight", 14, &t, &shard, &err) == SAFETENSORS_OK)
        printf("lm_head.weight: %s, %llu bytes\n", safetensors_dtype_name(t->dtype),
               (unsigned long long)safetensors_tensor_byte_size(t));
    for (size_t i = 0; i < safetensors_model_metadata_count(m); i++) {  /* the index's "metadata" */
        safetensors_metadata_entry e;
        size_t len;
        const char *json = safetensors_model_metadata_json(m, i, &len);  /* as written */
        safetensors_model_metadata_at(m, i, &e);
        printf("%s = %.*s\n", e.key, (int)len, json);
    }
    safetensors_model_close(m);                    /* every view above is gone after this */
    return 0;
}
