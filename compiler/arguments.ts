// Matching a call's arguments to a definition's parameters: positional first, then by name. Shared by
// spec evaluation and the checking of tensor bodies, so both report the same mistakes the same way.

import type { Argument, CallExpr, Param } from "../grammar/ast.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import { didYouMean } from "./suggest.ts";
import { symbolicDim } from "./tensor-types.ts";
import { type Type, typeFromAnnotation, typeToString } from "./types.ts";

export interface MatchedArguments {
  /** The argument given for each parameter, by parameter name. */
  given: Map<string, Argument>;
  /** Parameters with neither an argument nor a default. */
  missing: Param[];
  ok: boolean;
}

/** `what` names the callee in messages: "extern 'sgd'", "fn 'scale'". */
export function matchArguments(
  call: CallExpr,
  params: Param[],
  what: string,
  diagnostics: Diagnostic[],
): MatchedArguments {
  const given = new Map<string, Argument>();
  const names = params.map((p) => p.name.name);
  const settingsNote = { notes: [`its settings: ${names.join(", ") || "none"}`] };
  let sawNamed = false;
  let positional = 0;
  let ok = true;
  for (const arg of call.args) {
    if (arg.name) {
      sawNamed = true;
      const param = params.find((p) => p.name.name === arg.name!.name);
      if (!param) {
        const help = didYouMean(arg.name.name, names);
        diagnostics.push(
          diagnostic(
            "V3002",
            arg.name.span,
            `${what} has no setting '${arg.name.name}'`,
            help ? { help } : settingsNote,
          ),
        );
        ok = false;
      } else if (given.has(param.name.name)) {
        diagnostics.push(diagnostic("V3004", arg.name.span, `'${param.name.name}' is given twice`));
        ok = false;
      } else {
        given.set(param.name.name, arg);
      }
      continue;
    }
    // A positional argument after a named one was reported by the parser (V1008).
    if (sawNamed) {
      ok = false;
      continue;
    }
    const param = params[positional++];
    if (!param) {
      const count = `${params.length} argument${params.length === 1 ? "" : "s"}`;
      diagnostics.push(diagnostic("V3008", arg.span, `${what} takes ${count}`, settingsNote));
      ok = false;
      continue;
    }
    given.set(param.name.name, arg);
  }
  const missing = params.filter((p) => !given.has(p.name.name) && !p.default);
  for (const param of missing) {
    diagnostics.push(
      diagnostic("V3003", call.callee.span, `${what} needs '${param.name.name}'`, {
        related: [{ span: param.span, message: `'${param.name.name}' is declared here without a default` }],
        help: `add ${param.name.name}: ${param.type ? typeHint(typeFromAnnotation(param.type, symbolicDim)) : "…"}`,
      }),
    );
  }
  return { given, missing, ok: ok && missing.length === 0 };
}

/** An example value of a type, for "add x: …" hints. */
function typeHint(type: Type): string {
  switch (type.kind) {
    case "int":
      return "1";
    case "number":
      return "0.1";
    case "string":
    case "path":
      return '"..."';
    case "bool":
      return "true";
    case "enum":
      return type.options[0] ?? "…";
    default:
      return typeToString(type);
  }
}
