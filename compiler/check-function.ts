// Checks the bodies of tensor definitions (fn, loss, adapter hooks, model forward): names, calls,
// and shapes inferred symbolically, before anything runs.

import type { CallExpr, Expr, IndexExpr, Param, Span, Stmt } from "../grammar/ast.ts";
import { matchArguments } from "./arguments.ts";
import { BUILTINS, type BuiltinArgs, type Constant, matmulType } from "./builtins.ts";
import { type Code, type Diagnostic, diagnostic } from "./diagnostics.ts";
import { dottedPath } from "./dotted-path.ts";
import { foldBinary } from "./fold.ts";
import type { TypeTable } from "./ir-expr.ts";
import type { Module } from "./modules.ts";
import { type Definition, describeDefinition, type Scopes } from "./scope.ts";
import { didYouMean } from "./suggest.ts";
import {
  broadcastShapes,
  SCALAR,
  shapeToString,
  size,
  substitute,
  symbolicDim,
  type TensorType,
  tensor,
  unifyTensorTypes,
} from "./tensor-types.ts";
import {
  ANY,
  BOOL,
  type Dim,
  enumOptions,
  INT,
  NUMBER,
  STRING,
  type Type,
  typeFromAnnotation,
  typeToString,
} from "./types.ts";

interface Binding {
  type: Type;
  span: Span;
  used: boolean;
  /** Bound by `let` (lint reports unused lets) rather than a parameter or declaration. */
  isLet: boolean;
  /** A parameter of a fn or loss (lint reports unused parameters). */
  isParam?: boolean;
  /** Integer constant value when known (loop bounds, `let k = 4`), so shapes can use it. */
  constant?: number;
}

export class FunctionChecker {
  private readonly frames: Map<string, Binding>[] = [];
  /** Members of the enumerations the parameters are typed with (`both`, `text`): bare names that are values. */
  private enumSymbols = new Set<string>();

  constructor(
    private readonly scopes: Scopes,
    private readonly module: Module,
    private readonly diagnostics: Diagnostic[],
    /** Receives the type inferred for every expression, for the IR's typed trees. */
    private readonly types: TypeTable,
  ) {}

  /** Checks one expression (a param's initialiser, a submodule's call) with the given names in scope. */
  checkExpression(expr: Expr, names: Map<string, Type>): void {
    this.checkBody([], [{ kind: "ExprStmt", expr, span: expr.span }], names);
  }

  /**
   * Checks a body with the given parameters (and any extra names the context provides, such as a model's
   * params and submodules). Returns the type of the first `return`, or undefined when there is none.
   */
  checkBody(
    params: Param[],
    body: Stmt[],
    extra: Map<string, Type> = new Map(),
    options: { reportUnusedParams?: boolean } = {},
  ): Type | undefined {
    const outer = new Map<string, Binding>();
    const anchor = body[0]?.span ?? params[0]?.span;
    if (anchor)
      for (const [name, type] of extra) outer.set(name, { type, span: anchor, used: true, isLet: false });
    this.frames.push(outer);
    const frame = new Map<string, Binding>();
    const paramTypes: Type[] = [...extra.values()];
    for (const param of params) {
      const type = param.type ? typeFromAnnotation(param.type, symbolicDim) : ANY;
      paramTypes.push(type);
      const tracked = options.reportUnusedParams === true;
      frame.set(param.name.name, {
        type,
        span: param.name.span,
        used: !tracked,
        isLet: false,
        isParam: tracked,
      });
    }
    // Shape symbols of the parameters (`N`, `C` in `logits: [N, C]`) are integers the body may use.
    for (const type of paramTypes) {
      if (type.kind !== "tensor") continue;
      for (const dim of type.dims) {
        if (dim.kind === "symbol" && !frame.has(dim.name) && !outer.has(dim.name)) {
          frame.set(dim.name, {
            type: INT,
            span: body[0]?.span ?? params[0]!.span,
            used: true,
            isLet: false,
          });
        }
      }
    }
    this.enumSymbols = new Set(paramTypes.flatMap(enumOptions));
    this.frames.push(frame);
    const returned = this.checkStatements(body);
    this.popFrame();
    this.frames.pop();
    return returned;
  }

