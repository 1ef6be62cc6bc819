// The tensor graph's primitives, grouped, with their typed attributes. Nothing else lives here:
// shape rules are in shapes.ts, gradients in vjp-rules.ts, semantics in runtime/reference/.

export const DTYPES = ["f32", "f16", "i32", "bool"] as const;
export type DType = (typeof DTYPES)[number];

export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16";
}

export const OP_GROUPS = {
  /** Nodes without inputs: data, parameters, constants and counter-based random numbers. */
  source: ["input", "param", "constant", "full", "iota", "random_uniform", "random_normal"],
  /** Elementwise, one operand; `cast` converts dtype, `stop_gradient` is the identity that blocks autodiff. */
  unary: [
    "neg",
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "reciprocal",
    "tanh",
    "sigmoid",
    "softplus",
    "abs",
    "erf",
    "relu",
    "sin",
    "cos",
    "sign",
    "floor",
    "cast",
    "stop_gradient",
  ],
  /** Elementwise, two operands of one dtype, numpy broadcasting. */
  binary: ["add", "sub", "mul", "div", "pow", "maximum", "minimum"],
  /** Elementwise comparisons, numpy broadcasting, bool result. */
  compare: ["eq", "ne", "lt", "le", "gt", "ge"],
  /** select(cond, a, b): a where cond else b, numpy broadcasting of all three. */
  ternary: ["select"],
  reduce: ["sum", "max", "argmax"],
  movement: [
    "reshape",
    "permute",
    "broadcast",
    "slice",
    "concat",
    "pad",
    "gather",
    "take_along_axis",
    "scatter_add",
  ],
  contraction: ["matmul"],
} as const;

export type OpGroup = keyof typeof OP_GROUPS;
export type OpOf<G extends OpGroup> = (typeof OP_GROUPS)[G][number];
export type Op = OpOf<OpGroup>;

export const OPS: readonly Op[] = Object.values(OP_GROUPS).flat();

const GROUP_OF = new Map<string, OpGroup>(
  (Object.keys(OP_GROUPS) as OpGroup[]).flatMap((g) => OP_GROUPS[g].map((op) => [op, g] as const)),
);

export function opGroup(op: Op): OpGroup {
  return GROUP_OF.get(op)!;
}

export function isOp(name: string): name is Op {
  return GROUP_OF.has(name);
}

type NoAttrs = Record<never, never>;
type Shape = readonly number[];
interface ReduceAttrs {
  /** Reduced axes, non-negative and ascending once built. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}
interface RandomAttrs {
  readonly shape: Shape;
  /** Integer in [0, 2^53): the Philox key (see runtime/reference/philox.ts for the exact stream). */
  readonly seed: number;
  /** Integer counter offset: element i uses counter offset + i. */
  readonly offset: number;
}

interface SpecialAttrs {
  input: { readonly name: string; readonly shape: Shape; readonly dtype: DType };
  param: { readonly name: string; readonly shape: Shape; readonly dtype: DType; readonly trainable: boolean };
  /** Row-major values; a scalar constant has shape [] and one value. */
  constant: { readonly shape: Shape; readonly dtype: DType; readonly data: readonly number[] };
  full: { readonly shape: Shape; readonly dtype: DType; readonly value: number };
  /** i32 tensor whose value at each position is its index along `axis`. */
  iota: { readonly shape: Shape; readonly axis: number };
  random_uniform: RandomAttrs;
  random_normal: RandomAttrs;
  cast: { readonly dtype: DType };
  sum: ReduceAttrs;
  max: ReduceAttrs;
  /** Index of the first maximum, row-major over the reduced axes taken together. */
  argmax: ReduceAttrs;
  reshape: { readonly shape: Shape };
  /** Output axis i is input axis perm[i]. */
  permute: { readonly perm: readonly number[] };
  /** Numpy broadcasting to `shape` (new axes on the left, size-1 axes stretched). */
  broadcast: { readonly shape: Shape };
  /** Per axis: start inclusive, end exclusive, step >= 1; all within bounds. */
  slice: {
    readonly starts: readonly number[];
    readonly ends: readonly number[];
    readonly steps: readonly number[];
  };
  concat: { readonly axis: number };
  /** `interior` inserts that many `value`s between neighbours (so pad is the exact transpose of a strided slice). */
  pad: {
    readonly before: readonly number[];
    readonly after: readonly number[];
    readonly interior: readonly number[];
    readonly value: number;
  };
  /** gather(x, idx): x indexed along `axis` by an i32 tensor of any shape (embedding lookup). */
  gather: { readonly axis: number };
  /** take_along_axis(x, idx): idx has x's rank and shape except along `axis`. */
  take_along_axis: { readonly axis: number };
  /** scatter_add(base, idx, updates): base with updates[..j..] added at [..idx[..j..]..] along `axis`. */
  scatter_add: { readonly axis: number };
  /** Batched matmul over the last two axes; batch axes broadcast. */
  matmul: { readonly transA: boolean; readonly transB: boolean };
}

