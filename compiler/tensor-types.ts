// Symbolic tensor shapes: dimensions from annotations, unification of a call's shapes with a
// definition's parameters, and NumPy broadcasting over symbols.

import type { Expr } from "../grammar/ast.ts";
import { type Dim, dimToString, type Type } from "./types.ts";

export type TensorType = Type & { kind: "tensor" };

export function tensor(dims: Dim[], dtype = "f32"): TensorType {
  return { kind: "tensor", dtype, dims };
}

export const SCALAR: TensorType = tensor([]);

export function size(value: number): Dim {
  return { kind: "size", value };
}

/** A dimension written in an annotation: `64`, `N`, or a derived expression such as `width / heads`. */
export function symbolicDim(expr: Expr): Dim {
  if (expr.kind === "Number" && expr.isInteger) return size(expr.value);
  if (expr.kind === "Name") return { kind: "symbol", name: expr.name };
  return { kind: "derived", text: dimExprText(expr) };
}

function dimExprText(expr: Expr): string {
  switch (expr.kind) {
    case "Number":
      return expr.text;
    case "Name":
      return expr.name;
    case "Binary":
      return `${wrap(expr.left)} ${expr.op} ${wrap(expr.right)}`;
    case "Unary":
      return `${expr.op}${wrap(expr.operand)}`;
    case "Member":
      return `${dimExprText(expr.object)}.${expr.property.name}`;
    default:
      return "?";
  }
}

function wrap(expr: Expr): string {
  return expr.kind === "Binary" ? `(${dimExprText(expr)})` : dimExprText(expr);
}

export function shapeToString(dims: readonly Dim[]): string {
  return `[${dims.map(dimToString).join(", ")}]`;
}

function sameDim(a: Dim, b: Dim): boolean {
  return dimToString(a) === dimToString(b);
}

/** Whether two dimensions may be the same size: equal sizes, the same symbol, or anything unknown. */
export function compatibleDims(a: Dim, b: Dim): boolean {
  if (a.kind === "size" && b.kind === "size") return a.value === b.value;
  if (a.kind === "symbol" && b.kind === "symbol") return a.name === b.name;
  return true;
}

export interface ShapeProblem {
  code: "V4001" | "V4005";
  message: string;
}

/**
 * Binds the symbols of a declared shape to an actual shape. Returns a description of the first
 * disagreement, or undefined when they unify. `bindings` carries symbols across the parameters of one call.
 */
export function unifyTensorTypes(
  declared: TensorType,
  actual: TensorType,
  bindings: Map<string, Dim>,
): ShapeProblem | undefined {
  if (declared.dims.length !== actual.dims.length) {
    const dims = (n: number) => `${n} dimension${n === 1 ? "" : "s"}`;
    return {
      code: "V4001",
      message: `expected ${dims(declared.dims.length)} ${shapeToString(declared.dims)}, found ${dims(actual.dims.length)} ${shapeToString(actual.dims)}`,
    };
  }
  for (let i = 0; i < declared.dims.length; i++) {
    const want = declared.dims[i]!;
    const got = actual.dims[i]!;
    if (want.kind === "symbol") {
      const bound = bindings.get(want.name);
      if (!bound) {
        bindings.set(want.name, got);
      } else if (!compatibleDims(bound, got)) {
        return {
          code: "V4005",
          message: `'${want.name}' stands for ${dimToString(bound)} already, but is ${dimToString(got)} here (dimension ${i} of ${shapeToString(actual.dims)})`,
        };
      }
    } else if (want.kind === "size" && !compatibleDims(want, got)) {
      return { code: "V4001", message: `dimension ${i} must be ${want.value}, found ${dimToString(got)}` };
    }
  }
  return undefined;
}

/** Substitutes bound symbols into a shape (for the result type of a call). */
export function substitute(type: TensorType, bindings: Map<string, Dim>): TensorType {
  return tensor(
    type.dims.map((d) => (d.kind === "symbol" ? (bindings.get(d.name) ?? d) : d)),
    type.dtype,
  );
}

/** NumPy broadcasting, right-aligned; size 1 stretches, distinct symbols do not. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] | string {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i];
    const y = b[b.length - rank + i];
    if (!x) out.push(y!);
    else if (!y) out.push(x);
    else if (x.kind === "size" && x.value === 1) out.push(y);
    else if (y.kind === "size" && y.value === 1) out.push(x);
    else if (sameDim(x, y)) out.push(x);
    else if (compatibleDims(x, y)) out.push(x.kind === "size" ? x : y);
    else
      return `cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}: ${dimToString(x)} vs ${dimToString(y)}`;
  }
  return out;
}
