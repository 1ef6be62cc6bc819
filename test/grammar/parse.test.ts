import { describe, expect, it } from "vitest";
import type {
  AdapterDecl,
  BlockSchemaDecl,
  FunctionDecl,
  ModelDecl,
  PipelineDecl,
} from "../../grammar/ast.ts";
import { parseSource } from "../../grammar/parse.ts";
import { at, parseExpr, parseOk, sexpr, stripSpans, textOf, typeText } from "./helpers.ts";

describe("use", () => {
  it("parses the four forms of docs/language.md", () => {
    const ast = parseOk(
      'use clip\nuse losses.ueo\nuse adapters.{prompt, affine,}\nuse "./common.vlmp" as common\nuse clip as c\n',
    );
    expect(stripSpans(ast.items)).toEqual([
      { kind: "Use", module: { kind: "Identifier", name: "clip" } },
      {
        kind: "Use",
        module: { kind: "Identifier", name: "losses" },
        names: [{ kind: "Identifier", name: "ueo" }],
      },
      {
        kind: "Use",
        module: { kind: "Identifier", name: "adapters" },
        names: [
          { kind: "Identifier", name: "prompt" },
          { kind: "Identifier", name: "affine" },
        ],
      },
      {
        kind: "Use",
        module: { kind: "String", value: "./common.vlmp", text: '"./common.vlmp"' },
        alias: { kind: "Identifier", name: "common" },
      },
      { kind: "Use", module: { kind: "Identifier", name: "clip" }, alias: { kind: "Identifier", name: "c" } },
    ]);
  });

  it("gives exact spans (1-based line/col, 0-based offsets, end exclusive)", () => {
    const text = "use clip\n  use adapters.{prompt, affine}";
    const ast = parseOk(text);
    const second = ast.items[1]!;
    expect(second.span).toEqual({
      file: "test.vlmp",
      start: { offset: 11, line: 2, col: 3 },
      end: { offset: text.length, line: 2, col: 32 },
    });
    expect(textOf(text, second.span)).toBe("use adapters.{prompt, affine}");
    if (second.kind !== "Use") throw new Error();
    expect(at(second.names![1]!.span)).toBe("2:25-2:31");
  });
});

describe("literals", () => {
  it("numbers keep their text; isInteger only for digit strings", () => {
    const cases: [string, number, boolean][] = [
      ["64", 64, true],
      ["0", 0, true],
      ["1.0", 1, false],
      ["0.50", 0.5, false],
      ["1e-4", 1e-4, false],
      ["2.5E+3", 2500, false],
    ];
    for (const [text, value, isInteger] of cases) {
      expect(stripSpans(parseExpr(text))).toEqual({ kind: "Number", value, text, isInteger });
    }
  });

  it("strings decode escapes and keep their text", () => {
    const e = parseExpr(String.raw`"a\"b\\c\nd\te\{i}"`);
    expect(e).toMatchObject({
      kind: "String",
      value: 'a"b\\c\nd\te{i}',
      text: String.raw`"a\"b\\c\nd\te\{i}"`,
    });
  });

  it("booleans, none, names, lists and records", () => {
    expect(sexpr(parseExpr("[true, false, none, x,]"))).toBe("[true false none x]");
    expect(sexpr(parseExpr("[]"))).toBe("[]");
    expect(sexpr(parseExpr("{}"))).toBe("{}");
    expect(sexpr(parseExpr('{a: 1, in: "x", model: [2],}'))).toBe('{a: 1 in: "x" model: [2]}');
  });
});

describe("postfix", () => {
  it("calls with positional then named arguments, keywords as keys", () => {
    expect(sexpr(parseExpr("f(a, b, axis: 1, in: 3,)"))).toBe("(call f a b axis:1 in:3)");
    expect(sexpr(parseExpr("f()"))).toBe("(call f)");
  });

  it("members, calls and indexing chain left to right", () => {
    expect(sexpr(parseExpr("clip.vit_b16(w: 1).visual[3].ln_1"))).toBe(
      "(. (index (. (call (. clip vit_b16) w:1) visual) 3) ln_1)",
    );
  });

  it("index items: new, ellipsis, slices", () => {
    expect(sexpr(parseExpr("x[:, new]"))).toBe("(index x : new)");
    expect(sexpr(parseExpr("x[0]"))).toBe("(index x 0)");
    expect(sexpr(parseExpr("x[1:3]"))).toBe("(index x 1:3)");
    expect(sexpr(parseExpr("x[..., 0]"))).toBe("(index x ... 0)");
    expect(sexpr(parseExpr("x[::2, 1:, :n, a:b:c]"))).toBe("(index x ::2 1: :n a:b:c)");
  });

  it("a ( or [ at the start of a line begins a new statement, not a call or index", () => {
    const ast = parseOk("fn f() {\n  let y = g\n  (y)\n  [1, 2]\n  z\n    .w\n}");
    const fn = ast.items[0] as FunctionDecl;
    expect(fn.body.map((s) => s.kind)).toEqual(["Let", "ExprStmt", "ExprStmt", "ExprStmt"]);
    const last = fn.body[3]!;
    expect(last.kind === "ExprStmt" && sexpr(last.expr)).toBe("(. z w)");
  });
});

