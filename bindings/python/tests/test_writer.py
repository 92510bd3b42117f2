"""save_file and save against the reference writer: for each file of
tests/writer/, handed what writer.jsonl says the reference was handed, the
bytes must be the reference's file, byte for byte."""
import json
import os

import numpy as np
import pytest

from conftest import NUMPY_DTYPES, WRITER, parse, read
import safetensors_h
from safetensors_h import SafetensorError
from safetensors_h.numpy import save, save_file

with open(os.path.join(WRITER, "writer.jsonl"), encoding="utf-8") as f:
    CASES = [json.loads(line) for line in f]

# The reference wrote `{},"__metadata__":{}}` for no tensors and empty
# metadata, which its own reader refuses; the library writes valid JSON.
EMPTY_META_FIXED = b"\x18\0\0\0\0\0\0\0" + b'{"__metadata__":{}}     '


def expected_bytes(case):
    want = read(os.path.join(WRITER, case["file"]))
    if case["file"] == "w_empty_meta.safetensors":
        with pytest.raises(SafetensorError):
            safetensors_h.load(want)
        return EMPTY_META_FIXED
    return want


def test_corpus_is_complete():
    assert len(CASES) == 10


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_byte_identical(case, tmp_path):
    want = expected_bytes(case)
    tensors = {t["name"]: np.frombuffer(bytes.fromhex(t["data"]), NUMPY_DTYPES[t["dtype"]]).reshape(t["shape"])
               for t in case["tensors"]}
    metadata = None
    if case["metadata"] is not None:
        # The reference's hash map chose the order in the file; hand the
        # pairs over in that order (the set of pairs is the case's).
        in_file = list(parse(want)[0].get("__metadata__", {}))
        metadata = dict(sorted(case["metadata"], key=lambda kv: in_file.index(kv[0])))
        assert metadata == dict(case["metadata"])
    assert save(tensors, metadata=metadata) == want
    out = tmp_path / "out.safetensors"
    save_file(tensors, out, metadata=metadata)
    assert out.read_bytes() == want
    assert os.listdir(tmp_path) == ["out.safetensors"]   # no temporary file left behind
