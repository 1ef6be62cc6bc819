// Dead-code removal: drops nodes no output depends on. Inputs and params stay, since they are
// the graph's interface (what callers feed), even when unused.

import { type Graph, retainComposites, type ValueId } from "../graph.ts";

export function eliminateDeadCode(graph: Graph): Graph {
  const live = new Set<ValueId>(graph.outputs.map((o) => o.value));
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (n.op === "input" || n.op === "param") live.add(n.id);
    if (live.has(n.id)) for (const x of n.inputs) live.add(x);
  }
  const kept = retainComposites(
    graph.nodes.filter((n) => live.has(n.id)),
    graph.composites,
  );
  return { ...kept, outputs: graph.outputs };
}
