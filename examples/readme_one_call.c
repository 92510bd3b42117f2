#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

/* Tensors already in memory: one call writes them, to a file or to memory. */
int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "small.safetensors";
    const float values[6] = {1, 2, 3, 4, 5, 6};      /* [2, 3], row-major */
    unsigned char data[sizeof values];               /* the file's bytes are little-endian */
    uint64_t shape[2] = {2, 3};
    safetensors_tensor_input t = {"w", 1, SAFETENSORS_F32, 2, shape, data, sizeof data};
    safetensors_metadata_entry m = {"format", 6, "pt", 2};
    safetensors_error err = {0};
    void *bytes;
    size_t len;
    if (safetensors_convert_from_f32(SAFETENSORS_F32, values, 6, data) != SAFETENSORS_OK ||
        safetensors_write_file(path, &t, 1, &m, 1, NULL, &err) != SAFETENSORS_OK ||
        safetensors_write_memory(&t, 1, &m, 1, NULL, &bytes, &len, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("%s and %zu bytes in memory\n", path, len);
    safetensors_write_memory_free(NULL, bytes, len);
    return 0;
}
