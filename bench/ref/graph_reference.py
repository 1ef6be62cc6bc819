#!/usr/bin/python3
"""PyTorch reference for the tensor graph's composites (forward and gradients, float64).

Writes graph_reference.json (inputs, outputs and gradients of softmax cross-entropy, layernorm
and one pre-LN causal attention block) into the directory given as the first argument, by
default test/fixtures/graph/. test/reference/torch-parity.test.ts reads the committed file and,
where torch is installed, reruns this script to check it reproduces the file.

Every case's loss is sum(output * w) for a fixed random w (or the loss itself when scalar), so
every entry of each Jacobian contributes to the gradients.
"""

import json
import os
import sys

import torch

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20240601)


def rand(*shape, scale=1.0):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * scale


def dump(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def leaf(t):
    return t.clone().requires_grad_(True)


def cross_entropy_case():
    logits = leaf(rand(4, 5, scale=3.0))
    labels = torch.tensor([2, 0, 4, 1])
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    loss.backward()
    return {
        "inputs": {"logits": dump(logits), "labels": {"shape": [4], "data": labels.tolist()}},
        "attrs": {"label_smoothing": 0.1},
        "outputs": {"loss": dump(loss)},
        "grads": {"logits": dump(logits.grad)},
    }


def layernorm_case():
    x = leaf(rand(3, 6, scale=2.0) + 0.5)
    weight = leaf(rand(6) + 1.0)
    bias = leaf(rand(6))
    w = rand(3, 6)
    y = torch.nn.functional.layer_norm(x, (6,), weight, bias, eps=1e-5)
    (y * w).sum().backward()
    return {
        "inputs": {"x": dump(x), "weight": dump(weight), "bias": dump(bias), "w": dump(w)},
        "attrs": {"eps": 1e-5},
        "outputs": {"y": dump(y)},
        "grads": {"x": dump(x.grad), "weight": dump(weight.grad), "bias": dump(bias.grad)},
    }


def attention_block_case():
    batch, length, dim, heads = 2, 4, 8, 2
    x = leaf(rand(batch, length, dim))
    ln = torch.nn.LayerNorm(dim)
    mha = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    with torch.no_grad():
        ln.weight.copy_(rand(dim) + 1.0)
        ln.bias.copy_(rand(dim) * 0.1)
        mha.in_proj_weight.copy_(rand(3 * dim, dim, scale=0.5))
        mha.in_proj_bias.copy_(rand(3 * dim, scale=0.1))
        mha.out_proj.weight.copy_(rand(dim, dim, scale=0.5))
        mha.out_proj.bias.copy_(rand(dim, scale=0.1))
    # torch's boolean attn_mask marks the positions that may NOT attend.
    causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
    w = rand(batch, length, dim)
    h = ln(x)
    attn, _ = mha(h, h, h, attn_mask=causal, need_weights=False)
    y = x + attn
    (y * w).sum().backward()
    qw, kw, vw = mha.in_proj_weight.chunk(3)
    qb, kb, vb = mha.in_proj_bias.chunk(3)
    gqw, gkw, gvw = mha.in_proj_weight.grad.chunk(3)
    gqb, gkb, gvb = mha.in_proj_bias.grad.chunk(3)
    return {
        "inputs": {
            "x": dump(x),
            "ln_weight": dump(ln.weight),
            "ln_bias": dump(ln.bias),
            "q_weight": dump(qw),
            "k_weight": dump(kw),
            "v_weight": dump(vw),
            "q_bias": dump(qb),
            "k_bias": dump(kb),
            "v_bias": dump(vb),
            "out_weight": dump(mha.out_proj.weight),
            "out_bias": dump(mha.out_proj.bias),
            "w": dump(w),
        },
        "attrs": {"heads": heads, "eps": ln.eps},
        "outputs": {"y": dump(y)},
        "grads": {
            "x": dump(x.grad),
            "ln_weight": dump(ln.weight.grad),
            "ln_bias": dump(ln.bias.grad),
            "q_weight": dump(gqw),
            "k_weight": dump(gkw),
            "v_weight": dump(gvw),
            "q_bias": dump(gqb),
            "k_bias": dump(gkb),
            "v_bias": dump(gvb),
            "out_weight": dump(mha.out_proj.weight.grad),
            "out_bias": dump(mha.out_proj.bias.grad),
        },
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("test", "fixtures", "graph")
    os.makedirs(out_dir, exist_ok=True)
    fixture = {
        "generator": "bench/ref/graph_reference.py",
        "torch": torch.__version__,
        "cases": {
            "softmax_cross_entropy": cross_entropy_case(),
            "layernorm": layernorm_case(),
            "attention_block": attention_block_case(),
        },
    }
    path = os.path.join(out_dir, "graph_reference.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(path)


if __name__ == "__main__":
    main()
