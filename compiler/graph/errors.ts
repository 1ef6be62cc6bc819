// Typed errors of the graph layer. Codes are the V42xx entries of the project's diagnostics table
// (compiler/diagnostics.ts); each error carries the source span of the node at fault when one is known.

import type { Code } from "../diagnostics.ts";
import type { SourceSpan } from "./graph.ts";

export const GRAPH_ERROR_CODES = {
  /** Operands whose shapes the op's rule rejects (broadcasting, contraction, axes). */
  shape: "V4201",
  /** Operands whose dtypes the op rejects. */
  dtype: "V4202",
  /** Attributes missing, of the wrong kind or out of range. */
  attrs: "V4203",
  /** Wrong number of operands. */
  arity: "V4204",
  /** A graph that breaks an invariant (SSA order, unknown value, stale shape). */
  invalid: "V4205",
  /** Serialized graph that does not match the JSON form. */
  json: "V4206",
  /** Gradient requested of a non-scalar or non-float value. */
  autodiff: "V4207",
} as const satisfies Record<string, Code>;
export type GraphErrorKind = keyof typeof GRAPH_ERROR_CODES;

export class GraphError extends Error {
  readonly code: Code;

  constructor(
    readonly kind: GraphErrorKind,
    message: string,
    readonly span?: SourceSpan,
  ) {
    super(span ? `${span.file}:${span.line}:${span.col}: ${message}` : message);
    this.name = "GraphError";
    this.code = GRAPH_ERROR_CODES[kind];
  }

  /** The same error located at `span`, unless it already has a location. */
  at(span: SourceSpan | undefined): GraphError {
    if (this.span || !span) return this;
    return new GraphError(this.kind, this.message, span);
  }
}

/** Bad serialized input; `path` is a JSON path to the offending part (e.g. `$.nodes[3].attrs.axes`). */
export class GraphJsonError extends GraphError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super("json", `${path}: ${message}`);
    this.name = "GraphJsonError";
  }
}
