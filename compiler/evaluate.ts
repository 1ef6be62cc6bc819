// Evaluates the expressions of a pipeline's settings into compile-time values, checking names, calls,
// argument types and ranges on the way. Nothing here runs: calls become call values for the runtime.

import type { CallExpr, Expr, Param, Span } from "../grammar/ast.ts";
import { matchArguments } from "./arguments.ts";
import { BUILTINS, type BuiltinArgs, type Constant } from "./builtins.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import { dottedPath } from "./dotted-path.ts";
import { foldBinary } from "./fold.ts";
import type { Module } from "./modules.ts";
import { type Definition, describeDefinition, qualifiedName, type Scopes } from "./scope.ts";
import type { SiteResolution } from "./sites.ts";
import { didYouMean } from "./suggest.ts";
import {
  broadcastShapes,
  SCALAR,
  shapeToString,
  symbolicDim,
  tensor,
  unifyTensorTypes,
} from "./tensor-types.ts";
import {
  ANY,
  BOOL,
  displayType,
  enumOptions,
  INT,
  isAssignable,
  NONE,
  NUMBER,
  STRING,
  type Type,
  typeFromAnnotation,
  typeToString,
} from "./types.ts";
import type { Value } from "./values.ts";

export interface Typed {
  value: Value;
  type: Type;
}

/** What a pipeline expression may refer to besides definitions: settings, blocks, runtime-provided tensors. */
export interface RefEnv {
  lookup(path: string[]): { path: string; type: Type } | undefined;
  names(): string[];
  /** Checks a site path against the pipeline's backbone, when one is known. */
  resolveSite?(path: string[]): SiteResolution | undefined;
}

/** A string a spec uses as a path, remembered so that the path check can report it at its span. */
export interface PathUse {
  value: string;
  span: Span;
  module: Module;
}

const ERROR: Typed = { value: { kind: "error" }, type: ANY };

export class Evaluator {
  readonly paths: PathUse[] = [];
  /** Definitions referenced by the evaluated values: the IR carries their bodies. */
  readonly usedDefinitions = new Map<string, Definition>();

  constructor(
    readonly scopes: Scopes,
    readonly diagnostics: Diagnostic[],
  ) {}

  evaluate(expr: Expr, module: Module, env: RefEnv, expected: Type = ANY): Typed {
    const result = this.evaluateUnchecked(expr, module, env, expected);
    if (result.value.kind !== "error" && !isAssignable(result.type, expected)) {
      if (
        (result.value.kind === "call" || result.value.kind === "definition") &&
        expected.kind === "category"
      ) {
        const name = result.value.kind === "call" ? result.value.callee : result.value.name;
        this.report(
          "V3011",
          expr.span,
          `expected ${withArticle(expected.name)}, but '${name}' is ${withArticle(typeToString(result.type))}`,
        );
      } else {
        this.report(
          "V3001",
          expr.span,
          `expected ${displayType(expected)}, found ${displayType(result.type)}`,
        );
      }
      return ERROR;
    }
    if (expected.kind === "tensor" && result.type.kind === "tensor" && result.value.kind !== "error") {
      if (expected.dims.length === 0 && result.type.dims.length > 0) {
        this.report(
          "V4006",
          expr.span,
          `expected a scalar, found a tensor of shape ${shapeToString(result.type.dims)}`,
          {
            help: "reduce it, e.g. mean(...) or sum(...), or call a loss",
          },
        );
        return ERROR;
      }
      const problem = unifyTensorTypes(expected, result.type, new Map());
      if (problem) {
        this.report(problem.code, expr.span, problem.message);
        return ERROR;
      }
    }
    if (expected.kind === "path" && result.value.kind === "string") {
      this.paths.push({ value: result.value.value, span: expr.span, module });
    }
    return result;
  }

