"""Shared by the tests: the repository's paths, the package on sys.path
(so that the tests run from a checkout, against SAFETENSORS_LIB), and a
reader of safetensors files written with nothing but json and struct, to
hold the bindings' answers against."""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "conformance", "files")
EXPECTED = os.path.join(ROOT, "tests", "conformance", "expected.tsv")
WRITER = os.path.join(ROOT, "tests", "writer")
GPT2 = os.path.join(ROOT, "tests", "models", "tiny-gpt2", "model.safetensors")
LLAMA = os.path.join(ROOT, "tests", "models", "tiny-llama-bf16-sharded")

sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..")))


# The numpy dtype of each safetensors dtype numpy has.
NUMPY_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
                "F16": np.float16, "U32": np.uint32, "I32": np.int32, "F32": np.float32, "U64": np.uint64,
                "I64": np.int64, "F64": np.float64, "C64": np.complex64}


def parse(raw):
    """(header as an ordered dict, data section bytes) of a whole file."""
    (n,) = struct.unpack_from("<Q", raw)
    return json.loads(raw[8:8 + n].decode("utf-8")), raw[8 + n:]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expected_verdicts():
    """[(file, "accept" or "reject", the reference's reason or "")] from expected.tsv."""
    out = []
    with open(EXPECTED, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "F":
                out.append((fields[1], fields[2], fields[3] if fields[2] == "reject" else ""))
    return out
