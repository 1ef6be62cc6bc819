// Every tensor function of the language (compiler/builtins.ts) as graph primitives and composites, with
// the semantics the stdlib expects: `entropy(p, axis:, eps:)` = −Σ p·log(p + eps); `normalize` = L2
// (torch's F.normalize, eps 1e-12); `cosine` = torch's cosine_similarity (eps 1e-8); `max(a, b)`
// elementwise, `max(x, axis:)` a reduction; `detach` stops gradients; `randn` draws counter-based
// normals (Philox, one disjoint counter range per call); `variance` is the population variance unless
// `unbiased: true`; `attention` splits `heads` from the last axis and scales by 1/√(width/heads), a bool
// `mask` keeps where true and a float `mask` is added to the scores.

import { BUILTINS } from "../builtins.ts";
import type { GraphBuilder } from "../graph/builder.ts";
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
} from "../graph/composites.ts";
import type { Value } from "../graph/graph.ts";
import { isFloat } from "../graph/ops.ts";
import { broadcastShapes, normalizeAxis } from "../graph/shapes.ts";
import { fault } from "./errors.ts";
import { binaryOp, matmulNumpy } from "./operators.ts";
import {
  commonDtype,
  describe,
  isTensorLike,
  type LValue,
  numberValue,
  shapeOf,
  tensorValue,
  toBool,
  toFloat,
  toIndex,
  toTensor,
} from "./values.ts";

export interface BuiltinCall {
  readonly b: GraphBuilder;
  readonly name: string;
  readonly args: readonly LValue[];
  /** Named settings; `none` values are left out. */
  readonly named: ReadonlyMap<string, LValue>;
  /** Counter-based standard normals of `shape`, from a counter range no other call uses. */
  readonly randomNormal: (shape: readonly number[]) => Value;
}

export type BuiltinLowering = (call: BuiltinCall) => LValue;

// --- reading arguments --------------------------------------------------------------------------------

function tensorArg(c: BuiltinCall, i: number): Value {
  const v = c.args[i]!;
  if (!isTensorLike(v)) fault("type", `${c.name}: argument ${i + 1} must be a tensor, got ${describe(v)}`);
  return toTensor(c.b, v);
}

function floatArg(c: BuiltinCall, i: number): Value {
  const v = c.args[i]!;
  if (!isTensorLike(v)) fault("type", `${c.name}: argument ${i + 1} must be a tensor, got ${describe(v)}`);
  return toFloat(c.b, v);
}

function intOf(c: BuiltinCall, what: string, v: LValue): number {
  if (v.kind !== "number" || !Number.isInteger(v.value)) {
    fault("type", `${c.name}: ${what} must be a constant integer, got ${describe(v)}`);
  }
  return v.value;
}

/** `axis: 1` or `axis: [0, 2]`; all axes when absent and `fallback` is undefined. */
function axesSetting(c: BuiltinCall, rank: number, fallback?: number): number[] {
  const v = c.named.get("axis");
  if (!v) return fallback === undefined ? [...Array(rank).keys()] : [normalizeAxis(fallback, rank, c.name)];
  const list = v.kind === "list" ? v.items : [v];
  const axes = list.map((a) => normalizeAxis(intOf(c, "axis", a), rank, c.name));
  if (new Set(axes).size !== axes.length) fault("shape", `${c.name}: repeated axis`);
  return axes;
}

function axisSetting(c: BuiltinCall, rank: number, fallback: number): number {
  const v = c.named.get("axis");
  return normalizeAxis(v ? intOf(c, "axis", v) : fallback, rank, c.name);
}

function boolSetting(c: BuiltinCall, name: string, fallback: boolean): boolean {
  const v = c.named.get(name);
  if (!v) return fallback;
  if (v.kind !== "bool") fault("type", `${c.name}: ${name} must be a constant bool, got ${describe(v)}`);
  return v.value;
}