  private evaluateUnchecked(expr: Expr, module: Module, env: RefEnv, expected: Type): Typed {
    switch (expr.kind) {
      case "Number":
        if (expected.kind === "int" && !expr.isInteger) {
          this.report("V3012", expr.span, `expected an integer, found ${expr.text}`, {
            help: `write ${Math.round(expr.value)} if a whole number is meant`,
          });
          return ERROR;
        }
        return {
          value: { kind: "number", value: expr.value, integer: expr.isInteger },
          type: expr.isInteger ? INT : NUMBER,
        };
      case "String":
        return { value: { kind: "string", value: expr.value }, type: STRING };
      case "Bool":
        return { value: { kind: "bool", value: expr.value }, type: BOOL };
      case "None":
        return { value: { kind: "none" }, type: NONE };
      case "List": {
        const itemType = expected.kind === "list" ? expected.item : ANY;
        const items = expr.items.map((item) => this.evaluate(item, module, env, itemType));
        const first = items.find((i) => i.type.kind !== "any");
        return {
          value: { kind: "list", items: items.map((i) => i.value) },
          type: { kind: "list", item: itemType.kind === "any" ? (first?.type ?? ANY) : itemType },
        };
      }
      case "Record": {
        const fields: Record<string, Value> = {};
        for (const field of expr.fields) {
          if (field.key.name in fields) {
            this.report("V3004", field.key.span, `field '${field.key.name}' is given twice`);
            continue;
          }
          fields[field.key.name] = this.evaluate(field.value, module, env).value;
        }
        return { value: { kind: "record", fields }, type: { kind: "record" } };
      }
      case "Name":
      case "Member":
        return this.evaluatePath(expr, module, env, expected);
      case "Call":
        return this.evaluateCall(expr, module, env);
      case "Unary": {
        const operand = this.evaluate(expr.operand, module, env, expr.op === "not" ? BOOL : ANY);
        if (operand.value.kind === "error") return ERROR;
        if (expr.op === "not" && operand.value.kind === "bool") {
          return { value: { kind: "bool", value: !operand.value.value }, type: BOOL };
        }
        if (expr.op === "-" && operand.value.kind === "number") {
          return { value: { ...operand.value, value: -operand.value.value }, type: operand.type };
        }
        return { value: { kind: "op", op: expr.op, operands: [operand.value] }, type: operand.type };
      }
      case "Binary":
        return this.evaluateBinary(expr.op, expr.left, expr.right, expr.span, module, env);
      case "Range": {
        const start = this.evaluate(expr.start, module, env, INT).value;
        const end = this.evaluate(expr.end, module, env, INT).value;
        if (start.kind !== "number" || end.kind !== "number") return ERROR;
        return {
          value: { kind: "range", start: start.value, end: end.value },
          type: { kind: "category", name: "range" },
        };
      }
      case "Index":
        this.report(
          "V3013",
          expr.span,
          "indexing and ranges are tensor expressions; they belong in a fn or loss",
          {
            help: "define a fn in the spec (or stdlib) and call it here",
          },
        );
        return ERROR;
      case "ErrorExpr":
        return ERROR;
    }
  }

  private evaluateBinary(
    op: string,
    leftExpr: Expr,
    rightExpr: Expr,
    span: Span,
    module: Module,
    env: RefEnv,
  ): Typed {
    const left = this.evaluate(leftExpr, module, env);
    // `ueo.evalSplit == test`: the right side is read as a member of the left side's enumeration.
    const comparesEnum = (op === "==" || op === "!=") && enumOptions(left.type).length > 0;
    const right = this.evaluate(rightExpr, module, env, comparesEnum ? left.type : ANY);
    if (left.value.kind === "error" || right.value.kind === "error") return ERROR;
    if (comparesEnum) {
      if (left.value.kind === "symbol" && right.value.kind === "symbol") {
        const equal = left.value.name === right.value.name;
        return { value: { kind: "bool", value: op === "==" ? equal : !equal }, type: BOOL };
      }
      return { value: { kind: "op", op, operands: [left.value, right.value] }, type: BOOL };
    }
    if (left.value.kind === "number" && right.value.kind === "number") {
      const folded = foldBinary(op, left.value.value, right.value.value);
      if (folded !== undefined) {
        if (typeof folded === "boolean") return { value: { kind: "bool", value: folded }, type: BOOL };
        const integer = left.value.integer && right.value.integer && Number.isInteger(folded) && op !== "/";
        return { value: { kind: "number", value: folded, integer }, type: integer ? INT : NUMBER };
      }
    }
    if (left.value.kind === "string" && right.value.kind === "string" && op === "+") {
      return { value: { kind: "string", value: left.value.value + right.value.value }, type: STRING };
    }
    const numeric = (t: Type) =>
      t.kind === "number" || t.kind === "int" || t.kind === "tensor" || t.kind === "any";
    if (!numeric(left.type) || !numeric(right.type)) {
      this.report(
        "V3001",
        span,
        `'${op}' cannot combine ${typeToString(left.type)} and ${typeToString(right.type)}`,
      );
      return ERROR;
    }
    const dims = (t: Type) => (t.kind === "tensor" ? t.dims : []);
    const joined = broadcastShapes(dims(left.type), dims(right.type));
    if (typeof joined === "string") {
      this.report("V4002", span, joined);
      return ERROR;
    }
    const type: Type = left.type.kind === "tensor" || right.type.kind === "tensor" ? tensor(joined) : NUMBER;
    return { value: { kind: "op", op, operands: [left.value, right.value] }, type };
  }

