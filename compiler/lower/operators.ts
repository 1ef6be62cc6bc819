// The language's operators on lowered values: arithmetic, comparisons, `and`/`or`/`not`, unary minus and
// `@`. Constants fold at lowering time (settings are constants, so `mode == uniform` is decided here);
// a constant meeting a tensor becomes a scalar of the dtype both meet at (values.ts, commonDtype).

import { foldBinary } from "../fold.ts";
import type { GraphBuilder } from "../graph/builder.ts";
import type { Value } from "../graph/graph.ts";
import { fault } from "./errors.ts";
import {
  boolValue,
  commonDtype,
  describe,
  type LValue,
  numberValue,
  tensorValue,
  toBool,
  toFloat,
  toTensor,
} from "./values.ts";

const ARITH = new Set(["+", "-", "*", "/", "%", "**"]);
const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);

function foldConstants(op: string, a: LValue, b: LValue): LValue {
  if ((op === "==" || op === "!=") && a.kind !== "number" && a.kind !== "bool") {
    // Symbols, strings and none compare by identity.
    const key = (v: LValue) =>
      v.kind === "symbol" ? `symbol:${v.name}` : v.kind === "string" ? `string:${v.value}` : v.kind;
    const same = key(a) === key(b);
    return boolValue(op === "==" ? same : !same);
  }
  const num = (v: LValue): number => {
    if (v.kind === "number") return v.value;
    if (v.kind === "bool") return v.value ? 1 : 0;
    return fault("type", `operator '${op}' needs numbers or tensors, got ${describe(v)}`);
  };
  const r = foldBinary(op, num(a), num(b));
  if (r === undefined) return fault("type", `operator '${op}' does not apply to numbers`);
  if (typeof r === "boolean") return boolValue(r);
  const integer =
    a.kind === "number" && b.kind === "number" && a.integer && b.integer && op !== "/" && Number.isInteger(r);
  return numberValue(r, integer);
}

/** `a op b` for the arithmetic and comparison operators, with NumPy broadcasting. */
export function binaryOp(b: GraphBuilder, op: string, left: LValue, right: LValue): LValue {
  if (op === "and" || op === "or") return logical(b, op, left, right);
  if (op === "@") return tensorValue(matmulNumpy(b, left, right));
  if (!ARITH.has(op) && !COMPARE.has(op)) fault("unsupported", `operator '${op}' is not lowered`);
  if (left.kind !== "tensor" && right.kind !== "tensor") return foldConstants(op, left, right);
  for (const v of [left, right]) {
    if (v.kind !== "tensor" && v.kind !== "number" && v.kind !== "bool") {
      fault("type", `operator '${op}' needs numbers or tensors, got ${describe(v)}`);
    }
  }
  if (COMPARE.has(op)) {
    const dtype = commonDtype([left, right], "compare");
    const [x, y] = [toTensor(b, left, dtype), toTensor(b, right, dtype)];
    const name = { "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" }[op] as
      | "eq"
      | "ne"
      | "lt"
      | "le"
      | "gt"
      | "ge";
    return tensorValue(b.binary(name, x, y));
  }
  const dtype = op === "/" || op === "**" ? "f32" : commonDtype([left, right], "arith");
  const meet =
    dtype === "f32" && [left, right].some((v) => v.kind === "tensor" && v.value.dtype === "f16")
      ? "f16"
      : dtype;
  const x = toTensor(b, left, meet);
  const y = toTensor(b, right, meet);
  switch (op) {
    case "+":
      return tensorValue(b.add(x, y));
    case "-":
      return tensorValue(b.sub(x, y));
    case "*":
      return tensorValue(b.mul(x, y));
    case "/":
      return tensorValue(b.div(x, y));
    case "**":
      return tensorValue(power(b, x, right, y));
    default:
      return tensorValue(modulo(b, x, y));
  }
}

