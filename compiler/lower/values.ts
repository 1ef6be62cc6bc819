// What a tensor expression evaluates to while it is lowered: a graph value, or a constant known at
// lowering time (numbers and bools from literals and settings, enum symbols, dimension sizes, lists of
// them). Arithmetic on constants folds; a constant meets a tensor as a scalar of the tensor's dtype.

import type { GraphBuilder } from "../graph/builder.ts";
import type { Value } from "../graph/graph.ts";
import { type DType, isFloat } from "../graph/ops.ts";

export type LValue =
  | { readonly kind: "tensor"; readonly value: Value }
  | { readonly kind: "number"; readonly value: number; readonly integer: boolean }
  | { readonly kind: "bool"; readonly value: boolean }
  /** A member of an enumeration (`zeroShotMSP`), compared by name. */
  | { readonly kind: "symbol"; readonly name: string }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "none" }
  | { readonly kind: "list"; readonly items: readonly LValue[] };

export type Constant = Exclude<LValue, { kind: "tensor" }>;

export const tensorValue = (value: Value): LValue => ({ kind: "tensor", value });
export const numberValue = (value: number, integer = Number.isInteger(value)): LValue => ({
  kind: "number",
  value,
  integer,
});
export const boolValue = (value: boolean): LValue => ({ kind: "bool", value });

/** A short description of a value for messages: `f32[4, 3]`, `number 0.5`, `symbol uniform`. */
export function describe(v: LValue): string {
  switch (v.kind) {
    case "tensor":
      return `${v.value.dtype}[${v.value.shape.join(", ")}]`;
    case "number":
      return `${v.integer ? "int" : "number"} ${v.value}`;
    case "bool":
      return `bool ${v.value}`;
    case "symbol":
      return `symbol ${v.name}`;
    case "string":
      return `string ${JSON.stringify(v.value)}`;
    case "none":
      return "none";
    case "list":
      return `list of ${v.items.length}`;
  }
}

/** The dtype a constant takes when it becomes a tensor on its own: numbers are f32, as in the language. */
function constantDtype(v: LValue): DType {
  return v.kind === "bool" ? "bool" : "f32";
}

/** Whether a value can stand where a tensor is expected (a tensor, a number or a bool). */
export function isTensorLike(v: LValue): v is Extract<LValue, { kind: "tensor" | "number" | "bool" }> {
  return v.kind === "tensor" || v.kind === "number" || v.kind === "bool";
}

function scalarOf(v: LValue): number {
  if (v.kind === "number") return v.value;
  if (v.kind === "bool") return v.value ? 1 : 0;
  throw new TypeError(`expected a tensor or a number, got ${describe(v)}`);
}

/** The value as a graph value, a constant becoming a scalar of `dtype` (by default its own). */
export function toTensor(b: GraphBuilder, v: LValue, dtype?: DType): Value {
  if (v.kind === "tensor") return dtype ? b.cast(v.value, dtype) : v.value;
  return b.scalar(scalarOf(v), dtype ?? constantDtype(v));
}

/** The same value as a float tensor (integer and bool tensors are cast to f32). */
export function toFloat(b: GraphBuilder, v: LValue): Value {
  if (v.kind === "tensor") return isFloat(v.value.dtype) ? v.value : b.cast(v.value, "f32");
  return b.scalar(scalarOf(v), "f32");
}

/** The value as an i32 tensor (labels, indices). */
export function toIndex(b: GraphBuilder, v: LValue): Value {
  return toTensor(b, v, "i32");
}

/** The value as a bool tensor: non-zero is true. */
export function toBool(b: GraphBuilder, v: LValue): Value {
  if (v.kind === "tensor") return v.value.dtype === "bool" ? v.value : b.ne(v.value, 0);
  return b.scalar(scalarOf(v) !== 0 ? 1 : 0, "bool");
}

/**
 * The dtype the operands of an arithmetic op or a comparison meet at: a float tensor or a fractional
 * number makes them float; otherwise an i32 tensor makes them i32; bools compared with bools stay bool;
 * anything else (bool arithmetic, bare numbers) is f32, the language's default.
 */
export function commonDtype(operands: readonly LValue[], kind: "arith" | "compare"): DType {
  const tensors = operands.flatMap((o) => (o.kind === "tensor" ? [o.value.dtype] : []));
  const float = tensors.find((d) => isFloat(d));
  if (float) return float;
  if (operands.some((o) => o.kind === "number" && !o.integer)) return "f32";
  if (tensors.includes("i32")) return "i32";
  const allBool = operands.every(
    (o) => o.kind === "bool" || (o.kind === "tensor" && o.value.dtype === "bool"),
  );
  return kind === "compare" && allBool ? "bool" : "f32";
}

/** Whether any of the values is a graph value (otherwise the operation folds at lowering time). */
export function anyTensor(values: readonly LValue[]): boolean {
  return values.some((v) => v.kind === "tensor");
}

/** A graph value as an LValue, or the constant itself when it is one. */
export function shapeOf(v: LValue): readonly number[] {
  return v.kind === "tensor" ? v.value.shape : [];
}
