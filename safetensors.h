/* safetensors.h - v0.1.0 - read safetensors model-weight files in C99, libc only.
   MIT or public domain (Unlicense), your choice: see the end of this file.

   DO THIS in exactly one C or C++ file, before you include this header:

       #define SAFETENSORS_IMPLEMENTATION
       #include "safetensors.h"

   Every other file includes it without the define and sees only the API.

   ======================================================================
   WHAT IT DOES
   ======================================================================
   A safetensors file is an 8-byte little-endian length N, N bytes of JSON
   describing each tensor (dtype, shape, byte range), then the raw tensor
   bytes. This library:

     - parses the JSON header with a streaming state machine: bytes may
       arrive in chunks of any size, and no raw copy of the header and no
       DOM is kept, only the decoded tensor table;
     - validates the table as the reference implementation (the Rust
       `safetensors` crate, 0.8) does, so a file opened here is one the
       reference accepts, with the differences listed under CONFORMANCE;
     - maps the file (mmap, or MapViewOfFile on Windows) and hands out
       zero-copy views: each tensor's `data` points into the mapping.

   Validation is part of opening. There is no way to get a tensor that was
   not checked: its dtype is known, its byte range matches dtype x shape,
   and the ranges tile the data section exactly.

   ======================================================================
   QUICK START
   ======================================================================
       safetensors_file *f;
       safetensors_error err;
       if (safetensors_open("model.safetensors", NULL, &f, &err) != SAFETENSORS_OK) {
           fprintf(stderr, "%s (byte %llu)\n", err.message,
                   (unsigned long long)err.offset);
           return 1;
       }
       for (size_t i = 0; i < safetensors_tensor_count(f); i++) {
           const safetensors_tensor *t = safetensors_tensor_at(f, i);
           printf("%.*s %s %llu bytes\n", (int)t->name_len, t->name,
                  safetensors_dtype_name(t->dtype),
                  (unsigned long long)(t->end - t->begin));
       }
       const safetensors_tensor *w = safetensors_find(f, "lm_head.weight", 14);
       if (w && w->dtype == SAFETENSORS_F32) use((const float *)w->data);
       safetensors_close(f);       // every view above is gone after this

   ======================================================================
   REFERENCE (ownership and lifetimes)
   ======================================================================
   safetensors_open(path, opt, &f, &err)
       Opens, validates and maps a file. On success you own *f and must call
       safetensors_close(f). On failure *f is NULL and nothing is left open.
   safetensors_open_memory(bytes, len, opt, &f, &err)
       The same over bytes you hold. Copies nothing: `bytes` must outlive f.
   safetensors_close(f)
       Frees everything f owns and unmaps the file. NULL is a no-op.
   safetensors_tensor_count / _tensor_at / _find
       Views owned by f, valid until safetensors_close(f).
   safetensors_metadata_count / _metadata_at / _metadata_find
       The `__metadata__` strings, in file order, owned by f.
   safetensors_parser_create / _feed / _finish / _destroy
       The streaming parser behind every open. _finish gives you a file
       handle (without data pointers) that you own; _destroy frees the
       parser, and is needed whether or not _finish succeeded.

   THREADS: there is no global or static mutable state. A safetensors_file is
   immutable once open, so any number of threads may read one at the same
   time. A parser belongs to one thread at a time.

   NULL: `opt` may be NULL (defaults), and a zeroed safetensors_options also
   means the defaults. `err` may be NULL. Accessors given a NULL file return
   0 or NULL. Passing NULL where an out-pointer is required gives
   SAFETENSORS_ERR_ARGUMENT.

   ERRORS: every function that can fail returns a safetensors_result, with
   SAFETENSORS_OK == 0. When `err` is given it receives the code, the byte
   offset in the file where the fault was seen, errno for I/O failures, and
   one line naming the tensor, if there is one, and what is wrong with it:
       tensor "w": data_offsets [0, 96] hold 96 bytes but F32 [4, 5] needs 80
   The offset is an absolute position in the file (the 8 length bytes count):
     HEADER_TOO_SMALL  the number of bytes there were (0..7)
     HEADER_TOO_LARGE  0, where the length is
     HEADER_LENGTH     where the file ended, short of 8 + N
     UTF8, JSON        the first byte that cannot be accepted; a header that
                       ends inside the JSON value reports 8 + N
     SCHEMA, DTYPE     the first byte of the offending value; for a missing
                       field, the `}` that closes the entry
     DUPLICATE         the opening quote of the second occurrence
     OFFSETS, OVERFLOW, MISALIGNED, SIZE
                       the opening quote of the tensor's name
     COVERAGE          8 + N + min(last end, data size): where the data
                       section should end or where the file does end

   ======================================================================
   CONFORMANCE
   ======================================================================
   Accepted: exactly what the reference accepts, in its order of checks:
     1. at least 8 bytes; N <= max_header_size (default 100,000,000);
        8 + N within the file;
     2. the header is UTF-8 and one strict RFC 8259 JSON value, optionally
        surrounded by space, tab, LF or CR; nesting at most 127 deep; a
        number that overflows a double is refused even in an ignored field;
        lone surrogate escapes and raw control characters are refused;
     3. the top level is an object; `__metadata__` is absent, null or an
        object of strings; every other key names a tensor object with
        `dtype` (a known name), `shape` (non-negative integers < 2^64) and
        `data_offsets` (exactly two such integers); unknown fields are
        ignored, a repeated field is an error; keys compare after their
        escapes are decoded;
     4. sorted by (begin, end), the tensors tile [0, data length) with no
        hole, overlap or trailing byte; each holds exactly
        product(shape) x bits(dtype) / 8 bytes, computed left to right with
        overflow checks, and sub-byte tensors must end on a byte boundary.
   Deliberately refused although the reference accepts them:
     - a repeated tensor name or metadata key (after escape decoding). The
       reference silently keeps the last one; two parsers that disagree on
       which one wins is a known way to smuggle weights past a review.
     - a tensor entry written as a JSON array, or a dtype written as an
       object ({"F32": null}). The reference's serde derive accepts these
       by accident; no writer produces them.
   Shapes and offsets are read as 64-bit on every host, so a 32-bit build
   accepts the same files as a 64-bit one (the reference uses usize).

   ======================================================================
   LIMITS
   ======================================================================
   - Header: max_header_size bytes (default 100,000,000, the reference's).
   - Memory: proportional to the header bytes read (decoded names, shapes,
     the table and its hash index); never sized by a number the file
     declares. The data section is mapped, not copied, unless you ask.
   - A file larger than the address space (a 32-bit host) cannot be mapped:
     open gives SAFETENSORS_ERR_TOO_LARGE; SAFETENSORS_HEADER_ONLY and the
     streaming parser still work on it.
   - A mapped file that another process truncates raises SIGBUS on POSIX
     when a view past the new end is touched. For files on shared or
     network storage that may change, use SAFETENSORS_READ_INTO_MEMORY.

   ======================================================================
   BUILD OPTIONS (define before including the implementation)
   ======================================================================
   SAFETENSORS_IMPLEMENTATION   compile the implementation into this file
   SAFETENSORS_STATIC           make every function static to this file
   SAFETENSORS_NO_MMAP          never map: files are read into memory
   SAFETENSORS_NO_STDIO         no file-system access at all (no open, read,
                                mmap): safetensors_open is not declared; use
                                safetensors_open_memory or the parser
   SAFETENSORS_MALLOC(sz) / SAFETENSORS_REALLOC(p, sz) / SAFETENSORS_FREE(p)
                                the default allocator; define all three or
                                none (the run-time allocator in the options
                                takes precedence over them)
*/
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SAFETENSORS_VERSION_MAJOR 0
#define SAFETENSORS_VERSION_MINOR 1
#define SAFETENSORS_VERSION_PATCH 0

