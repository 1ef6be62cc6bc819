// Where f16 values may live on the device. Copies (movement) move f16 as it is, elementwise kernels
// compute f16 values at f16 (each op rounded, as the reference does), and a matmul reads an operand cast
// from f16 as f16, accumulating at f32 (lower.ts). Every other kernel (reductions, scatter_add, matmul
// results, random numbers) computes and stores at f32: accumulating at f16 loses too much. legalizeHalf
// rewrites a graph so kernels only meet f16 where they take it.

import { type AnyNode, type Graph, retainComposites, type ValueId } from "../../compiler/graph/graph.ts";
import { type DType, opGroup } from "../../compiler/graph/ops.ts";

/** Ops whose kernels take and give f16: copies and elementwise arithmetic. */
function holdsHalf(n: AnyNode): boolean {
  const g = opGroup(n.op);
  if (g === "unary" || g === "binary" || g === "compare" || g === "ternary") return true;
  if (g === "movement") return n.op !== "scatter_add";
  return n.op === "input" || n.op === "param" || n.op === "constant" || n.op === "full";
}

/** `n` with its dtype (and a dtype attribute, where it has one) f16 -> f32. */
function widened(n: AnyNode): AnyNode {
  const w = (d: DType): DType => (d === "f16" ? "f32" : d);
  const attrs = "dtype" in n.attrs ? { ...n.attrs, dtype: w(n.attrs.dtype) } : n.attrs;
  return { ...n, dtype: w(n.dtype), attrs } as AnyNode;
}

/**
 * `graph` as the device runs it. Without shader-f16 every f16 value becomes f32 (no rounding to f16 at
 * all). With it, a node that cannot hold f16 computes at f32 from f32 casts of its f16 operands, and an
 * f16 result becomes a cast of that f32 one: the cast keeps the node's id, so feeds, users and outputs
 * stay as they are. Composites with a rewritten member run unfused.
 */
export function legalizeHalf(graph: Graph, shaderF16: boolean): Graph {
  const hasHalf = graph.nodes.some((n) => n.dtype === "f16");
  if (!hasHalf) return graph;
  if (!shaderF16) return { ...graph, nodes: graph.nodes.map(widened) };
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  let next = graph.nodes.reduce((a, n) => Math.max(a, n.id), -1) + 1;
  const nodes: AnyNode[] = [];
  const widenedOperand = new Map<ValueId, ValueId>();
  const rewritten = new Set<number>();
  const cast = (id: ValueId, input: ValueId, shape: readonly number[], dtype: DType): AnyNode =>
    ({ id, op: "cast", inputs: [input], attrs: { dtype }, shape, dtype }) as AnyNode;
  for (const n of graph.nodes) {
    const halfIn = n.inputs.some((x) => byId.get(x)!.dtype === "f16");
    if (holdsHalf(n) || (!halfIn && n.dtype !== "f16")) {
      nodes.push(n);
      continue;
    }
    if (n.composite) rewritten.add(n.composite.id);
    const inputs = n.inputs.map((x) => {
      const xn = byId.get(x)!;
      if (xn.dtype !== "f16") return x;
      let w = widenedOperand.get(x);
      if (w === undefined) {
        w = next++;
        widenedOperand.set(x, w);
        nodes.push(cast(w, x, xn.shape, "f32"));
      }
      return w;
    });
    if (n.dtype !== "f16") {
      nodes.push({ ...n, inputs } as AnyNode);
      continue;
    }
    const { composite: _inside, ...rest } = n;
    const wide = { ...widened(rest as AnyNode), id: next++, inputs } as AnyNode;
    nodes.push(wide, cast(n.id, wide.id, n.shape, "f16"));
  }
  const composites = graph.composites.filter((c) => !rewritten.has(c.id));
  return { ...retainComposites(nodes, composites), outputs: graph.outputs };
}