  private popFrame(): void {
    const frame = this.frames.pop()!;
    for (const [name, binding] of frame) {
      if (binding.used || name.startsWith("_")) continue;
      if (binding.isLet) {
        this.report("V7002", binding.span, `'${name}' is never used`, {
          help: `remove the let, or name it _${name} to keep it on purpose`,
        });
      } else if (binding.isParam) {
        this.report("V7008", binding.span, `parameter '${name}' is never used`, {
          help: `remove it, or name it _${name} if the signature must keep it`,
        });
      }
    }
  }

  private checkStatements(stmts: Stmt[]): Type | undefined {
    let returned: Type | undefined;
    for (const stmt of stmts) {
      switch (stmt.kind) {
        case "Let": {
          const value = this.infer(stmt.value);
          let type = value.type;
          if (stmt.type) {
            const declared = typeFromAnnotation(stmt.type, symbolicDim);
            type = this.conform(declared, value.type, stmt.value.span) ?? declared;
          }
          const frame = this.frames[this.frames.length - 1]!;
          frame.set(stmt.name.name, {
            type,
            span: stmt.name.span,
            used: false,
            isLet: true,
            ...(value.constant !== undefined ? { constant: value.constant } : {}),
          });
          break;
        }
        case "Assign": {
          const binding = this.find(stmt.name.name);
          const value = this.infer(stmt.value);
          if (!binding) {
            this.report("V2001", stmt.name.span, `'${stmt.name.name}' is assigned before any let`, {
              help: `write let ${stmt.name.name} = … the first time`,
            });
          } else {
            binding.type = value.type;
          }
          break;
        }
        case "Return": {
          const value = this.infer(stmt.value);
          returned ??= value.type;
          break;
        }
        case "For": {
          const iterable = this.infer(stmt.iterable);
          const frame = new Map<string, Binding>();
          frame.set(stmt.variable.name, {
            type: iterable.elementType ?? ANY,
            span: stmt.variable.span,
            used: false,
            isLet: false,
          });
          this.frames.push(frame);
          const inner = this.checkStatements(stmt.body);
          returned ??= inner;
          this.popFrame();
          break;
        }
        case "ExprStmt":
          this.infer(stmt.expr);
          break;
      }
    }
    return returned;
  }

  /** Checks that a value of type `actual` fits the declared type; returns the refined type. */
  private conform(declared: Type, actual: Type, span: Span): Type | undefined {
    if (declared.kind === "tensor" && actual.kind === "tensor") {
      const problem = unifyTensorTypes(declared, actual, new Map());
      if (problem) this.report(problem.code, span, problem.message);
      return declared;
    }
    return undefined;
  }

