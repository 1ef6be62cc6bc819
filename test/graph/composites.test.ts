// Composites equal their textbook definitions, carry their fusion tags, and differentiate
// correctly, through their hand-written rules where they have one and through primitives otherwise.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import {
  attention,
  cosineSimilarity,
  crossEntropy,
  entropy,
  gelu,
  l2Normalize,
  layerNorm,
  logSoftmax,
  logsumexp,
  quickGelu,
  softmax,
} from "../../compiler/graph/composites.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { erf } from "../../runtime/reference/elementwise.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { checkGradients, expectClose, randInt, randomTensor, rng } from "./helpers.ts";

/** Rows of a row-major [n, d] array. */
function rows(data: ArrayLike<number>, d: number): number[][] {
  return Array.from({ length: data.length / d }, (_, i) =>
    Array.from({ length: d }, (_, j) => data[i * d + j]!),
  );
}

function run(b: GraphBuilder, feeds: [Value, Tensor][], out: Value): Float64Array {
  const g = b.build();
  verifyGraph(g);
  return evaluate(g, new Map(feeds.map(([v, t]) => [v.id, t]))).get(out.id)!.data;
}

describe("composites match their definitions", () => {
  it("softmax rows are positive and sum to 1, and match exp(x)/sum exp(x)", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      const [n, d] = [randInt(r, 1, 5), randInt(r, 1, 6)];
      const b = new GraphBuilder();
      const x = b.input("x", [n, d]);
      const xt = randomTensor(r, [n, d], -30, 30);
      const y = run(b, [[x, xt]], softmax(b, x));
      rows(y, d).forEach((row, i) => {
        expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
        const xs = rows(xt.data, d)[i]!;
        const z = xs.reduce((s, v) => s + Math.exp(v), 0);
        expectClose(
          row,
          xs.map((v) => Math.exp(v) / z),
          1e-12,
          1e-9,
        );
      });
    }
  });

  it("log_softmax and logsumexp agree with log of softmax and log sum exp", () => {
    const r = rng(3);
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4]);
    const xt = randomTensor(r, [3, 4], -5, 5);
    const ls = logSoftmax(b, x, 1);
    const lse = logsumexp(b, x, [1]);
    const sm = softmax(b, x, 1);
    const values = evaluate(b.build(), new Map([[x.id, xt]]));
    expectClose(values.get(ls.id)!.data, values.get(sm.id)!.data.map(Math.log), 1e-12);
    const expected = rows(xt.data, 4).map((row) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)));
    expectClose(values.get(lse.id)!.data, expected, 1e-12);
  });

  it("layernorm output has zero mean and unit variance before the affine part", () => {
    const r = rng(4);
    const b = new GraphBuilder();
    const x = b.input("x", [4, 8]);
    const y = run(b, [[x, randomTensor(r, [4, 8], -3, 7)]], layerNorm(b, x, undefined, undefined, 0));
    for (const row of rows(y, 8)) {
      const mean = row.reduce((s, v) => s + v, 0) / 8;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / 8;
      expect(mean).toBeCloseTo(0, 12);
      expect(variance).toBeCloseTo(1, 10);
    }
  });

  it("attention equals softmax(Q K^T / sqrt d + mask) V", () => {
    const r = rng(5);
    const [lq, lk, d, dv] = [3, 4, 5, 2];
    const b = new GraphBuilder();
    const q = b.input("q", [2, lq, d]);
    const k = b.input("k", [2, lk, d]);
    const v = b.input("v", [2, lk, dv]);
    const maskData = Array.from({ length: lq * lk }, (_, i) => (i % lk === 0 || r() < 0.6 ? 1 : 0));
    const mask = b.constant(maskData, [lq, lk], "bool");
    const [qt, kt, vt] = [randomTensor(r, q.shape), randomTensor(r, k.shape), randomTensor(r, v.shape)];
    for (const causal of [false, true]) {
      const out = attention(b, q, k, v, { mask, causal });
      const y = run(
        b,
        [
          [q, qt],
          [k, kt],
          [v, vt],
        ],
        out,
      );
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < lq; i++) {
          const keep = (j: number) => maskData[i * lk + j] === 1 && (!causal || j <= i);
          const s = Array.from({ length: lk }, (_, j) => {
            let dot = 0;
            for (let c = 0; c < d; c++)
              dot += qt.data[(h * lq + i) * d + c]! * kt.data[(h * lk + j) * d + c]!;
            return keep(j) ? dot / Math.sqrt(d) : -Infinity;
          });
          const m = Math.max(...s);
          const e = s.map((x) => Math.exp(x - m));
          const z = e.reduce((acc, x) => acc + x, 0);
          for (let c = 0; c < dv; c++) {
            const want = e.reduce((acc, p, j) => acc + (p / z) * vt.data[(h * lk + j) * dv + c]!, 0);
            expect(y[(h * lq + i) * dv + c]).toBeCloseTo(want, 12);
          }
        }
      }
    }
  });

  it("gelu, quick_gelu, entropy, l2_normalize and cosine similarity follow their formulas", () => {
    const r = rng(6);
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4]);
    const y = b.input("y", [3, 4]);
    const [xt, yt] = [randomTensor(r, [3, 4], -3, 3), randomTensor(r, [3, 4], 0.01, 1)];
    const outs = {
      gelu: gelu(b, x),
      quick: quickGelu(b, x),
      ent: entropy(b, y, 1, 1e-8),
      norm: l2Normalize(b, x),
      cos: cosineSimilarity(b, x, y),
    };
    const vals = evaluate(
      b.build(),
      new Map([
        [x.id, xt],
        [y.id, yt],
      ]),
    );
    const get = (v: Value) => vals.get(v.id)!.data;
    const xs = Array.from(xt.data);
    expectClose(
      get(outs.gelu),
      xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      1e-14,
    );
    expectClose(
      get(outs.quick),
      xs.map((v) => v / (1 + Math.exp(-1.702 * v))),
      1e-14,
    );
    expectClose(
      get(outs.ent),
      rows(yt.data, 4).map((p) => -p.reduce((s, v) => s + v * Math.log(v + 1e-8), 0)),
      1e-12,
    );
    const xr = rows(xt.data, 4);
    const yr = rows(yt.data, 4);
    const len = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0));
    expectClose(
      get(outs.norm),
      xr.flatMap((row) => row.map((e) => e / len(row))),
      1e-14,
    );
    const cos = xr.map((row, i) => row.reduce((s, e, j) => s + e * yr[i]![j]!, 0) / (len(row) * len(yr[i]!)));
    expectClose(get(outs.cos), cos, 1e-14);
  });

  it("cross-entropy with label smoothing is (1 - e) nll + e mean(-log p)", () => {
    const r = rng(7);
    const [n, c, eps] = [5, 4, 0.1];
    const b = new GraphBuilder();
    const logits = b.input("logits", [n, c]);
    const labels = b.input("labels", [n], "i32");
    const lt = randomTensor(r, [n, c], -3, 3);
    const yt = { shape: [n], data: Float64Array.from({ length: n }, () => randInt(r, 0, c - 1)) };
    const loss = run(
      b,
      [
        [logits, lt],
        [labels, yt],
      ],
      crossEntropy(b, logits, labels, { labelSmoothing: eps }),
    );
    const want =
      rows(lt.data, c)
        .map((row, i) => {
          const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
          const logp = row.map((v) => v - lse);
          return -(1 - eps) * logp[yt.data[i]!]! - (eps / c) * logp.reduce((s, v) => s + v, 0);
        })
        .reduce((s, v) => s + v, 0) / n;
    expect(loss[0]).toBeCloseTo(want, 12);
  });

  it("tags every node of a call with one composite id and records the call", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const y = softmax(b, x);
    const z = attention(b, x, x, x, { causal: true });
    const g = b.build();
    const tagged = (id: number) => g.nodes.filter((n) => n.composite?.id === id);
    expect(g.composites.map((c) => c.kind)).toEqual(["softmax", "attention"]);
    expect(tagged(0).map((n) => n.id)).toContain(y.id);
    // The softmax inside attention belongs to the attention call, which is what fuses.
    expect(new Set(tagged(1).map((n) => n.composite?.kind))).toEqual(new Set(["attention"]));
    expect(tagged(1).map((n) => n.id)).toContain(z.id);
    expect(g.composites[1]!.saved["probs"]).toBeDefined();
  });
});