function numberSetting(c: BuiltinCall, name: string, fallback: number): number {
  const v = c.named.get(name);
  if (!v) return fallback;
  if (v.kind !== "number") fault("type", `${c.name}: ${name} must be a constant number, got ${describe(v)}`);
  return v.value;
}

function shapeSetting(c: BuiltinCall, name = "shape"): number[] {
  const v = c.named.get(name);
  if (v?.kind !== "list") return fault("type", `${c.name}: ${name} must be a list of sizes`);
  return v.items.map((d) => {
    const n = intOf(c, `${name} entries`, d);
    if (n < -1) fault("shape", `${c.name}: bad size ${n}`);
    return n;
  });
}

// --- families -------------------------------------------------------------------------------------------

const FOLD: Record<string, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  neg: (x) => -x,
  sign: Math.sign,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  relu: (x) => Math.max(0, x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0),
};

/** Float math: integer and bool tensors are cast to f32 first; numbers fold. */
const floatUnary =
  (
    op: "exp" | "log" | "sqrt" | "rsqrt" | "sin" | "cos" | "tanh" | "sigmoid" | "softplus" | "erf",
  ): BuiltinLowering =>
  (c) => {
    const v = c.args[0]!;
    const fold = FOLD[op];
    if (v.kind === "number" && fold) return numberValue(fold(v.value), false);
    return tensorValue(c.b.unary(op, floatArg(c, 0)));
  };

/** Sign-like ops keep integer dtypes; bools become f32. */
const keepUnary =
  (op: "abs" | "neg" | "sign" | "relu"): BuiltinLowering =>
  (c) => {
    const v = c.args[0]!;
    if (v.kind === "number") return numberValue(FOLD[op]!(v.value), v.integer);
    const x = tensorArg(c, 0);
    return tensorValue(c.b.unary(op, x.dtype === "bool" ? c.b.cast(x, "f32") : x));
  };

function reduction(
  op: "sum" | "mean" | "logsumexp" | "max" | "min" | "argmax" | "variance",
): BuiltinLowering {
  return (c) => {
    const { b } = c;
    let x = tensorArg(c, 0);
    const axes = axesSetting(c, x.shape.length);
    const keep = boolSetting(c, "keepdims", false);
    if (
      x.dtype === "bool" ||
      (op !== "sum" && op !== "max" && op !== "min" && op !== "argmax" && !isFloat(x.dtype))
    ) {
      x = b.cast(x, "f32");
    }
    switch (op) {
      case "sum":
        return tensorValue(b.sum(x, axes, keep));
      case "mean":
        return tensorValue(b.mean(x, axes, keep));
      case "logsumexp":
        return tensorValue(logsumexp(b, x, axes, keep));
      case "max":
        return tensorValue(b.max(x, axes, keep));
      case "min":
        return tensorValue(b.neg(b.max(b.neg(x), axes, keep)));
      case "argmax":
        return tensorValue(b.argmax(x, axes, keep));
      case "variance": {
        const count = axes.reduce((p, a) => p * x.shape[a]!, 1);
        const unbiased = boolSetting(c, "unbiased", false);
        const d = b.sub(x, b.mean(x, axes, true));
        return tensorValue(b.div(b.sum(b.mul(d, d), axes, keep), unbiased ? count - 1 : count));
      }
    }
  };
}

/** `max(a, b)` / `min(a, b)` elementwise; with one operand, the reduction. */
function maxOrMin(op: "max" | "min"): BuiltinLowering {
  const reduce = reduction(op);
  return (c) => {
    if (c.args.length === 1) return reduce(c);
    const [l, r] = [c.args[0]!, c.args[1]!];
    if (l.kind === "number" && r.kind === "number") {
      return numberValue(
        op === "max" ? Math.max(l.value, r.value) : Math.min(l.value, r.value),
        l.integer && r.integer,
      );
    }
    if (!isTensorLike(l) || !isTensorLike(r)) fault("type", `${op}: expects tensors or numbers`);
    const dtype = commonDtype([l, r], "arith");
    const [x, y] = [toTensor(c.b, l, dtype), toTensor(c.b, r, dtype)];
    return tensorValue(op === "max" ? c.b.maximum(x, y) : c.b.minimum(x, y));
  };
}

