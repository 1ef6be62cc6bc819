import fc from "fast-check";
import { describe, it } from "vitest";
import { properties, WEIGHTS } from "./fuzz-properties.ts";

// A few thousand cases in all in CI; `npm run fuzz` runs 100,000 of the same properties.
const CI_CASES = 3000;
const totalWeight = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

describe("grammar fuzz", () => {
  for (const [name, property] of Object.entries(properties)) {
    const numRuns = Math.round((CI_CASES * (WEIGHTS[name] ?? 1)) / totalWeight);
    it(`${name} (${numRuns} cases)`, () => {
      fc.assert(property, { numRuns });
    });
  }
});
