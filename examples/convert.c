/* safetensors-convert - rewrite a checkpoint: change its float dtype, shard
   or unshard it, keep some of its tensors, align its data.

       safetensors-convert [--dtype DTYPE] [--max-shard-size BYTES] [--align N]
                           [--only GLOB]... IN OUT

   IN is a .safetensors file, a folder, or an index (model.safetensors.index.json),
   opened with safetensors_model_open, which checks every shard.
   OUT is
     - a folder of shards and an index (the layout transformers writes), with
       --max-shard-size, or when IN is sharded and OUT does not end in
       ".safetensors"; one shard gives OUT/model.safetensors and no index;
     - otherwise one file: a sharded IN is then unsharded.
   --dtype DTYPE      every floating-point tensor (F32, F16, BF16, F64, the F8,
                      F6 and F4 types) becomes DTYPE through the library's
                      exact conversions (round to nearest even; see
                      safetensors.h on overflow); integer, BOOL and C64
                      tensors stay as they are. An F64 source is rounded to
                      F32 first.
   --max-shard-size   the most tensor bytes in a shard (headers not counted),
                      as a number with an optional kB/MB/GB (powers of 1000)
                      or KiB/MiB/GiB suffix; a larger tensor gets a shard of
                      its own. Without it a sharded OUT uses 5GB, the
                      transformers default.
   --align N          pads each header so that the data starts at a multiple
                      of N (a power of two up to 65536), for O_DIRECT or GPU
                      direct storage reads.
   --only GLOB        keeps the tensors whose names match a GLOB (*, ?, [...]
                      on code points); may be repeated.
   The first shard's __metadata__ is kept, in file order, in every output
   file. With no option, a file written by the reference writer comes out
   byte for byte the same (make rewrite-check).

   It streams: the input is mapped, and each tensor goes to the writer in
   blocks (converted block by block when its dtype changes), so memory is
   the headers and one block, whatever the model's size. Every output file
   is written to a temporary file and renamed into place at the end, the
   index last; an error leaves OUT as it was.

   Exit status: 0 on success, 1 on any error (reported on stderr), 2 on a
   usage error.

   Build: cc -std=c99 -O2 -I. examples/convert.c -o safetensors-convert
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#ifdef _WIN32
#include <direct.h>
#endif

#include "inspect/glob.c"

/* Elements converted at a time: a multiple of 8, so that every block of
   an F4 or F6 tensor starts and ends on a byte. */
#define BLOCK_ELEMENTS ((size_t)1 << 16)
#define DEFAULT_SHARD_SIZE 5000000000u

static int usage(const char *why) {
    if (why) fprintf(stderr, "safetensors-convert: %s\n", why);
    fprintf(stderr, "usage: safetensors-convert [--dtype DTYPE] [--max-shard-size BYTES] [--align N]\n"
                    "                           [--only GLOB]... IN OUT\n");
    return 2;
}

/* "5GB", "500MiB", "1000": 0 on a malformed size. */
static uint64_t parse_size(const char *s) {
    static const struct {
        const char *suffix;
        uint64_t scale;
    } units[] = {{"", 1u},         {"B", 1u},           {"kB", 1000u},      {"KB", 1000u},
                 {"MB", 1000000u}, {"GB", 1000000000u}, {"KiB", 1u << 10}, {"MiB", 1u << 20},
                 {"GiB", 1u << 30}};
    char *end;
    size_t k;
    unsigned long long v;
    if (*s < '0' || *s > '9') return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno) return 0;
    for (k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strcmp(end, units[k].suffix) == 0) return v > UINT64_MAX / units[k].scale ? 0 : v * units[k].scale;
    return 0;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
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

/* The output: one file through the streaming writer, or shards through
   the shard writer. The calls below pick one. */
typedef struct output {
    safetensors_writer *file;
    safetensors_shard_writer *shards;
} output;

static safetensors_result out_add_metadata(output *o, const safetensors_metadata_entry *m, safetensors_error *err) {
    if (o->shards)
        return safetensors_shard_writer_add_metadata(o->shards, m->key, m->key_len, m->value, m->value_len, err);
    return safetensors_writer_add_metadata(o->file, m->key, m->key_len, m->value, m->value_len, err);
}

static safetensors_result out_add_tensor(output *o, const safetensors_tensor *t, safetensors_dtype dtype,
                                         safetensors_error *err) {
    if (o->shards)
        return safetensors_shard_writer_add_tensor(o->shards, t->name, t->name_len, dtype, t->ndim, t->shape, err);
    return safetensors_writer_add_tensor(o->file, t->name, t->name_len, dtype, t->ndim, t->shape, err);
}

