import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUNDLED_SPECS, checkCompile, compileProperty } from "./compile-properties.ts";

describe("the front end on mutated bundled specs", () => {
  it("accepts every bundled spec as it is without errors", () => {
    for (const [file, text] of BUNDLED_SPECS) expect(() => checkCompile(file, text)).not.toThrow();
  });

  it("never throws, never hangs, and keeps every diagnostic inside its file", () => {
    fc.assert(compileProperty, { numRuns: 400, seed: 20261123 });
  });
});
