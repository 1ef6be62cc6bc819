// Property: a random arithmetic/broadcast expression, written as a .vlmp `fn` and compiled through the
// whole front end (compileFile with `text`), lowers to a graph whose interpreter output equals a direct
// Float64 evaluation of the same expression with NumPy broadcasting.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { type Tensor, tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { run } from "./helpers.ts";

type Expr =
  | { k: "leaf"; name: "a" | "b" | "a[0]" | "b[:, 1:2]" | "mean(a)" | "b[..., new][:, 2:3, 0]" }
  | { k: "num"; v: number }
  | { k: "bin"; op: "+" | "-" | "*"; l: Expr; r: Expr }
  | { k: "div"; l: Expr; r: Expr }
  | { k: "neg"; x: Expr }
  | { k: "fn"; f: "tanh" | "abs" | "sigmoid" | "exp_tanh" | "sqrt1"; x: Expr }
  | { k: "ext"; f: "max" | "min"; l: Expr; r: Expr }
  | { k: "where"; cmp: ">" | "<="; l: Expr; r: Expr; a: Expr; b: Expr }
  | { k: "sumlast"; x: Expr };

const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      k: fc.constant("leaf" as const),
      name: fc.constantFrom("a", "b", "a[0]", "b[:, 1:2]", "mean(a)", "b[..., new][:, 2:3, 0]"),
    }),
    fc.record({ k: fc.constant("num" as const), v: fc.constantFrom(0.5, 2, 3.25, 1, 10) }),
    fc.record({
      k: fc.constant("bin" as const),
      op: fc.constantFrom("+", "-", "*"),
      l: tie("expr"),
      r: tie("expr"),
    }),
    fc.record({ k: fc.constant("div" as const), l: tie("expr"), r: tie("expr") }),
    fc.record({ k: fc.constant("neg" as const), x: tie("expr") }),
    fc.record({
      k: fc.constant("fn" as const),
      f: fc.constantFrom("tanh", "abs", "sigmoid", "exp_tanh", "sqrt1"),
      x: tie("expr"),
    }),
    fc.record({
      k: fc.constant("ext" as const),
      f: fc.constantFrom("max", "min"),
      l: tie("expr"),
      r: tie("expr"),
    }),
    fc.record({
      k: fc.constant("where" as const),
      cmp: fc.constantFrom(">", "<="),
      l: tie("expr"),
      r: tie("expr"),
      a: tie("expr"),
      b: tie("expr"),
    }),
    fc.record({ k: fc.constant("sumlast" as const), x: tie("expr") }),
  ),
}));

// --- direct evaluation with NumPy broadcasting -----------------------------------------------------------

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error("broadcast");
    return Math.max(x, y);
  });
}

function at(t: Tensor, shape: readonly number[], flat: number): number {
  // Row-major index in `shape`, read from t broadcast to it.
  let rem = flat;
  let offset = 0;
  let stride = 1;
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = rem % shape[i]!;
    rem = Math.floor(rem / shape[i]!);
  }
  for (let i = t.shape.length - 1; i >= 0; i--) {
    const d = t.shape[i]!;
    const j = idx[shape.length - t.shape.length + i]!;
    offset += (d === 1 ? 0 : j) * stride;
    stride *= d;
  }
  return t.data[offset]!;
}

function zip(ts: readonly Tensor[], f: (...xs: number[]) => number): Tensor {
  const shape = ts.map((t) => t.shape).reduce(broadcastShape, []);
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(
    shape,
    Array.from({ length: n }, (_, i) => f(...ts.map((t) => at(t, shape, i)))),
  );
}

const S = 3;
const C = 4;

