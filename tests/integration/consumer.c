/* consumer.c - what a project that depends on safetensors.h does, built by
   each of the throwaway projects beside this file (see run.sh). It opens
   the bundled tiny GPT-2 and checks one tensor against values read from the
   file with Python's json and struct modules, independently of the library:

       transformer.wpe.weight  F32 [64, 64]
       [0][0] = -0x1.d2a892p-7   [0][1] = -0x1.85ae3p-10   [63][63] = -0x1.28903ep-5

   Built with SAFETENSORS_IMPLEMENTATION it carries the implementation (the
   header-only way); without, it links the shared library, and then the
   library's version must be the header's.

       consumer MODEL.safetensors      exit 0 and one line "ok" when all holds */
#include "safetensors.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    static const char name[] = "transformer.wpe.weight";
    safetensors_file *f;
    safetensors_error err;
    const safetensors_tensor *t;
    const float *w;
    int bad;
    if (argc != 2) return fail("usage: consumer MODEL.safetensors");
    if (safetensors_version() != SAFETENSORS_VERSION_NUMBER) return fail("library and header versions differ");
    if (safetensors_open(argv[1], NULL, &f, &err) != SAFETENSORS_OK) {
        fprintf(stderr, "consumer: %s: %s at byte %llu: %s\n", argv[1], safetensors_result_name(err.code),
                (unsigned long long)err.offset, err.message);
        return 1;
    }
    t = safetensors_find(f, name, strlen(name));
    bad = !t || t->dtype != SAFETENSORS_F32 || t->ndim != 2 || t->shape[0] != 64 || t->shape[1] != 64;
    if (!bad) {
        w = (const float *)t->data;
        bad = w[0] != -0x1.d2a892p-7f || w[1] != -0x1.85ae3p-10f || w[63 * 64 + 63] != -0x1.28903ep-5f;
    }
    safetensors_close(f);
    if (bad) return fail("transformer.wpe.weight is not what the file holds");
#ifdef SAFETENSORS_IMPLEMENTATION
    printf("ok (implementation compiled in)\n");
#else
    printf("ok (linked against the library)\n");
#endif
    return 0;
}
