/* safetensors-inspect - show what is inside safetensors files and sharded models.

       safetensors-inspect [OPTIONS] FILE|INDEX.json|FOLDER|-...
       safetensors-inspect --check FILE...
       safetensors-inspect --diff A B

   The manual is examples/safetensors-inspect.1 (`man -l` it); --help gives
   the options. In short: for each file a table of its tensors (name, dtype,
   shape, size, byte range), a summary and the metadata; --tree folds
   numbered layers, --stats and --values read the tensors' values,
   --filter and --sort choose and order the tensors, --check only gives the
   verdicts, --diff compares two files or models. A file the library
   refuses is reported on stderr as

       FILE: error CODE at byte OFFSET: message

   with a second line naming the format its bytes look like, when they look
   like one (GGUF, a ZIP or pickle PyTorch checkpoint, JSON, text...).

   With --json it prints one compact JSON object per file, one per line, in
   argument order. The format is a fixed contract (see DESIGN.md):

       {"file":"a.safetensors","ok":true,"header_size":N,"data_start":8+N,
        "tensors":[{"name":"w","dtype":"F32","shape":[2,3],"data_offsets":[0,24]}],
        "metadata":{"format":"pt"},
        "totals":{"tensors":1,"parameters":6,"bytes":24,
                  "by_dtype":{"F32":{"tensors":1,"parameters":6,"bytes":24}}}}
       {"file":"b.safetensors","ok":false,"error":{"code":"SAFETENSORS_ERR_OFFSETS",
        "message":"...","offset":123}}

   (each object on one line, without spaces). Tensors come in the library's
   iteration order (or --sort's), metadata in file order. Keys are only ever
   added: "totals"; "filter" under --filter; per tensor "stats" and
   "values" under --stats and --values; "hint" in an error. The bytes are
   the same on every platform: integers are formatted here, not by printf,
   and on Windows stdout is switched to binary mode.

   Sharded models. An argument that ends in ".json" (an index such as
   model.safetensors.index.json) or that is a folder is opened with
   safetensors_model_open, which checks every shard against the index. The
   table then has a SHARD column (offsets are within that shard), a table of
   the shards (tensors, bytes, header size, where the data start), the
   summary over the whole model and the index's metadata. With --json:

       {"file":"m/","ok":true,"shards":["model-00001-of-00002.safetensors",...],
        "tensors":[{"name":"w","dtype":"BF16","shape":[2,3],"data_offsets":[0,12],
        "shard":0}],"metadata":{"total_size":12},"totals":{...}}

   where "shard" is an index into "shards", data_offsets are relative to the
   tensor's own shard, tensors come by shard then by name bytes (the model's
   order), and each metadata value is the raw JSON text of the index, with
   the white space between its tokens removed so that it stays on one line
   (a number's digits as written). A refused model gives the same "ok":false
   line as a refused file. A folder without an index (one .safetensors file)
   is a model of one shard.

   Exit status: 0 when every file was accepted (--diff: A and B are the
   same), 1 when any file was refused (--diff: they differ) or the output
   could not be written, 2 on a usage error.

   Only the header is needed for most views, so files are opened with
   SAFETENSORS_HEADER_ONLY: nothing is mapped, and the verdict is the same as
   a full open's. --stats, --values and --diff map the files instead.

   Build: cc -std=c99 -O2 -I. examples/inspect.c -o safetensors-inspect
   (the parts in examples/inspect/ are included below: one translation unit,
   so that this one line still builds it, here and in every cross build).
*/
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/types.h>
#include <sys/stat.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#else
#include <unistd.h>
#endif

#include "inspect/glob.c"
#include "inspect/text.c"
#include "inspect/source.c"
#include "inspect/select.c"
#include "inspect/data.c"
#include "inspect/tree.c"
#include "inspect/show.c"
#include "inspect/diff.c"

