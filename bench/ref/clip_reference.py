#!/usr/bin/python3
"""A hand-written PyTorch CLIP forward (HF CLIPModel semantics, no transformers package) for parity tests.

Usage: clip_reference.py IN_DIR OUT_JSON

IN_DIR holds `tensors.json` (config, and for each tensor its HF key, shape, dtype and offset into
`tensors.bin`, little-endian float64) as written by test/lower/clip-forward.test.ts: the CLIP weights
under their HF checkpoint keys plus the inputs `pixels` [B, 3, image, image] and `ids` [C, context].
Writes OUT_JSON with image_embeds [B, E] (projected, unnormalised), text_embeds [C, E] (projected,
unnormalised) and logits_per_image [B, C], computed in float64 and in float32.

Vision: patch embedding as a stride-`patch` convolution without bias, class token, positional
embedding, pre_layrnorm, pre-LN encoder layers (attention with q scaled by 1/sqrt(head width),
QuickGELU MLP), post_layernorm on the class token, visual_projection. Text: token + position
embeddings, causal mask, the same layers, final_layer_norm, pooled at the FIRST end token
(argmax of ids == eot), text_projection. logits = exp(logit_scale) * cos.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def load(in_dir):
    with open(os.path.join(in_dir, "tensors.json")) as f:
        index = json.load(f)
    raw = np.fromfile(os.path.join(in_dir, "tensors.bin"), dtype="<f8")
    tensors = {}
    for key, t in index["tensors"].items():
        n = int(np.prod(t["shape"])) if t["shape"] else 1
        data = raw[t["offset"] : t["offset"] + n].reshape(t["shape"])
        tensors[key] = torch.from_numpy(data.copy())
    return index["config"], tensors


def layer_norm(x, w, prefix, eps):
    return F.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps)


def linear(x, w, prefix):
    return F.linear(x, w[prefix + ".weight"], w[prefix + ".bias"])


def attention(x, w, prefix, heads, causal):
    b, n, d = x.shape
    hd = d // heads
    q = linear(x, w, prefix + ".q_proj") * hd**-0.5
    k = linear(x, w, prefix + ".k_proj")
    v = linear(x, w, prefix + ".v_proj")
    q, k, v = (t.reshape(b, n, heads, hd).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2)
    if causal:
        mask = torch.full((n, n), float("-inf"), dtype=x.dtype).triu(1)
        scores = scores + mask
    out = torch.softmax(scores, dim=-1) @ v
    return linear(out.transpose(1, 2).reshape(b, n, d), w, prefix + ".out_proj")


def encoder(x, w, prefix, layers, heads, eps, causal):
    for i in range(layers):
        p = f"{prefix}.encoder.layers.{i}"
        x = x + attention(layer_norm(x, w, p + ".layer_norm1", eps), w, p + ".self_attn", heads, causal)
        h = linear(layer_norm(x, w, p + ".layer_norm2", eps), w, p + ".mlp.fc1")
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        x = x + linear(h, w, p + ".mlp.fc2")
    return x


def vision(pixels, w, c):
    p = "vision_model"
    eps = c["eps"]
    x = F.conv2d(pixels, w[p + ".embeddings.patch_embedding.weight"], stride=c["patch"])
    x = x.flatten(2).transpose(1, 2)
    cls = w[p + ".embeddings.class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + w[p + ".embeddings.position_embedding.weight"]
    x = layer_norm(x, w, p + ".pre_layrnorm", eps)
    x = encoder(x, w, p, c["layers"], c["heads"], eps, causal=False)
    pooled = layer_norm(x[:, 0, :], w, p + ".post_layernorm", eps)
    return pooled @ w["visual_projection.weight"].T


def text(ids, w, c):
    return text_from_embeddings(w["text_model.embeddings.token_embedding.weight"][ids], ids, w, c)


def text_from_embeddings(tokens, ids, w, c):
    """The text tower from the token embeddings [C, n, width] (adapters may replace some of them)."""
    p = "text_model"
    eps = c["eps"]
    n = ids.shape[1]
    x = tokens + w[p + ".embeddings.position_embedding.weight"][:n]
    x = encoder(x, w, p, c["text_layers"], c["text_heads"], eps, causal=True)
    x = layer_norm(x, w, p + ".final_layer_norm", eps)
    first_end = (ids == c["eot"]).int().argmax(dim=-1)  # the first maximum: the first end token
    pooled = x[torch.arange(x.shape[0]), first_end]
    return pooled @ w["text_projection.weight"].T


def logits_of(img, txt, w):
    """exp(logit_scale) · cos(image i, text j): [images, texts]."""
    scale = w["logit_scale"].reshape(()).exp()
    return scale * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T


def forward(c, w, dtype):
    w = {k: v.to(dtype) for k, v in w.items()}
    pixels = w.pop("pixels")
    ids = w.pop("ids").round().long()
    img = vision(pixels, w, c)
    txt = text(ids, w, c)
    logits = logits_of(img, txt, w)
    return {"image_embeds": img, "text_embeds": txt, "logits_per_image": logits}


def dump(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]}


def checksum(w):
    """Sum and sum of squares of every weight (test/lower/clip-weights.ts `checksum`)."""
    return [sum(float(t.sum()) for t in w.values()), sum(float((t * t).sum()) for t in w.values())]


def write_json(out, result):
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f)
        f.write("\n")


def step_main(step, inputs, fixture):
    """The command line of a step reference script: IN_DIR [OUT_JSON] (default `fixture`); loads IN_DIR,
    which must hold every tensor named in `inputs`, and writes step(config, tensors) as JSON."""
    in_dir = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else fixture
    config, tensors = load(in_dir)
    missing = [k for k in inputs if k not in tensors]
    if missing:
        sys.exit(f"{in_dir}: missing inputs {missing}")
    write_json(out, step(config, tensors))


def main():
    in_dir, out = sys.argv[1], sys.argv[2]
    config, tensors = load(in_dir)
    result = {"torch": torch.__version__}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        with torch.no_grad():
            result[name] = {k: dump(v) for k, v in forward(config, tensors, dtype).items()}
    write_json(out, result)


if __name__ == "__main__":
    main()
