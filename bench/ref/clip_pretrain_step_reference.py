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

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import dump, load, text, vision  # noqa: E402

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
    checksum = [sum(float(t.sum()) for t in w.values()), sum(float((t * t).sum()) for t in w.values())]
    for name in GRADS:
        w[name] = w[name].clone().requires_grad_(True)

    img = vision(pixels, w, c)
    txt = text(ids, w, c)
    scale = w["logit_scale"].reshape(()).exp()
    logits = scale * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T
    loss = clip_pairs(logits)
    grads = dict(zip(GRADS, torch.autograd.grad(loss, [w[k] for k in GRADS])))
    tokens = ids.unique()  # sorted ascending
    grads[TOKENS] = grads[TOKENS][tokens]
    return {
        "torch": torch.__version__,
        "checksum": checksum,
        "ids": dump(ids),
        "tokens": tokens.tolist(),
        "logits": dump(logits),
        "loss": float(loss),
        "grads": {k: dump(g) for k, g in grads.items()},
    }


def main():
    in_dir = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else FIXTURE
    config, tensors = load(in_dir)
    missing = [k for k in INPUTS if k not in tensors]
    if missing:
        sys.exit(f"{in_dir}: missing inputs {missing}")
    result = step(config, tensors)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f)
        f.write("\n")


if __name__ == "__main__":
    main()
