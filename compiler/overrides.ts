// `key.path=value` overrides from the command line and from YAML files. Each value is vlmp source text,
// parsed and checked exactly like the spec itself; every diagnostic points into the override's own text
// (the `<command line>` pseudo-file or the YAML file at the value's line and column).

import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node as YamlNode,
} from "yaml";
import type { Expr, Identifier, Span } from "../grammar/ast.ts";
import { parseSource } from "../grammar/parse.ts";
import { LineMap } from "../grammar/positions.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import { syntaxDiagnostic } from "./syntax-diagnostics.ts";

export const COMMAND_LINE = "<command line>";

export interface Override {
  /** The setting's path segments (`train`, `epochs`) with their spans. */
  path: Identifier[];
  value: Expr;
  span: Span;
}

export interface ParsedOverrides {
  overrides: Override[];
  diagnostics: Diagnostic[];
  /** Texts of the pseudo-files and YAML files, for caret excerpts. */
  sources: Map<string, string>;
}

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses `key.path=value` arguments; they share one `<command line>` pseudo-file, separated by spaces. */
export function parseCommandLineOverrides(args: readonly string[]): ParsedOverrides {
  const text = args.join(" ");
  const lines = new LineMap(COMMAND_LINE, text);
  const result: ParsedOverrides = {
    overrides: [],
    diagnostics: [],
    sources: new Map([[COMMAND_LINE, text]]),
  };
  let offset = 0;
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const key = eq < 0 ? arg : arg.slice(0, eq);
    if (eq < 0 || !KEY_PATTERN.test(key)) {
      result.diagnostics.push(
        diagnostic("V6001", lines.span(offset, offset + arg.length), `'${arg}' is not an override`, {
          help: "write key.path=value, e.g. train.epochs=10 or data.train='folder(\"data/x\")'",
        }),
      );
    } else {
      const override = overrideFrom(
        key,
        offset,
        arg.slice(eq + 1),
        offset + eq + 1,
        lines,
        result.diagnostics,
      );
      if (override) result.overrides.push(override);
    }
    offset += arg.length + 1;
  }
  return result;
}

/**
 * Parses a YAML overrides file: nested mappings or dotted keys name settings (`train: {epochs: 10}` or
 * `train.epochs: 10`), and each value is a vlmp expression: `epochs: 10`, `every: epoch`,
 * `weights: "models/tiny"` (double quotes: a vlmp string), `optimizer: 'sgd(lr: 0.1, momentum: 0.9)'`
 * (single quotes: an expression that YAML would not take unquoted).
 */
export function parseOverrideFile(file: string, text: string): ParsedOverrides {
  const lines = new LineMap(file, text);
  const result: ParsedOverrides = { overrides: [], diagnostics: [], sources: new Map([[file, text]]) };
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, keepSourceTokens: true });
  for (const error of doc.errors) {
    const [start, end] = error.pos;
    const summary = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    result.diagnostics.push(diagnostic("V6003", lines.span(start, end), `not valid YAML: ${summary}`));
  }
  if (doc.errors.length > 0 || doc.contents === null) return result;
  const visit = (node: YamlNode, prefix: { name: string; start: number; end: number }[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key;
        if (!isScalar(key) || typeof key.value !== "string" || !key.range) {
          result.diagnostics.push(
            diagnostic("V6001", nodeSpan(key as YamlNode, lines), "override keys must be setting names"),
          );
          continue;
        }
        let start = key.range[0];
        const segments = key.value.split(".").map((name) => {
          const segment = { name, start, end: start + name.length };
          start += name.length + 1;
          return segment;
        });
        if (!KEY_PATTERN.test(key.value)) {
          result.diagnostics.push(
            diagnostic("V6001", nodeSpan(key, lines), `'${key.value}' is not a setting path`),
          );
          continue;
        }
        if (pair.value) visit(pair.value as YamlNode, [...prefix, ...segments]);
      }
      return;
    }
    if (isSeq(node) && !node.flow) {
      result.diagnostics.push(
        diagnostic("V6001", nodeSpan(node, lines), "write lists inline, as in a spec: [a, b, c]"),
      );
      return;
    }
    if (!node.range || prefix.length === 0) {
      result.diagnostics.push(
        diagnostic("V6001", nodeSpan(node, lines), "the top level of an override file must be a mapping"),
      );
      return;
    }
    const [start, end] = node.range;
    const path = prefix.map((s) => identifier(s.name, lines.span(s.start, s.end)));
    // A double-quoted YAML string is a vlmp string (its source text, quotes included, is the same
    // literal); a single-quoted one holds an expression YAML could not take plain (`'sgd(lr: 0.1)'`).
    const singleQuoted = isScalar(node) && node.type === "QUOTE_SINGLE";
    const valueText = singleQuoted ? String(node.value) : text.slice(start, end);
    const override = parseValue(path, valueText, singleQuoted ? start + 1 : start, lines, result.diagnostics);
    if (override) result.overrides.push(override);
  };
  visit(doc.contents as YamlNode, []);
  return result;
}