  /** A bare name or a dotted path: an enum symbol, a setting or provided value, or a definition. */
  private evaluatePath(expr: Expr, module: Module, env: RefEnv, expected: Type): Typed {
    const path = dottedPath(expr);
    if (!path) {
      this.report("V3013", expr.span, "only names and dotted paths can be referred to here");
      return ERROR;
    }
    const [head, ...rest] = path;
    const options = enumOptions(expected);
    if (rest.length === 0 && options.includes(head!)) {
      return { value: { kind: "symbol", name: head! }, type: { kind: "enum", options: [head!] } };
    }
    const ref = env.lookup(path);
    if (ref) return { value: { kind: "ref", path: ref.path }, type: ref.type };
    if (isSiteType(expected)) {
      const site = env.resolveSite?.(path);
      if (site && !site.ok) {
        const bad = path[site.failedAt] ?? path[path.length - 1]!;
        const help = didYouMean(bad, site.candidates);
        this.report(
          "V2011",
          expr.span,
          `the backbone has no site '${path.slice(0, site.failedAt + 1).join(".")}'`,
          {
            ...(help
              ? { help }
              : site.candidates.length > 0
                ? { notes: [`sites here: ${site.candidates.join(", ")}`] }
                : {}),
          },
        );
        return ERROR;
      }
      return { value: { kind: "ref", path: path.join(".") }, type: { kind: "category", name: "sites" } };
    }
    const expectsOption = options.length > 0 && rest.length === 0;
    const def = this.resolveDefinition(expr, path, module, expectsOption, env.names());
    if (!def) {
      if (expectsOption) {
        const help = didYouMean(head!, options);
        this.report(
          "V3009",
          expr.span,
          `'${head}' is not one of ${options.map((o) => `'${o}'`).join(", ")}`,
          {
            ...(help ? { help } : {}),
          },
        );
      }
      return ERROR;
    }
    this.usedDefinitions.set(qualifiedName(def), def);
    return { value: { kind: "definition", name: qualifiedName(def) }, type: definitionType(def) };
  }

  /** Resolves `name` or `module.name`; reports unknown names with a suggestion. */
  resolveDefinition(
    expr: Expr,
    path: string[],
    module: Module,
    quiet = false,
    localNames: string[] = [],
  ): Definition | undefined {
    const [head, ...rest] = path;
    let def = this.scopes.lookup(module, head!);
    if (!def) {
      if (!quiet) {
        const help = didYouMean(head!, [...localNames, ...this.scopes.visibleNames(module)]);
        this.report("V2001", spanOfHead(expr), `unknown name '${head}'`, {
          ...(help ? { help } : { help: "is a `use` missing? stdlib names need `use module.name`" }),
        });
      }
      return undefined;
    }
    for (const member of rest) {
      if (def.kind !== "module") {
        this.report("V2006", expr.span, `${describeDefinition(def)} '${def.name}' has no member '${member}'`);
        return undefined;
      }
      const next: Definition | undefined = this.scopes.member(def, member);
      if (!next) {
        const own = this.scopes.scopeOf(def.module).own;
        const help = didYouMean(member, own.keys());
        this.report(
          "V2006",
          expr.kind === "Member" ? expr.property.span : expr.span,
          `module '${def.module.name}' has no definition '${member}'`,
          {
            ...(help ? { help } : { notes: [`it defines: ${[...own.keys()].sort().join(", ")}`] }),
          },
        );
        return undefined;
      }
      def = next;
    }
    return def;
  }

