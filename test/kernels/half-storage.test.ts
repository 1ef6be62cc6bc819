// f16 on the device (shader-f16): values of dtype f16 live as f16. A weight kept at f16 and cast for a
// matmul (x @ W^T, the layout of every linear layer) is read as it lies: the plan has neither the cast
// nor the transpose, and the product accumulates at f32. Elementwise kernels compute f16 values at f16
// (float functions at f32, rounded), copies move them, reductions and matmul results are legalized to
// f32. Each result agrees with the reference interpreter, which rounds every f16 value to f16: exactly,
// for f16 arithmetic.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { createExecutor, kernelTarget } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { roundToHalf } from "../../runtime/formats/half.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, reference } from "./helpers.ts";

const device = await deviceOrSkip("half-storage.test.ts");
const executor = device ? await createExecutor(device) : undefined;
const halfDevice = device?.features.includes("shader-f16") ?? false;
afterAll(() => device?.destroy());

const F16 = { maxWorkgroupsPerDimension: 65535, shaderF16: true };
const F32_ONLY = { maxWorkgroupsPerDimension: 65535 };

function feedsOf(graph: Graph, seed: number, scale = 1): Map<ValueId, Tensor> {
  const r = rng(seed);
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const size = n.shape.reduce((a, d) => a * d, 1);
    feeds.set(n.id, { shape: n.shape, data: randomData(r, size, -scale, scale) });
  }
  return feeds;
}

/** y = x @ W^T + b with W [out, in] kept at f16: the linear layer of a `precision = f16` pipeline. */
function linear(rows: number, inDim: number, outDim: number, batch?: number) {
  const b = new GraphBuilder();
  const x = b.input("x", batch ? [batch, rows, inDim] : [rows, inDim]);
  const w = b.param("w", [outDim, inDim], { trainable: false, dtype: "f16" });
  const bias = b.param("bias", [outDim], { trainable: false });
  const y = b.add(b.matmul(x, b.cast(b.transpose(w), "f32")), bias);
  b.output("y", y);
  return { graph: b.build(), y: y.id, w: w.id };
}

describe("plans with f16 values", () => {
  it("a weight kept at f16 takes 2 bytes an element and feeds the matmul with no cast or copy", () => {
    const { graph, y, w } = linear(5, 12, 20);
    const plan = lowerGraph(graph, [y], { target: F16 });
    expect(plan.values.get(w)).toMatchObject({ dtype: "f16", bytes: 20 * 12 * 2 });
    const kernels = plan.steps.map((s) => s.kernel.name);
    expect(kernels.some((k) => k.startsWith("copy[") || k.startsWith("elementwise["))).toBe(false);
    expect(kernels.find((k) => k.startsWith("matmul"))).toMatch(/;tB.*;hB/);
    expect(plan.steps.find((s) => s.kernel.name.startsWith("matmul"))!.kernel.code).toContain("enable f16;");
  });

  it("without shader-f16 every f16 value is widened to f32 and no shader mentions f16", () => {
    const { graph, y, w } = linear(5, 12, 20);
    const plan = lowerGraph(graph, [y], { target: F32_ONLY });
    expect(plan.values.get(w)).toMatchObject({ dtype: "f32", bytes: 20 * 12 * 4 });
    for (const s of plan.steps) expect(s.kernel.code).not.toMatch(/\bf16\b/);
  });

  it("a reduction over f16 widens it as it reads (a prologue), sums at f32 and narrows the result", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 40], "f16");
    const s = b.sum(x, [1]);
    b.output("s", s);
    const plan = lowerGraph(b.build(), [s.id], { target: F16 });
    expect(plan.values.get(s.id)!.dtype).toBe("f16");
    const [sum, narrow] = plan.steps;
    expect(plan.steps).toHaveLength(2);
    expect(sum!.kernel.name).toBe("sum[3x40;axes=1+1ops]");
    expect(sum!.kernel.code).toContain("array<vec4<f16>>");
    expect(narrow!.kernel.name).toBe("elementwise[1ops;3]");
  });
});

