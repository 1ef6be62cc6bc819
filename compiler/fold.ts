// Constant folding of number operators, with the language's semantics everywhere it is folded (spec
// settings, shape arithmetic, lowering): `%` is floored, as in Python, so `-1 % 3` is 2.

/** `a op b` for constant numbers; undefined for an operator that does not apply to numbers. */
export function foldBinary(op: string, a: number, b: number): number | boolean | undefined {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a - Math.floor(a / b) * b;
    case "**":
      return a ** b;
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    default:
      return undefined;
  }
}
