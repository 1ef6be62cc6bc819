// The row kernels (softmax, layernorm) against the reference interpreter, forward and backward, on
// plain inputs (no folded producer): row lengths that read as vec4, vec2 and scalars, with and without
// a last partial chunk of the online softmax pass, row counts that leave the last layernorm invocation
// a row short, rows led by -inf (the online max starts on a chunk of them), and layernorm rows far
// from zero (the one-pass variance is shifted by the row's first elements).

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { layerNorm, softmax } from "../../compiler/graph/composites.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, type Tolerance } from "./helpers.ts";

const device = await deviceOrSkip("rows.test.ts");
const executor: Executor | undefined = device ? await createExecutor(device) : undefined;
afterAll(() => device?.destroy());

/** Inputs near 30 carry 2e-6 of f32 rounding each, which xhat scales by 1/std (~2). */
const TOL: Tolerance = { rtol: 2e-5, atol: 5e-6 };

const lengths = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(50, 64, 66, 77, 129));

/** Forward outputs and the gradients of sum(y * t) with respect to every float input. */
function withGradients(b: GraphBuilder, y: Value, shape: number[]): Graph {
  const loss = b.sum(b.mul(y, b.input("t", shape)));
  b.output("y", y);
  b.output("loss", loss);
  const g0 = b.build();
  const wrt = g0.nodes.filter((n) => n.op === "input" && n.dtype === "f32").map((n) => n.id);
  return gradients(g0, loss.id, wrt).graph;
}

async function agree(graph: Graph, feeds: Map<ValueId, Tensor>): Promise<void> {
  const outs = graph.outputs.map((o) => o.value);
  const want = evaluate(graph, feeds);
  const got = await executor!.evaluate(graph, feeds, outs);
  for (const o of graph.outputs) expectClose(got.get(o.value)!, want.get(o.value)!, TOL, o.name);
}

/** Uniform [-1, 1) feeds for every input, x's then reshaped by `shapeX`. */
function feedsFor(graph: Graph, seed: number, x: ValueId, shapeX: (data: Float64Array) => void) {
  const r = rng(seed);
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input") continue;
    const data = randomData(
      r,
      n.shape.reduce((a, d) => a * d, 1),
      -1,
      1,
    );
    if (n.id === x) shapeX(data);
    feeds.set(n.id, { shape: n.shape, data });
  }
  return feeds;
}

describe.skipIf(!device)("row kernels", () => {
  it("softmax rows, forward and backward, including rows led by -inf", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: fc.integer({ min: 1, max: 9 }),
          len: lengths,
          lead: fc.nat(40),
          seed: fc.integer(),
        }),
        async ({ rows, len, lead, seed }) => {
          const b = new GraphBuilder();
          const x = b.input("x", [rows, len]);
          const y = softmax(b, x);
          const graph = withGradients(b, y, [rows, len]);
          expect(lowerGraph(graph, [y.id]).steps.map((s) => s.kernel.name)).toEqual([
            `softmax_rows[${rows}x${len}]`,
          ]);
          // Every row keeps its last element finite.
          const masked = Math.min(lead, len - 1);
          const feeds = feedsFor(graph, seed, x.id, (data) => {
            for (let i = 0; i < data.length; i++) if (i % len < masked) data[i] = Number.NEGATIVE_INFINITY;
          });
          await agree(graph, feeds);
        },
      ),
      { numRuns: 10, seed: 31 },
    );
  });

  it("layernorm rows, forward and backward, near zero and near 30", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: fc.integer({ min: 1, max: 9 }),
          len: lengths,
          affine: fc.constantFrom("none", "gamma", "both"),
          offset: fc.constantFrom(0, 30),
          seed: fc.integer(),
        }),
        async ({ rows, len, affine, offset, seed }) => {
          const b = new GraphBuilder();
          const g = affine !== "none" ? b.input("g", [len]) : undefined;
          const beta = affine === "both" ? b.input("beta", [len]) : undefined;
          const x = b.input("x", [rows, len]);
          const y = layerNorm(b, x, g, beta);
          const graph = withGradients(b, y, [rows, len]);
          expect(lowerGraph(graph, [y.id]).steps.map((s) => s.kernel.name)).toEqual([
            `layernorm_rows[${rows}x${len}]`,
          ]);
          const feeds = feedsFor(graph, seed, x.id, (data) => {
            for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i]! + offset);
          });
          await agree(graph, feeds);
        },
      ),
      { numRuns: 10, seed: 32 },
    );
  });
});
