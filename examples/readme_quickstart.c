#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tests/models/tiny-gpt2/model.safetensors";
    safetensors_file *f;
    safetensors_error err;
    if (safetensors_open(path, NULL, &f, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "%s: %s at byte %llu: %s\n", path, safetensors_result_name(err.code),
                (unsigned long long)err.offset, err.message);
        return 1;
    }
    for (size_t i = 0; i < safetensors_tensor_count(f); i++) {     /* ascending offset */
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        printf("%.*s %s %llu bytes\n", (int)t->name_len, t->name, safetensors_dtype_name(t->dtype),
               (unsigned long long)safetensors_tensor_byte_size(t));
    }
    const safetensors_tensor *w = safetensors_find(f, "transformer.wte.weight", 22); /* NULL if absent */
    float x[4];
    if (w && safetensors_tensor_range_to_f32(w, 0, 4, x, 4) == SAFETENSORS_OK)  /* from w->data */
        printf("first weights %g %g %g %g\n", (double)x[0], (double)x[1], (double)x[2], (double)x[3]);
    safetensors_metadata_entry m;                  /* filled in; its strings are f's */
    if (safetensors_metadata_find(f, "format", 6, &m)) printf("format = %s\n", m.value);
    safetensors_close(f);                          /* every view above is gone after this */
    return 0;
}
