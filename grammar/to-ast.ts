// CST → AST. The CST may be partial after error recovery: any child may be missing and tokens may have been
// inserted by the parser (no position). Missing expressions become ErrorExpr, missing names empty
// identifiers, and every node built from a recovered CST node or an inserted token is marked `recovered`.

import type { CstNode, IToken } from "chevrotain";
import type * as A from "./ast.ts";
import type * as C from "./cst.d.ts";
import type { LineMap } from "./positions.ts";
import type { SyntaxProblem } from "./problems.ts";
import { decodeString } from "./strings.ts";

type Part = IToken | { span: A.Span } | undefined;

/** Precedence levels of docs/language.md, lowest first (printer and parser agree on these). */
export const PREC = { or: 1, and: 2, not: 3, compare: 4, range: 5, add: 6, mul: 7, neg: 8, pow: 9 } as const;

const OP_PREC: Record<string, number> = {
  or: PREC.or,
  and: PREC.and,
  "==": PREC.compare,
  "!=": PREC.compare,
  "<": PREC.compare,
  "<=": PREC.compare,
  ">": PREC.compare,
  ">=": PREC.compare,
  "..": PREC.range,
  "+": PREC.add,
  "-": PREC.add,
  "*": PREC.mul,
  "/": PREC.mul,
  "%": PREC.mul,
  "@": PREC.mul,
  "**": PREC.pow,
};

function isToken(p: Part): p is IToken {
  return p !== undefined && "tokenType" in p;
}

