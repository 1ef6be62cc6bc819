// The canonical layout of .vlmp (`vlmp fmt`). Layout depends only on the AST and the comments, so that
// formatting is idempotent; the source text is consulted only to place comments and keep blank lines.
//
// - 2-space indent, one item per line, at most one blank line kept between items (none after `{`).
// - One space around binary operators (`..` takes none), after commas and colons.
// - Lists, arguments, records and parameter lists stay on one line when they fit in 100 columns and
//   hold no comment; otherwise one element per line with a trailing comma.
// - Numbers and strings as written; parentheses re-derived from precedence.
// - Comments: a comment before an item goes on its own line before it; a comment after code on the same
//   line stays there; comments before a closing brace stay inside the block; a comment somewhere an item
//   cannot break (inside an expression) moves to its own line before the innermost item holding it.

import type * as A from "./ast.ts";
import { parseSource } from "./parse.ts";
import type { SyntaxProblem } from "./problems.ts";
import { encodeString } from "./strings.ts";

const WIDTH = 100;
const INDENT = "  ";

/** Formats a file; `problems` is non-empty (and `text` absent) when the file has syntax errors. */
export function formatText(text: string, file: string): { text?: string; problems: SyntaxProblem[] } {
  const { ast, problems } = parseSource(text, file);
  if (problems.length) return { problems };
  return { text: formatSource(ast), problems: [] };
}

/**
 * The canonical text of a parsed file. An AST with recovered nodes (from a file with syntax errors) is
 * refused: its source text is returned unchanged, so that a caller never writes a damaged file.
 */
export function formatSource(ast: A.SourceFile): string {
  if (hasRecovered(ast.items)) return ast.text;
  return new Printer(ast).file();
}

/** Marks where an item's trailing comment starts, until the comments of neighbouring lines are aligned. */
const TRAILING = "\u0000";

/** Code wider than this keeps its trailing comment two spaces after it, out of the aligned column. */
const ALIGN_LIMIT = 90;

/**
 * Trailing comments on consecutive lines start in one column, two spaces after the widest code of the
 * run (gofmt's rule), so that hand-aligned comments stay aligned and diffs stay small.
 */
function alignTrailingComments(lines: string[]): string[] {
  const out = [...lines];
  let i = 0;
  while (i < out.length) {
    if (!out[i]!.includes(TRAILING)) {
      i++;
      continue;
    }
    let j = i;
    while (j < out.length && out[j]!.includes(TRAILING)) j++;
    const widths = out.slice(i, j).map((line) => line.indexOf(TRAILING));
    const column = Math.max(0, ...widths.filter((w) => w <= ALIGN_LIMIT));
    for (let k = i; k < j; k++) {
      const at = widths[k - i]!;
      const pad = at <= ALIGN_LIMIT ? column - at + 2 : 2;
      out[k] = out[k]!.replace(TRAILING, " ".repeat(pad));
    }
    i = j;
  }
  return out;
}

