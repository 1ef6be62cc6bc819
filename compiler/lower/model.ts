// Lowers a model call from the Pipeline IR (`backbone = clip.tiny(weights: …)`) with its adapters into
// graph values. The model is first instantiated as a tree (instance.ts: submodules with their constant
// arguments, parameters named by their full checkpoint key, sites); adapter hooks are attached to the
// sites they name and `unfreeze` marks parameters trainable; then the forward is lowered like a
// function body, each submodule call (`ln_1(x)`, `blocks[i](x)`) inlining that instance's forward, each
// `let` that a site names passing through the hooks attached there, each parameter becoming a graph
// `param` the first time the forward reads it.

import { GraphBuilder } from "../graph/builder.ts";
import type { Graph, Value } from "../graph/graph.ts";
import type { DType } from "../graph/ops.ts";
import { halfWeights } from "../graph/passes/half-weights.ts";
import type { IrDefinition, PipelineIr } from "../ir.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../values.ts";
import { LowerFault, LoweringError } from "./errors.ts";
import { exprText } from "./expr-text.ts";
import { type Argument, argumentValue, type Frame, Lowerer, type Scope } from "./function.ts";
import {
  type AdapterInstance,
  type HookUse,
  type Instance,
  instantiate,
  type ModelParam,
  type ModelTree,
  paramShape,
  resolveSitePath,
  type SettingResolver,
} from "./instance.ts";
import { INTEGER_VALUES } from "./objective.ts";
import { bindShape, dimSymbols, evalDim, parseParamType } from "./param-types.ts";
import { describe, isTensorLike, type LValue, numberValue, tensorValue, toTensor } from "./values.ts";

type Owner =
  | { readonly kind: "model"; readonly inst: Instance }
  | { readonly kind: "hook"; readonly adapter: AdapterInstance };

export interface LowerModelOptions {
  /** Adapter calls (`{$call: "adapters.prompt", args: {…}}`), applied in order. */
  readonly adapters?: readonly JsonValue[];
  /** Sizes of dimension symbols the inputs' shapes do not bind (`B`, `C`, `P`). */
  readonly dims?: ReadonlyMap<string, number>;
  /** The Philox key of `randn` calls in the forward and hooks. */
  readonly seed?: number;
  /**
   * Values hooks ask for by name that no site of the model provides (`training`, `task_of`,
   * `reference_text_features`); any other becomes a graph input shaped by the hook's parameter type.
   */
  readonly values?: ReadonlyMap<string, Argument>;
  /** Resolves references to pipeline settings in the model's and adapters' arguments (`cfr.evalDropout`). */
  readonly settings?: SettingResolver;
}

/** A parameter of the lowered model: the backbone's (frozen unless unfrozen) and the adapters'. */
export interface LoweredParam extends ModelParam {
  /** The graph `param` node; absent when the forward never reads the parameter. */
  readonly value?: Value;
}

export interface ModelLowering {
  /** The forward's result (the logits for a CLIP configuration). */
  readonly output: Value;
  /** The value at every site of the top model that names a value (`image_features`, `logits`, …). */
  readonly sites: ReadonlyMap<string, Value>;
  /** The value at a site path (`visual.pooled`, `visual.blocks[1].tokens`); undefined when never lowered. */
  siteValue(path: string): Value | undefined;
  /** Every parameter, backbone first (checkpoint order), then the adapters'. */
  readonly params: readonly LoweredParam[];
  /** Graph inputs created for values hooks asked for (`training`, `task_of`, …), by name. */
  readonly provided: ReadonlyMap<string, Value>;
  /** The tensors hooks bind with `let`, as ADAPTER_NAME (`clap4clip_mu`); the last lowering of each wins. */
  readonly hookValues: ReadonlyMap<string, Value>;
  readonly tree: ModelTree;
}

class ModelLowerer extends Lowerer {
  /** Values recorded at sites, by simple site name (the latest one wins): hooks read them by name. */
  readonly byName = new Map<string, LValue>();
  readonly provided = new Map<string, Value>();
  readonly hookLets = new Map<string, Value>();

