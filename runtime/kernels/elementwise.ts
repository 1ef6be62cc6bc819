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

/** A WGSL expression of exprType(to) from `v` of exprType(from). */
function convert(v: string, from: DType, to: DType): string {
  const f = exprType(from);
  const t = exprType(to);
  if (f === t) return v;
  if (t === "bool") return `(${v} != ${literal(0, f)})`;
  if (f === "bool") return `select(${literal(0, t)}, ${literal(1, t)}, ${v})`;
  return `${t}(${v})`;
}

function unaryExpr(op: OpOf<"unary">, a: string, t: "f32" | "f16" | "i32" | "bool"): string {
  const zero = t === "bool" ? "false" : literal(0, t);
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
      return t === "i32" || t === "f16" ? `${t}(${floatUnary(op, `f32(${a})`)})` : floatUnary(op, a);
  }
}

function floatUnary(
  op: Exclude<OpOf<"unary">, "neg" | "abs" | "sign" | "relu" | "floor" | "stop_gradient" | "cast">,
  a: string,
): string {
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
      return `tanh_f32(${a})`;
    case "sigmoid":
      return `sigmoid_f32(${a})`;
    case "softplus":
      return `(max(${a}, 0.0f) + log(1.0f + exp(-abs(${a}))))`;
    case "erf":
      return `erf_f32(${a})`;
    case "sin":
      return `sin(${a})`;
    case "cos":
      return `cos(${a})`;
  }
}

const INFIX = { add: "+", sub: "-", mul: "*", div: "/" } as const;
const COMPARE = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

function binaryExpr(op: OpOf<"binary"> | OpOf<"compare">, a: string, b: string, t: string): string {
  if (op in INFIX) return `(${a} ${INFIX[op as keyof typeof INFIX]} ${b})`;
  if (op in COMPARE) return `(${a} ${COMPARE[op as keyof typeof COMPARE]} ${b})`;
  if (op === "maximum") return `max(${a}, ${b})`;
  if (op === "minimum") return `min(${a}, ${b})`;
  // pow
  return t === "i32" || t === "f16" ? `${t}(pow_f32(f32(${a}), f32(${b})))` : `pow_f32(${a}, ${b})`;
}

/**
 * The `let` lines evaluating `p` at flat position `index` of its shape, reading operand k through
 * `read(k, offset)` (offset: the operand's element offset for that position). Returns the lines and
 * the result's name, as its exprType.
 */
function programLines(
  p: ElementwiseProgram,
  read: (k: number, offset: string) => string,
  index: string,
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
        const o = p.operands[s.input]!;
        const at = offsetExpr(p.shape, broadcastStrides(o.shape, p.shape), index);
        const v = read(s.input, at);
        expr = o.dtype === "bool" ? `(${v} != 0i)` : v;
        t = o.dtype;
        break;
      }
      case "literal":
        expr = literal(s.value, exprType(s.dtype));
        t = s.dtype;
        break;
      case "iota": {
        const st = strides[s.axis]!;
        const coord = st === 1 ? index : `(${index} / ${st}u)`;
        expr = `i32(${s.axis === 0 ? coord : `${coord} % ${p.shape[s.axis]!}u`})`;
        t = "i32";
        break;
      }
      case "random":
        expr = randomExpr(s.dist, s.seed, s.offset, index);
        t = "f32";
        break;
      case "op": {
        const args = s.args.map((a) => names[a]!);
        const argTypes = s.args.map((a) => dtypeOf(p, a));
        t = s.dtype;
        if (s.op === "select") {
          expr = `select(${args[2]}, ${args[1]}, ${args[0]})`;
        } else if (s.op === "cast") {
          expr = convert(args[0]!, argTypes[0]!, s.dtype);
        } else if (s.args.length === 1) {
          expr = unaryExpr(s.op as OpOf<"unary">, args[0]!, exprType(argTypes[0]!));
        } else {
          expr = binaryExpr(s.op as OpOf<"binary">, args[0]!, args[1]!, exprType(argTypes[0]!));
        }
        break;
      }
    }
    lines.push(`  let ${name}: ${exprType(t)} = ${expr};`);
  });
  return { lines, result: names[p.result]! };
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
  const { lines, result } = programLines(p, (k, at) => (k === self ? "x" : `${names[k]}[${at}]`), "i");
  const args = self === undefined ? "i: u32" : "i: u32, x: f32";
  return [`fn ${fnName}(${args}) -> f32 {`, ...lines, `  return ${result};`, "}"].join("\n");
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
  const { lines, result: r } = programLines(p, (k, at) => `in${k}[${at}]`, "i");
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
