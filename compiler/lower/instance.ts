// A model call from the Pipeline IR instantiated as a tree before its forward is lowered: each
// instance holds its definition, its constant arguments (ints also size its dimensions), its parameters
// named by their full checkpoint key (the `from` prefixes of the enclosing `sub`s joined with `.`, `{i}`
// interpolated for repeated subs) with shapes evaluated, its submodules and its sites. Adapters are
// instantiated beside it: their hooks attached to the sites they name (site paths such as
// `visual.blocks[1..depth].tokens` resolved through `site … = …` re-exports, submodules and
// repetitions), their `unfreeze` targets marked trainable, their parameters' initialisers evaluated.

import { GraphBuilder } from "../graph/builder.ts";
import type { IrDefinition, PipelineIr } from "../ir.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../values.ts";
import { LoweringError } from "./errors.ts";
import { exprText } from "./expr-text.ts";
import { type Frame, Lowerer, Scope } from "./function.ts";
import { dimText, evalDim, parseParamType } from "./param-types.ts";
import { describe, type LValue, numberValue } from "./values.ts";

/** A parameter initialiser (an `extern init` call) with its arguments evaluated: `normal(std: 0.02)`. */
export interface InitSpec {
  readonly kind: string;
  readonly args: Readonly<Record<string, number | string | boolean>>;
}

export interface ModelParam {
  /** The graph name: the full checkpoint key (`vision_model.encoder.layers.0.layer_norm1.weight`) or `adapters.<adapter>.<param>`. */
  readonly key: string;
  /** The name declared in its model or adapter. */
  readonly name: string;
  readonly shape: readonly number[];
  trainable: boolean;
  readonly init?: InitSpec;
  /** The checkpoint key it loads from (backbone parameters with `from`). */
  readonly checkpoint?: string;
  /** The instance path (`clip.visual.blocks.0.ln_1`) or the adapter's prefix (`adapters.prompt`). */
  readonly owner: string;
}

export interface HookUse {
  readonly adapter: AdapterInstance;
  readonly hook: JsonObject;
}

export interface Instance {
  readonly defName: string;
  readonly def: IrDefinition;
  readonly module: string;
  /** Submodule names from the root; a repetition adds its index (`clip`, `visual`, `blocks`, `0`). */
  readonly path: readonly string[];
  readonly prefix: string;
  readonly args: ReadonlyMap<string, LValue>;
  readonly dims: ReadonlyMap<string, number>;
  readonly symbols: ReadonlySet<string>;
  readonly params: Map<string, ModelParam>;
  readonly subs: Map<string, Instance | Instance[]>;
  /** Sites without `= …`: they name a `let` or a parameter of the forward. */
  readonly valueSites: ReadonlySet<string>;
  readonly siteItems: ReadonlyMap<string, JsonValue | undefined>;
  readonly siteNames: readonly string[];
  /** The index within a repeated `sub`. */
  readonly repetition?: number;
  readonly hooks: Map<string, HookUse[]>;
  readonly siteValues: Map<string, LValue>;
}

export interface AdapterInstance {
  readonly defName: string;
  readonly def: IrDefinition;
  readonly module: string;
  /** `adapters.<name>`: its parameters are `adapters.<name>.<param>`. */
  readonly prefix: string;
  readonly args: ReadonlyMap<string, LValue>;
  /** The arguments as the pipeline gives them (site references stay `{$ref: …}`). */
  readonly raw: Readonly<Record<string, JsonValue>>;
  readonly dims: ReadonlyMap<string, number>;
  readonly symbols: ReadonlySet<string>;
  readonly paramItems: ReadonlyMap<string, JsonObject>;
  /** The initialiser of parameter `name`, its arguments evaluated with the hook's dimensions (`fan_in: E`). */
  readonly initOf: (name: string, dims: ReadonlyMap<string, number>) => InitSpec | undefined;
  /** Created when a hook first reads them (their shapes are sized by the hook's dimensions). */
  readonly params: Map<string, ModelParam>;
}

export interface ModelTree {
  readonly root: Instance;
  readonly adapters: readonly AdapterInstance[];
  readonly backboneParams: ModelParam[];
  readonly adapterParams: ModelParam[];
  /** Whether some hook returns a shape other than its site's (then declared forward returns are not checked). */
  readonly reshapingHooks: boolean;
}