  private evaluateCall(expr: CallExpr, module: Module, env: RefEnv): Typed {
    const path = dottedPath(expr.callee);
    if (!path) {
      this.report("V3007", expr.callee.span, "only named definitions can be called here");
      return ERROR;
    }
    if (path.length === 1 && path[0]! in BUILTINS && !this.scopes.lookup(module, path[0]!)) {
      return this.evaluateBuiltin(path[0]!, expr, module, env);
    }
    if (env.lookup(path)) {
      this.report(
        "V3007",
        expr.callee.span,
        `'${path.join(".")}' is a value, not a function: it cannot be called`,
      );
      return ERROR;
    }
    const def = this.resolveDefinition(expr.callee, path, module, false, env.names());
    if (!def) {
      for (const arg of expr.args) this.evaluate(arg.value, module, env);
      return ERROR;
    }
    if (def.kind === "module" || def.kind === "block" || def.kind === "pipeline") {
      this.report("V3007", expr.callee.span, `${describeDefinition(def)} '${def.name}' cannot be called`);
      return ERROR;
    }
    this.usedDefinitions.set(qualifiedName(def), def);
    const params = def.decl.params;
    const args = this.bindArguments(expr, params, def, module, env);
    if (!args) return ERROR;
    const value: Value = {
      kind: "call",
      callee: qualifiedName(def),
      definition: def.kind,
      args: args.values,
    };
    if (def.kind === "function") {
      const type = this.functionResultType(def, args.types, args.spans);
      return { value, type };
    }
    const type = def.kind === "extern" ? externResultType(def) : definitionType(def);
    return { value, type };
  }

  /** A built-in tensor function over provided values (`argmax(logits, axis: 1) == labels`). */
  private evaluateBuiltin(name: string, call: CallExpr, module: Module, env: RefEnv): Typed {
    const builtin = BUILTINS[name]!;
    const args: Value[] = [];
    const named: Record<string, Value> = {};
    const shapeArgs: BuiltinArgs = { positional: [], positionalDims: [], named: new Map() };
    let ok = true;
    for (const arg of call.args) {
      const result = this.evaluate(arg.value, module, env);
      if (result.value.kind === "error") ok = false;
      if (arg.name) {
        if (!builtin.settings.includes(arg.name.name)) {
          const help = didYouMean(arg.name.name, builtin.settings);
          this.report(
            "V3002",
            arg.name.span,
            `'${name}' has no setting '${arg.name.name}'`,
            help ? { help } : {},
          );
          ok = false;
          continue;
        }
        named[arg.name.name] = result.value;
        shapeArgs.named.set(arg.name.name, { type: result.type, constant: constantOfValue(result.value) });
      } else {
        args.push(result.value);
        shapeArgs.positional.push(result.type);
        shapeArgs.positionalDims.push(
          result.value.kind === "number"
            ? { kind: "size", value: result.value.value }
            : { kind: "derived", text: "?" },
        );
      }
    }
    if (!ok) return ERROR;
    const [min, max] = builtin.arity;
    if (args.length < min || args.length > max) {
      this.report(
        "V3008",
        call.span,
        `'${name}' takes ${min === max ? min : `${min} to ${max}`} tensor arguments, found ${args.length}`,
      );
      return ERROR;
    }
    let type: Type = ANY;
    if (!shapeArgs.positional.some((t) => t.kind === "any")) {
      const result = builtin.rule(shapeArgs);
      if (typeof result === "string") {
        this.report(result.includes("axis") ? "V4003" : "V4001", call.span, `${name}: ${result}`);
        return ERROR;
      }
      type = result;
    }
    return { value: { kind: "apply", fn: name, args, named }, type };
  }

  /** Matches a call's arguments to the callee's parameters; fills defaults; checks types and ranges. */
  private bindArguments(
    call: CallExpr,
    params: Param[],
    def: Definition,
    module: Module,
    env: RefEnv,
  ): { values: Record<string, Value>; types: Record<string, Type>; spans: Record<string, Span> } | undefined {
    const values: Record<string, Value> = {};
    const types: Record<string, Type> = {};
    const spans: Record<string, Span> = {};
    const matched = matchArguments(
      call,
      params,
      `${describeDefinition(def)} '${def.name}'`,
      this.diagnostics,
    );
    const given = matched.given;
    let ok = matched.ok;
    for (const param of params) {
      const declared = this.paramType(param);
      const arg = given.get(param.name.name);
      if (arg) {
        spans[param.name.name] = arg.value.span;
        const result = this.evaluate(arg.value, module, env, declared);
        values[param.name.name] = result.value;
        types[param.name.name] = result.type;
        if (result.value.kind === "error") ok = false;
        else this.checkRange(param, result.value, arg.value.span, def.module);
        continue;
      }
      if (param.default) {
        const result = this.evaluate(param.default, def.module, NO_REFS, declared);
        values[param.name.name] = result.value;
        types[param.name.name] = result.type;
      }
    }
    return ok ? { values, types, spans } : undefined;
  }

