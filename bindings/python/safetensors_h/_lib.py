"""ctypes declarations for the parts of the safetensors.h API that the
package uses, and the shared library they are bound to.

The library is looked for, in order: at the path in the SAFETENSORS_LIB
environment variable (and only there, when it is set); next to this package
(a libsafetensors.so.0, .dylib or safetensors.dll copied into the package's
folder); then wherever the system's dynamic loader finds it.
"""
import ctypes
import ctypes.util
import os

c_int, c_uint, c_uint32, c_uint64 = ctypes.c_int, ctypes.c_uint, ctypes.c_uint32, ctypes.c_uint64
c_size_t, c_void_p, c_char_p, POINTER = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER

# The API this package is written against: 0.1, or any later 0.x (the ABI
# check keeps those compatible).
NEEDS_MAJOR, NEEDS_MINOR = 0, 1

# The writer's flag for an empty __metadata__ object (safetensors_write_flags).
WRITE_EMPTY_METADATA = 1 << 16

_FILE_NAMES = ("libsafetensors.so.0", "libsafetensors.so", "libsafetensors.0.dylib", "libsafetensors.dylib",
               "safetensors.dll", "libsafetensors.dll")


class Error(ctypes.Structure):
    _fields_ = [("code", c_int), ("offset", c_uint64), ("sys_errno", c_int), ("message", ctypes.c_char * 192)]


class Tensor(ctypes.Structure):
    _fields_ = [("name", c_void_p), ("name_len", c_size_t), ("dtype", c_int), ("ndim", c_size_t),
                ("shape", POINTER(c_uint64)), ("begin", c_uint64), ("end", c_uint64), ("data", c_void_p)]


class MetadataEntry(ctypes.Structure):
    _fields_ = [("key", c_void_p), ("key_len", c_size_t), ("value", c_void_p), ("value_len", c_size_t)]


class Allocator(ctypes.Structure):
    _fields_ = [("allocate", c_void_p), ("reallocate", c_void_p), ("deallocate", c_void_p), ("ctx", c_void_p)]


class WriteOptions(ctypes.Structure):
    _fields_ = [("allocator", Allocator), ("max_header_size", c_uint64), ("alignment", c_uint64),
                ("flags", c_uint32), ("reserved32", c_uint32), ("reserved", c_uint64 * 6),
                ("reserved_ptr", c_void_p * 4)]


class TensorInput(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("name_len", c_size_t), ("dtype", c_int), ("ndim", c_size_t),
                ("shape", POINTER(c_uint64)), ("data", c_void_p), ("size", c_uint64)]


_HANDLE_OUT = POINTER(c_void_p)
_ERR = POINTER(Error)
_TENSOR = POINTER(Tensor)
_ENTRY = POINTER(MetadataEntry)

# name: (result type, argument types)
_PROTOTYPES = {
    "safetensors_version": (c_uint32, []),
    "safetensors_result_name": (c_char_p, [c_int]),
    "safetensors_dtype_name": (c_char_p, [c_int]),
    "safetensors_dtype_bits": (c_uint, [c_int]),
    "safetensors_open": (c_int, [c_char_p, c_void_p, _HANDLE_OUT, _ERR]),
    "safetensors_open_memory": (c_int, [c_void_p, c_size_t, c_void_p, _HANDLE_OUT, _ERR]),
    "safetensors_close": (None, [c_void_p]),
    "safetensors_tensor_count": (c_size_t, [c_void_p]),
    "safetensors_tensor_at": (_TENSOR, [c_void_p, c_size_t]),
    "safetensors_find": (_TENSOR, [c_void_p, c_char_p, c_size_t]),
    "safetensors_metadata_count": (c_size_t, [c_void_p]),
    "safetensors_metadata_at": (c_int, [c_void_p, c_size_t, _ENTRY]),
    "safetensors_model_open": (c_int, [c_char_p, c_void_p, _HANDLE_OUT, _ERR]),
    "safetensors_model_close": (None, [c_void_p]),
    "safetensors_model_tensor_count": (c_size_t, [c_void_p]),
    "safetensors_model_tensor_at": (c_int, [c_void_p, c_size_t, POINTER(_TENSOR), POINTER(c_size_t), _ERR]),
    "safetensors_model_find": (c_int, [c_void_p, c_char_p, c_size_t, POINTER(_TENSOR), POINTER(c_size_t), _ERR]),
    "safetensors_model_metadata_count": (c_size_t, [c_void_p]),
    "safetensors_model_metadata_at": (c_int, [c_void_p, c_size_t, _ENTRY]),
    "safetensors_model_metadata_json": (c_void_p, [c_void_p, c_size_t, POINTER(c_size_t)]),
    "safetensors_tensor_to_f32": (c_int, [_TENSOR, c_void_p, c_size_t]),
    "safetensors_write_file": (c_int, [c_char_p, POINTER(TensorInput), c_size_t, _ENTRY, c_size_t,
                                       POINTER(WriteOptions), _ERR]),
    "safetensors_write_memory": (c_int, [POINTER(TensorInput), c_size_t, _ENTRY, c_size_t, POINTER(WriteOptions),
                                         POINTER(c_void_p), POINTER(c_size_t), _ERR]),
    "safetensors_write_memory_free": (None, [POINTER(WriteOptions), c_void_p, c_size_t]),
}


def version_triple(number):
    """(major, minor, patch) of a SAFETENSORS_VERSION_NUMBER."""
    return number >> 16, (number >> 8) & 0xFF, number & 0xFF


def _candidates():
    explicit = os.environ.get("SAFETENSORS_LIB")
    if explicit:
        return [explicit]
    here = os.path.dirname(os.path.abspath(__file__))
    beside = [os.path.join(here, n) for n in _FILE_NAMES if os.path.exists(os.path.join(here, n))]
    found = ctypes.util.find_library("safetensors")
    return beside + ([found] if found else []) + list(_FILE_NAMES)


def _load():
    tried = []
    for candidate in _candidates():
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as e:
            tried.append("%s (%s)" % (candidate, e))
            continue
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        major, minor, patch = version_triple(lib.safetensors_version())
        if major != NEEDS_MAJOR or minor < NEEDS_MINOR:
            raise ImportError("%s is safetensors.h %d.%d.%d; this package needs %d.%d or a later %d.x"
                              % (candidate, major, minor, patch, NEEDS_MAJOR, NEEDS_MINOR, NEEDS_MAJOR))
        return lib, candidate
    raise ImportError("libsafetensors not found (build it with `make shared`, then set SAFETENSORS_LIB to "
                      "its path or copy it into %s); tried: %s"
                      % (os.path.dirname(os.path.abspath(__file__)), "; ".join(tried)))


lib, path = _load()


def _enum_names(name_of):
    # The library names its own enums, so the numbers are never copied here.
    names = {}
    while True:
        n = name_of(len(names))
        if n is None:
            return names
        names[len(names)] = n.decode("ascii")


DTYPE_NAMES = _enum_names(lib.safetensors_dtype_name)     # number -> "F32"
DTYPE_NUMBERS = {v: k for k, v in DTYPE_NAMES.items()}    # "F32" -> number
RESULT_NAMES = _enum_names(lib.safetensors_result_name)   # number -> "SAFETENSORS_ERR_..."
RESULT_NUMBERS = {v: k for k, v in RESULT_NAMES.items()}
