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


class QuickGELU(torch.nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(torch.nn.Module):
    """OpenAI CLIP's ResidualAttentionBlock."""

    def __init__(self, width, heads):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(width, 4 * width), QuickGELU(), torch.nn.Linear(4 * width, width)
        )
        self.ln_2 = torch.nn.LayerNorm(width)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


def block_seconds(batch, tokens, width, heads):
    """Forward + backward (parameter gradients) of one block, loss sum(y * t), as bench/clip-block.ts."""
    block = Block(width, heads)
    x, t = torch.randn(batch, tokens, width), torch.randn(batch, tokens, width)

    def fn():
        block.zero_grad(set_to_none=True)
        with torch.enable_grad():
            (block(x) * t).sum().backward()

    return median_seconds(fn, min_time=1.0)


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
            elif kind == "attention":
                bh, l, d = shape
                q, k, v = torch.randn(bh, l, d), torch.randn(bh, l, d), torch.randn(bh, l, d)
                fn = lambda: torch.softmax(q @ k.transpose(1, 2) * d**-0.5, dim=-1) @ v
            elif kind == "block":
                out["cases"][case["name"]] = block_seconds(*shape)
                continue
            else:
                raise ValueError(kind)
            out["cases"][case["name"]] = median_seconds(fn)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
