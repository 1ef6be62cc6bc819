// Constant folding: a node whose operands are all constants (constant, full, iota) becomes a
// constant holding its value, or a `full` when every element is equal. The values come from an
// evaluator the caller passes in (the reference interpreter's evaluateNode), because the
// compiler never imports the runtime.

import { type AnyNode, type Graph, numel, retainComposites, type ValueId } from "../graph.ts";

/** Computes one node's value from its operands' row-major values. */
export type NodeEvaluator = (
  node: AnyNode,
  inputs: readonly { shape: readonly number[]; data: Float64Array }[],
) => {
  readonly data: ArrayLike<number>;
};

export interface FoldOptions {
  /** Folded results larger than this many elements stay computed at run time. */
  readonly maxElements?: number;
}

export function foldConstants(graph: Graph, evaluate: NodeEvaluator, opts: FoldOptions = {}): Graph {
  const limit = opts.maxElements ?? 65536;
  const known = new Map<ValueId, AnyNode>();
  const nodes = graph.nodes.map((n): AnyNode => {
    const isConst = n.op === "constant" || n.op === "full" || n.op === "iota";
    const foldable =
      !isConst && n.inputs.length > 0 && n.inputs.every((i) => known.has(i)) && numel(n.shape) <= limit;
    if (!foldable) {
      if (isConst) known.set(n.id, n);
      return n;
    }
    const inputs = n.inputs.map((i) => {
      const src = known.get(i)!;
      return { shape: src.shape, data: Float64Array.from(evaluate(src, []).data) };
    });
    const data = Array.from(evaluate(n, inputs).data);
    const first = data[0];
    const uniform = data.length > 0 && data.every((v) => Object.is(v, first));
    const folded = {
      id: n.id,
      op: uniform ? "full" : "constant",
      inputs: [],
      attrs: uniform
        ? { shape: n.shape, dtype: n.dtype, value: first }
        : { shape: n.shape, dtype: n.dtype, data },
      shape: n.shape,
      dtype: n.dtype,
      ...(n.span && { span: n.span }),
    } as AnyNode;
    known.set(n.id, folded);
    return folded;
  });
  return { ...retainComposites(nodes, graph.composites), outputs: graph.outputs };
}