export type Target =
  | { readonly kind: "value"; readonly inst: Instance; readonly name: string }
  | { readonly kind: "instance"; readonly inst: Instance }
  | { readonly kind: "param"; readonly inst: Instance; readonly param: ModelParam };

interface Segment {
  readonly name: string;
  /** Repetitions selected by `[i]` or `[a..b]`; all when absent. */
  readonly indices?: readonly number[];
}

/** Evaluates constant expressions (arguments, shapes, indices) with the function lowering's folding. */
class Constants {
  private readonly lowerer: Lowerer;
  constructor(ir: PipelineIr) {
    this.lowerer = new Lowerer(ir, new GraphBuilder());
  }

  frame(name: string, def: IrDefinition, module: string, args: ReadonlyMap<string, LValue>) {
    const frame: Frame = {
      name,
      def,
      module,
      dims: intArgs(args),
      symbols: enumOptions(def),
    };
    const scope = new Scope();
    for (const [k, v] of args) scope.define(k, v);
    return { frame, scope };
  }

  eval(ctx: { frame: Frame; scope: Scope }, e: JsonValue, lenientNames = false): LValue {
    if (lenientNames && isJsonObject(e) && e["expr"] === "name" && !ctx.scope.get(String(e["name"]))) {
      const name = String(e["name"]);
      if (!ctx.frame.dims.has(name)) return { kind: "symbol", name };
    }
    const v = this.lowerer.expr(ctx.frame, ctx.scope, e);
    if (v.kind === "tensor") {
      throw new LoweringError("type", ctx.frame.name, exprText(e), "must be a constant, got a tensor");
    }
    return v;
  }
}

function intArgs(args: ReadonlyMap<string, LValue>): Map<string, number> {
  const dims = new Map<string, number>();
  for (const [k, v] of args) if (v.kind === "number" && Number.isInteger(v.value)) dims.set(k, v.value);
  return dims;
}

function enumOptions(def: IrDefinition): Set<string> {
  return new Set(
    def.params.flatMap((p) => {
      const t = parseParamType(p.type);
      return t.kind === "enum" ? t.options : [];
    }),
  );
}

/** Resolves a reference to a pipeline setting (`cfr.evalDropout`); undefined when it names none. */
export type SettingResolver = (path: string) => JsonValue | undefined;

/**
 * A pipeline value (`{$symbol: …}`, numbers, lists) as a lowering constant; a `{$ref: …}` to a setting
 * becomes the setting's value, any other reference (a site path) stays a string.
 */
export function jsonToValue(j: JsonValue, settings?: SettingResolver): LValue {
  if (j === null) return { kind: "none" };
  if (typeof j === "number") return numberValue(j);
  if (typeof j === "boolean") return { kind: "bool", value: j };
  if (typeof j === "string") return { kind: "string", value: j };
  if (Array.isArray(j)) return { kind: "list", items: j.map((x) => jsonToValue(x, settings)) };
  if ("$symbol" in j) return { kind: "symbol", name: String(j["$symbol"]) };
  if ("$ref" in j) {
    const setting = settings?.(String(j["$ref"]));
    return setting !== undefined
      ? jsonToValue(setting, settings)
      : { kind: "string", value: String(j["$ref"]) };
  }
  return { kind: "none" };
}

/** `[w, 3, p, p]` with sizes for its symbols; a message when one has none. */
export function paramShape(text: string, dims: ReadonlyMap<string, number>): number[] | string {
  const t = parseParamType(text);
  if (t.kind !== "tensor") return `'${text}' is not a tensor shape`;
  const shape: number[] = [];
  for (const d of t.dims) {
    const n = evalDim(d, dims);
    if (n === undefined || !Number.isInteger(n) || n < 0) return `cannot size ${dimText(d)}`;
    shape.push(n);
  }
  return shape;
}

function resolveDefinition(ir: PipelineIr, module: string, path: readonly string[]): string | undefined {
  const dotted = path.join(".");
  return [module ? `${module}.${dotted}` : dotted, dotted].find((n) => n in ir.definitions);
}

function calleePath(e: JsonValue | undefined): string[] | undefined {
  if (!isJsonObject(e)) return undefined;
  if (e["expr"] === "name") return [String(e["name"])];
  if (e["expr"] === "member") {
    const base = calleePath(e["object"]);
    return base ? [...base, String(e["property"])] : undefined;
  }
  return undefined;
}

const moduleOf = (name: string) => (name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "");

