// Every finding vlmp reports, in one table with stable codes. Ranges: 1xxx syntax, 2xxx names and
// imports, 3xxx types and settings, 4xxx tensor shapes, 5xxx data and weight paths, 6xxx overrides,
// 7xxx lint rules, 9xxx internal. A code never changes meaning once shipped; retire it instead.

import type { Span } from "../grammar/ast.ts";

export type Severity = "error" | "warning";

interface CodeInfo {
  severity: Severity;
  /** One line saying what the code is about; the reference in docs/diagnostics.md lists these. */
  title: string;
}

export const CODES = {
  V1001: { severity: "error", title: "unexpected character" },
  V1002: { severity: "error", title: "unterminated string" },
  V1003: { severity: "error", title: "invalid escape in string" },
  V1004: { severity: "error", title: "unexpected token" },
  V1005: { severity: "error", title: "missing token" },
  V1006: { severity: "error", title: "unexpected end of file" },
  V1007: { severity: "error", title: "comparison or range chained without parentheses" },
  V1008: { severity: "error", title: "positional argument after a named one" },
  V1009: { severity: "error", title: "submodule value is not a call" },
  V1010: { severity: "error", title: "nesting too deep" },

  V2001: { severity: "error", title: "unknown name" },
  V2002: { severity: "error", title: "unknown module" },
  V2003: { severity: "error", title: "name not exported by module" },
  V2004: { severity: "error", title: "import cycle" },
  V2005: { severity: "error", title: "duplicate definition" },
  V2006: { severity: "error", title: "unknown member" },
  V2007: { severity: "error", title: "unknown pipeline to extend" },
  V2008: { severity: "error", title: "inheritance cycle" },
  V2009: { severity: "error", title: "imported file not found" },
  V2010: { severity: "error", title: "no pipeline to compile" },
  V2011: { severity: "error", title: "unknown site" },

  V3001: { severity: "error", title: "type mismatch" },
  V3002: { severity: "error", title: "unknown setting" },
  V3003: { severity: "error", title: "missing required setting" },
  V3004: { severity: "error", title: "setting given twice" },
  V3005: { severity: "error", title: "unknown block" },
  V3006: { severity: "error", title: "block not allowed here" },
  V3007: { severity: "error", title: "not callable" },
  V3008: { severity: "error", title: "too many positional arguments" },
  V3009: { severity: "error", title: "value is not a known option" },
  V3011: { severity: "error", title: "wrong kind of definition" },
  V3012: { severity: "error", title: "expected an integer" },
  V3013: { severity: "error", title: "value not allowed in a spec" },

  V4001: { severity: "error", title: "shape mismatch" },
  V4002: { severity: "error", title: "cannot broadcast" },
  V4003: { severity: "error", title: "axis out of range" },
  V4004: { severity: "error", title: "matrix product dimensions disagree" },
  V4005: { severity: "error", title: "symbolic dimension bound twice with different sizes" },
  V4006: { severity: "error", title: "loss is not a scalar" },
  V4007: { severity: "error", title: "too many indices" },
  V4008: { severity: "error", title: "missing return" },
  V4009: { severity: "error", title: "tensor expected" },

  V4101: { severity: "error", title: "lowering: construct not supported yet" },
  V4102: { severity: "error", title: "lowering: shapes or dtypes do not fit" },
  V4103: { severity: "error", title: "lowering: a constant was needed" },
  V4104: { severity: "error", title: "lowering: name bound nowhere" },
  V4105: { severity: "error", title: "lowering: dimension without a size" },
  V4106: { severity: "error", title: "lowering: wrong arguments" },

  V4201: { severity: "error", title: "graph: operand shapes rejected by the op" },
  V4202: { severity: "error", title: "graph: operand dtypes rejected by the op" },
  V4203: { severity: "error", title: "graph: bad op attributes" },
  V4204: { severity: "error", title: "graph: wrong number of operands" },
  V4205: { severity: "error", title: "graph: invariant broken" },
  V4206: { severity: "error", title: "graph: malformed JSON form" },
  V4207: { severity: "error", title: "graph: gradient of a non-scalar or non-float value" },

  V5001: { severity: "warning", title: "path does not exist" },

  V6001: { severity: "error", title: "malformed override" },
  V6002: { severity: "error", title: "override names an unknown setting" },
  V6003: { severity: "error", title: "override file is not valid YAML" },

  V7001: { severity: "warning", title: "unused import" },
  V7002: { severity: "warning", title: "unused let" },
  V7003: { severity: "warning", title: "setting overridden to its default" },
  V7004: { severity: "warning", title: "evaluation without metrics" },
  V7005: { severity: "warning", title: "value outside the sane range" },
  V7006: { severity: "warning", title: "train and test data overlap" },
  V7007: { severity: "warning", title: "trainable parameter no loss depends on" },
  V7008: { severity: "warning", title: "unused parameter" },

  V9001: { severity: "error", title: "internal error" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export interface Related {
  span: Span;
  message: string;
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span: Span;
  /** Short text printed under the carets. */
  label?: string;
  /** Why: background the reader needs. */
  notes?: string[];
  /** How to fix it. */
  help?: string;
  related?: Related[];
}

export interface DiagnosticOptions {
  label?: string;
  notes?: string[];
  help?: string;
  related?: Related[];
  severity?: Severity;
}

export function diagnostic(
  code: Code,
  span: Span,
  message: string,
  options: DiagnosticOptions = {},
): Diagnostic {
  const { severity, ...rest } = options;
  return { code, severity: severity ?? CODES[code].severity, message, span, ...rest };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Orders diagnostics by file, then position, so output is stable whatever order checks ran in. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.span.file.localeCompare(b.span.file) ||
      a.span.start.offset - b.span.start.offset ||
      a.code.localeCompare(b.code),
  );
}
