/* convert_f32_to_bf16 - write a BF16 copy of a checkpoint's F32 tensors.

       convert_f32_to_bf16 IN OUT

   Shows the reader and the writer together:
     - IN is opened with safetensors_open (mapped, zero-copy);
     - its metadata is carried over in file order;
     - every F32 tensor is declared as BF16 with the same shape, every other
       tensor unchanged;
     - the writer fixes the data order; each tensor is then streamed on its
       own, and F32 ones are converted in chunks of 4096 elements through a
       fixed 8 KiB buffer, never a whole-tensor copy, so memory stays at the
       header's size whatever the checkpoint's;
     - OUT is written to a temporary file and renamed into place by finish.

   Rounding is to nearest, ties to even; NaN stays NaN (made quiet, sign
   kept); values beyond BF16's range become infinity, as in PyTorch's
   tensor.to(torch.bfloat16). Tensor bytes are little-endian in the file, so
   the conversion reads and writes bytes, and works on any host.

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

/* F32 bits to BF16 bits, rounding to nearest, ties to even. */
static uint16_t bf16_from_f32_bits(uint32_t bits) {
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u); /* NaN: keep it NaN */
    bits += 0x7fffu + ((bits >> 16) & 1u); /* a carry into the exponent is right, up to infinity */
    return (uint16_t)(bits >> 16);
}

/* Converts tensor k (F32 in the source) through a fixed buffer. */
static safetensors_result stream_converted(safetensors_writer *w, size_t k, const safetensors_tensor *src,
                                           safetensors_error *err) {
    unsigned char out[CHUNK_ELEMENTS * 2];
    const unsigned char *in = (const unsigned char *)src->data;
    uint64_t left = safetensors_tensor_element_count(src);
    while (left > 0) {
        size_t n = left < CHUNK_ELEMENTS ? (size_t)left : CHUNK_ELEMENTS, i;
        safetensors_result r;
        for (i = 0; i < n; i++, in += 4) {
            uint32_t bits = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
            uint16_t h = bf16_from_f32_bits(bits);
            out[2 * i] = (unsigned char)(h & 0xffu);
            out[2 * i + 1] = (unsigned char)(h >> 8);
        }
        r = safetensors_writer_write_tensor(w, k, out, 2 * n, err);
        if (r != SAFETENSORS_OK) return r;
        left -= n;
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
