// Whole graphs on the device: fused plans equal unfused ones, gradients of the core ops match the
// reference interpreter, and the graph issue's toy MLP trains to the interpreter's losses.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import {
  crossEntropy,
  gelu,
  layerNorm,
  logSoftmax,
  quickGelu,
  softmax,
} from "../../compiler/graph/composites.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { adam } from "../../runtime/reference/optimizer.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, type Tolerance } from "./helpers.ts";

const device = await deviceOrSkip("graphs.test.ts");
const fused: Executor | undefined = device ? await createExecutor(device) : undefined;
const unfused: Executor | undefined = device ? await createExecutor(device, { fuse: false }) : undefined;
afterAll(() => device?.destroy());

function feedsFor(graph: Graph, r: () => number): Map<ValueId, Tensor> {
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const count = n.shape.reduce((a, d) => a * d, 1);
    const data =
      n.dtype === "i32" ? randomData(r, count, 0, 2.999).map(Math.floor) : randomData(r, count, -1, 1);
    feeds.set(n.id, { shape: n.shape, data });
  }
  return feeds;
}

/** A random chain of elementwise ops over a few broadcast operands, ending in a composite or a reduction. */
function randomChain(seed: number): { graph: Graph; outputs: ValueId[] } {
  const r = rng(seed);
  const b = new GraphBuilder();
  const rows = 1 + Math.floor(r() * 9);
  const cols = 1 + Math.floor(r() * 13);
  const pool: Value[] = [b.input("x", [rows, cols]), b.input("bias", [cols]), b.input("s", [rows, 1])];
  const pick = () => pool[Math.floor(r() * pool.length)]!;
  for (let i = 0; i < 4 + Math.floor(r() * 8); i++) {
    const k = Math.floor(r() * 8);
    const v =
      k === 0
        ? b.add(pick(), pick())
        : k === 1
          ? b.mul(pick(), 0.5)
          : k === 2
            ? b.tanh(pick())
            : k === 3
              ? b.sigmoid(pick())
              : k === 4
                ? b.select(b.gt(pick(), 0), pick(), -1)
                : k === 5
                  ? quickGelu(b, pick())
                  : k === 6
                    ? b.maximum(pick(), pick())
                    : gelu(b, pick());
    pool.push(v);
  }
  // Plus x, so no row is constant (layernorm of a constant row amplifies f32 rounding of its mean ~300x).
  const last = b.add(b.broadcast(pool[pool.length - 1]!, [rows, cols]), pool[0]!);
  const outs = [softmax(b, last), layerNorm(b, last, pool[1]), b.sum(last, [1]), logSoftmax(b, last)];
  for (const [i, o] of outs.entries()) b.output(`o${i}`, o);
  return { graph: b.build(), outputs: outs.map((o) => o.id) };
}

const CHAIN_TOL: Tolerance = { rtol: 2e-5, atol: 2e-6 };

