"""Arrays from get_tensor are views of the mapped file, and keep it mapped:
reading one after its handle is closed must give the file's values, never a
crash, and the mapping must go away once the handle is closed and the last
such array is gone (not before, not never)."""
import gc
import os
import sys

import numpy as np
import pytest

from conftest import LLAMA
from safetensors_h import load, safe_open
from safetensors_h.numpy import save, save_file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")


def mapped(path):
    """Whether this process maps `path` (its mappings survive an unlink)."""
    path = os.path.realpath(path)
    with open("/proc/self/maps") as f:
        names = [fields[5].rstrip("\n") for fields in (line.split(None, 5) for line in f) if len(fields) == 6]
    return path in names or path + " (deleted)" in names


# Over 64 KiB: the library reads smaller files into memory instead of mapping them.
PAD = np.zeros(20000, np.float32)


@pytest.fixture
def weights(tmp_path):
    path = str(tmp_path / "w.safetensors")
    save_file({"w": np.arange(4096, dtype=np.float32).reshape(64, 64), "b": np.arange(7, dtype=np.int16),
               "pad": PAD}, path)
    return path


def scribble():
    # Reuse freed memory, so that a view of unmapped or freed bytes reads garbage or faults.
    return [np.full(4096, -1.0, np.float32) for _ in range(64)]


def test_array_outlives_the_with_block_and_the_handle(weights):
    with safe_open(weights, framework="numpy") as f:
        w = f.get_tensor("w")
        row = f.get_tensor("w")[3]
    del f
    gc.collect()
    junk = scribble()
    assert mapped(weights)
    assert w[63, 63] == 4095 and row.tolist() == list(range(192, 256))
    part = w[10:12, ::8]          # a numpy view of the view: keeps the file too
    del w
    gc.collect()
    assert mapped(weights)
    del row
    gc.collect()
    assert mapped(weights) and part.tolist() == [[640 + 8 * i for i in range(8)], [704 + 8 * i for i in range(8)]]
    del part
    gc.collect()
    assert not mapped(weights)
    del junk


def test_closing_without_arrays_unmaps_at_once(weights):
    f = safe_open(weights, framework="numpy")
    assert mapped(weights)
    f.close()
    assert not mapped(weights)            # no collection needed: nothing refers to the file
    with safe_open(weights, framework="numpy") as f:
        f.get_tensor("b").sum()
    assert not mapped(weights)


def test_a_closed_handle_refuses_but_its_arrays_still_read(weights):
    f = safe_open(weights, framework="numpy")
    b = f.get_tensor("b")
    f.close()
    with pytest.raises(ValueError, match="closed"):
        f.get_tensor("b")
    assert b.tolist() == list(range(7))


def test_the_file_replaced_or_removed_under_a_live_array(weights):
    with safe_open(weights, framework="numpy") as f:
        w = f.get_tensor("w")
    save_file({"w": np.zeros((64, 64), np.float32)}, weights)   # renamed over the old file
    assert w[1, 1] == 65
    os.remove(weights)
    scribble()
    assert w.sum() == sum(range(4096))
    del w
    gc.collect()
    assert not mapped(weights)


def test_arrays_from_bytes_keep_the_bytes(weights):
    data = bytearray(open(weights, "rb").read())
    tensors = load(data)
    data[:] = b"\xff" * len(data)         # load took its own immutable copy
    del data
    gc.collect()
    scribble()
    assert tensors["w"][63, 63] == 4095 and tensors["b"].tolist() == list(range(7))
    assert save(dict(tensors)) == save({"w": np.arange(4096, dtype=np.float32).reshape(64, 64),
                                       "b": np.arange(7, dtype=np.int16), "pad": PAD})


def test_model_arrays_outlive_the_model():
    with safe_open(LLAMA, framework="numpy") as m:
        name = m.keys()[0]
        raw, wide = m.get_tensor(name), m.get_tensor(name, to="float32")
    shards = [os.path.join(LLAMA, s) for s in sorted(os.listdir(LLAMA)) if s.endswith(".safetensors")]
    gc.collect()
    scribble()
    assert any(mapped(s) for s in shards)
    assert (raw.astype(np.uint32) << 16).view(np.float32).tolist() == wide.tolist()
    del raw
    gc.collect()
    assert not any(mapped(s) for s in shards)
