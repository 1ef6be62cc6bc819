#!/usr/bin/python3
"""PyTorch reference for one contrastive pre-training step of CLIP (Radford et al. §2.5), in float64.

Usage: clip_pretrain_step_reference.py IN_DIR [OUT_JSON]
(OUT_JSON defaults to test/fixtures/lower/clip_pretrain_step_reference.json)

IN_DIR holds `tensors.json` + `tensors.bin` as bench/ref/clip_reference.py reads them (written by
test/lower/clip-pretrain-step-parity.test.ts): the CLIP weights under their HF keys, `pixels`
[N, 3, image, image] and `ids` [N, context], row i the tokenised caption of image i.

The model is clip_reference.py's forward, every parameter trainable (stdlib/adapters.vlmp `full`); the
loss is stdlib/losses.vlmp `clip_pairs` on logits = exp(logit_scale)·cos [N, N] (image i × caption j):
(CE(logits, arange) + CE(logitsᵀ, arange)) / 2. Writes the loss, the ids, and the gradients of a
representative set of parameters (GRADS); of the token embedding only the rows of the tokens in `ids`
(`tokens`, ascending), since every other row's gradient is zero.
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import checksum, dump, logits_of, step_main, text, vision  # noqa: E402

INPUTS = ("pixels", "ids")
FIXTURE = os.path.join("test", "fixtures", "lower", "clip_pretrain_step_reference.json")
TOKENS = "text_model.embeddings.token_embedding.weight"
# Both projections, the temperature, the text embeddings, one layer of each tower's attention and norm, and
# the vision embeddings: every kind of parameter the step reaches, on both sides of the loss.
GRADS = (
    "logit_scale",
    "visual_projection.weight",
    "text_projection.weight",
    TOKENS,
    "text_model.embeddings.position_embedding.weight",
    "text_model.encoder.layers.1.layer_norm1.weight",
    "text_model.encoder.layers.1.layer_norm1.bias",
    "text_model.final_layer_norm.weight",
    "vision_model.encoder.layers.0.self_attn.q_proj.weight",
    "vision_model.encoder.layers.0.self_attn.v_proj.bias",
    "vision_model.embeddings.class_embedding",
    "vision_model.embeddings.patch_embedding.weight",
)


def clip_pairs(logits):
    target = torch.arange(logits.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def step(c, tensors):
    w = {k: v.to(torch.float64) for k, v in tensors.items()}
    pixels = w.pop("pixels")
    ids = w.pop("ids").round().long()
    sums = checksum(w)
    for name in GRADS:
        w[name] = w[name].clone().requires_grad_(True)

    img = vision(pixels, w, c)
    txt = text(ids, w, c)
    logits = logits_of(img, txt, w)
    loss = clip_pairs(logits)
    grads = dict(zip(GRADS, torch.autograd.grad(loss, [w[k] for k in GRADS])))
    tokens = ids.unique()  # sorted ascending
    grads[TOKENS] = grads[TOKENS][tokens]
    return {
        "torch": torch.__version__,
        "checksum": sums,
        "ids": dump(ids),
        "tokens": tokens.tolist(),
        "logits": dump(logits),
        "loss": float(loss),
        "grads": {k: dump(g) for k, g in grads.items()},
    }


if __name__ == "__main__":
    step_main(step, INPUTS, FIXTURE)
