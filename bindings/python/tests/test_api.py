"""The rest of the API: slices, dtypes both ways, sharded models, errors,
and where the library is looked for."""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from conftest import GPT2, HERE, LLAMA, NUMPY_DTYPES, ROOT, parse, read
import safetensors_h
from safetensors_h import SafetensorError, load, load_file, safe_open, save, save_file

PACKAGE = os.path.normpath(os.path.join(HERE, ".."))


def test_versions_agree():
    header = read(os.path.join(ROOT, "safetensors.h")).decode()
    parts = [re.search(r"#define SAFETENSORS_VERSION_%s (\d+)" % p, header).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    with open(os.path.join(PACKAGE, "pyproject.toml")) as f:
        declared = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
    assert safetensors_h.library_version == ".".join(parts) == declared


def test_gpt2_matches_struct():
    header, data = parse(read(GPT2))
    begin, end = header["transformer.wpe.weight"]["data_offsets"]
    want = struct.unpack("<4096f", data[begin:end])
    with safe_open(GPT2, framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
        w = f.get_tensor("transformer.wpe.weight")
    assert w.shape == (64, 64) and w.dtype == np.float32 and w.ravel().tolist() == list(want)
    everything = load_file(GPT2)
    assert sorted(everything) == sorted(k for k in header if k != "__metadata__")
    assert np.array_equal(everything["transformer.wpe.weight"], w)


@pytest.mark.parametrize("index", [(slice(2, 5), slice(None)), (1,), (-1, slice(3, 60, 7)), (Ellipsis, 5),
                                   (slice(None, None, 2), Ellipsis), (slice(60, 100),), (slice(5, 2),), ()])
def test_slices_are_numpy_copies(index):
    with safe_open(GPT2, framework="numpy") as f:
        full = f.get_tensor("transformer.wte.weight")
        part = f.get_slice("transformer.wte.weight")[index]
    assert np.array_equal(part, full[index]) and part.flags.writeable and part.base is None
    if part.size:
        part.flat[0] += 1
        assert part.flat[0] != full[index].flat[0]


@pytest.mark.parametrize("index", [slice(None, None, -1), (slice(0, 2, 0),), None, [0, 1], True, 1.5,
                                   (Ellipsis, Ellipsis), (0, 0, 0)])
def test_slices_refused(index):
    with safe_open(GPT2, framework="numpy") as f:
        with pytest.raises(IndexError):
            f.get_slice("transformer.wte.weight")[index]


def test_slice_shape_and_dtype_without_reading():
    with safe_open(LLAMA, framework="numpy") as m:
        name = m.keys()[0]
        s = m.get_slice(name)
        assert s.get_dtype() == "BF16" and s.get_shape() == list(m.get_tensor(name).shape)
        assert np.array_equal(s[1:3, 5:9], m.get_tensor(name)[1:3, 5:9])


def test_sub_byte_tensors_are_packed_bytes(tmp_path):
    header = b'{"f":{"dtype":"F4","shape":[2,4],"data_offsets":[0,4]}}'
    header += b" " * (-len(header) % 8)
    path = tmp_path / "f4.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\x12\x34\x56\x78")
    with safe_open(path, framework="numpy") as f:
        assert f.get_tensor("f").tolist() == [0x12, 0x34, 0x56, 0x78]
        # element 0 in the low nibble; E2M1 codes 2, 1, 4, 3, 6, 5, 8, 7
        assert f.get_tensor("f", to="float32").tolist() == [[1.0, 0.5, 2.0, 1.5], [4.0, 3.0, -0.0, 6.0]]
        assert f.get_slice("f").get_shape() == [2, 4]
        with pytest.raises(ValueError, match="sub-byte"):
            f.get_slice("f")[0:1]


@pytest.mark.parametrize("name", sorted(NUMPY_DTYPES))
def test_round_trip_every_numpy_dtype(name, tmp_path):
    dtype = np.dtype(NUMPY_DTYPES[name])
    a = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    tensors = {"a": a, "transposed": a.T, "scalar": a[1, 2, 3], "empty": a[:, :0], "big": a.astype(dtype.newbyteorder(">"))}
    tensors["scalar"] = np.asarray(tensors["scalar"])
    out = tmp_path / "t.safetensors"
    save_file(tensors, out, metadata={"k": "v"})
    header, _ = parse(out.read_bytes())
    assert header["__metadata__"] == {"k": "v"}
    assert {k: (v["dtype"], v["shape"]) for k, v in header.items() if k != "__metadata__"} == \
        {k: (name, list(v.shape)) for k, v in tensors.items()}
    back = load_file(out)
    for k, v in tensors.items():
        assert back[k].dtype == dtype and np.array_equal(back[k], v)
    assert save(tensors, metadata={"k": "v"}) == out.read_bytes()


def test_metadata_none_and_empty():
    t = {"x": np.zeros(2, np.uint8)}
    assert "__metadata__" not in parse(save(t))[0]
    assert parse(save(t, metadata={}))[0]["__metadata__"] == {}
    for metadata in (None, {}):
        assert load(save(t, metadata=metadata))["x"].tolist() == [0, 0]


@pytest.mark.parametrize("tensors,metadata,error", [
    ({"x": np.zeros(2, np.float128 if hasattr(np, "float128") else np.complex128)}, None, ValueError),
    ({"x": np.array(["a"])}, None, ValueError),
    ({"x": [1, 2]}, None, TypeError),
    ({1: np.zeros(1)}, None, TypeError),
    ({"x": np.zeros(1)}, {"k": 1}, TypeError),
    ({"x": np.zeros(1)}, [("k", "v")], TypeError),
    ([("x", np.zeros(1))], None, TypeError),
])
def test_writer_refuses_what_it_cannot_write(tensors, metadata, error):
    with pytest.raises(error):
        save(tensors, metadata=metadata)


@pytest.mark.parametrize("name,result", [("\ud800", "SAFETENSORS_ERR_UTF8"), ("__metadata__", "SAFETENSORS_ERR_SCHEMA")])
def test_library_refusals_are_safetensor_errors(name, result, tmp_path):
    with pytest.raises(SafetensorError) as e:
        save_file({name: np.zeros(1, np.uint8)}, tmp_path / "x.safetensors")
    assert e.value.result == result and isinstance(e.value, ValueError) and e.value.message
    assert os.listdir(tmp_path) == []


def test_reader_errors():
    with safe_open(GPT2, framework="numpy") as f:
        with pytest.raises(SafetensorError) as e:
            f.get_tensor("nope")
        assert e.value.result == "SAFETENSORS_ERR_NOT_FOUND"
        with pytest.raises(ValueError):
            f.get_tensor("transformer.wpe.weight", to="float64")
        with pytest.raises(ValueError):
            f.get_tensor("transformer.wpe.weight", to="bfloat16")
    with pytest.raises(ValueError):
        safe_open(GPT2, framework="pt")
    with pytest.raises(SafetensorError) as e:
        safe_open(os.path.join(ROOT, "no", "such.safetensors"), framework="numpy")
    assert e.value.result == "SAFETENSORS_ERR_IO"
    with pytest.raises(SafetensorError) as e:
        load(b"\x10\0\0\0\0\0\0\0{}")
    assert (e.value.result, e.value.offset) == ("SAFETENSORS_ERR_HEADER_LENGTH", 10)


@pytest.mark.parametrize("where", ["folder", "index"])
def test_sharded_model(where):
    path = LLAMA if where == "folder" else os.path.join(LLAMA, "model.safetensors.index.json")
    with open(os.path.join(LLAMA, "model.safetensors.index.json")) as f:
        index = json.load(f)
    with safe_open(path, framework="numpy") as m:
        assert m.keys() == sorted(index["weight_map"])
        assert m.metadata() == index["metadata"]
        for name, shard in sorted(index["weight_map"].items())[:8]:
            header, data = parse(read(os.path.join(LLAMA, shard)))
            begin, end = header[name]["data_offsets"]
            t = m.get_tensor(name)
            assert t.dtype == np.uint16 and list(t.shape) == header[name]["shape"] and t.tobytes() == data[begin:end]
    assert sorted(load_file(path)) == sorted(index["weight_map"])


def python_with(env_lib, package_dir):
    env = dict(os.environ)
    env.pop("SAFETENSORS_LIB", None)
    if env_lib is not None:
        env["SAFETENSORS_LIB"] = env_lib
    code = "import safetensors_h; print(safetensors_h.library_path)"
    return subprocess.run([sys.executable, "-c", code], cwd=package_dir, env=env, capture_output=True, text=True)


def test_the_library_next_to_the_package_is_found(tmp_path):
    shutil.copytree(os.path.join(PACKAGE, "safetensors_h"), tmp_path / "safetensors_h")
    shutil.copy(safetensors_h.library_path, tmp_path / "safetensors_h" / "libsafetensors.so.0")
    run = python_with(None, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tmp_path / "safetensors_h" / "libsafetensors.so.0")


def test_safetensors_lib_is_the_only_place_looked_at_when_set(tmp_path):
    shutil.copytree(os.path.join(PACKAGE, "safetensors_h"), tmp_path / "safetensors_h")
    shutil.copy(safetensors_h.library_path, tmp_path / "safetensors_h" / "libsafetensors.so.0")
    run = python_with(str(tmp_path / "missing.so"), tmp_path)
    assert run.returncode != 0 and "libsafetensors not found" in run.stderr and "missing.so" in run.stderr
