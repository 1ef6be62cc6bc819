// Shared helpers for grammar tests: parse-or-fail, span stripping, and a compact S-expression view of ASTs.

import type { Expr, IndexItem, SourceFile, Span, Stmt, TypeExpr } from "../../grammar/ast.ts";
import { parseSource } from "../../grammar/parse.ts";

/** Parses and fails the test (by throwing) when there is any problem. */
export function parseOk(text: string, file = "test.vlmp"): SourceFile {
  const { ast, problems } = parseSource(text, file);
  if (problems.length) {
    throw new Error(
      problems.map((p) => `${p.span.start.line}:${p.span.start.col} ${p.reason}: ${p.message}`).join("\n"),
    );
  }
  return ast;
}

/** The expression of `return <text>` inside a function. */
export function parseExpr(text: string): Expr {
  const ast = parseOk(`fn f() {\n  return ${text}\n}`);
  const fn = ast.items[0];
  if (fn?.kind !== "Function") throw new Error("no function");
  const ret = fn.body[0];
  if (ret?.kind !== "Return") throw new Error("no return");
  return ret.value;
}

/** A deep copy without `span` properties (and without `text`/`path` of the file), for comparing shapes. */
export function stripSpans<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (k === "span" ? undefined : v))) as T;
}

/** The AST of a file with spans removed and the source text left out: what fmt must preserve. */
export function meaning(ast: SourceFile): unknown {
  return stripSpans({ items: ast.items });
}

/** `a + b * c` → `(+ a (* b c))`. */
export function sexpr(e: Expr): string {
  switch (e.kind) {
    case "Number":
      return e.text;
    case "String":
      return JSON.stringify(e.value);
    case "Bool":
      return String(e.value);
    case "None":
      return "none";
    case "Name":
      return e.name;
    case "List":
      return `[${e.items.map(sexpr).join(" ")}]`;
    case "Record":
      return `{${e.fields.map((f) => `${f.key.name}: ${sexpr(f.value)}`).join(" ")}}`;
    case "Unary":
      return `(${e.op} ${sexpr(e.operand)})`;
    case "Binary":
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case "Range":
      return `(.. ${sexpr(e.start)} ${sexpr(e.end)})`;
    case "Call":
      return `(call ${sexpr(e.callee)}${e.args.map((a) => ` ${a.name ? `${a.name.name}:` : ""}${sexpr(a.value)}`).join("")})`;
    case "Member":
      return `(. ${sexpr(e.object)} ${e.property.name})`;
    case "Index":
      return `(index ${sexpr(e.object)} ${e.items.map(indexItem).join(" ")})`;
    case "ErrorExpr":
      return "<error>";
  }
}

function indexItem(i: IndexItem): string {
  switch (i.kind) {
    case "IndexExpr":
      return sexpr(i.value);
    case "NewAxis":
      return "new";
    case "Ellipsis":
      return "...";
    case "Slice":
      return `${i.start ? sexpr(i.start) : ""}:${i.stop ? sexpr(i.stop) : ""}${i.step ? `:${sexpr(i.step)}` : ""}`;
  }
}

export function typeText(t: TypeExpr): string {
  switch (t.kind) {
    case "NamedType":
      return t.args.length ? `${t.name}<${t.args.map(typeText).join(", ")}>` : t.name;
    case "TensorType":
      return `${t.dtype?.name ?? ""}[${t.dims.map(sexpr).join(", ")}]`;
    case "UnionType":
      return t.options.map(typeText).join(" | ");
  }
}

/** `line:col-line:col` of a span. */
export function at(span: Span): string {
  return `${span.start.line}:${span.start.col}-${span.end.line}:${span.end.col}`;
}

/** The source text a span covers. */
export function textOf(source: string, span: Span): string {
  return source.slice(span.start.offset, span.end.offset);
}

export type { Stmt };
