// Generated WGSL: golden files for a few kernels (update with `npx vitest run test/kernels -u`), and
// every kernel family's shaders validated and compiled by Dawn's null backend (no GPU needed).

import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy, layerNorm, softmax } from "../../compiler/graph/composites.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { OP_GROUPS } from "../../compiler/graph/ops.ts";
import { acquireDevice, type Device } from "../../runtime/device/device.ts";
import { PipelineCache } from "../../runtime/device/pipelines.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { attentionKernel } from "../../runtime/kernels/attention.ts";
import { elementwiseKernel } from "../../runtime/kernels/elementwise.ts";
import type { Kernel } from "../../runtime/kernels/kernel.ts";
import { layerNormKernel } from "../../runtime/kernels/layernorm.ts";
import { matmulKernel } from "../../runtime/kernels/matmul.ts";
import {
  concatPieceKernel,
  gatherKernel,
  padKernel,
  scatterAddKernel,
  stridedCopyKernel,
  takeAlongAxisKernel,
} from "../../runtime/kernels/movement.ts";
import { optimizerKernel } from "../../runtime/kernels/optimizer.ts";
import { reduceKernel } from "../../runtime/kernels/reduce.ts";
import { softmaxKernel } from "../../runtime/kernels/softmax.ts";

function gelu_like(): Kernel {
  // x * sigmoid(1.702 x) + bias, bias broadcast along rows: one fused kernel.
  return elementwiseKernel({
    shape: [4, 6],
    operands: [
      { shape: [4, 6], dtype: "f32" },
      { shape: [6], dtype: "f32" },
    ],
    steps: [
      { kind: "input", input: 0, dtype: "f32" },
      { kind: "literal", value: 1.702, dtype: "f32" },
      { kind: "op", op: "mul", args: [0, 1], dtype: "f32" },
      { kind: "op", op: "sigmoid", args: [2], dtype: "f32" },
      { kind: "op", op: "mul", args: [0, 3], dtype: "f32" },
      { kind: "input", input: 1, dtype: "f32" },
      { kind: "op", op: "add", args: [4, 5], dtype: "f32" },
    ],
    result: 6,
  });
}

const GOLDEN: Record<string, () => Kernel> = {
  "elementwise-fused-quick-gelu-bias": gelu_like,
  "matmul-register-64x48x40": () =>
    matmulKernel({ aShape: [64, 48], bShape: [48, 40], transA: false, transB: false, shape: [64, 40] }),
  "matmul-tiled-batched-transB": () =>
    matmulKernel(
      { aShape: [2, 30, 20], bShape: [50, 20], transA: false, transB: true, shape: [2, 30, 50] },
      "tiled",
    ),
  "reduce-sum-rows": () => reduceKernel({ kind: "sum", shape: [7, 12], dtype: "f32", axes: [1] }),
  "softmax-rows-vec4": () => softmaxKernel({ rows: 50, length: 64 }),
  // softmax(x * 0.125 + mask + shift): the mask [tokens, tokens] read as vec2, the per-row shift splatted.
  "softmax-rows-folded-vec2": () =>
    softmaxKernel({
      rows: 12,
      length: 6,
      prologue: {
        shape: [2, 6, 6],
        operands: [
          { shape: [2, 6, 6], dtype: "f32" },
          { shape: [6, 6], dtype: "f32" },
          { shape: [2, 6, 1], dtype: "f32" },
        ],
        steps: [
          { kind: "input", input: 0, dtype: "f32" },
          { kind: "literal", value: 0.125, dtype: "f32" },
          { kind: "op", op: "mul", args: [0, 1], dtype: "f32" },
          { kind: "input", input: 1, dtype: "f32" },
          { kind: "op", op: "add", args: [2, 3], dtype: "f32" },
          { kind: "input", input: 2, dtype: "f32" },
          { kind: "op", op: "add", args: [4, 5], dtype: "f32" },
        ],
        result: 6,
      },
    }),
  "layernorm-rows-saved": () =>
    layerNormKernel({
      rows: 10,
      length: 6,
      eps: 1e-5,
      gamma: true,
      beta: true,
      saveXhat: true,
      saveRstd: true,
    }),
};

describe("generated WGSL (golden files)", () => {
  for (const [name, make] of Object.entries(GOLDEN)) {
    it(name, async () => {
      await expect(make().code).toMatchFileSnapshot(`__snapshots__/${name}.wgsl`);
    });
  }
});

