"""The conformance corpus through the bindings: every file the reference
accepts reads back tensor by tensor as json + struct read it, and every
float tensor widens to the float32 values a decoder written here from the
formats' definitions gives; every file the reference refuses raises
SafetensorError of the class that the reference's phase of checking allows."""
import math
import os
import struct

import numpy as np
import pytest

from conftest import CORPUS, expected_verdicts, parse, read
import safetensors_h
from safetensors_h import SafetensorError, safe_open

VERDICTS = expected_verdicts()
ACCEPTED = [f for f, verdict, _ in VERDICTS if verdict == "accept"]
REFUSED = [(f, reason) for f, verdict, reason in VERDICTS if verdict == "reject"]

# struct's code for one element, and the numpy dtype of the view, per dtype;
# BF16 and the F8 types are raw unsigned integers of their width.
ELEMENT = {"BOOL": ("?", np.bool_), "U8": ("B", np.uint8), "I8": ("b", np.int8), "U16": ("H", np.uint16),
           "I16": ("h", np.int16), "F16": ("e", np.float16), "U32": ("I", np.uint32), "I32": ("i", np.int32),
           "F32": ("f", np.float32), "U64": ("Q", np.uint64), "I64": ("q", np.int64), "F64": ("d", np.float64),
           "C64": ("f", np.complex64), "BF16": ("H", np.uint16), "F8_E5M2": ("B", np.uint8),
           "F8_E4M3": ("B", np.uint8), "F8_E8M0": ("B", np.uint8), "F8_E4M3FNUZ": ("B", np.uint8),
           "F8_E5M2FNUZ": ("B", np.uint8)}
SUB_BYTE = {"F4", "F6_E2M3", "F6_E3M2"}

# (bits, exponent bits, mantissa bits, bias, special codes) of the narrow floats:
#   ieee  all-ones exponent is Inf (mantissa 0) or NaN     fn    only S.1111.111 is NaN, no Inf
#   fnuz  0x80 (negative zero's code) is the only NaN      e8m0  2^(c - 127), no sign, 0xff NaN
#   ""    neither Inf nor NaN (the MX formats F4 and F6)
MINIFLOAT = {"F8_E5M2": (8, 5, 2, 15, "ieee"), "F8_E4M3": (8, 4, 3, 7, "fn"), "F8_E4M3FNUZ": (8, 4, 3, 8, "fnuz"),
             "F8_E5M2FNUZ": (8, 5, 2, 16, "fnuz"), "F8_E8M0": (8, 8, 0, 127, "e8m0"), "F4": (4, 2, 1, 1, ""),
             "F6_E2M3": (6, 2, 3, 1, ""), "F6_E3M2": (6, 3, 2, 3, "")}


def minifloat(code, bits, e, m, bias, special):
    if special == "e8m0":
        return math.nan if code == 0xFF else 2.0 ** (code - bias)
    if special == "fnuz" and code == 1 << (bits - 1):
        return math.nan
    sign = -1.0 if code >> (e + m) else 1.0
    exp, man = (code >> m) & ((1 << e) - 1), code & ((1 << m) - 1)
    if special == "ieee" and exp == (1 << e) - 1:
        return math.nan if man else sign * math.inf
    if special == "fn" and exp == (1 << e) - 1 and man == (1 << m) - 1:
        return math.nan
    if exp == 0:
        return sign * man * 2.0 ** (1 - bias - m)
    return sign * (1 + man / 2.0 ** m) * 2.0 ** (exp - bias)


def widened(dtype, raw, count):
    """The float32 values of `count` elements of a float dtype, from its bytes."""
    if dtype in ("F32", "F64", "F16"):
        code = {"F32": "f", "F64": "d", "F16": "e"}[dtype]
        values = struct.unpack("<%d%s" % (count, code), raw)
    elif dtype == "BF16":
        values = [struct.unpack("<f", b"\0\0" + raw[2 * i:2 * i + 2])[0] for i in range(count)]
    else:
        bits, e, m, bias, special = MINIFLOAT[dtype]
        packed = int.from_bytes(raw, "little")  # element i is bits [bits*i, bits*(i+1)), F6 and F4 alike
        codes = [(packed >> (bits * i)) & ((1 << bits) - 1) for i in range(count)]
        values = [minifloat(c, bits, e, m, bias, special) for c in codes]
    return [float(np.float32(v)) for v in values]  # F64 rounds to nearest even, as the library does


def numpy_can_hold(shape):
    try:
        np.empty(shape if 0 in shape else [0] * len(shape), np.uint8)  # no allocation either way
        return True
    except ValueError:
        return False


