/* convert_f32_to_bf16 - write a BF16 copy of a checkpoint's F32 tensors.

       convert_f32_to_bf16 IN OUT

   Shows the reader and the writer together:
     - IN is opened with safetensors_open (mapped, zero-copy);
     - its metadata is carried over in file order;
     - every F32 tensor is declared as BF16 with the same shape, every other
       tensor unchanged;
     - the writer fixes the data order; each tensor is then streamed on its
       own, and F32 ones are converted in chunks of 4096 elements through
       fixed buffers (safetensors_tensor_range_to_f32, then
       safetensors_convert_from_f32), never a whole-tensor copy, so memory
       stays at the header's size whatever the checkpoint's;
     - OUT is written to a temporary file and renamed into place by finish.

   The library's conversion rounds to nearest, ties to even; NaN stays NaN
   (made quiet, sign kept); values beyond BF16's range become infinity, as
   in PyTorch's tensor.to(torch.bfloat16). It reads and writes the file's
   little-endian bytes, so this works on any host.

   Exit status: 0 on success, 1 on any error (reported on stderr), 2 on a
   usage error.

   Build: cc -std=c99 -O2 -I. examples/convert_f32_to_bf16.c -o convert_f32_to_bf16
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ELEMENTS 4096u
#define COPY_PIECE ((size_t)1 << 20)

/* Converts tensor k (F32 in the source) through fixed buffers. */
static safetensors_result stream_converted(safetensors_writer *w, size_t k, const safetensors_tensor *src,
                                           safetensors_error *err) {
    float values[CHUNK_ELEMENTS];
    unsigned char out[CHUNK_ELEMENTS * 2];
    uint64_t first, count = safetensors_tensor_element_count(src);
    for (first = 0; first < count; first += CHUNK_ELEMENTS) {
        size_t n = count - first < CHUNK_ELEMENTS ? (size_t)(count - first) : CHUNK_ELEMENTS;
        safetensors_result r = safetensors_tensor_range_to_f32(src, first, n, values, CHUNK_ELEMENTS);
        if (r == SAFETENSORS_OK) r = safetensors_convert_from_f32(SAFETENSORS_BF16, values, n, out);
        if (r != SAFETENSORS_OK) {
            /* the conversions leave err alone: say what failed */
            memset(err, 0, sizeof *err);
            err->code = r;
            snprintf(err->message, sizeof err->message, "tensor \"%s\": %s", src->name, safetensors_result_string(r));
            return r;
        }
        r = safetensors_writer_write_tensor(w, k, out, 2 * n, err);
        if (r != SAFETENSORS_OK) return r;
    }
    return SAFETENSORS_OK;
}

/* Copies tensor k unchanged, in 1 MiB pieces. */
static safetensors_result stream_copied(safetensors_writer *w, size_t k, const safetensors_tensor *src,
                                        safetensors_error *err) {
    const unsigned char *bytes = (const unsigned char *)src->data;
    uint64_t left = src->end - src->begin;
    while (left > 0) {
        size_t piece = left < COPY_PIECE ? (size_t)left : COPY_PIECE;
        safetensors_result r = safetensors_writer_write_tensor(w, k, bytes, piece, err);
        if (r != SAFETENSORS_OK) return r;
        bytes += piece;
        left -= piece;
    }
    return SAFETENSORS_OK;
}

int main(int argc, char **argv) {
    safetensors_file *f = NULL;
    safetensors_writer *w = NULL;
    safetensors_error err;
    size_t k, converted = 0, copied = 0;
    uint64_t bytes_in, bytes_out;
    const char *stage = "open";

    if (argc != 3) {
        fprintf(stderr, "usage: convert_f32_to_bf16 IN OUT\n");
        return 2;
    }
    if (safetensors_open(argv[1], NULL, &f, &err) != SAFETENSORS_OK) goto fail;

    stage = "declare";
    if (safetensors_writer_create(NULL, &w, &err) != SAFETENSORS_OK) goto fail;
    for (k = 0; k < safetensors_metadata_count(f); k++) {
        const safetensors_metadata_entry *m = safetensors_metadata_at(f, k);
        if (safetensors_writer_add_metadata(w, m->key, m->key_len, m->value, m->value_len, &err)) goto fail;
    }
    for (k = 0; k < safetensors_tensor_count(f); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        safetensors_dtype to = t->dtype == SAFETENSORS_F32 ? SAFETENSORS_BF16 : t->dtype;
        if (safetensors_writer_add_tensor(w, t->name, t->name_len, to, t->ndim, t->shape, &err)) goto fail;
    }

    stage = "write";
    if (safetensors_writer_begin_file(w, argv[2], &err) != SAFETENSORS_OK) goto fail;
    for (k = 0; k < safetensors_writer_tensor_count(w); k++) {
        const safetensors_tensor *slot = safetensors_writer_tensor_at(w, k);
        const safetensors_tensor *src = safetensors_find(f, slot->name, slot->name_len);
        safetensors_result r;
        if (src->dtype == SAFETENSORS_F32) {
            r = stream_converted(w, k, src, &err);
            converted++;
        } else {
            r = stream_copied(w, k, src, &err);
            copied++;
        }
        if (r != SAFETENSORS_OK) goto fail;
    }
    if (safetensors_writer_finish(w, &err) != SAFETENSORS_OK) goto fail;

    bytes_in = safetensors_data_start(f) + safetensors_data_size(f);
    bytes_out = safetensors_writer_file_size(w);
    printf("%s: %zu F32 tensors converted to BF16, %zu copied unchanged, %zu metadata entries; "
           "%llu bytes -> %llu bytes\n",
           argv[2], converted, copied, safetensors_metadata_count(f), (unsigned long long)bytes_in,
           (unsigned long long)bytes_out);
    safetensors_writer_destroy(w);
    safetensors_close(f);
    return 0;

fail:
    fprintf(stderr, "convert_f32_to_bf16: %s: %s: %s (%s)\n", stage[0] == 'o' ? argv[1] : argv[2], stage,
            err.message, safetensors_result_name(err.code));
    safetensors_writer_destroy(w); /* removes the temporary file */
    safetensors_close(f);
    return 1;
}
