// Common-subexpression elimination: a node equal to an earlier one (same op, operands,
// attributes, type) is replaced by it everywhere. Every primitive is pure (random ops are
// functions of their seed and offset), so any two equal nodes compute equal values.

import { type AnyNode, type CompositeRecord, type Graph, retainComposites, type ValueId } from "../graph.ts";

function key(n: AnyNode): string {
  return JSON.stringify([n.op, n.inputs, n.attrs, n.dtype, n.shape]);
}

export function eliminateCommonSubexpressions(graph: Graph): Graph {
  const replaced = new Map<ValueId, ValueId>();
  const seen = new Map<string, ValueId>();
  const nodes: AnyNode[] = [];
  const to = (id: ValueId) => replaced.get(id) ?? id;
  for (const n of graph.nodes) {
    const node = { ...n, inputs: n.inputs.map(to) } as AnyNode;
    const k = key(node);
    const earlier = seen.get(k);
    if (earlier === undefined) {
      seen.set(k, node.id);
      nodes.push(node);
    } else replaced.set(node.id, earlier);
  }
  const composites = graph.composites.map(
    (c): CompositeRecord => ({
      ...c,
      inputs: c.inputs.map(to),
      output: to(c.output),
      saved: Object.fromEntries(Object.entries(c.saved).map(([name, id]) => [name, to(id)])),
    }),
  );
  const kept = retainComposites(nodes, composites);
  return { ...kept, outputs: graph.outputs.map((o) => ({ name: o.name, value: to(o.value) })) };
}