def same(a, b):
    if isinstance(a, complex) or isinstance(b, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def test_corpus_is_complete():
    assert len(VERDICTS) == len(os.listdir(CORPUS)) == 1660
    assert len(ACCEPTED) == 300


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted(name):
    header, data = parse(read(os.path.join(CORPUS, name)))
    want_meta = header.pop("__metadata__", None)
    with safe_open(os.path.join(CORPUS, name), framework="numpy") as f:
        assert f.keys() == sorted(header)
        assert f.metadata() == (want_meta or None)
        for tname, entry in header.items():
            begin, end = entry["data_offsets"]
            raw = data[begin:end]
            sl = f.get_slice(tname)
            assert sl.get_dtype() == entry["dtype"] and sl.get_shape() == entry["shape"]
            if not numpy_can_hold(entry["shape"]):
                with pytest.raises(SafetensorError, match="numpy") as e:
                    f.get_tensor(tname)
                assert e.value.result == "SAFETENSORS_ERR_TOO_LARGE"
                continue
            got = f.get_tensor(tname)
            assert not got.flags.writeable
            check_widening(f, tname, entry, raw)
            if entry["dtype"] in SUB_BYTE:
                assert got.dtype == np.uint8 and got.shape == (end - begin,)
                assert got.tobytes() == raw
                continue
            code, dtype = ELEMENT[entry["dtype"]]
            assert got.dtype == dtype and list(got.shape) == entry["shape"]
            assert got.tobytes() == raw
            values = struct.unpack("<%d%s" % (len(raw) // struct.calcsize("<" + code), code), raw)
            if dtype == np.complex64:
                values = [complex(values[i], values[i + 1]) for i in range(0, len(values), 2)]
            assert all(same(a, b) for a, b in zip(got.ravel().tolist(), values))
            assert got.size == len(values)


def check_widening(f, name, entry, raw):
    if entry["dtype"] not in MINIFLOAT and entry["dtype"] not in ("F32", "F64", "F16", "BF16"):
        with pytest.raises(SafetensorError) as e:
            f.get_tensor(name, to="float32")
        assert e.value.result == "SAFETENSORS_ERR_DTYPE"
        return
    wide = f.get_tensor(name, to="float32")
    assert wide.dtype == np.float32 and list(wide.shape) == entry["shape"] and wide.flags.writeable
    want = widened(entry["dtype"], raw, wide.size)
    assert all(same(a, b) for a, b in zip(wide.ravel().tolist(), want)) and len(want) == wide.size


def reason_allows(reason, result):
    """Whether `result` is a class that the reference's reason permits. Its
    checks come in phases (length prefix, UTF-8 and JSON and schema, then the
    table); the library must refuse in the same phase, whatever the wording."""
    parse_phase = {"JSON", "SCHEMA", "DTYPE", "DUPLICATE"}
    table_phase = {"OFFSETS", "OVERFLOW", "MISALIGNED", "SIZE", "COVERAGE", "DUPLICATE", "SCHEMA", "DTYPE"}
    phases = [("header too small", {"HEADER_TOO_SMALL"}), ("header too large", {"HEADER_TOO_LARGE"}),
              ("invalid header length", {"HEADER_LENGTH"}),
              # the reference checks all the UTF-8 first; a streaming parser may meet another fault first
              ("invalid UTF-8", {"UTF8"} | parse_phase), ("invalid JSON", parse_phase),
              ("invalid offset", table_phase), ("overflow", table_phase), ("The slice is slicing", table_phase),
              ("invalid shape", table_phase), ("incomplete metadata", table_phase),
              # refused here although the reference accepts them (see the corpus README)
              ("duplicate-key", {"DUPLICATE", "SCHEMA", "DTYPE"}), ("noncanonical-entry", {"DUPLICATE", "SCHEMA", "DTYPE"})]
    for prefix, allowed in phases:
        if reason.startswith(prefix):
            return result in {"SAFETENSORS_ERR_" + a for a in allowed}
    raise AssertionError("unknown reference reason %r" % reason)


@pytest.mark.parametrize("name,reason", REFUSED)
def test_refused(name, reason):
    path = os.path.join(CORPUS, name)
    size = os.path.getsize(path)
    with pytest.raises(SafetensorError) as by_path:
        safe_open(path, framework="numpy")
    with pytest.raises(SafetensorError) as by_bytes:
        safetensors_h.load(read(path))
    for e in (by_path.value, by_bytes.value):
        assert isinstance(e, ValueError)
        assert reason_allows(reason, e.result), "%s: %s, but the reference says %r" % (name, e, reason)
        assert 0 <= e.offset <= size and e.message
    assert (by_path.value.result, by_path.value.offset) == (by_bytes.value.result, by_bytes.value.offset)
