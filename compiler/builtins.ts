// The tensor functions every fn, loss, adapter and model body may call, with their shape rules.
// A rule receives the argument types (and the constant values of settings such as `axis`) and returns
// the result type, or a message saying what is wrong.

import { broadcastShapes, SCALAR, shapeToString, size, type TensorType, tensor } from "./tensor-types.ts";
import { type Dim, dimToString, type Type } from "./types.ts";

/** A constant a rule can read: `axis: 1`, `axis: [0, 2]`, `keepdims: true`, `classes: 10`. */
export type Constant = number | boolean | string | number[] | { dims: Dim[] } | undefined;

export interface BuiltinArgs {
  positional: Type[];
  /** Each positional argument read as a dimension (`eye(N)`), for functions that build shapes. */
  positionalDims: Dim[];
  named: Map<string, { type: Type; constant: Constant }>;
}

export interface Builtin {
  /** Settings the function accepts by name, besides its positional tensors. */
  settings: string[];
  /** Positional arity: [min, max]. */
  arity: [number, number];
  rule: (args: BuiltinArgs) => Type | string;
}

const elementwise: Builtin = {
  settings: [],
  arity: [1, 1],
  rule: ({ positional }) => positional[0]!,
};

function asTensor(type: Type): TensorType | undefined {
  if (type.kind === "tensor") return type;
  if (type.kind === "number" || type.kind === "int") return SCALAR;
  if (type.kind === "bool") return tensor([], "bool");
  return undefined;
}

function normalizeAxis(axis: number, rank: number): number | string {
  const resolved = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || resolved < 0 || resolved >= rank) {
    return `axis ${axis} is out of range for a tensor of rank ${rank}`;
  }
  return resolved;
}

function axesOf(constant: Constant, rank: number): number[] | string {
  if (constant === undefined) return [...Array(rank).keys()];
  const list = typeof constant === "number" ? [constant] : Array.isArray(constant) ? constant : undefined;
  if (!list) return "axis must be an integer or a list of integers";
  const out: number[] = [];
  for (const a of list) {
    const r = normalizeAxis(a, rank);
    if (typeof r === "string") return r;
    out.push(r);
  }
  return out;
}

function reduce(dims: readonly Dim[], axes: number[], keepdims: boolean): Dim[] {
  return dims.flatMap((d, i) => (axes.includes(i) ? (keepdims ? [size(1)] : []) : [d]));
}

const reduction: Builtin = {
  settings: ["axis", "keepdims"],
  arity: [1, 1],
  rule: ({ positional, named }) => {
    const x = asTensor(positional[0]!);
    if (!x) return "expects a tensor";
    const axes = axesOf(named.get("axis")?.constant, x.dims.length);
    if (typeof axes === "string") return axes;
    return tensor(reduce(x.dims, axes, named.get("keepdims")?.constant === true), x.dtype);
  },
};

/** `max(x, axis: 1)` reduces; `max(a, b)` is elementwise. */
const maxOrMin: Builtin = {
  settings: ["axis", "keepdims"],
  arity: [1, 2],
  rule: (args) => (args.positional.length === 2 ? broadcastRule(args) : reduction.rule(args)),
};

function broadcastRule({ positional }: BuiltinArgs): Type | string {
  let dims: Dim[] = [];
  let dtype = "f32";
  for (const arg of positional) {
    const t = asTensor(arg);
    if (!t) return "expects tensors or numbers";
    const r = broadcastShapes(dims, t.dims);
    if (typeof r === "string") return r;
    dims = r;
    dtype = t.dtype === "bool" ? dtype : t.dtype;
  }
  return tensor(dims, dtype);
}

const alongAxis: Builtin = {
  settings: ["axis"],
  arity: [1, 1],
  rule: ({ positional, named }) => {
    const x = asTensor(positional[0]!);
    if (!x) return "expects a tensor";
    const axis = named.get("axis")?.constant ?? -1;
    if (typeof axis !== "number") return "axis must be an integer";
    const r = normalizeAxis(axis, x.dims.length);
    return typeof r === "string" ? r : x;
  },
};

