// Splits the backbone's forward into the part that runs once (the class text features) and the part that
// runs per image batch: `cut` turns chosen values into graph inputs (the text features, computed once and
// fed back), then everything no output needs is dropped — unused inputs and params too, so that a batch
// graph never uploads the text tower's weights.

import type { AnyNode, Graph, ValueId } from "../../compiler/graph/graph.ts";
import { retainComposites } from "../../compiler/graph/graph.ts";

/** `graph` with outputs `outputs` (value ids by name) and each value in `cuts` turned into an input. */
export function cutGraph(
  graph: Graph,
  outputs: ReadonlyMap<string, ValueId>,
  cuts: ReadonlyMap<ValueId, string> = new Map(),
): Graph {
  const nodes: AnyNode[] = graph.nodes.map((n) =>
    cuts.has(n.id)
      ? ({
          id: n.id,
          op: "input",
          inputs: [],
          attrs: { name: cuts.get(n.id)!, shape: n.shape, dtype: n.dtype },
          shape: n.shape,
          dtype: n.dtype,
        } as AnyNode)
      : n,
  );
  const live = new Set<ValueId>(outputs.values());
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (live.has(n.id)) for (const x of n.inputs) live.add(x);
  }
  const kept = retainComposites(
    nodes.filter((n) => live.has(n.id)),
    graph.composites,
  );
  return { ...kept, outputs: [...outputs].map(([name, value]) => ({ name, value })) };
}

/** The input and param nodes of a graph, by name. */
export function graphFeeds(graph: Graph): { inputs: Map<string, AnyNode>; params: Map<string, AnyNode> } {
  const inputs = new Map<string, AnyNode>();
  const params = new Map<string, AnyNode>();
  for (const n of graph.nodes) {
    if (n.op === "input") inputs.set(n.attrs.name, n);
    else if (n.op === "param") params.set(n.attrs.name, n);
  }
  return { inputs, params };
}
