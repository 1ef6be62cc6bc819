// `precision = f16`: frozen weights that only matmuls read are kept at f16, as CLIP's own fp16 code keeps
// its linear and convolution weights (clip/model.py convert_weights), while activations, biases, norms,
// embeddings, every accumulation and every trained parameter stay f32. A weight and the reshapes and
// transposes that lead it to its matmuls become f16, and each matmul reads it through a cast to f32, which
// the kernel plan folds into the matmul's load (lower.ts): the device holds and reads half the bytes.

import type { AnyNode, Graph, ValueId } from "../graph.ts";

/** The reshapes and transposes between a weight and its readers. */
const LEADS = new Set(["reshape", "permute"]);

export function halfWeights(graph: Graph): Graph {
  const users = new Map<ValueId, AnyNode[]>();
  for (const n of graph.nodes) for (const x of n.inputs) users.set(x, [...(users.get(x) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.value));
  const halved = new Set<ValueId>();
  for (const p of graph.nodes) {
    if (p.op !== "param" || p.attrs.trainable || p.dtype !== "f32") continue;
    const chain = [p.id];
    let readByMatmul = false;
    let ok = true;
    for (let i = 0; i < chain.length && ok; i++) {
      const id = chain[i]!;
      if (outputs.has(id)) ok = false;
      for (const u of users.get(id) ?? []) {
        if (LEADS.has(u.op) && u.composite === undefined) chain.push(u.id);
        else if (u.op === "matmul" && u.composite === undefined) readByMatmul = true;
        else ok = false;
      }
    }
    if (ok && readByMatmul) for (const id of chain) halved.add(id);
  }
  if (halved.size === 0) return graph;

  let next = graph.nodes.reduce((a, n) => Math.max(a, n.id), -1) + 1;
  const castOf = new Map<ValueId, ValueId>();
  const nodes: AnyNode[] = [];
  for (const n of graph.nodes) {
    if (halved.has(n.id)) {
      const attrs = n.op === "param" ? { ...n.attrs, dtype: "f16" } : n.attrs;
      nodes.push({ ...n, dtype: "f16", attrs } as AnyNode);
      if ((users.get(n.id) ?? []).some((u) => u.op === "matmul")) {
        const id = next++;
        castOf.set(n.id, id);
        nodes.push({ id, op: "cast", inputs: [n.id], attrs: { dtype: "f32" }, shape: n.shape, dtype: "f32" });
      }
      continue;
    }
    if (n.op !== "matmul" || !n.inputs.some((x) => castOf.has(x))) {
      nodes.push(n);
      continue;
    }
    nodes.push({ ...n, inputs: n.inputs.map((x) => castOf.get(x) ?? x) });
  }
  return { ...graph, nodes };
}
