import { describe, expect, it } from "vitest";
import type { FunctionDecl, ModelDecl, PipelineDecl } from "../../grammar/ast.ts";
import { parseSource } from "../../grammar/parse.ts";
import { SYNTAX_REASONS } from "../../grammar/problems.ts";

const where = (p: { span: { start: { line: number; col: number } } }) =>
  `${p.span.start.line}:${p.span.start.col}`;

describe("error recovery", () => {
  it("reports three distinct syntax errors in one pass, with line:col, and keeps the rest", () => {
    const text = `pipeline a {
  x = f(1, 2
  y = 3
}
fn g() {
  let = 4
  return 1
}
model m() {
  param w: [D] =
}
use clip
`;
    const { ast, problems } = parseSource(text, "three.vlmp");
    expect(problems.map((p) => `${where(p)} ${p.reason}`)).toEqual([
      "3:3 missing-token",
      "6:7 missing-token",
      "11:1 unexpected-token",
    ]);
    expect(problems[0]!.message).toBe("expected ')' to close the call opened at 2:8, found 'y'");
    expect(problems[0]!.expected).toEqual(["')'"]);
    expect(problems[0]!.found).toBe("y");
    expect(problems[1]!.message).toBe("expected identifier, found '='");
    expect(problems[2]!.message).toBe("expected an expression, found '}'");

    expect(ast.items.map((i) => i.kind)).toEqual(["Pipeline", "Function", "Model", "Use"]);
    const pipeline = ast.items[0] as PipelineDecl;
    expect(pipeline.items.map((i) => i.kind === "Attribute" && i.name.name)).toEqual(["x", "y"]);
    expect(pipeline.items[0]).toMatchObject({ value: { kind: "Call", recovered: true } });
    const fn = ast.items[1] as FunctionDecl;
    expect(fn.body.map((s) => s.kind)).toEqual(["Let", "Return"]);
    expect(fn.body[0]).toMatchObject({ name: { name: "", recovered: true }, recovered: true });
    const model = ast.items[2] as ModelDecl;
    expect(model.items[0]).toMatchObject({ kind: "ParamDecl", init: { kind: "ErrorExpr", recovered: true } });
    const init = model.items[0]!.kind === "ParamDecl" ? model.items[0]!.init! : undefined;
    // The missing expression sits right after `=`.
    expect(init?.span.start).toMatchObject({ line: 10, col: 17 });
  });

  it("says where an unclosed block began when the file ends", () => {
    const { problems } = parseSource("pipeline p {\n  train {\n    epochs = 5\n", "eof.vlmp");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ reason: "unexpected-end", found: "end of file" });
    expect(problems[0]!.message).toBe(
      "unexpected end of file: expected '}' to close the block opened at 2:9",
    );
    expect(problems[0]!.span.start).toMatchObject({ line: 4, col: 1, offset: 38 });
  });

  it("skips junk between top-level items", () => {
    const { ast, problems } = parseSource("use a\n) ] 3 +\nuse b\n", "junk.vlmp");
    expect(problems.map((p) => `${where(p)} ${p.reason}`)).toEqual(["2:1 unexpected-token"]);
    expect(problems[0]!.message).toMatch(/^expected a top-level item/);
    expect(ast.items.map((i) => i.kind === "Use" && i.module.kind === "Identifier" && i.module.name)).toEqual(
      ["a", "b"],
    );
  });

  it("lexical problems: unexpected characters, unterminated strings, bad escapes", () => {
    const text = 'pipeline p {\n  a = 1 $ 2\n  b = "open\n  c = "x\\qy"\n}';
    const { ast, problems } = parseSource(text, "lex.vlmp");
    const lexical = problems.filter((p) =>
      ["unexpected-character", "unterminated-string", "bad-escape"].includes(p.reason),
    );
    expect(lexical.map((p) => `${where(p)} ${p.reason}`)).toEqual([
      "2:9 unexpected-character",
      "3:7 unterminated-string",
      "4:9 bad-escape",
    ]);
    expect(lexical[0]!.message).toBe("unexpected character '$'");
    const p = ast.items[0] as PipelineDecl;
    expect(p.items.find((i) => i.kind === "Attribute" && i.name.name === "c")).toMatchObject({
      value: { kind: "String", value: "xqy", recovered: true },
    });
  });

  it("positional after named arguments, and sub values that are not calls", () => {
    const { problems } = parseSource("model m() {\n  sub a = f(x: 1, 2)\n  sub b = 3\n}", "forms.vlmp");
    expect(problems.map((p) => `${where(p)} ${p.reason}`)).toEqual([
      "2:19 positional-after-named",
      "3:11 not-a-call",
    ]);
  });

  it("only ever uses the documented reasons", () => {
    const { problems } = parseSource('fn ( { ] ) ! "\\x', "bad.vlmp");
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(SYNTAX_REASONS).toContain(p.reason);
  });

  it("never throws on deep nesting", () => {
    for (const text of [
      "(".repeat(5000),
      `fn f() {\n  return ${"-".repeat(20000)}x\n}`,
      "[".repeat(100000),
    ]) {
      const { problems } = parseSource(text, "deep.vlmp");
      expect(problems.length).toBeGreaterThan(0);
    }
  });
});
