// Reading a name or a member chain (`clip.vit_b16`, `visual.layernorms`) as its list of segments.

import type { Expr } from "../grammar/ast.ts";

/** `a.b.c` as ["a", "b", "c"]; undefined for anything but names and member accesses. */
export function dottedPath(expr: Expr): string[] | undefined {
  if (expr.kind === "Name") return [expr.name];
  if (expr.kind === "Member") {
    const base = dottedPath(expr.object);
    return base ? [...base, expr.property.name] : undefined;
  }
  return undefined;
}
