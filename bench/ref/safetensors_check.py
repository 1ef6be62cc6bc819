#!/usr/bin/env python3
"""Cross-checks vlmp's safetensors files with an independent reader (struct + json + numpy; the
`safetensors` pip package is not used), and writes files with f16/bf16/int tensors made by numpy and
PyTorch for vlmp's reader to decode.

  safetensors_check.py check FILE EXPECTED.json  compare tensors of FILE with EXPECTED ({name: {shape, values}})
  safetensors_check.py write FILE                 write FILE; print {name: {dtype, shape, values}} as JSON

Prints one line `skip: REASON` and exits 0 when numpy (check) or torch (write) is absent.
"""

import json
import struct
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("skip: numpy is not installed")
    sys.exit(0)

NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                "I8": "i1", "U8": "u1", "BOOL": "?"}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin: base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=NUMPY_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        assert begin == cursor, f"{name}: hole or overlap at {begin} (expected {cursor})"
        cursor = end
    assert base + cursor == len(data), "trailing bytes"
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    return header, out


def check(path, expected_path):
    header, tensors = read(path)
    with open(expected_path) as f:
        expected = json.load(f)
    for name, want in expected.items():
        got = tensors[name]
        assert list(got.shape) == want["shape"], f"{name}: shape {list(got.shape)} != {want['shape']}"
        values = np.asarray(want["values"], dtype=np.float32).reshape(want["shape"])
        assert np.array_equal(got.astype(np.float32), values), f"{name}: values differ"
    assert tensors["logit_scale"].ndim == 0, "logit_scale is not 0-d"
    print(json.dumps({"ok": True, "tensors": len(tensors), "checked": len(expected),
                      "metadata": header.get("__metadata__", {})}))


def write(path):
    try:
        import torch
    except ImportError:
        print("skip: torch is not installed")
        sys.exit(0)
    values = [1.0, -2.5, 3.14159, 1e-3, 65504.0, -0.0, 1e-7, 123.456]
    arrays = {
        "f16": ("F16", np.array(values, dtype=np.float16).reshape(2, 4)),
        "bf16": ("BF16", torch.tensor(values, dtype=torch.bfloat16).reshape(4, 2)),
        "f32": ("F32", np.array(values, dtype=np.float32)),
        "f64": ("F64", np.array(values[:3], dtype=np.float64)),
        "i64": ("I64", np.array([-3, 0, 1 << 40], dtype=np.int64)),
        "mask": ("BOOL", np.array([True, False, True])),
        "scalar": ("F32", np.array(4.60517, dtype=np.float32)),
    }
    header, blobs, offset, expected = {}, [], 0, {}
    for name, (dtype, arr) in arrays.items():
        if dtype == "BF16":
            raw = arr.view(torch.int16).numpy().astype("<i2").tobytes()
            as_float = arr.float().numpy()
        else:
            raw = arr.astype(NUMPY_DTYPES[dtype]).tobytes()
            as_float = arr.astype(np.float64)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
        expected[name] = {"dtype": dtype, "shape": list(arr.shape),
                          "values": [float(v) for v in np.asarray(as_float, dtype=np.float64).reshape(-1)]}
    text = json.dumps(header).encode("utf-8")
    # Odd header length on purpose: tensors land unaligned.
    if len(text) % 2 == 0:
        text += b" "
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print(json.dumps(expected))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