function nodeSpan(node: YamlNode | undefined, lines: LineMap): Span {
  const range = node?.range;
  return range ? lines.span(range[0], range[1]) : lines.span(0, 0);
}

function identifier(name: string, span: Span): Identifier {
  return { kind: "Identifier", name, span };
}

function overrideFrom(
  key: string,
  keyOffset: number,
  valueText: string,
  valueOffset: number,
  lines: LineMap,
  diagnostics: Diagnostic[],
): Override | undefined {
  let start = keyOffset;
  const path = key.split(".").map((name) => {
    const id = identifier(name, lines.span(start, start + name.length));
    start += name.length + 1;
    return id;
  });
  return parseValue(path, valueText, valueOffset, lines, diagnostics);
}

// The value is parsed as the right-hand side of an attribute in a throw-away pipeline, then every span
// is moved back onto the override's own text.
const WRAPPER_PREFIX = "pipeline p{x=";

function parseValue(
  path: Identifier[],
  valueText: string,
  valueOffset: number,
  lines: LineMap,
  diagnostics: Diagnostic[],
): Override | undefined {
  const first = path[0]!;
  const last = path[path.length - 1]!;
  const fullSpan = lines.span(first.span.start.offset, valueOffset + valueText.length);
  if (valueText.trim() === "") {
    diagnostics.push(
      diagnostic("V6001", last.span, `no value given for '${path.map((p) => p.name).join(".")}'`),
    );
    return undefined;
  }
  const { ast, problems } = parseSource(`${WRAPPER_PREFIX}${valueText}\n}`, lines.file);
  const shift = valueOffset - WRAPPER_PREFIX.length;
  const valueEnd = WRAPPER_PREFIX.length + valueText.length;
  for (const problem of problems) {
    // What the parser met after the value is the hidden wrapper, not the user's text.
    const pastEnd = problem.span.start.offset >= valueEnd;
    diagnostics.push(
      syntaxDiagnostic({
        ...problem,
        ...(pastEnd ? { message: "the value ends before the expression is complete", expected: [] } : {}),
        span: pastEnd
          ? lines.span(valueOffset + valueText.length, valueOffset + valueText.length)
          : shiftSpan(problem.span, shift, lines),
      }),
    );
  }
  if (problems.length > 0) return undefined;
  const pipeline = ast.items[0];
  const attribute = pipeline?.kind === "Pipeline" ? pipeline.items[0] : undefined;
  if (attribute?.kind !== "Attribute" || pipeline?.kind !== "Pipeline" || pipeline.items.length !== 1) {
    diagnostics.push(diagnostic("V6001", fullSpan, "an override value must be one expression"));
    return undefined;
  }
  return { path, value: shiftSpans(attribute.value, shift, lines), span: fullSpan };
}

function shiftSpan(span: Span, shift: number, lines: LineMap): Span {
  return lines.span(Math.max(0, span.start.offset + shift), Math.max(0, span.end.offset + shift));
}

/** A deep copy of an AST subtree with every span moved by `shift` characters into `lines`' file. */
function shiftSpans<T>(node: T, shift: number, lines: LineMap): T {
  if (Array.isArray(node)) return node.map((n) => shiftSpans(n, shift, lines)) as T;
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === "span" ? shiftSpan(value as Span, shift, lines) : shiftSpans(value, shift, lines);
  }
  return out as T;
}