  constructor(
    ir: PipelineIr,
    b: GraphBuilder,
    seed: number,
    readonly tree: ModelTree,
    private readonly values: ReadonlyMap<string, Argument>,
    private readonly dims: ReadonlyMap<string, number>,
  ) {
    super(ir, b, seed);
  }

  paramValue(p: ModelParam): Value {
    const cached = (p as { value?: Value }).value;
    if (cached) return cached;
    const v = this.b.param(p.key, p.shape, { trainable: p.trainable });
    (p as { value?: Value }).value = v;
    return v;
  }

  forward(inst: Instance, positional: readonly LValue[], named: ReadonlyMap<string, LValue>): LValue {
    const hook = inst.def.items?.find(
      (i) => isJsonObject(i) && i["item"] === "hook" && i["target"] === "forward",
    );
    if (!isJsonObject(hook)) {
      throw new LoweringError("unsupported", inst.defName, "", `model '${inst.defName}' has no forward`);
    }
    const def: IrDefinition = {
      kind: "fn",
      params: hook["params"] as unknown as IrDefinition["params"],
      ...(typeof hook["returns"] === "string" ? { returns: hook["returns"] } : {}),
      body: hook["body"] as JsonValue[],
    };
    const frame: Frame = {
      name: `${inst.defName}${inst.path.length ? ` (${inst.path.join(".")})` : ""}`,
      def,
      module: inst.module,
      dims: new Map(inst.dims),
      symbols: inst.symbols,
      owner: { kind: "model", inst } satisfies Owner,
      checkReturn: !this.tree.reshapingHooks,
    };
    return this.invoke(frame, positional, named, inst.path.length === 0 ? this.dims : new Map());
  }

  protected override enter(frame: Frame, scope: Scope): void {
    const owner = frame.owner as Owner | undefined;
    if (owner?.kind !== "model") return;
    for (const p of frame.def.params) {
      if (owner.inst.valueSites.has(p.name)) {
        scope.define(p.name, this.atSite(owner.inst, p.name, scope.get(p.name)!, scope));
      }
    }
  }

  protected override bindLet(frame: Frame, scope: Scope, name: string, value: LValue): LValue {
    const owner = frame.owner as Owner | undefined;
    if (owner?.kind === "hook") {
      // A hook's `let`s are provided to the pipeline as ADAPTER_NAME (`clap4clip_mu`).
      const short = owner.adapter.defName.slice(owner.adapter.defName.lastIndexOf(".") + 1);
      if (value.kind === "tensor") this.hookLets.set(`${short}_${name}`, value.value);
      return value;
    }
    if (owner?.kind !== "model" || !owner.inst.valueSites.has(name)) return value;
    return this.atSite(owner.inst, name, value, scope);
  }

  /** Runs the hooks attached at site `name` of `inst` on `value`, records and returns the result. */
  private atSite(inst: Instance, name: string, value: LValue, scope: Scope): LValue {
    let v = value;
    for (const use of inst.hooks.get(name) ?? []) v = this.runHook(use, inst, name, v, scope);
    inst.siteValues.set(name, v);
    this.byName.set(name, v);
    return v;
  }

