#!/usr/bin/env python3
"""PyTorch CPU timings at the shapes bench/kernels.ts measures, printed as one JSON object.

Run by `npm run bench` in the same process tree as the WGSL timings, with threads = cores, so the
ratio compares the two stacks on the same machine at the same moment. Each case: median seconds
of several timed repetitions after a warm-up.
"""

import json
import os
import sys
import time

import torch


def median_seconds(fn, min_time=0.4):
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= 0.1:
            break
        reps *= 2
    samples = []
    deadline = time.perf_counter() + min_time
    while len(samples) < 3 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    cases = json.loads(sys.argv[1])
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": "", "cases": {}}
    try:
        out["blas"] = [l.strip() for l in torch.__config__.show().splitlines() if "BLAS" in l][0]
    except Exception:
        pass
    with torch.no_grad():
        for case in cases:
            kind, shape = case["kind"], case["shape"]
            if kind == "matmul":
                m, k, n = shape
                a, b = torch.randn(m, k), torch.randn(k, n)
                fn = lambda: torch.matmul(a, b)
            elif kind == "softmax":
                x = torch.randn(*shape)
                fn = lambda: torch.softmax(x, dim=-1)
            elif kind == "layernorm":
                x = torch.randn(*shape)
                w, bias = torch.randn(shape[-1]), torch.randn(shape[-1])
                fn = lambda: torch.nn.functional.layer_norm(x, (shape[-1],), w, bias, 1e-5)
            else:
                raise ValueError(kind)
            out["cases"][case["name"]] = median_seconds(fn)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
