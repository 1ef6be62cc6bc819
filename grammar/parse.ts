// The entry point of the grammar layer: text in, AST and syntax problems out. Never throws: a failure of the
// parser itself becomes an `internal-error` problem.

import { EOF, type IToken, type TokenType } from "chevrotain";
import type { Comment, SourceFile } from "./ast.ts";
import type { FileCstNode } from "./cst.d.ts";
import { type ErrorInfo, OPENER_NAMES, parser, RULE_DESCRIPTIONS } from "./parser.ts";
import { LineMap } from "./positions.ts";
import type { SyntaxProblem } from "./problems.ts";
import { decodeString } from "./strings.ts";
import { AstBuilder, isRealToken } from "./to-ast.ts";
import {
  Greater,
  LBrace,
  LBracket,
  Less,
  LParen,
  lexer,
  RBrace,
  RBracket,
  RParen,
  UnterminatedString,
} from "./tokens.ts";

export interface ParseResult {
  ast: SourceFile;
  /** Sorted by position; empty when the file is syntactically valid. */
  problems: SyntaxProblem[];
}

/** Parses one .vlmp file. `file` is the path recorded in every span. */
export function parseSource(text: string, file: string): ParseResult {
  const lines = new LineMap(file, text);
  try {
    return parseUnchecked(text, file, lines);
  } catch (e) {
    const deep = e instanceof RangeError;
    const problem: SyntaxProblem = deep
      ? {
          reason: "too-deep",
          message: "the file nests brackets or operators too deeply to parse",
          span: lines.span(0, 0),
        }
      : {
          reason: "internal-error",
          message: `the parser failed: ${e instanceof Error ? e.message : String(e)}`,
          span: lines.span(0, 0),
        };
    return { ast: { kind: "SourceFile", path: file, text, items: [], comments: [] }, problems: [problem] };
  }
}

function parseUnchecked(text: string, file: string, lines: LineMap): ParseResult {
  const problems: SyntaxProblem[] = [];
  const lexed = lexer.tokenize(text);

  for (const e of lexed.errors) {
    const chars = text.slice(e.offset, e.offset + e.length);
    problems.push({
      reason: "unexpected-character",
      message: `unexpected ${e.length === 1 ? "character" : "characters"} ${printable(chars)}`,
      span: lines.span(e.offset, e.offset + e.length),
      found: chars,
    });
  }
  for (const t of lexed.tokens) {
    if (t.tokenType === UnterminatedString) {
      problems.push({
        reason: "unterminated-string",
        message: "this string has no closing '\"' before the end of the line",
        span: lines.span(t.startOffset, t.startOffset + t.image.length),
        expected: ["'\"'"],
      });
    }
    if (t.image.startsWith('"')) {
      for (const bad of decodeString(t.image).badEscapes) {
        problems.push({
          reason: "bad-escape",
          message: `unknown escape '${bad.text}' in a string: the escapes are \\" \\\\ \\n \\t \\{`,
          span: lines.span(t.startOffset + bad.offset, t.startOffset + bad.offset + bad.length),
          found: bad.text,
        });
      }
    }
  }

  const comments: Comment[] = (lexed.groups["comments"] ?? []).map((t) => ({
    text: t.image,
    span: lines.span(t.startOffset, t.startOffset + t.image.length),
  }));

  parser.messages.infos = [];
  parser.text = text;
  parser.input = lexed.tokens;
  const cst = parser.file() as FileCstNode;

  let lastOffset = -1;
  for (const e of parser.errors) {
    const info = parser.messages.infos[Number(e.message.slice(1))];
    const problem = info ? describe(info, lexed.tokens, text, lines) : undefined;
    if (!problem) continue;
    if (problem.span.start.offset === lastOffset) continue; // one problem per place: the first says it best
    lastOffset = problem.span.start.offset;
    problems.push(problem);
  }

  const builder = new AstBuilder(lines, problems);
  const ast = builder.file(cst, file, text, comments);
  problems.sort((a, b) => a.span.start.offset - b.span.start.offset);
  parser.input = [];
  parser.text = "";
  return { ast, problems };
}

// ---------------------------------------------------------------------------------------------------
// Messages