/** x ** y; a constant exponent 2 is x·x, exact and cheap. */
function power(b: GraphBuilder, x: Value, exponent: LValue, y: Value): Value {
  if (exponent.kind === "number" && exponent.value === 2) return b.mul(x, x);
  if (exponent.kind === "number" && exponent.value === 1) return x;
  return b.pow(x, y);
}

/** Python's modulo (the sign of the divisor): x − floor(x / y)·y, in float, cast back for i32. */
function modulo(b: GraphBuilder, x: Value, y: Value): Value {
  const [fx, fy] = [toFloat(b, tensorValue(x)), toFloat(b, tensorValue(y))];
  const r = b.sub(fx, b.mul(b.unary("floor", b.div(fx, fy)), fy));
  return x.dtype === "i32" ? b.cast(r, "i32") : r;
}

function logical(b: GraphBuilder, op: "and" | "or", left: LValue, right: LValue): LValue {
  const truth = (v: LValue): boolean | undefined =>
    v.kind === "bool" ? v.value : v.kind === "number" ? v.value !== 0 : undefined;
  const [l, r] = [truth(left), truth(right)];
  for (const v of [left, right]) {
    if (v.kind !== "tensor" && truth(v) === undefined)
      fault("type", `'${op}' needs bools, got ${describe(v)}`);
  }
  if (l !== undefined && r !== undefined) return boolValue(op === "and" ? l && r : l || r);
  // A constant side decides or passes the other side through.
  const known = l ?? r;
  const other = l === undefined ? left : right;
  if (known !== undefined) {
    if (op === "and") return known ? tensorValue(toBool(b, other)) : boolValue(false);
    return known ? boolValue(true) : tensorValue(toBool(b, other));
  }
  const [x, y] = [toBool(b, left), toBool(b, right)];
  return tensorValue(
    op === "and" ? b.select(x, y, b.scalar(0, "bool")) : b.select(x, b.scalar(1, "bool"), y),
  );
}

export function unaryOp(b: GraphBuilder, op: string, operand: LValue): LValue {
  if (op === "not") {
    if (operand.kind === "bool") return boolValue(!operand.value);
    if (operand.kind === "number") return boolValue(operand.value === 0);
    if (operand.kind !== "tensor") fault("type", `'not' needs a bool, got ${describe(operand)}`);
    return tensorValue(b.eq(toBool(b, operand), b.scalar(0, "bool")));
  }
  if (op === "-") {
    if (operand.kind === "number") return numberValue(-operand.value, operand.integer);
    if (operand.kind !== "tensor")
      fault("type", `unary '-' needs a number or a tensor, got ${describe(operand)}`);
    const x = operand.value.dtype === "bool" ? b.cast(operand.value, "f32") : operand.value;
    return tensorValue(b.neg(x));
  }
  return fault("unsupported", `unary operator '${op}' is not lowered`);
}

/**
 * Batched matrix product with NumPy's rules: a 1-D left operand is a row [1, K] and a 1-D right operand
 * a column [K, 1], the inserted axis removed from the result; batch axes broadcast.
 */
export function matmulNumpy(b: GraphBuilder, left: LValue, right: LValue): Value {
  if (left.kind !== "tensor" || right.kind !== "tensor") {
    fault("type", `'@' needs two tensors, got ${describe(left)} and ${describe(right)}`);
  }
  const [x, y] = [toFloat(b, left), toFloat(b, right)];
  if (x.shape.length === 0 || y.shape.length === 0)
    fault("shape", "matrix product needs tensors of rank 1 or more");
  const xm = x.shape.length === 1 ? b.reshape(x, [1, x.shape[0]!]) : x;
  const ym = y.shape.length === 1 ? b.reshape(y, [y.shape[0]!, 1]) : y;
  const m = b.matmul(xm, ym);
  const shape = [...m.shape];
  if (x.shape.length === 1 && y.shape.length === 1) shape.splice(-2, 2);
  else if (x.shape.length === 1) shape.splice(-2, 1);
  else if (y.shape.length === 1) shape.splice(-1, 1);
  return b.reshape(m, shape);
}