#ifndef SAFETENSORS_API
#ifdef SAFETENSORS_STATIC
#define SAFETENSORS_API static
#else
#define SAFETENSORS_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
   Types
   --------------------------------------------------------------------- */

/* Element types, in the reference's order. */
typedef enum safetensors_dtype {
    SAFETENSORS_BOOL, SAFETENSORS_U8, SAFETENSORS_I8, SAFETENSORS_F8_E5M2, SAFETENSORS_F8_E4M3,
    SAFETENSORS_F8_E8M0, SAFETENSORS_F8_E4M3FNUZ, SAFETENSORS_F8_E5M2FNUZ,
    SAFETENSORS_I16, SAFETENSORS_U16, SAFETENSORS_F16, SAFETENSORS_BF16,
    SAFETENSORS_I32, SAFETENSORS_U32, SAFETENSORS_F32, SAFETENSORS_F64,
    SAFETENSORS_I64, SAFETENSORS_U64, SAFETENSORS_C64,
    SAFETENSORS_F4, SAFETENSORS_F6_E2M3, SAFETENSORS_F6_E3M2,
    SAFETENSORS_DTYPE_COUNT
} safetensors_dtype;

/* One code per class of failure. SAFETENSORS_OK is 0. */
typedef enum safetensors_result {
    SAFETENSORS_OK = 0,
    SAFETENSORS_ERR_IO,                /* open/read/map failed; sys_errno says why */
    SAFETENSORS_ERR_NOMEM,             /* an allocation failed */
    SAFETENSORS_ERR_ARGUMENT,          /* a required pointer was NULL, or a call out of order */
    SAFETENSORS_ERR_HEADER_TOO_SMALL,  /* fewer than the 8 length bytes */
    SAFETENSORS_ERR_HEADER_TOO_LARGE,  /* N above max_header_size */
    SAFETENSORS_ERR_HEADER_LENGTH,     /* 8 + N runs past the end of the file */
    SAFETENSORS_ERR_UTF8,              /* the header is not valid UTF-8 */
    SAFETENSORS_ERR_JSON,              /* not one strict JSON value (syntax, depth, number range, surrogates) */
    SAFETENSORS_ERR_SCHEMA,            /* valid JSON of the wrong shape: wrong type, missing field */
    SAFETENSORS_ERR_DTYPE,             /* unknown dtype name */
    SAFETENSORS_ERR_DUPLICATE,         /* a tensor name, metadata key or entry field appears twice */
    SAFETENSORS_ERR_OFFSETS,           /* byte ranges leave a hole, overlap, or end before they begin */
    SAFETENSORS_ERR_OVERFLOW,          /* product(shape) x bits does not fit in 64 bits */
    SAFETENSORS_ERR_MISALIGNED,        /* a sub-byte tensor does not end on a byte boundary */
    SAFETENSORS_ERR_SIZE,              /* a byte range does not match dtype x shape */
    SAFETENSORS_ERR_COVERAGE,          /* the tensors do not cover the data section exactly */
    SAFETENSORS_ERR_NOT_FOUND,         /* a name that was asked for is not in the file */
    SAFETENSORS_ERR_TOO_LARGE,         /* the file does not fit in this host's address space */
    SAFETENSORS_RESULT_COUNT
} safetensors_result;