/** A broad sample of every family's templates, including odd sizes and every elementwise op. */
function sampleKernels(): Kernel[] {
  const ks: Kernel[] = Object.values(GOLDEN).map((f) => f());
  const unary = OP_GROUPS.unary.filter((op) => op !== "cast");
  for (const op of [...unary, ...OP_GROUPS.binary, ...OP_GROUPS.compare]) {
    const binary = !(unary as readonly string[]).includes(op);
    for (const dtype of ["f32", "i32"] as const) {
      const result = (OP_GROUPS.compare as readonly string[]).includes(op) ? "bool" : dtype;
      ks.push(
        elementwiseKernel({
          shape: [3, 5],
          operands: [
            { shape: [3, 5], dtype },
            { shape: [5], dtype },
          ],
          steps: [
            { kind: "input", input: 0, dtype },
            { kind: "input", input: 1, dtype },
            { kind: "op", op, args: binary ? [0, 1] : [0], dtype: result },
          ],
          result: 2,
        }),
      );
    }
  }
  ks.push(
    elementwiseKernel({
      shape: [70000, 3],
      operands: [{ shape: [70000, 1], dtype: "bool" }],
      steps: [
        { kind: "input", input: 0, dtype: "bool" },
        { kind: "random", dist: "normal", seed: 2 ** 40 + 3, offset: 5 },
        { kind: "random", dist: "uniform", seed: 1, offset: 0 },
        { kind: "op", op: "select", args: [0, 1, 2], dtype: "f32" },
        { kind: "literal", value: Number.NEGATIVE_INFINITY, dtype: "f32" },
        { kind: "op", op: "maximum", args: [3, 4], dtype: "f32" },
        { kind: "iota", axis: 1 },
        { kind: "op", op: "cast", args: [6], dtype: "f32" },
        { kind: "op", op: "pow", args: [5, 7], dtype: "f32" },
        { kind: "op", op: "cast", args: [8], dtype: "bool" },
      ],
      result: 9,
    }),
  );
  for (const kind of ["sum", "max", "argmax"] as const) {
    for (const [shape, axes] of [
      [[5, 7, 8], [1]],
      [
        [5, 7, 8],
        [0, 2],
      ],
      [[3, 9000], [1]],
      [[4, 16], [1]],
    ] as const) {
      for (const dtype of ["f32", "i32"] as const) {
        if (kind !== "sum" || dtype === "f32") ks.push(reduceKernel({ kind, shape, dtype, axes }));
      }
    }
  }
  for (const variant of ["register", "tiled"] as const) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      for (const [m, k, n] of [
        [9, 13, 17],
        [16, 8, 32],
      ] as const) {
        const aShape = [3, 1, ...(transA ? [k, m] : [m, k])];
        const bShape = [2, ...(transB ? [n, k] : [k, n])];
        ks.push(matmulKernel({ aShape, bShape, transA, transB, shape: [3, 2, m, n] }, variant));
      }
    }
  }
  for (const length of [7, 12]) {
    ks.push(softmaxKernel({ rows: 5000, length }));
    ks.push(
      layerNormKernel({
        rows: 3,
        length,
        eps: 1e-6,
        gamma: false,
        beta: true,
        saveXhat: false,
        saveRstd: true,
      }),
    );
  }
  for (const [lq, lk, d, dv, causal, masked] of [
    [50, 50, 64, 64, false, false],
    [7, 9, 5, 3, true, true],
    [77, 77, 2, 1, true, false],
  ] as const) {
    const lay = (row: number, col: number) => ({ batch: [lq * d * 4, row * 2], row, col });
    ks.push(
      attentionKernel({
        batch: [2, 3],
        lq,
        lk,
        d,
        dv,
        scale: 0.125,
        causal,
        q: lay(d, 1),
        k: lay(1, lk),
        v: lay(dv, 1),
        out: lay(dv * 3, 1),
        ...(masked ? { mask: { batch: [0, 0], row: lk, col: 1 } } : {}),
        saveProbs: causal,
      }),
    );
  }
  for (const spec of [
    { kind: "sgd", lr: 0.1 },
    { kind: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true, weightDecay: 1e-4 },
    { kind: "adamw", lr: 1e-3 },
    { kind: "adadelta", lr: 0.15, weightDecay: 1e-3 },
  ] as const) {
    ks.push(optimizerKernel(spec, 1000));
  }
  ks.push(stridedCopyKernel({ shape: [3, 4, 5], strides: [1, 15, 3], base: 2, dtype: "i32" }));
  ks.push(
    padKernel({
      inShape: [3, 4],
      shape: [6, 9],
      before: [1, 0],
      interior: [0, 1],
      value: -1.5,
      dtype: "f32",
    }),
  );
  ks.push(concatPieceKernel({ pieceShape: [2, 3], shape: [2, 7], axis: 1, at: 4, dtype: "f32" }));
  ks.push(gatherKernel({ xShape: [10, 4], idxCount: 6, axis: 0, dtype: "f32" }));
  ks.push(takeAlongAxisKernel({ xShape: [3, 5], idxShape: [3, 2], axis: 1, dtype: "f32" }));
  ks.push(scatterAddKernel({ shape: [3, 5], idxShape: [3, 2], axis: 1, dtype: "f32" }));
  // Everything a small training graph lowers to, fused and not.
  const b = new GraphBuilder();
  const x = b.input("x", [6, 5]);
  const y = b.input("y", [6], "i32");
  const h = layerNorm(b, b.tanh(linear(b, x, b.param("w1", [8, 5]), b.param("b1", [8]))), b.param("g", [8]));
  const loss = crossEntropy(b, linear(b, softmax(b, h), b.param("w2", [3, 8])), y);
  b.output("loss", loss);
  const { graph } = gradients(b.build(), loss.id);
  for (const fuse of [true, false]) {
    ks.push(
      ...lowerGraph(
        graph,
        graph.outputs.map((o) => o.value),
        { fuse },
      ).steps.map((s) => s.kernel),
    );
  }
  return ks;
}

let nullDevice: Device | undefined;
let reason = "";
try {
  nullDevice = await acquireDevice({ backend: "null" });
} catch (e) {
  reason = (e as Error).message;
}
afterAll(() => nullDevice?.destroy());

describe.skipIf(!nullDevice)("every generated shader validates and compiles (Dawn null backend)", () => {
  it("sampled kernels of every family", async () => {
    const cache = new PipelineCache(nullDevice!);
    const kernels = sampleKernels();
    const failures: string[] = [];
    await Promise.all(
      kernels.map((k) =>
        cache.get(k).catch((e: Error) => {
          failures.push(e.message.split("\n").slice(0, 3).join(" "));
        }),
      ),
    );
    expect(failures).toEqual([]);
    expect(cache.size).toBeGreaterThan(100);
  });
});

if (!nullDevice) console.log(`wgsl.test.ts: null-backend validation skipped: ${reason}`);