  private runHook(use: HookUse, inst: Instance, site: string, value: LValue, scope: Scope): LValue {
    const { adapter, hook } = use;
    const params = hook["params"] as unknown as { name: string; type?: string }[];
    const where = `${adapter.defName} at ${exprText(hook["target"])}`;
    const dims = new Map<string, number>([...this.dims, ...adapter.dims]);
    const args: LValue[] = [value];
    const bindDims = (type: string | undefined, v: LValue) => {
      const t = parseParamType(type);
      if (t.kind === "tensor" && v.kind === "tensor") bindShape(t.dims, v.value.shape, dims);
    };
    bindDims(params[0]?.type, value);
    for (const p of params.slice(1)) {
      const t = parseParamType(p.type);
      let v: LValue | undefined;
      if (t.kind === "scalar" && t.type === "int" && inst.repetition !== undefined)
        v = numberValue(inst.repetition, true);
      v ??= scope.get(p.name) ?? this.byName.get(p.name);
      const given = this.values.get(p.name);
      if (!v && given !== undefined) v = argumentValue(given);
      v ??= this.provide(p.name, p.type, dims, where);
      bindDims(p.type, v);
      args.push(v);
    }
    const def: IrDefinition = {
      kind: "fn",
      params: params as IrDefinition["params"],
      ...(typeof hook["returns"] === "string" ? { returns: hook["returns"] } : {}),
      body: hook["body"] as JsonValue[],
    };
    const frame: Frame = {
      name: where,
      def,
      module: adapter.module,
      dims: new Map(adapter.dims),
      symbols: new Set([
        ...adapter.symbols,
        ...params.flatMap((p) => {
          const t = parseParamType(p.type);
          return t.kind === "enum" ? t.options : [];
        }),
      ]),
      owner: { kind: "hook", adapter } satisfies Owner,
    };
    try {
      return this.invoke(frame, args, new Map());
    } catch (error) {
      if (error instanceof LoweringError) throw error.via(`the site '${site}' of ${inst.defName}`);
      throw error;
    }
  }

  /** A graph input for a value a hook asks for that nothing in the model provides. */
  private provide(name: string, type: string | undefined, dims: Map<string, number>, where: string): LValue {
    const known = this.provided.get(name);
    if (known) return tensorValue(known);
    const t = parseParamType(type);
    let shape: number[] = [];
    let dtype: DType = INTEGER_VALUES.has(name) ? "i32" : "f32";
    if (t.kind === "tensor") {
      shape = t.dims.map((d) => {
        const size = evalDim(d, dims);
        if (size === undefined || !Number.isInteger(size) || size < 0) {
          throw new LoweringError(
            "dims",
            where,
            "",
            `cannot size the provided value '${name}' (${type}): give its dimensions`,
          );
        }
        return size;
      });
      if (t.dtype === "i32" || t.dtype === "bool") dtype = t.dtype;
    } else if (t.kind === "scalar") {
      dtype = t.type === "bool" ? "bool" : t.type === "int" ? "i32" : "f32";
    } else {
      throw new LoweringError(
        "unsupported",
        where,
        "",
        `'${name}' (${type ?? "any"}) is neither a site, a value of the forward, nor a tensor the runtime can provide`,
      );
    }
    const v = this.b.input(name, shape, dtype);
    this.provided.set(name, v);
    return tensorValue(v);
  }

  protected override lookup(frame: Frame, scope: Scope, name: string): LValue {
    const local = scope.get(name);
    if (local) return local;
    const owner = frame.owner as Owner | undefined;
    if (owner?.kind === "model") {
      const p = owner.inst.params.get(name);
      if (p) return tensorValue(this.paramValue(p));
      const a = owner.inst.args.get(name);
      if (a) return a;
    } else if (owner?.kind === "hook") {
      const a = owner.adapter.args.get(name);
      if (a) return a;
      const p = owner.adapter.paramItems.get(name);
      if (p) return tensorValue(this.paramValue(this.adapterParam(owner.adapter, name, frame.dims)));
    }
    return super.lookup(frame, scope, name);
  }

  /** The adapter's parameter `name`, created on first use with its shape sized by the hook's dimensions. */
  private adapterParam(
    adapter: AdapterInstance,
    name: string,
    dims: ReadonlyMap<string, number>,
  ): ModelParam {
    const existing = adapter.params.get(name);
    if (existing) return existing;
    const item = adapter.paramItems.get(name)!;
    const shape = paramShape(String(item["shape"]), new Map([...adapter.dims, ...dims]));
    if (typeof shape === "string") {
      throw new LowerFault("dims", `adapter parameter '${name}' ${String(item["shape"])}: ${shape}`);
    }
    const init = adapter.initOf(name, new Map([...adapter.dims, ...dims]));
    const p: ModelParam = {
      key: `${adapter.prefix}.${name}`,
      name,
      shape,
      trainable: item["trainable"] !== false,
      ...(init ? { init } : {}),
      owner: adapter.prefix,
    };
    adapter.params.set(name, p);
    this.tree.adapterParams.push(p);
    return p;
  }