/** where(cond, a, b); a constant condition picks its branch (broadcast to the joint shape). */
const where: BuiltinLowering = (c) => {
  const { b } = c;
  const [cond, l, r] = [c.args[0]!, c.args[1]!, c.args[2]!];
  for (const v of c.args) if (!isTensorLike(v)) fault("type", `where: expects tensors, got ${describe(v)}`);
  const shape = broadcastShapes(shapeOf(cond), shapeOf(l), shapeOf(r));
  if (cond.kind !== "tensor") {
    const truth = cond.kind === "bool" ? cond.value : cond.kind === "number" && cond.value !== 0;
    const picked = truth ? l : r;
    if (picked.kind !== "tensor" && shape.length === 0) return picked;
    const dtype = commonDtype([l, r], "compare");
    return tensorValue(b.broadcast(toTensor(b, picked, dtype), shape));
  }
  const dtype = commonDtype([l, r], "compare");
  return tensorValue(b.select(toBool(b, cond), toTensor(b, l, dtype), toTensor(b, r, dtype)));
};

const entropyOf: BuiltinLowering = (c) => {
  const { b } = c;
  const p = floatArg(c, 0);
  const axes = axesSetting(c, p.shape.length, -1);
  const eps = numberSetting(c, "eps", 0);
  if (axes.length === 1) return tensorValue(entropy(b, p, axes[0]!, eps));
  return tensorValue(b.neg(b.sum(b.mul(p, b.log(eps === 0 ? p : b.add(p, eps))), axes)));
};

const reshape: BuiltinLowering = (c) => {
  const x = tensorArg(c, 0);
  const shape = shapeSetting(c);
  const total = x.shape.reduce((p, d) => p * d, 1);
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) fault("shape", "reshape: at most one size may be -1");
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const resolved = shape.map((d) => (d === -1 ? total / known : d));
  if (!resolved.every(Number.isInteger) || resolved.reduce((p, d) => p * d, 1) !== total) {
    fault("shape", `reshape: cannot reshape [${x.shape.join(", ")}] to [${shape.join(", ")}]`);
  }
  return tensorValue(c.b.reshape(x, resolved));
};

const concat: BuiltinLowering = (c) => {
  for (const v of c.args) if (!isTensorLike(v)) fault("type", `concat: expects tensors, got ${describe(v)}`);
  const dtype = commonDtype(c.args, "compare");
  const parts = c.args.map((v) => toTensor(c.b, v, dtype));
  if (parts.some((p) => p.shape.length === 0)) fault("shape", "concat joins tensors of rank 1 or more");
  return tensorValue(c.b.concat(parts, axisSetting(c, parts[0]!.shape.length, 0)));
};