const entropy: Builtin = {
  settings: ["axis", "eps"],
  arity: [1, 1],
  rule: ({ positional, named }) => {
    const x = asTensor(positional[0]!);
    if (!x) return "expects a tensor";
    const axes = axesOf(named.get("axis")?.constant ?? -1, x.dims.length);
    return typeof axes === "string" ? axes : tensor(reduce(x.dims, axes, false), x.dtype);
  },
};

const cosine: Builtin = {
  settings: ["axis"],
  arity: [2, 2],
  rule: (args) => {
    const joined = broadcastRule(args);
    if (typeof joined === "string" || joined.kind !== "tensor") return joined;
    const axes = axesOf(args.named.get("axis")?.constant ?? -1, joined.dims.length);
    return typeof axes === "string" ? axes : tensor(reduce(joined.dims, axes, false), joined.dtype);
  },
};

/** Batched matrix product with NumPy's rules for 1-D operands. */
export function matmulType(a: TensorType, b: TensorType): TensorType | string {
  if (a.dims.length === 0 || b.dims.length === 0) return "matrix product needs tensors of rank 1 or more";
  const left = a.dims.length === 1 ? [size(1), a.dims[0]!] : a.dims;
  const right = b.dims.length === 1 ? [b.dims[0]!, size(1)] : b.dims;
  const k1 = left[left.length - 1]!;
  const k2 = right[right.length - 2]!;
  if (
    k1.kind === "size" && k2.kind === "size"
      ? k1.value !== k2.value
      : k1.kind === "symbol" && k2.kind === "symbol" && k1.name !== k2.name
  ) {
    return `inner dimensions disagree: ${shapeToString(a.dims)} @ ${shapeToString(b.dims)} (${dimToString(k1)} vs ${dimToString(k2)})`;
  }
  const batch = broadcastShapes(left.slice(0, -2), right.slice(0, -2));
  if (typeof batch === "string") return batch;
  const out = [...batch];
  if (a.dims.length > 1) out.push(left[left.length - 2]!);
  if (b.dims.length > 1) out.push(right[right.length - 1]!);
  return tensor(out, a.dtype);
}

function listOfDims(constant: Constant): Dim[] | string {
  if (Array.isArray(constant)) return constant.map(size);
  if (constant && typeof constant === "object") return constant.dims;
  return "shape must be a list of sizes";
}

