import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { softmax } from "../../compiler/graph/composites.ts";
import { formatGraph } from "../../compiler/graph/format.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { checkGradients, randomTensor, rng } from "./helpers.ts";

describe("smoke", () => {
  it("evaluates and differentiates softmax", () => {
    const b = new GraphBuilder();
    const x = b.param("x", [2, 3]);
    const y = softmax(b, x);
    const g = b.build();
    console.log(formatGraph(g));
    const r = rng(1);
    const xt = randomTensor(r, [2, 3]);
    const out = evaluate(g, new Map([[x.id, xt]])).get(y.id)!;
    expect(out.data[0]! + out.data[1]! + out.data[2]!).toBeCloseTo(1, 12);
    checkGradients(b, [{ value: x, data: xt }], y, 2);
  });
});
