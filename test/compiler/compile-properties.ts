// Properties of the whole front end (parse, resolve, check, lint) over mutations of every bundled spec:
// it never throws, never hangs, and every diagnostic points inside the file it names. Shared by the vitest
// suite and `npm run fuzz`.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { compileFile } from "../../compiler/compile.ts";
import { lexer } from "../../grammar/tokens.ts";

/** Every spec the project ships, by path: the pipelines and the stdlib. */
export const BUNDLED_SPECS: ReadonlyMap<string, string> = new Map(
  ["pipelines", "pipelines/quickstart", "stdlib"].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".vlmp"))
      .sort()
      .map((f) => [path.join(dir, f), readFileSync(path.join(dir, f), "utf8")] as const),
  ),
);

/** The slowest one check of a mutated spec may take (generous: CI machines are noisy). */
export const MAX_CHECK_MS = 2000;

type Edit = { op: "delete" | "duplicate" | "swap" | "replace"; at: number; with: number };

/** Token-level edits: delete a token, duplicate it, swap it with its neighbour, or replace it by another token of the file. */
function mutate(text: string, edits: Edit[]): string {
  const tokens = lexer
    .tokenize(text)
    .tokens.map((t) => ({ start: t.startOffset, end: t.startOffset + t.image.length }));
  if (tokens.length === 0) return text;
  let pieces = tokens.map((t, i) => ({
    text: text.slice(t.start, t.end),
    gap: text.slice(t.end, tokens[i + 1]?.start ?? text.length),
  }));
  const head = text.slice(0, tokens[0]!.start);
  for (const edit of edits) {
    const i = edit.at % pieces.length;
    const other = pieces[edit.with % pieces.length]!;
    const piece = pieces[i]!;
    if (edit.op === "delete") pieces = [...pieces.slice(0, i), ...pieces.slice(i + 1)];
    else if (edit.op === "duplicate") pieces = [...pieces.slice(0, i), piece, piece, ...pieces.slice(i + 1)];
    else if (edit.op === "replace") pieces[i] = { text: other.text, gap: piece.gap };
    else if (i + 1 < pieces.length) [pieces[i], pieces[i + 1]] = [pieces[i + 1]!, piece];
    if (pieces.length === 0) return head;
  }
  return head + pieces.map((p) => p.text + p.gap).join("");
}

export const mutatedBundledSpec = fc
  .tuple(
    fc.constantFrom(...BUNDLED_SPECS.keys()),
    fc.array(
      fc.record({
        op: fc.constantFrom<Edit["op"]>("delete", "duplicate", "swap", "replace"),
        at: fc.nat(),
        with: fc.nat(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([file, edits]) => ({ file, text: mutate(BUNDLED_SPECS.get(file)!, edits) }));

/** Checks one spec; throws (failing the property) when an invariant breaks. Returns the diagnostic count. */
export function checkCompile(file: string, text: string): number {
  const t0 = performance.now();
  const result = compileFile(file, { mode: "lint", text });
  const ms = performance.now() - t0;
  if (ms > MAX_CHECK_MS) throw new Error(`checking took ${ms.toFixed(0)} ms`);
  for (const d of result.diagnostics) {
    const source = result.sources.get(d.span.file);
    if (source === undefined) throw new Error(`diagnostic ${d.code} points into unknown file ${d.span.file}`);
    const { start, end } = d.span;
    if (start.offset < 0 || end.offset > source.length || start.offset > end.offset) {
      throw new Error(
        `diagnostic ${d.code} span ${start.offset}..${end.offset} outside ${d.span.file} (${source.length})`,
      );
    }
    if (d.code === "V9001") throw new Error(`internal error: ${d.message}`);
  }
  return result.diagnostics.length;
}

export const compileProperty = fc.property(mutatedBundledSpec, ({ file, text }) => {
  checkCompile(file, text);
});