describe("composite gradients", () => {
  const cases: Record<string, (b: GraphBuilder, p: (shape: number[]) => Value, r: () => number) => Value> = {
    softmax: (b, p) => softmax(b, p([3, 5]), 0),
    log_softmax: (b, p) => logSoftmax(b, p([3, 5])),
    logsumexp: (b, p) => logsumexp(b, p([3, 5]), [0, 1]),
    layernorm: (b, p) => layerNorm(b, p([2, 3, 6]), p([6]), p([6])),
    layernorm_plain: (b, p) => layerNorm(b, p([4, 5])),
    gelu: (b, p) => gelu(b, p([7])),
    quick_gelu: (b, p) => quickGelu(b, p([7])),
    attention: (b, p) => attention(b, p([2, 3, 4]), p([2, 5, 4]), p([2, 5, 3])),
    attention_masked: (b, p) => {
      const mask = b.constant([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1], [3, 4], "bool");
      return attention(b, p([2, 3, 2]), p([1, 4, 2]), p([2, 4, 3]), { mask, causal: true, scale: 0.7 });
    },
    cross_entropy: (b, p, r) => {
      const labels = b.constant([randInt(r, 0, 3), randInt(r, 0, 3), randInt(r, 0, 3)], [3], "i32");
      return crossEntropy(b, p([3, 4]), labels, { labelSmoothing: 0.2 });
    },
    entropy: (b, p) => entropy(b, softmax(b, p([3, 4])), -1, 1e-6),
    cosine_similarity: (b, p) => cosineSimilarity(b, p([3, 4]), p([4])),
    l2_normalize: (b, p) => l2Normalize(b, p([3, 4]), 0),
  };
  for (const [name, make] of Object.entries(cases)) {
    it(name, () => {
      for (let seed = 1; seed <= 3; seed++) {
        const r = rng(seed * 31 + name.length);
        const b = new GraphBuilder();
        const params: { value: Value; data: Tensor }[] = [];
        const p = (shape: number[]) => {
          const value = b.param(`p${params.length}`, shape);
          params.push({ value, data: randomTensor(r, shape, -2, 2) });
          return value;
        };
        checkGradients(b, params, make(b, p, r), seed);
      }
    });
  }

  it("hand-written rules stand in for the internals, which get no gradient nodes", () => {
    const b = new GraphBuilder();
    const x = b.param("x", [2, 3]);
    const y = softmax(b, x);
    const loss = b.sum(b.mul(y, y));
    const forward = b.build();
    const { graph } = gradients(forward, loss.id);
    const before = new Set(forward.nodes.map((n) => n.id));
    const added = graph.nodes.filter((n) => !before.has(n.id));
    // The rule y (g - sum(g y)) never differentiates exp or max.
    expect(added.some((n) => n.op === "exp" || n.op === "eq")).toBe(false);
  });

  it("falls back to primitives when an internal value is used outside the composite", () => {
    const b = new GraphBuilder();
    const x = b.param("x", [2, 3]);
    const y = layerNorm(b, x);
    const record = b.build().composites[0]!;
    const xhat = b.node(record.saved["xhat"]!);
    const r = rng(9);
    checkGradients(b, [{ value: x, data: randomTensor(r, [2, 3]) }], b.add(y, b.mul(xhat, xhat)), 9);
  });
});
