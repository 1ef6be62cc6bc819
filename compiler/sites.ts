// Sites: named points of a backbone where adapters attach (`visual.layernorms`, `text.embeddings`,
// `logits`). A site path is resolved through the model definitions: a segment names a submodule (and the
// path continues in the model it instantiates), a `site` (an alias to another path, or a leaf), or a param.

import type { Expr, ModelDecl } from "../grammar/ast.ts";
import type { Definition, Scopes } from "./scope.ts";

export type SiteResolution = { ok: true } | { ok: false; failedAt: number; candidates: string[] };

type ModelDef = Definition & { kind: "model" };

export function resolveSite(
  model: ModelDef,
  path: readonly string[],
  scopes: Scopes,
  depth = 0,
): SiteResolution {
  if (depth > 32) return { ok: true };
  let current: ModelDef = model;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const found = findMember(current.decl, segment);
    if (!found) return { ok: false, failedAt: i, candidates: memberNames(current.decl) };
    if (found.kind === "Submodule") {
      const target = calleeDefinition(found.value.callee, current, scopes);
      if (!target) return { ok: true };
      current = target;
      continue;
    }
    if (found.kind === "Site" && found.value) {
      // An alias: the rest of the path continues from where the alias points (lists group several sites).
      const targets = found.value.kind === "List" ? found.value.items : [found.value];
      if (i === path.length - 1) return { ok: true };
      for (const target of targets) {
        const aliasPath = pathOf(target);
        if (!aliasPath) continue;
        const inner = resolveSite(current, [...aliasPath, ...path.slice(i + 1)], scopes, depth + 1);
        if (!inner.ok) return { ok: false, failedAt: i + 1, candidates: inner.candidates };
      }
      return { ok: true };
    }
    // A leaf site or a parameter: nothing can follow it.
    if (i < path.length - 1) return { ok: false, failedAt: i + 1, candidates: [] };
  }
  return { ok: true };
}

function findMember(decl: ModelDecl, name: string) {
  for (const item of decl.items) {
    if (
      (item.kind === "Submodule" || item.kind === "Site" || item.kind === "ParamDecl") &&
      item.name.name === name
    ) {
      return item;
    }
  }
  return undefined;
}

function memberNames(decl: ModelDecl): string[] {
  return decl.items.flatMap((item) =>
    item.kind === "Submodule" || item.kind === "Site" || item.kind === "ParamDecl" ? [item.name.name] : [],
  );
}

function pathOf(expr: Expr): string[] | undefined {
  if (expr.kind === "Name") return [expr.name];
  if (expr.kind === "Member") {
    const base = pathOf(expr.object);
    return base ? [...base, expr.property.name] : undefined;
  }
  if (expr.kind === "Index") return pathOf(expr.object);
  return undefined;
}

function calleeDefinition(callee: Expr, from: ModelDef, scopes: Scopes): ModelDef | undefined {
  const path = pathOf(callee);
  if (!path) return undefined;
  let def = scopes.lookup(from.module, path[0]!);
  for (const member of path.slice(1)) def = def?.kind === "module" ? scopes.member(def, member) : undefined;
  return def?.kind === "model" ? def : undefined;
}
