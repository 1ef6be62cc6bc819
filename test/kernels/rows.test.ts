// The row kernels (softmax, layernorm) against the reference interpreter, forward and backward: row
// lengths that read as vec4, vec2 and scalars, with and without a last partial chunk of the online
// softmax pass, row counts that leave the last layernorm invocation a row short, rows led by -inf (the
// online max starts on a chunk of them), and layernorm rows far from zero (the one-pass variance is
// shifted by the row's first elements). With a folded elementwise producer (scale and mask, a residual
// add) the rows read as wide vectors too: operands along the row as vectors, operands broadcast along
// it (a per-row shift, a per-row mask, literals) splatted, iota and helper functions lane by lane, and
// f16 operands computed as f16 vectors where the device holds f16; row sums and maxes with a folded
// producer read vectors likewise.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { layerNorm, softmax } from "../../compiler/graph/composites.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { createExecutor, type Executor, kernelTarget } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { roundToHalf } from "../../runtime/formats/half.ts";
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

/** The vector width a folded producer is evaluated at, for rows of `len`. */
const widthOf = (len: number) => (len % 4 === 0 ? 4 : len % 2 === 0 ? 2 : 1);

/** The WGSL signature of the folded producer's function, as wide as the rows read. */
const loadSignature = (len: number) =>
  widthOf(len) === 1 ? "fn load_x(i: u32) -> f32" : `fn load_x(i: u32) -> vec${widthOf(len)}<f32>`;

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

