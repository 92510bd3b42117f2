/* safetensors.h - v0.1.0 - read and write safetensors model-weight files in C99, libc only.
   MIT or public domain (Unlicense), your choice: see the end of this file.

   DO THIS in exactly one C or C++ file, before you include this header:

       #define SAFETENSORS_IMPLEMENTATION
       #include "safetensors.h"

   Every other file includes it without the define and sees only the API.

   CONTENTS (each part is marked with a tag you can search for)
     this comment   WHAT IT DOES, QUICK START, REFERENCE, CONFORMANCE,
                    LIMITS, BUILD OPTIONS
     the API        >>api-config  versions, linkage (SAFETENSORS_API)
                    >>api-types   dtypes, results, errors, views, options
                    >>api-file    opening, tensors, metadata, file layout
                    >>api-model   sharded checkpoints
                    >>api-parser  the streaming parser
                    >>api-dtype   dtype and result helpers, the version
                    >>api-convert dtype conversions
                    >>api-writer  the streaming writer
     the implementation (after SAFETENSORS_IMPLEMENTATION): its own table
                    of contents, >>config to >>writer

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
       zero-copy views: each tensor's `data` points into the mapping;
     - opens sharded checkpoints (an index and its shards) as one model;
     - writes files byte-identical to the reference writer, streaming, with
       memory independent of the data size;
     - converts between F32 and every float dtype, bit-exact.

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
       const safetensors_tensor *w = safetensors_find(f, "transformer.wte.weight", 22);
       float x[4];
       if (w && safetensors_tensor_range_to_f32(w, 0, 4, x, 4) == SAFETENSORS_OK)
           printf("%g\n", (double)x[0]);   // any dtype, alignment and byte order;
       // casting w->data to const float * instead needs an F32 view that
       // safetensors_tensor_is_aligned(w, 0) accepts, on a little-endian host
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
       The `__metadata__` strings, in file order, owned by f. The accessors
       fill a safetensors_metadata_entry of yours: the file keeps its
       metadata in a compact form (a few bytes beyond the strings).
   safetensors_parser_create / _feed / _finish / _destroy
       The streaming parser behind every open. _finish gives you a file
       handle (without data pointers) that you own; _destroy frees the
       parser, and is needed whether or not _finish succeeded.
   safetensors_model_open / _close, _find, _tensor_at, _shard, _metadata_*
       A sharded checkpoint as one handle. On success you own the model and
       must call safetensors_model_close; everything it hands out (views,
       names, shard handles) lives until then.
   safetensors_writer_create ... _finish / _destroy
       The streaming writer. You own it and must call _destroy, after
       _finish or instead of it (which removes a temporary file).
       safetensors_write_file / _write_memory do it in one call; memory
       from _write_memory is freed with safetensors_write_memory_free.
   safetensors_convert_to_f32 / _from_f32, safetensors_tensor_to_f32 / _range_to_f32
       Pure functions on caller buffers: no state, no allocation.
   safetensors_open_io(io, opt, &f, &err)
       Like safetensors_open, through your read/size callbacks; with
       HEADER_ONLY, io->ctx must outlive f.
   safetensors_read_tensor / _range, safetensors_read_slice, safetensors_tensor_slice
       Copies into your buffers, from any handle (HEADER_ONLY ones read the
       file). safetensors_slice_spans hands out a slice's byte spans instead.
   safetensors_shard_writer_create ... _finish / _destroy
       Sharded checkpoints with their index; as the writer: you own it and
       must call _destroy.

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
   An I/O failure names the path and gives the system's words, where the
   platform has them (strerror_r, which a strict ISO C build on glibc does
   not declare; FormatMessageW), and the number:
       cannot open "models/x.safetensors": No such file or directory (errno 2)
   The line is valid UTF-8 and fits the 192 bytes: a long name is cut short
   with "..." between two characters, a long path loses its start, and
   bytes that are not UTF-8 (or are control bytes) appear as \xNN.
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
   - Counts: at most 2^32 - 2 tensors and 2^32 - 2 metadata entries in a
     file, a model or a writer (SAFETENSORS_ERR_TOO_LARGE past that).
   - Memory: proportional to the header bytes read (decoded names, shapes,
     the table and its hash index); never sized by a number the file
     declares. During an open the library holds at most 2 x the header's
     bytes, and an open file keeps at most 1.5 x, each plus 8 bytes per
     shape dimension (a uint64_t in the view) and 1 MiB, for any header
     (tests/test_memory.c checks the worst shapes known). The data section
     is mapped, not copied, unless you ask.
   - A file larger than the address space (a 32-bit host) cannot be mapped:
     open gives SAFETENSORS_ERR_TOO_LARGE; SAFETENSORS_HEADER_ONLY and the
     streaming parser still work on it.
   - A mapped file that another process truncates raises SIGBUS on POSIX
     when a view past the new end is touched. For files on shared or
     network storage that may change, use SAFETENSORS_READ_INTO_MEMORY.
   - Mappings: each open file of 64 KiB or more is one memory mapping, and
     a process has a limited number of them (Linux: vm.max_map_count,
     65530 by default, shared with malloc, thread stacks and libraries).
     Smaller files are read into memory instead, so a model of many tiny
     shards does not use them up; for tens of thousands of larger shards
     open the model SAFETENSORS_MODEL_LAZY, or raise the limit.

   ======================================================================
   BUILD OPTIONS (define before including the implementation)
   ======================================================================
   SAFETENSORS_IMPLEMENTATION   compile the implementation into this file
   SAFETENSORS_STATIC           make every function static to this file
   SAFETENSORS_NO_MMAP          never map: files are read into memory
   SAFETENSORS_NO_STDIO         no file-system access at all (no open, read,
                                mmap): safetensors_open is not declared; use
                                safetensors_open_memory or the parser
   SAFETENSORS_NO_WRITER        no writer: safetensors_writer_* and
                                safetensors_write_* are neither declared nor
                                compiled
   SAFETENSORS_NO_MODEL         no sharded models (safetensors_model_*)
   SAFETENSORS_NO_CONVERT       no dtype conversions (safetensors_convert_*,
                                safetensors_tensor_to_f32 / _range_to_f32)
                                All three with SAFETENSORS_NO_STDIO leave the
                                reader alone, for microcontrollers (code sizes
                                in the README)
   SAFETENSORS_NO_SIMD          conversions and the parser's string scan use
                                portable C only, even where SSE2/F16C/AVX2
                                (x86) or NEON (AArch64) are enabled
   SAFETENSORS_BUILD_SHARED / SAFETENSORS_USE_SHARED / SAFETENSORS_API
                                exporting the API from a shared library or
                                DLL: see >>api-config
   SAFETENSORS_MALLOC(sz) / SAFETENSORS_REALLOC(p, sz) / SAFETENSORS_FREE(p)
                                the default allocator; define all three or
                                none (the run-time allocator in the options
                                takes precedence over them)
*/
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
/* >>api-config ---------------------------------------------------------- */
#ifndef SAFETENSORS_NO_STDIO
#include <stdio.h> /* FILE, for safetensors_writer_begin_stream */
#endif


#define SAFETENSORS_VERSION_MAJOR 0
#define SAFETENSORS_VERSION_MINOR 1
#define SAFETENSORS_VERSION_PATCH 0
/* (MAJOR << 16) | (MINOR << 8) | PATCH of this header; safetensors_version()
   gives the same number for the compiled library, so a program linked
   against a shared build can tell whether the two agree. */
#define SAFETENSORS_VERSION_NUMBER \
    ((SAFETENSORS_VERSION_MAJOR << 16) | (SAFETENSORS_VERSION_MINOR << 8) | SAFETENSORS_VERSION_PATCH)

/* Linkage of every public function. Define SAFETENSORS_API yourself to
   override all of this. Otherwise:
     SAFETENSORS_STATIC        static, private to the one file that includes
                               the implementation;
     SAFETENSORS_BUILD_SHARED  define it while compiling the shared library
                               (libsafetensors.so / safetensors.dll): exports
                               the API (visibility "default", so the library
                               may be built with -fvisibility=hidden, or
                               __declspec(dllexport) on Windows);
     SAFETENSORS_USE_SHARED    define it in programs that link that DLL on
                               Windows (__declspec(dllimport)); elsewhere it
                               changes nothing;
     neither                   plain extern functions. */
#ifndef SAFETENSORS_API
#if defined(SAFETENSORS_STATIC)
#if defined(__GNUC__) || defined(__clang__)
#define SAFETENSORS_API static __attribute__((unused)) /* a program uses only part of the API */
#else
#define SAFETENSORS_API static
#endif
#elif defined(_WIN32) && defined(SAFETENSORS_BUILD_SHARED)
#define SAFETENSORS_API extern __declspec(dllexport)
#elif defined(_WIN32) && defined(SAFETENSORS_USE_SHARED)
#define SAFETENSORS_API extern __declspec(dllimport)
#elif defined(SAFETENSORS_BUILD_SHARED) && (defined(__GNUC__) || defined(__clang__))
#define SAFETENSORS_API extern __attribute__((visibility("default")))
#else
#define SAFETENSORS_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* >>api-types ----------------------------------------------------------- */
/* ---------------------------------------------------------------------
   Types
   --------------------------------------------------------------------- */

/* STABILITY (from 0.1.0 on): every dtype and result code keeps its number;
   new ones are only appended, before the _COUNT value, which therefore
   grows. Code that switches over these enums should have a default case.
   Each enum carries a hidden 32-bit sentinel so that it is 4 bytes wide
   even under -fshort-enums (arm-none-eabi's default): the layout of every
   public struct is the same on both sides of a shared library. */

/* Element types, in the reference's order. */
typedef enum safetensors_dtype {
    SAFETENSORS_BOOL, SAFETENSORS_U8, SAFETENSORS_I8, SAFETENSORS_F8_E5M2, SAFETENSORS_F8_E4M3,
    SAFETENSORS_F8_E8M0, SAFETENSORS_F8_E4M3FNUZ, SAFETENSORS_F8_E5M2FNUZ,
    SAFETENSORS_I16, SAFETENSORS_U16, SAFETENSORS_F16, SAFETENSORS_BF16,
    SAFETENSORS_I32, SAFETENSORS_U32, SAFETENSORS_F32, SAFETENSORS_F64,
    SAFETENSORS_I64, SAFETENSORS_U64, SAFETENSORS_C64,
    SAFETENSORS_F4, SAFETENSORS_F6_E2M3, SAFETENSORS_F6_E3M2,
    SAFETENSORS_DTYPE_COUNT,
    SAFETENSORS__DTYPE_32BIT = 0x7fffffff
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
    SAFETENSORS_ERR_DTYPE,             /* unknown dtype name, or a dtype the operation does not support */
    SAFETENSORS_ERR_DUPLICATE,         /* a tensor name, metadata key or entry field appears twice */
    SAFETENSORS_ERR_OFFSETS,           /* byte ranges leave a hole, overlap, or end before they begin */
    SAFETENSORS_ERR_OVERFLOW,          /* product(shape) x bits does not fit in 64 bits */
    SAFETENSORS_ERR_MISALIGNED,        /* a sub-byte tensor does not end on a byte boundary */
    SAFETENSORS_ERR_SIZE,              /* a byte range does not match dtype x shape */
    SAFETENSORS_ERR_COVERAGE,          /* the tensors do not cover the data section exactly */
    SAFETENSORS_ERR_NOT_FOUND,         /* a name that was asked for is not in the file */
    SAFETENSORS_ERR_TOO_LARGE,         /* beyond this host's address space or a count limit (see LIMITS) */
    SAFETENSORS_RESULT_COUNT,
    SAFETENSORS__RESULT_32BIT = 0x7fffffff
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

/* One metadata entry: both strings decoded, NUL-terminated (and may contain
   NUL), owned by the file or model; the accessors fill in a struct you
   own, whose pointers stay valid until the file or model is closed. A
   file's metadata values are always strings. In a model's index a value may be any JSON: for a non-string
   value, `value` is NULL and value_len 0, and
   safetensors_model_metadata_json gives its JSON text. */
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
   back so that arena and pool allocators need no bookkeeping. `reallocate`
   may be NULL, and then allocate + copy + deallocate is used. (The names are
   not malloc/realloc/free so that builds which define those as
   function-like macros, as leak checkers do, still compile.) */
typedef struct safetensors_allocator {
    void *(*allocate)(void *ctx, size_t size);
    void *(*reallocate)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*deallocate)(void *ctx, void *ptr, size_t size);
    void *ctx;
} safetensors_allocator;

/* Flags for safetensors_options.flags (opening files and models). A bit
   that this version does not know gives SAFETENSORS_ERR_ARGUMENT, so a
   program built against a newer header fails loudly on an older library. */
typedef enum safetensors_open_flags {
    /* Read the data section into memory owned by the file instead of mapping
       it. Safe against other processes truncating the file. */
    SAFETENSORS_READ_INTO_MEMORY = 1u << 0,
    /* Parse and validate the header only. Every `data` is NULL; coverage is
       still checked against the file's size. Works for files larger than the
       address space. */
    SAFETENSORS_HEADER_ONLY = 1u << 1,
    /* Ask the OS to start reading the mapped data now (madvise WILLNEED).
       A hint: ignored where it is not supported. */
    SAFETENSORS_PREFETCH = 1u << 2,
    /* safetensors_model_open: open each shard on its first use instead of
       all at open. Safe to use from many threads (GCC, Clang, MSVC). */
    SAFETENSORS_MODEL_LAZY = 1u << 3,
    /* safetensors_model_open: a tensor that a shard holds but weight_map
       does not list joins the model instead of being an error (eager mode;
       in lazy mode such tensors are tolerated but cannot be found). */
    SAFETENSORS_MODEL_ALLOW_UNLISTED = 1u << 4,
    /* Every tensor whose `data` is not a multiple of its dtype's element
       size (see safetensors_tensor_is_aligned) gets a copy, owned by the
       file and aligned to at least 8 bytes, and `data` points there. The
       other tensors stay zero-copy views. Costs the misaligned tensors'
       bytes in memory; with SAFETENSORS_HEADER_ONLY it does nothing. */
    SAFETENSORS_ALIGNED_COPY = 1u << 5,
    SAFETENSORS__OPEN_FLAGS_32BIT = 0x7fffffff
} safetensors_open_flags;

/* Zeroed means the defaults. The reserved fields must be zero: later
   versions give them meanings whose zero is today's behaviour, so the
   struct keeps its size and layout across versions of a shared library. */
typedef struct safetensors_options {
    safetensors_allocator allocator;
    uint64_t max_header_size;   /* 0 means 100,000,000, the reference's limit */
    uint32_t flags;             /* safetensors_open_flags, OR-ed */
    uint32_t reserved32;
    /* Seed of the name index's hash. 0: the library picks one (from the
       platform's entropy where it has some). Lookups stay O(log n) in the
       worst case whatever the seed; a secret seed only keeps the average
       case fast against crafted names. */
    uint64_t hash_seed;
    uint64_t reserved[6];
    /* safetensors_model_open only: read the index and the shards through
       these callbacks instead of the file system (see "Custom I/O"). NULL:
       the file system. It took the place of reserved_ptr[0]: the struct's
       size and layout are those of 0.1.0 on every host. */
    const struct safetensors_model_io *model_io;
    void *reserved_ptr[3];
} safetensors_options;

#define SAFETENSORS_DEFAULT_MAX_HEADER_SIZE 100000000u
/* For safetensors_parser_finish when the data size is not known. */
#define SAFETENSORS_SIZE_UNKNOWN UINT64_MAX

/* >>api-file ------------------------------------------------------------ */
/* ---------------------------------------------------------------------
   Opening and closing
   --------------------------------------------------------------------- */

#ifndef SAFETENSORS_NO_STDIO
/* Opens `path` (UTF-8, also on Windows), validates it and maps it. Files that
   cannot be mapped (pipes, character devices) and files under 64 KiB are
   read into memory instead. On failure *out is NULL. */
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
/* O(1) on average through a hash index built at open, and O(log n) at
   worst whatever the names (crafted collisions included). `name` need not
   be NUL-terminated and may contain NUL. NULL if absent. */
SAFETENSORS_API const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name,
                                                          size_t name_len);
/* Product of the dims (1 for a scalar). Cannot overflow for a view from an
   open file (checked at open); for a view built by hand whose product
   overflows 64 bits, or a NULL view, 0. */
SAFETENSORS_API uint64_t safetensors_tensor_element_count(const safetensors_tensor *t);
/* end - begin. */
SAFETENSORS_API uint64_t safetensors_tensor_byte_size(const safetensors_tensor *t);

/* ---------------------------------------------------------------------
   Metadata (`__metadata__`), in file order
   --------------------------------------------------------------------- */

SAFETENSORS_API size_t safetensors_metadata_count(const safetensors_file *f);
/* Fills *out (which may be NULL) with the i-th entry in file order and
   returns 1; returns 0, with *out zeroed, when i >= count. */
SAFETENSORS_API int safetensors_metadata_at(const safetensors_file *f, size_t i, safetensors_metadata_entry *out);
/* Fills *out (which may be NULL) with the entry whose key is key[0..key_len)
   and returns 1; returns 0, with *out zeroed, when there is none. */
SAFETENSORS_API int safetensors_metadata_find(const safetensors_file *f, const char *key, size_t key_len,
                                              safetensors_metadata_entry *out);

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
   Alignment
   ---------------------------------------------------------------------
   Casting `data` to `const float *` (or any element pointer) is legal
   only when the address is a multiple of the element's alignment. The
   format does not promise that: offsets are relative to a data section
   that starts at 8 + N, and N is whatever the writer chose. Files written
   by the reference (and by this library's writer) pad N so that the data
   start is a multiple of 8, and order tensors so that each is naturally
   aligned; hand-made files need not be (tests/conformance/files/
   edge_ok_one.safetensors starts its F32 data at byte 62). Ask before
   casting, or open with SAFETENSORS_ALIGNED_COPY and every `data` is
   aligned for its dtype.

   `alignment` 0 means the dtype's natural alignment, its element size:
   bits / 8 (8 for C64 and the 64-bit types), 1 for BOOL, the 8-bit types
   and the sub-byte F4 / F6 (read byte by byte). Any other value is a
   byte count (a power of two for the usual uses, e.g. 4096 for O_DIRECT).

   A view carries no link to its file, and the safetensors_tensor struct
   cannot grow, so there are two questions and two functions:
     safetensors_tensor_is_aligned(t, a)       the address in memory;
     safetensors_tensor_offset_is_aligned(f, t, a)
                                               the address when t->data is
                                               set, else (HEADER_ONLY) the
                                               file offset data_start + begin,
                                               which is what matters for
                                               pread into an aligned buffer,
                                               O_DIRECT or a page-aligned map.
   Both return 1 (aligned) or 0; 0 also for a NULL view, a dtype outside
   the enum, and (first function) a view without data: it cannot know
   where its data section starts in the file. No state, any thread. */
SAFETENSORS_API int safetensors_tensor_is_aligned(const safetensors_tensor *t, size_t alignment);
/* f NULL gives 0. t should be a view of f (for a view of another file the
   answer is about offsets in f). */
SAFETENSORS_API int safetensors_tensor_offset_is_aligned(const safetensors_file *f, const safetensors_tensor *t,
                                                         size_t alignment);

/* ---------------------------------------------------------------------
   Slices in the native dtype
   ---------------------------------------------------------------------
   A slice is a box of a tensor: for each dimension d a half-open range
   [start[d], stop[d]) with start[d] <= stop[d] <= shape[d] (the
   reference's get_slice with unit steps). Its elements, in row-major
   order, are a run of contiguous byte spans of the tensor. The spans are
   the one implementation under every way of taking a slice:
     safetensors_tensor_slice   copies from a view with data (memcpy);
     safetensors_read_slice     the same from any handle: memcpy where
                                there is data, else reads from the file
                                (HEADER_ONLY; see "Reading into your
                                buffers");
     safetensors_slice_spans    hands the spans themselves to a caller who
                                wants no copy (DMA lists, io_uring, GPU
                                direct storage).
   Spans are as long as possible: trailing dimensions taken whole merge
   with the one before them, so a slice of whole rows is one span.

   A scalar (ndim 0) is one span; start and stop may then be NULL. A slice
   with an empty range in any dimension has no span and no bytes.

   F4 and F6: elements are packed in bits, and a slice is refused with
   SAFETENSORS_ERR_MISALIGNED unless every span starts and ends on a byte
   boundary (as the reference refuses it); the bytes are then copied as
   they are, still packed.

   ERRORS (nothing is written to dst on failure):
     SAFETENSORS_ERR_ARGUMENT   t NULL; ndim > 0 with start or stop NULL;
                                a range reversed (start > stop) or past
                                the dimension (stop > shape); dst NULL
                                with bytes to copy; (tensor_slice) a view
                                without data
     SAFETENSORS_ERR_MISALIGNED an F4/F6 slice not on byte boundaries
     SAFETENSORS_ERR_SIZE       dst_size below the slice's bytes; (a view
                                built by hand) end - begin does not match
                                dtype x shape
     SAFETENSORS_ERR_DTYPE / _OVERFLOW  (a view built by hand) a dtype
                                outside the enum, a shape too large
   THREADS: no state but the iterator's; any number of threads may slice
   one view. */

/* One contiguous piece of a slice: bytes [offset, offset + length) of the
   tensor's data, i.e. file offsets data_start + t->begin + offset on. */
typedef struct safetensors_span {
    uint64_t offset; /* from the tensor's first byte */
    uint64_t length; /* bytes, never 0 */
    const void *data; /* the span in memory, or NULL when the view has no data */
} safetensors_span;

/* Walks a slice's spans. Lives on the caller's stack; `bytes` and `spans`
   may be read, the other fields are the walk's own. The view and the
   start/stop arrays must stay alive while it is in use. */
typedef struct safetensors_slice_iter {
    uint64_t bytes;  /* the slice's size: the sum of its spans' lengths */
    uint64_t spans;  /* how many spans */
    uint64_t next;   /* the walk's position */
    uint64_t span_elements;
    const safetensors_tensor *tensor;
    const uint64_t *start, *stop;
    size_t split;    /* dimensions before it are walked; from it on, one span */
} safetensors_slice_iter;

/* Checks the slice and sets *it up for safetensors_slice_next. Errors as
   above (no dst here). On failure *it is emptied: next gives nothing. */
SAFETENSORS_API safetensors_result safetensors_slice_spans(safetensors_slice_iter *it, const safetensors_tensor *t,
                                                           const uint64_t *start, const uint64_t *stop,
                                                           safetensors_error *err);
/* The next span into *span: 1, or 0 when there is none left (it or span
   NULL: 0). Spans come in row-major order, each after the previous one. */
SAFETENSORS_API int safetensors_slice_next(safetensors_slice_iter *it, safetensors_span *span);
/* Copies the slice's bytes, row-major, into dst[0 .. slice bytes). */
SAFETENSORS_API safetensors_result safetensors_tensor_slice(const safetensors_tensor *t, const uint64_t *start,
                                                            const uint64_t *stop, void *dst, size_t dst_size,
                                                            safetensors_error *err);

/* ---------------------------------------------------------------------
   Reading into your buffers
   ---------------------------------------------------------------------
   Copies of a tensor's bytes (little-endian, as stored) into memory you
   own: a staging buffer, pinned memory, an arena. They work on every
   handle f from safetensors_open or safetensors_open_memory, with or
   without data:
     - a view with data (mapped, read into memory, open_memory): memcpy;
     - a SAFETENSORS_HEADER_ONLY handle: safetensors_open keeps the file
       open for these calls (one descriptor or handle per file, closed by
       safetensors_close) and reads at the tensor's file offset, pread on
       POSIX, ReadFile with an OVERLAPPED offset on Windows; a HEADER_ONLY
       open_memory reads from the caller's bytes. Where the C library
       declares no pread (glibc in strict -std=c99 without
       _POSIX_C_SOURCE >= 200809L or _XOPEN_SOURCE >= 500), the range is
       mapped for the copy instead.
   A handle from safetensors_parser_finish has neither: SAFETENSORS_ERR_ARGUMENT.

   THREADS: any number of threads may read one handle at once, also a
   HEADER_ONLY one: nothing shares a file position.
   ERRORS (dst may be partly written when a read fails midway):
     SAFETENSORS_ERR_ARGUMENT   f or t NULL; dst NULL with bytes to copy;
                                a range that does not lie within the
                                tensor, or a view whose bytes lie past f's
                                data section (a view of another file); a
                                handle with nothing to read from
     SAFETENSORS_ERR_SIZE       dst_size smaller than what is asked
     SAFETENSORS_ERR_IO         the read failed, or the file is now
                                shorter than it was at open (sys_errno) */
SAFETENSORS_API safetensors_result safetensors_read_tensor(const safetensors_file *f, const safetensors_tensor *t,
                                                           void *dst, size_t dst_size, safetensors_error *err);
/* Bytes [offset, offset + len) of the tensor, for staging in chunks. */
SAFETENSORS_API safetensors_result safetensors_read_tensor_range(const safetensors_file *f,
                                                                 const safetensors_tensor *t, uint64_t offset,
                                                                 void *dst, size_t len, safetensors_error *err);
/* safetensors_tensor_slice on any handle: the same spans, each copied
   from the view's data or read from the file as above. */
SAFETENSORS_API safetensors_result safetensors_read_slice(const safetensors_file *f, const safetensors_tensor *t,
                                                          const uint64_t *start, const uint64_t *stop, void *dst,
                                                          size_t dst_size, safetensors_error *err);

/* ---------------------------------------------------------------------
   Custom I/O
   ---------------------------------------------------------------------
   Files that are not files: an asset pack, an archive member, a virtual
   file system, a network cache. The library asks for bytes at offsets and
   for the size, through callbacks and a context pointer of yours (as
   stb_image's stbi_io_callbacks and cgltf's file options do).

   safetensors_open_io(io, opt, &f, &err) opens one such file: the header
   is read in 64 KiB pieces through io->read and parsed as any other; then
     - by default the data section is read into memory owned by f (its
       size is what io->size reported, checked against the table first);
     - with SAFETENSORS_HEADER_ONLY nothing more is read, f keeps a copy of
       *io, and safetensors_read_tensor / _range / read_slice read through
       io->read: ctx must then stay valid until safetensors_close(f), and
       read may be called from several threads at once if the caller
       reads from several threads.
   Other flags as for safetensors_open (READ_INTO_MEMORY is what it does
   anyway; PREFETCH is ignored).

   A model: set opt.model_io for safetensors_model_open. Its open callback
   gives an io for a name: first `path` itself (an index ending in .json,
   or a single .safetensors file; folders are not listed through it), then
   each shard as the index's folder part of `path` followed by the shard's
   name ("pak/llama/model.safetensors.index.json" gives
   "pak/llama/model-00001-of-00002.safetensors"). The index's shard names
   are checked exactly as on disk (no separator, no "..") before any
   callback sees them. close, if not NULL, is called once for every io
   that open filled, when the library is done with it: at once for the
   index, when its file closes for a shard (at model close; a HEADER_ONLY
   shard keeps its io to read tensors until then).

   ERRORS: io NULL or read/size NULL gives SAFETENSORS_ERR_ARGUMENT; a
   read that returns less than asked, or size returning nonzero, gives
   SAFETENSORS_ERR_IO (sys_errno 0), and so does open returning nonzero,
   with the name in the message; the file's own problems as for
   safetensors_open_memory. Nothing is leaked on any failure. */
typedef struct safetensors_io {
    /* Reads len > 0 bytes at `offset` into dst; returns len, or fewer when
       it fails or the file ends first. */
    size_t (*read)(void *ctx, uint64_t offset, void *dst, size_t len);
    /* The file's size in bytes into *size; 0 on success. */
    int (*size)(void *ctx, uint64_t *size);
    void *ctx;
} safetensors_io;

typedef struct safetensors_model_io {
    /* Fills *io for the file `name` (UTF-8, NUL-terminated); 0 on success. */
    int (*open)(void *ctx, const char *name, safetensors_io *io);
    /* Releases what open made for *io; may be NULL. */
    void (*close)(void *ctx, safetensors_io *io);
    void *ctx;
} safetensors_model_io;

SAFETENSORS_API safetensors_result safetensors_open_io(const safetensors_io *io, const safetensors_options *opt,
                                                       safetensors_file **out, safetensors_error *err);

/* >>api-model ----------------------------------------------------------- */
/* ---------------------------------------------------------------------
   Sharded models (not with SAFETENSORS_NO_STDIO or SAFETENSORS_NO_MODEL)
   ---------------------------------------------------------------------
   A model is one handle over a checkpoint split into shards:
   model-00001-of-00004.safetensors ... and model.safetensors.index.json,
   whose weight_map names each tensor's shard.

   safetensors_model_open(path, opt, &m, &err) takes
     - an index file (any name ending in .json, e.g. model.fp16.safetensors.index.json),
     - a single .safetensors file (a model of one shard),
     - or a folder: model.safetensors.index.json, else model.safetensors, else
       the only *.safetensors.index.json, else the only *.safetensors in it.
   At open (eager mode, the default) every shard is opened with the full
   validation of safetensors_open, and then:
     - every weight_map entry must be in the shard it names (ERR_NOT_FOUND);
     - no tensor may be in two shards (ERR_DUPLICATE);
     - a shard may hold no tensor that weight_map leaves out (ERR_SCHEMA),
       unless SAFETENSORS_MODEL_ALLOW_UNLISTED;
     - metadata.total_size, when present, must be an integer equal to the
       bytes all tensors hold (ERR_SIZE);
     - the index is strict JSON with UTF-8 strings, has a weight_map of
       strings, and names no tensor or metadata key twice;
     - a shard name must be a plain file name in the index's folder: no
       separator of any OS ('/', '\'), no drive (':'), no control byte,
       not "." or "..", not a name Windows keeps for a device (CON, PRN,
       AUX, NUL, CONIN$, CONOUT$, COM0-9, LPT0-9, in any case, with any
       extension: "nul.safetensors" too) on any OS, so that an index means
       the same everywhere (ERR_SCHEMA). An index can never make the
       library open a file outside its folder;
     - the index and every shard must be regular files: a FIFO, a device,
       a socket or a folder is refused at once, without being read or
       waited on (ERR_IO, sys_errno 0, the message says what it is).
   With SAFETENSORS_MODEL_LAZY only the index is read at open; a shard is
   opened, validated and checked against the index on first use, by
   whichever thread asks first.

   Order: shards sorted by file name; tensors by shard, then by name bytes.
   Lookup by name is O(1) on average over the whole model (O(log n) at
   worst, whatever the names). Memory is the tables; the data stay mapped
   (or read, as the options say) per shard.
   Metadata are the index's "metadata" object, in its order. A string value
   is decoded, as a file's metadata are; any other value (total_size is a
   number) has value NULL, and safetensors_model_metadata_json gives every
   value's JSON text as written.
   Everything a model hands out lives until safetensors_model_close.
   Thread-safety: a model may be read from many threads at once. */
typedef struct safetensors_model safetensors_model;

#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
SAFETENSORS_API safetensors_result safetensors_model_open(const char *path, const safetensors_options *opt,
                                                          safetensors_model **out, safetensors_error *err);
/* Closes every shard. NULL is a no-op. */
SAFETENSORS_API void safetensors_model_close(safetensors_model *m);
SAFETENSORS_API size_t safetensors_model_shard_count(const safetensors_model *m);
/* The shard's file name as the index gives it (or the single file's name),
   NUL-terminated; *len (may be NULL) receives its length. NULL (and *len 0)
   when i >= shard_count. */
SAFETENSORS_API const char *safetensors_model_shard_name(const safetensors_model *m, size_t i, size_t *len);
/* The shard's file handle, opened now in lazy mode. */
SAFETENSORS_API safetensors_result safetensors_model_shard(const safetensors_model *m, size_t i,
                                                           const safetensors_file **f, safetensors_error *err);
SAFETENSORS_API size_t safetensors_model_tensor_count(const safetensors_model *m);
/* The i-th tensor (by shard, then name) and its shard index (shard may be NULL). */
SAFETENSORS_API safetensors_result safetensors_model_tensor_at(const safetensors_model *m, size_t i,
                                                               const safetensors_tensor **t, size_t *shard,
                                                               safetensors_error *err);
/* By name, wherever it lives: SAFETENSORS_ERR_NOT_FOUND if absent. In lazy
   mode this may open the shard, and then reports its errors. */
SAFETENSORS_API safetensors_result safetensors_model_find(const safetensors_model *m, const char *name, size_t len,
                                                          const safetensors_tensor **t, size_t *shard,
                                                          safetensors_error *err);
SAFETENSORS_API size_t safetensors_model_metadata_count(const safetensors_model *m);
/* As safetensors_metadata_at and _find, for the index's metadata. */
SAFETENSORS_API int safetensors_model_metadata_at(const safetensors_model *m, size_t i, safetensors_metadata_entry *out);
SAFETENSORS_API int safetensors_model_metadata_find(const safetensors_model *m, const char *key, size_t key_len,
                                                    safetensors_metadata_entry *out);
/* The JSON text of the i-th metadata value exactly as the index wrote it,
   white space inside it included (a number's digits, a string with its
   quotes and escapes, an object or array whole); *len receives its length.
   For total_size and any other value that is not a string. NULL when
   i >= count. */
SAFETENSORS_API const char *safetensors_model_metadata_json(const safetensors_model *m, size_t i, size_t *len);
#endif /* !SAFETENSORS_NO_STDIO && !SAFETENSORS_NO_MODEL */

/* >>api-parser ---------------------------------------------------------- */
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
/* Optional, before the first feed: the file's total size, when it is known
   up front. A header that runs past it is then refused as soon as the length
   bytes are in (SAFETENSORS_ERR_HEADER_LENGTH at offset file_size), before
   any JSON is read, which is the reference's order of checks. Without it the
   same file is refused at _finish, or earlier by what its JSON shows. */
SAFETENSORS_API safetensors_result safetensors_parser_expect_size(safetensors_parser *p, uint64_t file_size);
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

/* >>api-dtype ----------------------------------------------------------- */
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
/* SAFETENSORS_VERSION_NUMBER of the library as compiled. */
SAFETENSORS_API uint32_t safetensors_version(void);
/* "SAFETENSORS_ERR_OFFSETS"; NULL outside the enum. */
SAFETENSORS_API const char *safetensors_result_name(safetensors_result r);
/* A short English description; NULL outside the enum. */
SAFETENSORS_API const char *safetensors_result_string(safetensors_result r);

#ifndef SAFETENSORS_NO_CONVERT
/* >>api-convert --------------------------------------------------------- */
/* ---------------------------------------------------------------------
   dtype conversion
   ---------------------------------------------------------------------
   Widening to F32 from every floating-point dtype except C64, narrowing
   from F32 to each of them, and a helper that widens a tensor view.

   Supported: F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0, F16,
   BF16, F32, F64, F4, F6_E2M3, F6_E3M2. Anything else (the integer types,
   BOOL, C64, a value outside the enum) gives SAFETENSORS_ERR_DTYPE and
   touches nothing.

   BYTES: tensor data is little-endian on every host; these functions read
   and write it byte by byte (or with memcpy where that is the same thing),
   so the `void *` side may have any alignment and any host byte order. The
   `float *` side is native floats, aligned as float.

   PACKING of the sub-byte types (the format leaves it open; this is
   PyTorch's float4_e2m1fn_x2 and the OCP MX convention):
     F4   two elements a byte: element 0 in bits 3..0, element 1 in 7..4.
     F6   a little-endian bit stream: element i is bits 6i..6i+5, so
          elements 0..3 fill bytes 0..2 as  b0 = e0 | e1 << 6,
          b1 = e1 >> 2 | e2 << 4,  b2 = e2 >> 4 | e3 << 2.
   A packed buffer of `count` elements is (count x bits + 7) / 8 bytes.

   WIDENING is exact for every code of every format (F64 excepted: it
   rounds to nearest, ties to even). NaN codes give a NaN; Inf gives Inf.
   F8_E8M0 code c is 2^(c - 127); 0xff is its NaN.

   NARROWING rounds to nearest, ties to even, the way ml_dtypes 0.6 does;
   the test suite checks every probe of its tables. What a value too large
   for the format becomes depends on the format:
     BF16, F16, F8_E5M2   overflow gives +-Inf (F16 from 65520 up, E5M2 from
                          61440 up); Inf stays Inf; NaN stays NaN.
     F8_E4M3              no Inf: a value that rounds past 448 (above 464;
                          464 itself is a tie and goes to 448) and +-Inf
                          become NaN (0x7f | sign). Not saturating: clamp to
                          +-448 first if you want that.
     F8_E4M3FNUZ          no Inf, no -0: past 240 (248 and up), +-Inf and
                          NaN all give 0x80, the only NaN; -0 gives +0.
     F8_E5M2FNUZ          the same with a largest value of 57344 (61440 and
                          up overflow).
     F8_E8M0              powers of two only, no zero, no sign: 0, negative
                          numbers, Inf and NaN give 0xff (NaN). A value
                          rounds to the nearer power of two, ties up (a
                          mantissa of 1.5 or more rounds up), so from
                          1.5 x 2^127 it rounds into 0xff. Float32
                          subnormals follow ml_dtypes: 2^-127 and up give
                          2^-126, the rest 2^-127.
     F4, F6_E2M3, F6_E3M2 no Inf or NaN: saturating at +-6, +-7.5 and +-28,
                          Inf included. NaN becomes a zero of the opposite
                          sign to the NaN's sign bit: ml_dtypes' choice,
                          kept so that the bytes match files written from
                          Python.
     F32                  a copy into little-endian bytes.
     F64                  exact.
   The F16 and BF16 NaN keep the sign and the top payload bits, quieted.

   The results never depend on the floating-point environment (rounding
   mode, flush-to-zero, denormals-are-zero): the work is done in integers,
   and a fast path that needs a mode runs only under that mode.

   SPEED: the loops are plain C99 that compilers vectorise. On x86 with
   SSE2 (every x86-64, no flag needed), the narrowings from F32 and BF16 to
   F16 run four elements an instruction while MXCSR rounds to nearest, its
   default (the call checks; FTZ and DAZ do not matter). Building with F16C
   or AVX2 enabled (-mf16c -mavx2, or -march=x86-64-v3) adds intrinsic
   paths for F16 both ways and for F8 widening; on AArch64, NEON converts
   F16 both ways and BF16 to F16 when the FPCR is at its defaults (the
   call checks; otherwise the portable loops run). SAFETENSORS_NO_SIMD keeps
   them out. Results are the same bits either way. On the bench machine,
   for 64 MiB arrays and without -m flags, every conversion to or from F32
   takes at most 2x a memcpy of its larger side (bench/bench_convert).

   THREADS: pure functions of their arguments, no state anywhere.
   NULL: src and dst may be NULL only when count is 0.
   OVERLAP: src and dst must not overlap.
*/

/* 1 if the conversion functions below accept `dtype`, else 0. */
SAFETENSORS_API int safetensors_convert_supported(safetensors_dtype dtype);

/* Widens `count` elements of `dtype` from the little-endian bytes at `src`
   into dst[0..count). For F4/F6, `count` counts elements and src holds
   (count x bits + 7) / 8 bytes, element 0 at bit 0; nothing past the last
   element's byte is read.
   SAFETENSORS_ERR_DTYPE    dtype not supported;
   SAFETENSORS_ERR_ARGUMENT src or dst NULL with count > 0;
   SAFETENSORS_ERR_SIZE     count too large for any buffer of this host.
   On failure dst is untouched. */
SAFETENSORS_API safetensors_result safetensors_convert_to_f32(safetensors_dtype dtype, const void *src, size_t count,
                                                              float *dst);

/* Narrows src[0..count) to `dtype`, writing little-endian bytes at `dst`:
   count x bits / 8 bytes, or for F4/F6 (count x bits + 7) / 8 bytes with
   the bits after the last element, up to the byte boundary, set to zero.
   Rounding and overflow rules per format: see above. Errors as for
   safetensors_convert_to_f32; on failure dst is untouched. */
SAFETENSORS_API safetensors_result safetensors_convert_from_f32(safetensors_dtype dtype, const float *src, size_t count,
                                                                void *dst);

/* Widens a whole tensor view into dst[0..n), n = product of t->shape (1 for
   a scalar). dst holds dst_capacity floats.
   SAFETENSORS_ERR_ARGUMENT t NULL; t->data NULL (a view from a header-only
                            parse has no values); dst NULL with n > 0;
   SAFETENSORS_ERR_DTYPE    t->dtype not supported;
   SAFETENSORS_ERR_SIZE     dst_capacity < n, or (for a view you built
                            yourself) end - begin does not match the shape;
   SAFETENSORS_ERR_OVERFLOW (a view you built) the shape's product overflows.
   On failure dst is untouched. */
SAFETENSORS_API safetensors_result safetensors_tensor_to_f32(const safetensors_tensor *t, float *dst,
                                                             size_t dst_capacity);

/* Widens elements [first, first + count) of a tensor view, in row-major
   order, into dst[0..count). For F4/F6, `first` may fall inside a byte.
   Errors as for safetensors_tensor_to_f32, plus SAFETENSORS_ERR_ARGUMENT
   when the range does not lie within the tensor, and SAFETENSORS_ERR_SIZE
   when dst_capacity < count. */
SAFETENSORS_API safetensors_result safetensors_tensor_range_to_f32(const safetensors_tensor *t, uint64_t first,
                                                                   size_t count, float *dst, size_t dst_capacity);

/* Converts `count` elements from dtype `from` at `src` to dtype `to` at
   `dst`, both little-endian bytes as stored in files (any alignment), both
   dtypes among those above. The result is exactly what widening to F32
   and narrowing from it gives (the rounding and overflow rules above), in
   one pass with no F32 buffer for BF16 <-> F16:
     BF16 -> F16   round to nearest even into F16's 10 mantissa bits; from
                   65520 up +-Inf; below 2^-14 F16 subnormals, below 2^-25
                   a signed zero; NaN stays NaN (quieted, top payload kept);
     F16 -> BF16   round to nearest even into BF16's 7 mantissa bits (never
                   overflows: BF16 has F32's range).
   Other pairs go through F32 in blocks on the stack, which is exact since
   F32 holds every value of every format here except F64: an F64 source is
   rounded to F32 first, so F64 to a narrower type may round twice.
   from == to copies the bytes. F4/F6 on either side: element 0 at bit 0 of
   `src` and `dst`, trailing bits of dst's last byte set to zero (except
   for the copy). Errors as for safetensors_convert_to_f32; on failure dst
   is untouched. THREADS: pure, no state. */
SAFETENSORS_API safetensors_result safetensors_convert(safetensors_dtype from, const void *src, size_t count,
                                                       safetensors_dtype to, void *dst);

#endif /* SAFETENSORS_NO_CONVERT */

#ifndef SAFETENSORS_NO_WRITER
/* >>api-writer ---------------------------------------------------------- */

/* ---------------------------------------------------------------------
   Writing
   ---------------------------------------------------------------------
   A streaming writer. Declare the metadata and the tensors (name, dtype,
   shape); the writer then fixes the layout, writes the header, and takes
   the tensors' bytes in its data order, in pieces of any size. Memory is
   proportional to the header (the names, shapes and metadata you declared),
   never to the data: a checkpoint larger than memory streams through.

       safetensors_writer *w = NULL;
       safetensors_error err;
       uint64_t shape[2] = {4096, 4096};
       if (safetensors_writer_create(NULL, &w, &err) ||
           safetensors_writer_add_metadata(w, "format", 6, "pt", 2, &err) ||
           safetensors_writer_add_tensor(w, "w1", 2, SAFETENSORS_F32, 2, shape, &err) ||
           safetensors_writer_add_tensor(w, "w2", 2, SAFETENSORS_BF16, 2, shape, &err) ||
           safetensors_writer_begin_file(w, "out.safetensors", &err))   // writes the header
           goto fail;
       for (size_t k = 0; k < safetensors_writer_tensor_count(w); k++) {
           const safetensors_tensor *t = safetensors_writer_tensor_at(w, k); // data order
           while (produce_next_piece(t->name, &piece, &piece_len))        // any split
               if (safetensors_writer_write_tensor(w, k, piece, piece_len, &err)) goto fail;
       }
       if (safetensors_writer_finish(w, &err)) goto fail;   // fsync, rename over the target
       safetensors_writer_destroy(w);
       return 0;
     fail:
       fprintf(stderr, "%s\n", err.message);
       safetensors_writer_destroy(w);   // removes the temporary file, frees all
       return 1;

   (Every call returns SAFETENSORS_OK == 0 or an error code, so `if (call)`
   tests for failure.)

   OUTPUT: byte for byte what the reference writer (the Python/Rust
   `safetensors` package, 0.8) writes for the same tensors, when metadata is
   added in the order it should appear:
     - compact JSON; `__metadata__` first when there is any;
     - tensors sorted by dtype in the order U64, I64, F64, C64, F32, U32,
       I32, BF16, F16, U16, I16, F8_E5M2FNUZ, F8_E4M3FNUZ, F8_E8M0, F8_E4M3,
       F8_E5M2, I8, U8, F6_E3M2, F6_E2M3, F4, BOOL, then by name bytes; the
       data is contiguous in that order, which keeps every tensor naturally
       aligned (element sizes never grow along the order);
     - each entry as {"dtype":..,"shape":[..],"data_offsets":[b,e]};
     - strings escaped as serde_json does: \" \\ \b \f \n \r \t, other
       bytes below 0x20 as \u00XX (lowercase hex), everything else raw;
     - spaces after the JSON until 8 + N is a multiple of the alignment.
   The one deliberate difference: for no tensors and empty metadata the
   reference writes `{},"__metadata__":{}}`, invalid JSON its own reader
   refuses; this writer writes `{"__metadata__":{}}`.

   LIFECYCLE:
     create -> add_metadata / add_tensor (any order, any number)
            -> [plan]          optional: fixes the layout so that the sizes
                               and the data order can be read before output
            -> begin_*         plans if needed, writes the header
            -> write / write_tensor ...   the data, in data order
            -> finish          checks every byte arrived; commits the file
            -> destroy         always, whether or not anything failed
   A call out of this order gives SAFETENSORS_ERR_ARGUMENT.

   THE DATA ORDER: tensor k (0 <= k < tensor_count) is the k-th in the
   file's data order; safetensors_writer_tensor_at(w, k) shows its name,
   dtype, shape and data offsets, and _declaration_index(w, k) says which
   add_tensor call declared it (0 for the first). Zero-size tensors take
   no bytes and need no call.

   SINKS (begin_*), one per writer:
     file      a path (UTF-8, also on Windows). The bytes go to a new
               temporary file in the same directory, named
               "<path>.tmp-<16 hex digits>", created exclusively. finish
               flushes it to disk (fsync / FlushFileBuffers, unless
               SAFETENSORS_WRITE_NO_SYNC), closes it and renames it over
               <path> (rename / MoveFileExW with MOVEFILE_REPLACE_EXISTING),
               so a reader holding the old file open or mapped keeps
               reading the old bytes, and nobody sees a half-written file
               at <path>. While it is written only its owner can read the
               temporary file (POSIX: created 0600; Windows: opened with no
               sharing); just before the rename it gets the permission bits
               of the file at <path>, or, for a new file, those any new file
               gets there: 0666 less the umask (or the folder's default
               ACL), learnt at begin_file from an empty probe file made and
               removed at once, since reading the umask means changing it
               under every other thread. On any error, and on destroy before
               finish, the temporary file is removed and <path> is left as
               it was. A symbolic link at <path> is itself replaced, not
               followed. (Windows refuses to replace a file that another
               process has mapped: finish then fails with
               SAFETENSORS_ERR_IO and the old file stays.)
     fd        a file descriptor you own, written from where it stands
               (pipes and sockets work). Not closed and not synced.
     stream    a FILE * you own, written with fwrite; finish calls fflush.
               Not closed.
     memory    a buffer you own of at least safetensors_writer_file_size(w)
               bytes (call safetensors_writer_plan first to learn it).
     callback  fn(ctx, bytes, len) is called with len > 0 and must return
               len; anything less is a write error.
   The header goes out in pieces of at most 4 KiB; data is passed to the
   sink as you hand it over, without a copy (the memory sink copies it into
   your buffer). On a pipe or socket whose reader is gone, POSIX raises
   SIGPIPE unless the program ignores it; with SIGPIPE ignored the writer
   reports SAFETENSORS_ERR_IO with sys_errno EPIPE. The library never
   changes signal handling.

   OWNERSHIP AND LIFETIMES: the writer copies every name, shape, key and
   value it is given, so the caller's buffers may be reused as soon as each
   call returns. Views from safetensors_writer_tensor_at are owned by the
   writer and valid until safetensors_writer_destroy. The sink's fd, FILE *,
   buffer or callback context must stay valid until finish (or destroy).

   ERRORS: a refused call changes nothing: the writer is as it was before
   the call, so the caller may go on (add another tensor, write the missing
   bytes, finish again). The exception is a failed write to the sink
   (SAFETENSORS_ERR_IO, with sys_errno = errno, or GetLastError() on
   Windows, or 0 for a callback): the output is then incomplete, every later
   call returns the same error, and only destroy is useful. err->offset is
   the position in the output (from the file's first byte) where the fault
   was, for faults in the data or the output, and 0 for refusals made before
   any output (declarations, plan). Refusals, and what the reader would say
   about the file they prevent:
     SAFETENSORS_ERR_DUPLICATE  a tensor name or metadata key added twice
     SAFETENSORS_ERR_UTF8       a name, key or value that is not UTF-8
                                (overlong forms, surrogates and code points
                                above U+10FFFF included)
     SAFETENSORS_ERR_SCHEMA     the tensor name "__metadata__": in a file
                                that key is the metadata object, so the
                                reader would refuse the entry as a schema
                                error; the writer says so at add_tensor
     SAFETENSORS_ERR_DTYPE      a dtype outside the safetensors_dtype enum
     SAFETENSORS_ERR_OVERFLOW   product(shape) x bits, or the total data
                                size, does not fit in 64 bits
     SAFETENSORS_ERR_MISALIGNED a sub-byte tensor (F4, F6_*) whose bit count
                                is not a multiple of 8
     SAFETENSORS_ERR_HEADER_TOO_LARGE
                                the header (with its padding) would exceed
                                max_header_size; add_* refuses as soon as
                                the declarations alone are over it, plan and
                                begin_* check the exact size
     SAFETENSORS_ERR_SIZE       bytes that do not match dtype x shape: more
                                than the data section or the tensor holds,
                                a tensor left incomplete before the next one
                                starts, finish with bytes missing, or a
                                one-call tensor whose size is wrong
     SAFETENSORS_ERR_TOO_LARGE  more than 2^32 - 2 tensors or metadata
                                entries, or a memory output larger than the
                                address space
     SAFETENSORS_ERR_ARGUMENT   a NULL pointer that must not be, an
                                alignment that is not a power of two up to
                                65536, a memory buffer too small, a call out
                                of order
     SAFETENSORS_ERR_NOMEM      an allocation failed (the writer is intact)
     SAFETENSORS_ERR_IO         creating, writing, syncing, setting the
                                permissions of or renaming the file failed
   Every message names the tensor or metadata key concerned, for example
       tensor "w": the write of 40 bytes runs past its end: F32 [2, 3] holds 24 bytes, 0 written so far
   Everything the writer finishes is a file safetensors_open accepts with
   the same max_header_size, holding exactly what was declared and written.

   THREADS: no global state. A writer belongs to one thread at a time;
   different writers are independent.

   NULL: opt may be NULL (defaults) and a zeroed options struct means the
   defaults; err may be NULL. A NULL writer gives SAFETENSORS_ERR_ARGUMENT,
   accessors given NULL return 0 or NULL, destroy(NULL) is a no-op. A NULL
   name, key or value is allowed only with length 0; a NULL shape only with
   ndim 0; NULL bytes only with len 0.
*/

typedef struct safetensors_writer safetensors_writer; /* opaque; one thread at a time */

/* Flags for safetensors_write_options.flags. Their bits do not overlap the
   open flags, and an unknown bit gives SAFETENSORS_ERR_ARGUMENT. */
typedef enum safetensors_write_flags {
    /* Write "__metadata__":{} even when no metadata entry is added (the
       reference does this when it is handed an empty dict rather than
       None). Without it, no metadata means no __metadata__ key. */
    SAFETENSORS_WRITE_EMPTY_METADATA = 1u << 16,
    /* File sink only: skip the fsync (FlushFileBuffers) before the rename.
       Faster; after a power failure the file at the path may then be empty
       or partial, although no running process ever sees it so. */
    SAFETENSORS_WRITE_NO_SYNC = 1u << 17,
    SAFETENSORS__WRITE_FLAGS_32BIT = 0x7fffffff
} safetensors_write_flags;

/* Zeroed means the defaults; the reserved fields must be zero (see
   safetensors_options). */
typedef struct safetensors_write_options {
    safetensors_allocator allocator; /* all NULL: the default allocator */
    uint64_t max_header_size;        /* 0 means 100,000,000, the reader's default limit */
    /* The file offset where the data starts (8 + N) is made a multiple of
       this by padding the header with spaces: a power of two up to 65536,
       e.g. 4096 for O_DIRECT or GPU direct storage reads. 0 means 8, the
       reference's padding; 1, 2 and 4 also give 8 (a multiple of 8 is a
       multiple of them). Readers need nothing special: the spaces are JSON
       whitespace, and data offsets stay relative to the data start. */
    uint64_t alignment;
    uint32_t flags; /* safetensors_write_flags, OR-ed */
    uint32_t reserved32;
    uint64_t reserved[6];
    void *reserved_ptr[4];
} safetensors_write_options;

#define SAFETENSORS_MAX_ALIGNMENT 65536u

/* The callback sink: writes len > 0 bytes and returns how many it wrote;
   fewer than len is an error (SAFETENSORS_ERR_IO, sys_errno 0). */
typedef size_t (*safetensors_write_fn)(void *ctx, const void *bytes, size_t len);

/* Creates an empty writer. On success you own *out and must call
   safetensors_writer_destroy(*out). On failure *out is NULL. */
SAFETENSORS_API safetensors_result safetensors_writer_create(const safetensors_write_options *opt,
                                                             safetensors_writer **out, safetensors_error *err);

/* Adds one `__metadata__` entry. Entries are written in the order added.
   Both strings are copied; they may contain NUL. Refuses a repeated key
   (SAFETENSORS_ERR_DUPLICATE) and a key or value that is not UTF-8. */
SAFETENSORS_API safetensors_result safetensors_writer_add_metadata(safetensors_writer *w, const char *key,
                                                                   size_t key_len, const char *value,
                                                                   size_t value_len, safetensors_error *err);

/* Declares a tensor: its name (copied; UTF-8, may contain NUL), dtype and
   shape (ndim entries, copied; ndim 0 is a scalar). Its byte size is
   product(shape) x bits(dtype) / 8. The declaration index is the number of
   tensors added before it. */
SAFETENSORS_API safetensors_result safetensors_writer_add_tensor(safetensors_writer *w, const char *name,
                                                                 size_t name_len, safetensors_dtype dtype,
                                                                 size_t ndim, const uint64_t *shape,
                                                                 safetensors_error *err);

/* Fixes the layout: the data order, every tensor's offsets, the header size
   (checked against max_header_size). Optional: begin_* calls it. Afterwards
   add_* is refused. Calling it again does nothing. */
SAFETENSORS_API safetensors_result safetensors_writer_plan(safetensors_writer *w, safetensors_error *err);

/* The number of tensors declared. */
SAFETENSORS_API size_t safetensors_writer_tensor_count(const safetensors_writer *w);
/* After plan: the k-th tensor in data order, with begin/end its data
   offsets and data NULL; owned by the writer. NULL before plan or when
   k >= count. */
SAFETENSORS_API const safetensors_tensor *safetensors_writer_tensor_at(const safetensors_writer *w, size_t k);
/* After plan: which add_tensor call declared the k-th tensor in data order
   (0-based); (size_t)-1 before plan or when k >= count. */
SAFETENSORS_API size_t safetensors_writer_declaration_index(const safetensors_writer *w, size_t k);
/* After plan: N (padding included), 8 + N, the data section's length, and
   8 + N + data size. 0 before plan. */
SAFETENSORS_API uint64_t safetensors_writer_header_size(const safetensors_writer *w);
SAFETENSORS_API uint64_t safetensors_writer_data_start(const safetensors_writer *w);
SAFETENSORS_API uint64_t safetensors_writer_data_size(const safetensors_writer *w);
SAFETENSORS_API uint64_t safetensors_writer_file_size(const safetensors_writer *w);
/* While writing data: the data-order index of the tensor the next byte
   belongs to (zero-size tensors skipped), or tensor_count once every byte
   is in. tensor_count before begin_*. */
SAFETENSORS_API size_t safetensors_writer_next_tensor(const safetensors_writer *w);

/* Choose the sink and write the header. Each plans first if plan was not
   called. A refusal (bad argument, the temporary file cannot be created)
   leaves the writer ready for another begin_*; a failure to write the
   header is sticky. */
#ifndef SAFETENSORS_NO_STDIO
SAFETENSORS_API safetensors_result safetensors_writer_begin_file(safetensors_writer *w, const char *path,
                                                                 safetensors_error *err);
SAFETENSORS_API safetensors_result safetensors_writer_begin_fd(safetensors_writer *w, int fd,
                                                               safetensors_error *err);
SAFETENSORS_API safetensors_result safetensors_writer_begin_stream(safetensors_writer *w, FILE *stream,
                                                                   safetensors_error *err);
#endif
SAFETENSORS_API safetensors_result safetensors_writer_begin_memory(safetensors_writer *w, void *buffer,
                                                                   size_t capacity, safetensors_error *err);
SAFETENSORS_API safetensors_result safetensors_writer_begin_callback(safetensors_writer *w,
                                                                     safetensors_write_fn fn, void *ctx,
                                                                     safetensors_error *err);

/* The next len bytes of the data section, in data order; a piece may cross
   from one tensor into the next. Refuses (writing nothing) bytes beyond the
   end of the data section. */
SAFETENSORS_API safetensors_result safetensors_writer_write(safetensors_writer *w, const void *bytes, size_t len,
                                                            safetensors_error *err);
/* The next len bytes of tensor k (data order), checked against it: every
   tensor before k must be complete (SAFETENSORS_ERR_SIZE names the one that
   is not), and the piece must not run past k's end. Refused calls write
   nothing. Mixes freely with safetensors_writer_write. */
SAFETENSORS_API safetensors_result safetensors_writer_write_tensor(safetensors_writer *w, size_t k,
                                                                   const void *bytes, size_t len,
                                                                   safetensors_error *err);
/* Refuses (SAFETENSORS_ERR_SIZE, naming the tensor) while bytes are
   missing. Then flushes and commits the sink: fflush for a stream; fsync,
   close and rename for a file. After success only destroy may be called. */
SAFETENSORS_API safetensors_result safetensors_writer_finish(safetensors_writer *w, safetensors_error *err);
/* Frees the writer. Before a successful finish on a file sink it closes and
   removes the temporary file; other sinks keep what was written. NULL is a
   no-op. */
SAFETENSORS_API void safetensors_writer_destroy(safetensors_writer *w);

/* One tensor already in memory, for the one-call writers. */
typedef struct safetensors_tensor_input {
    const char *name;
    size_t name_len;
    safetensors_dtype dtype;
    size_t ndim;
    const uint64_t *shape;
    const void *data; /* size bytes, little-endian as stored in the file */
    uint64_t size;    /* must equal product(shape) x bits / 8 */
} safetensors_tensor_input;

/* Writes n tensors and m metadata entries (in that order in the file) with
   one call: the streaming writer underneath, so the file is replaced
   atomically as described under SINKS. Every size is checked before
   anything is written. metadata may be NULL when m is 0. */
#ifndef SAFETENSORS_NO_STDIO
SAFETENSORS_API safetensors_result safetensors_write_file(const char *path, const safetensors_tensor_input *tensors,
                                                          size_t n, const safetensors_metadata_entry *metadata,
                                                          size_t m, const safetensors_write_options *opt,
                                                          safetensors_error *err);
#endif
/* The same into memory allocated with the options' allocator: on success
   *out (*out_len bytes) is yours, to release with
   safetensors_write_memory_free and the same options. On failure *out is
   NULL and *out_len 0. */
SAFETENSORS_API safetensors_result safetensors_write_memory(const safetensors_tensor_input *tensors, size_t n,
                                                            const safetensors_metadata_entry *metadata, size_t m,
                                                            const safetensors_write_options *opt, void **out,
                                                            size_t *out_len, safetensors_error *err);
SAFETENSORS_API void safetensors_write_memory_free(const safetensors_write_options *opt, void *bytes, size_t len);

/* ---------------------------------------------------------------------
   Writing sharded checkpoints (not with SAFETENSORS_NO_STDIO)
   ---------------------------------------------------------------------
   The layout the transformers library writes and reads: shards
   <prefix>-00001-of-0000N.safetensors ... and <prefix>.safetensors.index.json,
       {
         "metadata": {
           "total_parameters": <the elements all tensors hold>,
           "total_size": <the bytes all tensors hold>
         },
         "weight_map": {
           "<tensor>": "<shard file>",
           ...
         }
       }
   byte for byte as Python's json.dumps(index, indent=2, sort_keys=True)
   + "\n" gives it: keys sorted (by code point, which is UTF-8 byte order),
   two-space indents, non-ASCII and control characters escaped as \uXXXX.
   (total_parameters is what transformers 4.5x writes beside total_size;
   older versions wrote total_size alone, and readers take either.)
   With one shard, the file is <prefix>.safetensors and there is no index
   (transformers' rule too). safetensors_model_open reads either.

   Shard assignment follows declaration order, filling each shard while
   its tensors' bytes stay within max_shard_size (headers not counted); a
   tensor larger than the limit gets a shard of its own. Metadata entries
   go into every shard's __metadata__ (transformers puts {"format": "pt"}
   in each).

   STREAMING, as the single-file writer: declare, begin (which plans every
   shard and creates its temporary file), then write the data tensor by
   tensor in the order safetensors_shard_writer_tensor_at gives (shard by
   shard, each in its writer's data order), then finish. Memory follows
   the declarations, never the data.

   ATOMICITY: until finish every shard is a temporary file beside its
   final name, and destroy, or any error before finish, removes them all,
   leaving the folder as it was. finish renames the shards into place, then
   writes the index the same way (temporary file, rename) last, so a
   reader that finds the index finds every shard it names. (A failure
   during those renames, e.g. a full disk on the index, can leave new
   shards beside an old index.) One open file per shard until finish.

   ERRORS are the single-file writer's; a declaration or write that is
   refused changes nothing. max_shard_size 0 gives SAFETENSORS_ERR_ARGUMENT.
   THREADS: one thread at a time per shard writer. NULL: as the writer. */
typedef struct safetensors_shard_writer safetensors_shard_writer;

#ifndef SAFETENSORS_NO_STDIO
/* opt: as for safetensors_writer_create (alignment and flags apply to
   every shard). On success you own *out: call safetensors_shard_writer_destroy. */
SAFETENSORS_API safetensors_result safetensors_shard_writer_create(const safetensors_write_options *opt,
                                                                   uint64_t max_shard_size,
                                                                   safetensors_shard_writer **out,
                                                                   safetensors_error *err);
SAFETENSORS_API safetensors_result safetensors_shard_writer_add_metadata(safetensors_shard_writer *sw, const char *key,
                                                                         size_t key_len, const char *value,
                                                                         size_t value_len, safetensors_error *err);
SAFETENSORS_API safetensors_result safetensors_shard_writer_add_tensor(safetensors_shard_writer *sw, const char *name,
                                                                       size_t name_len, safetensors_dtype dtype,
                                                                       size_t ndim, const uint64_t *shape,
                                                                       safetensors_error *err);
/* Plans the shards and creates their temporary files in `dir` (UTF-8; ""
   or NULL: the current folder; it must exist). `prefix` (NULL: "model")
   names the files. */
SAFETENSORS_API safetensors_result safetensors_shard_writer_begin(safetensors_shard_writer *sw, const char *dir,
                                                                  const char *prefix, safetensors_error *err);
/* After begin: the number of shards, and shard i's file name (owned by
   sw, NUL-terminated; NULL when i >= count). */
SAFETENSORS_API size_t safetensors_shard_writer_shard_count(const safetensors_shard_writer *sw);
SAFETENSORS_API const char *safetensors_shard_writer_shard_name(const safetensors_shard_writer *sw, size_t i);
/* After begin: tensor k in write order (0 <= k < tensor count), with its
   offsets within its shard, and the shard that holds it (shard may be
   NULL); NULL before begin or past the end. _declaration_index: which
   add_tensor call declared it ((size_t)-1 likewise). */
SAFETENSORS_API size_t safetensors_shard_writer_tensor_count(const safetensors_shard_writer *sw);
SAFETENSORS_API const safetensors_tensor *safetensors_shard_writer_tensor_at(const safetensors_shard_writer *sw,
                                                                             size_t k, size_t *shard);
SAFETENSORS_API size_t safetensors_shard_writer_declaration_index(const safetensors_shard_writer *sw, size_t k);
/* The next len bytes of tensor k, as safetensors_writer_write_tensor: the
   tensors of a shard are written in order, and a shard's tensors before
   the next shard's. */
SAFETENSORS_API safetensors_result safetensors_shard_writer_write_tensor(safetensors_shard_writer *sw, size_t k,
                                                                         const void *bytes, size_t len,
                                                                         safetensors_error *err);
/* Refuses (SAFETENSORS_ERR_SIZE, naming the tensor) while bytes are
   missing; then commits every shard and the index, as above. */
SAFETENSORS_API safetensors_result safetensors_shard_writer_finish(safetensors_shard_writer *sw,
                                                                   safetensors_error *err);
/* Before a successful finish, removes every temporary file. NULL: no-op. */
SAFETENSORS_API void safetensors_shard_writer_destroy(safetensors_shard_writer *sw);
#endif

#endif /* SAFETENSORS_NO_WRITER */

#ifdef __cplusplus
}
#endif

#endif /* SAFETENSORS_H */

/* =====================================================================
   IMPLEMENTATION
   Sections, each marked with a grep-able tag:
     >>config    allocator macros, platform headers
     >>alloc     the allocator and growable arrays
     >>error     error messages without stdio
     >>dtype     dtype and result tables
     >>hash      the name index
     >>parser    the streaming JSON header parser
     >>validate  offsets, sizes and coverage; the table handed out
     >>file      accessors
     >>memory    safetensors_open_memory
     >>os        files: POSIX and Windows, mmap and read()
     >>model     sharded checkpoints: the index and its shards
     >>convert   dtype conversions to and from F32
     >>writer    the streaming writer and its sinks
   ===================================================================== */
#ifdef SAFETENSORS_IMPLEMENTATION
#ifndef SAFETENSORS_IMPLEMENTATION_ONCE
#define SAFETENSORS_IMPLEMENTATION_ONCE

/* >>config ------------------------------------------------------------ */
#include <string.h>

#if defined(SAFETENSORS_MALLOC) || defined(SAFETENSORS_REALLOC) || defined(SAFETENSORS_FREE)
#if !defined(SAFETENSORS_MALLOC) || !defined(SAFETENSORS_REALLOC) || !defined(SAFETENSORS_FREE)
#error "safetensors.h: define SAFETENSORS_MALLOC, SAFETENSORS_REALLOC and SAFETENSORS_FREE together, or none"
#endif
#else
#include <stdlib.h>
#define SAFETENSORS_MALLOC(sz) malloc(sz)
#define SAFETENSORS_REALLOC(p, sz) realloc(p, sz)
#define SAFETENSORS_FREE(p) free(p)
#define SAFETENSORS__LIBC_MALLOC
#endif

#if defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MMAP)
#define SAFETENSORS_NO_MMAP
#endif

#ifndef SAFETENSORS_NO_STDIO
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <errno.h>
#include <io.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <unistd.h>
#ifndef SAFETENSORS_NO_MMAP
#include <sys/mman.h>
#endif
#endif
#endif

/* Linux's transparent huge pages, asked for the large tables that the
   C library's malloc gives (see safetensors__advise_huge). madvise is
   declared here when strict C headers hide it (and only then: C++ and
   _DEFAULT_SOURCE builds see glibc's own declaration). */
#if defined(__linux__) && !defined(SAFETENSORS_NO_MMAP) && defined(SAFETENSORS__LIBC_MALLOC)
#ifdef MADV_HUGEPAGE
#define SAFETENSORS__MADV_HUGEPAGE MADV_HUGEPAGE
#elif !defined(__cplusplus) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
                                defined(__arm__) || defined(__s390x__) || defined(__powerpc64__) || defined(__riscv))
int madvise(void *addr, size_t length, int advice);
#define SAFETENSORS__MADV_HUGEPAGE 14 /* the value on these architectures */
#endif
#endif

/* The conversions' intrinsic paths, where the compiler enables them. */
#if !defined(SAFETENSORS_NO_CONVERT) && !defined(SAFETENSORS_NO_SIMD) && (defined(__F16C__) || defined(__AVX2__))
#include <immintrin.h>
#ifdef __F16C__
#define SAFETENSORS__CV_F16C 1
#endif
#ifdef __AVX2__
#define SAFETENSORS__CV_AVX2 1
#endif
#endif
/* SSE2, which every x86-64 has: the parser's scan of names and the
   narrowings from F32 need nothing more, so they take it without any -m
   flag. */
#if !defined(SAFETENSORS_NO_SIMD) && \
    (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#include <emmintrin.h>
#define SAFETENSORS__SSE2 1
#endif
/* AArch64 (little-endian, GCC or Clang: the FPCR is read with inline asm). */
#if !defined(SAFETENSORS_NO_CONVERT) && !defined(SAFETENSORS_NO_SIMD) && defined(__aarch64__) && \
    defined(__ARM_NEON) && !defined(__ARM_BIG_ENDIAN) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>
#define SAFETENSORS__CV_NEON 1
#endif

/* Hints that an address will be written or read soon: the table builds
   touch memory far apart, where the next miss can start before this one
   ends, and the conversions stream through arrays faster than some
   machines' hardware prefetchers fetch them. */
#if defined(__GNUC__) || defined(__clang__)
#define SAFETENSORS__PREFETCH_WRITE(addr) __builtin_prefetch((addr), 1)
#define SAFETENSORS__PREFETCH_READ(addr) __builtin_prefetch((addr), 0)
#else
#define SAFETENSORS__PREFETCH_WRITE(addr) ((void)0)
#define SAFETENSORS__PREFETCH_READ(addr) ((void)0)
#endif

/* GCC's -O2 inlines a static function called more than once only if it is
   marked inline. The conversions' element helpers must be inlined for
   their loops to vectorise, and a find's steps for its cache misses to
   overlap with the next find's: as calls, their saved registers and
   returns filled the window of instructions the processor looks ahead
   through. The parser's appends and number reads are marked where the
   bench measured a gain (a 100k-tensor open took some 15% less time);
   marking push_entry as well made the open slower. */
#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#define SAFETENSORS__INLINE inline
#elif defined(_MSC_VER)
#define SAFETENSORS__INLINE __inline
#else
#define SAFETENSORS__INLINE
#endif

/* A pass that walks forward through a header or a table asks for the line
   `ahead` bytes past p, when that is still within the `left` bytes from p
   on. On this project's bench machine the hardware prefetcher did not keep
   up with such passes once they outgrew the caches: at a million tensors
   the open ran 25% faster with these hints. Macros, not a function: GCC
   12 found such a function free of side effects and dropped its calls. */
#define SAFETENSORS__HINT_AHEAD(how, p, left, ahead)                                    \
    do {                                                                               \
        if ((size_t)(left) > (size_t)(ahead)) how((const char *)(p) + (size_t)(ahead)); \
    } while (0)

#define SAFETENSORS__LENGTH_BYTES 8u
#define SAFETENSORS__MAX_DEPTH 127 /* serde_json's recursion limit: the 128th container fails */

/* >>alloc ------------------------------------------------------------- */

static int safetensors__allocator_is_valid(const safetensors_allocator *a)
{
    /* allocate without deallocate (or the reverse) cannot work; reallocate alone is optional */
    return (a->allocate == NULL) == (a->deallocate == NULL) && (a->allocate != NULL || a->reallocate == NULL);
}

#define SAFETENSORS__OPEN_FLAGS_KNOWN                                                                        \
    ((uint32_t)SAFETENSORS_READ_INTO_MEMORY | (uint32_t)SAFETENSORS_HEADER_ONLY | (uint32_t)SAFETENSORS_PREFETCH | \
     (uint32_t)SAFETENSORS_MODEL_LAZY | (uint32_t)SAFETENSORS_MODEL_ALLOW_UNLISTED | (uint32_t)SAFETENSORS_ALIGNED_COPY)
#define SAFETENSORS__WRITE_FLAGS_KNOWN ((uint32_t)SAFETENSORS_WRITE_EMPTY_METADATA | (uint32_t)SAFETENSORS_WRITE_NO_SYNC)

/* What both option structs share: the allocator, the flags and the reserved
   fields. NULL when they are usable, else why not (an ARGUMENT error). A
   flag or field this version does not know is refused rather than ignored:
   the caller asked for something this library cannot do. */
static const char *safetensors__options_problem(const safetensors_allocator *a, uint32_t flags, uint32_t known,
                                                uint32_t reserved32, const uint64_t *reserved,
                                                void *const *reserved_ptr, size_t reserved_ptrs)
{
    size_t k;
    if (!safetensors__allocator_is_valid(a)) return "the allocator needs both allocate and deallocate";
    if (flags & ~known) return "unknown flags: this library is older than the header the program was built with";
    for (k = 0; k < 6; k++) reserved32 |= (reserved[k] != 0);
    for (k = 0; k < reserved_ptrs; k++) reserved32 |= (reserved_ptr[k] != NULL);
    return reserved32 ? "the reserved option fields must be zero" : NULL;
}

/* model_io took reserved_ptr[0]'s place: the options keep the size and
   layout of 0.1.0 (allocator, 72 bytes of integers, four pointers) on
   32- and 64-bit hosts alike, so a shared library and its callers agree. */
typedef char safetensors__options_layout_check[(sizeof(safetensors_options) == 8 * sizeof(void *) + 72 &&
                                                offsetof(safetensors_options, model_io) ==
                                                    sizeof(safetensors_options) - 4 * sizeof(void *))
                                                   ? 1
                                                   : -1];

/* Copies the caller's options (NULL: the defaults) and checks them. */
static const char *safetensors__open_options(const safetensors_options *opt, safetensors_options *out)
{
    if (opt) *out = *opt;
    else memset(out, 0, sizeof *out);
    return safetensors__options_problem(&out->allocator, out->flags, SAFETENSORS__OPEN_FLAGS_KNOWN, out->reserved32,
                                        out->reserved, out->reserved_ptr, 3);
}

static void *safetensors__alloc(const safetensors_allocator *a, size_t size)
{
    if (size == 0) size = 1;
    if (a->allocate) return a->allocate(a->ctx, size);
    return SAFETENSORS_MALLOC(size);
}

/* A table of len bytes at p, not yet filled, asks for 2 MiB pages: one
   page fault instead of 512 as it fills, and one TLB entry for a lookup's
   miss instead of several. Only with the C library's malloc, whose large
   blocks are the process's own mappings; a caller's allocator may have
   plans for its memory. A hint: nothing depends on it. */
static void safetensors__advise_huge(const safetensors_allocator *a, void *p, size_t len)
{
#ifdef SAFETENSORS__MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)1 << 21;
    uintptr_t from = ((uintptr_t)p + huge - 1u) & ~(huge - 1u), to = ((uintptr_t)p + len) & ~(huge - 1u);
    if (a->allocate == NULL && p != NULL && to > from)
        (void)madvise((void *)from, (size_t)(to - from), SAFETENSORS__MADV_HUGEPAGE);
#else
    (void)a;
    (void)p;
    (void)len;
#endif
}

static void safetensors__free(const safetensors_allocator *a, void *ptr, size_t size)
{
    if (ptr == NULL) return;
    if (a->deallocate) a->deallocate(a->ctx, ptr, size == 0 ? 1 : size);
    else SAFETENSORS_FREE(ptr);
}

static void *safetensors__realloc(const safetensors_allocator *a, void *ptr, size_t old_size, size_t new_size)
{
    void *fresh;
    if (ptr == NULL) return safetensors__alloc(a, new_size);
    if (a->allocate == NULL) return SAFETENSORS_REALLOC(ptr, new_size);
    if (a->reallocate) return a->reallocate(a->ctx, ptr, old_size, new_size);
    fresh = a->allocate(a->ctx, new_size);
    if (fresh == NULL) return NULL;
    memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    a->deallocate(a->ctx, ptr, old_size == 0 ? 1 : old_size);
    return fresh;
}

/* Resizes to exactly fresh_cap elements (as grow, without the doubling). */
static void *safetensors__grow_to(const safetensors_allocator *a, void *array, size_t *cap, size_t fresh_cap,
                                  size_t elem)
{
    void *fresh;
    if (fresh_cap > (size_t)-1 / elem) return NULL;
    fresh = safetensors__realloc(a, array, *cap * elem, fresh_cap * elem);
    if (fresh == NULL) return NULL;
    safetensors__advise_huge(a, fresh, fresh_cap * elem);
    *cap = fresh_cap;
    return fresh;
}

/* Makes room for `need` elements of `elem` bytes, doubling, so that growth
   follows what was actually read. Returns the (possibly moved) array, or NULL
   when memory runs out, in which case the old array is untouched. */
static void *safetensors__grow(const safetensors_allocator *a, void *array, size_t *cap, size_t need, size_t elem)
{
    size_t fresh_cap;
    if (need <= *cap) return array;
    fresh_cap = *cap ? *cap : 16;
    while (fresh_cap < need) {
        if (fresh_cap > ((size_t)-1 / 2)) return NULL;
        fresh_cap *= 2;
    }
    return safetensors__grow_to(a, array, cap, fresh_cap, elem);
}

/* >>error ------------------------------------------------------------- */
/* Messages are built by appending into the fixed buffer, truncating, so that
   the library needs no snprintf (and so no stdio) and can never overflow. */

static void safetensors__err_set(safetensors_error *e, safetensors_result code, uint64_t offset)
{
    e->code = code;
    e->offset = offset;
    e->sys_errno = 0;
    e->message[0] = '\0';
}

/* Appends at most `most` bytes of text, as many as fit, and never part of a
   UTF-8 character: the message stays valid UTF-8 when it is cut. */
static void safetensors__err_add_part(safetensors_error *e, const char *text, size_t most)
{
    size_t used = strlen(e->message);
    size_t n = strlen(text);
    if (most > sizeof e->message - 1 - used) most = sizeof e->message - 1 - used;
    if (n > most) {
        n = most;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80) n--;
    }
    memcpy(e->message + used, text, n);
    e->message[used + n] = '\0';
}

static void safetensors__err_add(safetensors_error *e, const char *text)
{
    safetensors__err_add_part(e, text, (size_t)-1);
}

static void safetensors__err_add_u64(safetensors_error *e, uint64_t v)
{
    char digits[24];
    size_t at = sizeof digits - 1;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    safetensors__err_add(e, digits + at);
}

/* A UTF-8 lead byte (0x80 and above): how many continuation bytes follow,
   and the range the first of them must fall in, which rules out overlong
   forms, UTF-16 surrogates and code points above U+10FFFF (what Rust's str
   accepts). 0 for a byte that cannot start a sequence. */
static int safetensors__utf8_rules(unsigned c, unsigned *need, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) *need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        *need = 2;
        if (c == 0xe0) *lo = 0xa0;
        if (c == 0xed) *hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        *need = 3;
        if (c == 0xf0) *lo = 0x90;
        if (c == 0xf4) *hi = 0x8f;
    } else return 0;
    return 1;
}

/* The length of the UTF-8 character that s[0, n) (n > 0) starts with, or 0
   when s[0] does not start one that Rust's str would accept. */
static size_t safetensors__utf8_char(const unsigned char *s, size_t n)
{
    unsigned need;
    unsigned char lo, hi;
    size_t k;
    if (s[0] < 0x80) return 1;
    if (!safetensors__utf8_rules(s[0], &need, &lo, &hi) || n - 1 < need || s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k <= need; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    return need + 1;
}

/* How many bytes of s[0, n) the next unit of a quoted name takes, and in
   *width how many it takes quoted: a whole UTF-8 character as it is, `"`
   and `\` after a backslash, a control byte or a byte that starts no UTF-8
   character as \xNN. */
static size_t safetensors__quote_unit(const unsigned char *s, size_t n, size_t *width)
{
    size_t k = safetensors__utf8_char(s, n);
    if (k == 0 || s[0] < 0x20 || s[0] == 0x7f) {
        *width = 4;
        return 1;
    }
    *width = s[0] == '"' || s[0] == '\\' ? 2 : k;
    return k;
}

/* A name in quotes, escaped so that the message stays one printable line of
   valid UTF-8 whatever the name holds. When quoting it takes more than
   `room` bytes, whole units are left out for "...": at the end for a name
   (its start says most), at the start for a path (its file name does). */
static void safetensors__err_add_quoted(safetensors_error *e, const char *name, size_t len, size_t room,
                                        int keep_end)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)((const void *)name);
    char quoted[sizeof e->message];
    size_t total = 0, from = 0, to = len, budget, i, k, w, out = 0;
    if (room > sizeof quoted - 1) room = sizeof quoted - 1;
    for (i = 0; i < len; i += k, total += w) k = safetensors__quote_unit(s + i, len - i, &w);
    if (total + 2 > room) {
        budget = room > 5 ? room - 5 : 0; /* two quotes and "..." */
        if (keep_end) {
            for (; total > budget; from += k, total -= w) k = safetensors__quote_unit(s + from, len - from, &w);
        } else {
            for (to = 0, total = 0;; to += k, total += w) {
                k = safetensors__quote_unit(s + to, len - to, &w);
                if (total + w > budget) break;
            }
        }
    }
    quoted[out++] = '"';
    if (from > 0) {
        memcpy(quoted + out, "...", 3);
        out += 3;
    }
    for (i = from; i < to; i += k) {
        k = safetensors__quote_unit(s + i, len - i, &w);
        if (k == 1 && w == 4) {
            quoted[out++] = '\\';
            quoted[out++] = 'x';
            quoted[out++] = hex[s[i] >> 4];
            quoted[out++] = hex[s[i] & 15];
        } else {
            if (k == 1 && w == 2) quoted[out++] = '\\';
            memcpy(quoted + out, s + i, k);
            out += k;
        }
    }
    if (to < len) {
        memcpy(quoted + out, "...", 3);
        out += 3;
    }
    quoted[out++] = '"';
    quoted[out] = '\0';
    safetensors__err_add(e, quoted);
}

/* A name in quotes, cut short so that the rest of the message still fits. */
static void safetensors__err_add_name(safetensors_error *e, const char *name, size_t len)
{
    safetensors__err_add_quoted(e, name, len, 100, 0);
}

static safetensors_result safetensors__err_simple(safetensors_error *e, safetensors_result code, uint64_t offset,
                                                  const char *text)
{
    safetensors__err_set(e, code, offset);
    safetensors__err_add(e, text);
    return code;
}

static void safetensors__err_copy_out(safetensors_error *out, const safetensors_error *e)
{
    if (out) *out = *e;
}

#if !defined(SAFETENSORS_NO_STDIO) || !defined(SAFETENSORS_NO_WRITER)
/* Where a system error number comes from: the OS (errno on POSIX,
   GetLastError() on Windows), or the C library's errno (on POSIX the same). */
#define SAFETENSORS__SYS_OS 0
#define SAFETENSORS__SYS_CRT 1

#ifndef SAFETENSORS_NO_STDIO
static const char *safetensors__os_error_text(int sys, int source, char *out, size_t cap); /* >>os */
#endif

/* An I/O failure: `what "path": words (errno N)`, where the words are the
   system's for `sys` (where it has them), or `why` when sys is 0; the path
   and the words may be absent. The number is kept whole at the end, the
   words get at most half the line, and the path gives up its start (its
   file name says most) to what is left. sys_errno is sys. */
static safetensors_result safetensors__err_io(safetensors_error *e, int sys, int source, const char *what,
                                              const char *path, size_t path_len, const char *why)
{
#ifndef SAFETENSORS_NO_STDIO
    char text[800];
#endif
    const char *words = why ? why : "";
    safetensors_error number;
    size_t line = sizeof e->message - 1, tail;
    safetensors__err_set(&number, SAFETENSORS_ERR_IO, 0);
    (void)source;
    if (sys != 0) {
        const char *label = "errno";
#ifndef SAFETENSORS_NO_STDIO
        label = safetensors__os_error_text(sys, source, text, sizeof text);
        words = text;
#endif
        safetensors__err_add(&number, " (");
        safetensors__err_add(&number, label);
        safetensors__err_add(&number, " ");
        /* as unsigned: a Windows error is a DWORD, and nothing is negated */
        safetensors__err_add_u64(&number, (uint64_t)(unsigned)sys);
        safetensors__err_add(&number, ")");
    }
    tail = strlen(words) < line / 2 ? strlen(words) : line / 2;
    tail = (tail ? tail + 2 : 0) + strlen(number.message);
    safetensors__err_set(e, SAFETENSORS_ERR_IO, 0);
    e->sys_errno = sys;
    safetensors__err_add(e, what);
    if (path) {
        size_t used = strlen(e->message) + 1 + tail;
        safetensors__err_add(e, " ");
        safetensors__err_add_quoted(e, path, path_len, used < line ? line - used : 0, 1);
    }
    if (words[0]) {
        size_t used = strlen(e->message) + 2 + strlen(number.message);
        safetensors__err_add(e, ": ");
        safetensors__err_add_part(e, words, used < line ? line - used : 0);
    }
    safetensors__err_add(e, number.message);
    return SAFETENSORS_ERR_IO;
}
#endif

/* >>dtype ------------------------------------------------------------- */

static const char *const safetensors__dtype_names[SAFETENSORS_DTYPE_COUNT] = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
    "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64",
    "F4", "F6_E2M3", "F6_E3M2"};

static const unsigned char safetensors__dtype_name_lengths[SAFETENSORS_DTYPE_COUNT] = {
    4, 2, 2, 7, 7, 7, 11, 11, 3, 3, 3, 4, 3, 3, 3, 3, 3, 3, 3, 2, 7, 7};

static const unsigned char safetensors__dtype_bit_table[SAFETENSORS_DTYPE_COUNT] = {
    8, 8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64, 4, 6, 6};

static const char *const safetensors__result_names[SAFETENSORS_RESULT_COUNT] = {
    "SAFETENSORS_OK", "SAFETENSORS_ERR_IO", "SAFETENSORS_ERR_NOMEM", "SAFETENSORS_ERR_ARGUMENT",
    "SAFETENSORS_ERR_HEADER_TOO_SMALL", "SAFETENSORS_ERR_HEADER_TOO_LARGE", "SAFETENSORS_ERR_HEADER_LENGTH",
    "SAFETENSORS_ERR_UTF8", "SAFETENSORS_ERR_JSON", "SAFETENSORS_ERR_SCHEMA", "SAFETENSORS_ERR_DTYPE",
    "SAFETENSORS_ERR_DUPLICATE", "SAFETENSORS_ERR_OFFSETS", "SAFETENSORS_ERR_OVERFLOW",
    "SAFETENSORS_ERR_MISALIGNED", "SAFETENSORS_ERR_SIZE", "SAFETENSORS_ERR_COVERAGE",
    "SAFETENSORS_ERR_NOT_FOUND", "SAFETENSORS_ERR_TOO_LARGE"};

static const char *const safetensors__result_strings[SAFETENSORS_RESULT_COUNT] = {
    "success",
    "the file could not be opened, read or mapped",
    "out of memory",
    "invalid argument",
    "the file is shorter than the 8-byte header length",
    "the header length exceeds the maximum header size",
    "the header runs past the end of the file",
    "the header is not valid UTF-8",
    "the header is not valid JSON",
    "the header's JSON does not describe tensors",
    "unknown or unsupported dtype",
    "a name, key or field appears twice",
    "tensor byte ranges leave a hole, overlap, or are reversed",
    "a tensor's size overflows 64 bits",
    "a sub-byte tensor does not end on a byte boundary",
    "a tensor's byte range does not match its dtype and shape",
    "the tensors do not cover the data section exactly",
    "not found",
    "the file is too large for this host's address space"};

SAFETENSORS_API const char *safetensors_dtype_name(safetensors_dtype d)
{
    if ((int)d < 0 || (int)d >= (int)SAFETENSORS_DTYPE_COUNT) return NULL;
    return safetensors__dtype_names[d];
}

SAFETENSORS_API unsigned safetensors_dtype_bits(safetensors_dtype d)
{
    if ((int)d < 0 || (int)d >= (int)SAFETENSORS_DTYPE_COUNT) return 0;
    return safetensors__dtype_bit_table[d];
}

/* The one dtype a name could be, from its length and a character or two;
   the caller then compares the whole name. Runs once per tensor, so it is
   worth not scanning the table. */
static int safetensors__dtype_candidate(const char *s, size_t len)
{
    switch (len) {
    case 2: return s[0] == 'U' ? SAFETENSORS_U8 : s[0] == 'I' ? SAFETENSORS_I8 : SAFETENSORS_F4;
    case 3:
        switch (s[1]) {
        case '1': return s[0] == 'I' ? SAFETENSORS_I16 : s[0] == 'U' ? SAFETENSORS_U16 : SAFETENSORS_F16;
        case '3': return s[0] == 'I' ? SAFETENSORS_I32 : s[0] == 'U' ? SAFETENSORS_U32 : SAFETENSORS_F32;
        case '6':
            return s[0] == 'I' ? SAFETENSORS_I64 : s[0] == 'U' ? SAFETENSORS_U64 : s[0] == 'C' ? SAFETENSORS_C64
                                                                                              : SAFETENSORS_F64;
        default: return -1;
        }
    case 4: return s[1] == 'O' ? SAFETENSORS_BOOL : SAFETENSORS_BF16;
    case 7:
        if (s[1] == '6') return s[4] == '2' ? SAFETENSORS_F6_E2M3 : SAFETENSORS_F6_E3M2;
        return s[4] == '5' ? SAFETENSORS_F8_E5M2 : s[4] == '4' ? SAFETENSORS_F8_E4M3 : SAFETENSORS_F8_E8M0;
    case 11: return s[4] == '4' ? SAFETENSORS_F8_E4M3FNUZ : SAFETENSORS_F8_E5M2FNUZ;
    default: return -1;
    }
}

SAFETENSORS_API safetensors_result safetensors_dtype_from_name(const char *name, size_t len, safetensors_dtype *out)
{
    int d;
    size_t k;
    if (name == NULL && len != 0) return SAFETENSORS_ERR_ARGUMENT;
    d = name ? safetensors__dtype_candidate(name, len) : -1;
    if (d < 0 || safetensors__dtype_name_lengths[d] != len) return SAFETENSORS_ERR_DTYPE;
    for (k = 0; k < len; k++) /* at most 11 bytes: a call to memcmp costs more, on every tensor of a header */
        if (safetensors__dtype_names[d][k] != name[k]) return SAFETENSORS_ERR_DTYPE;
    if (out) *out = (safetensors_dtype)d;
    return SAFETENSORS_OK;
}

SAFETENSORS_API uint32_t safetensors_version(void)
{
    return (uint32_t)SAFETENSORS_VERSION_NUMBER;
}

SAFETENSORS_API const char *safetensors_result_name(safetensors_result r)
{
    if ((int)r < 0 || (int)r >= (int)SAFETENSORS_RESULT_COUNT) return NULL;
    return safetensors__result_names[r];
}

SAFETENSORS_API const char *safetensors_result_string(safetensors_result r)
{
    if ((int)r < 0 || (int)r >= (int)SAFETENSORS_RESULT_COUNT) return NULL;
    return safetensors__result_strings[r];
}

/* "F32 [4, 5]" */
static void safetensors__err_add_dtype_shape(safetensors_error *e, unsigned dtype, const uint64_t *shape, size_t ndim)
{
    size_t k;
    safetensors__err_add(e, safetensors__dtype_names[dtype]);
    safetensors__err_add(e, " [");
    for (k = 0; k < ndim; k++) {
        if (k) safetensors__err_add(e, ", ");
        safetensors__err_add_u64(e, shape[k]);
    }
    safetensors__err_add(e, "]");
}

/* The size of dtype x shape, in the reference's order of checks: the
   element count, then the bit count, must fit in 64 bits, and the bits must
   end on a byte boundary. OK, OVERFLOW or MISALIGNED; on OVERFLOW, *bits is
   0 when the element count itself overflowed. On MISALIGNED *bytes is
   rounded up, for callers that accept a partial last byte. */
static safetensors_result safetensors__tensor_size(unsigned dtype, const uint64_t *shape, size_t ndim,
                                                   uint64_t *elements, uint64_t *bits, uint64_t *bytes)
{
    uint64_t n = 1, width = safetensors__dtype_bit_table[dtype];
    size_t k;
    *bits = *bytes = 0;
    for (k = 0; k < ndim; k++) {
        if (shape[k] != 0 && n > UINT64_MAX / shape[k]) return SAFETENSORS_ERR_OVERFLOW;
        n *= shape[k];
    }
    *elements = n;
    if (n > UINT64_MAX / width) {
        *bits = 1; /* nonzero: it is the bit count that overflowed */
        return SAFETENSORS_ERR_OVERFLOW;
    }
    *bits = n * width;
    *bytes = *bits / 8u + (*bits % 8u != 0);
    return *bits % 8u ? SAFETENSORS_ERR_MISALIGNED : SAFETENSORS_OK;
}

/* What safetensors__tensor_size refused, for a message that already names
   the tensor: "the element count of F32 [..] overflows 64 bits" and such. */
static void safetensors__err_add_size_problem(safetensors_error *e, safetensors_result code, unsigned dtype,
                                              const uint64_t *shape, size_t ndim, uint64_t bits)
{
    if (code == SAFETENSORS_ERR_OVERFLOW) safetensors__err_add(e, bits ? "the bit size of " : "the element count of ");
    safetensors__err_add_dtype_shape(e, dtype, shape, ndim);
    if (code == SAFETENSORS_ERR_OVERFLOW) {
        safetensors__err_add(e, " overflows 64 bits");
        return;
    }
    safetensors__err_add(e, " is ");
    safetensors__err_add_u64(e, bits);
    safetensors__err_add(e, " bits, which do not end on a byte boundary");
}

/* >>hash -------------------------------------------------------------- */
/* The name index, one for every hashed table of names: a file's tensors, a
   model's tensors, metadata keys and shard names, the writer's declarations
   (a file's metadata keys use the compact sorted table further below).
   Open addressing with linear probing, at most two thirds full. The
   capacity is not a power of two: a hash maps to a slot by a multiply and
   a shift, so the table is sized to its names (8 bytes a slot, 12 a name)
   instead of up to twice that. The index keeps no names: a table's name_fn
   gives the name of entry i, so that tables may move as they grow.

   A slot is one 64-bit word: i + 1, then (for tables whose names lie in
   one arena: a file's tensors, an index's weight_map) the name's offset in
   the arena and its length up to 254 (255: longer, ask name_fn), then as
   many bits of the hash as are left, at most 32; 0 marks an empty slot.
   With the name's place in the slot, a find reads the slot, then the name,
   and never the row: two cache misses in a row instead of three (slot,
   row, then the name the row points to).

   Names crafted to collide cannot make it slow. A name that finds no free
   slot within SAFETENSORS__PROBE_LIMIT of its home spills into sorted runs
   of (hash, name), kept as the binary digits of their count (like a binary
   counter: a run of 1, merged into runs of 2, 4, ...), each searched by
   bisection. So building costs O(n log n) and a lookup O(probe limit +
   log^2 n) whatever the names are and whatever an attacker knows of the
   seed; a sealed index merges its runs into one, for O(log n) lookups. */

#define SAFETENSORS__PROBE_LIMIT 16u

typedef uint64_t safetensors__slot;

typedef struct safetensors__index {
    safetensors__slot *slots;
    size_t cap;               /* slots; 0 before init */
    safetensors__slot *spill; /* runs sorted by (tag, name), largest first */
    size_t spill_count, spill_cap;
    int sealed;               /* the spill is one run */
    const char *base;         /* names are at base + the slot's offset; NULL: ask name_fn */
    unsigned off_bits;        /* the offset's width; 0 without base */
    unsigned len_bits;        /* the length's width: 8, or 0 (without base, or no room) */
    unsigned tag_bits;        /* the hash's bits kept, low ones */
} safetensors__index;

/* The name of entry i of a table, and its length. */
typedef const char *(*safetensors__name_fn)(const void *table, size_t i, size_t *len);

#define SAFETENSORS__ADDED ((size_t)-1)
#define SAFETENSORS__ADD_NOMEM ((size_t)-2)

static SAFETENSORS__INLINE int safetensors__same8(const unsigned char *a, const unsigned char *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return x == y;
}

/* a[0..n) == b[0..n), a word at a time, the last word overlapping the one
   before: names and literals are short, and a call to memcmp costs more
   than the comparison. */
static SAFETENSORS__INLINE int safetensors__bytes_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t k;
    if (n >= 8) {
        for (k = 0; k + 8 < n; k += 8)
            if (!safetensors__same8(x + k, y + k)) return 0;
        return safetensors__same8(x + n - 8, y + n - 8);
    }
    for (k = 0; k < n; k++)
        if (x[k] != y[k]) return 0;
    return 1;
}

/* memcmp order, then the shorter first: the order of names everywhere in
   the library (tables, models, the writer's data order). */
static int safetensors__name_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = (a_len && b_len) ? memcmp(a, b, a_len < b_len ? a_len : b_len) : 0;
    if (c != 0) return c;
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* Unseeded, a hash is a fixed function an attacker can aim at; the seed
   only keeps the average case fast, the spill keeps the worst case bounded.
   The test suites can force every name onto one hash
   (SAFETENSORS_TEST_FORCE_HASH) to walk the collision paths; there is no
   such switch in a normal build. */
static SAFETENSORS__INLINE uint32_t safetensors__hash(uint64_t seed, const char *s, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15u;
    uint64_t h = seed ^ ((uint64_t)n * k), w = 0;
    if (n >= 8) {
        /* the last word overlaps the one before instead of a byte loop: its
           length-dependent branches, mispredicted on names of mixed
           lengths, kept a find's cache misses from overlapping */
        size_t at;
        for (at = 0; at + 8 < n; at += 8) {
            memcpy(&w, s + at, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdu;
            h ^= h >> 32;
        }
        memcpy(&w, s + n - 8, 8);
    } else {
        size_t i;
        for (i = 0; i < n; i++) w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    h *= k;
    h ^= h >> 32;
#ifdef SAFETENSORS_TEST_FORCE_HASH
    return (uint32_t)SAFETENSORS_TEST_FORCE_HASH((uint32_t)h);
#else
    return (uint32_t)h;
#endif
}

#if !defined(SAFETENSORS_NO_STDIO) && !defined(_WIN32) &&                                                       \
    ((defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))) || defined(__APPLE__) || \
     defined(__OpenBSD__))
#define SAFETENSORS__HAVE_GETENTROPY
/* declared here: strict C99 headers hide it behind feature macros */
#ifdef __cplusplus
extern "C"
#endif
int getentropy(void *buffer, size_t length);
#endif

/* The caller's seed, or one of our own: the kernel's randomness where the
   platform has it, mixed with an address (ASLR) where it has not. */
static uint64_t safetensors__pick_seed(uint64_t given, const void *addr)
{
    uint64_t seed = (uint64_t)(uintptr_t)addr * 0x9e3779b97f4a7c15u;
#ifdef SAFETENSORS__HAVE_GETENTROPY
    uint64_t random = 0;
    if (getentropy(&random, sizeof random) == 0) seed ^= random;
#endif
    return given ? given : seed;
}

static void safetensors__index_free(const safetensors_allocator *a, safetensors__index *ix)
{
    safetensors__free(a, ix->slots, ix->cap * sizeof *ix->slots);
    safetensors__free(a, ix->spill, ix->spill_cap * sizeof *ix->spill);
    memset(ix, 0, sizeof *ix);
}

static unsigned safetensors__bit_width(uint64_t v)
{
    unsigned bits = 0;
    while (v) {
        bits++;
        v >>= 1;
    }
    return bits;
}

/* Sized once for `count` names, at most two thirds full. `base` (may be
   NULL) is where every name lies, within base_len bytes: the slots then
   keep each name's offset, and its length if `lengths`, as far as they fit
   beside i + 1 (headers of gigabytes leave the length out, and past 100 GB
   the offset too). A table whose finds read the entry anyway (a model's,
   for the view) keeps no lengths: reading them from the entry, beside the
   name, brings the entry in on the way. Returns 0 when memory runs out. */
static int safetensors__index_init(const safetensors_allocator *a, safetensors__index *ix, size_t count,
                                   const char *base, size_t base_len, int lengths)
{
    size_t cap;
    unsigned used;
    memset(ix, 0, sizeof *ix);
    if (count > ((size_t)UINT32_MAX - 16u) / 3u * 2u) return 0; /* slots are found by a 32-bit multiply */
    cap = count + count / 2u + 16u;
    if (cap > (size_t)-1 / sizeof *ix->slots) return 0;
    ix->base = base;
    ix->off_bits = base ? safetensors__bit_width(base_len) : 0u;
    ix->len_bits = base && lengths ? 8u : 0u;
    used = safetensors__bit_width(cap) + ix->off_bits + ix->len_bits;
    if (used > 64u) {
        used -= ix->len_bits;
        ix->len_bits = 0;
    }
    if (used > 64u) {
        used -= ix->off_bits;
        ix->off_bits = 0;
        ix->base = NULL;
    }
    ix->tag_bits = used > 32u ? 64u - used : 32u;
    ix->slots = (safetensors__slot *)(safetensors__alloc(a, cap * sizeof *ix->slots));
    if (ix->slots == NULL) return 0;
    safetensors__advise_huge(a, ix->slots, cap * sizeof *ix->slots);
    memset(ix->slots, 0, cap * sizeof *ix->slots);
    ix->cap = cap;
    return 1;
}

/* The bits of a hash that a slot keeps. */
static SAFETENSORS__INLINE uint64_t safetensors__slot_tag(const safetensors__index *ix, uint32_t hash)
{
    return hash & (((uint64_t)1 << ix->tag_bits) - 1u);
}

#define SAFETENSORS__LONG_NAME 255u /* the length field's "ask name_fn" */

static safetensors__slot safetensors__slot_make(const safetensors__index *ix, uint32_t hash, size_t i, const char *name,
                                                size_t len)
{
    uint64_t ref = (uint64_t)(i + 1u) << ix->off_bits;
    if (ix->base) ref |= (uint64_t)(name - ix->base);
    if (ix->len_bits) ref = ref << ix->len_bits | (len < SAFETENSORS__LONG_NAME ? len : SAFETENSORS__LONG_NAME);
    return ref << ix->tag_bits | safetensors__slot_tag(ix, hash);
}

/* The entry a slot holds. */
static SAFETENSORS__INLINE size_t safetensors__slot_entry(const safetensors__index *ix, safetensors__slot x)
{
    return (size_t)(x >> ix->tag_bits >> ix->len_bits >> ix->off_bits) - 1u;
}

/* The name of a slot's entry: from the slot alone when it has the name's
   place and length, so that a find does not wait for the row. */
static SAFETENSORS__INLINE const char *safetensors__slot_name(const safetensors__index *ix, safetensors__slot x,
                                                              safetensors__name_fn name_of, const void *table,
                                                              size_t *len)
{
    uint64_t at = x >> ix->tag_bits;
    size_t short_len = (size_t)(at & (((uint64_t)1 << ix->len_bits) - 1u));
    const char *name;
    if (ix->base == NULL) return name_of(table, safetensors__slot_entry(ix, x), len);
    name = ix->base + (size_t)((at >> ix->len_bits) & (((uint64_t)1 << ix->off_bits) - 1u));
    if (ix->len_bits && short_len < SAFETENSORS__LONG_NAME) *len = short_len;
    else (void)name_of(table, safetensors__slot_entry(ix, x), len);
    return name;
}

/* <0, 0, >0 as slot x orders before, with, after (tag of hash, name). */
static int safetensors__slot_compare(const safetensors__index *ix, safetensors__slot x, uint32_t hash, const char *s,
                                     size_t n, safetensors__name_fn name_of, const void *table)
{
    uint64_t tag = safetensors__slot_tag(ix, hash), at = safetensors__slot_tag(ix, (uint32_t)x);
    size_t len;
    const char *name;
    if (at != tag) return at < tag ? -1 : 1;
    name = safetensors__slot_name(ix, x, name_of, table, &len);
    return safetensors__name_compare(name, len, s, n);
}

/* Bisects the spill run [lo, hi); the entry's index or (size_t)-1. */
static size_t safetensors__run_find(const safetensors__index *ix, size_t lo, size_t hi, uint32_t hash, const char *s,
                                    size_t n, safetensors__name_fn name_of, const void *table)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = safetensors__slot_compare(ix, ix->spill[mid], hash, s, n, name_of, table);
        if (c == 0) return safetensors__slot_entry(ix, ix->spill[mid]);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return (size_t)-1;
}

/* The first slot of a hash's window: hash / 2^32 of the way along. */
static SAFETENSORS__INLINE size_t safetensors__index_home(const safetensors__index *ix, uint32_t hash)
{
    return (size_t)(((uint64_t)hash * ix->cap) >> 32);
}

/* The entry named s[0..n) among the slots of its window, or (size_t)-1.
   *free_slot receives the first empty slot of the window, or (size_t)-1
   when the window is full: only then may the name have spilled. */
static SAFETENSORS__INLINE size_t safetensors__index_window(const safetensors__index *ix, uint32_t hash, const char *s,
                                                            size_t n, safetensors__name_fn name_of, const void *table,
                                                            size_t *free_slot)
{
    size_t at, step;
    uint64_t tag, mask;
    *free_slot = (size_t)-1;
    if (ix->slots == NULL) return (size_t)-1;
    tag = safetensors__slot_tag(ix, hash);
    mask = ((uint64_t)1 << ix->tag_bits) - 1u;
    at = safetensors__index_home(ix, hash);
    for (step = 0; step < SAFETENSORS__PROBE_LIMIT; step++, at = at + 1 == ix->cap ? 0 : at + 1) {
        safetensors__slot x = ix->slots[at];
        size_t len;
        const char *name;
        if (x == 0) {
            /* a name is never placed past a free slot of its window */
            *free_slot = at;
            return (size_t)-1;
        }
        if ((x & mask) != tag) continue;
        name = safetensors__slot_name(ix, x, name_of, table, &len);
        if (len == n && safetensors__bytes_equal(name, s, n)) return safetensors__slot_entry(ix, x);
    }
    return (size_t)-1;
}

/* The entry whose name is s[0..n), or (size_t)-1, window and spill.
   *free_slot (may be NULL) as for index_window. */
static SAFETENSORS__INLINE size_t safetensors__index_probe(const safetensors__index *ix, uint32_t hash, const char *s,
                                                           size_t n, safetensors__name_fn name_of, const void *table,
                                                           size_t *free_slot)
{
    size_t run_end, step, found, free_at;
    found = safetensors__index_window(ix, hash, s, n, name_of, table, &free_at);
    if (free_slot) *free_slot = free_at;
    if (found != (size_t)-1 || free_at != (size_t)-1 || ix->slots == NULL) return found;
    /* the window is full: the name may have spilled */
    if (ix->sealed) return safetensors__run_find(ix, 0, ix->spill_count, hash, s, n, name_of, table);
    for (run_end = 0, step = (size_t)1 << (sizeof(size_t) * 8 - 1); step; step >>= 1) {
        if (!(ix->spill_count & step)) continue;
        found = safetensors__run_find(ix, run_end, run_end + step, hash, s, n, name_of, table);
        if (found != (size_t)-1) return found;
        run_end += step;
    }
    return (size_t)-1;
}

static SAFETENSORS__INLINE size_t safetensors__index_find(const safetensors__index *ix, uint32_t hash, const char *s,
                                                          size_t n, safetensors__name_fn name_of, const void *table)
{
    return safetensors__index_probe(ix, hash, s, n, name_of, table, NULL);
}

/* Merges the sorted runs [lo, mid) and [mid, hi) of `from` into `to`. The
   tag of a slot stands in for its hash: the order only has to be one
   order, the same for every merge and bisection. */
static void safetensors__runs_merge(const safetensors__index *ix, const safetensors__slot *from, safetensors__slot *to,
                                    size_t lo, size_t mid, size_t hi, safetensors__name_fn name_of, const void *table)
{
    size_t a = lo, b = mid, k = lo;
    while (a < mid && b < hi) {
        size_t len;
        const char *name = safetensors__slot_name(ix, from[a], name_of, table, &len);
        to[k++] = safetensors__slot_compare(ix, from[b], (uint32_t)from[a], name, len, name_of, table) < 0 ? from[b++]
                                                                                                          : from[a++];
    }
    while (a < mid) to[k++] = from[a++];
    while (b < hi) to[k++] = from[b++];
}

/* Room for one more spilled name, so that the next add cannot fail; 0 when
   memory runs out, with the index untouched. The spill's second half is
   the merge buffer. */
static int safetensors__index_reserve(const safetensors_allocator *a, safetensors__index *ix)
{
    size_t cap = ix->spill_cap ? 2 * ix->spill_cap : 32;
    safetensors__slot *fresh;
    if (2 * (ix->spill_count + 1) <= ix->spill_cap) return 1;
    if (cap > ((size_t)-1 / 2) / sizeof *fresh) return 0;
    fresh = (safetensors__slot *)(safetensors__realloc(a, ix->spill, ix->spill_cap * sizeof *fresh, cap * sizeof *fresh));
    if (fresh == NULL) return 0;
    ix->spill = fresh;
    ix->spill_cap = cap;
    return 1;
}

/* Appends one slot to the spill as a run of 1 and merges equal runs, as a
   binary counter carries. */
static int safetensors__spill_push(const safetensors_allocator *a, safetensors__index *ix, safetensors__slot slot,
                                   safetensors__name_fn name_of, const void *table)
{
    size_t count = ix->spill_count, width;
    if (!safetensors__index_reserve(a, ix)) return 0;
    ix->spill[count++] = slot;
    for (width = 1; (count & width) == 0; width *= 2) {
        /* the two last runs, of `width` each, end at count */
        safetensors__slot *buffer = ix->spill + ix->spill_cap / 2;
        size_t lo = count - 2 * width;
        safetensors__runs_merge(ix, ix->spill, buffer, lo, lo + width, count, name_of, table);
        memcpy(ix->spill + lo, buffer + lo, 2 * width * sizeof *buffer);
    }
    ix->spill_count = count;
    return 1;
}

/* Entry i, named name[0..len) (its own bytes, within the base when there
   is one), goes to free_slot, or to the spill when its window is full.
   Returns 0 when memory runs out. */
static int safetensors__index_place(const safetensors_allocator *a, safetensors__index *ix, uint32_t hash, size_t i,
                                    const char *name, size_t len, size_t free_slot, safetensors__name_fn name_of,
                                    const void *table)
{
    safetensors__slot slot = safetensors__slot_make(ix, hash, i, name, len);
    if (free_slot == (size_t)-1) return safetensors__spill_push(a, ix, slot, name_of, table);
    ix->slots[free_slot] = slot;
    return 1;
}

/* Used by the writer and the model, which look a name up as they add it:
   adds entry i, named s[0..n), unless the name is there already. Returns
   the entry that has it, SAFETENSORS__ADDED, or SAFETENSORS__ADD_NOMEM.
   The slots must have room (init sized them); the index has no base. */
#if !defined(SAFETENSORS_NO_WRITER) || (!defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL))
static size_t safetensors__index_add(const safetensors_allocator *a, safetensors__index *ix, uint32_t hash,
                                     const char *s, size_t n, size_t i, safetensors__name_fn name_of,
                                     const void *table)
{
    size_t free_slot, found = safetensors__index_probe(ix, hash, s, n, name_of, table, &free_slot);
    if (found != (size_t)-1) return found;
    return safetensors__index_place(a, ix, hash, i, NULL, 0, free_slot, name_of, table) ? SAFETENSORS__ADDED
                                                                                        : SAFETENSORS__ADD_NOMEM;
}
#endif

/* No more adds: the spill becomes one run, for O(log n) lookups. */
static void safetensors__index_seal(safetensors__index *ix, safetensors__name_fn name_of, const void *table)
{
    size_t step, done = 0;
    safetensors__slot *buffer;
    ix->sealed = 1;
    if (ix->spill == NULL) return;
    buffer = ix->spill + ix->spill_cap / 2;
    for (step = (size_t)1 << (sizeof(size_t) * 8 - 1); step; step >>= 1) {
        if (!(ix->spill_count & step)) continue;
        if (done) {
            safetensors__runs_merge(ix, ix->spill, buffer, 0, done, done + step, name_of, table);
            memcpy(ix->spill, buffer, (done + step) * sizeof *buffer);
        }
        done += step;
    }
}

/* In a sealed index built without looking in the spill (index_names): the
   earliest second occurrence of a name that spilled twice, or (size_t)-1.
   Equal names are neighbours in the sealed run, so one pass finds them. */
static size_t safetensors__spill_duplicate(const safetensors__index *ix, safetensors__name_fn name_of, const void *table)
{
    size_t k = 0, best = (size_t)-1;
    while (k < ix->spill_count) {
        size_t end = k + 1, first = safetensors__slot_entry(ix, ix->spill[k]), second = (size_t)-1, len;
        const char *name = safetensors__slot_name(ix, ix->spill[k], name_of, table, &len);
        for (; end < ix->spill_count &&
               safetensors__slot_compare(ix, ix->spill[end], (uint32_t)ix->spill[k], name, len, name_of, table) == 0;
             end++) {
            size_t i = safetensors__slot_entry(ix, ix->spill[end]);
            if (i < first) {
                second = first;
                first = i;
            } else if (i < second) {
                second = i;
            }
        }
        if (second < best) best = second;
        k = end;
    }
    return best;
}

/* After a table is reordered: entry i is now at new_of_old[i]. Names do not
   change, so the runs stay sorted. */
static void safetensors__index_renumber(safetensors__index *ix, const uint32_t *new_of_old)
{
    unsigned low = ix->tag_bits + ix->len_bits + ix->off_bits; /* the bits below i + 1 */
    uint64_t keep = ((uint64_t)1 << low) - 1u;  /* low < 64: init left i + 1 at least one */
    size_t k;
    for (k = 0; k < ix->cap; k++)
        if (ix->slots[k])
            ix->slots[k] = (uint64_t)(new_of_old[safetensors__slot_entry(ix, ix->slots[k])] + 1u) << low |
                           (ix->slots[k] & keep);
    for (k = 0; k < ix->spill_count; k++)
        ix->spill[k] = (uint64_t)(new_of_old[safetensors__slot_entry(ix, ix->spill[k])] + 1u) << low |
                       (ix->spill[k] & keep);
}

/* The metadata table: a file's __metadata__ in compact form. A header can
   hold millions of tiny entries, and a 10-byte `"k":"v",` must not cost the
   hash index's 12 bytes plus a 32-byte public struct. Each entry is one
   record in the arena, in file order:

       [gap] [key_len] key NUL [value_len] value NUL

   the numbers as LEB128 varints, gap being the file distance from the
   previous key's opening quote (only a refusal needs it). The lookup is one
   array of 32-bit record offsets sorted by (hash, key, offset), searched by
   bisection: O(log n) whatever the keys and whatever an attacker knows of
   the seed. Every SAFETENSORS__META_MARK-th record's offset gives the i-th
   entry in file order after a short walk. About 4.3 bytes an entry beyond
   the strings and their NULs. */

#define SAFETENSORS__META_MARK 16u

static size_t safetensors__varint_put(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80u) {
        out[n++] = (unsigned char)(v | 0x80u);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

/* Reads what varint_put wrote (the library's own bytes, never the file's). */
static uint64_t safetensors__varint_get(const unsigned char **s)
{
    const unsigned char *at = *s;
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = *at++;
        v |= (uint64_t)(b & 0x7fu) << shift;
        if (!(b & 0x80u)) break;
        shift += 7;
    }
    *s = at;
    return v;
}

typedef struct safetensors__meta_record {
    const char *key, *value;
    size_t key_len, value_len;
    uint64_t gap;
    size_t next; /* arena offset of the next record */
} safetensors__meta_record;

static void safetensors__meta_read(const char *arena, size_t off, safetensors__meta_record *r)
{
    const unsigned char *s = (const unsigned char *)arena + off;
    r->gap = safetensors__varint_get(&s);
    r->key_len = (size_t)safetensors__varint_get(&s);
    r->key = (const char *)s;
    s += r->key_len + 1;
    r->value_len = (size_t)safetensors__varint_get(&s);
    r->value = (const char *)s;
    r->next = (size_t)(r->value + r->value_len + 1 - arena);
}

/* While the table is built, an entry is (hash << 32 | record offset). */
static int safetensors__meta_before(const char *arena, uint64_t a, uint64_t b)
{
    safetensors__meta_record x, y;
    int c;
    if ((a >> 32) != (b >> 32)) return (a >> 32) < (b >> 32);
    safetensors__meta_read(arena, (size_t)(uint32_t)a, &x);
    safetensors__meta_read(arena, (size_t)(uint32_t)b, &y);
    c = safetensors__name_compare(x.key, x.key_len, y.key, y.key_len);
    return c != 0 ? c < 0 : (uint32_t)a < (uint32_t)b;
}

static void safetensors__meta_sift(uint64_t *v, size_t root, size_t n, const char *arena)
{
    for (;;) {
        size_t child = 2 * root + 1;
        uint64_t swap;
        if (child >= n) return;
        if (child + 1 < n && safetensors__meta_before(arena, v[child], v[child + 1])) child++;
        if (!safetensors__meta_before(arena, v[root], v[child])) return;
        swap = v[root];
        v[root] = v[child];
        v[child] = swap;
        root = child;
    }
}

/* Sorts by (hash, key, offset): an in-place radix sort on the hash, a byte
   at a time from the top (an American flag sort: no second buffer, so the
   peak stays at the table itself), and heap sort for small buckets and for
   a bucket whose hashes are all equal (names crafted to collide), so the
   worst case is O(n log n) comparisons. `counts` holds 512 words for each
   of the 4 levels. */
static void safetensors__meta_sort(uint64_t *v, size_t n, unsigned level, const char *arena, uint32_t *counts)
{
    uint32_t *next = counts + 512u * level, *end = next + 256;
    unsigned shift = 56u - 8u * level, b;
    size_t k, lo;
    if (n <= 32 || level == 4) {
        for (k = n / 2; k-- > 0;) safetensors__meta_sift(v, k, n, arena);
        for (k = n; k-- > 1;) {
            uint64_t swap = v[0];
            v[0] = v[k];
            v[k] = swap;
            safetensors__meta_sift(v, 0, k, arena);
        }
        return;
    }
    memset(end, 0, 256 * sizeof *end);
    for (k = 0; k < n; k++) end[(v[k] >> shift) & 255u]++;
    for (b = 0, lo = 0; b < 256; b++) {
        next[b] = (uint32_t)lo;
        lo += end[b];
        end[b] = (uint32_t)lo;
    }
    for (b = 0; b < 256; b++)
        while (next[b] < end[b]) { /* place the item at next[b], and the one it displaces, until one belongs here */
            uint64_t x = v[next[b]];
            unsigned d = (unsigned)(x >> shift) & 255u;
            while (d != b) {
                uint64_t swap = v[next[d]];
                if (next[d] + 16 < n) SAFETENSORS__PREFETCH_WRITE(v + next[d] + 16); /* the bucket's next lines */
                v[next[d]++] = x;
                x = swap;
                d = (unsigned)(x >> shift) & 255u;
            }
            v[next[b]++] = x;
        }
    for (b = 0, lo = 0; b < 256; lo = end[b++])
        if (end[b] - lo > 1) safetensors__meta_sort(v + lo, end[b] - lo, level + 1, arena, counts);
}

/* The record whose key is s[0..n) into *r: 1, or 0 when there is none. */
static int safetensors__meta_lookup(const char *arena, const uint32_t *sorted, size_t count, uint64_t seed,
                                    const char *s, size_t n, safetensors__meta_record *r)
{
    uint32_t hash = safetensors__hash(seed, s, n);
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t at_hash;
        int c;
        safetensors__meta_read(arena, sorted[mid], r);
        at_hash = safetensors__hash(seed, r->key, r->key_len);
        c = at_hash != hash ? (at_hash < hash ? -1 : 1) : safetensors__name_compare(r->key, r->key_len, s, n);
        if (c == 0) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* >>parser ------------------------------------------------------------ */
/* Two layers. The automaton (a pushdown automaton over JSON tokens)
   consumes the header a byte at a time, whatever the chunking, so every
   split of the same bytes takes the same path; it knows JSON only: tokens,
   strings and their escapes, UTF-8, numbers, literals and the nesting limit.
   JSON follows serde_json, the reference's parser: strict RFC 8259, the
   same nesting limit and the same number range rule.

   A schema says what values mean. The automaton keeps, for every value and
   open container, a role: a small number that only the schema interprets,
   and calls the schema at token boundaries (a value starts, a key or a
   string or a number ends, a container closes), never byte by byte. Role 0
   is the automaton's own: a value nobody reads, which is only validated. The
   header schema (tensor entries and __metadata__) follows the automaton
   below; the index schema of a sharded model lives in >>model. Strings are
   decoded straight into the table's arena (names, metadata) or into a
   16-byte scratch (field names, dtypes), or only validated. */

enum safetensors__state {
    SAFETENSORS__S_VALUE,      /* a value must start (whitespace first) */
    SAFETENSORS__S_OBJ_FIRST,  /* after '{': a key or '}' */
    SAFETENSORS__S_OBJ_KEY,    /* after ',' in an object: a key */
    SAFETENSORS__S_COLON,      /* after a key */
    SAFETENSORS__S_OBJ_NEXT,   /* after a member: ',' or '}' */
    SAFETENSORS__S_ARR_FIRST,  /* after '[': a value or ']' */
    SAFETENSORS__S_ARR_NEXT,   /* after an element: ',' or ']' */
    SAFETENSORS__S_STRING,     /* inside a string */
    SAFETENSORS__S_NUMBER,     /* inside a number */
    SAFETENSORS__S_LITERAL,    /* inside true, false or null */
    SAFETENSORS__S_END         /* after the top-level value: whitespace only */
};

/* The automaton's one role: a value no schema reads (an unknown field, at
   any depth). Schemas number their roles from 1. */
#define SAFETENSORS__R_IGNORED 0

/* What the header's values mean where they stand. */
enum safetensors__header_role {
    SAFETENSORS__R_ROOT = 1,   /* the top-level object */
    SAFETENSORS__R_TENSOR,     /* a tensor entry */
    SAFETENSORS__R_META,       /* the __metadata__ object (or null) */
    SAFETENSORS__R_META_VALUE, /* a metadata string */
    SAFETENSORS__R_DTYPE,      /* "dtype" */
    SAFETENSORS__R_SHAPE,      /* "shape" */
    SAFETENSORS__R_OFFSETS,    /* "data_offsets" */
    SAFETENSORS__R_DIM,        /* an element of shape */
    SAFETENSORS__R_OFFSET      /* an element of data_offsets */
};

/* Where a string's decoded bytes go. */
enum safetensors__sink { SAFETENSORS__TO_NOWHERE, SAFETENSORS__TO_ARENA, SAFETENSORS__TO_SCRATCH };

/* The first byte of a JSON value says its type: '{', '[', '"', 'n', 't',
   'f', or '0' for a number; 0 for a byte that starts none. */
static unsigned safetensors__value_type(unsigned c)
{
    if (c == '{' || c == '[' || c == '"' || c == 'n' || c == 't' || c == 'f') return c;
    return c == '-' || (c >= '0' && c <= '9') ? '0' : 0;
}

typedef struct safetensors__schema safetensors__schema;
enum { SAFETENSORS__VALUE_REFUSED, SAFETENSORS__VALUE_OK, SAFETENSORS__VALUE_CAPTURED };

/* Sub-states inside a string. */
enum safetensors__escape {
    SAFETENSORS__E_NONE, SAFETENSORS__E_BACKSLASH, SAFETENSORS__E_HEX, SAFETENSORS__E_LOW_BACKSLASH,
    SAFETENSORS__E_LOW_U
};

/* Sub-states inside a number, one per place in the RFC 8259 grammar. */
enum safetensors__number_part {
    SAFETENSORS__N_MINUS, SAFETENSORS__N_ZERO, SAFETENSORS__N_INT, SAFETENSORS__N_DOT, SAFETENSORS__N_FRAC,
    SAFETENSORS__N_EXP_MARK, SAFETENSORS__N_EXP_SIGN, SAFETENSORS__N_EXP
};

#define SAFETENSORS__FIELD_DTYPE 1u
#define SAFETENSORS__FIELD_SHAPE 2u
#define SAFETENSORS__FIELD_OFFSETS 4u
#define SAFETENSORS__SCRATCH 16

/* A tensor while the header is read: strings are arena offsets, since the
   arena moves as it grows. */
typedef struct safetensors__entry {
    size_t name_off, name_len;
    size_t shape_off, ndim;
    uint64_t begin, end;
    uint64_t key_offset; /* file offset of the name's opening quote */
    unsigned char dtype;
    unsigned char fields; /* SAFETENSORS__FIELD_* seen */
} safetensors__entry;

/* One row of the table: an entry while the header is read, turned in place
   into the tensor view that the file hands out, so that the table is built
   once and never copied. */
typedef union safetensors__row {
    safetensors__entry e;
    safetensors_tensor t;
} safetensors__row;

typedef struct safetensors__meta {
    size_t key_off, key_len, value_off, value_len;
    uint64_t key_offset; /* file offset of the key's opening quote */
} safetensors__meta;

struct safetensors_parser {
    safetensors_allocator alloc;
    uint64_t max_header;
    uint64_t seed;
    safetensors_error error; /* sticky once failed */
    int failed, done, finished;

    uint64_t pos;        /* file offset of the next byte */
    uint64_t file_size;  /* SAFETENSORS_SIZE_UNKNOWN unless the caller said */
    uint64_t header_end; /* 8 + N, once the length is in */
    const unsigned char *data_at; /* the data section in memory, for the views; NULL: not known */
    unsigned char length_bytes[8];
    unsigned length_have;

    /* the automaton */
    const safetensors__schema *schema; /* what values mean */
    void *schema_state;                /* the schema's own, when it keeps some outside the parser */
    int bare;                          /* bare JSON: no length prefix (an index file) */
    int state;
    int role;                                       /* of the value about to start */
    int depth;                                      /* open containers */
    unsigned char stack[SAFETENSORS__MAX_DEPTH + 1]; /* role << 1 | is_object */

    /* the string being read */
    int in_key, sink, escape;
    uint64_t string_start;
    size_t string_arena_start;
    unsigned hex_digits;
    uint32_t hex_value, high_surrogate;
    unsigned utf8_need;
    unsigned char utf8_lo, utf8_hi;
    char scratch[SAFETENSORS__SCRATCH];
    size_t scratch_len;

    /* the number being read (mirrors serde_json's parse) */
    int number_part, number_negative, number_is_integer, number_long, number_frac_full;
    uint64_t number_start, number_significand;
    int32_t number_exponent, number_exp_digits;
    int number_exp_negative, number_exp_overflow;

    /* the literal being read */
    const char *literal;
    unsigned literal_at;

    /* the table being built */
    char *arena;
    size_t arena_len, arena_cap;
    safetensors__row *entries; /* entries while reading, the file's tensors once finished */
    size_t entry_count, entry_cap;
    uint64_t *dims;
    size_t dim_count, dim_cap;
    safetensors__meta *metas; /* an index's key/value pairs (metadata, weight_map) */
    size_t meta_count, meta_cap;
    int saw_metadata_key;
    /* Set once an entry is not what check_table would pass as it stands
       (see entry_done); while clear, finish skips the sort and the checks. */
    int out_of_order;
    uint64_t run_end; /* where the last complete entry's bytes end */
    size_t meta_first;           /* arena offset of the first __metadata__ record */
    size_t meta_records;         /* __metadata__ entries read */
    uint64_t meta_base_at;       /* file offset of "__metadata__"'s quote */
    uint64_t meta_last_at;       /* of the last metadata key's quote (first: meta_base_at) */
    size_t meta_key_off, meta_key_len; /* the current metadata key, for messages */
    size_t current;        /* entry or pair being filled */
    unsigned offset_count; /* elements seen in data_offsets */

    /* a value kept as the JSON text it is written as (an index's metadata) */
    int capturing, capture_done;
    int capture_depth;
    uint64_t capture_start; /* file offset of the captured value's first byte */
    size_t capture_arena_start;
};

/* What the automaton asks of a schema. Each call comes at a token boundary,
   for a value or container whose role is not SAFETENSORS__R_IGNORED. A call
   that refuses what it sees fails the parser (safetensors__fail...) and the
   automaton stops there. */
struct safetensors__schema {
    int root_role;
    /* A value whose first byte is c (of safetensors__value_type `type`, 0 if
       c starts no value) begins at `at` where p->role says. Returns
       SAFETENSORS__VALUE_REFUSED after failing p; else sets p->sink for a
       string and returns SAFETENSORS__VALUE_OK, or VALUE_CAPTURED to have
       the value's JSON text handed to `captured`. An invalid first byte is
       then reported by the automaton. */
    int (*value_begin)(safetensors_parser *p, unsigned type, unsigned c, uint64_t at);
    /* The sink for a key of an object whose role is `role`. */
    int (*key_sink)(int role);
    /* A string is complete: a key (p->in_key; then set p->role for its
       value) or a value. */
    void (*string_end)(safetensors_parser *p);
    /* (The hooks below may be NULL where the schema has nothing to do.)
       A number is complete; is_u64 when it is an integer in [0, 2^64). */
    void (*number_end)(safetensors_parser *p, int is_u64, uint64_t value);
    /* A container of `role` closes at `at`: 0 after failing p. */
    int (*container_end)(safetensors_parser *p, int role, uint64_t at);
    /* The role of an array's elements. */
    int (*element_role)(int array_role);
    /* A whole member of an object of `role`, whose key's opening
       quote is s[i], read in one go; returns where it ends, or i to leave
       it to the automaton (which must then build exactly the same). */
    size_t (*fast_member)(safetensors_parser *p, int role, const unsigned char *s, size_t i, size_t n,
                          uint64_t base);
    /* A captured value's JSON text is arena[off, off + len). */
    void (*captured)(safetensors_parser *p, size_t off, size_t len);
};

static void safetensors__fail(safetensors_parser *p, safetensors_result code, uint64_t offset, const char *text)
{
    p->failed = 1;
    safetensors__err_set(&p->error, code, offset);
    safetensors__err_add(&p->error, text);
}

static void safetensors__fail_nomem(safetensors_parser *p, uint64_t offset)
{
    safetensors__fail(p, SAFETENSORS_ERR_NOMEM, offset, "out of memory while reading the header");
}

static const char *safetensors__arena_str(const safetensors_parser *p, size_t off)
{
    return p->arena + off;
}

/* Starts a message about the tensor being read: `tensor "name": `. */
static void safetensors__fail_tensor(safetensors_parser *p, safetensors_result code, uint64_t offset,
                                     const safetensors__entry *e, const char *text)
{
    safetensors__fail(p, code, offset, "tensor ");
    safetensors__err_add_name(&p->error, safetensors__arena_str(p, e->name_off), e->name_len);
    safetensors__err_add(&p->error, ": ");
    safetensors__err_add(&p->error, text);
}

/* Room for n more bytes in the arena; 0 when memory runs out. */
static SAFETENSORS__INLINE int safetensors__arena_room(safetensors_parser *p, size_t n)
{
    if (p->arena_cap - p->arena_len < n) {
        char *fresh = (char *)(safetensors__grow(&p->alloc, p->arena, &p->arena_cap, p->arena_len + n, 1));
        if (fresh == NULL) return 0;
        p->arena = fresh;
    }
    return 1;
}

static int safetensors__arena_push(safetensors_parser *p, const void *bytes, size_t n)
{
    if (n == 0) return 1; /* the arena may still be NULL */
    if (!safetensors__arena_room(p, n)) return 0;
    memcpy(p->arena + p->arena_len, bytes, n);
    p->arena_len += n;
    return 1;
}

/* When the header's bytes are known to be there (the file's size was
   given, as for the rows), a table of the parse that must grow grows to
   what it will need if the rest of the header is like what was read: one
   move instead of one per doubling, each a copy into fresh pages. It holds
   `used` elements after the header's first `where` bytes. A header that
   changes its ways (long names, then short ones) makes the guess too
   large, and doubling from a guess can overshoot more than doubling from
   the start, so there is no guess above half the bytes left, or past
   what keeps the parse's tables within 1.5 times the header: the peak
   bounds of tests/test_memory.c stand. Then, and when memory runs out,
   the table stays as it was, for the caller's doubling. A guess grows a
   table by a quarter at least, so that near the end, where little is
   left to go by, it does not move again and again for a few bytes. */
static void *safetensors__grow_projected(safetensors_parser *p, void *array, size_t *cap, size_t used, size_t elem,
                                         uint64_t where)
{
    /* a header runs from after its length to header_end; an index file (bare
       JSON) is all JSON, and its size is the file's */
    uint64_t start = p->bare ? 0u : SAFETENSORS__LENGTH_BYTES, end = p->bare ? p->file_size : p->header_end;
    uint64_t read, left, more, others, budget;
    void *fresh;
    if (p->file_size == SAFETENSORS_SIZE_UNKNOWN || where >= end || where <= start || used == 0 || used > UINT32_MAX)
        return array;
    read = where - start;
    left = end - where;
    more = left <= UINT32_MAX ? (uint64_t)used * left / read : left;
    more += more / 16u; /* a little over, so that one guess serves */
    if (more > left / 2) return array;
    /* the parse's other tables, by their capacity (an index's pairs are not
       among the three) */
    others = (uint64_t)p->entry_cap * sizeof *p->entries + (uint64_t)p->dim_cap * sizeof *p->dims + p->arena_cap;
    if (array != NULL && (array == (void *)p->entries || array == (void *)p->dims || array == (void *)p->arena))
        others -= (uint64_t)*cap * elem;
    budget = (end - start) / 2 * 3;
    if (others + (uint64_t)used * elem >= budget || more > (budget - others) / elem - used) return array;
    if (used + more + 1u < (uint64_t)*cap + *cap / 4u) /* no creeping up a few bytes at a time near the end */
        more = (uint64_t)*cap + *cap / 4u - used;
    if (more >= (uint64_t)((size_t)-1 - used)) return array;
    fresh = safetensors__grow_to(&p->alloc, array, cap, used + (size_t)more + 1, elem);
    return fresh ? fresh : array;
}

/* A name and its NUL, as the fast lanes push them, its key's quote at file
   offset `where`: a word at a time, the last word overlapping the one
   before, since a call to memcpy for a name of some 30 bytes costs more
   than the copy. */
static SAFETENSORS__INLINE int safetensors__arena_push_name(safetensors_parser *p, const unsigned char *bytes, size_t n,
                                                            uint64_t where)
{
    char *to;
    size_t k;
    if (n < 8) return safetensors__arena_push(p, bytes, n) && safetensors__arena_push(p, "", 1);
    if (p->arena_cap - p->arena_len <= n)
        p->arena = (char *)(safetensors__grow_projected(p, p->arena, &p->arena_cap, p->arena_len, 1, where));
    if (!safetensors__arena_room(p, n + 1)) return 0;
    to = p->arena + p->arena_len;
    for (k = 0; k + 8 < n; k += 8) memcpy(to + k, bytes + k, 8);
    memcpy(to + n - 8, bytes + n - 8, 8);
    to[n] = '\0';
    p->arena_len += n + 1;
    return 1;
}

static int safetensors__is_json_space(unsigned c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The first byte from s[at] on that is not JSON whitespace (n if none):
   for the fast lanes, which look past the spaces of a whole member. */
static SAFETENSORS__INLINE size_t safetensors__skip_space(const unsigned char *s, size_t at, size_t n)
{
    while (at < n && safetensors__is_json_space(s[at])) at++;
    return at;
}

/* Typed appends for the table, shared by the schemas' slow paths and their
   fast lanes, so that a fast lane builds exactly what the slow path would.
   Each returns 0 when memory runs out, with the table as it was. */
static SAFETENSORS__INLINE int safetensors__push_dim(safetensors_parser *p, uint64_t v)
{
    if (p->dim_count == p->dim_cap) {
        uint64_t *fresh = (uint64_t *)(safetensors__grow(&p->alloc, p->dims, &p->dim_cap, p->dim_count + 1, sizeof *p->dims));
        if (fresh == NULL) return 0;
        p->dims = fresh;
    }
    p->dims[p->dim_count++] = v;
    return 1;
}

/* With the header's bytes known to be there (the file's size was given),
   the table is sized from the bytes still to come, so that it moves at
   most twice while it fills: growing by doubling would copy it and fault
   in fresh pages again at every step. At its first entry it is reserved
   for one row per 88 bytes (a little less than a checkpoint's entries take
   with their long names, for the growth that follows is a copy), not per
   48 (the smallest entry), so that what is reserved for long names stays
   under the header's own size; metadata before the
   first tensor are not counted, and a header without tensors reserves
   nothing. Should that run out, it grows once more, to one row per 48
   bytes left: no more entries can follow. A hint: when a reservation
   fails, the table grows by doubling. */
static void safetensors__reserve_rows(safetensors_parser *p, uint64_t where)
{
    uint64_t left = p->header_end - where, rows = p->entry_count + (p->entry_cap ? left / 48u : left / 88u) + 1u;
    safetensors__row *fresh;
    if (rows > (uint64_t)((size_t)-1 / sizeof *fresh)) return;
    fresh = (safetensors__row *)(safetensors__realloc(&p->alloc, p->entries, p->entry_cap * sizeof *fresh,
                                                      (size_t)rows * sizeof *fresh));
    if (fresh == NULL) return;
    safetensors__advise_huge(&p->alloc, fresh, (size_t)rows * sizeof *fresh);
    p->entries = fresh;
    p->entry_cap = (size_t)rows;
}

/* A new tensor entry named arena[name_off, name_off + name_len), its key's
   quote at `where`, made the current one. The count limit is the index's
   32-bit numbering. */
static safetensors__entry *safetensors__push_entry(safetensors_parser *p, size_t name_off, size_t name_len,
                                                   uint64_t where)
{
    safetensors__entry *e;
    if (p->entry_count == p->entry_cap && p->file_size != SAFETENSORS_SIZE_UNKNOWN) safetensors__reserve_rows(p, where);
    if (p->entry_count == p->entry_cap) {
        safetensors__row *fresh = (safetensors__row *)(safetensors__grow(&p->alloc, p->entries, &p->entry_cap, p->entry_count + 1, sizeof *p->entries));
        if (fresh == NULL) return NULL;
        p->entries = fresh;
    }
    e = &p->entries[p->entry_count].e;
    memset(e, 0, sizeof *e);
    e->name_off = name_off;
    e->name_len = name_len;
    e->key_offset = where;
    p->current = p->entry_count++;
    return e;
}

/* Tables are numbered in 32 bits (the index's slots): the last numbers are
   refused as too many. */
static int safetensors__count_full(safetensors_parser *p, size_t count, uint64_t at, const char *what)
{
    if (count < (size_t)UINT32_MAX - 1) return 0;
    safetensors__fail(p, SAFETENSORS_ERR_TOO_LARGE, at, what);
    return 1;
}

/* --- values and containers --- */

static int safetensors__top_role(const safetensors_parser *p)
{
    return p->stack[p->depth - 1] >> 1;
}

static void safetensors__value_end(safetensors_parser *p)
{
    if (p->capturing && p->depth == p->capture_depth) p->capture_done = 1;
    if (p->depth == 0) p->state = SAFETENSORS__S_END;
    else p->state = (p->stack[p->depth - 1] & 1) ? SAFETENSORS__S_OBJ_NEXT : SAFETENSORS__S_ARR_NEXT;
}

/* `what "key": text`, about a key/value pair whose value is wrong. */
static void safetensors__fail_pair(safetensors_parser *p, uint64_t at, const char *what, size_t key_off,
                                   size_t key_len, const char *text)
{
    safetensors__fail(p, SAFETENSORS_ERR_SCHEMA, at, what);
    safetensors__err_add_name(&p->error, safetensors__arena_str(p, key_off), key_len);
    safetensors__err_add(&p->error, text);
}

static void safetensors__container_begin(safetensors_parser *p, int is_object, uint64_t at)
{
    if (p->depth >= SAFETENSORS__MAX_DEPTH) {
        safetensors__fail(p, SAFETENSORS_ERR_JSON, at, "JSON nested deeper than 127 levels");
        return;
    }
    p->stack[p->depth++] = (unsigned char)((p->role << 1) | is_object);
    p->state = is_object ? SAFETENSORS__S_OBJ_FIRST : SAFETENSORS__S_ARR_FIRST;
}

static void safetensors__container_end(safetensors_parser *p, uint64_t at)
{
    int role = safetensors__top_role(p);
    if (role != SAFETENSORS__R_IGNORED && p->schema->container_end && !p->schema->container_end(p, role, at)) return;
    p->depth--;
    safetensors__value_end(p);
}

static void safetensors__string_begin(safetensors_parser *p, int in_key, uint64_t at)
{
    p->in_key = in_key;
    p->string_start = at;
    p->escape = SAFETENSORS__E_NONE;
    p->high_surrogate = 0;
    p->utf8_need = 0;
    p->scratch_len = 0;
    p->string_arena_start = p->arena_len;
    p->state = SAFETENSORS__S_STRING;
}

static void safetensors__key_begin(safetensors_parser *p, uint64_t at)
{
    int role = safetensors__top_role(p);
    p->sink = role == SAFETENSORS__R_IGNORED ? SAFETENSORS__TO_NOWHERE : p->schema->key_sink(role);
    safetensors__string_begin(p, 1, at);
}

static void safetensors__number_begin(safetensors_parser *p, unsigned c, uint64_t at)
{
    p->number_start = at;
    p->number_negative = c == '-';
    p->number_is_integer = 1;
    p->number_long = 0;
    p->number_frac_full = 0;
    p->number_significand = 0;
    p->number_exponent = 0;
    p->number_exp_digits = 0;
    p->number_exp_negative = 0;
    p->number_exp_overflow = 0;
    if (c == '-') p->number_part = SAFETENSORS__N_MINUS;
    else if (c == '0') p->number_part = SAFETENSORS__N_ZERO;
    else {
        p->number_part = SAFETENSORS__N_INT;
        p->number_significand = c - (unsigned)'0';
    }
    p->state = SAFETENSORS__S_NUMBER;
}

static int safetensors__utf8_lead(safetensors_parser *p, unsigned c)
{
    return safetensors__utf8_rules(c, &p->utf8_need, &p->utf8_lo, &p->utf8_hi);
}

/* Starts keeping the value that begins at `at` as its JSON text, for a
   schema's `captured`. */
static void safetensors__capture_begin(safetensors_parser *p, uint64_t at)
{
    p->capturing = 1;
    p->capture_done = 0;
    p->capture_depth = p->depth;
    p->capture_start = at;
    p->capture_arena_start = p->arena_len;
}

/* The first byte of a value: the schema says whether it may stand here. */
static void safetensors__value_begin(safetensors_parser *p, unsigned c, uint64_t at)
{
    unsigned type = safetensors__value_type(c);
    int verdict = SAFETENSORS__VALUE_OK;
    p->sink = SAFETENSORS__TO_NOWHERE;
    if (p->role != SAFETENSORS__R_IGNORED) verdict = p->schema->value_begin(p, type, c, at);
    if (verdict == SAFETENSORS__VALUE_REFUSED) return;
    if (verdict == SAFETENSORS__VALUE_CAPTURED && type != 0) safetensors__capture_begin(p, at);
    switch (type) {
    case '{': safetensors__container_begin(p, 1, at); return;
    case '[': safetensors__container_begin(p, 0, at); return;
    case '"': safetensors__string_begin(p, 0, at); return;
    case 'n': p->literal = "null"; break;
    case 't': p->literal = "true"; break;
    case 'f': p->literal = "false"; break;
    case '0': safetensors__number_begin(p, c, at); return;
    default:
        if (c >= 0x80 && !safetensors__utf8_lead(p, c)) safetensors__fail(p, SAFETENSORS_ERR_UTF8, at, "invalid UTF-8");
        else safetensors__fail(p, SAFETENSORS_ERR_JSON, at, "expected a JSON value");
        return;
    }
    p->literal_at = 1;
    p->state = SAFETENSORS__S_LITERAL;
}

/* --- strings --- */

static int safetensors__string_put(safetensors_parser *p, const unsigned char *bytes, size_t n)
{
    if (p->sink == SAFETENSORS__TO_ARENA) return safetensors__arena_push(p, bytes, n);
    if (p->sink == SAFETENSORS__TO_SCRATCH) {
        /* only names up to 16 bytes can match a field or dtype; a longer one
           is remembered as "too long" (length 17) and no longer copied */
        if (p->scratch_len > SAFETENSORS__SCRATCH) return 1;
        if (n > SAFETENSORS__SCRATCH - p->scratch_len) {
            /* keep the first 16 bytes, whatever the chunking, for messages */
            memcpy(p->scratch + p->scratch_len, bytes, SAFETENSORS__SCRATCH - p->scratch_len);
            p->scratch_len = SAFETENSORS__SCRATCH + 1;
            return 1;
        }
        memcpy(p->scratch + p->scratch_len, bytes, n);
        p->scratch_len += n;
    }
    return 1;
}

/* A code point as UTF-8 into b; returns the byte count. */
static size_t safetensors__utf8_encode(uint32_t cp, unsigned char b[4])
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (unsigned char)(0xf0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static int safetensors__string_put_code_point(safetensors_parser *p, uint32_t cp)
{
    unsigned char b[4];
    return safetensors__string_put(p, b, safetensors__utf8_encode(cp, b));
}

/* The byte a one-letter escape (the letter after the backslash) stands
   for; -1 for 'u', which has hex digits to come, and for anything else. */
static int safetensors__escaped_byte(unsigned c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return 8;
    case 'f': return 12;
    case 'n': return 10;
    case 'r': return 13;
    case 't': return 9;
    default: return -1;
    }
}

/* Short fixed words: a plain loop beats a call to memcmp. */
static int safetensors__scratch_is(const safetensors_parser *p, const char *word, size_t n)
{
    return p->scratch_len == n && safetensors__bytes_equal(p->scratch, word, n);
}

/* Ends the arena string begun at string_arena_start with a NUL, so that the
   views can hand out C strings; the length excludes it. */
static int safetensors__arena_terminate(safetensors_parser *p, size_t *off, size_t *len)
{
    *off = p->string_arena_start;
    *len = p->arena_len - p->string_arena_start;
    return safetensors__arena_push(p, "", 1);
}

/* A string is complete: the schema stores it, unless no one reads it. */
static void safetensors__string_end(safetensors_parser *p)
{
    int role = p->in_key ? safetensors__top_role(p) : p->role;
    if (role != SAFETENSORS__R_IGNORED) p->schema->string_end(p);
    else if (p->in_key) p->role = SAFETENSORS__R_IGNORED; /* the value of an ignored object's key */
    if (p->failed) return;
    if (p->in_key) p->state = SAFETENSORS__S_COLON;
    else safetensors__value_end(p);
}

/* The position of the lowest set bit of mask, which is not 0. */
static SAFETENSORS__INLINE unsigned safetensors__lowest_bit(uint64_t mask)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(mask);
#else
    unsigned k = 0;
    for (; !(mask & 1u); mask >>= 1) k++;
    return k;
#endif
}

/* Length of the run from s[i] of bytes that need no attention inside a
   string: printable ASCII other than '"' and '\\'. With SSE2, sixteen bytes
   at a time: as signed bytes, both the control characters and every byte
   from 0x80 up are below 0x20, so one compare finds them. Elsewhere eight:
   a word with no flagged byte is skipped whole. The tests can flag a byte
   above a true hit by a borrow, never below it, so on a little-endian host
   the lowest flagged byte is exact; elsewhere a flagged word is looked at
   byte by byte. A name of some 30 bytes took 119 instructions the eight-byte
   way and a fifth of that with SSE2. */
static size_t safetensors__plain_run_end(const unsigned char *s, size_t i, size_t n)
{
#ifdef SAFETENSORS__SSE2
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (n - i >= 16) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned flagged = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, slash)), _mm_cmplt_epi8(w, space)));
        if (flagged) return i + safetensors__lowest_bit(flagged);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (n - i >= 8) {
        uint64_t w, quote, slash, flagged;
        memcpy(&w, s + i, 8);
        quote = w ^ (ones * (uint64_t)'"');
        slash = w ^ (ones * (uint64_t)'\\');
        flagged = (((w - ones * 0x20u) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash) | w) & highs;
        if (flagged) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)(safetensors__lowest_bit(flagged) >> 3);
#else
            break;
#endif
        }
        i += 8;
    }
#endif
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        i++;
    }
    return i;
}

static int safetensors__hex_digit(unsigned c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

static uint32_t safetensors__surrogate_pair(uint32_t high, uint32_t low)
{
    return 0x10000u + ((high - 0xd800u) << 10) + (low - 0xdc00u);
}

/* The four hex digits of a \u escape are in: pair surrogates as serde_json
   does for strings, refusing any that is left alone. */
static void safetensors__hex_escape_end(safetensors_parser *p, uint64_t at)
{
    uint32_t v = p->hex_value;
    int ok;
    if (p->high_surrogate) {
        if (v < 0xdc00 || v > 0xdfff) {
            safetensors__fail(p, SAFETENSORS_ERR_JSON, at, "a \\u escape leaves a UTF-16 surrogate unpaired");
            return;
        }
        ok = safetensors__string_put_code_point(p, safetensors__surrogate_pair(p->high_surrogate, v));
        p->high_surrogate = 0;
    } else if (v >= 0xdc00 && v <= 0xdfff) {
        safetensors__fail(p, SAFETENSORS_ERR_JSON, at, "a \\u escape leaves a UTF-16 surrogate unpaired");
        return;
    } else if (v >= 0xd800 && v <= 0xdbff) {
        p->high_surrogate = v;
        p->escape = SAFETENSORS__E_LOW_BACKSLASH;
        return;
    } else {
        ok = safetensors__string_put_code_point(p, v);
    }
    if (!ok) safetensors__fail_nomem(p, at);
    p->escape = SAFETENSORS__E_NONE;
}

static size_t safetensors__string_run(safetensors_parser *p, const unsigned char *s, size_t i, size_t n,
                                      uint64_t base)
{
    while (i < n && !p->failed) {
        unsigned c;
        if (p->escape == SAFETENSORS__E_NONE && p->utf8_need == 0) {
            size_t j = safetensors__plain_run_end(s, i, n);
            if (j > i && !safetensors__string_put(p, s + i, j - i)) {
                safetensors__fail_nomem(p, base + i);
                return i;
            }
            i = j;
            if (i == n) return i;
            c = s[i];
            if (c == '"') {
                safetensors__string_end(p);
                return i + 1;
            }
            if (c == '\\') p->escape = SAFETENSORS__E_BACKSLASH;
            else if (c < 0x20) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i,
                                  "a raw control character inside a string (escape it)");
                return i;
            } else if (!safetensors__utf8_lead(p, c)) {
                safetensors__fail(p, SAFETENSORS_ERR_UTF8, base + i, "invalid UTF-8 in a string");
                return i;
            } else if (!safetensors__string_put(p, s + i, 1)) {
                safetensors__fail_nomem(p, base + i);
                return i;
            }
            i++;
            continue;
        }
        c = s[i];
        if (p->utf8_need) {
            if (c < p->utf8_lo || c > p->utf8_hi) {
                safetensors__fail(p, SAFETENSORS_ERR_UTF8, base + i, "invalid UTF-8 in a string");
                return i;
            }
            if (!safetensors__string_put(p, s + i, 1)) {
                safetensors__fail_nomem(p, base + i);
                return i;
            }
            p->utf8_need--;
            p->utf8_lo = 0x80;
            p->utf8_hi = 0xbf;
            i++;
            continue;
        }
        switch (p->escape) {
        case SAFETENSORS__E_BACKSLASH: {
            int decoded = safetensors__escaped_byte(c);
            unsigned char out = (unsigned char)decoded;
            if (c == 'u') {
                p->escape = SAFETENSORS__E_HEX;
                p->hex_digits = 0;
                p->hex_value = 0;
                i++;
                continue;
            }
            if (decoded < 0) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "invalid escape in a string");
                return i;
            }
            if (!safetensors__string_put(p, &out, 1)) {
                safetensors__fail_nomem(p, base + i);
                return i;
            }
            p->escape = SAFETENSORS__E_NONE;
            break;
        }
        case SAFETENSORS__E_HEX: {
            int d = safetensors__hex_digit(c);
            if (d < 0) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "invalid \\u escape in a string");
                return i;
            }
            p->hex_value = p->hex_value * 16u + (uint32_t)d;
            if (++p->hex_digits == 4) safetensors__hex_escape_end(p, base + i);
            break;
        }
        case SAFETENSORS__E_LOW_BACKSLASH:
        case SAFETENSORS__E_LOW_U:
            if (c != (p->escape == SAFETENSORS__E_LOW_BACKSLASH ? '\\' : 'u')) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i,
                                  "a \\u escape leaves a UTF-16 surrogate unpaired");
                return i;
            }
            if (p->escape == SAFETENSORS__E_LOW_BACKSLASH) p->escape = SAFETENSORS__E_LOW_U;
            else {
                p->escape = SAFETENSORS__E_HEX;
                p->hex_digits = 0;
                p->hex_value = 0;
            }
            break;
        default: break;
        }
        i++;
    }
    return i;
}

/* --- numbers --- */

/* serde_json refuses a number when (double)significand * 1e<exponent>,
   rounded twice, is infinite. That grows with the significand, so each
   exponent has a least significand that overflows: none below 289 (2^64 x
   1e288 is finite), any but 0 above 308, and in between the limit below,
   worked out in exact rational arithmetic: the significand rounded to 53
   bits times 10^exponent rounded to 53 bits, at or above 2^1024 - 2^970,
   where rounding goes to infinity. tests/test_numbers.c finds each limit
   again from serde's algorithm run in doubles. Integers only: no soft-float
   and no table of doubles where there is no FPU. */
static const uint64_t safetensors__overflow_limit[20] = {
    17976931348623156225u, 1797693134862315649u, 179769313486231600u, 17976931348623158u, 1797693134862316u,
    179769313486232u,      17976931348624u,      1797693134863u,      179769313487u,      17976931349u,
    1797693135u,           179769314u,           17976932u,           1797694u,           179770u,
    17977u,                1798u,                180u,                18u,                2u};

static int safetensors__number_out_of_range(uint64_t significand, int32_t exponent)
{
    if (exponent < 289) return 0;
    if (exponent > 308) return significand != 0;
    return significand >= safetensors__overflow_limit[exponent - 289];
}

static int safetensors__u64_times_ten_plus_overflows(uint64_t v, unsigned digit)
{
    const uint64_t tenth = UINT64_MAX / 10u; /* 1844674407370955161, and UINT64_MAX ends in 5 */
    return v > tenth || (v == tenth && digit > (unsigned)(UINT64_MAX % 10u));
}

static void safetensors__number_end(safetensors_parser *p, uint64_t at)
{
    int32_t exponent = p->number_exponent;
    int role = p->role;
    if (p->number_part == SAFETENSORS__N_MINUS || p->number_part == SAFETENSORS__N_DOT ||
        p->number_part == SAFETENSORS__N_EXP_MARK || p->number_part == SAFETENSORS__N_EXP_SIGN) {
        safetensors__fail(p, SAFETENSORS_ERR_JSON, at, "incomplete number");
        return;
    }
    if (p->number_part == SAFETENSORS__N_EXP && !p->number_exp_overflow) {
        int64_t e = (int64_t)exponent + (p->number_exp_negative ? -(int64_t)p->number_exp_digits
                                                                : (int64_t)p->number_exp_digits);
        if (e > INT32_MAX) e = INT32_MAX;
        if (e < INT32_MIN) e = INT32_MIN;
        exponent = (int32_t)e;
    }
    if ((!p->number_is_integer || p->number_long) && !p->number_exp_overflow &&
        safetensors__number_out_of_range(p->number_significand, exponent)) {
        safetensors__fail(p, SAFETENSORS_ERR_JSON, p->number_start, "number out of the range of a double");
        return;
    }
    if (role != SAFETENSORS__R_IGNORED && p->schema->number_end) {
        p->schema->number_end(p, !p->number_negative && p->number_is_integer && !p->number_long,
                              p->number_significand);
        if (p->failed) return;
    }
    safetensors__value_end(p);
}

static size_t safetensors__number_run(safetensors_parser *p, const unsigned char *s, size_t i, size_t n,
                                      uint64_t base)
{
    while (i < n) {
        unsigned c = s[i];
        int is_digit = c >= '0' && c <= '9';
        unsigned d = c - (unsigned)'0';
        switch (p->number_part) {
        case SAFETENSORS__N_MINUS:
            if (!is_digit) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "invalid number");
                return i;
            }
            p->number_part = c == '0' ? SAFETENSORS__N_ZERO : SAFETENSORS__N_INT;
            p->number_significand = d;
            break;
        case SAFETENSORS__N_ZERO:
        case SAFETENSORS__N_INT:
            if (is_digit) {
                if (p->number_part == SAFETENSORS__N_ZERO) {
                    safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "a number with a leading zero");
                    return i;
                }
                /* past 2^64 serde_json stops collecting digits and counts them
                   as a power of ten instead */
                if (p->number_long || safetensors__u64_times_ten_plus_overflows(p->number_significand, d)) {
                    p->number_long = 1;
                    if (p->number_exponent < INT32_MAX) p->number_exponent++;
                } else p->number_significand = p->number_significand * 10u + d;
            } else if (c == '.') {
                p->number_part = SAFETENSORS__N_DOT;
                p->number_is_integer = 0;
            } else if (c == 'e' || c == 'E') {
                p->number_part = SAFETENSORS__N_EXP_MARK;
                p->number_is_integer = 0;
            } else {
                safetensors__number_end(p, base + i);
                return i;
            }
            break;
        case SAFETENSORS__N_DOT:
        case SAFETENSORS__N_FRAC:
            if (is_digit) {
                p->number_part = SAFETENSORS__N_FRAC;
                /* fraction digits that no longer fit are dropped, as serde_json does */
                if (!p->number_frac_full && !safetensors__u64_times_ten_plus_overflows(p->number_significand, d)) {
                    p->number_significand = p->number_significand * 10u + d;
                    p->number_exponent--;
                } else p->number_frac_full = 1;
            } else if (p->number_part == SAFETENSORS__N_DOT) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "a number needs a digit after '.'");
                return i;
            } else if (c == 'e' || c == 'E') {
                p->number_part = SAFETENSORS__N_EXP_MARK;
            } else {
                safetensors__number_end(p, base + i);
                return i;
            }
            break;
        case SAFETENSORS__N_EXP_MARK:
        case SAFETENSORS__N_EXP_SIGN:
            if (p->number_part == SAFETENSORS__N_EXP_MARK && (c == '+' || c == '-')) {
                p->number_exp_negative = c == '-';
                p->number_part = SAFETENSORS__N_EXP_SIGN;
                break;
            }
            if (!is_digit) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "a number needs a digit in its exponent");
                return i;
            }
            p->number_part = SAFETENSORS__N_EXP;
            p->number_exp_digits = (int32_t)d;
            break;
        default: /* SAFETENSORS__N_EXP */
            if (!is_digit) {
                safetensors__number_end(p, base + i);
                return i;
            }
            if (!p->number_exp_overflow) {
                if (p->number_exp_digits > (INT32_MAX - (int32_t)d) / 10) {
                    /* an exponent beyond 32 bits: zero, or out of range */
                    if (p->number_significand != 0 && !p->number_exp_negative) {
                        safetensors__fail(p, SAFETENSORS_ERR_JSON, p->number_start,
                                          "number out of the range of a double");
                        return i;
                    }
                    p->number_exp_overflow = 1;
                } else p->number_exp_digits = p->number_exp_digits * 10 + (int32_t)d;
            }
            break;
        }
        i++;
    }
    return i;
}

/* --- helpers for the schemas' fast lanes --- */

/* Digits of an integer that the general path would take as a u64: no sign,
   no leading zero, at most 19 digits (so no overflow check). Returns 0, with
   nothing consumed that matters, for anything else. */
static SAFETENSORS__INLINE int safetensors__fast_u64(const unsigned char *s, size_t *at, size_t n, uint64_t *out)
{
    size_t k = *at, start = k;
    uint64_t v = 0;
    if (n - k >= 2 && (unsigned)s[k] - (unsigned)'0' <= 9u && (unsigned)s[k + 1] - (unsigned)'0' > 9u) {
        *at = k + 1; /* one digit, as most dims are: no word to assemble */
        *out = (uint64_t)(s[k] - '0');
        return 1;
    }
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Up to eight digits at once (SWAR, the first digit in the lowest
       byte): a loop would branch on every digit and mispredict where each
       number ends. A byte below '0' borrows and one above '9' carries into
       its top bit; either can disturb only the bytes after it. */
    if (n - k >= 8) {
        uint64_t w, d, flagged;
        size_t digits;
        memcpy(&w, s + k, 8);
        d = w - 0x3030303030303030u;
        flagged = (d | (d + 0x7676767676767676u)) & 0x8080808080808080u;
        digits = flagged ? (size_t)(safetensors__lowest_bit(flagged) >> 3) : 8;
        if (digits == 0) return 0;
        d <<= 8 * (8 - digits); /* the digits to the top: leading zeros below */
        d = (d * 10u + (d >> 8)) & 0x00ff00ff00ff00ffu;
        d = (d * 100u + (d >> 16)) & 0x0000ffff0000ffffu;
        v = (d * 10000u + (d >> 32)) & 0xffffffffu;
        k += digits;
    }
#endif
    while (k < n) {
        unsigned d = (unsigned)s[k] - (unsigned)'0';
        if (d > 9) break;
        v = v * 10u + d; /* may wrap past 19 digits, but such a number is refused below */
        k++;
    }
    if (k == start || k == n || k - start > 19 || (s[start] == '0' && k - start > 1)) return 0;
    *at = k;
    *out = v;
    return 1;
}

static SAFETENSORS__INLINE int safetensors__fast_literal(const unsigned char *s, size_t *at, size_t n, const char *text,
                                                         size_t len)
{
    if (n - *at < len || !safetensors__bytes_equal(s + *at, text, len)) return 0;
    *at += len;
    return 1;
}

/* --- the automaton's loop --- */

/* A captured value's bytes go to the arena as they pass: this chunk's share
   of them, s[from, end). */
static void safetensors__capture_flush(safetensors_parser *p, const unsigned char *s, uint64_t base, size_t end)
{
    size_t from = p->capture_start >= base ? (size_t)(p->capture_start - base) : 0;
    if (end > from && !safetensors__arena_push(p, s + from, end - from)) safetensors__fail_nomem(p, base + from);
    p->capture_start = base + end;
}

static void safetensors__capture_end(safetensors_parser *p, const unsigned char *s, uint64_t base, size_t end)
{
    size_t off = p->capture_arena_start, len;
    safetensors__capture_flush(p, s, base, end);
    p->capturing = p->capture_done = 0;
    if (p->failed) return;
    len = p->arena_len - off;
    if (!safetensors__arena_push(p, "", 1)) safetensors__fail_nomem(p, base + end);
    else p->schema->captured(p, off, len);
}

/* Runs the header bytes s[0..n), whose first byte is at file offset
   p->pos, through the automaton. Stops early only on an error. */
static void safetensors__parse_json(safetensors_parser *p, const unsigned char *s, size_t n)
{
    const uint64_t base = p->pos;
    size_t i = 0;
    while (i < n && !p->failed) {
        unsigned c = s[i];
        if (p->capture_done) {
            safetensors__capture_end(p, s, base, i);
            continue;
        }
        switch (p->state) {
        case SAFETENSORS__S_STRING: i = safetensors__string_run(p, s, i, n, base); continue;
        case SAFETENSORS__S_NUMBER: i = safetensors__number_run(p, s, i, n, base); continue;
        case SAFETENSORS__S_LITERAL:
            if (c != (unsigned char)p->literal[p->literal_at]) {
                safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "invalid literal (true, false or null)");
                continue;
            }
            if (p->literal[++p->literal_at] == '\0') safetensors__value_end(p);
            i++;
            continue;
        default: break;
        }
        if (safetensors__is_json_space(c)) {
            i++;
            continue;
        }
        switch (p->state) {
        case SAFETENSORS__S_VALUE: safetensors__value_begin(p, c, base + i); break;
        case SAFETENSORS__S_OBJ_FIRST:
        case SAFETENSORS__S_OBJ_KEY:
            if (c == '"') {
                int role = safetensors__top_role(p);
                size_t past = role != SAFETENSORS__R_IGNORED && p->schema->fast_member
                                  ? p->schema->fast_member(p, role, s, i, n, base)
                                  : i;
                if (past != i) {
                    /* The members of a table follow one another: the comma
                       and spaces between two go by here, not by a round of
                       the automaton per byte. Anything else is left to it,
                       in the state those bytes put it in. */
                    for (;;) {
                        size_t next = past;
                        i = past;
                        if (p->failed || next == n || s[next] != ',') break;
                        next = safetensors__skip_space(s, next + 1, n);
                        if (next == n || s[next] != '"') break;
                        p->state = SAFETENSORS__S_OBJ_KEY;
                        i = next;
                        past = p->schema->fast_member(p, role, s, i, n, base);
                        if (past == i) break;
                    }
                    continue;
                }
                safetensors__key_begin(p, base + i);
            }
            else if (c == '}' && p->state == SAFETENSORS__S_OBJ_FIRST) safetensors__container_end(p, base + i);
            else safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "expected a string key");
            break;
        case SAFETENSORS__S_COLON:
            if (c == ':') p->state = SAFETENSORS__S_VALUE;
            else safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "expected ':' after a key");
            break;
        case SAFETENSORS__S_OBJ_NEXT:
            if (c == ',') p->state = SAFETENSORS__S_OBJ_KEY;
            else if (c == '}') safetensors__container_end(p, base + i);
            else safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "expected ',' or '}' in an object");
            break;
        case SAFETENSORS__S_ARR_FIRST:
        case SAFETENSORS__S_ARR_NEXT:
            if (c == ']') {
                safetensors__container_end(p, base + i);
                break;
            }
            {
                int role = safetensors__top_role(p);
                p->role = role == SAFETENSORS__R_IGNORED || !p->schema->element_role ? SAFETENSORS__R_IGNORED
                                                                                     : p->schema->element_role(role);
            }
            if (p->state == SAFETENSORS__S_ARR_FIRST) {
                p->state = SAFETENSORS__S_VALUE;
                continue; /* this byte starts the first element */
            }
            if (c == ',') p->state = SAFETENSORS__S_VALUE;
            else safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "expected ',' or ']' in an array");
            break;
        default: /* SAFETENSORS__S_END */
            safetensors__fail(p, SAFETENSORS_ERR_JSON, base + i, "trailing characters after the JSON value");
            break;
        }
        i++;
    }
    if (p->capturing && !p->failed) {
        if (p->capture_done) safetensors__capture_end(p, s, base, n);
        else safetensors__capture_flush(p, s, base, n);
    }
}

/* --- the header schema: tensor entries and __metadata__ --- */

/* A value of the wrong JSON type for where it stands: say what belongs
   there. `c` is the value's first byte. */
static void safetensors__header_wrong_type(safetensors_parser *p, unsigned c, uint64_t at)
{
    const safetensors__entry *e = p->entry_count ? &p->entries[p->current].e : NULL;
    const char *text;
    switch (p->role) {
    case SAFETENSORS__R_ROOT: safetensors__fail(p, SAFETENSORS_ERR_SCHEMA, at, "the header must be a JSON object"); return;
    case SAFETENSORS__R_META:
        safetensors__fail(p, SAFETENSORS_ERR_SCHEMA, at, "__metadata__ must be an object of strings, or null");
        return;
    case SAFETENSORS__R_META_VALUE:
        safetensors__fail_pair(p, at, "metadata ", p->meta_key_off, p->meta_key_len, ": the value must be a string");
        return;
    case SAFETENSORS__R_TENSOR:
        text = c == '[' ? "an entry written as an array is refused; write it as an object"
                        : "the entry must be an object with dtype, shape and data_offsets";
        break;
    case SAFETENSORS__R_DTYPE:
        text = c == '{' ? "a dtype written as an object is refused; write it as a string" : "dtype must be a string";
        break;
    case SAFETENSORS__R_SHAPE:
    case SAFETENSORS__R_DIM: text = "shape must be an array of non-negative integers below 2^64"; break;
    default: text = "data_offsets must be an array of two non-negative integers below 2^64"; break;
    }
    safetensors__fail_tensor(p, SAFETENSORS_ERR_SCHEMA, at, e, text);
}

static int safetensors__header_value_begin(safetensors_parser *p, unsigned type, unsigned c, uint64_t at)
{
    int role = p->role, allowed;
    safetensors__entry *e = p->entry_count ? &p->entries[p->current].e : NULL;
    if (role == SAFETENSORS__R_OFFSET && p->offset_count >= 2) {
        safetensors__fail_tensor(p, SAFETENSORS_ERR_SCHEMA, at, e, "data_offsets must hold exactly two integers");
        return SAFETENSORS__VALUE_REFUSED;
    }
    switch (type) {
    case 0: return SAFETENSORS__VALUE_OK; /* not a value at all: the automaton says so */
    case '{': allowed = role == SAFETENSORS__R_ROOT || role == SAFETENSORS__R_TENSOR || role == SAFETENSORS__R_META; break;
    case '[': allowed = role == SAFETENSORS__R_SHAPE || role == SAFETENSORS__R_OFFSETS; break;
    case '"': allowed = role == SAFETENSORS__R_META_VALUE || role == SAFETENSORS__R_DTYPE; break;
    case 'n': allowed = role == SAFETENSORS__R_META; break;
    case '0': allowed = role == SAFETENSORS__R_DIM || role == SAFETENSORS__R_OFFSET; break;
    default: allowed = 0; break; /* true, false */
    }
    if (!allowed) {
        safetensors__header_wrong_type(p, c, at);
        return SAFETENSORS__VALUE_REFUSED;
    }
    if (role == SAFETENSORS__R_TENSOR) e->fields = 0;
    if (role == SAFETENSORS__R_SHAPE) {
        e->shape_off = p->dim_count;
        e->ndim = 0;
    }
    if (role == SAFETENSORS__R_OFFSETS) p->offset_count = 0;
    if (type == '"') p->sink = role == SAFETENSORS__R_DTYPE ? SAFETENSORS__TO_SCRATCH : SAFETENSORS__TO_ARENA;
    return SAFETENSORS__VALUE_OK;
}

static int safetensors__header_key_sink(int role)
{
    /* tensor names and metadata keys are kept; field names only matched */
    return role == SAFETENSORS__R_TENSOR ? SAFETENSORS__TO_SCRATCH : SAFETENSORS__TO_ARENA;
}

/* A key of the top-level object: "__metadata__", or a tensor's name. */
static void safetensors__top_key_end(safetensors_parser *p)
{
    size_t off, len;
    static const char metadata_key[] = "__metadata__";
    if (p->arena_len - p->string_arena_start == sizeof metadata_key - 1 &&
        memcmp(p->arena + p->string_arena_start, metadata_key, sizeof metadata_key - 1) == 0) {
        p->arena_len = p->string_arena_start;
        if (p->saw_metadata_key) {
            safetensors__fail(p, SAFETENSORS_ERR_DUPLICATE, p->string_start, "__metadata__ appears twice");
            return;
        }
        p->saw_metadata_key = 1;
        p->meta_first = p->arena_len;
        p->meta_base_at = p->meta_last_at = p->string_start;
        p->role = SAFETENSORS__R_META;
        return;
    }
    if (safetensors__count_full(p, p->entry_count, p->string_start, "more than 2^32 - 2 tensors")) return;
    if (!safetensors__arena_terminate(p, &off, &len) || !safetensors__push_entry(p, off, len, p->string_start)) {
        safetensors__fail_nomem(p, p->string_start);
        return;
    }
    p->role = SAFETENSORS__R_TENSOR;
}

/* The string just decoded at arena[start, arena_len) gets its record
   fields: `lead` (k bytes of varints) goes before it and a NUL after.
   Returns 0 when memory runs out, with the arena's contents as they were. */
static int safetensors__arena_lead(safetensors_parser *p, size_t start, const unsigned char *lead, size_t k)
{
    size_t len = p->arena_len - start;
    if (!safetensors__arena_push(p, lead, k + 1)) return 0; /* room: the bytes themselves are placed below */
    memmove(p->arena + start + k, p->arena + start, len);
    memcpy(p->arena + start, lead, k);
    p->arena[start + k + len] = '\0';
    return 1;
}

/* A metadata key, decoded at arena[start, arena_len), its quote at `at`,
   becomes the head of a record (see the metadata table in >>hash). Both
   lanes come here. 0 when memory runs out, with the parser untouched. */
static int safetensors__meta_key_done(safetensors_parser *p, size_t start, uint64_t at)
{
    unsigned char lead[20];
    size_t len = p->arena_len - start, k = safetensors__varint_put(lead, at - p->meta_last_at);
    k += safetensors__varint_put(lead + k, len);
    if (!safetensors__arena_lead(p, start, lead, k)) {
        p->arena_len = start + len;
        return 0;
    }
    p->meta_last_at = at;
    p->meta_key_off = start + k;
    p->meta_key_len = len;
    p->meta_records++;
    return 1;
}

/* The value decoded at arena[start, arena_len) ends the record. */
static int safetensors__meta_value_done(safetensors_parser *p, size_t start)
{
    unsigned char lead[10];
    size_t len = p->arena_len - start;
    if (safetensors__arena_lead(p, start, lead, safetensors__varint_put(lead, len))) return 1;
    p->arena_len = start + len;
    return 0;
}

/* A metadata key is in. Record offsets are 32-bit: a record starting past
   4 GiB of decoded strings (only with a raised max_header_size) is too much. */
static void safetensors__meta_key_end(safetensors_parser *p)
{
    if (safetensors__count_full(p, p->meta_records, p->string_start, "more than 2^32 - 2 metadata entries")) return;
    if (p->string_arena_start > UINT32_MAX) {
        safetensors__fail(p, SAFETENSORS_ERR_TOO_LARGE, p->string_start,
                          "metadata past 4 GiB of decoded names and strings (a raised max_header_size)");
        return;
    }
    if (!safetensors__meta_key_done(p, p->string_arena_start, p->string_start)) {
        safetensors__fail_nomem(p, p->string_start);
        return;
    }
    p->role = SAFETENSORS__R_META_VALUE;
}

static void safetensors__field_key_end(safetensors_parser *p)
{
    safetensors__entry *e = &p->entries[p->current].e;
    unsigned bit;
    int role;
    const char *name;
    if (safetensors__scratch_is(p, "dtype", 5)) {
        bit = SAFETENSORS__FIELD_DTYPE;
        role = SAFETENSORS__R_DTYPE;
        name = "field dtype appears twice";
    } else if (safetensors__scratch_is(p, "shape", 5)) {
        bit = SAFETENSORS__FIELD_SHAPE;
        role = SAFETENSORS__R_SHAPE;
        name = "field shape appears twice";
    } else if (safetensors__scratch_is(p, "data_offsets", 12)) {
        bit = SAFETENSORS__FIELD_OFFSETS;
        role = SAFETENSORS__R_OFFSETS;
        name = "field data_offsets appears twice";
    } else {
        /* unknown fields are ignored, as the reference ignores them, repeats included */
        p->role = SAFETENSORS__R_IGNORED;
        return;
    }
    if (e->fields & bit) {
        safetensors__fail_tensor(p, SAFETENSORS_ERR_DUPLICATE, p->string_start, e, name);
        return;
    }
    e->fields = (unsigned char)(e->fields | bit);
    p->role = role;
}

static void safetensors__dtype_end(safetensors_parser *p)
{
    safetensors__entry *e = &p->entries[p->current].e;
    safetensors_dtype d;
    if (p->scratch_len > SAFETENSORS__SCRATCH ||
        safetensors_dtype_from_name(p->scratch, p->scratch_len, &d) != SAFETENSORS_OK) {
        safetensors__fail_tensor(p, SAFETENSORS_ERR_DTYPE, p->string_start, e, "unknown dtype ");
        safetensors__err_add_name(&p->error, p->scratch,
                                  p->scratch_len > SAFETENSORS__SCRATCH ? SAFETENSORS__SCRATCH : p->scratch_len);
        if (p->scratch_len > SAFETENSORS__SCRATCH) safetensors__err_add(&p->error, "...");
        return;
    }
    e->dtype = (unsigned char)d;
}

static void safetensors__header_string_end(safetensors_parser *p)
{
    if (p->in_key) {
        switch (safetensors__top_role(p)) {
        case SAFETENSORS__R_ROOT: safetensors__top_key_end(p); return;
        case SAFETENSORS__R_META: safetensors__meta_key_end(p); return;
        default: safetensors__field_key_end(p); return;
        }
    }
    if (p->role == SAFETENSORS__R_DTYPE) safetensors__dtype_end(p);
    else if (!safetensors__meta_value_done(p, p->string_arena_start)) safetensors__fail_nomem(p, p->string_start);
}

static void safetensors__header_number_end(safetensors_parser *p, int is_u64, uint64_t value)
{
    safetensors__entry *e = &p->entries[p->current].e;
    if (!is_u64) {
        safetensors__header_wrong_type(p, '0', p->number_start);
        return;
    }
    if (p->role == SAFETENSORS__R_DIM) {
        if (!safetensors__push_dim(p, value)) {
            safetensors__fail_nomem(p, p->number_start);
            return;
        }
        e->ndim++;
        return;
    }
    if (p->offset_count == 0) e->begin = value;
    else e->end = value;
    p->offset_count++;
}

/* A whole tensor entry in the layout the reference writer produces, compact
   and in the order dtype, shape, data_offsets, with a plain ASCII name, lying
   entirely within this chunk: read it in one pass. Anything else (an escape,
   whitespace, another order, a chunk boundary, anything the general path
   would refuse) leaves no trace and returns i, and the automaton reads the
   same bytes instead. It appends through the same typed helpers as the
   slow path, so what it commits is exactly what the automaton would have
   built: the fast lane changes the speed, never the result. */
/* A metadata entry "key":"value" with plain ASCII strings, compact,
   within this chunk: the same record the automaton would write. */
static size_t safetensors__meta_fast_member(safetensors_parser *p, const unsigned char *s, size_t i, size_t n,
                                            uint64_t base)
{
    const size_t arena_mark = p->arena_len, records = p->meta_records, key_off = p->meta_key_off,
                 key_len = p->meta_key_len;
    const uint64_t last_at = p->meta_last_at;
    size_t key_end = safetensors__plain_run_end(s, i + 1, n), value_end, value_mark;
    if (n - key_end < 3 || s[key_end] != '"' || s[key_end + 1] != ':' || s[key_end + 2] != '"') return i;
    value_end = safetensors__plain_run_end(s, key_end + 3, n);
    if (value_end == n || s[value_end] != '"' || records >= (size_t)UINT32_MAX - 1 || arena_mark > UINT32_MAX)
        return i;
    if (!safetensors__arena_push(p, s + i + 1, key_end - i - 1) || !safetensors__meta_key_done(p, arena_mark, base + i))
        goto bail;
    value_mark = p->arena_len;
    if (!safetensors__arena_push(p, s + key_end + 3, value_end - key_end - 3) ||
        !safetensors__meta_value_done(p, value_mark))
        goto bail;
    p->state = SAFETENSORS__S_OBJ_NEXT;
    return value_end + 1;
bail:
    p->arena_len = arena_mark;
    p->meta_records = records;
    p->meta_last_at = last_at;
    p->meta_key_off = key_off;
    p->meta_key_len = key_len;
    return i;
}

/* One tensor, in the reference's order of checks, `start` being where the
   previous tensor ended: SAFETENSORS_OK, SAFETENSORS_ERR_OFFSETS, the size
   checker's code (overflow, misaligned), or SAFETENSORS_ERR_SIZE, with the
   size checker's *bits and *bytes. */
static safetensors_result safetensors__entry_verdict(const safetensors_parser *p, const safetensors__entry *e,
                                                     uint64_t start, uint64_t *bits, uint64_t *bytes)
{
    uint64_t elements;
    safetensors_result code;
    if (e->begin != start || e->end < e->begin) return SAFETENSORS_ERR_OFFSETS;
    code = safetensors__tensor_size(e->dtype, p->dims ? p->dims + e->shape_off : NULL, e->ndim, &elements, bits, bytes);
    if (code != SAFETENSORS_OK) return code;
    return e->end - e->begin == *bytes ? SAFETENSORS_OK : SAFETENSORS_ERR_SIZE;
}

/* Each complete entry, in file order, while it is in the cache: the table
   is still one that check_table would pass as it stands (each tensor holds
   bytes, starts where the one before ended, and has the size its dtype and
   shape make) or it is not, and then finish sorts and checks it, in the
   reference's order, with its messages. What every writer makes thus costs
   no pass over the table after the parse. */
static void safetensors__entry_done(safetensors_parser *p, const safetensors__entry *e)
{
    uint64_t bits, bytes;
    /* a zero-size tensor shares its begin with the next: ties are check_table's */
    if (!p->out_of_order &&
        (e->end == e->begin || safetensors__entry_verdict(p, e, p->run_end, &bits, &bytes) != SAFETENSORS_OK))
        p->out_of_order = 1;
    p->run_end = e->end;
}

static size_t safetensors__header_fast_member(safetensors_parser *p, int role, const unsigned char *s, size_t i,
                                              size_t n, uint64_t base)
{
    const size_t arena_mark = p->arena_len, dims_mark = p->dim_count;
    size_t at = i + 1, name_end, dtype_start;
    uint64_t v, begin, end;
    safetensors_dtype dtype;
    safetensors__entry *e;
    if (role == SAFETENSORS__R_META) return safetensors__meta_fast_member(p, s, i, n, base);
    if (role != SAFETENSORS__R_ROOT) return i;
    /* two lines: an entry takes about 100 bytes */
    SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_READ, s + i, n - i, 1024);
    SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_READ, s + i, n - i, 1024 + 64);
    name_end = safetensors__plain_run_end(s, at, n);
    if (name_end == n || s[name_end] != '"' ||
        (name_end - at == 12 && memcmp(s + at, "__metadata__", 12) == 0))
        return i;
    at = name_end;
    if (!safetensors__fast_literal(s, &at, n, "\":{\"dtype\":\"", 12)) return i;
    dtype_start = at;
    while (at < n && s[at] != '"' && at - dtype_start < SAFETENSORS__SCRATCH) at++;
    if (at == n || s[at] != '"' ||
        safetensors_dtype_from_name((const char *)(s + dtype_start), at - dtype_start, &dtype) != SAFETENSORS_OK ||
        !safetensors__fast_literal(s, &at, n, "\",\"shape\":[", 11))
        return i;
    if (at < n && s[at] == ']') at++;
    else
        for (;;) {
            if (p->dim_count == p->dim_cap)
                p->dims = (uint64_t *)(safetensors__grow_projected(p, p->dims, &p->dim_cap, p->dim_count,
                                                                   sizeof *p->dims, base + at));
            if (!safetensors__fast_u64(s, &at, n, &v) || !safetensors__push_dim(p, v)) goto bail;
            if (s[at] == ']') {
                at++;
                break;
            }
            if (s[at++] != ',') goto bail;
        }
    if (!safetensors__fast_literal(s, &at, n, ",\"data_offsets\":[", 17) || !safetensors__fast_u64(s, &at, n, &begin) ||
        !safetensors__fast_literal(s, &at, n, ",", 1) || !safetensors__fast_u64(s, &at, n, &end) ||
        !safetensors__fast_literal(s, &at, n, "]}", 2))
        goto bail;
    if (p->entry_count >= (size_t)UINT32_MAX - 1 || !safetensors__arena_push_name(p, s + i + 1, name_end - i - 1, base + i))
        goto bail;
    e = safetensors__push_entry(p, arena_mark, name_end - i - 1, base + i);
    if (e == NULL) goto bail;
    e->shape_off = dims_mark;
    e->ndim = p->dim_count - dims_mark;
    e->begin = begin;
    e->end = end;
    e->dtype = (unsigned char)dtype;
    e->fields = SAFETENSORS__FIELD_DTYPE | SAFETENSORS__FIELD_SHAPE | SAFETENSORS__FIELD_OFFSETS;
    safetensors__entry_done(p, e);
    p->state = SAFETENSORS__S_OBJ_NEXT;
    return at;
bail:
    p->arena_len = arena_mark;
    p->dim_count = dims_mark;
    return i;
}

static int safetensors__header_container_end(safetensors_parser *p, int role, uint64_t at)
{
    const safetensors__entry *e = p->entry_count ? &p->entries[p->current].e : NULL;
    if (role == SAFETENSORS__R_TENSOR) {
        const char *missing = !(e->fields & SAFETENSORS__FIELD_DTYPE)     ? "missing field dtype"
                              : !(e->fields & SAFETENSORS__FIELD_SHAPE)   ? "missing field shape"
                              : !(e->fields & SAFETENSORS__FIELD_OFFSETS) ? "missing field data_offsets"
                                                                          : NULL;
        if (missing) {
            safetensors__fail_tensor(p, SAFETENSORS_ERR_SCHEMA, at, e, missing);
            return 0;
        }
        safetensors__entry_done(p, e);
    }
    if (role == SAFETENSORS__R_OFFSETS && p->offset_count != 2) {
        safetensors__fail_tensor(p, SAFETENSORS_ERR_SCHEMA, at, e, "data_offsets must hold exactly two integers");
        return 0;
    }
    return 1;
}

static int safetensors__header_element_role(int array_role)
{
    return array_role == SAFETENSORS__R_SHAPE ? SAFETENSORS__R_DIM : SAFETENSORS__R_OFFSET;
}

static const safetensors__schema safetensors__header_schema = {
    SAFETENSORS__R_ROOT,
    safetensors__header_value_begin,
    safetensors__header_key_sink,
    safetensors__header_string_end,
    safetensors__header_number_end,
    safetensors__header_container_end,
    safetensors__header_element_role,
    safetensors__header_fast_member,
    NULL};

/* --- the parser's public face --- */

SAFETENSORS_API safetensors_result safetensors_parser_create(const safetensors_options *opt,
                                                             safetensors_parser **out, safetensors_error *err)
{
    safetensors_options o;
    safetensors_parser *p;
    safetensors_error e;
    const char *problem = safetensors__open_options(opt, &o);
    if (out == NULL || problem) {
        if (out) *out = NULL;
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                                                out ? problem : "out must not be NULL"),
                                        &e));
        return SAFETENSORS_ERR_ARGUMENT;
    }
    *out = NULL;
    p = (safetensors_parser *)(safetensors__alloc(&o.allocator, sizeof *p));
    if (p == NULL) {
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory"), &e));
        return SAFETENSORS_ERR_NOMEM;
    }
    memset(p, 0, sizeof *p);
    p->alloc = o.allocator;
    p->max_header = o.max_header_size ? o.max_header_size : SAFETENSORS_DEFAULT_MAX_HEADER_SIZE;
    p->seed = safetensors__pick_seed(o.hash_seed, p);
    p->file_size = SAFETENSORS_SIZE_UNKNOWN;
    p->schema = &safetensors__header_schema;
    p->state = SAFETENSORS__S_VALUE;
    p->role = SAFETENSORS__R_ROOT;
    *out = p;
    return SAFETENSORS_OK;
}

static void safetensors__parser_release_table(safetensors_parser *p)
{
    const safetensors_allocator *a = &p->alloc;
    safetensors__free(a, p->arena, p->arena_cap);
    safetensors__free(a, p->entries, p->entry_cap * sizeof *p->entries);
    safetensors__free(a, p->dims, p->dim_cap * sizeof *p->dims);
    safetensors__free(a, p->metas, p->meta_cap * sizeof *p->metas);
    p->arena = NULL;
    p->entries = NULL;
    p->dims = NULL;
    p->metas = NULL;
    p->arena_cap = p->entry_cap = p->dim_cap = p->meta_cap = 0;
}

SAFETENSORS_API void safetensors_parser_destroy(safetensors_parser *p)
{
    safetensors_allocator alloc;
    if (p == NULL) return;
    alloc = p->alloc;
    safetensors__parser_release_table(p);
    safetensors__free(&alloc, p, sizeof *p);
}

/* The interface other schemas use: read bare JSON (no length prefix; up to
   max_header bytes) whose values `schema` interprets, keeping its own
   table in `state`. Before the first feed. (Its one user is >>model.) */
#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
static void safetensors__parser_bare(safetensors_parser *p, const safetensors__schema *schema, void *state)
{
    p->schema = schema;
    p->schema_state = state;
    p->bare = 1;
    p->length_have = SAFETENSORS__LENGTH_BYTES;
    p->header_end = UINT64_MAX;
    p->role = schema->root_role;
}
#endif

/* The file ends at `file_end`, short of 8 + N. */
static void safetensors__fail_header_length(safetensors_parser *p, uint64_t file_end)
{
    safetensors__fail(p, SAFETENSORS_ERR_HEADER_LENGTH, file_end, "the header claims ");
    safetensors__err_add_u64(&p->error, p->header_end - SAFETENSORS__LENGTH_BYTES);
    safetensors__err_add(&p->error, " bytes but the file ends after ");
    safetensors__err_add_u64(&p->error, file_end - SAFETENSORS__LENGTH_BYTES);
}

SAFETENSORS_API safetensors_result safetensors_parser_expect_size(safetensors_parser *p, uint64_t file_size)
{
    if (p == NULL || p->pos != 0 || p->finished) return SAFETENSORS_ERR_ARGUMENT;
    p->file_size = file_size;
    return SAFETENSORS_OK;
}

/* The 8 length bytes are in: check N before a single header byte is read. */
static void safetensors__length_end(safetensors_parser *p)
{
    uint64_t n = 0;
    int k;
    for (k = 7; k >= 0; k--) n = (n << 8) | p->length_bytes[k];
    if (n > p->max_header || n > UINT64_MAX - SAFETENSORS__LENGTH_BYTES) {
        safetensors__fail(p, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0, "the header length ");
        safetensors__err_add_u64(&p->error, n);
        safetensors__err_add(&p->error, " is above the limit of ");
        safetensors__err_add_u64(&p->error, p->max_header);
        safetensors__err_add(&p->error, " bytes");
        return;
    }
    p->header_end = SAFETENSORS__LENGTH_BYTES + n;
    if (p->header_end > p->file_size) safetensors__fail_header_length(p, p->file_size);
}

/* The last header byte is in: the JSON value must be complete. */
static void safetensors__header_end(safetensors_parser *p)
{
    if (p->state == SAFETENSORS__S_STRING && p->utf8_need) {
        safetensors__fail(p, SAFETENSORS_ERR_UTF8, p->header_end, "the header ends inside a UTF-8 sequence");
        return;
    }
    if (p->state != SAFETENSORS__S_END) {
        safetensors__fail(p, SAFETENSORS_ERR_JSON, p->header_end, "the header ends inside its JSON value");
        return;
    }
    p->done = 1;
}

SAFETENSORS_API safetensors_result safetensors_parser_feed(safetensors_parser *p, const void *bytes, size_t len,
                                                           size_t *consumed, int *done, safetensors_error *err)
{
    const unsigned char *s = (const unsigned char *)(bytes);
    size_t used = 0;
    if (consumed) *consumed = 0;
    if (done) *done = 0;
    if (p == NULL || (bytes == NULL && len != 0) || p->finished) {
        safetensors_error e;
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                p ? (p->finished ? "the parser was already finished" : "bytes is NULL")
                                  : "the parser is NULL");
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    while (!p->failed && !p->done && used < len) {
        if (p->length_have < SAFETENSORS__LENGTH_BYTES) {
            p->length_bytes[p->length_have++] = s[used++];
            p->pos++;
            if (p->length_have == SAFETENSORS__LENGTH_BYTES) {
                safetensors__length_end(p);
                if (!p->failed && p->pos == p->header_end) safetensors__header_end(p);
            }
        } else {
            uint64_t left = p->header_end - p->pos;
            size_t take = len - used;
            if ((uint64_t)take > left) take = (size_t)left;
            if (p->bare && (uint64_t)take > p->max_header - p->pos) {
                safetensors__fail(p, SAFETENSORS_ERR_HEADER_TOO_LARGE, p->max_header,
                                  "the index is larger than the maximum header size");
                break;
            }
            safetensors__parse_json(p, s + used, take);
            if (p->failed) break;
            used += take;
            p->pos += take;
            if (p->pos == p->header_end) safetensors__header_end(p);
        }
    }
    if (consumed) *consumed = used;
    if (p->failed) {
        safetensors__err_copy_out(err, &p->error);
        return p->error.code;
    }
    if (done) *done = p->done;
    return SAFETENSORS_OK;
}

/* >>validate ---------------------------------------------------------- */
/* The reference sorts the tensors by (begin, end) and walks them: each must
   start where the previous one ended, and hold exactly the bytes its dtype
   and shape need. The same walk, in the same order, gives the same first
   error. The table is then handed out in (begin, name) order. */

struct safetensors_file {
    safetensors_allocator alloc;
    uint64_t seed;
    safetensors_tensor *tensors;
    size_t tensor_count, tensors_size; /* tensors_size: the bytes allocated for them */
    const uint32_t *meta_sorted; /* the metadata table (see >>hash): records in the arena */
    uint32_t *meta_marks;
    size_t meta_count, meta_sorted_size, meta_marks_size;
    safetensors__index tensor_index;
    char *arena;
    size_t arena_cap;
    uint64_t *dims;
    size_t dim_cap;
    uint64_t header_size, data_size;
    void *mapping; /* the whole file, mapped */
    size_t mapping_len;
    void *owned; /* the data section, read into memory */
    size_t owned_len;
    void *aligned_copies; /* SAFETENSORS_ALIGNED_COPY: the misaligned tensors, copied */
    size_t aligned_copies_len;
    void *os_file; /* a HEADER_ONLY open keeps its file (a safetensors__os_file) for reads */
    const unsigned char *held_data; /* a HEADER_ONLY open_memory: the caller's data section */
    safetensors_io io;                    /* a HEADER_ONLY open_io reads through it (io.read set) */
    const safetensors_model_io *io_owner; /* whose close releases io, for a model's shards */
};

/* (begin, end, name): the reference's order, with names to make it total. */
static int safetensors__entry_before(const safetensors_parser *p, const safetensors__entry *a,
                                     const safetensors__entry *b)
{
    if (a->begin != b->begin) return a->begin < b->begin;
    if (a->end != b->end) return a->end < b->end;
    return safetensors__name_compare(p->arena + a->name_off, a->name_len, p->arena + b->name_off, b->name_len) < 0;
}

/* Moves the n rows so that row i goes to to[i], following the
   permutation's cycles: no second table, which the open's peak bound has
   no room for. `to` is used up. */
static void safetensors__permute_rows(safetensors__row *rows, uint32_t *to, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++)
        while (to[k] != k) {
            uint32_t j = to[k];
            safetensors__row swap = rows[j];
            rows[j] = rows[k];
            rows[k] = swap;
            to[k] = to[j];
            to[j] = j;
        }
}

/* Bottom-up merge sort of indices by `before(ctx, a, b)`: stable, O(n log n)
   whatever the input, and no recursion for a hostile file to deepen. */
static void safetensors__sort_indices(uint32_t *order, uint32_t *tmp, size_t n,
                                      int (*before)(const void *ctx, uint32_t a, uint32_t b), const void *ctx)
{
    size_t width;
    uint32_t *from = order, *to = tmp;
    for (width = 1; width < n; width *= 2) {
        size_t lo;
        for (lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) to[k++] = before(ctx, from[b], from[a]) ? from[b++] : from[a++];
            while (a < mid) to[k++] = from[a++];
            while (b < hi) to[k++] = from[b++];
        }
        {
            uint32_t *swap = from;
            from = to;
            to = swap;
        }
    }
    if (from != order) memcpy(order, from, n * sizeof *order);
}

static int safetensors__entry_index_before(const void *ctx, uint32_t a, uint32_t b)
{
    const safetensors_parser *p = (const safetensors_parser *)(ctx);
    return safetensors__entry_before(p, &p->entries[a].e, &p->entries[b].e);
}

/* Sorts the row numbers order[0..n) by (begin, end, name) through tmp
   (room for n): a stable radix sort on begin, a byte a pass over the bytes
   that begins have, then each run of equal begins by the whole order. The
   merge sort alone read two rows at random for every compare, some twenty
   passes of them: an out-of-order 1M-tensor header took 570 ms to open,
   six times one in order. A pass here reads the rows at random too, but
   the reads stand alone (their misses overlap), and a file of under 16 MB
   of data takes three passes. A header whose begins are all equal is left
   to the merge sort, as before. */
static void safetensors__sort_entries(const safetensors_parser *p, uint32_t *order, uint32_t *tmp, size_t n)
{
    uint64_t all = 0;
    uint32_t *from = order, *to = tmp, counts[256]; /* rows are numbered in 32 bits */
    size_t k, run;
    unsigned shift;
    for (k = 0; k < n; k++) all |= p->entries[k].e.begin;
    for (shift = 0; shift < 64 && (all >> shift) != 0; shift += 8) {
        uint32_t sum = 0, *swap;
        size_t b;
        memset(counts, 0, sizeof counts);
        for (k = 0; k < n; k++) counts[(size_t)(p->entries[k].e.begin >> shift) & 255u]++; /* any order counts */
        for (b = 0; b < 256; b++) {
            uint32_t c = counts[b];
            counts[b] = sum;
            sum += c;
        }
        for (k = 0; k < n; k++) {
            if (k + 16 < n) SAFETENSORS__PREFETCH_READ(&p->entries[from[k + 16]]);
            to[counts[(size_t)(p->entries[from[k]].e.begin >> shift) & 255u]++] = from[k];
        }
        swap = from;
        from = to;
        to = swap;
    }
    if (from != order) memcpy(order, from, n * sizeof *order);
    for (run = 0; run < n; run = k) {
        uint64_t begin = p->entries[order[run]].e.begin;
        for (k = run + 1; k < n && p->entries[order[k]].e.begin == begin; k++) continue;
        if (k - run > 1) safetensors__sort_indices(order + run, tmp, k - run, safetensors__entry_index_before, p);
    }
}

/* An entry's "F32 [4, 5]", for the parser's messages. */
static void safetensors__err_add_entry_type(safetensors_parser *p, const safetensors__entry *e)
{
    safetensors__err_add_dtype_shape(&p->error, e->dtype, p->dims ? p->dims + e->shape_off : NULL, e->ndim);
}

static void safetensors__err_add_range(safetensors_parser *p, const safetensors__entry *e)
{
    safetensors__err_add(&p->error, "data_offsets [");
    safetensors__err_add_u64(&p->error, e->begin);
    safetensors__err_add(&p->error, ", ");
    safetensors__err_add_u64(&p->error, e->end);
    safetensors__err_add(&p->error, "]");
}

/* entry_verdict, and the message for what it found. */
static int safetensors__check_entry(safetensors_parser *p, const safetensors__entry *e, uint64_t start)
{
    uint64_t bits = 0, bytes = 0;
    safetensors_result code = safetensors__entry_verdict(p, e, start, &bits, &bytes);
    if (code == SAFETENSORS_OK) return 1;
    safetensors__fail_tensor(p, code, e->key_offset, e, "");
    if (code == SAFETENSORS_ERR_OFFSETS) {
        safetensors__err_add_range(p, e);
        if (e->end < e->begin) safetensors__err_add(&p->error, " end before they begin");
        else {
            safetensors__err_add(&p->error, e->begin > start ? " leave a hole: the previous tensor ends at "
                                                             : " overlap the previous tensor, which ends at ");
            safetensors__err_add_u64(&p->error, start);
        }
    } else if (code == SAFETENSORS_ERR_SIZE) {
        safetensors__err_add_range(p, e);
        safetensors__err_add(&p->error, " hold ");
        safetensors__err_add_u64(&p->error, e->end - e->begin);
        safetensors__err_add(&p->error, " bytes but ");
        safetensors__err_add_entry_type(p, e);
        safetensors__err_add(&p->error, " needs ");
        safetensors__err_add_u64(&p->error, bytes);
    } else {
        safetensors__err_add_size_problem(&p->error, code, e->dtype, p->dims ? p->dims + e->shape_off : NULL, e->ndim,
                                          bits);
    }
    return 0;
}

/* Within one `begin`, a valid table holds zero-size tensors (sorted by name)
   and then at most one tensor with bytes: move that one to its place by name,
   which turns (begin, end, name) order into (begin, name) order in O(n). */
static void safetensors__order_by_begin_then_name(const safetensors_parser *p, uint32_t *order, size_t n)
{
    size_t run = 0;
    while (run < n) {
        size_t last = run, at;
        uint32_t moving;
        const safetensors__entry *m;
        while (last + 1 < n && p->entries[order[last + 1]].e.begin == p->entries[order[run]].e.begin) last++;
        moving = order[last];
        m = &p->entries[moving].e;
        at = last;
        while (at > run) {
            const safetensors__entry *before = &p->entries[order[at - 1]].e;
            if (safetensors__name_compare(p->arena + before->name_off, before->name_len, p->arena + m->name_off,
                                          m->name_len) < 0)
                break;
            order[at] = order[at - 1];
            at--;
        }
        order[at] = moving;
        run = last + 1;
    }
}

static int safetensors__check_table(safetensors_parser *p, uint32_t *order, uint64_t *data_len)
{
    size_t n = p->entry_count, k;
    uint64_t start = 0;
    int sorted = 1;
    for (k = 0; k < n; k++) order[k] = (uint32_t)k;
    for (k = 1; k < n && sorted; k++) sorted = !safetensors__entry_before(p, &p->entries[k].e, &p->entries[k - 1].e);
    if (!sorted) {
        uint32_t *tmp = (uint32_t *)(safetensors__alloc(&p->alloc, n * sizeof *tmp));
        if (tmp == NULL) {
            safetensors__fail_nomem(p, p->header_end);
            return 0;
        }
        safetensors__sort_entries(p, order, tmp, n);
        safetensors__free(&p->alloc, tmp, n * sizeof *tmp);
    }
    for (k = 0; k < n; k++) {
        const safetensors__entry *e = &p->entries[order[k]].e;
        if (!sorted && k + 8 < n) SAFETENSORS__PREFETCH_READ(&p->entries[order[k + 8]]);
        if (!safetensors__check_entry(p, e, start)) return 0;
        start = e->end;
    }
    safetensors__order_by_begin_then_name(p, order, n);
    *data_len = start;
    return 1;
}

static int safetensors__check_coverage(safetensors_parser *p, uint64_t data_len, uint64_t data_size)
{
    if (data_size == SAFETENSORS_SIZE_UNKNOWN || data_len == data_size) return 1;
    safetensors__fail(p, SAFETENSORS_ERR_COVERAGE, p->header_end + (data_len < data_size ? data_len : data_size),
                      "the tensors end at byte ");
    safetensors__err_add_u64(&p->error, data_len);
    safetensors__err_add(&p->error, " of the data section but the file holds ");
    safetensors__err_add_u64(&p->error, data_size);
    safetensors__err_add(&p->error, data_len < data_size ? " bytes after the header (trailing bytes)"
                                                         : " bytes after the header (truncated)");
    return 0;
}

static const char *safetensors__entry_name(const void *table, size_t i, size_t *len)
{
    const safetensors_parser *p = (const safetensors_parser *)(table);
    SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_READ, &p->entries[i], (p->entry_count - i) * sizeof *p->entries,
                            16 * sizeof *p->entries);
    SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_READ, p->arena + p->entries[i].e.name_off,
                            p->arena_len - p->entries[i].e.name_off, 1024);
    *len = p->entries[i].e.name_len;
    return p->arena + p->entries[i].e.name_off;
}

/* Gives back what growth by doubling left unused in the arena, the rows
   (a reservation a header of metadata does not use) and the shapes, before
   the metadata table is built beside them. Keeping them is harmless when a
   reallocation fails. Names are still offsets, so the arena may move. */
static void safetensors__table_fit(safetensors_parser *p)
{
    const safetensors_allocator *a = &p->alloc;
    void *fit;
    if (p->arena_cap > p->arena_len && p->arena_len > 0 &&
        (fit = safetensors__realloc(a, p->arena, p->arena_cap, p->arena_len)) != NULL) {
        p->arena = (char *)fit;
        p->arena_cap = p->arena_len;
    }
    if (p->entry_count == 0) {
        safetensors__free(a, p->entries, p->entry_cap * sizeof *p->entries);
        p->entries = NULL;
        p->entry_cap = 0;
    } else if (p->entry_cap > p->entry_count &&
               (fit = safetensors__realloc(a, p->entries, p->entry_cap * sizeof *p->entries,
                                           p->entry_count * sizeof *p->entries)) != NULL) {
        p->entries = (safetensors__row *)fit;
        p->entry_cap = p->entry_count;
    }
    if (p->dim_cap > p->dim_count && p->dim_count > 0 &&
        (fit = safetensors__realloc(a, p->dims, p->dim_cap * sizeof *p->dims, p->dim_count * sizeof *p->dims)) != NULL) {
        p->dims = (uint64_t *)fit;
        p->dim_cap = p->dim_count;
    }
}

/* The metadata table from the records: marks, then (hash << 32 | offset)
   sorted, then the key seen twice whose second occurrence comes first in
   the file is refused there (as a walk in file order would), then the
   entries shrink in place to their offsets. On success the caller owns
   *sorted (*sorted_size bytes) and *marks. */
static int safetensors__meta_seal(safetensors_parser *p, uint32_t **sorted, size_t *sorted_size, uint32_t **marks)
{
    const safetensors_allocator *a = &p->alloc;
    size_t n = p->meta_records, k, off = p->meta_first, dup = (size_t)-1, mark_count = (n + SAFETENSORS__META_MARK - 1) / SAFETENSORS__META_MARK;
    uint64_t *v, at;
    uint32_t *m, *counts;
    safetensors__meta_record r;
    *sorted = *marks = NULL;
    *sorted_size = 0;
    if (n == 0) return 1;
    v = (uint64_t *)(safetensors__alloc(a, n * sizeof *v));
    m = (uint32_t *)(safetensors__alloc(a, mark_count * sizeof *m));
    counts = (uint32_t *)(safetensors__alloc(a, 4 * 512 * sizeof *counts));
    if (v == NULL || m == NULL || counts == NULL) {
        safetensors__fail_nomem(p, p->header_end);
        goto fail;
    }
    for (k = 0; k < n; k++) {
        if (k % SAFETENSORS__META_MARK == 0) m[k / SAFETENSORS__META_MARK] = (uint32_t)off;
        safetensors__meta_read(p->arena, off, &r);
        v[k] = (uint64_t)safetensors__hash(p->seed, r.key, r.key_len) << 32 | off;
        off = r.next;
    }
    safetensors__meta_sort(v, n, 0, p->arena, counts);
    safetensors__free(a, counts, 4 * 512 * sizeof *counts);
    counts = NULL;
    for (k = 1; k < n; k++) { /* equal keys are adjacent, in file order */
        safetensors__meta_record x;
        if ((v[k] >> 32) != (v[k - 1] >> 32) || (uint32_t)v[k] >= dup) continue;
        safetensors__meta_read(p->arena, (uint32_t)v[k - 1], &x);
        safetensors__meta_read(p->arena, (uint32_t)v[k], &r);
        if (safetensors__name_compare(x.key, x.key_len, r.key, r.key_len) == 0) dup = (uint32_t)v[k];
    }
    if (dup != (size_t)-1) {
        for (off = p->meta_first, at = p->meta_base_at;; off = r.next) { /* its file offset: the gaps add up */
            safetensors__meta_read(p->arena, off, &r);
            at += r.gap;
            if (off == dup) break;
        }
        safetensors__fail(p, SAFETENSORS_ERR_DUPLICATE, at, "metadata key ");
        safetensors__err_add_name(&p->error, r.key, r.key_len);
        safetensors__err_add(&p->error, " appears twice");
        goto fail;
    }
    for (k = 0; k < n; k++) { /* each 4-byte write lands below every 8-byte entry still to read */
        uint32_t o = (uint32_t)v[k];
        memcpy((char *)v + k * sizeof o, &o, sizeof o);
    }
    *sorted_size = n * sizeof *v;
    if (n * sizeof(uint32_t) < *sorted_size) {
        void *fit = safetensors__realloc(a, v, *sorted_size, n * sizeof(uint32_t));
        if (fit) {
            v = (uint64_t *)fit;
            *sorted_size = n * sizeof(uint32_t);
        }
    }
    *sorted = (uint32_t *)(void *)v;
    *marks = m;
    return 1;
fail:
    safetensors__free(a, v, n * sizeof *v);
    safetensors__free(a, m, mark_count * sizeof *m);
    safetensors__free(a, counts, 4 * 512 * sizeof *counts);
    return 0;
}

#define SAFETENSORS__AHEAD 8u

/* The hash of entry i's name, its window on the way into the cache. */
static uint32_t safetensors__hash_ahead(const safetensors__index *ix, uint64_t seed, safetensors__name_fn name_of,
                                        const void *table, size_t i)
{
    size_t len;
    const char *name = name_of(table, i, &len);
    uint32_t hash = safetensors__hash(seed, name, len);
    SAFETENSORS__PREFETCH_WRITE(&ix->slots[safetensors__index_home(ix, hash)]);
    return hash;
}

/* Indexes `count` names in file order. A name seen twice is refused at its
   second occurrence, so the verdict and its offset do not depend on how the
   bytes arrived. `pairs` (else the entries) give each name's file offset.
   Names that spill are not looked up one by one (log^2 n comparisons each
   when an attacker makes them collide): the sealed spill shows its
   duplicates side by side, and the earliest second occurrence, in the
   window or the spill, is the one refused. */
static int safetensors__index_names(safetensors_parser *p, safetensors__index *ix, size_t count,
                                    safetensors__name_fn name_of, const char *base, size_t base_len, int lengths,
                                    const safetensors__meta *pairs, const char *what)
{
    size_t k, dup, len;
    const char *name;
    uint32_t ahead[SAFETENSORS__AHEAD];
    if (!safetensors__index_init(&p->alloc, ix, count, base, base_len, lengths)) {
        safetensors__fail_nomem(p, p->header_end);
        return 0;
    }
    /* Each name's hash is taken SAFETENSORS__AHEAD names early and its
       window asked for then, so that the cache misses of a large index
       overlap instead of coming one after the other. */
    for (k = 0; k < count && k < SAFETENSORS__AHEAD; k++) ahead[k] = safetensors__hash_ahead(ix, p->seed, name_of, p, k);
    for (k = 0; k < count; k++) {
        size_t free_slot;
        uint32_t hash = ahead[k % SAFETENSORS__AHEAD];
        if (k + SAFETENSORS__AHEAD < count)
            ahead[k % SAFETENSORS__AHEAD] = safetensors__hash_ahead(ix, p->seed, name_of, p, k + SAFETENSORS__AHEAD);
        name = name_of(p, k, &len);
        if (safetensors__index_window(ix, hash, name, len, name_of, p, &free_slot) != (size_t)-1) break;
        if (!safetensors__index_place(&p->alloc, ix, hash, k, name, len, free_slot, name_of, p)) {
            safetensors__fail_nomem(p, p->header_end);
            return 0;
        }
    }
    safetensors__index_seal(ix, name_of, p);
    dup = safetensors__spill_duplicate(ix, name_of, p);
    if (k < dup) dup = k;
    if (dup >= count) return 1;
    name = name_of(p, dup, &len);
    safetensors__fail(p, SAFETENSORS_ERR_DUPLICATE, pairs ? pairs[dup].key_offset : p->entries[dup].e.key_offset, what);
    safetensors__err_add_name(&p->error, name, len);
    safetensors__err_add(&p->error, " appears twice");
    return 0;
}

/* The rows become the file's tensor views where they stand, then move into
   sorted order by following the permutation's cycles (sorted_at[i] is where
   row i goes; it is used up; NULL: they stay), then close up to the view's
   own stride. */
static safetensors_tensor *safetensors__rows_to_tensors(safetensors_parser *p, uint32_t *sorted_at)
{
    safetensors__row *rows = p->entries;
    size_t n = p->entry_count, k;
    for (k = 0; k < n; k++) {
        safetensors__entry e = rows[k].e;
        safetensors_tensor *t = &rows[k].t;
        SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_WRITE, &rows[k], (n - k) * sizeof *rows, 8 * sizeof *rows);
        t->name = p->arena + e.name_off;
        t->name_len = e.name_len;
        t->dtype = (safetensors_dtype)e.dtype;
        t->ndim = e.ndim;
        t->shape = p->dims ? p->dims + e.shape_off : NULL;
        t->begin = e.begin;
        t->end = e.end;
        t->data = p->data_at ? p->data_at + (size_t)e.begin : NULL; /* in this pass, not one more over the views */
    }
    if (sorted_at) safetensors__permute_rows(rows, sorted_at, n);
    if (sizeof(safetensors__row) != sizeof(safetensors_tensor)) /* a view is smaller: 32-bit hosts */
        for (k = 1; k < n; k++) memmove((char *)rows + k * sizeof(safetensors_tensor), &rows[k].t, sizeof(safetensors_tensor));
    return rows ? &rows[0].t : NULL;
}

/* Hands the table over. The tensor index was built in file order: its slots
   are renumbered to the sorted order (`order`; NULL: the file's). */
static safetensors_result safetensors__file_from_table(safetensors_parser *p, const uint32_t *order,
                                                       uint64_t data_len, safetensors__index *tensor_index,
                                                       uint32_t **meta_sorted, size_t meta_sorted_size,
                                                       uint32_t **meta_marks, safetensors_file **out)
{
    const safetensors_allocator *a = &p->alloc;
    size_t n = p->entry_count, k, rows_size = p->entry_cap * sizeof(safetensors__row);
    size_t sorted_at_size = order ? n * sizeof(uint32_t) : 0;
    uint32_t *sorted_at = order ? (uint32_t *)(safetensors__alloc(a, sorted_at_size)) : NULL;
    safetensors_file *f = (safetensors_file *)(safetensors__alloc(a, sizeof *f));
    if (f) memset(f, 0, sizeof *f);
    if (f == NULL || (order && sorted_at == NULL)) goto nomem;
    f->alloc = *a;
    f->seed = p->seed;
    /* from here on nothing can fail: the rows, arena, dims and indices change hands */
    if (order) {
        for (k = 0; k < n; k++) sorted_at[order[k]] = (uint32_t)k;
        for (k = 0; k < n && order[k] == k; k++) continue;
        if (k < n) safetensors__index_renumber(tensor_index, sorted_at);
    }
    f->tensors = safetensors__rows_to_tensors(p, sorted_at);
    safetensors__free(a, sorted_at, sorted_at_size);
    f->tensors_size = rows_size;
    if (n == 0) { /* a reservation nothing filled */
        safetensors__free(a, p->entries, rows_size);
        f->tensors = NULL;
        f->tensors_size = 0;
    } else if (rows_size > n * sizeof(safetensors_tensor)) {
        /* give back the growth slack; keeping it is harmless if that fails */
        safetensors_tensor *fit = (safetensors_tensor *)(safetensors__realloc(a, f->tensors, rows_size, n * sizeof(safetensors_tensor)));
        if (fit) {
            f->tensors = fit;
            f->tensors_size = n * sizeof(safetensors_tensor);
        }
    }
    p->entries = NULL;
    p->entry_cap = 0;
    f->tensor_count = n;
    f->meta_count = p->meta_records;
    f->meta_sorted = *meta_sorted;
    f->meta_sorted_size = meta_sorted_size;
    f->meta_marks = *meta_marks;
    f->meta_marks_size = (p->meta_records + SAFETENSORS__META_MARK - 1) / SAFETENSORS__META_MARK * sizeof *f->meta_marks;
    *meta_sorted = *meta_marks = NULL;
    f->tensor_index = *tensor_index;
    memset(tensor_index, 0, sizeof *tensor_index);
    f->arena = p->arena;
    f->arena_cap = p->arena_cap;
    f->dims = p->dims;
    f->dim_cap = p->dim_cap;
    p->arena = NULL;
    p->dims = NULL;
    p->arena_cap = p->dim_cap = 0;
    f->header_size = p->header_end - SAFETENSORS__LENGTH_BYTES;
    f->data_size = data_len;
    *out = f;
    return SAFETENSORS_OK;
nomem:
    safetensors__free(a, sorted_at, sorted_at_size);
    safetensors__free(a, f, sizeof *f);
    safetensors__fail_nomem(p, p->header_end);
    return SAFETENSORS_ERR_NOMEM;
}

/* Everything of finish but the argument checks; `data_size` may be unknown. */
static safetensors_result safetensors__parser_build(safetensors_parser *p, uint64_t data_size,
                                                    safetensors_file **out)
{
    uint32_t *order = NULL, *meta_sorted = NULL, *meta_marks = NULL;
    size_t meta_sorted_size = 0;
    uint64_t data_len = 0;
    safetensors_result r;
    safetensors__index tensor_index;
    int checked = 0;
    if (p->failed) return p->error.code;
    if (!p->done) {
        if (p->length_have < SAFETENSORS__LENGTH_BYTES) {
            safetensors__fail(p, SAFETENSORS_ERR_HEADER_TOO_SMALL, p->length_have, "the file holds ");
            safetensors__err_add_u64(&p->error, p->length_have);
            safetensors__err_add(&p->error, " bytes, fewer than the 8 that give the header length");
        } else {
            safetensors__fail_header_length(p, p->pos);
        }
        return p->error.code;
    }
    memset(&tensor_index, 0, sizeof tensor_index);
    safetensors__table_fit(p);
    if (safetensors__index_names(p, &tensor_index, p->entry_count, safetensors__entry_name, p->arena,
                                 p->arena_len, 1, NULL, "tensor ") &&
        safetensors__meta_seal(p, &meta_sorted, &meta_sorted_size, &meta_marks)) {
        if (!p->out_of_order) { /* checked as it was read; the file's order is the table's */
            data_len = p->run_end;
            checked = 1;
        } else if ((order = (uint32_t *)(safetensors__alloc(&p->alloc, p->entry_count * sizeof *order))) == NULL) {
            safetensors__fail_nomem(p, p->header_end);
        } else {
            checked = safetensors__check_table(p, order, &data_len);
        }
    }
    if (checked && safetensors__check_coverage(p, data_len, data_size))
        r = safetensors__file_from_table(p, order, data_len, &tensor_index, &meta_sorted, meta_sorted_size,
                                         &meta_marks, out);
    else
        r = p->error.code;
    safetensors__free(&p->alloc, order, p->entry_count * sizeof *order);
    safetensors__index_free(&p->alloc, &tensor_index);
    safetensors__free(&p->alloc, meta_sorted, meta_sorted_size);
    safetensors__free(&p->alloc, meta_marks,
                      (p->meta_records + SAFETENSORS__META_MARK - 1) / SAFETENSORS__META_MARK * sizeof *meta_marks);
    return r;
}

SAFETENSORS_API safetensors_result safetensors_parser_finish(safetensors_parser *p, uint64_t data_size,
                                                             safetensors_file **out, safetensors_error *err)
{
    safetensors_result r;
    if (out) *out = NULL;
    if (p == NULL || out == NULL || p->finished) {
        safetensors_error e;
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                p == NULL     ? "the parser is NULL"
                                : out == NULL ? "out must not be NULL"
                                              : "the parser was already finished");
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    r = safetensors__parser_build(p, data_size, out);
    p->finished = 1;
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &p->error);
    return r;
}

/* >>file -------------------------------------------------------------- */

#ifndef SAFETENSORS_NO_STDIO
static void safetensors__os_unmap(void *base, size_t len); /* >>os */
static void safetensors__os_release(safetensors_file *f);  /* >>os */
static safetensors_result safetensors__os_file_read(const safetensors_file *f, uint64_t offset, unsigned char *dst,
                                                    size_t len, safetensors_error *e); /* >>os */
#endif

/* Gives back the data section: unmapped, or freed when it was read. */
static void safetensors__release_data(safetensors_file *f)
{
#ifndef SAFETENSORS_NO_STDIO
    if (f->mapping) safetensors__os_unmap(f->mapping, f->mapping_len);
    f->mapping = NULL;
#endif
    safetensors__free(&f->alloc, f->owned, f->owned_len);
    f->owned = NULL;
    safetensors__free(&f->alloc, f->aligned_copies, f->aligned_copies_len);
    f->aligned_copies = NULL;
#ifndef SAFETENSORS_NO_STDIO
    safetensors__os_release(f);
#endif
    if (f->io_owner && f->io_owner->close) f->io_owner->close(f->io_owner->ctx, &f->io);
    f->io_owner = NULL;
    f->io.read = NULL;
}

SAFETENSORS_API void safetensors_close(safetensors_file *f)
{
    safetensors_allocator a;
    if (f == NULL) return;
    a = f->alloc;
    safetensors__release_data(f);
    safetensors__free(&a, f->tensors, f->tensors_size);
    safetensors__free(&a, (void *)(uintptr_t)f->meta_sorted, f->meta_sorted_size);
    safetensors__free(&a, f->meta_marks, f->meta_marks_size);
    safetensors__index_free(&a, &f->tensor_index);
    safetensors__free(&a, f->arena, f->arena_cap);
    safetensors__free(&a, f->dims, f->dim_cap * sizeof *f->dims);
    safetensors__free(&a, f, sizeof *f);
}

SAFETENSORS_API size_t safetensors_tensor_count(const safetensors_file *f)
{
    return f ? f->tensor_count : 0;
}

SAFETENSORS_API const safetensors_tensor *safetensors_tensor_at(const safetensors_file *f, size_t i)
{
    return f && i < f->tensor_count ? &f->tensors[i] : NULL;
}

static const char *safetensors__tensor_name(const void *table, size_t i, size_t *len)
{
    const safetensors_tensor *t = (const safetensors_tensor *)(table) + i;
    *len = t->name_len;
    return t->name;
}

SAFETENSORS_API const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name,
                                                          size_t name_len)
{
    size_t at;
    if (f == NULL || (name == NULL && name_len != 0)) return NULL;
    if (name == NULL) name = "";
    at = safetensors__index_find(&f->tensor_index, safetensors__hash(f->seed, name, name_len), name, name_len,
                                 safetensors__tensor_name, f->tensors);
    return at == (size_t)-1 ? NULL : &f->tensors[at];
}

SAFETENSORS_API uint64_t safetensors_tensor_element_count(const safetensors_tensor *t)
{
    uint64_t elements, bits, bytes;
    if (t == NULL || (unsigned)t->dtype >= (unsigned)SAFETENSORS_DTYPE_COUNT || (t->ndim && t->shape == NULL)) return 0;
    if (safetensors__tensor_size((unsigned)t->dtype, t->shape, t->ndim, &elements, &bits, &bytes) ==
        SAFETENSORS_ERR_OVERFLOW && bits == 0)
        return 0;
    return elements;
}

SAFETENSORS_API uint64_t safetensors_tensor_byte_size(const safetensors_tensor *t)
{
    return t ? t->end - t->begin : 0;
}

SAFETENSORS_API size_t safetensors_metadata_count(const safetensors_file *f)
{
    return f ? f->meta_count : 0;
}

/* The accessors' common end: copies *entry (NULL: absent) into *out. */
static int safetensors__metadata_give(const safetensors_metadata_entry *entry, safetensors_metadata_entry *out)
{
    if (out) {
        if (entry) *out = *entry;
        else memset(out, 0, sizeof *out);
    }
    return entry != NULL;
}

/* A file's record, as the entry the accessors give. */
static int safetensors__metadata_give_record(const safetensors__meta_record *r, safetensors_metadata_entry *out)
{
    safetensors_metadata_entry e;
    e.key = r->key;
    e.key_len = r->key_len;
    e.value = r->value;
    e.value_len = r->value_len;
    return safetensors__metadata_give(&e, out);
}

SAFETENSORS_API int safetensors_metadata_at(const safetensors_file *f, size_t i, safetensors_metadata_entry *out)
{
    safetensors__meta_record r;
    size_t off, walk;
    if (f == NULL || i >= f->meta_count) return safetensors__metadata_give(NULL, out);
    off = f->meta_marks[i / SAFETENSORS__META_MARK];
    for (walk = i % SAFETENSORS__META_MARK;; walk--, off = r.next) {
        safetensors__meta_read(f->arena, off, &r);
        if (walk == 0) break;
    }
    return safetensors__metadata_give_record(&r, out);
}

SAFETENSORS_API int safetensors_metadata_find(const safetensors_file *f, const char *key, size_t key_len,
                                              safetensors_metadata_entry *out)
{
    safetensors__meta_record r;
    if (f == NULL || (key == NULL && key_len != 0) ||
        !safetensors__meta_lookup(f->arena, f->meta_sorted, f->meta_count, f->seed, key ? key : "", key_len, &r))
        return safetensors__metadata_give(NULL, out);
    return safetensors__metadata_give_record(&r, out);
}

SAFETENSORS_API uint64_t safetensors_header_size(const safetensors_file *f)
{
    return f ? f->header_size : 0;
}

SAFETENSORS_API uint64_t safetensors_data_start(const safetensors_file *f)
{
    return f ? SAFETENSORS__LENGTH_BYTES + f->header_size : 0;
}

SAFETENSORS_API uint64_t safetensors_data_size(const safetensors_file *f)
{
    return f ? f->data_size : 0;
}

/* Points every view into the data section at `data`. */
static void safetensors__attach_data(safetensors_file *f, const unsigned char *data)
{
    size_t k;
    for (k = 0; k < f->tensor_count; k++) {
        SAFETENSORS__HINT_AHEAD(SAFETENSORS__PREFETCH_WRITE, &f->tensors[k], (f->tensor_count - k) * sizeof *f->tensors,
                                8 * sizeof *f->tensors);
        f->tensors[k].data = data + (size_t)f->tensors[k].begin;
    }
}

/* The alignment a dtype's elements want: their size, at least 1 (sub-byte
   types are read a byte at a time). 0 outside the enum. */
static size_t safetensors__natural_alignment(safetensors_dtype dtype)
{
    unsigned bits;
    if ((unsigned)dtype >= (unsigned)SAFETENSORS_DTYPE_COUNT) return 0;
    bits = safetensors__dtype_bit_table[dtype];
    return bits < 8 ? 1 : bits / 8;
}

static int safetensors__is_multiple(uint64_t at, const safetensors_tensor *t, size_t alignment)
{
    if (alignment == 0) alignment = safetensors__natural_alignment(t->dtype);
    if (alignment == 0) return 0;
    return at % alignment == 0;
}

SAFETENSORS_API int safetensors_tensor_is_aligned(const safetensors_tensor *t, size_t alignment)
{
    if (t == NULL || t->data == NULL) return 0;
    return safetensors__is_multiple((uint64_t)(uintptr_t)t->data, t, alignment);
}

SAFETENSORS_API int safetensors_tensor_offset_is_aligned(const safetensors_file *f, const safetensors_tensor *t,
                                                         size_t alignment)
{
    if (f == NULL || t == NULL) return 0;
    if (t->data) return safetensors_tensor_is_aligned(t, alignment);
    return safetensors__is_multiple(safetensors_data_start(f) + t->begin, t, alignment);
}

/* SAFETENSORS_ALIGNED_COPY: one block holds every misaligned tensor, each
   at a multiple of 8 (the largest element size), so the cost is one
   allocation whatever the count. The sizes are those of data already in
   memory, so nothing here is sized by a number the file merely declares.
   An empty tensor gets 8 bytes too: its pointer must be aligned as well. */
static safetensors_result safetensors__copy_misaligned(safetensors_file *f, safetensors_error *e)
{
    size_t k, total = 0, at;
    unsigned char *block;
    for (k = 0; k < f->tensor_count; k++) {
        const safetensors_tensor *t = &f->tensors[k];
        size_t len = (size_t)(t->end - t->begin);
        if (t->data == NULL || safetensors_tensor_is_aligned(t, 0)) continue;
        if (len > (size_t)-1 - 16 - total)
            return safetensors__err_simple(e, SAFETENSORS_ERR_TOO_LARGE, 0, "the aligned copies exceed the address space");
        total += (len + 8u) & ~(size_t)7u;
    }
    if (total == 0) return SAFETENSORS_OK;
    /* 7 bytes of slack: a caller's allocator may hand out any address */
    f->aligned_copies_len = total + 7u;
    f->aligned_copies = safetensors__alloc(&f->alloc, f->aligned_copies_len);
    if (f->aligned_copies == NULL) {
        f->aligned_copies_len = 0;
        return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory for the aligned copies");
    }
    block = (unsigned char *)(f->aligned_copies);
    at = (size_t)((8u - (uintptr_t)block % 8u) % 8u);
    for (k = 0; k < f->tensor_count; k++) {
        safetensors_tensor *t = &f->tensors[k];
        size_t len = (size_t)(t->end - t->begin);
        if (t->data == NULL || safetensors_tensor_is_aligned(t, 0)) continue;
        memcpy(block + at, t->data, len);
        t->data = block + at;
        at += (len + 8u) & ~(size_t)7u;
    }
    return SAFETENSORS_OK;
}

/* A view as the library hands it out, checked again for views built by
   hand: a known dtype, a shape whose size fits and matches end - begin. */
static safetensors_result safetensors__check_view(const safetensors_tensor *t, safetensors_error *e)
{
    uint64_t elements, bits, bytes;
    safetensors_result r;
    if (t == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the tensor is NULL");
    if ((unsigned)t->dtype >= (unsigned)SAFETENSORS_DTYPE_COUNT)
        return safetensors__err_simple(e, SAFETENSORS_ERR_DTYPE, 0, "the tensor's dtype is outside the enum");
    if (t->ndim > 0 && t->shape == NULL)
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the tensor's shape is NULL");
    r = safetensors__tensor_size((unsigned)t->dtype, t->shape, t->ndim, &elements, &bits, &bytes);
    if (r == SAFETENSORS_ERR_OVERFLOW) {
        safetensors__err_set(e, r, 0);
        safetensors__err_add(e, "tensor ");
        safetensors__err_add_name(e, t->name ? t->name : "", t->name ? t->name_len : 0);
        safetensors__err_add(e, ": ");
        safetensors__err_add_size_problem(e, r, (unsigned)t->dtype, t->shape, t->ndim, bits);
        return r;
    }
    if (t->end < t->begin || t->end - t->begin != bytes)
        return safetensors__err_simple(e, SAFETENSORS_ERR_SIZE, 0, "the tensor's byte range does not match dtype x shape");
    return SAFETENSORS_OK;
}

/* "tensor "w": " then `what`, for the slice refusals. */
static safetensors_result safetensors__slice_fail(safetensors_error *e, safetensors_result code,
                                                  const safetensors_tensor *t, const char *what)
{
    safetensors__err_set(e, code, 0);
    safetensors__err_add(e, "tensor ");
    safetensors__err_add_name(e, t->name ? t->name : "", t->name ? t->name_len : 0);
    safetensors__err_add(e, ": ");
    safetensors__err_add(e, what);
    return code;
}

/* The walk: dimensions from `split` on are covered by each span (all of
   them whole but split itself), the ones before it are walked row-major.
   Span k's first element is found from k by mixed-radix division, so the
   iterator needs no per-dimension counters and fits a fixed struct. */
static uint64_t safetensors__span_first(const safetensors_slice_iter *it, uint64_t k)
{
    const uint64_t *shape = it->tensor->shape;
    uint64_t first = 0, stride = 1;
    size_t d;
    for (d = it->tensor->ndim; d-- > 0;) {
        if (d < it->split) {
            uint64_t extent = it->stop[d] - it->start[d];
            first += (it->start[d] + k % extent) * stride;
            k /= extent;
        } else if (d == it->split) {
            first += it->start[d] * stride;
        }
        stride *= shape[d];
    }
    return first;
}

SAFETENSORS_API safetensors_result safetensors_slice_spans(safetensors_slice_iter *it, const safetensors_tensor *t,
                                                           const uint64_t *start, const uint64_t *stop,
                                                           safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r;
    uint64_t bits, whole = 1;
    size_t d, ndim;
    if (it) memset(it, 0, sizeof *it);
    r = it ? safetensors__check_view(t, &e) : safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "it is NULL");
    if (r == SAFETENSORS_OK && t->ndim > 0 && (start == NULL || stop == NULL))
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "start and stop must not be NULL");
    for (d = 0; r == SAFETENSORS_OK && d < t->ndim; d++) {
        if (start[d] > stop[d] || stop[d] > t->shape[d]) {
            r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "the range of dimension ");
            safetensors__err_add_u64(&e, (uint64_t)d);
            safetensors__err_add(&e, start[d] > stop[d] ? " is reversed: " : " runs past its size: ");
            safetensors__err_add_u64(&e, start[d]);
            safetensors__err_add(&e, "..");
            safetensors__err_add_u64(&e, stop[d]);
            safetensors__err_add(&e, " of ");
            safetensors__err_add_u64(&e, t->shape[d]);
        }
    }
    if (r != SAFETENSORS_OK) {
        safetensors__err_copy_out(err, &e);
        return r;
    }
    ndim = t->ndim;
    bits = safetensors__dtype_bit_table[t->dtype];
    it->tensor = t;
    it->start = start;
    it->stop = stop;
    /* the trailing dimensions taken whole merge into one run with the
       first one (from the inside) that is not; that one is `split` */
    for (d = ndim; d > 0 && start[d - 1] == 0 && stop[d - 1] == t->shape[d - 1]; d--) whole *= t->shape[d - 1];
    it->split = d > 0 ? d - 1 : 0;
    it->span_elements = d > 0 ? (stop[d - 1] - start[d - 1]) * whole : whole;
    it->spans = 1;
    for (d = 0; d < it->split; d++) it->spans *= stop[d] - start[d];
    if (it->span_elements == 0 || it->spans == 0) it->spans = it->span_elements = 0;
    it->bytes = it->spans * it->span_elements * bits / 8u;
    if (bits % 8u && it->spans) {
        /* F4/F6: the first span's start, a span's length, and each step of
           a walked dimension must all be whole bytes */
        uint64_t stride = 1;
        int misaligned = (safetensors__span_first(it, 0) * bits) % 8u != 0 || (it->span_elements * bits) % 8u != 0;
        for (d = ndim; d-- > it->split;) stride *= t->shape[d];
        for (d = it->split; d-- > 0;) {
            if (stop[d] - start[d] > 1 && (stride * bits) % 8u != 0) misaligned = 1;
            stride *= t->shape[d];
        }
        if (misaligned) {
            memset(it, 0, sizeof *it);
            r = safetensors__slice_fail(&e, SAFETENSORS_ERR_MISALIGNED, t,
                                        "the slice's rows do not start and end on byte boundaries");
            safetensors__err_copy_out(err, &e);
            return r;
        }
    }
    return SAFETENSORS_OK;
}

SAFETENSORS_API int safetensors_slice_next(safetensors_slice_iter *it, safetensors_span *span)
{
    uint64_t bits;
    if (it == NULL || span == NULL || it->next >= it->spans) return 0;
    bits = safetensors__dtype_bit_table[it->tensor->dtype];
    span->offset = safetensors__span_first(it, it->next++) * bits / 8u;
    span->length = it->span_elements * bits / 8u;
    span->data = it->tensor->data ? (const unsigned char *)(it->tensor->data) + span->offset : NULL;
    return 1;
}

/* Where a span's bytes come from: the view's data, or (f given and the
   view without data) the file, through the read path. Every slice copy
   goes through here. */
static safetensors_result safetensors__tensor_bytes(const safetensors_file *f, const safetensors_tensor *t,
                                                    uint64_t offset, unsigned char *dst, size_t len,
                                                    safetensors_error *e);
static safetensors_result safetensors__io_read(const safetensors_io *io, uint64_t offset, unsigned char *dst,
                                               size_t len, safetensors_error *e); /* >>memory */

static safetensors_result safetensors__span_bytes(const safetensors_file *f, const safetensors_tensor *t,
                                                  const safetensors_span *span, unsigned char *dst,
                                                  safetensors_error *e)
{
    if (span->data) {
        memcpy(dst, span->data, (size_t)span->length);
        return SAFETENSORS_OK;
    }
    if (f == NULL)
        return safetensors__slice_fail(e, SAFETENSORS_ERR_ARGUMENT, t,
                                       "the view has no data (a header-only open): use safetensors_read_slice");
    return safetensors__tensor_bytes(f, t, span->offset, dst, (size_t)span->length, e);
}

/* The slice into dst through its spans: the one copy behind
   safetensors_tensor_slice and safetensors_read_slice. */
static safetensors_result safetensors__slice_copy(const safetensors_file *f, const safetensors_tensor *t,
                                                  const uint64_t *start, const uint64_t *stop, void *dst,
                                                  size_t dst_size, safetensors_error *err)
{
    safetensors_slice_iter it;
    safetensors_span span;
    safetensors_error e;
    size_t at = 0;
    safetensors_result r = safetensors_slice_spans(&it, t, start, stop, &e);
    if (r == SAFETENSORS_OK && it.bytes > (uint64_t)dst_size) {
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_SIZE, t, "the slice holds ");
        safetensors__err_add_u64(&e, it.bytes);
        safetensors__err_add(&e, " bytes, dst only ");
        safetensors__err_add_u64(&e, (uint64_t)dst_size);
    }
    if (r == SAFETENSORS_OK && it.bytes && dst == NULL)
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "dst is NULL");
    while (r == SAFETENSORS_OK && safetensors_slice_next(&it, &span)) {
        r = safetensors__span_bytes(f, t, &span, (unsigned char *)(dst) + at, &e);
        at += (size_t)span.length;
    }
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &e);
    return r;
}

SAFETENSORS_API safetensors_result safetensors_tensor_slice(const safetensors_tensor *t, const uint64_t *start,
                                                            const uint64_t *stop, void *dst, size_t dst_size,
                                                            safetensors_error *err)
{
    return safetensors__slice_copy(NULL, t, start, stop, dst, dst_size, err);
}

/* Bytes [offset, offset + len) of tensor t of f into dst, from wherever f
   has them: the view's data, the caller's bytes, or the file. The range is
   checked by the callers. */
static safetensors_result safetensors__tensor_bytes(const safetensors_file *f, const safetensors_tensor *t,
                                                    uint64_t offset, unsigned char *dst, size_t len,
                                                    safetensors_error *e)
{
    if (len == 0) return SAFETENSORS_OK;
    if (t->data) {
        memcpy(dst, (const unsigned char *)(t->data) + (size_t)offset, len);
        return SAFETENSORS_OK;
    }
    if (f->held_data) {
        memcpy(dst, f->held_data + (size_t)(t->begin + offset), len);
        return SAFETENSORS_OK;
    }
#ifndef SAFETENSORS_NO_STDIO
    if (f->os_file) return safetensors__os_file_read(f, safetensors_data_start(f) + t->begin + offset, dst, len, e);
#endif
    if (f->io.read) return safetensors__io_read(&f->io, safetensors_data_start(f) + t->begin + offset, dst, len, e);
    return safetensors__slice_fail(e, SAFETENSORS_ERR_ARGUMENT, t,
                                   "the handle has neither data nor a file to read (made by the parser)");
}

SAFETENSORS_API safetensors_result safetensors_read_tensor_range(const safetensors_file *f,
                                                                 const safetensors_tensor *t, uint64_t offset,
                                                                 void *dst, size_t len, safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = SAFETENSORS_OK;
    if (f == NULL || t == NULL)
        r = safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, f ? "the tensor is NULL" : "the file is NULL");
    else if (t->end < t->begin || t->end > f->data_size)
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "the view's bytes lie outside this file's data");
    else if (offset > t->end - t->begin || (uint64_t)len > t->end - t->begin - offset)
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "the range does not lie within the tensor");
    else if (dst == NULL && len > 0)
        r = safetensors__slice_fail(&e, SAFETENSORS_ERR_ARGUMENT, t, "dst is NULL");
    if (r == SAFETENSORS_OK) r = safetensors__tensor_bytes(f, t, offset, (unsigned char *)(dst), len, &e);
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &e);
    return r;
}

SAFETENSORS_API safetensors_result safetensors_read_tensor(const safetensors_file *f, const safetensors_tensor *t,
                                                           void *dst, size_t dst_size, safetensors_error *err)
{
    if (t && t->end >= t->begin && t->end - t->begin > (uint64_t)dst_size) {
        safetensors_error e;
        safetensors__slice_fail(&e, SAFETENSORS_ERR_SIZE, t, "it holds ");
        safetensors__err_add_u64(&e, t->end - t->begin);
        safetensors__err_add(&e, " bytes, dst only ");
        safetensors__err_add_u64(&e, (uint64_t)dst_size);
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_SIZE;
    }
    return safetensors_read_tensor_range(f, t, 0, dst, t ? (size_t)(t->end - t->begin) : 0, err);
}

SAFETENSORS_API safetensors_result safetensors_read_slice(const safetensors_file *f, const safetensors_tensor *t,
                                                          const uint64_t *start, const uint64_t *stop, void *dst,
                                                          size_t dst_size, safetensors_error *err)
{
    if (f == NULL || (t && (t->end < t->begin || t->end > f->data_size))) {
        safetensors_error e;
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                f ? "the view's bytes lie outside this file's data" : "the file is NULL");
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    return safetensors__slice_copy(f, t, start, stop, dst, dst_size, err);
}

/* The last step of every open that has data: the copies, when asked for.
   On failure the file is closed and *out set to NULL. */
static safetensors_result safetensors__finish_open(const safetensors_options *opt, safetensors_file **out,
                                                   safetensors_error *e)
{
    safetensors_result r;
    if (!(opt && (opt->flags & SAFETENSORS_ALIGNED_COPY)) || *out == NULL) return SAFETENSORS_OK;
    r = safetensors__copy_misaligned(*out, e);
    if (r != SAFETENSORS_OK) {
        safetensors_close(*out);
        *out = NULL;
    }
    return r;
}

/* >>memory ------------------------------------------------------------ */

/* Parses a whole file held in memory with the same parser as every other
   path. With `attach`, the views point into its data section; without,
   their data stays NULL. */
static safetensors_result safetensors__parse_bytes(const unsigned char *bytes, size_t len, int attach,
                                                   const safetensors_options *opt, safetensors_file **out,
                                                   safetensors_error *e, size_t *header_bytes)
{
    safetensors_parser *p;
    size_t used = 0;
    int done = 0;
    safetensors_result r = safetensors_parser_create(opt, &p, e);
    if (r != SAFETENSORS_OK) return r;
    safetensors_parser_expect_size(p, (uint64_t)len);
    r = safetensors_parser_feed(p, bytes, len, &used, &done, e);
    if (attach && done) p->data_at = bytes + used; /* done: the header is in, so bytes is not NULL */
    if (r == SAFETENSORS_OK) r = safetensors_parser_finish(p, (uint64_t)(len - used), out, e);
    safetensors_parser_destroy(p);
    *header_bytes = used;
    return r;
}

SAFETENSORS_API safetensors_result safetensors_open_memory(const void *bytes, size_t len,
                                                           const safetensors_options *opt,
                                                           safetensors_file **out, safetensors_error *err)
{
    safetensors_error e;
    size_t used;
    safetensors_result r;
    int header_only = opt && (opt->flags & SAFETENSORS_HEADER_ONLY);
    if (out) *out = NULL;
    if (out == NULL || (bytes == NULL && len != 0)) {
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                                                out ? "bytes is NULL" : "out must not be NULL"),
                                        &e));
        return SAFETENSORS_ERR_ARGUMENT;
    }
    r = safetensors__parse_bytes((const unsigned char *)(bytes), len, !header_only, opt, out, &e, &used);
    if (r != SAFETENSORS_OK) {
        safetensors__err_copy_out(err, &e);
        return r;
    }
    if (header_only) (*out)->held_data = (const unsigned char *)(bytes) + used;
    r = safetensors__finish_open(opt, out, &e);
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &e);
    return r;
}

/* Custom I/O: the caller's read-at-offset and size callbacks. */

/* len bytes at offset through the callbacks, in pieces of at most 1 GiB so
   that a callback never sees a length its own types may not hold. */
static safetensors_result safetensors__io_read(const safetensors_io *io, uint64_t offset, unsigned char *dst,
                                               size_t len, safetensors_error *e)
{
    while (len > 0) {
        size_t ask = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
        if (io->read(io->ctx, offset, dst, ask) != ask) {
            safetensors__err_set(e, SAFETENSORS_ERR_IO, offset);
            safetensors__err_add(e, "the read callback gave fewer bytes than asked at offset ");
            safetensors__err_add_u64(e, offset);
            return SAFETENSORS_ERR_IO;
        }
        dst += ask;
        len -= ask;
        offset += ask;
    }
    return SAFETENSORS_OK;
}

/* The file's first bytes into the parser, piece by piece from offset 0,
   until the parser is done or the size is reached. */
static safetensors_result safetensors__io_feed(const safetensors_io *io, uint64_t size, safetensors_parser *p,
                                               safetensors_error *e)
{
    unsigned char chunk[4096];
    uint64_t at = 0;
    int done = 0;
    safetensors_result r = SAFETENSORS_OK;
    while (r == SAFETENSORS_OK && !done && at < size) {
        size_t ask = size - at < sizeof chunk ? (size_t)(size - at) : sizeof chunk;
        r = safetensors__io_read(io, at, chunk, ask, e);
        if (r == SAFETENSORS_OK) r = safetensors_parser_feed(p, chunk, ask, NULL, &done, e);
        at += ask;
    }
    return r;
}

/* The header through the parser, then the table. */
static safetensors_result safetensors__io_parse(const safetensors_io *io, uint64_t size, const safetensors_options *opt,
                                                safetensors_file **out, safetensors_error *e)
{
    safetensors_parser *p;
    safetensors_result r = safetensors_parser_create(opt, &p, e);
    if (r != SAFETENSORS_OK) return r;
    safetensors_parser_expect_size(p, size);
    r = safetensors__io_feed(io, size, p, e);
    if (r == SAFETENSORS_OK) {
        uint64_t end = p->header_end;
        r = safetensors_parser_finish(p, size >= end ? size - end : 0, out, e);
    }
    safetensors_parser_destroy(p);
    return r;
}

SAFETENSORS_API safetensors_result safetensors_open_io(const safetensors_io *io, const safetensors_options *opt,
                                                       safetensors_file **out, safetensors_error *err)
{
    safetensors_error e;
    safetensors_options o;
    const char *problem = safetensors__open_options(opt, &o);
    uint64_t size = 0;
    safetensors_file *f = NULL;
    safetensors_result r;
    if (out) *out = NULL;
    if (out == NULL || io == NULL || io->read == NULL || io->size == NULL || problem) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                out == NULL                           ? "out must not be NULL"
                                : io == NULL                          ? "io must not be NULL"
                                : io->read == NULL || io->size == NULL ? "io needs both read and size"
                                                                       : problem);
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    if (io->size(io->ctx, &size) != 0) r = safetensors__err_simple(&e, SAFETENSORS_ERR_IO, 0, "the size callback failed");
    else r = safetensors__io_parse(io, size, &o, &f, &e);
    if (r == SAFETENSORS_OK && (o.flags & SAFETENSORS_HEADER_ONLY)) {
        f->io = *io;
    } else if (r == SAFETENSORS_OK && f->data_size > (uint64_t)((size_t)-1 / 2)) {
        r = safetensors__err_simple(&e, SAFETENSORS_ERR_TOO_LARGE, 0,
                                    "the data section does not fit in this host's memory (SAFETENSORS_HEADER_ONLY still works)");
    } else if (r == SAFETENSORS_OK) {
        /* the coverage check compared the table with the reported size:
           this is the size of bytes that exist */
        f->owned_len = f->data_size ? (size_t)f->data_size : 1;
        f->owned = safetensors__alloc(&f->alloc, f->owned_len);
        if (f->owned == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        else r = safetensors__io_read(io, safetensors_data_start(f), (unsigned char *)(f->owned),
                                      (size_t)f->data_size, &e);
        if (r == SAFETENSORS_OK) safetensors__attach_data(f, (const unsigned char *)(f->owned));
    }
    if (r == SAFETENSORS_OK) r = safetensors__finish_open(&o, &f, &e);
    if (r != SAFETENSORS_OK) {
        safetensors_close(f);
        safetensors__err_copy_out(err, &e);
        return r;
    }
    *out = f;
    return SAFETENSORS_OK;
}

/* >>os ---------------------------------------------------------------- */
/* Every call into the operating system is here, once for POSIX and once for
   Windows: reading (open, read, map, unmap, close, what a path is, listing
   a folder) and writing (create exclusively, write, sync, set the mode,
   close, rename, remove). What is built on them is shared. */

#ifndef SAFETENSORS_NO_STDIO

#define SAFETENSORS__READ_CHUNK ((size_t)1 << 16)
/* Smaller files are read, not mapped: every mapping is one of the few a
   process may have (vm.max_map_count), and copying a few pages costs about
   what mapping them does. It stays below malloc's own mapping threshold
   (128 KiB in glibc), or the copy would be a mapping too. */
#define SAFETENSORS__MAP_MIN ((uint64_t)64 << 10)

#ifdef _WIN32
typedef HANDLE safetensors__os_handle;
typedef wchar_t safetensors__os_char; /* a path as the OS takes it */
#define SAFETENSORS__OS_NO_HANDLE INVALID_HANDLE_VALUE
#else
typedef int safetensors__os_handle;
typedef char safetensors__os_char;
#define SAFETENSORS__OS_NO_HANDLE (-1)
#endif

typedef struct safetensors__os_file {
    safetensors__os_handle handle;
    const char *path; /* as given, for messages */
    uint64_t size;    /* meaningful when is_regular */
    int is_regular;   /* a file on disk, which can be mapped */
} safetensors__os_file;

#ifndef SAFETENSORS_NO_MODEL /* for reading the index */
static safetensors_result safetensors__fail_io(safetensors_error *e, int sys_errno, const char *what)
{
    return safetensors__err_io(e, sys_errno, SAFETENSORS__SYS_OS, what, NULL, 0, NULL);
}
#endif

static safetensors_result safetensors__os_cannot_open(safetensors_error *e, int sys, const char *path, const char *why)
{
    return safetensors__err_io(e, sys, SAFETENSORS__SYS_OS, "cannot open", path, strlen(path), why);
}

static safetensors_result safetensors__os_cannot_read(safetensors_error *e, const safetensors__os_file *of, int sys)
{
    return safetensors__err_io(e, sys, SAFETENSORS__SYS_OS, "cannot read", of->path, strlen(of->path), NULL);
}

/* The system's words for an error, made fit for a message: empty unless
   they are valid UTF-8 (a locale may give another encoding), with line
   breaks as spaces and without the final period. */
static void safetensors__os_clean_text(char *text)
{
    unsigned char *s = (unsigned char *)((void *)text);
    size_t n = strlen(text), i, k;
    for (i = 0; i < n; i += k) {
        k = safetensors__utf8_char(s + i, n - i);
        if (k == 0) n = 0;
        else if (s[i] < 0x20) s[i] = ' ';
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '.')) n--;
    text[n] = '\0';
}

#ifdef _WIN32

/* The UTF-8 path as UTF-16 for the W functions; NULL (with *bytes 0) if it
   is not valid UTF-8 or memory runs out. */
static wchar_t *safetensors__widen(const char *path, const char *suffix, const safetensors_allocator *a,
                                   size_t *bytes)
{
    int path_len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    int suffix_len = suffix ? MultiByteToWideChar(CP_UTF8, 0, suffix, -1, NULL, 0) : 1;
    wchar_t *wide;
    *bytes = 0;
    if (path_len <= 0 || suffix_len <= 0) return NULL;
    *bytes = ((size_t)path_len + (size_t)suffix_len - 1) * sizeof *wide;
    wide = (wchar_t *)(safetensors__alloc(a, *bytes));
    if (wide == NULL) return NULL;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wide, path_len);
    if (suffix) MultiByteToWideChar(CP_UTF8, 0, suffix, -1, wide + path_len - 1, suffix_len);
    return wide;
}

static const char *safetensors__os_error_text(int sys, int source, char *out, size_t cap)
{
    wchar_t wide[256];
    DWORD n;
    int got = 0;
    if (source == SAFETENSORS__SYS_CRT) {
        const char *text = strerror(sys); /* the CRT keeps it per thread */
        size_t len = strlen(text) < cap ? strlen(text) : cap - 1;
        memcpy(out, text, len);
        out[len] = '\0';
        safetensors__os_clean_text(out);
        return "errno";
    }
    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_MAX_WIDTH_MASK,
                       NULL, (DWORD)sys, 0, wide, (DWORD)(sizeof wide / sizeof wide[0]), NULL);
    /* a UTF-16 unit takes at most 3 bytes of UTF-8, so with room for that
       the words are never cut inside a character */
    if (n > 0 && cap > 3 * (size_t)n)
        got = WideCharToMultiByte(CP_UTF8, 0, wide, (int)n, out, (int)cap - 1, NULL, NULL);
    out[got > 0 ? got : 0] = '\0';
    safetensors__os_clean_text(out);
    return "Windows error";
}

static safetensors_result safetensors__os_open(const char *path, const safetensors_allocator *a,
                                               safetensors__os_file *of, safetensors_error *e, int regular_only)
{
    size_t wide_bytes;
    wchar_t *wide = safetensors__widen(path, NULL, a, &wide_bytes);
    LARGE_INTEGER size;
    DWORD sys;
    of->path = path;
    if (wide == NULL)
        return wide_bytes ? safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory")
                          : safetensors__os_cannot_open(e, (int)GetLastError(), path, NULL);
    if (regular_only) {
        DWORD attributes = GetFileAttributesW(wide);
        if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY)) {
            safetensors__free(a, wide, wide_bytes);
            return safetensors__os_cannot_open(e, 0, path, "a folder, not a regular file");
        }
    }
    of->handle = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                             OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    sys = GetLastError();
    safetensors__free(a, wide, wide_bytes);
    if (of->handle == INVALID_HANDLE_VALUE) return safetensors__os_cannot_open(e, (int)sys, path, NULL);
    of->is_regular = GetFileType(of->handle) == FILE_TYPE_DISK && GetFileSizeEx(of->handle, &size);
    of->size = of->is_regular ? (uint64_t)size.QuadPart : 0;
    if (regular_only && !of->is_regular) {
        CloseHandle(of->handle);
        return safetensors__os_cannot_open(e, 0, path, "a device or a pipe, not a regular file");
    }
    return SAFETENSORS_OK;
}

/* Bytes read, 0 at the end, -1 on error (with *sys_errno set). */
static long safetensors__os_read(safetensors__os_file *of, void *buf, size_t n, int *sys_errno)
{
    DWORD got = 0;
    if (n > ((size_t)1 << 30)) n = (size_t)1 << 30;
    if (!ReadFile(of->handle, buf, (DWORD)n, &got, NULL)) {
        DWORD sys = GetLastError();
        if (sys == ERROR_BROKEN_PIPE || sys == ERROR_HANDLE_EOF) return 0;
        *sys_errno = (int)sys;
        return -1;
    }
    return (long)got;
}

static void *safetensors__os_map(safetensors__os_file *of, size_t len, int prefetch)
{
    HANDLE mapping;
    void *view;
    (void)len;
    (void)prefetch;
    mapping = CreateFileMappingW(of->handle, NULL, PAGE_READONLY, 0, 0, NULL);
    if (mapping == NULL) return NULL;
    view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    CloseHandle(mapping); /* the view keeps the mapping alive */
    return view;
}

static void safetensors__os_unmap(void *base, size_t len)
{
    (void)len;
    UnmapViewOfFile(base);
}

static void safetensors__os_close(safetensors__os_file *of)
{
    CloseHandle(of->handle);
}

#ifndef SAFETENSORS_NO_MODEL /* folders: only models look into them */
static DWORD safetensors__os_attributes(const char *path, const safetensors_allocator *a)
{
    size_t bytes;
    wchar_t *wide = safetensors__widen(path, NULL, a, &bytes);
    DWORD attributes;
    if (wide == NULL) return INVALID_FILE_ATTRIBUTES;
    attributes = GetFileAttributesW(wide);
    safetensors__free(a, wide, bytes);
    return attributes;
}

static int safetensors__os_is_directory(const char *path, const safetensors_allocator *a)
{
    DWORD attributes = safetensors__os_attributes(path, a);
    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

static int safetensors__os_is_file(const char *path, const safetensors_allocator *a)
{
    DWORD attributes = safetensors__os_attributes(path, a);
    return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

/* Calls `found` with each entry name of `dir` (ending in a separator, or
   empty for the current folder), as UTF-8. */
static safetensors_result safetensors__os_list(const char *dir, const safetensors_allocator *a,
                                               void (*found)(void *ctx, const char *name), void *ctx,
                                               safetensors_error *e)
{
    WIN32_FIND_DATAW entry;
    size_t bytes;
    wchar_t *pattern = safetensors__widen(dir, "*", a, &bytes);
    HANDLE search;
    if (pattern == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    search = FindFirstFileW(pattern, &entry);
    safetensors__free(a, pattern, bytes);
    if (search == INVALID_HANDLE_VALUE)
        return safetensors__err_io(e, (int)GetLastError(), SAFETENSORS__SYS_OS, "cannot list the folder", dir,
                                   strlen(dir), NULL);
    do {
        char name[MAX_PATH * 4];
        if (WideCharToMultiByte(CP_UTF8, 0, entry.cFileName, -1, name, (int)sizeof name, NULL, NULL) > 0)
            found(ctx, name);
    } while (FindNextFileW(search, &entry));
    FindClose(search);
    return SAFETENSORS_OK;
}
#endif

#ifndef SAFETENSORS_NO_WRITER
/* The path as the OS takes it, allocated: NULL when memory runs out (*size
   nonzero) or when it is not UTF-8 (*size 0, *sys why). */
static safetensors__os_char *safetensors__os_native(const char *path, const safetensors_allocator *a, size_t *size,
                                                    int *sys)
{
    wchar_t *wide = safetensors__widen(path, NULL, a, size);
    if (wide == NULL && *size == 0) *sys = (int)GetLastError();
    return wide;
}

/* Creates name for writing, failing if it exists: 0, or the system's error.
   Nobody else may open it, to read or otherwise, while it is open here;
   permission bits are POSIX only. */
static int safetensors__os_create_new(const safetensors__os_char *name, unsigned mode, safetensors__os_handle *h)
{
    (void)mode;
    *h = CreateFileW(name, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    return *h == INVALID_HANDLE_VALUE ? (int)GetLastError() : 0;
}

static int safetensors__os_already_exists(int sys)
{
    return sys == ERROR_FILE_EXISTS || sys == ERROR_ALREADY_EXISTS;
}

/* Bytes written (up to n), or -1 with *sys set. */
static long safetensors__os_write(safetensors__os_handle h, const void *bytes, size_t n, int *sys)
{
    DWORD put = 0;
    if (!WriteFile(h, bytes, n > ((size_t)1 << 30) ? (DWORD)1 << 30 : (DWORD)n, &put, NULL)) {
        *sys = (int)GetLastError();
        return -1;
    }
    return (long)put;
}

/* The same through a C runtime descriptor (its errno in *sys). */
static long safetensors__os_write_fd(int fd, const void *bytes, size_t n, int *sys)
{
    int put = _write(fd, bytes, n > ((size_t)1 << 30) ? 1u << 30 : (unsigned)n);
    if (put < 0) *sys = errno;
    return put;
}

static int safetensors__os_sync(safetensors__os_handle h)
{
    return FlushFileBuffers(h) ? 0 : (int)GetLastError();
}

static int safetensors__os_set_mode(safetensors__os_handle h, unsigned mode)
{
    (void)h;
    (void)mode;
    return 0;
}

/* 1 and the permission bits of the regular file at path, if there is one:
   never on Windows, which has no such bits. */
static int safetensors__os_file_mode(const safetensors__os_char *path, unsigned *mode)
{
    (void)path;
    (void)mode;
    return 0;
}

static int safetensors__os_close_handle(safetensors__os_handle h)
{
    return CloseHandle(h) ? 0 : (int)GetLastError();
}

/* Over an existing file too; durable once it returns. */
static int safetensors__os_rename(const safetensors__os_char *from, const safetensors__os_char *to)
{
    return MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) ? 0 : (int)GetLastError();
}

static void safetensors__os_remove(const safetensors__os_char *name)
{
    DeleteFileW(name);
}

static void safetensors__os_sync_folder(safetensors__os_char *path)
{
    (void)path; /* MOVEFILE_WRITE_THROUGH did it */
}

/* Differs between processes and over time: for temporary names. */
static uint64_t safetensors__os_salt(void)
{
    return (uint64_t)GetCurrentProcessId() ^ ((uint64_t)GetTickCount() << 20);
}
#endif /* SAFETENSORS_NO_WRITER */

#else /* POSIX */

/* glibc declares fchmod only to programs that ask for POSIX, which a strict
   ISO C build does not; the C library has it all the same. */
#if !defined(SAFETENSORS_NO_WRITER) && defined(__GLIBC__) && !defined(__USE_POSIX199309) && \
    !defined(__USE_XOPEN_EXTENDED)
extern int fchmod(int, mode_t);
#endif

/* strerror_r comes in two kinds: glibc's GNU one (with _GNU_SOURCE, which
   g++ always defines, and Android's from API 23) returns the text; the XSI
   one (musl whatever is defined, macOS, the BSDs, glibc otherwise) fills
   the buffer and returns 0. A strict ISO C build on glibc or musl declares
   neither, and then messages give the number alone. */
#if defined(__USE_GNU) && (defined(__GLIBC__) || (defined(__ANDROID_API__) && __ANDROID_API__ >= 23))
#define SAFETENSORS__STRERROR_GNU
#elif defined(__GLIBC__)
#ifdef __USE_XOPEN2K
#define SAFETENSORS__STRERROR_XSI
#endif
#elif defined(_POSIX_C_SOURCE) || defined(_XOPEN_SOURCE) || defined(_BSD_SOURCE) || defined(_GNU_SOURCE) || \
    defined(__ANDROID__) || defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) ||            \
    defined(__OpenBSD__) || defined(__DragonFly__)
#define SAFETENSORS__STRERROR_XSI
#endif

static const char *safetensors__os_error_text(int sys, int source, char *out, size_t cap)
{
    (void)source;
    out[0] = '\0';
#if defined(SAFETENSORS__STRERROR_GNU)
    {
        const char *text = strerror_r(sys, out, cap);
        size_t len = strlen(text) < cap ? strlen(text) : cap - 1;
        if (text != out) memcpy(out, text, len);
        out[len] = '\0';
    }
#elif defined(SAFETENSORS__STRERROR_XSI)
    if (strerror_r(sys, out, cap) != 0) out[0] = '\0';
#else
    (void)sys;
    (void)cap;
#endif
    safetensors__os_clean_text(out);
    return "errno";
}

static safetensors_result safetensors__os_not_regular(safetensors_error *e, const char *path, mode_t mode)
{
    return safetensors__os_cannot_open(e, 0, path,
                                       S_ISDIR(mode)    ? "a folder, not a regular file"
                                       : S_ISFIFO(mode) ? "a FIFO, not a regular file"
                                                        : "a device or a socket, not a regular file");
}

static safetensors_result safetensors__os_open(const char *path, const safetensors_allocator *a,
                                               safetensors__os_file *of, safetensors_error *e, int regular_only)
{
    struct stat st;
    int flags = O_RDONLY, status;
    (void)a;
#ifdef O_CLOEXEC
    flags |= O_CLOEXEC;
#endif
    of->path = path;
    /* open() waits on a FIFO until a writer comes, and opening a device can
       have effects: look first, then open without waiting and look at what
       was opened (the path may have changed in between) */
    if (regular_only) {
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return safetensors__os_not_regular(e, path, st.st_mode);
        flags |= O_NONBLOCK;
    }
    do of->handle = open(path, flags);
    while (of->handle < 0 && errno == EINTR);
    if (of->handle < 0 || fstat(of->handle, &st) != 0) {
        int sys = errno;
        if (of->handle >= 0) close(of->handle);
#ifdef EOVERFLOW
        if (sys == EOVERFLOW) {
            safetensors__err_simple(e, SAFETENSORS_ERR_TOO_LARGE, 0,
                                    "the file is too large for this build's file offsets "
                                    "(compile with -D_FILE_OFFSET_BITS=64)");
            e->sys_errno = sys;
            return SAFETENSORS_ERR_TOO_LARGE;
        }
#endif
        return safetensors__os_cannot_open(e, sys, path, NULL);
    }
    if (regular_only && !S_ISREG(st.st_mode)) {
        close(of->handle);
        return safetensors__os_not_regular(e, path, st.st_mode);
    }
    if (regular_only && ((status = fcntl(of->handle, F_GETFL)) == -1 ||
                         fcntl(of->handle, F_SETFL, status & ~O_NONBLOCK) == -1)) {
        int sys = errno;
        close(of->handle);
        return safetensors__os_cannot_open(e, sys, path, NULL);
    }
    of->is_regular = S_ISREG(st.st_mode) ? 1 : 0;
    of->size = of->is_regular && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return SAFETENSORS_OK;
}

static long safetensors__os_read(safetensors__os_file *of, void *buf, size_t n, int *sys_errno)
{
    ssize_t got;
    if (n > ((size_t)1 << 30)) n = (size_t)1 << 30;
    do got = read(of->handle, buf, n);
    while (got < 0 && errno == EINTR);
    if (got < 0) *sys_errno = errno;
    return (long)got;
}

static void *safetensors__os_map(safetensors__os_file *of, size_t len, int prefetch)
{
#ifdef SAFETENSORS_NO_MMAP
    (void)of;
    (void)len;
    (void)prefetch;
    return NULL;
#else
    void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, of->handle, 0);
    if (base == MAP_FAILED) return NULL;
#ifdef POSIX_MADV_WILLNEED
    if (prefetch) (void)posix_madvise(base, len, POSIX_MADV_WILLNEED);
#else
    (void)prefetch;
#endif
    return base;
#endif
}

static void safetensors__os_unmap(void *base, size_t len)
{
#ifdef SAFETENSORS_NO_MMAP
    (void)base;
    (void)len;
#else
    munmap(base, len);
#endif
}

static void safetensors__os_close(safetensors__os_file *of)
{
    close(of->handle);
}

#ifndef SAFETENSORS_NO_MODEL /* folders: only models look into them */
static int safetensors__os_is_directory(const char *path, const safetensors_allocator *a)
{
    struct stat st;
    (void)a;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int safetensors__os_is_file(const char *path, const safetensors_allocator *a)
{
    struct stat st;
    (void)a;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Calls `found` with each entry name of `dir` (ending in a separator, or
   empty for the current folder). */
static safetensors_result safetensors__os_list(const char *dir, const safetensors_allocator *a,
                                               void (*found)(void *ctx, const char *name), void *ctx,
                                               safetensors_error *e)
{
    DIR *d = opendir(dir[0] ? dir : ".");
    struct dirent *entry;
    (void)a;
    if (d == NULL)
        return safetensors__err_io(e, errno, SAFETENSORS__SYS_OS, "cannot list the folder", dir, strlen(dir), NULL);
    while ((entry = readdir(d)) != NULL) found(ctx, entry->d_name);
    closedir(d);
    return SAFETENSORS_OK;
}
#endif

#ifndef SAFETENSORS_NO_WRITER
static safetensors__os_char *safetensors__os_native(const char *path, const safetensors_allocator *a, size_t *size,
                                                    int *sys)
{
    char *copy;
    (void)sys; /* every byte string is a POSIX path */
    *size = strlen(path) + 1;
    copy = (char *)(safetensors__alloc(a, *size));
    if (copy) memcpy(copy, path, *size);
    return copy;
}

static int safetensors__os_create_new(const safetensors__os_char *name, unsigned mode, safetensors__os_handle *h)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL;
#ifdef O_CLOEXEC
    flags |= O_CLOEXEC;
#endif
    do *h = open(name, flags, (mode_t)mode);
    while (*h < 0 && errno == EINTR);
    return *h < 0 ? errno : 0;
}

static int safetensors__os_already_exists(int sys)
{
    return sys == EEXIST;
}

static long safetensors__os_write(safetensors__os_handle h, const void *bytes, size_t n, int *sys)
{
    ssize_t put;
    do put = write(h, bytes, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
    while (put < 0 && errno == EINTR);
    if (put < 0) *sys = errno;
    return (long)put;
}

static long safetensors__os_write_fd(int fd, const void *bytes, size_t n, int *sys)
{
    return safetensors__os_write(fd, bytes, n, sys);
}

static int safetensors__os_sync(safetensors__os_handle h)
{
    return fsync(h) == 0 ? 0 : errno;
}

static int safetensors__os_set_mode(safetensors__os_handle h, unsigned mode)
{
    return fchmod(h, (mode_t)mode) == 0 ? 0 : errno;
}

/* 1 and the permission bits of the regular file at path, if there is one. */
static int safetensors__os_file_mode(const safetensors__os_char *path, unsigned *mode)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    *mode = (unsigned)(st.st_mode & 07777);
    return 1;
}

/* An interrupted close has closed the descriptor all the same (Linux,
   and POSIX leaves it open to be so), so it is not an error. */
static int safetensors__os_close_handle(safetensors__os_handle h)
{
    return close(h) == 0 || errno == EINTR ? 0 : errno;
}

static int safetensors__os_rename(const safetensors__os_char *from, const safetensors__os_char *to)
{
    return rename(from, to) == 0 ? 0 : errno;
}

static void safetensors__os_remove(const safetensors__os_char *name)
{
    unlink(name);
}

/* Makes a rename into path's folder durable. Best effort: the file is
   already whole, and some file systems refuse to sync a folder. path is
   cut at its last slash for the call, then mended. */
static void safetensors__os_sync_folder(safetensors__os_char *path)
{
    char *slash = strrchr(path, '/');
    const char *folder = slash == NULL ? "." : slash == path ? "/" : path;
    int fd;
    if (folder == path) *slash = '\0';
    do fd = open(folder, O_RDONLY);
    while (fd < 0 && errno == EINTR);
    if (folder == path) *slash = '/';
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

static uint64_t safetensors__os_salt(void)
{
    return (uint64_t)(uint32_t)getpid();
}
#endif /* SAFETENSORS_NO_WRITER */

#endif /* POSIX */

#ifndef SAFETENSORS_NO_MODEL
/* Whether Windows takes a file name for a device, in every folder: CON,
   PRN, AUX, NUL, CONIN$, CONOUT$, COM0-9 and LPT0-9 (and COM or LPT with a
   superscript 1, 2 or 3), in any case, before the first dot, and with
   spaces after it ignored. Opening "NUL.safetensors" there opens no file. */
static int safetensors__os_device_name(const char *s, size_t n)
{
    static const char *const names[6] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
    char up[8];
    size_t len = 0, k;
    while (len < n && s[len] != '.') len++;
    while (len > 0 && s[len - 1] == ' ') len--;
    if (len >= sizeof up) return 0;
    for (k = 0; k < len; k++) up[k] = s[k] >= 'a' && s[k] <= 'z' ? (char)(s[k] - 'a' + 'A') : s[k];
    up[len] = '\0';
    for (k = 0; k < 6; k++)
        if (strcmp(up, names[k]) == 0) return 1;
    if (len < 4 || (memcmp(up, "COM", 3) != 0 && memcmp(up, "LPT", 3) != 0)) return 0;
    if (len == 4) return up[3] >= '0' && up[3] <= '9';
    /* U+00B9, U+00B2, U+00B3 */
    return len == 5 && up[3] == '\xc2' && (up[4] == '\xb9' || up[4] == '\xb2' || up[4] == '\xb3');
}
#endif

#ifndef SAFETENSORS_NO_WRITER
/* A temporary file next to the file it is to replace. */
typedef struct safetensors__os_temp {
    safetensors__os_handle handle;
    char *name; /* "<path>.tmp-<16 hex digits>", UTF-8 */
    size_t name_size;
    safetensors__os_char *native; /* the same name as the OS takes it */
    size_t native_size;
} safetensors__os_temp;

#define SAFETENSORS__TEMP_SUFFIX 21u /* ".tmp-" and 16 hex digits */

static void safetensors__os_temp_free(safetensors__os_temp *t, const safetensors_allocator *a)
{
    safetensors__free(a, t->name, t->name_size);
    safetensors__free(a, t->native, t->native_size);
    t->name = NULL;
    t->native = NULL;
    t->name_size = t->native_size = 0;
}

/* Creates "<path>.tmp-<16 hex digits>" with the permission bits `mode`
   (POSIX; on Windows nobody else may open it while it is open). Creating
   it exclusively makes the name ours; the random digits only spare
   retries. */
static safetensors_result safetensors__os_create_temp(safetensors__os_temp *t, const char *path, unsigned mode,
                                                      uint64_t seed, const safetensors_allocator *a,
                                                      safetensors_error *e)
{
    size_t n = strlen(path), k;
    unsigned attempt;
    int sys = 0;
    safetensors_result r;
    memset(t, 0, sizeof *t);
    t->handle = SAFETENSORS__OS_NO_HANDLE;
    if (n > (size_t)-1 - SAFETENSORS__TEMP_SUFFIX - 1u)
        return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    t->name = (char *)(safetensors__alloc(a, n + SAFETENSORS__TEMP_SUFFIX + 1u));
    if (t->name == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    t->name_size = n + SAFETENSORS__TEMP_SUFFIX + 1u;
    memcpy(t->name, path, n);
    memcpy(t->name + n, ".tmp-", 5);
    for (attempt = 0; attempt < 100u; attempt++) {
        uint64_t salt = seed ^ (safetensors__os_salt() << 20) ^ ((uint64_t)attempt << 52);
        uint64_t bits = ((uint64_t)safetensors__hash(salt, path, n) << 32) | safetensors__hash(~salt, path, n);
        for (k = 0; k < 16u; k++) t->name[n + 5u + k] = "0123456789abcdef"[(bits >> (60u - 4u * k)) & 15u];
        t->name[n + SAFETENSORS__TEMP_SUFFIX] = '\0';
        t->native = safetensors__os_native(t->name, a, &t->native_size, &sys);
        if (t->native == NULL) break;
        sys = safetensors__os_create_new(t->native, mode, &t->handle);
        if (sys == 0) return SAFETENSORS_OK;
        safetensors__free(a, t->native, t->native_size);
        t->native = NULL;
        t->native_size = 0;
        if (!safetensors__os_already_exists(sys)) break;
    }
    if (t->native_size != 0) r = safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    else
        r = safetensors__err_io(e, sys, SAFETENSORS__SYS_OS, "cannot create the temporary file next to", path, n, NULL);
    safetensors__os_temp_free(t, a);
    return r;
}

/* The permission bits a new file gets next to path: those of a probe made
   with 0666 and removed at once, empty, so that the umask (or the folder's
   default ACL) applies as it would. The umask cannot be read without
   setting it, which races with every thread that creates a file meanwhile.
   Windows has no such bits. */
static safetensors_result safetensors__os_new_file_mode(const char *path, uint64_t seed,
                                                        const safetensors_allocator *a, unsigned *mode,
                                                        safetensors_error *e)
{
#ifdef _WIN32
    (void)path;
    (void)seed;
    (void)a;
    (void)e;
    *mode = 0;
#else
    safetensors__os_temp probe;
    safetensors_result r = safetensors__os_create_temp(&probe, path, 0666u, ~seed, a, e);
    if (r != SAFETENSORS_OK) return r;
    (void)safetensors__os_close_handle(probe.handle);
    if (!safetensors__os_file_mode(probe.native, mode)) *mode = 0600u; /* the safe side */
    safetensors__os_remove(probe.native);
    safetensors__os_temp_free(&probe, a);
#endif
    return SAFETENSORS_OK;
}
#endif /* SAFETENSORS_NO_WRITER */

static safetensors_result safetensors__fail_too_large(safetensors_error *e, uint64_t size)
{
    safetensors__err_set(e, SAFETENSORS_ERR_TOO_LARGE, 0);
    safetensors__err_add(e, "the file's ");
    safetensors__err_add_u64(e, size);
    safetensors__err_add(e, " bytes do not fit in this host's address space (SAFETENSORS_HEADER_ONLY still works)");
    return SAFETENSORS_ERR_TOO_LARGE;
}

/* Maps a regular file and parses it in place. Returns SAFETENSORS_OK with
   *out NULL when the file cannot be mapped, so that the caller reads it. */
static safetensors_result safetensors__open_mapped(safetensors__os_file *of, const safetensors_options *opt,
                                                   safetensors_file **out, safetensors_error *e)
{
    void *base;
    size_t used;
    safetensors_result r;
    if (of->size > (uint64_t)(size_t)-1) return safetensors__fail_too_large(e, of->size);
    if (of->size == 0) return SAFETENSORS_OK;
    base = safetensors__os_map(of, (size_t)of->size, opt && (opt->flags & SAFETENSORS_PREFETCH));
    /* over half the address space, reading it into memory cannot work either */
    if (base == NULL && of->size > (uint64_t)((size_t)-1 / 2)) return safetensors__fail_too_large(e, of->size);
    if (base == NULL) return SAFETENSORS_OK;
    r = safetensors__parse_bytes((const unsigned char *)(base), (size_t)of->size, 1, opt, out, e, &used);
    if (r != SAFETENSORS_OK) {
        safetensors__os_unmap(base, (size_t)of->size);
        return r;
    }
    (*out)->mapping = base;
    (*out)->mapping_len = (size_t)of->size;
    return SAFETENSORS_OK;
}

/* Reads until EOF or until `limit` bytes are in `data`. The buffer grows
   with what actually arrives, never ahead of it to a size the file claims. */
static safetensors_result safetensors__read_data(safetensors__os_file *of, const safetensors_allocator *a,
                                                 unsigned char **data, size_t *cap, size_t *have, size_t limit,
                                                 safetensors_error *e)
{
    while (*have < limit) {
        long got;
        int sys = 0;
        size_t ask;
        if (*have == *cap) {
            unsigned char *fresh =
                (unsigned char *)(safetensors__grow(a, *data, cap, *cap + 1, 1));
            if (fresh == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
            *data = fresh;
        }
        ask = *cap - *have < limit - *have ? *cap - *have : limit - *have;
        got = safetensors__os_read(of, *data + *have, ask, &sys);
        if (got < 0) return safetensors__os_cannot_read(e, of, sys);
        if (got == 0) break;
        *have += (size_t)got;
    }
    return SAFETENSORS_OK;
}

/* The read() path: the header streams through the parser in 64 KiB chunks;
   then the data section is read into memory, or only counted when the
   caller wants the header alone. */
static safetensors_result safetensors__open_streamed(safetensors__os_file *of, const safetensors_options *opt,
                                                     safetensors_file **out, safetensors_error *e)
{
    const safetensors_allocator *a;
    unsigned flags = opt ? opt->flags : 0u;
    safetensors_parser *p;
    unsigned char *chunk, *data = NULL;
    size_t leftover = 0, used = 0, data_cap = 0, data_have = 0;
    int done = 0, sys = 0;
    uint64_t actual;
    safetensors_file *f = NULL;
    safetensors_result r = safetensors_parser_create(opt, &p, e);
    if (r != SAFETENSORS_OK) return r;
    a = &p->alloc;
    if (of->is_regular) safetensors_parser_expect_size(p, of->size);
    chunk = (unsigned char *)(safetensors__alloc(a, SAFETENSORS__READ_CHUNK));
    if (chunk == NULL) {
        safetensors_parser_destroy(p);
        return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    }
    while (!done) {
        long got = safetensors__os_read(of, chunk, SAFETENSORS__READ_CHUNK, &sys);
        if (got < 0) {
            r = safetensors__os_cannot_read(e, of, sys);
            goto out;
        }
        if (got == 0) break;
        r = safetensors_parser_feed(p, chunk, (size_t)got, &used, &done, e);
        if (r != SAFETENSORS_OK) goto out;
        leftover = done ? (size_t)got - used : 0;
    }
    r = safetensors__parser_build(p, SAFETENSORS_SIZE_UNKNOWN, &f);
    if (r != SAFETENSORS_OK) {
        *e = p->error;
        goto out;
    }
    if (flags & SAFETENSORS_HEADER_ONLY) {
        if (of->is_regular) actual = of->size >= p->header_end ? of->size - p->header_end : 0;
        else {
            long got;
            actual = leftover;
            while ((got = safetensors__os_read(of, chunk, SAFETENSORS__READ_CHUNK, &sys)) > 0) actual += (uint64_t)got;
            if (got < 0) {
                r = safetensors__os_cannot_read(e, of, sys);
                goto out;
            }
        }
    } else {
        const uint64_t most = (uint64_t)((size_t)-1 / 2); /* what this address space could hold */
        size_t limit;
        if (of->is_regular) {
            /* the size is known: a file that does not match its table is
               refused as such before anything is read or found too large */
            actual = of->size >= p->header_end ? of->size - p->header_end : 0;
            if (actual < leftover) actual = leftover;
            if (!safetensors__check_coverage(p, f->data_size, actual)) {
                *e = p->error;
                r = e->code;
                goto out;
            }
            if (f->data_size > most) {
                r = safetensors__fail_too_large(e, f->data_size);
                goto out;
            }
            limit = (size_t)f->data_size;
        } else {
            /* one byte more than the table needs shows trailing data; past
               what memory could hold, the stream is too large to keep */
            limit = (size_t)(f->data_size < most ? f->data_size + 1 : most + 1);
        }
        data_cap = leftover > limit ? leftover : (of->is_regular ? limit : leftover);
        data = (unsigned char *)(safetensors__alloc(a, data_cap));
        if (data == NULL) {
            r = safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
            goto out;
        }
        memcpy(data, chunk + used, leftover);
        data_have = leftover;
        r = safetensors__read_data(of, a, &data, &data_cap, &data_have, limit, e);
        if (r != SAFETENSORS_OK) goto out;
        if (!of->is_regular && f->data_size > most && data_have == limit) {
            r = safetensors__fail_too_large(e, f->data_size);
            goto out;
        }
        actual = data_have;
    }
    if (!safetensors__check_coverage(p, f->data_size, actual)) {
        *e = p->error;
        r = e->code;
        goto out;
    }
    if (data) {
        f->owned = data;
        f->owned_len = data_cap == 0 ? 1 : data_cap;
        safetensors__attach_data(f, data);
        data = NULL;
    }
    *out = f;
    f = NULL;
out:
    safetensors__free(a, data, data_cap);
    safetensors__free(a, chunk, SAFETENSORS__READ_CHUNK);
    safetensors_close(f);
    safetensors_parser_destroy(p);
    return r;
}

static safetensors_result safetensors__os_keep(safetensors__os_file *of, safetensors_file **out,
                                               safetensors_error *e); /* below */

/* safetensors_open, and with regular_only what a model opens: the index and
   its shards must be regular files, never waited on (see safetensors__os_open). */
static safetensors_result safetensors__open_file(const char *path, const safetensors_options *opt,
                                                 safetensors_file **out, safetensors_error *err, int regular_only)
{
    safetensors_error e;
    safetensors__os_file of;
    safetensors_options o;
    const char *problem = safetensors__open_options(opt, &o);
    safetensors_result r;
    if (out) *out = NULL;
    memset(&of, 0, sizeof of);
    if (out == NULL || path == NULL || problem) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                out == NULL    ? "out must not be NULL"
                                : path == NULL ? "path must not be NULL"
                                               : problem);
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    r = safetensors__os_open(path, &o.allocator, &of, &e, regular_only);
    if (r != SAFETENSORS_OK) {
        safetensors__err_copy_out(err, &e);
        return r;
    }
    if (of.is_regular && of.size >= SAFETENSORS__MAP_MIN &&
        !(o.flags & (SAFETENSORS_READ_INTO_MEMORY | SAFETENSORS_HEADER_ONLY)))
        r = safetensors__open_mapped(&of, &o, out, &e);
    if (r == SAFETENSORS_OK && *out == NULL) r = safetensors__open_streamed(&of, &o, out, &e);
    if (r == SAFETENSORS_OK) r = safetensors__finish_open(&o, out, &e);
    if (r == SAFETENSORS_OK && (o.flags & SAFETENSORS_HEADER_ONLY) && of.is_regular) r = safetensors__os_keep(&of, out, &e);
    else safetensors__os_close(&of);
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &e);
    return r;
}

/* Reads at an offset for safetensors_read_tensor on HEADER_ONLY handles,
   with no shared file position, so that threads may read one handle at
   once. 0 when all n bytes arrived; else -1 with *sys the system error (0:
   the file ended first). */
#ifdef _WIN32
static int safetensors__os_read_at(const safetensors__os_file *of, uint64_t offset, unsigned char *buf, size_t n,
                                   int *sys)
{
    while (n > 0) {
        OVERLAPPED at;
        DWORD got = 0, ask = n > ((size_t)1 << 30) ? (DWORD)1 << 30 : (DWORD)n;
        memset(&at, 0, sizeof at);
        at.Offset = (DWORD)(offset & 0xffffffffu);
        at.OffsetHigh = (DWORD)(offset >> 32);
        if (!ReadFile(of->handle, buf, ask, &got, &at)) {
            DWORD code = GetLastError();
            *sys = code == ERROR_HANDLE_EOF ? 0 : (int)code;
            return -1;
        }
        if (got == 0) {
            *sys = 0;
            return -1;
        }
        buf += got;
        n -= got;
        offset += got;
    }
    return 0;
}
#else
#if defined(__GLIBC__) && !defined(__USE_UNIX98) && !defined(__USE_XOPEN2K8)
#define SAFETENSORS__NO_PREAD 1 /* glibc hides pread in strict C99 without feature macros */
#endif
static int safetensors__os_read_at(const safetensors__os_file *of, uint64_t offset, unsigned char *buf, size_t n,
                                   int *sys)
{
#ifndef SAFETENSORS__NO_PREAD
    while (n > 0) {
        ssize_t got;
        if (offset > (uint64_t)INT64_MAX || (uint64_t)(off_t)offset != offset) {
            *sys = EOVERFLOW;
            return -1;
        }
        do got = pread(of->handle, buf, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n, (off_t)offset);
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            *sys = got < 0 ? errno : 0;
            return -1;
        }
        buf += got;
        n -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
#elif !defined(SAFETENSORS_NO_MMAP)
    /* a window over the range, from a multiple of 64 KiB (a multiple of
       every page size in use), copied and unmapped */
    while (n > 0) {
        uint64_t base = offset & ~(uint64_t)0xffff;
        size_t skip = (size_t)(offset - base), take = n > ((size_t)1 << 28) ? (size_t)1 << 28 : n;
        struct stat st;
        void *view;
        if ((uint64_t)(off_t)base != base) {
            *sys = EOVERFLOW;
            return -1;
        }
        /* the size now, not at open: a file cut short since must not be
           read through a mapping past its end */
        if (fstat(of->handle, &st) != 0) {
            *sys = errno;
            return -1;
        }
        if (st.st_size < 0 || offset + take > (uint64_t)st.st_size) {
            *sys = 0;
            return -1;
        }
        view = mmap(NULL, skip + take, PROT_READ, MAP_PRIVATE, of->handle, (off_t)base);
        if (view == MAP_FAILED) {
            *sys = errno;
            return -1;
        }
        memcpy(buf, (unsigned char *)(view) + skip, take);
        munmap(view, skip + take);
        buf += take;
        n -= take;
        offset += take;
    }
    return 0;
#else
    (void)of;
    (void)offset;
    (void)buf;
    (void)n;
    *sys = ENOSYS;
    return -1;
#endif
}
#endif

static safetensors_result safetensors__os_file_read(const safetensors_file *f, uint64_t offset, unsigned char *dst,
                                                    size_t len, safetensors_error *e)
{
    int sys = 0;
    if (safetensors__os_read_at((const safetensors__os_file *)(f->os_file), offset, dst, len, &sys) == 0)
        return SAFETENSORS_OK;
    if (sys)
        return safetensors__err_io(e, sys, SAFETENSORS__SYS_OS, "cannot read the tensor from the file", NULL, 0, NULL);
    safetensors__err_set(e, SAFETENSORS_ERR_IO, offset);
    safetensors__err_add(e, "the file ended before the tensor's bytes: it is shorter than at open");
    return SAFETENSORS_ERR_IO;
}

/* A HEADER_ONLY open hands its file to the handle, for the reads above.
   Consumes *of either way; on failure closes f and sets *out to NULL. */
static safetensors_result safetensors__os_keep(safetensors__os_file *of, safetensors_file **out, safetensors_error *e)
{
    safetensors_file *f = *out;
    safetensors__os_file *kept = (safetensors__os_file *)(safetensors__alloc(&f->alloc, sizeof *kept));
    if (kept == NULL) {
        safetensors__os_close(of);
        safetensors_close(f);
        *out = NULL;
        return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    }
    *kept = *of;
    kept->path = NULL; /* the caller's string, gone after the open */
    f->os_file = kept;
    return SAFETENSORS_OK;
}

static void safetensors__os_release(safetensors_file *f)
{
    safetensors__os_file *of = (safetensors__os_file *)(f->os_file);
    if (of == NULL) return;
    safetensors__os_close(of);
    safetensors__free(&f->alloc, of, sizeof *of);
    f->os_file = NULL;
}

SAFETENSORS_API safetensors_result safetensors_open(const char *path, const safetensors_options *opt,
                                                    safetensors_file **out, safetensors_error *err)
{
    return safetensors__open_file(path, opt, out, err, 0);
}

#endif /* !SAFETENSORS_NO_STDIO (>>os) */

/* >>model ------------------------------------------------------------- */
#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
/* A sharded checkpoint: model.safetensors.index.json maps each tensor name
   to a shard file in the same folder. The index is read by the same
   automaton as a header, in index mode (no length prefix; metadata values
   kept as raw JSON text; a weight map of strings). Every shard is opened
   with the full validation of safetensors_open, then checked against the
   index. */

/* --- the index's key/value pairs: metadata and weight_map entries --- */

/* A new key/value pair (the index's metadata or weight_map) whose key is
   arena[key_off, key_off + key_len), made the current one. */
static SAFETENSORS__INLINE safetensors__meta *safetensors__push_pair(safetensors_parser *p, safetensors__meta **pairs,
                                                                     size_t *count, size_t *cap, size_t key_off,
                                                                     size_t key_len, uint64_t where)
{
    safetensors__meta *m;
    if (*count == *cap)
        *pairs = (safetensors__meta *)(safetensors__grow_projected(p, *pairs, cap, *count, sizeof **pairs, where));
    if (*count == *cap) {
        safetensors__meta *fresh =
            (safetensors__meta *)(safetensors__grow(&p->alloc, *pairs, cap, *count + 1, sizeof **pairs));
        if (fresh == NULL) return NULL;
        *pairs = fresh;
    }
    m = &(*pairs)[*count];
    m->key_off = key_off;
    m->key_len = key_len;
    m->value_off = 0;
    m->value_len = 0;
    m->key_offset = where;
    p->current = (*count)++;
    return m;
}

/* A key of the index's metadata or weight_map is
   in: start a pair whose value comes next, in `next_role`. */
static void safetensors__pair_key_end(safetensors_parser *p, safetensors__meta **pairs, size_t *count,
                                      size_t *cap, int next_role, const char *too_many)
{
    size_t off, len;
    if (safetensors__count_full(p, *count, p->string_start, too_many)) return;
    if (!safetensors__arena_terminate(p, &off, &len) ||
        !safetensors__push_pair(p, pairs, count, cap, off, len, p->string_start)) {
        safetensors__fail_nomem(p, p->string_start);
        return;
    }
    p->role = next_role;
}

/* The value of the pair being filled is the string that ends here. */
static void safetensors__pair_value_end(safetensors_parser *p, safetensors__meta *pair)
{
    if (!safetensors__arena_terminate(p, &pair->value_off, &pair->value_len)) safetensors__fail_nomem(p, p->string_start);
}

static const char *safetensors__meta_key(const void *table, size_t i, size_t *len)
{
    const safetensors_parser *p = (const safetensors_parser *)(table);
    *len = p->metas[i].key_len;
    return p->arena + p->metas[i].key_off;
}

static const char *safetensors__entry_key(const void *table, size_t i, size_t *len)
{
    const safetensors_metadata_entry *m = (const safetensors_metadata_entry *)(table) + i;
    *len = m->key_len;
    return m->key;
}

/* A metadata entry of the index by key. */
static const safetensors_metadata_entry *safetensors__metadata_lookup(const safetensors__index *ix,
                                                                     const safetensors_metadata_entry *entries,
                                                                     uint64_t seed, const char *key, size_t key_len)
{
    size_t at;
    if (key == NULL && key_len != 0) return NULL;
    if (key == NULL) key = "";
    at = safetensors__index_find(ix, safetensors__hash(seed, key, key_len), key, key_len, safetensors__entry_key,
                                 entries);
    return at == (size_t)-1 ? NULL : &entries[at];
}

/* Lazy shards are opened by whichever thread asks first and published with
   a compare-and-swap: a thread that loses the race closes its copy. A lazy
   model entry's view is published the same way once found, so that later
   finds skip the shard's own lookup (every thread finds the same view).
   One pair of functions per slot type: load (acquire) and publish (from
   NULL; 0 if another thread was first). */
#if defined(__GNUC__) || defined(__clang__)
#define SAFETENSORS__SLOT_FUNCTIONS(name, type)                                                                        \
    static type *safetensors__##name##_load(type *const *slot)                                                        \
    {                                                                                                                  \
        return __atomic_load_n(slot, __ATOMIC_ACQUIRE);                                                                \
    }                                                                                                                  \
    static int safetensors__##name##_publish(type **slot, type *value)                                                \
    {                                                                                                                  \
        type *expected = NULL;                                                                                         \
        return __atomic_compare_exchange_n(slot, &expected, value, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);             \
    }
#elif defined(_MSC_VER)
#define SAFETENSORS__SLOT_FUNCTIONS(name, type)                                                                        \
    static type *safetensors__##name##_load(type *const *slot)                                                        \
    {                                                                                                                  \
        return (type *)InterlockedCompareExchangePointer((PVOID volatile *)slot, NULL, NULL);                         \
    }                                                                                                                  \
    static int safetensors__##name##_publish(type **slot, type *value)                                                \
    {                                                                                                                  \
        return InterlockedCompareExchangePointer((PVOID volatile *)slot, (PVOID)(uintptr_t)value, NULL) == NULL;      \
    }
#else
/* no atomics known for this compiler: lazy opens are not thread-safe here */
#define SAFETENSORS__SLOT_FUNCTIONS(name, type)                                                                        \
    static type *safetensors__##name##_load(type *const *slot)                                                        \
    {                                                                                                                  \
        return *slot;                                                                                                  \
    }                                                                                                                  \
    static int safetensors__##name##_publish(type **slot, type *value)                                                \
    {                                                                                                                  \
        if (*slot) return 0;                                                                                           \
        *slot = value;                                                                                                 \
        return 1;                                                                                                      \
    }
#endif
SAFETENSORS__SLOT_FUNCTIONS(shard, safetensors_file)
SAFETENSORS__SLOT_FUNCTIONS(view, const safetensors_tensor)

/* --- the index schema --- */
/* model.safetensors.index.json, read by the parser's automaton as bare
   JSON (no length prefix): an object with "weight_map", tensor name to
   shard file, and "metadata", whose values may be any JSON and are kept as
   the text they are written as. Other members are ignored. */

enum safetensors__index_role {
    SAFETENSORS__R_INDEX_ROOT = 1, /* the top-level object */
    SAFETENSORS__R_INDEX_META,     /* "metadata": an object of any JSON values */
    SAFETENSORS__R_RAW,            /* one of those values, kept as JSON text */
    SAFETENSORS__R_WEIGHT_MAP,     /* "weight_map": tensor name to shard file */
    SAFETENSORS__R_SHARD_NAME      /* a shard file name */
};

/* What the index schema builds besides the parser's metadata pairs. */
typedef struct safetensors__index_doc {
    safetensors__meta *weights; /* tensor name -> shard name, in file order */
    size_t weight_count, weight_cap;
    int saw_metadata, saw_weight_map;
} safetensors__index_doc;

static safetensors__index_doc *safetensors__doc(const safetensors_parser *p)
{
    return (safetensors__index_doc *)(p->schema_state);
}

static int safetensors__index_value_begin(safetensors_parser *p, unsigned type, unsigned c, uint64_t at)
{
    int role = p->role;
    int allowed = type == 0 || role == SAFETENSORS__R_RAW ||
                  (type == '{' && role != SAFETENSORS__R_SHARD_NAME) ||
                  (type == 'n' && role == SAFETENSORS__R_INDEX_META) ||
                  (type == '"' && role == SAFETENSORS__R_SHARD_NAME);
    (void)c;
    if (!allowed) {
        if (role == SAFETENSORS__R_SHARD_NAME)
            safetensors__fail_pair(p, at, "weight_map entry ", safetensors__doc(p)->weights[p->current].key_off,
                                   safetensors__doc(p)->weights[p->current].key_len, ": the shard must be a string");
        else
            safetensors__fail(p, SAFETENSORS_ERR_SCHEMA, at,
                              role == SAFETENSORS__R_INDEX_ROOT   ? "the index must be a JSON object"
                              : role == SAFETENSORS__R_INDEX_META ? "the index's metadata must be an object"
                                                                  : "weight_map must be an object of strings");
        return SAFETENSORS__VALUE_REFUSED;
    }
    if (role == SAFETENSORS__R_RAW) {
        /* only its text matters: inside, the automaton just checks the JSON */
        p->role = SAFETENSORS__R_IGNORED;
        return SAFETENSORS__VALUE_CAPTURED;
    }
    if (type == '"') p->sink = SAFETENSORS__TO_ARENA;
    return SAFETENSORS__VALUE_OK;
}

static int safetensors__index_key_sink(int role)
{
    return role == SAFETENSORS__R_INDEX_ROOT ? SAFETENSORS__TO_SCRATCH : SAFETENSORS__TO_ARENA;
}

/* "metadata" or "weight_map" at the top of an index; anything else is ignored. */
static void safetensors__index_key_end(safetensors_parser *p)
{
    safetensors__index_doc *doc = safetensors__doc(p);
    int *seen;
    if (safetensors__scratch_is(p, "metadata", 8)) {
        seen = &doc->saw_metadata;
        p->role = SAFETENSORS__R_INDEX_META;
    } else if (safetensors__scratch_is(p, "weight_map", 10)) {
        seen = &doc->saw_weight_map;
        p->role = SAFETENSORS__R_WEIGHT_MAP;
    } else {
        p->role = SAFETENSORS__R_IGNORED;
        return;
    }
    if (*seen) {
        safetensors__fail(p, SAFETENSORS_ERR_DUPLICATE, p->string_start,
                          p->role == SAFETENSORS__R_WEIGHT_MAP ? "weight_map appears twice"
                                                               : "metadata appears twice");
        return;
    }
    *seen = 1;
}

static void safetensors__index_string_end(safetensors_parser *p)
{
    safetensors__index_doc *doc = safetensors__doc(p);
    if (!p->in_key) {
        safetensors__pair_value_end(p, &doc->weights[p->current]); /* a shard name */
        return;
    }
    switch (safetensors__top_role(p)) {
    case SAFETENSORS__R_INDEX_ROOT: safetensors__index_key_end(p); return;
    case SAFETENSORS__R_INDEX_META:
        safetensors__pair_key_end(p, &p->metas, &p->meta_count, &p->meta_cap, SAFETENSORS__R_RAW,
                                  "more than 2^32 - 2 metadata entries");
        return;
    default:
        safetensors__pair_key_end(p, &doc->weights, &doc->weight_count, &doc->weight_cap, SAFETENSORS__R_SHARD_NAME,
                                  "more than 2^32 - 2 tensors");
        return;
    }
}

static void safetensors__index_captured(safetensors_parser *p, size_t off, size_t len)
{
    p->metas[p->current].value_off = off;
    p->metas[p->current].value_len = len;
}

/* The fast lane for a weight_map entry, "name": "shard", with any JSON
   white space around the colon (indexes are usually indented), plain ASCII
   and within this chunk; anything else is left to the automaton. Indexes
   name each shard in runs of entries, so a shard name the same as the
   entry before's is kept once: a third of the index's bytes are not
   copied, and the model keeps them once. */
static size_t safetensors__index_fast_member(safetensors_parser *p, int role, const unsigned char *s, size_t i,
                                             size_t n, uint64_t base)
{
    safetensors__index_doc *doc = safetensors__doc(p);
    const size_t arena_mark = p->arena_len;
    size_t key_end, at, value_end, value_off;
    safetensors__meta *pair;
    const safetensors__meta *previous;
    if (role != SAFETENSORS__R_WEIGHT_MAP) return i;
    key_end = safetensors__plain_run_end(s, i + 1, n);
    if (key_end == n || s[key_end] != '"') return i;
    at = safetensors__skip_space(s, key_end + 1, n);
    if (at == n || s[at] != ':') return i;
    at = safetensors__skip_space(s, at + 1, n);
    if (at == n || s[at] != '"') return i;
    /* Runs of entries name one shard: bytes equal to the entry before's
       value, itself a plain run, are one too and need no scan. */
    previous = doc->weight_count ? &doc->weights[doc->weight_count - 1] : NULL;
    if (previous && n - (at + 1) > previous->value_len && s[at + 1 + previous->value_len] == '"' &&
        safetensors__bytes_equal(p->arena + previous->value_off, s + at + 1, previous->value_len)) {
        value_end = at + 1 + previous->value_len;
    } else {
        previous = NULL;
        value_end = safetensors__plain_run_end(s, at + 1, n);
        if (value_end == n || s[value_end] != '"') return i;
    }
    if (doc->weight_count >= (size_t)UINT32_MAX - 1 || !safetensors__arena_push_name(p, s + i + 1, key_end - i - 1, base + i) ||
        (!previous && !safetensors__arena_push_name(p, s + at + 1, value_end - at - 1, base + at)))
        goto bail;
    value_off = previous ? previous->value_off : arena_mark + (key_end - i - 1) + 1;
    pair = safetensors__push_pair(p, &doc->weights, &doc->weight_count, &doc->weight_cap, arena_mark,
                                  key_end - i - 1, base + i);
    if (pair == NULL) goto bail;
    pair->value_off = value_off;
    pair->value_len = value_end - at - 1;
    p->state = SAFETENSORS__S_OBJ_NEXT;
    return value_end + 1;
bail:
    p->arena_len = arena_mark;
    return i;
}

static const safetensors__schema safetensors__index_schema = {
    SAFETENSORS__R_INDEX_ROOT,
    safetensors__index_value_begin,
    safetensors__index_key_sink,
    safetensors__index_string_end,
    NULL, /* no number stands where the index schema reads */
    NULL,
    NULL,
    safetensors__index_fast_member,
    safetensors__index_captured};

typedef struct safetensors__model_tensor {
    const char *name;
    size_t name_len;
    uint32_t shard;
    const safetensors_tensor *view; /* found at open in eager mode; in lazy mode at the first find (atomic) */
} safetensors__model_tensor;

struct safetensors_model {
    safetensors_allocator alloc;
    safetensors_options opt; /* for the shards, opened now or later */
    uint64_t seed;
    char *strings; /* the index's decoded strings, or the single file's name */
    size_t strings_cap;
    char *dir; /* the folder, with its separator, or "" */
    size_t dir_len;
    size_t shard_count;
    const char **shard_names;
    size_t *shard_name_lens;
    size_t *shard_first; /* shard k's tensors are [shard_first[k], shard_first[k+1]) */
    safetensors_file **shards;
    safetensors__model_tensor *tensors;
    size_t tensor_count;
    safetensors__index tensor_index;
    safetensors_metadata_entry *metas;
    const char **meta_json; /* each value's JSON text as written; lengths in meta_json_lens */
    size_t *meta_json_lens;
    char *meta_text; /* the decoded string values */
    size_t meta_text_cap;
    size_t meta_count;
    safetensors__index meta_index;
};

static const char *safetensors__weight_key(const void *table, size_t i, size_t *len)
{
    const safetensors_parser *p = (const safetensors_parser *)(table);
    const safetensors__index_doc *doc = safetensors__doc(p);
    *len = doc->weights[i].key_len;
    return p->arena + doc->weights[i].key_off;
}

static int safetensors__ends_with(const char *s, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static int safetensors__is_separator(char c)
{
#ifdef _WIN32
    return c == '/' || c == '\\';
#else
    return c == '/';
#endif
}

/* A shard must be a plain file name in the index's own folder, whatever the
   OS: no separator of any OS, no drive, no NUL or control byte, not "." or
   "..", no Windows device name. So an index can never make the library open
   a file elsewhere, or a device. */
static int safetensors__shard_name_is_plain(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '/' || c == '\\' || c == ':') return 0;
    }
    return !safetensors__os_device_name(s, n);
}

/* dir + name, NUL-terminated, from the allocator; NULL when memory runs out. */
static char *safetensors__join(const safetensors_allocator *a, const char *dir, size_t dir_len, const char *name,
                               size_t name_len, size_t *size)
{
    char *path;
    *size = dir_len + name_len + 1;
    path = (char *)(safetensors__alloc(a, *size));
    if (path == NULL) return NULL;
    memcpy(path, dir, dir_len);
    memcpy(path + dir_len, name, name_len);
    path[dir_len + name_len] = '\0';
    return path;
}

/* Puts "shard NAME: " before the message a shard's open produced. */
static void safetensors__err_in_shard(safetensors_error *e, const char *name, size_t len)
{
    char inner[sizeof e->message];
    memcpy(inner, e->message, sizeof inner);
    e->message[0] = '\0';
    safetensors__err_add(e, "shard ");
    safetensors__err_add_name(e, name, len);
    safetensors__err_add(e, ": ");
    safetensors__err_add(e, inner);
}

SAFETENSORS_API void safetensors_model_close(safetensors_model *m)
{
    safetensors_allocator a;
    size_t k;
    if (m == NULL) return;
    a = m->alloc;
    for (k = 0; k < m->shard_count && m->shards; k++) safetensors_close(m->shards[k]);
    safetensors__free(&a, m->shards, m->shard_count * sizeof *m->shards);
    safetensors__free(&a, m->shard_names, m->shard_count * sizeof *m->shard_names);
    safetensors__free(&a, m->shard_name_lens, m->shard_count * sizeof *m->shard_name_lens);
    safetensors__free(&a, m->shard_first, (m->shard_count + 1) * sizeof *m->shard_first);
    safetensors__free(&a, m->tensors, m->tensor_count * sizeof *m->tensors);
    safetensors__index_free(&a, &m->tensor_index);
    safetensors__free(&a, m->metas, m->meta_count * sizeof *m->metas);
    safetensors__free(&a, m->meta_json, m->meta_count * sizeof *m->meta_json);
    safetensors__free(&a, m->meta_json_lens, m->meta_count * sizeof *m->meta_json_lens);
    safetensors__free(&a, m->meta_text, m->meta_text_cap);
    safetensors__index_free(&a, &m->meta_index);
    safetensors__free(&a, m->strings, m->strings_cap);
    safetensors__free(&a, m->dir, m->dir_len + 1);
    safetensors__free(&a, m, sizeof *m);
}

static safetensors_result safetensors__model_nomem(safetensors_error *e)
{
    return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
}

static const char *safetensors__model_tensor_name(const void *table, size_t i, size_t *len)
{
    const safetensors__model_tensor *t = (const safetensors__model_tensor *)(table) + i;
    *len = t->name_len;
    return t->name;
}

static int safetensors__model_name_before(const void *ctx, uint32_t a, uint32_t b)
{
    const safetensors__model_tensor *t = (const safetensors__model_tensor *)(ctx);
    return safetensors__name_compare(t[a].name, t[a].name_len, t[b].name, t[b].name_len) < 0;
}

/* Puts the tensors in (shard, name) order, indexes them by name and notes
   where each shard's run begins. `names`, when not NULL, is an index of
   the tensors in their present order, built with the model's seed (the
   index file's weight_map, checked for duplicates as it was parsed): it is
   renumbered and kept, instead of hashing every name again. */
static safetensors_result safetensors__model_order_tensors(safetensors_model *m, safetensors__index *names,
                                                           safetensors_error *e)
{
    const safetensors_allocator *a = &m->alloc;
    size_t n = m->tensor_count, k;
    uint32_t *order = (uint32_t *)(safetensors__alloc(a, 2 * n * sizeof *order)), *to;
    safetensors__model_tensor *sorted = (safetensors__model_tensor *)(safetensors__alloc(a, n * sizeof *sorted));
    if (order == NULL || sorted == NULL) {
        safetensors__free(a, order, 2 * n * sizeof *order);
        safetensors__free(a, sorted, n * sizeof *sorted);
        return safetensors__model_nomem(e);
    }
    to = order + n;
    /* A stable pass by shard, then each shard's run by name. Indexes list
       the names in order, or at least each shard's, mostly: a run already
       in order costs one pass of comparisons, and a run to sort is one
       shard's, not the model's. */
    {
        size_t *first = m->shard_first, s;
        for (k = 0; k <= m->shard_count; k++) first[k] = 0;
        for (k = 0; k < n; k++) first[m->tensors[k].shard + 1]++;
        for (k = 1; k <= m->shard_count; k++) first[k] += first[k - 1];
        for (k = 0; k < n; k++) order[first[m->tensors[k].shard]++] = (uint32_t)k;
        /* first[s] has moved to where shard s's run ends, which is where
           run s + 1 begins */
        memmove(first + 1, first, m->shard_count * sizeof *first);
        first[0] = 0;
        for (s = 0; s < m->shard_count; s++) {
            for (k = first[s] + 1; k < first[s + 1]; k++)
                if (!safetensors__model_name_before(m->tensors, order[k - 1], order[k])) break;
            if (k < first[s + 1])
                safetensors__sort_indices(order + first[s], order + n + first[s], first[s + 1] - first[s],
                                          safetensors__model_name_before, m->tensors);
        }
    }
    /* Gathered into a second table, not moved where they stand: following
       the permutation's cycles in place makes every move wait for the one
       before, while each read of a gather stands alone and the misses
       overlap. An index sorted by name, as transformers writes it, spreads
       every shard's tensors over the whole table, and there the moves in
       place took as long as all the rest of a lazy open. */
    for (k = 0; k < n; k++) sorted[k] = m->tensors[order[k]];
    safetensors__free(a, m->tensors, n * sizeof *m->tensors);
    m->tensors = sorted;
    for (k = 0; k < n; k++) to[order[k]] = (uint32_t)k;
    if (names != NULL) safetensors__index_renumber(names, to);
    safetensors__index_free(a, &m->tensor_index);
    if (names != NULL) {
        m->tensor_index = *names;
        memset(names, 0, sizeof *names);
        safetensors__free(a, order, 2 * n * sizeof *order);
        return SAFETENSORS_OK;
    }
    safetensors__free(a, order, 2 * n * sizeof *order);
    if (!safetensors__index_init(a, &m->tensor_index, n, NULL, 0, 0)) return safetensors__model_nomem(e);
    for (k = 0; k < n; k++) {
        /* a name twice is reported by the callers, which know where each copy is */
        size_t found = safetensors__index_add(a, &m->tensor_index, safetensors__hash(m->seed, sorted[k].name,
                                                                                     sorted[k].name_len),
                                              sorted[k].name, sorted[k].name_len, k, safetensors__model_tensor_name,
                                              sorted);
        if (found == SAFETENSORS__ADD_NOMEM) return safetensors__model_nomem(e);
    }
    safetensors__index_seal(&m->tensor_index, safetensors__model_tensor_name, sorted);
    return SAFETENSORS_OK;
}

static size_t safetensors__model_lookup(const safetensors_model *m, const char *name, size_t len)
{
    return safetensors__index_find(&m->tensor_index, safetensors__hash(m->seed, name, len), name, len,
                                   safetensors__model_tensor_name, m->tensors);
}

/* Distinct shard names, each known by the first weight_map entry naming it. */
typedef struct safetensors__shard_order {
    const safetensors_parser *p;
    const uint32_t *first;
} safetensors__shard_order;

static const char *safetensors__shard_order_name(const void *table, size_t id, size_t *len)
{
    const safetensors__shard_order *o = (const safetensors__shard_order *)(table);
    const safetensors__meta *w = &safetensors__doc(o->p)->weights[o->first[id]];
    *len = w->value_len;
    return o->p->arena + w->value_off;
}

static int safetensors__shard_name_before(const void *ctx, uint32_t a, uint32_t b)
{
    const safetensors__shard_order *o = (const safetensors__shard_order *)(ctx);
    const safetensors__meta *x = &safetensors__doc(o->p)->weights[o->first[a]], *y = &safetensors__doc(o->p)->weights[o->first[b]];
    return safetensors__name_compare(o->p->arena + x->value_off, x->value_len, o->p->arena + y->value_off,
                                     y->value_len) < 0;
}

/* Decodes a JSON string that the automaton has already accepted (so every
   escape is well formed and every surrogate paired), quotes included, into
   out; returns the decoded length, never more than n - 2. */
static size_t safetensors__json_string_decode(const char *raw, size_t n, char *out)
{
    size_t i = 1, o = 0;
    while (i < n - 1) {
        unsigned c = (unsigned char)raw[i++];
        uint32_t cp = 0;
        int k;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        c = (unsigned char)raw[i++];
        if (c != 'u') {
            out[o++] = (char)safetensors__escaped_byte(c);
            continue;
        }
        for (k = 0; k < 4; k++) cp = cp * 16u + (uint32_t)safetensors__hex_digit((unsigned char)raw[i++]);
        if (cp >= 0xd800 && cp <= 0xdbff) { /* the low half follows as \uXXXX */
            uint32_t low = 0;
            for (k = 2; k < 6; k++) low = low * 16u + (uint32_t)safetensors__hex_digit((unsigned char)raw[i + (size_t)k]);
            cp = safetensors__surrogate_pair(cp, low);
            i += 6;
        }
        o += safetensors__utf8_encode(cp, (unsigned char *)out + o);
    }
    return o;
}

/* The index's metadata: keys decoded; a string value decoded too, any other
   value only as JSON text. Returns 0 when memory runs out. */
static int safetensors__model_metadata(safetensors_model *m, const safetensors_parser *p)
{
    const safetensors_allocator *a = &m->alloc;
    size_t n = p->meta_count, k, room = 0, used = 0;
    for (k = 0; k < n; k++)
        if (p->arena[p->metas[k].value_off] == '"') room += p->metas[k].value_len - 1; /* less two quotes, plus a NUL */
    m->meta_json = (const char **)(safetensors__alloc(a, n * sizeof *m->meta_json));
    m->meta_json_lens = (size_t *)(safetensors__alloc(a, n * sizeof *m->meta_json_lens));
    m->meta_text = (char *)(safetensors__alloc(a, room));
    m->meta_text_cap = room;
    if (m->meta_json == NULL || m->meta_json_lens == NULL || m->meta_text == NULL) return 0;
    for (k = 0; k < n; k++) {
        const char *json = p->arena + p->metas[k].value_off;
        size_t json_len = p->metas[k].value_len;
        m->metas[k].key = p->arena + p->metas[k].key_off;
        m->metas[k].key_len = p->metas[k].key_len;
        m->metas[k].value = NULL;
        m->metas[k].value_len = 0;
        m->meta_json[k] = json;
        m->meta_json_lens[k] = json_len;
        if (json[0] != '"') continue;
        m->metas[k].value = m->meta_text + used;
        m->metas[k].value_len = safetensors__json_string_decode(json, json_len, m->meta_text + used);
        used += m->metas[k].value_len;
        m->meta_text[used++] = '\0';
    }
    return 1;
}

/* The parsed index becomes the model's tables: shards (distinct file names,
   sorted), tensors, metadata. */
static safetensors_result safetensors__model_from_index(safetensors_model *m, safetensors_parser *p,
                                                        safetensors__index *tensor_names,
                                                        safetensors_error *e)
{
    const safetensors_allocator *a = &m->alloc;
    const safetensors__index_doc *doc = safetensors__doc(p);
    size_t n = doc->weight_count, k, distinct = 0;
    uint32_t *ids, *rank;
    safetensors__index names;
    safetensors__shard_order ctx;
    ids = (uint32_t *)(safetensors__alloc(a, 2 * n * sizeof *ids));
    m->tensors = (safetensors__model_tensor *)(safetensors__alloc(a, n * sizeof *m->tensors));
    m->metas = (safetensors_metadata_entry *)(safetensors__alloc(a, p->meta_count * sizeof *m->metas));
    m->tensor_count = m->tensors ? n : 0; /* the sizes close frees with */
    m->meta_count = m->metas ? p->meta_count : 0;
    memset(&names, 0, sizeof names);
    if (ids == NULL || m->tensors == NULL || m->metas == NULL || !safetensors__index_init(a, &names, n, NULL, 0, 0)) {
        safetensors__free(a, ids, 2 * n * sizeof *ids);
        return safetensors__model_nomem(e);
    }
    /* Number the distinct shard names through a hash of them (a few hundred
       names among maybe a million entries), then sort only those. Indexes
       list a shard's tensors in runs, so an entry naming the same shard as
       the one before takes its number without hashing. */
    ctx.p = p;
    ctx.first = ids + n; /* the first entry that names each distinct shard */
    for (k = 0; k < n; k++) {
        const safetensors__meta *w = &doc->weights[k];
        const char *shard = p->arena + w->value_off;
        size_t id;
        if (k > 0 && (w->value_off == w[-1].value_off || /* the fast lane kept the name once */
                      (w->value_len == w[-1].value_len &&
                       safetensors__bytes_equal(shard, p->arena + w[-1].value_off, w->value_len)))) {
            ids[k] = ids[k - 1];
            continue;
        }
        ids[n + distinct] = (uint32_t)k; /* in case it is new: the index may ask for its name */
        id = safetensors__index_add(a, &names, safetensors__hash(m->seed, shard, w->value_len), shard, w->value_len,
                                    distinct, safetensors__shard_order_name, &ctx);
        if (id == SAFETENSORS__ADD_NOMEM) {
            safetensors__index_free(a, &names);
            safetensors__free(a, ids, 2 * n * sizeof *ids);
            return safetensors__model_nomem(e);
        }
        ids[k] = (uint32_t)(id == SAFETENSORS__ADDED ? distinct++ : id);
    }
    safetensors__index_free(a, &names);
    /* Each distinct name checked once, in the order of their first entries:
       the first that fails is named by the earliest entry that fails. */
    for (k = 0; k < distinct; k++) {
        const safetensors__meta *w = &doc->weights[ctx.first[k]];
        if (!safetensors__shard_name_is_plain(p->arena + w->value_off, w->value_len)) {
            safetensors__free(a, ids, 2 * n * sizeof *ids);
            safetensors__err_set(e, SAFETENSORS_ERR_SCHEMA, w->key_offset);
            safetensors__err_add(e, "weight_map entry ");
            safetensors__err_add_name(e, p->arena + w->key_off, w->key_len);
            safetensors__err_add(e, ": shard ");
            safetensors__err_add_name(e, p->arena + w->value_off, w->value_len);
            safetensors__err_add(e, " is not a plain file name in the index's folder");
            return SAFETENSORS_ERR_SCHEMA;
        }
    }
    rank = (uint32_t *)(safetensors__alloc(a, 2 * distinct * sizeof *rank));
    m->shard_count = distinct;
    m->shards = (safetensors_file **)(safetensors__alloc(a, distinct * sizeof *m->shards));
    m->shard_names = (const char **)(safetensors__alloc(a, distinct * sizeof *m->shard_names));
    m->shard_name_lens = (size_t *)(safetensors__alloc(a, distinct * sizeof(size_t)));
    m->shard_first = (size_t *)(safetensors__alloc(a, (distinct + 1) * sizeof(size_t)));
    if (m->shards) for (k = 0; k < distinct; k++) m->shards[k] = NULL; /* close reads them */
    if (rank == NULL || m->shards == NULL || m->shard_names == NULL || m->shard_name_lens == NULL ||
        m->shard_first == NULL) {
        safetensors__free(a, rank, 2 * distinct * sizeof *rank);
        safetensors__free(a, ids, 2 * n * sizeof *ids);
        return safetensors__model_nomem(e);
    }
    for (k = 0; k < distinct; k++) rank[k] = (uint32_t)k;
    safetensors__sort_indices(rank, rank + distinct, distinct, safetensors__shard_name_before, &ctx);
    for (k = 0; k < distinct; k++) { /* rank[k] is the k-th name in order; invert into the upper half */
        const safetensors__meta *w = &doc->weights[ctx.first[rank[k]]];
        m->shard_names[k] = p->arena + w->value_off;
        m->shard_name_lens[k] = w->value_len;
        rank[distinct + rank[k]] = (uint32_t)k;
    }
    for (k = 0; k < n; k++) {
        m->tensors[k].name = p->arena + doc->weights[k].key_off;
        m->tensors[k].name_len = doc->weights[k].key_len;
        m->tensors[k].shard = rank[distinct + ids[k]];
        m->tensors[k].view = NULL;
    }
    safetensors__free(a, rank, 2 * distinct * sizeof *rank);
    safetensors__free(a, ids, 2 * n * sizeof *ids);
    if (!safetensors__model_metadata(m, p)) return safetensors__model_nomem(e);
    return safetensors__model_order_tensors(m, tensor_names, e);
}

/* Reads and checks the index JSON: syntax, strings, a weight_map, no name
   twice, plain shard names. */
/* Custom I/O for models: the io for `name` from opt.model_io, or an error
   naming it. */
static safetensors_result safetensors__model_io_open(const safetensors_model *m, const char *name, safetensors_io *io,
                                                     safetensors_error *e)
{
    const safetensors_model_io *mio = m->opt.model_io;
    memset(io, 0, sizeof *io);
    if (mio->open == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "model_io needs an open callback");
    if (mio->open(mio->ctx, name, io) == 0) return SAFETENSORS_OK;
    safetensors__err_simple(e, SAFETENSORS_ERR_IO, 0, "the open callback failed for ");
    safetensors__err_add_name(e, name, strlen(name));
    return SAFETENSORS_ERR_IO;
}

/* The index through the callbacks into the parser. */
static safetensors_result safetensors__model_feed_io(const safetensors_model *m, const char *path, safetensors_parser *p,
                                                     safetensors_error *e)
{
    safetensors_io io;
    uint64_t size = 0;
    safetensors_result r = safetensors__model_io_open(m, path, &io, e);
    if (r != SAFETENSORS_OK) return r;
    if (io.read == NULL || io.size == NULL)
        r = safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the io from the open callback needs read and size");
    else if (io.size(io.ctx, &size) != 0)
        r = safetensors__err_simple(e, SAFETENSORS_ERR_IO, 0, "the size callback failed for the index");
    else
        r = safetensors__io_feed(&io, size, p, e);
    if (m->opt.model_io->close) m->opt.model_io->close(m->opt.model_io->ctx, &io);
    return r;
}

/* A file of the model (a shard, or the single file): through opt.model_io
   when it is set, else from the file system. A HEADER_ONLY file keeps its
   io for reads, and releases it when it closes. */
static safetensors_result safetensors__model_open_file(const safetensors_model *m, const char *path,
                                                       safetensors_file **out, safetensors_error *e)
{
    safetensors_io io;
    safetensors_result r;
    if (m->opt.model_io == NULL) return safetensors__open_file(path, &m->opt, out, e, 1);
    r = safetensors__model_io_open(m, path, &io, e);
    if (r != SAFETENSORS_OK) return r;
    r = safetensors_open_io(&io, &m->opt, out, e);
    if (r == SAFETENSORS_OK && (*out)->io.read) {
        (*out)->io_owner = m->opt.model_io;
        return SAFETENSORS_OK;
    }
    if (m->opt.model_io->close) m->opt.model_io->close(m->opt.model_io->ctx, &io);
    return r;
}

static safetensors_result safetensors__model_read_index(safetensors_model *m, const char *path,
                                                        safetensors_error *e)
{
    safetensors__os_file of;
    safetensors_parser *p;
    unsigned char *chunk;
    safetensors__index names, keys;
    safetensors__index_doc doc;
    int sys = 0;
    long got;
    safetensors_result r = safetensors_parser_create(&m->opt, &p, e);
    if (r != SAFETENSORS_OK) return r;
    m->seed = p->seed; /* the metadata index is built with the parser's seed */
    memset(&doc, 0, sizeof doc);
    safetensors__parser_bare(p, &safetensors__index_schema, &doc);
    if (m->opt.model_io) {
        r = safetensors__model_feed_io(m, path, p, e);
        goto fed;
    }
    r = safetensors__os_open(path, &m->alloc, &of, e, 1);
    if (r != SAFETENSORS_OK) {
        safetensors_parser_destroy(p);
        return r;
    }
    if (of.is_regular) p->file_size = of.size; /* the bytes are there: the tables may be sized from them */
    chunk = (unsigned char *)(safetensors__alloc(&m->alloc, SAFETENSORS__READ_CHUNK));
    if (chunk == NULL) r = safetensors__model_nomem(e);
    while (r == SAFETENSORS_OK && (got = safetensors__os_read(&of, chunk, SAFETENSORS__READ_CHUNK, &sys)) != 0) {
        if (got < 0) r = safetensors__fail_io(e, sys, "cannot read the index");
        else r = safetensors_parser_feed(p, chunk, (size_t)got, NULL, NULL, e);
    }
    safetensors__free(&m->alloc, chunk, SAFETENSORS__READ_CHUNK);
    safetensors__os_close(&of);
fed:
    memset(&names, 0, sizeof names);
    memset(&keys, 0, sizeof keys);
    if (r == SAFETENSORS_OK) {
        if (p->state != SAFETENSORS__S_END)
            safetensors__fail(p, SAFETENSORS_ERR_JSON, p->pos, "the index ends inside its JSON value");
        else if (!doc.saw_weight_map)
            safetensors__fail(p, SAFETENSORS_ERR_SCHEMA, p->pos, "the index has no weight_map");
        else if (safetensors__index_names(p, &names, doc.weight_count, safetensors__weight_key, p->arena,
                                          p->arena_len, 0, doc.weights, "weight_map entry "))
            (void)safetensors__index_names(p, &keys, p->meta_count, safetensors__meta_key, NULL, 0, 0, p->metas,
                                           "metadata key ");
        if (p->failed) {
            *e = p->error;
            r = e->code;
        }
    }
    if (r == SAFETENSORS_OK) {
        m->meta_index = keys;
        memset(&keys, 0, sizeof keys);
        r = safetensors__model_from_index(m, p, &names, e);
        /* the model's names point into the arena: it changes hands */
        m->strings = p->arena;
        m->strings_cap = p->arena_cap;
        p->arena = NULL;
        p->arena_cap = 0;
    }
    safetensors__index_free(&m->alloc, &names); /* unless the model took it */
    safetensors__index_free(&m->alloc, &keys);
    safetensors__free(&m->alloc, doc.weights, doc.weight_cap * sizeof *doc.weights);
    safetensors_parser_destroy(p);
    return r;
}

/* Every tensor the weight map puts in shard k is there. */
static safetensors_result safetensors__model_check_listed(const safetensors_model *m, size_t k,
                                                          const safetensors_file *f, safetensors_error *e,
                                                          int remember)
{
    size_t i;
    for (i = m->shard_first[k]; i < m->shard_first[k + 1]; i++) {
        safetensors__model_tensor *t = &m->tensors[i];
        const safetensors_tensor *view = safetensors_find(f, t->name, t->name_len);
        if (remember) t->view = view; /* eager mode only: nothing else sees the model yet */
        if (view == NULL) {
            safetensors__err_set(e, SAFETENSORS_ERR_NOT_FOUND, 0);
            safetensors__err_add(e, "weight_map puts tensor ");
            safetensors__err_add_name(e, t->name, t->name_len);
            safetensors__err_add(e, " in a shard that does not hold it");
            safetensors__err_in_shard(e, m->shard_names[k], m->shard_name_lens[k]);
            return SAFETENSORS_ERR_NOT_FOUND;
        }
    }
    return SAFETENSORS_OK;
}

/* Tensors that shards hold but weight_map leaves out, when they may join
   the model (eager mode with SAFETENSORS_MODEL_ALLOW_UNLISTED). */
typedef struct safetensors__unlisted {
    safetensors__model_tensor *list;
    size_t count, cap;
} safetensors__unlisted;

/* After safetensors__model_check_listed has passed for shard k: it holds
   nothing the weight map does not put there (unless unlisted tensors are
   allowed; then they are collected when `unlisted` is given). In eager mode
   every shard's listed tensors are checked first, so that a tensor found
   here but mapped elsewhere is known to be in two shards. */
static safetensors_result safetensors__model_check_shard(const safetensors_model *m, size_t k,
                                                         const safetensors_file *f, safetensors_error *e,
                                                         safetensors__unlisted *unlisted)
{
    size_t i, listed = m->shard_first[k + 1] - m->shard_first[k];
    if (f->tensor_count == listed) return SAFETENSORS_OK;
    for (i = 0; i < f->tensor_count; i++) {
        const safetensors_tensor *t = &f->tensors[i];
        size_t at = safetensors__model_lookup(m, t->name, t->name_len);
        if (at != (size_t)-1 && m->tensors[at].shard == k) continue;
        safetensors__err_set(e, at == (size_t)-1 ? SAFETENSORS_ERR_SCHEMA : SAFETENSORS_ERR_DUPLICATE, 0);
        safetensors__err_add(e, "tensor ");
        safetensors__err_add_name(e, t->name, t->name_len);
        if (at != (size_t)-1) {
            safetensors__err_add(e, " is here, but weight_map puts it in shard ");
            safetensors__err_add_name(e, m->shard_names[m->tensors[at].shard],
                                      m->shard_name_lens[m->tensors[at].shard]);
            safetensors__err_in_shard(e, m->shard_names[k], m->shard_name_lens[k]);
            return SAFETENSORS_ERR_DUPLICATE;
        }
        if (!(m->opt.flags & SAFETENSORS_MODEL_ALLOW_UNLISTED)) {
            safetensors__err_add(e, " is missing from weight_map");
            safetensors__err_in_shard(e, m->shard_names[k], m->shard_name_lens[k]);
            return SAFETENSORS_ERR_SCHEMA;
        }
        if (unlisted) {
            safetensors__model_tensor *fresh = (safetensors__model_tensor *)(safetensors__grow(&m->alloc, unlisted->list, &unlisted->cap, unlisted->count + 1, sizeof *fresh));
            if (fresh == NULL) return safetensors__model_nomem(e);
            unlisted->list = fresh;
            fresh += unlisted->count++;
            fresh->name = t->name;
            fresh->name_len = t->name_len;
            fresh->shard = (uint32_t)k;
            fresh->view = t;
        }
    }
    return SAFETENSORS_OK;
}

/* Opens shard k and checks that it holds every tensor the index puts
   there: the per-shard open of both modes. Eager mode (nothing else sees
   the model yet) keeps the views it finds. */
static safetensors_result safetensors__model_load_shard(const safetensors_model *m, size_t k, safetensors_file **out,
                                                        safetensors_error *e, int remember)
{
    size_t size;
    safetensors_result r;
    char *path = safetensors__join(&m->alloc, m->dir, m->dir_len, m->shard_names[k], m->shard_name_lens[k], &size);
    *out = NULL;
    if (path == NULL) return safetensors__model_nomem(e);
    r = safetensors__model_open_file(m, path, out, e);
    safetensors__free(&m->alloc, path, size);
    if (r != SAFETENSORS_OK) {
        safetensors__err_in_shard(e, m->shard_names[k], m->shard_name_lens[k]);
        return r;
    }
    r = safetensors__model_check_listed(m, k, *out, e, remember);
    if (r != SAFETENSORS_OK) {
        safetensors_close(*out);
        *out = NULL;
    }
    return r;
}

/* Lazy mode: shard k on its first use, by whichever thread asks first. */
static safetensors_result safetensors__model_open_shard(const safetensors_model *m, size_t k, safetensors_file **out,
                                                        safetensors_error *e)
{
    safetensors_file *f = safetensors__shard_load(&m->shards[k]);
    safetensors_result r;
    *out = f;
    if (f) return SAFETENSORS_OK;
    r = safetensors__model_load_shard(m, k, &f, e, 0);
    if (r == SAFETENSORS_OK) r = safetensors__model_check_shard(m, k, f, e, NULL);
    if (r != SAFETENSORS_OK) {
        safetensors_close(f);
        return r;
    }
    if (!safetensors__shard_publish(&m->shards[k], f)) {
        safetensors_close(f);
        f = safetensors__shard_load(&m->shards[k]);
    }
    *out = f;
    return SAFETENSORS_OK;
}

/* total_size, when the index gives it, must be a JSON integer equal to the
   bytes the tensors hold. */
static safetensors_result safetensors__model_check_total_size(const safetensors_model *m, safetensors_error *e)
{
    const safetensors_metadata_entry *entry = safetensors__metadata_lookup(&m->meta_index, m->metas, m->seed, "total_size", 10);
    uint64_t declared = 0, held = 0;
    size_t i, json_len;
    const char *json;
    if (entry == NULL) return SAFETENSORS_OK;
    json = safetensors_model_metadata_json(m, (size_t)(entry - m->metas), &json_len);
    for (i = 0; i < json_len; i++) {
        unsigned d = (unsigned)json[i] - (unsigned)'0';
        if (d > 9 || safetensors__u64_times_ten_plus_overflows(declared, d) || (i == 0 && d == 0 && json_len > 1))
            return safetensors__err_simple(e, SAFETENSORS_ERR_SCHEMA, 0,
                                           "the index's total_size is not a non-negative integer");
        declared = declared * 10u + d;
    }
    if (json_len == 0)
        return safetensors__err_simple(e, SAFETENSORS_ERR_SCHEMA, 0, "the index's total_size is empty");
    /* eager mode: each view was found as its shard was checked */
    for (i = 0; i < m->tensor_count; i++) held += m->tensors[i].view->end - m->tensors[i].view->begin;
    if (declared == held) return SAFETENSORS_OK;
    safetensors__err_set(e, SAFETENSORS_ERR_SIZE, 0);
    safetensors__err_add(e, "the index's total_size is ");
    safetensors__err_add_u64(e, declared);
    safetensors__err_add(e, " but its tensors hold ");
    safetensors__err_add_u64(e, held);
    safetensors__err_add(e, " bytes");
    return SAFETENSORS_ERR_SIZE;
}

/* Eager mode: every shard now, then what only the whole model can show. */
static safetensors_result safetensors__model_open_all(safetensors_model *m, safetensors_error *e)
{
    safetensors__unlisted unlisted;
    size_t k;
    safetensors_result r = SAFETENSORS_OK;
    memset(&unlisted, 0, sizeof unlisted);
    /* every shard's listed tensors first, so that a tensor found in one
       shard but mapped to another is known to be in both */
    for (k = 0; k < m->shard_count && r == SAFETENSORS_OK; k++)
        r = safetensors__model_load_shard(m, k, &m->shards[k], e, 1);
    for (k = 0; k < m->shard_count && r == SAFETENSORS_OK; k++)
        r = safetensors__model_check_shard(m, k, m->shards[k], e, &unlisted);
    if (r == SAFETENSORS_OK && unlisted.count) {
        safetensors__model_tensor *all = (safetensors__model_tensor *)(safetensors__realloc(&m->alloc, m->tensors, m->tensor_count * sizeof *m->tensors,
                                 (m->tensor_count + unlisted.count) * sizeof *m->tensors));
        if (all == NULL) r = safetensors__model_nomem(e);
        else {
            memcpy(all + m->tensor_count, unlisted.list, unlisted.count * sizeof *unlisted.list);
            m->tensors = all;
            m->tensor_count += unlisted.count;
            r = safetensors__model_order_tensors(m, NULL, e);
            for (k = 0; r == SAFETENSORS_OK && k < m->tensor_count; k++) {
                size_t first = safetensors__model_lookup(m, m->tensors[k].name, m->tensors[k].name_len);
                if (first == k) continue;
                safetensors__err_set(e, SAFETENSORS_ERR_DUPLICATE, 0);
                safetensors__err_add(e, "tensor ");
                safetensors__err_add_name(e, m->tensors[k].name, m->tensors[k].name_len);
                safetensors__err_add(e, " is in shards ");
                safetensors__err_add_name(e, m->shard_names[m->tensors[first].shard], m->shard_name_lens[m->tensors[first].shard]);
                safetensors__err_add(e, " and ");
                safetensors__err_add_name(e, m->shard_names[m->tensors[k].shard], m->shard_name_lens[m->tensors[k].shard]);
                r = SAFETENSORS_ERR_DUPLICATE;
            }
        }
    }
    safetensors__free(&m->alloc, unlisted.list, unlisted.cap * sizeof *unlisted.list);
    if (r == SAFETENSORS_OK) r = safetensors__model_check_total_size(m, e);
    return r;
}

/* A single .safetensors file is a model of one shard. */
static safetensors_result safetensors__model_from_file(safetensors_model *m, const char *path, size_t base_at,
                                                       safetensors_error *e)
{
    const safetensors_allocator *a = &m->alloc;
    size_t len = strlen(path + base_at), k;
    safetensors_file *f;
    safetensors_result r = safetensors__model_open_file(m, path, &f, e);
    if (r != SAFETENSORS_OK) return r;
    m->strings_cap = len + 1;
    m->strings = (char *)(safetensors__alloc(a, m->strings_cap));
    m->shards = (safetensors_file **)(safetensors__alloc(a, sizeof *m->shards));
    m->shard_names = (const char **)(safetensors__alloc(a, sizeof *m->shard_names));
    m->shard_name_lens = (size_t *)(safetensors__alloc(a, sizeof(size_t)));
    m->shard_first = (size_t *)(safetensors__alloc(a, 2 * sizeof(size_t)));
    m->tensors = (safetensors__model_tensor *)(safetensors__alloc(a, f->tensor_count * sizeof *m->tensors));
    m->shard_count = 1; /* the sizes close frees with */
    m->tensor_count = m->tensors ? f->tensor_count : 0;
    if (m->shards) m->shards[0] = f;
    else safetensors_close(f);
    if (!m->strings || !m->shards || !m->shard_names || !m->shard_name_lens || !m->shard_first || !m->tensors)
        return safetensors__model_nomem(e);
    memcpy(m->strings, path + base_at, len + 1);
    m->shard_names[0] = m->strings;
    m->shard_name_lens[0] = len;
    m->tensor_count = f->tensor_count;
    for (k = 0; k < f->tensor_count; k++) {
        m->tensors[k].name = f->tensors[k].name;
        m->tensors[k].name_len = f->tensors[k].name_len;
        m->tensors[k].shard = 0;
        m->tensors[k].view = &f->tensors[k];
    }
    if (!safetensors__index_init(a, &m->meta_index, 0, NULL, 0, 0)) return safetensors__model_nomem(e);
    return safetensors__model_order_tensors(m, NULL, e);
}

typedef struct safetensors__one_match {
    const char *tail;
    const safetensors_allocator *alloc;
    size_t matches;
    char *name; /* the first match */
    size_t name_size;
} safetensors__one_match;

static void safetensors__one_match_visit(void *ctx, const char *name)
{
    safetensors__one_match *m = (safetensors__one_match *)(ctx);
    size_t len = strlen(name);
    if (!safetensors__ends_with(name, len, m->tail) || m->matches++ > 0) return;
    m->name = (char *)(safetensors__alloc(m->alloc, len + 1));
    if (m->name) {
        memcpy(m->name, name, len + 1);
        m->name_size = len + 1;
    }
}

/* The one entry of `dir` whose name ends with `tail`: *file stays NULL when
   there is none, and several are an error, since guessing could load the
   wrong weights. */
static safetensors_result safetensors__os_find_one(const char *dir, size_t dir_len, const char *tail,
                                                   const safetensors_allocator *a, char **file, size_t *file_size,
                                                   safetensors_error *e)
{
    safetensors__one_match m;
    safetensors_result r;
    memset(&m, 0, sizeof m);
    m.tail = tail;
    m.alloc = a;
    *file = NULL;
    r = safetensors__os_list(dir, a, safetensors__one_match_visit, &m, e);
    if (r == SAFETENSORS_OK && m.matches > 1) {
        safetensors__err_set(e, SAFETENSORS_ERR_NOT_FOUND, 0);
        safetensors__err_add(e, "the folder holds several *");
        safetensors__err_add(e, tail);
        safetensors__err_add(e, " files: open the one you mean");
        r = SAFETENSORS_ERR_NOT_FOUND;
    } else if (r == SAFETENSORS_OK && m.matches == 1) {
        if (m.name) *file = safetensors__join(a, dir, dir_len, m.name, m.name_size - 1, file_size);
        if (*file == NULL) r = safetensors__model_nomem(e);
    }
    safetensors__free(a, m.name, m.name_size);
    return r;
}

/* Which file a folder stands for: model.safetensors.index.json, else
   model.safetensors, else the only *.safetensors.index.json, else the only
   *.safetensors. */
static safetensors_result safetensors__model_pick(safetensors_model *m, char **file, size_t *file_size,
                                                  safetensors_error *e)
{
    static const char *const preferred[2] = {"model.safetensors.index.json", "model.safetensors"};
    static const char *const tails[2] = {".safetensors.index.json", ".safetensors"};
    int round;
    for (round = 0; round < 2; round++) {
        *file = safetensors__join(&m->alloc, m->dir, m->dir_len, preferred[round], strlen(preferred[round]), file_size);
        if (*file == NULL) return safetensors__model_nomem(e);
        if (safetensors__os_is_file(*file, &m->alloc)) return SAFETENSORS_OK;
        safetensors__free(&m->alloc, *file, *file_size);
        *file = NULL;
    }
    for (round = 0; round < 2; round++) {
        safetensors_result r = safetensors__os_find_one(m->dir, m->dir_len, tails[round], &m->alloc, file, file_size, e);
        if (r != SAFETENSORS_OK || *file) return r;
    }
    return safetensors__err_simple(e, SAFETENSORS_ERR_NOT_FOUND, 0,
                                   "the folder holds no model.safetensors.index.json or .safetensors file");
}

SAFETENSORS_API safetensors_result safetensors_model_open(const char *path, const safetensors_options *opt,
                                                          safetensors_model **out, safetensors_error *err)
{
    safetensors_error e;
    safetensors_options o;
    const char *problem = safetensors__open_options(opt, &o);
    safetensors_allocator a = o.allocator;
    safetensors_model *m;
    safetensors_result r;
    char *file = NULL;
    size_t file_size = 0, len, base_at;
    if (out) *out = NULL;
    if (out == NULL || path == NULL || problem) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                out == NULL    ? "out must not be NULL"
                                : path == NULL ? "path must not be NULL"
                                               : problem);
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_ARGUMENT;
    }
    m = (safetensors_model *)(safetensors__alloc(&a, sizeof *m));
    if (m == NULL) {
        safetensors__err_copy_out(err, (safetensors__model_nomem(&e), &e));
        return SAFETENSORS_ERR_NOMEM;
    }
    memset(m, 0, sizeof *m);
    m->alloc = a;
    m->opt = o;
    m->seed = safetensors__pick_seed(o.hash_seed, m);
    len = strlen(path);
    if (!o.model_io && safetensors__os_is_directory(path, &a)) {
        int needs_separator = len > 0 && !safetensors__is_separator(path[len - 1]);
        m->dir_len = len + (size_t)needs_separator;
        m->dir = (char *)(safetensors__alloc(&a, m->dir_len + 1));
        if (m->dir == NULL) r = safetensors__model_nomem(&e);
        else {
            memcpy(m->dir, path, len);
            if (needs_separator) m->dir[len] = '/';
            m->dir[m->dir_len] = '\0';
            r = safetensors__model_pick(m, &file, &file_size, &e);
        }
    } else {
        for (base_at = len; base_at > 0 && !safetensors__is_separator(path[base_at - 1]); base_at--) continue;
        m->dir_len = base_at;
        m->dir = (char *)(safetensors__alloc(&a, base_at + 1));
        file = (char *)(safetensors__alloc(&a, len + 1));
        file_size = len + 1;
        if (m->dir == NULL || file == NULL) r = safetensors__model_nomem(&e);
        else {
            memcpy(m->dir, path, base_at);
            m->dir[base_at] = '\0';
            memcpy(file, path, len + 1);
            r = SAFETENSORS_OK;
        }
    }
    if (r == SAFETENSORS_OK) {
        len = strlen(file);
        if (safetensors__ends_with(file, len, ".json")) {
            r = safetensors__model_read_index(m, file, &e);
            if (r == SAFETENSORS_OK && !(m->opt.flags & SAFETENSORS_MODEL_LAZY)) r = safetensors__model_open_all(m, &e);
        } else {
            r = safetensors__model_from_file(m, file, m->dir_len, &e);
        }
    }
    safetensors__free(&a, file, file_size);
    if (r != SAFETENSORS_OK) {
        safetensors_model_close(m);
        safetensors__err_copy_out(err, &e);
        return r;
    }
    *out = m;
    return SAFETENSORS_OK;
}

SAFETENSORS_API size_t safetensors_model_shard_count(const safetensors_model *m)
{
    return m ? m->shard_count : 0;
}

SAFETENSORS_API const char *safetensors_model_shard_name(const safetensors_model *m, size_t i, size_t *len)
{
    int ok = m && i < m->shard_count;
    if (len) *len = ok ? m->shard_name_lens[i] : 0;
    return ok ? m->shard_names[i] : NULL;
}

SAFETENSORS_API safetensors_result safetensors_model_shard(const safetensors_model *m, size_t i,
                                                           const safetensors_file **f, safetensors_error *err)
{
    safetensors_error e;
    safetensors_file *opened;
    safetensors_result r;
    if (f) *f = NULL;
    if (m == NULL || f == NULL || i >= m->shard_count) {
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                                                "no such shard, or a NULL argument"),
                                        &e));
        return SAFETENSORS_ERR_ARGUMENT;
    }
    r = safetensors__model_open_shard(m, i, &opened, &e);
    if (r != SAFETENSORS_OK) safetensors__err_copy_out(err, &e);
    else *f = opened;
    return r;
}

SAFETENSORS_API size_t safetensors_model_tensor_count(const safetensors_model *m)
{
    return m ? m->tensor_count : 0;
}

/* The i-th model tensor's view, opening its shard if it is not open yet. */
static safetensors_result safetensors__model_view(const safetensors_model *m, size_t i,
                                                  const safetensors_tensor **t, size_t *shard, safetensors_error *err)
{
    safetensors_error e;
    safetensors_file *f;
    safetensors__model_tensor *mt = &m->tensors[i];
    const safetensors_tensor *view = safetensors__view_load(&mt->view);
    safetensors_result r;
    if (view) {
        *t = view;
        if (shard) *shard = mt->shard;
        return SAFETENSORS_OK;
    }
    r = safetensors__model_open_shard(m, mt->shard, &f, &e);
    if (r != SAFETENSORS_OK) {
        safetensors__err_copy_out(err, &e);
        return r;
    }
    *t = safetensors_find(f, mt->name, mt->name_len);
    (void)safetensors__view_publish(&mt->view, *t); /* the same view, whoever is first */
    if (shard) *shard = mt->shard;
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_model_tensor_at(const safetensors_model *m, size_t i,
                                                               const safetensors_tensor **t, size_t *shard,
                                                               safetensors_error *err)
{
    safetensors_error e;
    if (t) *t = NULL;
    if (m == NULL || t == NULL || i >= m->tensor_count) {
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                                                "no such tensor, or a NULL argument"),
                                        &e));
        return SAFETENSORS_ERR_ARGUMENT;
    }
    return safetensors__model_view(m, i, t, shard, err);
}

SAFETENSORS_API safetensors_result safetensors_model_find(const safetensors_model *m, const char *name, size_t len,
                                                          const safetensors_tensor **t, size_t *shard,
                                                          safetensors_error *err)
{
    safetensors_error e;
    size_t at;
    if (t) *t = NULL;
    if (m == NULL || t == NULL || (name == NULL && len != 0)) {
        safetensors__err_copy_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                                                "a required argument is NULL"),
                                        &e));
        return SAFETENSORS_ERR_ARGUMENT;
    }
    at = safetensors__model_lookup(m, name ? name : "", len);
    if (at == (size_t)-1) {
        safetensors__err_set(&e, SAFETENSORS_ERR_NOT_FOUND, 0);
        safetensors__err_add(&e, "the model has no tensor ");
        safetensors__err_add_name(&e, name ? name : "", len);
        safetensors__err_copy_out(err, &e);
        return SAFETENSORS_ERR_NOT_FOUND;
    }
    return safetensors__model_view(m, at, t, shard, err);
}

SAFETENSORS_API size_t safetensors_model_metadata_count(const safetensors_model *m)
{
    return m ? m->meta_count : 0;
}

SAFETENSORS_API int safetensors_model_metadata_at(const safetensors_model *m, size_t i, safetensors_metadata_entry *out)
{
    return safetensors__metadata_give(m && i < m->meta_count ? &m->metas[i] : NULL, out);
}

SAFETENSORS_API int safetensors_model_metadata_find(const safetensors_model *m, const char *key, size_t key_len,
                                                    safetensors_metadata_entry *out)
{
    return safetensors__metadata_give(m ? safetensors__metadata_lookup(&m->meta_index, m->metas, m->seed, key, key_len) : NULL, out);
}

SAFETENSORS_API const char *safetensors_model_metadata_json(const safetensors_model *m, size_t i, size_t *len)
{
    int ok = m && i < m->meta_count;
    if (len) *len = ok ? m->meta_json_lens[i] : 0;
    return ok ? m->meta_json[i] : NULL;
}

#endif /* !SAFETENSORS_NO_STDIO && !SAFETENSORS_NO_MODEL */

/* >>convert ----------------------------------------------------------- */
#ifndef SAFETENSORS_NO_CONVERT
/* dtype conversion to and from F32.

   Every routine here is a pure function of its arguments. The decode tables
   for the 8-bit and smaller formats are const arrays written out below, so
   there is nothing to initialise and nothing for two threads to share. The
   element-wise code uses integer operations: no result depends on the
   rounding mode or on flush-to-zero / denormals-are-zero (which engines
   built with -ffast-math switch on for the whole process). The only float
   operations, which scale F16 and F8 subnormals from small integers, are
   exact products of normal numbers, which neither of those modes touches.

   Speed comes first from writing loops that compilers vectorise
   (fixed-size blocks, no branches, no aliasing). Where that is not enough,
   intrinsics: SSE2 for the narrowings on every x86-64 (see "Narrowing:
   four elements at once"), and a few F16C or AVX2 loops for builds that
   enable those. SAFETENSORS_NO_SIMD turns them all off, and the tests run
   both ways.
   AArch64 gets NEON's F16 <-> F32 conversions (FCVTL/FCVTN, one
   instruction for what the portable loop spends a dozen on), but only
   while the FPCR is in the state where they give this file's answers (see
   safetensors__cv_neon_exact); otherwise, and for everything else, the
   portable loops, which vectorise to NEON by themselves. */

#ifndef SAFETENSORS__CV_LE
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SAFETENSORS__CV_LE 1
#endif
#elif defined(_MSC_VER) && (defined(_M_IX86) || defined(_M_X64) || defined(_M_ARM) || defined(_M_ARM64))
#define SAFETENSORS__CV_LE 1
#endif
#endif
/* 0 when the host order is unknown or big-endian: the byte-by-byte path is
   right everywhere, the memcpy path only on little-endian hosts. Defining
   it to 0 beforehand forces the byte path; the tests do, to run it on
   little-endian machines too. */
#ifndef SAFETENSORS__CV_LE
#define SAFETENSORS__CV_LE 0
#endif

/* C++ has no `restrict`; the compilers we know spell it __restrict. Without
   it a char source could alias the float destination, and GCC would either
   not vectorise or add run-time overlap checks. */
#if defined(__cplusplus)
#if defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER)
#define SAFETENSORS__CV_RESTRICT __restrict
#else
#define SAFETENSORS__CV_RESTRICT
#endif
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#define SAFETENSORS__CV_RESTRICT restrict
#else
#define SAFETENSORS__CV_RESTRICT
#endif

/* GCC's -O2 vectoriser takes a loop only when its trip count is a known
   multiple of the vector width, so the hot loops run in blocks of this many
   elements, counted from 0 (a loop from i to i + n is not known to run n
   times), and finish the remainder one by one. */
#define SAFETENSORS__CV_BLOCK 64u

/* The bit tricks below assume IEEE-754 binary32; a compiler with any other
   float refuses to build this rather than convert wrongly. */
typedef char safetensors__cv_float_is_binary32[(sizeof(float) == 4 && sizeof(uint32_t) == 4) ? 1 : -1];

/* ---- Decode tables -------------------------------------------------------
   The value of every code of the 8-bit and smaller formats, as the top 16
   bits of its float32 (its BF16 code: BF16 holds all of them exactly, so
   the low 16 bits are always zero). Generated from these rules, with the
   sign bit moved to bit 15; tests/test_convert.c checks every entry against
   ml_dtypes:
     F8_E4M3      bias 7, 3 mantissa bits; no Inf; S.1111.111 is NaN
     F8_E5M2      bias 15, 2 mantissa bits; exponent 31 is Inf (mantissa 0)
                  or NaN, as in F16
     F8_E4M3FNUZ  bias 8, 3 mantissa bits; no Inf, no -0; 0x80 is NaN
     F8_E5M2FNUZ  bias 16, 2 mantissa bits; no Inf, no -0; 0x80 is NaN
     F8_E8M0      2^(c - 127), no sign; 0xff is NaN; code 0 is 2^-127
     F4 (E2M1)    bias 1, 1 mantissa bit; F6_E2M3 bias 1, 3 bits; F6_E3M2
                  bias 3, 2 bits; no Inf or NaN
   A code with exponent field e > 0 is 2^(e - bias) x 1.f; e = 0 is the
   subnormal f x 2^(1 - bias - mantissa bits). NaN is 0x7fc0, with the
   payload kept for E5M2. Rows of 8 codes, ascending. */
static const uint16_t safetensors__cv_e4m3_table[256] = {
    0x0000, 0x3b00, 0x3b80, 0x3bc0, 0x3c00, 0x3c20, 0x3c40, 0x3c60,
    0x3c80, 0x3c90, 0x3ca0, 0x3cb0, 0x3cc0, 0x3cd0, 0x3ce0, 0x3cf0,
    0x3d00, 0x3d10, 0x3d20, 0x3d30, 0x3d40, 0x3d50, 0x3d60, 0x3d70,
    0x3d80, 0x3d90, 0x3da0, 0x3db0, 0x3dc0, 0x3dd0, 0x3de0, 0x3df0,
    0x3e00, 0x3e10, 0x3e20, 0x3e30, 0x3e40, 0x3e50, 0x3e60, 0x3e70,
    0x3e80, 0x3e90, 0x3ea0, 0x3eb0, 0x3ec0, 0x3ed0, 0x3ee0, 0x3ef0,
    0x3f00, 0x3f10, 0x3f20, 0x3f30, 0x3f40, 0x3f50, 0x3f60, 0x3f70,
    0x3f80, 0x3f90, 0x3fa0, 0x3fb0, 0x3fc0, 0x3fd0, 0x3fe0, 0x3ff0,
    0x4000, 0x4010, 0x4020, 0x4030, 0x4040, 0x4050, 0x4060, 0x4070,
    0x4080, 0x4090, 0x40a0, 0x40b0, 0x40c0, 0x40d0, 0x40e0, 0x40f0,
    0x4100, 0x4110, 0x4120, 0x4130, 0x4140, 0x4150, 0x4160, 0x4170,
    0x4180, 0x4190, 0x41a0, 0x41b0, 0x41c0, 0x41d0, 0x41e0, 0x41f0,
    0x4200, 0x4210, 0x4220, 0x4230, 0x4240, 0x4250, 0x4260, 0x4270,
    0x4280, 0x4290, 0x42a0, 0x42b0, 0x42c0, 0x42d0, 0x42e0, 0x42f0,
    0x4300, 0x4310, 0x4320, 0x4330, 0x4340, 0x4350, 0x4360, 0x4370,
    0x4380, 0x4390, 0x43a0, 0x43b0, 0x43c0, 0x43d0, 0x43e0, 0x7fc0,
    0x8000, 0xbb00, 0xbb80, 0xbbc0, 0xbc00, 0xbc20, 0xbc40, 0xbc60,
    0xbc80, 0xbc90, 0xbca0, 0xbcb0, 0xbcc0, 0xbcd0, 0xbce0, 0xbcf0,
    0xbd00, 0xbd10, 0xbd20, 0xbd30, 0xbd40, 0xbd50, 0xbd60, 0xbd70,
    0xbd80, 0xbd90, 0xbda0, 0xbdb0, 0xbdc0, 0xbdd0, 0xbde0, 0xbdf0,
    0xbe00, 0xbe10, 0xbe20, 0xbe30, 0xbe40, 0xbe50, 0xbe60, 0xbe70,
    0xbe80, 0xbe90, 0xbea0, 0xbeb0, 0xbec0, 0xbed0, 0xbee0, 0xbef0,
    0xbf00, 0xbf10, 0xbf20, 0xbf30, 0xbf40, 0xbf50, 0xbf60, 0xbf70,
    0xbf80, 0xbf90, 0xbfa0, 0xbfb0, 0xbfc0, 0xbfd0, 0xbfe0, 0xbff0,
    0xc000, 0xc010, 0xc020, 0xc030, 0xc040, 0xc050, 0xc060, 0xc070,
    0xc080, 0xc090, 0xc0a0, 0xc0b0, 0xc0c0, 0xc0d0, 0xc0e0, 0xc0f0,
    0xc100, 0xc110, 0xc120, 0xc130, 0xc140, 0xc150, 0xc160, 0xc170,
    0xc180, 0xc190, 0xc1a0, 0xc1b0, 0xc1c0, 0xc1d0, 0xc1e0, 0xc1f0,
    0xc200, 0xc210, 0xc220, 0xc230, 0xc240, 0xc250, 0xc260, 0xc270,
    0xc280, 0xc290, 0xc2a0, 0xc2b0, 0xc2c0, 0xc2d0, 0xc2e0, 0xc2f0,
    0xc300, 0xc310, 0xc320, 0xc330, 0xc340, 0xc350, 0xc360, 0xc370,
    0xc380, 0xc390, 0xc3a0, 0xc3b0, 0xc3c0, 0xc3d0, 0xc3e0, 0xffc0
};
static const uint16_t safetensors__cv_e5m2_table[256] = {
    0x0000, 0x3780, 0x3800, 0x3840, 0x3880, 0x38a0, 0x38c0, 0x38e0,
    0x3900, 0x3920, 0x3940, 0x3960, 0x3980, 0x39a0, 0x39c0, 0x39e0,
    0x3a00, 0x3a20, 0x3a40, 0x3a60, 0x3a80, 0x3aa0, 0x3ac0, 0x3ae0,
    0x3b00, 0x3b20, 0x3b40, 0x3b60, 0x3b80, 0x3ba0, 0x3bc0, 0x3be0,
    0x3c00, 0x3c20, 0x3c40, 0x3c60, 0x3c80, 0x3ca0, 0x3cc0, 0x3ce0,
    0x3d00, 0x3d20, 0x3d40, 0x3d60, 0x3d80, 0x3da0, 0x3dc0, 0x3de0,
    0x3e00, 0x3e20, 0x3e40, 0x3e60, 0x3e80, 0x3ea0, 0x3ec0, 0x3ee0,
    0x3f00, 0x3f20, 0x3f40, 0x3f60, 0x3f80, 0x3fa0, 0x3fc0, 0x3fe0,
    0x4000, 0x4020, 0x4040, 0x4060, 0x4080, 0x40a0, 0x40c0, 0x40e0,
    0x4100, 0x4120, 0x4140, 0x4160, 0x4180, 0x41a0, 0x41c0, 0x41e0,
    0x4200, 0x4220, 0x4240, 0x4260, 0x4280, 0x42a0, 0x42c0, 0x42e0,
    0x4300, 0x4320, 0x4340, 0x4360, 0x4380, 0x43a0, 0x43c0, 0x43e0,
    0x4400, 0x4420, 0x4440, 0x4460, 0x4480, 0x44a0, 0x44c0, 0x44e0,
    0x4500, 0x4520, 0x4540, 0x4560, 0x4580, 0x45a0, 0x45c0, 0x45e0,
    0x4600, 0x4620, 0x4640, 0x4660, 0x4680, 0x46a0, 0x46c0, 0x46e0,
    0x4700, 0x4720, 0x4740, 0x4760, 0x7f80, 0x7fe0, 0x7fc0, 0x7fe0,
    0x8000, 0xb780, 0xb800, 0xb840, 0xb880, 0xb8a0, 0xb8c0, 0xb8e0,
    0xb900, 0xb920, 0xb940, 0xb960, 0xb980, 0xb9a0, 0xb9c0, 0xb9e0,
    0xba00, 0xba20, 0xba40, 0xba60, 0xba80, 0xbaa0, 0xbac0, 0xbae0,
    0xbb00, 0xbb20, 0xbb40, 0xbb60, 0xbb80, 0xbba0, 0xbbc0, 0xbbe0,
    0xbc00, 0xbc20, 0xbc40, 0xbc60, 0xbc80, 0xbca0, 0xbcc0, 0xbce0,
    0xbd00, 0xbd20, 0xbd40, 0xbd60, 0xbd80, 0xbda0, 0xbdc0, 0xbde0,
    0xbe00, 0xbe20, 0xbe40, 0xbe60, 0xbe80, 0xbea0, 0xbec0, 0xbee0,
    0xbf00, 0xbf20, 0xbf40, 0xbf60, 0xbf80, 0xbfa0, 0xbfc0, 0xbfe0,
    0xc000, 0xc020, 0xc040, 0xc060, 0xc080, 0xc0a0, 0xc0c0, 0xc0e0,
    0xc100, 0xc120, 0xc140, 0xc160, 0xc180, 0xc1a0, 0xc1c0, 0xc1e0,
    0xc200, 0xc220, 0xc240, 0xc260, 0xc280, 0xc2a0, 0xc2c0, 0xc2e0,
    0xc300, 0xc320, 0xc340, 0xc360, 0xc380, 0xc3a0, 0xc3c0, 0xc3e0,
    0xc400, 0xc420, 0xc440, 0xc460, 0xc480, 0xc4a0, 0xc4c0, 0xc4e0,
    0xc500, 0xc520, 0xc540, 0xc560, 0xc580, 0xc5a0, 0xc5c0, 0xc5e0,
    0xc600, 0xc620, 0xc640, 0xc660, 0xc680, 0xc6a0, 0xc6c0, 0xc6e0,
    0xc700, 0xc720, 0xc740, 0xc760, 0xff80, 0xffe0, 0xffc0, 0xffe0
};
static const uint16_t safetensors__cv_e4m3fnuz_table[256] = {
    0x0000, 0x3a80, 0x3b00, 0x3b40, 0x3b80, 0x3ba0, 0x3bc0, 0x3be0,
    0x3c00, 0x3c10, 0x3c20, 0x3c30, 0x3c40, 0x3c50, 0x3c60, 0x3c70,
    0x3c80, 0x3c90, 0x3ca0, 0x3cb0, 0x3cc0, 0x3cd0, 0x3ce0, 0x3cf0,
    0x3d00, 0x3d10, 0x3d20, 0x3d30, 0x3d40, 0x3d50, 0x3d60, 0x3d70,
    0x3d80, 0x3d90, 0x3da0, 0x3db0, 0x3dc0, 0x3dd0, 0x3de0, 0x3df0,
    0x3e00, 0x3e10, 0x3e20, 0x3e30, 0x3e40, 0x3e50, 0x3e60, 0x3e70,
    0x3e80, 0x3e90, 0x3ea0, 0x3eb0, 0x3ec0, 0x3ed0, 0x3ee0, 0x3ef0,
    0x3f00, 0x3f10, 0x3f20, 0x3f30, 0x3f40, 0x3f50, 0x3f60, 0x3f70,
    0x3f80, 0x3f90, 0x3fa0, 0x3fb0, 0x3fc0, 0x3fd0, 0x3fe0, 0x3ff0,
    0x4000, 0x4010, 0x4020, 0x4030, 0x4040, 0x4050, 0x4060, 0x4070,
    0x4080, 0x4090, 0x40a0, 0x40b0, 0x40c0, 0x40d0, 0x40e0, 0x40f0,
    0x4100, 0x4110, 0x4120, 0x4130, 0x4140, 0x4150, 0x4160, 0x4170,
    0x4180, 0x4190, 0x41a0, 0x41b0, 0x41c0, 0x41d0, 0x41e0, 0x41f0,
    0x4200, 0x4210, 0x4220, 0x4230, 0x4240, 0x4250, 0x4260, 0x4270,
    0x4280, 0x4290, 0x42a0, 0x42b0, 0x42c0, 0x42d0, 0x42e0, 0x42f0,
    0x4300, 0x4310, 0x4320, 0x4330, 0x4340, 0x4350, 0x4360, 0x4370,
    0x7fc0, 0xba80, 0xbb00, 0xbb40, 0xbb80, 0xbba0, 0xbbc0, 0xbbe0,
    0xbc00, 0xbc10, 0xbc20, 0xbc30, 0xbc40, 0xbc50, 0xbc60, 0xbc70,
    0xbc80, 0xbc90, 0xbca0, 0xbcb0, 0xbcc0, 0xbcd0, 0xbce0, 0xbcf0,
    0xbd00, 0xbd10, 0xbd20, 0xbd30, 0xbd40, 0xbd50, 0xbd60, 0xbd70,
    0xbd80, 0xbd90, 0xbda0, 0xbdb0, 0xbdc0, 0xbdd0, 0xbde0, 0xbdf0,
    0xbe00, 0xbe10, 0xbe20, 0xbe30, 0xbe40, 0xbe50, 0xbe60, 0xbe70,
    0xbe80, 0xbe90, 0xbea0, 0xbeb0, 0xbec0, 0xbed0, 0xbee0, 0xbef0,
    0xbf00, 0xbf10, 0xbf20, 0xbf30, 0xbf40, 0xbf50, 0xbf60, 0xbf70,
    0xbf80, 0xbf90, 0xbfa0, 0xbfb0, 0xbfc0, 0xbfd0, 0xbfe0, 0xbff0,
    0xc000, 0xc010, 0xc020, 0xc030, 0xc040, 0xc050, 0xc060, 0xc070,
    0xc080, 0xc090, 0xc0a0, 0xc0b0, 0xc0c0, 0xc0d0, 0xc0e0, 0xc0f0,
    0xc100, 0xc110, 0xc120, 0xc130, 0xc140, 0xc150, 0xc160, 0xc170,
    0xc180, 0xc190, 0xc1a0, 0xc1b0, 0xc1c0, 0xc1d0, 0xc1e0, 0xc1f0,
    0xc200, 0xc210, 0xc220, 0xc230, 0xc240, 0xc250, 0xc260, 0xc270,
    0xc280, 0xc290, 0xc2a0, 0xc2b0, 0xc2c0, 0xc2d0, 0xc2e0, 0xc2f0,
    0xc300, 0xc310, 0xc320, 0xc330, 0xc340, 0xc350, 0xc360, 0xc370
};
static const uint16_t safetensors__cv_e5m2fnuz_table[256] = {
    0x0000, 0x3700, 0x3780, 0x37c0, 0x3800, 0x3820, 0x3840, 0x3860,
    0x3880, 0x38a0, 0x38c0, 0x38e0, 0x3900, 0x3920, 0x3940, 0x3960,
    0x3980, 0x39a0, 0x39c0, 0x39e0, 0x3a00, 0x3a20, 0x3a40, 0x3a60,
    0x3a80, 0x3aa0, 0x3ac0, 0x3ae0, 0x3b00, 0x3b20, 0x3b40, 0x3b60,
    0x3b80, 0x3ba0, 0x3bc0, 0x3be0, 0x3c00, 0x3c20, 0x3c40, 0x3c60,
    0x3c80, 0x3ca0, 0x3cc0, 0x3ce0, 0x3d00, 0x3d20, 0x3d40, 0x3d60,
    0x3d80, 0x3da0, 0x3dc0, 0x3de0, 0x3e00, 0x3e20, 0x3e40, 0x3e60,
    0x3e80, 0x3ea0, 0x3ec0, 0x3ee0, 0x3f00, 0x3f20, 0x3f40, 0x3f60,
    0x3f80, 0x3fa0, 0x3fc0, 0x3fe0, 0x4000, 0x4020, 0x4040, 0x4060,
    0x4080, 0x40a0, 0x40c0, 0x40e0, 0x4100, 0x4120, 0x4140, 0x4160,
    0x4180, 0x41a0, 0x41c0, 0x41e0, 0x4200, 0x4220, 0x4240, 0x4260,
    0x4280, 0x42a0, 0x42c0, 0x42e0, 0x4300, 0x4320, 0x4340, 0x4360,
    0x4380, 0x43a0, 0x43c0, 0x43e0, 0x4400, 0x4420, 0x4440, 0x4460,
    0x4480, 0x44a0, 0x44c0, 0x44e0, 0x4500, 0x4520, 0x4540, 0x4560,
    0x4580, 0x45a0, 0x45c0, 0x45e0, 0x4600, 0x4620, 0x4640, 0x4660,
    0x4680, 0x46a0, 0x46c0, 0x46e0, 0x4700, 0x4720, 0x4740, 0x4760,
    0x7fc0, 0xb700, 0xb780, 0xb7c0, 0xb800, 0xb820, 0xb840, 0xb860,
    0xb880, 0xb8a0, 0xb8c0, 0xb8e0, 0xb900, 0xb920, 0xb940, 0xb960,
    0xb980, 0xb9a0, 0xb9c0, 0xb9e0, 0xba00, 0xba20, 0xba40, 0xba60,
    0xba80, 0xbaa0, 0xbac0, 0xbae0, 0xbb00, 0xbb20, 0xbb40, 0xbb60,
    0xbb80, 0xbba0, 0xbbc0, 0xbbe0, 0xbc00, 0xbc20, 0xbc40, 0xbc60,
    0xbc80, 0xbca0, 0xbcc0, 0xbce0, 0xbd00, 0xbd20, 0xbd40, 0xbd60,
    0xbd80, 0xbda0, 0xbdc0, 0xbde0, 0xbe00, 0xbe20, 0xbe40, 0xbe60,
    0xbe80, 0xbea0, 0xbec0, 0xbee0, 0xbf00, 0xbf20, 0xbf40, 0xbf60,
    0xbf80, 0xbfa0, 0xbfc0, 0xbfe0, 0xc000, 0xc020, 0xc040, 0xc060,
    0xc080, 0xc0a0, 0xc0c0, 0xc0e0, 0xc100, 0xc120, 0xc140, 0xc160,
    0xc180, 0xc1a0, 0xc1c0, 0xc1e0, 0xc200, 0xc220, 0xc240, 0xc260,
    0xc280, 0xc2a0, 0xc2c0, 0xc2e0, 0xc300, 0xc320, 0xc340, 0xc360,
    0xc380, 0xc3a0, 0xc3c0, 0xc3e0, 0xc400, 0xc420, 0xc440, 0xc460,
    0xc480, 0xc4a0, 0xc4c0, 0xc4e0, 0xc500, 0xc520, 0xc540, 0xc560,
    0xc580, 0xc5a0, 0xc5c0, 0xc5e0, 0xc600, 0xc620, 0xc640, 0xc660,
    0xc680, 0xc6a0, 0xc6c0, 0xc6e0, 0xc700, 0xc720, 0xc740, 0xc760
};
static const uint16_t safetensors__cv_e8m0_table[256] = {
    0x0040, 0x0080, 0x0100, 0x0180, 0x0200, 0x0280, 0x0300, 0x0380,
    0x0400, 0x0480, 0x0500, 0x0580, 0x0600, 0x0680, 0x0700, 0x0780,
    0x0800, 0x0880, 0x0900, 0x0980, 0x0a00, 0x0a80, 0x0b00, 0x0b80,
    0x0c00, 0x0c80, 0x0d00, 0x0d80, 0x0e00, 0x0e80, 0x0f00, 0x0f80,
    0x1000, 0x1080, 0x1100, 0x1180, 0x1200, 0x1280, 0x1300, 0x1380,
    0x1400, 0x1480, 0x1500, 0x1580, 0x1600, 0x1680, 0x1700, 0x1780,
    0x1800, 0x1880, 0x1900, 0x1980, 0x1a00, 0x1a80, 0x1b00, 0x1b80,
    0x1c00, 0x1c80, 0x1d00, 0x1d80, 0x1e00, 0x1e80, 0x1f00, 0x1f80,
    0x2000, 0x2080, 0x2100, 0x2180, 0x2200, 0x2280, 0x2300, 0x2380,
    0x2400, 0x2480, 0x2500, 0x2580, 0x2600, 0x2680, 0x2700, 0x2780,
    0x2800, 0x2880, 0x2900, 0x2980, 0x2a00, 0x2a80, 0x2b00, 0x2b80,
    0x2c00, 0x2c80, 0x2d00, 0x2d80, 0x2e00, 0x2e80, 0x2f00, 0x2f80,
    0x3000, 0x3080, 0x3100, 0x3180, 0x3200, 0x3280, 0x3300, 0x3380,
    0x3400, 0x3480, 0x3500, 0x3580, 0x3600, 0x3680, 0x3700, 0x3780,
    0x3800, 0x3880, 0x3900, 0x3980, 0x3a00, 0x3a80, 0x3b00, 0x3b80,
    0x3c00, 0x3c80, 0x3d00, 0x3d80, 0x3e00, 0x3e80, 0x3f00, 0x3f80,
    0x4000, 0x4080, 0x4100, 0x4180, 0x4200, 0x4280, 0x4300, 0x4380,
    0x4400, 0x4480, 0x4500, 0x4580, 0x4600, 0x4680, 0x4700, 0x4780,
    0x4800, 0x4880, 0x4900, 0x4980, 0x4a00, 0x4a80, 0x4b00, 0x4b80,
    0x4c00, 0x4c80, 0x4d00, 0x4d80, 0x4e00, 0x4e80, 0x4f00, 0x4f80,
    0x5000, 0x5080, 0x5100, 0x5180, 0x5200, 0x5280, 0x5300, 0x5380,
    0x5400, 0x5480, 0x5500, 0x5580, 0x5600, 0x5680, 0x5700, 0x5780,
    0x5800, 0x5880, 0x5900, 0x5980, 0x5a00, 0x5a80, 0x5b00, 0x5b80,
    0x5c00, 0x5c80, 0x5d00, 0x5d80, 0x5e00, 0x5e80, 0x5f00, 0x5f80,
    0x6000, 0x6080, 0x6100, 0x6180, 0x6200, 0x6280, 0x6300, 0x6380,
    0x6400, 0x6480, 0x6500, 0x6580, 0x6600, 0x6680, 0x6700, 0x6780,
    0x6800, 0x6880, 0x6900, 0x6980, 0x6a00, 0x6a80, 0x6b00, 0x6b80,
    0x6c00, 0x6c80, 0x6d00, 0x6d80, 0x6e00, 0x6e80, 0x6f00, 0x6f80,
    0x7000, 0x7080, 0x7100, 0x7180, 0x7200, 0x7280, 0x7300, 0x7380,
    0x7400, 0x7480, 0x7500, 0x7580, 0x7600, 0x7680, 0x7700, 0x7780,
    0x7800, 0x7880, 0x7900, 0x7980, 0x7a00, 0x7a80, 0x7b00, 0x7b80,
    0x7c00, 0x7c80, 0x7d00, 0x7d80, 0x7e00, 0x7e80, 0x7f00, 0x7fc0
};
static const uint16_t safetensors__cv_f4_table[16] = {
    0x0000, 0x3f00, 0x3f80, 0x3fc0, 0x4000, 0x4040, 0x4080, 0x40c0,
    0x8000, 0xbf00, 0xbf80, 0xbfc0, 0xc000, 0xc040, 0xc080, 0xc0c0
};
static const uint16_t safetensors__cv_f6e2m3_table[64] = {
    0x0000, 0x3e00, 0x3e80, 0x3ec0, 0x3f00, 0x3f20, 0x3f40, 0x3f60,
    0x3f80, 0x3f90, 0x3fa0, 0x3fb0, 0x3fc0, 0x3fd0, 0x3fe0, 0x3ff0,
    0x4000, 0x4010, 0x4020, 0x4030, 0x4040, 0x4050, 0x4060, 0x4070,
    0x4080, 0x4090, 0x40a0, 0x40b0, 0x40c0, 0x40d0, 0x40e0, 0x40f0,
    0x8000, 0xbe00, 0xbe80, 0xbec0, 0xbf00, 0xbf20, 0xbf40, 0xbf60,
    0xbf80, 0xbf90, 0xbfa0, 0xbfb0, 0xbfc0, 0xbfd0, 0xbfe0, 0xbff0,
    0xc000, 0xc010, 0xc020, 0xc030, 0xc040, 0xc050, 0xc060, 0xc070,
    0xc080, 0xc090, 0xc0a0, 0xc0b0, 0xc0c0, 0xc0d0, 0xc0e0, 0xc0f0
};
static const uint16_t safetensors__cv_f6e3m2_table[64] = {
    0x0000, 0x3d80, 0x3e00, 0x3e40, 0x3e80, 0x3ea0, 0x3ec0, 0x3ee0,
    0x3f00, 0x3f20, 0x3f40, 0x3f60, 0x3f80, 0x3fa0, 0x3fc0, 0x3fe0,
    0x4000, 0x4020, 0x4040, 0x4060, 0x4080, 0x40a0, 0x40c0, 0x40e0,
    0x4100, 0x4120, 0x4140, 0x4160, 0x4180, 0x41a0, 0x41c0, 0x41e0,
    0x8000, 0xbd80, 0xbe00, 0xbe40, 0xbe80, 0xbea0, 0xbec0, 0xbee0,
    0xbf00, 0xbf20, 0xbf40, 0xbf60, 0xbf80, 0xbfa0, 0xbfc0, 0xbfe0,
    0xc000, 0xc020, 0xc040, 0xc060, 0xc080, 0xc0a0, 0xc0c0, 0xc0e0,
    0xc100, 0xc120, 0xc140, 0xc160, 0xc180, 0xc1a0, 0xc1c0, 0xc1e0
};

/* ---- Bytes, bits and masks ------------------------------------------------ */

static SAFETENSORS__INLINE uint32_t safetensors__cv_load_u16le(const unsigned char *p)
{
#if SAFETENSORS__CV_LE
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
#endif
}

static SAFETENSORS__INLINE uint32_t safetensors__cv_load_u32le(const unsigned char *p)
{
#if SAFETENSORS__CV_LE
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static SAFETENSORS__INLINE uint64_t safetensors__cv_load_u64le(const unsigned char *p)
{
#if SAFETENSORS__CV_LE
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint64_t)safetensors__cv_load_u32le(p) | (uint64_t)safetensors__cv_load_u32le(p + 4) << 32;
#endif
}

static SAFETENSORS__INLINE void safetensors__cv_store_u16le(unsigned char *p, uint32_t v)
{
#if SAFETENSORS__CV_LE
    uint16_t h = (uint16_t)v;
    memcpy(p, &h, sizeof h);
#else
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
#endif
}

static SAFETENSORS__INLINE void safetensors__cv_store_u32le(unsigned char *p, uint32_t v)
{
#if SAFETENSORS__CV_LE
    memcpy(p, &v, sizeof v);
#else
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)(v >> 24);
#endif
}

static SAFETENSORS__INLINE void safetensors__cv_store_u64le(unsigned char *p, uint64_t v)
{
    safetensors__cv_store_u32le(p, (uint32_t)(v & 0xffffffffu));
    safetensors__cv_store_u32le(p + 4, (uint32_t)(v >> 32));
}

/* Floats cross to and from their bits through memcpy: a pointer cast would
   break strict aliasing, and dst may sit at any float-aligned address. */
static SAFETENSORS__INLINE void safetensors__cv_store_f32(float *dst, uint32_t bits)
{
    memcpy(dst, &bits, sizeof bits);
}

static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_bits(const float *src)
{
    uint32_t bits;
    memcpy(&bits, src, sizeof bits);
    return bits;
}

/* All ones when `cond` is 1, zero when 0. Selecting with masks keeps the
   loops free of branches, which is what lets them vectorise. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_mask(uint32_t cond)
{
    return 0u - cond;
}

static SAFETENSORS__INLINE uint32_t safetensors__cv_select(uint32_t cond, uint32_t if_true, uint32_t if_false)
{
    uint32_t m = safetensors__cv_mask(cond);
    return (if_true & m) | (if_false & ~m);
}

/* The smaller of a and b, both below 2^31: compared as signed, since SSE2
   compares only signed integers and an unsigned compare costs two more
   operations a vector. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_min(uint32_t a, uint32_t b)
{
    return (int32_t)a < (int32_t)b ? a : b;
}

/* Whether the float32 magnitude `a` (bits, sign cleared) is a NaN; signed
   for the same reason. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_is_nan(uint32_t a)
{
    return (uint32_t)((int32_t)a > 0x7f800000);
}

/* Asks for the source lines 1 KiB past the n bytes at p (n at least 1).
   Without it a narrowing loop runs at half its speed or less on arrays far
   larger than the caches where the hardware prefetcher is weak (measured
   on a virtual machine). The address is computed as an integer: near the
   end it points past the array, which a prefetch may do but pointer
   arithmetic may not. */
static SAFETENSORS__INLINE void safetensors__cv_prefetch(const void *p, size_t n)
{
    size_t k;
    (void)p; /* where there is no prefetch */
    for (k = 0; k < n; k += 64) SAFETENSORS__PREFETCH_READ((const void *)((uintptr_t)p + k + 1024u));
}

#ifdef SAFETENSORS__CV_NEON
/* Whether NEON's F16 <-> F32 conversions give exactly this file's answers
   now. They follow the FPCR: RMode (bits 22-23) must be nearest-even, AHP
   (26, the alternative half-precision format without Inf or NaN) and DN
   (25, NaNs replaced by the default NaN) off. FZ (24) may be on: it
   flushes only float32 subnormal inputs, which round to a signed zero in
   F16 anyway, and FZ16 does not apply to conversions. Read once a call:
   an MRS costs a few cycles. */
static int safetensors__cv_neon_exact(void)
{
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr & UINT64_C(0x06c00000)) == 0;
}

/* Eight F16 codes at p, little-endian, as a vector (byte loads: p may be
   odd). */
static SAFETENSORS__INLINE float16x8_t safetensors__cv_neon_load_f16(const unsigned char *p)
{
    return vreinterpretq_f16_u8(vld1q_u8(p));
}

/* Eight floats to F16 codes at p, nearest even (given neon_exact). */
static SAFETENSORS__INLINE void safetensors__cv_neon_store_f16(unsigned char *p, float32x4_t lo, float32x4_t hi)
{
    vst1q_u8(p, vreinterpretq_u8_f16(vcvt_high_f16_f32(vcvt_f16_f32(lo), hi)));
}
#endif

/* ---- Widening: one element ------------------------------------------------ */

static SAFETENSORS__INLINE uint32_t safetensors__cv_f16_to_f32_bits(uint32_t h)
{
    uint32_t magnitude = h & 0x7fffu;
    uint32_t sign = (h & 0x8000u) << 16;
    /* Rebias the exponent from 15 to 127; Inf and NaN need it moved from 31
       to 255, a second rebias of the same size, and keep their payload. */
    uint32_t normal = (magnitude << 13) + 0x38000000u;
    uint32_t special = normal + (0x38000000u & safetensors__cv_mask((uint32_t)(magnitude >= 0x7c00u)));
    /* A subnormal half is its 10-bit integer times 2^-24: both factors and
       the product are exact normal floats, so no FP mode changes it. */
    float tiny = (float)(int32_t)magnitude * 5.9604644775390625e-8f;
    uint32_t tiny_bits = safetensors__cv_f32_bits(&tiny);
    return safetensors__cv_select((uint32_t)(magnitude < 0x400u), tiny_bits, special) | sign;
}

/* F64 to F32, nearest even, in integers so that no FP mode (FTZ, DAZ, the
   rounding direction) can change the answer: every double but those
   rounding to a float32 subnormal, in 32-bit halves and without branches
   so that the array loop vectorises (SSE2 has no 64-bit compare). `hi` and
   `lo` are the double's two halves. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f64_to_f32_bits(uint32_t hi, uint32_t lo)
{
    uint32_t sign = hi & 0x80000000u;
    uint32_t a = hi & 0x7fffffffu;
    /* The top 32 bits of the magnitude below the sign, as float32's layout
       would hold them (exponent still biased by 1023, wrapped). */
    uint32_t top = a << 3 | lo >> 29;
    uint32_t rest = lo & 0x1fffffffu;
    /* Normal float32 range: rebias and round off 29 bits. A carry out of
       the mantissa bumps the exponent, and out of 2^127 x 1.11..1 it lands
       exactly on Inf. */
    uint32_t q = top - ((1023u - 127u) << 23);
    uint32_t normal = q + (uint32_t)(rest + (q & 1u) > 0x10000000u);
    uint32_t nan = (uint32_t)(a > 0x7ff00000u) | ((uint32_t)(a == 0x7ff00000u) & (uint32_t)(lo != 0));
    /* NaN: quiet it, keep the top of the payload; 2^128 and up, Inf
       included, is Inf; below 2^-150 (2^-150 itself a tie going to the
       even 0) is 0. */
    uint32_t r = safetensors__cv_select(nan, 0x7fc00000u | (top & 0x3fffffu),
                                        safetensors__cv_select((uint32_t)(a >= (1023u + 128u) << 20), 0x7f800000u,
                                                               normal));
    return sign | safetensors__cv_select((uint32_t)(a < (1023u - 150u) << 20), 0u, r);
}

/* Whether the double whose high half is `hi` rounds into float32's
   subnormal range, which the function above leaves to the one below. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f64_is_tiny(uint32_t hi)
{
    return (uint32_t)((hi & 0x7fffffffu) - ((1023u - 150u) << 20) < (150u - 126u) << 20);
}

/* F64 in [2^-150, 2^-126) to the float32 subnormal nearest, ties to even,
   counted in units of 2^-149. */
static uint32_t safetensors__cv_f64_tiny_to_f32_bits(uint64_t d)
{
    uint32_t sign = (uint32_t)(d >> 32) & 0x80000000u;
    uint32_t biased = (uint32_t)(d >> 52) & 0x7ffu;
    uint64_t significand = (d & UINT64_C(0x000fffffffffffff)) | UINT64_C(1) << 52;
    unsigned shift = 926u - biased; /* 30..53 */
    uint64_t half = UINT64_C(1) << (shift - 1u);
    uint64_t rest = significand & ((half << 1) - 1u);
    uint64_t q = significand >> shift;
    q += (uint64_t)(rest + (q & 1u) > half);
    return sign | (uint32_t)q;
}

/* ---- Widening: arrays ---------------------------------------------------- */

static void safetensors__cv_bf16_to_f32(const unsigned char *SAFETENSORS__CV_RESTRICT src, size_t count,
                                        float *SAFETENSORS__CV_RESTRICT dst)
{
    size_t i = 0, j;
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK)
        for (j = 0; j < SAFETENSORS__CV_BLOCK; j++)
            safetensors__cv_store_f32(dst + i + j, safetensors__cv_load_u16le(src + 2 * (i + j)) << 16);
    for (; i < count; i++)
        safetensors__cv_store_f32(dst + i, safetensors__cv_load_u16le(src + 2 * i) << 16);
}

static void safetensors__cv_f16_to_f32(const unsigned char *SAFETENSORS__CV_RESTRICT src, size_t count,
                                       float *SAFETENSORS__CV_RESTRICT dst)
{
    size_t i = 0, j;
#ifdef SAFETENSORS__CV_F16C
    /* F16C converts exactly and ignores MXCSR, so it matches the C below. */
    for (; count - i >= 8; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i))));
#endif
#ifdef SAFETENSORS__CV_NEON
    if (safetensors__cv_neon_exact())
        for (; count - i >= 8; i += 8) {
            float16x8_t h = safetensors__cv_neon_load_f16(src + 2 * i);
            vst1q_f32(dst + i, vcvt_f32_f16(vget_low_f16(h)));
            vst1q_f32(dst + i + 4, vcvt_high_f32_f16(h));
        }
#endif
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK)
        for (j = 0; j < SAFETENSORS__CV_BLOCK; j++)
            safetensors__cv_store_f32(dst + i + j,
                                      safetensors__cv_f16_to_f32_bits(safetensors__cv_load_u16le(src + 2 * (i + j))));
    for (; i < count; i++)
        safetensors__cv_store_f32(dst + i, safetensors__cv_f16_to_f32_bits(safetensors__cv_load_u16le(src + 2 * i)));
}

#ifdef SAFETENSORS__CV_AVX2
/* The F8 formats decoded eight at a time with the same arithmetic as the
   tables: a table lookup per byte is the portable path's limit, and AVX2
   gathers are slower than computing. `mant` and `bias` describe the format;
   `fnuz` says 0x80 is the only NaN; `ieee` (E5M2) that exponent 31 holds
   Inf and NaN; neither (E4M3) that S.1111.111 is the only NaN. */
static SAFETENSORS__INLINE __m256i safetensors__cv_avx2_f8(__m256i code, int mant, int bias, int fnuz, int ieee)
{
    const __m256i low7 = _mm256_set1_epi32(0x7f);
    __m256i magnitude = _mm256_and_si256(code, low7);
    __m256i sign = _mm256_slli_epi32(_mm256_andnot_si256(low7, code), 24);
    __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(magnitude, 23 - mant), _mm256_set1_epi32((127 - bias) << 23));
    /* Subnormal codes are integers times 2^(1 - bias - mant): exact. */
    __m256 scale = _mm256_castsi256_ps(_mm256_set1_epi32((127 + 1 - bias - mant) << 23));
    __m256 tiny = _mm256_mul_ps(_mm256_cvtepi32_ps(magnitude), scale);
    __m256i is_tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(1 << mant), magnitude);
    __m256i r = _mm256_blendv_epi8(normal, _mm256_castps_si256(tiny), is_tiny);
    const __m256i nan = _mm256_set1_epi32(0x7fc00000);
    if (fnuz)
        return _mm256_blendv_epi8(_mm256_or_si256(r, sign), nan, _mm256_cmpeq_epi32(code, _mm256_set1_epi32(0x80)));
    if (ieee) /* exponent 31 -> 255 is a second rebias by 112; the payload stays */
        r = _mm256_blendv_epi8(r, _mm256_add_epi32(r, _mm256_set1_epi32(112 << 23)),
                               _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7b)));
    else
        r = _mm256_blendv_epi8(r, nan, _mm256_cmpeq_epi32(magnitude, low7));
    return _mm256_or_si256(r, sign);
}
#endif

static void safetensors__cv_byte_table_to_f32(safetensors_dtype dtype,
                                              const unsigned char *SAFETENSORS__CV_RESTRICT src, size_t count,
                                              float *SAFETENSORS__CV_RESTRICT dst)
{
    const uint16_t *table;
    size_t i = 0;
    switch (dtype) {
    case SAFETENSORS_F8_E4M3: table = safetensors__cv_e4m3_table; break;
    case SAFETENSORS_F8_E5M2: table = safetensors__cv_e5m2_table; break;
    case SAFETENSORS_F8_E4M3FNUZ: table = safetensors__cv_e4m3fnuz_table; break;
    case SAFETENSORS_F8_E5M2FNUZ: table = safetensors__cv_e5m2fnuz_table; break;
    default: table = safetensors__cv_e8m0_table; break;
    }
#ifdef SAFETENSORS__CV_AVX2
    if (dtype == SAFETENSORS_F8_E8M0) {
        /* c << 23, except code 0 (2^-127, a float32 subnormal) and 0xff (NaN) */
        const __m256i zero = _mm256_setzero_si256(), all = _mm256_set1_epi32(0xff);
        for (; count - i >= 8; i += 8) {
            __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(src + i)));
            __m256i r = _mm256_slli_epi32(c, 23);
            r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x00400000), _mm256_cmpeq_epi32(c, zero));
            r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7fc00000), _mm256_cmpeq_epi32(c, all));
            _mm256_storeu_si256((__m256i *)(void *)(dst + i), r);
        }
    } else {
        int mant = (dtype == SAFETENSORS_F8_E4M3 || dtype == SAFETENSORS_F8_E4M3FNUZ) ? 3 : 2;
        int bias = dtype == SAFETENSORS_F8_E4M3 ? 7 : dtype == SAFETENSORS_F8_E5M2 ? 15
                 : dtype == SAFETENSORS_F8_E4M3FNUZ ? 8 : 16;
        int fnuz = dtype == SAFETENSORS_F8_E4M3FNUZ || dtype == SAFETENSORS_F8_E5M2FNUZ;
        int ieee = dtype == SAFETENSORS_F8_E5M2;
        for (; count - i >= 16; i += 16) {
            __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
            __m256i lo = _mm256_cvtepu8_epi32(bytes), hi = _mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8));
            lo = safetensors__cv_avx2_f8(lo, mant, bias, fnuz, ieee);
            hi = safetensors__cv_avx2_f8(hi, mant, bias, fnuz, ieee);
            _mm256_storeu_si256((__m256i *)(void *)(dst + i), lo);
            _mm256_storeu_si256((__m256i *)(void *)(dst + i + 8), hi);
        }
    }
#endif
    for (; i < count; i++) safetensors__cv_store_f32(dst + i, (uint32_t)table[src[i]] << 16);
}

/* F4: two codes a byte, element 0 in the low nibble. `first` is the index
   of the first element wanted, counted from src's first byte. */
static void safetensors__cv_f4_to_f32(const unsigned char *src, uint64_t first, size_t count, float *dst)
{
    const uint16_t *table = safetensors__cv_f4_table;
    size_t i = 0;
    src += (size_t)(first >> 1);
    if ((first & 1u) && count > 0) {
        safetensors__cv_store_f32(dst, (uint32_t)table[*src++ >> 4] << 16);
        i = 1;
    }
    for (; count - i >= 2; i += 2, src++) {
        safetensors__cv_store_f32(dst + i, (uint32_t)table[*src & 15u] << 16);
        safetensors__cv_store_f32(dst + i + 1, (uint32_t)table[*src >> 4] << 16);
    }
    if (i < count) safetensors__cv_store_f32(dst + i, (uint32_t)table[*src & 15u] << 16);
}

/* F6: a little-endian bit stream, element e in bits 6e..6e+5, so four
   elements fill three bytes. Element e is read from the one or two bytes
   that hold it and never from a byte past them. */
static uint32_t safetensors__cv_f6_code(const unsigned char *src, uint64_t e)
{
    uint64_t bit = e * 6u;
    const unsigned char *p = src + (size_t)(bit >> 3);
    unsigned shift = (unsigned)(bit & 7u);
    uint32_t v = (uint32_t)p[0] >> shift;
    if (shift > 2u) v |= (uint32_t)p[1] << (8u - shift);
    return v & 63u;
}

static void safetensors__cv_f6_to_f32(const uint16_t *table, const unsigned char *src, uint64_t first, size_t count,
                                      float *dst)
{
    size_t i = 0;
    const unsigned char *p;
    for (; i < count && ((first + i) & 3u) != 0; i++)
        safetensors__cv_store_f32(dst + i, (uint32_t)table[safetensors__cv_f6_code(src, first + i)] << 16);
    p = src + (size_t)((first + i) / 4u * 3u);
    for (; count - i >= 4; i += 4, p += 3) {
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
        safetensors__cv_store_f32(dst + i, (uint32_t)table[v & 63u] << 16);
        safetensors__cv_store_f32(dst + i + 1, (uint32_t)table[(v >> 6) & 63u] << 16);
        safetensors__cv_store_f32(dst + i + 2, (uint32_t)table[(v >> 12) & 63u] << 16);
        safetensors__cv_store_f32(dst + i + 3, (uint32_t)table[v >> 18] << 16);
    }
    for (; i < count; i++)
        safetensors__cv_store_f32(dst + i, (uint32_t)table[safetensors__cv_f6_code(src, first + i)] << 16);
}

static void safetensors__cv_f32_to_f32(const unsigned char *src, size_t count, float *dst)
{
    size_t i;
    if (SAFETENSORS__CV_LE) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    for (i = 0; i < count; i++) safetensors__cv_store_f32(dst + i, safetensors__cv_load_u32le(src + 4 * i));
}

/* n doubles (n at most a block): all at once by the branch-free function,
   which vectorises when n is a constant, then again by the exact one those
   rounding to a float32 subnormal, if there are any: they are rare. */
static SAFETENSORS__INLINE void safetensors__cv_f64_block_to_f32(const unsigned char *SAFETENSORS__CV_RESTRICT src,
                                                                 size_t n, float *SAFETENSORS__CV_RESTRICT dst)
{
    uint32_t tiny = 0;
    size_t j;
    for (j = 0; j < n; j++) {
        uint32_t lo = safetensors__cv_load_u32le(src + 8 * j), hi = safetensors__cv_load_u32le(src + 8 * j + 4);
        safetensors__cv_store_f32(dst + j, safetensors__cv_f64_to_f32_bits(hi, lo));
        tiny |= safetensors__cv_f64_is_tiny(hi);
    }
    if (tiny)
        for (j = 0; j < n; j++) {
            uint64_t d = safetensors__cv_load_u64le(src + 8 * j);
            if (safetensors__cv_f64_is_tiny((uint32_t)(d >> 32)))
                safetensors__cv_store_f32(dst + j, safetensors__cv_f64_tiny_to_f32_bits(d));
        }
}

static void safetensors__cv_f64_to_f32(const unsigned char *SAFETENSORS__CV_RESTRICT src, size_t count,
                                       float *SAFETENSORS__CV_RESTRICT dst)
{
    size_t i = 0;
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) {
        safetensors__cv_prefetch(src + 8 * i, 8 * SAFETENSORS__CV_BLOCK);
        safetensors__cv_f64_block_to_f32(src + 8 * i, SAFETENSORS__CV_BLOCK, dst + i);
    }
    safetensors__cv_f64_block_to_f32(src + 8 * i, count - i, dst + i);
}

/* Elements [first, first + count) of the tensor whose bytes start at src.
   The dtype is one that safetensors__cv_supported accepts. */
static void safetensors__cv_widen(safetensors_dtype dtype, const unsigned char *src, uint64_t first, size_t count,
                                  float *dst)
{
    switch (dtype) {
    case SAFETENSORS_F4: safetensors__cv_f4_to_f32(src, first, count, dst); return;
    case SAFETENSORS_F6_E2M3: safetensors__cv_f6_to_f32(safetensors__cv_f6e2m3_table, src, first, count, dst); return;
    case SAFETENSORS_F6_E3M2: safetensors__cv_f6_to_f32(safetensors__cv_f6e3m2_table, src, first, count, dst); return;
    case SAFETENSORS_F16: safetensors__cv_f16_to_f32(src + (size_t)first * 2u, count, dst); return;
    case SAFETENSORS_BF16: safetensors__cv_bf16_to_f32(src + (size_t)first * 2u, count, dst); return;
    case SAFETENSORS_F32: safetensors__cv_f32_to_f32(src + (size_t)first * 4u, count, dst); return;
    case SAFETENSORS_F64: safetensors__cv_f64_to_f32(src + (size_t)first * 8u, count, dst); return;
    default: safetensors__cv_byte_table_to_f32(dtype, src + (size_t)first, count, dst); return;
    }
}

/* ---- Narrowing: one element ---------------------------------------------- */

/* The float whose bits are `bits`. */
static SAFETENSORS__INLINE float safetensors__cv_f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* The magnitude code, in a float format with `mant` mantissa bits and
   exponent bias `bias` (bias < 127), nearest to the non-negative float32
   `a` (bits), ties to even. The format is taken as unbounded above: a code
   past the largest finite one means overflow, and the caller decides what
   that becomes. A NaN `a` gives such a code too.

   Both cases are computed and one selected, with no branch and no shift by
   a per-element amount: SSE2 (x86-64's baseline) has no such shift, and a
   loop needing one stays scalar, at about a third of the speed. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_round_magnitude(uint32_t a, uint32_t mant, uint32_t bias)
{
    uint32_t drop = 23u - mant;
    uint32_t is_normal = safetensors__cv_mask((uint32_t)(a >> 23 >= 128u - bias));
    /* Normal: rebias and round off the low mantissa bits, in one sum (the
       rebias, a multiple of 2^23, leaves the kept bits' parity alone). A
       carry out of the mantissa lands in the exponent, which is the right
       answer. */
    uint32_t normal = (a + ((1u << (drop - 1u)) - 1u) - ((127u - bias) << 23) + ((a >> drop) & 1u)) >> drop;
    /* Subnormal: a counted in units of the smallest subnormal,
       2^(1 - bias - mant), rounded; rounding up into 1 << mant gives the
       smallest normal code, again the right answer. x is twice that count:
       a times a power of two, exact (a normal float scaled, staying
       normal). Its integer part t (a truncation, exact too) holds the count
       in its high bits and the half bit in bit 0, and x != t says there is
       more below. No float operation here rounds, so neither the rounding
       mode nor flush-to-zero can change the result; a float32 subnormal
       `a`, which denormals-are-zero reads as 0, gives 0 either way. The
       normal range is masked to 0 first, so that x stays below 2^(mant+1)
       and its conversion to int is defined whatever `a` is. */
    float x = safetensors__cv_f32_from_bits(a & ~is_normal) * safetensors__cv_f32_from_bits((127u + bias + mant) << 23);
    uint32_t twice = (uint32_t)(int32_t)x;
    float t = (float)(int32_t)twice;
    /* x != t on the bits: a float compare mixed with the integers stops
       GCC vectorising. Both are non-negative, and t is +0 when x is. */
    uint32_t below = (uint32_t)(safetensors__cv_f32_bits(&x) != safetensors__cv_f32_bits(&t));
    uint32_t tiny = (twice >> 1) + (twice & ((twice >> 1) | below) & 1u);
    return (normal & is_normal) | (tiny & ~is_normal);
}

static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_bf16_bits(uint32_t x)
{
    uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    uint32_t quiet = (x >> 16) | 0x40u;
    return safetensors__cv_select(safetensors__cv_is_nan(x & 0x7fffffffu), quiet, rounded);
}

static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_f16_bits(uint32_t x)
{
    uint32_t a = x & 0x7fffffffu;
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t code = safetensors__cv_min(safetensors__cv_round_magnitude(a, 10u, 15u), 0x7c00u);
    uint32_t quiet = 0x7e00u | ((a >> 13) & 0x3ffu);
    return sign | safetensors__cv_select(safetensors__cv_is_nan(a), quiet, code);
}

/* E5M2: overflow becomes Inf, as in F16. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_e5m2_bits(uint32_t x)
{
    uint32_t a = x & 0x7fffffffu;
    uint32_t sign = (x >> 24) & 0x80u;
    uint32_t code = safetensors__cv_min(safetensors__cv_round_magnitude(a, 2u, 15u), 0x7cu);
    return sign | safetensors__cv_select(safetensors__cv_is_nan(a), 0x7eu, code);
}

/* E4M3: no Inf; overflow, Inf and NaN all become the NaN S.1111.111. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_e4m3_bits(uint32_t x)
{
    uint32_t sign = (x >> 24) & 0x80u;
    return sign | safetensors__cv_min(safetensors__cv_round_magnitude(x & 0x7fffffffu, 3u, 7u), 0x7fu);
}

/* FNUZ: overflow, Inf and NaN become 0x80, the only NaN; zero has no sign. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_fnuz_bits(uint32_t x, uint32_t mant, uint32_t bias)
{
    uint32_t code = safetensors__cv_min(safetensors__cv_round_magnitude(x & 0x7fffffffu, mant, bias), 0x80u);
    uint32_t sign = (x >> 24) & 0x80u & safetensors__cv_mask((uint32_t)(code != 0));
    return sign | code;
}

/* F4 and F6: no Inf or NaN, so overflow and Inf saturate to the largest
   magnitude. NaN becomes a zero whose sign is the NaN's sign flipped: that
   is what ml_dtypes 0.6 produces, and matching it keeps files written here
   identical to files written from Python. `sign_at` is the sign bit's index. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_mx_bits(uint32_t x, uint32_t mant, uint32_t bias,
                                                                   uint32_t sign_at)
{
    uint32_t a = x & 0x7fffffffu;
    uint32_t largest = (1u << sign_at) - 1u;
    uint32_t code = safetensors__cv_min(safetensors__cv_round_magnitude(a, mant, bias), largest);
    uint32_t sign = x >> 31;
    return safetensors__cv_select(safetensors__cv_is_nan(a), (sign ^ 1u) << sign_at, (sign << sign_at) | code);
}

/* E8M0, following ml_dtypes 0.6: a power of two 2^(c - 127), c = 0..254.
   Zero, negatives, Inf and NaN have no code and become 0xff, the NaN. A
   value rounds up when its mantissa is 1.5 or more (the midpoint between
   two powers of two; ties go up), and past 2^127 it rounds into 0xff.
   Float32 subnormals get the same rule on their raw bits: 2^-127 and above
   give 2^-126, the rest 2^-127. */
static SAFETENSORS__INLINE uint32_t safetensors__cv_f32_to_e8m0_bits(uint32_t x)
{
    /* Past 0xff only for x >= 0x7f800000, which the select replaces. */
    uint32_t code = (x >> 23) + ((x >> 22) & 1u);
    return safetensors__cv_select((uint32_t)(x == 0) | (uint32_t)(x >= 0x7f800000u), 0xffu, code);
}

/* ---- Narrowing: four elements at once, with SSE2 ------------------------ */

#if defined(SAFETENSORS__SSE2) && SAFETENSORS__CV_LE
/* The element functions above, four lanes at a time, step for step, so that
   they give the same bits (the tests run both ways). Compilers do vectorise
   the C loops at -O2, but the selects and the float steps in the middle of
   integer work come out as shuffle chains. Against those, these loops are
   1.4 to 1.6 times faster on arrays in the cache (4 MiB), where engines
   that convert tensor by tensor in chunks work, and 1.1 to 1.3 times on
   64 MiB arrays, where both wait on memory (bench/bench_convert against a
   SAFETENSORS_NO_SIMD build). Shift amounts are the same for every lane,
   which SSE2 can do. */
#define SAFETENSORS__CV_V 1

static SAFETENSORS__INLINE __m128i safetensors__cv_v_set(uint32_t v)
{
    return _mm_set1_epi32((int)v);
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_load(const float *src)
{
    return _mm_castps_si128(_mm_loadu_ps(src));
}

/* The lanes of if_true where mask is all ones, of if_false where zero. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_select(__m128i mask, __m128i if_true, __m128i if_false)
{
    return _mm_or_si128(_mm_and_si128(mask, if_true), _mm_andnot_si128(mask, if_false));
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_min(__m128i a, __m128i b)
{
    return safetensors__cv_v_select(_mm_cmpgt_epi32(a, b), b, a);
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_is_nan(__m128i a)
{
    return _mm_cmpgt_epi32(a, safetensors__cv_v_set(0x7f800000u));
}

/* Whether MXCSR rounds to nearest, which the subnormal step below needs.
   Flush-to-zero and denormals-are-zero change nothing there: the sum it
   rounds is a normal number, and a float32 subnormal rounds to code 0
   whether or not it is read as 0. Engines built with -ffast-math set
   those two; a program that changes the rounding direction gets the C
   loops, which no mode changes. */
static SAFETENSORS__INLINE int safetensors__cv_v_nearest(void)
{
    return (_mm_getcsr() & 0x6000u) == 0;
}

/* safetensors__cv_round_magnitude, the normal case the same way. For the
   subnormal case the FPU does the rounding: adding 2^(24 - bias - mant),
   whose last mantissa bit is worth the smallest subnormal, rounds `a` to a
   whole number of those (ties to even) in the sum's low bits. The sum stays
   below twice the constant, so one subtraction of its bits leaves the
   code, 1 << mant when it rounds up into the normal range. That is two
   operations where the C function spends a dozen. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_round_magnitude(__m128i a, uint32_t mant, uint32_t bias)
{
    uint32_t drop = 23u - mant, magic = (151u - bias - mant) << 23;
    __m128i shift = _mm_cvtsi32_si128((int)drop);
    __m128i is_normal = _mm_cmpgt_epi32(_mm_srli_epi32(a, 23), safetensors__cv_v_set(127u - bias));
    __m128i odd = _mm_and_si128(_mm_srl_epi32(a, shift), safetensors__cv_v_set(1u));
    __m128i normal = _mm_srl_epi32(
        _mm_add_epi32(_mm_add_epi32(a, safetensors__cv_v_set((1u << (drop - 1u)) - 1u - ((127u - bias) << 23))), odd),
        shift);
    __m128 sum = _mm_add_ps(_mm_castsi128_ps(_mm_andnot_si128(is_normal, a)),
                            _mm_castsi128_ps(safetensors__cv_v_set(magic)));
    __m128i tiny = _mm_sub_epi32(_mm_castps_si128(sum), safetensors__cv_v_set(magic));
    return safetensors__cv_v_select(is_normal, normal, tiny);
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_bf16(__m128i x)
{
    __m128i odd = _mm_and_si128(_mm_srli_epi32(x, 16), safetensors__cv_v_set(1u));
    __m128i rounded = _mm_srli_epi32(_mm_add_epi32(_mm_add_epi32(x, safetensors__cv_v_set(0x7fffu)), odd), 16);
    __m128i quiet = _mm_or_si128(_mm_srli_epi32(x, 16), safetensors__cv_v_set(0x40u));
    return safetensors__cv_v_select(safetensors__cv_v_is_nan(_mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu))),
                                    quiet, rounded);
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_f16(__m128i x)
{
    __m128i a = _mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu));
    __m128i sign = _mm_and_si128(_mm_srli_epi32(x, 16), safetensors__cv_v_set(0x8000u));
    __m128i code = safetensors__cv_v_min(safetensors__cv_v_round_magnitude(a, 10u, 15u), safetensors__cv_v_set(0x7c00u));
    __m128i quiet = _mm_or_si128(safetensors__cv_v_set(0x7e00u), _mm_and_si128(_mm_srli_epi32(a, 13), safetensors__cv_v_set(0x3ffu)));
    return _mm_or_si128(sign, safetensors__cv_v_select(safetensors__cv_v_is_nan(a), quiet, code));
}

/* The sign of x moved to bit 7, where the F8 formats keep it. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_sign8(__m128i x)
{
    return _mm_and_si128(_mm_srli_epi32(x, 24), safetensors__cv_v_set(0x80u));
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_e5m2(__m128i x)
{
    __m128i a = _mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu));
    __m128i code = safetensors__cv_v_min(safetensors__cv_v_round_magnitude(a, 2u, 15u), safetensors__cv_v_set(0x7cu));
    return _mm_or_si128(safetensors__cv_v_sign8(x),
                        safetensors__cv_v_select(safetensors__cv_v_is_nan(a), safetensors__cv_v_set(0x7eu), code));
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_e4m3(__m128i x)
{
    __m128i a = _mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu));
    return _mm_or_si128(safetensors__cv_v_sign8(x),
                        safetensors__cv_v_min(safetensors__cv_v_round_magnitude(a, 3u, 7u), safetensors__cv_v_set(0x7fu)));
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_fnuz(__m128i x, uint32_t mant, uint32_t bias)
{
    __m128i a = _mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu));
    __m128i code = safetensors__cv_v_min(safetensors__cv_v_round_magnitude(a, mant, bias), safetensors__cv_v_set(0x80u));
    return _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi32(code, _mm_setzero_si128()), safetensors__cv_v_sign8(x)), code);
}

static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_mx(__m128i x, uint32_t mant, uint32_t bias, uint32_t sign_at)
{
    __m128i a = _mm_and_si128(x, safetensors__cv_v_set(0x7fffffffu));
    __m128i at = _mm_cvtsi32_si128((int)sign_at);
    __m128i code = safetensors__cv_v_min(safetensors__cv_v_round_magnitude(a, mant, bias),
                                         safetensors__cv_v_set((1u << sign_at) - 1u));
    __m128i sign = _mm_srli_epi32(x, 31);
    return safetensors__cv_v_select(safetensors__cv_v_is_nan(a),
                                    _mm_sll_epi32(_mm_xor_si128(sign, safetensors__cv_v_set(1u)), at),
                                    _mm_or_si128(_mm_sll_epi32(sign, at), code));
}

/* Only zero needs a select: the code of a negative number, Inf or NaN is
   above 0xff, and safetensors__cv_v_pack8 saturates it to 0xff, the answer
   the C function selects. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_to_e8m0(__m128i x)
{
    __m128i code = _mm_add_epi32(_mm_srli_epi32(x, 23), _mm_and_si128(_mm_srli_epi32(x, 22), safetensors__cv_v_set(1u)));
    return _mm_or_si128(code, _mm_and_si128(_mm_cmpeq_epi32(x, _mm_setzero_si128()), safetensors__cv_v_set(0xffu)));
}

/* Eight 16-bit codes, in the low halves of a's and b's lanes, as 16 bytes
   in order. packs saturates signed values, so each code is sign-extended
   from 16 bits first and comes through unchanged. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_pack16(__m128i a, __m128i b)
{
    return _mm_packs_epi32(_mm_srai_epi32(_mm_slli_epi32(a, 16), 16), _mm_srai_epi32(_mm_slli_epi32(b, 16), 16));
}

/* Sixteen byte codes (each 0..0xffff in its lane; past 0xff saturates to
   0xff) as 16 bytes in order. */
static SAFETENSORS__INLINE __m128i safetensors__cv_v_pack8(__m128i a, __m128i b, __m128i c, __m128i d)
{
    return _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
}

/* Loops that run a vector element function over runs of 8 (16-bit codes)
   or 16 (byte codes) elements; they leave i at the first element left. */
#define SAFETENSORS__CV_V_LOOP16(element) \
    if (safetensors__cv_v_nearest()) \
        for (; count - i >= 8; i += 8) { \
            safetensors__cv_prefetch(src + i, 32); \
            _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), \
                             safetensors__cv_v_pack16(element(safetensors__cv_v_load(src + i)), \
                                                      element(safetensors__cv_v_load(src + i + 4)))); \
        }
#define SAFETENSORS__CV_V_CODES8(out, element, in) \
    _mm_storeu_si128((__m128i *)(void *)(out), \
                     safetensors__cv_v_pack8(element(safetensors__cv_v_load(in)), element(safetensors__cv_v_load((in) + 4)), \
                                             element(safetensors__cv_v_load((in) + 8)), \
                                             element(safetensors__cv_v_load((in) + 12))))
#define SAFETENSORS__CV_V_LOOP8(element) \
    if (safetensors__cv_v_nearest()) \
        for (; count - i >= 16; i += 16) { \
            safetensors__cv_prefetch(src + i, 64); \
            SAFETENSORS__CV_V_CODES8(dst + i, element, src + i); \
        }
#else
#define SAFETENSORS__CV_V_LOOP16(element)
#define SAFETENSORS__CV_V_LOOP8(element)
#endif

/* F32 to F64 is exact; done in integers so that denormals-are-zero cannot
   flush a float32 subnormal. */
static uint64_t safetensors__cv_f32_to_f64_bits(uint32_t x)
{
    uint64_t sign = (uint64_t)(x >> 31) << 63;
    uint32_t a = x & 0x7fffffffu;
    uint32_t frac = a & 0x7fffffu;
    unsigned top = 22;
    if (a >= 0x7f800000u) return sign | UINT64_C(0x7ff0000000000000) | (uint64_t)frac << 29;
    if (a >= 0x00800000u) return sign | (uint64_t)((a >> 23) + 896u) << 52 | (uint64_t)frac << 29;
    if (a == 0) return sign;
    while (!(frac >> top)) top--;
    return sign | (uint64_t)(top + 874u) << 52 | (uint64_t)(frac - (1u << top)) << (52u - top);
}

/* ---- Narrowing: arrays ---------------------------------------------------- */

static void safetensors__cv_f32_to_bf16(const float *SAFETENSORS__CV_RESTRICT src, size_t count,
                                        unsigned char *SAFETENSORS__CV_RESTRICT dst)
{
    size_t i = 0, j;
    SAFETENSORS__CV_V_LOOP16(safetensors__cv_v_to_bf16)
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) {
        safetensors__cv_prefetch(src + i, 4 * SAFETENSORS__CV_BLOCK);
        for (j = 0; j < SAFETENSORS__CV_BLOCK; j++)
            safetensors__cv_store_u16le(dst + 2 * (i + j),
                                        safetensors__cv_f32_to_bf16_bits(safetensors__cv_f32_bits(src + i + j)));
    }
    for (; i < count; i++)
        safetensors__cv_store_u16le(dst + 2 * i, safetensors__cv_f32_to_bf16_bits(safetensors__cv_f32_bits(src + i)));
}

static void safetensors__cv_f32_to_f16(const float *SAFETENSORS__CV_RESTRICT src, size_t count,
                                       unsigned char *SAFETENSORS__CV_RESTRICT dst)
{
    size_t i = 0, j;
#ifdef SAFETENSORS__CV_F16C
    /* Immediate 0 asks for nearest-even whatever MXCSR says; float32
       subnormals that DAZ would flush round to a signed zero anyway. */
    for (; count - i >= 8; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), 0));
#endif
#ifdef SAFETENSORS__CV_NEON
    if (safetensors__cv_neon_exact())
        for (; count - i >= 8; i += 8) safetensors__cv_neon_store_f16(dst + 2 * i, vld1q_f32(src + i), vld1q_f32(src + i + 4));
#endif
    SAFETENSORS__CV_V_LOOP16(safetensors__cv_v_to_f16)
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) {
        safetensors__cv_prefetch(src + i, 4 * SAFETENSORS__CV_BLOCK);
        for (j = 0; j < SAFETENSORS__CV_BLOCK; j++)
            safetensors__cv_store_u16le(dst + 2 * (i + j),
                                        safetensors__cv_f32_to_f16_bits(safetensors__cv_f32_bits(src + i + j)));
    }
    for (; i < count; i++)
        safetensors__cv_store_u16le(dst + 2 * i, safetensors__cv_f32_to_f16_bits(safetensors__cv_f32_bits(src + i)));
}

/* One loop per F8 format, each with its element function inlined with
   constant parameters: that is what the vectoriser needs. */
#define SAFETENSORS__CV_NARROW8(name, element, vector) \
    static void name(const float *SAFETENSORS__CV_RESTRICT src, size_t count, \
                     unsigned char *SAFETENSORS__CV_RESTRICT dst) \
    { \
        size_t i = 0, j; \
        SAFETENSORS__CV_V_LOOP8(vector) \
        for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) { \
            safetensors__cv_prefetch(src + i, 4 * SAFETENSORS__CV_BLOCK); \
            for (j = 0; j < SAFETENSORS__CV_BLOCK; j++) \
                dst[i + j] = (unsigned char)element(safetensors__cv_f32_bits(src + i + j)); \
        } \
        for (; i < count; i++) dst[i] = (unsigned char)element(safetensors__cv_f32_bits(src + i)); \
    }
#define SAFETENSORS__CV_E4M3FNUZ_BITS(x) safetensors__cv_f32_to_fnuz_bits((x), 3u, 8u)
#define SAFETENSORS__CV_E5M2FNUZ_BITS(x) safetensors__cv_f32_to_fnuz_bits((x), 2u, 16u)
#define SAFETENSORS__CV_V_E4M3FNUZ(x) safetensors__cv_v_to_fnuz((x), 3u, 8u)
#define SAFETENSORS__CV_V_E5M2FNUZ(x) safetensors__cv_v_to_fnuz((x), 2u, 16u)
SAFETENSORS__CV_NARROW8(safetensors__cv_f32_to_e4m3, safetensors__cv_f32_to_e4m3_bits, safetensors__cv_v_to_e4m3)
SAFETENSORS__CV_NARROW8(safetensors__cv_f32_to_e5m2, safetensors__cv_f32_to_e5m2_bits, safetensors__cv_v_to_e5m2)
SAFETENSORS__CV_NARROW8(safetensors__cv_f32_to_e4m3fnuz, SAFETENSORS__CV_E4M3FNUZ_BITS, SAFETENSORS__CV_V_E4M3FNUZ)
SAFETENSORS__CV_NARROW8(safetensors__cv_f32_to_e5m2fnuz, SAFETENSORS__CV_E5M2FNUZ_BITS, SAFETENSORS__CV_V_E5M2FNUZ)
SAFETENSORS__CV_NARROW8(safetensors__cv_f32_to_e8m0, safetensors__cv_f32_to_e8m0_bits, safetensors__cv_v_to_e8m0)

/* Packs n codes of `bits` (4 or 6) bits at dst, the layout of
   safetensors_convert_to_f32, with zero bits after the last code up to the
   byte boundary. Returns the bytes written. */
static SAFETENSORS__INLINE size_t safetensors__cv_pack(const unsigned char *SAFETENSORS__CV_RESTRICT codes, size_t n,
                                                       unsigned bits, unsigned char *SAFETENSORS__CV_RESTRICT dst)
{
    size_t k = 0, out = 0;
    if (bits == 4) {
        for (; n - k >= 2; k += 2) dst[out++] = (unsigned char)(codes[k] | codes[k + 1] << 4);
        if (k < n) dst[out++] = codes[k];
        return out;
    }
    for (; n - k >= 4; k += 4, out += 3) {
        uint32_t v = (uint32_t)codes[k] | (uint32_t)codes[k + 1] << 6 | (uint32_t)codes[k + 2] << 12 |
                     (uint32_t)codes[k + 3] << 18;
        dst[out] = (unsigned char)(v & 0xffu);
        dst[out + 1] = (unsigned char)((v >> 8) & 0xffu);
        dst[out + 2] = (unsigned char)(v >> 16);
    }
    if (k < n) {
        uint32_t v = 0;
        size_t left = n - k, m;
        for (m = 0; m < left; m++) v |= (uint32_t)codes[k + m] << (6 * m);
        for (m = 0; m < (6 * left + 7) / 8; m++) dst[out++] = (unsigned char)((v >> (8 * m)) & 0xffu);
    }
    return out;
}

/* F4 and F6: a block of codes at a time, computed by a loop the vectoriser
   can take, then packed. */
static SAFETENSORS__INLINE void safetensors__cv_f32_to_mx(const float *SAFETENSORS__CV_RESTRICT src, size_t count,
                                                          unsigned char *SAFETENSORS__CV_RESTRICT dst, uint32_t mant,
                                                          uint32_t bias, uint32_t sign_at)
{
    unsigned char codes[SAFETENSORS__CV_BLOCK];
    unsigned bits = sign_at + 1u;
    size_t i = 0, j;
#ifdef SAFETENSORS__CV_V
    int nearest = safetensors__cv_v_nearest();
#endif
    for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) {
        safetensors__cv_prefetch(src + i, 4 * SAFETENSORS__CV_BLOCK);
#ifdef SAFETENSORS__CV_V
#define SAFETENSORS__CV_V_MX(x) safetensors__cv_v_to_mx((x), mant, bias, sign_at)
        if (nearest)
            for (j = 0; j < SAFETENSORS__CV_BLOCK; j += 16) SAFETENSORS__CV_V_CODES8(codes + j, SAFETENSORS__CV_V_MX, src + i + j);
        else
#undef SAFETENSORS__CV_V_MX
#endif
            for (j = 0; j < SAFETENSORS__CV_BLOCK; j++)
                codes[j] = (unsigned char)safetensors__cv_f32_to_mx_bits(safetensors__cv_f32_bits(src + i + j), mant,
                                                                         bias, sign_at);
        dst += safetensors__cv_pack(codes, SAFETENSORS__CV_BLOCK, bits, dst);
    }
    for (j = 0; j < count - i; j++)
        codes[j] = (unsigned char)safetensors__cv_f32_to_mx_bits(safetensors__cv_f32_bits(src + i + j), mant, bias,
                                                                 sign_at);
    safetensors__cv_pack(codes, count - i, bits, dst);
}

static void safetensors__cv_f32_to_f32le(const float *src, size_t count, unsigned char *dst)
{
    size_t i;
    if (SAFETENSORS__CV_LE) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    for (i = 0; i < count; i++) safetensors__cv_store_u32le(dst + 4 * i, safetensors__cv_f32_bits(src + i));
}

static void safetensors__cv_f32_to_f64le(const float *src, size_t count, unsigned char *dst)
{
    size_t i;
    for (i = 0; i < count; i++)
        safetensors__cv_store_u64le(dst + 8 * i, safetensors__cv_f32_to_f64_bits(safetensors__cv_f32_bits(src + i)));
}

/* ---- Public entry points --------------------------------------------------- */

/* The dtypes both directions handle: the floating-point ones except C64. */
static int safetensors__cv_supported(safetensors_dtype dtype)
{
    switch (dtype) {
    case SAFETENSORS_F8_E5M2: case SAFETENSORS_F8_E4M3: case SAFETENSORS_F8_E8M0:
    case SAFETENSORS_F8_E4M3FNUZ: case SAFETENSORS_F8_E5M2FNUZ: case SAFETENSORS_F16:
    case SAFETENSORS_BF16: case SAFETENSORS_F32: case SAFETENSORS_F64: case SAFETENSORS_F4:
    case SAFETENSORS_F6_E2M3: case SAFETENSORS_F6_E3M2:
        return 1;
    default:
        return 0;
    }
}

/* The largest element count whose source and destination both fit in
   size_t: no real buffer is larger, and every offset below stays exact. */
static size_t safetensors__cv_max_count(safetensors_dtype dtype)
{
    return dtype == SAFETENSORS_F64 ? SIZE_MAX / 8u : SIZE_MAX / 4u;
}

SAFETENSORS_API int safetensors_convert_supported(safetensors_dtype dtype)
{
    return safetensors__cv_supported(dtype);
}

SAFETENSORS_API safetensors_result safetensors_convert_to_f32(safetensors_dtype dtype, const void *src, size_t count,
                                                              float *dst)
{
    if (!safetensors__cv_supported(dtype)) return SAFETENSORS_ERR_DTYPE;
    if (count == 0) return SAFETENSORS_OK;
    if (src == NULL || dst == NULL) return SAFETENSORS_ERR_ARGUMENT;
    if (count > safetensors__cv_max_count(dtype)) return SAFETENSORS_ERR_SIZE;
    safetensors__cv_widen(dtype, (const unsigned char *)src, 0, count, dst);
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_convert_from_f32(safetensors_dtype dtype, const float *src, size_t count,
                                                                void *dst)
{
    unsigned char *out = (unsigned char *)dst;
    if (!safetensors__cv_supported(dtype)) return SAFETENSORS_ERR_DTYPE;
    if (count == 0) return SAFETENSORS_OK;
    if (src == NULL || dst == NULL) return SAFETENSORS_ERR_ARGUMENT;
    if (count > safetensors__cv_max_count(dtype)) return SAFETENSORS_ERR_SIZE;
    switch (dtype) {
    case SAFETENSORS_BF16: safetensors__cv_f32_to_bf16(src, count, out); break;
    case SAFETENSORS_F16: safetensors__cv_f32_to_f16(src, count, out); break;
    case SAFETENSORS_F8_E4M3: safetensors__cv_f32_to_e4m3(src, count, out); break;
    case SAFETENSORS_F8_E5M2: safetensors__cv_f32_to_e5m2(src, count, out); break;
    case SAFETENSORS_F8_E4M3FNUZ: safetensors__cv_f32_to_e4m3fnuz(src, count, out); break;
    case SAFETENSORS_F8_E5M2FNUZ: safetensors__cv_f32_to_e5m2fnuz(src, count, out); break;
    case SAFETENSORS_F8_E8M0: safetensors__cv_f32_to_e8m0(src, count, out); break;
    case SAFETENSORS_F4: safetensors__cv_f32_to_mx(src, count, out, 1u, 1u, 3u); break;
    case SAFETENSORS_F6_E2M3: safetensors__cv_f32_to_mx(src, count, out, 3u, 1u, 5u); break;
    case SAFETENSORS_F32: safetensors__cv_f32_to_f32le(src, count, out); break;
    case SAFETENSORS_F64: safetensors__cv_f32_to_f64le(src, count, out); break;
    default: safetensors__cv_f32_to_mx(src, count, out, 2u, 3u, 5u); break; /* F6_E3M2 */
    }
    return SAFETENSORS_OK;
}

/* Checks a view and counts its elements. A view from safetensors_open
   always passes; a hand-made one whose byte range disagrees with its shape
   must not make the conversion read past its bytes. */
static safetensors_result safetensors__cv_view_elements(const safetensors_tensor *t, uint64_t *elements)
{
    uint64_t bits, bytes;
    safetensors_result r;
    if (t == NULL) return SAFETENSORS_ERR_ARGUMENT;
    if (!safetensors__cv_supported(t->dtype)) return SAFETENSORS_ERR_DTYPE;
    if (t->data == NULL) return SAFETENSORS_ERR_ARGUMENT; /* header-only: no values to read */
    if (t->ndim > 0 && t->shape == NULL) return SAFETENSORS_ERR_ARGUMENT;
    /* a view built by hand may end inside its last byte: the bytes round up */
    r = safetensors__tensor_size((unsigned)t->dtype, t->shape, t->ndim, elements, &bits, &bytes);
    if (r == SAFETENSORS_ERR_OVERFLOW) return r;
    if (t->end < t->begin || t->end - t->begin != bytes) return SAFETENSORS_ERR_SIZE;
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_tensor_range_to_f32(const safetensors_tensor *t, uint64_t first,
                                                                   size_t count, float *dst, size_t dst_capacity)
{
    uint64_t elements = 0;
    safetensors_result r = safetensors__cv_view_elements(t, &elements);
    if (r != SAFETENSORS_OK) return r;
    if (first > elements || count > elements - first) return SAFETENSORS_ERR_ARGUMENT;
    if (count > dst_capacity) return SAFETENSORS_ERR_SIZE;
    if (count == 0) return SAFETENSORS_OK;
    if (dst == NULL) return SAFETENSORS_ERR_ARGUMENT;
    if (count > safetensors__cv_max_count(t->dtype)) return SAFETENSORS_ERR_SIZE;
    safetensors__cv_widen(t->dtype, (const unsigned char *)t->data, first, count, dst);
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_tensor_to_f32(const safetensors_tensor *t, float *dst,
                                                             size_t dst_capacity)
{
    uint64_t elements = 0;
    safetensors_result r = safetensors__cv_view_elements(t, &elements);
    if (r != SAFETENSORS_OK) return r;
    if (elements > dst_capacity) return SAFETENSORS_ERR_SIZE;
    return safetensors_tensor_range_to_f32(t, 0, (size_t)elements, dst, dst_capacity);
}

/* ---- Between two dtypes ---------------------------------------------------- */

/* BF16 <-> F16 element by element on the bits: F32's bit pattern is BF16's
   shifted, so the F32 element functions apply without an F32 array, and the
   loop stays one pass that vectorises (the element inlined, as for F8).
   `head` runs first and may take a multiple of 8 elements with intrinsics. */
#define SAFETENSORS__CV_HALF_TO_HALF(name, element, head) \
    static void name(const unsigned char *SAFETENSORS__CV_RESTRICT src, size_t count, \
                     unsigned char *SAFETENSORS__CV_RESTRICT dst) \
    { \
        size_t i = 0, j; \
        head \
        for (; count - i >= SAFETENSORS__CV_BLOCK; i += SAFETENSORS__CV_BLOCK) { \
            safetensors__cv_prefetch(src + 2 * i, 2 * SAFETENSORS__CV_BLOCK); \
            for (j = 0; j < SAFETENSORS__CV_BLOCK; j++) \
                safetensors__cv_store_u16le(dst + 2 * (i + j), element(safetensors__cv_load_u16le(src + 2 * (i + j)))); \
        } \
        for (; i < count; i++) safetensors__cv_store_u16le(dst + 2 * i, element(safetensors__cv_load_u16le(src + 2 * i))); \
    }
#define SAFETENSORS__CV_BF16_TO_F16_BITS(h) safetensors__cv_f32_to_f16_bits((h) << 16)
#define SAFETENSORS__CV_F16_TO_BF16_BITS(h) safetensors__cv_f32_to_bf16_bits(safetensors__cv_f16_to_f32_bits(h))
#ifdef SAFETENSORS__CV_F16C
/* Eight BF16 become eight F32 by interleaving them above zero halves, and
   F16C narrows those as safetensors_convert_from_f32 does (same bits). */
#define SAFETENSORS__CV_BF16_TO_F16_HEAD \
    for (; count - i >= 8; i += 8) { \
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i)); \
        __m128 lo = _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h)); \
        __m128 hi = _mm_castsi128_ps(_mm_unpackhi_epi16(_mm_setzero_si128(), h)); \
        __m256 wide = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1); \
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm256_cvtps_ph(wide, 0)); \
    }
#elif defined(SAFETENSORS__CV_V)
/* The same with SSE2 and the narrowing from F32. */
#define SAFETENSORS__CV_BF16_TO_F16_HEAD \
    if (safetensors__cv_v_nearest()) \
        for (; count - i >= 8; i += 8) { \
            __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i)); \
            safetensors__cv_prefetch(src + 2 * i, 16); \
            _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), \
                             safetensors__cv_v_pack16(safetensors__cv_v_to_f16(_mm_unpacklo_epi16(_mm_setzero_si128(), h)), \
                                                      safetensors__cv_v_to_f16(_mm_unpackhi_epi16(_mm_setzero_si128(), h)))); \
        }
#elif defined(SAFETENSORS__CV_NEON)
/* The same with NEON: a BF16 code shifted up 16 is its float. */
#define SAFETENSORS__CV_BF16_TO_F16_HEAD \
    if (safetensors__cv_neon_exact()) \
        for (; count - i >= 8; i += 8) { \
            uint16x8_t b = vreinterpretq_u16_u8(vld1q_u8(src + 2 * i)); \
            safetensors__cv_neon_store_f16(dst + 2 * i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b), 16)), \
                                           vreinterpretq_f32_u32(vshll_high_n_u16(b, 16))); \
        }
#else
#define SAFETENSORS__CV_BF16_TO_F16_HEAD
#endif
SAFETENSORS__CV_HALF_TO_HALF(safetensors__cv_bf16_to_f16, SAFETENSORS__CV_BF16_TO_F16_BITS,
                             SAFETENSORS__CV_BF16_TO_F16_HEAD)
SAFETENSORS__CV_HALF_TO_HALF(safetensors__cv_f16_to_bf16, SAFETENSORS__CV_F16_TO_BF16_BITS, (void)0;)

SAFETENSORS_API safetensors_result safetensors_convert(safetensors_dtype from, const void *src, size_t count,
                                                       safetensors_dtype to, void *dst)
{
    /* a multiple of 8 elements, so that every block of F4/F6 ends on a byte */
    float block[4 * SAFETENSORS__CV_BLOCK];
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *out = (unsigned char *)dst;
    size_t i, n, to_bits;
    if (!safetensors__cv_supported(from) || !safetensors__cv_supported(to)) return SAFETENSORS_ERR_DTYPE;
    if (count == 0) return SAFETENSORS_OK;
    if (src == NULL || dst == NULL) return SAFETENSORS_ERR_ARGUMENT;
    if (count > safetensors__cv_max_count(from) || count > safetensors__cv_max_count(to)) return SAFETENSORS_ERR_SIZE;
    to_bits = safetensors__dtype_bit_table[to];
    if (from == to) {
        memcpy(dst, src, (count * to_bits + 7u) / 8u);
        return SAFETENSORS_OK;
    }
    if (from == SAFETENSORS_BF16 && to == SAFETENSORS_F16) {
        safetensors__cv_bf16_to_f16(in, count, out);
        return SAFETENSORS_OK;
    }
    if (from == SAFETENSORS_F16 && to == SAFETENSORS_BF16) {
        safetensors__cv_f16_to_bf16(in, count, out);
        return SAFETENSORS_OK;
    }
    for (i = 0; i < count; i += n) {
        n = count - i < sizeof block / sizeof block[0] ? count - i : sizeof block / sizeof block[0];
        safetensors__cv_widen(from, in, (uint64_t)i, n, block);
        (void)safetensors_convert_from_f32(to, block, n, out + (i / 8u) * to_bits); /* i: whole blocks */
    }
    return SAFETENSORS_OK;
}

#endif /* SAFETENSORS_NO_CONVERT */

/* >>writer ------------------------------------------------------------- */
#ifndef SAFETENSORS_NO_WRITER
/* The streaming writer. Declarations are copied into an arena (names, keys,
   values), a dims array and two small tables, with a hash index each for
   the duplicate checks, so memory follows the header, never the data. plan
   sorts the tensors into the reference's order and sizes the header by
   running the same emitter that later writes it in counting mode, so the
   length written in the first 8 bytes and the bytes that follow cannot
   disagree. The header leaves through a 4 KiB staging buffer; the data goes
   straight from the caller to the sink. */

#define SAFETENSORS__W_STAGE 4096u
/* the hash index keeps index + 1 in 32 bits, as the reader's does */
#define SAFETENSORS__W_MAX_COUNT ((size_t)UINT32_MAX - 1u)
/* "\"__metadata__\":{" and "}" */
#define SAFETENSORS__W_META_OVERHEAD 17u

enum safetensors__w_state {
    SAFETENSORS__W_DECLARING, /* add_* allowed */
    SAFETENSORS__W_PLANNED,   /* layout fixed, no sink yet */
    SAFETENSORS__W_WRITING,   /* header out, data expected */
    SAFETENSORS__W_FINISHED
};

enum safetensors__w_sink {
    SAFETENSORS__W_SINK_NONE, SAFETENSORS__W_SINK_FILE, SAFETENSORS__W_SINK_FD, SAFETENSORS__W_SINK_STREAM,
    SAFETENSORS__W_SINK_MEMORY, SAFETENSORS__W_SINK_CALLBACK
};

typedef struct safetensors__w_entry {
    size_t name_off, name_len; /* in the arena, NUL-terminated */
    size_t shape_off, ndim;    /* in dims */
    uint64_t bytes;            /* product(shape) x bits / 8 */
    unsigned char dtype;
} safetensors__w_entry;

typedef struct safetensors__w_meta {
    size_t key_off, key_len, value_off, value_len;
} safetensors__w_meta;

struct safetensors_writer {
    safetensors_allocator alloc;
    uint64_t max_header, alignment, seed;
    unsigned flags;
    int state;
    int failed; /* the sink failed: `error` is returned by every later call */
    safetensors_error error;

    /* the declarations */
    char *arena;
    size_t arena_len, arena_cap;
    safetensors__w_entry *entries;
    size_t entry_count, entry_cap;
    uint64_t *dims;
    size_t dim_count, dim_cap;
    safetensors__w_meta *metas;
    size_t meta_count, meta_cap;
    safetensors__index names, keys;
    uint64_t json_floor; /* the JSON's length if every data offset were one digit */

    /* the plan */
    safetensors_tensor *views; /* data order */
    uint32_t *order;           /* declaration index of each view */
    uint64_t json_len, header_size, data_size;

    /* the output */
    uint64_t pos;     /* data bytes written */
    size_t next;      /* the view the byte at pos belongs to */
    uint64_t out_pos; /* bytes the sink has taken */
    int sink;
    unsigned char *mem;
    safetensors_write_fn fn;
    void *fn_ctx;
#ifndef SAFETENSORS_NO_STDIO
    FILE *stream;
    int fd;
    int file_open; /* the temporary file exists and is ours to remove */
    safetensors__os_temp tmp;
    safetensors__os_char *dest; /* the path to replace, as the OS takes it */
    size_t dest_size;
    unsigned new_mode; /* the permission bits a new file would get there */
#endif
    unsigned char stage[SAFETENSORS__W_STAGE];
    size_t stage_len;
};

/* The reference's data order, indexed by safetensors_dtype: 8-byte types
   first, then 4, 2 and 1, then the sub-byte ones and BOOL. With the data
   contiguous, every tensor starts at a multiple of its element size (a
   sub-byte tensor is whole bytes, so BOOL after it still starts on one). */
static const unsigned char safetensors__w_dtype_rank[SAFETENSORS_DTYPE_COUNT] = {
    21 /* BOOL */,        17 /* U8 */,          16 /* I8 */,  15 /* F8_E5M2 */, 14 /* F8_E4M3 */,
    13 /* F8_E8M0 */,     12 /* F8_E4M3FNUZ */, 11 /* F8_E5M2FNUZ */,
    10 /* I16 */,         9 /* U16 */,          8 /* F16 */,  7 /* BF16 */,
    6 /* I32 */,          5 /* U32 */,          4 /* F32 */,  2 /* F64 */,     1 /* I64 */,
    0 /* U64 */,          3 /* C64 */,          20 /* F4 */,  19 /* F6_E2M3 */, 18 /* F6_E3M2 */};

/* --- errors --- */

static void safetensors__w_err_tensor(safetensors_error *e, safetensors_result code, uint64_t offset,
                                      const char *name, size_t len, const char *text)
{
    safetensors__err_set(e, code, offset);
    safetensors__err_add(e, "tensor ");
    safetensors__err_add_name(e, name, len);
    safetensors__err_add(e, ": ");
    safetensors__err_add(e, text);
}

static safetensors_result safetensors__w_out(safetensors_error *out, const safetensors_error *e)
{
    safetensors__err_copy_out(out, e);
    return e->code;
}

/* A failed write to the sink: sticky. */
static void safetensors__w_discard_file(safetensors_writer *w);

static void safetensors__w_fail_io(safetensors_writer *w, int sys, int source, const char *what, const char *path,
                                   size_t path_len)
{
    w->failed = 1;
    safetensors__err_io(&w->error, sys, source, what, path, path_len, NULL);
    w->error.offset = w->out_pos;
    safetensors__w_discard_file(w);
}

/* --- UTF-8 --- */

/* The length of the longest valid UTF-8 prefix of s[0, n): n when all of it
   is valid. Valid means what Rust's str accepts: no overlong forms, no
   surrogates, nothing above U+10FFFF. */
static size_t safetensors__w_utf8_prefix(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)((const void *)text);
    size_t i = 0, k;
    for (; i < n; i += k)
        if ((k = safetensors__utf8_char(s + i, n - i)) == 0) return i;
    return n;
}

/* `what` ("tensor name", "metadata key", ...) at byte `bad` of s. The
   message quotes the valid part before the fault. */
static safetensors_result safetensors__w_fail_utf8(safetensors_error *e, const char *what, const char *s,
                                                   size_t bad)
{
    static const char hex[] = "0123456789abcdef";
    char byte[5];
    unsigned c = (unsigned char)s[bad];
    byte[0] = '0';
    byte[1] = 'x';
    byte[2] = hex[c >> 4];
    byte[3] = hex[c & 15];
    byte[4] = '\0';
    safetensors__err_set(e, SAFETENSORS_ERR_UTF8, 0);
    safetensors__err_add(e, what);
    safetensors__err_add(e, " is not valid UTF-8: byte ");
    safetensors__err_add_u64(e, (uint64_t)bad);
    safetensors__err_add(e, " (");
    safetensors__err_add(e, byte);
    safetensors__err_add(e, ") after ");
    safetensors__err_add_name(e, s, bad);
    return SAFETENSORS_ERR_UTF8;
}

/* --- the header emitter --- */

/* Counts the bytes (w NULL), or also sends them through the stage. */
typedef struct safetensors__w_emit {
    safetensors_writer *w;
    uint64_t len;
} safetensors__w_emit;

static void safetensors__w_sink_write(safetensors_writer *w, const void *bytes, size_t n);

static void safetensors__w_flush_stage(safetensors_writer *w)
{
    if (w->stage_len != 0 && !w->failed) safetensors__w_sink_write(w, w->stage, w->stage_len);
    w->stage_len = 0;
}

static void safetensors__w_put(safetensors__w_emit *e, const char *bytes, size_t n)
{
    safetensors_writer *w = e->w;
    e->len += n;
    if (w == NULL) return;
    while (n > 0 && !w->failed) {
        size_t room = SAFETENSORS__W_STAGE - w->stage_len, take = n < room ? n : room;
        memcpy(w->stage + w->stage_len, bytes, take);
        w->stage_len += take;
        bytes += take;
        n -= take;
        if (w->stage_len == SAFETENSORS__W_STAGE) safetensors__w_flush_stage(w);
    }
}

#define SAFETENSORS__W_LIT(e, text) safetensors__w_put((e), (text), sizeof(text) - 1u)

/* A JSON string as serde_json writes it: \" \\ \b \f \n \r \t, \u00XX with
   lowercase hex for the other control bytes, everything else raw. */
static void safetensors__w_put_string(safetensors__w_emit *e, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    SAFETENSORS__W_LIT(e, "\"");
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        char esc[6];
        size_t esc_len = 2;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (i > run) safetensors__w_put(e, s + run, i - run);
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc_len = 6;
            break;
        }
        safetensors__w_put(e, esc, esc_len);
        run = i + 1;
    }
    if (n > run) safetensors__w_put(e, s + run, n - run);
    SAFETENSORS__W_LIT(e, "\"");
}

static void safetensors__w_put_u64(safetensors__w_emit *e, uint64_t v)
{
    char digits[20];
    size_t at = sizeof digits;
    do {
        digits[--at] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    safetensors__w_put(e, digits + at, sizeof digits - at);
}

/* "name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]} */
static void safetensors__w_put_tensor(safetensors__w_emit *e, const char *name, size_t name_len, unsigned dtype,
                                      const uint64_t *shape, size_t ndim, uint64_t begin, uint64_t end)
{
    size_t k;
    safetensors__w_put_string(e, name, name_len);
    SAFETENSORS__W_LIT(e, ":{\"dtype\":\"");
    safetensors__w_put(e, safetensors__dtype_names[dtype], strlen(safetensors__dtype_names[dtype]));
    SAFETENSORS__W_LIT(e, "\",\"shape\":[");
    for (k = 0; k < ndim; k++) {
        if (k) SAFETENSORS__W_LIT(e, ",");
        safetensors__w_put_u64(e, shape[k]);
    }
    SAFETENSORS__W_LIT(e, "],\"data_offsets\":[");
    safetensors__w_put_u64(e, begin);
    SAFETENSORS__W_LIT(e, ",");
    safetensors__w_put_u64(e, end);
    SAFETENSORS__W_LIT(e, "]}");
}

static int safetensors__w_has_metadata(const safetensors_writer *w)
{
    return w->meta_count > 0 || (w->flags & SAFETENSORS_WRITE_EMPTY_METADATA) != 0;
}

/* The whole JSON object, without padding. Needs the plan's views. */
static void safetensors__w_put_json(safetensors__w_emit *e, const safetensors_writer *w)
{
    size_t k;
    int meta = safetensors__w_has_metadata(w);
    SAFETENSORS__W_LIT(e, "{");
    if (meta) {
        SAFETENSORS__W_LIT(e, "\"__metadata__\":{");
        for (k = 0; k < w->meta_count; k++) {
            const safetensors__w_meta *m = &w->metas[k];
            if (k) SAFETENSORS__W_LIT(e, ",");
            safetensors__w_put_string(e, w->arena + m->key_off, m->key_len);
            SAFETENSORS__W_LIT(e, ":");
            safetensors__w_put_string(e, w->arena + m->value_off, m->value_len);
        }
        SAFETENSORS__W_LIT(e, "}");
    }
    for (k = 0; k < w->entry_count; k++) {
        const safetensors_tensor *t = &w->views[k];
        if (k || meta) SAFETENSORS__W_LIT(e, ",");
        safetensors__w_put_tensor(e, t->name, t->name_len, (unsigned)t->dtype, t->shape, t->ndim, t->begin, t->end);
    }
    SAFETENSORS__W_LIT(e, "}");
}

/* N for a JSON of json_len bytes: 8 + N rounded up to the alignment.
   UINT64_MAX when that overflows. */
static uint64_t safetensors__w_padded(const safetensors_writer *w, uint64_t json_len)
{
    uint64_t mask = w->alignment - 1u;
    if (json_len > UINT64_MAX - SAFETENSORS__LENGTH_BYTES - mask) return UINT64_MAX;
    return ((SAFETENSORS__LENGTH_BYTES + json_len + mask) & ~mask) - SAFETENSORS__LENGTH_BYTES;
}

static safetensors_result safetensors__w_fail_header(safetensors_error *e, uint64_t size, uint64_t limit, int exact)
{
    safetensors__err_set(e, SAFETENSORS_ERR_HEADER_TOO_LARGE, 0);
    safetensors__err_add(e, exact ? "the header would be " : "the header would be at least ");
    safetensors__err_add_u64(e, size);
    safetensors__err_add(e, " bytes, over the limit of ");
    safetensors__err_add_u64(e, limit);
    safetensors__err_add(e, " (max_header_size)");
    return SAFETENSORS_ERR_HEADER_TOO_LARGE;
}

/* --- declarations --- */

static safetensors_result safetensors__w_check_declaring(safetensors_writer *w, safetensors_error *e)
{
    if (w == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the writer is NULL");
    if (w->failed) {
        *e = w->error;
        return e->code;
    }
    if (w->state != SAFETENSORS__W_DECLARING)
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0,
                                       "the layout is fixed: declare every tensor and metadata entry before "
                                       "safetensors_writer_plan or begin");
    return SAFETENSORS_OK;
}

/* Room for `n` more arena bytes. */
static int safetensors__w_arena_reserve(safetensors_writer *w, size_t n)
{
    char *fresh;
    if (n > (size_t)-1 - w->arena_len) return 0;
    fresh = (char *)(safetensors__grow(&w->alloc, w->arena, &w->arena_cap, w->arena_len + n, 1));
    if (fresh == NULL) return 0;
    w->arena = fresh;
    return 1;
}

static size_t safetensors__w_arena_put(safetensors_writer *w, const char *s, size_t n)
{
    size_t at = w->arena_len;
    if (n) memcpy(w->arena + at, s, n);
    w->arena[at + n] = '\0';
    w->arena_len += n + 1;
    return at;
}

static const char *safetensors__w_entry_name(const void *table, size_t i, size_t *len)
{
    const safetensors_writer *w = (const safetensors_writer *)(table);
    *len = w->entries[i].name_len;
    return w->arena + w->entries[i].name_off;
}

static const char *safetensors__w_meta_key(const void *table, size_t i, size_t *len)
{
    const safetensors_writer *w = (const safetensors_writer *)(table);
    *len = w->metas[i].key_len;
    return w->arena + w->metas[i].key_off;
}

/* Makes room in ix for a count + 1-th name, so that adding it cannot fail:
   rebuilt at twice the size when half full. Returns 0 when memory runs out,
   with ix untouched. */
static int safetensors__w_index_reserve(safetensors_writer *w, safetensors__index *ix, size_t count,
                                        safetensors__name_fn name_of)
{
    safetensors__index fresh;
    size_t k;
    if (ix->slots != NULL && count + 1u <= (ix->cap - 16u) / 3u * 2u) return safetensors__index_reserve(&w->alloc, ix);
    if (!safetensors__index_init(&w->alloc, &fresh, count < 8u ? 16u : count * 2u, NULL, 0, 0)) return 0;
    for (k = 0; k < count; k++) {
        size_t len;
        const char *name = name_of(w, k, &len);
        if (safetensors__index_add(&w->alloc, &fresh, safetensors__hash(w->seed, name, len), name, len, k, name_of,
                                   w) == SAFETENSORS__ADD_NOMEM)
            break;
    }
    if (k < count || !safetensors__index_reserve(&w->alloc, &fresh)) {
        safetensors__index_free(&w->alloc, &fresh);
        return 0;
    }
    safetensors__index_free(&w->alloc, ix);
    *ix = fresh;
    return 1;
}

/* The checks of one tensor, in the reader's order where it has one. Sets
   *bytes to its size. */
static safetensors_result safetensors__w_check_tensor(const char *name, size_t name_len, safetensors_dtype dtype,
                                                      size_t ndim, const uint64_t *shape, uint64_t *bytes,
                                                      safetensors_error *e)
{
    uint64_t elements, bits;
    size_t bad;
    safetensors_result code;
    if ((int)dtype < 0 || (int)dtype >= (int)SAFETENSORS_DTYPE_COUNT) {
        int d = (int)dtype;
        safetensors__w_err_tensor(e, SAFETENSORS_ERR_DTYPE, 0, name, name_len, d < 0 ? "dtype -" : "dtype ");
        safetensors__err_add_u64(e, d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d);
        safetensors__err_add(e, " is not a safetensors_dtype value");
        return SAFETENSORS_ERR_DTYPE;
    }
    bad = safetensors__w_utf8_prefix(name, name_len);
    if (bad != name_len) return safetensors__w_fail_utf8(e, "the tensor name", name, bad);
    if (name_len == 12 && memcmp(name, "__metadata__", 12) == 0)
        return safetensors__err_simple(e, SAFETENSORS_ERR_SCHEMA, 0,
                                       "tensor \"__metadata__\": that key holds the metadata; choose another name");
    code = safetensors__tensor_size((unsigned)dtype, shape, ndim, &elements, &bits, bytes);
    if (code != SAFETENSORS_OK) {
        safetensors__w_err_tensor(e, code, 0, name, name_len, "");
        safetensors__err_add_size_problem(e, code, (unsigned)dtype, shape, ndim, bits);
    }
    return code;
}

static safetensors_result safetensors__w_add_tensor(safetensors_writer *w, const char *name, size_t name_len,
                                                    safetensors_dtype dtype, size_t ndim, const uint64_t *shape,
                                                    safetensors_error *e)
{
    safetensors__w_emit count;
    safetensors__w_entry *t;
    uint64_t bytes = 0, floor;
    uint32_t hash;
    safetensors_result r = safetensors__w_check_declaring(w, e);
    if (r != SAFETENSORS_OK) return r;
    if ((name == NULL && name_len != 0) || (shape == NULL && ndim != 0))
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0,
                                       name == NULL && name_len != 0 ? "the tensor name is NULL"
                                                                     : "the shape is NULL but ndim is not 0");
    if (name == NULL) name = "";
    r = safetensors__w_check_tensor(name, name_len, dtype, ndim, shape, &bytes, e);
    if (r != SAFETENSORS_OK) return r;
    hash = safetensors__hash(w->seed, name, name_len);
    if (safetensors__index_find(&w->names, hash, name ? name : "", name_len, safetensors__w_entry_name, w) !=
        (size_t)-1) {
        safetensors__w_err_tensor(e, SAFETENSORS_ERR_DUPLICATE, 0, name, name_len, "the name was already added");
        return SAFETENSORS_ERR_DUPLICATE;
    }
    count.w = NULL;
    count.len = 0;
    safetensors__w_put_tensor(&count, name, name_len, (unsigned)dtype, shape, ndim, 0, 0);
    floor = w->json_floor + count.len + 1u; /* and its comma */
    if (floor < w->json_floor || safetensors__w_padded(w, floor) > w->max_header)
        return safetensors__w_fail_header(e, safetensors__w_padded(w, floor), w->max_header, 0);
    if (w->entry_count >= SAFETENSORS__W_MAX_COUNT)
        return safetensors__err_simple(e, SAFETENSORS_ERR_TOO_LARGE, 0, "more than 2^32 - 2 tensors");
    if (name_len == (size_t)-1 || !safetensors__w_arena_reserve(w, name_len + 1u)) goto nomem;
    if (ndim > (size_t)-1 - w->dim_count) goto nomem;
    if (ndim != 0) {
        uint64_t *fresh = (uint64_t *)(safetensors__grow(&w->alloc, w->dims, &w->dim_cap, w->dim_count + ndim, sizeof *w->dims));
        if (fresh == NULL) goto nomem;
        w->dims = fresh;
    }
    if (w->entry_count == w->entry_cap) {
        safetensors__w_entry *fresh = (safetensors__w_entry *)(safetensors__grow(&w->alloc, w->entries, &w->entry_cap, w->entry_count + 1u, sizeof *w->entries));
        if (fresh == NULL) goto nomem;
        w->entries = fresh;
    }
    if (!safetensors__w_index_reserve(w, &w->names, w->entry_count, safetensors__w_entry_name)) goto nomem;
    /* nothing can fail from here on */
    t = &w->entries[w->entry_count];
    t->name_off = safetensors__w_arena_put(w, name, name_len);
    t->name_len = name_len;
    t->shape_off = w->dim_count;
    t->ndim = ndim;
    if (ndim != 0) memcpy(w->dims + w->dim_count, shape, ndim * sizeof *shape);
    w->dim_count += ndim;
    t->bytes = bytes;
    t->dtype = (unsigned char)dtype;
    (void)safetensors__index_add(&w->alloc, &w->names, hash, name ? name : "", name_len, w->entry_count,
                                 safetensors__w_entry_name, w); /* reserved: cannot fail */
    w->entry_count++;
    w->json_floor = floor;
    return SAFETENSORS_OK;
nomem:
    return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
}

SAFETENSORS_API safetensors_result safetensors_writer_add_tensor(safetensors_writer *w, const char *name,
                                                                 size_t name_len, safetensors_dtype dtype,
                                                                 size_t ndim, const uint64_t *shape,
                                                                 safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_add_tensor(w, name, name_len, dtype, ndim, shape, &e);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_add_metadata(safetensors_writer *w, const char *key,
                                                                   size_t key_len, const char *value,
                                                                   size_t value_len, safetensors_error *err)
{
    safetensors_error e;
    safetensors__w_emit count;
    safetensors__w_meta *m;
    uint64_t floor;
    uint32_t hash;
    size_t bad;
    safetensors_result r = safetensors__w_check_declaring(w, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    if ((key == NULL && key_len != 0) || (value == NULL && value_len != 0)) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                key == NULL && key_len != 0 ? "the metadata key is NULL"
                                                            : "the metadata value is NULL");
        return safetensors__w_out(err, &e);
    }
    if (key == NULL) key = "";
    if (value == NULL) value = "";
    bad = safetensors__w_utf8_prefix(key, key_len);
    if (bad != key_len) {
        safetensors__w_fail_utf8(&e, "the metadata key", key, bad);
        return safetensors__w_out(err, &e);
    }
    bad = safetensors__w_utf8_prefix(value, value_len);
    if (bad != value_len) {
        safetensors__w_fail_utf8(&e, "a metadata value", value, bad);
        safetensors__err_add(&e, " (key ");
        safetensors__err_add_name(&e, key, key_len);
        safetensors__err_add(&e, ")");
        return safetensors__w_out(err, &e);
    }
    hash = safetensors__hash(w->seed, key, key_len);
    if (safetensors__index_find(&w->keys, hash, key ? key : "", key_len, safetensors__w_meta_key, w) != (size_t)-1) {
        safetensors__err_set(&e, SAFETENSORS_ERR_DUPLICATE, 0);
        safetensors__err_add(&e, "metadata ");
        safetensors__err_add_name(&e, key, key_len);
        safetensors__err_add(&e, ": the key was already added");
        return safetensors__w_out(err, &e);
    }
    count.w = NULL;
    count.len = 0;
    safetensors__w_put_string(&count, key, key_len);
    safetensors__w_put_string(&count, value, value_len);
    floor = w->json_floor + count.len + 2u; /* the colon and a comma */
    if (!safetensors__w_has_metadata(w)) floor += SAFETENSORS__W_META_OVERHEAD;
    if (floor < w->json_floor || safetensors__w_padded(w, floor) > w->max_header) {
        safetensors__w_fail_header(&e, safetensors__w_padded(w, floor), w->max_header, 0);
        return safetensors__w_out(err, &e);
    }
    if (w->meta_count >= SAFETENSORS__W_MAX_COUNT) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_TOO_LARGE, 0, "more than 2^32 - 2 metadata entries");
        return safetensors__w_out(err, &e);
    }
    if (key_len > (size_t)-1 / 2u - 1u || value_len > (size_t)-1 / 2u - 1u ||
        !safetensors__w_arena_reserve(w, key_len + value_len + 2u))
        goto nomem;
    if (w->meta_count == w->meta_cap) {
        safetensors__w_meta *fresh = (safetensors__w_meta *)(safetensors__grow(&w->alloc, w->metas, &w->meta_cap, w->meta_count + 1u, sizeof *w->metas));
        if (fresh == NULL) goto nomem;
        w->metas = fresh;
    }
    if (!safetensors__w_index_reserve(w, &w->keys, w->meta_count, safetensors__w_meta_key)) goto nomem;
    m = &w->metas[w->meta_count];
    m->key_off = safetensors__w_arena_put(w, key, key_len);
    m->key_len = key_len;
    m->value_off = safetensors__w_arena_put(w, value, value_len);
    m->value_len = value_len;
    (void)safetensors__index_add(&w->alloc, &w->keys, hash, key ? key : "", key_len, w->meta_count,
                                 safetensors__w_meta_key, w); /* reserved: cannot fail */
    w->meta_count++;
    w->json_floor = floor;
    return SAFETENSORS_OK;
nomem:
    safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    return safetensors__w_out(err, &e);
}

/* --- create, destroy --- */

SAFETENSORS_API safetensors_result safetensors_writer_create(const safetensors_write_options *opt,
                                                             safetensors_writer **out, safetensors_error *err)
{
    safetensors_error e;
    safetensors_write_options o;
    safetensors_allocator a;
    safetensors_writer *w;
    const char *problem;
    if (opt) o = *opt;
    else memset(&o, 0, sizeof o);
    a = o.allocator;
    problem = safetensors__options_problem(&a, o.flags, SAFETENSORS__WRITE_FLAGS_KNOWN, o.reserved32, o.reserved,
                                           o.reserved_ptr, 4);
    if (problem == NULL && ((o.alignment & (o.alignment - 1u)) != 0 || o.alignment > SAFETENSORS_MAX_ALIGNMENT))
        problem = "the alignment must be a power of two no larger than 65536";
    if (out) *out = NULL;
    if (out == NULL || problem) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, out == NULL ? "out must not be NULL" : problem);
        return safetensors__w_out(err, &e);
    }
    w = (safetensors_writer *)(safetensors__alloc(&a, sizeof *w));
    if (w == NULL) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        return safetensors__w_out(err, &e);
    }
    memset(w, 0, sizeof *w);
    w->alloc = a;
    w->max_header = o.max_header_size ? o.max_header_size : SAFETENSORS_DEFAULT_MAX_HEADER_SIZE;
    w->alignment = o.alignment < 8u ? 8u : o.alignment;
    w->flags = o.flags;
    w->seed = safetensors__pick_seed(0, w);
    w->state = SAFETENSORS__W_DECLARING;
    /* "{}" less the comma that the first entry's count includes */
    w->json_floor = 1u + (safetensors__w_has_metadata(w) ? SAFETENSORS__W_META_OVERHEAD : 0u);
#ifndef SAFETENSORS_NO_STDIO
    w->tmp.handle = SAFETENSORS__OS_NO_HANDLE;
    w->fd = -1;
#endif
    *out = w;
    return SAFETENSORS_OK;
}

SAFETENSORS_API void safetensors_writer_destroy(safetensors_writer *w)
{
    safetensors_allocator a;
    if (w == NULL) return;
    a = w->alloc;
    if (w->state != SAFETENSORS__W_FINISHED) safetensors__w_discard_file(w);
#ifndef SAFETENSORS_NO_STDIO
    safetensors__os_temp_free(&w->tmp, &a);
    safetensors__free(&a, w->dest, w->dest_size);
#endif
    safetensors__free(&a, w->views, w->entry_count * sizeof *w->views);
    safetensors__free(&a, w->order, w->entry_count * sizeof *w->order);
    safetensors__index_free(&a, &w->names);
    safetensors__index_free(&a, &w->keys);
    safetensors__free(&a, w->arena, w->arena_cap);
    safetensors__free(&a, w->entries, w->entry_cap * sizeof *w->entries);
    safetensors__free(&a, w->dims, w->dim_cap * sizeof *w->dims);
    safetensors__free(&a, w->metas, w->meta_cap * sizeof *w->metas);
    safetensors__free(&a, w, sizeof *w);
}

/* --- the plan --- */

static int safetensors__w_before(const safetensors_writer *w, size_t a, size_t b)
{
    const safetensors__w_entry *x = &w->entries[a], *y = &w->entries[b];
    unsigned rx = safetensors__w_dtype_rank[x->dtype], ry = safetensors__w_dtype_rank[y->dtype];
    if (rx != ry) return rx < ry;
    return safetensors__name_compare(w->arena + x->name_off, x->name_len, w->arena + y->name_off, y->name_len) < 0;
}

static int safetensors__w_index_before(const void *ctx, uint32_t a, uint32_t b)
{
    return safetensors__w_before((const safetensors_writer *)(ctx), a, b);
}

static safetensors_result safetensors__w_plan(safetensors_writer *w, safetensors_error *e)
{
    const safetensors_allocator *a = &w->alloc;
    size_t n = w->entry_count, k;
    uint32_t *order, *tmp;
    safetensors_tensor *views;
    uint64_t offset = 0, header;
    safetensors__w_emit count;
    if (w->state != SAFETENSORS__W_DECLARING) return SAFETENSORS_OK;
    if (n > (size_t)-1 / sizeof *views || n >= (size_t)UINT32_MAX)
        return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    order = (uint32_t *)(safetensors__alloc(a, n * sizeof *order));
    tmp = (uint32_t *)(safetensors__alloc(a, n * sizeof *tmp));
    views = (safetensors_tensor *)(safetensors__alloc(a, n * sizeof *views));
    if (order == NULL || tmp == NULL || views == NULL) {
        safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    for (k = 0; k < n; k++) order[k] = (uint32_t)k;
    safetensors__sort_indices(order, tmp, n, safetensors__w_index_before, w);
    safetensors__free(a, tmp, n * sizeof *tmp);
    tmp = NULL;
    for (k = 0; k < n; k++) {
        const safetensors__w_entry *t = &w->entries[order[k]];
        safetensors_tensor *v = &views[k];
        if (t->bytes > UINT64_MAX - offset) {
            safetensors__w_err_tensor(e, SAFETENSORS_ERR_OVERFLOW, 0, w->arena + t->name_off, t->name_len,
                                      "the data section would end past 2^64 bytes");
            goto fail;
        }
        v->name = w->arena + t->name_off;
        v->name_len = t->name_len;
        v->dtype = (safetensors_dtype)t->dtype;
        v->ndim = t->ndim;
        v->shape = w->dims ? w->dims + t->shape_off : NULL;
        v->begin = offset;
        v->end = offset + t->bytes;
        v->data = NULL;
        offset += t->bytes;
    }
    w->views = views;
    w->order = order;
    count.w = NULL;
    count.len = 0;
    safetensors__w_put_json(&count, w);
    header = safetensors__w_padded(w, count.len);
    if (header > w->max_header) {
        safetensors__w_fail_header(e, header, w->max_header, 1);
        goto fail;
    }
    if (offset > UINT64_MAX - SAFETENSORS__LENGTH_BYTES - header) {
        safetensors__err_simple(e, SAFETENSORS_ERR_OVERFLOW, 0, "the file would be larger than 2^64 bytes");
        goto fail;
    }
    w->json_len = count.len;
    w->header_size = header;
    w->data_size = offset;
    w->state = SAFETENSORS__W_PLANNED;
    return SAFETENSORS_OK;
fail:
    w->views = NULL;
    w->order = NULL;
    safetensors__free(a, views, n * sizeof *views);
    safetensors__free(a, tmp, n * sizeof *tmp);
    safetensors__free(a, order, n * sizeof *order);
    return e->code;
}

SAFETENSORS_API safetensors_result safetensors_writer_plan(safetensors_writer *w, safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r;
    if (w == NULL) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "the writer is NULL");
        return safetensors__w_out(err, &e);
    }
    if (w->failed) return safetensors__w_out(err, &w->error);
    r = safetensors__w_plan(w, &e);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API size_t safetensors_writer_tensor_count(const safetensors_writer *w)
{
    return w ? w->entry_count : 0;
}

SAFETENSORS_API const safetensors_tensor *safetensors_writer_tensor_at(const safetensors_writer *w, size_t k)
{
    return w && w->views && k < w->entry_count ? &w->views[k] : NULL;
}

SAFETENSORS_API size_t safetensors_writer_declaration_index(const safetensors_writer *w, size_t k)
{
    return w && w->order && k < w->entry_count ? w->order[k] : (size_t)-1;
}

static int safetensors__w_planned(const safetensors_writer *w)
{
    return w != NULL && w->state != SAFETENSORS__W_DECLARING;
}

SAFETENSORS_API uint64_t safetensors_writer_header_size(const safetensors_writer *w)
{
    return safetensors__w_planned(w) ? w->header_size : 0;
}

SAFETENSORS_API uint64_t safetensors_writer_data_start(const safetensors_writer *w)
{
    return safetensors__w_planned(w) ? SAFETENSORS__LENGTH_BYTES + w->header_size : 0;
}

SAFETENSORS_API uint64_t safetensors_writer_data_size(const safetensors_writer *w)
{
    return safetensors__w_planned(w) ? w->data_size : 0;
}

SAFETENSORS_API uint64_t safetensors_writer_file_size(const safetensors_writer *w)
{
    return safetensors__w_planned(w) ? SAFETENSORS__LENGTH_BYTES + w->header_size + w->data_size : 0;
}

SAFETENSORS_API size_t safetensors_writer_next_tensor(const safetensors_writer *w)
{
    if (w == NULL) return 0;
    return w->state == SAFETENSORS__W_WRITING ? w->next : w->entry_count;
}

/* --- sinks --- */

#ifndef SAFETENSORS_NO_STDIO

static void safetensors__w_discard_file(safetensors_writer *w)
{
    if (!w->file_open) return;
    if (w->tmp.handle != SAFETENSORS__OS_NO_HANDLE) (void)safetensors__os_close_handle(w->tmp.handle);
    w->tmp.handle = SAFETENSORS__OS_NO_HANDLE;
    safetensors__os_remove(w->tmp.native);
    w->file_open = 0;
}

/* The file sink: a temporary file that only its owner may read until
   finish gives it its final permissions, just before the rename. The
   permissions a new file would get are learnt now, so that finish cannot
   fail for want of them. */
static safetensors_result safetensors__w_open_file(safetensors_writer *w, const char *path, safetensors_error *e)
{
    int sys = 0;
    safetensors_result r;
    safetensors__os_temp_free(&w->tmp, &w->alloc);
    safetensors__free(&w->alloc, w->dest, w->dest_size);
    w->dest = safetensors__os_native(path, &w->alloc, &w->dest_size, &sys);
    if (w->dest == NULL) {
        if (w->dest_size) r = safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        else r = safetensors__err_io(e, sys, SAFETENSORS__SYS_OS, "cannot write to", path, strlen(path), NULL);
        w->dest_size = 0;
        return r;
    }
    r = safetensors__os_new_file_mode(path, w->seed, &w->alloc, &w->new_mode, e);
    if (r == SAFETENSORS_OK) r = safetensors__os_create_temp(&w->tmp, path, 0600u, w->seed, &w->alloc, e);
    w->file_open = r == SAFETENSORS_OK;
    return r;
}

/* Permissions (the replaced file's, or a new file's), sync, close, rename
   over the path, and then make the rename durable. */
static void safetensors__w_commit_file(safetensors_writer *w)
{
    int sync = !(w->flags & SAFETENSORS_WRITE_NO_SYNC), sys;
    unsigned mode = w->new_mode;
    const char *tmp = w->tmp.name;
    (void)safetensors__os_file_mode(w->dest, &mode);
    if ((sys = safetensors__os_set_mode(w->tmp.handle, mode)) != 0) {
        safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_OS, "cannot set the permissions of", tmp, strlen(tmp));
        return;
    }
    if (sync && (sys = safetensors__os_sync(w->tmp.handle)) != 0) {
        safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_OS, "cannot flush to disk", tmp, strlen(tmp));
        return;
    }
    sys = safetensors__os_close_handle(w->tmp.handle);
    w->tmp.handle = SAFETENSORS__OS_NO_HANDLE;
    if (sys != 0) {
        safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_OS, "cannot close", tmp, strlen(tmp));
        return;
    }
    if ((sys = safetensors__os_rename(w->tmp.native, w->dest)) != 0) {
        /* the path is the temporary name less its suffix */
        safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_OS, "cannot rename the temporary file over", tmp,
                               strlen(tmp) - SAFETENSORS__TEMP_SUFFIX);
        return;
    }
    w->file_open = 0;
    if (sync) safetensors__os_sync_folder(w->dest);
}

#else /* SAFETENSORS_NO_STDIO */

static void safetensors__w_discard_file(safetensors_writer *w)
{
    (void)w;
}

#endif /* SAFETENSORS_NO_STDIO */

/* Hands n > 0 bytes to the sink; on failure the writer fails (sticky). */
static void safetensors__w_sink_write(safetensors_writer *w, const void *bytes, size_t n)
{
    const unsigned char *s = (const unsigned char *)(bytes);
    switch (w->sink) {
    case SAFETENSORS__W_SINK_MEMORY: /* room checked at begin */
        memcpy(w->mem + (size_t)w->out_pos, s, n);
        w->out_pos += n;
        return;
    case SAFETENSORS__W_SINK_CALLBACK: {
        size_t took = w->fn(w->fn_ctx, s, n);
        if (took != n) {
            if (took < n) w->out_pos += took;
            safetensors__w_fail_io(w, 0, SAFETENSORS__SYS_OS, "the write callback did not take every byte", NULL, 0);
            return;
        }
        w->out_pos += n;
        return;
    }
#ifndef SAFETENSORS_NO_STDIO
    case SAFETENSORS__W_SINK_STREAM: {
        size_t took;
        errno = 0;
        took = fwrite(s, 1, n, w->stream);
        w->out_pos += took;
        if (took != n) safetensors__w_fail_io(w, errno, SAFETENSORS__SYS_CRT, "cannot write to the stream", NULL, 0);
        return;
    }
    case SAFETENSORS__W_SINK_FILE:
    case SAFETENSORS__W_SINK_FD:
        while (n > 0) {
            int sys = 0;
            long put = w->sink == SAFETENSORS__W_SINK_FILE ? safetensors__os_write(w->tmp.handle, s, n, &sys)
                                                           : safetensors__os_write_fd(w->fd, s, n, &sys);
            if (put <= 0) {
                if (w->sink == SAFETENSORS__W_SINK_FILE)
                    safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_OS, "cannot write the temporary file", w->tmp.name,
                                           w->tmp.name_size - 1u);
                else
                    safetensors__w_fail_io(w, sys, SAFETENSORS__SYS_CRT, "cannot write to the file descriptor", NULL,
                                           0);
                return;
            }
            s += put;
            n -= (size_t)put;
            w->out_pos += (uint64_t)put;
        }
        return;
#endif
    default: return;
    }
}

/* Moves `next` past every tensor that ends at or before pos. */
static void safetensors__w_advance(safetensors_writer *w)
{
    while (w->next < w->entry_count && w->views[w->next].end <= w->pos) w->next++;
}

/* Before a sink is chosen: NULL, sticky failure, order; plans. */
static safetensors_result safetensors__w_begin_check(safetensors_writer *w, safetensors_error *e)
{
    if (w == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the writer is NULL");
    if (w->failed) {
        *e = w->error;
        return e->code;
    }
    if (w->state == SAFETENSORS__W_WRITING || w->state == SAFETENSORS__W_FINISHED)
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the output has already begun");
    return safetensors__w_plan(w, e);
}

/* The sink is set: the length, the JSON and the padding. */
static safetensors_result safetensors__w_begin_output(safetensors_writer *w, safetensors_error *e)
{
    unsigned char length[SAFETENSORS__LENGTH_BYTES];
    safetensors__w_emit out;
    uint64_t pad;
    size_t k;
    static const char spaces[] = "                                ";
    w->state = SAFETENSORS__W_WRITING;
    w->out_pos = 0;
    w->pos = 0;
    w->next = 0;
    w->stage_len = 0;
    safetensors__w_advance(w);
    for (k = 0; k < SAFETENSORS__LENGTH_BYTES; k++) length[k] = (unsigned char)(w->header_size >> (8u * k));
    out.w = w;
    out.len = 0;
    safetensors__w_put(&out, (const char *)((const void *)length), sizeof length);
    safetensors__w_put_json(&out, w);
    for (pad = w->header_size - w->json_len; pad > 0;) {
        size_t take = pad < sizeof spaces - 1u ? (size_t)pad : sizeof spaces - 1u;
        safetensors__w_put(&out, spaces, take);
        pad -= take;
    }
    safetensors__w_flush_stage(w);
    if (w->failed) {
        *e = w->error;
        return e->code;
    }
    return SAFETENSORS_OK;
}

#ifndef SAFETENSORS_NO_STDIO

SAFETENSORS_API safetensors_result safetensors_writer_begin_file(safetensors_writer *w, const char *path,
                                                                 safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_begin_check(w, &e);
    if (r == SAFETENSORS_OK && path == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "path is NULL");
    if (r == SAFETENSORS_OK) r = safetensors__w_open_file(w, path, &e);
    if (r == SAFETENSORS_OK) {
        w->sink = SAFETENSORS__W_SINK_FILE;
        r = safetensors__w_begin_output(w, &e);
    }
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_begin_fd(safetensors_writer *w, int fd, safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_begin_check(w, &e);
    if (r == SAFETENSORS_OK && fd < 0) r = safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "fd is negative");
    if (r == SAFETENSORS_OK) {
        w->fd = fd;
        w->sink = SAFETENSORS__W_SINK_FD;
        r = safetensors__w_begin_output(w, &e);
    }
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_begin_stream(safetensors_writer *w, FILE *stream,
                                                                   safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_begin_check(w, &e);
    if (r == SAFETENSORS_OK && stream == NULL)
        r = safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "stream is NULL");
    if (r == SAFETENSORS_OK) {
        w->stream = stream;
        w->sink = SAFETENSORS__W_SINK_STREAM;
        r = safetensors__w_begin_output(w, &e);
    }
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

#endif /* SAFETENSORS_NO_STDIO */

SAFETENSORS_API safetensors_result safetensors_writer_begin_memory(safetensors_writer *w, void *buffer,
                                                                   size_t capacity, safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_begin_check(w, &e);
    if (r == SAFETENSORS_OK) {
        uint64_t need = safetensors_writer_file_size(w);
        if (buffer == NULL || (uint64_t)capacity < need) {
            safetensors__err_set(&e, SAFETENSORS_ERR_ARGUMENT, 0);
            safetensors__err_add(&e, "the buffer holds ");
            safetensors__err_add_u64(&e, buffer == NULL ? 0u : (uint64_t)capacity);
            safetensors__err_add(&e, " bytes but the file needs ");
            safetensors__err_add_u64(&e, need);
            r = SAFETENSORS_ERR_ARGUMENT;
        }
    }
    if (r == SAFETENSORS_OK) {
        w->mem = (unsigned char *)(buffer);
        w->sink = SAFETENSORS__W_SINK_MEMORY;
        r = safetensors__w_begin_output(w, &e);
    }
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_begin_callback(safetensors_writer *w,
                                                                     safetensors_write_fn fn, void *ctx,
                                                                     safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_begin_check(w, &e);
    if (r == SAFETENSORS_OK && fn == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "fn is NULL");
    if (r == SAFETENSORS_OK) {
        w->fn = fn;
        w->fn_ctx = ctx;
        w->sink = SAFETENSORS__W_SINK_CALLBACK;
        r = safetensors__w_begin_output(w, &e);
    }
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

/* --- data --- */

static safetensors_result safetensors__w_check_writing(safetensors_writer *w, const void *bytes, size_t len,
                                                       safetensors_error *e)
{
    if (w == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the writer is NULL");
    if (w->failed) {
        *e = w->error;
        return e->code;
    }
    if (w->state != SAFETENSORS__W_WRITING)
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0,
                                       w->state == SAFETENSORS__W_FINISHED
                                           ? "the writer has finished"
                                           : "no output yet: call a safetensors_writer_begin_* function first");
    if (bytes == NULL && len != 0) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "bytes is NULL");
    return SAFETENSORS_OK;
}

static safetensors_result safetensors__w_data(safetensors_writer *w, const void *bytes, size_t len,
                                              safetensors_error *e)
{
    if (len == 0) return SAFETENSORS_OK;
    safetensors__w_sink_write(w, bytes, len);
    if (w->failed) {
        *e = w->error;
        return e->code;
    }
    w->pos += len;
    safetensors__w_advance(w);
    return SAFETENSORS_OK;
}

/* "tensor "x": 4 of 16 bytes were written" + text */
static void safetensors__w_err_partial(const safetensors_writer *w, safetensors_error *e, const char *text)
{
    const safetensors_tensor *t = &w->views[w->next];
    safetensors__w_err_tensor(e, SAFETENSORS_ERR_SIZE, SAFETENSORS__LENGTH_BYTES + w->header_size + w->pos,
                              t->name, t->name_len, "");
    safetensors__err_add_u64(e, w->pos - t->begin);
    safetensors__err_add(e, " of its ");
    safetensors__err_add_u64(e, t->end - t->begin);
    safetensors__err_add(e, " bytes (");
    safetensors__err_add_dtype_shape(e, (unsigned)t->dtype, t->shape, t->ndim);
    safetensors__err_add(e, ") were written");
    safetensors__err_add(e, text);
}

SAFETENSORS_API safetensors_result safetensors_writer_write(safetensors_writer *w, const void *bytes, size_t len,
                                                            safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_check_writing(w, bytes, len, &e);
    if (r == SAFETENSORS_OK && (uint64_t)len > w->data_size - w->pos) {
        safetensors__err_set(&e, SAFETENSORS_ERR_SIZE, SAFETENSORS__LENGTH_BYTES + w->header_size + w->pos);
        safetensors__err_add(&e, "the write of ");
        safetensors__err_add_u64(&e, (uint64_t)len);
        safetensors__err_add(&e, " bytes runs past the end of the data section, which has ");
        safetensors__err_add_u64(&e, w->data_size - w->pos);
        safetensors__err_add(&e, " bytes left");
        if (w->entry_count) {
            const safetensors_tensor *last = &w->views[w->entry_count - 1u];
            safetensors__err_add(&e, " (the last tensor is ");
            safetensors__err_add_name(&e, last->name, last->name_len);
            safetensors__err_add(&e, ")");
        }
        r = SAFETENSORS_ERR_SIZE;
    }
    if (r == SAFETENSORS_OK) r = safetensors__w_data(w, bytes, len, &e);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_write_tensor(safetensors_writer *w, size_t k,
                                                                   const void *bytes, size_t len,
                                                                   safetensors_error *err)
{
    safetensors_error e;
    const safetensors_tensor *t;
    safetensors_result r = safetensors__w_check_writing(w, bytes, len, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    if (k >= w->entry_count) {
        safetensors__err_set(&e, SAFETENSORS_ERR_ARGUMENT, 0);
        safetensors__err_add(&e, "tensor index ");
        safetensors__err_add_u64(&e, (uint64_t)k);
        safetensors__err_add(&e, " is out of range: there are ");
        safetensors__err_add_u64(&e, (uint64_t)w->entry_count);
        safetensors__err_add(&e, " tensors");
        return safetensors__w_out(err, &e);
    }
    t = &w->views[k];
    if (w->pos < t->begin) {
        safetensors__w_err_partial(w, &e, " when tensor ");
        safetensors__err_add_name(&e, t->name, t->name_len);
        safetensors__err_add(&e, " was started");
        return safetensors__w_out(err, &e);
    }
    if ((uint64_t)len > (w->pos < t->end ? t->end - w->pos : 0u)) {
        safetensors__w_err_tensor(&e, SAFETENSORS_ERR_SIZE, SAFETENSORS__LENGTH_BYTES + w->header_size + w->pos,
                                  t->name, t->name_len, "the write of ");
        safetensors__err_add_u64(&e, (uint64_t)len);
        safetensors__err_add(&e, " bytes runs past its end: ");
        safetensors__err_add_dtype_shape(&e, (unsigned)t->dtype, t->shape, t->ndim);
        safetensors__err_add(&e, " holds ");
        safetensors__err_add_u64(&e, t->end - t->begin);
        safetensors__err_add(&e, " bytes, ");
        safetensors__err_add_u64(&e, (w->pos < t->end ? w->pos : t->end) - t->begin);
        safetensors__err_add(&e, " written so far");
        return safetensors__w_out(err, &e);
    }
    r = safetensors__w_data(w, bytes, len, &e);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API safetensors_result safetensors_writer_finish(safetensors_writer *w, safetensors_error *err)
{
    safetensors_error e;
    safetensors_result r = safetensors__w_check_writing(w, NULL, 0, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    if (w->pos < w->data_size) {
        safetensors__w_err_partial(w, &e, "; the data section is incomplete");
        return safetensors__w_out(err, &e);
    }
    safetensors__w_flush_stage(w);
#ifndef SAFETENSORS_NO_STDIO
    if (!w->failed && w->sink == SAFETENSORS__W_SINK_STREAM) {
        errno = 0;
        if (fflush(w->stream) != 0)
            safetensors__w_fail_io(w, errno, SAFETENSORS__SYS_CRT, "cannot flush the stream", NULL, 0);
    }
    if (!w->failed && w->sink == SAFETENSORS__W_SINK_FILE) safetensors__w_commit_file(w);
#endif
    if (w->failed) return safetensors__w_out(err, &w->error);
    w->state = SAFETENSORS__W_FINISHED;
    return SAFETENSORS_OK;
}

/* --- one call --- */

/* Declares everything and checks every size; the writer is then planned. */
static safetensors_result safetensors__w_declare_all(safetensors_writer *w, const safetensors_tensor_input *tensors,
                                                     size_t n, const safetensors_metadata_entry *metadata, size_t m,
                                                     safetensors_error *e)
{
    size_t k;
    safetensors_result r;
    if ((tensors == NULL && n != 0) || (metadata == NULL && m != 0))
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0,
                                       tensors == NULL && n != 0 ? "tensors is NULL" : "metadata is NULL");
    for (k = 0; k < m; k++) {
        r = safetensors_writer_add_metadata(w, metadata[k].key, metadata[k].key_len, metadata[k].value,
                                            metadata[k].value_len, e);
        if (r != SAFETENSORS_OK) return r;
    }
    for (k = 0; k < n; k++) {
        const safetensors_tensor_input *t = &tensors[k];
        const safetensors__w_entry *entry;
        r = safetensors__w_add_tensor(w, t->name, t->name_len, t->dtype, t->ndim, t->shape, e);
        if (r != SAFETENSORS_OK) return r;
        entry = &w->entries[k];
        if (t->size != entry->bytes) {
            safetensors__w_err_tensor(e, SAFETENSORS_ERR_SIZE, 0, w->arena + entry->name_off, entry->name_len, "");
            safetensors__err_add_u64(e, t->size);
            safetensors__err_add(e, " bytes given but ");
            safetensors__err_add_dtype_shape(e, entry->dtype, w->dims + entry->shape_off, entry->ndim);
            safetensors__err_add(e, " needs ");
            safetensors__err_add_u64(e, entry->bytes);
            return SAFETENSORS_ERR_SIZE;
        }
        if (t->size > (uint64_t)(size_t)-1)
            return safetensors__err_simple(e, SAFETENSORS_ERR_TOO_LARGE, 0,
                                           "a tensor is larger than this host's address space");
        if (t->data == NULL && t->size != 0) {
            safetensors__w_err_tensor(e, SAFETENSORS_ERR_ARGUMENT, 0, w->arena + entry->name_off, entry->name_len,
                                      "data is NULL");
            return SAFETENSORS_ERR_ARGUMENT;
        }
    }
    return safetensors_writer_plan(w, e);
}

/* After begin: every tensor's bytes, in data order, then finish. */
static safetensors_result safetensors__w_write_all(safetensors_writer *w, const safetensors_tensor_input *tensors,
                                                   safetensors_error *e)
{
    size_t k;
    for (k = 0; k < w->entry_count; k++) {
        const safetensors_tensor_input *t = &tensors[w->order[k]];
        safetensors_result r = safetensors_writer_write_tensor(w, k, t->data, (size_t)t->size, e);
        if (r != SAFETENSORS_OK) return r;
    }
    return safetensors_writer_finish(w, e);
}

#ifndef SAFETENSORS_NO_STDIO
SAFETENSORS_API safetensors_result safetensors_write_file(const char *path, const safetensors_tensor_input *tensors,
                                                          size_t n, const safetensors_metadata_entry *metadata,
                                                          size_t m, const safetensors_write_options *opt,
                                                          safetensors_error *err)
{
    safetensors_error e;
    safetensors_writer *w = NULL;
    safetensors_result r = safetensors_writer_create(opt, &w, &e);
    if (r == SAFETENSORS_OK) r = safetensors__w_declare_all(w, tensors, n, metadata, m, &e);
    if (r == SAFETENSORS_OK) r = safetensors_writer_begin_file(w, path, &e);
    if (r == SAFETENSORS_OK) r = safetensors__w_write_all(w, tensors, &e);
    safetensors_writer_destroy(w);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}
#endif

SAFETENSORS_API safetensors_result safetensors_write_memory(const safetensors_tensor_input *tensors, size_t n,
                                                            const safetensors_metadata_entry *metadata, size_t m,
                                                            const safetensors_write_options *opt, void **out,
                                                            size_t *out_len, safetensors_error *err)
{
    safetensors_error e;
    safetensors_writer *w = NULL;
    void *buffer = NULL;
    size_t size = 0;
    safetensors_result r;
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (out == NULL || out_len == NULL) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "out and out_len must not be NULL");
        return safetensors__w_out(err, &e);
    }
    r = safetensors_writer_create(opt, &w, &e);
    if (r == SAFETENSORS_OK) r = safetensors__w_declare_all(w, tensors, n, metadata, m, &e);
    if (r == SAFETENSORS_OK) {
        uint64_t need = safetensors_writer_file_size(w);
        if (need > (uint64_t)(size_t)-1) {
            r = safetensors__err_simple(&e, SAFETENSORS_ERR_TOO_LARGE, 0,
                                        "the file is larger than this host's address space");
        } else {
            size = (size_t)need;
            buffer = safetensors__alloc(&w->alloc, size);
            if (buffer == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        }
    }
    if (r == SAFETENSORS_OK) r = safetensors_writer_begin_memory(w, buffer, size, &e);
    if (r == SAFETENSORS_OK) r = safetensors__w_write_all(w, tensors, &e);
    if (r == SAFETENSORS_OK) {
        *out = buffer;
        *out_len = size;
    } else if (buffer != NULL) {
        safetensors__free(&w->alloc, buffer, size);
    }
    safetensors_writer_destroy(w);
    return r == SAFETENSORS_OK ? r : safetensors__w_out(err, &e);
}

SAFETENSORS_API void safetensors_write_memory_free(const safetensors_write_options *opt, void *bytes, size_t len)
{
    safetensors_allocator a;
    memset(&a, 0, sizeof a);
    if (opt) a = opt->allocator;
    safetensors__free(&a, bytes, len);
}


/* --- sharded checkpoints --- */
#ifndef SAFETENSORS_NO_STDIO
/* A catalog writer takes every declaration (and so checks it as the file
   writer would); begin reads the catalog's plan for sizes and names,
   cuts the declarations into contiguous runs, one a shard, and gives each
   run a writer of its own. Shard s holds declarations [first[s],
   first[s + 1]), which are also its tensors' places in the write order. */
struct safetensors_shard_writer {
    safetensors_allocator alloc;
    safetensors_write_options opt;
    uint64_t max_shard;
    safetensors_writer *catalog;
    safetensors_writer **shards;
    size_t shard_count;
    size_t *first;    /* shard_count + 1 entries */
    char **names;     /* file names of the shards */
    size_t *name_sizes;
    char *index_path; /* NULL with one shard */
    size_t index_path_size;
    char *dir;        /* "" or ending in a separator */
    size_t dir_size;
    int begun, finished;
};

static safetensors_result safetensors__sw_check(const safetensors_shard_writer *sw, int begun, safetensors_error *e)
{
    if (sw == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0, "the shard writer is NULL");
    if (sw->finished || sw->begun != begun)
        return safetensors__err_simple(e, SAFETENSORS_ERR_ARGUMENT, 0,
                                       begun ? "call safetensors_shard_writer_begin first"
                                             : "the shard writer has already begun");
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_create(const safetensors_write_options *opt,
                                                                   uint64_t max_shard_size,
                                                                   safetensors_shard_writer **out,
                                                                   safetensors_error *err)
{
    safetensors_error e;
    safetensors_writer *catalog = NULL;
    safetensors_shard_writer *sw;
    safetensors_result r;
    if (out) *out = NULL;
    if (out == NULL || max_shard_size == 0) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0,
                                out ? "max_shard_size must be at least 1" : "out must not be NULL");
        return safetensors__w_out(err, &e);
    }
    r = safetensors_writer_create(opt, &catalog, err);
    if (r != SAFETENSORS_OK) return r;
    sw = (safetensors_shard_writer *)(safetensors__alloc(&catalog->alloc, sizeof *sw));
    if (sw == NULL) {
        safetensors_writer_destroy(catalog);
        safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        return safetensors__w_out(err, &e);
    }
    memset(sw, 0, sizeof *sw);
    sw->alloc = catalog->alloc;
    if (opt) sw->opt = *opt;
    sw->max_shard = max_shard_size;
    sw->catalog = catalog;
    *out = sw;
    return SAFETENSORS_OK;
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_add_metadata(safetensors_shard_writer *sw, const char *key,
                                                                         size_t key_len, const char *value,
                                                                         size_t value_len, safetensors_error *err)
{
    safetensors_error e;
    if (safetensors__sw_check(sw, 0, &e) != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    return safetensors_writer_add_metadata(sw->catalog, key, key_len, value, value_len, err);
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_add_tensor(safetensors_shard_writer *sw, const char *name,
                                                                       size_t name_len, safetensors_dtype dtype,
                                                                       size_t ndim, const uint64_t *shape,
                                                                       safetensors_error *err)
{
    safetensors_error e;
    if (safetensors__sw_check(sw, 0, &e) != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    return safetensors_writer_add_tensor(sw->catalog, name, name_len, dtype, ndim, shape, err);
}

/* Everything begin made, given back; the temporary files are removed. */
static void safetensors__sw_undo(safetensors_shard_writer *sw)
{
    const safetensors_allocator *a = &sw->alloc;
    size_t s;
    for (s = 0; s < sw->shard_count; s++) {
        if (sw->shards) safetensors_writer_destroy(sw->shards[s]);
        if (sw->names) safetensors__free(a, sw->names[s], sw->name_sizes[s]);
    }
    safetensors__free(a, sw->shards, sw->shard_count * sizeof *sw->shards);
    safetensors__free(a, sw->names, sw->shard_count * sizeof *sw->names);
    safetensors__free(a, sw->name_sizes, sw->shard_count * sizeof *sw->name_sizes);
    safetensors__free(a, sw->first, (sw->shard_count + 1) * sizeof *sw->first);
    safetensors__free(a, sw->index_path, sw->index_path_size);
    safetensors__free(a, sw->dir, sw->dir_size);
    sw->shards = NULL;
    sw->names = NULL;
    sw->name_sizes = NULL;
    sw->first = NULL;
    sw->index_path = sw->dir = NULL;
    sw->shard_count = 0;
    sw->begun = 0;
}

/* Decimal digits of v, at least `width` of them, into out; returns the
   count (at most 20). */
static size_t safetensors__sw_digits(char *out, uint64_t v, size_t width)
{
    char tmp[24];
    size_t n = 0, k;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n < width) tmp[n++] = '0';
    for (k = 0; k < n; k++) out[k] = tmp[n - 1 - k];
    return n;
}

/* dir + the pieces, NUL-terminated, newly allocated; *size its size. */
static char *safetensors__sw_join(const safetensors_allocator *a, const char *dir, const char *const *pieces,
                                  const size_t *lens, size_t count, size_t *size)
{
    size_t n = strlen(dir), k, at;
    char *p;
    for (k = 0; k < count; k++) n += lens[k];
    *size = n + 1;
    p = (char *)(safetensors__alloc(a, *size));
    if (p == NULL) return NULL;
    at = strlen(dir);
    memcpy(p, dir, at);
    for (k = 0; k < count; k++) {
        memcpy(p + at, pieces[k], lens[k]);
        at += lens[k];
    }
    p[at] = '\0';
    return p;
}

/* The shard's file name: prefix-00001-of-00004.safetensors, or
   prefix.safetensors alone. */
static char *safetensors__sw_shard_name(const safetensors_allocator *a, const char *prefix, size_t s, size_t count,
                                        size_t *size)
{
    char number[24], total[24];
    const char *pieces[6];
    size_t lens[6];
    pieces[0] = prefix;
    lens[0] = strlen(prefix);
    if (count == 1) {
        pieces[1] = ".safetensors";
        lens[1] = 12;
        return safetensors__sw_join(a, "", pieces, lens, 2, size);
    }
    pieces[1] = "-";
    lens[1] = 1;
    pieces[2] = number;
    lens[2] = safetensors__sw_digits(number, (uint64_t)s + 1u, 5);
    pieces[3] = "-of-";
    lens[3] = 4;
    pieces[4] = total;
    lens[4] = safetensors__sw_digits(total, (uint64_t)count, 5);
    pieces[5] = ".safetensors";
    lens[5] = 12;
    return safetensors__sw_join(a, "", pieces, lens, 6, size);
}

/* Declarations first[s] .. first[s + 1] of the catalog into a new writer,
   which then begins on its temporary file. by_decl maps a declaration to
   its place in the catalog's data order. */
static safetensors_result safetensors__sw_open_shard(safetensors_shard_writer *sw, const uint32_t *by_decl, size_t s,
                                                     safetensors_error *e)
{
    const safetensors_writer *c = sw->catalog;
    safetensors_writer *w = NULL;
    char *path;
    size_t k, path_size, name_len = sw->name_sizes[s] - 1;
    const char *pieces[1];
    safetensors_result r = safetensors_writer_create(&sw->opt, &w, e);
    sw->shards[s] = w;
    for (k = 0; r == SAFETENSORS_OK && k < c->meta_count; k++) {
        const safetensors__w_meta *m = &c->metas[k];
        r = safetensors_writer_add_metadata(w, c->arena + m->key_off, m->key_len, c->arena + m->value_off, m->value_len,
                                            e);
    }
    for (k = sw->first[s]; r == SAFETENSORS_OK && k < sw->first[s + 1]; k++) {
        const safetensors_tensor *t = &c->views[by_decl[k]];
        r = safetensors_writer_add_tensor(w, t->name, t->name_len, t->dtype, t->ndim, t->shape, e);
    }
    if (r != SAFETENSORS_OK) return r;
    pieces[0] = sw->names[s];
    path = safetensors__sw_join(&sw->alloc, sw->dir, pieces, &name_len, 1, &path_size);
    if (path == NULL) return safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    r = safetensors_writer_begin_file(w, path, e);
    safetensors__free(&sw->alloc, path, path_size);
    return r;
}

/* Cuts the declarations into shards: a shard takes tensors while their
   bytes stay within the limit; a tensor over it alone fills one. */
static size_t safetensors__sw_cut(const safetensors_shard_writer *sw, const uint32_t *by_decl, size_t n, size_t *first)
{
    size_t d, count = 0;
    uint64_t used = 0;
    if (first) first[0] = 0;
    for (d = 0; d < n; d++) {
        const safetensors_tensor *t = &sw->catalog->views[by_decl[d]];
        uint64_t size = t->end - t->begin;
        if (d > 0 && (used > sw->max_shard || size > sw->max_shard - used)) {
            count++;
            if (first) first[count] = d;
            used = 0;
        }
        used += size;
    }
    count++;
    if (first) first[count] = n;
    return count;
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_begin(safetensors_shard_writer *sw, const char *dir,
                                                                  const char *prefix, safetensors_error *err)
{
    safetensors_error e;
    const safetensors_allocator *a;
    uint32_t *by_decl = NULL;
    size_t n, k, count, dir_len;
    safetensors_result r = safetensors__sw_check(sw, 0, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    a = &sw->alloc;
    if (prefix == NULL) prefix = "model";
    if (dir == NULL) dir = "";
    r = safetensors_writer_plan(sw->catalog, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    n = sw->catalog->entry_count;
    by_decl = (uint32_t *)(safetensors__alloc(a, n * sizeof *by_decl));
    if (by_decl == NULL) return safetensors__w_out(err, (safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory"), &e));
    for (k = 0; k < n; k++) by_decl[sw->catalog->order[k]] = (uint32_t)k;
    count = safetensors__sw_cut(sw, by_decl, n, NULL);
    /* the folder, with a separator when it needs one */
    dir_len = strlen(dir);
    sw->dir_size = dir_len + 2;
    sw->dir = (char *)(safetensors__alloc(a, sw->dir_size));
    sw->shards = (safetensors_writer **)(safetensors__alloc(a, count * sizeof *sw->shards));
    sw->names = (char **)(safetensors__alloc(a, count * sizeof *sw->names));
    sw->name_sizes = (size_t *)(safetensors__alloc(a, count * sizeof *sw->name_sizes));
    sw->first = (size_t *)(safetensors__alloc(a, (count + 1) * sizeof *sw->first));
    sw->shard_count = count;
    sw->begun = 1;
    if (sw->dir == NULL || sw->shards == NULL || sw->names == NULL || sw->name_sizes == NULL || sw->first == NULL) {
        /* undo must not walk arrays that do not exist */
        if (sw->shards == NULL || sw->names == NULL || sw->name_sizes == NULL) {
            safetensors__free(a, sw->shards, count * sizeof *sw->shards);
            safetensors__free(a, sw->names, count * sizeof *sw->names);
            safetensors__free(a, sw->name_sizes, count * sizeof *sw->name_sizes);
            sw->shards = NULL;
            sw->names = NULL;
            sw->name_sizes = NULL;
        }
        r = safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    for (k = 0; k < count; k++) {
        sw->shards[k] = NULL;
        sw->names[k] = NULL;
        sw->name_sizes[k] = 0;
    }
    memcpy(sw->dir, dir, dir_len);
    if (dir_len && dir[dir_len - 1] != '/' && dir[dir_len - 1] != '\\') sw->dir[dir_len++] = '/';
    sw->dir[dir_len] = '\0';
    safetensors__sw_cut(sw, by_decl, n, sw->first);
    for (k = 0; r == SAFETENSORS_OK && k < count; k++) {
        sw->names[k] = safetensors__sw_shard_name(a, prefix, k, count, &sw->name_sizes[k]);
        if (sw->names[k] == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    }
    if (r == SAFETENSORS_OK && count > 1) {
        const char *pieces[2];
        size_t lens[2];
        pieces[0] = prefix;
        lens[0] = strlen(prefix);
        pieces[1] = ".safetensors.index.json";
        lens[1] = 23;
        sw->index_path = safetensors__sw_join(a, sw->dir, pieces, lens, 2, &sw->index_path_size);
        if (sw->index_path == NULL) r = safetensors__err_simple(&e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
    }
    for (k = 0; r == SAFETENSORS_OK && k < count; k++) r = safetensors__sw_open_shard(sw, by_decl, k, &e);
out:
    safetensors__free(a, by_decl, n * sizeof *by_decl);
    if (r != SAFETENSORS_OK) {
        safetensors__sw_undo(sw);
        return safetensors__w_out(err, &e);
    }
    return SAFETENSORS_OK;
}

SAFETENSORS_API size_t safetensors_shard_writer_shard_count(const safetensors_shard_writer *sw)
{
    return sw && sw->begun ? sw->shard_count : 0;
}

SAFETENSORS_API const char *safetensors_shard_writer_shard_name(const safetensors_shard_writer *sw, size_t i)
{
    return sw && sw->begun && i < sw->shard_count ? sw->names[i] : NULL;
}

SAFETENSORS_API size_t safetensors_shard_writer_tensor_count(const safetensors_shard_writer *sw)
{
    return sw ? safetensors_writer_tensor_count(sw->catalog) : 0;
}

/* The shard that holds write position k (k < tensor count): bisection
   over the shards' first positions. */
static size_t safetensors__sw_shard_of(const safetensors_shard_writer *sw, size_t k)
{
    size_t lo = 0, hi = sw->shard_count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sw->first[mid] <= k) lo = mid;
        else hi = mid;
    }
    return lo;
}

SAFETENSORS_API const safetensors_tensor *safetensors_shard_writer_tensor_at(const safetensors_shard_writer *sw,
                                                                             size_t k, size_t *shard)
{
    size_t s;
    if (sw == NULL || !sw->begun || k >= sw->first[sw->shard_count]) return NULL;
    s = safetensors__sw_shard_of(sw, k);
    if (shard) *shard = s;
    return safetensors_writer_tensor_at(sw->shards[s], k - sw->first[s]);
}

SAFETENSORS_API size_t safetensors_shard_writer_declaration_index(const safetensors_shard_writer *sw, size_t k)
{
    size_t s;
    if (sw == NULL || !sw->begun || k >= sw->first[sw->shard_count]) return (size_t)-1;
    s = safetensors__sw_shard_of(sw, k);
    return sw->first[s] + safetensors_writer_declaration_index(sw->shards[s], k - sw->first[s]);
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_write_tensor(safetensors_shard_writer *sw, size_t k,
                                                                         const void *bytes, size_t len,
                                                                         safetensors_error *err)
{
    safetensors_error e;
    size_t s;
    if (safetensors__sw_check(sw, 1, &e) != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    if (k >= sw->first[sw->shard_count]) {
        safetensors__err_simple(&e, SAFETENSORS_ERR_ARGUMENT, 0, "no tensor has that index");
        return safetensors__w_out(err, &e);
    }
    s = safetensors__sw_shard_of(sw, k);
    return safetensors_writer_write_tensor(sw->shards[s], k - sw->first[s], bytes, len, err);
}

/* Appends bytes to a growable buffer; 0 when memory runs out. */
static int safetensors__sw_put(const safetensors_allocator *a, char **buf, size_t *len, size_t *cap, const char *s,
                               size_t n)
{
    char *fresh = (char *)(safetensors__grow(a, *buf, cap, *len + n, 1));
    if (fresh == NULL) return 0;
    *buf = fresh;
    memcpy(*buf + *len, s, n);
    *len += n;
    return 1;
}

/* A JSON string as Python's json.dumps writes it with ensure_ascii: the
   short escapes for " \ \n \r \t \b \f, \u00XX for the other bytes
   below 0x20, and every code point from 0x7f up as \uXXXX (lowercase hex),
   above U+FFFF as a surrogate pair. The text is valid UTF-8 (the writer
   checked every name). */
static int safetensors__sw_put_py_string(const safetensors_allocator *a, char **buf, size_t *len, size_t *cap,
                                         const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    if (!safetensors__sw_put(a, buf, len, cap, "\"", 1)) return 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        size_t more = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3, k;
        char esc[12];
        const char *out = esc;
        size_t out_len = 2;
        for (k = 1; k <= more; k++) cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3fu);
        if (more) cp &= more == 1 ? 0x7ffu : more == 2 ? 0xffffu : 0x1fffffu;
        i += more + 1;
        esc[0] = '\\';
        if (cp == '"' || cp == '\\') esc[1] = (char)cp;
        else if (cp == '\n') esc[1] = 'n';
        else if (cp == '\r') esc[1] = 'r';
        else if (cp == '\t') esc[1] = 't';
        else if (cp == '\b') esc[1] = 'b';
        else if (cp == '\f') esc[1] = 'f';
        else if (cp >= 0x20 && cp < 0x7f) {
            esc[0] = (char)cp;
            out_len = 1;
        } else {
            uint32_t units[2];
            size_t u, count = 1;
            units[0] = cp;
            if (cp > 0xffffu) {
                units[0] = 0xd800u + ((cp - 0x10000u) >> 10);
                units[1] = 0xdc00u + ((cp - 0x10000u) & 0x3ffu);
                count = 2;
            }
            for (u = 0, out_len = 0; u < count; u++) {
                esc[out_len++] = '\\';
                esc[out_len++] = 'u';
                for (k = 0; k < 4; k++) esc[out_len++] = hex[(units[u] >> (12 - 4 * k)) & 15u];
            }
        }
        if (!safetensors__sw_put(a, buf, len, cap, out, out_len)) return 0;
    }
    return safetensors__sw_put(a, buf, len, cap, "\"", 1);
}

static const char *safetensors__sw_view_name(const void *table, size_t i, size_t *len)
{
    const safetensors_tensor *t = (const safetensors_tensor *)(table) + i;
    *len = t->name_len;
    return t->name;
}

static int safetensors__sw_name_before(const void *ctx, uint32_t a, uint32_t b)
{
    size_t la, lb;
    const char *na = safetensors__sw_view_name(ctx, a, &la), *nb = safetensors__sw_view_name(ctx, b, &lb);
    return safetensors__name_compare(na, la, nb, lb) < 0;
}

/* The index text, json.dumps(index, indent=2, sort_keys=True) + "\n". */
static safetensors_result safetensors__sw_index_text(const safetensors_shard_writer *sw, char **buf, size_t *len,
                                                     size_t *cap, safetensors_error *e)
{
    const safetensors_allocator *a = &sw->alloc;
    const safetensors_writer *c = sw->catalog;
    size_t n = c->entry_count, k;
    uint32_t *order = (uint32_t *)(safetensors__alloc(a, n * sizeof *order));
    uint32_t *tmp = (uint32_t *)(safetensors__alloc(a, n * sizeof *tmp));
    uint32_t *shard_of = (uint32_t *)(safetensors__alloc(a, n * sizeof *shard_of));
    char digits[24];
    int ok = order && tmp && shard_of;
    uint64_t total = 0, parameters = 0;
    for (k = 0; ok && k < n; k++) {
        order[k] = (uint32_t)k;
        total += c->views[k].end - c->views[k].begin;
        parameters += safetensors_tensor_element_count(&c->views[k]);
    }
    for (k = 0; ok && k < sw->shard_count; k++) {
        size_t d;
        /* catalog data order -> shard: through the declaration index */
        for (d = sw->first[k]; d < sw->first[k + 1]; d++) tmp[d] = (uint32_t)k;
    }
    for (k = 0; ok && k < n; k++) shard_of[k] = tmp[c->order[k]];
    if (ok) safetensors__sort_indices(order, tmp, n, safetensors__sw_name_before, c->views);
    ok = ok && safetensors__sw_put(a, buf, len, cap, "{\n  \"metadata\": {\n    \"total_parameters\": ", 42) &&
         safetensors__sw_put(a, buf, len, cap, digits, safetensors__sw_digits(digits, parameters, 1)) &&
         safetensors__sw_put(a, buf, len, cap, ",\n    \"total_size\": ", 20) &&
         safetensors__sw_put(a, buf, len, cap, digits, safetensors__sw_digits(digits, total, 1)) &&
         safetensors__sw_put(a, buf, len, cap, "\n  },\n  \"weight_map\": {", 23);
    for (k = 0; ok && k < n; k++) {
        const safetensors_tensor *t = &c->views[order[k]];
        const char *shard = sw->names[shard_of[order[k]]];
        ok = safetensors__sw_put(a, buf, len, cap, k ? ",\n    " : "\n    ", k ? 6 : 5) &&
             safetensors__sw_put_py_string(a, buf, len, cap, t->name, t->name_len) &&
             safetensors__sw_put(a, buf, len, cap, ": ", 2) &&
             safetensors__sw_put_py_string(a, buf, len, cap, shard, strlen(shard));
    }
    ok = ok && safetensors__sw_put(a, buf, len, cap, n ? "\n  }\n}\n" : "}\n}\n", n ? 7 : 4);
    safetensors__free(a, order, n * sizeof *order);
    safetensors__free(a, tmp, n * sizeof *tmp);
    safetensors__free(a, shard_of, n * sizeof *shard_of);
    return ok ? SAFETENSORS_OK : safetensors__err_simple(e, SAFETENSORS_ERR_NOMEM, 0, "out of memory");
}

/* The index through the file sink's own temporary file and rename, by a
   writer that carries no tensors: the same durability as the shards. */
static safetensors_result safetensors__sw_write_index(safetensors_shard_writer *sw, safetensors_error *e)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    safetensors_writer *w = NULL;
    safetensors_result r = safetensors__sw_index_text(sw, &text, &len, &cap, e);
    if (r == SAFETENSORS_OK) r = safetensors_writer_create(&sw->opt, &w, e);
    if (r == SAFETENSORS_OK) r = safetensors__w_open_file(w, sw->index_path, e);
    if (r == SAFETENSORS_OK) {
        w->sink = SAFETENSORS__W_SINK_FILE;
        if (len) safetensors__w_sink_write(w, text, len);
        if (!w->failed) safetensors__w_commit_file(w);
        if (w->failed) {
            *e = w->error;
            r = e->code;
        }
    }
    safetensors_writer_destroy(w);
    safetensors__free(&sw->alloc, text, cap);
    return r;
}

SAFETENSORS_API safetensors_result safetensors_shard_writer_finish(safetensors_shard_writer *sw,
                                                                   safetensors_error *err)
{
    safetensors_error e;
    size_t s;
    safetensors_result r = safetensors__sw_check(sw, 1, &e);
    if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    /* first every shard whole, so that a refusal commits nothing */
    for (s = 0; s < sw->shard_count; s++)
        if (safetensors_writer_next_tensor(sw->shards[s]) < safetensors_writer_tensor_count(sw->shards[s]) ||
            sw->shards[s]->failed)
            return safetensors_writer_finish(sw->shards[s], err);
    for (s = 0; s < sw->shard_count; s++) {
        r = safetensors_writer_finish(sw->shards[s], err);
        if (r != SAFETENSORS_OK) return r;
    }
    if (sw->index_path) {
        r = safetensors__sw_write_index(sw, &e);
        if (r != SAFETENSORS_OK) return safetensors__w_out(err, &e);
    }
    sw->finished = 1;
    return SAFETENSORS_OK;
}

SAFETENSORS_API void safetensors_shard_writer_destroy(safetensors_shard_writer *sw)
{
    safetensors_allocator a;
    if (sw == NULL) return;
    a = sw->alloc;
    safetensors__sw_undo(sw);
    safetensors_writer_destroy(sw->catalog);
    safetensors__free(&a, sw, sizeof *sw);
}
#endif /* !SAFETENSORS_NO_STDIO */

#endif /* SAFETENSORS_NO_WRITER */

#endif /* SAFETENSORS_IMPLEMENTATION_ONCE */
#endif /* SAFETENSORS_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the safetensors.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
