// fast-check generators of ASTs in the shapes the parser produces (spans are dummies), for the property
// that printing then parsing gives the same AST back.

import fc from "fast-check";
import type * as A from "../../grammar/ast.ts";

const SPAN: A.Span = {
  file: "gen.vlmp",
  start: { offset: 0, line: 1, col: 1 },
  end: { offset: 0, line: 1, col: 1 },
};

// Plain names only: keywords-as-names have their own parser tests, and `and`/`or` as the name of an item
// that follows an expression would read as an operator.
const NAMES = [
  "x",
  "y",
  "logits",
  "N",
  "C",
  "w_2",
  "train",
  "data",
  "softmax",
  "label",
  "contains",
  "provides",
];
const name = fc.constantFrom(...NAMES);
const ident = name.map((n): A.Identifier => ({ kind: "Identifier", name: n, span: SPAN }));
const keyName = fc
  .constantFrom(...NAMES, "in", "from", "model", "site", "none")
  .map((n): A.Identifier => ({ kind: "Identifier", name: n, span: SPAN }));

const number = fc
  .oneof(
    fc.nat(1000).map(String),
    fc.tuple(fc.nat(99), fc.nat(99)).map(([a, b]) => `${a}.${b}`),
    fc.constantFrom("1e-4", "2.5E+3", "0.50", "1e8"),
  )
  .map(
    (text): A.NumberLit => ({
      kind: "Number",
      value: Number(text),
      text,
      isInteger: /^[0-9]+$/.test(text),
      span: SPAN,
    }),
  );

const string = fc
  .string({ unit: fc.constantFrom(...'ab {}."\\\n\t/é'), maxLength: 12 })
  .map((value): A.StringLit => ({ kind: "String", value, span: SPAN }));

const BINARY: A.BinaryOp[] = [
  "or",
  "and",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "@",
  "**",
];

export const expr: fc.Arbitrary<A.Expr> = fc.letrec<{ expr: A.Expr }>((tie) => {
  const e = tie("expr");
  const leaf = fc.oneof(
    number,
    string,
    fc.boolean().map((value): A.Expr => ({ kind: "Bool", value, span: SPAN })),
    fc.constant<A.Expr>({ kind: "None", span: SPAN }),
    name.map((n): A.Expr => ({ kind: "Name", name: n, span: SPAN })),
  );
  const indexItem: fc.Arbitrary<A.IndexItem> = fc.oneof(
    e.map((value): A.IndexItem => ({ kind: "IndexExpr", value, span: SPAN })),
    fc.constant<A.IndexItem>({ kind: "NewAxis", span: SPAN }),
    fc.constant<A.IndexItem>({ kind: "Ellipsis", span: SPAN }),
    fc
      .record({
        start: fc.option(e, { nil: undefined }),
        stop: fc.option(e, { nil: undefined }),
        step: fc.option(e, { nil: undefined }),
      })
      .map((s) => {
        const slice: A.IndexItem = { kind: "Slice", span: SPAN };
        if (s.start) slice.start = s.start;
        if (s.stop) slice.stop = s.stop;
        if (s.step) slice.step = s.step;
        return slice;
      }),
  );
  const callee = fc.oneof(
    name.map((n): A.Expr => ({ kind: "Name", name: n, span: SPAN })),
    fc.tuple(name, ident).map(
      ([o, p]): A.Expr => ({
        kind: "Member",
        object: { kind: "Name", name: o, span: SPAN },
        property: p,
        span: SPAN,
      }),
    ),
  );
  return {
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(e, { maxLength: 4 }).map((items): A.Expr => ({ kind: "List", items, span: SPAN })),
      fc.array(fc.tuple(keyName, e), { maxLength: 3 }).map(
        (fs): A.Expr => ({
          kind: "Record",
          fields: fs.map(([key, value]) => ({ kind: "RecordField", key, value, span: SPAN })),
          span: SPAN,
        }),
      ),
      fc
        .tuple(fc.constantFrom<A.UnaryOp>("-", "not"), e)
        .map(([op, operand]): A.Expr => ({ kind: "Unary", op, operand, span: SPAN })),
      fc
        .tuple(fc.constantFrom(...BINARY), e, e)
        .map(([op, left, right]): A.Expr => ({ kind: "Binary", op, left, right, span: SPAN })),
      fc.tuple(e, e).map(([start, end]): A.Expr => ({ kind: "Range", start, end, span: SPAN })),
      fc
        .tuple(
          fc.oneof(callee, e),
          fc.array(e, { maxLength: 3 }),
          fc.array(fc.tuple(keyName, e), { maxLength: 3 }),
        )
        .map(
          ([c, pos, named]): A.Expr => ({
            kind: "Call",
            callee: c,
            args: [
              ...pos.map((value): A.Argument => ({ kind: "Argument", value, span: SPAN })),
              ...named.map(([n, value]): A.Argument => ({ kind: "Argument", name: n, value, span: SPAN })),
            ],
            span: SPAN,
          }),
        ),
      fc
        .tuple(e, keyName)
        .map(([object, property]): A.Expr => ({ kind: "Member", object, property, span: SPAN })),
      fc
        .tuple(e, fc.array(indexItem, { minLength: 1, maxLength: 3 }))
        .map(([object, items]): A.Expr => ({ kind: "Index", object, items, span: SPAN })),
    ),
  };
}).expr;

