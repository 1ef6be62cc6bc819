// Prologue and epilogue fusion: elementwise consumers folded into matmul stores (bias, QuickGELU,
// GELU, scale, residual), scale and mask folded before softmax, elementwise producers folded into
// layernorm and reductions, batched weight-gradient products summed over the batch as one matmul.
// Fused plans give the unfused plans' results (and the interpreter's), with fewer dispatches.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { blockLoss, clipBlock } from "../../bench/clip-block.ts";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { gelu, layerNorm, quickGelu, softmax } from "../../compiler/graph/composites.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, type Tolerance } from "./helpers.ts";

const device = await deviceOrSkip("fusion.test.ts");
const fused: Executor | undefined = device ? await createExecutor(device) : undefined;
const tiled: Executor | undefined = device ? await createExecutor(device, { matmul: "tiled" }) : undefined;
const unfused: Executor | undefined = device ? await createExecutor(device, { fuse: false }) : undefined;
afterAll(() => device?.destroy());

const TOL: Tolerance = { rtol: 2e-5, atol: 2e-6 };

export function feedsFor(graph: Graph, r: () => number): Map<ValueId, Tensor> {
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const count = n.shape.reduce((a, d) => a * d, 1);
    const data =
      n.dtype === "bool" || n.dtype === "i32"
        ? randomData(r, count, 0, 1.999).map(Math.floor)
        : randomData(r, count, -1, 1);
    feeds.set(n.id, { shape: n.shape, data });
  }
  return feeds;
}

async function agree(
  graph: Graph,
  outputs: readonly ValueId[],
  seed: number,
  tol = TOL,
  withTiled = false,
  withUnfused = true,
): Promise<void> {
  const feeds = feedsFor(graph, rng(seed));
  const want = evaluate(graph, feeds);
  // The unfused plan of a whole block is ~130 shaders for lavapipe to compile: the interpreter stands in.
  const u = withUnfused ? await unfused!.evaluate(graph, feeds, outputs) : want;
  for (const ex of withTiled ? [fused!, tiled!] : [fused!]) {
    const got = await ex.evaluate(graph, feeds, outputs);
    for (const id of outputs) {
      expectClose(got.get(id)!, u.get(id)!, tol, `fused vs unfused %${id}`);
      expectClose(got.get(id)!, want.get(id)!, tol, `fused vs reference %${id}`);
    }
  }
}

const kernels = (graph: Graph, outputs: readonly ValueId[]) =>
  lowerGraph(graph, outputs).steps.map((s) => s.kernel.name);

