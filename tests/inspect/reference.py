#!/usr/bin/env python3
"""reference.py - what `safetensors-inspect --stats --values 4` must find,
computed independently of the inspector and of safetensors.h.

    python3 tests/inspect/reference.py FILE... > tests/inspect/reference.tsv

Each file is read with json and struct only: the 8-byte length, the header,
then every tensor's bytes decoded from the dtype's definition (IEEE formats
through struct; the F8, F6 and F4 formats from their sign, exponent and
mantissa fields). Per tensor it writes one tab-separated line:

    file  name  dtype  min  max  mean  std  nan  inf  zero  v1,v2,v3,v4

over the finite values (std: population, ddof=0), with the mean and the
variance computed exactly in rationals; "-" where a value does not exist
(no finite value, or C64). The values are the first four elements. Values,
min and max are written in the fewest %g digits that read back as the same
float (double for F64), integers in full.
tests/inspect/compare.awk checks the inspector's --json output against
this file: counts, integers and values exactly, floats' min and max as
numbers, mean and std to 1e-9 of the data's scale.
"""
import json
import math
import struct
import sys
from fractions import Fraction

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
        "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16,
        "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64,
        "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
INTS = {"BOOL": "B", "U8": "B", "I8": "b", "I16": "h", "U16": "H", "I32": "i",
        "U32": "I", "I64": "q", "U64": "Q"}
# small floats: (exponent bits, mantissa bits, bias, how NaN and Inf are coded)
SMALL = {"F8_E5M2": (5, 2, 15, "ieee"), "F8_E4M3": (4, 3, 7, "fn"),
         "F8_E4M3FNUZ": (4, 3, 8, "fnuz"), "F8_E5M2FNUZ": (5, 2, 16, "fnuz"),
         "F6_E2M3": (2, 3, 1, "none"), "F6_E3M2": (3, 2, 3, "none"),
         "F4": (2, 1, 1, "none")}


def small_float(code, dtype):
    e_bits, m_bits, bias, special = SMALL[dtype]
    sign = (code >> (e_bits + m_bits)) & 1
    exp = (code >> m_bits) & ((1 << e_bits) - 1)
    man = code & ((1 << m_bits) - 1)
    top = (1 << e_bits) - 1
    if special == "fnuz" and code == 1 << (e_bits + m_bits):
        return math.nan
    if special == "ieee" and exp == top:
        return math.nan if man else (-math.inf if sign else math.inf)
    if special == "fn" and exp == top and man == (1 << m_bits) - 1:
        return math.nan
    if exp == 0:
        value = man / (1 << m_bits) * 2.0 ** (1 - bias)
    else:
        value = (1 + man / (1 << m_bits)) * 2.0 ** (exp - bias)
    return -value if sign else value


def codes(data, bits, count):
    """Sub-byte elements: a little-endian bit stream, element 0 at bit 0."""
    stream = int.from_bytes(data, "little")
    return [(stream >> (i * bits)) & ((1 << bits) - 1) for i in range(count)]


def decode(dtype, data, count):
    if dtype in INTS:
        return list(struct.unpack("<%d%s" % (count, INTS[dtype]), data))
    if dtype == "F32":
        return list(struct.unpack("<%df" % count, data))
    if dtype == "F64":
        return list(struct.unpack("<%dd" % count, data))
    if dtype == "F16":
        return list(struct.unpack("<%de" % count, data))
    if dtype == "BF16":
        raw = struct.unpack("<%dH" % count, data)
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in raw]
    if dtype == "F8_E8M0":
        return [math.nan if c == 0xFF else 2.0 ** (c - 127) for c in data]
    if dtype in SMALL:
        return [small_float(c, dtype) for c in codes(data, BITS[dtype], count)]
    return None  # C64


def shortest(x, digits_max):
    """The fewest significant digits that read back as x (a float32 value
    when digits_max is 9, else a double); NaN and the infinities as in JSON
    output."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    for digits in range(1, digits_max + 1):
        text = "%.*g" % (digits, x)
        back = float(text)
        if digits_max == 9:
            back = struct.unpack("<f", struct.pack("<f", back))[0]
        if back == x:
            return text
    return text


def main():
    for path in sys.argv[1:]:
        blob = open(path, "rb").read()
        (n,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + n])
        data = blob[8 + n:]
        names = [k for k in header if k != "__metadata__"]
        names.sort(key=lambda k: (header[k]["data_offsets"][0], k.encode()))
        for name in names:
            t = header[name]
            count = math.prod(t["shape"])
            begin, end = t["data_offsets"]
            values = decode(t["dtype"], data[begin:end], count)
            if values is None:
                print("\t".join([path, name, t["dtype"]] + ["-"] * 8))
                continue
            is_int = t["dtype"] in INTS
            finite = [v for v in values if is_int or math.isfinite(v)]
            nan = sum(1 for v in values if not is_int and math.isnan(v))
            inf = sum(1 for v in values if not is_int and math.isinf(v))
            zero = sum(1 for v in values if v == 0)
            digits = 17 if t["dtype"] == "F64" else 9
            text = (lambda v: str(v)) if is_int else (lambda v: shortest(v, digits))
            if finite:
                exact = [Fraction(v) for v in finite]
                mean = sum(exact) / len(exact)
                var = sum((v - mean) ** 2 for v in exact) / len(exact)
                stats = [text(min(finite)), text(max(finite)), repr(float(mean)),
                         repr(math.sqrt(float(var)))]
            else:
                stats = ["-"] * 4
            first = ",".join(text(v) for v in values[:4])
            print("\t".join([path, name, t["dtype"]] + stats + [str(nan), str(inf), str(zero), first or "-"]))


main()
