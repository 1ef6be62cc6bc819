// Composites: textbook definitions written with primitives. Each call's nodes share one
// `composite` tag (what the kernel layer fuses) and a CompositeRecord (what hand-written
// gradient rules in composite-rules.ts start from).

import type { GraphBuilder } from "./builder.ts";
import type { Value } from "./graph.ts";
import { normalizeAxis } from "./shapes.ts";

/** softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) along `axis`. */
export function softmax(b: GraphBuilder, x: Value, axis = -1): Value {
  const a = normalizeAxis(axis, x.shape.length, "softmax");
  return b.composite("softmax", [x], { axis: a }, () => {
    const e = b.exp(b.sub(x, b.stopGradient(b.max(x, [a], true))));
    return { output: b.div(e, b.sum(e, [a], true)) };
  });
}

/** log(sum(exp(x))) over `axes`, shifted by the (gradient-free) maximum for stability. */
export function logsumexp(b: GraphBuilder, x: Value, axes: readonly number[], keepdims = false): Value {
  const as = axes.map((a) => normalizeAxis(a, x.shape.length, "logsumexp"));
  return b.composite("logsumexp", [x], { keepdims: keepdims ? 1 : 0 }, () => {
    const m = b.stopGradient(b.max(x, as, true));
    const lse = b.add(b.log(b.sum(b.exp(b.sub(x, m)), as, true)), m);
    return {
      output: keepdims
        ? lse
        : b.reshape(
            lse,
            x.shape.filter((_, i) => !as.includes(i)),
          ),
    };
  });
}

/** log_softmax(x) = x - logsumexp(x) along `axis`. */
export function logSoftmax(b: GraphBuilder, x: Value, axis = -1): Value {
  const a = normalizeAxis(axis, x.shape.length, "log_softmax");
  return b.composite("log_softmax", [x], { axis: a }, () => ({
    output: b.sub(x, logsumexp(b, x, [a], true)),
  }));
}

/**
 * Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, with the
 * biased variance (as PyTorch). gamma and beta (shape [D]) are each optional.
 */
export function layerNorm(b: GraphBuilder, x: Value, gamma?: Value, beta?: Value, eps = 1e-5): Value {
  const operands = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const attrs = { eps, gamma: gamma ? 1 : 0, beta: beta ? 1 : 0 };
  return b.composite("layernorm", operands, attrs, () => {
    const xc = b.sub(x, b.mean(x, [-1], true));
    const rstd = b.rsqrt(b.add(b.mean(b.mul(xc, xc), [-1], true), eps));
    const xhat = b.mul(xc, rstd);
    const scaled = gamma ? b.mul(xhat, gamma) : xhat;
    return { output: beta ? b.add(scaled, beta) : scaled, saved: { xhat, rstd } };
  });
}

/** GELU with the exact erf: x/2 * (1 + erf(x / sqrt 2)). */
export function gelu(b: GraphBuilder, x: Value): Value {
  return b.composite("gelu", [x], {}, () => ({
    output: b.mul(b.mul(x, 0.5), b.add(b.erf(b.mul(x, Math.SQRT1_2)), 1)),
  }));
}

/** OpenAI CLIP's QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu(b: GraphBuilder, x: Value): Value {
  return b.composite("quick_gelu", [x], {}, () => ({ output: b.mul(x, b.sigmoid(b.mul(x, 1.702))) }));
}

export interface AttentionOptions {
  /** bool, broadcastable to [..., Lq, Lk]; true where a query may attend to a key. */
  readonly mask?: Value;
  /** Query i attends to keys j <= i (PyTorch's is_causal, top-left aligned). */
  readonly causal?: boolean;
  /** Defaults to 1/sqrt(d). */
  readonly scale?: number;
}

/**
 * Scaled dot-product attention over heads already split: q [..., Lq, d], k [..., Lk, d],
 * v [..., Lk, dv] -> softmax(q k^T * scale, masked) v. A fully masked row gives NaN, as in PyTorch.
 */
