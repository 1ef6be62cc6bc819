#!/usr/bin/python3
"""PyTorch CPU side of bench/clip.ts: the image tower of clip_reference.py on the weights and pixels the
benchmark generated, timed in the same run.

Usage: clip_bench_reference.py IN_DIR OUT_DIR REPS

IN_DIR holds `index.json` ({"config": {eps, patch, layers, heads}, "tensors": {key: {shape, offset}}}, offsets in
float32 elements) and `tensors.bin` (little-endian float32): the image tower's weights under their HF keys
and `pixels` [B, 3, S, S]. Writes OUT_DIR/features_f32.bin and features_f64.bin (float64, [B, E]) and prints
JSON {torch, threads, seconds: [per forward, REPS of them after one warm-up]}. Torch uses every core.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import vision  # noqa: E402


def main():
    in_dir, out_dir, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(os.cpu_count() or 1)
    with open(os.path.join(in_dir, "index.json")) as f:
        index = json.load(f)
    raw = np.fromfile(os.path.join(in_dir, "tensors.bin"), dtype="<f4")
    w32 = {}
    for key, t in index["tensors"].items():
        n = int(np.prod(t["shape"])) if t["shape"] else 1
        w32[key] = torch.from_numpy(raw[t["offset"] : t["offset"] + n].reshape(t["shape"]).copy())
    c = index["config"]
    pixels = w32.pop("pixels")
    with torch.no_grad():
        w64 = {k: v.double() for k, v in w32.items()}
        f64 = vision(pixels.double(), w64, c)
        del w64
        f32 = vision(pixels, w32, c)  # also the warm-up
        seconds = []
        for _ in range(reps):
            t0 = time.perf_counter()
            vision(pixels, w32, c)
            seconds.append(time.perf_counter() - t0)
    f32.double().numpy().astype("<f8").tofile(os.path.join(out_dir, "features_f32.bin"))
    f64.numpy().astype("<f8").tofile(os.path.join(out_dir, "features_f64.bin"))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds}))


if __name__ == "__main__":
    main()