describe.skipIf(!executor || !halfDevice)("f16 on the device against the reference", () => {
  const run = async (graph: Graph, out: ValueId, seed: number, scale = 1) => {
    const feeds = feedsOf(graph, seed, scale);
    const got = (await executor!.evaluate(graph, feeds, [out])).get(out)!;
    return { got, want: reference(graph, feeds).get(out)! };
  };

  it("linear layers with f16 weights, any shape and batch (f32 accumulation: f32 tolerance)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 45 }),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.integer(),
        async (rows, inDim, outDim, batch, seed) => {
          const { graph, y } = linear(rows, inDim, outDim, batch);
          const { got, want } = await run(graph, y, seed);
          expectClose(got, want, { rtol: 1e-5, atol: 1e-5 }, `linear ${rows}x${inDim}->${outDim}`);
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);

  it("a large linear layer takes the register kernel's wide tile with its f16 B", async () => {
    const { graph, y } = linear(200, 768, 384);
    const { got, want } = await run(graph, y, 7);
    expectClose(got, want, { rtol: 1e-4, atol: 1e-4 }, "linear 200x768->384");
  }, 240_000);

  it("elementwise kernels widen f16 operands and round f16 results (overflow to inf)", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [7, 33], "f16");
    const z = b.input("z", [33]);
    const y = b.cast(b.mul(b.add(b.cast(x, "f32"), z), 3e4), "f16");
    b.output("y", y);
    const graph = b.build();
    const { got, want } = await run(graph, y.id, 3, 2);
    expect(want.data.some((v) => !Number.isFinite(v))).toBe(true);
    expectClose(got, want, { rtol: 1e-3, atol: 0 }, "f16 elementwise");
    for (const v of got.data) expect(v).toBe(roundToHalf(v));
  });

  it("elementwise arithmetic on f16 values runs at f16: each op rounds, bit for bit as the reference", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [5, 37], "f16");
    const y = b.input("y", [37], "f16");
    const out = b.maximum(b.sub(b.div(b.add(b.mul(x, y), x), y), b.mul(x, 0.1)), b.neg(x));
    b.output("out", out);
    const graph = b.build();
    const plan = lowerGraph(graph, [out.id], { target: kernelTarget(device!) });
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]!.kernel.code).toMatch(/let v\d+: f16 = \(v\d+ \* v\d+\);/);
    const { got, want } = await run(graph, out.id, 6, 3);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  it("float functions of f16 values are evaluated at f32 and rounded (within an f16 ulp)", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [9, 21], "f16");
    const out = b.add(b.exp(b.neg(b.abs(x))), b.mul(b.tanh(x), b.sigmoid(x)));
    b.output("out", out);
    const graph = b.build();
    const { got, want } = await run(graph, out.id, 8, 4);
    for (const v of got.data) expect(v).toBe(roundToHalf(v));
    expectClose(got, want, { rtol: 2e-3, atol: 1e-3 }, "f16 functions");
  });

  it("copies move f16 as it is: gather, permute, concat, pad, slice", async () => {
    const b = new GraphBuilder();
    const table = b.param("table", [10, 6], { trainable: false, dtype: "f16" });
    const idx = b.constant([3, 0, 9, 3], [4], "i32");
    const rows = b.gather(table, idx, 0);
    const joined = b.concat([b.transpose(rows), b.sliceAxis(b.transpose(table), 1, 2, 5)], 1);
    const padded = b.pad(joined, [1, 0], [0, 2], -1.5);
    const out = b.cast(padded, "f32");
    b.output("out", out);
    const graph = b.build();
    const { got, want } = await run(graph, out.id, 4);
    expectClose(got, want, { rtol: 0, atol: 0 }, "f16 copies");
  });

  it("sums and matmuls over f16 values run at f32 and store f16", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [9, 50], "f16");
    const w = b.input("w", [50, 11], "f16");
    const p = b.matmul(x, w);
    const s = b.sum(p, [0]);
    b.output("s", s);
    const graph = b.build();
    const { got, want } = await run(graph, s.id, 5);
    expect(
      reference(graph, feedsOf(graph, 5))
        .get(p.id)!
        .data.every((v) => v === roundToHalf(v)),
    ).toBe(true);
    expectClose(got, want, { rtol: 2e-3, atol: 2e-3 }, "f16 sum of a f16 product");
  });

  it("kernelTarget reports shader-f16 from the adapter's features", () => {
    expect(kernelTarget(device!).shaderF16).toBe(true);
  });
});
