#!/usr/bin/env python3
"""check_expected.py - checks the expected outputs in tests/inspect/ against
the files they describe, read here with json and struct, without the
inspector: each table row (name, dtype, shape, bytes, offsets, shard), which
tensors a --filter keeps (fnmatch) and the order each --sort gives, every
--tree line (recomputed from the names), the summaries, the --json lines,
and the --stats and --values columns against reference.tsv. Run it from the
top of the repository after changing an expected file:

    python3 tests/inspect/check_expected.py

It prints what disagrees and exits 1, or says how many files it checked.
"""
import fnmatch
import json
import os
import re
import struct
import sys

HERE = "tests/inspect/"
GPT2 = "tests/models/tiny-gpt2/model.safetensors"
LLAMA = "tests/models/tiny-llama-bf16-sharded"
MIXED = "tests/conformance/files/torch_mixed.safetensors"
BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "F64": 64, "I64": 64, "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
# the dtype enum's order, in which "by_dtype" lists them
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16",
         "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64", "F4", "F6_E2M3", "F6_E3M2"]
problems = []


def problem(where, what):
    problems.append("%s: %s" % (where, what))


def read_header(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    return n, json.loads(blob[8:8 + n])


def tensors_of(path):
    """(name, dtype, shape, begin, end, shard) in the library's order."""
    if os.path.isdir(path):
        index = json.load(open(os.path.join(path, "model.safetensors.index.json")))
        shards = sorted(set(index["weight_map"].values()))
        out = []
        for k, shard in enumerate(shards):
            _, header = read_header(os.path.join(path, shard))
            for name in sorted(n for n in header if n != "__metadata__"):
                t = header[name]
                out.append((name, t["dtype"], t["shape"], t["data_offsets"][0], t["data_offsets"][1], k))
        return out, shards, index.get("metadata", {})
    _, header = read_header(path)
    names = [n for n in header if n != "__metadata__"]
    names.sort(key=lambda n: (header[n]["data_offsets"][0], n.encode()))
    return ([(n, header[n]["dtype"], header[n]["shape"], *header[n]["data_offsets"], 0) for n in names], None,
            header.get("__metadata__") or {})


def natural_key(name):
    parts = re.split(r"(\d+)", name)
    return [int(p) if i % 2 else p.encode() for i, p in enumerate(parts)] + [name.encode()]


def select(tensors, globs=(), sort=None):
    kept = [t for t in tensors if not globs or any(fnmatch.fnmatchcase(t[0], g) for g in globs)]
    if sort == "name":
        kept.sort(key=lambda t: t[0].encode())
    elif sort == "natural":
        kept.sort(key=lambda t: natural_key(t[0]))
    elif sort == "size":
        kept.sort(key=lambda t: -(t[4] - t[3]))  # stable: ties keep the library's order
    elif sort == "offset":
        kept.sort(key=lambda t: (t[5], t[3]))
    return kept


def shape_text(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def escaped(name):
    return name.replace("\\", "\\\\")


def params(t):
    n = 1
    for d in t[2]:
        n *= d
    return n


def table_rows(lines):
    """The rows under the first heading line that starts with '  NAME'."""
    at = next(i for i, l in enumerate(lines) if l.startswith("  NAME"))
    rows = []
    for line in lines[at + 1:]:
        if not line.strip() or line.startswith("  * "):
            break
        body = line[2:]
        name = "" if body.startswith("  ") else re.split(r"  +", body)[0]
        rest = body[len(name):].strip()
        rows.append([name] + re.split(r"  +", rest))
    return rows


def check_summary(where, lines, kept, total, globs):
    text = "\n".join(lines)
    count = "%s%s" % (format(len(kept), ","), " of %s (filtered: %s)" % (format(total, ","), ", ".join(globs)) if globs else "")
    if "  tensors     %s\n" % count not in text + "\n":
        problem(where, "summary tensors line is not '%s'" % count)
    p = sum(params(t) for t in kept)
    if not re.search(r"  parameters  %s( \(|$|\n)" % re.escape(format(p, ",")), text):
        problem(where, "parameters are not %d" % p)
    b = sum(t[4] - t[3] for t in kept)
    if not re.search(r"  bytes       %s( \(|$|\n)" % re.escape(format(b, ",")), text):
        problem(where, "bytes are not %d" % b)
    for dtype in set(t[1] for t in kept):
        mine = [t for t in kept if t[1] == dtype]
        want = "%s bytes" % format(sum(t[4] - t[3] for t in mine), ",")
        tail = "%d tensor%s, %s parameter%s" % (len(mine), "" if len(mine) == 1 else "s", format(sum(map(params, mine)), ","),
                                               "" if sum(map(params, mine)) == 1 else "s")
        if not re.search(r"%s +%s +[0-9.]+%%  %s" % (re.escape(dtype), re.escape(want), re.escape(tail)), text):
            problem(where, "by dtype %s is not %s, %s" % (dtype, want, tail))


ELEMENT_BYTES = {"F64": 8, "I64": 8, "U64": 8, "C64": 8, "F32": 4, "I32": 4, "U32": 4,
                 "F16": 2, "BF16": 2, "I16": 2, "U16": 2}


def misaligned(path, shards, t):
    """Whether the tensor's file offset 8 + N + begin is not a multiple of
    its element size (1 for the 8-bit and sub-byte dtypes)."""
    file = os.path.join(path, shards[t[5]]) if shards else path
    n, _ = read_header(file)
    return (8 + n + t[3]) % ELEMENT_BYTES.get(t[1], 1) != 0


def check_table(name, path, globs=(), sort=None):
    lines = open(HERE + name + ".out").read().split("\n")
    tensors, shards, _ = tensors_of(path)
    kept = select(tensors, globs, sort)
    rows = table_rows(lines)
    if len(rows) != len(kept):
        problem(name, "%d rows, %d tensors" % (len(rows), len(kept)))
    marked = 0
    for row, t in zip(rows, kept):
        want = [escaped(t[0]), t[1], shape_text(t[2])]
        got = row[:3]
        mark = row[-1].endswith(" *")
        marked += mark
        if mark != misaligned(path, shards, t):
            problem(name, "row %s: the misalignment mark is wrong" % row)
        row[-1] = row[-1][:-2] if mark else row[-1]
        if got != want or row[4] != str(t[4] - t[3]) or [int(x) for x in row[-1].split("..")] != [t[3], t[4]]:
            problem(name, "row %s is not %s %d %d..%d" % (row, want, t[4] - t[3], t[3], t[4]))
        if shards and row[5] != shards[t[5]]:
            problem(name, "row %s: shard is not %s" % (row, shards[t[5]]))
    if (marked > 0) != any(l.startswith("  * misaligned for its dtype") for l in lines):
        problem(name, "the note under the table does not match the marks")
    check_summary(name, lines, kept, len(tensors), globs)


def tree_lines(kept):
    """The tree as the inspector's documentation defines it, recomputed."""
    groups = {}
    order = []
    for row, t in enumerate(kept):
        parts = re.split(r"([./])", t[0])
        numbers = [p for p in parts[::2] if p.isdigit()]
        pattern = "".join("#" if i % 2 == 0 and p.isdigit() else p for i, p in enumerate(parts))
        key = pattern if numbers else ("plain", t[0])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((t, ".".join(numbers)))
    lines = []
    for key in order:
        members = groups[key]
        if len(members) == 1:
            t = members[0][0]
            lines.append((escaped(t[0]), t[1], shape_text(t[2]), "", t[4] - t[3], ""))
            continue
        variants = {}
        for t, idx in members:
            variants.setdefault((t[1], tuple(t[2])), []).append((t, idx))
        for (dtype, shape), vs in variants.items():
            listed = ", ".join(ranges([idx for _, idx in vs])) if len(variants) > 1 else ""
            lines.append((escaped(key), dtype, shape_text(shape), "× %d" % len(vs), sum(t[4] - t[3] for t, _ in vs),
                          listed))
    return lines


def ranges(numbers):
    values = sorted(int(n) for n in numbers)
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else "%d-%d" % (values[i], values[j]))
        i = j + 1
    return out


def human(n):
    if n < 1024:
        return "%d B" % n
    for unit in ["KiB", "MiB", "GiB"]:
        n /= 1024.0
        if n < 1024 - 0.05:
            return "%.1f %s" % (n, unit)


def check_tree(name, path, sort=None):
    lines = open(HERE + name + ".out").read().split("\n")
    tensors, _, _ = tensors_of(path)
    kept = select(tensors, (), sort)
    rows = table_rows(lines)
    want = tree_lines(kept)
    if len(rows) != len(want):
        problem(name, "%d tree lines, %d expected" % (len(rows), len(want)))
    for row, w in zip(rows, want):
        count, listed = (row[3], row[5] if len(row) > 5 else "") if w[3] else ("", "")
        got = (row[0], row[1], row[2], count, row[4] if w[3] else row[3], listed)
        if got != (w[0], w[1], w[2], w[3], human(w[4]), w[5]):
            problem(name, "tree line %s, expected %s" % (row, w))
    check_summary(name, lines, kept, len(tensors), ())


def check_json(name, path, globs=()):
    for line in open(HERE + name + ".out"):
        obj = json.loads(line)
        tensors, shards, metadata = tensors_of(path)
        kept = select(tensors, globs)
        got = [(t["name"], t["dtype"], t["shape"], *t["data_offsets"], t.get("shard", 0)) for t in obj["tensors"]]
        if got != [(t[0], t[1], t[2], t[3], t[4], t[5]) for t in kept]:
            problem(name, "tensors differ from the header")
        if shards and obj["shards"] != shards:
            problem(name, "shards are not %s" % shards)
        if not shards:
            n, _ = read_header(path)
            if obj["header_size"] != n or obj["data_start"] != 8 + n:
                problem(name, "header_size or data_start is wrong")
        if obj["metadata"] != metadata:
            problem(name, "metadata are not %s" % metadata)
        by = {}
        for t in kept:
            d = by.setdefault(t[1], {"tensors": 0, "parameters": 0, "bytes": 0})
            d["tensors"] += 1
            d["parameters"] += params(t)
            d["bytes"] += t[4] - t[3]
        totals = {"tensors": len(kept), "parameters": sum(map(params, kept)), "bytes": sum(t[4] - t[3] for t in kept),
                  "by_dtype": {k: by[k] for k in ORDER if k in by}}
        if obj["totals"] != totals or list(obj["totals"]["by_dtype"]) != list(totals["by_dtype"]):
            problem(name, "totals are %s, expected %s" % (obj["totals"], totals))
        if globs and obj.get("filter") != {"globs": list(globs), "total_tensors": len(tensors)}:
            problem(name, "filter is %s" % obj.get("filter"))


def reference():
    ref = {}
    for line in open(HERE + "reference.tsv"):
        f = line.rstrip("\n").split("\t")
        ref[(f[0], f[1])] = f
    return ref


def six(x):
    return x if x == "-" else "%.6g" % float(x)


def check_stats(name, path, globs=()):
    ref = reference()
    lines = open(HERE + name + ".out").read().split("\n")
    tensors, shards, _ = tensors_of(path)
    kept = select(tensors, globs)
    for row, t in zip(table_rows(lines), kept):
        file = os.path.join(path, shards[t[5]]) if shards else path
        r = ref[(file, t[0])]
        want = [six(r[3]) if "." in r[3] or "e" in r[3] else r[3], six(r[4]) if "." in r[4] or "e" in r[4] else r[4],
                six(r[5]), six(r[6]), r[7], r[8], r[9]]
        if row[3:] != want:
            problem(name, "%s: stats %s, reference %s" % (t[0], row[3:], want))


def check_values(name, paths, n):
    ref = reference()
    text = open(HERE + name + ".out").read()
    for path in paths:
        tensors, _, _ = tensors_of(path)
        block = text.split(path + "\n", 1)[1]
        for t in tensors:
            r = ref[(path, t[0])]
            values = [] if r[10] == "-" else r[10].split(",")
            shown = "[" + ", ".join(values[:n]) + (", ..." if params(t) > n else "") + "]"
            if r[3] == "-" and t[1] == "C64":
                shown = "-"
            if not re.search(r"\n  %s +%s\n" % (re.escape(escaped(t[0])), re.escape(shown)), block):
                problem(name, "%s %s: values are not %s" % (path, t[0], shown))


check_table("gpt2", GPT2)
check_table("llama", LLAMA)
check_table("mixed", MIXED)
check_table("misaligned", "tests/inspect/fixtures/misaligned.safetensors")
check_table("filter", GPT2, ("*.bias", "transformer.w[pt]e.*"))
check_table("sort-natural", MIXED, (), "natural")
check_table("sort-name", MIXED, ("model.layers.1?.*",), "name")
check_table("sort-size", GPT2, ("*.weight",), "size")
check_table("sort-offset", LLAMA, ("*proj*",), "offset")
check_summary("filter-none", open(HERE + "filter-none.out").read().split("\n"), [], 28, ("nothing*",))
check_tree("tree-gpt2", GPT2)
check_tree("tree-llama", LLAMA, "natural")
check_tree("tree-mixed", MIXED, "natural")
check_json("gpt2-json", GPT2)
check_json("llama-json", LLAMA)
check_json("filter-json", GPT2, ("transformer.h.?.ln_[!2].*",))
check_stats("stats-gpt2", GPT2)
check_stats("stats-llama", LLAMA, ("*norm*",))
check_stats("stats-special", "tests/inspect/fixtures/special.safetensors")
files = sorted("tests/conformance/files/" + f for f in os.listdir("tests/conformance/files") if f.startswith("torch_dtype_"))
check_values("values-dtypes", files + ["tests/conformance/files/edge_f4_even.safetensors",
                                       "tests/conformance/files/edge_f6_e2m3_4.safetensors"], 3)
for p in problems:
    print(p)
print("check_expected: %d problems" % len(problems))
sys.exit(1 if problems else 0)
