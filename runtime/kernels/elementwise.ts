// Fused elementwise kernels: a small expression DAG over external operands (each read with its own
// broadcast index math), evaluated once per output element and written to one result. A single
// primitive is the one-step case; chains of unary/binary/compare/select/cast ops, scalar constants,
// fills, iota and random sources fuse into one kernel.

import type { DType, OpOf } from "../../compiler/graph/ops.ts";
import {
  boundedMain,
  broadcastStrides,
  count,
  DEFAULT_TARGET,
  declareBindings,
  exprType,
  F32_BITS,
  f32BitsPrefix,
  grid,
  helpers,
  type Kernel,
  type KernelTarget,
  literal,
  offsetExpr,
  storageType,
  stridesOf,
} from "./kernel.ts";
import { PHILOX_WGSL, randomExpr } from "./random.ts";

export type ElementwiseOp = OpOf<"unary"> | OpOf<"binary"> | OpOf<"compare"> | OpOf<"ternary">;

/** One step of the expression; `args` index earlier steps. Every step has the program's shape. */
export type EwStep =
  | { readonly kind: "input"; readonly input: number; readonly dtype: DType }
  | { readonly kind: "literal"; readonly value: number; readonly dtype: DType }
  | { readonly kind: "iota"; readonly axis: number }
  | {
      readonly kind: "random";
      readonly dist: "uniform" | "normal";
      readonly seed: number;
      readonly offset: number;
    }
  | {
      readonly kind: "op";
      readonly op: ElementwiseOp;
      readonly args: readonly number[];
      readonly dtype: DType;
    };

