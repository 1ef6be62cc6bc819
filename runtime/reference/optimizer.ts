// Plain SGD (with momentum) and Adam over reference tensors, updating parameter values in place.

import type { ValueId } from "../../compiler/graph/graph.ts";
import type { Tensor } from "./tensor.ts";

export interface Optimizer {
  /** Applies one update to every parameter in `params` from its gradient in `grads`. */
  step(params: ReadonlyMap<ValueId, Tensor>, grads: ReadonlyMap<ValueId, Tensor>): void;
}

function stateFor(state: Map<ValueId, Float64Array>, id: ValueId, size: number): Float64Array {
  let s = state.get(id);
  if (!s) state.set(id, (s = new Float64Array(size)));
  return s;
}

/** p -= lr * v with v = momentum * v + g (PyTorch's SGD, no dampening). */
export function sgd(opts: { lr: number; momentum?: number }): Optimizer {
  const momentum = opts.momentum ?? 0;
  const velocity = new Map<ValueId, Float64Array>();
  return {
    step(params, grads) {
      for (const [id, p] of params) {
        const g = grads.get(id)!.data;
        const v = stateFor(velocity, id, g.length);
        for (let i = 0; i < g.length; i++) {
          v[i] = momentum * v[i]! + g[i]!;
          p.data[i]! -= opts.lr * v[i]!;
        }
      }
    },
  };
}

/** Adam (Kingma and Ba) with bias correction, as torch.optim.Adam without weight decay. */
export function adam(opts: { lr: number; beta1?: number; beta2?: number; eps?: number }): Optimizer {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opts;
  const m = new Map<ValueId, Float64Array>();
  const v = new Map<ValueId, Float64Array>();
  let t = 0;
  return {
    step(params, grads) {
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (const [id, p] of params) {
        const g = grads.get(id)!.data;
        const mi = stateFor(m, id, g.length);
        const vi = stateFor(v, id, g.length);
        for (let i = 0; i < g.length; i++) {
          mi[i] = beta1 * mi[i]! + (1 - beta1) * g[i]!;
          vi[i] = beta2 * vi[i]! + (1 - beta2) * g[i]! * g[i]!;
          p.data[i]! -= (lr * (mi[i]! / c1)) / (Math.sqrt(vi[i]! / c2) + eps);
        }
      }
    },
  };
}
