// The parameter and return types of IR definitions, read back from their type strings (`[N, C]`,
// `i32[S]`, `[3 * E]`, `number`, `zeroShotMSP | uniform | oracle`), and the binding of their dimension
// symbols to the sizes of the tensors a call passes.

export type DimExpr =
  | { readonly kind: "size"; readonly value: number }
  | { readonly kind: "symbol"; readonly name: string }
  | { readonly kind: "op"; readonly op: string; readonly left: DimExpr; readonly right: DimExpr }
  | { readonly kind: "neg"; readonly operand: DimExpr };

export type ParamType =
  | { readonly kind: "tensor"; readonly dtype: string; readonly dims: readonly DimExpr[] }
  | { readonly kind: "scalar"; readonly type: "number" | "int" | "bool" }
  | { readonly kind: "enum"; readonly options: readonly string[] }
  /** Anything the lowering never turns into a tensor (strings, lists, categories). */
  | { readonly kind: "other"; readonly text: string };

const PRIMITIVE_NAMES = new Set([
  "any",
  "int",
  "number",
  "string",
  "bool",
  "none",
  "path",
  "record",
  "scalar",
]);

/** Splits at top-level commas (outside parentheses). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

export function parseParamType(text: string | undefined): ParamType {
  if (text === undefined) return { kind: "other", text: "any" };
  const t = text.trim();
  const tensor = /^([A-Za-z0-9]*)\[(.*)\]$/s.exec(t);
  if (tensor) {
    return { kind: "tensor", dtype: tensor[1] || "f32", dims: splitTopLevel(tensor[2]!).map(parseDim) };
  }
  if (t === "number" || t === "int" || t === "bool") return { kind: "scalar", type: t };
  if (t === "scalar") return { kind: "tensor", dtype: "f32", dims: [] };
  const options = t.split("|").map((o) => o.trim());
  if (
    options.length > 1 &&
    options.every((o) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(o) && !PRIMITIVE_NAMES.has(o))
  ) {
    return { kind: "enum", options };
  }
  return { kind: "other", text: t };
}

// A small recursive-descent parser for dimension expressions: + - * / % ** and parentheses.

export function parseDim(text: string): DimExpr {
  const tokens = text.match(/\d+|[A-Za-z_][A-Za-z0-9_.]*|\*\*|[-+*/%()]/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (): never => {
    throw new Error(`cannot read the dimension '${text}'`);
  };
  const primary = (): DimExpr => {
    const t = tokens[pos++];
    if (t === undefined) return fail();
    if (t === "(") {
      const e = sum();
      if (tokens[pos++] !== ")") fail();
      return e;
    }
    if (t === "-") return { kind: "neg", operand: power() };
    if (/^\d+$/.test(t)) return { kind: "size", value: Number(t) };
    if (/^[A-Za-z_]/.test(t)) return { kind: "symbol", name: t };
    return fail();
  };
  const power = (): DimExpr => {
    const base = primary();
    if (peek() === "**") {
      pos++;
      return { kind: "op", op: "**", left: base, right: power() };
    }
    return base;
  };
  const product = (): DimExpr => {
    let e = power();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = tokens[pos++]!;
      e = { kind: "op", op, left: e, right: power() };
    }
    return e;
  };
  const sum = (): DimExpr => {
    let e = product();
    while (peek() === "+" || peek() === "-") {
      const op = tokens[pos++]!;
      e = { kind: "op", op, left: e, right: product() };
    }
    return e;
  };
  const e = sum();
  if (pos !== tokens.length) fail();
  return e;
}

export function dimText(d: DimExpr): string {
  switch (d.kind) {
    case "size":
      return String(d.value);
    case "symbol":
      return d.name;
    case "neg":
      return `-${dimText(d.operand)}`;
    case "op":
      return `${d.left.kind === "op" ? `(${dimText(d.left)})` : dimText(d.left)} ${d.op} ${d.right.kind === "op" ? `(${dimText(d.right)})` : dimText(d.right)}`;
  }
}

/** The symbols a dimension mentions. */
export function dimSymbols(d: DimExpr): string[] {
  switch (d.kind) {
    case "size":
      return [];
    case "symbol":
      return [d.name];
    case "neg":
      return dimSymbols(d.operand);
    case "op":
      return [...dimSymbols(d.left), ...dimSymbols(d.right)];
  }
}

/** The size of a dimension given sizes for its symbols; undefined when a symbol has none. */
export function evalDim(d: DimExpr, sizes: ReadonlyMap<string, number>): number | undefined {
  switch (d.kind) {
    case "size":
      return d.value;
    case "symbol":
      return sizes.get(d.name);
    case "neg": {
      const v = evalDim(d.operand, sizes);
      return v === undefined ? undefined : -v;
    }
    case "op": {
      const l = evalDim(d.left, sizes);
      const r = evalDim(d.right, sizes);
      if (l === undefined || r === undefined) return undefined;
      switch (d.op) {
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return l / r;
        case "%":
          return l % r;
        default:
          return l ** r;
      }
    }
  }
}

/**
 * Binds the symbols of `dims` (a parameter's declared shape) to the sizes of `shape`, adding them to
 * `sizes`. Returns a message when the ranks differ or a size disagrees with an earlier binding; derived
 * dimensions are checked once every symbol they mention has a size (see `checkDerived`).
 */
export function bindShape(
  dims: readonly DimExpr[],
  shape: readonly number[],
  sizes: Map<string, number>,
): string | undefined {
  if (dims.length !== shape.length) {
    return `expects rank ${dims.length} [${dims.map(dimText).join(", ")}], got [${shape.join(", ")}]`;
  }
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const actual = shape[i]!;
    if (d.kind === "symbol") {
      const known = sizes.get(d.name);
      if (known === undefined) sizes.set(d.name, actual);
      else if (known !== actual) {
        return `dimension ${d.name} is ${known} elsewhere but ${actual} here (axis ${i} of [${shape.join(", ")}])`;
      }
    } else if (d.kind === "size" && d.value !== actual) {
      return `axis ${i} must have size ${d.value}, got ${actual}`;
    }
  }
  return undefined;
}

/** Checks a declared shape's derived dimensions (`3 * E`) against an actual shape once sizes are known. */
export function checkDerived(
  dims: readonly DimExpr[],
  shape: readonly number[],
  sizes: ReadonlyMap<string, number>,
): string | undefined {
  for (let i = 0; i < dims.length && i < shape.length; i++) {
    const d = dims[i]!;
    if (d.kind !== "op" && d.kind !== "neg") continue;
    const want = evalDim(d, sizes);
    if (want !== undefined && want !== shape[i]) {
      return `axis ${i} must have size ${dimText(d)} = ${want}, got ${shape[i]}`;
    }
  }
  return undefined;
}
