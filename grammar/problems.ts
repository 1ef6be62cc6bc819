// Syntax problems found by the lexer and parser. The compiler maps each `reason` to a stable diagnostic code,
// so the reasons are few and never renamed; the message is plain English for people.

import type { Span } from "./ast.ts";

export type SyntaxReason =
  /** A character that starts no token (`!`, `$`, `é`); a run of them is one problem. */
  | "unexpected-character"
  /** A string with no closing quote before the end of the line. */
  | "unterminated-string"
  /** A backslash escape other than `\"`, `\\`, `\n`, `\t`, `\{`. */
  | "bad-escape"
  /** A token that cannot start or continue what the parser is reading. */
  | "unexpected-token"
  /** A specific token (`)`, `=`, `:`, a name) is missing before the token found. */
  | "missing-token"
  /** The file ended in the middle of something. */
  | "unexpected-end"
  /** `a < b < c` or `a..b..c`: comparisons and ranges do not chain; add parentheses. */
  | "non-associative"
  /** A positional argument after a named one: positional arguments come first. */
  | "positional-after-named"
  /** `sub name = ...` whose value is not a call. */
  | "not-a-call"
  /** The file nests brackets or operators too deeply to parse. */
  | "too-deep"
  /** A bug in the parser itself, reported instead of thrown. */
  | "internal-error";

export const SYNTAX_REASONS: readonly SyntaxReason[] = [
  "unexpected-character",
  "unterminated-string",
  "bad-escape",
  "unexpected-token",
  "missing-token",
  "unexpected-end",
  "non-associative",
  "positional-after-named",
  "not-a-call",
  "too-deep",
  "internal-error",
];

export interface SyntaxProblem {
  reason: SyntaxReason;
  message: string;
  span: Span;
  /** What the parser would have accepted here, as source text (`')'`) or a description (`an expression`). */
  expected?: string[];
  /** The text of the token found instead, or `end of file`. */
  found?: string;
}
