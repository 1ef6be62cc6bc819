// Hand-written gradients for composites whose primitive-by-primitive gradient costs memory or
// accuracy. A rule gets the composite's record and g = dL/d(output) and returns a gradient per
// record operand (null where none). Composites without a rule differentiate through their primitives.

import type { GraphBuilder } from "./builder.ts";
import type { CompositeKind, CompositeRecord, Value } from "./graph.ts";

export interface CompositeVjpContext {
  readonly b: GraphBuilder;
  readonly record: CompositeRecord;
  readonly g: Value;
}

export type CompositeRule = (ctx: CompositeVjpContext) => readonly (Value | null)[];

export const COMPOSITE_RULES: { readonly [K in CompositeKind]?: CompositeRule } = {
  // y = softmax(x): dx = y (g - sum(g y))
  softmax: ({ b, record, g }) => {
    const y = b.node(record.output);
    const axis = record.attrs["axis"]!;
    return [b.mul(y, b.sub(g, b.sum(b.mul(g, y), [axis], true)))];
  },
  // y = xhat gamma + beta: dx = rstd (gx - mean(gx) - xhat mean(gx xhat)) with gx = g gamma; dgamma = g xhat; dbeta = g
  layernorm: ({ b, record, g }) => {
    const xhat = b.node(record.saved["xhat"]!);
    const rstd = b.node(record.saved["rstd"]!);
    const hasGamma = record.attrs["gamma"] === 1;
    const gx = hasGamma ? b.mul(g, b.node(record.inputs[1]!)) : g;
    const centred = b.sub(gx, b.mean(gx, [-1], true));
    const dx = b.mul(rstd, b.sub(centred, b.mul(xhat, b.mean(b.mul(gx, xhat), [-1], true))));
    return [dx, ...(hasGamma ? [b.mul(g, xhat)] : []), ...(record.attrs["beta"] === 1 ? [g] : [])];
  },
  // o = p v with p = softmax(s), s = q k^T scale: dv = p^T g; ds = p (dp - sum(dp p)) with dp = g v^T;
  // dq = ds k scale; dk = ds^T q scale; the mask takes none
  attention: ({ b, record, g }) => {
    const [q, k, v] = record.inputs.map((id) => b.node(id));
    const p = b.node(record.saved["probs"]!);
    const scale = record.attrs["scale"]!;
    const dv = b.matmul(p, g, { transA: true });
    const dp = b.matmul(g, v!, { transB: true });
    const ds = b.mul(b.mul(p, b.sub(dp, b.sum(b.mul(dp, p), [-1], true))), scale);
    const dq = b.matmul(ds, k!);
    const dk = b.matmul(ds, q!, { transA: true });
    return [dq, dk, dv, ...(record.inputs.length > 3 ? [null] : [])];
  },
};
