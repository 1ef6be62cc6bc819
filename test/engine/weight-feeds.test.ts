// The backbone's weights as vlmp run feeds them (runtime/engine/model.ts): evaluation holds checkpoint
// weights at f32, read once and immutable (the device keeps them across batches); training's f64 copy
// takes over a weight it reads, so one copy of each is held; the run's own params (initialised or trained,
// written in place) always win and are never marked immutable. Pure TypeScript: no device needed.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { loadClipCheckpoint } from "../../runtime/checkpoint/index.ts";
import { evaluationFeeds, paramFeeds } from "../../runtime/engine/model.ts";
import { isImmutable, type Tensor } from "../../runtime/reference/tensor.ts";

const MODEL = "models/tiny-clip-pretrained";
const PROJECTION = "visual_projection.weight";
const SCALE = "logit_scale";

/** A graph reading two checkpoint weights. */
function graph() {
  const b = new GraphBuilder();
  const w = b.param(PROJECTION, [32, 64]);
  const s = b.param(SCALE, [1]);
  b.output("y", b.mul(b.sum(w, [0, 1]), s));
  return { graph: b.build(), w: w.id, s: s.id };
}

describe("weight feeds of vlmp run", () => {
  it("evaluation reads checkpoint weights once, as immutable f32", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const g = graph();
    const first = evaluationFeeds(g.graph, checkpoint, new Map());
    const w = first.get(g.w)!;
    expect(w.data).toBeInstanceOf(Float32Array);
    expect(w.shape).toEqual([32, 64]);
    expect(w.data).toEqual(checkpoint.weights.read(PROJECTION));
    expect(isImmutable(w)).toBe(true);
    expect(evaluationFeeds(g.graph, checkpoint, new Map()).get(g.w)).toBe(w);
  });

  it("the run's own params win, and training's f64 copy replaces the f32 one", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const g = graph();
    const trained: Tensor = { shape: [1], data: Float64Array.of(2.5) };
    const cache = new Map<string, Tensor>([[SCALE, trained]]);
    const f32 = evaluationFeeds(g.graph, checkpoint, cache);
    expect(f32.get(g.s)).toBe(trained);
    expect(isImmutable(trained)).toBe(false);

    const f64 = paramFeeds(g.graph, checkpoint, cache).get(g.w)!;
    expect(f64.data).toBeInstanceOf(Float64Array);
    expect(Array.from(f64.data)).toEqual(Array.from(f32.get(g.w)!.data));
    expect(isImmutable(f64)).toBe(true);
    expect(evaluationFeeds(g.graph, checkpoint, cache).get(g.w)).toBe(f64);
    // A later run without training's cache reads the file again: the f32 copy was given up.
    expect(evaluationFeeds(g.graph, checkpoint, new Map()).get(g.w)).not.toBe(f32.get(g.w));
  });

  it("a weight the checkpoint lacks is a run error naming it", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const b = new GraphBuilder();
    b.output("y", b.param("adapter.missing", [2]));
    expect(() => evaluationFeeds(b.build(), checkpoint, new Map())).toThrow(
      "the parameter 'adapter.missing' is not in the checkpoint and has no initial value yet",
    );
  });
});