/** `'$'`, or `U+0007` for characters that do not print (controls, lone surrogates). */
function printable(chars: string): string {
  const shown = chars.length > 20 ? `${chars.slice(0, 20)}…` : chars;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what this looks for
  if (!/[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/.test(shown)) return `'${shown}'`;
  return [...shown]
    .map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`)
    .join(" ");
}

const CLOSERS = new Map<TokenType, TokenType>([
  [RParen, LParen],
  [RBracket, LBracket],
  [RBrace, LBrace],
  [Greater, Less],
]);

function label(t: TokenType): string {
  if (t === EOF) return "end of file";
  return typeof t.LABEL === "string" ? t.LABEL : t.name;
}

function quoteFound(t: IToken): string {
  return t.tokenType === EOF ? "end of file" : `'${t.image}'`;
}

/** The innermost bracket of `open`'s kind left open before token index `until`. */
function findOpener(tokens: IToken[], until: number, open: TokenType): IToken | undefined {
  const stack: IToken[] = [];
  for (let i = 0; i < until && i < tokens.length; i++) {
    const t = tokens[i]!;
    const type = t.tokenType;
    if (type === LParen || type === LBracket || type === LBrace || type === Less) stack.push(t);
    else {
      const opener = CLOSERS.get(type);
      if (!opener) continue;
      for (let j = stack.length - 1; j >= 0; j--) {
        if (stack[j]!.tokenType === opener) {
          stack.length = j;
          break;
        }
      }
    }
  }
  for (let j = stack.length - 1; j >= 0; j--) if (stack[j]!.tokenType === open) return stack[j];
  return undefined;
}

/** Index of a real token in the token vector (by offset); the vector's length for end of file. */
function indexOf(tokens: IToken[], t: IToken): number {
  if (!isRealToken(t)) return tokens.length;
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < t.startOffset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function describe(info: ErrorInfo, tokens: IToken[], text: string, lines: LineMap): SyntaxProblem {
  const actual = info.actual;
  const atEnd = !isRealToken(actual) || actual.tokenType === EOF;
  const span = atEnd
    ? lines.span(text.length, text.length)
    : lines.span(actual.startOffset, actual.startOffset + actual.image.length);
  const found = atEnd ? "end of file" : actual.image;
  const foundText = atEnd ? "end of file" : quoteFound(actual);
  const expected = [...new Set(info.expected.filter((t) => t !== undefined).map(label))];
  const topLevel = RULE_DESCRIPTIONS["topItem"]!;

  if (info.kind === "mismatch") {
    const want = info.expected[0];
    if (want === EOF || want === undefined) {
      return {
        reason: "unexpected-token",
        message: `expected ${topLevel}, found ${foundText}`,
        span,
        expected: [topLevel],
        found,
      };
    }
    let what = label(want);
    const open = CLOSERS.get(want);
    if (open) {
      const opener = findOpener(tokens, indexOf(tokens, actual), open);
      if (opener) {
        const kind = OPENER_NAMES[info.ruleName] ?? `'${opener.image}'`;
        what += ` to close the ${kind} opened at ${lines.where(opener.startOffset)}`;
      }
    }
    if (atEnd) {
      return {
        reason: "unexpected-end",
        message: `unexpected end of file: expected ${what}`,
        span,
        expected,
        found,
      };
    }
    return {
      reason: "missing-token",
      message: `expected ${what}, found ${foundText}`,
      span,
      expected,
      found,
    };
  }

  const description =
    info.kind === "not-all-input"
      ? topLevel
      : (RULE_DESCRIPTIONS[info.ruleName] ??
        (expected.length === 1 ? expected[0]! : `one of ${expected.join(", ")}`));
  if (atEnd) {
    return {
      reason: "unexpected-end",
      message: `unexpected end of file: expected ${description}`,
      span,
      expected: info.kind === "not-all-input" ? [topLevel] : expected,
      found,
    };
  }
  return {
    reason: "unexpected-token",
    message: `expected ${description}, found ${foundText}`,
    span,
    expected: info.kind === "not-all-input" ? [topLevel] : expected,
    found,
  };
}
