// Shape and dtype rules, one per primitive. Each checks its operands, puts axis attributes in
// canonical form (non-negative, reduce axes ascending) so CSE sees equal nodes as equal, and
// returns the result's type. Errors carry no span; the builder attaches the user's.

import { GraphError } from "./errors.ts";
import { numel } from "./graph.ts";
import { type DType, isFloat, type Op, type OpAttrs, type OpOf } from "./ops.ts";

export interface TypeInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface Inferred<K extends Op> extends TypeInfo {
  readonly attrs: OpAttrs[K];
}

/** A rule returns attrs only when it made them canonical. */
type ShapeRule<K extends Op> = (
  inputs: readonly TypeInfo[],
  attrs: OpAttrs[K],
) => TypeInfo & { attrs?: OpAttrs[K] };
/** A rule shared by a group of ops; it never rewrites attributes. */
type GroupRule = (inputs: readonly TypeInfo[]) => TypeInfo;

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

function fail(message: string): never {
  throw new GraphError("shape", message);
}

function failDtype(message: string): never {
  throw new GraphError("dtype", message);
}

function checkShape(shape: readonly number[], what: string): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) fail(`${what}: bad dimension ${d} in ${fmt(shape)}`);
}

/** Numpy broadcasting: align on the right; sizes must match or be 1. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s[s.length - rank + i] ?? 1;
      if (k === d || k === 1) continue;
      if (d !== 1) fail(`cannot broadcast shapes ${shapes.map(fmt).join(" and ")}`);
      d = k;
    }
    out.push(d);
  }
  return out;
}

/** True when `from` broadcasts to exactly `to`. */
export function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  const lead = to.length - from.length;
  return from.every((d, i) => d === 1 || d === to[lead + i]);
}