export interface EwOperand {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface ElementwiseProgram {
  /** The result's shape; every operand broadcasts to it. */
  readonly shape: readonly number[];
  readonly operands: readonly EwOperand[];
  readonly steps: readonly EwStep[];
  /** The step written out (its dtype is the result's). */
  readonly result: number;
}

const HELPERS = {
  "f32_bits(": F32_BITS,
  "erf_f32(": `// erf: Taylor series near 0 (relative accuracy), Abramowitz-Stegun 7.1.26 beyond (|error| < 1.5e-7).
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5f) {
    let x2 = x * x;
    return 1.1283791671f * x * (1.0f + x2 * (-0.333333333f + x2 * (0.1f + x2 * (-0.0238095238f + x2 * 0.00462962963f))));
  }
  let t = 1.0f / (1.0f + 0.3275911f * a);
  let p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return sign(x) * (1.0f - p * exp(-a * a));
}`,
  "pow_f32(": `// pow as C defines it on the reals: negative bases with integer exponents, pow(x, 0) = 1.
fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0f) {
    return 1.0f;
  }
  let r = pow(abs(a), b);
  if (a >= 0.0f) {
    return r;
  }
  if (floor(b) != b) {
    return f32_bits(0x7fc00000u);
  }
  return select(r, -r, fract(b * 0.5f) != 0.0f);
}`,
  "sigmoid_f32(": `fn sigmoid_f32(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0f + e), 1.0f / (1.0f + e), x >= 0.0f);
}`,
  "tanh_f32(": `// tanh through exp of a non-positive argument: never overflows.
fn tanh_f32(x: f32) -> f32 {
  let e = exp(-2.0f * abs(x));
  return sign(x) * (1.0f - e) / (1.0f + e);
}`,
  philox_: PHILOX_WGSL,
};

/**
 * How many consecutive elements a program's values hold: one (scalars), or `width` as a vector of
 * that width, one lane per element. WGSL builtins and operators act lane by lane on vectors; the
 * helper functions (erf_f32, pow_f32, …) take scalars, so they are called once per lane.
 */
interface Lanes {
  /** The WGSL type of a value whose elements have scalar type `t`. */
  type(t: string): string;
  /** Every lane `v`, a scalar expression of type `t`. */
  splat(v: string, t: string): string;
  /** A value of element type `t` whose lane c is `f(lane, c)`, `lane(e)` selecting lane c of `e`. */
  each(t: string, f: (lane: (e: string) => string, c: number) => string): string;
}

const SCALAR: Lanes = { type: (t) => t, splat: (v) => v, each: (_, f) => f((e) => e, 0) };

function vectorLanes(width: 2 | 4): Lanes {
  const components = ["x", "y", "z", "w"].slice(0, width);
  return {
    type: (t) => `vec${width}<${t}>`,
    splat: (v, t) => `vec${width}<${t}>(${v})`,
    each: (t, f) => `vec${width}<${t}>(${components.map((c, k) => f((e) => `${e}.${c}`, k)).join(", ")})`,
  };
}

/** A WGSL expression of exprType(to) from `v` of exprType(from). */
function convert(v: string, from: DType, to: DType, lanes: Lanes): string {
  const f = exprType(from);
  const t = exprType(to);
  if (f === t) return v;
  if (t === "bool") return `(${v} != ${lanes.splat(literal(0, f), f)})`;
  if (f === "bool") return `select(${lanes.splat(literal(0, t), t)}, ${lanes.splat(literal(1, t), t)}, ${v})`;
  return `${lanes.type(t)}(${v})`;
}

function unaryExpr(op: OpOf<"unary">, a: string, t: "f32" | "f16" | "i32" | "bool", lanes: Lanes): string {
  const zero = lanes.splat(t === "bool" ? "false" : literal(0, t), t);
  switch (op) {
    case "neg":
      return `(-${a})`;
    case "abs":
      return `abs(${a})`;
    case "sign":
      return `sign(${a})`;
    case "relu":
      return `max(${a}, ${zero})`;
    case "floor":
      return t === "i32" ? a : `floor(${a})`;
    case "stop_gradient":
    case "cast":
      return a;
    default:
      // The rest are float functions, evaluated at f32: an integer or f16 operand goes through f32 and the
      // result is rounded back, as PyTorch evaluates half functions in float.
      return t === "i32" || t === "f16"
        ? `${lanes.type(t)}(${floatUnary(op, `${lanes.type("f32")}(${a})`, lanes)})`
        : floatUnary(op, a, lanes);
  }
}

function floatUnary(
  op: Exclude<OpOf<"unary">, "neg" | "abs" | "sign" | "relu" | "floor" | "stop_gradient" | "cast">,
  a: string,
  lanes: Lanes,
): string {
  const perLane = (fn: string) => lanes.each("f32", (lane) => `${fn}(${lane(a)})`);
  switch (op) {
    case "exp":
      return `exp(${a})`;
    case "log":
      return `log(${a})`;
    case "sqrt":
      return `sqrt(${a})`;
    case "rsqrt":
      return `inverseSqrt(${a})`;
    case "reciprocal":
      return `(1.0f / ${a})`;
    case "tanh":
      return perLane("tanh_f32");
    case "sigmoid":
      return perLane("sigmoid_f32");
    case "softplus":
      return `(max(${a}, ${lanes.splat("0.0f", "f32")}) + log(1.0f + exp(-abs(${a}))))`;
    case "erf":
      return perLane("erf_f32");
    case "sin":
      return `sin(${a})`;
    case "cos":
      return `cos(${a})`;
  }
}

const INFIX = { add: "+", sub: "-", mul: "*", div: "/" } as const;
const COMPARE = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

function binaryExpr(
  op: OpOf<"binary"> | OpOf<"compare">,
  a: string,
  b: string,
  t: string,
  lanes: Lanes,
): string {
  if (op in INFIX) return `(${a} ${INFIX[op as keyof typeof INFIX]} ${b})`;
  if (op in COMPARE) return `(${a} ${COMPARE[op as keyof typeof COMPARE]} ${b})`;
  if (op === "maximum") return `max(${a}, ${b})`;
  if (op === "minimum") return `min(${a}, ${b})`;
  // pow
  return lanes.each(t, (lane) =>
    t === "i32" || t === "f16"
      ? `${t}(pow_f32(f32(${lane(a)}), f32(${lane(b)})))`
      : `pow_f32(${lane(a)}, ${lane(b)})`,
  );
}

/**
 * The `let` lines evaluating `p` over `lanes` consecutive flat positions of its shape, lane c at
 * `position(c)`, reading operand k as `read(k)` (a value of the operand's storage type over the lanes).
 * Returns the lines and the result's name, as its exprType over the lanes.
 */
function programLines(
  p: ElementwiseProgram,
  lanes: Lanes,
  read: (k: number) => string,
  position: (lane: number) => string,
): { lines: string[]; result: string } {
  const lines: string[] = [];
  const names: string[] = [];
  const strides = stridesOf(p.shape);
  p.steps.forEach((s, k) => {
    const name = `v${k}`;
    names.push(name);
    let expr: string;
    let t: DType;
    switch (s.kind) {
      case "input": {
        const v = read(s.input);
        expr = p.operands[s.input]!.dtype === "bool" ? `(${v} != ${lanes.splat("0i", "i32")})` : v;
        t = p.operands[s.input]!.dtype;
        break;
      }
      case "literal":
        expr = lanes.splat(literal(s.value, exprType(s.dtype)), exprType(s.dtype));
        t = s.dtype;
        break;
      case "iota": {
        const st = strides[s.axis]!;
        expr = lanes.each("i32", (_, c) => {
          const coord = st === 1 ? position(c) : `(${position(c)} / ${st}u)`;
          return `i32(${s.axis === 0 ? coord : `${coord} % ${p.shape[s.axis]!}u`})`;
        });
        t = "i32";
        break;
      }
      case "random":
        expr = lanes.each("f32", (_, c) => randomExpr(s.dist, s.seed, s.offset, position(c)));
        t = "f32";
        break;
      case "op": {
        const args = s.args.map((a) => names[a]!);
        const argTypes = s.args.map((a) => dtypeOf(p, a));
        t = s.dtype;
        if (s.op === "select") {
          expr = `select(${args[2]}, ${args[1]}, ${args[0]})`;
        } else if (s.op === "cast") {
          expr = convert(args[0]!, argTypes[0]!, s.dtype, lanes);
        } else if (s.args.length === 1) {
          expr = unaryExpr(s.op as OpOf<"unary">, args[0]!, exprType(argTypes[0]!), lanes);
        } else {
          expr = binaryExpr(s.op as OpOf<"binary">, args[0]!, args[1]!, exprType(argTypes[0]!), lanes);
        }
        break;
      }
    }
    lines.push(`  let ${name}: ${lanes.type(exprType(t))} = ${expr};`);
  });
  return { lines, result: names[p.result]! };
}

/** Operand k's element offset at flat position `index` of p's shape. */
function operandOffset(p: ElementwiseProgram, k: number, index: string): string {
  return offsetExpr(p.shape, broadcastStrides(p.operands[k]!.shape, p.shape), index);
}

/** The helper functions (erf, pow, Philox, …) that `code` calls, f32_bits included where used. */
export function programHelpers(code: string): string {
  const pre = helpers(code, HELPERS);
  return code.includes("f32_bits(") && !pre.includes("fn f32_bits")
    ? [F32_BITS, pre].filter(Boolean).join("\n\n")
    : pre;
}

/** The number of "op" steps: how many graph ops a program computes. */
export function programOps(p: ElementwiseProgram): number {
  return p.steps.filter((s) => s.kind === "op").length;
}

/**
 * A fused elementwise program as a WGSL function, for prologues and epilogues folded into other
 * kernels: `fn NAME(i: u32) -> f32` (or `fn NAME(i: u32, x: f32) -> f32` when operand `self` is the
 * host kernel's own value, passed in as x) evaluating `p` at flat position i of its shape. The other
 * operands are read from the module-scope arrays `names[k]`. The result must be f32.
 */
export function programFunction(
  p: ElementwiseProgram,
  fnName: string,
  names: readonly string[],
  self?: number,
): string {
  const read = (k: number) => (k === self ? "x" : `${names[k]}[${operandOffset(p, k, "i")}]`);
  const { lines, result } = programLines(p, SCALAR, read, () => "i");
  const args = self === undefined ? "i: u32" : "i: u32, x: f32";
  return [`fn ${fnName}(${args}) -> f32 {`, ...lines, `  return ${result};`, "}"].join("\n");
}

/**
 * The vector form of programFunction, for row kernels that read rows `width` elements at a time:
 * `fn NAME(i: u32) -> vecW<f32>` evaluating `p` at flat positions i*W .. i*W+W-1 of its shape, which
 * lie in one row (p's last axis is a multiple of W). An operand contiguous along the row is read as
 * one vector, so its binding (`names[k]`) holds vectors; one broadcast along the row (a mask over
 * [tokens, 1], a scalar) is read as one element for every lane. `types` gives each binding's element
 * type. f16 values compute as vecW<f16>. The result must be f32.
 */
export function programVectorFunction(
  p: ElementwiseProgram,
  fnName: string,
  names: readonly string[],
  width: 2 | 4,
): { code: string; types: string[] } {
  const rank = p.shape.length;
  const length = p.shape[rank - 1]!;
  if (rank === 0 || length % width !== 0)
    throw new Error(`internal error: rows of ${length} do not read ${width} elements at a time`);
  const lanes = vectorLanes(width);
  const vectorShape = [...p.shape.slice(0, -1), length / width];
  const alongRow = p.operands.map((o) => broadcastStrides(o.shape, p.shape)[rank - 1] === 1);
  const read = (k: number) => {
    const strides = broadcastStrides(p.operands[k]!.shape, p.shape);
    const t = storageType(p.operands[k]!.dtype);
    // Every stride but the row's is a multiple of the row: in vectors, each divides by the width.
    if (alongRow[k])
      return `${names[k]}[${offsetExpr(
        vectorShape,
        strides.map((s, a) => (a === rank - 1 ? 1 : s / width)),
        "i",
      )}]`;
    return lanes.splat(`${names[k]}[${offsetExpr(vectorShape, strides, "i")}]`, t);
  };
  const position = (c: number) => (c === 0 ? `(i * ${width}u)` : `(i * ${width}u + ${c}u)`);
  const { lines, result } = programLines(p, lanes, read, position);
  const code = [`fn ${fnName}(i: u32) -> ${lanes.type("f32")} {`, ...lines, `  return ${result};`, "}"].join(
    "\n",
  );
  const types = p.operands.map((o, k) =>
    alongRow[k] ? lanes.type(storageType(o.dtype)) : storageType(o.dtype),
  );
  return { code, types };
}

/** The WGSL for one fused elementwise program. */
export function elementwiseKernel(p: ElementwiseProgram, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const n = count(p.shape);
  const wg = 64;
  const dispatch = grid(Math.ceil(n / wg), target);
  const resultDtype = dtypeOf(p, p.result);
  const bindings = [
    ...p.operands.map((_, i) => ({ name: `in${i}`, access: "read" as const })),
    { name: "out", access: "read_write" as const },
  ];
  const types = [...p.operands.map((o) => storageType(o.dtype)), storageType(resultDtype)];
  const read = (k: number) => `in${k}[${operandOffset(p, k, "i")}]`;
  const { lines, result: r } = programLines(p, SCALAR, read, () => "i");
  const store = exprType(resultDtype) === "bool" ? `select(0i, 1i, ${r})` : r;
  const body = [...boundedMain(wg, "i", "out"), ...lines, `  out[i] = ${store};`, "}"].join("\n");
  const pre = helpers(body, HELPERS);
  const fns = `${f32BitsPrefix(`${pre}\n${body}`, pre)}${pre}`;
  const code = [declareBindings(bindings, types), fns, body].filter((s) => s !== "").join("\n\n");
  return {
    name: `elementwise[${programOps(p)}ops;${p.shape.join("x")}]`,
    code: `${code}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}

export function dtypeOf(p: ElementwiseProgram, step: number): DType {
  const s = p.steps[step]!;
  switch (s.kind) {
    case "input":
      return p.operands[s.input]!.dtype;
    case "literal":
    case "op":
      return s.dtype;
    case "iota":
      return "i32";
    case "random":
      return "f32";
  }
}
