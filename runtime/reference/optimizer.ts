// SGD (momentum, dampening, Nesterov, weight decay), Adam, AdamW and Adadelta over reference
// tensors, updating parameter values in place, with PyTorch's semantics (torch.optim); Adadelta's
// weight decay adds wd * p to the gradient (METHODS §4.4).

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

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

/**
 * torch.optim.SGD: d = g + wd p; with momentum, buf = d on the first step, else
 * momentum buf + (1 - dampening) d, and d = buf (Nesterov: d + momentum buf); p -= lr d.
 */
export function sgd(opts: SgdOptions): Optimizer {
  const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = opts;
  const velocity = new Map<ValueId, Float64Array>();
  let first = true;
  return {
    step(params, grads) {
      for (const [id, p] of params) {
        const g = grads.get(id)!.data;
        const v = stateFor(velocity, id, g.length);
        for (let i = 0; i < g.length; i++) {
          let d = g[i]! + weightDecay * p.data[i]!;
          if (momentum !== 0) {
            v[i] = first ? d : momentum * v[i]! + (1 - dampening) * d;
            d = nesterov ? d + momentum * v[i]! : v[i]!;
          }
          p.data[i]! -= lr * d;
        }
      }
      first = false;
    },
  };
}

/** torch.optim.AdamW: p *= 1 - lr wd, then Adam's bias-corrected step. */
export function adamw(opts: {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}): Optimizer {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 1e-2 } = opts;
  const m = new Map<ValueId, Float64Array>();
  const v = new Map<ValueId, Float64Array>();
  let t = 0;
  return {
    step(params, grads) {
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = Math.sqrt(1 - beta2 ** t);
      for (const [id, p] of params) {
        const g = grads.get(id)!.data;
        const mi = stateFor(m, id, g.length);
        const vi = stateFor(v, id, g.length);
        for (let i = 0; i < g.length; i++) {
          p.data[i]! *= 1 - lr * weightDecay;
          mi[i] = beta1 * mi[i]! + (1 - beta1) * g[i]!;
          vi[i] = beta2 * vi[i]! + (1 - beta2) * g[i]! * g[i]!;
          p.data[i]! -= (lr / c1) * (mi[i]! / (Math.sqrt(vi[i]!) / c2 + eps));
        }
      }
    },
  };
}

/**
 * torch.optim.Adadelta: g += wd p; v = rho v + (1 - rho) g^2; delta = sqrt(u + eps) / sqrt(v + eps) g;
 * u = rho u + (1 - rho) delta^2; p -= lr delta.
 */
export function adadelta(opts: { lr?: number; rho?: number; eps?: number; weightDecay?: number }): Optimizer {
  const { lr = 1, rho = 0.9, eps = 1e-6, weightDecay = 0 } = opts;
  const sq = new Map<ValueId, Float64Array>();
  const acc = new Map<ValueId, Float64Array>();
  return {
    step(params, grads) {
      for (const [id, p] of params) {
        const g = grads.get(id)!.data;
        const v = stateFor(sq, id, g.length);
        const u = stateFor(acc, id, g.length);
        for (let i = 0; i < g.length; i++) {
          const gi = g[i]! + weightDecay * p.data[i]!;
          v[i] = rho * v[i]! + (1 - rho) * gi * gi;
          const delta = (Math.sqrt(u[i]! + eps) / Math.sqrt(v[i]! + eps)) * gi;
          u[i] = rho * u[i]! + (1 - rho) * delta * delta;
          p.data[i]! -= lr * delta;
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