export function normalizeAxis(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail(`${what}: axis ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

const source =
  <K extends "input" | "param" | "constant" | "full">(): ShapeRule<K> =>
  (_, attrs) => {
    checkShape(attrs.shape, "source");
    return { shape: attrs.shape, dtype: attrs.dtype };
  };

const random = (_: readonly TypeInfo[], attrs: OpAttrs["random_uniform"]): TypeInfo => {
  checkShape(attrs.shape, "random");
  if (!Number.isSafeInteger(attrs.seed) || attrs.seed < 0)
    fail(`random: seed ${attrs.seed} is not an integer >= 0`);
  if (
    !Number.isSafeInteger(attrs.offset) ||
    attrs.offset < 0 ||
    attrs.offset + numel(attrs.shape) > 2 ** 53
  ) {
    fail(`random: counter offset ${attrs.offset} must be an integer with offset + size <= 2^53`);
  }
  return { shape: attrs.shape, dtype: "f32" };
};

function floatOperand(t: TypeInfo, op: string): void {
  if (!isFloat(t.dtype)) failDtype(`${op} needs a float operand, got ${t.dtype}`);
}

const unary: GroupRule = ([x]) => ({ shape: x!.shape, dtype: x!.dtype });

const floatUnary: GroupRule = (inputs) => {
  floatOperand(inputs[0]!, "elementwise math");
  return unary(inputs);
};

const binary: GroupRule = ([a, b]) => {
  if (a!.dtype !== b!.dtype) failDtype(`operands have different dtypes ${a!.dtype} and ${b!.dtype}`);
  if (a!.dtype === "bool") failDtype("arithmetic on bool operands");
  return { shape: broadcastShapes(a!.shape, b!.shape), dtype: a!.dtype };
};

const floatBinary: GroupRule = (inputs) => {
  floatOperand(inputs[0]!, "elementwise math");
  return binary(inputs);
};

const compare: GroupRule = ([a, b]) => {
  if (a!.dtype !== b!.dtype) failDtype(`compared operands have different dtypes ${a!.dtype} and ${b!.dtype}`);
  return { shape: broadcastShapes(a!.shape, b!.shape), dtype: "bool" };
};

const reduce =
  <K extends OpOf<"reduce">>(resultDtype: (x: TypeInfo) => DType): ShapeRule<K> =>
  ([x], attrs) => {
    const rank = x!.shape.length;
    const axes = [...new Set(attrs.axes.map((a) => normalizeAxis(a, rank, "reduce")))].sort((p, q) => p - q);
    if (axes.length !== attrs.axes.length) fail(`reduce: repeated axis in [${attrs.axes.join(", ")}]`);
    const shape = attrs.keepdims
      ? x!.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x!.shape.filter((_, i) => !axes.includes(i));
    return { shape, dtype: resultDtype(x!), attrs: { ...attrs, axes } };
  };

const indexOperand = (t: TypeInfo, op: string): void => {
  if (t.dtype !== "i32") failDtype(`${op} indices must be i32, got ${t.dtype}`);
};

const RULES: { readonly [K in Op]: ShapeRule<K> } = {
  input: source(),
  param: source(),
  constant: (inputs, attrs) => {
    if (attrs.data.length !== numel(attrs.shape)) {
      fail(`constant: ${attrs.data.length} values for shape ${fmt(attrs.shape)}`);
    }
    return source<"constant">()(inputs, attrs);
  },
  full: source(),
  iota: (_, attrs) => {
    checkShape(attrs.shape, "iota");
    return {
      shape: attrs.shape,
      dtype: "i32",
      attrs: { ...attrs, axis: normalizeAxis(attrs.axis, attrs.shape.length, "iota") },
    };
  },
  random_uniform: random,
  random_normal: random,
  neg: unary,
  exp: floatUnary,
  log: floatUnary,
  sqrt: floatUnary,
  rsqrt: floatUnary,
  reciprocal: floatUnary,
  tanh: floatUnary,
  sigmoid: floatUnary,
  softplus: floatUnary,
  abs: unary,
  erf: floatUnary,
  relu: unary,
  sin: floatUnary,
  cos: floatUnary,
  sign: unary,
  floor: floatUnary,
  cast: ([x], attrs) => ({ shape: x!.shape, dtype: attrs.dtype }),
  stop_gradient: unary,
  add: binary,
  sub: binary,
  mul: binary,
  div: floatBinary,
  pow: floatBinary,
  maximum: binary,
  minimum: binary,
  eq: compare,
  ne: compare,
  lt: compare,
  le: compare,
  gt: compare,
  ge: compare,
  select: ([c, a, b]) => {
    if (c!.dtype !== "bool") failDtype(`select condition must be bool, got ${c!.dtype}`);
    if (a!.dtype !== b!.dtype) failDtype(`select branches have different dtypes ${a!.dtype} and ${b!.dtype}`);
    return { shape: broadcastShapes(c!.shape, a!.shape, b!.shape), dtype: a!.dtype };
  },
  sum: reduce((x) => {
    if (x.dtype === "bool") failDtype("sum of bool; cast first");
    return x.dtype;
  }),
  max: reduce((x) => x.dtype),
  argmax: reduce(() => "i32"),
  reshape: ([x], attrs) => {
    checkShape(attrs.shape, "reshape");
    if (numel(attrs.shape) !== numel(x!.shape))
      fail(`reshape: cannot reshape ${fmt(x!.shape)} to ${fmt(attrs.shape)}`);
    return { shape: attrs.shape, dtype: x!.dtype };
  },
  permute: ([x], attrs) => {
    const rank = x!.shape.length;
    const sorted = [...attrs.perm].sort((p, q) => p - q);
    if (sorted.length !== rank || sorted.some((p, i) => p !== i)) {
      fail(`permute: [${attrs.perm.join(", ")}] is not a permutation of ${rank} axes`);
    }
    return { shape: attrs.perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  broadcast: ([x], attrs) => {
    checkShape(attrs.shape, "broadcast");
    if (!broadcastsTo(x!.shape, attrs.shape))
      fail(`broadcast: ${fmt(x!.shape)} does not broadcast to ${fmt(attrs.shape)}`);
    return { shape: attrs.shape, dtype: x!.dtype };
  },
  slice: ([x], attrs) => {
    const { starts, ends, steps } = attrs;
    const rank = x!.shape.length;
    if (starts.length !== rank || ends.length !== rank || steps.length !== rank) {
      fail(`slice: starts, ends and steps need ${rank} entries`);
    }
    const shape = x!.shape.map((d, i) => {
      const [s, e, st] = [starts[i]!, ends[i]!, steps[i]!];
      if (!(Number.isInteger(st) && st >= 1)) fail(`slice: step ${st} must be an integer >= 1`);
      if (!(Number.isInteger(s) && Number.isInteger(e) && s >= 0 && s <= e && e <= d)) {
        fail(`slice: range ${s}:${e} out of bounds for axis ${i} of size ${d}`);
      }
      return Math.ceil((e - s) / st);
    });
    return { shape, dtype: x!.dtype };
  },
  concat: (inputs, attrs) => {
    const first = inputs[0]!;
    const axis = normalizeAxis(attrs.axis, first.shape.length, "concat");
    let total = 0;
    for (const t of inputs) {
      if (t.dtype !== first.dtype) failDtype(`concat of ${first.dtype} and ${t.dtype}`);
      const same =
        t.shape.length === first.shape.length && t.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!same) fail(`concat: ${fmt(t.shape)} does not match ${fmt(first.shape)} off axis ${axis}`);
      total += t.shape[axis]!;
    }
    return {
      shape: first.shape.map((d, i) => (i === axis ? total : d)),
      dtype: first.dtype,
      attrs: { axis },
    };
  },
  pad: ([x], attrs) => {
    const rank = x!.shape.length;
    const { before, after, interior } = attrs;
    if (before.length !== rank || after.length !== rank || interior.length !== rank) {
      fail(`pad: before, after and interior need ${rank} entries`);
    }
    for (const p of [...before, ...after, ...interior])
      if (!(Number.isInteger(p) && p >= 0)) fail(`pad: bad amount ${p}`);
    const shape = x!.shape.map((d, i) => before[i]! + d + Math.max(0, d - 1) * interior[i]! + after[i]!);
    return { shape, dtype: x!.dtype };
  },
  gather: ([x, idx], attrs) => {
    indexOperand(idx!, "gather");
    const axis = normalizeAxis(attrs.axis, x!.shape.length, "gather");
    const shape = [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)];
    return { shape, dtype: x!.dtype, attrs: { axis } };
  },
  take_along_axis: ([x, idx], attrs) => {
    indexOperand(idx!, "take_along_axis");
    const axis = normalizeAxis(attrs.axis, x!.shape.length, "take_along_axis");
    const fits =
      idx!.shape.length === x!.shape.length && idx!.shape.every((d, i) => i === axis || d === x!.shape[i]);
    if (!fits)
      fail(`take_along_axis: indices ${fmt(idx!.shape)} must match ${fmt(x!.shape)} off axis ${axis}`);
    return { shape: idx!.shape, dtype: x!.dtype, attrs: { axis } };
  },
  scatter_add: ([base, idx, upd], attrs) => {
    indexOperand(idx!, "scatter_add");
    if (upd!.dtype !== base!.dtype) failDtype(`scatter_add of ${upd!.dtype} into ${base!.dtype}`);
    const axis = normalizeAxis(attrs.axis, base!.shape.length, "scatter_add");
    const same = idx!.shape.length === upd!.shape.length && idx!.shape.every((d, i) => d === upd!.shape[i]);
    const fits =
      same &&
      idx!.shape.length === base!.shape.length &&
      idx!.shape.every((d, i) => i === axis || d === base!.shape[i]);
    if (!fits) {
      fail(
        `scatter_add: indices ${fmt(idx!.shape)} and updates ${fmt(upd!.shape)} must agree and match ${fmt(base!.shape)} off axis ${axis}`,
      );
    }
    return { shape: base!.shape, dtype: base!.dtype, attrs: { axis } };
  },
  matmul: ([a, b], attrs) => {
    if (a!.dtype !== b!.dtype) failDtype(`matmul of ${a!.dtype} and ${b!.dtype}`);
    if (!isFloat(a!.dtype)) failDtype(`matmul needs float operands, got ${a!.dtype}`);
    if (a!.shape.length < 2 || b!.shape.length < 2)
      fail(`matmul needs rank >= 2, got ${fmt(a!.shape)} and ${fmt(b!.shape)}`);
    const [ar, ac] = a!.shape.slice(-2) as [number, number];
    const [br, bc] = b!.shape.slice(-2) as [number, number];
    const [m, k1] = attrs.transA ? [ac, ar] : [ar, ac];
    const [k2, n] = attrs.transB ? [bc, br] : [br, bc];
    if (k1 !== k2)
      fail(`matmul: inner sizes differ (${k1} vs ${k2}) for ${fmt(a!.shape)} and ${fmt(b!.shape)}`);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    return { shape: [...batch, m, n], dtype: a!.dtype };
  },
};

/** The result type of `op` applied to operands of the given types, with attributes made canonical. */
export function inferType<K extends Op>(op: K, inputs: readonly TypeInfo[], attrs: OpAttrs[K]): Inferred<K> {
  const t = (RULES[op] as ShapeRule<K>)(inputs, attrs);
  return { shape: t.shape, dtype: t.dtype, attrs: t.attrs ?? attrs };
}
