#!/usr/bin/env python3
"""Rebuilds tests/dtype-tables/ from the full tables (ml_dtypes 0.6.0 /
numpy 2.5.2 / torch 2.11) that the test suite of safetensors.h was given.

    python3 tests/dtype-tables/subsample.py /path/to/full/dtype-tables

Every line written is a line of the full table, unchanged, in the same
order, so any line can be checked with `grep -Fx`.

- widen_*.tsv: copied whole (every code of every format).
- narrow_*.tsv: each full table is 27 edge probes, then 25,000 random bit
  patterns (the same sequence in every table), then the structured probes
  (midpoints between neighbouring codes and the floats just beside them).
  Kept: the 27 edge probes; every 16th random probe; for the 8-bit and
  smaller formats every structured probe; for F16 and BF16, whose
  structured probes number 254k and 261k, the ones whose expected result
  is "interesting" (see keep_structured) plus a deterministic 1 in 41.
"""
import os
import sys

EDGES = 27
RANDOM = 25000
RANDOM_STRIDE = 16


def keep_structured(dtype, code):
    """F16/BF16 only: which structured probes to keep, by expected code."""
    mag = code & 0x7FFF
    mbits = 10 if dtype == "F16" else 7
    mant = mag & ((1 << mbits) - 1)
    exp = mag >> mbits
    top = (1 << (15 - mbits)) - 1  # all-ones exponent: Inf/NaN
    if mant in (0, 1, (1 << mbits) - 1, (1 << mbits) - 2):
        return True  # carries across binades
    if exp == 0 and (mant < 8 or mant % 29 == 0):
        return True  # subnormals
    if exp in (1, top - 1, top):
        return mant % 7 == 0  # smallest normal binade, overflow edge
    return (mag * 2654435761 >> 7) % 41 == 0


def main(src, dst):
    for name in sorted(os.listdir(src)):
        if not name.endswith(".tsv"):
            continue
        with open(os.path.join(src, name)) as f:
            lines = f.read().split("\n")[:-1]
        if name.startswith("narrow_"):
            dtype = name[len("narrow_"):-len(".tsv")]
            out = lines[:EDGES]
            out += lines[EDGES:EDGES + RANDOM:RANDOM_STRIDE]
            for line in lines[EDGES + RANDOM:]:
                code = int(line.split("\t")[1], 16)
                if dtype not in ("F16", "BF16") or keep_structured(dtype, code):
                    out.append(line)
        else:
            out = lines
        with open(os.path.join(dst, name), "w") as f:
            f.write("\n".join(out) + "\n")
        print("%-24s %7d of %7d lines" % (name, len(out), len(lines)))


if __name__ == "__main__":
    main(sys.argv[1], os.path.dirname(os.path.abspath(__file__)))