export type OpAttrs = { [K in Op]: K extends keyof SpecialAttrs ? SpecialAttrs[K] : NoAttrs };

/** Kinds of attribute values, for validating attributes that arrive untyped (JSON, lowering by name). */
export type AttrKind = "int" | "ints" | "number" | "numbers" | "bool" | "string" | "dtype";

const REDUCE_SCHEMA = { axes: "ints", keepdims: "bool" } as const;
const RANDOM_SCHEMA = { shape: "ints", seed: "int", offset: "int" } as const;

export const ATTR_SCHEMA: { readonly [K in Op]: { readonly [A in keyof OpAttrs[K]]: AttrKind } } = {
  input: { name: "string", shape: "ints", dtype: "dtype" },
  param: { name: "string", shape: "ints", dtype: "dtype", trainable: "bool" },
  constant: { shape: "ints", dtype: "dtype", data: "numbers" },
  full: { shape: "ints", dtype: "dtype", value: "number" },
  iota: { shape: "ints", axis: "int" },
  random_uniform: RANDOM_SCHEMA,
  random_normal: RANDOM_SCHEMA,
  neg: {},
  exp: {},
  log: {},
  sqrt: {},
  rsqrt: {},
  reciprocal: {},
  tanh: {},
  sigmoid: {},
  softplus: {},
  abs: {},
  erf: {},
  relu: {},
  sin: {},
  cos: {},
  sign: {},
  floor: {},
  cast: { dtype: "dtype" },
  stop_gradient: {},
  add: {},
  sub: {},
  mul: {},
  div: {},
  pow: {},
  maximum: {},
  minimum: {},
  eq: {},
  ne: {},
  lt: {},
  le: {},
  gt: {},
  ge: {},
  select: {},
  sum: REDUCE_SCHEMA,
  max: REDUCE_SCHEMA,
  argmax: REDUCE_SCHEMA,
  reshape: { shape: "ints" },
  permute: { perm: "ints" },
  broadcast: { shape: "ints" },
  slice: { starts: "ints", ends: "ints", steps: "ints" },
  concat: { axis: "int" },
  pad: { before: "ints", after: "ints", interior: "ints", value: "number" },
  gather: { axis: "int" },
  take_along_axis: { axis: "int" },
  scatter_add: { axis: "int" },
  matmul: { transA: "bool", transB: "bool" },
};

/** Number of inputs per group; `concat` alone is variadic (one or more). */
export function arity(op: Op): number | "variadic" {
  if (op === "concat") return "variadic";
  switch (opGroup(op)) {
    case "source":
      return 0;
    case "unary":
    case "reduce":
      return 1;
    case "binary":
    case "compare":
      return 2;
    case "ternary":
      return 3;
    case "movement":
      return op === "scatter_add" ? 3 : op === "gather" || op === "take_along_axis" ? 2 : 1;
    case "contraction":
      return 2;
  }
}