/** Binds positional and named arguments to `def`'s parameters, defaults evaluated in order. */
function bindArgs(
  constants: Constants,
  name: string,
  def: IrDefinition,
  positional: readonly LValue[],
  named: ReadonlyMap<string, LValue>,
): Map<string, LValue> {
  const fail = (reason: string): never => {
    throw new LoweringError("arguments", name, "", reason);
  };
  if (positional.length > def.params.length)
    fail(`takes ${def.params.length} arguments, got ${positional.length}`);
  for (const key of named.keys())
    if (!def.params.some((p) => p.name === key)) fail(`has no parameter '${key}'`);
  const args = new Map<string, LValue>();
  def.params.forEach((p, i) => {
    let v = i < positional.length ? positional[i] : named.get(p.name);
    if (v === undefined) {
      if (p.default === undefined) fail(`missing argument '${p.name}'`);
      v = constants.eval(constants.frame(name, def, moduleOf(name), args), p.default!);
    }
    args.set(p.name, v);
  });
  return args;
}

function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== "").join(".");
}

function build(
  ir: PipelineIr,
  constants: Constants,
  defName: string,
  args: Map<string, LValue>,
  path: string[],
  prefix: string,
  params: ModelParam[],
  repetition?: number,
): Instance {
  const def = ir.definitions[defName];
  if (!def) throw new LoweringError("name", defName, "", `no definition '${defName}' in the IR`);
  if (def.kind !== "model") {
    throw new LoweringError("type", defName, "", `'${defName}' is a ${def.kind}, not a model`);
  }
  const module = moduleOf(defName);
  const ctx = constants.frame(defName, def, module, args);
  const inst: Instance = {
    defName,
    def,
    module,
    path,
    prefix,
    args,
    dims: intArgs(args),
    symbols: enumOptions(def),
    params: new Map(),
    subs: new Map(),
    valueSites: new Set(),
    siteItems: new Map(),
    siteNames: [],
    ...(repetition !== undefined ? { repetition } : {}),
    hooks: new Map(),
    siteValues: new Map(),
  };
  const valueSites = inst.valueSites as Set<string>;
  const siteItems = inst.siteItems as Map<string, JsonValue | undefined>;
  for (const item of (def.items ?? []) as JsonValue[]) {
    if (!isJsonObject(item)) continue;
    const name = String(item["name"]);
    switch (item["item"]) {
      case "param": {
        const shape = paramShape(String(item["shape"]), inst.dims);
        if (typeof shape === "string") {
          throw new LoweringError(
            "dims",
            defName,
            "",
            `parameter '${name}' ${String(item["shape"])}: ${shape}`,
          );
        }
        const checkpoint = typeof item["checkpoint"] === "string" ? item["checkpoint"] : undefined;
        const init = item["init"] !== undefined ? initSpec(constants, ctx, item["init"]) : undefined;
        const p: ModelParam = {
          key: joinKey(prefix, checkpoint ?? name),
          name,
          shape,
          trainable: item["trainable"] === true,
          ...(init ? { init } : {}),
          ...(checkpoint !== undefined ? { checkpoint: joinKey(prefix, checkpoint) } : {}),
          owner: path.join("."),
        };
        inst.params.set(name, p);
        params.push(p);
        break;
      }
      case "sub": {
        const value = item["value"];
        if (!isJsonObject(value) || value["expr"] !== "call") {
          throw new LoweringError("unsupported", defName, exprText(value), "a sub must be a model call");
        }
        const target = resolveDefinition(ir, module, calleePath(value["callee"]) ?? []);
        if (!target) {
          throw new LoweringError(
            "name",
            defName,
            exprText(value),
            `no model '${exprText(value["callee"])}' in the IR`,
          );
        }
        const subPrefix = typeof item["prefix"] === "string" ? item["prefix"] : name;
        const instantiateOne = (scope: Scope, subPath: string[], p: string, rep?: number): Instance => {
          const c = { frame: ctx.frame, scope };
          const positional = (value["args"] as JsonValue[]).map((a) => constants.eval(c, a));
          const named = new Map<string, LValue>();
          for (const [k, v] of Object.entries(value["named"] as JsonObject))
            named.set(k, constants.eval(c, v));
          const subArgs = bindArgs(constants, target, ir.definitions[target]!, positional, named);
          return build(ir, constants, target, subArgs, subPath, joinKey(prefix, p), params, rep);
        };
        const repeat = item["repeat"];
        if (isJsonObject(repeat)) {
          const variable = String(repeat["variable"]);
          const range = constants.eval(ctx, repeat["range"]!);
          if (range.kind !== "list") {
            throw new LoweringError(
              "type",
              defName,
              exprText(repeat["range"]),
              `a repetition needs a constant range, got ${describe(range)}`,
            );
          }
          const list: Instance[] = [];
          range.items.forEach((v, i) => {
            const scope = new Scope(ctx.scope);
            scope.define(variable, v);
            const n = v.kind === "number" ? v.value : i;
            list.push(
              instantiateOne(
                scope,
                [...path, name, String(n)],
                subPrefix.replaceAll(`{${variable}}`, String(n)),
                i,
              ),
            );
          });
          inst.subs.set(name, list);
        } else {
          inst.subs.set(name, instantiateOne(ctx.scope, [...path, name], subPrefix));
        }
        break;
      }
      case "site":
        siteItems.set(name, item["value"]);
        (inst.siteNames as string[]).push(name);
        if (item["value"] === undefined) valueSites.add(name);
        break;
      default:
        break;
    }
  }
  return inst;
}