describe.skipIf(!device)("prologue and epilogue fusion", () => {
  it("matmul epilogues (bias, QuickGELU, GELU, scale, residual) fold into one kernel", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.integer({ min: 1, max: 19 }),
          k: fc.integer({ min: 1, max: 17 }),
          n: fc.integer({ min: 1, max: 21 }),
          batch: fc.integer({ min: 0, max: 3 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          epilogue: fc.constantFrom(
            "bias",
            "bias_quick_gelu",
            "gelu",
            "scale",
            "bias_residual",
            "bias_relu_mask",
          ),
          seed: fc.integer(),
        }),
        async ({ m, k, n, batch, transA, transB, epilogue, seed }) => {
          const b = new GraphBuilder();
          const lead = batch > 0 ? [batch] : [];
          const a = b.input("a", [...lead, ...(transA ? [k, m] : [m, k])]);
          const w = b.input("w", transB ? [n, k] : [k, n]);
          const bias = b.input("bias", [n]);
          const y0 = b.matmul(a, w, { transA, transB });
          let y: Value;
          if (epilogue === "bias") y = b.add(y0, bias);
          else if (epilogue === "bias_quick_gelu") y = quickGelu(b, b.add(y0, bias));
          else if (epilogue === "gelu") y = gelu(b, y0);
          else if (epilogue === "scale") y = b.mul(y0, 0.125);
          else if (epilogue === "bias_residual") y = b.add(b.add(y0, bias), b.input("r", y0.shape));
          else y = b.select(b.input("keep", [m, 1], "bool"), b.relu(b.add(y0, bias)), -2);
          b.output("y", y);
          const graph = b.build();
          const names = kernels(graph, [y.id]);
          expect(names).toHaveLength(1);
          expect(names[0]).toMatch(/^matmul_register\[.*\+\d+ops\]$/);
          await agree(graph, [y.id], seed, TOL, true);
        },
      ),
      { numRuns: 12, seed: 5 },
    );
    // Twelve shaders with inlined epilogues: 60 s with a cold shader cache (a fresh machine), 2 cores.
  }, 180_000);

  it("scale and mask fold before softmax; producers fold into layernorm and reductions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: fc.integer({ min: 1, max: 9 }),
          len: fc.integer({ min: 1, max: 70 }),
          heads: fc.integer({ min: 1, max: 3 }),
          seed: fc.integer(),
        }),
        async ({ rows, len, heads, seed }) => {
          const b = new GraphBuilder();
          const s = b.input("scores", [heads, rows, len]);
          // Keep at least one key per row, so no row is fully masked.
          const shape = [heads, rows, len];
          const keep = b.ge(b.iota(shape, 1), b.sub(b.iota(shape, 2), rows));
          const p = softmax(b, b.select(keep, b.mul(s, 0.3), Number.NEGATIVE_INFINITY));
          const x = b.input("x", [rows, len]);
          const ln = layerNorm(b, b.add(x, b.mul(b.input("r", [rows, len]), 2)), b.input("g", [len]));
          const sm = b.sum(b.mul(s, s), [1]);
          const mx = b.max(b.tanh(s), [0, 2], true);
          const outs = [p, ln, sm, mx];
          for (const [i, o] of outs.entries()) b.output(`o${i}`, o);
          const graph = b.build();
          expect(kernels(graph, [p.id])).toEqual([expect.stringMatching(/^softmax_rows\[.*\+\d+ops\]$/)]);
          expect(kernels(graph, [ln.id])).toEqual([expect.stringMatching(/^layernorm_rows\[.*\+2ops\]$/)]);
          expect(kernels(graph, [sm.id])).toEqual([expect.stringMatching(/^sum\[.*\+1ops\]$/)]);
          expect(kernels(graph, [mx.id])).toEqual([expect.stringMatching(/^max\[.*\+1ops\]$/)]);
          await agree(
            graph,
            outs.map((o) => o.id),
            seed,
          );
        },
      ),
      { numRuns: 8, seed: 6 },
    );
  });

  it("a CLIP block forward and backward: fewer dispatches, the unfused results", async () => {
    const block = clipBlock(2, 5, 16, 2, { causal: true });
    const fwd = [block.y.id];
    const fusedFwd = lowerGraph(block.graph, fwd).steps;
    const unfusedFwd = lowerGraph(block.graph, fwd, { fuse: false }).steps;
    // q, k, v, out, c_fc (bias + QuickGELU) and c_proj (bias + residual): bias folded into each matmul.
    expect(fusedFwd.filter((s) => /^matmul_register\[2x5x.*tB\+\d+ops\]$/.test(s.kernel.name))).toHaveLength(
      6,
    );
    expect(fusedFwd.filter((s) => s.kernel.name.startsWith("elementwise"))).toEqual([]);
    // The attention composite (with the head merge permute) is one kernel: 9 kernels in all.
    expect(fusedFwd.filter((s) => s.kernel.name.startsWith("attention["))).toHaveLength(1);
    expect(fusedFwd.length).toBe(9);
    expect(unfusedFwd.length).toBeGreaterThanOrEqual(4 * fusedFwd.length);
    const { graph, loss } = blockLoss(block);
    const g = gradients(graph, loss);
    const outs = g.graph.outputs.map((o) => o.value);
    const fusedAll = lowerGraph(g.graph, outs).steps.length;
    const unfusedAll = lowerGraph(g.graph, outs, { fuse: false }).steps.length;
    expect(fusedAll).toBeLessThanOrEqual(Math.ceil(unfusedAll / 2));
    await agree(g.graph, outs, 3, { rtol: 1e-4, atol: 1e-5 }, false, false);
  });
});
