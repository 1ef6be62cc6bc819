#!/usr/bin/python3
"""PyTorch CPU side of bench/ueo-step.ts: one UEO training step (forward, backward, SGD update) on CLIP in
float32, timed in the same run as vlmp's.

Usage: ueo_step_bench_reference.py IN_DIR REPS

IN_DIR holds the random checkpoint the benchmark made (`model/model.safetensors`, HF keys and shapes,
float32), `inputs.json` ({"config": {...}, "tensors": {name: {shape, offset}}}, offsets in float32
elements) and `inputs.bin` (little-endian float32): `pixels` [N, 3, S, S], the prompts `ids` and `slots`
[K, context] and the per-sample weights `w` [N]. The config gives patch, layers, heads, text_layers,
text_heads, eot, eps, context (M), lambda and lr.

The step is ueo_step_reference.py's (clip_reference.py's forward with the CoOp prompt: the context replaces
the token embeddings at the slots; trainable: the context and every visual LayerNorm weight and bias; the
UEO loss) in float32, with loss.backward() and torch.optim.SGD(lr) on the trainable tensors. One warm-up
step, then REPS timed steps. Prints JSON {torch, threads, seconds: [per step], loss: the warm-up step's loss
(before any update)}. Torch uses every core.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import logits_of, text_from_embeddings, vision  # noqa: E402
from ueo_step_reference import ueo, ueo_trainables  # noqa: E402


def read_safetensors(path):
    """Every tensor of a float32 safetensors file, as torch tensors (copies)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for key, t in header.items():
        if key == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {key} is {t['dtype']}, not F32")
        a, b = t["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).copy())
    return out


def main():
    in_dir, reps = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(os.cpu_count() or 1)
    w = read_safetensors(os.path.join(in_dir, "model", "model.safetensors"))
    with open(os.path.join(in_dir, "inputs.json")) as f:
        index = json.load(f)
    raw = np.fromfile(os.path.join(in_dir, "inputs.bin"), dtype="<f4")
    inputs = {}
    for key, t in index["tensors"].items():
        n = int(np.prod(t["shape"]))
        inputs[key] = torch.from_numpy(raw[t["offset"] : t["offset"] + n].reshape(t["shape"]).copy())
    c = index["config"]
    pixels = inputs["pixels"]
    ids = inputs["ids"].round().long()
    slots = inputs["slots"].round().long()
    weights = inputs["w"]
    m = c["context"]

    table, at, ctx = ueo_trainables(w, ids, slots, m)
    trainable = [ctx, *(v for v in w.values() if v.requires_grad)]
    optimizer = torch.optim.SGD(trainable, lr=c["lr"])
    gather = slots.clamp(max=m - 1)
    table_ids = table[ids]

    def step():
        optimizer.zero_grad(set_to_none=True)
        tokens = torch.where(at[..., None], ctx[gather], table_ids)
        img = vision(pixels, w, c)
        txt = text_from_embeddings(tokens, ids, w, c)
        loss = ueo(logits_of(img, txt, w), weights, c["lambda"])
        loss.backward()
        optimizer.step()
        return float(loss)

    first_loss = step()  # the warm-up
    seconds = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds, "loss": first_loss}
        )
    )


if __name__ == "__main__":
    main()
