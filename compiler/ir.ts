// The Pipeline IR: a pipeline fully resolved into plain JSON (`"vlmp_ir": 1`) — inheritance merged,
// defaults explicit, imports gone, every definition it uses carried along as typed trees. Its hash
// names the experiment: two specs with the same IR are the same experiment.

import { createHash } from "node:crypto";
import type { Expr, Param, Stmt, TypeExpr } from "../grammar/ast.ts";
import type { ResolvedBlock, ResolvedPipeline } from "./check-pipeline.ts";
import { dottedPath } from "./dotted-path.ts";
import { exprToIr, stmtToIr, type TypeTable } from "./ir-expr.ts";
import { type Definition, qualifiedName, type Scopes } from "./scope.ts";
import { symbolicDim } from "./tensor-types.ts";
import { typeFromAnnotation, typeToString } from "./types.ts";
import { type JsonValue, valueToJson } from "./values.ts";

export const IR_VERSION = 1;

export interface PipelineIr {
  vlmp_ir: typeof IR_VERSION;
  pipeline: string;
  extends: string[];
  root: IrBlock;
  definitions: Record<string, IrDefinition>;
}

export interface IrBlock {
  block: string;
  label?: string;
  settings: Record<string, JsonValue>;
  adapters: JsonValue[];
  blocks: IrBlock[];
}

export interface IrDefinition {
  kind: "fn" | "loss" | "model" | "adapter";
  params: IrParam[];
  returns?: string;
  body?: JsonValue[];
  items?: JsonValue[];
  [key: string]: unknown;
}

interface IrParam {
  name: string;
  type?: string;
  default?: JsonValue;
}

export function buildIr(pipeline: ResolvedPipeline, scopes: Scopes, types: TypeTable): PipelineIr {
  const definitions: Record<string, IrDefinition> = {};
  const pending = [...pipeline.usedDefinitions.values()];
  while (pending.length > 0) {
    const def = pending.pop()!;
    const name = qualifiedName(def);
    if (name in definitions) continue;
    const ir = definitionToIr(def, types);
    if (!ir) continue;
    definitions[name] = ir;
    pending.push(...referencedDefinitions(def, scopes));
  }
  return {
    vlmp_ir: IR_VERSION,
    pipeline: pipeline.name,
    extends: pipeline.ancestry,
    root: blockToIr(pipeline.root),
    definitions: sortKeys(definitions),
  };
}

function blockToIr(block: ResolvedBlock): IrBlock {
  const settings: Record<string, JsonValue> = {};
  for (const name of [...block.settings.keys()].sort())
    settings[name] = valueToJson(block.settings.get(name)!.value);
  return {
    block: block.name,
    ...(block.label ? { label: block.label } : {}),
    settings,
    adapters: block.adapters.map((a) => valueToJson(a.value)),
    blocks: block.blocks.map(blockToIr),
  };
}

function typeText(type: TypeExpr | undefined): string | undefined {
  return type ? typeToString(typeFromAnnotation(type, symbolicDim)) : undefined;
}

function paramsToIr(params: Param[], types: TypeTable): IrParam[] {
  return params.map((p) => {
    const type = typeText(p.type);
    return {
      name: p.name.name,
      ...(type ? { type } : {}),
      ...(p.default ? { default: exprToIr(p.default, types) } : {}),
    };
  });
}

