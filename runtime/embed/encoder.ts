// One tower of the backbone as a graph of its own: the whole CLIP forward lowered from the language
// (`modelForwardGraph`), then cut down to what one output needs, so image features need no token ids and
// text features no pixels. Parameters are fed from the checkpoint by key.

import { type Graph, retainComposites, type Value, type ValueId } from "../../compiler/graph/graph.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { modelForwardGraph } from "../../compiler/lower/model.ts";
import type { JsonValue } from "../../compiler/values.ts";
import type { Safetensors } from "../checkpoint/index.ts";
import { type Feed, markImmutable, numel } from "../reference/tensor.ts";

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

/**
 * A param's tensor from the checkpoint, shaped as the graph declares it: the element counts must agree
 * (CLIP's `logit_scale` is 0-d in the file and [1] in the language). Held as f32, the file's precision (a
 * ViT-B/32 image tower is 350 MB so, 700 MB as f64); the reference backend widens it where it runs.
 * Immutable: the device keeps it across batches.
 */
export function checkpointTensor(weights: Safetensors, key: string, shape: readonly number[]): Feed {
  const info = weights.info(key);
  const want = numel(shape);
  if (numel(info.shape) !== want) {
    throw new Error(
      `${weights.file}: tensor ${JSON.stringify(key)} is [${info.shape.join(", ")}]; the backbone reads [${shape.join(", ")}]`,
    );
  }
  return markImmutable({ shape: [...shape], data: weights.read(key) });
}

/** Feeds for every param the graph reads. */
export function paramFeeds(tower: TowerGraph, weights: Safetensors): Map<ValueId, Feed> {
  const feeds = new Map<ValueId, Feed>();
  for (const [key, value] of tower.params) feeds.set(value.id, checkpointTensor(weights, key, value.shape));
  return feeds;
}
