// Every primitive forward on the device against the reference interpreter, on random shapes
// (sizes deliberately not multiples of any tile or vector width), with the tolerance stated per op.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import type { OpOf } from "../../compiler/graph/ops.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, reference, type Tolerance } from "./helpers.ts";

const device = await deviceOrSkip("primitives.test.ts");
const executor: Executor | undefined = device ? await createExecutor(device) : undefined;
const tiled: Executor | undefined = device ? await createExecutor(device, { matmul: "tiled" }) : undefined;
afterAll(() => device?.destroy());

/** f32 arithmetic: one rounding. */
const EXACTISH: Tolerance = { rtol: 1e-6, atol: 1e-7 };
/** Transcendentals: a few ulps of the hardware's (or lavapipe's) exp/log/sin. */
const TRANSCENDENTAL: Tolerance = { rtol: 4e-6, atol: 1e-6 };
const EXACT: Tolerance = { rtol: 0, atol: 0 };

const UNARY_TOL: Record<Exclude<OpOf<"unary">, "cast">, Tolerance> = {
  neg: EXACT,
  abs: EXACT,
  relu: EXACT,
  sign: EXACT,
  floor: EXACT,
  stop_gradient: EXACT,
  reciprocal: EXACTISH,
  sqrt: EXACTISH,
  rsqrt: { rtol: 4e-6, atol: 0 },
  exp: TRANSCENDENTAL,
  log: TRANSCENDENTAL,
  tanh: TRANSCENDENTAL,
  sigmoid: TRANSCENDENTAL,
  softplus: TRANSCENDENTAL,
  sin: TRANSCENDENTAL,
  cos: TRANSCENDENTAL,
  // Taylor series near 0, Abramowitz-Stegun beyond: |error| < 1.5e-7 plus f32 rounding.
  erf: { rtol: 2e-6, atol: 4e-7 },
};

/** Inputs inside each op's domain (away from 0 for log, sqrt, reciprocal). */
const DOMAIN: Partial<Record<OpOf<"unary">, [number, number]>> = {
  log: [0.05, 4],
  sqrt: [0.05, 4],
  rsqrt: [0.05, 4],
  reciprocal: [0.1, 3],
  exp: [-8, 8],
  tanh: [-6, 6],
  sigmoid: [-12, 12],
  softplus: [-12, 12],
  sin: [-6, 6],
  cos: [-6, 6],
  erf: [-3, 3],
  floor: [-5, 5],
};

const dim = fc.integer({ min: 1, max: 9 });
const shapeArb = fc.array(dim, { minLength: 0, maxLength: 4 });

/** A shape that broadcasts to `shape`: some leading axes dropped, some axes set to 1. */
function broadcastable(shape: readonly number[], r: () => number): number[] {
  const drop = Math.floor(r() * (shape.length + 1));
  return shape.slice(drop).map((d) => (r() < 0.3 ? 1 : d));
}

async function check(
  ex: Executor,
  graph: Graph,
  feeds: Map<ValueId, Tensor>,
  tols: ReadonlyMap<ValueId, [Tolerance, string]>,
): Promise<void> {
  const want = reference(graph, feeds);
  const got = await ex.evaluate(graph, feeds, [...tols.keys()]);
  for (const [id, [tol, what]] of tols) expectClose(got.get(id)!, want.get(id)!, tol, what);
}

function feedOf(feeds: Map<ValueId, Tensor>, v: Value, data: Float64Array): Value {
  feeds.set(v.id, { shape: v.shape, data });
  return v;
}

