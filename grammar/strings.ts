// String literals: decoding what was written, and writing a value back as a literal.
// Escapes are `\"`, `\\`, `\n`, `\t` and `\{`; `\{` decodes to a plain `{` (a literal brace where a
// checkpoint key would otherwise interpolate `{i}`; the literal's `text` keeps the difference).

export interface DecodedString {
  value: string;
  /** Offsets (within the literal, quotes included) and lengths of escapes that are not allowed. */
  badEscapes: { offset: number; length: number; text: string }[];
  terminated: boolean;
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", "{": "{" };

/** Decodes a literal as written (`"a\tb"`, or `"abc` when unterminated). */
export function decodeString(text: string): DecodedString {
  const terminated = text.length >= 2 && text.endsWith('"') && !escapedAt(text, text.length - 1);
  const end = terminated ? text.length - 1 : text.length;
  let value = "";
  const badEscapes: DecodedString["badEscapes"] = [];
  for (let i = 1; i < end; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      value += c;
      continue;
    }
    if (i + 1 >= end) break; // a lone backslash at the end of an unterminated string
    const next = text[i + 1]!;
    const decoded = ESCAPES[next];
    if (decoded === undefined) {
      badEscapes.push({ offset: i, length: 2, text: `\\${next}` });
      value += next;
    } else value += decoded;
    i++;
  }
  return { value, badEscapes, terminated };
}

/** True when the character at `index` is preceded by an odd number of backslashes. */
function escapedAt(text: string, index: number): boolean {
  let n = 0;
  for (let i = index - 1; i >= 0 && text[i] === "\\"; i--) n++;
  return n % 2 === 1;
}

/** Writes a value as a literal that decodes back to it. Braces stay plain. Control characters other than
 * newline and tab have no escape and cannot be written; they are kept as they are. */
export function encodeString(value: string): string {
  let out = '"';
  for (const c of value) {
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\t") out += "\\t";
    else out += c;
  }
  return `${out}"`;
}
