// The backbone's weights as vlmp run and vlmp embed feed them to evaluation and training (runtime/engine/model.ts
// evaluationFeeds): checkpoint weights at f32, read once per checkpoint and immutable (the device keeps
// them across batches); the run's own params (initialised or trained, f64, written in place) always win
// and are never marked immutable. Pure TypeScript: no device needed.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { loadClipCheckpoint } from "../../runtime/checkpoint/index.ts";
import { evaluationFeeds } from "../../runtime/engine/model.ts";
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

  it("the run's own params win, beside the checkpoint's shared f32 weights", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const g = graph();
    const trained: Tensor = { shape: [1], data: Float64Array.of(2.5) };
    const cache = new Map([[SCALE, trained]]);
    const feeds = evaluationFeeds(g.graph, checkpoint, cache);
    expect(feeds.get(g.s)).toBe(trained);
    expect(isImmutable(trained)).toBe(false);
    // The weight is the one evaluation without the run's params reads, and no f64 copy joins the cache.
    expect(feeds.get(g.w)).toBe(evaluationFeeds(g.graph, checkpoint, new Map()).get(g.w));
    expect(feeds.get(g.w)!.data).toBeInstanceOf(Float32Array);
    expect([...cache.keys()]).toEqual([SCALE]);
  });

  it("a weight the checkpoint lacks is a run error naming it", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const b = new GraphBuilder();
    b.output("y", b.param("adapter.missing", [2]));
    expect(() => evaluationFeeds(b.build(), checkpoint, new Map())).toThrow(
      "the parameter 'adapter.missing' is not in the checkpoint and has no initial value yet",
    );
  });

  it("a weight whose element count differs from the graph's is a run error naming the file and shapes", () => {
    const checkpoint = loadClipCheckpoint(MODEL);
    const b = new GraphBuilder();
    b.output("y", b.param(PROJECTION, [32, 32]));
    expect(() => evaluationFeeds(b.build(), checkpoint)).toThrow(
      `${checkpoint.weights.file}: tensor "${PROJECTION}" is [32, 64]; the backbone reads [32, 32]`,
    );
  });
});
