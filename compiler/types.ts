// The checker's types: plain settings values, categories of host objects, and tensors with symbolic shapes.

import type { Expr, TypeExpr } from "../grammar/ast.ts";

/** A tensor dimension: a known size, a symbol bound by first use (`N`), or a derived expression (`D / 4`). */
export type Dim =
  | { kind: "size"; value: number }
  | { kind: "symbol"; name: string }
  | { kind: "derived"; text: string };

export type Type =
  | { kind: "any" }
  | { kind: "int" }
  | { kind: "number" }
  | { kind: "string" }
  | { kind: "bool" }
  | { kind: "none" }
  /** A string naming a file or folder; checked to exist. */
  | { kind: "path" }
  | { kind: "list"; item: Type }
  | { kind: "record" }
  /** One of a fixed set of bare symbols: `end | middle | front`. */
  | { kind: "enum"; options: string[] }
  /** A host-made value: optimizer, schedule, source, metric, model, adapter, loss, … */
  | { kind: "category"; name: string }
  | { kind: "tensor"; dtype: string; dims: Dim[] }
  | { kind: "union"; options: Type[] };

export const ANY: Type = { kind: "any" };
export const INT: Type = { kind: "int" };
export const NUMBER: Type = { kind: "number" };
export const STRING: Type = { kind: "string" };
export const BOOL: Type = { kind: "bool" };
export const NONE: Type = { kind: "none" };

const PRIMITIVES: Record<string, Type> = {
  any: ANY,
  int: INT,
  number: NUMBER,
  string: STRING,
  bool: BOOL,
  none: NONE,
  path: { kind: "path" },
  record: { kind: "record" },
  scalar: { kind: "tensor", dtype: "f32", dims: [] },
};

export const DTYPES = ["f32", "f16", "bf16", "i32", "u32", "bool"];

/** Categories the compiler itself produces; with `<block>_ref`, they are never read as enum members in a union. */
const COMPILER_CATEGORIES = new Set(["model", "adapter", "loss", "fn", "site", "sites", "range"]);

function isCategoryName(name: string): boolean {
  return COMPILER_CATEGORIES.has(name) || name.endsWith("_ref");
}

/** Names that are types in their own right; any other bare name in a type position is an enum symbol or a category. */
export function isPrimitiveTypeName(name: string): boolean {
  return name in PRIMITIVES || name === "list" || name === "tensor";
}

/**
 * Converts a type annotation. A union of names that are not types is an enumeration; a single unknown
 * name is a category (`optimizer`), because categories are open: any extern may introduce one.
 */
export function typeFromAnnotation(type: TypeExpr, dimFromExpr: (e: Expr) => Dim): Type {
  switch (type.kind) {
    case "TensorType":
      return { kind: "tensor", dtype: type.dtype?.name ?? "f32", dims: type.dims.map(dimFromExpr) };
    case "UnionType": {
      // Bare names that are neither types nor categories are the members of one enumeration.
      const isSymbol = (o: (typeof type.options)[number]) =>
        !isPrimitiveTypeName(o.name) && !isCategoryName(o.name) && o.args.length === 0;
      const symbols = type.options.filter(isSymbol).map((o) => o.name);
      const others = type.options.filter((o) => !isSymbol(o)).map((o) => typeFromAnnotation(o, dimFromExpr));
      const options: Type[] = symbols.length > 0 ? [{ kind: "enum", options: symbols }, ...others] : others;
      return options.length === 1 ? options[0]! : { kind: "union", options };
    }
    case "NamedType": {
      if (type.name === "list") {
        const item = type.args[0];
        return { kind: "list", item: item ? typeFromAnnotation(item, dimFromExpr) : ANY };
      }
      if (type.name === "tensor") return { kind: "tensor", dtype: "f32", dims: [] };
      return PRIMITIVES[type.name] ?? { kind: "category", name: type.name };
    }
  }
}

export function dimToString(dim: Dim): string {
  switch (dim.kind) {
    case "size":
      return String(dim.value);
    case "symbol":
      return dim.name;
    case "derived":
      return dim.text;
  }
}

export function typeToString(type: Type): string {
  switch (type.kind) {
    case "list":
      return `list<${typeToString(type.item)}>`;
    case "enum":
      return type.options.join(" | ");
    case "category":
      return type.name;
    case "tensor":
      return `${type.dtype === "f32" ? "" : type.dtype}[${type.dims.map(dimToString).join(", ")}]`;
    case "union":
      return type.options.map(typeToString).join(" | ");
    default:
      return type.kind;
  }
}

/** A type for messages: as written in annotations, but `scalar` for a 0-d f32 tensor. */
export function displayType(type: Type): string {
  if (type.kind === "tensor" && type.dims.length === 0 && type.dtype === "f32") return "scalar";
  if (type.kind === "union") return type.options.map(displayType).join(" | ");
  return typeToString(type);
}

/** Whether a value of type `actual` may stand where `expected` is declared (tensor shapes are checked apart). */
export function isAssignable(actual: Type, expected: Type): boolean {
  if (expected.kind === "any" || actual.kind === "any") return true;
  if (expected.kind === "union") return expected.options.some((o) => isAssignable(actual, o));
  if (actual.kind === "union") return actual.options.every((o) => isAssignable(o, expected));
  switch (expected.kind) {
    case "number":
      // A 0-d tensor computed in a body is a number.
      return (
        actual.kind === "number" ||
        actual.kind === "int" ||
        (actual.kind === "tensor" && actual.dims.length === 0)
      );
    case "path":
      return actual.kind === "path" || actual.kind === "string";
    case "string":
      return actual.kind === "string" || actual.kind === "path";
    case "list":
      return actual.kind === "list" && isAssignable(actual.item, expected.item);
    case "enum":
      return actual.kind === "enum" && actual.options.every((o) => expected.options.includes(o));
    case "category":
      return actual.kind === "category" && actual.name === expected.name;
    case "tensor":
      return actual.kind === "tensor" || actual.kind === "number" || actual.kind === "int";
    default:
      return actual.kind === expected.kind;
  }
}

/** The enum options a type admits, so that a bare symbol can be resolved against it. */
export function enumOptions(type: Type): string[] {
  if (type.kind === "enum") return type.options;
  if (type.kind === "union") return type.options.flatMap(enumOptions);
  if (type.kind === "list") return enumOptions(type.item);
  return [];
}
