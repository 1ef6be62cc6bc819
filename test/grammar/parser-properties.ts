// Properties every input must satisfy, shared by the vitest suite (a few thousand cases) and
// `npm run fuzz` (test/fuzz/run.ts, 100,000 cases): parseSource never throws, finishes fast, and every
// span of a problem, comment or AST node lies inside the file with line/col matching its offset.

import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import type { Span } from "../../grammar/ast.ts";
import { parseSource } from "../../grammar/parse.ts";
import { lexer, TOKEN_SAMPLES } from "../../grammar/tokens.ts";

const samplesDir = new URL("./samples/", import.meta.url);

/** The sample programs in test/grammar/samples, by file name. */
export const SAMPLES: ReadonlyMap<string, string> = new Map(
  readdirSync(samplesDir)
    .filter((f) => f.endsWith(".vlmp"))
    .sort()
    .map((f) => [f, readFileSync(new URL(f, samplesDir), "utf8")]),
);

/** The slowest a single parse of a fuzz input may take (generous: CI machines are noisy). */
export const MAX_PARSE_MS = 250;

// ---------------------------------------------------------------------------------------------------
// Generators

const separator = fc.constantFrom(" ", " ", " ", "\n", "", "\t", "\r\n", "  ");

/** Random streams of real tokens, separated by random whitespace. */
export const tokenStream: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...TOKEN_SAMPLES), separator), { maxLength: 120 })
  .map((parts) => parts.map(([t, s]) => t + s).join(""));

/** Random strings: printable ASCII heavy, with some arbitrary UTF-16 (lone surrogates included). */
export const randomText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'{}()[],:.=-<>|*/%@+!#"\\ \n\tabcxyz019_eE'), maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 100 }),
);

type Mutation = { op: "delete" | "insert" | "swap" | "duplicate"; at: number; token: string };

/** A sample program with a few tokens deleted, inserted, swapped or duplicated. */
export const mutatedSample: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...SAMPLES.values()),
    fc.array(
      fc.record({
        op: fc.constantFrom<Mutation["op"]>("delete", "insert", "swap", "duplicate"),
        at: fc.nat(),
        token: fc.constantFrom(...TOKEN_SAMPLES),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([text, mutations]) => mutate(text, mutations));

function mutate(text: string, mutations: Mutation[]): string {
  // Work on token-sized pieces of the original text (tokens and the gaps between them).
  const tokens = lexer.tokenize(text).tokens;
  const pieces: string[] = [];
  let pos = 0;
  for (const t of tokens) {
    pieces.push(text.slice(pos, t.startOffset));
    pieces.push(t.image);
    pos = t.startOffset + t.image.length;
  }
  pieces.push(text.slice(pos));
  for (const m of mutations) {
    const i = pieces.length ? m.at % pieces.length : 0;
    if (m.op === "delete") pieces.splice(i, 1);
    else if (m.op === "insert") pieces.splice(i, 0, ` ${m.token} `);
    else if (m.op === "duplicate") pieces.splice(i, 0, pieces[i] ?? "");
    else {
      const j = (i + 2) % Math.max(1, pieces.length);
      const a = pieces[i] ?? "";
      pieces[i] = pieces[j] ?? "";
      pieces[j] = a;
    }
  }
  return pieces.join("");
}

// ---------------------------------------------------------------------------------------------------
// The property

/** Line starts, found independently of grammar/positions.ts: after "\r\n", "\n" or a lone "\r". */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (const m of text.matchAll(/\r\n|\n|\r/g)) starts.push(m.index + m[0].length);
  return starts;
}

function checkSpan(text: string, starts: number[], file: string, span: Span, where: string): void {
  const { start, end } = span;
  if (span.file !== file) throw new Error(`${where}: span names file ${span.file}`);
  if (!(start.offset >= 0 && start.offset <= end.offset && end.offset <= text.length)) {
    throw new Error(`${where}: span ${start.offset}..${end.offset} outside 0..${text.length}`);
  }
  for (const p of [start, end]) {
    const lineStart = starts[p.line - 1];
    const next = starts[p.line] ?? Number.POSITIVE_INFINITY;
    const ok = lineStart !== undefined && p.offset - lineStart + 1 === p.col && p.offset < next;
    // An offset inside "\r\n" belongs to the line the pair ends.
    if (!ok) throw new Error(`${where}: offset ${p.offset} is not ${p.line}:${p.col}`);
  }
}

function walkSpans(value: unknown, path: string, visit: (span: Span, path: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walkSpans(v, `${path}[${i}]`, visit);
    });
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value)) {
    if (k === "span") visit(v as Span, path);
    else walkSpans(v, `${path}.${k}`, visit);
  }
}

/** Parses `text` and throws (failing the property) if any promise is broken. Returns the parse time. */
export function checkParse(text: string): number {
  const file = "fuzz.vlmp";
  let t0 = performance.now();
  let { ast, problems } = parseSource(text, file);
  let ms = performance.now() - t0;
  if (ms > MAX_PARSE_MS) {
    // One retry: a garbage collection or a busy machine is not a slow parser.
    t0 = performance.now();
    ({ ast, problems } = parseSource(text, file));
    ms = performance.now() - t0;
    if (ms > MAX_PARSE_MS) throw new Error(`parse took ${ms.toFixed(1)} ms`);
  }
  const starts = lineStarts(text);
  for (const p of problems) {
    checkSpan(text, starts, file, p.span, `problem ${p.reason}`);
    if (p.reason === "internal-error") throw new Error(`internal error: ${p.message}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the parser's internal message keys start with NUL
    if (!p.message || /^\u0000\d+$/.test(p.message))
      throw new Error(`bad message: ${JSON.stringify(p.message)}`);
  }
  // Walking every span costs more than parsing; a few syntactic facts keep it honest.
  ast.comments.forEach((c, i) => {
    checkSpan(text, starts, file, c.span, `comment ${i}`);
  });
  walkSpans(ast.items, "items", (span, where) => checkSpan(text, starts, file, span, where));
  if (ast.text !== text || ast.path !== file) throw new Error("source file text/path not kept");
  return ms;
}

/** A sample program with comments inserted after random tokens. */
export const commentedSample: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...SAMPLES.values()), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }))
  .map(([text, places]) => {
    const ends = lexer.tokenize(text).tokens.map((t) => t.startOffset + t.image.length);
    const at = [...new Set(places.map((p) => ends[p % Math.max(1, ends.length)] ?? 0))].sort((a, b) => b - a);
    let out = text;
    at.forEach((offset, i) => {
      out = `${out.slice(0, offset)} # c${i}\n${out.slice(offset)}`;
    });
    return out;
  });

export const parserProperties = {
  tokenStream: fc.property(tokenStream, (t) => void checkParse(t)),
  randomText: fc.property(randomText, (t) => void checkParse(t)),
  mutatedSample: fc.property(mutatedSample, (t) => void checkParse(t)),
};
