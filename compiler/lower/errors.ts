// Typed errors of the lowering from the Pipeline IR's tensor expressions to graphs. Every error names
// the definition being lowered and the expression at fault (rendered back to .vlmp text), and, for
// definitions inlined into others, the chain of calls that led there.

import type { Code } from "../diagnostics.ts";

// Codes are the V41xx entries of the project's diagnostics table (compiler/diagnostics.ts).
export const LOWERING_ERROR_CODES = {
  /** A construct the lowering does not handle (a model or adapter called from a fn, bool-mask indexing). */
  unsupported: "V4101",
  /** Operands whose shapes or dtypes do not fit (after binding dimensions to sizes). */
  shape: "V4102",
  /** A value of the wrong kind where a constant or a tensor was needed (`axis: x` with x a tensor). */
  type: "V4103",
  /** A name bound nowhere: not a parameter, a `let`, a dimension, an enum member, a definition or a builtin. */
  name: "V4104",
  /** A dimension symbol with no size: neither bound by an argument's shape nor given by the caller. */
  dims: "V4105",
  /** A call with missing, extra or unknown arguments. */
  arguments: "V4106",
} as const satisfies Record<string, Code>;
export type LoweringErrorKind = keyof typeof LOWERING_ERROR_CODES;

export class LoweringError extends Error {
  readonly code: Code;

  constructor(
    readonly kind: LoweringErrorKind,
    /** The qualified name of the definition being lowered (`losses.ueo`). */
    readonly definition: string,
    /** The expression at fault, as .vlmp text; empty when the error concerns the whole definition. */
    readonly expression: string,
    readonly reason: string,
    /** Outer definitions that inlined this one, innermost first: `losses.clap4clip at \`mc_ce(...)\``. */
    readonly callers: readonly string[] = [],
  ) {
    const where = expression ? ` at \`${expression}\`` : "";
    const via = callers.map((c) => `\n  inlined from ${c}`).join("");
    super(`lowering '${definition}'${where}: ${reason}${via}`);
    this.name = "LoweringError";
    this.code = LOWERING_ERROR_CODES[kind];
  }

  /** The same error, seen through one more inlined call. */
  via(caller: string): LoweringError {
    return new LoweringError(this.kind, this.definition, this.expression, this.reason, [
      ...this.callers,
      caller,
    ]);
  }
}

/**
 * What the helpers (operators, builtins, indexing) throw: a kind and a reason, without knowing which
 * definition or expression they serve. The evaluator turns it into a LoweringError at the innermost
 * expression being lowered.
 */
export class LowerFault extends Error {
  constructor(
    readonly kind: LoweringErrorKind,
    readonly reason: string,
  ) {
    super(reason);
    this.name = "LowerFault";
  }
}

export function fault(kind: LoweringErrorKind, reason: string): never {
  throw new LowerFault(kind, reason);
}