function definitionToIr(def: Definition, types: TypeTable): IrDefinition | undefined {
  const body = (stmts: Stmt[]) => stmts.map((s) => stmtToIr(s, types));
  switch (def.kind) {
    case "function": {
      const returns = typeText(def.decl.returns);
      return {
        kind: def.decl.keyword,
        params: paramsToIr(def.decl.params, types),
        ...(returns ? { returns } : {}),
        body: body(def.decl.body),
      };
    }
    case "model":
    case "adapter": {
      const items: JsonValue[] = [];
      for (const item of def.decl.items) {
        switch (item.kind) {
          case "ParamDecl":
            items.push({
              item: "param",
              name: item.name.name,
              shape: typeText(item.type) ?? "[]",
              ...(item.init ? { init: exprToIr(item.init, types) } : {}),
              ...(item.checkpoint ? { checkpoint: item.checkpoint.value } : {}),
              trainable: item.trainable ?? def.kind === "adapter",
            });
            break;
          case "Submodule":
            items.push({
              item: "sub",
              name: item.name.name,
              ...(item.repeat
                ? {
                    repeat: {
                      variable: item.repeat.variable.name,
                      range: exprToIr(item.repeat.range, types),
                    },
                  }
                : {}),
              value: exprToIr(item.value, types),
              ...(item.prefix ? { prefix: item.prefix.value } : {}),
            });
            break;
          case "Site":
            items.push({
              item: "site",
              name: item.name.name,
              ...(item.value ? { value: exprToIr(item.value, types) } : {}),
            });
            break;
          case "Hook": {
            const returns = typeText(item.returns);
            items.push({
              item: "hook",
              target: item.target === "forward" ? "forward" : exprToIr(item.target, types),
              params: paramsToIr(item.params, types) as unknown as JsonValue,
              ...(returns ? { returns } : {}),
              body: body(item.body),
            });
            break;
          }
          case "Unfreeze":
            items.push({ item: "unfreeze", target: exprToIr(item.target, types) });
            break;
          case "Let":
            items.push({ item: "let", name: item.name.name, value: exprToIr(item.value, types) });
            break;
        }
      }
      return { kind: def.kind, params: paramsToIr(def.decl.params, types), items };
    }
    default:
      // Externs are implemented by the host; their calls already carry every argument.
      return undefined;
  }
}

/** Definitions a definition's body calls or instantiates, resolved in its own module. */
function referencedDefinitions(def: Definition, scopes: Scopes): Definition[] {
  if (def.kind !== "function" && def.kind !== "model" && def.kind !== "adapter") return [];
  const found: Definition[] = [];
  const visit = (expr: Expr | undefined): void => {
    if (!expr) return;
    switch (expr.kind) {
      case "Call": {
        const path = dottedPath(expr.callee);
        if (path) {
          let target = scopes.lookup(def.module, path[0]!);
          for (const member of path.slice(1))
            target = target?.kind === "module" ? scopes.member(target, member) : undefined;
          if (target && target.kind !== "module") found.push(target);
        }
        visit(expr.callee);
        for (const a of expr.args) visit(a.value);
        break;
      }
      case "Binary":
        visit(expr.left);
        visit(expr.right);
        break;
      case "Unary":
        visit(expr.operand);
        break;
      case "List":
        expr.items.forEach(visit);
        break;
      case "Record":
        for (const f of expr.fields) visit(f.value);
        break;
      case "Member":
        visit(expr.object);
        break;
      case "Index":
        visit(expr.object);
        for (const item of expr.items) {
          if (item.kind === "IndexExpr") visit(item.value);
          if (item.kind === "Slice") [item.start, item.stop, item.step].forEach(visit);
        }
        break;
      case "Range":
        visit(expr.start);
        visit(expr.end);
        break;
      default:
        break;
    }
  };
  const visitStmts = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      if (s.kind === "For") {
        visit(s.iterable);
        visitStmts(s.body);
      } else if (s.kind === "ExprStmt") visit(s.expr);
      else visit(s.value);
    }
  };
  if (def.kind === "function") {
    visitStmts(def.decl.body);
    for (const p of def.decl.params) visit(p.default);
  } else {
    for (const item of def.decl.items) {
      if (item.kind === "ParamDecl") visit(item.init);
      else if (item.kind === "Submodule") visit(item.value);
      else if (item.kind === "Hook") visitStmts(item.body);
      else if (item.kind === "Let") visit(item.value);
    }
  }
  return found;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key]!;
  return out;
}

/** JSON with object keys sorted at every level: the canonical text the hash is taken over. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** The run identity: the first 16 hex digits of the SHA-256 of the canonical IR. */
export function irHash(ir: PipelineIr): string {
  return createHash("sha256").update(canonicalJson(ir)).digest("hex").slice(0, 16);
}