function initSpec(constants: Constants, ctx: { frame: Frame; scope: Scope }, e: JsonValue): InitSpec {
  if (!isJsonObject(e) || e["expr"] !== "call") {
    throw new LoweringError(
      "unsupported",
      ctx.frame.name,
      exprText(e),
      "an initialiser must be an init call such as normal(std: 0.02)",
    );
  }
  const path = calleePath(e["callee"]) ?? [];
  const args: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(e["named"] as JsonObject)) {
    const c = constants.eval(ctx, v, true);
    if (c.kind === "number" || c.kind === "string" || c.kind === "bool") args[k] = c.value;
    else if (c.kind === "symbol") args[k] = c.name;
  }
  return { kind: path[path.length - 1] ?? "", args };
}

// --- site paths ---------------------------------------------------------------------------------------------

/** `visual.blocks[1].tokens`, `visual.blocks[0..3].tokens` as segments. */
function parsePath(text: string): Segment[] {
  return text.split(".").map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)(?:\.\.(\d+))?\])?$/.exec(part);
    if (!m) throw new LoweringError("name", text, "", `'${text}' is not a site path`);
    if (m[2] === undefined) return { name: m[1]! };
    const start = Number(m[2]);
    const end = m[3] === undefined ? start + 1 : Number(m[3]);
    return { name: m[1]!, indices: Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i) };
  });
}

/** Segments of a site expression (`visual.blocks[1..depth].tokens`), indices evaluated by `index`. */
function exprSegments(e: JsonValue, index: (e: JsonValue) => LValue): Segment[] | undefined {
  if (!isJsonObject(e)) return undefined;
  if (e["expr"] === "name") return [{ name: String(e["name"]) }];
  if (e["expr"] === "member") {
    const base = exprSegments(e["object"]!, index);
    return base ? [...base, { name: String(e["property"]) }] : undefined;
  }
  if (e["expr"] === "index") {
    const base = exprSegments(e["object"]!, index);
    const items = e["items"] as JsonValue[];
    if (!base || items.length !== 1 || !isJsonObject(items[0]) || items[0]["item"] !== "index")
      return undefined;
    const v = index(items[0]["value"]!);
    const ints = (v.kind === "list" ? v.items : [v]).map((x) => (x.kind === "number" ? x.value : Number.NaN));
    if (ints.some((n) => !Number.isInteger(n))) return undefined;
    const last = base[base.length - 1]!;
    return [...base.slice(0, -1), { name: last.name, indices: ints }];
  }
  return undefined;
}

