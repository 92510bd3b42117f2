/* size_arm.c - the program whose size `make size-arm` reports for a
   Cortex-M4 (arm-none-eabi-gcc -Os, unused sections collected).

   Built twice, from this one file:
     reader  SAFETENSORS_NO_STDIO NO_WRITER NO_MODEL NO_CONVERT: a file held
             in flash is opened, one tensor is looked up, and it is closed;
     full    SAFETENSORS_NO_STDIO only (a microcontroller has no file
             system): the same, then the tensor is widened to F32, narrowed
             to BF16 and written back out as a new file in memory.
   So the figures are what a firmware pays for each, libc included. It is
   never run; the Makefile also compiles it natively under -fshort-enums,
   where every public enum must still be 4 bytes wide (checked below). */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

typedef char enums_are_4_bytes[sizeof(safetensors_dtype) == 4 && sizeof(safetensors_result) == 4 &&
                                       sizeof(safetensors_open_flags) == 4
                                   ? 1
                                   : -1];
#ifndef SAFETENSORS_NO_WRITER
typedef char write_flags_are_4_bytes[sizeof(safetensors_write_flags) == 4 ? 1 : -1];
#endif

/* Padded with spaces (which JSON allows around the value) to exactly 64
   bytes, the length the first byte of g_file declares. */
#define HEADER "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}          "
typedef char header_is_64_bytes[sizeof HEADER - 1 == 64 ? 1 : -1];

/* 1.0f and 2.0f, little-endian */
static const unsigned char g_file[] = "\x40\0\0\0\0\0\0\0" HEADER "\0\0\x80\x3f\0\0\0\x40";

int main(void) {
    safetensors_file *f = NULL;
    const safetensors_tensor *t;
    int ok;
    if (safetensors_open_memory(g_file, sizeof g_file - 1, NULL, &f, NULL) != SAFETENSORS_OK) return 1;
    t = safetensors_find(f, "w", 1);
    ok = t != NULL && t->dtype == SAFETENSORS_F32;
#if !defined(SAFETENSORS_NO_CONVERT) && !defined(SAFETENSORS_NO_WRITER)
    if (ok) {
        float wide[2];
        unsigned char narrow[4];
        uint64_t shape = 2;
        safetensors_tensor_input in;
        void *out = NULL;
        size_t out_len = 0;
        ok = safetensors_tensor_to_f32(t, wide, 2) == SAFETENSORS_OK &&
             safetensors_convert_from_f32(SAFETENSORS_BF16, wide, 2, narrow) == SAFETENSORS_OK;
        in.name = "w";
        in.name_len = 1;
        in.dtype = SAFETENSORS_BF16;
        in.ndim = 1;
        in.shape = &shape;
        in.data = narrow;
        in.size = sizeof narrow;
        ok = ok && safetensors_write_memory(&in, 1, NULL, 0, NULL, &out, &out_len, NULL) == SAFETENSORS_OK;
        safetensors_write_memory_free(NULL, out, out_len);
    }
#endif
    safetensors_close(f);
    return ok ? 0 : 1;
}
