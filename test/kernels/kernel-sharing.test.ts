// Fewer distinct shaders: kernels that differ only in size share one WGSL module (the pipeline cache's key),
// so a run with several batch sizes (training, evaluation, constants) compiles each once. Lowering only; no
// device needed.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { type KernelPlan, lowerGraph } from "../../runtime/executor/lower.ts";
import { optimizerKernel } from "../../runtime/kernels/optimizer.ts";

/** The training plan (loss and every gradient) of a two-layer MLP (12 → 16 → 5) at batch `n`. */
function trainingPlan(n: number): KernelPlan {
  const b = new GraphBuilder();
  const x = b.input("x", [n, 12]);
  const y = b.input("y", [n], "i32");
  const w1 = b.param("l1.w", [16, 12]);
  const b1 = b.param("l1.b", [16]);
  const w2 = b.param("l2.w", [5, 16]);
  const b2 = b.param("l2.b", [5]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, w1, b1)), w2, b2), y);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  return lowerGraph(graph, [loss.id, ...grads.values()]);
}

/** The plan's steps outside the matmul family (whose tiles bake the row count on purpose). */
const nonMatmul = (plan: KernelPlan) => plan.steps.filter((s) => !s.kernel.name.startsWith("matmul"));

describe("kernels shared across sizes", () => {
  it("a training step at batch 24 adds only the kernels that bake the batch to those of batch 8", () => {
    const small = nonMatmul(trainingPlan(8));
    const large = nonMatmul(trainingPlan(24));
    expect(large.map((s) => s.kernel.name.replace(/24/g, "8"))).toEqual(small.map((s) => s.kernel.name));
    const shaders = new Set(small.map((s) => s.kernel.code));
    expect(shaders.size).toBe(19);
    const added = large.filter((s) => !shaders.has(s.kernel.code)).map((s) => s.kernel.name);
    // Sums over the batch (their trip count), the mean's 1/batch and the sparse scatter's exact count.
    expect(added).toEqual([
      "sum[24;axes=0+1ops]",
      "elementwise[1ops;]",
      "elementwise[1ops;]",
      "scatter_add_sparse[24x5@1]",
      "sum[24x5;axes=0]",
      "sum[24x16;axes=0]",
    ]);
  });

  it("updates parameters of every size with one shader per optimizer", () => {
    const sgd = { kind: "sgd", lr: 0.1, momentum: 0.9 } as const;
    const shaders = new Set([5, 16, 80, 192, 1 << 20].map((n) => optimizerKernel(sgd, n).code));
    expect(shaders.size).toBe(1);
  });
});