function resolveSegments(inst: Instance, segs: readonly Segment[], whole: string): Target[] {
  if (segs.length === 0) return [{ kind: "instance", inst }];
  const [seg, ...rest] = segs as [Segment, ...Segment[]];
  const fail = (reason: string): never => {
    throw new LoweringError("name", inst.defName, whole, reason);
  };
  if (inst.siteItems.has(seg.name)) {
    const value = inst.siteItems.get(seg.name);
    if (value === undefined) {
      if (rest.length > 0 || seg.indices) fail(`site '${seg.name}' is a value: nothing lies under it`);
      return [{ kind: "value", inst, name: seg.name }];
    }
    const targets = siteValueTargets(inst, value, whole);
    if (rest.length === 0 && !seg.indices) return targets;
    return targets.flatMap((t) => {
      if (t.kind !== "instance")
        return fail(
          `site '${seg.name}' is not a model: '${rest.map((r) => r.name).join(".")}' cannot follow it`,
        );
      if (seg.indices) fail(`site '${seg.name}' is not repeated`);
      return resolveSegments(t.inst, rest, whole);
    });
  }
  const sub = inst.subs.get(seg.name);
  if (sub) {
    let chosen: Instance[];
    if (Array.isArray(sub)) {
      chosen = seg.indices ? seg.indices.filter((i) => i >= 0 && i < sub.length).map((i) => sub[i]!) : sub;
    } else {
      if (seg.indices) fail(`'${seg.name}' is not repeated`);
      chosen = [sub];
    }
    return chosen.flatMap((c) => resolveSegments(c, rest, whole));
  }
  const param = inst.params.get(seg.name);
  if (param) {
    if (rest.length > 0 || seg.indices) fail(`'${seg.name}' is a parameter`);
    return [{ kind: "param", inst, param }];
  }
  const known = [...inst.siteItems.keys(), ...inst.subs.keys(), ...inst.params.keys()];
  return fail(
    `'${inst.defName}' has no site, submodule or parameter '${seg.name}' (it has: ${known.join(", ")})`,
  );
}

/** The targets a `site NAME = VALUE` re-export denotes, relative to its model. */
function siteValueTargets(inst: Instance, value: JsonValue, whole: string): Target[] {
  if (isJsonObject(value) && value["expr"] === "list") {
    return (value["items"] as JsonValue[]).flatMap((item) => siteValueTargets(inst, item, whole));
  }
  const segs = exprSegments(value, (e) =>
    isJsonObject(e) && e["expr"] === "number" ? numberValue(Number(e["value"])) : { kind: "none" },
  );
  if (!segs)
    throw new LoweringError(
      "unsupported",
      inst.defName,
      exprText(value),
      "a site names sites, submodules or parameters",
    );
  return resolveSegments(inst, segs, whole);
}

export function resolveSitePath(tree: ModelTree, path: string): Target[] {
  return resolveSegments(tree.root, parsePath(path), path);
}

function paramsUnder(t: Target): ModelParam[] {
  if (t.kind === "param") return [t.param];
  if (t.kind === "value") return [];
  const out: ModelParam[] = [...t.inst.params.values()];
  for (const sub of t.inst.subs.values()) {
    for (const s of Array.isArray(sub) ? sub : [sub]) out.push(...paramsUnder({ kind: "instance", inst: s }));
  }
  return out;
}

// --- instantiation ------------------------------------------------------------------------------------------