const named: fc.Arbitrary<A.NamedType> = fc
  .tuple(fc.constantFrom("int", "number", "path", "site", "list"), fc.boolean())
  .map(([n, withArg]) => ({
    kind: "NamedType",
    name: n,
    args: withArg ? [{ kind: "NamedType", name: "int", args: [], span: SPAN }] : [],
    span: SPAN,
  }));
const tensor: fc.Arbitrary<A.TensorType> = fc
  .tuple(
    fc.option(fc.constantFrom("f16", "f32"), { nil: undefined }),
    fc.array(expr, { minLength: 1, maxLength: 3 }),
  )
  .map(([dtype, dims]) => {
    const t: A.TensorType = { kind: "TensorType", dims, span: SPAN };
    if (dtype) t.dtype = { kind: "Identifier", name: dtype, span: SPAN };
    return t;
  });
const type: fc.Arbitrary<A.TypeExpr> = fc.oneof(
  named,
  tensor,
  fc
    .array(named, { minLength: 2, maxLength: 3 })
    .map((options): A.TypeExpr => ({ kind: "UnionType", options, span: SPAN })),
);

const param: fc.Arbitrary<A.Param> = fc
  .record({
    name: keyName,
    type: fc.option(type, { nil: undefined }),
    dflt: fc.option(expr, { nil: undefined }),
    range: fc.option(fc.tuple(expr, expr), { nil: undefined }),
  })
  .map((r) => {
    const p: A.Param = { kind: "Param", name: r.name, span: SPAN };
    if (r.type) p.type = r.type;
    if (r.dflt) p.default = r.dflt;
    if (r.range) p.range = { span: SPAN, low: r.range[0], high: r.range[1] };
    return p;
  });

// A statement after an expression must not begin with `-` (it would continue that expression), so
// expression statements are calls.
const callStmt = expr.map(
  (e): A.Stmt => ({
    kind: "ExprStmt",
    expr: {
      kind: "Call",
      callee: { kind: "Name", name: "log", span: SPAN },
      args: [{ kind: "Argument", value: e, span: SPAN }],
      span: SPAN,
    },
    span: SPAN,
  }),
);

const stmt: fc.Arbitrary<A.Stmt> = fc.letrec<{ stmt: A.Stmt }>((tie) => ({
  stmt: fc.oneof(
    { depthSize: "small" },
    fc.tuple(ident, fc.option(type, { nil: undefined }), expr).map(([n, t, value]): A.Stmt => {
      const s: A.LetStmt = { kind: "Let", name: n, value, span: SPAN };
      if (t) s.type = t;
      return s;
    }),
    fc.tuple(ident, expr).map(([n, value]): A.Stmt => ({ kind: "Assign", name: n, value, span: SPAN })),
    expr.map((value): A.Stmt => ({ kind: "Return", value, span: SPAN })),
    callStmt,
    fc
      .tuple(ident, expr, fc.array(tie("stmt"), { maxLength: 3 }))
      .map(([variable, iterable, body]): A.Stmt => ({ kind: "For", variable, iterable, body, span: SPAN })),
  ),
})).stmt;

const pipelineItem: fc.Arbitrary<A.PipelineItem> = fc.letrec<{ item: A.PipelineItem }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small" },
    fc
      .tuple(ident, expr)
      .map(([n, value]): A.PipelineItem => ({ kind: "Attribute", name: n, value, span: SPAN })),
    expr.map((adapter): A.PipelineItem => ({ kind: "Adapt", adapter, span: SPAN })),
    fc
      .tuple(ident, fc.option(ident, { nil: undefined }), fc.array(tie("item"), { maxLength: 3 }))
      .map(([n, label, items]): A.PipelineItem => {
        const b: A.Block = { kind: "Block", name: n, items, span: SPAN };
        if (label) b.label = label;
        return b;
      }),
  ),
})).item;

