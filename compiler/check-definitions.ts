// Checks the definitions a file makes — tensor functions, losses, adapters and models — whether or not a
// pipeline uses them, so that a library file lints on its own.

import type { AdapterDecl, FunctionDecl, ModelDecl, Param } from "../grammar/ast.ts";
import { FunctionChecker } from "./check-function.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import type { TypeTable } from "./ir-expr.ts";
import type { Module } from "./modules.ts";
import type { Scopes } from "./scope.ts";
import { shapeToString, symbolicDim, unifyTensorTypes } from "./tensor-types.ts";
import { ANY, displayType, isAssignable, type Type, typeFromAnnotation } from "./types.ts";

export function checkDefinitions(
  module: Module,
  scopes: Scopes,
  diagnostics: Diagnostic[],
  types: TypeTable,
): void {
  const checker = () => new FunctionChecker(scopes, module, diagnostics, types);
  for (const item of module.ast.items) {
    if (item.recovered) continue;
    switch (item.kind) {
      case "Function":
        checkFunction(item, checker(), diagnostics);
        break;
      case "Model":
      case "Adapter":
        checkModule(item, checker());
        break;
      default:
        break;
    }
  }
}

function checkFunction(decl: FunctionDecl, checker: FunctionChecker, diagnostics: Diagnostic[]): void {
  const returned = checker.checkBody(decl.params, decl.body, new Map(), { reportUnusedParams: true });
  if (!returned) {
    diagnostics.push(
      diagnostic("V4008", decl.name.span, `${decl.keyword} '${decl.name.name}' never returns a value`, {
        help: "end the body with `return <expression>`",
      }),
    );
    return;
  }
  if (decl.returns && returned.kind !== "any") {
    const declared = typeFromAnnotation(decl.returns, symbolicDim);
    const problem =
      declared.kind === "tensor" && returned.kind === "tensor"
        ? unifyTensorTypes(declared, returned, new Map())
        : isAssignable(returned, declared)
          ? undefined
          : { code: "V3001" as const, message: `found ${displayType(returned)}` };
    if (problem) {
      diagnostics.push(
        diagnostic(
          problem.code,
          decl.returns.span,
          `${decl.keyword} '${decl.name.name}' is declared to return ${displayType(declared)}: ${problem.message}`,
        ),
      );
    }
  }
  if (decl.keyword === "loss" && returned.kind === "tensor" && returned.dims.length > 0) {
    diagnostics.push(
      diagnostic(
        "V4006",
        decl.name.span,
        `loss '${decl.name.name}' returns a tensor of shape ${shapeToString(returned.dims)}, not a scalar`,
        {
          help: "reduce it, e.g. `return mean(...)` or `return sum(...)`",
        },
      ),
    );
  }
}

/** Models and adapters: every hook body sees the definition's settings, params, submodules and sites. */
function checkModule(decl: ModelDecl | AdapterDecl, checker: FunctionChecker): void {
  const names = new Map<string, Type>();
  for (const param of decl.params) names.set(param.name.name, paramType(param));
  for (const item of decl.items) {
    switch (item.kind) {
      case "ParamDecl":
        names.set(item.name.name, typeFromAnnotation(item.type, symbolicDim));
        break;
      case "Submodule":
      case "Site":
      case "Let":
        names.set(item.name.name, ANY);
        break;
      default:
        break;
    }
  }
  for (const item of decl.items) {
    if (item.kind === "Hook") checker.checkBody(item.params, item.body, names);
    else if (item.kind === "ParamDecl" && item.init) checker.checkExpression(item.init, names);
    else if (item.kind === "Submodule") checker.checkExpression(item.value, names);
    else if (item.kind === "Let") checker.checkExpression(item.value, names);
  }
}

function paramType(param: Param): Type {
  return param.type ? typeFromAnnotation(param.type, symbolicDim) : ANY;
}
