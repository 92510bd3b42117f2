#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

int main(void)
{
    const char *path = "tests/models/tiny-llama-bf16-sharded/model-00001-of-00004.safetensors";
    safetensors_file *f;
    safetensors_error err;
    float x[512];
    unsigned char e4m3[512];
    if (safetensors_open(path, NULL, &f, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        return 1;
    }
    /* elements [1024, 1536) of a BF16 [512, 64] tensor, widened to F32 */
    const safetensors_tensor *t = safetensors_find(f, "model.embed_tokens.weight", 25);
    safetensors_result r = t ? safetensors_tensor_range_to_f32(t, 1024, 512, x, 512)
                             : SAFETENSORS_ERR_NOT_FOUND;
    /* raw buffers: native floats on one side, little-endian bytes on the other */
    if (r == SAFETENSORS_OK) r = safetensors_convert_from_f32(SAFETENSORS_F8_E4M3, x, 512, e4m3);
    if (r == SAFETENSORS_OK) printf("%g is 0x%02x in F8_E4M3\n", (double)x[0], (unsigned)e4m3[0]);
    else fprintf(stderr, "%s\n", safetensors_result_string(r));
    safetensors_close(f);
    return r == SAFETENSORS_OK ? 0 : 1;
}
