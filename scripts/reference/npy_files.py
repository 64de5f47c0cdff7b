#!/usr/bin/env python3
"""Small .npy files written by numpy itself, for pmg's .npy reader tests (src/core/npy.test.ts).

Values: a[i] = float32(sin(0.5 i) * 3) in C order, shape (1, 4, 2, 3), unless the name says otherwise.
Usage: python3 scripts/reference/npy_files.py   (writes test-data/npy/*.npy)
"""
import os
import sys

sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-data", "npy")
os.makedirs(root, exist_ok=True)
a = (np.sin(0.5 * np.arange(24)) * 3).astype("<f4").reshape(1, 4, 2, 3)


def write(name, array, version=None):
    path = os.path.join(root, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    print(path, os.path.getsize(path), file=sys.stderr)


write("v1-f4.npy", a)                          # np.save's default: version 1.0
write("v2-f4.npy", a, (2, 0))
write("v3-f4.npy", a, (3, 0))
write("batch2-f4.npy", np.concatenate([a, -a]))  # shape (2, 4, 2, 3)
write("f8.npy", a.astype("<f8"))
write("big-endian-f4.npy", a.astype(">f4"))
write("fortran-f4.npy", np.asfortranarray(a))
write("scalar-f4.npy", np.float32(1.5).reshape(()))
