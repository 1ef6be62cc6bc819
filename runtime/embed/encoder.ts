// One tower of the backbone as a graph of its own: the whole CLIP forward lowered from the language
// (`modelForwardGraph`), then cut down to what one output needs, so image features need no token ids and
// text features no pixels. Its params are fed from the checkpoint by key (evaluationFeeds, engine/model.ts).

import { type Graph, retainComposites, type Value, type ValueId } from "../../compiler/graph/graph.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { modelForwardGraph } from "../../compiler/lower/model.ts";
import type { JsonValue } from "../../compiler/values.ts";

export type Tower = "image" | "text";

export interface TowerGraph {
  readonly graph: Graph;
  /** `pixels` [B, 3, S, S] for the image tower; `ids` (and `slots`, when read) [C, 1, context] for text. */
  readonly inputs: ReadonlyMap<string, Value>;
  /** The features: [B, E] (image) or [C, 1, E] (text, one template per text). */
  readonly output: Value;
  /** The checkpoint key of each param node the graph reads. */
  readonly params: ReadonlyMap<string, Value>;
}

/** Keeps the nodes `output` depends on; its only output is `name`. */
export function pruneTo(graph: Graph, output: ValueId, name: string): Graph {
  const live = new Set<ValueId>([output]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (live.has(n.id)) for (const x of n.inputs) live.add(x);
  }
  const kept = retainComposites(
    graph.nodes.filter((n) => live.has(n.id)),
    graph.composites,
  );
  return { ...kept, outputs: [{ name, value: output }] };
}

/**
 * The image tower (`image_features`: the projected pooled token, unnormalised, as HF's
 * get_image_features) for `batch` images, or the text tower (`template_features` with one template: the
 * projected end-token state, as get_text_features) for `batch` texts.
 */
export function towerGraph(ir: PipelineIr, call: JsonValue, tower: Tower, batch: number): TowerGraph {
  const dims = new Map([
    ["B", tower === "image" ? batch : 1],
    ["C", tower === "text" ? batch : 1],
    ["P", 1],
  ]);
  const fwd = modelForwardGraph(ir, call, { dims });
  const site = tower === "image" ? "image_features" : "template_features";
  const value = fwd.lowering.sites.get(site);
  if (!value) throw new Error(`the backbone has no '${site}' site`);
  const graph = pruneTo(fwd.graph, value.id, tower === "image" ? "image_features" : "text_features");
  const liveIds = new Set(graph.nodes.map((n) => n.id));
  const inputs = new Map([...fwd.inputs].filter(([, v]) => liveIds.has(v.id)));
  const params = new Map<string, Value>();
  for (const p of fwd.lowering.params) if (p.value && liveIds.has(p.value.id)) params.set(p.key, p.value);
  return { graph, inputs, output: value, params };
}