  /** A parameter's declared type; a `none` default makes it optional (`source = none`). */
  paramType(param: Param): Type {
    const declared = param.type ? typeFromAnnotation(param.type, symbolicDim) : ANY;
    return param.default?.kind === "None" ? { kind: "union", options: [declared, NONE] } : declared;
  }

  /** Warns when a number lies outside the parameter's declared sane range. */
  checkRange(param: Param, value: Value, span: Span, declaringModule: Module): void {
    if (!param.range || value.kind !== "number") return;
    const low = this.evaluate(param.range.low, declaringModule, NO_REFS, NUMBER).value;
    const high = this.evaluate(param.range.high, declaringModule, NO_REFS, NUMBER).value;
    if (low.kind !== "number" || high.kind !== "number") return;
    if (value.value < low.value || value.value > high.value) {
      this.report(
        "V7005",
        span,
        `${param.name.name} = ${value.value} is outside the usual range [${low.value}, ${high.value}]`,
        {
          notes: [
            "values this far out are usually a typo (a missing minus sign in an exponent, a wrong unit)",
          ],
          help: "if it is intended, keep it; the warning does not stop a run unless --deny-warnings",
        },
      );
    }
  }

  /** The type of a tensor function applied to arguments: shapes unify with the parameters'. */
  private functionResultType(
    def: Definition & { kind: "function" },
    argTypes: Record<string, Type>,
    argSpans: Record<string, Span>,
  ): Type {
    const bindings = new Map();
    for (const param of def.decl.params) {
      const declared = this.paramType(param);
      const actual = argTypes[param.name.name];
      if (declared.kind === "tensor" && actual?.kind === "tensor") {
        const problem = unifyTensorTypes(declared, actual, bindings);
        if (problem)
          this.report(
            problem.code,
            argSpans[param.name.name]!,
            `argument '${param.name.name}' of '${def.name}': ${problem.message}`,
          );
      }
    }
    if (def.decl.keyword === "loss") return SCALAR;
    return def.decl.returns ? typeFromAnnotation(def.decl.returns, symbolicDim) : ANY;
  }

  private report(code: Parameters<typeof diagnostic>[0], span: Span, message: string, options = {}): void {
    this.diagnostics.push(diagnostic(code, span, message, options));
  }
}

/** "a model", "an adapter", "an optimizer". */
function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;
}

function constantOfValue(value: Value): Constant {
  if (value.kind === "number" || value.kind === "bool" || value.kind === "string") return value.value;
  if (value.kind === "list" && value.items.every((i) => i.kind === "number")) {
    return value.items.map((i) => (i as { value: number }).value);
  }
  return undefined;
}

function isSiteType(type: Type): boolean {
  if (type.kind === "union") return type.options.some(isSiteType);
  return type.kind === "category" && (type.name === "site" || type.name === "sites");
}

const NO_REFS: RefEnv = { lookup: () => undefined, names: () => [] };

function spanOfHead(expr: Expr): Span {
  return expr.kind === "Member" ? spanOfHead(expr.object) : expr.span;
}

function definitionType(def: Definition): Type {
  switch (def.kind) {
    case "model":
      return { kind: "category", name: "model" };
    case "adapter":
      return { kind: "category", name: "adapter" };
    case "function":
      return { kind: "category", name: def.decl.keyword === "loss" ? "loss" : "fn" };
    default:
      return { kind: "category", name: def.kind };
  }
}

function externResultType(def: Definition & { kind: "extern" }): Type {
  if (def.decl.returns) return typeFromAnnotation(def.decl.returns, symbolicDim);
  return { kind: "category", name: def.decl.category.name };
}
