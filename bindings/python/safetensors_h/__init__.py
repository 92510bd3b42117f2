"""safetensors files from Python through safetensors.h (libsafetensors).

The numpy API of the reference `safetensors` package, so that switching is
a change of import:

    from safetensors_h import safe_open                  # safetensors.safe_open
    from safetensors_h.numpy import load_file, save_file  # safetensors.numpy

    with safe_open("model.safetensors", framework="numpy") as f:
        w = f.get_tensor("lm_head.weight")    # read-only, zero-copy view of the mapping
        part = f.get_slice("wte")[0:8, :]      # a copy of just that part
    w.sum()                                    # still valid: w keeps the file mapped

Differences from the reference:
  - get_tensor and load_file give read-only views of the mapped file, not
    copies (np.array(t) makes a writable copy). The file stays mapped until
    the handle is closed and the last array into it is gone.
  - dtypes numpy lacks come back raw: BF16 as uint16, the F8 types as uint8,
    each with the tensor's shape; F4 and F6 (sub-byte) as a 1-D uint8 array
    of the packed bytes. get_tensor(name, to="float32") widens any float
    dtype exactly, through the library's conversion.
  - safe_open also takes a sharded checkpoint: a folder, or its
    model.safetensors.index.json. Its metadata() is the index's, with each
    value as decoded JSON.
  - metadata() is None when the file has no metadata entry, also for an
    empty `__metadata__` object.
  - errors are SafetensorError, a ValueError carrying the library's result
    name, the byte offset in the file, and its message.
"""
import ctypes
import json
import os
import weakref

import numpy as np  # not "numpy": the submodule safetensors_h.numpy takes that name here

from . import _lib
from ._lib import lib

__all__ = ["SafetensorError", "safe_open", "load_file", "load", "save_file", "save"]

library_path = _lib.path
library_version = "%d.%d.%d" % _lib.version_triple(lib.safetensors_version())


class SafetensorError(ValueError):
    """A refusal from the library: `result` is its name for the class of
    failure (e.g. "SAFETENSORS_ERR_OFFSETS"), `offset` the byte in the file
    where it was seen, `message` the library's one-line explanation."""

    def __init__(self, result, offset, message):
        super().__init__("%s at byte %d: %s" % (result, offset, message))
        self.result, self.offset, self.message = result, offset, message


def _check(code, err):
    if code != 0:
        raise SafetensorError(_lib.RESULT_NAMES.get(code, str(code)), err.offset,
                              err.message.decode("utf-8", "replace"))


def _not_found(name):
    return SafetensorError("SAFETENSORS_ERR_NOT_FOUND", 0, "no tensor named %r" % (name,))


def _string(address, length):
    return ctypes.string_at(address, length).decode("utf-8") if length else ""


# ---------------------------------------------------------------------------
# Lifetimes
#
# An _Owner stands for one open file or model. The handle that opened it
# (safe_open, or load/load_file while they run) holds it, and so does every
# array into its memory, through the numpy base chain: array -> _Memory ->
# _Owner. When the last of them lets go, the finalizer closes the file and
# unmaps it. Not at interpreter exit: an array in a global could still be
# read during shutdown, and the OS reclaims the mapping anyway.

class _Owner:
    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr, close, keep=None):
        self.ptr = ptr
        # The finalizer holds `keep` (the bytes under a file opened from
        # memory), so they outlive the file however the collector orders things.
        weakref.finalize(self, close, ptr, keep).atexit = False


def _close_file(ptr, keep):
    lib.safetensors_close(ptr)


def _close_model(ptr, keep):
    lib.safetensors_model_close(ptr)


class _Memory:
    """Hands numpy the address of tensor bytes, and keeps their owner alive
    for as long as any array made from it exists."""
    __slots__ = ("__array_interface__", "_owner")

    def __init__(self, owner, address, shape, typestr):
        self._owner = owner
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": typestr, "data": (address, True)}


# ---------------------------------------------------------------------------
# dtypes

_NUMPY = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2", "U32": "<u4",
          "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8", "C64": "<c8"}
_FROM_NUMPY = {np.dtype(t): name for name, t in _NUMPY.items()}


