// Every complete example in the language reference (fenced as `vlmp example`) lints without errors, and
// is formatted as `vlmp fmt` would write it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource } from "../../grammar/print.ts";

const doc = readFileSync("docs/language.md", "utf8");
const examples = [...doc.matchAll(/```vlmp example\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(path.join(tmpdir(), "vlmp-docs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/language.md examples", () => {
  it("exist for each construct the reference describes", () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  examples.forEach((text, i) => {
    const first = text
      .split("\n")
      .find(
        (l) =>
          l.startsWith("pipeline") ||
          l.startsWith("fn") ||
          l.startsWith("adapter") ||
          l.startsWith("model") ||
          l.startsWith("loss"),
      );
    it(`example ${i + 1} (${first?.replace(/\s*[({].*$/, "")}) lints without errors and is formatted`, () => {
      const file = path.join(dir, `example${i + 1}.vlmp`);
      writeFileSync(file, text);
      const problems = compileFile(file, { mode: "lint" })
        .diagnostics.filter((d) => d.code !== "V5001")
        .map((d) => `${d.span.start.line}:${d.span.start.col} ${d.severity}[${d.code}] ${d.message}`);
      expect(problems).toEqual([]);
      expect(formatSource(parseSource(text, file).ast)).toBe(text);
    });
  });
});