describe("statements", () => {
  it("let (typed), assignment, return, for, expression", () => {
    const ast = parseOk(
      "fn f(x: [N]) -> [N] {\n  let y: [N] = x\n  y = y + 1\n  for i in 0..3 {\n    y = y * 2\n  }\n  g(y)\n  return y\n}",
    );
    const fn = ast.items[0] as FunctionDecl;
    expect(fn.keyword).toBe("fn");
    expect(fn.body.map((s) => s.kind)).toEqual(["Let", "Assign", "For", "ExprStmt", "Return"]);
    const loop = fn.body[2]!;
    if (loop.kind !== "For") throw new Error();
    expect(loop.variable.name).toBe("i");
    expect(sexpr(loop.iterable)).toBe("(.. 0 3)");
    expect(loop.body).toHaveLength(1);
    const let_ = fn.body[0]!;
    expect(let_.kind === "Let" && let_.type && typeText(let_.type)).toBe("[N]");
  });
});

describe("definitions", () => {
  it("a loss with typed parameters, defaults and ranges", () => {
    const ast = parseOk(
      "loss ce(logits: [N, C], smoothing: number = 0.1 in [0, 1], mode: end | front = end) {\n  return 0\n}",
    );
    const fn = ast.items[0] as FunctionDecl;
    expect(fn.keyword).toBe("loss");
    const [logits, smoothing, mode] = fn.params;
    expect(typeText(logits!.type!)).toBe("[N, C]");
    expect(sexpr(smoothing!.default!)).toBe("0.1");
    expect(sexpr(smoothing!.range!.low)).toBe("0");
    expect(sexpr(smoothing!.range!.high)).toBe("1");
    expect(mode!.type!.kind).toBe("UnionType");
    expect(typeText(mode!.type!)).toBe("end | front");
  });

  it("types: tensors with dtype and expression dims, named types with arguments, site", () => {
    const ast = parseOk(
      "extern value f(a: f16[B, 3, 224, 224], b: [(image / patch) ** 2 + 1, width], c: list<list<int>>, d: site, e: sites) -> int",
    );
    const ext = ast.items[0]!;
    if (ext.kind !== "Extern") throw new Error();
    expect(ext.category.name).toBe("value");
    expect(ext.params.map((p) => typeText(p.type!))).toEqual([
      "f16[B, 3, 224, 224]",
      "[(+ (** (/ image patch) 2) 1), width]",
      "list<list<int>>",
      "site",
      "sites",
    ]);
    expect(typeText(ext.returns!)).toBe("int");
  });

  it("a model with param, sub (repeated), site, let and forward", () => {
    const ast = parseOk(`model m(width: int = 8) {
  param w: f16[width, width] = normal(std: 0.02) from "a.{i}" frozen
  param b: [width] trainable
  sub ln = layer_norm(width) from "ln"
  sub blocks[i in 0..layers] = blk(width) from "layers.{i}"
  site tokens
  site norms = [ln, blocks.ln_1]
  let half = width / 2
  forward(x: [B, width]) -> [B, width] {
    return x @ w
  }
}`);
    const m = ast.items[0] as ModelDecl;
    expect(m.items.map((i) => i.kind)).toEqual([
      "ParamDecl",
      "ParamDecl",
      "Submodule",
      "Submodule",
      "Site",
      "Site",
      "Let",
      "Hook",
    ]);
    const [w, b, ln, blocks, tokens, norms, , fwd] = m.items;
    expect(w).toMatchObject({ name: { name: "w" }, trainable: false, checkpoint: { value: "a.{i}" } });
    if (w?.kind !== "ParamDecl") throw new Error("expected a param");
    expect(typeText(w.type)).toBe("f16[width, width]");
    expect(b).toMatchObject({ trainable: true });
    expect(ln).toMatchObject({ kind: "Submodule", prefix: { value: "ln" } });
    expect(blocks).toMatchObject({ repeat: { variable: { name: "i" } } });
    expect(blocks?.kind === "Submodule" && sexpr(blocks.value)).toBe("(call blk width)");
    expect(tokens).toMatchObject({ kind: "Site", name: { name: "tokens" } });
    expect(tokens).not.toHaveProperty("value");
    expect(norms?.kind === "Site" && sexpr(norms.value!)).toBe("[ln (. blocks ln_1)]");
    expect(fwd).toMatchObject({ kind: "Hook", target: "forward" });
  });

  it("an adapter with at-hooks on site paths, param, unfreeze and let", () => {
    const ast = parseOk(`adapter a(dim: int) {
  param w: [dim] = zeros()
  at text.features(x: [C, D]) -> [C, D] {
    return x
  }
  at visual.blocks[3].ln_1(x: [B, T, D]) {
    return x
  }
  unfreeze visual.layernorms
  let k = 2
}`);
    const a = ast.items[0] as AdapterDecl;
    expect(a.items.map((i) => i.kind)).toEqual(["ParamDecl", "Hook", "Hook", "Unfreeze", "Let"]);
    const hook = a.items[1]!;
    if (hook.kind !== "Hook" || hook.target === "forward") throw new Error();
    expect(sexpr(hook.target)).toBe("(. text features)");
    expect(hook.params[0]!.name.name).toBe("x");
    const hook2 = a.items[2]!;
    if (hook2.kind !== "Hook" || hook2.target === "forward") throw new Error();
    expect(sexpr(hook2.target)).toBe("(. (index (. visual blocks) 3) ln_1)");
  });

  it("block declarations: settings without separators, label, contains", () => {
    const ast = parseOk(
      "block train {\n  epochs: int in [1, 1000]\n  batch: int\n  seed: int = 0\n  contains data, schedule\n}\nblock evaluate(label) {\n  metrics: list<metric>\n}",
    );
    const [train, evaluate] = ast.items as BlockSchemaDecl[];
    expect(train!.labelled).toBe(false);
    expect(train!.settings.map((s) => s.name.name)).toEqual(["epochs", "batch", "seed"]);
    expect(train!.contains.map((c) => c.name)).toEqual(["data", "schedule"]);
    expect(evaluate!.labelled).toBe(true);
    expect(evaluate!.contains).toEqual([]);
  });
});