describe.skipIf(!device)("graphs on the device", () => {
  it("fused plans give the results of unfused ones, with fewer kernels", async () => {
    let fewer = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const { graph, outputs } = randomChain(seed);
        const feeds = feedsFor(graph, rng(seed + 1));
        const a = await fused!.evaluate(graph, feeds, outputs);
        const b = await unfused!.evaluate(graph, feeds, outputs);
        const ref = evaluate(graph, feeds);
        for (const id of outputs) {
          expectClose(a.get(id)!, b.get(id)!, CHAIN_TOL, `fused vs unfused %${id}`);
          expectClose(a.get(id)!, ref.get(id)!, CHAIN_TOL, `fused vs reference %${id}`);
        }
        const nf = lowerGraph(graph, outputs).steps.length;
        const nu = lowerGraph(graph, outputs, { fuse: false }).steps.length;
        if (nf < nu) fewer++;
      }),
      { numRuns: 25, seed: 21 },
    );
    expect(fewer).toBeGreaterThan(18);
  });

  it("a softmax and a layernorm composite each lower to one kernel", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4, 10]);
    const y = layerNorm(b, softmax(b, x), b.input("g", [10]), b.input("b", [10]));
    const steps = lowerGraph(b.build(), [y.id]).steps.map((s) => s.kernel.name);
    expect(steps).toEqual(["softmax_rows[4x10]", "layernorm_rows[4x10]"]);
  });

  const GRAD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

  /** Gradients of `build`'s scalar w.r.t. every input, executor vs interpreter, fused and unfused. */
  async function checkGradients(
    name: string,
    build: (b: GraphBuilder) => Value,
    seed: number,
  ): Promise<void> {
    const b = new GraphBuilder();
    const loss = build(b);
    b.output("loss", loss);
    const g0 = b.build();
    const wrt = g0.nodes.filter((n) => n.op === "input" && n.dtype === "f32").map((n) => n.id);
    const { graph } = gradients(g0, loss.id, wrt);
    const feeds = feedsFor(graph, rng(seed));
    const want = evaluate(graph, feeds);
    const outs = graph.outputs.map((o) => o.value);
    for (const ex of [fused!]) {
      const got = await ex.evaluate(graph, feeds, outs);
      for (const o of graph.outputs)
        expectClose(got.get(o.value)!, want.get(o.value)!, GRAD_TOL, `${name}: ${o.name}`);
    }
  }

  it("backward of the core ops matches the interpreter", async () => {
    const cases: [string, (b: GraphBuilder) => Value][] = [
      ["elementwise", (b) => b.sum(b.mul(b.tanh(b.input("x", [3, 5])), b.exp(b.input("y", [5]))))],
      [
        "division and pow",
        (b) =>
          b.sum(b.div(b.input("x", [4, 3]), b.add(b.mul(b.input("y", [4, 1]), b.input("y2", [4, 1])), 2))),
      ],
      [
        "matmul (transposes, batch broadcast)",
        (b) => b.sum(b.sigmoid(b.matmul(b.input("a", [2, 5, 3]), b.input("w", [4, 3]), { transB: true }))),
      ],
      ["matmul transA", (b) => b.sum(b.matmul(b.input("a", [6, 3]), b.input("w", [6, 7]), { transA: true }))],
      [
        "reductions",
        (b) => {
          const x = b.input("x", [3, 4, 5]);
          return b.add(b.sum(b.max(x, [1])), b.mean(b.mul(x, x)));
        },
      ],
      [
        "softmax and layernorm",
        (b) => {
          const x = b.input("x", [5, 8]);
          const y = layerNorm(b, x, b.input("g", [8]), b.input("bb", [8]));
          return b.sum(b.mul(softmax(b, y), b.input("t", [5, 8])));
        },
      ],
      [
        "movement",
        (b) => {
          const x = b.input("x", [4, 6]);
          const p = b.permute(b.slice(x, [1, 0], [4, 6], [1, 2]), [1, 0]);
          const c = b.concat([p, b.pad(p, [0, 1], [0, 0], 0)], 1);
          return b.sum(b.mul(c, c));
        },
      ],
      [
        "gather (embedding)",
        (b) => {
          const e = b.input("embed", [3, 4]);
          return b.sum(b.tanh(b.gather(e, b.input("ids", [2, 5], "i32"), 0)));
        },
      ],
      [
        "cross entropy",
        (b) =>
          crossEntropy(
            b,
            linear(b, b.input("x", [6, 5]), b.input("w", [3, 5]), b.input("bias", [3])),
            b.input("y", [6], "i32"),
          ),
      ],
    ];
    for (const [i, [name, build]] of cases.entries()) await checkGradients(name, build, 100 + i);
  });

  it("the toy MLP trains on the device to the interpreter's losses", async () => {
    // test/reference/training.test.ts's XOR MLP, a few Adam steps, parameters updated on the host.
    const r = rng(11);
    const n = 64;
    const points = Array.from({ length: 2 * n }, () => Math.fround(2 * r() - 1));
    const labels = Array.from({ length: n }, (_, i) => (points[2 * i]! * points[2 * i + 1]! > 0 ? 1 : 0));
    const b = new GraphBuilder();
    const x = b.input("x", [n, 2]);
    const y = b.input("y", [n], "i32");
    const shapes: [string, number[], number][] = [
      ["w1", [16, 2], 1],
      ["b1", [16], 0],
      ["w2", [16, 16], 0.25],
      ["b2", [16], 0],
      ["w3", [2, 16], 0.25],
      ["b3", [2], 0],
    ];
    const p = Object.fromEntries(shapes.map(([name, shape]) => [name, b.param(name, shape)]));
    const h1 = b.tanh(linear(b, x, p["w1"]!, p["b1"]!));
    const h2 = b.tanh(linear(b, h1, p["w2"]!, p["b2"]!));
    const loss = crossEntropy(b, linear(b, h2, p["w3"]!, p["b3"]!), y);
    b.output("loss", loss);
    const { graph, grads } = gradients(b.build(), loss.id);
    const init = (seed: number) =>
      new Map(
        shapes.map(([name, shape, std]) => {
          const count = shape.reduce((a, d) => a * d, 1);
          const rr = rng(seed + count);
          const data = Float64Array.from({ length: count }, () => Math.fround(std * (2 * rr() - 1)));
          return [p[name]!.id, { shape, data }] as const;
        }),
      );
    const data = new Map<ValueId, Tensor>([
      [x.id, { shape: [n, 2], data: Float64Array.from(points) }],
      [y.id, { shape: [n], data: Float64Array.from(labels) }],
    ]);
    const outs = [loss.id, ...grads.values()];
    const train = async (run: (feeds: Map<ValueId, Tensor>) => Promise<Map<ValueId, Tensor>>) => {
      const params = init(1);
      const opt = adam({ lr: 0.05 });
      const losses: number[] = [];
      for (let s = 0; s < 25; s++) {
        const values = await run(new Map([...data, ...params]));
        losses.push(values.get(loss.id)!.data[0]!);
        opt.step(params, new Map([...grads].map(([pid, gid]) => [pid, values.get(gid)!])));
        // The device holds f32: keep the host copy f32 too, so both runs see the same parameters.
        for (const t of params.values())
          for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(t.data[i]!);
      }
      return losses;
    };
    const onDevice = await train((feeds) => fused!.evaluate(graph, feeds, outs));
    const onHost = await train(async (feeds) => evaluate(graph, feeds));
    console.log(`MLP on the device: loss ${onDevice[0]!.toFixed(4)} -> ${onDevice.at(-1)!.toFixed(4)}`);
    for (let s = 0; s < onHost.length; s++)
      expect(Math.abs(onDevice[s]! - onHost[s]!)).toBeLessThan(1e-4 * (1 + s));
    expect(onDevice.at(-1)!).toBeLessThan(onDevice[0]! * 0.8);
    // Same seed, same device: bit-identical losses.
    const again = await train((feeds) => fused!.evaluate(graph, feeds, outs));
    expect(again).toEqual(onDevice);
  });
});
