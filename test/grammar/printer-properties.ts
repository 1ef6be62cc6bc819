// Properties of the formatter, shared by the vitest suite and `npm run fuzz`: for any file that parses,
// formatting keeps the meaning (same AST modulo spans), keeps every comment (same texts, same order) and is
// idempotent.

import { isDeepStrictEqual } from "node:util";
import type { SourceFile } from "../../grammar/ast.ts";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource } from "../../grammar/print.ts";

/** The AST without spans and without the source-only `text` of strings: what formatting must preserve. */
export function meaningOf(ast: SourceFile): unknown {
  return JSON.parse(JSON.stringify(ast.items, (k, v) => (k === "span" ? undefined : v)));
}

/**
 * Formats `text` (when it parses) and throws if a promise is broken. Returns the formatted text, or
 * undefined for files with syntax errors (which the formatter refuses).
 */
export function checkFormat(text: string, file = "fmt.vlmp"): string | undefined {
  const { ast, problems } = parseSource(text, file);
  if (problems.length) {
    if (formatSource(ast) !== text && hasRecovered(ast)) throw new Error("a damaged file was reformatted");
    return undefined;
  }
  const once = formatSource(ast);
  const again = parseSource(once, file);
  if (again.problems.length) {
    throw new Error(`formatted text does not parse: ${again.problems[0]!.message}\n--- formatted:\n${once}`);
  }
  if (!isDeepStrictEqual(meaningOf(again.ast), meaningOf(ast))) {
    throw new Error(`formatting changed the meaning\n--- before:\n${text}\n--- after:\n${once}`);
  }
  // Every comment survives, in order, with its text (trailing whitespace aside: the printer drops it).
  const before = ast.comments.map((c) => c.text.trimEnd());
  const after = again.ast.comments.map((c) => c.text);
  if (!isDeepStrictEqual(before, after)) {
    throw new Error(
      `comments changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}\n--- after:\n${once}`,
    );
  }
  const twice = formatSource(again.ast);
  if (twice !== once) throw new Error(`not idempotent\n--- once:\n${once}\n--- twice:\n${twice}`);
  return once;
}

function hasRecovered(ast: SourceFile): boolean {
  return (
    JSON.stringify(ast.items).includes('"recovered":true') || JSON.stringify(ast.items).includes("ErrorExpr")
  );
}

/** Printing a generated AST and parsing the result gives the same AST back (strings gain their `text`). */
export function checkPrintedAst(ast: SourceFile): void {
  const printed = formatSource(ast);
  const back = parseSource(printed, ast.path);
  if (back.problems.length) {
    throw new Error(`printed AST does not parse: ${back.problems[0]!.message}\n--- printed:\n${printed}`);
  }
  const strip = (items: unknown) =>
    JSON.parse(
      JSON.stringify(items, function (this: Record<string, unknown>, k, v) {
        if (k === "span") return undefined;
        if (k === "text" && this["kind"] === "String") return undefined;
        return v;
      }),
    );
  if (!isDeepStrictEqual(strip(back.ast.items), strip(ast.items))) {
    throw new Error(`printing changed the AST\n--- printed:\n${printed}`);
  }
  if (formatSource(back.ast) !== printed) throw new Error(`not idempotent\n--- printed:\n${printed}`);
}