describe("pipelines", () => {
  it("attributes, labelled and nested blocks, adapt, extends", () => {
    const ast = parseOk(`pipeline b extends a {
  backbone = clip.vit_b16(weights: "m")
  adapt prompt(context: 4)
  stage erm {
    train {
      epochs = 5
    }
  }
  evaluate test {
    metrics = [accuracy]
  }
  in = 3
}`);
    const p = ast.items[0] as PipelineDecl;
    expect(p.extends?.name).toBe("a");
    expect(p.items.map((i) => i.kind)).toEqual(["Attribute", "Adapt", "Block", "Block", "Attribute"]);
    expect(p.items[2]).toMatchObject({
      name: { name: "stage" },
      label: { name: "erm" },
      items: [{ kind: "Block" }],
    });
    expect(p.items[3]).toMatchObject({ name: { name: "evaluate" }, label: { name: "test" } });
    expect(p.items[4]).toMatchObject({ kind: "Attribute", name: { name: "in" } });
  });

  it("a keyword cannot be used as a variable", () => {
    const { problems } = parseSource("fn f() {\n  return in\n}", "k.vlmp");
    expect(problems.length).toBeGreaterThan(0);
  });
});

describe("comments", () => {
  it("are collected with their spans and never reach the AST", () => {
    const text = "# head\nuse clip # trailing\n# tail";
    const { ast, problems } = parseSource(text, "c.vlmp");
    expect(problems).toEqual([]);
    expect(ast.comments.map((c) => c.text)).toEqual(["# head", "# trailing", "# tail"]);
    expect(ast.comments.map((c) => at(c.span))).toEqual(["1:1-1:7", "2:10-2:20", "3:1-3:7"]);
    expect(ast.items).toHaveLength(1);
  });
});

describe("line endings", () => {
  it("counts \\r\\n and \\r as one line break each", () => {
    const { ast } = parseSource("use a\r\nuse b\ruse c", "crlf.vlmp");
    expect(ast.items.map((i) => at(i.span))).toEqual(["1:1-1:6", "2:1-2:6", "3:1-3:6"]);
  });
});

describe("block declarations: provides, rest settings, keyword names", () => {
  it("parses provides clauses, `...: type` and a block named with a keyword", () => {
    const ast = parseOk(`block pipeline {
  seed: int = 0
  provides logits: [N, C], labels: [N]
  provides epoch: int
  ...: value
  contains data, train
  contains evaluate
}`);
    const b = ast.items[0] as BlockSchemaDecl;
    expect(b.name.name).toBe("pipeline");
    expect(b.settings.map((s) => s.name.name)).toEqual(["seed"]);
    expect(b.provides?.map((p) => `${p.name.name}: ${typeText(p.type!)}`)).toEqual([
      "logits: [N, C]",
      "labels: [N]",
      "epoch: int",
    ]);
    expect(b.rest && typeText(b.rest.type)).toBe("value");
    expect(b.contains.map((c) => c.name)).toEqual(["data", "train", "evaluate"]);
  });

  it("`provides` and `contains` stay ordinary names elsewhere", () => {
    const ast = parseOk(
      "block b {\n  provides: int\n  contains: int\n}\nfn f(contains: int) {\n  return contains + provides\n}",
    );
    expect((ast.items[0] as BlockSchemaDecl).settings.map((s) => s.name.name)).toEqual([
      "provides",
      "contains",
    ]);
  });
});
