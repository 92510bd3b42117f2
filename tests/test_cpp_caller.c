/* test_cpp_caller.c - plain C that calls the library compiled as C++.

   This file includes safetensors.h without SAFETENSORS_IMPLEMENTATION: the
   implementation lives in test_cpp.cpp, compiled by a C++ compiler. Linking
   the two proves that the C++ build exports the API with C linkage and the
   same types. Returns 0 when every check holds. */
#include "safetensors.h"

#include <string.h>

int safetensors_cpp_caller_check(void);

int safetensors_cpp_caller_check(void) {
    static const char hdr[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                              "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    unsigned char file[8 + sizeof hdr - 1 + 12];
    size_t n = sizeof hdr - 1, i;
    safetensors_file *f = NULL;
    safetensors_error err;
    const safetensors_tensor *a, *b;
    safetensors_metadata_entry m;
    int has_format, failures = 0;

    for (i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, hdr, n);
    for (i = 0; i < 12; i++) file[8 + n + i] = (unsigned char)(i + 1);

    if (safetensors_open_memory(file, sizeof file, NULL, &f, &err) != SAFETENSORS_OK) return 1;
    a = safetensors_find(f, "a", 1);
    b = safetensors_find(f, "b", 1);
    has_format = safetensors_metadata_find(f, "format", 6, &m);
    if (safetensors_tensor_count(f) != 2) failures++;
    if (!a || a->dtype != SAFETENSORS_F32 || a->ndim != 1 || a->shape[0] != 2) failures++;
    if (!b || b->dtype != SAFETENSORS_BF16 || safetensors_tensor_byte_size(b) != 4) failures++;
    if (a && a->data != file + 8 + n) failures++;
    if (b && memcmp(b->data, file + 8 + n + 8, 4) != 0) failures++;
    if (safetensors_tensor_at(f, 0) != a || safetensors_tensor_at(f, 1) != b) failures++;
    if (!has_format || m.value_len != 2 || memcmp(m.value, "pt", 2) != 0) failures++;
    if (strcmp(safetensors_dtype_name(SAFETENSORS_BF16), "BF16") != 0) failures++;
    safetensors_close(f);

    /* a refusal, with its documented offset: the data is one byte short */
    f = NULL;
    if (safetensors_open_memory(file, sizeof file - 1, NULL, &f, &err) != SAFETENSORS_ERR_COVERAGE) failures++;
    if (f != NULL || err.offset != 8 + n + 11) failures++;
    return failures;
}
