// Every fn and loss of stdlib/losses.vlmp, lowered and run on the reference interpreter, against an
// independent Float64 implementation of its formula (reference-losses.ts) on random inputs.

import { describe, expect, it } from "vitest";
import type { DType } from "../../compiler/graph/ops.ts";
import { type Tensor, tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { moduleIr, run } from "./helpers.ts";
import * as ref from "./reference-losses.ts";

const ir = moduleIr("stdlib/losses.vlmp");
const TOL = 1e-9;

function gen(seed: number) {
  const r = rng(seed);
  const uniform = (shape: number[], lo = -2, hi = 2): Tensor =>
    tensor(
      shape,
      Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => lo + (hi - lo) * r()),
    );
  const ints = (shape: number[], hi: number, lo = 0): Tensor & { dtype: DType } => ({
    ...tensor(
      shape,
      Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => lo + Math.floor(r() * (hi - lo))),
    ),
    dtype: "i32",
  });
  return { uniform, ints };
}

const arr = (t: Tensor) => [...t.data];
const scalar = (t: Tensor) => {
  expect(t.shape).toEqual([]);
  return t.data[0]!;
};
const close = (a: number, e: number) => expectClose([a], [e], TOL, TOL);

/** Definitions covered below; the last test fails when losses.vlmp gains one that is not. */
const covered = new Set<string>();
function cover(name: string, seeds: number[], body: (seed: number) => void): void {
  covered.add(name);
  it(`${name} matches its formula`, () => {
    for (const seed of seeds) body(seed);
  });
}
const SEEDS = [1, 2, 3];

