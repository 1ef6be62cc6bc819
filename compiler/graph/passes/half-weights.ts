// `precision = f16`: frozen weights that only matmuls read, and embedding tables that only gathers read,
// are kept at f16, as CLIP's own fp16 code keeps its linear and convolution weights (clip/model.py
// convert_weights) and rounds each embedding it looks up to fp16; activations, biases, norms, every
// accumulation and every trained parameter stay f32. A weight and the reshapes and transposes that lead it
// to its matmuls become f16, and each matmul reads it through a cast to f32, which the kernel plan folds
// into the matmul's load (lower.ts): the device holds and reads half the bytes. A table's gathered rows
// stay f16 and are cast where they are used, which the elementwise kernel reading them folds in.

import type { AnyNode, Graph, ValueId } from "../graph.ts";

/** The reshapes and transposes between a weight and its readers. */
const LEADS = new Set(["reshape", "permute"]);

/** Whether `u`, a user of `id`, gathers rows of it (the table operand, not the indices). */
function gathersFrom(u: AnyNode, id: ValueId): boolean {
  return u.op === "gather" && u.inputs[0] === id && u.inputs[1] !== id;
}

export function halfWeights(graph: Graph): Graph {
  const users = new Map<ValueId, AnyNode[]>();
  for (const n of graph.nodes) for (const x of n.inputs) users.set(x, [...(users.get(x) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.value));
  const halved = new Set<ValueId>();
  // Values read through a cast by users outside `halved`: weights by matmuls, gathered rows by anything.
  const castFor = new Map<ValueId, (u: AnyNode) => boolean>();
  for (const p of graph.nodes) {
    if (p.op !== "param" || p.attrs.trainable || p.dtype !== "f32") continue;
    const chain: { id: ValueId; gathered: boolean }[] = [{ id: p.id, gathered: false }];
    let read = false;
    let ok = true;
    for (let i = 0; i < chain.length && ok; i++) {
      const { id, gathered } = chain[i]!;
      if (outputs.has(id)) ok = false;
      for (const u of users.get(id) ?? []) {
        if (u.composite !== undefined) ok = false;
        else if (LEADS.has(u.op)) chain.push({ id: u.id, gathered });
        else if (!gathered && gathersFrom(u, id)) chain.push({ id: u.id, gathered: true });
        else if (gathered || u.op === "matmul") read = true;
        else ok = false;
      }
    }
    if (!ok || !read) continue;
    for (const { id, gathered } of chain) {
      halved.add(id);
      castFor.set(id, gathered ? () => true : (u) => u.op === "matmul");
    }
  }
  if (halved.size === 0) return graph;

  let next = graph.nodes.reduce((a, n) => Math.max(a, n.id), -1) + 1;
  const castOf = new Map<ValueId, ValueId>();
  const nodes: AnyNode[] = [];
  for (const n of graph.nodes) {
    const inputs = n.inputs.map((x) => castOf.get(x) ?? x);
    const same = inputs.every((x, i) => x === n.inputs[i]);
    if (!halved.has(n.id)) {
      nodes.push(same ? n : ({ ...n, inputs } as AnyNode));
      continue;
    }
    const attrs = n.op === "param" ? { ...n.attrs, dtype: "f16" } : n.attrs;
    nodes.push({ ...n, dtype: "f16", attrs } as AnyNode);
    const reads = castFor.get(n.id)!;
    if ((users.get(n.id) ?? []).some((u) => !halved.has(u.id) && reads(u))) {
      const id = next++;
      castOf.set(n.id, id);
      nodes.push({ id, op: "cast", inputs: [n.id], attrs: { dtype: "f32" }, shape: n.shape, dtype: "f32" });
    }
  }
  return { ...graph, nodes };
}
