// Freeze analysis: the values that depend on no trainable parameter and no random op. Given the
// same sample they never change during training, so the runtime may compute them once per
// sample and cache them (keyed by weights hash, preprocessing and sample).

import type { Graph, ValueId } from "../graph.ts";

export interface FreezeAnalysis {
  readonly frozen: ReadonlySet<ValueId>;
  /**
   * Computed frozen values read by some non-frozen node or named as outputs: what a cache must
   * hold (sources are left out, being at hand already).
   */
  readonly frontier: readonly ValueId[];
}

export function analyzeFreeze(graph: Graph): FreezeAnalysis {
  const frozen = new Set<ValueId>();
  for (const n of graph.nodes) {
    const varies =
      (n.op === "param" && n.attrs.trainable) || n.op === "random_uniform" || n.op === "random_normal";
    if (!varies && n.inputs.every((i) => frozen.has(i))) frozen.add(n.id);
  }
  const frontier = new Set<ValueId>();
  for (const n of graph.nodes) {
    if (frozen.has(n.id)) continue;
    for (const i of n.inputs) if (frozen.has(i)) frontier.add(i);
  }
  for (const o of graph.outputs) if (frozen.has(o.value)) frontier.add(o.value);
  for (const n of graph.nodes) if (n.inputs.length === 0) frontier.delete(n.id);
  return { frozen, frontier: [...frontier].sort((a, b) => a - b) };
}