  protected override callExpr(frame: Frame, scope: Scope, e: JsonObject): LValue {
    const owner = frame.owner as Owner | undefined;
    const callee = e["callee"];
    if (owner?.kind === "model" && isJsonObject(callee)) {
      let target: Instance | undefined;
      if (callee["expr"] === "name" && !scope.get(String(callee["name"]))) {
        const sub = owner.inst.subs.get(String(callee["name"]));
        if (sub && !Array.isArray(sub)) target = sub;
        else if (sub)
          throw new LowerFault(
            "type",
            `'${String(callee["name"])}' is repeated: call one, e.g. \`${String(callee["name"])}[i](x)\``,
          );
      } else if (
        callee["expr"] === "index" &&
        isJsonObject(callee["object"]) &&
        callee["object"]["expr"] === "name"
      ) {
        const sub = owner.inst.subs.get(String(callee["object"]["name"]));
        const items = callee["items"] as JsonValue[];
        if (
          Array.isArray(sub) &&
          items.length === 1 &&
          isJsonObject(items[0]) &&
          items[0]["item"] === "index"
        ) {
          const i = this.expr(frame, scope, items[0]["value"]!);
          if (i.kind !== "number" || !Number.isInteger(i.value) || i.value < 0 || i.value >= sub.length) {
            throw new LowerFault(
              "type",
              `index ${describe(i)} of '${String(callee["object"]["name"])}' (${sub.length} repetitions) must be a constant in range`,
            );
          }
          target = sub[i.value];
        }
      }
      if (target) {
        const positional = (e["args"] as JsonValue[]).map((a) => this.expr(frame, scope, a));
        const named = new Map<string, LValue>();
        for (const [k, v] of Object.entries(e["named"] as JsonObject))
          named.set(k, this.expr(frame, scope, v));
        try {
          return this.forward(target, positional, named);
        } catch (error) {
          if (error instanceof LoweringError) throw error.via(`'${frame.name}' at \`${exprText(e)}\``);
          throw error;
        }
      }
    }
    // A function imported by name (`use nn.{dropout}`): the one definition of that name in the IR.
    const path = this.calleePath(callee);
    if (path?.length === 1) {
      const name = path[0]!;
      const own = [frame.module ? `${frame.module}.${name}` : name, name];
      if (!scope.get(name) && !own.some((n) => n in this.ir.definitions)) {
        const found = Object.keys(this.ir.definitions).filter((k) => k.endsWith(`.${name}`));
        if (found.length === 1) {
          const positional = (e["args"] as JsonValue[]).map((a) => this.expr(frame, scope, a));
          const named = new Map<string, LValue>();
          for (const [k, v] of Object.entries(e["named"] as JsonObject))
            named.set(k, this.expr(frame, scope, v));
          try {
            return this.call(found[0]!, positional, named);
          } catch (error) {
            if (error instanceof LoweringError) throw error.via(`'${frame.name}' at \`${exprText(e)}\``);
            throw error;
          }
        }
      }
    }
    return super.callExpr(frame, scope, e);
  }
}

/**
 * Lowers the model call `call` (`{$call: "clip.tiny", args: {…}}`) with `options.adapters` into `b`:
 * its forward applied to `inputs` (by forward parameter name). Parameters become graph `param`s named
 * by their full checkpoint key (adapters': `adapters.<adapter>.<param>`), trainable where an adapter
 * owns or unfreezes them.
 */
