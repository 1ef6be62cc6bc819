// An inference arena cut into pages (runtime/executor/arena.ts; the device's maxBufferSize by default,
// which a large evaluation batch can exceed): one device buffer per page, and the outputs are bit for bit
// those of the same graph run on one arena buffer. Skipped with a printed reason without an adapter.

import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { softmax } from "../../compiler/graph/composites.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { createExecutor, type ExecutorOptions } from "../../runtime/executor/executor.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip } from "../kernels/helpers.ts";

const device = await deviceOrSkip("executor-paged-arena.test.ts");
afterAll(() => device?.destroy());

const N = 24;

/** A two-layer MLP (12 → 32 → 5) with softmax probabilities, and one batch with its weights. */
function mlp() {
  const b = new GraphBuilder();
  const x = b.input("x", [N, 12]);
  const w1 = b.param("l1.w", [32, 12]);
  const b1 = b.param("l1.b", [32]);
  const w2 = b.param("l2.w", [5, 32]);
  const b2 = b.param("l2.b", [5]);
  const hidden = b.tanh(linear(b, x, w1, b1));
  const probs = softmax(b, linear(b, hidden, w2, b2), -1);
  b.output("hidden", hidden);
  b.output("probs", probs);
  const r = rng(5);
  const uniform = (shape: readonly number[]): Tensor => ({
    shape,
    data: Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => r() * 2 - 1),
  });
  const feeds = new Map<ValueId, Tensor>([x, w1, b1, w2, b2].map((v) => [v.id, uniform(v.shape)] as const));
  return { graph: b.build(), feeds };
}

/** The graph's outputs on an executor made with `options`, and the arena buffers it created. */
async function run(options: ExecutorOptions) {
  const m = mlp();
  const gpu = device!.device;
  const create = gpu.createBuffer;
  const pages: string[] = [];
  gpu.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    if (descriptor.label?.startsWith("vlmp arena")) pages.push(descriptor.label);
    return create.call(this, descriptor);
  } as GPUDevice["createBuffer"];
  const executor = await createExecutor(device!, options);
  try {
    await executor.prepare(m.graph);
  } finally {
    gpu.createBuffer = create;
  }
  const outputs = await executor.evaluate(m.graph, m.feeds);
  executor.release();
  return { outputs: [...outputs.values()].map((t) => t.data), pages };
}

describe.skipIf(!device)("a paged inference arena", () => {
  it("uses one buffer per page and gives exactly the outputs of one arena buffer", async () => {
    const whole = await run({});
    const paged = await run({ arenaPageBytes: 4096 });
    expect(whole.pages).toHaveLength(1);
    expect(paged.pages.length).toBeGreaterThan(1);
    expect(paged.outputs).toHaveLength(2);
    expect(paged.outputs).toEqual(whole.outputs);
    expect(paged.outputs[1]!.some((p) => p > 0.05)).toBe(true);
  });
});