  private find(name: string): Binding | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const binding = this.frames[i]!.get(name);
      if (binding) return binding;
    }
    return undefined;
  }

  private allNames(): string[] {
    return this.frames.flatMap((f) => [...f.keys()]);
  }

  infer(expr: Expr): { type: Type; constant?: number; elementType?: Type } {
    const result = this.inferUnrecorded(expr);
    this.types.set(expr, result.type);
    return result;
  }

  private inferUnrecorded(expr: Expr): { type: Type; constant?: number; elementType?: Type } {
    switch (expr.kind) {
      case "Number":
        return { type: expr.isInteger ? INT : NUMBER, constant: expr.value };
      case "String":
        return { type: STRING };
      case "Bool":
        return { type: BOOL };
      case "None":
        return { type: { kind: "none" } };
      case "Name": {
        const binding = this.find(expr.name);
        if (binding) {
          binding.used = true;
          return {
            type: binding.type,
            ...(binding.constant !== undefined ? { constant: binding.constant } : {}),
          };
        }
        if (this.enumSymbols.has(expr.name)) return { type: { kind: "enum", options: [expr.name] } };
        const def = this.scopes.lookup(this.module, expr.name);
        if (def) return { type: ANY };
        if (expr.name in BUILTINS) return { type: ANY };
        const help = didYouMean(expr.name, [...this.allNames(), ...Object.keys(BUILTINS)]);
        this.report("V2001", expr.span, `unknown name '${expr.name}'`, help ? { help } : {});
        return { type: ANY };
      }
      case "Member": {
        const object = this.infer(expr.object);
        if (object.type.kind === "tensor") {
          if (expr.property.name === "T" && object.type.dims.length >= 2) {
            const dims = [...object.type.dims];
            [dims[dims.length - 1], dims[dims.length - 2]] = [dims[dims.length - 2]!, dims[dims.length - 1]!];
            return { type: tensor(dims, object.type.dtype) };
          }
        }
        return { type: ANY };
      }
      case "List": {
        const items = expr.items.map((i) => this.infer(i));
        return { type: { kind: "list", item: items[0]?.type ?? ANY }, elementType: items[0]?.type ?? ANY };
      }
      case "Record":
        for (const field of expr.fields) this.infer(field.value);
        return { type: { kind: "record" } };
      case "Range": {
        const start = this.infer(expr.start);
        const end = this.infer(expr.end);
        this.expectInteger(start.type, expr.start.span);
        this.expectInteger(end.type, expr.end.span);
        return { type: { kind: "list", item: INT }, elementType: INT };
      }
      case "Unary": {
        const operand = this.infer(expr.operand);
        if (expr.op === "-" && operand.constant !== undefined)
          return { type: operand.type, constant: -operand.constant };
        return { type: operand.type };
      }
      case "Binary":
        return this.inferBinary(expr);
      case "Call":
        return { type: this.inferCall(expr) };
      case "Index":
        return { type: this.inferIndex(expr) };
      case "ErrorExpr":
        return { type: ANY };
    }
  }

  private expectInteger(type: Type, span: Span): void {
    if (type.kind !== "int" && type.kind !== "any") {
      this.report("V3012", span, `expected an integer, found ${typeToString(type)}`);
    }
  }

  private inferBinary(expr: Expr & { kind: "Binary" }): { type: Type; constant?: number } {
    const left = this.infer(expr.left);
    const right = this.infer(expr.right);
    if (left.type.kind === "any" || right.type.kind === "any") return { type: ANY };
    if (["and", "or"].includes(expr.op)) return { type: BOOL };
    const plain = (t: Type) => t.kind === "enum" || t.kind === "string" || t.kind === "bool";
    if ((expr.op === "==" || expr.op === "!=") && plain(left.type) && plain(right.type))
      return { type: BOOL };
    const isScalar = (t: Type) => t.kind === "int" || t.kind === "number";
    if (isScalar(left.type) && isScalar(right.type)) {
      const integer = left.type.kind === "int" && right.type.kind === "int" && expr.op !== "/";
      const constant =
        left.constant !== undefined && right.constant !== undefined
          ? foldBinary(expr.op, left.constant, right.constant)
          : undefined;
      if (["==", "!=", "<", "<=", ">", ">="].includes(expr.op)) return { type: BOOL };
      return { type: integer ? INT : NUMBER, ...(typeof constant === "number" ? { constant } : {}) };
    }
    const a = asTensor(left.type);
    const b = asTensor(right.type);
    if (!a || !b) {
      this.report(
        "V4009",
        expr.span,
        `'${expr.op}' needs numbers or tensors, found ${typeToString(left.type)} and ${typeToString(right.type)}`,
      );
      return { type: ANY };
    }
    if (expr.op === "@") {
      const result = matmulType(a, b);
      if (typeof result === "string") {
        this.report("V4004", expr.span, result);
        return { type: ANY };
      }
      return { type: result };
    }
    const dims = broadcastShapes(a.dims, b.dims);
    if (typeof dims === "string") {
      this.report("V4002", expr.span, dims, {
        help: "insert an axis with x[:, new] or reduce one side first",
      });
      return { type: ANY };
    }
    const comparison = ["==", "!=", "<", "<=", ">", ">="].includes(expr.op);
    return { type: tensor(dims, comparison ? "bool" : a.dims.length >= b.dims.length ? a.dtype : b.dtype) };
  }

  private inferCall(call: CallExpr): Type {
    const calleeName = call.callee.kind === "Name" ? call.callee.name : undefined;
    const local = calleeName ? this.find(calleeName) : undefined;
    if (local) {
      local.used = true;
      for (const arg of call.args) this.infer(arg.value);
      return ANY;
    }
    // In tensor bodies the builtins win over the prelude's host functions (`linear` the layer, not the warm-up).
    if (calleeName && calleeName in BUILTINS && !this.scopes.lookupExplicit(this.module, calleeName)) {
      return this.inferBuiltin(calleeName, call);
    }
    const path = dottedPath(call.callee);
    const def = path ? this.resolve(path, call.callee) : undefined;
    const argTypes = call.args.map((a) => ({ arg: a, ...this.infer(a.value) }));
    if (!def || def.kind === "module" || def.kind === "block" || def.kind === "pipeline") return ANY;
    const matched = matchArguments(
      call,
      def.decl.params,
      `${describeDefinition(def)} '${def.name}'`,
      this.diagnostics,
    );
    if (def.kind !== "function") return ANY;
    const bindings = new Map<string, Dim>();
    def.decl.params.forEach((param) => {
      const given = matched.given.get(param.name.name);
      const arg = given ? argTypes.find((a) => a.arg === given) : undefined;
      if (!arg || !param.type) return;
      const declared = typeFromAnnotation(param.type, symbolicDim);
      if (declared.kind === "tensor" && arg.type.kind === "tensor") {
        const problem = unifyTensorTypes(declared, arg.type, bindings);
        if (problem)
          this.report(
            problem.code,
            arg.arg.span,
            `argument '${param.name.name}' of '${def.name}': ${problem.message}`,
          );
      }
    });
    if (def.decl.keyword === "loss") return SCALAR;
    if (!def.decl.returns) return ANY;
    const returns = typeFromAnnotation(def.decl.returns, symbolicDim);
    if (returns.kind !== "tensor") return returns;
    // A result symbol no argument bound (the arguments' shapes were unknown) leaves the shape unknown:
    // the callee's `B` is not the caller's `B`.
    if (returns.dims.some((d) => d.kind !== "size" && !(d.kind === "symbol" && bindings.has(d.name))))
      return ANY;
    return substitute(returns, bindings);
  }

  private resolve(path: string[], callee: Expr) {
    const [head, ...rest] = path;
    let def = this.scopes.lookup(this.module, head!);
    if (!def) {
      const help = didYouMean(head!, [
        ...this.allNames(),
        ...Object.keys(BUILTINS),
        ...this.scopes.visibleNames(this.module),
      ]);
      this.report("V2001", callee.span, `unknown function '${path.join(".")}'`, help ? { help } : {});
      return undefined;
    }
    for (const member of rest) {
      if (def?.kind !== "module") return undefined;
      const moduleDef: Definition & { kind: "module" } = def;
      def = this.scopes.member(moduleDef, member);
      if (!def) {
        const own = this.scopes.scopeOf(moduleDef.module).own;
        const help = didYouMean(member, own.keys());
        const span = callee.kind === "Member" ? callee.property.span : callee.span;
        this.report("V2006", span, `module '${moduleDef.module.name}' has no definition '${member}'`, {
          ...(help ? { help } : {}),
        });
        return undefined;
      }
    }
    return def;
  }

  private inferBuiltin(name: string, call: CallExpr): Type {
    const builtin = BUILTINS[name]!;
    const args: BuiltinArgs = { positional: [], positionalDims: [], named: new Map() };
    for (const arg of call.args) {
      const inferred = this.infer(arg.value);
      if (arg.name) {
        if (!builtin.settings.includes(arg.name.name)) {
          const help = didYouMean(arg.name.name, builtin.settings);
          this.report("V3002", arg.name.span, `'${name}' has no setting '${arg.name.name}'`, {
            ...(help ? { help } : { notes: [`its settings: ${builtin.settings.join(", ") || "none"}`] }),
          });
          continue;
        }
        args.named.set(arg.name.name, {
          type: inferred.type,
          constant: constantOf(arg.value, inferred.constant),
        });
      } else {
        args.positional.push(inferred.type);
        args.positionalDims.push(
          inferred.constant !== undefined ? size(inferred.constant) : symbolicDim(arg.value),
        );
      }
    }
    const [min, max] = builtin.arity;
    if (args.positional.length < min || args.positional.length > max) {
      const expected = min === max ? `${min}` : `${min} to ${max}`;
      this.report(
        "V3008",
        call.span,
        `'${name}' takes ${expected} tensor argument${max === 1 ? "" : "s"}, found ${args.positional.length}`,
      );
      return ANY;
    }
    if (args.positional.some((t) => t.kind === "any")) return ANY;
    const result = builtin.rule(args);
    if (typeof result === "string") {
      const code: Code = result.includes("axis") ? "V4003" : result.includes("broadcast") ? "V4002" : "V4001";
      this.report(code, call.span, `${name}: ${result}`);
      return ANY;
    }
    return result;
  }

  private inferIndex(expr: IndexExpr): Type {
    const object = this.infer(expr.object);
    for (const item of expr.items) {
      if (item.kind === "IndexExpr") this.infer(item.value);
      if (item.kind === "Slice")
        for (const part of [item.start, item.stop, item.step]) if (part) this.infer(part);
    }
    if (object.type.kind === "list") return object.type.item;
    const x = asTensor(object.type);
    if (!x) return ANY;
    const consumed = expr.items.filter((i) => i.kind === "IndexExpr" || i.kind === "Slice").length;
    if (consumed > x.dims.length) {
      this.report("V4007", expr.span, `${consumed} indices for a tensor of shape ${shapeToString(x.dims)}`);
      return ANY;
    }
    const dims: Dim[] = [];
    let source = 0;
    const ellipsis = expr.items.findIndex((i) => i.kind === "Ellipsis");
    for (let i = 0; i < expr.items.length; i++) {
      const item = expr.items[i]!;
      if (item.kind === "NewAxis") dims.push(size(1));
      else if (item.kind === "IndexExpr") source++;
      else if (item.kind === "Slice") {
        const start = item.start ? this.infer(item.start).constant : 0;
        const stop = item.stop ? this.infer(item.stop).constant : undefined;
        const dim = x.dims[source++]!;
        if (!item.start && !item.stop && !item.step) dims.push(dim);
        else if (start !== undefined && stop !== undefined && !item.step)
          dims.push(size(Math.max(0, stop - start)));
        else dims.push({ kind: "derived", text: "?" });
      } else if (item.kind === "Ellipsis" && i === ellipsis) {
        const skip = x.dims.length - consumed;
        for (let k = 0; k < skip; k++) dims.push(x.dims[source++]!);
      }
    }
    while (source < x.dims.length) dims.push(x.dims[source++]!);
    return tensor(dims, x.dtype);
  }

  private report(code: Code, span: Span, message: string, options = {}): void {
    this.diagnostics.push(diagnostic(code, span, message, options));
  }
}

function asTensor(type: Type): TensorType | undefined {
  if (type.kind === "tensor") return type;
  if (type.kind === "number" || type.kind === "int") return SCALAR;
  return undefined;
}

function constantOf(expr: Expr, folded: number | undefined): Constant {
  if (folded !== undefined) return folded;
  if (expr.kind === "Bool") return expr.value;
  if (expr.kind === "Name" || expr.kind === "Binary") return { dims: [symbolicDim(expr)] };
  if (expr.kind === "String") return expr.value;
  if (expr.kind === "List") {
    const items = expr.items.map((i) =>
      i.kind === "Number"
        ? i.value
        : i.kind === "Unary" && i.operand.kind === "Number"
          ? -i.operand.value
          : undefined,
    );
    if (items.every((i) => i !== undefined)) return items as number[];
    // A shape written with symbols: `[B, g * g, width]`.
    return { dims: expr.items.map(symbolicDim) };
  }
  return undefined;
}