const str = (value: string): A.StringLit => ({ kind: "String", value, span: SPAN });

const modelItem: fc.Arbitrary<A.ModelItem> = fc.oneof(
  fc
    .tuple(
      ident,
      tensor,
      fc.option(expr, { nil: undefined }),
      fc.option(fc.constantFrom("w.{i}", "a"), { nil: undefined }),
      fc.option(fc.boolean(), { nil: undefined }),
    )
    .map(([n, t, init, ck, trainable]): A.ModelItem => {
      const p: A.ParamDecl = { kind: "ParamDecl", name: n, type: t, span: SPAN };
      if (init) p.init = init;
      if (ck) p.checkpoint = str(ck);
      if (trainable !== undefined) p.trainable = trainable;
      return p;
    }),
  fc
    .tuple(
      ident,
      fc.option(fc.tuple(ident, expr), { nil: undefined }),
      fc.array(expr, { maxLength: 2 }),
      fc.option(fc.constant("p.{i}"), { nil: undefined }),
    )
    .map(([n, rep, args, prefix]): A.ModelItem => {
      const s: A.SubmoduleDecl = {
        kind: "Submodule",
        name: n,
        value: {
          kind: "Call",
          callee: { kind: "Name", name: "layer", span: SPAN },
          args: args.map((value) => ({ kind: "Argument", value, span: SPAN })),
          span: SPAN,
        },
        span: SPAN,
      };
      if (rep) s.repeat = { variable: rep[0], range: rep[1] };
      if (prefix) s.prefix = str(prefix);
      return s;
    }),
  fc
    .tuple(ident, fc.option(expr, { nil: undefined }))
    .map(
      ([n, value]): A.ModelItem =>
        value ? { kind: "Site", name: n, value, span: SPAN } : { kind: "Site", name: n, span: SPAN },
    ),
  fc
    .tuple(
      fc.array(param, { maxLength: 2 }),
      fc.option(type, { nil: undefined }),
      fc.array(stmt, { maxLength: 3 }),
    )
    .map(([params, returns, body]): A.ModelItem => {
      const h: A.HookDecl = { kind: "Hook", target: "forward", params, body, span: SPAN };
      if (returns) h.returns = returns;
      return h;
    }),
);

const top: fc.Arbitrary<A.TopLevel> = fc.oneof(
  fc
    .tuple(
      ident,
      fc.option(fc.array(ident, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      fc.option(ident, { nil: undefined }),
    )
    .map(([m, names, alias]): A.TopLevel => {
      const u: A.UseDecl = { kind: "Use", module: m, span: SPAN };
      if (names) u.names = names;
      if (alias) u.alias = alias;
      return u;
    }),
  fc
    .tuple(
      fc.constantFrom<"fn" | "loss">("fn", "loss"),
      ident,
      fc.array(param, { maxLength: 3 }),
      fc.option(type, { nil: undefined }),
      fc.array(stmt, { maxLength: 4 }),
    )
    .map(([keyword, n, params, returns, body]): A.TopLevel => {
      const f: A.FunctionDecl = { kind: "Function", keyword, name: n, params, body, span: SPAN };
      if (returns) f.returns = returns;
      return f;
    }),
  fc
    .tuple(ident, fc.array(param, { maxLength: 3 }), fc.array(modelItem, { maxLength: 4 }))
    .map(([n, params, items]): A.TopLevel => ({ kind: "Model", name: n, params, items, span: SPAN })),
  fc
    .tuple(ident, ident, fc.array(param, { maxLength: 3 }), fc.option(type, { nil: undefined }))
    .map(([category, n, params, returns]): A.TopLevel => {
      const e: A.ExternDecl = { kind: "Extern", category, name: n, params, span: SPAN };
      if (returns) e.returns = returns;
      return e;
    }),
  fc
    .tuple(ident, fc.array(pipelineItem, { maxLength: 4 }), fc.option(ident, { nil: undefined }))
    .map(([n, items, base]): A.TopLevel => {
      const p: A.PipelineDecl = { kind: "Pipeline", name: n, items, span: SPAN };
      if (base) p.extends = base;
      return p;
    }),
);

export const sourceFile: fc.Arbitrary<A.SourceFile> = fc
  .array(top, { maxLength: 4 })
  .map((items) => ({ kind: "SourceFile", path: "gen.vlmp", text: "", items, comments: [] }));
