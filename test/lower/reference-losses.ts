// Independent Float64 implementations of the losses and functions of stdlib/losses.vlmp, written from
// the formulas in METHODS.md (§1.4 UEO/InfoMax, §2.4 CLAP4CLIP, §3.4 CFR) with plain loops: the oracle the
// lowered graphs are compared against. Tensors are row-major number arrays with explicit sizes.

export type Arr = readonly number[];

const EPS = 1e-5;

function logSumExp(xs: Arr): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

function softmax(xs: Arr): number[] {
  const lse = logSumExp(xs);
  return xs.map((x) => Math.exp(x - lse));
}

function logSoftmax(xs: Arr): number[] {
  const lse = logSumExp(xs);
  return xs.map((x) => x - lse);
}

/** H(q) = −Σ q log(q + eps). */
function entropy(q: Arr, eps = EPS): number {
  return -q.reduce((s, v) => s + v * Math.log(v + eps), 0);
}

function rows(x: Arr, n: number, c: number): number[][] {
  return Array.from({ length: n }, (_, i) => x.slice(i * c, (i + 1) * c));
}

function dot(a: Arr, b: Arr): number {
  return a.reduce((s, v, i) => s + v * b[i]!, 0);
}

function normalize(v: Arr): number[] {
  const n = Math.max(Math.sqrt(dot(v, v)), 1e-12);
  return v.map((x) => x / n);
}

const mean = (xs: Arr) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sum = (xs: Arr) => xs.reduce((s, x) => s + x, 0);

export function ce(logits: Arr, labels: Arr, n: number, c: number, smoothing = 0): number {
  return mean(
    rows(logits, n, c).map((row, i) => {
      const lp = logSoftmax(row);
      return -lp.reduce(
        (s, v, k) => s + ((1 - smoothing) * (k === labels[i] ? 1 : 0) + smoothing / c) * v,
        0,
      );
    }),
  );
}

export function mcCe(logits: Arr, labels: Arr, m: number, n: number, c: number): number {
  const losses: number[] = [];
  for (let s = 0; s < m; s++) {
    for (let i = 0; i < n; i++) {
      const row = logits.slice((s * n + i) * c, (s * n + i + 1) * c);
      losses.push(-logSoftmax(row)[labels[i]!]!);
    }
  }
  return mean(losses);
}

export function entropyMin(logits: Arr, n: number, c: number): number {
  return mean(rows(logits, n, c).map((r) => entropy(softmax(r))));
}

/** METHODS §1.4: Σ ŵ_i H(p_i) − λ H(Σ v̂_i p_i), ŵ = w/Σw, v̂ = (1/w)/Σ(1/w). */
export function ueo(logits: Arr, w: Arr, n: number, c: number, lambda = 1): number {
  const p = rows(logits, n, c).map(softmax);
  const wsum = sum(w);
  const inv = w.map((x) => 1 / x);
  const isum = sum(inv);
  const cond = p.reduce((s, pi, i) => s + (w[i]! / wsum) * entropy(pi), 0);
  const marginal = Array.from({ length: c }, (_, k) =>
    p.reduce((s, pi, i) => s + (inv[i]! / isum) * pi[k]!, 0),
  );
  return cond - lambda * entropy(marginal);
}

export function infomax(logits: Arr, n: number, c: number, lambda = 1): number {
  const p = rows(logits, n, c).map(softmax);
  const marginal = Array.from({ length: c }, (_, k) => mean(p.map((pi) => pi[k]!)));
  return mean(p.map((pi) => entropy(pi))) - lambda * entropy(marginal);
}

export function ueoWeights(
  s: Arr,
  labels: Arr,
  n: number,
  k: number,
  mode: "zeroShotMSP" | "uniform" | "oracle",
  temperature: number,
): number[] {
  return rows(s, n, k).map((row, i) => {
    if (mode === "uniform") return 1;
    if (mode === "oracle") return (labels[i]! < k ? 1 : 0) + 1e-3;
    return Math.max(...softmax(row.map((v) => v / temperature)));
  });
}

