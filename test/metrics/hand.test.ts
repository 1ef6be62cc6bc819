// Metrics of METHODS §6 against cases computed by hand, ties and degenerate inputs included.

import { describe, expect, it } from "vitest";
import {
  accuracy,
  adjustedAverage,
  aupr,
  auroc,
  averageAccuracy,
  backwardTransfer,
  baseNovel,
  binOf,
  ece,
  eceFrom,
  forgetting,
  fpr95,
  harmonicMean,
  hm,
  hmOfMeans,
  knownMask,
  lastAccuracies,
  lastAccuracy,
  MetricInputError,
  macroF1,
  matrix,
  meanOfHms,
  oodScores,
  perClassAccuracy,
  perGroupAccuracy,
  predictions,
  reliabilityDiagram,
  taskAwareAccuracy,
  WATERBIRDS_TRAIN_COUNTS,
  worstGroupAccuracy,
} from "../../runtime/metrics/index.ts";

describe("predictions and accuracy (§6.1, §6.2)", () => {
  it("argmax ties go to the lowest class index", () => {
    const m = matrix([
      [1, 1, 0],
      [0, 2, 2],
      [3, 3, 3],
      [-1, -2, -1],
    ]);
    expect([...predictions(m)]).toEqual([0, 1, 0, 0]);
    expect(accuracy(m, [0, 1, 0, 0]).value).toBe(1);
    expect(accuracy(m, [1, 2, 2, 2]).value).toBe(0);
  });

  it("top-k uses the same tie rule", () => {
    const m = matrix([[1, 1, 1]]);
    expect(accuracy(m, [2], { top: 2 }).value).toBe(0);
    expect(accuracy(m, [2], { top: 3 }).value).toBe(1);
    expect(accuracy(m, [1], { top: 2 }).value).toBe(1);
  });

  it("restricting to the first K classes (known-class argmax)", () => {
    const m = matrix([
      [1, 2, 5],
      [3, 1, 0],
    ]);
    expect([...predictions(m, 2)]).toEqual([1, 0]);
    expect(accuracy(m, [1, 0], { classes: 2 }).value).toBe(1);
  });

  it("per-class mean accuracy skips empty classes with a warning", () => {
    // labels 0,0,0,1; predictions 0,0,1,1 → class 0: 2/3, class 1: 1; class 2 has no samples.
    const m = matrix([
      [1, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(accuracy(m, [0, 0, 0, 1]).value).toBe(0.75);
    const pacc = perClassAccuracy(m, [0, 0, 0, 1]);
    expect(pacc.value).toBeCloseTo(5 / 6, 15);
    expect(pacc.warnings).toHaveLength(1);
    expect(pacc.warnings[0]!.code).toBe("missing-class");
    expect(perClassAccuracy(m, [0, 0, 0, 1], { classes: 2 }).warnings).toEqual([]);
  });

  it("empty input gives NaN with a warning, never a throw", () => {
    const m = { data: new Float32Array(0), rows: 0, cols: 3 };
    const a = accuracy(m, []);
    expect(a.value).toBeNaN();
    expect(a.warnings[0]!.code).toBe("empty");
    expect(perClassAccuracy(m, []).value).toBeNaN();
    expect(ece(m, []).value).toBeNaN();
  });

  it("labels outside the classes are an input error", () => {
    expect(() => accuracy(matrix([[1, 0]]), [2])).toThrow(MetricInputError);
    expect(() => accuracy(matrix([[1, 0]]), [0, 1])).toThrow(/labels has 2 entries/);
  });

  it("task-aware accuracy masks logits to the true task", () => {
    // classes 0,1 in task 0, classes 2,3 in task 1
    const m = matrix([
      [0, 1, 5, 0], // y=1: TaW argmax over {0,1} → 1 (correct); plain argmax → 2
      [9, 0, 1, 2], // y=3: over {2,3} → 3 (correct)
      [0, 0, 1, 1], // y=3: over {2,3} tie → 2 (wrong)
    ]);
    expect(taskAwareAccuracy(m, [1, 3, 3], [0, 0, 1, 1]).value).toBeCloseTo(2 / 3, 15);
    expect(accuracy(m, [1, 3, 3]).value).toBe(0);
  });

  it("macro-F1 by hand", () => {
    // y = 0,0,1,1  p = 0,1,1,1 → F1_0 = 2/3, F1_1 = 4/5
    const m = matrix([
      [1, 0],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(macroF1(m, [0, 0, 1, 1]).value).toBeCloseTo((2 / 3 + 4 / 5) / 2, 15);
  });
});

describe("group metrics (§6.3)", () => {
  // Two classes, four groups (y, a) → g = 2y + a; per-group accuracies 1, 1/2, 1/4, 3/4.
  const rows: number[][] = [];
  const labels: number[] = [];
  const groups: number[] = [];
  const add = (y: number, a: number, right: number, total: number) => {
    for (let i = 0; i < total; i++) {
      const pred = i < right ? y : 1 - y;
      rows.push(pred === 0 ? [1, 0] : [0, 1]);
      labels.push(y);
      groups.push(2 * y + a);
    }
  };
  add(0, 0, 2, 2);
  add(0, 1, 1, 2);
  add(1, 0, 1, 4);
  add(1, 1, 3, 4);
  const m = matrix(rows);

  it("per-group, worst-group and the Waterbirds adjusted average", () => {
    const pg = perGroupAccuracy(m, labels, groups);
    expect(pg.accuracies).toEqual([1, 0.5, 0.25, 0.75]);
    expect(pg.counts).toEqual([2, 2, 4, 4]);
    expect(worstGroupAccuracy(pg).value).toBe(0.25);
    const adjusted = adjustedAverage(pg, WATERBIRDS_TRAIN_COUNTS);
    expect(adjusted.value).toBeCloseTo((3498 * 1 + 184 * 0.5 + 56 * 0.25 + 1057 * 0.75) / 4795, 15);
    expect(accuracy(m, labels).value).toBe(7 / 12);
  });

  it("empty groups are skipped with a warning; none left → NaN", () => {
    const pg = perGroupAccuracy(m, labels, groups, { groupCount: 6 });
    expect(pg.accuracies.slice(4).every(Number.isNaN)).toBe(true);
    const wga = worstGroupAccuracy(pg);
    expect(wga.value).toBe(0.25);
    expect(wga.warnings[0]!.code).toBe("empty-group");
    const none = worstGroupAccuracy(perGroupAccuracy(matrix([]), [], [], { groupCount: 4 }));
    expect(none.value).toBeNaN();
    expect(none.warnings.some((w) => w.code === "empty")).toBe(true);
    const adj = adjustedAverage(pg, [...WATERBIRDS_TRAIN_COUNTS, 1, 0]);
    expect(adj.value).toBeNaN();
    expect(adj.warnings[0]!.code).toBe("empty-group");
  });
});

describe("scores (msp, energy, max_logit with temperature)", () => {
  const m = matrix([
    [2, 0, 0],
    [1, 1, 1],
  ]);
  it("by hand", () => {
    const e2 = Math.exp(2);
    expect(oodScores(m, { score: "msp" })[0]).toBeCloseTo(e2 / (e2 + 2), 15);
    expect(oodScores(m, { score: "msp" })[1]).toBeCloseTo(1 / 3, 15);
    expect(oodScores(m, { score: "energy" })[0]).toBeCloseTo(Math.log(e2 + 2), 14);
    expect(oodScores(m, { score: "energy" })[1]).toBeCloseTo(1 + Math.log(3), 14);
    expect(oodScores(m, { score: "max_logit" })[0]).toBe(2);
    // temperature 2: msp over ℓ/2; energy = 2·logsumexp(ℓ/2)
    expect(oodScores(m, { score: "msp", temperature: 2 })[0]).toBeCloseTo(Math.E / (Math.E + 2), 15);
    expect(oodScores(m, { score: "energy", temperature: 2 })[0]).toBeCloseTo(2 * Math.log(Math.E + 2), 14);
    // restricted to the first 2 classes
    expect(oodScores(m, { score: "msp", classes: 2 })[1]).toBeCloseTo(0.5, 15);
    expect([...knownMask([0, 3, 1, 5], 2)]).toEqual([1, 0, 1, 0]);
  });
});

describe("AUROC (§6.4)", () => {
  it("ties count one half (Mann–Whitney)", () => {
    // positives 0.9, 0.5, 0.5; negatives 0.5, 0.1 → pairs: 1,1, .5,1, .5,1 → 5/6
    expect(auroc([0.9, 0.5, 0.5, 0.5, 0.1], [1, 1, 1, 0, 0]).value).toBeCloseTo(5 / 6, 15);
    expect(auroc([1, 1, 1, 1], [1, 0, 1, 0]).value).toBe(0.5);
    expect(auroc([3, 2, 1], [true, false, false]).value).toBe(1);
    expect(auroc([3, 2, 1], [false, true, true]).value).toBe(0);
  });
  it("one class only → NaN with a warning", () => {
    const r = auroc([1, 2, 3], [1, 1, 1]);
    expect(r.value).toBeNaN();
    expect(r.warnings).toEqual([expect.objectContaining({ metric: "auroc", code: "one-class" })]);
    expect(auroc([], []).value).toBeNaN();
  });
  it("NaN scores are an error", () => {
    expect(() => auroc([1, Number.NaN], [1, 0])).toThrow(MetricInputError);
  });
});

describe("AUPR (§6.6)", () => {
  it("step-wise average precision by hand, with a tie", () => {
    // 0.9 +, 0.8 −, 0.7 + and −, 0.1 + → (1/3)·1 + 0 + (1/3)·(2/4) + (1/3)·(3/5) = 0.7
    expect(aupr([0.9, 0.8, 0.7, 0.7, 0.1], [1, 0, 1, 0, 1]).value).toBeCloseTo(0.7, 15);
    expect(aupr([1, 2], [1, 1]).value).toBe(1);
  });
  it("no positives → NaN with a warning", () => {
    const r = aupr([1, 2], [0, 0]);
    expect(r.value).toBeNaN();
    expect(r.warnings[0]!.code).toBe("no-positives");
  });
});

describe("FPR at 95 % TPR (§6.5)", () => {
  it("atLeast: the largest threshold with TPR ≥ 0.95", () => {
    // 20 positives 1..20; negatives 0.5, 1.5, 2.5, 25: TPR(2) = 19/20 → negatives ≥ 2: 2.5, 25.
    // closest: TPR 19/20 also at t = 1.5, the lower threshold wins → negatives ≥ 1.5: 1.5, 2.5, 25.
    const pos = Array.from({ length: 20 }, (_, i) => i + 1);
    const scores = [...pos, 0.5, 1.5, 2.5, 25];
    const mask = scores.map((_, i) => (i < 20 ? 1 : 0));
    expect(fpr95(scores, mask).value).toBe(0.5);
    expect(fpr95(scores, mask, { mode: "closest" }).value).toBe(0.75);
  });
  it("atLeast and closest differ when no threshold hits 0.95", () => {
    // 10 positives 1..10; negatives 0.5, 1 (tied with a positive), 20. TPR 0.9 at t = 2 (closer to 0.95),
    // 1.0 at t = 1 (the largest with TPR ≥ 0.95, counting the tied negative).
    const scores = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5, 1, 20];
    const mask = scores.map((_, i) => (i < 10 ? 1 : 0));
    expect(fpr95(scores, mask).value).toBeCloseTo(2 / 3, 15);
    expect(fpr95(scores, mask, { mode: "closest" }).value).toBeCloseTo(1 / 3, 15);
  });
  it("closest: ties go to the lowest threshold (as np.argmin in the energy-OOD code)", () => {
    // positives 4, 2, 2, 1; negatives 3, 1.5; level 0.5: TPR 0.25 at t=4,3 and 0.75 at t=2,1.5 tie → t=1.5
    const scores = [4, 2, 2, 1, 3, 1.5];
    const mask = [1, 1, 1, 1, 0, 0];
    expect(fpr95(scores, mask, { mode: "closest", recall: 0.5 }).value).toBe(1);
    expect(fpr95(scores, mask, { mode: "atLeast", recall: 0.5 }).value).toBe(0.5);
  });
  it("either class absent → NaN with a warning", () => {
    expect(fpr95([1, 2], [1, 1]).value).toBeNaN();
    expect(fpr95([1, 2], [0, 0]).warnings[0]!.code).toBe("one-class");
  });
});

describe("ECE (§6.7)", () => {
  it("bin edges: left-closed, 1.0 in the last bin", () => {
    for (let k = 0; k < 15; k++) expect(binOf(k / 15, 15)).toBe(k);
    for (let k = 1; k < 15; k++) expect(binOf(k / 15 - 1e-12, 15)).toBe(k - 1);
    expect(binOf(1, 15)).toBe(14);
    expect(binOf(0, 15)).toBe(0);
  });
  it("pooled by hand", () => {
    // 0.9, 0.9 (1 of 2 right) → |0.5 − 0.9|·2/4; 0.6, 0.6 (both right) → |1 − 0.6|·2/4 → 0.4
    expect(eceFrom([0.9, 0.9, 0.6, 0.6], [1, 0, 1, 1]).value).toBeCloseTo(0.4, 15);
  });
  it("per batch: the unweighted mean of batch ECEs", () => {
    const conf = [0.9, 0.9, 0.6, 0.6];
    const correct = [1, 1, 1, 0];
    expect(eceFrom(conf, correct).value).toBeCloseTo(0.1, 15);
    // batches of 3 and 1: (0.1·2/3 + 0.4/3) = 0.2, then |0 − 0.6| = 0.6 → mean 0.4
    expect(eceFrom(conf, correct, { mode: "perBatch", batch: 3 }).value).toBeCloseTo(0.4, 15);
    expect(eceFrom(conf, correct, { mode: "perBatch", batch: [3, 1] }).value).toBeCloseTo(0.4, 15);
    expect(() => eceFrom(conf, correct, { mode: "perBatch", batch: [2, 1] })).toThrow(MetricInputError);
  });
  it("from logits, with the reliability diagram", () => {
    const m = matrix([
      [Math.log(9), 0],
      [0, Math.log(9)],
      [0, 0],
    ]); // confidences 0.9, 0.9, 0.5
    const d = reliabilityDiagram(m, [0, 0, 0]);
    expect(d.bins).toHaveLength(15);
    expect(d.bins[13]).toMatchObject({ count: 2, accuracy: 0.5 });
    expect(d.bins[13]!.confidence).toBeCloseTo(0.9, 14);
    expect(d.bins[7]).toMatchObject({ count: 1, accuracy: 1, confidence: 0.5 });
    expect(d.ece).toBeCloseTo((2 / 3) * 0.4 + (1 / 3) * 0.5, 14);
    expect(ece(m, [0, 0, 0]).value).toBeCloseTo(d.ece, 15);
  });
});

describe("continual learning (§6.8)", () => {
  const a = [[0.9], [0.95, 0.8], [0.6, 0.5, 0.9]];
  it("Last, Avg, BwT and forgetting by hand", () => {
    expect(lastAccuracies(a)).toEqual([0.9, 0.875, expect.closeTo(2 / 3, 15)]);
    expect(lastAccuracy(a).value).toBeCloseTo(2 / 3, 15);
    expect(averageAccuracy(a).value).toBeCloseTo((0.9 + 0.875 + 2 / 3) / 3, 15);
    expect(backwardTransfer(a).value).toBeCloseTo(-0.3, 15);
    // k=1: max(0.9 − 0.6, 0.95 − 0.6) = 0.35; k=2: 0.8 − 0.5 = 0.3 → 0.325
    expect(forgetting(a).value).toBeCloseTo(0.325, 15);
  });
  it("T = 1: BwT and forgetting are NaN with a warning", () => {
    expect(backwardTransfer([[0.7]]).value).toBeNaN();
    expect(forgetting([[0.7]]).warnings[0]!.code).toBe("single-task");
    expect(lastAccuracy([[0.7]]).value).toBe(0.7);
    expect(averageAccuracy([]).value).toBeNaN();
  });
  it("a short row is an input error", () => {
    expect(() => lastAccuracies([[0.9], [0.8]])).toThrow(MetricInputError);
  });
});

describe("harmonic means (§6.9)", () => {
  it("HM, base/novel and both across-dataset conventions", () => {
    expect(hm(0.8, 0.6)).toBeCloseTo(0.96 / 1.4, 15);
    expect(hm(0, 0)).toBe(0);
    expect(baseNovel(0.8, 0.6)).toEqual({ base: 0.8, novel: 0.6, hm: hm(0.8, 0.6) });
    const d = [
      { base: 0.9, novel: 0.1 },
      { base: 0.5, novel: 0.5 },
    ];
    expect(meanOfHms(d).value).toBeCloseTo((0.18 + 0.5) / 2, 15); // (0.34)
    expect(hmOfMeans(d).value).toBeCloseTo(hm(0.7, 0.3), 15); // 0.42
    expect(meanOfHms([]).value).toBeNaN();
    expect(harmonicMean(0.7, Number.NaN).value).toBeNaN();
    expect(harmonicMean(0.7, Number.NaN).warnings).toHaveLength(1);
  });
});
