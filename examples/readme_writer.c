#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

/* A checkpoint whose values come from a generator, written a piece at a
   time: memory stays at the size of the header, whatever the data's. */
int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "out.safetensors";
    safetensors_writer *w = NULL;
    safetensors_error err = {0};
    uint64_t shape[2] = {512, 512};
    float x[4096];
    unsigned char piece[sizeof x];
    if (safetensors_writer_create(NULL, &w, &err) ||
        safetensors_writer_add_metadata(w, "format", 6, "pt", 2, &err) ||
        safetensors_writer_add_tensor(w, "w1", 2, SAFETENSORS_F32, 2, shape, &err) ||
        safetensors_writer_add_tensor(w, "w2", 2, SAFETENSORS_BF16, 2, shape, &err) ||
        safetensors_writer_begin_file(w, path, &err))                  /* writes the header */
        goto fail;
    for (size_t k = 0; k < safetensors_writer_tensor_count(w); k++) {
        const safetensors_tensor *t = safetensors_writer_tensor_at(w, k);  /* k-th in data order */
        uint64_t count = safetensors_tensor_element_count(t);
        for (uint64_t i = 0; i < count; i += 4096) {                   /* any split will do */
            size_t n = count - i < 4096 ? (size_t)(count - i) : 4096;
            for (size_t j = 0; j < n; j++) x[j] = (float)(i + j) / (float)count;   /* your values */
            if (safetensors_convert_from_f32(t->dtype, x, n, piece) ||
                safetensors_writer_write_tensor(w, k, piece, n * safetensors_dtype_bits(t->dtype) / 8,
                                                &err))
                goto fail;
        }
    }
    if (safetensors_writer_finish(w, &err)) goto fail;   /* refuses while bytes are missing */
    printf("%s: %llu bytes\n", path, (unsigned long long)safetensors_writer_file_size(w));
    safetensors_writer_destroy(w);
    return 0;
fail:
    fprintf(stderr, "%s\n", err.message);                /* names the tensor: tensor "w1": ... */
    safetensors_writer_destroy(w);                        /* removes the temporary file */
    return 1;
}
