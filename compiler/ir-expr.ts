// Tensor expressions and statements in the Pipeline IR: plain JSON trees with no source spans (so that
// reformatting a spec leaves its IR, and its hash, unchanged), each expression carrying its inferred type.

import type { Expr, IndexItem, Stmt } from "../grammar/ast.ts";
import type { Type } from "./types.ts";
import { typeToString } from "./types.ts";
import type { JsonValue } from "./values.ts";

/** The types the checker inferred, by expression node; expressions it never reached have none. */
export type TypeTable = WeakMap<Expr, Type>;

export function exprToIr(expr: Expr, types: TypeTable): JsonValue {
  const node = exprNode(expr, types);
  const type = types.get(expr);
  if (type && type.kind !== "any" && typeof node === "object" && node !== null && !Array.isArray(node)) {
    node["type"] = typeToString(type);
  }
  return node;
}

function exprNode(expr: Expr, types: TypeTable): { [key: string]: JsonValue } {
  const sub = (e: Expr) => exprToIr(e, types);
  switch (expr.kind) {
    case "Number":
      return { expr: "number", value: expr.value, integer: expr.isInteger };
    case "String":
      return { expr: "string", value: expr.value };
    case "Bool":
      return { expr: "bool", value: expr.value };
    case "None":
      return { expr: "none" };
    case "Name":
      return { expr: "name", name: expr.name };
    case "List":
      return { expr: "list", items: expr.items.map(sub) };
    case "Record": {
      const fields: { [key: string]: JsonValue } = {};
      for (const f of expr.fields) fields[f.key.name] = sub(f.value);
      return { expr: "record", fields };
    }
    case "Unary":
      return { expr: "unary", op: expr.op, operand: sub(expr.operand) };
    case "Binary":
      return { expr: "binary", op: expr.op, left: sub(expr.left), right: sub(expr.right) };
    case "Call": {
      const named: { [key: string]: JsonValue } = {};
      const positional: JsonValue[] = [];
      for (const arg of expr.args) {
        if (arg.name) named[arg.name.name] = sub(arg.value);
        else positional.push(sub(arg.value));
      }
      return { expr: "call", callee: sub(expr.callee), args: positional, named };
    }
    case "Member":
      return { expr: "member", object: sub(expr.object), property: expr.property.name };
    case "Index":
      return {
        expr: "index",
        object: sub(expr.object),
        items: expr.items.map((i) => indexItemToIr(i, types)),
      };
    case "Range":
      return { expr: "range", start: sub(expr.start), end: sub(expr.end) };
    case "ErrorExpr":
      return { expr: "error" };
  }
}

function indexItemToIr(item: IndexItem, types: TypeTable): JsonValue {
  switch (item.kind) {
    case "IndexExpr":
      return { item: "index", value: exprToIr(item.value, types) };
    case "Slice": {
      const out: { [key: string]: JsonValue } = { item: "slice" };
      if (item.start) out["start"] = exprToIr(item.start, types);
      if (item.stop) out["stop"] = exprToIr(item.stop, types);
      if (item.step) out["step"] = exprToIr(item.step, types);
      return out;
    }
    case "NewAxis":
      return { item: "new" };
    case "Ellipsis":
      return { item: "ellipsis" };
  }
}

export function stmtToIr(stmt: Stmt, types: TypeTable): JsonValue {
  switch (stmt.kind) {
    case "Let":
      return { stmt: "let", name: stmt.name.name, value: exprToIr(stmt.value, types) };
    case "Assign":
      return { stmt: "assign", name: stmt.name.name, value: exprToIr(stmt.value, types) };
    case "Return":
      return { stmt: "return", value: exprToIr(stmt.value, types) };
    case "For":
      return {
        stmt: "for",
        variable: stmt.variable.name,
        iterable: exprToIr(stmt.iterable, types),
        body: stmt.body.map((s) => stmtToIr(s, types)),
      };
    case "ExprStmt":
      return { stmt: "expr", value: exprToIr(stmt.expr, types) };
  }
}
