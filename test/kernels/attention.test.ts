// The fused attention kernel (one dispatch per attention composite, the head split and merge
// permutes folded into its indexing) against the reference interpreter: causal and explicit
// masks, odd head sizes, CLIP's sequence lengths (50 image tokens, 77 text tokens, up to 257), the
// larger tiles of long attention, the kernel without subgroups, and the backward through the
// composite's rule with the kernel's saved probabilities.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { attention } from "../../compiler/graph/composites.ts";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { linear, multiHeadAttention } from "../../compiler/graph/layers.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import type { Kernel } from "../../runtime/kernels/kernel.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, type Tolerance } from "./helpers.ts";

const device = await deviceOrSkip("attention.test.ts");
const executor: Executor | undefined = device ? await createExecutor(device) : undefined;
afterAll(() => device?.destroy());

/** Sums of up to 257 products and exponentials: a few ulps of the row's scale. */
const TOL: Tolerance = { rtol: 3e-5, atol: 3e-6 };

function feedsFor(graph: Graph, r: () => number): Map<ValueId, Tensor> {
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const count = n.shape.reduce((a, d) => a * d, 1);
    // Masks keep ~80% of keys.
    const data =
      n.dtype === "bool" ? randomData(r, count, 0.2, 1.2).map(Math.floor) : randomData(r, count, -1, 1);
    feeds.set(n.id, { shape: n.shape, data });
  }
  return feeds;
}

async function check(graph: Graph, outputs: readonly ValueId[], seed: number, tol = TOL): Promise<void> {
  const feeds = feedsFor(graph, rng(seed));
  const want = evaluate(graph, feeds);
  const got = await executor!.evaluate(graph, feeds, outputs);
  for (const id of outputs) expectClose(got.get(id)!, want.get(id)!, tol, `%${id}`);
}

