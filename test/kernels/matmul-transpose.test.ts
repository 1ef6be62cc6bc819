// Transposed matmul operands copied row-major before the register kernel (rowMajorFirst): the plan
// has the copies exactly where the rule asks, the scratch they fill gets arena bytes of its own
// while alive, and the results agree with the reference interpreter on random shapes around the
// rule's thresholds (sizes not multiples of 4 or 8, batched and broadcast, epilogues, batch folds);
// tiles that broadcast A read a transposed A without the copy.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { subgroupsOfLanes } from "../../runtime/executor/autotune.ts";
import { createExecutor } from "../../runtime/executor/executor.ts";
import { type KernelPlan, lowerGraph } from "../../runtime/executor/lower.ts";
import { lifetimes, planMemory } from "../../runtime/executor/memory-plan.ts";
import { BROADCAST_MATMUL_TILES, rowMajorFirst } from "../../runtime/kernels/matmul.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, reference } from "./helpers.ts";

const device = await deviceOrSkip("matmul-transpose.test.ts");
const executor = device ? await createExecutor(device) : undefined;
afterAll(() => device?.destroy());

const copies = (plan: KernelPlan) => plan.steps.filter((s) => s.kernel.name.startsWith("copy[")).length;

function feedsOf(graph: Graph, seed: number): Map<ValueId, Tensor> {
  const r = rng(seed);
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input") continue;
    feeds.set(n.id, {
      shape: n.shape,
      data: randomData(
        r,
        n.shape.reduce((a, d) => a * d, 1),
      ),
    });
  }
  return feeds;
}

async function agree(graph: Graph, out: ValueId, k: number, seed: number, what: string): Promise<void> {
  const feeds = feedsOf(graph, seed);
  const want = reference(graph, feeds).get(out)!;
  const got = (await executor!.evaluate(graph, feeds, [out])).get(out)!;
  expectClose(got, want, { rtol: 1e-5, atol: 2e-7 * k }, what);
}

