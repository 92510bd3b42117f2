/* The compiled library, libsafetensors.so / safetensors.dll, for language
   bindings and for programs that would rather link than compile the
   implementation. Built with SAFETENSORS_BUILD_SHARED and
   -fvisibility=hidden, so that the API is all it exports: the rest of the
   implementation can change without touching the ABI. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
