// Maps the parser's syntax problems onto stable diagnostic codes; the parser itself knows no codes.

import type { SyntaxProblem, SyntaxReason } from "../grammar/problems.ts";
import { type Code, type Diagnostic, diagnostic } from "./diagnostics.ts";

const CODE_BY_REASON: Record<SyntaxReason, Code> = {
  "unexpected-character": "V1001",
  "unterminated-string": "V1002",
  "bad-escape": "V1003",
  "unexpected-token": "V1004",
  "missing-token": "V1005",
  "unexpected-end": "V1006",
  "non-associative": "V1007",
  "positional-after-named": "V1008",
  "not-a-call": "V1009",
  "too-deep": "V1010",
  "internal-error": "V9001",
};

export function syntaxDiagnostic(problem: SyntaxProblem): Diagnostic {
  const code = CODE_BY_REASON[problem.reason];
  const help =
    problem.expected && problem.expected.length > 0 && problem.expected.length <= 6
      ? `expected ${problem.expected.join(" or ")}`
      : undefined;
  return diagnostic(code, problem.span, problem.message, help ? { help } : {});
}
