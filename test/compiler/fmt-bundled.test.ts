// Every bundled spec is formatted, formatting is idempotent, and it never changes meaning: a spec
// re-indented at random formats back to the committed text and compiles to the same IR hash.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource } from "../../grammar/print.ts";
import { BUNDLED_SPECS } from "./compile-properties.ts";

const format = (text: string, file: string) => formatSource(parseSource(text, file).ast);

function pipelinesOf(text: string, file: string): string[] {
  return parseSource(text, file).ast.items.flatMap((i) => (i.kind === "Pipeline" ? [i.name.name] : []));
}

/** The same spec with every line's indentation and trailing whitespace changed (seeded). */
function reindent(text: string, seed: number): string {
  const widths = fc.sample(fc.integer({ min: 0, max: 7 }), { numRuns: text.length, seed });
  return text
    .split("\n")
    .map((line, i) =>
      line.trim() === ""
        ? line
        : " ".repeat(widths[i % widths.length]!) + line.trimStart() + (i % 3 ? "" : "  "),
    )
    .join("\n");
}

describe("vlmp fmt on the bundled specs", () => {
  for (const [file, text] of BUNDLED_SPECS) {
    it(`${file} is formatted, and formatting it again changes nothing`, () => {
      expect(format(text, file)).toBe(text);
    });

    it(`${file}: a re-indented copy formats back to it and keeps every IR hash`, () => {
      const messy = reindent(text, file.length);
      expect(messy).not.toBe(text);
      expect(format(messy, file)).toBe(text);
      for (const pipeline of file.startsWith("pipelines") ? pipelinesOf(text, file) : []) {
        const original = compileFile(file, { mode: "compile", pipeline });
        const reformatted = compileFile(file, { mode: "compile", pipeline, text: messy });
        expect(original.hash).toMatch(/^[0-9a-f]{16}$/);
        expect(reformatted.hash).toBe(original.hash);
      }
    });
  }
});