export function lowerModel(
  ir: PipelineIr,
  call: JsonValue,
  b: GraphBuilder,
  inputs: ReadonlyMap<string, Argument>,
  options: LowerModelOptions = {},
): ModelLowering {
  const tree = instantiate(ir, call, options.adapters ?? [], options.settings);
  const lowerer = new ModelLowerer(
    ir,
    b,
    options.seed ?? 0,
    tree,
    options.values ?? new Map(),
    options.dims ?? new Map(),
  );
  const named = new Map([...inputs].map(([k, v]) => [k, argumentValue(v)] as const));
  const result = lowerer.forward(tree.root, [], named);
  if (!isTensorLike(result)) {
    throw new LoweringError("type", tree.root.defName, "", `the forward returns ${describe(result)}`);
  }
  const output = toTensor(b, result);
  const siteValue = (path: string): Value | undefined => {
    const targets = resolveSitePath(tree, path);
    const values = targets.flatMap((t) => {
      if (t.kind !== "value") return [];
      const v = t.inst.siteValues.get(t.name);
      return v && v.kind === "tensor" ? [v.value] : [];
    });
    return values.length === 1 ? values[0] : undefined;
  };
  const sites = new Map<string, Value>();
  for (const name of tree.root.siteNames) {
    let v: Value | undefined;
    try {
      v = siteValue(name);
    } catch {
      v = undefined;
    }
    if (v) sites.set(name, v);
  }
  return {
    output,
    sites,
    siteValue,
    params: [...tree.backboneParams, ...tree.adapterParams],
    provided: lowerer.provided,
    hookValues: lowerer.hookLets,
    tree,
  };
}

/** The dimension symbols the top forward's parameters need sizes for (`B`, `C`, `P`), in order. */
export function forwardDims(ir: PipelineIr, call: JsonValue, settings?: SettingResolver): string[] {
  const tree = instantiate(ir, call, [], settings);
  const needed: string[] = [];
  for (const p of forwardParams(tree.root)) {
    const t = parseParamType(p.type);
    if (t.kind !== "tensor") continue;
    for (const d of t.dims) {
      for (const s of dimSymbols(d)) if (!tree.root.dims.has(s) && !needed.includes(s)) needed.push(s);
    }
  }
  return needed;
}

function forwardParams(inst: Instance): { name: string; type?: string }[] {
  const hook = inst.def.items?.find(
    (i) => isJsonObject(i) && i["item"] === "hook" && i["target"] === "forward",
  );
  return isJsonObject(hook) ? (hook["params"] as unknown as { name: string; type?: string }[]) : [];
}

/** Whether the pipeline asks for `precision = f16` (its frozen matmul weights and tables held at f16). */
export function halfPrecision(ir: PipelineIr): boolean {
  const precision = ir.root.settings["precision"];
  return isJsonObject(precision) && precision["$symbol"] === "f16";
}

export interface ForwardGraph {
  /** The forward graph; its outputs are the top model's value sites and `output`. */
  readonly graph: Graph;
  /** One graph input per forward parameter (`pixels` f32, `ids` and `slots` i32). */
  readonly inputs: ReadonlyMap<string, Value>;
  readonly lowering: ModelLowering;
}

/**
 * The backbone's forward as a graph on its own: inputs shaped from the forward's parameter types with
 * `options.dims` (forwardDims lists the symbols), outputs at every value site of the top model.
 */
export function modelForwardGraph(
  ir: PipelineIr,
  call: JsonValue,
  options: LowerModelOptions = {},
): ForwardGraph {
  const tree = instantiate(ir, call, [], options.settings);
  const dims = new Map([...tree.root.dims, ...(options.dims ?? [])]);
  const b = new GraphBuilder();
  const inputs = new Map<string, Value>();
  for (const p of forwardParams(tree.root)) {
    const shape = paramShape(p.type ?? "", dims);
    if (typeof shape === "string") {
      const missing = forwardDims(ir, call, options.settings).filter((s) => !dims.has(s));
      throw new LoweringError(
        "dims",
        tree.root.defName,
        "",
        `the forward's '${p.name}: ${p.type ?? "any"}' needs sizes for ${missing.join(", ") || "its dimensions"}`,
      );
    }
    inputs.set(p.name, b.input(p.name, shape, INTEGER_VALUES.has(p.name) ? "i32" : "f32"));
  }
  const lowering = lowerModel(ir, call, b, inputs, options);
  for (const [name, v] of lowering.sites) b.output(name, v);
  if (![...lowering.sites.values()].includes(lowering.output)) b.output("output", lowering.output);
  return { graph: halfPrecision(ir) ? halfWeights(b.build()) : b.build(), inputs, lowering };
}
