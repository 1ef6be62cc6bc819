// Renders the IR's expression trees back to .vlmp text, for error messages: what the user wrote, modulo
// parentheses (re-derived from precedence) and number spelling.

import type { JsonValue } from "../values.ts";

type Obj = { readonly [key: string]: JsonValue };

const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  "==": 4,
  "!=": 4,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "..": 5,
  "+": 6,
  "-": 6,
  "*": 7,
  "/": 7,
  "%": 7,
  "@": 7,
  "**": 9,
};

function isObj(v: JsonValue | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function precedence(e: JsonValue | undefined): number {
  if (!isObj(e)) return 10;
  if (e["expr"] === "binary") return PRECEDENCE[String(e["op"])] ?? 10;
  if (e["expr"] === "range") return 5;
  if (e["expr"] === "unary") return e["op"] === "not" ? 3 : 8;
  return 10;
}

function wrap(e: JsonValue | undefined, min: number): string {
  const text = exprText(e);
  return precedence(e) < min ? `(${text})` : text;
}

function indexItemText(item: JsonValue | undefined): string {
  if (!isObj(item)) return "?";
  switch (item["item"]) {
    case "index":
      return exprText(item["value"]);
    case "new":
      return "new";
    case "ellipsis":
      return "...";
    case "slice": {
      const part = (k: string) => (k in item ? exprText(item[k]) : "");
      return `${part("start")}:${part("stop")}${"step" in item ? `:${part("step")}` : ""}`;
    }
    default:
      return "?";
  }
}

/** The .vlmp text of an IR expression (`softmax(logits, axis: 1)`). */
export function exprText(e: JsonValue | undefined): string {
  if (!isObj(e)) return "?";
  switch (e["expr"]) {
    case "number":
      return String(e["value"]);
    case "string":
      return JSON.stringify(e["value"]);
    case "bool":
      return e["value"] ? "true" : "false";
    case "none":
      return "none";
    case "name":
      return String(e["name"]);
    case "list":
      return `[${(e["items"] as JsonValue[]).map(exprText).join(", ")}]`;
    case "record":
      return `{${Object.entries(e["fields"] as Obj)
        .map(([k, v]) => `${k}: ${exprText(v)}`)
        .join(", ")}}`;
    case "unary": {
      const op = String(e["op"]);
      const p = precedence(e);
      return op === "not" ? `not ${wrap(e["operand"], p)}` : `${op}${wrap(e["operand"], p + 1)}`;
    }
    case "binary": {
      const op = String(e["op"]);
      const p = precedence(e);
      // `**` is right-associative; every other operator is left-associative or non-associative.
      const [l, r] = op === "**" ? [p + 1, p] : [p, p + 1];
      return `${wrap(e["left"], l)} ${op} ${wrap(e["right"], r)}`;
    }
    case "call": {
      const args = (e["args"] as JsonValue[]).map(exprText);
      const named = Object.entries(e["named"] as Obj).map(([k, v]) => `${k}: ${exprText(v)}`);
      return `${wrap(e["callee"], 10)}(${[...args, ...named].join(", ")})`;
    }
    case "member":
      return `${wrap(e["object"], 10)}.${String(e["property"])}`;
    case "index":
      return `${wrap(e["object"], 10)}[${(e["items"] as JsonValue[]).map(indexItemText).join(", ")}]`;
    case "range":
      return `${wrap(e["start"], 6)}..${wrap(e["end"], 6)}`;
    default:
      return "<error>";
  }
}