typedef struct safetensors_error {
    safetensors_result code;
    uint64_t offset;        /* byte position in the file where the fault was seen */
    int sys_errno;          /* for SAFETENSORS_ERR_IO, else 0 */
    char message[192];      /* one line a person can act on; names the tensor when there is one */
} safetensors_error;

/* A view of one tensor: valid until safetensors_close. */
typedef struct safetensors_tensor {
    const char *name;       /* decoded UTF-8, NUL-terminated, and may itself contain NUL */
    size_t name_len;        /* the truth about the name's length */
    safetensors_dtype dtype;
    size_t ndim;
    const uint64_t *shape;  /* ndim entries; a scalar has ndim 0 */
    uint64_t begin, end;    /* byte offsets into the data section */
    const void *data;       /* begin's address in memory; NULL when only the header was parsed */
} safetensors_tensor;

/* One `__metadata__` entry: both strings decoded, NUL-terminated, owned by the file. */
typedef struct safetensors_metadata_entry {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} safetensors_metadata_entry;

typedef struct safetensors_file safetensors_file;       /* opaque; immutable once open */
typedef struct safetensors_parser safetensors_parser;   /* opaque; one thread at a time */

/* A run-time allocator. All three functions NULL means the default
   (SAFETENSORS_MALLOC/REALLOC/FREE, or malloc/realloc/free). Sizes are passed
   back so that arena and pool allocators need no bookkeeping. `realloc` may be
   NULL, and then alloc + copy + free is used. */
