/* test_portable.c - what only a run on each platform can check: the
   platform's own ways to a file (mmap or MapViewOfFile, read or ReadFile,
   listing a folder with readdir or FindFirstFileW), UTF-8 file names, and
   files over 4 GiB. It runs natively in make test, on i386 (make test-m32),
   big-endian s390x under qemu (make test-s390x) and Windows under wine
   (make test-windows), built against cmocka or tests/cmocka_shim. What the
   library does with the bytes once it has them is the other suites' work.

     models     the bundled checkpoints opened by path, mapped,
                READ_INTO_MEMORY, PREFETCH and HEADER_ONLY: the table
                open_memory gives, data holding the file's bytes, and a
                default open that really maps the file;
     utf8 path  a file written at run time to TMP/"tëst_模型.safetensors" (on
                Windows with _wfopen from its UTF-16 name) and opened by its
                UTF-8 path every way; once removed, opening it is
                SAFETENSORS_ERR_IO, and so is a path that is not UTF-8;
     folders    the sharded and the single-file checkpoint by their folders
                (a trailing separator, backslashes on Windows), and copies
                under non-ASCII names in TMP/shards, found only by listing
                the folder: each shard is the file it copies, each tensor
                holds that file's bytes;
     reads      every tensor of the bundled files read and sliced from a
                HEADER_ONLY handle (pread or a mapped window, ReadFile with
                an offset), against the file's bytes; BF16 <-> F16 over
                every code (the byte order of big-endian hosts);
     large4g    with --large4g FILE, the sparse file of more than 4 GiB that
                tests/sparse_4g.sh makes (the numbers here are its), read
                past 4 GiB through a HEADER_ONLY handle too.

   Usage, from the repository root:
     test_portable [--tmp DIR]      DIR (default build/tmp) and DIR/shards
                                    must exist; make empties DIR first
     test_portable --large4g FILE */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#ifdef _WIN32
#include <wchar.h>
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h> /* also when the library is a DLL and its implementation is not here */
#endif

#define GPT2_DIR "tests/models/tiny-gpt2"
#define LLAMA_DIR "tests/models/tiny-llama-bf16-sharded"
#define LLAMA_SHARDS 4
/* "tëst_模型.safetensors", "shärd-模型-k.safetensors" and
   "índex.safetensors.index.json" in UTF-8 */
#define UTF8_NAME "t\xc3\xabst_\xe6\xa8\xa1\xe5\x9e\x8b.safetensors"
#define SHARD_COPY_NAME "sh\xc3\xa4rd-\xe6\xa8\xa1\xe5\x9e\x8b-%d.safetensors"
#define INDEX_COPY_NAME "\xc3\xadndex.safetensors.index.json"

static const char *g_tmp = "build/tmp";
static const char *g_large;

/* ---------------------------------------------------------------------
   Files named in UTF-8, made and removed independently of the library
   --------------------------------------------------------------------- */

#ifdef _WIN32
/* UTF-8 to UTF-16 for the test's own names (all in the BMP). */
static void widen_utf8(const char *s, wchar_t *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned long c;
        int more;
        if (*u < 0x80) c = *u, more = 0;
        else if ((*u & 0xe0) == 0xc0) c = *u & 0x1fu, more = 1;
        else if ((*u & 0xf0) == 0xe0) c = *u & 0x0fu, more = 2;
        else fail_msg("%s: not a name this test makes", s);
        for (u++; more > 0; more--, u++) {
            if ((*u & 0xc0) != 0x80) fail_msg("%s: not UTF-8", s);
            c = (c << 6) | (*u & 0x3fu);
        }
        assert_true(n + 1 < cap);
        out[n++] = (wchar_t)c;
    }
    out[n] = 0;
}
#endif

