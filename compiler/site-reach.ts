// Whether a change at one site of a backbone can change the value at another: the question behind the
// lint "a trainable parameter no loss depends on". Site paths are followed through aliases and submodules
// down to the model whose forward computes both, and there the `let`s the target depends on are closed
// over. An answer the analysis cannot give is `undefined`, and lint stays silent rather than guess.

import type { Expr, ModelDecl, Stmt } from "../grammar/ast.ts";
import { dottedPath } from "./dotted-path.ts";
import type { Definition, Scopes } from "./scope.ts";

type ModelDef = Definition & { kind: "model" };

/** One level of a located path: the model, and the name within it the path ends at or enters. */
interface Level {
  model: ModelDef;
  head: string;
}

/** True when a change at `from` can change `target`; undefined when the analysis cannot tell. */
export function siteReaches(
  backbone: ModelDef,
  from: string[],
  target: string[],
  scopes: Scopes,
): boolean | undefined {
  const source = locate(backbone, from, scopes, 0);
  if (!source) return undefined;
  const sink = locate(backbone, target, scopes, 0);
  // Not a value of the backbone (labels, the epoch): nothing in the model changes it.
  if (!sink) return false;
  const at = sink[sink.length - 1]!;
  // The source seen at the sink's level: the submodule (or site) through which the change enters there.
  const entry = source.find((level) => level.model.decl === at.model.decl);
  if (!entry) return undefined;
  if (entry.head === at.head) return true;
  return dependencies(at.model.decl, at.head).has(entry.head);
}

/**
 * Follows a site path through `site x = alias` and into submodules. Returns each model it passes through
 * with the name it ends at or enters there, outermost first.
 */
function locate(model: ModelDef, path: string[], scopes: Scopes, depth: number): Level[] | undefined {
  if (depth > 16 || path.length === 0) return undefined;
  const [head, ...rest] = path as [string, ...string[]];
  for (const item of model.decl.items) {
    if (item.kind === "Site" && item.name.name === head) {
      const alias = item.value && item.value.kind !== "List" ? dottedPath(item.value) : undefined;
      return alias ? locate(model, [...alias, ...rest], scopes, depth + 1) : [{ model, head }];
    }
    if (item.kind === "Submodule" && item.name.name === head) {
      const here: Level = { model, head };
      if (rest.length === 0) return [here];
      const inner = submoduleModel(item.value.callee, model, scopes);
      const deeper = inner ? locate(inner, rest, scopes, depth + 1) : undefined;
      return deeper ? [here, ...deeper] : [here];
    }
    if (item.kind === "ParamDecl" && item.name.name === head) return [{ model, head }];
  }
  return undefined;
}

function submoduleModel(callee: Expr, from: ModelDef, scopes: Scopes): ModelDef | undefined {
  const path = dottedPath(callee);
  if (!path) return undefined;
  let def = scopes.lookup(from.module, path[0]!);
  for (const member of path.slice(1)) def = def?.kind === "module" ? scopes.member(def, member) : undefined;
  return def?.kind === "model" ? def : undefined;
}

/** Every name the forward's `let target` depends on, transitively through other lets. */
function dependencies(decl: ModelDecl, target: string): Set<string> {
  const forward = decl.items.find((i) => i.kind === "Hook" && i.target === "forward");
  const lets = new Map<string, Set<string>>();
  if (forward?.kind === "Hook") collectLets(forward.body, lets);
  const seen = new Set<string>();
  const pending = [...(lets.get(target) ?? [])];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    pending.push(...(lets.get(name) ?? []));
  }
  return seen;
}

function collectLets(body: Stmt[], into: Map<string, Set<string>>): void {
  for (const stmt of body) {
    if (stmt.kind === "Let" || stmt.kind === "Assign") {
      const names = into.get(stmt.name.name) ?? new Set<string>();
      namesIn(stmt.value, names);
      into.set(stmt.name.name, names);
    } else if (stmt.kind === "For") {
      collectLets(stmt.body, into);
    }
  }
}

function namesIn(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) namesIn(item, into);
  } else if (node && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record["kind"] === "Name") into.add(record["name"] as string);
    for (const key in record) if (key !== "span") namesIn(record[key], into);
  }
}