static size_t out_count(const output *o) {
    return o->shards ? safetensors_shard_writer_tensor_count(o->shards) : safetensors_writer_tensor_count(o->file);
}

static size_t out_declaration(const output *o, size_t k) {
    return o->shards ? safetensors_shard_writer_declaration_index(o->shards, k)
                     : safetensors_writer_declaration_index(o->file, k);
}

static safetensors_result out_write(output *o, size_t k, const void *bytes, size_t len, safetensors_error *err) {
    if (o->shards) return safetensors_shard_writer_write_tensor(o->shards, k, bytes, len, err);
    return safetensors_writer_write_tensor(o->file, k, bytes, len, err);
}

/* Tensor `t`'s bytes as `to`, block by block. */
static safetensors_result copy_tensor(output *o, size_t k, const safetensors_tensor *t, safetensors_dtype to,
                                      unsigned char *block, safetensors_error *err) {
    const unsigned char *src = (const unsigned char *)t->data;
    uint64_t elements = safetensors_tensor_element_count(t), i;
    unsigned from_bits = safetensors_dtype_bits(t->dtype), to_bits = safetensors_dtype_bits(to);
    safetensors_result r = SAFETENSORS_OK;
    for (i = 0; i < elements && r == SAFETENSORS_OK; i += BLOCK_ELEMENTS) {
        size_t n = elements - i < BLOCK_ELEMENTS ? (size_t)(elements - i) : BLOCK_ELEMENTS;
        const unsigned char *at = src + (size_t)(i / 8u * from_bits); /* i is whole blocks */
        if (to == t->dtype) {
            r = out_write(o, k, at, (n * from_bits + 7u) / 8u, err);
            continue;
        }
        r = safetensors_convert(t->dtype, at, n, to, block);
        if (r != SAFETENSORS_OK) {
            memset(err, 0, sizeof *err);
            err->code = r;
            snprintf(err->message, sizeof err->message, "tensor \"%.*s\": cannot convert %s to %s", (int)t->name_len,
                     t->name, safetensors_dtype_name(t->dtype), safetensors_dtype_name(to));
            return r;
        }
        r = out_write(o, k, block, (n * to_bits + 7u) / 8u, err);
    }
    return r;
}