static void write_file_utf8(const char *path, const void *bytes, size_t len)
{
    FILE *fp;
#ifdef _WIN32
    wchar_t wide[1024];
    widen_utf8(path, wide, sizeof wide / sizeof wide[0]);
    fp = _wfopen(wide, L"wb");
#else
    fp = fopen(path, "wb");
#endif
    if (fp == NULL) fail_msg("cannot create %s (does the --tmp folder exist?)", path);
    assert_int_equal(fwrite(bytes, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* 1 when the file was there and is gone. */
static int remove_file_utf8(const char *path)
{
#ifdef _WIN32
    wchar_t wide[1024];
    widen_utf8(path, wide, sizeof wide / sizeof wide[0]);
    return _wremove(wide) == 0;
#else
    return remove(path) == 0;
#endif
}

/* ---------------------------------------------------------------------
   Reference files: read with stdio, opened from memory
   --------------------------------------------------------------------- */

typedef struct ref_file {
    unsigned char *bytes;
    size_t len;
    safetensors_file *f;
} ref_file;

static ref_file ref_load(const char *path)
{
    ref_file r;
    safetensors_error err;
    r.bytes = tu_must_read(path, &r.len);
    if (safetensors_open_memory(r.bytes, r.len, NULL, &r.f, &err) != SAFETENSORS_OK)
        fail_msg("%s: %s", path, err.message);
    return r;
}

static void ref_free(ref_file *r)
{
    safetensors_close(r->f);
    free(r->bytes);
}

/* A mapping starts at a page boundary with the file's first byte, so
   data - begin - data_start is page-aligned; a copy in allocated memory
   would not be (these files have data_start % 4096 != 0). */
static int maps_whole_file(const safetensors_file *f)
{
    const safetensors_tensor *t = safetensors_tensor_at(f, 0);
    const unsigned char *base;
    if (t == NULL || t->data == NULL) return 0;
    base = (const unsigned char *)t->data - (size_t)(t->begin + safetensors_data_start(f));
    return safetensors_data_start(f) % 4096 != 0 && (uintptr_t)base % 4096 == 0;
}

/* f, opened by path with `flags`, has ref's table and each view ref's bytes. */
static void check_against_ref(const char *what, const safetensors_file *f, const ref_file *ref, uint32_t flags)
{
    char why[256];
    size_t i;
    if (tu_table_diff(f, ref->f, why, sizeof why)) fail_msg("%s: %s", what, why);
    for (i = 0; i < safetensors_tensor_count(f); i++) {
        const safetensors_tensor *t = safetensors_tensor_at(f, i);
        if (flags & SAFETENSORS_HEADER_ONLY) {
            assert_null(t->data);
            continue;
        }
        assert_non_null(t->data);
        assert_true(safetensors_data_start(f) + t->end <= ref->len);
        if (memcmp(t->data, ref->bytes + safetensors_data_start(f) + t->begin, (size_t)(t->end - t->begin)) != 0)
            fail_msg("%s: tensor \"%s\" holds other bytes than the file", what, t->name);
    }
#ifndef SAFETENSORS_NO_MMAP
    if ((flags & (SAFETENSORS_READ_INTO_MEMORY | SAFETENSORS_HEADER_ONLY)) == 0 && !maps_whole_file(f))
        fail_msg("%s: not mapped (mmap / MapViewOfFile fell back to reading)", what);
#endif
}

static const struct {
    uint32_t flags;
    const char *name;
} k_modes[] = {{0, "mapped"},
               {SAFETENSORS_READ_INTO_MEMORY, "READ_INTO_MEMORY"},
               {SAFETENSORS_PREFETCH, "PREFETCH"},
               {SAFETENSORS_HEADER_ONLY, "HEADER_ONLY"}};
#define MODE_COUNT (sizeof k_modes / sizeof k_modes[0])

/* Opens `path` every way and checks each against ref. */
static void open_every_way(const char *path, const ref_file *ref)
{
    size_t m;
    for (m = 0; m < MODE_COUNT; m++) {
        safetensors_options opt;
        safetensors_file *f = NULL;
        safetensors_error err;
        char what[600];
        memset(&opt, 0, sizeof opt);
        opt.flags = k_modes[m].flags;
        snprintf(what, sizeof what, "%s, %s", path, k_modes[m].name);
        if (safetensors_open(path, &opt, &f, &err) != SAFETENSORS_OK) fail_msg("%s: %s", what, err.message);
        check_against_ref(what, f, ref, k_modes[m].flags);
        safetensors_close(f);
    }
}

/* ---------------------------------------------------------------------
   Files by path
   --------------------------------------------------------------------- */

static void test_models_by_path(void **state)
{
    static const char *const paths[] = {
        GPT2_DIR "/model.safetensors",
        LLAMA_DIR "/model-00001-of-00004.safetensors",
        LLAMA_DIR "/model-00002-of-00004.safetensors",
        LLAMA_DIR "/model-00003-of-00004.safetensors",
        LLAMA_DIR "/model-00004-of-00004.safetensors",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ref_file ref = ref_load(paths[i]);
        open_every_way(paths[i], &ref);
        ref_free(&ref);
    }
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) fail_msg("path too long: %s/%s", dir, name);
}

static void test_utf8_path(void **state)
{
    char path[1024];
    ref_file ref = ref_load(GPT2_DIR "/model.safetensors");
    safetensors_file *f = (safetensors_file *)&ref;
    safetensors_error err;
    (void)state;
    path_in(path, sizeof path, g_tmp, UTF8_NAME);
    write_file_utf8(path, ref.bytes, ref.len);
    open_every_way(path, &ref);
    /* removed by its own name: it was this file that was opened */
    assert_true(remove_file_utf8(path));
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_ERR_IO);
    assert_null(f);
    assert_int_equal(err.code, SAFETENSORS_ERR_IO);
    assert_true(err.sys_errno != 0);
    ref_free(&ref);
}

static void test_invalid_utf8_path(void **state)
{
    char path[1024];
    safetensors_file *f = (safetensors_file *)&path;
    safetensors_error err;
    (void)state;
    path_in(path, sizeof path, g_tmp, "bad\xff\xfe.safetensors");
    assert_int_equal(safetensors_open(path, NULL, &f, &err), SAFETENSORS_ERR_IO);
    assert_null(f);
    assert_int_equal(err.code, SAFETENSORS_ERR_IO);
}

/* ---------------------------------------------------------------------
   Folders
   --------------------------------------------------------------------- */

/* The model has one shard for each of refs (in order), each the file it
   copies, and every tensor holds its shard file's bytes. */
static void check_model(const char *path, uint32_t flags, const ref_file *refs, size_t nrefs)
{
    safetensors_model *m = NULL;
    safetensors_options opt;
    safetensors_error err;
    const safetensors_file *shards[LLAMA_SHARDS];
    size_t s, i, tensors = 0;
    char what[1200];
    assert_true(nrefs <= LLAMA_SHARDS);
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    if (safetensors_model_open(path, &opt, &m, &err) != SAFETENSORS_OK) fail_msg("%s: %s", path, err.message);
    assert_int_equal(safetensors_model_shard_count(m), nrefs);
    for (s = 0; s < nrefs; s++) {
        snprintf(what, sizeof what, "%s, shard %s", path, safetensors_model_shard_name(m, s, NULL));
        if (safetensors_model_shard(m, s, &shards[s], &err) != SAFETENSORS_OK) fail_msg("%s: %s", what, err.message);
        check_against_ref(what, shards[s], &refs[s], flags);
        tensors += safetensors_tensor_count(shards[s]);
    }
    assert_int_equal(safetensors_model_tensor_count(m), tensors);
    for (i = 0; i < tensors; i++) {
        const safetensors_tensor *t = NULL, *again = NULL;
        size_t shard = 99;
        assert_int_equal(safetensors_model_tensor_at(m, i, &t, &shard, NULL), SAFETENSORS_OK);
        assert_true(shard < nrefs);
        assert_int_equal(safetensors_model_find(m, t->name, t->name_len, &again, NULL, NULL), SAFETENSORS_OK);
        assert_ptr_equal(again, t);
        assert_ptr_equal(safetensors_find(shards[shard], t->name, t->name_len), t);
    }
    safetensors_model_close(m);
}

static void load_llama(ref_file refs[LLAMA_SHARDS])
{
    int s;
    for (s = 0; s < LLAMA_SHARDS; s++) {
        char path[256];
        snprintf(path, sizeof path, LLAMA_DIR "/model-%05d-of-%05d.safetensors", s + 1, LLAMA_SHARDS);
        refs[s] = ref_load(path);
    }
}

static void test_folders(void **state)
{
    ref_file llama[LLAMA_SHARDS], gpt2 = ref_load(GPT2_DIR "/model.safetensors");
    int s;
    (void)state;
    load_llama(llama);
    check_model(LLAMA_DIR, 0, llama, LLAMA_SHARDS);
    check_model(LLAMA_DIR "/", 0, llama, LLAMA_SHARDS);
    check_model(LLAMA_DIR "/model.safetensors.index.json", SAFETENSORS_READ_INTO_MEMORY, llama, LLAMA_SHARDS);
    check_model(GPT2_DIR, 0, &gpt2, 1);
#ifdef _WIN32
    check_model("tests\\models\\tiny-llama-bf16-sharded", 0, llama, LLAMA_SHARDS);
    check_model("tests\\models\\tiny-gpt2\\", 0, &gpt2, 1);
#endif
    for (s = 0; s < LLAMA_SHARDS; s++) ref_free(&llama[s]);
    ref_free(&gpt2);
}

/* Copies under non-ASCII names in TMP/shards: a folder holding only one
   .safetensors, then the sharded checkpoint with its index renamed, so that
   both are found only by listing the folder, and the shards only through
   paths joined from the folder and the index's UTF-8 names. */
static void test_non_ascii_by_listing(void **state)
{
    ref_file llama[LLAMA_SHARDS], gpt2 = ref_load(GPT2_DIR "/model.safetensors");
    char dir[1024], path[1200], copy[128], *index;
    size_t len, i;
    int s;
    (void)state;
    path_in(dir, sizeof dir, g_tmp, "shards");
    path_in(path, sizeof path, dir, UTF8_NAME);
    write_file_utf8(path, gpt2.bytes, gpt2.len);
    check_model(dir, 0, &gpt2, 1);
    assert_true(remove_file_utf8(path));

    load_llama(llama);
    index = (char *)malloc(16384);
    assert_non_null(index);
    len = (size_t)snprintf(index, 16384, "{\"metadata\":{\"format\":\"pt\"},\"weight_map\":{");
    for (s = 0; s < LLAMA_SHARDS; s++) {
        snprintf(copy, sizeof copy, SHARD_COPY_NAME, s + 1);
        path_in(path, sizeof path, dir, copy);
        write_file_utf8(path, llama[s].bytes, llama[s].len);
        for (i = 0; i < safetensors_tensor_count(llama[s].f); i++) {
            const safetensors_tensor *t = safetensors_tensor_at(llama[s].f, i);
            assert_null(strpbrk(t->name, "\"\\"));
            len += (size_t)snprintf(index + len, 16384 - len, "%s\"%s\":\"%s\"", index[len - 1] == '{' ? "" : ",",
                                    t->name, copy);
            assert_true(len < 16000);
        }
    }
    len += (size_t)snprintf(index + len, 16384 - len, "}}");
    path_in(path, sizeof path, dir, INDEX_COPY_NAME);
    write_file_utf8(path, index, len);
    free(index);
    check_model(dir, 0, llama, LLAMA_SHARDS);
    check_model(path, SAFETENSORS_MODEL_LAZY, llama, LLAMA_SHARDS);
    assert_true(remove_file_utf8(path));
    for (s = 0; s < LLAMA_SHARDS; s++) {
        snprintf(copy, sizeof copy, SHARD_COPY_NAME, s + 1);
        path_in(path, sizeof path, dir, copy);
        assert_true(remove_file_utf8(path));
        ref_free(&llama[s]);
    }
    ref_free(&gpt2);
}

/* ---------------------------------------------------------------------
   The > 4 GiB sparse file (tests/sparse_4g.sh makes it)
   --------------------------------------------------------------------- */

/* Must agree with tests/sparse_4g.sh. */
#define BIG_A_END 4294967301ull /* "a": U8 [4294967301], [0, A_END) */
#define BIG_B_END 5368709125ull /* "b": U8 [2, 536870912], [A_END, B_END) */

/* size_t can hold the whole file: then it must be mapped. */
#define BIG_FITS ((uint64_t)(size_t)-1 > BIG_B_END + 8 + 4096)

static uint64_t big_header_size(void)
{
    unsigned char head[8];
    FILE *fp = fopen(g_large, "rb");
    if (fp == NULL) fail_msg("cannot open %s", g_large);
    assert_int_equal(fread(head, 1, 8, fp), 8);
    fclose(fp);
    return tu_get_le64(head);
}

static void check_big_table(const safetensors_file *f, int header_only)
{
    const safetensors_tensor *a = safetensors_tensor_at(f, 0), *b = safetensors_tensor_at(f, 1);
    uint64_t n = big_header_size();
    assert_int_equal(safetensors_header_size(f), n);
    assert_int_equal(safetensors_data_start(f), 8 + n);
    assert_int_equal(safetensors_data_size(f), BIG_B_END);
    assert_int_equal(safetensors_tensor_count(f), 2);
    assert_true(a->name_len == 1 && a->name[0] == 'a' && a->dtype == SAFETENSORS_U8 && a->ndim == 1);
    assert_true(a->shape[0] == BIG_A_END && a->begin == 0 && a->end == BIG_A_END);
    assert_true(b->name_len == 1 && b->name[0] == 'b' && b->dtype == SAFETENSORS_U8 && b->ndim == 2);
    assert_true(b->shape[0] == 2 && b->shape[1] == 536870912u && b->begin == BIG_A_END && b->end == BIG_B_END);
    assert_int_equal(safetensors_tensor_element_count(a), BIG_A_END);
    assert_int_equal(safetensors_tensor_byte_size(b), BIG_B_END - BIG_A_END);
    if (header_only) assert_true(a->data == NULL && b->data == NULL);
}

static void test_large4g_header_only(void **state)
{
    safetensors_options opt;
    safetensors_file *f = NULL;
    safetensors_error err;
    (void)state;
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_HEADER_ONLY;
    if (safetensors_open(g_large, &opt, &f, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
    check_big_table(f, 1);
    {
        /* reads past 4 GiB through the file the handle kept: 64-bit
           offsets on 32-bit hosts too; the markers tests/sparse_4g.sh wrote */
        const safetensors_tensor *a = safetensors_tensor_at(f, 0), *b = safetensors_tensor_at(f, 1);
        unsigned char c[2] = {0, 0};
        uint64_t lo[2] = {1, 536870910}, hi[2] = {2, 536870912};
        if (safetensors_read_tensor_range(f, a, BIG_A_END - 1, c, 1, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
        assert_int_equal(c[0], 'B');
        if (safetensors_read_tensor_range(f, b, 0, c, 1, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
        assert_int_equal(c[0], 'C');
        if (safetensors_read_slice(f, b, lo, hi, c, 2, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
        assert_true(c[0] == 0 && c[1] == 'D');
    }
    safetensors_close(f);
}

static void test_large4g_parser(void **state)
{
    uint64_t n = big_header_size();
    unsigned char *head;
    size_t len, used = 0;
    safetensors_parser *p = NULL;
    safetensors_file *f = NULL;
    safetensors_error err;
    FILE *fp;
    int done = 0;
    (void)state;
    assert_true(n < 1000000);
    len = (size_t)n + 8;
    head = (unsigned char *)malloc(len);
    assert_non_null(head);
    fp = fopen(g_large, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(head, 1, len, fp), len);
    fclose(fp);
    assert_int_equal(safetensors_parser_create(NULL, &p, &err), SAFETENSORS_OK);
    assert_int_equal(safetensors_parser_feed(p, head, len, &used, &done, &err), SAFETENSORS_OK);
    assert_true(done && used == len);
    if (safetensors_parser_finish(p, BIG_B_END, &f, &err) != SAFETENSORS_OK) fail_msg("finish: %s", err.message);
    check_big_table(f, 1);
    safetensors_close(f);
    safetensors_parser_destroy(p);
    free(head);
}

/* Mapped where size_t can hold it (only the pages of the markers that
   tests/sparse_4g.sh wrote are touched); else SAFETENSORS_ERR_TOO_LARGE,
   read into memory too. */
static void test_large4g_open(void **state)
{
    safetensors_options opt;
    safetensors_file *f = (safetensors_file *)&f;
    safetensors_error err;
    safetensors_result r = safetensors_open(g_large, NULL, &f, &err);
    (void)state;
    print_message("large4g: %d-bit size_t, the default open must %s\n", (int)(sizeof(size_t) * 8),
                  BIG_FITS ? "map the file" : "give SAFETENSORS_ERR_TOO_LARGE");
    if (BIG_FITS) {
        const unsigned char *pa, *pb;
        if (r != SAFETENSORS_OK) fail_msg("%s: %s", safetensors_result_name(r), err.message);
        check_big_table(f, 0);
        pa = (const unsigned char *)safetensors_tensor_at(f, 0)->data;
        pb = (const unsigned char *)safetensors_tensor_at(f, 1)->data;
        assert_true(pa != NULL && pb == pa + (size_t)BIG_A_END);
        assert_true(pa[0] == 'A' && pa[1] == 0 && pa[(size_t)(BIG_A_END - 1)] == 'B');
        assert_true(pb[0] == 'C' && pb[(size_t)(BIG_B_END - BIG_A_END - 1)] == 'D');
        safetensors_close(f);
        return;
    }
    assert_int_equal(r, SAFETENSORS_ERR_TOO_LARGE);
    assert_int_equal(err.code, r);
    assert_null(f);
    memset(&opt, 0, sizeof opt);
    opt.flags = SAFETENSORS_READ_INTO_MEMORY;
    f = (safetensors_file *)&f;
    assert_int_equal(safetensors_open(g_large, &opt, &f, &err), SAFETENSORS_ERR_TOO_LARGE);
    assert_null(f);
}

/* ---------------------------------------------------------------------
   The OS layer: I/O messages, the writer's temporary file, shard names
   --------------------------------------------------------------------- */

/* 1 when the message is one line that ends inside its buffer and, on
   Windows, UTF-8 by the system's own strict decoder (the cmocka suites
   check the bytes with their own validator everywhere). */
static int message_ok(const safetensors_error *e)
{
    const char *end = (const char *)memchr(e->message, '\0', sizeof e->message);
    const char *c;
    if (end == NULL) return 0;
    for (c = e->message; c < end; c++)
        if ((unsigned char)*c < 0x20) return 0;
#ifdef _WIN32
    return end == e->message ||
           MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, e->message, (int)(end - e->message), NULL, 0) > 0;
#else
    return 1;
#endif
}

/* "missing-模型ää模型ää...模型.safetensors", not there. */
#define MISSING_NAME "missing-\xe6\xa8\xa1\xe5\x9e\x8b\xc3\xa4\xc3\xa4\xe6\xa8\xa1\xe5\x9e\x8b\xc3\xa4\xc3\xa4" \
                     "\xe6\xa8\xa1\xe5\x9e\x8b\xc3\xa4\xc3\xa4\xe6\xa8\xa1\xe5\x9e\x8b\xc3\xa4\xc3\xa4"     \
                     "\xe6\xa8\xa1\xe5\x9e\x8b\xc3\xa4\xc3\xa4\xe6\xa8\xa1\xe5\x9e\x8b.safetensors"

static void test_io_messages(void **state)
{
    char path[1024];
    safetensors_file *f = NULL;
    safetensors_error e;
    (void)state;
    path_in(path, sizeof path, g_tmp, MISSING_NAME);
    (void)remove_file_utf8(path);
    assert_int_equal(safetensors_open(path, NULL, &f, &e), SAFETENSORS_ERR_IO);
    if (!message_ok(&e)) fail_msg("not one line of UTF-8: %s", e.message);
    if (strncmp(e.message, "cannot open \"", 13) != 0 || strstr(e.message, ".safetensors\"") == NULL)
        fail_msg("the message does not name the path: %s", e.message);
#ifdef _WIN32
    /* FormatMessageW's words, as UTF-8, then the number */
    if (e.sys_errno != ERROR_FILE_NOT_FOUND || strstr(e.message, ".safetensors\": ") == NULL ||
        strstr(e.message, " (Windows error 2)") == NULL)
        fail_msg("sys_errno %d, message: %s", e.sys_errno, e.message);
#else
    if (e.sys_errno == 0 || strstr(e.message, "(errno ") == NULL)
        fail_msg("sys_errno %d, message: %s", e.sys_errno, e.message);
#endif
    path_in(path, sizeof path, g_tmp, "bad\xff\xfe\x01.safetensors");
    assert_int_equal(safetensors_open(path, NULL, &f, &e), SAFETENSORS_ERR_IO);
    if (!message_ok(&e) || strstr(e.message, "bad\\xff\\xfe\\x01.safetensors\"") == NULL)
        fail_msg("message: %s", e.message);
}

/* The file sink: on Windows nobody may open the temporary file while it is
   written; the file then replaces the old one (MoveFileExW). */
static void test_writer_file(void **state)
{
    static const uint64_t four = 4;
    char path[1024];
    int round;
    (void)state;
    path_in(path, sizeof path, g_tmp, "wr\xc3\xafte.safetensors");
    (void)remove_file_utf8(path);
    for (round = 0; round < 2; round++) {
        safetensors_writer *w = NULL;
        safetensors_error e;
        unsigned char bytes[4];
        safetensors_file *f = NULL;
        const safetensors_tensor *t;
        memset(bytes, 'a' + round, sizeof bytes);
        if (safetensors_writer_create(NULL, &w, &e) != SAFETENSORS_OK ||
            safetensors_writer_add_tensor(w, "t", 1, SAFETENSORS_U8, 1, &four, &e) != SAFETENSORS_OK ||
            safetensors_writer_begin_file(w, path, &e) != SAFETENSORS_OK) {
            safetensors_writer_destroy(w);
            fail_msg("begin_file: %s", e.message);
        }
#ifdef _WIN32
        {
            wchar_t pattern[1100], found[1100];
            WIN32_FIND_DATAW entry;
            HANDLE search;
            FILE *fp;
            char with_tmp[1100];
            snprintf(with_tmp, sizeof with_tmp, "%s.tmp-*", path);
            widen_utf8(with_tmp, pattern, 1100);
            search = FindFirstFileW(pattern, &entry);
            if (search == INVALID_HANDLE_VALUE) fail_msg("no temporary file next to %s", path);
            FindClose(search);
            snprintf(with_tmp, sizeof with_tmp, "%s/", g_tmp);
            widen_utf8(with_tmp, found, 1100);
            wcscat(found, entry.cFileName);
            fp = _wfopen(found, L"rb");
            if (fp) fclose(fp);
            if (fp) fail_msg("the temporary file could be opened for reading while written");
        }
#endif
        assert_int_equal(safetensors_writer_write_tensor(w, 0, bytes, 4, &e), SAFETENSORS_OK);
        assert_int_equal(safetensors_writer_finish(w, &e), SAFETENSORS_OK);
        safetensors_writer_destroy(w);
        if (safetensors_open(path, NULL, &f, &e) != SAFETENSORS_OK) fail_msg("reading back %s: %s", path, e.message);
        t = safetensors_find(f, "t", 1);
        assert_non_null(t);
        assert_memory_equal(t->data, bytes, 4);
        safetensors_close(f);
    }
    assert_true(remove_file_utf8(path));
}

/* Shards that Windows would not open as files: a device name (refused on
   every OS) and, on Windows, a folder. */
#define DEVICE_INDEX "{\"weight_map\":{\"t\":\"NUL.safetensors\"}}"
#define FOLDER_INDEX "{\"weight_map\":{\"t\":\"f\xc3\xb6lder.safetensors\"}}"
static void test_shard_kinds(void **state)
{
    char index[1024];
    safetensors_model *m = NULL;
    safetensors_error e;
    safetensors_result r;
    (void)state;
    path_in(index, sizeof index, g_tmp, "devices.safetensors.index.json");
    write_file_utf8(index, DEVICE_INDEX, strlen(DEVICE_INDEX));
    r = safetensors_model_open(index, NULL, &m, &e);
    if (r == SAFETENSORS_OK) safetensors_model_close(m);
    if (r != SAFETENSORS_ERR_SCHEMA || !message_ok(&e)) fail_msg("%s: %s", safetensors_result_name(r), e.message);
    assert_true(remove_file_utf8(index));
#ifdef _WIN32
    {
        char folder[1024];
        wchar_t wide[1024];
        path_in(folder, sizeof folder, g_tmp, "f\xc3\xb6lder.safetensors");
        path_in(index, sizeof index, g_tmp, "folder.safetensors.index.json");
        widen_utf8(folder, wide, 1024);
        assert_true(CreateDirectoryW(wide, NULL));
        write_file_utf8(index, FOLDER_INDEX, strlen(FOLDER_INDEX));
        r = safetensors_model_open(index, NULL, &m, &e);
        if (r == SAFETENSORS_OK) safetensors_model_close(m);
        (void)remove_file_utf8(index);
        RemoveDirectoryW(wide);
        if (r != SAFETENSORS_ERR_IO || !message_ok(&e) || !strstr(e.message, "a folder, not a regular file"))
            fail_msg("%s: %s", safetensors_result_name(r), e.message);
    }
#endif
}

/* ---------------------------------------------------------------------
   Reads into caller buffers, slices and BF16 <-> F16: the byte order,
   file offsets and OS calls they rest on (pread, or a mapped window where
   strict C99 hides pread; ReadFile with an OVERLAPPED offset on Windows)
   --------------------------------------------------------------------- */

/* The box [start, stop) of a tensor whose elements are `size` bytes,
   element by element, from the file's bytes. */
static void slice_by_elements(const unsigned char *src, size_t size, const safetensors_tensor *t,
                              const uint64_t *start, const uint64_t *stop, unsigned char *out)
{
    uint64_t total = 1, idx;
    size_t d;
    for (d = 0; d < t->ndim; d++) total *= stop[d] - start[d];
    for (idx = 0; idx < total; idx++) {
        uint64_t rest = idx, lin = 0, stride = 1;
        for (d = t->ndim; d-- > 0;) {
            uint64_t extent = stop[d] - start[d];
            lin += (start[d] + rest % extent) * stride;
            rest /= extent;
            stride *= t->shape[d];
        }
        memcpy(out + idx * size, src + lin * size, size);
    }
}

/* Every tensor of the bundled files read whole and sliced at random from
   a HEADER_ONLY handle, against the bytes read with stdio. */
static void test_reads_and_slices(void **state)
{
    static const char *const paths[] = {GPT2_DIR "/model.safetensors", LLAMA_DIR "/model-00001-of-00004.safetensors",
                                        LLAMA_DIR "/model-00004-of-00004.safetensors"};
    uint64_t rng = 7;
    size_t p, k;
    (void)state;
    for (p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        ref_file ref = ref_load(paths[p]);
        safetensors_options opt;
        safetensors_file *f = NULL;
        safetensors_error err;
        uint64_t start;
        memset(&opt, 0, sizeof opt);
        opt.flags = SAFETENSORS_HEADER_ONLY;
        if (safetensors_open(paths[p], &opt, &f, &err) != SAFETENSORS_OK) fail_msg("%s: %s", paths[p], err.message);
        start = safetensors_data_start(f);
        for (k = 0; k < safetensors_tensor_count(f); k++) {
            const safetensors_tensor *t = safetensors_tensor_at(f, k);
            size_t n = (size_t)(t->end - t->begin), size = safetensors_dtype_bits(t->dtype) / 8, d;
            unsigned char *got = (unsigned char *)malloc(n + 1), *want = (unsigned char *)malloc(n + 1);
            uint64_t lo[8], hi[8], count;
            int trial;
            assert_true(got && want && t->ndim <= 8);
            if (safetensors_read_tensor(f, t, got, n, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
            if (memcmp(got, ref.bytes + start + t->begin, n) != 0) fail_msg("%s: \"%s\" differs", paths[p], t->name);
            for (trial = 0; trial < 8; trial++) {
                for (d = 0, count = 1; d < t->ndim; d++) {
                    lo[d] = tu_xorshift64(&rng) % (t->shape[d] + 1);
                    hi[d] = lo[d] + tu_xorshift64(&rng) % (t->shape[d] - lo[d] + 1);
                    count *= hi[d] - lo[d];
                }
                slice_by_elements(ref.bytes + start + t->begin, size, t, lo, hi, want);
                if (safetensors_read_slice(f, t, lo, hi, got, n, &err) != SAFETENSORS_OK) fail_msg("%s", err.message);
                if (memcmp(got, want, (size_t)count * size) != 0) fail_msg("%s: a slice of \"%s\" differs", paths[p], t->name);
            }
            free(got);
            free(want);
        }
        safetensors_close(f);
        ref_free(&ref);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest paths[] = {
        cmocka_unit_test(test_models_by_path),
        cmocka_unit_test(test_utf8_path),
        cmocka_unit_test(test_invalid_utf8_path),
        cmocka_unit_test(test_folders),
        cmocka_unit_test(test_non_ascii_by_listing),
        cmocka_unit_test(test_io_messages),
        cmocka_unit_test(test_writer_file),
        cmocka_unit_test(test_shard_kinds),
        cmocka_unit_test(test_reads_and_slices),
    };
    const struct CMUnitTest large[] = {
        cmocka_unit_test(test_large4g_header_only),
        cmocka_unit_test(test_large4g_parser),
        cmocka_unit_test(test_large4g_open),
    };
    int a;
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--tmp") == 0 && a + 1 < argc) g_tmp = argv[++a];
        else if (strcmp(argv[a], "--large4g") == 0 && a + 1 < argc) g_large = argv[++a];
        else {
            fprintf(stderr, "usage: %s [--tmp DIR] | --large4g FILE\n", argv[0]);
            return 2;
        }
    }
    if (g_large) return cmocka_run_group_tests(large, NULL, NULL);
    return cmocka_run_group_tests(paths, NULL, NULL);
}