typedef struct safetensors_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} safetensors_allocator;

/* Flags for safetensors_options.flags. */
enum {
    /* Read the data section into memory owned by the file instead of mapping
       it. Safe against other processes truncating the file. */
    SAFETENSORS_READ_INTO_MEMORY = 1u << 0,
    /* Parse and validate the header only. Every `data` is NULL; coverage is
       still checked against the file's size. Works for files larger than the
       address space. */
    SAFETENSORS_HEADER_ONLY = 1u << 1,
    /* Ask the OS to start reading the mapped data now (madvise WILLNEED).
       A hint: ignored where it is not supported. */
    SAFETENSORS_PREFETCH = 1u << 2
};

/* Zeroed means the defaults. */
typedef struct safetensors_options {
    safetensors_allocator allocator;
    uint64_t max_header_size;   /* 0 means 100,000,000, the reference's limit */
    unsigned flags;             /* SAFETENSORS_READ_INTO_MEMORY | _HEADER_ONLY | _PREFETCH */
} safetensors_options;

#define SAFETENSORS_DEFAULT_MAX_HEADER_SIZE 100000000u
/* For safetensors_parser_finish when the data size is not known. */
#define SAFETENSORS_SIZE_UNKNOWN UINT64_MAX

/* ---------------------------------------------------------------------
   Opening and closing
   --------------------------------------------------------------------- */

#ifndef SAFETENSORS_NO_STDIO
/* Opens `path` (UTF-8, also on Windows), validates it and maps it. Files that
   cannot be mapped (pipes, character devices) are read into memory instead.
   On failure *out is NULL. */
SAFETENSORS_API safetensors_result safetensors_open(const char *path, const safetensors_options *opt,
                                                    safetensors_file **out, safetensors_error *err);
#endif

/* Parses `len` bytes of a whole file held by the caller. Copies nothing: the
   views point into `bytes`, which must stay alive and unchanged until
   safetensors_close. With SAFETENSORS_HEADER_ONLY the views' data is NULL.
   SAFETENSORS_READ_INTO_MEMORY is ignored here. */
SAFETENSORS_API safetensors_result safetensors_open_memory(const void *bytes, size_t len,
                                                           const safetensors_options *opt,
                                                           safetensors_file **out, safetensors_error *err);

/* Frees the table, unmaps or frees the data. Every view from f is invalid
   afterwards. NULL is a no-op. */
SAFETENSORS_API void safetensors_close(safetensors_file *f);

/* ---------------------------------------------------------------------
   Tensors
   --------------------------------------------------------------------- */

SAFETENSORS_API size_t safetensors_tensor_count(const safetensors_file *f);
/* i-th tensor in ascending `begin`, ties broken by name bytes; NULL when
   i >= count. */
SAFETENSORS_API const safetensors_tensor *safetensors_tensor_at(const safetensors_file *f, size_t i);
/* O(1) on average through a hash index built at open. `name` need not be
   NUL-terminated and may contain NUL. NULL if absent. */
SAFETENSORS_API const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name,
                                                          size_t name_len);
/* Product of the dims (1 for a scalar). Cannot overflow: checked at open. */
SAFETENSORS_API uint64_t safetensors_tensor_element_count(const safetensors_tensor *t);
/* end - begin. */
SAFETENSORS_API uint64_t safetensors_tensor_byte_size(const safetensors_tensor *t);

/* ---------------------------------------------------------------------
   Metadata (`__metadata__`), in file order
   --------------------------------------------------------------------- */

