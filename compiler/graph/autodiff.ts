// Reverse-mode autodiff: the generic walk. It visits the nodes between the differentiated values
// and the loss in reverse order, applies each node's rule (vjp-rules.ts, or composite-rules.ts
// for a composite whose internals nothing else uses), sums each rule's result down to its operand's
// shape, and accumulates the gradients of values used more than once.

import { GraphBuilder } from "./builder.ts";
import { COMPOSITE_RULES, type CompositeRule } from "./composite-rules.ts";
import { GraphError } from "./errors.ts";
import {
  type CompositeRecord,
  consumers,
  type Graph,
  nodeIndex,
  numel,
  type Value,
  type ValueId,
} from "./graph.ts";
import { isFloat, type Op } from "./ops.ts";
import { VJP_RULES, type VjpRule } from "./vjp-rules.ts";

export interface Gradients {
  /** The input graph plus the gradient nodes, with an output `grad:<name>` per differentiated value. */
  readonly graph: Graph;
  /** Differentiated value -> its gradient (zeros when the loss does not depend on it). */
  readonly grads: ReadonlyMap<ValueId, ValueId>;
}

/**
 * Gradients of the scalar `loss` with respect to `wrt`, by default every trainable param.
 * Frozen params, stop_gradient and integer values block the flow.
 */
export function gradients(graph: Graph, loss: ValueId, wrt?: readonly ValueId[]): Gradients {
  const nodes = nodeIndex(graph);
  const lossNode = nodes.get(loss);
  if (!lossNode || !isFloat(lossNode.dtype) || numel(lossNode.shape) !== 1) {
    throw new GraphError("autodiff", `loss %${loss} must be a float value with one element`, lossNode?.span);
  }
  const targets = new Set(
    wrt ?? graph.nodes.filter((n) => n.op === "param" && n.attrs.trainable).map((n) => n.id),
  );
  for (const t of targets) if (!nodes.has(t)) throw new GraphError("autodiff", `unknown value %${t}`);

  // Gradients flow only through float values that depend on a target and feed the loss.
  const depends = new Set<ValueId>();
  for (const n of graph.nodes) {
    const flows = VJP_RULES[n.op] !== "nondiff" && isFloat(n.dtype) && n.inputs.some((i) => depends.has(i));
    if (targets.has(n.id) || flows) depends.add(n.id);
  }
  const relevant = new Set<ValueId>([loss]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (relevant.has(n.id)) for (const x of n.inputs) relevant.add(x);
  }
  for (const id of relevant) if (!depends.has(id)) relevant.delete(id);

  const { byOutput, internal } = closedComposites(graph, targets);
  const b = GraphBuilder.from(graph);
  const pending = new Map<ValueId, Value[]>([[loss, [b.full(lossNode.shape, 1, lossNode.dtype)]]]);
  const grads = new Map<ValueId, ValueId>();

  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    const parts = pending.get(node.id);
    if (!parts || !relevant.has(node.id) || internal.has(node.id)) continue;
    b.withSpan(node.span, () => {
      const g = parts.reduce((acc, p) => b.add(acc, p));
      if (targets.has(node.id)) grads.set(node.id, g.id);
      const record = byOutput.get(node.id);
      const rule = VJP_RULES[node.op] as VjpRule<Op> | "nondiff";
      const operands = record ? record.inputs : node.inputs;
      let results: readonly (Value | null)[];
      if (record) results = (COMPOSITE_RULES[record.kind] as CompositeRule)({ b, record, g });
      else if (rule === "nondiff") return;
      else results = rule({ b, y: node, x: node.inputs.map((x) => nodes.get(x)!), g });
      operands.forEach((id, k) => {
        const r = results[k];
        if (!r || !relevant.has(id)) return;
        const contribution = b.sumTo(r, nodes.get(id)!.shape);
        pending.set(id, [...(pending.get(id) ?? []), contribution]);
      });
    });
  }

  for (const t of targets) {
    if (grads.has(t)) continue;
    const n = nodes.get(t)!;
    grads.set(t, b.full(n.shape, 0, n.dtype).id);
  }
  for (const [t, g] of grads) {
    const n = nodes.get(t)!;
    b.output(`grad:${n.op === "param" || n.op === "input" ? n.attrs.name : `%${t}`}`, b.node(g));
  }
  return { graph: b.build(), grads };
}

/**
 * Composites with a hand-written rule whose internal values are used only inside the composite
 * (not by other nodes, not as outputs, not differentiated themselves), so the rule may stand in
 * for the internals' gradients.
 */
function closedComposites(graph: Graph, targets: ReadonlySet<ValueId>) {
  const uses = consumers(graph);
  const nodes = nodeIndex(graph);
  const outputs = new Set(graph.outputs.map((o) => o.value));
  const byOutput = new Map<ValueId, CompositeRecord>();
  const internal = new Set<ValueId>();
  for (const record of graph.composites) {
    if (!COMPOSITE_RULES[record.kind]) continue;
    const inside = graph.nodes
      .filter((n) => n.composite?.id === record.id && n.id !== record.output)
      .map((n) => n.id);
    const closed = inside.every(
      (id) =>
        !outputs.has(id) &&
        !targets.has(id) &&
        uses.get(id)!.every((u) => nodes.get(u)!.composite?.id === record.id),
    );
    if (!closed) continue;
    byOutput.set(record.output, record);
    for (const id of inside) internal.add(id);
  }
  return { byOutput, internal };
}
