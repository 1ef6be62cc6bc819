import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CODES } from "../../compiler/diagnostics.ts";
import { diagnosticsDoc } from "../../scripts/diagnostics-doc.ts";

describe("diagnostic codes", () => {
  it("are documented in docs/diagnostics.md exactly as the table says", () => {
    expect(readFileSync("docs/diagnostics.md", "utf8")).toBe(diagnosticsDoc());
  });

  it("are each reported somewhere in the compiler (no dead codes)", () => {
    const source = ["compiler", "bin"]
      .flatMap((dir) =>
        readdirSync(dir, { recursive: true, encoding: "utf8" })
          .filter((f) => f.endsWith(".ts"))
          .map((f) => `${dir}/${f}`),
      )
      .filter((f) => f !== "compiler/diagnostics.ts")
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const unused = Object.keys(CODES).filter((code) => !source.includes(`"${code}"`));
    expect(unused).toEqual([]);
  });
});
