// The data block's `bad_images` setting (stdlib/pipeline.vlmp): `vlmp lint` takes `fail` and `skip`, rejects
// any other value with the checker's usual "is not one of" diagnostic at the value, and `vlmp fmt` keeps it.

import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { formatText } from "../../grammar/print.ts";

const spec = (value: string) => `use clip
use data.{synthetic, synthetic_classes}
use metrics.accuracy

pipeline bad_images_setting {
  backbone = clip.vit_b16(weights: "models/clip-vit-base-patch16")
  data {
    classes = synthetic_classes(world: ueo, root: "data/ueo", part: known)
    test = synthetic(world: ueo, root: "data/ueo", part: "test")
    bad_images = ${value}
  }
  evaluate test {
    metrics = [accuracy()]
  }
}
`;

const errors = (value: string) =>
  compileFile("bad_images_setting.vlmp", { mode: "lint", text: spec(value) }).diagnostics.filter(
    (d) => d.severity === "error",
  );

describe("data.bad_images", () => {
  it("lint accepts skip and fail", () => {
    expect(errors("skip")).toEqual([]);
    expect(errors("fail")).toEqual([]);
  });

  it("lint rejects another value, naming the ones allowed", () => {
    const [error, ...rest] = errors("maybe");
    expect(rest).toEqual([]);
    expect(error!.code).toBe("V3009");
    expect(error!.message).toBe("'maybe' is not one of 'fail', 'skip'");
  });

  it("fmt keeps the setting", () => {
    const formatted = formatText(spec("skip"), "bad_images_setting.vlmp");
    expect(formatted.problems).toEqual([]);
    expect(formatted.text).toContain("    bad_images = skip\n");
  });
});
