/* Put ahead of the repository root on the include path, this stands in for
   safetensors.h when a test suite is linked against the shared library:
   the suite's own SAFETENSORS_IMPLEMENTATION is dropped, so every call it
   makes goes through the library's exports. */
#undef SAFETENSORS_IMPLEMENTATION
#ifndef SAFETENSORS_USE_SHARED
#define SAFETENSORS_USE_SHARED
#endif
#include "../../safetensors.h"
