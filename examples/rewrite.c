/* safetensors-rewrite - read a checkpoint and write it back through the
   streaming writer.

       safetensors-rewrite [--align N] IN OUT

   IN is opened with safetensors_open (mapped, zero-copy). Its metadata is
   declared in file order and its tensors by name, dtype and shape; then the
   writer puts the tensors in its data order and each one's bytes are
   handed over in 1 MiB pieces, so the program never holds more than the
   header and one piece (the mapping is the page cache's, not ours).

   For a file written by the reference writer (the Python/Rust safetensors
   package) OUT is byte-identical to IN. --align N (a power of two up to
   65536) pads the header so that the data starts at a multiple of N, for
   O_DIRECT or GPU direct storage reads; the result is still a standard
   safetensors file.

   OUT is written to a temporary file next to it and renamed over it at
   the end, so OUT may even be IN: the mapping of the old file stays valid
   until it is closed.

   Exit status: 0 on success, 1 on any error (reported on stderr), 2 on a
   usage error.

   Build: cc -std=c99 -O2 -I. examples/rewrite.c -o safetensors-rewrite
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECE ((size_t)1 << 20)

static int usage(void) {
    fprintf(stderr, "usage: safetensors-rewrite [--align N] IN OUT\n");
    return 2;
}

/* The reader reports metadata entries but not whether an empty
   `__metadata__` object was present. The reference writes it first when it
   was given one, even empty, so look at the header's first bytes. */
static int opens_with_metadata(const char *path) {
    static const char key[] = "{\"__metadata__\":{";
    unsigned char head[8 + sizeof key - 1];
    FILE *fp = fopen(path, "rb");
    size_t got;
    if (fp == NULL) return 0;
    got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    return got == sizeof head && memcmp(head + 8, key, sizeof key - 1) == 0;
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    safetensors_write_options wopt;
    safetensors_file *f = NULL;
    safetensors_writer *w = NULL;
    safetensors_error err;
    const char *stage = "";
    size_t k;
    int a;

    memset(&wopt, 0, sizeof wopt);
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--align") == 0 && a + 1 < argc) {
            char *end;
            wopt.alignment = strtoull(argv[++a], &end, 10);
            if (*end != '\0') return usage();
        } else if (in == NULL) {
            in = argv[a];
        } else if (out == NULL) {
            out = argv[a];
        } else {
            return usage();
        }
    }
    if (in == NULL || out == NULL) return usage();

    stage = "open";
    if (safetensors_open(in, NULL, &f, &err) != SAFETENSORS_OK) goto fail;
    if (safetensors_metadata_count(f) == 0 && opens_with_metadata(in))
        wopt.flags |= SAFETENSORS_WRITE_EMPTY_METADATA;

    /* declare: metadata in file order, then every tensor */
    stage = "declare";
    if (safetensors_writer_create(&wopt, &w, &err) != SAFETENSORS_OK) goto fail;
    for (k = 0; k < safetensors_metadata_count(f); k++) {
        const safetensors_metadata_entry *m = safetensors_metadata_at(f, k);
        if (safetensors_writer_add_metadata(w, m->key, m->key_len, m->value, m->value_len, &err)) goto fail;
    }
    for (k = 0; k < safetensors_tensor_count(f); k++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, k);
        if (safetensors_writer_add_tensor(w, t->name, t->name_len, t->dtype, t->ndim, t->shape, &err)) goto fail;
    }

    /* the header, then each tensor's bytes in the writer's order */
    stage = "write";
    if (safetensors_writer_begin_file(w, out, &err) != SAFETENSORS_OK) goto fail;
    for (k = 0; k < safetensors_writer_tensor_count(w); k++) {
        const safetensors_tensor *slot = safetensors_writer_tensor_at(w, k);
        const safetensors_tensor *src = safetensors_find(f, slot->name, slot->name_len);
        const unsigned char *bytes = (const unsigned char *)src->data;
        uint64_t left = src->end - src->begin;
        while (left > 0) {
            size_t piece = left < PIECE ? (size_t)left : PIECE;
            if (safetensors_writer_write_tensor(w, k, bytes, piece, &err)) goto fail;
            bytes += piece;
            left -= piece;
        }
    }
    if (safetensors_writer_finish(w, &err) != SAFETENSORS_OK) goto fail;
    printf("%s: %zu tensors, %zu metadata entries, %llu bytes, data at byte %llu\n", out,
           safetensors_writer_tensor_count(w), safetensors_metadata_count(f),
           (unsigned long long)safetensors_writer_file_size(w), (unsigned long long)safetensors_writer_data_start(w));
    safetensors_writer_destroy(w);
    safetensors_close(f);
    return 0;

fail:
    fprintf(stderr, "safetensors-rewrite: %s: %s: %s (%s", stage[0] == 'o' ? in : out, stage, err.message,
            safetensors_result_name(err.code));
    if (err.sys_errno) fprintf(stderr, ", %s", strerror(err.sys_errno));
    fprintf(stderr, ")\n");
    safetensors_writer_destroy(w); /* removes the temporary file */
    safetensors_close(f);
    return 1;
}