describe("transposed operands copied row-major", () => {
  it("copies a large transposed operand for the register kernel only, into scratch the arena holds", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [6304, 768]);
    const w = b.input("w", [3072, 768]);
    const y = b.matmul(x, w, { transB: true });
    b.output("y", y);
    const graph = b.build();
    const plan = lowerGraph(graph, [y.id]);
    expect(plan.steps.map((s) => s.kernel.name)).toEqual([
      "copy[768x3072]",
      "matmul_register[6304x768x3072;r12c4]",
    ]);
    const t = plan.steps[0]!.writes[0]!;
    expect(graph.nodes.some((n) => n.id === t)).toBe(false);
    expect(plan.values.get(t)!.shape).toEqual([768, 3072]);
    const memory = planMemory(lifetimes(plan), 256);
    const [lo, hi] = [memory.offsets.get(t)!, memory.offsets.get(t)! + plan.values.get(t)!.bytes];
    for (const id of [x.id, w.id, y.id]) {
      const at = memory.offsets.get(id)!;
      expect(at + plan.values.get(id)!.bytes <= lo || at >= hi, `%${id} overlaps the scratch`).toBe(true);
    }
    expect(lowerGraph(graph, [y.id], { matmul: "tiled" }).steps.map((s) => s.kernel.name)).toEqual([
      "matmul_tiled[6304x768x3072;tB]",
    ]);
    // A small product keeps the strided reads: the copy's dispatch would cost more than it saves.
    const s = new GraphBuilder();
    const z = s.matmul(s.input("x", [64, 48]), s.input("w", [40, 48]), { transB: true });
    s.output("z", z);
    expect(copies(lowerGraph(s.build(), [z.id]))).toBe(0);
  });

  it.skipIf(!device)(
    "batched x @ W^T (and A^T) with odd sizes, bias epilogues, broadcast batches agree with the interpreter",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            // Mostly above the copy's thresholds (2^24 flops, 128 rows), some just below.
            m: fc.integer({ min: 120, max: 230 }),
            n: fc.integer({ min: 150, max: 230 }),
            k: fc.integer({ min: 180, max: 290 }),
            transA: fc.boolean(),
            transB: fc.constant(true),
            batch: fc.constantFrom<[number[], number[]]>([[], []], [[2], [2]], [[3, 1], [2]], [[], [2]]),
            bias: fc.boolean(),
            seed: fc.integer(),
          }),
          async (c) => {
            const b = new GraphBuilder();
            const [batchA, batchB] = c.batch;
            const x = b.input("a", [...batchA, ...(c.transA ? [c.k, c.m] : [c.m, c.k])]);
            const w = b.input("b", [...batchB, ...(c.transB ? [c.n, c.k] : [c.k, c.n])]);
            const mm = b.matmul(x, w, { transA: c.transA, transB: c.transB });
            // A bias and relu fold into the product's store (the epilogue path).
            const y = c.bias ? b.relu(b.add(mm, b.input("bias", [c.n]))) : mm;
            b.output("y", y);
            const graph = b.build();
            const want = rowMajorFirst(
              { aShape: x.shape, bShape: w.shape, transA: c.transA, transB: c.transB, shape: mm.shape },
              "register",
            );
            expect(copies(lowerGraph(graph, [y.id]))).toBe(Number(want.a) + Number(want.b));
            await agree(graph, y.id, c.k, c.seed, `matmul ${JSON.stringify(c)}`);
          },
        ),
        { numRuns: 8, seed: 21, endOnFailure: true },
      );
    },
  );

  it.skipIf(!device)("a weight gradient summed over the batch (one folded A^T B) agrees", async () => {
    // The transposed A is copied only above 2^30 flops: one case that large, for the interpreter's sake.
    const [batch, rows, m, n] = [2, 2003, 515, 262];
    const b = new GraphBuilder();
    const dy = b.input("dy", [batch, rows, m]);
    const dw = b.sum(b.matmul(dy, b.input("x", [batch, rows, n]), { transA: true }), [0]);
    b.output("dw", dw);
    const graph = b.build();
    expect(lowerGraph(graph, [dw.id]).steps.map((s) => s.kernel.name)).toEqual([
      `copy[${m}x${batch * rows}]`,
      `matmul_register[${m}x${batch * rows}x${n};r12c4]`,
    ]);
    await agree(graph, dw.id, batch * rows, 23, "dW");
  });

  it("a tile that broadcasts A reads a transposed A as it is; a transposed B is still copied", async () => {
    const [batch, rows, m, n] = [2, 2003, 515, 262];
    const b = new GraphBuilder();
    const dy = b.input("dy", [batch, rows, m]);
    const x = b.input("x", [batch, rows, n]);
    const dw = b.sum(b.matmul(dy, x, { transA: true }), [0]);
    const y = b.matmul(b.input("y", [1600, 768]), b.input("w", [3072, 768]), { transB: true });
    b.output("dw", dw);
    b.output("y", y);
    const graph = b.build();
    const names = lowerGraph(graph, [dw.id, y.id], { matmulTiles: BROADCAST_MATMUL_TILES }).steps.map(
      (s) => s.kernel.name,
    );
    expect(names).toEqual([
      `matmul_register[${m}x${batch * rows}x${n};tA;r24c3s]`,
      "copy[768x3072]",
      "matmul_register[1600x768x3072;r24c3s]",
    ]);
    if (!device || !subgroupsOfLanes(device)) return;
    const broadcasting = await createExecutor(device, { matmulTiles: BROADCAST_MATMUL_TILES });
    try {
      const feeds = feedsOf(graph, 29);
      const want = reference(graph, feeds).get(dw.id)!;
      const got = (await broadcasting.evaluate(graph, feeds, [dw.id])).get(dw.id)!;
      expectClose(got, want, { rtol: 1e-5, atol: 2e-7 * batch * rows }, "dW, A read transposed");
    } finally {
      broadcasting.release();
    }
  }, 120_000);
});