static int make_folder(const char *path) {
#ifdef _WIN32
    if (_mkdir(path) == 0 || errno == EEXIST) return 0;
#else
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
#endif
    fprintf(stderr, "safetensors-convert: %s: cannot create the folder: %s\n", path, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL, **globs;
    size_t nglobs = 0, k, kept = 0, nt;
    int a, have_dtype = 0, sharded;
    safetensors_dtype dtype = SAFETENSORS_F32;
    uint64_t max_shard = 0;
    safetensors_write_options wopt;
    safetensors_model *m = NULL;
    const safetensors_file *first = NULL;
    const safetensors_tensor **sel = NULL;
    unsigned char *block = NULL;
    output o;
    safetensors_error err;
    const char *stage = "open";
    int rc = 1;

    memset(&wopt, 0, sizeof wopt);
    memset(&o, 0, sizeof o);
    memset(&err, 0, sizeof err);
    globs = (const char **)calloc((size_t)argc, sizeof *globs);
    if (globs == NULL) return 1;
    for (a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--dtype") == 0 && a + 1 < argc) {
            const char *name = argv[++a];
            if (safetensors_dtype_from_name(name, strlen(name), &dtype) != SAFETENSORS_OK ||
                !safetensors_convert_supported(dtype)) {
                free(globs);
                return usage("--dtype takes a floating-point dtype: F32, F16, BF16, F64, F8_E4M3, F8_E5M2, "
                             "F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0, F6_E2M3, F6_E3M2 or F4");
            }
            have_dtype = 1;
        } else if (strcmp(arg, "--max-shard-size") == 0 && a + 1 < argc) {
            max_shard = parse_size(argv[++a]);
            if (max_shard == 0) {
                free(globs);
                return usage("--max-shard-size takes a positive size, e.g. 2000000000, 5GB or 500MiB");
            }
        } else if (strcmp(arg, "--align") == 0 && a + 1 < argc) {
            char *end;
            wopt.alignment = strtoull(argv[++a], &end, 10);
            if (*end != '\0' || argv[a][0] == '\0') {
                free(globs);
                return usage("--align takes a number");
            }
        } else if (strcmp(arg, "--only") == 0 && a + 1 < argc) {
            globs[nglobs++] = argv[++a];
        } else if (arg[0] == '-' && arg[1] == '-') {
            free(globs);
            return usage("unknown option, or one without its value");
        } else if (in == NULL) {
            in = arg;
        } else if (out == NULL) {
            out = arg;
        } else {
            free(globs);
            return usage("IN and OUT only");
        }
    }
    if (in == NULL || out == NULL) {
        free(globs);
        return usage(NULL);
    }

    if (safetensors_model_open(in, NULL, &m, &err) != SAFETENSORS_OK) goto fail;
    if (safetensors_model_shard(m, 0, &first, &err) != SAFETENSORS_OK) goto fail;
    sharded = max_shard != 0 || (safetensors_model_shard_count(m) > 1 && !ends_with(out, ".safetensors"));
    if (safetensors_metadata_count(first) == 0 && ends_with(in, ".safetensors") && opens_with_metadata(in))
        wopt.flags |= SAFETENSORS_WRITE_EMPTY_METADATA;

    /* declare: metadata in file order, then the kept tensors in the
       model's order (by shard, then name), which is the shard order */
    stage = "declare";
    nt = safetensors_model_tensor_count(m);
    sel = (const safetensors_tensor **)calloc(nt ? nt : 1, sizeof *sel);
    block = (unsigned char *)malloc(BLOCK_ELEMENTS * 8u);
    if (sel == NULL || block == NULL) {
        strcpy(err.message, "out of memory");
        err.code = SAFETENSORS_ERR_NOMEM;
        goto fail;
    }
    if (sharded) {
        if (safetensors_shard_writer_create(&wopt, max_shard ? max_shard : DEFAULT_SHARD_SIZE, &o.shards, &err))
            goto fail;
    } else if (safetensors_writer_create(&wopt, &o.file, &err)) {
        goto fail;
    }
    for (k = 0; k < safetensors_metadata_count(first); k++) {
        safetensors_metadata_entry entry;
        safetensors_metadata_at(first, k, &entry);
        if (out_add_metadata(&o, &entry, &err)) goto fail;
    }
    for (k = 0; k < nt; k++) {
        const safetensors_tensor *t;
        size_t g;
        int keep = nglobs == 0;
        if (safetensors_model_tensor_at(m, k, &t, NULL, &err) != SAFETENSORS_OK) goto fail;
        for (g = 0; g < nglobs && !keep; g++) keep = glob_match(globs[g], t->name, t->name_len);
        if (!keep) continue;
        if (out_add_tensor(&o, t, have_dtype && safetensors_convert_supported(t->dtype) ? dtype : t->dtype, &err))
            goto fail;
        sel[kept++] = t;
    }

    /* the headers, then each tensor in the writer's order */
    stage = "write";
    if (sharded) {
        if (make_folder(out)) goto quiet_fail;
        if (safetensors_shard_writer_begin(o.shards, out, NULL, &err)) goto fail;
    } else if (safetensors_writer_begin_file(o.file, out, &err)) {
        goto fail;
    }
    for (k = 0; k < out_count(&o); k++) {
        const safetensors_tensor *t = sel[out_declaration(&o, k)];
        safetensors_dtype to = have_dtype && safetensors_convert_supported(t->dtype) ? dtype : t->dtype;
        if (copy_tensor(&o, k, t, to, block, &err) != SAFETENSORS_OK) goto fail;
    }
    if (sharded ? safetensors_shard_writer_finish(o.shards, &err) : safetensors_writer_finish(o.file, &err)) goto fail;
    if (sharded)
        printf("%s: %zu tensors in %zu shard%s, %zu metadata entries\n", out, kept,
               safetensors_shard_writer_shard_count(o.shards),
               safetensors_shard_writer_shard_count(o.shards) == 1 ? "" : "s", safetensors_metadata_count(first));
    else
        printf("%s: %zu tensors, %zu metadata entries, %llu bytes, data at byte %llu\n", out, kept,
               safetensors_metadata_count(first), (unsigned long long)safetensors_writer_file_size(o.file),
               (unsigned long long)safetensors_writer_data_start(o.file));
    rc = 0;
    goto done;

fail:
    fprintf(stderr, "safetensors-convert: %s: %s: %s (%s", stage[0] == 'o' ? in : out, stage, err.message,
            safetensors_result_name(err.code) ? safetensors_result_name(err.code) : "?");
    if (err.sys_errno) fprintf(stderr, ", %s", strerror(err.sys_errno));
    fprintf(stderr, ")\n");
quiet_fail:
done:
    safetensors_writer_destroy(o.file); /* before finish: removes the temporary files */
    safetensors_shard_writer_destroy(o.shards);
    safetensors_model_close(m);
    free(sel);
    free(block);
    free(globs);
    return rc;
}
