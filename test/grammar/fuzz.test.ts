import fc from "fast-check";
import { describe, it } from "vitest";
import { parserProperties } from "./parser-properties.ts";

// A few thousand cases in CI; `npm run fuzz` runs 100,000 of the same properties.
describe("parser fuzz", () => {
  it("random token streams", () => {
    fc.assert(parserProperties.tokenStream, { numRuns: 1500 });
  });
  it("random text", () => {
    fc.assert(parserProperties.randomText, { numRuns: 1000 });
  });
  it("mutated sample programs", () => {
    fc.assert(parserProperties.mutatedSample, { numRuns: 1000 });
  });
});
