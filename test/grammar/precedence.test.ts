import { describe, expect, it } from "vitest";
import { parseSource } from "../../grammar/parse.ts";
import { parseExpr, sexpr } from "./helpers.ts";

// docs/language.md, lowest first: or; and; not; comparisons (non-assoc); .. (non-assoc); + -; * / % @;
// unary -; ** (right-assoc, tighter than unary minus on its left); postfix call, index, member.
const cases: [string, string][] = [
  ["a or b and c", "(or a (and b c))"],
  ["a and b or c", "(or (and a b) c)"],
  ["a or b or c", "(or (or a b) c)"],
  ["not a and b", "(and (not a) b)"],
  ["not a == b", "(not (== a b))"],
  ["a and not b == c", "(and a (not (== b c)))"],
  ["not not a", "(not (not a))"],
  ["a == b and c != d", "(and (== a b) (!= c d))"],
  ["a < b", "(< a b)"],
  ["a <= b + 1", "(<= a (+ b 1))"],
  ["a >= b", "(>= a b)"],
  ["a > 0..n", "(> a (.. 0 n))"],
  ["0..n + 1", "(.. 0 (+ n 1))"],
  ["a + b * c", "(+ a (* b c))"],
  ["a * b + c", "(+ (* a b) c)"],
  ["a - b - c", "(- (- a b) c)"],
  ["a / b * c", "(* (/ a b) c)"],
  ["a % b @ c", "(@ (% a b) c)"],
  ["a @ b + c", "(+ (@ a b) c)"],
  ["-a * b", "(* (- a) b)"],
  ["-a - -b", "(- (- a) (- b))"],
  ["- - a", "(- (- a))"],
  ["-x ** 2", "(- (** x 2))"],
  ["a ** b ** c", "(** a (** b c))"],
  ["2 ** -1", "(** 2 (- 1))"],
  ["a ** -b ** c", "(** a (- (** b c)))"],
  ["a * b ** 2", "(* a (** b 2))"],
  ["f(x) ** 2", "(** (call f x) 2)"],
  ["-a.b[0](c)", "(- (call (index (. a b) 0) c))"],
  ["(a + b) * c", "(* (+ a b) c)"],
  ["(1 / w) / sum(1 / w)", "(/ (/ 1 w) (call sum (/ 1 w)))"],
  ["(a < b) < c", "(< (< a b) c)"],
  ["(0..n)..m", "(.. (.. 0 n) m)"],
  ["x[a + 1:b * 2]", "(index x (+ a 1):(* b 2))"],
  [
    "sum(wc * entropy(p, axis: 1)) - entropy(sum(wu[:, new] * p, axis: 0), axis: 0)",
    "(- (call sum (* wc (call entropy p axis:1))) (call entropy (call sum (* (index wu : new) p) axis:0) axis:0))",
  ],
];

describe("operator precedence", () => {
  for (const [text, tree] of cases) {
    it(`${text}  ⇒  ${tree}`, () => {
      expect(sexpr(parseExpr(text))).toBe(tree);
    });
  }
});

describe("non-associative operators", () => {
  for (const text of ["a < b < c", "a == b != c", "0..1..2"]) {
    it(`${text} is a problem`, () => {
      const { problems } = parseSource(`fn f() {\n  return ${text}\n}`, "p.vlmp");
      expect(problems.map((p) => p.reason)).toEqual(["non-associative"]);
    });
  }
});

describe("`not` only where the grammar allows it", () => {
  for (const text of ["a == not b", "- not a", "a + not b", "a ** not b"]) {
    it(`${text} is a problem`, () => {
      const { problems } = parseSource(`fn f() {\n  return ${text}\n}`, "p.vlmp");
      expect(problems.map((p) => p.reason)).toEqual(["unexpected-token"]);
      expect(problems[0]!.found ?? problems[0]!.message).toMatch(/not/);
    });
  }
  for (const text of ["not not a", "not -a", "a and not b", "a or not b and not c"]) {
    it(`${text} is fine`, () => {
      expect(parseSource(`fn f() {\n  return ${text}\n}`, "p.vlmp").problems).toEqual([]);
    });
  }
});