function hasRecovered(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasRecovered);
  if (value === null || typeof value !== "object") return false;
  const node = value as Record<string, unknown>;
  if (node["recovered"] === true || node["kind"] === "ErrorExpr") return true;
  for (const [k, v] of Object.entries(node)) if (k !== "span" && hasRecovered(v)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Precedence (docs/language.md), lowest first

const PREC = {
  or: 1,
  and: 2,
  not: 3,
  compare: 4,
  range: 5,
  add: 6,
  mul: 7,
  neg: 8,
  pow: 9,
  postfix: 10,
  atom: 11,
};

function binaryPrec(op: A.BinaryOp): number {
  switch (op) {
    case "or":
      return PREC.or;
    case "and":
      return PREC.and;
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=":
      return PREC.compare;
    case "+":
    case "-":
      return PREC.add;
    case "*":
    case "/":
    case "%":
    case "@":
      return PREC.mul;
    case "**":
      return PREC.pow;
  }
}

function precOf(e: A.Expr): number {
  switch (e.kind) {
    case "Binary":
      return binaryPrec(e.op);
    case "Range":
      return PREC.range;
    case "Unary":
      return e.op === "not" ? PREC.not : PREC.neg;
    case "Call":
    case "Member":
    case "Index":
      return PREC.postfix;
    default:
      return PREC.atom;
  }
}

// ---------------------------------------------------------------------------------------------------

/** Rendered text: the first line continues the current line; later lines carry their own indentation. */
type Lines = string[];

interface Spanned {
  span: A.Span;
}

class Printer {
  private readonly text: string;
  private readonly comments: A.Comment[];
  private readonly used: boolean[];
  /** Indices of comments taken, in order, so that a rendering can be undone. */
  private readonly log: number[] = [];
  /** While set, comments are neither looked for nor taken (an item whose comments all moved before it). */
  private muted = false;

  constructor(private readonly ast: A.SourceFile) {
    this.text = ast.text;
    // Trailing whitespace inside a comment is not kept: the printed file has none anywhere.
    this.comments = ast.comments
      .map((c) => ({ ...c, text: c.text.trimEnd() }))
      .sort((a, b) => a.span.start.offset - b.span.start.offset);
    this.used = this.comments.map(() => false);
  }

  file(): string {
    const lines = this.items(
      this.ast.items,
      0,
      this.text.length,
      (item, depth) => this.topItem(item, depth),
      {
        atStart: true,
      },
    );
    // Anything left (possible only with spans that do not match the text) is kept at the end.
    for (let i = 0; i < this.comments.length; i++) if (!this.used[i]) lines.push(this.comments[i]!.text);
    while (lines.length && lines[lines.length - 1] === "") lines.pop();
    const aligned = alignTrailingComments(lines);
    return aligned.length ? `${aligned.join("\n")}\n` : "";
  }

  // ---------------------------------------------------------------------------------------------------
  // Comments

  private take(i: number): A.Comment {
    this.used[i] = true;
    this.log.push(i);
    return this.comments[i]!;
  }

  /** Unused comments starting in [from, to), in order. */
  private pending(from: number, to: number): number[] {
    if (this.muted) return [];
    const found: number[] = [];
    for (let i = 0; i < this.comments.length; i++) {
      const start = this.comments[i]!.span.start.offset;
      if (start >= to) break;
      if (start >= from && !this.used[i]) found.push(i);
    }
    return found;
  }

  private hasComments(from: number, to: number): boolean {
    return this.pending(from, to).length > 0;
  }

  /** A comment starting after `from` on the same line (only spaces and `,` between). */
  private trailing(from: number): number | undefined {
    if (this.muted) return undefined;
    for (let i = 0; i < this.comments.length; i++) {
      const start = this.comments[i]!.span.start.offset;
      if (start < from || this.used[i]) continue;
      return /^[ \t,]*$/.test(this.text.slice(from, start)) ? i : undefined;
    }
    return undefined;
  }

  private blankBetween(from: number, to: number): boolean {
    if (from >= to) return false;
    const between = this.text.slice(from, to);
    return (between.match(/\r\n|\n|\r/g)?.length ?? 0) >= 2;
  }

  /**
   * A sequence of items, one (or more) lines each, at `depth`, with the comments among them, up to the
   * offset `end` (a closing bracket or the end of file). `suffix` follows each item (`,` in lists).
   */
  private items<T extends Spanned>(
    list: readonly T[],
    depth: number,
    end: number,
    render: (item: T, depth: number) => Lines,
    opts: { atStart?: boolean; suffix?: (i: number) => string; from?: number } = {},
  ): string[] {
    const indent = INDENT.repeat(depth);
    const out: string[] = [];
    let prev = opts.from ?? 0;
    let first = true;
    const gap = (next: number) => {
      if (!first && this.blankBetween(prev, next)) out.push("");
      first = false;
    };
    list.forEach((item, index) => {
      const start = item.span.start.offset;
      const stop = item.span.end.offset;
      // Only comments after the opening bracket: earlier ones belong to (and move before) an outer item.
      for (const i of this.pending(opts.from ?? 0, start)) {
        const c = this.take(i);
        gap(c.span.start.offset);
        out.push(indent + c.text);
        prev = c.span.end.offset;
      }
      gap(start);
      const mark = this.log.length;
      let lines = render(item, depth);
      const orphans = this.pending(start, stop);
      if (orphans.length) {
        const inner = this.log.slice(mark);
        const before = inner.every((i) => i > orphans[orphans.length - 1]!);
        if (!before) {
          for (const i of this.log.splice(mark)) this.used[i] = false;
          this.muted = true;
          lines = render(item, depth);
          this.muted = false;
        }
        for (const i of before ? orphans : this.pending(start, stop)) out.push(indent + this.take(i).text);
      }
      lines = [...lines];
      lines[lines.length - 1] += opts.suffix?.(index) ?? "";
      const t = this.trailing(stop);
      if (t !== undefined) {
        const c = this.take(t);
        lines[lines.length - 1] += `${TRAILING}${c.text}`;
        prev = c.span.end.offset;
      } else prev = stop;
      out.push(indent + lines[0], ...lines.slice(1));
    });
    for (const i of this.pending(opts.from ?? 0, end)) {
      const c = this.take(i);
      gap(c.span.start.offset);
      out.push(indent + c.text);
      prev = c.span.end.offset;
    }
    return out;
  }

  /** Offset of the first `ch` at or after `from`, skipping whitespace, commas and comments; -1 if none. */
  private find(from: number, ch: string): number {
    const t = this.text;
    let i = from;
    while (i < t.length) {
      const c = t[i]!;
      if (c === ch) return i;
      if (c === "#") {
        while (i < t.length && t[i] !== "\n" && t[i] !== "\r") i++;
      } else i++;
    }
    return -1;
  }

  /**
   * `{` items `}`: the header line ends with ` {`; a comment on the line of the `{` stays there.
   * `open` is where to look for the `{` in the source, `close` the offset of the `}`.
   */
  private braced<T extends Spanned>(
    header: Lines,
    list: readonly T[],
    depth: number,
    open: number,
    close: number,
    render: (item: T, depth: number) => Lines,
  ): Lines {
    const brace = this.find(open, "{");
    const from = brace < 0 ? open : brace + 1;
    if (!list.length && !this.hasComments(from, close))
      return [...header.slice(0, -1), `${header.at(-1)} {}`];
    const lines = [...header];
    lines[lines.length - 1] += " {";
    const t = brace < 0 ? undefined : this.trailing(brace + 1);
    if (t !== undefined) lines[lines.length - 1] += ` ${this.take(t).text}`;
    lines.push(...this.items(list, depth + 1, close, render, { from }));
    lines.push(`${INDENT.repeat(depth)}}`);
    return lines;
  }

  /** The offset of the closing `}` of a node whose span ends with it. */
  private closeOf(node: Spanned): number {
    return node.span.end.offset - 1;
  }

  /**
   * A bracketed, comma-separated list: flat when it fits and holds no comment, else one element per line.
   * `col` is the column where `open` goes; `tail` the width of what follows `close` on its line.
   */
  private list<T extends Spanned>(
    open: string,
    close: string,
    elements: readonly T[],
    flat: (e: T) => string,
    render: (e: T, depth: number, col: number) => Lines,
    depth: number,
    col: number,
    tail: number,
    where: { open: number; close: number },
    trailingComma = true,
  ): Lines {
    const commented = where.open >= 0 && this.hasComments(where.open, where.close);
    if (!commented) {
      const text = `${open}${elements.map(flat).join(", ")}${close}`;
      if (col + text.length + tail <= WIDTH && !text.includes("\n")) return [text];
      if (!elements.length) return [text];
    }
    const first = [open];
    const t = where.open >= 0 ? this.trailing(where.open + 1) : undefined;
    if (t !== undefined) first[0] += ` ${this.take(t).text}`;
    const inner = INDENT.repeat(depth + 1);
    const body = this.items(elements, depth + 1, where.close, (e, d) => render(e, d, inner.length), {
      suffix: (i) => (trailingComma || i < elements.length - 1 ? "," : ""),
      from: where.open + 1,
    });
    return [...first, ...body, `${INDENT.repeat(depth)}${close}`];
  }

  // ---------------------------------------------------------------------------------------------------
  // Top-level items

  private topItem(item: A.TopLevel, depth: number): Lines {
    switch (item.kind) {
      case "Use":
        return this.use(item, depth);
      case "Function":
        return this.function(item, depth);
      case "Model":
      case "Adapter": {
        const header = this.signature(
          `${item.kind === "Model" ? "model" : "adapter"} ${item.name.name}`,
          item.params,
          undefined,
          depth,
          item.name.span.end.offset,
        );
        const items = item.items as (A.ModelItem | A.AdapterItem)[];
        return this.braced(
          header,
          items,
          depth,
          this.afterParams(item.params, item.name),
          this.closeOf(item),
          (i, d) => this.memberItem(i, d),
        );
      }
      case "Extern":
        return this.signature(
          `extern ${item.category.name} ${item.name.name}`,
          item.params,
          item.returns,
          depth,
          item.name.span.end.offset,
        );
      case "BlockSchema":
        return this.blockSchema(item, depth);
      case "Pipeline": {
        const head = `pipeline ${item.name.name}${item.extends ? ` extends ${item.extends.name}` : ""}`;
        const open = (item.extends ?? item.name).span.end.offset;
        return this.braced([head], item.items, depth, open, this.closeOf(item), (i, d) =>
          this.pipelineItem(i, d),
        );
      }
    }
  }

  private use(u: A.UseDecl, depth: number): Lines {
    const module = u.module.kind === "String" ? this.string(u.module) : u.module.name;
    const alias = u.alias ? ` as ${u.alias.name}` : "";
    const head = `use ${module}`;
    if (!u.names) return [head + alias];
    if (u.names.length === 1) return [`${head}.${u.names[0]!.name}${alias}`];
    const open = this.find(u.module.span.end.offset, "{");
    const close = this.find(u.names.at(-1)?.span.end.offset ?? open, "}");
    const lines = this.list(
      "{",
      "}",
      u.names,
      (n) => n.name,
      (n) => [n.name],
      depth,
      INDENT.length * depth + head.length + 1,
      alias.length,
      { open, close },
    );
    lines[0] = `${head}.${lines[0]}`;
    lines[lines.length - 1] += alias;
    return lines;
  }

  private function(f: A.FunctionDecl, depth: number): Lines {
    const header = this.signature(
      `${f.keyword} ${f.name.name}`,
      f.params,
      f.returns,
      depth,
      f.name.span.end.offset,
    );
    const open = f.returns ? f.returns.span.end.offset : this.afterParams(f.params, f.name);
    return this.braced(header, f.body, depth, open, this.closeOf(f), (s, d) => this.stmt(s, d));
  }

  /** Where to look for the `{` after a parameter list: past its `)`. */
  private afterParams(params: A.Param[], name: Spanned): number {
    const from = params.at(-1)?.span.end.offset ?? name.span.end.offset;
    const close = this.find(from, ")");
    return close < 0 ? from : close + 1;
  }

  /** `head(params) -> returns`, the parameter list broken when it does not fit. */
  private signature(
    head: string,
    params: A.Param[],
    returns: A.TypeExpr | undefined,
    depth: number,
    after: number,
  ) {
    const ret = returns ? ` -> ${this.type(returns)}` : "";
    const open = this.find(after, "(");
    const close = this.find(params.at(-1)?.span.end.offset ?? open, ")");
    const lines = this.list(
      "(",
      ")",
      params,
      (p) => this.param(p),
      (p) => [this.param(p)],
      depth,
      INDENT.length * depth + head.length,
      ret.length + 2,
      { open, close },
    );
    lines[0] = head + lines[0];
    lines[lines.length - 1] += ret;
    return lines;
  }

  private param(p: A.Param): string {
    let s = p.name.name;
    if (p.type) s += `: ${this.type(p.type)}`;
    if (p.default) s += ` = ${this.flat(p.default)}`;
    if (p.range) s += ` in [${this.flat(p.range.low)}, ${this.flat(p.range.high)}]`;
    return s;
  }

  private blockSchema(b: A.BlockSchemaDecl, depth: number): Lines {
    type Unit = {
      span: A.Span;
      kind: "setting" | "rest" | "provides" | "contains";
      lines: (d: number) => Lines;
    };
    const units: Unit[] = [];
    for (const p of b.settings) units.push({ span: p.span, kind: "setting", lines: () => [this.param(p)] });
    if (b.rest) {
      const rest = b.rest;
      units.push({ span: rest.span, kind: "rest", lines: () => [`...: ${this.type(rest.type)}`] });
    }
    // Consecutive `provides` (or `contains`) entries with only a comma between them share a clause.
    const clauses = <T extends Spanned>(
      entries: T[],
      kind: "provides" | "contains",
      show: (e: T) => string,
    ) => {
      let group: T[] = [];
      const flush = () => {
        if (!group.length) return;
        const members = group;
        const span = { ...members[0]!.span, end: members[members.length - 1]!.span.end };
        units.push({ span, kind, lines: (d) => this.clause(kind, members, show, d) });
        group = [];
      };
      for (const e of entries) {
        const last = group.at(-1);
        if (last && !this.text.slice(last.span.end.offset, e.span.start.offset).includes(",")) {
          if (this.text.length) flush();
        }
        group.push(e);
      }
      flush();
    };
    clauses(b.provides ?? [], "provides", (p) => this.param(p));
    clauses(b.contains, "contains", (c) => c.name);
    units.sort((x, y) => x.span.start.offset - y.span.start.offset);
    const head = `block ${b.name.name}${b.labelled ? "(label)" : ""}`;
    return this.braced([head], units, depth, b.name.span.end.offset, this.closeOf(b), (u, d) => u.lines(d));
  }

  /** `provides a: T, b: U` / `contains x, y`: continued on indented lines (no trailing comma) when long. */
  private clause<T extends Spanned>(
    kind: string,
    members: T[],
    show: (e: T) => string,
    depth: number,
  ): Lines {
    const first = members[0]!;
    const last = members[members.length - 1]!;
    const flat = `${kind} ${members.map(show).join(", ")}`;
    const commented = this.hasComments(first.span.start.offset, last.span.end.offset);
    if (!commented && INDENT.length * depth + flat.length <= WIDTH) return [flat];
    const rest = this.items(members.slice(1), depth + 1, last.span.end.offset, (m) => [show(m)], {
      suffix: (i) => (i < members.length - 2 ? "," : ""),
      from: first.span.end.offset,
    });
    return [`${kind} ${show(first)},`, ...rest];
  }

  // ---------------------------------------------------------------------------------------------------
  // Model and adapter items, pipeline items, statements

  private memberItem(item: A.ModelItem | A.AdapterItem, depth: number): Lines {
    const col = INDENT.length * depth;
    switch (item.kind) {
      case "ParamDecl": {
        let head = `param ${item.name.name}: ${this.type(item.type)}`;
        let tail = "";
        if (item.checkpoint) tail += ` from ${this.string(item.checkpoint)}`;
        if (item.trainable !== undefined) tail += item.trainable ? " trainable" : " frozen";
        if (!item.init) return [head + tail];
        head += " = ";
        const value = this.expr(item.init, depth, col + head.length, tail.length);
        return this.join(head, value, tail);
      }
      case "Submodule": {
        const repeat = item.repeat ? `[${item.repeat.variable.name} in ${this.flat(item.repeat.range)}]` : "";
        const head = `sub ${item.name.name}${repeat} = `;
        const tail = item.prefix ? ` from ${this.string(item.prefix)}` : "";
        return this.join(head, this.expr(item.value, depth, col + head.length, tail.length), tail);
      }
      case "Site": {
        const head = `site ${item.name.name}`;
        if (!item.value) return [head];
        return this.join(`${head} = `, this.expr(item.value, depth, col + head.length + 3, 0), "");
      }
      case "Hook": {
        const head = item.target === "forward" ? "forward" : `at ${this.flat(item.target)}`;
        const after = item.target === "forward" ? item.span.start.offset : item.target.span.end.offset;
        const header = this.signature(head, item.params, item.returns, depth, after);
        const open = item.returns
          ? item.returns.span.end.offset
          : this.afterParams(item.params, { span: item.span });
        return this.braced(header, item.body, depth, open, this.closeOf(item), (s, d) => this.stmt(s, d));
      }
      case "Unfreeze":
        return this.join("unfreeze ", this.expr(item.target, depth, col + 9, 0), "");
      case "Let":
        return this.stmt(item, depth);
    }
  }

  private pipelineItem(item: A.PipelineItem, depth: number): Lines {
    const col = INDENT.length * depth;
    switch (item.kind) {
      case "Attribute": {
        const head = `${item.name.name} = `;
        return this.join(head, this.expr(item.value, depth, col + head.length, 0), "");
      }
      case "Adapt":
        return this.join("adapt ", this.expr(item.adapter, depth, col + 6, 0), "");
      case "Block": {
        const head = `${item.name.name}${item.label ? ` ${item.label.name}` : ""}`;
        const open = (item.label ?? item.name).span.end.offset;
        return this.braced([head], item.items, depth, open, this.closeOf(item), (i, d) =>
          this.pipelineItem(i, d),
        );
      }
    }
  }

  private stmt(s: A.Stmt, depth: number): Lines {
    const col = INDENT.length * depth;
    switch (s.kind) {
      case "Let": {
        const head = `let ${s.name.name}${s.type ? `: ${this.type(s.type)}` : ""} = `;
        return this.join(head, this.expr(s.value, depth, col + head.length, 0), "");
      }
      case "Assign": {
        const head = `${s.name.name} = `;
        return this.join(head, this.expr(s.value, depth, col + head.length, 0), "");
      }
      case "Return":
        return this.join("return ", this.expr(s.value, depth, col + 7, 0), "");
      case "ExprStmt": {
        // A statement starting with `-` would continue the expression on the line before: parenthesise.
        const lines = this.expr(s.expr, depth, col, 0);
        return lines[0]?.startsWith("-") ? [`(${this.flat(s.expr)})`] : lines;
      }
      case "For": {
        const header = `for ${s.variable.name} in ${this.flat(s.iterable)}`;
        return this.braced([header], s.body, depth, s.iterable.span.end.offset, this.closeOf(s), (b, d) =>
          this.stmt(b, d),
        );
      }
    }
  }

  private join(head: string, body: Lines, tail: string): Lines {
    const lines = [...body];
    lines[0] = head + lines[0];
    lines[lines.length - 1] += tail;
    return lines;
  }

  // ---------------------------------------------------------------------------------------------------
  // Types and expressions

  private type(t: A.TypeExpr): string {
    switch (t.kind) {
      case "NamedType":
        return t.args.length ? `${t.name}<${t.args.map((a) => this.type(a)).join(", ")}>` : t.name;
      case "TensorType":
        return `${t.dtype?.name ?? ""}[${t.dims.map((d) => this.flat(d)).join(", ")}]`;
      case "UnionType":
        return t.options.map((o) => this.type(o)).join(" | ");
    }
  }

  private string(s: A.StringLit): string {
    return s.text ?? encodeString(s.value);
  }

  /** One-line text of an expression. */
  private flat(e: A.Expr): string {
    switch (e.kind) {
      case "Number":
        return e.text;
      case "String":
        return this.string(e);
      case "Bool":
        return e.value ? "true" : "false";
      case "None":
        return "none";
      case "Name":
        return e.name;
      case "List":
        return `[${e.items.map((i) => this.flat(i)).join(", ")}]`;
      case "Record":
        return `{${e.fields.map((f) => `${f.key.name}: ${this.flat(f.value)}`).join(", ")}}`;
      case "Unary":
        return e.op === "not"
          ? `not ${this.operand(e.operand, PREC.not)}`
          : `-${this.operand(e.operand, PREC.neg)}`;
      case "Binary": {
        const [l, r] = this.sides(e);
        return `${this.operand(e.left, l)} ${e.op} ${this.operand(e.right, r)}`;
      }
      case "Range":
        return `${this.operand(e.start, PREC.range + 1)}..${this.operand(e.end, PREC.range + 1)}`;
      case "Call":
        return `${this.operand(e.callee, PREC.postfix)}(${e.args.map((a) => this.argument(a)).join(", ")})`;
      case "Member":
        return `${this.operand(e.object, PREC.postfix)}.${e.property.name}`;
      case "Index":
        return `${this.operand(e.object, PREC.postfix)}[${e.items.map((i) => this.indexItem(i)).join(", ")}]`;
      case "ErrorExpr":
        return "";
    }
  }

  /** The least precedence each operand of a binary expression may have without parentheses. */
  private sides(e: A.BinaryExpr): [number, number] {
    const p = binaryPrec(e.op);
    if (e.op === "**") return [PREC.postfix, PREC.neg];
    if (p === PREC.compare) return [p + 1, p + 1];
    if (e.op === "or" || e.op === "and") return [p, p + 1];
    return [p, p + 1];
  }

  private operand(e: A.Expr, min: number): string {
    const text = this.flat(e);
    return precOf(e) < min ? `(${text})` : text;
  }

  private argument(a: A.Argument): string {
    return a.name ? `${a.name.name}: ${this.flat(a.value)}` : this.flat(a.value);
  }

  private indexItem(i: A.IndexItem): string {
    switch (i.kind) {
      case "IndexExpr":
        return this.flat(i.value);
      case "NewAxis":
        return "new";
      case "Ellipsis":
        return "...";
      case "Slice": {
        const start = i.start ? this.flat(i.start) : "";
        const stop = i.stop ? this.flat(i.stop) : "";
        return i.step ? `${start}:${stop}:${this.flat(i.step)}` : `${start}:${stop}`;
      }
    }
  }

  /**
   * An expression starting at column `col`, followed by `tail` columns on its last line. Calls, lists
   * and records break one element per line when they do not fit or hold comments; a binary expression
   * lets its right operand break.
   */
  private expr(e: A.Expr, depth: number, col: number, tail: number): Lines {
    const commented = this.hasComments(e.span.start.offset, e.span.end.offset);
    const flat = this.flat(e);
    if (!commented && col + flat.length + tail <= WIDTH) return [flat];
    switch (e.kind) {
      case "Call": {
        const callee = this.operand(e.callee, PREC.postfix);
        const open = this.find(e.callee.span.end.offset, "(");
        const lines = this.list(
          "(",
          ")",
          e.args,
          (a) => this.argument(a),
          (a, d, c) => {
            const head = a.name ? `${a.name.name}: ` : "";
            return this.join(head, this.expr(a.value, d, c + head.length, 1), "");
          },
          depth,
          col + callee.length,
          tail,
          { open, close: e.span.end.offset - 1 },
        );
        lines[0] = callee + lines[0];
        return lines;
      }
      case "List":
        return this.list(
          "[",
          "]",
          e.items,
          (i) => this.flat(i),
          (i, d, c) => this.expr(i, d, c, 1),
          depth,
          col,
          tail,
          { open: e.span.start.offset, close: e.span.end.offset - 1 },
        );
      case "Record":
        return this.list(
          "{",
          "}",
          e.fields,
          (f) => `${f.key.name}: ${this.flat(f.value)}`,
          (f, d, c) => this.join(`${f.key.name}: `, this.expr(f.value, d, c + f.key.name.length + 2, 1), ""),
          depth,
          col,
          tail,
          { open: e.span.start.offset, close: e.span.end.offset - 1 },
        );
      case "Binary": {
        const [l, r] = this.sides(e);
        if (precOf(e.right) < r) return [flat];
        const left = `${this.operand(e.left, l)} ${e.op} `;
        if (left.includes("\n")) return [flat];
        return this.join(left, this.expr(e.right, depth, col + left.length, tail), "");
      }
      default:
        return [flat];
    }
  }
}
