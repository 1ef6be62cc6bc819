// Network layers built from primitives and composites, with PyTorch's weight layouts so that
// checkpoint tensors load as they are.

import type { GraphBuilder } from "./builder.ts";
import { type AttentionOptions, attention } from "./composites.ts";
import type { Value } from "./graph.ts";

/** x W^T + bias, with W [out, in] as torch.nn.Linear stores it. */
export function linear(b: GraphBuilder, x: Value, weight: Value, bias?: Value): Value {
  const y = b.matmul(x, weight, { transB: true });
  return bias ? b.add(y, bias) : y;
}

export interface LinearWeights {
  readonly weight: Value;
  readonly bias?: Value;
}

export interface AttentionWeights {
  readonly q: LinearWeights;
  readonly k: LinearWeights;
  readonly v: LinearWeights;
  readonly out: LinearWeights;
}

/**
 * Multi-head attention as torch.nn.MultiheadAttention (batch first): queries from xq [B, Lq, D],
 * keys and values from xkv [B, Lk, D], `heads` heads of D / heads features each.
 */
export function multiHeadAttention(
  b: GraphBuilder,
  xq: Value,
  xkv: Value,
  w: AttentionWeights,
  heads: number,
  opts: AttentionOptions = {},
): Value {
  const [batch, lq, dim] = xq.shape as [number, number, number];
  const lk = xkv.shape[1]!;
  const hd = dim / heads;
  const split = (x: Value, p: LinearWeights, len: number) =>
    b.permute(b.reshape(linear(b, x, p.weight, p.bias), [batch, len, heads, hd]), [0, 2, 1, 3]);
  const o = attention(b, split(xq, w.q, lq), split(xkv, w.k, lk), split(xkv, w.v, lk), opts);
  const merged = b.reshape(b.permute(o, [0, 2, 1, 3]), [batch, lq, dim]);
  return linear(b, merged, w.out.weight, w.out.bias);
}
