#!/usr/bin/python3
"""PyTorch reference for the UEO loss (METHODS §1.4) and its gradient with respect to the logits (float64).

Writes ueo_loss_reference.json into the directory given as the first argument, by default
test/fixtures/lower/. test/lower/ueo-torch.test.ts lowers stdlib `losses.ueo` and compares with the
committed file and, where torch is installed, reruns this script to check it reproduces the file.

L = Σ_i ŵ_i H(p_i) − λ H(Σ_i v̂_i p_i), p_i = softmax(ℓ_i), ŵ = w/Σw, v̂ = (1/w)/Σ(1/w),
H(q) = −Σ q log(q + 1e-5); w is a constant (no gradient).
"""

import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import dump  # noqa: E402
from ueo_step_reference import ueo  # noqa: E402

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20240817)


def case(n, c, lam, scale):
    logits = ((torch.rand(n, c, generator=gen) * 2 - 1) * scale).requires_grad_(True)
    w = torch.rand(n, generator=gen) * 0.9 + 0.05
    loss = ueo(logits, w, lam)
    loss.backward()
    return {
        "inputs": {"logits": dump(logits), "w": dump(w)},
        "attrs": {"lambda": lam},
        "outputs": {"loss": dump(loss)},
        "grads": {"logits": dump(logits.grad)},
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("test", "fixtures", "lower")
    os.makedirs(out, exist_ok=True)
    cases = {
        "n8_c5": case(8, 5, 1.0, 4.0),
        "n16_c10_lambda0.5": case(16, 10, 0.5, 8.0),
        "n3_c2_sharp": case(3, 2, 2.0, 30.0),
    }
    with open(os.path.join(out, "ueo_loss_reference.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