export function supcon(features: Arr, labels: Arr, n: number, e: number, temperature = 0.07): number {
  const z = rows(features, n, e).map(normalize);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = z.map((zj, j) => dot(z[i]!, zj) / temperature - (i === j ? 1e9 : 0));
    const lp = logSoftmax(s);
    let acc = 0;
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (j === i || labels[j] !== labels[i]) continue;
      acc += lp[j]!;
      count++;
    }
    out.push(acc / Math.max(count, 1));
  }
  return -mean(out);
}

/** anchor [N, E], positives [N, P, E], negatives [N, K, E]. */
export function infonce(
  anchor: Arr,
  positives: Arr,
  negatives: Arr,
  n: number,
  p: number,
  k: number,
  e: number,
  temperature = 1,
): number {
  const terms: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = anchor.slice(i * e, (i + 1) * e);
    const sn = Array.from(
      { length: k },
      (_, j) => dot(a, negatives.slice((i * k + j) * e, (i * k + j + 1) * e)) / temperature,
    );
    for (let q = 0; q < p; q++) {
      const sp = dot(a, positives.slice((i * p + q) * e, (i * p + q + 1) * e)) / temperature;
      terms.push(logSumExp([sp, ...sn]) - sp);
    }
  }
  return mean(terms);
}

export function clipContrastive(image: Arr, text: Arr, n: number, e: number, scale = 100): number {
  const im = rows(image, n, e).map(normalize);
  const tx = rows(text, n, e).map(normalize);
  return clipPairsRows(im.map((a) => tx.map((b) => scale * dot(a, b))));
}

/** CLIP's loss over an [n, n] logit matrix whose diagonal holds the pairs. */
export function clipPairs(logits: Arr, n: number): number {
  return clipPairsRows(rows(logits, n, n));
}

function clipPairsRows(l: number[][]): number {
  const i2t = -mean(l.map((row, i) => logSoftmax(row)[i]!));
  const t2i = -mean(l.map((_, j) => logSoftmax(l.map((row) => row[j]!))[j]!));
  return (i2t + t2i) / 2;
}

function perTaskSum(values: Arr, taskOf: Arr, active: Arr): number {
  let total = 0;
  for (let t = 0; t < active.length; t++) {
    const members = values.filter((_, c) => taskOf[c] === t);
    total += active[t]! * (sum(members) / Math.max(members.length, 1));
  }
  return total;
}

/** KL(N(μ, σ²) ‖ N(0, 1)) summed over E, averaged over each task's classes, summed over active tasks. */
export function klStandardNormal(
  mu: Arr,
  sigma: Arr,
  taskOf: Arr,
  active: Arr,
  c: number,
  e: number,
): number {
  const kl = Array.from({ length: c }, (_, i) => {
    let s = 0;
    for (let d = 0; d < e; d++) {
      const m = mu[i * e + d]!;
      const sg = sigma[i * e + d]!;
      s += 0.5 * (sg * sg + m * m - 1) - Math.log(sg);
    }
    return s;
  });
  return perTaskSum(kl, taskOf, active);
}

/** h [C, P, E], z [M, C, E]: S = mean_p h · mean_m z within a task; CE at the diagonal. */
export function languageAware(
  h: Arr,
  z: Arr,
  taskOf: Arr,
  active: Arr,
  c: number,
  p: number,
  m: number,
  e: number,
): number {
  const hbar = Array.from({ length: c }, (_, i) =>
    Array.from({ length: e }, (_, d) => mean(Array.from({ length: p }, (_, q) => h[(i * p + q) * e + d]!))),
  );
  const zbar = Array.from({ length: c }, (_, i) =>
    Array.from({ length: e }, (_, d) => mean(Array.from({ length: m }, (_, s) => z[(s * c + i) * e + d]!))),
  );
  const ceOf = hbar.map((hi, i) => {
    const row = zbar.map((zj, j) => dot(hi, zj) + (taskOf[i] === taskOf[j] ? 0 : -1e9));
    return -logSoftmax(row)[i]!;
  });
  return perTaskSum(ceOf, taskOf, active);
}