export const BUILTINS: Record<string, Builtin> = {
  exp: elementwise,
  log: elementwise,
  sqrt: elementwise,
  rsqrt: elementwise,
  abs: elementwise,
  neg: elementwise,
  sign: elementwise,
  sin: elementwise,
  cos: elementwise,
  relu: elementwise,
  sigmoid: elementwise,
  softplus: elementwise,
  tanh: elementwise,
  erf: elementwise,
  gelu: elementwise,
  quick_gelu: elementwise,
  detach: elementwise,
  sum: reduction,
  mean: reduction,
  logsumexp: reduction,
  variance: { ...reduction, settings: ["axis", "keepdims", "unbiased"] },
  argmax: {
    ...reduction,
    rule: (args) => {
      const r = reduction.rule(args);
      return typeof r === "string" || r.kind !== "tensor" ? r : tensor(r.dims, "i32");
    },
  },
  max: maxOrMin,
  min: maxOrMin,
  where: { settings: [], arity: [3, 3], rule: broadcastRule },
  softmax: alongAxis,
  log_softmax: alongAxis,
  normalize: alongAxis,
  entropy,
  cosine,
  transpose: {
    settings: [],
    arity: [1, 1],
    rule: ({ positional }) => {
      const x = asTensor(positional[0]!);
      if (!x || x.dims.length < 2) return "transpose needs a tensor of rank 2 or more";
      const dims = [...x.dims];
      [dims[dims.length - 1], dims[dims.length - 2]] = [dims[dims.length - 2]!, dims[dims.length - 1]!];
      return tensor(dims, x.dtype);
    },
  },
  permute: {
    settings: ["axes"],
    arity: [1, 1],
    rule: ({ positional, named }) => {
      const x = asTensor(positional[0]!);
      const axes = named.get("axes")?.constant;
      if (!x) return "expects a tensor";
      if (!Array.isArray(axes) || axes.length !== x.dims.length || new Set(axes).size !== axes.length) {
        return `axes must list each of the ${x.dims.length} axes once`;
      }
      const dims: Dim[] = [];
      for (const a of axes) {
        const r = normalizeAxis(a, x.dims.length);
        if (typeof r === "string") return r;
        dims.push(x.dims[r]!);
      }
      return tensor(dims, x.dtype);
    },
  },
  reshape: {
    settings: ["shape"],
    arity: [1, 1],
    rule: ({ named }) => {
      const dims = listOfDims(named.get("shape")?.constant);
      return typeof dims === "string" ? dims : tensor(dims);
    },
  },
  concat: {
    settings: ["axis"],
    arity: [1, 8],
    rule: ({ positional, named }) => {
      const parts = positional.map(asTensor);
      if (parts.some((p) => !p || p.dims.length === 0)) return "concat joins tensors of rank 1 or more";
      const first = parts[0]!;
      const axisConstant = named.get("axis")?.constant ?? 0;
      if (typeof axisConstant !== "number") return "axis must be an integer";
      const axis = normalizeAxis(axisConstant, first.dims.length);
      if (typeof axis === "string") return axis;
      const along = parts.map((p) => p!.dims[axis]!);
      const total = along.every((d) => d.kind === "size")
        ? size(along.reduce((s, d) => s + (d as { value: number }).value, 0))
        : ({ kind: "derived", text: along.map(dimToString).join(" + ") } as Dim);
      const dims = [...first.dims];
      dims[axis] = total;
      return tensor(dims, first.dtype);
    },
  },
  layer_norm: { settings: ["eps"], arity: [1, 3], rule: ({ positional }) => positional[0]! },
  attention: {
    settings: ["heads", "mask", "causal"],
    arity: [3, 3],
    rule: ({ positional }) => {
      const [q, , v] = positional.map(asTensor);
      if (!q || !v || q.dims.length < 2)
        return "attention expects query, key and value tensors of rank 2 or more";
      return tensor([...q.dims.slice(0, -1), v.dims[v.dims.length - 1]!], q.dtype);
    },
  },
  cross_entropy: {
    settings: ["smoothing"],
    arity: [2, 2],
    rule: ({ positional }) => {
      const logits = asTensor(positional[0]!);
      const labels = asTensor(positional[1]!);
      if (!logits || !labels || logits.dims.length !== labels.dims.length + 1) {
        return "cross_entropy expects logits [..., C] and integer labels [...]";
      }
      return SCALAR;
    },
  },
  one_hot: {
    settings: ["classes"],
    arity: [1, 1],
    rule: ({ positional, named }) => {
      const labels = asTensor(positional[0]!);
      const classes = named.get("classes");
      if (!labels) return "expects integer labels";
      const constant = classes?.constant;
      if (typeof constant === "number") return tensor([...labels.dims, size(constant)]);
      if (constant && typeof constant === "object" && !Array.isArray(constant) && constant.dims[0]) {
        return tensor([...labels.dims, constant.dims[0]]);
      }
      return "classes must be a number of classes";
    },
  },
  gather: {
    settings: ["axis"],
    arity: [2, 2],
    rule: ({ positional }) => {
      const x = asTensor(positional[0]!);
      const index = asTensor(positional[1]!);
      if (!x || !index) return "gather expects a tensor and an index tensor";
      return tensor([...index.dims, ...x.dims.slice(1)], x.dtype);
    },
  },
  linear: {
    settings: [],
    arity: [2, 3],
    rule: ({ positional }) => {
      const x = asTensor(positional[0]!);
      const w = asTensor(positional[1]!);
      if (!x || !w || w.dims.length !== 2) return "linear expects x [..., in] and weight [out, in]";
      const r = matmulType(x, tensor([w.dims[1]!, w.dims[0]!]));
      return r;
    },
  },
  zeros: shapeFactory(),
  ones: shapeFactory(),
  randn: shapeFactory(),
  full: { ...shapeFactory(), settings: ["shape", "value"] },
  eye: {
    settings: [],
    arity: [1, 1],
    rule: ({ positionalDims }) => tensor([positionalDims[0]!, positionalDims[0]!]),
  },
};

function shapeFactory(): Builtin {
  return {
    settings: ["shape"],
    arity: [0, 0],
    rule: ({ named }) => {
      const dims = listOfDims(named.get("shape")?.constant);
      return typeof dims === "string" ? dims : tensor(dims);
    },
  };
}
