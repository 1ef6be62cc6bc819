// Lowers an IR `fn` or `loss` applied to concrete arguments into graph values: dimension symbols bound
// to sizes (from the arguments' shapes and the caller's table), `let`/assignment/`return` evaluated in
// order, `for` loops over constant ranges and lists unrolled, calls of other user functions inlined
// from `ir.definitions`, builtins mapped by builtins.ts, and everything constant folded on the way
// (settings are constants, so `mode == uniform` is decided here and never reaches the graph).

import type { GraphBuilder } from "../graph/builder.ts";
import { GraphError } from "../graph/errors.ts";
import type { Value } from "../graph/graph.ts";
import type { IrDefinition, PipelineIr } from "../ir.ts";
import type { JsonValue } from "../values.ts";
import { BUILTIN_LOWERINGS, checkBuiltinCall } from "./builtins.ts";
import { LowerFault, LoweringError, type LoweringErrorKind } from "./errors.ts";
import { exprText } from "./expr-text.ts";
import { type IndexItem, lowerIndex } from "./indexing.ts";
import { binaryOp, unaryOp } from "./operators.ts";
import {
  bindShape,
  checkDerived,
  dimSymbols,
  dimText,
  evalDim,
  type ParamType,
  parseParamType,
} from "./param-types.ts";
import {
  boolValue,
  describe,
  isTensorLike,
  type LValue,
  numberValue,
  tensorValue,
  toTensor,
} from "./values.ts";

/** An argument from outside: a graph value, a number or bool setting, or an enum member. */
export type Argument = Value | number | boolean | { readonly symbol: string };

export interface LowerOptions {
  /** Sizes of dimension symbols the arguments' shapes do not bind (`N`, `C`); checked against those they do. */
  readonly dims?: ReadonlyMap<string, number>;
  /** The Philox key of `randn` calls; each call draws from its own counter range. Default 0. */
  readonly seed?: number;
}

type Obj = { readonly [key: string]: JsonValue };

