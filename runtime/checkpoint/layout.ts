// The checkpoint layout a stdlib model declares: every `param … from "key"` reached through its `sub`s,
// with the full key (the `from` prefixes joined with `.`, `{i}` interpolated in repeated subs) and the
// shape evaluated from the model's arguments. Read from the Pipeline IR the compiler produces — the
// definitions of `stdlib/clip.vlmp` are the single source of truth for key names and shapes; nothing here
// repeats them.

import { compileFile } from "../../compiler/compile.ts";
import type { IrDefinition, PipelineIr } from "../../compiler/ir.ts";
import { evalDim, parseParamType } from "../../compiler/lower/param-types.ts";
import type { JsonValue } from "../../compiler/values.ts";

type Obj = { readonly [key: string]: JsonValue };
type Value = number | string | boolean | undefined;

const isObj = (v: JsonValue | undefined): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export class LayoutError extends Error {
  override name = "LayoutError";
}

/** Full checkpoint key → shape, in declaration order. */
export type CheckpointLayout = Map<string, number[]>;

function evalExpr(expr: JsonValue | undefined, scope: ReadonlyMap<string, Value>): Value {
  if (!isObj(expr)) return undefined;
  switch (expr["expr"]) {
    case "number":
    case "string":
    case "bool":
      return expr["value"] as Value;
    case "name":
      return scope.get(expr["name"] as string);
    case "unary": {
      const v = evalExpr(expr["operand"], scope);
      return expr["op"] === "-" && typeof v === "number" ? -v : undefined;
    }
    case "binary": {
      const l = evalExpr(expr["left"], scope);
      const r = evalExpr(expr["right"], scope);
      if (typeof l !== "number" || typeof r !== "number") return undefined;
      switch (expr["op"]) {
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return l / r;
        case "//":
          return Math.floor(l / r);
        case "%":
          return l % r;
        case "**":
          return l ** r;
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== "").join(".");
}

function resolveCallee(callee: JsonValue | undefined, module: string, ir: PipelineIr): string {
  if (isObj(callee) && callee["expr"] === "name") {
    const name = callee["name"] as string;
    if (`${module}.${name}` in ir.definitions) return `${module}.${name}`;
    if (name in ir.definitions) return name;
  }
  if (isObj(callee) && callee["expr"] === "member" && isObj(callee["object"])) {
    const name = `${callee["object"]["name"] as string}.${callee["property"] as string}`;
    if (name in ir.definitions) return name;
  }
  throw new LayoutError(`cannot resolve the submodule ${JSON.stringify(callee)} in ${module}`);
}

/**
 * The layout of model `defName` (a qualified name such as `clip.tiny`) called with `args` (named), walking
 * the IR's definitions.
 */
export function layoutFromIr(
  ir: PipelineIr,
  defName: string,
  args: Readonly<Record<string, Value>>,
): CheckpointLayout {
  const layout: CheckpointLayout = new Map();
  const visit = (name: string, bound: ReadonlyMap<string, Value>, prefix: string): void => {
    const def: IrDefinition | undefined = ir.definitions[name];
    if (def?.kind !== "model") throw new LayoutError(`${name} is not a model in the IR`);
    const module = name.slice(0, name.lastIndexOf("."));
    const scope = new Map<string, Value>();
    for (const p of def.params) {
      const value = bound.has(p.name) ? bound.get(p.name) : evalExpr(p.default, scope);
      scope.set(p.name, value);
    }
    const sizes = (): Map<string, number> => {
      const out = new Map<string, number>();
      for (const [k, v] of scope) if (typeof v === "number") out.set(k, v);
      return out;
    };
    for (const item of def.items ?? []) {
      if (!isObj(item)) continue;
      if (item["item"] === "let") {
        scope.set(item["name"] as string, evalExpr(item["value"], scope));
      } else if (item["item"] === "param" && typeof item["checkpoint"] === "string") {
        const type = parseParamType(item["shape"] as string);
        const key = joinKey(prefix, item["checkpoint"]);
        if (type.kind !== "tensor")
          throw new LayoutError(`${key}: the shape ${String(item["shape"])} is not a tensor`);
        const shape = type.dims.map((d) => evalDim(d, sizes()));
        if (!shape.every((d) => d !== undefined && Number.isInteger(d) && d >= 0)) {
          throw new LayoutError(
            `${key}: the shape ${String(item["shape"])} does not evaluate to sizes in ${name}`,
          );
        }
        layout.set(key, shape as number[]);
      } else if (item["item"] === "sub") {
        const call = item["value"];
        if (!isObj(call) || call["expr"] !== "call") continue;
        const target = resolveCallee(call["callee"], module, ir);
        const targetDef = ir.definitions[target]!;
        const subPrefix = typeof item["prefix"] === "string" ? item["prefix"] : "";
        const instantiate = (inner: ReadonlyMap<string, Value>, keyPrefix: string): void => {
          const subArgs = new Map<string, Value>();
          const positional = (call["args"] as JsonValue[] | undefined) ?? [];
          positional.forEach((a, i) => {
            const param = targetDef.params[i];
            if (param) subArgs.set(param.name, evalExpr(a, inner));
          });
          const named = isObj(call["named"]) ? call["named"] : {};
          for (const [k, v] of Object.entries(named)) subArgs.set(k, evalExpr(v, inner));
          visit(target, subArgs, joinKey(prefix, keyPrefix));
        };
        const repeat = item["repeat"];
        if (isObj(repeat) && isObj(repeat["range"])) {
          const variable = repeat["variable"] as string;
          const start = evalExpr(repeat["range"]["start"], scope);
          const end = evalExpr(repeat["range"]["end"], scope);
          if (typeof start !== "number" || typeof end !== "number") {
            throw new LayoutError(
              `${name}.${item["name"] as string}: the repetition count does not evaluate`,
            );
          }
          for (let i = start; i < end; i++) {
            const inner = new Map(scope).set(variable, i);
            instantiate(inner, subPrefix.replaceAll(`{${variable}}`, String(i)));
          }
        } else {
          instantiate(scope, subPrefix);
        }
      }
    }
  };
  visit(defName, new Map(Object.entries(args)), "");
  return layout;
}

const irCache = new Map<string, PipelineIr>();

/**
 * The IR of a one-line spec whose backbone is `clip.<model>(<args>)`: it carries every definition the
 * model reaches. Compiled once per argument text.
 */
export function compileBackboneIr(call: string, weights = "."): PipelineIr {
  const text = `use clip\n\npipeline layout {\n  backbone = ${call}\n}\n`;
  const key = `${text}\0${weights}`;
  const cached = irCache.get(key);
  if (cached) return cached;
  const result = compileFile(`${weights}/layout.vlmp`, { mode: "compile", text });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.ir || errors.length > 0) {
    throw new LayoutError(`compiling ${call} failed: ${errors.map((d) => d.message).join("; ")}`);
  }
  irCache.set(key, result.ir);
  return result.ir;
}

/** The layout of the backbone of a compiled pipeline (`backbone = clip.tiny(weights: …)`). */
export function backboneLayout(ir: PipelineIr): CheckpointLayout {
  const backbone = ir.root.settings["backbone"];
  if (!isObj(backbone) || typeof backbone["$call"] !== "string") {
    throw new LayoutError("the pipeline has no model call as its backbone");
  }
  const args = isObj(backbone["args"]) ? (backbone["args"] as Record<string, Value>) : {};
  return layoutFromIr(ir, backbone["$call"], args);
}

/** The layout of a named configuration of `stdlib/clip.vlmp` (`tiny`, `vit_b32`, `vit_b16`, `vit_l14`). */
export function stdlibClipLayout(model: string): CheckpointLayout {
  return backboneLayout(compileBackboneIr(`clip.${model}(weights: ".")`));
}

/** Arguments of `clip.clip_model` (the dual encoder) from a checkpoint's dimensions. */
export interface ClipModelArgs {
  image: number;
  patch: number;
  width: number;
  layers: number;
  heads: number;
  text_width: number;
  text_layers: number;
  text_heads: number;
  embed: number;
  context: number;
  vocab: number;
}

/** The layout `clip.clip_model` declares for these dimensions (any CLIP, not only the named ones). */
export function clipModelLayout(args: ClipModelArgs): CheckpointLayout {
  const ir = compileBackboneIr(`clip.tiny(weights: ".")`);
  return layoutFromIr(ir, "clip.clip_model", { ...args });
}