/** A token the lexer produced (not one the parser invented to recover). */
export function isRealToken(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

export class AstBuilder {
  constructor(
    private readonly lines: LineMap,
    private readonly problems: SyntaxProblem[],
  ) {}

  // ---------------------------------------------------------------------------------------------------
  // Spans

  private startOf(p: Part): number | undefined {
    if (isToken(p)) return isRealToken(p) ? p.startOffset : undefined;
    if (p === undefined || p.span.end.offset === p.span.start.offset) return undefined;
    return p.span.start.offset;
  }

  private endOf(p: Part): number | undefined {
    if (isToken(p)) return isRealToken(p) ? p.startOffset + p.image.length : undefined;
    if (p === undefined || p.span.end.offset === p.span.start.offset) return undefined;
    return p.span.end.offset;
  }

  /** The end of the last real part, or `fallback`: where something missing after these parts would go. */
  private after(fallback: number, ...parts: Part[]): number {
    let end = fallback;
    for (const p of parts) {
      const e = this.endOf(p);
      if (e !== undefined && e > end) end = e;
    }
    return end;
  }

  /** The smallest span covering every real part; zero-width at `fallback` when there is none. */
  private cover(fallback: number, ...parts: Part[]): A.Span {
    let start = Number.POSITIVE_INFINITY;
    let end = Number.NEGATIVE_INFINITY;
    for (const p of parts) {
      const s = this.startOf(p);
      const e = this.endOf(p);
      if (s !== undefined && s < start) start = s;
      if (e !== undefined && e > end) end = e;
    }
    if (start === Number.POSITIVE_INFINITY) return this.lines.span(fallback, fallback);
    return this.lines.span(start, end);
  }

  private recovered(node: CstNode | undefined, ...tokens: (IToken[] | undefined)[]): boolean {
    if (node?.recoveredNode) return true;
    for (const list of tokens) for (const t of list ?? []) if (!isRealToken(t)) return true;
    return false;
  }

  /** Adds `recovered: true` when it applies; leaves the property out otherwise. */
  private mark<T extends { recovered?: boolean }>(node: T, recovered: boolean): T {
    if (recovered) node.recovered = true;
    return node;
  }

  private problem(reason: SyntaxProblem["reason"], message: string, span: A.Span): void {
    this.problems.push({ reason, message, span });
  }

  private ident(tok: IToken | undefined, fallback: number): A.Identifier {
    if (isRealToken(tok)) return { kind: "Identifier", name: tok.image, span: this.cover(fallback, tok) };
    return { kind: "Identifier", name: "", span: this.lines.span(fallback, fallback), recovered: true };
  }

  private errorExpr(at: number): A.ErrorExpr {
    return { kind: "ErrorExpr", span: this.lines.span(at, at), recovered: true };
  }

  // ---------------------------------------------------------------------------------------------------
  // Files and declarations

  file(cst: C.FileCstNode, path: string, text: string, comments: A.Comment[]): A.SourceFile {
    const items: A.TopLevel[] = [];
    for (const item of cst.children.topItem ?? []) {
      const node = this.topItem(item);
      if (node) items.push(node);
    }
    return { kind: "SourceFile", path, text, items, comments };
  }

  private topItem(cst: C.TopItemCstNode): A.TopLevel | undefined {
    const c = cst.children;
    if (c.useDecl?.[0]) return this.useDecl(c.useDecl[0]);
    if (c.functionDecl?.[0]) return this.functionDecl(c.functionDecl[0]);
    if (c.modelDecl?.[0]) return this.modelDecl(c.modelDecl[0]);
    if (c.adapterDecl?.[0]) return this.adapterDecl(c.adapterDecl[0]);
    if (c.externDecl?.[0]) return this.externDecl(c.externDecl[0]);
    if (c.blockSchema?.[0]) return this.blockSchema(c.blockSchema[0]);
    if (c.pipelineDecl?.[0]) return this.pipelineDecl(c.pipelineDecl[0]);
    return undefined;
  }

  private useDecl(cst: C.UseDeclCstNode): A.UseDecl {
    const c = cst.children;
    const kw = c.Use?.[0];
    const start = this.after(0, kw);
    let module: A.Identifier | A.StringLit;
    if (c.path?.[0]) module = this.stringLit(c.path[0], start);
    else module = this.ident(c.module?.[0], start);
    const names = c.Dot
      ? (c.names ?? []).map((t) => this.ident(t, this.after(start, c.Dot?.[0])))
      : undefined;
    const alias = c.As ? this.ident(c.alias?.[0], this.after(start, c.As[0])) : undefined;
    const node: A.UseDecl = {
      kind: "Use",
      module,
      span: this.cover(start, kw, module, ...(names ?? []), c.RBrace?.[0], c.As?.[0], alias),
    };
    if (names) node.names = names;
    if (alias) node.alias = alias;
    return this.mark(
      node,
      this.recovered(cst, c.Use, c.module, c.names, c.RBrace, c.alias) || (c.Dot && !names?.length) === true,
    );
  }

  private functionDecl(cst: C.FunctionDeclCstNode): A.FunctionDecl {
    const c = cst.children;
    const kw = c.Fn?.[0] ?? c.Loss?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const params = this.paramList(c.paramList?.[0], this.after(0, kw, name));
    const returns = c.returns?.[0] ? this.type(c.returns[0], this.after(0, c.Arrow?.[0])) : undefined;
    const body = this.body(c.body?.[0], this.after(0, kw, name, params.end, returns));
    const node: A.FunctionDecl = {
      kind: "Function",
      keyword: c.Loss ? "loss" : "fn",
      name,
      params: params.params,
      body: body.stmts,
      span: this.cover(0, kw, name, params.end, returns, body.end),
    };
    if (returns) node.returns = returns;
    else if (c.Arrow) node.recovered = true;
    return this.mark(node, this.recovered(cst, c.name) || params.recovered || body.recovered);
  }

  private modelDecl(cst: C.ModelDeclCstNode): A.ModelDecl {
    const c = cst.children;
    const kw = c.Model?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const params = this.paramList(c.paramList?.[0], this.after(0, kw, name));
    const items: A.ModelItem[] = [];
    for (const item of c.modelItem ?? []) {
      const ic = item.children;
      const node = ic.paramDecl?.[0]
        ? this.paramDecl(ic.paramDecl[0])
        : ic.subDecl?.[0]
          ? this.subDecl(ic.subDecl[0])
          : ic.siteDecl?.[0]
            ? this.siteDecl(ic.siteDecl[0])
            : ic.hookDecl?.[0]
              ? this.hookDecl(ic.hookDecl[0])
              : ic.letStmt?.[0]
                ? this.letStmt(ic.letStmt[0])
                : undefined;
      if (node) items.push(node);
    }
    const node: A.ModelDecl = {
      kind: "Model",
      name,
      params: params.params,
      items,
      span: this.cover(0, kw, name, params.end, c.LBrace?.[0], ...items, c.RBrace?.[0]),
    };
    return this.mark(node, this.recovered(cst, c.name, c.LBrace, c.RBrace) || params.recovered);
  }

  private adapterDecl(cst: C.AdapterDeclCstNode): A.AdapterDecl {
    const c = cst.children;
    const kw = c.Adapter?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const params = this.paramList(c.paramList?.[0], this.after(0, kw, name));
    const items: A.AdapterItem[] = [];
    for (const item of c.adapterItem ?? []) {
      const ic = item.children;
      const node = ic.paramDecl?.[0]
        ? this.paramDecl(ic.paramDecl[0])
        : ic.hookDecl?.[0]
          ? this.hookDecl(ic.hookDecl[0])
          : ic.unfreezeDecl?.[0]
            ? this.unfreezeDecl(ic.unfreezeDecl[0])
            : ic.letStmt?.[0]
              ? this.letStmt(ic.letStmt[0])
              : undefined;
      if (node) items.push(node);
    }
    const node: A.AdapterDecl = {
      kind: "Adapter",
      name,
      params: params.params,
      items,
      span: this.cover(0, kw, name, params.end, c.LBrace?.[0], ...items, c.RBrace?.[0]),
    };
    return this.mark(node, this.recovered(cst, c.name, c.LBrace, c.RBrace) || params.recovered);
  }

  private paramDecl(cst: C.ParamDeclCstNode): A.ParamDecl {
    const c = cst.children;
    const kw = c.Param?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const typeAt = this.after(0, kw, name, c.Colon?.[0]);
    const type: A.TensorType = c.tensorType?.[0]
      ? this.tensorType(c.tensorType[0], typeAt)
      : { kind: "TensorType", dims: [], span: this.lines.span(typeAt, typeAt), recovered: true };
    const init = c.Equals ? this.exprOr(c.init?.[0], this.after(typeAt, type, c.Equals[0])) : undefined;
    const checkpoint = c.From
      ? this.stringLit(c.checkpoint?.[0], this.after(typeAt, type, init, c.From[0]))
      : undefined;
    const mode = c.mode?.[0];
    const node: A.ParamDecl = {
      kind: "ParamDecl",
      name,
      type,
      span: this.cover(0, kw, name, type, init, checkpoint, mode),
    };
    if (init) node.init = init;
    if (checkpoint) node.checkpoint = checkpoint;
    if (isRealToken(mode)) node.trainable = mode.image === "trainable";
    return this.mark(node, this.recovered(cst, c.name, c.Colon, c.checkpoint));
  }

  private subDecl(cst: C.SubDeclCstNode): A.SubmoduleDecl {
    const c = cst.children;
    const kw = c.Sub?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    let repeat: A.SubmoduleDecl["repeat"];
    if (c.LBracket) {
      const variable = this.ident(c.variable?.[0], this.after(0, c.LBracket[0]));
      const range = this.exprOr(c.range?.[0], this.after(0, variable, c.In?.[0]));
      repeat = { variable, range };
    }
    const valueAt = this.after(0, kw, name, c.RBracket?.[0], c.Equals?.[0]);
    const expr = this.exprOr(c.value?.[0], valueAt);
    let value: A.CallExpr;
    if (expr.kind === "Call") value = expr;
    else {
      if (expr.kind !== "ErrorExpr") {
        this.problem("not-a-call", "a submodule is a call, such as `layer_norm(width)`", expr.span);
      }
      value = { kind: "Call", callee: expr, args: [], span: expr.span, recovered: true };
    }
    const prefix = c.From ? this.stringLit(c.prefix?.[0], this.after(valueAt, value, c.From[0])) : undefined;
    const node: A.SubmoduleDecl = {
      kind: "Submodule",
      name,
      value,
      span: this.cover(0, kw, name, value, prefix),
    };
    if (repeat) node.repeat = repeat;
    if (prefix) node.prefix = prefix;
    return this.mark(node, this.recovered(cst, c.name, c.RBracket, c.Equals, c.variable, c.In));
  }

  private siteDecl(cst: C.SiteDeclCstNode): A.SiteDecl {
    const c = cst.children;
    const kw = c.Site?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const value = c.Equals ? this.exprOr(c.value?.[0], this.after(0, name, c.Equals[0])) : undefined;
    const node: A.SiteDecl = { kind: "Site", name, span: this.cover(0, kw, name, value) };
    if (value) node.value = value;
    return this.mark(node, this.recovered(cst, c.name));
  }

  private hookDecl(cst: C.HookDeclCstNode): A.HookDecl {
    const c = cst.children;
    const kw = c.Forward?.[0] ?? c.At?.[0];
    let target: A.Expr | "forward" = "forward";
    if (!c.Forward) {
      target = c.sitePath?.[0] ? this.sitePath(c.sitePath[0]) : this.errorExpr(this.after(0, kw));
    }
    const params = this.paramList(
      c.paramList?.[0],
      this.after(0, kw, target === "forward" ? undefined : target),
    );
    const returns = c.returns?.[0] ? this.type(c.returns[0], this.after(0, c.Arrow?.[0])) : undefined;
    const body = this.body(c.body?.[0], this.after(0, kw, params.end, returns));
    const node: A.HookDecl = {
      kind: "Hook",
      target,
      params: params.params,
      body: body.stmts,
      span: this.cover(0, kw, params.end, returns, body.end),
    };
    if (returns) node.returns = returns;
    else if (c.Arrow) node.recovered = true;
    return this.mark(node, this.recovered(cst) || params.recovered || body.recovered);
  }

  private sitePath(cst: C.SitePathCstNode): A.Expr {
    const c = cst.children;
    const root = c.root?.[0];
    let expr: A.Expr = isRealToken(root)
      ? { kind: "Name", name: root.image, span: this.cover(0, root) }
      : this.errorExpr(0);
    for (const step of c.steps ?? []) {
      expr = step.name === "memberSuffix" ? this.memberSuffix(expr, step) : this.indexSuffix(expr, step);
    }
    return this.mark(expr, this.recovered(cst));
  }

  private unfreezeDecl(cst: C.UnfreezeDeclCstNode): A.UnfreezeDecl {
    const c = cst.children;
    const kw = c.Unfreeze?.[0];
    const target = this.exprOr(c.target?.[0], this.after(0, kw));
    const node: A.UnfreezeDecl = { kind: "Unfreeze", target, span: this.cover(0, kw, target) };
    return this.mark(node, this.recovered(cst));
  }

  private externDecl(cst: C.ExternDeclCstNode): A.ExternDecl {
    const c = cst.children;
    const kw = c.Extern?.[0];
    const category = this.ident(c.category?.[0], this.after(0, kw));
    const name = this.ident(c.name?.[0], this.after(0, kw, category));
    const params = this.paramList(c.paramList?.[0], this.after(0, kw, category, name));
    const returns = c.returns?.[0] ? this.type(c.returns[0], this.after(0, c.Arrow?.[0])) : undefined;
    const node: A.ExternDecl = {
      kind: "Extern",
      category,
      name,
      params: params.params,
      span: this.cover(0, kw, category, name, params.end, returns, c.Arrow?.[0]),
    };
    if (returns) node.returns = returns;
    else if (c.Arrow) node.recovered = true;
    return this.mark(node, this.recovered(cst, c.category, c.name) || params.recovered);
  }

  private blockSchema(cst: C.BlockSchemaCstNode): A.BlockSchemaDecl {
    const c = cst.children;
    const kw = c.Block?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    let at = this.after(0, kw, name, c.RParen?.[0], c.LBrace?.[0]);
    const settings: A.Param[] = [];
    const contains: A.Identifier[] = [];
    let provides: A.Param[] | undefined;
    let rest: A.BlockSchemaDecl["rest"];
    let recovered = this.recovered(cst, c.name, c.Label, c.RParen, c.LBrace, c.RBrace);
    const parts: Part[] = [];
    for (const item of c.schemaItem ?? []) {
      const ic = item.children;
      if (item.recoveredNode) recovered = true;
      if (ic.param?.[0]) {
        const node = this.param(ic.param[0], at);
        settings.push(node);
        parts.push(node);
      } else if (ic.containsClause?.[0]) {
        const cc = ic.containsClause[0].children;
        const names = (cc.names ?? []).map((t) => this.ident(t, this.after(at, cc.Contains?.[0])));
        contains.push(...names);
        parts.push(cc.Contains?.[0], ...names);
      } else if (ic.providesClause?.[0]) {
        const pc = ic.providesClause[0].children;
        let pos = this.after(at, pc.Provides?.[0]);
        provides ??= [];
        for (const p of pc.param ?? []) {
          const node = this.param(p, pos);
          provides.push(node);
          pos = this.after(pos, node);
        }
        parts.push(pc.Provides?.[0], ...provides);
      } else if (ic.restSetting?.[0]) {
        const rc = ic.restSetting[0].children;
        const type = this.typeOr(rc.type?.[0], this.after(at, rc.Ellipsis?.[0], rc.Colon?.[0]));
        rest = { span: this.cover(at, rc.Ellipsis?.[0], type), type };
        parts.push(rest);
      }
      at = this.after(at, ...parts.slice(-1));
    }
    const node: A.BlockSchemaDecl = {
      kind: "BlockSchema",
      name,
      labelled: c.Label !== undefined,
      settings,
      contains,
      span: this.cover(0, kw, name, c.LBrace?.[0], ...parts, c.RBrace?.[0]),
    };
    if (provides) node.provides = provides;
    if (rest) node.rest = rest;
    return this.mark(node, recovered);
  }

  private pipelineDecl(cst: C.PipelineDeclCstNode): A.PipelineDecl {
    const c = cst.children;
    const kw = c.Pipeline?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const base = c.Extends ? this.ident(c.base?.[0], this.after(0, c.Extends[0])) : undefined;
    const items = (c.pipelineItem ?? []).flatMap((i) => this.pipelineItem(i));
    const node: A.PipelineDecl = {
      kind: "Pipeline",
      name,
      items,
      span: this.cover(0, kw, name, base, c.LBrace?.[0], ...items, c.RBrace?.[0]),
    };
    if (base) node.extends = base;
    return this.mark(node, this.recovered(cst, c.name, c.base, c.LBrace, c.RBrace));
  }

  private pipelineItem(cst: C.PipelineItemCstNode): A.PipelineItem[] {
    const c = cst.children;
    if (c.attribute?.[0]) {
      const a = c.attribute[0].children;
      const name = this.ident(a.name?.[0], 0);
      const value = this.exprOr(a.value?.[0], this.after(0, name, a.Equals?.[0]));
      const node: A.Attribute = { kind: "Attribute", name, value, span: this.cover(0, name, value) };
      return [this.mark(node, this.recovered(c.attribute[0], a.Equals))];
    }
    if (c.adaptStmt?.[0]) {
      const a = c.adaptStmt[0].children;
      const adapter = this.exprOr(a.adapter?.[0], this.after(0, a.Adapt?.[0]));
      const node: A.AdaptStmt = { kind: "Adapt", adapter, span: this.cover(0, a.Adapt?.[0], adapter) };
      return [this.mark(node, this.recovered(c.adaptStmt[0]))];
    }
    if (c.pipelineBlock?.[0]) {
      const b = c.pipelineBlock[0].children;
      const name = this.ident(b.name?.[0], 0);
      const label = b.label?.[0] ? this.ident(b.label[0], 0) : undefined;
      const items = (b.pipelineItem ?? []).flatMap((i) => this.pipelineItem(i));
      const node: A.Block = {
        kind: "Block",
        name,
        items,
        span: this.cover(0, name, label, b.LBrace?.[0], ...items, b.RBrace?.[0]),
      };
      if (label) node.label = label;
      return [this.mark(node, this.recovered(c.pipelineBlock[0], b.LBrace, b.RBrace))];
    }
    return [];
  }

  // ---------------------------------------------------------------------------------------------------
  // Parameters, types, statements

  private paramList(
    cst: C.ParamListCstNode | undefined,
    at: number,
  ): { params: A.Param[]; end: Part; recovered: boolean } {
    if (!cst) return { params: [], end: undefined, recovered: true };
    const c = cst.children;
    let pos = this.after(at, c.LParen?.[0]);
    const params: A.Param[] = [];
    for (const p of c.param ?? []) {
      const node = this.param(p, pos);
      params.push(node);
      pos = this.after(pos, node);
    }
    const close = c.RParen?.[0];
    return {
      params,
      end: isRealToken(close) ? close : params[params.length - 1],
      recovered: this.recovered(cst, c.LParen, c.RParen),
    };
  }

  private param(cst: C.ParamCstNode, at: number): A.Param {
    const c = cst.children;
    const name = this.ident(c.name?.[0], at);
    const type = c.Colon ? this.typeOr(c.type?.[0], this.after(at, name, c.Colon[0])) : undefined;
    const dflt = c.Equals ? this.exprOr(c.default?.[0], this.after(at, name, type, c.Equals[0])) : undefined;
    let range: A.Param["range"];
    if (c.In) {
      const low = this.exprOr(c.low?.[0], this.after(at, c.In[0], c.LBracket?.[0]));
      const high = this.exprOr(c.high?.[0], this.after(at, low, c.Comma?.[0]));
      range = { span: this.cover(at, c.In[0], low, high, c.RBracket?.[0]), low, high };
    }
    const node: A.Param = { kind: "Param", name, span: this.cover(at, name, type, dflt, range) };
    if (type) node.type = type;
    if (dflt) node.default = dflt;
    if (range) node.range = range;
    return this.mark(node, this.recovered(cst, c.name, c.LBracket, c.Comma, c.RBracket));
  }

  private typeOr(cst: C.TypeCstNode | undefined, at: number): A.TypeExpr {
    if (cst) return this.type(cst, at);
    return { kind: "NamedType", name: "", args: [], span: this.lines.span(at, at), recovered: true };
  }

  private type(cst: C.TypeCstNode, at: number): A.TypeExpr {
    const c = cst.children;
    if (c.tensorType?.[0]) return this.tensorType(c.tensorType[0], at);
    const u = c.unionType?.[0];
    if (!u) return this.typeOr(undefined, at);
    const options = (u.children.options ?? []).map((o) => this.namedType(o, at));
    const first = options[0];
    if (options.length === 1 && first && !u.recoveredNode) return first;
    if (!first) return this.typeOr(undefined, at);
    const node: A.UnionType = { kind: "UnionType", options, span: this.cover(at, ...options) };
    return this.mark(node, this.recovered(u));
  }

  private namedType(cst: C.NamedTypeCstNode, at: number): A.NamedType {
    const c = cst.children;
    const name = c.name?.[0];
    const args = (c.args ?? []).map((a) => this.type(a, this.after(at, name, c.Less?.[0])));
    const node: A.NamedType = {
      kind: "NamedType",
      name: isRealToken(name) ? name.image : "",
      args,
      span: this.cover(at, name, ...args, c.Greater?.[0]),
    };
    return this.mark(node, this.recovered(cst, c.name, c.Greater) || (c.Less !== undefined && !args.length));
  }

  private tensorType(cst: C.TensorTypeCstNode, at: number): A.TensorType {
    const c = cst.children;
    const dtype = c.dtype?.[0] ? this.ident(c.dtype[0], at) : undefined;
    const dims = (c.dims ?? []).map((d) => this.expr(d, this.after(at, dtype, c.LBracket?.[0])));
    const node: A.TensorType = {
      kind: "TensorType",
      dims,
      span: this.cover(at, dtype, c.LBracket?.[0], ...dims, c.RBracket?.[0]),
    };
    if (dtype) node.dtype = dtype;
    return this.mark(node, this.recovered(cst, c.LBracket, c.RBracket) || !dims.length);
  }

  private body(
    cst: C.BodyCstNode | undefined,
    at: number,
  ): { stmts: A.Stmt[]; end: Part; recovered: boolean } {
    if (!cst) return { stmts: [], end: undefined, recovered: true };
    const c = cst.children;
    const stmts = (c.stmt ?? []).flatMap((s) => this.stmt(s, at));
    const close = c.RBrace?.[0];
    return {
      stmts,
      end: isRealToken(close) ? close : stmts[stmts.length - 1],
      recovered: this.recovered(cst, c.LBrace, c.RBrace),
    };
  }

  private stmt(cst: C.StmtCstNode, at: number): A.Stmt[] {
    const c = cst.children;
    if (c.letStmt?.[0]) return [this.letStmt(c.letStmt[0])];
    if (c.returnStmt?.[0]) {
      const r = c.returnStmt[0].children;
      const value = this.exprOr(r.value?.[0], this.after(at, r.Return?.[0]));
      const node: A.ReturnStmt = { kind: "Return", value, span: this.cover(at, r.Return?.[0], value) };
      return [this.mark(node, this.recovered(c.returnStmt[0]))];
    }
    if (c.forStmt?.[0]) {
      const f = c.forStmt[0].children;
      const variable = this.ident(f.variable?.[0], this.after(at, f.For?.[0]));
      const iterable = this.exprOr(f.iterable?.[0], this.after(at, variable, f.In?.[0]));
      const body = this.body(f.body?.[0], this.after(at, iterable));
      const node: A.ForStmt = {
        kind: "For",
        variable,
        iterable,
        body: body.stmts,
        span: this.cover(at, f.For?.[0], variable, iterable, body.end),
      };
      return [this.mark(node, this.recovered(c.forStmt[0], f.variable, f.In) || body.recovered)];
    }
    if (c.assignStmt?.[0]) {
      const a = c.assignStmt[0].children;
      const name = this.ident(a.name?.[0], at);
      const value = this.exprOr(a.value?.[0], this.after(at, name, a.Equals?.[0]));
      const node: A.AssignStmt = { kind: "Assign", name, value, span: this.cover(at, name, value) };
      return [this.mark(node, this.recovered(c.assignStmt[0]))];
    }
    if (c.exprStmt?.[0]) {
      const expr = this.exprOr(c.exprStmt[0].children.expr?.[0], at);
      const node: A.ExprStmt = { kind: "ExprStmt", expr, span: this.cover(at, expr) };
      return [this.mark(node, this.recovered(c.exprStmt[0]) || expr.kind === "ErrorExpr")];
    }
    return [];
  }

  private letStmt(cst: C.LetStmtCstNode): A.LetStmt {
    const c = cst.children;
    const kw = c.Let?.[0];
    const name = this.ident(c.name?.[0], this.after(0, kw));
    const type = c.Colon ? this.typeOr(c.type?.[0], this.after(0, name, c.Colon[0])) : undefined;
    const value = this.exprOr(c.value?.[0], this.after(0, kw, name, type, c.Equals?.[0]));
    const node: A.LetStmt = { kind: "Let", name, value, span: this.cover(0, kw, name, type, value) };
    if (type) node.type = type;
    return this.mark(node, this.recovered(cst, c.name, c.Equals));
  }

  // ---------------------------------------------------------------------------------------------------
  // Expressions

  private exprOr(cst: C.ExprCstNode | undefined, at: number): A.Expr {
    return cst ? this.expr(cst, at) : this.errorExpr(at);
  }

  /**
   * Applies precedence to the flat `operand (op operand)*` sequence the parser reads (precedence climbing).
   * Levels, lowest first: or, and, not (prefix), comparisons, `..`, `+ -`, `* / % @`, unary `-`, `**`.
   */
  expr(cst: C.ExprCstNode, at = 0): A.Expr {
    const operands = cst.children.operands ?? [];
    const ops = cst.children.ops ?? [];
    let k = 0; // next operand
    let j = 0; // next operator
    let prefix = 0; // next prefix operator of operand k
    let pos = at;

    const atom = (): A.Expr => {
      const operand = operands[k];
      k++;
      prefix = 0;
      if (!operand) return this.errorExpr(pos);
      const p = operand.children.postfixExpr?.[0];
      const e = p
        ? this.postfixExpr(p, pos)
        : this.errorExpr(this.after(pos, ...(operand.children.prefixes ?? [])));
      if (operand.recoveredNode) e.recovered = true;
      pos = this.after(pos, e);
      return e;
    };

    const unary = (min: number): A.Expr => {
      const pre = operands[k]?.children.prefixes?.[prefix];
      if (!pre) return atom();
      const first = prefix === 0;
      prefix++;
      pos = this.after(pos, pre);
      if (pre.image === "not") {
        // `not` binds more loosely than comparisons and arithmetic: it may only start an operand of
        // `and`/`or` (or the whole expression), or follow another `not`.
        const allowed = first
          ? min <= PREC.not
          : operands[k]?.children.prefixes?.[prefix - 2]?.image === "not";
        const operand = climb(PREC.not + 1);
        const node: A.UnaryExpr = { kind: "Unary", op: "not", operand, span: this.cover(pos, pre, operand) };
        if (!allowed) {
          this.problem(
            "unexpected-token",
            "'not' binds more loosely than the operator before it: add parentheses, as in `a == (not b)`",
            this.cover(pos, pre),
          );
          node.recovered = true;
        }
        return node;
      }
      const operand = climb(PREC.pow);
      return { kind: "Unary", op: "-", operand, span: this.cover(pos, pre, operand) };
    };

    const climb = (min: number): A.Expr => {
      let left = unary(min);
      let previous: number | undefined;
      while (j < ops.length) {
        const op = ops[j]!;
        const prec = OP_PREC[op.image] ?? PREC.add;
        if (prec < min) break;
        j++;
        pos = this.after(pos, op);
        const right = k < operands.length ? climb(prec === PREC.pow ? prec : prec + 1) : this.errorExpr(pos);
        left =
          op.image === ".."
            ? { kind: "Range", start: left, end: right, span: this.cover(pos, left, op, right) }
            : this.binary(op, left, right);
        if ((prec === PREC.compare || prec === PREC.range) && previous === prec) {
          this.problem(
            "non-associative",
            prec === PREC.compare
              ? "comparisons do not chain: write `a < b and b < c`, or add parentheses"
              : "ranges do not chain: add parentheses",
            this.cover(pos, op),
          );
          left.recovered = true;
        }
        previous = prec;
      }
      return left;
    };

    let result = climb(0);
    // Anything left over (possible only in a damaged CST) is kept as further operands of the last level.
    while (k < operands.length || j < ops.length) {
      const op = ops[j];
      j++;
      const right = climb(0);
      result = op ? this.binary(op, result, right) : right;
      result.recovered = true;
    }
    if (cst.recoveredNode) result.recovered = true;
    return result;
  }

  private binary(op: IToken, left: A.Expr, right: A.Expr): A.BinaryExpr {
    return {
      kind: "Binary",
      op: op.image as A.BinaryOp,
      left,
      right,
      span: this.cover(left.span.start.offset, left, op, right),
    };
  }

  private postfixExpr(cst: C.PostfixExprCstNode, at: number): A.Expr {
    const c = cst.children;
    let expr = c.primary?.[0] ? this.primary(c.primary[0], at) : this.errorExpr(at);
    for (const op of c.postfixOp ?? []) {
      const oc = op.children;
      if (oc.callSuffix?.[0]) expr = this.callSuffix(expr, oc.callSuffix[0]);
      else if (oc.indexSuffix?.[0]) expr = this.indexSuffix(expr, oc.indexSuffix[0]);
      else if (oc.memberSuffix?.[0]) expr = this.memberSuffix(expr, oc.memberSuffix[0]);
      if (op.recoveredNode) expr.recovered = true;
    }
    return expr;
  }

  private callSuffix(callee: A.Expr, cst: C.CallSuffixCstNode): A.CallExpr {
    const c = cst.children;
    let at = this.after(callee.span.end.offset, c.LParen?.[0]);
    const args: A.Argument[] = [];
    let named: A.Argument | undefined;
    for (const a of c.argument ?? []) {
      const ac = a.children;
      const name = ac.name?.[0] ? this.ident(ac.name[0], at) : undefined;
      const value = this.exprOr(ac.value?.[0], this.after(at, name, ac.Colon?.[0]));
      const arg: A.Argument = { kind: "Argument", value, span: this.cover(at, name, value) };
      if (name) {
        arg.name = name;
        named ??= arg;
      } else if (named) {
        this.problem(
          "positional-after-named",
          `positional argument after the named argument '${named.name?.name}': positional arguments come first`,
          arg.span,
        );
        arg.recovered = true;
      }
      args.push(this.mark(arg, this.recovered(a, ac.name, ac.Colon)));
      at = this.after(at, arg);
    }
    const node: A.CallExpr = {
      kind: "Call",
      callee,
      args,
      span: this.cover(callee.span.start.offset, callee, c.LParen?.[0], ...args, c.RParen?.[0]),
    };
    return this.mark(node, this.recovered(cst, c.RParen));
  }

  private indexSuffix(object: A.Expr, cst: C.IndexSuffixCstNode): A.IndexExpr {
    const c = cst.children;
    let at = this.after(object.span.end.offset, c.LBracket?.[0]);
    const items: A.IndexItem[] = [];
    for (const item of c.indexItem ?? []) {
      const ic = item.children;
      let node: A.IndexItem;
      if (ic.New?.[0]) node = { kind: "NewAxis", span: this.cover(at, ic.New[0]) };
      else if (ic.Ellipsis?.[0]) node = { kind: "Ellipsis", span: this.cover(at, ic.Ellipsis[0]) };
      else if (ic.colons) {
        const start = ic.start?.[0] ? this.expr(ic.start[0], at) : undefined;
        const stop = ic.stop?.[0] ? this.expr(ic.stop[0], this.after(at, start, ic.colons[0])) : undefined;
        const step = ic.step?.[0] ? this.expr(ic.step[0], this.after(at, stop, ...ic.colons)) : undefined;
        const slice: A.IndexItem = { kind: "Slice", span: this.cover(at, start, ...ic.colons, stop, step) };
        if (start) slice.start = start;
        if (stop) slice.stop = stop;
        if (step) slice.step = step;
        node = slice;
      } else {
        const value = this.exprOr(ic.start?.[0], at);
        node = { kind: "IndexExpr", value, span: value.span };
      }
      items.push(node);
      at = this.after(at, node);
    }
    const node: A.IndexExpr = {
      kind: "Index",
      object,
      items,
      span: this.cover(object.span.start.offset, object, c.LBracket?.[0], ...items, c.RBracket?.[0]),
    };
    return this.mark(
      node,
      this.recovered(cst, c.RBracket) || (c.indexItem ?? []).some((i) => i.recoveredNode),
    );
  }

  private memberSuffix(object: A.Expr, cst: C.MemberSuffixCstNode): A.MemberExpr {
    const c = cst.children;
    const property = this.ident(c.property?.[0], this.after(object.span.end.offset, c.Dot?.[0]));
    const node: A.MemberExpr = {
      kind: "Member",
      object,
      property,
      span: this.cover(object.span.start.offset, object, c.Dot?.[0], property),
    };
    return this.mark(node, this.recovered(cst, c.property));
  }

  private primary(cst: C.PrimaryCstNode, at: number): A.Expr {
    const c = cst.children;
    const tok =
      c.NumberLiteral?.[0] ??
      c.StringLiteral?.[0] ??
      c.True?.[0] ??
      c.False?.[0] ??
      c.None?.[0] ??
      c.Identifier?.[0];
    if (tok) {
      if (!isRealToken(tok)) return this.errorExpr(at);
      const span = this.cover(at, tok);
      if (c.NumberLiteral) {
        return {
          kind: "Number",
          value: Number(tok.image),
          text: tok.image,
          isInteger: /^[0-9]+$/.test(tok.image),
          span,
        };
      }
      if (c.StringLiteral) return this.stringLit(tok, at);
      if (c.True || c.False) return { kind: "Bool", value: c.True !== undefined, span };
      if (c.None) return { kind: "None", span };
      return { kind: "Name", name: tok.image, span };
    }
    if (c.parenExpr?.[0]) {
      const p = c.parenExpr[0].children;
      const inner = this.exprOr(p.expr?.[0], this.after(at, p.LParen?.[0]));
      return this.mark(inner, this.recovered(c.parenExpr[0], p.RParen));
    }
    if (c.listExpr?.[0]) {
      const l = c.listExpr[0].children;
      const start = this.after(at, l.LBracket?.[0]);
      const items = (l.items ?? []).map((i) => this.expr(i, start));
      const node: A.ListExpr = {
        kind: "List",
        items,
        span: this.cover(at, l.LBracket?.[0], ...items, l.RBracket?.[0]),
      };
      return this.mark(node, this.recovered(c.listExpr[0], l.RBracket));
    }
    if (c.recordExpr?.[0]) {
      const r = c.recordExpr[0].children;
      let pos = this.after(at, r.LBrace?.[0]);
      const fields: A.RecordField[] = [];
      for (const f of r.fields ?? []) {
        const fc = f.children;
        const key = this.ident(fc.key?.[0], pos);
        const value = this.exprOr(fc.value?.[0], this.after(pos, key, fc.Colon?.[0]));
        const field: A.RecordField = { kind: "RecordField", key, value, span: this.cover(pos, key, value) };
        fields.push(this.mark(field, this.recovered(f, fc.Colon)));
        pos = this.after(pos, field);
      }
      const node: A.RecordExpr = {
        kind: "Record",
        fields,
        span: this.cover(at, r.LBrace?.[0], ...fields, r.RBrace?.[0]),
      };
      return this.mark(node, this.recovered(c.recordExpr[0], r.RBrace));
    }
    return this.errorExpr(at);
  }

  private stringLit(tok: IToken | undefined, at: number): A.StringLit {
    if (!isRealToken(tok)) {
      return { kind: "String", value: "", span: this.lines.span(at, at), recovered: true };
    }
    const decoded = decodeString(tok.image);
    const node: A.StringLit = {
      kind: "String",
      value: decoded.value,
      text: tok.image,
      span: this.cover(at, tok),
    };
    return this.mark(node, !decoded.terminated || decoded.badEscapes.length > 0);
  }
}