function isObj(v: JsonValue | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Lexical scope of one function activation: `let` binds here, assignment rebinds where the name lives. */
export class Scope {
  private readonly vars = new Map<string, LValue>();
  constructor(private readonly parent?: Scope) {}
  get(name: string): LValue | undefined {
    return this.vars.get(name) ?? this.parent?.get(name);
  }
  define(name: string, v: LValue): void {
    this.vars.set(name, v);
  }
  assign(name: string, v: LValue): boolean {
    if (this.vars.has(name)) {
      this.vars.set(name, v);
      return true;
    }
    return this.parent?.assign(name, v) ?? false;
  }
}

export interface Frame {
  readonly name: string;
  /** The definition (or, for model forwards and adapter hooks, a synthetic `fn` with their params and body). */
  readonly def: IrDefinition;
  /** The module the definition lives in (`losses` for `losses.ueo`): unqualified calls resolve there. */
  readonly module: string;
  readonly dims: Map<string, number>;
  readonly symbols: ReadonlySet<string>;
  /** What a model forward or an adapter hook sees besides its lets and parameters (compiler/lower/model.ts). */
  readonly owner?: unknown;
  /** Whether the result is checked against the declared return type (off where adapter hooks reshape values). */
  readonly checkReturn?: boolean;
}

export function isGraphValue(a: unknown): a is Value {
  return typeof a === "object" && a !== null && "id" in a && "shape" in a && "dtype" in a;
}

export function argumentValue(a: Argument): LValue {
  if (typeof a === "number") return numberValue(a);
  if (typeof a === "boolean") return boolValue(a);
  if (isGraphValue(a)) return tensorValue(a);
  return { kind: "symbol", name: a.symbol };
}

/** The kinds of definitions the lowering handles; the others fail with an `unsupported` error. */
function describeUnsupported(name: string, def: IrDefinition): string {
  return def.kind === "model"
    ? `'${name}' is a model: a fn or loss cannot run it; model forwards are lowered with their parameters by lowerModel (compiler/lower/model.ts)`
    : `'${name}' is an adapter: its hooks are lowered inside a model's forward by lowerModel (compiler/lower/model.ts)`;
}

export class Lowerer {
  protected randomOffset = 0;

  constructor(
    readonly ir: PipelineIr,
    readonly b: GraphBuilder,
    protected readonly seed = 0,
  ) {}

  /**
   * Lowers definition `name` called with `positional` and `named` arguments. `dims` seeds the sizes of
   * dimension symbols (checked against the arguments' shapes); `site` names the caller when inlined.
   */
  call(
    name: string,
    positional: readonly LValue[],
    named: ReadonlyMap<string, LValue>,
    dims: ReadonlyMap<string, number> = new Map(),
  ): LValue {
    const def = this.ir.definitions[name];
    if (!def) {
      throw new LoweringError(
        "name",
        name,
        "",
        `no definition '${name}' in the IR (it holds: ${Object.keys(this.ir.definitions).join(", ")})`,
      );
    }
    if (def.kind !== "fn" && def.kind !== "loss")
      throw new LoweringError("unsupported", name, "", describeUnsupported(name, def));
    const types = def.params.map((p) => parseParamType(p.type));
    const frame: Frame = {
      name,
      def,
      module: name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "",
      dims: new Map(),
      symbols: new Set(types.flatMap((t) => (t.kind === "enum" ? t.options : []))),
    };
    return this.invoke(frame, positional, named, dims);
  }

  /**
   * Binds `positional` and `named` to the parameters of `frame.def` (defaults filled in, dimension
   * symbols bound from the arguments' shapes and `dims`), runs its body and returns its result.
   * `frame.dims` may come seeded (a model's int arguments); arguments are checked against them.
   */
  protected invoke(
    frame: Frame,
    positional: readonly LValue[],
    named: ReadonlyMap<string, LValue>,
    dims: ReadonlyMap<string, number> = new Map(),
  ): LValue {
    const { def, name } = frame;
    const fail = (kind: LoweringErrorKind, reason: string): never => {
      throw new LoweringError(kind, name, "", reason);
    };
    const types = def.params.map((p) => parseParamType(p.type));
    const scope = new Scope();

    if (positional.length > def.params.length) {
      fail("arguments", `takes ${def.params.length} arguments, got ${positional.length} positional ones`);
    }
    for (const key of named.keys()) {
      const at = def.params.findIndex((p) => p.name === key);
      if (at < 0)
        fail(
          "arguments",
          `has no parameter '${key}' (parameters: ${def.params.map((p) => p.name).join(", ")})`,
        );
      if (at < positional.length) fail("arguments", `parameter '${key}' is given twice`);
    }
    // Bind every argument, then the dimensions their shapes carry.
    const bound: LValue[] = [];
    def.params.forEach((p, i) => {
      let v = i < positional.length ? positional[i] : named.get(p.name);
      if (v === undefined) {
        if (p.default === undefined) fail("arguments", `missing argument '${p.name}'`);
        v = this.expr(frame, scope, p.default!);
      }
      bound.push(v);
      scope.define(p.name, v);
    });
    def.params.forEach((p, i) => {
      const t = types[i]!;
      const v = bound[i]!;
      const problem = this.checkArgument(t, v, frame.dims);
      if (problem) fail("shape", `argument '${p.name}' (${p.type ?? "any"}): ${problem}`);
    });
    for (const [symbol, size] of dims) {
      const known = frame.dims.get(symbol);
      if (known === undefined) frame.dims.set(symbol, size);
      else if (known !== size) {
        fail("dims", `dimension ${symbol} is given as ${size} but the arguments' shapes make it ${known}`);
      }
    }
    def.params.forEach((p, i) => {
      const t = types[i]!;
      const v = bound[i]!;
      if (t.kind !== "tensor" || v.kind !== "tensor") return;
      const problem = checkDerived(t.dims, v.value.shape, frame.dims);
      if (problem) fail("shape", `argument '${p.name}' (${p.type}): ${problem}`);
    });

    this.enter(frame, scope);
    const result = this.block(frame, scope, (def.body ?? []) as JsonValue[]);
    if (!result) return fail("type", "the body ends without `return`");
    if (frame.checkReturn !== false) this.checkResult(frame, result);
    return result;
  }

  /** Called once the arguments are bound, before the body runs (model forwards rewrite parameter sites). */
  protected enter(_frame: Frame, _scope: Scope): void {}

  /** The value a `let` binds (model forwards apply adapter hooks at sites here). */
  protected bindLet(_frame: Frame, _scope: Scope, _name: string, value: LValue): LValue {
    return value;
  }

  /** A message when `v` cannot be passed where `t` is declared; binds the dimensions of tensor types. */
  private checkArgument(t: ParamType, v: LValue, dims: Map<string, number>): string | undefined {
    switch (t.kind) {
      case "tensor":
        if (!isTensorLike(v)) return `expects a tensor, got ${describe(v)}`;
        // A number stands for a tensor of any shape (it broadcasts); it binds nothing.
        return v.kind === "tensor" ? bindShape(t.dims, v.value.shape, dims) : undefined;
      case "scalar":
        if (t.type === "bool") {
          const ok = v.kind === "bool" || (v.kind === "tensor" && v.value.shape.length === 0);
          return ok ? undefined : `expects a bool, got ${describe(v)}`;
        }
        if (v.kind === "number") return undefined;
        if (v.kind === "tensor" && v.value.shape.length === 0) return undefined;
        return `expects a ${t.type}, got ${describe(v)}`;
      case "enum":
        return v.kind === "symbol" && t.options.includes(v.name)
          ? undefined
          : `expects one of ${t.options.join(", ")}, got ${describe(v)}`;
      default:
        return undefined;
    }
  }

  private checkResult(frame: Frame, result: LValue): void {
    const fail = (reason: string): never => {
      throw new LoweringError("shape", frame.name, "", reason);
    };
    if (frame.def.kind === "loss") {
      const n = result.kind === "tensor" ? result.value.shape.reduce((p, d) => p * d, 1) : 1;
      if (!isTensorLike(result) || n !== 1) fail(`a loss must return a scalar, got ${describe(result)}`);
    }
    const declared = parseParamType(frame.def.returns);
    if (declared.kind !== "tensor" || result.kind !== "tensor") return;
    const shape = result.value.shape;
    if (declared.dims.length !== shape.length) {
      fail(`returns [${shape.join(", ")}] but declares [${declared.dims.map(dimText).join(", ")}]`);
    }
    declared.dims.forEach((d, i) => {
      const want = evalDim(d, frame.dims);
      if (want !== undefined && want !== shape[i]) {
        fail(
          `returns [${shape.join(", ")}] but declares [${declared.dims.map(dimText).join(", ")}] (${dimText(d)} = ${want})`,
        );
      }
    });
  }

  // --- statements ---------------------------------------------------------------------------------------

  /** Runs statements; the returned value when one of them returns. */
  protected block(frame: Frame, scope: Scope, stmts: readonly JsonValue[]): LValue | undefined {
    for (const s of stmts) {
      if (!isObj(s)) continue;
      switch (s["stmt"]) {
        case "let": {
          const name = String(s["name"]);
          scope.define(name, this.bindLet(frame, scope, name, this.expr(frame, scope, s["value"]!)));
          break;
        }
        case "assign": {
          const v = this.expr(frame, scope, s["value"]!);
          if (!scope.assign(String(s["name"]), v)) {
            throw new LoweringError(
              "name",
              frame.name,
              `${String(s["name"])} = ${exprText(s["value"])}`,
              `assignment to '${String(s["name"])}', which no \`let\` or parameter binds`,
            );
          }
          break;
        }
        case "return":
          return this.expr(frame, scope, s["value"]!);
        case "expr":
          this.expr(frame, scope, s["value"]!);
          break;
        case "for": {
          const iterable = this.expr(frame, scope, s["iterable"]!);
          if (iterable.kind !== "list") {
            throw new LoweringError(
              "unsupported",
              frame.name,
              exprText(s["iterable"]),
              `a for loop runs over a constant range or list, got ${describe(iterable)}`,
            );
          }
          for (const item of iterable.items) {
            const inner = new Scope(scope);
            inner.define(String(s["variable"]), item);
            const r = this.block(frame, inner, s["body"] as JsonValue[]);
            if (r) return r;
          }
          break;
        }
        default:
          throw new LoweringError("unsupported", frame.name, "", `statement '${String(s["stmt"])}'`);
      }
    }
    return undefined;
  }

  // --- expressions --------------------------------------------------------------------------------------

  /** Lowers one expression; a failure inside becomes a LoweringError naming this expression. */
  expr(frame: Frame, scope: Scope, e: JsonValue): LValue {
    try {
      return this.exprInner(frame, scope, e);
    } catch (error) {
      if (error instanceof LoweringError) throw error;
      if (error instanceof LowerFault)
        throw new LoweringError(error.kind, frame.name, exprText(e), error.reason);
      if (error instanceof GraphError)
        throw new LoweringError("shape", frame.name, exprText(e), error.message);
      if (error instanceof TypeError) throw new LoweringError("type", frame.name, exprText(e), error.message);
      throw error;
    }
  }

  private exprInner(frame: Frame, scope: Scope, e: JsonValue): LValue {
    if (!isObj(e)) throw new LowerFault("unsupported", "malformed expression");
    const sub = (x: JsonValue | undefined) => this.expr(frame, scope, x!);
    switch (e["expr"]) {
      case "number":
        return numberValue(Number(e["value"]), e["integer"] === true);
      case "string":
        return { kind: "string", value: String(e["value"]) };
      case "bool":
        return boolValue(e["value"] === true);
      case "none":
        return { kind: "none" };
      case "name":
        return this.lookup(frame, scope, String(e["name"]));
      case "list":
        return { kind: "list", items: (e["items"] as JsonValue[]).map(sub) };
      case "range": {
        const [start, end] = [sub(e["start"]), sub(e["end"])];
        if (start.kind !== "number" || end.kind !== "number" || !start.integer || !end.integer) {
          throw new LowerFault("type", "a range needs constant integer bounds");
        }
        const items: LValue[] = [];
        for (let i = start.value; i < end.value; i++) items.push(numberValue(i, true));
        return { kind: "list", items };
      }
      case "unary":
        return unaryOp(this.b, String(e["op"]), sub(e["operand"]));
      case "binary": {
        const op = String(e["op"]);
        return binaryOp(this.b, op, sub(e["left"]), sub(e["right"]));
      }
      case "index": {
        const object = sub(e["object"]);
        if (object.kind !== "tensor")
          throw new LowerFault("type", `only tensors can be indexed, got ${describe(object)}`);
        const items = (e["items"] as JsonValue[]).map((item) => this.indexItem(frame, scope, item));
        return tensorValue(lowerIndex(this.b, object.value, items));
      }
      case "call":
        return this.callExpr(frame, scope, e);
      case "member":
        throw new LowerFault(
          "unsupported",
          "member access outside a call (fields of models, records or settings) is not lowered",
        );
      case "record":
        throw new LowerFault("unsupported", "records are not tensor values");
      default:
        throw new LowerFault("unsupported", `expression '${String(e["expr"])}'`);
    }
  }

  private indexItem(frame: Frame, scope: Scope, item: JsonValue): IndexItem {
    if (!isObj(item)) throw new LowerFault("unsupported", "malformed index");
    switch (item["item"]) {
      case "new":
        return { kind: "new" };
      case "ellipsis":
        return { kind: "ellipsis" };
      case "index":
        return { kind: "index", value: this.expr(frame, scope, item["value"]!) };
      default: {
        const bound = (key: string): number | undefined => {
          if (!(key in item)) return undefined;
          const v = this.expr(frame, scope, item[key]!);
          if (v.kind !== "number")
            throw new LowerFault("type", `slice bounds must be constant integers, got ${describe(v)}`);
          return v.value;
        };
        const [start, stop, step] = [bound("start"), bound("stop"), bound("step")];
        return {
          kind: "slice",
          ...(start !== undefined ? { start } : {}),
          ...(stop !== undefined ? { stop } : {}),
          ...(step !== undefined ? { step } : {}),
        };
      }
    }
  }

  protected lookup(frame: Frame, scope: Scope, name: string): LValue {
    const local = scope.get(name);
    if (local) return local;
    const size = frame.dims.get(name);
    if (size !== undefined) return numberValue(size, true);
    if (frame.symbols.has(name)) return { kind: "symbol", name };
    const known = new Set(
      frame.def.params.flatMap((p) => {
        const t = parseParamType(p.type);
        return t.kind === "tensor" ? t.dims.flatMap(dimSymbols) : [];
      }),
    );
    if (known.has(name)) {
      throw new LowerFault(
        "dims",
        `dimension '${name}' has no size: no argument's shape binds it and the caller gives none`,
      );
    }
    throw new LowerFault("name", `unknown name '${name}'`);
  }

  protected calleePath(e: JsonValue | undefined): string[] | undefined {
    if (!isObj(e)) return undefined;
    if (e["expr"] === "name") return [String(e["name"])];
    if (e["expr"] === "member") {
      const base = this.calleePath(e["object"]);
      return base ? [...base, String(e["property"])] : undefined;
    }
    return undefined;
  }

  protected callExpr(frame: Frame, scope: Scope, e: Obj): LValue {
    const path = this.calleePath(e["callee"]);
    if (!path) throw new LowerFault("unsupported", "calling a computed value");
    const positional = (e["args"] as JsonValue[]).map((a) => this.expr(frame, scope, a));
    const named = new Map<string, LValue>();
    for (const [k, v] of Object.entries(e["named"] as Obj)) named.set(k, this.expr(frame, scope, v));

    const dotted = path.join(".");
    const qualified = frame.module ? `${frame.module}.${dotted}` : dotted;
    const target = [qualified, dotted].find((n) => n in this.ir.definitions);
    if (path.length === 1 && scope.get(dotted))
      throw new LowerFault("type", `'${dotted}' is a value, not a function`);
    if (target) {
      const def = this.ir.definitions[target]!;
      if (def.kind !== "fn" && def.kind !== "loss")
        throw new LowerFault("unsupported", `calling ${describeUnsupported(target, def)}`);
      try {
        return this.call(target, positional, named);
      } catch (error) {
        if (error instanceof LoweringError) throw error.via(`'${frame.name}' at \`${exprText(e)}\``);
        throw error;
      }
    }
    const builtin = path.length === 1 ? BUILTIN_LOWERINGS[dotted] : undefined;
    if (!builtin)
      throw new LowerFault(
        "name",
        `unknown function '${dotted}' (neither a builtin nor a definition in the IR)`,
      );
    for (const [k, v] of named) if (v.kind === "none") named.delete(k);
    checkBuiltinCall(dotted, positional.length, [...named.keys()]);
    return builtin({
      b: this.b,
      name: dotted,
      args: positional,
      named,
      randomNormal: (shape) => {
        const n = this.b.randomNormal(shape, this.seed, this.randomOffset);
        this.randomOffset += shape.reduce((p, d) => p * d, 1);
        return n;
      },
    });
  }
}

/**
 * Lowers IR definition `name` (a `fn` or `loss`) applied to `args` (by parameter name) into `b`, and
 * returns its result as a graph value (a constant result becomes a scalar). Parameters left out take
 * their defaults. Throws LoweringError naming the definition and expression at fault.
 */
export function lowerFunction(
  ir: PipelineIr,
  name: string,
  args: ReadonlyMap<string, Argument>,
  b: GraphBuilder,
  options: LowerOptions = {},
): Value {
  const lowerer = new Lowerer(ir, b, options.seed ?? 0);
  const named = new Map([...args].map(([k, v]) => [k, argumentValue(v)] as const));
  const result = lowerer.call(name, [], named, options.dims);
  if (!isTensorLike(result)) {
    throw new LoweringError("type", name, "", `returns ${describe(result)}, not a tensor`);
  }
  return toTensor(b, result);
}