export function attention(b: GraphBuilder, q: Value, k: Value, v: Value, opts: AttentionOptions = {}): Value {
  const d = q.shape[q.shape.length - 1]!;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const operands = [q, k, v, ...(opts.mask ? [opts.mask] : [])];
  return b.composite("attention", operands, { scale }, () => {
    let scores: Value = b.mul(b.matmul(q, k, { transB: true }), scale);
    const [lq, lk] = scores.shape.slice(-2) as [number, number];
    let keep = opts.mask;
    if (opts.causal) {
      const causal = b.ge(b.iota([lq, lk], 0), b.iota([lq, lk], 1));
      keep = keep ? b.select(keep, causal, b.scalar(0, "bool")) : causal;
    }
    if (keep) scores = b.select(keep, scores, -Infinity);
    const probs = softmax(b, scores, -1);
    return { output: b.matmul(probs, v), saved: { probs } };
  });
}

export interface CrossEntropyOptions {
  /** epsilon: the target puts 1 - epsilon on the label and epsilon / C on every class (PyTorch's label_smoothing). */
  readonly labelSmoothing?: number;
  readonly reduction?: "mean" | "sum" | "none";
}

/** Cross-entropy of logits [..., C] against i32 labels [...], as torch.nn.functional.cross_entropy. */
export function crossEntropy(
  b: GraphBuilder,
  logits: Value,
  labels: Value,
  opts: CrossEntropyOptions = {},
): Value {
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? "mean";
  const attrs = { label_smoothing: eps, reduction: ["none", "sum", "mean"].indexOf(reduction) };
  return b.composite("cross_entropy", [logits, labels], attrs, () => {
    const lp = logSoftmax(b, logits, -1);
    const picked = b.takeAlongAxis(lp, b.reshape(labels, [...labels.shape, 1]), -1);
    const nll = b.neg(b.reshape(picked, labels.shape));
    const perSample = eps === 0 ? nll : b.add(b.mul(nll, 1 - eps), b.mul(b.mean(lp, [-1]), -eps));
    const output =
      reduction === "none" ? perSample : reduction === "sum" ? b.sum(perSample) : b.mean(perSample);
    return { output };
  });
}

/** Entropy along `axis` as the CLIP methods write it: -sum p log(p + eps). */
export function entropy(b: GraphBuilder, p: Value, axis = -1, eps = 0): Value {
  const a = normalizeAxis(axis, p.shape.length, "entropy");
  return b.composite("entropy", [p], { axis: a, eps }, () => ({
    output: b.neg(b.sum(b.mul(p, b.log(eps === 0 ? p : b.add(p, eps))), [a])),
  }));
}

/** x / max(||x||_2, eps) along `axis` (torch.nn.functional.normalize). */
export function l2Normalize(b: GraphBuilder, x: Value, axis = -1, eps = 1e-12): Value {
  const a = normalizeAxis(axis, x.shape.length, "l2_normalize");
  return b.composite("l2_normalize", [x], { axis: a, eps }, () => ({
    output: b.div(x, b.maximum(b.sqrt(b.sum(b.mul(x, x), [a], true)), eps)),
  }));
}

/** sum(x y) / max(||x|| ||y||, eps) along `axis`, operands broadcast against each other. */
export function cosineSimilarity(b: GraphBuilder, x: Value, y: Value, axis = -1, eps = 1e-8): Value {
  const rank = Math.max(x.shape.length, y.shape.length);
  const a = normalizeAxis(axis, rank, "cosine_similarity");
  return b.composite("cosine_similarity", [x, y], { axis: a, eps }, () => {
    const norm = (v: Value) => b.sqrt(b.sum(b.mul(v, v), [a - rank + v.shape.length], true));
    const dot = b.sum(b.mul(x, y), [a]);
    const denom = b.maximum(b.mul(norm(x), norm(y)), eps);
    return { output: b.div(dot, b.reshape(denom, dot.shape)) };
  });
}
