// Properties of the metrics (fast-check): AUROC(s) + AUROC(−s) = 1, invariance of the threshold metrics under
// strictly increasing transforms, AUROC = the pair-counting definition = the trapezoidal ROC area, a perfect
// predictor has accuracy 1, perfectly calibrated bins have ECE 0.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  accuracy,
  aupr,
  auroc,
  binOf,
  eceFrom,
  fpr95,
  perClassAccuracy,
  perGroupAccuracy,
  worstGroupAccuracy,
} from "../../runtime/metrics/index.ts";
import { thresholdPoints } from "../../runtime/metrics/ranking.ts";

/** Scores from a small integer range (many ties) with a positive mask holding both classes. */
const labelled = fc
  .array(fc.tuple(fc.integer({ min: -6, max: 6 }), fc.boolean()), { minLength: 2, maxLength: 60 })
  .filter((xs) => xs.some(([, p]) => p) && xs.some(([, p]) => !p))
  .map((xs) => ({ scores: xs.map(([s]) => s), positive: xs.map(([, p]) => p) }));

const monotone: ((x: number) => number)[] = [
  (x) => 3 * x + 7,
  (x) => x ** 3,
  (x) => Math.exp(x / 2),
  (x) => Math.atan(x),
];

describe("AUROC, AUPR, FPR95 properties", () => {
  it("AUROC(s) + AUROC(−s) = 1", () => {
    fc.assert(
      fc.property(labelled, ({ scores, positive }) => {
        const a = auroc(scores, positive).value;
        const b = auroc(
          scores.map((s) => -s),
          positive,
        ).value;
        expect(a + b).toBeCloseTo(1, 12);
      }),
    );
  });

  it("AUROC equals P(s⁺ > s⁻) + ½·P(s⁺ = s⁻) and the trapezoidal ROC area", () => {
    fc.assert(
      fc.property(labelled, ({ scores, positive }) => {
        let pairs = 0;
        let wins = 0;
        scores.forEach((sp, i) => {
          if (!positive[i]) return;
          scores.forEach((sn, j) => {
            if (positive[j]) return;
            pairs++;
            wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
          });
        });
        const value = auroc(scores, positive).value;
        expect(value).toBeCloseTo(wins / pairs, 12);
        const P = positive.filter(Boolean).length;
        const N = scores.length - P;
        let area = 0;
        let tpr = 0;
        let fpr = 0;
        for (const p of thresholdPoints(scores, positive)) {
          area += ((p.fp / N - fpr) * (p.tp / P + tpr)) / 2;
          tpr = p.tp / P;
          fpr = p.fp / N;
        }
        expect(value).toBeCloseTo(area, 12);
      }),
    );
  });

  it("invariant under strictly increasing transforms", () => {
    fc.assert(
      fc.property(labelled, fc.constantFrom(...monotone), ({ scores, positive }, f) => {
        const t = scores.map(f);
        expect(auroc(t, positive).value).toBeCloseTo(auroc(scores, positive).value, 12);
        expect(aupr(t, positive).value).toBeCloseTo(aupr(scores, positive).value, 12);
        for (const mode of ["atLeast", "closest"] as const) {
          expect(fpr95(t, positive, { mode }).value).toBe(fpr95(scores, positive, { mode }).value);
        }
      }),
    );
  });

  it("values are fractions; perfectly separated scores give AUROC 1, AUPR 1, FPR95 0", () => {
    fc.assert(
      fc.property(labelled, ({ scores, positive }) => {
        for (const v of [
          auroc(scores, positive).value,
          aupr(scores, positive).value,
          fpr95(scores, positive).value,
        ]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
        const separated = positive.map((p, i) => (p ? 100 + i : -100 - i));
        expect(auroc(separated, positive).value).toBe(1);
        expect(aupr(separated, positive).value).toBeCloseTo(1, 14);
        expect(fpr95(separated, positive).value).toBe(0);
      }),
    );
  });
});

describe("accuracy and calibration properties", () => {
  const perfect = fc
    .record({
      classes: fc.integer({ min: 1, max: 8 }),
      n: fc.integer({ min: 1, max: 40 }),
      seed: fc.integer(),
    })
    .chain(({ classes, n }) =>
      fc.tuple(
        fc.constant(classes),
        fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: n, maxLength: n }),
        fc.array(fc.float({ min: -5, max: 5, noNaN: true }), {
          minLength: n * classes,
          maxLength: n * classes,
        }),
      ),
    );

  it("a perfect predictor has accuracy 1, per-class accuracy 1 and worst-group accuracy 1", () => {
    fc.assert(
      fc.property(perfect, ([classes, labels, noise]) => {
        const data = Float64Array.from(noise);
        labels.forEach((y, i) => {
          data[i * classes + y] = 10; // strictly above every other logit
        });
        const m = { data, rows: labels.length, cols: classes };
        expect(accuracy(m, labels).value).toBe(1);
        expect(perClassAccuracy(m, labels).value).toBe(1);
        expect(worstGroupAccuracy(perGroupAccuracy(m, labels, labels)).value).toBe(1);
      }),
    );
  });

  it("ECE of perfectly calibrated bins is 0", () => {
    // Each bin holds m samples at one confidence j/m with exactly j of them correct.
    const bin = fc
      .integer({ min: 1, max: 12 })
      .chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: 1, max: m })));
    fc.assert(
      fc.property(
        fc.array(bin, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 2, max: 30 }),
        (bins, B) => {
          const conf: number[] = [];
          const correct: number[] = [];
          for (const [m, j] of bins) {
            for (let i = 0; i < m; i++) {
              conf.push(j / m);
              correct.push(i < j ? 1 : 0);
            }
          }
          // Samples of different (m, j) with the same bin but different confidences would not be calibrated
          // per bin unless their confidences agree; keep one confidence per bin.
          const byBin = new Map<number, number>();
          const keep = conf.map((c) => {
            const k = binOf(c, B);
            const first = byBin.get(k) ?? c;
            byBin.set(k, first);
            return first === c;
          });
          const c2 = conf.filter((_, i) => keep[i]);
          const r2 = correct.filter((_, i) => keep[i]);
          expect(eceFrom(c2, r2, { bins: B }).value).toBeCloseTo(0, 12);
        },
      ),
    );
  });
});