/** Uniform [-1, 1) feeds for every input (f16 ones rounded, bool ones 0 or 1), x's reshaped by `shapeX`. */
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
    if (n.dtype === "f16") for (let i = 0; i < data.length; i++) data[i] = roundToHalf(data[i]!);
    if (n.dtype === "bool") for (let i = 0; i < data.length; i++) data[i] = data[i]! > 0 ? 1 : 0;
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

  it("softmax with folded scale, bias, row shift, causal and bool masks reads rows as vectors", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          heads: fc.integer({ min: 1, max: 3 }),
          rows: fc.integer({ min: 1, max: 7 }),
          len: lengths,
          seed: fc.integer(),
        }),
        async ({ heads, rows, len, seed }) => {
          const b = new GraphBuilder();
          const shape = [heads, rows, len];
          const x = b.input("x", shape);
          // bias runs along the row (a vector read); shift is one value per row (splatted).
          const scores = b.add(
            b.add(b.mul(x, 0.3), b.input("bias", [len])),
            b.input("shift", [heads, rows, 1]),
          );
          // Key c is kept for query r when c <= r (every row keeps its first key), or where bool masks
          // along the row (a vector read) and per row (splatted) both keep it.
          const causal = b.lt(b.iota(shape, 2), b.add(b.iota(shape, 1), 1));
          const keepKey = b.input("keepKey", [len], "bool");
          const keepRow = b.input("keepRow", [heads, rows, 1], "bool");
          const masked = b.select(
            keepKey,
            b.select(keepRow, scores, Number.NEGATIVE_INFINITY),
            Number.NEGATIVE_INFINITY,
          );
          const y = softmax(b, b.select(causal, scores, masked));
          const graph = withGradients(b, y, shape);
          const steps = lowerGraph(graph, [y.id]).steps;
          expect(steps.map((s) => s.kernel.name)).toEqual([
            expect.stringMatching(new RegExp(`^softmax_rows\\[${heads * rows}x${len}\\+\\d+ops\\]$`)),
          ]);
          expect(steps[0]!.kernel.code).toContain(loadSignature(len));
          await agree(
            graph,
            feedsFor(graph, seed, x.id, () => {}),
          );
        },
      ),
      { numRuns: 10, seed: 33 },
    );
  });

  it("layernorm with a folded residual add, broadcast bias, tanh and noise reads rows as vectors", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ rows: fc.integer({ min: 1, max: 9 }), len: lengths, seed: fc.integer() }),
        async ({ rows, len, seed }) => {
          const b = new GraphBuilder();
          const x = b.input("x", [rows, len]);
          const residual = b.mul(b.tanh(b.input("r", [rows, len])), b.input("rowScale", [rows, 1]));
          // A random source (dropout's mask) is drawn lane by lane at each element's own position.
          const noise = b.mul(b.randomUniform([rows, len], 7), 0.5);
          const input = b.add(b.add(b.add(x, residual), b.input("bias", [len])), noise);
          const y = layerNorm(b, input, b.input("g", [len]), b.input("beta", [len]));
          const graph = withGradients(b, y, [rows, len]);
          const steps = lowerGraph(graph, [y.id]).steps;
          expect(steps.map((s) => s.kernel.name)).toEqual([`layernorm_rows[${rows}x${len}+6ops]`]);
          expect(steps[0]!.kernel.code).toContain(loadSignature(len));
          await agree(
            graph,
            feedsFor(graph, seed, x.id, () => {}),
          );
        },
      ),
      { numRuns: 10, seed: 34 },
    );
  });

  it("row sums and maxes with a folded producer read rows as vectors", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ rows: fc.integer({ min: 1, max: 9 }), len: lengths, seed: fc.integer() }),
        async ({ rows, len, seed }) => {
          const b = new GraphBuilder();
          const x = b.input("x", [rows, len]);
          const s = b.sum(b.add(b.mul(x, b.input("g", [len])), b.input("shift", [rows, 1])), [1]);
          const m = b.max(b.tanh(x), [1]);
          b.output("s", s);
          b.output("m", m);
          const graph = b.build();
          const steps = lowerGraph(graph, [s.id, m.id]).steps;
          expect(steps.map((st) => st.kernel.name)).toEqual([
            `sum[${rows}x${len};axes=1+2ops]`,
            `max[${rows}x${len};axes=1+1ops]`,
          ]);
          for (const st of steps) expect(st.kernel.code).toContain(loadSignature(len));
          await agree(
            graph,
            feedsFor(graph, seed, x.id, () => {}),
          );
        },
      ),
      { numRuns: 8, seed: 36 },
    );
  });

  it.skipIf(!device?.features.includes("shader-f16"))(
    "folded producers over f16 operands compute f16 vectors and agree with the reference",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({ rows: fc.integer({ min: 1, max: 9 }), len: lengths, seed: fc.integer() }),
          async ({ rows, len, seed }) => {
            const b = new GraphBuilder();
            const x = b.input("x", [rows, len]);
            const h = b.input("h", [rows, len], "f16");
            // h * 0.5 + hb at f16 (each step rounded to f16), then widened for the f32 add.
            const half = b.add(b.mul(h, 0.5), b.input("hb", [len], "f16"));
            const ln = layerNorm(b, b.add(x, b.cast(half, "f32")));
            // An f16 operand along the row times one broadcast along it (splatted as f16).
            const scaled = b.mul(b.input("hs", [rows, len], "f16"), b.input("hr", [rows, 1], "f16"));
            const sm = softmax(b, b.add(x, b.cast(scaled, "f32")));
            b.output("ln", ln);
            b.output("sm", sm);
            const graph = b.build();
            const steps = lowerGraph(graph, [ln.id, sm.id], { target: kernelTarget(device!) }).steps;
            expect(steps.map((s) => s.kernel.name)).toEqual([
              `layernorm_rows[${rows}x${len}+4ops]`,
              `softmax_rows[${rows}x${len}+3ops]`,
            ]);
            const w = widthOf(len);
            if (w > 1)
              expect(steps[0]!.kernel.code).toMatch(
                new RegExp(`let v\\d+: vec${w}<f16> = \\(v\\d+ \\* v\\d+\\);`),
              );
            await agree(
              graph,
              feedsFor(graph, seed, x.id, () => {}),
            );
          },
        ),
        { numRuns: 10, seed: 35 },
      );
    },
  );
});