function direct(e: Expr, a: Tensor, b: Tensor): { text: string; value: Tensor } {
  const go = (x: Expr) => direct(x, a, b);
  switch (e.k) {
    case "leaf": {
      const value = {
        a,
        b,
        "a[0]": tensor([C], a.data.slice(0, C)),
        "b[:, 1:2]": tensor(
          [S, 1],
          Array.from({ length: S }, (_, i) => b.data[i * C + 1]!),
        ),
        "mean(a)": tensor([], [a.data.reduce((s, v) => s + v, 0) / a.data.length]),
        "b[..., new][:, 2:3, 0]": tensor(
          [S, 1],
          Array.from({ length: S }, (_, i) => b.data[i * C + 2]!),
        ),
      }[e.name];
      return { text: e.name, value };
    }
    case "num":
      return { text: String(e.v), value: tensor([], [e.v]) };
    case "bin": {
      const [l, r] = [go(e.l), go(e.r)];
      const f = {
        "+": (x: number, y: number) => x + y,
        "-": (x: number, y: number) => x - y,
        "*": (x: number, y: number) => x * y,
      }[e.op];
      return { text: `(${l.text} ${e.op} ${r.text})`, value: zip([l.value, r.value], f) };
    }
    case "div": {
      const [l, r] = [go(e.l), go(e.r)];
      return {
        text: `(${l.text} / (${r.text} * ${r.text} + 1))`,
        value: zip([l.value, r.value], (x, y) => x / (y * y + 1)),
      };
    }
    case "neg": {
      const x = go(e.x);
      return { text: `(-${x.text})`, value: zip([x.value], (v) => -v) };
    }
    case "fn": {
      const x = go(e.x);
      const table = {
        tanh: [`tanh(${x.text})`, Math.tanh],
        abs: [`abs(${x.text})`, Math.abs],
        sigmoid: [`sigmoid(${x.text})`, (v: number) => 1 / (1 + Math.exp(-v))],
        exp_tanh: [`exp(tanh(${x.text}))`, (v: number) => Math.exp(Math.tanh(v))],
        sqrt1: [`sqrt(${x.text} * ${x.text} + 1)`, (v: number) => Math.sqrt(v * v + 1)],
      } as const;
      const [text, f] = table[e.f];
      return { text, value: zip([x.value], f) };
    }
    case "ext": {
      const [l, r] = [go(e.l), go(e.r)];
      return {
        text: `${e.f}(${l.text}, ${r.text})`,
        value: zip([l.value, r.value], e.f === "max" ? Math.max : Math.min),
      };
    }
    case "where": {
      const [l, r, x, y] = [go(e.l), go(e.r), go(e.a), go(e.b)];
      const cmp = e.cmp === ">" ? (p: number, q: number) => p > q : (p: number, q: number) => p <= q;
      return {
        text: `where(${l.text} ${e.cmp} ${r.text}, ${x.text}, ${y.text})`,
        value: zip([l.value, r.value, x.value, y.value], (p, q, u, v) => (cmp(p, q) ? u : v)),
      };
    }
    case "sumlast": {
      const x = go(e.x);
      const shape = x.value.shape;
      if (shape.length === 0) return x;
      const last = shape[shape.length - 1]!;
      const outer = shape.slice(0, -1).reduce((p, d) => p * d, 1);
      const data = Array.from({ length: outer }, (_, i) => {
        let s = 0;
        for (let j = 0; j < last; j++) s += x.value.data[i * last + j]!;
        return s;
      });
      return {
        text: `sum(${x.text}, axis: -1, keepdims: true)`,
        value: tensor([...shape.slice(0, -1), 1], data),
      };
    }
  }
}

function spec(body: string): string {
  return `use clip
use data.{lines, folder}
use metrics.accuracy

fn f(a: [S, C], b: [S, C]) {
  return ${body}
}

pipeline p {
  backbone = clip.vit_b16(weights: "none")
  data {
    classes = lines("none.txt")
    train = folder("none", classes: classes)
    test = folder("none", classes: classes)
  }
  constants {
    on = data.train
    x = f(logits, cosines)
  }
  evaluate test {
    metrics = [accuracy()]
  }
}
`;
}

describe("random expressions: lowered graph = direct evaluation", () => {
  it("agrees to 1e-9 through the whole front end", () => {
    const r = rng(99);
    fc.assert(
      fc.property(expr, (e) => {
        const a = tensor(
          [S, C],
          Array.from({ length: S * C }, () => 4 * r() - 2),
        );
        const b = tensor(
          [S, C],
          Array.from({ length: S * C }, () => 4 * r() - 2),
        );
        const { text, value } = direct(e, a, b);
        const compiled = compileFile("test/lower/property.vlmp", { mode: "compile", text: spec(text) });
        const errors = compiled.diagnostics.filter((d) => d.severity === "error");
        expect(
          errors.map((d) => d.message),
          text,
        ).toEqual([]);
        const got = run(compiled.ir!, "property.f", { a, b }).value;
        expect(got.shape, text).toEqual(value.shape);
        expectClose(got.data, value.data, 1e-9, 1e-9);
      }),
      { numRuns: 60, seed: 20240817 },
    );
  });
});
