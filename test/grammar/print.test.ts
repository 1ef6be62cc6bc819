import { describe, expect, it } from "vitest";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource, formatText } from "../../grammar/print.ts";
import { SAMPLES } from "./parser-properties.ts";
import { checkFormat } from "./printer-properties.ts";

const fmt = (text: string) => {
  const out = checkFormat(text);
  if (out === undefined) throw new Error("syntax errors");
  return out;
};

describe("formatter on the sample programs", () => {
  for (const [name, text] of SAMPLES) {
    it(`${name}: same meaning, same comments, idempotent`, () => {
      expect(checkFormat(text, name)).toBeDefined();
    });
  }
});

describe("canonical layout", () => {
  it("normalises spacing, indentation and blank lines", () => {
    const text = "use clip\n\n\n\npipeline   p{x=f(a,b:1)\n\n\n  adapt   g( )\n    train{ epochs=5 }}";
    expect(fmt(text)).toBe(
      "use clip\n\npipeline p {\n  x = f(a, b: 1)\n\n  adapt g()\n  train {\n    epochs = 5\n  }\n}\n",
    );
  });

  it("breaks what does not fit in 100 columns, one element per line with a trailing comma", () => {
    const long = `pipeline p {\n  metrics = [${Array.from({ length: 12 }, (_, i) => `metric_${i}(x)`).join(", ")}]\n}`;
    const out = fmt(long);
    expect(out.split("\n").slice(0, 3)).toEqual(["pipeline p {", "  metrics = [", "    metric_0(x),"]);
    expect(out).toContain("    metric_11(x),\n  ]\n}");
    for (const line of out.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
  });

  it("re-joins short broken lists and keeps empty blocks compact", () => {
    expect(fmt("pipeline p {\n  x = [\n    1,\n    2,\n  ]\n}\nmodel m() {\n}")).toBe(
      "pipeline p {\n  x = [1, 2]\n}\nmodel m() {}\n",
    );
  });

  it("re-derives parentheses from precedence", () => {
    expect(fmt("fn f() {\n  return ((a + b)) * -(c ** d) - (e - f) + (x ** y) ** z\n}")).toBe(
      "fn f() {\n  return (a + b) * -c ** d - (e - f) + (x ** y) ** z\n}\n",
    );
  });

  it("keeps numbers and strings as written", () => {
    expect(fmt('pipeline p {\n  a = 1e-4\n  b = 0.50\n  c = "x\\{i}\\t"\n}')).toBe(
      'pipeline p {\n  a = 1e-4\n  b = 0.50\n  c = "x\\{i}\\t"\n}\n',
    );
  });
});

describe("comments", () => {
  const text = `# file header

use clip  # trailing on use
# before the pipeline
pipeline p { # after the brace
  # leading in block
  x = f( # after the paren
    a,  # after a
    # before b
    b,
    # at the end of the args
  )
  y = 1 + # inside an expression
    2
  train {
    epochs = 5
    # at the end of the block
  }
  # at the end of the pipeline
}
# at the end of the file
`;

  it("keeps every comment, in order", () => {
    const out = fmt(text);
    const before = parseSource(text, "c.vlmp").ast.comments.map((c) => c.text);
    const after = parseSource(out, "c.vlmp").ast.comments.map((c) => c.text);
    expect(after).toEqual(before);
    expect(before).toHaveLength(13);
  });

  it("places leading, trailing, inner and end-of-block comments", () => {
    expect(fmt(text)).toBe(`# file header

use clip  # trailing on use
# before the pipeline
pipeline p { # after the brace
  # leading in block
  x = f( # after the paren
    a,  # after a
    # before b
    b,
    # at the end of the args
  )
  # inside an expression
  y = 1 + 2
  train {
    epochs = 5
    # at the end of the block
  }
  # at the end of the pipeline
}
# at the end of the file
`);
  });
});

describe("refusal", () => {
  it("formatText returns problems and no text for a file with syntax errors", () => {
    const r = formatText("pipeline p {\n  x = \n}", "bad.vlmp");
    expect(r.text).toBeUndefined();
    expect(r.problems.length).toBeGreaterThan(0);
  });

  it("formatSource returns a damaged file's text unchanged", () => {
    const text = "pipeline p {\n  x = f(\n}";
    expect(formatSource(parseSource(text, "bad.vlmp").ast)).toBe(text);
  });

  it("an empty file stays empty", () => {
    expect(fmt("")).toBe("");
    expect(fmt("\n\n")).toBe("");
    expect(fmt("# only\n")).toBe("# only\n");
  });
});

describe("trailing comments", () => {
  it("line up on consecutive lines, two spaces after the widest code, and lose trailing spaces", () => {
    const text = "pipeline p {\n  seed = 1 # a   \n  precision = f32      # b\n\n  x = 2 # c\n}\n";
    expect(fmt(text)).toBe(
      "pipeline p {\n  seed = 1         # a\n  precision = f32  # b\n\n  x = 2  # c\n}\n",
    );
  });

  it("leave a line whose code is too wide for the column out of the alignment", () => {
    const wide = `x${"x".repeat(95)}`;
    const text = `pipeline p {\n  a = 1 # a\n  ${wide} = 2 # b\n}\n`;
    expect(fmt(text)).toBe(`pipeline p {\n  a = 1  # a\n  ${wide} = 2  # b\n}\n`);
  });
});