/** One kernel dispatched on its own: the f32 `inputs` bound in order, then its f32 result. */
async function runAlone(kernel: Kernel, inputs: readonly Tensor[], outLength: number): Promise<Float32Array> {
  const gpu = device!.device;
  const buffer = (bytes: number, usage: number) => gpu.createBuffer({ size: Math.max(16, bytes), usage });
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const args = inputs.map((t) => {
    const data = Float32Array.from(t.data);
    const buf = buffer(data.byteLength, storage);
    gpu.queue.writeBuffer(buf, 0, data);
    return buf;
  });
  const out = buffer(outLength * 4, storage);
  const pipeline = await executor!.pipelines.get(kernel);
  const pass = gpu.createCommandEncoder();
  const compute = pass.beginComputePass();
  compute.setPipeline(pipeline.pipeline);
  compute.setBindGroup(
    0,
    gpu.createBindGroup({
      layout: pipeline.layout,
      entries: [...args, out].map((b, i) => ({ binding: i, resource: { buffer: b } })),
    }),
  );
  compute.dispatchWorkgroups(...kernel.dispatch);
  compute.end();
  const read = buffer(outLength * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  pass.copyBufferToBuffer(out, 0, read, 0, outLength * 4);
  gpu.queue.submit([pass.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  return new Float32Array(read.getMappedRange().slice(0, outLength * 4));
}

describe.skipIf(!device)("fused attention", () => {
  it("softmax(q k^T scale + mask) v in one kernel, against the interpreter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          lq: fc.integer({ min: 1, max: 40 }),
          lk: fc.integer({ min: 1, max: 40 }),
          d: fc.integer({ min: 1, max: 13 }),
          dv: fc.integer({ min: 1, max: 11 }),
          mask: fc.constantFrom("none", "causal", "explicit", "both"),
          seed: fc.integer(),
        }),
        async ({ batch, lq, lk, d, dv, mask, seed }) => {
          const b = new GraphBuilder();
          const q = b.input("q", [batch, lq, d]);
          const k = b.input("k", [batch, lk, d]);
          const v = b.input("v", [batch, lk, dv]);
          const causal = mask === "causal" || mask === "both";
          const explicit = mask === "explicit" || mask === "both";
          // Causal rows keep key 0; explicit masks of one row per query broadcast over the batch.
          const m = explicit ? b.input("mask", [lq, lk], "bool") : undefined;
          const o = attention(b, q, k, v, { causal, ...(m ? { mask: m } : {}) });
          b.output("o", o);
          const graph = b.build();
          const steps = lowerGraph(graph, [o.id]).steps;
          expect(steps.map((s) => s.kernel.name)).toEqual([expect.stringMatching(/^attention\[/)]);
          await check(graph, [o.id], seed);
        },
      ),
      { numRuns: 12, seed: 8 },
    );
  });

  it("CLIP's lengths: 50 image tokens, 77 causal text tokens, 257 tokens; heads split and merged", async () => {
    for (const [batch, tokens, width, heads, causal] of [
      [2, 50, 64, 4, false],
      [1, 77, 32, 2, true],
      [1, 257, 16, 2, false],
    ] as const) {
      const b = new GraphBuilder();
      const x = b.input("x", [batch, tokens, width]);
      const lin = (name: string) => ({
        weight: b.input(`${name}.w`, [width, width]),
        bias: b.input(`${name}.b`, [width]),
      });
      const y = multiHeadAttention(b, x, x, { q: lin("q"), k: lin("k"), v: lin("v"), out: lin("o") }, heads, {
        causal,
      });
      b.output("y", y);
      const graph = b.build();
      const names = lowerGraph(graph, [y.id]).steps.map((s) => s.kernel.name);
      // q, k, v projections, attention (permutes folded), output projection.
      expect(names).toHaveLength(5);
      expect(names.filter((n) => n.startsWith("copy"))).toEqual([]);
      // Projections of width up to 64 on both sides: sums of ~4000 products per output.
      await check(graph, [y.id], tokens, { rtol: 1e-4, atol: 3e-5 });
    }
  });

  it("long attention takes the large tiles: 197 tokens, 50, and 150 causal with a mask", async () => {
    for (const [batch, tokens, d, dv, masked] of [
      [8, 197, 5, 6, false],
      [64, 50, 12, 8, false],
      [8, 150, 8, 4, true],
    ] as const) {
      const b = new GraphBuilder();
      const q = b.input("q", [batch, tokens, d]);
      const k = b.input("k", [batch, tokens, d]);
      const v = b.input("v", [batch, tokens, dv]);
      const m = masked ? b.input("mask", [tokens, tokens], "bool") : undefined;
      const o = attention(b, q, k, v, { causal: masked, ...(m ? { mask: m } : {}) });
      b.output("o", o);
      const graph = b.build();
      expect(lowerGraph(graph, [o.id]).steps.map((s) => s.kernel.name)).toEqual([
        expect.stringMatching(/^attention\[/),
      ]);
      await check(graph, [o.id], tokens);
    }
  });

  it("without subgroups (keys handed over through workgroup memory between barriers), the same", async () => {
    const b = new GraphBuilder();
    const q = b.input("q", [2, 19, 6]);
    const k = b.input("k", [2, 19, 6]);
    const v = b.input("v", [2, 19, 5]);
    const o = attention(b, q, k, v, { causal: true });
    b.output("o", o);
    const graph = b.build();
    const [step] = lowerGraph(graph, [o.id], {
      target: { maxWorkgroupsPerDimension: 65535, subgroups: false },
    }).steps;
    expect(step!.kernel.code).not.toContain("subgroup");
    const feeds = feedsFor(graph, rng(3));
    const want = evaluate(graph, feeds).get(o.id)!;
    const got = await runAlone(
      step!.kernel,
      [q, k, v].map((x) => feeds.get(x.id)!),
      want.data.length,
    );
    expectClose({ shape: want.shape, data: Float64Array.from(got) }, want, TOL, "o");
  });

  it("backward through the composite's rule, with the probabilities the kernel saves", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 9, 12]);
    const lin = (name: string) => ({
      weight: b.input(`${name}.w`, [12, 12]),
      bias: b.input(`${name}.b`, [12]),
    });
    const y = multiHeadAttention(b, x, x, { q: lin("q"), k: lin("k"), v: lin("v"), out: lin("o") }, 3, {
      causal: true,
    });
    const loss = b.sum(b.mul(linear(b, y, b.input("w", [5, 12])), b.input("t", [2, 9, 5])));
    b.output("loss", loss);
    const wrt = b
      .build()
      .nodes.filter((n) => n.op === "input" && n.attrs.name !== "t")
      .map((n) => n.id);
    const { graph } = gradients(b.build(), loss.id, wrt);
    const outs = graph.outputs.map((o) => o.value);
    const names = lowerGraph(graph, outs).steps.map((s) => s.kernel.name);
    expect(names.filter((n) => n.startsWith("attention["))).toEqual([expect.stringContaining(";probs]")]);
    await check(graph, outs, 4, { rtol: 1e-4, atol: 1e-5 });
  });
});