def _max_dims():
    # 32 up to numpy 1.x, 64 from 2.0; an __array_interface__ with more
    # aborts the interpreter instead of raising, so it is checked first.
    try:
        np.empty((1,) * 64, np.uint8)
        return 64
    except ValueError:
        return 32


_MAX_DIMS = _max_dims()


def _too_large(t, why):
    return SafetensorError("SAFETENSORS_ERR_TOO_LARGE", 0,
                           "tensor %r: %s" % (_string(t.name, t.name_len), why))


def _shape(t):
    if t.ndim > _MAX_DIMS:
        raise _too_large(t, "%d dimensions, and numpy arrays have at most %d" % (t.ndim, _MAX_DIMS))
    return tuple(t.shape[i] for i in range(t.ndim))


def _empty(t, shape, dtype):
    # A zero-size tensor may still have dimensions numpy cannot represent.
    try:
        return np.empty(shape, dtype)
    except ValueError as e:
        raise _too_large(t, "numpy cannot make an array of shape %s (%s)" % (list(shape), e)) from None


def _layout(t):
    """(shape, numpy typestr) under which tensor t is viewed."""
    name = _lib.DTYPE_NAMES[t.dtype]
    shape = _shape(t)
    if name in _NUMPY:
        return shape, _NUMPY[name]
    bits = lib.safetensors_dtype_bits(t.dtype)
    if bits % 8:
        return (t.end - t.begin,), "|u1"     # packed sub-byte elements: the bytes as stored
    return shape, "<u%d" % (bits // 8) if bits > 8 else "|u1"


def _view(owner, t):
    shape, typestr = _layout(t)
    if t.end == t.begin:
        empty = _empty(t, shape, np.dtype(typestr))
        empty.flags.writeable = False
        return empty
    return np.asarray(_Memory(owner, t.data, shape, typestr))


def _widen(t):
    out = _empty(t, _shape(t), np.float32)
    code = lib.safetensors_tensor_to_f32(t, out.ctypes.data, out.size)
    if code != 0:
        raise SafetensorError(_lib.RESULT_NAMES.get(code, str(code)), 0,
                              "cannot widen %s to float32" % _lib.DTYPE_NAMES[t.dtype])
    return out


def _slice(t, view, index):
    """The part of tensor t that index selects, as a new writable array.
    (The one place that will call safetensors_tensor_slice once the library
    has it; for now, numpy on the zero-copy view.)"""
    if lib.safetensors_dtype_bits(t.dtype) % 8:
        raise ValueError("slicing %s tensors (packed sub-byte elements) is not supported"
                         % _lib.DTYPE_NAMES[t.dtype])
    items = index if isinstance(index, tuple) else (index,)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    for i in items:
        if isinstance(i, slice):
            if i.step is not None and (not isinstance(i.step, int) or i.step < 1):
                raise IndexError("slice steps must be positive integers, not %r" % (i.step,))
        elif i is not Ellipsis and (isinstance(i, bool) or not isinstance(i, (int, np.integer))):
            raise IndexError("only integers, slices (start:stop:step) and ... select parts of a tensor, not %r"
                             % (i,))
    return np.array(view[items], copy=True)


# ---------------------------------------------------------------------------
# Files and models behind one interface

class _File:
    def __init__(self, ptr, keep=None):
        self.owner = _Owner(ptr, _close_file, keep)

    def names(self):
        ptr = self.owner.ptr
        return [_string(t.contents.name, t.contents.name_len)
                for t in (lib.safetensors_tensor_at(ptr, i) for i in range(lib.safetensors_tensor_count(ptr)))]

    def find(self, name):
        key = name.encode("utf-8", "surrogatepass")
        t = lib.safetensors_find(self.owner.ptr, key, len(key))
        if not t:
            raise _not_found(name)
        return t.contents

    def metadata(self):
        ptr, e, out = self.owner.ptr, _lib.MetadataEntry(), {}
        for i in range(lib.safetensors_metadata_count(ptr)):
            lib.safetensors_metadata_at(ptr, i, ctypes.byref(e))
            out[_string(e.key, e.key_len)] = _string(e.value, e.value_len)
        return out or None


class _Model:
    def __init__(self, ptr):
        self.owner = _Owner(ptr, _close_model)

    def names(self):
        ptr, t, err = self.owner.ptr, _lib._TENSOR(), _lib.Error()
        names = []
        for i in range(lib.safetensors_model_tensor_count(ptr)):
            _check(lib.safetensors_model_tensor_at(ptr, i, ctypes.byref(t), None, ctypes.byref(err)), err)
            names.append(_string(t.contents.name, t.contents.name_len))
        return names

    def find(self, name):
        key = name.encode("utf-8", "surrogatepass")
        t, err = _lib._TENSOR(), _lib.Error()
        code = lib.safetensors_model_find(self.owner.ptr, key, len(key), ctypes.byref(t), None, ctypes.byref(err))
        if code == _lib.RESULT_NUMBERS["SAFETENSORS_ERR_NOT_FOUND"]:
            raise _not_found(name)
        _check(code, err)
        return t.contents

    def metadata(self):
        ptr, e, out = self.owner.ptr, _lib.MetadataEntry(), {}
        for i in range(lib.safetensors_model_metadata_count(ptr)):
            lib.safetensors_model_metadata_at(ptr, i, ctypes.byref(e))
            if e.value is not None:
                value = _string(e.value, e.value_len)
            else:
                n = ctypes.c_size_t()
                value = json.loads(_string(lib.safetensors_model_metadata_json(ptr, i, ctypes.byref(n)), n.value))
            out[_string(e.key, e.key_len)] = value
        return out or None


def _path(path):
    # The library takes UTF-8 paths on Windows, the bytes as given elsewhere.
    return os.fsdecode(path).encode("utf-8") if os.name == "nt" else os.fsencode(path)


def _open(path):
    handle, err = ctypes.c_void_p(), _lib.Error()
    encoded = _path(path)
    if os.path.isdir(path) or os.fsdecode(path).endswith(".json"):
        _check(lib.safetensors_model_open(encoded, None, ctypes.byref(handle), ctypes.byref(err)), err)
        return _Model(handle.value)
    _check(lib.safetensors_open(encoded, None, ctypes.byref(handle), ctypes.byref(err)), err)
    return _File(handle.value)


def _open_bytes(data):
    data = bytes(data)   # immutable, so its buffer cannot move or change under the views
    handle, err = ctypes.c_void_p(), _lib.Error()
    _check(lib.safetensors_open_memory(data, len(data), None, ctypes.byref(handle), ctypes.byref(err)), err)
    return _File(handle.value, keep=data)


# ---------------------------------------------------------------------------
# The reference's API

class safe_open:
    """safe_open(path, framework="numpy") opens a .safetensors file, or a
    sharded checkpoint (its folder or its .json index), validated in full.
    A context manager; close() or leaving the `with` block releases the
    handle, and the file once no array into it is left."""

    def __init__(self, filename, framework="numpy", device="cpu"):
        if framework not in ("numpy", "np"):
            raise ValueError("framework %r is not supported: safetensors_h gives numpy arrays" % (framework,))
        if device != "cpu":
            raise ValueError("device %r is not supported: only cpu" % (device,))
        self._source = _open(filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._source = None

    def _open_source(self):
        if self._source is None:
            raise SafetensorError("SAFETENSORS_ERR_ARGUMENT", 0, "the file is closed")
        return self._source

    def keys(self):
        """The tensor names, sorted."""
        return sorted(self._open_source().names())

    def metadata(self):
        return self._open_source().metadata()

    def get_tensor(self, name, to=None):
        """The tensor `name`: a read-only view of the file's bytes, or with
        to="float32" a new float32 array widened exactly by the library."""
        source = self._open_source()
        t = source.find(name)
        if to is None:
            return _view(source.owner, t)
        try:
            widen = np.dtype(to) == np.float32
        except TypeError:
            widen = False
        if not widen:
            raise ValueError("to=%r: only float32 is supported" % (to,))
        return _widen(t)

    def get_slice(self, name):
        source = self._open_source()
        return _TensorSlice(source.owner, source.find(name))


class _TensorSlice:
    """What get_slice gives: the tensor's shape and dtype without reading it,
    and [a:b, ...] to read just one part (ints, slices with positive steps,
    and ... per dimension), as a new array."""

    def __init__(self, owner, t):
        self._owner, self._t = owner, t

    def get_shape(self):
        return [self._t.shape[i] for i in range(self._t.ndim)]

    def get_dtype(self):
        return _lib.DTYPE_NAMES[self._t.dtype]

    def __getitem__(self, index):
        return _slice(self._t, _view(self._owner, self._t), index)


def _load_all(source):
    return {name: _view(source.owner, source.find(name)) for name in source.names()}


def load_file(filename):
    """Every tensor of a file (or a sharded checkpoint) by name, as read-only views."""
    return _load_all(_open(filename))


def load(data):
    """Every tensor of a whole file held as bytes, as read-only views of them."""
    return _load_all(_open_bytes(data))


class _WriteArgs:
    """The writer's arguments for `tensors` and `metadata`; the object also
    holds the buffers they point into, so it must outlive the call."""

    def __init__(self, tensors, metadata):
        if not isinstance(tensors, dict):
            raise TypeError("tensors must be a dict of name -> numpy.ndarray")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError("metadata must be a dict of str -> str, or None")
        self._keep = []
        self.n, self.m = len(tensors), len(metadata or {})
        self.inputs = (_lib.TensorInput * max(self.n, 1))()
        for k, (name, array) in enumerate(tensors.items()):
            self.inputs[k] = self._tensor(name, array)
        self.entries = (_lib.MetadataEntry * max(self.m, 1))()
        for k, (key, value) in enumerate((metadata or {}).items()):
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("metadata must map str to str, not %r -> %r" % (type(key), type(value)))
            key, value = self._bytes(key), self._bytes(value)
            self.entries[k] = _lib.MetadataEntry(ctypes.cast(key, ctypes.c_void_p), len(key),
                                                 ctypes.cast(value, ctypes.c_void_p), len(value))
        self.options = _lib.WriteOptions()
        if metadata is not None:
            # The reference writes an empty __metadata__ object for {}, and none for None.
            self.options.flags |= _lib.WRITE_EMPTY_METADATA

    def _bytes(self, text):
        # The library, not the encoder, judges names: it refuses lone surrogates.
        encoded = text.encode("utf-8", "surrogatepass")
        self._keep.append(encoded)
        return encoded

    def _tensor(self, name, array):
        if not isinstance(name, str) or not isinstance(array, np.ndarray):
            raise TypeError("tensors must map str names to numpy.ndarray, not %r -> %r" % (type(name), type(array)))
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder in ">=" else array.dtype
        if dtype not in _FROM_NUMPY:
            raise ValueError("tensor %r: numpy dtype %s has no safetensors dtype" % (name, array.dtype))
        array = np.asarray(array, dtype=dtype, order="C")  # not ascontiguousarray: it makes scalars 1-D
        shape = (ctypes.c_uint64 * max(array.ndim, 1))(*array.shape)
        encoded = self._bytes(name)
        self._keep += [array, shape]
        return _lib.TensorInput(encoded, len(encoded), _lib.DTYPE_NUMBERS[_FROM_NUMPY[dtype]], array.ndim, shape,
                                array.ctypes.data if array.nbytes else None, array.nbytes)


def save_file(tensors, filename, metadata=None):
    """Writes `tensors` (name -> numpy array) and `metadata` (str -> str, or
    None) to `filename`, byte-identical to the reference writer. The file is
    written beside the target and renamed over it once complete."""
    a, err = _WriteArgs(tensors, metadata), _lib.Error()
    _check(lib.safetensors_write_file(_path(filename), a.inputs, a.n, a.entries, a.m, ctypes.byref(a.options),
                                      ctypes.byref(err)), err)


def save(tensors, metadata=None):
    """The bytes save_file would write."""
    a, err = _WriteArgs(tensors, metadata), _lib.Error()
    out, size = ctypes.c_void_p(), ctypes.c_size_t()
    _check(lib.safetensors_write_memory(a.inputs, a.n, a.entries, a.m, ctypes.byref(a.options), ctypes.byref(out),
                                        ctypes.byref(size), ctypes.byref(err)), err)
    try:
        return ctypes.string_at(out.value, size.value)
    finally:
        lib.safetensors_write_memory_free(ctypes.byref(a.options), out, size)