export function clap4clip(
  a: {
    logits: Arr;
    labels: Arr;
    mu: Arr;
    sigma: Arr;
    z: Arr;
    templates: Arr;
    taskOf: Arr;
    active: Arr;
  },
  s: { m: number; n: number; c: number; e: number; p: number },
  klWeight = 0.001,
  languageWeight = 15,
): number {
  const h = rows(a.templates, s.c * s.p, s.e).flatMap(normalize);
  return (
    mcCe(a.logits, a.labels, s.m, s.n, s.c) +
    klWeight * klStandardNormal(a.mu, a.sigma, a.taskOf, a.active, s.c, s.e) +
    languageWeight * languageAware(h, a.z, a.taskOf, a.active, s.c, s.p, s.m, s.e)
  );
}

export function mcMean(logits: Arr, m: number, n: number, c: number): number[] {
  return Array.from({ length: n * c }, (_, i) =>
    mean(Array.from({ length: m }, (_, s) => logits[s * n * c + i]!)),
  );
}

/** Targeted supervised contrastive loss (METHODS §3.4, vlmp layout). */
export function tsc(
  a: { q: Arr; labels: Arr; queue: Arr; queueLabels: Arr; targets: Arr; assigned: Arr },
  s: { n: number; e: number; q: number; k: number },
  temperature = 0.07,
  targetWeight = 0.2,
): number {
  const z = rows(a.q, s.n, s.e).map(normalize);
  const queue = rows(a.queue, s.q, s.e);
  const targets = rows(a.targets, s.k, s.e);
  return mean(
    z.map((zi, i) => {
      const all = [
        dot(zi, zi),
        ...queue.map((qj, j) => dot(zi, qj) + (a.queueLabels[j]! < 0 ? -1e9 : 0)),
        ...targets.map((t) => dot(zi, t)),
      ].map((v) => v / temperature);
      const lp = logSoftmax(all);
      let acc = lp[0]!;
      let count = 1;
      for (let j = 0; j < s.q; j++) {
        if (a.labels[i] === a.queueLabels[j]) {
          acc += lp[1 + j]!;
          count++;
        }
      }
      const lClass = -acc / count;
      const lTarget = -lp[1 + s.q + a.assigned[a.labels[i]!]!]!;
      return lClass + targetWeight * lTarget - lp[0]!;
    }),
  );
}

export function cfrWeight(epoch: number, epochs: number, mode: "cosine" | "constant"): number {
  return mode === "cosine" ? 1 + 0.5 * Math.cos((2 * Math.PI * epoch) / epochs) : 1.5;
}

/** CFR stage 2: λ(e)·CE + λ(e)·InfoNCE on projected, normalised bank rows + TSC. */
export function cfr(
  a: {
    calLogits: Arr;
    calLabels: Arr;
    calFeatures: Arr;
    positives: Arr;
    negatives: Arr;
    proj: Arr;
    features: Arr;
    labels: Arr;
    queue: Arr;
    queueLabels: Arr;
    targets: Arr;
    assigned: Arr;
  },
  s: { n: number; c: number; e: number; p: number; k: number; w: number; b: number; q: number },
  epoch: number,
  epochs: number,
  mode: "cosine" | "constant",
): number {
  const w = cfrWeight(epoch, epochs, mode);
  const proj = rows(a.proj, s.e, s.w);
  const embed = (x: Arr, count: number) =>
    rows(x, count, s.w).flatMap((row) => normalize(proj.map((pr) => dot(row, pr))));
  const anchor = rows(a.calFeatures, s.n, s.e).flatMap(normalize);
  return (
    w * ce(a.calLogits, a.calLabels, s.n, s.c) +
    w * infonce(anchor, embed(a.positives, s.n * s.p), embed(a.negatives, s.n * s.k), s.n, s.p, s.k, s.e, 1) +
    tsc(
      {
        q: a.features,
        labels: a.labels,
        queue: a.queue,
        queueLabels: a.queueLabels,
        targets: a.targets,
        assigned: a.assigned,
      },
      { n: s.b, e: s.e, q: s.q, k: s.c },
    )
  );
}

function argmaxRow(row: Arr): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export function misclassified(logits: Arr, labels: Arr, n: number, c: number): number[] {
  return rows(logits, n, c).map((r, i) => (argmaxRow(r) !== labels[i] ? 1 : 0));
}

export function correct(logits: Arr, labels: Arr, n: number, c: number): number[] {
  return rows(logits, n, c).map((r, i) => (argmaxRow(r) === labels[i] ? 1 : 0));
}
