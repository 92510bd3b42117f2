#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
#include <stdio.h>

/* A file on standard input, from a pipe say: the header as it comes, in
   chunks, then only the count of the data bytes after it. */
int main(void)
{
    safetensors_parser *p;
    safetensors_file *f;
    safetensors_error err;
    unsigned char buf[4096];
    uint64_t data_size = 0;
    size_t n, used;
    int done = 0;
    if (safetensors_parser_create(NULL, &p, &err) != SAFETENSORS_OK) return 1;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        if (done) used = 0;
        else if (safetensors_parser_feed(p, buf, n, &used, &done, &err) != SAFETENSORS_OK) break;
        data_size += n - used;           /* once done, the rest is the data section */
    }
    safetensors_result r = safetensors_parser_finish(p, data_size, &f, &err);  /* an error sticks */
    safetensors_parser_destroy(p);
    if (r != SAFETENSORS_OK) {
        fprintf(stderr, "%s at byte %llu: %s\n", safetensors_result_name(r),
                (unsigned long long)err.offset, err.message);
        return 1;
    }
    printf("%zu tensors, %zu metadata, header %llu bytes, data %llu bytes\n",
           safetensors_tensor_count(f), safetensors_metadata_count(f),
           (unsigned long long)safetensors_header_size(f), (unsigned long long)data_size);
    safetensors_close(f);                /* the table only: every data is NULL */
    return 0;
}