describe.skipIf(!device)("primitives on the device match the reference interpreter", () => {
  it("unary ops (every one, in its domain)", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.integer(), async (shape, seed) => {
        const r = rng(seed);
        const b = new GraphBuilder();
        const feeds = new Map<ValueId, Tensor>();
        const tols = new Map<ValueId, [Tolerance, string]>();
        const n = shape.reduce((a, d) => a * d, 1);
        for (const [op, tol] of Object.entries(UNARY_TOL) as [keyof typeof UNARY_TOL, Tolerance][]) {
          const [lo, hi] = DOMAIN[op] ?? [-3, 3];
          const x = feedOf(feeds, b.input(op, shape), randomData(r, n, lo, hi));
          tols.set(b.unary(op, x).id, [tol, `${op} [${shape}]`]);
        }
        b.output("dummy", b.node(tols.keys().next().value!));
        await check(executor!, b.build(), feeds, tols);
      }),
      { numRuns: 20, seed: 5 },
    );
  });

  it("binary and compare ops with numpy broadcasting; select", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.integer(), async (shape, seed) => {
        const r = rng(seed);
        const b = new GraphBuilder();
        const feeds = new Map<ValueId, Tensor>();
        const tols = new Map<ValueId, [Tolerance, string]>();
        const n = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
        const ops: [OpOf<"binary"> | OpOf<"compare">, Tolerance][] = [
          ["add", EXACTISH],
          ["sub", EXACTISH],
          ["mul", EXACTISH],
          ["div", EXACTISH],
          ["maximum", EXACT],
          ["minimum", EXACT],
          ["eq", EXACT],
          ["ne", EXACT],
          ["lt", EXACT],
          ["le", EXACT],
          ["gt", EXACT],
          ["ge", EXACT],
        ];
        for (const [op, tol] of ops) {
          const sa = r() < 0.5 ? shape : broadcastable(shape, r);
          const sb = sa === shape ? broadcastable(shape, r) : shape;
          // Small integers make equal pairs likely, so eq/le/ge see both outcomes.
          const gen = (s: readonly number[]) =>
            op.length === 2 ? randomData(r, n(s), -3, 3).map(Math.round) : randomData(r, n(s), 0.5, 2);
          const x = feedOf(feeds, b.input(`${op}.a`, sa), gen(sa));
          const y = feedOf(feeds, b.input(`${op}.b`, sb), gen(sb));
          tols.set(b.binary(op, x, y).id, [tol, `${op} [${sa}] [${sb}]`]);
        }
        // pow: positive bases with real exponents, negative bases with integer exponents.
        const base = feedOf(feeds, b.input("pow.a", shape), randomData(r, n(shape), 0.2, 3));
        const expo = feedOf(feeds, b.input("pow.b", broadcastable(shape, r)), randomData(r, 0, -2, 2));
        feeds.set(expo.id, { shape: expo.shape, data: randomData(r, n(expo.shape), -2, 2) });
        tols.set(b.pow(base, expo).id, [TRANSCENDENTAL, "pow"]);
        const nb = feedOf(feeds, b.input("pow.neg", shape), randomData(r, n(shape), -3, -0.2));
        const ie = feedOf(feeds, b.input("pow.int", shape), randomData(r, n(shape), -3, 3).map(Math.round));
        tols.set(b.pow(nb, ie).id, [TRANSCENDENTAL, "pow of negative bases"]);
        const cond = b.gt(feedOf(feeds, b.input("cond", broadcastable(shape, r)), new Float64Array(0)), 0);
        feeds.set(cond.inputs[0]!, {
          shape: b.node(cond.inputs[0]!).shape,
          data: randomData(r, n(b.node(cond.inputs[0]!).shape)),
        });
        const sa = broadcastable(shape, r);
        const ta = feedOf(feeds, b.input("sel.a", sa), randomData(r, n(sa)));
        const tb = feedOf(feeds, b.input("sel.b", shape), randomData(r, n(shape)));
        tols.set(b.select(cond, ta, tb).id, [EXACT, "select"]);
        await check(executor!, b.build(), feeds, tols);
      }),
      { numRuns: 20, seed: 6 },
    );
  });

  it("casts, fills, iota, constants and integer arithmetic", async () => {
    const r = rng(3);
    const b = new GraphBuilder();
    const feeds = new Map<ValueId, Tensor>();
    const tols = new Map<ValueId, [Tolerance, string]>();
    const x = feedOf(feeds, b.input("x", [5, 7]), randomData(r, 35, -4, 4));
    const i = b.cast(x, "i32");
    tols.set(i.id, [EXACT, "cast f32 -> i32 truncates"]);
    tols.set(b.cast(i, "f32").id, [EXACT, "cast i32 -> f32"]);
    const flag = b.cast(b.unary("floor", x), "bool");
    tols.set(b.cast(flag, "f32").id, [EXACT, "cast through bool"]);
    tols.set(b.add(b.mul(i, 3), b.neg(b.abs(i))).id, [EXACT, "i32 arithmetic"]);
    tols.set(b.full([4, 3], 2.5).id, [EXACT, "full"]);
    tols.set(b.iota([3, 4, 5], 1).id, [EXACT, "iota"]);
    tols.set(b.constant([1, -2, 3.5, 4, 5, 6], [2, 3]).id, [EXACT, "constant"]);
    tols.set(b.add(x, b.constant([1, 2, 3, 4, 5, 6, 7], [7])).id, [EXACTISH, "constant operand"]);
    tols.set(b.mul(x, Number.POSITIVE_INFINITY).id, [EXACT, "infinite literal"]);
    b.output("x", x);
    await check(executor!, b.build(), feeds, tols);
  });

  it("random_uniform is bit-identical to the reference; random_normal within f32 rounding", async () => {
    const b = new GraphBuilder();
    const tols = new Map<ValueId, [Tolerance, string]>();
    tols.set(b.randomUniform([37, 29], 12345, 7).id, [EXACT, "uniform"]);
    tols.set(b.randomUniform([100], 2 ** 40 + 17, 2 ** 32 - 50).id, [
      EXACT,
      "uniform, 64-bit seed and offset carry",
    ]);
    tols.set(b.randomNormal([41, 13], 99, 0).id, [{ rtol: 1e-5, atol: 2e-6 }, "normal"]);
    b.output("u", b.node(tols.keys().next().value!));
    await check(executor!, b.build(), new Map(), tols);
  });

  it("reductions over any axes (sum, max, argmax), keepdims or not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(dim, { minLength: 1, maxLength: 4 }), fc.integer(), async (shape, seed) => {
        const r = rng(seed);
        const b = new GraphBuilder();
        const feeds = new Map<ValueId, Tensor>();
        const tols = new Map<ValueId, [Tolerance, string]>();
        const n = shape.reduce((a, d) => a * d, 1);
        const x = feedOf(feeds, b.input("x", shape), randomData(r, n));
        for (const kind of ["sum", "max", "argmax"] as const) {
          let axes = shape.map((_, i) => i).filter(() => r() < 0.5);
          if (axes.length === 0) axes = [Math.floor(r() * shape.length)];
          const keep = r() < 0.5;
          const y =
            kind === "sum"
              ? b.sum(x, axes, keep)
              : kind === "max"
                ? b.max(x, axes, keep)
                : b.argmax(x, axes, keep);
          const tol = kind === "sum" ? { rtol: 1e-5, atol: 1e-6 * n } : EXACT;
          tols.set(y.id, [tol, `${kind} [${shape}] axes ${axes}`]);
        }
        b.output("x", x);
        await check(executor!, b.build(), feeds, tols);
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it("reductions of few long rows use the workgroup tree", async () => {
    const r = rng(8);
    const b = new GraphBuilder();
    const feeds = new Map<ValueId, Tensor>();
    const tols = new Map<ValueId, [Tolerance, string]>();
    const x = feedOf(feeds, b.input("x", [3, 10007]), randomData(r, 3 * 10007));
    tols.set(b.sum(x, [1]).id, [{ rtol: 1e-5, atol: 1e-4 }, "sum of long rows"]);
    tols.set(b.max(x).id, [EXACT, "max of all"]);
    tols.set(b.argmax(x, [0, 1]).id, [EXACT, "argmax of all"]);
    b.output("x", x);
    await check(executor!, b.build(), feeds, tols);
  });

  const matmulCase = fc.record({
    m: fc.integer({ min: 1, max: 70 }),
    k: fc.integer({ min: 1, max: 70 }),
    n: fc.integer({ min: 1, max: 70 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    batchA: fc.constantFrom([], [2], [3, 1], [1]),
    batchB: fc.constantFrom([], [2], [1, 2], [3, 2]),
    seed: fc.integer(),
  });

  for (const [variant, runs] of [
    ["register", 40],
    ["tiled", 15],
  ] as const) {
    it(`batched matmul (${variant}) with transposes and broadcast batch axes`, async () => {
      await fc.assert(
        fc.asyncProperty(matmulCase, async (c) => {
          const r = rng(c.seed);
          const b = new GraphBuilder();
          const feeds = new Map<ValueId, Tensor>();
          const aShape = [...c.batchA, ...(c.transA ? [c.k, c.m] : [c.m, c.k])];
          const bShape = [...c.batchB, ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
          const n = (s: number[]) => s.reduce((a, d) => a * d, 1);
          const x = feedOf(feeds, b.input("a", aShape), randomData(r, n(aShape)));
          const y = feedOf(feeds, b.input("b", bShape), randomData(r, n(bShape)));
          const z = b.matmul(x, y, { transA: c.transA, transB: c.transB });
          b.output("z", z);
          const tol = { rtol: 1e-5, atol: 2e-7 * c.k };
          await check(
            variant === "tiled" ? tiled! : executor!,
            b.build(),
            feeds,
            new Map([[z.id, [tol, `matmul ${JSON.stringify(c)}`]]]),
          );
        }),
        { numRuns: runs, seed: variant === "tiled" ? 9 : 10, endOnFailure: true },
      );
    });
  }

  it("matmul at vec4-friendly sizes (the fast path) and a large k", async () => {
    for (const [m, k, n] of [
      [16, 32, 64],
      [9, 300, 132],
      [64, 8, 4],
    ] as const) {
      const r = rng(m * k * n);
      const b = new GraphBuilder();
      const feeds = new Map<ValueId, Tensor>();
      const x = feedOf(feeds, b.input("a", [m, k]), randomData(r, m * k));
      const y = feedOf(feeds, b.input("b", [k, n]), randomData(r, k * n));
      const z = b.matmul(x, y);
      b.output("z", z);
      await check(
        executor!,
        b.build(),
        feeds,
        new Map([[z.id, [{ rtol: 1e-5, atol: 2e-7 * k }, `matmul ${m}x${k}x${n}`]]]),
      );
    }
  });

  it("movement: permute, broadcast, slice, pad, concat", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(dim, { minLength: 1, maxLength: 4 }), fc.integer(), async (shape, seed) => {
        const r = rng(seed);
        const b = new GraphBuilder();
        const feeds = new Map<ValueId, Tensor>();
        const tols = new Map<ValueId, [Tolerance, string]>();
        const n = shape.reduce((a, d) => a * d, 1);
        const x = feedOf(feeds, b.input("x", shape), randomData(r, n));
        const perm = shape.map((_, i) => i).sort(() => r() - 0.5);
        tols.set(b.permute(x, perm).id, [EXACT, `permute [${shape}] by ${perm}`]);
        const big = [Math.ceil(r() * 3), ...shape.map((d) => (d === 1 ? 1 + Math.floor(r() * 3) : d))];
        tols.set(b.broadcast(b.reshape(x, shape), big).id, [EXACT, `broadcast [${shape}] to [${big}]`]);
        const starts = shape.map((d) => Math.floor(r() * d));
        const ends = shape.map((d, i) => starts[i]! + 1 + Math.floor(r() * (d - starts[i]!)));
        const steps = shape.map(() => 1 + Math.floor(r() * 3));
        tols.set(b.slice(x, starts, ends, steps).id, [EXACT, `slice [${shape}] ${starts}:${ends}:${steps}`]);
        const before = shape.map(() => Math.floor(r() * 3));
        const after = shape.map(() => Math.floor(r() * 3));
        const interior = shape.map(() => Math.floor(r() * 2));
        tols.set(b.pad(x, before, after, 0.5, interior).id, [
          EXACT,
          `pad [${shape}] ${before}/${after}/${interior}`,
        ]);
        const axis = Math.floor(r() * shape.length);
        const other = shape.map((d, i) => (i === axis ? 1 + Math.floor(r() * 4) : d));
        const y = feedOf(
          feeds,
          b.input("y", other),
          randomData(
            r,
            other.reduce((a, d) => a * d, 1),
          ),
        );
        tols.set(b.concat([x, y, x], axis).id, [EXACT, `concat on axis ${axis}`]);
        b.output("x", x);
        await check(executor!, b.build(), feeds, tols);
      }),
      { numRuns: 20, seed: 11 },
    );
  });

  it("gather, take_along_axis and scatter_add (duplicate indices accumulate)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(dim, { minLength: 1, maxLength: 3 }), fc.integer(), async (shape, seed) => {
        const r = rng(seed);
        const b = new GraphBuilder();
        const feeds = new Map<ValueId, Tensor>();
        const tols = new Map<ValueId, [Tolerance, string]>();
        const n = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
        const x = feedOf(feeds, b.input("x", shape), randomData(r, n(shape)));
        const axis = Math.floor(r() * shape.length);
        const ints = (s: readonly number[]) => randomData(r, n(s), 0, shape[axis]! - 1e-9).map(Math.floor);
        const idxShape = [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 4)];
        const idx = feedOf(feeds, b.input("idx", idxShape, "i32"), ints(idxShape));
        tols.set(b.gather(x, idx, axis).id, [EXACT, `gather [${shape}] axis ${axis}`]);
        const alongShape = shape.map((d, i) => (i === axis ? 1 + Math.floor(r() * 5) : d));
        const along = feedOf(feeds, b.input("along", alongShape, "i32"), ints(alongShape));
        tols.set(b.takeAlongAxis(x, along, axis).id, [EXACT, "take_along_axis"]);
        const upd = feedOf(feeds, b.input("upd", alongShape), randomData(r, n(alongShape)));
        tols.set(b.scatterAdd(x, along, upd, axis).id, [EXACTISH, "scatter_add"]);
        b.output("x", x);
        await check(executor!, b.build(), feeds, tols);
      }),
      { numRuns: 20, seed: 12 },
    );
  });

  it("scatter_add into a table larger than its updates (the token-embedding gradient form) accumulates duplicates", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 6, max: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        async (rows, updates, post, seed) => {
          const r = rng(seed);
          const b = new GraphBuilder();
          const feeds = new Map<ValueId, Tensor>();
          // Few distinct indices, so that duplicates are common.
          const ids = Array.from({ length: updates * post }, () => Math.floor(r() * Math.min(rows, 4)));
          const base = feedOf(feeds, b.input("base", [rows, post]), randomData(r, rows * post));
          const idx = feedOf(feeds, b.input("idx", [updates, post], "i32"), Float64Array.from(ids));
          const upd = feedOf(feeds, b.input("upd", [updates, post]), randomData(r, updates * post));
          const tols = new Map<ValueId, [Tolerance, string]>();
          tols.set(b.scatterAdd(base, idx, upd, 0).id, [EXACTISH, `scatter_add [${rows}, ${post}]`]);
          await check(executor!, b.build(), feeds, tols);
        },
      ),
      { numRuns: 20, seed: 13 },
    );
  });

  it("a feed read back unchanged and an output that is a reshape of a feed", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const y = b.reshape(x, [3, 2]);
    b.output("y", y);
    const data = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const got = await executor!.evaluate(b.build(), new Map([[x.id, { shape: [2, 3], data }]]), [x.id, y.id]);
    expect([...got.get(y.id)!.data]).toEqual([...data]);
    expect(got.get(y.id)!.shape).toEqual([3, 2]);
  });
});