/** Multi-head scaled dot-product attention over q [..., Lq, W], k [..., Lk, W], v [..., Lk, Wv]. */
const attend: BuiltinLowering = (c) => {
  const { b } = c;
  const [q, k, v] = [floatArg(c, 0), floatArg(c, 1), floatArg(c, 2)];
  const heads = c.named.get("heads") ? intOf(c, "heads", c.named.get("heads")!) : 1;
  const causal = boolSetting(c, "causal", false);
  const mask = c.named.get("mask");
  for (const t of [q, k, v])
    if (t.shape.length < 2) fault("shape", "attention expects tensors of rank 2 or more");
  const width = q.shape[q.shape.length - 1]!;
  const vWidth = v.shape[v.shape.length - 1]!;
  if (width % heads !== 0 || vWidth % heads !== 0) {
    fault("shape", `attention: widths ${width} and ${vWidth} do not split into ${heads} heads`);
  }
  const split = (x: Value): Value => {
    if (heads === 1) return x;
    const r = x.shape.length;
    const [len, w] = x.shape.slice(-2) as [number, number];
    const y = b.reshape(x, [...x.shape.slice(0, -2), len, heads, w / heads]);
    return b.permute(y, [...[...Array(r - 2).keys()], r - 1, r - 2, r]);
  };
  const merge = (o: Value): Value => {
    if (heads === 1) return o;
    const r = o.shape.length;
    const [, len, w] = o.shape.slice(-3) as [number, number, number];
    const y = b.permute(o, [...[...Array(r - 3).keys()], r - 2, r - 3, r - 1]);
    return b.reshape(y, [...o.shape.slice(0, -3), len, heads * w]);
  };
  const [qh, kh, vh] = [split(q), split(k), split(v)];
  if (!mask || mask.kind === "bool" || (mask.kind === "tensor" && mask.value.dtype === "bool")) {
    const keep = mask && mask.kind === "tensor" ? mask.value : undefined;
    if (mask?.kind === "bool" && !mask.value) fault("shape", "attention: a mask of `false` hides every key");
    return tensorValue(merge(attention(b, qh, kh, vh, { ...(keep ? { mask: keep } : {}), causal })));
  }
  // An additive float mask: softmax(q kᵀ·scale + mask) v.
  let scores: Value = b.mul(b.matmul(qh, kh, { transB: true }), 1 / Math.sqrt(width / heads));
  scores = b.add(scores, toFloat(b, mask));
  if (causal) {
    const [lq, lk] = scores.shape.slice(-2) as [number, number];
    scores = b.select(b.ge(b.iota([lq, lk], 0), b.iota([lq, lk], 1)), scores, -Infinity);
  }
  return tensorValue(merge(b.matmul(softmax(b, scores, -1), vh)));
};

const oneHot: BuiltinLowering = (c) => {
  const { b } = c;
  const classesValue = c.named.get("classes");
  if (!classesValue) fault("arguments", "one_hot: needs `classes:`");
  const classes = intOf(c, "classes", classesValue);
  const labels = toIndex(b, c.args[0]!);
  const shape = [...labels.shape, classes];
  const hit = b.eq(b.reshape(labels, [...labels.shape, 1]), b.iota(shape, labels.shape.length));
  return tensorValue(b.cast(hit, "f32"));
};

const factory =
  (value: (c: BuiltinCall) => number): BuiltinLowering =>
  (c) =>
    tensorValue(c.b.full(shapeSetting(c), value(c)));

