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

/**
 * `source` appended to `target` (fresh ids above target's): each input of `source` whose name `bind` maps
 * becomes that value of `target`; an input whose name `target` already has is shared. Returns the merged
 * graph (target's outputs, then source's) and the map from source ids to merged ids.
 */
export function spliceGraph(
  target: Graph,
  source: Graph,
  bind: ReadonlyMap<string, ValueId>,
): { graph: Graph; map: Map<ValueId, ValueId> } {
  const offset = Math.max(-1, ...target.nodes.map((n) => n.id)) + 1;
  const compositeOffset = Math.max(-1, ...target.composites.map((c) => c.id)) + 1;
  const byId = new Map(target.nodes.map((n) => [n.id, n] as const));
  const targetInputs = graphFeeds(target).inputs;
  const map = new Map<ValueId, ValueId>();
  const nodes: AnyNode[] = [...target.nodes];
  for (const n of source.nodes) {
    if (n.op === "input") {
      const name = n.attrs.name;
      const bound = bind.get(name) ?? targetInputs.get(name)?.id;
      if (bound !== undefined) {
        const t = byId.get(bound)!;
        if (t.shape.join() !== n.shape.join() || t.dtype !== n.dtype) {
          throw new Error(
            `'${name}' is [${n.shape.join(", ")}] ${n.dtype} in the objective and [${t.shape.join(", ")}] ${t.dtype} in the model`,
          );
        }
        map.set(n.id, bound);
        continue;
      }
    }
    const id = n.id + offset;
    map.set(n.id, id);
    const moved = {
      ...n,
      id,
      inputs: n.inputs.map((i) => map.get(i)!),
      ...(n.composite ? { composite: { kind: n.composite.kind, id: n.composite.id + compositeOffset } } : {}),
    } as AnyNode;
    nodes.push(moved);
  }
  const composites = [
    ...target.composites,
    ...source.composites.map((c) => ({
      ...c,
      id: c.id + compositeOffset,
      inputs: c.inputs.map((i) => map.get(i)!),
      output: map.get(c.output)!,
      saved: Object.fromEntries(Object.entries(c.saved).map(([k, v]) => [k, map.get(v)!])),
    })),
  ];
  const outputs = [
    ...target.outputs,
    ...source.outputs
      .filter((o) => !target.outputs.some((t) => t.name === o.name))
      .map((o) => ({ name: o.name, value: map.get(o.value)! })),
  ];
  return { graph: { nodes, outputs, composites }, map };
}
