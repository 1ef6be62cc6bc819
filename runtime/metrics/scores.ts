// OOD scores from logits (METHODS §6.4; metrics.vlmp `score: msp | energy | max_logit`, `temperature`).
// Higher = more positive (known / in-distribution). With temperature T the logits are divided by T:
//   msp       = max_c softmax(ℓ/T)_c
//   energy    = T · logsumexp_c(ℓ_c/T)       (the negative free energy, Liu et al. 2020; T = 1: logsumexp ℓ)
//   max_logit = max_c ℓ_c / T                (T does not change its ranking)
// `classes` restricts the scores to the first K columns (CLAP4CLIP: the classes seen so far).

import { type Matrix, MetricInputError } from "./types.ts";

export type ScoreKind = "msp" | "energy" | "max_logit";

export interface ScoreOptions {
  readonly score?: ScoreKind;
  readonly temperature?: number;
  readonly classes?: number;
}

export function oodScores(logits: Matrix, options: ScoreOptions = {}): Float64Array {
  const kind = options.score ?? "msp";
  const t = options.temperature ?? 1;
  if (!(t > 0)) throw new MetricInputError(`temperature must be positive, got ${t}`);
  const cols = Math.min(options.classes ?? logits.cols, logits.cols);
  if (cols === 0) throw new MetricInputError("scores over no classes");
  const out = new Float64Array(logits.rows);
  for (let i = 0; i < logits.rows; i++) {
    const base = i * logits.cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) max = Math.max(max, logits.data[base + c]! / t);
    if (kind === "max_logit") {
      out[i] = max;
      continue;
    }
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(logits.data[base + c]! / t - max);
    out[i] = kind === "msp" ? 1 / sum : t * (max + Math.log(sum));
  }
  return out;
}

/** max_c softmax(ℓ_i)_c, the confidence of ECE (§6.7). */
export function confidences(logits: Matrix): Float64Array {
  return oodScores(logits, { score: "msp" });
}

/** Positive mask for `positive: known`: label < K (unknown classes carry indices ≥ K, §1.1). */
export function knownMask(labels: ArrayLike<number>, known: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i]! < known ? 1 : 0;
  return out;
}