export const BUILTIN_LOWERINGS: Readonly<Record<string, BuiltinLowering>> = {
  exp: floatUnary("exp"),
  log: floatUnary("log"),
  sqrt: floatUnary("sqrt"),
  rsqrt: floatUnary("rsqrt"),
  abs: keepUnary("abs"),
  neg: keepUnary("neg"),
  sign: keepUnary("sign"),
  sin: floatUnary("sin"),
  cos: floatUnary("cos"),
  relu: keepUnary("relu"),
  sigmoid: floatUnary("sigmoid"),
  softplus: floatUnary("softplus"),
  tanh: floatUnary("tanh"),
  erf: floatUnary("erf"),
  gelu: (c) => tensorValue(gelu(c.b, floatArg(c, 0))),
  quick_gelu: (c) => tensorValue(quickGelu(c.b, floatArg(c, 0))),
  detach: (c) => {
    const v = c.args[0]!;
    return v.kind === "tensor" ? tensorValue(c.b.stopGradient(v.value)) : v;
  },
  sum: reduction("sum"),
  mean: reduction("mean"),
  logsumexp: reduction("logsumexp"),
  variance: reduction("variance"),
  argmax: reduction("argmax"),
  max: maxOrMin("max"),
  min: maxOrMin("min"),
  where,
  softmax: (c) => {
    const x = floatArg(c, 0);
    return tensorValue(softmax(c.b, x, axisSetting(c, x.shape.length, -1)));
  },
  log_softmax: (c) => {
    const x = floatArg(c, 0);
    return tensorValue(logSoftmax(c.b, x, axisSetting(c, x.shape.length, -1)));
  },
  normalize: (c) => {
    const x = floatArg(c, 0);
    return tensorValue(l2Normalize(c.b, x, axisSetting(c, x.shape.length, -1)));
  },
  entropy: entropyOf,
  cosine: (c) => {
    const [x, y] = [floatArg(c, 0), floatArg(c, 1)];
    const rank = Math.max(x.shape.length, y.shape.length);
    return tensorValue(cosineSimilarity(c.b, x, y, axisSetting(c, rank, -1)));
  },
  transpose: (c) => {
    const x = tensorArg(c, 0);
    if (x.shape.length < 2)
      fault("shape", `transpose needs a tensor of rank 2 or more, got [${x.shape.join(", ")}]`);
    return tensorValue(c.b.transpose(x));
  },
  permute: (c) => {
    const x = tensorArg(c, 0);
    const axes = c.named.get("axes");
    if (axes?.kind !== "list") return fault("type", "permute: axes must be a list of axes");
    const perm = axes.items.map((a) => normalizeAxis(intOf(c, "axes", a), x.shape.length, "permute"));
    return tensorValue(c.b.permute(x, perm));
  },
  reshape,
  concat,
  layer_norm: (c) => {
    const x = floatArg(c, 0);
    const gamma = c.args.length > 1 ? floatArg(c, 1) : undefined;
    const beta = c.args.length > 2 ? floatArg(c, 2) : undefined;
    return tensorValue(layerNorm(c.b, x, gamma, beta, numberSetting(c, "eps", 1e-5)));
  },
  attention: attend,
  cross_entropy: (c) => {
    const logits = floatArg(c, 0);
    const labels = toIndex(c.b, c.args[1]!);
    return tensorValue(
      crossEntropy(c.b, logits, labels, { labelSmoothing: numberSetting(c, "smoothing", 0) }),
    );
  },
  one_hot: oneHot,
  gather: (c) => {
    const x = tensorArg(c, 0);
    const index = toIndex(c.b, c.args[1]!);
    return tensorValue(c.b.gather(x, index, axisSetting(c, x.shape.length, 0)));
  },
  linear: (c) => {
    const x = tensorValue(floatArg(c, 0));
    const w = floatArg(c, 1);
    if (w.shape.length !== 2) fault("shape", `linear: weight must be [out, in], got [${w.shape.join(", ")}]`);
    const y = matmulNumpy(c.b, x, tensorValue(c.b.transpose(w)));
    return c.args.length > 2 ? binaryOp(c.b, "+", tensorValue(y), c.args[2]!) : tensorValue(y);
  },
  zeros: factory(() => 0),
  ones: factory(() => 1),
  full: factory((c) => numberSetting(c, "value", 0)),
  randn: (c) => tensorValue(c.randomNormal(shapeSetting(c))),
  eye: (c) => {
    const n = intOf(c, "the size", c.args[0]!);
    const { b } = c;
    return tensorValue(b.cast(b.eq(b.iota([n, n], 0), b.iota([n, n], 1)), "f32"));
  },
};

/** Checks a call's arity and setting names against the checker's table before lowering it. */
export function checkBuiltinCall(name: string, positional: number, named: readonly string[]): void {
  const spec = BUILTINS[name];
  if (!spec) return;
  const [min, max] = spec.arity;
  if (positional < min || positional > max) {
    fault(
      "arguments",
      `${name} takes ${min === max ? min : `${min} to ${max}`} positional arguments, got ${positional}`,
    );
  }
  for (const key of named) {
    if (!spec.settings.includes(key)) {
      fault("arguments", `${name} has no setting '${key}' (settings: ${spec.settings.join(", ") || "none"})`);
    }
  }
}