static const char usage_text[] =
    "usage: safetensors-inspect [OPTIONS] FILE|INDEX.json|FOLDER|-...\n"
    "       safetensors-inspect --check FILE...\n"
    "       safetensors-inspect --diff A B\n"
    "\n"
    "Shows the tensors (name, dtype, shape, size, byte range), a summary and\n"
    "the metadata of each safetensors FILE. An index (model.safetensors.index.json)\n"
    "or a FOLDER is shown as one sharded model. - reads a file from standard input.\n"
    "\n"
    "  --json           one compact JSON object per argument, one per line\n"
    "  --tree           numbered layers folded into one line: layers.#.w  x 32\n"
    "  --stats          min, max, mean, std and NaN, Inf and zero counts per tensor\n"
    "  --values N       the first N values of each tensor\n"
    "  --filter GLOB    only the tensors whose whole name matches GLOB (*, ?,\n"
    "                   [...]); repeat it to show those matching any\n"
    "  --sort KEY       offset (the file's order, the default), name, natural\n"
    "                   (layers.2 before layers.10) or size (largest first)\n"
    "  --check          print nothing but one line per refused file\n"
    "  --diff A B       the tensors only in A, only in B, and those whose dtype,\n"
    "                   shape or bytes differ; then the metadata\n"
    "  -h, --help       this text\n"
    "  --version        the library version\n"
    "  --               every later argument is a FILE\n"
    "\n"
    "Exit status: 0 all files accepted (--diff: the same), 1 a file was refused\n"
    "(--diff: they differ), 2 usage error. The manual: man safetensors-inspect.\n";

/* ---------------------------------------------------------------------
   Arguments
   --------------------------------------------------------------------- */

enum { F_JSON = 1, F_TREE = 2, F_STATS = 4, F_VALUES = 8, F_CHECK = 16, F_DIFF = 32, F_FILTER = 64, F_SORT = 128 };
static const char *const flag_names[] = {"--json",  "--tree", "--stats",  "--values",
                                         "--check", "--diff", "--filter", "--sort"};

/* Options that do not go together: `a` with any of `b`. */
static const struct {
    unsigned a, b;
} conflicts[] = {
    {F_CHECK, F_TREE | F_STATS | F_VALUES | F_DIFF | F_FILTER | F_SORT},
    {F_DIFF, F_TREE | F_STATS | F_VALUES},
    {F_TREE, F_JSON | F_STATS | F_VALUES},
};

static int usage_error(const char *what, const char *detail)
{
    fprintf(stderr, "safetensors-inspect: %s%s\nTry 'safetensors-inspect --help'.\n", what, detail);
    return 2;
}

static const char *flag_name(unsigned bit)
{
    size_t k = 0;
    while (bit > 1u) {
        bit >>= 1;
        k++;
    }
    return flag_names[k];
}

/* Whether argv[*i] is the option `name`, as "NAME VALUE" or "NAME=VALUE";
   then *value is the value, or NULL when the arguments end first. */
static int option_with_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '=' && a[n] != '\0')) return 0;
    if (a[n] == '=') *value = a + n + 1;
    else *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

/* A positive decimal count, or 0. */
static uint64_t parse_count(const char *s)
{
    uint64_t v = 0;
    if (*s == '\0') return 0;
    for (; *s; s++) {
        if (!is_digit(*s) || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10u) return 0;
        v = v * 10u + (uint64_t)(*s - '0');
    }
    return v;
}

