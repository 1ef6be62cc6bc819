import { describe, expect, it } from "vitest";
import { closestName, didYouMean, editDistance } from "../../compiler/suggest.ts";

describe("edit distance", () => {
  it("counts insertions, deletions, substitutions and adjacent swaps as one edit each", () => {
    expect(editDistance("vit_b16", "vit_b16")).toBe(0);
    expect(editDistance("vit_b16", "vit_b1")).toBe(1);
    expect(editDistance("vit_b16", "vit_b61")).toBe(1);
    expect(editDistance("sgd", "adamw")).toBe(5);
  });
});

describe("did you mean", () => {
  it("suggests the nearest known name for a typo", () => {
    expect(didYouMean("vit_b61", ["vit_b16", "vit_b32", "vit_l14"])).toBe("did you mean 'vit_b16'?");
    expect(closestName("epoch", ["epochs", "batch", "seed"])).toBe("epochs");
  });

  it("prefers a case-only difference", () => {
    expect(closestName("ViT_B16", ["vit_b16", "vit_b32"])).toBe("vit_b16");
  });

  it("suggests nothing when no name is close", () => {
    expect(didYouMean("optimizer", ["seed", "batch"])).toBeUndefined();
  });
});
