// Predictions (METHODS §6): argmax over the evaluated classes with ties to the lowest class index, and the
// rank of the true class for top-k accuracy under the same tie rule.

import { type Matrix, MetricInputError } from "./types.ts";

/**
 * argmax of row `i` over the columns `allowed` (all columns when omitted, or the first `allowed` columns
 * when a number: UEO's "argmax over the K known classes"). Ties go to the lowest index.
 */
export function argmaxRow(m: Matrix, i: number, allowed?: number | readonly number[]): number {
  const base = i * m.cols;
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  const consider = (c: number) => {
    const v = m.data[base + c]!;
    if (best < 0 || v > bestValue) {
      best = c;
      bestValue = v;
    }
  };
  if (allowed === undefined || typeof allowed === "number") {
    const n = allowed === undefined ? m.cols : Math.min(allowed, m.cols);
    for (let c = 0; c < n; c++) consider(c);
  } else {
    // Visit in increasing index order so that ties keep the lowest index.
    for (const c of [...allowed].sort((a, b) => a - b)) {
      if (c < 0 || c >= m.cols) throw new MetricInputError(`class ${c} is outside [0, ${m.cols})`);
      consider(c);
    }
  }
  if (best < 0) throw new MetricInputError("argmax over no classes");
  return best;
}

/** argmax of every row (ties → lowest index). */
export function predictions(m: Matrix, allowed?: number | readonly number[]): Int32Array {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = argmaxRow(m, i, allowed);
  return out;
}

/**
 * 0-based rank of class `y` in row `i` under the tie rule: the number of classes with a larger logit plus
 * those with an equal logit and a lower index. Top-k correct ⇔ rank < k.
 */
export function rankOf(m: Matrix, i: number, y: number, columns = m.cols): number {
  const base = i * m.cols;
  const v = m.data[base + y]!;
  let rank = 0;
  for (let c = 0; c < columns; c++) {
    const u = m.data[base + c]!;
    if (u > v || (u === v && c < y)) rank++;
  }
  return rank;
}
