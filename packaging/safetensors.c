/* The compiled library, libsafetensors.so / safetensors.dll, for language
   bindings and for programs that would rather link than compile the
   implementation. Built with SAFETENSORS_BUILD_SHARED and
   -fvisibility=hidden, so that the API is all it exports: the rest of the
   implementation can change without touching the ABI. */
/* POSIX 2008, so that strict C99 headers declare strerror_r (I/O errors
   then carry the system's words, not only the number), pread (reads on
   HEADER_ONLY handles) and posix_madvise (SAFETENSORS_PREFETCH). */
#define _POSIX_C_SOURCE 200809L
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