/* Reads the options into o and the other arguments into operands[]
   (room for argc). Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, inspect_options *o, const char **operands, size_t *noperands)
{
    static const char *const sort_names[] = {"offset", "name", "natural", "size"};
    unsigned seen = 0;
    int i, only_files = 0, stdin_count = 0;
    size_t k;
    memset(o, 0, sizeof *o);
    o->globs = (const char **)xcalloc((size_t)argc, sizeof *o->globs);
    *noperands = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        if (only_files || a[0] != '-' || a[1] == '\0') {
            stdin_count += is_stdin(a);
            operands[(*noperands)++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("safetensors-inspect (safetensors.h %d.%d.%d)\n", SAFETENSORS_VERSION_MAJOR,
                   SAFETENSORS_VERSION_MINOR, SAFETENSORS_VERSION_PATCH);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            seen |= F_JSON;
        } else if (strcmp(a, "--tree") == 0) {
            seen |= F_TREE;
        } else if (strcmp(a, "--stats") == 0) {
            seen |= F_STATS;
        } else if (strcmp(a, "--check") == 0) {
            seen |= F_CHECK;
        } else if (strcmp(a, "--diff") == 0) {
            seen |= F_DIFF;
        } else if (option_with_value(argc, argv, &i, "--filter", &value)) {
            if (!value) return usage_error("--filter needs a GLOB", "");
            o->globs[o->nglobs++] = value;
            seen |= F_FILTER;
        } else if (option_with_value(argc, argv, &i, "--sort", &value)) {
            for (k = 0; k < 4 && (!value || strcmp(value, sort_names[k]) != 0); k++) continue;
            if (k == 4) return usage_error("--sort takes offset, name, natural or size", "");
            o->sort = (sort_key)(SORT_OFFSET + k);
            seen |= F_SORT;
        } else if (option_with_value(argc, argv, &i, "--values", &value)) {
            if (!value || (o->values = parse_count(value)) == 0) return usage_error("--values takes a count N >= 1", "");
            seen |= F_VALUES;
        } else {
            return usage_error("unknown option ", a);
        }
    }
    for (k = 0; k < sizeof conflicts / sizeof conflicts[0]; k++) {
        unsigned both = seen & conflicts[k].b;
        if ((seen & conflicts[k].a) && both) {
            char what[64];
            snprintf(what, sizeof what, "%s and %s do not go together", flag_name(conflicts[k].a),
                     flag_name(both & (0u - both)));
            return usage_error(what, "");
        }
    }
    o->json = (seen & F_JSON) != 0;
    o->tree = (seen & F_TREE) != 0;
    o->stats = (seen & F_STATS) != 0;
    o->check = (seen & F_CHECK) != 0;
    o->diff = (seen & F_DIFF) != 0;
    if (o->diff && *noperands != 2) return usage_error("--diff compares two files: --diff A B", "");
    if (*noperands == 0) return usage_error("no FILE given", "");
    if (stdin_count > 1) return usage_error("standard input (-) can be read once", "");
    if (stdin_count && (seen & (F_STATS | F_VALUES | F_DIFF)))
        return usage_error("--stats, --values and --diff read the data where it lies: ",
                           "save standard input (-) to a file first");
    return -1;
}

/* ---------------------------------------------------------------------
   main
   --------------------------------------------------------------------- */

/* One argument: its view, its refusal, or (--check, accepted) nothing.
   Returns 1 when it was refused. */
static int inspect_one(strbuf *out, const char *path, const inspect_options *o, data_reader *r, int *views)
{
    source s;
    safetensors_error err;
    tensor_list l;
    unsigned flags = o->stats || o->values ? 0u : (unsigned)SAFETENSORS_HEADER_ONLY;
    if (source_open(&s, path, flags, &err) != SAFETENSORS_OK) {
        report_refused(out, &s, &err, o->json, o->check);
        return 1;
    }
    if (!o->check) {
        select_tensors(&s.all, o, &l);
        if (o->json) {
            json_view(out, &s, &l, o, r);
        } else {
            if ((*views)++) sb_putc(out, '\n');
            text_view(out, &s, &l, o, r);
        }
        free(l.e);
    }
    source_close(&s);
    return 0;
}

int main(int argc, char **argv)
{
    inspect_options o;
    strbuf out = {0, 0, 0};
    const char **operands;
    data_reader *r = NULL;
    size_t n = 0, i;
    int rc, views = 0;

#ifdef _WIN32
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stdin), _O_BINARY);
#endif
    if (argc < 2) {
        fputs(usage_text, stdout);
        return 2;
    }
    operands = (const char **)xcalloc((size_t)argc, sizeof *operands);
    rc = parse_args(argc, argv, &o, operands, &n);
    if (rc < 0) {
        rc = 0;
        if (o.stats || o.values) r = (data_reader *)xcalloc(1, sizeof *r);
        if (o.diff) {
            rc = diff_run(&out, &o, operands[0], operands[1]);
        } else {
            for (i = 0; i < n; i++) {
                rc |= inspect_one(&out, operands[i], &o, r, &views);
                sb_flush(&out, stdout);
            }
        }
        sb_flush(&out, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) g_write_failed = 1;
        if (g_write_failed) {
            fputs("safetensors-inspect: could not write the output\n", stderr);
            rc = 1;
        }
    }
    free(r);
    free(out.p);
    free((void *)o.globs);
    free((void *)operands);
    return rc;
}
