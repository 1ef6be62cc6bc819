// Python's `html.unescape`, ported exactly: CLIP's reference tokenizer cleans text with
// html.unescape(html.unescape(text)). The tables (WHATWG named references, the numeric references that
// map elsewhere, the code points that numeric references drop) are Python's own, written to
// html-entities.json by bench/ref/html_entities_table.py.

import { readFileSync } from "node:fs";

interface EntityTables {
  named: Record<string, string>;
  invalidCharrefs: Record<string, string>;
  invalidCodepointRanges: [number, number][];
}

interface Tables {
  named: Map<string, string>;
  invalidCharrefs: Map<number, string>;
  invalidCodepointRanges: [number, number][];
}

let tables: Tables | undefined;

function load(): Tables {
  if (tables) return tables;
  const raw = JSON.parse(
    readFileSync(new URL("./html-entities.json", import.meta.url), "utf8"),
  ) as EntityTables;
  tables = {
    named: new Map(Object.entries(raw.named)),
    invalidCharrefs: new Map(Object.entries(raw.invalidCharrefs).map(([k, v]) => [Number(k), v])),
    invalidCodepointRanges: raw.invalidCodepointRanges,
  };
  return tables;
}

// Python: r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)'
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceNumeric(body: string): string {
  const { invalidCharrefs, invalidCodepointRanges } = load();
  const hex = body[1] === "x" || body[1] === "X";
  const digits = (hex ? body.slice(2) : body.slice(1)).replace(/;$/, "");
  // Past 0x10FFFF every value behaves alike; stop parsing early so huge references stay cheap.
  const trimmed = digits.replace(/^0+/, "");
  const num =
    trimmed.length > 8 ? Number.POSITIVE_INFINITY : trimmed === "" ? 0 : parseInt(trimmed, hex ? 16 : 10);
  const mapped = invalidCharrefs.get(num);
  if (mapped !== undefined) return mapped;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
  for (const [lo, hi] of invalidCodepointRanges) if (num >= lo && num <= hi) return "";
  return String.fromCodePoint(num);
}

function replaceNamed(body: string): string {
  const { named } = load();
  const whole = named.get(body);
  if (whole !== undefined) return whole;
  // The longest prefix that is a name (names such as `amp` are valid without ';'). Python slices code
  // points; the pattern's class keeps them whole here too.
  const points = Array.from(body);
  for (let x = points.length - 1; x > 1; x--) {
    const prefix = points.slice(0, x).join("");
    const value = named.get(prefix);
    if (value !== undefined) return value + points.slice(x).join("");
  }
  return "&" + body;
}

/** Exactly Python's `html.unescape(s)`. */
export function htmlUnescape(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(CHARREF, (_match, body: string) =>
    body[0] === "#" ? replaceNumeric(body) : replaceNamed(body),
  );
}