/** Instantiates the model call `call` and the adapter calls `adapters` (pipeline JSON values). */
export function instantiate(
  ir: PipelineIr,
  call: JsonValue,
  adapters: readonly JsonValue[],
  settings?: SettingResolver,
): ModelTree {
  if (!isJsonObject(call) || typeof call["$call"] !== "string") {
    throw new LoweringError(
      "type",
      "backbone",
      "",
      "the backbone must be a model call such as clip.tiny(weights: …)",
    );
  }
  const constants = new Constants(ir);
  const name = call["$call"];
  const def = ir.definitions[name];
  if (!def) throw new LoweringError("name", name, "", `no definition '${name}' in the IR`);
  const named = new Map(
    Object.entries((call["args"] ?? {}) as JsonObject).map(([k, v]) => [k, jsonToValue(v)] as const),
  );
  const backboneParams: ModelParam[] = [];
  const root = build(ir, constants, name, bindArgs(constants, name, def, [], named), [], "", backboneParams);
  const tree: ModelTree = {
    root,
    adapters: [],
    backboneParams,
    adapterParams: [],
    reshapingHooks: false,
  };
  const counts = new Map<string, number>();
  for (const a of adapters) {
    if (!isJsonObject(a) || typeof a["$call"] !== "string") continue;
    const adapterName = a["$call"];
    const adef = ir.definitions[adapterName];
    if (adef?.kind !== "adapter") {
      throw new LoweringError("name", adapterName, "", `'${adapterName}' is not an adapter in the IR`);
    }
    const short = adapterName.slice(adapterName.lastIndexOf(".") + 1);
    const n = counts.get(short) ?? 0;
    counts.set(short, n + 1);
    const raw = (a["args"] ?? {}) as JsonObject;
    const args = bindArgs(
      constants,
      adapterName,
      adef,
      [],
      new Map(Object.entries(raw).map(([k, v]) => [k, jsonToValue(v, settings)] as const)),
    );
    const ctx = constants.frame(adapterName, adef, moduleOf(adapterName), args);
    const paramItems = new Map<string, JsonObject>();
    for (const item of (adef.items ?? []) as JsonValue[]) {
      if (isJsonObject(item) && item["item"] === "param") {
        paramItems.set(String(item["name"]), item);
      }
    }
    const adapter: AdapterInstance = {
      defName: adapterName,
      def: adef,
      module: moduleOf(adapterName),
      prefix: n === 0 ? `adapters.${short}` : `adapters.${short}.${n}`,
      args,
      raw,
      dims: intArgs(args),
      symbols: enumOptions(adef),
      paramItems,
      initOf: (param, dims) => {
        const init = paramItems.get(param)?.["init"];
        if (init === undefined) return undefined;
        const withDims = constants.frame(adapterName, adef, moduleOf(adapterName), args);
        for (const [k, v] of dims) if (!withDims.frame.dims.has(k)) withDims.frame.dims.set(k, v);
        return initSpec(constants, withDims, init);
      },
      params: new Map(),
    };
    (tree.adapters as AdapterInstance[]).push(adapter);
    for (const item of (adef.items ?? []) as JsonValue[]) {
      if (!isJsonObject(item)) continue;
      if (item["item"] === "hook") {
        const target = item["target"]!;
        const where = exprText(target);
        const segs = exprSegments(target, (e) => constants.eval(ctx, e));
        if (!segs)
          throw new LoweringError("unsupported", adapterName, where, "a hook's site must be a site path");
        // An empty selection (`blocks[1..depth]` with depth 1) attaches nothing.
        const targets = resolveSegments(root, segs, where);
        for (const t of targets) {
          if (t.kind !== "value") {
            throw new LoweringError(
              "type",
              adapterName,
              where,
              "a hook attaches to a site that names a value (a `let` or a forward parameter)",
            );
          }
          const list = t.inst.hooks.get(t.name) ?? [];
          list.push({ adapter, hook: item });
          t.inst.hooks.set(t.name, list);
        }
        const params = item["params"] as unknown as { type?: string }[];
        if (params[0]?.type !== item["returns"]) (tree as { reshapingHooks: boolean }).reshapingHooks = true;
      } else if (item["item"] === "unfreeze") {
        for (const p of unfreezeTargets(tree, adapter, item["target"]!, constants, ctx)) p.trainable = true;
      }
    }
  }
  return tree;
}

function unfreezeTargets(
  tree: ModelTree,
  adapter: AdapterInstance,
  target: JsonValue,
  constants: Constants,
  ctx: { frame: Frame; scope: Scope },
): ModelParam[] {
  const where = exprText(target);
  if (isJsonObject(target) && target["expr"] === "list") {
    return (target["items"] as JsonValue[]).flatMap((t) => unfreezeTargets(tree, adapter, t, constants, ctx));
  }
  // A `sites` argument: the pipeline passes site references.
  if (isJsonObject(target) && target["expr"] === "name" && String(target["name"]) in adapter.raw) {
    const raw = adapter.raw[String(target["name"])];
    const refs = (Array.isArray(raw) ? raw : [raw]).map((r) =>
      isJsonObject(r) && "$ref" in r ? String(r["$ref"]) : undefined,
    );
    if (refs.some((r) => r === undefined)) {
      throw new LoweringError("type", adapter.defName, where, "unfreeze needs site references");
    }
    return refs.flatMap((r) => resolveSitePath(tree, r!).flatMap(paramsOrFail(adapter, r!)));
  }
  const segs = exprSegments(target, (e) => constants.eval(ctx, e));
  if (!segs) throw new LoweringError("unsupported", adapter.defName, where, "unfreeze needs site paths");
  return resolveSegments(tree.root, segs, where).flatMap(paramsOrFail(adapter, where));
}

function paramsOrFail(adapter: AdapterInstance, where: string): (t: Target) => ModelParam[] {
  return (t) => {
    if (t.kind === "value") {
      throw new LoweringError(
        "type",
        adapter.defName,
        where,
        `'${t.name}' is a value site: it holds no parameters to unfreeze`,
      );
    }
    return paramsUnder(t);
  };
}