SAFETENSORS_API size_t safetensors_metadata_count(const safetensors_file *f);
SAFETENSORS_API const safetensors_metadata_entry *safetensors_metadata_at(const safetensors_file *f, size_t i);
/* NULL if absent. */
SAFETENSORS_API const safetensors_metadata_entry *safetensors_metadata_find(const safetensors_file *f,
                                                                            const char *key, size_t key_len);

/* ---------------------------------------------------------------------
   File layout
   --------------------------------------------------------------------- */

/* N, the JSON header's length in bytes. */
SAFETENSORS_API uint64_t safetensors_header_size(const safetensors_file *f);
/* 8 + N: where the data section starts in the file. A tensor's bytes are at
   file offsets [data_start + begin, data_start + end), for pread, O_DIRECT
   or GPU direct storage. */
SAFETENSORS_API uint64_t safetensors_data_start(const safetensors_file *f);
/* Length of the data section: the last tensor's end (0 with no tensors). */
SAFETENSORS_API uint64_t safetensors_data_size(const safetensors_file *f);

/* ---------------------------------------------------------------------
   Streaming parser
   ---------------------------------------------------------------------
   Feed the file's bytes from its first byte, in chunks of any size. The
   result (the table, or the error code and offset) is the same for every
   way of splitting the same bytes. Memory is the decoded table plus a
   bounded amount of state: the raw header is never kept.

       safetensors_parser *p;
       safetensors_parser_create(NULL, &p, &err);
       int done = 0;
       while (!done && (n = read(fd, buf, sizeof buf)) > 0) {
           size_t used;
           if (safetensors_parser_feed(p, buf, n, &used, &done, &err)) break;
           // once done, buf[used..n) is the start of the data section
       }
       safetensors_parser_finish(p, data_size_or_SAFETENSORS_SIZE_UNKNOWN, &f, &err);
       safetensors_parser_destroy(p);
*/
SAFETENSORS_API safetensors_result safetensors_parser_create(const safetensors_options *opt,
                                                             safetensors_parser **out, safetensors_error *err);
/* Consumes bytes up to the end of the header. *consumed (may be NULL) is how
   many of `bytes` belonged to the length prefix and header; *done (may be
   NULL) becomes 1 once the whole header has been read. After done, further
   calls consume nothing. An error is sticky: later calls return it again. */
SAFETENSORS_API safetensors_result safetensors_parser_feed(safetensors_parser *p, const void *bytes, size_t len,
                                                           size_t *consumed, int *done, safetensors_error *err);
/* Validates the table (offsets, sizes, coverage of `data_size` bytes after
   the header; SAFETENSORS_SIZE_UNKNOWN skips only the coverage check) and
   hands it over as a file whose views have data == NULL. Called before the
   header is complete it reports the truncation. After _finish, only
   _destroy may be called on p. */
SAFETENSORS_API safetensors_result safetensors_parser_finish(safetensors_parser *p, uint64_t data_size,
                                                             safetensors_file **out, safetensors_error *err);
/* NULL is a no-op. */
SAFETENSORS_API void safetensors_parser_destroy(safetensors_parser *p);

/* ---------------------------------------------------------------------
   dtype and result helpers
   --------------------------------------------------------------------- */

/* "F32", "BF16", ...; NULL for a value outside the enum. */
SAFETENSORS_API const char *safetensors_dtype_name(safetensors_dtype d);
/* Bits per element (4 for F4, 6 for the F6 types); 0 outside the enum. */
SAFETENSORS_API unsigned safetensors_dtype_bits(safetensors_dtype d);
/* Exact, case-sensitive match of the reference's names. `name` need not be
   NUL-terminated. SAFETENSORS_OK and *out set, or SAFETENSORS_ERR_DTYPE. */
SAFETENSORS_API safetensors_result safetensors_dtype_from_name(const char *name, size_t len,
                                                               safetensors_dtype *out);
/* "SAFETENSORS_ERR_OFFSETS"; NULL outside the enum. */
SAFETENSORS_API const char *safetensors_result_name(safetensors_result r);
/* A short English description; NULL outside the enum. */
SAFETENSORS_API const char *safetensors_result_string(safetensors_result r);

#ifdef __cplusplus
}
#endif

#endif /* SAFETENSORS_H */