describe("stdlib/losses.vlmp lowered = the formulas of METHODS.md", () => {
  cover("losses.ce", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [n, c] = [5, 4];
    const logits = uniform([n, c], -3, 3);
    const labels = ints([n], c);
    for (const smoothing of [0, 0.1]) {
      const got = scalar(run(ir, "losses.ce", { logits, labels, smoothing }).value);
      close(got, ref.ce(arr(logits), arr(labels), n, c, smoothing));
    }
  });

  cover("losses.mc_ce", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [m, n, c] = [3, 4, 5];
    const logits = uniform([m, n, c], -3, 3);
    const labels = ints([n], c);
    close(
      scalar(run(ir, "losses.mc_ce", { logits, labels }).value),
      ref.mcCe(arr(logits), arr(labels), m, n, c),
    );
  });

  cover("losses.entropy_min", SEEDS, (seed) => {
    const logits = gen(seed).uniform([6, 3], -3, 3);
    close(scalar(run(ir, "losses.entropy_min", { logits }).value), ref.entropyMin(arr(logits), 6, 3));
  });

  cover("losses.ueo", SEEDS, (seed) => {
    const { uniform } = gen(seed);
    const [n, c] = [6, 4];
    const logits = uniform([n, c], -4, 4);
    const w = uniform([n], 0.05, 1);
    for (const lambda of [1, 0.5]) {
      const got = scalar(run(ir, "losses.ueo", { logits, w, lambda }).value);
      close(got, ref.ueo(arr(logits), arr(w), n, c, lambda));
    }
    // The default λ = 1.
    close(scalar(run(ir, "losses.ueo", { logits, w }).value), ref.ueo(arr(logits), arr(w), n, c));
  });

  cover("losses.infomax", SEEDS, (seed) => {
    const logits = gen(seed).uniform([5, 3], -3, 3);
    for (const lambda of [1, 2]) {
      close(
        scalar(run(ir, "losses.infomax", { logits, lambda }).value),
        ref.infomax(arr(logits), 5, 3, lambda),
      );
    }
  });

  cover("losses.ueo_weights", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [s, k] = [7, 4];
    const cos = uniform([s, k], -0.5, 0.5);
    const labels = ints([s], 6);
    for (const mode of ["zeroShotMSP", "uniform", "oracle"] as const) {
      for (const temperature of [1, 0.01]) {
        const got = run(ir, "losses.ueo_weights", {
          s: cos,
          labels,
          mode: { symbol: mode },
          temperature,
        }).value;
        expect(got.shape).toEqual([s]);
        expectClose(got.data, ref.ueoWeights(arr(cos), arr(labels), s, k, mode, temperature), TOL, TOL);
      }
    }
  });

  cover("losses.supcon", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [n, e] = [6, 3];
    const features = uniform([n, e]);
    const labels = ints([n], 3);
    for (const temperature of [0.07, 0.5]) {
      const got = scalar(run(ir, "losses.supcon", { features, labels, temperature }).value);
      close(got, ref.supcon(arr(features), arr(labels), n, e, temperature));
    }
  });

  cover("losses.infonce", SEEDS, (seed) => {
    const { uniform } = gen(seed);
    const [n, p, k, e] = [3, 2, 4, 5];
    const [anchor, positives, negatives] = [uniform([n, e]), uniform([n, p, e]), uniform([n, k, e])];
    for (const temperature of [1, 0.3]) {
      const got = scalar(run(ir, "losses.infonce", { anchor, positives, negatives, temperature }).value);
      close(got, ref.infonce(arr(anchor), arr(positives), arr(negatives), n, p, k, e, temperature));
    }
  });

  cover("losses.clip_contrastive", SEEDS, (seed) => {
    const { uniform } = gen(seed);
    const [image, text] = [uniform([4, 3]), uniform([4, 3])];
    for (const scale of [100, 10]) {
      const got = scalar(run(ir, "losses.clip_contrastive", { image, text, scale }).value);
      close(got, ref.clipContrastive(arr(image), arr(text), 4, 3, scale));
    }
  });

  cover("losses.clip_pairs", SEEDS, (seed) => {
    const { uniform } = gen(seed);
    // Logits at CLIP's scale and at a small one (the diagonal is the pair).
    for (const scale of [20, 1]) {
      const logits = uniform([5, 5], -scale, scale);
      const got = scalar(run(ir, "losses.clip_pairs", { logits }).value);
      close(got, ref.clipPairs(arr(logits), 5));
    }
  });

  cover("losses.kl_standard_normal", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [c, e, t] = [6, 3, 3];
    const [mu, sigma] = [uniform([c, e]), uniform([c, e], 0.2, 2)];
    const taskOf = ints([c], 2); // task 2 has no classes: its mean divides by max(0, 1)
    const active = tensor([t], [1, 0, 1]);
    const got = scalar(run(ir, "losses.kl_standard_normal", { mu, sigma, task_of: taskOf, active }).value);
    close(got, ref.klStandardNormal(arr(mu), arr(sigma), arr(taskOf), arr(active), c, e));
  });

  cover("losses.language_aware", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const [c, p, m, e, t] = [5, 2, 3, 4, 2];
    const [h, z] = [uniform([c, p, e]), uniform([m, c, e])];
    const taskOf = ints([c], t);
    const active = tensor([t], [1, 1]);
    const got = scalar(run(ir, "losses.language_aware", { h, z, task_of: taskOf, active }).value);
    close(got, ref.languageAware(arr(h), arr(z), arr(taskOf), arr(active), c, p, m, e));
  });

  cover("losses.clap4clip", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const s = { m: 3, n: 4, c: 4, e: 3, p: 2 };
    const t = 2;
    const a = {
      logits: uniform([s.m, s.n, s.c], -3, 3),
      labels: ints([s.n], s.c),
      mu: uniform([s.c, s.e]),
      sigma: uniform([s.c, s.e], 0.2, 2),
      z: uniform([s.m, s.c, s.e]),
      templates: uniform([s.c, s.p, s.e]),
      taskOf: ints([s.c], t),
      active: tensor([t], [1, 1]),
    };
    const got = scalar(
      run(ir, "losses.clap4clip", {
        logits: a.logits,
        labels: a.labels,
        mu: a.mu,
        sigma: a.sigma,
        z: a.z,
        templates: a.templates,
        task_of: a.taskOf,
        active: a.active,
        kl_weight: 0.001,
        language_weight: 15,
      }).value,
    );
    const plain = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, arr(v)])) as unknown as Parameters<
      typeof ref.clap4clip
    >[0];
    close(got, ref.clap4clip(plain, s));
  });

  cover("losses.mc_mean", SEEDS, (seed) => {
    const logits = gen(seed).uniform([3, 4, 5]);
    const got = run(ir, "losses.mc_mean", { logits }).value;
    expect(got.shape).toEqual([4, 5]);
    expectClose(got.data, ref.mcMean(arr(logits), 3, 4, 5), TOL, TOL);
  });

  cover("losses.tsc", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const s = { n: 4, e: 3, q: 5, k: 2 };
    const a = {
      q: uniform([s.n, s.e]),
      labels: ints([s.n], 2),
      queue: uniform([s.q, s.e]),
      queueLabels: ints([s.q], 2, -1), // −1: an empty slot
      targets: uniform([s.k, s.e]),
      assigned: ints([2], 2),
    };
    for (const [temperature, targetWeight] of [
      [0.07, 0.2],
      [0.5, 1],
    ] as const) {
      const got = scalar(
        run(ir, "losses.tsc", {
          q: a.q,
          labels: a.labels,
          queue: a.queue,
          queue_labels: a.queueLabels,
          targets: a.targets,
          assigned: a.assigned,
          temperature,
          target_weight: targetWeight,
        }).value,
      );
      const plain = Object.fromEntries(
        Object.entries(a).map(([k, v]) => [k, arr(v)]),
      ) as unknown as Parameters<typeof ref.tsc>[0];
      close(got, ref.tsc(plain, s, temperature, targetWeight));
    }
  });

  cover("losses.cfr", SEEDS, (seed) => {
    const { uniform, ints } = gen(seed);
    const s = { n: 3, c: 2, e: 3, p: 2, k: 2, w: 4, b: 4, q: 5 };
    const a = {
      calLogits: uniform([s.n, s.c], -3, 3),
      calLabels: ints([s.n], s.c),
      calFeatures: uniform([s.n, s.e]),
      positives: uniform([s.n, s.p, s.w]),
      negatives: uniform([s.n, s.k, s.w]),
      proj: uniform([s.e, s.w]),
      features: uniform([s.b, s.e]),
      labels: ints([s.b], s.c),
      queue: uniform([s.q, s.e]),
      queueLabels: ints([s.q], s.c, -1),
      targets: uniform([s.c, s.e]),
      assigned: ints([s.c], s.c),
    };
    const plain = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, arr(v)])) as unknown as Parameters<
      typeof ref.cfr
    >[0];
    for (const [epoch, mode] of [
      [3, "cosine"],
      [0, "constant"],
    ] as const) {
      const got = scalar(
        run(ir, "losses.cfr", {
          cal_logits: a.calLogits,
          cal_labels: a.calLabels,
          cal_features: a.calFeatures,
          positives: a.positives,
          negatives: a.negatives,
          proj: a.proj,
          features: a.features,
          labels: a.labels,
          queue: a.queue,
          queue_labels: a.queueLabels,
          targets: a.targets,
          assigned: a.assigned,
          epoch,
          epochs: 10,
          weight_mode: { symbol: mode },
        }).value,
      );
      close(got, ref.cfr(plain, s, epoch, 10, mode));
    }
  });

  cover("losses.cfr_weight", [0], () => {
    for (const mode of ["cosine", "constant"] as const) {
      for (const epoch of [0, 2, 5]) {
        const got = scalar(run(ir, "losses.cfr_weight", { epoch, epochs: 10, mode: { symbol: mode } }).value);
        close(got, ref.cfrWeight(epoch, 10, mode));
      }
    }
  });

  for (const [name, f] of [
    ["losses.misclassified", ref.misclassified],
    ["losses.correct", ref.correct],
  ] as const) {
    cover(name, SEEDS, (seed) => {
      const { uniform, ints } = gen(seed);
      const logits = uniform([6, 3]);
      const labels = ints([6], 3);
      const got = run(ir, name, { logits, labels }).value;
      expectClose(got.data, f(arr(logits), arr(labels), 6, 3), 0);
    });
  }

  it("covers every fn and loss of losses.vlmp", () => {
    const all = Object.entries(ir.definitions)
      .filter(([k, d]) => k.startsWith("losses.") && (d.kind === "fn" || d.kind === "loss"))
      .map(([k]) => k);
    expect(all.filter((k) => !covered.has(k))).toEqual([]);
  });
});
