#!/usr/bin/python3
"""PyTorch reference for one UEO training step on CLIP (METHODS §1.2–§1.4), in float64.

Usage: ueo_step_reference.py IN_DIR [OUT_JSON]
(OUT_JSON defaults to test/fixtures/lower/ueo_step_reference.json)

IN_DIR holds `tensors.json` + `tensors.bin` as bench/ref/clip_reference.py reads them (written by
test/lower/ueo-step-parity.test.ts): the CLIP weights under their HF keys, `pixels` [N, 3, image, image],
the tokenised prompts `ids` [K, context] ("a photo of a {class}."), `slots` [K, context] (the context
index 0..M-1 at each prompt slot, M elsewhere) and the per-sample weights `w` [N]; the config adds
`context` (M) and `lambda`.

The model is clip_reference.py's forward with the CoOp-style prompt of stdlib/adapters.vlmp `prompt`:
the M context vectors (initialised to the token embeddings at the slots, i.e. of "a photo of a") replace
the token embeddings at the slots, shared by all classes. Trainable: the context and every visual
LayerNorm weight and bias (pre_layrnorm, layer_norm1/2 of each layer, post_layernorm). Logits
exp(logit_scale)·cos; L = Σ ŵ_i H(p_i) − λ H(Σ v̂_i p_i) with ŵ = w/Σw, v̂ = (1/w)/Σ(1/w),
H(q) = −Σ q log(q + 1e-5); w is a constant. Writes the loss, the initial context and the gradients.
"""

import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import checksum, dump, logits_of, step_main, text_from_embeddings, vision  # noqa: E402

INPUTS = ("pixels", "ids", "slots", "w")
FIXTURE = os.path.join("test", "fixtures", "lower", "ueo_step_reference.json")


def is_visual_layernorm(key):
    return key.startswith("vision_model.") and any(s in key for s in ("layrnorm", "layernorm", "layer_norm"))


def entropy(q, dim):
    return -(q * torch.log(q + 1e-5)).sum(dim=dim)


def ueo(logits, w, lam):
    p = torch.softmax(logits, dim=1)
    wc = w / w.sum()
    wu = (1 / w) / (1 / w).sum()
    conditional = (wc * entropy(p, 1)).sum()
    marginal = (wu[:, None] * p).sum(dim=0)
    return conditional - lam * entropy(marginal, 0)


def ueo_trainables(w, ids, slots, m):
    """The UEO step's trainable tensors, made leaves in place: the prompt context initialised from the token
    embeddings at the slots (the same words in every prompt) and every visual LayerNorm of `w`. Returns
    (token table, slot mask, context)."""
    table = w["text_model.embeddings.token_embedding.weight"]
    at = slots < m
    first = at[0].nonzero().flatten()
    ctx = table[ids[0, first]].clone().requires_grad_(True)
    for name in [k for k in w if is_visual_layernorm(k)]:
        w[name] = w[name].clone().requires_grad_(True)
    return table, at, ctx


def step(c, tensors):
    w = {k: v.to(torch.float64) for k, v in tensors.items()}
    pixels = w.pop("pixels")
    ids = w.pop("ids").round().long()
    slots = w.pop("slots").round().long()
    weights = w.pop("w")
    m = c["context"]
    sums = checksum(w)

    table, at, ctx = ueo_trainables(w, ids, slots, m)
    trainable = {"adapters.prompt.ctx": ctx, **{k: v for k, v in w.items() if v.requires_grad}}

    tokens = torch.where(at[..., None], ctx[slots.clamp(max=m - 1)], table[ids])
    img = vision(pixels, w, c)
    txt = text_from_embeddings(tokens, ids, w, c)
    logits = logits_of(img, txt, w)
    loss = ueo(logits, weights, c["lambda"])
    grads = torch.autograd.grad(loss, list(trainable.values()))
    return {
        "torch": torch.__version__,
        "checksum": sums,
        "logits": dump(logits),
        "loss": float(loss),
        "ctx": dump(ctx),
        "grads": {k: dump(g) for k, g in zip(trainable, grads)},
    }


if __name__ == "__main__":
    step_main(step, INPUTS, FIXTURE)
